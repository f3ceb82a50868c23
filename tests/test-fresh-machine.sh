#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What scripts/lib/deps.sh installs is all a fresh Debian machine needs to
# build ftidx, natively and for arm64. In a Debian root that holds nothing
# but debootstrap's minbase (this machine's release, made once and kept
# as a tarball in the cache), with the tree as git knows it and apt's
# sources and settings as this machine has them: deps.sh's install_missing
# of the build's packages, a -Dwerror=true build and its install suite
# (test-install.sh: a program built against the installed library), and
# scripts/build-arm64. A package that only a machine set up by hand has
# fails it.
#
#   test-fresh-machine.sh SOURCE_DIR WORK_DIR
#
# Needs root (debootstrap, chroot) and Debian's archive. Exits 77 (skip)
# without root or debootstrap, unless FTIDX_VM_REQUIRED=1. FTIDX_CACHE
# (default: ~/.cache/ftidx) keeps the root's tarball, and the packages
# apt downloaded, so that the next run downloads only what changed.
set -euo pipefail

src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
cache=${FTIDX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ftidx}

guest_tag=fresh-machine
. "$here/lib/guest.sh"
. "$here/lib/kernels.sh"
[ "$(id -u)" = 0 ] || skip "debootstrap and chroot need root"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"
suite=$(host_suite)

# Nothing in the root but debootstrap's own packages: made once, kept.
rootfs=$cache/$suite-minbase.tar
if [ ! -f "$rootfs" ]; then
	mirror=$(debian_mirror) || skip "no Debian mirror in /etc/apt (set FTIDX_MIRROR)"
	echo "fresh-machine: debootstrap --variant=minbase $suite from $mirror into the cache"
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/minbase.XXXXXX")
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$cache/minbase.log" 2>&1 || {
		tail -n 20 "$cache/minbase.log"
		rm -rf "$tmp"
		echo "fresh-machine: FAIL: debootstrap"
		exit 1
	}
	find "$tmp/var/cache/apt/archives" "$tmp/var/lib/apt/lists" -type f -delete
	chmod 755 "$tmp" # (mktemp's 0700)
	tar -C "$tmp" -cf "$rootfs.part" . && mv "$rootfs.part" "$rootfs"
	rm -rf "$tmp"
fi

# /proc is the one mount in the root: never remove the root while it is
# there (whatever is mounted under it would go with it).
root=$work/root
unmount() {
	if mountpoint -q "$root/proc"; then
		umount "$root/proc" || umount -l "$root/proc"
	fi
}
trap unmount EXIT
unmount
rm -rf "$work"
mkdir -p "$root"
tar -C "$root" -xf "$rootfs"
chmod 755 "$root"

# The tree as git knows it (tracked and untracked files, nothing ignored).
mkdir "$root/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$src" ls-files -z -co --exclude-standard |
		(cd "$src" && tar --null -T - -cf -) | tar -C "$root/src" -xf -
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -C "$root/src" -xf -
fi

# apt's sources, keys and download settings as this machine has them, in
# place of debootstrap's (the mirror is this machine's, never one named
# here)
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
	/etc/apt/trusted.gpg.d/* /etc/apt/keyrings/*; do
	[ -f "$f" ] || continue
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
done
apt-config dump Acquire | grep -v '^Acquire::IndexTargets' >"$root/etc/apt/apt.conf.d/00host-acquire"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# apt downloads as _apt, as it would on the machine (debootstrap left
# root its downloads' directories); dpkg's output without a terminal
# (/dev/pts is not mounted); no fsync per package: the root is thrown away
mkdir -p "$root/var/cache/apt/archives/partial" "$root/var/lib/apt/lists/partial"
chroot "$root" chown _apt:root /var/cache/apt/archives/partial /var/lib/apt/lists/partial
echo 'Dpkg::Use-Pty "false";' >"$root/etc/apt/apt.conf.d/00ftidx-no-pty"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/ftidx-fresh-machine"

# The .deb files of directory $1 into directory $2: linked, or copied
# across file systems; with "new", only those not linked already.
carry_debs() {
	local f
	for f in "$1"/*.deb; do
		[ -e "$f" ] || continue
		[ "${3:-}" = new ] && [ "$(stat -c %h "$f")" != 1 ] && continue
		ln -f "$f" "$2/" 2>/dev/null || cp "$f" "$2/"
	done
}
# what apt downloaded last time, handed to the root's apt (nothing is
# installed from here: the root's packages stay debootstrap's)
debs=$cache/fresh-machine-debs
mkdir -p "$debs"
carry_debs "$debs" "$root/var/cache/apt/archives"

cat >"$root/fresh-machine.sh" <<'EOF'
set -euo pipefail
cd /src
. scripts/lib/deps.sh
step() {
	echo "fresh-machine: [$SECONDS s] $*"
}
step "install_missing (scripts/lib/deps.sh)"
install_missing "${FTIDX_BUILD_PACKAGES[@]}" "${FTIDX_ARM64_BUILD_PACKAGES[@]}"
step "meson setup -Dwerror=true, compile, test-install.sh"
meson setup /build -Dwerror=true >/build.log 2>&1 || { tail -n 30 /build.log; exit 1; }
meson compile -C /build >>/build.log 2>&1 || { tail -n 30 /build.log; exit 1; }
# the install suite: what a program needs to build against the library
meson test -C /build --print-errorlogs install
step "scripts/build-arm64"
scripts/build-arm64 /build-arm64 >/build-arm64.log 2>&1 || {
	tail -n 30 /build-arm64.log
	exit 1
}
file=$(od -An -tx1 -j18 -N2 /build-arm64/daemon/ftidxd | tr -d ' ')
[ "$file" = b700 ] || {
	echo "fresh-machine: the arm64 ftidxd is not an AArch64 program (e_machine $file)"
	exit 1
}
step "done"
EOF

mount -t proc proc "$root/proc"
set +e
SECONDS=0
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	TERM=dumb ${FTIDX_MIRROR:+FTIDX_MIRROR="$FTIDX_MIRROR"} bash /fresh-machine.sh 2>&1 |
	sed 's/^/  /'
rc=${PIPESTATUS[0]}
set -e
unmount
carry_debs "$root/var/cache/apt/archives" "$debs" new
echo "fresh-machine: $((SECONDS / 60)) min $((SECONDS % 60)) s in the root"
if [ "$rc" != 0 ]; then
	echo "fresh-machine: FAIL: a fresh $suite root did not build ftidx with what deps.sh installs"
	exit 1
fi
echo "fresh-machine: ok"
