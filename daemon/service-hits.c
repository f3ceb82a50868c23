/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HITS requests (see service.h): which functions of a filter fire, and how
 * often. The filter's functions are read back from the kernel rather than
 * taken from what ftidx wrote, so filters written by anyone can be checked.
 *
 * A run takes seconds, and reading its ring buffer and parsing kallsyms
 * take real time too, so all of that happens on a thread of its own: the
 * event loop keeps serving everyone else meanwhile. The loop thread sets
 * the run up (a filter write, like any other) and builds the reply; the
 * worker only drains, stops and names, touching nothing but its run, and
 * says it is done through the completion pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "readback.h"
#include "hits.h"
#include "service-hits.h"
#include "service-jobs.h"
#include "service-reply.h"
#include "service-state.h"
#include "sets.h"
#include "tracing.h"

#define KALLSYMS "/proc/kallsyms"
/* How often the worker takes what the ring buffer holds. */
#define DRAIN_MS 200

struct hits_job {
	struct hits *hits;
	pthread_t thread;
	int wake_fd;          /* eventfd: cut the run short (its client went away) */
	atomic_bool cancelled;
	atomic_bool finished; /* the worker is done: the loop may join it */
	bool cut_short;       /* by CANCEL: the reply says so */
	uint64_t seconds;
	uint32_t id;
	void *requester;      /* NULL once it went away: no reply then */
	/* what the worker sets up with: the map is a reference, taken and
	 * given back on the loop */
	const struct writer_io *io;
	struct map *map;
	char instance[FTIDX_INSTANCE_MAX + 1]; /* "" for the top level */
	int completion_fd;
	bool set_up;          /* the run began: the reply has counts */
	int result;           /* the set-up's or hits_stop()'s, for the reply */
	const char *why;
	bool why_alone;       /* @why says it all, without strerror(@result) */
};

/* The indices a filter file of @instance holds, per the kernel. */
static ssize_t filter_indices(const struct hits_job *job, const char *file, uint32_t **out)
{
	_cleanup_free_ char *text = NULL;
	size_t len, unmatched;
	ssize_t n;
	int r;

	r = job->io->read(job->io->ctx, job->instance[0] ? job->instance : NULL, file, &text, &len);
	if (r < 0)
		return r;
	n = readback_filter_indices(job->map, text, out, &unmatched);
	if (unmatched)
		log_debug("%zu lines of %s are not functions of the map", unmatched, file);
	return n;
}

/*
 * What the run counts (the filter less notrace, as the kernel has them)
 * and the run begun: 0, or -errno with job->why. Reading the filters and
 * starting the tracer (which patches the kernel's code) take the kernel a
 * while, so this is the worker's too.
 */
static int set_up(struct hits_job *job)
{
	_cleanup_free_ uint32_t *filter = NULL, *notrace = NULL, *traced = NULL;
	ssize_t n_filter, n_notrace;
	char name[64];
	size_t n;

	int r;

	job->why_alone = true;
	n_filter = filter_indices(job, "set_ftrace_filter", &filter);
	n_notrace = n_filter < 0 ? 0 : filter_indices(job, "set_ftrace_notrace", &notrace);
	job->why = "cannot read the filter";
	if (n_filter < 0 || n_notrace < 0)
		return (int)(n_filter < 0 ? n_filter : n_notrace);
	traced = sets_merge(filter, (size_t)n_filter, NULL, 0, notrace, (size_t)n_notrace,
				    &n);
	job->why = "out of memory";
	if (!traced)
		return -ENOMEM;
	job->why = "the filter enables no function (an empty filter would trace them all); set one "
		   "first";
	if (n == 0)
		return -ENODATA;
	snprintf(name, sizeof(name), HITS_INSTANCE_PREFIX "%d", (int)getpid());
	job->why_alone = false;
	job->why = "cannot set up the run";
	r = hits_start(&job->hits, job->io, job->map, name, traced, n, &job->why);
	if (r < 0)
		return r;
	log_info("counting calls to %zu function%s for %llu s in instances/%s", n,
		 n == 1 ? "" : "s", (unsigned long long)job->seconds, name);
	return 0;
}

