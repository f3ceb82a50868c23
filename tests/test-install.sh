#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# meson install into a staging directory puts everything in place, and a
# program builds and runs against the installed library with nothing but
# pkg-config: the SONAME, exactly the public symbols the version script
# lists (the codec stays inside), the header, the pkg-config file, the man
# pages, the completion, and systemd units that systemd-analyze accepts
# without a word and scores "OK" or better.
#
#   test-install.sh BUILD_DIR
set -u
build=$1
stage=$(mktemp -d /tmp/ftidx-stage-XXXXXX)
trap 'rm -rf "$stage"' EXIT
passed=0 failed=0
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
	fi
}

if ! meson install -C "$build" --destdir "$stage" --no-rebuild >"$stage.log" 2>&1; then
	cat "$stage.log"
	echo "test-install: meson install failed"
	exit 1
fi
rm -f "$stage.log"
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
root=$stage$prefix
lib=$(find "$root" -name 'libftidx.so.0' | head -n 1)
pc=$(find "$root" -name 'libftidx.pc' | head -n 1)

check "ftidxd installed" test -x "$root/sbin/ftidxd"
check "ftidx installed" test -x "$root/bin/ftidx"
check "libftidx.so.0 installed" test -n "$lib"
check "the SONAME is libftidx.so.0" sh -c "readelf -d '$lib' | grep -q 'SONAME.*libftidx.so.0'"
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort)
# Exactly the symbols the version script names: no more, no fewer.
listed=$(sed -n 's/^\t\(ftidx_[a-z_]*\);$/\1/p' "$(dirname "$0")/../client/libftidx.sym" | sort)
check "the public symbols are exactly libftidx.sym's ($(echo "$listed" | wc -l))" \
	[ "$(echo "$exported" | grep '^ftidx_')" = "$listed" ]
check "nothing else exported (the codec stays inside)" [ "$(echo "$exported" | grep -vc '^ftidx_')" = 0 ]
check "the header installed" test -f "$root/include/ftidx.h"
check "the pkg-config file installed" test -n "$pc"
if command -v scdoc >/dev/null; then # the man pages are built when scdoc is there
	check "ftidx(1) installed" test -f "$root/share/man/man1/ftidx.1"
	check "ftidxd(8) installed" test -f "$root/share/man/man8/ftidxd.8"
	check "libftidx(3) installed" test -f "$root/share/man/man3/libftidx.3"
fi
check "bash completion installed" test -f "$root/share/bash-completion/completions/ftidx"
check "zsh completion installed" test -f "$root/share/zsh/vendor-completions/_ftidx"
check "fish completion installed" test -f "$root/share/fish/vendor_completions.d/ftidx.fish"
dropin=$(find "$root" -path '*/ftidx/libftidx-tracefs.so' | head -n 1)
check "the libtracefs drop-in installed in \$libdir/ftidx" test -n "$dropin"
check "... exporting libtracefs's two filter functions, the opens of the function list, the calls of the filter sessions, and nothing else" \
	[ "$(nm -D --defined-only "$dropin" | awk '$2 == "T" {print $3}' | LC_ALL=C sort | tr '\n' ' ')" = \
		"__open64_2 __open_2 __openat64_2 __openat_2 close dup dup2 dup3 execve fclose fcntl fcntl64 fflush fopen fopen64 lseek lseek64 open open64 openat openat64 tracefs_function_filter tracefs_function_notrace write writev " ]
check "... needing no more than libc (a preload reaches every child)" \
	[ "$(readelf -d "$dropin" | grep -c NEEDED)" = 1 ]
check "ftidx exec preloads it from there" \
	grep -q "${dropin#"$stage"}" "$root/bin/ftidx"

service=$(find "$stage" -name ftidxd.service | head -n 1)
socket=$(find "$stage" -name ftidxd.socket | head -n 1)
check "ftidxd.service installed" test -n "$service"
check "ftidxd.socket installed" test -n "$socket"
check "the service runs the installed ftidxd" grep -qx "ExecStart=$prefix/sbin/ftidxd" "$service"
if command -v systemd-analyze >/dev/null && [ -n "$service" ] && [ -n "$socket" ]; then
	# verify wants ExecStart= to exist: point it into the staging directory.
	mkdir "$stage/units"
	sed "s|^ExecStart=$prefix|ExecStart=$root|" "$service" >"$stage/units/ftidxd.service"
	cp "$socket" "$stage/units/"
	# It exits 0 even on unknown keys: any output at all is a failure.
	out=$(cd "$stage/units" && systemd-analyze verify --man=no ftidxd.service ftidxd.socket 2>&1)
	[ -z "$out" ] || echo "$out"
	check "systemd-analyze verify says nothing about the units" [ -z "$out" ]
	score=$(cd "$stage/units" && systemd-analyze security --offline=true ftidxd.service 2>&1 |
		sed -n 's/^→ Overall exposure level for ftidxd.service: //p')
	echo "systemd-analyze security (offline): $score"
	check "security exposure is OK or better" sh -c "echo '$score' | grep -Eq ' (OK|SAFE|PERFECT)'"
