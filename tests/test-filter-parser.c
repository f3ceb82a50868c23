/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's filter-file parser (daemon/filter-parser.c): what each
 * write() takes and which token it completes, worked out by hand from
 * trace_get_user() for the cases that matter to a writer: tokens one per
 * write(), tokens cut across writes, whitespace only, NUL, the kernel's
 * 0xa0, and a token too long to keep.
 */
#include <string.h>

#include "filter-parser.h"
#include "testlib.h"

/* Write @buf in one write(): expect @read taken and @token completed
 * ("" for none). */
static void step(struct filter_parser *p, const char *buf, size_t n, size_t read, const char *token)
{
	struct filter_parse r;

	filter_parser_write(p, buf, n, &r);
	CHECK(!r.overflow);
	CHECK_EQ_INT(r.read, read);
	CHECK_EQ_INT(r.token, token[0] != '\0');
	if (r.token) {
		CHECK_EQ_STR(p->buf, token);
		filter_parser_clear(p);
	}
}

/* What a writer that retries short writes sees: the tokens of @buf, in
 * order, each on its own write(), space separated in @want. */
static void retried(const char *buf, const char *want)
{
	struct filter_parser p;
	char got[1024] = "";
	size_t at = 0, n = strlen(buf);

	filter_parser_clear(&p);
	while (at < n) {
		struct filter_parse r;

		filter_parser_write(&p, buf + at, n - at, &r);
		CHECK(!r.overflow && r.read > 0);
		if (r.token) {
			strcat(got, got[0] ? " " : "");
			strcat(got, p.buf);
			filter_parser_clear(&p);
		}
		at += r.read;
	}
	if (filter_parser_loaded(&p)) { /* applied at release */
		strcat(got, got[0] ? " " : "");
		strcat(got, p.buf);
	}
	CHECK_EQ_STR(got, want);
}

int main(void)
{
	struct filter_parser p;
	char big[400];

	/* one token per write(), and the whitespace byte after it */
	filter_parser_clear(&p);
	step(&p, "a b c\n", 6, 2, "a");
	step(&p, "b c\n", 4, 2, "b");
	step(&p, "c\n", 2, 2, "c");
	/* whitespace first is skipped; the byte after the token goes with it,
	 * and no more */
	step(&p, "  \tvfs_read  x", 14, 12, "vfs_read");
	/* whitespace only */
	step(&p, " \n\n", 3, 3, "");
	CHECK(!filter_parser_loaded(&p));
	/* a token cut by the buffer's end waits, and goes on at the next
	 * write without skipping anything */
	step(&p, "  ab", 4, 4, "");
	CHECK(p.cont && filter_parser_loaded(&p));
	step(&p, "cd ef", 5, 3, "abcd");
	step(&p, "x", 1, 1, "");
	step(&p, "\n", 1, 1, "x");
	/* a cut token ended by a NUL; a NUL ends a write of whitespace */
	step(&p, "y", 1, 1, "");
	step(&p, "\0z", 2, 1, "y");
	step(&p, " \0 z", 4, 2, "");
	/* the kernel's isspace() takes 0xa0 */
	step(&p, "\xa0" "a\xa0" "b", 4, 3, "a");
	/* vertical tab, form feed, carriage return */
	step(&p, "\v\f\rq\r", 5, 5, "q");

	/* a token past the buffer: nothing changes, and the caller is told */
	memset(big, 'x', sizeof(big));
	{
		struct filter_parse r;

		filter_parser_clear(&p);
		step(&p, "ab", 2, 2, "");
		filter_parser_write(&p, big, sizeof(big), &r);
		CHECK(r.overflow);
		CHECK(p.cont);
		CHECK_EQ_STR(p.buf, "ab");
		filter_parser_clear(&p);
		filter_parser_write(&p, big, FILTER_PARSER_MAX, &r);
		CHECK(!r.overflow && p.cont && p.idx == FILTER_PARSER_MAX);
		filter_parser_write(&p, "y", 1, &r);
		CHECK(r.overflow);
		filter_parser_write(&p, " ", 1, &r);
		CHECK(!r.overflow && r.token && strlen(p.buf) == FILTER_PARSER_MAX);
	}

	/* what a retrying writer (stdio, cat) gets the kernel to apply */
	retried("a b c\n", "a b c");
	retried("  one\t\ttwo\n\nthree", "one two three");
	retried("!vfs_read schedule:traceoff *:mod:loop\n", "!vfs_read schedule:traceoff *:mod:loop");
	retried("\n\n", "");
	return test_finish("test-filter-parser");
}
