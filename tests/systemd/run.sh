#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ftidx as Debian ships it, proven under a real systemd: a Debian 12 root
# filesystem (debootstrap, cached), ftidx's .deb packages installed into it
# with "apt-get install ./*.deb" (whose maintainer scripts enable
# ftidxd.socket), booted with Debian's kernel in qemu (TCG) with systemd as
# PID 1. The guest checks the service, then removes and purges the
# package and checks that nothing is left running or behind.
# guest.sh runs inside as a systemd unit and prints its verdict on the
# serial console.
#
#   run.sh SOURCE_DIR WORK_DIR
#
# Environment: FTIDX_DEBS names a directory of ftidx's .deb files
# (scripts/build-debs); without it they are built first. FTIDX_CACHE
# (default: ~/.cache/ftidx) keeps the root
# filesystem between runs; FTIDX_MIRROR (default: the Debian mirror this
# machine's apt configuration uses) is where debootstrap fetches it; FTIDX_SYSTEMD_TIMEOUT (default 900) bounds the boot.
# Needs root (debootstrap). Exits 77 (skip) when qemu, debootstrap or a
# kernel image is missing and FTIDX_VM_REQUIRED is not 1.
set -euo pipefail

src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
cache=${FTIDX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ftidx}
timeout_s=${FTIDX_SYSTEMD_TIMEOUT:-900}

guest_tag=systemd
. "$here/../lib/guest.sh"
. "$here/../lib/kernels.sh"
find_kernel
command -v debootstrap >/dev/null || skip "debootstrap is not installed"
[ "$(id -u)" = 0 ] || skip "debootstrap needs root"

# The root filesystem: what the packages of ftidx's dependencies need, and
# systemd. Built once; the tarball is the cache.
packages=systemd,systemd-sysv,procps,kmod,libtracefs1,libtraceevent1,libevent-core-2.1-7
rootfs=$cache/bookworm-systemd-$(echo "$packages" | md5sum | cut -c1-8).tar
if [ ! -f "$rootfs" ]; then
	mirror=$(debian_mirror) || skip "no Debian mirror in /etc/apt (set FTIDX_MIRROR)"
	echo "systemd: debootstrap bookworm from $mirror into the cache ($rootfs)"
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/root.XXXXXX")
	debootstrap --variant=minbase --include="$packages" bookworm "$tmp" "$mirror" \
		>"$cache/debootstrap.log" 2>&1 || {
		tail -n 20 "$cache/debootstrap.log"
		rm -rf "$tmp"
		exit 1
	}
	rm -rf "$tmp/var/cache/apt/archives"/*.deb "$tmp/var/lib/apt/lists"/*
	tar -C "$tmp" -cf "$rootfs.part" . && mv "$rootfs.part" "$rootfs"
	rm -rf "$tmp"
fi

rm -rf "$work"
mkdir -p "$work/root"
root=$work/root
tar -C "$root" -xf "$rootfs"

# ftidx's packages, installed as an administrator would: apt-get, whose
# maintainer scripts enable the socket. Nothing here enables it.
debs=${FTIDX_DEBS:-}
if [ -z "$debs" ]; then
	debs=$work/debs
	"$src/scripts/build-debs" "$debs" >"$work/debs.log" 2>&1 || {
		tail -n 30 "$work/debs.log"
		exit 1
	}
fi
mkdir -p "$root/tmp/debs"
cp "$debs"/ftidx_*.deb "$debs"/libftidx0_*.deb "$debs"/libftidx-dev_*.deb "$root/tmp/debs/"
echo "systemd: apt-get install $(cd "$root/tmp/debs" && echo ./*.deb)"
mount -t proc proc "$root/proc"
set +e
# (apt in a chroot wants the packages' paths absolute)
chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y \
	/tmp/debs/*.deb' >"$work/apt.log" 2>&1
rc=$?
set -e
umount "$root/proc"
if [ "$rc" != 0 ]; then
	tail -n 30 "$work/apt.log"
	echo "systemd: FAIL: apt-get install of the packages"
	exit 1
fi
# Only the test and ftidx's units matter: no logins on the console.
systemctl --root="$root" mask serial-getty@ttyS0.service getty@tty1.service \
	console-getty.service >/dev/null 2>&1
install -m 0755 "$here/guest.sh" "$root/usr/local/bin/ftidx-boot-test"
cat >"$root/etc/systemd/system/ftidx-boot-test.service" <<'UNIT'
[Unit]
Description=ftidx boot test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/bin/ftidx-boot-test
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
systemctl --root="$root" enable ftidx-boot-test.service >/dev/null 2>&1
# A module to load while the service runs (its uevent must get through
# the service's private network namespace).
copy_module drivers/block/loop "$root/root/loop.ko"
echo "ftidx-guest" >"$root/etc/hostname"

# The whole root as the initramfs: systemd runs from it as PID 1 (no
# /etc/initrd-release, so it boots as the real system), and no disk image
# or loop device is needed on the host.
(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/root.cpio"
echo "systemd: root filesystem $(du -sh "$work/root.cpio" | cut -f1); booting $kernel (TCG)"

log=$work/console.log
set +e
timeout --foreground "$timeout_s" qemu-system-x86_64 \
	-accel tcg -cpu max -m 3072 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/root.cpio" \
	-append "console=ttyS0 rdinit=/sbin/init panic=-1 systemd.show_status=0 quiet" \
	</dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$work/console-full.log" |
	grep --line-buffered '^BOOT' | tee "$log"
set -e

summary=$(sed -n 's/^BOOT-SUMMARY: //p' "$log" | tail -n 1)
if [ -z "$summary" ]; then
	tail -n 40 "$work/console-full.log"
	echo "systemd: FAIL: no verdict from the guest (a hang, a panic or a timeout)"
	exit 1
fi
echo "systemd: $summary"
# a guest that judged nothing did not pass
case "$summary" in
[1-9]*" passed, 0 failed"*) exit 0 ;;
*) exit 1 ;;
esac
