/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the protocol decoder, which takes whatever any
 * local client sends. The first input byte picks the message type; the
 * rest is a body, decoded as a request and as a reply, and a header is
 * checked from the first 16 bytes. Whatever decodes must encode again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {
		FTIDX_MSG_STATUS, FTIDX_MSG_RESOLVE, FTIDX_MSG_NAMES,
		FTIDX_MSG_LIST,   FTIDX_MSG_FILTER,  FTIDX_MSG_ERROR,
	};
	struct ftidx_frame_header h;
	struct proto_request req = { 0 };
	struct proto_reply rep = { 0 };
	const char *why;
	uint16_t type;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	data++;
	size--;

	if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		proto_check_header(&h, &why);
	}
	if (type != FTIDX_MSG_ERROR && proto_decode_request(type, data, size, &req, &why) == 0) {
		struct proto_buf b;

		proto_buf_init(&b);
		proto_encode_request(&b, 1, &req);
		proto_buf_deinit(&b);
	}
	proto_request_deinit(&req);
	if (proto_decode_reply(type | FTIDX_MSG_REPLY, data, size, &rep, &why) == 0) {
		struct proto_buf b;

		proto_buf_init(&b);
		proto_encode_reply(&b, 1, &rep);
		proto_buf_deinit(&b);
	}
	proto_reply_deinit(&rep);
	return 0;
}
