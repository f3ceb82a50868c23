/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The requests that only read: STATUS, RESOLVE, NAMES and LIST (see service-internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-rules.h"
#include "macro.h"
#include "map.h"
#include "resolve.h"
#include "service-audit.h"
#include "service-jobs.h"
#include "service-publish.h"
#include "service-query.h"
#include "service-reply.h"
#include "service-state.h"
#include "service-written.h"
#include "tracing.h"

static size_t arena_line(struct proto_buf *arena, const struct map *m, uint32_t index)
{
	size_t at = arena->len;

	map_append_line(&arena->buf, m, index);
	proto_put_bytes(arena, "", 1);
	return at;
}

/* Turn arena offsets into pointers once the arena stops growing. */
static const char **arena_strings(struct proto_buf *arena, const size_t *offs, size_t n)
{
	const char **v = malloc(sizeof(*v) * (n ? n : 1));

	if (!v || arena->failed) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (const char *)arena->data + offs[i];
	return v;
}

static int reply_status(struct service *s, uint32_t id, struct proto_buf *out)
{
	struct map_stats st;
	struct proto_reply rep = { .type = FTIDX_MSG_STATUS, .generation = s->generation };
	_cleanup_free_ struct proto_filter_state *filters = NULL;
	uint32_t n = 0;

	for (struct written *w = s->written; w; w = w->next)
		n++;
	filters = calloc(n ? n : 1, sizeof(*filters));
	if (!filters)
		return -ENOMEM;
	n = 0;
	for (struct written *w = s->written; w; w = w->next) {
		uint16_t verdict = service_written_verdict(s, w);

		filters[n++] = (struct proto_filter_state){
			.instance = w->instance,
			.file = w->file,
			/* pending only when the audit could not run */
			.holds = verdict == AUDIT_PENDING ? FTIDX_HOLDS_UNKNOWN : verdict,
			.functions = (uint32_t)w->n,
			.probes = w->probes,
			.module_patterns = w->module_patterns,
		};
	}
	rep.filters = filters;
	rep.n_filters = n;

	map_get_stats(s->map, &st);
	rep.message = "";
	rep.entries = st.entries;
	rep.placeholders = st.placeholders;
	rep.modules = st.modules;
	rep.module_entries = st.module_entries;
	rep.distinct_names = st.distinct_names;
	rep.status_flags = (st.has_addresses ? FTIDX_STATUS_ADDRESSES : 0) |
			   (s->real_tracefs ? FTIDX_STATUS_TRACEFS : 0) |
			   (s->stale ? FTIDX_STATUS_STALE : 0);
	rep.clients = s->clients;
	rep.build_ns = st.build_ns;
	rep.built_at_ns = s->built_at_ns;
	rep.tracing_dir = tracing_dir();
	rep.kernel_release = s->release;
	rep.daemon_version = FTIDX_VERSION;
	rep.match_rules = kernel_rules_name(&s->rules);
	rep.match_rules_how = s->rules_how;
	rep.recovery = s->recovery;
	rep.published = service_published_path(s);
	/* the owner of the published copy, which readers check it against */
	rep.daemon_uid = (uint32_t)geteuid();
	return proto_encode_reply(out, id, &rep);
}

/* A STATUS waiting for the audit's verdicts. */
struct status_waiter {
	void *requester;
	uint32_t id;
	struct status_waiter *next;
};

int service_query_status(struct service *s, uint32_t id, void *requester, struct proto_buf *out)
{
	struct status_waiter *w;

	/* a foreign write since the last look: the audit's answer is old */
	service_written_take_drift(s, true);
	if (service_written_all_judged(s) || !service_audit_hurry(s))
		return reply_status(s, id, out);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct status_waiter){ requester, id, s->status_waiters };
	s->status_waiters = w;
	return SERVICE_LATER;
}

