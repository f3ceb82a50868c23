/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx's connection (see libftidx-internal.h): the socket, the one
 * call in flight on it, its frames in and out, the timeout, the error
 * message, and the result a reply becomes. Everything else of libftidx
 * is built on this.
 *
 * A connection has at most one call in flight. Its frame goes out and its
 * reply comes in without blocking (lib_call_io()), so that a tool's own
 * poll loop can drive it (libftidx-request.c); the synchronous requests
 * drive it themselves, waiting on the socket within the timeout.
 *
 * Reopening. ftidxd closes a connection that was idle for its
 * --idle-timeout, and a restart closes them all, while the caller holds
 * its struct ftidx for as long as it runs. So before a call starts, the
 * socket is looked at without blocking: a hang-up, or bytes no call asked
 * for on a socket that has answered before (a daemon's last word before
 * it closes), means the daemon is done with it, and a new socket is
 * connected to the same path and dup3()ed onto the same descriptor
 * number, so that ftidx_get_fd() in a caller's poll set stays right. A
 * socket left out of step by a lost reply (c->broken) is reopened the
 * same way, and so is a parent's socket in a forked child: two processes
 * writing frames to one socket would interleave them. When the daemon
 * hangs up during a call, a request whose frame did not go out whole
 * never reached it, and a read-only one changes nothing: either goes out
 * once more on a new socket. A write or a hit count whose frame went out
 * whole may have been acted on: it fails with -ECONNABORTED and says so,
 * and is never sent twice. A write pinned to a generation never goes out
 * on a socket opened during its own call: the daemon behind it may be a
 * new one, whose generations count from 1 again, so the same number could
 * name another map; it fails with -ESTALE, as for a changed map.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ftidx.h"
#include "libftidx-internal.h"
#include "macro.h"
#include "proto.h"

static void call_reset(struct ftidx_call *call);

/* A socket connected to @path: 0 with *@out set, or -errno. */
static int open_socket(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	*out = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

_public_ int ftidx_connect(const char *socket_path, struct ftidx **out)
{
	struct ftidx *c;
	int fd, r;

	*out = NULL;
	/* secure_getenv: a set-uid tracing tool must not be pointed at a
	 * socket of its caller's choosing. */
	if (!socket_path)
		socket_path = secure_getenv("FTIDX_SOCKET");
	if (!socket_path)
		socket_path = FTIDX_DEFAULT_SOCKET;
	r = open_socket(socket_path, &fd);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->socket_path = strdup(socket_path))) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	atomic_init(&c->refs, 1);
	c->fd = fd;
	c->pid = getpid();
	c->next_id = 1;
	c->timeout_ms = 120000;
	*out = c;
	return 0;
}

_public_ struct ftidx *ftidx_ref(struct ftidx *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

_public_ struct ftidx *ftidx_unref(struct ftidx *c)
{
	/* acq_rel: the last one sees every other thread's use of @c */
	if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) > 1)
		return NULL;
	close(c->fd);
	call_reset(&c->call);
	free(c->socket_path);
	free(c->error);
	free(c->daemon_version);
	free(c);
	return NULL;
}

_public_ void ftidx_set_timeout(struct ftidx *c, unsigned timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

_public_ const char *ftidx_error_message(const struct ftidx *c)
{
	return c->error ? c->error : "";
}

void lib_set_error(struct ftidx *c, const char *msg)
{
	free(c->error);
	c->error = msg && msg[0] ? strdup(msg) : NULL;
}

_public_ unsigned ftidx_reconnects(const struct ftidx *c)
{
	return c->reconnects;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @c's socket is ready for @events or @deadline passes (the
 * timeout of @c; none when it is 0). 0, -ETIMEDOUT or -errno. */
static int wait_ready(struct ftidx *c, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int wait = c->timeout_ms ? (int)MAX(deadline - now_ms(), 0) : -1;
		int n = poll(&pfd, 1, wait);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		return n == 0 ? -ETIMEDOUT : 0;
	}
}

static void call_reset(struct ftidx_call *call)
{
	proto_buf_deinit(&call->out);
	free(call->body);
	*call = (struct ftidx_call){ 0 };
}

/* What the daemon did with @c's socket while no call was in flight. */
enum peer_state {
	PEER_OPEN,  /* nothing */
	PEER_GONE,  /* hung up */
	PEER_SPOKE, /* bytes no call asked for: a refusal, or its last word */
};

static enum peer_state peer_state(struct ftidx *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
	ssize_t n;
	char b;

	if (poll(&pfd, 1, 0) <= 0 || !pfd.revents)
		return PEER_OPEN;
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return PEER_SPOKE;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return pfd.revents & (POLLHUP | POLLRDHUP | POLLERR) ? PEER_GONE : PEER_OPEN;
	return PEER_GONE;
}

