/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The published function list, written off the loop (see
 * service-publish.h). The thread holds a reference to the map it writes;
 * references are the loop's to take and give back, so it takes one
 * before the thread starts and gives it back once the thread is done.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "map.h"
#include "publish.h"
#include "service-publish.h"
#include "service-state.h"
#include "tracing.h"

struct publish_job {
	pthread_t thread;
	atomic_bool done;
	int dirfd;
	gid_t gid;
	bool others_denied;
	struct map *map; /* a reference */
	struct publish_stamp stamp;
	int result;
	int completion_fd;
};

static void *publish_worker(void *ctx)
{
	struct publish_job *job = ctx;
	uint64_t one = 1;

	job->result = publish_list(job->dirfd, job->map, &job->stamp, job->gid, job->others_denied);
	atomic_store(&job->done, true);
	if (write(job->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop the function list is published: %s",
			  strerror(errno));
	return NULL;
}

void service_publish_soon(struct service *s)
{
	struct publish_job *job;

	/* a stale map is never published: the next rebuild's will be */
	/* each map is tried once: a failure waits for the next map */
	if (s->publish_job || s->publish_fd < 0 || s->completion_fd < 0 || !s->map || s->stale ||
	    s->publish_tried_generation == s->generation)
		return;
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	*job = (struct publish_job){
		.dirfd = s->publish_fd,
		.gid = s->publish_gid,
		.others_denied = s->publish_private,
		.map = map_ref(s->map),
		.stamp = { s->generation, s->modules_fp },
		.completion_fd = s->completion_fd,
	};
	if (pthread_create(&job->thread, NULL, publish_worker, job) != 0) {
		map_free(job->map);
		free(job);
		return;
	}
	s->publish_job = job;
	s->publish_tried_generation = s->generation;
}

void service_publish_complete(struct service *s)
{
	struct publish_job *job = s->publish_job;

	if (!job || !atomic_load(&job->done))
		return;
	pthread_join(job->thread, NULL);
	s->publish_job = NULL;
	if (job->result < 0) {
		/* said once: it would fail the same way after every rebuild */
		if (!s->publish_failed)
			log_warn("cannot publish the function list in %s: %s", s->state_dir,
				 strerror(-job->result));
		s->publish_failed = true;
	} else {
		if (job->result == 1 && !s->publish_root_only)
			log_warn("the published %s root's alone: without CAP_CHOWN, ftidxd cannot "
				 "give them to the write group",
				 s->publish_private ? "list, its stamp and its addresses are"
						    : "addresses are");
		s->publish_root_only = job->result == 1;
		s->published_generation = job->stamp.generation;
		s->publish_failed = false;
		log_debug("published the function list of generation %llu in %s",
			  (unsigned long long)job->stamp.generation, s->state_dir);
	}
	map_free(job->map);
	free(job);
	/* a map that came while it wrote */
	service_publish_soon(s);
}

void service_publish_shutdown(struct service *s)
{
	struct publish_job *job = s->publish_job;

	if (!job)
		return;
	pthread_join(job->thread, NULL);
	map_free(job->map);
	free(job);
	s->publish_job = NULL;
}

void service_publish_set_dir(struct service *s, int dirfd)
{
	struct stat dir, tracing;

	s->publish_fd = dirfd;
	if (dirfd >= 0 && fstat(dirfd, &dir) == 0 && stat(tracing_dir(), &tracing) == 0 &&
	    dir.st_dev == tracing.st_dev && dir.st_ino == tracing.st_ino)
		s->publish_fd = -1;
	/* others may not list: no copy an earlier run left for everyone stays
	 * until this one's is written */
	if (s->publish_fd >= 0 && s->publish_private) {
		unlinkat(s->publish_fd, PUBLISH_STAMP, 0);
		unlinkat(s->publish_fd, PUBLISH_LIST, 0);
	}
}

void service_publish_set_private(struct service *s, bool others_denied)
{
	s->publish_private = others_denied;
}

void service_publish_set_group(struct service *s, gid_t gid)
{
	s->publish_gid = gid;
}

const char *service_published_path(const struct service *s)
{
	static char path[4096 + sizeof(PUBLISH_LIST)];

	if (!s->published_generation)
		return "";
	snprintf(path, sizeof(path), "%s/%s", s->state_dir, PUBLISH_LIST);
	return path;
}
