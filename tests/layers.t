#!/bin/bash
# layers.t - the layers of DESIGN.md hold in the built tree: no call cycle
# between folders, none inside lua/, no call against a rule the layer
# table of scripts/layers enforces, no hypervisor named in the layers that
# must not know it.  First the checker itself is shown a small tree with
# each fault, so that a silent checker cannot pass.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" layers

echo "1..7"

# A tree with one fault of each kind: util and backend call each other
# (and util may call nothing), lua/ has a cycle of its own, repl/ names xen.
mkdir -p "$T/src/runtime/util" "$T/src/runtime/backend" "$T/src/lua" "$T/src/repl"
printf 'int be_open(void);\nint util_err(void) { return be_open(); }\n' >"$T/src/runtime/util/err.c"
printf 'int util_err(void);\nint be_open(void) { return util_err(); }\n' >"$T/src/runtime/backend/be.c"
printf 'int lua_b(void);\nint lua_a(void) { return lua_b(); }\n' >"$T/src/lua/a.c"
printf 'int lua_a(void);\nint lua_b(void) { return lua_a(); }\n' >"$T/src/lua/b.c"
printf '/* reads a xen guest */\nint lua_a(void);\nint repl_r(void) { return lua_a(); }\n' >"$T/src/repl/r.c"
built=0
for c in runtime/util/err.c runtime/backend/be.c lua/a.c lua/b.c repl/r.c; do
	mkdir -p "$T/build/obj/$(dirname "$c")"
	cc -c "$T/src/$c" -o "$T/build/obj/${c%.c}.o" || built=1
done
scripts/layers --build "$T/build" --src "$T/src" --strict-names >"$T/bad" 2>&1
rc=$?
[ "$built" = 0 ] && [ "$rc" = 1 ] &&
	grep -q '^error: cycle across folders runtime/backend/, runtime/util/: runtime/backend/be.c runtime/util/err.c$' "$T/bad" &&
	grep -q '^error: cycle inside lua/: lua/a.c lua/b.c$' "$T/bad" &&
	grep -q '^error: layer: runtime/util/err.c calls runtime/backend/be.c' "$T/bad" &&
	grep -q '^name: repl/r.c: xen (lines 1)$' "$T/bad"
ok $? "the checker finds each fault of a small tree (cycles, an enforced layer, a name) and fails"
[ "$rc" = 1 ] || show "$T/bad"

scripts/layers >"$T/out" 2>&1
rc=$?
[ "$rc" -le 1 ] && grep -q '^layers: [1-9][0-9]* files' "$T/out"
ok $? "scripts/layers reads the objects of $B"
[ "$rc" -le 1 ] || show "$T/out"

# report(PATTERN): the lines of the report that match, and the calls below them
report() { awk -v p="$1" '/^[a-z]+: / { on = $0 ~ p } on' "$T/out" | sed 's/^/#   /'; }

! grep -q '^error: cycle across folders' "$T/out"
ok $? "no call cycle crosses folders"
report '^error: cycle across'

! grep -q '^error: cycle inside lua/' "$T/out"
ok $? "no call cycle inside lua/"
report '^error: cycle inside lua/'

! grep -q '^info: cycle inside' "$T/out"
ok $? "no call cycle inside any folder either"
report '^info: cycle inside'

! grep -q '^error: layer:' "$T/out"
ok $? "no call against an enforced layer rule"
report '^error: layer:'

scripts/layers --strict-names >"$T/names" 2>&1
! grep -q '^name: ' "$T/names"
ok $? "runtime/sched, runtime/linux, lua/ and repl/ name no hypervisor nor the simulator"
grep '^name: ' "$T/names" | cut -c1-200 | sed 's/^/#   /'
