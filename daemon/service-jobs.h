/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Requests being answered, and their tokens resolved a slice at a time (service-jobs.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "resolve.h"

struct service;

/*
 * Requests are answered a slice of time at a time, so that one client's
 * large request keeps no one else waiting for long (the server decides
 * whose slice comes next: turns.h). service_job_new() takes request @req
 * (id @id, from @requester, which the service only hands back; @req is
 * not consumed and must outlive the job). service_step() (service.h) works on
 * it until CLOCK_MONOTONIC passes @deadline_ns and returns:
 *   0              answered: one frame appended to @out;
 *   SERVICE_MORE   not yet: step it again later;
 *   SERVICE_LATER  its answer takes time off this thread (HITS): it comes
 *                  through service_complete() once service_completion_fd()
 *                  is readable, and the job is done with;
 *   SERVICE_BLOCKED it waits for the map, which is being rebuilt off this
 *                  thread: step it again after the next service_complete(),
 *                  and every 50 ms or so meanwhile (a read waits no longer
 *                  than --read-wait);
 *   -ENOMEM, -EMSGSIZE (the reply would be too large).
 * A step does at least a little work whatever the deadline. Free the job
 * with service_job_free() after its last step, or to drop it unanswered.
 */
#define SERVICE_LATER 1
#define SERVICE_MORE 2
#define SERVICE_BLOCKED 3
/* The longest a read waits for a rebuild (SERVICE_BLOCKED) before it is
 * answered from the map there is (--read-wait). */
#define SERVICE_DEFAULT_READ_WAIT_MS 150
/* The longest a write waits for the map to be the kernel's while modules
 * keep coming and going (--map-wait): then it is refused, -EAGAIN, and
 * nothing is written. Under the clients' default timeout (120 s). */
#define SERVICE_DEFAULT_MAP_WAIT_S 60
struct service_job;
int service_job_new(struct service *s, const struct proto_request *req, uint32_t id,
		    void *requester, struct service_job **out);
/* How many of the job's tokens are resolved, of how many (0 of 0 before
 * it is pinned to a map). */
void service_job_tokens_done(const struct service_job *job, uint32_t *done, uint32_t *total);
/* What the job's change did, in words, for the log ("" when it has no
 * word on it); owned by @job. */
const char *service_job_outcome(const struct service_job *job);
/* What the job holds in memory now, for the server's budget. */
size_t service_job_bytes(const struct service_job *job);
struct service_job *service_job_free(struct service_job *job);

/* Resolve @n_parts parts of @job's tokens afresh, on the current map. */
void service_job_pin(struct service *s, struct service_job *job, const struct proto_change *parts,
		     size_t n_parts);
/*
 * Go on resolving @job's parts (each a batch of its own, as one file's
 * change) into job->res, each token's own matches too with @per_token:
 * 0 once all are resolved, SERVICE_MORE when @deadline_ns passed first,
 * -ENOMEM, or -E2BIG (per-token matches past what a reply can carry).
 */
int service_job_resolve(struct service *s, struct service_job *job, bool per_token,
			uint64_t deadline_ns);

/*
 * The per-token results of @n_parts resolutions into @rep, over all parts
 * in order, with each token's own matches when the resolutions kept them;
 * a refused token makes @rep's status EINVAL. 0, -ENOMEM or -E2BIG.
 * Release with service_job_free_items() in every case.
 */
int service_job_fill_items(struct proto_reply *rep, const struct resolution *res, size_t n_parts);
/* Free what service_job_fill_items() put in @rep. */
void service_job_free_items(struct proto_reply *rep);
