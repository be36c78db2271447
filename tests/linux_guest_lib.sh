# linux_guest_lib.sh - what the real-guest tests share; source it after
# setting T (a private folder) and B (the build):
#   ok STATUS DESC, diag TEXT, skip_all REASON         TAP
#   linux_guest_ready                                  skip unless qemu, xds-lua,
#                                                      the kernel files and the
#                                                      initramfs are at hand
#   drv COMMAND [TIMEOUT]                              one command to the driver
#                                                      (tests/linux_guest_driver.lua)
#                                                      started with drv_pid set and
#                                                      $T/drv.{cmd,out,log}
#   field TEXT KEY                                     KEY=VALUE of a driver answer
G=scripts/linux-guest
n=0
drv_pid=

ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; return "$1"; }
# diag: a figure or a finding; on stderr, so that prove shows it in any run
diag() { echo "# $*" >&2; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

linux_guest_ready() {
	command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed"
	[ -x "$B/xds-lua" ] || skip_all "$B/xds-lua is not built"
	scripts/kernel-debug --image >/dev/null 2>"$T/kd.err" ||
		skip_all "no kernel files: $(tail -1 "$T/kd.err")"
	$G prepare 2>"$T/prep.err" || skip_all "cannot prepare the guest: $(tail -1 "$T/prep.err")"
}

# Each command is the next line of drv.cmd (drv runs in command
# substitutions, so no counter in the shell survives it); its answer is
# the line of drv.out with the same number: "K ok|fail TEXT".
drv() {
	local cmd=$1 timeout=${2:-60} i line k
	k=$(( $(wc -l <"$T/drv.cmd") + 1 ))
	echo "$k $cmd" >>"$T/drv.cmd"
	for ((i = 0; i < timeout * 10; i++)); do
		line=$(grep "^$k " "$T/drv.out") && break
		kill -0 "$drv_pid" 2>/dev/null || { echo "xds-lua exited: $(tail -2 "$T/drv.log")"; return 1; }
		sleep 0.1
	done
	[ -n "$line" ] || { echo "no answer in ${timeout}s"; return 1; }
	echo "${line#* * }"
	[ "$(echo "$line" | cut -d' ' -f2)" = ok ]
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# now; since T0: seconds since T0 (from now), for the timings printed
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
