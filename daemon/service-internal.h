/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's state, shared by the files that handle its requests
 * (service.c, service-hits.c). Nothing outside them includes this.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hits.h"
#include "map.h"
#include "proto.h"
#include "writer.h"

/* What ftidx last wrote to one filter file, as the state it left. */
struct written {
	char *instance; /* "" for the top level */
	uint16_t file;
	uint32_t *indices;
	size_t n;
	struct written *next;
};

struct service {
	struct map *map;
	uint64_t generation;
	uint64_t built_at_ns;
	const struct writer_io *io;
	struct writer_io tracing_io; /* writer_io_tracing, told what it reads back */
	bool real_tracefs;
	bool stale;
	uint32_t clients;
	char release[128];
	struct written *written;
	struct hits *hits; /* the HITS run in progress, if any */
};

/* Before a request: rebuild the map if a module change is pending or the
 * kernel's record count moved. 0 or -errno. */
int service_catch_up(struct service *s);

/*
 * Merge sorted @a with sorted @add, leaving out sorted @drop, into a new
 * array (NULL: out of memory): the state a write leaves, from the one
 * before, or a filter less its notrace. O(na + nadd + ndrop).
 */
uint32_t *service_merge_sets(const uint32_t *a, size_t na, const uint32_t *add, size_t nadd,
			     const uint32_t *drop, size_t ndrop, size_t *n_out);

/* A reply with a status and a message only. */
int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out);
