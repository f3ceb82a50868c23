/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every writer of the filter files through ftidxd's filter sessions
 * (client/filter-redirect.c, daemon/sessions.c), against the real ftidxd
 * on a stand-in tracing directory: Debian's bash and dash, cat, python3
 * when installed, and a C program (this one, --writer) doing write(),
 * writev(), dup2(), fork() and stdio, each run under the drop-in.
 *
 * What each leaves is read back from the stand-in's files, where ftidxd
 * writes indices (a truncating write starts them anew), and replayed:
 * "N" enables line N, "!N" disables it, a name (what reaches the "kernel"
 * when the session is handed over to it) every line of that name. What it
 * must leave is what the kernel's semantics say, worked out by hand for
 * each case: one token per write(), the tokens before a refused one kept,
 * a last token without whitespace applied at the release, the release at
 * the last close across dup and fork. The vm suite compares the same
 * programs with the real kernel's own handling of them.
 *
 *   test-filter-redirect FTIDXD FTIDX FIXTURES DROPIN   the checks
 *   test-filter-redirect --writer CASE FILE             one of the C cases
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "daemon-harness.h"
#include "integration.h"
#include "testlib.h"

static const char *dropin;

/* ---- the C program's cases, run under the drop-in ------------------------ */

static int open_trunc(const char *path)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0) {
		perror(path);
		exit(3);
	}
	return fd;
}

/* What a file reads now: a reader under the drop-in, after the sessions
 * that ended. */
static void print_file(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	buf[n] = '\0';
	printf("[%s]", buf);
	if (f)
		fclose(f);
}

static int writer(const char *what, const char *path)
{
	if (!strcmp(what, "once")) {
		/* one write(), its short count not retried: one token */
		int fd = open_trunc(path);

		printf("%zd", write(fd, "vfs_read vfs_write\n", 19));
		return close(fd);
	}
	if (!strcmp(what, "loop")) {
		/* a writer that retries short writes and stops at an error */
		const char *text = "vfs_read nosuch_fn vfs_write\n";
		size_t at = 0, n = strlen(text);
		int fd = open_trunc(path);

		while (at < n) {
			ssize_t r = write(fd, text + at, n - at);

			printf("%zd ", r < 0 ? -errno : r);
			if (r <= 0)
				break;
			at += (size_t)r;
		}
		return close(fd);
	}
	if (!strcmp(what, "writev")) {
		/* a write() per segment, up to the first short one */
		struct iovec whole[] = { { "vfs_read ", 9 }, { "vfs_write ", 10 },
					 { "tcp_sendmsg\n", 12 } };
		struct iovec cut[] = { { "vfs_open vfs_fsync ", 19 }, { "x\n", 2 } };
		int fd = open_trunc(path);

		printf("%zd ", writev(fd, whole, 3));
		printf("%zd", writev(fd, cut, 2));
		return close(fd);
	}
	if (!strcmp(what, "dupfork")) {
		/* the release is the last close anywhere: not the child's exit,
		 * not the close of the first descriptor */
		int fd = open_trunc(path), status;
		pid_t pid;

		if (dup2(fd, 7) != 7 || close(fd) != 0)
			return 4;
		pid = fork();
		if (pid == 0) {
			if (write(7, "vfs_write\n", 10) != 10)
				exit(5);
			exit(0);
		}
		waitpid(pid, &status, 0);
		print_file(path);
		if (write(7, "vfs_read\n", 9) != 9)
			return 6;
		if (close(7) != 0)
			return 7;
		print_file(path);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 8;
	}
	if (!strcmp(what, "notrail")) {
		/* a last token without whitespace: applied at the release,
		 * its error dropped (close() returns 0 either way) */
		int fd = open_trunc(path);

		printf("%zd ", write(fd, "vfs_open vfs_read", 17));
		printf("%zd ", write(fd, "vfs_read", 8));
		printf("%d", close(fd));
		fd = open(path, O_WRONLY | O_APPEND);
		printf(" %zd ", write(fd, "nosuch_fn", 9));
		return close(fd);
	}
	if (!strcmp(what, "stdio")) {
		/* libc writes the buffer itself; fclose() says what it met */
		FILE *f = fopen(path, "w");
		int r;

		if (!f)
			return 9;
		fprintf(f, "vfs_read nosuch_fn vfs_write\n");
		r = fclose(f);
		printf("%d %s", r, r ? strerror(errno) : "");
		return 0;
	}
	if (!strcmp(what, "closeexit")) {
		/* close() itself waits for the commit: a reader right after the
		 * process is gone (without its exit handlers) sees it */
		int fd = open_trunc(path);

		if (write(fd, "tcp_sendmsg\n", 12) != 12 || close(fd) != 0)
			_exit(11);
		_exit(0);
	}
	if (!strcmp(what, "exitopen")) {
		/* exit() with the session still open, and stdout's buffer
		 * unflushed: the exit closes it, flushed, and waits */
		int fd = open_trunc(path);

		if (dup2(fd, 1) != 1)
			return 12;
		printf("vfs_open\n");
		exit(0);
	}
	if (!strcmp(what, "idle")) {
		/* the drop-in's connection outlives ftidxd dropping it as idle */
		int fd = open_trunc(path);

		if (write(fd, "tcp_sendmsg\n", 12) != 12 || close(fd) != 0)
			return 13;
		harness_sleep_ms(2500);
		fd = open(path, O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, "vfs_read\n", 9) != 9 || close(fd) != 0)
			return 14;
		return 0;
	}
	if (!strcmp(what, "lseek")) {
		int fd = open_trunc(path);

		printf("%lld", (long long)lseek(fd, 0, SEEK_END));
		if (write(fd, "vfs_read\n", 9) != 9)
			return 10;
		return close(fd);
	}
	return 2;
}

