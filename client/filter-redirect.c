/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop-in's third part: every program's writes of the filter files
 * (set_ftrace_filter, set_ftrace_notrace, set_graph_function,
 * set_graph_notrace, top level or instance) served by ftidxd, by index,
 * with the kernel's semantics. The design is docs/filter-sessions.md; in
 * short:
 *
 * - An open for writing of a filter file of ftidxd's tracing directory,
 *   which the caller may open for writing (faccessat(AT_EACCESS): the
 *   kernel's check), gets a session's socket from ftidxd (SESSION)
 *   instead of the file. dup, fork and exec share it as they would the
 *   file, and ftidxd commits the session when the last reference goes.
 * - write() and writev() on a session send SESSION_WRITE frames on its
 *   socket and return what the kernel's write() would: a token per
 *   write(), or EINVAL. ftidxd predicts the retries of the rest of the
 *   buffer, which are then sent without waiting for an answer.
 * - Writes made inside libc (stdio's buffers) reach the socket as plain
 *   bytes; fflush() and fclose() of a stream on a session ask ftidxd for
 *   their first error (SESSION_STATE) and fail as libc would have.
 * - close(), dup2()/dup3() over, fclose() of a session, and the exit of
 *   the process, wait for its commit when that was the last reference
 *   (SESSION_SYNC); an open of a filter file waits for the commits of
 *   the sessions of that file that have ended.
 * - A socket the drop-in did not open (inherited across exec) is known
 *   by its type and its peer, ftidxd, and asked what it is once.
 *
 * Anything else passes through untouched: another file, or a descriptor
 * that is not a session, at the cost of one byte looked up per write().
 */
/* This file defines write(), close() and lseek() themselves: the headers
 * must declare them as they are, not renamed nor wrapped. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "elf-preload.h"
#include "fdpass.h"
#include "filter-redirect.h"
#include "ftidx.h"
#include "macro.h"
#include "proto.h"
#include "real-symbol.h"

/* Descriptors below this are remembered by kind, a byte each; above, a
 * descriptor is looked at on every write. */
#define FD_CACHE 65536
#define KIND_UNKNOWN 0
#define KIND_OTHER 1   /* not a session */
#define KIND_SESSION 2
/* How long ftidxd may take to answer: a sync waits for commits, which
 * take what the writer takes. */
#define ANSWER_TIMEOUT_MS 120000
/* Where the drop-in's own descriptors go, out of the program's way. */
#define OWN_FD_MIN 400

static _Atomic unsigned char kinds[FD_CACHE];

/* The retries of the rest of a buffer, as ftidxd predicted them. */
struct prediction {
	char *bytes; /* the rest of the buffer, as it was */
	size_t at;   /* where the next step begins in it */
	struct proto_step *steps;
	uint32_t n, next;
};

/* A descriptor that is a session. */
struct session_fd {
	int fd;
	uint64_t id;
	uint16_t file;
	char instance[FTIDX_INSTANCE_MAX + 1];
	dev_t dev;
	ino_t ino;
	struct prediction *pred;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* what follows */
static struct session_fd *sessions;
static size_t n_sessions, cap_sessions;

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER; /* what follows */
static int ctl_fd = -1;      /* a connection to ftidxd, this process's */
static pid_t ctl_pid;
static dev_t ctl_dev;
static ino_t ctl_ino;
static pid_t daemon_pid;      /* ftidxd's, from the connection */
static int marker_fd = -1;    /* sent with frames that need no answer */
static pid_t marker_pid;
static bool roots_known;      /* ftidxd's tracing directory, and tracefs's places */
static char roots[3][PATH_MAX];
static size_t n_roots;
static uint32_t next_id;

static bool said;

/* ---- libc's own functions ----------------------------------------------- */

#define REAL(type, name)                                                                         \
	static _Atomic(void *) real_##name##_slot;                                               \
	static type real_##name(void)                                                            \
	{                                                                                        \
		return (type)real_symbol(&real_##name##_slot, #name);                            \
	}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*close_fn)(int);
typedef int (*dup_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fcntl_fn)(int, int, ...);
typedef off_t (*lseek_fn)(int, off_t, int);
typedef off64_t (*lseek64_fn)(int, off64_t, int);
typedef int (*fflush_fn)(FILE *);
typedef int (*fclose_fn)(FILE *);
REAL(write_fn, write)
REAL(writev_fn, writev)
REAL(close_fn, close)
REAL(dup_fn, dup)
REAL(dup2_fn, dup2)
REAL(dup3_fn, dup3)
REAL(fcntl_fn, fcntl)
REAL(fcntl_fn, fcntl64)
REAL(lseek_fn, lseek)
REAL(lseek64_fn, lseek64)
REAL(fflush_fn, fflush)
REAL(fclose_fn, fclose)

static int sys_close(int fd)
{
	return real_close() ? real_close()(fd) : -1;
}

static void say_once(const char *file, const char *why)
{
	if (!said)
		fprintf(stderr, "ftidx: writing %s through the kernel: %s\n", file, why);
	said = true;
}

/* ---- which descriptors are sessions ------------------------------------ */

static void set_kind(int fd, unsigned char kind)
{
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store_explicit(&kinds[fd], kind, memory_order_relaxed);
}

static unsigned char kind_of(int fd)
{
	return fd >= 0 && fd < FD_CACHE ? atomic_load_explicit(&kinds[fd], memory_order_relaxed)
					 : KIND_UNKNOWN;
}

/* Whether @fd may be a session the table holds: its kind says so, or it
 * has no kind (past FD_CACHE) and the table must be asked. */
static bool may_be_held(int fd)
{
	return fd >= FD_CACHE || kind_of(fd) == KIND_SESSION;
}

static void prediction_free(struct prediction *p)
{
	if (p) {
		free(p->bytes);
		free(p->steps);
		free(p);
	}
}

/* Under @lock: the session of @fd, or NULL. */
static struct session_fd *find_locked(int fd)
{
	for (size_t i = 0; i < n_sessions; i++)
		if (sessions[i].fd == fd)
			return &sessions[i];
	return NULL;
}

/* Under @lock: forget @fd, keeping a copy of what it was in @was (which
 * may be NULL). Whether it was a session. */
static bool forget_locked(int fd, struct session_fd *was)
{
	struct session_fd *s = find_locked(fd);

	if (!s)
		return false;
	prediction_free(s->pred);
	s->pred = NULL;
	if (was)
		*was = *s;
	*s = sessions[--n_sessions];
	return true;
}

/* Under @lock: @s (copied) is descriptor @fd's now. False when out of
 * memory: then @fd is not known to be anything. */
static bool remember_locked(int fd, const struct session_fd *s)
{
	struct session_fd *grown;

	forget_locked(fd, NULL);
	set_kind(fd, KIND_UNKNOWN);
	if (n_sessions == cap_sessions) {
		size_t cap = cap_sessions ? cap_sessions * 2 : 8;

		grown = realloc(sessions, sizeof(*grown) * cap);
		if (!grown)
			return false;
		sessions = grown;
		cap_sessions = cap;
	}
	sessions[n_sessions] = *s;
	sessions[n_sessions].fd = fd;
	sessions[n_sessions].pred = NULL;
	n_sessions++;
	set_kind(fd, KIND_SESSION);
	return true;
}

/* @newfd is now what @oldfd is (dup, dup2, fcntl F_DUPFD). */
static void copy_kind(int oldfd, int newfd)
{
	struct session_fd copy;
	bool is;

	pthread_mutex_lock(&lock);
	forget_locked(newfd, NULL);
	is = may_be_held(oldfd) && find_locked(oldfd);
	if (is) {
		copy = *find_locked(oldfd);
		remember_locked(newfd, &copy);
	} else {
		/* a session not remembered is looked at again */
		set_kind(newfd, kind_of(oldfd) == KIND_OTHER ? KIND_OTHER : KIND_UNKNOWN);
	}
	pthread_mutex_unlock(&lock);
}

/* ---- the connection to ftidxd, and its answers -------------------------- */

/* @fd moved out of the way of the descriptors the program expects, close
 * on exec. */
static int move_high(int fd)
{
	int high = real_fcntl()(fd, F_DUPFD_CLOEXEC, OWN_FD_MIN);

	if (high < 0)
		return fd;
	sys_close(fd);
	return high;
}

/* Under @ctl_lock: whether the connection is this process's (a child's
 * copy of its parent's is the parent's). */
static bool ctl_ours_locked(void)
{
	struct stat st;

	return ctl_fd >= 0 && ctl_pid == getpid() && fstat(ctl_fd, &st) == 0 &&
	       st.st_dev == ctl_dev && st.st_ino == ctl_ino;
}

/* Under @ctl_lock: whether it is ours and still open at ftidxd's end:
 * an idle client is dropped after a while, and ftidxd may restart (with
 * no request in flight, nothing is there to read). */
static bool ctl_valid_locked(void)
{
	struct pollfd p = { .fd = ctl_fd, .events = POLLIN | POLLRDHUP };

	return ctl_ours_locked() && poll(&p, 1, 0) == 0;
}

/* Under @ctl_lock: a connection of this process's to ftidxd, or -1. */
static int ctl_connect_locked(void)
{
	const char *path = secure_getenv("FTIDX_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	int fd;

	if (ctl_valid_locked())
		return ctl_fd;
	/* ours but gone at ftidxd's end: closed; a child's copy of its
	 * parent's is the parent's: left alone */
	if (ctl_ours_locked())
		sys_close(ctl_fd);
	ctl_fd = -1;
	if (!path || !path[0])
		path = FTIDX_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		sys_close(fd);
		return -1;
	}
	fd = move_high(fd);
	if (fstat(fd, &st) < 0) {
		sys_close(fd);
		return -1;
	}
	ctl_fd = fd;
	ctl_pid = getpid();
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	daemon_pid = cred.pid;
	return fd;
}

static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ANSWER_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/* Read one reply frame from stream @fd into @buf (malloc'd), and a
 * descriptor passed with its first byte into *@passed (-1: none). */
static int read_frame(int fd, uint8_t **buf, size_t *len, int *passed, bool cloexec)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct ftidx_frame_header h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	size_t got = 0;
	ssize_t n;

	*passed = -1;
	*buf = NULL;
	while (got < sizeof(h)) {
		if (wait_readable(fd) < 0)
			return -1;
		iov.iov_base = (char *)&h + got;
		iov.iov_len = sizeof(h) - got;
		msg.msg_controllen = sizeof(control.buf);
		n = recvmsg(fd, &msg, cloexec ? MSG_CMSG_CLOEXEC : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		fdpass_received(&msg, passed);
		got += (size_t)n;
	}
	if (h.magic != FTIDX_PROTO_MAGIC || h.length > FTIDX_FRAME_MAX ||
	    !(*buf = malloc(sizeof(h) + h.length)))
		return -1;
	memcpy(*buf, &h, sizeof(h));
	for (got = 0; got < h.length; got += (size_t)n) {
		if (wait_readable(fd) < 0)
			return -1;
		n = recv(fd, *buf + sizeof(h) + got, h.length - got, 0);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return -1;
	}
	*len = sizeof(h) + h.length;
	return 0;
}

/* Decode reply frame @buf into @rep (its strings point into @buf). */
static int decode(const uint8_t *buf, size_t len, uint16_t type, struct proto_reply *rep)
{
	struct ftidx_frame_header h;
	const char *why;

	if (len < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	/* an ftidxd that does not know the request says so in an ERROR */
	if (h.type != (type | FTIDX_MSG_REPLY) && h.type != (FTIDX_MSG_ERROR | FTIDX_MSG_REPLY))
		return -1;
	return proto_decode_reply(h.version, h.type, buf + sizeof(h), h.length, rep, &why) == 0
		       ? 0
		       : -1;
}

/*
 * Request @req of ftidxd on the connection, its reply into @rep (strings
 * in *@buf, free() it) and a socket passed with it in *@passed. 0 or -1
 * (no daemon, or no answer).
 */
static int ask(const struct proto_request *req, uint8_t **buf, struct proto_reply *rep,
	       int *passed, bool cloexec)
{
	struct proto_buf frame;
	size_t len;
	int fd, r = -1;

	*buf = NULL;
	*passed = -1;
	proto_buf_init(&frame);
	pthread_mutex_lock(&ctl_lock);
	fd = ctl_connect_locked();
	if (fd >= 0 && proto_encode_request(&frame, ++next_id, req) == 0 &&
	    send(fd, frame.data, frame.len, MSG_NOSIGNAL) == (ssize_t)frame.len &&
	    read_frame(fd, buf, &len, passed, cloexec) == 0)
		r = decode(*buf, len, req->type, rep);
	if (r < 0 && fd >= 0) {
		/* out of step, or gone: the next request connects anew */
		sys_close(fd);
		ctl_fd = -1;
	}
	pthread_mutex_unlock(&ctl_lock);
	proto_buf_deinit(&frame);
	if (r < 0 && *passed >= 0) {
		sys_close(*passed);
		*passed = -1;
	}
	return r;
}

/* Wait for the commits of a session (@id), or of every session of @file of
 * @instance that has ended. */
static void sync_sessions(uint64_t id, uint16_t file, const char *instance)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION_SYNC, .session = id,
				     .flags = id ? 0 : FTIDX_SYNC_FILE, .file = file,
				     .instance = instance };
	struct proto_reply rep;
	uint8_t *buf;
	int passed;

	if (ask(&req, &buf, &rep, &passed, true) == 0)
		proto_reply_deinit(&rep);
	free(buf);
}

/* ---- a session's socket: frames, and their answers ---------------------- */

/* This process's marker, passed with frames that need no answer: what
 * tells a frame from plain bytes. */
static int marker(void)
{
	if (marker_fd < 0 || marker_pid != getpid()) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC) < 0)
			return -1;
		sys_close(fds[0]);
		marker_fd = move_high(fds[1]);
		marker_pid = getpid();
	}
	return marker_fd;
}

