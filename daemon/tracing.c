/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libtracefs adapter (see tracing.h).
 *
 * libtracefs keeps the tracing directory in process-global state and, if it
 * finds no tracefs, tries to mount one. ftidxd must never mount anything on
 * its own initiative, so tracing_init() always hands libtracefs an explicit
 * directory.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <tracefs.h>
#include <unistd.h>

#include "growbuf.h"
#include "macro.h"
#include "tracing.h"

#define TRACEFS_MAGIC 0x74726163
#define DEBUGFS_MAGIC 0x64626720

static bool is_tracefs;

static struct tracefs_instance *instance_handle(const char *instance, int *r)
{
	struct tracefs_instance *ti;

	*r = 0;
	if (!instance)
		return NULL;
	ti = tracefs_instance_alloc(tracefs_tracing_dir(), instance);
	if (!ti)
		*r = negative_errno();
	return ti;
}

int tracing_init(const char *dir)
{
	const char *found = NULL;
	struct stat st;
	struct statfs sf;
	_cleanup_free_ char *copy = NULL;

	if (!dir) {
		if (tracefs_tracing_dir_is_mounted(false, &found) != 1 || !found)
			return -ENOENT;
		dir = found;
	}
	if (stat(dir, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	if (tracefs_set_tracing_dir(copy) < 0)
		return negative_errno();
	is_tracefs = statfs(dir, &sf) == 0 && (sf.f_type == TRACEFS_MAGIC || sf.f_type == DEBUGFS_MAGIC);
	return 0;
}

bool tracing_is_tracefs(void)
{
	return is_tracefs;
}

const char *tracing_dir(void)
{
	return tracefs_tracing_dir();
}

/* Path of @file in @instance (or of the instance itself when @file is NULL).
 * Free with tracefs_put_tracing_file(). */
static char *file_path(const char *instance, const char *file, int *r)
{
	struct tracefs_instance *ti;
	char *path;

	ti = instance_handle(instance, r);
	if (*r < 0)
		return NULL;
	if (file)
		path = ti ? tracefs_instance_get_file(ti, file) : tracefs_get_tracing_file(file);
	else
		path = tracefs_instance_get_dir(ti);
	tracefs_instance_free(ti);
	if (!path)
		*r = -ENOMEM;
	return path;
}

/*
 * libtracefs 1.6's tracefs_file_exists() and tracefs_instance_exists()
 * look at the system's tracefs even after tracefs_set_tracing_dir(), so
 * existence is checked here on paths built from the directory we set.
 */
static bool path_exists(const char *instance, const char *file, bool want_dir)
{
	struct stat st;
	char *path;
	bool exists;
	int r;

	path = file_path(instance, file, &r);
	if (!path)
		return false;
	exists = stat(path, &st) == 0 && !S_ISDIR(st.st_mode) == !want_dir;
	tracefs_put_tracing_file(path);
	return exists;
}

bool tracing_file_exists(const char *instance, const char *file)
{
	return path_exists(instance, file, false);
}

bool tracing_instance_exists(const char *instance)
{
	return instance && path_exists(instance, NULL, true);
}

int tracing_read_file(const char *instance, const char *file, char **buf, size_t *len)
{
	struct tracefs_instance *ti;
	int size = 0, r;
	char *data;

	ti = instance_handle(instance, &r);
	if (r < 0)
		return r;
	errno = 0;
	data = tracefs_instance_file_read(ti, file, &size);
	tracefs_instance_free(ti);
	/* libtracefs returns NULL, errno untouched, for an empty file. */
	if (!data && errno == 0 && tracing_file_exists(instance, file)) {
		data = strdup("");
		size = 0;
	}
	if (!data)
		return errno ? -errno : -ENOENT;
	*buf = data;
	*len = (size_t)size;
	return 0;
}

/* A chunk of a cancellable read: the kernel's seq_file fills what it is
 * given, and a cancel is seen within one chunk's worth of lookups. */
#define READ_CHUNK (64u << 10)

int tracing_read_file_cancellable(const char *instance, const char *file,
				  const atomic_bool *cancel, char **buf, size_t *len)
{
	_cleanup_close_ int fd = tracing_open_file(instance, file, O_RDONLY);
	struct growbuf text = { 0 };
	int r = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		char *room = growbuf_room(&text, READ_CHUNK + 1);
		ssize_t n;

		if (!room) {
			r = -ENOMEM;
			break;
		}
		if (atomic_load(cancel)) {
			r = -ECANCELED;
			break;
		}
		n = read(fd, room, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? negative_errno() : 0;
			break;
		}
		text.len += (size_t)n;
	}
	if (r < 0) {
		growbuf_deinit(&text);
		return r;
	}
	text.data[text.len] = '\0';
	*len = text.len;
	*buf = (char *)steal_ptr(&text.data);
	return 0;
}

int tracing_read_record_count(unsigned long *count)
{
	_cleanup_free_ char *buf = NULL;
	char *end;
	size_t len;
	int r;

	r = tracing_read_file(NULL, TRACING_TOTAL_INFO, &buf, &len);
	if (r < 0)
		return r;
	errno = 0;
	*count = strtoul(buf, &end, 10);
	if (errno || end == buf)
		return -EBADMSG;
	return 0;
}

int tracing_open_file(const char *instance, const char *file, int flags)
{
	struct tracefs_instance *ti;
	int fd, r;

	ti = instance_handle(instance, &r);
	if (r < 0)
		return r;
	fd = tracefs_instance_file_open(ti, file, flags | O_CLOEXEC);
	if (fd < 0)
		r = negative_errno();
	tracefs_instance_free(ti);
	return r < 0 ? r : fd;
}

/* What a stand-in's new instance holds. */
static const char *const standin_files[] = { "set_ftrace_filter", "set_ftrace_notrace", NULL };

int tracing_create_instance(const char *instance)
{
	_cleanup_free_ char *path = NULL;
	char *dir;
	int r;

	/* Not through an instance handle: libtracefs will not make one for
	 * an instance that does not exist yet. */
	dir = tracefs_get_tracing_file("instances");
	if (!dir)
		return -ENOMEM;
	r = asprintf(&path, "%s/%s", dir, instance);
	tracefs_put_tracing_file(dir);
	if (r < 0)
		return -ENOMEM;
	if (mkdir(path, 0750) < 0)
		return negative_errno();
	/* The kernel gives a new instance its files; a directory standing in
	 * for tracefs gets the filter files, empty, so that it can be
	 * written as the kernel's would. */
	for (const char *const *f = standin_files; !is_tracefs && *f; f++) {
		_cleanup_free_ char *file = NULL;
		int fd;

		if (asprintf(&file, "%s/%s", path, *f) < 0)
			return -ENOMEM;
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd < 0)
			return negative_errno();
		close(fd);
	}
	return 0;
}

