# lib.sh - helpers for the scenarios run inside the nested dom0
# (sourced by scenario-*.sh; scripts/xen-host copies it to /xen-lib.sh).
#
#   guest_create NAME TYPE [WORK]   xl create a domU (TYPE pv or pvh) with
#                                   the cached kernel and domU initramfs
#                                   (WORK: domU-init's xds.work; $CPUS pins
#                                   its vCPUs to those physical CPUs)
#   guest_wait NAME SEQ [TIMEOUT]   wait until its listing SEQ is complete
#   guest_seq NAME                  number of its last complete listing
#   guest_listing NAME SEQ          listing SEQ as "GPS pid tgid state ticks comm"
#   guest_full_seq NAME             number of its last complete full listing
#   section TITLE CMD...            run CMD between "=== TITLE BEGIN/END"
#   ms                              dom0's monotonic clock in milliseconds
#   seqs NAME...                    "NAME=SEQ ..." of the guests' last listings
#   wait_line FILE REGEX [TIMEOUT]  wait until FILE has a line matching REGEX
#   guest_track NAME COMM...        every listing's row of these processes:
#                                   "TRK NAME SEQ UPTIME COMM TICKS STATE"
#   phase_ps NAME...                xds-lua's ps() and the xen_ps driver,
#                                   between two listings of each guest
#   phase_freeze HOLD DOM/COMM...   freeze.lua holds them HOLD s, then thaws
# xds-lua runs as $XDS (--xen, the image's profile directory).
LOGDIR=/var/log/xen/console

ms() {
	local up f
	read -r up _ < /proc/uptime
	f=${up#*.}
	echo $(( ${up%.*} * 1000 + 10 * ${f#0} ))    # "08" is no octal number
}

guest_create() {
	local pin=""
	[ -n "${CPUS:-}" ] && pin="cpus = \"$CPUS\""
	cat > /etc/xen/$1.cfg <<CFG
name = "$1"
type = "$2"
kernel = "/boot/vmlinux-domU"
ramdisk = "/boot/domU.cpio"
extra = "console=hvc0 quiet xds.work=${3:-busy1,sleeper1} xds.period=${PERIOD:-3}"
memory = ${MEMORY:-160}
vcpus = ${VCPUS:-1}
$pin
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
		sed -n "/^GPS-BEGIN $2 /,/^GPS-END $2\$/p" | grep '^GPS '
}

guest_full_seq() {
	tr -d '\r' < $LOGDIR/guest-$1.log 2>/dev/null | awk '
		$1 == "GPS-BEGIN" && $4 == "full" { f = $2 }
		$1 == "GPS-END" && $2 == f { done = f } END { print done + 0 }'
}

guest_track() {
	local g=$1
	shift
	tr -d '\r' < $LOGDIR/guest-$g.log | awk -v g=$g -v comms=" $* " '
		$1 == "GPS-BEGIN" { seq = $2; up = $3; next }
		$1 == "GPS" && $2 == $3 && index(comms, " " $6 " ") {
			print "TRK", g, seq, up, $6, $5, $4 }'
}

section() {
	local title=$1
	shift
	echo "=== $title BEGIN"
	"$@" 2>&1
	echo "=== $title END rc=$?"
}

seqs() {
	local g out=""
	for g in "$@"; do out="$out $g=$(guest_seq $g)"; done
	echo "${out# }"
}

wait_line() {
	local t=0 limit=$(( ${3:-60} * 5 ))
	until grep -Eq "$2" "$1" 2>/dev/null; do
		[ $t -ge $limit ] && return 1
		sleep 0.2
		t=$((t + 1))
	done
}

XDS="xds-lua --xen --profile-dir /etc/xds/profiles"

phase_ps() {
	local before="" b name seq after t
	for b in "$@"; do before="$before $b=$(guest_full_seq $b)"; done
	section XPS xen_ps --profile-dir /etc/xds/profiles --count 3
	section XDSLUA $XDS --journal /tmp/journal.ps -e 'ps()'
	# a full listing that begins after xds has read: two after the last one
	for b in $before; do echo "$b=$(guest_seq ${b%%=*})"; done > /tmp/ps.seqs
	for b in $(cat /tmp/ps.seqs); do
		name=${b%%=*}
		b=${b#*=}
		seq=${b%%=*}
		t=0
		while [ "$(guest_full_seq $name)" -lt $(( ${b#*=} + 2 )) ] && [ $t -lt 300 ]; do
			sleep 0.2
			t=$((t + 1))
		done
		after=$(guest_full_seq $name)
		section "GUEST $name before" guest_listing $name $seq
		section "GUEST $name after" guest_listing $name $after
	done
}

phase_freeze() {
	local hold=$1 doms pid rc
	shift
	doms=$(for s in "$@"; do echo "${s%%/*}"; done | sort -u)
	$XDS --unsafe --tick 50 --journal /tmp/journal.freeze /freeze.lua "$hold" "$@" \
		> /tmp/freeze.out 2>&1 &
	pid=$!
	echo "FRZ start $(seqs $doms)"
	wait_line /tmp/freeze.out '^(HELD|FAIL)' 120 && echo "FRZ held $(seqs $doms)"
	wait_line /tmp/freeze.out '^(THAWING|FAIL)' $((hold + 60)) && echo "FRZ thawing $(seqs $doms)"
	wait_line /tmp/freeze.out '^(THAWED|FAIL)' 60 && echo "FRZ thawed $(seqs $doms)"
	wait $pid
	rc=$?
	echo "FRZ end rc=$rc $(seqs $doms)"
	section FREEZE cat /tmp/freeze.out
}
