#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authkeys.h"
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "sshkey.h"

/* The longest key type name we look up; the real ones are far shorter. */
#define KEY_TYPE_NAME_MAX 64u
/* NI_MAXHOST, as sshd bounds a permitopen host. */
#define PERMIT_HOST_MAX 1025u
/* sshd's SSH_TUNID_MAX. */
#define TUNNEL_ID_MAX (INT_MAX - 2)

/* One option of the options field: its name, its whole text as written,
 * and its value with \" unescaped (NULL for a flag). */
struct opt_tok {
	const char *name;
	size_t name_len;
	const char *text;
	size_t text_len;
	char *value;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Option names compare case-insensitively, as in sshd, but independent of
 * the locale. */
static bool name_eq(const char *s, size_t len, const char *name)
{
	size_t i;

	if (strlen(name) != len)
		return false;
	for (i = 0; i < len; i++)
		if (ascii_lower(s[i]) != name[i])
			return false;
	return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

static const char *token_end(const char *p, const char *end)
{
	while (p < end && !is_blank(*p))
		p++;
	return p;
}

/* Reads the option at *pp. On success *pp points at the ',', the blank or
 * the end that follows it, and tok->value (if any) is the caller's. */
static int opt_next(const char **pp, const char *end, struct opt_tok *ret_tok,
		    const char **ret_reason)
{
	const char *p = *pp, *start = *pp, *v;
	char *value = NULL, *o;

	while (p < end && *p != ',' && *p != '=' && !is_blank(*p)) {
		if (*p == '"') {
			*ret_reason = "quote inside an option name";
			return NHI_ERR_INVALID_FORMAT;
		}
		p++;
	}
	if (p == start) {
		*ret_reason = "empty option";
		return NHI_ERR_INVALID_FORMAT;
	}
	ret_tok->name = start;
	ret_tok->name_len = (size_t)(p - start);
	if (p < end && *p == '=') {
		p++;
		if (p == end || *p != '"') {
			*ret_reason = "option value not quoted";
			return NHI_ERR_INVALID_FORMAT;
		}
		v = ++p;
		/* Only \" is an escape inside quotes; other backslashes stay. */
		while (p < end && *p != '"')
			p += (*p == '\\' && p + 1 < end && p[1] == '"') ? 2 : 1;
		if (p >= end) {
			*ret_reason = "unterminated quote";
			return NHI_ERR_INVALID_FORMAT;
		}
		if (p == v) {
			*ret_reason = "empty option value";
			return NHI_ERR_INVALID_FORMAT;
		}
		if ((value = malloc((size_t)(p - v) + 1)) == NULL)
			return NHI_ERR_ALLOC;
		for (o = value; v < p; v++) {
			if (*v == '\\' && v + 1 < p && v[1] == '"')
				v++;
			*o++ = *v;
		}
		*o = '\0';
		p++;
	}
	if (p < end && *p != ',' && !is_blank(*p)) {
		free(value);
		*ret_reason = "unexpected text after an option";
		return NHI_ERR_INVALID_FORMAT;
	}
	ret_tok->text = start;
	ret_tok->text_len = (size_t)(p - start);
	ret_tok->value = value;
	*pp = p;
	return 0;
}

/* The no_X / permit_X pair of a negatable flag. touch-required has only
 * its negative field. */
static bool flag_fields(struct nhi_authkey_opts *o, const char *name, size_t len,
			bool **ret_permit, bool **ret_deny)
{
	*ret_permit = NULL;
	if (name_eq(name, len, "agent-forwarding")) {
		*ret_permit = &o->permit_agent_forwarding;
		*ret_deny = &o->no_agent_forwarding;
	} else if (name_eq(name, len, "port-forwarding")) {
		*ret_permit = &o->permit_port_forwarding;
		*ret_deny = &o->no_port_forwarding;
	} else if (name_eq(name, len, "pty")) {
		*ret_permit = &o->permit_pty;
		*ret_deny = &o->no_pty;
	} else if (name_eq(name, len, "user-rc")) {
		*ret_permit = &o->permit_user_rc;
		*ret_deny = &o->no_user_rc;
	} else if (name_eq(name, len, "x11-forwarding")) {
		*ret_permit = &o->permit_x11_forwarding;
		*ret_deny = &o->no_x11_forwarding;
	} else if (name_eq(name, len, "touch-required")) {
		*ret_deny = &o->no_touch_required;
	} else {
		return false;
	}
	return true;
}

/* Applies a flag option; false when name is no flag. */
static bool apply_flag(struct nhi_authkey_opts *o, const char *name, size_t len)
{
	bool negate = false, *permit, *deny;

	if (name_eq(name, len, "restrict")) {
		o->restrict_all = true;
		o->permit_agent_forwarding = o->permit_port_forwarding = false;
		o->permit_pty = o->permit_user_rc = o->permit_x11_forwarding = false;
		return true;
	}
	if (name_eq(name, len, "cert-authority")) {
		o->cert_authority = true;
		return true;
	}
	if (name_eq(name, len, "verify-required")) {
		o->verify_required = true;
		return true;
	}
	if (len > 3 && name_eq(name, 3, "no-")) {
		negate = true;
		name += 3;
		len -= 3;
	}
	if (!flag_fields(o, name, len, &permit, &deny))
		return false;
	if (permit != NULL)
		*permit = !negate;
	*deny = negate;
	return true;
}

/* YYYYMMDD[HHMM[SS]] with a Z (or UTC) suffix for UTC, local time
 * otherwise, as sshd's parse_absolute_time reads it. */
static int parse_expiry(const char *s, time_t *ret)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t len = strlen(s), i;
	int f[6] = {0, 0, 0, 0, 0, 0}, dim;
	bool utc = false;
	struct tm tm;
	time_t t;

	if (len > 1 && ascii_lower(s[len - 1]) == 'z') {
		utc = true;
		len--;
	} else if (len > 3 && name_eq(s + len - 3, 3, "utc")) {
		utc = true;
		len -= 3;
	}
	if (len != 8 && len != 12 && len != 14)
		return NHI_ERR_INVALID_FORMAT;
	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return NHI_ERR_INVALID_FORMAT;
	f[0] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	for (i = 4; i < len; i += 2)
		f[i / 2 - 1] = (s[i] - '0') * 10 + (s[i + 1] - '0');
	if (f[1] < 1 || f[1] > 12)
		return NHI_ERR_INVALID_FORMAT;
	dim = mdays[f[1] - 1];
	if (f[1] == 2 && f[0] % 4 == 0 && (f[0] % 100 != 0 || f[0] % 400 == 0))
		dim = 29;
	if (f[2] < 1 || f[2] > dim || f[3] > 23 || f[4] > 59 || f[5] > 59)
		return NHI_ERR_INVALID_FORMAT;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	/* tm_isdst stays 0, as in sshd, so this is the instant sshd enforces. */
	t = utc ? timegm(&tm) : mktime(&tm);
	/* sshd refuses times up to the epoch: 0 means "no expiry" there. */
	if (t <= 0)
		return NHI_ERR_INVALID_FORMAT;
	*ret = t;
	return 0;
}

/* "any" or a tunnel device number, like sshd's a2tun without a remote. */
static bool valid_tunnel(const char *s)
{
	unsigned long long n = 0;

	if (name_eq(s, strlen(s), "any"))
		return true;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!is_digit(*s))
			return false;
		n = n * 10 + (unsigned)(*s - '0');
		if (n > TUNNEL_ID_MAX)
			return false;
	}
	return true;
}