static void *hits_worker(void *ctx)
{
	struct hits_job *job = ctx;
	uint64_t one = 1, deadline;

	job->result = set_up(job);
	job->set_up = job->result == 0;
	deadline = clock_ns(CLOCK_MONOTONIC) + job->seconds * 1000000000ull;
	for (; job->set_up;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = job->wake_fd, .events = POLLIN };
		int r;

		if (now >= deadline || atomic_load(&job->cancelled))
			break;
		(void)poll(&pfd, 1, (int)MIN((deadline - now) / 1000000 + 1, DRAIN_MS));
		r = hits_drain(job->hits);
		if (r < 0)
			log_warn("reading the hit count's ring buffer: %s", strerror(-r));
	}
	if (job->set_up) {
		job->result = hits_stop(job->hits, KALLSYMS, &job->why);
		/* here too, not on the loop: removing an instance takes the
		 * kernel a while */
		hits_remove_instance(job->hits);
	}
	/* done: the loop takes it from here */
	atomic_store(&job->finished, true);
	if (write(job->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop a hit count is done: %s", strerror(errno));
	return NULL;
}

static struct hits_job *job_free(struct hits_job *job)
{
	if (!job)
		return NULL;
	job->hits = hits_free(job->hits);
	map_free(job->map);
	if (job->wake_fd >= 0)
		close(job->wake_fd);
	free(job);
	return NULL;
}

int service_hits_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       void *requester, struct proto_buf *out)
{
	struct hits_job *job;
	int r;

	if (s->hits_job)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, EBUSY,
					   "a hit count is running already; try again after it",
					   out);
	if (s->completion_fd < 0)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, EOPNOTSUPP,
					   "this daemon cannot run hit counts", out);
	if (req->instance[0] && !tracing_instance_exists(req->instance))
		return service_reply_plain(s, FTIDX_MSG_HITS, id, ENOENT, "no such instance", out);
	job = calloc(1, sizeof(*job));
	if (!job)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, ENOMEM, "out of memory", out);
	job->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	job->id = id;
	job->requester = requester;
	job->seconds = req->seconds;
	job->io = s->io;
	job->map = map_ref(s->map);
	job->completion_fd = s->completion_fd;
	snprintf(job->instance, sizeof(job->instance), "%s", req->instance);
	r = job->wake_fd < 0 ? negative_errno() : -pthread_create(&job->thread, NULL, hits_worker,
								   job);
	if (r < 0) {
		job_free(job);
		return service_reply_plain(s, FTIDX_MSG_HITS, id, -r,
					   "cannot start a thread for the run", out);
	}
	s->hits_job = job;
	return SERVICE_LATER;
}

/* The reply to a finished run. */
static int hits_reply(struct service *s, struct hits_job *job, struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_HITS, .generation = s->generation };
	const struct hit *hits;
	char msg[256];
	size_t n;
	int r;

	if (job->result < 0 && job->why_alone)
		return service_reply_plain(s, FTIDX_MSG_HITS, job->id, -job->result, job->why, out);
	if (job->result < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", job->why, strerror(-job->result));
		return service_reply_plain(s, FTIDX_MSG_HITS, job->id, -job->result, msg, out);
	}
	hits = hits_results(job->hits, &n);
	rep.enabled = (uint32_t)hits_enabled(job->hits);
	rep.events = hits_events(job->hits);
	rep.lost = hits_lost(job->hits);
	rep.n_lines = (uint32_t)n;
	rep.indices = malloc(sizeof(*rep.indices) * (n ? n : 1));
	rep.counts = malloc(sizeof(*rep.counts) * (n ? n : 1));
	rep.lines = malloc(sizeof(*rep.lines) * (n ? n : 1));
	r = -ENOMEM;
	if (!rep.indices || !rep.counts || !rep.lines)
		goto done;
	for (size_t i = 0; i < n; i++) {
		rep.indices[i] = hits[i].index;
		rep.counts[i] = hits[i].count;
		rep.lines[i] = hits[i].line;
	}
	rep.message = hits_cut_short(job->hits) ? "calls came faster than ftidxd could read them: "
						  "the counts are short"
						: "";
	if (job->cut_short) {
		/* what was counted until then, which the client asked for */
		rep.status = ECANCELED;
		rep.message = "cancelled: the counts are those of the run until then";
	}
	r = proto_encode_reply(out, job->id, &rep);
	log_info("hit count done: %zu of %u function%s fired, %llu calls, %llu lost", n,
		 rep.enabled, rep.enabled == 1 ? "" : "s", (unsigned long long)rep.events,
		 (unsigned long long)rep.lost);
done:
	free(rep.indices);
	free(rep.counts);
	free(rep.lines);
	return r;
}

void service_hits_complete(struct service *s,
			   void (*deliver)(void *requester, struct proto_buf *frame))
{
	struct hits_job *job = s->hits_job;
	struct proto_buf frame;

	if (!job || !atomic_load(&job->finished))
		return;
	pthread_join(job->thread, NULL);
	s->hits_job = NULL;
	proto_buf_init(&frame);
	if (job->requester) {
		if (hits_reply(s, job, &frame) < 0) {
			proto_buf_deinit(&frame);
			service_reply_plain(s, FTIDX_MSG_HITS, job->id, ENOMEM, "out of memory",
					    &frame);
		}
		deliver(job->requester, &frame);
	}
	proto_buf_deinit(&frame);
	job_free(job);
}

void service_hits_forget(struct service *s, void *requester)
{
	struct hits_job *job = s->hits_job;
	uint64_t one = 1;

	if (!job || job->requester != requester)
		return;
	log_info("hit count cancelled: its client went away");
	job->requester = NULL;
	atomic_store(&job->cancelled, true);
	(void)!write(job->wake_fd, &one, sizeof(one));
}

void service_hits_cancel(struct service *s, void *requester, uint32_t id)
{
	struct hits_job *job = s->hits_job;
	uint64_t one = 1;

	if (!job || job->requester != requester || job->id != id || job->cut_short)
		return;
	log_info("hit count cancelled by its client");
	job->cut_short = true;
	atomic_store(&job->cancelled, true);
	(void)!write(job->wake_fd, &one, sizeof(one));
}

void service_hits_shutdown(struct service *s)
{
	struct hits_job *job = s->hits_job;

	if (!job)
		return;
	service_hits_forget(s, job->requester);
	atomic_store(&job->cancelled, true);
	pthread_join(job->thread, NULL);
	s->hits_job = job_free(job);
}