/* ---- running programs under the drop-in ----------------------------------- */

struct ran {
	int status;
	char *out, *err;
};

static void ran_free(struct ran *r)
{
	free(r->out);
	free(r->err);
}

/* Run @argv under the drop-in, talking to @socket. */
static struct ran run(struct harness *h, const char *socket, const char *const *argv)
{
	char out_path[256], err_path[256];
	struct ran r;
	size_t len;
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/out.txt", h->dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", h->dir);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(126);
		setenv("LD_PRELOAD", dropin, 1);
		setenv("FTIDX_PRELOAD", dropin, 1); /* for ftidx exec */
#if defined(__SANITIZE_ADDRESS__)
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
#endif
		setenv("FTIDX_SOCKET", socket, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &r.status, 0);
	r.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
	r.out = test_read_file(out_path, &len);
	r.err = test_read_file(err_path, &len);
	return r;
}

static struct ran shell(struct harness *h, const char *sh, const char *script)
{
	const char *argv[] = { sh, "-c", script, NULL };

	return run(h, h->socket, argv);
}

/* ---- what a filter file holds ------------------------------------------------ */

/* The lines @file enables, replayed: their text, one a line, in index
 * order. */
static char *enabled(struct harness *h, const char *file)
{
	char *text = file_bytes(h, file), *save = NULL, *out;
	bool *marks = calloc(n_lines, 1);
	size_t cap = 1, len = 0;

	for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		bool neg = tok[0] == '!';
		char *body = tok + neg;

		if (strchr(body, ':'))
			continue; /* a command: the kernel's, not a function */
		if (body[0] >= '0' && body[0] <= '9') {
			unsigned long idx = strtoul(body, NULL, 10);

			if (idx >= 1 && idx <= n_lines)
				marks[idx - 1] = !neg;
			continue;
		}
		for (size_t i = 0; i < n_lines; i++)
			if (!strcmp(lines[i].name, body))
				marks[i] = !neg;
	}
	for (size_t i = 0; i < n_lines; i++)
		cap += marks[i] ? strlen(lines[i].text) + 1 : 0;
	out = calloc(cap, 1);
	for (size_t i = 0; i < n_lines; i++)
		if (marks[i])
			len += (size_t)sprintf(out + len, "%s\n", lines[i].text);
	free(marks);
	free(text);
	return out;
}

/* The same for the lines of the names in @names (space separated). */
static char *lines_of(const char *names)
{
	char *copy = strdup(names), *save = NULL, *out;
	bool *marks = calloc(n_lines, 1);
	size_t cap = 1, len = 0;

	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		for (size_t i = 0; i < n_lines; i++)
			if (!strcmp(lines[i].name, tok))
				marks[i] = true;
	for (size_t i = 0; i < n_lines; i++)
		cap += marks[i] ? strlen(lines[i].text) + 1 : 0;
	out = calloc(cap, 1);
	for (size_t i = 0; i < n_lines; i++)
		if (marks[i])
			len += (size_t)sprintf(out + len, "%s\n", lines[i].text);
	free(marks);
	free(copy);
	return out;
}

