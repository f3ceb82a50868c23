/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The resolver (see resolve.h).
 *
 * Cost: a full name is one probe of the map's name index, O(1); a prefix
 * is a binary search in the sorted view, O(log m); other globs and ":mod:"
 * forms without a name scan the m lines once. A ":mod:" part is decided
 * once per module, not once per line. Outcomes go into two bitmaps of m bits ("touched", "enabled")
 * so that order, duplicates and removals cost nothing extra, and reading
 * the bitmaps back yields sorted, de-duplicated sets.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "pattern.h"
#include "resolve.h"

struct bitmaps {
	uint64_t *touched;
	uint64_t *enabled;
	/* per-token matches, when asked for: @n_rec of @limit used */
	uint32_t *rec;
	size_t n_rec, cap_rec, limit;
	bool overflow;
};

static void apply(struct bitmaps *b, const struct pattern *p, uint32_t index, uint32_t *count)
{
	uint32_t i = index - 1;
	uint64_t bit = UINT64_C(1) << (i % 64);

	b->touched[i / 64] |= bit;
	if (p->remove)
		b->enabled[i / 64] &= ~bit;
	else
		b->enabled[i / 64] |= bit;
	(*count)++;
	if (b->rec) {
		if (b->n_rec < b->limit)
			b->rec[b->n_rec++] = index;
		else
			b->overflow = true;
	}
}

/*
 * Most large batches are exact names, and each costs a few cache misses
 * (name index slot, text, sorted run). The batch loop hashes each token
 * once, LOOKAHEAD tokens ahead, and prefetches in two stages so that the
 * misses of neighbouring tokens overlap instead of adding up.
 */
#define LOOKAHEAD 8

struct token_hint {
	const char *text;
	size_t len;
	uint32_t hash;
};

static void hint_init(struct token_hint *hint, const struct map *m, const char *token)
{
	hint->text = token;
	hint->len = strlen(token);
	hint->hash = map_hash_name(token, hint->len);
	map_prefetch_name(m, hint->hash, false);
}

/*
 * The kernel's module test (ftrace_match_record()) for module slot @slot
 * (0: the core kernel).
 */
static int module_slot_matches(const struct map *m, const struct glob_rules *rules,
			       const struct pattern *p, uint32_t slot)
{
	const char *mod;
	int hit;

	if (!p->has_module)
		return GLOB_MATCH;
	if (p->module.len == 0)
		return p->module_exclude ? slot == 0 : slot != 0;
	mod = slot ? map_module_name(m, slot - 1) : NULL;
	hit = mod ? glob_matches(&p->module, rules, mod, strlen(mod)) : GLOB_NO_MATCH;
	if (hit == GLOB_UNDEFINED)
		return hit;
	return hit != p->module_exclude;
}

/* Verdict per module slot, so that each line's test is one load. Returns
 * 0, -ENOMEM, or -EDOM when the kernel's answer for a module is not
 * determined (see glob.c). */
static int module_verdicts(const struct map *m, const struct glob_rules *rules,
			   const struct pattern *p, bool **out)
{
	uint32_t n = map_module_count(m) + 1;
	bool *v = malloc(n);

	if (!v)
		return -ENOMEM;
	for (uint32_t slot = 0; slot < n; slot++) {
		int hit = module_slot_matches(m, rules, p, slot);

		if (hit == GLOB_UNDEFINED) {
			free(v);
			return -EDOM;
		}
		v[slot] = hit;
	}
	*out = v;
	return 0;
}

static void resolve_name(const struct map *m, const struct pattern *p, const bool *mod_ok,
			 const struct token_hint *hint, struct bitmaps *b, uint32_t *count)
{
	const struct glob *g = &p->func;
	uint32_t pos, n;

	if (g->kind == GLOB_FULL) {
		/* The hint hashed the whole token: valid when that is the name. */
		uint32_t h = hint->text == g->text && hint->len == g->len
				     ? hint->hash
				     : map_hash_name(g->text, g->len);

		if (!map_find_name(m, g->text, g->len, h, &pos, &n))
			return;
		n += pos;
	} else {
		pos = map_sorted_lower_bound(m, g->text, g->len);
		n = map_sorted_count(m);
	}
	for (; pos < n; pos++) {
		uint32_t index = map_sorted_at(m, pos);

		if (g->kind == GLOB_PREFIX && (map_sorted_name_len(m, pos) < g->len ||
					       memcmp(map_name(m, index), g->text, g->len) != 0))
			break;
		if (mod_ok[map_sorted_module_of(m, pos)])
			apply(b, p, index, count);
	}
}

