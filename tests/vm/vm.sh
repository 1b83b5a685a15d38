#!/usr/bin/env bash
# VM bed: hostwd on a real kernel (Debian's linux-image-amd64) with an
# emulated i6300esb watchdog card and pvpanic, in QEMU (TCG, no KVM).
# Each boot runs one scenario from its busybox initramfs (guest-init.sh);
# the verdicts come from QMP events (WATCHDOG, GUEST_PANICKED, RESET,
# SHUTDOWN) and console lines, both timestamped on the host by
# qemu-watch.py. Figures are printed as "figure: ..." lines.
. "$(dirname "$0")/../lib.sh"
# A timeout or ^C still runs the cleanup (EXIT trap): VMs, container, mounts.
trap 'exit 143' TERM INT
VMDIR=$ROOT/build/vm
HERE=$ROOT/tests/vm

missing=""
for t in qemu-system-x86_64 cpio python3 dpkg-deb cc; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
KEXEC=$(PATH=$PATH:/sbin:/usr/sbin command -v kexec || true)
BUSYBOX=$(command -v busybox || true)
if [ -n "$BUSYBOX" ] && ldd "$BUSYBOX" >/dev/null 2>&1; then BUSYBOX=""; fi # dynamic: not usable alone
[ -n "$BUSYBOX" ] || missing="$missing busybox-static"
for b in hostwd pmon-hook; do [ -x "$BIN/$b" ] || missing="$missing $BUILD/bin/$b"; done
if [ -z "$missing" ] && ldd "$BIN/hostwd" | grep -q libasan; then
	t_skip "vm bed: sanitizer build ($BUILD): the guest runs the plain build (make vm)"
	t_done; exit 0
fi
if [ -n "$missing" ]; then
	t_skip "vm bed: missing:$missing (bash scripts/install-deps.sh; make)"
	t_done; exit 0
fi

# --- the kernel: Debian's package, fetched once, cached under build/vm ---
fetch_kernel() {
	local dl=$VMDIR/dl meta dep
	mkdir -p "$dl"
	(cd "$dl" && apt-get download linux-image-amd64) >"$VMDIR/fetch.log" 2>&1 || return 1
	meta=$(ls -t "$dl"/linux-image-amd64_*.deb | head -1)
	dep=$(dpkg-deb -f "$meta" Depends | sed 's/[ ,(].*//')
	(cd "$dl" && apt-get download "$dep") >>"$VMDIR/fetch.log" 2>&1 || return 1
	rm -rf "$VMDIR/kernel.tmp" && mkdir -p "$VMDIR/kernel.tmp"
	dpkg-deb -x "$(ls -t "$dl"/"$dep"_*.deb | head -1)" "$VMDIR/kernel.tmp" || return 1
	rm -rf "$VMDIR/kernel" && mv "$VMDIR/kernel.tmp" "$VMDIR/kernel"
}
if ! compgen -G "$VMDIR/kernel/boot/vmlinuz-*" >/dev/null; then
	if ! command -v apt-get >/dev/null || ! fetch_kernel; then
		t_skip "vm bed: cannot fetch linux-image-amd64 with apt-get download (see $VMDIR/fetch.log)"
		t_done; exit 0
	fi
fi
VMLINUZ=$(ls "$VMDIR"/kernel/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
KMOD=$VMDIR/kernel/lib/modules/$KVER/kernel
echo "kernel: Debian $KVER ($(basename "$(ls "$VMDIR"/dl/linux-image-"$KVER"_*.deb 2>/dev/null | head -1)"))"

t_tmpdir
# --- initramfs: busybox, the binaries and their libraries, four modules ---
IR=$T_DIR/initramfs
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,etc,lib/modules,proc,sys,dev,tmp,run}
cp "$BUSYBOX" "$IR/bin/busybox"
cp "$BIN/hostwd" "$BIN/pmon-hook" "$IR/bin/"
cc -shared -fPIC -O2 -o "$IR/lib/kickgap.so" "$HERE/kickgap.c" -ldl
for m in drivers/watchdog/watchdog.ko drivers/watchdog/i6300esb.ko drivers/misc/pvpanic/pvpanic.ko \
	drivers/misc/pvpanic/pvpanic-pci.ko; do
	cp "$KMOD/$m" "$IR/lib/modules/"
