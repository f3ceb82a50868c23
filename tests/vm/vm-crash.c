/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash safety on the real kernel: a large write, ftidxd killed with
 * SIGKILL at a random point of it, ftidxd started again; the filter must
 * then hold exactly what it held before or exactly what was asked, line
 * for line by name, never anything in between. For SET, ADD and REMOVE,
 * each of them many times.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ftidx.h"
#include "vm-common.h"

/* ftidxd's pid, or 0. */
static pid_t daemon_pid(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t pid = 0;

	while (d && !pid && (e = readdir(d))) {
		char path[300], comm[64] = "";
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && strcmp(comm, "ftidxd\n") == 0)
			pid = (pid_t)atoi(e->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return pid;
}

/* Start ftidxd and connect to it again; what it says it recovered. */
static bool restart(char *recovery, size_t size)
{
	struct ftidx_status *st = NULL;

	ftidx_unref(c);
	c = NULL;
	if (system("ftidxd 2>>/tmp/ftidxd.log &") != 0)
		return false;
	for (int i = 0; i < 600 && !c; i++) {
		if (ftidx_connect(NULL, &c) < 0) {
			c = NULL;
			usleep(50 * 1000);
		}
	}
	if (!c)
		return false;
	ftidx_set_timeout(c, 0);
	/* served once the daemon is done with recovery */
	if (ftidx_status(c, &st) < 0)
		return false;
	snprintf(recovery, size, "%s", ftidx_status_text(st, FTIDX_STAT_RECOVERY));
	ftidx_status_free(st);
	return true;
}

static void kill_daemon(void)
{
	pid_t pid = daemon_pid();

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10 * 1000);
}

static int run_op(int op, const char *pattern, bool async)
{
	struct ftidx_request *rq = NULL;
	int r;

	ftidx_request_new(&rq);
	ftidx_request_set_op(rq, op);
	ftidx_request_add_tokens(rq, &pattern, 1);
	r = async ? ftidx_request_send(c, rq) : ftidx_request_run(c, rq, NULL);
	ftidx_request_free(rq);
	return r;
}

struct crash_case {
	const char *name;
	const char *old_pattern; /* SET to this first */
	int op;
	const char *pattern;
};

static void crash_case(const struct crash_case *cc, unsigned runs)
{
	unsigned old = 0, new = 0, partial = 0, recoveries = 0, failures = 0;
	double usual, min_kill = 1e9, max_kill = 0;
	struct lines before, after;
	char recovery[512];

	/* the two states, and how long the write usually takes */
	run_op(FTIDX_SET, cc->old_pattern, false);
	before = kread(T "/set_ftrace_filter");
	usual = now_ms();
	if (run_op(cc->op, cc->pattern, false) < 0)
		failures++;
	usual = now_ms() - usual;
	after = kread(T "/set_ftrace_filter");

	for (unsigned i = 0; i < runs; i++) {
		double at = usual * (double)(rand() % 1001) / 1000.0;
		struct lines now;

		if (run_op(FTIDX_SET, cc->old_pattern, false) < 0)
			failures++;
		if (run_op(cc->op, cc->pattern, true) < 0)
			failures++;
		usleep((useconds_t)(at * 1000));
		kill_daemon();
		min_kill = at < min_kill ? at : min_kill;
		max_kill = at > max_kill ? at : max_kill;
		if (!restart(recovery, sizeof(recovery))) {
			failures++;
			break;
		}
		recoveries += strstr(recovery, "recovered") != NULL;
		now = kread(T "/set_ftrace_filter");
		if (lines_equal(&now, &before))
			old++;
		else if (lines_equal(&now, &after))
			new++;
		else {
			partial++;
			printf("VM: info: crash %s run %u: %zu lines, neither %zu nor %zu (%s)\n",
			       cc->name, i, now.n, before.n, after.n, recovery);
		}
		lines_free(&now);
	}
	printf("VM-CRASH: %-8s %3u runs, killed at %4.0f to %4.0f ms of %4.0f: old %3u, new %3u, "
	       "partial %u, recoveries %u (%zu -> %zu lines)\n",
	       cc->name, old + new + partial, min_kill, max_kill, usual, old, new, partial,
	       recoveries, before.n, after.n);
	/* A recovery is a kill that landed in the middle of the write: the
	 * restarted daemon found part of it written and put the old filter
	 * back. Without one, the runs proved nothing about a partial write
	 * (the kill times scale with the write's time in this guest). */
	result(partial == 0 && failures == 0 && old + new == runs && recoveries > 0,
	       "crash safety, %s: %u kills, %u of them in the middle of the write (recovered), "
	       "%u partial filters",
	       cc->name, runs, recoveries, partial);
	lines_free(&before);
	lines_free(&after);
}

void crash_safety(unsigned runs)
{
	static const struct crash_case cases[] = {
		{ "set", "vfs_*", FTIDX_SET, "*" },
		{ "add", "vfs_*", FTIDX_ADD, "[a-m]*" },
		{ "remove", "*", FTIDX_REMOVE, "*_*" },
	};

	if (!runs)
		return;
	srand((unsigned)time(NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		crash_case(&cases[i], runs);
	kclear(T "/set_ftrace_filter");
}
