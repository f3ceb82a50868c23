/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Token parsing: every accepted form and every refusal, with its errno. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pattern.h"
#include "testlib.h"

static int parse(const char *s, struct pattern *p)
{
	const char *why = NULL;
	int r = pattern_parse(p, s, &why);

	if (r < 0)
		CHECK(why && why[0]); /* every refusal says why */
	return r;
}

/* Every byte inside a name, at every place of a name that spans two
 * 8-byte words and a tail, among bytes that sit right at the edges ('"'
 * just above the space, 0x80 and 0xff with their high bit set): refused
 * as whitespace or a control character exactly where the C library's
 * isspace() or iscntrl() says so. */
static void check_every_byte(void)
{
	static const unsigned char fillers[] = { 'a', '"', 0x80, 0xff, 0x7e };

	for (size_t f = 0; f < sizeof(fillers); f++)
		for (size_t at = 0; at < 19; at++)
			for (int c = 1; c < 256; c++) {
				char token[20];
				const char *why = NULL;
				struct pattern p;
				bool refused, want = isspace(c) || iscntrl(c);
				int r;

				memset(token, fillers[f], 19);
				token[0] = 'x'; /* a name, not an index or a removal */
				token[at] = (char)c;
				token[19] = '\0';
				r = pattern_parse(&p, token, &why);
				refused = r == -EINVAL && strstr(why, "whitespace or a control character");
				if (refused != want)
					fprintf(stderr, "byte 0x%02x at %zu among 0x%02x: %s\n", c, at,
						fillers[f], refused ? "refused" : "accepted");
				CHECK(refused == want);
			}
}

static void check_refused(const char *s, int err)
{
	struct pattern p;

	CHECK_EQ_INT(parse(s, &p), err);
}

int main(void)
{
	struct pattern p;
	char big[PATTERN_MAX + 2];

	CHECK_EQ_INT(parse("vfs_read", &p), 0);
	CHECK(!p.remove && !p.is_index && !p.has_module && p.func.kind == GLOB_FULL);

	CHECK_EQ_INT(parse("!vfs_*", &p), 0);
	CHECK(p.remove && p.func.kind == GLOB_PREFIX && p.func.len == 4);

	CHECK_EQ_INT(parse("123", &p), 0);
	CHECK(p.is_index && p.index == 123 && !p.remove);
	CHECK_EQ_INT(parse("!7", &p), 0);
	CHECK(p.is_index && p.index == 7 && p.remove);
	CHECK_EQ_INT(parse("4294967295", &p), 0);
	CHECK(p.index == 4294967295u);

	CHECK_EQ_INT(parse("lo_*:mod:loop", &p), 0);
	CHECK(p.has_module && !p.module_exclude && p.func.kind == GLOB_PREFIX);
	CHECK(p.module.kind == GLOB_FULL && p.module.len == 4);
	CHECK_EQ_INT(parse(":mod:loop", &p), 0);
	CHECK(p.has_module && p.func.len == 0);
	CHECK_EQ_INT(parse("*:mod:lo*", &p), 0);
	CHECK(p.func.kind == GLOB_SUFFIX && p.func.len == 0 && p.module.kind == GLOB_PREFIX);
	CHECK_EQ_INT(parse("dummy*:mod:!dummy", &p), 0);
	CHECK(p.module_exclude && p.module.len == 5);
	CHECK_EQ_INT(parse("!:mod:loop", &p), 0);
	CHECK(p.remove && p.has_module);
	CHECK_EQ_INT(parse("foo:mod:", &p), 0); /* any module */
	CHECK(p.has_module && p.module.len == 0 && !p.module_exclude);

	/* refusals */
	check_refused("", -EINVAL);
	check_refused("!", -EINVAL);
	check_refused("0", -ERANGE);
	check_refused("!0", -ERANGE);
	check_refused("010", -EINVAL);
	check_refused("0x10", -EINVAL);
	check_refused("5abc", -EINVAL);
	check_refused("4294967296", -ERANGE);
	check_refused("99999999999999999999", -ERANGE);
	check_refused("5:mod:loop", -EINVAL);
	check_refused("foo:mod", -EINVAL);
	check_refused("foo:", -EINVAL);
	check_refused("foo:traceoff", -EINVAL);
	check_refused("foo:mod:a:b", -EINVAL);
	check_refused("foo bar", -EINVAL);
	check_refused("foo\tbar", -EINVAL);
	check_refused("foo\x01", -EINVAL);
	check_every_byte();
	check_refused("__ftrace_invalid_address___32", -EPERM);
	check_refused("!__ftrace_invalid_address___64", -EPERM);
	check_refused("__ftrace_invalid_address___32:mod:loop", -EPERM);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_refused(big, -ENAMETOOLONG);
	big[PATTERN_MAX] = '\0';
	CHECK_EQ_INT(parse(big, &p), 0);

	return test_finish("test-pattern");
}
