/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libtracefs drop-in against libtracefs itself. The same program,
 * linked to the real libtracefs, makes the same calls to
 * tracefs_function_filter() and tracefs_function_notrace() on a fake
 * tracing directory three times: plainly, with the drop-in preloaded and
 * ftidxd serving the directory, and with the drop-in preloaded but no
 * daemon to reach (it must fall back to libtracefs). Each call's return
 * and errno, and what the filter files then hold, must be the same.
 *
 *   test-dropin FTIDXD DROPIN FIXTURES     the comparison
 *   test-dropin --run DIR                  one run, printing what it saw
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tracefs.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "testlib.h"

#define F 0 /* set_ftrace_filter */
#define N 1 /* set_ftrace_notrace */

struct step {
	int file;
	const char *filter, *module;
	unsigned flags;
};

#define R TRACEFS_FL_RESET
#define C TRACEFS_FL_CONTINUE

/* Each case starts from empty filter files. */
static const struct kase {
	size_t n;
	struct step s[4];
} cases[] = {
	{ 1, { { F, "vfs_read", NULL, R } } },
	{ 1, { { F, "VFS_READ", NULL, R } } },                 /* case-insensitive */
	{ 3, { { F, "vfs_*", NULL, R | C }, { F, "type_show", NULL, C }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, "lo_*", "loop", R } } },                   /* a module */
	{ 1, { { F, NULL, "dummy", R } } },                    /* a whole module */
	{ 1, { { F, "*_show", NULL, R } } },
	{ 1, { { F, "vfs_rea[dv]", NULL, R } } },              /* a regular expression */
	{ 1, { { F, "*.isra.0", NULL, R } } },                 /* '.' is a dot */
	{ 1, { { F, "vfs_rea?", NULL, R } } },                 /* '?' matches nothing */
	{ 1, { { F, "no_such_function", NULL, R } } },
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "nosuch", NULL, C }, { F, "type_show", NULL, 0 } } },
	{ 2, { { F, "vfs_read", NULL, R }, { F, "vfs_write", NULL, 0 } } }, /* appended */
	{ 2, { { N, "rcu_*", NULL, R }, { F, "schedule", NULL, R } } },
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "vfs_write", NULL, R }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, "vfs_read", NULL, TRACEFS_FL_FUTURE } } }, /* FUTURE wants a module */
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, NULL, NULL, C }, { F, NULL, NULL, 0 } } },
	{ 1, { { F, NULL, NULL, R } } },                       /* a reset alone */
	{ 1, { { F, "vfs_read|vfs_write", NULL, R } } },       /* '|' is a literal in a BRE */
	/* FUTURE in the middle of a batch: the batch goes to libtracefs */
	{ 3, { { F, "vfs_read", NULL, R | C }, { F, "lo_*", "loop", TRACEFS_FL_FUTURE | C },
	       { F, NULL, NULL, 0 } } },
	{ 2, { { N, "vfs_*", NULL, R | C }, { N, "type_show", NULL, 0 } } },
};

static int cmp_u(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/* What a filter file holds as the kernel would apply it: "N" adds line N
 * (once), "!N" removes it; printed as sorted indices. */
static void print_file(const char *dir, const char *name)
{
	char path[4096];
	size_t len, n = 0, k = 0;
	char *text, *save = NULL;
	unsigned long *v;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = test_read_file(path, &len);
	v = calloc(len / 2 + 1, sizeof(*v));
	for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		bool neg = t[0] == '!';
		unsigned long x = strtoul(t + neg, NULL, 10);
		size_t i;

		for (i = 0; i < n && v[i] != x; i++)
			;
		if (neg && i < n)
			v[i] = v[--n];
		else if (!neg && i == n)
			v[n++] = x;
	}
	qsort(v, n, sizeof(*v), cmp_u);
	printf("  %s:", name);
	for (k = 0; k < n; k++)
		printf(" %lu", v[k]);
	printf("\n");
	free(v);
	free(text);
}

static int run(const char *dir)
{
	static const char *const files[] = { "set_ftrace_filter", "set_ftrace_notrace" };

	if (tracefs_set_tracing_dir((char *)dir) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_write(dir, files[F], "", 0);
		fake_write(dir, files[N], "", 0);
		printf("case %zu\n", i);
		for (size_t k = 0; k < cases[i].n; k++) {
			const struct step *s = &cases[i].s[k];
			int r;

			errno = 0;
			r = s->file == F ? tracefs_function_filter(NULL, s->filter, s->module, s->flags)
					 : tracefs_function_notrace(NULL, s->filter, s->module,
								    s->flags);
			printf("  call %zu: %d, errno %d\n", k, r, r ? errno : 0);
		}
		print_file(dir, files[F]);
		print_file(dir, files[N]);
	}
	return 0;
}

/* Run this program on @dir, with @preload (or none); its output. */
static char *run_child(const char *self, const char *dir, const char *preload,
		       const char *socket, char **err)
{
	char out_path[4096], err_path[4096];
	size_t len;
	char *out;
	pid_t pid;
	int status;

	snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", dir);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(126);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
#if defined(__SANITIZE_ADDRESS__)
		/* the drop-in comes before the sanitizer's runtime in the list,
		 * which is fine here: this program links that runtime itself */
		if (preload)
			setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
#endif
		setenv("FTIDX_SOCKET", socket, 1);
		execl(self, self, "--run", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = test_read_file(out_path, &len);
	*err = test_read_file(err_path, &len);
	return out;
}

int main(int argc, char **argv)
{
	char path[4096], self[4096], *data, *plain, *through, *fallback, *err;
	struct harness h;
	size_t len;
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--run") == 0)
		return run(argv[2]);
	if (argc < 4) {
		fprintf(stderr, "usage: test-dropin FTIDXD DROPIN FIXTURES\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", argv[3]);
	data = test_read_file(path, &len);
	harness_tracefs(&h, data, len);
	free(data);

	plain = run_child(self, h.dir, NULL, h.socket, &err);
	free(err);
	/* no daemon yet: the drop-in falls back to libtracefs */
	fallback = run_child(self, h.dir, argv[2], h.socket, &err);
	CHECK_EQ_STR(fallback, plain);
	CHECK(strstr(err, "cannot write filters for this program; using libtracefs") != NULL);
	free(err);
	harness_start(&h, argv[1], NULL);
	through = run_child(self, h.dir, argv[2], h.socket, &err);
	if (strcmp(through, plain) != 0)
		fprintf(stderr, "libtracefs:\n%s\nthrough ftidxd:\n%s\n", plain, through);
	CHECK_EQ_STR(through, plain);
	CHECK(strstr(err, "cannot write filters") == NULL);
	CHECK(strstr(err, "TRACEFS_FL_FUTURE") != NULL);
	printf("%s", through);
	free(err);
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);
	free(plain);
	free(through);
	free(fallback);
	return test_finish("test-dropin");
}
