/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dispatcher: the service's lifecycle, a request's steps, and the
 * completions of work done off the loop (see service.h; the rooms below
 * are listed in service-state.h). One request's way, always down:
 *
 *   server.c            a frame read whole, decoded (proto.c), its turn (turns.c)
 *   service_step()      here: waits for the map if it must (service-map.c)
 *   service_filter()    the handler (service-filter.c)
 *   service_job_*()     its tokens resolved in slices (service-jobs.c, resolve.c)
 *   service_map_fence() the map still the kernel's (service-map.c, modules.c)
 *   write_files()       the intent recorded (service-recover.c, intent.c),
 *                       the indices written (writer.c, tracing.c: the kernel)
 *   service_written_*() what was written, remembered (service-written.c)
 *   the reply           encoded (proto.c), back to server.c, which sends it
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "clock.h"
#include "drift.h"
#include "kernel-rules.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "modules.h"
#include "resolve.h"
#include "service-audit.h"
#include "service-filter.h"
#include "service.h"
#include "service-hits.h"
#include "service-instances.h"
#include "service-jobs.h"
#include "service-map.h"
#include "service-publish.h"
#include "service-query.h"
#include "service-recover.h"
#include "service-reply.h"
#include "service-show.h"
#include "service-state.h"
#include "service-written.h"
#include "tracing.h"

int service_new(struct service **out, const struct writer_io *io)
{
	struct service *s = calloc(1, sizeof(*s));
	struct utsname u;
	int r;

	if (!s)
		return -ENOMEM;
	s->state_fd = -1;
	s->state_lock_fd = -1;
	s->publish_gid = (gid_t)-1;
	s->publish_fd = -1;
	s->map_wait_ns = (uint64_t)SERVICE_DEFAULT_MAP_WAIT_S * 1000000000;
	s->read_wait_ns = (uint64_t)SERVICE_DEFAULT_READ_WAIT_MS * 1000000;
	s->completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->started_at_ns = clock_ns(CLOCK_REALTIME);
	s->started_ns = now_ns();
	s->drift = drift_new();
	if (!s->drift)
		log_warn("no inotify: every write reads its filter first");
	s->real_tracefs = tracing_is_tracefs();
	/* Only a real tracefs reads back function names to verify against; a
	 * directory standing in for one reads back what was written. */
	s->tracing_io = writer_io_tracing;
	s->tracing_io.reads_names = s->real_tracefs;
	/* A directory standing in for tracefs may stand in for the module
	 * list too (tests); without one, its list is empty. */
	snprintf(s->modules_path, sizeof(s->modules_path), "%s",
		 s->real_tracefs ? "/proc/modules" : tracing_dir());
	if (!s->real_tracefs)
		snprintf(s->modules_path + strlen(s->modules_path),
			 sizeof(s->modules_path) - strlen(s->modules_path), "/ftidx-modules");
	s->io = io ? io : &s->tracing_io;
	if (uname(&u) == 0)
		snprintf(s->release, sizeof(s->release), "%s", u.release);
	r = service_map_refresh(s, true);
	if (r < 0) {
		service_free(s);
		return r;
	}
	kernel_rules_decide(&s->rules, s->map, s->real_tracefs, s->rules_how, sizeof(s->rules_how));
	*out = s;
	return 0;
}

struct service *service_free(struct service *s)
{
	if (!s)
		return NULL;
	service_hits_shutdown(s);
	service_show_shutdown(s);
	service_audit_shutdown(s);
	service_map_rebuild_shutdown(s);
	service_publish_shutdown(s);
	service_filter_free_all(s);
	service_query_free(s);
	if (s->completion_fd >= 0)
		close(s->completion_fd);
	if (s->state_fd >= 0)
		close(s->state_fd);
	if (s->state_lock_fd >= 0)
		close(s->state_lock_fd);
	/* the records' watches go before the watcher */
	service_written_free_all(s);
	drift_free(s->drift);
	service_instances_free(s);
	map_free(s->map);
	free(s);
	return NULL;
}

