/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libtracefs drop-in against libtracefs itself. The same program,
 * linked to the real libtracefs, makes the same calls to
 * tracefs_function_filter() and tracefs_function_notrace() on a fake
 * tracing directory three times: plainly, with the drop-in preloaded and
 * ftidxd serving the directory, and with the drop-in preloaded but no
 * daemon to reach (it must fall back to libtracefs). Each call's return
 * and errno, and what the filter files then hold, must be the same; and,
 * as a user ftidxd will not write for, case by case with a filter set
 * beforehand (the drop-in falls back to libtracefs at its first commit).
 *
 * Then a program that lives longer, run with "ftidx exec": calls spaced
 * past ftidxd's idle timeout, calls across a restart of ftidxd (which
 * comes back with another map) and while it is gone, and fork() while
 * another thread makes calls, 200 times.
 *
 *   test-dropin FTIDXD DROPIN FIXTURES FTIDX  the checks
 *   test-dropin --run DIR                     one run, printing what it saw
 *   test-dropin --case DIR K                  case K alone, on a set filter
 *   test-dropin --calls DIR MS PATTERN...     a call per pattern, MS apart;
 *       MS -1: each when a line comes on standard input
 *   test-dropin --forks DIR N                 N forks while a thread calls
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tracefs.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "ftidx.h"
#include "macro.h"
#include "testlib.h"

#define F 0 /* set_ftrace_filter */
#define N 1 /* set_ftrace_notrace */

struct step {
	int file;
	const char *filter, *module;
	unsigned flags;
};

#define R TRACEFS_FL_RESET
#define C TRACEFS_FL_CONTINUE

/* Each case starts from empty filter files. */
static const struct kase {
	size_t n;
	struct step s[4];
} cases[] = {
	{ 1, { { F, "vfs_read", NULL, R } } },
	{ 1, { { F, "VFS_READ", NULL, R } } },                 /* case-insensitive */
	{ 3, { { F, "vfs_*", NULL, R | C }, { F, "type_show", NULL, C }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, "lo_*", "loop", R } } },                   /* a module */
	{ 1, { { F, NULL, "dummy", R } } },                    /* a whole module */
	{ 1, { { F, "*_show", NULL, R } } },
	{ 1, { { F, "vfs_rea[dv]", NULL, R } } },              /* a regular expression */
	{ 1, { { F, "*.isra.0", NULL, R } } },                 /* '.' is a dot */
	{ 1, { { F, "vfs_rea?", NULL, R } } },                 /* '?' matches nothing */
	{ 1, { { F, "no_such_function", NULL, R } } },
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "nosuch", NULL, C }, { F, "type_show", NULL, 0 } } },
	{ 2, { { F, "vfs_read", NULL, R }, { F, "vfs_write", NULL, 0 } } }, /* appended */
	{ 2, { { N, "rcu_*", NULL, R }, { F, "schedule", NULL, R } } },
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "vfs_write", NULL, R }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, "vfs_read", NULL, TRACEFS_FL_FUTURE } } }, /* FUTURE wants a module */
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, NULL, NULL, C }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, NULL, NULL, R } } },                       /* a reset alone */
	{ 1, { { F, "vfs_read|vfs_write", NULL, R } } },       /* '|' is a literal in a BRE */
	/* FUTURE in the middle of a batch: the batch goes to libtracefs */
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "lo_*", "loop", TRACEFS_FL_FUTURE | C },
	       { F, NULL, NULL, 0 } } },
	{ 2, { { N, "vfs_*", NULL, R | C }, { N, "type_show", NULL, 0 } } },
};

static int cmp_u(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/* What a filter file holds as the kernel would apply it: "N" adds line N
 * (once), "!N" removes it; printed as sorted indices. */
static void print_file(const char *dir, const char *name)
{
	char path[4096];
	size_t len, n = 0, k = 0;
	char *text, *save = NULL;
	unsigned long *v;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = test_read_file(path, &len);
	v = calloc(len / 2 + 1, sizeof(*v));
	for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		bool neg = t[0] == '!';
		unsigned long x = strtoul(t + neg, NULL, 10);
		size_t i;

		for (i = 0; i < n && v[i] != x; i++)
			;
		if (neg && i < n)
			v[i] = v[--n];
		else if (!neg && i == n)
			v[n++] = x;
	}
	qsort(v, n, sizeof(*v), cmp_u);
	printf("  %s:", name);
	for (k = 0; k < n; k++)
		printf(" %lu", v[k]);
	printf("\n");
	free(v);
	free(text);
}

