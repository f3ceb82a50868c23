/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx's API for tools (0.3) against the real kernel: requests over
 * several filter files, of the top level and of an instance ftidxd
 * creates and then removes,
 * per-pattern results that agree with resolving each pattern alone, and
 * a hit count driven from a poll loop and cancelled midway, which still
 * answers with exact counts of what ran before.
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftidx.h"
#include "vm-common.h"

#define TOOL_INSTANCE "ftidx-tool"
#define TI T "/instances/" TOOL_INSTANCE
#define CANCEL_UMASKS 500

static bool file_is(const char *path, const char *const *want, size_t n)
{
	struct lines l = kread(path);
	bool ok = l.n == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = strcmp(l.v[i], want[i]) == 0; /* both sorted */
	lines_free(&l);
	return ok;
}

static bool same_lines(const char *path, const struct lines *before)
{
	struct lines now = kread(path);
	bool same = lines_equal(&now, before);

	lines_free(&now);
	return same;
}

/* Filter, notrace and graph of the top level in one request. */
static void change_three_files(void)
{
	const char *filter[] = { "vfs_read", "vfs_write" }, *notrace[] = { "vfs_write" };
	const char *graph[] = { "vfs_read" };
	struct ftidx_request *rq = NULL;
	struct ftidx_result *r = NULL;
	size_t n;
	int rc;

	ftidx_request_new(&rq);
	ftidx_request_add_tokens(rq, filter, 2);
	ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET);
	ftidx_request_add_tokens(rq, notrace, 1);
	ftidx_request_add_file(rq, FTIDX_GRAPH, FTIDX_SET);
	ftidx_request_add_tokens(rq, graph, 1);
	rc = ftidx_request_run(c, rq, &r);
	result(rc == 0 && ftidx_result_file_count(r) == 3 &&
		       ftidx_result_file_indices(r, 0, &n) && n == 2 &&
		       file_is(T "/set_ftrace_filter", filter, 2) &&
		       file_is(T "/set_ftrace_notrace", notrace, 1) &&
		       file_is(T "/set_graph_function", graph, 1),
	       "tools: one request sets filter, notrace and graph (%d: %s)", rc,
	       ftidx_error_message(c));
	r = ftidx_result_free(r);
	ftidx_request_free(rq);
	kclear(T "/set_ftrace_filter");
	kclear(T "/set_ftrace_notrace");
	kclear(T "/set_graph_function");
}

/*
 * An instance ftidxd creates, changed in two files and then a third, all
 * or none: where the kernel gives instances no set_graph_function, the
 * third file cannot even be read, and nothing is written to the other
 * two. Then the instance is removed through ftidxd.
 */
