#!/bin/sh
# Tick cost by phase, pause per changed domain, reaction time (bench/tick.c).
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
make -s "$B/bench/tick" || exit 1
"$B/bench/tick" "$B/xds-sim" 300
