/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hostile local user, for the access tests. Each mode opens many
 * connections to ftidxd, does its worst with them, keeps them open for
 * SECONDS (or until killed), and prints what the daemon did about it:
 *
 *   hostile-clients SOCKET stall SENDERS HOLDERS REQUESTS SECONDS
 *       SENDERS connections each ask for REQUESTS full lists and never
 *       read a reply; HOLDERS more say nothing. Prints how many
 *       connections the daemon kept, and how many it refused or dropped.
 *   hostile-clients SOCKET declare N BYTES SENT SECONDS
 *       N connections each send a RESOLVE header that declares a body of
 *       BYTES, and then only SENT bytes of it. Prints how many were
 *       dropped.
 *   hostile-clients SOCKET globs N COUNT SECONDS
 *       N connections each send one RESOLVE of COUNT distinct globs that
 *       each cost a scan of every line ("*LETTERS*e?*"), and read what
 *       comes back. Prints how many were answered.
 *   hostile-clients SOCKET sessions N BYTES SECONDS
 *       One connection opens N filter sessions of set_ftrace_filter
 *       (appending) and writes BYTES of names to each, as libc would
 *       (plain messages), keeping them open. Prints how many were opened
 *       and how many refused.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
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

static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int *open_all(const char *path, int n)
{
	int *fds = calloc((size_t)n, sizeof(*fds));

	for (int i = 0; fds && i < n; i++)
		fds[i] = connect_to(path);
	return fds;
}

static int count_let_go(const int *fds, int n)
{
	int gone = 0;

	for (int i = 0; i < n; i++)
		gone += fds[i] < 0 || let_go(fds[i]);
	return gone;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static int stall(const char *path, int senders, int holders, int requests, int seconds)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	int n = senders + holders, *fds, gone;
	struct proto_buf b;

	proto_buf_init(&b);
	for (int i = 0; i < requests; i++)
		proto_encode_request(&b, (uint32_t)i + 1, &req);
	fds = open_all(path, n);
	if (!fds || b.failed)
		return 1;
	for (int i = 0; i < senders; i++)
		if (fds[i] >= 0)
			(void)!send(fds[i], b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	proto_buf_deinit(&b);
	sleep((unsigned)seconds);
	gone = count_let_go(fds, n);
	printf("stall-clients: %d connections, %d kept by ftidxd, %d refused or dropped\n", n,
	       n - gone, gone);
	close_all(fds, n);
	return 0;
}

static int declare(const char *path, int n, size_t bytes, size_t sent, int seconds)
{
	struct ftidx_frame_header h = { FTIDX_PROTO_MAGIC, FTIDX_PROTO_VERSION, FTIDX_MSG_RESOLVE,
					1, (uint32_t)bytes };
	char *body = calloc(1, sent ? sent : 1);
	int *fds = open_all(path, n), gone;

	if (!fds || !body)
		return 1;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && (send_all(fds[i], &h, sizeof(h)) < 0 ||
				    send_all(fds[i], body, sent) < 0)) {
			close(fds[i]);
			fds[i] = -1;
		}
	free(body);
	printf("declare: %d connections sent a header of %zu bytes and %zu of them\n", n, bytes,
	       sent);
	fflush(stdout);
	sleep((unsigned)seconds);
	gone = count_let_go(fds, n);
	printf("declare: %d connections, %d kept by ftidxd, %d dropped\n", n, n - gone, gone);
	close_all(fds, n);
	return 0;
}

/* "*" LETTERS "*e?*", LETTERS spelling @v in base 26: distinct for each
 * @v, and a full glob, which costs the daemon a test of every line. */
static void glob_of(char *out, size_t size, unsigned long v)
{
	size_t n = 0;

	out[n++] = '*';
	do {
		out[n++] = (char)('a' + v % 26);
		v /= 26;
	} while (v && n < size - 6);
	memcpy(out + n, "*e?*", 5);
}

