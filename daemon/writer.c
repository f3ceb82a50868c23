/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The filter writer (see writer.h).
 *
 * What the kernel does, and what follows for us:
 * - Each write() consumes one whitespace-separated token and returns the
 *   bytes it took; a refused token fails that write() with the tokens
 *   before it already applied to the pending filter. So we write in a
 *   loop, continue short writes, and check every return.
 * - A last token without trailing whitespace is only handled at close(),
 *   which drops its error. Every batch ends with a newline.
 * - The pending filter is committed at close(), failed or not, and an
 *   O_TRUNC batch whose tokens were all refused leaves an empty filter,
 *   which traces every function. So before writing we read the filter,
 *   and after a failure we write the old one back.
 * - set_graph_function and set_graph_notrace refuse indices. They get the
 *   request's patterns as written (an index as its name): each is one pass
 *   of the kernel over its records, where expanding "*" into 38,000 names
 *   would be 38,000 passes. What they select is checked as whole names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "clock.h"
#include "growbuf.h"
#include "macro.h"
#include "readback.h"
#include "tracing.h"
#include "writer.h"

#define CHUNK (64 * 1024)

/*
 * 6.1's set_graph_function and set_graph_notrace restart their hash walk
 * whenever the seq_file buffer (one page) is refilled: past the first
 * 4 KiB a read repeats some lines and misses others, while the number of
 * lines stays right (seen on Debian's 6.1.0-56 in qemu: 1,420 lines, 205
 * of them repeats). Beyond that size only the count can be checked.
 */
#define GRAPH_READ_RELIABLE 4096

static int tracing_io_open(void *ctx _unused_, const char *instance, const char *file, int flags)
{
	return tracing_open_file(instance, file, flags);
}

static ssize_t tracing_io_write(void *ctx _unused_, int fd, const char *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? negative_errno() : n;
}

static int tracing_io_close(void *ctx _unused_, int fd)
{
	return close(fd) < 0 ? negative_errno() : 0;
}

static int tracing_io_read(void *ctx _unused_, const char *instance, const char *file, char **buf,
			   size_t *len)
{
	return tracing_read_file(instance, file, buf, len);
}

static int tracing_io_read_until(void *ctx _unused_, const char *instance, const char *file,
				 const atomic_bool *cancel, char **buf, size_t *len)
{
	return tracing_read_file_cancellable(instance, file, cancel, buf, len);
}

const struct writer_io writer_io_tracing = {
	.open = tracing_io_open,
	.write = tracing_io_write,
	.close = tracing_io_close,
	.read = tracing_io_read,
	.read_until = tracing_io_read_until,
	.reads_names = true,
};

const char *writer_file_name(uint16_t file)
{
	switch (file) {
	case FTIDX_FILE_FILTER:
		return "set_ftrace_filter";
	case FTIDX_FILE_NOTRACE:
		return "set_ftrace_notrace";
	case FTIDX_FILE_GRAPH:
		return "set_graph_function";
	case FTIDX_FILE_GRAPH_NOTRACE:
		return "set_graph_notrace";
	}
	return NULL;
}

static bool takes_indices(uint16_t file)
{
	return file == FTIDX_FILE_FILTER || file == FTIDX_FILE_NOTRACE;
}

bool writer_readback_count_only(uint16_t file, size_t len)
{
	return !takes_indices(file) && len > GRAPH_READ_RELIABLE;
}

/* ---- text -------------------------------------------------------------- */

/* Filter text is a growbuf kept NUL-terminated (growbuf.h). */
static void text_add(struct growbuf *t, const char *s, size_t n)
{
	growbuf_append_text(t, s, n);
}

/* An index as a token, "[!]N ", in plain decimal. By hand: for a batch of
 * indices, snprintf() cost more than the rest of the write's preparation
 * together (and the kernel reads base 0, so nothing but digits will do). */
