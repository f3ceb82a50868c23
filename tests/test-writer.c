/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writer against a model of the kernel's filter files: each write()
 * takes one token and a refused token fails it with the earlier ones kept
 * pending, close() commits whatever is pending, and a read lists the
 * committed lines as "name [module]" (or the "all functions" comment).
 * The model can refuse a chosen token and can play another writer that
 * changes the filter behind our back.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fixture-map.h"
#include "macro.h"
#include "map.h"
#include "resolve.h"
#include "testlib.h"
#include "writer.h"

/* The fixtures were read off 6.1, and so are matched by its rules. */
static const struct glob_rules fixture_rules = { GLOB_CLASS_END_TAKES_NUL };

struct kernel {
	const struct map *m;
	bool *committed, *pending;
	bool graph; /* the file takes names, not indices */
	uint32_t poison; /* refuse this index token (0: none) */
	uint32_t intruder; /* another writer enables this at close (0: none) */
	bool intrude_once;  /* ...at the next close only */
	/* what a user set there beside the functions (6.1, 6.12 and 7.2
	 * alike): a module pattern that O_TRUNC drops, a probe it keeps */
	bool pattern, pattern_pending, probe;
	unsigned writes, opens;
	/* write() takes the whole buffer, as a plain file does, and a token
	 * cut by its end goes on in the next write(), as the kernel's parser
	 * takes a token a write leaves unfinished */
	bool whole;
	char partial[32];
	size_t partial_len;
};

static int k_open(void *ctx, const char *instance _unused_, const char *file _unused_, int flags)
{
	struct kernel *k = ctx;

	k->opens++;
	if (flags & O_TRUNC)
		memset(k->pending, 0, map_size(k->m) + 1);
	else
		memcpy(k->pending, k->committed, map_size(k->m) + 1);
	k->pattern_pending = k->pattern && !(flags & O_TRUNC);
	return 42;
}

static void apply_name(struct kernel *k, const char *name, size_t len, bool on)
{
	for (uint32_t i = 1; i <= map_size(k->m); i++)
		if (!map_is_placeholder(k->m, i) && map_name_len(k->m, i) == len &&
		    memcmp(map_name(k->m, i), name, len) == 0)
			k->pending[i] = on;
}

/* whole: one index token ends; "!N" removes */
static void k_token_end(struct kernel *k)
{
	bool neg = k->partial[0] == '!';
	unsigned long idx;

	if (!k->partial_len)
		return;
	k->partial[k->partial_len] = '\0';
	idx = strtoul(k->partial + neg, NULL, 10);
	CHECK(idx >= 1 && idx <= map_size(k->m));
	if (idx >= 1 && idx <= map_size(k->m))
		k->pending[idx] = !neg;
	k->partial_len = 0;
}

static ssize_t k_write_whole(struct kernel *k, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\n')
			k_token_end(k);
		else if (k->partial_len + 1 < sizeof(k->partial))
			k->partial[k->partial_len++] = buf[i];
	}
	return (ssize_t)len;
}

static ssize_t k_write(void *ctx, int fd, const char *buf, size_t len)
{
	struct kernel *k = ctx;
	size_t i = 0, start, end;
	bool neg;

	CHECK_EQ_INT(fd, 42);
	k->writes++;
	if (k->whole)
		return k_write_whole(k, buf, len);
	while (i < len && (buf[i] == ' ' || buf[i] == '\n'))
		i++;
	start = i;
	while (i < len && buf[i] != ' ' && buf[i] != '\n')
		i++;
	end = i;
	/* a token that ends the buffer without whitespace waits for close() */
	CHECK(end < len);
	while (i < len && (buf[i] == ' ' || buf[i] == '\n'))
		i++;
	neg = buf[start] == '!';
	start += neg;
	if (end - start == 9 && memcmp(buf + start, ":mod:nfsd", 9) == 0) {
		k->pattern_pending = !neg;
	} else if (k->graph) {
		apply_name(k, buf + start, end - start, !neg);
	} else {
		unsigned long idx = strtoul(buf + start, NULL, 10);

		if (idx == 0 || idx > map_size(k->m) || idx == k->poison)
			return -EINVAL;
		k->pending[idx] = !neg;
	}
	return (ssize_t)i;
}

