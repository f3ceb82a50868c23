/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHOW: a filter file as it is, not as ftidx last left it (see
 * service-show.h). The file is read off the loop: the kernel lists a
 * filter of every function in a second or more under TCG, and nobody
 * else should wait for that. One read runs at a time; SHOW requests that
 * come meanwhile wait in a queue (each client has one request in flight,
 * so the queue is bounded by the clients ftidxd admits, and only root and
 * the write group may ask: access.c). A write made while the file was
 * read makes what was read out of date: the read is made again, a few
 * times at most.
 *
 * The text is judged on the loop, where the map is. Each function line
 * gets its index: the first index carrying that line's text that no
 * earlier line took (the kernel lists a function filter in record order,
 * so the k-th line of a name is its k-th index; a graph file lists by
 * hash, and a name there stands for all its lines anyway). Function
 * probes and module patterns are marked as what they are: a user's, not
 * ftidx's. Then the functions are compared with ftidx's record of what it
 * wrote there. A directory standing in for tracefs holds the tokens
 * written rather than a listing: they are replayed as the kernel would
 * apply them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "growbuf.h"
#include "log.h"
#include "macro.h"
#include "map.h"
#include "readback.h"
#include "service-jobs.h"
#include "service-reply.h"
#include "service-show.h"
#include "service-state.h"
#include "service-written.h"
#include "tracing.h"
#include "writer.h"

/* Reads made again because a write came while one was made, at most. */
#define SHOW_ATTEMPTS 3

/* A SHOW waiting for its read, in the order they came. */
struct show_wait {
	void *requester; /* NULL once it went away */
	uint32_t id;
	uint16_t file;
	char instance[FTIDX_INSTANCE_MAX + 1];
	int attempts;
	struct show_wait *next;
};

/* The read under way, for the first of the queue. */
struct show_read {
	pthread_t thread;
	atomic_bool done;
	atomic_bool cancel; /* the service goes: stop reading */
	const struct writer_io *io;
	char instance[FTIDX_INSTANCE_MAX + 1];
	uint16_t file;
	uint64_t seq; /* s->write_seq when it began */
	int completion_fd;
	char *text;
	size_t len;
	int result;
};

static void *show_worker(void *ctx)
{
	struct show_read *rd = ctx;
	uint64_t one = 1;

	const char *instance = rd->instance[0] ? rd->instance : NULL;

	if (rd->io->read_until)
		rd->result = rd->io->read_until(rd->io->ctx, instance, writer_file_name(rd->file),
						&rd->cancel, &rd->text, &rd->len);
	else
		rd->result = rd->io->read(rd->io->ctx, instance, writer_file_name(rd->file),
					  &rd->text, &rd->len);
	atomic_store(&rd->done, true);
	if (write(rd->completion_fd, &one, sizeof(one)) < 0)
		log_error("cannot tell the loop a filter was read: %s", strerror(errno));
	return NULL;
}

static struct show_read *read_free(struct show_read *rd)
{
	if (rd) {
		free(rd->text);
		free(rd);
	}
	return NULL;
}

/* Read the file the first SHOW of the queue asks for: 0 or -errno. */
static int read_begin(struct service *s)
{
	const struct show_wait *w = s->show_queue;
	struct show_read *rd = calloc(1, sizeof(*rd));
	int r;

	if (!rd)
		return -ENOMEM;
	rd->io = s->io;
	rd->file = w->file;
	rd->seq = s->write_seq;
	rd->completion_fd = s->completion_fd;
	memcpy(rd->instance, w->instance, sizeof(rd->instance));
	r = -pthread_create(&rd->thread, NULL, show_worker, rd);
	if (r < 0) {
		read_free(rd);
		return r;
	}
	s->show_read = rd;
	return 0;
}

/* ---- judging what was read --------------------------------------------- */

/* What the reply is built of: per line its kind and index, and the lines'
 * text one after another (offsets, since the text grows). */
struct shown_lines {
	struct growbuf shown; /* struct proto_shown */
	struct growbuf offs;  /* size_t */
	struct growbuf text;
};