/* NAME=value with NAME of letters, digits and '_', as sshd checks it. */
static bool valid_environment(const char *s)
{
	const char *eq = strchr(s, '=');

	if (eq == NULL)
		return false;
	for (; s < eq; s++)
		if (!(is_digit(*s) || *s == '_' || (ascii_lower(*s) >= 'a' && ascii_lower(*s) <= 'z')))
			return false;
	return true;
}

/* "*" or 1..65535. */
static bool valid_port(const char *s)
{
	unsigned long n = 0;
	size_t i;

	if (strcmp(s, "*") == 0)
		return true;
	for (i = 0; s[i] != '\0'; i++) {
		if (!is_digit(s[i]) || i >= 5)
			return false;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	return i > 0 && n >= 1 && n <= 65535;
}

/* host:port, [v6]:port or host/port; permitlisten also takes a bare port. */
static bool valid_permit(const char *s, bool bare_port_ok)
{
	const char *close, *delim;
	size_t host_len;

	if (bare_port_ok && strchr(s, ':') == NULL)
		return valid_port(s);
	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return false;
		host_len = (size_t)(close - s - 1);
		delim = close + 1;
		if (*delim != ':' && *delim != '/')
			return false;
	} else {
		if ((delim = strpbrk(s, ":/")) == NULL)
			return false;
		host_len = (size_t)(delim - s);
	}
	if (host_len == 0 || host_len >= PERMIT_HOST_MAX)
		return false;
	return valid_port(delim + 1);
}

