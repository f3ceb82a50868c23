/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire codec (see proto.h and PROTOCOL.md).
 *
 * Decoding trusts nothing: every read is bounds-checked, every count is
 * checked against the bytes actually left before anything is allocated
 * for it (so a hostile count cannot make us allocate), every string must
 * end within the body, flags and enums must be known, and a body must be
 * consumed exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "proto.h"

/* ---- encoding ---------------------------------------------------------- */

void proto_buf_init(struct proto_buf *b)
{
	*b = (struct proto_buf){ 0 };
}

void proto_buf_deinit(struct proto_buf *b)
{
	growbuf_deinit(&b->buf);
	proto_buf_init(b);
}

void proto_put_bytes(struct proto_buf *b, const void *p, size_t len)
{
	growbuf_append(&b->buf, p, len);
}

void proto_put_u16(struct proto_buf *b, uint16_t v)
{
	proto_put_bytes(b, &v, sizeof(v));
}

void proto_put_u32(struct proto_buf *b, uint32_t v)
{
	proto_put_bytes(b, &v, sizeof(v));
}

void proto_put_u64(struct proto_buf *b, uint64_t v)
{
	proto_put_bytes(b, &v, sizeof(v));
}

void proto_put_str(struct proto_buf *b, const char *s)
{
	proto_put_bytes(b, s ? s : "", strlen(s ? s : "") + 1);
}

void proto_buf_begin(struct proto_buf *b, uint16_t type, uint32_t id)
{
	struct ftidx_frame_header h = {
		.magic = FTIDX_PROTO_MAGIC,
		.version = FTIDX_PROTO_VERSION,
		.type = type,
		.id = id,
		.length = 0, /* filled in by proto_buf_end() */
	};

	b->open = b->len;
	proto_put_bytes(b, &h, sizeof(h));
}