static void push(struct shown_lines *sl, uint16_t kind, uint32_t index, const char *line,
		 size_t len)
{
	struct proto_shown e = {kind, 0, index};
	size_t at = sl->text.len;

	growbuf_append(&sl->shown, &e, sizeof(e));
	growbuf_append(&sl->offs, &at, sizeof(at));
	growbuf_append(&sl->text, line, len);
	growbuf_append(&sl->text, "", 1);
}

/* A stand-in's line of tokens: "N" or "!N", as ftidx writes them,
 * separated by spaces. */
static bool is_tokens(const char *line, size_t len)
{
	bool digit = false;

	for (size_t i = 0; i < len; i++) {
		if (line[i] == ' ') {
			if (!digit)
				return false;
			digit = false;
		} else if (line[i] == '!' && (i == 0 || line[i - 1] == ' ')) {
			continue;
		} else if (line[i] >= '0' && line[i] <= '9') {
			digit = true;
		} else {
			return false;
		}
	}
	return digit;
}

/* Apply a stand-in's line of tokens, as the kernel would, to @taken. */
static void replay(const char *line, size_t len, uint32_t size, bool *taken)
{
	for (size_t i = 0; i < len;) {
		bool neg = line[i] == '!';
		unsigned long index = strtoul(line + i + neg, NULL, 10);

		if (index >= 1 && index <= size)
			taken[index] = !neg;
		while (i < len && line[i] != ' ')
			i++;
		while (i < len && line[i] == ' ')
			i++;
	}
}

/* The first index carrying @line that no earlier line took, or 0. */
static uint32_t take_index(const struct map *m, const char *line, size_t len, bool *taken)
{
	_cleanup_free_ uint32_t *same = NULL;
	ssize_t k = readback_line_indices(m, line, len, &same);

	for (ssize_t i = 0; i < k; i++)
		if (!taken[same[i]]) {
			taken[same[i]] = true;
			return same[i];
		}
	return 0;
}

/* Each line of @text into @sl, marking in @taken the indices given to
 * lines. -ENOMEM or 0. */
static int judge_lines(const struct service *s, const char *text, struct shown_lines *sl,
		       bool *taken)
{
	const struct map *m = s->map;
	uint32_t size = map_size(m);
	_cleanup_free_ bool *replayed = NULL;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		enum filter_line kind = filter_line_kind(p, len);

		if (!s->io->reads_names && is_tokens(p, len)) {
			if (!replayed)
				replayed = calloc((size_t)size + 1, sizeof(*replayed));
			if (!replayed)
				return -ENOMEM;
			replay(p, len, size, replayed);
		} else if (kind == FILTER_LINE_FUNCTION) {
			push(sl, FTIDX_SHOWN_FUNCTION, take_index(m, p, len, taken), p, len);
		} else if (kind == FILTER_LINE_PROBE) {
			push(sl, FTIDX_SHOWN_PROBE, 0, p, len);
		} else if (kind == FILTER_LINE_MODULE_PATTERN) {
			push(sl, FTIDX_SHOWN_MODULE_PATTERN, 0, p, len);
		}
		p += len + (nl != NULL);
	}
	/* a stand-in's functions: what its tokens leave, in index order */
	for (uint32_t i = 1; replayed && i <= size; i++) {
		struct growbuf line = {0};

		if (!replayed[i] || taken[i])
			continue;
		taken[i] = true;
		map_append_line(&line, m, i);
		push(sl, FTIDX_SHOWN_FUNCTION, i, (const char *)line.data, line.len);
		growbuf_deinit(&line);
	}
	return sl->shown.failed || sl->offs.failed || sl->text.failed ? -ENOMEM : 0;
}

/*
 * Whether the file still holds what ftidx wrote, from the functions shown:
 * exactly those of a record of the whole filter; at least those
 * of a record of what ftidx added to a filter it did not know. Each
 * function of the record is marked as ftidx's.
 */
