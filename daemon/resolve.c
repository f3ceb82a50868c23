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
 *
 * Slices: the batch is a cursor over its tokens, and a scan a cursor over
 * the lines, so that resolver_run() can stop between any two tokens, or
 * every SCAN_STEP lines of a scan, and go on later where it stopped. Work
 * is counted (a token, a match applied, a line scanned) and the clock is
 * read only every CHECK_WORK units, so that a batch of exact names pays
 * next to nothing for being interruptible.
 *
 * Repeats: the tokens that cost more than a lookup (any with '*', '?',
 * '[', '\\' or ':') are sorted first, and of identical ones only one is
 * resolved. Later tokens override earlier ones line by line, and every
 * occurrence of a token touches the same lines, so the last occurrence
 * alone decides what the batch does with them: the earlier ones are only
 * given its result. With per-token sets every occurrence needs its own
 * copy of the lines anyway: the first is resolved and later ones repeat
 * its record. The sort is a radix sort, so crafted tokens cannot make it
 * slow, as they could a hash table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "macro.h"
#include "pattern.h"
#include "resolve.h"
#include "strsort.h"

#define CHECK_WORK 4096
#define SCAN_STEP 2048

struct bitmaps {
	uint64_t *touched;
	uint64_t *enabled;
	/* per-token matches, when asked for: @n_rec of @limit used */
	uint32_t *rec;
	size_t n_rec, cap_rec, limit;
	bool overflow;
};

static void apply_bit(struct bitmaps *b, bool remove, uint32_t index)
{
	uint32_t i = index - 1;
	uint64_t bit = UINT64_C(1) << (i % 64);

	b->touched[i / 64] |= bit;
	if (remove)
		b->enabled[i / 64] &= ~bit;
	else
		b->enabled[i / 64] |= bit;
}

