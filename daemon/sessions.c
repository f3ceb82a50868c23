/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filter sessions (see sessions.h and docs/filter-sessions.md).
 *
 * A session's socket brings three kinds of message, in the order the
 * program made them: SESSION_WRITE and SESSION_STATE frames, each with a
 * socket for the answer attached (SCM_RIGHTS), sent by the drop-in's
 * write(), writev(), fflush() and fclose(); plain bytes, one message per
 * write() made inside libc; and end-of-file, when the last reference to
 * the program's end is closed.
 *
 * A write() is the kernel's: the parser (filter-parser.h) takes one token
 * and says what the write() returns; a name or glob the map matches is
 * kept, one that matches nothing fails the write() with EINVAL, anything
 * else hands the session to the kernel (service-session.h): the real file
 * is opened with the session's flags, the tokens kept so far and the
 * parser's pending bytes are written to it, and from then on the
 * program's bytes pass through. Plain bytes are applied as a writer that
 * retries short writes and stops at the first error applies them (stdio),
 * and that error is kept for the next SESSION_STATE.
 *
 * At its end a session is committed: its kept tokens as one FILTER
 * request (SET, ADD or CLEAR), made on a connection of its own as its
 * owner, so that the writer's fences, intent record and verification, and
 * the turns that share the daemon's time, apply as to any client; or, if
 * it was handed to the kernel, by closing the kernel's file. The sessions
 * of one file are committed one at a time, in the order they ended: the
 * last release wins, as in the kernel. SESSION and SESSION_SYNC requests
 * wait for the commits they depend on.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "fdpass.h"
#include "filter-parser.h"
#include "growbuf.h"
#include "log.h"
#include "macro.h"
#include "service-session.h"
#include "sessions.h"
#include "writer.h"

/* A message on a session's socket: a frame of at most a SESSION_WRITE's
 * bytes and its header, or bytes written inside libc (one write(), at most
 * the socket's send buffer: a few hundred KiB). */
#define MESSAGE_MAX (1u << 20)
/* Work on one session's messages in one turn of the loop, and on the
 * predictions of one write. */
#define SLICE_NS (10ull * 1000000)
/* Messages taken off one session's socket in one go at most (within a
 * slice): about what the socket can hold. */
#define DRAIN_MAX 4096
/* Attempts at a commit whose tokens the map stopped matching. */
#define COMMIT_ATTEMPTS 4

struct session {
	struct sessions *ss;
	uint64_t id;
	int fd;          /* ftidxd's end */
	struct event *ev;
	struct event *resume; /* plain bytes left: a timer of 0, so that the
				 loop polls everyone's sockets first */
	struct session_owner owner;
	uint16_t file;
	bool truncate;
	char instance[FTIDX_INSTANCE_MAX + 1];
	struct filter_parser parser;
	struct growbuf tokens; /* kept tokens, NUL-terminated, back to back */
	uint32_t n_tokens;
	uint32_t raw_error;    /* the first error of plain bytes, not yet taken */
	uint8_t *pending;      /* plain bytes not applied yet (a slice ran out) */
	size_t pending_len, pending_at;
	bool to_kernel;        /* handed over: */
	int kernel_fd;         /* ...the kernel's file, or -errno */
	uint64_t ended;        /* 0, or its place among the ends */
	bool committing;
	int attempts;
	struct bufferevent *commit; /* the FILTER request under way */
	uint16_t commit_op;
	struct session *next;
};

/* A session a waiter waits for: to be committed, or first to have its
 * socket's messages taken in (then to end, or not). */
struct wait_on {
	uint64_t id;
	bool draining;
};

struct waiter {
	uint16_t type;  /* FTIDX_MSG_SESSION or FTIDX_MSG_SESSION_SYNC */
	void *requester;
	uint32_t id;
	struct wait_on *on; /* what it still waits for */
	size_t n;
	uint32_t committed;
	/* SESSION: the session to open once they are */
	struct session_owner owner;
	uint16_t file;
	uint32_t flags;
	char instance[FTIDX_INSTANCE_MAX + 1];
	struct waiter *next;
};

struct sessions {
	struct event_base *base;
	struct service *svc;
	struct sessions_hooks hooks;
	size_t budget, bytes; /* tokens kept by all sessions */
	struct session *list;
	size_t n;
	uint64_t next_id, ends;
	struct waiter *waiters;
	struct event *pump;   /* commits to begin: at the loop's next turn */
	uint8_t *rx;          /* MESSAGE_MAX */
};

/* ---- lookups ----------------------------------------------------------- */

static bool same_file(const struct session *se, const char *instance, uint16_t file)
{
	return se->file == file && strcmp(se->instance, instance) == 0;
}

static struct session *find(struct sessions *ss, uint64_t id)
{
	for (struct session *se = ss->list; se; se = se->next)
		if (se->id == id)
			return se;
	return NULL;
}

static size_t count_of_user(const struct sessions *ss, uid_t uid)
{
	size_t n = 0;

	for (const struct session *se = ss->list; se; se = se->next)
		n += se->owner.uid == uid && !se->ended;
	return n;
}

