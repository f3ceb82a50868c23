/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's lifecycle, its map, and the dispatch of requests (see
 * service.h; the requests themselves are in service-*.c).
 *
 * Staleness: the map is only valid for the module state it was read in.
 * Before every request the record count in dyn_ftrace_total_info and the
 * module list (modules.h) are compared with the map's (two small reads);
 * a difference rebuilds the map and bumps the generation. Right before a
 * write, module uevents already queued are taken in too. A FILTER request
 * may name the generation its tokens were resolved against: if that is
 * not the current one the request is refused, since its indices may now
 * mean other functions.
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
#include "service.h"
#include "service-internal.h"
#include "tracing.h"

/* The kernel's record count and module list, as the map has them? */
static int map_is_current(struct service *s, bool *current)
{
	unsigned long count;
	uint64_t fp;
	bool settled;
	int r = tracing_read_record_count(&count);

	if (r == 0)
		r = modules_fingerprint(s->modules_path, &fp, &settled);
	if (r == 0)
		*current = count == map_size(s->map) && fp == s->modules_fp;
	return r;
}

bool service_swap_map(struct service *s, struct map *m, uint64_t fingerprint)
{
	s->modules_fp = fingerprint;
	if (s->map && map_same(s->map, m)) {
		map_free(m);
		return false;
	}
	map_free(s->map);
	s->map = m;
	s->generation++;
	s->built_at_ns = clock_ns(CLOCK_REALTIME);
	/* Indices of the old map mean nothing in the new one. */
	written_free_all(s);
	return true;
}

int service_refresh(struct service *s, bool force)
{
	struct map *m = NULL;
	bool current = false;
	uint64_t fp;
	int r;

	if (!force && s->map) {
		r = map_is_current(s, &current);
		if (r < 0 || current)
			return r;
	}
	r = service_load_fenced(s->modules_path, &m, &fp);
	if (r < 0)
		return r;
	service_swap_map(s, m, fp);
	return 0;
}

int service_new(struct service **out, const struct writer_io *io)
{
	struct service *s = calloc(1, sizeof(*s));
	struct utsname u;
	int r;

	if (!s)
		return -ENOMEM;
	s->state_fd = -1;
	s->completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
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
	r = service_refresh(s, true);
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
	service_audit_shutdown(s);
	service_rebuild_shutdown(s);
	service_status_free(s);
	if (s->completion_fd >= 0)
		close(s->completion_fd);
	if (s->state_fd >= 0)
		close(s->state_fd);
	/* the records' watches go before the watcher */
	written_free_all(s);
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
	service_rebuild_complete(s);
	service_audit_complete(s);
	service_status_complete(s, deliver);
	service_hits_complete(s, deliver);
}

void service_forget(struct service *s, void *requester)
{
	service_status_forget(s, requester);
	service_hits_forget(s, requester);
}

int service_completion_fd(const struct service *s)
{
	return s->completion_fd;
}

uint64_t service_generation(const struct service *s)
{
	return s->generation;
}

int service_catch_up(struct service *s)
{
	bool current = false;
	int r;

	if (s->rebuild_job)
		return SERVICE_BLOCKED;
	if (!s->stale) {
		r = map_is_current(s, &current);
		if (r < 0 || current)
			return r;
		/* moved without a uevent (or before it came) */
		s->stale = true;
		s->changes++;
	}
	/* a uevent's settling starts the rebuild once the kernel is done */
	if (s->settling)
		return SERVICE_BLOCKED;
	r = service_rebuild_start(s);
	if (r == 0)
		return SERVICE_BLOCKED;
	/* no thread to be had: on the loop, as a last resort */
	r = service_refresh(s, true);
	if (r == 0)
		s->stale = false;
	return r;
}

int service_settled(struct service *s)
{
	s->settling = false;
	return s->stale ? service_rebuild_start(s) : 0;
}

uint32_t service_map_size(const struct service *s)
{
	return map_size(s->map);
}

void service_set_stale(struct service *s)
{
	s->stale = true;
	s->settling = true;
	s->changes++;
}

const char *service_modules_path(const struct service *s)
{
	return s->modules_path;
}

bool service_stale(const struct service *s)
{
	return s->stale;
}

