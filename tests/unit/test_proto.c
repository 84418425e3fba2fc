#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "proto.h"

static struct nhi_buf *request_body(uint8_t type, const char *arg)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_proto_put_request(b, type), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, arg), 0);
	return b;
}

Test(proto, frames_arrive_in_pieces)
{
	struct nhi_buf *body = request_body(3, "backup-bot"), *wire = nhi_buf_new(),
		       *in = nhi_buf_new(), *got = NULL;
	uint8_t type;
	char *arg;

	cr_assert_eq(nhi_proto_frame_put(wire, body), 0);
	cr_assert_eq(nhi_proto_frame_put(wire, body), 0);
	/* Byte by byte: nothing until the first frame is whole. */
	for (size_t i = 0; i < nhi_buf_len(wire); i++) {
		cr_assert_eq(nhi_buf_put(in, nhi_buf_ptr(wire) + i, 1), 0);
		cr_assert_eq(nhi_proto_frame_take(in, &got), 0);
		if (got != NULL)
			break;
	}
	cr_assert_not_null(got);
	cr_assert_eq(nhi_proto_get_request(got, &type), 0);
	cr_assert_eq(type, 3);
	cr_assert_eq(nhi_buf_get_cstring(got, &arg, NULL), 0);
	cr_assert_str_eq(arg, "backup-bot");
	free(arg);
	nhi_buf_free(got);
	nhi_buf_free(in);
	nhi_buf_free(wire);
	nhi_buf_free(body);
}

Test(proto, bad_lengths_are_protocol_errors)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 1 };
	static const uint8_t huge[] = { 0, 0x10, 0, 1, 1 };
	struct nhi_buf *in, *got = NULL;

	in = nhi_buf_new();
	cr_assert_eq(nhi_buf_put(in, zero, sizeof(zero)), 0);
	cr_assert_eq(nhi_proto_frame_take(in, &got), NHI_ERR_PROTOCOL);
	nhi_buf_free(in);
	/* An oversized length is refused at once, not buffered for. */
	in = nhi_buf_new();
	cr_assert_eq(nhi_buf_put(in, huge, sizeof(huge)), 0);
	cr_assert_eq(nhi_proto_frame_take(in, &got), NHI_ERR_PROTOCOL);
	cr_assert_null(got);
	nhi_buf_free(in);
}

Test(proto, oversized_body_cannot_be_sent)
{
	struct nhi_buf *body = nhi_buf_new(), *wire = nhi_buf_new();
	uint8_t *p;

	cr_assert_eq(nhi_buf_reserve(body, NHI_PROTO_FRAME_MAX + 1, &p), 0);
	memset(p, 0, NHI_PROTO_FRAME_MAX + 1);
	cr_assert_eq(nhi_proto_frame_put(wire, body), NHI_ERR_PROTOCOL);
	cr_assert_eq(nhi_buf_len(wire), 0);
	nhi_buf_free(body);
	nhi_buf_free(wire);
}

Test(proto, request_header_checks)
{
	static const uint8_t wrong_version[] = { 9, 1 };
	static const uint8_t response_as_request[] = { NHI_PROTO_VERSION, 0x81 };
	static const uint8_t truncated[] = { NHI_PROTO_VERSION };
	struct nhi_buf *b;

	b = nhi_buf_from(wrong_version, sizeof(wrong_version));
	cr_assert_eq(nhi_proto_get_request(b, NULL), NHI_ERR_PROTOCOL_VERSION);
	nhi_buf_free(b);
	b = nhi_buf_from(response_as_request, sizeof(response_as_request));
	cr_assert_eq(nhi_proto_get_request(b, NULL), NHI_ERR_PROTOCOL);
	nhi_buf_free(b);
	b = nhi_buf_from(truncated, sizeof(truncated));
	cr_assert_eq(nhi_proto_get_request(b, NULL), NHI_ERR_PROTOCOL);
	nhi_buf_free(b);
	b = nhi_buf_new();
	cr_assert_eq(nhi_proto_put_request(b, 0x80), NHI_ERR_INVALID_ARGUMENT);
	nhi_buf_free(b);
}

Test(proto, response_round_trip_and_mismatch)
{
	struct nhi_buf *b = nhi_buf_new(), *view;
	char *msg;
	int status;

	cr_assert_eq(nhi_proto_put_response(b, 5, NHI_ERR_NAME_INVALID, "bad name \"../x\""), 0);
	cr_assert_eq(nhi_buf_put_u32(b, 99), 0);

	view = nhi_buf_from(nhi_buf_ptr(b), nhi_buf_len(b));
	cr_assert_eq(nhi_proto_get_response(view, 5, &status, &msg), 0);
	cr_assert_eq(status, NHI_ERR_NAME_INVALID);
	cr_assert_str_eq(msg, "bad name \"../x\"");
	cr_assert_eq(nhi_buf_len(view), 4, "fields after the header stay for the caller");
	free(msg);
	nhi_buf_free(view);

	/* The answer to another request is refused. */
	view = nhi_buf_from(nhi_buf_ptr(b), nhi_buf_len(b));
	cr_assert_eq(nhi_proto_get_response(view, 6, &status, NULL), NHI_ERR_PROTOCOL);
	nhi_buf_free(view);
	nhi_buf_free(b);

	b = nhi_buf_new();
	cr_assert_eq(nhi_proto_put_response(b, 5, 3, NULL), NHI_ERR_INVALID_ARGUMENT);
	nhi_buf_free(b);
}

Test(proto, every_truncated_response_fails_cleanly)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_proto_put_response(b, 2, 0, "ok"), 0);
	for (size_t cut = 0; cut < nhi_buf_len(b); cut++) {
		struct nhi_buf *view = nhi_buf_from(nhi_buf_ptr(b), cut);
		int status = 12345;

		cr_assert_lt(nhi_proto_get_response(view, 2, &status, NULL), 0, "cut %zu", cut);
		cr_assert_eq(status, 12345);
		nhi_buf_free(view);
	}
	nhi_buf_free(b);
}
