#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Access control on the built daemon, with the client run as other users
# through setpriv: an ordinary user may read but not write, a member of
# the write group (by supplementary or primary group) may write, and with
# --others=deny an ordinary user is refused. Needs root, to act as others.
#
#   test-access.sh FTIDXD FTIDX FIXTURES HOSTILE_CLIENTS FORGE_INTENT DROPIN
set -u
daemon=$1 cli=$2 fixtures=$3 hostile_clients=$4 forge=$5 dropin=$6
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
: >"$dir/set_ftrace_notrace"
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
	"$daemon" --tracefs "$dir" --socket "$1" --state-dir "$1.state" "${@:2}" 2>>"$dir/log" &
	pids+=($!)
	for _ in $(seq 200); do [ -S "$1" ] && return; sleep 0.05; done
	echo "ftidxd did not come up"
	exit 1
}

as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
nobody() { "${as_nobody[@]}" "$@"; }
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
check "... and set_ftrace_filter is unchanged" [ ! -s "$dir/set_ftrace_filter" ]
check "... nor set_ftrace_notrace" [ ! -s "$dir/set_ftrace_notrace" ]
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
"${as_nobody[@]}" "$hostile_clients" "$dir/hostile.sock" stall 200 100 10 6 >"$dir/stall.out" 2>&1 &
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

