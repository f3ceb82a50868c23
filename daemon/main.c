/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidxd: the ftidx daemon. Options, set-up, the event loop, teardown in
 * reverse order; everything else lives in the core library.
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
#include <sys/stat.h>
#include <unistd.h>

#include "hits.h"
#include "intent.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "service.h"
#include "service-map.h"
#include "service-recover.h"
#include "systemd.h"
#include "tracing.h"
#include "uevent.h"

#define DEFAULT_SOCKET "/run/ftidx/ftidxd.sock"

struct options {
	const char *socket;
	const char *tracefs;
	unsigned mode;
	bool verify_full;
	const char *state_dir;
	struct server_limits limits;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ftidxd [OPTION]...\n"
		"Keep a map of the kernel's traceable functions by index and write index-based\n"
		"ftrace filters for clients of a Unix socket.\n"
		"\n"
		"  -s, --socket PATH      listen on PATH (default: $FTIDX_SOCKET, else\n"
		"                         " DEFAULT_SOCKET ")\n"
		"  -t, --tracefs DIR      use DIR as the tracing directory (default: the\n"
		"                         mounted tracefs; ftidxd never mounts one)\n"
		"  -m, --socket-mode MODE permissions of the socket, octal (default: 0666;\n"
		"                         who may do what is checked per client)\n"
		"  -g, --write-group GROUP members of GROUP may change filters too\n"
		"                         (root and ftidxd's own user always may); the\n"
		"                         socket is given to GROUP\n"
		"      --others read|deny everyone else may resolve and list (default),\n"
		"                         or is refused\n"
		"      --max-clients N    refuse connections beyond N (default: %d), and\n"
		"                         keep N/8 of them for root and the write group\n"
		"      --max-clients-per-user N\n"
		"                         connections of one user without write access\n"
		"                         (default: %d)\n"
		"      --idle-timeout S   drop clients silent for S seconds, 0: never\n"
		"                         (default: %d)\n"
		"      --write-timeout S  drop clients that leave their replies unread for\n"
		"                         S seconds, 0: never (default: %d)\n"
		"      --memory-budget MIB\n"
		"                         what all clients together may hold in replies\n"
		"                         and requests; past it the largest holder is\n"
		"                         dropped (default: %u)\n"
		"      --state-dir DIR    where the intent of each write is recorded, so\n"
		"                         that a restarted ftidxd finishes or undoes one a\n"
		"                         crash cut short (default: $RUNTIME_DIRECTORY,\n"
		"                         else " INTENT_DEFAULT_DIR "); only ftidxd's user\n"
		"                         may write it, or crash safety is off\n"
		"      --verify fence|full how a write is proven (default: fence): by the\n"
		"                         map's fences around it, with the filter read\n"
		"                         back later by an audit; or by reading the\n"
		"                         filter back before answering\n"
		"  -v, --verbose          log each request\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Started by systemd's ftidxd.socket, ftidxd serves the socket passed to it\n"
		"(LISTEN_FDS) and reports readiness (NOTIFY_SOCKET); --socket is then unused.\n"
		"Signals: SIGTERM and SIGINT stop the daemon, SIGHUP rebuilds the map.\n"
		"Exit status: 0 after a clean stop, 1 on a start-up failure, 2 on bad usage.\n",
		SERVER_DEFAULT_MAX_CLIENTS, SERVER_DEFAULT_MAX_PER_USER, SERVER_DEFAULT_IDLE_SECONDS,
		SERVER_DEFAULT_WRITE_SECONDS, SERVER_DEFAULT_MEMORY_BUDGET >> 20);
}

