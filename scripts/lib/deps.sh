# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian packages the scripts need, and how to install the missing ones.
# Sourced by scripts/test and scripts/demo.

FTIDX_BUILD_PACKAGES=(
	# the C library's headers: gcc only recommends libc6-dev
	gcc libc6-dev meson ninja-build pkg-config
	libtracefs-dev libtraceevent-dev libevent-dev
	scdoc
	systemd # systemd-analyze and systemd-socket-activate, for the unit tests
	# /bin/kill, which ftidxd.service's ExecReload= runs: systemd-analyze
	# verify (tests/test-install.sh) wants it there
	procps
)

# ftidx cross-built for arm64 (scripts/build-arm64). The cross compiler
# takes the C library's headers and start files from its own directory
# (/usr/aarch64-linux-gnu), which libc6-dev-arm64-cross fills: a package
# gcc-aarch64-linux-gnu only recommends, so it is named here.
FTIDX_ARM64_BUILD_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)

# What the real-kernel (qemu) suite and the demo need besides.
FTIDX_VM_PACKAGES=(
	qemu-system-x86 busybox-static linux-image-amd64 cpio kmod xz-utils
	debootstrap # the booted-systemd test's root filesystem
	# arm64: ftidx cross-built, Debian's arm64 kernel booted under
	# qemu-system-aarch64
	"${FTIDX_ARM64_BUILD_PACKAGES[@]}" qemu-system-arm
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
