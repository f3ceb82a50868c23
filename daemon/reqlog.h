/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The log of requests: who asked (uid, pid and command, as the kernel
 * says at connect time), what (the request by name, and the files,
 * instance and patterns it touches), and the answer (done, with what a
 * change did, or refused, with why). Whatever changes tracing (FILTER,
 * CHANGE, REMOVE_INSTANCE, HITS) is logged at info, done or refused, so
 * that the journal says who changed what; everything else at debug (-v).
 * A user without write access who keeps asking for refused changes is
 * logged a few times, then counted (see reqlog.c): the journal is not
 * theirs to flood.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* Who a client is: from the socket's credentials and /proc. */
struct reqlog_peer {
	uid_t uid;
	pid_t pid;     /* 0: unknown */
	char comm[17]; /* "?" when /proc does not say (ProtectProc= hides
			  other users' processes from the service) */
	bool writer;   /* may change filters */
};

/* The peer of connected socket @fd, with @uid and role @writer as
 * admission decided them. */
void reqlog_peer_init(struct reqlog_peer *p, int fd, uid_t uid, bool writer);

/* "uid 0 pid 4242 (trace-cmd)", for other log lines about a client. */
const char *reqlog_peer_name(const struct reqlog_peer *p, char *buf, size_t size);

/*
 * Request @req of @p was answered with reply frame @frame (a whole
 * frame, header included; NULL: nothing was sent), @took_ns after it
 * came. @outcome: the service's word on what a change did, or NULL.
 */
void reqlog_answered(const struct reqlog_peer *p, const struct proto_request *req,
		     const struct proto_buf *frame, uint64_t took_ns, const char *outcome);

/* Its answer comes later (HITS, STATUS waiting for the audit, SHOW). */
void reqlog_later(const struct reqlog_peer *p, const struct proto_request *req);

/* ...and here it is. */
void reqlog_delivered(const struct reqlog_peer *p, const struct proto_buf *frame);

/* A frame that could not be taken (a warning if @malformed, else a
 * request of a later version's): @what ("a malformed request"), @why. */
void reqlog_bad_frame(const struct reqlog_peer *p, uint16_t type, bool malformed,
		      const char *what, const char *why);
