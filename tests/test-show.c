/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration, libftidx 0.5 against the built ftidxd on a stand-in
 * tracing directory: what STATUS says of the daemon itself, what a change
 * did to each file (before, after, added, dropped), SHOW (a filter file
 * as it is: functions, probes and module patterns, and whether it holds
 * what ftidx wrote), INSTANCES, and the daemon's log of who asked what.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "clock.h"
#include "integration.h"

static char log_path[256];

static bool want_type_show(const struct line *l)
{
	return strcmp(l->name, "type_show") == 0;
}

/* Start ftidxd -v with its log in log_path. */
static void start_logged(struct harness *h)
{
	static const char *const verbose[] = {"-v", NULL};
	int saved = dup(STDERR_FILENO), fd;

	snprintf(log_path, sizeof(log_path), "%s/ftidxd.log", h->dir);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || saved < 0) {
		perror(log_path);
		exit(1);
	}
	/* the daemon inherits it as its standard error */
	dup2(fd, STDERR_FILENO);
	harness_start(h, daemon_path, verbose);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
}

/* The log so far; free() it. */
static char *daemon_log(void)
{
	size_t len;

	return test_read_file(log_path, &len);
}

/* STATUS says which daemon answered: its pid, since when, on which socket. */
static void test_status_of_daemon(struct harness *h)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st = NULL;
	uint64_t now = clock_ns(CLOCK_REALTIME), started, up;

	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_DAEMON_PID), (uint64_t)h->pid);
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_SOCKET), h->socket);
	started = ftidx_status_number(st, FTIDX_STAT_STARTED_AT_NS);
	up = ftidx_status_number(st, FTIDX_STAT_UPTIME_NS);
	/* started before now, within the test's run (generous: a slow host) */
	CHECK(started > 0 && started <= now && now - started < 600ull * 1000000000);
	CHECK(up > 0 && up < 600ull * 1000000000);
	ftidx_status_free(st);
	ftidx_unref(c);
}

static long functions(const struct ftidx_result *r, size_t k, int which)
{
	uint32_t n = 0xdead;
	int e = ftidx_result_file_functions(r, k, which, &n);

	return e < 0 ? e : (long)n;
}

/* What each change did to the file: a removal of what the filter does
 * not hold drops nothing, whatever the pattern selects. */
static void test_counts(struct harness *h)
{
	const char *vfs_r[] = {"vfs_r*"}, *write[] = {"vfs_write"}, *read[] = {"vfs_read"},
		   *not_read[] = {"!vfs_read"};
	size_t n_vfs_r = 0;
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	struct ftidx_request *rq = NULL;

	for (size_t i = 0; i < n_lines; i++)
		n_vfs_r += starts(lines[i].name, "vfs_r");
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, vfs_r, 1, &r), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_BEFORE), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), n_vfs_r);
	CHECK_EQ_INT(functions(r, 0, FTIDX_ADDED), n_vfs_r);
	CHECK_EQ_INT(functions(r, 0, FTIDX_DROPPED), 0);
	CHECK_EQ_INT(ftidx_result_file_functions(r, 1, FTIDX_AFTER, &(uint32_t){0}), -EINVAL);
	CHECK_EQ_INT(ftidx_result_file_functions(r, 0, 9, &(uint32_t){0}), -EINVAL);
	r = ftidx_result_free(r);
	/* vfs_write is not among them: the pattern selects one, none goes */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_REMOVE, FTIDX_FILTER, NULL, 0, 0, write, 1, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 1);
	CHECK_EQ_INT(functions(r, 0, FTIDX_DROPPED), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), n_vfs_r);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_ADD, FTIDX_FILTER, NULL, 0, 0, not_read, 1, &r), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_BEFORE), n_vfs_r);
	CHECK_EQ_INT(functions(r, 0, FTIDX_DROPPED), 1);
	CHECK_EQ_INT(functions(r, 0, FTIDX_ADDED), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), n_vfs_r - 1);
	r = ftidx_result_free(r);
	/* a refused change has no counts */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0,
				  (const char *[]){"nosuch_fn"}, 1, &r),
		     -EINVAL);
	CHECK_EQ_INT(ftidx_result_file_functions(r, 0, FTIDX_AFTER, &(uint32_t){0}), -EINVAL);
	r = ftidx_result_free(r);

	/* a change of two files: each its own */
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_op(rq, FTIDX_ADD), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, read, 1), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, write, 1), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_ADDED), 1);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), n_vfs_r);
	CHECK_EQ_INT(functions(r, 1, FTIDX_BEFORE), 0);
	CHECK_EQ_INT(functions(r, 1, FTIDX_AFTER), 1);
	r = ftidx_result_free(r);
	ftidx_request_free(rq);

	/* another writer changed the file: what ftidx adds is known, what
	 * the file holds beside is not (the stand-in holds a name now) */
	fake_write(h->dir, "set_ftrace_notrace", "vfs_open\n", 9);
	harness_sleep_ms(50);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_ADD, FTIDX_NOTRACE, NULL, 0, 0, read, 1, &r), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), -ENODATA);
	CHECK_EQ_INT(functions(r, 0, FTIDX_BEFORE), -ENODATA);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_NOTRACE, NULL, 0, 0, NULL, 0, &r), 0);
	CHECK_EQ_INT(functions(r, 0, FTIDX_AFTER), 0);
	r = ftidx_result_free(r);
	ftidx_unref(c);
}

