/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket-activation and notify protocols, against real sockets: the
 * fds and datagrams a service manager would pass and receive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "systemd.h"
#include "testlib.h"

static char dir[] = "/tmp/ftidx-sd-XXXXXX";

/* Put a socket of @type at fd 3, listening if asked, and describe it in
 * the environment as passed to @pid. */
static void pass_fd(int domain, int type, bool listening, const char *pid, const char *fds)
{
	int fd = socket(domain, type, 0);

	if (fd < 0 || dup2(fd, SYSTEMD_LISTEN_FDS_START) < 0) {
		perror("socket");
		exit(1);
	}
	if (fd != SYSTEMD_LISTEN_FDS_START)
		close(fd);
	if (listening) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/listen", dir);
		unlink(sa.sun_path);
		if (bind(SYSTEMD_LISTEN_FDS_START, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(SYSTEMD_LISTEN_FDS_START, 4) < 0) {
			perror("listen");
			exit(1);
		}
	}
	if (pid)
		setenv("LISTEN_PID", pid, 1);
	else
		unsetenv("LISTEN_PID");
	if (fds)
		setenv("LISTEN_FDS", fds, 1);
	else
		unsetenv("LISTEN_FDS");
	setenv("LISTEN_FDNAMES", "ftidxd.socket", 1);
}

static void test_listen_fd(void)
{
	char self[32], other[32];
	int fd, flags;

	snprintf(self, sizeof(self), "%d", (int)getpid());
	snprintf(other, sizeof(other), "%d", (int)getppid());

	pass_fd(AF_UNIX, SOCK_STREAM, true, self, "1");
	fd = systemd_listen_fd();
	CHECK_EQ_INT(fd, SYSTEMD_LISTEN_FDS_START);
	flags = fcntl(SYSTEMD_LISTEN_FDS_START, F_GETFL);
	CHECK(flags >= 0 && (flags & O_NONBLOCK));
	CHECK(fcntl(SYSTEMD_LISTEN_FDS_START, F_GETFD) & FD_CLOEXEC);
	/* consumed: a second call (or a child) sees nothing */
	CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES"));
	CHECK_EQ_INT(systemd_listen_fd(), 0);

	/* meant for another process: ignored, but still cleared */
	pass_fd(AF_UNIX, SOCK_STREAM, true, other, "1");
	CHECK_EQ_INT(systemd_listen_fd(), 0);
	CHECK(!getenv("LISTEN_FDS"));

	/* nothing passed */
	pass_fd(AF_UNIX, SOCK_STREAM, true, NULL, NULL);
	CHECK_EQ_INT(systemd_listen_fd(), 0);

	/* wrong kinds of fd */
	pass_fd(AF_UNIX, SOCK_STREAM, true, self, "2");
	CHECK_EQ_INT(systemd_listen_fd(), -E2BIG);
	pass_fd(AF_UNIX, SOCK_STREAM, false, self, "1");
	CHECK_EQ_INT(systemd_listen_fd(), -EINVAL);
	pass_fd(AF_UNIX, SOCK_DGRAM, false, self, "1");
	CHECK_EQ_INT(systemd_listen_fd(), -EPROTOTYPE);
	pass_fd(AF_INET, SOCK_STREAM, false, self, "1");
	CHECK_EQ_INT(systemd_listen_fd(), -EAFNOSUPPORT);
	close(SYSTEMD_LISTEN_FDS_START);
	if (open("/dev/null", O_RDONLY) != SYSTEMD_LISTEN_FDS_START)
		exit(1);
	setenv("LISTEN_PID", self, 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_EQ_INT(systemd_listen_fd(), -ENOTSOCK);

	/* malformed variables */
	const char *bad[][2] = {
		{ self, "" }, { self, "0" }, { self, "-1" }, { self, "1x" },
		{ "", "1" },  { "12z", "1" }, { NULL, "1" }, { self, "99999999999999999999999" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i][0])
			setenv("LISTEN_PID", bad[i][0], 1);
		else
			unsetenv("LISTEN_PID");
		setenv("LISTEN_FDS", bad[i][1], 1);
		CHECK_EQ_INT(systemd_listen_fd(), -EBADMSG);
	}
	close(SYSTEMD_LISTEN_FDS_START);
}

/* A datagram socket like the manager's, at @name ("/path" or "@abstract"). */
static int notify_receiver(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memcpy(sa.sun_path, name, strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0) {
		perror("bind");
		exit(1);
	}
	setenv("NOTIFY_SOCKET", name, 1);
	return fd;
}

static void check_received(int fd, const char *expected)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	CHECK_EQ_INT(n, (long long)strlen(expected));
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(buf, expected);
}

static void test_notify(void)
{
	char path[128], abstract[64], toolong[200];
	int fd;

	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ_INT(systemd_notify("READY=1"), 0);

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = notify_receiver(path);
	CHECK_EQ_INT(systemd_notify("READY=1\nSTATUS=serving"), 1);
	check_received(fd, "READY=1\nSTATUS=serving");
	CHECK_EQ_INT(systemd_notifyf("STATUS=%d functions", 38252), 1);
	check_received(fd, "STATUS=38252 functions");
	close(fd);

	snprintf(abstract, sizeof(abstract), "@ftidx-test-%d", (int)getpid());
	fd = notify_receiver(abstract);
	CHECK_EQ_INT(systemd_notify("STOPPING=1"), 1);
	check_received(fd, "STOPPING=1");
	close(fd);

	/* a manager that went away, and names that cannot be sockets */
	setenv("NOTIFY_SOCKET", path, 1);
	unlink(path);
	CHECK_EQ_INT(systemd_notify("READY=1"), -ENOENT);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ_INT(systemd_notify("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "@", 1);
	CHECK_EQ_INT(systemd_notify("READY=1"), -EAFNOSUPPORT);
	memset(toolong, 'x', sizeof(toolong) - 1);
	toolong[0] = '/';
	toolong[sizeof(toolong) - 1] = '\0';
	setenv("NOTIFY_SOCKET", toolong, 1);
	CHECK_EQ_INT(systemd_notify("READY=1"), -EAFNOSUPPORT);
	toolong[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0'; /* exactly full */
	setenv("NOTIFY_SOCKET", toolong, 1);
	CHECK_EQ_INT(systemd_notify("READY=1"), -ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	char path[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_listen_fd();
	test_notify();
	snprintf(path, sizeof(path), "%s/listen", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0); /* nothing else left behind */
	return test_finish("test-systemd");
}
