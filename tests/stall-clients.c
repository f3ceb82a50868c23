/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hostile local user, for the access tests: opens SENDERS + HOLDERS
 * connections to ftidxd; each sender asks for REQUESTS full lists and
 * never reads a reply, each holder says nothing; all stay open for
 * SECONDS. Prints how many connections the daemon took and how many it
 * refused or dropped.
 *
 *   stall-clients SOCKET SENDERS HOLDERS REQUESTS SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether the daemon has let go of @fd: it answered with an ERROR frame
 * (refused, EUSERS) or closed the connection. Reads what is there. */
static bool let_go(int fd)
{
	struct ftidx_frame_header h;
	static char buf[1 << 16];
	ssize_t n = recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);

	if (n == (ssize_t)sizeof(h) && h.type == (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY))
		return true;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || errno != EAGAIN;
}

int main(int argc, char **argv)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	int senders, holders, requests, seconds, n, *fds, gone = 0;
	struct proto_buf b;

	if (argc != 6) {
		fprintf(stderr, "usage: stall-clients SOCKET SENDERS HOLDERS REQUESTS SECONDS\n");
		return 2;
	}
	senders = atoi(argv[2]);
	holders = atoi(argv[3]);
	requests = atoi(argv[4]);
	seconds = atoi(argv[5]);
	n = senders + holders;
	fds = calloc((size_t)n, sizeof(*fds));
	proto_buf_init(&b);
	for (int i = 0; i < requests; i++)
		proto_encode_request(&b, (uint32_t)i + 1, &req);
	if (!fds || b.failed)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = connect_to(argv[1]);
		if (fds[i] >= 0 && i < senders)
			(void)!send(fds[i], b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	proto_buf_deinit(&b);
	sleep((unsigned)seconds);
	for (int i = 0; i < n; i++)
		gone += fds[i] < 0 || let_go(fds[i]);
	printf("stall-clients: %d connections, %d kept by ftidxd, %d refused or dropped\n", n,
	       n - gone, gone);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}
