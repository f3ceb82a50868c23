/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a filter file reads back, mapped onto the map: checking a write,
 * and turning a filter's lines back into indices.
 *
 * A filter on tracefs reads back one line per enabled record, "name" or
 * "name [module]". A line is identified by its canonical index: the first
 * index that carries the same name in the same module.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "map.h"
#include "resolve.h"

/*
 * What a line of set_ftrace_filter or set_ftrace_notrace is. Besides its
 * functions the kernel lists there the function probes set on the filter
 * ("schedule:traceoff:unlimited") and the module patterns it keeps for
 * modules not loaded (":mod:nfsd", "vfs_*:mod:btrfs"). Neither is a
 * function, and neither is ours: an O_TRUNC open drops the module
 * patterns and keeps the probes (seen alike on 6.1, 6.12 and 7.2). No
 * function's or module's name holds a ':'.
 */
enum filter_line {
	FILTER_LINE_NONE,     /* blank, or a comment ("#### all functions enabled ####") */
	FILTER_LINE_FUNCTION, /* "name" or "name [module]" */
	FILTER_LINE_MODULE_PATTERN,
	FILTER_LINE_PROBE,
};

enum filter_line filter_line_kind(const char *line, size_t len);

/* How many lines of @text are probes, and how many module patterns. */
void filter_count_others(const char *text, uint32_t *probes, uint32_t *module_patterns);

/*
 * Check that @after (the filter read back, NUL-terminated) is what
 * operation @op (enum ftidx_filter_op) with resolution @res makes of
 * @before (the filter read before the write). For SET and CLEAR the
 * check is exact. For ADD and REMOVE, lines the write did not touch stay
 * as they were, and a name on several lines does not say which copy was
 * there before, so each line's count is held to bounds instead.
 * Returns 0, -EIO with *@why set, or -ENOMEM.
 */
int readback_verify(const struct map *m, uint16_t op, const struct resolution *res,
		    const char *before, const char *after, const char **why);

/*
 * The weaker check, for a read-back whose lines cannot be trusted but
 * whose count can: after SET the filter holds as many lines as @res
 * enables, after CLEAR none. ADD and REMOVE cannot be checked this way
 * (the lines before are as untrustworthy) and pass. 0 or -EIO with *@why.
 */
int readback_verify_count(uint16_t op, const struct resolution *res, const char *after,
			  const char **why);

/*
 * The indices that carry @line ("name" or "name [module]", @len bytes),
 * ascending, in *@out (malloc'd; free it). Returns how many (0 when the
 * map has no such line) or -ENOMEM.
 */
ssize_t readback_line_indices(const struct map *m, const char *line, size_t len, uint32_t **out);

/*
 * The indices a filter's text stands for. The kernel lists enabled records
 * in record order, so the k-th line is matched to the first index after
 * the previous line's that carries its name and module: exact even for
 * names on several lines. Function lines not in the map are counted in
 * *@unmatched; comments, probes and module patterns are no one's. Returns how many indices (ascending, in *@out, malloc'd) or
 * -ENOMEM.
 */
ssize_t readback_filter_indices(const struct map *m, const char *text, uint32_t **out,
				size_t *unmatched);
