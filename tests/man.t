#!/bin/bash
# man.t - the man pages are real man pages: groff (-ww, every warning) and
# mandoc's linter (warnings and worse) find nothing to say about them, and
# man(1) renders each with its sections.
set -u
cd "$(dirname "$0")/.." || exit 1
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
T=$(mktemp -d /tmp/xds-man-XXXXXX)
trap 'rm -rf "$T"' EXIT
pages=(man/xds-lua.1 man/xds-sim.1 man/xds-lua-policy.5)
command -v groff >/dev/null && command -v mandoc >/dev/null && command -v man >/dev/null ||
	{ echo "1..0 # SKIP groff, mandoc or man is not installed (scripts/install-deps)"; exit 0; }
echo "1..$(( ${#pages[@]} * 3 ))"
for p in "${pages[@]}"; do
	groff -ww -z -man "$p" >"$T/out" 2>&1 && [ ! -s "$T/out" ]
	ok $? "$p: groff -ww -z -man warns of nothing" || sed 's/^/#   /' "$T/out"
	mandoc -T lint -W warning "$p" >"$T/out" 2>&1
	ok $? "$p: mandoc -T lint -W warning finds nothing" || sed 's/^/#   /' "$T/out"
	MANWIDTH=80 man -l "$p" 2>"$T/err" >"$T/page"
	grep -q '^NAME' "$T/page" && grep -q '^SYNOPSIS' "$T/page" && grep -q '^SEE ALSO' "$T/page" &&
		[ ! -s "$T/err" ]
	ok $? "$p: man -l renders NAME, SYNOPSIS and SEE ALSO, with nothing on stderr" ||
		sed 's/^/#   /' "$T/err"
done
