/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration, the server: raw frames good and bad, clients of a later
 * protocol version, many clients, hostile and slow ones, the limits, and
 * load.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "integration.h"

static void expect_refused(struct harness *h, const char *what, uint32_t magic, uint16_t version,
			   uint16_t type, uint32_t length, const void *body, size_t body_len,
			   int want)
{
	struct proto_buf b;
	uint16_t rtype = 0;
	int fd = harness_connect(h), status;

	frame(&b, magic, version, type, length, body, body_len);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	status = read_error_reply(fd, &rtype);
	if (status != want)
		fprintf(stderr, "%s: status %d, expected %d\n", what, status, want);
	CHECK_EQ_INT(status, want);
	CHECK_EQ_INT(rtype, FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	CHECK(closed_by_peer(fd));
	close(fd);
}

static void test_bad_frames(struct harness *h)
{
	uint8_t body[64] = { 0 };
	uint32_t count5[2] = { 0, 5 };
	char before_path[] = "set_ftrace_filter";
	char *before = file_bytes(h, before_path);
	struct proto_buf b;
	int fd;

	expect_refused(h, "bad magic", 0xdeadbeef, 1, FTIDX_MSG_STATUS, 0, NULL, 0, EBADMSG);
	expect_refused(h, "version", FTIDX_PROTO_MAGIC, 0, FTIDX_MSG_STATUS, 0, NULL, 0,
		       EPROTONOSUPPORT);
	expect_refused(h, "oversized", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, FTIDX_FRAME_MAX + 1,
		       NULL, 0, EMSGSIZE);
	expect_refused(h, "type 0", FTIDX_PROTO_MAGIC, 1, 0, 0, NULL, 0, EBADMSG);
	expect_refused(h, "a reply", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, 0,
		       NULL, 0, EBADMSG);
	expect_refused(h, "status with a body", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_STATUS, 4, body, 4,
		       EBADMSG);
	expect_refused(h, "count past the body", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 8, count5,
		       8, EBADMSG);
	{
		/* a string that never ends */
		uint8_t unterminated[12] = { 0, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 'c', 'd' };

		expect_refused(h, "unterminated", FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 12,
			       unterminated, 12, EBADMSG);
	}
	{
		/* a hostile instance name, straight on the wire */
		struct proto_request req = {
			.type = FTIDX_MSG_FILTER, .op = FTIDX_OP_SET, .file = FTIDX_FILE_FILTER,
			.instance = "../x", .tokens = (const char *[]){ "vfs_read" }, .n_tokens = 1,
		};
		uint16_t rtype;

		for (int i = 0; i < 2; i++) {
			proto_buf_init(&b);
			req.instance = i ? "a/b" : "../x";
			CHECK_EQ_INT(proto_encode_request(&b, 9, &req), 0);
			fd = harness_connect(h);
			send_bytes(fd, b.data, b.len);
			CHECK_EQ_INT(read_error_reply(fd, &rtype), EBADMSG);
			CHECK(closed_by_peer(fd));
			close(fd);
			proto_buf_deinit(&b);
		}
	}

	/* clients that vanish: mid-header, mid-body */
	fd = harness_connect(h);
	send_bytes(fd, "\x66\x69", 2);
	close(fd);
	{
		struct ftidx_frame_header hdr = { FTIDX_PROTO_MAGIC, 1, FTIDX_MSG_RESOLVE, 1, 1000 };

		fd = harness_connect(h);
		send_bytes(fd, &hdr, sizeof(hdr));
		send_bytes(fd, body, 10);
		close(fd);
	}

	/* the daemon still serves, and the filter is as it was */
	CHECK(harness_alive(h));
	test_status(h);
	{
		char *after = file_bytes(h, before_path);

		CHECK_EQ_STR(after, before);
		free(after);
	}
	free(before);
}

/* Send one frame on @fd and read its reply's header and status. */
static int exchange(int fd, uint16_t version, uint16_t type, uint32_t id, const void *body,
		    size_t len, struct ftidx_frame_header *reply)
{
	struct ftidx_frame_header hdr = { FTIDX_PROTO_MAGIC, version, type, id, (uint32_t)len };
	uint8_t *rbody = malloc(FTIDX_FRAME_MAX);
	int32_t status = -1;

	send_bytes(fd, &hdr, sizeof(hdr));
	if (len)
		send_bytes(fd, body, len);
	if (recv(fd, reply, sizeof(*reply), MSG_WAITALL) == sizeof(*reply) &&
	    reply->length <= FTIDX_FRAME_MAX && reply->length >= 4 &&
	    recv(fd, rbody, reply->length, MSG_WAITALL) == (ssize_t)reply->length)
		memcpy(&status, rbody, sizeof(status));
	free(rbody);
	return status;
}

/*
 * A client of a later protocol version: its frames carry fields this
 * daemon does not know after those it does, and requests it does not
 * know at all. The fields are skipped, the requests refused one by one
 * with EOPNOTSUPP on their own id, and the connection goes on.
 */
static void test_newer_client(struct harness *h)
{
	const uint16_t next = FTIDX_PROTO_VERSION + 1;
	uint8_t future[12] = { 0xfe, 0xed };
	/* STATUS: the flags of version 4 (none), then what a later one adds */
	uint8_t status_future[16] = { 0, 0, 0, 0, 0xfe, 0xed };
	uint32_t no_flags = 0;
	uint32_t list_body[3] = { FTIDX_LIST_MODULE, 0, 0 }; /* flags, then "" and more */
	uint32_t odd_flags[2] = { 0x40000000, 0 };           /* LIST, a flag of the future */
	struct ftidx_frame_header r;
	int fd = harness_connect(h);

	CHECK_EQ_INT(exchange(fd, next, FTIDX_MSG_STATUS, 11, status_future, sizeof(status_future),
			      &r),
		     0);
	CHECK_EQ_INT(r.type, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(r.id, 11);
	CHECK_EQ_INT(exchange(fd, next, 77, 12, future, sizeof(future), &r), EOPNOTSUPP);
	CHECK_EQ_INT(r.type, FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(r.id, 12);
	CHECK_EQ_INT(exchange(fd, next, FTIDX_MSG_LIST, 13, list_body, sizeof(list_body), &r), 0);
	CHECK_EQ_INT(r.type, FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(exchange(fd, FTIDX_PROTO_VERSION, FTIDX_MSG_LIST, 14, odd_flags,
			      sizeof(odd_flags) - 3, &r),
		     EOPNOTSUPP);
	CHECK_EQ_INT(r.id, 14);
	/* the same connection still serves, at this version too */
	CHECK_EQ_INT(exchange(fd, FTIDX_PROTO_VERSION, FTIDX_MSG_STATUS, 15, &no_flags,
			      sizeof(no_flags), &r),
		     0);
	CHECK_EQ_INT(r.id, 15);
	close(fd);
}

#define CLIENTS 32

static void test_many_clients(struct harness *h)
{
	pid_t pids[CLIENTS];
	int ok = 0;

	for (int i = 0; i < CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			const char *pats[] = { "type_show", "vfs_*" };
			struct ftidx *c;
			int bad = 0;

			if (ftidx_connect(h->socket, &c) < 0)
				_exit(1);
			for (int k = 0; k < 20; k++) {
				struct ftidx_result *r = NULL;

				bad += ftidx_resolve(c, pats, 2, 0, &r) != 0 ||
				       ftidx_result_token_matches(r, 0) != 17;
				ftidx_result_free(r);
			}
			ftidx_unref(c);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < CLIENTS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK_EQ_INT(ok, CLIENTS);
}

/* A frame that arrives one byte at a time is still answered. */
static void test_byte_by_byte(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS };
	struct ftidx_frame_header hdr;
	struct proto_buf b;
	int fd = harness_connect(h);

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 3, &req), 0);
	for (size_t i = 0; i < b.len; i++) {
		send_bytes(fd, b.data + i, 1);
		harness_sleep_ms(2);
	}
	CHECK(recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) == sizeof(hdr));
	CHECK_EQ_INT(hdr.type, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY);
	CHECK_EQ_INT(hdr.id, 3);
	proto_buf_deinit(&b);
	close(fd);
}

/* A client that asks and never reads cannot stall the others, and the
 * replies piling up for it stay bounded. */

/* Connect, send @n full LIST requests at once and read nothing; how many
 * were sent. */
static int stall(struct harness *h, int *fd_out, int n)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	struct timeval tv = { 2, 0 };
	struct proto_buf b;
	int fd = harness_connect(h), sent = 0;
	ssize_t w;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	proto_buf_init(&b);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(proto_encode_request(&b, (uint32_t)i + 1, &req), 0);
	/* one send: a few kilobytes, which the socket takes whole */
	w = send(fd, b.data, b.len, MSG_NOSIGNAL);
	if (w == (ssize_t)b.len)
		sent = n;
	proto_buf_deinit(&b);
	*fd_out = fd;
	return sent;
}

