# SPDX-License-Identifier: LGPL-2.1-or-later
# Which kernel a qemu guest boots, and where other Debian kernels come from.
# Sourced after guest.sh (it uses skip()).
#
# FTIDX_VM_KERNEL picks the kernel:
#   (unset), installed   the newest kernel installed in /boot
#   SUITE                Debian's linux-image-amd64 of that suite, e.g.
#                        trixie or sid, downloaded as packages
#   6.12                 the same for the Debian release that ships it
#   newest               the newest Debian kernel (unstable)
#   /path/to/vmlinuz     that image; its modules in FTIDX_VM_MODULES, or in
#                        lib/modules/KVER next to it
# Downloads go through this machine's apt configuration (FTIDX_MIRROR
# overrides the mirror) into FTIDX_KERNEL_CACHE (default
# ~/.cache/ftidx/kernels), never into /boot.

kernel_cache=${FTIDX_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ftidx/kernels}

# The Debian archive this machine's apt uses for its own release: the URI
# of the first deb source whose suite has no '-' (not -security, -updates).
debian_mirror() {
	if [ -n "${FTIDX_MIRROR:-}" ]; then
		echo "$FTIDX_MIRROR"
		return
	fi
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: paragraphs of "Key: value" lines
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				types = uris = suites = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^Types:/) types = $i
					if ($i ~ /^URIs:/) uris = $i
					if ($i ~ /^Suites:/) suites = $i
				}
				sub(/^URIs:[ \t]*/, "", uris); split(uris, u, /[ \t]+/)
				sub(/^Suites:[ \t]*/, "", suites); split(suites, s, /[ \t]+/)
				if (types ~ /(^|[ \t:])deb([ \t]|$)/ && s[1] !~ /-/ && u[1] != "") {
					print u[1]; exit
				}
			}' "$f")
		if [ -n "$uri" ]; then
			echo "$uri"
			return
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk '$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) while ($i !~ /\]$/) i++
				if ($i ~ /^\[/ || $i ~ /\]$/) i++
				if ($(i + 1) !~ /-/) { print $i; exit }
			}' "$f")
		if [ -n "$uri" ]; then
			echo "$uri"
			return
		fi
	done
	return 1
}

# The suite that FTIDX_VM_KERNEL names.
kernel_suite() {
	case "$1" in
	newest | unstable | sid) echo sid ;;
	6.12 | 13 | trixie | stable) echo trixie ;;
	6.1 | 12 | bookworm) echo bookworm ;;
	*) echo "$1" ;;
	esac
}

# Download packages of SUITE and unpack them into DIR (never installed):
# the packages PKG... name, or with "--kernel" linux-image-ARCH and the
# image, binary and modules packages it pulls in. Prints apt's errors.
# ARCH is amd64, or FTIDX_DEB_ARCH's.
download_debs() {
	local suite=$1 dir=$2 arch=${FTIDX_DEB_ARCH:-amd64} mirror apt tmp pkgs
	shift 2
	mirror=$(debian_mirror) || {
		echo "no Debian mirror in /etc/apt (set FTIDX_MIRROR)" >&2
		return 1
	}
	tmp=$dir.partial
	rm -rf "$tmp"
	mkdir -p "$tmp"/{apt/lists/partial,apt/archives/partial,debs,root}
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"$mirror" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg \
		>"$tmp/apt/ftidx.sources"
	: >"$tmp/apt/status"
	apt=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$tmp/apt"
		-o "Dir::State::Lists=$tmp/apt/lists" -o "Dir::State::Status=$tmp/apt/status"
		-o "Dir::Cache=$tmp/apt" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
		-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
		-o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
	apt-get "${apt[@]}" -qq update || return 1
	if [ "$1" = --with-depends ]; then
		# the packages and everything they need to run, as apt would
		# install them, the C library included (its loader and it must
		# be of one build); not the package tools, downloaders nor perl,
		# which some depend on but none of them runs here
		shift
		pkgs=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests \
			--no-conflicts --no-breaks --no-replaces --no-enhances "$@" |
			awk '/^[a-z0-9]/ && !/perl|^(dpkg|debconf|cdebconf|install-info|tar|wget|curl|ca-certificates|openssl|libc-bin|gcc-.*-base)$/' |
			sort -u)
	elif [ "$1" = --kernel ]; then
		# linux-image-amd64 -> linux-image-KVER-amd64 (-> linux-binary and
		# linux-modules on newer kernels)
		pkgs=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests \
			--no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends \
			"linux-image-$arch" |
			awk -v meta="linux-image-$arch" '/^linux-(image|binary|modules)-/ && $0 != meta && !/dbg/' |
			sort -u)
	else
		pkgs="$*"
	fi
	[ -n "$pkgs" ] || {
		echo "no packages to download from $suite" >&2
		return 1
	}
	echo "packages: downloading from $suite: $(echo $pkgs)" >&2
	(cd "$tmp/debs" && apt-get "${apt[@]}" -qq download $pkgs) || return 1
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root" || return 1
	done
	rm -rf "$tmp/apt" "$tmp/debs" "$dir"
	mv "$tmp/root" "$dir"
	rmdir "$tmp"
}

