/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record of what ftidx wrote to each filter file: the state it left
 * there, whether the file still holds it, and the set arithmetic that
 * record (and HITS) is made of (see service-written.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"
#include "growbuf.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "service-state.h"
#include "sets.h"
#include "service-written.h"
#include "tracing.h"
#include "writer.h"

static void record_free(struct service *s, struct written *w)
{
	drift_unwatch(s->drift, w->wd);
	free(w->instance);
	free(w->indices);
	free(w);
}

void service_written_free_all(struct service *s)
{
	while (s->written) {
		struct written *w = s->written;

		s->written = w->next;
		record_free(s, w);
	}
}

/* @w, which is on the list, goes. */
static void forget(struct service *s, struct written *w)
{
	struct written **at = &s->written;

	while (*at != w)
		at = &(*at)->next;
	*at = w->next;
	record_free(s, w);
}

/* The file of @wd went: what ftidx wrote there went with it, and a file
 * made again under that name holds nothing of it. */
static void gone(struct service *s, int wd)
{
	for (struct written *w = s->written; w; w = w->next)
		if (w->wd == wd) {
			w->wd = -1; /* the kernel ended the watch */
			forget(s, w);
			return;
		}
}

static void drifted(void *ctx, int wd, enum drift_event ev)
{
	struct service *s = ctx;

	if (ev == DRIFT_GONE) {
		gone(s, wd);
		return;
	}
	for (struct written *w = s->written; w; w = w->next)
		if (w->wd == wd) {
			/* the audit's verdict no longer stands */
			w->drifted = true;
			w->audit = AUDIT_PENDING;
		}
}

/* ftidx's own writes raise events of their own, one close per file
 * written; a file gone is gone all the same */
static void own_write(void *ctx, int wd, enum drift_event ev)
{
	struct service *s = ctx;

	if (ev == DRIFT_GONE) {
		gone(s, wd);
		return;
	}
	for (struct written *w = s->written; w && ev == DRIFT_CLOSED; w = w->next)
		if (w->wd == wd)
			w->closes++;
}

void service_written_take_drift(struct service *s, bool foreign)
{
	int r;

	for (struct written *w = s->written; w; w = w->next)
		w->closes = 0;
	r = drift_drain(s->drift, foreign ? drifted : own_write, s);
	/* another writer closed the file between ftidx's reading of events
	 * before its write and now. The kernel commits each writer's own copy
	 * of the filter at close, so the change of whichever closed first
	 * may be gone: said until ftidx writes the file again. */
	for (struct written *w = s->written; !foreign && w; w = w->next) {
		if (!w->closes)
			continue;
		w->raced = w->closes > 1;
		if (!w->raced)
			continue;
		w->drifted = true;
		w->audit = AUDIT_PENDING;
		log_warn("another writer wrote %s%s%s%s while ftidx did: the kernel keeps the filter "
			 "of the last to close, so one of the two changes may be lost",
			 w->instance[0] ? "instances/" : "", w->instance, w->instance[0] ? "/" : "",
			 writer_file_name(w->file));
	}

	/* a file without a watch may have been written by anyone, any time */
	for (struct written *w = s->written; foreign && w; w = w->next)
		if (w->wd < 0)
			w->audit = AUDIT_PENDING;

	/* lost events, or none to be had: anyone may have written */
	if (r < 0 && foreign)
		for (struct written *w = s->written; w; w = w->next) {
			w->drifted = true;
			w->audit = AUDIT_PENDING;
		}
}

char *service_written_known_text(struct service *s, const struct written *w)
{
	struct growbuf t = { 0 };

	if (!w || !w->complete || w->drifted || w->wd < 0 || !s->io->reads_names ||
	    (w->file != FTIDX_FILE_FILTER && w->file != FTIDX_FILE_NOTRACE))
		return NULL;
	for (size_t i = 0; i < w->n; i++) {
		map_append_line(&t, s->map, w->indices[i]);
		growbuf_append(&t, "\n", 1);
	}
	growbuf_append(&t, "", 1);
	if (t.failed) {
		growbuf_deinit(&t);
		return NULL;
	}
	return (char *)t.data;
}

/* The instance is gone, and what ftidx wrote there with it. */
void service_written_forget_instance(struct service *s, const char *instance)
{
	struct written **at = &s->written;

	while (*at) {
		struct written *w = *at;

		if (strcmp(w->instance, instance) != 0) {
			at = &w->next;
			continue;
		}
		*at = w->next;
		record_free(s, w);
	}
}

struct written *service_written_find(struct service *s, const char *instance, uint16_t file)
{
	for (struct written *w = s->written; w; w = w->next)
		if (w->file == file && strcmp(w->instance, instance) == 0)
			return w;
	return NULL;
}

uint16_t service_written_verdict(const struct service *s, const struct written *w)
{
	if (w->raced)
		return FTIDX_HOLDS_NO; /* whatever the file holds, a writer raced ftidx */
	return s->io->reads_names ? w->audit : FTIDX_HOLDS_UNKNOWN;
}

bool service_written_all_judged(const struct service *s)
{
	for (const struct written *w = s->written; w; w = w->next)
		if (service_written_verdict(s, w) == AUDIT_PENDING)
			return false;
	return true;
}

/* A new, empty record of @file of @instance, watched for other writers. */
static struct written *record_new(struct service *s, const char *instance, uint16_t file)
{
	struct written *w = calloc(1, sizeof(*w));
	char path[4096];

	if (!w || !(w->instance = strdup(instance))) {
		free(w);
		return NULL;
	}
	w->file = file;
	snprintf(path, sizeof(path), "%s%s%s/%s", tracing_dir(), instance[0] ? "/instances/" : "",
		 instance, writer_file_name(file));
	w->wd = drift_watch(s->drift, path);
	w->next = s->written;
	s->written = w;
	return w;
}

/*
 * What a stand-in's filter file holds: the tokens written to it since it
 * was last truncated, "N" adding line N, "!N" removing it, as the kernel
 * would apply them. -EINVAL for text that is not such tokens (a listing
 * planted there), -ENOMEM, or how many indices (ascending, in *@out).
 */
static ssize_t standin_replay(const struct map *m, const char *text, uint32_t **out)
{
	uint32_t size = map_size(m), *v;
	_cleanup_free_ bool *on = calloc((size_t)size + 1, sizeof(*on));
	size_t n = 0;

	*out = NULL;
	if (!on)
		return -ENOMEM;
	for (const char *p = text; *p;) {
		bool neg = *p == '!';
		char *end;
		unsigned long index;

		if (*p == ' ' || *p == '\n' || *p == '\t') {
			p++;
			continue;
		}
		if (neg)
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		index = strtoul(p, &end, 10);
		if (index < 1 || index > size)
			return -EINVAL;
		on[index] = !neg;
		p = end;
	}
	v = malloc(sizeof(*v) * ((size_t)size + 1));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 1; i <= size; i++)
		if (on[i])
			v[n++] = i;
	*out = v;
	return (ssize_t)n;
}

