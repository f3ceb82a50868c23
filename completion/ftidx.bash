# bash completion for ftidx(1)
#
# Commands and options come from ftidx itself, names of functions,
# modules and instances from ftidxd, through "ftidx __complete": never
# from /sys/kernel/tracing, which is root's, and which only ftidxd reads.
# Works with bash-completion loaded or without it; after "exec", the
# program's own completion takes over when bash-completion is there.

# Ask ftidx (@1, as typed) what WORD may complete to, on the socket the
# command line names, if any.
_ftidx_ask()
{
	local prog=$1
	shift
	if [[ -n $_ftidx_socket ]]; then
		"$prog" --socket "$_ftidx_socket" __complete "$@" 2>/dev/null
	else
		"$prog" __complete "$@" 2>/dev/null
	fi
}

# COMPREPLY from the lines of @2... matching the word being completed
# (@1, as typed, which may hold ':' or '='): bash completes only what
# follows the last of COMP_WORDBREAKS' characters in it.
_ftidx_reply()
{
	local word=$1 line cut=
	shift
	case $word in
	*[:=]*) cut=${word%"${word##*[:=]}"} ;;
	esac
	COMPREPLY=()
	while IFS= read -r line; do
		[[ -n $line ]] && COMPREPLY+=("${line#"$cut"}")
	done < <("$@")
}

# A program and its arguments after "exec": the program's own completion
# (bash-completion's _command_offset), else programs, then files.
_ftidx_exec()
{
	local at=$1 cur=$2
	if declare -F _command_offset >/dev/null; then
		_command_offset "$at"
		return
	fi
	if ((COMP_CWORD == at)); then
		# programs only: what execvp() can run, not keywords, aliases,
		# functions, or builtins without a program of that name
		local b not=($(compgen -k) $(compgen -a) $(compgen -A function))
		for b in $(compgen -b); do
			type -P "$b" >/dev/null || not+=("$b")
		done
		COMPREPLY=($(compgen -c -- "$cur" | sort -u | grep -vxF -f <(printf '%s\n' "${not[@]}")))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_ftidx()
{
	local prog=${1:-ftidx} cur prev word cmd= cmd_at=0 i _ftidx_socket=
	local line=${COMP_LINE:0:COMP_POINT}
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# the whole word, ':' and '=' included (COMP_WORDS splits at them)
	word=${line##*[[:space:]]}

	# the command, and a socket given anywhere before the word
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --socket)
			_ftidx_socket=${COMP_WORDS[i + 1]}
			((i++))
			;;
		--socket=*) _ftidx_socket=${COMP_WORDS[i]#--socket=} ;;
		-i | --instance | -m | --module | --generation | -t | --seconds) ((i++)) ;;
		--) [[ $cmd == exec ]] && { _ftidx_exec $((i + 1)) "$cur"; return; } ;;
		-* | = | :) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${COMP_WORDS[i]}
				cmd_at=$i
			elif [[ $cmd == exec ]]; then
				# the program: the rest is its own
				_ftidx_exec "$i" "$cur"
				return
			fi
			;;
		esac
	done

	case $prev in
	-s | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-i | --instance)
		_ftidx_reply "$word" _ftidx_ask "$prog" instances "$word"
		return
		;;
	-m | --module)
		_ftidx_reply "$word" _ftidx_ask "$prog" modules "$word"
		return
		;;
	--generation | -t | --seconds)
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		_ftidx_reply "$word" _ftidx_ask "$prog" options "$cmd" "$word"
		return
	fi
	if [[ -z $cmd ]]; then
		_ftidx_reply "$word" _ftidx_ask "$prog" commands "$word"
		return
	fi
	case $cmd in
	set | add | remove | resolve | list)
		_ftidx_reply "$word" _ftidx_ask "$prog" functions "$word"
		;;
	change)
		# FILE=OP begins each file's patterns
		if [[ $word != *:* && $word != !* ]]; then
			COMPREPLY=($(compgen -W "$(echo {filter,notrace,graph,graph-notrace}={set,add,remove,clear})" -- "$word"))
			[[ $word == *=* ]] && COMPREPLY=("${COMPREPLY[@]#*=}")
		fi
		if [[ $word != *=* ]]; then
			local -a sections=("${COMPREPLY[@]}")
			_ftidx_reply "$word" _ftidx_ask "$prog" functions "$word"
			COMPREPLY+=("${sections[@]}")
		fi
		;;
	remove-instance)
		_ftidx_reply "$word" _ftidx_ask "$prog" instances "$word"
		;;
	help)
		((COMP_CWORD == cmd_at + 1)) && _ftidx_reply "$word" _ftidx_ask "$prog" commands "$word"
		;;
	exec)
		_ftidx_exec "$COMP_CWORD" "$cur"
		;;
	esac
} && complete -F _ftidx ftidx
