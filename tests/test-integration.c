/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built ftidxd on a fake tracing directory, driven through libftidx,
 * through the ftidx binary and with raw frames.
 *
 * Expected results are computed here from the fixture text with plain
 * string tests, and what the daemon wrote is read back from the filter
 * files and replayed with the kernel's token semantics ("N" adds line N,
 * "!N" removes it; a truncating write starts from nothing).
 */
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

static const char *daemon_path, *cli_path, *fixtures;

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

static struct line *lines;
static size_t n_lines;

static void load_lines(const char *path)
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

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- what a filter file holds ------------------------------------------ */

/* Replay the tokens in @file (relative to the tracing dir) from nothing:
 * marks[i] is true when line i+1 is enabled. Returns how many are. */
static size_t replay(struct harness *h, const char *file, bool *marks)
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

static char *file_bytes(struct harness *h, const char *file)
{
	char path[256];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", h->dir, file);
	return test_read_file(path, &len);
}

/* The filter in @file enables exactly the lines @want(line) says. */
static void check_filter(struct harness *h, const char *file, bool (*want)(const struct line *),
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

static bool want_vfs_or_type_show(const struct line *l)
{
	return starts(l->name, "vfs_") || strcmp(l->name, "type_show") == 0;
}

static bool want_after_add(const struct line *l)
{
	if (strcmp(l->name, "vfs_read") == 0)
		return false;
	return want_vfs_or_type_show(l) || strcmp(l->text, "dummy_xmit [dummy]") == 0;
}

static bool want_after_remove(const struct line *l)
{
	return want_after_add(l) && strcmp(l->name, "type_show") != 0;
}

static bool want_nothing(const struct line *l _unused_)
{
	return false;
}

static bool want_loop_module(const struct line *l)
{
	return strcmp(l->module, "loop") == 0;
}

static bool want_vfs_read(const struct line *l)
{
	return strcmp(l->name, "vfs_read") == 0;
}

static size_t count_where(bool (*want)(const struct line *))
{
	size_t n = 0;

	for (size_t i = 0; i < n_lines; i++)
		n += want(&lines[i]);
	return n;
}

/* ---- libftidx ---------------------------------------------------------- */

static struct ftidx *connect_or_die(struct harness *h)
{
	struct ftidx *c = NULL;

	if (ftidx_connect(h->socket, &c) < 0) {
		fprintf(stderr, "cannot connect to %s\n", h->socket);
		exit(1);
	}
	return c;
}

static void test_status(struct harness *h)
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

static void test_resolve(struct harness *h)
{
	const char *pats[] = { "type_show", "lo_*:mod:loop" };
	const char *bad[] = { "vfs_read", "nosuch_fn", "0", "010", "__ftrace_invalid_address___32",
			      "38304", "foo:mod" };
	const int bad_err[] = { 0, -ENOENT, -ERANGE, -EINVAL, -EPERM, -ERANGE, -EINVAL };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	size_t lo = 0;

	for (size_t i = 0; i < n_lines; i++)
		lo += starts(lines[i].name, "lo_") && strcmp(lines[i].module, "loop") == 0;
	CHECK(lo > 5);

	CHECK_EQ_INT(ftidx_resolve(c, pats, 2, FTIDX_RESOLVE_WITH_LINES, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 17 + lo);
	CHECK_EQ_INT(ftidx_result_token_matches(r, 0), 17);
	CHECK_EQ_INT(ftidx_result_token_matches(r, 1), lo);
	CHECK_EQ_INT(ftidx_result_generation(r), 1);
	for (size_t i = 0; i < ftidx_result_count(r); i++) {
		uint32_t idx = ftidx_result_index(r, i);

		CHECK(idx >= 1 && idx <= n_lines);
		CHECK_EQ_STR(ftidx_result_line(r, i), lines[idx - 1].text);
		if (i)
			CHECK(idx > ftidx_result_index(r, i - 1));
	}
	r = ftidx_result_free(r);

	CHECK_EQ_INT(ftidx_resolve(c, bad, ARRAY_SIZE(bad), 0, &r), -EINVAL);
	CHECK(r != NULL);
	CHECK_EQ_INT(ftidx_result_token_count(r), ARRAY_SIZE(bad));
	for (size_t i = 0; r && i < ARRAY_SIZE(bad); i++) {
		const char *why = NULL;

		CHECK_EQ_INT(ftidx_result_token_error(r, i, &why), bad_err[i]);
		if (bad_err[i])
			CHECK(why && why[0]);
	}
	CHECK(strstr(ftidx_error_message(c), "6 of 7") != NULL);
	ftidx_result_free(r);
	ftidx_unref(c);
}

static void test_names_and_list(struct harness *h)
{
	const uint32_t idx[] = { 1, 38303, 999999 };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;

	CHECK_EQ_INT(ftidx_names(c, idx, 3, &r), -ERANGE);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ_STR(ftidx_result_line(r, 0), lines[0].text);
		CHECK_EQ_STR(ftidx_result_line(r, 1), lines[38302].text);
		CHECK_EQ_INT(ftidx_result_line_error(r, 2), -ERANGE);
		CHECK_EQ_INT(ftidx_result_index(r, 1), 38303);
	}
	r = ftidx_result_free(r);

	CHECK_EQ_INT(ftidx_list(c, FTIDX_LIST_BY_MODULE, "dummy", &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 9);
	CHECK(strstr(ftidx_result_line(r, 0), "[dummy]") != NULL);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_list(c, 0, NULL, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 38303 - 597);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_list(c, FTIDX_LIST_WITH_PLACEHOLDERS, NULL, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 38303);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_list(c, FTIDX_LIST_BY_MODULE, "nosuchmod", &r), -ENOENT);
	ftidx_result_free(r);
	ftidx_unref(c);
}

/* set, add, remove, clear on one file, checked by replaying the file. */
static void filter_cycle(struct harness *h, int file, const char *instance, const char *path)
{
	const char *set[] = { "vfs_*", "type_show" };
	const char *add[] = { "!vfs_read", "dummy_xmit" };
	const char *rm[] = { "type_show" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	size_t base = count_where(want_vfs_or_type_show);

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, file, instance, 0, 0, set, 2, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), base);
	CHECK_EQ_INT(ftidx_result_written(r), base);
	r = ftidx_result_free(r);
	check_filter(h, path, want_vfs_or_type_show, base);

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_ADD, file, instance, 0, 0, add, 2, &r), 0);
	CHECK_EQ_INT(ftidx_result_removed_count(r), 1);
	r = ftidx_result_free(r);
	check_filter(h, path, want_after_add, count_where(want_after_add));

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_REMOVE, file, instance, 0, 0, rm, 1, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 17);
	r = ftidx_result_free(r);
	check_filter(h, path, want_after_remove, count_where(want_after_remove));

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, file, instance, 0, 0, NULL, 0, NULL), 0);
	check_filter(h, path, want_nothing, 0);
	ftidx_unref(c);
}

