-- global_priority.lua - a strict order of classes across all domains.
--
--   xds-lua [--sim sim/scenarios/paper.lua] policies/global_priority.lua [SPEC...]
--
-- Arguments: task specs, highest class first ("U1/db", "U2/web",
-- 'U1/bkup*', "U1/tgid=320", "*" ...; see policies/lib/policy.lua).
-- Default: the paper's example, U1/db > U2/web > U1/bkup.  It takes no
-- options; a malformed spec or an option is an error naming it, before
-- the first tick (a spec that matches no task is said, not refused).
--
-- A class runs only while no higher class is runnable: each tick the
-- highest class with a runnable task (queued, running, or frozen by us)
-- wins, every runnable task of a lower class is frozen, and every other
-- task of the classes is thawed.  Tasks that match no class are left to
-- their guest's scheduler.
local policy = require "policy"

local _, classes = policy.command_line("global_priority.lua [SPEC...]", {},
                                       { "U1/db", "U2/web", "U1/bkup" })
local p = policy.strict_priority(classes)
p.name = "global_priority"
return p
