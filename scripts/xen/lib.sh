# lib.sh - helpers for the scenarios run inside the nested dom0
# (sourced by scenario-*.sh; scripts/xen-host copies it to /xen-lib.sh).
#
#   guest_create NAME TYPE [WORK]   xl create a domU (TYPE pv or pvh) with
#                                   the cached kernel and domU initramfs
#   guest_wait NAME SEQ [TIMEOUT]   wait until its listing SEQ is complete
#   guest_seq NAME                  number of its last complete listing
#   guest_listing NAME SEQ          listing SEQ as "GPS pid tgid state comm"
#   section TITLE CMD...            run CMD between "=== TITLE BEGIN/END"
#   ms                              dom0's monotonic clock in milliseconds
LOGDIR=/var/log/xen/console

ms() {
	read -r up _ < /proc/uptime
	echo $(( ${up%.*} * 1000 + 10 * ${up#*.} ))
}

guest_create() {
	cat > /etc/xen/$1.cfg <<CFG
name = "$1"
type = "$2"
kernel = "/boot/vmlinux-domU"
ramdisk = "/boot/domU.cpio"
extra = "console=hvc0 quiet xds.work=${3:-busy1,sleeper1} xds.period=${PERIOD:-3}"
memory = ${MEMORY:-160}
vcpus = ${VCPUS:-1}
on_crash = "preserve"
CFG
	xl create -q /etc/xen/$1.cfg
}

guest_seq() {
	grep -o '^GPS-END [0-9]*' $LOGDIR/guest-$1.log 2>/dev/null | tail -1 | cut -d' ' -f2
}

guest_wait() {
	local t=0 limit=$(( ${3:-120} * 5 )) s
	while :; do
		s=$(guest_seq $1)
		[ -n "$s" ] && [ "$s" -ge "$2" ] && return 0
		[ $t -ge $limit ] && return 1
		sleep 0.2
		t=$((t + 1))
	done
}

guest_listing() {
	tr -d '\r' < $LOGDIR/guest-$1.log |
		sed -n "/^GPS-BEGIN $2\$/,/^GPS-END $2\$/p" | grep '^GPS '
}

section() {
	local title=$1
	shift
	echo "=== $title BEGIN"
	"$@" 2>&1
	echo "=== $title END rc=$?"
}
