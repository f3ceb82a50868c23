/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx's API for tools (0.3) against the built ftidxd on a stand-in
 * tracing directory: request objects over several files, per-pattern
 * results, calls driven from a poll loop, capabilities, instance removal
 * and the accessors that replace the public structs. (A hit count runs,
 * and is cancelled, on real kernels in the vm suite.)
 */
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include "integration.h"

static bool want_vfs(const struct line *l)
{
	return starts(l->name, "vfs_");
}

static bool want_vfs_not_read(const struct line *l)
{
	return starts(l->name, "vfs_") && strcmp(l->name, "vfs_read") != 0;
}

static bool want_read_or_write(const struct line *l)
{
	return strcmp(l->name, "vfs_read") == 0 || strcmp(l->name, "vfs_write") == 0;
}

static void test_capabilities(struct harness *h)
{
	struct ftidx *c = connect_or_die(h);
	uint64_t caps = 0, again = 0;

	CHECK_EQ_INT(ftidx_protocol_version(c), 0); /* nothing answered yet */
	CHECK(ftidx_daemon_version(c) == NULL);
	CHECK_EQ_INT(ftidx_query_capabilities(c, &caps), 0);
	CHECK(caps & FTIDX_CAN_CHANGE_FILES);
	CHECK(caps & FTIDX_CAN_PER_PATTERN);
	CHECK(caps & FTIDX_CAN_CANCEL);
	CHECK(caps & FTIDX_CAN_REMOVE_INSTANCE);
	CHECK(caps & FTIDX_CAN_LIST_ADDRESSES);
	/* a stand-in directory runs no tracer */
	CHECK(!(caps & FTIDX_CAN_HITS));
	/* the test runs as root or as the daemon's user */
	CHECK(caps & FTIDX_CAN_WRITE);
	CHECK_EQ_STR(ftidx_daemon_version(c), FTIDX_VERSION);
	CHECK_EQ_INT(ftidx_protocol_version(c), FTIDX_PROTO_VERSION);
	CHECK_EQ_INT(ftidx_query_capabilities(c, &again), 0);
	CHECK(again == caps);
	ftidx_unref(c);
}

/* Setters refuse what cannot be sent, and a refusal changes nothing. */
static void test_request_setters(void)
{
	struct ftidx_request *rq = NULL;
	const char *bad[] = { "vfs_read", NULL };
	char big[FTIDX_TOKEN_MAX + 2];

	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_file(rq, 0), -EINVAL);
	CHECK_EQ_INT(ftidx_request_set_file(rq, FTIDX_GRAPH_NOTRACE + 1), -EINVAL);
	CHECK_EQ_INT(ftidx_request_set_op(rq, FTIDX_CLEAR + 1), -EINVAL);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, "../etc"), -EINVAL);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, ""), -EINVAL);
	CHECK_EQ_INT(ftidx_request_set_flags(rq, 0x80), -EINVAL);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, bad, 2), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad[1] = big;
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, bad, 2), -EINVAL);
	/* the file being built is set_ftrace_filter: it cannot come twice */
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_FILTER, FTIDX_SET), -EINVAL);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET), 0);
	CHECK_EQ_INT(ftidx_request_set_file(rq, FTIDX_FILTER), -EINVAL);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_GRAPH, FTIDX_ADD), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_GRAPH_NOTRACE, 0), -EINVAL);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_GRAPH_NOTRACE, FTIDX_ADD), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_GRAPH_NOTRACE, FTIDX_ADD), -E2BIG);
	ftidx_request_free(rq);
	CHECK(ftidx_request_free(NULL) == NULL);
}

