/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash-safe writes (see intent.h and service-recover.h): the intent of
 * each change, recorded before its first write and removed once it is
 * proven or undone, and at start the recovery from one a crash left.
 *
 * What a file will hold is computed from what it holds: for the function
 * filters exactly, on indices (the kernel lists enabled records in record
 * order, so its text maps back to indices exactly: readback.h), then
 * printed as lines; for the graph files, which list by hash and take
 * whole names, as a count per name. At recovery each file is read and
 * compared with both: all of them as intended, and the write is finished;
 * otherwise every file that is not as it was is put back, so that a
 * change of several files ends whole or not at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "growbuf.h"
#include "intent.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "service-map.h"
#include "service-publish.h"
#include "service-recover.h"
#include "service-state.h"
#include "sets.h"
#include "tracing.h"
#include "writer.h"

static bool is_graph(uint16_t file)
{
	return file == FTIDX_FILE_GRAPH || file == FTIDX_FILE_GRAPH_NOTRACE;
}

/* A copy of @text's function lines, in order (comments and blanks
 * skipped), as strings owned by *@buf. */
static ssize_t text_lines(const char *text, char **buf, char ***out)
{
	*out = NULL;
	*buf = strdup(text);
	return *buf ? writer_split_lines(*buf, out) : -ENOMEM;
}

/* A graph file's line: the function's name alone. */
static size_t bare_len(const char *line)
{
	const char *mod = strstr(line, " [");

	return mod ? (size_t)(mod - line) : strlen(line);
}

/* Strings that outlive the map they were made from. */
struct line_set {
	char **v;
	size_t n, cap;
	struct growbuf text; /* what v points into, by offset until done */
	size_t *offs;
};

static int line_set_add(struct line_set *ls, const char *s, size_t len)
{
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 64;
		size_t *o = realloc(ls->offs, sizeof(*o) * cap);

		if (!o)
			return -ENOMEM;
		ls->offs = o;
		ls->cap = cap;
	}
	ls->offs[ls->n++] = ls->text.len;
	growbuf_append(&ls->text, s, len);
	growbuf_append(&ls->text, "", 1);
	return ls->text.failed ? -ENOMEM : 0;
}

static int line_set_done(struct line_set *ls)
{
	ls->v = malloc(sizeof(*ls->v) * (ls->n ? ls->n : 1));
	if (!ls->v || ls->text.failed)
		return -ENOMEM;
	for (size_t i = 0; i < ls->n; i++)
		ls->v[i] = (char *)ls->text.data + ls->offs[i];
	return 0;
}

static void line_set_deinit(struct line_set *ls)
{
	free(ls->v);
	free(ls->offs);
	growbuf_deinit(&ls->text);
	*ls = (struct line_set){ 0 };
}

/* A line as the kernel prints it, appended to the record being built. */
static void put_index_line(struct growbuf *t, const struct map *m, uint32_t index)
{
	map_append_line(t, m, index);
	growbuf_append_text(t, "\n", 1);
}

/* The function filter after @op with @res, from @before's text, as the
 * record's "after" section. An appending write keeps the module patterns
 * the kernel holds; an O_TRUNC one (SET, CLEAR) drops them. */