/* Send @frame on session socket @fd with descriptor @pass attached. */
static int send_frame(int fd, const struct proto_buf *frame, int pass)
{
	ssize_t n;

	for (;;) {
		n = fdpass_send(fd, frame->data, frame->len, pass, MSG_NOSIGNAL);
		if (n != -EAGAIN)
			break;
		/* a program that made its descriptor non-blocking */
		poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, -1);
	}
	return n == (ssize_t)frame->len ? 0 : -1;
}

/* @len bytes on session socket @fd as a plain message, as libc's write()
 * would send them. */
static bool send_plain(int fd, const char *buf, size_t len)
{
	ssize_t n;

	for (;;) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0 || errno != EAGAIN)
			break;
		poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, -1);
	}
	return n == (ssize_t)len;
}

/*
 * Request @req on session socket @fd, its answer into @rep (strings in
 * *@buf), and a descriptor passed with it into *@passed when that is not
 * NULL (-1: none). 0 or -1.
 */
static int ask_session(int fd, const struct proto_request *req, uint8_t **buf,
		       struct proto_reply *rep, int *passed)
{
	const size_t size = FTIDX_SESSION_STEPS_MAX * sizeof(struct proto_step) + 4096;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct proto_buf frame;
	int sv[2] = { -1, -1 }, r = -1, got = -1;
	ssize_t n = -1;