/* filter and notrace of one instance in one request, and every result. */
static void test_two_files(struct harness *h)
{
	const char *filter[] = { "vfs_*", "nope_no_such_function" };
	const char *notrace[] = { "vfs_read" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_request *rq = NULL;
	struct ftidx_result *r = NULL;
	const uint32_t *v;
	size_t n, n_vfs = count_where(want_vfs);
	char before_filter[4096], before_notrace[4096];
	char *text;

	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, "inst"), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, filter, 2), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, notrace, 1), 0);

	/* one pattern refused: neither file is written */
	text = file_bytes(h, "instances/inst/set_ftrace_filter");
	snprintf(before_filter, sizeof(before_filter), "%s", text);
	free(text);
	text = file_bytes(h, "instances/inst/set_ftrace_notrace");
	snprintf(before_notrace, sizeof(before_notrace), "%s", text);
	free(text);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), -EINVAL);
	CHECK(r != NULL);
	CHECK_EQ_INT(ftidx_result_token_count(r), 3);
	CHECK_EQ_INT(ftidx_result_token_error(r, 1, NULL), -ENOENT);
	CHECK_EQ_INT(ftidx_result_token_error(r, 2, NULL), 0);
	CHECK_EQ_INT(ftidx_result_token_matches(r, 2), 1);
	r = ftidx_result_free(r);
	text = file_bytes(h, "instances/inst/set_ftrace_filter");
	CHECK_EQ_STR(text, before_filter);
	free(text);
	text = file_bytes(h, "instances/inst/set_ftrace_notrace");
	CHECK_EQ_STR(text, before_notrace);
	free(text);
	ftidx_request_free(rq);

	/* both are written */
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, "inst"), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, filter, 1), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, notrace, 1), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), 0);
	CHECK_EQ_INT(ftidx_result_file_count(r), 2);
	CHECK_EQ_INT(ftidx_result_file(r, 0), FTIDX_FILTER);
	CHECK_EQ_INT(ftidx_result_file(r, 1), FTIDX_NOTRACE);
	CHECK_EQ_INT(ftidx_result_file(r, 2), -EINVAL);
	v = ftidx_result_file_indices(r, 0, &n);
	CHECK_EQ_INT(n, n_vfs);
	CHECK(v && ftidx_result_count(r) == n_vfs && ftidx_result_indices(r) == v);
	v = ftidx_result_file_indices(r, 1, &n);
	CHECK(v && n == 1 && want_vfs_read(&lines[v[0] - 1]));
	CHECK(ftidx_result_file_indices(r, 2, &n) == NULL && n == 0);
	CHECK_EQ_INT(ftidx_result_file_written(r, 0), n_vfs);
	CHECK_EQ_INT(ftidx_result_file_written(r, 1), 1);
	CHECK_EQ_INT(ftidx_result_written(r), n_vfs + 1);
	r = ftidx_result_free(r);
	check_filter(h, "instances/inst/set_ftrace_filter", want_vfs, n_vfs);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_vfs_read, 1);

	/* the setters act on the file being built: now the notrace, as ADD */
	CHECK_EQ_INT(ftidx_request_set_op(rq, FTIDX_CLEAR), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), -EINVAL); /* clear with a pattern */
	CHECK(r == NULL);
	CHECK(strstr(ftidx_error_message(c), "clear takes no patterns") != NULL);
	ftidx_request_free(rq);

	/* removing one file's pattern and clearing the other in one go */
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, "inst"), 0);
	CHECK_EQ_INT(ftidx_request_set_op(rq, FTIDX_REMOVE), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, notrace, 1), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_CLEAR), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, NULL), 0);
	check_filter(h, "instances/inst/set_ftrace_filter", want_vfs_not_read,
		     count_where(want_vfs_not_read));
	check_filter(h, "instances/inst/set_ftrace_notrace", want_nothing, 0);
	ftidx_request_free(rq);

	/* a one-file request is a plain FILTER: its result has one file */
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_instance(rq, "inst"), 0);
	CHECK_EQ_INT(ftidx_request_set_op(rq, FTIDX_CLEAR), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), 0);
	CHECK_EQ_INT(ftidx_result_file_count(r), 1);
	r = ftidx_result_free(r);
	check_filter(h, "instances/inst/set_ftrace_filter", want_nothing, 0);
	ftidx_request_free(rq);
	ftidx_unref(c);
}

