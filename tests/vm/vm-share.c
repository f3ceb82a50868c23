/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filter files as users have them (issue 22), on the real kernel: a
 * function probe and a module pattern kept for a module not loaded in
 * set_ftrace_filter beside ftidx's functions; graph files given an index
 * and asked to remove a name they do not hold; a shell writing the filter
 * between two of ftidx's writes; an instance removed and made again
 * behind ftidxd's back. What the kernel does is seen here first, with
 * echo's own writes, and ftidx is held to it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftidx.h"
#include "vm-common.h"

#define F T "/set_ftrace_filter"
#define G T "/set_graph_function"
#define BEHIND "ftidx-behind"
#define BEHIND_DIR T "/instances/" BEHIND
#define FULL_SOCKET "/run/ftidx-full/ftidxd.sock"

static bool has_line(const char *path, const char *line)
{
	struct lines l = kread(path);
	bool found = false;

	for (size_t i = 0; i < l.n && !found; i++)
		found = strcmp(l.v[i], line) == 0;
	lines_free(&l);
	return found;
}

/* The probe is listed only when no module pattern is: (6.1, 6.12 and
 * 7.2 alike) a listing with functions and module patterns leaves the
 * probes out. An O_TRUNC of nothing drops the patterns and the functions
 * and keeps the probes, so the probe is asked after one. */
static bool probe_still_set(void)
{
	kwrite(F, "\n", true);
	return has_line(F, "schedule:traceoff:unlimited");
}

static void user_state(void)
{
	kclear(F);
	kwrite(F, "schedule:traceoff\n", false);
	kwrite(F, ":mod:nfsd\n", false);
}

static void drop_probe(void)
{
	kwrite(F, "!schedule:traceoff\n", false);
	kclear(F);
}

/* What ftidx status says of a file: beside ftidx's functions, the
 * probes and module patterns the kernel listed. */
struct others {
	unsigned probes, patterns;
};

/* The status of @file of @instance ("" for the top level): whether it
 * holds what ftidx wrote, and how many functions that was; -2 if ftidx
 * keeps no record of it. */
static int status_with(const char *instance, int file, unsigned *functions, struct others *o)
{
	struct ftidx_status *st = NULL;
	int holds = -2;

	if (ftidx_status(c, &st) < 0)
		return -3;
	for (size_t i = 0; i < ftidx_status_filter_count(st); i++)
		if (ftidx_status_filter_file(st, i) == file &&
		    strcmp(ftidx_status_filter_instance(st, i), instance) == 0) {
			holds = ftidx_status_filter_holds(st, i);
			*functions = ftidx_status_filter_functions(st, i);
			if (o)
				*o = (struct others){ ftidx_status_filter_probes(st, i),
						      ftidx_status_filter_module_patterns(st, i) };
		}
	ftidx_status_free(st);
	return holds;
}

static int status_of(const char *instance, int file, unsigned *functions)
{
	return status_with(instance, file, functions, NULL);
}

static int op_one(struct ftidx *d, int op, int file, const char *instance, const char *name)
{
	const char *tokens[] = { name };

	return ftidx_filter(d, op, file, instance, 0, 0, tokens, 1, NULL);
}

/* ADD beside a probe and a module pattern, as the default daemon checks
 * it (by fences) and as one with --verify=full does (by reading back). */
static void probes_kept(struct ftidx *d, const char *how)
{
	int r1, r2;
	unsigned n = 0;
	int holds;

	user_state();
	r1 = op_one(d, FTIDX_ADD, FTIDX_FILTER, NULL, "vfs_read");
	r2 = op_one(d, FTIDX_ADD, FTIDX_FILTER, NULL, "vfs_write");
	result(r1 == 0 && r2 == 0 && has_line(F, "vfs_read") && has_line(F, "vfs_write") &&
		       has_line(F, ":mod:nfsd"),
	       "share (%s): ftidx add beside a probe and :mod:nfsd adds, and keeps the pattern "
	       "(%d, %d: %s)",
	       how, r1, r2, ftidx_error_message(d));
	if (d == c) {
		struct others o = { 0 };

		/* the listing has functions and a module pattern: no probe */
		holds = status_with("", FTIDX_FILTER, &n, &o);
		result(holds == 1 && o.patterns == 1 && o.probes == 0,
		       "share (%s): the audit finds what ftidx wrote beside them (holds %d), and "
		       "status shows the module pattern as such (%u patterns, %u probes listed)",
		       how, holds, o.patterns, o.probes);
	}
	result(probe_still_set(), "share (%s): the probe survives ftidx's adds", how);
	drop_probe();
}

