/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx 0.5 (see ftidx.h): a filter file as it is (SHOW), the tracing
 * instances (INSTANCES), and what a change did to each file it wrote
 * (protocol version 4's counts at the end of FILTER and CHANGE replies).
 */
#include <errno.h>
#include <stdlib.h>

#include "ftidx.h"
#include "libftidx-internal.h"
#include "macro.h"
#include "proto.h"

_Static_assert((int)FTIDX_LINE_FUNCTION == (int)FTIDX_SHOWN_FUNCTION &&
		   (int)FTIDX_LINE_PROBE == (int)FTIDX_SHOWN_PROBE &&
		   (int)FTIDX_LINE_MODULE_PATTERN == (int)FTIDX_SHOWN_MODULE_PATTERN,
	       "line kinds");
_Static_assert(FTIDX_CAN_SHOW == FTIDX_CAP_SHOW, "capabilities");

_public_ int ftidx_result_file_functions(const struct ftidx_result *r, size_t k, int which,
					 uint32_t *n)
{
	const struct proto_file_count *fc;
	uint32_t v;

	*n = 0;
	if ((r->rep.type != FTIDX_MSG_FILTER && r->rep.type != FTIDX_MSG_CHANGE) ||
	    which < FTIDX_BEFORE || which > FTIDX_DROPPED)
		return -EINVAL;
	if (k >= (r->rep.type == FTIDX_MSG_CHANGE ? r->rep.n_changes : 1))
		return -EINVAL;
	/* an older daemon's reply has none; a refused change's neither */
	if (k >= r->rep.n_file_counts)
		return r->rep.status ? -EINVAL : -EOPNOTSUPP;
	fc = &r->rep.file_counts[k];
	v = which == FTIDX_BEFORE  ? fc->before
	    : which == FTIDX_AFTER ? fc->after
	    : which == FTIDX_ADDED ? fc->added
				   : fc->dropped;
	if (v == FTIDX_COUNT_UNKNOWN)
		return -ENODATA;
	*n = v;
	return 0;
}

_public_ int ftidx_show(struct ftidx *c, const char *instance, int file, struct ftidx_result **out)
{
	struct proto_request req = {
	    .type = FTIDX_MSG_SHOW, .file = (uint16_t)file, .instance = instance ? instance : ""};
	struct ftidx_result *res;
	const char *why;
	int r;

	*out = NULL;
	if (file < FTIDX_FILTER || file > FTIDX_GRAPH_NOTRACE)
		return -EINVAL;
	if (instance && !proto_instance_name_valid(instance, &why)) {
		lib_set_error(c, why);
		return -EINVAL;
	}
	r = lib_transact(c, &req, 0, &res);
	/* a success's message says why the verdict cannot be had, if it cannot */
	if (r == 0 && res->rep.message[0])
		lib_set_error(c, res->rep.message);
	return lib_finish(r, res, out);
}

static bool shown(const struct ftidx_result *r, size_t i)
{
	return r->rep.type == FTIDX_MSG_SHOW && r->rep.shown && i < r->rep.n_lines;
}

_public_ int ftidx_result_line_kind(const struct ftidx_result *r, size_t i)
{
	return shown(r, i) ? r->rep.shown[i].kind : -EINVAL;
}

_public_ int ftidx_result_line_is_ours(const struct ftidx_result *r, size_t i)
{
	return shown(r, i) && (r->rep.shown[i].flags & FTIDX_SHOWN_OURS);
}

_public_ int ftidx_result_holds(const struct ftidx_result *r)
{
	if (r->rep.type != FTIDX_MSG_SHOW)
		return -EINVAL;
	switch (r->rep.holds) {
	case FTIDX_HOLDS_YES:
		return 1;
	case FTIDX_HOLDS_NO:
		return 0;
	case FTIDX_HOLDS_NOT_WRITTEN:
		return -ENOENT;
	default:
		return -1;
	}
}

_public_ uint32_t ftidx_result_ours_count(const struct ftidx_result *r)
{
	return r->rep.type == FTIDX_MSG_SHOW ? r->rep.ours : 0;
}

_public_ int ftidx_instances(struct ftidx *c, struct ftidx_result **out)
{
	struct proto_request req = {.type = FTIDX_MSG_INSTANCES};
	struct ftidx_result *res;
	int r;

	*out = NULL;
	r = lib_transact(c, &req, 0, &res);
	return lib_finish(r, res, out);
}

_public_ int ftidx_result_instance_created(const struct ftidx_result *r, size_t i)
{
	return r->rep.type == FTIDX_MSG_INSTANCES && r->rep.instance_flags && i < r->rep.n_lines &&
	       (r->rep.instance_flags[i] & FTIDX_INSTANCE_CREATED);
}
