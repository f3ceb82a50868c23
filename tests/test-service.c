/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's request handling against a model kernel whose module
 * state changes in the middle of a request.
 *
 * The model keeps its filter as lines of text ("name [module]", with the
 * rank among the lines of that text), so that it survives a change of map
 * the way the kernel's records do. A chosen write makes a module go away
 * (the fixture in the tracing directory becomes the one without loop) and
 * is refused, so that the service must put the old filter back on a
 * re-read map, where ftidx's record of what it wrote belongs to the old
 * one. Run under AddressSanitizer, a use of that stale record is a
 * failure too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fake-tracefs.h"
#include "intent.h"
#include "macro.h"
#include "proto.h"
#include "service.h"
#include "service-map.h"
#include "service-recover.h"
#include "service-state.h"
#include "service-written.h"
#include "testlib.h"
#include "tracing.h"
#include "writer.h"

static const char *fixtures;
static char dir[64];

/* The fake tracing directory as the state directory too. */
static int state_fd(void)
{
	const char *why;
	int fd;

	return intent_open_dir(dir, &fd, &why) == 0 ? fd : -1;
}

/* The model: per filter file (enum ftidx_filter_file), which lines are
 * enabled, per index of the current map. */
#define FILES 5

struct kernel {
	struct klines *m;
	bool *committed_of[FILES], *pending_of[FILES];
	uint32_t swap_at;  /* at this index token: rmmod loop, then refuse it */
	const char *after; /* the fixture after the swap */
	uint16_t refuse_file; /* this file refuses index @refuse_at */
	uint32_t refuse_at;
	bool swap_takes;      /* the token at @swap_at is taken, in the new map */
	uint32_t load_at;     /* at this index token, a module load adds a record */
	unsigned reads;       /* filter reads, each a walk of the kernel's records */
	/* the real file under the fake tracing directory, written as ftidx's
	 * writes go (its inotify events are theirs); at this index token
	 * another writer writes it too, in the window between ftidx's
	 * taking of events before its write and after */
	int real_fd;
	uint32_t race_at;
	/* set_ftrace_filter's ":mod:nfsd", kept for a module not loaded: an
	 * O_TRUNC open drops it, as the kernel does */
	bool pattern, pattern_pending;
	bool look_for_intent; /* at the next write: is the intent recorded? */
	struct intent seen;   /* ...what it said */
	int seen_r;
};

/* set_ftrace_filter's state, which most checks look at */
#define committed committed_of[FTIDX_FILE_FILTER]
#define pending pending_of[FTIDX_FILE_FILTER]

static struct kernel model;

/*
 * The model's own reading of a fixture: its lines, each a name and the
 * module in brackets after it, if any. Not map.c's: what the service is
 * judged against must not come from the code under test.
 */
struct klines {
	size_t n;
	char *text;
	char **name, **module; /* per index, 1-based; module NULL in vmlinux */
};

static struct klines *kl_new(char *text, size_t len)
{
	struct klines *k = calloc(1, sizeof(*k));
	size_t cap = 1;

	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	k->text = text;
	k->name = calloc(cap + 1, sizeof(char *));
	k->module = calloc(cap + 1, sizeof(char *));
	for (char *line = text, *end; line < text + len && *line; line = end + 1) {
		char *sp, *close;

		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		*end = '\0';
		k->n++;
		k->name[k->n] = line;
		sp = strchr(line, ' ');
		if (sp && sp[1] == '[' && (close = strchr(sp, ']'))) {
			*sp = '\0';
			*close = '\0';
			k->module[k->n] = sp + 2;
		}
		if (end == text + len)
			break;
	}
	return k;
}

static uint32_t kl_size(const struct klines *k)
{
	return (uint32_t)k->n;
}

static const char *kl_name(const struct klines *k, uint32_t i)
{
	return k->name[i];
}

static size_t kl_name_len(const struct klines *k, uint32_t i)
{
	return strlen(k->name[i]);
}

static const char *kl_module(const struct klines *k, uint32_t i)
{
	return k->module[i];
}

static void kl_free(struct klines *k)
{
	if (!k)
		return;
	free(k->text);
	free(k->name);
	free(k->module);
	free(k);
}

static struct klines *load_fixture(const char *name)
{
	char path[4096];
	size_t len;
	char *text, info[64];

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	text = test_read_file(path, &len);
	fake_write(dir, "available_filter_functions", text, len);
	snprintf(info, sizeof(info), "%lu pages:1 groups: 1\n", count_lines(text, len));
	fake_write(dir, "dyn_ftrace_total_info", info, strlen(info));
	return kl_new(text, len);
}

/* Index @i of @from as an index of @to: the same text, the same rank among
 * the lines of that text, or 0 when that line went away. */
static uint32_t same_line(const struct klines *from, uint32_t i, const struct klines *to)
{
	const char *name = kl_name(from, i), *mod = kl_module(from, i);
	size_t len = kl_name_len(from, i), rank = 0;

	for (uint32_t k = 1; k < i; k++)
		rank += kl_name_len(from, k) == len && !memcmp(kl_name(from, k), name, len) &&
			(kl_module(from, k) ? mod && !strcmp(kl_module(from, k), mod) : !mod);
	for (uint32_t k = 1; k <= kl_size(to); k++) {
		bool same = kl_name_len(to, k) == len && !memcmp(kl_name(to, k), name, len) &&
			    (kl_module(to, k) ? mod && !strcmp(kl_module(to, k), mod) : !mod);

		if (same && rank-- == 0)
			return k;
	}
	return 0;
}

static bool *translate(const bool *set, const struct klines *from, const struct klines *to)
{
	bool *v = calloc(kl_size(to) + 1, 1);

	for (uint32_t i = 1; i <= kl_size(from); i++) {
		uint32_t k = set[i] ? same_line(from, i, to) : 0;

		if (k)
			v[k] = true;
	}
	return v;
}

