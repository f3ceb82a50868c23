#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boot Debian's kernel in qemu (TCG: KVM hangs on these machines, and the
# host's own tracefs is never touched) with an initramfs holding busybox,
# the built ftidxd, ftidx and ftidx-vm with the libraries ldd lists, and a
# few modules; run MODE inside; judge from the serial console.
#
#   run.sh MODE BUILD_DIR     MODE: test, speed, demo, many, modules, share,
#                             readers, writers or bpf
#
# "many" boots a guest shaped like users' machines: ftidxd first, then
# the modules of modules-many.txt (FTIDX_VM_MODULE_LIST names another
# list) with what they depend on, loaded while clients are served, then
# the judge and the speed table on that map (vm-many.c). "modules" only
# loads them and says which loaded: how the list was chosen.
#
# "bpf" boots a guest with Debian's bpftrace and bcc tools (and the
# kernel's headers, which bcc compiles against), loads the many modules,
# and runs the tools plainly and under "ftidx exec" (vm-readers.c).
#
# FTIDX_VM_KERNEL picks the kernel (see tests/lib/kernels.sh): the one in
# /boot by default, or another Debian release's, downloaded as packages.
# FTIDX_VM_CHURN is how many requests race module loads at least (default
# 1000), FTIDX_VM_CHURN_S for how many seconds they do (default 0: just
# that many requests).
# FTIDX_VM_FIXTURE=FILE (many): the guest's available_filter_functions at
# the end of the run goes there (how tests/fixtures/*-many.txt was made).
# FTIDX_VM_MANY_SPEED=1 (many): the speed table on that map too.
# FTIDX_VM_MANY_TOOLS=0 (many): without Debian's bpftrace and bcc tools.
# FTIDX_VM_WRITERS=0 (test): without the writers of the filter files
# (vm-writers.c: bash, dash, cat, perf and a C program, plainly and
# through "ftidx exec"), which need Debian's perf in the guest.
# Fails on a failed check, a kernel panic, a missing summary or a timeout
# (FTIDX_VM_TIMEOUT seconds, default 2400, under meson's 2700: room for a
# host twice as slow as the one where the longest run took 20 minutes).
# Exits 77 (skip) only when qemu, busybox or a kernel image cannot be had
# and FTIDX_VM_REQUIRED is not 1.
set -euo pipefail