/* Whether the daemon dropped @fd: what it had queued ends in a hang-up.
 * A client it kept is served on as it reads, past all a dropped one
 * could have had queued (16 MiB and a frame, and the socket's buffer). */
static bool dropped(int fd)
{
	static char buf[1 << 16];
	struct timeval tv = { 5, 0 };
	size_t total = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < (40u << 20) && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		total += (size_t)n;
	/* closed with our requests unread: a reset */
	return total < (40u << 20) && (n == 0 || (n < 0 && errno == ECONNRESET));
}

/*
 * Clients that ask for replies (about 1.3 MiB each) and never read them:
 * each is read from no more once 16 MiB wait for it. These are root's, so
 * even when they hold more than the memory budget together, neither is
 * dropped: the budget makes room by dropping clients that may only read
 * (test-access.sh stalls those, as other users). Both are seen from
 * outside, so they hold under AddressSanitizer as well.
 */
static void test_stalling_client(struct harness *h, const char *fixture_text, size_t len)
{
	const char *extra[] = { "--memory-budget", "32", "--write-timeout", "0", NULL };
	long before = daemon_rss_kb(h), during;
	struct harness hb;
	int fd, a, b;

	/* one alone stays under the budget: not read from, not dropped */
	CHECK_EQ_INT(stall(h, &fd, 300), 300);
	harness_sleep_ms(500);
	test_status(h); /* everyone else is still served */
	during = daemon_rss_kb(h);
	printf("stalling client: 300 requests sent, daemon RSS %ld -> %ld KiB\n", before, during);
	/* 16 MiB of replies, plus a frame or two in flight */
	CHECK_RSS(during - before < 64 * 1024);
	close(fd);
	harness_sleep_ms(200);
	CHECK(harness_alive(h));

	/* two of them over a 32 MiB budget: a writer is never dropped for it */
	harness_tracefs(&hb, fixture_text, len);
	harness_start(&hb, daemon_path, extra);
	CHECK_EQ_INT(stall(&hb, &a, 300), 300);
	harness_sleep_ms(300);
	CHECK_EQ_INT(stall(&hb, &b, 300), 300);
	harness_sleep_ms(500);
	test_status(&hb);
	{
		bool da, db;

		da = dropped(a);
		db = dropped(b);
		printf("stalling writers over the budget: first %s, second %s\n",
		       da ? "dropped" : "kept", db ? "dropped" : "kept");
		CHECK(!da && !db);
	}
	close(a);
	close(b);
	CHECK(harness_alive(&hb));
	CHECK_EQ_INT(harness_stop(&hb), 0);
	harness_cleanup(&hb);
}