done
for lib in $(ldd "$BIN/hostwd" "$BIN/pmon-hook" "$IR/lib/kickgap.so" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | sort -u); do
	mkdir -p "$IR$(dirname "$lib")"
	cp -L "$lib" "$IR$lib"
done
cp "$HERE/guest-init.sh" "$IR/init"
chmod 0755 "$IR/init"
# Extra hostwd keys for the product version at hand (see below).
: >"$IR/etc/vmtest.env"
# hostwd with a consecutive-action count file and a crash-kernel check
# (crashdump only when kexec_crash_loaded says 1): the count goes to the
# guest's /tmp, and the panic scenario points the check at a file saying 1,
# since this guest has no crash kernel (else crashdump falls back to reboot).
if "$BIN/hostwd" --describe-config | grep -q "^action	kexec_crash_loaded	"; then
	printf '%s\n' "EXTRA_ACTION='count_file = /tmp/hwd-count'" "KEXEC_KEY=1" >>"$IR/etc/vmtest.env"
fi
(cd "$IR" && find . | cpio -o -H newc --quiet) >"$T_DIR/initramfs.cpio"
echo "initramfs: $(du -k "$T_DIR/initramfs.cpio" | cut -f1) KiB"

# --- the crash boots' initramfs: the one above followed by a second cpio
# archive (the kernel unpacks both) with kexec and its libraries, the
# kernel itself and the crash kernel's own initramfs (crash-init.sh) ---
crash_initramfs() {
	local cr=$T_DIR/crashfs ex=$T_DIR/crashextra lib
	mkdir -p "$cr"/{bin,sbin,usr/bin,usr/sbin,proc,dev} "$ex"/{boot,sbin}
	cp "$BUSYBOX" "$cr/bin/busybox"
	cp "$HERE/crash-init.sh" "$cr/init"
	chmod 0755 "$cr/init"
	(cd "$cr" && find . | cpio -o -H newc --quiet) >"$ex/boot/crash.cpio" || return 1
	cp "$VMLINUZ" "$ex/boot/vmlinuz"
	cp "$KEXEC" "$ex/sbin/kexec"
	for lib in $(ldd "$KEXEC" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | sort -u); do
		[ -e "$IR$lib" ] && continue
		mkdir -p "$ex$(dirname "$lib")"
		cp -L "$lib" "$ex$lib"
	done
	(cd "$ex" && find . | cpio -o -H newc --quiet) | cat "$T_DIR/initramfs.cpio" - >"$T_DIR/initramfs-crash.cpio"
}