void tracing_names_free(char **names)
{
	tracefs_list_free(names);
}

int tracing_list_instances(char ***names)
{
	/* Without a regex: libtracefs 1.6 never frees the one it compiles. */
	errno = 0;
	*names = tracefs_instances(NULL);
	/* libtracefs gives NULL for "none" as well as for a failure. */
	if (!*names && errno && errno != ENOENT)
		return -errno;
	return 0;
}

int tracing_remove_instance(const char *instance)
{
	char *path;
	int r;

	path = file_path(instance, NULL, &r);
	if (!path)
		return r;
	/* the kernel's rmdir takes an instance's files with it; a stand-in's
	 * files are removed first (others would keep it) */
	for (const char *const *f = standin_files; !is_tracefs && *f; f++) {
		_cleanup_free_ char *file = NULL;

		if (asprintf(&file, "%s/%s", path, *f) >= 0)
			(void)unlink(file);
	}
	r = rmdir(path) < 0 ? negative_errno() : 0;
	tracefs_put_tracing_file(path);
	return r;
}

int tracing_write_file(const char *instance, const char *file, const char *text)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	ssize_t n;

	fd = tracing_open_file(instance, file, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return fd;
	n = write(fd, text, len);
	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}

int tracing_load_events(const char *system, struct tep_handle **out)
{
	const char *systems[] = { system, NULL };

	errno = 0;
	*out = tracefs_local_events_system(tracefs_tracing_dir(), systems);
	return *out ? 0 : errno ? -errno : -ENOENT;
}

int tracing_consume_events(const char *instance, struct tep_handle *tep,
			   int (*callback)(struct tep_event *, struct tep_record *, int, void *),
			   void *ctx)
{
	struct tracefs_instance *ti;
	int r;

	ti = instance_handle(instance, &r);
	if (r < 0)
		return r;
	/* Reads trace_pipe_raw of every CPU: what is read is gone from the
	 * buffer, making room for what comes next. */
	errno = 0;
	r = tracefs_iterate_raw_events(tep, ti, NULL, 0, callback, ctx);
	if (r < 0)
		r = errno ? -errno : -EIO;
	tracefs_instance_free(ti);
	return r;
}

int tracing_remove_orphans(const char *prefix)
{
	char **names = NULL;
	int removed = 0;

	if (tracing_list_instances(&names) < 0)
		return 0;
	for (char **p = names; p && *p; p++) {
		const char *digits;
		char *end;
		long pid;

		if (strncmp(*p, prefix, strlen(prefix)) != 0)
			continue;
		digits = *p + strlen(prefix);
		pid = strtol(digits, &end, 10);
		/* Only a pid no process has: EPERM means someone is there. */
		if (!isdigit((unsigned char)*digits) || *end || pid <= 0 || pid > INT_MAX ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		tracing_write_file(*p, "current_tracer", "nop");
		removed += tracing_remove_instance(*p) == 0;
	}
	tracing_names_free(names);
	return removed;
}
