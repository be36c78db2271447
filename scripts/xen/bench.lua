-- bench.lua - what reading and ticking cost, the same on every backend
-- (bench/xen_map.sh runs it in the nested dom0 with --xen, and on the
-- host with --qemu):  xds-lua [--xen|--qemu SPEC] --unsafe bench.lua N POLICY
-- Prints, as BENCH lines: the first snapshot after attach (on xen every
-- frame is mapped then), the mean of N snapshots after it (frames from
-- the cache), then N ticks of POLICY (classes */db > */web > */bkup) with
-- xds.stats()'s mean and max per phase, pauses, freezes and thaws.
local n = assert(tonumber(arg[1]), "usage: bench.lua N POLICY")
local policy = assert(arg[2], "usage: bench.lua N POLICY")
local function ms(t) return t * 1e3 end

local t0 = xds.time()
xds.refresh()
local tasks = #xds.tasks()
local first = xds.time() - t0
t0 = xds.time()
for _ = 1, n do
  xds.refresh()
  xds.tasks()
end
local steady = (xds.time() - t0) / n
print(string.format("BENCH snapshot first %.2f ms, steady %.3f ms (mean of %d; %d tasks in %d domains)",
  ms(first), ms(steady), n, tasks, #xds.domains()))

xds.load(policy, "*/db", "*/web", "*/bkup")
xds.step(n)
local s = xds.stats()
print(string.format("BENCH %d ticks: tick mean %.3f max %.3f ms; snapshot %.3f, policy %.3f, apply %.3f ms (means)",
  s.ticks, s.tick.mean, s.tick.max, s.snapshot.mean, s.policy.mean, s.apply.mean))
print(string.format("BENCH pauses %d, mean %.3f max %.3f ms; freezes %d, thaws %d, retries %d, kicks %d",
  s.pauses.count, s.pauses.mean, s.pauses.max, s.freezes, s.thaws, s.retries, s.kicks))
xds.unload()