/* Connect to the daemon anew, on @c's descriptor number. 0 or -errno;
 * on failure the old socket stays, marked out of step, and the next call
 * tries again. */
static int reopen(struct ftidx *c)
{
	char msg[256];
	int fd, r = open_socket(c->socket_path, &fd);

	if (r == 0 && dup3(fd, c->fd, O_CLOEXEC) < 0)
		r = negative_errno();
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot connect to ftidxd at %.150s again: %s",
			 c->socket_path, strerror(-r));
		lib_set_error(c, msg);
		c->broken = true;
		return r;
	}
	c->pid = getpid();
	c->broken = false;
	c->reconnects++;
	c->calls_on_socket = 0;
	/* the daemon there may be another version: ask again */
	c->peer_version = 0;
	c->asked_version = false;
	return 0;
}

static void say_pinned(struct ftidx *c, uint64_t generation)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "the connection to ftidxd was lost and opened again: the daemon may have "
		 "restarted, and generation %llu may name another map there; nothing was "
		 "written: resolve again",
		 (unsigned long long)generation);
	lib_set_error(c, msg);
}

int lib_call_start(struct ftidx *c, const struct proto_request *req, int64_t extra_ms)
{
	struct ftidx_call *call = &c->call;
	uint64_t pinned = req->type == FTIDX_MSG_FILTER || req->type == FTIDX_MSG_CHANGE
				  ? req->generation
				  : 0;
	bool child = c->pid != getpid(), gone;
	enum peer_state peer;
	int r;

	/* a forked child: a call in flight is the parent's */
	if (child)
		call_reset(call);
	if (call->active) {
		lib_set_error(c, "a request is in flight on this connection: collect its reply "
				 "first");
		return -EBUSY;
	}
	lib_set_error(c, NULL);
	peer = c->broken ? PEER_GONE : peer_state(c);
	/* Bytes on a socket that never answered are the daemon's refusal of
	 * it (too many clients): the call reads them as its reply. In a
	 * child they may be the reply to the parent's call. */
	gone = peer == PEER_GONE || (peer == PEER_SPOKE && c->calls_on_socket && !child);
	if (child || gone) {
		r = reopen(c);
		if (r < 0)
			return r;
		/* a child's parent still talks to the same daemon */
		if (gone && pinned) {
			say_pinned(c, pinned);
			return -ESTALE;
		}
	}
	call_reset(call);
	proto_buf_init(&call->out);
	call->id = c->next_id++;
	r = proto_encode_request(&call->out, call->id, req);
	if (r < 0) {
		if (r == -EMSGSIZE)
			lib_set_error(c, "request larger than the protocol allows (16 MiB)");
		call_reset(call);
		return r;
	}
	call->frame_len = call->out.len;
	call->pinned = pinned;
	call->type = req->type;
	call->extra_ms = extra_ms;
	call->active = true;
	return 0;
}

short lib_call_events(const struct ftidx *c)
{
	const struct ftidx_call *call = &c->call;

	if (!call->active || c->broken)
		return 0;
	return (short)((call->sent < call->out.len ? POLLOUT : 0) | (call->done ? 0 : POLLIN));
}

/* The reply's header is in: is it this call's? */
static int check_reply_header(struct ftidx *c)
{
	const struct ftidx_frame_header *h = &c->call.h;
	const char *why = NULL;
	int r = proto_check_header(h, &why);

	if (r == 0 && h->id != c->call.id && h->type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY)) {
		why = "reply to another request";
		r = -EBADMSG;
	}
	if (r == 0 && h->type != (c->call.type | FTIDX_MSG_REPLY) &&
	    h->type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY)) {
		why = "reply of the wrong type";
		r = -EBADMSG;
	}
	if (r < 0) {
		lib_set_error(c, why);
		return r;
	}
	c->call.body = malloc(h->length ? h->length : 1);
	return c->call.body ? 0 : -ENOMEM;
}

/* Receive into @p up to @want bytes: bytes taken, 0 when none are there
 * yet, or -errno (-ECONNRESET: the daemon hung up). */
