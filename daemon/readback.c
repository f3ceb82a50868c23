/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read-back checks (see readback.h).
 *
 * Cost: every line, read back or written, is one probe of the map's name
 * index plus a walk of that name's few copies; counts live in arrays
 * indexed by canonical index. No strings are built or sorted, so checking
 * a write costs about what reading the filter back costs the kernel.
 *
 * Bounds, per line, with T copies in the map, B before, A enabled and R
 * removed:
 *   SET:    after = A                CLEAR: after = 0
 *   ADD:    max(A, B - R) <= after <= min(T - R, B + A)
 *   REMOVE: max(0, B - R) <= after <= min(B, T - R)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "proto.h"
#include "readback.h"

struct counts {
	uint32_t total, before, added, removed, after;
};

struct tally {
	const struct map *m;
	struct counts *c;  /* by canonical index */
	uint32_t *touched; /* canonical indices with counts */
	size_t n_touched;
	uint32_t last_slot; /* module slot cache for parsed lines */
};

/* The canonical index of (name, module slot), and on first sight its total. */
static uint32_t canonical(struct tally *t, const char *name, size_t len, uint32_t slot)
{
	uint32_t pos, count, first = 0, total = 0;

	if (!map_find_name(t->m, name, len, map_hash_name(name, len), &pos, &count))
		return 0;
	for (uint32_t k = 0; k < count; k++) {
		if (map_sorted_module_of(t->m, pos + k) != slot)
			continue;
		if (!first)
			first = map_sorted_at(t->m, pos + k);
		total++;
	}
	if (first && t->c[first].total == 0) {
		t->c[first].total = total;
		t->touched[t->n_touched++] = first;
	}
	return first;
}

/* Module slot of @mod[0..len) (0: the core kernel), or UINT32_MAX. */
static uint32_t module_slot(struct tally *t, const char *mod, size_t len)
{
	uint32_t n = map_module_count(t->m);

	if (t->last_slot && strlen(map_module_name(t->m, t->last_slot - 1)) == len &&
	    memcmp(map_module_name(t->m, t->last_slot - 1), mod, len) == 0)
		return t->last_slot;
	for (uint32_t i = 0; i < n; i++) {
		const char *name = map_module_name(t->m, i);

		if (strlen(name) == len && memcmp(name, mod, len) == 0)
			return t->last_slot = i + 1;
	}
	return UINT32_MAX;
}

/* Split "name" or "name [module]" (@len bytes): the name's length and the
 * module's slot. False for a line that is not of that form or names a
 * module the map does not carry. */
static bool parse_line(struct tally *t, const char *line, size_t len, size_t *name_len,
		       uint32_t *slot)
{
	const char *sp = memchr(line, ' ', len);

	*name_len = sp ? (size_t)(sp - line) : len;
	*slot = 0;
	if (!sp)
		return true;
	if (sp + 3 > line + len || sp[1] != '[' || line[len - 1] != ']')
		return false;
	*slot = module_slot(t, sp + 2, (size_t)(line + len - 1 - (sp + 2)));
	return *slot != UINT32_MAX;
}

static uint32_t canonical_line(struct tally *t, const char *line, size_t len)
{
	size_t name_len;
	uint32_t slot;

	if (!parse_line(t, line, len, &name_len, &slot))
		return 0;
	return canonical(t, line, name_len, slot);
}

static uint32_t canonical_index(struct tally *t, uint32_t index)
{
	return canonical(t, map_name(t->m, index), map_name_len(t->m, index),
			 map_module_of(t->m, index));
}

enum filter_line filter_line_kind(const char *line, size_t len)
{
	const char *colon;

	if (!len || line[0] == '#')
		return FILTER_LINE_NONE;
	colon = memchr(line, ':', len);
	if (!colon)
		return FILTER_LINE_FUNCTION;
	/* "[func]:mod:module"; a probe's command is never "mod" */
	if ((size_t)(line + len - colon) > 5 && memcmp(colon, ":mod:", 5) == 0)
		return FILTER_LINE_MODULE_PATTERN;
	return FILTER_LINE_PROBE;
}

void filter_count_others(const char *text, uint32_t *probes, uint32_t *module_patterns)
{
	*probes = *module_patterns = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		enum filter_line kind = filter_line_kind(p, len);

		*probes += kind == FILTER_LINE_PROBE;
		*module_patterns += kind == FILTER_LINE_MODULE_PATTERN;
		p += len + (nl != NULL);
	}
}

/* Count each function line of @text into the field at @offset; false
 * when one is not in the map. */
static bool tally_text(struct tally *t, const char *text, size_t offset)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (filter_line_kind(p, len) == FILTER_LINE_FUNCTION) {
			uint32_t id = canonical_line(t, p, len);

			if (!id)
				return false;
			(*(uint32_t *)((char *)&t->c[id] + offset))++;
		}
		p += len + (nl != NULL);
	}
	return true;
}

static void tally_set(struct tally *t, const uint32_t *v, size_t n, bool removed)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = canonical_index(t, v[i]);

		if (removed)
			t->c[id].removed++;
		else
			t->c[id].added++;
	}
}

