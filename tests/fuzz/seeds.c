/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a seed corpus of valid bodies for fuzz-proto: fuzz-seeds DIR. */
#include <stdio.h>
#include <string.h>

#include "proto.h"

static int save(const char *dir, const char *name, uint8_t type_index, const uint8_t *body,
		size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return 1;
	fputc(type_index, f);
	fwrite(body, 1, len, f);
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	const char *tokens[] = { "vfs_*", "!type_show", "lo_*:mod:loop", "123" };
	uint32_t indices[] = { 1, 7, 38303 };
	struct proto_item items[] = { { 0, 17 }, { 2, 0 } };
	const char *lines[] = { "a", "b [m]" };
	const char *reasons[] = { "matches no function" };
	int32_t line_status[] = { 0, 34 };
	uint64_t counts[] = { 1000, 333 }, addresses[] = { 0xffffffff81000000ull, 0 };
	struct proto_filter_state filters[] = { { "inst", 2, 1, 17 } };
	struct proto_request reqs[] = {
		{ .type = FTIDX_MSG_RESOLVE, .flags = 1, .tokens = tokens, .n_tokens = 4 },
		{ .type = FTIDX_MSG_NAMES, .indices = indices, .n_indices = 3 },
		{ .type = FTIDX_MSG_LIST, .flags = 2, .module = "loop" },
		{ .type = FTIDX_MSG_FILTER, .generation = 3, .op = 2, .file = 1, .flags = 1,
		  .instance = "inst", .tokens = tokens, .n_tokens = 4 },
		{ .type = FTIDX_MSG_HITS, .seconds = 5, .instance = "inst" },
		{ .type = FTIDX_MSG_CHANGE, .generation = 3, .flags = 3, .instance = "inst",
		  .tokens = tokens, .n_tokens = 4, .n_changes = 2,
		  .changes = { { 1, 1, 0, 3 }, { 2, 2, 3, 1 } } },
		{ .type = FTIDX_MSG_CANCEL, .target = 9 },
		{ .type = FTIDX_MSG_REMOVE_INSTANCE, .instance = "inst" },
		{ .type = FTIDX_MSG_VERSION },
	};
	uint32_t sets[] = { 1, 7 }, set_start[] = { 0, 2, 2 };
	struct proto_change_result changes[] = { { 1, 1, 2, indices, NULL, 2, 0 },
						 { 4, 2, 0, NULL, NULL, 0, 0 } };
	struct proto_reply reps[] = {
		{ .type = FTIDX_MSG_STATUS, .message = "", .tracing_dir = "/t", .kernel_release = "6",
		  .daemon_version = "0", .filters = filters, .n_filters = 1,
		  .match_rules = "class-takes-nul", .match_rules_how = "probed" },
		{ .type = FTIDX_MSG_RESOLVE, .status = 22, .message = "x", .items = items,
		  .n_items = 2, .n_failed = 1, .enable = indices, .n_enable = 2, .reasons = reasons,
		  .lines = lines, .n_lines = 2 },
		{ .type = FTIDX_MSG_NAMES, .message = "", .line_status = line_status, .lines = lines,
		  .n_lines = 2 },
		{ .type = FTIDX_MSG_LIST, .message = "", .indices = indices, .lines = lines,
		  .addresses = addresses, .n_lines = 2 },
		{ .type = FTIDX_MSG_HITS, .message = "", .enabled = 3, .events = 1333,
		  .indices = indices, .counts = counts, .lines = lines, .n_lines = 2 },
		{ .type = FTIDX_MSG_CHANGE, .message = "", .items = items, .n_items = 2,
		  .n_failed = 1, .reasons = reasons, .token_sets = sets, .token_set_start = set_start,
		  .n_token_sets = 2, .changes = changes, .n_changes = 2 },
		{ .type = FTIDX_MSG_VERSION, .message = "", .proto_version = 2,
		  .proto_version_min = 1, .role = 1, .capabilities = 0x3f,
		  .daemon_version = "0.3.0" },
		{ .type = FTIDX_MSG_REMOVE_INSTANCE, .status = 1, .message = "not ours" },
	};
	int bad = 0;

	if (argc < 2)
		return 2;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct proto_buf b;
		char name[32];

		proto_buf_init(&b);
		proto_encode_request(&b, 1, &reqs[i]);
		snprintf(name, sizeof(name), "seed-request-%u", reqs[i].type);
		bad |= save(argv[1], name, (uint8_t)(reqs[i].type - 1), b.data + 16, b.len - 16);
		proto_buf_deinit(&b);
	}
	for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
		struct proto_buf b;
		char name[32];

		proto_buf_init(&b);
		proto_encode_reply(&b, 1, &reps[i]);
		snprintf(name, sizeof(name), "seed-reply-%u", reps[i].type);
		bad |= save(argv[1], name, (uint8_t)(reps[i].type - 1), b.data + 16, b.len - 16);
		/* the whole frame, as the client reads it */
		snprintf(name, sizeof(name), "seed-frame-%u", reps[i].type);
		bad |= save(argv[1], name, 0x80, b.data, b.len);
		proto_buf_deinit(&b);
	}
	return bad;
}