/* The pid of a process that has exited: no process has it now. */
static int dead_pid(void)
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

/* ftidx hits where no function tracer exists: every refusal is clean, and
 * nothing is left behind. (It runs on the real kernel in the systemd suite.) */
static void test_hits(struct harness *h)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st = NULL;
	struct ftidx_hits *hits = NULL;
	char path[256];
	struct stat sb;

	CHECK_EQ_INT(ftidx_hits(c, NULL, 0, &hits), -EINVAL);
	CHECK_EQ_INT(ftidx_hits(c, NULL, FTIDX_HITS_MAX_SECONDS + 1, &hits), -EINVAL);
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	CHECK_EQ_INT(ftidx_hits(c, NULL, 1, &hits), -ENODATA);
	CHECK(strstr(ftidx_error_message(c), "set one first") != NULL);
	CHECK_EQ_INT(ftidx_hits(c, "nope", 1, &hits), -ENOENT);
	/* What the kernel reads back, less notrace: then the run needs the
	 * function tracer's event format, which this directory lacks. */
	fake_write(h->dir, "set_ftrace_filter", "vfs_read\nlo_release [loop]\n", 28);
	fake_write(h->dir, "set_ftrace_notrace", "vfs_read\n", 9);
	CHECK_EQ_INT(ftidx_hits(c, NULL, 1, &hits), -ENOENT);
	CHECK(strstr(ftidx_error_message(c), "event format") != NULL);
	CHECK(hits == NULL);
	snprintf(path, sizeof(path), "%s/instances/ftidx-hits-%d", h->dir, (int)h->pid);
	CHECK(stat(path, &sb) < 0);
	/* still serving, on the same connection */
	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	ftidx_status_free(st);
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	fake_write(h->dir, "set_ftrace_notrace", "", 0);
	ftidx_unref(c);
}

/* Requests that must change nothing. */
static void test_refusals(struct harness *h)
{
	const char *set[] = { ":mod:loop" };
	const char *bad[] = { "vfs_read", "nosuch_fn" };
	const char *empty[] = { "!vfs_read" };
	const char *bang[] = { "!vfs_read" };
	const char *one[] = { "vfs_read" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	char *before;

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, set, 1, NULL), 0);
	check_filter(h, "set_ftrace_filter", want_loop_module, count_where(want_loop_module));
	before = file_bytes(h, "set_ftrace_filter");
	{
		/* status lists what ftidx wrote; a plain directory cannot say if it holds */
		struct ftidx_status *st = NULL;
		bool seen = false;

		CHECK_EQ_INT(ftidx_status(c, &st), 0);
		for (size_t i = 0; st && i < st->n_filters; i++) {
			if (st->filters[i].file == FTIDX_FILTER && !st->filters[i].instance[0]) {
				seen = true;
				CHECK_EQ_INT(st->filters[i].functions, count_where(want_loop_module));
				CHECK_EQ_INT(st->filters[i].holds, -1);
			}
		}
		CHECK(seen);
		ftidx_status_free(st);
	}

	/* one bad pattern: nothing written */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, bad, 2, &r), -EINVAL);
	CHECK(r && ftidx_result_written(r) == 0);
	r = ftidx_result_free(r);
	/* a set that selects nothing would trace everything: refused */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, empty, 1, NULL), -ENODATA);
	CHECK(strstr(ftidx_error_message(c), "clear") != NULL);
	/* remove with '!' is contradictory */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_REMOVE, FTIDX_FILTER, NULL, 0, 0, bang, 1, NULL), -EINVAL);
	/* no such instance, unless asked to create it */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "nope", 0, 0, one, 1, NULL), -ENOENT);
	/* hostile names never reach the daemon through libftidx */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "../x", 0, 0, one, 1, NULL), -EINVAL);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "a/b", 0, 0, one, 1, NULL), -EINVAL);
	/* a wrong generation */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 7777, one, 1, NULL), -ESTALE);

	{
		char *after = file_bytes(h, "set_ftrace_filter");

		CHECK_EQ_STR(after, before);
		free(after);
	}
	free(before);

	/* created on request */
	{
		char path[256];
		struct stat st;

		CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_FILTER, "made", FTIDX_CREATE_INSTANCE,
					  0, NULL, 0, NULL),
			     -ENOENT); /* the fake instance has no filter file */
		snprintf(path, sizeof(path), "%s/instances/made", h->dir);
		CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	}
	ftidx_unref(c);
}