static int parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, base);
	return errno || end == s || *end || *out > max ? -EINVAL : 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_MAX_CLIENTS = 0x100, OPT_IDLE, OPT_OTHERS, OPT_PER_USER, OPT_WRITE_TIMEOUT,
	       OPT_BUDGET, OPT_VERIFY, OPT_STATE_DIR };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "tracefs", required_argument, NULL, 't' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-clients-per-user", required_argument, NULL, OPT_PER_USER },
		{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
		{ "memory-budget", required_argument, NULL, OPT_BUDGET },
		{ "write-group", required_argument, NULL, 'g' },
		{ "others", required_argument, NULL, OPT_OTHERS },
		{ "verify", required_argument, NULL, OPT_VERIFY },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "s:t:m:g:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 't':
			o->tracefs = optarg;
			break;
		case 'm':
			if (parse_uint(optarg, 8, 0777, &v) < 0) {
				fprintf(stderr, "ftidxd: bad socket mode '%s'\n", optarg);
				return 2;
			}
			o->mode = (unsigned)v;
			break;
		case OPT_MAX_CLIENTS:
			if (parse_uint(optarg, 10, 65536, &v) < 0 || v == 0) {
				fprintf(stderr, "ftidxd: bad client limit '%s'\n", optarg);
				return 2;
			}
			o->limits.max_clients = (uint32_t)v;
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, 10, 86400, &v) < 0) {
				fprintf(stderr, "ftidxd: bad idle timeout '%s'\n", optarg);
				return 2;
			}
			o->limits.idle_seconds = (uint32_t)v;
			break;
		case OPT_PER_USER:
			if (parse_uint(optarg, 10, 65536, &v) < 0 || v == 0) {
				fprintf(stderr, "ftidxd: bad per-user client limit '%s'\n", optarg);
				return 2;
			}
			o->limits.max_per_user = (uint32_t)v;
			break;
		case OPT_WRITE_TIMEOUT:
			if (parse_uint(optarg, 10, 86400, &v) < 0) {
				fprintf(stderr, "ftidxd: bad write timeout '%s'\n", optarg);
				return 2;
			}
			o->limits.write_seconds = (uint32_t)v;
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_VERIFY:
			if (strcmp(optarg, "fence") != 0 && strcmp(optarg, "full") != 0) {
				fprintf(stderr, "ftidxd: --verify takes fence or full, not '%s'\n",
					optarg);
				return 2;
			}
			o->verify_full = strcmp(optarg, "full") == 0;
			break;
		case OPT_BUDGET:
			/* at least two of the largest frames, at most 64 GiB */
			if (parse_uint(optarg, 10, 65536, &v) < 0 || (v << 20) < 2 * FTIDX_FRAME_MAX) {
				fprintf(stderr, "ftidxd: bad memory budget '%s' (MiB, at least %u)\n",
					optarg, 2 * FTIDX_FRAME_MAX >> 20);
				return 2;
			}
			o->limits.memory_budget = (size_t)v << 20;
			break;
		case 'g': {
			/* Looked up once, at start: no NSS per client. */
			struct group *g = getgrnam(optarg);

			if (!g && parse_uint(optarg, 10, UINT32_MAX - 1, &v) < 0) {
				fprintf(stderr, "ftidxd: no group '%s'\n", optarg);
				return 2;
			}
			o->limits.access.has_write_group = true;
			o->limits.access.write_group = g ? g->gr_gid : (gid_t)v;
			break;
		}
		case OPT_OTHERS:
			if (strcmp(optarg, "read") != 0 && strcmp(optarg, "deny") != 0) {
				fprintf(stderr, "ftidxd: --others takes read or deny\n");
				return 2;
			}
			o->limits.access.others_denied = strcmp(optarg, "deny") == 0;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ftidxd %s\n", FTIDX_VERSION);
			return 0;
		default:
			usage(stderr);
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
	int r = systemd_notifyf("READY=1\nSTATUS=%u lines mapped, generation %llu",
				service_map_size(svc),
				(unsigned long long)service_map_generation(svc));

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
	int r;

	systemd_notify("RELOADING=1");
	r = service_map_refresh(ctx, true);
	if (r < 0)
		log_error("rebuilding the map failed: %s", strerror(-r));
	else
		log_info("map rebuilt on SIGHUP, generation %llu",
			 (unsigned long long)service_map_generation(ctx));
	/* The old map stays in service after a failure: still ready. */
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

