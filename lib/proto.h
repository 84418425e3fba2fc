/* Framing of the broker protocol on its Unix socket.
 *
 * A frame is a uint32 length (1..NHI_PROTO_FRAME_MAX) followed by that many
 * bytes of body. A body starts with a uint8 protocol version and a uint8
 * message type; a response's type is the request's with NHI_MSG_RESPONSE
 * set, followed by a uint32 status (0, or a negated NHI_ERR_* code) and a
 * string message for humans, then the message's own fields. Libc only: the
 * PAM module and the sshd helpers speak it. */
#ifndef NHI_PROTO_H
#define NHI_PROTO_H

#include <stdint.h>

#include "buf.h"

#define NHI_PROTO_VERSION 1u
/* Large enough for any request or answer; KRLs and caches travel as files. */
#define NHI_PROTO_FRAME_MAX (256u * 1024u)
#define NHI_MSG_RESPONSE 0x80u

/* Appends body to out as one frame. */
int nhi_proto_frame_put(struct nhi_buf *out, const struct nhi_buf *body);
/* Takes one frame from the front of in, if a whole one is there: *ret_body
 * is a new buffer holding the body, or NULL when more bytes are needed.
 * A length of 0 or above NHI_PROTO_FRAME_MAX is NHI_ERR_PROTOCOL. */
int nhi_proto_frame_take(struct nhi_buf *in, struct nhi_buf **ret_body);

int nhi_proto_put_request(struct nhi_buf *body, uint8_t type);
int nhi_proto_get_request(struct nhi_buf *body, uint8_t *ret_type);
/* status is 0 or a negative NHI_ERR_* code; message may be NULL. */
int nhi_proto_put_response(struct nhi_buf *body, uint8_t request_type, int status,
			   const char *message);
/* Checks version and that the response answers request_type. The status is
 * returned in *ret_status (0 or negative) and the message (heap, may be
 * empty) in *ret_message (may be NULL to ignore). */
int nhi_proto_get_response(struct nhi_buf *body, uint8_t request_type, int *ret_status,
			   char **ret_message);

#endif