#define CHECK_HOLDS(h, file, names)                                                           \
	do {                                                                                  \
		char *_got = enabled(h, file), *_want = lines_of(names);                      \
		CHECK_EQ_STR(_got, _want);                                                    \
		free(_got);                                                                   \
		free(_want);                                                                  \
	} while (0)

/* Whether ftidxd served @file's last write: it writes indices, the
 * "kernel" (the stand-in's plain file) keeps names. */
static bool served(struct harness *h, const char *file)
{
	char *text = file_bytes(h, file);
	bool indices = text[0] >= '0' && text[0] <= '9';

	free(text);
	return indices;
}

/* The line of @name (the first, if it repeats), 1-based. */
static size_t index_of(const char *name)
{
	for (size_t i = 0; i < n_lines; i++)
		if (!strcmp(lines[i].name, name))
			return i + 1;
	return 0;
}

/* ---- the cases --------------------------------------------------------------- */

/* @n distinct names of the fixture, none of a module, one a line; with
 * @bad, "nosuch_fn" in the middle. */
static void write_list(const char *path, size_t n, bool bad, char **first_half)
{
	FILE *f = fopen(path, "w");
	size_t k = 0, cap = 1;
	char *half;

	for (size_t i = 0; i < n_lines && k < n; i++) {
		if (lines[i].module[0] || starts(lines[i].name, "__ftrace_invalid"))
			continue;
		if (i > 0 && !strcmp(lines[i].name, lines[i - 1].name))
			continue;
		fprintf(f, "%s\n", lines[i].name);
		if (bad && k == n / 2 - 1)
			fprintf(f, "nosuch_fn\n");
		k++;
	}
	fclose(f);
	/* the names before the bad one, space separated */
	half = calloc(1, 1);
	f = fopen(path, "r");
	for (char line[700]; f && fgets(line, sizeof(line), f);) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "nosuch_fn"))
			break;
		cap += strlen(line) + 1;
		half = realloc(half, cap);
		strcat(half, half[0] ? " " : "");
		strcat(half, line);
	}
	if (f)
		fclose(f);
	*first_half = half;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_shell(struct harness *h, const char *sh)
{
	bool is_bash = strstr(sh, "bash") != NULL;
	char script[8192], list[256], bad[256], *all, *half, *unused;
	struct ran r;
	double t0;

	snprintf(list, sizeof(list), "%s/list.txt", h->dir);
	snprintf(bad, sizeof(bad), "%s/bad.txt", h->dir);
	write_list(list, 1000, false, &all);
	write_list(bad, 10, true, &half);

	/* replace, add, remove */
	snprintf(script, sizeof(script), "echo vfs_read vfs_write tcp_sendmsg > %s/set_ftrace_filter",
		 h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.err, "");
	CHECK(served(h, "set_ftrace_filter"));
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read vfs_write tcp_sendmsg");
	ran_free(&r);
	snprintf(script, sizeof(script),
		 "echo vfs_open >> %s/set_ftrace_filter && echo '!vfs_read' >> %s/set_ftrace_filter",
		 h->dir, h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_write tcp_sendmsg vfs_open");
	ran_free(&r);
	/* an append that removes the last function leaves the filter empty,
	 * as the kernel does: a program's own write is not refused for it */
	snprintf(script, sizeof(script),
		 "echo vfs_read > %1$s/set_ftrace_filter && echo '!vfs_read' >> "
		 "%1$s/set_ftrace_filter",
		 h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	CHECK_HOLDS(h, "set_ftrace_filter", "");
	ran_free(&r);

	/* a name that matches nothing: the write fails, what came before it
	 * stays, and the shell says so */
	snprintf(script, sizeof(script), "echo vfs_read nosuch_fn vfs_write > %s/set_ftrace_filter",
		 h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 1);
	CHECK(strstr(r.err, is_bash ? "echo: write error: Invalid argument" : "I/O error"));
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read");
	ran_free(&r);

	/* cat of a list: 1,000 names */
	snprintf(script, sizeof(script), "cat %s > %s/set_ftrace_filter", list, h->dir);
	t0 = now_ms();
	r = shell(h, sh, script);
	printf("%s: cat of 1,000 names: %.0f ms\n", sh, now_ms() - t0);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.err, "");
	CHECK_HOLDS(h, "set_ftrace_filter", all);
	ran_free(&r);

	/* ...with a name that matches nothing in the middle */
	snprintf(script, sizeof(script), "cat %s > %s/set_ftrace_filter", bad, h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 1);
	CHECK(strstr(r.err, "cat: write error: Invalid argument"));
	CHECK_HOLDS(h, "set_ftrace_filter", half);
	ran_free(&r);

	/* an open of nothing truncates; then a loop of 100 appends, and what
	 * a reader sees right after each */
	snprintf(script, sizeof(script),
		 ": > %1$s/set_ftrace_filter; n=0; for f in $(head -n 100 %2$s); do echo $f >> "
		 "%1$s/set_ftrace_filter; n=$((n+1)); done; cat %1$s/set_ftrace_filter | wc -l",
		 h->dir, list);
	t0 = now_ms();
	r = shell(h, sh, script);
	printf("%s: 100 echo NAME >>: %.0f ms\n", sh, now_ms() - t0);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "100\n");
	{
		char *names = strdup(all), *cut = names;

		for (int i = 0; i < 100 && cut; i++)
			cut = strchr(cut + 1, ' ');
		if (cut)
			*cut = '\0';
		CHECK_HOLDS(h, "set_ftrace_filter", names);
		free(names);
	}
	ran_free(&r);

	/* a glob, read back by the same shell at once */
	snprintf(script, sizeof(script),
		 "echo 'vfs_rea*' > %1$s/set_ftrace_filter; cat %1$s/set_ftrace_filter", h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	unused = file_bytes(h, "set_ftrace_filter");
	CHECK_EQ_STR(r.out, unused);
	free(unused);
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read vfs_readv vfs_readlink");
	ran_free(&r);

	/* an instance's filter and the notrace file; a relative path */
	snprintf(script, sizeof(script),
		 "echo tcp_sendmsg > %1$s/instances/inst/set_ftrace_filter && cd %1$s && "
		 "echo vfs_open > set_ftrace_notrace",
		 h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	CHECK(served(h, "instances/inst/set_ftrace_filter"));
	CHECK_HOLDS(h, "instances/inst/set_ftrace_filter", "tcp_sendmsg");
	CHECK(served(h, "set_ftrace_notrace"));
	CHECK_HOLDS(h, "set_ftrace_notrace", "vfs_open");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read vfs_readv vfs_readlink");
	ran_free(&r);

	/* a probe beside names: the kernel takes the session from there, the
	 * names before it written as their indices, the rest as the program
	 * wrote it */
	snprintf(script, sizeof(script),
		 "echo vfs_read schedule:traceoff vfs_write > %s/set_ftrace_filter", h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	unused = file_bytes(h, "set_ftrace_filter");
	{
		char want[128];

		snprintf(want, sizeof(want), "%zu\nschedule:traceoff vfs_write\n",
			 index_of("vfs_read"));
		CHECK_EQ_STR(unused, want);
	}
	free(unused);
	ran_free(&r);

	/* the graph files: names, batched; a removal is the kernel's */
	fake_write(h->dir, "set_graph_function", "", 0);
	snprintf(script, sizeof(script),
		 "echo vfs_read vfs_write > %1$s/set_graph_function; echo '!vfs_read' >> "
		 "%1$s/set_graph_function",
		 h->dir);
	r = shell(h, sh, script);
	CHECK_EQ_INT(r.status, 0);
	unused = file_bytes(h, "set_graph_function");
	CHECK(starts(unused, "vfs_read") || starts(unused, "vfs_write"));
	CHECK(strstr(unused, "!vfs_read\n") != NULL);
	free(unused);
	CHECK_HOLDS(h, "set_graph_function", "vfs_write");
	ran_free(&r);
	/* a program no preload reaches (busybox, linked statically) run with
	 * a session: handed to the kernel first, its file in the session's
	 * place, so that the kernel's own answers reach the program */
	if (is_bash && access("/bin/busybox", X_OK) == 0) {
		snprintf(script, sizeof(script),
			 "echo vfs_open > %1$s/set_ftrace_filter; /bin/busybox cat %2$s > "
			 "%1$s/set_ftrace_filter",
			 h->dir, bad);
		r = shell(h, sh, script);
		CHECK_EQ_INT(r.status, 0);
		CHECK(!served(h, "set_ftrace_filter"));
		unused = file_bytes(h, "set_ftrace_filter");
		CHECK(strstr(unused, "nosuch_fn\n") != NULL);
		free(unused);
		CHECK(strstr(r.err, "ftidx: writing set_ftrace_filter through the kernel: the program "
				    "run next is not reached by ftidx's preload"));
		ran_free(&r);
	}
	free(all);
	free(half);
}

static void test_writer(struct harness *h)
{
	char path[256], self[4096];
	const char *argv[] = { self, "--writer", NULL, path, NULL };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct ran r;

	self[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", h->dir);

	argv[2] = "once";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "9");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read");
	ran_free(&r);

	argv[2] = "loop";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "9 -22 ");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read");
	ran_free(&r);

	argv[2] = "writev";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "31 9");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read vfs_write tcp_sendmsg vfs_open");
	ran_free(&r);

	/* the child's exit and the first close are not the release: a reader
	 * after them sees the filter as it was, after the last close the new
	 * one */
	argv[2] = "dupfork";
	{
		char *before = file_bytes(h, "set_ftrace_filter"), *after, want[8192];

		r = run(h, h->socket, argv);
		after = file_bytes(h, "set_ftrace_filter");
		snprintf(want, sizeof(want), "[%s][%s]", before, after);
		CHECK_EQ_STR(r.out, want);
		free(before);
		free(after);
	}
	CHECK_EQ_INT(r.status, 0);
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_write vfs_read");
	ran_free(&r);

	argv[2] = "notrail";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "9 8 0 9 ");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_open vfs_read");
	ran_free(&r);

	argv[2] = "stdio";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "-1 Invalid argument");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read");
	ran_free(&r);

	argv[2] = "closeexit";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_HOLDS(h, "set_ftrace_filter", "tcp_sendmsg");
	ran_free(&r);

	argv[2] = "exitopen";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_open");
	ran_free(&r);

	argv[2] = "lseek";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "0");
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read");
	ran_free(&r);

	/* no daemon: the kernel's file, as asked */
	argv[2] = "once";
	r = run(h, "/nonexistent/ftidx.sock", argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "19");
	CHECK(!served(h, "set_ftrace_filter"));
	ran_free(&r);
}

