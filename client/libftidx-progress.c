/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx (see ftidx.h, since 0.5): what a connection's reads wait for,
 * whether a read's map is behind the kernel's, and the progress of long
 * requests. These are wishes of the connection, carried as flags of
 * protocol 4 on the requests they concern (lib_request()); an older
 * daemon refuses such flags with EOPNOTSUPP and stays in step, so the
 * request is asked again without them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftidx.h"
#include "libftidx-internal.h"
#include "macro.h"
#include "proto.h"

_Static_assert((int)FTIDX_STAGE_WAITING == (int)FTIDX_PROGRESS_TURN &&
		       (int)FTIDX_STAGE_MAP == (int)FTIDX_PROGRESS_MAP &&
		       (int)FTIDX_STAGE_RESOLVING == (int)FTIDX_PROGRESS_RESOLVE &&
		       (int)FTIDX_STAGE_RESTORING == (int)FTIDX_PROGRESS_RESTORE,
	       "progress stages");
_Static_assert(FTIDX_CAN_READ_MAP == FTIDX_CAP_READ_MAP && FTIDX_CAN_PROGRESS == FTIDX_CAP_PROGRESS,
	       "capabilities");

/* A report is due this long after the last one; the first is given
 * time for the daemon's own (a second after it took the request), and a
 * daemon that speaks for itself is given longer. */
#define TICK_FIRST_MS 1500
#define TICK_MS 1000
#define TICK_DAEMON_MS 2000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_public_ int ftidx_set_read_map(struct ftidx *c, int which)
{
	if (which < FTIDX_READ_MAP_DEFAULT || which > FTIDX_READ_MAP_LAST)
		return -EINVAL;
	c->read_map = which;
	return 0;
}

_public_ void ftidx_set_progress(struct ftidx *c, ftidx_progress_fn fn, void *userdata)
{
	c->progress = fn;
	c->progress_data = userdata;
}

static bool is_read(uint16_t type)
{
	return type == FTIDX_MSG_RESOLVE || type == FTIDX_MSG_NAMES || type == FTIDX_MSG_LIST ||
	       type == FTIDX_MSG_STATUS;
}

uint32_t lib_wishes(const struct ftidx *c, uint16_t type)
{
	uint32_t f = 0;

	if (c->peer_version && c->peer_version < 4)
		return 0;
	if (is_read(type) && c->read_map == FTIDX_READ_MAP_CURRENT)
		f |= FTIDX_READ_CURRENT;
	if (is_read(type) && c->read_map == FTIDX_READ_MAP_LAST)
		f |= FTIDX_READ_LAST;
	if (c->progress && (is_read(type) || type == FTIDX_MSG_FILTER || type == FTIDX_MSG_CHANGE))
		f |= FTIDX_REQ_PROGRESS;
	return f;
}

int lib_request(struct ftidx *c, const struct proto_request *req, int64_t extra_ms,
		struct ftidx_result **out)
{
	struct proto_request asked = *req;
	int r;

	asked.flags |= lib_wishes(c, req->type);
	r = lib_transact(c, &asked, extra_ms, out);
	/* an ftidxd older than 0.5: the same without the wishes */
	if (r == -EOPNOTSUPP && asked.flags != req->flags && c->peer_version &&
	    c->peer_version < 4) {
		*out = ftidx_result_free(*out);
		r = lib_transact(c, req, extra_ms, out);
	}
	return r;
}

void lib_progress_begin(struct ftidx *c)
{
	c->progress_began_ms = c->progress_last_ms = now_ms();
	c->progress_heard = false;
	c->progress_stage = FTIDX_STAGE_WAITING;
	c->progress_done = c->progress_total = 0;
	free(c->progress_what);
	c->progress_what = NULL;
}

static void report(struct ftidx *c, uint64_t elapsed_ms)
{
	c->progress_last_ms = now_ms();
	c->progress(c->progress_data, c->progress_stage, c->progress_done, c->progress_total,
		    elapsed_ms, c->progress_what ? c->progress_what : "");
}

void lib_progress_frame(struct ftidx *c, const struct ftidx_frame_header *h, const void *body)
{
	struct proto_reply rep;
	const char *why;

	/* a frame that does not decode says nothing; the reply will */
	if (!c->progress ||
	    proto_decode_reply(h->version, h->type, body, h->length, &rep, &why) < 0) {
		proto_reply_deinit(&rep);
		return;
	}
	c->progress_heard = true;
	c->progress_stage = (int)rep.stage;
	c->progress_done = rep.done;
	c->progress_total = rep.total;
	free(c->progress_what);
	c->progress_what = strdup(rep.message);
	report(c, rep.elapsed_ns / 1000000);
	proto_reply_deinit(&rep);
}

int64_t lib_progress_until(const struct ftidx *c, int64_t deadline)
{
	int64_t tick;

	if (!c->progress)
		return deadline;
	tick = c->progress_last_ms + (c->progress_heard				      ? TICK_DAEMON_MS
				      : c->progress_last_ms == c->progress_began_ms ? TICK_FIRST_MS
										    : TICK_MS);
	return deadline < 0 || tick < deadline ? tick : deadline;
}

bool lib_progress_tick(struct ftidx *c, int64_t deadline)
{
	int64_t now = now_ms();

	if (!c->progress || (deadline >= 0 && now >= deadline))
		return false;
	if (now >= lib_progress_until(c, -1))
		report(c, (uint64_t)(now - c->progress_began_ms));
	return true;
}

_public_ int ftidx_result_map_behind(const struct ftidx_result *r)
{
	return r->rep.map_flags & FTIDX_MAP_BEHIND ? 1 : 0;
}

_public_ uint64_t ftidx_result_newest_generation(const struct ftidx_result *r)
{
	return MAX(r->rep.newest_generation, r->rep.generation);
}
