/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx for tools (see ftidx.h, since 0.3): request objects that
 * change one file or several of an instance at once, calls that a tool's
 * own poll loop drives, cancelling a hit count, removing an instance
 * ftidx created, and asking what the daemon can do.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx.h"
#include "libftidx-internal.h"
#include "macro.h"
#include "proto.h"

_Static_assert(FTIDX_PER_PATTERN == FTIDX_FILTER_PER_TOKEN &&
		       FTIDX_RESOLVE_PER_PATTERN == FTIDX_RESOLVE_PER_TOKEN,
	       "per-pattern flags");
_Static_assert(FTIDX_CAN_CHANGE_FILES == FTIDX_CAP_CHANGE &&
		       FTIDX_CAN_PER_PATTERN == FTIDX_CAP_PER_TOKEN &&
		       FTIDX_CAN_CANCEL == FTIDX_CAP_CANCEL &&
		       FTIDX_CAN_REMOVE_INSTANCE == FTIDX_CAP_REMOVE_INSTANCE &&
		       FTIDX_CAN_HITS == FTIDX_CAP_HITS &&
		       FTIDX_CAN_LIST_ADDRESSES == FTIDX_CAP_LIST_ADDRESSES &&
		       FTIDX_CAN_ALLOW_EMPTY == FTIDX_CAP_ALLOW_EMPTY &&
		       FTIDX_CAN_READ_MAP == FTIDX_CAP_READ_MAP &&
		       FTIDX_CAN_PROGRESS == FTIDX_CAP_PROGRESS && FTIDX_CAN_SHOW == FTIDX_CAP_SHOW &&
		       FTIDX_CAN_SESSIONS == FTIDX_CAP_SESSIONS,
	       "capabilities");
_Static_assert(FTIDX_FILES_MAX == FTIDX_CHANGES_MAX, "files in one request");

/* One file's part of a request: its op and its own copies of the tokens. */
struct request_file {
	int op, file;
	char **tokens;
	size_t n, cap;
};

struct ftidx_request {
	char *instance; /* NULL: the top level */
	unsigned flags;
	uint64_t generation;
	struct request_file files[FTIDX_FILES_MAX];
	size_t n_files; /* at least 1: the one the setters act on is the last */
};

static struct request_file *current(struct ftidx_request *rq)
{
	return &rq->files[rq->n_files - 1];
}

_public_ int ftidx_request_new(struct ftidx_request **out)
{
	struct ftidx_request *rq = calloc(1, sizeof(*rq));

	*out = NULL;
	if (!rq)
		return -ENOMEM;
	rq->files[0] = (struct request_file){ .op = FTIDX_SET, .file = FTIDX_FILTER };
	rq->n_files = 1;
	*out = rq;
	return 0;
}

_public_ struct ftidx_request *ftidx_request_free(struct ftidx_request *rq)
{
	if (!rq)
		return NULL;
	for (size_t k = 0; k < rq->n_files; k++) {
		for (size_t i = 0; i < rq->files[k].n; i++)
			free(rq->files[k].tokens[i]);
		free(rq->files[k].tokens);
	}
	free(rq->instance);
	free(rq);
	return NULL;
}

_public_ int ftidx_request_set_instance(struct ftidx_request *rq, const char *instance)
{
	const char *why;
	char *copy = NULL;

	if (instance && !proto_instance_name_valid(instance, &why))
		return -EINVAL;
	if (instance && !(copy = strdup(instance)))
		return -ENOMEM;
	free(rq->instance);
	rq->instance = copy;
	return 0;
}

_public_ int ftidx_request_set_flags(struct ftidx_request *rq, unsigned flags)
{
	if (flags & ~(FTIDX_CREATE_INSTANCE | FTIDX_PER_PATTERN | FTIDX_ALLOW_EMPTY))
		return -EINVAL;
	rq->flags = flags;
	return 0;
}

