/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel boundary: the only part of ftidx that calls libtracefs. Every
 * function returns 0 or a negative errno (libtracefs reports -1 and errno;
 * the conversion happens here and nowhere else).
 *
 * @instance is NULL for the top-level tracing directory, else the name of a
 * directory under instances/ (callers validate names first).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TRACING_AFF "available_filter_functions"
#define TRACING_AFF_ADDRS "available_filter_functions_addrs"
#define TRACING_TOTAL_INFO "dyn_ftrace_total_info"

/*
 * Use @dir as the tracing directory, or, when @dir is NULL, the mounted
 * tracefs (never mounting one). -ENOENT when there is none.
 */
int tracing_init(const char *dir);
const char *tracing_dir(void);
/* Whether it is a tracefs (or debugfs), not a directory standing in for
 * one (tests, try-outs). */
bool tracing_is_tracefs(void);

bool tracing_file_exists(const char *instance, const char *file);
bool tracing_instance_exists(const char *instance);

/* Read a whole file. *@buf is malloc'd and NUL-terminated; free() it. */
int tracing_read_file(const char *instance, const char *file, char **buf, size_t *len);

/*
 * Read a whole file as tracing_read_file() does, a chunk at a time, giving
 * up with -ECANCELED once *@cancel is set (by another thread). The kernel's
 * function list on a machine with many modules takes seconds to read, and
 * a module change makes what was read worthless before it is done.
 */
int tracing_read_file_cancellable(const char *instance, const char *file,
				  const atomic_bool *cancel, char **buf, size_t *len);

/* The record count: the first number of dyn_ftrace_total_info. */
int tracing_read_record_count(unsigned long *count);

/* Open a file of the tracing directory. Returns an fd (close() it) or -errno. */
int tracing_open_file(const char *instance, const char *file, int flags);

/* Create instance @instance. Returns 0, or -EEXIST, or another -errno. */
int tracing_create_instance(const char *instance);

/* The names of the instances, in *@names (NULL when none; free with
 * tracing_names_free()). 0 or -errno. */
int tracing_list_instances(char ***names);
void tracing_names_free(char **names);

/* Remove instance @instance (its ring buffer goes with it). 0 or -errno. */
int tracing_remove_instance(const char *instance);

/*
 * Remove the instances named @prefix and a pid that no process has: those
 * an ftidxd that died left behind. Returns how many were removed.
 */
int tracing_remove_orphans(const char *prefix);

/* Write @text to a file of the tracing directory, truncating it. */
int tracing_write_file(const char *instance, const char *file, const char *text);

struct tep_handle;
struct tep_event;
struct tep_record;

/* The event formats of event system @system (for example "ftrace"),
 * parsed. Free with tep_free(). */
int tracing_load_events(const char *system, struct tep_handle **out);

/*
 * Consume what the ring buffer of @instance holds now, calling @callback
 * for every record (it returns 0 to go on). Returns 0 or -errno.
 */
int tracing_consume_events(const char *instance, struct tep_handle *tep,
			   int (*callback)(struct tep_event *, struct tep_record *, int, void *),
			   void *ctx);
