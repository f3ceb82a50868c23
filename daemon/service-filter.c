/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FILTER and CHANGE: resolve, fence, write, verify, and on a failure put
 * the old filters back on a map brought up to date (see
 * service-filter.h). A CHANGE writes several files of one instance, all
 * or none: the first failure puts back every file written before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "growbuf.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "resolve.h"
#include "service-audit.h"
#include "service-empty.h"
#include "service-filter.h"
#include "service-instances.h"
#include "service-jobs.h"
#include "service-map.h"
#include "service-recover.h"
#include "service-reply.h"
#include "service-state.h"
#include "sets.h"
#include "service-written.h"
#include "tracing.h"
#include "writer.h"

/*
 * Lines of the map in a form that outlives it: each line's text and its
 * rank among the lines of that text, which loads and unloads of other
 * modules do not change.
 */
struct line_refs {
	char **text;
	size_t *rank;
	size_t n;
};

static void line_refs_deinit(struct line_refs *refs)
{
	for (size_t i = 0; refs->text && i < refs->n; i++)
		free(refs->text[i]);
	free(refs->text);
	free(refs->rank);
	*refs = (struct line_refs){ 0 };
}

static char *line_text(const struct map *m, uint32_t index)
{
	struct growbuf t = { 0 };

	map_append_line(&t, m, index);
	growbuf_append(&t, "", 1);
	if (t.failed) {
		growbuf_deinit(&t);
		return NULL;
	}
	return (char *)t.data;
}

static int line_refs_capture(struct line_refs *refs, const struct map *m, const uint32_t *v,
			     size_t n)
{
	*refs = (struct line_refs){ calloc(n ? n : 1, sizeof(char *)),
				    calloc(n ? n : 1, sizeof(size_t)), n };
	if (!refs->text || !refs->rank)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ uint32_t *same = NULL;
		ssize_t k;

		refs->text[i] = line_text(m, v[i]);
		if (!refs->text[i])
			return -ENOMEM;
		k = readback_line_indices(m, refs->text[i], strlen(refs->text[i]), &same);
		if (k < 0)
			return (int)k;
		for (ssize_t j = 0; j < k; j++)
			if (same[j] == v[i])
				refs->rank[i] = (size_t)j;
	}
	return 0;
}

/* @refs as indices of map @m, ascending; lines it no longer has are left
 * out. */
static int line_refs_find(const struct line_refs *refs, const struct map *m, uint32_t **out,
			  size_t *n_out)
{
	uint32_t *v = malloc(sizeof(*v) * (refs->n ? refs->n : 1));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < refs->n; i++) {
		_cleanup_free_ uint32_t *same = NULL;
		ssize_t k = readback_line_indices(m, refs->text[i], strlen(refs->text[i]), &same);

		if (k < 0) {
			free(v);
			return (int)k;
		}
		if ((size_t)k > refs->rank[i])
			v[n++] = same[refs->rank[i]];
	}
	*out = sets_merge(NULL, 0, v, n, NULL, 0, n_out);
	free(v);
	return *out ? 0 : -ENOMEM;
}

/*
 * Putting back what a failed change found. The old indices belong to a
 * map that may not be the kernel's any more (the failure is most often a
 * module coming or going mid-write), so the map is read anew first, and
 * that read takes seconds on a machine with many modules: it is made off
 * the loop (service-map.c), and the restore waits for it here, owned by
 * the service rather than by the request, so that it happens even if the
 * client goes away meanwhile. Other writes wait for it; reads do not.
 * What ftidx last wrote to each file (@wreq.previous, which tells
 * duplicate names apart) belongs to the old map and goes with it, so it
 * is carried over as lines. A restore that does not read back right is
 * tried once more, on a map read anew again.
 */
#define RESTORE_ATTEMPTS 2
/* How long a finished restore waits for its request to take its outcome
 * before it is dropped (the client went away). */
#define RESTORE_KEPT_NS (60ull * 1000000000)

