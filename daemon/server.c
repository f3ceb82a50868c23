/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket server (see server.h).
 *
 * The loop: each client has a bufferevent. When its input holds a whole
 * frame, the frame is taken out, checked and decoded, and the request
 * becomes a job (service.h) queued for its turn (turns.h); requests that
 * cost nothing (VERSION, CANCEL, refusals) are answered at once. A timer
 * runs the queue: each turn of the loop gives the jobs whose turn it is
 * up to SERVER_SLICE_MS of work between them, one slice each, then goes
 * back to the sockets, so that a signal, a new client or a small request
 * never waits behind a large one for more than a slice. Filter writes
 * still never interleave: a job writes in one slice. A client's later
 * requests wait until its job is answered (replies stay in order).
 *
 * A frame that cannot be decoded gets an ERROR reply, after which the
 * connection is closed once the reply is out; everyone else is
 * unaffected. A client whose replies pile up (it does not read) is not
 * read from until they drain, and is dropped if they do not drain within
 * the write timeout; a silent client is dropped after the idle timeout.
 * Clients without write access cannot take the places kept for those with
 * it, nor more than their share per user, and cannot hold more than their
 * share of the memory budget (see server.h).
 *
 * A request whose answer takes time (HITS) is answered later: the service
 * does its work off this thread and says so through its completion fd,
 * which this loop watches like any other.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "fdpass.h"
#include "log.h"
#include "macro.h"
#include "reqlog.h"
#include "server.h"
#include "service.h"
#include "service-reply.h"
#include "sessions.h"
#include "turns.h"

struct client {
	struct server *srv;
	struct bufferevent *bev; /* replies out, and their write timeout */
	struct evbuffer *input;  /* what has arrived of the frames it sends */
	struct event *readable;  /* its socket has more, or it was idle too long */
	bool closing; /* close once the output has drained */
	bool waiting; /* for its request's answer: later requests wait */
	enum access_role role;
	uid_t uid;
	struct reqlog_peer peer; /* who it is, for the log */
	/* the request being answered, from the frame body it points into */
	struct service_job *job;
	struct proto_request req;
	unsigned char *body;
	size_t body_len;
	struct turns_entry turn; /* queued while the job has work to do */
	uint32_t turn_id;        /* the job's request id */
	bool blocked;            /* its job waits for the map (not queued) */
	struct client *blocked_next;
	uint64_t came_ns;        /* when it came */
	struct client *prev, *next;
};

struct server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct service *svc;
	struct server_limits limits;
	struct client *clients;
	uint32_t n_clients;
	struct event *completion; /* the service's deferred work is done */
	struct turns turns;       /* whose job gets the next slice */
	struct client *blocked;   /* jobs waiting for the map, off the queue */
	struct event *blocked_timeout; /* ...whom a timer queues again */
	uint64_t worst_ns;        /* the longest the loop spent in one callback */
	struct event *turn;       /* a timer of 0: run the queue */
	struct sessions *sessions; /* filter sessions (sessions.h) */
};

#define SERVER_IO_CHUNK (1 << 20)

#define client_of_turn(e) ((struct client *)((char *)(e) - offsetof(struct client, turn)))

static bool on_read(struct client *c);
static void client_update_reading(struct client *c);

/*
 * The loop's longest stall so far, from one of its callbacks (@what)
 * begun at @t0 (wall) and @cpu0 (this thread's CPU time): said in the log
 * whenever a longer one than any before passes 50 ms, so that what keeps
 * everyone waiting can be found. The CPU time tells the daemon's own work
 * from time the kernel took (a filter write, or others' work on a busy
 * machine).
 */
