/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The speed table: writing names as the kernel and libtracefs do, against
 * ftidx, on this kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <tracefs.h>
#include <unistd.h>

#include "ftidx.h"
#include "growbuf.h"
#include "vm-common.h"

/* ---- the speed table --------------------------------------------------- */

/* Names on exactly one line of the core kernel, in line order. */
static size_t unique_names(char ***names, uint32_t **indices, size_t want)
{
	struct ftidx_result *all = NULL;
	size_t n = 0;

	if (ftidx_list(c, FTIDX_LIST_BY_MODULE, "", &all) < 0)
		return 0;
	*names = malloc(sizeof(**names) * want);
	*indices = malloc(sizeof(**indices) * want);
	{
		size_t total = ftidx_result_count(all);
		const char **sorted = malloc(sizeof(*sorted) * total);

		for (size_t i = 0; i < total; i++)
			sorted[i] = ftidx_result_line(all, i);
		qsort(sorted, total, sizeof(*sorted), cmp_str);
		for (size_t i = 0; i < total && n < want; i++) {
			const char *line = ftidx_result_line(all, i);
			const char **hit = bsearch(&line, sorted, total, sizeof(*sorted), cmp_str);
			size_t copies = 1;

			for (const char **p = hit + 1; p < sorted + total && !strcmp(*p, line); p++)
				copies++;
			for (const char **p = hit - 1; p >= sorted && !strcmp(*p, line); p--)
				copies++;
			if (copies == 1 && strchr(line, '.') == NULL) {
				(*names)[n] = strdup(line);
				(*indices)[n++] = ftidx_result_index(all, i);
			}
		}
		free(sorted);
	}
	ftidx_result_free(all);
	return n;
}

static char *join(char **v, size_t n, bool indices, const uint32_t *idx)
{
	size_t cap = 64 + n * 80, at = 0;
	char *s = malloc(cap);

	for (size_t i = 0; i < n; i++)
		at += indices ? (size_t)sprintf(s + at, "%u ", idx[i])
			      : (size_t)sprintf(s + at, "%s ", v[i]);
	s[at ? at - 1 : 0] = '\n';
	s[at] = '\0';
	return s;
}

static double time_kernel(char *text)
{
	double t0;
	int r;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	r = kwrite(T "/set_ftrace_filter", text, true);
	t0 = now_ms() - t0;
	if (r < 0)
		printf("VM: info: write refused: %s\n", strerror(-r));
	return t0;
}

/* The floor for a verified write: the raw write, then one read back. */
static double time_kernel_verified(char *text)
{
	double t0;
	size_t len;
	char *back;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	kwrite(T "/set_ftrace_filter", text, true);
	back = slurp(T "/set_ftrace_filter", &len);
	t0 = now_ms() - t0;
	free(back);
	return t0;
}

static double time_tracefs(char **names, size_t n)
{
	double t0;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	for (size_t i = 0; i < n; i++)
		tracefs_function_filter(NULL, names[i], NULL,
					(i == 0 ? TRACEFS_FL_RESET : 0) |
						(i + 1 < n ? TRACEFS_FL_CONTINUE : 0));
	return now_ms() - t0;
}

static double time_ftidx(char **names, size_t n, bool check)
{
	double t0;
	int r;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	r = ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, (const char *const *)names, n,
			 NULL);
	t0 = now_ms() - t0;
	if (check) {
		struct lines l = kread(T "/set_ftrace_filter");

		result(r == 0 && l.n == n, "ftidx set of %zu names: %zu lines enabled", n, l.n);
		lines_free(&l);
	}
	return t0;
}

static double time_cli(char **names, size_t n)
{
	FILE *f = fopen("/tmp/names.txt", "w");
	double t0;
	int r;

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", names[i]);
	fclose(f);
	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	r = system("ftidx set - < /tmp/names.txt > /dev/null");
	t0 = now_ms() - t0;
	if (r != 0)
		printf("VM: info: ftidx CLI failed\n");
	return t0;
}

/* "trace-cmd start -p function" with one "-l NAME" per name, plainly
 * or through "ftidx exec"; the time it takes, or -1 if it failed. */
