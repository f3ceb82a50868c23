/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String sorting (see strsort.h). */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strsort.h"

uint64_t strsort_chunk(const char *s, size_t len, size_t at)
{
	uint64_t v = 0;

	/* Load in memory order, then make the first byte the most significant.
	 * A fixed-size copy compiles to one load; only a name's last chunk
	 * takes the short copy. */
	if (at + 8 <= len)
		memcpy(&v, s + at, 8);
	else if (at < len)
		memcpy(&v, s + at, len - at);
	return be64toh(v);
}

static uint64_t chunk_at(const struct strsort_item *it, size_t depth)
{
	return strsort_chunk(it->s, it->len, depth);
}

/*
 * MSD by 8-byte chunks: each level sorts its items by the chunk at @depth
 * (stable: ties keep their order), then descends into each run of equal
 * chunks whose strings go on. Every comparison is between integers; the
 * text is read once per item and level.
 *
 * Long runs use an LSD radix sort (11 bits a pass, six passes); its fixed
 * cost (48 KiB of counters) would dominate short runs, which use a
 * comparison sort on (chunk, position) instead.
 */
#define RADIX_BITS 11
#define RADIX_PASSES 6
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MIN 4096

struct radix_key {
	uint64_t key;
	uint32_t at;
};

static void radix_sort(struct radix_key *a, struct radix_key *tmp, size_t n, uint32_t *count)
{
	struct radix_key *src = a, *dst = tmp, *t;

	memset(count, 0, sizeof(*count) * RADIX_PASSES * RADIX_SIZE);
	for (size_t i = 0; i < n; i++)
		for (unsigned p = 0; p < RADIX_PASSES; p++)
			count[p * RADIX_SIZE + ((a[i].key >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;

	for (unsigned p = 0; p < RADIX_PASSES; p++) {
		uint32_t *c = &count[p * RADIX_SIZE], sum = 0;

		/* A digit that is the same everywhere moves nothing. */
		if (c[(a[0].key >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)] == n)
			continue;
		for (unsigned d = 0; d < RADIX_SIZE; d++) {
			uint32_t here = c[d];

			c[d] = sum;
			sum += here;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].key >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, sizeof(*a) * n);
}

static bool key_less(const struct radix_key *a, const struct radix_key *b)
{
	return a->key < b->key || (a->key == b->key && a->at < b->at);
}

static void key_swap(struct radix_key *a, struct radix_key *b)
{
	struct radix_key t = *a;

	*a = *b;
	*b = t;
}

/* Quicksort on (chunk, position), which are unique: median of three,
 * insertion sort below 16, recursion into the smaller half only. */
static void key_sort(struct radix_key *k, size_t n)
{
	while (n > 16) {
		size_t mid = n / 2, i = 0, j = n - 1;
		struct radix_key pivot;

		if (key_less(&k[mid], &k[0]))
			key_swap(&k[mid], &k[0]);
		if (key_less(&k[n - 1], &k[0]))
			key_swap(&k[n - 1], &k[0]);
		if (key_less(&k[n - 1], &k[mid]))
			key_swap(&k[n - 1], &k[mid]);
		pivot = k[mid];
		for (;;) {
			while (key_less(&k[i], &pivot))
				i++;
			while (key_less(&pivot, &k[j]))
				j--;
			if (i >= j)
				break;
			key_swap(&k[i++], &k[j--]);
		}
		if (j + 1 < n - j - 1) {
			key_sort(k, j + 1);
			k += j + 1;
			n -= j + 1;
		} else {
			key_sort(k + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct radix_key x = k[i];
		size_t j = i;

		for (; j > 0 && key_less(&x, &k[j - 1]); j--)
			k[j] = k[j - 1];
		k[j] = x;
	}
}

/* Scratch for a level of @n records; a sub-run [i, j) uses [i, j) of it,
 * which leaves the parent's keys past j intact. */
struct sort_scratch {
	struct radix_key *keys, *tmp;
	struct strsort_item *recs;
	uint32_t *count;
};

static void sort_level(struct strsort_item *v, size_t n, size_t depth, struct sort_scratch s)
{
	for (size_t i = 0; i < n; i++)
		s.keys[i] = (struct radix_key){ chunk_at(&v[i], depth), (uint32_t)i };
	if (n >= RADIX_MIN)
		radix_sort(s.keys, s.tmp, n, s.count);
	else
		key_sort(s.keys, n);
	for (size_t i = 0; i < n; i++)
		s.recs[i] = v[s.keys[i].at];
	memcpy(v, s.recs, sizeof(*v) * n);

	for (size_t i = 0; i < n;) {
		uint64_t key = s.keys[i].key;
		size_t j = i + 1;

		while (j < n && s.keys[j].key == key)
			j++;
		/* A chunk whose last byte is 0 holds the end of the name. */
		if (j - i > 1 && (key & 0xff) != 0) {
			struct sort_scratch sub = { s.keys + i, s.tmp + i, s.recs + i, s.count };

			sort_level(v + i, j - i, depth + 8, sub);
		}
		i = j;
	}
}

int strsort(struct strsort_item *v, size_t n)
{
	struct sort_scratch s = { 0 };
	int r = -ENOMEM;

	if (n < 2)
		return 0; /* sorted already, and @v may be NULL when empty */
	s.keys = malloc(sizeof(*s.keys) * n);
	s.tmp = malloc(sizeof(*s.tmp) * n);
	s.recs = malloc(sizeof(*s.recs) * n);
	s.count = malloc(sizeof(*s.count) * RADIX_PASSES * RADIX_SIZE);
	if (s.keys && s.tmp && s.recs && s.count) {
		sort_level(v, n, 0, s);
		r = 0;
	}
	free(s.keys);
	free(s.tmp);
	free(s.recs);
	free(s.count);
	return r;
}
