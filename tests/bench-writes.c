/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the drop-in costs a program that writes no filter file: its
 * write() and close() look at a byte per descriptor, and its opens at a
 * file name, before libc's own. Timed in a child run plainly and in one
 * run with the drop-in preloaded (and no ftidxd to talk to), taking
 * turns, each figure the median of its rounds: 1-byte writes to
 * /dev/null, 64-byte writes to a pipe, and an open, a write and a close
 * of a file. Prints figures; never fails on a time.
 *
 *   bench-writes DROPIN
 *   bench-writes --child    (the timed part)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7 /* in a child */
#define TURNS 5  /* children of each kind */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ns per call of @what, the median of ROUNDS rounds of @n calls. */
static double median(double (*what)(int n), int n)
{
	double v[ROUNDS];

	for (int i = 0; i < ROUNDS; i++)
		v[i] = what(n) / n;
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	return v[ROUNDS / 2];
}

static double devnull(int n)
{
	int fd = open("/dev/null", O_WRONLY);
	double t0 = now_ns();

	for (int i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1)
			exit(3);
	t0 = now_ns() - t0;
	close(fd);
	return t0;
}

static double pipe_writes(int n)
{
	char buf[64] = { 0 }, sink[65536];
	int fds[2];
	double t;
	pid_t reader;

	if (pipe(fds) < 0)
		exit(3);
	reader = fork();
	if (reader == 0) {
		close(fds[1]);
		while (read(fds[0], sink, sizeof(sink)) > 0)
			;
		_exit(0);
	}
	close(fds[0]);
	t = now_ns();
	for (int i = 0; i < n; i++)
		if (write(fds[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			exit(3);
	t = now_ns() - t;
	close(fds[1]);
	waitpid(reader, NULL, 0);
	return t;
}

static double open_write_close(int n)
{
	char path[64];
	double t;

	/* tmpfs where there is one: a disk's time would drown the rest */
	snprintf(path, sizeof(path), "%s/ftidx-bench-%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	t = now_ns();
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, "x\n", 2) != 2)
			exit(3);
		close(fd);
	}
	t = now_ns() - t;
	unlink(path);
	return t;
}

static int child(void)
{
	printf("%.1f %.1f %.1f\n", median(devnull, 200000), median(pipe_writes, 100000),
	       median(open_write_close, 20000));
	return 0;
}

/* The child's three figures, run with @preload (NULL: plainly). */
static void run(const char *preload, double *v)
{
	char out[256] = "";
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(fds) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		/* no ftidxd: what a program pays when none of it is used */
		setenv("FTIDX_SOCKET", "/nonexistent/ftidx.sock", 1);
		execl("/proc/self/exe", "bench-writes", "--child", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	waitpid(pid, &status, 0);
	out[n > 0 ? n : 0] = '\0';
	if (sscanf(out, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3) {
		fprintf(stderr, "bench-writes: the child printed nothing\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const char *const what[] = { "write() of 1 byte to /dev/null",
					    "write() of 64 bytes to a pipe",
					    "open(), write() and close() of a file" };
	double runs[2][3][TURNS], plain[3], through[3];

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child();
	if (argc < 2) {
		fprintf(stderr, "usage: bench-writes DROPIN\n");
		return 2;
	}
	/* in turns, so that a busy moment of the machine falls on both */
	for (int t = 0; t < TURNS; t++)
		for (int j = 0; j < 2; j++) {
			int k = (j + t) % 2; /* either goes first in turn */
			double v[3];

			run(k ? argv[1] : NULL, v);
			for (int i = 0; i < 3; i++)
				runs[k][i][t] = v[i];
		}
	for (int i = 0; i < 3; i++) {
		qsort(runs[0][i], TURNS, sizeof(double), cmp_double);
		qsort(runs[1][i], TURNS, sizeof(double), cmp_double);
		plain[i] = runs[0][i][TURNS / 2];
		through[i] = runs[1][i][TURNS / 2];
	}
	printf("what a program that writes no filter file pays for the drop-in (medians of %d "
	       "runs of %d rounds):\n",
	       TURNS, ROUNDS);
	for (int i = 0; i < 3; i++)
		printf("  %-40s %8.1f ns plainly, %8.1f ns preloaded (%+.1f%%)\n", what[i], plain[i],
		       through[i], (through[i] - plain[i]) * 100 / plain[i]);
	return 0;
}