static void text_index(struct growbuf *t, uint32_t index, bool negate)
{
	char buf[16];
	size_t at = sizeof(buf);

	buf[--at] = ' ';
	do {
		buf[--at] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	if (negate)
		buf[--at] = '!';
	text_add(t, buf + at, sizeof(buf) - at);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tokens for the lines @v: indices, or for the graph files each distinct
 * name once. */
static void text_set(struct growbuf *t, const struct map *m, uint16_t file, const uint32_t *v, size_t n,
		     bool negate)
{
	_cleanup_free_ const char **names = NULL;

	if (takes_indices(file)) {
		for (size_t i = 0; i < n; i++)
			text_index(t, v[i], negate);
		return;
	}
	names = malloc(sizeof(*names) * (n ? n : 1));
	if (!names) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		names[i] = map_name(m, v[i]);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if (negate)
			text_add(t, "!", 1);
		text_add(t, names[i], strlen(names[i]));
		text_add(t, " ", 1);
	}
}

/* The graph files' tokens: the request's patterns, an index as its name. */
static void text_patterns(struct growbuf *t, const struct map *m, const char *const *tokens,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *tok = tokens[i];
		bool negate = tok[0] == '!';
		char *end;
		unsigned long index = strtoul(tok + negate, &end, 10);

		if (tok[negate] >= '0' && tok[negate] <= '9' && !*end && index >= 1 &&
		    index <= map_size(m)) {
			if (negate)
				text_add(t, "!", 1);
			text_add(t, map_name(m, (uint32_t)index), map_name_len(m, (uint32_t)index));
		} else {
			text_add(t, tok, strlen(tok));
		}
		text_add(t, " ", 1);
	}
}

/*
 * What writing names does: every line that carries a name written, with a
 * removal winning where a name is in both sets. Returns 0 or -ENOMEM.
 */
static int widen_to_names(const struct map *m, const struct resolution *res, struct resolution *out)
{
	_cleanup_free_ uint8_t *mark = calloc(map_size(m) + 1, 1);
	size_t ne = 0, nd = 0;

	*out = (struct resolution){ 0 };
	if (!mark)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		const uint32_t *v = pass ? res->disable : res->enable;
		size_t n = pass ? res->n_disable : res->n_enable;

		for (size_t i = 0; i < n; i++) {
			const char *name = map_name(m, v[i]);
			size_t len = map_name_len(m, v[i]);
			uint32_t pos, count;

			if (!map_find_name(m, name, len, map_hash_name(name, len), &pos, &count))
				continue;
			for (uint32_t k = 0; k < count; k++)
				mark[map_sorted_at(m, pos + k)] = (uint8_t)(pass + 1);
		}
	}
	for (uint32_t i = 1; i <= map_size(m); i++) {
		ne += mark[i] == 1;
		nd += mark[i] == 2;
	}
	out->enable = malloc(sizeof(uint32_t) * (ne ? ne : 1));
	out->disable = malloc(sizeof(uint32_t) * (nd ? nd : 1));
	if (!out->enable || !out->disable) {
		resolution_deinit(out);
		return -ENOMEM;
	}
	for (uint32_t i = 1; i <= map_size(m); i++) {
		if (mark[i] == 1)
			out->enable[out->n_enable++] = i;
		else if (mark[i] == 2)
			out->disable[out->n_disable++] = i;
	}
	return 0;
}

int writer_widen(const struct map *m, uint16_t file, struct resolution *res)
{
	struct resolution widened;
	int r;

	if (takes_indices(file))
		return 0;
	r = widen_to_names(m, res, &widened);
	if (r < 0)
		return r;
	free(res->enable);
	free(res->disable);
	res->enable = widened.enable;
	res->n_enable = widened.n_enable;
	res->disable = widened.disable;
	res->n_disable = widened.n_disable;
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

/* Tokens that begin in @s's @len bytes: one that @s begins in the middle
 * of (@in: the byte before @s is part of a token) was counted where it
 * began. A write() that takes a whole chunk (a plain file) can end in
 * the middle of a token; the kernel's parser then takes the rest from
 * the next write() as the same token. */
static uint32_t count_tokens(const char *s, size_t len, bool in)
{
	uint32_t n = 0;

	for (size_t i = 0; i < len; i++) {
		bool space = is_blank(s[i]);

		n += !space && !in;
		in = !space;
	}
	return n;
}

/*
 * One open, every write checked, short writes continued, one close.
 * *@accepted counts the tokens the kernel took before any failure.
 */
static int write_batch(const struct writer_io *io, const char *instance, const char *file, int flags,
		       const char *s, size_t len, uint32_t *accepted)
{
	size_t done = 0;
	int fd, r = 0, rc;

	*accepted = 0;
	fd = io->open(io->ctx, instance, file, O_WRONLY | flags);
	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = io->write(io->ctx, fd, s + done, MIN(len - done, (size_t)CHUNK));

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0) {
			r = n < 0 ? (int)n : -EIO;
			break;
		}
		*accepted += count_tokens(s + done, (size_t)n, done > 0 && !is_blank(s[done - 1]));
		done += (size_t)n;
	}
	rc = io->close(io->ctx, fd);
	return r < 0 ? r : rc;
}