_printf_(4, 5) static void meter(struct server *srv, uint64_t t0, uint64_t cpu0,
				 const char *what, ...)
{
	uint64_t took = now_ns() - t0;
	char text[128];
	va_list ap;

	if (took <= srv->worst_ns)
		return;
	srv->worst_ns = took;
	if (took < 50 * 1000000ull)
		return;
	va_start(ap, what);
	vsnprintf(text, sizeof(text), what, ap);
	va_end(ap);
	log_info("the loop's longest stall so far: %.1f ms (%.1f ms of it on the CPU), %s",
		 took / 1e6, (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e6, text);
}

static void run_turns_soon(struct server *srv);

/* The request is answered, or will never be: let go of it. */
static void client_end_job(struct client *c)
{
	if (c->blocked) {
		struct client **at = &c->srv->blocked;

		while (*at != c)
			at = &(*at)->blocked_next;
		*at = c->blocked_next;
		c->blocked = false;
	}
	turns_remove(&c->srv->turns, &c->turn);
	c->job = service_job_free(c->job);
	proto_request_deinit(&c->req);
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
}

static void client_free(struct client *c)
{
	struct server *srv = c->srv;

	if (c->job)
		client_end_job(c);
	else if (c->waiting)
		service_forget(srv->svc, c);
	if (srv->sessions)
		sessions_forget(srv->sessions, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->readable)
		event_free(c->readable);
	if (c->input)
		evbuffer_free(c->input);
	bufferevent_free(c->bev);
	free(c);
	srv->n_clients--;
	service_set_clients(srv->svc, srv->n_clients);
}

/*
 * Read no more from @c and free it once everything queued for it is sent:
 * the write callback then fires at an empty output, not at the watermark
 * that resumes reading.
 */
static void client_close_when_sent(struct client *c)
{
	c->closing = true;
	client_update_reading(c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

static void client_send(struct client *c, struct proto_buf *frame)
{
	struct evbuffer *output = bufferevent_get_output(c->bev);

	if (evbuffer_add(output, frame->data, frame->len) < 0)
		client_close_when_sent(c);
}

/* Answer and hang up: the stream cannot be trusted past a bad frame. */
static void client_refuse(struct client *c, uint32_t id, int err, const char *why)
{
	struct proto_buf frame;

	proto_buf_init(&frame);
	if (service_reply_error(c->srv->svc, id, err, why, &frame) == 0)
		client_send(c, &frame);
	proto_buf_deinit(&frame);
	client_close_when_sent(c);
}

/*
 * How much of what @c sends is taken in now: nothing while it is closing
 * or its replies pile up unread; while its request is being answered, a
 * little (enough to notice a hang-up, or a CANCEL); else up to the end of
 * the frame that is arriving, or a chunk when no header is in yet.
 */
static size_t client_read_limit(const struct client *c)
{
	struct ftidx_frame_header h;

	if (c->closing ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > c->srv->limits.max_pending_reply)
		return 0;
	if (c->waiting)
		return 64 * 1024;
	if (evbuffer_copyout(c->input, &h, sizeof(h)) == (ev_ssize_t)sizeof(h) &&
	    h.length <= FTIDX_FRAME_MAX)
		return sizeof(h) + h.length;
	return SERVER_IO_CHUNK;
}

/*
 * Read from @c while its input is under client_read_limit(), and not
 * otherwise. A silent client is dropped after the idle timeout; one whose
 * request is being answered is not idle.
 */
static void client_update_reading(struct client *c)
{
	struct timeval idle = { .tv_sec = c->srv->limits.idle_seconds };

	/* libevent keeps an event's pending timeout when it is added again
	 * without one: the idle timer must go first, or it drops a client
	 * whose request waits */
	event_del(c->readable);
	if (evbuffer_get_length(c->input) < client_read_limit(c))
		event_add(c->readable, !c->waiting && idle.tv_sec ? &idle : NULL);
}

/*
 * Take in what @c's socket has, up to SERVER_IO_CHUNK a turn of the loop
 * and never past client_read_limit(): libevent's own reads (bufferevents)
 * take 4 KiB a turn, and each turn has a slice of work in it, so a large
 * frame would crawl in. Returns false when the client has hung up.
 */
static bool client_fill(struct client *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	size_t limit = client_read_limit(c), got = 0, have;

	while (got < SERVER_IO_CHUNK && (have = evbuffer_get_length(c->input)) < limit) {
		int n = evbuffer_read(c->input, fd, (int)MIN(limit - have, (size_t)SERVER_IO_CHUNK));

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		got += (size_t)n;
		/* the header in, the limit is the frame's */
		limit = client_read_limit(c);
	}
	return true;
}

/* What @c holds in memory: replies queued, what has arrived of the
 * frames it sends, and the request being answered. */
static size_t client_held(const struct client *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	       evbuffer_get_length(c->input) + c->body_len +
	       c->req.n_tokens * sizeof(*c->req.tokens) + (c->job ? service_job_bytes(c->job) : 0);
}

/* What the clients of @uid without write access hold, and the largest
 * of them. */
static struct client *largest_reader_of(const struct server *srv, uid_t uid, size_t *sum)
{
	struct client *largest = NULL;
	size_t most = 0;

	*sum = 0;
	for (struct client *c = srv->clients; c; c = c->next) {
		size_t held;

		if (c->role == ACCESS_WRITE || c->uid != uid)
			continue;
		held = client_held(c);
		*sum += held;
		if (!largest || held > most) {
			largest = c;
			most = held;
		}
	}
	return largest;
}

/*
 * Who must go for memory, if anyone, after @self grew: the largest client
 * of a user without write access past its share (@self's, the one that
 * grew), else, when all clients together are past the budget, the
 * largest of the reading user who holds the most. Never a writer: if
 * writers alone are past it, no one.
 */
static struct client *budget_victim(const struct server *srv, const struct client *self,
				    const char **why, size_t *held, size_t *limit)
{
	size_t budget = srv->limits.memory_budget, share = budget / 2, total = 0, most = 0;
	struct client *victim = NULL;

	if (self && self->role != ACCESS_WRITE) {
		victim = largest_reader_of(srv, self->uid, held);
		if (*held > share) {
			*why = "its user's share of the memory budget";
			*limit = share;
			return victim;
		}
	}
	for (struct client *c = srv->clients; c; c = c->next)
		total += client_held(c);
	if (total <= budget)
		return NULL;
	victim = NULL;
	for (struct client *c = srv->clients; c; c = c->next) {
		struct client *largest;
		size_t sum;

		if (c->role == ACCESS_WRITE)
			continue;
		largest = largest_reader_of(srv, c->uid, &sum);
		if (sum > most) {
			most = sum;
			victim = largest;
		}
	}
	*why = "the memory budget of all clients";
	*held = most;
	*limit = budget;
	return victim;
}

/*
 * Drop clients without write access until the memory budget holds (see
 * budget_victim()). @self, the client whose callback is running, is not
 * freed here: returns whether it must go.
 */
static bool over_budget(struct server *srv, struct client *self)
{
	for (;;) {
		const char *why;
		size_t held, limit;
		struct client *victim = budget_victim(srv, self, &why, &held, &limit);

		if (!victim)
			return false;
		char who[64];

		log_warn("dropping a client, %s, holding %zu bytes: its user holds %zu, over %s "
			 "(%zu)",
			 reqlog_peer_name(&victim->peer, who, sizeof(who)), client_held(victim),
			 held, why, limit);
		if (victim == self)
			return true;
		client_free(victim);
	}
}

/* The reply is sent: the requests that waited behind it come next. */
static void client_resume(struct client *c)
{
	c->waiting = false;
	if (over_budget(c->srv, c)) {
		client_free(c);
		return;
	}
	on_read(c);
}

/* A deferred reply is ready for @requester, which still waits for it. */
static void deliver(void *requester, struct proto_buf *frame)
{
	struct client *c = requester;

	reqlog_delivered(&c->peer, frame);
	client_send(c, frame);
	client_resume(c);
}

/* The jobs that waited for the map take their turns again (and wait on,
 * if they must). */
static void unblock_all(struct server *srv)
{
	while (srv->blocked) {
		struct client *c = srv->blocked;

		srv->blocked = c->blocked_next;
		c->blocked = false;
		if (turns_add(&srv->turns, &c->turn) < 0) {
			log_error("out of memory: dropping a client whose request waited");
			client_free(c);
		}
	}
	run_turns_soon(srv);
}

/* Jobs waiting for the map are stepped again every 50 ms: reads wait for
 * a rebuild only so long (--read-wait). */
static void on_blocked_timeout(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	unblock_all(ctx);
}

static void on_completion(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	struct server *srv = ctx;
	uint64_t t0 = now_ns(), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

	service_complete(srv->svc, deliver);
	/* a rebuild may have ended */
	unblock_all(srv);
	meter(srv, t0, cpu0, "taking in work done off the loop (a rebuild, an audit, a hit count)");
}

/* The request's answer comes later: keep noticing a hang-up, but buffer
 * little of what the client sends meanwhile; it is not idle. */
static void client_wait(struct client *c)
{
	c->waiting = true;
	client_update_reading(c);
}

/* Run the queue at the loop's next turn, after the sockets have had theirs. */
static void run_turns_soon(struct server *srv)
{
	static const struct timeval now = { 0, 0 };

	if (!turns_empty(&srv->turns) && !evtimer_pending(srv->turn, NULL))
		evtimer_add(srv->turn, &now);
}

/* @c's job was answered (@r, the frame in @frame) or failed: send that,
 * and go on with what the client sent since. */
static void client_answered(struct client *c, int r, struct proto_buf *frame, uint64_t t0)
{
	uint32_t id = c->turn_id;

	if (r == SERVICE_LATER) {
		/* HITS, SHOW, a STATUS waiting for the audit: the answer
		 * comes through deliver() */
		reqlog_later(&c->peer, &c->req);
		client_end_job(c);
		return;
	}
	if (r < 0) {
		proto_buf_deinit(frame);
		proto_buf_init(frame);
		r = service_reply_error(c->srv->svc, id, -r,
					r == -EMSGSIZE ? "reply larger than the protocol allows"
						       : "out of memory",
					frame);
	}
	reqlog_answered(&c->peer, &c->req, r == 0 ? frame : NULL, now_ns() - t0,
			service_job_outcome(c->job));
	client_end_job(c);
	if (r == 0)
		client_send(c, frame);
	client_resume(c);
}

/* The queue's turn: slices for the jobs whose turn it is, until this turn
 * of the loop has had SERVER_SLICE_MS of work. */
static void on_turn(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	struct server *srv = ctx;
	uint64_t deadline = now_ns() + (uint64_t)SERVER_SLICE_MS * 1000000;
	struct turns_entry *e;

	uint64_t t0 = now_ns(), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), longest = 0;
	uint16_t longest_type = 0;

	while (now_ns() < deadline && (e = turns_next(&srv->turns))) {
		struct client *c = client_of_turn(e);
		uint64_t step0 = now_ns();
		struct proto_buf frame;
		int r;

		proto_buf_init(&frame);
		r = service_step(srv->svc, c->job, deadline, &frame);
		if (now_ns() - step0 > longest) {
			longest = now_ns() - step0;
			longest_type = c->req.type;
		}
		/* a long wait or a long job says how far it is, if asked */
		if ((r == SERVICE_BLOCKED || r == SERVICE_MORE) &&
		    service_job_progress(srv->svc, c->job, &frame) == 0 && frame.len)
			client_send(c, &frame);
		if (r == SERVICE_BLOCKED) {
			/* until the map is rebuilt (on_completion() queues it
			 * again), or for as long as a read may wait */
			static const struct timeval wait = { 0, 50 * 1000 };

			proto_buf_deinit(&frame);
			c->blocked_next = srv->blocked;
			srv->blocked = c;
			c->blocked = true;
			if (!evtimer_pending(srv->blocked_timeout, NULL))
				evtimer_add(srv->blocked_timeout, &wait);
			continue;
		}
		if (r == SERVICE_MORE) {
			proto_buf_deinit(&frame);
			proto_buf_init(&frame);
			r = turns_put_back(&srv->turns, e);
			if (r == 0 && !over_budget(srv, c)) {
				proto_buf_deinit(&frame);
				continue;
			}
			if (r == 0) {
				proto_buf_deinit(&frame);
				client_free(c);
				continue;
			}
		}
		client_answered(c, r, &frame, c->came_ns);
		proto_buf_deinit(&frame);
	}
	run_turns_soon(srv);
	/* which request held it longest: a filter write is made in one go,
	 * and may wait for the kernel's locks (a module loading) */
	meter(srv, t0, cpu0, "working on requests (the longest step %.1f ms, of a %s)",
	      longest / 1e6, proto_type_name(longest_type));
}

/* The request was answered at once, without a turn: let go of it. */
static void client_drop_request(struct client *c)
{
	proto_request_deinit(&c->req);
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
}

/*
 * Send @frame to @c with socket @fd (consumed) passed along its first
 * byte, where nothing else is on its way to @c: 0, or -errno when nothing
 * could be sent.
 */
static int send_with_fd(struct client *c, struct proto_buf *frame, int fd)
{
	struct evbuffer *output = bufferevent_get_output(c->bev);
	ssize_t n;

	if (evbuffer_get_length(output) > 0) {
		close(fd);
		return -EBUSY;
	}
	n = fdpass_send(bufferevent_getfd(c->bev), frame->data, frame->len, fd,
			MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	if (n < 0)
		return (int)n;
	if ((size_t)n < frame->len && evbuffer_add(output, frame->data + n, frame->len - (size_t)n) < 0)
		client_close_when_sent(c);
	return 0;
}

/* A session's socket that could not be handed over: the session goes
 * uncommitted, and its client is told. */
static void session_not_passed(struct client *c, uint32_t id, uint64_t session, int err)
{
	struct proto_buf frame;

	sessions_discard(c->srv->sessions, session);
	proto_buf_init(&frame);
	if (service_reply_plain(c->srv->svc, FTIDX_MSG_SESSION, id, -err,
				err == -EBUSY ? "a session is handed over only when no other answer "
						"is on its way"
					      : "cannot pass the session's socket",
				&frame) == 0)
		client_send(c, &frame);
	proto_buf_deinit(&frame);
}

/* SESSION: its socket goes with the answer, now or once the earlier
 * sessions of the file are committed. */
static int answer_session(struct client *c, const struct ftidx_frame_header *h,
			  const struct proto_request *req, struct proto_buf *frame)
{
	struct session_owner owner = { .role = c->role, .uid = c->uid, .pid = c->peer.pid };
	uint64_t session;
	int fd, r;

	snprintf(owner.comm, sizeof(owner.comm), "%s", c->peer.comm);
	r = sessions_open(c->srv->sessions, c, h->id, &owner, req, frame, &fd, &session);
	if (r == SESSIONS_LATER) {
		client_wait(c);
		return 1;
	}
	if (r < 0 || fd < 0)
		return r < 0 ? r : 1;
	r = send_with_fd(c, frame, fd);
	proto_buf_deinit(frame);
	proto_buf_init(frame);
	if (r < 0)
		session_not_passed(c, h->id, session, r);
	return 1;
}

/*
 * Answer decoded request @req of frame @h now, if that costs nothing:
 * refusals, CANCEL, VERSION. 1 when answered (a frame in @frame unless
 * there is nothing to send), 0 when the request is for the service, or
 * -errno.
 */
static int answer_now(struct client *c, const struct ftidx_frame_header *h,
		      const struct proto_request *req, struct proto_buf *frame)
{
	struct service *svc = c->srv->svc;
	int r;

	if (!access_allows(c->role, h->type)) {
		bool reads = h->type == FTIDX_MSG_SHOW || h->type == FTIDX_MSG_INSTANCES;

		r = service_reply_error(
			svc, h->id, EACCES,
			c->role == ACCESS_DENIED ? "this daemon serves root and its write group only"
			: reads ? "reading filter files and instances needs root or the daemon's "
				  "write group, as tracefs itself does"
				: "changing filters needs root or the daemon's write group",
			frame);
		/* The ERROR reply ends the conversation, as for a bad frame. */
		client_close_when_sent(c);
		return r < 0 ? r : 1;
	}
	if (req->type == FTIDX_MSG_LIST && (req->flags & FTIDX_LIST_ADDRESSES) &&
	    !access_shows_addresses(c->role)) {
		/* A refusal of this request only: the client may go on. */
		r = service_reply_plain(svc, req->type, h->id, EACCES,
					"addresses are shown to root and the daemon's write group "
					"only (they are kernel pointers, which KASLR hides)",
					frame);
		return r < 0 ? r : 1;
	}
	if (req->type == FTIDX_MSG_CANCEL) {
		/* no reply of its own: the request it names answers */
		service_cancel(svc, c, req->target);
		return 1;
	}
	if (req->type == FTIDX_MSG_VERSION) {
		r = service_reply_version(svc, h->id, c->role == ACCESS_WRITE, frame);
		return r < 0 ? r : 1;
	}
	if (req->type == FTIDX_MSG_SESSION_WRITE || req->type == FTIDX_MSG_SESSION_STATE) {
		r = service_reply_plain(svc, req->type, h->id, EINVAL,
					"sent on a session's own socket only", frame);
		return r < 0 ? r : 1;
	}
	if (req->type == FTIDX_MSG_SESSION)
		return answer_session(c, h, req, frame);
	if (req->type == FTIDX_MSG_SESSION_SYNC) {
		r = sessions_sync(c->srv->sessions, c, h->id, req, frame);
		if (r == SESSIONS_LATER)
			client_wait(c);
		return r < 0 ? r : 1;
	}
	return 0;
}

/* @req becomes a job, queued for its turn: 0 or -ENOMEM. */
static int queue_job(struct client *c, const struct ftidx_frame_header *h)
{
	int r;

	c->turn = (struct turns_entry){ .writer = c->role == ACCESS_WRITE, .uid = c->uid };
	c->turn_id = h->id;
	c->came_ns = now_ns();
	r = service_job_new(c->srv->svc, &c->req, h->id, c, &c->job);
	if (r == 0)
		r = turns_add(&c->srv->turns, &c->turn);
	if (r < 0) {
		client_end_job(c);
		return r;
	}
	client_wait(c);
	run_turns_soon(c->srv);
	return 0;
}

/*
 * Take the request in @c->body: what costs nothing is answered now,
 * anything else becomes a job that waits for its turn.
 */
static void client_handle(struct client *c, const struct ftidx_frame_header *h)
{
	struct proto_buf frame;
	const char *why = NULL;
	int r;

	proto_buf_init(&frame);
	r = proto_decode_request(h->version, h->type, c->body, h->length, &c->req, &why);
	if (r == -EOPNOTSUPP) {
		/* A newer client's request: refuse it alone; the frame was
		 * whole, so the stream is still in step. */
		reqlog_bad_frame(&c->peer, h->type, false, "a request this daemon does not know",
				 why);
		r = service_reply_error(c->srv->svc, h->id, EOPNOTSUPP, why, &frame);
	} else if (r < 0) {
		reqlog_bad_frame(&c->peer, h->type, true, "a malformed request", why);
		client_refuse(c, h->id, -r, why);
	} else {
		r = answer_now(c, h, &c->req, &frame);
		if (r == 1)
			reqlog_answered(&c->peer, &c->req, frame.len ? &frame : NULL, 0, NULL);
		if (r == 0 && (r = queue_job(c, h)) == 0) {
			proto_buf_deinit(&frame);
			return;
		}
		if (r == -ENOMEM) {
			proto_buf_deinit(&frame);
			proto_buf_init(&frame);
			r = service_reply_error(c->srv->svc, h->id, ENOMEM, "out of memory", &frame);
		}
	}
	if (r >= 0 && frame.len)
		client_send(c, &frame);
	client_drop_request(c);
	proto_buf_deinit(&frame);
}

/*
 * While a request waits for its answer, later requests wait behind it,
 * but a CANCEL right behind it is taken at once: it is what cuts the
 * wait short.
 */
static void take_cancel(struct client *c)
{
	struct evbuffer *input = c->input;
	struct ftidx_frame_header h;
	struct proto_request req;
	unsigned char *frame;
	const char *why;

	if (evbuffer_copyout(input, &h, sizeof(h)) < (ev_ssize_t)sizeof(h) ||
	    h.type != FTIDX_MSG_CANCEL || proto_check_header(&h, &why) < 0 ||
	    evbuffer_get_length(input) < sizeof(h) + h.length)
		return;
	frame = evbuffer_pullup(input, (ev_ssize_t)(sizeof(h) + h.length));
	if (!frame)
		return;
	/* A malformed one waits its turn, to be refused in order. */
	if (proto_decode_request(h.version, h.type, frame + sizeof(h), h.length, &req, &why) == 0) {
		service_cancel(c->srv->svc, c, req.target);
		evbuffer_drain(input, sizeof(h) + h.length);
	}
	proto_request_deinit(&req);
}

/*
 * Take the frames in @c's input, one per turn of the loop: the next one
 * waits for the loop's next round, so that a client with many queued
 * cannot keep everyone else (root among them) waiting behind all of them.
 * Returns whether @c is gone.
 */
static bool on_read(struct client *c)
{
	struct evbuffer *input = c->input;

	if (c->waiting && !c->closing)
		take_cancel(c);
	while (!c->closing && !c->waiting) {
		struct ftidx_frame_header h;
		const char *why;
		int r;

		/* Requests already buffered wait while the replies pile up. */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
		    c->srv->limits.max_pending_reply)
			break;
		if (evbuffer_copyout(input, &h, sizeof(h)) < (ev_ssize_t)sizeof(h))
			break;
		if ((h.type & FTIDX_MSG_REPLY) || (r = proto_check_header(&h, &why)) < 0) {
			if (h.type & FTIDX_MSG_REPLY) {
				r = -EBADMSG;
				why = "a client may not send replies";
			}
			reqlog_bad_frame(&c->peer, h.type, true, "a bad frame header", why);
			client_refuse(c, h.id, -r, why);
			break;
		}
		/* Wait for the rest; what has arrived counts against the budget. */
		if (evbuffer_get_length(input) < sizeof(h) + h.length) {
			if (over_budget(c->srv, c)) {
				client_free(c);
				return true;
			}
			break;
		}
		c->body = malloc(h.length ? h.length : 1);
		if (!c->body) {
			client_refuse(c, h.id, ENOMEM, "out of memory");
			break;
		}
		c->body_len = h.length;
		evbuffer_drain(input, sizeof(h));
		evbuffer_remove(input, c->body, h.length);
		client_handle(c, &h);
		if (over_budget(c->srv, c)) {
			client_free(c);
			return true;
		}
		if (evbuffer_get_length(input) > 0 && !c->closing) {
			event_active(c->readable, EV_READ, 0);
			break;
		}
	}
	if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		client_free(c);
		return true;
	}
	client_update_reading(c);
	return false;
}

static void on_readable(evutil_socket_t fd _unused_, short what, void *ctx)
{
	struct client *c = ctx;
	struct server *srv = c->srv;
	uint64_t t0 = now_ns(), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bool open;

	if (what & EV_TIMEOUT) {
		char who[64];

		log_info("dropping a client, %s, idle for %u s",
			 reqlog_peer_name(&c->peer, who, sizeof(who)), c->srv->limits.idle_seconds);
		client_free(c);
		return;
	}
	open = client_fill(c);
	if (!on_read(c) && !open)
		client_free(c);
	meter(srv, t0, cpu0, "reading a client's requests");
}

static void on_write(struct bufferevent *bev, void *ctx)
{
	struct client *c = ctx;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			client_free(c);
		return;
	}
	/* The output drained below the watermark: read again, starting with
	 * the requests that were left waiting in the input. */
	on_read(c);
}

