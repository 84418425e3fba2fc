#include "config.h"

#include <stdlib.h>

#include "err.h"
#include "proto.h"

int nhi_proto_frame_put(struct nhi_buf *out, const struct nhi_buf *body)
{
	size_t len = nhi_buf_len(body);

	if (len == 0 || len > NHI_PROTO_FRAME_MAX)
		return NHI_ERR_PROTOCOL;
	return nhi_buf_put_stringb(out, body);
}

int nhi_proto_frame_take(struct nhi_buf *in, struct nhi_buf **ret_body)
{
	struct nhi_buf *body;
	uint32_t len;
	int r;

	if (in == NULL || ret_body == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (nhi_buf_len(in) < 4) {
		*ret_body = NULL;
		return 0;
	}
	if ((r = nhi_buf_peek_u32(in, &len)) < 0)
		return r;
	if (len == 0 || len > NHI_PROTO_FRAME_MAX)
		return NHI_ERR_PROTOCOL;
	if (nhi_buf_len(in) - 4 < len) {
		*ret_body = NULL;
		return 0;
	}
	if ((body = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_put(body, nhi_buf_ptr(in) + 4, len)) < 0 ||
	    (r = nhi_buf_consume(in, 4 + (size_t)len)) < 0) {
		nhi_buf_free(body);
		return r;
	}
	*ret_body = body;
	return 0;
}

int nhi_proto_put_request(struct nhi_buf *body, uint8_t type)
{
	int r;

	if ((type & NHI_MSG_RESPONSE) != 0)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_buf_put_u8(body, NHI_PROTO_VERSION)) < 0)
		return r;
	return nhi_buf_put_u8(body, type);
}

int nhi_proto_get_request(struct nhi_buf *body, uint8_t *ret_type)
{
	uint8_t version, type;
	int r;

	if ((r = nhi_buf_get_u8(body, &version)) < 0)
		return r == NHI_ERR_MESSAGE_INCOMPLETE ? NHI_ERR_PROTOCOL : r;
	if (version != NHI_PROTO_VERSION)
		return NHI_ERR_PROTOCOL_VERSION;
	if ((r = nhi_buf_get_u8(body, &type)) < 0)
		return r == NHI_ERR_MESSAGE_INCOMPLETE ? NHI_ERR_PROTOCOL : r;
	if ((type & NHI_MSG_RESPONSE) != 0)
		return NHI_ERR_PROTOCOL;
	if (ret_type != NULL)
		*ret_type = type;
	return 0;
}

int nhi_proto_put_response(struct nhi_buf *body, uint8_t request_type, int status,
			   const char *message)
{
	int r;

	if (status > 0 || (request_type & NHI_MSG_RESPONSE) != 0)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_buf_put_u8(body, NHI_PROTO_VERSION)) < 0 ||
	    (r = nhi_buf_put_u8(body, (uint8_t)(request_type | NHI_MSG_RESPONSE))) < 0 ||
	    (r = nhi_buf_put_u32(body, (uint32_t)-status)) < 0)
		return r;
	return nhi_buf_put_cstring(body, message != NULL ? message : "");
}

int nhi_proto_get_response(struct nhi_buf *body, uint8_t request_type, int *ret_status,
			   char **ret_message)
{
	uint8_t version, type;
	uint32_t status;
	char *message = NULL;
	int r;

	if ((r = nhi_buf_get_u8(body, &version)) < 0 || (r = nhi_buf_get_u8(body, &type)) < 0 ||
	    (r = nhi_buf_get_u32(body, &status)) < 0 ||
	    (r = nhi_buf_get_cstring(body, &message, NULL)) < 0)
		return r == NHI_ERR_ALLOC ? r : NHI_ERR_PROTOCOL;
	if (version != NHI_PROTO_VERSION)
		r = NHI_ERR_PROTOCOL_VERSION;
	else if (type != (request_type | NHI_MSG_RESPONSE) || status > 0x7fffffffu)
		r = NHI_ERR_PROTOCOL;
	if (r < 0) {
		free(message);
		return r;
	}
	if (ret_status != NULL)
		*ret_status = -(int)status;
	if (ret_message != NULL)
		*ret_message = message;
	else
		free(message);
	return 0;
}