size_t sessions_count(const struct sessions *ss)
{
	return ss->n;
}

/* ---- the kernel's file, for a session handed over --------------------- */

static ssize_t kernel_write(struct session *se, const char *buf, size_t n)
{
	if (se->kernel_fd < 0)
		return se->kernel_fd;
	return service_session_kernel_write(se->ss->svc, se->kernel_fd, buf, n);
}

/* All of @n bytes of @buf into the kernel's file, as a writer retrying
 * short writes would: what it took, the first error ending it. */
static void kernel_write_all(struct session *se, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = kernel_write(se, buf, n);

		if (r <= 0) {
			log_debug("session %llu: the kernel refused a token kept before the hand-over "
				  "(%s)",
				  (unsigned long long)se->id, strerror(r < 0 ? (int)-r : EIO));
			if (r == 0 || se->kernel_fd < 0)
				return;
			/* the refused token is gone from the kernel's parser:
			 * go on after it, as the tokens after it were kept */
			while (n > 0 && !filter_parser_isspace((unsigned char)*buf) && *buf)
				buf++, n--;
			continue;
		}
		buf += r;
		n -= (size_t)r;
	}
}

static void forget_tokens(struct session *se)
{
	se->ss->bytes -= se->tokens.len;
	growbuf_deinit(&se->tokens);
	se->n_tokens = 0;
}

/*
 * From now on the kernel serves @se: its file opened as the program
 * opened it, the tokens kept so far written to it (as their indices when
 * the map is the kernel's now, else by name, one a line), then @parser's
 * pending bytes, so that the kernel's parser stands where the session's
 * stood.
 */
static void hand_over(struct session *se, const struct filter_parser *parser)
{
	const char *tok = (const char *)se->tokens.data;
	const char **tokens = calloc(se->n_tokens ? se->n_tokens : 1, sizeof(*tokens));
	struct growbuf names = { 0 };
	char *text = NULL;
	size_t len = 0;

	se->to_kernel = true;
	se->kernel_fd = service_session_kernel_open(se->ss->svc, se->instance, se->file,
						    se->truncate);
	if (se->kernel_fd < 0)
		log_warn("session %llu: cannot open %s%s%s for the kernel to serve it: %s",
			 (unsigned long long)se->id, se->instance[0] ? "instances/" : "",
			 se->instance, se->instance[0] ? "/" : "", strerror(-se->kernel_fd));
	for (uint32_t i = 0; tokens && i < se->n_tokens; i++) {
		size_t n = strlen(tok);

		tokens[i] = tok;
		growbuf_append(&names, tok, n);
		growbuf_append(&names, "\n", 1);
		tok += n + 1;
	}
	if (se->kernel_fd >= 0 && se->n_tokens && tokens)
		text = service_session_kernel_indices(se->ss->svc, se->file, tokens, se->n_tokens,
						      &len);
	log_debug("session %llu: handed to the kernel after %u tokens, written %s",
		  (unsigned long long)se->id, se->n_tokens, text ? "by index" : "by name");
	if (text) {
		kernel_write_all(se, text, len);
		if (!service_session_kernel_fence_holds(se->ss->svc))
			log_warn("session %llu: a module came or went while its tokens were "
				 "written to the kernel by index: they may have meant other functions",
				 (unsigned long long)se->id);
	} else if (!names.failed && se->kernel_fd >= 0) {
		kernel_write_all(se, (const char *)names.data, names.len);
	}
	free(text);
	free(tokens);
	growbuf_deinit(&names);
	forget_tokens(se);
	if (filter_parser_loaded(parser) && se->kernel_fd >= 0)
		kernel_write(se, parser->buf, parser->idx);
	filter_parser_clear(&se->parser);
}

/* ---- a write(), as the kernel takes it -------------------------------- */

/* What the sessions of @uid keep. */
static size_t bytes_of_user(const struct sessions *ss, uid_t uid)
{
	size_t n = 0;

	for (const struct session *se = ss->list; se; se = se->next)
		n += se->owner.uid == uid ? se->tokens.len : 0;
	return n;
}

/*
 * Keep @token for the commit, within the limits: a session's own, all
 * sessions' budget, and past half of that, one user's half, so that one
 * user's sessions never leave another's none. False past them: the
 * kernel takes the session over.
 */
static bool keep(struct session *se, const char *token)
{
	struct sessions *ss = se->ss;
	size_t len = strlen(token) + 1;

	if (se->n_tokens >= SESSION_MAX_TOKENS || se->tokens.len + len > SESSION_MAX_BYTES ||
	    ss->bytes + len > ss->budget)
		return false;
	if (ss->bytes + len > ss->budget / 2 && bytes_of_user(ss, se->owner.uid) + len > ss->budget / 2)
		return false;
	growbuf_append(&se->tokens, token, len);
	if (se->tokens.failed) {
		se->tokens.failed = false;
		return false;
	}
	se->ss->bytes += len;
	se->n_tokens++;
	return true;
}

/*
 * One write() of @n bytes (@n > 0) to @se: what the kernel's write()
 * returns, the bytes taken or -errno.
 */