struct pending_restore {
	uint64_t ticket;
	char *instance;
	size_t n; /* files written, to put back */
	struct writer_request wreq[FTIDX_CHANGES_MAX];
	struct writer_result wres[FTIDX_CHANGES_MAX]; /* the change's, handed over */
	struct line_refs previous[FTIDX_CHANGES_MAX];
	bool done[FTIDX_CHANGES_MAX];
	int attempts;
	bool finished;
	uint64_t finished_ns;
	struct pending_restore *next;
};

static struct pending_restore *restore_free(struct pending_restore *p)
{
	for (size_t k = 0; k < FTIDX_CHANGES_MAX; k++) {
		writer_result_deinit(&p->wres[k]);
		line_refs_deinit(&p->previous[k]);
	}
	free(p->instance);
	free(p);
	return NULL;
}

/* One attempt at each file not put back yet, on the current map. */
static void restore_attempt(struct service *s, struct pending_restore *p)
{
	for (size_t k = 0; k < p->n; k++) {
		struct writer_request again = p->wreq[k];
		_cleanup_free_ uint32_t *now = NULL;
		int r = 0;

		if (p->done[k] || !p->wres[k].before)
			continue;
		/* Without them (out of memory), duplicates are put back
		 * approximately. */
		if (p->previous[k].n) {
			r = line_refs_find(&p->previous[k], s->map, &now, &again.n_previous);
			again.previous = now;
		}
		if (r == 0)
			r = writer_restore(s->io, s->map, &again, &p->wres[k]);
		p->done[k] = r == 0;
		if (r < 0 && p->attempts + 1 >= RESTORE_ATTEMPTS)
			log_error("restoring %s after a failed write failed: %s",
				  writer_file_name(p->wreq[k].file), strerror(-r));
	}
	p->attempts++;
}

/* Every file put back, or given up on: the intent is spent. */
static void restore_finish(struct service *s, struct pending_restore *p)
{
	for (size_t k = 0; k < p->n; k++) {
		p->wres[k].restored = p->done[k] || !p->wres[k].before;
		if (!p->wres[k].restored)
			p->wres[k].why = "the write failed, and restoring the previous filter failed too";
		line_refs_deinit(&p->previous[k]);
	}
	service_recover_end(s);
	/* ftidx's own writes */
	service_written_take_drift(s, false);
	p->finished = true;
	p->finished_ns = now_ns();
}

/*
 * Go on with the restore under way, if there is one and the map is the
 * kernel's; drop finished ones whose request never came for them.
 */
static void restore_progress(struct service *s)
{
	struct pending_restore **at = &s->restores;

	while (*at) {
		struct pending_restore *p = *at;
		int r;

		if (p->finished) {
			if (now_ns() - p->finished_ns > RESTORE_KEPT_NS) {
				*at = p->next;
				restore_free(p);
			} else {
				at = &p->next;
			}
			continue;
		}
		r = service_map_catch_up(s);
		if (r == SERVICE_BLOCKED)
			return;
		if (r == 0)
			restore_attempt(s, p);
		if (r < 0 || p->attempts >= RESTORE_ATTEMPTS)
			restore_finish(s, p);
		else {
			bool all_done = true;

			for (size_t k = 0; k < p->n; k++)
				all_done &= p->done[k] || !p->wres[k].before;
			if (all_done)
				restore_finish(s, p);
			else if (service_map_invalidate(s) < 0)
				restore_finish(s, p);
		}
		at = &p->next;
	}
}

/* Whether a restore is under way: no other write may begin meanwhile. */
static bool restore_under_way(const struct service *s)
{
	for (const struct pending_restore *p = s->restores; p; p = p->next)
		if (!p->finished)
			return true;
	return false;
}

void service_filter_complete(struct service *s)
{
	restore_progress(s);
}

void service_filter_free_all(struct service *s)
{
	while (s->restores) {
		struct pending_restore *p = s->restores;

		s->restores = p->next;
		restore_free(p);
	}
}