/* ---- raw frames -------------------------------------------------------- */

static void send_bytes(int fd, const void *p, size_t len)
{
	if (send(fd, p, len, MSG_NOSIGNAL) != (ssize_t)len)
		CHECK(!"send failed");
}

/* Read one reply; returns its status, or -1 if none came. */
static int read_error_reply(int fd, uint16_t *type)
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

static bool closed_by_peer(int fd)
{
	char b;
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &b, 1, 0) == 0;
}

static void frame(struct proto_buf *b, uint32_t magic, uint16_t version, uint16_t type,
		  uint32_t length, const void *body, size_t body_len)
{
	struct ftidx_frame_header hdr = { magic, version, type, 7, length };

	proto_buf_init(b);
	proto_put_bytes(b, &hdr, sizeof(hdr));
	proto_put_bytes(b, body, body_len);
}

static void expect_refused(struct harness *h, const char *what, uint32_t magic, uint16_t version,
			   uint16_t type, uint32_t length, const void *body, size_t body_len,
			   int want)
{
	struct proto_buf b;
	uint16_t rtype = 0;
	int fd = harness_connect(h), status;

	frame(&b, magic, version, type, length, body, body_len);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	status = read_error_reply(fd, &rtype);
	if (status != want)
		fprintf(stderr, "%s: status %d, expected %d\n", what, status, want);
	CHECK_EQ_INT(status, want);
	CHECK_EQ_INT(rtype, FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	CHECK(closed_by_peer(fd));
	close(fd);
}

static void test_bad_frames(struct harness *h)
{
	uint8_t body[64] = { 0 };
	uint32_t count5[2] = { 0, 5 };
	char before_path[] = "set_ftrace_filter";
	char *before = file_bytes(h, before_path);
	struct proto_buf b;
	int fd;

	expect_refused(h, "bad magic", 0xdeadbeef, 1, FTIDX_MSG_STATUS, 0, NULL, 0, EBADMSG);
	expect_refused(h, "version", FTIDX_PROTO_MAGIC, 0, FTIDX_MSG_STATUS, 0, NULL, 0,
		       EPROTONOSUPPORT);
	expect_refused(h, "oversized", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, FTIDX_FRAME_MAX + 1,
		       NULL, 0, EMSGSIZE);
	expect_refused(h, "type 0", FTIDX_PROTO_MAGIC, 1, 0, 0, NULL, 0, EBADMSG);
	expect_refused(h, "a reply", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, 0,
		       NULL, 0, EBADMSG);
	expect_refused(h, "status with a body", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_STATUS, 4, body, 4,
		       EBADMSG);
	expect_refused(h, "count past the body", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 8, count5,
		       8, EBADMSG);
	{
		/* a string that never ends */
		uint8_t unterminated[12] = { 0, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 'c', 'd' };

		expect_refused(h, "unterminated", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 12,
			       unterminated, 12, EBADMSG);
	}
	{
		/* a hostile instance name, straight on the wire */
		struct proto_request req = {
			.type = FTIDX_MSG_FILTER, .op = FTIDX_OP_SET, .file = FTIDX_FILE_FILTER,
			.instance = "../x", .tokens = (const char *[]){ "vfs_read" }, .n_tokens = 1,
		};
		uint16_t rtype;

		for (int i = 0; i < 2; i++) {
			proto_buf_init(&b);
			req.instance = i ? "a/b" : "../x";
			CHECK_EQ_INT(proto_encode_request(&b, 9, &req), 0);
			fd = harness_connect(h);
			send_bytes(fd, b.data, b.len);
			CHECK_EQ_INT(read_error_reply(fd, &rtype), EBADMSG);
			CHECK(closed_by_peer(fd));
			close(fd);
			proto_buf_deinit(&b);
		}
	}

	/* clients that vanish: mid-header, mid-body */
	fd = harness_connect(h);
	send_bytes(fd, "\x66\x69", 2);
	close(fd);
	{
		struct ftidx_frame_header hdr = { FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 1, 1000 };

		fd = harness_connect(h);
		send_bytes(fd, &hdr, sizeof(hdr));
		send_bytes(fd, body, 10);
		close(fd);
	}

	/* the daemon still serves, and the filter is as it was */
	CHECK(harness_alive(h));
	test_status(h);
	{
		char *after = file_bytes(h, before_path);

		CHECK_EQ_STR(after, before);
		free(after);
	}
	free(before);
}

/* ---- stale maps -------------------------------------------------------- */

static void test_stale(struct harness *h)
{
	const char *pats[] = { "dummy_xmit" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	uint32_t idx;
	uint64_t gen;
	char path[4096], *data, *before;
	size_t len;

	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	gen = ftidx_result_generation(r);
	idx = ftidx_result_index(r, 0);
	r = ftidx_result_free(r);

	/* rmmod loop: dummy's lines move down by loop's 42 */
	snprintf(path, sizeof(path), "%s/debian-6.1-dummy-only.txt", fixtures);
	data = test_read_file(path, &len);
	fake_write(h->dir, "available_filter_functions", data, len);
	fake_write(h->dir, "dyn_ftrace_total_info", "38261 pages:152 groups: 3\n", 26);
	before = file_bytes(h, "set_ftrace_filter");

	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, gen, &idx, 1, &r),
		     -ESTALE);
	CHECK(strstr(ftidx_error_message(c), "resolve again") != NULL);
	r = ftidx_result_free(r);
	{
		char *after = file_bytes(h, "set_ftrace_filter");

		CHECK_EQ_STR(after, before);
		free(after);
	}

	/* resolved again on the new map: the new index, and it writes */
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(ftidx_result_generation(r), gen + 1);
	CHECK_EQ_INT(ftidx_result_index(r, 0), idx - 42);
	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, gen + 1,
					  ftidx_result_indices(r), 1, NULL),
		     0);
	r = ftidx_result_free(r);
	load_lines(path);
	{
		bool *marks = malloc(n_lines);

		CHECK_EQ_INT(replay(h, "set_ftrace_filter", marks), 1);
		CHECK(marks[idx - 43] && strcmp(lines[idx - 43].text, "dummy_xmit [dummy]") == 0);
		free(marks);
	}
	free(before);
	free(data);
	ftidx_unref(c);
}