static ssize_t session_write(struct session *se, const char *buf, size_t n)
{
	struct filter_parser before = se->parser;
	struct filter_parse pr;
	enum session_verdict v;

	if (se->to_kernel)
		return kernel_write(se, buf, n);
	filter_parser_write(&se->parser, buf, n, &pr);
	if (pr.overflow) {
		hand_over(se, &before);
		return kernel_write(se, buf, n);
	}
	if (!pr.token)
		return (ssize_t)pr.read;
	v = service_session_verdict(se->ss->svc, se->file, se->parser.buf);
	if (v == SESSION_ACCEPT && keep(se, se->parser.buf)) {
		filter_parser_clear(&se->parser);
		return (ssize_t)pr.read;
	}
	if (v == SESSION_NO_MATCH) {
		filter_parser_clear(&se->parser);
		return -EINVAL;
	}
	/* the kernel takes this write() as the program made it */
	hand_over(se, &before);
	return kernel_write(se, buf, n);
}

/*
 * The retries of the rest of a write's buffer (@n bytes after what it
 * took), predicted on a copy of the parser: each next write() of what is
 * left, as long as its token is one ftidxd keeps; a token that matches
 * nothing is the last (it fails its write()); one for the kernel, or a
 * slice's time spent, ends the prediction before it.
 */
static uint32_t predict(struct session *se, const char *buf, size_t n, struct proto_step *steps)
{
	struct filter_parser sim = se->parser;
	uint64_t deadline = now_ns() + SLICE_NS;
	size_t at = 0, bytes = se->tokens.len;
	uint32_t k = 0;

	while (at < n && k < FTIDX_SESSION_STEPS_MAX && now_ns() < deadline) {
		struct filter_parse pr;
		struct proto_step *st = &steps[k];

		filter_parser_write(&sim, buf + at, n - at, &pr);
		if (pr.overflow)
			break;
		*st = (struct proto_step){ (uint32_t)pr.read, (int32_t)pr.read,
					   at + pr.read == n && !pr.token ? FTIDX_STEP_AT_END : 0 };
		if (pr.token) {
			enum session_verdict v = service_session_verdict(se->ss->svc, se->file, sim.buf);

			bytes += strlen(sim.buf) + 1;
			if (v == SESSION_TO_KERNEL || bytes > SESSION_MAX_BYTES ||
			    se->n_tokens + k >= SESSION_MAX_TOKENS)
				break;
			filter_parser_clear(&sim);
			if (v == SESSION_NO_MATCH) {
				st->result = -EINVAL;
				k++;
				break;
			}
		}
		at += pr.read;
		k++;
	}
	return k;
}

/* ---- messages on a session's socket ----------------------------------- */

/* @frame on reply socket @fd, with descriptor @pass (not consumed) when
 * it is not -1. */
