/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx-vm, run inside a qemu guest on Debian's real kernel, with ftidxd
 * already serving /sys/kernel/tracing. "ftidx-vm test [N [CRASHES [S]]]"
 * checks ftidx against what the kernel itself does (vm-judge.c: requests
 * race module loads for S seconds, at least N of them; ftidxd killed in
 * CRASHES writes of each kind); "ftidx-vm speed" prints the speed table
 * (vm-speed.c).
 * Results go to the serial console: "VM: ok ...", "VM: FAIL ...", and a
 * closing "VM-SUMMARY: N passed, N failed". This file: what both share,
 * and the entry point.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <tracefs.h>
#include <unistd.h>

#include "ftidx.h"
#include "macro.h"
#include "vm-common.h"

unsigned passed, failed;

void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("VM: %s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	ok ? passed++ : failed++;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- tracefs, the way a shell or a tool would use it ------------------- */

/* Write @text as echo does: one open, short writes continued. Returns 0 or
 * the -errno of the first refused write. */
int kwrite(const char *path, const char *text, bool trunc)
{
	size_t len = strlen(text), done = 0;
	int fd = open(path, O_WRONLY | (trunc ? O_TRUNC : O_APPEND)), r = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			r = -errno;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	return r;
}

void kclear(const char *path)
{
	kwrite(path, "", true);
}


int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *slurp(const char *path, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t k;

	if (fd < 0) {
		buf[0] = '\0';
		*len = 0;
		return buf;
	}
	while ((k = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)k;
		if (cap - n < 4096)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct lines kread(const char *path)
{
	return read_lines(path, true);
}

struct lines read_lines(const char *path, bool sorted)
{
	struct lines l = { 0 };
	size_t len, cap = 1024;
	char *save = NULL;

	l.buf = slurp(path, &len);
	l.v = malloc(sizeof(*l.v) * cap);
	for (char *s = strtok_r(l.buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		if (s[0] == '#')
			continue;
		if (l.n == cap)
			l.v = realloc(l.v, sizeof(*l.v) * (cap *= 2));
		l.v[l.n++] = s;
	}
	if (sorted)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	return l;
}

void lines_free(struct lines *l)
{
	free(l->v);
	free(l->buf);
}

bool lines_equal(const struct lines *a, const struct lines *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* ---- ftidx ------------------------------------------------------------- */

static struct ftidx *judge_conn;
static pid_t judge_pid;             /* (a child shares its socket: never replaced there) */
static double conn_last_ms;         /* when conn() last handed it out */
static struct ftidx **retired;      /* replaced ones, closed, freed at the end */
static size_t n_retired;
static unsigned n_replaced;
static double longest_silence_ms;

unsigned conn_idle_timeout(void)
{
	const char *s = getenv("FTIDX_VM_IDLE_TIMEOUT");

	/* ftidxd's default (SERVER_DEFAULT_IDLE_SECONDS), where none is said */
	return s && *s ? (unsigned)strtoul(s, NULL, 10) : 300;
}

unsigned conn_replaced(double *longest_ms)
{
	*longest_ms = longest_silence_ms;
	return n_replaced;
}

void conn_set(struct ftidx *fresh)
{
	ftidx_unref(judge_conn);
	judge_conn = fresh;
	judge_pid = getpid();
	conn_last_ms = now_ms();
	if (!fresh) {
		for (size_t i = 0; i < n_retired; i++)
			ftidx_unref(retired[i]);
		free(retired);
		retired = NULL;
		n_retired = 0;
	}
}

/* Close the judge's connection, silent for @silent ms, and open another
 * (when that fails, the old one stays, and its next request says why). */
static void replace_conn(double silent)
{
	struct ftidx *fresh = NULL, **more = realloc(retired, sizeof(*retired) * (n_retired + 1));

	if (!more)
		return;
	retired = more;
	if (ftidx_connect(NULL, &fresh) < 0)
		return;
	ftidx_set_timeout(fresh, 0);
	shutdown(ftidx_get_fd(judge_conn), SHUT_RDWR);
	retired[n_retired++] = judge_conn;
	judge_conn = fresh;
	n_replaced++;
	longest_silence_ms = MAX(longest_silence_ms, silent);
}

struct ftidx *conn(void)
{
	double t = now_ms(), silent = t - conn_last_ms;
	unsigned idle = conn_idle_timeout();

	/* (the time is taken when a call begins: a long call makes the
	 * silence look longer than ftidxd counts it, never shorter) */
	if (judge_conn && idle && silent >= idle * 500.0 && ftidx_get_events(judge_conn) == 0 &&
	    getpid() == judge_pid)
		replace_conn(silent);
	conn_last_ms = t;
	return judge_conn;
}

/* Split @batch on spaces into tokens (pointers into a copy). */
size_t split(const char *batch, char **copy, const char **tokens, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	*copy = strdup(batch);
	for (char *s = strtok_r(*copy, " ", &save); s && n < max; s = strtok_r(NULL, " ", &save))
		tokens[n++] = s;
	return n;
}

int ftidx_set_batch(const char *batch, int file, const char *instance)
{
	const char *tokens[16];
	char *copy;
	size_t n = split(batch, &copy, tokens, 16);
	int r = ftidx_filter(conn(), FTIDX_SET, file, instance, 0, 0, tokens, n, NULL);

	free(copy);
	return r;
}

unsigned log_count(const char *what)
{
	size_t len;
	char *log = slurp("/tmp/ftidxd.log", &len);
	unsigned n = 0;

	for (const char *at = log; (at = strstr(at, what)); at++)
		n++;
	free(log);
	return n;
}

double last_rebuild_ms(void)
{
	static const char said[] = "map rebuilt off the loop in ";
	size_t len;
	char *log = slurp("/tmp/ftidxd.log", &len);
	double ms = -1;

	for (const char *at = log; (at = strstr(at, said)); at++)
		ms = strtod(at + strlen(said), NULL);
	free(log);
	return ms;
}

/* The slowest whole read of one of the kernel's lists here, in ms. */
static double slowest_read_ms;

/* slurp(), timed: a read of the kernel's list is one measure of this
 * guest's speed. */
static char *slurp_timed(const char *path, size_t *len)
{
	double t0 = now_ms();
	char *text = slurp(path, len);

	slowest_read_ms = MAX(slowest_read_ms, now_ms() - t0);
	return text;
}

double list_read_ms(void)
{
	size_t len;

	if (!slowest_read_ms)
		free(slurp_timed(T "/available_filter_functions", &len));
	return slowest_read_ms;
}

double catch_up_bound_ms(void)
{
	/* a change can restart a rebuild or two, publishing reads both
	 * lists again, and a poll reads them once more: ten of the slower
	 * of the two leaves room */
	return MAX(20000.0, 10 * MAX(last_rebuild_ms(), list_read_ms()));
}

double wait_map_current(void)
{
	double t0 = now_ms(), bound = catch_up_bound_ms();

	while (now_ms() - t0 < bound) {
		struct ftidx_status *st = NULL;
		size_t len;
		char *info = slurp(T "/dyn_ftrace_total_info", &len);
		bool current = ftidx_status(conn(), &st) == 0 && !st->is_stale &&
			       st->entries == strtoul(info, NULL, 10);

		free(info);
		ftidx_status_free(st);
		if (current)
			return now_ms() - t0;
		usleep(20000);
	}
	return -1;
}

/* Whether @copy holds exactly the bytes of the kernel's @file. */
static bool same_bytes(const char *kernel_file, const char *copy)
{
	size_t a_len = 0, b_len = 0;
	char *a = slurp_timed(kernel_file, &a_len), *b = slurp(copy, &b_len);
	bool same = a_len > 0 && a_len == b_len && memcmp(a, b, a_len) == 0;

	free(a);
	free(b);
	return same;
}

bool published_now(void)
{
	bool addrs = access(T "/available_filter_functions_addrs", F_OK) == 0;

	return same_bytes(T "/available_filter_functions", PUBLISHED "available_filter_functions") &&
	       (!addrs || same_bytes(T "/available_filter_functions_addrs",
				     PUBLISHED "available_filter_functions_addrs"));
}

double published_matches(void)
{
	double t0 = now_ms(), bound = catch_up_bound_ms();
	bool addrs = access(T "/available_filter_functions_addrs", F_OK) == 0;

	while (now_ms() - t0 < bound) {
		if (same_bytes(T "/available_filter_functions", PUBLISHED "available_filter_functions") &&
		    (!addrs || same_bytes(T "/available_filter_functions_addrs",
					  PUBLISHED "available_filter_functions_addrs")))
			return now_ms() - t0;
		usleep(100000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "test";
	struct ftidx *first = NULL;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "read-list") == 0) /* a reader, run by list_readers() */
		return argc > 2 ? read_list(argv[2]) : 2;
	if (strcmp(mode, "write") == 0) /* a writer, run by writers() */
		return argc > 2 ? write_case(argv[2]) : 2;
	if (ftidx_connect(NULL, &first) < 0) {
		printf("VM: FAIL cannot connect to ftidxd\nVM-SUMMARY: 0 passed, 1 failed\n");
		return 1;
	}
	ftidx_set_timeout(first, 0);
	conn_set(first);
	if (strcmp(mode, "speed") == 0)
		r = run_speed(30);
	else if (strcmp(mode, "many") == 0)
	{
		bool speed = false, tools = true;

		for (int i = 2; i < argc; i++) {
			speed |= strcmp(argv[i], "speed") == 0;
			tools &= strcmp(argv[i], "notools") != 0;
		}
		r = run_many(speed, tools);
	}
	else if (strcmp(mode, "share") == 0)
		sharing(), r = 0; /* the judge runs it too; alone, for a quick look */
	else if (strcmp(mode, "judge") == 0)
		r = run_judge(argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 300,
			      argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0);
	else if (strcmp(mode, "bpf") == 0)
		r = bpf_tools();
	else if (strcmp(mode, "readers") == 0)
		list_readers(), r = 0; /* likewise */
	else if (strcmp(mode, "writers") == 0)
		writers(), r = 0; /* likewise */
	else
		r = run_tests(argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000,
			      argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0,
			      argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0);
	{
		double longest;
		unsigned n = conn_replaced(&longest);

		printf("VM: info: the judge's connection was replaced %u time(s) before ftidxd's "
		       "%u s idle timeout, silent up to %.0f s\n",
		       n, conn_idle_timeout(), longest / 1000);
	}
	conn_set(NULL);
	printf("VM-SUMMARY: %u passed, %u failed\n", passed, failed);
	return r || failed ? 1 : 0;
}

/* How many hit-count instances of ftidxd's exist; *@tracing: whether one
 * of them traces yet. */
size_t hits_instances(bool *tracing)
{
	/* No regex: libtracefs 1.6 leaks the one it compiles for it. */
	char **names = tracefs_instances(NULL);
	size_t n = 0;

	*tracing = false;
	for (size_t i = 0; names && names[i]; i++) {
		char path[512];
		size_t len = 0;
		char *tracer;

		if (strncmp(names[i], "ftidx-hits-", 11) != 0)
			continue;
		n++;
		snprintf(path, sizeof(path), T "/instances/%s/current_tracer", names[i]);
		tracer = slurp(path, &len);
		*tracing |= tracer && strcmp(tracer, "function\n") == 0;
		free(tracer);
	}
	tracefs_list_free(names);
	return n;
}

bool wait_hits_tracing(void)
{
	double t0 = now_ms(), bound = catch_up_bound_ms();

	while (!hits_tracing()) {
		if (now_ms() - t0 >= bound)
			return false;
		usleep(10000);
	}
	return true;
}

bool hits_tracing(void)
{
	bool tracing;

	hits_instances(&tracing);
	return tracing;
}
