# Sourced by vm.sh: the crash-kernel boots (make vm-crash; issue 19). The
# guest boots with crashkernel=, loads this same Debian kernel with a small
# initramfs (crash-init.sh) by kexec -p, and hostwd, with reports stopped,
# writes `c`: the kernel kexecs into the crash kernel, whose init finds
# /proc/vmcore and then "dumps" for CRASH_DUMP s, longer than [watchdog]
# timeout (CRASH_TO s). Its initramfs loads no watchdog driver (nor does a
# kdump initramfs), so the i6300esb card keeps counting with the timeout
# hostwd left on it.
#   crashdump (a): crashdump_timeout = CRASH_CDT (> crash boot + dump): the
#     dump finishes and the card never fires.
#   crashcut  (b): crashdump_timeout = 0 (the device keeps [watchdog]
#     timeout): the card resets the guest mid-dump, timeout +- 1 s after `c`.
#   (c), from both boots: /sys/kernel/kexec_crash_loaded (hostwd's default,
#     no fake) says 1, and hostwd's action was crashdump, not the fallback.
# The crash kernel takes 12-35 s from `c` to its init under TCG on a loaded
# 2-core host (purgatory's checksums, decompressing the xz kernel, its
# boot): [watchdog] timeout is well above that, so that in (b) the card
# fires during the dump. VM_KEXEC_OPTS adds kexec options (--no-checks:
# no purgatory checksums).
CRASH_TO=${VM_CRASH_TIMEOUT:-45} CRASH_DUMP=${VM_CRASH_DUMP:-50} CRASH_CDT=${VM_CRASH_CDT:-150}
# crashkernel=64M cannot hold this kernel (kexec -p finds no 64 MB hole for
# its decompressed image); 96M works; 128M leaves room.
CRASH_MEM=${VM_CRASHKERNEL:-128M}
HAVE_CDT=""
"$BIN/hostwd" --describe-config | grep -q "^action	crashdump_timeout	" && HAVE_CDT=1

# crash_boot NAME CRASHDUMP_TIMEOUT|none LIMIT_S
crash_boot() {
	BOOT_SCEN=crash BOOT_MEM=512M BOOT_INITRD=$T_DIR/initramfs-crash.cpio \
		BOOT_APPEND="crashkernel=$CRASH_MEM hwto=$CRASH_TO hwcdt=$2 hwdump=$CRASH_DUMP${VM_KEXEC_OPTS:+ hwkexec=$VM_KEXEC_OPTS}" boot "$1" "$3"
}

# crash_common CELL: what both crash boots show (cell c and the crash kernel).
crash_common() {
	local c=$1
	t_match "$c: kexec -p loaded the crash kernel into crashkernel=$CRASH_MEM; the real /sys/kernel/kexec_crash_loaded says 1" \
		"rc=0 kexec_crash_loaded=1 " "$(line console 'VMTEST crash-loaded')"
	t_match "$c (c): hostwd reads the real sysfs file (its default, no fake path configured)" \
		"kexec_crash_loaded=/sys/kernel/kexec_crash_loaded( |$)" "$(line console 'VMTEST crash-config')"
	t_check "$c (c): the action was crashdump (hostwd's last words on the console), not the fallback" \
		sh -c "grep -qE ' console .*hostwd: quorum failure: crashdump' '$LOG' && ! grep -qE 'crashdump_fallback|quorum failure: reboot' '$LOG'"
	t_check "$c: the kernel took sysrq c" has console ".*sysrq: Trigger a crash"
	t_match "$c: the crash kernel booted: /proc/vmcore present (an ELF core of the crashed kernel)" \
		"vmcore=present size_mb=[1-9][0-9]* magic=ELF" "$(line console 'VMTEST crash-kernel')"
	t_check "$c: no kernel panic reached QEMU (the panic went to the crash kernel)" \
		sh -c "! grep -q ' event GUEST_PANICKED' '$LOG'"
}