_public_ int ftidx_request_set_create_instance(struct ftidx_request *rq, int create)
{
	rq->flags = create ? rq->flags | FTIDX_CREATE_INSTANCE : rq->flags & ~FTIDX_CREATE_INSTANCE;
	return 0;
}

_public_ int ftidx_request_set_generation(struct ftidx_request *rq, uint64_t generation)
{
	rq->generation = generation;
	return 0;
}

static bool file_valid(int file)
{
	return file >= FTIDX_FILTER && file <= FTIDX_GRAPH_NOTRACE;
}

static bool file_taken(const struct ftidx_request *rq, int file, size_t except)
{
	for (size_t k = 0; k < rq->n_files; k++)
		if (k != except && rq->files[k].file == file)
			return true;
	return false;
}

_public_ int ftidx_request_set_file(struct ftidx_request *rq, int file)
{
	if (!file_valid(file) || file_taken(rq, file, rq->n_files - 1))
		return -EINVAL;
	current(rq)->file = file;
	return 0;
}

_public_ int ftidx_request_set_op(struct ftidx_request *rq, int op)
{
	if (op < FTIDX_SET || op > FTIDX_CLEAR)
		return -EINVAL;
	current(rq)->op = op;
	return 0;
}

_public_ int ftidx_request_add_file(struct ftidx_request *rq, int file, int op)
{
	if (rq->n_files == FTIDX_FILES_MAX)
		return -E2BIG;
	if (!file_valid(file) || file_taken(rq, file, SIZE_MAX) || op < FTIDX_SET ||
	    op > FTIDX_CLEAR)
		return -EINVAL;
	rq->files[rq->n_files++] = (struct request_file){ .op = op, .file = file };
	return 0;
}

static size_t total_tokens(const struct ftidx_request *rq)
{
	size_t n = 0;

	for (size_t k = 0; k < rq->n_files; k++)
		n += rq->files[k].n;
	return n;
}

/* Room for @more tokens in the current file, within the batch limit. */
static int reserve(struct ftidx_request *rq, size_t more)
{
	struct request_file *f = current(rq);
	size_t want = f->n + more, cap;
	char **grown;

	if (more > FTIDX_BATCH_MAX || total_tokens(rq) + more > FTIDX_BATCH_MAX)
		return -E2BIG;
	if (want <= f->cap)
		return 0;
	cap = MAX(want, MAX(f->cap * 2, (size_t)16));
	grown = realloc(f->tokens, sizeof(*grown) * cap);
	if (!grown)
		return -ENOMEM;
	f->tokens = grown;
	f->cap = cap;
	return 0;
}

/* Undo a partly failed add: the file's tokens as they were. */
static int rollback(struct request_file *f, size_t had, int r)
{
	while (f->n > had)
		free(f->tokens[--f->n]);
	return r;
}

/* All of them or none: a failure leaves the request as it was. */
_public_ int ftidx_request_add_tokens(struct ftidx_request *rq, const char *const *tokens, size_t n)
{
	struct request_file *f = current(rq);
	size_t had = f->n;
	int r = reserve(rq, n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!tokens[i] || strlen(tokens[i]) > FTIDX_TOKEN_MAX)
			r = -EINVAL;
		else if (!(f->tokens[f->n] = strdup(tokens[i])))
			r = -ENOMEM;
		else
			f->n++;
	}
	return r < 0 ? rollback(f, had, r) : 0;
}

_public_ int ftidx_request_add_indices(struct ftidx_request *rq, const uint32_t *indices, size_t n)
{
	struct request_file *f = current(rq);
	size_t had = f->n;
	int r = reserve(rq, n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		char text[16];

		snprintf(text, sizeof(text), "%u", indices[i]);
		if (!(f->tokens[f->n] = strdup(text)))
			r = -ENOMEM;
		else
			f->n++;
	}
	return r < 0 ? rollback(f, had, r) : 0;
}