static void on_event(struct bufferevent *bev _unused_, short what, void *ctx)
{
	struct client *c = ctx;

	char who[64];

	if (what & BEV_EVENT_TIMEOUT)
		log_info("dropping a client, %s, that left its replies unread for %u s",
			 reqlog_peer_name(&c->peer, who, sizeof(who)),
			 c->srv->limits.write_seconds);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		client_free(c);
}

/* Why a newcomer with @role and @uid cannot have a place, or NULL. */
static const char *admission(const struct server *srv, enum access_role role, uid_t uid)
{
	const struct server_limits *l = &srv->limits;
	uint32_t same_user = 0;

	if (srv->n_clients >= l->max_clients)
		return "too many clients connected to ftidxd";
	if (role == ACCESS_WRITE)
		return NULL;
	if (srv->n_clients >= l->max_clients - SERVER_WRITER_RESERVE(l->max_clients))
		return "too many clients connected to ftidxd (the places left are kept for root "
		       "and the write group)";
	for (const struct client *c = srv->clients; c; c = c->next)
		same_user += c->uid == uid && c->role != ACCESS_WRITE;
	if (same_user >= l->max_per_user)
		return "too many connections from this user";
	return NULL;
}

/* A client for connection @fd (consumed), with @role and @uid, put on the
 * list and read from. NULL when out of memory. */
