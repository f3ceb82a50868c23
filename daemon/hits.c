/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counting calls (see hits.h).
 *
 * Records are counted by address in an open-addressing table while the run
 * lasts, and named only at the end: a run sees a few thousand distinct
 * addresses at most. Where the kernel lists each line's address
 * (available_filter_functions_addrs, 6.5+), a recorded ip is the record's
 * own address, which ties it to exactly one line even when several share
 * its name. Otherwise, or for an ip no line has, kallsyms is parsed once
 * to name it, and a name on several traced lines cannot say which.
 */
#include <errno.h>
#include <event-parse.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "growbuf.h"
#include "hits.h"
#include "macro.h"
#include "tracing.h"

/* How far past its start a drain reads before leaving the rest for later. */
#define DRAIN_SLACK_NS (100ull * 1000 * 1000)

struct slot {
	uint64_t ip; /* 0: empty (no function lives at address 0) */
	uint64_t count;
};

/* A traced function, for naming what fired: sorted by bare name. */
struct traced {
	const char *line; /* "name" or "name [module]", in the arena */
	size_t name_len;
	uint32_t index;
	uint64_t address; /* 0: the kernel does not list it */
};

struct hits {
	char *instance;
	bool created, running;
	struct tep_handle *tep;
	int function_id;
	struct tep_format_field *ip_field;
	struct slot *slots;
	size_t n_slots, used; /* n_slots: a power of two */
	uint64_t events, lost;
	uint64_t drain_until_ns; /* CLOCK_MONOTONIC, the clock of the run's records */
	bool cut_short;          /* a drain stopped mid-page: its records are gone */
	struct traced *traced;
	size_t n_traced;
	struct traced *by_address; /* the traced lines by address, when listed */
	char *arena;
	struct hit *results;
	size_t n_results;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	return x ^ (x >> 33);
}

static int slots_grow(struct hits *h)
{
	size_t n = h->n_slots ? h->n_slots * 2 : 1024;
	struct slot *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_slots; i++) {
		size_t k;

		if (!h->slots[i].ip)
			continue;
		for (k = mix(h->slots[i].ip) & (n - 1); s[k].ip; k = (k + 1) & (n - 1))
			;
		s[k] = h->slots[i];
	}
	free(h->slots);
	h->slots = s;
	h->n_slots = n;
	return 0;
}

static int count_ip(struct hits *h, uint64_t ip)
{
	size_t k;

	if (2 * (h->used + 1) > h->n_slots && slots_grow(h) < 0)
		return -ENOMEM;
	for (k = mix(ip) & (h->n_slots - 1); h->slots[k].ip && h->slots[k].ip != ip;
	     k = (k + 1) & (h->n_slots - 1))
		;
	if (!h->slots[k].ip) {
		h->slots[k].ip = ip;
		h->used++;
	}
	h->slots[k].count++;
	return 0;
}

static int on_record(struct tep_event *event, struct tep_record *record, int cpu _unused_,
		     void *ctx)
{
	struct hits *h = ctx;
	unsigned long long ip;

	/* Functions that fire faster than one reader drains would keep the
	 * drain going for ever: leave the newer records to the next one. */
	if (record->ts > h->drain_until_ns) {
		h->cut_short = true;
		return 1;
	}
	if (event->id != h->function_id || tep_read_number_field(h->ip_field, record->data, &ip) < 0)
		return 0;
	h->events++;
	/* Out of memory: stop this pass; the error surfaces as a short count. */
	return count_ip(h, ip) < 0 ? 1 : 0;
}

static int compare_traced(const void *a, const void *b)
{
	const struct traced *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->line, y->line, n);

	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int compare_address(const void *a, const void *b)
{
	const struct traced *x = a, *y = b;

	return (x->address > y->address) - (x->address < y->address);
}

/* Keep each traced function's line: the map may be rebuilt during the run. */
static int copy_traced(struct hits *h, const struct map *m, const uint32_t *indices, size_t n)
{
	size_t bytes = 0, off = 0;

	for (size_t i = 0; i < n; i++) {
		const char *mod = map_module(m, indices[i]);

		bytes += map_name_len(m, indices[i]) + (mod ? strlen(mod) + 3 : 0) + 1;
	}
	h->arena = malloc(bytes ? bytes : 1);
	h->traced = calloc(n ? n : 1, sizeof(*h->traced));
	if (!h->arena || !h->traced)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *mod = map_module(m, indices[i]);
		size_t len = map_name_len(m, indices[i]);
		int w;

		w = sprintf(h->arena + off, "%.*s%s%s%s", (int)len, map_name(m, indices[i]),
			    mod ? " [" : "", mod ? mod : "", mod ? "]" : "");
		h->traced[i] = (struct traced){ h->arena + off, len, indices[i],
						map_address(m, indices[i]) };
		off += (size_t)w + 1;
	}
	h->n_traced = n;
	if (map_has_addresses(m)) {
		h->by_address = malloc(sizeof(*h->by_address) * (n ? n : 1));
		if (!h->by_address)
			return -ENOMEM;
		memcpy(h->by_address, h->traced, sizeof(*h->traced) * n);
		qsort(h->by_address, n, sizeof(*h->by_address), compare_address);
	}
	qsort(h->traced, n, sizeof(*h->traced), compare_traced);
	return 0;
}

