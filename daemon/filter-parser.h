/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's parser of what is written to a filter file, one write() at
 * a time: trace_get_user() (kernel/trace/trace.c) as ftrace_regex_write()
 * and ftrace_graph_write() call it. Each write() skips whitespace, reads
 * one token, and consumes the one whitespace byte after it; a token the
 * buffer's end cuts waits for the next write() ("cont"). A NUL ends a
 * token as whitespace does. Whitespace is the kernel's isspace(): tab to
 * carriage return, space, and 0xa0 (its ctype table marks it a space).
 *
 * The kernel's buffer holds about 700 bytes (FTRACE_BUFF_MAX); this one
 * holds FILTER_PARSER_MAX, and says when a token would not fit, so that
 * the caller hands such a token to the kernel rather than guess.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define FILTER_PARSER_MAX 255 /* bytes of one token */

struct filter_parser {
	bool cont;                         /* a token is cut: the next write goes on with it */
	size_t idx;                        /* bytes of it so far */
	char buf[FILTER_PARSER_MAX + 1];   /* NUL-terminated */
};

/* What one write() did: @read bytes taken (what the kernel's write()
 * returns when the token is taken), and whether a whole token is in the
 * parser (apply it, then filter_parser_clear()). @overflow: the token
 * grew past FILTER_PARSER_MAX; nothing is known, the parser is as it was
 * before the write. */
struct filter_parse {
	size_t read;
	bool token;
	bool overflow;
};

static inline void filter_parser_clear(struct filter_parser *p)
{
	p->cont = false;
	p->idx = 0;
	p->buf[0] = '\0';
}

/* The kernel's isspace() (lib/ctype.c). */
static inline bool filter_parser_isspace(unsigned char c)
{
	return (c >= '\t' && c <= '\r') || c == ' ' || c == 0xa0;
}

/* One write() of @n bytes (@n > 0) of @buf. On overflow @p is left as it
 * was. */
void filter_parser_write(struct filter_parser *p, const char *buf, size_t n,
			 struct filter_parse *out);

/* Whether a token is pending (cut by the last write's end): the kernel
 * applies it at release. */
static inline bool filter_parser_loaded(const struct filter_parser *p)
{
	return p->idx != 0;
}