static struct client *client_new(struct server *srv, int fd, enum access_role role,
				 const struct reqlog_peer *peer)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c || !(c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		close(fd);
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->role = role;
	c->uid = peer->uid;
	c->peer = *peer;
	/* libevent's bufferevents only send: what arrives is read by
	 * client_fill(), in larger pieces than theirs */
	c->input = evbuffer_new();
	c->readable = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	srv->n_clients++;
	service_set_clients(srv->svc, srv->n_clients);
	if (!c->input || !c->readable) {
		client_free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, NULL, on_write, on_event, c);
	bufferevent_set_max_single_write(c->bev, SERVER_IO_CHUNK);
	/* on_write fires when the output falls to half the reply limit. */
	bufferevent_setwatermark(c->bev, EV_WRITE, srv->limits.max_pending_reply / 2, 0);
	if (srv->limits.write_seconds)
		bufferevent_set_timeouts(c->bev, NULL,
					 &(struct timeval){ .tv_sec = srv->limits.write_seconds });
	bufferevent_enable(c->bev, EV_WRITE);
	bufferevent_disable(c->bev, EV_READ);
	client_update_reading(c);
	return c;
}

/* The sessions' commits come in as a client of the session's owner, and
 * the log names the program that opened it, not ftidxd. */
static int adopt_client(void *ctx, int fd, const struct session_owner *owner)
{
	struct reqlog_peer peer = { .uid = owner->uid, .pid = owner->pid,
				    .writer = owner->role == ACCESS_WRITE };

	snprintf(peer.comm, sizeof(peer.comm), "%s", owner->comm);
	return client_new(ctx, fd, owner->role, &peer) ? 0 : -ENOMEM;
}

