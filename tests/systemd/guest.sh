#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Inside the booted guest, as a systemd unit: ftidx installed as a package
# with ftidxd.socket enabled and the service not yet started. Each check
# prints "BOOT: ok|FAIL what"; the last lines are the verdict, then the
# guest powers off.
set -u
passed=0 failed=0
T=/sys/kernel/tracing
check() {
	local what=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		passed=$((passed + 1))
		echo "BOOT: ok $what"
	else
		failed=$((failed + 1))
		echo "BOOT: FAIL $what"
		sed 's/^/BOOT:   /' /tmp/check.out
	fi
}
state() { systemctl is-active "$1" 2>/dev/null; }
is() {
	[ "$1" = "$2" ] && return 0
	printf 'got:      %s\nexpected: %s\n' "$1" "$2"
	return 1
}

echo "BOOT: kernel $(uname -r), systemd $(systemctl --version | head -n 1 | cut -d' ' -f2)"
check "the packages are installed" sh -c 'dpkg-query -W -f="\${Status}\n" ftidx libftidx0 libftidx-dev | grep -c "install ok installed" | grep -qx 3'
check "ftidxd.socket is listening, enabled by the package alone" is "$(state ftidxd.socket)" active
check "ftidxd.service waits for its first client" is "$(state ftidxd.service)" inactive

check "ftidx status through the socket" ftidx status
check "...which started ftidxd.service" is "$(state ftidxd.service)" active
check "the service said READY=1 with its status" \
	sh -c 'systemctl show -p StatusText --value ftidxd.service | grep -q "lines mapped"'
check "it runs as root with no capability but CAP_SYSLOG" \
	sh -c 'grep -q "^CapBnd:.0000000400000000" /proc/$(systemctl show -p MainPID --value ftidxd.service)/status'

check "the kernel's matching rules were probed under the hardening" \
	sh -c 'ftidx status | grep -q "^matching: *class-takes-nul (probed"'
check "...and no scratch instance is left" sh -c "! ls $T/instances | grep -q ftidx-probe"
check "the kernel bounds its memory and tasks" \
	is "$(systemctl show -p MemoryMax -p TasksMax --value ftidxd.service | tr '\n' ' ')" \
	"268435456 8 "
check "a filter write under the hardening" ftidx set vfs_read ksys_read
check "...is in the kernel" is "$(cat $T/set_ftrace_filter | tr '\n' ' ')" "vfs_read ksys_read "
check "an instance is created and filtered" ftidx set --instance boot --create 'vfs_rea*'
check "...is in the kernel" is "$(cat $T/instances/boot/set_ftrace_filter)" \
	"$(ftidx resolve 'vfs_rea*' | cut -f2)"
# ftidx hits on calls made here, counted exactly: bash's umask builtin is
# one umask(2) each and its read builtin at least one read(2), all in this
# process, so the calls take well under a second even under TCG (forking
# cat instead did not finish inside the window on a slow CI machine). They
# start once the run's tracer is on, and the run must outlast them.
check "a filter for the hit count" ftidx set vfs_read __x64_sys_umask
before=$(cat $T/set_ftrace_filter)
rm -f /tmp/caller.done
caller() {
	until grep -qx function $T/instances/ftidx-hits-*/current_tracer 2>/dev/null; do
		sleep 0.1
	done
	for _ in $(seq 2000); do umask 022; done
	for _ in $(seq 300); do read -r _ </proc/version; done
	touch /tmp/caller.done
}
caller &
check "ftidx hits under the hardening" sh -c 'ftidx hits --seconds 6 >/tmp/hits.txt'
check "...outlasted the calls it counts" test -e /tmp/caller.done
wait
sed 's/^/BOOT:   hits: /' /tmp/hits.txt
column() { awk -F'\t' -v f="$1" -v c="$2" '$3 == f {print $c}' /tmp/hits.txt; }
check "...counted each of 2,000 umask calls" [ "$(column __x64_sys_umask 1)" -ge 2000 ]
check "...counted vfs_read for 300 reads" [ "$(column vfs_read 1)" -ge 300 ]
check "...with the map's indices" is "$(column __x64_sys_umask 2)" \
	"$(ftidx resolve __x64_sys_umask | cut -f1)"
check "...and nothing outside the filter" [ "$(cut -f3 /tmp/hits.txt | sort -u | tr '\n' ' ')" = \
	"__x64_sys_umask vfs_read " ]
