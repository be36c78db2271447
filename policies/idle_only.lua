-- idle_only.lua - the named tasks run only when the whole host is idle.
--
--   xds-lua [--sim sim/scenarios/fig2.lua] policies/idle_only.lua [SPEC...]
--
-- Arguments: task specs of the idle-only tasks ("U1/lowest", 'U1/batch*',
-- "U1/tgid=303" ...; see policies/lib/policy.lua).  Default: fig2's
-- lowest-priority process, U1/lowest.  It takes no options; a malformed
-- spec or an option is an error naming it, before the first tick (a spec
-- that matches no task is said, not refused).
--
-- The paper's experiment: each tick, if any other task on the host, in any
-- domain, is queued or running, every runnable named task is frozen;
-- otherwise they are thawed.  A named task may thus run one tick into a
-- busy period before it is frozen (the tick is the reaction time).
local policy = require "policy"

local _, named = policy.command_line("idle_only.lua [SPEC...]", {}, { "U1/lowest" })
local p = policy.idle_only(named)
p.name = "idle_only"
return p
