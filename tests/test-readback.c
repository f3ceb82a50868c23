/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A filter's text turned back into indices (what ftidx hits counts), on
 * the real fixtures: names on several lines, modules, and lines that are
 * no function.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture-map.h"
#include "map.h"
#include "proto.h"
#include "readback.h"
#include "testlib.h"

/* The indices of @text, or -1 on failure, with the count of unmatched lines. */
static ssize_t indices(const struct map *m, const char *text, uint32_t *out, size_t max,
		       size_t *unmatched)
{
	uint32_t *v = NULL;
	ssize_t n = readback_filter_indices(m, text, &v, unmatched);

	for (ssize_t i = 0; i < n && (size_t)i < max; i++)
		out[i] = v[i];
	free(v);
	return n;
}

int main(int argc, char **argv)
{
	struct map *base, *mods;
	uint32_t got[8];
	size_t unmatched;

	if (argc < 2)
		return 2;
	base = fixture_map(argv[1], "debian-6.1-base.txt");
	mods = fixture_map(argv[1], "debian-6.1-loop-dummy.txt");

	/* __send_ipi_mask is on lines 814 and 2324: one line read back means
	 * the first, two mean both, in order. */
	CHECK_EQ_INT(indices(base, "__send_ipi_mask\n", got, 8, &unmatched), 1);
	CHECK_EQ_INT(got[0], 814);
	CHECK_EQ_INT(indices(base, "__send_ipi_mask\n__send_ipi_mask\n", got, 8, &unmatched), 2);
	CHECK_EQ_INT(got[0], 814);
	CHECK_EQ_INT(got[1], 2324);
	/* Between the two: record order places the second copy after vfs_read. */
	CHECK_EQ_INT(indices(base, "__send_ipi_mask\nvfs_read\n", got, 8, &unmatched), 2);
	CHECK_EQ_INT(got[0], 814);
	CHECK_EQ_INT(got[1], 12408);
	CHECK_EQ_INT(unmatched, 0);

	/* A module's line needs its module; the last line may lack its newline. */
	CHECK_EQ_INT(indices(mods, "vfs_read\nlo_release [loop]", got, 8, &unmatched), 2);
	CHECK_EQ_INT(got[0], 12408);
	CHECK_EQ_INT(got[1], 38264);
	CHECK_EQ_INT(indices(mods, "lo_release\nlo_release [dummy]\n", got, 8, &unmatched), 0);
	CHECK_EQ_INT(unmatched, 2);

	/* What an empty filter reads back, probes, unknown names, placeholders. */
	CHECK_EQ_INT(indices(base, "#### all functions enabled ####\n", got, 8, &unmatched), 0);
	CHECK_EQ_INT(unmatched, 0);
	CHECK_EQ_INT(indices(base, "vfs_read:traceoff:unlimited\nno_such_fn\n\n", got, 8,
			     &unmatched),
		     0);
	CHECK_EQ_INT(unmatched, 1);
	CHECK_EQ_INT(indices(base, "", got, 8, &unmatched), 0);

	/* Probes and kept module patterns are listed with the functions
	 * (as 6.1, 6.12 and 7.2 list them) and are no one's. */
	CHECK_EQ_INT(indices(base,
			     "vfs_read\nvfs_*:mod:btrfs\n:mod:nfsd\nschedule:traceoff:unlimited\n",
			     got, 8, &unmatched),
		     1);
	CHECK_EQ_INT(got[0], 12408);
	CHECK_EQ_INT(unmatched, 0);
	CHECK_EQ_INT(filter_line_kind(":mod:nfsd", 9), FILTER_LINE_MODULE_PATTERN);
	CHECK_EQ_INT(filter_line_kind("vfs_*:mod:btrfs", 15), FILTER_LINE_MODULE_PATTERN);
	CHECK_EQ_INT(filter_line_kind("schedule:traceoff:unlimited", 27), FILTER_LINE_PROBE);
	CHECK_EQ_INT(filter_line_kind("vfs_read:stacktrace:unlimited", 29), FILTER_LINE_PROBE);
	CHECK_EQ_INT(filter_line_kind("lo_release [loop]", 17), FILTER_LINE_FUNCTION);
	CHECK_EQ_INT(filter_line_kind("#### all functions enabled ####", 31), FILTER_LINE_NONE);

	/* A write to a filter holding a probe and a module pattern checks
	 * out: both before (ADD) and after. */
	{
		uint32_t add[] = { 12408 };
		struct resolution res = { .enable = add, .n_enable = 1 };
		const char *why = "";

		CHECK_EQ_INT(readback_verify(base, FTIDX_OP_ADD, &res,
					     ":mod:nfsd\nschedule:traceoff:unlimited\n",
					     "vfs_read\n:mod:nfsd\n", &why),
			     0);
		CHECK_EQ_INT(readback_verify(base, FTIDX_OP_SET, &res, "",
					     "vfs_read\nschedule:traceoff:unlimited\n", &why),
			     0);
		CHECK_EQ_INT(readback_verify_count(FTIDX_OP_SET, &res,
						   "vfs_read\nschedule:traceoff:unlimited\n", &why),
			     0);
	}

	map_free(base);
	map_free(mods);
	return test_finish("test-readback");
}
