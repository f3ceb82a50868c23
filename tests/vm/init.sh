#!/bin/busybox sh
# /init of the ftidx test guest: mount what the kernel offers, start
# ftidxd, run the mode named on the kernel command line (ftidx.mode=test,
# speed or demo), say how it ended, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
# "ftidx exec" preloads the libtracefs drop-in from here
export FTIDX_PRELOAD=/usr/lib/ftidx/libftidx-tracefs.so
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
# where older tools look for it (bcc: /sys/kernel/debug/tracing)
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/ftidx /tmp
mode=$(sed -n 's/.*ftidx\.mode=\([a-z]*\).*/\1/p' /proc/cmdline)
churn=$(sed -n 's/.*ftidx\.churn=\([0-9]*\).*/\1/p' /proc/cmdline)
churn_s=$(sed -n 's/.*ftidx\.churn_s=\([0-9]*\).*/\1/p' /proc/cmdline)
crash=$(sed -n 's/.*ftidx\.crash=\([0-9]*\).*/\1/p' /proc/cmdline)
# the test mode's writers of the filter files (vm-writers.c), unless 0
export FTIDX_VM_WRITERS=$(sed -n 's/.*ftidx\.writers=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "VM: kernel $(uname -r), mode ${mode:-none}"

# The speed runs log where each request's time goes.
verbose=
case "$mode" in speed | many) verbose=--verbose ;; esac
# ftidxd drops a client silent this long (s). The judge's connection
# must outlive that whatever a phase's length (vm-common.c: conn()); the
# many-modules guest proves it, its slow phases (the module storm, the
# tools) far longer than its 10 s.
export FTIDX_VM_IDLE_TIMEOUT=300
[ "$mode" = many ] && FTIDX_VM_IDLE_TIMEOUT=10
ftidxd $verbose --idle-timeout $FTIDX_VM_IDLE_TIMEOUT 2>/tmp/ftidxd.log &
# it listens once it has read the kernel's list, which a slow host takes
# long over: waited for while it runs
while [ ! -S /run/ftidx/ftidxd.sock ] && kill -0 $! 2>/dev/null; do
	sleep 0.1
done

case "$mode" in
test) ftidx-vm test ${churn:-1000} ${crash:-0} ${churn_s:-0}; status=$? ;;
speed) ftidx-vm speed; status=$? ;;
share) ftidx-vm share; status=$? ;;
judge) ftidx-vm judge ${churn:-100} ${churn_s:-0}; status=$? ;;
readers) ftidx-vm readers; status=$? ;;
writers) ftidx-vm writers; status=$? ;;
bpf)
	# the many modules first, as a machine has them after boot
	while read -r m; do insmod "/modules/many/$m.ko" 2>/dev/null; done </modules/many/order
	ftidx-vm bpf
	status=$?
	;;
many)
	# the speed table on that map too, where run.sh asks for it
	ftidx-vm many $(sed -n 's/.*ftidx\.manyspeed=\(1\).*/speed/p' /proc/cmdline) \
		$(sed -n 's/.*ftidx\.manytools=\(0\).*/notools/p' /proc/cmdline)
	status=$?
	# the kernel's list as it is now, for a fixture (run.sh unpacks it)
	if grep -q "ftidx.fixture=1" /proc/cmdline; then
		gzip -c /sys/kernel/tracing/available_filter_functions | base64 |
			sed 's/^/VM-FIXTURE: /'
	fi
	;;
modules)
	# which of the set load here, each after what it needs
	status=0
	while read -r m; do
		if insmod "/modules/many/$m.ko" 2>/tmp/insmod.err; then
			echo "VM-MODULE: $m ok"
		else
			echo "VM-MODULE: $m FAILED: $(cat /tmp/insmod.err)"
		fi
	done </modules/many/order
	echo "VM-MODULE: $(grep -c '\[' /sys/kernel/tracing/available_filter_functions) module lines"
	;;
demo) sh /demo.sh; status=$? ;;
*) echo "VM: FAIL unknown mode"; status=1 ;;
esac

kill %1 2>/dev/null
# the crash test's daemon, started again outside this shell's jobs
killall ftidxd 2>/dev/null
wait
echo "VM: ftidxd log:"
sed 's/^/VM:   /' /tmp/ftidxd.log
echo "VM-EXIT: $status"
poweroff -f
