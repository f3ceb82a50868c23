/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The index map (see map.h).
 *
 * Memory: the text the kernel gave us is kept as the name arena; parsing
 * only writes terminators into it. Each line then costs a 12-byte entry,
 * a 16-byte record in the sorted view, a share of the name index (12 bytes
 * a slot, at most three quarters full) and, when the kernel lists addresses, 8 more.
 *
 * Speed: sorted-view records carry the first 8 name bytes as a big-endian
 * integer, so the sort, the binary search and run detection compare
 * integers in contiguous memory and touch the text only when prefixes tie.
 * Exact names skip the search altogether through the hash index of
 * distinct names, which maps a name to its run in the sorted view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "macro.h"
#include "growbuf.h"
#include "map.h"
#include "pattern.h"
#include "strsort.h"
#include "tracing.h"

#define ENTRY_PLACEHOLDER 0x1

struct map_entry {
	uint32_t name_off;
	uint16_t name_len;
	uint16_t module; /* 0: core kernel, else module table slot + 1 */
	uint8_t flags;
};

/* One resolvable line in the sorted view. */
struct map_sorted {
	uint64_t prefix; /* first 8 name bytes, big-endian, zero-padded */
	uint32_t entry;  /* 0-based line */
	uint16_t name_len;
	uint16_t module;
};

/* One distinct name: where its run starts in the sorted view, how long it
 * is, and its text (so that a lookup checks the name in one more load). */
struct map_name_slot {
	uint32_t hash; /* 0: empty slot */
	uint32_t pos;
	uint32_t count;
	uint32_t name_off;
};

struct map_module {
	const char *name;
	size_t len;
};

struct map {
	char *buf;
	size_t buf_len;
	struct map_entry *entries;
	uint64_t *addrs; /* NULL unless the kernel listed addresses */
	uint32_t n_entries;
	struct map_sorted *sorted;
	uint32_t n_sorted;
	struct map_name_slot *names; /* open addressing, power-of-two size */
	uint32_t names_mask;
	struct map_module *modules;
	uint32_t n_modules;
	struct map_stats stats;
	unsigned extra_refs; /* map_ref()s not yet matched by a map_free() */
};

/* A multiplicative hash, 8 bytes a step (names average some 25 bytes),
 * folded to 32 bits and never 0 (0 marks an empty slot). Whole words are
 * fixed-size loads; the zero-padded tail is mixed in the same way. */
static uint64_t hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

uint32_t map_hash_name(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = hash_mix(h, w);
	}
	if (i < len) {
		w = 0;
		memcpy(&w, s + i, len - i);
		h = hash_mix(h, w);
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)h ? (uint32_t)h : 1;
}

static const char *sorted_name(const struct map *m, const struct map_sorted *e)
{
	return m->buf + m->entries[e->entry].name_off;
}

/*
 * The name index, filled while parsing: each resolvable line's name is
 * looked up and, if new, given the next id. The text is read in line
 * order, so this pass is sequential; only distinct names are sorted later.
 */
struct name_table {
	struct map_name_slot *slots; /* during the build: {hash, id, count} */
	uint32_t mask;
	uint32_t *first; /* per id: the first line that carries the name */
	uint32_t n, cap;
};