fi

# A program that knows only what pkg-config says.
cat >"$stage/prog.c" <<'PROG'
#include <errno.h>
#include <ftidx.h>
#include <stdio.h>
int main(void)
{
	struct ftidx *c = NULL;
	int r = ftidx_connect("/nonexistent/ftidx.sock", &c);

	printf("%d\n", r);
	return r == -ENOENT ? 0 : 1;
}
PROG
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$stage
flags=$(pkg-config --cflags --libs libftidx)
check "pkg-config knows libftidx" test -n "$flags"
check "a program builds against the installed library" \
	cc -o "$stage/prog" "$stage/prog.c" $flags
check "... and runs with it" env LD_LIBRARY_PATH="$(dirname "$lib")" "$stage/prog"

# The example for tool authors, from where it was installed, built with
# pkg-config alone, run against the installed ftidxd on a stand-in
# tracing directory: two files set at once, each pattern's matches shown.
example=$(find "$root" -path '*/doc/libftidx/examples/ftidx-filters.c' | head -n 1)
check "the example is installed with the documentation" test -n "$example"
check "the example builds against the installed library" \
	cc -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE -o "$stage/ftidx-filters" "$example" $flags
fixture=$(dirname "$0")/fixtures/debian-6.1-loop-dummy.txt
tracefs=$stage/tracefs
mkdir -p "$tracefs/instances"
cp "$fixture" "$tracefs/available_filter_functions"
echo "$(wc -l <"$fixture") pages:1 groups: 1" >"$tracefs/dyn_ftrace_total_info"
: >"$tracefs/set_ftrace_filter"
: >"$tracefs/set_ftrace_notrace"
LD_LIBRARY_PATH=$(dirname "$lib") "$root/sbin/ftidxd" --tracefs "$tracefs" \
	--socket "$stage/ftidxd.sock" --state-dir "$stage/state" >"$stage/ftidxd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$stage/ftidxd.sock" ] && break; sleep 0.05; done
out=$(FTIDX_SOCKET=$stage/ftidxd.sock LD_LIBRARY_PATH=$(dirname "$lib") \
	"$stage/ftidx-filters" 'vfs_r*' type_show -n vfs_read 2>&1)
rc=$?
echo "$out" | sed 's/^/ftidx-filters: /'
check "... and runs against the installed ftidxd" [ "$rc" = 0 ]
check "... showing each pattern's matches" grep -qx "type_show: 17 functions at [0-9 ]* ..." <<<"$out"
# each file's indices, one per line, in order
indices() { tr ' ' '\n' <"$1" | grep . | sort -n | tr '\n' ' '; }
check "... having set set_ftrace_filter in one write" [ "$(wc -l <"$tracefs/set_ftrace_filter")" = 1 ]
check "... and set_ftrace_notrace in one write" [ "$(wc -l <"$tracefs/set_ftrace_notrace")" = 1 ]
check "... set_ftrace_filter holding the lines the patterns select" \
	[ "$(indices "$tracefs/set_ftrace_filter")" = \
		"$(grep -En '^(vfs_r|type_show( |$))' "$fixture" | cut -d: -f1 | tr '\n' ' ')" ]
check "... and set_ftrace_notrace the line of vfs_read" \
	[ "$(indices "$tracefs/set_ftrace_notrace")" = "$(grep -nx vfs_read "$fixture" | cut -d: -f1) " ]
cp "$tracefs/set_ftrace_filter" "$stage/filter.before"
cp "$tracefs/set_ftrace_notrace" "$stage/notrace.before"
out=$(FTIDX_SOCKET=$stage/ftidxd.sock LD_LIBRARY_PATH=$(dirname "$lib") \
	"$stage/ftidx-filters" type_show -n no_such_function 2>&1)
rc=$?
check "... a refused pattern fails the request" [ "$rc" = 1 ]
check "... and is named" grep -q '^no_such_function: matches no function' <<<"$out"
check "... so set_ftrace_filter still holds the first request's" \
	cmp -s "$tracefs/set_ftrace_filter" "$stage/filter.before"
check "... and so does set_ftrace_notrace" \
	cmp -s "$tracefs/set_ftrace_notrace" "$stage/notrace.before"
kill "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null

echo "test-install: $passed passed, $failed failed"
[ "$failed" = 0 ]