	*buf = NULL;
	proto_buf_init(&frame);
	if (proto_encode_request(&frame, 1, req) == 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0 &&
	    send_frame(fd, &frame, sv[1]) == 0) {
		sys_close(sv[1]);
		sv[1] = -1;
		*buf = malloc(size);
		iov = (struct iovec){ *buf, size };
		if (*buf && wait_readable(sv[0]) == 0) {
			do
				n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
			while (n < 0 && errno == EINTR);
		}
		if (n > 0) {
			fdpass_received(&msg, &got);
			r = decode(*buf, (size_t)n, req->type, rep);
		}
	}
	if (passed && r == 0)
		*passed = got;
	else if (got >= 0)
		sys_close(got);
	if (sv[0] >= 0)
		sys_close(sv[0]);
	if (sv[1] >= 0)
		sys_close(sv[1]);
	proto_buf_deinit(&frame);
	return r;
}

/* What session socket @fd is, and the first error of the bytes written to
 * it inside libc with @take. 0 or -1 (not a session after all). */
static int session_state(int fd, bool take, struct session_fd *s, uint32_t *error)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION_STATE,
				     .flags = take ? FTIDX_STATE_TAKE_ERROR : 0 };
	struct proto_reply rep;
	uint8_t *buf;
	int r = ask_session(fd, &req, &buf, &rep, NULL);

	if (r == 0) {
		if (rep.status)
			r = -1;
		if (s) {
			s->id = rep.session;
			s->file = rep.session_file;
			snprintf(s->instance, sizeof(s->instance), "%s", rep.session_instance);
		}
		if (error)
			*error = rep.raw_error;
		proto_reply_deinit(&rep);
	}
	free(buf);
	return r;
}

