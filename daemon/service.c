/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request handling (see service.h).
 *
 * Staleness: the map is only valid for the module state it was read in.
 * Before every request the record count in dyn_ftrace_total_info is
 * compared with the map (one small read); a difference rebuilds the map
 * and bumps the generation. A FILTER request may name the generation its
 * tokens were resolved against: if that is not the current one the
 * request is refused, since its indices may now mean other functions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/vfs.h>

#include "log.h"
#include "clock.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "resolve.h"
#include "service.h"
#include "service-internal.h"
#include "tracing.h"

#define TRACEFS_MAGIC 0x74726163
#define DEBUGFS_MAGIC 0x64626720

static void written_free_all(struct service *s)
{
	while (s->written) {
		struct written *w = s->written;

		s->written = w->next;
		free(w->instance);
		free(w->indices);
		free(w);
	}
}

static struct written *written_find(struct service *s, const char *instance, uint16_t file)
{
	for (struct written *w = s->written; w; w = w->next)
		if (w->file == file && strcmp(w->instance, instance) == 0)
			return w;
	return NULL;
}

int service_refresh(struct service *s, bool force)
{
	unsigned long count;
	struct map *m;
	int r;

	if (!force && s->map) {
		r = tracing_read_record_count(&count);
		if (r < 0)
			return r;
		if (count == map_size(s->map))
			return 0;
	}
	r = map_load(&m);
	if (r < 0)
		return r;
	if (s->map && map_same(s->map, m)) {
		map_free(m);
		return 0;
	}
	map_free(s->map);
	s->map = m;
	s->generation++;
	s->built_at_ns = clock_ns(CLOCK_REALTIME);
	/* Indices of the old map mean nothing in the new one. */
	written_free_all(s);
	return 0;
}