/* ---- the CLI ----------------------------------------------------------- */

/* Run the ftidx binary on @socket with @args; its stdout in @out; returns
 * its exit status. */
static int run_cli_on(const char *socket, const char *args, const char *input, char *out,
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

static int run_cli(struct harness *h, const char *args, const char *input, char *out, size_t size)
{
	return run_cli_on(h->socket, args, input, out, size);
}

/* With no daemon at the socket: usage errors are still usage errors (2),
 * found before connecting; a well-formed request cannot be served (3). */
static void test_cli_without_daemon(void)
{
	static const char *const usage_errors[] = {
		"hits --seconds 4000",	   "hits --seconds 0",	    "hits extra",
		"set --generation abc f",  "set --generation 0 f",   "set --generation -1 f",
		"set",			   "clear vfs_read",	    "list --module",
		"list extra",		   "name abc",		    "name -1",
		"status extra",		   "resolve",		    "set --bogus f",
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_SIZE(usage_errors); i++) {
		int r = run_cli_on("/nonexistent/ftidx.sock", usage_errors[i], NULL, out, sizeof(out));

		if (r != 2)
			fprintf(stderr, "ftidx %s: exit %d without a daemon\n", usage_errors[i], r);
		CHECK_EQ_INT(r, 2);
	}
	CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", "status", NULL, out, sizeof(out)), 3);
	CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", "set --generation 7 vfs_read", NULL, out,
				sizeof(out)),
		     3);
}

static void test_cli(struct harness *h)
{
	static char out[1 << 20];
	size_t n = 0;

	CHECK_EQ_INT(run_cli(h, "resolve type_show", NULL, out, sizeof(out)), 0);
	for (char *l = out; *l; l = strchr(l, '\n') + 1) {
		char *tab = strchr(l, '\t');

		CHECK(tab && strncmp(tab, "\ttype_show\n", 11) == 0);
		n++;
		if (!strchr(l, '\n'))
			break;
	}
	CHECK_EQ_INT(n, 17);
	CHECK_EQ_INT(run_cli(h, "resolve nosuch_fn", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "resolve -", "vfs_read\\n\\n# comment\\ndummy_xmit\\n", out,
			     sizeof(out)),
		     0);
	CHECK(strstr(out, "\tvfs_read\n") && strstr(out, "\tdummy_xmit [dummy]\n"));
	CHECK_EQ_INT(run_cli(h, "--json status", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"entries\":") && out[0] == '{');
	CHECK_EQ_INT(run_cli(h, "set --notrace vfs_read", NULL, out, sizeof(out)), 0);
	check_filter(h, "set_ftrace_notrace", want_vfs_read, count_where(want_vfs_read));
	CHECK_EQ_INT(run_cli(h, "clear --notrace", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "name 1 99999999", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "bogus", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "set", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "--help", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "Exit status") != NULL);
}

/* ---- many clients ------------------------------------------------------ */

#define CLIENTS 32

static void test_many_clients(struct harness *h)
{
	pid_t pids[CLIENTS];
	int ok = 0;

	for (int i = 0; i < CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			const char *pats[] = { "type_show", "vfs_*" };
			struct ftidx *c;
			int bad = 0;

			if (ftidx_connect(h->socket, &c) < 0)
				_exit(1);
			for (int k = 0; k < 20; k++) {
				struct ftidx_result *r = NULL;

				bad += ftidx_resolve(c, pats, 2, 0, &r) != 0 ||
				       ftidx_result_token_matches(r, 0) != 17;
				ftidx_result_free(r);
			}
			ftidx_unref(c);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < CLIENTS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK_EQ_INT(ok, CLIENTS);
}

/* ---- hostile and heavy clients ---------------------------------------- */

static int daemon_fds(struct harness *h)
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
static int daemon_fds_settled(struct harness *h)
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

static long daemon_rss_kb(struct harness *h)
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

/* A frame that arrives one byte at a time is still answered. */
static void test_byte_by_byte(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS };
	struct ftidx_frame_header hdr;
	struct proto_buf b;
	int fd = harness_connect(h);

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 3, &req), 0);
	for (size_t i = 0; i < b.len; i++) {
		send_bytes(fd, b.data + i, 1);
		harness_sleep_ms(2);
	}
	CHECK(recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) == sizeof(hdr));
	CHECK_EQ_INT(hdr.type, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(hdr.id, 3);
	proto_buf_deinit(&b);
	close(fd);
}

