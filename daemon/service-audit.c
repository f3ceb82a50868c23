/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The background audit (see service-audit.h). A write is proven by
 * its fences, without reading the filter back; reading it back anyway,
 * later, catches what no fence can: a kernel that did not do what it said,
 * a writer the inotify watch missed. The read runs on a thread of its own
 * once writes have been quiet for AUDIT_QUIET_MS, so that it never stands
 * in a request's way; its text is compared with the record on the loop
 * thread, where the map is. A write made while the read ran voids it,
 * and stops it (the kernel's read of a large filter takes long, and
 * would contend with the write on a small machine); the audit is made
 * again once writes are quiet.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "readback.h"
#include "service-audit.h"
#include "service-state.h"
#include "service-written.h"
#include "writer.h"

#define AUDIT_QUIET_MS 2000

struct audit_job {
	pthread_t thread;
	int wake_fd;             /* eventfd: the service goes, or someone waits */
	atomic_bool cancelled, done;
	atomic_bool voided;      /* a write came: what is read proves nothing */
	atomic_bool hurry;       /* someone waits for the verdict: no quiet first */
	char *instance;
	uint16_t file;
	uint64_t seq;            /* s->write_seq when the job began */
	const atomic_uint_fast64_t *last_write_ns;
	char *text;
	size_t len;
	int result;
	const struct writer_io *io;
	int completion_fd;
};

static void *audit_worker(void *ctx)
{
	struct audit_job *job = ctx;
	uint64_t one = 1;

	/* quiet first: a request that follows a write must not wait on this */
	for (;;) {
		uint64_t since = clock_ns(CLOCK_MONOTONIC) - atomic_load(job->last_write_ns);
		struct pollfd pfd = { .fd = job->wake_fd, .events = POLLIN };

		if (atomic_load(&job->cancelled))
			goto out;
		if (atomic_load(&job->hurry) || since >= (uint64_t)AUDIT_QUIET_MS * 1000000)
			break;
		(void)poll(&pfd, 1, (int)(AUDIT_QUIET_MS - since / 1000000) + 1);
	}
	if (job->io->read_until)
		job->result = job->io->read_until(job->io->ctx,
						  job->instance[0] ? job->instance : NULL,
						  writer_file_name(job->file), &job->voided,
						  &job->text, &job->len);
	else
		job->result = job->io->read(job->io->ctx, job->instance[0] ? job->instance : NULL,
					    writer_file_name(job->file), &job->text, &job->len);
out:
	atomic_store(&job->done, true);
	if (write(job->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop an audit is done: %s", strerror(errno));
	return NULL;
}

static struct audit_job *job_free(struct audit_job *job)
{
	if (!job)
		return NULL;
	if (job->wake_fd >= 0)
		close(job->wake_fd);
	free(job->instance);
	free(job->text);
	free(job);
	return NULL;
}

void service_audit_note_write(struct service *s)
{
	atomic_store(&s->last_write_ns, clock_ns(CLOCK_MONOTONIC));
	s->write_seq++;
	if (s->audit_job)
		atomic_store(&s->audit_job->voided, true);
}

void service_audit_soon(struct service *s)
{
	struct written *w = s->written;
	struct audit_job *job;

	if (s->audit_job || s->completion_fd < 0 || !s->io->reads_names)
		return;
	while (w && service_written_verdict(s, w) != AUDIT_PENDING)
		w = w->next;
	if (!w)
		return;
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	job->instance = strdup(w->instance);
	job->file = w->file;
	job->seq = s->write_seq;
	job->last_write_ns = &s->last_write_ns;
	job->io = s->io;
	job->completion_fd = s->completion_fd;
	atomic_store(&job->hurry, s->status_waiters != NULL);
	if (job->wake_fd < 0 || !job->instance ||
	    pthread_create(&job->thread, NULL, audit_worker, job) != 0) {
		job_free(job);
		return; /* the next write tries again */
	}
	s->audit_job = job;
}

static void judge(struct service *s, const struct audit_job *job)
{
	struct written *w = service_written_find(s, job->instance, job->file);
	struct resolution expected;
	const char *why = "";
	int r;

	if (!w)
		return;
	expected = (struct resolution){ .enable = w->indices, .n_enable = w->n };
	if (job->result < 0)
		r = job->result; /* the file cannot say */
	else if (writer_readback_count_only(w->file, job->len))
		r = readback_verify_count(FTIDX_OP_SET, &expected, job->text, &why);
	else
		r = readback_verify(s->map, w->n ? FTIDX_OP_SET : FTIDX_OP_CLEAR, &expected, "",
				    job->text, &why);
	s->audits++;
	if (job->result >= 0)
		filter_count_others(job->text, &w->probes, &w->module_patterns);
	w->audit = r == 0 ? FTIDX_HOLDS_YES : job->result < 0 ? FTIDX_HOLDS_UNKNOWN : FTIDX_HOLDS_NO;
	if (r < 0) {
		s->drifts++;
		log_warn("audit: %s%s%s%s does not hold what ftidx wrote (%u functions): %s",
			 w->instance[0] ? "instances/" : "", w->instance, w->instance[0] ? "/" : "",
			 writer_file_name(w->file), (unsigned)w->n,
			 job->result < 0 ? strerror(-job->result) : why);
	} else {
		log_debug("audit: %s%s%s%s holds what ftidx wrote (%u functions)",
			  w->instance[0] ? "instances/" : "", w->instance, w->instance[0] ? "/" : "",
			  writer_file_name(w->file), (unsigned)w->n);
	}
}

bool service_audit_hurry(struct service *s)
{
	uint64_t one = 1;

	service_audit_soon(s);
	if (!s->audit_job)
		return false;
	atomic_store(&s->audit_job->hurry, true);
	(void)!write(s->audit_job->wake_fd, &one, sizeof(one));
	return true;
}

void service_audit_complete(struct service *s)
{
	struct audit_job *job = s->audit_job;

	if (!job || !atomic_load(&job->done))
		return;
	pthread_join(job->thread, NULL);
	s->audit_job = NULL;
	/* a write since the job began: what it read proves nothing; a file
	 * that is not there went with its instance (removed by someone
	 * else), and its record goes with the events that say so */
	if (!atomic_load(&job->cancelled) && job->seq == s->write_seq && job->result != -ENOENT)
		judge(s, job);
	service_written_take_drift(s, true);
	job_free(job);
	/* the next pending record, if any */
	service_audit_soon(s);
}

void service_audit_shutdown(struct service *s)
{
	struct audit_job *job = s->audit_job;
	uint64_t one = 1;

	if (!job)
		return;
	atomic_store(&job->cancelled, true);
	atomic_store(&job->voided, true); /* a read under way stops too */
	(void)!write(job->wake_fd, &one, sizeof(one));
	pthread_join(job->thread, NULL);
	s->audit_job = job_free(job);
}