# This machine's own Debian release (bookworm on Debian 12).
host_suite() {
	sed -n 's/^VERSION_CODENAME=//p' /etc/os-release
}

# Debian's packages PKG... of this machine's release (download_debs's
# arguments), unpacked once into the cache as NAME-SUITE, which holds
# MARKER when they are there: sets cached_root. 1 when they cannot be had.
cached_debs() {
	local name=$1 marker=$2 suite
	shift 2
	suite=$(host_suite)
	cached_root=$kernel_cache/$name-$suite
	[ -e "$cached_root/$marker" ] && return 0
	mkdir -p "$kernel_cache"
	exec 8>"$kernel_cache/$name.lock"
	flock 8
	[ -e "$cached_root/$marker" ] || download_debs "$suite" "$cached_root" "$@"
	exec 8>&-
	[ -e "$cached_root/$marker" ]
}

# Debian's trace-cmd: sets tracecmd_root (its usr/bin/trace-cmd).
fetch_trace_cmd() {
	cached_debs trace-cmd usr/bin/trace-cmd trace-cmd || return 1
	tracecmd_root=$cached_root
}

# Debian's perf (linux-perf) and the libraries it is linked with, not
# installed: sets perf_root (its usr/bin/perf). Its python and perl
# libraries come without their modules, which perf ftrace never loads.
fetch_perf() {
	cached_debs perf usr/bin/perf linux-perf libopencsd1 libdw1 libelf1 libunwind8 libslang2 \
		libperl5.36 libpython3.11 libnuma1 libbabeltrace1 libcap2 libzstd1 liblzma5 zlib1g \
		libstdc++6 libgcc-s1 libbz2-1.0 libcrypt1 libexpat1 libuuid1 libglib2.0-0 \
		libpcre2-8-0 || return 1
	perf_root=$cached_root
}

# Debian's bpftrace and bcc tools, with what they need to run (LLVM,
# clang's libraries, python3): sets bpftools_root.
fetch_bpf_tools() {
	cached_debs bpf-tools usr/bin/bpftrace --with-depends bpftrace bpfcc-tools || return 1
	bpftools_root=$cached_root
}

