/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The other half of the drop-in: opens of the kernel's function list sent
 * to ftidxd's published copy. bpftrace, bcc and libbpf read
 * available_filter_functions (or _addrs) at every start, and the kernel
 * pays a kallsyms search per module line for each read: seconds on a
 * machine with many modules. ftidxd keeps a copy of the same bytes.
 *
 * Which opens: a read-only open(), open64(), openat() (an absolute path,
 * or one relative to the working directory), their _FORTIFY_SOURCE forms,
 * and fopen()/fopen64() for reading, of available_filter_functions or
 * available_filter_functions_addrs in /sys/kernel/tracing,
 * /sys/kernel/debug/tracing, or the tracing directory ftidxd reads.
 * Anything else passes through untouched, and so does a program linked
 * statically.
 *
 * Only a copy that is the kernel's now is handed out. ftidxd compares its
 * map with the kernel (record count, module list) before it answers
 * STATUS, so the copy is taken when STATUS says the map is current, and
 * the stamp beside the copy, read after the copy is opened, names the
 * same generation (the stamp is replaced last, so the opened copy is that
 * generation's or newer). And only ftidxd's copy: its directory is opened
 * once, by the absolute path STATUS gives, and the copy and the stamp are
 * opened relative to it; each of the three must belong to the uid STATUS
 * says ftidxd runs as, and be writable by no one else (a directory
 * another user can plant, or rename, must not hand a program its list).
 * Otherwise the program reads the kernel's own file, and why is said once
 * on standard error.
 *
 * No lock is held across the round trip to ftidxd: a thread takes the
 * kept connection for it and puts it back, so that a fork() meanwhile
 * leaves the child nothing held; a child's first call on its parent's
 * connection connects anew (libftidx checks the pid).
 */
/* This file defines open() and fopen() themselves: the headers must
 * declare them as they are, not renamed to open64() nor wrapped. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter-redirect.h"
#include "ftidx.h"
#include "macro.h"
#include "real-symbol.h"

#define LIST_NAME "available_filter_functions"
#define STAMP_NAME LIST_NAME ".stamp"
/* Longer than this, asking ftidxd costs more than the kernel's read. */
#define ASK_TIMEOUT_MS 2000

typedef int (*openat_fn)(int, const char *, int, ...);

static _Atomic(struct ftidx *) ask_conn; /* kept for the next open */
static atomic_bool said_why;


static _Atomic(void *) real_openat_fn, real_fopen_fn, real_fopen64_fn;

static openat_fn real_openat(void)
{
	return (openat_fn)real_symbol(&real_openat_fn, "openat");
}

static void say_once(const char *why)
{
	if (!atomic_exchange(&said_why, true))
		fprintf(stderr, "ftidx: reading the kernel's own %s: %s\n", LIST_NAME, why);
}

/* The file name of @path when it is one of the kernel's two lists, and
 * the length of its directory part. */
static const char *list_file(const char *path, size_t *dir_len)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	if (strcmp(name, LIST_NAME) != 0 && strcmp(name, LIST_NAME "_addrs") != 0)
		return NULL;
	*dir_len = slash ? (size_t)(slash - path) : 0;
	return name;
}

static bool dir_is(const char *path, size_t len, const char *dir)
{
	return dir && strlen(dir) == len && strncmp(path, dir, len) == 0;
}

/* Whether @st (of @what, in the directory @dir) belongs to ftidxd's
 * uid @owner and no one else may write it; else it is said why, once. */