/* The first index of line @text in the fixture, or 0. */
static size_t first_of(const char *text)
{
	for (size_t i = 0; i < n_lines; i++)
		if (strcmp(lines[i].text, text) == 0)
			return i + 1;
	return 0;
}

/* The index @i of shown result @r names line @text of the fixture. */
static bool shown_as(const struct ftidx_result *r, size_t i, const char *text)
{
	uint32_t index = ftidx_result_index(r, i);

	return index >= 1 && index <= n_lines && strcmp(lines[index - 1].text, text) == 0 &&
	       strcmp(ftidx_result_line(r, i), text) == 0;
}

/*
 * SHOW: the filter as it is. What ftidx wrote is shown, by name and
 * index, and marked as ftidx's; a probe and a module pattern a user added
 * are marked as such, and a function another writer added makes the file
 * not hold what ftidx wrote. A file ftidx never wrote says so.
 */
static void test_show(struct harness *h)
{
	const char *show_type[] = {"type_show"};
	static const char extra[] = "schedule:traceoff:unlimited\n:mod:nfsd\nvfs_open\n";
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	size_t n = count_where(want_type_show), k;
	char path[512];
	int fd;

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, show_type, 1, NULL), 0);
	CHECK_EQ_INT(ftidx_show(c, NULL, FTIDX_FILTER, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), n);
	CHECK_EQ_INT(ftidx_result_holds(r), 1);
	CHECK_EQ_INT(ftidx_result_ours_count(r), n);
	k = 0;
	for (size_t i = 0; i < ftidx_result_count(r); i++) {
		CHECK_EQ_INT(ftidx_result_line_kind(r, i), FTIDX_LINE_FUNCTION);
		CHECK_EQ_INT(ftidx_result_line_is_ours(r, i), 1);
		CHECK(shown_as(r, i, "type_show"));
		/* each of the name's lines once, in index order */
		CHECK(i == 0 || ftidx_result_index(r, i) > ftidx_result_index(r, i - 1));
		k++;
	}
	CHECK_EQ_INT(k, 17);
	r = ftidx_result_free(r);

	/* a user's probe and module pattern, and another writer's function */
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", h->dir);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, extra, sizeof(extra) - 1) == (ssize_t)sizeof(extra) - 1);
	close(fd);
	CHECK_EQ_INT(ftidx_show(c, NULL, FTIDX_FILTER, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), n + 3);
	CHECK_EQ_INT(ftidx_result_holds(r), 0);
	for (size_t i = 0; i < ftidx_result_count(r); i++) {
		const char *line = ftidx_result_line(r, i);
		int kind = ftidx_result_line_kind(r, i);

		if (strcmp(line, "schedule:traceoff:unlimited") == 0) {
			CHECK_EQ_INT(kind, FTIDX_LINE_PROBE);
		} else if (strcmp(line, ":mod:nfsd") == 0) {
			CHECK_EQ_INT(kind, FTIDX_LINE_MODULE_PATTERN);
		} else if (strcmp(line, "vfs_open") == 0) {
			CHECK_EQ_INT(kind, FTIDX_LINE_FUNCTION);
			CHECK_EQ_INT(ftidx_result_line_is_ours(r, i), 0);
			CHECK(shown_as(r, i, "vfs_open"));
		} else {
			CHECK(shown_as(r, i, "type_show"));
			CHECK_EQ_INT(ftidx_result_line_is_ours(r, i), 1);
		}
		if (kind != FTIDX_LINE_FUNCTION)
			CHECK_EQ_INT(ftidx_result_index(r, i), 0);
	}
	r = ftidx_result_free(r);

	/* one of ftidx's functions gone (another writer left the others) */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, show_type, 1, NULL), 0);
	{
		char one[16];
		int len = snprintf(one, sizeof(one), "%u\n", (unsigned)first_of("type_show"));

		fake_write(h->dir, "set_ftrace_filter", one, (size_t)len);
	}
	CHECK_EQ_INT(ftidx_show(c, NULL, FTIDX_FILTER, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 1);
	CHECK_EQ_INT(ftidx_result_holds(r), 0);
	CHECK_EQ_INT(ftidx_result_line_is_ours(r, 0), 1);
	r = ftidx_result_free(r);

	/* never written by ftidx; no such instance; no such file */
	CHECK_EQ_INT(ftidx_show(c, "inst", FTIDX_NOTRACE, &r), 0);
	CHECK_EQ_INT(ftidx_result_holds(r), -ENOENT);
	CHECK_EQ_INT(ftidx_result_count(r), 0);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_show(c, "nosuch", FTIDX_FILTER, &r), -ENOENT);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_show(c, "inst", FTIDX_GRAPH, &r), -ENOENT);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_show(c, "../x", FTIDX_FILTER, &r), -EINVAL);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_FILTER, NULL, 0, 0, NULL, 0, NULL), 0);
	ftidx_unref(c);
}

