# SPDX-License-Identifier: LGPL-2.1-or-later
# What the qemu test runners (tests/vm/run.sh, tests/systemd/run.sh) share.
# Sourced; the runner sets guest_tag (its name in messages) first.

# Skip the test (77), or fail it when FTIDX_VM_REQUIRED=1 says it must run.
skip() {
	echo "$guest_tag: $*" >&2
	[ "${FTIDX_VM_REQUIRED:-0}" = 1 ] && exit 1
	exit 77
}

# Debian's newest installed kernel: sets kernel, kver and moddir, or skips.
find_kernel() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	command -v cpio >/dev/null || skip "cpio is not installed"
	kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$kernel" ] || skip "no kernel image in /boot (install linux-image-amd64)"
	[ -r "$kernel" ] || skip "$kernel is not readable (run as root)"
	kver=${kernel#/boot/vmlinuz-}
	moddir=/lib/modules/$kver/kernel
	[ -d "$moddir" ] || skip "no modules for $kver"
}

# Copy module MODULE (its path under the kernel's module tree, without .ko)
# to DEST uncompressed, for insmod in the guest.
copy_module() {
	local f
	f=$(ls "$moddir/$1".ko* | head -n 1)
	case "$f" in
	*.xz) xz -dc "$f" >"$2" ;;
	*.zst) zstd -qdc "$f" >"$2" ;;
	*) cp "$f" "$2" ;;
	esac
}