int proto_buf_end(struct proto_buf *b)
{
	size_t at = b->open;
	size_t body;
	uint32_t length;

	if (b->failed)
		return -ENOMEM;
	if (at + sizeof(struct ftidx_frame_header) > b->len)
		return -EINVAL;
	body = b->len - at - sizeof(struct ftidx_frame_header);
	if (body > FTIDX_FRAME_MAX) {
		b->len = at;
		return -EMSGSIZE;
	}
	length = (uint32_t)body;
	memcpy(b->data + at + offsetof(struct ftidx_frame_header, length), &length,
	       sizeof(length));
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

struct reader {
	const uint8_t *p, *end;
	const char *why;         /* first failure, NULL while all is well */
	const char *unsupported; /* well-formed, but asks for what we do not know */
	bool newer;              /* the sender speaks a later version */
};

static bool fail(struct reader *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return false;
}

/* A type, operation, file or flag this version does not know: a later
 * version's, which the peer may refuse without losing the stream. */
static void unsupported(struct reader *r, const char *why)
{
	if (!r->unsupported)
		r->unsupported = why;
}

static size_t left(const struct reader *r)
{
	return (size_t)(r->end - r->p);
}

static bool get_bytes(struct reader *r, void *dst, size_t n)
{
	if (r->why)
		return false;
	if (left(r) < n)
		return fail(r, "body shorter than its fields");
	memcpy(dst, r->p, n);
	r->p += n;
	return true;
}

static uint16_t get_u16(struct reader *r)
{
	uint16_t v = 0;

	get_bytes(r, &v, sizeof(v));
	return v;
}

static uint32_t get_u32(struct reader *r)
{
	uint32_t v = 0;

	get_bytes(r, &v, sizeof(v));
	return v;
}

static uint64_t get_u64(struct reader *r)
{
	uint64_t v = 0;

	get_bytes(r, &v, sizeof(v));
	return v;
}

static const char *get_str(struct reader *r, size_t max)
{
	const uint8_t *nul;
	const char *s;

	if (r->why)
		return "";
	nul = memchr(r->p, '\0', left(r));
	if (!nul) {
		fail(r, "string not terminated within the body");
		return "";
	}
	if ((size_t)(nul - r->p) > max) {
		fail(r, "string too long");
		return "";
	}
	s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

/* A count of elements of at least @min_size bytes each must fit. */
static uint32_t get_count(struct reader *r, size_t min_size, uint32_t max)
{
	uint32_t n = get_u32(r);

	if (r->why)
		return 0;
	if (n > max)
		return fail(r, "count over the protocol's limit"), 0;
	if ((uint64_t)n * min_size > left(r))
		return fail(r, "count larger than the body"), 0;
	return n;
}

static const char **get_strs(struct reader *r, uint32_t n, size_t max, int *err)
{
	const char **v;

	if (r->why)
		return NULL;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n && !r->why; i++)
		v[i] = get_str(r, max);
	return v;
}

/* @n fixed-size integers in host order, copied out (the body may be unaligned). */
static void *get_array(struct reader *r, uint32_t n, size_t size, int *err)
{
	void *v;

	if (r->why)
		return NULL;
	v = malloc(size * (n ? n : 1));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	get_bytes(r, v, size * n);
	return v;
}

static uint32_t *get_u32s(struct reader *r, uint32_t n, int *err)
{
	return get_array(r, n, sizeof(uint32_t), err);
}

static uint64_t *get_u64s(struct reader *r, uint32_t n, int *err)
{
	return get_array(r, n, sizeof(uint64_t), err);
}

static int finish(struct reader *r, int err, const char **why)
{
	if (err < 0) {
		*why = "out of memory";
		return err;
	}
	/* Later versions only append fields: what follows ours is theirs. */
	if (!r->why && left(r) != 0 && !r->newer)
		fail(r, "trailing bytes after the last field");
	if (r->why) {
		*why = r->why;
		return -EBADMSG;
	}
	if (r->unsupported) {
		*why = r->unsupported;
		return -EOPNOTSUPP;
	}
	return 0;
}

const char *proto_type_name(uint16_t type)
{
	static const char *const names[] = {
		[FTIDX_MSG_STATUS] = "STATUS",
		[FTIDX_MSG_RESOLVE] = "RESOLVE",
		[FTIDX_MSG_NAMES] = "NAMES",
		[FTIDX_MSG_LIST] = "LIST",
		[FTIDX_MSG_FILTER] = "FILTER",
		[FTIDX_MSG_HITS] = "HITS",
		[FTIDX_MSG_CHANGE] = "CHANGE",
		[FTIDX_MSG_CANCEL] = "CANCEL",
		[FTIDX_MSG_REMOVE_INSTANCE] = "REMOVE_INSTANCE",
		[FTIDX_MSG_VERSION] = "VERSION",
		[FTIDX_MSG_PROGRESS] = "PROGRESS",
		[FTIDX_MSG_SHOW] = "SHOW",
		[FTIDX_MSG_INSTANCES] = "INSTANCES",
		[FTIDX_MSG_SESSION] = "SESSION",
		[FTIDX_MSG_SESSION_SYNC] = "SESSION_SYNC",
		[FTIDX_MSG_SESSION_WRITE] = "SESSION_WRITE",
		[FTIDX_MSG_SESSION_STATE] = "SESSION_STATE",
	};

	type &= (uint16_t)~FTIDX_MSG_REPLY;
	if (type == FTIDX_MSG_ERROR)
		return "ERROR";
	return type < ARRAY_SIZE(names) && names[type] ? names[type] : "?";
}

int proto_check_header(const struct ftidx_frame_header *h, const char **why)
{
	uint16_t type = h->type & (uint16_t)~FTIDX_MSG_REPLY;

	if (h->magic != FTIDX_PROTO_MAGIC) {
		*why = "not an ftidx frame (bad magic)";
		return -EBADMSG;
	}
	if (h->version < FTIDX_PROTO_VERSION_MIN) {
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (h->length > FTIDX_FRAME_MAX) {
		*why = "frame larger than the protocol's maximum (16 MiB)";
		return -EMSGSIZE;
	}
	/* A type of a later version is framed like any other; the decoder
	 * answers it with -EOPNOTSUPP. Type 0 is no type in any version. */
	if (type == 0) {
		*why = "unknown message type";
		return -EBADMSG;
	}
	return 0;
}

bool proto_instance_name_valid(const char *name, const char **why)
{
	size_t len = strlen(name);

	if (len == 0 || len > FTIDX_INSTANCE_MAX) {
		*why = "an instance name is 1 to 128 characters";
		return false;
	}
	if (name[0] == '.') {
		*why = "an instance name cannot start with '.'";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.')) {
			*why = "an instance name may only hold letters, digits, '_', '-' and '.'";
			return false;
		}
	}
	return true;
}

/* ---- fields: a message's fixed part, described once for both ways --- */

enum field_kind { FIELD_U16, FIELD_U32, FIELD_U64, FIELD_STR, FIELD_ZERO32, FIELD_ZERO16 };

struct field {
	uint8_t kind;
	uint8_t since; /* the protocol version that added it */
	uint32_t max;  /* FIELD_STR: its longest, else 0 */
	size_t offset; /* in the message struct */
};

#define FIELD_OF(kind, type, member, max, since) { kind, since, max, offsetof(type, member) }
#define REQ_U16(m) FIELD_OF(FIELD_U16, struct proto_request, m, 0, 1)
#define REQ_U32(m) FIELD_OF(FIELD_U32, struct proto_request, m, 0, 1)
#define REQ_U64(m) FIELD_OF(FIELD_U64, struct proto_request, m, 0, 1)
#define REQ_STR(m, max) FIELD_OF(FIELD_STR, struct proto_request, m, max, 1)
#define REP_U16(m) FIELD_OF(FIELD_U16, struct proto_reply, m, 0, 1)
#define REP_U32(m) FIELD_OF(FIELD_U32, struct proto_reply, m, 0, 1)
#define REP_U64(m) FIELD_OF(FIELD_U64, struct proto_reply, m, 0, 1)
#define REP_STR(m, max, since) FIELD_OF(FIELD_STR, struct proto_reply, m, max, since)
#define ZERO32 { FIELD_ZERO32, 1, 0, 0 } /* reserved: written as 0, skipped */
#define ZERO16 { FIELD_ZERO16, 1, 0, 0 }

static void put_fields(struct proto_buf *b, const struct field *f, size_t n, const void *msg)
{
	const char *p = msg;

	for (size_t i = 0; i < n; i++, f++) {
		switch (f->kind) {
		case FIELD_U16:
			proto_put_u16(b, *(const uint16_t *)(p + f->offset));
			break;
		case FIELD_U32:
			proto_put_u32(b, *(const uint32_t *)(p + f->offset));
			break;
		case FIELD_U64:
			proto_put_u64(b, *(const uint64_t *)(p + f->offset));
			break;
		case FIELD_STR:
			proto_put_str(b, *(const char *const *)(p + f->offset));
			break;
		case FIELD_ZERO32:
			proto_put_u32(b, 0);
			break;
		case FIELD_ZERO16:
			proto_put_u16(b, 0);
			break;
		}
	}
}

/* The fields a sender of protocol @version sent. */
static void get_fields(struct reader *r, const struct field *f, size_t n, void *msg,
		       uint16_t version)
{
	char *p = msg;

	for (size_t i = 0; i < n; i++, f++) {
		if (version < f->since)
			continue;
		switch (f->kind) {
		case FIELD_U16:
			*(uint16_t *)(p + f->offset) = get_u16(r);
			break;
		case FIELD_U32:
			*(uint32_t *)(p + f->offset) = get_u32(r);
			break;
		case FIELD_U64:
			*(uint64_t *)(p + f->offset) = get_u64(r);
			break;
		case FIELD_STR:
			*(const char **)(p + f->offset) = get_str(r, f->max);
			break;
		case FIELD_ZERO32:
			get_u32(r);
			break;
		case FIELD_ZERO16:
			get_u16(r);
			break;
		}
	}
}

/*
 * How each message goes on the wire: its fixed fields (@head), then what
 * has a count (@rest, both ways: NULL for none), then fixed fields again
 * (@tail); @check judges a decoded one (NULL: nothing to judge).
 */
struct codec {
	uint16_t type;
	const struct field *head;
	size_t n_head;
	int (*put_rest)(struct proto_buf *b, const void *msg);
	void (*get_rest)(struct reader *r, void *msg, uint16_t version, int *err);
	const struct field *tail;
	size_t n_tail;
	void (*check)(struct reader *r, void *msg, const char **why);
	/* what a later version appends after @tail: put always (an older
	 * peer skips bytes at the end of a body), taken from a sender of
	 * @late_since on */
	int (*put_late)(struct proto_buf *b, const void *msg);
	void (*get_late)(struct reader *r, void *msg, uint16_t version, int *err);
	uint16_t late_since;
};

#define FIELDS(a) a, ARRAY_SIZE(a)
#define NO_FIELDS NULL, 0
#define NO_LATE NULL, NULL, 0

static const struct codec *codec_of(const struct codec *table, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return &table[i];
	return NULL;
}

static int put_message(struct proto_buf *b, const struct codec *c, const void *msg)
{
	int r = 0;

	put_fields(b, c->head, c->n_head, msg);
	if (c->put_rest)
		r = c->put_rest(b, msg);
	put_fields(b, c->tail, c->n_tail, msg);
	if (c->put_late && r == 0)
		r = c->put_late(b, msg);
	return r;
}

static void get_message(struct reader *r, const struct codec *c, void *msg, uint16_t version,
			int *err, const char **why)
{
	get_fields(r, c->head, c->n_head, msg, version);
	if (c->get_rest && !r->why)
		c->get_rest(r, msg, version, err);
	get_fields(r, c->tail, c->n_tail, msg, version);
	if (c->get_late && version >= c->late_since && !r->why)
		c->get_late(r, msg, version, err);
	if (c->check && !r->why)
		c->check(r, msg, why);
}

/* ---- requests ---------------------------------------------------------- */

static void put_strs(struct proto_buf *b, const char *const *v, uint32_t n)
{
	proto_put_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		proto_put_str(b, v[i]);
}

static int put_tokens(struct proto_buf *b, const void *msg)
{
	const struct proto_request *req = msg;

	put_strs(b, req->tokens, req->n_tokens);
	return 0;
}

static void get_tokens(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_request *req = msg;

	req->n_tokens = get_count(r, 1, FTIDX_BATCH_MAX);
	req->tokens = get_strs(r, req->n_tokens, FTIDX_FRAME_MAX, err);
}

static int put_indices(struct proto_buf *b, const void *msg)
{
	const struct proto_request *req = msg;

	proto_put_u32(b, req->n_indices);
	proto_put_bytes(b, req->indices, sizeof(*req->indices) * req->n_indices);
	return 0;
}

static void get_indices(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_request *req = msg;

	req->n_indices = get_count(r, sizeof(uint32_t), FTIDX_BATCH_MAX);
	req->indices = get_u32s(r, req->n_indices, err);
}

static int put_changes(struct proto_buf *b, const void *msg)
{
	const struct proto_request *req = msg;

	proto_put_u32(b, req->n_changes);
	for (uint32_t k = 0; k < req->n_changes && k < FTIDX_CHANGES_MAX; k++) {
		const struct proto_change *ch = &req->changes[k];

		if (ch->first_token > req->n_tokens || ch->n_tokens > req->n_tokens - ch->first_token)
			return -EINVAL;
		proto_put_u16(b, ch->op);
		proto_put_u16(b, ch->file);
		put_strs(b, req->tokens + ch->first_token, ch->n_tokens);
	}
	return 0;
}

/* What FILTER and CHANGE ask of one file: the op, the file and its tokens
 * must fit together. */
static void check_change(struct reader *r, uint16_t op, uint16_t file, uint32_t n_tokens)
{
	if (op < FTIDX_OP_SET || op > FTIDX_OP_CLEAR)
		unsupported(r, "unknown filter operation");
	if (file < FTIDX_FILE_FILTER || file > FTIDX_FILE_GRAPH_NOTRACE)
		unsupported(r, "unknown filter file");
	if (op == FTIDX_OP_CLEAR && n_tokens)
		fail(r, "CLEAR takes no tokens");
	if (op != FTIDX_OP_CLEAR && !n_tokens)
		fail(r, "no tokens given");
}

static void check_instance(struct reader *r, const char *instance, const char **why)
{
	if (instance[0] && !proto_instance_name_valid(instance, why))
		fail(r, *why);
}

/* CHANGE's files, each with its tokens, into one token array. */
static void get_changes(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_request *req = msg;
	uint32_t seen = 0;

	req->n_changes = get_u32(r);
	if (!r->why && (req->n_changes < 1 || req->n_changes > FTIDX_CHANGES_MAX))
		fail(r, "a change names 1 to 4 files");
	for (uint32_t k = 0; k < req->n_changes && !r->why; k++) {
		struct proto_change *ch = &req->changes[k];
		const char **grown;
		uint32_t n;

		ch->op = get_u16(r);
		ch->file = get_u16(r);
		n = get_count(r, 1, FTIDX_BATCH_MAX - req->n_tokens);
		if (r->why)
			break;
		check_change(r, ch->op, ch->file, n);
		if (ch->file >= 1 && ch->file <= 16 && (seen & (1u << ch->file)))
			fail(r, "a file appears twice in one change");
		if (ch->file >= 1 && ch->file <= 16)
			seen |= 1u << ch->file;
		grown = realloc(req->tokens, sizeof(*grown) * (req->n_tokens + n + 1));
		if (!grown) {
			*err = -ENOMEM;
			return;
		}
		req->tokens = grown;
		ch->first_token = req->n_tokens;
		ch->n_tokens = n;
		for (uint32_t i = 0; i < n && !r->why; i++)
			req->tokens[req->n_tokens++] = get_str(r, FTIDX_FRAME_MAX);
	}
}

/* Version 4: what a read waits for, and progress frames. */
#define READ_FLAGS (FTIDX_READ_CURRENT | FTIDX_READ_LAST | FTIDX_REQ_PROGRESS)

static void check_read_flags(struct reader *r, uint32_t flags)
{
	if ((flags & FTIDX_READ_CURRENT) && (flags & FTIDX_READ_LAST))
		fail(r, "a read waits for the current map or takes the last one, not both");
}

static void check_resolve(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags & ~(FTIDX_RESOLVE_LINES | FTIDX_RESOLVE_PER_TOKEN | READ_FLAGS))
		unsupported(r, "unknown RESOLVE flags");
	check_read_flags(r, req->flags);
}

