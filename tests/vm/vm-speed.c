/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The speed table: writing names as the kernel and libtracefs do, against
 * ftidx, on this kernel; and how a request's cost grows with its batch,
 * against the raw write of the same indices.
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
#include "macro.h"
#include "vm-common.h"

/* ---- the speed table --------------------------------------------------- */

/* Order lines by function name alone: "NAME" and "NAME [MODULE]" tie. */
static int cmp_name(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t nx = strcspn(x, " "), ny = strcspn(y, " ");
	int d = strncmp(x, y, nx < ny ? nx : ny);

	return d ? d : (nx > ny) - (nx < ny);
}

/* Core functions whose name is on exactly one line of the whole map (no
 * module has it either), in line order: a write by name enables just
 * that line, as the same write by index does. */
static size_t unique_names(char ***names, uint32_t **indices, size_t want)
{
	struct ftidx_result *all = NULL;
	const char **sorted = NULL;
	size_t n = 0, total;

	if (ftidx_list(c, 0, NULL, &all) < 0) {
		printf("VM: info: cannot list the map: %s\n", ftidx_error_message(c));
		return 0;
	}
	total = ftidx_result_count(all);
	want = MIN(want, total);
	*names = malloc(sizeof(**names) * (want ? want : 1));
	*indices = malloc(sizeof(**indices) * (want ? want : 1));
	sorted = malloc(sizeof(*sorted) * total);
	for (size_t i = 0; i < total; i++)
		sorted[i] = ftidx_result_line(all, i);
	qsort(sorted, total, sizeof(*sorted), cmp_name);
	for (size_t i = 0; i < total && n < want; i++) {
		const char *line = ftidx_result_line(all, i);
		const char **hit = bsearch(&line, sorted, total, sizeof(*sorted), cmp_name);
		bool alone = (hit == sorted || cmp_name(hit - 1, &line) != 0) &&
			     (hit + 1 == sorted + total || cmp_name(hit + 1, &line) != 0);

		if (alone && !strchr(line, ' ') && !strchr(line, '.')) {
			(*names)[n] = strdup(line);
			(*indices)[n++] = ftidx_result_index(all, i);
		}
	}
	free(sorted);
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

/* Every line that is not a placeholder, as indices: what "*" selects.
 * Read off the kernel's own list, not asked of ftidx, whose "set *" is
 * judged against it. */
static size_t all_indices(uint32_t **out)
{
	size_t len, n = 0, cap = 0;
	char *text = slurp(T "/available_filter_functions", &len), *save = NULL;
	uint32_t i = 0;

	*out = NULL;
	for (size_t k = 0; k < len; k++)
		cap += text[k] == '\n';
	*out = malloc(sizeof(**out) * (cap ? cap : 1));
	for (char *l = strtok_r(text, "\n", &save); l && *out; l = strtok_r(NULL, "\n", &save)) {
		i++;
		if (strncmp(l, "__ftrace_invalid_address___", 27) != 0)
			(*out)[n++] = i;
	}
	free(text);
	return n;
}

static double time_ftidx_all(size_t expect)
{
	const char *star = "*";
	double t0;
	int r;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	r = ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, &star, 1, NULL);
	t0 = now_ms() - t0;
	{
		struct lines l = kread(T "/set_ftrace_filter");

		result(r == 0 && l.n == expect, "ftidx set of every function: %zu of %zu lines", l.n,
		       expect);
		lines_free(&l);
	}
	return t0;
}

/* What the CLI's own time includes and a library call does not: a shell
 * starting a program, with its standard input redirected (@cmd: true, a
 * program that does nothing, or the CLI itself doing nothing). */
static double time_start(const char *cmd)
{
	double t0 = now_ms();

	if (system(cmd) != 0)
		printf("VM: info: %s failed\n", cmd);
	return now_ms() - t0;
}

/* Names to indices alone: what the floor's caller had done already. */
static double time_resolve(char **names, size_t n)
{
	struct ftidx_result *r = NULL;
	const char *star = "*";
	double t0 = now_ms();

	if (names)
		ftidx_resolve(c, (const char *const *)names, n, 0, &r);
	else
		ftidx_resolve(c, &star, 1, 0, &r);
	t0 = now_ms() - t0;
	ftidx_result_free(r);
	return t0;
}

