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

/*
 * A module came or went (a uevent): the map is stale until a rebuild that
 * begins after now is done, and STATUS says so. Requests wait for the
 * rebuild (see service_job_step()); it begins when the kernel has
 * settled, which the caller says with service_settled(): a module's
 * records keep changing until its init is done. 0 or -errno.
 */
void service_set_stale(struct service *s);
int service_settled(struct service *s);
bool service_stale(const struct service *s);
/* Where the module list is read (/proc/modules, or a stand-in's). */
const char *service_modules_path(const struct service *s);

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
 * Where intent records go: @dir, or NULL for the default
 * (intent_default_dir()). Writes are crash-safe from then on. 0, or
 * -errno when @dir cannot be used or is not to be trusted (another user's,
 * or writable by others: see intent_open_dir()); then writes are not
 * crash-safe, which the log and STATUS say.
 */
int service_set_state_dir(struct service *s, const char *dir);

/* At start, before serving: finish or undo a write a crash interrupted,
 * from its intent record (STATUS then says what was found and done). */
void service_recover(struct service *s);

/* Connected clients, for STATUS. */
void service_set_clients(struct service *s, uint32_t n);

/*
 * Requests are answered a slice of time at a time, so that one client's
 * large request keeps no one else waiting for long (the server decides
 * whose slice comes next: turns.h). service_job_new() takes request @req
 * (id @id, from @requester, which the service only hands back; @req is
 * not consumed and must outlive the job). service_job_step() then works on
 * it until CLOCK_MONOTONIC passes @deadline_ns and returns:
 *   0              answered: one frame appended to @out;
 *   SERVICE_MORE   not yet: step it again later;
 *   SERVICE_LATER  its answer takes time off this thread (HITS): it comes
 *                  through service_complete() once service_completion_fd()
 *                  is readable, and the job is done with;
 *   SERVICE_BLOCKED it waits for the map, which is being rebuilt off this
 *                  thread: step it again after the next service_complete();
 *   -ENOMEM, -EMSGSIZE (the reply would be too large).
 * A step does at least a little work whatever the deadline. Free the job
 * with service_job_free() after its last step, or to drop it unanswered.
 */
#define SERVICE_LATER 1
#define SERVICE_MORE 2
#define SERVICE_BLOCKED 3
struct service_job;
int service_job_new(struct service *s, const struct proto_request *req, uint32_t id,
		    void *requester, struct service_job **out);
int service_job_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
		     struct proto_buf *out);
/* What the job holds in memory now, for the server's budget. */
size_t service_job_bytes(const struct service_job *job);
struct service_job *service_job_free(struct service_job *job);

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

/* VERSION, for a client that may change filters or not (@may_write). */
int service_reply_version(struct service *s, uint32_t id, bool may_write, struct proto_buf *out);

/* A reply of @type (a request type) with a status and a message only. */
int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out);

/* Answer an undecodable frame: an FTIDX_MSG_ERROR frame with @status, @why. */
int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out);