/* rmmod loop: the lines after loop's move down. */
static void swap_map(void)
{
	struct klines *next = load_fixture(model.after);

	for (int f = 1; f < FILES; f++) {
		bool *c = translate(model.committed_of[f], model.m, next);
		bool *p = translate(model.pending_of[f], model.m, next);

		free(model.committed_of[f]);
		free(model.pending_of[f]);
		model.committed_of[f] = c;
		model.pending_of[f] = p;
	}
	kl_free(model.m);
	model.m = next;
	model.swap_at = 0;
}

static void model_start(const char *fixture)
{
	model.real_fd = -1;
	model.m = load_fixture(fixture);
	for (int f = 1; f < FILES; f++) {
		model.committed_of[f] = calloc(kl_size(model.m) + 1, 1);
		model.pending_of[f] = calloc(kl_size(model.m) + 1, 1);
	}
}

static void model_end(void)
{
	for (int f = 1; f < FILES; f++) {
		free(model.committed_of[f]);
		free(model.pending_of[f]);
	}
	kl_free(model.m);
	model = (struct kernel){ 0 };
}

static int file_of(const char *name)
{
	for (uint16_t f = 1; f < FILES; f++)
		if (strcmp(writer_file_name(f), name) == 0)
			return f;
	return -ENOENT;
}

static int k_open(void *ctx _unused_, const char *instance _unused_, const char *file, int flags)
{
	int f = file_of(file);

	if (f < 0)
		return f;
	if (flags & O_TRUNC)
		memset(model.pending_of[f], 0, kl_size(model.m) + 1);
	else
		memcpy(model.pending_of[f], model.committed_of[f], kl_size(model.m) + 1);
	if (f == FTIDX_FILE_FILTER) {
		char path[128];

		model.pattern_pending = model.pattern && !(flags & O_TRUNC);

		snprintf(path, sizeof(path), "%s/set_ftrace_filter", dir);
		model.real_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	}
	return f;
}

static ssize_t k_write(void *ctx _unused_, int fd, const char *buf, size_t len)
{
	if (model.look_for_intent) {
		const char *why;

		_cleanup_close_ int dfd = state_fd();

		model.look_for_intent = false;
		model.seen_r = intent_load(dfd, &model.seen, &why);
	}
	size_t i = 0;
	bool neg;
	unsigned long idx;

	while (i < len && (buf[i] == ' ' || buf[i] == '\n'))
		i++;
	neg = buf[i] == '!';
	if (fd == FTIDX_FILE_FILTER && !strncmp(buf + i, ":mod:nfsd", 9)) {
		model.pattern_pending = true;
		return (ssize_t)(i + 10 <= len ? i + 10 : len);
	}
	idx = strtoul(buf + i + neg, NULL, 10);
	while (i < len && buf[i] != ' ' && buf[i] != '\n')
		i++;
	while (i < len && (buf[i] == ' ' || buf[i] == '\n'))
		i++;
	if (model.swap_at && idx == model.swap_at) {
		swap_map();
		if (!model.swap_takes)
			return -EINVAL;
	}
	if (model.load_at && idx == model.load_at) {
		char info[64];

		/* records are appended: the indices written stay what they were */
		snprintf(info, sizeof(info), "%u pages:1 groups: 1\n", kl_size(model.m) + 1);
		fake_write(dir, "dyn_ftrace_total_info", info, strlen(info));
		model.load_at = 0;
	}
	if (idx == 0 || idx > kl_size(model.m) || (fd == model.refuse_file && idx == model.refuse_at))
		return -EINVAL;
	model.pending_of[fd][idx] = !neg;
	if (fd == FTIDX_FILE_FILTER && model.real_fd >= 0)
		(void)!write(model.real_fd, "\n", 1);
	if (model.race_at && idx == model.race_at) {
		fake_write(dir, "set_ftrace_filter", "1\n", 2);
		model.race_at = 0;
	}
	return (ssize_t)i;
}

static int k_close(void *ctx _unused_, int fd)
{
	memcpy(model.committed_of[fd], model.pending_of[fd], kl_size(model.m) + 1);
	if (fd == FTIDX_FILE_FILTER)
		model.pattern = model.pattern_pending;
	if (fd == FTIDX_FILE_FILTER && model.real_fd >= 0) {
		close(model.real_fd);
		model.real_fd = -1;
	}
	return 0;
}

static int k_read(void *ctx _unused_, const char *instance _unused_, const char *file, char **buf,
		  size_t *len)
{
	size_t cap = 4096, n = 0;
	int f = file_of(file);
	char *s;

	if (f < 0)
		return f;
	model.reads++;
	s = malloc(cap);

	s[0] = '\0';
	for (uint32_t i = 1; i <= kl_size(model.m); i++) {
		char line[700];
		int l;

		if (!model.committed_of[f][i])
			continue;
		l = snprintf(line, sizeof(line), "%s%s%s%s\n", kl_name(model.m, i),
			     kl_module(model.m, i) ? " [" : "",
			     kl_module(model.m, i) ? kl_module(model.m, i) : "",
			     kl_module(model.m, i) ? "]" : "");
		while (n + (size_t)l + 1 > cap)
			s = realloc(s, cap *= 2);
		memcpy(s + n, line, (size_t)l + 1);
		n += (size_t)l;
	}
	if (n == 0) {
		free(s);
		s = strdup("#### all functions enabled ####\n");
		n = strlen(s);
	}
	if (f == FTIDX_FILE_FILTER && model.pattern) {
		s = realloc(s, n + 11);
		memcpy(s + n, ":mod:nfsd\n", 11);
		n += 10;
	}
	*buf = s;
	*len = n;
	return 0;
}