/* SET does to them what "echo NAME > set_ftrace_filter" does. */
static void set_as_echo(void)
{
	struct lines by_echo, by_ftidx;
	int r;

	user_state();
	kwrite(F, "vfs_read\n", true);
	by_echo = kread(F);
	drop_probe();
	user_state();
	r = op_one(c, FTIDX_SET, FTIDX_FILTER, NULL, "vfs_read");
	by_ftidx = kread(F);
	{
		struct others o = { 0 };
		unsigned n = 0;
		int holds = status_with("", FTIDX_FILTER, &n, &o);

		result(holds == 1 && o.probes == 1 && o.patterns == 0,
		       "share: after ftidx set, status shows the probe as such (holds %d, %u probes, "
		       "%u patterns)",
		       holds, o.probes, o.patterns);
	}
	result(r == 0 && lines_equal(&by_echo, &by_ftidx) && by_echo.n == 2,
	       "share: ftidx set leaves what echo > leaves (the probe kept, the module pattern "
	       "dropped: %zu and %zu lines)",
	       by_echo.n, by_ftidx.n);
	lines_free(&by_echo);
	lines_free(&by_ftidx);
	drop_probe();
}

/* A second ftidxd that reads back every write. */
static struct ftidx *verifying_daemon(pid_t *pid)
{
	struct ftidx *d = NULL;

	mkdir("/run/ftidx-full", 0755);
	*pid = fork();
	if (*pid == 0) {
		execlp("ftidxd", "ftidxd", "--verify=full", "--socket", FULL_SOCKET, "--state-dir",
		       "/run/ftidx-full", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300 && ftidx_connect(FULL_SOCKET, &d) < 0; i++)
		usleep(100 * 1000);
	return d;
}

/* The graph file given one index of a name on many lines: the kernel
 * takes the name, so ftidx's record, the reply and the audit all count
 * every line of it. */
static void graph_widened(void)
{
	struct ftidx_result *r = NULL, *one = NULL;
	const char *tokens[] = { "type_show" };
	size_t n_reply = 0, n_file;
	unsigned n_status = 0;
	uint32_t index = 0;
	int rc, holds;
	struct lines l;

	kclear(G);
	rc = ftidx_resolve(c, tokens, 1, 0, &one);
	if (rc == 0 && ftidx_result_count(one) > 1)
		index = ftidx_result_indices(one)[1];
	ftidx_result_free(one);
	rc = rc ? rc : ftidx_filter_indices(c, FTIDX_SET, FTIDX_GRAPH, NULL, 0, 0, &index, 1, &r);
	l = kread(G);
	n_file = l.n;
	lines_free(&l);
	n_reply = ftidx_result_count(r);
	holds = status_of("", FTIDX_GRAPH, &n_status);
	result(rc == 0 && n_file > 1 && n_reply == n_file && n_status == n_file && holds == 1,
	       "share: a graph file given type_show's index %u: %zu lines, the reply %zu, the "
	       "record %u, holds %d",
	       index, n_file, n_reply, n_status, holds);
	ftidx_result_free(r);
}

/* "!name" of a name the graph file does not hold: EINVAL from the kernel,
 * a no-op from ftidx, as from the function filters. */
static void graph_remove_absent(void)
{
	const char *both[] = { "vfs_write", "vfs_read" };
	int k_absent, k_filter, r1, r2;

	kclear(G);
	kwrite(G, "vfs_read\n", false);
	k_absent = kwrite(G, "!vfs_write\n", false);
	kclear(F);
	kwrite(F, "vfs_read\n", false);
	k_filter = kwrite(F, "!vfs_write\n", false);
	kclear(F);
	result(k_absent == -EINVAL && k_filter == 0,
	       "share: the kernel refuses !vfs_write where the graph file lacks it (%d), and takes "
	       "it on set_ftrace_filter (%d)",
	       k_absent, k_filter);
	r1 = op_one(c, FTIDX_REMOVE, FTIDX_GRAPH, NULL, "vfs_write");
	result(r1 == 0 && has_line(G, "vfs_read"),
	       "share: ftidx remove of a name the graph file lacks is a no-op (%d: %s)", r1,
	       ftidx_error_message(c));
	r2 = ftidx_filter(c, FTIDX_REMOVE, FTIDX_GRAPH, NULL, 0, 0, both, 2, NULL);
	struct lines l = kread(G);
	result(r2 == 0 && l.n == 0,
	       "share: ftidx remove of one held and one absent name takes out the held one (%d, "
	       "%zu lines left)",
	       r2, l.n);
	lines_free(&l);
	kclear(G);
}

/* Another writer between two of ftidx's: its change stays, and STATUS
 * says the file is not what ftidx wrote. trace-cmd, as Debian ships it. */
static void shell_between(void)
{
	const char *tcp[] = { "tcp_sendmsg", "tcp_recvmsg" };
	unsigned n = 0;
	int r, holds, st;

	r = ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, tcp, 2, NULL);
	st = system("trace-cmd start -p function -l vfs_read >/dev/null 2>&1");
	system("echo nop > " T "/current_tracer");
	holds = status_of("", FTIDX_FILTER, &n);
	result(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && holds == 0,
	       "share: after trace-cmd set the filter, ftidx status says another writer changed it "
	       "(holds %d)",
	       holds);
	r = op_one(c, FTIDX_ADD, FTIDX_FILTER, NULL, "udp_sendmsg");
	result(r == 0 && has_line(F, "vfs_read") && has_line(F, "udp_sendmsg") &&
		       !has_line(F, "tcp_sendmsg"),
	       "share: ftidx add after it keeps trace-cmd's vfs_read and does not bring back the "
	       "tcp_* set it replaced (%d)",
	       r);
	kclear(F);
}

