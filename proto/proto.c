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

/* ---- requests ---------------------------------------------------------- */

int proto_encode_request(struct proto_buf *b, uint32_t id, const struct proto_request *req)
{
	proto_buf_begin(b, req->type, id);
	switch (req->type) {
	case FTIDX_MSG_STATUS:
		break;
	case FTIDX_MSG_RESOLVE:
		proto_put_u32(b, req->flags);
		proto_put_u32(b, req->n_tokens);
		for (uint32_t i = 0; i < req->n_tokens; i++)
			proto_put_str(b, req->tokens[i]);
		break;
	case FTIDX_MSG_NAMES:
		proto_put_u32(b, req->n_indices);
		proto_put_bytes(b, req->indices, sizeof(*req->indices) * req->n_indices);
		break;
	case FTIDX_MSG_LIST:
		proto_put_u32(b, req->flags);
		proto_put_str(b, req->module);
		break;
	case FTIDX_MSG_FILTER:
		proto_put_u64(b, req->generation);
		proto_put_u16(b, req->op);
		proto_put_u16(b, req->file);
		proto_put_u32(b, req->flags);
		proto_put_str(b, req->instance);
		proto_put_u32(b, req->n_tokens);
		for (uint32_t i = 0; i < req->n_tokens; i++)
			proto_put_str(b, req->tokens[i]);
		break;
	case FTIDX_MSG_HITS:
		proto_put_u32(b, req->seconds);
		proto_put_u32(b, req->flags);
		proto_put_str(b, req->instance);
		break;
	default:
		return -EINVAL;
	}
	return proto_buf_end(b);
}

int proto_decode_request(uint16_t version, uint16_t type, const void *body, size_t len,
			 struct proto_request *req, const char **why)
{
	struct reader r = { body, (const uint8_t *)body + len, NULL, NULL,
			    version > FTIDX_PROTO_VERSION };
	int err = 0;

