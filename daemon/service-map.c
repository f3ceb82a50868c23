/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's map and its life (see service-map.h): whether it is the
 * kernel's, rebuilds off the loop, and the fences around a write.
 *
 * Staleness: the map is only valid for the module state it was read in.
 * Before every request the record count in dyn_ftrace_total_info and the
 * module list (modules.h) are compared with the map's (two small reads);
 * a difference, or a module uevent, makes the map stale until a rebuild
 * read after the change is swapped in. A read is served by any such
 * fence begun after it came, so that readers who come together share
 * one. Right before a write, module uevents already queued are taken in
 * too, and the fence is taken then, for it alone.
 *
 * Rebuilds: reading available_filter_functions costs the kernel a
 * kallsyms lookup per line, linear in a module's symbols for module
 * lines: seconds on a machine with many modules. So a rebuild reads and
 * parses on a thread of its own, touching nothing of the service's, and
 * the loop swaps the new map in when the thread says it is done (the
 * completion fd). A module change that comes while a rebuild reads makes
 * its result old before it lands: the thread gives it up at its next
 * attempt, and another begins once the kernel has settled (or at once, if
 * it already has), so that the map is current within one rebuild of the
 * last change. The thread runs at a lower priority than the loop: on a
 * busy machine (a module storm at boot, one CPU) the kernel's slow read
 * yields to the requests being answered meanwhile.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "map.h"
#include "modules.h"
#include "generations.h"
#include "service-jobs.h"
#include "service-map.h"
#include "service-publish.h"
#include "service-state.h"
#include "service-written.h"
#include "tracing.h"

struct rebuild_job {
	pthread_t thread;
	atomic_bool done;
	atomic_bool abandon; /* a module changed since it began: give up */
	char modules_path[4096];
	uint64_t began_ns; /* CLOCK_MONOTONIC */
	int completion_fd;
	/* the result, once done */
	int result;
	struct map *map;
	uint64_t fingerprint;
};

/* The map, read between two equal module lists; -ECANCELED as soon as
 * *@abandon says another change came (NULL: never), even mid-read. */
static int load_fenced(const char *modules_path, struct map **out, uint64_t *fp,
		       const atomic_bool *abandon)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t after;
		int r;

		if (abandon && atomic_load(abandon))
			return -ECANCELED;
		r = modules_fingerprint(modules_path, fp, NULL);

		if (r == 0)
			r = map_load(out, abandon);
		if (r == 0)
			r = modules_fingerprint(modules_path, &after, NULL);
		if (r < 0) {
			*out = map_free(*out);
			return r;
		}
		if (after == *fp)
			return 0;
		*out = map_free(*out);
	}
	return -EAGAIN;
}

/* The kernel's record count and module list, as the map has them? The
 * answer holds for whatever came before it began (s->fence_ns). */
static int map_is_current(struct service *s, bool *current)
{
	uint64_t began = now_ns();
	unsigned long count;
	uint64_t fp;
	int r = tracing_read_record_count(&count);

	if (r == 0)
		r = modules_fingerprint(s->modules_path, &fp, NULL);
	if (r == 0)
		*current = count == map_size(s->map) && fp == s->modules_fp;
	s->fence_ns = began;
	s->fence_ok = r == 0 && *current;
	return r;
}

/* Before any reply carries the new number (the swap is on the loop, and
 * replies follow it). */
static void service_map_save_generation(struct service *s)
{
	int r;

	if (s->state_fd < 0)
		return;
	r = generations_save(s->state_fd, s->generation);
	if (r < 0 && !s->generation_save_failed)
		log_warn("cannot keep the map generation in %s (%s): a daemon started after this one "
			 "may number its maps as this one did",
			 s->state_dir, strerror(-r));
	s->generation_save_failed = r < 0;
}

void service_map_continue_generations(struct service *s)
{
	const char *why = "";
	uint64_t last = 0;
	int r = generations_load(s->state_fd, &last, &why);

	if (r < 0 && r != -ENOENT)
		log_warn("the map generation kept in %s is not used (%s): numbering goes on from %" PRIu64,
			 s->state_dir, r == -EBADMSG ? why : strerror(-r), s->generation);
	/* past every number the daemons before handed out on this directory */
	if (r == 0 && last >= s->generation) {
		s->generation = last + 1;
		log_info("map generation %" PRIu64 ", after the %" PRIu64 " a daemon before this one "
			 "reached",
			 s->generation, last);
	}
	service_map_save_generation(s);
}

bool service_map_swap(struct service *s, struct map *m, uint64_t fingerprint)
{
	s->modules_fp = fingerprint;
	/* a fence of the old map says nothing of this one */
	s->fence_ok = false;
	if (s->map && map_same(s->map, m)) {
		map_free(m);
		return false;
	}
	map_free(s->map);
	s->map = m;
	s->generation++;
	service_map_save_generation(s);
	s->built_at_ns = clock_ns(CLOCK_REALTIME);
	/* Indices of the old map mean nothing in the new one. */
	service_written_free_all(s);
	return true;
}

int service_map_refresh(struct service *s, bool force)
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
	r = load_fenced(s->modules_path, &m, &fp, NULL);
	if (r < 0)
		return r;
	service_map_swap(s, m, fp);
	service_publish_soon(s);
	return 0;
}

uint64_t service_map_generation(const struct service *s)
{
	return s->generation;
}

