/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one growable buffer of ftidx: protocol frames, filter text, files
 * read whole, vectors of pointers. Header only, no state.
 *
 * A failed allocation is sticky: every later append does nothing and
 * @failed stays set, so that a caller checks once, at the end, instead of
 * after each append.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The members, for types that want to be read as a growbuf as well. */
#define GROWBUF_MEMBERS                                                                          \
	uint8_t *data;                                                                           \
	size_t len, cap;                                                                         \
	bool failed

struct growbuf {
	GROWBUF_MEMBERS;
};

static inline void growbuf_deinit(struct growbuf *b)
{
	free(b->data);
	*b = (struct growbuf){ 0 };
}

/* Room for @n more bytes after @len, which is not moved; NULL when out of
 * memory (and from then on). Doubles, so that appends cost O(1) each. */
static inline void *growbuf_room(struct growbuf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *data;

		while (cap < b->len + n)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data) {
			b->failed = true;
			return NULL;
		}
		b->data = data;
		b->cap = cap;
	}
	return b->data + b->len;
}

/* @n more bytes at the end, to be filled in by the caller; NULL when out
 * of memory. */
static inline void *growbuf_extend(struct growbuf *b, size_t n)
{
	void *p = growbuf_room(b, n);

	if (p)
		b->len += n;
	return p;
}

static inline void growbuf_append(struct growbuf *b, const void *p, size_t n)
{
	void *dst = growbuf_extend(b, n);

	if (dst && n)
		memcpy(dst, p, n);
}

/* Text: @n bytes of @s, and the whole kept NUL-terminated (the NUL is not
 * counted in @len). */
static inline void growbuf_append_text(struct growbuf *b, const char *s, size_t n)
{
	char *dst = growbuf_room(b, n + 1);

	if (!dst)
		return;
	memcpy(dst, s, n);
	dst[n] = '\0';
	b->len += n;
}

/* Read @fd to its end, as NUL-terminated text. 0, -ENOMEM or -errno. */
static inline int growbuf_read_fd(struct growbuf *b, int fd)
{
	for (;;) {
		/* large reads: files such as kallsyms are megabytes */
		char *dst = growbuf_room(b, 65536 + 1);
		ssize_t n;

		if (!dst)
			return -ENOMEM;
		n = read(fd, dst, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno > 0 ? -errno : -EIO;
		dst[n] = '\0';
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}
