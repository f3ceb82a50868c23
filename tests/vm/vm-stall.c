/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event loop's worst stall, as a client sees it. A child process
 * asks ftidxd for its VERSION every 10 ms all through the run, on a
 * connection of its own: VERSION is answered at once, without waiting for
 * a turn (daemon/turns.h), so its wait is how long the loop was busy with
 * something else. The run is cut into phases (stall_phase()); the worst
 * wait of each is printed at the end, and nothing is asserted on it.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftidx.h"
#include "proto.h"
#include "vm-common.h"

#define PHASES 32

struct phase {
	char name[40];
	double worst_ms, total_ms;
	unsigned pings, over_100ms;
	double spent_ms; /* in the phase, all its turns together */
};

struct stall_shared {
	atomic_int current; /* the phase the parent is in */
	atomic_int n_phases;
	atomic_bool stop;
	struct phase phases[PHASES];
};

static struct stall_shared *shared;
static pid_t prober;
static double phase_began_ms;

/* The current phase's time so far, added to it. */
static void phase_time(void)
{
	double t = now_ms();

	shared->phases[atomic_load(&shared->current)].spent_ms += t - phase_began_ms;
	phase_began_ms = t;
}

static int connect_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", FTIDX_DEFAULT_SOCKET);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* One VERSION request on @fd, raw (libftidx asks only once): whether its
 * reply came. */
static bool ping(int fd, uint32_t id)
{
	struct ftidx_frame_header h = { FTIDX_PROTO_MAGIC, FTIDX_PROTO_VERSION, FTIDX_MSG_VERSION,
					id, 0 };
	static char body[4096];

	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h) ||
	    recv(fd, &h, sizeof(h), MSG_WAITALL) != (ssize_t)sizeof(h) ||
	    h.type != (FTIDX_MSG_VERSION | FTIDX_MSG_REPLY) || h.length > sizeof(body))
		return false;
	return recv(fd, body, h.length, MSG_WAITALL) == (ssize_t)h.length;
}

static void probe(void)
{
	int fd = connect_daemon();
	uint32_t id = 0;

	while (!atomic_load(&shared->stop)) {
		int at = atomic_load(&shared->current);
		struct phase *ph = &shared->phases[at];
		double t0 = now_ms(), ms;

		if (fd < 0 || !ping(fd, ++id)) {
			/* the daemon restarts in the crash test: connect again */
			if (fd >= 0)
				close(fd);
			usleep(100000);
			fd = connect_daemon();
			continue;
		}
		ms = now_ms() - t0;
		ph->pings++;
		ph->total_ms += ms;
		ph->over_100ms += ms > 100;
		if (ms > ph->worst_ms)
			ph->worst_ms = ms;
		usleep(10000);
	}
	_exit(0);
}

void stall_phase(const char *name)
{
	int n;

	if (!shared)
		return;
	phase_time();
	n = atomic_load(&shared->n_phases);
	for (int i = 0; i < n; i++)
		if (strcmp(shared->phases[i].name, name) == 0) {
			atomic_store(&shared->current, i);
			return;
		}
	if (n == PHASES)
		return;
	snprintf(shared->phases[n].name, sizeof(shared->phases[n].name), "%s", name);
	atomic_store(&shared->n_phases, n + 1);
	atomic_store(&shared->current, n);
}

void stall_start(void)
{
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (shared == MAP_FAILED) {
		shared = NULL;
		return;
	}
	memset(shared, 0, sizeof(*shared));
	phase_began_ms = now_ms();
	stall_phase("start");
	prober = fork();
	if (prober == 0)
		probe();
}

void stall_report(void)
{
	double worst = 0;
	const char *where = "";

	if (!shared || prober <= 0)
		return;
	atomic_store(&shared->stop, true);
	waitpid(prober, NULL, 0);
	phase_time();
	for (int i = 0; i < atomic_load(&shared->n_phases); i++) {
		const struct phase *ph = &shared->phases[i];

		if (!ph->pings)
			continue;
		printf("VM-LOOP-STALL: %-24s worst %8.1f ms, mean %6.1f ms, %u of %u over 100 ms; "
		       "%.0f s\n",
		       ph->name, ph->worst_ms, ph->total_ms / ph->pings, ph->over_100ms, ph->pings,
		       ph->spent_ms / 1000);
		if (ph->worst_ms > worst) {
			worst = ph->worst_ms;
			where = ph->name;
		}
	}
	printf("VM-LOOP-STALL: worst of all %.1f ms, in %s\n", worst, where);
	/* and as ftidxd saw it: its longest callbacks, from its log */
	{
		size_t len;
		char *log = slurp("/tmp/ftidxd.log", &len), *save = NULL;

		for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strstr(l, "longest stall so far"))
				printf("VM-LOOP-STALL: ftidxd: %s\n", l);
		free(log);
	}
}