/* Scan every line. Returns -EDOM, applying nothing, if the kernel's answer
 * for some line is not determined (see glob.c). */
static int resolve_scan(const struct map *m, const struct glob_rules *rules,
			const struct pattern *p, const bool *mod_ok, struct bitmaps *b, uint32_t *count)
{
	/* With a module, an empty function part means every function. */
	bool any_name = p->has_module && p->func.len == 0;
	_cleanup_free_ uint32_t *hits = NULL;
	uint32_t n = 0;

	for (uint32_t index = 1; index <= map_size(m); index++) {
		int hit;

		if (map_is_placeholder(m, index) || !mod_ok[map_module_of(m, index)])
			continue;
		hit = any_name ? GLOB_MATCH
			       : glob_matches(&p->func, rules, map_name(m, index),
					      map_name_len(m, index));
		if (hit == GLOB_UNDEFINED)
			return -EDOM;
		if (hit == GLOB_MATCH) {
			if (!hits && !(hits = malloc(sizeof(*hits) * map_size(m))))
				return -ENOMEM;
			hits[n++] = index;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		apply(b, p, hits[i], count);
	return 0;
}

static void resolve_one(const struct map *m, const struct glob_rules *rules, const char *token,
			const bool *all_ok, const struct token_hint *hint, struct bitmaps *b,
			struct resolve_item *item)
{
	_cleanup_free_ bool *mod_ok = NULL;
	struct pattern p;
	int r;

	item->status = pattern_parse(&p, token, &item->why);
	if (item->status < 0)
		return;

	if (p.is_index) {
		if (p.index > map_size(m)) {
			item->status = -ERANGE;
			item->why = "index past the last line";
		} else if (map_is_placeholder(m, p.index)) {
			item->status = -EPERM;
			item->why = "placeholder of a discarded weak function, never enabled";
		} else {
			apply(b, &p, p.index, &item->matches);
		}
		return;
	}

	r = p.has_module ? module_verdicts(m, rules, &p, &mod_ok) : 0;
	if (r == 0 && (p.func.kind == GLOB_FULL || p.func.kind == GLOB_PREFIX) && p.func.len > 0)
		resolve_name(m, &p, mod_ok ? mod_ok : all_ok, hint, b, &item->matches);
	else if (r == 0)
		r = resolve_scan(m, rules, &p, mod_ok ? mod_ok : all_ok, b, &item->matches);
	if (r < 0) {
		item->status = r == -EDOM ? -EINVAL : r;
		item->why = r == -EDOM ? (rules->class_end == GLOB_CLASS_END_UNKNOWN
						  ? "a negated class [!...] meets the end of a name, "
						    "and how this kernel matches that is not known "
						    "(see ftidx status); avoid '!' in classes"
						  : "the kernel's answer for this glob is not "
						    "determined: a negated class [!...] can meet the "
						    "end of a name, where the kernel reads past it; end "
						    "the pattern with '*' after the class, or avoid "
						    "'!'")
				       : "out of memory";
		return;
	}

	if (item->matches == 0) {
		item->status = -ENOENT;
		item->why = "matches no function";
	}
}

static int collect(const uint64_t *touched, const uint64_t *enabled, bool want, size_t words,
		   uint32_t **out, size_t *n_out)
{
	size_t n = 0;
	uint32_t *v;

	for (size_t w = 0; w < words; w++)
		n += (size_t)__builtin_popcountll(touched[w] & (want ? enabled[w] : ~enabled[w]));
	v = malloc(sizeof(*v) * (n ? n : 1));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t w = 0; w < words; w++) {
		uint64_t bits = touched[w] & (want ? enabled[w] : ~enabled[w]);

		while (bits) {
			v[n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits) + 1);
			bits &= bits - 1;
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* Room for one more token's matches (at most a map's worth) in the record,
 * up to its limit. */
static int reserve_record(struct bitmaps *b, uint32_t map_lines)
{
	size_t want = MIN(b->n_rec + map_lines, b->limit);
	size_t cap = MIN(MAX(want, b->cap_rec * 2), b->limit);
	uint32_t *grown;

	if (want <= b->cap_rec)
		return 0;
	grown = realloc(b->rec, sizeof(*grown) * cap);
	if (!grown)
		return -ENOMEM;
	b->rec = grown;
	b->cap_rec = cap;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Per-token sets wanted: @limit > 0. */
static int resolve(const struct map *m, const struct glob_rules *rules, const char *const *tokens,
		   size_t n, size_t limit, struct resolution *out)
{
	size_t words = (map_size(m) + 63) / 64 + 1;
	_cleanup_free_ uint64_t *touched = NULL;
	_cleanup_free_ uint64_t *enabled = NULL;
	_cleanup_free_ bool *all_ok = NULL;
	struct token_hint hints[2 * LOOKAHEAD];
	struct bitmaps b;
	int r = 0;

	*out = (struct resolution){ 0 };
	touched = calloc(words, sizeof(*touched));
	enabled = calloc(words, sizeof(*enabled));
	out->items = calloc(n ? n : 1, sizeof(*out->items));
	/* Tokens without ":mod:" accept every module slot. */
	all_ok = malloc(map_module_count(m) + 1);
	if (!touched || !enabled || !out->items || !all_ok)
		return -ENOMEM;
	memset(all_ok, true, map_module_count(m) + 1);
	out->n_items = n;
	b = (struct bitmaps){ touched, enabled };
	if (limit) {
		/* grown by what the batch matches, not by what it could */
		b.limit = limit;
		out->token_set_start = malloc(sizeof(uint32_t) * (n + 1));
		b.cap_rec = MIN(limit, (size_t)map_size(m) + 1);
		b.rec = malloc(sizeof(uint32_t) * b.cap_rec);
		if (!out->token_set_start || !b.rec) {
			free(b.rec);
			return -ENOMEM;
		}
		out->token_set_start[0] = 0;
	}

	for (size_t i = 0; i < n && i < 2 * LOOKAHEAD; i++)
		hint_init(&hints[i], m, tokens[i]);
	for (size_t i = 0; i < n; i++) {
		struct token_hint *hint = &hints[i % (2 * LOOKAHEAD)];

		if (i + LOOKAHEAD < n)
			map_prefetch_name(m, hints[(i + LOOKAHEAD) % (2 * LOOKAHEAD)].hash, true);
		if (b.rec) {
			r = reserve_record(&b, map_size(m));
			if (r < 0)
				break;
		}
		resolve_one(m, rules, tokens[i], all_ok, hint, &b, &out->items[i]);
		/* This slot is free now: hash the token 2 * LOOKAHEAD ahead. */
		if (i + 2 * LOOKAHEAD < n)
			hint_init(hint, m, tokens[i + 2 * LOOKAHEAD]);
		out->n_failed += out->items[i].status < 0;
		if (b.rec) {
			size_t from = out->token_set_start[i];

			qsort(b.rec + from, b.n_rec - from, sizeof(*b.rec), cmp_u32);
			out->token_set_start[i + 1] = (uint32_t)b.n_rec;
		}
	}
	out->token_sets = b.rec;
	if (b.overflow)
		return -E2BIG;
	if (r < 0)
		return r;

	r = collect(touched, enabled, true, words, &out->enable, &out->n_enable);
	if (r < 0)
		return r;
	return collect(touched, enabled, false, words, &out->disable, &out->n_disable);
}

int resolve_batch(const struct map *m, const struct glob_rules *rules, const char *const *tokens,
		  size_t n, struct resolution *out)
{
	return resolve(m, rules, tokens, n, 0, out);
}

int resolve_batch_per_token(const struct map *m, const struct glob_rules *rules,
			    const char *const *tokens, size_t n, size_t limit,
			    struct resolution *out)
{
	return resolve(m, rules, tokens, n, MAX(limit, (size_t)1), out);
}

void resolution_deinit(struct resolution *r)
{
	free(r->items);
	free(r->enable);
	free(r->disable);
	free(r->token_sets);
	free(r->token_set_start);
	*r = (struct resolution){ 0 };
}
