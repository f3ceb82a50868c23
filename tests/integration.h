/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the integration tests share (test-library.c, test-server.c,
 * test-cli.c): the built ftidxd on a fake tracing directory, driven
 * through libftidx, with raw frames and through the ftidx binary.
 *
 * Expected results are computed here from the fixture text with plain
 * string tests, and what the daemon wrote is read back from the filter
 * files and replayed with the kernel's token semantics ("N" adds line N,
 * "!N" removes it; a truncating write starts from nothing).
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon-harness.h"
#include "ftidx.h"
#include "macro.h"
#include "proto.h"
#include "testlib.h"

/* Set by integration_setup() from the command line. */
_unused_ static const char *daemon_path, *cli_path, *fixtures;

/*
 * Under AddressSanitizer freed memory sits in quarantine and RSS says
 * nothing about leaks (LeakSanitizer checks those at the daemon's exit):
 * the memory bounds hold only in the plain build.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_RSS(cond) ((void)0)
#else
#define CHECK_RSS(cond) CHECK(cond)
#endif

/* ---- the fixture, independently ---------------------------------------- */

struct line {
	char text[800]; /* as printed: "name" or "name [module]" */
	char name[600];
	char module[64];
};

_unused_ static struct line *lines;
_unused_ static size_t n_lines;

static inline void load_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[800];
	size_t cap = 0;

	n_lines = 0;
	if (!f)
		exit(1);
	while (fgets(buf, sizeof(buf), f)) {
		struct line *l;

		if (n_lines == cap) {
			cap = cap ? cap * 2 : 4096;
			lines = realloc(lines, sizeof(*lines) * cap);
		}
		l = &lines[n_lines++];
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(l->text, sizeof(l->text), "%s", buf);
		l->module[0] = '\0';
		sscanf(buf, "%599s [%63[^]]]", l->name, l->module);
	}
	fclose(f);
}

static inline bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Replay the tokens in @file (relative to the tracing dir) from nothing:
 * marks[i] is true when line i+1 is enabled. Returns how many are. */
static inline size_t replay(struct harness *h, const char *file, bool *marks)
{
	char path[256], *text, *save = NULL;
	size_t len, n = 0;

	snprintf(path, sizeof(path), "%s/%s", h->dir, file);
	text = test_read_file(path, &len);
	memset(marks, 0, n_lines);
	for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		bool neg = tok[0] == '!';
		unsigned long idx = strtoul(tok + neg, NULL, 10);

		if (idx < 1 || idx > n_lines) {
			fprintf(stderr, "%s: token '%s' out of range\n", file, tok);
			CHECK(!"token out of range");
			continue;
		}
		CHECK(!starts(lines[idx - 1].name, "__ftrace_invalid_address___"));
		marks[idx - 1] = !neg;
	}
	for (size_t i = 0; i < n_lines; i++)
		n += marks[i];
	free(text);
	return n;
}

static inline char *file_bytes(struct harness *h, const char *file)
{
	char path[256];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", h->dir, file);
	return test_read_file(path, &len);
}

/* The filter in @file enables exactly the lines @want(line) says. */
static inline void check_filter(struct harness *h, const char *file, bool (*want)(const struct line *),
			 size_t expect_count)
{
	bool *marks = malloc(n_lines);
	size_t n = replay(h, file, marks), wrong = 0, count = 0;

	for (size_t i = 0; i < n_lines; i++) {
		bool w = want(&lines[i]);

		count += w;
		wrong += marks[i] != w;
	}
	if (wrong)
		fprintf(stderr, "%s: %zu lines differ from what was asked\n", file, wrong);
	CHECK_EQ_INT(wrong, 0);
	CHECK_EQ_INT(n, count);
	CHECK_EQ_INT(count, expect_count);
	free(marks);
}

static inline bool want_vfs_or_type_show(const struct line *l)
{
	return starts(l->name, "vfs_") || strcmp(l->name, "type_show") == 0;
}

static inline bool want_after_add(const struct line *l)
{
	if (strcmp(l->name, "vfs_read") == 0)
		return false;
	return want_vfs_or_type_show(l) || strcmp(l->text, "dummy_xmit [dummy]") == 0;
}

static inline bool want_after_remove(const struct line *l)
{
	return want_after_add(l) && strcmp(l->name, "type_show") != 0;
}

static inline bool want_nothing(const struct line *l _unused_)
{
	return false;
}

static inline bool want_loop_module(const struct line *l)
{
	return strcmp(l->module, "loop") == 0;
}

static inline bool want_vfs_read(const struct line *l)
{
	return strcmp(l->name, "vfs_read") == 0;
}

static inline size_t count_where(bool (*want)(const struct line *))
{
	size_t n = 0;

	for (size_t i = 0; i < n_lines; i++)
		n += want(&lines[i]);
	return n;
}