/* A client that asks and never reads cannot stall the others, and the
 * replies piling up for it stay bounded. */
static void test_stalling_client(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	struct proto_buf b;
	long before = daemon_rss_kb(h), during;
	int fd = harness_connect(h), sent = 0;
	struct timeval tv = { 0, 200000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 1, &req), 0);
	/* each reply is ~1 MiB; ask for 300 of them and read none */
	for (int i = 0; i < 300; i++)
		sent += send(fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len;
	proto_buf_deinit(&b);
	harness_sleep_ms(500);
	test_status(h); /* everyone else is still served */
	during = daemon_rss_kb(h);
	printf("stalling client: %d requests sent, daemon RSS %ld -> %ld KiB\n", sent, before,
	       during);
	/* the reply limit is 64 MiB, plus a frame or two in flight */
	CHECK_RSS(during - before < 150 * 1024);
	close(fd);
	harness_sleep_ms(200);
	CHECK(harness_alive(h));
}

/* A client that falls behind and then reads gets every reply, in order:
 * the requests held back while its replies piled up are not lost. */
static void test_slow_reader(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	const int n = 120;
	struct proto_buf b;
	int fd = harness_connect(h), got = 0;
	uint8_t *body = malloc(FTIDX_FRAME_MAX);

	proto_buf_init(&b);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(proto_encode_request(&b, (uint32_t)i + 1, &req), 0);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	harness_sleep_ms(300);
	for (int i = 0; i < n; i++) {
		struct ftidx_frame_header hdr;

		if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) ||
		    hdr.length > FTIDX_FRAME_MAX ||
		    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length)
			break;
		got += hdr.id == (uint32_t)i + 1 && hdr.type == (FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
	}
	printf("slow reader: %d of %d replies, in order\n", got, n);
	CHECK_EQ_INT(got, n);
	free(body);
	close(fd);
}

/* Past --max-clients a client is told why, and the others are served. */
static void test_max_clients(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--max-clients", "2", NULL };
	struct harness h3;
	uint16_t type = 0;
	int a, b, c3;

	harness_tracefs(&h3, fixture_text, len);
	harness_start(&h3, daemon_path, extra);
	a = harness_connect(&h3);
	b = harness_connect(&h3);
	harness_sleep_ms(100);
	c3 = harness_connect(&h3);
	CHECK_EQ_INT(read_error_reply(c3, &type), EUSERS);
	CHECK(closed_by_peer(c3));
	close(c3);
	close(a);
	harness_sleep_ms(100);
	test_status(&h3); /* a place came free */
	close(b);
	CHECK_EQ_INT(harness_stop(&h3), 0);
	harness_cleanup(&h3);
}

/* How many lines @pattern resolves to on @h's daemon, or -errno. */
static long resolve_count(struct harness *h, const char *pattern)
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
 * A stand-in directory states its kernel's matching rules in a file; the
 * daemon follows it, says so in STATUS, and refuses what it cannot decide.
 */
static void test_stated_rules(const char *fixture_text, size_t len)
{
	static const struct {
		const char *stated, *name;
		long all, at_end;
	} cases[] = {
		/* 6.1: "*[!...]*" matches every name; a class at the very end
		 * reads past the name, refused */
		{ "class-takes-nul\n", "class-takes-nul", 38303 - 597, -EINVAL },
		{ "class-stops-at-end", "class-stops-at-end", -1, -1 },
		{ "unknown\n", "unknown", -EINVAL, -EINVAL },
		/* nonsense is not trusted: refuse where kernels differ */
		{ "6.1\n", "unknown", -EINVAL, -EINVAL },
	};
	long newer_all = -1;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct harness hr;
		struct ftidx *c;
		struct ftidx_status *st = NULL;
		long all, at_end;

		harness_tracefs(&hr, fixture_text, len);
		fake_write(hr.dir, "ftidx-match-rules", cases[i].stated, strlen(cases[i].stated));
		harness_start(&hr, daemon_path, NULL);
		c = connect_or_die(&hr);
		CHECK_EQ_INT(ftidx_status(c, &st), 0);
		CHECK_EQ_STR(st->match_rules, cases[i].name);
		CHECK(strstr(st->match_rules_how, "ftidx-match-rules") != NULL);
		ftidx_status_free(st);
		ftidx_unref(c);
		all = resolve_count(&hr, "*[!a-z0-9_.]*");
		at_end = resolve_count(&hr, "*[!a-z0-9_.]");
		if (cases[i].all == -1) {
			/* the newer rules: only names with another character */
			CHECK(all > 0 && all < 38303 - 597);
			CHECK(at_end > 0 && at_end < all);
			newer_all = all;
		} else {
			CHECK_EQ_INT(all, cases[i].all);
			CHECK_EQ_INT(at_end, cases[i].at_end);
		}
		/* every rule set agrees where no class meets the end */
		CHECK_EQ_INT(resolve_count(&hr, "vfs_[!a-q]*"), resolve_count(&hr, "vfs_[r-z]*"));
		CHECK_EQ_INT(harness_stop(&hr), 0);
		harness_cleanup(&hr);
	}
	CHECK(newer_all > 0);
}

