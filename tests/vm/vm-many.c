/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A kernel shaped like users' machines: ftidxd is up before the modules
 * are, as at boot, and a couple of hundred modules (modules-many.txt,
 * with what they need: /modules/many/order) load back to back while
 * clients are served. Then, on that map: the judge's module patterns,
 * placeholders in module blocks, churn in the middle of the module list,
 * and the speed table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftidx.h"
#include "macro.h"
#include "vm-common.h"

#define ORDER "/modules/many/order"
#define SAMPLES 20000

/* What one kind of client saw during the storm. */
struct seen {
	unsigned requests, failed, wrong, over_1s;
	unsigned behind; /* answered from a map said to be behind the kernel's */
	double worst_ms, total_ms;
	double ms[SAMPLES];
};

enum { READS, LISTS, WRITES, KINDS };

static const char *const kind_names[] = { "resolve vfs_read", "list and status",
					  "set vfs_read" };

struct storm {
	atomic_bool stop;
	struct seen seen[KINDS];
};

static void note(struct seen *s, double ms, bool refused, bool wrong)
{
	if (s->requests < SAMPLES)
		s->ms[s->requests] = ms;
	s->requests++;
	s->failed += refused;
	s->wrong += wrong;
	s->over_1s += ms >= 1000;
	s->total_ms += ms;
	if (ms > s->worst_ms)
		s->worst_ms = ms;
}

/* What a list may hold during the storm, read before it: the kernel's
 * lines then (the core's: no module is in yet), and the names of the
 * modules that load (as the kernel spells them, '_' for '-'), sorted. */
static struct lines core_lines, module_names;
static char *loaded_buf; /* /proc/modules' text, which module_names points into */

static bool known_module(const char *name, size_t len)
{
	char key[64];
	const char *k = key;

	if (len >= sizeof(key))
		return false;
	memcpy(key, name, len);
	key[len] = '\0';
	return bsearch(&k, module_names.v, module_names.n, sizeof(*module_names.v), cmp_str);
}

/* A list from some map of the storm: the kernel's core lines, line for
 * line at their own indices, then only lines of modules that load. A
 * map's module part cannot be checked against the kernel mid-storm (the
 * kernel's list is not the same from one read to the next); the end of
 * the storm checks the whole list against the kernel's. */
static bool list_plausible(const struct ftidx_result *r)
{
	size_t n = ftidx_result_count(r);

	if (n < core_lines.n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *line = ftidx_result_line(r, i), *sp = strchr(line, ' ');
		size_t len = strlen(line);

		if (ftidx_result_index(r, i) != i + 1)
			return false;
		if (i < core_lines.n ? strcmp(line, core_lines.v[i]) != 0
				     : !sp || sp[1] != '[' || line[len - 1] != ']' ||
					       !known_module(sp + 2, (size_t)(line + len - 1 - sp - 2))) {
			static unsigned said;

			if (said++ < 3)
				printf("VM: info: storm: list line %zu is '%s'%s%s\n", i + 1, line,
				       i < core_lines.n ? ", the kernel's core line is " : "",
				       i < core_lines.n ? core_lines.v[i] : "");
			return false;
		}
	}
	return true;
}

/* vfs_read is a core function: its index holds whatever modules do. */
static bool is_vfs_read(const struct ftidx_result *r)
{
	return r && ftidx_result_count(r) == 1 && ftidx_result_line(r, 0) &&
	       strcmp(ftidx_result_line(r, 0), "vfs_read") == 0;
}

