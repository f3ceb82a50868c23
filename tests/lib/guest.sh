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

# The modules LIST names (one a line, '#' comments), with every module they
# depend on, into directory DEST uncompressed, and DEST/order: their
# names in an order insmod can load them in (modprobe --show-depends, on a
# modules.dep that depmod makes if the tree has none).
copy_module_set() {
	local list=$1 dest=$2 tree base
	tree=$(dirname "$moddir")
	base=$(dirname "$(dirname "$(dirname "$tree")")")
	[ -f "$tree/modules.dep" ] || depmod -b "$base" "$kver"
	mkdir -p "$dest"
	: >"$dest/order"
	sed 's/#.*//' "$list" | while read -r m; do
		[ -n "$m" ] || continue
		# a module this kernel lacks is left out (the run counts them)
		{ modprobe -d "$base" -S "$kver" --show-depends "$m" 2>/dev/null || true; } |
			awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		local name
		name=$(basename "$ko")
		name=${name%%.ko*}
		case "$ko" in
		*.xz) xz -dc "$ko" ;;
		*.zst) zstd -qdc "$ko" ;;
		*) cat "$ko" ;;
		esac >"$dest/$name.ko"
		echo "$name" >>"$dest/order"
	done
}