static void change_instance(void)
{
	const char *filter[] = { "vfs_read", "vfs_write" }, *notrace[] = { "vfs_write" };
	const char *graph[] = { "vfs_read" }, *bad[] = { "no_such_function_here" };
	const char *other[] = { "vfs_open" };
	struct ftidx_request *rq = NULL;
	struct ftidx_result *r = NULL;
	struct lines before_filter, before_notrace;
	struct stat sb;
	bool graph_file;
	int rc;

	ftidx_request_new(&rq);
	ftidx_request_set_instance(rq, TOOL_INSTANCE);
	ftidx_request_set_create_instance(rq, 1);
	ftidx_request_add_tokens(rq, filter, 2);
	ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET);
	ftidx_request_add_tokens(rq, notrace, 1);
	rc = ftidx_request_run(c, rq, &r);
	result(rc == 0 && ftidx_result_file_count(r) == 2 &&
		       file_is(TI "/set_ftrace_filter", filter, 2) &&
		       file_is(TI "/set_ftrace_notrace", notrace, 1),
	       "tools: one request sets filter and notrace of an instance it creates (%d: %s)",
	       rc, ftidx_error_message(c));
	r = ftidx_result_free(r);
	ftidx_request_free(rq);

	/* then other functions in both, and the graph file */
	before_filter = kread(TI "/set_ftrace_filter");
	before_notrace = kread(TI "/set_ftrace_notrace");
	graph_file = stat(TI "/set_graph_function", &sb) == 0;
	ftidx_request_new(&rq);
	ftidx_request_set_instance(rq, TOOL_INSTANCE);
	ftidx_request_add_tokens(rq, other, 1);
	ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_SET);
	ftidx_request_add_tokens(rq, other, 1);
	ftidx_request_add_file(rq, FTIDX_GRAPH, FTIDX_SET);
	ftidx_request_add_tokens(rq, graph, 1);
	rc = ftidx_request_run(c, rq, &r);
	if (graph_file)
		result(rc == 0 && file_is(TI "/set_ftrace_filter", other, 1) &&
			       file_is(TI "/set_graph_function", graph, 1),
		       "tools: an instance's three files change together (%d: %s)", rc,
		       ftidx_error_message(c));
	else
		result(rc < 0 && same_lines(TI "/set_ftrace_filter", &before_filter) &&
			       same_lines(TI "/set_ftrace_notrace", &before_notrace) &&
			       strstr(ftidx_error_message(c), "nothing was written"),
		       "tools: the kernel has no graph file in instances: refused before "
		       "anything is written, the other two files as they were (%d: %s)",
		       rc, ftidx_error_message(c));
	r = ftidx_result_free(r);
	ftidx_request_free(rq);
	lines_free(&before_filter);
	lines_free(&before_notrace);

	/* one refused pattern in the last file: no file changes */
	before_filter = kread(TI "/set_ftrace_filter");
	ftidx_request_new(&rq);
	ftidx_request_set_instance(rq, TOOL_INSTANCE);
	ftidx_request_add_tokens(rq, notrace, 1);
	ftidx_request_add_file(rq, FTIDX_NOTRACE, FTIDX_ADD);
	ftidx_request_add_tokens(rq, bad, 1);
	rc = ftidx_request_run(c, rq, &r);
	result(rc == -EINVAL && r && ftidx_result_token_error(r, 1, NULL) == -ENOENT &&
		       same_lines(TI "/set_ftrace_filter", &before_filter),
	       "tools: a refused pattern in one file leaves every file as it was (%d)", rc);
	r = ftidx_result_free(r);
	ftidx_request_free(rq);
	lines_free(&before_filter);

	rc = ftidx_remove_instance(c, TOOL_INSTANCE);
	result(rc == 0 && stat(TI, &sb) < 0,
	       "tools: the instance ftidxd created is removed through it (%d: %s)", rc,
	       ftidx_error_message(c));
	mkdir(T "/instances/ftidx-not-ours", 0750);
	rc = ftidx_remove_instance(c, "ftidx-not-ours");
	result(rc == -EPERM && stat(T "/instances/ftidx-not-ours", &sb) == 0,
	       "tools: an instance ftidxd did not create is not removed (%d)", rc);
	rmdir(T "/instances/ftidx-not-ours");
}

#define PP_INSTANCE T "/instances/ftidx-per-pattern"

/* Whether index set @v (@n indices of available_filter_functions) is,
 * line for line, what the kernel enables for @pattern written by name
 * (in an instance of the judge's); a pattern the kernel refuses must
 * have no set (@v NULL). */
static bool kernel_agrees(const char *pattern, const uint32_t *v, size_t n,
			  const struct lines *aff)
{
	char text[256];
	struct lines k, x = { 0 };
	bool same;
	int rk;

	snprintf(text, sizeof(text), "%s\n", pattern);
	rk = kwrite(PP_INSTANCE "/set_ftrace_filter", text, true);
	k = kread(PP_INSTANCE "/set_ftrace_filter");
	kclear(PP_INSTANCE "/set_ftrace_filter");
	if (rk < 0 || !v) {
		/* ftidx refuses what matches no function; the kernel refuses
		 * it too, or keeps it as a module pattern for a module not
		 * loaded (no function line: a kept pattern has its ':mod:') */
		bool functions = false;

		for (size_t i = 0; i < k.n; i++)
			functions |= strchr(k.v[i], ':') == NULL;
		same = !v && (rk < 0 || !functions);
		if (!same)
			printf("VM: info: per pattern '%s': the kernel %s (%zu lines), ftidx %s\n",
			       pattern, rk < 0 ? "refused it" : "took it", k.n,
			       v ? "did not refuse it" : "refused it");
		lines_free(&k);
		return same;
	}
	x.v = malloc(sizeof(*x.v) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 1 && v[i] <= aff->n)
			x.v[x.n++] = aff->v[v[i] - 1];
	qsort(x.v, x.n, sizeof(*x.v), cmp_str);
	same = x.n == n && lines_equal(&k, &x);
	if (!same)
		printf("VM: info: per pattern '%s': the kernel enables %zu lines, ftidx's set %zu\n",
		       pattern, k.n, n);
	free(x.v);
	lines_free(&k);
	return same;
}

