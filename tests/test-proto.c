/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The codec: every message survives a round trip, every truncation of a
 * valid body is refused (and never read past), and corrupted fields are
 * refused with a reason.
 */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "proto-equal.h"
#include "proto.h"
#include "testlib.h"

static const char *tokens[] = { "vfs_*", "!type_show", "lo_*:mod:loop", "123" };
static uint32_t indices[] = { 1, 7, 38303 };

static struct proto_request requests[] = {
	{ .type = FTIDX_MSG_STATUS },
	{ .type = FTIDX_MSG_RESOLVE, .flags = FTIDX_RESOLVE_LINES, .tokens = tokens, .n_tokens = 4 },
	{ .type = FTIDX_MSG_NAMES, .indices = indices, .n_indices = 3 },
	{ .type = FTIDX_MSG_LIST, .flags = FTIDX_LIST_MODULE, .module = "loop" },
	{ .type = FTIDX_MSG_FILTER, .generation = 9, .op = FTIDX_OP_ADD, .file = FTIDX_FILE_NOTRACE,
	  .flags = FTIDX_FILTER_CREATE_INSTANCE, .instance = "inst", .tokens = tokens,
	  .n_tokens = 4 },
	{ .type = FTIDX_MSG_HITS, .seconds = 30, .instance = "inst" },
	{ .type = FTIDX_MSG_CHANGE, .generation = 4, .instance = "inst",
	  .flags = FTIDX_FILTER_CREATE_INSTANCE | FTIDX_FILTER_PER_TOKEN, .tokens = tokens,
	  .n_tokens = 4, .n_changes = 3,
	  .changes = { { FTIDX_OP_SET, FTIDX_FILE_FILTER, 0, 3 },
		       { FTIDX_OP_CLEAR, FTIDX_FILE_NOTRACE, 3, 0 },
		       { FTIDX_OP_ADD, FTIDX_FILE_GRAPH, 3, 1 } } },
	{ .type = FTIDX_MSG_CANCEL, .target = 12345 },
	{ .type = FTIDX_MSG_REMOVE_INSTANCE, .instance = "inst" },
	{ .type = FTIDX_MSG_VERSION },
	/* version 4: what a read waits for, progress frames */
	{ .type = FTIDX_MSG_STATUS, .flags = FTIDX_READ_CURRENT | FTIDX_REQ_PROGRESS },
	{ .type = FTIDX_MSG_NAMES, .flags = FTIDX_READ_LAST, .indices = indices, .n_indices = 3 },
	{ .type = FTIDX_MSG_RESOLVE, .flags = FTIDX_READ_CURRENT | FTIDX_REQ_PROGRESS,
	  .tokens = tokens, .n_tokens = 4 },
	{ .type = FTIDX_MSG_LIST, .flags = FTIDX_READ_LAST, .module = "" },
	{ .type = FTIDX_MSG_FILTER, .op = FTIDX_OP_REMOVE, .file = FTIDX_FILE_FILTER,
	  .flags = FTIDX_FILTER_ALLOW_EMPTY | FTIDX_REQ_PROGRESS, .instance = "", .tokens = tokens,
	  .n_tokens = 1 },
	{ .type = FTIDX_MSG_SHOW, .file = FTIDX_FILE_GRAPH, .instance = "inst" },
	{ .type = FTIDX_MSG_INSTANCES },
	/* version 4: filter sessions */
	{ .type = FTIDX_MSG_SESSION, .flags = FTIDX_SESSION_TRUNCATE, .file = FTIDX_FILE_GRAPH,
	  .instance = "inst" },
	{ .type = FTIDX_MSG_SESSION_SYNC, .session = 1ull << 40 },
	{ .type = FTIDX_MSG_SESSION_SYNC, .flags = FTIDX_SYNC_FILE, .file = FTIDX_FILE_NOTRACE },
	{ .type = FTIDX_MSG_SESSION_WRITE, .flags = FTIDX_WRITE_NO_REPLY,
	  .bytes = (const uint8_t *)"vfs_read\0 x\n", .n_bytes = 13 },
	{ .type = FTIDX_MSG_SESSION_STATE, .flags = FTIDX_STATE_TAKE_ERROR },
};

static void check_truncations_refused(uint16_t type, const uint8_t *body, size_t len, bool reply)
{
	/* Each prefix is copied to a buffer of exactly its size, so that
	 * AddressSanitizer catches any read past it. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		const char *why = NULL;
		int r;

		memcpy(copy, body, cut);
		if (reply) {
			struct proto_reply rep;

			r = proto_decode_reply(FTIDX_PROTO_VERSION, type, copy, cut, &rep, &why);
			proto_reply_deinit(&rep);
		} else {
			struct proto_request req;

			r = proto_decode_request(FTIDX_PROTO_VERSION, type, copy, cut, &req, &why);
			proto_request_deinit(&req);
		}
		/* STATUS requests are empty: only the full body is valid */
		if (r == 0 && cut != len) {
			fprintf(stderr, "type %u: a body cut at %zu of %zu was accepted\n", type, cut,
				len);
			CHECK(!"truncated body accepted");
		}
		if (r < 0)
			CHECK(why && why[0]);
		free(copy);
	}
}