/*
 * The wire request for @rq: a FILTER when it changes one file (which any
 * daemon takes), a CHANGE for several. @tokens is filled with pointers
 * into @rq; free it.
 */
static int build(struct ftidx *c, const struct ftidx_request *rq, struct proto_request *req,
		 const char ***tokens)
{
	size_t n = total_tokens(rq), at = 0;

	*tokens = malloc(sizeof(**tokens) * (n ? n : 1));
	if (!*tokens)
		return -ENOMEM;
	*req = (struct proto_request){
		.type = rq->n_files > 1 ? FTIDX_MSG_CHANGE : FTIDX_MSG_FILTER,
		.flags = rq->flags,
		.generation = rq->generation,
		.instance = rq->instance ? rq->instance : "",
		.op = (uint16_t)rq->files[0].op,
		.file = (uint16_t)rq->files[0].file,
		.tokens = *tokens,
		.n_tokens = (uint32_t)n,
		.n_changes = (uint32_t)rq->n_files,
	};
	for (size_t k = 0; k < rq->n_files; k++) {
		const struct request_file *f = &rq->files[k];

		if ((f->op == FTIDX_CLEAR) != (f->n == 0)) {
			lib_set_error(c, f->op == FTIDX_CLEAR ? "clear takes no patterns"
							      : "a file of the request has no patterns");
			return -EINVAL;
		}
		req->changes[k] = (struct proto_change){ (uint16_t)f->op, (uint16_t)f->file,
							  (uint32_t)at, (uint32_t)f->n };
		for (size_t i = 0; i < f->n; i++)
			(*tokens)[at++] = f->tokens[i];
	}
	return 0;
}

_public_ int ftidx_request_send(struct ftidx *c, const struct ftidx_request *rq)
{
	_cleanup_free_ const char **tokens = NULL;
	struct proto_request req;
	int r = build(c, rq, &req, &tokens);

	/* progress frames from a daemon known to send them: an older one
	 * would refuse the flag, and a poll loop is not asked again */
	if (r == 0 && c->peer_version >= 4)
		req.flags |= lib_wishes(c, req.type);
	if (r == 0)
		r = lib_call_start(c, &req, 0);
	if (r == 0) {
		/* as much as the socket takes now: the loop sends the rest */
		r = lib_call_io(c);
		r = r < 0 ? r : 0;
	}
	return r;
}

_public_ int ftidx_request_run(struct ftidx *c, const struct ftidx_request *rq,
			       struct ftidx_result **out)
{
	_cleanup_free_ const char **tokens = NULL;
	struct proto_request req;
	struct ftidx_result *res;
	int r;

	if (out)
		*out = NULL;
	r = build(c, rq, &req, &tokens);
	if (r < 0)
		return r;
	r = lib_request(c, &req, 0, &res);
	return lib_finish(r, res, out);
}

_public_ int ftidx_get_fd(const struct ftidx *c)
{
	return c->fd;
}

_public_ int ftidx_get_events(const struct ftidx *c)
{
	return lib_call_events(c);
}

_public_ int ftidx_process(struct ftidx *c)
{
	return c->call.active ? lib_call_io(c) : -ENOENT;
}

/* The call in flight is of @type and its reply is in: collect it. */
static int collect(struct ftidx *c, uint16_t type, struct ftidx_result **res)
{
	int r;

	*res = NULL;
	if (!c->call.active || c->call.type != type)
		return c->call.active ? -EINVAL : -ENOENT;
	r = lib_call_io(c);
	if (r == 0)
		return -EAGAIN;
	if (r < 0)
		return r;
	return lib_call_finish(c, res);
}

_public_ int ftidx_request_collect(struct ftidx *c, struct ftidx_result **out)
{
	struct ftidx_result *res;
	int r;

	if (out)
		*out = NULL;
	if (c->call.active && c->call.type == FTIDX_MSG_CHANGE)
		r = collect(c, FTIDX_MSG_CHANGE, &res);
	else
		r = collect(c, FTIDX_MSG_FILTER, &res);
	if (r == -EAGAIN || (!res && r < 0))
		return r;
	return lib_finish(r, res, out);
}