static const struct writer_io model_io = {
	.open = k_open, .write = k_write, .close = k_close, .read = k_read,
	.reads_names = true,
};

/* Handle a FILTER request of @tokens; the reply's status, or -1. */
static int filter(struct service *s, uint16_t op, const char **tokens, uint32_t n)
{
	struct proto_request req = {
		.type = FTIDX_MSG_FILTER, .op = op, .file = FTIDX_FILE_FILTER, .instance = "",
		.tokens = tokens, .n_tokens = n,
	};
	struct ftidx_frame_header h;
	struct proto_reply rep;
	struct proto_buf out;
	const char *why;
	int status = -1;

	proto_buf_init(&out);
	CHECK_EQ_INT(service_handle(s, &req, 1, &out), 0);
	memcpy(&h, out.data, sizeof(h));
	if (proto_decode_reply(h.version, h.type, out.data + sizeof(h), h.length, &rep, &why) == 0) {
		status = rep.status;
		printf("reply: status %d, %s\n", rep.status, rep.message);
		proto_reply_deinit(&rep);
	}
	proto_buf_deinit(&out);
	return status;
}

/* The k-th (0-based) line named @name in @m. */
static uint32_t nth(const struct klines *m, const char *name, size_t k)
{
	for (uint32_t i = 1; i <= kl_size(m); i++)
		if (kl_name_len(m, i) == strlen(name) && !memcmp(kl_name(m, i), name, strlen(name)) &&
		    k-- == 0)
			return i;
	return 0;
}

static size_t enabled_in(uint16_t file)
{
	size_t n = 0;

	for (uint32_t i = 1; i <= kl_size(model.m); i++)
		n += model.committed_of[file][i];
	return n;
}

static size_t enabled_count(void)
{
	return enabled_in(FTIDX_FILE_FILTER);
}

/*
 * ftidx wrote two of type_show's seventeen lines (the 4th and the 9th),
 * then a module goes away in the middle of the next write, which fails:
 * the filter put back must be those two lines, not the first two.
 */
static void restore_after_module_change(void)
{
	struct service *s = NULL;
	char a[16], b[16], c[16];
	const char *set[2] = { a, b }, *add[2] = { "vfs_read", c };
	uint32_t t4, t9, lo;

	model_start("debian-6.1-loop-dummy.txt");
	model.after = "debian-6.1-dummy-only.txt";
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	t4 = nth(model.m, "type_show", 3);
	t9 = nth(model.m, "type_show", 8);
	lo = nth(model.m, "lo_release", 0);
	CHECK(t4 && t9 && lo && kl_module(model.m, lo));
	snprintf(a, sizeof(a), "%u", t4);
	snprintf(b, sizeof(b), "%u", t9);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, set, 2), 0);
	CHECK(model.committed[t4] && model.committed[t9] && enabled_count() == 2);

	/* the second token makes loop go, and is refused */
	snprintf(c, sizeof(c), "%u", lo);
	model.swap_at = lo;
	CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, add, 2), EINVAL);
	CHECK_EQ_INT(kl_size(model.m), 38261);
	/* type_show's lines are core lines: the same indices in both maps */
	CHECK_EQ_INT(nth(model.m, "type_show", 3), t4);
	CHECK(model.committed[t4] && model.committed[t9]);
	CHECK_EQ_INT(enabled_count(), 2);
	CHECK_EQ_INT(service_map_generation(s), 2);

	service_free(s);
	model_end();
}

/* The status of the reply in @out, or -1. */
static int reply_status(const struct proto_buf *out)
{
	struct ftidx_frame_header h;
	struct proto_reply rep;
	const char *why;
	int status = -1;

	if (out->len < sizeof(h))
		return -1;
	memcpy(&h, out->data, sizeof(h));
	if (proto_decode_reply(h.version, h.type, out->data + sizeof(h), h.length, &rep, &why) == 0) {
		status = rep.status;
		proto_reply_deinit(&rep);
	}
	return status;
}

/* Wait for work done off the loop (a rebuild) and take it in. */
static void complete_one(struct service *s)
{
	struct pollfd pfd = { .fd = service_completion_fd(s), .events = POLLIN };

	CHECK_EQ_INT(poll(&pfd, 1, 10000), 1);
	service_complete(s, NULL);
}

/*
 * The same failure, stepped as the server steps jobs: the map is read
 * anew off the loop thread, so the step that fails does not read it. It
 * waits (SERVICE_BLOCKED), and meanwhile a resolve is answered from the
 * map there is, while another write waits for the restore to be done.
 * Then the first is answered, with its filter put back.
 */