/* A SESSION or SESSION_SYNC answered once the commits it waited for are
 * done. */
static void deliver_session(void *ctx _unused_, void *requester, struct proto_buf *frame, int fd,
			    uint64_t session)
{
	struct client *c = requester;
	struct ftidx_frame_header h;
	int r;

	if (fd < 0) {
		client_send(c, frame);
	} else if ((r = send_with_fd(c, frame, fd)) < 0) {
		memcpy(&h, frame->data, sizeof(h));
		session_not_passed(c, h.id, session, r);
	}
	client_resume(c);
}

static void on_accept(struct evconnlistener *l _unused_, evutil_socket_t fd,
		      struct sockaddr *addr _unused_, int len _unused_, void *ctx)
{
	struct server *srv = ctx;
	struct reqlog_peer peer;
	struct proto_buf frame;
	enum access_role role;
	const char *why;
	char who[64];
	uid_t uid;

	role = access_role_of_peer(&srv->limits.access, fd, &uid);
	reqlog_peer_init(&peer, fd, uid, role == ACCESS_WRITE);
	why = admission(srv, role, uid);
	if (!why) {
		client_new(srv, fd, role, &peer);
		return;
	}
	log_warn("refusing a client, %s: %s (%u connected)",
		 reqlog_peer_name(&peer, who, sizeof(who)), why, srv->n_clients);
	/* Say why before hanging up; a frame this small fits the socket. */
	proto_buf_init(&frame);
	if (service_reply_error(srv->svc, 0, EUSERS, why, &frame) == 0)
		(void)!send(fd, frame.data, frame.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	proto_buf_deinit(&frame);
	close(fd);
}

int server_new(struct server **out, struct event_base *base, int fd, struct service *svc,
	       const struct server_limits *limits)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int r = -ENOMEM;