/* Each pattern's own matches in a request of several, judged by the
 * kernel: what it enables for that pattern written alone, by name. */
static void per_pattern(void)
{
	const char *patterns[] = { "vfs_*", "*_show", "ext4_*:mod:ext4", "schedule" };
	struct lines aff = read_lines(T "/available_filter_functions", false);
	struct ftidx_result *all = NULL;
	bool agree = true;
	size_t total = 0;
	int rc = ftidx_resolve(c, patterns, 4, FTIDX_RESOLVE_PER_PATTERN, &all);

	mkdir(PP_INSTANCE, 0750);
	/* ext4 may be missing from the guest: refused, with the others' sets */
	for (size_t i = 0; (rc == 0 || rc == -EINVAL) && all && i < 4; i++) {
		size_t n;
		const uint32_t *v = ftidx_result_token_indices(all, i, &n);

		agree &= kernel_agrees(patterns[i], v, n, &aff);
		total += n;
	}
	rmdir(PP_INSTANCE);
	result((rc == 0 || rc == -EINVAL) && all && agree && total > 1000,
	       "tools: each pattern's own matches are what the kernel enables for it alone (%zu in "
	       "all)",
	       total);
	ftidx_result_free(all);
	lines_free(&aff);
}

/* Move the call in flight on until its reply is in; false on timeout. */
static bool drive(int ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end) {
		struct pollfd pfd = { .fd = ftidx_get_fd(c), .events = (short)ftidx_get_events(c) };
		int r = ftidx_process(c);

		if (r != 0)
			return r > 0;
		if (poll(&pfd, 1, 100) < 0)
			return false;
	}
	return false;
}

static void cancelled_hits(void)
{
	struct ftidx_hits *h = NULL;
	uint64_t caps = 0, umasks = 0;
	double t0, took;
	bool tracing = false, in;
	int rc;

	ftidx_query_capabilities(c, &caps);
	result((caps & FTIDX_CAN_HITS) && (caps & FTIDX_CAN_CANCEL),
	       "tools: the daemon says it can count and cancel");
	ftidx_set_batch("__x64_sys_umask", FTIDX_FILTER, NULL);
	rc = ftidx_hits_send(c, NULL, 600);
	for (int i = 0; rc == 0 && i < 600 && !hits_tracing(); i++) {
		usleep(10000);
		ftidx_process(c); /* nothing to read yet: a poll loop's idle turn */
	}
	for (int i = 0; i < CANCEL_UMASKS; i++)
		umask(022);
	t0 = now_ms();
	if (rc == 0)
		rc = ftidx_cancel(c);
	in = rc == 0 && drive(20000);
	took = now_ms() - t0;
	rc = in ? ftidx_hits_collect(c, &h) : rc;
	for (size_t i = 0; h && i < ftidx_hits_count(h); i++)
		if (strcmp(ftidx_hits_line(h, i), "__x64_sys_umask") == 0)
			umasks = ftidx_hits_calls(h, i);
	printf("VM: info: tools: a 600 s hit count, cancelled after the calls, answered in %.0f ms "
	       "(stopping the tracer and naming the calls): %" PRIu64 " umask calls\n",
	       took, umasks);
	result(in && took < 15000 && rc == -ECANCELED && h && umasks == CANCEL_UMASKS &&
		       ftidx_hits_lost(h) == 0,
	       "tools: a cancelled hit count of 600 s answers within 15 s with its exact counts "
	       "so far (%d, %" PRIu64 " of %d)",
	       rc, umasks, CANCEL_UMASKS);
	result(h && ftidx_hits_count(h) == h->n && ftidx_hits_enabled(h) == h->enabled &&
		       ftidx_hits_events(h) == h->events &&
		       (h->n == 0 || (ftidx_hits_index(h, 0) == h->indices[0] &&
				      ftidx_hits_calls(h, 0) == h->counts[0])),
	       "tools: the hit count's accessors say what its fields say");
	ftidx_hits_free(h);
	for (int i = 0; i < 300 && hits_instances(&tracing) > 0; i++)
		usleep(10000);
	result(hits_instances(&tracing) == 0, "tools: the cancelled run's instance is removed");
	kclear(T "/set_ftrace_filter");
}

void tool_api(void)
{
	change_three_files();
	change_instance();
	per_pattern();
	cancelled_hits();
}