static void reply_passing(int fd, struct proto_buf *frame, int pass)
{
	ssize_t n;

	if (frame->failed)
		return;
	n = fdpass_send(fd, frame->data, frame->len, pass, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		log_debug("a session's answer could not be sent: %s", strerror((int)-n));
}

static void reply(int fd, struct proto_buf *frame)
{
	reply_passing(fd, frame, -1);
}

static void reply_plain(struct session *se, int fd, uint16_t type, uint32_t id, int status,
			const char *why)
{
	struct proto_reply rep = { .type = type, .status = status, .message = why,
				   .session_instance = se->instance, .session_file = se->file };
	struct proto_buf b;

	proto_buf_init(&b);
	if (proto_encode_reply(&b, id, &rep) == 0)
		reply(fd, &b);
	proto_buf_deinit(&b);
}

static void on_write_frame(struct session *se, const struct proto_request *req, uint32_t id,
			   int fd)
{
	static struct proto_step steps[FTIDX_SESSION_STEPS_MAX];
	ssize_t r = session_write(se, (const char *)req->bytes, req->n_bytes);
	struct proto_reply rep = { .type = FTIDX_MSG_SESSION_WRITE, .message = "",
				   .result = (int32_t)r };
	struct proto_buf b;

	if (req->flags & FTIDX_WRITE_NO_REPLY)
		return;
	if (r > 0 && (size_t)r < req->n_bytes && !se->to_kernel) {
		rep.steps = steps;
		rep.n_steps = predict(se, (const char *)req->bytes + r, req->n_bytes - (size_t)r,
				      steps);
	}
	proto_buf_init(&b);
	if (proto_encode_reply(&b, id, &rep) == 0)
		reply(fd, &b);
	proto_buf_deinit(&b);
}

static void on_state_frame(struct session *se, const struct proto_request *req, uint32_t id,
			   int fd)
{
	struct proto_reply rep = {
		.type = FTIDX_MSG_SESSION_STATE,
		.message = "",
		.session = se->id,
		.session_flags = se->truncate ? FTIDX_SESSION_TRUNCATE : 0,
		.session_file = se->file,
		.session_instance = se->instance,
		.raw_error = se->raw_error,
	};
	struct proto_buf b;

	if (req->flags & FTIDX_STATE_TAKE_ERROR)
		se->raw_error = 0;
	/* a program about to exec one that no preload reaches: from now on
	 * the kernel's open file, which it is given, serves the session */
	if ((req->flags & FTIDX_STATE_TO_KERNEL) && !se->to_kernel)
		hand_over(se, &se->parser);
	if ((req->flags & FTIDX_STATE_TO_KERNEL) && se->kernel_fd < 0) {
		rep.status = se->kernel_fd < 0 && se->to_kernel ? (int32_t)-se->kernel_fd : EIO;
		rep.message = "the kernel's file could not be opened";
	}
	proto_buf_init(&b);
	if (proto_encode_reply(&b, id, &rep) == 0)
		reply_passing(fd, &b,
			      (req->flags & FTIDX_STATE_TO_KERNEL) && !rep.status ? se->kernel_fd
										 : -1);
	proto_buf_deinit(&b);
}

/* A frame of @len bytes at @msg, answered on @fd (not consumed). */
static void on_frame(struct session *se, const uint8_t *msg, size_t len, int fd)
{
	struct ftidx_frame_header h;
	struct proto_request req;
	const char *why = "not a whole frame";
	int r = -EBADMSG;

	memset(&h, 0, sizeof(h));
	if (len >= sizeof(h)) {
		memcpy(&h, msg, sizeof(h));
		r = proto_check_header(&h, &why);
		if (r == 0 && h.length != len - sizeof(h)) {
			r = -EBADMSG;
			why = "the frame's length is not the message's";
		}
	}
	if (r == 0)
		r = proto_decode_request(h.version, h.type, msg + sizeof(h), h.length, &req, &why);
	if (r == 0 && req.type == FTIDX_MSG_SESSION_WRITE)
		on_write_frame(se, &req, h.id, fd);
	else if (r == 0 && req.type == FTIDX_MSG_SESSION_STATE)
		on_state_frame(se, &req, h.id, fd);
	else
		reply_plain(se, fd, FTIDX_MSG_ERROR, h.id, r == 0 ? EOPNOTSUPP : -r,
			    r == 0 ? "not a request for a session's socket" : why);
	if (r == 0 || r == -EOPNOTSUPP)
		proto_request_deinit(&req);
}

/*
 * Bytes written inside libc: applied as stdio writes them, retrying short
 * writes, stopping at the first error, which is kept. A slice's time
 * spent, the rest waits in @se->pending for the next (nothing more is
 * read meanwhile: order is kept). Whether it is all applied.
 */
static bool apply_plain(struct session *se, const uint8_t *msg, size_t len, size_t *at,
			uint64_t deadline)
{
	while (*at < len) {
		ssize_t r = session_write(se, (const char *)msg + *at, len - *at);

		if (r <= 0) {
			if (!se->raw_error)
				se->raw_error = r < 0 ? (uint32_t)-r : EIO;
			*at = len;
			return true;
		}
		*at += (size_t)r;
		if (*at < len && now_ns() >= deadline)
			return false;
	}
	return true;
}

static void on_plain(struct session *se, const uint8_t *msg, size_t len, uint64_t deadline)
{
	size_t at = 0;

	if (apply_plain(se, msg, len, &at, deadline))
		return;
	se->pending = malloc(len - at);
	if (!se->pending) {
		/* out of memory: the rest now, whatever it costs */
		apply_plain(se, msg, len, &at, UINT64_MAX);
		return;
	}
	memcpy(se->pending, msg + at, len - at);
	se->pending_len = len - at;
	se->pending_at = 0;
}

/* Go on with plain bytes left from a slice: whether they are done. */
static bool go_on(struct session *se, uint64_t deadline)
{
	if (!se->pending)
		return true;
	if (!apply_plain(se, se->pending, se->pending_len, &se->pending_at, deadline))
		return false;
	free(se->pending);
	se->pending = NULL;
	return true;
}

/* Begin the commits whose turn it is, at the loop's next turn: never
 * from inside a drain, whose caller still walks the sessions. */
static void pump_soon(struct sessions *ss)
{
	event_active(ss->pump, EV_TIMEOUT, 0);
}

/*
 * The last reference to the program's end is gone: the kernel's release.
 * A token cut without whitespace is applied now, its error dropped, and
 * the session waits for its turn to be committed.
 */
static void end(struct session *se)
{
	if (se->ended)
		return;
	if (se->ev)
		event_del(se->ev);
	if (se->resume)
		event_del(se->resume);
	if (!se->to_kernel && filter_parser_loaded(&se->parser)) {
		struct filter_parser before = se->parser;
		enum session_verdict v = service_session_verdict(se->ss->svc, se->file,
								 se->parser.buf);

		if (v == SESSION_TO_KERNEL || (v == SESSION_ACCEPT && !keep(se, se->parser.buf)))
			hand_over(se, &before);
		filter_parser_clear(&se->parser);
	}
	se->ended = ++se->ss->ends;
	/* who waited for its messages now waits for its commit */
	for (struct waiter *w = se->ss->waiters; w; w = w->next)
		for (size_t i = 0; i < w->n; i++)
			if (w->on[i].id == se->id)
				w->on[i].draining = false;
	pump_soon(se->ss);
}

/* Whether the peer is gone and nothing but empty messages is left. */
static bool at_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	int queued = 0;

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP)) &&
	       ioctl(fd, FIONREAD, &queued) == 0 && queued == 0;
}