static double time_cli_all(void)
{
	double t0;

	kclear(T "/set_ftrace_filter");
	t0 = now_ms();
	if (system("ftidx set '*' > /dev/null") != 0)
		printf("VM: info: ftidx set '*' failed\n");
	return now_ms() - t0;
}

/* The map's build: the daemon's last rebuild (the kernel's read, off the
 * loop), if it made one, and the parse alone (STATUS). */
static void map_build_line(const char *release)
{
	struct ftidx_status *st = NULL;
	double rebuild = last_rebuild_ms();

	if (ftidx_status(c, &st) == 0)
		printf("VM-SPEED: %s: the map: %u lines, parsed in %.1f ms; the kernel's read and the "
		       "parse, off the loop, %s%.0f ms\n",
		       release, st->entries, st->build_ns / 1e6, rebuild < 0 ? "(no rebuild) " : "",
		       rebuild < 0 ? 0 : rebuild);
	ftidx_status_free(st);
}

static double median3(double x, double y, double z)
{
	return x > y ? (y > z ? y : x > z ? z : x) : (x > z ? x : y > z ? z : y);
}

/*
 * How a request's cost grows with its batch: `ftidx set -` with N unique
 * names on standard input, and the same through libftidx, against the
 * raw write of the same N indices, from 1,000 names to every unique one.
 * Each the median of three, taken in turns.
 */
static void batch_growth(const char *release, char **names, const uint32_t *idx, size_t n)
{
	size_t sizes[] = { 1000, 5000, 10000, 20000, n };

	printf("VM-BATCH: %-24s %7s %10s %12s %7s %12s %7s\n", "kernel", "names", "raw write",
	       "ftidx set -", "x raw", "libftidx", "x raw");
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		double raw[3], cli[3], lib[3], r, by_cli, by_lib;
		char *text;

		if (sizes[k] > n || (k + 1 < ARRAY_SIZE(sizes) && sizes[k] == n))
			continue;
		text = join(names, sizes[k], true, idx);
		for (int i = 0; i < 3; i++) {
			raw[i] = time_kernel(text);
			cli[i] = time_cli(names, sizes[k]);
			lib[i] = time_ftidx(names, sizes[k], false);
		}
		free(text);
		r = median3(raw[0], raw[1], raw[2]);
		by_cli = median3(cli[0], cli[1], cli[2]);
		by_lib = median3(lib[0], lib[1], lib[2]);
		printf("VM-BATCH: %-24s %7zu %7.0f ms %9.0f ms %6.2fx %9.0f ms %6.2fx\n", release,
		       sizes[k], r, by_cli, by_cli / r, by_lib, by_lib / r);
	}
	kclear(T "/set_ftrace_filter");
}