static void test_requests(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		const struct proto_request *in = &requests[i];
		struct ftidx_frame_header h;
		struct proto_request out;
		struct proto_buf b;
		const char *why = NULL;

		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_request(&b, 77, in), 0);
		memcpy(&h, b.data, sizeof(h));
		CHECK_EQ_INT(proto_check_header(&h, &why), 0);
		CHECK_EQ_INT(h.id, 77);
		CHECK_EQ_INT(h.length, b.len - sizeof(h));
		CHECK_EQ_INT(proto_decode_request(h.version, h.type, b.data + sizeof(h), h.length,
						  &out, &why),
			     0);
		CHECK_EQ_INT(out.type, in->type);
		CHECK_EQ_INT(out.flags, in->flags);
		CHECK_EQ_INT(out.generation, in->generation);
		CHECK_EQ_INT(out.n_tokens, in->n_tokens);
		for (uint32_t k = 0; k < out.n_tokens; k++)
			CHECK_EQ_STR(out.tokens[k], in->tokens[k]);
		CHECK_EQ_INT(out.n_indices, in->n_indices);
		for (uint32_t k = 0; k < out.n_indices; k++)
			CHECK_EQ_INT(out.indices[k], in->indices[k]);
		if (in->type == FTIDX_MSG_FILTER) {
			CHECK_EQ_INT(out.op, in->op);
			CHECK_EQ_INT(out.file, in->file);
			CHECK_EQ_STR(out.instance, in->instance);
		}
		if (in->type == FTIDX_MSG_LIST)
			CHECK_EQ_STR(out.module, in->module);
		/* and every field at once, the changes and the target among them */
		CHECK(proto_request_equal(in, &out));
		if (in->type == FTIDX_MSG_HITS) {
			CHECK_EQ_INT(out.seconds, in->seconds);
			CHECK_EQ_STR(out.instance, in->instance);
		}
		proto_request_deinit(&out);
		check_truncations_refused(h.type, b.data + sizeof(h), h.length, false);
		proto_buf_deinit(&b);
	}
}