static void restore_off_the_loop(void)
{
	struct service *s = NULL;
	struct service_job *write = NULL, *read = NULL, *other = NULL;
	char a[16], c[16];
	const char *set[1] = { a }, *add[2] = { "vfs_read", c }, *look[1] = { "vfs_write" };
	struct proto_request req_set = { .type = FTIDX_MSG_FILTER, .op = FTIDX_OP_SET,
					 .file = FTIDX_FILE_FILTER, .instance = "",
					 .tokens = set, .n_tokens = 1 };
	struct proto_request req_add = req_set, req_other = req_set;
	struct proto_request req_read = { .type = FTIDX_MSG_RESOLVE, .tokens = look, .n_tokens = 1 };
	struct proto_buf out;
	uint32_t t4, lo;
	int r;

	model_start("debian-6.1-loop-dummy.txt");
	model.after = "debian-6.1-dummy-only.txt";
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	t4 = nth(model.m, "type_show", 3);
	lo = nth(model.m, "lo_release", 0);
	snprintf(a, sizeof(a), "%u", t4);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, set, 1), 0);

	snprintf(c, sizeof(c), "%u", lo);
	model.swap_at = lo;
	req_add.op = FTIDX_OP_ADD;
	req_add.tokens = add;
	req_add.n_tokens = 2;
	proto_buf_init(&out);
	CHECK_EQ_INT(service_job_new(s, &req_add, 1, NULL, &write), 0);
	do
		r = service_step(s, write, UINT64_MAX, &out);
	while (r == SERVICE_MORE);
	CHECK_EQ_INT(r, SERVICE_BLOCKED);
	CHECK_EQ_INT(out.len, 0);
	/* the step did not read the map: the old one stands */
	CHECK_EQ_INT(service_map_generation(s), 1);

	CHECK_EQ_INT(service_job_new(s, &req_read, 2, NULL, &read), 0);
	CHECK_EQ_INT(service_job_new(s, &req_other, 3, NULL, &other), 0);
	r = service_step(s, other, UINT64_MAX, &out);
	CHECK_EQ_INT(r, SERVICE_BLOCKED);
	/* a read waits a while for the rebuild, then answers from the old
	 * map (its generation) */
	do {
		r = service_step(s, read, UINT64_MAX, &out);
		if (r == SERVICE_BLOCKED)
			usleep(20 * 1000);
	} while (r == SERVICE_BLOCKED || r == SERVICE_MORE);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(reply_status(&out), 0);
	proto_buf_deinit(&out);

	/* the rebuild comes in, the restore is made */
	complete_one(s);
	CHECK_EQ_INT(service_map_generation(s), 2);
	CHECK(model.committed[t4] && enabled_count() == 1);
	/* (resolved again on the new map, where the index is past the end) */
	proto_buf_init(&out);
	do
		r = service_step(s, write, UINT64_MAX, &out);
	while (r == SERVICE_MORE);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(reply_status(&out), EINVAL);
	proto_buf_deinit(&out);
	/* and the other write goes on */
	proto_buf_init(&out);
	do
		r = service_step(s, other, UINT64_MAX, &out);
	while (r == SERVICE_MORE);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(reply_status(&out), 0);
	proto_buf_deinit(&out);

	service_job_free(write);
	service_job_free(read);
	service_job_free(other);
	service_free(s);
	model_end();
}

/* Handle a CHANGE of filter and notrace; the reply's status, or -1. @rep
 * points into the frame it came in, which lives until the next call. */
static int change(struct service *s, uint16_t op, const char **filter, uint32_t n_filter,
		  const char **notrace, uint32_t n_notrace, struct proto_reply *rep)
{
	static struct proto_buf out;
	const char *tokens[8];
	struct proto_request req = {
		.type = FTIDX_MSG_CHANGE, .instance = "", .tokens = tokens,
		.n_tokens = n_filter + n_notrace, .n_changes = 2,
		.changes = { { op, FTIDX_FILE_FILTER, 0, n_filter },
			     { op, FTIDX_FILE_NOTRACE, n_filter, n_notrace } },
	};
	struct ftidx_frame_header h;
	const char *why;
	int status = -1;

	proto_buf_deinit(&out);
	if (!s)
		return -1; /* only the frame freed */
	memcpy(tokens, filter, sizeof(*filter) * n_filter);
	memcpy(tokens + n_filter, notrace, sizeof(*notrace) * n_notrace);
	CHECK_EQ_INT(service_handle(s, &req, 7, &out), 0);
	memcpy(&h, out.data, sizeof(h));
	CHECK_EQ_INT(h.type, FTIDX_MSG_CHANGE | FTIDX_MSG_REPLY);
	if (proto_decode_reply(h.version, h.type, out.data + sizeof(h), h.length, rep, &why) == 0)
		status = rep->status;
	else
		*rep = (struct proto_reply){ 0 };
	return status;
}

/*
 * A change of two files is all or nothing: when the kernel refuses a
 * token of the second file, the first one, already written and
 * committed, is put back too.
 */
