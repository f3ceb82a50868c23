# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian packages the scripts need, and how to install the missing ones.
# Sourced by scripts/test and scripts/demo.

FTIDX_BUILD_PACKAGES=(
	gcc meson ninja-build pkg-config
	libtracefs-dev libtraceevent-dev libevent-dev
	scdoc
	systemd # systemd-analyze and systemd-socket-activate, for the unit tests
)

# What the real-kernel (qemu) suite and the demo need besides.
FTIDX_VM_PACKAGES=(
	qemu-system-x86 busybox-static linux-image-amd64 cpio kmod xz-utils
	debootstrap # the booted-systemd test's root filesystem
	# arm64: ftidx cross-built (scripts/build-arm64), Debian's arm64
	# kernel booted under qemu-system-aarch64
	gcc-aarch64-linux-gnu qemu-system-arm
)

# Install the packages of "$@" that dpkg does not list as installed.
install_missing() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}
