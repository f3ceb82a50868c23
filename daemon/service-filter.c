/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FILTER: resolve, fence, write, verify, and on a failure put the old
 * filter back on a map brought up to date (see service-internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "resolve.h"
#include "service.h"
#include "service-internal.h"
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
	const char *mod = map_module(m, index);
	char *text = NULL;

	if (asprintf(&text, "%.*s%s%s%s", (int)map_name_len(m, index), map_name(m, index),
		     mod ? " [" : "", mod ? mod : "", mod ? "]" : "") < 0)
		return NULL;
	return text;
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
	*out = service_merge_sets(NULL, 0, v, n, NULL, 0, n_out);
	free(v);
	return *out ? 0 : -ENOMEM;
}

/*
 * Put back the filter a failed write found, on a map brought up to date
 * first: if a module came or went, the old indices mean other functions.
 * What ftidx last wrote (@wr->previous, which tells duplicate names
 * apart) belongs to the old map and goes with it, so it is carried over
 * as lines. A restore that does not read back right is tried once more.
 */
static void restore(struct service *s, const struct writer_request *wr, struct writer_result *wres)
{
	struct writer_request again = *wr;
	struct line_refs previous = { 0 };
	_cleanup_free_ uint32_t *now = NULL;
	int r;

	again.previous = NULL;
	again.n_previous = 0;
	/* Without it (out of memory), duplicates are put back approximately. */
	if (line_refs_capture(&previous, s->map, wr->previous, wr->n_previous) < 0)
		line_refs_deinit(&previous);
	r = -EIO;
	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		r = service_refresh(s, true);
		if (r == 0 && previous.n) {
			free(now);
			now = NULL;
			r = line_refs_find(&previous, s->map, &now, &again.n_previous);
			again.previous = now;
		}
		if (r == 0)
			r = writer_restore(s->io, s->map, &again, wres);
	}
	line_refs_deinit(&previous);
	wres->restored = r == 0;
	if (r < 0) {
		log_error("restoring %s after a failed write failed: %s",
			  writer_file_name(wr->file), strerror(-r));
		wres->why = "the write failed, and restoring the previous filter failed too";
	}
}

static int check_instance(const struct proto_request *req, const char **why)
{
	int r;

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
	r = tracing_create_instance(req->instance);
	if (r < 0 && r != -EEXIST) {
		*why = "cannot create the instance";
		return r;
	}
	return 0;
}