/* Take one message off @se's socket, plain bytes left from a slice
 * first: 1, or 0 when none is there, or -1 at the session's end. */
static int take_message(struct session *se, uint64_t deadline)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} control;
	struct iovec iov = { se->ss->rx, MESSAGE_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	int fds[8], n_fds = 0;
	ssize_t n;

	if (!go_on(se, deadline))
		return 1;
	n = recvmsg(se->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0) {
		end(se);
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && n_fds < 8; i++)
			memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n_fds == 1 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		on_frame(se, se->ss->rx, (size_t)n, fds[0]);
	else if (n_fds > 0)
		log_debug("session %llu: a message with %d descriptors ignored",
			  (unsigned long long)se->id, n_fds);
	else if (n == 0 && at_eof(se->fd)) {
		end(se);
		return -1;
	} else if (msg.msg_flags & MSG_TRUNC) {
		if (!se->raw_error)
			se->raw_error = EMSGSIZE;
	} else if (n > 0) {
		on_plain(se, se->ss->rx, (size_t)n, deadline);
	}
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	return 1;
}

static void answer_waiters(struct sessions *ss);

/* @se's socket has nothing more for now, and it has not ended: whoever
 * waited for its messages to be taken in waits no more for it. */
static void drained(struct session *se)
{
	struct sessions *ss = se->ss;
	bool any = false;

	for (struct waiter *w = ss->waiters; w; w = w->next)
		for (size_t i = 0; i < w->n; i++)
			if (w->on[i].id == se->id && w->on[i].draining) {
				w->on[i] = w->on[--w->n];
				any = true;
				break;
			}
	if (any)
		answer_waiters(ss);
}

/* The messages on @se's socket, until there are none, or its end, or
 * @deadline: 0, -1 at its end, or 1 when there is more. */
static int take_messages(struct session *se, uint64_t deadline)
{
	for (int i = 0; i < DRAIN_MAX; i++) {
		int r = take_message(se, deadline);

		if (r <= 0)
			return r;
		if (now_ns() >= deadline)
			break;
	}
	return 1;
}

/* Go on at the loop's next turn with plain bytes left from a slice. */
static void resume_soon(struct session *se)
{
	static const struct timeval now = { 0, 0 };

	if (se->pending && !evtimer_pending(se->resume, NULL))
		evtimer_add(se->resume, &now);
}

static void on_readable(evutil_socket_t fd _unused_, short what _unused_, void *arg)
{
	struct session *se = arg;
	int r = take_messages(se, now_ns() + SLICE_NS);

	/* one slice of work, then back to the loop: the event fires again
	 * while messages are left, and the timer for plain bytes left */
	if (r > 0)
		resume_soon(se);
	if (r == 0)
		drained(se);
}

/* ---- commits ----------------------------------------------------------- */

static void session_free(struct session *se)
{
	struct sessions *ss = se->ss;

	for (struct session **at = &ss->list; *at; at = &(*at)->next)
		if (*at == se) {
			*at = se->next;
			break;
		}
	ss->n--;
	if (se->ev)
		event_free(se->ev);
	if (se->resume)
		event_free(se->resume);
	if (se->commit)
		bufferevent_free(se->commit);
	if (se->fd >= 0)
		close(se->fd);
	if (se->to_kernel && se->kernel_fd >= 0)
		service_session_kernel_close(ss->svc, se->kernel_fd);
	forget_tokens(se);
	free(se->pending);
	free(se);
}

/* @se is committed, or its commit failed (said in the log): it goes, and
 * whoever waited for it is answered. */
static void committed(struct session *se)
{
	struct sessions *ss = se->ss;
	uint64_t id = se->id;

	session_free(se);
	for (struct waiter *w = ss->waiters; w; w = w->next)
		for (size_t i = 0; i < w->n; i++)
			if (w->on[i].id == id) {
				w->committed += !w->on[i].draining;
				w->on[i] = w->on[--w->n];
				break;
			}
	answer_waiters(ss);
	pump_soon(ss);
}

static void commit_send(struct session *se);

/* The commit's answer: done, or again without what the map no longer
 * matches, or as a CLEAR when nothing is left to set. */
