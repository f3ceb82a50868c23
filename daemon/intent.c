/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The intent record (see intent.h). The format:
 *
 *   ftidx-intent 1
 *   time NANOSECONDS
 *   files N
 *   file INSTANCE FILE       ("-" for the top level; the file's name)
 *   before N
 *   LINE...
 *   after N
 *   LINE...
 *   (file ... again, N times)
 *   end CHECKSUM             (of every byte before this line: checksum())
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dirfile.h"
#include "growbuf.h"
#include "intent.h"
#include "macro.h"
#include "proto.h"
#include "writer.h"

#define MAGIC "ftidx-intent 1"

/* FNV-1a over 64-bit words (then the tail by bytes), with a shift folded
 * in: each step is a bijection of the state, so any change of one word
 * changes the sum. Fast enough for records of a megabyte under TCG. */
static uint64_t checksum(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

void intent_text_begin(struct growbuf *t, uint64_t time_ns, size_t n_files)
{
	char line[128];

	snprintf(line, sizeof(line), MAGIC "\ntime %" PRIu64 "\nfiles %zu\n", time_ns, n_files);
	growbuf_append_text(t, line, strlen(line));
}

void intent_text_file(struct growbuf *t, const char *instance, uint16_t file)
{
	char line[256];

	snprintf(line, sizeof(line), "file %s %s\n", instance[0] ? instance : "-",
		 writer_file_name(file));
	growbuf_append_text(t, line, strlen(line));
}

void intent_text_count(struct growbuf *t, const char *what, size_t n)
{
	char line[64];

	snprintf(line, sizeof(line), "%s %zu\n", what, n);
	growbuf_append_text(t, line, strlen(line));
}

void intent_text_line(struct growbuf *t, const char *line, size_t len)
{
	growbuf_append_text(t, line, len);
	growbuf_append_text(t, "\n", 1);
}

int intent_text_end(struct growbuf *t)
{
	char line[64];

	if (t->failed)
		return -ENOMEM;
	snprintf(line, sizeof(line), "end %016" PRIx64 "\n", checksum((char *)t->data, t->len));
	growbuf_append_text(t, line, strlen(line));
	return t->failed ? -ENOMEM : 0;
}

int intent_format(const struct intent *in, char **out, size_t *len)
{
	struct growbuf t = { 0 };

	*out = NULL;
	intent_text_begin(&t, in->time_ns, in->n_files);
	for (size_t k = 0; k < in->n_files; k++) {
		const struct intent_file *f = &in->files[k];

		intent_text_file(&t, f->instance, f->file);
		intent_text_count(&t, "before", f->n_before);
		for (size_t i = 0; i < f->n_before; i++)
			intent_text_line(&t, f->before[i], strlen(f->before[i]));
		intent_text_count(&t, "after", f->n_after);
		for (size_t i = 0; i < f->n_after; i++)
			intent_text_line(&t, f->after[i], strlen(f->after[i]));
	}
	if (intent_text_end(&t) < 0) {
		growbuf_deinit(&t);
		return -ENOMEM;
	}
	*len = t.len;
	*out = (char *)t.data;
	return 0;
}

/* ---- parsing ----------------------------------------------------------- */

struct cursor {
	char *p, *end;
	const char *why;
};

/* The next line, NUL-terminated in place; NULL at the end or past a
 * failure. A line must end with its newline. */
static char *next_line(struct cursor *c)
{
	char *line = c->p, *nl;

	if (c->why)
		return NULL;
	nl = c->p < c->end ? memchr(c->p, '\n', (size_t)(c->end - c->p)) : NULL;
	if (!nl) {
		c->why = "the record ends in the middle (cut short)";
		return NULL;
	}
	*nl = '\0';
	c->p = nl + 1;
	return line;
}

/* "WORD NUMBER": the number, or sets why. */
static uint64_t field(struct cursor *c, const char *word, uint64_t max)
{
	char *line = next_line(c), *end;
	size_t wl = strlen(word);
	unsigned long long v;

	if (!line)
		return 0;
	if (strncmp(line, word, wl) != 0 || line[wl] != ' ' || line[wl + 1] < '0' ||
	    line[wl + 1] > '9') {
		c->why = "a field is missing or out of place";
		return 0;
	}
	errno = 0;
	v = strtoull(line + wl + 1, &end, 10);
	if (errno || *end || v > max) {
		c->why = "a count is malformed or too large";
		return 0;
	}
	return v;
}

static char **get_lines(struct cursor *c, const char *word, size_t *n)
{
	/* a line is at least its newline: the count cannot pass the bytes */
	uint64_t count = field(c, word, (uint64_t)(c->end - c->p));
	char **v;

	*n = 0;
	if (c->why)
		return NULL;
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		c->why = "out of memory";
		return NULL;
	}
	for (uint64_t i = 0; i < count && !c->why; i++) {
		v[i] = next_line(c);
		if (v[i] && (!v[i][0] || strchr(v[i], '\t')))
			c->why = "a function line is empty or malformed";
	}
	*n = (size_t)count;
	return v;
}

static uint16_t file_of(const char *name)
{
	for (uint16_t f = FTIDX_FILE_FILTER; f <= FTIDX_FILE_GRAPH_NOTRACE; f++)
		if (strcmp(writer_file_name(f), name) == 0)
			return f;
	return 0;
}

static void parse_file(struct cursor *c, struct intent_file *f)
{
	char *line = next_line(c), *instance, *name, *save = NULL;
	const char *why;

	if (!line)
		return;
	if (strncmp(line, "file ", 5) != 0) {
		c->why = "a file's section is missing";
		return;
	}
	instance = strtok_r(line + 5, " ", &save);
	name = strtok_r(NULL, " ", &save);
	if (!instance || !name || strtok_r(NULL, " ", &save) || !(f->file = file_of(name))) {
		c->why = "a file's name is malformed";
		return;
	}
	if (strcmp(instance, "-") == 0)
		instance = "";
	else if (!proto_instance_name_valid(instance, &why)) {
		c->why = "an instance name is not valid";
		return;
	}
	f->instance = instance;
	f->before = get_lines(c, "before", &f->n_before);
	f->after = get_lines(c, "after", &f->n_after);
}

int intent_parse(char *text, size_t len, struct intent *out, const char **why)
{
	struct cursor c = { text, text + len, NULL };
	char *line, *end_line, *last;
	uint64_t n, expected;

	*out = (struct intent){ .text = text };
	/* the checksum covers every byte before the last line: taken before
	 * the parse below cuts the text into strings */
	last = len ? memrchr(text, '\n', len - 1) : NULL;
	last = last ? last + 1 : text;
	expected = checksum(text, (size_t)(last - text));
	line = next_line(&c);
	if (line && strcmp(line, MAGIC) != 0)
		c.why = "not an intent record of this version";
	out->time_ns = field(&c, "time", UINT64_MAX);
	n = field(&c, "files", FTIDX_CHANGES_MAX);
	if (!c.why && n == 0)
		c.why = "a record of no file";
	if (!c.why) {
		out->files = calloc(n, sizeof(*out->files));
		if (!out->files)
			c.why = "out of memory";
		else
			out->n_files = (size_t)n;
	}
	for (size_t k = 0; k < out->n_files && !c.why; k++)
		parse_file(&c, &out->files[k]);
	/* the checksum covers every byte before its own line */
	end_line = c.p;
	line = next_line(&c);
	if (line && strncmp(line, "end ", 4) != 0)
		c.why = "the record's end is missing";
	if (!c.why) {
		char want[32];

		/* as written, byte for byte: no other spelling of the number */
		snprintf(want, sizeof(want), "%016" PRIx64, expected);
		if (end_line != last || strcmp(line + 4, want) != 0)
			c.why = "the checksum does not match: the record is corrupted";
	}
	if (!c.why && c.p != c.end)
		c.why = "bytes after the record's end";
	if (c.why) {
		*why = c.why;
		return -EBADMSG;
	}
	return 0;
}

void intent_deinit(struct intent *in)
{
	for (size_t k = 0; in->files && k < in->n_files; k++) {
		free(in->files[k].before);
		free(in->files[k].after);
	}
	free(in->files);
	free(in->text);
	*in = (struct intent){ 0 };
}

/* ---- the file ---------------------------------------------------------- */

const char *intent_default_dir(void)
{
	static char dir[4096];
	const char *rt = getenv("RUNTIME_DIRECTORY");

	/* systemd's RuntimeDirectory= (a list when it names several) */
	if (rt && rt[0] == '/') {
		snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(rt, ":"), rt);
		return dir;
	}
	return INTENT_DEFAULT_DIR;
}