static void apply(struct bitmaps *b, const struct pattern *p, uint32_t index, uint32_t *count)
{
	apply_bit(b, p->remove, index);
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

struct resolver {
	const struct map *m;
	struct glob_rules rules;
	const char *const *tokens;
	size_t n;
	size_t words; /* of each bitmap */
	struct bitmaps b;
	bool *all_ok; /* module verdicts of a token without ":mod:" */
	struct resolution out;
	/* per token, the occurrence resolved for it (itself, mostly); NULL
	 * when nothing repeats */
	uint32_t *stand_in;
	bool keep_first; /* per-token sets: the first occurrence is resolved */

	size_t next; /* the token being resolved; those before it are done */
	struct token_hint hints[2 * LOOKAHEAD];
	unsigned work; /* since the clock was last read */

	/* a scan of token @next in progress */
	bool scanning;
	struct pattern p;
	bool *mod_ok;     /* its module verdicts; NULL: all_ok */
	uint32_t scan_at; /* the next line to test */
	uint32_t *hits;   /* map_size() entries, shared by every scan */
	uint32_t n_hits;
	uint64_t scanned;
};

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

static bool past(uint64_t deadline_ns)
{
	return deadline_ns != UINT64_MAX && now_ns() >= deadline_ns;
}

static void token_fail(struct resolver *rs, struct resolve_item *item, int r)
{
	item->status = r == -EDOM ? -EINVAL : r;
	item->why = r == -EDOM ? (rs->rules.class_end == GLOB_CLASS_END_UNKNOWN
					  ? "a negated class [!...] meets the end of a name, "
					    "and how this kernel matches that is not known "
					    "(see ftidx status); avoid '!' in classes"
					  : "the kernel's answer for this glob is not "
					    "determined: a negated class [!...] can meet the "
					    "end of a name, where the kernel reads past it; end "
					    "the pattern with '*' after the class, or avoid "
					    "'!'")
			       : "out of memory";
}

/* Start token @i: done at once (0), or a scan of the lines to run
 * (RESOLVE_MORE). */
static int token_begin(struct resolver *rs, size_t i, const struct token_hint *hint)
{
	struct resolve_item *item = &rs->out.items[i];
	struct pattern *p = &rs->p;
	int r;

	item->status = pattern_parse(p, rs->tokens[i], &item->why);
	if (item->status < 0)
		return 0;
	if (p->is_index) {
		if (p->index > map_size(rs->m)) {
			item->status = -ERANGE;
			item->why = "index past the last line";
		} else if (map_is_placeholder(rs->m, p->index)) {
			item->status = -EPERM;
			item->why = "placeholder of a discarded weak function, never enabled";
		} else {
			apply(&rs->b, p, p->index, &item->matches);
		}
		return 0;
	}
	free(rs->mod_ok);
	rs->mod_ok = NULL;
	r = p->has_module ? module_verdicts(rs->m, &rs->rules, p, &rs->mod_ok) : 0;
	if (r < 0) {
		token_fail(rs, item, r);
		return 0;
	}
	if ((p->func.kind == GLOB_FULL || p->func.kind == GLOB_PREFIX) && p->func.len > 0) {
		resolve_name(rs->m, p, rs->mod_ok ? rs->mod_ok : rs->all_ok, hint, &rs->b,
			     &item->matches);
		rs->work += item->matches;
		return 0;
	}
	if (!rs->hits && !(rs->hits = malloc(sizeof(*rs->hits) * (map_size(rs->m) + 1)))) {
		token_fail(rs, item, -ENOMEM);
		return 0;
	}
	rs->scanning = true;
	rs->scan_at = 1;
	rs->n_hits = 0;
	return RESOLVE_MORE;
}

/*
 * Go on with the scan of token @i: done (0), or stopped at the deadline
 * (RESOLVE_MORE), having tested at least SCAN_STEP lines. If the kernel's
 * answer for some line is not determined (see glob.c), the token fails
 * and nothing of it is applied.
 */
static int token_scan(struct resolver *rs, size_t i, uint64_t deadline_ns)
{
	const struct map *m = rs->m;
	const struct pattern *p = &rs->p;
	const bool *mod_ok = rs->mod_ok ? rs->mod_ok : rs->all_ok;
	/* With a module, an empty function part means every function. */
	bool any_name = p->has_module && p->func.len == 0;
	struct resolve_item *item = &rs->out.items[i];
	uint32_t size = map_size(m), from = rs->scan_at;

	for (uint32_t index = from; index <= size; index++) {
		int hit;

		if (index - from >= SCAN_STEP && index % SCAN_STEP == 0 && past(deadline_ns)) {
			rs->scanned += index - from;
			rs->scan_at = index;
			return RESOLVE_MORE;
		}
		if (map_is_placeholder(m, index) || !mod_ok[map_module_of(m, index)])
			continue;
		hit = any_name ? GLOB_MATCH
			       : glob_matches(&p->func, &rs->rules, map_name(m, index),
					      map_name_len(m, index));
		if (hit == GLOB_UNDEFINED) {
			rs->scanned += index - from + 1;
			rs->scanning = false;
			token_fail(rs, item, -EDOM);
			return 0;
		}
		if (hit == GLOB_MATCH)
			rs->hits[rs->n_hits++] = index;
	}
	for (uint32_t k = 0; k < rs->n_hits; k++)
		apply(&rs->b, p, rs->hits[k], &item->matches);
	rs->scanning = false;
	rs->scanned += size - from + 1;
	rs->work += size - from + 1;
	return 0;
}

/* Room for @more matches in the record, up to its limit. */
static int reserve_record(struct bitmaps *b, size_t more)
{
	size_t want = MIN(b->n_rec + more, b->limit);
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

/* Token @i is done: its verdict, and its own sorted record. */
static void token_end(struct resolver *rs, size_t i)
{
	struct resolve_item *item = &rs->out.items[i];

	if (item->status == 0 && item->matches == 0) {
		item->status = -ENOENT;
		item->why = "matches no function";
	}
	rs->out.n_failed += item->status < 0;
	if (rs->b.rec) {
		size_t from = rs->out.token_set_start[i];

		qsort(rs->b.rec + from, rs->b.n_rec - from, sizeof(*rs->b.rec), cmp_u32);
		rs->out.token_set_start[i + 1] = (uint32_t)rs->b.n_rec;
	}
}

/* A repeat of earlier token @first, with per-token sets: its record
 * again, applied again at this place in the batch. */
static int token_repeat(struct resolver *rs, size_t i, size_t first)
{
	struct bitmaps *b = &rs->b;
	size_t from = rs->out.token_set_start[first];
	size_t len = rs->out.token_set_start[first + 1] - from;
	bool remove = rs->tokens[i][0] == '!';
	int r = reserve_record(b, len);

	if (r < 0)
		return r;
	rs->out.items[i] = rs->out.items[first];
	rs->out.n_failed += rs->out.items[i].status < 0;
	for (size_t k = 0; k < len; k++)
		apply_bit(b, remove, b->rec[from + k]);
	if (b->n_rec + len > b->limit) {
		b->overflow = true;
		len = b->limit - b->n_rec;
	}
	memcpy(b->rec + b->n_rec, b->rec + from, sizeof(*b->rec) * len);
	b->n_rec += len;
	rs->out.token_set_start[i + 1] = (uint32_t)b->n_rec;
	rs->work += (unsigned)len + 1;
	return 0;
}

static bool costly(const char *token)
{
	return strpbrk(token, "*?[\\:") != NULL;
}

/* Which costly tokens repeat, and which occurrence stands for each
 * (see the top of this file). 0 or -ENOMEM. */
static int find_repeats(struct resolver *rs)
{
	_cleanup_free_ struct strsort_item *v = NULL;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < rs->n; i++)
		n += costly(rs->tokens[i]);
	if (n < 2)
		return 0;
	v = malloc(sizeof(*v) * n);
	rs->stand_in = malloc(sizeof(*rs->stand_in) * rs->n);
	if (!v || !rs->stand_in)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < rs->n; i++) {
		rs->stand_in[i] = (uint32_t)i;
		if (costly(rs->tokens[i]))
			v[n++] = (struct strsort_item){ rs->tokens[i],
							(uint32_t)strlen(rs->tokens[i]),
							(uint32_t)i };
	}
	r = strsort(v, n);
	if (r < 0)
		return r;
	/* Equal strings keep their order: a run's first item is the first
	 * occurrence, its last item the last. */
	for (size_t at = 0, end; at < n; at = end) {
		uint32_t keep;

		for (end = at + 1; end < n && v[end].len == v[at].len &&
				   memcmp(v[end].s, v[at].s, v[at].len) == 0;
		     end++)
			;
		keep = rs->keep_first ? v[at].id : v[end - 1].id;
		for (size_t k = at; k < end; k++)
			rs->stand_in[v[k].id] = keep;
	}
	return 0;
}

