/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Socket activation and readiness notification; see systemd.h for the
 * protocols and why they are not taken from libsystemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "systemd.h"

static int parse_positive(const char *s, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EBADMSG;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out == 0 ? -EBADMSG : 0;
}

/* The passed fd must be something ftidxd can serve clients on. */
static int check_listening_unix_stream(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, listening = 0;
	socklen_t optlen = sizeof(int);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	if (ss.ss_family != AF_UNIX)
		return -EAFNOSUPPORT;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0)
		return -errno;
	if (type != SOCK_STREAM)
		return -EPROTOTYPE;
	optlen = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0)
		return -errno;
	return listening ? 0 : -EINVAL;
}

int systemd_listen_fd(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	int fd = SYSTEMD_LISTEN_FDS_START, flags, r;
	unsigned long pid, n;

	if (!fds_s) {
		r = 0;
		goto out;
	}
	r = parse_positive(pid_s, &pid);
	if (r < 0)
		goto out;
	/* Variables inherited from a parent that was activated itself. */
	if (pid != (unsigned long)getpid()) {
		r = 0;
		goto out;
	}
	r = parse_positive(fds_s, &n);
	if (r < 0)
		goto out;
	if (n != 1) {
		r = -E2BIG;
		goto out;
	}
	r = check_listening_unix_stream(fd);
	if (r < 0)
		goto out;
	/* libevent wants it non-blocking; no helper we run should inherit it. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = fd;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	socklen_t salen;
	size_t len;
	ssize_t n;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 || len > sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	/* A path needs its NUL inside sun_path; an abstract name does not. */
	if (path[0] == '/' && len == sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(state) ? 1 : -EMSGSIZE;
}

int systemd_notifyf(const char *fmt, ...)
{
	_cleanup_free_ char *state = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&state, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return systemd_notify(state);
}