static void test_bad_requests(void)
{
	const char *why;
	struct proto_request req;
	uint8_t buf[64];
	uint32_t v;

	/* unknown RESOLVE flag: a later version's, refused but not malformed */
	v = 0x80;
	memcpy(buf, &v, 4);
	v = 0;
	memcpy(buf + 4, &v, 4);
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_RESOLVE, buf, 8, &req, &why),
		     -EOPNOTSUPP);
	proto_request_deinit(&req);
	/* a count far beyond the body is refused before any allocation */
	v = 0;
	memcpy(buf, &v, 4);
	v = 999999;
	memcpy(buf + 4, &v, 4);
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_RESOLVE, buf, 8, &req, &why),
		     -EBADMSG);
	proto_request_deinit(&req);
	v = 0xffffffff;
	memcpy(buf, &v, 4);
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_NAMES, buf, 4, &req, &why),
		     -EBADMSG);
	proto_request_deinit(&req);

	/* HITS: 0 or too many seconds, unknown flags, a hostile instance name */
	{
		const struct {
			uint32_t seconds, flags;
			const char *instance;
		} bad[] = { { 0, 0, "" }, { FTIDX_HITS_MAX_SECONDS + 1, 0, "" }, { 5, 1, "" },
			    { 5, 0, "../../x" }, { 5, 0, ".hidden" } };

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			struct proto_request hreq = { .type = FTIDX_MSG_HITS, .seconds = bad[i].seconds,
						      .flags = bad[i].flags,
						      .instance = bad[i].instance };
			struct proto_buf b;

			proto_buf_init(&b);
			CHECK_EQ_INT(proto_encode_request(&b, 1, &hreq), 0);
			why = NULL;
			/* a flag of a later version is not malformed, but not ours */
			CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_HITS,
							  b.data + 16, b.len - 16, &req, &why),
				     bad[i].flags ? -EOPNOTSUPP : -EBADMSG);
			CHECK(why && why[0]);
			proto_request_deinit(&req);
			proto_buf_deinit(&b);
		}
	}

	/* FILTER: bad op, bad file, CLEAR with tokens, SET without, bad instance */
	{
		struct proto_request f = requests[4];
		const struct {
			uint16_t op, file;
			uint32_t n;
			const char *instance;
		} bad[] = {
			{ 9, FTIDX_FILE_FILTER, 1, "" },
			{ FTIDX_OP_SET, 9, 1, "" },
			{ FTIDX_OP_CLEAR, FTIDX_FILE_FILTER, 1, "" },
			{ FTIDX_OP_SET, FTIDX_FILE_FILTER, 0, "" },
			{ FTIDX_OP_SET, FTIDX_FILE_FILTER, 1, ".." },
			{ FTIDX_OP_SET, FTIDX_FILE_FILTER, 1, "a/b" },
			{ FTIDX_OP_SET, FTIDX_FILE_FILTER, 1, "a b" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			struct proto_buf b;

			f.op = bad[i].op;
			f.file = bad[i].file;
			f.n_tokens = bad[i].n;
			f.instance = bad[i].instance;
			proto_buf_init(&b);
			CHECK_EQ_INT(proto_encode_request(&b, 1, &f), 0);
			/* an op or file of a later version: not ours, not malformed */
			CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_FILTER,
							  b.data + 16, b.len - 16, &req, &why),
				     i < 2 ? -EOPNOTSUPP : -EBADMSG);
			proto_request_deinit(&req);
			proto_buf_deinit(&b);
		}
	}

	/* version 4: sessions with a bad file, flags of a later version, a
	 * sync that names nothing, writes of nothing or of too much, and a
	 * write's reply whose steps do not add up */
	{
		static uint8_t bytes[FTIDX_SESSION_WRITE_MAX + 1];
		const struct {
			struct proto_request req;
			int expect;
		} bad[] = {
			{ { .type = FTIDX_MSG_SESSION, .file = 9 }, -EOPNOTSUPP },
			{ { .type = FTIDX_MSG_SESSION, .file = 1, .flags = 2 }, -EOPNOTSUPP },
			{ { .type = FTIDX_MSG_SESSION, .file = 1, .instance = "../x" }, -EBADMSG },
			{ { .type = FTIDX_MSG_SESSION_SYNC }, -EBADMSG },
			{ { .type = FTIDX_MSG_SESSION_SYNC, .flags = FTIDX_SYNC_FILE, .file = 5 },
			  -EOPNOTSUPP },
			{ { .type = FTIDX_MSG_SESSION_WRITE, .bytes = bytes, .n_bytes = 0 }, -EBADMSG },
			{ { .type = FTIDX_MSG_SESSION_WRITE, .bytes = bytes,
			    .n_bytes = FTIDX_SESSION_WRITE_MAX + 1 },
			  -EBADMSG },
			{ { .type = FTIDX_MSG_SESSION_WRITE, .flags = 4, .bytes = bytes, .n_bytes = 1 },
			  -EOPNOTSUPP },
			{ { .type = FTIDX_MSG_SESSION_STATE, .flags = 4 }, -EOPNOTSUPP },
		};
		struct proto_step steps[] = { { 3, 2, 0 } };
		struct proto_reply wrong = { .type = FTIDX_MSG_SESSION_WRITE, .message = "",
					     .result = 1, .steps = steps, .n_steps = 1 }, out;
		struct proto_buf b;

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			proto_buf_init(&b);
			CHECK_EQ_INT(proto_encode_request(&b, 1, &bad[i].req), 0);
			CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, bad[i].req.type,
							  b.data + 16, b.len - 16, &req, &why),
				     bad[i].expect);
			proto_request_deinit(&req);
			proto_buf_deinit(&b);
		}
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_reply(&b, 1, &wrong), 0);
		CHECK_EQ_INT(proto_decode_reply(FTIDX_PROTO_VERSION,
						FTIDX_MSG_SESSION_WRITE | FTIDX_MSG_REPLY, b.data + 16,
						b.len - 16, &out, &why),
			     -EBADMSG);
		proto_reply_deinit(&out);
		proto_buf_deinit(&b);
	}

	/* a token longer than the limit is the daemon's to refuse, on its own:
	 * the frame is fine */
	{
		char *big = malloc(FTIDX_TOKEN_MAX + 2);
		const char *one[] = { big };
		struct proto_request r = { .type = FTIDX_MSG_RESOLVE, .tokens = one, .n_tokens = 1 };
		struct proto_buf b;

		memset(big, 'a', FTIDX_TOKEN_MAX + 1);
		big[FTIDX_TOKEN_MAX + 1] = '\0';
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_request(&b, 1, &r), 0);
		CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_RESOLVE, b.data + 16,
						  b.len - 16, &req, &why),
			     0);
		CHECK_EQ_INT(req.n_tokens, 1);
		CHECK_EQ_INT(strlen(req.tokens[0]), FTIDX_TOKEN_MAX + 1);
		proto_request_deinit(&req);
		proto_buf_deinit(&b);
		free(big);
	}

	/* headers */
	{
		struct ftidx_frame_header h = { FTIDX_PROTO_MAGIC, FTIDX_PROTO_VERSION,
						FTIDX_MSG_STATUS, 1, 0 };

		CHECK_EQ_INT(proto_check_header(&h, &why), 0);
		h.length = FTIDX_FRAME_MAX + 1;
		CHECK_EQ_INT(proto_check_header(&h, &why), -EMSGSIZE);
		h.length = 0;
		h.version = 0;
		CHECK_EQ_INT(proto_check_header(&h, &why), -EPROTONOSUPPORT);
		h.version = FTIDX_PROTO_VERSION + 1; /* a later version is framed the same */
		CHECK_EQ_INT(proto_check_header(&h, &why), 0);
		h.type = 42; /* so is a type of a later version */
		CHECK_EQ_INT(proto_check_header(&h, &why), 0);
		h.type = FTIDX_MSG_STATUS;
		h.version = 1;
		h.magic = 0;
		CHECK_EQ_INT(proto_check_header(&h, &why), -EBADMSG);
		h.magic = FTIDX_PROTO_MAGIC;
		h.type = 0;
		CHECK_EQ_INT(proto_check_header(&h, &why), -EBADMSG);
	}
}

