/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx's results (see ftidx.h): what a reply holds, through
 * accessors, and the status and hit count handed out as structs (with
 * accessors too, for callers that keep to the ABI of functions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx.h"
#include "libftidx-internal.h"
#include "macro.h"
#include "proto.h"

static bool has_sets(const struct ftidx_result *r)
{
	return r->rep.type == FTIDX_MSG_RESOLVE || r->rep.type == FTIDX_MSG_FILTER ||
	       r->rep.type == FTIDX_MSG_CHANGE;
}

/* The enabled (or removed) set of file @k: a FILTER's or RESOLVE's one, or
 * a CHANGE's k-th. */
static const uint32_t *file_set(const struct ftidx_result *r, size_t k, bool removed, size_t *n)
{
	const struct proto_change_result *ch;

	*n = 0;
	if (!has_sets(r))
		return NULL;
	if (r->rep.type != FTIDX_MSG_CHANGE) {
		if (k > 0)
			return NULL;
		*n = removed ? r->rep.n_disable : r->rep.n_enable;
		return removed ? r->rep.disable : r->rep.enable;
	}
	if (k >= r->rep.n_changes)
		return NULL;
	ch = &r->rep.changes[k];
	*n = removed ? ch->n_disable : ch->n_enable;
	return removed ? ch->disable : ch->enable;
}

/* Where each token's reason is among the reasons (they come in token
 * order, one per failed token), so that asking is O(1). */
int lib_index_reasons(struct ftidx_result *res)
{
	uint32_t k = 0;

	if (!has_sets(res) || !res->rep.n_failed)
		return 0;
	res->reason_of = malloc(sizeof(*res->reason_of) * res->rep.n_items);
	if (!res->reason_of)
		return -ENOMEM;
	for (uint32_t i = 0; i < res->rep.n_items; i++) {
		res->reason_of[i] = k;
		k += res->rep.items[i].status != 0;
	}
	return 0;
}


/* Keep the result only when it has something to offer the caller. */
int lib_finish(int r, struct ftidx_result *res, struct ftidx_result **out)
{
	if (res && lib_index_reasons(res) < 0) {
		ftidx_result_free(res);
		res = NULL;
		r = -ENOMEM;
	}
	if (res && (r == 0 || res->rep.type != FTIDX_MSG_ERROR) && out) {
		*out = res;
		return r;
	}
	ftidx_result_free(res);
	if (out)
		*out = NULL;
	return r;
}

_public_ uint64_t ftidx_result_generation(const struct ftidx_result *r)
{
	return r->rep.generation;
}

_public_ size_t ftidx_result_count(const struct ftidx_result *r)
{
	size_t n;

	if (!has_sets(r))
		return r->rep.n_lines;
	file_set(r, 0, false, &n);
	return n;
}

_public_ const uint32_t *ftidx_result_indices(const struct ftidx_result *r)
{
	size_t n;

	if (has_sets(r))
		return file_set(r, 0, false, &n);
	return r->rep.type == FTIDX_MSG_LIST ? r->rep.indices : NULL;
}

_public_ uint32_t ftidx_result_index(const struct ftidx_result *r, size_t i)
{
	if (i >= ftidx_result_count(r))
		return 0;
	if (r->rep.type == FTIDX_MSG_NAMES)
		return r->asked ? r->asked[i] : 0;
	return ftidx_result_indices(r)[i];
}

_public_ const char *ftidx_result_line(const struct ftidx_result *r, size_t i)
{
	return i < r->rep.n_lines ? r->rep.lines[i] : NULL;
}

_public_ int ftidx_result_line_error(const struct ftidx_result *r, size_t i)
{
	return r->rep.line_status && i < r->rep.n_lines ? -r->rep.line_status[i] : 0;
}

_public_ uint64_t ftidx_result_address(const struct ftidx_result *r, size_t i)
{
	return r->rep.addresses && i < r->rep.n_lines ? r->rep.addresses[i] : 0;
}

_public_ size_t ftidx_result_removed_count(const struct ftidx_result *r)
{
	size_t n;

	file_set(r, 0, true, &n);
	return n;
}

_public_ const uint32_t *ftidx_result_removed(const struct ftidx_result *r)
{
	size_t n;

	return file_set(r, 0, true, &n);
}

_public_ size_t ftidx_result_token_count(const struct ftidx_result *r)
{
	return r->rep.n_items;
}

_public_ int ftidx_result_token_error(const struct ftidx_result *r, size_t i, const char **why)
{
	uint32_t k;

	if (i >= r->rep.n_items)
		return -EINVAL;
	if (r->rep.items[i].status == 0)
		return 0;
	k = r->reason_of ? r->reason_of[i] : r->rep.n_failed;
	if (why)
		*why = k < r->rep.n_failed ? r->rep.reasons[k] : "";
	return -r->rep.items[i].status;
}

_public_ uint32_t ftidx_result_token_matches(const struct ftidx_result *r, size_t i)
{
	return i < r->rep.n_items ? r->rep.items[i].matches : 0;
}

_public_ uint32_t ftidx_result_written(const struct ftidx_result *r)
{
	return r->rep.written;
}

_public_ const uint32_t *ftidx_result_token_indices(const struct ftidx_result *r, size_t i,
						     size_t *n)
{
	*n = 0;
	if (!r->rep.n_token_sets || i >= r->rep.n_token_sets)
		return NULL;
	*n = r->rep.token_set_start[i + 1] - r->rep.token_set_start[i];
	return *n ? r->rep.token_sets + r->rep.token_set_start[i] : NULL;
}

_public_ size_t ftidx_result_file_count(const struct ftidx_result *r)
{
	if (r->rep.type == FTIDX_MSG_CHANGE)
		return r->rep.n_changes;
	return r->rep.type == FTIDX_MSG_FILTER ? 1 : 0;
}

_public_ int ftidx_result_file(const struct ftidx_result *r, size_t k)
{
	if (r->rep.type == FTIDX_MSG_CHANGE)
		return k < r->rep.n_changes ? r->rep.changes[k].file : -EINVAL;
	return -EINVAL; /* a FILTER result does not carry its file: the caller chose it */
}

_public_ const uint32_t *ftidx_result_file_indices(const struct ftidx_result *r, size_t k,
						    size_t *n)
{
	return file_set(r, k, false, n);
}

_public_ const uint32_t *ftidx_result_file_removed(const struct ftidx_result *r, size_t k,
						    size_t *n)
{
	return file_set(r, k, true, n);
}

_public_ uint32_t ftidx_result_file_written(const struct ftidx_result *r, size_t k)
{
	if (r->rep.type == FTIDX_MSG_CHANGE)
		return k < r->rep.n_changes ? r->rep.changes[k].written : 0;
	return k == 0 ? r->rep.written : 0;
}


/*
 * A request whose answer is handed out as a box: a public struct first (the
 * caller's pointer), the result that owns its strings after it. Allocates
 * @size bytes zeroed in *@box and keeps the result in *@res.
 */
static int transact_boxed(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
			  size_t size, void **box, struct ftidx_result **res)
{
	int r = lib_transact(c, req, extra_ms, res);

	*box = NULL;
	if (r < 0) {
		*res = ftidx_result_free(*res);
		return r;
	}
	*box = calloc(1, size);
	if (!*box) {
		*res = ftidx_result_free(*res);
		return -ENOMEM;
	}
	return 0;
}

struct status_box {
	struct ftidx_status st;
	struct ftidx_result *res; /* owns the strings */
	struct ftidx_filter_state *filters;
};

_public_ int ftidx_status(struct ftidx *c, struct ftidx_status **out)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS };
	struct ftidx_result *res;
	struct status_box *box;
	int r;

	*out = NULL;
	r = transact_boxed(c, &req, 0, sizeof(*box), (void **)&box, &res);
	if (r < 0)
		return r;
	box->res = res;
	box->filters = calloc(res->rep.n_filters ? res->rep.n_filters : 1, sizeof(*box->filters));
	if (!box->filters) {
		ftidx_status_free(&box->st);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < res->rep.n_filters; i++)
		box->filters[i] = (struct ftidx_filter_state){
			.instance = res->rep.filters[i].instance,
			.file = res->rep.filters[i].file,
			.holds = res->rep.filters[i].holds == FTIDX_HOLDS_UNKNOWN
					 ? -1
					 : res->rep.filters[i].holds,
			.functions = res->rep.filters[i].functions,
		};
	box->st = (struct ftidx_status){
		.generation = res->rep.generation,
		.entries = res->rep.entries,
		.placeholders = res->rep.placeholders,
		.modules = res->rep.modules,
		.module_entries = res->rep.module_entries,
		.distinct_names = res->rep.distinct_names,
		.clients = res->rep.clients,
		.build_ns = res->rep.build_ns,
		.built_at_ns = res->rep.built_at_ns,
		.has_addresses = !!(res->rep.status_flags & FTIDX_STATUS_ADDRESSES),
		.is_tracefs = !!(res->rep.status_flags & FTIDX_STATUS_TRACEFS),
		.is_stale = !!(res->rep.status_flags & FTIDX_STATUS_STALE),
		.tracing_dir = res->rep.tracing_dir,
		.kernel_release = res->rep.kernel_release,
		.daemon_version = res->rep.daemon_version,
		.filters = box->filters,
		.n_filters = res->rep.n_filters,
		.match_rules = res->rep.match_rules,
		.match_rules_how = res->rep.match_rules_how,
		.recovery = res->rep.recovery,
	};
	*out = &box->st;
	return 0;
}