if [[ " ${VM_SCENARIOS:-} " == *" crash"* ]] && [ -z "$KEXEC" ]; then
	t_skip "vm crash kernel: kexec not found (kexec-tools; bash scripts/install-deps.sh)"
elif [[ " ${VM_SCENARIOS:-} " == *" crash"* ]] && ! crash_initramfs; then
	t_fail "vm crash kernel: cannot build the crash boots' initramfs"
else
if want crashdump; then
	if [ -z "$HAVE_CDT" ]; then
		t_skip "crashdump (a): this hostwd has no [action] crashdump_timeout (hostwd --describe-config): nothing keeps the card from cutting the dump"
	else
		crash_boot crashdump "$CRASH_CDT" $((CRASH_DUMP + 200))
		LOG=$T_DIR/crashdump.log
		crash_common crashdump
		c=$(ts console ".*sysrq: Trigger a crash") k=$(ts console "VMTEST crash-kernel") \
			d0=$(ts console "VMTEST dump-start") d1=$(ts console "VMTEST dump-done") w=$(ts event WATCHDOG)
		echo "figure: crashdump (a): sysrq c -> crash kernel's init $(secs "$c" "$k") s; dump $(secs "$d0" "$d1") s; c -> dump done $(secs "$c" "$d1") s ([watchdog] timeout $CRASH_TO s, crashdump_timeout $CRASH_CDT s)"
		t_check "crashdump (a): the dump outlasted [watchdog] timeout ($(secs "$c" "$d1") s after c > $CRASH_TO s) and finished" \
			sh -c "[ -n '$d1' ] && awk -v a='$c' -v b='$d1' -v t='$CRASH_TO' 'BEGIN { exit !(b - a > t) }'"
		t_check "crashdump (a): the card never fired (no WATCHDOG event${w:+; one at $(secs "$c" "$w") s after c})" test -z "$w"
		t_check "crashdump (a): the crash kernel rebooted the guest when the dump was done" \
			sh -c "[ -n '$d1' ] && awk -v a='$d1' '\$2 == \"event\" && \$3 ~ /RESET|SHUTDOWN/ && \$1 >= a' '$LOG' | grep -q ."
	fi
fi
if want crashcut; then
	cdt=0
	if [ -z "$HAVE_CDT" ]; then
		cdt=none
		echo "  (crashcut: this hostwd has no crashdump_timeout; it leaves the device's timeout as crashdump_timeout = 0 does)"
	fi
	crash_boot crashcut "$cdt" $((CRASH_DUMP + 200))
	LOG=$T_DIR/crashcut.log
	crash_common crashcut
	c=$(ts console ".*sysrq: Trigger a crash") k=$(ts console "VMTEST crash-kernel") \
		d0=$(ts console "VMTEST dump-start") w=$(ts event WATCHDOG)
	echo "figure: crashcut (b): sysrq c -> crash kernel's init $(secs "$c" "$k") s; c -> card reset $(secs "$c" "$w") s ([watchdog] timeout $CRASH_TO s, crashdump_timeout 0)"
	awk -v d="$d0" -v w="$w" 'BEGIN { exit !(w != "" && (d == "" || w < d)) }' &&
		echo "  (crashcut: the card fired before the crash kernel's init ran: its boot took longer than [watchdog] timeout; raise VM_CRASH_TIMEOUT)"
	t_check "crashcut (b): the card reset the guest mid-dump, $CRASH_TO +- 1 s after c ($(secs "$c" "$w") s)" \
		sh -c "[ -n '$d0' ] && awk -v c='$c' -v d='$d0' -v w='$w' -v t='$CRASH_TO' 'BEGIN { exit !(w != \"\" && w > d && w - c >= t - 1 && w - c <= t + 1) }'"
	t_check "crashcut (b): the dump never finished" sh -c "! grep -q 'VMTEST dump-done' '$LOG'"
	t_match "crashcut (b): the card's action was a reset" 'WATCHDOG \{"action": "reset"' "$(line event WATCHDOG)"
fi
fi