void service_complete(struct service *s, void (*deliver)(void *requester, struct proto_buf *frame))
{
	uint64_t count;

	/* one count for any number of jobs done: ask each */
	if (read(s->completion_fd, &count, sizeof(count)) < 0)
		return;
	service_map_rebuild_complete(s);
	service_publish_complete(s);
	/* a rebuild that ended with a current map */
	service_publish_soon(s);
	service_filter_complete(s);
	service_audit_complete(s);
	service_query_status_complete(s, deliver);
	service_hits_complete(s, deliver);
	service_show_complete(s, deliver);
}

void service_cancel(struct service *s, void *requester, uint32_t id)
{
	service_hits_cancel(s, requester, id);
}

void service_forget(struct service *s, void *requester)
{
	service_query_status_forget(s, requester);
	service_hits_forget(s, requester);
	service_show_forget(s, requester);
}

int service_completion_fd(const struct service *s)
{
	return s->completion_fd;
}

void service_set_uevent_drain(struct service *s, void (*drain)(void *ctx), void *ctx)
{
	s->drain_uevents = drain;
	s->drain_ctx = ctx;
}

void service_set_verify_full(struct service *s, bool full)
{
	s->verify_full = full;
}

void service_set_map_wait(struct service *s, unsigned seconds)
{
	s->map_wait_ns = (uint64_t)seconds * 1000000000;
}

void service_set_read_wait(struct service *s, unsigned ms)
{
	s->read_wait_ns = (uint64_t)ms * 1000000;
}

void service_set_socket_path(struct service *s, const char *path)
{
	snprintf(s->socket_path, sizeof(s->socket_path), "%s", path);
}

void service_set_clients(struct service *s, uint32_t n)
{
	s->clients = n;
}

/* What a request needs of the map: the kernel's (writes, hit counts),
 * the kernel's if it can be had within --map-wait (a read that asked for
 * the current map), the one a rebuild under way will give (a read of a
 * client older than protocol 4), or nothing in particular (a read that
 * asked for the last map at once; STATUS, which says whether the map is
 * behind; instances have nothing to do with it). Every read is fenced
 * all the same, so that its reply says whether its map is behind. */
enum map_need { MAP_ANY, MAP_REBUILT, MAP_CURRENT_READ, MAP_CURRENT };

static enum map_need map_need_of(const struct proto_request *req)
{
	switch (req->type) {
	case FTIDX_MSG_FILTER:
	case FTIDX_MSG_CHANGE:
	case FTIDX_MSG_HITS:
		return MAP_CURRENT;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_NAMES:
	case FTIDX_MSG_LIST:
	case FTIDX_MSG_STATUS:
		if (req->flags & FTIDX_READ_CURRENT)
			return MAP_CURRENT_READ;
		if ((req->flags & FTIDX_READ_LAST) || req->type == FTIDX_MSG_STATUS)
			return MAP_ANY;
		return MAP_REBUILT;
	case FTIDX_MSG_SHOW: /* its lines are given indices of the map */
		return MAP_REBUILT;
	}
	return MAP_ANY;
}

/* A STATUS that asked for the current map waits for its copy too, so
 * that the path it gives holds that map's list; not for one that will
 * not come (no place to publish, or it failed for this map). */
static bool publish_pending(const struct service *s)
{
	return s->publish_fd >= 0 && s->completion_fd >= 0 &&
	       s->published_generation != s->generation &&
	       (s->publish_job || s->publish_tried_generation != s->generation);
}

/*
 * Whether @job may go on: 0, SERVICE_BLOCKED while the map is being
 * rebuilt, or the -errno of a rebuild it waited for. A read of an older
 * client (MAP_REBUILT) waits for one rebuild, the one under way or about
 * to start, and then goes on with whatever map that left, stale again or
 * not; and for no longer than --read-wait, after which it goes on with
 * the map there is: a rebuild of a kernel with many modules takes
 * seconds, and a module storm at boot keeps it from settling. A write
 * waits until the map is the kernel's, but for no longer than --map-wait:
 * modules that keep coming and going may never let it be (-EAGAIN); a
 * read that asked for the current map waits as long, then goes on with
 * the map there is (its reply says it is behind).
 */