static int put_filter_after(struct growbuf *t, const struct map *m, uint16_t op,
			    const struct resolution *res, const char *before)
{
	bool keeps_patterns = op == FTIDX_OP_ADD || op == FTIDX_OP_REMOVE;
	uint32_t probes, patterns;
	_cleanup_free_ uint32_t *was = NULL, *will = NULL;
	size_t unmatched, n = 0;
	ssize_t n_was = readback_filter_indices(m, before, &was, &unmatched);

	if (n_was < 0)
		return (int)n_was;
	will = sets_after(op, was, (size_t)n_was, res, &n);
	if (!will)
		return -ENOMEM;
	filter_count_others(before, &probes, &patterns);
	intent_text_count(t, "after", n + (keeps_patterns ? patterns : 0));
	for (size_t i = 0; i < n; i++)
		put_index_line(t, m, will[i]);
	for (const char *p = before; keeps_patterns && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (filter_line_kind(p, len) == FILTER_LINE_MODULE_PATTERN)
			intent_text_line(t, p, len);
		p += len + (nl != NULL);
	}
	return 0;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every record of @index's name, as a graph file lists them once the
 * name is written (the writer writes names there). */
static int add_name_records(struct line_set *ls, const struct map *m, uint32_t index)
{
	const char *name = map_name(m, index);
	size_t len = map_name_len(m, index);
	uint32_t pos, n;
	int r = 0;

	if (!map_find_name(m, name, len, map_hash_name(name, len), &pos, &n))
		return line_set_add(ls, name, len);
	for (uint32_t i = 0; i < n && r == 0; i++)
		r = line_set_add(ls, name, len);
	return r;
}

static bool name_in(const struct map *m, const uint32_t *v, size_t n, const char *line)
{
	size_t len = bare_len(line);

	for (size_t i = 0; i < n; i++)
		if (map_name_len(m, v[i]) == len && !memcmp(map_name(m, v[i]), line, len))
			return true;
	return false;
}

/*
 * A graph file after @op, as names: what it held (less the names REMOVE
 * or a "!" takes out, and less those added, which come back whole), then
 * every record of each name added. Sorted: the comparison is by count.
 */
static int graph_after(const struct map *m, uint16_t op, const struct resolution *res,
		       char **before, size_t n_before, struct line_set *out)
{
	const uint32_t *drop = op == FTIDX_OP_REMOVE ? res->enable : res->disable;
	size_t n_drop = op == FTIDX_OP_REMOVE ? res->n_enable : op == FTIDX_OP_ADD ? res->n_disable : 0;
	bool adds = op == FTIDX_OP_SET || op == FTIDX_OP_ADD;
	int r = 0;

	for (size_t i = 0; op != FTIDX_OP_SET && op != FTIDX_OP_CLEAR && i < n_before && r == 0; i++)
		if (!name_in(m, drop, n_drop, before[i]) &&
		    !(adds && name_in(m, res->enable, res->n_enable, before[i])))
			r = line_set_add(out, before[i], bare_len(before[i]));
	for (size_t i = 0; adds && i < res->n_enable && r == 0; i++)
		if (i == 0 || map_name_len(m, res->enable[i]) != map_name_len(m, res->enable[i - 1]) ||
		    memcmp(map_name(m, res->enable[i]), map_name(m, res->enable[i - 1]),
			   map_name_len(m, res->enable[i])) != 0)
			if (!name_in(m, res->enable, i, map_name(m, res->enable[i])))
				r = add_name_records(out, m, res->enable[i]);
	if (r == 0)
		r = line_set_done(out);
	if (r == 0)
		qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
	return r;
}

int service_recover_begin(struct service *s, const char *instance, size_t n,
			 const uint16_t *files, const uint16_t *ops, char *const *befores,
			 const struct resolution *res)
{
	struct growbuf t = { 0 };
	int r = 0;

	if (s->state_fd < 0)
		return 0;
	/* built straight into the record's text: for every function, this
	 * is a megabyte, and the request waits for it */
	intent_text_begin(&t, clock_ns(CLOCK_REALTIME), n);
	for (size_t k = 0; k < n && r == 0; k++) {
		_cleanup_free_ char *buf = NULL;
		_cleanup_free_ char **before = NULL;
		ssize_t nb = text_lines(befores[k], &buf, &before);

		if (nb < 0) {
			r = (int)nb;
			break;
		}
		intent_text_file(&t, instance, files[k]);
		intent_text_count(&t, "before", (size_t)nb);
		for (ssize_t i = 0; i < nb; i++)
			intent_text_line(&t, before[i], strlen(before[i]));
		if (is_graph(files[k])) {
			struct line_set after = { 0 };

			r = graph_after(s->map, ops[k], &res[k], before, (size_t)nb, &after);
			if (r == 0) {
				intent_text_count(&t, "after", after.n);
				for (size_t i = 0; i < after.n; i++)
					intent_text_line(&t, after.v[i], strlen(after.v[i]));
			}
			line_set_deinit(&after);
		} else {
			r = put_filter_after(&t, s->map, ops[k], &res[k], befores[k]);
		}
	}
	if (r == 0)
		r = intent_text_end(&t);
	if (r == 0)
		r = intent_save_text(s->state_fd, (const char *)t.data, t.len);
	if (r < 0 && !s->intent_failed)
		log_warn("cannot record the intent of a write in %s (%s): a crash in the middle of "
			 "a write could leave part of it",
			 s->state_dir, strerror(-r));
	s->intent_failed = r < 0;
	growbuf_deinit(&t);
	return r;
}

void service_recover_end(struct service *s)
{
	int r;

	if (s->state_fd < 0)
		return;
	r = intent_remove(s->state_fd);
	if (r < 0)
		log_warn("cannot remove the intent record in %s: %s", s->state_dir, strerror(-r));
}

/* ---- recovery ---------------------------------------------------------- */

enum found { FOUND_AFTER, FOUND_BEFORE, FOUND_PARTIAL };

/* Lines of @v that the map still carries (a module that went took its
 * lines with it), and module patterns, as keys: whole lines, or names for a graph file; sorted
 * for a graph file, whose order means nothing. */
static int present(const struct map *m, bool graph, char *const *v, size_t n, struct line_set *out)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		uint32_t *idx = NULL;
		size_t len = strlen(v[i]);
		ssize_t k = graph || filter_line_kind(v[i], len) == FILTER_LINE_MODULE_PATTERN
				    ? 1
				    : readback_line_indices(m, v[i], len, &idx);

		free(idx);
		if (k < 0)
			r = (int)k;
		else if (k > 0)
			r = line_set_add(out, v[i], graph ? bare_len(v[i]) : strlen(v[i]));
	}
	if (r == 0)
		r = line_set_done(out);
	if (r == 0 && graph)
		qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
	return r;
}