static inline struct ftidx *connect_or_die(struct harness *h)
{
	struct ftidx *c = NULL;
	int r;

	/* The socket's file appears at bind(), a moment before listen(): on
	 * a loaded machine a client can fall in between. */
	for (int i = 0; (r = ftidx_connect(h->socket, &c)) == -ECONNREFUSED && i < 100; i++)
		harness_sleep_ms(20);
	if (r < 0) {
		fprintf(stderr, "cannot connect to %s\n", h->socket);
		exit(1);
	}
	return c;
}

static inline void test_status(struct harness *h)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st;

	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	CHECK_EQ_INT(st->entries, 38303);
	CHECK_EQ_INT(st->placeholders, 597);
	CHECK_EQ_INT(st->modules, 2);
	CHECK_EQ_INT(st->module_entries, 51);
	CHECK_EQ_INT(st->generation, 1);
	CHECK(!st->is_tracefs);
	CHECK_EQ_STR(st->tracing_dir, h->dir);
	CHECK_EQ_STR(st->daemon_version, FTIDX_VERSION);
	/* not a tracefs, and no statement: the newest kernels' rules */
	CHECK_EQ_STR(st->match_rules, "class-stops-at-end");
	CHECK(strstr(st->match_rules_how, "not a tracefs") != NULL);
	ftidx_status_free(st);
	ftidx_unref(c);
}

/* The pid of a process that has exited: no process has it now. */
static inline int dead_pid(void)
{
	static pid_t pid;

	if (!pid) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	return (int)pid;
}

static inline void send_bytes(int fd, const void *p, size_t len)
{
	if (send(fd, p, len, MSG_NOSIGNAL) != (ssize_t)len)
		CHECK(!"send failed");
}

/* Read one reply; returns its status, or -1 if none came. */
static inline int read_error_reply(int fd, uint16_t *type)
{
	struct ftidx_frame_header hdr;
	uint8_t body[4096];
	int32_t status;

	if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) || hdr.length > sizeof(body) ||
	    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length || hdr.length < 4)
		return -1;
	*type = hdr.type;
	memcpy(&status, body, sizeof(status));
	return status;
}

static inline bool closed_by_peer(int fd)
{
	char b;
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &b, 1, 0) == 0;
}

static inline void frame(struct proto_buf *b, uint32_t magic, uint16_t version, uint16_t type,
		  uint32_t length, const void *body, size_t body_len)
{
	struct ftidx_frame_header hdr = { magic, version, type, 7, length };

	proto_buf_init(b);
	proto_put_bytes(b, &hdr, sizeof(hdr));
	proto_put_bytes(b, body, body_len);
}

/* Run the ftidx binary on @socket with @args; its stdout in @out; returns
 * its exit status. */
static inline int run_cli_on(const char *socket, const char *args, const char *input, char *out,
		      size_t size)
{
	char cmd[1024];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s%s%s%s -s %s %s 2>/dev/null", input ? "printf '" : "",
		 input ? input : "", input ? "' | " : "", cli_path, socket, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int run_cli(struct harness *h, const char *args, const char *input, char *out, size_t size)
{
	return run_cli_on(h->socket, args, input, out, size);
}

/* The same with standard error in @out too. */
static inline int run_cli_err(struct harness *h, const char *args, char *out, size_t size)
{
	char cmd[1024];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s -s %s %s 2>&1", cli_path, h->socket, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int daemon_fds(struct harness *h)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)h->pid);
	d = opendir(path);
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The daemon's open fds once the hang-ups of clients that just exited are
 * processed: the same count three times 50 ms apart (at most 3 s). A count
 * taken at once may still hold a connection that is closing. */
static inline int daemon_fds_settled(struct harness *h)
{
	int last = daemon_fds(h), same = 0;

	for (int i = 0; i < 60 && same < 2; i++) {
		int n;

		harness_sleep_ms(50);
		n = daemon_fds(h);
		same = n == last ? same + 1 : 0;
		last = n;
	}
	return last;
}

static inline long daemon_rss_kb(struct harness *h)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)h->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* How many lines @pattern resolves to on @h's daemon, or -errno. */
static inline long resolve_count(struct harness *h, const char *pattern)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	long n = ftidx_resolve(c, &pattern, 1, 0, &r);

	if (n == 0)
		n = (long)ftidx_result_count(r);
	else if (r)
		n = ftidx_result_token_error(r, 0, NULL);
	ftidx_result_free(r);
	ftidx_unref(c);
	return n;
}

/*
 * The common start of each test program: "PROGRAM FTIDXD FTIDX FIXTURES";
 * the fixture with loop and dummy loaded, its lines in lines[], and a
 * fake tracing directory of it in @h (not started). Exits on bad usage.
 */
static inline void integration_setup(int argc, char **argv, const char *name, struct harness *h,
				     char *path, size_t path_size)
{
	size_t len;
	char *data;

	if (argc < 4) {
		fprintf(stderr, "usage: %s FTIDXD FTIDX FIXTURES\n", name);
		exit(2);
	}
	daemon_path = argv[1];
	cli_path = argv[2];
	fixtures = argv[3];
	snprintf(path, path_size, "%s/debian-6.1-loop-dummy.txt", fixtures);
	load_lines(path);
	data = test_read_file(path, &len);
	harness_tracefs(h, data, len);
	free(data);
}