static int name_table_grow(struct name_table *t)
{
	uint32_t size = (t->mask + 1) * 2;
	struct map_name_slot *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->mask; i++) {
		uint32_t j = t->slots[i].hash & (size - 1);

		if (!t->slots[i].hash)
			continue;
		while (slots[j].hash)
			j = (j + 1) & (size - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->mask = size - 1;
	return 0;
}

/* Count line @entry under its name; *@id is the name's id. */
static int name_table_add(struct name_table *t, const struct map *m, uint32_t entry, uint32_t *id)
{
	const struct map_entry *e = &m->entries[entry];
	const char *name = m->buf + e->name_off;
	uint32_t h = map_hash_name(name, e->name_len), i;
	int r;

	/* Stay at most three quarters full, so probe sequences stay short. */
	if ((uint64_t)(t->n + 1) * 4 > (uint64_t)(t->mask + 1) * 3) {
		r = name_table_grow(t);
		if (r < 0)
			return r;
	}
	/* The slot's own name_off saves two dependent loads (the name's first
	 * line, then its entry) per line: earlier names are terminated
	 * already, so equal bytes and a NUL after them mean an equal name. */
	for (i = h & t->mask; t->slots[i].hash; i = (i + 1) & t->mask) {
		const char *other = m->buf + t->slots[i].name_off;

		if (t->slots[i].hash == h && memcmp(other, name, e->name_len) == 0 &&
		    other[e->name_len] == '\0') {
			t->slots[i].count++;
			*id = t->slots[i].pos;
			return 0;
		}
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 1024;
		uint32_t *first = realloc(t->first, sizeof(*first) * cap);

		if (!first)
			return -ENOMEM;
		t->first = first;
		t->cap = cap;
	}
	t->first[t->n] = entry;
	t->slots[i] = (struct map_name_slot){ h, t->n, 1, e->name_off };
	*id = t->n++;
	return 0;
}

/*
 * The sorted view from the name ids: sort the distinct names, give each
 * its run (a prefix sum of counts), then place lines in line order, so
 * equal names keep line order. The name index's slots change from
 * {hash, id, count} to {hash, run start, count}.
 */
static int build_sorted_view(struct map *m, struct name_table *t, const uint32_t *ids)
{
	_cleanup_free_ struct strsort_item *items = NULL;
	_cleanup_free_ uint32_t *start = NULL;
	uint32_t *count_of;
	uint32_t pos = 0;
	int r;

	items = malloc(sizeof(*items) * (t->n ? t->n : 1));
	start = malloc(sizeof(*start) * (t->n ? t->n : 1));
	m->sorted = malloc(sizeof(*m->sorted) * (m->n_sorted ? m->n_sorted : 1));
	if (!items || !start || !m->sorted)
		return -ENOMEM;

	for (uint32_t id = 0; id < t->n; id++) {
		const struct map_entry *e = &m->entries[t->first[id]];

		items[id] = (struct strsort_item){ m->buf + e->name_off, e->name_len, id };
	}
	r = strsort(items, t->n);
	if (r < 0)
		return r;

	/* t->first is not needed any more: reuse it for counts by id. */
	count_of = t->first;
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->slots[i].hash)
			count_of[t->slots[i].pos] = t->slots[i].count;
	for (uint32_t rank = 0; rank < t->n; rank++) {
		start[items[rank].id] = pos;
		pos += count_of[items[rank].id];
	}
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->slots[i].hash)
			t->slots[i].pos = start[t->slots[i].pos];

	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct map_entry *e = &m->entries[i];

		if (ids[i] == UINT32_MAX)
			continue;
		m->sorted[start[ids[i]]++] = (struct map_sorted){
			.prefix = strsort_chunk(m->buf + e->name_off, e->name_len, 0),
			.entry = i,
			.name_len = e->name_len,
			.module = e->module,
		};
	}
	m->names = steal_ptr(&t->slots);
	m->names_mask = t->mask;
	m->stats.distinct_names = t->n;
	return 0;
}

static int intern_module(struct map *m, const char *name, size_t len, uint16_t *slot)
{
	struct map_module *mods;

	/* Modules come in contiguous blocks: the last one is nearly always it. */
	for (uint32_t i = m->n_modules; i-- > 0;) {
		if (m->modules[i].len == len && memcmp(m->modules[i].name, name, len) == 0) {
			*slot = (uint16_t)(i + 1);
			return 0;
		}
	}
	if (m->n_modules >= UINT16_MAX - 1)
		return -E2BIG;
	mods = realloc(m->modules, sizeof(*mods) * (m->n_modules + 1));
	if (!mods)
		return -ENOMEM;
	m->modules = mods;
	m->modules[m->n_modules] = (struct map_module){ name, len };
	*slot = (uint16_t)++m->n_modules;
	return 0;
}

