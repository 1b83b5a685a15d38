#!/bin/busybox sh
# /init of the VM bed's initramfs (busybox sh). Loads the watchdog card's
# driver and pvpanic, then runs the scenario named by hwtest= on the kernel
# command line. Everything the host judges is printed on the console as
# "VMTEST <what> ..." lines; QEMU's QMP events say what the card and the
# kernel did.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /run/hostwd
# 0755, not 1777: the lock file lives here, and hostwd refuses a lock
# directory others can write to (issue 20).
mount -t tmpfs -o mode=0755 tmp /tmp
export HWM_LOG_TARGET=stderr
EXTRA_WATCHDOG= EXTRA_ACTION= KEXEC_KEY=
. /etc/vmtest.env

say() { echo "VMTEST $*" >/dev/console; }
# arg NAME: the value of NAME= on the kernel command line.
arg() { sed -n "s/.* $1=\([0-9a-z_-]*\).*/\1/p" /proc/cmdline; }

for m in watchdog i6300esb pvpanic pvpanic-pci; do
	insmod /lib/modules/$m.ko || say "insmod $m failed"
done
# Kernel messages from here on (sysrq, panic, card) reach the console.
echo 7 >/proc/sys/kernel/printk
SCEN=$(sed -n 's/.* hwtest=\([a-z-]*\).*/\1/p' /proc/cmdline)
say boot kernel=$(uname -r) scenario=$SCEN cpus=$(grep -c ^processor /proc/cpuinfo) \
	watchdog=$(cat /sys/class/watchdog/watchdog0/identity 2>/dev/null | tr ' ' _)

SOCK=/run/hostwd/health.sock
# conf DEVICE TIMEOUT PERIOD THRESHOLD GRACE ACTION
conf() {
	cat >/etc/hostwd.conf <<EOF
[watchdog]
device = $1
timeout = $2
kick_interval = 1
$EXTRA_WATCHDOG
[health]
socket = $SOCK
report_period = $3
failure_threshold = $4
start_grace = $5
[action]
on_quorum_failure = $6
sysrq_path = /proc/sysrq-trigger
console_path = /dev/kmsg
$EXTRA_ACTION
[lock]
file = /tmp/node_locked
EOF
}

# hostwd as its unit runs it (OOMScoreAdjust=-1000, LimitMEMLOCK=infinity);
# kicks timed by the preload shim.
HWD= TAILPID=
start_hostwd() {
	: >/tmp/hwd.log
	(echo -1000 >/proc/self/oom_score_adj
	 ulimit -l unlimited
	 exec env LD_PRELOAD=/lib/kickgap.so KICKGAP_FILE=/tmp/kicks hostwd -c /etc/hostwd.conf) >>/tmp/hwd.log 2>&1 &
	HWD=$!
	# Its log also goes to the console, as it comes.
	[ -n "$TAILPID" ] && kill $TAILPID
	tail -f /tmp/hwd.log >/dev/console 2>&1 &
	TAILPID=$!
	n=0
	while ! grep -q 'started:' /tmp/hwd.log; do
		n=$((n + 1)); [ $n -gt 100 ] && { say hostwd-not-started; return 1; }
		kill -0 $HWD 2>/dev/null || { say hostwd-exited; return 1; }
		sleep 0.1
	done
	say hostwd-started pid=$HWD $(grep -m1 'started:' /tmp/hwd.log | sed 's/.*started: /line: /')
}

status() { pmon-hook status --socket $SOCK 2>&1 | tr '\n' ' '; }

# max_gap FROM TO: largest kick gap (ms) in lines FROM+1..TO of /tmp/kicks.
max_gap() { awk -v a="$1" -v b="$2" 'NR > a + 1 && NR <= b && $2 > m { m = $2 } END { print m + 0 }' /tmp/kicks; }
kick_lines() { wc -l </tmp/kicks; }
# faults PID: minor + major page faults so far (/proc/PID/stat).
faults() { awk '{ print $10 + $12 }' /proc/$1/stat; }