static void commit_answered(struct session *se, const struct proto_reply *rep)
{
	if (rep->status == ENODATA && se->commit_op == FTIDX_OP_SET) {
		/* the tokens select nothing: the kernel's filter is left empty */
		forget_tokens(se);
		commit_send(se);
		return;
	}
	if (rep->status == EINVAL && rep->n_items == se->n_tokens && rep->n_failed &&
	    se->attempts < COMMIT_ATTEMPTS) {
		const char *tok = (const char *)se->tokens.data;
		struct growbuf kept = { 0 };
		uint32_t n = 0;

		/* tokens matched when written whose functions have gone (a
		 * module unloaded since): the kernel's hash lost them too */
		for (uint32_t i = 0; i < rep->n_items; i++) {
			size_t len = strlen(tok) + 1;

			if (rep->items[i].status == 0) {
				growbuf_append(&kept, tok, len);
				n++;
			}
			tok += len;
		}
		if (!kept.failed) {
			se->ss->bytes -= se->tokens.len - kept.len;
			growbuf_deinit(&se->tokens);
			se->tokens = kept;
			se->n_tokens = n;
			commit_send(se);
			return;
		}
		growbuf_deinit(&kept);
	}
	if (rep->status)
		log_warn("session %llu: committing %s%s%s%s failed: %s (%s)",
			 (unsigned long long)se->id, se->instance[0] ? "instances/" : "",
			 se->instance, se->instance[0] ? "/" : "", writer_file_name(se->file),
			 rep->message[0] ? rep->message : "refused", strerror((int)rep->status));
	committed(se);
}

static void on_commit_read(struct bufferevent *bev, void *arg)
{
	struct session *se = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ftidx_frame_header h;
	struct proto_reply rep;
	const char *why;
	uint8_t *frame;

	if (evbuffer_copyout(in, &h, sizeof(h)) < (ev_ssize_t)sizeof(h) ||
	    evbuffer_get_length(in) < sizeof(h) + h.length)
		return;
	/* the answer's strings point into @bev's buffer: it goes last, after
	 * the session may have begun another request, or gone */
	se->commit = NULL;
	frame = evbuffer_pullup(in, (ev_ssize_t)(sizeof(h) + h.length));
	if (frame && proto_decode_reply(h.version, h.type, frame + sizeof(h), h.length, &rep,
					&why) == 0) {
		commit_answered(se, &rep);
	} else {
		log_warn("session %llu: the commit's answer could not be read",
			 (unsigned long long)se->id);
		committed(se);
	}
	proto_reply_deinit(&rep);
	bufferevent_free(bev);
}

static void on_commit_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *se = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	log_warn("session %llu: the commit's connection closed unanswered",
		 (unsigned long long)se->id);
	se->commit = NULL;
	committed(se);
	bufferevent_free(bev);
}

/* The kept tokens as a FILTER request, on a connection of its own served
 * as the session's owner. */
static void commit_send(struct session *se)
{
	struct sessions *ss = se->ss;
	const char **tokens = NULL;
	const char *tok = (const char *)se->tokens.data;
	struct proto_request req = {
		.type = FTIDX_MSG_FILTER,
		.op = se->n_tokens ? (se->truncate ? FTIDX_OP_SET : FTIDX_OP_ADD) : FTIDX_OP_CLEAR,
		/* the program's own writes leave the filter as the kernel
		 * would, empty too ('!f' appended removing the last one) */
		.flags = FTIDX_FILTER_ALLOW_EMPTY,
		.file = se->file,
		.instance = se->instance,
		.n_tokens = se->n_tokens,
	};
	struct proto_buf frame;
	int sv[2] = { -1, -1 };

	se->attempts++;
	se->commit_op = req.op;
	if (!se->n_tokens && !se->truncate) {
		/* an append of nothing leaves the filter as it is */
		committed(se);
		return;
	}
	proto_buf_init(&frame);
	tokens = malloc(sizeof(*tokens) * (se->n_tokens ? se->n_tokens : 1));
	for (uint32_t i = 0; tokens && i < se->n_tokens; i++) {
		tokens[i] = tok;
		tok += strlen(tok) + 1;
	}
	req.tokens = tokens;
	if (!tokens || proto_encode_request(&frame, 1, &req) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0 ||
	    !(se->commit = bufferevent_socket_new(ss->base, sv[1], BEV_OPT_CLOSE_ON_FREE))) {
		log_error("session %llu: cannot commit: %s", (unsigned long long)se->id,
			  strerror(errno ? errno : ENOMEM));
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		free(tokens);
		proto_buf_deinit(&frame);
		committed(se);
		return;
	}
	free(tokens);
	bufferevent_setcb(se->commit, on_commit_read, NULL, on_commit_event, se);
	bufferevent_write(se->commit, frame.data, frame.len);
	bufferevent_enable(se->commit, EV_READ | EV_WRITE);
	proto_buf_deinit(&frame);
	if (ss->hooks.adopt(ss->hooks.ctx, sv[0], &se->owner) < 0) {
		log_error("session %llu: cannot commit: out of memory", (unsigned long long)se->id);
		bufferevent_free(se->commit);
		se->commit = NULL;
		committed(se);
	}
}

static void commit_begin(struct session *se)
{
	se->committing = true;
	log_debug("session %llu: committing %u tokens%s", (unsigned long long)se->id,
		  se->n_tokens, se->to_kernel ? " (the kernel's release)" : "");
	if (se->to_kernel) {
		/* the kernel commits at its release, and says nothing of it */
		if (se->kernel_fd >= 0)
			service_session_kernel_close(se->ss->svc, se->kernel_fd);
		se->kernel_fd = -1;
		committed(se);
		return;
	}
	commit_send(se);
}