/* Each pattern's own matches, as the fixture says they are. */
static void test_per_pattern(struct harness *h)
{
	const char *patterns[] = { "vfs_*", "type_show", "!vfs_read", "nope_none", "*:mod:loop" };
	bool (*want[])(const struct line *) = { want_vfs, NULL, want_vfs_read, NULL,
						 want_loop_module };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	struct ftidx_request *rq = NULL;
	size_t n;

	CHECK_EQ_INT(ftidx_resolve(c, patterns, 5, FTIDX_RESOLVE_PER_PATTERN, &r), -EINVAL);
	CHECK(r != NULL);
	for (size_t i = 0; r && i < 5; i++) {
		const uint32_t *v = ftidx_result_token_indices(r, i, &n);
		size_t expect = want[i] ? count_where(want[i]) : i == 1 ? 17 : 0;

		CHECK_EQ_INT(n, expect);
		CHECK_EQ_INT(n, ftidx_result_token_matches(r, i));
		for (size_t k = 0; v && k < n; k++) {
			const struct line *l = &lines[v[k] - 1];

			CHECK(k == 0 || v[k - 1] < v[k]);
			CHECK(want[i] ? want[i](l) : strcmp(l->name, "type_show") == 0);
		}
		if (i == 3)
			CHECK(v == NULL);
	}
	CHECK(ftidx_result_token_indices(r, 5, &n) == NULL && n == 0);
	r = ftidx_result_free(r);

	/* without the flag: none */
	CHECK_EQ_INT(ftidx_resolve(c, patterns, 2, 0, &r), 0);
	CHECK(ftidx_result_token_indices(r, 0, &n) == NULL && n == 0);
	r = ftidx_result_free(r);

	/* too many for one reply: refused as such, and the daemon goes on */
	{
		const char **stars = calloc(200, sizeof(*stars));

		for (int i = 0; i < 200; i++)
			stars[i] = "*";
		CHECK_EQ_INT(ftidx_resolve(c, stars, 200, FTIDX_RESOLVE_PER_PATTERN, &r), -E2BIG);
		CHECK(strstr(ftidx_error_message(c), "per-pattern") != NULL);
		r = ftidx_result_free(r);
		CHECK_EQ_INT(ftidx_resolve(c, stars, 200, 0, &r), 0);
		r = ftidx_result_free(r);
		free(stars);
	}

	/* and through a request that writes */
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_set_flags(rq, FTIDX_PER_PATTERN), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, patterns, 2), 0);
	CHECK_EQ_INT(ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, &patterns[4], 1), 0);
	CHECK_EQ_INT(ftidx_request_run(c, rq, &r), 0);
	CHECK(ftidx_result_token_indices(r, 1, &n) != NULL && n == 17);
	CHECK(ftidx_result_token_indices(r, 2, &n) != NULL && n == count_where(want_loop_module));
	r = ftidx_result_free(r);
	ftidx_request_set_op(rq, FTIDX_CLEAR);
	ftidx_request_free(rq);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_FILTER, NULL, 0, 0, NULL, 0, NULL), 0);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_NOTRACE, NULL, 0, 0, NULL, 0, NULL), 0);
	ftidx_unref(c);
}

/* Wait for @c's call in flight the way a tool's poll loop would. */
static int drive(struct ftidx *c)
{
	for (int round = 0; round < 1000; round++) {
		struct pollfd pfd = { .fd = ftidx_get_fd(c), .events = (short)ftidx_get_events(c) };
		/* the reply may be in already: the send reads what is there */
		int r = ftidx_process(c);

		if (r != 0)
			return r;
		if (poll(&pfd, 1, 5000) <= 0)
			return -ETIMEDOUT;
	}
	return -ETIMEDOUT;
}

static void test_poll_loop(struct harness *h)
{
	const char *set[] = { "vfs_read", "vfs_write" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_request *rq = NULL;
	struct ftidx_result *r = NULL;
	struct ftidx_hits *hits = NULL;
	struct ftidx_status *st = NULL;

	CHECK_EQ_INT(ftidx_get_events(c), 0);
	CHECK_EQ_INT(ftidx_process(c), -ENOENT);
	CHECK_EQ_INT(ftidx_request_collect(c, &r), -ENOENT);
	CHECK_EQ_INT(ftidx_cancel(c), -ENOENT);
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, set, 2), 0);

	/* the daemon stopped: the reply cannot be in, and the call waits */
	CHECK_EQ_INT(kill(h->pid, SIGSTOP), 0);
	CHECK_EQ_INT(ftidx_request_send(c, rq), 0);
	CHECK(ftidx_get_events(c) & POLLIN);
	CHECK_EQ_INT(ftidx_request_collect(c, &r), -EAGAIN);
	CHECK(r == NULL);
	CHECK_EQ_INT(ftidx_hits_collect(c, &hits), -EINVAL); /* not a hit count */
	CHECK_EQ_INT(ftidx_request_send(c, rq), -EBUSY);
	CHECK_EQ_INT(ftidx_status(c, &st), -EBUSY);
	CHECK_EQ_INT(kill(h->pid, SIGCONT), 0);

	CHECK_EQ_INT(drive(c), 1);
	CHECK_EQ_INT(ftidx_get_events(c), 0);
	CHECK_EQ_INT(ftidx_request_collect(c, &r), 0);
	CHECK_EQ_INT(ftidx_result_count(r), 2);
	r = ftidx_result_free(r);
	check_filter(h, "set_ftrace_filter", want_read_or_write, 2);
	/* and the connection goes on, synchronously too */
	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	ftidx_status_free(st);

	/* a hit count through the loop: refused here, as the sync call is */
	CHECK_EQ_INT(ftidx_hits_send(c, NULL, 0), -EINVAL);
	CHECK_EQ_INT(ftidx_hits_send(c, "nope", 1), 0);
	CHECK_EQ_INT(drive(c), 1);
	CHECK_EQ_INT(ftidx_hits_collect(c, &hits), -ENOENT);
	CHECK(hits == NULL);
	CHECK(strstr(ftidx_error_message(c), "no such instance") != NULL);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_FILTER, NULL, 0, 0, NULL, 0, NULL), 0);
	ftidx_request_free(rq);
	ftidx_unref(c);
}