static void test_replies(void)
{
	struct proto_item items[] = { { 0, 17 }, { ENOENT, 0 }, { 0, 3 } };
	uint32_t enable[] = { 4, 9, 11 }, disable[] = { 5 };
	const char *reasons[] = { "matches no function" };
	const char *lines[] = { "a", "b [m]", "c" };
	int32_t line_status[] = { 0, 0, ERANGE };
	uint64_t counts[] = { 5000, 11, 1 };
	uint64_t addresses[] = { 0xffffffff81000000ull, 0, 0xffffffffc0a01234ull };
	struct proto_filter_state filters[] = {
		{ "", FTIDX_FILE_FILTER, FTIDX_HOLDS_YES, 17, 2, 1 },
		{ "inst", FTIDX_FILE_NOTRACE, FTIDX_HOLDS_NO, 3, 0, 4 },
	};
	/* per token: {4, 9}, nothing (refused), {11} */
	uint32_t sets[] = { 4, 9, 11 }, set_start[] = { 0, 2, 2, 3 };
	struct proto_step steps[] = { { 4, 4, 0 }, { 7, -EINVAL, 0 }, { 2, 2, FTIDX_STEP_AT_END } };
	struct proto_change_result changes[] = {
		{ FTIDX_OP_SET, FTIDX_FILE_FILTER, 3, enable, disable, 3, 1 },
		{ FTIDX_OP_CLEAR, FTIDX_FILE_NOTRACE, 1, NULL, NULL, 0, 0 },
	};
	struct proto_shown shown[] = { { FTIDX_SHOWN_FUNCTION, FTIDX_SHOWN_OURS, 4 },
				       { FTIDX_SHOWN_FUNCTION, 0, 0 },
				       { FTIDX_SHOWN_PROBE, 0, 0 } };
	uint32_t instance_flags[] = { FTIDX_INSTANCE_CREATED, 0, 0 };
	struct proto_reply in[] = {
		{ .type = FTIDX_MSG_STATUS, .generation = 3, .message = "", .entries = 38252,
		  .placeholders = 597, .tracing_dir = "/sys/kernel/tracing",
		  .kernel_release = "6.1.0", .daemon_version = "0.1.0",
		  .match_rules = "class-takes-nul", .match_rules_how = "probed",
		  .recovery = "recovered an interrupted write", .modules = 2,
		  .published = "/run/ftidx/available_filter_functions",
		  .module_entries = 51, .distinct_names = 36000, .status_flags = FTIDX_STATUS_TRACEFS,
		  .clients = 4, .build_ns = 12345678, .built_at_ns = 1700000000000000000ull,
		  .filters = filters, .n_filters = 2, .daemon_uid = 65534, .published_generation = 2, .daemon_pid = 4242,
		  .started_at_ns = 1699999999000000000ull, .uptime_ns = 1000000001ull,
		  .socket_path = "/run/ftidx/ftidxd.sock" },
		{ .type = FTIDX_MSG_RESOLVE, .status = EINVAL, .generation = 3, .message = "1 of 3",
		  .map_flags = FTIDX_MAP_BEHIND, .newest_generation = 5,
		  .items = items, .n_items = 3, .n_failed = 1, .enable = enable, .n_enable = 3,
		  .disable = disable, .n_disable = 1, .reasons = reasons, .lines = lines,
		  .n_lines = 3 },
		{ .type = FTIDX_MSG_FILTER, .generation = 3, .message = "", .items = items,
		  .n_items = 3, .n_failed = 1, .enable = enable, .n_enable = 3, .reasons = reasons,
		  .written = 3, .file_counts = { { 1, 3, 3, 1 } }, .n_file_counts = 1 },
		{ .type = FTIDX_MSG_NAMES, .message = "", .line_status = line_status, .lines = lines,
		  .n_lines = 3, .map_flags = FTIDX_MAP_BEHIND, .newest_generation = 2 },
		{ .type = FTIDX_MSG_LIST, .message = "", .indices = enable, .lines = lines,
		  .n_lines = 3 },
		{ .type = FTIDX_MSG_LIST, .message = "", .indices = enable, .lines = lines,
		  .addresses = addresses, .n_lines = 3 },
		{ .type = FTIDX_MSG_HITS, .message = "", .enabled = 4, .events = 5012,
		  .lost = 7, .indices = enable, .counts = counts, .lines = lines, .n_lines = 3 },
		{ .type = FTIDX_MSG_ERROR, .status = EBADMSG, .message = "bad magic" },
		{ .type = FTIDX_MSG_RESOLVE, .generation = 3, .message = "", .items = items,
		  .n_items = 3, .n_failed = 1, .enable = enable, .n_enable = 3, .reasons = reasons,
		  .token_sets = sets, .token_set_start = set_start, .n_token_sets = 3,
		  .newest_generation = 3 },
		{ .type = FTIDX_MSG_PROGRESS, .generation = 3, .message = "reading the map anew",
		  .stage = FTIDX_PROGRESS_RESOLVE, .done = 500, .total = 20000,
		  .elapsed_ns = 1500000000 },
		{ .type = FTIDX_MSG_CHANGE, .status = 0, .generation = 3, .message = "",
		  .items = items, .n_items = 3, .n_failed = 1, .reasons = reasons, .written = 4,
		  .token_sets = sets, .token_set_start = set_start, .n_token_sets = 3,
		  .changes = changes, .n_changes = 2,
		  .file_counts = { { FTIDX_COUNT_UNKNOWN, 3, FTIDX_COUNT_UNKNOWN,
				     FTIDX_COUNT_UNKNOWN }, { 7, 0, 0, 7 } },
		  .n_file_counts = 2 },
		{ .type = FTIDX_MSG_CHANGE, .status = ESTALE, .message = "stale" },
		{ .type = FTIDX_MSG_VERSION, .message = "", .proto_version = 2,
		  .proto_version_min = 1, .role = FTIDX_ROLE_WRITE,
		  .capabilities = FTIDX_CAP_CHANGE | FTIDX_CAP_HITS, .daemon_version = "0.3.0" },
		{ .type = FTIDX_MSG_REMOVE_INSTANCE, .status = EPERM, .message = "not ours" },
		{ .type = FTIDX_MSG_SHOW, .message = "", .holds = FTIDX_HOLDS_NO, .ours = 2,
		  .shown = shown, .lines = lines, .n_lines = 3 },
		{ .type = FTIDX_MSG_SHOW, .message = "", .holds = FTIDX_HOLDS_NOT_WRITTEN },
		{ .type = FTIDX_MSG_INSTANCES, .message = "", .instance_flags = instance_flags,
		  .lines = lines, .n_lines = 3 },
		/* version 4: filter sessions */
		{ .type = FTIDX_MSG_SESSION, .message = "", .session = 77 },
		{ .type = FTIDX_MSG_SESSION, .status = EUSERS, .message = "too many" },
		{ .type = FTIDX_MSG_SESSION_SYNC, .message = "", .committed = 3 },
		{ .type = FTIDX_MSG_SESSION_WRITE, .message = "", .result = 9, .steps = steps,
		  .n_steps = 3 },
		{ .type = FTIDX_MSG_SESSION_WRITE, .message = "", .result = -EINVAL },
		{ .type = FTIDX_MSG_SESSION_STATE, .message = "", .session = 5,
		  .session_flags = FTIDX_SESSION_TRUNCATE, .session_file = FTIDX_FILE_GRAPH_NOTRACE,
		  .session_instance = "inst", .raw_error = EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		struct proto_reply out;
		struct proto_buf b;
		struct ftidx_frame_header h;
		const char *why;

		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_reply(&b, 5, &in[i]), 0);
		memcpy(&h, b.data, sizeof(h));
		CHECK_EQ_INT(proto_check_header(&h, &why), 0);
		CHECK_EQ_INT(proto_decode_reply(h.version, h.type, b.data + 16, h.length, &out, &why), 0);
		/* every field of the message, not just its counts */
		CHECK(proto_reply_equal(&in[i], &out));
		proto_reply_deinit(&out);
		if (in[i].type != FTIDX_MSG_ERROR)
			check_truncations_refused(h.type, b.data + 16, h.length, true);
		proto_buf_deinit(&b);
	}
}

