#!/bin/bash
# version.t - what the programs say of themselves: xds-lua --version names
# the version, the commit it was built from (git describe, as the build
# wrote it) and the host kinds compiled in; xds-sim --version; `xds-lua
# profile --help` is usage on stdout and exit 0; help("ps") explains its
# columns and their units.
set -u
. "$(dirname "$0")/tap.sh" version sim
echo "1..5"

"$X" --version >"$T/v" 2>&1
c=$(sed -n 's/^#define XDS_COMMIT "\(.*\)"$/\1/p' "$B/gen/version.h")
grep -Eq "^xds-lua [0-9]+\.[0-9]+ \(Lua 5\.4[.0-9]*; commit [^;]+; hosts: [a-z ]*sim" "$T/v" &&
	grep -qF "commit $c;" "$T/v" && [ -n "$c" ]
ok $? "xds-lua --version: version, commit ($c) and host kinds" || show "$T/v"

# git describe: TAG-N-gHASH or HASH, maybe -dirty; a tarball's build: unknown
h=${c%-dirty}; h=${h##*-g}
[ "$c" = unknown ] || git cat-file -e "$h^{commit}" 2>/dev/null
ok $? "the commit is one of this repository's ($h) or unknown"

"$B/xds-sim" --version >"$T/s" 2>&1
[ $? = 0 ] && grep -Eq '^xds-sim [0-9]+\.[0-9]+ \(commit .+\)$' "$T/s"
ok $? "xds-sim --version" || show "$T/s"

"$X" profile --help >"$T/p" 2>"$T/perr"
[ $? = 0 ] && grep -q '^usage: xds-lua profile build' "$T/p" && [ ! -s "$T/perr" ]
ok $? "xds-lua profile --help: usage on stdout, exit 0" || show "$T/perr"

echo 'help("ps")' | "$X" --sim sim/scenarios/paper.lua -i >"$T/h" 2>&1
grep -q 'TIME .* in milliseconds' "$T/h" && grep -q 'QRF three flags: Q on a run queue' "$T/h"
ok $? "help(\"ps\") says TIME is milliseconds and what Q, R and F mean" || show "$T/h"
