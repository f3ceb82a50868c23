/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libftidx's files share, each calling only those below it:
 *   libftidx-request.c  request objects, several files at once, poll loops
 *   libftidx.c          the requests of protocol version 1
 *   libftidx-results.c  results and their accessors, STATUS, HITS
 *   libftidx-conn.c     the connection: socket, call, frames, timeout, errors
 * Nothing outside client/ includes it.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftidx.h"
#include "proto.h"

/* The one request a connection has in flight: its frame going out, its
 * reply coming in. */
struct ftidx_call {
	bool active;
	uint16_t type;
	uint32_t id;
	int64_t extra_ms;         /* a reply may take this much past the timeout */
	struct proto_buf out;     /* the frame (and a CANCEL after it) */
	size_t sent;
	size_t frame_len;         /* the request's own frame, without a CANCEL */
	uint64_t pinned;          /* a write's generation, or 0 */
	bool resent;              /* sent once more on a new connection already */
	struct ftidx_frame_header h;
	size_t got_header;
	uint8_t *body;
	size_t got_body;
	bool done;                /* the whole reply is in */
};

struct ftidx {
	atomic_uint refs; /* references may be taken and dropped from any thread */
	int fd;           /* kept across reopens: dup3() puts each new socket here */
	char *socket_path; /* where to reopen it */
	pid_t pid;        /* the process the socket was opened in: a child opens its own */
	unsigned reconnects;    /* sockets opened after the first */
	unsigned calls_on_socket; /* replies taken from this socket */
	uint32_t next_id;
	unsigned timeout_ms;
	bool broken; /* a reply was lost midway: the stream is out of step */
	char *error;
	struct ftidx_call call;
	uint16_t peer_version;  /* the daemon's, from its last reply; 0: none yet */
	bool asked_version;     /* VERSION answered (or refused by an older daemon) */
	uint64_t capabilities;  /* FTIDX_CAN_*, once asked */
	char *daemon_version;
};

struct ftidx_result {
	struct proto_reply rep;
	uint8_t *frame;      /* the reply body, which @rep points into */
	uint32_t *asked;     /* names: the indices asked for */
	uint32_t *reason_of; /* resolve, filter: per token, its reason's place */
};

void lib_set_error(struct ftidx *c, const char *msg);

/* Begin @req as @c's call in flight. 0, -EBUSY (one is in flight
 * already), -EPIPE (the connection is out of step) or -errno. */
int lib_call_start(struct ftidx *c, const struct proto_request *req, int64_t extra_ms);
/* Move @c's call on without blocking: 1 when its reply is in, 0 when the
 * socket must be ready first (lib_call_events()), or -errno. */
int lib_call_io(struct ftidx *c);
short lib_call_events(const struct ftidx *c);
/* Decode the reply that came in and end the call: -status of the reply
 * with *@out set, or a protocol error with *@out NULL. */
int lib_call_finish(struct ftidx *c, struct ftidx_result **out);
/* Start, wait (within the timeout) and finish. */
int lib_transact(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
		 struct ftidx_result **out);

/* Where each token's reason is among the reasons, for O(1) lookups. */
int lib_index_reasons(struct ftidx_result *res);

/* Hand @res to *@out when it has something for the caller, else free it. */
int lib_finish(int r, struct ftidx_result *res, struct ftidx_result **out);

/* The results of HITS as the public struct, owning @res. */
int lib_hits_box(struct ftidx_result *res, struct ftidx_hits **out);