/*
 * Frames of a later version: fields appended to a body are skipped, a
 * type this version does not know is refused alone (-EOPNOTSUPP); from
 * a peer of this version or older, trailing bytes are malformed.
 */
static void test_versions(void)
{
	const char *one[] = { "vfs_read" };
	struct proto_request in = { .type = FTIDX_MSG_RESOLVE, .flags = FTIDX_RESOLVE_LINES,
				    .tokens = one, .n_tokens = 1 };
	struct proto_reply rin = { .type = FTIDX_MSG_NAMES, .message = "" };
	const uint8_t future[] = { 1, 2, 3, 4, 5 };
	struct proto_request req;
	struct proto_reply rep;
	struct proto_buf b;
	const char *why;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 1, &in), 0);
	proto_put_bytes(&b, future, sizeof(future));
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION + 1, FTIDX_MSG_RESOLVE, b.data + 16,
					  b.len - 16, &req, &why),
		     0);
	CHECK(proto_request_equal(&in, &req));
	proto_request_deinit(&req);
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION, FTIDX_MSG_RESOLVE, b.data + 16,
					  b.len - 16, &req, &why),
		     -EBADMSG);
	proto_request_deinit(&req);
	CHECK_EQ_INT(proto_decode_request(FTIDX_PROTO_VERSION + 1, 42, b.data + 16, b.len - 16,
					  &req, &why),
		     -EOPNOTSUPP);
	CHECK_EQ_STR(why, "unknown request type");
	proto_request_deinit(&req);
	proto_buf_deinit(&b);

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &rin), 0);
	proto_put_bytes(&b, future, sizeof(future));
	CHECK_EQ_INT(proto_decode_reply(FTIDX_PROTO_VERSION + 1, FTIDX_MSG_NAMES | FTIDX_MSG_REPLY,
					b.data + 16, b.len - 16, &rep, &why),
		     0);
	CHECK(proto_reply_equal(&rin, &rep));
	proto_reply_deinit(&rep);
	CHECK_EQ_INT(proto_decode_reply(FTIDX_PROTO_VERSION, FTIDX_MSG_NAMES | FTIDX_MSG_REPLY,
					b.data + 16, b.len - 16, &rep, &why),
		     -EBADMSG);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);
}

/*
 * Version 3's addition: STATUS's per-filter probes and module patterns,
 * after everything else. A version 2 daemon's reply ends before them and
 * decodes with none; a version 2 client skips them (bytes at the end).
 */
#define PUBLISHED "/run/ftidx/available_filter_functions"
/* version 4's pid, start, uptime and an empty socket path */
#define V4_STATUS_BYTES (4 + 8 + 8 + 1)

