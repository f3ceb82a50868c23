/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One message with a descriptor attached (SCM_RIGHTS), sent or taken:
 * how ftidxd hands a filter session's socket to a client, and how both
 * ends of a session send a frame with the socket its answer goes to.
 * Shared by ftidxd and the drop-in, which needs nothing but libc.
 */
#pragma once

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Send @len bytes of @data on socket @sock as one message, with @fd
 * attached unless it is negative (it stays the caller's), with send
 * @flags. sendmsg()'s count, or -errno; an interrupted call is made
 * again. */
static inline ssize_t fdpass_send(int sock, const void *data, size_t len, int fd, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(control.buf, 0, sizeof(control.buf));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* The first single descriptor that received message @msg carries, into
 * *@fd unless it holds one already (>= 0). */
static inline void fdpass_received(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c && *fd < 0; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
}