static int parse_address(char **p, char *end, uint64_t *addr)
{
	char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s == ' ')
		return -EBADMSG;
	for (; s < end && *s != ' '; s++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
						 : -1;
		if (d < 0 || v >> 60)
			return -EBADMSG;
		v = (v << 4) | (uint64_t)d;
	}
	if (s >= end)
		return -EBADMSG;
	*addr = v;
	*p = s + 1;
	return 0;
}

/* Parse one line [@line, @end) (no newline) into entry @i. */
static int parse_line(struct map *m, char *line, char *end, uint32_t i)
{
	struct map_entry *e = &m->entries[i];
	char *name = line, *sp;
	int r;

	if (m->addrs) {
		r = parse_address(&name, end, &m->addrs[i]);
		if (r < 0)
			return r;
	}
	sp = memchr(name, ' ', (size_t)(end - name));
	if (!sp)
		sp = end;
	if (sp == name || sp - name > UINT16_MAX)
		return -EBADMSG;

	e->name_off = (uint32_t)(name - m->buf);
	e->name_len = (uint16_t)(sp - name);
	e->module = 0;
	e->flags = pattern_is_placeholder_name(name, e->name_len) ? ENTRY_PLACEHOLDER : 0;

	if (sp < end) {
		char *mod = sp + 1;

		/* " [module]" must end the line. */
		if (end - mod < 3 || mod[0] != '[' || end[-1] != ']')
			return -EBADMSG;
		end[-1] = '\0';
		r = intern_module(m, mod + 1, (size_t)(end - mod - 2), &e->module);
		if (r < 0)
			return r;
		m->stats.module_entries++;
	}
	*sp = '\0';
	if (e->flags & ENTRY_PLACEHOLDER)
		m->stats.placeholders++;
	return 0;
}

/* Parse every line; @ids gets each line's name id (UINT32_MAX for a
 * placeholder) and @t the distinct names. */
static int parse_lines(struct map *m, struct name_table *t, uint32_t **ids)
{
	char *p = m->buf, *end = m->buf + m->buf_len;
	uint32_t n = 0;
	int r;

	if (m->buf_len >= UINT32_MAX)
		return -E2BIG;
	for (char *q = p; (q = memchr(q, '\n', (size_t)(end - q))); q++)
		n++;
	if (m->buf_len > 0 && end[-1] != '\n')
		n++;

	m->entries = malloc(sizeof(*m->entries) * (n ? n : 1));
	*ids = malloc(sizeof(**ids) * (n ? n : 1));
	if (!m->entries || !*ids)
		return -ENOMEM;
	if (m->stats.has_addresses) {
		m->addrs = calloc(n ? n : 1, sizeof(*m->addrs));
		if (!m->addrs)
			return -ENOMEM;
	}

	for (uint32_t i = 0; i < n; i++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		r = parse_line(m, p, nl, i);
		if (r < 0)
			return r;
		(*ids)[i] = UINT32_MAX;
		if (!(m->entries[i].flags & ENTRY_PLACEHOLDER)) {
			r = name_table_add(t, m, i, &(*ids)[i]);
			if (r < 0)
				return r;
			m->n_sorted++;
		}
		p = nl + 1;
	}
	m->n_entries = n;
	return 0;
}