int run_speed(unsigned samples)
{
	static const char *const rows[] = {
		"kernel, names in one write (scaled)",
		"libtracefs per name, as trace-cmd (scaled)",
		"raw write of the indices (the floor)",
		"raw write + reading the filter back",
		"ftidx set (libftidx; all: \"*\")",
		"ftidx set - (the CLI; all: '*')",
		"trace-cmd start -l NAME... (scaled)",
		"ftidx exec -- trace-cmd start -l NAME...",
		"a program's start (sh -c /bin/true <names)",
		"the CLI's start (sh -c 'ftidx --version')",
		"ftidx resolve (libftidx: names to indices)",
	};
	enum { ROWS = 11, SIZES = 3 };
	size_t sizes[SIZES] = { 1000, 10000, 0 };
	struct utsname u;
	double t[ROWS][SIZES];
	char **names = NULL;
	uint32_t *idx = NULL, *every = NULL;
	size_t n = unique_names(&names, &idx, SIZE_MAX);
	size_t by_name = samples >= 30 ? 1000 : samples;
	char *text;

	result(n >= 10000, "found %zu core functions with unique names", n);
	if (n < 10000)
		return 1;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	map_build_line(u.release);
	sizes[2] = all_indices(&every);
	for (int row = 0; row < ROWS; row++)
		for (int k = 0; k < SIZES; k++)
			t[row][k] = -1; /* not measured */
	/* the kernel walks every record per name: 1,000 of them, or on a
	 * map of many modules (seconds a walk under TCG) @samples, scaled */
	text = join(names, by_name, false, NULL);
	t[0][0] = time_kernel(text) * 1000 / by_name;
	free(text);
	/* libtracefs reads every function per name: @samples of them, scaled */
	t[1][0] = time_tracefs(names, samples) * 1000 / samples;
	for (int k = 0; k < SIZES; k++) {
		t[0][k] = t[0][0] * (double)sizes[k] / 1000;
		t[1][k] = t[1][0] * (double)sizes[k] / 1000;
		text = k < 2 ? join(names, sizes[k], true, idx) : join(NULL, sizes[k], true, every);
		t[2][k] = time_kernel(text);
		t[3][k] = time_kernel_verified(text);
		free(text);
		t[4][k] = k < 2 ? time_ftidx(names, sizes[k], true) : time_ftidx_all(sizes[k]);
		t[5][k] = k < 2 ? time_cli(names, sizes[k]) : time_cli_all();
		t[8][k] = time_start("/bin/true < /tmp/names.txt");
		t[9][k] = time_start("ftidx --version > /dev/null");
		t[10][k] = time_resolve(k < 2 ? names : NULL, sizes[k]);
		if (k < 2)
			t[7][k] = time_tracecmd(names, sizes[k], true);
	}
	/* plain trace-cmd re-reads every function per name: @samples, scaled */
	t[6][0] = time_tracecmd(names, samples, false) * 1000 / samples;
	t[6][1] = t[6][0] * 10;
	kclear(T "/set_ftrace_filter");
	printf("VM-SPEED: %-24s %-44s %10s %9s %10s %9s %10s %9s\n", "kernel", "method", "1,000",
	       "x floor", "10,000", "x floor", "all", "x floor");
	for (int row = 0; row < ROWS; row++) {
		printf("VM-SPEED: %-24s %-44s", u.release, rows[row]);
		for (int k = 0; k < SIZES; k++)
			if (t[row][k] < 0)
				printf(" %10s %9s", "-", "");
			else
				printf(" %7.0f ms %8.2fx", t[row][k], t[row][k] / t[2][k]);
		printf("\n");
	}
	printf("VM-SPEED: %s: all = %zu functions; the kernel by name timed on %zu names, "
	       "libtracefs and plain trace-cmd on %u, and scaled\n",
	       u.release, sizes[2], by_name, samples);
	printf("VM-SPEED: %s: ftidx set vs the kernel by name: %.0fx faster (1,000), %.0fx (10,000); "
	       "target: at least 1000x\n",
	       u.release, t[0][0] / t[4][0], t[0][1] / t[4][1]);
	printf("VM-SPEED: %s: verified ftidx set vs the floor (the raw write): libftidx %.2fx "
	       "(1,000), %.2fx (10,000), %.2fx (all); the CLI %.2fx, %.2fx, %.2fx; target: at most "
	       "1.5x. Of these, turning names into indices costs %.2fx, %.2fx, %.2fx of the floor "
	       "(which starts from indices), and the CLI's start %.2fx, %.2fx, %.2fx\n",
	       u.release, t[4][0] / t[2][0], t[4][1] / t[2][1], t[4][2] / t[2][2],
	       t[5][0] / t[2][0], t[5][1] / t[2][1], t[5][2] / t[2][2], t[10][0] / t[2][0],
	       t[10][1] / t[2][1], t[10][2] / t[2][2], t[9][0] / t[2][0], t[9][1] / t[2][1],
	       t[9][2] / t[2][2]);
	printf("VM-SPEED: %s: trace-cmd through ftidx exec vs plain: %.0fx faster (1,000), %.0fx "
	       "(10,000); target: at least 100x\n",
	       u.release, t[6][0] / t[7][0], t[6][1] / t[7][1]);
	result(t[7][0] > 0 && t[7][1] > 0 && t[6][0] > 0, "trace-cmd timed, plain and through ftidx");
	batch_growth(u.release, names, idx, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(idx);
	free(every);
	return 0;
}
