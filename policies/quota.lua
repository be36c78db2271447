-- quota.lua - CPU-time quotas over a sliding window.
--
--   xds-lua [--sim sim/scenarios/paper.lua] policies/quota.lua \
--           [--window 2s] 'SPEC=SHARE' ...
--
-- Arguments: 'SPEC=SHARE', where SHARE is a percentage of one CPU ("20%")
-- or a fraction ("0.2") and SPEC names the subject: every task the spec
-- matches, together - a task ("U1/bkup"), a process ("U1/tgid=320"), a
-- domain ("U1/*"); see policies/lib/policy.lua.  --window D sets the
-- window (default 1s).  Default: U1/bkup=20%, for sim/scenarios/paper.lua.
--
-- Each tick, a subject whose CPU time over the last window exceeds its
-- share is frozen (its runnable tasks); it is thawed when it falls below.
local policy = require "policy"

local q, window = {}, "1s"
local args = policy.args { "U1/bkup=20%" }
local i = 1
while i <= #args do
  local a = args[i]
  if a == "--window" then
    window, i = args[i + 1], i + 1
  elseif a:match("^%-%-window=") then
    window = a:sub(10)
  else
    local spec, share = a:match("^(.+)=([%d.]+%%?)$")
    assert(spec, "quota.lua: '" .. a .. "': expected SPEC=SHARE, like U1/bkup=20%")
    q[#q + 1] = { spec, share }
  end
  i = i + 1
end
q.window = policy.seconds(window or "1s")
local p = policy.quota(q)
p.name = "quota"
return p