static void one_request(struct ftidx *k, int kind, struct seen *s)
{
	const char *tok[1] = { "vfs_read" };
	struct ftidx_result *r = NULL;
	struct ftidx_status *st = NULL;
	double t0 = now_ms();
	bool wrong = false;
	int rc;

	if (kind == READS) {
		rc = ftidx_resolve(k, tok, 1, FTIDX_RESOLVE_WITH_LINES, &r);
		wrong = rc == 0 && !is_vfs_read(r);
		s->behind += rc == 0 && ftidx_result_map_behind(r);
	} else if (kind == LISTS && s->requests % 2) {
		/* this client's maps only move forward, and hold the core */
		static uint64_t last_generation;

		rc = ftidx_status(k, &st);
		wrong = rc == 0 && (st->generation < last_generation || st->entries < core_lines.n);
		if (rc == 0)
			last_generation = st->generation;
		s->behind += rc == 0 && st->is_stale;
	} else if (kind == LISTS) {
		rc = ftidx_list(k, FTIDX_LIST_WITH_PLACEHOLDERS, NULL, &r);
		wrong = rc == 0 && !list_plausible(r);
		s->behind += rc == 0 && ftidx_result_map_behind(r);
	} else {
		rc = ftidx_filter(k, FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, tok, 1, NULL);
		if (rc == 0) {
			struct lines l = kread(T "/set_ftrace_filter");

			wrong = l.n != 1 || strcmp(l.v[0], "vfs_read") != 0;
			lines_free(&l);
		}
	}
	if (rc < 0 && kind != WRITES && s->failed < 3)
		printf("VM: info: storm: %s failed: %s (%s)\n", kind_names[kind], strerror(-rc),
		       ftidx_error_message(k));
	note(s, now_ms() - t0, rc < 0, wrong);
	ftidx_result_free(r);
	ftidx_status_free(st);
}