static int push_value(char ***arr, size_t *n, char *value)
{
	char **tmp;

	if (*n >= NHI_AUTHKEYS_OPTION_VALUES_MAX)
		return NHI_ERR_TOO_MANY;
	if ((tmp = realloc(*arr, (*n + 1) * sizeof(*tmp))) == NULL)
		return NHI_ERR_ALLOC;
	tmp[(*n)++] = value;
	*arr = tmp;
	return 0;
}

/* A single-valued option that sshd refuses to see twice. */
static int set_once(char **field, struct opt_tok *tok, const char *dup_reason,
		    const char **ret_reason)
{
	if (*field != NULL) {
		*ret_reason = dup_reason;
		return NHI_ERR_INVALID_FORMAT;
	}
	*field = tok->value;
	tok->value = NULL;
	return 0;
}

static bool takes_value(const char *name, size_t len)
{
	static const char *const names[] = {"command", "environment", "expiry-time", "from",
					    "permitlisten", "permitopen", "principals", "tunnel"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_eq(name, len, names[i]))
			return true;
	return false;
}

/* Applies one option to o, taking tok->value when it keeps it. */
static int apply_option(struct nhi_authkey_opts *o, struct opt_tok *tok, const char **ret_reason)
{
	const char *n = tok->name;
	size_t len = tok->name_len;
	time_t t;
	int r;

	if (tok->value == NULL) {
		if (apply_flag(o, n, len))
			return 0;
		*ret_reason = takes_value(n, len) ? "option needs a value" : "unknown option";
		return NHI_ERR_INVALID_FORMAT;
	}
	if (name_eq(n, len, "command"))
		return set_once(&o->command, tok, "command given twice", ret_reason);
	if (name_eq(n, len, "from"))
		return set_once(&o->from, tok, "from given twice", ret_reason);
	if (name_eq(n, len, "principals"))
		return set_once(&o->principals, tok, "principals given twice", ret_reason);
	if (name_eq(n, len, "expiry-time")) {
		if (parse_expiry(tok->value, &t) < 0) {
			*ret_reason = "invalid expiry-time";
			return NHI_ERR_INVALID_FORMAT;
		}
		/* sshd keeps the earliest of several. */
		if (o->expiry_time == 0 || t < o->expiry_time) {
			free(o->expiry_time_text);
			o->expiry_time_text = tok->value;
			o->expiry_time = t;
			tok->value = NULL;
		}
		return 0;
	}
	if (name_eq(n, len, "tunnel")) {
		if (!valid_tunnel(tok->value)) {
			*ret_reason = "invalid tunnel device";
			return NHI_ERR_INVALID_FORMAT;
		}
		/* sshd lets a later tunnel replace an earlier one. */
		free(o->tunnel);
		o->tunnel = tok->value;
		tok->value = NULL;
		return 0;
	}
	if (name_eq(n, len, "environment")) {
		if (!valid_environment(tok->value)) {
			*ret_reason = "invalid environment string";
			return NHI_ERR_INVALID_FORMAT;
		}
		r = push_value(&o->environment, &o->n_environment, tok->value);
	} else if (name_eq(n, len, "permitopen")) {
		if (!valid_permit(tok->value, false)) {
			*ret_reason = "invalid permitopen host:port";
			return NHI_ERR_INVALID_FORMAT;
		}
		r = push_value(&o->permitopen, &o->n_permitopen, tok->value);
	} else if (name_eq(n, len, "permitlisten")) {
		if (!valid_permit(tok->value, true)) {
			*ret_reason = "invalid permitlisten [host:]port";
			return NHI_ERR_INVALID_FORMAT;
		}
		r = push_value(&o->permitlisten, &o->n_permitlisten, tok->value);
	} else {
		*ret_reason = "unknown option";
		return NHI_ERR_INVALID_FORMAT;
	}
	if (r == NHI_ERR_TOO_MANY)
		*ret_reason = "too many values for an option";
	if (r == 0)
		tok->value = NULL;
	return r;
}

