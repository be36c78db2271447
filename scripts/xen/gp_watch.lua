-- gp_watch.lua - global_priority with a log of what it saw: every tick, one
-- line per process (pid == tgid) of the named commands, to the file in
-- $GP_WATCH (run with --unsafe):
--   W MS DOM/COMM FLAGS CPU_MS    FLAGS: Q queued, R running, F frozen, - none
-- Arguments as for policies/global_priority.lua.  scripts/xen/
-- scenario-reaction.sh runs it for bench/xen_reaction.sh.
local policy = require "policy"
local p = policy.strict_priority(policy.args { "U1/db", "U2/web", "U1/bkup" })
local inner = p.tick
local out = assert(io.open(os.getenv("GP_WATCH") or "/tmp/gp.watch", "w"))
local names = { db = true, web = true, bkup = true }
local t0
p.name = "gp_watch"
p.tick = function(snap)
  local now = snap.time
  t0 = t0 or now
  for _, t in ipairs(snap.tasks) do
    if t.pid == t.tgid and names[t.comm] then
      local f = (t.queued and "Q" or "") .. (t.running and "R" or "") .. (t.frozen and "F" or "")
      out:write(string.format("W %.0f %s/%s %s %d\n", (now - t0) * 1000, t.dom, t.comm,
        f == "" and "-" or f, t.cputime // 1000000))
    end
  end
  out:flush()
  return inner(snap)
end
return p
