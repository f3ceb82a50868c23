/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies of a status and a message (service-reply.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct service;

/* The reply to a request whose per-token matches would not fit. */
int service_reply_too_big(struct service *s, uint16_t type, uint32_t id, struct proto_buf *out);

/* VERSION, for a client that may change filters or not (@may_write). */
int service_reply_version(struct service *s, uint32_t id, bool may_write, struct proto_buf *out);

/* A reply of @type (a request type) with a status and a message only. */
int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out);

/* Answer an undecodable frame: an FTIDX_MSG_ERROR frame with @status, @why. */
int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out);