int service_reply_filter(struct service *s, const struct proto_request *req, uint32_t id,
			struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_FILTER, .generation = s->generation };
	struct resolution res = { 0 };
	struct writer_result wres = { 0 };
	struct writer_request wreq;
	struct written *prev;
	uint64_t t0, t_resolve;
	const char *why = "";
	char msg[320] = "";
	int r;

	if (req->generation && req->generation != s->generation) {
		snprintf(msg, sizeof(msg),
			 "stale: the tokens were resolved on map generation %llu, the map is now "
			 "generation %llu; resolve again",
			 (unsigned long long)req->generation, (unsigned long long)s->generation);
		return service_reply_plain(s, FTIDX_MSG_FILTER, id, ESTALE, msg, out);
	}
	r = check_instance(req, &why);
	if (r < 0)
		return service_reply_plain(s, FTIDX_MSG_FILTER, id, -r, why, out);
	for (uint32_t i = 0; i < req->n_tokens; i++) {
		if (req->op == FTIDX_OP_REMOVE && req->tokens[i][0] == '!')
			return service_reply_plain(s, FTIDX_MSG_FILTER, id, EINVAL,
						   "remove takes patterns without '!'", out);
		/* The graph files take patterns as written, and do not parse :mod:. */
		if ((req->file == FTIDX_FILE_GRAPH || req->file == FTIDX_FILE_GRAPH_NOTRACE) &&
		    strchr(req->tokens[i], ':'))
			return service_reply_plain(s, FTIDX_MSG_FILTER, id, EINVAL,
						   "the graph files do not understand FUNC:mod:MODULE",
						   out);
	}

	/*
	 * Resolve, check that the map is still the kernel's right before the
	 * write, write. If the map changed meanwhile, or the filter read back
	 * is not what was written (the writer has put the old one back) and a
	 * re-read shows the map changed, resolve and write once more, unless
	 * the client pinned a generation: then it must resolve again itself.
	 */
	for (int attempt = 0;; attempt++) {
		uint64_t generation = s->generation;

		t0 = now_ns();
		r = service_resolve_request(s, req, &res, &rep);
		t_resolve = now_ns() - t0;
		if (r < 0)
			goto done;
		if (res.n_failed) {
			snprintf(msg, sizeof(msg), "%zu of %zu patterns refused; nothing was written",
				 res.n_failed, res.n_items);
			rep.message = msg;
			r = proto_encode_reply(out, id, &rep);
			goto done;
		}
		r = service_fence(s);
		if (r < 0) {
			rep.status = -r;
			rep.message = "cannot read the kernel's function list";
			r = proto_encode_reply(out, id, &rep);
			goto done;
		}
		if (s->generation == generation) {
			prev = written_find(s, req->instance, req->file);
			wreq = (struct writer_request){
				.instance = req->instance[0] ? req->instance : NULL,
				.file = req->file,
				.op = req->op,
				.previous = prev ? prev->indices : NULL,
				.n_previous = prev ? prev->n : 0,
				.tokens = req->tokens,
				.n_tokens = req->n_tokens,
			};
			writer_result_deinit(&wres);
			r = writer_apply(s->io, s->map, &wreq, &res, &wres);
			if (r < 0 && wres.before)
				restore(s, &wreq, &wres);
			log_debug("filter %s: %u tokens; resolve %.1f ms, read %.1f ms, write %.1f "
				  "ms, verify %.1f ms (reading back %.1f ms)%s",
				  writer_file_name(req->file), wres.written, t_resolve / 1e6,
				  wres.read_ns / 1e6, wres.write_ns / 1e6, wres.verify_ns / 1e6,
				  wres.readback_ns / 1e6,
				  wres.count_only ? "; the kernel's read-back was only good for "
						    "the count"
						  : "");
			/* restore() re-read the map: did a module come or go? */
			if (r != -EIO || attempt > 0 || s->generation == generation)
				break;
			log_info("the filter read back did not match and the kernel's function "
				 "list has changed: generation %llu",
				 (unsigned long long)s->generation);
		}
		/* The map changed under this request. */
		if (req->generation || attempt > 0) {
			rep.status = ESTALE;
			rep.generation = s->generation;
			rep.written = 0;
			snprintf(msg, sizeof(msg),
				 "stale: a module came or went while the request was handled; "
				 "the map is now generation %llu; resolve again",
				 (unsigned long long)s->generation);
			rep.message = msg;
			r = proto_encode_reply(out, id, &rep);
			goto done;
		}
		service_free_items(&rep);
		resolution_deinit(&res);
		rep = (struct proto_reply){ .type = FTIDX_MSG_FILTER, .generation = s->generation };
	}
	rep.written = wres.written;
	if (r < 0) {
		rep.status = -r;
		snprintf(msg, sizeof(msg), "%s%s%s%s: %s (%s)%s%s", req->instance[0] ? "instances/" : "",
			 req->instance, req->instance[0] ? "/" : "", writer_file_name(req->file),
			 wres.why ? wres.why : "write failed", strerror(-r),
			 wres.restored ? "; the previous filter was put back" : "",
			 wres.approximate ? " (duplicate names made that approximate)" : "");
	} else {
		written_record(s, req->instance, req->file, req->op, &res);
	}
	rep.message = msg;
	r = proto_encode_reply(out, id, &rep);
done:
	service_free_items(&rep);
	resolution_deinit(&res);
	writer_result_deinit(&wres);
	return r;
}