static void check_list(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags &
	    ~(FTIDX_LIST_PLACEHOLDERS | FTIDX_LIST_MODULE | FTIDX_LIST_ADDRESSES | READ_FLAGS))
		unsupported(r, "unknown LIST flags");
	check_read_flags(r, req->flags);
}

/* NAMES and STATUS: a flags field of version 4, after what version 1 had. */
static int put_read_flags(struct proto_buf *b, const void *msg)
{
	proto_put_u32(b, ((const struct proto_request *)msg)->flags);
	return 0;
}

static void get_read_flags(struct reader *r, void *msg, uint16_t version _unused_, int *err _unused_)
{
	((struct proto_request *)msg)->flags = get_u32(r);
}

static void check_read_only(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags & ~READ_FLAGS)
		unsupported(r, "unknown flags");
	check_read_flags(r, req->flags);
}

static void check_filter(struct reader *r, void *msg, const char **why)
{
	struct proto_request *req = msg;

	check_change(r, req->op, req->file, req->n_tokens);
	if (req->flags & ~(FTIDX_FILTER_CREATE_INSTANCE | FTIDX_FILTER_PER_TOKEN |
			   FTIDX_FILTER_ALLOW_EMPTY | FTIDX_REQ_PROGRESS))
		unsupported(r, "unknown FILTER flags");
	check_instance(r, req->instance, why);
	/* a FILTER is a change of one file */
	req->changes[0] = (struct proto_change){ req->op, req->file, 0, req->n_tokens };
	req->n_changes = 1;
}

static void check_change_request(struct reader *r, void *msg, const char **why)
{
	struct proto_request *req = msg;

	if (req->flags & ~(FTIDX_FILTER_CREATE_INSTANCE | FTIDX_FILTER_PER_TOKEN |
			   FTIDX_FILTER_ALLOW_EMPTY | FTIDX_REQ_PROGRESS))
		unsupported(r, "unknown CHANGE flags");
	check_instance(r, req->instance, why);
}

