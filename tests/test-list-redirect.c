/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop-in's opens of the function list (client/list-redirect.c),
 * against the real ftidxd on a stand-in tracing directory: a program
 * preloaded with the drop-in opens the stand-in kernel's
 * available_filter_functions in each way libc offers, and must be handed
 * ftidxd's published copy, with the same bytes, when that copy is
 * current, and the kernel's own file otherwise, said once. Only ftidxd's
 * copy is taken: a copy, stamp or directory of another user's, or one
 * others may write, is not. And fork() while another thread opens the
 * list never leaves the child hung.
 *
 *   test-list-redirect FTIDXD FTIDX FIXTURES DROPIN    the checks
 *   test-list-redirect --open HOW PATH [HOW PATH...]   opens, prints what
 *       it was given: the file behind the descriptor, and its bytes' hash
 *   test-list-redirect --forks PATH N   N forks while a thread opens PATH;
 *       each child opens it too
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>

#include "daemon-harness.h"
#include "integration.h"
#include "testlib.h"

/* The fortified forms, which headers declare only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int open64(const char *path, int flags, ...);
int openat64(int dirfd, const char *path, int flags, ...);
FILE *fopen64(const char *path, const char *mode);

static const char *const read_opens[] = {
	"open",	      "open64",	    "openat",	"openat64", "__open_2",
	"__open64_2", "__openat_2", "__openat64_2", "fopen",    "fopen64",
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Open @path the way @how names; a descriptor or -1. @f gets the stream of
 * the fopen() forms. */
static int open_as(const char *how, const char *path, FILE **f)
{
	*f = NULL;
	if (!strcmp(how, "open"))
		return open(path, O_RDONLY | O_CLOEXEC);
	if (!strcmp(how, "open64"))
		return open64(path, O_RDONLY);
	if (!strcmp(how, "openat"))
		return openat(AT_FDCWD, path, O_RDONLY);
	if (!strcmp(how, "openat64"))
		return openat64(AT_FDCWD, path, O_RDONLY);
	if (!strcmp(how, "__open_2"))
		return __open_2(path, O_RDONLY);
	if (!strcmp(how, "__open64_2"))
		return __open64_2(path, O_RDONLY);
	if (!strcmp(how, "__openat_2"))
		return __openat_2(AT_FDCWD, path, O_RDONLY);
	if (!strcmp(how, "__openat64_2"))
		return __openat64_2(AT_FDCWD, path, O_RDONLY);
	if (!strcmp(how, "rdwr"))
		return open(path, O_RDWR);
	if (!strcmp(how, "relative")) {
		/* the directory's descriptor and the bare name */
		const char *slash = strrchr(path, '/');
		char dir[4096];
		int dfd, fd;

		if (!slash)
			return -1;
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		fd = openat(dfd, slash + 1, O_RDONLY);
		close(dfd);
		return fd;
	}
	*f = !strcmp(how, "fopen64") ? fopen64(path, "r") : fopen(path, "re");
	return *f ? fileno(*f) : -1;
}