/* What a change did to a file, as far as ftidx knows: FTIDX_COUNT_UNKNOWN
 * for what it cannot tell. */
static void count_change(struct proto_file_count *count, const uint32_t *was, size_t n_was,
			 bool known_before, const uint32_t *now, size_t n_now, bool known_after)
{
	size_t added, dropped;

	sets_differ(now, n_now, was, n_was, &added, &dropped);
	*count = (struct proto_file_count){
		.before = known_before ? (uint32_t)n_was : FTIDX_COUNT_UNKNOWN,
		.after = known_after ? (uint32_t)n_now : FTIDX_COUNT_UNKNOWN,
		.added = known_before && known_after ? (uint32_t)added : FTIDX_COUNT_UNKNOWN,
		.dropped = known_before && known_after ? (uint32_t)dropped : FTIDX_COUNT_UNKNOWN,
	};
}

int service_written_record(struct service *s, const char *instance, uint16_t file, uint16_t op,
			   const char *before, const struct resolution *res,
			   struct proto_file_count *count)
{
	struct written *w = service_written_find(s, instance, file);
	bool appends = op == FTIDX_OP_ADD || op == FTIDX_OP_REMOVE;
	/* A function filter's text read before the write lists what it held,
	 * on a tracefs; a stand-in's holds the tokens written since it was
	 * truncated. */
	bool listed = before && (file == FTIDX_FILE_FILTER || file == FTIDX_FILE_NOTRACE);
	_cleanup_free_ uint32_t *was = NULL;
	const uint32_t *base = NULL;
	size_t n_base = 0, unmatched = 0, n = 0;
	uint32_t *v = NULL;
	bool known_before = false, complete;
	ssize_t replayed = -EINVAL;

	*count = (struct proto_file_count){ FTIDX_COUNT_UNKNOWN, FTIDX_COUNT_UNKNOWN,
					    FTIDX_COUNT_UNKNOWN, FTIDX_COUNT_UNKNOWN };
	if (listed && s->io->reads_names) {
		/* what the file held, as read: the record's, whatever it was */
		ssize_t k = readback_filter_indices(s->map, before, &was, &unmatched);

		if (k < 0)
			goto fail;
		base = was;
		n_base = (size_t)k;
		known_before = unmatched == 0;
	} else if (listed && (replayed = standin_replay(s->map, before, &was)) >= 0) {
		base = was;
		n_base = (size_t)replayed;
		known_before = true;
	} else if (w) {
		base = w->indices;
		n_base = w->n;
		/* ...unless someone else wrote the file since */
		known_before = w->complete && !w->drifted && !w->raced;
	}
	/* a change of a filter ftidx did not know leaves one it does not know */
	complete = !appends || known_before;
	v = sets_after(op, base, n_base, res, &n);
	if (v && !w)
		w = record_new(s, instance, file);
	if (!v || !w)
		goto fail;
	count_change(count, base, n_base, known_before, v, n, complete);
	w->complete = complete;
	/* another writer's change came with this write: read the file first
	 * next time, and let the audit say whether it still holds ftidx's */
	w->drifted = w->raced;
	w->audit = AUDIT_PENDING;
	free(w->indices);
	w->indices = v;
	w->n = n;
	return 0;
fail:
	/* what the file holds is not known any more: no record */
	free(v);
	if (w)
		forget(s, w);
	return -ENOMEM;
}