/*
 * Whether @fd is a session that this process did not open: a Unix
 * SEQPACKET socket whose peer is ftidxd, which says what it is.
 */
static bool identify(int fd)
{
	struct session_fd s = { .fd = fd };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int type = 0, domain = 0;
	socklen_t tlen = sizeof(type), dlen = sizeof(domain);
	struct stat st;
	pid_t daemon;
	bool known;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 || domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	pthread_mutex_lock(&ctl_lock);
	ctl_connect_locked();
	daemon = ctl_valid_locked() ? daemon_pid : -1;
	pthread_mutex_unlock(&ctl_lock);
	if (cred.pid != daemon || session_state(fd, false, &s, NULL) < 0)
		return false;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	pthread_mutex_lock(&lock);
	known = remember_locked(fd, &s);
	pthread_mutex_unlock(&lock);
	return known;
}

/* Whether @fd is a session: known from its kind, or found out once. */
static bool is_session(int fd)
{
	unsigned char k = kind_of(fd);

	if (fd < 0 || k == KIND_OTHER)
		return false;
	if (k == KIND_SESSION)
		return true;
	if (identify(fd))
		return true;
	set_kind(fd, KIND_OTHER);
	return false;
}

/* Under @lock: @fd's session, if it is still the socket remembered (a
 * descriptor closed inside libc may have been reused). */
static struct session_fd *still_locked(int fd)
{
	struct session_fd *s = find_locked(fd);
	struct stat st;

	if (s && (fstat(fd, &st) < 0 || st.st_dev != s->dev || st.st_ino != s->ino)) {
		forget_locked(fd, NULL);
		set_kind(fd, KIND_UNKNOWN);
		s = NULL;
	}
	return s;
}

/* ---- write() on a session ------------------------------------------------ */

/* A write the prediction covers: its step, taken; else NULL. */
static const struct proto_step *predicted_locked(struct session_fd *s, const char *buf, size_t n)
{
	struct prediction *p = s->pred;
	const struct proto_step *st;

	if (!p || p->next >= p->n)
		return NULL;
	st = &p->steps[p->next];
	if (n < st->len || memcmp(buf, p->bytes + p->at, st->len) != 0 ||
	    ((st->flags & FTIDX_STEP_AT_END) && n != st->len))
		return NULL;
	p->at += st->len;
	p->next++;
	return st;
}

/* Whether the predicted steps stay within the @rest of the buffer. */
static bool steps_fit(const struct proto_reply *rep, size_t rest)
{
	size_t sum = 0;

	for (uint32_t i = 0; i < rep->n_steps; i++)
		sum += rep->steps[i].len;
	return sum <= rest;
}

static ssize_t result(int32_t r)
{
	if (r >= 0)
		return r;
	errno = -r;
	return -1;
}

