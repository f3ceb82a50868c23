/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx-tracefs.so: tracefs_function_filter() and
 * tracefs_function_notrace() for programs linked to libtracefs, preloaded
 * ("ftidx exec", LD_PRELOAD), so that they enable functions through
 * ftidxd by index instead of re-reading available_filter_functions and
 * writing one index per write() on every call.
 *
 * What a caller sees is libtracefs's contract (1.6 to 1.8), and its
 * matching, not the kernel's: a pattern with only name characters, '*',
 * '.' and '?' is a glob whose '*' becomes ".*" and '.' a literal dot (a
 * '?' stays a literal '?' of a basic regular expression, so such a glob
 * matches nothing); anything else is a basic regular expression, anchored
 * at both ends; both case-insensitive, against the name alone; a module
 * limits the lines to "name [module]". What differs, on purpose:
 * placeholders of discarded weak functions are never enabled (libtracefs
 * would write their indices; said once on standard error), and the
 * matches of calls made with TRACEFS_FL_CONTINUE go to ftidxd in one
 * request when the batch is committed, pinned to the map they were
 * matched on.
 *
 * When ftidxd cannot be reached, refuses the caller the right to write,
 * or is asked for TRACEFS_FL_FUTURE (a pattern kept by the kernel for a
 * module not yet loaded, which ftidxd refuses), the calls go to the real
 * libtracefs instead, with the caller's own flags, and that is said once
 * on standard error.
 *
 * A program may run for hours: ftidxd drops it when idle, or restarts.
 * libftidx connects again at the next call, and refuses a write pinned to
 * a generation on a connection it had to open for that write (a restarted
 * daemon counts generations from 1 again): the batch is then matched
 * again on the map of the daemon there, read anew whenever the connection
 * was opened again. A daemon gone for good sends the call to libtracefs,
 * as at start, and the next call tries ftidxd again. After fork(), the
 * child's first call connects anew (libftidx checks the pid), and the
 * lock is never left held in the child: fork() waits for a call in flight
 * in another thread (pthread_atfork()).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tracefs.h>

#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

typedef int (*filter_fn)(struct tracefs_instance *, const char *, const char *, unsigned int);

/* One call of a batch, kept to resolve it again on a newer map, or to
 * hand the batch to libtracefs after all. */
struct call {
	char *filter, *module;
	unsigned flags;
};

/* A batch: the calls since the file was "opened", until it is committed. */
struct batch {
	struct tracefs_instance *instance;
	int file; /* FTIDX_FILTER or FTIDX_NOTRACE */
	bool open, reset;
	bool real;            /* handed to libtracefs until it is committed */
	struct growbuf calls; /* struct call */
	struct batch *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t watch_forks_once = PTHREAD_ONCE_INIT;
static struct batch *batches;
static struct ftidx *conn;
static struct ftidx_result *map; /* every line, placeholders too, by index */
static unsigned map_reconnects;  /* ftidx_reconnects(conn) when @map was read */
static uint32_t *by_name;          /* positions in @map, by name, ignoring case */
static bool said_fallback, said_future, said_placeholders;
static bool denied; /* ftidxd refused this program a write: libtracefs from now on */

static void say_once(bool *said, const char *what)
{
	if (!*said)
		fprintf(stderr, "ftidx: %s\n", what);
	*said = true;
}

/* libtracefs's name of @instance (NULL: the top level). Looked up in the
 * program, not linked: programs that never call libtracefs (a command
 * that trace-cmd runs inherits the preload) load nothing more than this. */
static const char *instance_name(struct tracefs_instance *instance)
{
	const char *(*get_name)(struct tracefs_instance *);

	if (!instance)
		return NULL;
	get_name = (const char *(*)(struct tracefs_instance *))dlsym(RTLD_DEFAULT,
								     "tracefs_instance_get_name");
	return get_name ? get_name(instance) : NULL;
}

static filter_fn real_function(int file)
{
	return (filter_fn)dlsym(RTLD_NEXT, file == FTIDX_FILTER ? "tracefs_function_filter"
							       : "tracefs_function_notrace");
}

static struct batch *batch_of(struct tracefs_instance *instance, int file)
{
	struct batch *b;

