/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration, through libftidx: every request, filters written and
 * replayed with the kernel's semantics, refusals, stale maps, the
 * matching rules a stand-in directory states, and libftidx's own
 * contract.
 */
#include <fcntl.h>
#include <poll.h>

#include "integration.h"

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

	/* a pattern over the limit: that pattern refused, with its reason, and
	 * the connection goes on */
	{
		char *long_one = malloc(FTIDX_TOKEN_MAX + 100);
		const char *toks[] = { "vfs_read", long_one };
		const char *why = NULL;
		int status = 0;

		memset(long_one, 'a', FTIDX_TOKEN_MAX + 99);
		long_one[FTIDX_TOKEN_MAX + 99] = '\0';
		CHECK_EQ_INT(ftidx_resolve(c, toks, 2, 0, &r), -EINVAL);
		CHECK(r && ftidx_result_token_count(r) == 2);
		if (r) {
			status = ftidx_result_token_error(r, 1, &why);
			CHECK_EQ_INT(ftidx_result_token_error(r, 0, NULL), 0);
		}
		CHECK_EQ_INT(status, -ENAMETOOLONG);
		CHECK(why && strstr(why, "longer than 1024 bytes"));
		r = ftidx_result_free(r);
		CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, toks, 2, &r),
			     -EINVAL);
		r = ftidx_result_free(r);
		free(long_one);
		CHECK_EQ_INT(ftidx_resolve(c, one, 1, 0, &r), 0);
		r = ftidx_result_free(r);
	}

	/* one bad pattern: nothing written */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, bad, 2, &r), -EINVAL);
	CHECK(r && ftidx_result_written(r) == 0);
	r = ftidx_result_free(r);
	/* a set that selects nothing would trace everything: refused */
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, empty, 1, NULL), -ENODATA);
	CHECK(strstr(ftidx_error_message(c), "clear") != NULL);
	/* nor may a removal leave it empty: a REMOVE of all it holds, an ADD
	 * of a removal alone (before 0.5, both emptied it) */
	{
		const char *all_loop[] = { ":mod:loop" }, *not_loop[] = { "!:mod:loop" };

		CHECK_EQ_INT(ftidx_filter(c, FTIDX_REMOVE, FTIDX_FILTER, NULL, 0, 0, all_loop, 1,
					  NULL),
			     -ENODATA);
		CHECK(strstr(ftidx_error_message(c), "set_ftrace_filter: this would leave it empty") !=
		      NULL);
		CHECK_EQ_INT(ftidx_filter(c, FTIDX_ADD, FTIDX_FILTER, NULL, 0, 0, not_loop, 1, NULL),
			     -ENODATA);
	}
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

	/* created on request, once the request will be written: a refused
	 * one leaves no instance behind (on a kernel, its ring buffers) */
	{
		const char *nosuch[] = { "no_such_function" };
		char path[256];
		struct stat st;

		CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "refused",
					  FTIDX_CREATE_INSTANCE, 0, nosuch, 1, NULL),
			     -EINVAL);
		snprintf(path, sizeof(path), "%s/instances/refused", h->dir);
		CHECK(stat(path, &st) < 0 && errno == ENOENT);
		CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, "made", FTIDX_CREATE_INSTANCE,
					  0, one, 1, NULL),
			     0);
		snprintf(path, sizeof(path), "%s/instances/made", h->dir);
		CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	}
	ftidx_unref(c);
}

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
		     -E2BIG);
	CHECK(r == NULL);
	/* the limit named (before 0.5: -EINVAL, and no word) */
	CHECK(strstr(ftidx_error_message(c), "1,000,000") != NULL);
	r = (struct ftidx_result *)&r;
	CHECK_EQ_INT(ftidx_filter_indices(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, &one, SIZE_MAX / 4,
					  &r),
		     -E2BIG);
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
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char *path = sa.sun_path;
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		const size_t big = 400000; /* 12 MiB: far more than a socket holds */
		const char **tokens = malloc(sizeof(*tokens) * big);
		struct timespec t0, t1;
		int rc;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/deaf.sock", h->dir);
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