/*
 * --write-timeout: a client that leaves its replies unread for that long
 * is closed, and one that reads them in time is not. Under a 1 s timeout,
 * a staller is gone within a few seconds (not the 30 s default, nor
 * never), while the daemon keeps serving.
 */
static void test_write_timeout(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--write-timeout", "1", NULL };
	struct harness hw;
	int fd;

	harness_tracefs(&hw, fixture_text, len);
	harness_start(&hw, daemon_path, extra);
	CHECK_EQ_INT(stall(&hw, &fd, 300), 300);
	/* nothing read for 3 s: three times the timeout */
	harness_sleep_ms(3000);
	CHECK(dropped(fd));
	close(fd);
	test_status(&hw);
	CHECK(harness_alive(&hw));
	CHECK_EQ_INT(harness_stop(&hw), 0);
	harness_cleanup(&hw);
}

/* A client that falls behind and then reads gets every reply, in order:
 * the requests held back while its replies piled up are not lost. */
static void test_slow_reader(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	const int n = 120;
	struct proto_buf b;
	int fd = harness_connect(h), got = 0;
	uint8_t *body = malloc(FTIDX_FRAME_MAX);

	proto_buf_init(&b);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(proto_encode_request(&b, (uint32_t)i + 1, &req), 0);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	harness_sleep_ms(300);
	for (int i = 0; i < n; i++) {
		struct ftidx_frame_header hdr;

		if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) ||
		    hdr.length > FTIDX_FRAME_MAX ||
		    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length)
			break;
		got += hdr.id == (uint32_t)i + 1 && hdr.type == (FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
	}
	printf("slow reader: %d of %d replies, in order\n", got, n);
	CHECK_EQ_INT(got, n);
	free(body);
	close(fd);
}

/*
 * A client whose last frame is bad gets every reply it asked for before
 * it, then the ERROR reply, then the hang-up: a connection being closed
 * is freed once its output is empty, not as soon as it falls below the
 * write watermark (half the reply limit).
 */
static void test_closing_keeps_replies(struct harness *h)
{
	struct proto_request req = { .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_PLACEHOLDERS };
	const uint32_t bad_magic = 0x12345678;
	const int n = 40; /* ~1 MiB each: well past the 32 MiB watermark */
	struct proto_buf b, bad;
	int fd = harness_connect(h), lists = 0, errors = 0;
	uint8_t *body = malloc(FTIDX_FRAME_MAX);

	proto_buf_init(&b);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(proto_encode_request(&b, (uint32_t)i + 1, &req), 0);
	frame(&bad, bad_magic, FTIDX_PROTO_VERSION, FTIDX_MSG_STATUS, 0, NULL, 0);
	proto_put_bytes(&b, bad.data, bad.len);
	proto_buf_deinit(&bad);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	harness_sleep_ms(500); /* all handled, replies queued, closing */
	for (;;) {
		struct ftidx_frame_header hdr;

		if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) ||
		    hdr.length > FTIDX_FRAME_MAX ||
		    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length)
			break;
		lists += hdr.type == (FTIDX_MSG_LIST | FTIDX_MSG_REPLY);
		errors += hdr.type == (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY);
	}
	printf("closing client: %d of %d replies, %d error reply\n", lists, n, errors);
	CHECK_EQ_INT(lists, n);
	CHECK_EQ_INT(errors, 1);
	free(body);
	close(fd);
	CHECK(harness_alive(h));
}

/*
 * The socket's path appears only once it accepts, with its mode: it is
 * made under PATH.new and renamed into place (bound at its path, a client
 * that came a moment too early was refused, and a test connecting right
 * after the path appeared failed now and then). A stale socket under the
 * temporary name is cleared; a file there that is not a socket is left
 * alone, and the socket bound at its path directly.
 */
/* How "sock" came to be in the directory @ifd watches: IN_CREATE (bound
 * there) or IN_MOVED_TO (renamed there), or 0. */
static uint32_t how_sock_came(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(ifd, buf, sizeof(buf));

	for (char *at = buf; n > 0 && at < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)at;

		if (ev->len && strcmp(ev->name, "sock") == 0)
			return ev->mask & (IN_CREATE | IN_MOVED_TO);
		at += sizeof(*ev) + ev->len;
	}
	return 0;
}

static void test_socket_appears_listening(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--socket-mode", "0660", NULL };
	char tmp[200], *kept;
	struct harness h2;
	struct stat st;
	size_t n;

	for (int round = 0; round < 3; round++) {
		int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

		harness_tracefs(&h2, fixture_text, len);
		CHECK(ifd >= 0 && inotify_add_watch(ifd, h2.dir, IN_CREATE | IN_MOVED_TO) >= 0);
		snprintf(tmp, sizeof(tmp), "%s.new", h2.socket);
		if (round == 1) { /* a stale socket of a daemon that died */
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);

			snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", tmp);
			CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
			close(fd);
		} else if (round == 2) {
			/* (the harness's socket is DIR/sock) */
			fake_write(h2.dir, "sock.new", "not ours", 8);
		}
		harness_start(&h2, daemon_path, extra);
		/* the path came by a rename, listening, unless the temporary
		 * name was not free */
		CHECK_EQ_INT(how_sock_came(ifd), round < 2 ? IN_MOVED_TO : IN_CREATE);
		close(ifd);
		close(harness_connect(&h2));
		CHECK(stat(h2.socket, &st) == 0 && S_ISSOCK(st.st_mode) &&
		      (st.st_mode & 0777) == 0660);
		if (round < 2) {
			CHECK(lstat(tmp, &st) < 0 && errno == ENOENT);
		} else {
			kept = test_read_file(tmp, &n);
			CHECK_EQ_STR(kept, "not ours");
			free(kept);
		}
		CHECK_EQ_INT(harness_stop(&h2), 0);
		harness_cleanup(&h2);
	}
}

/* Run ftidxd on @tracefs with @socket and @state (its log in @log, @size
 * bytes): its exit status, or -1 if it had not stopped within 5 s (it
 * came up and served: killed). */
