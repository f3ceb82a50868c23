/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filter sessions (docs/filter-sessions.md): a program under ftidx exec
 * that opens a filter file for writing holds one end of a SOCK_SEQPACKET
 * socket pair; ftidxd holds the other, and with it the session's state.
 * What the program writes is applied with the kernel's semantics; when
 * the last reference to the program's end is closed (the kernel's
 * release), the session is committed by ftidxd's writer.
 *
 * The server (server.c) owns the sessions and answers SESSION and
 * SESSION_SYNC through them; the sessions read their sockets on the same
 * loop, and commit through the server as a client would (a FILTER
 * request on a connection of their own, in the turn of the session's
 * owner).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "proto.h"

struct event_base;
struct service;
struct sessions;

/* Who opened a session: its commit is a request of theirs, and the log
 * names them, not ftidxd. */
struct session_owner {
	enum access_role role;
	uid_t uid;
	pid_t pid;     /* 0: unknown */
	char comm[17]; /* as the log names a client */
};

struct sessions_hooks {
	/* Serve connected socket @fd (consumed) as a client of @owner. */
	int (*adopt)(void *ctx, int fd, const struct session_owner *owner);
	/* The deferred answer @frame for @requester, with the socket @fd
	 * (consumed) of session @session to pass along, or -1. A socket that
	 * cannot be passed is for the hook to discard (sessions_discard()). */
	void (*deliver)(void *ctx, void *requester, struct proto_buf *frame, int fd,
			uint64_t session);
	void *ctx;
};

#define SESSIONS_LATER 1 /* answered later, through the deliver hook */
#define SESSIONS_PER_USER 128
#define SESSIONS_MAX 1024
#define SESSION_MAX_BYTES (FTIDX_FRAME_MAX - 65536) /* tokens kept by one session */
#define SESSION_MAX_TOKENS (FTIDX_BATCH_MAX - 1)

/* Sessions on @base, served by @svc; all of them together keep at most
 * @budget bytes of tokens. NULL when out of memory. */
struct sessions *sessions_new(struct event_base *base, struct service *svc,
			      const struct sessions_hooks *hooks, size_t budget);
/* Every session goes, uncommitted (the daemon stops). */
struct sessions *sessions_free(struct sessions *ss);

/*
 * SESSION @req (id @id) from @requester, a client @owner: 0
 * with the reply in @out and the socket of session *@session to pass with
 * it in *@fd (or -1 on a refusal), or SESSIONS_LATER when earlier
 * sessions of the file are being committed: the answer comes through the
 * deliver hook once they are. -ENOMEM.
 */
int sessions_open(struct sessions *ss, void *requester, uint32_t id,
		  const struct session_owner *owner, const struct proto_request *req,
		  struct proto_buf *out, int *fd, uint64_t *session);

/* The socket of session @session could not be handed over: it goes,
 * uncommitted. */
void sessions_discard(struct sessions *ss, uint64_t session);

/* SESSION_SYNC @req: 0 with the reply in @out, or SESSIONS_LATER, or
 * -ENOMEM, as sessions_open(). */
int sessions_sync(struct sessions *ss, void *requester, uint32_t id,
		  const struct proto_request *req, struct proto_buf *out);

/* @requester went away: nothing is answered to it any more. */
void sessions_forget(struct sessions *ss, void *requester);

/* Sessions open and at their end not committed yet, for tests and logs. */
size_t sessions_count(const struct sessions *ss);