/* The options field from p; *ret_end is the blank or end after it. */
static int parse_options(const char *p, const char *end, struct nhi_authkey_opts *o,
			 const char **ret_end, const char **ret_reason)
{
	struct opt_tok tok;
	int r;

	for (;;) {
		if ((r = opt_next(&p, end, &tok, ret_reason)) < 0)
			return r;
		r = apply_option(o, &tok, ret_reason);
		free(tok.value);
		if (r < 0)
			return r;
		if (p == end || is_blank(*p))
			break;
		p++; /* ',' */
		if (p == end || is_blank(*p)) {
			*ret_reason = "trailing comma in options";
			return NHI_ERR_INVALID_FORMAT;
		}
	}
	*ret_end = p;
	return 0;
}

/* The type named by a key type token, NHI_KEY_UNKNOWN when none. */
static enum nhi_key_type key_type_of(const char *s, size_t len, bool *ret_is_cert)
{
	char name[KEY_TYPE_NAME_MAX];

	*ret_is_cert = false;
	if (len == 0 || len >= sizeof(name))
		return NHI_KEY_UNKNOWN;
	memcpy(name, s, len);
	name[len] = '\0';
	return nhi_key_type_from_name(name, ret_is_cert);
}

/* True when [p, end) looks like a key's base64: a wire string whose length
 * is below 16 MiB starts with "AAAA". Used only to pick the clearer reason. */
static bool looks_like_key_data(const char *p, const char *end)
{
	p = skip_blanks(p, end);
	return end - p >= 4 && memcmp(p, "AAAA", 4) == 0;
}

/* Comments get printed and logged: no terminal escapes, no line breaks. */
static bool comment_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char u = (unsigned char)s[i];

		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return false;
	}
	return true;
}

