/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx (see ftidx.h): the requests of protocol version 1, each
 * encoded with the shared codec and sent on the connection
 * (libftidx-conn.c), its reply decoded there into a result
 * (libftidx-results.c). Nothing here knows tracefs; everything about
 * functions is the daemon's.
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
_Static_assert(FTIDX_CREATE_INSTANCE == FTIDX_FILTER_CREATE_INSTANCE &&
		       FTIDX_ALLOW_EMPTY == FTIDX_FILTER_ALLOW_EMPTY,
	       "filter flags");
_Static_assert(FTIDX_HITS_SECONDS_MAX == FTIDX_HITS_MAX_SECONDS, "hit count length");

/* More patterns or indices than one request may carry: -E2BIG, said. */
static int too_many(struct ftidx *c)
{
	lib_set_error(c, "more than 1,000,000 patterns or indices in one request (the protocol's "
			 "limit): split them");
	return -E2BIG;
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
	if (flags & ~(FTIDX_RESOLVE_WITH_LINES | FTIDX_RESOLVE_PER_PATTERN))
		return -EINVAL;
	if (n > FTIDX_BATCH_MAX)
		return too_many(c);
	r = lib_request(c, &req, 0, &res);
	return lib_finish(r, res, out);
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
		return too_many(c);
	r = lib_request(c, &req, 0, &res);
	if (res && res->rep.type == FTIDX_MSG_NAMES) {
		res->asked = malloc(sizeof(*indices) * (n ? n : 1));
		if (!res->asked) {
			ftidx_result_free(res);
			return -ENOMEM;
		}
		memcpy(res->asked, indices, sizeof(*indices) * n);
	}
	return lib_finish(r, res, out);
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
	r = lib_request(c, &req, 0, &res);
	return lib_finish(r, res, out);
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
	if (op < FTIDX_SET || op > FTIDX_CLEAR || file < FTIDX_FILTER ||
	    file > FTIDX_GRAPH_NOTRACE ||
	    (flags & ~(FTIDX_CREATE_INSTANCE | FTIDX_PER_PATTERN | FTIDX_ALLOW_EMPTY)))
		return -EINVAL;
	if (n > FTIDX_BATCH_MAX)
		return too_many(c);
	if (instance && !proto_instance_name_valid(instance, &why)) {
		lib_set_error(c, why);
		return -EINVAL;
	}
	r = lib_request(c, &req, 0, &res);
	return lib_finish(r, res, out);
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
		return too_many(c);
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

