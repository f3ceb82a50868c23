#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Access control on the built daemon, with the client run as other users
# through setpriv: an ordinary user may read but not write, a member of
# the write group (by supplementary or primary group) may write, and with
# --others=deny an ordinary user is refused. Needs root, to act as others.
#
#   test-access.sh FTIDXD FTIDX FIXTURES STALL_CLIENTS
set -u
daemon=$1 cli=$2 fixtures=$3 stall=$4
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "test-access: needs root and setpriv to act as other users"
	exit 77
fi

dir=$(mktemp -d /tmp/ftidx-access-XXXXXX)
chmod 755 "$dir"
cp "$fixtures/debian-6.1-base.txt" "$dir/available_filter_functions"
# as 6.5 and later list them: ADDRESS NAME, in the same order
awk '{ printf "ffffffff8%07x %s\n", NR * 16, $0 }' "$dir/available_filter_functions" \
	>"$dir/available_filter_functions_addrs"
echo "38252 pages:152 groups: 3" >"$dir/dyn_ftrace_total_info"
: >"$dir/set_ftrace_filter"
chmod 644 "$dir"/*
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

passed=0 failed=0
check() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
	fi
}

start() {
	"$daemon" --tracefs "$dir" --socket "$1" "${@:2}" 2>>"$dir/log" &
	pids+=($!)
	for _ in $(seq 200); do [ -S "$1" ] && return; sleep 0.05; done
	echo "ftidxd did not come up"
	exit 1
}

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
member() { setpriv --reuid=65534 --regid=65534 --groups=4242 "$@"; }
primary() { setpriv --reuid=65534 --regid=4242 --clear-groups "$@"; }

start "$dir/open.sock" --write-group 4242
check "the socket belongs to the write group" [ "$(stat -c %g "$dir/open.sock")" = 4242 ]

out=$(nobody "$cli" -s "$dir/open.sock" resolve vfs_read 2>&1)
check "an ordinary user may resolve" [ "$?" = 0 ]
check "... and sees the line" [ "$out" = "12408	vfs_read" ]
err=$(nobody "$cli" -s "$dir/open.sock" set vfs_read 2>&1)
check "an ordinary user may not write (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "write group" <<<"$err"
check "... and the filter is unchanged" [ ! -s "$dir/set_ftrace_filter" ]
member "$cli" -s "$dir/open.sock" set vfs_read >/dev/null 2>&1
check "a member of the write group may write" [ "$?" = 0 ]
check "... and the filter holds vfs_read" grep -qx "12408" "$dir/set_ftrace_filter"
primary "$cli" -s "$dir/open.sock" set schedule >/dev/null 2>&1
check "the write group as primary group may write" [ "$?" = 0 ]
"$cli" -s "$dir/open.sock" clear >/dev/null 2>&1
check "root may write" [ "$?" = 0 ]

# The requests of protocol 2: several files at once and instance removal
# write; the version query does not.
err=$(nobody "$cli" -s "$dir/open.sock" change filter=set vfs_read notrace=set schedule 2>&1)
check "an ordinary user may not change several files (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "write group" <<<"$err"
check "... and neither file changed" [ ! -s "$dir/set_ftrace_filter" ] && [ ! -s "$dir/set_ftrace_notrace" ]
err=$(nobody "$cli" -s "$dir/open.sock" remove-instance inst 2>&1)
check "an ordinary user may not remove an instance (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "write group" <<<"$err"
out=$(nobody "$cli" -s "$dir/open.sock" version 2>&1)
check "an ordinary user may ask the version" [ "$?" = 0 ]
check "... and is told it may only query" grep -q "may only query" <<<"$out"
out=$(member "$cli" -s "$dir/open.sock" version 2>&1)
check "a member is told it may change filters" grep -q "may change filters" <<<"$out"

# Addresses are kernel pointers (KASLR): only for those who may write.
out=$(nobody "$cli" -s "$dir/open.sock" list --module '' 2>&1)
check "an ordinary user may list" [ "$?" = 0 ]
check "... without addresses" grep -qx "12408	vfs_read" <<<"$out"
err=$(nobody "$cli" -s "$dir/open.sock" list --addresses 2>&1)
check "an ordinary user may not see addresses (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "KASLR" <<<"$err"
check "... and sees none" [ -z "$(grep -o 'ffffffff8[0-9a-f]*' <<<"$err")" ]
out=$(nobody "$cli" -s "$dir/open.sock" --json list --addresses 2>&1)
check "... not in JSON either" [ -z "$(grep -o 'ffffffff8[0-9a-f]*' <<<"$out")" ]
out=$(member "$cli" -s "$dir/open.sock" list --addresses 2>&1)
check "a member of the write group sees them" [ "$?" = 0 ]
check "... each line's own" grep -qx "12408	ffffffff80030780	vfs_read" <<<"$out"
out=$("$cli" -s "$dir/open.sock" --json list --addresses 2>&1)
check "root sees them, in JSON as strings" \
	grep -q '{"index":12408,"address":"ffffffff80030780","line":"vfs_read"}' <<<"$out"

start "$dir/closed.sock" --write-group 4242 --others deny
err=$(nobody "$cli" -s "$dir/closed.sock" resolve vfs_read 2>&1)
check "with --others deny an ordinary user is refused (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "root and its write group" <<<"$err"
member "$cli" -s "$dir/closed.sock" resolve vfs_read >/dev/null 2>&1
check "... while a member may still resolve" [ "$?" = 0 ]
"$cli" -s "$dir/open.sock" status >/dev/null 2>&1
check "the daemons keep serving" [ "$?" = 0 ]

# A local user cannot lock root out, nor grow the daemon without bound: 300
# connections as nobody, 200 of them asking for 10 full lists (about 13 MiB
# of replies each) and never reading, the rest just holding.
start "$dir/hostile.sock"
hostile=${pids[-1]}
chmod 0666 "$dir/hostile.sock"
nobody "$stall" "$dir/hostile.sock" 200 100 10 6 >"$dir/stall.out" 2>&1 &
stall_pid=$!
sleep 3
t0=$(date +%s%N)
"$cli" -s "$dir/hostile.sock" set vfs_read >/dev/null 2>"$dir/root.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "test-access: with 300 connections of nobody stalled, root's set took $ms ms (exit $rc)"
check "root is served while a user stalls 300 connections" [ "$rc" = 0 ]
check "... within 1 s" [ "$ms" -lt 1000 ]
wait "$stall_pid"
cat "$dir/stall.out"
check "... and the user kept at most 32 of them" \
	[ "$(sed -n 's/.* \([0-9]*\) kept.*/\1/p' "$dir/stall.out")" -le 32 ]
peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$hostile/status")
echo "test-access: ftidxd's peak RSS under the stall: $((peak / 1024)) MiB"
# AddressSanitizer's shadow and quarantine make RSS meaningless there.
if ldd "$daemon" | grep -q libasan; then
	echo "test-access: RSS bound not checked under AddressSanitizer"
else
	check "... and ftidxd's RSS stayed under 128 MiB" [ "$peak" -lt $((128 * 1024)) ]
fi
"$cli" -s "$dir/hostile.sock" status >/dev/null 2>&1
check "... and it keeps serving" [ "$?" = 0 ]

echo "test-access: $passed passed, $failed failed"
[ "$failed" = 0 ]