/* Begin the commits whose turn it is: of each file, the session that
 * ended first, when no commit of that file is under way. */
static void on_pump(evutil_socket_t fd _unused_, short what _unused_, void *arg)
{
	struct sessions *ss = arg;

	for (bool again = true; again;) {
		again = false;
		for (struct session *se = ss->list; se; se = se->next) {
			bool first = true;

			if (!se->ended || se->committing)
				continue;
			for (struct session *o = ss->list; o && first; o = o->next)
				if (o != se && o->ended && same_file(o, se->instance, se->file) &&
				    (o->committing || o->ended < se->ended))
					first = false;
			if (first) {
				/* a commit that ends at once changes the list */
				commit_begin(se);
				again = true;
				break;
			}
		}
	}
}

/* ---- opening, and waiting for commits ---------------------------------- */

static int encode_open_reply(struct sessions *ss, uint32_t id, uint64_t session, int status,
			     const char *why, struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_SESSION, .status = status,
				   .message = why ? why : "", .session = session };

	(void)ss;
	return proto_encode_reply(out, id, &rep);
}

/* A new session of @file of @instance: its id, and the program's end of
 * its socket in *@fd; or -errno with *@why. */
static int create(struct sessions *ss, const struct session_owner *owner, uint16_t file,
		  uint32_t flags, const char *instance, uint64_t *id, int *fd, const char **why)
{
	struct session *se;
	int sv[2];

	*fd = -1;
	if (ss->n >= SESSIONS_MAX) {
		*why = "too many filter sessions open";
		return -EUSERS;
	}
	if (count_of_user(ss, owner->uid) >= SESSIONS_PER_USER) {
		*why = "too many filter sessions open by this user";
		return -EUSERS;
	}
	if (!service_session_instance_exists(ss->svc, instance)) {
		*why = "no such instance";
		return -ENOENT;
	}
	se = calloc(1, sizeof(*se));
	if (!se || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(se);
		*why = "cannot make the session's socket";
		return -ENOMEM;
	}
	if (evutil_make_socket_nonblocking(sv[0]) < 0 ||
	    !(se->ev = event_new(ss->base, sv[0], EV_READ | EV_PERSIST, on_readable, se)) ||
	    !(se->resume = evtimer_new(ss->base, on_readable, se)) ||
	    event_add(se->ev, NULL) < 0) {
		if (se->ev)
			event_free(se->ev);
		if (se->resume)
			event_free(se->resume);
		close(sv[0]);
		close(sv[1]);
		free(se);
		*why = "cannot watch the session's socket";
		return -ENOMEM;
	}
	se->ss = ss;
	se->id = ++ss->next_id;
	se->fd = sv[0];
	se->owner = *owner;
	se->file = file;
	se->truncate = flags & FTIDX_SESSION_TRUNCATE;
	se->kernel_fd = -1;
	snprintf(se->instance, sizeof(se->instance), "%s", instance);
	filter_parser_clear(&se->parser);
	se->next = ss->list;
	ss->list = se;
	ss->n++;
	*id = se->id;
	*fd = sv[1];
	log_debug("session %llu: %s%s%s%s opened by uid %u pid %ld (%s)%s",
		  (unsigned long long)se->id, instance[0] ? "instances/" : "", instance,
		  instance[0] ? "/" : "", writer_file_name(file), (unsigned)owner->uid,
		  (long)owner->pid, owner->comm, se->truncate ? ", truncating" : "");
	return 0;
}

/*
 * What a SESSION or SESSION_SYNC waits for: of the sessions of @file of
 * @instance, or the one session @only, those that have ended and are not
 * committed yet, and those whose sockets hold more than a slice of work,
 * which may end behind it (a slice at a time, in turn, as any session's
 * messages are taken in). Into *@on (malloc'd), their number returned, or
 * -ENOMEM.
 */
static ssize_t settle(struct sessions *ss, const char *instance, uint16_t file, uint64_t only,
		      struct wait_on **on)
{
	uint64_t deadline = now_ns() + SLICE_NS;
	size_t n = 0, cap = 0;

	*on = NULL;
	for (struct session *se = ss->list; se; se = se->next) {
		struct wait_on *grown;
		int r = 0;

		if (only ? se->id != only : !same_file(se, instance, file))
			continue;
		if (!se->ended)
			r = take_messages(se, deadline);
		if (!se->ended && r == 0)
			continue; /* open elsewhere: the kernel would not commit it */
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(*on, sizeof(**on) * cap);
			if (!grown) {
				free(*on);
				*on = NULL;
				return -ENOMEM;
			}
			*on = grown;
		}
		(*on)[n++] = (struct wait_on){ se->id, !se->ended };
		if (!se->ended)
			resume_soon(se);
	}
	return (ssize_t)n;
}

static void waiter_free(struct waiter *w)
{
	free(w->on);
	free(w);
}

