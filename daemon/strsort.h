/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sorting strings bytewise (as strcmp() orders them), fast: a radix sort
 * on 8-byte chunks of the strings rather than a comparison sort that calls
 * strcmp() O(n log n) times on names that mostly share long prefixes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct strsort_item {
	const char *s; /* no NUL bytes within [0, len) */
	uint32_t len;
	uint32_t id; /* the caller's; equal strings keep their input order */
};

/* Sort @v in place. Returns 0 or -ENOMEM. */
int strsort(struct strsort_item *v, size_t n);

/* The bytes [at, at + 8) of @s[0..len) as a big-endian integer, zero-padded:
 * integers compare as the strings do. */
uint64_t strsort_chunk(const char *s, size_t len, size_t at);