check "...left the filter as it was" is "$(cat $T/set_ftrace_filter)" "$before"
check "...and removed its instance" sh -c "! ls $T/instances | grep -q ftidx-hits"
check "a hit count of an empty filter is refused" sh -c 'ftidx clear && ! ftidx hits -t 1'
# A daemon killed mid-run leaves its instance tracing; the next one removes it.
ftidx set vfs_read >/dev/null
ftidx hits --seconds 60 >/dev/null 2>&1 &
while ! ls $T/instances | grep -q ftidx-hits; do sleep 0.1; done
orphan=$(ls $T/instances | grep ftidx-hits)
check "killing ftidxd mid-run leaves $orphan tracing" systemctl kill -s KILL ftidxd.service
wait
check "...and the restarted ftidxd removes it" sh -c \
	"ftidx status >/dev/null && ! ls $T/instances | grep -q ftidx-hits"

gen=$(ftidx --json status | sed 's/.*"generation":\([0-9]*\).*/\1/')
check "a module load reaches the service (uevent netlink, private network)" insmod /root/loop.ko
sleep 3
check "...and its log says the map went stale and settled" \
	sh -c 'journalctl -u ftidxd.service --no-pager | grep -q "module loop: add"'
check "...and the map was rebuilt" \
	sh -c "[ \$(ftidx --json status | sed 's/.*\"generation\":\\([0-9]*\\).*/\\1/') -gt $gen ]"
# The list for tools that read it, published by the hardened service
# (no CAP_CHOWN, UMask=0077) in its runtime directory, after the rebuild.
# (through a pipe: tracefs files have no size, and "cmp -s" takes two
# sizes that differ for an answer without reading)
published() {
	for _ in $(seq 100); do
		cat $T/available_filter_functions | cmp -s "$(ftidx list --path)" - && return 0
		sleep 0.2
	done
	# what it holds instead, for the log
	ls -l /run/ftidx
	cat /run/ftidx/available_filter_functions.stamp
	cat $T/available_filter_functions | cmp "$(ftidx list --path)" -
	return 1
}
check "ftidx list --path names the published list" is "$(ftidx list --path)" \
	/run/ftidx/available_filter_functions
check "...which is the kernel's, byte for byte, after the module load" published
check "...and everyone may read it" is "$(stat -c %a /run/ftidx/available_filter_functions)" 644
check "systemctl reload (SIGHUP) keeps it serving" systemctl reload ftidxd.service
check "...and status still answers" ftidx status
check "systemctl stop leaves the socket listening" systemctl stop ftidxd.service
check "...and the next client starts it again" ftidx status
check "...as a new process" is "$(state ftidxd.service)" active

check "systemd-analyze verify says nothing about the units" sh -c \
	'out=$(systemd-analyze verify --man=no /lib/systemd/system/ftidxd.service /lib/systemd/system/ftidxd.socket 2>&1); echo "$out"; [ -z "$out" ]'
score=$(systemd-analyze security ftidxd.service 2>&1 | sed -n 's/^→ Overall exposure level for ftidxd.service: //p')
echo "BOOT: systemd-analyze security ftidxd.service: $score"
check "the security exposure is OK or better" sh -c "echo '$score' | grep -Eq ' (OK|SAFE|PERFECT)'"

echo "BOOT: ftidxd's journal:"
journalctl -u ftidxd.service -u ftidxd.socket --no-pager -o cat | sed 's/^/BOOT:   /'

# The package's way out: remove stops everything, purge leaves nothing.
check "ftidxd runs before the removal" sh -c 'ftidx status >/dev/null && systemctl is-active -q ftidxd.service'
check "apt-get remove ftidx" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y ftidx'
check "...stopped the daemon" is "$(state ftidxd.service)" inactive
check "...and the socket" is "$(state ftidxd.socket)" inactive
check "...and left no socket behind" test ! -e /run/ftidx/ftidxd.sock
check "...and no ftidxd process" sh -c '! pidof ftidxd'
mkdir -p /run/ftidx
echo left >/run/ftidx/record
check "apt-get purge ftidx" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y ftidx'
check "...removed the runtime directory" test ! -e /run/ftidx
check "...and the units' enablement" sh -c '! ls /etc/systemd/system/sockets.target.wants | grep -q ftidxd'
echo "BOOT-SUMMARY: $passed passed, $failed failed"
systemctl --no-block poweroff
