/* JSON text for audit details and exports. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_json.h"
#include "err.h"

#define JSON_TEXT_MAX (64u * 1024u * 1024u)

void nhi_json_free(struct nhi_json *j)
{
	if (!j)
		return;
	free(j->data);
	j->data = NULL;
	j->len = j->cap = 0;
	j->err = 0;
}

void nhi_json_reset(struct nhi_json *j)
{
	j->len = 0;
	j->err = 0;
	if (j->data)
		j->data[0] = '\0';
}

static int json_grow(struct nhi_json *j, size_t more)
{
	size_t want, cap;
	char *p;

	if (j->err)
		return j->err;
	if (more > JSON_TEXT_MAX - j->len - 1)
		return j->err = NHI_ERR_NO_BUFFER_SPACE;
	want = j->len + more + 1;
	if (want <= j->cap)
		return 0;
	cap = j->cap ? j->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(j->data, cap);
	if (!p)
		return j->err = NHI_ERR_ALLOC;
	j->data = p;
	j->cap = cap;
	return 0;
}

int nhi_json_raw(struct nhi_json *j, const char *s, size_t len)
{
	int r = json_grow(j, len);

	if (r < 0)
		return r;
	memcpy(j->data + j->len, s, len);
	j->len += len;
	j->data[j->len] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0: no overlong forms,
 * no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n, i;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int json_escape_byte(struct nhi_json *j, unsigned char c)
{
	char esc[8];
	const char *short_esc = NULL;

	switch (c) {
	case '"':
		short_esc = "\\\"";
		break;
	case '\\':
		short_esc = "\\\\";
		break;
	case '\n':
		short_esc = "\\n";
		break;
	case '\r':
		short_esc = "\\r";
		break;
	case '\t':
		short_esc = "\\t";
		break;
	case '\b':
		short_esc = "\\b";
		break;
	case '\f':
		short_esc = "\\f";
		break;
	}
	if (short_esc)
		return nhi_json_raw(j, short_esc, 2);
	snprintf(esc, sizeof(esc), "\\u%04x", c);
	return nhi_json_raw(j, esc, 6);
}

int nhi_json_string(struct nhi_json *j, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, n;
	int r;

	r = nhi_json_raw(j, "\"", 1);
	while (r == 0 && i < len) {
		/* Copy plain printable ASCII in runs. */
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		              p[run] != '\\';
		     run++)
			;
		if (run > i) {
			r = nhi_json_raw(j, s + i, run - i);
			i = run;
			continue;
		}
		n = p[i] >= 0x80 ? utf8_len(p + i, len - i) : 0;
		if (n) {
			r = nhi_json_raw(j, s + i, n);
			i += n;
		} else {
			r = json_escape_byte(j, p[i]);
			i++;
		}
	}
	return r == 0 ? nhi_json_raw(j, "\"", 1) : r;
}

int nhi_json_int(struct nhi_json *j, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	return nhi_json_raw(j, num, (size_t)n);
}

int nhi_json_hex(struct nhi_json *j, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	char *out;
	int r;

	r = json_grow(j, 2 * n + 2);
	if (r < 0)
		return r;
	out = j->data + j->len;
	*out++ = '"';
	for (i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 0xf];
	}
	*out++ = '"';
	*out = '\0';
	j->len += 2 * n + 2;
	return 0;
}

/* A small recursive-descent checker over [p, end). */
struct json_scan {
	const unsigned char *p, *end;
};

static void scan_ws(struct json_scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static bool scan_char(struct json_scan *sc, char c)
{
	if (sc->p < sc->end && *sc->p == (unsigned char)c) {
		sc->p++;
		return true;
	}
	return false;
}

static bool scan_hex4(struct json_scan *sc)
{
	int i;

	for (i = 0; i < 4; i++, sc->p++) {
		if (sc->p >= sc->end || !*sc->p || !strchr("0123456789abcdefABCDEF", *sc->p))
			return false;
	}
	return true;
}

static bool scan_string(struct json_scan *sc)
{
	size_t n;

	if (!scan_char(sc, '"'))
		return false;
	while (sc->p < sc->end) {
		unsigned char c = *sc->p;

		if (c == '"') {
			sc->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			sc->p++;
			if (sc->p >= sc->end)
				return false;
			c = *sc->p++;
			if (c == 'u' && !scan_hex4(sc))
				return false;
			if (c != 'u' && (!c || !strchr("\"\\/bfnrt", c)))
				return false;
			continue;
		}
		n = c >= 0x80 ? utf8_len(sc->p, (size_t)(sc->end - sc->p)) : 1;
		if (!n)
			return false;
		sc->p += n;
	}
	return false;
}

static bool scan_digits(struct json_scan *sc)
{
	const unsigned char *start = sc->p;

	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	return sc->p > start;
}

static bool scan_number(struct json_scan *sc)
{
	scan_char(sc, '-');
	if (scan_char(sc, '0')) {
		/* no leading zeros */
	} else if (!scan_digits(sc)) {
		return false;
	}
	if (scan_char(sc, '.') && !scan_digits(sc))
		return false;
	if (scan_char(sc, 'e') || scan_char(sc, 'E')) {
		if (!scan_char(sc, '+'))
			scan_char(sc, '-');
		if (!scan_digits(sc))
			return false;
	}
	return true;
}

static bool scan_word(struct json_scan *sc, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, w, n) != 0)
		return false;
	sc->p += n;
	return true;
}

static bool scan_value(struct json_scan *sc)
{
	if (sc->p >= sc->end)
		return false;
	switch (*sc->p) {
	case '"':
		return scan_string(sc);
	case 't':
		return scan_word(sc, "true");
	case 'f':
		return scan_word(sc, "false");
	case 'n':
		return scan_word(sc, "null");
	}
	return scan_number(sc);
}

bool nhi_json_is_flat_object(const char *s, size_t len)
{
	struct json_scan sc = {(const unsigned char *)s, (const unsigned char *)s + len};

	scan_ws(&sc);
	if (!scan_char(&sc, '{'))
		return false;
	scan_ws(&sc);
	if (!scan_char(&sc, '}')) {
		do {
			scan_ws(&sc);
			if (!scan_string(&sc))
				return false;
			scan_ws(&sc);
			if (!scan_char(&sc, ':'))
				return false;
			scan_ws(&sc);
			if (!scan_value(&sc))
				return false;
			scan_ws(&sc);
		} while (scan_char(&sc, ','));
		if (!scan_char(&sc, '}'))
			return false;
	}
	scan_ws(&sc);
	return sc.p == sc.end;
}
