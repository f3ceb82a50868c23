# fish completion for ftidx(1)
#
# Commands and options come from ftidx itself, names of functions,
# modules and instances from ftidxd, through "ftidx __complete": never
# from /sys/kernel/tracing, which is root's, and which only ftidxd reads.

# Ask ftidx (as typed) what a word may complete to, on the socket the
# command line names, if any.
function __ftidx_ask
    set -l line (commandline -opc)
    set -l sock
    for i in (seq 2 (count $line))
        switch $line[$i]
            case -s --socket
                set -q line[(math $i + 1)]; and set sock --socket $line[(math $i + 1)]
            case '--socket=*'
                set sock --socket (string replace -- --socket= '' $line[$i])
        end
    end
    $line[1] $sock __complete $argv 2>/dev/null
end

# The command on the line, and where it is (echoed: "NAME INDEX").
function __ftidx_command
    set -l line (commandline -opc)
    set -l i 2
    while test $i -le (count $line)
        switch $line[$i]
            case -s --socket -i --instance -m --module --generation -t --seconds
                set i (math $i + 1)
            case '-*'
            case '*'
                echo $line[$i] $i
                return 0
        end
        set i (math $i + 1)
    end
    return 1
end

function __ftidx_is
    set -l c (__ftidx_command | string split ' ')[1]
    contains -- "$c" $argv
end

function __ftidx_prev_is
    set -l line (commandline -opc)
    contains -- "$line[-1]" $argv
end

# After "exec": the program (and a "--" before it), then its own
# arguments, completed as its own command line.
function __ftidx_exec
    set -l line (commandline -opc) (commandline -ct)
    set -l at (__ftidx_command | string split ' ')[2]
    set at (math $at + 1)
    while set -q line[$at]; and string match -q -- '-*' $line[$at]
        test "$line[$at]" = --; and begin
            set at (math $at + 1)
            break
        end
        contains -- $line[$at] -s --socket; and set at (math $at + 1)
        set at (math $at + 1)
    end
    if test $at -ge (count $line)
        __fish_complete_command
    else
        complete -C (string join ' ' -- (string escape -- $line[$at..-1]))
    end
end

complete -c ftidx -f
complete -c ftidx -n 'not __ftidx_command' -a '(__ftidx_ask commands (commandline -ct))'
complete -c ftidx -n 'string match -q -- "-*" (commandline -ct); and not __ftidx_is exec' \
    -a '(__ftidx_ask options (__ftidx_command | string split " ")[1] (commandline -ct))'
complete -c ftidx -n '__ftidx_prev_is -s --socket' -F -r
complete -c ftidx -n '__ftidx_prev_is -i --instance' -x -a '(__ftidx_ask instances (commandline -ct))'
complete -c ftidx -n '__ftidx_prev_is -m --module' -x -a '(__ftidx_ask modules (commandline -ct))'
complete -c ftidx -n '__ftidx_prev_is --generation -t --seconds' -x
complete -c ftidx -n '__ftidx_is set add remove resolve list change; and not __ftidx_prev_is -i --instance -m --module -s --socket --generation' \
    -a '(__ftidx_ask functions (commandline -ct))'
complete -c ftidx -n '__ftidx_is change' -a '{filter,notrace,graph,graph-notrace}={set,add,remove,clear}'
complete -c ftidx -n '__ftidx_is remove-instance' -a '(__ftidx_ask instances (commandline -ct))'
complete -c ftidx -n '__ftidx_is help' -a '(__ftidx_ask commands (commandline -ct))'
complete -c ftidx -n '__ftidx_is exec' -x -a '(__ftidx_exec)'