static int daemon_exit_status(const char *tracefs, const char *socket, const char *state, char *log,
			      size_t size)
{
	char path[256];
	size_t n = 0;
	char *text;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/second.log", tracefs);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		dup2(fd, 2);
		execl(daemon_path, daemon_path, "--tracefs", tracefs, "--socket", socket,
		      "--state-dir", state, (char *)NULL);
		_exit(127);
	}
	status = harness_wait_exit(pid, 15000);
	text = test_read_file(path, &n);
	snprintf(log, size, "%s", text);
	free(text);
	return status;
}

/*
 * A stop asked while the daemon starts (here: while it waits to read the
 * kernel's list, a FIFO that the test fills after the signal) is a clean
 * stop once it serves: exit 0, its socket removed. (Before, the signal
 * killed it: no cleanup, and so between the socket's rename into place
 * and the loop's signal events, with a client connected already.)
 */
static void test_stop_while_starting(const char *fixture_text, size_t len)
{
	char list[256], log[256];
	struct harness h;
	struct stat st;
	pid_t pid;
	int fd;

	harness_tracefs(&h, fixture_text, len);
	snprintf(list, sizeof(list), "%s/available_filter_functions", h.dir);
	snprintf(log, sizeof(log), "%s/starting.log", h.dir);
	CHECK(unlink(list) == 0 && mkfifo(list, 0600) == 0);
	pid = fork();
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		dup2(lfd, 2);
		execl(daemon_path, daemon_path, "--tracefs", h.dir, "--socket", h.socket,
		      "--state-dir", h.state, (char *)NULL);
		_exit(127);
	}
	harness_sleep_ms(300);
	kill(pid, SIGTERM);
	/* (the daemon holds the FIFO open for reading by now; one the signal
	 * killed leaves a write to it an EPIPE) */
	signal(SIGPIPE, SIG_IGN);
	fd = open(list, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(fd >= 0 && fcntl(fd, F_SETFL, 0) == 0 &&
	      write(fd, fixture_text, len) == (ssize_t)len);
	if (fd >= 0)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	CHECK_EQ_INT(harness_wait_exit(pid, 15000), 0);
	CHECK(lstat(h.socket, &st) < 0 && errno == ENOENT);
	harness_cleanup(&h);
}

/*
 * One daemon per socket, one per state directory: a second ftidxd given
 * a socket a live one answers on is refused, and so is one given a live
 * one's state directory (it would trust the same intent record); each
 * says why and exits 1, and the first serves on with its socket in place.
 * A socket left by a daemon that died is taken over, and its state
 * directory too. (Before, the second took the socket over, and removed
 * it when it stopped: the first could no longer be reached.)
 */
static void test_second_daemon(const char *fixture_text, size_t len)
{
	struct harness a, b;
	char log[4096];
	struct stat st;

	harness_tracefs(&a, fixture_text, len);
	harness_tracefs(&b, fixture_text, len);
	harness_start(&a, daemon_path, NULL);
	CHECK_EQ_INT(daemon_exit_status(b.dir, a.socket, b.state, log, sizeof(log)), 1);
	CHECK(strstr(log, "another ftidxd answers on") != NULL);
	test_status(&a);
	CHECK_EQ_INT(daemon_exit_status(b.dir, b.socket, a.state, log, sizeof(log)), 1);
	CHECK(strstr(log, "in use by another ftidxd") != NULL);
	CHECK(lstat(b.socket, &st) < 0 && errno == ENOENT);
	test_status(&a);
	CHECK(harness_alive(&a));
	/* a daemon that died leaves its socket and its lock file behind */
	kill(a.pid, SIGKILL);
	waitpid(a.pid, NULL, 0);
	CHECK(lstat(a.socket, &st) == 0 && S_ISSOCK(st.st_mode));
	snprintf(b.socket, sizeof(b.socket), "%s", a.socket);
	snprintf(b.state, sizeof(b.state), "%s", a.state);
	harness_start(&b, daemon_path, NULL);
	{
		/* its map numbered past the 1 the killed daemon handed out on
		 * that state directory */
		struct ftidx *c = connect_or_die(&b);
		struct ftidx_status *s = NULL;

		CHECK_EQ_INT(ftidx_status(c, &s), 0);
		CHECK_EQ_INT(s ? s->generation : 0, 2);
		CHECK_EQ_INT(s ? s->entries : 0, 38303);
		ftidx_status_free(s);
		ftidx_unref(c);
	}
	CHECK_EQ_INT(harness_stop(&b), 0);
	harness_cleanup(&a);
	harness_cleanup(&b);
}

/* Past --max-clients a client is told why, and the others are served. */
static void test_max_clients(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--max-clients", "2", NULL };
	struct harness h3;
	uint16_t type = 0;
	int a, b, c3;

	harness_tracefs(&h3, fixture_text, len);
	harness_start(&h3, daemon_path, extra);
	a = harness_connect(&h3);
	b = harness_connect(&h3);
	harness_sleep_ms(100);
	c3 = harness_connect(&h3);
	CHECK_EQ_INT(read_error_reply(c3, &type), EUSERS);
	CHECK(closed_by_peer(c3));
	close(c3);
	close(a);
	harness_sleep_ms(100);
	test_status(&h3); /* a place came free */
	close(b);
	CHECK_EQ_INT(harness_stop(&h3), 0);
	harness_cleanup(&h3);
}

