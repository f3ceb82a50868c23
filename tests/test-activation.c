/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built ftidxd started the way ftidxd.socket and ftidxd.service start
 * it, without PID 1: systemd-socket-activate owns the listening socket and
 * passes it on, and a datagram socket of ours plays the manager's notify
 * socket. Checks that the daemon serves on the passed socket (and makes
 * none of its own), reports READY=1 only once it can answer, RELOADING=1
 * and READY=1 around SIGHUP, STOPPING=1 on SIGTERM, leaves the socket to
 * its owner, and refuses to start on more than one passed socket.
 *
 *   test-activation FTIDXD FIXTURES
 */
#include <fcntl.h>
#include <poll.h>

#include "daemon-harness.h"
#include "ftidx.h"
#include "testlib.h"

static const char *activate = "/usr/bin/systemd-socket-activate";

/* Wait up to 10 s for one datagram on @fd; "" on timeout. */
static const char *next_notification(int fd)
{
	static char buf[512];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, 10000) == 1 && (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0)
		buf[n] = '\0';
	return buf;
}

static int notify_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify socket");
		exit(1);
	}
	return fd;
}

/* Run ftidxd under systemd-socket-activate with @listen (and @listen2 if
 * set); its stderr goes to @err. */
static pid_t start(struct harness *h, const char *daemon, const char *notify,
		   const char *listen2, const char *err)
{
	char env_notify[256], env_sock[256], env_runtime[256];
	pid_t pid;

	snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify);
	/* Where ftidxd would make its own socket if it ignored the passed one. */
	snprintf(env_sock, sizeof(env_sock), "FTIDX_SOCKET=%s/own.sock", h->dir);
	snprintf(env_runtime, sizeof(env_runtime), "RUNTIME_DIRECTORY=%s", h->dir);
	pid = fork();
	if (pid == 0) {
		/* the state directory as systemd's RuntimeDirectory= gives it */
		const char *argv[16] = { activate, "-l", h->socket, "-E", env_notify, "-E", env_sock,
					 "-E", env_runtime };
		int n = 9, fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (listen2) {
			argv[n++] = "-l";
			argv[n++] = listen2;
		}
		argv[n++] = daemon;
		argv[n++] = "--tracefs";
		argv[n++] = h->dir;
		argv[n] = NULL;
		dup2(fd, 2);
		execv(activate, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* A second ftidxd, started by hand on @socket with the state directory
 * systemd gave the first ($RUNTIME_DIRECTORY, @h's): its exit status, or
 * -1 if it came up (killed after 5 s). */
static int second_daemon(struct harness *h, const char *daemon, const char *socket)
{
	char env_runtime[256];
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		snprintf(env_runtime, sizeof(env_runtime), "%s", h->dir);
		setenv("RUNTIME_DIRECTORY", env_runtime, 1);
		dup2(fd, 2);
		execl(daemon, daemon, "--tracefs", h->dir, "--socket", socket, (char *)NULL);
		_exit(127);
	}
	return harness_wait_exit(pid, 15000);
}

static void test_activated(struct harness *h, const char *daemon)
{
	char notify[128], own[128], err[128];
	struct ftidx_status *st = NULL;
	struct ftidx *c = NULL;
	struct stat sb;
	const char *msg;
	pid_t pid;
	int fd;

	snprintf(notify, sizeof(notify), "%s/notify", h->dir);
	snprintf(own, sizeof(own), "%s/own.sock", h->dir);
	snprintf(err, sizeof(err), "%s/stderr", h->dir);
	fd = notify_socket(notify);
	pid = start(h, daemon, notify, NULL, err);

	/* Like systemd, systemd-socket-activate starts the daemon on the first
	 * connection, which waits in the socket's queue meanwhile. */
	CHECK(harness_wait_socket(h));
	CHECK_EQ_INT(ftidx_connect(h->socket, &c), 0);
	CHECK_EQ_INT(c ? ftidx_status(c, &st) : -1, 0);
	CHECK_EQ_INT(st ? st->entries : 0, 38303);
	ftidx_status_free(st);
	ftidx_unref(c);
	msg = next_notification(fd);
	CHECK(strncmp(msg, "READY=1\n", 8) == 0);
	CHECK(strstr(msg, "STATUS=38303 lines mapped, generation 1") != NULL);
	CHECK(stat(own, &sb) < 0); /* it made no socket of its own */
	/* a daemon started by hand beside it is refused: on its socket, and
	 * on its state directory with a socket of its own */
	CHECK_EQ_INT(second_daemon(h, daemon, h->socket), 1);
	CHECK_EQ_INT(second_daemon(h, daemon, own), 1);
	CHECK(stat(own, &sb) < 0);
	CHECK_EQ_INT(ftidx_connect(h->socket, &c), 0);
	CHECK_EQ_INT(c ? ftidx_status(c, &st) : -1, 0);
	ftidx_status_free(st);
	ftidx_unref(c);

	kill(pid, SIGHUP);
	CHECK_EQ_STR(next_notification(fd), "RELOADING=1");
	msg = next_notification(fd);
	CHECK(strncmp(msg, "READY=1\n", 8) == 0);

	kill(pid, SIGTERM);
	CHECK_EQ_STR(next_notification(fd), "STOPPING=1");
	CHECK_EQ_INT(harness_wait_exit(pid, 15000), 0);
	/* The socket is its owner's to remove, as systemd would keep it. */
	CHECK(stat(h->socket, &sb) == 0 && S_ISSOCK(sb.st_mode));
	close(fd);
	unlink(notify);
	unlink(h->socket);
}

static void test_two_sockets(struct harness *h, const char *daemon)
{
	char notify[128], second[128], err[128];
	size_t len;
	char *text;
	pid_t pid;
	int fd;

	snprintf(notify, sizeof(notify), "%s/notify", h->dir);
	snprintf(second, sizeof(second), "%s/second.sock", h->dir);
	snprintf(err, sizeof(err), "%s/stderr", h->dir);
	fd = notify_socket(notify);
	pid = start(h, daemon, notify, second, err);
	CHECK(harness_wait_socket(h));
	close(harness_connect(h)); /* the connection that starts it */
	CHECK_EQ_INT(harness_wait_exit(pid, 15000), 1);
	text = test_read_file(err, &len);
	CHECK(strstr(text, "takes exactly one") != NULL);
	free(text);
	close(fd);
	unlink(notify);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096], *data;
	size_t len;

	if (argc < 3) {
		fprintf(stderr, "usage: test-activation FTIDXD FIXTURES\n");
		return 2;
	}
	if (access(activate, X_OK) < 0) {
		printf("no %s: skipped\n", activate);
		return 77;
	}
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", argv[2]);
	data = test_read_file(path, &len);
	harness_tracefs(&h, data, len);
	free(data);
	test_activated(&h, argv[1]);
	test_two_sockets(&h, argv[1]);
	harness_cleanup(&h);
	return test_finish("test-activation");
}