/*
 * A client whose last frame is bad gets every reply it asked for before
 * it, then the ERROR reply, then the hang-up: a connection being closed
 * is freed once its output is empty, not as soon as it falls below the
 * write watermark (half the reply limit).
 */
static void test_closing_keeps_replies(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	const uint32_t bad_magic = 0x12345678;
	const int n = 40; /* ~1 MiB each: well past the 32 MiB watermark */
	struct proto_buf b, bad;
	int fd = harness_connect(h), lists = 0, errors = 0;
	uint8_t *body = malloc(FTIDX_FRAME_MAX);

	proto_buf_init(&b);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(proto_encode_request(&b, (uint32_t)i + 1, &req), 0);
	frame(&bad, bad_magic, FTIDX_PROTO_VERSION, FTIDX_MSG_STATUS, 0, NULL, 0);
	proto_put_bytes(&b, bad.data, bad.len);
	proto_buf_deinit(&bad);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	harness_sleep_ms(500); /* all handled, replies queued, closing */
	for (;;) {
		struct ftidx_frame_header hdr;

		if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) ||
		    hdr.length > FTIDX_FRAME_MAX ||
		    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length)
			break;
		lists += hdr.type == (FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
		errors += hdr.type == (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	}
	printf("closing client: %d of %d replies, %d error reply\n", lists, n, errors);
	CHECK_EQ_INT(lists, n);
	CHECK_EQ_INT(errors, 1);
	free(body);
	close(fd);
	CHECK(harness_alive(h));
}

/*
 * libftidx keeps its own contract: out-parameters are set on every
 * return, sizes are checked before anything is sized by them, a token's
 * reason is found directly, and a daemon that stops reading cannot hold
 * the caller past its timeout.
 */
