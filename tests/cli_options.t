#!/bin/bash
# cli_options.t - xds-lua's command line without a host: lua's options
# (-e, -l, -i, -v, --, -, script arguments in `arg`, a script on stdin),
# ours (--help, --version, --sim, --seed, --qemu, --profile) and the
# errors: each one clear line naming what went wrong, exit status 1.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" cli

# run ARGS...: status in $rc, output in $T/out and $T/err
run() { "$X" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }

# expect_fail WHAT PATTERN ARGS...: exit 1, stderr names PATTERN, nothing started
expect_fail() {
	local what=$1 pat=$2
	shift 2
	run "$@"
	if [ "$rc" = 1 ] && grep -q -- "$pat" "$T/err"; then
		ok 0 "$what"
	else
		ok 1 "$what"
		echo "#   status $rc, stderr: $(head -c 300 "$T/err")"
	fi
}

# expect_out WHAT WANTED ARGS...: exit 0 and stdout equal to WANTED
expect_out() {
	local what=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$want" ]; then
		ok 0 "$what"
	else
		ok 1 "$what"
		echo "#   status $rc, stdout: $(head -c 300 "$T/out"), stderr: $(head -c 300 "$T/err")"
	fi
}

run --help
ok $(( rc != 0 )) "--help exits 0"
grep -q -- '--sim SCENARIO' "$T/out" && grep -q -- '--qemu NAME:ram=PATH' "$T/out"
ok $? "--help describes --sim and --qemu"
run --version
ok $(( rc != 0 )) "--version exits 0"
grep -q '^xds-lua [0-9].*Lua 5\.4' "$T/out"
ok $? "--version names xds-lua and Lua"

expect_fail "an unknown option" "unrecognized option '--bogus'" --bogus
expect_fail "-e without its statement" "^xds-lua: -e: missing argument" -e
expect_fail "--sim without its scenario" "^xds-lua: --sim: missing argument" --sim
expect_fail "--qemu without its spec" "^xds-lua: --qemu: missing argument" --qemu
expect_fail "a --qemu spec without ram=" "^xds-lua: --qemu: U1:qmp=/tmp/q: no ram=" --qemu U1:qmp=/tmp/q
expect_fail "a --qemu spec without a name" "^xds-lua: --qemu: ram=/x,qmp=/y: expected NAME:" --qemu ram=/x,qmp=/y
expect_fail "a nonexistent scenario" "^xds-lua: --sim: $T/none.lua: No such file" --sim "$T/none.lua"
expect_fail "--seed that is no number" "^xds-lua: --seed: 'abc'" --sim "$T/none.lua" --seed abc
expect_fail "--seed without --sim" "^xds-lua: --seed: only meaningful with --sim" --seed 3

printf 'local x = = 1\n' >"$T/syntax.lua"
expect_fail "a syntax error names the file and line" "^xds-lua: $T/syntax.lua:1: unexpected symbol" "$T/syntax.lua"
printf 'local function f()\n  error("boom")\nend\nf()\n' >"$T/runtime.lua"
expect_fail "a runtime error names the file and line" "^xds-lua: $T/runtime.lua:2: boom" "$T/runtime.lua"
grep -q 'stack traceback:' "$T/err" && grep -q "in local 'f'" "$T/err"
ok $? "a runtime error comes with its traceback"
expect_fail "an error in -e" "^xds-lua: (command line):1: oops" -e 'error("oops")'
expect_fail "a missing script" "cannot open $T/absent.lua" "$T/absent.lua"
expect_fail "a missing -l module" "module 'no_such_mod' not found" -l no_such_mod
run -e 'os.exit(false)'
ok $(( rc != 1 )) "os.exit(false) exits 1"

printf 'print(#arg, arg[0], arg[1], arg[2], arg[-1], ...)\n' >"$T/args.lua"
expect_out "script arguments in arg and ..." "$(printf '2\t%s\ta\tb\t%s\ta\tb' "$T/args.lua" "$X")" \
	"$T/args.lua" a b
expect_out "options before the script have negative indexes" \
	"$(printf '2\t%s\ta\tb\t%s\ta\tb' "$T/args.lua" "x=1")" -e x=1 "$T/args.lua" a b
expect_out "-e runs in order with -l" "abab" -l string -e 'io.write(string.rep("ab", 2))'
expect_out "-l g=mod sets the global g" "3" -l s=string -e 'print(s.len("abc"))'
expect_out "-- ends the options" "$(printf '1\t%s\t-e\tnil\t--\t-e' "$T/args.lua")" \
	-- "$T/args.lua" -e
expect_out "-e sees arg[0] as the program" "$X" -e 'print(arg[0])'

out=$(printf 'print("from stdin", #arg)\n' | "$X" 2>&1); rc=$?
[ "$rc" = 0 ] && [ "$out" = "$(printf 'from stdin\t0')" ]
ok $? "no script and stdin not a terminal: the script comes from stdin"
out=$(printf 'print(...)\n' | "$X" - p q 2>&1); rc=$?
[ "$rc" = 0 ] && [ "$out" = "$(printf 'p\tq')" ]
ok $? "- runs stdin with arguments"
out=$(printf 'error("from stdin")\n' | "$X" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q '^xds-lua: stdin:1: from stdin'
ok $? "an error in a script read from stdin"

out=$(printf '1+1\nlocal t = {\n1, 2}\nfor i = 1, 2 do\nio.write(i)\nend\nerror("bad")\n"still", 3\n' |
	"$X" -i 2>"$T/err"); rc=$?
[ "$rc" = 0 ] && echo "$out" | grep -qx 2 && echo "$out" | grep -q '^12' &&
	echo "$out" | grep -q "still	3" && ! echo "$out" | grep -q '^>'
ok $? "-i from a pipe: values printed, no prompts, incomplete statements continue, the loop goes on"
grep -q 'stdin:1: bad' "$T/err"
ok $? "-i: an error is printed on stderr"
printf 'print(x)\n' >"$T/x.lua"
out=$(printf 'x = 5\n' | "$X" -i "$T/x.lua" 2>&1)
echo "$out" | head -2 | grep -q '^xds-lua .*Lua' && echo "$out" | grep -q '^nil$'
ok $? "-i runs the script first and prints the version"
out=$(printf 'x = 5 print(x)\n' | "$X" -v 2>&1)
[ "$(echo "$out" | head -1 | cut -c1-7)" = "xds-lua" ] && ! echo "$out" | grep -qx 5
ok $? "-v alone prints the version and reads no stdin"

expect_out "without a host there are no domains" "0	table" -e 'print(#xds.domains(), type(xds.domains()))'
expect_out "without a host there are no tasks" "0" -e 'print(#xds.tasks())'
expect_fail "ps() without a host is an error (no guest attached)" "ps: no guest attached" -e 'print(ps())'
expect_out "require('xds') is the global xds" "true" -e 'print(require("xds") == xds)'
expect_fail "xds.runqueue of an unknown domain" "no domain named 'U1'" -e 'xds.runqueue("U1", 0)'
expect_out "xds.time() is the wall clock without --sim" "true" -e 'print(xds.time() > 1.6e9)'

echo "1..$n"
