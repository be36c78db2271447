-- policy.lua - helpers so that a policy reads like its description.
--
--   local policy = require "policy"
--   return policy.strict_priority { "U1/db", "U2/web", "U1/bkup*" }
--
-- Owns: task specs and matchers, comm globs, ordered classes, runnable(),
-- durations, fractions and a shipped policy's command line, argument
-- errors (usage_error), the policy shapes (strict_priority, idle_only,
-- quota, share) and compose, which layers them.  Each shape returns a
-- policy table { name, tick, decide } for the tick driver; its decide is
-- what compose calls.  Leaves to the runtime how a freeze or a thaw is
-- done (task:freeze() only records the wish).
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
  if depth > 0 then M.usage_error("task spec '" .. spec .. "': an unclosed [ in '" .. glob .. "'") end
end

-- "DOM/WHAT" or "WHAT" (WHAT: a comm glob, pid=N or tgid=N) as a table.
local function parse_spec(spec)
  if spec == "" then M.usage_error("task spec '': empty (DOM/COMM, COMM, DOM/pid=N, DOM/*)") end
  local dom, what = spec:match("^([^/]*)/(.*)$")
  if not dom then what = spec end
  if what == "" then
    M.usage_error("task spec '" .. spec .. "': nothing after the '/' (" .. dom .. "/* names every task)")
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

-- A spec (string or table) as a function(task) -> bool.  any: match
-- protected tasks too, as if the spec said protected = true.
function M.matcher(spec, any)
  if type(spec) == "function" then return spec end
  local t = type(spec) == "string" and parse_spec(spec) or spec
  if type(t) ~= "table" then M.usage_error("a task spec is a string or a table, not " .. tostring(spec)) end
  local dom = t.dom and M.glob(t.dom, true)     -- domain names: either case
  local comm = t.comm and M.glob(t.comm)
  local pid, tgid, anyway = t.pid, t.tgid, any or t.protected == true
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
-- no-op.  Under `xds-lua check` (xds.checking) they are findings
-- (xds.finding), and so is a spec that would match protected tasks, which
-- it leaves alone.  watch(specs) -> function(snap), to call every tick.
local REPORT_EVERY = 60
local function who(t)
  return ("%s/%s[%d] (%s)"):format(t.dom, t.comm, t.pid, tostring(t.protected))
