-- .luacheckrc - luacheck's view of a policy (make check runs it over
-- policies/: tests/luacheck.t).  A policy is Lua 5.4 in xds-lua's sandbox
-- (xds-lua-policy(5)): the xds module is xds-lua's one global, a policy may
-- define tick and stop, and what the sandbox takes away is not there.
std = "lua54"
read_globals = {
  xds = {
    fields = {
      "domains", "tasks", "runqueue", "refresh", "advance", "time", "ps", "warn",
      "finding", "checking", "load", "unload", "step", "run", "frozen", "stats",
      sim = { other_fields = true },          -- a host's controls (xds-sim's)
    },
  },
  "ps",
}
globals = { "tick", "stop" }
not_globals = { "io", "debug", "dofile", "loadfile", "coroutine", "package" }
max_line_length = 120