ssize_t writer_split_lines(char *buf, char ***out)
{
	size_t n = 0, cap = 64;
	char **v = malloc(sizeof(*v) * cap), *save = NULL;

	if (!v)
		return -ENOMEM;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		enum filter_line kind = filter_line_kind(l, strlen(l));

		if (kind == FILTER_LINE_NONE || kind == FILTER_LINE_PROBE)
			continue;
		if (n == cap) {
			char **w = realloc(v, sizeof(*v) * (cap *= 2));

			if (!w) {
				free(v);
				return -ENOMEM;
			}
			v = w;
		}
		v[n++] = l;
	}
	*out = v;
	return (ssize_t)n;
}

/* ---- restoring --------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether ascending @v holds @x. */
static bool in_list(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_u32) != NULL;
}

/*
 * The tokens that bring back the filter read before the write. A file that
 * reads back what was written (not a tracefs) is written back verbatim.
 * A tracefs filter reads back lines: each maps to its records; where a
 * line is on more records than the filter listed, what ftidx last wrote
 * decides which ones, and failing that the first ones (said to be
 * approximate). @lines must be sorted, so that copies are adjacent.
 */
static int restore_text(const struct map *m, const struct writer_request *wr, bool reads_names,
			const char *before, size_t before_len, char **lines, size_t n_lines,
			struct growbuf *t, bool *approximate)
{
	if (!reads_names) {
		text_add(t, before, before_len);
		if (before_len && before[before_len - 1] != '\n')
			text_add(t, "\n", 1);
		return t->failed ? -ENOMEM : 0;
	}
	_cleanup_free_ uint32_t *keep = malloc(sizeof(*keep) * (n_lines ? n_lines : 1));
	_cleanup_(growbuf_deinit) struct growbuf patterns = { 0 };
	size_t n_keep = 0;

	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < n_lines;) {
		_cleanup_free_ uint32_t *v = NULL;
		size_t want = 1, got = 0;
		ssize_t total;

		/* the O_TRUNC of the restore dropped it: written again as it
		 * reads, it is kept for its module once more */
		if (filter_line_kind(lines[i], strlen(lines[i])) == FILTER_LINE_MODULE_PATTERN) {
			text_add(&patterns, lines[i], strlen(lines[i]));
			text_add(&patterns, " ", 1);
			i++;
			continue;
		}
		while (i + want < n_lines && strcmp(lines[i + want], lines[i]) == 0)
			want++;
		total = readback_line_indices(m, lines[i], strlen(lines[i]), &v);
		i += want;
		if (total < 0)
			return (int)total;
		if ((size_t)total > want && !wr->previous)
			*approximate = true;
		/* First the copies ftidx wrote, then, if short, the first others. */
		for (int pass = 0; pass < 2; pass++) {
			for (ssize_t k = 0; k < total && got < want; k++) {
				bool prev = !wr->previous || (size_t)total <= want ||
					    in_list(wr->previous, wr->n_previous, v[k]);

				if (prev == (pass == 0) && v[k]) {
					keep[n_keep++] = v[k];
					v[k] = 0;
					got++;
				}
			}
		}
		*approximate |= got != want;
	}
	/* Indices, or names for the graph files, as any write of ours. */
	text_set(t, m, wr->file, keep, n_keep, false);
	text_add(t, patterns.data ? (const char *)patterns.data : "", patterns.len);
	if (t->len)
		t->data[t->len - 1] = '\n';
	return t->failed ? -ENOMEM : 0;
}

/* The filter read back now is what @res asked of @before. */
static int read_back(const struct writer_io *io, const struct map *m,
		     const struct writer_request *wr, const struct resolution *res,
		     const char *before, size_t before_len, struct writer_result *out)
{
	_cleanup_free_ char *after = NULL;
	size_t after_len;
	uint64_t t0 = now_ns();
	int r = io->read(io->ctx, wr->instance, writer_file_name(wr->file), &after, &after_len);

	out->readback_ns = now_ns() - t0;
	if (r < 0) {
		out->why = "written, but the filter could not be read back";
		return r;
	}
	out->count_only = writer_readback_count_only(wr->file, before_len) ||
			  writer_readback_count_only(wr->file, after_len);
	if (out->count_only)
		return readback_verify_count(wr->op, res, after, &out->why);
	return readback_verify(m, wr->op, res, before, after, &out->why);
}

int writer_verify(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		  const struct resolution *res, struct writer_result *out)
{
	const struct resolution *checked = res;
	struct resolution widened = { 0 };
	uint64_t t0 = now_ns();
	int r = 0;

	if (!out->before || !io->reads_names)
		return out->before ? 0 : -EINVAL;
	/* the graph files were checked as whole names when written */
	if (!takes_indices(wr->file)) {
		r = widen_to_names(m, res, &widened);
		checked = &widened;
	}
	if (r == 0)
		r = read_back(io, m, wr, checked, out->before, out->before_len, out);
	out->verify_ns = now_ns() - t0;
	resolution_deinit(&widened);
	return r;
}