/* "TYPE BASE64 [COMMENT]" from p to end (no leading blanks). */
static int parse_key(const char *p, const char *end, struct nhi_authkey *ak,
		     const char **ret_reason)
{
	const char *tend, *c, *cend;
	enum nhi_key_type type;
	struct nhi_buf *blob = NULL;
	struct nhi_key *key = NULL;
	char *comment = NULL;
	bool is_cert;
	int r;

	tend = token_end(p, end);
	type = key_type_of(p, (size_t)(tend - p), &is_cert);
	if (type == NHI_KEY_UNKNOWN) {
		*ret_reason = "unknown key type";
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (is_cert) {
		*ret_reason = "a certificate, not a plain key";
		r = NHI_ERR_KEY_IS_CERT;
		goto out;
	}
	p = skip_blanks(tend, end);
	tend = token_end(p, end);
	if (p == tend) {
		*ret_reason = "missing key data";
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((blob = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_b64_decode(p, (size_t)(tend - p), blob)) < 0) {
		*ret_reason = "bad base64";
		goto out;
	}
	if ((r = nhi_key_from_blob_for_match(nhi_buf_ptr(blob), nhi_buf_len(blob), &key)) < 0) {
		if (r == NHI_ERR_KEY_IS_CERT) {
			*ret_reason = "a certificate, not a plain key";
		} else if (r == NHI_ERR_KEY_TYPE_UNKNOWN || r == NHI_ERR_KEY_TYPE_MISMATCH) {
			*ret_reason = "key type does not match its blob";
			r = NHI_ERR_KEY_TYPE_MISMATCH;
		} else if (r != NHI_ERR_ALLOC) {
			/* Truncated, trailing bytes, bad numbers: one answer for all. */
			*ret_reason = "invalid key blob";
			r = NHI_ERR_KEY_INVALID;
		}
		goto out;
	}
	if (key->type != type) {
		*ret_reason = "key type does not match its blob";
		r = NHI_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	c = skip_blanks(tend, end);
	for (cend = end; cend > c && is_blank(cend[-1]); cend--)
		;
	if (c < cend) {
		if (!comment_ok(c, (size_t)(cend - c))) {
			*ret_reason = "control character in comment";
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
		if ((comment = strndup(c, (size_t)(cend - c))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
	}
	ak->key = key;
	ak->comment = comment;
	key = NULL;
	comment = NULL;
	r = 0;
out:
	nhi_buf_free(blob);
	nhi_key_free(key);
	free(comment);
	return r;
}

int nhi_authkeys_parse_line_for_match(const char *line, size_t len, struct nhi_authkey **ret,
				      const char **ret_reason)
{
	const char *reason = NULL, *p, *end, *tend, *opts_start;
	struct nhi_authkey *ak = NULL;
	bool is_cert;
	int r;

	if (ret_reason != NULL)
		*ret_reason = NULL;
	if ((line == NULL && len != 0) || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > NHI_AUTHKEYS_LINE_MAX) {
		reason = "line too long";
		r = NHI_ERR_LINE_TOO_LONG;
		goto out;
	}
	if (len > 0 && memchr(line, '\0', len) != NULL) {
		reason = "NUL byte in line";
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if (len > 0 && memchr(line, '\n', len) != NULL) {
		reason = "newline inside line";
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	end = line + len;
	if (end > line && end[-1] == '\r')
		end--;
	p = skip_blanks(line, end);
	if (p == end || *p == '#') {
		*ret = NULL;
		return 0;
	}
	if ((ak = calloc(1, sizeof(*ak))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* Like sshd: a line that starts with a key type has no options. */
	tend = token_end(p, end);
	if (key_type_of(p, (size_t)(tend - p), &is_cert) == NHI_KEY_UNKNOWN) {
		opts_start = p;
		if ((r = parse_options(p, end, &ak->opts, &p, &reason)) < 0) {
			/* A lone word followed by key data is a key type we do not know. */
			if (r == NHI_ERR_INVALID_FORMAT && strcmp(reason, "unknown option") == 0 &&
			    memchr(opts_start, ',', (size_t)(tend - opts_start)) == NULL &&
			    memchr(opts_start, '=', (size_t)(tend - opts_start)) == NULL &&
			    looks_like_key_data(tend, end)) {
				reason = "unknown key type";
				r = NHI_ERR_KEY_TYPE_UNKNOWN;
			}
			goto out;
		}
		if ((ak->options_text = strndup(opts_start, (size_t)(p - opts_start))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		p = skip_blanks(p, end);
		if (p == end) {
			reason = "missing key after options";
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
	}
	if ((r = parse_key(p, end, ak, &reason)) < 0)
		goto out;
	*ret = ak;
	ak = NULL;
	r = 0;
out:
	if (r < 0 && ret_reason != NULL)
		*ret_reason = reason != NULL ? reason : nhi_strerror(r);
	nhi_authkey_free(ak);
	return r;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void nhi_authkey_free(struct nhi_authkey *ak)
{
	struct nhi_authkey_opts *o;

	if (ak == NULL)
		return;
	o = &ak->opts;
	free(o->command);
	free(o->from);
	free(o->principals);
	free(o->tunnel);
	free(o->expiry_time_text);
	free_strv(o->environment, o->n_environment);
	free_strv(o->permitopen, o->n_permitopen);
	free_strv(o->permitlisten, o->n_permitlisten);
	free(ak->options_text);
	nhi_key_free(ak->key);
	free(ak->comment);
	free(ak);
}

/* Appends the options of text, dropping expiry-time ones when asked; the
 * text must be a well-formed options field and nothing else, since what we
 * print sshd will read. */
static int put_options(struct nhi_buf *out, const char *text, bool drop_expiry, bool *ret_any)
{
	const char *p = text, *end = text + strlen(text), *reason;
	struct opt_tok tok;
	int r;

	while (p < end) {
		if ((r = opt_next(&p, end, &tok, &reason)) < 0)
			return r;
		free(tok.value);
		if (p < end && *p != ',')
			return NHI_ERR_INVALID_FORMAT;
		if (p < end && ++p == end)
			return NHI_ERR_INVALID_FORMAT;
		if (drop_expiry && name_eq(tok.name, tok.name_len, "expiry-time"))
			continue;
		if ((*ret_any && (r = nhi_buf_put_u8(out, ',')) < 0) ||
		    (r = nhi_buf_put(out, tok.text, tok.text_len)) < 0)
			return r;
		*ret_any = true;
	}
	return 0;
}


static int format_line(const struct nhi_authkey *ak, bool with_expiry, time_t not_after,
		       char **ret)
{
	struct nhi_buf *out = NULL;
	char *keytext = NULL, *s = NULL, stamp[32];
	bool any = false, add_expiry;
	struct tm tm;
	int r;

	/* sshd splits its input at newlines only; the options are checked
	 * further as they are copied. */
	if (ak == NULL || ak->key == NULL || ret == NULL ||
	    (ak->options_text != NULL && strchr(ak->options_text, '\n') != NULL) ||
	    (ak->comment != NULL && !comment_ok(ak->comment, strlen(ak->comment))))
		return NHI_ERR_INVALID_ARGUMENT;
	add_expiry = with_expiry && (ak->opts.expiry_time <= 0 || not_after < ak->opts.expiry_time);
	if (add_expiry) {
		if (not_after <= 0 || gmtime_r(&not_after, &tm) == NULL || tm.tm_year + 1900 > 9999)
			return NHI_ERR_INVALID_ARGUMENT;
		snprintf(stamp, sizeof(stamp), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	if ((out = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if (add_expiry) {
		if ((r = nhi_buf_put(out, "expiry-time=\"", 13)) < 0 ||
		    (r = nhi_buf_put(out, stamp, strlen(stamp))) < 0 ||
		    (r = nhi_buf_put_u8(out, '"')) < 0)
			goto out;
		any = true;
	}
	if (ak->options_text != NULL &&
	    (r = put_options(out, ak->options_text, add_expiry, &any)) < 0)
		goto out;
	if ((r = nhi_key_to_text(ak->key, ak->comment, &keytext)) < 0)
		goto out;
	if ((any && (r = nhi_buf_put_u8(out, ' ')) < 0) ||
	    (r = nhi_buf_put(out, keytext, strlen(keytext))) < 0)
		goto out;
	if ((s = malloc(nhi_buf_len(out) + 1)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	memcpy(s, nhi_buf_ptr(out), nhi_buf_len(out));
	s[nhi_buf_len(out)] = '\0';
	*ret = s;
	r = 0;
out:
	nhi_buf_free(out);
	free(keytext);
	return r;
}

int nhi_authkey_format(const struct nhi_authkey *ak, char **ret)
{
	return format_line(ak, false, 0, ret);
}

int nhi_authkey_format_with_expiry(const struct nhi_authkey *ak, time_t not_after, char **ret)
{
	return format_line(ak, true, not_after, ret);
}