static int k_close(void *ctx, int fd _unused_)
{
	struct kernel *k = ctx;

	k_token_end(k);
	memcpy(k->committed, k->pending, map_size(k->m) + 1);
	k->pattern = k->pattern_pending;
	if (k->intruder)
		k->committed[k->intruder] = true;
	if (k->intrude_once)
		k->intruder = 0;
	return 0;
}

static int k_read(void *ctx, const char *instance _unused_, const char *file _unused_, char **buf,
		  size_t *len)
{
	struct kernel *k = ctx;
	size_t cap = 64, n = 0;
	char *s = malloc(cap);
	bool any = false;

	s[0] = '\0';
	for (uint32_t i = 1; i <= map_size(k->m); i++) {
		char line[700];
		int l;

		if (!k->committed[i])
			continue;
		any = true;
		l = snprintf(line, sizeof(line), "%s%s%s%s\n", map_name(k->m, i),
			     map_module(k->m, i) ? " [" : "",
			     map_module(k->m, i) ? map_module(k->m, i) : "",
			     map_module(k->m, i) ? "]" : "");
		while (n + (size_t)l + 1 > cap)
			s = realloc(s, cap *= 2);
		memcpy(s + n, line, (size_t)l + 1);
		n += (size_t)l;
	}
	if (!any) {
		free(s);
		s = strdup("#### all functions enabled ####\n");
		n = strlen(s);
	}
	for (int extra = 0; extra < 2; extra++) {
		const char *line = extra ? "schedule:traceoff:unlimited\n" : ":mod:nfsd\n";

		if (!(extra ? k->probe : k->pattern))
			continue;
		s = realloc(s, n + strlen(line) + 1);
		memcpy(s + n, line, strlen(line) + 1);
		n += strlen(line);
	}
	*buf = s;
	*len = n;
	return 0;
}

static struct kernel model;
static const struct writer_io model_io = {
	.open = k_open, .write = k_write, .close = k_close, .read = k_read,
	.ctx = &model, .reads_names = true,
};

static void reset(const struct map *m)
{
	free(model.committed);
	free(model.pending);
	model = (struct kernel){ .m = m };
	model.committed = calloc(map_size(m) + 1, 1);
	model.pending = calloc(map_size(m) + 1, 1);
}

static size_t enabled(void)
{
	size_t n = 0;

	for (uint32_t i = 1; i <= map_size(model.m); i++)
		n += model.committed[i];
	return n;
}

static int apply(const struct map *m, uint16_t op, uint16_t file, const char *const *tokens,
		 size_t n, struct writer_result *out, const uint32_t *prev, size_t n_prev)
{
	struct resolution res;
	int r;

	CHECK_EQ_INT(resolve_batch(m, &fixture_rules, tokens, n, &res), 0);
	CHECK_EQ_INT(res.n_failed, 0);
	{
		struct writer_request wr = { .file = file, .op = op, .previous = prev,
					     .n_previous = n_prev, .tokens = tokens, .n_tokens = n };

		r = writer_apply(&model_io, m, &wr, &res, out);
		/* as the service does: a failed write is put back */
		if (r < 0 && out->before)
			out->restored = writer_restore(&model_io, m, &wr, out) == 0;
		writer_result_deinit(out);
	}
	resolution_deinit(&res);
	return r;
}

/* A failed write beside a user's probe and module pattern: the restore
 * brings the pattern back (its O_TRUNC dropped it) and leaves the probe
 * alone (it kept it), and checks out; a write read back beside them
 * checks out too. */
static void test_restore_keeps_what_is_not_ours(const struct map *m)
{
	const char *vfs[] = { "vfs_*" }, *rd[] = { "vfs_read" };
	struct writer_result wr;
	struct resolution res;

	reset(m);
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, rd, 1, &wr, NULL, 0), 0);
	model.pattern = model.probe = true;
	CHECK_EQ_INT(resolve_batch(m, &fixture_rules, vfs, 1, &res), 0);
	model.poison = res.enable[res.n_enable / 2];
	resolution_deinit(&res);
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, vfs, 1, &wr, NULL, 0), -EINVAL);
	CHECK(wr.restored);
	CHECK(model.pattern);
	CHECK(model.probe);
	CHECK_EQ_INT(enabled(), 1);
	model.poison = 0;
	CHECK_EQ_INT(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, vfs, 1, &wr, NULL, 0), 0);
	CHECK(model.pattern);
	model.pattern = model.probe = false;
}

