/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Start the built ftidxd on a fake tracing directory for a test, and stop
 * it. The daemon is the real binary (its path comes from meson), talking
 * over a real socket.
 */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake-tracefs.h"

struct harness {
	char dir[64];
	char socket[128];
	char state[128]; /* --state-dir, where the function list is published */
	pid_t pid;
};

static inline void harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Make a fake tracing directory from fixture text, with an instance "inst"
 * that has its own filter files. */
static inline void harness_tracefs(struct harness *h, const char *data, size_t len)
{
	char path[256];

	snprintf(h->dir, sizeof(h->dir), "/tmp/ftidx-it-XXXXXX");
	fake_tracefs_new(h->dir, data, len);
	snprintf(path, sizeof(path), "%s/instances", h->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/instances/inst", h->dir);
	mkdir(path, 0755);
	fake_write(h->dir, "instances/inst/set_ftrace_filter", "", 0);
	fake_write(h->dir, "instances/inst/set_ftrace_notrace", "", 0);
	snprintf(h->socket, sizeof(h->socket), "%s/sock", h->dir);
	snprintf(h->state, sizeof(h->state), "%s/state", h->dir);
	mkdir(h->state, 0700);
}

/* Wait up to 5 s for a socket at h->socket; whether one came. */
static inline bool harness_wait_socket(struct harness *h)
{
	for (int i = 0; i < 500; i++) {
		struct stat st;

		if (stat(h->socket, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
		harness_sleep_ms(10);
	}
	return false;
}

/* Run @daemon with --tracefs, --socket and --state-dir all in the test's
 * own directory (and @extra, NULL-terminated) and wait for its socket.
 * Exits the test if it does not come up. */
static inline void harness_start(struct harness *h, const char *daemon, const char *const *extra)
{
	const char *argv[32] = { daemon,   "--tracefs",	  h->dir, "--socket",
				 h->socket, "--state-dir", h->state };
	int n = 7;

	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	h->pid = fork();
	if (h->pid == 0) {
		/* a test that gives up takes its daemons with it: one left
		 * running holds the test's output open, and a failure would
		 * turn into a timeout */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(daemon, (char *const *)argv);
		_exit(127);
	}
	if (harness_wait_socket(h))
		return;
	fprintf(stderr, "ftidxd did not come up\n");
	exit(1);
}

/* Whether the daemon process is still running. */
static inline bool harness_alive(struct harness *h)
{
	return waitpid(h->pid, NULL, WNOHANG) == 0;
}

/* Wait up to @ms for @pid to exit, then kill it; returns its exit status
 * (-1: killed by a signal, ours included). */
static inline int harness_wait_exit(pid_t pid, int ms)
{
	int status = 0;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		harness_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Stop the daemon with SIGTERM; returns its exit status (-1: killed). */
static inline int harness_stop(struct harness *h)
{
	kill(h->pid, SIGTERM);
	/* (a sanitized daemon's exit, with its leak check, took over 3 s on
	 * a host busy with two guests: the bound is for a daemon that hangs) */
	return harness_wait_exit(h->pid, 15000);
}

static inline void harness_cleanup(struct harness *h)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", h->dir);
}

/* A raw connection, for frames libftidx would never send. */
static inline int harness_connect(struct harness *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", h->socket);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}
