/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the benchmarks. These machines are shared VMs: a neighbour
 * can slow one run by a third, so each figure is summarized as the best
 * (the cost of the code) and the median (what a caller may see) of
 * several runs.
 */
#pragma once

#include <stdlib.h>
#include <time.h>

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