int service_new(struct service **out, const struct writer_io *io)
{
	struct service *s = calloc(1, sizeof(*s));
	struct statfs sf;
	struct utsname u;
	int r;

	if (!s)
		return -ENOMEM;
	s->real_tracefs = statfs(tracing_dir(), &sf) == 0 &&
			  (sf.f_type == TRACEFS_MAGIC || sf.f_type == DEBUGFS_MAGIC);
	/* Only a real tracefs reads back function names to verify against; a
	 * directory standing in for one reads back what was written. */
	s->tracing_io = writer_io_tracing;
	s->tracing_io.reads_names = s->real_tracefs;
	s->io = io ? io : &s->tracing_io;
	if (uname(&u) == 0)
		snprintf(s->release, sizeof(s->release), "%s", u.release);
	r = service_refresh(s, true);
	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

struct service *service_free(struct service *s)
{
	if (!s)
		return NULL;
	s->hits = hits_free(s->hits);
	written_free_all(s);
	map_free(s->map);
	free(s);
	return NULL;
}

uint64_t service_generation(const struct service *s)
{
	return s->generation;
}

int service_catch_up(struct service *s)
{
	/* A module changed and the map is not rebuilt yet: re-read it now. */
	int r = service_refresh(s, s->stale);

	if (r == 0)
		s->stale = false;
	return r;
}

uint32_t service_map_size(const struct service *s)
{
	return map_size(s->map);
}

void service_set_stale(struct service *s, bool stale)
{
	s->stale = stale;
}

bool service_stale(const struct service *s)
{
	return s->stale;
}

void service_set_clients(struct service *s, uint32_t n)
{
	s->clients = n;
}

/* ---- replies ----------------------------------------------------------- */

/* The text of line @index as available_filter_functions prints it, into
 * @arena (NUL-terminated), returning its offset. */
static size_t arena_line(struct proto_buf *arena, const struct map *m, uint32_t index)
{
	size_t at = arena->len;
	const char *mod = map_module(m, index);

	proto_put_bytes(arena, map_name(m, index), map_name_len(m, index));
	if (mod) {
		proto_put_bytes(arena, " [", 2);
		proto_put_bytes(arena, mod, strlen(mod));
		proto_put_bytes(arena, "]", 1);
	}
	proto_put_bytes(arena, "", 1);
	return at;
}

/* Turn arena offsets into pointers once the arena stops growing. */
static const char **arena_strings(struct proto_buf *arena, const size_t *offs, size_t n)
{
	const char **v = malloc(sizeof(*v) * (n ? n : 1));

	if (!v || arena->failed) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (const char *)arena->data + offs[i];
	return v;
}

/* Whether the filter @w still holds what ftidx wrote (FTIDX_HOLDS_*). */
static uint16_t filter_holds(struct service *s, const struct written *w)
{
	struct resolution expected = { .enable = w->indices, .n_enable = w->n };
	_cleanup_free_ char *text = NULL;
	const char *why;
	size_t len;
	int r;

	if (!s->io->reads_names)
		return FTIDX_HOLDS_UNKNOWN;
	if (s->io->read(s->io->ctx, w->instance[0] ? w->instance : NULL,
			writer_file_name(w->file), &text, &len) < 0)
		return FTIDX_HOLDS_NO;
	if (writer_readback_count_only(w->file, len))
		r = readback_verify_count(FTIDX_OP_SET, &expected, text, &why);
	else
		r = w->n ? readback_verify(s->map, FTIDX_OP_SET, &expected, "", text, &why)
			 : readback_verify(s->map, FTIDX_OP_CLEAR, &expected, "", text, &why);
	return r == 0 ? FTIDX_HOLDS_YES : FTIDX_HOLDS_NO;
}

static int reply_status(struct service *s, uint32_t id, struct proto_buf *out)
{
	struct map_stats st;
	struct proto_reply rep = { .type = FTIDX_MSG_STATUS, .generation = s->generation };
	_cleanup_free_ struct proto_filter_state *filters = NULL;
	uint32_t n = 0;

	for (struct written *w = s->written; w; w = w->next)
		n++;
	filters = calloc(n ? n : 1, sizeof(*filters));
	if (!filters)
		return -ENOMEM;
	n = 0;
	for (struct written *w = s->written; w; w = w->next)
		filters[n++] = (struct proto_filter_state){
			.instance = w->instance,
			.file = w->file,
			.holds = filter_holds(s, w),
			.functions = (uint32_t)w->n,
		};
	rep.filters = filters;
	rep.n_filters = n;

	map_get_stats(s->map, &st);
	rep.message = "";
	rep.entries = st.entries;
	rep.placeholders = st.placeholders;
	rep.modules = st.modules;
	rep.module_entries = st.module_entries;
	rep.distinct_names = st.distinct_names;
	rep.status_flags = (st.has_addresses ? FTIDX_STATUS_ADDRESSES : 0) |
			   (s->real_tracefs ? FTIDX_STATUS_TRACEFS : 0) |
			   (s->stale ? FTIDX_STATUS_STALE : 0);
	rep.clients = s->clients;
	rep.build_ns = st.build_ns;
	rep.built_at_ns = s->built_at_ns;
	rep.tracing_dir = tracing_dir();
	rep.kernel_release = s->release;
	rep.daemon_version = FTIDX_VERSION;
	return proto_encode_reply(out, id, &rep);
}

/* Per-token results of @res into @rep; @offs/@arena hold the reasons. */
static int fill_items(struct proto_reply *rep, const struct resolution *res)
{
	uint32_t k = 0;

	rep->items = calloc(res->n_items ? res->n_items : 1, sizeof(*rep->items));
	rep->reasons = calloc(res->n_failed ? res->n_failed : 1, sizeof(*rep->reasons));
	if (!rep->items || !rep->reasons)
		return -ENOMEM;
	rep->n_items = (uint32_t)res->n_items;
	rep->n_failed = (uint32_t)res->n_failed;
	for (size_t i = 0; i < res->n_items; i++) {
		rep->items[i].status = -res->items[i].status;
		rep->items[i].matches = res->items[i].matches;
		if (res->items[i].status < 0)
			rep->reasons[k++] = res->items[i].why;
	}
	rep->enable = res->enable;
	rep->n_enable = (uint32_t)res->n_enable;
	rep->disable = res->disable;
	rep->n_disable = (uint32_t)res->n_disable;
	return 0;
}

/* Resolve @req's tokens into @res and @rep's per-token results; a refused
 * token makes @rep's status EINVAL. 0 or -ENOMEM. */
static int resolve_request(struct service *s, const struct proto_request *req,
			   struct resolution *res, struct proto_reply *rep)
{
	int r = resolve_batch(s->map, req->tokens, req->n_tokens, res);

	if (r == 0)
		r = fill_items(rep, res);
	if (r == 0 && res->n_failed)
		rep->status = EINVAL;
	return r;
}

static void free_items(struct proto_reply *rep)
{
	free(rep->items);
	free(rep->reasons);
	free(rep->lines);
}

static int reply_resolve(struct service *s, const struct proto_request *req, uint32_t id,
			 struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_RESOLVE, .generation = s->generation };
	struct proto_buf arena;
	struct resolution res;
	_cleanup_free_ size_t *offs = NULL;
	char msg[96] = "";
	int r;

	proto_buf_init(&arena);
	r = resolve_request(s, req, &res, &rep);
	if (r < 0)
		goto done;
	if (res.n_failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu patterns refused", res.n_failed, res.n_items);
	} else if (req->flags & FTIDX_RESOLVE_LINES) {
		offs = malloc(sizeof(*offs) * (res.n_enable ? res.n_enable : 1));
		if (!offs) {
			r = -ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < res.n_enable; i++)
			offs[i] = arena_line(&arena, s->map, res.enable[i]);
		rep.lines = arena_strings(&arena, offs, res.n_enable);
		if (!rep.lines) {
			r = -ENOMEM;
			goto done;
		}
		rep.n_lines = (uint32_t)res.n_enable;
	}
	rep.message = msg;
	r = proto_encode_reply(out, id, &rep);
done:
	free_items(&rep);
	resolution_deinit(&res);
	proto_buf_deinit(&arena);
	return r;
}

