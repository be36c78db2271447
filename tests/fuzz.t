#!/bin/sh
# Each libFuzzer target under tests/fuzz runs for a while under ASan and
# UBSan (coverage-guided, beyond the seeded loop the unit run does).
# XDS_FUZZ_SECONDS sets the time per target (default 15).
cd "$(dirname "$0")/.."
secs=${XDS_FUZZ_SECONDS:-15}
out=${XDS_BUILD:-build}/fuzz
mkdir -p "$out"
n=0
for src in tests/fuzz/fuzz_*.c; do
	n=$((n + 1))
	name=$(basename "$src" .c)
	if ! command -v clang >/dev/null; then
		echo "ok $n # SKIP clang not installed"
		continue
	fi
	if ! clang -std=c11 -D_GNU_SOURCE -I. -Iruntime -Isim -I/usr/include/libdwarf \
		$(pkg-config --cflags lua5.4 jansson libbpf) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o "$out/$name" "$src" runtime/*/*.c $(ls sim/*.c | grep -v main.c) $(pkg-config --libs lua5.4 jansson libbpf liblzma zlib libzstd liblz4) -ldwarf -lelf -lz -lm \
		>"$out/$name.build.log" 2>&1; then
		echo "not ok $n - $name builds with libFuzzer"
		sed 's/^/# /' "$out/$name.build.log" | head -20
		continue
	fi
	mkdir -p "$out/$name.corpus"
	if "$out/$name" -max_total_time="$secs" -max_len=65600 -artifact_prefix="$out/$name-" "$out/$name.corpus" \
		>"$out/$name.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -1)
		echo "ok $n - $name: ${secs}s of libFuzzer under ASan+UBSan, no crash ($runs)"
	else
		echo "not ok $n - $name crashed under libFuzzer"
		tail -30 "$out/$name.log" | sed 's/^/# /'
	fi
done
echo "1..$n"
