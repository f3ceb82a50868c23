#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Access control on the built daemon, with the client run as other users
# through setpriv: an ordinary user may read but not write, a member of
# the write group (by supplementary or primary group) may write, and with
# --others=deny an ordinary user is refused. Needs root, to act as others.
#
#   test-access.sh FTIDXD FTIDX FIXTURES
set -u
daemon=$1 cli=$2 fixtures=$3
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "test-access: needs root and setpriv to act as other users"
	exit 77
fi

dir=$(mktemp -d /tmp/ftidx-access-XXXXXX)
chmod 755 "$dir"
cp "$fixtures/debian-6.1-base.txt" "$dir/available_filter_functions"
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

start "$dir/closed.sock" --write-group 4242 --others deny
err=$(nobody "$cli" -s "$dir/closed.sock" resolve vfs_read 2>&1)
check "with --others deny an ordinary user is refused (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "root and its write group" <<<"$err"
member "$cli" -s "$dir/closed.sock" resolve vfs_read >/dev/null 2>&1
check "... while a member may still resolve" [ "$?" = 0 ]
"$cli" -s "$dir/open.sock" status >/dev/null 2>&1
check "the daemons keep serving" [ "$?" = 0 ]

echo "test-access: $passed passed, $failed failed"
[ "$failed" = 0 ]
