-- tiers.lua - shapes combined: a quota inside a priority order, an
-- idle-only class below all (an example of policy.compose, to copy and
-- edit).
--
--   xds-lua [--sim sim/scenarios/paper.lua] policies/tiers.lua
--
-- Arguments: none (the classes are in the file; any argument is refused).
--
-- On the paper's host: db comes first; web comes next but may use at most
-- 30 % of a CPU over a 1 s window, and while the quota holds it back the
-- CPU goes to whoever is below, not to waste; bkup runs only when no other
-- task on the host wants the CPU (or may have it).
local policy = require "policy"

if #(arg or {}) > 0 then
  policy.usage_error("tiers.lua: takes no arguments (the classes are in the file), not '" .. arg[1] .. "'"
                     .. "\nusage: tiers.lua")
end

return policy.compose {
  name = "tiers",
  policy.quota { { "U2/web", "30%" }, window = "1s" },
  policy.strict_priority { "U1/db", "U2/web" },
  policy.idle_only { "U1/bkup" },
}