/* The function tracer's event, and where its records keep the address.
 * 0 or -errno. */
static int find_function_event(struct hits *h)
{
	struct tep_event *fn;
	int r = tracing_load_events("ftrace", &h->tep);

	if (r < 0)
		return r;
	fn = tep_find_event_by_name(h->tep, "ftrace", "function");
	h->ip_field = fn ? tep_find_field(fn, "ip") : NULL;
	if (!h->ip_field)
		return -ENOENT;
	h->function_id = fn->id;
	return 0;
}

/* The run's instance, filtered to @indices of @m, tracing. 0, or -errno
 * with *@why. */
static int start_instance(struct hits *h, const struct writer_io *io, const struct map *m,
			  const uint32_t *indices, size_t n, const char **why)
{
	struct resolution res = { .enable = (uint32_t *)indices, .n_enable = n };
	struct writer_request wreq = { .instance = h->instance, .file = FTIDX_FILE_FILTER,
				       .op = FTIDX_OP_SET };
	_cleanup_(writer_result_deinit) struct writer_result wres = { 0 };
	char pid[32];
	int r;

	/* Left by an earlier ftidxd that died mid-run with the pid we have
	 * now (in a container, say): hits_remove_orphans() spares it, since
	 * that pid is alive. */
	if (tracing_instance_exists(h->instance))
		tracing_remove_instance(h->instance);
	*why = "cannot create an instance for the run";
	r = tracing_create_instance(h->instance);
	if (r < 0)
		return r;
	h->created = true;
	r = writer_apply(io, m, &wreq, &res, &wres);
	if (r < 0) {
		*why = wres.why ? wres.why : "cannot set the run's filter";
		return r;
	}
	/* ftidxd's own calls (reading the ring buffer is a vfs_read) are not
	 * what the client asked about, and would feed the drain for ever. The
	 * kernel tells threads apart: the main thread's, and this one's,
	 * which drains. */
	*why = "cannot set up the run's instance";
	snprintf(pid, sizeof(pid), "%d %d", (int)getpid(), (int)gettid());
	r = tracing_write_file(h->instance, "set_ftrace_notrace_pid", pid);
	if (r == 0)
		r = tracing_write_file(h->instance, "trace_clock", "mono");
	if (r < 0)
		return r;
	*why = "cannot start the function tracer";
	r = tracing_write_file(h->instance, "current_tracer", "function");
	if (r < 0)
		return r;
	h->running = true;
	return tracing_write_file(h->instance, "tracing_on", "1");
}

int hits_start(struct hits **out, const struct writer_io *io, const struct map *m,
	       const char *instance, const uint32_t *indices, size_t n, const char **why)
{
	struct hits *h = calloc(1, sizeof(*h));
	int r = -ENOMEM;

	*why = "out of memory";
	if (h && (h->instance = strdup(instance)))
		r = copy_traced(h, m, indices, n);
	if (r == 0) {
		*why = "cannot read the function tracer's event format";
		r = find_function_event(h);
	}
	if (r == 0)
		r = start_instance(h, io, m, indices, n, why);
	if (r < 0) {
		hits_free(h);
		return r;
	}
	*out = h;
	return 0;
}

int hits_drain(struct hits *h)
{
	h->drain_until_ns = now_ns() + DRAIN_SLACK_NS;
	return tracing_consume_events(h->instance, h->tep, on_record, h);
}

/* What each CPU's buffer overwrote or dropped: the count's shortfall. */
static void read_lost(struct hits *h)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	for (long cpu = 0; cpu < cpus; cpu++) {
		_cleanup_free_ char *text = NULL;
		char file[64];
		const char *p;
		size_t len;

		snprintf(file, sizeof(file), "per_cpu/cpu%ld/stats", cpu);
		if (tracing_read_file(h->instance, file, &text, &len) < 0)
			continue;
		if ((p = strstr(text, "overrun: ")))
			h->lost += strtoull(p + 9, NULL, 10);
		if ((p = strstr(text, "dropped events: ")))
			h->lost += strtoull(p + 16, NULL, 10);
	}
}

/* Read a /proc file, whose size stat() does not tell. */
/* A whole file as text, in *@out (free() it). */
static int read_text(const char *path, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct growbuf b = { 0 };
	int r;

	if (fd < 0)
		return negative_errno();
	r = growbuf_read_fd(&b, fd);
	if (r < 0) {
		growbuf_deinit(&b);
		return r;
	}
	*out = (char *)b.data;
	return 0;
}

