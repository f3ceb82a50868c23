/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sets of map indices, as sorted arrays without repeats: what a filter
 * holds, what a change adds or drops, what a hit count traces.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "resolve.h"

/*
 * Merge sorted @a with sorted @add, leaving out sorted @drop, into a new
 * array (free() it; NULL: out of memory): the state a write leaves, from
 * the one before, or a filter less its notrace. O(na + nadd + ndrop).
 */
uint32_t *sets_merge(const uint32_t *a, size_t na, const uint32_t *add, size_t nadd,
		     const uint32_t *drop, size_t ndrop, size_t *n_out);

/* How many of sorted @a are not in sorted @b (*@only_a), and of @b not
 * in @a (*@only_b): what a change added and dropped. O(na + nb). */
void sets_differ(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *only_a,
		 size_t *only_b);

/* What a filter file holds after @op (enum ftidx_filter_op) with @res,
 * from @before (@n_before, ascending: what an ADD or REMOVE starts from;
 * ignored by SET and CLEAR). free() it; NULL: out of memory. */
uint32_t *sets_after(uint16_t op, const uint32_t *before, size_t n_before,
		     const struct resolution *res, size_t *n_out);
