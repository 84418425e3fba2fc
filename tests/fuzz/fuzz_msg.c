/* Fuzzes the broker's request decoder: the bytes a client writes to the
 * socket, split into frames the way the event loop does (nhi_proto_frame_take
 * on what has arrived so far), each frame's body decoded by
 * nhi_msg_get_request. Any peer may connect, so every byte is hostile.
 *
 * The first input byte says where the stream is cut in two deliveries, as
 * a slow client would send it. What decodes must hold a known shape (no
 * more fields than NHI_KV_MAX, keys within NHI_KV_KEY_MAX) and survive
 * encoding again unchanged: decode(encode(request)) == request. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "kv.h"
#include "msg.h"
#include "proto.h"
#include "fuzz.h"

static void check_same(const struct nhi_kv *a, const struct nhi_kv *b)
{
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		CHECK(strcmp(a->items[i].key, b->items[i].key) == 0);
		CHECK(a->items[i].len == b->items[i].len);
		CHECK(a->items[i].len == 0 ||
		      memcmp(a->items[i].value, b->items[i].value, a->items[i].len) == 0);
	}
}

/* One frame's body: decoded, checked, encoded and decoded again. */
static void one_body(struct nhi_buf *body)
{
	struct nhi_kv args, again;
	struct nhi_buf *re;
	uint8_t type, type2;

	nhi_kv_init(&args);
	if (nhi_msg_get_request(body, &type, &args) != 0) {
		CHECK(args.n == 0);
		return;
	}
	CHECK((type & NHI_MSG_RESPONSE) == 0);
	CHECK(args.n <= NHI_KV_MAX);
	for (size_t i = 0; i < args.n; i++)
		CHECK(strlen(args.items[i].key) <= NHI_KV_KEY_MAX);
	nhi_kv_init(&again);
	if ((re = nhi_buf_new()) != NULL) {
		CHECK(nhi_proto_put_request(re, type) == 0);
		CHECK(nhi_kv_put(re, &args) == 0);
		CHECK(nhi_msg_get_request(re, &type2, &again) == 0);
		CHECK(type2 == type);
		check_same(&args, &again);
		nhi_kv_clear(&again);
		nhi_buf_free(re);
	}
	nhi_kv_clear(&args);
}

/* Every whole frame in; stops at the first bad length, as the server
 * drops such a client. Returns false then. */
static bool take_frames(struct nhi_buf *in)
{
	struct nhi_buf *body;

	for (;;) {
		if (nhi_proto_frame_take(in, &body) != 0)
			return false;
		if (body == NULL)
			return true;
		CHECK(nhi_buf_len(body) >= 1 && nhi_buf_len(body) <= NHI_PROTO_FRAME_MAX);
		one_body(body);
		nhi_buf_free(body);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_buf *in;
	size_t cut;

	if (size < 1 || (in = nhi_buf_new()) == NULL)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	if (nhi_buf_put(in, data, cut) == 0 && take_frames(in) &&
	    nhi_buf_put(in, data + cut, size - cut) == 0)
		take_frames(in);
	nhi_buf_free(in);
	return 0;
}
