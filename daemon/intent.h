/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The intent record: what a filter write is about to do, kept where a
 * restarted ftidxd finds it (the runtime directory, which outlives the
 * daemon but not the boot, as the filters themselves do).
 *
 * The kernel commits a filter file's new contents when the file is
 * closed, and a process that dies closes its files: a write cut short by
 * a crash leaves the part written. So before writing, ftidxd records, per
 * file, the lines the file holds and the lines it will hold, as the
 * kernel prints them ("name" or "name [module]"), which mean the same to
 * the next daemon whatever became of the indices. The record is written
 * to a temporary file, synced, and renamed into place, and removed once
 * the write is proven: a record found at start is an unfinished write.
 *
 * The format is text: a header line, a line per field, the lines of each
 * file counted, and a last line with a checksum of all before it. A
 * record that does not parse exactly is never trusted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define INTENT_FILE "intent"

struct intent_file {
	char *instance; /* "" for the top level */
	uint16_t file;  /* enum ftidx_filter_file */
	char **before;  /* the lines it held, in the order read */
	size_t n_before;
	char **after;   /* the lines it will hold */
	size_t n_after;
};

struct intent {
	uint64_t time_ns; /* CLOCK_REALTIME when the write began */
	struct intent_file *files;
	size_t n_files;
	char *text; /* what the strings point into, once parsed */
};

/*
 * The text of a record, built in order into @t (util/growbuf.h): the
 * header, then per file its name, "before" with its count and lines,
 * "after" likewise, then the end line with the checksum. A line is one
 * function line, without its newline. intent_text_end() returns 0 or
 * -ENOMEM (@t failed to grow).
 */
struct growbuf;
void intent_text_begin(struct growbuf *t, uint64_t time_ns, size_t n_files);
void intent_text_file(struct growbuf *t, const char *instance, uint16_t file);
void intent_text_count(struct growbuf *t, const char *what, size_t n);
void intent_text_line(struct growbuf *t, const char *line, size_t len);
int intent_text_end(struct growbuf *t);

/* @in as text, in *@out (malloc'd, NUL-terminated). 0 or -ENOMEM. */
int intent_format(const struct intent *in, char **out, size_t *len);

/* Parse @len bytes of @text (which it keeps: do not free it) into @out.
 * 0, or -EBADMSG with *@why set. Release @out with intent_deinit() in
 * every case. */
int intent_parse(char *text, size_t len, struct intent *out, const char **why);

void intent_deinit(struct intent *in);

/*
 * Where records go by default: the runtime directory systemd made for
 * the service ($RUNTIME_DIRECTORY), else INTENT_DEFAULT_DIR. Never a
 * place derived from the socket's path, which anyone may have chosen.
 */
#define INTENT_DEFAULT_DIR "/run/ftidx"
const char *intent_default_dir(void);

/*
 * Open @dir (made, 0755, if missing) as the directory records live in:
 * an fd in *@out (close() it), or -errno with *@why. Whoever can write
 * the directory can forge a record, which the next daemon would write
 * into the filters, or plant a link where one is written: so -EPERM for a
 * directory another user owns or its group or others may write, and
 * -ELOOP for a symbolic link.
 */
int intent_open_dir(const char *dir, int *out, const char **why);

/*
 * Hold directory @dirfd (from intent_open_dir()) for this process for as
 * long as the fd in *@out stays open: an flock() on INTENT_LOCK_FILE,
 * opened without following a link, with this process's pid written in
 * it. Two daemons given one state directory would both trust its
 * intent record. 0, -EBUSY when another process holds it (its pid in
 * *@holder, 0 if unknown), or -errno.
 */
#define INTENT_LOCK_FILE "ftidxd.lock"
int intent_lock_dir(int dirfd, int *out, long *holder);

/* Write @in (or the @len bytes of a record's @text) into the directory
 * @dirfd: a new temporary file (whatever had its name is removed, never
 * written through), fsync, rename, and fsync of the directory. 0 or
 * -errno. */
int intent_save(int dirfd, const struct intent *in);
int intent_save_text(int dirfd, const char *text, size_t len);

/* The record in @dirfd: 0 (in @out), -ENOENT (none), -EBADMSG (*@why:
 * it does not parse, or is not a regular file of this user's that no one
 * else may write), or -errno. */
int intent_load(int dirfd, struct intent *out, const char **why);

/* Remove the record (none: 0). */
int intent_remove(int dirfd);

/* Keep a record that cannot be trusted out of the way, under a name of
 * its own (intent.bad-SECONDS, in @name). 0 or -errno. */
int intent_set_aside(int dirfd, char *name, size_t size);