static void test_library_contract(struct harness *h)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = (struct ftidx_result *)&r; /* not NULL: must be reset */
	const char *pats[] = { "vfs_read" };
	uint32_t one = 1;
	const size_t n = 100000;
	const char **many = malloc(sizeof(*many) * n);
	size_t refused = 0, right = 0;

	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0x80, &r), -EINVAL);
	CHECK(r == NULL);
	r = (struct ftidx_result *)&r;
	CHECK_EQ_INT(ftidx_list(c, 0x80, NULL, &r), -EINVAL);
	CHECK(r == NULL);
	r = (struct ftidx_result *)&r;
	CHECK_EQ_INT(ftidx_filter(c, 99, FTIDX_FILTER, NULL, 0, 0, pats, 1, &r), -EINVAL);
	CHECK(r == NULL);
	r = (struct ftidx_result *)&r;
	/* a count past the protocol's limit, with an array of one: refused
	 * before the array is read or anything is sized by the count */
	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, &one,
					  (size_t)FTIDX_BATCH_MAX + 1, &r),
		     -EINVAL);
	CHECK(r == NULL);
	r = (struct ftidx_result *)&r;
	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, &one, SIZE_MAX / 4,
					  &r),
		     -EINVAL);
	CHECK(r == NULL);

	/* every other token refused: each one's own reason */
	for (size_t i = 0; i < n; i++)
		many[i] = i % 2 ? "nosuch_fn" : i % 4 ? "010" : "vfs_read";
	CHECK_EQ_INT(ftidx_resolve(c, many, n, 0, &r), -EINVAL);
	for (size_t i = 0; r && i < n; i++) {
		const char *why = NULL;
		int e = ftidx_result_token_error(r, i, &why);

		refused += e < 0;
		right += i % 2 ? e == -ENOENT && strcmp(why, "matches no function") == 0
		       : i % 4 ? e == -EINVAL && strstr(why, "octal") != NULL
			       : e == 0;
	}
	CHECK_EQ_INT(refused, n / 2 + n / 4);
	CHECK_EQ_INT(right, n);
	ftidx_result_free(r);
	free(many);
	ftidx_unref(c);

	/* a "daemon" that never reads: the request times out while sending */
	{
		char path[128];
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		const size_t big = 400000; /* 12 MiB: far more than a socket holds */
		const char **tokens = malloc(sizeof(*tokens) * big);
		struct timespec t0, t1;
		int rc;

		snprintf(path, sizeof(path), "%s/deaf.sock", h->dir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0);
		for (size_t i = 0; i < big; i++)
			tokens[i] = "a_function_name_of_some_length";
		CHECK_EQ_INT(ftidx_connect(path, &c), 0);
		ftidx_set_timeout(c, 300);
		alarm(20); /* an unbounded send would hang here: fail instead */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = ftidx_resolve(c, tokens, big, 0, &r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		alarm(0);
		printf("deaf daemon: request returned %d after %ld ms\n", rc,
		       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
		CHECK_EQ_INT(rc, -ETIMEDOUT);
		CHECK(r == NULL);
		ftidx_unref(c);
		free(tokens);
		close(lfd);
		unlink(path);
	}
}

/* Send one frame on @fd and read its reply's header and status. */
static int exchange(int fd, uint16_t version, uint16_t type, uint32_t id, const void *body,
		    size_t len, struct ftidx_frame_header *reply)
{
	struct ftidx_frame_header hdr = { FTIDX_PROTO_MAGIC, version, type, id, (uint32_t)len };
	uint8_t *rbody = malloc(FTIDX_FRAME_MAX);
	int32_t status = -1;

	send_bytes(fd, &hdr, sizeof(hdr));
	if (len)
		send_bytes(fd, body, len);
	if (recv(fd, reply, sizeof(*reply), MSG_WAITALL) == sizeof(*reply) &&
	    reply->length <= FTIDX_FRAME_MAX && reply->length >= 4 &&
	    recv(fd, rbody, reply->length, MSG_WAITALL) == (ssize_t)reply->length)
		memcpy(&status, rbody, sizeof(status));
	free(rbody);
	return status;
}

/*
 * A client of a later protocol version: its frames carry fields this
 * daemon does not know after those it does, and requests it does not
 * know at all. The fields are skipped, the requests refused one by one
 * with EOPNOTSUPP on their own id, and the connection goes on.
 */
static void test_newer_client(struct harness *h)
{
	const uint16_t next = FTIDX_PROTO_VERSION + 1;
	uint8_t future[12] = { 0xfe, 0xed };
	uint32_t list_body[3] = { FTIDX_LIST_MODULE, 0, 0 }; /* flags, then "" and more */
	uint32_t odd_flags[2] = { 0x40000000, 0 };           /* LIST, a flag of the future */
	struct ftidx_frame_header r;
	int fd = harness_connect(h);

	CHECK_EQ_INT(exchange(fd, next, FTIDX_MSG_STATUS, 11, future, sizeof(future), &r), 0);
	CHECK_EQ_INT(r.type, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(r.id, 11);
	CHECK_EQ_INT(exchange(fd, next, 77, 12, future, sizeof(future), &r), EOPNOTSUPP);
	CHECK_EQ_INT(r.type, FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(r.id, 12);
	CHECK_EQ_INT(exchange(fd, next, FTIDX_MSG_LIST, 13, list_body, sizeof(list_body), &r), 0);
	CHECK_EQ_INT(r.type, FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(exchange(fd, FTIDX_PROTO_VERSION, FTIDX_MSG_LIST, 14, odd_flags,
			      sizeof(odd_flags) - 3, &r),
		     EOPNOTSUPP);
	CHECK_EQ_INT(r.id, 14);
	/* the same connection still serves, at this version too */
	CHECK_EQ_INT(exchange(fd, FTIDX_PROTO_VERSION, FTIDX_MSG_STATUS, 15, NULL, 0, &r), 0);
	CHECK_EQ_INT(r.id, 15);
	close(fd);
}

/*
 * "rmmod loop; insmod loop" leaves the record count as it was, while
 * dummy's lines move down and loop's go to the end. The module list tells
 * (the stand-in directory's ftidx-modules here, /proc/modules on a real
 * kernel): a write by name after that change uses the new indices.
 */
static void test_same_count_reorder(const char *fixture_text, size_t len)
{
	static const char before_modules[] = "dummy 16384 0 - Live 0x0\nloop 36864 0 - Live 0x0\n";
	static const char after_modules[] = "loop 36864 0 - Live 0x0\ndummy 16384 0 - Live 0x0\n";
	const char *pats[] = { "dummy_xmit" };
	char *core = malloc(len + 1), *loop = malloc(len + 1), *dummy = malloc(len + 1), *moved;
	size_t nc = 0, nl = 0, nd = 0;
	struct ftidx_result *r = NULL;
	struct harness hr;
	struct ftidx *c;
	uint32_t old_idx, new_idx;
	uint64_t gen;
	char want[16], *got;

	/* the fixture's lines, by where they come from */
	for (const char *p = fixture_text; p < fixture_text + len;) {
		const char *nl_at = memchr(p, '\n', (size_t)(fixture_text + len - p));
		size_t l = (nl_at ? (size_t)(nl_at - p) : (size_t)(fixture_text + len - p)) + 1;

		if (l > 7 && !memcmp(p + l - 8, " [loop]", 7))
			memcpy(loop + nl, p, l), nl += l;
		else if (l > 8 && !memcmp(p + l - 9, " [dummy]", 8))
			memcpy(dummy + nd, p, l), nd += l;
		else
			memcpy(core + nc, p, l), nc += l;
		p += l;
	}
	moved = malloc(len + 1);
	memcpy(moved, core, nc);
	memcpy(moved + nc, dummy, nd);
	memcpy(moved + nc + nd, loop, nl);

	harness_tracefs(&hr, fixture_text, len);
	fake_write(hr.dir, "ftidx-modules", before_modules, strlen(before_modules));
	harness_start(&hr, daemon_path, NULL);
	c = connect_or_die(&hr);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	old_idx = ftidx_result_index(r, 0);
	gen = ftidx_result_generation(r);
	r = ftidx_result_free(r);

	/* rmmod loop; insmod loop: the same count of lines */
	fake_write(hr.dir, "available_filter_functions", moved, len);
	fake_write(hr.dir, "ftidx-modules", after_modules, strlen(after_modules));
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, pats, 1, NULL), 0);
	{
		char *at = strstr(moved, "\ndummy_xmit [dummy]\n");

		CHECK(at != NULL);
		new_idx = at ? (uint32_t)count_lines(moved, (size_t)(at - moved) + 1) + 1 : 0;
	}
	CHECK(new_idx > 0 && new_idx < old_idx);
	snprintf(want, sizeof(want), "%u\n", new_idx);
	got = file_bytes(&hr, "set_ftrace_filter");
	CHECK_EQ_STR(got, want);
	free(got);
	/* and the old index, pinned to the old map, is stale */
	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, gen, &old_idx, 1, NULL),
		     -ESTALE);
	ftidx_unref(c);
	CHECK_EQ_INT(harness_stop(&hr), 0);
	harness_cleanup(&hr);
	free(core);
	free(loop);
	free(dummy);
	free(moved);
}