# boot NAME LIMIT_S: boot the guest with hwtest=NAME; returns when QEMU
# exits (the scenarios end in a reset, a panic or a poweroff) or after
# LIMIT_S. The log is $T_DIR/NAME.log.
# BOOT_SCEN (the guest's scenario, default NAME), BOOT_APPEND (more kernel
# command line), BOOT_MEM and BOOT_INITRD change one boot.
boot() {
	local name=$1 limit=$2 log=$T_DIR/$1.log qpid wpid t0
	t0=$(now_ms)
	qemu-system-x86_64 -S -nodefaults -display none -machine pc,accel=tcg -m "${BOOT_MEM:-320M}" -smp 2 \
		-kernel "$VMLINUZ" -initrd "${BOOT_INITRD:-$T_DIR/initramfs.cpio}" \
		-append "console=ttyS0 quiet panic=0 hwtest=${BOOT_SCEN:-$name}${BOOT_APPEND:+ $BOOT_APPEND}" \
		-device i6300esb -device pvpanic-pci \
		-action watchdog=reset,panic=exit-failure,reboot=shutdown \
		-chardev socket,id=ser0,path="$T_DIR/$name.ser",server=on,wait=off -serial chardev:ser0 \
		-qmp unix:"$T_DIR/$name.qmp",server=on,wait=off -net none \
		>"$T_DIR/$name.qemu.log" 2>&1 &
	qpid=$!
	T_PIDS+=("$qpid")
	python3 "$HERE/qemu-watch.py" "$T_DIR/$name.qmp" "$T_DIR/$name.ser" "$log" 20 &
	wpid=$!
	T_PIDS+=("$wpid")
	wait_for "$limit" sh -c "! kill -0 $qpid 2>/dev/null"
	kill -0 "$qpid" 2>/dev/null && { echo "  ($name: still running after ${limit}s, stopped)"; kill "$qpid"; }
	wait "$qpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	echo "--- $name: $(( ($(now_ms) - t0) / 1000 )) s wall; console and events:"
	sed 's/^/  /' "$log"
}

# ts KIND PATTERN [N]: host time of the Nth (default first) matching line.
ts() { grep -E "^[0-9.]+ $1 $2" "$LOG" | sed -n "${3:-1}p" | cut -d' ' -f1; }
tsl() { grep -E "^[0-9.]+ $1 $2" "$LOG" | tail -n 1 | cut -d' ' -f1; }
has() { grep -qE "^[0-9.]+ $1 $2" "$LOG"; }
line() { grep -E "^[0-9.]+ $1 $2" "$LOG" | head -n 1 | cut -d' ' -f3-; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f", b - a }'; }
# within A B MAX: B - A <= MAX (both present).
within() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a != "" && b != "" && b - a <= m && b >= a) }'; }

# VM_SCENARIOS selects boots (default: those of make vm; make vm-crash
# runs the crash-kernel boots, crashdump and crashcut).
want() { [[ " ${VM_SCENARIOS:-card locked panic reboot shutdown} " == *" $1 "* ]]; }

# ------------------------------------------------------------------ card
if want card; then
BOOT_APPEND="hwlock=${VM_LOCK_MEMORY:-1}" boot card 150
LOG=$T_DIR/card.log
t_check "card: guest booted Debian $KVER with the i6300esb card" has console "VMTEST boot kernel=$KVER .*watchdog=i6300ESB"
for dev in /dev/nope /tmp/regular /tmp; do
	l=$(line console "VMTEST refuse device=$dev ")
	if grep -q 'rc=1 ' <<<"$l" && grep -qF -- "$dev" <<<"${l#*log:}"; then
		t_ok "card: device = $dev: hostwd refuses to start and names the path"
	else
		t_fail "card: device = $dev: hostwd refuses to start and names the path (${l:-no line})"
	fi
done
started=$(line console "VMTEST hostwd-started")
drv=$(line console "VMTEST driver-timeout" | awk '{print $3}')
t_match "card: start line shows the kernel driver and the timeout read back (driver says ${drv:-?}s)" \
	"\(kernel, timeout ${drv:-X}s" "$started"
t_match "card: pmon-hook status shows the timeout" "timeout(_s)?[= ]+${drv:-X}( |$)" "$(line console 'VMTEST status')"
idle=$(line console "VMTEST idle" | sed -n 's/.*max_gap_ms=\([0-9]*\).*/\1/p')
stress=$(line console "VMTEST stress " | sed -n 's/.*max_gap_ms=\([0-9]*\).*/\1/p')
ikicks=$(line console "VMTEST idle" | sed -n 's/.*kicks=\([0-9]*\).*/\1/p')
skicks=$(line console "VMTEST stress " | sed -n 's/.*kicks=\([0-9]*\).*/\1/p')
echo "figure: kick gap (kick_interval 1 s) idle max ${idle:-?} ms over ${ikicks:-?} kicks, under stress max ${stress:-?} ms over ${skicks:-?} kicks"
t_check "card: idle, every kick within its 1 s interval (+250 ms timer slack): max ${idle:-?} ms" \
	test "${idle:-99999}" -le 1250 -a "${ikicks:-0}" -ge 6