static uint16_t judge_holds(const struct written *w, uint32_t size, struct proto_shown *shown,
			    size_t n)
{
	size_t shown_functions = 0, ours_shown = 0;
	_cleanup_free_ bool *ours = NULL;

	if (!w)
		return FTIDX_HOLDS_NOT_WRITTEN;
	ours = calloc((size_t)size + 1, sizeof(*ours));
	if (!ours)
		return FTIDX_HOLDS_UNKNOWN;
	for (size_t i = 0; i < w->n; i++)
		if (w->indices[i] <= size)
			ours[w->indices[i]] = true;
	for (size_t i = 0; i < n; i++) {
		if (shown[i].kind != FTIDX_SHOWN_FUNCTION)
			continue;
		shown_functions++;
		if (shown[i].index && ours[shown[i].index]) {
			shown[i].flags |= FTIDX_SHOWN_OURS;
			ours_shown++;
		}
	}
	if (ours_shown != w->n)
		return FTIDX_HOLDS_NO;
	return !w->complete || shown_functions == w->n ? FTIDX_HOLDS_YES : FTIDX_HOLDS_NO;
}

/* The reply to @w from what @rd read; @settled: no write came meanwhile. */
static int show_reply(struct service *s, const struct show_wait *w, const struct show_read *rd,
		      bool settled, struct proto_buf *out)
{
	struct proto_reply rep = {.type = FTIDX_MSG_SHOW, .generation = s->generation};
	struct written *rec = service_written_find(s, w->instance, w->file);
	struct shown_lines sl = {0};
	_cleanup_free_ bool *taken = NULL;
	_cleanup_free_ const char **lines = NULL;
	uint32_t size = map_size(s->map);
	int r;

	if (rd->result < 0)
		return service_reply_plain(s, FTIDX_MSG_SHOW, w->id, -rd->result,
					   rd->result == -ENOENT
					       ? "no such file: the instance is gone"
					       : "cannot read the filter",
					   out);
	r = -ENOMEM;
	taken = calloc((size_t)size + 1, sizeof(*taken));
	if (!taken || judge_lines(s, rd->text, &sl, taken) < 0)
		goto done;
	rep.n_lines = (uint32_t)(sl.shown.len / sizeof(struct proto_shown));
	rep.shown = (struct proto_shown *)sl.shown.data;
	lines = malloc(sizeof(*lines) * (rep.n_lines ? rep.n_lines : 1));
	if (!lines)
		goto done;
	for (uint32_t i = 0; i < rep.n_lines; i++)
		lines[i] = (const char *)sl.text.data + ((const size_t *)sl.offs.data)[i];
	rep.lines = lines;
	rep.ours = rec ? (uint32_t)rec->n : 0;
	rep.holds = judge_holds(rec, size, rep.shown, rep.n_lines);
	rep.message = "";
	if (!settled) {
		rep.holds = rec ? FTIDX_HOLDS_UNKNOWN : rep.holds;
		rep.message = "filter writes kept coming while the file was read: what it holds "
			      "may have changed since";
	} else if (writer_readback_count_only(w->file, rd->len)) {
		rep.holds = rec ? FTIDX_HOLDS_UNKNOWN : rep.holds;
		rep.message = "the kernel lists a graph file longer than a page unreliably "
			      "(functions may show twice or not at all)";
	} else if (s->stale) {
		rep.message = "a module came or went: the map is being read again, and these "
			      "indices may be behind the kernel's";
	}
	r = proto_encode_reply(out, w->id, &rep);
done:
	growbuf_deinit(&sl.shown);
	growbuf_deinit(&sl.offs);
	growbuf_deinit(&sl.text);
	return r;
}

/* ---- the queue ----------------------------------------------------------- */