/* A silent client is dropped after --idle-timeout. */
static void test_idle_timeout(const char *fixture_text, size_t len)
{
	const char *extra[] = { "--idle-timeout", "1", NULL };
	struct harness h2;
	char b;
	int fd;
	struct timeval tv = { 5, 0 };
	double t0;

	harness_tracefs(&h2, fixture_text, len);
	harness_start(&h2, daemon_path, extra);
	fd = harness_connect(&h2);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = (double)time(NULL);
	CHECK(recv(fd, &b, 1, 0) == 0); /* closed by the daemon */
	CHECK((double)time(NULL) - t0 < 4);
	close(fd);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One raw VERSION on @fd: how long its reply took, in ms (-1: none). */
static double version_ms(int fd, uint32_t id)
{
	struct ftidx_frame_header hdr = { FTIDX_PROTO_MAGIC, FTIDX_PROTO_VERSION, FTIDX_MSG_VERSION,
					  id, 0 };
	static char body[4096];
	double t0 = now_ms();

	send_bytes(fd, &hdr, sizeof(hdr));
	if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) || hdr.length > sizeof(body) ||
	    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length)
		return -1;
	return now_ms() - t0;
}

/* Feed @text into the FIFO at @path in two halves, @gap_ms apart, as a
 * kernel with many modules takes its time: the feeder's pid. */
static pid_t feed_fifo(const char *path, const char *text, size_t len, int gap_ms)
{
	pid_t feeder = fork();

	if (feeder == 0) {
		int w = open(path, O_WRONLY);
		bool ok = w >= 0 && write(w, text, len / 2) == (ssize_t)(len / 2);

		harness_sleep_ms(gap_ms);
		/* (a pipe takes it whole: blocking, and no signal to stop it) */
		ok &= write(w, text + len / 2, len - len / 2) == (ssize_t)(len - len / 2);
		_exit(ok ? 0 : 1);
	}
	return feeder;
}

/* Send a RESOLVE of dummy_xmit on @fd. */
static void send_resolve(int fd)
{
	const char *pats[] = { "dummy_xmit" };
	struct proto_request req = { .type = FTIDX_MSG_RESOLVE, .tokens = pats, .n_tokens = 1 };
	struct proto_buf b;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 1, &req), 0);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
}

/* Its reply: the generation it was answered from, and the lines found. */
static void read_resolve(int fd, uint64_t *generation, uint32_t *found)
{
	static uint8_t body[1 << 20];
	struct ftidx_frame_header hdr;
	struct proto_reply rep;
	const char *why;

	*generation = 0;
	*found = 0;
	if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) || hdr.length > sizeof(body) ||
	    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length ||
	    proto_decode_reply(hdr.version, hdr.type, body, hdr.length, &rep, &why) < 0) {
		CHECK(!"a RESOLVE reply");
		return;
	}
	*generation = rep.generation;
	*found = rep.n_enable;
	proto_reply_deinit(&rep);
}

/*
 * The kernel's list grows by two modules and comes through a FIFO, its
 * second half @gap_ms after its first: the loop answers VERSION at once
 * all the while, and a resolve sent first waits for the rebuild, but no
 * longer than a read may (SERVICE_DEFAULT_READ_WAIT_MS): then it is answered
 * from the map there was, marked with that map's generation. The worst
 * ping, and when the resolve was answered, in @worst and @answered.
 */
static void rebuild_during(struct harness *h, const char *text, size_t len, int gap_ms,
			   double *worst, double *answered, uint64_t *generation, uint32_t *found)
{
	char path[256], info[64];
	int fd, ping, pings = 0, status = -1;
	double t0;
	pid_t feeder;

	snprintf(path, sizeof(path), "%s/available_filter_functions", h->dir);
	unlink(path);
	CHECK_EQ_INT(mkfifo(path, 0644), 0);
	snprintf(info, sizeof(info), "%zu pages:1 groups: 1\n", n_lines);
	fake_write(h->dir, "dyn_ftrace_total_info", info, strlen(info));
	feeder = feed_fifo(path, text, len, gap_ms);
	fd = harness_connect(h);
	ping = harness_connect(h);
	*worst = 0;
	*answered = -1;
	t0 = now_ms();
	send_resolve(fd);
	while (now_ms() - t0 < gap_ms + 500) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double ms = version_ms(ping, (uint32_t)++pings);

		CHECK(ms >= 0);
		*worst = ms > *worst ? ms : *worst;
		if (*answered < 0 && poll(&pfd, 1, 0) == 1)
			*answered = now_ms() - t0;
		harness_sleep_ms(10);
	}
	read_resolve(fd, generation, found);
	CHECK(waitpid(feeder, &status, 0) == feeder && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	close(ping);
	unlink(path);
}

/*
 * A rebuild reads the kernel's list off the loop. A short one (0.3 s):
 * the resolve waits for it and answers from the new map. A long one
 * (3 s, a kernel with many modules): it is answered from the old map
 * once it has waited as long as a read may (--read-wait 1500 here), and
 * the next one from the new map.
 */
