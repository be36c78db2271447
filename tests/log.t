#!/bin/bash
# log.t - the log of a run on paper.lua, as an administrator reads it:
#   - one line at start (each guest with its kernel and task count, the
#     policy and its tick) and one at stop (why, how many tasks thawed);
#   - -q keeps only warnings and errors (a policy error still shows), -v
#     adds every freeze and thaw;
#   - a tick that takes longer than its tick is a warning with figures,
#     once a minute of host time however many ticks overrun;
#   - --syslog sends the same lines through syslog(3), with daemon's
#     priorities, to the /dev/log socket (a private /dev in a private
#     mount namespace here, where a datagram socket of ours listens), and
#     nothing to stderr.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" log sim
SC=sim/scenarios/paper.lua
XL() { "$X" --sim "$SC" --journal "$T/journal" "$@"; }
GP=policies/global_priority.lua

XL --duration 2s "$GP" >"$T/out" 2>"$T/err" </dev/null
rc=$?
grep -Eq '^xds-lua: started: policy global_priority, tick 10 ms; 2 guest\(s\): U1 \(Linux version [^,]+, [0-9]+ tasks; cfs; profile xds-sim\), U2 \(Linux version [^,]+, [0-9]+ tasks; cfs; profile xds-sim\)$' "$T/err"
ok $? "start: the guests with kernel, task count, scheduler family and profile source, the policy and its tick" || show "$T/err"
[ $rc = 0 ] && grep -Eq '^xds-lua: stopped: duration reached after 2.000 s \(200 ticks\); [1-9][0-9]* task\(s\) thawed, 0 left frozen$' "$T/err"
ok $? "stop: why, and how many tasks were thawed" || show "$T/err"
# (a loaded machine may make a tick overrun: that warning is allowed)
[ "$(grep -vc 'tick overrun' "$T/err")" = 2 ]
ok $? "nothing else by default (every freeze is -v's)" || show "$T/err"
grep -q '^DOM .*CPU s' "$T/out"
ok $? "the end-of-run table is printed" || show "$T/out"

XL -v --duration 2s "$GP" >"$T/out" 2>"$T/err" </dev/null
grep -q '^xds-lua: froze U1/bkup\[320\]$' "$T/err" && grep -q '^xds-lua: thawed U1/bkup\[320\]$' "$T/err"
ok $? "-v: every freeze and thaw" || show "$T/err"

XL -q --duration 2s "$GP" >"$T/out" 2>"$T/err" </dev/null
[ $? = 0 ] && ! grep -v 'tick overrun' "$T/err" | grep -q .
ok $? "-q: nothing when all goes well (but overruns)" || show "$T/err"
printf 'local n = 0\nreturn { tick = function() n = n + 1; if n > 5 then error("policy bug") end end }\n' >"$T/bad.lua"
XL -q --duration 2s "$T/bad.lua" >"$T/out" 2>"$T/err" </dev/null
[ $? = 1 ] && grep -q '^xds-lua: policy bad stopped: .*policy bug' "$T/err" &&
	grep -q '^xds-lua: stopped: error after' "$T/err" && ! grep -q 'started' "$T/err"
ok $? "-q: a policy error and the stop still show" || show "$T/err"

# 30 ms of work in a 10 ms tick, for 0.2 s of virtual time: 20 overruns.
printf 'return { tick = function() local t = os.clock() + 0.03; while os.clock() < t do end end }\n' >"$T/slow.lua"
XL --duration 0.2s "$T/slow.lua" >"$T/out" 2>"$T/err" </dev/null
w=$(grep -c 'tick overrun' "$T/err")
[ "$w" = 1 ] && grep -Eq '^xds-lua: tick overrun: tick 1 took [0-9.]+ ms against its 10.000 ms; 1 tick\(s\) overran since the last warning, the worst [0-9.]+ ms$' "$T/err"
ok $? "an overrun: one warning with figures for 20 slow ticks (once a minute)" || show "$T/err"
took=$(sed -n 's/.*tick 1 took \([0-9.]*\) ms.*/\1/p' "$T/err")
awk -v t="$took" 'BEGIN { exit !(t >= 30) }'
ok $? "its figure is the tick's real length ($took ms >= 30 ms)"

# syslog: a private /dev with our datagram socket as /dev/log.
if ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	echo "ok $((n + 1)) # SKIP no mount namespace (unshare -m) to give syslog a /dev/log"
	echo "ok $((n + 2)) # SKIP no mount namespace"
	n=$((n + 2))
else
	mkdir "$T/dev"
	for d in null zero urandom random; do cp -a /dev/$d "$T/dev/"; done
	python3 - "$T/dev/log" "$T/syslog" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "wb", buffering=0) as f:
    f.write(b"ready\n")
    try:
        while True:
            f.write(s.recv(65536).rstrip(b"\0") + b"\n")
    except socket.timeout:
        pass
PY
	lp=$!
	for _ in $(seq 50); do [ -s "$T/syslog" ] && break; sleep 0.1; done
	unshare -m sh -c 'mount --bind "$1/dev" /dev && shift && exec "$@"' sh "$T" \
		"$X" --syslog --sim "$SC" --journal "$T/journal" --duration 1s "$T/bad.lua" >"$T/out" 2>"$T/err" </dev/null
	sleep 0.5
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	# daemon (3) * 8 + notice (5) = 29, warning (4) = 28, err (3) = 27
	grep -Eq '^<29>.*xds-lua\[[0-9]+\]: started: policy bad' "$T/syslog" &&
		grep -Eq '^<27>.*xds-lua\[[0-9]+\]: policy bad stopped: .*policy bug' "$T/syslog" &&
		grep -Eq '^<28>.*xds-lua\[[0-9]+\]: stopped: error after' "$T/syslog"
	ok $? "--syslog: the lines reach /dev/log with daemon.notice, .warning and .err" || show "$T/syslog"
	! grep -q 'started\|stopped' "$T/err"
	ok $? "--syslog: none of them on stderr" || show "$T/err"
fi
echo "1..$n"
