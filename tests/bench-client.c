/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Round trips through libftidx to the built ftidxd, against baselines
 * measured in the same run:
 * - 100k names in one request, against resolving the same batch in
 *   process (what the protocol and the socket add);
 * - 1,000 single-name requests, against the same names in one request.
 * Prints figures; asserts nothing about time.
 */
#include <string.h>
#include <time.h>

#include "bench.h"
#include "daemon-harness.h"
#include "ftidx.h"
#include "map.h"
#include "resolve.h"
#include "testlib.h"

/* The fixtures were read off 6.1, and so are matched by its rules. */
static const struct glob_rules fixture_rules = { GLOB_CLASS_END_TAKES_NUL };

#define RUNS 9

int main(int argc, char **argv)
{
	const size_t count = 100000, singles = 1000;
	char path[4096], *text, *arena;
	const char **names;
	struct harness h;
	struct map *m = NULL;
	struct ftidx *c;
	double t_rt[RUNS], t_local[RUNS], t_single, t_batch;
	struct figure tr, tl;
	size_t len;

	if (argc < 3)
		return 2;
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", argv[2]);
	text = test_read_file(path, &len);
	harness_tracefs(&h, text, len);
	if (map_new_from_buffer(&m, text, len, false) < 0)
		return 1;

	names = pick_names(m, count, 0x2545f4914f6cdd1dull, &arena);

	harness_start(&h, argv[1], NULL);
	if (ftidx_connect(h.socket, &c) < 0)
		return 1;

	for (int r = 0; r < RUNS; r++) {
		struct ftidx_result *res = NULL;
		struct resolution local;
		double t0 = now_ms();

		if (ftidx_resolve(c, names, count, 0, &res) < 0)
			return 1;
		t_rt[r] = now_ms() - t0;
		ftidx_result_free(res);
		t0 = now_ms();
		resolve_batch(m, &fixture_rules, names, count, &local);
		t_local[r] = now_ms() - t0;
		resolution_deinit(&local);
	}
	tr = summarize(t_rt, RUNS);
	tl = summarize(t_local, RUNS);
	printf("resolve %zu names through libftidx: best %.2f ms; target <= 60 ms: %s\n", count,
	       tr.best, tr.best <= 60 ? "met" : "MISSED");
	printf("  baseline, the same batch resolved in process: best %.2f ms; the protocol and "
	       "socket add %.2fx\n",
	       tl.best, tr.best / tl.best);

	{
		double t0 = now_ms();

		for (size_t i = 0; i < singles; i++) {
			struct ftidx_result *res = NULL;

			if (ftidx_resolve(c, &names[i], 1, 0, &res) < 0)
				return 1;
			ftidx_result_free(res);
		}
		t_single = now_ms() - t0;
		t0 = now_ms();
		{
			struct ftidx_result *res = NULL;

			if (ftidx_resolve(c, names, singles, 0, &res) < 0)
				return 1;
			ftidx_result_free(res);
		}
		t_batch = now_ms() - t0;
	}
	printf("%zu single-name requests: %.2f ms (%.1f us each); baseline, the same names in one "
	       "request: %.2f ms, %.0fx faster\n",
	       singles, t_single, t_single * 1000 / (double)singles, t_batch, t_single / t_batch);

	ftidx_unref(c);
	harness_stop(&h);
	harness_cleanup(&h);
	map_free(m);
	free(names);
	free(arena);
	return 0;
}