/*
 * The first @n files of @wreq and @wres failed to be written (or one
 * failed and the rest were written before it): hand them to a restore,
 * which reads the map anew off the loop. The results are moved out of
 * @wres. Returns the restore's ticket, or 0 without memory (then nothing
 * is put back, and the reply says so).
 */
static uint64_t restore_begin(struct service *s, const struct writer_request *wreq,
			      struct writer_result *wres, size_t n)
{
	struct pending_restore *p = calloc(1, sizeof(*p));

	if (!p || !(p->instance = strdup(wreq[0].instance ? wreq[0].instance : ""))) {
		free(p);
		return 0;
	}
	p->n = n;
	for (size_t k = 0; k < n; k++) {
		p->wreq[k] = (struct writer_request){
			.instance = wreq[k].instance ? p->instance : NULL,
			.file = wreq[k].file,
			.op = wreq[k].op,
		};
		p->wres[k] = wres[k];
		wres[k] = (struct writer_result){ 0 };
		if (line_refs_capture(&p->previous[k], s->map, wreq[k].previous,
				      wreq[k].n_previous) < 0)
			line_refs_deinit(&p->previous[k]);
	}
	p->ticket = ++s->restore_tickets;
	p->next = s->restores;
	s->restores = p;
	/* the old map may mean other functions now: read it anew, then put
	 * back (restore_progress(), as soon as it is done) */
	if (service_map_invalidate(s) < 0)
		restore_progress(s);
	return p->ticket;
}

/* The outcome of the restore of @ticket into @wres, once it is finished:
 * 0, or SERVICE_BLOCKED while it is not, or -ENOENT if it is gone. */
static int restore_collect(struct service *s, uint64_t ticket, struct writer_result *wres)
{
	restore_progress(s);
	for (struct pending_restore **at = &s->restores; *at; at = &(*at)->next) {
		struct pending_restore *p = *at;

		if (p->ticket != ticket)
			continue;
		if (!p->finished)
			return SERVICE_BLOCKED;
		for (size_t k = 0; k < p->n; k++) {
			wres[k] = p->wres[k];
			p->wres[k] = (struct writer_result){ 0 };
		}
		*at = p->next;
		restore_free(p);
		return 0;
	}
	return -ENOENT;
}

/* Whether the request's instance may be written: 0, with *@create when
 * it must be made first (only once the request will be written, so that a
 * refused one leaves nothing behind), or -errno with *@why. */
static int check_instance(const struct proto_request *req, bool *create, const char **why)
{
	*create = false;
	if (!req->instance[0])
		return 0;
	if (!proto_instance_name_valid(req->instance, why))
		return -EINVAL;
	if (tracing_instance_exists(req->instance))
		return 0;
	if (!(req->flags & FTIDX_FILTER_CREATE_INSTANCE)) {
		*why = "no such instance (ask for it to be created)";
		return -ENOENT;
	}
	*create = true;
	return 0;
}

/* Make the request's instance, if it is still missing; 0 or -errno. */
static int create_instance(struct service *s, struct service_job *job)
{
	int r;

	if (!job->one.instance[0] || tracing_instance_exists(job->one.instance))
		return 0;
	r = tracing_create_instance(job->one.instance);
	if (r == -EEXIST)
		return 0;
	if (r == 0) {
		job->created = true;
		service_instances_created(s, job->one.instance);
	}
	return r;
}

/* What the kernel would take badly, refused before anything is written. */
static const char *check_tokens(const struct proto_request *req)
{
	for (uint32_t k = 0; k < req->n_changes; k++) {
		const struct proto_change *ch = &req->changes[k];

		for (uint32_t i = ch->first_token; i < ch->first_token + ch->n_tokens; i++) {
			if (ch->op == FTIDX_OP_REMOVE && req->tokens[i][0] == '!')
				return "remove takes patterns without '!'";
			/* The graph files take patterns as written, and do not parse :mod:. */
			if ((ch->file == FTIDX_FILE_GRAPH || ch->file == FTIDX_FILE_GRAPH_NOTRACE) &&
			    strchr(req->tokens[i], ':'))
				return "the graph files do not understand FUNC:mod:MODULE";
		}
	}
	return NULL;
}

