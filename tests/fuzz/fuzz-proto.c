/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the protocol codec, whose decoders take whatever
 * any local client sends (the daemon) and whatever any socket that
 * $FTIDX_SOCKET points at sends (libftidx).
 *
 * The first input byte picks a message type and a path; the rest is:
 * - a body, decoded as a request and as a reply of that type;
 * - or a whole frame, read the way libftidx reads a reply: the header
 *   checked, then the body decoded with the header's own type.
 * Whatever decodes must encode again, and decode to the same message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-equal.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request_round_trip(const struct proto_request *req)
{
	struct ftidx_frame_header h;
	struct proto_request again;
	struct proto_buf b;
	const char *why;

	proto_buf_init(&b);
	if (proto_encode_request(&b, 1, req) == 0) {
		memcpy(&h, b.data, sizeof(h));
		if (proto_check_header(&h, &why) != 0 ||
		    proto_decode_request(h.version, h.type, b.data + sizeof(h), h.length, &again, &why) != 0 ||
		    !proto_request_equal(req, &again))
			abort();
		proto_request_deinit(&again);
	}
	proto_buf_deinit(&b);
}

static void reply_round_trip(const struct proto_reply *rep)
{
	struct ftidx_frame_header h;
	struct proto_reply again;
	struct proto_buf b;
	const char *why;

	proto_buf_init(&b);
	if (proto_encode_reply(&b, 1, rep) == 0) {
		memcpy(&h, b.data, sizeof(h));
		if (proto_check_header(&h, &why) != 0 ||
		    proto_decode_reply(h.version, h.type, b.data + sizeof(h), h.length, &again, &why) != 0 ||
		    !proto_reply_equal(rep, &again))
			abort();
		proto_reply_deinit(&again);
	}
	proto_buf_deinit(&b);
}

/* As libftidx receives a reply: header first, then the body it announces. */
static void client_frame(const uint8_t *data, size_t size)
{
	struct ftidx_frame_header h;
	struct proto_reply rep;
	const char *why;

	if (size < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	if (proto_check_header(&h, &why) != 0 || !(h.type & FTIDX_MSG_REPLY) ||
	    h.length > size - sizeof(h))
		return;
	if (proto_decode_reply(h.version, h.type, data + sizeof(h), h.length, &rep, &why) == 0)
		reply_round_trip(&rep);
	proto_reply_deinit(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {
		/* at type - 1, as the seeds name them */
		FTIDX_MSG_STATUS, FTIDX_MSG_RESOLVE, FTIDX_MSG_NAMES,
		FTIDX_MSG_LIST,   FTIDX_MSG_FILTER,  FTIDX_MSG_HITS,
		FTIDX_MSG_CHANGE, FTIDX_MSG_CANCEL,  FTIDX_MSG_REMOVE_INSTANCE,
		FTIDX_MSG_VERSION, FTIDX_MSG_ERROR, FTIDX_MSG_PROGRESS,
		/* version 4 */
		FTIDX_MSG_SHOW, FTIDX_MSG_INSTANCES,
		FTIDX_MSG_SESSION, FTIDX_MSG_SESSION_SYNC, FTIDX_MSG_SESSION_WRITE,
		FTIDX_MSG_SESSION_STATE,
	};
	const size_t n_types = sizeof(types) / sizeof(types[0]);
	struct proto_request req = { 0 };
	struct proto_reply rep = { 0 };
	const char *why;
	uint16_t type;

	if (size < 1)
		return 0;
	/* values past the types: a whole frame, as the client reads it */
	if (data[0] >= 0x80) {
		client_frame(data + 1, size - 1);
		return 0;
	}
	type = types[data[0] % n_types];
	data++;
	size--;

	if (type != FTIDX_MSG_ERROR && proto_decode_request(FTIDX_PROTO_VERSION, type, data, size, &req, &why) == 0)
		request_round_trip(&req);
	proto_request_deinit(&req);
	if (proto_decode_reply(FTIDX_PROTO_VERSION, type | FTIDX_MSG_REPLY, data, size, &rep, &why) == 0)
		reply_round_trip(&rep);
	proto_reply_deinit(&rep);
	return 0;
}