/* Whether kallsyms shows real addresses: without CAP_SYSLOG every one is
 * zero. (The first lines are per-CPU symbols, zero in any case.) */
static bool has_addresses(const char *kallsyms)
{
	for (const char *line = kallsyms; *line;) {
		const char *nl = strchr(line, '\n');

		for (const char *p = line; *p && *p != ' '; p++)
			if (*p != '0')
				return true;
		if (!nl)
			break;
		line = nl + 1;
	}
	return false;
}

static int compare_hits(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->line, y->line);
}

/* Name the function at @ip: the one traced line of that name, if one. */
static void name_hit(struct hits *h, uint64_t ip, struct hit *out)
{
	struct traced key = { 0 };
	const struct traced *t;
	size_t lo = 0, hi = h->n_traced;

	key.line = tep_find_function(h->tep, ip);
	if (!key.line) {
		out->line = "(unknown address)";
		return;
	}
	key.name_len = strlen(key.line);
	out->line = key.line;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (compare_traced(&h->traced[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	t = lo < h->n_traced ? &h->traced[lo] : NULL;
	if (!t || compare_traced(t, &key) != 0)
		return;
	/* Several traced lines with this name: the address cannot say which. */
	if (lo + 1 < h->n_traced && compare_traced(&h->traced[lo + 1], &key) == 0)
		return;
	out->index = t->index;
	out->line = t->line;
}

/* Tie @ip to the one traced line at that address; whether there is one. */
static bool name_by_address(const struct hits *h, uint64_t ip, struct hit *out)
{
	struct traced key = { .address = ip };
	const struct traced *t;

	if (!h->by_address || !ip)
		return false;
	t = bsearch(&key, h->by_address, h->n_traced, sizeof(*t), compare_address);
	if (!t)
		return false;
	out->index = t->index;
	out->line = t->line;
	return true;
}

/* Name through kallsyms what the addresses could not. */
static int name_the_rest(struct hits *h, const char *kallsyms, const char **why)
{
	_cleanup_free_ char *syms = NULL;
	int r;

	*why = "cannot read /proc/kallsyms to name the functions";
	r = read_text(kallsyms, &syms);
	if (r < 0)
		return r;
	if (!has_addresses(syms)) {
		*why = "the kernel hides addresses in /proc/kallsyms from ftidxd (it needs "
		       "CAP_SYSLOG to name what fired)";
		return -EPERM;
	}
	*why = "cannot parse /proc/kallsyms";
	if (tep_parse_kallsyms(h->tep, syms) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < h->n_results; i++)
		if (!h->results[i].line)
			name_hit(h, h->results[i].ip, &h->results[i]);
	return 0;
}

int hits_stop(struct hits *h, const char *kallsyms, const char **why)
{
	size_t unnamed = 0;
	int r;

	*why = "cannot stop the function tracer";
	r = tracing_write_file(h->instance, "tracing_on", "0");
	if (r < 0)
		return r;
	*why = "cannot read the ring buffer";
	r = hits_drain(h);
	if (r < 0)
		return r;
	read_lost(h);
	r = tracing_write_file(h->instance, "current_tracer", "nop");
	if (r < 0)
		return r;
	h->running = false;

	h->results = calloc(h->used ? h->used : 1, sizeof(*h->results));
	if (!h->results) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->n_slots; i++) {
		struct hit *hit = &h->results[h->n_results];

		if (!h->slots[i].ip)
			continue;
		hit->ip = h->slots[i].ip;
		hit->count = h->slots[i].count;
		unnamed += !name_by_address(h, hit->ip, hit);
		h->n_results++;
	}
	if (unnamed) {
		r = name_the_rest(h, kallsyms, why);
		if (r < 0)
			return r;
	}
	qsort(h->results, h->n_results, sizeof(*h->results), compare_hits);
	return 0;
}

const struct hit *hits_results(const struct hits *h, size_t *n)
{
	*n = h->n_results;
	return h->results;
}

uint64_t hits_events(const struct hits *h)
{
	return h->events;
}

uint64_t hits_lost(const struct hits *h)
{
	return h->lost;
}

bool hits_cut_short(const struct hits *h)
{
	return h->cut_short;
}

void hits_remove_instance(struct hits *h)
{
	if (h->running)
		tracing_write_file(h->instance, "current_tracer", "nop");
	h->running = false;
	if (h->created)
		tracing_remove_instance(h->instance);
	h->created = false;
}

size_t hits_enabled(const struct hits *h)
{
	return h->n_traced;
}

int hits_remove_orphans(void)
{
	return tracing_remove_orphans(HITS_INSTANCE_PREFIX);
}

struct hits *hits_free(struct hits *h)
{
	if (!h)
		return NULL;
	hits_remove_instance(h);
	if (h->tep)
		tep_free(h->tep);
	free(h->slots);
	free(h->traced);
	free(h->by_address);
	free(h->arena);
	free(h->results);
	free(h->instance);
	free(h);
	return NULL;
}