/*
 * A graph file's removal. The kernel refuses ("!name": EINVAL) a pattern
 * that takes out nothing the file holds, where the function filters take
 * it as a no-op (seen alike on 6.1, 6.12 and 7.2). So removals are held
 * to what @before holds: nothing to write when it holds none of them,
 * the patterns when it holds every name they select, else each name it
 * holds (one pass of the kernel each, but only over names in the file).
 * A graph file past a page reads back unreliably (GRAPH_READ_RELIABLE):
 * then the patterns as they are.
 */
static int graph_removal_text(struct growbuf *t, const struct map *m,
			      const struct writer_request *wr, const struct resolution *res,
			      const char *before, size_t before_len)
{
	_cleanup_free_ uint8_t *held = NULL;
	_cleanup_free_ uint32_t *present = NULL;
	size_t n_present = 0;

	if (!before || writer_readback_count_only(wr->file, before_len))
		goto patterns;
	held = calloc(map_size(m) + 1, 1);
	present = malloc(sizeof(*present) * (res->n_enable ? res->n_enable : 1));
	if (!held || !present)
		return -ENOMEM;
	for (const char *p = before; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ uint32_t *v = NULL;
		ssize_t n = filter_line_kind(p, len) == FILTER_LINE_FUNCTION
				    ? readback_line_indices(m, p, len, &v)
				    : 0;

		if (n < 0)
			return (int)n;
		for (ssize_t k = 0; k < n; k++)
			held[v[k]] = 1;
		p += len + (nl != NULL);
	}
	for (size_t i = 0; i < res->n_enable; i++)
		if (held[res->enable[i]])
			present[n_present++] = res->enable[i];
	if (n_present < res->n_enable) {
		text_set(t, m, wr->file, present, n_present, true);
		return t->failed ? -ENOMEM : 0;
	}
patterns:
	for (size_t i = 0; i < wr->n_tokens; i++) {
		text_add(t, "!", 1);
		text_patterns(t, m, &wr->tokens[i], 1);
	}
	return t->failed ? -ENOMEM : 0;
}

/*
 * What a write of @wr with @res puts into the file, in @t: indices, or,
 * for the graph files, the patterns themselves. @before is what the file
 * holds. 0, or -errno with *@why.
 */
static int batch_text(struct growbuf *t, const struct map *m, const struct writer_request *wr,
		      const struct resolution *res, const char *before, size_t before_len,
		      const char **why)
{
	switch (takes_indices(wr->file) ? wr->op : 0) {
	case 0: /* a graph file: the patterns themselves */
		if (wr->op == FTIDX_OP_REMOVE) {
			if (graph_removal_text(t, m, wr, res, before, before_len) < 0)
				t->failed = true;
		} else if (wr->op != FTIDX_OP_CLEAR) {
			text_patterns(t, m, wr->tokens, wr->n_tokens);
		}
		break;
	case FTIDX_OP_SET:
		text_set(t, m, wr->file, res->enable, res->n_enable, false);
		break;
	case FTIDX_OP_ADD:
		text_set(t, m, wr->file, res->enable, res->n_enable, false);
		text_set(t, m, wr->file, res->disable, res->n_disable, true);
		break;
	case FTIDX_OP_REMOVE:
		text_set(t, m, wr->file, res->enable, res->n_enable, true);
		break;
	case FTIDX_OP_CLEAR:
		break;
	default:
		*why = "unknown filter operation";
		return -EINVAL;
	}
	if (t->failed) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (t->len)
		t->data[t->len - 1] = '\n'; /* the batch ends with whitespace */
	return 0;
}

/* What the file holds before the write: known (@wr->known_before) or
 * read. 0 or -errno. */
static int read_before(const struct writer_io *io, const struct writer_request *wr,
		       char **before, size_t *len, struct writer_result *out)
{
	uint64_t t0 = now_ns();
	int r = 0;

	if (wr->known_before) {
		*len = strlen(wr->known_before);
		*before = strdup(wr->known_before);
		r = *before ? 0 : -ENOMEM;
	} else {
		r = io->read(io->ctx, wr->instance, writer_file_name(wr->file), before, len);
	}
	out->read_ns = now_ns() - t0;
	if (r < 0)
		out->why = "cannot read the filter";
	return r;
}