t_check "card: under stress (nice -20: a hog per vCPU, a forker, 3 x 56 MB memory churn) every kick within 1.25 s: max ${stress:-?} ms" \
	test "${stress:-99999}" -le 1250 -a "${skicks:-0}" -ge 8
t_match "card: hostwd runs SCHED_RR with its memory locked" "policy=2,rtprio=[1-9].* hostwd_vmlck_kb=[1-9]" \
	"$(line console 'VMTEST stress-on')"
l=$(line console 'VMTEST stress-faults')
f0=$(sed -n 's/.*before=\([0-9]*\).*/\1/p' <<<"$l") f1=$(sed -n 's/.*after=\([0-9]*\).*/\1/p' <<<"$l")
echo "figure: hostwd page faults over the 10 s stress window: $(( ${f1:-0} - ${f0:-0} )) (lock_memory; ${f0:-?} at the window's start)"
t_check "card: a kick never faults: hostwd took no page fault (minor or major) in the stress window" \
	test -n "$f0" -a "${f1:-x}" = "$f0"
t_match "card: under stress hostwd stayed healthy (status)" "state[= ]ok" "$(line console 'VMTEST stress-status')"
a=$(ts console "VMTEST stress-on") b=$(ts console "VMTEST clean-stop ")
t_check "card: the card never fired while hostwd kicked under stress" \
	sh -c "[ -n '$a' ] && [ -n '$b' ] && ! awk -v a='$a' -v b='$b' '\$2 == \"event\" && \$3 == \"WATCHDOG\" && \$1 >= a && \$1 <= b' '$LOG' | grep -q ."
a=$(ts console "VMTEST clean-stop ") b=$(ts console "VMTEST clean-stop-window-over")
t_match "card: SIGTERM: hostwd stops cleanly" "rc=0 .*stopped" "$(line console 'VMTEST clean-stop ')"
t_check "card: after the magic close the card never fired ($(secs "$a" "$b") s watched, timeout 7 s)" \
	sh -c "[ -n '$b' ] && ! awk -v a='$a' -v b='$b' '\$2 == \"event\" && \$3 == \"WATCHDOG\" && \$1 >= a && \$1 <= b' '$LOG' | grep -q ."
k=$(ts console "VMTEST killed") w=$(ts event "WATCHDOG")
echo "figure: SIGKILL -> card reset $(secs "$k" "$w") s (timeout 4 s)"
t_check "card: SIGKILL (no magic close): the card fires within timeout + 1 s ($(secs "$k" "$w") s)" within "$k" "$w" 5
t_match "card: the card's action was a reset" 'WATCHDOG \{"action": "reset"' "$(line event WATCHDOG)"

fi
# ---------------------------------------------------------------- locked
if want locked; then
boot locked 90
LOG=$T_DIR/locked.log
l=$(line console "VMTEST locked-window-over")
t_match "locked: no action for 3 x threshold periods after grace, suppression logged once" \
	"suppressed_lines=1 actions=0" "$l"
t_check "locked: no panic and no card reset while locked" \
	sh -c "[ -n '$(ts console "VMTEST freeze")' ] && ! awk -v b='$(ts console "VMTEST freeze")' '\$2 == \"event\" && \$1 <= b' '$LOG' | grep -qE 'WATCHDOG|GUEST_PANICKED|RESET'"