static bool same(const struct line_set *a, const struct line_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* What @f's file holds now: as intended, as it was, or neither;
 * *@no_change: the intent was to leave it as it was. */
static int judge_file(struct service *s, const struct intent_file *f, enum found *found,
		      bool *no_change, size_t *n_now)
{
	struct line_set now = { 0 }, after = { 0 }, before = { 0 };
	_cleanup_free_ char *text = NULL, *buf = NULL;
	_cleanup_free_ char **lines = NULL;
	bool graph = is_graph(f->file);
	size_t len;
	ssize_t n;
	int r;

	r = s->io->read(s->io->ctx, f->instance[0] ? f->instance : NULL, writer_file_name(f->file),
			&text, &len);
	if (r < 0)
		return r;
	n = text_lines(text, &buf, &lines);
	if (n < 0)
		return (int)n;
	*n_now = (size_t)n;
	r = present(s->map, graph, lines, (size_t)n, &now);
	if (r == 0)
		r = present(s->map, graph, f->after, f->n_after, &after);
	if (r == 0)
		r = present(s->map, graph, f->before, f->n_before, &before);
	if (r == 0) {
		/* a graph file past a page reads back only its count right (6.1) */
		bool count_only = graph && writer_readback_count_only(f->file, len);

		*no_change = same(&after, &before);
		if (count_only ? now.n == before.n : same(&now, &before))
			*found = FOUND_BEFORE;
		else if (count_only ? now.n == after.n : same(&now, &after))
			*found = FOUND_AFTER;
		else
			*found = FOUND_PARTIAL;
	}
	line_set_deinit(&now);
	line_set_deinit(&after);
	line_set_deinit(&before);
	return r;
}

/* Put @f's file back as it was: its lines, as indices of the map now. */
static int put_back(struct service *s, const struct intent_file *f)
{
	struct writer_request wr = {
		.instance = f->instance[0] ? f->instance : NULL,
		.file = f->file,
		.op = FTIDX_OP_SET,
	};
	struct writer_result wres = { 0 };
	struct growbuf t = { 0 };
	int r;

	for (size_t i = 0; i < f->n_before; i++) {
		growbuf_append(&t, f->before[i], strlen(f->before[i]));
		growbuf_append(&t, "\n", 1);
	}
	growbuf_append(&t, "", 1);
	if (t.failed) {
		growbuf_deinit(&t);
		return -ENOMEM;
	}
	wres.before = (char *)t.data;
	wres.before_len = t.len - 1;
	r = writer_restore(s->io, s->map, &wr, &wres);
	writer_result_deinit(&wres);
	return r;
}

static void describe(char *buf, size_t size, const struct intent *in, size_t k)
{
	snprintf(buf, size, "%s%s%s%s", in->files[k].instance[0] ? "instances/" : "",
		 in->files[k].instance, in->files[k].instance[0] ? "/" : "",
		 writer_file_name(in->files[k].file));
}

/* The record in the state directory, if one can be trusted: 0 with @in,
 * -ENOENT (none, or one set aside, which STATUS then mentions), or -errno. */
static int load_record(struct service *s, struct intent *in)
{
	char aside[64];
	const char *why = "";
	int r = intent_load(s->state_fd, in, &why);

	if (r == -EBADMSG) {
		r = intent_set_aside(s->state_fd, aside, sizeof(aside));
		log_warn("an intent record that cannot be trusted (%s) was set aside%s%s/%s; the "
			 "filters are as they are",
			 why, r == 0 ? " as " : "", r == 0 ? s->state_dir : "", r == 0 ? aside : "");
		snprintf(s->recovery, sizeof(s->recovery),
			 "found an intent record that cannot be trusted (%s) and set it aside", why);
		intent_deinit(in);
		return -ENOENT;
	}
	if (r < 0 && r != -ENOENT)
		log_error("cannot read the intent record in %s: %s", s->state_dir, strerror(-r));
	return r;
}

/*
 * Finish or undo the write @in records, by what its files hold now, into
 * s->recovery: all as they were (nothing written), all as intended
 * (done), or else every file that is not as it was is put back.
 */
static void settle_record(struct service *s, const struct intent *in)
{
	enum found found[FTIDX_CHANGES_MAX];
	bool no_change[FTIDX_CHANGES_MAX], all_after = true, all_before = true, restored = true;
	size_t n_now[FTIDX_CHANGES_MAX] = { 0 };
	char what[256], when[64];
	time_t t = (time_t)(in->time_ns / 1000000000ull);
	const char *more = in->n_files > 1 ? " and more" : "";

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	describe(what, sizeof(what), in, 0);
	for (size_t k = 0; k < in->n_files; k++) {
		int r = judge_file(s, &in->files[k], &found[k], &no_change[k], &n_now[k]);

		if (r < 0) {
			log_error("cannot read %s to recover an interrupted write: %s", what,
				  strerror(-r));
			return;
		}
		all_after &= found[k] == FOUND_AFTER || (found[k] == FOUND_BEFORE && no_change[k]);
		all_before &= found[k] == FOUND_BEFORE;
	}
	if (all_before && !all_after) {
		/* all as they were, and some meant to change: nothing was written */
		snprintf(s->recovery, sizeof(s->recovery),
			 "found an interrupted write of %s%s begun at %s: nothing had been "
			 "written, nothing to undo",
			 what, more, when);
	} else if (all_after) {
		/* (a change that changes nothing lands here too) */
		snprintf(s->recovery, sizeof(s->recovery),
			 "found an interrupted write of %s%s begun at %s: it had completed (%zu "
			 "lines)",
			 what, more, when, n_now[0]);
	} else {
		/* partial, or a change of several files not all done: all back */
		for (size_t k = 0; k < in->n_files; k++)
			if (found[k] != FOUND_BEFORE)
				restored &= put_back(s, &in->files[k]) == 0;
		snprintf(s->recovery, sizeof(s->recovery),
			 "recovered an interrupted write of %s%s begun at %s: found %zu of %zu "
			 "lines written, %s the %zu it held before",
			 what, more, when, n_now[0], in->files[0].n_after,
			 restored ? "put back" : "FAILED to put back", in->files[0].n_before);
	}
	log_warn("%s", s->recovery);
	/* the map was read before the filters were touched: no change */
	if (intent_remove(s->state_fd) < 0)
		log_warn("cannot remove the intent record in %s", s->state_dir);
}

void service_recover_start(struct service *s)
{
	struct intent in;

	if (s->state_fd < 0 || load_record(s, &in) < 0)
		return;
	settle_record(s, &in);
	intent_deinit(&in);
}

/* @dir as an absolute path, into @out: the published copy's path goes to
 * clients, whose working directory is not ftidxd's. 0 or -errno. */
static int absolute_dir(const char *dir, char *out, size_t size)
{
	char cwd[4096];

	if (dir[0] == '/')
		return (size_t)snprintf(out, size, "%s", dir) < size ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return negative_errno();
	/* "./state" reads better as "state" */
	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	return (size_t)snprintf(out, size, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", dir) < size
		       ? 0
		       : -ENAMETOOLONG;
}

int service_recover_set_dir(struct service *s, const char *dir)
{
	const char *why = "";
	long holder;
	int fd, r;

	/* a copy being written there is finished first */
	service_publish_shutdown(s);
	if (s->state_fd >= 0)
		close(s->state_fd);
	s->state_fd = s->publish_fd = -1;
	dir = dir ? dir : intent_default_dir();
	r = absolute_dir(dir, s->state_dir, sizeof(s->state_dir));
	if (r < 0) {
		snprintf(s->state_dir, sizeof(s->state_dir), "%s", dir);
		why = "its absolute path cannot be known";
	} else {
		r = intent_open_dir(s->state_dir, &fd, &why);
	}
	if (r < 0) {
		/* better no crash safety than a record anyone could have made */
		snprintf(s->recovery, sizeof(s->recovery),
			 "crash safety is off: the state directory %.300s is not used, since %s",
			 s->state_dir, why);
		log_warn("%s (%s): a daemon killed in the middle of a write can leave part of it",
			 s->recovery, strerror(-r));
		return r;
	}
	if (s->state_lock_fd >= 0)
		close(s->state_lock_fd);
	r = intent_lock_dir(fd, &s->state_lock_fd, &holder);
	if (r == -EBUSY) {
		log_error("the state directory %s is in use by another ftidxd (pid %ld): stop it, "
			  "or give this one another --state-dir",
			  s->state_dir, holder);
		close(fd);
		return r;
	}
	if (r < 0) {
		/* an intent record only one daemon trusts, or none at all */
		snprintf(s->recovery, sizeof(s->recovery),
			 "crash safety is off: the state directory %.300s is not used, since its "
			 "lock file cannot be held (%s)",
			 s->state_dir, strerror(-r));
		log_warn("%s: a daemon killed in the middle of a write can leave part of it",
			 s->recovery);
		close(fd);
		return r;
	}
	s->state_fd = fd;
	service_map_continue_generations(s);
	/* the map read at start, beside the socket for tools that read it */
	s->published_generation = s->publish_tried_generation = 0;
	service_publish_set_dir(s, fd);
	service_publish_soon(s);
	return 0;
}