/* A waiter whose sessions are all committed: its answer. */
static void answer(struct sessions *ss, struct waiter *w)
{
	struct proto_buf frame;
	const char *why = NULL;
	uint64_t id = 0;
	int fd = -1, r;

	proto_buf_init(&frame);
	if (w->type == FTIDX_MSG_SESSION_SYNC) {
		struct proto_reply rep = { .type = FTIDX_MSG_SESSION_SYNC, .message = "",
					   .committed = w->committed };

		r = proto_encode_reply(&frame, w->id, &rep);
	} else {
		r = create(ss, &w->owner, w->file, w->flags, w->instance, &id, &fd, &why);
		r = encode_open_reply(ss, w->id, id, r < 0 ? -r : 0, why, &frame);
	}
	if (r == 0)
		ss->hooks.deliver(ss->hooks.ctx, w->requester, &frame, fd, id);
	else if (fd >= 0) {
		close(fd);
		sessions_discard(ss, id);
	}
	proto_buf_deinit(&frame);
}

/* Answer the waiters whose sessions are all committed, one at a time,
 * each taken off the list first: an answer lets its client's next
 * request in, which may add waiters, or make a client go (and its
 * waiters with it). */
static void answer_waiters(struct sessions *ss)
{
	for (;;) {
		struct waiter **at = &ss->waiters, *w;

		while (*at && (*at)->n)
			at = &(*at)->next;
		w = *at;
		if (!w)
			return;
		*at = w->next;
		answer(ss, w);
		waiter_free(w);
	}
}

static int wait_for(struct sessions *ss, struct waiter *proto_w, struct wait_on *on, size_t n)
{
	struct waiter *w = malloc(sizeof(*w));

	if (!w) {
		free(on);
		return -ENOMEM;
	}
	*w = *proto_w;
	w->on = on;
	w->n = n;
	w->next = ss->waiters;
	ss->waiters = w;
	return SESSIONS_LATER;
}

int sessions_open(struct sessions *ss, void *requester, uint32_t id,
		  const struct session_owner *owner, const struct proto_request *req,
		  struct proto_buf *out, int *fd, uint64_t *session)
{
	struct waiter w = { .type = FTIDX_MSG_SESSION, .requester = requester, .id = id,
			    .owner = *owner, .file = req->file, .flags = req->flags };
	const char *why = NULL;
	struct wait_on *on;
	ssize_t n;
	int r;

	*fd = -1;
	*session = 0;
	/* the file's sessions that ended before this open are committed
	 * first: the kernel's open would copy what their release left */
	n = settle(ss, req->instance, req->file, 0, &on);
	if (n < 0)
		return (int)n;
	if (n > 0) {
		snprintf(w.instance, sizeof(w.instance), "%s", req->instance);
		return wait_for(ss, &w, on, (size_t)n);
	}
	r = create(ss, owner, req->file, req->flags, req->instance, session, fd, &why);
	return encode_open_reply(ss, id, *session, r < 0 ? -r : 0, why, out);
}

void sessions_discard(struct sessions *ss, uint64_t session)
{
	struct session *se = find(ss, session);

	if (se)
		committed(se);
}

int sessions_sync(struct sessions *ss, void *requester, uint32_t id,
		  const struct proto_request *req, struct proto_buf *out)
{
	struct waiter w = { .type = FTIDX_MSG_SESSION_SYNC, .requester = requester, .id = id };
	struct proto_reply rep = { .type = FTIDX_MSG_SESSION_SYNC, .message = "" };
	bool by_file = req->flags & FTIDX_SYNC_FILE;
	struct wait_on *on;
	ssize_t n;

	n = settle(ss, req->instance, req->file, by_file ? 0 : req->session, &on);
	if (n < 0)
		return (int)n;
	if (n > 0)
		return wait_for(ss, &w, on, (size_t)n);
	return proto_encode_reply(out, id, &rep);
}

void sessions_forget(struct sessions *ss, void *requester)
{
	struct waiter **at = &ss->waiters;

	while (*at) {
		struct waiter *w = *at;

		if (w->requester != requester) {
			at = &w->next;
			continue;
		}
		*at = w->next;
		waiter_free(w);
	}
}

struct sessions *sessions_new(struct event_base *base, struct service *svc,
			      const struct sessions_hooks *hooks, size_t budget)
{
	struct sessions *ss = calloc(1, sizeof(*ss));

	if (!ss || !(ss->rx = malloc(MESSAGE_MAX)) ||
	    !(ss->pump = event_new(base, -1, 0, on_pump, ss))) {
		if (ss)
			free(ss->rx);
		free(ss);
		return NULL;
	}
	ss->base = base;
	ss->svc = svc;
	ss->hooks = *hooks;
	ss->budget = budget;
	return ss;
}

struct sessions *sessions_free(struct sessions *ss)
{
	if (!ss)
		return NULL;
	if (ss->n)
		log_info("%zu filter sessions end uncommitted", ss->n);
	while (ss->list)
		session_free(ss->list);
	while (ss->waiters) {
		struct waiter *w = ss->waiters;

		ss->waiters = w->next;
		waiter_free(w);
	}
	event_free(ss->pump);
	free(ss->rx);
	free(ss);
	return NULL;
}