/* One request's files: resolved, written, and what each write did. */
struct change_run {
	size_t n;
	struct resolution *res; /* the job's, one per file */
	struct writer_request wreq[FTIDX_CHANGES_MAX];
	struct writer_result wres[FTIDX_CHANGES_MAX];
	/* what each file held, known or read before anything was written */
	char *befores[FTIDX_CHANGES_MAX];
	bool read_before[FTIDX_CHANGES_MAX];
	uint64_t read_ns[FTIDX_CHANGES_MAX];
	size_t failed_at; /* the file whose write failed, if one did */
	bool wrote;       /* a file was opened for writing */
	bool emptied;     /* refused: file @failed_at would be left empty */
	uint64_t restore; /* the ticket of the restore it waits for, or 0 */
};

static void change_run_reset(struct change_run *run)
{
	for (size_t k = 0; k < FTIDX_CHANGES_MAX; k++) {
		writer_result_deinit(&run->wres[k]);
		run->wres[k] = (struct writer_result){ 0 };
		free(run->befores[k]);
		run->befores[k] = NULL;
	}
}

/* What each file of @run holds: ftidx's record of it, when that can be
 * trusted, else read. 0, or -errno with the file that failed. */
static int read_befores(struct service *s, const struct proto_request *req, struct change_run *run)
{
	for (size_t k = 0; k < run->n; k++) {
		struct written *prev = service_written_find(s, req->instance, req->changes[k].file);
		uint64_t t0 = now_ns();
		size_t len;
		int r;

		run->befores[k] = s->verify_full ? NULL : service_written_known_text(s, prev);
		run->read_before[k] = !run->befores[k];
		r = !run->befores[k] ? s->io->read(s->io->ctx, req->instance[0] ? req->instance : NULL,
						  writer_file_name(req->changes[k].file),
						  &run->befores[k], &len)
				     : 0;
		run->read_ns[k] = now_ns() - t0;
		if (r < 0) {
			run->wres[k].why = "cannot read the filter";
			run->failed_at = k;
			return r;
		}
	}
	return 0;
}

/* An ADD or REMOVE that would leave a traced file empty, found once what
 * each file holds is known: -ENODATA, nothing written. (A SET that
 * selects nothing is refused before: refused().) */
static int refuse_emptying(struct service *s, const struct proto_request *req,
			   struct change_run *run)
{
	for (size_t k = 0; k < run->n; k++) {
		const struct proto_change *ch = &req->changes[k];

		if (ch->op == FTIDX_OP_SET ||
		    !service_leaves_empty(s, req->instance, ch->file, ch->op, &run->res[k],
					  run->befores[k]))
			continue;
		run->wres[k].why = service_empty_why(ch->file);
		run->failed_at = k;
		run->emptied = true;
		return -ENODATA;
	}
	return 0;
}

/*
 * Write file @k of @run. Every token was taken, on a map fenced before
 * the write: if the fence holds after it too, the filter is what was
 * asked for. Else it is read back, as --verify=full always does.
 * 0 or -errno.
 */