int writer_apply(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		 const struct resolution *res, struct writer_result *out)
{
	const char *file = writer_file_name(wr->file);
	_cleanup_free_ char *before = NULL;
	_cleanup_(growbuf_deinit) struct growbuf t = { 0 };
	_cleanup_(resolution_deinit) struct resolution widened = { 0 };
	size_t before_len = 0;
	uint64_t t0;
	int r;

	*out = (struct writer_result){ 0 };
	if (!file)
		return out->why = "unknown filter file", -EINVAL;
	if (!takes_indices(wr->file)) {
		r = widen_to_names(m, res, &widened);
		if (r < 0)
			return out->why = "out of memory", r;
		res = &widened;
	}
	/* an empty notrace file excludes nothing, which is harmless */
	if (wr->op == FTIDX_OP_SET && res->n_enable == 0 && !wr->allow_empty &&
	    (wr->file == FTIDX_FILE_FILTER || wr->file == FTIDX_FILE_GRAPH))
		return out->why = "the patterns select no function, and an empty filter traces "
				  "every function: use clear for that",
		       -ENODATA;
	r = read_before(io, wr, &before, &before_len, out);
	if (r == 0)
		r = batch_text(&t, m, wr, res, before, before_len, &out->why);
	if (r < 0)
		return r;

	t0 = now_ns();
	r = write_batch(io, wr->instance, file,
			wr->op == FTIDX_OP_SET || wr->op == FTIDX_OP_CLEAR ? O_TRUNC : O_APPEND,
			t.data ? (const char *)t.data : "", t.len, &out->written);
	out->write_ns = now_ns() - t0;
	if (r == 0 && io->reads_names && !wr->verify_later) {
		t0 = now_ns();
		r = read_back(io, m, wr, res, before, before_len, out);
		out->verify_ns = now_ns() - t0;
	}
	if (r < 0 && !out->why)
		out->why = "the kernel refused the write";
	if (r < 0 || wr->keep_before || wr->verify_later) {
		/* Refused midway, or not what was asked for: the caller puts the old
		 * filter back with writer_restore(), on a map it knows is current. */
		out->before = steal_ptr(&before);
		out->before_len = before_len;
	}
	return r;
}

void writer_result_deinit(struct writer_result *r)
{
	free(r->before);
	r->before = NULL;
}

/* @text's lines that the map still carries, and its module patterns,
 * sorted: what a restore of @text can bring back (a module that went took
 * its lines with it). */
static ssize_t restorable_lines(const struct map *m, bool reads_names, char *text, char ***out)
{
	ssize_t n = writer_split_lines(text, out), k = 0;

	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n; i++) {
		uint32_t *v = NULL;
		size_t len = strlen((*out)[i]);
		ssize_t c = !reads_names || filter_line_kind((*out)[i], len) ==
							FILTER_LINE_MODULE_PATTERN
				    ? 1
				    : readback_line_indices(m, (*out)[i], len, &v);

		free(v);
		if (c < 0)
			return c;
		if (c > 0)
			(*out)[k++] = (*out)[i];
	}
	qsort(*out, (size_t)k, sizeof(**out), cmp_str);
	return k;
}

int writer_restore(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		   struct writer_result *res)
{
	const char *file = writer_file_name(wr->file);
	_cleanup_free_ char *want_text = NULL, *after = NULL;
	_cleanup_free_ char **want = NULL, **got = NULL;
	struct growbuf undo = { 0 };
	ssize_t n_want, n_got;
	size_t after_len;
	uint32_t ignored;
	int r;

	if (!res->before)
		return -EINVAL;
	want_text = strdup(res->before);
	if (!want_text)
		return -ENOMEM;
	n_want = restorable_lines(m, io->reads_names, want_text, &want);
	if (n_want < 0)
		return (int)n_want;
	r = restore_text(m, wr, io->reads_names, res->before, res->before_len, want,
			 (size_t)n_want, &undo, &res->approximate);
	if (r == 0)
		r = write_batch(io, wr->instance, file, O_TRUNC,
				undo.data ? (const char *)undo.data : "", undo.len,
				&ignored);
	growbuf_deinit(&undo);
	if (r < 0)
		return r;
	/* The restore is checked like any write: the same lines as before. */
	r = io->read(io->ctx, wr->instance, file, &after, &after_len);
	if (r < 0)
		return r;
	n_got = restorable_lines(m, io->reads_names, after, &got);
	if (n_got < 0)
		return (int)n_got;
	if (n_got != n_want)
		return -EIO;
	if (!writer_readback_count_only(wr->file, after_len))
		for (ssize_t i = 0; i < n_got; i++)
			if (strcmp(got[i], want[i]) != 0)
				return -EIO;
	return 0;
}