_public_ int ftidx_hits_send(struct ftidx *c, const char *instance, unsigned seconds)
{
	struct proto_request req = { .type = FTIDX_MSG_HITS, .seconds = seconds,
				     .instance = instance ? instance : "" };
	int r;

	if (seconds < 1 || seconds > FTIDX_HITS_SECONDS_MAX)
		return -EINVAL;
	r = lib_call_start(c, &req, (int64_t)seconds * 1000);
	if (r == 0) {
		r = lib_call_io(c);
		r = r < 0 ? r : 0;
	}
	return r;
}

_public_ int ftidx_hits_collect(struct ftidx *c, struct ftidx_hits **out)
{
	struct ftidx_result *res;
	int r = collect(c, FTIDX_MSG_HITS, &res), b;

	*out = NULL;
	if (!res)
		return r;
	/* a cancelled run still has its counts so far */
	if (r < 0 && r != -ECANCELED) {
		ftidx_result_free(res);
		return r;
	}
	b = lib_hits_box(res, out);
	return b < 0 ? b : r;
}

_public_ int ftidx_cancel(struct ftidx *c)
{
	struct proto_request req = { .type = FTIDX_MSG_CANCEL };
	struct ftidx_call *call = &c->call;
	int r;

	if (!call->active)
		return -ENOENT;
	if (call->done)
		return 0; /* the answer is in already: nothing to cut short */
	/* An older daemon would answer CANCEL with an error of its own,
	 * which the stream has no place for. */
	if (c->peer_version && c->peer_version < 2)
		return -EOPNOTSUPP;
	req.target = call->id;
	r = proto_encode_request(&call->out, c->next_id++, &req);
	if (r < 0)
		return r;
	r = lib_call_io(c);
	return r < 0 ? r : 0;
}

_public_ int ftidx_remove_instance(struct ftidx *c, const char *instance)
{
	struct proto_request req = { .type = FTIDX_MSG_REMOVE_INSTANCE, .instance = instance };
	struct ftidx_result *res;
	const char *why;
	int r;

	if (!instance || !proto_instance_name_valid(instance, &why)) {
		lib_set_error(c, instance ? why : "the top level is no instance");
		return -EINVAL;
	}
	r = lib_transact(c, &req, 0, &res);
	ftidx_result_free(res);
	return r;
}

_public_ int ftidx_query_capabilities(struct ftidx *c, uint64_t *out)
{
	struct proto_request req = { .type = FTIDX_MSG_VERSION };
	struct ftidx_result *res;
	int r;

	*out = 0;
	if (c->asked_version) {
		*out = c->capabilities;
		return 0;
	}
	r = lib_transact(c, &req, 0, &res);
	if (r == -EOPNOTSUPP && res && res->rep.type == FTIDX_MSG_ERROR) {
		/* a daemon of protocol version 1: its requests only */
		c->capabilities = 0;
		r = 0;
	} else if (r == 0) {
		c->capabilities = (res->rep.capabilities & FTIDX_CAPS_KNOWN) |
				  (res->rep.role == FTIDX_ROLE_WRITE ? FTIDX_CAN_WRITE : 0);
		free(c->daemon_version);
		c->daemon_version = strdup(res->rep.daemon_version);
	}
	if (r == 0) {
		c->asked_version = true;
		lib_set_error(c, NULL);
		*out = c->capabilities;
	}
	ftidx_result_free(res);
	return r;
}

_public_ const char *ftidx_daemon_version(const struct ftidx *c)
{
	return c->daemon_version;
}

_public_ unsigned ftidx_protocol_version(const struct ftidx *c)
{
	return c->peer_version;
}