int resolver_new(struct resolver **out, const struct map *m, const struct glob_rules *rules,
		 const char *const *tokens, size_t n, size_t limit)
{
	struct resolver *rs = calloc(1, sizeof(*rs));
	int r = -ENOMEM;

	*out = NULL;
	if (!rs)
		return -ENOMEM;
	rs->m = m;
	rs->rules = *rules;
	rs->tokens = tokens;
	rs->n = n;
	rs->words = (map_size(m) + 63) / 64 + 1;
	rs->keep_first = limit > 0;
	rs->b.touched = calloc(rs->words, sizeof(uint64_t));
	rs->b.enabled = calloc(rs->words, sizeof(uint64_t));
	rs->out.items = calloc(n ? n : 1, sizeof(*rs->out.items));
	rs->out.n_items = n;
	/* Tokens without ":mod:" accept every module slot. */
	rs->all_ok = malloc(map_module_count(m) + 1);
	if (!rs->b.touched || !rs->b.enabled || !rs->out.items || !rs->all_ok)
		goto fail;
	memset(rs->all_ok, true, map_module_count(m) + 1);
	if (limit) {
		/* grown by what the batch matches, not by what it could */
		rs->b.limit = limit;
		rs->b.cap_rec = MIN(limit, (size_t)map_size(m) + 1);
		rs->b.rec = malloc(sizeof(uint32_t) * rs->b.cap_rec);
		rs->out.token_set_start = malloc(sizeof(uint32_t) * (n + 1));
		if (!rs->b.rec || !rs->out.token_set_start)
			goto fail;
		rs->out.token_set_start[0] = 0;
	}
	r = find_repeats(rs);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < n && i < 2 * LOOKAHEAD; i++)
		hint_init(&rs->hints[i], m, tokens[i]);
	*out = rs;
	return 0;