static int reply_names(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_NAMES, .generation = s->generation };
	_cleanup_free_ size_t *offs = malloc(sizeof(*offs) * (req->n_indices ? req->n_indices : 1));
	_cleanup_free_ int32_t *status = malloc(sizeof(*status) * (req->n_indices ? req->n_indices : 1));
	struct proto_buf arena;
	uint32_t bad = 0;
	char msg[64] = "";
	int r = -ENOMEM;

	proto_buf_init(&arena);
	if (!offs || !status)
		goto done;
	for (uint32_t i = 0; i < req->n_indices; i++) {
		uint32_t index = req->indices[i];

		if (index == 0 || index > map_size(s->map)) {
			status[i] = ERANGE;
			offs[i] = arena.len;
			proto_put_bytes(&arena, "", 1);
			bad++;
		} else {
			status[i] = 0;
			offs[i] = arena_line(&arena, s->map, index);
		}
	}
	rep.lines = arena_strings(&arena, offs, req->n_indices);
	if (!rep.lines)
		goto done;
	rep.n_lines = req->n_indices;
	rep.line_status = status;
	if (bad) {
		rep.status = ERANGE;
		snprintf(msg, sizeof(msg), "%u of %u indices out of range (1-%u)", bad,
			 req->n_indices, map_size(s->map));
	}
	rep.message = msg;
	r = proto_encode_reply(out, id, &rep);
done:
	free(rep.lines);
	proto_buf_deinit(&arena);
	return r;
}

static int reply_list(struct service *s, const struct proto_request *req, uint32_t id,
		      struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_LIST, .generation = s->generation };
	uint32_t n = map_size(s->map), k = 0;
	_cleanup_free_ size_t *offs = malloc(sizeof(*offs) * (n ? n : 1));
	_cleanup_free_ uint32_t *indices = malloc(sizeof(*indices) * (n ? n : 1));
	bool by_module = req->flags & FTIDX_LIST_MODULE;
	struct proto_buf arena;
	int r = -ENOMEM;

	proto_buf_init(&arena);
	if (!offs || !indices)
		goto done;
	for (uint32_t index = 1; index <= n; index++) {
		const char *mod = map_module(s->map, index);

		if (map_is_placeholder(s->map, index) && !(req->flags & FTIDX_LIST_PLACEHOLDERS))
			continue;
		if (by_module && strcmp(mod ? mod : "", req->module) != 0)
			continue;
		indices[k] = index;
		offs[k++] = arena_line(&arena, s->map, index);
	}
	rep.lines = arena_strings(&arena, offs, k);
	if (!rep.lines)
		goto done;
	rep.indices = indices;
	rep.n_lines = k;
	rep.message = "";
	if (by_module && k == 0) {
		rep.status = ENOENT;
		rep.message = "no such module in the map";
	}
	r = proto_encode_reply(out, id, &rep);
done:
	free(rep.lines);
	proto_buf_deinit(&arena);
	return r;
}

/* ---- FILTER ------------------------------------------------------------ */

int service_reply_plain(struct service *s, uint16_t type, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	struct proto_reply rep = {
		.type = type, .status = status, .generation = s->generation, .message = why,
	};

	return proto_encode_reply(out, id, &rep);
}

