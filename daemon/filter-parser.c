/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's filter-file parser, one write() at a time (see
 * filter-parser.h). The steps follow trace_get_user() so that what it
 * returns is what the kernel's write() returns: the first byte is always
 * taken; without a cut token, whitespace is skipped, and a write of only
 * whitespace ends there; then the token's bytes; then the byte that ended
 * it (whitespace or NUL) is taken too, or the token waits, cut.
 */
#include <string.h>

#include "filter-parser.h"

void filter_parser_write(struct filter_parser *p, const char *buf, size_t n,
			 struct filter_parse *out)
{
	struct filter_parser was = *p;
	size_t read = 0, cnt = n;
	unsigned char ch;

	*out = (struct filter_parse){ 0 };
	ch = (unsigned char)buf[read++];
	cnt--;
	if (!p->cont) {
		while (cnt && filter_parser_isspace(ch)) {
			ch = (unsigned char)buf[read++];
			cnt--;
		}
		p->idx = 0;
		if (filter_parser_isspace(ch) || !ch) {
			/* only whitespace was written */
			p->buf[0] = '\0';
			out->read = read;
			return;
		}
	}
	while (cnt && !filter_parser_isspace(ch) && ch) {
		if (p->idx >= FILTER_PARSER_MAX)
			goto overflow;
		p->buf[p->idx++] = (char)ch;
		ch = (unsigned char)buf[read++];
		cnt--;
	}
	if (filter_parser_isspace(ch) || !ch) {
		/* the token is whole (the kernel applies it if it has any bytes) */
		p->buf[p->idx] = '\0';
		p->cont = false;
		out->token = p->idx != 0;
	} else {
		if (p->idx >= FILTER_PARSER_MAX)
			goto overflow;
		/* cut by the buffer's end: it goes on at the next write */
		p->cont = true;
		p->buf[p->idx++] = (char)ch;
		p->buf[p->idx] = '\0';
	}
	out->read = read;
	return;
overflow:
	*p = was;
	out->overflow = true;
}
