-- quota.lua - CPU-time quotas over a sliding window.
--
--   xds-lua [--sim sim/scenarios/paper.lua] policies/quota.lua \
--           [--window D] [--hysteresis H] 'SPEC=SHARE' ...
--
-- Arguments:
--   SPEC=SHARE      SPEC names the subject: every task the spec matches,
--                   together - a task ("U1/bkup"), a process
--                   ("U1/tgid=320"), a domain ("U1/*"); see
--                   policies/lib/policy.lua.  SHARE is a percentage of one
--                   CPU ("20%") or a fraction ("0.2"); above 100 % for a
--                   subject with several CPUs ("U1/*=150%").
--   --window D      the sliding window (default 1s).
--   --hysteresis H  the band around the quota, as a share of it (default
--                   20%): a subject is frozen at quota + H/2 and thawed at
--                   quota - H/2, so that it does not flip every tick (the
--                   band's centre moves to keep the share on average).
-- Default: U1/bkup=20%, for sim/scenarios/paper.lua.  Bad arguments are an
-- error naming the argument, before the first tick.
--
-- Each tick, a subject whose CPU time over the last window passes its
-- share (by the band) is frozen (its runnable tasks); it is thawed when it
-- falls below (by the band).
local policy = require "policy"

local usage = "quota.lua [--window D] [--hysteresis H] SPEC=SHARE..."
local opts, args, fail = policy.command_line(usage, {
  window = "a duration, like 2s or 500ms",
  hysteresis = "a share of the quota, like 10% or 0.1",
}, { "U1/bkup=20%" })

local q = { window = opts.window or "1s", hysteresis = opts.hysteresis or "20%" }
for i, a in ipairs(args) do
  local spec, share = a:match("^(.+)=([^=]*)$")
  if not spec then
    fail("argument " .. i .. " '" .. a .. "': expected SPEC=SHARE, like U1/bkup=20% or 'U1/*=150%'")
  end
  q[#q + 1] = { spec, share }
end
local p = policy.quota(q)
p.name = "quota"
return p
