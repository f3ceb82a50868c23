#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The shell completions against the built ftidx and ftidxd on a stand-in
# tracing directory: bash's as bash runs it on TAB (the function that
# "complete -p ftidx" names, with COMP_LINE, COMP_WORDS and COMP_CWORD set
# as bash sets them; it uses compgen itself), and zsh's and fish's where
# those shells are installed. Names of functions, modules and instances
# must come from the daemon on the socket the command line names.
#
#   test-completion.sh FTIDXD FTIDX FIXTURES COMPLETION_DIR
set -u
daemon=$1 cli=$2 fixtures=$3 completion=$4

dir=$(mktemp -d /tmp/ftidx-completion-XXXXXX)
fixture=$fixtures/debian-6.1-loop-dummy.txt
cp "$fixture" "$dir/available_filter_functions"
echo "$(wc -l <"$fixture") pages:1 groups: 1" >"$dir/dyn_ftrace_total_info"
: >"$dir/set_ftrace_filter"
: >"$dir/set_ftrace_notrace"
mkdir -p "$dir/instances/inst" "$dir/instances/other" "$dir/state"
chmod 700 "$dir/state"
"$daemon" --tracefs "$dir" --socket "$dir/sock" --state-dir "$dir/state" 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do [ -S "$dir/sock" ] && break; sleep 0.05; done

# the ftidx under test, by the name the completions are registered for;
# no FTIDX_SOCKET: the socket comes from the command line or nowhere
mkdir "$dir/bin"
ln -s "$(realpath "$cli")" "$dir/bin/ftidx"
export PATH=$dir/bin:$PATH
unset FTIDX_SOCKET
sock=$dir/sock

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

# The fixture's function names beginning with $1, each once, sorted.
names() {
	awk -v p="$1" 'index($1, p) == 1 { print $1 }' "$fixture" | LC_ALL=C sort -u
}