static void test_rebuild_off_loop(const char *base_text, size_t base_len, const char *text,
				  size_t len)
{
	struct harness h2;
	double worst, answered;
	uint64_t generation;
	uint32_t found;
	char info[64];
	int fd;

	harness_tracefs(&h2, base_text, base_len);
	harness_start(&h2, daemon_path, (const char *[]){ "--read-wait", "1500", NULL });
	rebuild_during(&h2, text, len, 300, &worst, &answered, &generation, &found);
	printf("a short rebuild off the loop: the worst ping %.1f ms; the resolve answered after "
	       "%.0f ms, from generation %llu\n",
	       worst, answered, (unsigned long long)generation);
	CHECK(worst < 200);
	CHECK(answered > 250);
	CHECK_EQ_INT(generation, 2);
	CHECK_EQ_INT(found, 1);

	/* back to the base list, then a long rebuild */
	snprintf(info, sizeof(info), "%zu pages:1 groups: 1\n", count_lines(base_text, base_len));
	fake_write(h2.dir, "available_filter_functions", base_text, base_len);
	fake_write(h2.dir, "dyn_ftrace_total_info", info, strlen(info));
	/* a resolve waits for the rebuild this starts (STATUS would not) */
	CHECK_EQ_INT(run_cli(&h2, "resolve vfs_read", NULL, (char[256]){ 0 }, 256), 0);
	rebuild_during(&h2, text, len, 3000, &worst, &answered, &generation, &found);
	printf("a long rebuild off the loop: the worst ping %.1f ms; the resolve answered after "
	       "%.0f ms, from generation %llu\n",
	       worst, answered, (unsigned long long)generation);
	CHECK(worst < 200);
	CHECK(answered > 1400 && answered < 2400);
	CHECK_EQ_INT(generation, 3);
	CHECK_EQ_INT(found, 0);
	fd = harness_connect(&h2);
	send_resolve(fd);
	read_resolve(fd, &generation, &found);
	CHECK_EQ_INT(generation, 4);
	CHECK_EQ_INT(found, 1);
	close(fd);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

/* ---- reads of a map behind the kernel's -------------------------------- */

/*
 * The stand-in kernel's functions become @text: its record count says so
 * at once (no uevent comes: only the fence can tell), and its list comes
 * through a FIFO in two halves @gap_ms apart, as a kernel with many
 * modules takes its time. The feeder's pid.
 */
static pid_t kernel_changes(struct harness *h, const char *text, size_t len, int gap_ms)
{
	char path[256], info[64];

	snprintf(path, sizeof(path), "%s/available_filter_functions", h->dir);
	unlink(path);
	CHECK_EQ_INT(mkfifo(path, 0644), 0);
	snprintf(info, sizeof(info), "%lu pages:1 groups: 1\n", count_lines(text, len));
	fake_write(h->dir, "dyn_ftrace_total_info", info, strlen(info));
	return feed_fifo(path, text, len, gap_ms);
}

/* The feeder is done: the list is a plain file again, @text. */
static void kernel_settled(struct harness *h, pid_t feeder, const char *text, size_t len)
{
	char path[256];
	int status = -1;

	CHECK(waitpid(feeder, &status, 0) == feeder && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/available_filter_functions", h->dir);
	unlink(path);
	fake_write(h->dir, "available_filter_functions", text, len);
}

/* One read of @type with @flags on @fd (a RESOLVE of dummy_xmit, NAMES of
 * index 1, a LIST of module dummy, a STATUS): its reply in @rep (deinit
 * it), how long it took in *@ms. */
static void read_with(int fd, uint16_t type, uint32_t flags, struct proto_reply *rep, double *ms)
{
	static uint8_t body[1 << 20];
	const char *pats[] = { "dummy_xmit" }, *why;
	uint32_t one = 1;
	struct proto_request req = { .type = type, .flags = flags, .tokens = pats, .n_tokens = 1,
				     .indices = &one, .n_indices = 1, .module = "dummy" };
	struct ftidx_frame_header hdr;
	struct proto_buf b;
	double t0 = now_ms();

	if (type == FTIDX_MSG_LIST)
		req.flags |= FTIDX_LIST_MODULE;
	*rep = (struct proto_reply){ 0 };
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 3, &req), 0);
	send_bytes(fd, b.data, b.len);
	proto_buf_deinit(&b);
	if (recv(fd, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) || hdr.length > sizeof(body) ||
	    recv(fd, body, hdr.length, MSG_WAITALL) != (ssize_t)hdr.length ||
	    proto_decode_reply(hdr.version, hdr.type, body, hdr.length, rep, &why) < 0) {
		CHECK(!"a reply");
		*rep = (struct proto_reply){ 0 };
	}
	*ms = now_ms() - t0;
}

/*
 * While ftidxd reads the kernel's list anew (2 s), after a change only
 * its record count told: a read that asks nothing (a client older than
 * protocol 4) is answered from the old map after --read-wait, as before,
 * but now says that map is behind (before, only its generation hinted
 * it); one that asks for the last map is answered at once, and says so
 * too, resolve, names, list and status alike; one that asks for the
 * current map waits, and is answered from the kernel's, not behind.
 */
static void reads_of_a_changed_kernel(struct harness *h, const char *text, size_t len)
{
	static const uint16_t types[] = { FTIDX_MSG_RESOLVE, FTIDX_MSG_NAMES, FTIDX_MSG_LIST,
					  FTIDX_MSG_STATUS };
	pid_t feeder = kernel_changes(h, text, len, 2000);
	int fd = harness_connect(h);
	struct proto_reply rep;
	double ms;

	read_with(fd, FTIDX_MSG_RESOLVE, 0, &rep, &ms);
	printf("a read as before 0.5, the kernel changed: %.0f ms, generation %llu, %s\n", ms,
	       (unsigned long long)rep.generation,
	       rep.map_flags & FTIDX_MAP_BEHIND ? "said behind" : "NOT said behind");
	CHECK_EQ_INT(rep.generation, 1);
	CHECK(rep.map_flags & FTIDX_MAP_BEHIND);
	CHECK_EQ_INT(rep.newest_generation, 1);
	CHECK_EQ_INT(rep.status, EINVAL); /* dummy_xmit: not in the old map */
	proto_reply_deinit(&rep);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		read_with(fd, types[i], FTIDX_READ_LAST, &rep, &ms);
		printf("%s, the last map at once: %.0f ms, generation %llu\n",
		       proto_type_name(types[i]), ms, (unsigned long long)rep.generation);
		/* (the rebuild takes 2 s: at once is well under it) */
		CHECK(ms < 1000);
		CHECK_EQ_INT(rep.generation, 1);
		if (types[i] == FTIDX_MSG_STATUS)
			CHECK(rep.status_flags & FTIDX_STATUS_STALE);
		else
			CHECK(rep.map_flags & FTIDX_MAP_BEHIND);
		proto_reply_deinit(&rep);
	}
	read_with(fd, FTIDX_MSG_RESOLVE, FTIDX_READ_CURRENT, &rep, &ms);
	printf("the current map: %.0f ms, generation %llu\n", ms, (unsigned long long)rep.generation);
	CHECK_EQ_INT(rep.generation, 2);
	CHECK(!(rep.map_flags & FTIDX_MAP_BEHIND));
	CHECK_EQ_INT(rep.status, 0);
	CHECK_EQ_INT(rep.n_enable, 1);
	proto_reply_deinit(&rep);
	read_with(fd, FTIDX_MSG_STATUS, FTIDX_READ_CURRENT, &rep, &ms);
	CHECK(!(rep.status_flags & FTIDX_STATUS_STALE));
	CHECK_EQ_INT(rep.published_generation, 2); /* its copy waited for */
	proto_reply_deinit(&rep);
	close(fd);
	kernel_settled(h, feeder, text, len);
}