/* One write() of @n bytes (@n > 0) to session @fd, the kernel's way. */
static ssize_t session_write(int fd, const char *buf, size_t n)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION_WRITE, .bytes = (const uint8_t *)buf,
				     .n_bytes = (uint32_t)MIN(n, (size_t)FTIDX_SESSION_WRITE_MAX) };
	const struct proto_step *st;
	struct session_fd *s;
	struct proto_reply rep;
	struct prediction *p;
	uint8_t *answer;
	ssize_t r = -1;

	pthread_mutex_lock(&lock);
	s = still_locked(fd);
	if (!s) {
		/* not the session remembered: what is it now? */
		set_kind(fd, KIND_UNKNOWN);
		pthread_mutex_unlock(&lock);
		if (identify(fd))
			return session_write(fd, buf, n);
		set_kind(fd, KIND_OTHER);
		return real_write()(fd, buf, n);
	}
	st = predicted_locked(s, buf, n);
	if (st) {
		/* sent in order, under the lock, and not waited for: a token
		 * taken as plain bytes, which ftidxd applies as one write()
		 * would; a refused one as a frame, whose error is the
		 * program's now */
		struct proto_buf frame;
		bool sent;

		proto_buf_init(&frame);
		req.flags = FTIDX_WRITE_NO_REPLY;
		req.n_bytes = st->len;
		if (st->result >= 0)
			sent = send_plain(fd, buf, st->len);
		else
			sent = proto_encode_request(&frame, 0, &req) == 0 &&
			       send_frame(fd, &frame, marker()) == 0;
		proto_buf_deinit(&frame);
		r = sent ? result(st->result) : (errno = EIO, -1);
		if (st->result < 0 || s->pred->next == s->pred->n) {
			prediction_free(s->pred);
			s->pred = NULL;
		}
		pthread_mutex_unlock(&lock);
		return r;
	}
	prediction_free(s->pred);
	s->pred = NULL;
	pthread_mutex_unlock(&lock);

	if (ask_session(fd, &req, &answer, &rep, NULL) < 0 || rep.status) {
		free(answer);
		errno = EIO;
		return -1;
	}
	r = result(rep.result);
	if (rep.result > 0 && (size_t)rep.result <= req.n_bytes && rep.n_steps &&
	    steps_fit(&rep, req.n_bytes - (size_t)rep.result) && (p = calloc(1, sizeof(*p)))) {
		size_t rest = req.n_bytes - (size_t)rep.result;

		p->bytes = malloc(rest);
		p->steps = rep.steps;
		p->n = rep.n_steps;
		rep.steps = NULL;
		if (p->bytes)
			memcpy(p->bytes, buf + rep.result, rest);
		pthread_mutex_lock(&lock);
		s = find_locked(fd);
		if (s && p->bytes) {
			prediction_free(s->pred);
			s->pred = p;
			p = NULL;
		}
		pthread_mutex_unlock(&lock);
		prediction_free(p);
	}
	proto_reply_deinit(&rep);
	free(answer);
	return r;
}

_public_ ssize_t write(int fd, const void *buf, size_t n)
{
	if (kind_of(fd) != KIND_OTHER && is_session(fd))
		return n ? session_write(fd, buf, n) : 0;
	return real_write()(fd, buf, n);
}

/* The kernel's writev() of a file without write_iter: a write() per
 * segment, up to the first short one or error. */
_public_ ssize_t writev(int fd, const struct iovec *iov, int n)
{
	ssize_t total = 0;

	if (kind_of(fd) == KIND_OTHER || !is_session(fd))
		return real_writev()(fd, iov, n);
	if (n < 0 || n > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		ssize_t r;

		if (!iov[i].iov_len)
			continue;
		r = session_write(fd, iov[i].iov_base, iov[i].iov_len);
		if (r < 0)
			return total ? total : -1;
		total += r;
		if ((size_t)r != iov[i].iov_len)
			break;
	}
	return total;
}

/* tracefs's lseek() of a filter file open for writing: 0, always. */
_public_ off_t lseek(int fd, off_t offset, int whence)
{
	if (may_be_held(fd) && fd >= 0 && is_session(fd))
		return 0;
	return real_lseek()(fd, offset, whence);
}

_public_ off64_t lseek64(int fd, off64_t offset, int whence)
{
	if (may_be_held(fd) && fd >= 0 && is_session(fd))
		return 0;
	return real_lseek64()(fd, offset, whence);
}

/* ---- closes, and what makes descriptors alike ---------------------------- */

/* Under @lock: take @fd out, its session (if any) into @was. */
static bool take_locked(int fd, struct session_fd *was)
{
	bool is = may_be_held(fd) && forget_locked(fd, was);

	set_kind(fd, KIND_UNKNOWN);
	return is;
}

/* The drop-in's own descriptors, closed by the program: forgotten. */
static void own_closed(int fd)
{
	if (fd == ctl_fd)
		ctl_fd = -1;
	if (fd == marker_fd)
		marker_fd = -1;
}

_public_ int close(int fd)
{
	struct session_fd was;
	bool is;
	int r, saved;

	pthread_mutex_lock(&lock);
	is = take_locked(fd, &was);
	pthread_mutex_unlock(&lock);
	own_closed(fd);
	r = sys_close(fd);
	saved = errno;
	/* the kernel's release is at the last close: wait for the commit if
	 * this was it */
	if (is)
		sync_sessions(was.id, 0, "");
	errno = saved;
	return r;
}