static void check_hits(struct reader *r, void *msg, const char **why)
{
	const struct proto_request *req = msg;

	if (req->seconds < 1 || req->seconds > FTIDX_HITS_MAX_SECONDS)
		fail(r, "a hit count runs for 1 to " STRINGIFY(FTIDX_HITS_MAX_SECONDS) " seconds");
	if (req->flags)
		unsupported(r, "unknown HITS flags");
	check_instance(r, req->instance, why);
}

static void check_show(struct reader *r, void *msg, const char **why)
{
	const struct proto_request *req = msg;

	if (req->file < FTIDX_FILE_FILTER || req->file > FTIDX_FILE_GRAPH_NOTRACE)
		unsupported(r, "unknown filter file");
	if (req->flags)
		unsupported(r, "unknown SHOW flags");
	check_instance(r, req->instance, why);
}

static void check_instances(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags)
		unsupported(r, "unknown INSTANCES flags");
}

static void check_remove_instance(struct reader *r, void *msg, const char **why)
{
	const struct proto_request *req = msg;

	if (!req->instance[0])
		fail(r, "the top level is no instance");
	check_instance(r, req->instance, why);
}

/* ---- version 4: filter sessions ---- */

static void check_session_file(struct reader *r, uint16_t file)
{
	if (file < FTIDX_FILE_FILTER || file > FTIDX_FILE_GRAPH_NOTRACE)
		unsupported(r, "unknown filter file");
}

static void check_session(struct reader *r, void *msg, const char **why)
{
	const struct proto_request *req = msg;

	if (req->flags & ~FTIDX_SESSION_TRUNCATE)
		unsupported(r, "unknown SESSION flags");
	check_session_file(r, req->file);
	check_instance(r, req->instance, why);
}

static void check_session_sync(struct reader *r, void *msg, const char **why)
{
	const struct proto_request *req = msg;

	if (req->flags & ~FTIDX_SYNC_FILE)
		unsupported(r, "unknown SESSION_SYNC flags");
	if (req->flags & FTIDX_SYNC_FILE) {
		check_session_file(r, req->file);
		check_instance(r, req->instance, why);
	} else if (!req->session) {
		fail(r, "no session named");
	}
}

static int put_session_bytes(struct proto_buf *b, const void *msg)
{
	const struct proto_request *req = msg;

	proto_put_u32(b, req->n_bytes);
	proto_put_bytes(b, req->bytes, req->n_bytes);
	return 0;
}

static void get_session_bytes(struct reader *r, void *msg, uint16_t version _unused_,
			      int *err _unused_)
{
	struct proto_request *req = msg;

	req->n_bytes = get_count(r, 1, FTIDX_SESSION_WRITE_MAX);
	if (r->why)
		return;
	if (!req->n_bytes) {
		fail(r, "a write of nothing");
		return;
	}
	req->bytes = r->p;
	r->p += req->n_bytes;
}

static void check_session_write(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags & ~FTIDX_WRITE_NO_REPLY)
		unsupported(r, "unknown SESSION_WRITE flags");
}

static void check_session_state(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_request *req = msg;

	if (req->flags & ~(FTIDX_STATE_TAKE_ERROR | FTIDX_STATE_TO_KERNEL))
		unsupported(r, "unknown SESSION_STATE flags");
}

static const struct field session_fields[] = { REQ_U32(flags), REQ_U16(file),
					       REQ_STR(instance, FTIDX_INSTANCE_MAX) };
static const struct field session_sync_fields[] = { REQ_U64(session), REQ_U32(flags),
						    REQ_U16(file),
						    REQ_STR(instance, FTIDX_INSTANCE_MAX) };
static const struct field flags_fields[] = { REQ_U32(flags) };

static const struct field resolve_fields[] = { REQ_U32(flags) };
static const struct field list_fields[] = { REQ_U32(flags), REQ_STR(module, FTIDX_TOKEN_MAX) };
static const struct field filter_fields[] = {
	REQ_U64(generation), REQ_U16(op), REQ_U16(file), REQ_U32(flags),
	REQ_STR(instance, FTIDX_INSTANCE_MAX),
};
static const struct field hits_fields[] = { REQ_U32(seconds), REQ_U32(flags),
					    REQ_STR(instance, FTIDX_INSTANCE_MAX) };
static const struct field change_fields[] = { REQ_U64(generation), REQ_U32(flags),
					      REQ_STR(instance, FTIDX_INSTANCE_MAX) };
static const struct field cancel_fields[] = { REQ_U32(target) };
static const struct field instance_fields[] = { REQ_STR(instance, FTIDX_INSTANCE_MAX) };
static const struct field show_fields[] = { REQ_U16(file), REQ_U32(flags),
					    REQ_STR(instance, FTIDX_INSTANCE_MAX) };

static const struct codec requests[] = {
	{ FTIDX_MSG_STATUS, NO_FIELDS, NULL, NULL, NO_FIELDS, check_read_only, put_read_flags,
	  get_read_flags, 4 },
	{ FTIDX_MSG_RESOLVE, FIELDS(resolve_fields), put_tokens, get_tokens, NO_FIELDS,
	  check_resolve, NO_LATE },
	{ FTIDX_MSG_NAMES, NO_FIELDS, put_indices, get_indices, NO_FIELDS, check_read_only,
	  put_read_flags, get_read_flags, 4 },
	{ FTIDX_MSG_LIST, FIELDS(list_fields), NULL, NULL, NO_FIELDS, check_list, NO_LATE },
	{ FTIDX_MSG_FILTER, FIELDS(filter_fields), put_tokens, get_tokens, NO_FIELDS,
	  check_filter, NO_LATE },
	{ FTIDX_MSG_HITS, FIELDS(hits_fields), NULL, NULL, NO_FIELDS, check_hits, NO_LATE },
	{ FTIDX_MSG_CHANGE, FIELDS(change_fields), put_changes, get_changes, NO_FIELDS,
	  check_change_request, NO_LATE },
	{ FTIDX_MSG_CANCEL, FIELDS(cancel_fields), NULL, NULL, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_REMOVE_INSTANCE, FIELDS(instance_fields), NULL, NULL, NO_FIELDS,
	  check_remove_instance, NO_LATE },
	{ FTIDX_MSG_VERSION, NO_FIELDS, NULL, NULL, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_SHOW, FIELDS(show_fields), NULL, NULL, NO_FIELDS, check_show, NO_LATE },
	{ FTIDX_MSG_INSTANCES, FIELDS(flags_fields), NULL, NULL, NO_FIELDS, check_instances,
	  NO_LATE },
	{ FTIDX_MSG_SESSION, FIELDS(session_fields), NULL, NULL, NO_FIELDS, check_session,
	  NO_LATE },
	{ FTIDX_MSG_SESSION_SYNC, FIELDS(session_sync_fields), NULL, NULL, NO_FIELDS,
	  check_session_sync, NO_LATE },
	{ FTIDX_MSG_SESSION_WRITE, FIELDS(flags_fields), put_session_bytes, get_session_bytes,
	  NO_FIELDS, check_session_write, NO_LATE },
	{ FTIDX_MSG_SESSION_STATE, FIELDS(flags_fields), NULL, NULL, NO_FIELDS,
	  check_session_state, NO_LATE },
};

