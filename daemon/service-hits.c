/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HITS requests (see service.h): which functions of a filter fire, and how
 * often. The filter's functions are read back from the kernel rather than
 * taken from what ftidx wrote, so filters written by anyone can be checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "readback.h"
#include "service.h"
#include "service-internal.h"
#include "tracing.h"

#define KALLSYMS "/proc/kallsyms"

/* The indices a filter file of @instance holds, per the kernel. */
static ssize_t filter_indices(struct service *s, const char *instance, const char *file,
			      uint32_t **out)
{
	_cleanup_free_ char *text = NULL;
	size_t len, unmatched;
	ssize_t n;
	int r;

	r = s->io->read(s->io->ctx, instance, file, &text, &len);
	if (r < 0)
		return r;
	n = readback_filter_indices(s->map, text, out, &unmatched);
	if (unmatched)
		log_debug("%zu lines of %s are not functions of the map", unmatched, file);
	return n;
}

int service_hits_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out)
{
	const char *instance = req->instance[0] ? req->instance : NULL;
	_cleanup_free_ uint32_t *filter = NULL, *notrace = NULL, *traced = NULL;
	char name[64], msg[256];
	const char *why = "";
	ssize_t n_filter, n_notrace;
	size_t n;
	int r;

	if (s->hits)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, EBUSY,
					   "a hit count is running already; try again after it",
					   out);
	r = service_catch_up(s);
	if (r < 0)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, -r,
					   "cannot read the kernel's function list", out);
	if (instance && !tracing_instance_exists(instance))
		return service_reply_plain(s, FTIDX_MSG_HITS, id, ENOENT, "no such instance", out);

	n_filter = filter_indices(s, instance, "set_ftrace_filter", &filter);
	n_notrace = n_filter < 0 ? 0 : filter_indices(s, instance, "set_ftrace_notrace", &notrace);
	if (n_filter < 0 || n_notrace < 0)
		return service_reply_plain(s, FTIDX_MSG_HITS, id,
					   (int)-(n_filter < 0 ? n_filter : n_notrace),
					   "cannot read the filter", out);
	traced = service_merge_sets(filter, (size_t)n_filter, NULL, 0, notrace, (size_t)n_notrace,
				    &n);
	if (!traced)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, ENOMEM, "out of memory", out);
	if (n == 0)
		return service_reply_plain(s, FTIDX_MSG_HITS, id, ENODATA,
					   "the filter enables no function (an empty filter would "
					   "trace them all); set one first",
					   out);

	snprintf(name, sizeof(name), HITS_INSTANCE_PREFIX "%d", (int)getpid());
	r = hits_start(&s->hits, s->io, s->map, name, traced, n, &why);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", why, strerror(-r));
		return service_reply_plain(s, FTIDX_MSG_HITS, id, -r, msg, out);
	}
	log_info("counting calls to %zu function%s for %u s in instances/%s", n, n == 1 ? "" : "s",
		 req->seconds, name);
	return 1;
}

void service_hits_drain(struct service *s)
{
	int r = s->hits ? hits_drain(s->hits) : 0;

	if (r < 0)
		log_warn("reading the hit count's ring buffer: %s", strerror(-r));
}

int service_hits_end(struct service *s, uint32_t id, struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_HITS, .generation = s->generation };
	const struct hit *hits;
	const char *why = "";
	char msg[256];
	size_t n;
	int r;

	r = hits_stop(s->hits, KALLSYMS, &why);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", why, strerror(-r));
		r = service_reply_plain(s, FTIDX_MSG_HITS, id, -r, msg, out);
		goto done;
	}
	hits = hits_results(s->hits, &n);
	rep.enabled = (uint32_t)hits_enabled(s->hits);
	rep.events = hits_events(s->hits);
	rep.lost = hits_lost(s->hits);
	rep.n_lines = (uint32_t)n;
	rep.indices = malloc(sizeof(*rep.indices) * (n ? n : 1));
	rep.counts = malloc(sizeof(*rep.counts) * (n ? n : 1));
	rep.lines = malloc(sizeof(*rep.lines) * (n ? n : 1));
	if (!rep.indices || !rep.counts || !rep.lines) {
		r = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		rep.indices[i] = hits[i].index;
		rep.counts[i] = hits[i].count;
		rep.lines[i] = hits[i].line;
	}
	rep.message = hits_cut_short(s->hits) ? "calls came faster than ftidxd could read them: "
						"the counts are short"
					      : "";
	r = proto_encode_reply(out, id, &rep);
	log_info("hit count done: %zu of %u function%s fired, %llu calls, %llu lost", n,
		 rep.enabled, rep.enabled == 1 ? "" : "s", (unsigned long long)rep.events,
		 (unsigned long long)rep.lost);
done:
	free(rep.indices);
	free(rep.counts);
	free(rep.lines);
	s->hits = hits_free(s->hits);
	return r;
}

void service_hits_cancel(struct service *s)
{
	if (s->hits)
		log_info("hit count cancelled: its client went away");
	s->hits = hits_free(s->hits);
}