static pid_t client(struct storm *storm, int kind)
{
	pid_t pid = fork();
	struct ftidx *k = NULL;

	if (pid != 0)
		return pid;
	if (ftidx_connect(NULL, &k) < 0)
		_exit(1);
	ftidx_set_timeout(k, 0);
	/* tools that prefer speed while modules keep coming: the map there
	 * is, at once, said to be behind when it is */
	if (kind != WRITES)
		ftidx_set_read_map(k, FTIDX_READ_MAP_LAST);
	while (!atomic_load(&storm->stop)) {
		one_request(k, kind, &storm->seen[kind]);
		/* readers about as often as before 0.5, when each waited
		 * --read-wait (150 ms) during the storm: their load on the
		 * guest, which slows the loads and the rebuild, stays what
		 * the figures were measured under */
		usleep(kind == WRITES ? 50000 : 150000);
	}
	ftidx_unref(k);
	_exit(0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static unsigned record_count(void)
{
	size_t len;
	char *info = slurp(T "/dyn_ftrace_total_info", &len);
	unsigned n = (unsigned)strtoul(info, NULL, 10);

	free(info);
	return n;
}

/* Load the modules of ORDER back to back, each after what it needs: how
 * many loaded, and their names in *@names (free with lines_free()). */
static unsigned load_all(struct lines *names)
{
	unsigned loaded = 0;

	*names = read_lines(ORDER, false);
	for (size_t i = 0; i < names->n; i++) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/modules/many/%s.ko", names->v[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && syscall(SYS_finit_module, fd, "", 0) == 0)
			loaded++;
		else
			printf("VM: info: %s does not load: %s\n", names->v[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return loaded;
}

/* Until STATUS says the map is the kernel's: ms after @since, or -1
 * after two minutes (a rebuild of this map took 4 s on 6.1 under TCG),
 * or longer where this guest's reads are slower (catch_up_bound_ms()). */
static double wait_current(double since)
{
	double bound = MAX(120000.0, catch_up_bound_ms());

	while (now_ms() - since < bound) {
		struct ftidx_status *st = NULL;
		bool current = ftidx_status(conn(), &st) == 0 && !st->is_stale &&
			       st->entries == record_count();

		ftidx_status_free(st);
		if (current)
			return now_ms() - since;
		usleep(50000);
	}
	return -1;
}

/* The worst of a few requests of each kind before the modules come: the
 * same requests on a quiet guest, a measure of its speed. */
static double quiet_worst_ms(void)
{
	static struct seen quiet[KINDS - 1]; /* (no writes: they change the filter) */
	double worst = 0;

	for (int k = 0; k < KINDS - 1; k++) {
		memset(&quiet[k], 0, sizeof(quiet[k]));
		for (int i = 0; i < 10; i++)
			one_request(conn(), k, &quiet[k]);
		worst = MAX(worst, quiet[k].worst_ms);
	}
	return worst;
}

/* A request answered within @bound_ms: each within 1 s, or within ten
 * times the worst the quiet guest took, where that is longer (a slower
 * host). A reader that waited out a rebuild of the map (4 s on 6.1) still
 * fails it. */
static void storm_report(struct storm *storm, double bound_ms)
{
	for (int k = 0; k < KINDS; k++) {
		struct seen *s = &storm->seen[k];
		size_t n = s->requests < SAMPLES ? s->requests : SAMPLES;

		qsort(s->ms, n, sizeof(*s->ms), cmp_double);
		printf("VM-STORM: %-18s %5u requests, %u failed, %u wrong; median %.1f ms, 99th "
		       "percentile %.1f ms, worst %.1f ms, %u over 1 s; %u said behind\n",
		       kind_names[k], s->requests, s->failed, s->wrong, n ? s->ms[n / 2] : 0.0,
		       n ? s->ms[n * 99 / 100] : 0.0, s->worst_ms, s->over_1s, s->behind);
		result(s->wrong == 0 && s->requests > 0, "storm: %s: %u requests, none wrong",
		       kind_names[k], s->requests);
		if (k != WRITES)
			result(s->failed == 0 && s->worst_ms < bound_ms,
			       "storm: %s: none failed, each answered within %.1f s (worst %.0f ms)",
			       kind_names[k], bound_ms / 1000, s->worst_ms);
	}
}

/* The lists' expectations, read before the storm (see list_plausible). */
static void storm_expectations(void)
{
	struct lines all = read_lines(T "/available_filter_functions", false);
	struct lines loaded = kread("/proc/modules");
	size_t cap;

	core_lines = all;
	while (core_lines.n && strchr(core_lines.v[core_lines.n - 1], '['))
		core_lines.n--;
	module_names = read_lines(ORDER, false);
	cap = module_names.n + loaded.n + 1;
	module_names.v = realloc(module_names.v, sizeof(*module_names.v) * cap);
	/* (modules in before the storm, if any: "NAME SIZE ...", cut at the
	 * space in @loaded's own buffer, which module_names then owns too) */
	for (size_t i = 0; i < loaded.n; i++) {
		loaded.v[i][strcspn(loaded.v[i], " ")] = '\0';
		module_names.v[module_names.n++] = loaded.v[i];
	}
	for (size_t i = 0; i < module_names.n; i++)
		for (char *p = module_names.v[i]; *p; p++)
			*p = *p == '-' ? '_' : *p;
	qsort(module_names.v, module_names.n, sizeof(*module_names.v), cmp_str);
	printf("VM: info: storm: %zu core lines, %zu modules a list may name\n", core_lines.n,
	       module_names.n);
	free(loaded.v);
	loaded_buf = loaded.buf;
}

/* Whether ftidx's list (placeholders too) is the kernel's, line for line
 * at the same indices, now. */
static bool list_is_kernels(void)
{
	struct lines k = read_lines(T "/available_filter_functions", false);
	struct ftidx_result *r = NULL;
	bool same = ftidx_list(conn(), FTIDX_LIST_WITH_PLACEHOLDERS, NULL, &r) == 0 &&
		    ftidx_result_count(r) == k.n;

	for (size_t i = 0; same && i < k.n; i++)
		same = ftidx_result_index(r, i) == i + 1 && strcmp(ftidx_result_line(r, i), k.v[i]) == 0;
	printf("VM: info: ftidx list: %zu lines, the kernel's %zu\n", r ? ftidx_result_count(r) : 0,
	       k.n);
	ftidx_result_free(r);
	lines_free(&k);
	return same;
}

/*
 * ftidxd came up before the modules; now they load back to back while a
 * reader, a lister and a writer are served the whole time. Once the last
 * is in, one rebuild makes the map the kernel's: those begun before it
 * were given up as each load made them worthless.
 */
static void storm(void)
{
	struct storm *storm = mmap(NULL, sizeof(*storm), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned rebuilds = log_count("map rebuilt off the loop"), loaded, after_last;
	pid_t pids[KINDS];
	struct lines names;
	double t0, t_last, current, quiet_ms = quiet_worst_ms();

	printf("VM-STORM: before the modules, the worst of 10 resolves and 10 lists or statuses: "
	       "%.1f ms\n",
	       quiet_ms);
	memset(storm, 0, sizeof(*storm));
	storm_expectations();
	for (int k = 0; k < KINDS; k++)
		pids[k] = client(storm, k);
	usleep(500000);
	t0 = now_ms();
	loaded = load_all(&names);
	t_last = now_ms();
	after_last = log_count("map rebuilt off the loop");
	current = wait_current(t_last);
	after_last = log_count("map rebuilt off the loop") - after_last;
	atomic_store(&storm->stop, true);
	for (int k = 0; k < KINDS; k++)
		waitpid(pids[k], NULL, 0);
	rebuilds = log_count("map rebuilt off the loop") - rebuilds;
	printf("VM-STORM: %u of %zu modules loaded in %.1f s; the map current %.0f ms after the "
	       "last, by %u rebuild(s) of %.0f ms; %u rebuilds for %u loads\n",
	       loaded, names.n, (t_last - t0) / 1000, current, after_last, last_rebuild_ms(),
	       rebuilds, loaded);
	result(loaded >= 150, "storm: %u modules loaded (at least 150)", loaded);
	result(current >= 0 && after_last == 1,
	       "storm: the map is current once the modules are in, after one rebuild (%u)",
	       after_last);
	result(rebuilds < loaded / 2, "storm: %u rebuilds for %u module loads", rebuilds, loaded);
	result(list_is_kernels(), "storm: once the map is current, ftidx list is the kernel's list, "
				  "line for line at the same indices");
	{
		double ms = published_matches();

		result(ms >= 0,
		       "storm: the published list is the kernel's byte for byte once the map is "
		       "current (%.0f ms), placeholders in modules and all",
		       ms);
	}
	storm_report(storm, MAX(1000.0, 10 * quiet_ms));
	lines_free(&names);
	lines_free(&core_lines);
	lines_free(&module_names);
	free(loaded_buf);
	loaded_buf = NULL;
	munmap(storm, sizeof(*storm));
	kclear(T "/set_ftrace_filter");
}

/* ---- the map ------------------------------------------------------------ */

struct shape {
	unsigned total, module_lines, placeholders, module_placeholders;
	uint32_t module_placeholder; /* the index of one, or 0 */
	char both[128];              /* a name in vmlinux and in a module */
	char both_module[64];        /* ...that module */
};

/* The lines as the kernel lists them, counted. */
static void measure(struct shape *sh)
{
	size_t len;
	char *text = slurp(T "/available_filter_functions", &len), *save = NULL;
	unsigned index = 0;

	memset(sh, 0, sizeof(*sh));
	for (char *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		bool module = strchr(s, '[') != NULL;
		bool placeholder = strncmp(s, "__ftrace_invalid_address___", 27) == 0;

		index++;
		sh->total++;
		sh->module_lines += module;
		sh->placeholders += placeholder;
		if (module && placeholder) {
			sh->module_placeholders++;
			if (!sh->module_placeholder)
				sh->module_placeholder = index;
		}
	}
	free(text);
}

/* A name on a core line and on a module's line (not a placeholder). */
static void find_shared_name(struct shape *sh)
{
	struct ftidx_result *core = NULL, *all = NULL;

	if (ftidx_list(conn(), FTIDX_LIST_BY_MODULE, "", &core) < 0 ||
	    ftidx_list(conn(), 0, NULL, &all) < 0)
		goto out;
	for (size_t i = 0; i < ftidx_result_count(all) && !sh->both[0]; i++) {
		const char *line = ftidx_result_line(all, i), *sp = strchr(line, ' ');
		struct ftidx_result *r = NULL;
		const char *tok[1];
		char name[128];

		if (!sp || (size_t)(sp - line) >= sizeof(name) || i % 7)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(sp - line), line);
		tok[0] = name;
		if (ftidx_resolve(conn(), tok, 1, FTIDX_RESOLVE_WITH_LINES, &r) == 0)
			for (size_t k = 0; k < ftidx_result_count(r); k++)
				if (strcmp(ftidx_result_line(r, k), name) == 0) {
					snprintf(sh->both, sizeof(sh->both), "%s", name);
					snprintf(sh->both_module, sizeof(sh->both_module), "%.*s",
						 (int)strcspn(sp + 2, "]"), sp + 2);
				}
		ftidx_result_free(r);
	}
out:
	ftidx_result_free(core);
	ftidx_result_free(all);
}

/* A placeholder inside a module's block: mapped at its index, never
 * enabled by a pattern, refused by index and by name. */
static void module_placeholders(const struct shape *sh)
{
	char idx[16];
	const char *by_index[1] = { idx }, *by_name[1] = { "__ftrace_invalid_address___0" };
	const char *star[1] = { "*" };
	struct ftidx_result *r = NULL;
	uint32_t at = sh->module_placeholder;
	bool enabled = false;

	if (!at) {
		printf("VM: info: no placeholder in a module block on this kernel\n");
		const char *why = "";
		int rc = ftidx_filter(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, by_name, 1, &r);
		int per_token = r ? ftidx_result_token_error(r, 0, &why) : 0;

		/* refused as a placeholder, not as any name that matches nothing */
		result(rc == -EINVAL && per_token == -EPERM && strstr(why, "placeholder"),
		       "module placeholders: none listed, and their names are refused as such (%s)",
		       why);
		ftidx_result_free(r);
		return;
	}
	snprintf(idx, sizeof(idx), "%u", at);
	ftidx_names(conn(), &at, 1, &r);
	result(r && strncmp(ftidx_result_line(r, 0), "__ftrace_invalid_address___", 27) == 0,
	       "module placeholders: index %u is mapped as one (%s)", at,
	       r ? ftidx_result_line(r, 0) : "?");
	r = ftidx_result_free(r);
	result(ftidx_filter(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, by_index, 1, NULL) ==
		       -EINVAL,
	       "module placeholders: index %u is refused", at);
	if (ftidx_resolve(conn(), star, 1, 0, &r) == 0)
		for (size_t i = 0; i < ftidx_result_count(r); i++)
			enabled |= ftidx_result_index(r, i) == at;
	result(r && !enabled, "module placeholders: '*' never selects one (%u of them)",
	       sh->module_placeholders);
	ftidx_result_free(r);
	kclear(T "/set_ftrace_filter");
}

/* Is @name in /proc/modules? */
static bool module_loaded(const char *name)
{
	struct lines mods = kread("/proc/modules");
	size_t len = strlen(name);
	bool found = false;

	for (size_t i = 0; i < mods.n && !found; i++)
		found = strncmp(mods.v[i], name, len) == 0 && mods.v[i][len] == ' ';
	lines_free(&mods);
	return found;
}

static void judge(const struct shape *sh)
{
	/* the kernel takes ":mod:" of a module not loaded (for when it
	 * loads); ftidx refuses what matches nothing: judge loaded ones */
	static const char *const needed[] = { "ext4", "nf_tables", "btrfs" };

	char both[160], both_mod[256];
	const char *pats[] = {
		"*:mod:ext4", ":mod:!ext4", "nf_*", "nft_*:mod:nf_tables", "*_init:mod:nf*",
		"xfs_*", "*crc32*", "btrfs_*:mod:btrfs", both, both_mod,
	};
	size_t n = ARRAY_SIZE(pats), agree;

	snprintf(both, sizeof(both), "%s", sh->both[0] ? sh->both : "vfs_read");
	snprintf(both_mod, sizeof(both_mod), "%s:mod:%s", both,
		 sh->both_module[0] ? sh->both_module : "ext4");
	printf("VM: a name in vmlinux and a module: '%s' (also in %s)\n", both, sh->both_module);
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		result(module_loaded(needed[i]), "many modules: %s is loaded", needed[i]);
	agree = equivalence_of("many modules", T "/set_ftrace_filter", FTIDX_FILTER, NULL, pats, n);
	result(agree == n, "many modules: %zu of %zu module patterns leave the kernel's filter",
	       agree, n);
}

/* ---- churn in the middle of the module list ----------------------------- */

/* Up to @max modules from the middle of the load order that nothing uses,
 * each with a function unique to it: names in @mods, "NAME [MOD]" lines
 * in @lines. How many. */
static size_t middle_modules(char mods[][64], char lines[][192], size_t max)
{
	struct lines order = read_lines(ORDER, false), procmods = kread("/proc/modules");
	size_t n = 0;

	for (size_t i = order.n / 3; i < order.n && n < max; i += order.n / 12 + 1) {
		char mod[64];
		struct ftidx_result *r = NULL;

		snprintf(mod, sizeof(mod), "%s", order.v[i]);
		for (char *p = mod; *p; p++)
			*p = *p == '-' ? '_' : *p;
		/* unused: "NAME SIZE 0 - Live ..." */
		for (size_t k = 0; k < procmods.n; k++) {
			char name[64];
			unsigned used = 1;

			if (sscanf(procmods.v[k], "%63s %*u %u", name, &used) == 2 &&
			    strcmp(name, mod) == 0 && used == 0 &&
			    ftidx_list(conn(), FTIDX_LIST_BY_MODULE, mod, &r) == 0 &&
			    ftidx_result_count(r) > 0) {
				snprintf(mods[n], 64, "%s", order.v[i]);
				snprintf(lines[n], 192, "%s", ftidx_result_line(r, 0));
				n++;
			}
		}
		ftidx_result_free(r);
	}
	lines_free(&order);
	lines_free(&procmods);
	return n;
}

/*
 * Modules in the middle of the list go and come back, which moves every
 * index after them, while requests set one of their functions by name,
 * or by index pinned to the generation it was resolved on: each request
 * leaves exactly what it asked for, or is refused and leaves nothing.
 * The modules change every other rebuild's time or so (seconds under
 * TCG, more with more modules), so that writes find a current map too.
 */
/* The churner adds a line here after each module change, and then waits
 * for the judge to create CHURN_GO (for at most a minute) before it
 * sleeps its period and makes the next: so that each change's check of
 * the published copy is made against the kernel's list of that change,
 * not overtaken by the next. */
#define CHANGES "/tmp/churn-changes"
#define CHURN_GO "/tmp/churn-go"
/* the churner's wait for it, in its shell */
#define WAIT_GO                                                                                 \
	"i=0; while [ ! -e " CHURN_GO " ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "  \
	"rm -f " CHURN_GO "; "

static off_t changes_so_far(void)
{
	struct stat st;

	return stat(CHANGES, &st) == 0 ? st.st_size : 0;
}

/* After a module change: once the map is current again, the published
 * copy of the list is the kernel's, byte for byte; then the churner may
 * go on. */
static void published_after_change(off_t *seen, unsigned *checked, unsigned *identical)
{
	off_t now = changes_so_far();
	double ms;
	int fd;

	if (now == *seen)
		return;
	*seen = now;
	wait_map_current();
	ms = published_matches();
	(*checked)++;
	*identical += ms >= 0;
	printf("VM: info: module change %lld: the published list %s (%.0f ms)\n", (long long)now,
	       ms >= 0 ? "is the kernel's byte for byte" : "DIFFERS from the kernel's", ms);
	fd = open(CHURN_GO, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void middle_churn(unsigned requests)
{
	char mods[3][64], want[3][192], name[3][128], cmd[192];
	size_t n = middle_modules(mods, want, 3);
	unsigned written = 0, refused = 0, wrong = 0, checked = 0, identical = 0;
	off_t changes_seen = 0;
	double t0, rebuild_ms;
	int period_s;
	pid_t churner;

	result(n > 0, "middle churn: %zu unused modules from the middle of the list", n);
	if (!n)
		return;
	/* the last rebuild was of this map, after the storm */
	rebuild_ms = last_rebuild_ms();
	period_s = MAX(12, (int)(2 * rebuild_ms / 1000) + 2);
	printf("VM-CHURN: a rebuild of this map took %.0f ms; the modules change every %d s\n",
	       rebuild_ms, period_s);
	for (size_t k = 0; k < n; k++)
		snprintf(name[k], sizeof(name[k]), "%.*s", (int)strcspn(want[k], " "), want[k]);
	unlink(CHANGES);
	unlink(CHURN_GO);
	churner = fork();
	if (churner == 0) {
		char script[4096];
		int len = 0;

		/* its own process group, so that its shells die with it (else
		 * the modules go on changing under what follows) */
		setpgid(0, 0);
		for (size_t k = 0; k < n; k++)
			len += snprintf(script + len, sizeof(script) - (size_t)len,
					"rmmod %s; echo >>" CHANGES "; " WAIT_GO "sleep %d; "
					"insmod /modules/many/%s.ko; echo >>" CHANGES "; " WAIT_GO
					"sleep %d; ",
					mods[k], period_s, mods[k], period_s);
		for (;;)
			if (system(script) < 0)
				break;
		_exit(0);
	}
	/* the phase ends after @requests, or four module changes (a minute at
	 * least) */
	t0 = now_ms();
	for (unsigned i = 0; i < requests && now_ms() - t0 < MAX(60000.0, 4000.0 * period_s); i++) {
		size_t k = i % n;
		const char *tok[1] = { name[k] };
		struct ftidx_result *r = NULL;
		struct lines l;
		int rc;

		published_after_change(&changes_seen, &checked, &identical);
		kclear(T "/set_ftrace_filter");
		if (i % 2 == 0)
			rc = ftidx_filter(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, tok, 1,
					  NULL);
		else if ((rc = ftidx_resolve(conn(), tok, 1, 0, &r)) == 0)
			rc = ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0,
						  ftidx_result_generation(r), ftidx_result_indices(r),
						  ftidx_result_count(r), NULL);
		ftidx_result_free(r);
		l = kread(T "/set_ftrace_filter");
		/* (the module may go right after the write, and its line with it) */
		if (rc == 0) {
			written++;
			wrong += l.n > 1 || (l.n == 1 && strcmp(l.v[0], want[k]) != 0);
		} else {
			refused++;
			wrong += l.n != 0;
			if (refused <= 3 || rc == -ETIMEDOUT || rc == -EPIPE)
				printf("VM: info: churn request %u refused: %s (%s)\n", i,
				       strerror(-rc), ftidx_error_message(conn()));
		}
		lines_free(&l);
	}
	kill(-churner, SIGKILL);
	kill(churner, SIGKILL);
	waitpid(churner, NULL, 0);
	usleep(2000000);
	for (size_t k = 0; k < n; k++) {
		snprintf(cmd, sizeof(cmd), "insmod /modules/many/%s.ko 2>/dev/null", mods[k]);
		if (system(cmd) < 0)
			break;
	}
	printf("VM-CHURN: middle of the module list (%s, ...): %u requests, %u written, %u "
	       "refused (module away or stale), %u wrong\n",
	       mods[0], written + refused, written, refused, wrong);
	result(wrong == 0 && written > 0, "middle churn: %u requests, %u written, %u wrong",
	       written + refused, written, wrong);
	wait_map_current();
	identical += published_matches() >= 0;
	checked++;
	/* (at least the end, and each change the loop saw before it ended) */
	result(checked >= 2 && identical == checked,
	       "middle churn: the published list is the kernel's byte for byte after %u of %u "
	       "module changes and at the end",
	       identical - 1, checked - 1);
	kclear(T "/set_ftrace_filter");
}

/*
 * Back to one CPU before anything turns tracing on. Under TCG a second
 * vCPU can run code ftrace is patching from a translation made before
 * the patch, and trap on an int3 the kernel no longer expects (an oops in
 * __resched_curr, seen on 7.2 when trace-cmd started the function
 * tracer): emulation's fault, not the kernel's, since real CPUs are
 * synchronised by the patching's IPIs. Only the speed table traces.
 */
static void one_cpu(void)
{
	unsigned offline = 0;

	for (int cpu = 1; cpu < 256; cpu++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		if (access(path, F_OK) < 0)
			break;
		offline += kwrite(path, "0\n", true) == 0;
	}
	printf("VM: info: %u CPU(s) taken offline for the speed table\n", offline);
}

int run_many(bool speed, bool tools)
{
	struct shape sh;

	stall_start();
	stall_phase("module storm");
	storm();
	/* where a reader of the list gains most: a few hundred modules (on
	 * Debian 12's kernel in CI: on the newest, Debian 12's bpftrace and
	 * bcc took five minutes of CI's hour; vm-readers' fopen and
	 * trace-cmd checks run on it in the test mode) */
	if (tools) {
		stall_phase("tools that read the function list");
		bpf_tools();
	}
	stall_phase("the map's shape");
	measure(&sh);
	find_shared_name(&sh);
	printf("VM-MANY: %u lines, %u of them of modules; %u placeholders, %u of them in module "
	       "blocks\n",
	       sh.total, sh.module_lines, sh.placeholders, sh.module_placeholders);
	result(sh.module_lines >= 20000, "many modules: %u module lines (at least 20,000)",
	       sh.module_lines);
	module_placeholders(&sh);
	stall_phase("judge (module patterns)");
	judge(&sh);
	stall_phase("churn in the middle of the list");
	middle_churn(80);
	/* the speed table on this map: what ftidx saves grows with the
	 * kernel's list, which libtracefs and the kernel's by-name walk read
	 * per name (seconds each here: three of them, scaled) */
	printf("VM: the map current %.0f ms after the churn\n", wait_current(now_ms()));
	if (speed) {
		one_cpu();
		stall_phase("speed table");
		run_speed(3);
	}
	/* init.sh gave this guest's ftidxd a short idle timeout, which the
	 * storm and the tools outlast: the checks after them held */
	{
		double longest;
		unsigned n = conn_replaced(&longest);

		result(n > 0 && longest >= conn_idle_timeout() * 1000.0,
		       "the judge's connection was silent for %.0f s, past ftidxd's %u s idle "
		       "timeout, and was replaced %u time(s) before its next request",
		       longest / 1000, conn_idle_timeout(), n);
	}
	stall_report();
	return 0;
}