_public_ struct ftidx_status *ftidx_status_free(struct ftidx_status *st)
{
	struct status_box *box = (struct status_box *)st;

	if (box) {
		ftidx_result_free(box->res);
		free(box->filters);
		free(box);
	}
	return NULL;
}

struct hits_box {
	struct ftidx_hits hits; /* first: the caller's pointer is the box's */
	struct ftidx_result *res;
};

int lib_hits_box(struct ftidx_result *res, struct ftidx_hits **out)
{
	struct hits_box *box = calloc(1, sizeof(*box));

	*out = NULL;
	if (!box) {
		ftidx_result_free(res);
		return -ENOMEM;
	}
	box->res = res;
	box->hits = (struct ftidx_hits){
		.enabled = res->rep.enabled,
		.events = res->rep.events,
		.lost = res->rep.lost,
		.n = res->rep.n_lines,
		.indices = res->rep.indices,
		.counts = res->rep.counts,
		.lines = res->rep.lines,
		/* the message of a success says why counts fall short */
		.short_by = res->rep.status == 0 ? res->rep.message : "",
	};
	*out = &box->hits;
	return 0;
}

_public_ int ftidx_hits(struct ftidx *c, const char *instance, unsigned seconds,
			struct ftidx_hits **out)
{
	struct proto_request req = { .type = FTIDX_MSG_HITS, .seconds = seconds,
				     .instance = instance ? instance : "" };
	struct ftidx_result *res;
	int r;

