/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHOW: a filter file as it is (service-show.c). */
#pragma once

#include "proto.h"

struct service;

/* Queue a SHOW: SERVICE_LATER (the answer comes through
 * service_show_complete()), or an answer now in @out (0), or -ENOMEM. */
int service_show_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       void *requester, struct proto_buf *out);
/* A finished read: its answer to its requester, and the next read begun. */
void service_show_complete(struct service *s,
			   void (*deliver)(void *requester, struct proto_buf *frame));
/* @requester went away: its SHOW, if one waits, is forgotten. */
void service_show_forget(struct service *s, void *requester);
/* Wait for the read under way and drop every SHOW (the service goes). */
void service_show_shutdown(struct service *s);
