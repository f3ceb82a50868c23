/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Map and resolver benchmark. Prints figures and ratios against baselines
 * measured in the same run; asserts nothing about time.
 *
 * - build: the 38k-line fixture and a synthetic 200k-line map (the fixture
 *   plus module blocks of its names), against glibc qsort() on the same
 *   names as the baseline sort;
 * - resolve: 100k exact names in one batch, against the kernel's own
 *   method (every name compared with every line), timed on a sample and
 *   scaled;
 * - memory: bytes per entry beyond the kernel's text.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "map.h"
#include "resolve.h"
#include "bench.h"
#include "testlib.h"

/* The fixtures were read off 6.1, and so are matched by its rules. */
static const struct glob_rules fixture_rules = { GLOB_CLASS_END_TAKES_NUL };

#define RUNS 15

/* Build time over RUNS builds of @text. */
static struct figure time_build(const char *text, size_t len, struct map_stats *st)
{
	double t[RUNS];

	for (int i = 0; i < RUNS; i++) {
		struct map *m = NULL;
		char *copy = malloc(len + 1);

		memcpy(copy, text, len);
		int r = map_new_from_buffer(&m, copy, len, false);

		if (r < 0) {
			fprintf(stderr, "map build failed: %s\n", strerror(-r));
			exit(1);
		}
		map_get_stats(m, st);
		t[i] = (double)st->build_ns / 1e6;
		map_free(m);
	}
	return summarize(t, RUNS);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Baseline: split the lines and qsort() their names with strcmp(). */
static struct figure time_qsort_baseline(const char *text, size_t len)
{
	double t[RUNS];

	for (int r = 0; r < RUNS; r++) {
		char *copy = malloc(len + 1), **names;
		size_t n = 0, cap = 1024;
		double start = now_ms();

		memcpy(copy, text, len);
		copy[len] = '\0';
		names = malloc(sizeof(*names) * cap);
		for (char *p = copy, *nl; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			*nl = '\0';
			if (n == cap)
				names = realloc(names, sizeof(*names) * (cap *= 2));
			names[n++] = p;
		}
		qsort(names, n, sizeof(*names), cmp_str);
		t[r] = now_ms() - start;
		free(names);
		free(copy);
	}
	return summarize(t, RUNS);
}

/* The fixture followed by module blocks of its names, @lines in all. */
static char *synthesize(const char *text, size_t len, size_t lines, size_t *out_len)
{
	/* each added line is a fixture line plus " [synthNNNN]" */
	size_t cap = len + lines * (len / 38000 + 16), n = 0, pos = len;
	char *out = malloc(cap);
	const char *p = text;
	unsigned block = 0;

	memcpy(out, text, len);
	for (const char *q = text; q < text + len; q++)
		n += *q == '\n';
	while (n < lines) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l;

		if (!nl) {
			p = text;
			continue;
		}
		l = (size_t)(nl - p);
		if (pos + l + 16 > cap) {
			fprintf(stderr, "synthetic map buffer too small\n");
			exit(1);
		}
		if (!memchr(p, ' ', l)) {
			if (n % 2000 == 0)
				block++;
			pos += (size_t)snprintf(out + pos, cap - pos, "%.*s [synth%u]\n", (int)l, p,
						block);
			n++;
		}
		p = nl + 1;
		if (p >= text + len)
			p = text;
	}
	*out_len = pos;
	return out;
}

/* The kernel's method: each name compared with every line. */
static double time_linear_per_name(const struct map *m, const char **names, size_t count)
{
	double start = now_ms();
	volatile size_t hits = 0;

	for (size_t i = 0; i < count; i++)
		for (uint32_t idx = 1; idx <= map_size(m); idx++)
			hits += strcmp(map_name(m, idx), names[i]) == 0;
	return now_ms() - start;
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	char path[4096];
	struct map_stats st;
	struct map *m = NULL;
	struct resolution res;
	size_t len, big_len, sample = 200, count = 100000;
	char *text, *big, *arena;
	const char **names;
	struct figure t38, t200, q200, tr;
	double tres[RUNS], tlin, per_entry;

	snprintf(path, sizeof(path), "%s/debian-6.1-base.txt", fixtures);
	text = test_read_file(path, &len);
	big = synthesize(text, len, 200000, &big_len);

	t38 = time_build(text, len, &st);
	printf("map build, %u lines: best %.2f ms, median %.2f ms\n", st.entries, t38.best,
	       t38.median);
	t200 = time_build(big, big_len, &st);
	q200 = time_qsort_baseline(big, big_len);
	printf("map build, %u lines: best %.2f ms, median %.2f ms; target <= 30 ms: %s\n",
	       st.entries, t200.best, t200.median, t200.best <= 30 ? "met" : "MISSED");
	printf("  baseline, qsort(strcmp) of the names alone: best %.2f ms; ftidx builds the "
	       "whole map %.2fx faster\n",
	       q200.best, q200.best / t200.best);

	per_entry = (double)(st.bytes - st.text_bytes) / st.entries;
	printf("memory: %.1f bytes per entry beyond the kernel's text (%zu text bytes, %zu in all); "
	       "target <= 64: %s\n",
	       per_entry, st.text_bytes, st.bytes, per_entry <= 64 ? "met" : "MISSED");

	if (map_new_from_buffer(&m, big, big_len, false) < 0)
		return 1;
	names = pick_names(m, count, 88172645463325252ull, &arena);
	for (int r = 0; r < RUNS; r++) {
		double start = now_ms();

		if (resolve_batch(m, &fixture_rules, names, count, &res) < 0 || res.n_failed)
			return 1;
		tres[r] = now_ms() - start;
		if (r + 1 < RUNS)
			resolution_deinit(&res);
	}
	tr = summarize(tres, RUNS);
	tlin = time_linear_per_name(m, names, sample) * (double)count / (double)sample;
	printf("resolve %zu exact names against %u lines: best %.2f ms, median %.2f ms, %zu lines "
	       "enabled; target <= 20 ms: %s\n",
	       count, map_size(m), tr.best, tr.median, res.n_enable, tr.best <= 20 ? "met" : "MISSED");
	printf("  baseline, every name against every line (the kernel's method; %zu timed, "
	       "scaled): %.0f ms, %.0fx slower\n",
	       sample, tlin, tlin / tr.best);

	resolution_deinit(&res);
	free(names);
	free(arena);
	map_free(m);
	free(text);
	return 0;
}