int proto_encode_request(struct proto_buf *b, uint32_t id, const struct proto_request *req)
{
	const struct codec *c = codec_of(requests, ARRAY_SIZE(requests), req->type);
	int r;

	if (!c)
		return -EINVAL;
	proto_buf_begin(b, req->type, id);
	r = put_message(b, c, req);
	if (r < 0) {
		b->len = b->open;
		return r;
	}
	return proto_buf_end(b);
}

int proto_decode_request(uint16_t version, uint16_t type, const void *body, size_t len,
			 struct proto_request *req, const char **why)
{
	struct reader r = { body, (const uint8_t *)body + len, NULL, NULL,
			    version > FTIDX_PROTO_VERSION };
	const struct codec *c = codec_of(requests, ARRAY_SIZE(requests), type);
	int err = 0;

	*req = (struct proto_request){ .type = type, .instance = "", .module = "" };
	if (c) {
		get_message(&r, c, req, version, &err, why);
	} else {
		/* the body of a type we do not know is not ours to judge */
		r.p = r.end;
		unsupported(&r, "unknown request type");
	}
	return finish(&r, err, why);
}

void proto_request_deinit(struct proto_request *req)
{
	free(req->tokens);
	free(req->indices);
	*req = (struct proto_request){ 0 };
}

/* ---- replies ----------------------------------------------------------- */

/* RESOLVE, FILTER and CHANGE: the per-token part and the sets (lines
 * follow for the first two). */
static void put_items(struct proto_buf *b, const struct proto_reply *rep)
{
	proto_put_u32(b, rep->n_items);
	proto_put_u32(b, rep->n_enable);
	proto_put_u32(b, rep->n_disable);
	proto_put_u32(b, rep->n_failed);
	proto_put_u32(b, rep->written);
	proto_put_u32(b, rep->n_lines);
	proto_put_bytes(b, rep->items, sizeof(*rep->items) * rep->n_items);
	proto_put_bytes(b, rep->enable, sizeof(*rep->enable) * rep->n_enable);
	proto_put_bytes(b, rep->disable, sizeof(*rep->disable) * rep->n_disable);
	for (uint32_t i = 0; i < rep->n_failed; i++)
		proto_put_str(b, rep->reasons[i]);
}

/* Version 2: u32 sets (0 or one per token), u32 total, the sets' sizes,
 * then all their indices. */
static void put_token_sets(struct proto_buf *b, const struct proto_reply *rep)
{
	uint32_t n = rep->n_token_sets;

	proto_put_u32(b, n);
	proto_put_u32(b, n ? rep->token_set_start[n] : 0);
	for (uint32_t i = 0; i < n; i++)
		proto_put_u32(b, rep->token_set_start[i + 1] - rep->token_set_start[i]);
	if (n)
		proto_put_bytes(b, rep->token_sets, sizeof(uint32_t) * rep->token_set_start[n]);
}

static void decode_items(struct reader *r, struct proto_reply *rep, int *err)
{
	uint32_t failed = 0;

	rep->n_items = get_count(r, sizeof(struct proto_item), FTIDX_BATCH_MAX);
	rep->n_enable = get_u32(r);
	rep->n_disable = get_u32(r);
	rep->n_failed = get_u32(r);
	rep->written = get_u32(r);
	rep->n_lines = get_u32(r);
	if (r->why)
		return;
	/* Each of these must fit in what is left before anything is allocated. */
	if ((uint64_t)rep->n_items * 8 + ((uint64_t)rep->n_enable + rep->n_disable) * 4 +
		    rep->n_failed + rep->n_lines >
	    left(r)) {
		fail(r, "counts larger than the body");
		return;
	}
	if (rep->n_lines && rep->n_lines != rep->n_enable) {
		fail(r, "line count differs from the enabled set");
		return;
	}
	rep->items = calloc(rep->n_items ? rep->n_items : 1, sizeof(*rep->items));
	if (!rep->items) {
		*err = -ENOMEM;
		return;
	}
	get_bytes(r, rep->items, sizeof(*rep->items) * rep->n_items);
	for (uint32_t i = 0; i < rep->n_items; i++)
		failed += rep->items[i].status != 0;
	if (failed != rep->n_failed)
		fail(r, "failure count differs from the items");
	rep->enable = get_u32s(r, rep->n_enable, err);
	rep->disable = get_u32s(r, rep->n_disable, err);
	rep->reasons = get_strs(r, rep->n_failed, FTIDX_FRAME_MAX, err);
}

static void decode_token_sets(struct reader *r, struct proto_reply *rep, int *err)
{
	uint32_t n = get_u32(r), total = get_u32(r);
	uint64_t sum = 0;

	if (r->why)
		return;
	if (n != 0 && n != rep->n_items) {
		fail(r, "per-token sets do not match the tokens");
		return;
	}
	if (((uint64_t)n + total) * sizeof(uint32_t) > left(r)) {
		fail(r, "counts larger than the body");
		return;
	}
	rep->n_token_sets = n;
	if (!n) {
		if (total)
			fail(r, "per-token indices without sets");
		return;
	}
	rep->token_set_start = malloc(sizeof(uint32_t) * ((size_t)n + 1));
	if (!rep->token_set_start) {
		*err = -ENOMEM;
		return;
	}
	rep->token_set_start[0] = 0;
	for (uint32_t i = 0; i < n; i++) {
		sum += get_u32(r);
		rep->token_set_start[i + 1] = (uint32_t)MIN(sum, UINT32_MAX);
	}
	if (sum != total)
		fail(r, "per-token set sizes do not add up");
	rep->token_sets = get_u32s(r, total, err);
}

static void decode_changes_done(struct reader *r, struct proto_reply *rep, int *err)
{
	rep->n_changes = get_count(r, 16, FTIDX_CHANGES_MAX);
	if (r->why)
		return;
	rep->changes = calloc(rep->n_changes ? rep->n_changes : 1, sizeof(*rep->changes));
	if (!rep->changes) {
		*err = -ENOMEM;
		return;
	}
	for (uint32_t k = 0; k < rep->n_changes && !r->why; k++) {
		struct proto_change_result *ch = &rep->changes[k];

		ch->op = get_u16(r);
		ch->file = get_u16(r);
		ch->written = get_u32(r);
		ch->n_enable = get_count(r, 0, FTIDX_FRAME_MAX);
		ch->n_disable = get_count(r, 0, FTIDX_FRAME_MAX);
		if (r->why)
			break;
		if (((uint64_t)ch->n_enable + ch->n_disable) * sizeof(uint32_t) > left(r)) {
			fail(r, "counts larger than the body");
			break;
		}
		if (ch->op < FTIDX_OP_SET || ch->op > FTIDX_OP_CLEAR || ch->file < FTIDX_FILE_FILTER ||
		    ch->file > FTIDX_FILE_GRAPH_NOTRACE)
			fail(r, "unknown operation or file in a change");
		ch->enable = get_u32s(r, ch->n_enable, err);
		ch->disable = get_u32s(r, ch->n_disable, err);
	}
}