void service_query_status_complete(struct service *s,
			     void (*deliver)(void *requester, struct proto_buf *frame))
{
	if (!s->status_waiters || (!service_written_all_judged(s) && service_audit_hurry(s)))
		return;
	while (s->status_waiters) {
		struct status_waiter *w = s->status_waiters;
		struct proto_buf frame;

		s->status_waiters = w->next;
		proto_buf_init(&frame);
		if (reply_status(s, w->id, &frame) < 0) {
			proto_buf_deinit(&frame);
			proto_buf_init(&frame);
			service_reply_plain(s, FTIDX_MSG_STATUS, w->id, ENOMEM, "out of memory",
					    &frame);
		}
		deliver(w->requester, &frame);
		proto_buf_deinit(&frame);
		free(w);
	}
}

void service_query_status_forget(struct service *s, void *requester)
{
	struct status_waiter **at = &s->status_waiters;

	while (*at) {
		struct status_waiter *w = *at;

		if (w->requester == requester) {
			*at = w->next;
			free(w);
		} else {
			at = &w->next;
		}
	}
}

void service_query_free(struct service *s)
{
	free(s->list_cache.body);
	s->list_cache = (struct list_cache){ 0 };
	while (s->status_waiters) {
		struct status_waiter *w = s->status_waiters;

		s->status_waiters = w->next;
		free(w);
	}
}

int service_query_resolve(struct service *s, struct service_job *job, uint64_t deadline_ns,
			 struct proto_buf *out)
{
	const struct proto_request *req = job->req;
	struct proto_reply rep = { .type = FTIDX_MSG_RESOLVE };
	struct resolution *res = &job->res[0];
	struct proto_buf arena;
	_cleanup_free_ size_t *offs = NULL;
	char msg[96] = "";
	int r;

	if (!job->map) {
		job->one.changes[0] = (struct proto_change){ .n_tokens = req->n_tokens };
		service_job_pin(s, job, job->one.changes, 1);
	}
	r = service_job_resolve(s, job, req->flags & FTIDX_RESOLVE_PER_TOKEN, deadline_ns);
	if (r == -E2BIG)
		return service_reply_too_big(s, FTIDX_MSG_RESOLVE, job->id, out);
	if (r != 0)
		return r;
	/* the map it was resolved on, even if the service has a newer one */
	rep.generation = job->generation;
	proto_buf_init(&arena);
	r = service_job_fill_items(&rep, res, 1);
	if (r < 0)
		goto done;
	if (res->n_failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu patterns refused", res->n_failed, res->n_items);
	} else if (req->flags & FTIDX_RESOLVE_LINES) {
		offs = malloc(sizeof(*offs) * (res->n_enable ? res->n_enable : 1));
		if (!offs) {
			r = -ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < res->n_enable; i++)
			offs[i] = arena_line(&arena, job->map, res->enable[i]);
		rep.lines = arena_strings(&arena, offs, res->n_enable);
		if (!rep.lines) {
			r = -ENOMEM;
			goto done;
		}
		rep.n_lines = (uint32_t)res->n_enable;
	}
	rep.message = msg;
	r = proto_encode_reply(out, job->id, &rep);
done:
	service_job_free_items(&rep);
	proto_buf_deinit(&arena);
	return r;
}

int service_query_names(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_NAMES, .generation = s->generation };
	_cleanup_free_ size_t *offs = malloc(sizeof(*offs) * (req->n_indices ? req->n_indices : 1));
	_cleanup_free_ int32_t *status = malloc(sizeof(*status) * (req->n_indices ? req->n_indices : 1));
	struct proto_buf arena;
	uint32_t bad = 0;
	char msg[64] = "";
	int r = -ENOMEM;

	proto_buf_init(&arena);
	if (!offs || !status)
		goto done;
	for (uint32_t i = 0; i < req->n_indices; i++) {
		uint32_t index = req->indices[i];

		if (index == 0 || index > map_size(s->map)) {
			status[i] = ERANGE;
			offs[i] = arena.len;
			proto_put_bytes(&arena, "", 1);
			bad++;
		} else {
			status[i] = 0;
			offs[i] = arena_line(&arena, s->map, index);
		}
	}
	rep.lines = arena_strings(&arena, offs, req->n_indices);
	if (!rep.lines)
		goto done;
	rep.n_lines = req->n_indices;
	rep.line_status = status;
	if (bad) {
		rep.status = ERANGE;
		snprintf(msg, sizeof(msg), "%u of %u indices out of range (1-%u)", bad,
			 req->n_indices, map_size(s->map));
	}
	rep.message = msg;
	r = proto_encode_reply(out, id, &rep);
