/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's state and request handling, without any I/O loop: it owns
 * the map and its generation, answers decoded requests with encoded
 * replies, and drives the writer. The server feeds it; tests can too.
 * This is the dispatcher's face (service.c); the map's is service-map.h,
 * crash recovery's service-recover.h, simple replies' service-reply.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "service-jobs.h"
#include "writer.h"

struct service;

/*
 * Load the map from the tracing directory (tracing_init() done). @io is
 * how filters are written (NULL: the tracing directory). Free with
 * service_free().
 */
int service_new(struct service **out, const struct writer_io *io);
struct service *service_free(struct service *s);

/*
 * @drain, called right before every filter write, takes in the module
 * uevents already queued (marking the map stale if a module came or
 * went): a change the kernel has announced is never written across.
 * NULL: none.
 */
void service_set_uevent_drain(struct service *s, void (*drain)(void *ctx), void *ctx);

/* Prove each write by reading the filter back before answering
 * (--verify=full), instead of by the map's fences around it. */
void service_set_verify_full(struct service *s, bool full);

/* How long a write waits for a current map, in s (SERVICE_DEFAULT_MAP_WAIT_S). */
void service_set_map_wait(struct service *s, unsigned seconds);

/* How long a query waits for a map being rebuilt, in ms
 * (SERVICE_DEFAULT_READ_WAIT_MS). */
void service_set_read_wait(struct service *s, unsigned ms);

/* The path of the socket it serves, for STATUS ("" until said). */
void service_set_socket_path(struct service *s, const char *path);

/* Connected clients, for STATUS. */
void service_set_clients(struct service *s, uint32_t n);

/*
 * Work on @job (service-jobs.h) until CLOCK_MONOTONIC passes @deadline_ns:
 * it returns 0, SERVICE_MORE, SERVICE_LATER, SERVICE_BLOCKED or -errno,
 * as service-jobs.h says.
 */
int service_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
		 struct proto_buf *out);

/*
 * After a step that left @job waiting or unfinished (SERVICE_BLOCKED,
 * SERVICE_MORE): a PROGRESS frame for it appended to @out if its client
 * asked for them (FTIDX_REQ_PROGRESS) and one is due, the first
 * SERVICE_PROGRESS_NS after it came, then one per SERVICE_PROGRESS_NS.
 * 0 or -ENOMEM.
 */
#define SERVICE_PROGRESS_NS 1000000000ull
int service_job_progress(struct service *s, struct service_job *job, struct proto_buf *out);

/* A job taken to its end in one go, deferred work waited for: 0 (the
 * reply in @out) or -errno, as above. For tests and tools. */
int service_handle(struct service *s, const struct proto_request *req, uint32_t id,
		   struct proto_buf *out);

/* Readable when deferred work is done: then call service_complete(). */
int service_completion_fd(const struct service *s);

/* Hand each finished deferred reply to @deliver with its requester. */
void service_complete(struct service *s, void (*deliver)(void *requester, struct proto_buf *frame));

/* @requester went away: its deferred work is cut short, with no reply. */
void service_forget(struct service *s, void *requester);

/* CANCEL: cut @requester's deferred request @id short; it answers with
 * what it has (ECANCELED). Nothing happens if it has answered already. */
void service_cancel(struct service *s, void *requester, uint32_t id);
