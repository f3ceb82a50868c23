/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HITS: which functions of a filter fire, and how often (service-hits.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct service;

/* A finished run's reply to its requester; @requester went away (its
 * run is cut short, with no reply). */
void service_hits_complete(struct service *s,
			   void (*deliver)(void *requester, struct proto_buf *frame));
void service_hits_forget(struct service *s, void *requester);

/* Start a HITS run: SERVICE_LATER, or an answer now in @out (0), or
 * -ENOMEM. */
int service_hits_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       void *requester, struct proto_buf *out);
/* CANCEL: cut @requester's run @id short; it answers with what it has. */
void service_hits_cancel(struct service *s, void *requester, uint32_t id);
/* Stop a run in progress and wait for its thread (the service goes). */
void service_hits_shutdown(struct service *s);