int map_new_from_buffer(struct map **out, char *buf, size_t len, bool has_addrs)
{
	struct name_table names = { 0 };
	_cleanup_free_ uint32_t *ids = NULL;
	struct map *m;
	uint64_t start = now_ns();
	int r;

	m = calloc(1, sizeof(*m));
	names.slots = calloc(1024, sizeof(*names.slots));
	if (!m || !names.slots) {
		free(m);
		free(names.slots);
		free(buf);
		return -ENOMEM;
	}
	names.mask = 1023;
	/* One spare byte so that a last line without '\n' can be terminated. */
	m->buf = realloc(buf, len + 1);
	if (!m->buf) {
		m->buf = buf;
		r = -ENOMEM;
		goto fail;
	}
	m->buf[len] = '\0';
	m->buf_len = len;
	m->stats.has_addresses = has_addrs;

	r = parse_lines(m, &names, &ids);
	if (r < 0)
		goto fail;
	r = build_sorted_view(m, &names, ids);
	if (r < 0)
		goto fail;

	m->stats.entries = m->n_entries;
	m->stats.modules = m->n_modules;
	m->stats.build_ns = now_ns() - start;
	m->stats.text_bytes = m->buf_len + 1;
	m->stats.bytes = sizeof(*m) + m->stats.text_bytes + sizeof(*m->entries) * m->n_entries +
			 sizeof(*m->sorted) * m->n_sorted +
			 sizeof(*m->names) * (m->names_mask + 1) +
			 (m->addrs ? sizeof(*m->addrs) * m->n_entries : 0) +
			 sizeof(*m->modules) * m->n_modules;
	free(names.first);
	*out = m;
	return 0;

fail:
	free(names.slots);
	free(names.first);
	map_free(m);
	return r;
}

struct map *map_ref(struct map *m)
{
	m->extra_refs++;
	return m;
}

struct map *map_free(struct map *m)
{
	if (!m)
		return NULL;
	if (m->extra_refs) {
		m->extra_refs--;
		return NULL;
	}
	free(m->buf);
	free(m->entries);
	free(m->addrs);
	free(m->sorted);
	free(m->names);
	free(m->modules);
	free(m);
	return NULL;
}

/*
 * A module load or unload during the read can tear it: the kernel serves
 * the file in several read() calls. dyn_ftrace_total_info's first number is
 * the record count; when it is the same before and after and equals the
 * number of lines read, nothing changed in between.
 */
#define MAP_LOAD_TRIES 5

int map_load(struct map **out, const atomic_bool *cancel)
{
	static const atomic_bool never = false;

	if (!cancel)
		cancel = &never;
	for (int attempt = 0; attempt < MAP_LOAD_TRIES; attempt++) {
		unsigned long before, after;
		bool has_addrs = tracing_file_exists(NULL, TRACING_AFF_ADDRS);
		char *buf = NULL;
		size_t len;
		struct map *m;
		int r;

		r = tracing_read_record_count(&before);
		if (r < 0)
			return r;
		r = tracing_read_file_cancellable(NULL, has_addrs ? TRACING_AFF_ADDRS : TRACING_AFF,
						  cancel, &buf, &len);
		if (r < 0)
			return r;
		r = tracing_read_record_count(&after);
		if (r < 0) {
			free(buf);
			return r;
		}
		if (before != after) {
			free(buf);
			continue;
		}
		r = map_new_from_buffer(&m, buf, len, has_addrs);
		if (r < 0)
			return r;
		if (map_size(m) == before) {
			*out = m;
			return 0;
		}
		map_free(m);
	}
	return -EAGAIN;
}

bool map_same(const struct map *a, const struct map *b)
{
	return a->n_entries == b->n_entries && a->buf_len == b->buf_len &&
	       memcmp(a->buf, b->buf, a->buf_len) == 0;
}

uint32_t map_size(const struct map *m)
{
	return m->n_entries;
}

void map_get_stats(const struct map *m, struct map_stats *st)
{
	*st = m->stats;
}

static const struct map_entry *entry_at(const struct map *m, uint32_t index)
{
	return &m->entries[index - 1];
}

const char *map_name(const struct map *m, uint32_t index)
{
	return m->buf + entry_at(m, index)->name_off;
}

size_t map_name_len(const struct map *m, uint32_t index)
{
	return entry_at(m, index)->name_len;
}

const char *map_module(const struct map *m, uint32_t index)
{
	uint16_t slot = entry_at(m, index)->module;

	return slot ? m->modules[slot - 1].name : NULL;
}

bool map_is_placeholder(const struct map *m, uint32_t index)
{
	return entry_at(m, index)->flags & ENTRY_PLACEHOLDER;
}

/* parse_line() cut each line's name and module apart in place:
 * "name\0[mod\0\n" was "name [mod]\n", "name\0" was "name\n". A name
 * never starts with '[' and a line is never empty, so each NUL says what
 * it was by what follows it. */