/* A program whose connection ftidxd drops as idle is served on. */
static void test_idle(void)
{
	static const char *const idle[] = { "--idle-timeout", "1", NULL };
	char path[256], self[4096];
	const char *argv[] = { self, "--writer", "idle", path, NULL };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct harness h2;
	struct ran r;
	size_t len;
	char *data;

	self[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	data = test_read_file(path, &len);
	harness_tracefs(&h2, data, len);
	free(data);
	harness_start(&h2, daemon_path, idle);
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", h2.dir);
	r = run(&h2, h2.socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.err, "");
	CHECK(served(&h2, "set_ftrace_filter"));
	CHECK_HOLDS(&h2, "set_ftrace_filter", "tcp_sendmsg vfs_read");
	ran_free(&r);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

/* ftidx exec says so when the program it runs is one no preload reaches. */
static void test_exec_static(struct harness *h)
{
	const char *argv[] = { cli_path, "-s", h->socket, "exec", "--", "/bin/busybox", "true",
			       NULL };
	struct ran r;

	if (access("/bin/busybox", X_OK) < 0)
		return;
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK(strstr(r.err, "/bin/busybox is linked statically") != NULL);
	ran_free(&r);
	argv[5] = "/bin/true";
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.err, "");
	ran_free(&r);
}

static void test_python(struct harness *h)
{
	char script[1024];
	const char *argv[] = { "/usr/bin/python3", "-c", script, NULL };
	struct ran r;

	if (access(argv[0], X_OK) < 0) {
		printf("python3 is not installed: its cases are left out\n");
		return;
	}
	snprintf(script, sizeof(script),
		 "f = open('%1$s/set_ftrace_filter', 'w'); f.write('vfs_read vfs_write\\n'); "
		 "f.close()\n"
		 "try:\n"
		 "  with open('%1$s/set_ftrace_notrace', 'a') as f: f.write('vfs_open nosuch_fn "
		 "tcp_sendmsg\\n')\n"
		 "except OSError as e: print(e.errno)\n",
		 h->dir);
	r = run(h, h->socket, argv);
	CHECK_EQ_INT(r.status, 0);
	CHECK_EQ_STR(r.out, "22\n");
	CHECK(served(h, "set_ftrace_filter"));
	CHECK_HOLDS(h, "set_ftrace_filter", "vfs_read vfs_write");
	CHECK_HOLDS(h, "set_ftrace_notrace", "vfs_open");
	ran_free(&r);
}

/* ---- what a hostile or broken client can do ---------------------------- */

/* Send @len bytes on @fd with @n_fds descriptors attached. */
static ssize_t send_with(int fd, const void *p, size_t len, const int *fds, int n_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = { (void *)p, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (n_fds) {
		memset(control.buf, 0, sizeof(control.buf));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n_fds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* A raw SESSION of set_ftrace_filter on @conn: the session's socket. */
static int raw_session(int conn)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION, .file = FTIDX_FILE_FILTER,
				     .instance = "" };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct ftidx_frame_header hdr;
	struct iovec iov = { &hdr, sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	char body[4096];
	struct proto_buf b;
	int fd = -1;

	proto_buf_init(&b);
	proto_encode_request(&b, 1, &req);
	send_bytes(conn, b.data, b.len);
	proto_buf_deinit(&b);
	if (recvmsg(conn, &msg, MSG_WAITALL) == sizeof(hdr) && hdr.length <= sizeof(body) &&
	    recv(conn, body, hdr.length, MSG_WAITALL) == (ssize_t)hdr.length)
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* @frame (@len bytes) on session @fd with a reply socket: the reply's
 * type and status, or -1 when none came. */
static int ask_raw(int fd, const void *frame, size_t len, uint16_t *type)
{
	struct ftidx_frame_header hdr;
	int sv[2], status = -1;
	char buf[65536];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return -1;
	if (send_with(fd, frame, len, &sv[1], 1) == (ssize_t)len) {
		struct timeval tv = { 5, 0 };

		setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		close(sv[1]);
		sv[1] = -1;
		n = recv(sv[0], buf, sizeof(buf), 0);
		if (n >= (ssize_t)(sizeof(hdr) + 4)) {
			memcpy(&hdr, buf, sizeof(hdr));
			memcpy(&status, buf + sizeof(hdr), 4);
			*type = hdr.type;
		}
	}
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return status;
}

static void test_hostile(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION_WRITE,
				     .bytes = (const uint8_t *)"tcp_sendmsg\n", .n_bytes = 12 };
	int conn = harness_connect(h), fd, fds[3], status;
	char junk[600], *before;
	struct proto_buf b;
	uint16_t type = 0;

	/* a session's request on the daemon's socket: refused alone */
	proto_buf_init(&b);
	proto_encode_request(&b, 3, &req);
	send_bytes(conn, b.data, b.len);
	CHECK_EQ_INT(read_error_reply(conn, &type), EINVAL);
	CHECK_EQ_INT(type, FTIDX_MSG_SESSION_WRITE | FTIDX_MSG_REPLY);

	before = file_bytes(h, "set_ftrace_notrace");
	fd = raw_session(conn);
	CHECK(fd >= 0);
	/* a frame that is none: an ERROR on the reply socket, the session
	 * goes on */
	memset(junk, 'x', sizeof(junk));
	CHECK_EQ_INT(ask_raw(fd, junk, 40, &type), EBADMSG);
	CHECK_EQ_INT(type, FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	/* a message with three descriptors: ignored */
	fds[0] = fds[1] = fds[2] = 0;
	CHECK_EQ_INT(send_with(fd, "vfs_read\n", 9, fds, 3), 9);
	/* a request of another kind on a session's socket: not for it */
	{
		struct proto_request st = { .type = FTIDX_MSG_STATUS };
		struct proto_buf sb;

		proto_buf_init(&sb);
		proto_encode_request(&sb, 4, &st);
		CHECK_EQ_INT(ask_raw(fd, sb.data, sb.len, &type), EOPNOTSUPP);
		proto_buf_deinit(&sb);
	}
	/* a real write still works, and so does the end */
	CHECK_EQ_INT(ask_raw(fd, b.data, b.len, &type), 0);
	CHECK_EQ_INT(type, FTIDX_MSG_SESSION_WRITE | FTIDX_MSG_REPLY);
	/* a token longer than any name: the kernel takes the session */
	CHECK_EQ_INT(send(fd, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t)sizeof(junk));
	close(fd);
	proto_buf_deinit(&b);
	/* a sync of a session that is no more, and one of the file */
	{
		struct proto_request sync = { .type = FTIDX_MSG_SESSION_SYNC, .session = 999999 };

		proto_buf_init(&b);
		proto_encode_request(&b, 5, &sync);
		sync = (struct proto_request){ .type = FTIDX_MSG_SESSION_SYNC,
					       .flags = FTIDX_SYNC_FILE,
					       .file = FTIDX_FILE_FILTER, .instance = "" };
		proto_encode_request(&b, 6, &sync);
		send_bytes(conn, b.data, b.len);
		CHECK_EQ_INT(read_error_reply(conn, &type), 0);
		CHECK_EQ_INT(type, FTIDX_MSG_SESSION_SYNC | FTIDX_MSG_REPLY);
		CHECK_EQ_INT(read_error_reply(conn, &type), 0);
		proto_buf_deinit(&b);
	}
	/* what was written before the long token was kept, written to the
	 * kernel's file by index (appended: the session did not truncate)
	 * when it took over, and the long token after it */
	{
		char *got = file_bytes(h, "set_ftrace_filter"), want[1024];
		size_t len = strlen(got);

		snprintf(want, sizeof(want), "%zu\n%.600s", index_of("tcp_sendmsg"), junk);
		CHECK(len >= strlen(want) && strcmp(got + len - strlen(want), want) == 0);
		free(got);
	}
	/* nothing else changed, and the daemon serves on */
	{
		char *after = file_bytes(h, "set_ftrace_notrace");

		CHECK_EQ_STR(after, before);
		free(after);
	}
	free(before);

	/* costly bytes are worked on a slice at a time: a resolve of another
	 * client's waits for a slice, not for 10,000 scans of every line */
	{
		size_t len = 10000 * 4;
		char *globs = malloc(len);
		struct ftidx *other = connect_or_die(h);
		struct ftidx_result *res = NULL;
		const char *name = "vfs_read";
		double t0, ms;

		for (size_t i = 0; i < len; i += 4)
			memcpy(globs + i, "*e* ", 4);
		fd = raw_session(conn);
		CHECK(fd >= 0);
		CHECK_EQ_INT(send(fd, globs, len, MSG_NOSIGNAL), (ssize_t)len);
		harness_sleep_ms(50);
		t0 = now_ms();
		CHECK_EQ_INT(ftidx_resolve(other, &name, 1, 0, &res), 0);
		ms = now_ms() - t0;
		printf("a resolve beside a session's 10,000 costly globs: %.0f ms\n", ms);
		CHECK(ms < 1000);
		ftidx_result_free(res);
		ftidx_unref(other);
		close(fd);
		free(globs);
	}
	close(conn);
	/* a session left open when the daemon stops: it ends uncommitted */
	conn = harness_connect(h);
	fd = raw_session(conn);
	CHECK(fd >= 0);
	status = harness_stop(h);
	CHECK_EQ_INT(status, 0);
	close(fd);
	close(conn);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	if (argc > 3 && strcmp(argv[1], "--writer") == 0)
		return writer(argv[2], argv[3]);
	if (argc < 5) {
		fprintf(stderr, "usage: test-filter-redirect FTIDXD FTIDX FIXTURES DROPIN\n");
		return 2;
	}
	dropin = argv[4];
	integration_setup(argc, argv, "test-filter-redirect", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_shell(&h, "/bin/bash");
	test_shell(&h, "/bin/dash");
	test_writer(&h);
	test_idle();
	test_exec_static(&h);
	test_python(&h);
	CHECK(harness_alive(&h));
	test_hostile(&h); /* last: it stops the daemon */
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-filter-redirect");
}