/* @newfd was a session, and dup2() or dup3() put another file there: that
 * may have been its last reference. */
static int dup_over(int oldfd, int newfd, int r, const struct session_fd *was, bool is)
{
	int saved = errno;

	if (r >= 0) {
		own_closed(newfd);
		copy_kind(oldfd, newfd);
		if (is && was->id)
			sync_sessions(was->id, 0, "");
	}
	errno = saved;
	return r;
}

_public_ int dup2(int oldfd, int newfd)
{
	struct session_fd was = { 0 };
	bool is = false;
	int r;

	if (oldfd == newfd)
		return real_dup2()(oldfd, newfd);
	pthread_mutex_lock(&lock);
	if (may_be_held(newfd) && find_locked(newfd))
		was = *find_locked(newfd), is = true;
	pthread_mutex_unlock(&lock);
	r = real_dup2()(oldfd, newfd);
	return dup_over(oldfd, newfd, r, &was, is);
}

_public_ int dup3(int oldfd, int newfd, int flags)
{
	struct session_fd was = { 0 };
	bool is = false;
	int r;

	pthread_mutex_lock(&lock);
	if (oldfd != newfd && may_be_held(newfd) && find_locked(newfd))
		was = *find_locked(newfd), is = true;
	pthread_mutex_unlock(&lock);
	r = real_dup3()(oldfd, newfd, flags);
	return dup_over(oldfd, newfd, r, &was, is);
}

_public_ int dup(int oldfd)
{
	int r = real_dup()(oldfd), saved = errno;

	if (r >= 0)
		copy_kind(oldfd, r);
	errno = saved;
	return r;
}

static int fcntl_as(fcntl_fn fn, int fd, int cmd, void *arg)
{
	int r = fn(fd, cmd, arg), saved = errno;

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		copy_kind(fd, r);
	errno = saved;
	return r;
}

_public_ int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	/* as libc's own: the argument, whatever its type, as a pointer */
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_as(real_fcntl(), fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);
_public_ int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_as(real_fcntl64() ? real_fcntl64() : real_fcntl(), fd, cmd, arg);
}

/* ---- streams -------------------------------------------------------------- */

/* What libc's write() would have made of a failed write: @f's error flag,
 * errno, EOF. */
static int stream_failed(FILE *f, uint32_t error)
{
#ifdef _IO_ERR_SEEN
	f->_flags |= _IO_ERR_SEEN;
#else
	(void)f;
#endif
	errno = (int)error;
	return EOF;
}

_public_ int fflush(FILE *f)
{
	uint32_t error = 0;
	int fd, r;

	if (!f)
		return real_fflush()(NULL);
	fd = fileno(f);
	if (fd < 0 || kind_of(fd) == KIND_OTHER || !is_session(fd))
		return real_fflush()(f);
	r = real_fflush()(f);
	/* what libc wrote went to ftidxd as plain bytes: their first error */
	if (session_state(fd, true, NULL, &error) == 0 && error)
		return stream_failed(f, error);
	return r;
}

_public_ int fclose(FILE *f)
{
	struct session_fd was;
	uint32_t error = 0;
	bool is = false;
	int fd = f ? fileno(f) : -1, r, saved;

	if (fd >= 0 && kind_of(fd) != KIND_OTHER && is_session(fd)) {
		real_fflush()(f);
		session_state(fd, true, NULL, &error);
		is = true;
	}
	pthread_mutex_lock(&lock);
	is = take_locked(fd, &was) && is;
	pthread_mutex_unlock(&lock);
	r = real_fclose()(f);
	saved = errno;
	if (is)
		sync_sessions(was.id, 0, "");
	if (is && error) {
		errno = (int)error;
		return EOF;
	}
	errno = saved;
	return r;
}

/* ---- exec of a program no preload reaches --------------------------------- */

static const char *filter_file_name(uint16_t file)
{
	static const char *const names[] = { "a filter file", "set_ftrace_filter",
					     "set_ftrace_notrace", "set_graph_function",
					     "set_graph_notrace" };

	return file <= FTIDX_FILE_GRAPH_NOTRACE ? names[file] : names[0];
}

/*
 * @path is about to be exec'd and no preload reaches it (linked
 * statically, busybox): the sessions this process hands down (not
 * close-on-exec) could not tell it of a refused name. Each is handed to
 * the kernel instead, and its descriptor replaced by the kernel's open
 * file, which ftidxd holds for the session: the program writes the
 * kernel's file, and the release is the kernel's own, at the last close
 * of either.
 */