static void test_version_3(void)
{
	struct proto_filter_state filters[] = { { "", FTIDX_FILE_FILTER, FTIDX_HOLDS_YES, 3, 1, 2 } };
	struct proto_reply in = { .type = FTIDX_MSG_STATUS, .message = "", .tracing_dir = "",
				  .kernel_release = "", .daemon_version = "", .match_rules = "",
				  .match_rules_how = "", .recovery = "", .published = PUBLISHED,
				  .filters = filters, .n_filters = 1 },
			   rep;
	struct proto_buf b;
	const char *why;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &in), 0);
	/* as a version 3 daemon sent it: without version 4's uid and
	 * published generation */
	b.len -= 4 + 8;
	CHECK_EQ_INT(proto_decode_reply(3, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - V4_STATUS_BYTES, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.daemon_uid, FTIDX_UID_UNKNOWN);
	CHECK_EQ_INT(rep.filters[0].probes, 1);
	CHECK_EQ_INT(rep.filters[0].module_patterns, 2);
	CHECK_EQ_STR(rep.published, "/run/ftidx/available_filter_functions");
	proto_reply_deinit(&rep);
	/* a version 2 daemon's: no path, and 8 bytes fewer (and none of
	 * version 4's pid, times and empty socket) */
	CHECK_EQ_INT(proto_decode_reply(2, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - V4_STATUS_BYTES - 8 - sizeof(PUBLISHED), &rep,
					&why),
		     0);
	CHECK_EQ_INT(rep.filters[0].functions, 3);
	CHECK_EQ_INT(rep.filters[0].probes, 0);
	CHECK_EQ_STR(rep.published, "");
	proto_reply_deinit(&rep);
	/* ...and from a version 3 daemon, cut short, it is refused */
	CHECK_EQ_INT(proto_decode_reply(3, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - V4_STATUS_BYTES - 8, &rep, &why),
		     -EBADMSG);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);
}

/*
 * Version 4's addition: the uid ftidxd runs as, after version 3's fields
 * of STATUS. A version 3 client skips it (bytes at the end of a later
 * version's frame); a version 4 reply cut short is refused.
 */
static void test_version_4(void)
{
	struct proto_filter_state filters[] = { { "i", FTIDX_FILE_NOTRACE, FTIDX_HOLDS_NO, 3, 1, 2 } };
	struct proto_reply in = { .type = FTIDX_MSG_STATUS, .message = "", .tracing_dir = "",
				  .kernel_release = "", .daemon_version = "", .match_rules = "",
				  .match_rules_how = "", .recovery = "", .published = PUBLISHED,
				  .filters = filters, .n_filters = 1, .daemon_uid = 0,
				  .published_generation = 7 },
			   rep;
	struct proto_buf b;
	const char *why;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &in), 0);
	CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.daemon_uid, 0); /* root's, not "unknown" */
	CHECK_EQ_INT(rep.published_generation, 7);
	CHECK_EQ_INT(rep.filters[0].module_patterns, 2);
	proto_reply_deinit(&rep);
	/* version 4's end of STATUS comes whole, or not at all */
	for (size_t cut = 4; cut <= 8; cut += 4) {
		CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY,
						b.data + 16, b.len - 16 - cut, &rep, &why),
			     -EBADMSG);
		proto_reply_deinit(&rep);
	}
	proto_buf_deinit(&b);
}

/*
 * Version 2's additions: a version 1 daemon's RESOLVE reply has no
 * per-token sets and still decodes; a CHANGE must name each file once,
 * one to four of them; REMOVE_INSTANCE takes a valid instance name only.
 */
static void test_version_2(void)
{
	struct proto_reply rin = { .type = FTIDX_MSG_RESOLVE, .message = "" }, rep;
	const char *one[] = { "vfs_read" }, *why;
	struct proto_request req;
	struct proto_buf b;
	struct {
		uint16_t files[5];
		uint32_t n;
	} bad_changes[] = {
		{ { FTIDX_FILE_FILTER, FTIDX_FILE_FILTER }, 2 },
		{ { 0 }, 0 },
		{ { 1, 2, 3, 4, 1 }, 5 },
	};

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &rin), 0);
	/* version 1 ended before the 8 bytes of (empty) per-token sets (and
	 * version 4's map state after them) */
	CHECK_EQ_INT(proto_decode_reply(1, FTIDX_MSG_RESOLVE | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - 8 - PROTO_MAP_STATE_SIZE, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.n_token_sets, 0);
	proto_reply_deinit(&rep);
	CHECK_EQ_INT(proto_decode_reply(2, FTIDX_MSG_RESOLVE | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - 8 - PROTO_MAP_STATE_SIZE, &rep, &why),
		     -EBADMSG);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);

	for (size_t i = 0; i < ARRAY_SIZE(bad_changes); i++) {
		proto_buf_init(&b);
		proto_buf_begin(&b, FTIDX_MSG_CHANGE, 1);
		proto_put_u64(&b, 0);
		proto_put_u32(&b, 0);
		proto_put_str(&b, "");
		proto_put_u32(&b, bad_changes[i].n);
		for (uint32_t k = 0; k < bad_changes[i].n; k++) {
			proto_put_u16(&b, FTIDX_OP_SET);
			proto_put_u16(&b, bad_changes[i].files[k]);
			proto_put_u32(&b, 1);
			proto_put_str(&b, one[0]);
		}
		CHECK_EQ_INT(proto_buf_end(&b), 0);
		CHECK_EQ_INT(proto_decode_request(2, FTIDX_MSG_CHANGE, b.data + 16, b.len - 16, &req,
						  &why),
			     -EBADMSG);
		CHECK(why && why[0]);
		proto_request_deinit(&req);
		proto_buf_deinit(&b);
	}

	for (int i = 0; i < 2; i++) {
		proto_buf_init(&b);
		proto_buf_begin(&b, FTIDX_MSG_REMOVE_INSTANCE, 1);
		proto_put_str(&b, i ? "../escape" : "");
		CHECK_EQ_INT(proto_buf_end(&b), 0);
		CHECK_EQ_INT(proto_decode_request(2, FTIDX_MSG_REMOVE_INSTANCE, b.data + 16,
						  b.len - 16, &req, &why),
			     -EBADMSG);
		proto_request_deinit(&req);
		proto_buf_deinit(&b);
	}
}

