/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instances ftidxd created for its clients; REMOVE_INSTANCE (service-instances.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct service;

/* ftidxd created instance @name for a client: REMOVE_INSTANCE may remove it. */
void service_instances_created(struct service *s, const char *name);
/* Instance @name is gone: it and what ftidx wrote there are forgotten. */
void service_instances_removed(struct service *s, const char *name);
void service_instances_free(struct service *s);
/* INSTANCES: the instances of the tracing directory, each marked if
 * ftidxd created it. */
int service_instances_list(struct service *s, const struct proto_request *req, uint32_t id,
			   struct proto_buf *out);
int service_instances_remove(struct service *s, const struct proto_request *req, uint32_t id,
				  struct proto_buf *out);
