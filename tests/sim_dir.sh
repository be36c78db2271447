# sim_dir.sh - a simulator of its own for tests that attach its domains
# with --qemu, as a QEMU guest is attached; source it after tap.sh:
#   sim_dir_start DIR [SEED]  xds-sim on the paper's scenario serving DIR
#                         (made here), in real time, with --seed SEED (1); its
#                         pid in $sim, killed and T removed at exit; returns
#                         once U2's socket is up; $sim_scenario names
#                         another scenario with the same domains
#   sim_spec NAME DIR     the --qemu spec of domain NAME of that simulator
export HOME="$T/home" XDG_STATE_HOME="$T/state" XDG_CACHE_HOME="$T/cache"
mkdir -p "$HOME"
sim=
trap 'if [ -n "$sim" ]; then kill -9 $sim 2>/dev/null; wait $sim 2>/dev/null; fi; rm -rf "$T"' EXIT
sim_dir_start() {
	mkdir -p "$1"
	"$B/xds-sim" "${sim_scenario:-sim/scenarios/paper.lua}" --dir "$1" --realtime --seed "${2:-1}" >"$1.out" 2>&1 &
	sim=$!
	for _ in $(seq 100); do [ -S "$1/U2.qmp" ] && break; sleep 0.1; done
}
sim_spec() { echo "$1:ram=$2/$1.ram,qmp=$2/$1.qmp,vmlinux=$B/xds-sim,sysmap=$2/$1.System.map"; }