static int write_one(struct service *s, const struct proto_request *req, struct change_run *run,
		     size_t k)
{
	const struct proto_change *ch = &req->changes[k];
	struct written *prev = service_written_find(s, req->instance, ch->file);
	struct writer_result *wres = &run->wres[k];
	bool fenced = false;
	uint64_t t0;
	int r;

	run->wreq[k] = (struct writer_request){
		.instance = req->instance[0] ? req->instance : NULL,
		.file = ch->file,
		.op = ch->op,
		.previous = prev ? prev->indices : NULL,
		.n_previous = prev ? prev->n : 0,
		.tokens = req->tokens + ch->first_token,
		.n_tokens = ch->n_tokens,
		.keep_before = run->n > 1,
		.known_before = run->befores[k],
		.verify_later = !s->verify_full,
		.allow_empty = req->flags & FTIDX_FILTER_ALLOW_EMPTY,
	};
	writer_result_deinit(wres);
	r = writer_apply(s->io, s->map, &run->wreq[k], &run->res[k], wres);
	wres->read_ns = run->read_ns[k];
	t0 = now_ns();
	if (r == 0 && !s->verify_full)
		fenced = !s->io->reads_names || service_map_fence_holds(s);
	wres->verify_ns = now_ns() - t0;
	if (r == 0 && !s->verify_full && !fenced && s->io->reads_names)
		r = writer_verify(s->io, s->map, &run->wreq[k], &run->res[k], wres);
	log_debug("filter %s: %u tokens; %s %.1f ms, write %.1f ms, %s %.1f ms%s",
		  writer_file_name(ch->file), wres->written,
		  run->read_before[k] ? "read" : "known from the record", run->read_ns[k] / 1e6,
		  wres->write_ns / 1e6, fenced ? "fenced" : "read back", wres->verify_ns / 1e6,
		  wres->count_only ? "; the kernel's read-back was only good for the count" : "");
	return r;
}

/*
 * Write each file of @run in turn. If one fails, it and every file before
 * it are put back: all of the change or none of it. What each file holds
 * is known or read first, for all of them, so that the intent record
 * (crash safety, service-recover.c) has it before anything is written.
 * 0 or -errno.
 */
static int write_files(struct service *s, const struct proto_request *req, struct change_run *run)
{
	uint16_t files[FTIDX_CHANGES_MAX], ops[FTIDX_CHANGES_MAX];
	size_t k = 0;
	uint64_t t0;
	int r;

	/* what others wrote since ftidx last did */
	service_written_take_drift(s, true);
	service_audit_note_write(s);
	r = read_befores(s, req, run);
	if (r == 0 && !(req->flags & FTIDX_FILTER_ALLOW_EMPTY))
		r = refuse_emptying(s, req, run);
	if (r == 0) {
		for (k = 0; k < run->n; k++) {
			files[k] = req->changes[k].file;
			ops[k] = req->changes[k].op;
		}
		t0 = now_ns();
		/* a failure is said once; the write goes on, without crash
		 * safety, rather than not at all */
		if (service_recover_begin(s, req->instance, run->n, files, ops, run->befores,
					  run->res) < 0)
			log_debug("writing without an intent record");
		else
			log_debug("intent recorded in %.1f ms", (now_ns() - t0) / 1e6);
		run->wrote = true;
		for (k = 0; k < run->n && r == 0; k++)
			r = write_one(s, req, run, k);
		run->failed_at = r < 0 ? k - 1 : k;
	}
	/* ftidx's own writes, one close each, taken before a restore adds
	 * its own (restore_finish() takes those) */
	service_written_take_drift(s, false);
	if (r < 0 && run->wrote)
		run->restore = restore_begin(s, run->wreq, run->wres, k);
	/* proven: the intent is spent (put back: once that is done) */
	if (run->wrote && !run->restore)
		service_recover_end(s);
	return r;
}

static int reply_stale(struct service *s, uint16_t type, uint32_t id, bool during,
		       uint64_t pinned, struct proto_buf *out)
{
	char msg[256];

	if (during)
		snprintf(msg, sizeof(msg),
			 "stale: a module came or went while the request was handled; the map is "
			 "now generation %llu; resolve again",
			 (unsigned long long)s->generation);
	else
		snprintf(msg, sizeof(msg),
			 "stale: the tokens were resolved on map generation %llu, the map is now "
			 "generation %llu; resolve again",
			 (unsigned long long)pinned, (unsigned long long)s->generation);
	return service_reply_plain(s, type, id, ESTALE, msg, out);
}

