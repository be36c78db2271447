# tap.sh - what every shell test starts with; source it after `set -u`:
#   . "$(dirname "$0")/tap.sh" NAME [sim]
# It moves to the repository's root, names the build (B, X = xds-lua),
# makes a private temporary folder T removed at exit, and gives ok() and
# show() for TAP.  With "sim", the test is skipped unless xds-sim is built
# too; without, unless xds-lua is.
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