static bool ftidxds(const struct stat *st, uint32_t owner, const char *what, const char *dir)
{
	char why[PATH_MAX + 128];

	if (st->st_uid == owner && !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return true;
	if (st->st_uid != owner)
		snprintf(why, sizeof(why), "%s in %s belongs to uid %u, not to ftidxd's (%u)", what,
			 dir, (unsigned)st->st_uid, (unsigned)owner);
	else
		snprintf(why, sizeof(why), "%s in %s may be written by others than ftidxd", what,
			 dir);
	say_once(why);
	return false;
}

/* @name in the directory @dirfd (@dir), opened with @flags, when it is a
 * file of ftidxd's (@owner); else -1. */
static int open_ftidxds(int dirfd, const char *dir, const char *name, int flags, uint32_t owner)
{
	struct stat st;
	int fd = real_openat()(dirfd, name, flags | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !ftidxds(&st, owner, strcmp(name, STAMP_NAME) ? "the copy" : "its stamp", dir)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The generation the stamp in the directory @dirfd (@dir) names, if it
 * is ftidxd's (@owner); else 0. */
static uint64_t stamp_generation(int dirfd, const char *dir, uint32_t owner)
{
	char text[128];
	uint64_t generation = 0;
	ssize_t n = -1;
	int fd = open_ftidxds(dirfd, dir, STAMP_NAME, O_RDONLY | O_CLOEXEC, owner);

	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n > 0) {
		text[n] = '\0';
		if (sscanf(text, "generation %" SCNu64, &generation) != 1)
			generation = 0;
	}
	return generation;
}

/* ftidxd's status, on a connection kept for the next open; NULL (said
 * once when @say) when it cannot be had. */
static struct ftidx_status *ask_daemon(bool say)
{
	/* taken for the round trip: no lock is held across it */
	struct ftidx *c = atomic_exchange(&ask_conn, NULL);
	struct ftidx_status *st = NULL;
	int r = 0;

	if (!c && (r = ftidx_connect(NULL, &c)) == 0)
		ftidx_set_timeout(c, ASK_TIMEOUT_MS);
	if (c) {
		/* libftidx connects again to a daemon that dropped or restarted */
		r = ftidx_status(c, &st);
		/* kept, unless another thread kept one meanwhile */
		ftidx_unref(atomic_exchange(&ask_conn, c));
	}
	if (!st && say)
		say_once(r == -ENOENT || r == -ECONNREFUSED ? "ftidxd cannot be reached"
							     : "ftidxd did not answer");
	return st;
}

/* Whether @path (directory part @dir_len long) is the list of the kernel
 * ftidxd reads: in its tracing directory, or, when that is the real
 * tracefs, in either place tracefs is mounted. */
static bool kernel_list_of(const struct ftidx_status *st, const char *path, size_t dir_len)
{
	if (dir_is(path, dir_len, ftidx_status_text(st, FTIDX_STAT_TRACING_DIR)))
		return true;
	return ftidx_status_number(st, FTIDX_STAT_IS_TRACEFS) &&
	       (dir_is(path, dir_len, "/sys/kernel/tracing") ||
		dir_is(path, dir_len, "/sys/kernel/debug/tracing"));
}

/* The copy of list @name that @st says is published, opened with @flags,
 * when it is ftidxd's and current; else -1. */
static int open_published(const struct ftidx_status *st, const char *name, int flags)
{
	const char *published = ftidx_status_text(st, FTIDX_STAT_PUBLISHED);
	const char *slash = published ? strrchr(published, '/') : NULL;
	int dirfd = -1, fd = -1;
	char dir[PATH_MAX];
	struct stat ds;
	uint32_t owner;
	size_t len;

	if (!slash) {
		say_once("ftidxd publishes no copy (no state directory of its own, or older "
			 "than 0.4)");
		return -1;
	}
	if (ftidx_status_number(st, FTIDX_STAT_IS_STALE)) {
		say_once("a module came or went, and ftidxd's copy is not current yet");
		return -1;
	}
	/* a relative path would be the caller's working directory's */
	if (published[0] != '/' || ftidx_status_daemon_uid(st, &owner) < 0) {
		say_once("ftidxd does not say where its copy is and whose it is (older than 0.5)");
		return -1;
	}
	len = (size_t)(slash - published);
	if (len == 0 || len >= sizeof(dir))
		return -1;
	memcpy(dir, published, len);
	dir[len] = '\0';
	dirfd = real_openat()(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	if (fstat(dirfd, &ds) == 0 && ftidxds(&ds, owner, "the directory", dir))
		fd = open_ftidxds(dirfd, dir, name, flags, owner);
	if (fd >= 0 &&
	    stamp_generation(dirfd, dir, owner) != ftidx_status_number(st, FTIDX_STAT_GENERATION)) {
		say_once("ftidxd's copy is of another map than the kernel's now");
		close(fd);
		fd = -1;
	}
	close(dirfd);
	return fd;
}

/*
 * The published copy of the list @path names, opened with @flags, when
 * @path is the kernel's list and the copy is current; else -1.
 */
static int find_copy(const char *path, int flags)
{
	struct ftidx_status *st;
	const char *name;
	size_t dir_len;
	int fd = -1;

	name = list_file(path, &dir_len);
	if (!name || (flags & (O_ACCMODE | O_CREAT | O_TRUNC | O_DIRECTORY)) != O_RDONLY)
		return -1;
	st = ask_daemon(dir_is(path, dir_len, "/sys/kernel/tracing") ||
			dir_is(path, dir_len, "/sys/kernel/debug/tracing"));
	if (st && kernel_list_of(st, path, dir_len))
		fd = open_published(st, name, flags);
	ftidx_status_free(st);
	return fd;
}

/* find_copy(), leaving errno as it was either way. */
static int open_copy(const char *path, int flags)
{
	int saved = errno, fd;

	if (!path || !real_openat())
		return -1;
	fd = find_copy(path, flags);
	errno = saved;
	return fd;
}

/* The mode argument, which open() and openat() read only with these flags. */
static mode_t mode_of(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

static int redirect_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd = -1;

	/* writes of the filter files: filter-redirect.c */
	if (filter_redirect_open(dirfd, path, flags, &fd))
		return fd;
	/* a relative path counts from the working directory only: the
	 * kernel's list is named by its whole path */
	if (path && (path[0] == '/' || dirfd == AT_FDCWD))
		fd = open_copy(path, flags);
	if (fd >= 0)
		return fd;
	if (!real_openat()) {
		errno = ENOSYS;
		return -1;
	}
	fd = real_openat()(dirfd, path, flags, mode);
	filter_redirect_opened(fd);
	return fd;
}

_public_ int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return redirect_openat(AT_FDCWD, path, flags, mode);
}

_public_ int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return redirect_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

_public_ int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return redirect_openat(dirfd, path, flags, mode);
}

_public_ int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return redirect_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* What _FORTIFY_SOURCE calls when the flags are not a constant (the
 * headers declare these only with it on). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

_public_ int __open_2(const char *path, int flags)
{
	return redirect_openat(AT_FDCWD, path, flags, 0);
}

_public_ int __open64_2(const char *path, int flags)
{
	return redirect_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

_public_ int __openat_2(int dirfd, const char *path, int flags)
{
	return redirect_openat(dirfd, path, flags, 0);
}

_public_ int __openat64_2(int dirfd, const char *path, int flags)
{
	return redirect_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

/* fopen()'s mode as open() flags, when it only reads; else -1. */
static int read_flags(const char *mode)
{
	if (!mode || mode[0] != 'r' || strchr(mode, '+'))
		return -1;
	return O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0);
}

static FILE *redirect_fopen(const char *path, const char *mode, _Atomic(void *) *real_slot,
			    const char *real_name)
{
	FILE *(*real)(const char *, const char *);
	int flags = read_flags(mode), fd = -1;
	FILE *written;

	/* writes of the filter files: filter-redirect.c */
	if (filter_redirect_fopen(path, mode, &written))
		return written;
	if (flags >= 0)
		fd = open_copy(path, flags);
	if (fd >= 0) {
		FILE *f = fdopen(fd, mode);

		if (f)
			return f;
		close(fd);
	}
	real = (FILE * (*)(const char *, const char *)) real_symbol(real_slot, real_name);
	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	return real(path, mode);
}

_public_ FILE *fopen(const char *path, const char *mode)
{
	return redirect_fopen(path, mode, &real_fopen_fn, "fopen");
}

_public_ FILE *fopen64(const char *path, const char *mode)
{
	return redirect_fopen(path, mode, &real_fopen64_fn, "fopen64");
}