/* The reply's sets: one file's in the FILTER layout, or each file's. */
static void reply_sets(struct proto_reply *rep, const struct proto_request *req,
		       const struct change_run *run, struct proto_change_result *results)
{
	if (req->type == FTIDX_MSG_FILTER) {
		rep->written = run->wres[0].written;
		return;
	}
	rep->enable = rep->disable = NULL;
	rep->n_enable = rep->n_disable = 0;
	for (size_t k = 0; k < run->n; k++) {
		results[k] = (struct proto_change_result){
			.op = req->changes[k].op,
			.file = req->changes[k].file,
			.written = run->wres[k].written,
			.enable = run->res[k].enable,
			.n_enable = (uint32_t)run->res[k].n_enable,
			.disable = run->res[k].disable,
			.n_disable = (uint32_t)run->res[k].n_disable,
		};
		rep->written += run->wres[k].written;
	}
	rep->changes = results;
	rep->n_changes = (uint32_t)run->n;
}

/* The reply to a change whose files were written, or whose write failed
 * (@r) and was put back. */
/* What file @k's change did, in words for the log, appended to @job's
 * outcome: "set_ftrace_filter 17 functions (+16 -0)". */
static void note_outcome(struct service_job *job, uint16_t file, const struct proto_file_count *c)
{
	size_t at = strlen(job->outcome);
	char n[16];

	if (c->after == FTIDX_COUNT_UNKNOWN)
		snprintf(n, sizeof(n), "?");
	else
		snprintf(n, sizeof(n), "%u", c->after);
	snprintf(job->outcome + at, sizeof(job->outcome) - at, "%s%s holds %s function%s",
		 at ? ", " : "", writer_file_name(file), n, c->after == 1 ? "" : "s");
	at = strlen(job->outcome);
	if (c->added != FTIDX_COUNT_UNKNOWN)
		snprintf(job->outcome + at, sizeof(job->outcome) - at, " (%u added, %u dropped)",
			 c->added, c->dropped);
}

static int reply_written(struct service *s, struct service_job *job, struct change_run *run,
			 int r, struct proto_reply *rep, struct proto_buf *out)
{
	const struct proto_request *req = &job->one;
	struct proto_change_result results[FTIDX_CHANGES_MAX];
	char msg[320] = "";

	reply_sets(rep, req, run, results);
	if (r < 0) {
		const struct writer_result *failed = &run->wres[run->failed_at];
		bool all_back = true;

		for (size_t k = 0; k <= run->failed_at; k++)
			all_back &= run->wres[k].restored;
		rep->status = -r;
		if (run->emptied)
			snprintf(msg, sizeof(msg), "%s%s%s%s: %s; nothing was written",
				 req->instance[0] ? "instances/" : "", req->instance,
				 req->instance[0] ? "/" : "",
				 writer_file_name(req->changes[run->failed_at].file), failed->why);
		else
		snprintf(msg, sizeof(msg), "%s%s%s%s: %s (%s)%s%s",
			 req->instance[0] ? "instances/" : "", req->instance,
			 req->instance[0] ? "/" : "", writer_file_name(req->changes[run->failed_at].file),
			 failed->why ? failed->why : "write failed", strerror(-r),
			 !run->wrote    ? "; nothing was written"
			 : !all_back    ? "; putting the previous filters back failed"
			 : run->n > 1   ? "; every file of the change was put back as it was"
					: "; the previous filter was put back",
			 failed->approximate ? " (duplicate names made that approximate)" : "");
	} else {
		/* each file's counts, in the order of the change (version 4) */
		rep->n_file_counts = (uint32_t)run->n;
		for (size_t k = 0; k < run->n; k++)
			if (service_written_record(s, req->instance, req->changes[k].file,
						   req->changes[k].op,
						   run->read_before[k] ? run->befores[k] : NULL,
						   &run->res[k], &rep->file_counts[k]) < 0)
				log_warn("out of memory: what %s holds is not recorded; the next "
					 "write to it reads it first",
					 writer_file_name(req->changes[k].file));
		job->outcome[0] = '\0';
		for (size_t k = 0; k < run->n; k++)
			note_outcome(job, req->changes[k].file, &rep->file_counts[k]);
		/* read back later, once writes are quiet */
		service_audit_soon(s);
	}
	rep->message = msg;
	return proto_encode_reply(out, job->id, rep);
}