# The headers of kernel KVER (bcc compiles its programs against them),
# unpacked into the cache: from SUITE, or with this machine's own apt
# sources when SUITE is empty (the installed kernel's come from its
# security updates). Sets headers_root; 1 when they cannot be had.
fetch_kernel_headers() {
	local kver=$1 suite=$2 pkgs tmp deb
	pkgs="linux-headers-$kver linux-headers-${kver%-amd64}-common"
	headers_root=$kernel_cache/headers-$kver
	[ -d "$headers_root/usr/src/linux-headers-$kver" ] && return 0
	mkdir -p "$kernel_cache"
	exec 8>"$kernel_cache/headers.lock"
	flock 8
	if [ -d "$headers_root/usr/src/linux-headers-$kver" ]; then
		:
	elif [ -n "$suite" ]; then
		download_debs "$suite" "$headers_root" $pkgs
	else
		tmp=$headers_root.partial
		rm -rf "$tmp"
		mkdir -p "$tmp/debs" "$tmp/root"
		if (cd "$tmp/debs" && apt-get -qq -o APT::Sandbox::User=root download $pkgs); then
			for deb in "$tmp"/debs/*.deb; do
				dpkg-deb -x "$deb" "$tmp/root"
			done
			mv "$tmp/root" "$headers_root"
		fi
		rm -rf "$tmp"
	fi
	exec 8>&-
	[ -d "$headers_root/usr/src/linux-headers-$kver" ]
}

# The vmlinuz and module tree under an unpacked root DIR: sets kernel,
# kver and moddir.
kernel_in_tree() {
	local dir=$1 d
	kernel=$(ls -1 "$dir"/boot/vmlinuz-* "$dir"/usr/lib/modules/*/vmlinuz \
		"$dir"/lib/modules/*/vmlinuz 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$kernel" ] || return 1
	case "$kernel" in
	*/boot/vmlinuz-*) kver=${kernel##*/vmlinuz-} ;;
	*) kver=$(basename "$(dirname "$kernel")") ;;
	esac
	for d in "$dir/usr/lib/modules/$kver" "$dir/lib/modules/$kver"; do
		if [ -d "$d/kernel" ]; then
			moddir=$d/kernel
			return 0
		fi
	done
	return 1
}

# Set kernel, kver and moddir for FTIDX_VM_KERNEL, or skip.
select_kernel() {
	local want=${FTIDX_VM_KERNEL:-installed} suite
	case "$want" in
	installed | "")
		find_kernel
		return
		;;
	/*)
		[ -r "$want" ] || skip "$want is not readable"
		kernel=$want
		kver=$(basename "$want")
		kver=${kver#vmlinuz-}
		moddir=${FTIDX_VM_MODULES:-$(dirname "$want")/../lib/modules/$kver/kernel}
		[ -d "$moddir" ] || skip "no module tree for $want (set FTIDX_VM_MODULES)"
		return
		;;
	esac
	suite=$(kernel_suite "$want")
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	if [ "$suite" = bookworm ] && [ -n "$(ls /boot/vmlinuz-*-amd64 2>/dev/null)" ]; then
		find_kernel
		return
	fi
	mkdir -p "$kernel_cache"
	# One download at a time per suite, even with runs in parallel.
	exec 9>"$kernel_cache/$suite.lock"
	flock 9
	if ! kernel_in_tree "$kernel_cache/$suite"; then
		download_debs "$suite" "$kernel_cache/$suite" --kernel ||
			skip "cannot download Debian's $suite kernel"
		kernel_in_tree "$kernel_cache/$suite" || skip "no kernel image in Debian's $suite packages"
	fi
	exec 9>&-
}

# Set kernel, kver and moddir for FTIDX_VM_KERNEL's arm64 kernel (the
# installed one means this machine's release), downloaded as packages into
# the cache as SUITE-arm64, or skip.
select_kernel_arm64() {
	local want=${FTIDX_VM_KERNEL:-installed} suite
	command -v qemu-system-aarch64 >/dev/null ||
		skip "qemu-system-aarch64 is not installed (qemu-system-arm)"
	case "$want" in
	installed | "") suite=$(host_suite) ;;
	*) suite=$(kernel_suite "$want") ;;
	esac
	mkdir -p "$kernel_cache"
	exec 9>"$kernel_cache/$suite-arm64.lock"
	flock 9
	if ! kernel_in_tree "$kernel_cache/$suite-arm64"; then
		FTIDX_DEB_ARCH=arm64 download_debs "$suite" "$kernel_cache/$suite-arm64" --kernel ||
			skip "cannot download Debian's $suite arm64 kernel"
		kernel_in_tree "$kernel_cache/$suite-arm64" ||
			skip "no kernel image in Debian's $suite arm64 packages"
	fi
	exec 9>&-
}
