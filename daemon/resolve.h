/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batch resolution of filter tokens against a map.
 *
 * The batch means what the same tokens mean to the kernel when written to a
 * filter file in this order: each token adds (or, with '!', removes) every
 * line it matches, later tokens overriding earlier ones. The outcome is two
 * sorted, disjoint index sets: lines to enable and lines to disable.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "glob.h"
#include "map.h"

struct resolve_item {
	int status;      /* 0, or -errno (see pattern.h; -ENOENT: no match) */
	uint32_t matches; /* lines this token matched */
	const char *why;  /* static explanation when status < 0 */
};

struct resolution {
	struct resolve_item *items; /* one per token */
	size_t n_items;
	size_t n_failed;
	uint32_t *enable; /* sorted ascending, 1-based */
	size_t n_enable;
	uint32_t *disable; /* sorted ascending, 1-based */
	size_t n_disable;
	/* Only from resolve_batch_per_token(): token i matched
	 * token_sets[token_set_start[i]] up to token_set_start[i + 1],
	 * ascending */
	uint32_t *token_sets;
	uint32_t *token_set_start;
};

/*
 * Resolve @n NUL-terminated tokens, matching globs under the running
 * kernel's @rules. Every token is checked, so that one
 * call reports all the bad ones; @out->n_failed says how many failed, and
 * then @out's sets must not be used for a write. Returns 0 or -ENOMEM.
 * Release @out with resolution_deinit() in either case.
 */
int resolve_batch(const struct map *m, const struct glob_rules *rules, const char *const *tokens,
		  size_t n, struct resolution *out);

/*
 * resolve_batch(), keeping each token's own matches too, for clients that
 * show them per pattern. Returns -E2BIG when they would come to more than
 * @limit indices in all (one "*" per token is a map's worth each).
 */
int resolve_batch_per_token(const struct map *m, const struct glob_rules *rules,
			    const char *const *tokens, size_t n, size_t limit,
			    struct resolution *out);

/*
 * The same work a slice at a time, so that one large batch cannot keep
 * everyone else waiting: resolver_new() takes the batch (@tokens, @map
 * and @rules must outlive the resolver; @limit as above, 0 for no
 * per-token sets), resolver_run() works until the batch is done (0) or
 * CLOCK_MONOTONIC passes @deadline_ns (RESOLVE_MORE: call it again), and
 * resolver_finish() hands the outcome over. Identical tokens that cost a
 * scan or a search are resolved once: a token's effect on the sets is
 * decided by its last occurrence, and every occurrence matches the same
 * lines. Errors: -ENOMEM, and -E2BIG from resolver_finish() as for
 * resolve_batch_per_token(). Free with resolver_free().
 */
#define RESOLVE_MORE 1
struct resolver;
int resolver_new(struct resolver **out, const struct map *m, const struct glob_rules *rules,
		 const char *const *tokens, size_t n, size_t limit);
int resolver_run(struct resolver *rs, uint64_t deadline_ns);
/* Once resolver_run() returned 0: the outcome into @out (released with
 * resolution_deinit() in every case). */
int resolver_finish(struct resolver *rs, struct resolution *out);
/* Lines tested by scans so far: what the batch cost, for the log. */
uint64_t resolver_lines_scanned(const struct resolver *rs);
/* Tokens resolved so far, of the batch's: for progress reports. */
size_t resolver_done(const struct resolver *rs);
/* Bytes the resolver holds, for the daemon's memory budget. */
size_t resolver_bytes(const struct resolver *rs);
struct resolver *resolver_free(struct resolver *rs);

void resolution_deinit(struct resolution *r);
