-- policy.lua - helpers so that a policy reads like its description.
--
--   local policy = require "policy"
--   return policy.strict_priority { "U1/db", "U2/web", "U1/bkup*" }
--
-- Owns: task specs and matchers, comm globs, ordered classes, runnable(),
-- durations and shares from the command line, and the three policy shapes
-- that ship (strict_priority, idle_only, quota), each returning a policy
-- table { name, tick, stop } for the tick driver.  Leaves to the runtime
-- how a freeze or a thaw is done (task:freeze() only records the wish).
--
-- A spec names tasks by domain and command, so that a policy works on any
-- site: "U1/db" (domain U1, comm db), "bkup*" (any domain), "U1/*" (every
-- task of U1), "U1/tgid=320" or "U1/pid=320", or a table
-- { dom = "U1", comm = "bkup*", pid = 320, tgid = 320 } (every field
-- optional).  dom and comm are globs: * any run, ? one character, [..] a
-- class.  A comm names a process (every thread of the process whose
-- leader has that comm, "U1/db" freezes all of db's threads) or one thread
-- by its own comm; tgid=N is a process, pid=N one thread.  Wishes are sticky: a frozen task stays frozen until thawed.
-- A spec never matches a protected task (the guest's init, a kernel
-- thread, an idle task: task.protected says why) unless its table says
-- protected = true; the scheduler refuses those wishes unless it runs
-- with --allow-protected.

local M = {}

-- A glob (* ? [..]) as an anchored Lua pattern.
local function glob_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == "*" then
      out[#out + 1] = ".*"
    elseif c == "?" then
      out[#out + 1] = "."
    elseif c == "[" and glob:find("]", i + 1, true) then
      local j = glob:find("]", i + 1, true)
      local body = glob:sub(i + 1, j - 1):gsub("^!", "^"):gsub("%%", "%%%%")
      out[#out + 1] = "[" .. body .. "]"
      i = j
    else
      out[#out + 1] = c:gsub("%W", "%%%0")
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

-- glob("bkup*") -> function(s) -> bool; nocase: letters match either case.
function M.glob(glob, nocase)
  if nocase then glob = glob:lower() end
  local pat = glob_pattern(glob)
  if nocase then return function(s) return s ~= nil and s:lower():find(pat) ~= nil end end
  return function(s) return s ~= nil and s:find(pat) ~= nil end
end

-- A malformed spec is an error that shows it.
local function check_glob(spec, glob)
  local depth = 0
  for c in glob:gmatch(".") do
    if c == "[" then depth = depth + 1 elseif c == "]" and depth > 0 then depth = 0 end
  end
  if depth > 0 then error("task spec '" .. spec .. "': an unclosed [ in '" .. glob .. "'", 0) end
end

-- "DOM/WHAT" or "WHAT" (WHAT: a comm glob, pid=N or tgid=N) as a table.
local function parse_spec(spec)
  if spec == "" then error("task spec '': empty (DOM/COMM, COMM, DOM/pid=N, DOM/*)", 0) end
  local dom, what = spec:match("^([^/]*)/(.*)$")
  if not dom then what = spec end
  if what == "" then
    error("task spec '" .. spec .. "': nothing after the '/' (" .. dom .. "/* names every task)", 0)
  end
  check_glob(spec, dom or "")
  check_glob(spec, what)
  local t = { dom = dom ~= "" and dom or nil }
  local key, n = what:match("^(%a+)=(%d+)$")
  if key == "pid" or key == "tgid" then
    t[key] = tonumber(n)
  elseif what ~= "" then
    t.comm = what
  end
  return t
end

-- A spec (string or table) as a function(task) -> bool.
function M.matcher(spec)
  if type(spec) == "function" then return spec end
  local t = type(spec) == "string" and parse_spec(spec) or spec
  assert(type(t) == "table", "a task spec is a string or a table")
  local dom = t.dom and M.glob(t.dom, true)     -- domain names: either case
  local comm = t.comm and M.glob(t.comm)
  local pid, tgid, anyway = t.pid, t.tgid, t.protected == true
  return function(task)
    return (anyway or not task.protected)
      and (not comm or comm(task.comm) or (task.process and comm(task.process))) and (not dom or dom(task.dom))
      and (not pid or task.pid == pid) and (not tgid or task.tgid == tgid)
  end
end

-- A task that wants CPU: queued, running, or held frozen by us.
function M.runnable(task)
  return task.queued or task.running or task.frozen
end

-- Specs that match no task are said (xds.warn) on the first tick and once
-- a minute after, with the domains there are: a typo makes no silent
-- no-op.  watch(specs) -> function(snap), to call every tick.
local REPORT_EVERY = 60
function M.watch(specs)
  local match, label, said = {}, {}, nil
  for i, spec in ipairs(specs) do
    match[i] = M.matcher(spec)
    label[i] = type(spec) == "string" and spec or tostring(spec)
  end
  return function(snap)
    if said and snap.time < said + REPORT_EVERY then return end
    said = snap.time
    local doms, seen = {}, {}
    for _, t in ipairs(snap.tasks) do
      if not seen[t.dom] then seen[t.dom] = true doms[#doms + 1] = t.dom end
    end
    for i = 1, #match do
      local hit = false
      for _, t in ipairs(snap.tasks) do
        if match[i](t) then hit = true break end
      end
      if not hit and xds and xds.warn then
        xds.warn("task spec '" .. label[i] .. "' matches no task (domains: "
                 .. (#doms > 0 and table.concat(doms, ", ") or "none") .. ")")
      end
    end
  end
end

-- Ordered classes: classes{ spec1, spec2, ... }(task) -> 1, 2, ... or nil.
function M.classes(specs)
  local match = {}
  for i, spec in ipairs(specs) do match[i] = M.matcher(spec) end
  return function(task)
    for i = 1, #match do
      if match[i](task) then return i end
    end
    return nil
  end
end

-- "10s", "500ms", "2", 1.5 -> seconds.
function M.seconds(d)
  if type(d) == "number" then return d end
  local n, unit = tostring(d):match("^([%d.]+)(%a*)$")
  local scale = ({ [""] = 1, s = 1, ms = 1e-3, us = 1e-6, min = 60 })[unit]
  assert(n and tonumber(n) and scale, "not a duration: " .. tostring(d))
  return tonumber(n) * scale
end

-- "20%" or "0.2" -> 0.2.
function M.share(s)
  local pct = tostring(s):match("^([%d.]+)%%$")
  local v
  if pct then v = tonumber(pct) and tonumber(pct) / 100 else v = tonumber(s) end
  assert(v and v >= 0 and v <= 1, "not a share (like 20% or 0.2): " .. tostring(s))
  return v
end

-- The command-line arguments (global arg) as a list, or dflt if none.
function M.args(dflt)
  local a = {}
  for i = 1, #(arg or {}) do a[i] = arg[i] end
  if #a == 0 then return dflt end
  return a
end

-- why: the reason of the change, which --dry-run shows beside it.
local function wish(task, freeze, why)
  if freeze then
    if not task.frozen then task:freeze(why) end
  elseif task.frozen then
    task:thaw(why)
  end
end

local function with_defaults(p, name)
  p.name = p.name or name
  return p
end

-- A strict order of classes across all domains: a class runs only while
-- no higher class is runnable.  Each tick, the highest class with a
-- runnable task wins; every runnable task of a lower class is frozen, every
-- other task of the classes thawed.  Tasks of no class are left alone.
function M.strict_priority(specs)
  local class, watch = M.classes(specs), M.watch(specs)
  return with_defaults({
    name = specs.name, tick_ms = specs.tick_ms,
    tick = function(snap)
      watch(snap)
      local best, mine, cls = nil, {}, {}
      for _, t in ipairs(snap.tasks) do
        local c = class(t)
        if c then
          mine[#mine + 1], cls[#mine + 1] = t, c
          if (not best or c < best) and M.runnable(t) then best = c end
        end
      end
      for i, t in ipairs(mine) do
        local freeze = best ~= nil and cls[i] > best and M.runnable(t)
        wish(t, freeze, freeze and ("class " .. best .. " (" .. tostring(specs[best]) .. ") is runnable")
                        or "no higher class is runnable")
      end
    end,
  }, "strict_priority")
end

-- The named tasks run only when no other task on the whole host is
-- runnable (queued or running).
function M.idle_only(specs)
  local named, watch = M.classes(specs), M.watch(specs)
  return with_defaults({
    name = specs.name, tick_ms = specs.tick_ms,
    tick = function(snap)
      watch(snap)
      local busy = false
      for _, t in ipairs(snap.tasks) do
        if not named(t) and (t.queued or t.running) then busy = true break end
      end
      for _, t in ipairs(snap.tasks) do
        if named(t) then
          wish(t, busy and M.runnable(t), busy and "another task is runnable" or "the host is idle")
        end
      end
    end,
  }, "idle_only")
end

-- CPU-time quotas over a sliding window.  q = { { spec, share }, ...,
-- window = seconds }: the tasks a spec matches together form one subject
-- (a task, a process with tgid=, a domain with "U1/*"); when the
-- subject's CPU time in the last window exceeds share * window, its tasks
-- are frozen until it falls below again.
function M.quota(q)
  local window = M.seconds(q.window or 1)
  assert(window > 0, "quota: the window must be longer than 0 s, not " .. tostring(q.window))
  local subjects, specs = {}, {}
  for i, s in ipairs(q) do specs[i] = s[1] end
  local watch = M.watch(specs)
  for i, s in ipairs(q) do
    subjects[i] = { match = M.matcher(s[1]), share = M.share(s[2]), label = tostring(s[1]),
                    seen = {}, samples = {} }
  end
  -- The subject's CPU time: what its live tasks show, plus what the dead had.
  local function cputime(sub, tasks)
    local total, now = 0, {}
    for _, t in ipairs(tasks) do
      local key = t.dom .. "/" .. t.pid
      now[key] = t.cputime
      total = total + t.cputime
    end
    for key, c in pairs(sub.seen) do
      if not now[key] then sub.gone = (sub.gone or 0) + c end
    end
    sub.seen = now
    return total + (sub.gone or 0)
  end
  -- CPU seconds used in the window ending now.
  local function used(sub, time, cpu)
    local s = sub.samples
    s[#s + 1] = { time = time, cpu = cpu }
    while #s > 2 and s[2].time <= time - window do table.remove(s, 1) end
    local span = math.max(time - s[1].time, 1e-9)
    return (cpu - s[1].cpu) / 1e9, span
  end
  return with_defaults({
    name = q.name, tick_ms = q.tick_ms,
    tick = function(snap)
      watch(snap)
      for _, sub in ipairs(subjects) do
        local mine = {}
        for _, t in ipairs(snap.tasks) do
          if sub.match(t) then mine[#mine + 1] = t end
        end
        local cpu, span = used(sub, snap.time, cputime(sub, mine))
        local over = cpu > sub.share * span
        local why = string.format("%s used %.0f%% of the last %.3g s (quota %.0f%%)", sub.label,
                                  100 * cpu / span, span, 100 * sub.share)
        for _, t in ipairs(mine) do wish(t, over and M.runnable(t), why) end
      end
    end,
  }, "quota")
end

return M
