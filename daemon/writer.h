/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The filter writer: puts a resolved batch into a filter file, all or
 * nothing, and checks that the kernel holds what was asked for.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "map.h"
#include "proto.h"
#include "resolve.h"

/*
 * How bytes reach the filter files. The daemon uses writer_io_tracing
 * (the tracing directory through tracing.h); tests substitute a model of
 * the kernel that can fail a chosen token. Functions return -errno.
 */
struct writer_io {
	int (*open)(void *ctx, const char *instance, const char *file, int flags);
	ssize_t (*write)(void *ctx, int fd, const char *buf, size_t len);
	int (*close)(void *ctx, int fd);
	int (*read)(void *ctx, const char *instance, const char *file, char **buf, size_t *len);
	/* The same, giving up with -ECANCELED once *@cancel is set (by
	 * another thread); NULL: only read() can be had. */
	int (*read_until)(void *ctx, const char *instance, const char *file,
			  const atomic_bool *cancel, char **buf, size_t *len);
	void *ctx;
	/* Reads back function names (a real tracefs), not what was written. */
	bool reads_names;
};

extern const struct writer_io writer_io_tracing;

struct writer_request {
	const char *instance; /* NULL for the top level */
	uint16_t file;        /* enum ftidx_filter_file */
	uint16_t op;          /* enum ftidx_filter_op */
	/* What ftidx itself last wrote to this file, ascending, if anything:
	 * used to restore duplicate names exactly. May be NULL. */
	const uint32_t *previous;
	size_t n_previous;
	/* The request's tokens: the graph files, which do not take indices,
	 * get them as written (an index as its name), so that the kernel
	 * makes one pass per pattern instead of one per function. */
	const char *const *tokens;
	size_t n_tokens;
	/* Keep the filter as it was in the result's @before after a success
	 * too: a later file of the same change may fail, and this one must
	 * then be put back as well. */
	bool keep_before;
	/* The filter as it is, known without reading it (what ftidx wrote,
	 * in the form a read returns), or NULL: read it. */
	const char *known_before;
	/* Leave the read-back check to the caller (writer_verify()), which
	 * may prove the write another way; @before is kept for it. */
	bool verify_later;
	/* A SET of nothing to set_ftrace_filter or set_graph_function was
	 * asked for (FTIDX_FILTER_ALLOW_EMPTY): else it is refused here too. */
	bool allow_empty;
};

struct writer_result {
	uint32_t written;  /* tokens the kernel accepted */
	uint64_t read_ns, write_ns, verify_ns, readback_ns; /* where the time went */
	const char *why;   /* static explanation of a failure */
	bool restored;     /* a failed write was undone (set by the caller) */
	char *before;      /* after a failure (or with keep_before): the filter read
			      before the write */
	size_t before_len;
	bool count_only;   /* the kernel's read-back could only be trusted for the count */
	bool approximate;  /* ...but duplicate names made the undo inexact */
};

/* The file name of enum ftidx_filter_file @file ("set_ftrace_filter", ...). */
const char *writer_file_name(uint16_t file);

/*
 * Apply resolution @res (every token valid) to the filter. SET replaces
 * the filter with @res's enabled lines (never set_ftrace_filter's or
 * set_graph_function's with nothing, unless @wr->allow_empty: -ENODATA),
 * ADD also removes its disabled ones, REMOVE removes its enabled lines,
 * CLEAR empties the filter.
 * Returns 0, or -errno with @out->why set. When the kernel refused a write
 * midway, or the filter read back is not what was asked for, @out->before
 * holds the filter as it was, for writer_restore(). Release @out with
 * writer_result_deinit() in every case.
 */
int writer_apply(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		 const struct resolution *res, struct writer_result *out);

/*
 * The read-back check of a writer_apply() made with @wr->verify_later:
 * the filter read now must be what @res asked of the one before. 0, or
 * -EIO with @out->why set (then restore with writer_restore()), or -errno.
 */
int writer_verify(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		  const struct resolution *res, struct writer_result *out);

/*
 * Put back the filter @res->before after a failed writer_apply(). @m must
 * be current: if a module came or went, the old indices mean other
 * functions, so the caller re-reads the map first. The restore is checked
 * by reading the filter back: the same lines as before (less those of
 * modules that have gone). Returns 0, -EIO if the check fails, or -errno.
 */
int writer_restore(const struct writer_io *io, const struct map *m, const struct writer_request *wr,
		   struct writer_result *res);

void writer_result_deinit(struct writer_result *r);

/*
 * What a write of @res to @file selects: for the graph files, which take
 * names, every line of each name (type_show is on 17 to 19 lines), a
 * removal winning where a name is in both sets; for the others @res as
 * it is. In place. The record of the write, its intent, its audit and its
 * reply all take this one set. 0 or -ENOMEM (then @res is unchanged).
 */
int writer_widen(const struct map *m, uint16_t file, struct resolution *res);

/* Split @buf into its lines in place, skipping comment lines ("#### all
 * functions enabled ####"), blanks and function probes, which no write
 * of a filter's lines takes away or needs to bring back: pointers into
 * @buf in *@out (malloc'd). Returns the count or -ENOMEM. */
ssize_t writer_split_lines(char *buf, char ***out);

/* Whether @len bytes read back from filter file @file can be trusted only
 * for their number of lines: the graph files lose and repeat lines past
 * one page (see writer.c). */
bool writer_readback_count_only(uint16_t file, size_t len);
