/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidxd: the ftidx daemon. The command line into a config (one table of
 * options, each with its help and default), set-up, the event loop,
 * teardown in reverse order; everything else lives in the core library.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hits.h"
#include "intent.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "service.h"
#include "service-publish.h"
#include "service-jobs.h"
#include "service-map.h"
#include "service-recover.h"
#include "systemd.h"
#include "tracing.h"
#include "uevent.h"

#define DEFAULT_SOCKET "/run/ftidx/ftidxd.sock"

/* What the command line asks of ftidxd. */
struct config {
	const char *socket; /* NULL: $FTIDX_SOCKET, else DEFAULT_SOCKET */
	const char *tracefs;
	unsigned mode;
	bool verify_full;
	unsigned map_wait_seconds;
	unsigned read_wait_ms;
	const char *state_dir; /* NULL: the core's default */
	struct server_limits limits;
};

static int parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, base);
	return errno || end == s || *end || *out > max ? -EINVAL : 0;
}

struct option_spec;

/* The setters: 0, or -EINVAL for an argument they do not take. */

static int set_socket(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	cf->socket = arg;
	return 0;
}

static int set_tracefs(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	cf->tracefs = arg;
	return 0;
}

static int set_write_group(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	/* Looked up once, at start: no NSS per client. */
	struct group *g = getgrnam(arg);
	unsigned long v = 0;

	if (!g && parse_uint(arg, 10, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	cf->limits.access.has_write_group = true;
	cf->limits.access.write_group = g ? g->gr_gid : (gid_t)v;
	return 0;
}

static int set_others(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	if (strcmp(arg, "read") != 0 && strcmp(arg, "deny") != 0)
		return -EINVAL;
	cf->limits.access.others_denied = strcmp(arg, "deny") == 0;
	return 0;
}

static int set_budget(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	unsigned long v;

	/* at least two of the largest frames, at most 64 GiB */
	if (parse_uint(arg, 10, 65536, &v) < 0 || (v << 20) < 2 * FTIDX_FRAME_MAX)
		return -EINVAL;
	cf->limits.memory_budget = (size_t)v << 20;
	return 0;
}

static int set_state_dir(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	cf->state_dir = arg;
	return 0;
}

static int set_verify(struct config *cf, const struct option_spec *o _unused_, const char *arg)
{
	if (strcmp(arg, "fence") != 0 && strcmp(arg, "full") != 0)
		return -EINVAL;
	cf->verify_full = strcmp(arg, "full") == 0;
	return 0;
}

static int set_verbose(struct config *cf _unused_, const struct option_spec *o _unused_,
		       const char *arg _unused_)
{
	log_set_level(LOG_LEVEL_DEBUG);
	return 0;
}

/*
 * The options: name, short letter (or 0), argument's name (NULL: none),
 * setter and help, with the default in it; for -h and -V the setter is
 * NULL. A number is set by set_number() into the config's field that
 * NUMBER() names, within its bounds.
 */
struct option_spec {
	const char *name;
	char letter;
	const char *arg;
	int (*set)(struct config *cf, const struct option_spec *o, const char *arg);
	const char *help;
	size_t field, width; /* numbers: where in struct config, and how wide */
	unsigned long min, max;
	int base;
};

#define NUMBER(f, lo, hi, b)                                                                       \
	.field = offsetof(struct config, f), .width = sizeof(((struct config *)NULL)->f),          \
	.min = (lo), .max = (hi), .base = (b)

static int set_number(struct config *cf, const struct option_spec *o, const char *arg)
{
	unsigned char *at = (unsigned char *)cf + o->field;
	unsigned long v;

	if (parse_uint(arg, o->base, o->max, &v) < 0 || v < o->min)
		return -EINVAL;
	if (o->width == sizeof(uint32_t)) {
		uint32_t n = (uint32_t)v;

		memcpy(at, &n, sizeof(n));
	} else {
		uint64_t n = v;

		memcpy(at, &n, sizeof(n));
	}
	return 0;
}

static const struct option_spec options[] = {
    {"socket", 's', "PATH", set_socket,
     "listen on PATH (default: $FTIDX_SOCKET, else " DEFAULT_SOCKET ")"},
    {"tracefs", 't', "DIR", set_tracefs,
     "use DIR as the tracing directory (default: the mounted tracefs; ftidxd never "
     "mounts one)"},
    {"socket-mode", 'm', "MODE", set_number,
     "permissions of the socket, octal (default: 0666; who may do what is checked per "
     "client)",
     NUMBER(mode, 0, 0777, 8)},
    {"write-group", 'g', "GROUP", set_write_group,
     "members of GROUP may change filters too (root and ftidxd's own user always may); "
     "the socket is given to GROUP"},
    {"others", 0, "read|deny", set_others,
     "everyone else may resolve and list (default), or is refused"},
    {"max-clients", 0, "N", set_number,
     "refuse connections beyond N (default: " STRINGIFY(
	 SERVER_DEFAULT_MAX_CLIENTS) "), and "
				     "keep N/8 of them for root and the write group",
     NUMBER(limits.max_clients, 1, 65536, 10)},
    {"max-clients-per-user", 0, "N", set_number,
     "connections of one user without write access (default: " STRINGIFY(
	 SERVER_DEFAULT_MAX_PER_USER) ")",
     NUMBER(limits.max_per_user, 1, 65536, 10)},
    {"idle-timeout", 0, "S", set_number,
     "drop clients silent for S seconds, 0: never (default: " STRINGIFY(
	 SERVER_DEFAULT_IDLE_SECONDS) ")",
     NUMBER(limits.idle_seconds, 0, 86400, 10)},
    {"write-timeout", 0, "S", set_number,
     "drop clients that leave their replies unread for S seconds, 0: never (default: " STRINGIFY(
	 SERVER_DEFAULT_WRITE_SECONDS) ")",
     NUMBER(limits.write_seconds, 0, 86400, 10)},
    {"map-wait", 0, "S", set_number,
     "how long a write, or a read that asks for the kernel's map, waits for the map to be "
     "the kernel's while modules keep loading or unloading, before the write is refused with "
     "nothing written, or the read answered said to be behind (default: " STRINGIFY(
	 SERVICE_DEFAULT_MAP_WAIT_S) ")",
     NUMBER(map_wait_seconds, 0, 3600, 10)},
    {"read-wait", 0, "MS", set_number,
     "how long a query that asks for no particular map (a client older than 0.5) waits for a "
     "map being rebuilt, before it is answered from the one there is, said to be behind "
     "(default: " STRINGIFY(SERVICE_DEFAULT_READ_WAIT_MS) ")",
     NUMBER(read_wait_ms, 0, 10000, 10)},
    {"memory-budget", 0, "MIB", set_budget,
     "what all clients together may hold in replies, frames and requests, each user "
     "without write access half of it; past it, that user's largest connection is dropped "
     "(default: " STRINGIFY(SERVER_DEFAULT_MEMORY_BUDGET_MIB) ", at least 32)"},
    {"state-dir", 0, "DIR", set_state_dir,
     "where the intent of each write is recorded, so that a restarted ftidxd finishes or "
     "undoes one a crash cut short (default: $RUNTIME_DIRECTORY, else " INTENT_DEFAULT_DIR
     "); only ftidxd's user may write it, or crash safety is off"},
    {"verify", 0, "fence|full", set_verify,
     "how a write is proven (default: fence): by the map's fences around it, with the "
     "filter read back later by an audit; or by reading the filter back before answering"},
    {"verbose", 'v', NULL, set_verbose, "log each request"},
    {"help", 'h', NULL, NULL, "show this help and exit"},
    {"version", 'V', NULL, NULL, "show the version and exit"},
};

/* @text from column 25 on, folded to 80 columns. */
static void print_folded(FILE *f, const char *text, size_t at)
{
	while (*text) {
		size_t room = 80 - 25, n = strlen(text);

		if (n > room) {
			n = room;
			while (n > 0 && text[n] != ' ')
				n--;
		}
		fprintf(f, "%*s%.*s\n", (int)(at < 25 ? 25 - at : 0), "", (int)n, text);
		text += n + (text[n] == ' ');
		at = 0;
	}
}

static void usage(FILE *f)
{
	fputs("Usage: ftidxd [OPTION]...\n"
	      "Keep a map of the kernel's traceable functions by index and write index-based\n"
	      "ftrace filters for clients of a Unix socket.\n\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_spec *o = &options[i];
		int n = o->letter ? fprintf(f, "  -%c, --%s", o->letter, o->name)
				  : fprintf(f, "      --%s", o->name);

		if (o->arg)
			n += fprintf(f, " %s", o->arg);
		if (n >= 24) {
			fputc('\n', f);
			n = 0;
		}
		print_folded(f, o->help, (size_t)n);
	}
	fputs("\nStarted by systemd's ftidxd.socket, ftidxd serves the socket passed to it\n"
	      "(LISTEN_FDS) and reports readiness (NOTIFY_SOCKET); --socket is then unused.\n"
	      "Signals: SIGTERM and SIGINT stop the daemon, SIGHUP rebuilds the map.\n"
	      "Exit status: 0 after a clean stop, 1 on a start-up failure, 2 on bad usage.\n",
	      f);
}

/* The command line into @cf: -1 to go on, or an exit status (0 after
 * --help or --version, 2 on bad usage). */
static int parse_options(int argc, char **argv, struct config *cf)
{
	struct option longopts[ARRAY_SIZE(options) + 1] = {0};
	char shortopts[2 * ARRAY_SIZE(options) + 1] = "", *at = shortopts;
	int c, i;

	for (size_t k = 0; k < ARRAY_SIZE(options); k++) {
		const struct option_spec *o = &options[k];

		longopts[k] = (struct option){o->name, o->arg ? required_argument : no_argument,
					      NULL, o->letter ? o->letter : 0x100 + (int)k};
		if (o->letter) {
			*at++ = o->letter;
			if (o->arg)
				*at++ = ':';
		}
	}
	while ((c = getopt_long(argc, argv, shortopts, longopts, &i)) != -1) {
		const struct option_spec *o = NULL;

		for (size_t k = 0; k < ARRAY_SIZE(options) && !o; k++)
			if (c == longopts[k].val)
				o = &options[k];
		if (!o) {
			/* getopt said what was wrong */
			fputs("ftidxd: see --help\n", stderr);
			return 2;
		}
		if (o->letter == 'h') {
			usage(stdout);
			return 0;
		}
		if (o->letter == 'V') {
			printf("ftidxd %s\n", FTIDX_VERSION);
			return 0;
		}
		if (o->set(cf, o, optarg) < 0) {
			fprintf(stderr, "ftidxd: --%s does not take '%s' (see --help)\n", o->name,
				optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ftidxd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* Tell the service manager (if any); its absence is normal, a failure to
 * reach it is only worth a log line. */
static void notify_ready(struct service *svc)
{
	int r =
	    systemd_notifyf("READY=1\nSTATUS=%u lines mapped, generation %llu",
			    service_map_size(svc), (unsigned long long)service_map_generation(svc));

	if (r < 0)
		log_warn("cannot notify the service manager: %s", strerror(-r));
}

static void on_stop(evutil_socket_t sig, short what _unused_, void *ctx)
{
	log_info("stopping on signal %d", (int)sig);
	systemd_notify("STOPPING=1");
	event_base_loopbreak(ctx);
}

static void on_reload(evutil_socket_t sig _unused_, short what _unused_, void *ctx)
{
	systemd_notify("RELOADING=1");
	/* off the loop, as after a module change: requests wait for it as
	 * they do then, and it may take seconds with many modules loaded */
	if (service_map_invalidate(ctx) < 0)
		log_error("cannot begin rebuilding the map on SIGHUP; the one there is stays");
	else
		log_info("rebuilding the map on SIGHUP");
	/* The old map stays in service until the new one is in: still ready. */
	notify_ready(ctx);
}

/* Create the socket's directory if it is missing (one level, 0755). */
static void make_parent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/* The tracing directory, the map, what a crash or a dead ftidxd left. */
static int start_service(const struct config *cf, struct service **svc)
{
	int r = tracing_init(cf->tracefs);

	if (r < 0) {
		log_error("no tracing directory%s%s: %s", cf->tracefs ? " at " : " mounted",
			  cf->tracefs ? cf->tracefs : "", strerror(-r));
		return r;
	}
	r = service_new(svc, NULL);
	if (r < 0) {
		log_error("cannot map %s/available_filter_functions: %s", tracing_dir(),
			  strerror(-r));
		return r;
	}
	service_set_verify_full(*svc, cf->verify_full);
	service_set_map_wait(*svc, cf->map_wait_seconds);
	service_set_read_wait(*svc, cf->read_wait_ms);
	service_publish_set_group(*svc, cf->limits.access.has_write_group
						? cf->limits.access.write_group
						: (gid_t)-1);
	service_publish_set_private(*svc, cf->limits.access.others_denied);
	r = hits_remove_orphans();
	if (r > 0)
		log_info("removed %d hit-count instance%s left by an ftidxd that died", r,
			 r == 1 ? "" : "s");
	/* before any client: a write a crash cut short is finished or undone;
	 * never by a second daemon on the same state directory */
	if (service_recover_set_dir(*svc, cf->state_dir) == -EBUSY)
		return -EBUSY;
	service_recover_start(*svc);
	return 0;
}

/* The socket systemd passed (*@activated), or one made at cf->socket: an
 * fd or -errno. */
static int open_socket(struct config *cf, bool *activated)
{
	int fd = systemd_listen_fd();

	*activated = fd > 0;
	if (fd < 0) {
		log_error("cannot use the socket passed by the service manager: %s",
			  fd == -E2BIG ? "ftidxd takes exactly one" : strerror(-fd));
		return fd;
	}
	if (fd > 0) {
		/* The .socket unit owns the path, its mode and its group. */
		cf->socket = "the socket passed by the service manager";
		return fd;
	}
	make_parent(cf->socket);
	/* The socket belongs to the write group, so that a mode such as 0660
	 * can keep everyone else out before the per-client check. */
	fd = server_listen_path(cf->socket, cf->mode,
				cf->limits.access.has_write_group ? cf->limits.access.write_group
								  : (gid_t)-1);
	if (fd < 0)
		log_error("cannot listen on %s: %s", cf->socket,
			  fd == -EEXIST	       ? "a file that is not a socket is in the way"
			  : fd == -EADDRINUSE ? "another ftidxd answers on it (stop it first)"
					       : strerror(-fd));
	return fd;
}

/* Before anything is touched (the tracing directory, the state
 * directory's intent record): a live ftidxd on the socket is refused.
 * A socket passed by the service manager is handed over, not taken. */
static int refuse_live_socket(const struct config *cf)
{
	if (getenv("LISTEN_FDS") || !server_path_answers(cf->socket))
		return 0;
	log_error("another ftidxd answers on %s: stop it first, or give this one another --socket",
		  cf->socket);
	return -EADDRINUSE;
}

/* The path of the socket systemd passed as @fd, for STATUS and the log:
 * the one its unit chose ("@name" for an abstract one); @fallback when it
 * cannot be said. (One ftidxd made is bound under a name of its own and
 * renamed into place: its path is the one it was told.) */
static void socket_path_of(int fd, const char *fallback, char *buf, size_t size)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	size_t n;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path)) {
		snprintf(buf, size, "%s", fallback);
		return;
	}
	n = MIN(len - offsetof(struct sockaddr_un, sun_path), sizeof(sa.sun_path));
	if (sa.sun_path[0])
		snprintf(buf, size, "%.*s", (int)strnlen(sa.sun_path, n), sa.sun_path);
	else
		snprintf(buf, size, "@%.*s", (int)(n - 1), sa.sun_path + 1);
}

/* The loop's signal events, in @ev (three); -ENOMEM if they cannot be had. */
static int watch_signals(struct event_base *base, struct service *svc, struct event **ev)
{
	ev[0] = evsignal_new(base, SIGTERM, on_stop, base);
	ev[1] = evsignal_new(base, SIGINT, on_stop, base);
	ev[2] = evsignal_new(base, SIGHUP, on_reload, svc);
	for (int i = 0; i < 3; i++)
		if (!ev[i] || event_add(ev[i], NULL) < 0)
			return -ENOMEM;
	return 0;
}

int main(int argc, char **argv)
{
	struct config cf = {.mode = 0666,
			    .map_wait_seconds = SERVICE_DEFAULT_MAP_WAIT_S,
			    .read_wait_ms = SERVICE_DEFAULT_READ_WAIT_MS};
	struct event_base *base = NULL;
	struct event *signals[3] = {NULL};
	char path[108];
	struct service *svc = NULL;
	struct server *srv = NULL;
	struct uevent_watch *watch = NULL;
	bool activated = false;
	sigset_t held;
	int r, fd, status = 1;

	/* Replies are large and short-lived: allocate them outside the heap so
	 * that what a client held goes back to the system when it goes, instead
	 * of glibc raising its mmap threshold and keeping the peak for ever. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	server_limits_default(&cf.limits);
	r = parse_options(argc, argv, &cf);
	if (r >= 0)
		return r;
	if (!cf.socket)
		cf.socket = getenv("FTIDX_SOCKET") ? getenv("FTIDX_SOCKET") : DEFAULT_SOCKET;
	signal(SIGPIPE, SIG_IGN);
	/* A stop or reload asked while the map is read, or between the
	 * socket's rename into place and the loop's signal events, waits for
	 * them: otherwise it would kill the daemon, a client already
	 * connected, its socket left behind. */
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGHUP);
	sigprocmask(SIG_BLOCK, &held, NULL);

	if (refuse_live_socket(&cf) < 0 || start_service(&cf, &svc) < 0 ||
	    (fd = open_socket(&cf, &activated)) < 0)
		goto out;
	socket_path_of(activated ? fd : -1, cf.socket, path, sizeof(path));
	service_set_socket_path(svc, path);
	base = event_base_new();
	if (!base || server_new(&srv, base, fd, svc, &cf.limits) < 0 ||
	    watch_signals(base, svc, signals) < 0) {
		log_error("cannot set up the event loop");
		goto out;
	}
	/* (one that came meanwhile is handled by the loop now) */
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	r = uevent_watch_new(&watch, base, svc);
	if (r < 0)
		log_warn("no module uevents (%s): module changes are seen at the next request",
			 strerror(-r));
	log_info("serving %s on %s%s, map generation %llu", tracing_dir(), path,
		 activated ? " (passed by the service manager)" : "",
		 (unsigned long long)service_map_generation(svc));
	notify_ready(svc);
	status = event_base_dispatch(base) < 0 ? 1 : 0;
	/* An activated socket outlives us: systemd queues clients on it and
	 * starts the next instance. */
	if (!activated)
		unlink(cf.socket);
out:
	uevent_watch_free(watch);
	for (int i = 2; i >= 0; i--)
		if (signals[i])
			event_free(signals[i]);
	server_free(srv);
	if (base)
		event_base_free(base);
	service_free(svc);
	return status;
}