/* The rest of each reply type, both ways. */

static int put_status_rest(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_filters);
	for (uint32_t i = 0; i < rep->n_filters; i++) {
		proto_put_u16(b, rep->filters[i].file);
		proto_put_u16(b, rep->filters[i].holds);
		proto_put_u32(b, rep->filters[i].functions);
		proto_put_str(b, rep->filters[i].instance);
	}
	return 0;
}

static void get_status_rest(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_filters = get_count(r, 9, FTIDX_BATCH_MAX);
	if (r->why)
		return;
	rep->filters = calloc(rep->n_filters ? rep->n_filters : 1, sizeof(*rep->filters));
	if (!rep->filters) {
		*err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < rep->n_filters && !r->why; i++) {
		struct proto_filter_state *f = &rep->filters[i];

		f->file = get_u16(r);
		f->holds = get_u16(r);
		f->functions = get_u32(r);
		f->instance = get_str(r, FTIDX_INSTANCE_MAX);
		if (f->holds > FTIDX_HOLDS_UNKNOWN)
			fail(r, "unknown filter state");
		if (f->file < FTIDX_FILE_FILTER || f->file > FTIDX_FILE_GRAPH_NOTRACE)
			fail(r, "unknown filter file");
	}
}

/* Version 3: per filter, what the kernel lists there beside functions;
 * version 4: the uid ftidxd runs as, then the daemon's pid, start, uptime
 * and socket. */
static int put_status_late(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	for (uint32_t i = 0; i < rep->n_filters; i++) {
		proto_put_u32(b, rep->filters[i].probes);
		proto_put_u32(b, rep->filters[i].module_patterns);
	}
	proto_put_u32(b, rep->daemon_uid);
	proto_put_u64(b, rep->published_generation);
	proto_put_u32(b, rep->daemon_pid);
	proto_put_u64(b, rep->started_at_ns);
	proto_put_u64(b, rep->uptime_ns);
	proto_put_str(b, rep->socket_path);
	return 0;
}

/* Version 4: RESOLVE, NAMES and LIST say whether their map is behind. */
void proto_put_map_state(struct proto_buf *b, uint32_t map_flags, uint64_t newest_generation)
{
	proto_put_u32(b, map_flags);
	proto_put_u64(b, newest_generation);
}

static int put_map_state(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_map_state(b, rep->map_flags, rep->newest_generation);
	return 0;
}

static void get_map_state(struct reader *r, void *msg, uint16_t version _unused_, int *err _unused_)
{
	struct proto_reply *rep = msg;

	rep->map_flags = get_u32(r);
	rep->newest_generation = get_u64(r);
	if (!r->why && (rep->map_flags & ~FTIDX_MAP_BEHIND))
		fail(r, "unknown map state flags");
}

static void check_progress(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_reply *rep = msg;

	if (rep->stage > FTIDX_PROGRESS_RESTORE)
		fail(r, "unknown progress stage");
	else if (rep->done > rep->total)
		fail(r, "progress past its total");
}

static void get_status_late(struct reader *r, void *msg, uint16_t version, int *err _unused_)
{
	struct proto_reply *rep = msg;

	for (uint32_t i = 0; i < rep->n_filters && !r->why; i++) {
		rep->filters[i].probes = get_u32(r);
		rep->filters[i].module_patterns = get_u32(r);
	}
	if (version < 4 || r->why)
		return;
	rep->daemon_uid = get_u32(r);
	rep->published_generation = get_u64(r);
	rep->daemon_pid = get_u32(r);
	rep->started_at_ns = get_u64(r);
	rep->uptime_ns = get_u64(r);
	rep->socket_path = get_str(r, 4096);
}

/* Version 4: FILTER and CHANGE, per file written, its counts. */
static int put_file_counts(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	if (rep->n_file_counts > FTIDX_CHANGES_MAX)
		return -EINVAL;
	proto_put_u32(b, rep->n_file_counts);
	for (uint32_t k = 0; k < rep->n_file_counts; k++) {
		proto_put_u32(b, rep->file_counts[k].before);
		proto_put_u32(b, rep->file_counts[k].after);
		proto_put_u32(b, rep->file_counts[k].added);
		proto_put_u32(b, rep->file_counts[k].dropped);
	}
	return 0;
}

static void get_file_counts(struct reader *r, void *msg, uint16_t version _unused_,
			    int *err _unused_)
{
	struct proto_reply *rep = msg;

	rep->n_file_counts = get_count(r, 16, FTIDX_CHANGES_MAX);
	for (uint32_t k = 0; k < rep->n_file_counts && !r->why; k++) {
		rep->file_counts[k].before = get_u32(r);
		rep->file_counts[k].after = get_u32(r);
		rep->file_counts[k].added = get_u32(r);
		rep->file_counts[k].dropped = get_u32(r);
	}
	/* one per file a change names, or none (nothing was written) */
	if (!r->why && rep->n_file_counts &&
	    rep->n_file_counts != (rep->type == FTIDX_MSG_CHANGE ? rep->n_changes : 1))
		fail(r, "file counts do not match the files");
}

static void check_status(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_reply *rep = msg;

	if (rep->status_flags & ~(FTIDX_STATUS_ADDRESSES | FTIDX_STATUS_TRACEFS | FTIDX_STATUS_STALE))
		fail(r, "unknown STATUS flags");
}

static int put_resolved(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	put_items(b, rep);
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	put_token_sets(b, rep);
	return 0;
}

static void get_resolved(struct reader *r, void *msg, uint16_t version, int *err)
{
	struct proto_reply *rep = msg;

	decode_items(r, rep, err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
	if (version >= 2)
		decode_token_sets(r, rep, err);
}

static int put_changed(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	put_items(b, rep);
	put_token_sets(b, rep);
	proto_put_u32(b, rep->n_changes);
	for (uint32_t k = 0; k < rep->n_changes; k++) {
		const struct proto_change_result *ch = &rep->changes[k];

		proto_put_u16(b, ch->op);
		proto_put_u16(b, ch->file);
		proto_put_u32(b, ch->written);
		proto_put_u32(b, ch->n_enable);
		proto_put_u32(b, ch->n_disable);
		proto_put_bytes(b, ch->enable, sizeof(*ch->enable) * ch->n_enable);
		proto_put_bytes(b, ch->disable, sizeof(*ch->disable) * ch->n_disable);
	}
	return 0;
}

static void get_changed(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	decode_items(r, rep, err);
	if (!r->why && (rep->n_lines || rep->n_enable || rep->n_disable))
		fail(r, "a change's sets are per file");
	decode_token_sets(r, rep, err);
	decode_changes_done(r, rep, err);
}

static void check_version(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_reply *rep = msg;

	if (rep->role > FTIDX_ROLE_WRITE)
		fail(r, "unknown role");
	else if (rep->proto_version_min > rep->proto_version || !rep->proto_version_min)
		fail(r, "nonsense protocol versions");
}

static int put_names(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_lines);
	proto_put_bytes(b, rep->line_status, sizeof(*rep->line_status) * rep->n_lines);
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	return 0;
}