int service_map_catch_up(struct service *s)
{
	return service_map_catch_up_since(s, now_ns());
}

int service_map_catch_up_since(struct service *s, uint64_t since_ns)
{
	bool current = false;
	int r;

	if (s->rebuild_job)
		return SERVICE_BLOCKED;
	/* a fence begun after @since_ns found the map the kernel's */
	if (!s->stale && s->fence_ok && s->fence_ns >= since_ns)
		return 0;
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
	r = service_map_rebuild(s);
	if (r == 0)
		return SERVICE_BLOCKED;
	/* no thread to be had: on the loop, as a last resort */
	r = service_map_refresh(s, true);
	if (r == 0)
		s->stale = false;
	return r;
}

int service_map_invalidate(struct service *s)
{
	if (s->rebuild_job)
		atomic_store(&s->rebuild_job->abandon, true);
	s->fence_ok = false;
	s->stale = true;
	s->changes++;
	return service_map_rebuild(s);
}

int service_map_settled(struct service *s)
{
	s->settling = false;
	return s->stale ? service_map_rebuild(s) : 0;
}

uint32_t service_map_size(const struct service *s)
{
	return map_size(s->map);
}

void service_map_changed(struct service *s)
{
	if (s->rebuild_job)
		atomic_store(&s->rebuild_job->abandon, true);
	s->fence_ok = false;
	s->stale = true;
	s->settling = true;
	s->changes++;
}

const char *service_map_modules_path(const struct service *s)
{
	return s->modules_path;
}

bool service_map_stale(const struct service *s)
{
	return s->stale;
}

/* Right before a write: is the map still the kernel's? Uevents already
 * queued, the record count and the module list all must say so. */
int service_map_fence(struct service *s)
{
	if (s->drain_uevents)
		s->drain_uevents(s->drain_ctx);
	return service_map_catch_up(s);
}

bool service_map_fence_holds(struct service *s)
{
	unsigned long count;
	uint64_t fp;

	if (s->drain_uevents)
		s->drain_uevents(s->drain_ctx);
	if (s->stale || tracing_read_record_count(&count) < 0 ||
	    modules_fingerprint(s->modules_path, &fp, NULL) < 0)
		return false;
	return count == map_size(s->map) && fp == s->modules_fp;
}

static void *rebuild_worker(void *ctx)
{
	struct rebuild_job *job = ctx;
	uint64_t one = 1;

	/* nice 10, this thread alone (Linux's nice is per thread) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
		log_debug("the rebuild keeps the loop's priority: %s", strerror(errno));
	job->result = load_fenced(job->modules_path, &job->map, &job->fingerprint, &job->abandon);
	atomic_store(&job->done, true);
	if (write(job->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop a rebuild is done: %s", strerror(errno));
	return NULL;
}

int service_map_rebuild(struct service *s)
{
	struct rebuild_job *job;
	int r;

	if (s->rebuild_job)
		return 0;
	if (s->completion_fd < 0)
		return -ENOSYS;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	snprintf(job->modules_path, sizeof(job->modules_path), "%s", s->modules_path);
	job->began_ns = now_ns();
	job->completion_fd = s->completion_fd;
	r = -pthread_create(&job->thread, NULL, rebuild_worker, job);
	if (r < 0) {
		free(job);
		return r;
	}
	s->rebuild_job = job;
	s->rebuilds_started++;
	s->rebuild_changes = s->changes;
	log_debug("rebuilding the map off the loop (rebuild %llu)",
		  (unsigned long long)s->rebuilds_started);
	return 0;
}

void service_map_rebuild_complete(struct service *s)
{
	struct rebuild_job *job = s->rebuild_job;
	uint64_t took;

	if (!job || !atomic_load(&job->done))
		return;
	pthread_join(job->thread, NULL);
	s->rebuild_job = NULL;
	s->rebuilds_finished++;
	s->rebuild_result = job->result;
	took = now_ns() - job->began_ns;
	if (took > s->rebuild_worst_ns)
		s->rebuild_worst_ns = took;
	if (job->result == -ECANCELED) {
		log_debug("a rebuild given up after %.0f ms: a module changed while it read",
			  took / 1e6);
	} else if (job->result < 0) {
		log_error("rebuilding the map failed: %s", strerror(-job->result));
	} else {
		bool changed = service_map_swap(s, job->map, job->fingerprint);

		job->map = NULL; /* the service's now */
		/* no module change since it began: the map is the kernel's */
		if (s->rebuild_changes == s->changes)
			s->stale = false;
		log_info("map rebuilt off the loop in %.0f ms: %u lines, generation %llu%s%s",
			 took / 1e6, map_size(s->map), (unsigned long long)s->generation,
			 changed ? "" : " (unchanged)",
			 s->stale ? "; a module changed meanwhile, so it is stale again" : "");
	}
	map_free(job->map);
	free(job);
	/* stale, and the kernel settled while it read: the next one now */
	if (s->stale && !s->settling && service_map_rebuild(s) < 0)
		log_error("cannot start rebuilding the map off the loop");
}

void service_map_rebuild_shutdown(struct service *s)
{
	struct rebuild_job *job = s->rebuild_job;

	if (!job)
		return;
	/* a read of the kernel's list takes seconds with many modules: cut
	 * short, so that ftidxd stops at once */
	atomic_store(&job->abandon, true);
	pthread_join(job->thread, NULL);
	map_free(job->map);
	free(job);
	s->rebuild_job = NULL;
}