/* Answer @w with @frame (or an error) and take it off the queue. */
static void answer_first(struct service *s, struct proto_buf *frame, int r,
			 void (*deliver)(void *requester, struct proto_buf *frame))
{
	struct show_wait *w = s->show_queue;

	if (w->requester) {
		if (r < 0) {
			proto_buf_deinit(frame);
			proto_buf_init(frame);
			service_reply_plain(s, FTIDX_MSG_SHOW, w->id, -r,
					    r == -ENOMEM
						? "out of memory"
						: "cannot start a thread to read the filter",
					    frame);
		}
		deliver(w->requester, frame);
	}
	s->show_queue = w->next;
	free(w);
}

/* Begin the next read, answering those that cannot have one. */
static void next_read(struct service *s, void (*deliver)(void *requester, struct proto_buf *frame))
{
	while (s->show_queue && !s->show_read) {
		struct proto_buf frame;
		int r;

		if (!s->show_queue->requester) {
			answer_first(s, NULL, 0, deliver);
			continue;
		}
		r = read_begin(s);
		if (r == 0)
			return;
		proto_buf_init(&frame);
		answer_first(s, &frame, r, deliver);
		proto_buf_deinit(&frame);
	}
}

int service_show_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       void *requester, struct proto_buf *out)
{
	struct show_wait *w, **at = &s->show_queue;
	int r;

	if (req->instance[0] && !tracing_instance_exists(req->instance))
		return service_reply_plain(s, FTIDX_MSG_SHOW, id, ENOENT, "no such instance", out);
	if (!tracing_file_exists(req->instance[0] ? req->instance : NULL,
				 writer_file_name(req->file)))
		return service_reply_plain(s, FTIDX_MSG_SHOW, id, ENOENT,
					   "no such file here (the kernel has no function graph "
					   "tracer?)",
					   out);
	if (s->completion_fd < 0)
		return service_reply_plain(s, FTIDX_MSG_SHOW, id, EOPNOTSUPP,
					   "this daemon cannot read filters off its loop", out);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct show_wait){.requester = requester, .id = id, .file = req->file};
	snprintf(w->instance, sizeof(w->instance), "%s", req->instance);
	while (*at)
		at = &(*at)->next;
	*at = w;
	if (s->show_read)
		return SERVICE_LATER;
	r = read_begin(s);
	if (r == 0)
		return SERVICE_LATER;
	/* it was the only one: the queue was empty */
	s->show_queue = NULL;
	free(w);
	return service_reply_plain(s, FTIDX_MSG_SHOW, id, -r,
				   "cannot start a thread to read the filter", out);
}

void service_show_complete(struct service *s,
			   void (*deliver)(void *requester, struct proto_buf *frame))
{
	struct show_read *rd = s->show_read;
	struct show_wait *w = s->show_queue;
	bool settled;
	struct proto_buf frame;
	int r;

	if (!rd || !atomic_load(&rd->done))
		return;
	pthread_join(rd->thread, NULL);
	s->show_read = NULL;
	settled = rd->seq == s->write_seq;
	if (w->requester && !settled && ++w->attempts < SHOW_ATTEMPTS) {
		/* read again, after the write */
		read_free(rd);
		next_read(s, deliver);
		return;
	}
	proto_buf_init(&frame);
	r = w->requester ? show_reply(s, w, rd, settled, &frame) : 0;
	answer_first(s, &frame, r, deliver);
	proto_buf_deinit(&frame);
	read_free(rd);
	next_read(s, deliver);
}

void service_show_forget(struct service *s, void *requester)
{
	struct show_wait **at = &s->show_queue;

	while (*at) {
		struct show_wait *w = *at;

		if (w->requester != requester) {
			at = &w->next;
		} else if (w == s->show_queue && s->show_read) {
			/* its read goes on; no one gets the answer */
			w->requester = NULL;
			at = &w->next;
		} else {
			*at = w->next;
			free(w);
		}
	}
}

void service_show_shutdown(struct service *s)
{
	if (s->show_read) {
		atomic_store(&s->show_read->cancel, true);
		pthread_join(s->show_read->thread, NULL);
		s->show_read = read_free(s->show_read);
	}
	while (s->show_queue) {
		struct show_wait *w = s->show_queue;

		s->show_queue = w->next;
		free(w);
	}
}
