#!/bin/bash
# luacheck.t - luacheck (Debian's lua-check) over the shipped policies with
# the project's .luacheckrc (issue 17): no warning; and the configuration
# is the one in use: a policy that calls xds.taks (a typo), writes a global,
# or reaches for io (which the sandbox takes away) is warned of, each.
# Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; return "$1"; }
command -v luacheck >/dev/null || { echo "1..0 # SKIP luacheck is not installed (scripts/install-deps)"; exit 0; }
T=$(mktemp -d /tmp/xds-luacheck-XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "1..4"

luacheck --no-color policies/ >"$T/out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q '^Total: 0 warnings / 0 errors in [0-9]* files' "$T/out"
ok $? "luacheck policies/: $(tail -1 "$T/out")" || sed 's/^/#   /' "$T/out" | head -20

mkdir "$T/p"
cat >"$T/p/bad.lua" <<'LUA'
local policy = require("policy")
count = 0
return { name = "bad", tick = function()
  for _, t in ipairs(xds.taks("U1/bkup")) do t:freeze() end
  io.write("tick\n")
  return policy
end }
LUA
luacheck --no-color --config .luacheckrc "$T/p/bad.lua" >"$T/out" 2>&1
grep -q "bad.lua:4:.*accessing undefined field 'taks' of global 'xds'" "$T/out"
ok $? "a typo in the xds module (xds.taks) is warned of" || sed 's/^/#   /' "$T/out"
grep -q "bad.lua:2:.*setting non-standard global variable 'count'" "$T/out"
ok $? "a global the policy sets (other than tick and stop) is warned of" || sed 's/^/#   /' "$T/out"
grep -q "bad.lua:5:.*accessing undefined variable 'io'" "$T/out"
ok $? "io, which the sandbox takes away, is warned of" || sed 's/^/#   /' "$T/out"
