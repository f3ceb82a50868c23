/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies that say one thing: a status and a message (see service-reply.h). */
#include <errno.h>

#include "service-reply.h"
#include "service-state.h"

int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	struct proto_reply rep = {
		.type = type,
		.status = status,
		.generation = s->generation,
		.message = why,
		.map_flags = s->stale ? FTIDX_MAP_BEHIND : 0,
		.newest_generation = s->generation,
	};

	return proto_encode_reply(out, id, &rep);
}

int service_reply_version(struct service *s, uint32_t id, bool may_write, struct proto_buf *out)
{
	struct proto_reply rep = {
		.type = FTIDX_MSG_VERSION,
		.generation = s->generation,
		.message = "",
		.proto_version = FTIDX_PROTO_VERSION,
		.proto_version_min = FTIDX_PROTO_VERSION_MIN,
		.role = may_write ? FTIDX_ROLE_WRITE : FTIDX_ROLE_READ,
		.capabilities = FTIDX_CAP_CHANGE | FTIDX_CAP_PER_TOKEN | FTIDX_CAP_CANCEL |
				FTIDX_CAP_REMOVE_INSTANCE | FTIDX_CAP_LIST_ADDRESSES |
				FTIDX_CAP_ALLOW_EMPTY | FTIDX_CAP_READ_MAP | FTIDX_CAP_PROGRESS |
				FTIDX_CAP_SESSIONS |
				(s->completion_fd >= 0 ? FTIDX_CAP_SHOW : 0) |
				(s->real_tracefs && s->completion_fd >= 0 ? FTIDX_CAP_HITS : 0),
		.daemon_version = FTIDX_VERSION,
	};

	return proto_encode_reply(out, id, &rep);
}

int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	return service_reply_plain(s, FTIDX_MSG_ERROR, id, status, why, out);
}
int service_reply_too_big(struct service *s, uint16_t type, uint32_t id, struct proto_buf *out)
{
	return service_reply_plain(s, type, id, E2BIG,
				   "the patterns' own matches come to more than one reply can "
				   "carry: ask without per-pattern results, or in smaller batches",
				   out);
}