scenario_card() {
	# A missing path, a regular file and a directory are not a watchdog.
	: >/tmp/regular
	for dev in /dev/nope /tmp/regular /tmp; do
		conf "$dev" 4 1 3 60 log
		timeout 3 hostwd -c /etc/hostwd.conf >/tmp/refuse.log 2>&1
		rc=$?
		say refuse device=$dev rc=$rc log: $(head -c 300 /tmp/refuse.log | tr '\n' ' ')
	done
	rm -f /dev/nope

	# Period 2 s (a report stays fresh for 3 s) while the reporter sends
	# every second: one late report under stress is no quorum failure.
	# hwlock= (vm.sh: VM_LOCK_MEMORY, default 1; 0 shows what the lock is for).
	w0=$EXTRA_WATCHDOG
	EXTRA_WATCHDOG="$w0
lock_memory = $(arg hwlock | grep . || echo 1)"
	conf /dev/watchdog 7 2 3 2 crashdump
	EXTRA_WATCHDOG=$w0
	: >/tmp/configured
	cat >/etc/pmon-hook.conf <<EOF
[hook]
socket = $SOCK
report_period = 1
config_gates = /tmp/configured
EOF
	start_hostwd || return
	say driver-timeout $(cat /sys/class/watchdog/watchdog0/timeout)
	pmon-hook run -c /etc/pmon-hook.conf >/tmp/pmh.log 2>&1 &
	PMH=$!
	# The reporter runs at the load's nice level: at nice 0 under nice -20
	# hogs on every vCPU it starved for over 3 s on a loaded host, and
	# hostwd rightly took its action (operations.md).
	renice -n -20 -p $PMH >/dev/null
	say status $(status)

	a=$(kick_lines)
	sleep 8
	b=$(kick_lines)
	say idle kicks=$((b - a)) max_gap_ms=$(max_gap "$a" "$b")

	# Stress, all at nice -20: a CPU hog on every vCPU, a forking loop,
	# memory pressure (three 56 MB buffers refilled in a loop, 320 MB guest).
	# This script competes at the hogs' nice level, or it would hardly get
	# to start and stop them (hostwd, SCHED_RR, is above all of them).
	renice -n -20 -p $$ >/dev/null
	STRESS=
	for c in $(seq $(grep -c ^processor /proc/cpuinfo)); do
		sh -c 'while :; do :; done' & STRESS="$STRESS $!"
		renice -n -20 -p $! >/dev/null
	done
	sh -c 'while :; do (:); done' & STRESS="$STRESS $!"
	for c in 1 2 3; do
		sh -c 'while :; do dd if=/dev/zero of=/dev/null bs=56M count=4 2>/dev/null; done' & STRESS="$STRESS $!"
	done
	say stress-on pids=$(echo $STRESS | tr ' ' ,) nice=$(for p in $STRESS; do awk '{printf "%s,", $19}' /proc/$p/stat; done) \
		hostwd_sched=$(awk '{print "nice=" $19 ",policy=" $41 ",rtprio=" $40}' /proc/$HWD/stat) \
		hostwd_vmlck_kb=$(awk '/^VmLck/ { print $2 }' /proc/$HWD/status) \
		$(grep -E 'MemAvailable' /proc/meminfo | tr -s ' ')
	a=$(kick_lines)
	f0=$(faults $HWD)
	sleep 10
	b=$(kick_lines)
	say stress-faults before=$f0 after=$(faults $HWD)
	say stress-mem $(grep -E 'MemAvailable' /proc/meminfo | tr -s ' ')
	say stress-status $(status)
	kill -9 $STRESS
	renice -n 0 -p $$ >/dev/null
	say stress kicks=$((b - a)) max_gap_ms=$(max_gap "$a" "$b")

	# Clean stop: magic close disarms the card; it must not fire.
	kill $PMH
	kill -TERM $HWD
	wait $HWD
	say clean-stop rc=$? $(tail -n 1 /tmp/hwd.log)
	sleep 9
	say clean-stop-window-over

	# SIGKILL: no magic close; the card fires.
	conf /dev/watchdog 4 1 3 60 crashdump
	start_hostwd || return
	kill -KILL $HWD
	say killed timeout=4
	sleep 30
	say still-alive-after-kill
}

scenario_locked() {
	: >/tmp/node_locked
	conf /dev/watchdog 4 1 3 1 crashdump
	start_hostwd || return
	# Grace, then 3 x threshold periods that would each be bad.
	sleep 11
	say locked-window-over suppressed_lines=$(grep -c 'quorum failure suppressed: node locked' /tmp/hwd.log) \
		actions=$(grep -c 'quorum failure:' /tmp/hwd.log)
	say locked-status $(status)
	kill -STOP $HWD
	say freeze timeout=4
	sleep 30
	say still-alive-after-freeze
}

