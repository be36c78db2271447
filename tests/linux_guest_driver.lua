-- linux_guest_driver.lua - xds-lua under a shell test's command, for the
-- real-guest tests (tests/linux_guest_*.t, bench/linux_guest_*.sh).
--
--   xds-lua --qemu SPEC... -e 'DRV_CMD, DRV_OUT = "C", "O"' \
--           -e 'dofile "tests/linux_guest_driver.lua"'
--
-- Ticks without pause (xds.step) so that pending freezes settle, and
-- between ticks runs each new line "N VERB ARGS" appended to the file
-- DRV_CMD, answering "N ok ..." or "N fail ..." on a line of DRV_OUT.
-- Tasks are named by comm (a process: pid == tgid), in any domain, or as
-- DOM/COMM, or one thread as pid=N.  Verbs:
--   threads COMM              tids= the thread ids of process COMM (by tgid),
--                             unlisted= how many were found on no task list
--   reads N                   N snapshots back to back: reads= failed= (ok
--                             only when none failed; first= the first error)
--   show COMM                 pid, state, cputime (ns), hold (none, pending,
--                             desched, frozen) or "gone"
--   freeze COMM [SITUATION]   waits (up to 30 s) until the task is in
--                             SITUATION in the snapshot (any, queued: on a
--                             run queue but not running, running, sleeping:
--                             S or D and not queued), wishes it frozen and
--                             answers with the hold the next tick found;
--                             for queued, running and sleeping the hold
--                             must be frozen, desched, pending (the path
--                             DESIGN.md names for it), else the task is
--                             thawed and the freeze tried again (50 times)
--   settle COMM [TICKS]       ticks until the task is held frozen (200)
--   thaw COMM                 wishes it thawed; ticks until no longer held
--   cycles N TICKS COMM...    N freeze/thaw cycles over the COMMs in turn:
--                             freeze, tick until frozen (at most TICKS),
--                             thaw, tick until released; counts
--   sample SECONDS CLASS...   ticks for SECONDS and sums, per class (a
--                             spec DOM/COMM), the CPU time it gained in
--                             the ticks when each higher class wanted the
--                             CPU (runnable: queued, running or frozen):
--                             topI=C1,C2,.. in ms; edgeI= the same in the
--                             first tick after the top class became I,
--                             ticksI= and edgesI= how many such ticks
--   load POLICY ARG...        xds.load;  unload: xds.unload
--   stats                     the tick's figures (xds.stats), one line
--   quit                      ends; xds-lua thaws what is still held
-- Stops by itself after DRV_LIFETIME seconds (default 600).
local cmd_path, out_path = assert(DRV_CMD), assert(DRV_OUT)
local lifetime = tonumber(DRV_LIFETIME) or 600
local done, quit = 0, false

local function answer(n, ok, text)
  local f = assert(io.open(out_path, "a"))
  f:write(string.format("%d %s %s\n", n, ok and "ok" or "fail", text))
  f:close()
end

local function split_name(name)
  local dom, comm = name:match("^([^/]+)/(.+)$")
  return dom, comm or name
end

local function find(name)
  local dom, comm = split_name(name)
  local pid = tonumber(comm:match("^pid=(%d+)$"))
  for _, t in ipairs(xds.tasks()) do
    if (pid and t.pid == pid or not pid and t.comm == comm and t.pid == t.tgid)
       and (not dom or t.dom == dom) then return t end
  end
end

