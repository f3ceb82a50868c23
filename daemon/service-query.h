/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests that only read: STATUS, RESOLVE, NAMES, LIST (service-query.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct service;
struct service_job;

/* STATUS: answered once the audit has a verdict on every filter ftidx
 * wrote (SERVICE_LATER until then: service_query_status_complete() answers),
 * so that the file is never read on the loop. */
int service_query_status(struct service *s, uint32_t id, void *requester, struct proto_buf *out);
/* Answer the STATUS requests that wait, if the verdicts are all in. */
void service_query_status_complete(struct service *s,
			     void (*deliver)(void *requester, struct proto_buf *frame));
/* @requester went away: its STATUS, if one waits, is forgotten. */
void service_query_status_forget(struct service *s, void *requester);
void service_query_free(struct service *s);
/* RESOLVE, a slice at a time: as service_step(). */
int service_query_resolve(struct service *s, struct service_job *job, uint64_t deadline_ns,
			 struct proto_buf *out);
int service_query_names(struct service *s, const struct proto_request *req, uint32_t id,
			struct proto_buf *out);
int service_query_list(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out);