/* A silent client is dropped after --idle-timeout. */
static void test_idle_timeout(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--idle-timeout", "1", NULL };
	struct harness h2;
	char b;
	int fd;
	struct timeval tv = { 5, 0 };
	double t0;

	harness_tracefs(&h2, fixture_text, len);
	harness_start(&h2, daemon_path, extra);
	fd = harness_connect(&h2);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = (double)time(NULL);
	CHECK(recv(fd, &b, 1, 0) == 0); /* closed by the daemon */
	CHECK((double)time(NULL) - t0 < 4);
	close(fd);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

#define LOAD_CLIENTS 64
#define LOAD_REQUESTS 1000

/* 64 clients making 1,000 requests each: no error, memory stable. */
static void test_load(struct harness *h)
{
	pid_t pids[LOAD_CLIENTS];
	long before, after;
	int fds_before, fds_after, ok = 0;

	/* warm up allocations before measuring */
	test_many_clients(h);
	before = daemon_rss_kb(h);
	fds_before = daemon_fds_settled(h);
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			const char *pat[1];
			struct ftidx *cl;
			int bad = 0;

			if (ftidx_connect(h->socket, &cl) < 0)
				_exit(1);
			for (int k = 0; k < LOAD_REQUESTS; k++) {
				struct ftidx_result *r = NULL;

				pat[0] = lines[(size_t)(i * LOAD_REQUESTS + k) % 30000].name;
				if (starts(pat[0], "__ftrace_invalid_address___"))
					pat[0] = "vfs_read";
				bad += ftidx_resolve(cl, pat, 1, 0, &r) != 0;
				ftidx_result_free(r);
			}
			ftidx_unref(cl);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	after = daemon_rss_kb(h);
	fds_after = daemon_fds_settled(h);
	printf("load: %d of %d clients made %d requests each without error; daemon RSS %ld -> %ld "
	       "KiB, open fds %d -> %d\n",
	       ok, LOAD_CLIENTS, LOAD_REQUESTS, before, after, fds_before, fds_after);
	CHECK_EQ_INT(ok, LOAD_CLIENTS);
	CHECK_RSS(after - before < 16 * 1024);
	CHECK_EQ_INT(fds_after, fds_before);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096], *data;
	size_t len;

	if (argc < 4) {
		fprintf(stderr, "usage: test-integration FTIDXD FTIDX FIXTURES\n");
		return 2;
	}
	daemon_path = argv[1];
	cli_path = argv[2];
	fixtures = argv[3];
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	load_lines(path);
	data = test_read_file(path, &len);
	harness_tracefs(&h, data, len);
	free(data);
	/* Hit-count instances: one of a dead ftidxd, one of a live process. */
	{
		char dead[256], alive[256];
		struct stat sb;

		snprintf(dead, sizeof(dead), "%s/instances/ftidx-hits-%d", h.dir, dead_pid());
		snprintf(alive, sizeof(alive), "%s/instances/ftidx-hits-%d", h.dir, (int)getpid());
		mkdir(dead, 0755);
		mkdir(alive, 0755);
		harness_start(&h, daemon_path, NULL);
		CHECK(stat(dead, &sb) < 0);   /* removed at start-up */
		CHECK(stat(alive, &sb) == 0); /* its owner lives: left alone */
		rmdir(alive);
	}

	test_status(&h);
	test_resolve(&h);
	test_names_and_list(&h);
	filter_cycle(&h, FTIDX_FILTER, NULL, "set_ftrace_filter");
	filter_cycle(&h, FTIDX_NOTRACE, NULL, "set_ftrace_notrace");
	filter_cycle(&h, FTIDX_FILTER, "inst", "instances/inst/set_ftrace_filter");
	filter_cycle(&h, FTIDX_NOTRACE, "inst", "instances/inst/set_ftrace_notrace");
	test_refusals(&h);
	test_hits(&h);
	test_bad_frames(&h);
	test_newer_client(&h);
	test_library_contract(&h);
	test_cli(&h);
	test_cli_without_daemon();
	test_many_clients(&h);
	test_byte_by_byte(&h);
	test_stalling_client(&h);
	test_slow_reader(&h);
	test_closing_keeps_replies(&h);
	test_load(&h);
	test_stale(&h); /* last: it changes the map */

	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	{
		char *text = test_read_file(path, &len);

		test_idle_timeout(text, len);
		test_max_clients(text, len);
		test_stated_rules(text, len);
		test_same_count_reorder(text, len);
		free(text);
	}
	{
		struct stat st;

		CHECK(stat(h.socket, &st) < 0); /* removed on exit */
	}
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-integration");
}