static void change_all_or_nothing(void)
{
	struct service *s = NULL;
	char a[16], b[16], c[16], d[16];
	const char *f1[] = { a }, *n1[] = { b };
	const char *f2[] = { c }, *n2[] = { d, a };
	struct proto_reply rep;

	model_start("debian-6.1-loop-dummy.txt");
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	snprintf(a, sizeof(a), "%u", nth(model.m, "vfs_read", 0));
	snprintf(b, sizeof(b), "%u", nth(model.m, "vfs_write", 0));
	snprintf(c, sizeof(c), "%u", nth(model.m, "vfs_open", 0));
	snprintf(d, sizeof(d), "%u", nth(model.m, "vfs_fsync", 0));

	/* both files change, and the reply says what each holds */
	CHECK_EQ_INT(change(s, FTIDX_OP_SET, f1, 1, n1, 1, &rep), 0);
	CHECK_EQ_INT(rep.n_changes, 2);
	CHECK_EQ_INT(rep.n_items, 2);
	CHECK(rep.n_changes == 2 && rep.changes[0].file == FTIDX_FILE_FILTER &&
	      rep.changes[0].n_enable == 1 && rep.changes[0].enable[0] == (uint32_t)atoi(a) &&
	      rep.changes[1].file == FTIDX_FILE_NOTRACE && rep.changes[1].n_enable == 1 &&
	      rep.changes[1].enable[0] == (uint32_t)atoi(b));
	proto_reply_deinit(&rep);
	CHECK(model.committed_of[FTIDX_FILE_FILTER][atoi(a)] && enabled_in(FTIDX_FILE_FILTER) == 1);
	CHECK(model.committed_of[FTIDX_FILE_NOTRACE][atoi(b)] && enabled_in(FTIDX_FILE_NOTRACE) == 1);

	/* notrace refuses its second token: set_ftrace_filter, written and
	 * committed before, is put back as well */
	model.refuse_file = FTIDX_FILE_NOTRACE;
	model.refuse_at = (uint32_t)atoi(a);
	CHECK_EQ_INT(change(s, FTIDX_OP_SET, f2, 1, n2, 2, &rep), EINVAL);
	CHECK(strstr(rep.message, "set_ftrace_notrace") != NULL);
	CHECK(strstr(rep.message, "every file of the change was put back") != NULL);
	proto_reply_deinit(&rep);
	CHECK(model.committed_of[FTIDX_FILE_FILTER][atoi(a)] && enabled_in(FTIDX_FILE_FILTER) == 1);
	CHECK(!model.committed_of[FTIDX_FILE_FILTER][atoi(c)]);
	CHECK(model.committed_of[FTIDX_FILE_NOTRACE][atoi(b)] && enabled_in(FTIDX_FILE_NOTRACE) == 1);

	/* a refused pattern in either file: nothing is written to any */
	model.refuse_file = 0;
	n2[1] = "no_such_function_anywhere";
	CHECK_EQ_INT(change(s, FTIDX_OP_ADD, f2, 1, n2, 2, &rep), EINVAL);
	CHECK_EQ_INT(rep.n_failed, 1);
	CHECK(rep.n_items == 3 && rep.items[2].status == ENOENT);
	proto_reply_deinit(&rep);
	CHECK(enabled_in(FTIDX_FILE_FILTER) == 1 && enabled_in(FTIDX_FILE_NOTRACE) == 1);

	/* a SET that selects nothing in the second file: refused before the
	 * first is written */
	n2[0] = "!*";
	n2[1] = a;
	CHECK_EQ_INT(change(s, FTIDX_OP_SET, f2, 1, n2, 1, &rep), ENODATA);
	proto_reply_deinit(&rep);
	CHECK(!model.committed_of[FTIDX_FILE_FILTER][atoi(c)]);

	change(NULL, 0, NULL, 0, NULL, 0, &rep);
	service_free(s);
	model_end();
}

/* The audit's read of a large filter, which takes seconds: until it is
 * told to stop, or 5 s. Run on the audit's thread: it touches nothing of
 * the model's until then. */
static atomic_int audit_reads, audit_reads_cut;

static int k_read_slowly(void *ctx, const char *instance, const char *file,
			 const atomic_bool *cancel, char **buf, size_t *len)
{
	atomic_fetch_add(&audit_reads, 1);
	for (int i = 0; i < 500; i++) {
		if (atomic_load(cancel)) {
			atomic_fetch_add(&audit_reads_cut, 1);
			return -ECANCELED;
		}
		usleep(10 * 1000);
	}
	return k_read(ctx, instance, file, buf, len);
}

/*
 * The background audit reads a written filter back once writes have been
 * quiet for a while; a write that comes while it reads stops the read at
 * once (on a small machine the two would contend), and it is made again
 * later. ftidxd's end stops one too.
 */
static void audit_yields_to_writes(void)
{
	struct writer_io slow_io = model_io;
	const char *a[] = { "vfs_read" }, *b[] = { "vfs_write" };
	struct service *s = NULL;
	double t0;

	slow_io.read_until = k_read_slowly;
	model_start("debian-6.1-loop-dummy.txt");
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &slow_io), 0);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 1), 0);
	/* the audit begins after 2 s of quiet */
	for (int i = 0; i < 400 && !atomic_load(&audit_reads); i++)
		usleep(10 * 1000);
	CHECK_EQ_INT(atomic_load(&audit_reads), 1);
	t0 = now_ns() / 1e6;
	CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, b, 1), 0);
	complete_one(s);
	/* (cut short, not read to its end 5 s later) */
	printf("audit: a read cut short %.0f ms after the write began\n", now_ns() / 1e6 - t0);
	CHECK_EQ_INT(atomic_load(&audit_reads_cut), 1);
	/* the next one, after 2 s more of quiet, is stopped by the end */
	for (int i = 0; i < 400 && atomic_load(&audit_reads) < 2; i++)
		usleep(10 * 1000);
	CHECK_EQ_INT(atomic_load(&audit_reads), 2);
	t0 = now_ns() / 1e6;
	service_free(s);
	printf("audit: the end cut a read short in %.0f ms\n", now_ns() / 1e6 - t0);
	CHECK_EQ_INT(atomic_load(&audit_reads_cut), 2);
	model_end();
}

/* The filter of file @f holds exactly the lines named @names, by name. */
static bool holds_names(uint16_t f, const char *const *names, size_t n)
{
	size_t on = enabled_in(f);

	for (size_t i = 0; i < n; i++)
		if (!model.committed_of[f][nth(model.m, names[i], 0)])
			return false;
	return on == n;
}

static void enable_only(uint16_t f, const char *const *names, size_t n)
{
	memset(model.committed_of[f], 0, kl_size(model.m) + 1);
	for (size_t i = 0; i < n; i++)
		model.committed_of[f][nth(model.m, names[i], 0)] = true;
}

/*
 * Writes proven by the map's fences, not by reading back (issue 13): the
 * first write to a file reads it (ftidx does not know it), later ones
 * know it from the record and read nothing; a write by someone else in
 * between is seen (inotify) and the file is read again; a fence that
 * moves during the write (a module load) falls back to reading back; and
 * --verify=full reads before and after every write.
 */