static int globs(const char *path, int n, int count, int seconds)
{
	int *fds = open_all(path, n), answered = 0;
	time_t end = time(NULL) + seconds;
	unsigned *got;
	char (*text)[32] = calloc((size_t)count, sizeof(*text));
	const char **tokens = calloc((size_t)count, sizeof(*tokens));

	if (!fds || !text || !tokens)
		return 1;
	for (int i = 0; i < n; i++) {
		struct proto_request req = { .type = FTIDX_MSG_RESOLVE, .n_tokens = (uint32_t)count,
					     .tokens = tokens };
		struct proto_buf b;

		for (int t = 0; t < count; t++) {
			glob_of(text[t], sizeof(text[t]), (unsigned long)i * (unsigned long)count + t);
			tokens[t] = text[t];
		}
		proto_buf_init(&b);
		if (fds[i] >= 0 &&
		    (proto_encode_request(&b, 1, &req) < 0 || send_all(fds[i], b.data, b.len) < 0)) {
			close(fds[i]);
			fds[i] = -1;
		}
		proto_buf_deinit(&b);
	}
	free(tokens);
	free(text);
	printf("globs: %d connections sent %d distinct globs each\n", n, count);
	fflush(stdout);
	/* read whatever comes back, until the time is up */
	got = calloc((size_t)n, sizeof(*got));
	while (got && time(NULL) < end) {
		struct pollfd pfd[1024];
		static char buf[1 << 16];
		int m = n < 1024 ? n : 1024;

		for (int i = 0; i < m; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfd, (nfds_t)m, 200) <= 0)
			continue;
		for (int i = 0; i < m; i++) {
			ssize_t r;

			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 && !got[i]++)
				answered++;
			if (r == 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	printf("globs: %d of %d connections answered\n", answered, n);
	free(got);
	close_all(fds, n);
	return 0;
}

/* One SESSION on @fd: the session's socket, or -1 (refused). */
static int open_session(int fd, uint32_t id)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION, .file = FTIDX_FILE_FILTER,
				     .instance = "" };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct ftidx_frame_header h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	static char body[1 << 16];
	struct proto_buf b;
	int session = -1;

	proto_buf_init(&b);
	if (proto_encode_request(&b, id, &req) < 0 || send_all(fd, b.data, b.len) < 0 ||
	    recvmsg(fd, &msg, MSG_WAITALL) != (ssize_t)sizeof(h) || h.length > sizeof(body) ||
	    recv(fd, body, h.length, MSG_WAITALL) != (ssize_t)h.length) {
		proto_buf_deinit(&b);
		return -1;
	}
	proto_buf_deinit(&b);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_type == SCM_RIGHTS)
			memcpy(&session, CMSG_DATA(c), sizeof(int));
	return session;
}

static int sessions(const char *path, int n, size_t bytes, int seconds)
{
	int fd = connect_to(path), opened = 0, *fds = calloc((size_t)n, sizeof(int));
	static char names[60000];
	size_t len = 0;

	/* one name, over and over: each a token a session keeps */
	while (len + 9 < sizeof(names)) {
		memcpy(names + len, "vfs_read ", 9);
		len += 9;
	}
	if (fd < 0 || !fds)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = open_session(fd, (uint32_t)i + 1);
		opened += fds[i] >= 0;
		for (size_t sent = 0; fds[i] >= 0 && sent < bytes; sent += len)
			if (send(fds[i], names, len, MSG_NOSIGNAL) < 0)
				break;
	}
	printf("sessions: %d asked, %d opened, %d refused\n", n, opened, n - opened);
	fflush(stdout);
	sleep((unsigned)seconds);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "";

	if (strcmp(mode, "stall") == 0 && argc == 7)
		return stall(argv[1], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	if (strcmp(mode, "declare") == 0 && argc == 7)
		return declare(argv[1], atoi(argv[3]), strtoul(argv[4], NULL, 10),
			       strtoul(argv[5], NULL, 10), atoi(argv[6]));
	if (strcmp(mode, "globs") == 0 && argc == 6)
		return globs(argv[1], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (strcmp(mode, "sessions") == 0 && argc == 6)
		return sessions(argv[1], atoi(argv[3]), strtoul(argv[4], NULL, 10), atoi(argv[5]));
	fprintf(stderr, "usage: hostile-clients SOCKET stall SENDERS HOLDERS REQUESTS SECONDS\n"
			"       hostile-clients SOCKET declare N BYTES SENT SECONDS\n"
			"       hostile-clients SOCKET globs N COUNT SECONDS\n"
			"       hostile-clients SOCKET sessions N BYTES SECONDS\n");
	return 2;
}
