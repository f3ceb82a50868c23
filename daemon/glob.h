/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's pattern language for ftrace filters, reimplemented.
 *
 * A pattern is classified the way kernel/trace/trace_events_filter.c's
 * filter_parse_regex() does it, and a glob matches the way lib/glob.c's
 * glob_match() does. Patterns are (pointer, length) pairs so that they can
 * point straight into a request frame or into a larger token.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum glob_kind {
	GLOB_FULL,   /* "foo": the whole name */
	GLOB_PREFIX, /* "foo*" */
	GLOB_SUFFIX, /* "*foo" (and "*", which matches everything) */
	GLOB_SUBSTR, /* "*foo*" */
	GLOB_WILD,   /* anything else with '*', '?', '[' or '\\' */
	GLOB_INDEX,  /* starts with a digit: the kernel reads a line index */
};

struct glob {
	enum glob_kind kind;
	const char *text; /* for WILD the whole pattern, else the literal part */
	size_t len;
};

/*
 * How a negated class "[!...]" meets the end of a name: the one glob rule
 * known to differ between the kernels ftidx serves. 6.1's glob_match()
 * lets the class take the name's terminating NUL and reads on past it;
 * later kernels (and backports) end the match there. kernel-rules.c decides
 * which from the running kernel.
 */
enum glob_class_end {
	GLOB_CLASS_END_STOPS = 0, /* no class matches the end (newer kernels) */
	GLOB_CLASS_END_TAKES_NUL, /* a negated class takes the NUL (6.1) */
	GLOB_CLASS_END_UNKNOWN,   /* not decided: refuse where the two differ */
};

struct glob_rules {
	enum glob_class_end class_end;
};

/* Whether byte @c makes a pattern more than a plain name: a pattern
 * without one is a GLOB_FULL of itself. */
static inline bool glob_is_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

/* Classify @s[0..len), which must not start with '!'. @g points into @s. */
void glob_classify(struct glob *g, const char *s, size_t len);

/* glob_matches() and glob_wild_match() results */
#define GLOB_NO_MATCH 0
#define GLOB_MATCH 1
#define GLOB_UNDEFINED (-1) /* the kernel's answer depends on memory past the name */

/* Whether NUL-terminated @str of length @str_len matches @g (never INDEX)
 * under @rules. */
int glob_matches(const struct glob *g, const struct glob_rules *rules, const char *str,
		 size_t str_len);

/* lib/glob.c semantics for the pattern @pat[0..pat_len) against @str. */
int glob_wild_match(const char *pat, size_t pat_len, const char *str,
		    const struct glob_rules *rules);
