-- freeze.lua - the freeze check inside the nested dom0 (scripts/xen/lib.sh
-- phase_freeze), run as `xds-lua --xen --unsafe freeze.lua HOLD SPEC...`
-- where each SPEC is DOM/COMM, a process (pid == tgid) of that domain.
--
-- Waits until every SPEC is in the snapshot, wishes them frozen, ticks
-- until each is held frozen, holds them HOLD seconds, thaws them, ticks
-- until none is held, then ticks 6 s more.  It says where it is on stdout,
-- one line each, for the shell that watches the guests meanwhile:
--   HELD ticks=N | THAWING | THAWED ticks=N | DONE
-- and gives xds's view of each SPEC's CPU time (ns) at each step:
--   XCPU SPEC held|holdend|thawed|end NS
-- A step that does not happen in time says FAIL and the script errs.
local hold_s = assert(tonumber(arg[1]), "usage: freeze.lua HOLD DOM/COMM...")
local specs = {}
for i = 2, #arg do specs[#specs + 1] = arg[i] end

local function say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
  io.stdout:flush()
end

local function find(spec)
  local dom, comm = spec:match("^([^/]+)/(.+)$")
  for _, t in ipairs(xds.tasks()) do
    if t.dom == dom and t.comm == comm and t.pid == t.tgid then return t end
  end
end

local function hold_of(spec)
  for _, f in ipairs(xds.frozen()) do
    if f.dom .. "/" .. f.comm == spec then return f.hold end
  end
  return "none"
end

-- ticks until every spec satisfies pred, at most limit ticks; the count
local function until_all(pred, limit, what)
  for n = 0, limit do
    local all = true
    for _, s in ipairs(specs) do all = all and pred(s) end
    if all then return n end
    xds.step(1)
  end
  say("FAIL %s after %d ticks", what, limit)
  for _, s in ipairs(specs) do say("FAIL %s hold=%s", s, hold_of(s)) end
  error(what)
end

local function cpu(label)
  for _, s in ipairs(specs) do
    local t = find(s)
    say("XCPU %s %s %d", s, label, t and t.cputime or -1)
  end
end

until_all(function(s) return find(s) ~= nil end, 600, "tasks found")
for _, s in ipairs(specs) do find(s):freeze() end
local n = until_all(function(s) return hold_of(s) == "frozen" end, 1200, "frozen")
say("HELD ticks=%d", n)
-- the tick's snapshot was taken before it settled a task that had still
-- been running: read again, so that its last slice is counted before
xds.refresh()
cpu("held")
xds.run(hold_s)
cpu("holdend")
say("THAWING")
for _, s in ipairs(specs) do find(s):thaw() end
n = until_all(function(s) return hold_of(s) == "none" end, 600, "thawed")
say("THAWED ticks=%d", n)
cpu("thawed")
xds.run(6)
cpu("end")
say("DONE")
