/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's state and request handling, without any I/O loop: it owns
 * the map and its generation, answers decoded requests with encoded
 * replies, and drives the writer. The server feeds it; tests can too.
 */
#pragma once

#include <stdbool.h>
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

/* Prove each write by reading the filter back before answering
 * (--verify=full), instead of by the map's fences around it. */
void service_set_verify_full(struct service *s, bool full);

/*
 * Where intent records go (the runtime directory): writes are crash-safe
 * from then on. 0, or -errno when @dir is not a writable directory (then
 * they are not, and it is said).
 */
int service_set_state_dir(struct service *s, const char *dir);

/* At start, before serving: finish or undo a write a crash interrupted,
 * from its intent record (STATUS then says what was found and done). */
void service_recover(struct service *s);

/* Connected clients, for STATUS. */
void service_set_clients(struct service *s, uint32_t n);

/*
 * Answer @req (id @id, from @requester, which the service only hands
 * back) with one frame appended to @out: returns 0, or -ENOMEM. A request
 * whose answer takes time (HITS) returns SERVICE_LATER with nothing in
 * @out: its work goes on off the caller's thread, and its reply comes
 * through service_complete() once service_completion_fd() is readable.
 */
#define SERVICE_LATER 1
int service_handle(struct service *s, const struct proto_request *req, uint32_t id,
		   void *requester, struct proto_buf *out);

/* Readable when deferred work is done: then call service_complete(). */
int service_completion_fd(const struct service *s);

/* Hand each finished deferred reply to @deliver with its requester. */
void service_complete(struct service *s, void (*deliver)(void *requester, struct proto_buf *frame));

/* @requester went away: its deferred work is cut short, with no reply. */
void service_forget(struct service *s, void *requester);

/* CANCEL: cut @requester's deferred request @id short; it answers with
 * what it has (ECANCELED). Nothing happens if it has answered already. */
void service_cancel(struct service *s, void *requester, uint32_t id);

/* VERSION, for a client that may change filters or not (@may_write). */
int service_reply_version(struct service *s, uint32_t id, bool may_write, struct proto_buf *out);

/* A reply of @type (a request type) with a status and a message only. */
int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out);

/* Answer an undecodable frame: an FTIDX_MSG_ERROR frame with @status, @why. */
int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out);
