/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The log of requests (see reqlog.h).
 *
 * A refusal of a change to a user without write access costs that user a
 * connection (the refusal ends it) and the daemon a log line; a loop of
 * them would fill the journal with one user's noise and push out what
 * matters. So such refusals are logged up to REQLOG_BURST in a window of
 * REQLOG_WINDOW_S seconds, all users together, and the rest are counted
 * and said once the window is over. Those of root and the write group are
 * always logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "reqlog.h"

#define REQLOG_BURST	20
#define REQLOG_WINDOW_S 10

void reqlog_peer_init(struct reqlog_peer *p, int fd, uid_t uid, bool writer)
{
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	char path[64];
	ssize_t n = -1;
	int comm;

	*p = (struct reqlog_peer){.uid = uid, .writer = writer};
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		p->pid = cred.pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	comm = p->pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (comm >= 0) {
		n = read(comm, p->comm, sizeof(p->comm) - 1);
		close(comm);
	}
	if (n <= 0)
		n = snprintf(p->comm, sizeof(p->comm), "?");
	p->comm[n] = '\0';
	p->comm[strcspn(p->comm, "\n")] = '\0';
	/* a command names itself: nothing in it may forge a log line */
	for (char *c = p->comm; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

const char *reqlog_peer_name(const struct reqlog_peer *p, char *buf, size_t size)
{
	snprintf(buf, size, "uid %u pid %d (%s)", (unsigned)p->uid, (int)p->pid, p->comm);
	return buf;
}

static const char *file_name(uint16_t file)
{
	static const char *const names[] = {"?", "set_ftrace_filter", "set_ftrace_notrace",
					    "set_graph_function", "set_graph_notrace"};

	return file < ARRAY_SIZE(names) ? names[file] : names[0];
}

static const char *op_name(uint16_t op)
{
	static const char *const names[] = {"?", "set", "add", "remove", "clear"};

	return op < ARRAY_SIZE(names) ? names[op] : names[0];
}

/* What @req asks, in words, into @buf. */
static void describe(const struct proto_request *req, char *buf, size_t size)
{
	const char *type = proto_type_name(req->type);
	const char *inst = req->instance ? req->instance : "";
	size_t at = 0;

#define ADD(...)                                                                                   \
	do {                                                                                       \
		int n_ = snprintf(buf + at, size - at, __VA_ARGS__);                               \
		at = n_ < 0 ? at : MIN(size - 1, at + (size_t)n_);                                 \
	} while (0)

	buf[0] = '\0';
	ADD("%s", type);
	switch (req->type) {
	case FTIDX_MSG_FILTER:
	case FTIDX_MSG_CHANGE:
		ADD(" of %s%s%s", inst[0] ? "instances/" : "the top level", inst,
		    req->flags & FTIDX_FILTER_CREATE_INSTANCE ? " (created if missing)" : "");
		for (uint32_t k = 0; k < req->n_changes && k < FTIDX_CHANGES_MAX; k++) {
			const struct proto_change *ch = &req->changes[k];

			ADD("%s %s %s", k ? "," : ":", op_name(ch->op), file_name(ch->file));
			if (ch->op != FTIDX_OP_CLEAR)
				ADD(" %u pattern%s%s%s%s", ch->n_tokens,
				    ch->n_tokens == 1 ? "" : "s", ch->n_tokens ? " ('" : "",
				    ch->n_tokens ? req->tokens[ch->first_token] : "",
				    ch->n_tokens > 1 ? "'...)"
				    : ch->n_tokens   ? "')"
						     : "");
		}
		if (req->generation)
			ADD(", on generation %llu", (unsigned long long)req->generation);
		break;
	case FTIDX_MSG_RESOLVE:
		ADD(" of %u pattern%s", req->n_tokens, req->n_tokens == 1 ? "" : "s");
		break;
	case FTIDX_MSG_NAMES:
		ADD(" of %u index%s", req->n_indices, req->n_indices == 1 ? "" : "es");
		break;
	case FTIDX_MSG_LIST:
		if (req->flags & FTIDX_LIST_MODULE)
			ADD(" of module '%s'", req->module);
		if (req->flags & FTIDX_LIST_ADDRESSES)
			ADD(" with addresses");
		break;
	case FTIDX_MSG_HITS:
		ADD(" of %s%s for %u s", inst[0] ? "instances/" : "the top level", inst,
		    req->seconds);
		break;
	case FTIDX_MSG_REMOVE_INSTANCE:
		ADD(" instances/%s", inst);
		break;
	case FTIDX_MSG_SHOW:
		ADD(" %s%s%s%s", inst[0] ? "instances/" : "", inst, inst[0] ? "/" : "",
		    file_name(req->file));
		break;
	}
#undef ADD
	/* patterns come from the client: nothing in them may forge a line */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* Whether the request changes tracing: what the journal must show. */
static bool changes_tracing(uint16_t type)
{
	return type == FTIDX_MSG_FILTER || type == FTIDX_MSG_CHANGE ||
	       type == FTIDX_MSG_REMOVE_INSTANCE || type == FTIDX_MSG_HITS;
}

/* Whether a refusal of a user without write access may be logged now
 * (see above); says how many were not, once a window is over. */
static bool refusal_may_log(void)
{
	static uint64_t window;
	static unsigned logged, held_back;
	uint64_t now = now_ns() / 1000000000u / REQLOG_WINDOW_S;

	if (now != window) {
		if (held_back)
			log_info("%u more refused requests of users without write access in %d s "
				 "were not logged one by one",
				 held_back, REQLOG_WINDOW_S);
		window = now;
		logged = held_back = 0;
	}
	if (logged < REQLOG_BURST) {
		logged++;
		return true;
	}
	held_back++;
	return false;
}

/* One line: who, what, and the answer. */
static void say(const struct reqlog_peer *p, uint16_t type, const char *what,
		const struct proto_buf *frame, uint64_t took_ns, const char *outcome)
{
	uint16_t rtype = 0;
	int32_t status = 0;
	const char *msg = "";
	char who[64], when[48] = "";
	enum log_level level;

	if (frame && proto_reply_peek(frame->data, frame->len, &rtype, &status, &msg) < 0)
		msg = "(a reply the log cannot read)";
	level = changes_tracing(type) ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
	/* a reader asking for a change: refused, and worth a line (a few) */
	if (status == EACCES && !p->writer)
		level = refusal_may_log() ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
	if (took_ns)
		snprintf(when, sizeof(when), " in %.1f ms", took_ns / 1e6);
	if (!frame && type == FTIDX_MSG_CANCEL)
		log_msg(level, "%s: %s: taken (it has no answer of its own)",
			reqlog_peer_name(p, who, sizeof(who)), what);
	else if (!frame)
		log_msg(level, "%s: %s: no answer", reqlog_peer_name(p, who, sizeof(who)), what);
	else if (status == 0)
		log_msg(level, "%s: %s: done%s%s%s", reqlog_peer_name(p, who, sizeof(who)), what,
			when, outcome && outcome[0] ? ": " : "", outcome ? outcome : "");
	else
		log_msg(level, "%s: %s: refused%s: %s (%s)", reqlog_peer_name(p, who, sizeof(who)),
			what, when, msg[0] ? msg : "no reason given", strerror(status));
}

void reqlog_answered(const struct reqlog_peer *p, const struct proto_request *req,
		     const struct proto_buf *frame, uint64_t took_ns, const char *outcome)
{
	char what[512];

	describe(req, what, sizeof(what));
	say(p, req->type, what, frame, took_ns, outcome);
}

void reqlog_later(const struct reqlog_peer *p, const struct proto_request *req)
{
	char what[512], who[64];

	describe(req, what, sizeof(what));
	log_msg(changes_tracing(req->type) ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "%s: %s: begun",
		reqlog_peer_name(p, who, sizeof(who)), what);
}

void reqlog_delivered(const struct reqlog_peer *p, const struct proto_buf *frame)
{
	uint16_t type = 0;
	int32_t status;
	const char *msg;

	if (proto_reply_peek(frame->data, frame->len, &type, &status, &msg) < 0)
		type = 0;
	say(p, type, proto_type_name(type), frame, 0, NULL);
}

void reqlog_bad_frame(const struct reqlog_peer *p, uint16_t type, bool malformed, const char *what,
		      const char *why)
{
	char who[64];

	log_msg(malformed ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "%s: %s (type %u, %s): %s",
		reqlog_peer_name(p, who, sizeof(who)), what, (unsigned)type, proto_type_name(type),
		why);
}