static bool within_bounds(const struct counts *x, uint16_t op)
{
	uint32_t lo, hi;

	switch (op) {
	case FTIDX_OP_SET:
		lo = hi = x->added;
		break;
	case FTIDX_OP_CLEAR:
		lo = hi = 0;
		break;
	case FTIDX_OP_ADD:
		lo = MAX(x->added, x->before > x->removed ? x->before - x->removed : 0);
		hi = MIN(x->total - x->removed, x->before + x->added);
		break;
	default: /* FTIDX_OP_REMOVE */
		lo = x->before > x->removed ? x->before - x->removed : 0;
		hi = MIN(x->before, x->total - x->removed);
		break;
	}
	return x->after >= lo && x->after <= hi;
}

int readback_verify(const struct map *m, uint16_t op, const struct resolution *res,
		    const char *before, const char *after, const char **why)
{
	bool keeps_before = op == FTIDX_OP_ADD || op == FTIDX_OP_REMOVE;
	struct tally t = { .m = m };
	int r = 0;

	/* Every canonical index is touched at most once. */
	t.c = calloc(map_size(m) + 1, sizeof(*t.c));
	t.touched = malloc(sizeof(*t.touched) * (map_size(m) + 1));
	if (!t.c || !t.touched) {
		r = -ENOMEM;
		goto done;
	}
	tally_set(&t, res->enable, res->n_enable, op == FTIDX_OP_REMOVE);
	if (op == FTIDX_OP_ADD)
		tally_set(&t, res->disable, res->n_disable, true);
	/* A line the map does not carry means another writer or a stale map. */
	if (keeps_before && !tally_text(&t, before, offsetof(struct counts, before))) {
		*why = "the filter held functions the map does not know";
		r = -EIO;
		goto done;
	}
	if (!tally_text(&t, after, offsetof(struct counts, after))) {
		*why = "the filter read back holds a function the map does not know";
		r = -EIO;
		goto done;
	}
	for (size_t i = 0; i < t.n_touched; i++) {
		if (!within_bounds(&t.c[t.touched[i]], op)) {
			*why = "the filter read back differs from what was written";
			r = -EIO;
			break;
		}
	}
done:
	free(t.c);
	free(t.touched);
	return r;
}

int readback_verify_count(uint16_t op, const struct resolution *res, const char *after,
			  const char **why)
{
	size_t n = 0;

	for (const char *p = after; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		n += filter_line_kind(p, len) == FILTER_LINE_FUNCTION;
		p += len + (nl != NULL);
	}
	if ((op == FTIDX_OP_SET && n != res->n_enable) || (op == FTIDX_OP_CLEAR && n != 0)) {
		*why = "the filter read back holds another number of functions than was written";
		return -EIO;
	}
	return 0;
}

ssize_t readback_line_indices(const struct map *m, const char *line, size_t len, uint32_t **out)
{
	struct tally t = { .m = m };
	uint32_t slot, pos, count, *v;
	size_t name_len, n = 0;

	*out = NULL;
	if (!parse_line(&t, line, len, &name_len, &slot) ||
	    !map_find_name(m, line, name_len, map_hash_name(line, name_len), &pos, &count))
		return 0;
	v = malloc(sizeof(*v) * count);
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < count; k++)
		if (map_sorted_module_of(m, pos + k) == slot)
			v[n++] = map_sorted_at(m, pos + k);
	*out = v;
	return (ssize_t)n;
}

/* The first index past @after that carries this line, or 0. A name's run
 * in the sorted view is in index order, so the first fit is the least. */
static uint32_t next_index_of_line(struct tally *t, const char *line, size_t len, uint32_t after)
{
	uint32_t slot, pos, count;
	size_t name_len;

	if (!parse_line(t, line, len, &name_len, &slot) ||
	    !map_find_name(t->m, line, name_len, map_hash_name(line, name_len), &pos, &count))
		return 0;
	for (uint32_t k = 0; k < count; k++) {
		uint32_t index = map_sorted_at(t->m, pos + k);

		if (map_sorted_module_of(t->m, pos + k) == slot && index > after)
			return index;
	}
	return 0;
}

ssize_t readback_filter_indices(const struct map *m, const char *text, uint32_t **out,
				size_t *unmatched)
{
	struct tally t = { .m = m };
	size_t n = 0, cap = 0;
	uint32_t last = 0, *v = NULL;
	const char *line = text;

	*out = NULL;
	*unmatched = 0;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		bool is_function = filter_line_kind(line, len) == FILTER_LINE_FUNCTION;
		uint32_t index = is_function ? next_index_of_line(&t, line, len, last) : 0;

		if (index) {
			if (n == cap) {
				uint32_t *grown = realloc(v, sizeof(*v) * (cap = cap ? cap * 2 : 256));

				if (!grown) {
					free(v);
					return -ENOMEM;
				}
				v = grown;
			}
			v[n++] = last = index;
		} else if (is_function) {
			(*unmatched)++;
		}
		line += len + (nl ? 1 : 0);
	}
	*out = v;
	return (ssize_t)n;
}