mode=${1:?mode}
build=$(cd "${2:?build dir}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${FTIDX_VM_TIMEOUT:-2400}
writers=${FTIDX_VM_WRITERS:-1}

guest_tag=vm
. "$here/../lib/guest.sh"
. "$here/../lib/kernels.sh"
arch=${FTIDX_VM_ARCH:-x86_64}
if [ "$arch" = arm64 ]; then
	select_kernel_arm64
	command -v aarch64-linux-gnu-gcc >/dev/null || skip "gcc-aarch64-linux-gnu is not installed"
else
	select_kernel
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	# trace-cmd as Debian ships it, for the libtracefs drop-in's proof
	fetch_trace_cmd || skip "cannot download Debian's trace-cmd"
fi

# Runs on different kernels may go on side by side.
work=$build/vm/$mode-$kver
rm -rf "$work"
mkdir -p "$work/root"/{bin,usr/bin,usr/sbin,lib64,modules,proc,sys,dev,run,tmp,etc}
root=$work/root

# ftidx built for this machine, busybox, and the libraries ldd lists for
# the built binaries: system ones at their own paths, the build tree's
# (libftidx) in the guest's system directory.
x86_64_userland() {
	cp /bin/busybox "$root/bin/busybox"
	cp "$tracecmd_root/usr/bin/trace-cmd" "$root/usr/bin/"
	for bin in "$build/daemon/ftidxd" "$build/client/ftidx" "$build/tests/vm/ftidx-vm" \
		"$tracecmd_root/usr/bin/trace-cmd" "$build/client/libftidx-tracefs.so"; do
		ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
			case "$lib" in
			"$build"/*) dest=/lib/x86_64-linux-gnu/$(basename "$lib") ;;
			*) dest=$lib ;;
			esac
			mkdir -p "$root$(dirname "$dest")"
			cp -L "$lib" "$root$dest"
		done
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
}

# ftidx cross-built (scripts/build-arm64, once for the runs side by side)
# into BUILD_DIR/arm64, with the arm64 sysroot's busybox, C library and
# the libraries ftidx links.
arm64_userland() {
	local sysroot lib
	sysroot=$(flock "$build/arm64.lock" "$here/../../scripts/build-arm64" "$build/arm64" |
		tail -n 1) || {
		echo "vm: FAIL: the arm64 build (scripts/build-arm64)"
		exit 1
	}
	build=$build/arm64
	cp "$sysroot/bin/busybox" "$root/bin/busybox"
	cp -a "$sysroot/lib" "$root/"
	mkdir -p "$root/usr/lib/aarch64-linux-gnu"
	for lib in libtracefs.so.1 libtraceevent.so.1 libevent_core-2.1.so.7; do
		cp -L "$sysroot/usr/lib/aarch64-linux-gnu/$lib" "$root/usr/lib/aarch64-linux-gnu/"
	done
	cp -L "$build/client/libftidx.so.0" "$root/lib/aarch64-linux-gnu/"
}

"${arch}_userland"
ln -s busybox "$root/bin/sh"
cp "$build/daemon/ftidxd" "$root/usr/sbin/"
cp "$build/client/ftidx" "$root/usr/bin/"
cp "$build/tests/vm/ftidx-vm" "$root/usr/bin/"
mkdir -p "$root/usr/lib/ftidx"
cp "$build/client/libftidx-tracefs.so" "$root/usr/lib/ftidx/"
for m in drivers/block/loop drivers/net/dummy fs/fat/fat fs/fat/vfat; do
	copy_module "$m" "$root/modules/$(basename "$m").ko"
done
memory=1024 cpus=1 compress="gzip -1"
# Debian's bpftrace and bcc tools as they are, with the headers bcc
# compiles against: a few hundred MB of LLVM and python, which gzip and
# its undoing under TCG would cost more time than they save memory.
add_bpf_tools() {
	local headers_suite
	fetch_bpf_tools || skip "cannot download Debian's bpftrace and bpfcc-tools"
	case "$kernel" in
	/boot/*) headers_suite= ;;
	*) headers_suite=$(kernel_suite "${FTIDX_VM_KERNEL:-installed}") ;;
	esac
	fetch_kernel_headers "$kver" "$headers_suite" || skip "cannot download the headers of $kver"
	cp -a "$bpftools_root"/. "$root"/
	cp -a "$headers_root"/. "$root"/
	# bcc looks for them through /lib/modules/KVER/build and source;
	# newer kernels' packages put those links under /usr/lib, relative,
	# and this guest's /lib is a directory of its own, not a link to it
	mkdir -p "$root/lib/modules/$kver"
	for link in build source; do
		local from=$root/usr/lib/modules/$kver/$link target
		[ -L "$from" ] && [ ! -L "$root/lib/modules/$kver/$link" ] || continue
		target=$(readlink "$from")
		case "$target" in
		/*) ;;
		*) target=$(realpath -ms "/usr/lib/modules/$kver/$target") ;;
		esac
		ln -s "$target" "$root/lib/modules/$kver/$link"
	done
	rm -rf "$root"/usr/share/{doc,man,locale,info}
	memory=3072 compress=cat
}
# Debian's bash, dash and cat (busybox's are static: a preload cannot
# reach them) and Debian's perf, with the libraries they are linked with,
# for the writers of the filter files (vm-writers.c): in /opt/debian.
add_writers() {
	local bin lib dest libpath
	fetch_perf || skip "cannot download Debian's perf"
	libpath=$perf_root/usr/lib/x86_64-linux-gnu:$perf_root/lib/x86_64-linux-gnu
	mkdir -p "$root/opt/debian"
	cp /bin/bash /bin/dash /bin/cat "$root/opt/debian/"
	cp "$perf_root/usr/bin/perf" "$root/opt/debian/perf"
	for bin in /bin/bash /bin/dash /bin/cat "$perf_root/usr/bin/perf"; do
		LD_LIBRARY_PATH=$libpath ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
			case "$lib" in
			"$perf_root"/*) dest=/lib/x86_64-linux-gnu/$(basename "$lib") ;;
			*) dest=$lib ;;
			esac
			mkdir -p "$root$(dirname "$dest")"
			[ -e "$root$dest" ] || cp -L "$lib" "$root$dest"
		done
	done
}
case "$mode" in
test | writers)
	# FTIDX_VM_WRITERS=0: the test mode without them (6.12: its
	# minutes go to the kernels the issue names, 6.1 and the newest)
	[ "$arch" = arm64 ] || [ "$mode$writers" = test0 ] || add_writers
	;;
bpf)
	add_bpf_tools
	copy_module_set "${FTIDX_VM_MODULE_LIST:-$here/modules-many.txt}" "$root/modules/many"
	cpus=2
	;;
many | modules)
	if [ "$mode" = many ] && [ "${FTIDX_VM_MANY_TOOLS:-1}" != 0 ]; then
		add_bpf_tools
	fi
	copy_module_set "${FTIDX_VM_MODULE_LIST:-$here/modules-many.txt}" "$root/modules/many"
	echo "vm: $(wc -l <"$root/modules/many/order") modules to load, dependencies included"
	# users' machines have more than one CPU: with one, a module's load
	# (seconds of kernel time under TCG for the largest) holds up every
	# other process, ftidxd's clients included
	[ "$memory" -ge 2048 ] || memory=2048
	cpus=2
	;;
esac
install -m 0755 "$here/init.sh" "$root/init"
install -m 0755 "$here/demo.sh" "$root/demo.sh"

(cd "$root" && find . | cpio -o -H newc --quiet | $compress) >"$work/initramfs.img"

log=$work/console.log
echo "vm: booting $kernel (TCG), mode $mode; console in $log"
set +e
case "$arch" in
# pauth-impdef: pointer authentication by QEMU's own cheap algorithm
# (the architected one costs TCG dearly; the guest cannot tell)
arm64) qemu=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on) console=ttyAMA0 ;;
*) qemu=(qemu-system-x86_64 -cpu max) console=ttyS0 ;;
esac
# Under TCG with two vCPUs, the kernel can oops on an int3 it no longer
# expects while it patches its own text at boot (static keys): a vCPU
# runs a translation made before the patch, emulation's fault (seen on
# 7.2, in sched_clock_cpu, before init ran). A guest that panics before
# /init has said a word is booted again, at most twice; a panic once
# ftidx's run began fails the test as before.
for boot in 1 2 3; do
	timeout --foreground "$timeout_s" "${qemu[@]}" \
		-accel tcg -m "$memory" -smp "$cpus" -nographic -no-reboot \
		-kernel "$kernel" -initrd "$work/initramfs.img" \
		-append "console=$console quiet panic=-1 ftidx.mode=$mode ftidx.churn=${FTIDX_VM_CHURN:-1000} ftidx.churn_s=${FTIDX_VM_CHURN_S:-0} ftidx.crash=${FTIDX_VM_CRASH:-0} ftidx.fixture=${FTIDX_VM_FIXTURE:+1} ftidx.manyspeed=${FTIDX_VM_MANY_SPEED:-0} ftidx.manytools=${FTIDX_VM_MANY_TOOLS:-1} ftidx.writers=$writers" \
		</dev/null 2>&1 |
		stdbuf -oL tr -d '\r' | tee "$log"
	qemu_status=${PIPESTATUS[0]}
	grep -q "Kernel panic" "$log" && ! grep -q "^VM: kernel " "$log" && [ "$boot" -lt 3 ] || break
	mv "$log" "$log.boot$boot"
	echo "vm: the kernel panicked while booting, before /init ran (TCG): booting again" \
		"(its console: $log.boot$boot)"
done
set -e
if [ -n "${FTIDX_VM_FIXTURE:-}" ]; then
	sed -n 's/^VM-FIXTURE: //p' "$log" | base64 -d | gunzip >"$FTIDX_VM_FIXTURE"
	echo "vm: the guest's available_filter_functions in $FTIDX_VM_FIXTURE"
fi

if [ "$qemu_status" = 124 ]; then
	echo "vm: FAIL: timed out after ${timeout_s}s"
	exit 1
fi
if grep -q "Kernel panic" "$log"; then
	echo "vm: FAIL: kernel panic"
	exit 1
fi
if ! grep -q "^VM-EXIT: 0$" "$log"; then
	echo "vm: FAIL: the guest's run did not succeed"
	exit 1
fi
if [ "$mode" != demo ] && [ "$mode" != modules ] &&
	! grep -qE "^VM-SUMMARY: [1-9][0-9]* passed, 0 failed$" "$log"; then
	echo "vm: FAIL: no clean summary"
	exit 1
fi
echo "vm: $mode passed on $kver"
