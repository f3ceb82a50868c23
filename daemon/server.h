/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket server: accepts clients on a Unix stream socket, reads
 * frames, hands decoded requests to the service and writes the replies,
 * all in one libevent loop.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "service.h"

struct event_base;
struct server;

/*
 * What one local user can take from everyone else is bounded: clients
 * without write access share max_clients less a reserve kept for those
 * with it, and each uid of them may hold max_per_user; a client that
 * leaves its replies unread is dropped after write_seconds. Memory: all
 * clients together may hold memory_budget bytes (replies queued, frames
 * as far as they have arrived, requests being answered), and each user
 * without write access half of it; past either, a connection of the user
 * without write access who holds the most is dropped. Clients with write
 * access are never dropped to make room.
 */
struct server_limits {
	uint32_t max_clients;     /* connections refused beyond this */
	uint32_t max_per_user;    /* connections of one uid without write access */
	uint32_t idle_seconds;    /* a client silent this long is dropped (0: never) */
	uint32_t write_seconds;   /* replies unread this long: dropped (0: never) */
	size_t max_pending_reply; /* stop reading a client whose replies pile up */
	size_t memory_budget;     /* bytes buffered for all clients together */
	struct access_policy access;
};

#define SERVER_DEFAULT_MAX_CLIENTS 256
#define SERVER_DEFAULT_MAX_PER_USER 32
#define SERVER_DEFAULT_IDLE_SECONDS 300
#define SERVER_DEFAULT_WRITE_SECONDS 30
#define SERVER_DEFAULT_MAX_PENDING (16u << 20)
#define SERVER_DEFAULT_MEMORY_BUDGET_MIB 64
#define SERVER_DEFAULT_MEMORY_BUDGET ((size_t)SERVER_DEFAULT_MEMORY_BUDGET_MIB << 20)

/* The longest a request is worked on before whose turn it is is asked
 * again (turns.h): about as long as anyone waits for another's work. */
#define SERVER_SLICE_MS 10

/* The places of max_clients that only clients with write access may take. */
#define SERVER_WRITER_RESERVE(max_clients) ((max_clients) / 8)

/* The defaults above, with the daemon's own uid. */
void server_limits_default(struct server_limits *limits);

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
 * @mode and group @group ((gid_t)-1: unchanged). A socket at @path that
 * no process listens on any more (a daemon that died) is replaced; one a
 * process accepts on is another daemon's (-EADDRINUSE), and any other
 * file is left alone (-EEXIST). Returns the fd or -errno.
 */
int server_listen_path(const char *path, unsigned mode, gid_t group);

/* Whether a process accepts connections on the socket at @path: a live
 * daemon. False for no file, a file that is not a socket, or a socket
 * left behind by one that died. */
bool server_path_answers(const char *path);