	*out = NULL;
	if (seconds < 1 || seconds > FTIDX_HITS_SECONDS_MAX) {
		lib_set_error(c, "a hit count runs for 1 to " STRINGIFY(FTIDX_HITS_SECONDS_MAX)
				 " seconds");
		return -EINVAL;
	}
	r = lib_transact(c, &req, (int64_t)seconds * 1000, &res);
	if (r < 0) {
		ftidx_result_free(res);
		return r;
	}
	r = lib_hits_box(res, out);
	if (r == 0)
		lib_set_error(c, NULL); /* a success: the message is in short_by */
	return r;
}

_public_ struct ftidx_hits *ftidx_hits_free(struct ftidx_hits *h)
{
	struct hits_box *box = (struct hits_box *)h;

	if (box) {
		ftidx_result_free(box->res);
		free(box);
	}
	return NULL;
}

/* ---- accessors in place of the structs' fields (since 0.3) ---------- */

_public_ uint64_t ftidx_status_number(const struct ftidx_status *st, int which)
{
	switch (which) {
	case FTIDX_STAT_GENERATION:
		return st->generation;
	case FTIDX_STAT_ENTRIES:
		return st->entries;
	case FTIDX_STAT_PLACEHOLDERS:
		return st->placeholders;
	case FTIDX_STAT_MODULES:
		return st->modules;
	case FTIDX_STAT_MODULE_ENTRIES:
		return st->module_entries;
	case FTIDX_STAT_DISTINCT_NAMES:
		return st->distinct_names;
	case FTIDX_STAT_CLIENTS:
		return st->clients;
	case FTIDX_STAT_BUILD_NS:
		return st->build_ns;
	case FTIDX_STAT_BUILT_AT_NS:
		return st->built_at_ns;
	case FTIDX_STAT_HAS_ADDRESSES:
		return (uint64_t)st->has_addresses;
	case FTIDX_STAT_IS_TRACEFS:
		return (uint64_t)st->is_tracefs;
	case FTIDX_STAT_IS_STALE:
		return (uint64_t)st->is_stale;
	default:
		return 0;
	}
}