scenario_panic() {
	if [ -n "$KEXEC_KEY" ]; then
		echo 1 >/tmp/kexec_crash_loaded
		EXTRA_ACTION="$EXTRA_ACTION
kexec_crash_loaded = /tmp/kexec_crash_loaded"
	fi
	conf /dev/watchdog 10 1 3 2 crashdump
	start_hostwd || return
	i=0
	while [ $i -lt 8 ]; do
		pmon-hook report --configured --quorum ok --socket $SOCK && say report-ok seq=$i
		sleep 0.5
		i=$((i + 1))
	done
	say reports-stopped
	sleep 30
	say still-alive-after-reports-stopped
}

scenario_reboot() {
	conf /dev/watchdog 10 1 3 2 reboot
	start_hostwd || return
	say no-reports grace=2 period=1 threshold=3
	sleep 30
	say still-alive-without-reports
}

# The crash kernel: this same Debian kernel with /boot/crash.cpio
# (crash-init.sh), loaded into the crashkernel= reservation by kexec -p.
load_crash() {
	kexec -p $(arg hwkexec) /boot/vmlinuz --initrd=/boot/crash.cpio \
		--append="console=ttyS0 quiet nr_cpus=1 irqpoll reset_devices panic=0 hwdump=$(arg hwdump)" \
		>/tmp/kexec.log 2>&1
	rc=$?
	say crash-loaded rc=$rc kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded) \
		kexec_crash_size_mb=$(($(cat /sys/kernel/kexec_crash_size) / 1048576)) $(head -c 300 /tmp/kexec.log | tr '\n' ' ')
	return $rc
}

# Cells (a) and (b): a real crash kernel; hostwd reads the real
# /sys/kernel/kexec_crash_loaded (no kexec_crash_loaded key: its default).
# hwto= is [watchdog] timeout, hwcdt= is [action] crashdump_timeout (none:
# the key is left out), hwdump= the crash kernel's dump time.
scenario_crash() {
	load_crash || return
	CDT=$(arg hwcdt)
	[ "$CDT" = none ] || EXTRA_ACTION="$EXTRA_ACTION
crashdump_timeout = $CDT"
	conf /dev/watchdog "$(arg hwto)" 1 3 2 crashdump
	say crash-config $(hostwd -c /etc/hostwd.conf --dump-config 2>&1 |
		grep -E '^(timeout|kexec_crash_loaded|crashdump_timeout|on_quorum_failure) ' | tr -d ' ' | tr '\n' ' ')
	start_hostwd || return
	i=0
	while [ $i -lt 6 ]; do
		pmon-hook report --configured --quorum ok --socket $SOCK && say report-ok seq=$i
		sleep 0.5
		i=$((i + 1))
	done
	say reports-stopped kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)
	sleep 120
	say still-alive-after-reports-stopped
}

# A shutdown that hangs after hostwd stopped. In this busybox guest there
# is no systemd to say SystemState=stopping, so [watchdog] on_stop = keep
# stands for what auto decides on a system going down (make system checks
# auto against a real systemd): SIGTERM as a shutdown sends it, then the
# rest of the shutdown hangs (a stuck unmount, say). The card must reset.
# hwonstop= (vm.sh: VM_ON_STOP, default keep; disarm shows the cell fail).
scenario_shutdown() {
	EXTRA_WATCHDOG="on_stop = $(arg hwonstop | grep . || echo keep)"
	conf /dev/watchdog 4 1 3 60 crashdump
	start_hostwd || return
	sleep 2
	kill -TERM $HWD
	wait $HWD
	say hostwd-stopped rc=$? timeout=4 $(tail -n 2 /tmp/hwd.log | tr '\n' ' ')
	say shutdown-hangs
	sleep 30
	say still-alive-after-hung-shutdown
}

case $SCEN in
card) scenario_card ;;
locked) scenario_locked ;;
panic) scenario_panic ;;
reboot) scenario_reboot ;;
crash) scenario_crash ;;
shutdown) scenario_shutdown ;;
*) say unknown scenario "$SCEN" ;;
esac
say done
poweroff -f
