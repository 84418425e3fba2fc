#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "msg.h"
#include "proto.h"

Test(msg, request_round_trip)
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_kv args, got;
	uint8_t type;

	nhi_kv_init(&args);
	nhi_kv_init(&got);
	cr_assert_eq(nhi_kv_add_str(&args, "identity", "ci-runner"), 0);
	cr_assert_eq(nhi_proto_put_request(b, NHI_MSG_CERT_REQUEST), 0);
	cr_assert_eq(nhi_kv_put(b, &args), 0);
	cr_assert_eq(nhi_msg_get_request(b, &type, &got), 0);
	cr_assert_eq(type, NHI_MSG_CERT_REQUEST);
	cr_assert_str_eq(nhi_kv_str(&got, "identity"), "ci-runner");
	cr_assert_str_eq(nhi_msg_name(type), "cert-request");
	cr_assert_null(nhi_msg_name(200));
	nhi_kv_clear(&args);
	nhi_kv_clear(&got);
	nhi_buf_free(b);
}

Test(msg, trailing_bytes_after_a_request_are_refused)
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_kv none, got;

	nhi_kv_init(&none);
	nhi_kv_init(&got);
	cr_assert_eq(nhi_proto_put_request(b, NHI_MSG_STATUS), 0);
	cr_assert_eq(nhi_kv_put(b, &none), 0);
	cr_assert_eq(nhi_buf_put_u8(b, 0), 0);
	cr_assert_eq(nhi_msg_get_request(b, NULL, &got), NHI_ERR_PROTOCOL);
	cr_assert_eq(got.n, 0);
	nhi_buf_free(b);
}

Test(msg, reply_encoding_carries_records)
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_kv recs[2];

	for (int i = 0; i < 2; i++) {
		nhi_kv_init(&recs[i]);
		cr_assert_eq(nhi_kv_add_u64(&recs[i], "serial", (uint64_t)i + 10), 0);
	}
	cr_assert_eq(nhi_msg_put_reply(b, NHI_MSG_CERT_LIST, 0, "2 certificates", recs, 2), 0);
	{
		int status;
		char *message;
		uint32_t n;
		struct nhi_kv r;
		uint64_t serial;

		cr_assert_eq(nhi_proto_get_response(b, NHI_MSG_CERT_LIST, &status, &message), 0);
		cr_assert_eq(status, 0);
		cr_assert_str_eq(message, "2 certificates");
		free(message);
		cr_assert_eq(nhi_buf_get_u32(b, &n), 0);
		cr_assert_eq(n, 2);
		for (uint32_t i = 0; i < n; i++) {
			nhi_kv_init(&r);
			cr_assert_eq(nhi_kv_get(b, &r), 0);
			cr_assert_eq(nhi_kv_u64(&r, "serial", &serial), 0);
			cr_assert_eq(serial, i + 10);
			nhi_kv_clear(&r);
		}
	}
	for (int i = 0; i < 2; i++)
		nhi_kv_clear(&recs[i]);
	nhi_buf_free(b);
}
