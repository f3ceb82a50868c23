/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The filter sessions' way into the service (see service-session.h): a
 * token's verdict on the map in service, and the kernel's file through
 * the writer's I/O, so that only the service touches tracefs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "growbuf.h"
#include "log.h"
#include "map.h"
#include "pattern.h"
#include "proto.h"
#include "resolve.h"
#include "service-map.h"
#include "service-session.h"
#include "service-state.h"
#include "tracing.h"
#include "writer.h"

static bool is_graph(uint16_t file)
{
	return file == FTIDX_FILE_GRAPH || file == FTIDX_FILE_GRAPH_NOTRACE;
}

/*
 * Whether @body is a plain function name, what most writers write: no
 * glob, no command, no index, no placeholder, no byte the resolver
 * refuses. Then the map's hash of names says what the resolver would,
 * without a batch's setup for each token.
 */
static bool plain_name(const char *body, size_t *len)
{
	const unsigned char *p = (const unsigned char *)body;

	for (; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ':' || *p == '*' || *p == '?' || *p == '[' ||
		    *p == '\\')
			return false;
	*len = (size_t)(p - (const unsigned char *)body);
	return *len > 0 && !isdigit((unsigned char)body[0]) && *len <= PATTERN_MAX &&
	       !pattern_is_placeholder_name(body, *len);
}

enum session_verdict service_session_verdict(struct service *s, uint16_t file, const char *token)
{
	const char *body = token + (token[0] == '!');
	struct resolution res;
	enum session_verdict v = SESSION_TO_KERNEL;
	uint32_t pos, n;
	size_t len;

	/* an index means a line of the kernel's list as it is at the write:
	 * the kernel's to take (libtracefs writes them, quickly) */
	if (isdigit((unsigned char)body[0]))
		return SESSION_TO_KERNEL;
	if (is_graph(file) && (token[0] == '!' || strchr(token, ':')))
		return SESSION_TO_KERNEL;
	if (!s->map)
		return SESSION_TO_KERNEL;
	if (plain_name(body, &len)) {
		if (map_find_name(s->map, body, len, map_hash_name(body, len), &pos, &n))
			return SESSION_ACCEPT;
		return service_map_stale(s) ? SESSION_TO_KERNEL : SESSION_NO_MATCH;
	}
	if (resolve_batch(s->map, &s->rules, &token, 1, &res) < 0)
		return SESSION_TO_KERNEL;
	if (res.items[0].status == 0 && res.items[0].matches > 0)
		v = SESSION_ACCEPT;
	else if (res.items[0].status == -ENOENT && !strchr(token, ':') && !service_map_stale(s))
		v = SESSION_NO_MATCH;
	resolution_deinit(&res);
	return v;
}

bool service_session_instance_exists(struct service *s _unused_, const char *instance)
{
	return !instance[0] || tracing_instance_exists(instance);
}

int service_session_kernel_open(struct service *s, const char *instance, uint16_t file,
				bool truncate)
{
	/* (O_APPEND means nothing to the kernel, and keeps a stand-in
	 * directory's plain file as the kernel's would be) */
	return s->io->open(s->io->ctx, instance[0] ? instance : NULL, writer_file_name(file),
			   O_WRONLY | (truncate ? O_TRUNC : O_APPEND));
}

ssize_t service_session_kernel_write(struct service *s, int fd, const char *buf, size_t len)
{
	return s->io->write(s->io->ctx, fd, buf, len);
}

char *service_session_kernel_indices(struct service *s, uint16_t file, const char *const *tokens,
				     size_t n, size_t *len)
{
	struct growbuf text = { 0 };
	struct resolution res;
	char num[16];

	if (is_graph(file) || !s->map || service_map_fence(s) != 0)
		return NULL;
	if (resolve_batch(s->map, &s->rules, tokens, n, &res) < 0 || res.n_failed) {
		resolution_deinit(&res);
		return NULL;
	}
	for (size_t i = 0; i < res.n_enable + res.n_disable; i++) {
		bool add = i < res.n_enable;
		int k = snprintf(num, sizeof(num), "%s%u\n", add ? "" : "!",
				 add ? res.enable[i] : res.disable[i - res.n_enable]);

		growbuf_append(&text, num, (size_t)k);
	}
	growbuf_append(&text, "", 1);
	resolution_deinit(&res);
	if (text.failed) {
		growbuf_deinit(&text);
		return NULL;
	}
	*len = text.len - 1;
	return (char *)text.data;
}

bool service_session_kernel_fence_holds(struct service *s)
{
	return service_map_fence_holds(s);
}

int service_session_kernel_close(struct service *s, int fd)
{
	return s->io->close(s->io->ctx, fd);
}