/* The instances, sorted, those ftidxd created marked as such. */
static void test_instances(struct harness *h)
{
	const char *read[] = {"vfs_read"};
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	char path[512];

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "a-made", FTIDX_CREATE_INSTANCE, 0,
				  read, 1, NULL),
		     0);
	/* a name no client could ask for is left out */
	snprintf(path, sizeof(path), "%s/instances/bad name", h->dir);
	mkdir(path, 0755);
	CHECK_EQ_INT(ftidx_instances(c, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 2);
	CHECK_EQ_STR(ftidx_result_line(r, 0), "a-made");
	CHECK_EQ_INT(ftidx_result_instance_created(r, 0), 1);
	CHECK_EQ_STR(ftidx_result_line(r, 1), "inst");
	CHECK_EQ_INT(ftidx_result_instance_created(r, 1), 0);
	r = ftidx_result_free(r);
	rmdir(path);
	CHECK_EQ_INT(ftidx_remove_instance(c, "a-made"), 0);
	ftidx_unref(c);
}

/*
 * The log says who asked what, by name, and the answer: every change with
 * what it did, every refusal with why; with -v every request. Nothing a
 * client sends can start a line of its own.
 */
static void test_log(struct harness *h)
{
	const char *forged[] = {"x\nftidxd: FORGED"}, *read[] = {"vfs_read"};
	struct ftidx *c = connect_or_die(h);
	char who[64], want[256];
	char *log;

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_NOTRACE, "inst", 0, 0, read, 1, NULL), 0);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, forged, 1, NULL),
		     -EINVAL);
	CHECK_EQ_INT(ftidx_resolve(c, read, 1, 0, NULL), 0);
	ftidx_unref(c);
	harness_sleep_ms(100);
	log = daemon_log();
	snprintf(who, sizeof(who), "uid %u pid %d (test-show): ", (unsigned)getuid(),
		 (int)getpid());
	snprintf(
	    want, sizeof(want),
	    "%sFILTER of instances/inst: set set_ftrace_notrace 1 pattern ('vfs_read'): done in ",
	    who);
	CHECK(strstr(log, want) != NULL);
	CHECK(strstr(log, "set_ftrace_notrace holds 1 function (1 added, 0 dropped)\n") != NULL);
	snprintf(want, sizeof(want),
		 "%sFILTER of the top level: set set_ftrace_filter 1 pattern "
		 "('x?ftidxd: FORGED'): refused in ",
		 who);
	CHECK(strstr(log, want) != NULL);
	CHECK(strstr(log, "1 of 1 patterns refused; nothing was written (Invalid argument)\n"));
	CHECK(strstr(log, "\nftidxd: FORGED") == NULL);
	snprintf(want, sizeof(want), "%sRESOLVE of 1 pattern: done in ", who);
	CHECK(strstr(log, want) != NULL);
	snprintf(want, sizeof(want), "%sSHOW set_ftrace_filter: begun", who);
	CHECK(strstr(log, want) != NULL);
	/* numbers are no names */
	CHECK(strstr(log, "request type") == NULL);
	free(log);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	integration_setup(argc, argv, "test-show", &h, path, sizeof(path));
	start_logged(&h);
	test_status_of_daemon(&h);
	test_counts(&h);
	test_show(&h);
	test_instances(&h);
	test_log(&h);
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	if (test_failures) {
		char *log = daemon_log();

		fprintf(stderr, "ftidxd's log:\n%s", log);
		free(log);
	}
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-show");
}