static void fenced_writes(void)
{
	const char *a[] = { "vfs_read", "vfs_write" }, *b[] = { "vfs_open" };
	struct service *s = NULL;
	char path[128];

	model_start("debian-6.1-loop-dummy.txt");
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", dir);
	fake_write(dir, "set_ftrace_filter", "", 0);
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);

	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 1); /* before: unknown */
	CHECK(holds_names(FTIDX_FILE_FILTER, a, 2));
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, b, 1), 0);
	CHECK_EQ_INT(model.reads, 0); /* known from the record, proven by the fences */
	CHECK(holds_names(FTIDX_FILE_FILTER, b, 1));
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, a, 2), 0);
	CHECK_EQ_INT(model.reads, 0);
	CHECK_EQ_INT(enabled_count(), 3);

	/* someone else writes the file: the next write reads it first */
	fake_write(dir, "set_ftrace_filter", "123\n", 4);
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, b, 1), 0);
	CHECK_EQ_INT(model.reads, 1);
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 0);

	/* another writer writes the file while ftidx does, between the
	 * events ftidx takes before its write and those it takes after: the
	 * record cannot say what the file holds, so the next write reads.
	 * (It does so before ftidx's last token: inotify merges a close
	 * queued right after another, so a writer that closes between
	 * ftidx's last write() and its close() is not told apart.) */
	model.race_at = MIN(nth(model.m, "vfs_read", 0), nth(model.m, "vfs_write", 0));
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, a, 2), 0);
	CHECK_EQ_INT(model.reads, 0);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 1);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 1);

	/* another writer leaves only vfs_open there; an ADD after it is
	 * recorded on what the file was read to hold, not on ftidx's old
	 * record (which the audit would then find wrong) */
	{
		const char *w2[] = { "vfs_write" };
		struct written *w;

		enable_only(FTIDX_FILE_FILTER, b, 1);
		fake_write(dir, "set_ftrace_filter", "x\n", 2);
		model.reads = 0;
		CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, w2, 1), 0);
		CHECK_EQ_INT(model.reads, 1);
		w = service_written_find(s, "", FTIDX_FILE_FILTER);
		CHECK(w && w->n == 2 && w->complete);
		CHECK(w && w->n == 2 && w->indices[0] == nth(model.m, "vfs_open", 0) &&
		      w->indices[1] == nth(model.m, "vfs_write", 0));
	}

	/* a module loads during the write: unproven, so read back */
	model.load_at = nth(model.m, "vfs_write", 0);
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 1);
	CHECK(holds_names(FTIDX_FILE_FILTER, a, 2));
	kl_free(load_fixture("debian-6.1-loop-dummy.txt")); /* the count as it was */

	/* --verify=full: read before and after, every time */
	service_set_verify_full(s, true);
	model.reads = 0;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, b, 1), 0);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, a, 2), 0);
	CHECK_EQ_INT(model.reads, 4);
	CHECK(holds_names(FTIDX_FILE_FILTER, a, 2));

	service_free(s);
	model_end();
}

/* The first line of module @mod in @m. */
static uint32_t first_of_module(const struct klines *m, const char *mod)
{
	for (uint32_t i = 1; i <= kl_size(m); i++)
		if (kl_module(m, i) && strcmp(kl_module(m, i), mod) == 0)
			return i;
	return 0;
}

/*
 * A module goes away in the middle of a write (the race the fences exist
 * for). Taken by name, dummy_xmit's old index is past the new end: the
 * kernel refuses it, the filter is put back, and the write is made again
 * on the new map, where dummy_xmit is found at its new index. A loop
 * function's old index, all tokens taken, now means one of dummy's: the
 * fence after the write sees the change, the read-back finds the wrong
 * function, the filter is put back, and on the new map loop's function
 * matches nothing. Either way no wrong function stays enabled.
 */
static void unload_during_write(void)
{
	struct service *s = NULL;
	const char *names[] = { "vfs_read", "dummy_xmit" };
	const char *with_loop[] = { "vfs_read", NULL };
	char loop_fn[128];
	uint32_t lo;

	model_start("debian-6.1-loop-dummy.txt");
	model.after = "debian-6.1-dummy-only.txt";
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, names, 1), 0);
	model.swap_at = nth(model.m, "vfs_read", 0);
	model.swap_takes = true;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, names, 2), 0);
	CHECK_EQ_INT(kl_size(model.m), 38261);
	CHECK(holds_names(FTIDX_FILE_FILTER, names, 2));
	CHECK_EQ_INT(service_map_generation(s), 2);
	service_free(s);
	model_end();

	model_start("debian-6.1-loop-dummy.txt");
	model.after = "debian-6.1-dummy-only.txt";
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	lo = first_of_module(model.m, "loop");
	CHECK(lo > 0 && lo <= 38261); /* in range of the map without loop */
	snprintf(loop_fn, sizeof(loop_fn), "%.*s", (int)kl_name_len(model.m, lo),
		 kl_name(model.m, lo));
	with_loop[1] = loop_fn;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, names, 1), 0);
	model.swap_at = nth(model.m, "vfs_read", 0);
	model.swap_takes = true;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, with_loop, 2), EINVAL);
	CHECK_EQ_INT(kl_size(model.m), 38261);
	/* the filter as it was: vfs_read, and none of dummy's functions */
	CHECK(holds_names(FTIDX_FILE_FILTER, names, 1));
	CHECK_EQ_INT(service_map_generation(s), 2);
	service_free(s);
	model_end();
}

/* What STATUS says recovery at start found. */
static void status_recovery(struct service *s, char *out, size_t size)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS, .instance = "" };
	struct ftidx_frame_header h;
	struct proto_reply rep;
	struct proto_buf b;
	const char *why;

	out[0] = '\0';
	proto_buf_init(&b);
	CHECK_EQ_INT(service_handle(s, &req, 3, &b), 0);
	memcpy(&h, b.data, sizeof(h));
	if (proto_decode_reply(h.version, h.type, b.data + sizeof(h), h.length, &rep, &why) == 0)
		snprintf(out, size, "%s", rep.recovery);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);
}


/* A daemon that starts after a crash, with @before and @after recorded
 * for set_ftrace_filter (and @notrace_* for notrace when given), finding
 * the filters as the model holds them: what STATUS then says. */