/* Print "FILE HASH" for what @how gave for @path. */
static void print_opened(const char *how, const char *path)
{
	char link[64], target[4096], buf[65536];
	uint64_t h = 0xcbf29ce484222325ull;
	ssize_t n;
	FILE *f;
	int fd = open_as(how, path, &f);

	if (fd < 0) {
		printf("%s: cannot open\n", how);
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	if (f) {
		size_t k;

		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			h = fnv(h, buf, k);
		fclose(f);
	} else {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			h = fnv(h, buf, (size_t)n);
		close(fd);
	}
	printf("%s %016" PRIx64 "\n", target, h);
}

/* What a program preloaded with @dropin printed for opening @path with
 * each of @hows (@n of them), on @socket; its standard error in @err. */
static char *opened(struct harness *h, const char *dropin, const char *socket, const char *path,
		    const char *const *hows, size_t n, char **err)
{
	char out_path[256], err_path[256];
	const char *argv[32] = { "/proc/self/exe", "--open" };
	size_t len, k = 2;
	int status;
	pid_t pid;
	char *out;

	for (size_t i = 0; i < n && k < 30; i++) {
		argv[k++] = hows[i];
		argv[k++] = path;
	}
	snprintf(out_path, sizeof(out_path), "%s/out.txt", h->dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", h->dir);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(126);
		setenv("LD_PRELOAD", dropin, 1);
#if defined(__SANITIZE_ADDRESS__)
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
#endif
		setenv("FTIDX_SOCKET", socket, 1);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = test_read_file(out_path, &len);
	*err = test_read_file(err_path, &len);
	return out;
}

/* "FILE HASH\n" as print_opened() prints it for @file, read directly. */
static void expect_line(const char *file, char *line, size_t size)
{
	uint64_t hash = 0xcbf29ce484222325ull;
	size_t len;
	char *text = test_read_file(file, &len);

	hash = fnv(hash, text, len);
	free(text);
	snprintf(line, size, "%s %016" PRIx64 "\n", file, hash);
}

/* @line repeated @n times. */
static char *times(const char *line, size_t n)
{
	size_t len = strlen(line);
	char *s = calloc(n * len + 1, 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, line, len);
	return s;
}

/* Each of @hows on @path gives @want_file; the program's standard error
 * is empty, or says @want_err once. */
static void check_opened(struct harness *h, const char *dropin, const char *socket,
			 const char *path, const char *const *hows, size_t n, const char *want_file,
			 const char *want_err)
{
	char line[4096], *err, *want, *out;

	expect_line(want_file, line, sizeof(line));
	want = times(line, n);
	out = opened(h, dropin, socket, path, hows, n, &err);
	CHECK_EQ_STR(out, want);
	if (!want_err) {
		CHECK_EQ_STR(err, "");
	} else {
		CHECK(strstr(err, want_err) != NULL);
		/* one line, however many opens */
		CHECK(strchr(err, '\n') == err + strlen(err) - 1);
	}
	free(out);
	free(err);
	free(want);
}

/* Replace @dir's file @name with @text. */
static void put(const char *dir, const char *name, const char *text)
{
	fake_write(dir, name, text, strlen(text));
}

/* Wait up to 10 s until a plain open of @path is handed @copy. */
static bool handed_copy_soon(struct harness *h, const char *dropin, const char *path,
			     const char *copy)
{
	static const char *const how[] = { "open" };
	char line[4096], *err, *out;
	bool same = false;

	for (int i = 0; i < 100 && !same; i++) {
		if (access(copy, R_OK) < 0) { /* not published yet */
			harness_sleep_ms(100);
			continue;
		}
		expect_line(copy, line, sizeof(line));
		out = opened(h, dropin, h->socket, path, how, 1, &err);
		same = strcmp(out, line) == 0;
		free(out);
		free(err);
		if (!same)
			harness_sleep_ms(100);
	}
	return same;
}

/* Only ftidxd's copy: one of another user's, or one others may write
 * (its directory, the copy, the stamp), gives the kernel's own file. */
static void test_whose(struct harness *h, const char *dropin)
{
	static const char *const twice[] = { "open", "fopen" };
	char kernel[256], copy[256], stamp[256];
	struct stat st;

	snprintf(kernel, sizeof(kernel), "%s/available_filter_functions", h->dir);
	snprintf(copy, sizeof(copy), "%s/available_filter_functions", h->state);
	snprintf(stamp, sizeof(stamp), "%s/available_filter_functions.stamp", h->state);
	CHECK(handed_copy_soon(h, dropin, kernel, copy));
	CHECK_EQ_INT(stat(copy, &st), 0);
	CHECK_EQ_INT(chmod(copy, 0664), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "may be written by others");
	CHECK_EQ_INT(chmod(copy, st.st_mode & 07777), 0);
	CHECK_EQ_INT(chmod(h->state, 0777), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "the directory in");
	CHECK_EQ_INT(chmod(h->state, 0700), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, copy, NULL);
	if (geteuid() != 0) {
		printf("test-list-redirect: not root: copies of other users are left out\n");
		return;
	}
	CHECK_EQ_INT(chown(copy, 65534, (gid_t)-1), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "belongs to uid 65534");
	CHECK_EQ_INT(chown(copy, st.st_uid, (gid_t)-1), 0);
	CHECK_EQ_INT(chown(stamp, 65534, (gid_t)-1), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "its stamp in");
	CHECK_EQ_INT(chown(stamp, st.st_uid, (gid_t)-1), 0);
	CHECK_EQ_INT(chown(h->state, 65534, (gid_t)-1), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "the directory in");
	CHECK_EQ_INT(chown(h->state, st.st_uid, (gid_t)-1), 0);
	check_opened(h, dropin, h->socket, kernel, twice, 2, copy, NULL);
}

static atomic_bool stop_opening;

static void *keep_opening(void *path)
{
	char buf[4096];

	while (!atomic_load(&stop_opening)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
	}
	return NULL;
}

/*
 * Fork @n times while another thread opens @path over and over; each
 * child opens it too. A child that does not end within 20 s is taken for
 * hung (a lock it inherited held): it is killed, and the loop stops.
 */
static int run_forks(const char *path, int n)
{
	int done = 0, failed = 0, hung = 0;
	pthread_t thread;

	pthread_create(&thread, NULL, keep_opening, (void *)path);
	for (; done < n && !hung; done++) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			alarm(20);
			_exit(open(path, O_RDONLY) >= 0 ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			failed++;
		else if (WIFSIGNALED(status))
			hung++;
		else if (WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop_opening, true);
	pthread_join(thread, NULL);
	printf("forks: %d, failed: %d, hung: %d\n", done, failed, hung);
	return 0;
}

/* Under "ftidx exec": 200 forks while a thread opens the list. */
_unused_ static void test_forks(struct harness *h, const char *dropin)
{
	char kernel[256], out_path[256], err_path[256], self[4096] = "", *out, *err;
	size_t len;
	int status = -1;
	pid_t pid;

	/* this program's own path: "ftidx exec" runs it, not itself */
	CHECK(readlink("/proc/self/exe", self, sizeof(self) - 1) > 0);
	snprintf(kernel, sizeof(kernel), "%s/available_filter_functions", h->dir);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", h->dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", h->dir);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(126);
		setenv("FTIDX_PRELOAD", dropin, 1);
#if defined(__SANITIZE_ADDRESS__)
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
#endif
		execl(cli_path, cli_path, "-s", h->socket, "exec", "--", self, "--forks", kernel,
		      "200", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = test_read_file(out_path, &len);
	err = test_read_file(err_path, &len);
	printf("%s", out);
	CHECK_EQ_STR(out, "forks: 200, failed: 0, hung: 0\n");
	CHECK_EQ_STR(err, "");
	free(out);
	free(err);
}

static void test_redirect(struct harness *h, const char *dropin)
{
	static const char *const rdwr[] = { "rdwr" }, *const relative[] = { "relative" };
	static const char *const twice[] = { "open", "fopen" };
	char kernel[256], copy[256], stamp_path[256], info[64], *stamp;
	size_t len;

	snprintf(kernel, sizeof(kernel), "%s/available_filter_functions", h->dir);
	snprintf(copy, sizeof(copy), "%s/available_filter_functions", h->state);
	snprintf(stamp_path, sizeof(stamp_path), "%s/available_filter_functions.stamp", h->state);
	CHECK(handed_copy_soon(h, dropin, kernel, copy));

	/* a current copy: every read-only open of the kernel's list */
	check_opened(h, dropin, h->socket, kernel, read_opens, ARRAY_SIZE(read_opens), copy, NULL);
	/* not a read, not by its whole path, not the kernel's: as asked */
	check_opened(h, dropin, h->socket, kernel, rdwr, 1, kernel, NULL);
	check_opened(h, dropin, h->socket, kernel, relative, 1, kernel, NULL);
	check_opened(h, dropin, h->socket, copy, read_opens, 2, copy, NULL);

	/* a stamp of another map: the kernel's own */
	stamp = test_read_file(stamp_path, &len);
	put(h->state, "available_filter_functions.stamp", "generation 999999\n");
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "another map");
	fake_write(h->state, "available_filter_functions.stamp", stamp, len);
	free(stamp);
	check_opened(h, dropin, h->socket, kernel, twice, 2, copy, NULL);

	/* a module came (one more record, not read yet): the kernel's own */
	snprintf(info, sizeof(info), "%zu pages:1 groups: 1\n", n_lines + 1);
	put(h->dir, "dyn_ftrace_total_info", info);
	check_opened(h, dropin, h->socket, kernel, twice, 2, kernel, "not current");
	snprintf(info, sizeof(info), "%zu pages:1 groups: 1\n", n_lines);
	put(h->dir, "dyn_ftrace_total_info", info);
	kill(h->pid, SIGHUP);
	CHECK(handed_copy_soon(h, dropin, kernel, copy));

	/* no daemon: the file asked for; nothing said, since without ftidxd
	 * a directory other than tracefs's two cannot be known as the
	 * kernel's (the vm suite checks what is said for those) */
	check_opened(h, dropin, "/nonexistent/ftidx.sock", kernel, twice, 2, kernel, NULL);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	if (argc == 4 && strcmp(argv[1], "--forks") == 0)
		return run_forks(argv[2], atoi(argv[3]));
	if (argc > 1 && strcmp(argv[1], "--open") == 0) {
		for (int i = 2; i + 1 < argc; i += 2)
			print_opened(argv[i], argv[i + 1]);
		return 0;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: test-list-redirect FTIDXD FTIDX FIXTURES DROPIN\n");
		return 2;
	}
	integration_setup(argc, argv, "test-list-redirect", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_redirect(&h, argv[4]);
	test_whose(&h, argv[4]);
#if defined(__SANITIZE_ADDRESS__)
	/* GCC 12's AddressSanitizer takes no lock of its allocator at fork():
	 * a child forked while the other thread allocates hangs in its first
	 * malloc(), whatever the drop-in does. The plain build checks this. */
	printf("test-list-redirect: the forks are left out under AddressSanitizer\n");
#else
	test_forks(&h, argv[4]);
#endif
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-list-redirect");
}
