/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx (see ftidx.h): encode with the shared codec, send, wait for
 * the reply with the same id, decode with the shared codec. Nothing here
 * knows tracefs; everything about functions is the daemon's.
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
#include "macro.h"
#include "proto.h"

/* The public constants are the protocol's values. */
_Static_assert((int)FTIDX_SET == (int)FTIDX_OP_SET && (int)FTIDX_ADD == (int)FTIDX_OP_ADD &&
		       (int)FTIDX_REMOVE == (int)FTIDX_OP_REMOVE &&
		       (int)FTIDX_CLEAR == (int)FTIDX_OP_CLEAR,
	       "ops");
_Static_assert((int)FTIDX_FILTER == (int)FTIDX_FILE_FILTER &&
		       (int)FTIDX_NOTRACE == (int)FTIDX_FILE_NOTRACE &&
		       (int)FTIDX_GRAPH == (int)FTIDX_FILE_GRAPH &&
		       (int)FTIDX_GRAPH_NOTRACE == (int)FTIDX_FILE_GRAPH_NOTRACE,
	       "files");
_Static_assert(FTIDX_RESOLVE_WITH_LINES == FTIDX_RESOLVE_LINES, "resolve flags");
_Static_assert(FTIDX_LIST_WITH_PLACEHOLDERS == FTIDX_LIST_PLACEHOLDERS &&
		       FTIDX_LIST_BY_MODULE == FTIDX_LIST_MODULE &&
		       FTIDX_LIST_WITH_ADDRESSES == FTIDX_LIST_ADDRESSES,
	       "list flags");
_Static_assert(FTIDX_CREATE_INSTANCE == FTIDX_FILTER_CREATE_INSTANCE, "filter flags");
_Static_assert(FTIDX_HITS_SECONDS_MAX == FTIDX_HITS_MAX_SECONDS, "hit count length");

struct ftidx {
	atomic_uint refs; /* references may be taken and dropped from any thread */
	int fd;
	uint32_t next_id;
	unsigned timeout_ms;
	bool broken; /* a reply was lost midway: the stream is out of step */
	char *error;
};

struct ftidx_result {
	struct proto_reply rep;
	uint8_t *frame;     /* the reply body, which @rep points into */
	uint32_t *asked;    /* names: the indices asked for */
	uint32_t *reason_of; /* resolve, filter: per token, its reason's place */
};

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
	free(c->error);
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

static void set_error(struct ftidx *c, const char *msg)
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

/* Wait until @fd is ready for @events or @deadline passes (the timeout of
 * @c; none when it is 0). 0, -ETIMEDOUT or -errno. */
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

/* A daemon that stops reading must not hold the caller past the timeout
 * either: every send waits for room only until @deadline. */