static double time_tracecmd(char **names, size_t n, bool through_ftidx)
{
	struct growbuf cmd = { 0 };
	const char *head = through_ftidx ? "ftidx exec -- trace-cmd start -p function"
					 : "trace-cmd start -p function";
	double t0;
	int r;

	growbuf_append_text(&cmd, head, strlen(head));
	for (size_t i = 0; i < n; i++) {
		growbuf_append_text(&cmd, " -l ", 4);
		growbuf_append_text(&cmd, names[i], strlen(names[i]));
	}
	growbuf_append_text(&cmd, " >/dev/null 2>/tmp/tc-speed.err\n", 32);
	if (system("trace-cmd reset >/dev/null 2>&1") != 0)
		printf("VM: info: trace-cmd reset failed\n");
	/* from a script: one string of sh -c may not pass 128 KiB */
	r = -1;
	if (!cmd.failed) {
		FILE *f = fopen("/tmp/tc-speed.sh", "w");

		if (f && fputs((char *)cmd.data, f) >= 0 && fclose(f) == 0)
			r = 0;
	}
	t0 = now_ms();
	if (r == 0)
		r = system("sh /tmp/tc-speed.sh");
	t0 = now_ms() - t0;
	if (r != 0) {
		size_t len;
		char *err = slurp("/tmp/tc-speed.err", &len);

		printf("VM: info: trace-cmd with %zu names failed (%d): %.200s\n", n, r, err);
		free(err);
	}
	if (system("trace-cmd reset >/dev/null 2>&1") != 0)
		printf("VM: info: trace-cmd reset failed\n");
	growbuf_deinit(&cmd);
	return r == 0 ? t0 : -1;
}

int run_speed(void)
{
	static const char *const rows[] = {
		"kernel, names in one write (10k: 1k scaled)",
		"libtracefs per name, as trace-cmd (scaled)",
		"raw write of the indices (the floor)",
		"raw write + reading the filter back",
		"ftidx set (libftidx, names)",
		"ftidx set - (the CLI, names on stdin)",
		"trace-cmd start -l NAME... (scaled)",
		"ftidx exec -- trace-cmd start -l NAME...",
	};
	const size_t sizes[2] = { 1000, 10000 };
	struct utsname u;
	double t[8][2];
	char **names = NULL;
	uint32_t *idx = NULL;
	size_t n = unique_names(&names, &idx, 10000);
	char *text;

	result(n == 10000, "found %zu core functions with unique names", n);
	if (n < 10000)
		return 1;
	text = join(names, 1000, false, NULL);
	t[0][0] = time_kernel(text);
	t[0][1] = t[0][0] * 10;
	free(text);
	t[1][0] = time_tracefs(names, 30) * 1000 / 30;
	t[1][1] = t[1][0] * 10;
	for (int s = 0; s < 2; s++) {
		text = join(names, sizes[s], true, idx);
		t[2][s] = time_kernel(text);
		t[3][s] = time_kernel_verified(text);
		free(text);
		t[4][s] = time_ftidx(names, sizes[s], true);
		t[5][s] = time_cli(names, sizes[s]);
		t[7][s] = time_tracecmd(names, sizes[s], true);
	}
	/* plain trace-cmd re-reads every function per name: 30 of them, scaled */
	t[6][0] = time_tracecmd(names, 30, false) * 1000 / 30;
	t[6][1] = t[6][0] * 10;
	kclear(T "/set_ftrace_filter");

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	printf("VM-SPEED: %-24s %-44s %10s %9s %10s %9s\n", "kernel", "method", "1,000", "x floor",
	       "10,000", "x floor");
	for (int row = 0; row < 8; row++)
		printf("VM-SPEED: %-24s %-44s %7.0f ms %8.2fx %7.0f ms %8.2fx\n", u.release, rows[row],
		       t[row][0],
		       t[row][0] / t[2][0], t[row][1], t[row][1] / t[2][1]);
	printf("VM-SPEED: %s: ftidx set vs the kernel by name: %.0fx faster (1,000), %.0fx (10,000); "
	       "target: at least 1000x\n",
	       u.release, t[0][0] / t[4][0], t[0][1] / t[4][1]);
	printf("VM-SPEED: %s: ftidx set vs the floor: %.2fx (1,000), %.2fx (10,000); target: at most "
	       "1.5x. ftidx verifies every write by reading the filter back, and that read alone "
	       "costs the kernel %.2fx (10,000) of the floor: against a verified raw write, ftidx "
	       "is %.2fx (1,000), %.2fx (10,000)\n",
	       u.release, t[4][0] / t[2][0], t[4][1] / t[2][1], (t[3][1] - t[2][1]) / t[2][1],
	       t[4][0] / t[3][0], t[4][1] / t[3][1]);
	printf("VM-SPEED: %s: trace-cmd through ftidx exec vs plain: %.0fx faster (1,000), %.0fx "
	       "(10,000); target: at least 100x\n",
	       u.release, t[6][0] / t[7][0], t[6][1] / t[7][1]);
	result(t[7][0] > 0 && t[7][1] > 0 && t[6][0] > 0, "trace-cmd timed, plain and through ftidx");
	return 0;
}