int main(int argc, char **argv)
{
	struct options o = { .mode = 0666 };
	struct event_base *base = NULL;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	struct service *svc = NULL;
	struct server *srv = NULL;
	struct uevent_watch *watch = NULL;
	bool activated = false;
	int r, fd, status = 1;

	/* Replies are large and short-lived: allocate them outside the heap so
	 * that what a client held goes back to the system when it goes, instead
	 * of glibc raising its mmap threshold and keeping the peak for ever. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	server_limits_default(&o.limits);
	r = parse_options(argc, argv, &o);
	if (r >= 0)
		return r;
	if (!o.socket)
		o.socket = getenv("FTIDX_SOCKET") ? getenv("FTIDX_SOCKET") : DEFAULT_SOCKET;
	signal(SIGPIPE, SIG_IGN);

	r = tracing_init(o.tracefs);
	if (r < 0) {
		log_error("no tracing directory%s%s: %s", o.tracefs ? " at " : " mounted",
			  o.tracefs ? o.tracefs : "", strerror(-r));
		goto out;
	}
	r = service_new(&svc, NULL);
	if (r < 0) {
		log_error("cannot map %s/available_filter_functions: %s", tracing_dir(),
			  strerror(-r));
		goto out;
	}
	service_set_verify_full(svc, o.verify_full);
	r = hits_remove_orphans();
	if (r > 0)
		log_info("removed %d hit-count instance%s left by an ftidxd that died", r,
			 r == 1 ? "" : "s");
	fd = systemd_listen_fd();
	if (fd < 0) {
		log_error("cannot use the socket passed by the service manager: %s",
			  fd == -E2BIG ? "ftidxd takes exactly one" : strerror(-fd));
		goto out;
	}
	if (fd > 0) {
		/* The .socket unit owns the path, its mode and its group. */
		activated = true;
		o.socket = "the socket passed by the service manager";
	} else {
		make_parent(o.socket);
		/* The socket belongs to the write group, so that a mode such as
		 * 0660 can keep everyone else out before the per-client check. */
		fd = server_listen_path(o.socket, o.mode,
					o.limits.access.has_write_group
						? o.limits.access.write_group
						: (gid_t)-1);
	}
	if (fd < 0) {
		log_error("cannot listen on %s: %s", o.socket,
			  fd == -EEXIST ? "a file that is not a socket is in the way" : strerror(-fd));
		goto out;
	}
	/* before any client: a write a crash cut short is finished or undone */
	service_recover_set_dir(svc, o.state_dir);
	service_recover_start(svc);
	base = event_base_new();
	if (!base || server_new(&srv, base, fd, svc, &o.limits) < 0) {
		log_error("cannot set up the event loop");
		goto out;
	}
	ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	ev_int = evsignal_new(base, SIGINT, on_stop, base);
	ev_hup = evsignal_new(base, SIGHUP, on_reload, svc);
	if (!ev_term || !ev_int || !ev_hup || event_add(ev_term, NULL) < 0 ||
	    event_add(ev_int, NULL) < 0 || event_add(ev_hup, NULL) < 0) {
		log_error("cannot set up signal handling");
		goto out;
	}
	r = uevent_watch_new(&watch, base, svc);
	if (r < 0)
		log_warn("no module uevents (%s): module changes are seen at the next request",
			 strerror(-r));
	log_info("serving %s on %s, map generation %llu", tracing_dir(), o.socket,
		 (unsigned long long)service_map_generation(svc));
	notify_ready(svc);
	status = event_base_dispatch(base) < 0 ? 1 : 0;
	/* An activated socket outlives us: systemd queues clients on it and
	 * starts the next instance. */
	if (!activated)
		unlink(o.socket);
out:
	uevent_watch_free(watch);
	if (ev_hup)
		event_free(ev_hup);
	if (ev_int)
		event_free(ev_int);
	if (ev_term)
		event_free(ev_term);
	server_free(srv);
	if (base)
		event_base_free(base);
	service_free(svc);
	return status;
}
