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
 */
#include <errno.h>
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

_public_ int ftidx_connect(const char *socket_path, struct ftidx **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ftidx *c;
	int fd;

	/* secure_getenv: a set-uid tracing tool must not be pointed at a
	 * socket of its caller's choosing. */
	if (!socket_path)
		socket_path = secure_getenv("FTIDX_SOCKET");
	if (!socket_path)
		socket_path = FTIDX_DEFAULT_SOCKET;
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	atomic_init(&c->refs, 1);
	c->fd = fd;
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
	free(c->error);
	free(c->daemon_version);
	free(c->progress_what);
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

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @c's socket is ready for @events or @deadline passes (-1:
 * never). 0, -ETIMEDOUT or -errno. */
static int wait_ready(struct ftidx *c, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int wait = deadline >= 0 ? (int)MAX(deadline - now_ms(), 0) : -1;
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

int lib_call_start(struct ftidx *c, const struct proto_request *req, int64_t extra_ms)
{
	struct ftidx_call *call = &c->call;
	int r;

	if (call->active) {
		lib_set_error(c, "a request is in flight on this connection: collect its reply "
				 "first");
		return -EBUSY;
	}
	lib_set_error(c, NULL);
	if (c->broken) {
		lib_set_error(c, "the connection lost a reply earlier: reconnect");
		return -EPIPE;
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
	    h->type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY) &&
	    h->type != (FTIDX_MSG_PROGRESS | FTIDX_MSG_REPLY)) {
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
	ssize_t n;
	int r;

	while (call->sent < call->out.len) {
		/* MSG_NOSIGNAL: a dead daemon must not kill the host program. */
		n = send(c->fd, call->out.data + call->sent, call->out.len - call->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return negative_errno();
		call->sent += (size_t)n;
	}
	/* the reply, after any progress frames of the call (since 0.5) */
	for (bool progress = true; progress && !call->done;) {
		while (call->got_header < sizeof(call->h)) {
			n = recv_some(c, (uint8_t *)&call->h + call->got_header,
				      sizeof(call->h) - call->got_header);
			if (n <= 0)
				return (int)n;
			call->got_header += (size_t)n;
			if (call->got_header == sizeof(call->h)) {
				r = check_reply_header(c);
				if (r < 0)
					return r;
			}
		}
		while (call->got_body < call->h.length) {
			n = recv_some(c, call->body + call->got_body,
				      call->h.length - call->got_body);
			if (n <= 0)
				return (int)n;
			call->got_body += (size_t)n;
		}
		progress = call->h.type == (FTIDX_MSG_PROGRESS | FTIDX_MSG_REPLY);
		if (progress) {
			lib_progress_frame(c, &call->h, call->body);
			free(call->body);
			call->body = NULL;
			call->got_header = call->got_body = 0;
		}
	}
	call->done = true;
	return 1;
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
	deadline = c->timeout_ms ? now_ms() + c->timeout_ms + extra_ms : -1;
	lib_progress_begin(c);
	while ((r = lib_call_io(c)) == 0) {
		r = wait_ready(c, lib_call_events(c), lib_progress_until(c, deadline));
		/* a progress report was due, not the timeout */
		if (r == -ETIMEDOUT && lib_progress_tick(c, deadline))
			continue;
		if (r < 0)
			break;
	}
	if (r == -ETIMEDOUT)
		lib_set_error(c, "no reply within the timeout (ftidxd may still be working on the "
				 "request)");
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