# What bash's completion offers for the line $1 (TAB at its end), one a
# line, sorted; with bash-completion loaded first when $bashcomp names it.
bash_offers() {
	bash --norc --noprofile -c '
		[ -n "$3" ] && source "$3"
		source "$1"
		spec=$(complete -p ftidx) || exit 1
		fn=${spec#*-F }
		fn=${fn%% *}
		COMP_LINE=$2
		COMP_POINT=${#COMP_LINE}
		# as bash splits the line: at blanks and at COMP_WORDBREAKS
		read -ra COMP_WORDS <<<"${COMP_LINE//:/ : }"
		[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		"$fn" ftidx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$completion/ftidx.bash" "$1" "$bashcomp" | LC_ALL=C sort
}

# bash's checks, as $1 says (with or without bash-completion).
bash_checks() {
	local how=$1 out

	check "bash ($how): the completion is registered for ftidx" \
		[ "$(bash --norc -c "${bashcomp:+source '$bashcomp';} source '$completion/ftidx.bash'; complete -p ftidx")" = "complete -F _ftidx ftidx" ]
	check "bash ($how): commands" [ "$(bash_offers "ftidx st")" = "status" ]
	check "bash ($how): a command after a global option" [ "$(bash_offers "ftidx -s $sock sh")" = "show" ]
	check "bash ($how): function names from the daemon (set vfs_r<TAB>)" \
		[ "$(bash_offers "ftidx -s $sock set vfs_r")" = "$(names vfs_r)" ]
	check "... each once, though the kernel lists some on several lines (type_sho<TAB>)" \
		[ "$(bash_offers "ftidx -s $sock add type_sho")" = "type_show" ]
	check "... a module's functions by name" \
		[ "$(bash_offers "ftidx -s $sock resolve lo_rw")" = "$(names lo_rw)" ]
	check "... a removal keeps its '!'" \
		[ "$(bash_offers "ftidx -s $sock add !vfs_rea")" = "$(names vfs_rea | sed 's/^/!/')" ]
	check "... the socket given after the command counts too" \
		[ "$(bash_offers "ftidx set --socket=$sock vfs_rea")" = "$(names vfs_rea)" ]
	check "... and with no daemon there is nothing to offer, quietly" \
		[ -z "$(bash_offers "ftidx -s $dir/nosuch set vfs_r" 2>&1)" ]
	check "bash ($how): modules from the daemon (--module <TAB>)" \
		[ "$(bash_offers "ftidx -s $sock list --module ")" = "$(printf 'dummy\nloop')" ]
	check "... and after FUNC:mod: (only what follows the ':')" \
		[ "$(bash_offers "ftidx -s $sock set lo_*:mod:l")" = "loop" ]
	check "bash ($how): instances from the daemon (-i <TAB>), not from /sys/kernel/tracing" \
		[ "$(bash_offers "ftidx -s $sock set -i ")" = "$(printf 'inst\nother')" ]
	check "... for remove-instance too" \
		[ "$(bash_offers "ftidx -s $sock remove-instance o")" = "other" ]
	check "bash ($how): a command's options, and the global ones" \
		[ "$(bash_offers "ftidx hits --")" = "$(printf -- '--help\n--instance\n--json\n--last-map\n--quiet\n--seconds\n--socket\n--timeout\n--version')" ]
	check "... set's --allow-empty too" [ "$(bash_offers "ftidx set --allow")" = "--allow-empty" ]
	check "bash ($how): change's FILE=OP" \
		[ "$(bash_offers "ftidx change notrace=")" = "$(printf 'add\nclear\nremove\nset')" ]
	check "bash ($how): help COMMAND" [ "$(bash_offers "ftidx help rem")" = "$(printf 'remove\nremove-instance')" ]
	out=$(cd "$dir" && bash_offers "ftidx exec -- true ")
	check "bash ($how): exec -- PROGRAM <TAB> offers files, not shell keywords" \
		[ -n "$(grep -x available_filter_functions <<<"$out")" ] && [ -z "$(grep -x -e if -e then -e fi <<<"$out")" ]
	out=$(bash_offers "ftidx exec tr")
	check "bash ($how): exec's program is a program (true)" grep -qx true <<<"$out"
}

bashcomp=
bash_checks "alone"
# (bash-completion offers programs itself, builtins among them, and
# readline shows each once)
out=$(bash_offers "ftidx exec tr")
check "bash (alone): exec's program is offered once, never a keyword or a builtin alone (trap)" \
	[ "$(grep -cx true <<<"$out")" = 1 ] && [ -z "$(grep -x -e trap -e then <<<"$out")" ]
bashcomp=/usr/share/bash-completion/bash_completion
if [ -f "$bashcomp" ]; then
	# the program after exec gets its own completion (_command_offset)
	bash_checks "with bash-completion"
else
	echo "test-completion: no bash-completion here: bash's completion is run alone only"
fi

# zsh's: its compadd, _files and _normal stand in for the real ones.
if command -v zsh >/dev/null; then
	zsh_offers() {
		zsh -f -c '
			compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; else print -l -- "$@"; fi }
			_command_names() { print PROGRAMS }
			_files() { print FILES }
			_normal() { print "NORMAL $words[1] $CURRENT" }
			source "$1" >/dev/null 2>&1
			words=(${(z)2})
			[[ $2 == *" " ]] && words+=("")
			CURRENT=$#words
			_ftidx
		' _ "$completion/_ftidx" "$1" | LC_ALL=C sort
	}
	check "zsh: function names from the daemon" \
		[ "$(zsh_offers "ftidx -s $sock set vfs_r")" = "$(names vfs_r)" ]
	check "zsh: instances from the daemon" \
		[ "$(zsh_offers "ftidx -s $sock hits -i ")" = "$(printf 'inst\nother')" ]
	check "zsh: modules from the daemon" \
		[ "$(zsh_offers "ftidx -s $sock list -m ")" = "$(printf 'dummy\nloop')" ]
	check "zsh: exec's program, then its own completion" \
		[ "$(zsh_offers "ftidx exec ")" = PROGRAMS ] && [ "$(zsh_offers "ftidx exec -- trace-cmd rec")" = "NORMAL trace-cmd 2" ]
else
	echo "test-completion: no zsh here: its completion is not run"
fi

if command -v fish >/dev/null; then
	fish_offers() {
		fish --no-config -c 'source $argv[1]; complete -C $argv[2] | cut -f1' \
			"$completion/ftidx.fish" "$1" | LC_ALL=C sort
	}
	check "fish: function names from the daemon" \
		[ "$(fish_offers "ftidx -s $sock set vfs_r")" = "$(names vfs_r)" ]
	check "fish: instances from the daemon" \
		[ "$(fish_offers "ftidx -s $sock show -i ")" = "$(printf 'inst\nother')" ]
	check "fish: modules from the daemon" \
		[ "$(fish_offers "ftidx -s $sock list -m ")" = "$(printf 'dummy\nloop')" ]
	check "fish: commands" [ "$(fish_offers "ftidx vers")" = "version" ]
else
	echo "test-completion: no fish here: its completion is not run"
fi

echo "test-completion: $passed passed, $failed failed"
[ "$failed" = 0 ]