static int wait_for_map(struct service *s, struct service_job *job, enum map_need need)
{
	bool current = need >= MAP_CURRENT_READ;
	uint64_t now = now_ns();
	int r;

	if (job->waiting_for && s->rebuilds_finished >= job->waiting_for) {
		job->waiting_for = 0;
		/* one given up for a newer module change failed no one */
		if (s->rebuild_result < 0 && s->rebuild_result != -ECANCELED)
			return s->rebuild_result;
		if (!current)
			return 0;
	}
	r = service_map_catch_up_since(s, job->came_ns);
	if (r == 0 && need == MAP_CURRENT_READ && job->req->type == FTIDX_MSG_STATUS &&
	    publish_pending(s))
		r = SERVICE_BLOCKED;
	if (r != SERVICE_BLOCKED)
		return r;
	if (!job->wait_began_ns)
		job->wait_began_ns = now;
	/* a read has waited as long as it may: the map it has, and its
	 * reply says whether that is behind */
	if (need == MAP_REBUILT && now - job->wait_began_ns >= s->read_wait_ns)
		return 0;
	if (current && now - job->wait_began_ns >= s->map_wait_ns)
		return need == MAP_CURRENT ? -EAGAIN : 0;
	/* the rebuild under way, if it began after the last module change;
	 * else the next one */
	job->waiting_for = s->rebuilds_started +
			   (s->rebuild_job && s->rebuild_changes == s->changes ? 0 : 1);
	return SERVICE_BLOCKED;
}

static int answer(struct service *s, struct service_job *job, uint64_t deadline_ns,
		  struct proto_buf *out);

int service_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
		     struct proto_buf *out)
{
	const struct proto_request *req = job->req;
	enum map_need need = map_need_of(req);
	int r;

	/* writes, and hit counts, need the kernel's map at every step; reads
	 * the map they asked for before they begin */
	/* (a write whose failure is being put back waits for that instead,
	 * however long it takes) */
	if (!job->begun || (need == MAP_CURRENT && !job->restore_ticket)) {
		r = wait_for_map(s, job, need);
		job->stage = FTIDX_PROGRESS_MAP;
		if (r == SERVICE_BLOCKED && need != MAP_ANY)
			return r;
		job->begun = true;
		if (r == -EAGAIN)
			return service_reply_plain(s, req->type, job->id, EAGAIN,
						   "the kernel's functions kept changing (modules "
						   "loading or unloading) for as long as a write may "
						   "wait (ftidxd --map-wait); nothing was written: try "
						   "again",
						   out);
		if (r < 0)
			return service_reply_plain(s, req->type, job->id, -r,
						   "cannot read the kernel's function list", out);
	}
	r = answer(s, job, deadline_ns, out);
	if (r == SERVICE_MORE)
		job->stage = FTIDX_PROGRESS_RESOLVE;
	else if (r == SERVICE_BLOCKED)
		job->stage = job->restore_ticket ? FTIDX_PROGRESS_RESTORE : FTIDX_PROGRESS_MAP;
	return r;
}

/* What it says, for a progress frame: "" when the stage says it all. */
static void progress_text(const struct service *s, const struct service_job *job, char *text,
			  size_t size)
{
	text[0] = '\0';
	if (job->stage != FTIDX_PROGRESS_MAP)
		return;
	if (s->settling)
		snprintf(text, size,
			 "a module is loading or unloading: waiting for the kernel's functions to "
			 "settle, then for ftidxd to read them anew (map generation %llu now)",
			 (unsigned long long)s->generation);
	else if (s->rebuild_job)
		snprintf(text, size,
			 "the kernel's functions changed (a module came or went): ftidxd is reading "
			 "them anew (map generation %llu now)",
			 (unsigned long long)s->generation);
	else if (s->stale)
		snprintf(text, size,
			 "the kernel's functions changed (a module came or went): ftidxd reads them "
			 "anew (map generation %llu now)",
			 (unsigned long long)s->generation);
	else if (job->req->type == FTIDX_MSG_STATUS && publish_pending(s))
		snprintf(text, size, "the copy of map generation %llu's list is being published",
			 (unsigned long long)s->generation);
	else if (s->restores)
		snprintf(text, size, "another write that failed is being put back");
}

