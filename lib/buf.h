/* A bounded byte buffer with the OpenSSH wire encoding (RFC 4251 §5).
 *
 * Every wire format nhi reads or writes goes through this type: socket frames,
 * keys, certificates, KRLs, the NSS cache. Readers consume from the front,
 * writers append at the back; every get checks the length before it reads and
 * every put checks the cap before it grows. Libc only: the PAM and NSS modules
 * link it. */
#ifndef NHI_BUF_H
#define NHI_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Hard cap on any buffer's size, whatever a per-buffer limit says. */
#define NHI_BUF_SIZE_MAX (64u * 1024u * 1024u)
/* The largest mpint accepted: 16384-bit numbers plus a sign byte. */
#define NHI_BIGNUM_BYTES_MAX (16384u / 8u + 1u)

struct nhi_buf;

/* An empty, growable buffer; NULL when out of memory. */
struct nhi_buf *nhi_buf_new(void);
/* A read-only view of caller-owned bytes, which must outlive the view. */
struct nhi_buf *nhi_buf_from(const void *data, size_t len);
/* Frees b (NULL is fine); owned contents are zeroed first. */
void nhi_buf_free(struct nhi_buf *b);
/* Empties a writable b (zeroing what it held) and keeps its allocation. */
void nhi_buf_reset(struct nhi_buf *b);
/* Lowers the cap of b (bytes held, read or not). */
int nhi_buf_set_max(struct nhi_buf *b, size_t max);

/* Bytes not yet read, and a pointer to them. */
size_t nhi_buf_len(const struct nhi_buf *b);
const uint8_t *nhi_buf_ptr(const struct nhi_buf *b);
/* Discards n bytes from the front. */
int nhi_buf_consume(struct nhi_buf *b, size_t n);

/* Appends n bytes of space and returns a pointer to it. */
int nhi_buf_reserve(struct nhi_buf *b, size_t n, uint8_t **ret_ptr);
/* Drops the last n bytes written (zeroing them), e.g. unused reserved space. */
int nhi_buf_shrink(struct nhi_buf *b, size_t n);
int nhi_buf_put(struct nhi_buf *b, const void *data, size_t len);
int nhi_buf_put_u8(struct nhi_buf *b, uint8_t v);
int nhi_buf_put_u32(struct nhi_buf *b, uint32_t v);
int nhi_buf_put_u64(struct nhi_buf *b, uint64_t v);
int nhi_buf_put_string(struct nhi_buf *b, const void *data, size_t len);
int nhi_buf_put_cstring(struct nhi_buf *b, const char *s);
/* Appends the unread contents of v as one string. */
int nhi_buf_put_stringb(struct nhi_buf *b, const struct nhi_buf *v);
/* Appends an unsigned big-endian number as an mpint (leading zeros dropped,
 * a zero byte added when the top bit is set). */
int nhi_buf_put_bignum2_bytes(struct nhi_buf *b, const void *data, size_t len);

/* Getters consume on success and leave b untouched on failure. Output
 * pointers may be NULL to skip a field. */
int nhi_buf_get(struct nhi_buf *b, void *out, size_t len);
int nhi_buf_get_u8(struct nhi_buf *b, uint8_t *ret);
int nhi_buf_get_u32(struct nhi_buf *b, uint32_t *ret);
int nhi_buf_get_u64(struct nhi_buf *b, uint64_t *ret);
int nhi_buf_peek_u32(const struct nhi_buf *b, uint32_t *ret);
/* A string as a pointer into b, valid until b is changed or freed. */
int nhi_buf_get_string_direct(struct nhi_buf *b, const uint8_t **ret, size_t *ret_len);
/* A string copied to the heap, with a NUL appended (not counted in len). */
int nhi_buf_get_string(struct nhi_buf *b, uint8_t **ret, size_t *ret_len);
/* Like nhi_buf_get_string, but a string holding a NUL byte is refused. */
int nhi_buf_get_cstring(struct nhi_buf *b, char **ret, size_t *ret_len);
/* A string as a read-only view into b; free it with nhi_buf_free. */
int nhi_buf_get_stringb(struct nhi_buf *b, struct nhi_buf **ret);
/* An mpint that must be non-negative; returns its magnitude without
 * leading zeros, pointing into b. Non-minimal encodings are refused. */
int nhi_buf_get_bignum2_bytes_direct(struct nhi_buf *b, const uint8_t **ret, size_t *ret_len);

#endif