static ssize_t recv_some(struct ftidx *c, void *p, size_t want)
{
	for (;;) {
		ssize_t n = recv(c->fd, p, want, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return negative_errno();
		return n == 0 ? -ECONNRESET : n;
	}
}

static int call_io_step(struct ftidx *c)
{
	struct ftidx_call *call = &c->call;
	int r, hangup = 0;
	ssize_t n;

	while (call->sent < call->out.len) {
		/* MSG_NOSIGNAL: a dead daemon must not kill the host program. */
		n = send(c->fd, call->out.data + call->sent, call->out.len - call->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* the daemon hung up: it may have said why first (a refusal of
		 * this connection), and that is the reply */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			hangup = negative_errno();
			break;
		}
		if (n < 0)
			return negative_errno();
		call->sent += (size_t)n;
	}
	while (!call->done && call->got_header < sizeof(call->h)) {
		n = recv_some(c, (uint8_t *)&call->h + call->got_header,
			      sizeof(call->h) - call->got_header);
		if (n <= 0)
			return hangup && n == 0 ? hangup : (int)n;
		call->got_header += (size_t)n;
		if (call->got_header == sizeof(call->h)) {
			r = check_reply_header(c);
			if (r < 0)
				return r;
		}
	}
	while (!call->done && call->got_body < call->h.length) {
		n = recv_some(c, call->body + call->got_body, call->h.length - call->got_body);
		if (n <= 0)
			return hangup && n == 0 ? hangup : (int)n;
		call->got_body += (size_t)n;
	}
	call->done = true;
	return 1;
}

/* Requests that change nothing, which may be asked twice. */
static bool read_only(uint16_t type)
{
	return type == FTIDX_MSG_STATUS || type == FTIDX_MSG_RESOLVE || type == FTIDX_MSG_NAMES ||
	       type == FTIDX_MSG_LIST || type == FTIDX_MSG_VERSION;
}

static bool hung_up(int r)
{
	return r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN;
}

/* The daemon hung up during @c's call (@r): send it once more on a new
 * socket when that cannot make anything happen twice; else say what was
 * lost. */
static int call_again(struct ftidx *c, int r)
{
	struct ftidx_call *call = &c->call;

	if (call->resent)
		return r;
	if (call->sent >= call->frame_len && !read_only(call->type)) {
		lib_set_error(c, call->type == FTIDX_MSG_HITS
					 ? "the connection to ftidxd was lost before the hit count's "
					   "reply came: its counts are lost"
					 : "the connection to ftidxd was lost after the request went "
					   "out and before its reply came: the change may or may not "
					   "have been made (ftidx status, or the filter file, tells)");
		return -ECONNABORTED;
	}
	/* not sent whole: the daemon never had it */
	if (call->pinned) {
		say_pinned(c, call->pinned);
		return -ESTALE;
	}
	r = reopen(c);
	if (r < 0)
		return r;
	call->resent = true;
	call->sent = call->got_header = call->got_body = 0;
	free(call->body);
	call->body = NULL;
	call->done = false;
	return call_io_step(c);
}

int lib_call_io(struct ftidx *c)
{
	int r;

	if (!c->call.active)
		return -EINVAL;
	if (c->call.done)
		return 1;
	if (c->broken)
		return -EPIPE;
	r = call_io_step(c);
	if (hung_up(r))
		r = call_again(c, r);
	/* Half a frame sent or received leaves the stream out of step. */
	if (r < 0)
		c->broken = true;
	return r;
}

int lib_call_finish(struct ftidx *c, struct ftidx_result **out)
{
	struct ftidx_call *call = &c->call;
	struct ftidx_result *res;
	const char *why = NULL;
	int r;

	*out = NULL;
	if (!call->active || !call->done)
		return -EINVAL;
	res = calloc(1, sizeof(*res));
	if (!res) {
		call_reset(call);
		c->broken = true;
		return -ENOMEM;
	}
	res->frame = steal_ptr(&call->body);
	r = proto_decode_reply(call->h.version, call->h.type, res->frame, call->h.length,
			       &res->rep, &why);
	c->peer_version = call->h.version;
	c->calls_on_socket++;
	call_reset(call);
	if (r < 0) {
		lib_set_error(c, why);
		ftidx_result_free(res);
		c->broken = true;
		return r;
	}
	/* The daemon closes the connection after an ERROR reply, but for one
	 * that refuses a request it does not know (an older daemon's). */
	if (res->rep.type == FTIDX_MSG_ERROR && res->rep.status != EOPNOTSUPP)
		c->broken = true;
	lib_set_error(c, res->rep.message);
	if (!res->rep.status && res->rep.type == FTIDX_MSG_ERROR)
		res->rep.status = EPROTO;
	*out = res;
	return -res->rep.status;
}

int lib_transact(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
		 struct ftidx_result **out)
{
	int64_t deadline;
	int r;

	*out = NULL;
	r = lib_call_start(c, req, extra_ms);
	if (r < 0)
		return r;
	deadline = now_ms() + c->timeout_ms + extra_ms;
	while ((r = lib_call_io(c)) == 0) {
		r = wait_ready(c, lib_call_events(c), deadline);
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* the stream is out of step: nothing more can be read from it */
		c->broken = true;
		call_reset(&c->call);
		return r;
	}
	return lib_call_finish(c, out);
}

_public_ struct ftidx_result *ftidx_result_free(struct ftidx_result *r)
{
	if (!r)
		return NULL;
	proto_reply_deinit(&r->rep);
	free(r->frame);
	free(r->asked);
	free(r->reason_of);
	free(r);
	return NULL;
}