_public_ const char *ftidx_status_text(const struct ftidx_status *st, int which)
{
	switch (which) {
	case FTIDX_STAT_TRACING_DIR:
		return st->tracing_dir;
	case FTIDX_STAT_KERNEL_RELEASE:
		return st->kernel_release;
	case FTIDX_STAT_DAEMON_VERSION:
		return st->daemon_version;
	case FTIDX_STAT_MATCH_RULES:
		return st->match_rules;
	case FTIDX_STAT_MATCH_RULES_HOW:
		return st->match_rules_how;
	case FTIDX_STAT_RECOVERY:
		return st->recovery;
	case FTIDX_STAT_PUBLISHED:
		return ((const struct status_box *)st)->res->rep.published;
	default:
		return NULL;
	}
}

_public_ int ftidx_status_daemon_uid(const struct ftidx_status *st, uint32_t *uid)
{
	uint32_t v = ((const struct status_box *)st)->res->rep.daemon_uid;

	*uid = v;
	return v == FTIDX_UID_UNKNOWN ? -ENODATA : 0;
}

_public_ size_t ftidx_status_filter_count(const struct ftidx_status *st)
{
	return st->n_filters;
}

_public_ const char *ftidx_status_filter_instance(const struct ftidx_status *st, size_t i)
{
	return i < st->n_filters ? st->filters[i].instance : NULL;
}

_public_ int ftidx_status_filter_file(const struct ftidx_status *st, size_t i)
{
	return i < st->n_filters ? st->filters[i].file : -EINVAL;
}

_public_ int ftidx_status_filter_holds(const struct ftidx_status *st, size_t i)
{
	return i < st->n_filters ? st->filters[i].holds : -1;
}

_public_ uint32_t ftidx_status_filter_functions(const struct ftidx_status *st, size_t i)
{
	return i < st->n_filters ? st->filters[i].functions : 0;
}

/* From the reply itself: the public struct of 0.1 has no room for them. */
static const struct proto_filter_state *filter_of(const struct ftidx_status *st, size_t i)
{
	const struct status_box *box = (const struct status_box *)st;

	return i < st->n_filters ? &box->res->rep.filters[i] : NULL;
}

_public_ uint32_t ftidx_status_filter_probes(const struct ftidx_status *st, size_t i)
{
	const struct proto_filter_state *f = filter_of(st, i);

	return f ? f->probes : 0;
}

_public_ uint32_t ftidx_status_filter_module_patterns(const struct ftidx_status *st, size_t i)
{
	const struct proto_filter_state *f = filter_of(st, i);

	return f ? f->module_patterns : 0;
}

_public_ uint32_t ftidx_hits_enabled(const struct ftidx_hits *h)
{
	return h->enabled;
}

_public_ uint64_t ftidx_hits_events(const struct ftidx_hits *h)
{
	return h->events;
}

_public_ uint64_t ftidx_hits_lost(const struct ftidx_hits *h)
{
	return h->lost;
}

_public_ size_t ftidx_hits_count(const struct ftidx_hits *h)
{
	return h->n;
}

_public_ uint32_t ftidx_hits_index(const struct ftidx_hits *h, size_t i)
{
	return i < h->n ? h->indices[i] : 0;
}

_public_ uint64_t ftidx_hits_calls(const struct ftidx_hits *h, size_t i)
{
	return i < h->n ? h->counts[i] : 0;
}

_public_ const char *ftidx_hits_line(const struct ftidx_hits *h, size_t i)
{
	return i < h->n ? h->lines[i] : NULL;
}

_public_ const char *ftidx_hits_short_by(const struct ftidx_hits *h)
{
	return h->short_by;
}