fail:
	resolver_free(rs);
	return r;
}

int resolver_run(struct resolver *rs, uint64_t deadline_ns)
{
	while (rs->next < rs->n) {
		size_t i = rs->next;
		size_t stand_in = rs->stand_in ? rs->stand_in[i] : i;
		struct token_hint *hint = &rs->hints[i % (2 * LOOKAHEAD)];
		int r = 0;

		if (rs->scanning) {
			if (token_scan(rs, i, deadline_ns) == RESOLVE_MORE)
				return RESOLVE_MORE;
			token_end(rs, i);
		} else if (stand_in != i) {
			/* resolved once, for all its occurrences */
			if (rs->keep_first)
				r = token_repeat(rs, i, stand_in);
		} else {
			if (i + LOOKAHEAD < rs->n)
				map_prefetch_name(rs->m,
						  rs->hints[(i + LOOKAHEAD) % (2 * LOOKAHEAD)].hash,
						  true);
			if (rs->b.rec)
				r = reserve_record(&rs->b, map_size(rs->m));
			if (r == 0 && token_begin(rs, i, hint) == RESOLVE_MORE)
				continue; /* the scan, at the top of the loop */
			if (r == 0)
				token_end(rs, i);
		}
		if (r < 0)
			return r;
		/* This slot is free now: hash the token 2 * LOOKAHEAD ahead. */
		if (i + 2 * LOOKAHEAD < rs->n)
			hint_init(hint, rs->m, rs->tokens[i + 2 * LOOKAHEAD]);
		rs->next++;
		if (++rs->work >= CHECK_WORK) {
			rs->work = 0;
			if (rs->next < rs->n && past(deadline_ns))
				return RESOLVE_MORE;
		}
	}
	return 0;
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

int resolver_finish(struct resolver *rs, struct resolution *out)
{
	int r;

	*out = rs->out;
	rs->out = (struct resolution){ 0 };
	out->token_sets = steal_ptr(&rs->b.rec);
	/* the earlier occurrences of a repeated token: the last one's verdict */
	for (size_t i = 0; rs->stand_in && !rs->keep_first && i < rs->n; i++) {
		if (rs->stand_in[i] == i)
			continue;
		out->items[i] = out->items[rs->stand_in[i]];
		out->n_failed += out->items[i].status < 0;
	}
	if (rs->b.overflow)
		return -E2BIG;
	r = collect(rs->b.touched, rs->b.enabled, true, rs->words, &out->enable, &out->n_enable);
	if (r < 0)
		return r;
	return collect(rs->b.touched, rs->b.enabled, false, rs->words, &out->disable,
		       &out->n_disable);
}

size_t resolver_done(const struct resolver *rs)
{
	return rs->next;
}

uint64_t resolver_lines_scanned(const struct resolver *rs)
{
	return rs->scanned;
}

size_t resolver_bytes(const struct resolver *rs)
{
	return sizeof(*rs) + 2 * rs->words * sizeof(uint64_t) +
	       rs->n * (sizeof(*rs->out.items) + (rs->stand_in ? sizeof(uint32_t) : 0)) +
	       (rs->hits ? (size_t)map_size(rs->m) * sizeof(uint32_t) : 0) +
	       rs->b.cap_rec * sizeof(uint32_t);
}

struct resolver *resolver_free(struct resolver *rs)
{
	if (!rs)
		return NULL;
	free(rs->b.touched);
	free(rs->b.enabled);
	free(rs->b.rec);
	free(rs->all_ok);
	free(rs->mod_ok);
	free(rs->hits);
	free(rs->stand_in);
	resolution_deinit(&rs->out);
	free(rs);
	return NULL;
}

static int resolve(const struct map *m, const struct glob_rules *rules, const char *const *tokens,
		   size_t n, size_t limit, struct resolution *out)
{
	struct resolver *rs;
	int r = resolver_new(&rs, m, rules, tokens, n, limit);

	*out = (struct resolution){ 0 };
	if (r == 0)
		r = resolver_run(rs, UINT64_MAX);
	if (r == 0)
		r = resolver_finish(rs, out);
	resolver_free(rs);
	return r;
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
