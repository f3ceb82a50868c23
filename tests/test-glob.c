/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pattern classes and glob semantics, against what the kernel does. */
#include <string.h>

#include "glob.h"
#include "testlib.h"

static void check_class(const char *pat, enum glob_kind kind, const char *literal)
{
	struct glob g;

	glob_classify(&g, pat, strlen(pat));
	CHECK_EQ_INT(g.kind, kind);
	if (literal) {
		CHECK_EQ_INT(g.len, strlen(literal));
		CHECK(strncmp(g.text, literal, g.len) == 0);
	}
}

static bool wild(const char *pat, const char *str)
{
	return glob_wild_match(pat, strlen(pat), str) == GLOB_MATCH;
}

static int wild3(const char *pat, const char *str)
{
	return glob_wild_match(pat, strlen(pat), str);
}

static bool matches(const char *pat, const char *str)
{
	struct glob g;

	glob_classify(&g, pat, strlen(pat));
	return glob_matches(&g, str, strlen(str));
}

int main(void)
{
	/* filter_parse_regex() classes */
	check_class("vfs_read", GLOB_FULL, "vfs_read");
	check_class("vfs_*", GLOB_PREFIX, "vfs_");
	check_class("*_show", GLOB_SUFFIX, "_show");
	check_class("*alloc*", GLOB_SUBSTR, "alloc");
	check_class("*", GLOB_SUFFIX, "");
	check_class("**", GLOB_SUBSTR, "");
	check_class("a*b", GLOB_WILD, "a*b");
	check_class("*a*b", GLOB_WILD, "*a*b");
	check_class("***", GLOB_WILD, "***");
	check_class("vfs_rea?", GLOB_WILD, "vfs_rea?");
	check_class("*rea?", GLOB_WILD, "*rea?");
	check_class("vfs_[rw]*", GLOB_WILD, "vfs_[rw]*");
	check_class("a\\b", GLOB_WILD, "a\\b");
	check_class("a]b", GLOB_FULL, "a]b");
	check_class("12", GLOB_INDEX, NULL);
	check_class("8021q", GLOB_INDEX, NULL);

	/* the simple classes */
	CHECK(matches("vfs_read", "vfs_read"));
	CHECK(!matches("vfs_read", "vfs_readv"));
	CHECK(matches("vfs_*", "vfs_readv"));
	CHECK(!matches("vfs_*", "vfs"));
	CHECK(matches("*_show", "type_show"));
	CHECK(!matches("*_show", "type_shows"));
	CHECK(matches("*alloc*", "kmalloc_trace"));
	CHECK(matches("*", "anything"));
	CHECK(matches("**", "anything"));
	CHECK(matches("*[!a-z]*", "anything"));
	CHECK(!matches("12", "12"));

	/* lib/glob.c semantics */
	CHECK(wild("a*b", "ab"));
	CHECK(wild("a*b", "axxb"));
	CHECK(!wild("a*b", "axxbc"));
	CHECK(wild("*a*b", "xaxb"));
	CHECK(wild("vfs_rea?", "vfs_read"));
	CHECK(!wild("vfs_rea?", "vfs_rea"));
	CHECK(wild("vfs_[rw]*", "vfs_write"));
	CHECK(!wild("vfs_[rw]*", "vfs_open"));
	CHECK(wild("[!a-y]*", "zap"));
	CHECK(!wild("[!a-y]*", "yes"));
	CHECK(wild("[]x]", "]"));        /* a leading ']' is a member */
	CHECK(wild("[a-]", "-"));        /* '-' before ']' is literal */
	CHECK(!wild("[^a]", "b"));       /* '^' is no negation to the kernel */
	CHECK(wild("[^a]", "^"));
	CHECK(wild("a[bc", "a[bc"));     /* never closed: '[' is literal */
	CHECK(!wild("a[bc", "ab"));
	CHECK(wild("a\\*", "a*"));
	CHECK(!wild("a\\*", "ab"));
	CHECK(wild("a\\", "a"));         /* trailing backslash meets the end */
	/* 6.1: a negated class takes the terminating NUL; a lone trailing '*'
	 * then matches, anything else reads past the name */
	CHECK_EQ_INT(wild3("*[!a-z0-9_.]*", "vfs_read"), GLOB_MATCH);
	CHECK_EQ_INT(wild3("*[!a-z]*", "abc"), GLOB_MATCH);
	CHECK_EQ_INT(wild3("x[!a]", "x"), GLOB_UNDEFINED);
	CHECK_EQ_INT(wild3("*[!x]", "abc"), GLOB_MATCH);     /* decided at 'c' */
	CHECK_EQ_INT(wild3("*[!x]", "abx"), GLOB_UNDEFINED); /* only the NUL is left */
	CHECK_EQ_INT(wild3("*[!ab]", "ab"), GLOB_UNDEFINED);
	CHECK_EQ_INT(wild3("x[a]", "x"), GLOB_NO_MATCH); /* a plain class never takes it */
	CHECK_EQ_INT(wild3("[!a-y]*", "zap"), GLOB_MATCH);
	CHECK(wild("*[0-9]", "isra.0"));
	CHECK(wild("*.isra.?", "lo_rw_aio.isra.0"));
	CHECK(!wild("?", ""));
	CHECK(wild("*", ""));
	CHECK(wild("", ""));
	CHECK(!wild("", "a"));

	return test_finish("test-glob");
}
