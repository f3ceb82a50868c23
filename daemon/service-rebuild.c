/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Map rebuilds off the loop (see service-internal.h).
 *
 * Reading available_filter_functions costs the kernel a kallsyms lookup
 * per line, linear in a module's symbols for module lines: seconds on a
 * machine with many modules. So a rebuild reads and parses on a thread of
 * its own, touching nothing of the service's, and the loop swaps the new
 * map in when the thread says it is done (the completion fd). Meanwhile
 * the loop serves on: reads answer once the rebuild they found under way
 * is done, writes once the map is the kernel's again (service.c).
 *
 * A module change that comes while a rebuild reads makes its result old
 * before it lands: the map then stays stale, and the next request or
 * settle starts another.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "map.h"
#include "modules.h"
#include "service.h"
#include "service-internal.h"

struct rebuild_job {
	pthread_t thread;
	atomic_bool done;
	char modules_path[4096];
	uint64_t began_ns; /* CLOCK_MONOTONIC */
	int completion_fd;
	/* the result, once done */
	int result;
	struct map *map;
	uint64_t fingerprint;
};

int service_load_fenced(const char *modules_path, struct map **out, uint64_t *fp)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t after;
		bool settled;
		int r = modules_fingerprint(modules_path, fp, &settled);

		if (r == 0)
			r = map_load(out);
		if (r == 0)
			r = modules_fingerprint(modules_path, &after, &settled);
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

static void *rebuild_worker(void *ctx)
{
	struct rebuild_job *job = ctx;
	uint64_t one = 1;

	job->result = service_load_fenced(job->modules_path, &job->map, &job->fingerprint);
	atomic_store(&job->done, true);
	if (write(job->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop a rebuild is done: %s", strerror(errno));
	return NULL;
}

int service_rebuild_start(struct service *s)
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

void service_rebuild_complete(struct service *s)
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
	if (job->result < 0) {
		log_error("rebuilding the map failed: %s", strerror(-job->result));
	} else {
		bool changed = service_swap_map(s, job->map, job->fingerprint);

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
}

void service_rebuild_shutdown(struct service *s)
{
	struct rebuild_job *job = s->rebuild_job;

	if (!job)
		return;
	/* one read of the kernel's list: waited for, not cut short */
	pthread_join(job->thread, NULL);
	map_free(job->map);
	free(job);
	s->rebuild_job = NULL;
}