static void get_names(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_lines = get_count(r, sizeof(int32_t) + 1, FTIDX_BATCH_MAX);
	rep->line_status = (int32_t *)get_u32s(r, rep->n_lines, err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
}

static int put_list(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_lines);
	proto_put_bytes(b, rep->indices, sizeof(*rep->indices) * rep->n_lines);
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	proto_put_u32(b, rep->addresses ? rep->n_lines : 0);
	if (rep->addresses)
		proto_put_bytes(b, rep->addresses, sizeof(*rep->addresses) * rep->n_lines);
	return 0;
}

static void get_list(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;
	uint32_t n;

	rep->n_lines = get_count(r, sizeof(uint32_t) + 1, FTIDX_FRAME_MAX);
	rep->indices = get_u32s(r, rep->n_lines, err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
	n = get_u32(r);
	if (n != 0 && n != rep->n_lines)
		fail(r, "addresses do not match the lines");
	else if (n)
		rep->addresses = get_u64s(r, n, err);
}

static int put_hits(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_lines);
	proto_put_u64(b, rep->events);
	proto_put_u64(b, rep->lost);
	proto_put_bytes(b, rep->indices, sizeof(*rep->indices) * rep->n_lines);
	proto_put_bytes(b, rep->counts, sizeof(*rep->counts) * rep->n_lines);
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	return 0;
}

static void get_hits(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_lines = get_count(r, sizeof(uint32_t) + sizeof(uint64_t) + 1, FTIDX_FRAME_MAX);
	rep->events = get_u64(r);
	rep->lost = get_u64(r);
	rep->indices = get_u32s(r, rep->n_lines, err);
	rep->counts = get_u64s(r, rep->n_lines, err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
}

/* SHOW: u32 count, per line {u16 kind, u16 flags, u32 index}, the lines. */
static int put_shown(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_lines);
	for (uint32_t i = 0; i < rep->n_lines; i++) {
		proto_put_u16(b, rep->shown[i].kind);
		proto_put_u16(b, rep->shown[i].flags);
		proto_put_u32(b, rep->shown[i].index);
	}
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	return 0;
}

static void get_shown(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_lines = get_count(r, sizeof(struct proto_shown) + 1, FTIDX_FRAME_MAX);
	rep->shown = get_array(r, rep->n_lines, sizeof(struct proto_shown), err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
	for (uint32_t i = 0; rep->shown && i < rep->n_lines && !r->why; i++)
		if (rep->shown[i].kind < FTIDX_SHOWN_FUNCTION ||
		    rep->shown[i].kind > FTIDX_SHOWN_MODULE_PATTERN)
			fail(r, "unknown kind of filter line");
}

static void check_shown(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_reply *rep = msg;

	if (rep->holds > FTIDX_HOLDS_NOT_WRITTEN)
		fail(r, "unknown filter state");
}

/* INSTANCES: u32 count, per instance u32 flags, the names. */
static int put_instances(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_lines);
	proto_put_bytes(b, rep->instance_flags, sizeof(uint32_t) * rep->n_lines);
	for (uint32_t i = 0; i < rep->n_lines; i++)
		proto_put_str(b, rep->lines[i]);
	return 0;
}

static void get_instances(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_lines = get_count(r, sizeof(uint32_t) + 1, FTIDX_FRAME_MAX);
	rep->instance_flags = get_u32s(r, rep->n_lines, err);
	rep->lines = get_strs(r, rep->n_lines, FTIDX_INSTANCE_MAX, err);
}

/* ---- version 4: filter sessions ---- */

static int put_steps(struct proto_buf *b, const void *msg)
{
	const struct proto_reply *rep = msg;

	proto_put_u32(b, rep->n_steps);
	proto_put_bytes(b, rep->steps, sizeof(*rep->steps) * rep->n_steps);
	return 0;
}

static void get_steps(struct reader *r, void *msg, uint16_t version _unused_, int *err)
{
	struct proto_reply *rep = msg;

	rep->n_steps = get_count(r, sizeof(struct proto_step), FTIDX_SESSION_STEPS_MAX);
	rep->steps = get_array(r, rep->n_steps, sizeof(struct proto_step), err);
}

/* What a write() returns: bytes it took of at most FTIDX_SESSION_WRITE_MAX,
 * or -errno. */
static bool write_result_valid(int32_t result)
{
	return result >= -4095 && result <= (int32_t)FTIDX_SESSION_WRITE_MAX;
}

static void check_session_write_reply(struct reader *r, void *msg, const char **why _unused_)
{
	const struct proto_reply *rep = msg;

	if (!write_result_valid(rep->result))
		fail(r, "a write's result out of range");
	for (uint32_t i = 0; i < rep->n_steps && !r->why; i++) {
		const struct proto_step *st = &rep->steps[i];

		if (st->flags & ~FTIDX_STEP_AT_END)
			fail(r, "unknown step flags");
		else if (!st->len || st->len > FTIDX_SESSION_WRITE_MAX ||
			 !write_result_valid(st->result) ||
			 (st->result >= 0 && (uint32_t)st->result != st->len))
			fail(r, "a step out of range");
	}
}

static void check_session_state_reply(struct reader *r, void *msg, const char **why)
{
	const struct proto_reply *rep = msg;

	if (rep->session_flags & ~FTIDX_SESSION_TRUNCATE)
		fail(r, "unknown session flags");
	if (rep->status == 0 && (rep->session_file < FTIDX_FILE_FILTER ||
				 rep->session_file > FTIDX_FILE_GRAPH_NOTRACE))
		fail(r, "unknown filter file");
	if (rep->session_instance[0] && !proto_instance_name_valid(rep->session_instance, why))
		fail(r, *why);
	if (rep->raw_error > 4095)
		fail(r, "an error out of range");
}

/* What every reply starts with. */
static const struct field reply_fields[] = {
	REP_U32(status), ZERO32, REP_U64(generation), REP_STR(message, FTIDX_FRAME_MAX, 1),
};
static const struct field status_head[] = {
	REP_U32(entries),	 REP_U32(placeholders),
	REP_U32(modules),	 REP_U32(module_entries),
	REP_U32(distinct_names), REP_U32(status_flags),
	REP_U32(clients),	 ZERO32,
	REP_U64(build_ns),	 REP_U64(built_at_ns),
	REP_STR(tracing_dir, 4096, 1), REP_STR(kernel_release, 4096, 1),
	REP_STR(daemon_version, 4096, 1),
};
static const struct field status_tail[] = {
	REP_STR(match_rules, 4096, 1),
	REP_STR(match_rules_how, 4096, 1),
	REP_STR(recovery, 4096, 2),
	REP_STR(published, 4096, 3),
};
static const struct field version_fields[] = {
	REP_U16(proto_version), REP_U16(proto_version_min), REP_U32(role),
	REP_U64(capabilities),	REP_STR(daemon_version, 4096, 1),
};
static const struct field hits_head[] = { REP_U32(enabled) };
static const struct field progress_fields[] = { REP_U32(stage), REP_U32(done), REP_U32(total),
						REP_U64(elapsed_ns) };