/* How often a write is resolved again because the map moved under it
 * before it is refused as stale: modules that keep coming (a boot's
 * storm) move it once per rebuild. */
#define WRITE_ATTEMPTS 16

/* The map changed under @job: resolve again on the new one (SERVICE_MORE),
 * or refuse the request as stale when its client pinned a generation or it
 * has been tried on WRITE_ATTEMPTS maps already. */
static int again_or_stale(struct service *s, struct service_job *job, struct proto_buf *out)
{
	if (job->one.generation || job->attempt >= WRITE_ATTEMPTS)
		return reply_stale(s, job->one.type, job->id, true, 0, out);
	job->attempt++;
	service_job_pin(s, job, job->one.changes, job->n_parts);
	return SERVICE_MORE;
}

/*
 * The tokens are resolved: refuse what cannot be written; else check that
 * the map is still the kernel's right before the write, and write. If the
 * map changed meanwhile, or a filter read back is not what was written
 * (the writer has put the old ones back) and a re-read shows the map
 * changed, the request is resolved and written once more on the new map.
 */
/* Why the resolved @job cannot be written at all, in @msg and @rep's
 * status, or false: a pattern refused, or a SET that selects nothing. */
static bool refused(struct service *s, const struct service_job *job, struct proto_reply *rep,
		    char *msg, size_t size)
{
	const struct proto_request *req = &job->one;

	if (rep->n_failed) {
		snprintf(msg, size, "%u of %u patterns refused; nothing was written", rep->n_failed,
			 rep->n_items);
		return true;
	}
	for (size_t k = 0; k < job->n_parts && !(req->flags & FTIDX_FILTER_ALLOW_EMPTY); k++)
		if (req->changes[k].op == FTIDX_OP_SET &&
		    service_leaves_empty(s, req->instance, req->changes[k].file, FTIDX_OP_SET,
					 &job->res[k], NULL)) {
			rep->status = ENODATA;
			snprintf(msg, size, "%s: the patterns select no function: %s; nothing was written",
				 writer_file_name(req->changes[k].file),
				 service_empty_why(req->changes[k].file));
			return true;
		}
	return false;
}

/* A write that failed is being put back (restore_begin()): its outcome
 * into @run once that is done, and the write's error; or SERVICE_BLOCKED. */
static int restore_outcome(struct service *s, struct service_job *job, struct change_run *run)
{
	int r = restore_collect(s, job->restore_ticket, run->wres);

	if (r == SERVICE_BLOCKED)
		return r;
	job->restore_ticket = 0;
	run->wrote = true;
	run->failed_at = job->failed_at;
	return r < 0 ? -EIO : job->write_error;
}

/*
 * The change was written (@r 0), or failed and was put back: answer it.
 * The restore read the map anew: if a module came or went, the failure may
 * be the change's doing (an index past the new end, or read back as
 * another function), so it is made again on the new map.
 */
static int answer_written(struct service *s, struct service_job *job, struct change_run *run,
			  int r, struct proto_reply *rep, struct proto_buf *out)
{
	const struct proto_request *req = &job->one;

	if (r < 0 && job->attempt < WRITE_ATTEMPTS && s->generation != job->generation) {
		log_info("a write failed (%s) and the kernel's function list has changed: "
			 "generation %llu",
			 strerror(-r), (unsigned long long)s->generation);
		return again_or_stale(s, job, out);
	}
	if (r < 0 && job->created && tracing_remove_instance(req->instance) == 0)
		/* nothing of the change is left, so neither is its instance */
		service_instances_removed(s, req->instance);
	return reply_written(s, job, run, r, rep, out);
}

/* What each file of @job's change will select, on the map it is written
 * on (writer_widen()): what the reply, the record and the intent take.
 * 0 or -ENOMEM. */
