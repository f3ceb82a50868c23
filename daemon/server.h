/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket server: accepts clients on a Unix stream socket, reads
 * frames, hands decoded requests to the service and writes the replies,
 * all in one libevent loop.
 */
#pragma once

#include <stdint.h>

#include "access.h"
#include "service.h"

struct event_base;
struct server;

struct server_limits {
	uint32_t max_clients;     /* connections refused beyond this */
	uint32_t idle_seconds;    /* a client silent this long is dropped (0: never) */
	size_t max_pending_reply; /* stop reading a client whose replies pile up */
	struct access_policy access;
};

#define SERVER_DEFAULT_MAX_CLIENTS 256
#define SERVER_DEFAULT_IDLE_SECONDS 300
#define SERVER_DEFAULT_MAX_PENDING (64u << 20)

/*
 * Listen on @fd (a bound, listening Unix stream socket, consumed) and
 * serve @svc (not consumed). Free with server_free().
 */
int server_new(struct server **out, struct event_base *base, int fd, struct service *svc,
	       const struct server_limits *limits);
struct server *server_free(struct server *srv);

uint32_t server_clients(const struct server *srv);

/*
 * Create, bind and listen on a Unix stream socket at @path with mode
 * @mode and group @group ((gid_t)-1: unchanged). An existing socket at
 * @path is replaced; any other file is left alone (-EEXIST). Returns the
 * fd or -errno.
 */
int server_listen_path(const char *path, unsigned mode, gid_t group);
