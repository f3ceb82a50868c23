/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the benchmarks. These machines are shared VMs: a neighbour
 * can slow one run by a third, so each figure is summarized as the best
 * (the cost of the code) and the median (what a caller may see) of
 * several runs.
 */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "map.h"

struct figure {
	double best, median;
};

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v. */
static inline struct figure summarize(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return (struct figure){ v[0], v[n / 2] };
}

/*
 * @count names of random resolvable lines of @m (xorshift from @seed, so
 * runs are comparable), packed one after another as a request frame or a
 * caller would hold them; *@arena is the packed text (free it).
 */
static inline const char **pick_names(const struct map *m, size_t count, uint64_t seed,
				      char **arena)
{
	const char **names = malloc(sizeof(*names) * count);
	uint64_t x = seed;
	size_t pos = 0;

	*arena = malloc(count * 520);
	for (size_t i = 0; i < count; i++) {
		uint32_t idx;

		do {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			idx = (uint32_t)(x % map_size(m)) + 1;
		} while (map_is_placeholder(m, idx));
		names[i] = *arena + pos;
		memcpy(*arena + pos, map_name(m, idx), map_name_len(m, idx) + 1);
		pos += map_name_len(m, idx) + 1;
	}
	return names;
}