	for (b = batches; b; b = b->next)
		if (b->instance == instance && b->file == file)
			return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->instance = instance;
	b->file = file;
	b->next = batches;
	batches = b;
	return b;
}

static void batch_end(struct batch *b)
{
	struct call *v = (struct call *)b->calls.data;

	for (size_t i = 0; i < b->calls.len / sizeof(*v); i++) {
		free(v[i].filter);
		free(v[i].module);
	}
	growbuf_deinit(&b->calls);
	b->open = b->reset = false;
}

/* Compare two lines' names (up to the first space), ignoring case. */
static int name_cmp(const char *a, const char *b)
{
	size_t la = strcspn(a, " "), lb = strcspn(b, " ");
	int c = strncasecmp(a, b, la < lb ? la : lb);

	return c ? c : (la > lb) - (la < lb);
}

static int by_name_cmp(const void *x, const void *y)
{
	uint32_t i = *(const uint32_t *)x, k = *(const uint32_t *)y;
	int c = name_cmp(ftidx_result_line(map, i), ftidx_result_line(map, k));

	return c ? c : (i > k) - (i < k);
}

/* The map, from ftidxd: again when @refresh. 0 or -errno. A plain name
 * is looked up in the map sorted by name, so that a thousand calls with
 * a name each cost a thousand lookups, not a thousand scans. */
static int load_map(bool refresh)
{
	size_t n;
	int r;

	/* a map read on an earlier connection may be another daemon's */
	if (map && conn && !refresh && ftidx_reconnects(conn) == map_reconnects)
		return 0;
	if (!conn) {
		r = ftidx_connect(NULL, &conn);
		if (r < 0)
			return r;
	}
	map = ftidx_result_free(map);
	free(by_name);
	by_name = NULL;
	r = ftidx_list(conn, FTIDX_LIST_WITH_PLACEHOLDERS, NULL, &map);
	if (r < 0)
		return r;
	map_reconnects = ftidx_reconnects(conn);
	n = ftidx_result_count(map);
	by_name = malloc(sizeof(*by_name) * (n ? n : 1));
	if (!by_name) {
		map = ftidx_result_free(map);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		by_name[i] = (uint32_t)i;
	qsort(by_name, n, sizeof(*by_name), by_name_cmp);
	return 0;
}

/* Whether libtracefs reads @filter as a glob (else a regular expression). */
static bool is_glob(const char *filter)
{
	return filter[strspn(filter, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_*.?")] == '\0';
}

/* libtracefs's reading of @filter as a regular expression. */
static int compile(const char *filter, regex_t *re)
{
	bool glob = is_glob(filter);
	struct growbuf text = { 0 };
	size_t len = strlen(filter);
	int r;

	if (!glob && filter[0] != '^')
		growbuf_append_text(&text, "^", 1);
	if (glob) {
		growbuf_append_text(&text, "^", 1);
		for (const char *p = filter; *p; p++)
			growbuf_append_text(&text, *p == '*' ? ".*" : *p == '.' ? "\\." : p,
					    *p == '*' || *p == '.' ? 2 : 1);
	} else {
		growbuf_append_text(&text, filter, len);
	}
	if (glob || len == 0 || filter[len - 1] != '$')
		growbuf_append_text(&text, "$", 1);
	r = text.failed ? REG_ESPACE : regcomp(re, (char *)text.data, REG_ICASE | REG_NOSUB);
	growbuf_deinit(&text);
	return r == 0 ? 0 : -EINVAL;
}

/* Whether @line ("name" or "name [module]") is one @module limits to. */
static bool in_module(const char *line, const char *module)
{
	const char *sp = strchr(line, ' ');
	size_t n = module ? strlen(module) : 0;

	if (!module)
		return true;
	return sp && sp[1] == '[' && strncmp(sp + 2, module, n) == 0 && sp[2 + n] == ']';
}

/* Take line @i of the map if @module allows it and it is no placeholder. */
static size_t take(const struct call *call, size_t i, struct growbuf *out)
{
	const char *line = ftidx_result_line(map, i);
	uint32_t index = ftidx_result_index(map, i);

	if (!in_module(line, call->module))
		return 0;
	if (strncmp(line, "__ftrace_invalid_address___", 27) == 0) {
		say_once(&said_placeholders, "left out placeholders of discarded weak "
					     "functions, which libtracefs would have enabled");
		return 0;
	}
	growbuf_append(out, &index, sizeof(index));
	return 1;
}

/* A glob without '*' is one name: its lines, found by name. */
static size_t match_name(const struct call *call, struct growbuf *out)
{
	size_t lo = 0, hi = ftidx_result_count(map), n = 0;

	/* '?' stays a literal of a basic regular expression: no name has one */
	if (strchr(call->filter, '?'))
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (name_cmp(ftidx_result_line(map, by_name[mid]), call->filter) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ftidx_result_count(map) &&
	       name_cmp(ftidx_result_line(map, by_name[lo]), call->filter) == 0;
	     lo++)
		n += take(call, by_name[lo], out);
	return n;
}

/* Append to @out the indices of the lines @call matches, in index order
 * within the call; how many. */
static ssize_t match(const struct call *call, struct growbuf *out)
{
	char name[1024];
	regex_t re;
	size_t n = 0;

	if (is_glob(call->filter) && !strchr(call->filter, '*'))
		n = match_name(call, out);
	else if (compile(call->filter, &re) < 0)
		return -EINVAL;
	else {
		for (size_t i = 0; i < ftidx_result_count(map); i++) {
			const char *line = ftidx_result_line(map, i);
			size_t len = strcspn(line, " ");

			if (len >= sizeof(name))
				continue;
			memcpy(name, line, len);
			name[len] = '\0';
			if (regexec(&re, name, 0, NULL, 0) == 0)
				n += take(call, i, out);
		}
		regfree(&re);
	}
	return out->failed ? -ENOMEM : (ssize_t)n;
}

/* Hand the calls of @b, and then @call, to libtracefs: the rest of the
 * batch goes there too. */
static int fall_back(struct batch *b, const struct call *call)
{
	filter_fn real = real_function(b->file);
	struct call *v = (struct call *)b->calls.data;
	int r = 0;

	if (call->flags & TRACEFS_FL_FUTURE)
		say_once(&said_future, "TRACEFS_FL_FUTURE (a module not loaded yet): using "
				       "libtracefs for that");
	else
		say_once(&said_fallback, "ftidxd cannot write filters for this program; using "
					 "libtracefs");
	b->real = call->flags & TRACEFS_FL_CONTINUE;
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	for (size_t i = 0; i < b->calls.len / sizeof(*v) && r == 0; i++)
		r = real(b->instance, v[i].filter, v[i].module, v[i].flags | TRACEFS_FL_CONTINUE);
	if (r == 0)
		r = real(b->instance, call->filter, call->module, call->flags);
	return r;
}

/* Send the batch: its calls matched on the current map, pinned to it; once
 * more on a re-read map if a module came or went meanwhile. */
static int commit(struct batch *b)
{
	struct call *v = (struct call *)b->calls.data;
	size_t n_calls = b->calls.len / sizeof(*v);
	int r = -ESTALE;

	for (int attempt = 0; attempt < 2 && r == -ESTALE; attempt++) {
		struct growbuf indices = { 0 };
		size_t n;

		r = load_map(attempt > 0);
		for (size_t i = 0; i < n_calls && r >= 0; i++)
			r = (int)match(&v[i], &indices);
		n = indices.len / sizeof(uint32_t);
		if (r >= 0 && n == 0 && b->reset)
			/* what the truncating open would leave: nothing */
			r = ftidx_filter(conn, FTIDX_CLEAR, b->file, instance_name(b->instance),
					 0, 0, NULL, 0, NULL);
		else if (r >= 0 && n > 0)
			r = ftidx_filter_indices(conn, b->reset ? FTIDX_SET : FTIDX_ADD, b->file,
						 instance_name(b->instance), 0,
						 ftidx_result_generation(map),
						 (const uint32_t *)indices.data, n, NULL);
		growbuf_deinit(&indices);
	}
	return r < 0 ? r : 0;
}

/*
 * Add @call to batch @b, matched now: a pattern that matches nothing is
 * an error, as libtracefs's is, before anything is opened. 0, or -1 with
 * errno.
 */
static int add_call(struct batch *b, struct call *call)
{
	struct growbuf found = { 0 };
	ssize_t n = match(call, &found);
	const char *filter = call->filter, *module = call->module;

	growbuf_deinit(&found);
	if (n <= 0) {
		errno = EINVAL;
		return -1;
	}
	call->filter = strdup(filter);
	call->module = module ? strdup(module) : NULL;
	if (!call->filter || (module && !call->module)) {
		free(call->filter);
		free(call->module);
		errno = ENOMEM;
		return -1;
	}
	growbuf_append(&b->calls, call, sizeof(*call));
	return 0;
}

/* Whether @r says ftidxd was not there to answer: it could not be
 * reached, or hung up (-ECONNABORTED: after the write went out, which
 * libtracefs then makes for certain). For an instance, -ENOENT is the
 * daemon's answer; else its socket is gone. */
static bool daemon_gone(int r, const struct batch *b)
{
	return r == -ECONNREFUSED || r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN ||
	       r == -ECONNABORTED || (r == -ENOENT && !b->instance);
}

/* Commit @b, which ends with @call (if it has a filter): through ftidxd,
 * or, when ftidxd will not write for this caller or is gone, through
 * libtracefs with the caller's own rights and flags. libtracefs's return
 * value, and errno as libtracefs leaves it: 0 after a success. */
static int commit_or_fall_back(struct batch *b, struct call *call)
{
	int r = commit(b), ret = 0, err = 0;

	if (r == -EACCES || r == -EPERM || daemon_gone(r, b)) {
		b->calls.len -= call->filter ? sizeof(struct call) : 0;
		if (r == -EACCES || r == -EPERM) {
			denied = true;
			conn = ftidx_unref(conn); /* the daemon hung up after refusing */
			map = ftidx_result_free(map);
		}
		/* @call as made: a reset alone is a reset for libtracefs too */
		ret = fall_back(b, call);
		err = errno;
		if (call->filter) {
			free(call->filter);
			free(call->module);
		}
	} else if (r < 0) {
		err = -r;
		ret = -1;
	}
	batch_end(b);
	errno = err;
	return ret;
}

/* update(), with the lock held. */
static int update_locked(int file, struct tracefs_instance *instance, const char *filter,
			 const char *module, unsigned int flags)
{
	bool reset = flags & TRACEFS_FL_RESET, cont = flags & TRACEFS_FL_CONTINUE;
	struct call call = { (char *)filter, (char *)module, flags };
	struct batch *b = batch_of(instance, file);
	int ret;

	if (!b)
		return errno = ENOMEM, 1;
	if (b->real) {
		filter_fn real = real_function(file);

		b->real = cont;
		return real ? real(instance, filter, module, flags) : (errno = ENOSYS, -1);
	}
	if (reset && b->open)
		return errno = EBUSY, -1;
	if ((flags & TRACEFS_FL_FUTURE) || denied || load_map(false) < 0) {
		ret = fall_back(b, &call);
		batch_end(b);
		return ret;
	}
	if (module && !filter)
		call.filter = (char *)"*";
	if (call.filter && add_call(b, &call) < 0)
		return 1;
	/* no filter: only committing an open batch, or a reset */
	if (!call.filter && !reset && !(b->open && !cont))
		return errno = EINVAL, 1;
	if (!b->open) {
		b->open = true;
		b->reset = reset;
	}
	errno = 0;
	return cont ? 0 : commit_or_fall_back(b, &call);
}

/* fork() takes the lock first, so that the child never inherits it held
 * by a thread it does not have: fork() waits for a call in flight. */
static void before_fork(void)
{
	pthread_mutex_lock(&lock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&lock);
}

static void watch_forks(void)
{
	pthread_atfork(before_fork, after_fork, after_fork);
}

static int update(int file, struct tracefs_instance *instance, const char *filter,
		  const char *module, unsigned int flags)
{
	int ret;

	if ((flags & TRACEFS_FL_FUTURE) && !module) {
		errno = EINVAL;
		return 1;
	}
	pthread_once(&watch_forks_once, watch_forks);
	pthread_mutex_lock(&lock);
	ret = update_locked(file, instance, filter, module, flags);
	pthread_mutex_unlock(&lock);
	return ret;
}

_public_ int tracefs_function_filter(struct tracefs_instance *instance, const char *filter,
				     const char *module, unsigned int flags)
{
	return update(FTIDX_FILTER, instance, filter, module, flags);
}

_public_ int tracefs_function_notrace(struct tracefs_instance *instance, const char *filter,
				      const char *module, unsigned int flags)
{
	return update(FTIDX_NOTRACE, instance, filter, module, flags);
}