/* A file whose write() takes all it is given (a directory standing in
 * for tracefs) gets the batch in 64 KiB chunks, which cut tokens in two:
 * each token is counted once, as the kernel takes it once. */
static void test_tokens_across_chunks(const struct map *m)
{
	const char *all[] = { "*" };
	struct writer_result wr;
	size_t n;

	reset(m);
	model.whole = true;
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, all, 1, &wr, NULL, 0), 0);
	n = enabled();
	/* tens of thousands of indices: several chunks, some cut mid-token */
	CHECK(n > 30000);
	CHECK(model.writes > 2);
	CHECK_EQ_INT(wr.written, n);
	model.whole = false;
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	const char *vfs[] = { "vfs_*" }, *ts[] = { "type_show" }, *rd[] = { "vfs_read", "!vfs_write" };
	struct writer_result wr;
	struct map *m = NULL;
	bool *snapshot;
	size_t n_vfs;

	m = fixture_map(fixtures, "debian-6.1-loop-dummy.txt");
	reset(m);

	/* a SET is written in one open, token by token, and verified */
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, vfs, 1, &wr, NULL, 0), 0);
	n_vfs = enabled();
	CHECK(n_vfs > 50);
	CHECK_EQ_INT(wr.written, n_vfs);
	CHECK_EQ_INT(model.opens, 1);
	CHECK_EQ_INT(model.writes, n_vfs); /* the kernel takes one token per write() */

	/* ADD with a removal, then REMOVE: bounds-verified */
	CHECK_EQ_INT(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, ts, 1, &wr, NULL, 0), 0);
	CHECK_EQ_INT(enabled(), n_vfs + 17);
	CHECK_EQ_INT(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, rd, 2, &wr, NULL, 0), 0);
	CHECK_EQ_INT(enabled(), n_vfs + 17 - 1);
	CHECK_EQ_INT(apply(m, FTIDX_OP_REMOVE, FTIDX_FILE_FILTER, ts, 1, &wr, NULL, 0), 0);
	CHECK_EQ_INT(enabled(), n_vfs - 1);

	/* the kernel refuses a token midway: the old filter comes back */
	snapshot = malloc(map_size(m) + 1);
	memcpy(snapshot, model.committed, map_size(m) + 1);
	{
		struct resolution res;
		const char *all[] = { "*alloc*" };

		CHECK_EQ_INT(resolve_batch(m, &fixture_rules, all, 1, &res), 0);
		model.poison = res.enable[res.n_enable / 2];
		resolution_deinit(&res);
	}
	{
		const char *all[] = { "*alloc*" };

		CHECK(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, all, 1, &wr, NULL, 0) == -EINVAL);
		CHECK(wr.restored);
		CHECK(wr.written > 0); /* some went in before the refusal */
		CHECK(memcmp(snapshot, model.committed, map_size(m) + 1) == 0);
		CHECK(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, all, 1, &wr, NULL, 0) == -EINVAL);
		CHECK(wr.restored);
		CHECK(memcmp(snapshot, model.committed, map_size(m) + 1) == 0);
	}
	model.poison = 0;

	/* another writer changes the filter behind our back: caught, undone */
	{
		uint32_t pos, count;

		CHECK(map_find_name(m, "schedule", 8, map_hash_name("schedule", 8), &pos, &count));
		model.intruder = map_sorted_at(m, pos);
	}
	/* ...once: the write is caught and the restore reads back right */
	model.intrude_once = true;
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, ts, 1, &wr, NULL, 0), -EIO);
	CHECK(wr.why && strstr(wr.why, "differs"));
	CHECK(wr.restored);
	CHECK(memcmp(snapshot, model.committed, map_size(m) + 1) == 0);
	/* ...at every close: the restore's own check catches it too */
	{
		uint32_t pos, count;

		CHECK(map_find_name(m, "schedule", 8, map_hash_name("schedule", 8), &pos, &count));
		model.intruder = map_sorted_at(m, pos);
	}
	model.intrude_once = false;
	CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, ts, 1, &wr, NULL, 0), -EIO);
	CHECK(!wr.restored);
	model.committed[model.intruder] = false;
	model.intruder = 0;
	CHECK(memcmp(snapshot, model.committed, map_size(m) + 1) == 0);

	/* duplicates: 3 of 17 type_show copies, written by ftidx, restored exactly */
	{
		struct resolution res;
		uint32_t three[3];
		char t0[16], t1[16], t2[16];
		const char *toks[] = { t0, t1, t2 };
		const char *all[] = { "*alloc*" };

		CHECK_EQ_INT(resolve_batch(m, &fixture_rules, ts, 1, &res), 0);
		memcpy(three, res.enable + 5, sizeof(three));
		resolution_deinit(&res);
		snprintf(t0, sizeof(t0), "%u", three[0]);
		snprintf(t1, sizeof(t1), "%u", three[1]);
		snprintf(t2, sizeof(t2), "%u", three[2]);
		CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_FILTER, toks, 3, &wr, NULL, 0), 0);
		memcpy(snapshot, model.committed, map_size(m) + 1);
		CHECK_EQ_INT(resolve_batch(m, &fixture_rules, all, 1, &res), 0);
		model.poison = res.enable[3];
		resolution_deinit(&res);
		CHECK(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, all, 1, &wr, three, 3) == -EINVAL);
		CHECK(wr.restored && !wr.approximate);
		CHECK(memcmp(snapshot, model.committed, map_size(m) + 1) == 0);
		/* without the record, the restore is said to be approximate */
		CHECK(apply(m, FTIDX_OP_ADD, FTIDX_FILE_FILTER, all, 1, &wr, NULL, 0) == -EINVAL);
		CHECK(wr.restored && wr.approximate);
		model.poison = 0;
	}

	/* SET to nothing is refused before any write; CLEAR empties */
	model.opens = 0;
	{
		struct resolution empty = { 0 };

		CHECK_EQ_INT(writer_apply(&model_io, m,
					  &(struct writer_request){ .file = FTIDX_FILE_FILTER,
								    .op = FTIDX_OP_SET },
					  &empty, &wr),
			     -ENODATA);
		CHECK_EQ_INT(model.opens, 0);
		CHECK_EQ_INT(writer_apply(&model_io, m,
					  &(struct writer_request){ .file = FTIDX_FILE_FILTER,
								    .op = FTIDX_OP_CLEAR },
					  &empty, &wr),
			     0);
		CHECK_EQ_INT(enabled(), 0);
	}

	/* graph files take the patterns as written, an index as its name: a
	 * name selects every line that carries it */
	reset(m);
	model.graph = true;
	{
		struct resolution res;
		const char *one[] = { "type_show" };
		char idx[16];
		const char *by_index[] = { idx };

		CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_GRAPH, one, 1, &wr, NULL, 0), 0);
		CHECK_EQ_INT(wr.written, 1);
		CHECK_EQ_INT(enabled(), 17);
		CHECK_EQ_INT(resolve_batch(m, &fixture_rules, ts, 1, &res), 0);
		snprintf(idx, sizeof(idx), "%u", res.enable[3]);
		resolution_deinit(&res);
		CHECK_EQ_INT(apply(m, FTIDX_OP_CLEAR, FTIDX_FILE_GRAPH, NULL, 0, &wr, NULL, 0), 0);
		CHECK_EQ_INT(enabled(), 0);
		/* one copy asked for by index: the kernel takes the name, all 17 */
		CHECK_EQ_INT(apply(m, FTIDX_OP_SET, FTIDX_FILE_GRAPH, by_index, 1, &wr, NULL, 0), 0);
		CHECK_EQ_INT(enabled(), 17);
	}

	free(snapshot);
	test_restore_keeps_what_is_not_ours(m);
	test_tokens_across_chunks(m);
	free(model.committed);
	free(model.pending);
	map_free(m);
	return test_finish("test-writer");
}
