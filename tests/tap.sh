# tap.sh - what every shell test starts with; source it after `set -u`:
#   . "$(dirname "$0")/tap.sh" NAME [sim]
# It moves to the repository's root, names the build (B, X = xds-lua),
# makes a private temporary folder T removed at exit, and gives ok() and
# show() for TAP (need, own_sim and sim_spec below).  With "sim", the
# test is skipped unless xds-sim is built too; without, unless xds-lua is.
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
X="$B/xds-lua"
T=$(mktemp -d "/tmp/xds-$1-XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
if [ ! -x "$X" ] || { [ "${2:-}" = sim ] && [ ! -x "$B/xds-sim" ]; }; then
	echo "1..0 # SKIP $X${2:+ or $B/xds-sim} is not built"
	exit 0
fi
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
show() { sed 's/^/#   /' "$@" | head -20; }
# need CMD: skip the whole test unless CMD is installed
need() { command -v "$1" >/dev/null || { echo "1..0 # SKIP $1 is not installed"; exit 0; }; }
# own_sim: xds-sim on the paper's scenario in real time, on its own in
# $D (= $T/sim), stopped at exit; sim_spec NAME: the --qemu spec of its
# domain NAME (profile from the simulator's DWARF)
own_sim() {
	D="$T/sim"
	mkdir "$D"
	"$B/xds-sim" sim/scenarios/paper.lua --dir "$D" --realtime >"$T/sim.out" 2>"$T/sim.err" &
	sim=$!
	trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null; rm -rf "$T"' EXIT
	for _ in $(seq 100); do grep -q ready "$T/sim.out" && break; sleep 0.1; done
}
sim_spec() { echo "$1:ram=$D/$1.ram,qmp=$D/$1.qmp,vmlinux=$B/xds-sim,sysmap=$D/$1.System.map"; }