static void hand_down(const char *path)
{
	struct proto_request req = { .type = FTIDX_MSG_SESSION_STATE,
				     .flags = FTIDX_STATE_TO_KERNEL };
	struct session_fd *held;
	size_t n = 0;
	int saved = errno;

	pthread_mutex_lock(&lock);
	held = n_sessions ? malloc(sizeof(*held) * n_sessions) : NULL;
	for (size_t i = 0; held && i < n_sessions; i++) {
		int flags = real_fcntl()(sessions[i].fd, F_GETFD);

		if (flags >= 0 && !(flags & FD_CLOEXEC))
			held[n++] = sessions[i];
	}
	pthread_mutex_unlock(&lock);
	if (!n || elf_preload_reaches(path, 0)) {
		free(held);
		errno = saved;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct proto_reply rep;
		uint8_t *buf;
		int kernel = -1;

		pthread_mutex_lock(&lock);
		if (!still_locked(held[i].fd)) {
			pthread_mutex_unlock(&lock);
			continue;
		}
		pthread_mutex_unlock(&lock);
		if (ask_session(held[i].fd, &req, &buf, &rep, &kernel) == 0) {
			if (rep.status == 0 && kernel >= 0 &&
			    real_dup2()(kernel, held[i].fd) == held[i].fd) {
				pthread_mutex_lock(&lock);
				forget_locked(held[i].fd, NULL);
				set_kind(held[i].fd, KIND_OTHER);
				pthread_mutex_unlock(&lock);
				say_once(filter_file_name(held[i].file),
					 "the program run next is not reached by ftidx's preload "
					 "(linked statically)");
			}
			proto_reply_deinit(&rep);
		}
		if (kernel >= 0)
			sys_close(kernel);
		free(buf);
	}
	free(held);
	errno = saved;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
REAL(execve_fn, execve)

_public_ int execve(const char *path, char *const argv[], char *const envp[])
{
	/* (a glance without the lock: hand_down() takes it) */
	if (n_sessions)
		hand_down(path);
	return real_execve()(path, argv, envp);
}

/* ---- opens ------------------------------------------------------------------ */

static uint16_t filter_file(const char *name)
{
	static const char *const names[] = { NULL, "set_ftrace_filter", "set_ftrace_notrace",
					     "set_graph_function", "set_graph_notrace" };

	for (uint16_t f = FTIDX_FILE_FILTER; f <= FTIDX_FILE_GRAPH_NOTRACE; f++)
		if (strcmp(name, names[f]) == 0)
			return f;
	return 0;
}

/* Under @ctl_lock: where ftidxd's tracing directory is, and where a
 * tracefs is mounted when it reads one, as real paths. */
static void learn_roots_locked(const struct proto_reply *st)
{
	const char *candidates[] = { st->tracing_dir, "/sys/kernel/tracing",
				     "/sys/kernel/debug/tracing" };
	size_t n = (st->status_flags & FTIDX_STATUS_TRACEFS) ? 3 : 1;

	n_roots = 0;
	for (size_t i = 0; i < n; i++)
		if (realpath(candidates[i], roots[n_roots]))
			n_roots++;
	roots_known = true;
}

static bool know_roots(void)
{
	struct proto_request req = { .type = FTIDX_MSG_STATUS };
	struct proto_reply rep;
	uint8_t *buf;
	int passed;
	bool known;

	pthread_mutex_lock(&ctl_lock);
	known = roots_known;
	pthread_mutex_unlock(&ctl_lock);
	if (known)
		return true;
	if (ask(&req, &buf, &rep, &passed, true) < 0) {
		free(buf);
		return false;
	}
	pthread_mutex_lock(&ctl_lock);
	if (rep.status == 0)
		learn_roots_locked(&rep);
	known = roots_known;
	pthread_mutex_unlock(&ctl_lock);
	proto_reply_deinit(&rep);
	free(buf);
	return known;
}

/* The instance whose directory is @dir (a real path), "" for the top
 * level, into @instance; false when @dir is none of ftidxd's. */
static bool instance_of(const char *dir, char *instance, size_t size)
{
	for (size_t i = 0; i < n_roots; i++) {
		size_t len = strlen(roots[i]);
		const char *rest = dir + len;
		const char *why;

		if (strncmp(dir, roots[i], len) != 0)
			continue;
		if (!*rest) {
			instance[0] = '\0';
			return true;
		}
		if (strncmp(rest, "/instances/", 11) == 0 && !strchr(rest + 11, '/') &&
		    proto_instance_name_valid(rest + 11, &why)) {
			snprintf(instance, size, "%s", rest + 11);
			return true;
		}
	}
	return false;
}

/* The real path of the directory @path (relative to @dirfd) is in. */
static bool directory_of(int dirfd, const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX + 32];
	int len = slash ? (int)(slash - path) : 1;
	const char *part = slash ? path : ".";

	if (slash == path)
		len = 1;
	if (part[0] != '/' && dirfd != AT_FDCWD)
		len = snprintf(dir, sizeof(dir), "/proc/self/fd/%d/%.*s", dirfd, len, part);
	else
		len = snprintf(dir, sizeof(dir), "%.*s", len, part);
	return len > 0 && (size_t)len < sizeof(dir) && realpath(dir, out) != NULL;
}