void service_set_uevent_drain(struct service *s, void (*drain)(void *ctx), void *ctx)
{
	s->drain_uevents = drain;
	s->drain_ctx = ctx;
}

/* Right before a write: is the map still the kernel's? Uevents already
 * queued, the record count and the module list all must say so. */
int service_fence(struct service *s)
{
	if (s->drain_uevents)
		s->drain_uevents(s->drain_ctx);
	return service_catch_up(s);
}

bool service_fence_holds(struct service *s)
{
	unsigned long count;
	uint64_t fp;
	bool settled;

	if (s->drain_uevents)
		s->drain_uevents(s->drain_ctx);
	if (s->stale || tracing_read_record_count(&count) < 0 ||
	    modules_fingerprint(s->modules_path, &fp, &settled) < 0)
		return false;
	return count == map_size(s->map) && fp == s->modules_fp;
}

void service_set_verify_full(struct service *s, bool full)
{
	s->verify_full = full;
}

void service_set_clients(struct service *s, uint32_t n)
{
	s->clients = n;
}

int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	struct proto_reply rep = {
		.type = type, .status = status, .generation = s->generation, .message = why,
	};

	return proto_encode_reply(out, id, &rep);
}

int service_job_new(struct service *s _unused_, const struct proto_request *req, uint32_t id,
		    void *requester, struct service_job **out)
{
	struct service_job *job = calloc(1, sizeof(*job));

	*out = job;
	if (!job)
		return -ENOMEM;
	job->req = req;
	job->id = id;
	job->requester = requester;
	return 0;
}

static void job_unpin(struct service_job *job)
{
	job->rs = resolver_free(job->rs);
	for (size_t k = 0; k < ARRAY_SIZE(job->res); k++)
		resolution_deinit(&job->res[k]);
	job->map = map_free(job->map);
}

struct service_job *service_job_free(struct service_job *job)
{
	if (!job)
		return NULL;
	job_unpin(job);
	free(job);
	return NULL;
}

size_t service_job_bytes(const struct service_job *job)
{
	size_t n = sizeof(*job) + (job->rs ? resolver_bytes(job->rs) : 0);

	for (size_t k = 0; k < ARRAY_SIZE(job->res); k++) {
		const struct resolution *r = &job->res[k];

		n += r->n_items * sizeof(*r->items) + (r->n_enable + r->n_disable) * sizeof(uint32_t);
		if (r->token_set_start)
			n += (r->n_items + 1 + r->token_set_start[r->n_items]) * sizeof(uint32_t);
	}
	return n;
}

void service_job_pin(struct service *s, struct service_job *job, const struct proto_change *parts,
		     size_t n_parts)
{
	job_unpin(job);
	job->map = map_ref(s->map);
	job->generation = s->generation;
	job->parts = parts;
	job->n_parts = n_parts;
	job->part = 0;
}

/* Per-token sets: at most what half a frame can carry. */
#define PER_TOKEN_LIMIT (FTIDX_FRAME_MAX / sizeof(uint32_t) / 2)

int service_job_resolve(struct service *s, struct service_job *job, bool per_token,
			uint64_t deadline_ns)
{
	const char *const *tokens = job->req->tokens;

	while (job->part < job->n_parts) {
		const struct proto_change *p = &job->parts[job->part];
		int r = 0;

		if (!job->rs)
			r = resolver_new(&job->rs, job->map, &s->rules, tokens + p->first_token,
					 p->n_tokens, per_token ? PER_TOKEN_LIMIT : 0);
		if (r == 0)
			r = resolver_run(job->rs, deadline_ns);
		if (r == RESOLVE_MORE)
			return SERVICE_MORE;
		if (r == 0)
			r = resolver_finish(job->rs, &job->res[job->part]);
		if (r == 0)
			log_debug("resolved %u tokens, %llu lines scanned", p->n_tokens,
				  (unsigned long long)resolver_lines_scanned(job->rs));
		job->rs = resolver_free(job->rs);
		if (r < 0)
			return r;
		job->part++;
	}
	return 0;
}

/* What a request needs of the map: the kernel's (writes, hit counts),
 * the one a rebuild under way will give (reads), or nothing in particular
 * (STATUS says whether it is stale; instances have nothing to do with it). */
