# bash completion for ftidx(1)
_ftidx()
{
	local cur prev words cword cmd i
	_init_completion || return

	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	case $prev in
	-s | --socket)
		_filedir
		return
		;;
	-i | --instance)
		COMPREPLY=($(compgen -W "$(ls /sys/kernel/tracing/instances 2>/dev/null)" -- "$cur"))
		return
		;;
	-m | --module | --generation | -t | --seconds)
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W 'status resolve name list set add remove clear change
			remove-instance hits exec version --socket --json --help --version' -- "$cur"))
		return
	fi
	case $cmd in
	set | add | remove | clear)
		[[ $cur == -* ]] && COMPREPLY=($(compgen -W '--instance --create --notrace
			--graph --graph-notrace --generation --allow-empty' -- "$cur"))
		;;
	change)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--instance --create --generation --allow-empty' -- "$cur"))
		else
			# FILE=OP begins each file's patterns
			COMPREPLY=($(compgen -W "$(echo {filter,notrace,graph,graph-notrace}={set,add,remove,clear})" -- "$cur"))
		fi
		;;
	remove-instance)
		COMPREPLY=($(compgen -W "$(ls /sys/kernel/tracing/instances 2>/dev/null)" -- "$cur"))
		;;
	resolve)
		[[ $cur == -* ]] && COMPREPLY=($(compgen -W '--per-pattern' -- "$cur"))
		;;
	list)
		COMPREPLY=($(compgen -W '--module --placeholders --addresses --path' -- "$cur"))
		;;
	hits)
		COMPREPLY=($(compgen -W '--instance --seconds' -- "$cur"))
		;;
	exec)
		# a command to run, then its own arguments
		COMPREPLY=($(compgen -c -- "$cur"))
		;;
	esac
} && complete -F _ftidx ftidx