/* The index LIST gives @line, or 0. */
static uint32_t listed_at(struct ftidx *c, const char *line)
{
	struct ftidx_result *r = NULL;
	uint32_t at = 0;

	CHECK_EQ_INT(ftidx_list(c, 0, NULL, &r), 0);
	for (size_t i = 0; r && i < ftidx_result_count(r) && !at; i++)
		if (strcmp(ftidx_result_line(r, i), line) == 0)
			at = ftidx_result_index(r, i);
	ftidx_result_free(r);
	return at;
}

/*
 * "rmmod loop; insmod loop" leaves the record count as it was, while
 * dummy's lines move down and loop's go to the end. The module list tells
 * (the stand-in directory's ftidx-modules here, /proc/modules on a real
 * kernel): a write by name after that change uses the new indices, and a
 * LIST (whose last reply the daemon keeps for the same map) shows them.
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
	CHECK_EQ_INT(listed_at(c, "dummy_xmit [dummy]"), old_idx);
	CHECK_EQ_INT(listed_at(c, "dummy_xmit [dummy]"), old_idx); /* the kept reply */

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
	CHECK_EQ_INT(listed_at(c, "dummy_xmit [dummy]"), new_idx);
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

/* ---- reconnecting (libftidx 0.5) --------------------------------------- */

/* Wait up to 10 s until the daemon has hung up @c's socket (its idle
 * timeout); whether it did. */
static bool hung_up_soon(struct ftidx *c)
{
	struct pollfd pfd = { .fd = ftidx_get_fd(c), .events = POLLRDHUP };

	return poll(&pfd, 1, 10000) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP));
}

/* What the stand-in below does besides relaying. */
struct proxy_plan {
	int drops;   /* read the first this many requests whole, hang up unanswered */
	bool stall;  /* never answer the first request; leave its connection open */
	int word_at; /* >= 0: after this many replies on a connection, send an
			ERROR frame of @word (its last word) and hang up */
	int word;
};

/* Send an ERROR frame of @status to @fd. */
static void send_error(int fd, int status)
{
	struct proto_reply rep = { .type = FTIDX_MSG_ERROR, .status = status, .message = "bye" };
	struct proto_buf b;

	proto_buf_init(&b);
	if (proto_encode_reply(&b, 0, &rep) == 0 && send(fd, b.data, b.len, MSG_NOSIGNAL) < 0)
		perror("proxy");
	proto_buf_deinit(&b);
}

/*
 * A stand-in for ftidxd between libftidx and the real daemon at
 * @upstream: it relays every frame, and does what @plan says besides. It
 * writes each request's type to @log as it reads it. Listens at @path;
 * returns its pid.
 */
static pid_t lossy_proxy(const char *path, const char *upstream, struct proxy_plan plan, int log)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		perror("proxy");
		exit(1);
	}
	pid = fork();
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		static uint8_t body[1 << 20];
		int cfd = accept(lfd, NULL, NULL), ufd = -1, replies = 0;
		struct ftidx_frame_header hdr;

		while (cfd >= 0 && replies == plan.word_at) {
			send_error(cfd, plan.word);
			close(cfd);
			cfd = -1;
		}
		while (cfd >= 0 && recv(cfd, &hdr, sizeof(hdr), MSG_WAITALL) == sizeof(hdr) &&
		       hdr.length <= sizeof(body) &&
		       recv(cfd, body, hdr.length, MSG_WAITALL) == (ssize_t)hdr.length) {
			uint8_t type = (uint8_t)hdr.type;

			if (write(log, &type, 1) != 1)
				_exit(1);
			if (plan.stall) {
				plan.stall = false;
				cfd = -1; /* left open, never answered */
				break;
			}
			if (plan.drops > 0) {
				plan.drops--;
				break;
			}
			if (ufd < 0) {
				struct sockaddr_un ua = { .sun_family = AF_UNIX };

				snprintf(ua.sun_path, sizeof(ua.sun_path), "%s", upstream);
				ufd = socket(AF_UNIX, SOCK_STREAM, 0);
				if (connect(ufd, (struct sockaddr *)&ua, sizeof(ua)) < 0)
					_exit(1);
			}
			if (send(ufd, &hdr, sizeof(hdr), MSG_NOSIGNAL) != sizeof(hdr) ||
			    send(ufd, body, hdr.length, MSG_NOSIGNAL) != (ssize_t)hdr.length ||
			    recv(ufd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) ||
			    hdr.length > sizeof(body) ||
			    recv(ufd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length ||
			    send(cfd, &hdr, sizeof(hdr), MSG_NOSIGNAL) != sizeof(hdr) ||
			    send(cfd, body, hdr.length, MSG_NOSIGNAL) != (ssize_t)hdr.length)
				break;
			if (++replies == plan.word_at) {
				send_error(cfd, plan.word);
				break;
			}
		}
		if (cfd >= 0)
			close(cfd);
		if (ufd >= 0)
			close(ufd);
	}
}

