#!/bin/busybox sh
# /init of the crash kernel's initramfs (busybox sh), loaded in the guest
# with `kexec -p` by guest-init.sh. It stands in for a kdump initramfs:
# /proc/vmcore proves this is the crash kernel, the dump reads its ELF
# header and then takes hwdump= seconds (a sleep standing for writing a
# large vmcore), and it reboots as kdump-tools does. It loads no watchdog
# driver, as a kdump initramfs does not: the i6300esb card keeps counting
# with whatever timeout hostwd left on it, so the card resets the guest in
# the middle of a dump that outlasts it.
/bin/busybox --install -s
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
say() { echo "VMTEST $*" >/dev/console; }

DUMP=$(sed -n 's/.* hwdump=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -e /proc/vmcore ]; then
	v="vmcore=present size_mb=$(($(stat -c %s /proc/vmcore) / 1048576)) magic=$(head -c 4 /proc/vmcore | tail -c 3)"
else
	v=vmcore=absent
fi
say crash-kernel $v kernel=$(uname -r) uptime_s=$(cut -d' ' -f1 /proc/uptime)
say dump-start seconds=${DUMP:-0}
i=0
while [ $i -lt ${DUMP:-0} ]; do
	sleep 1
	i=$((i + 1))
	[ $((i % 5)) -eq 0 ] && say dump-progress s=$i
done
say dump-done seconds=${DUMP:-0}
reboot -f