	*req = (struct proto_request){ .type = type, .instance = "", .module = "" };
	switch (type) {
	case FTIDX_MSG_STATUS:
		break;
	case FTIDX_MSG_RESOLVE:
		req->flags = get_u32(&r);
		if (req->flags & ~FTIDX_RESOLVE_LINES)
			unsupported(&r, "unknown RESOLVE flags");
		req->n_tokens = get_count(&r, 1, FTIDX_BATCH_MAX);
		req->tokens = get_strs(&r, req->n_tokens, FTIDX_TOKEN_MAX, &err);
		break;
	case FTIDX_MSG_NAMES:
		req->n_indices = get_count(&r, sizeof(uint32_t), FTIDX_BATCH_MAX);
		req->indices = get_u32s(&r, req->n_indices, &err);
		break;
	case FTIDX_MSG_LIST:
		req->flags = get_u32(&r);
		if (req->flags &
		    ~(FTIDX_LIST_PLACEHOLDERS | FTIDX_LIST_MODULE | FTIDX_LIST_ADDRESSES))
			unsupported(&r, "unknown LIST flags");
		req->module = get_str(&r, FTIDX_TOKEN_MAX);
		break;
	case FTIDX_MSG_FILTER:
		req->generation = get_u64(&r);
		req->op = get_u16(&r);
		req->file = get_u16(&r);
		req->flags = get_u32(&r);
		req->instance = get_str(&r, FTIDX_INSTANCE_MAX);
		req->n_tokens = get_count(&r, 1, FTIDX_BATCH_MAX);
		req->tokens = get_strs(&r, req->n_tokens, FTIDX_TOKEN_MAX, &err);
		if (req->op < FTIDX_OP_SET || req->op > FTIDX_OP_CLEAR)
			unsupported(&r, "unknown filter operation");
		if (req->file < FTIDX_FILE_FILTER || req->file > FTIDX_FILE_GRAPH_NOTRACE)
			unsupported(&r, "unknown filter file");
		if (req->flags & ~FTIDX_FILTER_CREATE_INSTANCE)
			unsupported(&r, "unknown FILTER flags");
		if (req->op == FTIDX_OP_CLEAR && req->n_tokens)
			fail(&r, "CLEAR takes no tokens");
		if (req->op != FTIDX_OP_CLEAR && !req->n_tokens)
			fail(&r, "no tokens given");
		if (req->instance[0] && !proto_instance_name_valid(req->instance, why))
			fail(&r, *why);
		break;
	case FTIDX_MSG_HITS:
		req->seconds = get_u32(&r);
		req->flags = get_u32(&r);
		req->instance = get_str(&r, FTIDX_INSTANCE_MAX);
		if (!r.why && (req->seconds < 1 || req->seconds > FTIDX_HITS_MAX_SECONDS))
			fail(&r, "a hit count runs for 1 to " STRINGIFY(FTIDX_HITS_MAX_SECONDS) " seconds");
		if (req->flags)
			unsupported(&r, "unknown HITS flags");
		if (req->instance[0] && !proto_instance_name_valid(req->instance, why))
			fail(&r, *why);
		break;
	default:
		/* the body of a type we do not know is not ours to judge */
		r.p = r.end;
		unsupported(&r, "unknown request type");
		break;
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

int proto_encode_reply(struct proto_buf *b, uint32_t id, const struct proto_reply *rep)
{
	uint16_t type = rep->type == FTIDX_MSG_ERROR ? FTIDX_MSG_ERROR : rep->type;

	proto_buf_begin(b, type | FTIDX_MSG_REPLY, id);
	proto_put_u32(b, (uint32_t)rep->status);
	proto_put_u32(b, 0);
	proto_put_u64(b, rep->generation);
	proto_put_str(b, rep->message);

	switch (type) {
	case FTIDX_MSG_ERROR:
		break;
	case FTIDX_MSG_STATUS:
		proto_put_u32(b, rep->entries);
		proto_put_u32(b, rep->placeholders);
		proto_put_u32(b, rep->modules);
		proto_put_u32(b, rep->module_entries);
		proto_put_u32(b, rep->distinct_names);
		proto_put_u32(b, rep->status_flags);
		proto_put_u32(b, rep->clients);
		proto_put_u32(b, 0);
		proto_put_u64(b, rep->build_ns);
		proto_put_u64(b, rep->built_at_ns);
		proto_put_str(b, rep->tracing_dir);
		proto_put_str(b, rep->kernel_release);
		proto_put_str(b, rep->daemon_version);
		proto_put_u32(b, rep->n_filters);
		for (uint32_t i = 0; i < rep->n_filters; i++) {
			proto_put_u16(b, rep->filters[i].file);
			proto_put_u16(b, rep->filters[i].holds);
			proto_put_u32(b, rep->filters[i].functions);
			proto_put_str(b, rep->filters[i].instance);
		}
		proto_put_str(b, rep->match_rules ? rep->match_rules : "");
		proto_put_str(b, rep->match_rules_how ? rep->match_rules_how : "");
		break;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_FILTER:
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
		for (uint32_t i = 0; i < rep->n_lines; i++)
			proto_put_str(b, rep->lines[i]);
		break;
	case FTIDX_MSG_NAMES:
		proto_put_u32(b, rep->n_lines);
		proto_put_bytes(b, rep->line_status, sizeof(*rep->line_status) * rep->n_lines);
		for (uint32_t i = 0; i < rep->n_lines; i++)
			proto_put_str(b, rep->lines[i]);
		break;
	case FTIDX_MSG_LIST:
		proto_put_u32(b, rep->n_lines);
		proto_put_bytes(b, rep->indices, sizeof(*rep->indices) * rep->n_lines);
		for (uint32_t i = 0; i < rep->n_lines; i++)
			proto_put_str(b, rep->lines[i]);
		proto_put_u32(b, rep->addresses ? rep->n_lines : 0);
		if (rep->addresses)
			proto_put_bytes(b, rep->addresses, sizeof(*rep->addresses) * rep->n_lines);
		break;
	case FTIDX_MSG_HITS:
		proto_put_u32(b, rep->enabled);
		proto_put_u32(b, rep->n_lines);
		proto_put_u64(b, rep->events);
		proto_put_u64(b, rep->lost);
		proto_put_bytes(b, rep->indices, sizeof(*rep->indices) * rep->n_lines);
		proto_put_bytes(b, rep->counts, sizeof(*rep->counts) * rep->n_lines);
		for (uint32_t i = 0; i < rep->n_lines; i++)
			proto_put_str(b, rep->lines[i]);
		break;
	default:
		return -EINVAL;
	}
	return proto_buf_end(b);
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
	rep->lines = get_strs(r, rep->n_lines, FTIDX_FRAME_MAX, err);
}

int proto_decode_reply(uint16_t version, uint16_t type, const void *body, size_t len,
		       struct proto_reply *rep, const char **why)
{
	struct reader r = { body, (const uint8_t *)body + len, NULL, NULL,
			    version > FTIDX_PROTO_VERSION };
	uint32_t n;
	int err = 0;

	*rep = (struct proto_reply){ .message = "", .tracing_dir = "", .kernel_release = "",
				     .daemon_version = "", .match_rules = "", .match_rules_how = "" };
	if (!(type & FTIDX_MSG_REPLY)) {
		*why = "not a reply";
		return -EBADMSG;
	}
	rep->type = type & (uint16_t)~FTIDX_MSG_REPLY;
	rep->status = (int32_t)get_u32(&r);
	get_u32(&r);
	rep->generation = get_u64(&r);
	rep->message = get_str(&r, FTIDX_FRAME_MAX);
	if (rep->status < 0)
		fail(&r, "negative status");

	switch (rep->type) {
	case FTIDX_MSG_ERROR:
		break;
	case FTIDX_MSG_STATUS:
		rep->entries = get_u32(&r);
		rep->placeholders = get_u32(&r);
		rep->modules = get_u32(&r);
		rep->module_entries = get_u32(&r);
		rep->distinct_names = get_u32(&r);
		rep->status_flags = get_u32(&r);
		if (rep->status_flags &
		    ~(FTIDX_STATUS_ADDRESSES | FTIDX_STATUS_TRACEFS | FTIDX_STATUS_STALE))
			fail(&r, "unknown STATUS flags");
		rep->clients = get_u32(&r);
		get_u32(&r);
		rep->build_ns = get_u64(&r);
		rep->built_at_ns = get_u64(&r);
		rep->tracing_dir = get_str(&r, 4096);
		rep->kernel_release = get_str(&r, 4096);
		rep->daemon_version = get_str(&r, 4096);
		rep->n_filters = get_count(&r, 9, FTIDX_BATCH_MAX);
		if (!r.why) {
			rep->filters = calloc(rep->n_filters ? rep->n_filters : 1,
					      sizeof(*rep->filters));
			if (!rep->filters)
				err = -ENOMEM;
		}
		for (uint32_t i = 0; rep->filters && i < rep->n_filters && !r.why; i++) {
			rep->filters[i].file = get_u16(&r);
			rep->filters[i].holds = get_u16(&r);
			rep->filters[i].functions = get_u32(&r);
			rep->filters[i].instance = get_str(&r, FTIDX_INSTANCE_MAX);
			if (rep->filters[i].holds > FTIDX_HOLDS_UNKNOWN)
				fail(&r, "unknown filter state");
			if (rep->filters[i].file < FTIDX_FILE_FILTER ||
			    rep->filters[i].file > FTIDX_FILE_GRAPH_NOTRACE)
				fail(&r, "unknown filter file");
		}
		rep->match_rules = get_str(&r, 4096);
		rep->match_rules_how = get_str(&r, 4096);
		break;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_FILTER:
		decode_items(&r, rep, &err);
		break;
	case FTIDX_MSG_NAMES:
		rep->n_lines = get_count(&r, sizeof(int32_t) + 1, FTIDX_BATCH_MAX);
		rep->line_status = (int32_t *)get_u32s(&r, rep->n_lines, &err);
		rep->lines = get_strs(&r, rep->n_lines, FTIDX_FRAME_MAX, &err);
		break;
	case FTIDX_MSG_LIST:
		rep->n_lines = get_count(&r, sizeof(uint32_t) + 1, FTIDX_FRAME_MAX);
		rep->indices = get_u32s(&r, rep->n_lines, &err);
		rep->lines = get_strs(&r, rep->n_lines, FTIDX_FRAME_MAX, &err);
		n = get_u32(&r);
		if (n != 0 && n != rep->n_lines)
			fail(&r, "addresses do not match the lines");
		else if (n)
			rep->addresses = get_u64s(&r, n, &err);
		break;
	case FTIDX_MSG_HITS:
		rep->enabled = get_u32(&r);
		rep->n_lines = get_count(&r, sizeof(uint32_t) + sizeof(uint64_t) + 1,
					 FTIDX_FRAME_MAX);
		rep->events = get_u64(&r);
		rep->lost = get_u64(&r);
		rep->indices = get_u32s(&r, rep->n_lines, &err);
		rep->counts = get_u64s(&r, rep->n_lines, &err);
		rep->lines = get_strs(&r, rep->n_lines, FTIDX_FRAME_MAX, &err);
		break;
	default:
		fail(&r, "unknown reply type");
		break;
	}
	return finish(&r, err, why);
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
	*rep = (struct proto_reply){ 0 };
}
