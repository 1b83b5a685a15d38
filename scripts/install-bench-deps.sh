#!/usr/bin/env bash
# Debian's watchdog daemon, the peer of benchmark 4 (hostwd idle cost), for
# `make bench`. Installed without starting it and with its services masked:
# on a machine with a real /dev/watchdog its service would arm the device.
# Run as root; idempotent.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "install-bench-deps: run as root" >&2
	exit 1
fi
if [ -x /usr/sbin/watchdog ]; then
	echo "install-bench-deps: /usr/sbin/watchdog already installed"
	exit 0
fi
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
	saved=$(mktemp)
	cp -p "$policy" "$saved"
fi
restore() {
	if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore EXIT
# 101: "action forbidden", so the package's maintainer scripts start nothing.
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends watchdog </dev/null
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now watchdog.service wd_keepalive.service 2>/dev/null || true
	systemctl mask watchdog.service wd_keepalive.service
else
	ln -sf /dev/null /etc/systemd/system/watchdog.service
	ln -sf /dev/null /etc/systemd/system/wd_keepalive.service
fi
# And for a SysV-init boot.
command -v update-rc.d >/dev/null && update-rc.d watchdog disable >/dev/null 2>&1 || true
echo "install-bench-deps: watchdog installed, services masked (the benchmark runs it by hand on a FIFO)"
