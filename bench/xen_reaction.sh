#!/bin/bash
# xen_reaction.sh - how fast a thawed task gets its CPU on Xen, with and
# without the wake-up xds-lua sends an idle vCPU after a thaw (the kick;
# XDS_XEN_NO_KICK=1 turns it off).  On the nested Xen host
# (scripts/xen-host, scripts/xen/scenario-reaction.sh) the paper's host
# runs under global_priority (gp_watch.lua, which logs what the policy saw
# each tick) for 30 s per round.  Prints, per round:
#   - reaction: for every thaw of web or bkup that left it queued, the
#     time from the tick that thawed it to the first tick that sees it
#     running (so one tick, 50 ms, at best), mean and worst, and how many
#     thaws ended (asleep or frozen again) before it ran at all;
#   - CPU time db, web and bkup gained (xds-lua's view) and the kicks sent;
# then the ratio of the mean reactions.  Measures, never asserts; skips
# (exit 0) when the nested host cannot run here.
set -u
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d /tmp/xds-xen-react-XXXXXX)
trap 'rm -rf "$T"' EXIT
say() { echo "xen_reaction: $*"; }

scripts/xen-host run scenario-reaction.sh --guests "u1:pv u2:pv" --period 1 --dir "$T/xen" \
	--timeout 500 >"$T/xen.out" 2>&1
rc=$?
if [ $rc = 77 ]; then
	say "SKIP: $(grep -o 'SKIP: .*' "$T/xen.out" | head -1)"
	exit 0
fi
tr -d '\r' < "$T/xen/serial.log" > "$T/log"
mkdir -p "${XDS_BUILD:-build}/bench" && cp "$T/log" "${XDS_BUILD:-build}/bench/xen_reaction.log" &&
	say "the nested host's log (traces, what the policy saw): ${XDS_BUILD:-build}/bench/xen_reaction.log"
[ $rc = 0 ] || { say "the nested host failed (status $rc)"; sed 's/^/xen_reaction:   /' "$T/xen.out"; exit 0; }

section() {
	awk -v t="$1" '$0 == "=== " t " BEGIN" { on = 1; next }
		on && index($0, "=== " t " END") == 1 { exit } on' "$T/log"
}

for round in kick nokick; do
	section "WATCH-$round" | awk -v r="$round" '
	$1 == "W" {
		t = $2; k = $3; f = $4; c = $5
		if (!(k in first)) first[k] = c
		last[k] = c
		if (prev[k] ~ /F/ && f !~ /F/ && f ~ /Q/)
			since[k] = lastf[k]             # thawed at that tick, now queued
		if (k in since) {
			if (f ~ /R/) { d = t - since[k]; n++; sum += d; if (d > worst) worst = d; delete since[k] }
			else if (f == "-" || f ~ /F/) { lost++; delete since[k] }
		}
		if (f ~ /F/) lastf[k] = t
		prev[k] = f
	}
	END {
		printf "xen_reaction: %s: %d thaws ran, mean %.0f ms, worst %.0f ms to the CPU; %d ended before running\n",
			r, n, n ? sum / n : 0, worst, lost
		printf "xen_reaction: %s: CPU gained in the round: db %d ms, web %d ms, bkup %d ms\n", r,
			last["u1/db"] - first["u1/db"], last["u2/web"] - first["u2/web"], last["u1/bkup"] - first["u1/bkup"]
		printf "%s %.3f\n", r, n ? sum / n : 0 > "/dev/stderr"
	}' 2>>"$T/means"
	say "$round: $(section "REPORT-$round")"
done
awk '{ m[$1] = $2 } END { if (m["kick"] > 0) printf "xen_reaction: mean reaction without / with kicks = %.1f\n", m["nokick"] / m["kick"];
	else if ("kick" in m) printf "xen_reaction: mean reaction with kicks: under one tick (0 ms); without: %.0f ms\n", m["nokick"] }' "$T/means"