/* Encode @rep, then decode it as from a daemon of protocol @version with
 * the last @cut bytes taken off: the decoder's status. */
static int decode_cut(const struct proto_reply *rep, uint16_t version, size_t cut,
		      struct proto_reply *out)
{
	struct proto_buf b;
	const char *why;
	int r;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, rep), 0);
	r = proto_decode_reply(version, rep->type | FTIDX_MSG_REPLY, b.data + 16, b.len - 16 - cut,
			       out, &why);
	proto_buf_deinit(&b);
	return r;
}

/*
 * Version 4: a read's map state after everything else (a version 3
 * daemon's reply has none: not behind, the newest map the one answered
 * from); the flags of NAMES and STATUS after what version 1 had; both
 * read flags at once, and unknown map state flags or progress stages,
 * refused.
 */
static void test_version_4_map_state(void)
{
	struct proto_reply in = { .type = FTIDX_MSG_LIST, .generation = 4, .message = "",
				  .map_flags = FTIDX_MAP_BEHIND, .newest_generation = 4 },
			   out;
	struct proto_request req;
	struct proto_buf b;
	const char *why;
	uint32_t both = FTIDX_READ_CURRENT | FTIDX_READ_LAST;

	CHECK_EQ_INT(decode_cut(&in, 3, PROTO_MAP_STATE_SIZE, &out), 0);
	CHECK_EQ_INT(out.map_flags, 0);
	CHECK_EQ_INT(out.newest_generation, 0);
	proto_reply_deinit(&out);
	CHECK_EQ_INT(decode_cut(&in, 4, PROTO_MAP_STATE_SIZE, &out), -EBADMSG);
	proto_reply_deinit(&out);
	in.map_flags = 0x2;
	CHECK_EQ_INT(decode_cut(&in, 4, 0, &out), -EBADMSG);
	proto_reply_deinit(&out);
	in = (struct proto_reply){ .type = FTIDX_MSG_PROGRESS, .message = "", .stage = 4 };
	CHECK_EQ_INT(decode_cut(&in, 4, 0, &out), -EBADMSG);
	proto_reply_deinit(&out);

	/* NAMES and STATUS of a version 3 client: no flags field */
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_request(&b, 1, &requests[2]), 0);
	CHECK_EQ_INT(proto_decode_request(3, FTIDX_MSG_NAMES, b.data + 16, b.len - 16 - 4, &req,
					  &why),
		     0);
	CHECK_EQ_INT(req.n_indices, 3);
	CHECK_EQ_INT(req.flags, 0);
	proto_request_deinit(&req);
	proto_buf_deinit(&b);
	CHECK_EQ_INT(proto_decode_request(3, FTIDX_MSG_STATUS, "", 0, &req, &why), 0);
	proto_request_deinit(&req);
	/* both read flags */
	CHECK_EQ_INT(proto_decode_request(4, FTIDX_MSG_STATUS, &both, 4, &req, &why), -EBADMSG);
	CHECK_EQ_STR(why, "a read waits for the current map or takes the last one, not both");
	proto_request_deinit(&req);
	both |= 0x100000; /* and one no version knows: refused alone */
	both &= ~FTIDX_READ_LAST;
	CHECK_EQ_INT(proto_decode_request(4, FTIDX_MSG_STATUS, &both, 4, &req, &why), -EOPNOTSUPP);
	proto_request_deinit(&req);
}

/*
 * Version 4's additions: STATUS's daemon pid, start, uptime and socket
 * and FILTER's file counts come after everything else: a version 3
 * daemon's replies end before them and decode with none; cut short from
 * a version 4 daemon, they are refused. Counts of a number of files a
 * change did not name, a line of a kind no version has, and a SHOW of a
 * file no version has are refused; a peek at a reply finds its status and
 * message.
 */