static void test_remove_instance(struct harness *h)
{
	const char *one[] = { "vfs_read" };
	struct ftidx *c = connect_or_die(h);
	char path[256];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/instances/made-by-ftidx", h->dir);
	/* another's instance is not ftidx's to remove */
	CHECK_EQ_INT(ftidx_remove_instance(c, "inst"), -EPERM);
	snprintf(path, sizeof(path), "%s/instances/inst", h->dir);
	CHECK(stat(path, &sb) == 0);
	CHECK_EQ_INT(ftidx_remove_instance(c, NULL), -EINVAL);
	CHECK_EQ_INT(ftidx_remove_instance(c, "../inst"), -EINVAL);
	CHECK_EQ_INT(ftidx_remove_instance(c, "nope"), -ENOENT);

	/* created for a request, then removed */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "made-by-ftidx", FTIDX_CREATE_INSTANCE,
				  0, one, 1, NULL),
		     0);
	snprintf(path, sizeof(path), "%s/instances/made-by-ftidx", h->dir);
	CHECK(stat(path, &sb) == 0);
	CHECK_EQ_INT(ftidx_remove_instance(c, "made-by-ftidx"), 0);
	CHECK(stat(path, &sb) < 0);
	CHECK_EQ_INT(ftidx_remove_instance(c, "made-by-ftidx"), -ENOENT);
	ftidx_unref(c);
}

/* The accessors say what the struct's fields say. */
static void test_status_accessors(struct harness *h)
{
	const char *one[] = { "vfs_read" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st = NULL;

	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_NOTRACE, "inst", 0, 0, one, 1, NULL), 0);
	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_GENERATION), st->generation);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_ENTRIES), 38303);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_PLACEHOLDERS), 597);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_MODULES), 2);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_MODULE_ENTRIES), 51);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_DISTINCT_NAMES), st->distinct_names);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_CLIENTS), st->clients);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_BUILD_NS), st->build_ns);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_BUILT_AT_NS), st->built_at_ns);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_IS_TRACEFS), 0);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_IS_STALE), 0);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_HAS_ADDRESSES), st->has_addresses);
	CHECK_EQ_INT(ftidx_status_number(st, FTIDX_STAT_TRACING_DIR), 0);
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_TRACING_DIR), h->dir);
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_DAEMON_VERSION), FTIDX_VERSION);
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_KERNEL_RELEASE), st->kernel_release);
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_MATCH_RULES), "class-stops-at-end");
	CHECK_EQ_STR(ftidx_status_text(st, FTIDX_STAT_MATCH_RULES_HOW), st->match_rules_how);
	CHECK(ftidx_status_text(st, FTIDX_STAT_ENTRIES) == NULL);
	CHECK(ftidx_status_text(st, 9999) == NULL);
	CHECK_EQ_INT(ftidx_status_filter_count(st), st->n_filters);
	CHECK(st->n_filters >= 1);
	for (size_t i = 0; i < st->n_filters; i++) {
		CHECK_EQ_STR(ftidx_status_filter_instance(st, i), st->filters[i].instance);
		CHECK_EQ_INT(ftidx_status_filter_file(st, i), st->filters[i].file);
		CHECK_EQ_INT(ftidx_status_filter_holds(st, i), st->filters[i].holds);
		CHECK_EQ_INT(ftidx_status_filter_functions(st, i), st->filters[i].functions);
	}
	CHECK(ftidx_status_filter_instance(st, st->n_filters) == NULL);
	CHECK_EQ_INT(ftidx_status_filter_file(st, st->n_filters), -EINVAL);
	ftidx_status_free(st);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_CLEAR, FTIDX_NOTRACE, "inst", 0, 0, NULL, 0, NULL), 0);
	ftidx_unref(c);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	integration_setup(argc, argv, "test-requests", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_capabilities(&h);
	test_request_setters();
	test_two_files(&h);
	test_per_pattern(&h);
	test_poll_loop(&h);
	test_remove_instance(&h);
	test_status_accessors(&h);
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-requests");
}