static const struct field show_head[] = { REP_U16(holds), ZERO16, REP_U32(ours) };
static const struct field session_reply_fields[] = { REP_U64(session) };
static const struct field session_sync_reply_fields[] = { REP_U32(committed) };
static const struct field session_write_reply_fields[] = { REP_U32(result) };
static const struct field session_state_reply_fields[] = {
	REP_U64(session), REP_U32(session_flags), REP_U16(session_file),
	REP_STR(session_instance, FTIDX_INSTANCE_MAX, 4), REP_U32(raw_error),
};

static const struct codec replies[] = {
	{ FTIDX_MSG_ERROR, NO_FIELDS, NULL, NULL, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_STATUS, FIELDS(status_head), put_status_rest, get_status_rest,
	  FIELDS(status_tail), check_status, put_status_late, get_status_late, 3 },
	{ FTIDX_MSG_RESOLVE, NO_FIELDS, put_resolved, get_resolved, NO_FIELDS, NULL, put_map_state,
	  get_map_state, 4 },
	{ FTIDX_MSG_FILTER, NO_FIELDS, put_resolved, get_resolved, NO_FIELDS, NULL,
	  put_file_counts, get_file_counts, 4 },
	{ FTIDX_MSG_CHANGE, NO_FIELDS, put_changed, get_changed, NO_FIELDS, NULL, put_file_counts,
	  get_file_counts, 4 },
	{ FTIDX_MSG_REMOVE_INSTANCE, NO_FIELDS, NULL, NULL, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_VERSION, FIELDS(version_fields), NULL, NULL, NO_FIELDS, check_version, NO_LATE },
	{ FTIDX_MSG_NAMES, NO_FIELDS, put_names, get_names, NO_FIELDS, NULL, put_map_state,
	  get_map_state, 4 },
	{ FTIDX_MSG_LIST, NO_FIELDS, put_list, get_list, NO_FIELDS, NULL, put_map_state,
	  get_map_state, 4 },
	{ FTIDX_MSG_PROGRESS, FIELDS(progress_fields), NULL, NULL, NO_FIELDS, check_progress,
	  NO_LATE },
	{ FTIDX_MSG_HITS, FIELDS(hits_head), put_hits, get_hits, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_SHOW, FIELDS(show_head), put_shown, get_shown, NO_FIELDS, check_shown,
	  NO_LATE },
	{ FTIDX_MSG_INSTANCES, NO_FIELDS, put_instances, get_instances, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_SESSION, FIELDS(session_reply_fields), NULL, NULL, NO_FIELDS, NULL, NO_LATE },
	{ FTIDX_MSG_SESSION_SYNC, FIELDS(session_sync_reply_fields), NULL, NULL, NO_FIELDS, NULL,
	  NO_LATE },
	{ FTIDX_MSG_SESSION_WRITE, FIELDS(session_write_reply_fields), put_steps, get_steps,
	  NO_FIELDS, check_session_write_reply, NO_LATE },
	{ FTIDX_MSG_SESSION_STATE, FIELDS(session_state_reply_fields), NULL, NULL, NO_FIELDS,
	  check_session_state_reply, NO_LATE },
};

int proto_encode_reply(struct proto_buf *b, uint32_t id, const struct proto_reply *rep)
{
	const struct codec *c = codec_of(replies, ARRAY_SIZE(replies), rep->type);

	if (!c)
		return -EINVAL;
	proto_buf_begin(b, rep->type | FTIDX_MSG_REPLY, id);
	put_fields(b, reply_fields, ARRAY_SIZE(reply_fields), rep);
	put_message(b, c, rep);
	return proto_buf_end(b);
}

int proto_decode_reply(uint16_t version, uint16_t type, const void *body, size_t len,
		       struct proto_reply *rep, const char **why)
{
	struct reader r = { body, (const uint8_t *)body + len, NULL, NULL,
			    version > FTIDX_PROTO_VERSION };
	const struct codec *c;
	int err = 0;

	*rep = (struct proto_reply){ .message = "", .tracing_dir = "", .kernel_release = "",
				     .daemon_version = "", .match_rules = "", .match_rules_how = "",
				     .recovery = "", .published = "", .socket_path = "",
				     .session_instance = "",
				     .daemon_uid = FTIDX_UID_UNKNOWN };
	if (!(type & FTIDX_MSG_REPLY)) {
		*why = "not a reply";
		return -EBADMSG;
	}
	rep->type = type & (uint16_t)~FTIDX_MSG_REPLY;
	get_fields(&r, reply_fields, ARRAY_SIZE(reply_fields), rep, version);
	if (rep->status < 0)
		fail(&r, "negative status");
	c = codec_of(replies, ARRAY_SIZE(replies), rep->type);
	if (c)
		get_message(&r, c, rep, version, &err, why);
	else
		fail(&r, "unknown reply type");
	return finish(&r, err, why);
}

int proto_reply_peek(const void *frame, size_t len, uint16_t *type, int32_t *status,
		     const char **message)
{
	struct ftidx_frame_header h;
	struct reader r;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, frame, sizeof(h));
	if (!(h.type & FTIDX_MSG_REPLY) || h.length != len - sizeof(h))
		return -EBADMSG;
	r = (struct reader){ (const uint8_t *)frame + sizeof(h), (const uint8_t *)frame + len,
			     NULL, NULL, false };
	*type = h.type & (uint16_t)~FTIDX_MSG_REPLY;
	*status = (int32_t)get_u32(&r);
	get_u32(&r);
	get_u64(&r);
	*message = get_str(&r, FTIDX_FRAME_MAX);
	return r.why ? -EBADMSG : 0;
}

void proto_reply_deinit(struct proto_reply *rep)
{
	free(rep->items);
	free(rep->enable);
	free(rep->disable);
	free(rep->reasons);
	free(rep->indices);
	free(rep->line_status);
	free(rep->lines);
	free(rep->filters);
	free(rep->counts);
	free(rep->addresses);
	free(rep->token_sets);
	free(rep->token_set_start);
	free(rep->steps);
	for (uint32_t k = 0; rep->changes && k < rep->n_changes; k++) {
		free(rep->changes[k].enable);
		free(rep->changes[k].disable);
	}
	free(rep->changes);
	free(rep->shown);
	free(rep->instance_flags);
	*rep = (struct proto_reply){ 0 };
}