/*
 * A shell writes one name while ftidx's long ADD is being written: the
 * kernel commits each writer's copy at close, so the one to close first
 * loses its change. After each round the shell's name is there, or
 * ftidx status says another writer changed the file.
 */
#define RACE_ROUNDS 6

static void shell_write_when_ftidx_writes(int ready_fd, const char *name)
{
	int fd = inotify_init1(IN_CLOEXEC);
	char buf[4096], line[128];

	inotify_add_watch(fd, F, IN_MODIFY);
	(void)!write(ready_fd, "r", 1);
	(void)!read(fd, buf, sizeof(buf)); /* ftidx's first write() */
	snprintf(line, sizeof(line), "%s\n", name);
	_exit(kwrite(F, line, false) == 0 ? 0 : 1);
}

static void race_rounds(void)
{
	static const char *const shell[RACE_ROUNDS] = { "vfs_read",  "vfs_write",  "vfs_open",
							"tcp_sendmsg", "tcp_recvmsg", "udp_sendmsg" };
	const char *many[] = { "s*" }, *first[] = { "vfs_fsync" };
	unsigned lost = 0, reported = 0, silent = 0, n;

	for (size_t i = 0; i < RACE_ROUNDS; i++) {
		int p[2], holds, r, st = 0;
		bool kept;
		pid_t pid;
		char ready;

		ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, first, 1, NULL);
		if (pipe(p) < 0)
			break;
		pid = fork();
		if (pid == 0)
			shell_write_when_ftidx_writes(p[1], shell[i]);
		(void)!read(p[0], &ready, 1);
		r = ftidx_filter(c, FTIDX_ADD, FTIDX_FILTER, NULL, 0, 0, many, 1, NULL);
		waitpid(pid, &st, 0);
		close(p[0]);
		close(p[1]);
		kept = has_line(F, shell[i]);
		holds = status_of("", FTIDX_FILTER, &n);
		lost += !kept;
		reported += !kept && holds == 0;
		silent += !kept && holds != 0;
		result(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && (kept || holds == 0),
		       "share: race %zu: the shell's %s is %s, ftidx status says %s", i + 1, shell[i],
		       kept ? "kept" : "lost (the kernel kept ftidx's copy)",
		       holds == 0 ? "another writer changed the file" : "it holds what ftidx wrote");
	}
	printf("VM-SHARE: %u races: the kernel lost the shell's change in %u, ftidx said so in %u, "
	       "silently in %u\n",
	       RACE_ROUNDS, lost, reported, silent);
	/* a round whose shell change the kernel lost certainly raced: with
	 * none, the rounds above proved nothing about a race */
	result(lost > 0 && reported == lost,
	       "share: %u of %u rounds raced (the kernel lost the shell's change), and ftidx said "
	       "so in each (%u)",
	       lost, RACE_ROUNDS, reported);
	kclear(F);
}

/* An instance removed and made again by someone else (rmdir, mkdir):
 * what ftidx wrote there went with it. */
static void instance_behind(void)
{
	unsigned n = 0;
	int r, holds;

	rmdir(BEHIND_DIR);
	mkdir(BEHIND_DIR, 0755);
	r = op_one(c, FTIDX_ADD, FTIDX_FILTER, BEHIND, "vfs_read");
	r |= op_one(c, FTIDX_ADD, FTIDX_NOTRACE, BEHIND, "vfs_write");
	rmdir(BEHIND_DIR);
	usleep(200 * 1000);
	holds = status_of(BEHIND, FTIDX_FILTER, &n);
	result(r == 0 && holds == -2,
	       "share: an instance removed behind ftidxd's back takes its records (holds %d)", holds);
	mkdir(BEHIND_DIR, 0755);
	r = op_one(c, FTIDX_ADD, FTIDX_FILTER, BEHIND, "vfs_write");
	holds = status_of(BEHIND, FTIDX_FILTER, &n);
	result(r == 0 && holds == 1 && n == 1,
	       "share: made again, the instance's filter is what ftidx added there since (%d "
	       "functions, holds %d)",
	       n, holds);
	rmdir(BEHIND_DIR);
}

void sharing(void)
{
	struct ftidx *full;
	pid_t pid;

	probes_kept(c, "default");
	set_as_echo();
	full = verifying_daemon(&pid);
	if (full)
		probes_kept(full, "--verify=full");
	else
		result(false, "share: a second ftidxd with --verify=full answers");
	ftidx_unref(full);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	graph_widened();
	graph_remove_absent();
	shell_between();
	race_rounds();
	instance_behind();
}
