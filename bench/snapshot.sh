#!/bin/sh
# Snapshot cost for 8 domains x 500 tasks (bench/snapshot.c).
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
make -s "$B/bench/snapshot" || exit 1
"$B/bench/snapshot" bench/host8x500.lua "$B/xds-sim" 200
