#!/bin/sh
# sim_scenarios.t - xds-sim refuses a scenario with a mistake, with exit
# status 1 and "FILE:LINE: reason" naming the offending line; the three
# shipped scenarios load and run 1 s of virtual time with 0 violations.
B=${XDS_BUILD:-build}
SIM=$B/xds-sim
T=$(mktemp -d /tmp/xds-scenarios.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }

# refused NAME LINE REASON BODY-OF-LINE-3 [LINES-AFTER]
# Lines 1-2 are a valid host and domain "A"; the mistake is on line LINE.
refused() {
	name=$1 line=$2 reason=$3
	f=$T/$name.lua
	{
		echo 'host { pcpus = 1 }'
		echo 'domain { name = "A", vcpus = 1, ram = "64M" }'
		printf '%s\n' "$4"
		[ -n "$5" ] && printf '%s\n' "$5"
	} > "$f"
	"$SIM" "$f" --run 1s > "$T/out" 2> "$T/err"
	rc=$?
	msg=$(cat "$T/err")
	if [ $rc -eq 1 ] && grep -qF "$f:$line:" "$T/err" && grep -qF -- "$reason" "$T/err"; then
		ok "$name: refused at line $line: $reason"
	else
		not_ok "$name: refused at line $line: $reason"
		echo "#   exit status $rc, stderr: $msg"
	fi
}

if [ ! -x "$SIM" ]; then
	echo "1..0 # SKIP $SIM not built"
	exit 0
fi

refused syntax 3 "'}' expected near 'comm'" 'task { dom = "A" comm = "x" }'
refused behaviour 3 "unknown behaviour 'cpuu'" "task { dom = \"A\", comm = \"x\", run = 'cpuu' }"
refused no-domain 3 "no domain 'B'" 'task { dom = "B", comm = "x", run = cpu() }'
refused vcpus-0 3 "'vcpus' = 0 is out of range" 'domain { name = "C", vcpus = 0 }'
refused ram-1M 3 "'ram' must be a multiple of 2M" 'domain { name = "C", ram = "1M" }'
refused nice-40 3 "'nice' = 40 is out of range" 'task { dom = "A", comm = "x", nice = 40 }'
refused exit-first 3 "'exit' must come after 'start'" 'task { dom = "A", comm = "x", start = "2s", exit = "1s" }'
refused dup-pid 4 "pid 300 is already used in domain 'A'" 'task { dom = "A", comm = "x", pid = 300 }' 'task { dom = "A", comm = "y", pid = 300 }'
refused jitter 3 "'jitter' must be smaller than 'run'" 'task { dom = "A", comm = "x", run = periodic { run = "10ms", sleep = "50ms", jitter = "10ms" } }'
refused typo 3 "unknown field 'behavior'" 'task { dom = "A", comm = "x", behavior = cpu() }'
refused kernel-time 3 "'kernel_time' = 2" 'domain { name = "C", kernel_time = 2 }'

for s in sim/scenarios/*.lua; do
	out=$("$SIM" "$s" --run 1s 2>"$T/err")
	rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^invariant violations: 0$'; then
		ok "$(basename "$s") loads and runs 1 s with 0 violations"
	else
		not_ok "$(basename "$s") loads and runs 1 s with 0 violations"
		echo "#   exit status $rc: $(tail -n 3 "$T/err")"
	fi
done
echo "1..$n"