uint32_t *service_merge_sets(const uint32_t *a, size_t na, const uint32_t *add, size_t nadd,
			     const uint32_t *drop, size_t ndrop, size_t *n_out)
{
	uint32_t *v = malloc(sizeof(*v) * (na + nadd + 1));
	size_t i = 0, j = 0, k = 0, n = 0;

	if (!v)
		return NULL;
	while (i < na || j < nadd) {
		uint32_t x;

		if (j >= nadd || (i < na && a[i] < add[j]))
			x = a[i++];
		else if (i >= na || add[j] < a[i])
			x = add[j++];
		else
			x = a[i++], j++;
		while (k < ndrop && drop[k] < x)
			k++;
		if (k < ndrop && drop[k] == x)
			continue;
		v[n++] = x;
	}
	*n_out = n;
	return v;
}

/* Remember the state ftidx left in a filter file. */
static void record_written(struct service *s, const char *instance, uint16_t file, uint16_t op,
			   const struct resolution *res)
{
	struct written *w = written_find(s, instance, file);
	bool keeps = w && (op == FTIDX_OP_ADD || op == FTIDX_OP_REMOVE);
	const uint32_t *prev = keeps ? w->indices : NULL;
	size_t n_prev = keeps ? w->n : 0, n = 0;
	uint32_t *v;

	switch (op) {
	case FTIDX_OP_SET:
		v = service_merge_sets(NULL, 0, res->enable, res->n_enable, NULL, 0, &n);
		break;
	case FTIDX_OP_ADD:
		v = service_merge_sets(prev, n_prev, res->enable, res->n_enable, res->disable,
				       res->n_disable, &n);
		break;
	case FTIDX_OP_REMOVE:
		v = service_merge_sets(prev, n_prev, NULL, 0, res->enable, res->n_enable, &n);
		break;
	default: /* CLEAR */
		v = service_merge_sets(NULL, 0, NULL, 0, NULL, 0, &n);
		break;
	}
	if (!v)
		return;
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w || !(w->instance = strdup(instance))) {
			free(w);
			free(v);
			return;
		}
		w->file = file;
		w->next = s->written;
		s->written = w;
	}
	free(w->indices);
	w->indices = v;
	w->n = n;
}

/*
 * Put back the filter a failed write found, on a map brought up to date
 * first: if a module came or went, the old indices mean other functions.
 * A restore that does not read back right is tried once more.
 */
static void restore(struct service *s, const struct writer_request *wr, struct writer_result *wres)
{
	int r = -EIO;

	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		r = service_refresh(s, true);
		if (r == 0)
			r = writer_restore(s->io, s->map, wr, wres);
	}
	wres->restored = r == 0;
	if (r < 0) {
		log_error("restoring %s after a failed write failed: %s", writer_file_name(wr->file),
			  strerror(-r));
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

static int reply_filter(struct service *s, const struct proto_request *req, uint32_t id,
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
		r = resolve_request(s, req, &res, &rep);
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
		r = service_refresh(s, false);
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
		free_items(&rep);
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
		record_written(s, req->instance, req->file, req->op, &res);
	}
	rep.message = msg;
	r = proto_encode_reply(out, id, &rep);
done:
	free_items(&rep);
	resolution_deinit(&res);
	writer_result_deinit(&wres);
	return r;
}

int service_handle(struct service *s, const struct proto_request *req, uint32_t id,
		   struct proto_buf *out)
{
	int r = service_catch_up(s);

	if (r < 0)
		return service_reply_plain(s, req->type, id, -r,
					   "cannot read the kernel's function list", out);
	switch (req->type) {
	case FTIDX_MSG_STATUS:
		return reply_status(s, id, out);
	case FTIDX_MSG_RESOLVE:
		return reply_resolve(s, req, id, out);
	case FTIDX_MSG_NAMES:
		return reply_names(s, req, id, out);
	case FTIDX_MSG_LIST:
		return reply_list(s, req, id, out);
	case FTIDX_MSG_FILTER:
		return reply_filter(s, req, id, out);
	}
	return service_reply_plain(s, FTIDX_MSG_ERROR, id, EBADMSG, "unknown request", out);
}

int service_reply_error(struct service *s, uint32_t id, int status, const char *why,
			struct proto_buf *out)
{
	return service_reply_plain(s, FTIDX_MSG_ERROR, id, status, why, out);
}