	if (!srv) {
		close(fd);
		return -ENOMEM;
	}
	srv->base = base;
	srv->svc = svc;
	if (limits)
		srv->limits = *limits;
	else
		server_limits_default(&srv->limits);
	turns_init(&srv->turns);
	if (evutil_make_socket_nonblocking(fd) < 0) {
		r = -EIO;
		goto fail;
	}
	srv->completion = event_new(base, service_completion_fd(svc), EV_READ | EV_PERSIST,
				    on_completion, srv);
	srv->sessions = sessions_new(base, svc,
				     &(struct sessions_hooks){ adopt_client, deliver_session, srv },
				     srv->limits.memory_budget);
	srv->turn = evtimer_new(base, on_turn, srv);
	srv->blocked_timeout = evtimer_new(base, on_blocked_timeout, srv);
	if (!srv->completion || !srv->turn || !srv->blocked_timeout || !srv->sessions ||
	    event_add(srv->completion, NULL) < 0)
		goto fail;
	/* Backlog 0: the socket is listening already (ours, or systemd's). */
	srv->listener = evconnlistener_new(base, on_accept, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!srv->listener) {
		r = -EIO;
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	close(fd); /* the listener did not take it */
	server_free(srv);
	return r;
}

struct server *server_free(struct server *srv)
{
	if (!srv)
		return NULL;
	/* the sessions' commits are clients too */
	srv->sessions = sessions_free(srv->sessions);
	while (srv->clients)
		client_free(srv->clients);
	if (srv->listener)
		evconnlistener_free(srv->listener);
	if (srv->turn)
		event_free(srv->turn);
	if (srv->blocked_timeout)
		event_free(srv->blocked_timeout);
	if (srv->completion)
		event_free(srv->completion);
	turns_deinit(&srv->turns);
	free(srv);
	return NULL;
}

void server_limits_default(struct server_limits *limits)
{
	*limits = (struct server_limits){
		.max_clients = SERVER_DEFAULT_MAX_CLIENTS,
		.max_per_user = SERVER_DEFAULT_MAX_PER_USER,
		.idle_seconds = SERVER_DEFAULT_IDLE_SECONDS,
		.write_seconds = SERVER_DEFAULT_WRITE_SECONDS,
		.max_pending_reply = SERVER_DEFAULT_MAX_PENDING,
		.memory_budget = SERVER_DEFAULT_MEMORY_BUDGET,
		.access = { .daemon_uid = geteuid() },
	};
}

uint32_t server_clients(const struct server *srv)
{
	return srv->n_clients;
}

/* Bind a listening socket at @path with @mode and @group; -errno if any
 * step fails (@path may be left behind). */
static int listen_at(const char *path, unsigned mode, gid_t group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0)
		return negative_errno();
	if (group != (gid_t)-1 && chown(path, (uid_t)-1, group) < 0)
		return negative_errno();
	return steal_fd(&fd);
}

