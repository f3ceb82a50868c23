/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx-filters: what a tracing tool does with libftidx, in one page.
 *
 *   ftidx-filters [-i INSTANCE] PATTERN... [-n PATTERN...]
 *
 * Sets set_ftrace_filter to what the PATTERNs select and
 * set_ftrace_notrace to what the patterns after -n select: both files
 * or neither. The request is driven from a poll loop, as a tool with an
 * event loop of its own would, and each pattern's matches are printed.
 *
 * Build: cc ftidx-filters.c $(pkg-config --cflags --libs libftidx)
 */
#include <errno.h>
#include <ftidx.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* The tool's own loop, here with nothing else to watch. */
static int wait_for_reply(struct ftidx *c)
{
	for (;;) {
		struct pollfd pfd = { .fd = ftidx_get_fd(c), .events = (short)ftidx_get_events(c) };
		/* 1: the reply is in (it may be already), 0: not yet */
		int r = ftidx_process(c);

		if (r != 0)
			return r < 0 ? r : 0;
		if (poll(&pfd, 1, 30000) <= 0)
			return -ETIMEDOUT;
	}
}

/* The request's patterns, in its order: the filter's, then the notrace's. */
static char **patterns;
static int n_filter;

static const char *pattern(size_t i)
{
	return patterns[(int)i < n_filter ? (int)i : (int)i + 1];
}

static void print_patterns(const struct ftidx_result *r)
{
	for (size_t i = 0; i < ftidx_result_token_count(r); i++) {
		const char *why = "";
		size_t count;
		const uint32_t *v = ftidx_result_token_indices(r, i, &count);

		if (ftidx_result_token_error(r, i, &why) < 0) {
			fprintf(stderr, "%s: %s\n", pattern(i), why);
			continue;
		}
		printf("%s: %zu function%s", pattern(i), count, count == 1 ? "" : "s");
		for (size_t k = 0; k < count && k < 5; k++)
			printf("%s%u", k ? " " : " at ", v[k]);
		printf("%s\n", count > 5 ? " ..." : "");
	}
}

int main(int argc, char **argv)
{
	struct ftidx *c = NULL;
	struct ftidx_request *rq = NULL;
	struct ftidx_result *res = NULL;
	uint64_t caps = 0;
	int first = 1, notrace = argc, r;

	if (argc > 2 && strcmp(argv[1], "-i") == 0)
		first = 3;
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], "-n") == 0)
			notrace = i;
	if (first >= notrace) {
		fprintf(stderr, "usage: ftidx-filters [-i INSTANCE] PATTERN... [-n PATTERN...]\n");
		return 2;
	}
	patterns = argv + first;
	n_filter = notrace - first;

	r = ftidx_connect(NULL, &c);
	if (r == 0)
		r = ftidx_query_capabilities(c, &caps);
	if (r == 0 && !(caps & FTIDX_CAN_CHANGE_FILES))
		r = -EOPNOTSUPP; /* an ftidxd older than 0.3: one file per request */
	if (r == 0)
		r = ftidx_request_new(&rq);
	if (r == 0)
		r = ftidx_request_set_instance(rq, first == 3 ? argv[2] : NULL);
	if (r == 0)
		r = ftidx_request_set_flags(rq, FTIDX_PER_PATTERN);
	/* a new request sets set_ftrace_filter */
	if (r == 0)
		r = ftidx_request_add_tokens(rq, (const char *const *)argv + first,
					     (size_t)(notrace - first));
	if (r == 0 && notrace + 1 < argc) {
		r = ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET);
		if (r == 0)
			r = ftidx_request_add_tokens(rq, (const char *const *)argv + notrace + 1,
						     (size_t)(argc - notrace - 1));
	}
	if (r == 0)
		r = ftidx_request_send(c, rq);
	if (r == 0)
		r = wait_for_reply(c);
	/* a refusal comes with per-pattern reasons: *res is set then too */
	if (r == 0)
		r = ftidx_request_collect(c, &res);
	if (res) {
		print_patterns(res);
		for (size_t k = 0; k < ftidx_result_file_count(res) && r == 0; k++) {
			size_t n;

			ftidx_result_file_indices(res, k, &n);
			printf("%s: %zu function%s\n",
			       k == 0 ? "set_ftrace_filter" : "set_ftrace_notrace", n, n == 1 ? "" : "s");
		}
	}
	if (r < 0)
		fprintf(stderr, "ftidx-filters: %s\n",
			c && ftidx_error_message(c)[0] ? ftidx_error_message(c) : strerror(-r));
	ftidx_result_free(res);
	ftidx_request_free(rq);
	ftidx_unref(c);
	return r < 0 ? 1 : 0;
}