static void restart_with(char **before, size_t nb, char **after, size_t na, char **nt_before,
			 size_t nnb, char **nt_after, size_t nna, char *said, size_t size)
{
	struct intent_file files[2] = {
		{ "", FTIDX_FILE_FILTER, before, nb, after, na },
		{ "", FTIDX_FILE_NOTRACE, nt_before, nnb, nt_after, nna },
	};
	struct intent in = { 1764640000000000000ull, files, nt_after ? 2 : 1, NULL };
	struct service *s = NULL;
	char path[256];

	_cleanup_close_ int fd = state_fd();

	CHECK_EQ_INT(intent_save(fd, &in), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	CHECK_EQ_INT(service_recover_set_dir(s, dir), 0);
	service_recover_start(s);
	status_recovery(s, said, size);
	snprintf(path, sizeof(path), "%s/" INTENT_FILE, dir);
	CHECK(access(path, F_OK) < 0); /* spent, either way */
	service_free(s);
}

/*
 * Crash safety (issue 15): each write records its intent first and
 * removes it once proven; a daemon that starts with one finds the filter
 * as intended (finished), as it was (nothing to undo) or in between
 * (partial: put back as it was), for one file or several (all back);
 * and a record that cannot be trusted is set aside, never followed.
 */
static void crash_recovery(void)
{
	char *b[] = { "vfs_read", "vfs_write" };
	char *a[] = { "vfs_open", "vfs_read", "vfs_write" }; /* in index order */
	char *part[] = { "vfs_read" };
	const char *names_b[] = { "vfs_read", "vfs_write" };
	const char *names_a[] = { "vfs_open", "vfs_read", "vfs_write" };
	struct service *s = NULL;
	char said[512], path[256];

	model_start("debian-6.1-loop-dummy.txt");
	CHECK(nth(model.m, "vfs_open", 0) < nth(model.m, "vfs_read", 0));
	CHECK_EQ_INT(tracing_init(dir), 0);

	/* the intent is there while the write is made, and gone after */
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	CHECK_EQ_INT(service_recover_set_dir(s, dir), 0);
	model.look_for_intent = true;
	CHECK_EQ_INT(filter(s, FTIDX_OP_SET, names_b, 2), 0);
	CHECK_EQ_INT(model.seen_r, 0);
	CHECK(model.seen.n_files == 1 && model.seen.files[0].n_before == 0 &&
	      model.seen.files[0].n_after == 2 &&
	      !strcmp(model.seen.files[0].after[0], "vfs_read") &&
	      !strcmp(model.seen.files[0].after[1], "vfs_write"));
	intent_deinit(&model.seen);
	model.look_for_intent = true;
	CHECK_EQ_INT(filter(s, FTIDX_OP_ADD, names_a, 1), 0);
	CHECK(model.seen_r == 0 && model.seen.files[0].n_before == 2 &&
	      model.seen.files[0].n_after == 3 && !strcmp(model.seen.files[0].after[0], "vfs_open"));
	intent_deinit(&model.seen);
	snprintf(path, sizeof(path), "%s/" INTENT_FILE, dir);
	CHECK(access(path, F_OK) < 0);
	status_recovery(s, said, sizeof(said));
	CHECK_EQ_STR(said, "");
	service_free(s);

	/* cut short: one of three written; put back the two it held */
	enable_only(FTIDX_FILE_FILTER, (const char *const *)part, 1);
	restart_with(b, 2, a, 3, NULL, 0, NULL, 0, said, sizeof(said));
	CHECK(strstr(said, "recovered an interrupted write of set_ftrace_filter") != NULL);
	CHECK(strstr(said, "found 1 of 3 lines written, put back the 2") != NULL);
	CHECK(holds_names(FTIDX_FILE_FILTER, names_b, 2));

	/* written whole before the crash: finished as it is */
	enable_only(FTIDX_FILE_FILTER, names_a, 3);
	restart_with(b, 2, a, 3, NULL, 0, NULL, 0, said, sizeof(said));
	CHECK(strstr(said, "it had completed") != NULL);
	CHECK(holds_names(FTIDX_FILE_FILTER, names_a, 3));

	/* nothing written yet: nothing to undo */
	enable_only(FTIDX_FILE_FILTER, names_b, 2);
	restart_with(b, 2, a, 3, NULL, 0, NULL, 0, said, sizeof(said));
	CHECK(strstr(said, "nothing had been written") != NULL);
	CHECK(holds_names(FTIDX_FILE_FILTER, names_b, 2));

	/* two files: the filter whole, notrace not yet: both as they were */
	enable_only(FTIDX_FILE_FILTER, names_a, 3);
	enable_only(FTIDX_FILE_NOTRACE, names_b, 2);
	restart_with(b, 2, a, 3, b, 2, part, 1, said, sizeof(said));
	CHECK(strstr(said, "recovered an interrupted write of set_ftrace_filter and more") != NULL);
	CHECK(holds_names(FTIDX_FILE_FILTER, names_b, 2));
	CHECK(holds_names(FTIDX_FILE_NOTRACE, names_b, 2));

	/* a module pattern the filter held: in the intent's before and
	 * (an ADD keeps it) after; cut short by a crash and O_TRUNC'd away,
	 * recovery brings it back with the functions */
	{
		char *pb[] = { "vfs_read", "vfs_write", ":mod:nfsd" };
		char *pa[] = { "vfs_open", "vfs_read", "vfs_write", ":mod:nfsd" };
		struct service *s3 = NULL;

		enable_only(FTIDX_FILE_FILTER, names_b, 2);
		model.pattern = true;
		CHECK_EQ_INT(service_new(&s3, &model_io), 0);
		CHECK_EQ_INT(service_recover_set_dir(s3, dir), 0);
		model.look_for_intent = true;
		CHECK_EQ_INT(filter(s3, FTIDX_OP_ADD, names_a, 1), 0);
		CHECK(model.seen_r == 0 && model.seen.files[0].n_before == 3 &&
		      model.seen.files[0].n_after == 4 &&
		      !strcmp(model.seen.files[0].before[2], ":mod:nfsd") &&
		      !strcmp(model.seen.files[0].after[3], ":mod:nfsd"));
		intent_deinit(&model.seen);
		CHECK(model.pattern);
		service_free(s3);

		enable_only(FTIDX_FILE_FILTER, (const char *const *)part, 1);
		model.pattern = false;
		restart_with(pb, 3, pa, 4, NULL, 0, NULL, 0, said, sizeof(said));
		CHECK(strstr(said, "put back the 3") != NULL);
		CHECK(holds_names(FTIDX_FILE_FILTER, names_b, 2));
		CHECK(model.pattern);
		model.pattern = false;
	}

	/* a record that cannot be trusted: set aside, the filters untouched */
	{
		FILE *f = fopen(path, "w");
		struct service *s2 = NULL;

		fputs("ftidx-intent 1\ntime 1\nfiles 1\nfile - set_ftrace_filter\nbefore 2\nvfs_re", f);
		fclose(f);
		enable_only(FTIDX_FILE_FILTER, (const char *const *)part, 1);
		CHECK_EQ_INT(service_new(&s2, &model_io), 0);
		CHECK_EQ_INT(service_recover_set_dir(s2, dir), 0);
		service_recover_start(s2);
		status_recovery(s2, said, sizeof(said));
		CHECK(strstr(said, "cannot be trusted") != NULL);
		CHECK(holds_names(FTIDX_FILE_FILTER, (const char *const *)part, 1));
		CHECK(access(path, F_OK) < 0);
		service_free(s2);
		{
			char cmd[256];

			snprintf(cmd, sizeof(cmd), "ls %s/intent.bad-* >/dev/null 2>&1", dir);
			CHECK_EQ_INT(system(cmd), 0);
		}
	}
	model_end();
}

/*
 * The published function list (issue 23): the map read at start, once
 * the state directory is set; not a map read while a module change made
 * it stale; the next current one, after a rebuild.
 */
static void published_only_when_current(void)
{
	struct service *s = NULL;
	char state[128], stamp[192];
	struct pollfd pfd;
	size_t len;
	char *text;

	model_start("debian-6.1-loop-dummy.txt");
	CHECK_EQ_INT(tracing_init(dir), 0);
	CHECK_EQ_INT(service_new(&s, &model_io), 0);
	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(state, 0700);
	snprintf(stamp, sizeof(stamp), "%s/available_filter_functions.stamp", state);
	CHECK_EQ_INT(service_recover_set_dir(s, state), 0);
	complete_one(s);
	text = test_read_file(stamp, &len);
	CHECK(strncmp(text, "generation 1\nrecords 38303\n", 27) == 0);
	free(text);

	/* a module goes: a map read now is stale, and is not published */
	service_map_changed(s);
	kl_free(load_fixture("debian-6.1-dummy-only.txt"));
	CHECK_EQ_INT(service_map_refresh(s, true), 0);
	pfd = (struct pollfd){ .fd = service_completion_fd(s), .events = POLLIN };
	CHECK_EQ_INT(poll(&pfd, 1, 300), 0);
	text = test_read_file(stamp, &len);
	CHECK(strncmp(text, "generation 1\n", 13) == 0);
	free(text);

	/* the kernel settles; the rebuild's map is current, and published */
	CHECK_EQ_INT(service_map_rebuild(s), 0);
	complete_one(s);
	for (int i = 0; i < 100; i++) {
		text = test_read_file(stamp, &len);
		if (strncmp(text, "generation 1\n", 13) != 0)
			break;
		free(text);
		text = NULL;
		complete_one(s);
	}
	CHECK(text && strstr(text, "\nrecords 38261\n") != NULL);
	free(text);

	/* a copy that cannot be made (a directory in the way of its new
	 * name) is said once and waits for the next map: not tried again,
	 * and again, at each completion */
	{
		char blocker[256];

		snprintf(blocker, sizeof(blocker), "%s/available_filter_functions.new", state);
		mkdir(blocker, 0700);
		snprintf(blocker, sizeof(blocker), "%s/available_filter_functions.new/x", state);
		close(open(blocker, O_WRONLY | O_CREAT, 0600));
		service_map_changed(s);
		kl_free(load_fixture("debian-6.1-loop-dummy.txt"));
		CHECK_EQ_INT(service_map_rebuild(s), 0);
		complete_one(s); /* the rebuild */
		complete_one(s); /* the copy, which fails */
		pfd = (struct pollfd){ .fd = service_completion_fd(s), .events = POLLIN };
		CHECK_EQ_INT(poll(&pfd, 1, 500), 0);
		unlink(blocker);
		snprintf(blocker, sizeof(blocker), "%s/available_filter_functions.new", state);
		rmdir(blocker);
	}
	service_free(s);
	kl_free(load_fixture("debian-6.1-loop-dummy.txt"));
	model_end();
}

int main(int argc, char **argv)
{
	char path[4096];
	size_t len;
	char *text;

	fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	text = test_read_file(path, &len);
	snprintf(dir, sizeof(dir), "/tmp/ftidx-service-XXXXXX");
	fake_tracefs_new(dir, text, len);
	free(text);

	restore_after_module_change();
	restore_off_the_loop();
	change_all_or_nothing();
	fenced_writes();
	audit_yields_to_writes();
	unload_during_write();
	crash_recovery();
	published_only_when_current();

	fake_tracefs_remove(dir);
	return test_finish("test-service");
}
