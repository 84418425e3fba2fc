/* Just enough JSON for the audit trail: a growable text buffer with a
 * string escaper, and a check that a detail is one flat object. */
#ifndef NHI_AUDIT_JSON_H
#define NHI_AUDIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Growable NUL-terminated text. The first failure sticks in err and every
 * later call returns it, so a caller may chain puts and check once. */
struct nhi_json {
	char *data;
	size_t len, cap;
	int err;
};
#define NHI_JSON_INIT                                                                              \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

void nhi_json_free(struct nhi_json *j);
/* Empties j, keeping its allocation (and clearing err). */
void nhi_json_reset(struct nhi_json *j);
int nhi_json_raw(struct nhi_json *j, const char *s, size_t len);
/* A quoted JSON string. Valid UTF-8 passes through; control characters,
 * quote, backslash and every byte of invalid UTF-8 are escaped (a stray
 * byte 0xNN becomes \u00NN), so the output is always valid JSON. */
int nhi_json_string(struct nhi_json *j, const char *s, size_t len);
int nhi_json_int(struct nhi_json *j, int64_t v);
/* A quoted lowercase hex string. */
int nhi_json_hex(struct nhi_json *j, const uint8_t *p, size_t n);

/* True when s is exactly one JSON object whose values are strings,
 * numbers, true, false or null (no nesting), with valid UTF-8. */
bool nhi_json_is_flat_object(const char *s, size_t len);

#endif