int service_job_progress(struct service *s, struct service_job *job, struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_PROGRESS, .generation = s->generation };
	uint64_t now = now_ns();
	char text[256];

	/* the first a second after it came, then once a second */
	if (!(job->req->flags & FTIDX_REQ_PROGRESS) || job->req->type == FTIDX_MSG_HITS ||
	    now - job->came_ns < SERVICE_PROGRESS_NS ||
	    (job->progress_ns && now - job->progress_ns < SERVICE_PROGRESS_NS))
		return 0;
	job->progress_ns = now;
	rep.stage = job->stage;
	rep.elapsed_ns = now - job->came_ns;
	if (job->stage == FTIDX_PROGRESS_RESOLVE)
		service_job_tokens_done(job, &rep.done, &rep.total);
	progress_text(s, job, text, sizeof(text));
	rep.message = text;
	return proto_encode_reply(out, job->id, &rep);
}

/* The request's own handler, once the map is what it needs. */
static int answer(struct service *s, struct service_job *job, uint64_t deadline_ns,
		  struct proto_buf *out)
{
	const struct proto_request *req = job->req;

	switch (req->type) {
	case FTIDX_MSG_STATUS:
		return service_query_status(s, job->id, job->requester, out);
	case FTIDX_MSG_RESOLVE:
		return service_query_resolve(s, job, deadline_ns, out);
	case FTIDX_MSG_NAMES:
		return service_query_names(s, req, job->id, out);
	case FTIDX_MSG_LIST:
		return service_query_list(s, req, job->id, out);
	case FTIDX_MSG_FILTER:
	case FTIDX_MSG_CHANGE:
		return service_filter(s, job, deadline_ns, out);
	case FTIDX_MSG_REMOVE_INSTANCE:
		return service_instances_remove(s, req, job->id, out);
	case FTIDX_MSG_HITS:
		return service_hits_begin(s, req, job->id, job->requester, out);
	case FTIDX_MSG_SHOW:
		return service_show_begin(s, req, job->id, job->requester, out);
	case FTIDX_MSG_INSTANCES:
		return service_instances_list(s, req, job->id, out);
	}
	return service_reply_plain(s, FTIDX_MSG_ERROR, job->id, EBADMSG, "unknown request", out);
}

/* service_handle()'s requester: where its deferred reply goes. */
struct captured {
	struct proto_buf *out;
	bool done;
};

static void capture(void *requester, struct proto_buf *frame)
{
	struct captured *cap = requester;

	proto_put_bytes(cap->out, frame->data, frame->len);
	cap->done = true;
}

int service_handle(struct service *s, const struct proto_request *req, uint32_t id,
		   struct proto_buf *out)
{
	struct captured cap = { out, false };
	struct service_job *job;
	int r = service_job_new(s, req, id, &cap, &job);

	for (;;) {
		struct pollfd pfd = { .fd = s->completion_fd, .events = POLLIN };

		if (r == 0 || r == SERVICE_MORE)
			r = service_step(s, job, UINT64_MAX, out);
		if (r == SERVICE_MORE)
			continue;
		/* waiting for a rebuild, or a deferred reply: here */
		if ((r != SERVICE_BLOCKED && r != SERVICE_LATER) || cap.done)
			break;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			r = negative_errno();
			break;
		}
		service_complete(s, capture);
		if (r == SERVICE_BLOCKED)
			r = SERVICE_MORE;
	}
	service_job_free(job);
	return r == SERVICE_LATER ? 0 : r;
}