done:
	free(rep.lines);
	proto_buf_deinit(&arena);
	return r;
}

/*
 * A LIST of the whole map copies every line, and tools that read the
 * list at every start ask for the same bytes for as long as the map
 * stands (a module storm at boot keeps the old one standing for a
 * while): the last body is kept, and sent again under the new request's
 * id. 1 when answered from it, 0 when not, or -errno.
 */
static int list_from_cache(const struct service *s, const struct proto_request *req, uint32_t id,
			   struct proto_buf *out)
{
	const struct list_cache *lc = &s->list_cache;

	if ((req->flags & FTIDX_LIST_MODULE) || !lc->body || lc->generation != s->generation ||
	    lc->flags != req->flags)
		return 0;
	proto_buf_begin(out, FTIDX_MSG_LIST | FTIDX_MSG_REPLY, id);
	proto_put_bytes(out, lc->body, lc->len);
	return proto_buf_end(out) < 0 ? -ENOMEM : 1;
}

/* Keep the body of the frame encoded into @out from @start on, if it is
 * a whole map's; without memory, the next one is encoded anew. */
static void list_keep(struct service *s, const struct proto_request *req, const struct proto_buf *out,
		      size_t start)
{
	size_t len = out->len - start - sizeof(struct ftidx_frame_header);
	uint8_t *body;

	if (req->flags & FTIDX_LIST_MODULE)
		return;
	body = malloc(len ? len : 1);
	if (!body)
		return;
	memcpy(body, out->data + start + sizeof(struct ftidx_frame_header), len);
	free(s->list_cache.body);
	s->list_cache = (struct list_cache){ s->generation, req->flags, body, len };
}

int service_query_list(struct service *s, const struct proto_request *req, uint32_t id,
		      struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_LIST, .generation = s->generation };
	uint32_t n = map_size(s->map), k = 0;
	_cleanup_free_ size_t *offs = malloc(sizeof(*offs) * (n ? n : 1));
	_cleanup_free_ uint32_t *indices = malloc(sizeof(*indices) * (n ? n : 1));
	_cleanup_free_ uint64_t *addresses = NULL;
	bool by_module = req->flags & FTIDX_LIST_MODULE;
	size_t start = out->len;
	struct proto_buf arena;
	int r = list_from_cache(s, req, id, out);

	if (r != 0)
		return r < 0 ? r : 0;
	r = -ENOMEM;
	proto_buf_init(&arena);
	if (req->flags & FTIDX_LIST_ADDRESSES) {
		addresses = malloc(sizeof(*addresses) * (n ? n : 1));
		if (!addresses)
			goto done;
	}
	if (!offs || !indices)
		goto done;
	for (uint32_t index = 1; index <= n; index++) {
		const char *mod = map_module(s->map, index);

		if (map_is_placeholder(s->map, index) && !(req->flags & FTIDX_LIST_PLACEHOLDERS))
			continue;
		if (by_module && strcmp(mod ? mod : "", req->module) != 0)
			continue;
		if (addresses)
			addresses[k] = map_address(s->map, index);
		indices[k] = index;
		offs[k++] = arena_line(&arena, s->map, index);
	}
	rep.lines = arena_strings(&arena, offs, k);
	if (!rep.lines)
		goto done;
	rep.indices = indices;
	rep.addresses = addresses;
	rep.n_lines = k;
	rep.message = "";
	if (by_module && k == 0) {
		rep.status = ENOENT;
		rep.message = "no such module in the map";
	} else if (addresses && !map_has_addresses(s->map)) {
		/* The lines still come; the addresses are all 0 (unknown). */
		rep.message = "this kernel lists no addresses (available_filter_functions_addrs "
			      "came with 6.5)";
	}
	r = proto_encode_reply(out, id, &rep);
	if (r == 0)
		list_keep(s, req, out, start);
done:
	free(rep.lines);
	proto_buf_deinit(&arena);
	return r;
}
