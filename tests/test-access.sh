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
# some checks run from other directories
daemon=$(realpath "$daemon") cli=$(realpath "$cli") dropin=$(realpath "$dropin")
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
plants=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir" "${plants[@]}"' EXIT

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

# Each daemon logs to a file of its own (SOCKET.log): a check of what one
# daemon said must not be answered by another's lines.
start() {
	"$daemon" --tracefs "$dir" --socket "$1" --state-dir "$1.state" "${@:2}" 2>"$1.log" &
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
check "... and the log says who was refused what, and why" grep -q \
	"uid 65534 pid [0-9]* (ftidx): FILTER of the top level: set set_ftrace_filter 1 pattern ('vfs_read'): refused: changing filters needs root or the daemon's write group (Permission denied)$" \
	"$dir/open.sock.log"
member "$cli" -s "$dir/open.sock" set vfs_read >/dev/null 2>&1
check "a member of the write group may write" [ "$?" = 0 ]
check "... and the filter holds vfs_read" grep -qx "12408" "$dir/set_ftrace_filter"
check "... and the log says who changed it, and how" grep -q \
	"uid 65534 pid [0-9]* (ftidx): FILTER of the top level: set set_ftrace_filter 1 pattern ('vfs_read'): done in [0-9.]* ms: set_ftrace_filter holds 1 function (1 added, 0 dropped)$" \
	"$dir/open.sock.log"
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
err=$(nobody "$cli" -s "$dir/open.sock" show 2>&1)
check "an ordinary user may not read a filter file (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "reading filter files and instances needs root" <<<"$err"
out=$(nobody "$cli" -s "$dir/open.sock" __complete instances "" 2>&1)
check "... nor list the instances, for a completion either (quietly nothing)" [ -z "$out" ]
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
	grep -q '{"index":12408,"address":"ffffffff80030780","line":"vfs_read","name":"vfs_read","module":null}' <<<"$out"

start "$dir/closed.sock" --write-group 4242 --others deny
err=$(nobody "$cli" -s "$dir/closed.sock" resolve vfs_read 2>&1)
check "with --others deny an ordinary user is refused (exit 1)" [ "$?" = 1 ]
check "... and is told why" grep -q "root and its write group" <<<"$err"
member "$cli" -s "$dir/closed.sock" resolve vfs_read >/dev/null 2>&1
check "... while a member may still resolve" [ "$?" = 0 ]
# ...and the copy of the list ftidxd publishes is theirs alone too
copy=$dir/closed.sock.state/available_filter_functions
for _ in $(seq 100); do [ -f "$copy.stamp" ] && break; sleep 0.05; done
check "with --others deny the copy is published (0640, the write group's)" \
	[ "$(stat -c %a:%g "$copy" "$copy.stamp" | sort -u)" = 640:4242 ]
nobody cat "$copy" >/dev/null 2>&1
check "... an ordinary user cannot read it" [ "$?" != 0 ]
nobody cat "$copy.stamp" >/dev/null 2>&1
check "... nor its stamp" [ "$?" != 0 ]
check "... a member can" cmp -s <(member cat "$copy") "$dir/available_filter_functions"
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
# The flood is worked on between requests: over two seconds, ftidxd is
# busy for a good part of them (a share of seconds, not of the few tens
# of ms the requests above took, which a clock tick of 10 ms measures
# badly). A tenth of a CPU at least: on a machine busy with other work
# beside this test ftidxd gets less than all of one (21 ticks in 1 s
# were seen), and idle it uses none (below).
t_busy=$(cpu_ticks "$busy")
sleep 2
ticks=$(($(cpu_ticks "$busy") - t_busy))
echo "test-access: ftidxd used $ticks ticks of CPU in 2 s after them (it works between requests)"
check "... and the flood was being worked on meanwhile" [ "$ticks" -ge 20 ]
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
check "... and the frames only declared cost the user none of its connections" \
	[ -z "$(grep "dropping a client" "$dir/budget.sock.log")" ]
# They go before the next 32 come: the user may hold no more than 32.
kill "$declare_pid" 2>/dev/null
wait "$declare_pid" 2>/dev/null
for _ in $(seq 100); do
	"$cli" -s "$dir/budget.sock" --json status 2>/dev/null | grep -q '"clients":1[,}]' && break
	sleep 0.05
done
# 64 MiB arriving, past the user's share (half the budget: 32 MiB)
"${as_nobody[@]}" "$hostile_clients" "$dir/budget.sock" declare 32 2097152 2097151 3 >"$dir/declare2.out" 2>&1 &
declare2_pid=$!
wait_for_line "$dir/declare2.out" "sent a header"
timed "$cli" -s "$dir/budget.sock" resolve - <"$dir/names.txt"
echo "test-access: with 32 frames of 2 MiB all but sent, root's resolve exited $rc in $ms ms"
check "root's resolve succeeds beside 64 MiB of frames being sent" [ "$rc" = 0 ]
wait "$declare2_pid" 2>/dev/null
cat "$dir/declare.out" "$dir/declare2.out"
check "... none of the user's 32 connections was refused at the door" \
	[ -z "$(grep "refusing a client" "$dir/budget.sock.log")" ]
dropped=$(sed -n 's/^declare: 32 connections, [0-9]* kept by ftidxd, \([0-9]*\) dropped$/\1/p' "$dir/declare2.out")
check "... the user's connections over its share were dropped" [ "${dropped:-0}" -gt 0 ]
check "... as the log says" grep -q "dropping a client, uid 65534 .* share of the memory budget" \
	"$dir/budget.sock.log"
check "... but none of root's" [ -z "$(grep "dropping a client, uid 0 " "$dir/budget.sock.log")" ]
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
san=
ldd "$dropin" | grep -q libasan && san=verify_asan_link_order=0:detect_leaks=0
dropped() { env ASAN_OPTIONS=$san LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" "$@"; }
: >"$f"
err=$(nobody env ASAN_OPTIONS=$san LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f" 2>&1)
check "sessions: a user who may not open the file for writing is refused (exit 1)" [ "$?" = 1 ]
check "... by the kernel" grep -q "Permission denied" <<<"$err"
check "... and the filter is unchanged" [ ! -s "$f" ]
chmod 666 "$f"
err=$(nobody env ASAN_OPTIONS=$san LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f; echo vfs_write >>$f" 2>&1)
check "sessions: a user who may write the file, not in the write group, writes the kernel's (exit 0)" [ "$?" = 0 ]
check "... said once" [ "$(grep -c '^ftidx: writing set_ftrace_filter through the kernel' <<<"$err")" = 1 ]
check "... the kernel's file took it as written" [ "$(tr '\n' ' ' <"$f")" = "vfs_read vfs_write " ]
member env ASAN_OPTIONS=$san LD_PRELOAD="$dropin" FTIDX_SOCKET="$dir/sessions.sock" bash -c "echo vfs_read >$f" 2>"$dir/member.err"
check "sessions: a member of the write group who may write the file is served (exit 0)" [ "$?" = 0 ]
check "... by index" grep -qx "12408" "$f"
# the commit is the member's request, and the log names the program that
# wrote, not ftidxd
check "... and the log names the member's bash as the writer" \
	grep -q "uid 65534 pid [0-9]* (bash): FILTER" "$dir/sessions.sock.log"
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
RUNTIME_DIRECTORY=$dir/run "$daemon" --tracefs "$dir" --socket "$pub/ftidxd.sock" 2>"$dir/planted.log" &
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
check "... and the log says why" grep -q "others may write" "$dir/trusting.sock.log"
"$cli" -s "$dir/trusting.sock" set vfs_read >/dev/null 2>&1
check "... writes still work" grep -qx "12408" "$dir/set_ftrace_filter"
check "... and never through the planted link" [ "$(cat "$dir/target")" = precious ]

# Where the published copy is taken from. A relative --state-dir is
# made absolute at start: a program run from a directory that nobody
# planted a state/ in (holding evil_function and the day's generation)
# is handed ftidxd's own copy, not nobody's.
kernel_head=$(head -n 3 "$dir/available_filter_functions")
# "ftidx -s SOCKET exec -- head -n 3 (the list)", with the drop-in; a
# sanitized drop-in in a program built without the sanitizer needs its
# runtime's leave to come second
head_through() {
	local asan=
	ldd "$dropin" | grep -q libasan && asan=verify_asan_link_order=0:detect_leaks=0
	ASAN_OPTIONS=$asan FTIDX_PRELOAD=$dropin "$cli" -s "$1" exec -- \
		head -n 3 "$dir/available_filter_functions"
}
mkdir "$dir/cwd"
(cd "$dir/cwd" && exec "$daemon" --tracefs "$dir" --socket "$dir/rel.sock" --state-dir state \
	2>"$dir/rel.sock.log") &
pids+=($!)
for _ in $(seq 200); do [ -S "$dir/rel.sock" ] && break; sleep 0.05; done
for _ in $(seq 200); do [ -f "$dir/cwd/state/available_filter_functions.stamp" ] && break; sleep 0.05; done
out=$("$cli" -s "$dir/rel.sock" list --path 2>&1)
check "a relative --state-dir is published by its absolute path" \
	[ "$out" = "$dir/cwd/state/available_filter_functions" ]
plant=$(nobody mktemp -d /tmp/ftidx-plant-XXXXXX)
plants+=("$plant")
nobody sh -c "chmod 755 '$plant' && mkdir '$plant/state' &&
	echo evil_function >'$plant/state/available_filter_functions' &&
	printf 'generation 1\n' >'$plant/state/available_filter_functions.stamp'"
out=$(cd "$plant" && head_through "$dir/rel.sock" 2>"$dir/exec.err")
check "root's program in nobody's directory is not handed nobody's list" \
	[ -z "$(grep evil_function <<<"$out")" ]
check "... but the kernel's" [ "$out" = "$kernel_head" ]
check "... from ftidxd's own copy, silently" [ ! -s "$dir/exec.err" ]
# A --state-dir in a directory nobody owns: ftidxd's state/ there is
# trusted (root's), but nobody can rename it and plant one of its own by
# that name. The drop-in takes only a directory, copy and stamp of
# ftidxd's uid that no one else may write.
plant=$(nobody mktemp -d /tmp/ftidx-plant-XXXXXX)
plants+=("$plant")
nobody chmod 755 "$plant"
start "$dir/renamed.sock" --state-dir "$plant/state"
for _ in $(seq 200); do [ -f "$plant/state/available_filter_functions.stamp" ] && break; sleep 0.05; done
nobody sh -c "mv '$plant/state' '$plant/state.old' && mkdir '$plant/state' &&
	echo evil_function >'$plant/state/available_filter_functions' &&
	printf 'generation 1\n' >'$plant/state/available_filter_functions.stamp'"
check "nobody renamed ftidxd's state directory and planted its own" \
	[ "$(cat "$plant/state/available_filter_functions")" = evil_function ]
out=$(head_through "$dir/renamed.sock" 2>"$dir/exec.err")
check "root's program is not handed the planted list" [ -z "$(grep evil_function <<<"$out")" ]
check "... but the kernel's" [ "$out" = "$kernel_head" ]
check "... and is told why" grep -q "belongs to uid 65534, not to ftidxd's (0)" "$dir/exec.err"

echo "test-access: $passed passed, $failed failed"
[ "$failed" = 0 ]