static void test_version_4_daemon(void)
{
	struct proto_reply st = { .type = FTIDX_MSG_STATUS, .message = "", .daemon_pid = 7,
				  .started_at_ns = 5, .uptime_ns = 6, .socket_path = "/s" },
			   fi = { .type = FTIDX_MSG_FILTER, .status = EINVAL, .message = "why",
				  .file_counts = { { 1, 2, 1, 0 } }, .n_file_counts = 1 },
			   rep;
	struct proto_shown odd = { 4, 0, 0 };
	const char *line = "x", *why, *msg;
	struct proto_buf b;
	uint16_t type;
	int32_t status;

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &st), 0);
	CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.daemon_pid, 7);
	CHECK_EQ_STR(rep.socket_path, "/s");
	proto_reply_deinit(&rep);
	CHECK_EQ_INT(proto_decode_reply(3, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - 4 - 8 - 4 - 8 - 8 - 3, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.daemon_pid, 0);
	CHECK_EQ_STR(rep.socket_path, "");
	proto_reply_deinit(&rep);
	CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_STATUS | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - 4 - 8 - 8 - 3, &rep, &why),
		     -EBADMSG);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);

	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 9, &fi), 0);
	CHECK_EQ_INT(proto_reply_peek(b.data, b.len, &type, &status, &msg), 0);
	CHECK_EQ_INT(type, FTIDX_MSG_FILTER);
	CHECK_EQ_INT(status, EINVAL);
	CHECK_EQ_STR(msg, "why");
	CHECK_EQ_INT(proto_reply_peek(b.data, b.len - 1, &type, &status, &msg), -EBADMSG);
	CHECK_EQ_INT(proto_decode_reply(3, FTIDX_MSG_FILTER | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16 - 4 - 16, &rep, &why),
		     0);
	CHECK_EQ_INT(rep.n_file_counts, 0);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);
	/* two files' counts for a FILTER, which writes one */
	fi.n_file_counts = 2;
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 9, &fi), 0);
	CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_FILTER | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16, &rep, &why),
		     -EBADMSG);
	CHECK_EQ_STR(why, "file counts do not match the files");
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);

	st = (struct proto_reply){ .type = FTIDX_MSG_SHOW, .message = "", .shown = &odd,
				   .lines = &line, .n_lines = 1 };
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_encode_reply(&b, 1, &st), 0);
	CHECK_EQ_INT(proto_decode_reply(4, FTIDX_MSG_SHOW | FTIDX_MSG_REPLY, b.data + 16,
					b.len - 16, &rep, &why),
		     -EBADMSG);
	proto_reply_deinit(&rep);
	proto_buf_deinit(&b);

	{
		struct proto_request show = { .type = FTIDX_MSG_SHOW, .file = 9, .instance = "" },
				     req;

		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_request(&b, 1, &show), 0);
		CHECK_EQ_INT(proto_decode_request(4, FTIDX_MSG_SHOW, b.data + 16, b.len - 16, &req,
						  &why),
			     -EOPNOTSUPP);
		proto_request_deinit(&req);
		proto_buf_deinit(&b);
	}
}

/* A reply field the client would index with is checked by the decoder. */
static void test_reply_enums(void)
{
	struct proto_filter_state filters[] = { { "", FTIDX_FILE_FILTER, FTIDX_HOLDS_YES, 3 } };
	const uint16_t bad_files[] = { 0, FTIDX_FILE_GRAPH_NOTRACE + 1, 0xffff };
	struct proto_reply in = { .type = FTIDX_MSG_STATUS, .message = "", .tracing_dir = "",
				  .kernel_release = "", .daemon_version = "", .filters = filters,
				  .n_filters = 1 };

	for (size_t i = 0; i <= ARRAY_SIZE(bad_files); i++) {
		struct ftidx_frame_header h;
		struct proto_reply out;
		struct proto_buf b;
		const char *why = NULL;
		int r;

		filters[0].file = i < ARRAY_SIZE(bad_files) ? bad_files[i] : FTIDX_FILE_GRAPH;
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_reply(&b, 1, &in), 0);
		memcpy(&h, b.data, sizeof(h));
		r = proto_decode_reply(h.version, h.type, b.data + 16, h.length, &out, &why);
		if (i < ARRAY_SIZE(bad_files)) {
			CHECK_EQ_INT(r, -EBADMSG);
			CHECK_EQ_STR(why, "unknown filter file");
		} else {
			CHECK_EQ_INT(r, 0);
			CHECK_EQ_INT(out.filters[0].file, FTIDX_FILE_GRAPH);
		}
		proto_reply_deinit(&out);
		proto_buf_deinit(&b);
	}
	in.n_filters = 0;
	in.status_flags = 0x80;
	{
		struct ftidx_frame_header h;
		struct proto_reply out;
		struct proto_buf b;
		const char *why = NULL;

		proto_buf_init(&b);
		CHECK_EQ_INT(proto_encode_reply(&b, 1, &in), 0);
		memcpy(&h, b.data, sizeof(h));
		CHECK_EQ_INT(proto_decode_reply(h.version, h.type, b.data + 16, h.length, &out, &why), -EBADMSG);
		proto_reply_deinit(&out);
		proto_buf_deinit(&b);
	}
}

/* Each type has its name in logs, a reply's too; what this side does not
 * know is "?". */
static void test_type_names(void)
{
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_FILTER), "FILTER");
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_VERSION | FTIDX_MSG_REPLY), "VERSION");
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_ERROR), "ERROR");
	CHECK_EQ_STR(proto_type_name(0), "?");
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_SESSION_STATE + 1), "?");
	for (uint16_t t = FTIDX_MSG_STATUS; t <= FTIDX_MSG_SESSION_STATE; t++)
		CHECK(strcmp(proto_type_name(t), "?") != 0);
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_SHOW), "SHOW");
	CHECK_EQ_STR(proto_type_name(FTIDX_MSG_INSTANCES), "INSTANCES");
}

int main(void)
{
	test_type_names();
	test_version_4_map_state();
	test_version_2();
	test_version_3();
	test_version_4();
	test_version_4_daemon();
	test_requests();
	test_bad_requests();
	test_replies();
	test_reply_enums();
	test_versions();
	return test_finish("test-proto");
}
