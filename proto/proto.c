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
	case FTIDX_MSG_CHANGE:
		proto_put_u64(b, req->generation);
		proto_put_u32(b, req->flags);
		proto_put_str(b, req->instance);
		proto_put_u32(b, req->n_changes);
		for (uint32_t k = 0; k < req->n_changes && k < FTIDX_CHANGES_MAX; k++) {
			const struct proto_change *ch = &req->changes[k];

			if (ch->first_token > req->n_tokens ||
			    ch->n_tokens > req->n_tokens - ch->first_token)
				return -EINVAL;
			proto_put_u16(b, ch->op);
			proto_put_u16(b, ch->file);
			proto_put_u32(b, ch->n_tokens);
			for (uint32_t i = 0; i < ch->n_tokens; i++)
				proto_put_str(b, req->tokens[ch->first_token + i]);
		}
		break;
	case FTIDX_MSG_CANCEL:
		proto_put_u32(b, req->target);
		break;
	case FTIDX_MSG_REMOVE_INSTANCE:
		proto_put_str(b, req->instance);
		break;
	case FTIDX_MSG_VERSION:
		break;
	default:
		return -EINVAL;
	}
	return proto_buf_end(b);
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
static void decode_changes(struct reader *r, struct proto_request *req, int *err)
{
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
		if (req->flags & ~(FTIDX_RESOLVE_LINES | FTIDX_RESOLVE_PER_TOKEN))
			unsupported(&r, "unknown RESOLVE flags");
		req->n_tokens = get_count(&r, 1, FTIDX_BATCH_MAX);
		req->tokens = get_strs(&r, req->n_tokens, FTIDX_FRAME_MAX, &err);
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
		req->tokens = get_strs(&r, req->n_tokens, FTIDX_FRAME_MAX, &err);
		check_change(&r, req->op, req->file, req->n_tokens);
		if (req->flags & ~(FTIDX_FILTER_CREATE_INSTANCE | FTIDX_FILTER_PER_TOKEN))
			unsupported(&r, "unknown FILTER flags");
		check_instance(&r, req->instance, why);
		req->changes[0] = (struct proto_change){ req->op, req->file, 0, req->n_tokens };
		req->n_changes = 1;
		break;
	case FTIDX_MSG_CHANGE:
		req->generation = get_u64(&r);
		req->flags = get_u32(&r);
		req->instance = get_str(&r, FTIDX_INSTANCE_MAX);
		decode_changes(&r, req, &err);
		if (req->flags & ~(FTIDX_FILTER_CREATE_INSTANCE | FTIDX_FILTER_PER_TOKEN))
			unsupported(&r, "unknown CHANGE flags");
		check_instance(&r, req->instance, why);
		break;
	case FTIDX_MSG_CANCEL:
		req->target = get_u32(&r);
		break;
	case FTIDX_MSG_REMOVE_INSTANCE:
		req->instance = get_str(&r, FTIDX_INSTANCE_MAX);
		if (!r.why && !req->instance[0])
			fail(&r, "the top level is no instance");
		check_instance(&r, req->instance, why);
		break;
	case FTIDX_MSG_VERSION:
		break;
	case FTIDX_MSG_HITS:
		req->seconds = get_u32(&r);
		req->flags = get_u32(&r);
		req->instance = get_str(&r, FTIDX_INSTANCE_MAX);
		if (!r.why && (req->seconds < 1 || req->seconds > FTIDX_HITS_MAX_SECONDS))
			fail(&r, "a hit count runs for 1 to " STRINGIFY(FTIDX_HITS_MAX_SECONDS) " seconds");
		if (req->flags)
			unsupported(&r, "unknown HITS flags");
		check_instance(&r, req->instance, why);
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
		proto_put_str(b, rep->recovery ? rep->recovery : "");
		break;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_FILTER:
		put_items(b, rep);
		for (uint32_t i = 0; i < rep->n_lines; i++)
			proto_put_str(b, rep->lines[i]);
		put_token_sets(b, rep);
		break;
	case FTIDX_MSG_CHANGE:
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
		break;
	case FTIDX_MSG_REMOVE_INSTANCE:
		break;
	case FTIDX_MSG_VERSION:
		proto_put_u16(b, rep->proto_version);
		proto_put_u16(b, rep->proto_version_min);
		proto_put_u32(b, rep->role);
		proto_put_u64(b, rep->capabilities);
		proto_put_str(b, rep->daemon_version);
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

int proto_decode_reply(uint16_t version, uint16_t type, const void *body, size_t len,
		       struct proto_reply *rep, const char **why)
{
	struct reader r = { body, (const uint8_t *)body + len, NULL, NULL,
			    version > FTIDX_PROTO_VERSION };
	uint32_t n;
	int err = 0;

	*rep = (struct proto_reply){ .message = "", .tracing_dir = "", .kernel_release = "",
				     .daemon_version = "", .match_rules = "", .match_rules_how = "",
				     .recovery = "" };
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
		if (version >= 2)
			rep->recovery = get_str(&r, 4096);
		break;
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_FILTER:
		decode_items(&r, rep, &err);
		rep->lines = get_strs(&r, rep->n_lines, FTIDX_FRAME_MAX, &err);
		if (version >= 2)
			decode_token_sets(&r, rep, &err);
		break;
	case FTIDX_MSG_CHANGE:
		decode_items(&r, rep, &err);
		if (!r.why && (rep->n_lines || rep->n_enable || rep->n_disable))
			fail(&r, "a change's sets are per file");
		decode_token_sets(&r, rep, &err);
		decode_changes_done(&r, rep, &err);
		break;
	case FTIDX_MSG_REMOVE_INSTANCE:
		break;
	case FTIDX_MSG_VERSION:
		rep->proto_version = get_u16(&r);
		rep->proto_version_min = get_u16(&r);
		rep->role = get_u32(&r);
		rep->capabilities = get_u64(&r);
		rep->daemon_version = get_str(&r, 4096);
		if (!r.why && rep->role > FTIDX_ROLE_WRITE)
			fail(&r, "unknown role");
		if (!r.why && (rep->proto_version_min > rep->proto_version || !rep->proto_version_min))
			fail(&r, "nonsense protocol versions");
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
	free(rep->token_sets);
	free(rep->token_set_start);
	for (uint32_t k = 0; rep->changes && k < rep->n_changes; k++) {
		free(rep->changes[k].enable);
		free(rep->changes[k].disable);
	}
	free(rep->changes);
	*rep = (struct proto_reply){ 0 };
}
