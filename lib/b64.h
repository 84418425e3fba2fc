/* Standard base64 (RFC 4648, with padding) as OpenSSH key files use it. */
#ifndef NHI_B64_H
#define NHI_B64_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Heap-allocated, NUL-terminated. */
int nhi_b64_encode(const uint8_t *data, size_t len, char **ret);
/* Strict: padding required, no whitespace, no trailing garbage. Appends to out. */
int nhi_b64_decode(const char *text, size_t len, struct nhi_buf *out);

#endif