static int send_all(struct ftidx *c, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a dead daemon must not kill the host program. */
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r = wait_ready(c, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return negative_errno();
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(struct ftidx *c, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;

	while (len > 0) {
		int r = wait_ready(c, POLLIN, deadline);
		ssize_t n;

		if (r < 0)
			return r;
		n = recv(c->fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Send @req and wait for its reply. Returns -status of the reply (0 when
 * the daemon agreed) with *@out set whenever a reply was decoded, or a
 * transport or protocol error with *@out NULL.
 */
/* One request and its reply, which may take @extra_ms beyond the timeout. */
static int transact_within(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
			   struct ftidx_result **out)
{
	struct proto_buf frame;
	struct ftidx_frame_header h;
	struct ftidx_result *res = NULL;
	const char *why = NULL;
	uint32_t id = c->next_id++;
	int64_t deadline = now_ms() + c->timeout_ms + extra_ms;
	int r;

	*out = NULL;
	set_error(c, NULL);
	if (c->broken) {
		set_error(c, "the connection lost a reply earlier: reconnect");
		return -EPIPE;
	}
	proto_buf_init(&frame);
	r = proto_encode_request(&frame, id, req);
	if (r == -EMSGSIZE)
		set_error(c, "request larger than the protocol allows (16 MiB)");
	if (r == 0)
		r = send_all(c, frame.data, frame.len, deadline);
	proto_buf_deinit(&frame);
	/* Half a frame sent leaves the stream out of step too. */
	if (r == -ETIMEDOUT)
		c->broken = true;
	if (r < 0)
		return r;

	/* From here on, a failure leaves the stream out of step. */
	c->broken = true;
	r = recv_all(c, &h, sizeof(h), deadline);
	if (r < 0)
		return r;
	r = proto_check_header(&h, &why);
	if (r == 0 && h.id != id && h.type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY)) {
		why = "reply to another request";
		r = -EBADMSG;
	}
	if (r == 0 && h.type != (req->type | FTIDX_MSG_REPLY) &&
	    h.type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY)) {
		why = "reply of the wrong type";
		r = -EBADMSG;
	}
	if (r < 0) {
		set_error(c, why);
		return r;
	}
	res = calloc(1, sizeof(*res));
	if (!res || !(res->frame = malloc(h.length ? h.length : 1))) {
		free(res);
		return -ENOMEM;
	}
	r = recv_all(c, res->frame, h.length, deadline);
	if (r == 0)
		r = proto_decode_reply(h.version, h.type, res->frame, h.length, &res->rep, &why);
	if (r < 0) {
		set_error(c, why);
		ftidx_result_free(res);
		return r;
	}
	c->broken = false;
	/* The daemon closes the connection after an ERROR reply, but for one
	 * that refuses a request it does not know (an older daemon's). */
	if (res->rep.type == FTIDX_MSG_ERROR && res->rep.status != EOPNOTSUPP)
		c->broken = true;
	set_error(c, res->rep.message);
	if (!res->rep.status && res->rep.type == FTIDX_MSG_ERROR)
		res->rep.status = EPROTO;
	r = -res->rep.status;
	*out = res;
	return r;
}

static int transact(struct ftidx *c, const struct proto_request *req, struct ftidx_result **out)
{
	return transact_within(c, req, 0, out);
}

static bool has_sets(const struct ftidx_result *r)
{
	return r->rep.type == FTIDX_MSG_RESOLVE || r->rep.type == FTIDX_MSG_FILTER;
}

/* Where each token's reason is among the reasons (they come in token
 * order, one per failed token), so that asking is O(1). */
static int index_reasons(struct ftidx_result *res)
{
	uint32_t k = 0;

	if (!has_sets(res) || !res->rep.n_failed)
		return 0;
	res->reason_of = malloc(sizeof(*res->reason_of) * res->rep.n_items);
	if (!res->reason_of)
		return -ENOMEM;
	for (uint32_t i = 0; i < res->rep.n_items; i++) {
		res->reason_of[i] = k;
		k += res->rep.items[i].status != 0;
	}
	return 0;
}

/* Keep the result only when it has something to offer the caller. */
static int finish(int r, struct ftidx_result *res, struct ftidx_result **out)
{
	if (res && index_reasons(res) < 0) {
		ftidx_result_free(res);
		res = NULL;
		r = -ENOMEM;
	}
	if (res && (r == 0 || res->rep.type != FTIDX_MSG_ERROR) && out) {
		*out = res;
		return r;
	}
	ftidx_result_free(res);
	if (out)
		*out = NULL;
	return r;
}

_public_ int ftidx_resolve(struct ftidx *c, const char *const *patterns, size_t n, unsigned flags,
			   struct ftidx_result **out)
{
	struct proto_request req = {
		.type = FTIDX_MSG_RESOLVE,
		.flags = flags,
		.tokens = (const char **)patterns,
		.n_tokens = (uint32_t)n,
	};
	struct ftidx_result *res;
	int r;

	if (out)
		*out = NULL;
	if (n > FTIDX_BATCH_MAX || (flags & ~FTIDX_RESOLVE_WITH_LINES))
		return -EINVAL;
	r = transact(c, &req, &res);
	return finish(r, res, out);
}

_public_ int ftidx_names(struct ftidx *c, const uint32_t *indices, size_t n,
			 struct ftidx_result **out)
{
	struct proto_request req = {
		.type = FTIDX_MSG_NAMES,
		.indices = (uint32_t *)indices,
		.n_indices = (uint32_t)n,
	};
	struct ftidx_result *res;
	int r;

	if (out)
		*out = NULL;
	if (n > FTIDX_BATCH_MAX)
		return -EINVAL;
	r = transact(c, &req, &res);
	if (res && res->rep.type == FTIDX_MSG_NAMES) {
		res->asked = malloc(sizeof(*indices) * (n ? n : 1));
		if (!res->asked) {
			ftidx_result_free(res);
			return -ENOMEM;
		}
		memcpy(res->asked, indices, sizeof(*indices) * n);
	}
	return finish(r, res, out);
}

_public_ int ftidx_list(struct ftidx *c, unsigned flags, const char *module,
			struct ftidx_result **out)
{
	struct proto_request req = {
		.type = FTIDX_MSG_LIST,
		.flags = flags,
		.module = module ? module : "",
	};
	struct ftidx_result *res;
	int r;

	if (out)
		*out = NULL;
	if (flags &
	    ~(FTIDX_LIST_WITH_PLACEHOLDERS | FTIDX_LIST_BY_MODULE | FTIDX_LIST_WITH_ADDRESSES))
		return -EINVAL;
	r = transact(c, &req, &res);
	return finish(r, res, out);
}

_public_ int ftidx_filter(struct ftidx *c, int op, int file, const char *instance, unsigned flags,
			  uint64_t generation, const char *const *tokens, size_t n,
			  struct ftidx_result **out)
{
	struct proto_request req = {
		.type = FTIDX_MSG_FILTER,
		.flags = flags,
		.generation = generation,
		.op = (uint16_t)op,
		.file = (uint16_t)file,
		.instance = instance ? instance : "",
		.tokens = (const char **)tokens,
		.n_tokens = (uint32_t)n,
	};
	struct ftidx_result *res;
	const char *why;
	int r;

	if (out)
		*out = NULL;
	if (n > FTIDX_BATCH_MAX || op < FTIDX_SET || op > FTIDX_CLEAR || file < FTIDX_FILTER ||
	    file > FTIDX_GRAPH_NOTRACE || (flags & ~FTIDX_CREATE_INSTANCE))
		return -EINVAL;
	if (instance && !proto_instance_name_valid(instance, &why)) {
		set_error(c, why);
		return -EINVAL;
	}
	r = transact(c, &req, &res);
	return finish(r, res, out);
}

_public_ int ftidx_filter_indices(struct ftidx *c, int op, int file, const char *instance,
				  unsigned flags, uint64_t generation, const uint32_t *indices,
				  size_t n, struct ftidx_result **out)
{
	_cleanup_free_ const char **tokens = NULL;
	_cleanup_free_ char *text = NULL;
	size_t at = 0;

	if (out)
		*out = NULL;
	/* checked before anything is sized by it */
	if (n > FTIDX_BATCH_MAX)
		return -EINVAL;
	tokens = malloc(sizeof(*tokens) * (n ? n : 1));
	text = malloc(n * 11 + 1); /* "4294967295" and its NUL */
	if (!tokens || !text)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		tokens[i] = text + at;
		at += (size_t)sprintf(text + at, "%u", indices[i]) + 1;
	}
	return ftidx_filter(c, op, file, instance, flags, generation, tokens, n, out);
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

_public_ uint64_t ftidx_result_generation(const struct ftidx_result *r)
{
	return r->rep.generation;
}

_public_ size_t ftidx_result_count(const struct ftidx_result *r)
{
	return has_sets(r) ? r->rep.n_enable : r->rep.n_lines;
}

_public_ const uint32_t *ftidx_result_indices(const struct ftidx_result *r)
{
	if (has_sets(r))
		return r->rep.enable;
	return r->rep.type == FTIDX_MSG_LIST ? r->rep.indices : NULL;
}

_public_ uint32_t ftidx_result_index(const struct ftidx_result *r, size_t i)
{
	if (i >= ftidx_result_count(r))
		return 0;
	if (r->rep.type == FTIDX_MSG_NAMES)
		return r->asked ? r->asked[i] : 0;
	return ftidx_result_indices(r)[i];
}

_public_ const char *ftidx_result_line(const struct ftidx_result *r, size_t i)
{
	return i < r->rep.n_lines ? r->rep.lines[i] : NULL;
}

_public_ int ftidx_result_line_error(const struct ftidx_result *r, size_t i)
{
	return r->rep.line_status && i < r->rep.n_lines ? -r->rep.line_status[i] : 0;
}

_public_ uint64_t ftidx_result_address(const struct ftidx_result *r, size_t i)
{
	return r->rep.addresses && i < r->rep.n_lines ? r->rep.addresses[i] : 0;
}

_public_ size_t ftidx_result_removed_count(const struct ftidx_result *r)
{
	return has_sets(r) ? r->rep.n_disable : 0;
}

_public_ const uint32_t *ftidx_result_removed(const struct ftidx_result *r)
{
	return has_sets(r) ? r->rep.disable : NULL;
}

_public_ size_t ftidx_result_token_count(const struct ftidx_result *r)
{
	return r->rep.n_items;
}

_public_ int ftidx_result_token_error(const struct ftidx_result *r, size_t i, const char **why)
{
	uint32_t k;

	if (i >= r->rep.n_items)
		return -EINVAL;
	if (r->rep.items[i].status == 0)
		return 0;
	k = r->reason_of ? r->reason_of[i] : r->rep.n_failed;
	if (why)
		*why = k < r->rep.n_failed ? r->rep.reasons[k] : "";
	return -r->rep.items[i].status;
}

_public_ uint32_t ftidx_result_token_matches(const struct ftidx_result *r, size_t i)
{
	return i < r->rep.n_items ? r->rep.items[i].matches : 0;
}

_public_ uint32_t ftidx_result_written(const struct ftidx_result *r)
{
	return r->rep.written;
}

/*
 * A request whose answer is handed out as a box: a public struct first (the
 * caller's pointer), the result that owns its strings after it. Allocates
 * @size bytes zeroed in *@box and keeps the result in *@res.
 */
static int transact_boxed(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
			  size_t size, void **box, struct ftidx_result **res)
{
	int r = transact_within(c, req, extra_ms, res);

	*box = NULL;
	if (r < 0) {
		*res = ftidx_result_free(*res);
		return r;
	}
	*box = calloc(1, size);
	if (!*box) {
		*res = ftidx_result_free(*res);
		return -ENOMEM;
	}
	return 0;
}

struct status_box {
	struct ftidx_status st;
	struct ftidx_result *res; /* owns the strings */
	struct ftidx_filter_state *filters;
};

_public_ int ftidx_status(struct ftidx *c, struct ftidx_status **out)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS };
	struct ftidx_result *res;
	struct status_box *box;
	int r;

	*out = NULL;
	r = transact_boxed(c, &req, 0, sizeof(*box), (void **)&box, &res);
	if (r < 0)
		return r;
	box->res = res;
	box->filters = calloc(res->rep.n_filters ? res->rep.n_filters : 1, sizeof(*box->filters));
	if (!box->filters) {
		ftidx_status_free(&box->st);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < res->rep.n_filters; i++)
		box->filters[i] = (struct ftidx_filter_state){
			.instance = res->rep.filters[i].instance,
			.file = res->rep.filters[i].file,
			.holds = res->rep.filters[i].holds == FTIDX_HOLDS_UNKNOWN
					 ? -1
					 : res->rep.filters[i].holds,
			.functions = res->rep.filters[i].functions,
		};
	box->st = (struct ftidx_status){
		.generation = res->rep.generation,
		.entries = res->rep.entries,
		.placeholders = res->rep.placeholders,
		.modules = res->rep.modules,
		.module_entries = res->rep.module_entries,
		.distinct_names = res->rep.distinct_names,
		.clients = res->rep.clients,
		.build_ns = res->rep.build_ns,
		.built_at_ns = res->rep.built_at_ns,
		.has_addresses = !!(res->rep.status_flags & FTIDX_STATUS_ADDRESSES),
		.is_tracefs = !!(res->rep.status_flags & FTIDX_STATUS_TRACEFS),
		.is_stale = !!(res->rep.status_flags & FTIDX_STATUS_STALE),
		.tracing_dir = res->rep.tracing_dir,
		.kernel_release = res->rep.kernel_release,
		.daemon_version = res->rep.daemon_version,
		.filters = box->filters,
		.n_filters = res->rep.n_filters,
		.match_rules = res->rep.match_rules,
		.match_rules_how = res->rep.match_rules_how,
	};
	*out = &box->st;
	return 0;
}

_public_ struct ftidx_status *ftidx_status_free(struct ftidx_status *st)
{
	struct status_box *box = (struct status_box *)st;

	if (box) {
		ftidx_result_free(box->res);
		free(box->filters);
		free(box);
	}
	return NULL;
}

struct hits_box {
	struct ftidx_hits hits; /* first: the caller's pointer is the box's */
	struct ftidx_result *res;
};

_public_ int ftidx_hits(struct ftidx *c, const char *instance, unsigned seconds,
			struct ftidx_hits **out)
{
	struct proto_request req = { .type = FTIDX_MSG_HITS, .seconds = seconds,
				     .instance = instance ? instance : "" };
	struct ftidx_result *res;
	struct hits_box *box;
	int r;

	*out = NULL;
	if (seconds < 1 || seconds > FTIDX_HITS_SECONDS_MAX) {
		set_error(c, "a hit count runs for 1 to " STRINGIFY(FTIDX_HITS_SECONDS_MAX)
			     " seconds");
		return -EINVAL;
	}
	r = transact_boxed(c, &req, (int64_t)seconds * 1000, sizeof(*box), (void **)&box, &res);
	if (r < 0)
		return r;
	box->res = res;
	box->hits = (struct ftidx_hits){
		.enabled = res->rep.enabled,
		.events = res->rep.events,
		.lost = res->rep.lost,
		.n = res->rep.n_lines,
		.indices = res->rep.indices,
		.counts = res->rep.counts,
		.lines = res->rep.lines,
		.short_by = res->rep.message,
	};
	set_error(c, NULL); /* a success: the message is in short_by */
	*out = &box->hits;
	return 0;
}

_public_ struct ftidx_hits *ftidx_hits_free(struct ftidx_hits *h)
{
	struct hits_box *box = (struct hits_box *)h;

	if (box) {
		ftidx_result_free(box->res);
		free(box);
	}
	return NULL;
}