enum map_need { MAP_ANY, MAP_REBUILT, MAP_CURRENT };

static enum map_need map_need_of(uint16_t type)
{
	switch (type) {
	case FTIDX_MSG_FILTER:
	case FTIDX_MSG_CHANGE:
	case FTIDX_MSG_HITS:
		return MAP_CURRENT;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_NAMES:
	case FTIDX_MSG_LIST:
		return MAP_REBUILT;
	}
	return MAP_ANY;
}

/*
 * Whether @job may go on: 0, SERVICE_BLOCKED while the map is being
 * rebuilt, or the -errno of a rebuild it waited for. A read waits for one
 * rebuild, the one under way or about to start, and then goes on with
 * whatever map that left, stale again or not: never an unbounded wait.
 * A write (@current) waits until the map is the kernel's.
 */
static int wait_for_map(struct service *s, struct service_job *job, bool current)
{
	int r;

	if (job->waiting_for && s->rebuilds_finished >= job->waiting_for) {
		job->waiting_for = 0;
		if (s->rebuild_result < 0)
			return s->rebuild_result;
		if (!current)
			return 0;
	}
	r = service_catch_up(s);
	if (r != SERVICE_BLOCKED)
		return r;
	/* the rebuild under way, if it began after the last module change;
	 * else the next one */
	job->waiting_for = s->rebuilds_started +
			   (s->rebuild_job && s->rebuild_changes == s->changes ? 0 : 1);
	return SERVICE_BLOCKED;
}

int service_job_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
		     struct proto_buf *out)
{
	const struct proto_request *req = job->req;
	enum map_need need = map_need_of(req->type);
	int r;

	/* writes, and hit counts, need the kernel's map at every step; reads
	 * the map as it was once the rebuild they found under way is done */
	if (!job->begun || need == MAP_CURRENT) {
		r = wait_for_map(s, job, need == MAP_CURRENT);
		if (r == SERVICE_BLOCKED && need != MAP_ANY)
			return r;
		job->begun = true;
		if (r < 0)
			return service_reply_plain(s, req->type, job->id, -r,
						   "cannot read the kernel's function list", out);
	}
	switch (req->type) {
	case FTIDX_MSG_STATUS:
		return service_status_begin(s, job->id, job->requester, out);
	case FTIDX_MSG_RESOLVE:
		return service_resolve_step(s, job, deadline_ns, out);
	case FTIDX_MSG_NAMES:
		return service_reply_names(s, req, job->id, out);
	case FTIDX_MSG_LIST:
		return service_reply_list(s, req, job->id, out);
	case FTIDX_MSG_FILTER:
	case FTIDX_MSG_CHANGE:
		return service_filter_step(s, job, deadline_ns, out);
	case FTIDX_MSG_REMOVE_INSTANCE:
		return service_reply_remove_instance(s, req, job->id, out);
	case FTIDX_MSG_HITS:
		return service_hits_begin(s, req, job->id, job->requester, out);
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
			r = service_job_step(s, job, UINT64_MAX, out);
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

int service_reply_version(struct service *s, uint32_t id, bool may_write, struct proto_buf *out)
{
	struct proto_reply rep = {
		.type = FTIDX_MSG_VERSION,
		.generation = s->generation,
		.message = "",
		.proto_version = FTIDX_PROTO_VERSION,
		.proto_version_min = FTIDX_PROTO_VERSION_MIN,
		.role = may_write ? FTIDX_ROLE_WRITE : FTIDX_ROLE_READ,
		.capabilities = FTIDX_CAP_CHANGE | FTIDX_CAP_PER_TOKEN | FTIDX_CAP_CANCEL |
				FTIDX_CAP_REMOVE_INSTANCE | FTIDX_CAP_LIST_ADDRESSES |
				(s->real_tracefs && s->completion_fd >= 0 ? FTIDX_CAP_HITS : 0),
		.daemon_version = FTIDX_VERSION,
	};

	return proto_encode_reply(out, id, &rep);
}

int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	return service_reply_plain(s, FTIDX_MSG_ERROR, id, status, why, out);
}