/* The request types the proxy read since the last look, as a string of
 * their numbers ("55": two FILTERs). */
static void proxy_log(int log, char *out, size_t size)
{
	size_t n = 0;
	uint8_t t;

	while (n + 4 < size && read(log, &t, 1) == 1)
		n += (size_t)snprintf(out + n, size - n, "%u", t);
	out[n] = '\0';
}

/* The daemon closes idle connections: the next call of each opens a new
 * one, on the same descriptor number, whatever kind of call it is. */
static void idle_drops(struct harness *h)
{
	const char *pats[] = { "vfs_read" };
	struct ftidx *read = connect_or_die(h), *write = connect_or_die(h),
		     *pinned = connect_or_die(h), *loop = connect_or_die(h);
	struct ftidx *all[] = { read, write, pinned, loop };
	struct ftidx_request *rq = NULL;
	struct ftidx_result *r = NULL;
	int fd = ftidx_get_fd(loop), rc;
	char *before, *after;
	uint64_t gen;

	CHECK_EQ_INT(ftidx_resolve(pinned, pats, 1, 0, &r), 0);
	gen = ftidx_result_generation(r);
	r = ftidx_result_free(r);
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		struct ftidx_status *st = NULL;

		CHECK_EQ_INT(ftidx_status(all[i], &st), 0);
		ftidx_status_free(st);
	}
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		CHECK(hung_up_soon(all[i]));

	/* a read */
	CHECK_EQ_INT(ftidx_resolve(read, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(r ? ftidx_result_count(r) : 0, 1);
	CHECK_EQ_INT(ftidx_reconnects(read), 1);
	r = ftidx_result_free(r);
	/* a write */
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	CHECK_EQ_INT(ftidx_filter(write, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, pats, 1, NULL), 0);
	check_filter(h, "set_ftrace_filter", want_vfs_read, 1);
	CHECK_EQ_INT(ftidx_reconnects(write), 1);
	/* a write pinned to a generation read before the drop is not sent:
	 * the daemon there could be a new one, with generations from 1 again */
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	before = file_bytes(h, "set_ftrace_filter");
	CHECK_EQ_INT(ftidx_filter(pinned, FTIDX_SET, FTIDX_FILTER, NULL, 0, gen, pats, 1, NULL),
		     -ESTALE);
	CHECK(strstr(ftidx_error_message(pinned), "resolve again") != NULL);
	after = file_bytes(h, "set_ftrace_filter");
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	/* resolved again, on the new connection, it goes */
	CHECK_EQ_INT(ftidx_resolve(pinned, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(r ? ftidx_filter_indices(pinned, FTIDX_SET, FTIDX_FILTER, NULL, 0,
					      ftidx_result_generation(r), ftidx_result_indices(r),
					      1, NULL)
		       : -1,
		     0);
	r = ftidx_result_free(r);
	check_filter(h, "set_ftrace_filter", want_vfs_read, 1);
	CHECK_EQ_INT(ftidx_reconnects(pinned), 1);
	/* a poll loop's request: the same descriptor number to poll */
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	CHECK_EQ_INT(ftidx_request_new(&rq), 0);
	CHECK_EQ_INT(ftidx_request_add_tokens(rq, pats, 1), 0);
	CHECK_EQ_INT(ftidx_request_send(loop, rq), 0);
	CHECK_EQ_INT(ftidx_get_fd(loop), fd);
	while ((rc = ftidx_process(loop)) == 0) {
		struct pollfd pfd = { .fd = fd, .events = (short)ftidx_get_events(loop) };

		if (poll(&pfd, 1, 10000) != 1)
			break;
	}
	CHECK_EQ_INT(rc, 1);
	CHECK_EQ_INT(ftidx_request_collect(loop, &r), 0);
	r = ftidx_result_free(r);
	check_filter(h, "set_ftrace_filter", want_vfs_read, 1);
	CHECK_EQ_INT(ftidx_get_fd(loop), fd);
	CHECK_EQ_INT(ftidx_reconnects(loop), 1);
	ftidx_request_free(rq);
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		ftidx_unref(all[i]);
	fake_write(h->dir, "set_ftrace_filter", "", 0);
}

/* A restarted daemon is reached by the next call; one that is gone is an
 * error of that call only, and the one after reaches it once it is back. */
static void restarts(struct harness *h, const char *const *args)
{
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st = NULL;
	pid_t first = h->pid;
	uint64_t before = 0;

	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	before = st ? st->generation : 0;
	st = ftidx_status_free(st);
	CHECK_EQ_INT(harness_stop(h), 0);
	harness_start(h, daemon_path, args);
	ftidx_unref(connect_or_die(h)); /* past the moment between bind() and listen() */
	CHECK(h->pid != first);
	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	/* the new daemon on the same state directory numbers its map past
	 * every generation the old one handed out: a generation a client
	 * kept names no map of the new daemon */
	CHECK(st && st->generation > before);
	st = ftidx_status_free(st);
	CHECK_EQ_INT(ftidx_reconnects(c), 1);
	CHECK_EQ_INT(harness_stop(h), 0);
	/* gone: the socket's path went with it */
	CHECK_EQ_INT(ftidx_status(c, &st), -ENOENT);
	CHECK(strstr(ftidx_error_message(c), "cannot connect to ftidxd") != NULL);
	CHECK_EQ_INT(ftidx_status(c, &st), -ENOENT);
	harness_start(h, daemon_path, args);
	ftidx_unref(connect_or_die(h));
	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	ftidx_status_free(st);
	CHECK_EQ_INT(ftidx_reconnects(c), 2);
	ftidx_unref(c);
}

/* A reply lost on the way: a read is asked again, a write or a hit count
 * is never sent twice and says its reply was lost; a connection a
 * timeout left out of step is opened anew by the next call. */
static void lost_replies(struct harness *h)
{
	const char *pats[] = { "vfs_read" };
	struct ftidx_result *r = NULL;
	struct ftidx_hits *hits = NULL;
	struct ftidx *c;
	char proxy[256], seen[64];
	int log[2];
	pid_t pid;

	snprintf(proxy, sizeof(proxy), "%s/proxy.sock", h->dir);
	CHECK_EQ_INT(pipe2(log, O_NONBLOCK | O_CLOEXEC), 0);

	/* a read: asked once more, on a new connection */
	pid = lossy_proxy(proxy, h->socket, (struct proxy_plan){ .drops = 1, .word_at = -1 }, log[1]);
	CHECK_EQ_INT(ftidx_connect(proxy, &c), 0);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(r ? ftidx_result_count(r) : 0, 1);
	r = ftidx_result_free(r);
	proxy_log(log[0], seen, sizeof(seen));
	CHECK_EQ_STR(seen, "22");
	CHECK_EQ_INT(ftidx_reconnects(c), 1);
	ftidx_unref(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* a write: its own error, sent once */
	pid = lossy_proxy(proxy, h->socket, (struct proxy_plan){ .drops = 2, .word_at = -1 }, log[1]);
	CHECK_EQ_INT(ftidx_connect(proxy, &c), 0);
	CHECK_EQ_INT(ftidx_filter(c, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, pats, 1, NULL),
		     -ECONNABORTED);
	CHECK(strstr(ftidx_error_message(c), "may or may not have been made") != NULL);
	proxy_log(log[0], seen, sizeof(seen));
	CHECK_EQ_STR(seen, "5");
	/* ...and a hit count */
	CHECK_EQ_INT(ftidx_hits(c, NULL, 1, &hits), -ECONNABORTED);
	CHECK(hits == NULL);
	CHECK(strstr(ftidx_error_message(c), "counts are lost") != NULL);
	proxy_log(log[0], seen, sizeof(seen));
	CHECK_EQ_STR(seen, "6");
	/* the next call is served, on a new connection */
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	r = ftidx_result_free(r);
	proxy_log(log[0], seen, sizeof(seen));
	CHECK_EQ_STR(seen, "2");
	ftidx_unref(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* a timeout: the next call does not fail for ever */
	pid = lossy_proxy(proxy, h->socket, (struct proxy_plan){ .stall = true, .word_at = -1 },
			  log[1]);
	CHECK_EQ_INT(ftidx_connect(proxy, &c), 0);
	ftidx_set_timeout(c, 300);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), -ETIMEDOUT);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(r ? ftidx_result_count(r) : 0, 1);
	r = ftidx_result_free(r);
	ftidx_unref(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* a daemon's last word (an ERROR frame) before it hangs up, between
	 * two calls: the next call goes out on a new connection */
	pid = lossy_proxy(proxy, h->socket, (struct proxy_plan){ .word_at = 1, .word = ETIMEDOUT },
			  log[1]);
	CHECK_EQ_INT(ftidx_connect(proxy, &c), 0);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	r = ftidx_result_free(r);
	harness_sleep_ms(100); /* the word is sent after the reply */
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	r = ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_reconnects(c), 1);
	ftidx_unref(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* ...but a refusal on a connection never answered before (too many
	 * clients) is that call's reply, not a reason to connect again */
	pid = lossy_proxy(proxy, h->socket, (struct proxy_plan){ .word_at = 0, .word = EUSERS },
			  log[1]);
	CHECK_EQ_INT(ftidx_connect(proxy, &c), 0);
	harness_sleep_ms(100);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), -EUSERS);
	CHECK_EQ_INT(ftidx_reconnects(c), 0);
	r = ftidx_result_free(r);
	ftidx_unref(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	proxy_log(log[0], seen, sizeof(seen));
	close(log[0]);
	close(log[1]);
	unlink(proxy);
}

/* A child after fork() asks on a connection of its own, and the parent's
 * stays in step. */
static void forked_child(struct harness *h)
{
	const char *pats[] = { "vfs_read" };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_status *st = NULL;
	struct ftidx_result *r = NULL;
	int status = -1;
	pid_t pid;

	CHECK_EQ_INT(ftidx_status(c, &st), 0);
	CHECK_EQ_INT(st ? st->clients : 0, 1);
	st = ftidx_status_free(st);
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		/* the daemon counts the parent's connection and the child's */
		bad += ftidx_status(c, &st) != 0 || st->clients != 2;
		ftidx_status_free(st);
		bad += ftidx_reconnects(c) != 1;
		bad += ftidx_resolve(c, pats, 1, 0, &r) != 0;
		ftidx_result_free(r);
		_exit(bad);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(ftidx_resolve(c, pats, 1, 0, &r), 0);
	CHECK_EQ_INT(r ? ftidx_result_count(r) : 0, 1);
	ftidx_result_free(r);
	CHECK_EQ_INT(ftidx_reconnects(c), 0);
	ftidx_unref(c);
}

/* libftidx's reconnection rules, on a daemon that drops clients idle for
 * a second. */
static void test_reconnect(const char *fixture_text, size_t len)
{
	static const char *const args[] = { "--idle-timeout", "1", NULL };
	struct harness hr;

	harness_tracefs(&hr, fixture_text, len);
	harness_start(&hr, daemon_path, args);
	forked_child(&hr);
	lost_replies(&hr);
	idle_drops(&hr);
	restarts(&hr, args);
	CHECK_EQ_INT(harness_stop(&hr), 0);
	harness_cleanup(&hr);
}

/* What a progress callback was told. */
struct heard {
	unsigned calls, resolving;
	uint32_t done, total;
	uint64_t last_ms;
};

static void hear(void *userdata, int stage, uint32_t done, uint32_t total, uint64_t elapsed_ms,
		 const char *what)
{
	struct heard *h = userdata;

	h->calls++;
	CHECK(what != NULL);
	CHECK(elapsed_ms >= h->last_ms);
	h->last_ms = elapsed_ms;
	if (stage == FTIDX_STAGE_RESOLVING) {
		h->resolving++;
		h->done = done;
		h->total = total;
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * A long request (3,000 globs that each scan every line): the progress
 * callback hears, a second on, how many patterns ftidxd has resolved of
 * how many; under a timeout shorter than the request, -ETIMEDOUT says
 * the daemon may still be working, and the daemon serves on.
 */
static void test_progress(struct harness *h)
{
	enum { N = 3000 };
	static char text[N][16];
	const char *pats[N];
	struct heard heard = { 0 };
	struct ftidx *c = connect_or_die(h);
	struct ftidx_result *r = NULL;
	double t0, took;

	for (int i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]), "*q%dz*", i);
		pats[i] = text[i];
	}
	ftidx_set_progress(c, hear, &heard);
	t0 = now_ms();
	CHECK_EQ_INT(ftidx_resolve(c, pats, N, 0, &r), -EINVAL); /* each matches nothing */
	took = now_ms() - t0;
	r = ftidx_result_free(r);
	printf("progress: %u reports in %.0f ms, %u of them resolving (last: %u of %u)\n",
	       heard.calls, took, heard.resolving, heard.done, heard.total);
	/* a second on, once a second: a request of 2 s hears at least one */
	if (took >= 2000) {
		CHECK(heard.resolving >= 1);
		CHECK_EQ_INT(heard.total, N);
		CHECK(heard.done > 0 && heard.done < N);
	}
	ftidx_unref(c);

	c = connect_or_die(h);
	ftidx_set_timeout(c, 300);
	CHECK_EQ_INT(ftidx_resolve(c, pats, N, 0, &r), -ETIMEDOUT);
	CHECK(strstr(ftidx_error_message(c), "may still be working") != NULL);
	r = ftidx_result_free(r);
	ftidx_unref(c);
	test_status(h);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096], *text;
	size_t len;

	integration_setup(argc, argv, "test-library", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_status(&h);
	test_resolve(&h);
	test_names_and_list(&h);
	filter_cycle(&h, FTIDX_FILTER, NULL, "set_ftrace_filter");
	filter_cycle(&h, FTIDX_NOTRACE, NULL, "set_ftrace_notrace");
	filter_cycle(&h, FTIDX_FILTER, "inst", "instances/inst/set_ftrace_filter");
	filter_cycle(&h, FTIDX_NOTRACE, "inst", "instances/inst/set_ftrace_notrace");
	test_refusals(&h);
	test_hits(&h);
	test_library_contract(&h);
	test_progress(&h);
	test_stale(&h); /* last: it changes the map */
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);

	text = test_read_file(path, &len);
	test_stated_rules(text, len);
	test_same_count_reorder(text, len);
	test_reconnect(text, len);
	free(text);
	free(lines);
	return test_finish("test-library");
}
