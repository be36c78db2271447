-- share.lua - proportional CPU shares across the whole host.
--
--   xds-lua [--sim sim/scenarios/share.lua] policies/share.lua \
--           [--window D] [--hysteresis H] 'SPEC=WEIGHT' ...
--
-- Arguments:
--   SPEC=WEIGHT     SPEC names a class: every task the spec matches,
--                   together ("U1/db", "U1/tgid=320", "U2/*"; see
--                   policies/lib/policy.lua).  WEIGHT is a number above 0
--                   (like cgroup cpu.weight); only the ratios count.
--   --window D      the sliding window the shares are measured over
--                   (default 1s).
--   --hysteresis H  the band around a class's due, in points of share
--                   (default 2%): a class is frozen at due + H/2 and
--                   thawed at due - H/2.
-- Default: U1/db=60 U2/web=30 U1/bkup=10, for sim/scenarios/share.lua.
-- Bad arguments are an error naming the argument, before the first tick.
--
-- A class's share is its part of the CPU time that the runnable classes
-- together got in the last window; its due is its weight over the weights
-- of the classes that are runnable now, so an idle class's due goes to the
-- others.  Each tick, a class ahead of its due is frozen (its runnable
-- tasks), one behind is thawed.  The classes must compete for the same
-- CPUs (domains sharing physical CPUs, tasks sharing a vCPU) for shares
-- to mean anything: freezing a class that has a CPU of its own leaves
-- that CPU idle.
local policy = require "policy"

local usage = "share.lua [--window D] [--hysteresis H] SPEC=WEIGHT..."
local opts, args, fail = policy.command_line(usage, {
  window = "a duration, like 2s or 500ms",
  hysteresis = "points of share, like 2% or 0.02",
}, { "U1/db=60", "U2/web=30", "U1/bkup=10" })

local c = { window = opts.window or "1s", hysteresis = opts.hysteresis or "2%" }
for i, a in ipairs(args) do
  local spec, weight = a:match("^(.+)=([^=]*)$")
  if not spec or not tonumber(weight) or tonumber(weight) <= 0 then
    fail("argument " .. i .. " '" .. a .. "': expected SPEC=WEIGHT, WEIGHT a number above 0, like U1/db=60")
  end
  c[#c + 1] = { spec, tonumber(weight) }
end
local p = policy.share(c)
p.name = "share"
return p