bool server_path_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	/* a full backlog (EAGAIN) is a live daemon too; a socket no one
	 * listens on refuses (ECONNREFUSED) */
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
}

/* A stale socket at @path goes; a live daemon's stays, and anything else
 * there is not ours. */
static int clear_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (server_path_answers(path))
		return -EADDRINUSE;
	return unlink(path) < 0 ? negative_errno() : 0;
}

/*
 * The socket is made listening, with its mode and group, under a name of
 * its own beside @path, then renamed into place: its path exists only
 * once it accepts. (Bound at @path directly, a client that found the path
 * a moment too early was refused: ECONNREFUSED until listen().) A name
 * that leaves no room for the suffix, or a suffixed name held by a file
 * that is not a socket, is bound directly.
 */
int server_listen_path(const char *path, unsigned mode, gid_t group)
{
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path)];
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	r = clear_path(path);
	if (r < 0)
		return r;
	/* (something not ours under that name: never touched) */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp) ||
	    clear_path(tmp) < 0)
		return listen_at(path, mode, group);
	fd = listen_at(tmp, mode, group);
	if (fd >= 0 && rename(tmp, path) < 0) {
		r = negative_errno();
		close(fd);
		fd = r;
	}
	if (fd < 0)
		unlink(tmp);
	return fd;
}