/* Whether @st is owned by this process's user and writable by no one
 * else; *@why says why not. */
int intent_open_dir(const char *dir, int *out, const char **why)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	*out = -1;
	*why = "";
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*why = "it cannot be created";
		return negative_errno();
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();

		/* O_DIRECTORY meets a link before O_NOFOLLOW does: ENOTDIR */
		if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
			*why = "it is a symbolic link";
			return -ELOOP;
		}
		*why = r == -ENOTDIR ? "it is not a directory" : "it cannot be opened";
		return r;
	}
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!dirfile_trusted(&st, why))
		return -EPERM;
	if (faccessat(fd, ".", W_OK, AT_EACCESS) < 0) {
		*why = "it is not writable";
		return negative_errno();
	}
	*out = steal_fd(&fd);
	return 0;
}

int intent_lock_dir(int dirfd, int *out, long *holder)
{
	_cleanup_close_ int fd = -1;
	char pid[32] = "";
	struct stat st;
	int len;

	*out = -1;
	*holder = 0;
	fd = openat(dirfd, INTENT_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();

		if (pread(fd, pid, sizeof(pid) - 1, 0) > 0)
			*holder = strtol(pid, NULL, 10);
		return r;
	}
	/* who holds it, for the next one's message; the lock is the flock */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		return negative_errno();
	*out = steal_fd(&fd);
	return 0;
}

int intent_save(int dirfd, const struct intent *in)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = intent_format(in, &text, &len);

	return r < 0 ? r : intent_save_text(dirfd, text, len);
}

int intent_save_text(int dirfd, const char *text, size_t len)
{
	return dirfile_replace(dirfd, INTENT_FILE, text, len, 0600, (gid_t)-1, true);
}

int intent_load(int dirfd, struct intent *out, const char **why)
{
	char *text;
	size_t len;
	int r;

	*out = (struct intent){ 0 };
	r = dirfile_read(dirfd, INTENT_FILE, (size_t)1 << 30, &text, &len, why);
	return r < 0 ? r : intent_parse(text, len, out, why);
}

int intent_remove(int dirfd)
{
	if (unlinkat(dirfd, INTENT_FILE, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

int intent_set_aside(int dirfd, char *name, size_t size)
{
	snprintf(name, size, INTENT_FILE ".bad-%lld", (long long)time(NULL));
	return renameat(dirfd, INTENT_FILE, dirfd, name) < 0 ? negative_errno() : 0;
}
