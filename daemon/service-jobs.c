/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Requests being answered, and the resolution of their tokens a slice at
 * a time on the map they are pinned to (see service-jobs.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "resolve.h"
#include "service-jobs.h"
#include "service-state.h"

/* Per-token sets: at most what half a frame can carry. */
#define PER_TOKEN_LIMIT (FTIDX_FRAME_MAX / sizeof(uint32_t) / 2)

int service_job_new(struct service *s _unused_, const struct proto_request *req, uint32_t id,
		    void *requester, struct service_job **out)
{
	struct service_job *job = calloc(1, sizeof(*job));

	*out = job;
	if (!job)
		return -ENOMEM;
	job->req = req;
	job->id = id;
	job->requester = requester;
	job->came_ns = now_ns();
	return 0;
}

void service_job_tokens_done(const struct service_job *job, uint32_t *done, uint32_t *total)
{
	uint64_t d = 0, t = 0;

	for (size_t k = 0; k < job->n_parts; k++) {
		t += job->parts[k].n_tokens;
		if (k < job->part)
			d += job->parts[k].n_tokens;
		else if (k == job->part && job->rs)
			d += resolver_done(job->rs);
	}
	*done = (uint32_t)MIN(d, t);
	*total = (uint32_t)t;
}

static void job_unpin(struct service_job *job)
{
	job->rs = resolver_free(job->rs);
	for (size_t k = 0; k < ARRAY_SIZE(job->res); k++)
		resolution_deinit(&job->res[k]);
	job->map = map_free(job->map);
}

struct service_job *service_job_free(struct service_job *job)
{
	if (!job)
		return NULL;
	job_unpin(job);
	free(job);
	return NULL;
}

const char *service_job_outcome(const struct service_job *job)
{
	return job->outcome;
}

size_t service_job_bytes(const struct service_job *job)
{
	size_t n = sizeof(*job) + (job->rs ? resolver_bytes(job->rs) : 0);

	for (size_t k = 0; k < ARRAY_SIZE(job->res); k++) {
		const struct resolution *r = &job->res[k];

		n += r->n_items * sizeof(*r->items) + (r->n_enable + r->n_disable) * sizeof(uint32_t);
		if (r->token_set_start)
			n += (r->n_items + 1 + r->token_set_start[r->n_items]) * sizeof(uint32_t);
	}
	return n;
}

void service_job_pin(struct service *s, struct service_job *job, const struct proto_change *parts,
		     size_t n_parts)
{
	job_unpin(job);
	job->map = map_ref(s->map);
	job->generation = s->generation;
	job->parts = parts;
	job->n_parts = n_parts;
	job->part = 0;
}

int service_job_resolve(struct service *s, struct service_job *job, bool per_token,
			uint64_t deadline_ns)
{
	const char *const *tokens = job->req->tokens;

	while (job->part < job->n_parts) {
		const struct proto_change *p = &job->parts[job->part];
		int r = 0;

		if (!job->rs)
			r = resolver_new(&job->rs, job->map, &s->rules, tokens + p->first_token,
					 p->n_tokens, per_token ? PER_TOKEN_LIMIT : 0);
		if (r == 0)
			r = resolver_run(job->rs, deadline_ns);
		if (r == RESOLVE_MORE)
			return SERVICE_MORE;
		if (r == 0)
			r = resolver_finish(job->rs, &job->res[job->part]);
		if (r == 0)
			log_debug("resolved %u tokens, %llu lines scanned", p->n_tokens,
				  (unsigned long long)resolver_lines_scanned(job->rs));
		job->rs = resolver_free(job->rs);
		if (r < 0)
			return r;
		job->part++;
	}
	return 0;
}

/*
 * Per-token results of @n_parts resolutions into @rep, in token order:
 * statuses, reasons and, when each resolution kept them, the tokens' own
 * sets. With one part, its sets are @rep's too (but for CHANGE, whose
 * sets are per file).
 */
int service_job_fill_items(struct proto_reply *rep, const struct resolution *res, size_t n_parts)
{
	size_t n_items = 0, n_failed = 0, n_indices = 0, t = 0, k = 0;
	bool sets = n_parts > 0;

	for (size_t p = 0; p < n_parts; p++) {
		n_items += res[p].n_items;
		n_failed += res[p].n_failed;
		sets &= res[p].token_set_start != NULL;
		if (res[p].token_set_start)
			n_indices += res[p].token_set_start[res[p].n_items];
	}
	if (n_indices > UINT32_MAX)
		return -E2BIG;
	rep->items = calloc(n_items ? n_items : 1, sizeof(*rep->items));
	rep->reasons = calloc(n_failed ? n_failed : 1, sizeof(*rep->reasons));
	if (!rep->items || !rep->reasons)
		return -ENOMEM;
	if (sets) {
		rep->token_set_start = malloc(sizeof(uint32_t) * (n_items + 1));
		rep->token_sets = malloc(sizeof(uint32_t) * (n_indices ? n_indices : 1));
		if (!rep->token_set_start || !rep->token_sets)
			return -ENOMEM;
		rep->token_set_start[0] = 0;
		rep->n_token_sets = (uint32_t)n_items;
	}
	rep->n_items = (uint32_t)n_items;
	rep->n_failed = (uint32_t)n_failed;
	n_indices = 0;
	for (size_t p = 0; p < n_parts; p++) {
		for (size_t i = 0; i < res[p].n_items; i++, t++) {
			rep->items[t].status = -res[p].items[i].status;
			rep->items[t].matches = res[p].items[i].matches;
			if (res[p].items[i].status < 0)
				rep->reasons[k++] = res[p].items[i].why;
		}
		if (sets) {
			uint32_t got = res[p].token_set_start[res[p].n_items];

			memcpy(rep->token_sets + n_indices, res[p].token_sets, sizeof(uint32_t) * got);
			for (size_t i = 0; i < res[p].n_items; i++)
				rep->token_set_start[t - res[p].n_items + i + 1] =
					(uint32_t)n_indices + res[p].token_set_start[i + 1];
			n_indices += got;
		}
	}
	if (n_failed)
		rep->status = EINVAL;
	if (n_parts == 1 && rep->type != FTIDX_MSG_CHANGE) {
		rep->enable = res->enable;
		rep->n_enable = (uint32_t)res->n_enable;
		rep->disable = res->disable;
		rep->n_disable = (uint32_t)res->n_disable;
	}
	return 0;
}

void service_job_free_items(struct proto_reply *rep)
{
	free(rep->items);
	free(rep->reasons);
	free(rep->lines);
	free(rep->token_sets);
	free(rep->token_set_start);
	rep->items = NULL;
	rep->reasons = NULL;
	rep->lines = NULL;
	rep->token_sets = rep->token_set_start = NULL;
	rep->n_token_sets = 0;
}

