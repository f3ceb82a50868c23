/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket server (see server.h).
 *
 * The loop: each client has a bufferevent. When its input holds a whole
 * frame the frame is checked, decoded and handled right there, and the
 * reply queued. Requests are handled one at a time, which also keeps
 * filter writes from interleaving. A frame that cannot be decoded gets an
 * ERROR reply, after which the connection is closed once the reply is
 * out; everyone else is unaffected. A client whose replies pile up (it
 * does not read) is not read from until they drain, and is dropped if they
 * do not drain within the write timeout; a silent client is dropped after
 * the idle timeout. Clients without write access cannot take the places
 * kept for those with it, nor more than their share per user, and all
 * clients together may hold no more than the memory budget: past it the
 * largest holder goes (see server.h).
 *
 * A request whose answer takes time (HITS) is answered later: the service
 * does its work off this thread and says so through its completion fd,
 * which this loop watches like any other. The client's later requests
 * wait (replies stay in order); everyone else is served meanwhile.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "clock.h"
#include "macro.h"
#include "server.h"

struct client {
	struct server *srv;
	struct bufferevent *bev;
	bool closing; /* close once the output has drained */
	bool waiting; /* for a deferred reply: later requests wait */
	enum access_role role;
	uid_t uid;
	size_t awaiting; /* bytes of the frame being received */
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
};

static void on_read(struct bufferevent *bev, void *ctx);