end
function M.watch(specs)
  local match, any, label, said = {}, {}, {}, nil
  for i, spec in ipairs(specs) do
    match[i], any[i] = M.matcher(spec), M.matcher(spec, true)
    label[i] = type(spec) == "string" and spec or tostring(spec)
  end
  local checking = xds and xds.checking and xds.finding
  local say = checking and xds.finding or (xds and xds.warn)
  return function(snap)
    if said and snap.time < said + REPORT_EVERY then return end
    said = snap.time
    local doms, seen = {}, {}
    for _, t in ipairs(snap.tasks) do
      if not seen[t.dom] then seen[t.dom] = true doms[#doms + 1] = t.dom end
    end
    for i = 1, #match do
      local hit, left = false, {}
      for _, t in ipairs(snap.tasks) do
        if match[i](t) then
          hit = true
          if not checking then break end
        elseif checking and t.protected and any[i](t) then
          left[#left + 1] = t
        end
      end
      if not hit and say then
        say("task spec '" .. label[i] .. "' matches no task (domains: "
            .. (#doms > 0 and table.concat(doms, ", ") or "none") .. ")")
      end
      if #left > 0 then
        local shown = {}
        for k = 1, math.min(#left, 3) do shown[k] = who(left[k]) end
        say(("task spec '%s' would match %d protected task(s), which it leaves alone: %s%s"):format(
          label[i], #left, table.concat(shown, ", "), #left > 3 and ", ..." or ""))
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


-- An error in what a policy was given: raised as an object whose
-- __tostring is the message, so that xds-lua prints the message alone,
-- without a traceback, and exits 1 before the first tick.
local usage_mt = { __tostring = function(e) return e.msg end }
function M.usage_error(msg)
  error(setmetatable({ msg = msg }, usage_mt), 0)
end

-- "10s", "500ms", "2", 1.5 -> seconds.  what names the value in an error.
function M.seconds(d, what)
  if type(d) == "number" then return d end
  local n, unit = tostring(d):match("^([%d.]+)(%a*)$")
  local scale = ({ [""] = 1, s = 1, ms = 1e-3, us = 1e-6, min = 60 })[unit]
  if not (n and tonumber(n) and scale) then
    M.usage_error((what and what .. ": " or "") .. "not a duration (like 2s, 500ms or 1.5): " .. tostring(d))
  end
  return tonumber(n) * scale
end

-- "20%" or "0.2" -> 0.2, at most max (default 1: one CPU).
function M.fraction(s, what, max)
  local pct = tostring(s):match("^([%d.]+)%%$")
  local v
  if pct then v = tonumber(pct) and tonumber(pct) / 100 else v = tonumber(s) end
  local prefix = what and what .. ": " or ""
  if not (v and v >= 0 and v < math.huge) then
    M.usage_error(prefix .. "not a share (like 20% or 0.2): " .. tostring(s))
  end
  if v > (max or 1) then
    M.usage_error(string.format("%sa share of at most %g%%, not %s", prefix, 100 * (max or 1), tostring(s)))
  end
  return v
end

-- The command-line arguments (global arg) as a list, or dflt if none.
function M.args(dflt)
  local a = {}
  for i = 1, #(arg or {}) do a[i] = arg[i] end
  if #a == 0 then return dflt end
  return a
end

-- A shipped policy's command line: options --NAME VALUE or --NAME=VALUE
-- for the NAMEs of `known` (name -> what its value is), and the other
-- arguments in order, or dflt if there are none.  Returns opts, rest and
-- fail(msg), which raises msg with the policy's usage line.
function M.command_line(usage, known, dflt)
  local prog = usage:match("^(%S+)") or "policy"
  local function fail(msg) M.usage_error(prog .. ": " .. msg .. "\nusage: " .. usage) end
  local opts, rest, args, i = {}, {}, M.args({}), 1
  while i <= #args do
    local a = args[i]
    local key, val = a:match("^%-%-([%w-]+)=(.*)$")
    key = key or a:match("^%-%-([%w-]+)$")
    if key then
      if not known[key] then fail("unknown option '--" .. key .. "'") end
      if not val then
        i = i + 1
        val = args[i]
        if val == nil then fail("option '--" .. key .. "' needs a value: " .. known[key]) end
      end
      opts[key] = val
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  if #rest == 0 then rest = dflt or rest end
  return opts, rest, fail
end

-- why: the reason of the change, which --dry-run shows beside it.
local function wish(task, freeze, why)
  if freeze then
    if not task.frozen then task:freeze(why) end
  elseif task.frozen then
    task:thaw(why)
  end
end

-- Shapes decide, the tick applies.  A shape's decide(snap, held, free)
-- puts in held[task] why a task must not run and in free[task] why one of
-- its tasks may; a task already in held (an earlier layer of a compose)
-- counts as not runnable for it.  apply freezes every held task and thaws
-- every free one that is not held: tasks that no shape names are left to
-- their guest.  snap.tasks is read once, so that every layer sees the
-- same task objects.
local function apply(snap, decide)
  local view = setmetatable({ tasks = snap.tasks }, { __index = snap })
  local held, free = {}, {}
  decide(view, held, free)
  for _, t in ipairs(view.tasks) do
    if held[t] then wish(t, true, held[t]) elseif free[t] then wish(t, false, free[t]) end
  end
end

-- A task that wants CPU and that no earlier layer holds.
local function wants(task, held)
  return not held[task] and M.runnable(task)
end

local function shape(name, opts, decide)
  return {
    name = opts.name or name, tick_ms = opts.tick_ms, decide = decide,
    tick = function(snap) apply(snap, decide) end,
  }
end

-- A strict order of classes across all domains: a class runs only while
-- no higher class is runnable.  Each tick, the highest class with a
-- runnable task wins; every runnable task of a lower class is frozen, every
-- other task of the classes thawed.  Tasks of no class are left alone.
function M.strict_priority(specs)
  local class, watch = M.classes(specs), M.watch(specs)
  return shape("strict_priority", specs, function(snap, held, free)
    watch(snap)
    local best, mine, cls = nil, {}, {}
    for _, t in ipairs(snap.tasks) do
      local c = class(t)
      if c then
        mine[#mine + 1], cls[#mine + 1] = t, c
        if (not best or c < best) and wants(t, held) then best = c end
      end
    end
    local why = best and ("class " .. best .. " (" .. tostring(specs[best]) .. ") is runnable")
    for i, t in ipairs(mine) do
      if not held[t] then
        if best and cls[i] > best and M.runnable(t) then held[t] = why
        else free[t] = "no higher class is runnable" end
      end
    end
  end)
end

-- The named tasks run only when no other task on the whole host is
-- runnable (queued or running, and not held by an earlier layer).
function M.idle_only(specs)
  local named, watch = M.classes(specs), M.watch(specs)
  return shape("idle_only", specs, function(snap, held, free)
    watch(snap)
    local busy = false
    for _, t in ipairs(snap.tasks) do
      if not named(t) and not held[t] and (t.queued or t.running) then busy = true break end
    end
    for _, t in ipairs(snap.tasks) do
      if named(t) and not held[t] then
        if busy and M.runnable(t) then held[t] = "another task is runnable"
        else free[t] = "the host is idle" end
      end
    end
  end)
end

-- A sliding window of CPU time over a set of tasks: meter:sample(time,
-- tasks) -> CPU seconds used in the window ending now, and the window's
-- span so far (shorter than the window at the start).  A task that is
-- gone keeps the CPU time it had.
local function meter(window)
  local m = { seen = {}, gone = 0, samples = {} }
  function m:sample(time, tasks)
    local total, now = 0, {}
    for _, t in ipairs(tasks) do
      local c = t.cputime
      now[t.dom .. "/" .. t.pid] = c
      total = total + c
    end
    for key, c in pairs(self.seen) do
      if not now[key] then self.gone = self.gone + c end
    end
    self.seen = now
    local cpu, s = total + self.gone, self.samples
    self.total = cpu / 1e9
    s[#s + 1] = { time = time, cpu = cpu }
    while #s > 2 and s[2].time <= time - window do table.remove(s, 1) end
    return (cpu - s[1].cpu) / 1e9, math.max(time - s[1].time, 1e-9)
  end
  return m
end

local function positive_seconds(v, what, dflt)
  local s = M.seconds(v or dflt, what)
  -- not (s > 0), not s <= 0: NaN is neither
  -- luacheck: push ignore 581
  if not (s > 0) then M.usage_error(what .. " must be longer than 0 s, not " .. tostring(v)) end
  -- luacheck: pop
  return s
end

-- CPU-time quotas over a sliding window.  q = { { spec, share }, ...,
-- window = seconds, hysteresis = fraction }: the tasks a spec matches
-- together form one subject (a task, a process with tgid=, a domain with
-- "U1/*"); share is a fraction of one CPU, above 1 for a subject with
-- several CPUs.  A subject whose CPU time in the last window passes its
-- quota (share * window) is frozen, and thawed when it falls back below.
-- The hysteresis (a fraction of the quota, default 20 %) is a band that
-- keeps a subject at its quota from flipping every tick: frozen at half
-- the band above the quota, thawed at half below.  A band alone biases
-- the long run (a frozen subject dwells near the top of it while old runs
-- leave its window, a thawed one climbs at once), so the band's centre
-- moves down by the subject's debt: its CPU time beyond share * time
-- since the start, kept within one band either way.  The window's bound
-- thus holds within a band and a half, and the share on average.
function M.quota(q)
  local window = positive_seconds(q.window, "quota: the window", 1)
  local hyst = M.fraction(q.hysteresis or 0.2, "quota: the hysteresis")
  local subjects, specs = {}, {}
  for i, s in ipairs(q) do
    if type(s) ~= "table" or s[1] == nil or s[2] == nil then
      M.usage_error("quota: entry " .. i .. " is not { spec, share }")
    end
    specs[i] = s[1]
    local label = tostring(s[1])
    subjects[i] = { match = M.matcher(s[1]), share = M.fraction(s[2], "quota: " .. label, math.huge),
                    label = label, meter = meter(window), over = false, debt = 0 }
  end
  local watch, checked = M.watch(specs), false
  -- A share no subject can reach is said once: more than its domains' vCPUs.
  local function check_cpus(snap)
    checked = true
    local vcpus = {}
    for _, d in ipairs(snap.domains or {}) do vcpus[d.name] = d.vcpus end
    for _, sub in ipairs(subjects) do
      local doms, n = {}, 0
      for _, t in ipairs(snap.tasks) do
        if sub.match(t) and not doms[t.dom] then doms[t.dom] = true n = n + (vcpus[t.dom] or 0) end
      end
      if n > 0 and sub.share > n and xds and xds.warn then
        xds.warn(string.format("quota '%s' = %g%% is more than its domains' %d vCPU(s) can use: it never holds",
                               sub.label, 100 * sub.share, n))
      end
    end
  end
  return shape("quota", q, function(snap, held, free)
    watch(snap)
    if not checked then check_cpus(snap) end
    for _, sub in ipairs(subjects) do
      local mine = {}
      for _, t in ipairs(snap.tasks) do
        if sub.match(t) then mine[#mine + 1] = t end
      end
      local cpu, span = sub.meter:sample(snap.time, mine)
      local quota, band = sub.share * span, sub.share * window * hyst
      local total = sub.meter.total
      if sub.last then
        sub.debt = math.max(-band, math.min(band, sub.debt + (total - sub.last) - sub.share * (snap.time - sub.at)))
      end
      sub.last, sub.at = total, snap.time
      local centre = quota - sub.debt
      if sub.over then sub.over = cpu >= centre - band / 2
      else sub.over = cpu > centre + band / 2 end
      local why = string.format("%s used %.0f%% of the last %.3g s (quota %.0f%%)", sub.label,
                                100 * cpu / span, span, 100 * sub.share)
      for _, t in ipairs(mine) do
        if not held[t] then
          if sub.over and M.runnable(t) then held[t] = why else free[t] = why end
        end
      end
    end
  end)
end

-- Proportional shares of the CPU time across the whole host, like
-- cgroup cpu.weight but across domains.  c = { { spec, weight }, ...,
-- window = seconds, hysteresis = fraction }, or with string specs
-- { ["U1/db"] = 60, ["U2/web"] = 30, window = ... }: the tasks a spec
-- matches together form one class.  A class's share is its part of the CPU time
-- that the runnable classes together got in the last window (default
-- 1 s); its due is its weight over the weights of the runnable classes,
-- so that an idle class's due goes to the others (work-conserving).  A
-- class more than half the hysteresis (in points of share, default 2 %)
-- ahead of its due is frozen, and thawed when it is half of it behind;
-- the runnable class furthest behind is never frozen, so that something
-- always runs.  Shares mean something only among classes that compete
-- for the same CPUs: holding back a class that has a CPU of its own only
-- leaves that CPU idle.
local SHARE_FIELDS = { window = true, hysteresis = true, name = true, tick_ms = true }
function M.share(c)
  local window = positive_seconds(c.window, "share: the window", 1)
  local hyst = M.fraction(c.hysteresis or 0.02, "share: the hysteresis")
  local classes, specs, entries = {}, {}, {}
  for i, s in ipairs(c) do entries[i] = s end
  -- the map form, { ["U1/db"] = 60, ... }, in the order of its specs
  local named = {}
  for k in pairs(c) do
    if type(k) == "string" and not SHARE_FIELDS[k] then named[#named + 1] = k end
  end
  table.sort(named)
  for _, k in ipairs(named) do entries[#entries + 1] = { k, c[k] } end
  for i, s in ipairs(entries) do
    if type(s) ~= "table" or s[1] == nil or s[2] == nil then
      M.usage_error("share: entry " .. i .. " is not { spec, weight }")
    end
    local label, w = tostring(s[1]), tonumber(s[2])
    if not (w and w > 0 and w < math.huge) then
      M.usage_error("share: " .. label .. ": the weight must be a number above 0, not " .. tostring(s[2]))
    end
    specs[i] = s[1]
    classes[i] = { match = M.matcher(s[1]), weight = w, label = label, meter = meter(window),
                   over = false }
  end
  if #classes == 0 then M.usage_error("share: no class given ({ spec, weight }, ...)") end
  local watch = M.watch(specs)
  return shape("share", c, function(snap, held, free)
    watch(snap)
    local weights, total = 0, 0
    for _, cl in ipairs(classes) do
      cl.mine, cl.active = {}, false
      for _, t in ipairs(snap.tasks) do
        if cl.match(t) then
          cl.mine[#cl.mine + 1] = t
          cl.active = cl.active or wants(t, held)
        end
      end
      cl.cpu = cl.meter:sample(snap.time, cl.mine)
      if cl.active then weights, total = weights + cl.weight, total + cl.cpu end
    end
    local behind
    for _, cl in ipairs(classes) do
      if cl.active and total > 0 then
        cl.due, cl.got = cl.weight / weights, cl.cpu / total
        local lead = cl.got - cl.due
        if cl.over then cl.over = lead > -hyst / 2 else cl.over = lead > hyst / 2 end
        if not behind or cl.got / cl.due < behind.got / behind.due then behind = cl end
      else
        cl.over = false
      end
    end
    if behind then behind.over = false end
    for _, cl in ipairs(classes) do
      local why = cl.due and string.format("%s got %.1f%% of the last %.3g s (due %.1f%%)", cl.label,
                                           100 * cl.got, window, 100 * cl.due) or cl.label .. ": nothing to share"
      for _, t in ipairs(cl.mine) do
        if not held[t] then
          if cl.over and M.runnable(t) then held[t] = why else free[t] = why end
        end
      end
      cl.mine, cl.due, cl.got = nil, nil, nil
    end
  end)
end

-- Shapes in layers: compose{ layer, layer, ..., name =, tick_ms = },
-- where a layer is a shape of this file (quota{...}, strict_priority{...},
-- ...) or a function(snap, held, free) written like their decide.  Each
-- tick the layers decide in order, each seeing the tasks that the layers
-- before it hold as not runnable: a quota first takes its subject's extra
-- time away from a priority order below it, an idle_only last counts
-- only the tasks the layers above let run.  A task is frozen if a layer
-- holds it, thawed if a layer lets it run and none holds it.
function M.compose(layers)
  local decides = {}
  for i, l in ipairs(layers) do
    local d = type(l) == "function" and l or type(l) == "table" and l.decide
    if type(d) ~= "function" then
      M.usage_error("compose: layer " .. i .. " is not a shape (policy.quota{...}, policy.strict_priority{...}, ...)"
                    .. " or a function(snap, held, free), but a " .. type(l))
    end
    decides[i] = d
  end
  if #decides == 0 then M.usage_error("compose: no layer given") end
  return shape("compose", layers, function(snap, held, free)
    for _, decide in ipairs(decides) do decide(snap, held, free) end
  end)
end

return M