t_match "locked: status says suppressed" "state[= ]suppressed .*locked[= ](1|yes)" "$(line console 'VMTEST locked-status')"
f=$(ts console "VMTEST freeze") w=$(ts event "WATCHDOG")
echo "figure: SIGSTOP (hostwd frozen) -> card reset $(secs "$f" "$w") s (timeout 4 s)"
t_check "locked: hostwd frozen with SIGSTOP: the card resets the guest within timeout + 1 s ($(secs "$f" "$w") s)" \
	within "$f" "$w" 5
t_check "locked: ... and it was the card, not a panic" sh -c "[ -n '$w' ] && ! grep -q ' event GUEST_PANICKED' '$LOG'"

fi
# ----------------------------------------------------------------- panic
if want panic; then
boot panic 90
LOG=$T_DIR/panic.log
r=$(tsl console "VMTEST report-ok") p=$(ts event "GUEST_PANICKED")
echo "figure: last good report -> kernel panic $(secs "$r" "$p") s (period 1 s, threshold 3; bound (3 + 1.5) x 1 + 1 s)"
t_check "panic: reports stop: hostwd writes sysrq c and the kernel panics (GUEST_PANICKED) within (threshold + 1.5) x period + 1 s ($(secs "$r" "$p") s)" \
	within "$r" "$p" 5.5
t_check "panic: hostwd logged the quorum failure first" has console ".*quorum failure: crashdump"
t_check "panic: console shows the sysrq crash" has console ".*Kernel panic - not syncing: sysrq triggered crash"
t_check "panic: the card did not have to fire" sh -c "[ -n '$p' ] && ! grep -q ' event WATCHDOG' '$LOG'"

fi
# ---------------------------------------------------------------- reboot
if want reboot; then
boot reboot 90
LOG=$T_DIR/reboot.log
s=$(ts console "VMTEST hostwd-started") r=$(ts event "(RESET|SHUTDOWN)")
echo "figure: hostwd start (no reports) -> sysrq b reset $(secs "$s" "$r") s (grace 2 + 3 x 1 s)"
t_check "reboot: no reports, on_quorum_failure = reboot: a real reset within grace + threshold x period + 1 s ($(secs "$s" "$r") s)" \
	within "$s" "$r" 6
t_check "reboot: the reset was the guest's (sysrq b), not the card and not a panic" \
	sh -c "grep -q 'guest-reset' '$LOG' && ! grep -qE ' event (WATCHDOG|GUEST_PANICKED)' '$LOG'"
fi
# --------------------------------------------------------------- shutdown
# A shutdown that hangs after hostwd stopped ([watchdog] on_stop = keep,
# which auto picks while systemd says the system is stopping; no systemd in
# this guest, see guest-init.sh): the card resets the guest. VM_ON_STOP=disarm
# shows the cell fail.
if want shutdown; then
if ! "$BIN/hostwd" --describe-config | grep -q "^watchdog	on_stop	"; then
	t_skip "shutdown: this hostwd has no [watchdog] on_stop (hostwd --describe-config): it always disarms on SIGTERM"
else
BOOT_APPEND="hwonstop=${VM_ON_STOP:-keep}" boot shutdown 90
LOG=$T_DIR/shutdown.log
s=$(ts console "VMTEST hostwd-stopped") w=$(ts event "WATCHDOG")
t_match "shutdown: SIGTERM with on_stop = keep: hostwd stops and says it leaves the card armed" \
	"rc=0 .*watchdog left ARMED" "$(line console 'VMTEST hostwd-stopped')"
echo "figure: hung shutdown: hostwd stopped -> card reset $(secs "$s" "$w") s (timeout 4 s)"
t_check "shutdown: the shutdown hangs after hostwd stopped: the card resets the guest within timeout + 1 s ($(secs "$s" "$w") s)" \
	within "$s" "$w" 5
t_match "shutdown: ... the card's action was a reset" 'WATCHDOG \{"action": "reset"' "$(line event WATCHDOG)"
fi
fi
# ------------------------------------------- crash kernel (make vm-crash)
. "$HERE/crash-cells.sh"
t_done