# Run "$@" as a client, timed: sets $rc and $ms.
timed() {
	local t0
	t0=$(date +%s%N)
	"$@" >"$dir/timed.out" 2>"$dir/timed.err"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# CPU time ftidxd ($1) used, in clock ticks (user and system).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Wait up to 20 s for a line matching $2 in file $1.
wait_for_line() {
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# A local user cannot stall the daemon with costly requests: 32
# connections of nobody's, each one RESOLVE of 150,000 distinct globs that
# each cost a test of every line (minutes of work in all), while root,
# another user and SIGTERM are each served in under a second. The budget
# is raised so that only the work is in the way.
start "$dir/busy.sock" --memory-budget 2048
busy=${pids[-1]}
"${as_nobody[@]}" "$hostile_clients" "$dir/busy.sock" globs 32 150000 120 >"$dir/globs.out" 2>&1 &
globs_pid=$!
check "the user's 32 requests are sent" wait_for_line "$dir/globs.out" "sent 150000"
sleep 1
timed timeout 10 "$cli" -s "$dir/busy.sock" set vfs_read
echo "test-access: under 32 requests of 150,000 globs, root's set took $ms ms (exit $rc)"
check "root's set is served while a user floods ftidxd with costly globs" [ "$rc" = 0 ]
check "... within 1 s" [ "$ms" -lt 1000 ]
check "... and the filter holds it" grep -qx "12408" "$dir/set_ftrace_filter"
timed timeout 10 "$cli" -s "$dir/busy.sock" status
echo "test-access: root's status took $ms ms (exit $rc)"
check "root's status is served meanwhile" [ "$rc" = 0 ]
check "... within 1 s" [ "$ms" -lt 1000 ]
timed timeout 10 setpriv --reuid=4243 --regid=4243 --clear-groups \
	"$cli" -s "$dir/busy.sock" resolve 'vfs_*' '*_show'
echo "test-access: another user's resolve took $ms ms (exit $rc)"
check "another user's resolve is served meanwhile" [ "$rc" = 0 ]
check "... within 1 s" [ "$ms" -lt 1000 ]
check "... with what it asked for" grep -q "	vfs_read$" "$dir/timed.out"
# The flood is worked on between requests: over a full second, ftidxd
# is busy for much of it (a share of a second, not of the few tens of ms
# the requests above took, which a clock tick of 10 ms measures badly).
t_busy=$(cpu_ticks "$busy")
sleep 1
ticks=$(($(cpu_ticks "$busy") - t_busy))
echo "test-access: ftidxd used $ticks ticks of CPU in 1 s after them (it works between requests)"
check "... and the flood was being worked on meanwhile" [ "$ticks" -gt 30 ]
kill "$globs_pid" 2>/dev/null
wait "$globs_pid" 2>/dev/null
sleep 0.5
t_busy=$(cpu_ticks "$busy")
sleep 1
ticks=$(($(cpu_ticks "$busy") - t_busy))
echo "test-access: once the user went away, ftidxd used $ticks ticks of CPU in 1 s"
check "the work of clients that went away is dropped" [ "$ticks" -lt 20 ]
"${as_nobody[@]}" "$hostile_clients" "$dir/busy.sock" globs 32 150000 120 >"$dir/globs.out" 2>&1 &
globs_pid=$!
wait_for_line "$dir/globs.out" "sent 150000"
sleep 1
t0=$(date +%s%N)
kill -TERM "$busy"
for _ in $(seq 500); do kill -0 "$busy" 2>/dev/null || break; sleep 0.01; done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "test-access: under the flood, ftidxd stopped $ms ms after SIGTERM"
check "SIGTERM stops ftidxd within 1 s, whatever it is working on" [ "$ms" -lt 1000 ]
kill "$globs_pid" 2>/dev/null
wait "$globs_pid" 2>/dev/null

# Memory: only what has arrived counts, a user without write access has a
# share of the budget, and root is never dropped to make room. First 32
# connections of nobody's that each declare a frame of 2 MiB and send
# nothing of it; then 32 that send all of it but the last byte.
start "$dir/budget.sock"
budget=${pids[-1]}
awk '{ print $1 }' "$fixtures/debian-6.1-base.txt" | grep -v '^__ftrace_invalid' >"$dir/names.one"
for _ in 1 2 3 4; do cat "$dir/names.one"; done >"$dir/names.txt"
echo "test-access: root's name list is $(wc -c <"$dir/names.txt") bytes"
"${as_nobody[@]}" "$hostile_clients" "$dir/budget.sock" declare 32 2097152 0 30 >"$dir/declare.out" 2>&1 &
declare_pid=$!
wait_for_line "$dir/declare.out" "sent a header"
timed "$cli" -s "$dir/budget.sock" resolve - <"$dir/names.txt"
echo "test-access: with 32 frames of 2 MiB declared, root's resolve exited $rc in $ms ms"
check "root's 2.5 MB resolve succeeds beside 32 frames of 2 MiB only declared" [ "$rc" = 0 ]
check "... with every line" [ "$(wc -l <"$dir/timed.out")" = "$(($(wc -l <"$dir/names.one")))" ]
"${as_nobody[@]}" "$hostile_clients" "$dir/budget.sock" declare 32 2097152 2097151 30 >"$dir/declare2.out" 2>&1 &
declare2_pid=$!
wait_for_line "$dir/declare2.out" "sent a header"
sleep 1
timed "$cli" -s "$dir/budget.sock" resolve - <"$dir/names.txt"
echo "test-access: with 32 frames of 2 MiB all but sent, root's resolve exited $rc in $ms ms"
check "root's resolve succeeds beside 64 MiB of frames being sent" [ "$rc" = 0 ]
kill "$declare_pid" "$declare2_pid" 2>/dev/null
wait "$declare_pid" "$declare2_pid" 2>/dev/null
cat "$dir/declare.out" "$dir/declare2.out"
check "... the user's connections over its share were dropped" grep -q "dropping a client of uid 65534" "$dir/log"
check "... but none of root's" [ -z "$(grep "dropping a client of uid 0 " "$dir/log")" ]
peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$budget/status")
echo "test-access: ftidxd's peak RSS under the frames: $((peak / 1024)) MiB"
if ! ldd "$daemon" | grep -q libasan; then
	check "... and ftidxd's RSS stayed under 160 MiB" [ "$peak" -lt $((160 * 1024)) ]
fi

# Filter sessions (the drop-in's, docs/filter-sessions.md). Whoever may
# not open a filter file for writing may not write it through ftidxd
# either; a user who may, but is not in the write group, writes the
# kernel's file, said once; a member who may is served. A member's
# sessions are bounded, and root's are served beside them.
start "$dir/sessions.sock" --write-group 4242
f=$dir/set_ftrace_filter
# a sanitized drop-in preloaded into a program that is not
if ldd "$dropin" | grep -q libasan; then
	export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0
fi
dropped() { env LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" "$@"; }
: >"$f"
err=$(nobody env LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f" 2>&1)
check "sessions: a user who may not open the file for writing is refused (exit 1)" [ "$?" = 1 ]
check "... by the kernel" grep -q "Permission denied" <<<"$err"
check "... and the filter is unchanged" [ ! -s "$f" ]
chmod 666 "$f"
err=$(nobody env LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f; echo vfs_write >>$f" 2>&1)
check "sessions: a user who may write the file, not in the write group, writes the kernel's (exit 0)" [ "$?" = 0 ]
check "... said once" [ "$(grep -c '^ftidx: writing set_ftrace_filter through the kernel' <<<"$err")" = 1 ]
check "... the kernel's file took it as written" [ "$(tr '\n' ' ' <"$f")" = "vfs_read vfs_write " ]
member env LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f" 2>"$dir/member.err"
check "sessions: a member of the write group who may write the file is served (exit 0)" [ "$?" = 0 ]
check "... by index" grep -qx "12408" "$f"
member "$hostile_clients" "$dir/sessions.sock" sessions 200 60000 30 >"$dir/sessions.out" 2>&1 &
sessions_pid=$!
check "sessions: a member opens sessions until refused" wait_for_line "$dir/sessions.out" "asked"
cat "$dir/sessions.out"
check "... 128 of 200: the limit per user" grep -q "200 asked, 128 opened, 72 refused" "$dir/sessions.out"
timed dropped bash -c "echo vfs_write >$f"
echo "test-access: beside a member's 128 sessions, root's echo took $ms ms (exit $rc)"
check "... root is served beside them" [ "$rc" = 0 ]
check "... within 1 s" [ "$ms" -lt 1000 ]
check "... by index" grep -qx "12412" "$f"
kill "$sessions_pid" 2>/dev/null
wait "$sessions_pid" 2>/dev/null
chmod 644 "$f"
: >"$f"

# A state directory others can write must not steer root's writes. nobody
# plants a well-formed record in a world-writable directory, saying the
# filter held vfs_write and schedule before a write of vfs_read, and a
# link where the record is written; root's ftidxd has its socket there.
pub=$dir/public
mkdir -m 1777 "$pub"
echo precious >"$dir/target"
nobody "$forge" "$pub/intent" "vfs_write schedule" "vfs_read"
nobody ln -s "$dir/target" "$pub/intent.new"
: >"$dir/set_ftrace_filter"
RUNTIME_DIRECTORY=$dir/run "$daemon" --tracefs "$dir" --socket "$pub/ftidxd.sock" 2>>"$dir/log" &
pids+=($!)
for _ in $(seq 200); do [ -S "$pub/ftidxd.sock" ] && break; sleep 0.05; done
check "the state directory is never the socket's: the planted record is not recovered" \
	[ ! -s "$dir/set_ftrace_filter" ]
check "... and is left where it was" [ -f "$pub/intent" ]
check "... the runtime directory is used instead" [ -d "$dir/run" ]
start "$dir/trusting.sock" --state-dir "$pub"
check "a world-writable --state-dir is not trusted: the filter is untouched" \
	[ ! -s "$dir/set_ftrace_filter" ]
out=$("$cli" -s "$dir/trusting.sock" status 2>&1)
check "... ftidx status says crash safety is off" grep -q "crash safety is off" <<<"$out"
check "... and the log says why" grep -q "others may write" "$dir/log"
"$cli" -s "$dir/trusting.sock" set vfs_read >/dev/null 2>&1
check "... writes still work" grep -qx "12408" "$dir/set_ftrace_filter"
check "... and never through the planted link" [ "$(cat "$dir/target")" = precious ]

echo "test-access: $passed passed, $failed failed"
[ "$failed" = 0 ]
