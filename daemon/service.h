/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's state and request handling, without any I/O loop: it owns
 * the map and its generation, answers decoded requests with encoded
 * replies, and drives the writer. The server feeds it; tests can too.
 */
#pragma once

#include <stdint.h>

#include "proto.h"
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
 * Re-read the map if the kernel's record count or its module list (see
 * modules.h) no longer match it, or always with @force. The generation
 * goes up when what was read differs from the map: a forced re-read of an
 * unchanged kernel keeps it.
 */
int service_refresh(struct service *s, bool force);
uint64_t service_generation(const struct service *s);
/* Lines in the current map, placeholders included. */
uint32_t service_map_size(const struct service *s);

/* A module change is pending: the map may be out of date until it is
 * rebuilt. Requests rebuild first while it is set; STATUS reports it. */
void service_set_stale(struct service *s, bool stale);
bool service_stale(const struct service *s);

/*
 * @drain, called right before every filter write, takes in the module
 * uevents already queued (marking the map stale if a module came or
 * went): a change the kernel has announced is never written across.
 * NULL: none.
 */
void service_set_uevent_drain(struct service *s, void (*drain)(void *ctx), void *ctx);

/* Connected clients, for STATUS. */
void service_set_clients(struct service *s, uint32_t n);

/* Answer @req (id @id) with one frame appended to @out. 0 or -ENOMEM. */
int service_handle(struct service *s, const struct proto_request *req, uint32_t id,
		   struct proto_buf *out);

/*
 * HITS, which takes time: service_hits_begin() starts the run and returns
 * 1 with nothing in @out, or answers at once (an error) and returns 0, or
 * -ENOMEM. While it runs, call service_hits_drain() every few hundred ms;
 * service_hits_end() stops it and appends the reply. One run at a time;
 * service_hits_cancel() drops it (its client went away).
 */
int service_hits_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out);
void service_hits_drain(struct service *s);
int service_hits_end(struct service *s, uint32_t id, struct proto_buf *out);
void service_hits_cancel(struct service *s);

/* A reply of @type (a request type) with a status and a message only. */
int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out);

/* Answer an undecodable frame: an FTIDX_MSG_ERROR frame with @status, @why. */
int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out);