char *map_kernel_text(const struct map *m, size_t *len)
{
	char *out = malloc(m->buf_len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < m->buf_len; i++) {
		char c = m->buf[i], next = i + 1 < m->buf_len ? m->buf[i + 1] : '\0';

		out[i] = c != '\0' ? c : next == '[' ? ' ' : next == '\n' ? ']' : '\n';
	}
	*len = m->buf_len;
	return out;
}

bool map_has_addresses(const struct map *m)
{
	return m->stats.has_addresses;
}

uint64_t map_address(const struct map *m, uint32_t index)
{
	return m->addrs ? m->addrs[index - 1] : 0;
}

uint32_t map_module_count(const struct map *m)
{
	return m->n_modules;
}

const char *map_module_name(const struct map *m, uint32_t module)
{
	return m->modules[module].name;
}

uint32_t map_module_of(const struct map *m, uint32_t index)
{
	return entry_at(m, index)->module;
}

uint32_t map_sorted_count(const struct map *m)
{
	return m->n_sorted;
}

uint32_t map_sorted_at(const struct map *m, uint32_t pos)
{
	return m->sorted[pos].entry + 1;
}

uint32_t map_sorted_module_of(const struct map *m, uint32_t pos)
{
	return m->sorted[pos].module;
}

size_t map_sorted_name_len(const struct map *m, uint32_t pos)
{
	return m->sorted[pos].name_len;
}

static int name_cmp(const struct map *m, const struct map_sorted *e, uint64_t prefix, const char *s,
		    size_t len)
{
	int r;

	if (e->prefix != prefix)
		return e->prefix < prefix ? -1 : 1;
	if (e->name_len > 8 || len > 8) {
		size_t a = e->name_len > 8 ? e->name_len - 8u : 0, b = len > 8 ? len - 8 : 0;

		r = memcmp(sorted_name(m, e) + 8, s + 8, MIN(a, b));
		if (r)
			return r;
		return a < b ? -1 : a > b;
	}
	return 0;
}

uint32_t map_sorted_lower_bound(const struct map *m, const char *s, size_t len)
{
	uint64_t prefix = strsort_chunk(s, len, 0);
	uint32_t lo = 0, hi = m->n_sorted;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (name_cmp(m, &m->sorted[mid], prefix, s, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Names are NUL-terminated in the text, so "@len bytes equal and then a
 * NUL" is an exact comparison without loading the length. */
static bool slot_is(const struct map *m, const struct map_name_slot *slot, uint32_t hash,
		    const char *s, size_t len)
{
	const char *name = m->buf + slot->name_off;

	return slot->hash == hash && memcmp(name, s, len) == 0 && name[len] == '\0';
}

bool map_find_name(const struct map *m, const char *s, size_t len, uint32_t hash, uint32_t *pos,
		   uint32_t *count)
{
	for (uint32_t i = hash & m->names_mask; m->names[i].hash; i = (i + 1) & m->names_mask) {
		if (slot_is(m, &m->names[i], hash, s, len)) {
			*pos = m->names[i].pos;
			*count = m->names[i].count;
			return true;
		}
	}
	return false;
}

void map_prefetch_name(const struct map *m, uint32_t hash, bool deep)
{
	const struct map_name_slot *slot = &m->names[hash & m->names_mask];

	if (!deep) {
		__builtin_prefetch(slot);
	} else if (slot->hash == hash) {
		__builtin_prefetch(m->buf + slot->name_off);
		__builtin_prefetch(&m->sorted[slot->pos]);
		if (slot->count > 1)
			__builtin_prefetch(&m->sorted[slot->pos + slot->count - 1]);
	}
}

void map_append_line(struct growbuf *t, const struct map *m, uint32_t index)
{
	const char *mod = map_module(m, index);

	growbuf_append(t, map_name(m, index), map_name_len(m, index));
	if (mod) {
		growbuf_append(t, " [", 2);
		growbuf_append(t, mod, strlen(mod));
		growbuf_append(t, "]", 1);
	}
}
