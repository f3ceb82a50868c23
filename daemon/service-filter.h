/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FILTER and CHANGE (service-filter.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct service;
struct service_job;

/* FILTER and CHANGE, a slice at a time: as service_step(). The
 * tokens are resolved in slices; the write, once they are, in one. */
int service_filter(struct service *s, struct service_job *job, uint64_t deadline_ns,
			struct proto_buf *out);

/* Work done off the loop has come in (a rebuild): a failed write's
 * restore, waiting for a current map, goes on. */
void service_filter_complete(struct service *s);

/* At the end: restores not finished are left to recovery at the next
 * start (the intent record stays). */
void service_filter_free_all(struct service *s);
