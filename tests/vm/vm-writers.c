/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every writer of the filter files, plainly and under "ftidx exec" (the
 * drop-in's filter sessions, docs/filter-sessions.md), judged by the real
 * kernel: Debian's bash and dash, coreutils' cat, perf ftrace and a C
 * program (ftidx-vm write CASE: write(), writev(), dup2(), fork(), stdio)
 * each run both ways from the same starting filters, and the filter
 * files' contents (sorted), the exit status and standard error compared.
 * The slow cases are timed both ways, beside the kernel's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm-common.h"

/* Debian's programs, dynamically linked (the guest's busybox is static). */
#define DEB "/opt/debian"
#define BASH DEB "/bash"
#define DASH DEB "/dash"
#define CAT DEB "/cat"
#define PERF DEB "/perf"
#define WI "wr"
#define WIP T "/instances/" WI
#define F T "/set_ftrace_filter"

static const char *const files[] = {
	T "/set_ftrace_filter", T "/set_ftrace_notrace", T "/set_graph_function",
	T "/set_graph_notrace", WIP "/set_ftrace_filter",
};

/* What a run left: its exit status, its standard error, and every filter
 * file's sorted lines. */
struct outcome {
	int status;
	char *err;
	struct lines filters[5];
	double ms;
};

static void outcome_free(struct outcome *o)
{
	free(o->err);
	for (size_t i = 0; i < 5; i++)
		lines_free(&o->filters[i]);
}

/* Standard error less what ftidx says (once) when it hands a session to
 * the kernel for a program no preload reaches, in place; anything else
 * it says stays, and differs from a plain run's. */
static void without_ftidx_lines(char *err)
{
	char *line = err, *out = err;

	while (*line) {
		size_t len = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');

		if (strncmp(line, "ftidx: writing ", 15) != 0 ||
		    !strstr(line, "not reached by ftidx's preload")) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	*out = '\0';
}

static bool outcome_equal(const struct outcome *a, const struct outcome *b)
{
	bool same = a->status == b->status && strcmp(a->err, b->err) == 0;

	for (size_t i = 0; same && i < 5; i++)
		same = lines_equal(&a->filters[i], &b->filters[i]);
	return same;
}

static void read_filters(struct lines *filters)
{
	for (size_t i = 0; i < 5; i++)
		filters[i] = kread(files[i]);
}

/* Every filter as nothing, no probe nor module pattern left, tracing on. */
static void reset(void)
{
	/* a probe goes only when it is named */
	kwrite(F, "!schedule:traceoff\n", false);
	for (size_t i = 0; i < 5; i++)
		kclear(files[i]);
	kwrite(T "/tracing_on", "1\n", true);
	kwrite(T "/current_tracer", "nop\n", true);
}

/* Run @cmd with /bin/sh, under "ftidx exec" with @through. */
static void run_sh(const char *cmd, bool through, struct outcome *o)
{
	char full[16384];
	size_t len;
	double t0;
	int status;

	snprintf(full, sizeof(full), "%s%s 2>/tmp/writer.err", through ? "ftidx exec -- " : "",
		 cmd);
	t0 = now_ms();
	status = system(full);
	o->ms = now_ms() - t0;
	o->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	o->err = slurp("/tmp/writer.err", &len);
}

/*
 * @what, the shell command @cmd (its quoting is /bin/sh's), plainly and
 * through ftidx, each from nothing: the same outcome. Its times in *@plain
 * and *@through when asked.
 */
static bool both_ways(const char *what, const char *cmd, double *plain_ms, double *through_ms)
{
	struct outcome a = { 0 }, b = { 0 };
	bool same;

	reset();
	run_sh(cmd, false, &a);
	read_filters(a.filters);
	reset();
	run_sh(cmd, true, &b);
	read_filters(b.filters);
	without_ftidx_lines(b.err);
	same = outcome_equal(&a, &b);
	result(same, "writers: %s: exit %d and %d, %zu and %zu lines, errors %s", what, a.status,
	       b.status, a.filters[0].n + a.filters[1].n + a.filters[2].n + a.filters[4].n,
	       b.filters[0].n + b.filters[1].n + b.filters[2].n + b.filters[4].n,
	       strcmp(a.err, b.err) == 0 ? "the same" : "DIFFERENT");
	if (!same)
		printf("VM: info: writers: plainly: [%s]; through ftidx: [%s]\n", a.err, b.err);
	if (plain_ms)
		*plain_ms = a.ms;
	if (through_ms)
		*through_ms = b.ms;
	outcome_free(&a);
	outcome_free(&b);
	return same;
}

/* The first @n distinct function names of the core kernel, one a line,
 * into @path; with @bad, a name that matches nothing after the first half. */
static void name_list(const char *path, size_t n, bool bad)
{
	struct lines l = read_lines(T "/available_filter_functions", false);
	FILE *f = fopen(path, "w");
	size_t k = 0;

	for (size_t i = 0; i < l.n && k < n; i++) {
		if (strchr(l.v[i], '[') || strstr(l.v[i], "__ftrace_invalid") ||
		    strchr(l.v[i], '.') || (i > 0 && strcmp(l.v[i], l.v[i - 1]) == 0))
			continue;
		fprintf(f, "%s\n", l.v[i]);
		if (bad && ++k == n / 2)
			fprintf(f, "no_such_function_xyz\n");
		else if (!bad)
			k++;
	}
	fclose(f);
	lines_free(&l);
}

static void shells(void)
{
	double plain, through;
	char cmd[1024];

	mkdir(WIP, 0750);
	name_list("/tmp/names1000", 1000, false);
	name_list("/tmp/names10bad", 10, true);
	for (int sh = 0; sh < 2; sh++) {
		const char *shell = sh ? DASH : BASH;

		snprintf(cmd, sizeof(cmd), "%s -c 'echo vfs_read vfs_write ksys_read > " F "'", shell);
		both_ways(sh ? "dash: echo a b c >" : "bash: echo a b c >", cmd, NULL, NULL);
		snprintf(cmd, sizeof(cmd),
			 "%s -c 'echo vfs_read > " F "; echo vfs_write >> " F "; echo \"!vfs_read\" >> " F
			 "; echo vfs_open >> " F "'",
			 shell);
		both_ways(sh ? "dash: >, >> and !" : "bash: >, >> and !", cmd, NULL, NULL);
		/* the kernel lets a program's own writes leave the filter empty
		 * (a session's commit asks for it) */
		snprintf(cmd, sizeof(cmd),
			 "%s -c 'echo vfs_read > " F "; echo \"!vfs_read\" >> " F "'", shell);
		both_ways(sh ? "dash: a ! that empties the filter" : "bash: a ! that empties the filter",
			  cmd, NULL, NULL);
		snprintf(cmd, sizeof(cmd), "%s -c 'echo vfs_read no_such_function_xyz vfs_write > " F "'",
			 shell);
		both_ways(sh ? "dash: a name that matches nothing in the middle"
			     : "bash: a name that matches nothing in the middle",
			  cmd, NULL, NULL);
	}

	/* cat of 1,000 names, timed: the kernel matches each by name */
	snprintf(cmd, sizeof(cmd), BASH " -c '" CAT " /tmp/names1000 > " F "'");
	/* (a figure, not a verdict: times under TCG vary) */
	if (both_ways("bash: cat of 1,000 names >", cmd, &plain, &through))
		printf("VM-WRITERS: cat of 1,000 names: %.0f ms plainly, %.0f ms through ftidx "
		       "(%.0fx)\n",
		       plain, through, plain / through);
	snprintf(cmd, sizeof(cmd), BASH " -c '" CAT " /tmp/names10bad > " F "'");
	both_ways("bash: cat of a list with a name that matches nothing in the middle", cmd, NULL,
		  NULL);
	/* busybox's cat, linked statically: the kernel's file in the session's
	 * place (said once, which is left out of the comparison) */
	both_ways("bash: busybox's cat (static) of a list with a name that matches nothing",
		  BASH " -c '/bin/busybox cat /tmp/names10bad > " F "'", NULL, NULL);

	/* a loop of 100 appends, timed */
	snprintf(cmd, sizeof(cmd),
		 BASH " -c 'for f in $(head -n 100 /tmp/names1000); do echo $f >> " F "; done'");
	if (both_ways("bash: 100 echo NAME >>", cmd, &plain, &through))
		printf("VM-WRITERS: 100 echo NAME >>: %.0f ms plainly, %.0f ms through ftidx (%.1fx)\n",
		       plain, through, plain / through);

	/* a probe and a module pattern the kernel keeps, beside names */
	both_ways("bash: schedule:traceoff beside names",
		  BASH " -c 'echo vfs_read schedule:traceoff vfs_write > " F "'", NULL, NULL);
	both_ways("bash: a cached :mod: beside names",
		  BASH " -c 'echo vfs_read :mod:no_such_module_xyz > " F "; echo vfs_write >> " F "'",
		  NULL, NULL);
	/* an instance; the notrace and graph files */
	both_ways("bash: an instance",
		  BASH " -c 'echo vfs_read vfs_write > " WIP "/set_ftrace_filter; echo \"!vfs_read\" "
		       ">> " WIP "/set_ftrace_filter'",
		  NULL, NULL);
	both_ways("bash: notrace and graph files",
		  BASH " -c 'echo vfs_read > " T "/set_ftrace_notrace; echo vfs_read vfs_write > " T
		       "/set_graph_function; echo \"!vfs_read\" >> " T "/set_graph_function; echo "
		       "vfs_open > " T "/set_graph_notrace'",
		  NULL, NULL);
	reset();
	rmdir(WIP);
}

/* ---- a C program: ftidx-vm write CASE ------------------------------------ */

static void print_filter(void)
{
	struct lines l = kread(F);

	printf("[");
	for (size_t i = 0; i < l.n; i++)
		printf("%s%s", i ? " " : "", l.v[i]);
	printf("]");
	lines_free(&l);
}

int write_case(const char *what)
{
	int fd = open(F, O_WRONLY | O_TRUNC), status;

	if (fd < 0)
		return 3;
	if (!strcmp(what, "once")) {
		printf("%zd", write(fd, "vfs_read vfs_write\n", 19));
	} else if (!strcmp(what, "loop")) {
		const char *text = "vfs_read no_such_function_xyz vfs_write\n";
		size_t at = 0, n = strlen(text);

		while (at < n) {
			ssize_t r = write(fd, text + at, n - at);

			printf("%zd ", r < 0 ? -errno : r);
			if (r <= 0)
				break;
			at += (size_t)r;
		}
	} else if (!strcmp(what, "writev")) {
		struct iovec whole[] = { { "vfs_read ", 9 }, { "vfs_write ", 10 }, { "ksys_read\n", 10 } };
		struct iovec cut[] = { { "vfs_open vfs_fsync ", 19 }, { "x\n", 2 } };

		printf("%zd ", writev(fd, whole, 3));
		printf("%zd", writev(fd, cut, 2));
	} else if (!strcmp(what, "dupfork")) {
		pid_t pid;

		if (dup2(fd, 7) != 7 || close(fd) != 0)
			return 4;
		fd = 7;
		pid = fork();
		if (pid == 0) {
			if (write(7, "vfs_write\n", 10) != 10)
				exit(5);
			exit(0);
		}
		waitpid(pid, &status, 0);
		print_filter();
		printf("%zd", write(7, "vfs_read\n", 9));
	} else if (!strcmp(what, "notrail")) {
		printf("%zd ", write(fd, "vfs_open vfs_read", 17));
		printf("%zd ", write(fd, "vfs_read", 8));
		printf("%d ", close(fd));
		fd = open(F, O_WRONLY | O_APPEND);
		printf("%zd ", write(fd, "no_such_function_xyz", 20));
	} else if (!strcmp(what, "stdio")) {
		FILE *f = fdopen(fd, "w");
		int r;

		fprintf(f, "vfs_read no_such_function_xyz vfs_write\n");
		r = fclose(f);
		printf("%d %s", r, r ? strerror(errno) : "");
		print_filter();
		return 0;
	} else {
		return 2;
	}
	printf(" %d", close(fd));
	print_filter();
	return 0;
}

static void c_program(void)
{
	static const char *const cases[] = { "once", "loop", "writev", "dupfork", "notrail", "stdio" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[256], what[128];
		size_t len;
		char *plain, *through;

		snprintf(cmd, sizeof(cmd), "ftidx-vm write %s > /tmp/writer.out", cases[i]);
		snprintf(what, sizeof(what), "a C program: %s", cases[i]);
		both_ways(what, cmd, NULL, NULL);
		/* and what it printed: each write()'s result, the filter it read */
		reset();
		if (system(cmd) != 0)
			printf("VM: info: writers: %s failed plainly\n", cases[i]);
		plain = slurp("/tmp/writer.out", &len);
		reset();
		snprintf(cmd, sizeof(cmd), "ftidx exec -- ftidx-vm write %s > /tmp/writer.out",
			 cases[i]);
		if (system(cmd) != 0)
			printf("VM: info: writers: %s failed through ftidx\n", cases[i]);
		through = slurp("/tmp/writer.out", &len);
		result(strcmp(plain, through) == 0, "writers: a C program: %s: printed %s and %s",
		       cases[i], plain, through);
		free(plain);
		free(through);
	}
	reset();
}

/* ---- perf ftrace ---------------------------------------------------------- */

/*
 * perf ftrace sets its filters, runs its workload (sleep 2), and resets
 * them at its end: the filters are read while the workload runs, once
 * perf has set its tracer (after the filters); how long that took in
 * *@ms.
 */
static void run_perf(const char *args, bool through, struct outcome *o)
{
	char cmd[16384];
	double t0;
	size_t len;
	pid_t pid;
	int status;

	snprintf(cmd, sizeof(cmd), "%s" PERF " ftrace %s -- sleep 2 >/dev/null 2>/tmp/perf.err",
		 through ? "ftidx exec -- " : "", args);
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	o->ms = -1;
	for (int i = 0; i < 6000; i++) {
		char *tracer = slurp(T "/current_tracer", &len);
		bool set = strcmp(tracer, "nop\n") != 0;

		free(tracer);
		if (set) {
			o->ms = now_ms() - t0;
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = 0;
			break;
		}
		usleep(20000);
	}
	read_filters(o->filters);
	if (pid)
		waitpid(pid, &status, 0);
	o->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	o->err = slurp("/tmp/perf.err", &len);
}

static bool perf_both(const char *what, const char *args, double *plain_ms, double *through_ms)
{
	struct outcome a = { 0 }, b = { 0 };
	bool same;

	reset();
	run_perf(args, false, &a);
	reset();
	run_perf(args, true, &b);
	same = outcome_equal(&a, &b);
	result(same, "writers: perf ftrace %s: exit %d and %d, %zu and %zu lines while it ran",
	       what, a.status, b.status,
	       a.filters[0].n + a.filters[1].n + a.filters[2].n,
	       b.filters[0].n + b.filters[1].n + b.filters[2].n);
	if (!same)
		printf("VM: info: writers: plainly: [%s]; through ftidx: [%s]\n", a.err, b.err);
	if (plain_ms)
		*plain_ms = a.ms;
	if (through_ms)
		*through_ms = b.ms;
	outcome_free(&a);
	outcome_free(&b);
	return same;
}

static void perf_ftrace(void)
{
	struct lines l = read_lines("/tmp/names1000", false);
	char *args = calloc(1, 200 * 80 + 1);
	double plain, through;

	if (access(PERF, X_OK) < 0) {
		result(false, "writers: Debian's perf is in the guest");
		lines_free(&l);
		free(args);
		return;
	}
	perf_both("-T vfs_read", "-T vfs_read", NULL, NULL);
	perf_both("-T with 10 names",
		  "-T vfs_read -T vfs_write -T vfs_open -T ksys_read -T ksys_write -T vfs_fsync "
		  "-T do_sys_open -T vfs_readv -T vfs_writev -T vfs_llseek",
		  NULL, NULL);
	perf_both("-T 'vfs_*'", "-T 'vfs_*'", NULL, NULL);
	perf_both("-T a name that matches nothing", "-T no_such_function_xyz", NULL, NULL);
	perf_both("-N", "-T 'vfs_*' -N vfs_read", NULL, NULL);
	perf_both("-G", "-G vfs_read", NULL, NULL);
	for (size_t i = 0; i < 200 && i < l.n; i++) {
		strcat(args, " -T ");
		strcat(args, l.v[i]);
	}
	if (perf_both("-T with 200 names", args, &plain, &through))
		printf("VM-WRITERS: perf ftrace -T with 200 names, until its filters are set: %.0f ms "
		       "plainly, %.0f ms through ftidx (%.1fx)\n",
		       plain, through, plain / through);
	reset();
	lines_free(&l);
	free(args);
}

void writers(void)
{
	shells();
	c_program();
	perf_ftrace();
}