static int widen_sets(struct service *s, struct service_job *job, struct proto_reply *rep)
{
	int r = 0;

	for (size_t k = 0; k < job->n_parts && r == 0; k++)
		r = writer_widen(s->map, job->one.changes[k].file, &job->res[k]);
	if (r < 0)
		return r;
	/* the reply's sets are the widened ones */
	service_job_free_items(rep);
	return service_job_fill_items(rep, job->res, job->n_parts);
}

static int write_resolved(struct service *s, struct service_job *job, struct proto_buf *out)
{
	const struct proto_request *req = &job->one;
	struct proto_reply rep = { .type = req->type, .generation = s->generation };
	struct change_run run = { .n = job->n_parts, .res = job->res };
	char msg[320] = "";
	int r;

	r = service_job_fill_items(&rep, job->res, job->n_parts);
	if (r < 0)
		goto done;
	if (job->restore_ticket) {
		r = restore_outcome(s, job, &run);
		if (r != SERVICE_BLOCKED)
			r = answer_written(s, job, &run, r, &rep, out);
		goto done;
	}
	if (refused(s, job, &rep, msg, sizeof(msg)))
		goto reply;
	/* the write waits while another write's filters are being put
	 * back, and while the map is being rebuilt */
	r = restore_under_way(s) ? SERVICE_BLOCKED : service_map_fence(s);
	if (r == SERVICE_BLOCKED)
		goto done;
	if (r < 0) {
		rep.status = -r;
		snprintf(msg, sizeof(msg), "cannot read the kernel's function list");
		goto reply;
	}
	if (s->generation != job->generation) {
		r = again_or_stale(s, job, out);
		goto done;
	}
	r = widen_sets(s, job, &rep);
	if (r == 0)
		r = create_instance(s, job);
	if (r < 0) {
		rep.status = -r;
		snprintf(msg, sizeof(msg), "%s; nothing was written",
			 r == -ENOMEM ? "out of memory" : "cannot create the instance");
		goto reply;
	}
	r = write_files(s, req, &run);
	if (run.restore) {
		/* answered once it is put back */
		job->restore_ticket = run.restore;
		job->write_error = r;
		job->failed_at = run.failed_at;
		r = SERVICE_BLOCKED;
	} else {
		r = answer_written(s, job, &run, r, &rep, out);
	}
	goto done;
reply:
	rep.message = msg;
	r = proto_encode_reply(out, job->id, &rep);
done:
	service_job_free_items(&rep);
	change_run_reset(&run);
	return r;
}

int service_filter(struct service *s, struct service_job *job, uint64_t deadline_ns,
			struct proto_buf *out)
{
	const struct proto_request *req = &job->one;
	bool create;
	const char *why = "";
	int r;

	if (job->restore_ticket)
		return write_resolved(s, job, out);
	if (!job->map) {
		/* A FILTER is a change of one file. */
		job->one = *job->req;
		if (req->type == FTIDX_MSG_FILTER) {
			job->one.changes[0] = (struct proto_change){ req->op, req->file, 0,
								    req->n_tokens };
			job->one.n_changes = 1;
		}
		if (req->generation && req->generation != s->generation)
			return reply_stale(s, req->type, job->id, false, req->generation, out);
		r = check_instance(req, &create, &why);
		if (r < 0)
			return service_reply_plain(s, req->type, job->id, -r, why, out);
		why = check_tokens(req);
		if (why)
			return service_reply_plain(s, req->type, job->id, EINVAL, why, out);
		service_job_pin(s, job, req->changes, MIN(req->n_changes, (uint32_t)FTIDX_CHANGES_MAX));
	} else if (job->generation != s->generation) {
		/* a module came or went while the tokens were being resolved */
		r = again_or_stale(s, job, out);
		if (r != SERVICE_MORE)
			return r;
	}
	r = service_job_resolve(s, job, req->flags & FTIDX_FILTER_PER_TOKEN, deadline_ns);
	if (r == -E2BIG)
		return service_reply_too_big(s, req->type, job->id, out);
	if (r != 0)
		return r;
	return write_resolved(s, job, out);
}