static void client_free(struct client *c)
{
	struct server *srv = c->srv;

	if (c->waiting)
		service_forget(srv->svc, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
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
	bufferevent_disable(c->bev, EV_READ);
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

/* Drop the client after the idle timeout of silence (with @idle; a client
 * waiting for a HITS reply is not idle), or when its replies stay unread
 * for the write timeout (if there are such timeouts). */
static void client_arm_timeouts(struct client *c, bool idle)
{
	struct timeval read = { .tv_sec = c->srv->limits.idle_seconds };
	struct timeval write = { .tv_sec = c->srv->limits.write_seconds };

	bufferevent_set_timeouts(c->bev, idle && read.tv_sec ? &read : NULL,
				 write.tv_sec ? &write : NULL);
}

/* What @c holds in memory: replies queued, and the frame it is sending. */
static size_t client_held(const struct client *c)
{
	size_t in = evbuffer_get_length(bufferevent_get_input(c->bev));

	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	       MAX(in, c->awaiting);
}

/*
 * Drop the largest holders until all clients together hold no more than
 * the memory budget. @self, the client whose callback is running, is not
 * freed here: returns whether it must go.
 */
static bool over_budget(struct server *srv, struct client *self)
{
	for (;;) {
		struct client *worst = NULL;
		size_t total = 0, most = 0;

		for (struct client *c = srv->clients; c; c = c->next) {
			size_t held = client_held(c);

			total += held;
			if (held > most) {
				most = held;
				worst = c;
			}
		}
		if (total <= srv->limits.memory_budget || !worst)
			return false;
		log_warn("dropping a client of uid %u holding %zu bytes: all clients hold "
			 "%zu, over the budget of %zu",
			 (unsigned)worst->uid, most, total, srv->limits.memory_budget);
		if (worst == self)
			return true;
		client_free(worst);
	}
}

/* A deferred reply is ready for @requester, which still waits for it. */
static void deliver(void *requester, struct proto_buf *frame)
{
	struct client *c = requester;

	client_send(c, frame);
	c->waiting = false;
	/* Now the requests that waited behind it. */
	client_arm_timeouts(c, true);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	if (over_budget(c->srv, c)) {
		client_free(c);
		return;
	}
	on_read(c->bev, c);
}

static void on_completion(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	struct server *srv = ctx;

	service_complete(srv->svc, deliver);
}

/* The request's answer comes later: keep noticing a hang-up, but buffer
 * little of what the client sends meanwhile; it is not idle. */
static void client_wait(struct client *c)
{
	c->waiting = true;
	bufferevent_setwatermark(c->bev, EV_READ, 0, 64 * 1024);
	client_arm_timeouts(c, false);
}

static void client_handle(struct client *c, const struct ftidx_frame_header *h, const void *body)
{
	struct proto_request req;
	struct proto_buf frame;
	const char *why = NULL;
	uint64_t t0;
	int r;

	proto_buf_init(&frame);
	r = proto_decode_request(h->version, h->type, body, h->length, &req, &why);
	if (r == -EOPNOTSUPP) {
		/* A newer client's request: refuse it alone; the frame was
		 * whole, so the stream is still in step. */
		log_info("client sent a request this daemon does not know: %s", why);
		r = service_reply_error(c->srv->svc, h->id, EOPNOTSUPP, why, &frame);
		if (r == 0)
			client_send(c, &frame);
		goto done;
	}
	if (r < 0) {
		log_warn("client sent a malformed request: %s", why);
		client_refuse(c, h->id, -r, why);
		goto done;
	}
	if (!access_allows(c->role, h->type)) {
		r = service_reply_error(c->srv->svc, h->id, EACCES,
					c->role == ACCESS_DENIED
						? "this daemon serves root and its write group only"
						: "changing filters needs root or the daemon's write group",
					&frame);
		if (r == 0)
			client_send(c, &frame);
		/* The ERROR reply ends the conversation, as for a bad frame. */
		client_close_when_sent(c);
		goto done;
	}
	if (req.type == FTIDX_MSG_LIST && (req.flags & FTIDX_LIST_ADDRESSES) &&
	    !access_shows_addresses(c->role)) {
		/* A refusal of this request only: the client may go on. */
		r = service_reply_plain(c->srv->svc, req.type, h->id, EACCES,
					"addresses are shown to root and the daemon's write group "
					"only (they are kernel pointers, which KASLR hides)",
					&frame);
		if (r == 0)
			client_send(c, &frame);
		goto done;
	}
	if (req.type == FTIDX_MSG_CANCEL) {
		/* no reply of its own: the request it names answers */
		service_cancel(c->srv->svc, c, req.target);
		goto done;
	}
	if (req.type == FTIDX_MSG_VERSION) {
		r = service_reply_version(c->srv->svc, h->id, c->role == ACCESS_WRITE, &frame);
		if (r == 0)
			client_send(c, &frame);
		goto done;
	}
	t0 = now_ns();
	r = service_handle(c->srv->svc, &req, h->id, c, &frame);
	if (r == SERVICE_LATER) {
		client_wait(c);
		goto done;
	}
	log_debug("request type %u, %u tokens: handled in %.1f ms", h->type, req.n_tokens,
		  (double)(now_ns() - t0) / 1e6);
	if (r < 0) {
		proto_buf_deinit(&frame);
		r = service_reply_error(c->srv->svc, h->id, -r,
					r == -EMSGSIZE ? "reply larger than the protocol allows"
						       : "out of memory",
					&frame);
	}
	if (r == 0)
		client_send(c, &frame);
done:
	proto_request_deinit(&req);
	proto_buf_deinit(&frame);
}

/*
 * While a request waits for its answer, later requests wait behind it,
 * but a CANCEL right behind it is taken at once: it is what cuts the
 * wait short.
 */
static void take_cancel(struct client *c)
{
	struct evbuffer *input = bufferevent_get_input(c->bev);
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

static void on_read(struct bufferevent *bev, void *ctx)
{
	struct client *c = ctx;
	struct evbuffer *input = bufferevent_get_input(bev);

	if (c->waiting && !c->closing)
		take_cancel(c);
	while (!c->closing && !c->waiting) {
		struct ftidx_frame_header h;
		const char *why;
		unsigned char *frame;
		int r;

		/* Requests already buffered wait while the replies pile up. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    c->srv->limits.max_pending_reply) {
			bufferevent_disable(bev, EV_READ);
			break;
		}
		if (evbuffer_copyout(input, &h, sizeof(h)) < (ev_ssize_t)sizeof(h))
			break;
		if ((h.type & FTIDX_MSG_REPLY) || (r = proto_check_header(&h, &why)) < 0) {
			if (h.type & FTIDX_MSG_REPLY) {
				r = -EBADMSG;
				why = "a client may not send replies";
			}
			log_warn("client sent a bad frame header: %s", why);
			client_refuse(c, h.id, -r, why);
			break;
		}
		if (evbuffer_get_length(input) < sizeof(h) + h.length) {
			/* Wait for the rest, and only that much: counted against
			 * the budget from now on, before it arrives. */
			c->awaiting = sizeof(h) + h.length;
			bufferevent_setwatermark(bev, EV_READ, c->awaiting, c->awaiting);
			if (over_budget(c->srv, c)) {
				client_free(c);
				return;
			}
			break;
		}
		c->awaiting = 0;
		bufferevent_setwatermark(bev, EV_READ, 0, 0);
		frame = evbuffer_pullup(input, (ev_ssize_t)(sizeof(h) + h.length));
		if (!frame) {
			client_refuse(c, h.id, ENOMEM, "out of memory");
			break;
		}
		client_handle(c, &h, frame + sizeof(h));
		evbuffer_drain(input, sizeof(h) + h.length);
		if (over_budget(c->srv, c)) {
			client_free(c);
			return;
		}
		/* One request per turn: the next one waits for the loop's next
		 * round, so that a client with many queued cannot keep everyone
		 * else (root among them) waiting behind all of them. */
		if (evbuffer_get_length(input) > 0 && !c->closing) {
			bufferevent_trigger(bev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
			break;
		}
	}
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
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
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		on_read(bev, ctx);
	}
}

static void on_event(struct bufferevent *bev _unused_, short what, void *ctx)
{
	struct client *c = ctx;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING))
		log_info("dropping a client that left its replies unread for %u s",
			 c->srv->limits.write_seconds);
	else if (what & BEV_EVENT_TIMEOUT)
		log_info("dropping a client idle for %u s", c->srv->limits.idle_seconds);
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

static void on_accept(struct evconnlistener *l _unused_, evutil_socket_t fd,
		      struct sockaddr *addr _unused_, int len _unused_, void *ctx)
{
	struct server *srv = ctx;
	enum access_role role;
	const char *why;
	struct client *c;
	uid_t uid;

	role = access_role_of_peer(&srv->limits.access, fd, &uid);
	why = admission(srv, role, uid);
	if (why) {
		struct proto_buf frame;

		log_warn("refusing a client of uid %u: %s (%u connected)", (unsigned)uid, why,
			 srv->n_clients);
		/* Say why before hanging up; a frame this small fits the socket. */
		proto_buf_init(&frame);
		if (service_reply_error(srv->svc, 0, EUSERS, why, &frame) == 0)
			(void)!send(fd, frame.data, frame.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		proto_buf_deinit(&frame);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	c->role = role;
	c->uid = uid;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* on_write fires when the output falls to half the reply limit. */
	bufferevent_setwatermark(c->bev, EV_WRITE, srv->limits.max_pending_reply / 2, 0);
	client_arm_timeouts(c, true);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	srv->n_clients++;
	service_set_clients(srv->svc, srv->n_clients);
}

int server_new(struct server **out, struct event_base *base, int fd, struct service *svc,
	       const struct server_limits *limits)
{
	struct server *srv = calloc(1, sizeof(*srv));

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
	if (evutil_make_socket_nonblocking(fd) < 0) {
		close(fd);
		free(srv);
		return -EIO;
	}
	srv->completion = event_new(base, service_completion_fd(svc), EV_READ | EV_PERSIST,
				    on_completion, srv);
	if (!srv->completion || event_add(srv->completion, NULL) < 0) {
		if (srv->completion)
			event_free(srv->completion);
		close(fd);
		free(srv);
		return -ENOMEM;
	}
	/* Backlog 0: the socket is listening already (ours, or systemd's). */
	srv->listener = evconnlistener_new(base, on_accept, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!srv->listener) {
		event_free(srv->completion);
		close(fd);
		free(srv);
		return -EIO;
	}
	*out = srv;
	return 0;
}

struct server *server_free(struct server *srv)
{
	if (!srv)
		return NULL;
	while (srv->clients)
		client_free(srv->clients);
	evconnlistener_free(srv->listener);
	if (srv->completion)
		event_free(srv->completion);
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

int server_listen_path(const char *path, unsigned mode, gid_t group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return negative_errno();
	}
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