/* Run the CLI with its standard error on a terminal (a pseudo-terminal
 * we read): its exit status, what the terminal showed in @tty. */
static int run_cli_on_tty(struct harness *h, const char *args, char *tty, size_t size)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), status = -1;
	size_t n = 0;
	pid_t pid;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char cmd[512];
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);

		dup2(slave, 2);
		snprintf(cmd, sizeof(cmd), "%s -s %s %s >/dev/null", cli_path, h->socket, args);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, 200) == 1 && (got = read(master, tty + n, size - 1 - n)) > 0) {
			n += (size_t)got;
			continue;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	tty[n] = '\0';
	close(master);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The CLI: while the map is behind, --last-map answers at once, warns
 * with both generations and exits 4, for resolve, status and list --path
 * alike; by default it waits for the kernel's map and answers from it;
 * a request that outlasts --timeout exits 5 and says so, and on a
 * terminal it says after a second what it waits for.
 */
static void cli_of_a_changed_kernel(struct harness *h, const char *base, size_t base_len,
				    const char *text, size_t len)
{
	static char out[1 << 16];
	pid_t feeder = kernel_changes(h, base, base_len, 2000);

	CHECK_EQ_INT(run_cli_err(h, "--last-map resolve vfs_read", out, sizeof(out)), 4);
	CHECK(strstr(out, "warning: answered from map generation 2, which is behind the kernel's "
			  "functions") != NULL);
	CHECK(strstr(out, "generation 3") != NULL);
	CHECK(strstr(out, "\tvfs_read\n") != NULL); /* the answer, all the same */
	CHECK_EQ_INT(run_cli_err(h, "--last-map status", out, sizeof(out)), 4);
	CHECK(strstr(out, "warning: map generation 2 is behind the kernel's functions") != NULL);
	CHECK_EQ_INT(run_cli_err(h, "--last-map list --path", out, sizeof(out)), 4);
	CHECK_EQ_INT(run_cli_err(h, "--last-map resolve dummy_xmit", out, sizeof(out)), 4);
	CHECK_EQ_INT(run_cli(h, "--json --last-map list --module loop", NULL, out, sizeof(out)), 4);
	CHECK(strncmp(out, "{\"generation\":2,\"behind\":true,", 30) == 0);
	/* list's patterns are a resolve too */
	CHECK_EQ_INT(run_cli_err(h, "--last-map list vfs_read", out, sizeof(out)), 4);
	CHECK(strstr(out, "warning: answered from map generation 2, which is behind") != NULL);
	CHECK(strstr(out, "\tvfs_read\n") != NULL);
	CHECK_EQ_INT(run_cli(h, "--json --last-map list vfs_read", NULL, out, sizeof(out)), 4);
	CHECK(strncmp(out, "{\"generation\":2,\"behind\":true,", 30) == 0);
	/* by default: the kernel's map, waited for */
	CHECK_EQ_INT(run_cli_err(h, "resolve dummy_xmit", out, sizeof(out)), 1);
	CHECK(strstr(out, "matches no function") != NULL && !strstr(out, "warning"));
	CHECK_EQ_INT(run_cli_err(h, "status", out, sizeof(out)), 0);
	CHECK(strstr(out, "generation:      3\n") != NULL);
	CHECK_EQ_INT(run_cli_err(h, "list --path", out, sizeof(out)), 0);
	kernel_settled(h, feeder, base, base_len);

	feeder = kernel_changes(h, text, len, 5000);
	/* a completion answers at once from the map there is, and writes
	 * nothing on the terminal it completes on */
	CHECK_EQ_INT(run_cli_on_tty(h, "__complete functions vfs_rea", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(run_cli_err(h, "--timeout 1 resolve dummy_xmit", out, sizeof(out)), 5);
	CHECK(strstr(out, "no answer from ftidxd within 1 s (--timeout)") != NULL);
	CHECK_EQ_INT(run_cli(h, "--json --timeout 1 resolve dummy_xmit", NULL, out, sizeof(out)), 5);
	CHECK(strstr(out, "{\"error\":{\"exit\":5,\"errno\":\"ETIMEDOUT\"") != NULL);
	CHECK_EQ_INT(run_cli_on_tty(h, "resolve dummy_xmit", out, sizeof(out)), 0);
	printf("on a terminal, while the map is read anew: %s\n", out);
	CHECK(strstr(out, "ftidx: 1 s: the kernel's functions changed (a module came or went): "
			  "ftidxd is reading them anew") != NULL);
	kernel_settled(h, feeder, text, len);
}

static void test_reads_behind(const char *base_text, size_t base_len, const char *text,
			      size_t len)
{
	struct harness h2;

	harness_tracefs(&h2, base_text, base_len);
	harness_start(&h2, daemon_path, NULL);
	reads_of_a_changed_kernel(&h2, text, len);
	cli_of_a_changed_kernel(&h2, base_text, base_len, text, len);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

/* The kernel's list grows (@text), through a FIFO whose second half
 * comes @gap_ms later; `ftidx set @name` meanwhile: its exit status. */
static int set_during_rebuild(struct harness *h, const char *text, size_t len, int gap_ms,
			      const char *name)
{
	char path[256], info[64], args[128], out[256] = "";
	int status = -1, rc;
	pid_t feeder;

	snprintf(path, sizeof(path), "%s/available_filter_functions", h->dir);
	unlink(path);
	CHECK_EQ_INT(mkfifo(path, 0644), 0);
	snprintf(info, sizeof(info), "%zu pages:1 groups: 1\n", count_lines(text, len));
	fake_write(h->dir, "dyn_ftrace_total_info", info, strlen(info));
	feeder = feed_fifo(path, text, len, gap_ms);
	snprintf(args, sizeof(args), "set %s", name);
	rc = run_cli(h, args, NULL, out, sizeof(out));
	CHECK(waitpid(feeder, &status, 0) == feeder && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
	return rc;
}

/*
 * A client whose request waits is not idle, however long it waits: a
 * write that waits 1.5 s for a rebuild, under --idle-timeout 1, is
 * answered (libevent keeps an event's old timeout when it is added again
 * without one: the old code dropped it after 1 s). But a write waits for
 * a current map no longer than --map-wait: then it is refused, and the
 * filter is as it was.
 */
static void test_write_waits(const char *base_text, size_t base_len, const char *text, size_t len)
{
	static const char *const extra[] = { "--idle-timeout", "1", "--map-wait", "2", NULL };
	char filter[256], *before, *after;
	struct harness h2;
	size_t n;

	harness_tracefs(&h2, base_text, base_len);
	harness_start(&h2, daemon_path, extra);
	CHECK_EQ_INT(set_during_rebuild(&h2, text, len, 1500, "vfs_read"), 0);
	snprintf(filter, sizeof(filter), "%s/set_ftrace_filter", h2.dir);
	before = test_read_file(filter, &n);
	CHECK(n > 0);
	/* back to the base list: stale again, and this rebuild takes 4 s */
	fake_write(h2.dir, "available_filter_functions", base_text, base_len);
	CHECK_EQ_INT(set_during_rebuild(&h2, base_text, base_len, 4000, "vfs_write"), 1);
	after = test_read_file(filter, &n);
	CHECK_EQ_STR(after, before);
	free(before);
	free(after);
	CHECK_EQ_INT(harness_stop(&h2), 0);
	harness_cleanup(&h2);
}

#define LOAD_CLIENTS 64

#define LOAD_REQUESTS 1000

/* 64 clients making 1,000 requests each: no error, memory stable. */
static void test_load(struct harness *h)
{
	pid_t pids[LOAD_CLIENTS];
	long before, after;
	int fds_before, fds_after, ok = 0;

	/* warm up allocations before measuring */
	test_many_clients(h);
	before = daemon_rss_kb(h);
	fds_before = daemon_fds_settled(h);
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			const char *pat[1];
			struct ftidx *cl;
			int bad = 0;

			if (ftidx_connect(h->socket, &cl) < 0)
				_exit(1);
			for (int k = 0; k < LOAD_REQUESTS; k++) {
				struct ftidx_result *r = NULL;

				pat[0] = lines[(size_t)(i * LOAD_REQUESTS + k) % 30000].name;
				if (starts(pat[0], "__ftrace_invalid_address___"))
					pat[0] = "vfs_read";
				bad += ftidx_resolve(cl, pat, 1, 0, &r) != 0;
				ftidx_result_free(r);
			}
			ftidx_unref(cl);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	after = daemon_rss_kb(h);
	fds_after = daemon_fds_settled(h);
	printf("load: %d of %d clients made %d requests each without error; daemon RSS %ld -> %ld "
	       "KiB, open fds %d -> %d\n",
	       ok, LOAD_CLIENTS, LOAD_REQUESTS, before, after, fds_before, fds_after);
	CHECK_EQ_INT(ok, LOAD_CLIENTS);
	CHECK_RSS(after - before < 16 * 1024);
	CHECK_EQ_INT(fds_after, fds_before);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096], *text;
	size_t len;

	integration_setup(argc, argv, "test-server", &h, path, sizeof(path));
	/* Hit-count instances: one of a dead ftidxd, one of a live process. */
	{
		char dead[256], alive[256];
		struct stat sb;

		snprintf(dead, sizeof(dead), "%s/instances/ftidx-hits-%d", h.dir, dead_pid());
		snprintf(alive, sizeof(alive), "%s/instances/ftidx-hits-%d", h.dir, (int)getpid());
		mkdir(dead, 0755);
		mkdir(alive, 0755);
		harness_start(&h, daemon_path, NULL);
		CHECK(stat(dead, &sb) < 0);   /* removed at start-up */
		CHECK(stat(alive, &sb) == 0); /* its owner lives: left alone */
		rmdir(alive);
	}
	text = test_read_file(path, &len);
	test_status(&h);
	test_bad_frames(&h);
	test_newer_client(&h);
	test_many_clients(&h);
	test_byte_by_byte(&h);
	test_stalling_client(&h, text, len);
	test_slow_reader(&h);
	test_closing_keeps_replies(&h);
	test_load(&h);
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	test_idle_timeout(text, len);
	test_write_timeout(text, len);
	test_max_clients(text, len);
	test_socket_appears_listening(text, len);
	test_stop_while_starting(text, len);
	test_second_daemon(text, len);
	{
		char base_path[4096];
		size_t base_len;
		char *base;

		snprintf(base_path, sizeof(base_path), "%s/debian-6.1-base.txt", fixtures);
		base = test_read_file(base_path, &base_len);
		test_rebuild_off_loop(base, base_len, text, len);
		test_write_waits(base, base_len, text, len);
		test_reads_behind(base, base_len, text, len);
		free(base);
	}
	{
		struct stat st;

		CHECK(stat(h.socket, &st) < 0); /* removed on exit */
	}
	harness_cleanup(&h);
	free(text);
	free(lines);
	return test_finish("test-server");
}