-- The thread ids of process COMM, leader first, as "tid,tid,...".
local function threads(name)
  local p = find(name)
  if not p then return false, name .. " is gone" end
  local ids, unlisted = {}, 0
  for _, t in ipairs(xds.tasks{tgid = p.tgid}) do
    if t.dom == p.dom then
      ids[#ids + 1] = t.pid
      if t.unlisted then unlisted = unlisted + 1 end
    end
  end
  return true, "tids=" .. table.concat(ids, ",") .. " unlisted=" .. unlisted
end

-- n snapshots taken back to back (xds.refresh); counts the failed reads.
local function reads(n)
  local failed, first = 0, nil
  for _ = 1, n do
    xds.refresh()
    for _, d in ipairs(xds.domains()) do
      if d.error then failed = failed + 1; first = first or d.error end
    end
  end
  return failed == 0, string.format("reads=%d failed=%d%s", n, failed, first and (" first=" .. first) or "")
end

local function hold_of(t)
  for _, f in ipairs(xds.frozen()) do
    if f.pid == t.pid and f.dom == t.dom then return f.hold end
  end
  return "none"
end

local function show(name)
  local t = find(name)
  if not t then return "gone" end
  return string.format("pid=%d state=%s cputime=%d hold=%s queued=%s running=%s",
    t.pid, t.state, t.cputime, hold_of(t), t.queued, t.running)
end

local function situation(t, want)
  if want == "queued" then return t.queued and not t.running end
  if want == "running" then return t.running end
  if want == "sleeping" then return (t.state == "S" or t.state == "D") and not t.queued and not t.running end
  return true
end

local expect = { queued = "frozen", running = "desched", sleeping = "pending" }

-- Ticks until pred() or n ticks; returns the ticks taken, or nil.
local function tick_until(n, pred)
  for i = 1, n do
    xds.step(1)
    if pred() then return i end
  end
end

local function release(name, pid)
  local t = find(name)
  if t and hold_of(t) ~= "none" then t:thaw() end
  return tick_until(200, function()
    local u = find(name)
    return not u or u.pid ~= pid or hold_of(u) == "none"
  end)
end

local function freeze(name, want)
  want = want or "any"
  for try = 1, 50 do
    local t
    if not tick_until(3000, function() t = find(name); return t and situation(t, want) end) then
      return false, "never saw " .. name .. " " .. want
    end
    local pid = t.pid
    t:freeze()
    xds.step(1)
    local u = find(name)
    if not u then return false, name .. " is gone" end
    local h = hold_of(u)
    if not expect[want] or h == expect[want] then
      return true, string.format("pid=%d hold=%s tries=%d", pid, h, try)
    end
    release(name, pid)
  end
  return false, "50 tries, never the " .. want .. " path"
end

local function settle(name, n)
  local k = tick_until(n or 200, function()
    local t = find(name)
    return t and hold_of(t) == "frozen"
  end)
  if not k then return false, "not frozen after " .. (n or 200) .. " ticks: " .. show(name) end
  return true, "ticks=" .. k
end

local function thaw(name)
  local t = find(name)
  if not t then return false, name .. " is gone" end
  local k = release(name, t.pid)
  if not k then return false, "still held after 200 ticks: " .. show(name) end
  return true, "ticks=" .. k
end

local function cycles(n, max_ticks, names)
  local c = { frozen = 0, missed = 0, asleep = 0, stuck = 0 }
  local notes = {}
  local first = { frozen = 0, desched = 0, pending = 0, none = 0 }
  local t0 = xds.time()
  for i = 1, n do
    local name = names[(i - 1) % #names + 1]
    local t = find(name)
    if not t then return false, name .. " is gone after " .. (i - 1) .. " cycles" end
    local pid = t.pid
    t:freeze()
    xds.step(1)
    local h = hold_of(find(name) or t)
    first[h] = (first[h] or 0) + 1
    local k = h == "frozen" and 0 or settle(name, max_ticks) and 1
    if h == "frozen" or k then
      c.frozen = c.frozen + 1
    else
      -- a task asleep the whole window is frozen only when it wakes: by design
      local now = find(name)
      c.missed = c.missed + 1
      if h == "pending" and now and now.state == "S" and not now.queued then c.asleep = c.asleep + 1 end
      if #notes < 3 then notes[#notes + 1] = string.format("missed:%s:first=%s:now=%s", name, h, show(name):gsub(" ", ",")) end
    end
    if not release(name, pid) then c.stuck = c.stuck + 1 end
  end
  return c.stuck == 0, string.format("cycles=%d frozen=%d missed=%d asleep=%d stuck=%d first_hold:"
    .. " frozen=%d desched=%d pending=%d seconds=%.1f", n, c.frozen, c.missed, c.asleep, c.stuck,
    first.frozen, first.desched, first.pending, xds.time() - t0) .. " " .. table.concat(notes, " ")
end

-- Per-tick attribution: CPU gained from one snapshot to the next goes to
-- the situation at the first: the highest class that wanted the CPU.
local function sample(seconds, specs)
  local function class_of(t)
    for i, s in ipairs(specs) do
      local dom, comm = split_name(s)
      if t.comm == comm and t.pid == t.tgid and (not dom or t.dom == dom) then return i end
    end
  end
  local gain = {}       -- gain[top][class] ns
  local edge = {}       -- the same, in the first tick after top changed
  local ticks, edges = {}, {}
  for i = 0, #specs do
    gain[i], edge[i], ticks[i], edges[i] = {}, {}, 0, 0
    for j = 1, #specs do gain[i][j], edge[i][j] = 0, 0 end
  end
  local prev, top, changed = nil, 0, false
  local t0 = xds.time()
  while xds.time() - t0 < seconds do
    local now, best = {}, nil
    for _, t in ipairs(xds.tasks()) do
      local c = class_of(t)
      if c then
        now[c] = t.cputime
        if (t.queued or t.running or t.frozen) and (not best or c < best) then best = c end
      end
    end
    if prev then
      ticks[top] = ticks[top] + 1
      if changed then edges[top] = edges[top] + 1 end
      for c, v in pairs(now) do
        if prev[c] and v >= prev[c] then
          gain[top][c] = gain[top][c] + (v - prev[c])
          if changed then edge[top][c] = edge[top][c] + (v - prev[c]) end
        end
      end
    end
    changed = prev ~= nil and (best or 0) ~= top
    prev, top = now, best or 0
    xds.step(1)
  end
  local out = {}
  for i = 0, #specs do
    local row, erow = {}, {}
    for j = 1, #specs do
      row[j] = string.format("%d", gain[i][j] // 1000000)
      erow[j] = string.format("%d", edge[i][j] // 1000000)
    end
    out[#out + 1] = string.format("top%d=%s", i, table.concat(row, ","))
    out[#out + 1] = string.format("edge%d=%s ticks%d=%d edges%d=%d", i, table.concat(erow, ","), i, ticks[i], i, edges[i])
  end
  return true, table.concat(out, " ")
end

local verbs = {}
function verbs.show(a) return true, show(a[1]) end
function verbs.threads(a) return threads(a[1]) end
function verbs.reads(a) return reads(tonumber(a[1]) or 500) end
function verbs.freeze(a) return freeze(a[1], a[2]) end
function verbs.settle(a) return settle(a[1], tonumber(a[2])) end
function verbs.thaw(a) return thaw(a[1]) end
function verbs.cycles(a)
  return cycles(tonumber(a[1]), tonumber(a[2]), { table.unpack(a, 3) })
end
function verbs.sample(a) return sample(tonumber(a[1]), { table.unpack(a, 2) }) end
function verbs.load(a) return true, xds.load(table.unpack(a)) end
function verbs.unload() return true, tostring(xds.unload()) end
function verbs.quit() quit = true return true, "bye" end
function verbs.stats()
  local st = xds.stats()
  return true, string.format("tick mean %.3f max %.3f ms; late mean %.3f max %.3f ms over %d ticks; pause max %.3f ms",
    st.tick.mean, st.tick.max, st.late.mean, st.late.max, st.late.count, st.pauses.max)
end

local function run_line(line)
  local n, verb, rest = line:match("^(%d+)%s+(%S+)%s*(.*)$")
  if not n then return end
  local a = {}
  for w in rest:gmatch("%S+") do a[#a + 1] = w end
  local f = verbs[verb]
  if not f then return answer(tonumber(n), false, "unknown verb " .. verb) end
  local okc, ok, text = pcall(f, a)
  if not okc then return answer(tonumber(n), false, tostring(ok)) end
  answer(tonumber(n), ok, tostring(text))
end

local function new_lines()
  local f = io.open(cmd_path, "r")
  if not f then return {} end
  local lines, i = {}, 0
  for line in f:lines() do
    i = i + 1
    if i > done then lines[#lines + 1] = line end
  end
  f:close()
  -- a line is complete once the shell wrote its newline; it writes whole lines
  done = i
  return lines
end

local start = xds.time()
while not quit and xds.time() - start < lifetime do
  for _, line in ipairs(new_lines()) do
    run_line(line)
    if quit then break end
  end
  if not quit then xds.step(1) end
end