static const char *const files[] = { "set_ftrace_filter", "set_ftrace_notrace" };

/* Case @i's calls, from filter files holding @before; what they left. */
static void run_case(const char *dir, size_t i, const char *before)
{
	fake_write(dir, files[F], before, strlen(before));
	fake_write(dir, files[N], "", 0);
	printf("case %zu\n", i);
	for (size_t k = 0; k < cases[i].n; k++) {
		const struct step *s = &cases[i].s[k];
		int r;

		/* errno as each call leaves it: libtracefs leaves 0 after a success */
		errno = 0;
		r = s->file == F ? tracefs_function_filter(NULL, s->filter, s->module, s->flags)
				 : tracefs_function_notrace(NULL, s->filter, s->module, s->flags);
		printf("  call %zu: %d, errno %d\n", k, r, errno);
	}
	print_file(dir, files[F]);
	print_file(dir, files[N]);
}

static int run(const char *dir)
{
	if (tracefs_set_tracing_dir((char *)dir) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(dir, i, "");
	return 0;
}

/* A call of tracefs_function_filter() with a reset per pattern, @ms apart
 * (-1: each when a line comes on standard input), printing each one's
 * return, errno, and the filter then. */
static int run_calls(const char *dir, int ms, char **patterns, int n)
{
	char line[64];

	if (tracefs_set_tracing_dir((char *)dir) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		int r;

		if (ms < 0 && !fgets(line, sizeof(line), stdin))
			return 1;
		if (ms > 0 && i > 0)
			usleep((useconds_t)ms * 1000);
		errno = 0;
		r = tracefs_function_filter(NULL, patterns[i], NULL, TRACEFS_FL_RESET);
		printf("call %d: %d, errno %d;", i, r, errno);
		print_file(dir, files[F]);
		fflush(stdout);
	}
	return 0;
}

static atomic_bool stop_calling;

static void *keep_calling(void *arg _unused_)
{
	while (!atomic_load(&stop_calling))
		tracefs_function_filter(NULL, "vfs_read", NULL, TRACEFS_FL_RESET);
	return NULL;
}

/*
 * Fork @n times while another thread calls tracefs_function_filter() over
 * and over; each child makes one call itself. A child that does not end
 * within 20 s is taken for hung (a lock it inherited held, or a reply
 * meant for its parent awaited): it is killed, and the loop stops there.
 */
static int run_forks(const char *dir, int n)
{
	int done = 0, failed = 0, hung = 0;
	pthread_t thread;

	if (tracefs_set_tracing_dir((char *)dir) < 0)
		return 1;
	/* the map read and the connection made before any fork */
	if (tracefs_function_filter(NULL, "vfs_read", NULL, TRACEFS_FL_RESET) != 0)
		return 1;
	pthread_create(&thread, NULL, keep_calling, NULL);
	for (; done < n && !hung; done++) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			alarm(20);
			_exit(tracefs_function_filter(NULL, "vfs_write", NULL, TRACEFS_FL_RESET) ==
				      0
			      ? 0
			      : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			failed++;
		else if (WIFSIGNALED(status))
			hung++;
		else if (WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop_calling, true);
	pthread_join(thread, NULL);
	printf("forks: %d, failed: %d, hung: %d\n", done, failed, hung);
	return 0;
}

static const char *self, *dropin_path, *cli_path;

/* How a run of this program is made. */
struct how {
	const char *preload; /* LD_PRELOAD, or NULL */
	const char *socket;  /* FTIDX_SOCKET */
	bool exec;           /* under "ftidx -s SOCKET exec" (the drop-in) */
	uid_t uid;           /* as this user (0: as the test runs) */
	int *input;          /* set: a pipe to its standard input, its write end here */
};

/* Start this program with @args (NULL-terminated) as @how says; its
 * standard output and error go to @dir's out.txt and err.txt. */
static pid_t spawn(const char *dir, const struct how *how, const char *const *args)
{
	char out_path[4096], err_path[4096];
	const char *argv[32];
	int k = 0, in[2] = { -1, -1 };
	pid_t pid;

	if (how->input && pipe(in) < 0)
		exit(1);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", dir);
	/* an earlier run's output is no sign of this one's */
	unlink(out_path);
	unlink(err_path);
	if (how->exec) {
		argv[k++] = cli_path;
		argv[k++] = "-s";
		argv[k++] = how->socket;
		argv[k++] = "exec";
		argv[k++] = "--";
	}
	argv[k++] = self;
	while (*args && k < 31)
		argv[k++] = *args++;
	argv[k] = NULL;
	/* or the child's freopen() would print what this one has buffered */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(126);
		if (in[0] >= 0 && (dup2(in[0], 0) < 0 || close(in[0]) < 0 || close(in[1]) < 0))
			_exit(126);
		if (how->preload)
			setenv("LD_PRELOAD", how->preload, 1);
		setenv("FTIDX_PRELOAD", dropin_path, 1);
#if defined(__SANITIZE_ADDRESS__)
		/* the drop-in comes before the sanitizer's runtime in the list,
		 * which is fine here: this program links that runtime itself */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
#endif
		setenv("FTIDX_SOCKET", how->socket, 1);
		if (how->uid &&
		    (setgroups(0, NULL) < 0 || setgid(how->uid) < 0 || setuid(how->uid) < 0))
			_exit(125);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (how->input) {
		close(in[0]);
		*how->input = in[1];
	}
	return pid;
}

/* Wait for @pid, which must exit 0; its output, its standard error in
 * *@err. */
static char *collect(const char *dir, pid_t pid, char **err)
{
	char path[4096];
	size_t len;
	int status = -1;
	char *out;

	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	out = test_read_file(path, &len);
	snprintf(path, sizeof(path), "%s/err.txt", dir);
	*err = test_read_file(path, &len);
	return out;
}

static char *run_child(const char *dir, const struct how *how, const char *const *args,
		       char **err)
{
	return collect(dir, spawn(dir, how, args), err);
}

/* Wait up to 20 s until @dir's out.txt has @n lines. */
static bool lines_soon(const char *dir, size_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/out.txt", dir);
	for (int i = 0; i < 2000; i++) {
		size_t len, k = 0;
		char *text = access(path, R_OK) == 0 ? test_read_file(path, &len) : NULL;

		if (!text)
			len = 0;
		for (size_t j = 0; j < len; j++)
			k += text[j] == '\n';
		free(text);
		if (k >= n)
			return true;
		harness_sleep_ms(10);
	}
	return false;
}

/* Line @index (1-based) of @file in @dir whose name is @name. */
static unsigned long index_of(const char *dir, const char *file, const char *name)
{
	char path[4096], *text, *save = NULL;
	unsigned long i = 0;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	text = test_read_file(path, &len);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		i++;
		if (strncmp(l, name, strlen(name)) == 0 && (l[strlen(name)] == ' ' || !l[strlen(name)]))
			break;
	}
	free(text);
	return i;
}

/* Start ftidxd on @h with @args, and wait until it accepts: its socket's
 * file comes at bind(), a moment before listen(), and a program that
 * fell in between would fall back to libtracefs. */
static void start_daemon(struct harness *h, const char *ftidxd, const char *const *args)
{
	struct ftidx *c = NULL;
	int r;

	harness_start(h, ftidxd, args);
	for (int i = 0; (r = ftidx_connect(h->socket, &c)) == -ECONNREFUSED && i < 250; i++)
		harness_sleep_ms(20);
	CHECK_EQ_INT(r, 0);
	ftidx_unref(c);
}

/* The filters the daemon on @socket says it wrote. */
static size_t daemon_wrote(const char *socket)
{
	struct ftidx_status *st = NULL;
	struct ftidx *c = NULL;
	size_t n = 0;

	if (ftidx_connect(socket, &c) == 0 && ftidx_status(c, &st) == 0)
		n = ftidx_status_filter_count(st);
	ftidx_status_free(st);
	ftidx_unref(c);
	return n;
}

/* As a user ftidxd will not write for, each case alone, on a filter set
 * beforehand: the drop-in's first commit is refused, and it falls back to
 * libtracefs with that call as the caller made it (a reset alone too). */
static void denied_cases(struct harness *h)
{
	const struct how plain = { .socket = h->socket, .uid = 65534 },
			 through = { .socket = h->socket, .exec = true, .uid = 65534 };
	char path[4096], k_text[16], *a, *b, *err;
	size_t same = 0, n = sizeof(cases) / sizeof(cases[0]);

	if (geteuid() != 0) {
		printf("test-dropin: not root: the refused user's cases are left out\n");
		return;
	}
	chmod(h->dir, 0755);
	for (size_t f = 0; f < 2; f++) {
		snprintf(path, sizeof(path), "%s/%s", h->dir, files[f]);
		chmod(path, 0666);
	}
	for (size_t k = 0; k < n; k++) {
		const char *args[] = { "--case", h->dir, k_text, NULL };

		snprintf(k_text, sizeof(k_text), "%zu", k);
		a = run_child(h->dir, &plain, args, &err);
		free(err);
		b = run_child(h->dir, &through, args, &err);
		if (strcmp(a, b) != 0)
			fprintf(stderr, "refused user, libtracefs:\n%s\nthrough the drop-in:\n%s\n", a,
				b);
		same += strcmp(a, b) == 0;
		/* the fallback is said: the daemon did refuse */
		if (k == 16)
			CHECK(strstr(err, "cannot write filters for this program") != NULL);
		free(a);
		free(b);
		free(err);
	}
	CHECK_EQ_INT(same, n);
}

/* Three calls spaced past ftidxd's idle timeout of a second: each goes
 * through ftidxd, on a connection opened again. */
static void idle_calls(struct harness *h, const char *ftidxd)
{
	static const char *const idle[] = { "--idle-timeout", "1", NULL };
	const char *args[] = { "--calls", h->dir, "2000", "vfs_read", "vfs_write", "schedule", NULL },
		   *at_once[] = { "--calls", h->dir, "0", "vfs_read", "vfs_write", "schedule", NULL };
	const struct how plain = { .socket = h->socket },
			 through = { .socket = h->socket, .exec = true };
	char *want, *got, *err;

	CHECK_EQ_INT(harness_stop(h), 0);
	start_daemon(h, ftidxd, idle);
	want = run_child(h->dir, &plain, at_once, &err);
	free(err);
	got = run_child(h->dir, &through, args, &err);
	CHECK_EQ_STR(got, want);
	CHECK(strstr(got, "call 2: 0, errno 0;") != NULL);
	CHECK_EQ_STR(err, "");
	printf("idle calls:\n%s", got);
	free(want);
	free(got);
	free(err);
}

/*
 * One program's calls across a restart of ftidxd that comes back with
 * another map (loop unloaded meanwhile, so dummy's lines move down), while
 * it is gone (libtracefs, as at start), and once it is back.
 */
static void restart_calls(struct harness *h, const char *ftidxd, const char *fixtures)
{
	const char *args[] = { "--calls", h->dir, "-1", "dummy_xmit", "dummy_xmit",
			       "dummy_xmit", "dummy_xmit", NULL };
	char path[4096], want[512] = "", *data, *out, *err;
	unsigned long before, after;
	int input = -1;
	struct how through = { .socket = h->socket, .exec = true, .input = &input };
	size_t len;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	data = test_read_file(path, &len);
	fake_write(h->dir, "available_filter_functions", data, len);
	fake_write(h->dir, "dyn_ftrace_total_info", "38303 pages:152 groups: 3\n", 26);
	free(data);
	before = index_of(h->dir, "available_filter_functions", "dummy_xmit");
	CHECK_EQ_INT(harness_stop(h), 0);
	start_daemon(h, ftidxd, NULL);

	pid = spawn(h->dir, &through, args);
	CHECK(write(input, "\n", 1) == 1);
	CHECK(lines_soon(h->dir, 1));

	/* ftidxd restarts; meanwhile loop goes */
	CHECK_EQ_INT(harness_stop(h), 0);
	snprintf(path, sizeof(path), "%s/debian-6.1-dummy-only.txt", fixtures);
	data = test_read_file(path, &len);
	fake_write(h->dir, "available_filter_functions", data, len);
	fake_write(h->dir, "dyn_ftrace_total_info", "38261 pages:152 groups: 3\n", 26);
	free(data);
	after = index_of(h->dir, "available_filter_functions", "dummy_xmit");
	CHECK_EQ_INT(after, before - 42);
	start_daemon(h, ftidxd, NULL);
	CHECK(write(input, "\n", 1) == 1);
	CHECK(lines_soon(h->dir, 2));
	CHECK_EQ_INT(daemon_wrote(h->socket), 1);

	/* gone */
	CHECK_EQ_INT(harness_stop(h), 0);
	CHECK(write(input, "\n", 1) == 1);
	CHECK(lines_soon(h->dir, 3));

	/* back */
	start_daemon(h, ftidxd, NULL);
	CHECK(write(input, "\n", 1) == 1);
	CHECK(lines_soon(h->dir, 4));
	CHECK_EQ_INT(daemon_wrote(h->socket), 1);
	close(input);
	out = collect(h->dir, pid, &err);
	printf("calls across restarts:\n%s%s", out, err);
	for (int i = 0; i < 4; i++) {
		char line[128];

		snprintf(line, sizeof(line), "call %d: 0, errno 0;  set_ftrace_filter: %lu\n", i,
			 i == 0 ? before : after);
		strncat(want, line, sizeof(want) - strlen(want) - 1);
	}
	CHECK_EQ_STR(out, want);
	/* said once, when ftidxd was gone */
	CHECK(strstr(err, "using libtracefs") != NULL);
	free(out);
	free(err);
}

/* fork() while another thread calls, 200 times: no child hangs, every
 * child's own call succeeds. */
_unused_ static void fork_calls(struct harness *h)
{
	const char *args[] = { "--forks", h->dir, "200", NULL };
	const struct how through = { .socket = h->socket, .exec = true };
	char *out, *err;

	out = run_child(h->dir, &through, args, &err);
	printf("%s", out);
	CHECK_EQ_STR(out, "forks: 200, failed: 0, hung: 0\n");
	CHECK_EQ_STR(err, "");
	free(out);
	free(err);
}

int main(int argc, char **argv)
{
	char path[4096], exe[4096], *data, *plain, *through, *fallback, *err;
	const char *args[3] = { "--run", NULL, NULL };
	struct harness h;
	size_t len;
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--run") == 0)
		return run(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--case") == 0) {
		if (tracefs_set_tracing_dir(argv[2]) < 0)
			return 1;
		run_case(argv[2], strtoul(argv[3], NULL, 10), "5\n");
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "--calls") == 0)
		return run_calls(argv[2], atoi(argv[3]), argv + 4, argc - 4);
	if (argc == 4 && strcmp(argv[1], "--forks") == 0)
		return run_forks(argv[2], atoi(argv[3]));
	if (argc < 5) {
		fprintf(stderr, "usage: test-dropin FTIDXD DROPIN FIXTURES FTIDX\n");
		return 2;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return 1;
	exe[n] = '\0';
	self = exe;
	dropin_path = argv[2];
	cli_path = argv[4];
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", argv[3]);
	data = test_read_file(path, &len);
	harness_tracefs(&h, data, len);
	free(data);
	args[1] = h.dir;

	{
		const struct how none = { .socket = h.socket },
				 preloaded = { .socket = h.socket, .preload = dropin_path };

		plain = run_child(h.dir, &none, args, &err);
		free(err);
		/* no daemon yet: the drop-in falls back to libtracefs */
		fallback = run_child(h.dir, &preloaded, args, &err);
		CHECK_EQ_STR(fallback, plain);
		CHECK(strstr(err, "cannot write filters for this program; using libtracefs") != NULL);
		free(err);
		start_daemon(&h, argv[1], NULL);
		through = run_child(h.dir, &preloaded, args, &err);
	}
	if (strcmp(through, plain) != 0)
		fprintf(stderr, "libtracefs:\n%s\nthrough ftidxd:\n%s\n", plain, through);
	CHECK_EQ_STR(through, plain);
	CHECK(strstr(err, "cannot write filters") == NULL);
	CHECK(strstr(err, "TRACEFS_FL_FUTURE") != NULL);
	printf("%s", through);
	free(err);
	denied_cases(&h);
#if defined(__SANITIZE_ADDRESS__)
	/* GCC 12's AddressSanitizer takes no lock of its allocator at fork():
	 * a child forked while the other thread allocates hangs in its first
	 * malloc(), whatever the drop-in does. The plain build checks this. */
	printf("test-dropin: the forks are left out under AddressSanitizer\n");
#else
	fork_calls(&h);
#endif
	idle_calls(&h, argv[1]);
	restart_calls(&h, argv[1], argv[3]);
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);
	free(plain);
	free(through);
	free(fallback);
	return test_finish("test-dropin");
}
