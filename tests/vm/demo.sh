#!/bin/sh
# What ftidx looks like to its user, on a real kernel: run inside the guest
# by scripts/demo. Each step says what it shows, then shows it.
T=/sys/kernel/tracing
step() {
	echo
	echo "==> $*"
}
run() {
	echo "\$ $*"
	"$@"
}

step "ftidxd maps available_filter_functions by index"
run ftidx status

step "Resolving names and patterns, as the kernel reads them"
run ftidx resolve vfs_read schedule 'vfs_[rw]*'
echo "\$ ftidx resolve type_show     # a static name on many lines"
ftidx resolve type_show | head -n 3
echo "   ... $(ftidx resolve type_show | wc -l) lines in all"

step "Refusals say why"
run ftidx resolve no_such_function __ftrace_invalid_address___32 010
echo "   (exit status $?)"

step "Enabling thousands of functions at once"
ftidx list | cut -f2 | grep -v ' ' | sort | uniq -u | head -n 5000 >/tmp/names.txt
echo "\$ time ftidx set - < /tmp/names.txt    # $(wc -l </tmp/names.txt) names"
time ftidx set - </tmp/names.txt
echo "   set_ftrace_filter now holds $(grep -vc '^#' $T/set_ftrace_filter) functions"
run ftidx clear

step "The kernel is not atomic; ftidx is"
echo "\$ echo 'vfs_read nosuch_fn vfs_write' > set_ftrace_filter"
echo 'vfs_read nosuch_fn vfs_write' >$T/set_ftrace_filter 2>/dev/null
echo "   the kernel refused the write, but left: $(grep -v '^#' $T/set_ftrace_filter | tr '\n' ' ')"
run ftidx clear
run ftidx set vfs_read nosuch_fn vfs_write
echo "   after ftidx: $(grep -v '^#' $T/set_ftrace_filter | tr '\n' ' ')"

step "A module comes and goes; the map follows"
run insmod /modules/loop.ko
echo "\$ ftidx --last-map status     # the map ftidxd has this instant, said if behind"
ftidx --last-map status >/tmp/st.out 2>/tmp/st.err
rc=$?
grep -E 'generation|modules' /tmp/st.out
cat /tmp/st.err
echo "   (exit status $rc: 4 when ftidxd has not read the kernel's functions yet)"
echo "\$ ftidx status                # waits for the kernel's map"
ftidx status | grep -E 'generation|modules'
run ftidx resolve 'lo_*:mod:loop'
echo "\$ ftidx list --module loop | wc -l"
ftidx list --module loop | wc -l
run rmmod loop
echo "\$ ftidx status"
ftidx status | grep -E 'generation|modules'
run ftidx resolve ':mod:loop'
echo "   (exit status $?)"

step "The speed table: the same names, every way there is"
ftidx-vm speed | grep '^VM-SPEED' | sed 's/^VM-SPEED: //'
