#!/usr/bin/env bash
# Install the Debian 12 packages needed to build, test and demo hostwd-mtc.
# Idempotent; run as root. Non-interactive.
set -euo pipefail

PKGS=(
  build-essential pkg-config make
  libsystemd-dev libinih-dev libcmocka-dev libsodium-dev
  libjansson-dev libcurl4-openssl-dev etcd-server etcd-client openssl
  clang llvm
  iproute2 nftables procps psmisc
  valgrind
  python3
  debhelper lintian fakeroot dpkg-dev blhc
  # promtool (in Debian 12 it ships in prometheus) and node_exporter for
  # tests/integration/metrics.sh; the tests start their own node_exporter.
  prometheus prometheus-node-exporter curl
  qemu-system-x86 busybox-static cpio systemd-container kexec-tools
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# kexec-tools is there for the VM bed's kexec binary only: its default
# would also make every reboot of this machine a kexec reboot.
if [[ " ${missing[*]} " == *" kexec-tools "* ]] && command -v debconf-set-selections >/dev/null; then
  echo 'kexec-tools kexec-tools/load_kexec boolean false' | debconf-set-selections
fi
# prometheus, prometheus-node-exporter and etcd-server are test tools
# here (the tests start their own, on loopback in their own namespaces):
# no service of theirs is started by the install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "install-deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
