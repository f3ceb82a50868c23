/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A change that would leave set_ftrace_filter or set_graph_function
 * empty (see service-empty.h). What the file holds after the change is
 * computed as the intent record computes it (service-recover.c): on the
 * indices ftidx wrote, or on the indices the file's text maps back to.
 */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "map.h"
#include "proto.h"
#include "readback.h"
#include "service-empty.h"
#include "service-state.h"
#include "service-written.h"
#include "sets.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool in_set(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_u32);
}

/* Whether @n_was indices leave none after @op with @res. */
static bool none_after(uint16_t op, const uint32_t *was, size_t n_was, const struct resolution *res)
{
	size_t n = 1;
	_cleanup_free_ uint32_t *will = sets_after(op, was, n_was, res, &n);

	/* without memory: not refused, as before */
	return will && n == 0;
}

/*
 * A graph file lists its functions by hash, not in record order, and
 * takes whole names (the sets are widened to every line of each name):
 * every function line it lists must be among those the change drops.
 */
static bool graph_text_emptied(const struct map *m, const uint32_t *drop, size_t n_drop,
			       const char *before)
{
	for (const char *p = before; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ uint32_t *same = NULL;
		ssize_t k = 0;

		if (filter_line_kind(p, len) == FILTER_LINE_FUNCTION) {
			k = readback_line_indices(m, p, len, &same);
			/* a line the map does not know: cannot say */
			if (k <= 0)
				return false;
			for (ssize_t i = 0; i < k; i++)
				if (!in_set(drop, n_drop, same[i]))
					return false;
		}
		p += len + (nl != NULL);
	}
	return true;
}

bool service_leaves_empty(struct service *s, const char *instance, uint16_t file, uint16_t op,
			  const struct resolution *res, const char *before)
{
	struct written *w;

	if (file != FTIDX_FILE_FILTER && file != FTIDX_FILE_GRAPH)
		return false;
	if (op == FTIDX_OP_SET)
		return res->n_enable == 0;
	if (op == FTIDX_OP_CLEAR || (op == FTIDX_OP_ADD && res->n_enable))
		return false;
	/* what it holds, by ftidx's record, when that is the whole filter */
	w = service_written_find(s, instance, file);
	if (w && w->complete && !w->drifted && !w->raced && w->wd >= 0)
		return none_after(op, w->indices, w->n, res);
	/* else by its text: a stand-in's is what was written, not a listing */
	if (!before || !s->io->reads_names)
		return false;
	if (file == FTIDX_FILE_GRAPH)
		return graph_text_emptied(s->map, op == FTIDX_OP_REMOVE ? res->enable : res->disable,
					  op == FTIDX_OP_REMOVE ? res->n_enable : res->n_disable,
					  before);
	{
		_cleanup_free_ uint32_t *was = NULL;
		size_t unmatched = 0;
		ssize_t n_was = readback_filter_indices(s->map, before, &was, &unmatched);

		return n_was >= 0 && !unmatched && none_after(op, was, (size_t)n_was, res);
	}
}

const char *service_empty_why(uint16_t file)
{
	return file == FTIDX_FILE_GRAPH
		       ? "this would leave it empty, and an empty set_graph_function makes the "
			 "function_graph tracer graph every function: use clear for that, or allow it "
			 "(ftidx --allow-empty, FTIDX_ALLOW_EMPTY)"
		       : "this would leave it empty, and an empty set_ftrace_filter makes the "
			 "function tracer trace every function: use clear for that, or allow it "
			 "(ftidx --allow-empty, FTIDX_ALLOW_EMPTY)";
}