int filter_redirect_open(int dirfd, const char *path, int flags, int *fd)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	const char *name = slash ? slash + 1 : path;
	struct proto_request req = { .type = FTIDX_MSG_SESSION };
	struct session_fd s = { 0 };
	char dir[PATH_MAX], instance[FTIDX_INSTANCE_MAX + 1];
	struct proto_reply rep;
	struct stat st;
	uint8_t *buf;
	int saved = errno, passed, r;
	uint16_t file;

	if (!name || !(file = filter_file(name)))
		return 0;
	if (!know_roots()) {
		/* without ftidxd, only tracefs's own places are known to be
		 * the kernel's: a write there is said */
		if ((flags & O_ACCMODE) != O_RDONLY && directory_of(dirfd, path, dir) &&
		    (strncmp(dir, "/sys/kernel/tracing", 19) == 0 ||
		     strncmp(dir, "/sys/kernel/debug/tracing", 25) == 0))
			say_once(name, "ftidxd cannot be reached");
		goto as_asked;
	}
	if (!directory_of(dirfd, path, dir) || !instance_of(dir, instance, sizeof(instance)))
		goto as_asked;
	if ((flags & O_ACCMODE) == O_RDONLY) {
		/* what a reader sees: the commits of the writers that are done */
		sync_sessions(0, file, instance);
		goto as_asked;
	}
	if ((flags & O_ACCMODE) != O_WRONLY || (flags & (O_PATH | O_DIRECTORY)) ||
	    (flags & O_TMPFILE) == O_TMPFILE || (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		say_once(name, "it is opened for reading too, or with flags only the kernel serves");
		goto as_asked;
	}
	/* who could not open the kernel's file cannot open a session either:
	 * the kernel's open says why */
	if (faccessat(dirfd, path, W_OK, AT_EACCESS) < 0)
		goto as_asked;
	req.file = file;
	req.flags = (flags & O_TRUNC) ? FTIDX_SESSION_TRUNCATE : 0;
	req.instance = instance;
	r = ask(&req, &buf, &rep, &passed, flags & O_CLOEXEC);
	if (r < 0 || rep.status || passed < 0 || fstat(passed, &st) < 0) {
		say_once(name, r < 0 ? "ftidxd cannot be reached"
			       : rep.message[0] ? rep.message
						: "ftidxd did not open a session");
		if (r == 0)
			proto_reply_deinit(&rep);
		if (passed >= 0)
			sys_close(passed);
		free(buf);
		goto as_asked;
	}
	s.id = rep.session;
	s.file = file;
	snprintf(s.instance, sizeof(s.instance), "%s", instance);
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	proto_reply_deinit(&rep);
	free(buf);
	/* (out of memory, it is found out again at its first write) */
	pthread_mutex_lock(&lock);
	remember_locked(passed, &s);
	pthread_mutex_unlock(&lock);
	*fd = passed;
	errno = saved;
	return 1;
as_asked:
	errno = saved;
	return 0;
}

void filter_redirect_opened(int fd)
{
	set_kind(fd, KIND_OTHER);
}

int filter_redirect_fopen(const char *path, const char *mode, FILE **f)
{
	int flags, fd, saved;

	if (!mode || !path)
		return 0;
	switch (mode[0]) {
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	case 'r':
		flags = O_RDONLY;
		break;
	default:
		return 0;
	}
	if (strchr(mode, '+'))
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	flags |= (strchr(mode, 'e') ? O_CLOEXEC : 0) | (strchr(mode, 'x') ? O_EXCL : 0);
	if (!filter_redirect_open(AT_FDCWD, path, flags, &fd))
		return 0;
	*f = fd >= 0 ? fdopen(fd, mode) : NULL;
	if (!*f && fd >= 0) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return 1;
}

/* ---- the end of the process ------------------------------------------------ */

/*
 * At exit(), after the program's own exit handlers: the streams are
 * flushed, the sessions this process still holds are closed, and each
 * session it knew is waited for, so that whoever reads the filter after
 * the process ends sees its commit.
 */
__attribute__((destructor)) static void filter_redirect_exit(void)
{
	struct session_fd *copy;
	size_t n;

	pthread_mutex_lock(&lock);
	n = n_sessions;
	copy = n ? malloc(sizeof(*copy) * n) : NULL;
	if (copy)
		memcpy(copy, sessions, sizeof(*copy) * n);
	pthread_mutex_unlock(&lock);
	if (!copy)
		return;
	if (real_fflush())
		real_fflush()(NULL);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (fstat(copy[i].fd, &st) == 0 && st.st_dev == copy[i].dev &&
		    st.st_ino == copy[i].ino) {
			pthread_mutex_lock(&lock);
			take_locked(copy[i].fd, NULL);
			pthread_mutex_unlock(&lock);
			sys_close(copy[i].fd);
		}
		sync_sessions(copy[i].id, 0, "");
	}
	free(copy);
}

/* A child forked while another thread held a lock gets it free. */
static void before_fork(void)
{
	pthread_mutex_lock(&ctl_lock);
	pthread_mutex_lock(&lock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(&ctl_lock);
}

__attribute__((constructor)) static void filter_redirect_init(void)
{
	pthread_atfork(before_fork, after_fork, after_fork);
}
