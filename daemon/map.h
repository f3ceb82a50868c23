/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The map of available_filter_functions: one entry per line, in line
 * order, so that entry i is the function the kernel enables for index i+1.
 * Placeholder lines stay in the map (they occupy indices) but are left out
 * of the sorted view, so no name lookup ever returns one.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map;

struct map_stats {
	uint32_t entries;
	uint32_t placeholders;
	uint32_t modules;
	uint32_t module_entries; /* lines that carry "[module]" */
	uint32_t distinct_names; /* among resolvable (non-placeholder) lines */
	uint64_t build_ns;       /* parse and sort, not the read */
	size_t bytes;            /* everything the map holds, text included */
	size_t text_bytes;       /* the kernel's text kept as the name arena */
	bool has_addresses;
};

/*
 * Build a map from the text of available_filter_functions (or, with
 * @has_addrs, of available_filter_functions_addrs: "ADDR NAME [module]").
 * Takes ownership of @buf (malloc'd, @len bytes) in every case; the map
 * keeps it as its name arena. Returns 0 or -EBADMSG (a malformed line),
 * -E2BIG, -ENOMEM. Free the map with map_free().
 */
int map_new_from_buffer(struct map **out, char *buf, size_t len, bool has_addrs);

/* Read the tracing directory's map through tracing.h, guarding against a
 * read torn by a module load (see map.c). Free with map_free(). Gives up
 * with -ECANCELED as soon as *@cancel is set (NULL: never), even in the
 * middle of the kernel's read. */
int map_load(struct map **out, const atomic_bool *cancel);

/* A map is shared by whoever holds a reference: map_ref() takes one more
 * (a request resolving on it while the service moves on to a new map),
 * map_free() gives one back and frees the map with the last. Not thread
 * safe: the loop thread's. */
struct map *map_ref(struct map *m);
struct map *map_free(struct map *m);

/* Whether @a and @b were read from the same text: the same lines, in the
 * same order, so that every index means the same function in both. */
bool map_same(const struct map *a, const struct map *b);

uint32_t map_size(const struct map *m);
void map_get_stats(const struct map *m, struct map_stats *st);

/* Accessors take a 1-based index in [1, map_size()]. */
const char *map_name(const struct map *m, uint32_t index);
size_t map_name_len(const struct map *m, uint32_t index);
const char *map_module(const struct map *m, uint32_t index); /* NULL: core */

/* Line @index as the kernel prints it ("name" or "name [module]"),
 * appended to @t with no terminator: the one place that spells it. */
struct growbuf;
void map_append_line(struct growbuf *t, const struct map *m, uint32_t index);
bool map_is_placeholder(const struct map *m, uint32_t index);
uint64_t map_address(const struct map *m, uint32_t index); /* 0: unknown */
/* Whether the kernel listed addresses (available_filter_functions_addrs). */
bool map_has_addresses(const struct map *m);

/* A copy of the kernel's text the map was read from, byte for byte (of
 * available_filter_functions_addrs where map_has_addresses()): malloc'd,
 * *@len bytes, or NULL. */
char *map_kernel_text(const struct map *m, size_t *len);

/* The module table: 0-based module number, in order of first appearance. */
uint32_t map_module_count(const struct map *m);
const char *map_module_name(const struct map *m, uint32_t module);
uint32_t map_module_of(const struct map *m, uint32_t index); /* 0: core, else module+1 */

/*
 * The sorted view: every resolvable line, ordered by name (bytewise) then
 * index. map_sorted_lower_bound() returns the first position whose name is
 * not below @s[0..len); map_sorted_at() the 1-based index at a position.
 */
uint32_t map_sorted_count(const struct map *m);
uint32_t map_sorted_lower_bound(const struct map *m, const char *s, size_t len);
uint32_t map_sorted_at(const struct map *m, uint32_t pos);
uint32_t map_sorted_module_of(const struct map *m, uint32_t pos); /* as map_module_of() */
size_t map_sorted_name_len(const struct map *m, uint32_t pos);

/*
 * Exact name lookup through the hash index of distinct names: the run of
 * the sorted view that carries @s[0..len), as its first position and
 * length. False when no resolvable line has that name. @hash is
 * map_hash_name(s, len), so that callers hash each name once.
 */
uint32_t map_hash_name(const char *s, size_t len);
bool map_find_name(const struct map *m, const char *s, size_t len, uint32_t hash, uint32_t *pos,
		   uint32_t *count);

/*
 * Start loading what map_find_name() will need for a name of hash @hash:
 * its slot (@deep false), or, once the slot is in cache, the name's text
 * and run (@deep true). Only a hint: it changes no result.
 */
void map_prefetch_name(const struct map *m, uint32_t hash, bool deep);
