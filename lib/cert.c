#include "config.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cert.h"
#include "err.h"

#define CERT_NONCE_BYTES 32u

/* The critical options sshd understands; anything else makes it refuse. */
static const char *const known_critical[] = {
	"force-command",
	"source-address",
	"verify-required",
};

static const char *const default_extensions[] = {
	"permit-X11-forwarding",
	"permit-agent-forwarding",
	"permit-port-forwarding",
	"permit-pty",
	"permit-user-rc",
};

static void free_options(struct nhi_cert_option *opts, size_t n)
{
	size_t i;

	if (opts == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(opts[i].name);
		free(opts[i].value);
	}
	free(opts);
}

static void free_principals(char **principals, size_t n)
{
	size_t i;

	if (principals == NULL)
		return;
	for (i = 0; i < n; i++)
		free(principals[i]);
	free(principals);
}

struct nhi_cert *nhi_cert_new(void)
{
	struct nhi_cert *cert = calloc(1, sizeof(*cert));

	if (cert != NULL)
		cert->type = NHI_CERT_TYPE_USER;
	return cert;
}

void nhi_cert_free(struct nhi_cert *cert)
{
	if (cert == NULL)
		return;
	nhi_key_free(cert->key);
	free(cert->nonce);
	free(cert->key_id);
	free_principals(cert->principals, cert->n_principals);
	free_options(cert->critical, cert->n_critical);
	free_options(cert->extensions, cert->n_extensions);
	nhi_key_free(cert->signature_key);
	nhi_buf_free(cert->blob);
	free(cert);
}

/* Any change makes the stored blob stale: drop it so that it is never
 * handed out with contents that differ from the fields. */
static void invalidate_blob(struct nhi_cert *cert)
{
	nhi_buf_free(cert->blob);
	cert->blob = NULL;
	cert->signed_len = 0;
}

int nhi_cert_set_key(struct nhi_cert *cert, const struct nhi_key *subject)
{
	struct nhi_key *copy = NULL;
	int r;

	if (cert == NULL || subject == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (subject->type == NHI_KEY_DSA)
		return NHI_ERR_KEY_REFUSED;
	if (nhi_key_cert_type_name(subject->type) == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if ((r = nhi_key_dup(subject, &copy)) < 0)
		return r;
	nhi_key_free(cert->key);
	cert->key = copy;
	invalidate_blob(cert);
	return 0;
}

int nhi_cert_set_key_id(struct nhi_cert *cert, const char *key_id)
{
	char *copy;

	if (cert == NULL || key_id == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((copy = strdup(key_id)) == NULL)
		return NHI_ERR_ALLOC;
	free(cert->key_id);
	cert->key_id = copy;
	invalidate_blob(cert);
	return 0;
}

int nhi_cert_add_principal(struct nhi_cert *cert, const char *principal)
{
	char **grown, *copy;
	size_t i;

	if (cert == NULL || principal == NULL || *principal == '\0')
		return NHI_ERR_INVALID_ARGUMENT;
	for (i = 0; i < cert->n_principals; i++) {
		if (strcmp(cert->principals[i], principal) == 0)
			return 0;
	}
	if (cert->n_principals >= NHI_CERT_PRINCIPALS_MAX)
		return NHI_ERR_TOO_MANY;
	if ((copy = strdup(principal)) == NULL)
		return NHI_ERR_ALLOC;
	grown = realloc(cert->principals, (cert->n_principals + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(copy);
		return NHI_ERR_ALLOC;
	}
	grown[cert->n_principals++] = copy;
	cert->principals = grown;
	invalidate_blob(cert);
	return 0;
}

/* Inserts or replaces name in a list kept in strcmp (bytewise) order. */
static int set_option(struct nhi_cert_option **opts, size_t *n, const char *name, const char *value)
{
	struct nhi_cert_option *grown;
	uint8_t *vcopy = NULL;
	char *ncopy = NULL;
	size_t i, vlen = 0;
	int c = 1;

	if (name == NULL || *name == '\0')
		return NHI_ERR_INVALID_ARGUMENT;
	for (i = 0; i < *n; i++) {
		if ((c = strcmp((*opts)[i].name, name)) >= 0)
			break;
	}
	if (c != 0 && *n >= NHI_CERT_OPTIONS_MAX)
		return NHI_ERR_TOO_MANY;
	if (value != NULL) {
		vlen = strlen(value);
		if ((vcopy = malloc(vlen + 1)) == NULL)
			return NHI_ERR_ALLOC;
		memcpy(vcopy, value, vlen + 1);
	}
	if (c == 0) {
		free((*opts)[i].value);
		(*opts)[i].value = vcopy;
		(*opts)[i].value_len = vlen;
		return 0;
	}
	if ((ncopy = strdup(name)) == NULL ||
	    (grown = realloc(*opts, (*n + 1) * sizeof(*grown))) == NULL) {
		free(ncopy);
		free(vcopy);
		return NHI_ERR_ALLOC;
	}
	memmove(&grown[i + 1], &grown[i], (*n - i) * sizeof(*grown));
	grown[i].name = ncopy;
	grown[i].value = vcopy;
	grown[i].value_len = vlen;
	*opts = grown;
	(*n)++;
	return 0;
}

int nhi_cert_set_critical(struct nhi_cert *cert, const char *name, const char *value)
{
	int r;

	if (cert == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = set_option(&cert->critical, &cert->n_critical, name, value)) < 0)
		return r;
	invalidate_blob(cert);
	return 0;
}

int nhi_cert_set_extension(struct nhi_cert *cert, const char *name, const char *value)
{
	int r;

	if (cert == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = set_option(&cert->extensions, &cert->n_extensions, name, value)) < 0)
		return r;
	invalidate_blob(cert);
	return 0;
}

int nhi_cert_set_default_extensions(struct nhi_cert *cert)
{
	size_t i;
	int r;

	if (cert == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	for (i = 0; i < sizeof(default_extensions) / sizeof(default_extensions[0]); i++) {
		if ((r = nhi_cert_set_extension(cert, default_extensions[i], NULL)) < 0)
			return r;
	}
	return 0;
}

static const struct nhi_cert_option *find_option(const struct nhi_cert_option *opts, size_t n,
						 const char *name)
{
	size_t i;

	if (opts == NULL || name == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	}
	return NULL;
}

const struct nhi_cert_option *nhi_cert_find_critical(const struct nhi_cert *cert, const char *name)
{
	return cert == NULL ? NULL : find_option(cert->critical, cert->n_critical, name);
}

const struct nhi_cert_option *nhi_cert_find_extension(const struct nhi_cert *cert, const char *name)
{
	return cert == NULL ? NULL : find_option(cert->extensions, cert->n_extensions, name);
}

/* Packs options as string name, string data; data wraps a valued option's
 * contents in one more string and is empty for a flag. */
static int put_options(struct nhi_buf *out, const struct nhi_cert_option *opts, size_t n)
{
	struct nhi_buf *list = NULL, *data = NULL;
	size_t i;
	int r;

	if ((list = nhi_buf_new()) == NULL || (data = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		nhi_buf_reset(data);
		if (opts[i].value != NULL &&
		    (r = nhi_buf_put_string(data, opts[i].value, opts[i].value_len)) < 0)
			goto out;
		if ((r = nhi_buf_put_cstring(list, opts[i].name)) < 0 ||
		    (r = nhi_buf_put_stringb(list, data)) < 0)
			goto out;
	}
	r = nhi_buf_put_stringb(out, list);
out:
	nhi_buf_free(list);
	nhi_buf_free(data);
	return r;
}

static int put_principals(struct nhi_buf *out, char *const *principals, size_t n)
{
	struct nhi_buf *list;
	size_t i;
	int r = 0;

	if ((list = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	for (i = 0; i < n && r == 0; i++)
		r = nhi_buf_put_cstring(list, principals[i]);
	if (r == 0)
		r = nhi_buf_put_stringb(out, list);
	nhi_buf_free(list);
	return r;
}

int nhi_cert_sign(struct nhi_cert *cert, const struct nhi_ca_key *ca)
{
	struct nhi_buf *blob = NULL, *cakey_blob = NULL, *sig = NULL;
	struct nhi_key *ca_pub = NULL;
	uint8_t *nonce = NULL;
	const char *tname;
	size_t signed_len;
	int r;

	if (cert == NULL || ca == NULL || cert->key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (cert->type != NHI_CERT_TYPE_USER && cert->type != NHI_CERT_TYPE_HOST)
		return NHI_ERR_INVALID_ARGUMENT;
	/* An empty or inverted window would be a certificate nobody can use;
	 * refusing it catches a caller that forgot to set the validity. */
	if (cert->valid_after >= cert->valid_before)
		return NHI_ERR_INVALID_ARGUMENT;
	if (cert->key->type == NHI_KEY_DSA)
		return NHI_ERR_KEY_REFUSED;
	if ((tname = nhi_key_cert_type_name(cert->key->type)) == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;

	if ((nonce = malloc(CERT_NONCE_BYTES)) == NULL || (blob = nhi_buf_new()) == NULL ||
	    (cakey_blob = nhi_buf_new()) == NULL || (sig = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	randombytes_buf(nonce, CERT_NONCE_BYTES);
	if ((r = nhi_ca_public(ca, &ca_pub)) < 0 || (r = nhi_key_to_blob(ca_pub, cakey_blob)) < 0)
		goto out;

	if ((r = nhi_buf_put_cstring(blob, tname)) < 0 ||
	    (r = nhi_buf_put_string(blob, nonce, CERT_NONCE_BYTES)) < 0 ||
	    (r = nhi_key_put_pubfields(blob, cert->key)) < 0 ||
	    (r = nhi_buf_put_u64(blob, cert->serial)) < 0 ||
	    (r = nhi_buf_put_u32(blob, cert->type)) < 0 ||
	    (r = nhi_buf_put_cstring(blob, cert->key_id != NULL ? cert->key_id : "")) < 0 ||
	    (r = put_principals(blob, cert->principals, cert->n_principals)) < 0 ||
	    (r = nhi_buf_put_u64(blob, cert->valid_after)) < 0 ||
	    (r = nhi_buf_put_u64(blob, cert->valid_before)) < 0 ||
	    (r = put_options(blob, cert->critical, cert->n_critical)) < 0 ||
	    (r = put_options(blob, cert->extensions, cert->n_extensions)) < 0 ||
	    (r = nhi_buf_put_string(blob, NULL, 0)) < 0 ||
	    (r = nhi_buf_put_stringb(blob, cakey_blob)) < 0)
		goto out;
	signed_len = nhi_buf_len(blob);
	if ((r = nhi_ca_sign(ca, nhi_buf_ptr(blob), signed_len, sig)) < 0 ||
	    (r = nhi_buf_put_stringb(blob, sig)) < 0)
		goto out;

	free(cert->nonce);
	cert->nonce = nonce;
	cert->nonce_len = CERT_NONCE_BYTES;
	nonce = NULL;
	nhi_key_free(cert->signature_key);
	cert->signature_key = ca_pub;
	ca_pub = NULL;
	nhi_buf_free(cert->blob);
	cert->blob = blob;
	blob = NULL;
	cert->signed_len = signed_len;
	r = 0;
out:
	free(nonce);
	nhi_key_free(ca_pub);
	nhi_buf_free(blob);
	nhi_buf_free(cakey_blob);
	nhi_buf_free(sig);
	return r;
}

int nhi_cert_to_blob(const struct nhi_cert *cert, struct nhi_buf *out)
{
	if (cert == NULL || out == NULL || cert->blob == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return nhi_buf_put(out, nhi_buf_ptr(cert->blob), nhi_buf_len(cert->blob));
}

static bool has_line_break(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

int nhi_cert_to_text(const struct nhi_cert *cert, const char *comment, char **ret)
{
	const char *tname;
	char *b64 = NULL, *text = NULL;
	size_t len;
	int r;

	if (cert == NULL || ret == NULL || cert->blob == NULL || cert->key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	/* A comment with a line break would forge a second line in a .pub file. */
	if (has_line_break(comment))
		return NHI_ERR_INVALID_ARGUMENT;
	if ((tname = nhi_key_cert_type_name(cert->key->type)) == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if ((r = nhi_b64_encode(nhi_buf_ptr(cert->blob), nhi_buf_len(cert->blob), &b64)) < 0)
		return r;
	len = strlen(tname) + 1 + strlen(b64) + 1;
	if (comment != NULL && *comment != '\0')
		len += 1 + strlen(comment);
	if ((text = malloc(len)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if (comment != NULL && *comment != '\0')
		snprintf(text, len, "%s %s %s", tname, b64, comment);
	else
		snprintf(text, len, "%s %s", tname, b64);
	*ret = text;
	r = 0;
out:
	free(b64);
	return r;
}

/* Reads a packed option list: names unique, non-empty and in strictly
 * increasing bytewise order; each data empty (a flag) or exactly one
 * string (a value). */
static int get_options(struct nhi_buf *b, struct nhi_cert_option **ret, size_t *ret_n)
{
	struct nhi_cert_option *opts = NULL, *grown;
	struct nhi_buf *list = NULL, *data = NULL;
	const char *prev = NULL;
	size_t n = 0;
	int r;

	if ((r = nhi_buf_get_stringb(b, &list)) < 0)
		goto out;
	while (nhi_buf_len(list) > 0) {
		struct nhi_cert_option opt = { 0 };

		if (n >= NHI_CERT_OPTIONS_MAX) {
			r = NHI_ERR_TOO_MANY;
			goto out;
		}
		if ((r = nhi_buf_get_cstring(list, &opt.name, NULL)) < 0)
			goto out;
		if (*opt.name == '\0' || (prev != NULL && strcmp(prev, opt.name) >= 0)) {
			free(opt.name);
			r = NHI_ERR_CERT_OPTIONS;
			goto out;
		}
		nhi_buf_free(data);
		data = NULL;
		if ((r = nhi_buf_get_stringb(list, &data)) < 0) {
			free(opt.name);
			goto out;
		}
		if (nhi_buf_len(data) > 0) {
			if ((r = nhi_buf_get_string(data, &opt.value, &opt.value_len)) == 0 &&
			    nhi_buf_len(data) != 0)
				r = NHI_ERR_INVALID_FORMAT;
			if (r < 0) {
				free(opt.name);
				free(opt.value);
				goto out;
			}
		}
		if ((grown = realloc(opts, (n + 1) * sizeof(*grown))) == NULL) {
			free(opt.name);
			free(opt.value);
			r = NHI_ERR_ALLOC;
			goto out;
		}
		opts = grown;
		opts[n++] = opt;
		prev = opt.name;
	}
	*ret = opts;
	*ret_n = n;
	opts = NULL;
	n = 0;
	r = 0;
out:
	free_options(opts, n);
	nhi_buf_free(list);
	nhi_buf_free(data);
	return r;
}

static int get_principals(struct nhi_buf *b, char ***ret, size_t *ret_n)
{
	struct nhi_buf *list = NULL;
	char **principals = NULL, **grown, *p;
	size_t n = 0;
	int r;

	if ((r = nhi_buf_get_stringb(b, &list)) < 0)
		goto out;
	while (nhi_buf_len(list) > 0) {
		if (n >= NHI_CERT_PRINCIPALS_MAX) {
			r = NHI_ERR_TOO_MANY;
			goto out;
		}
		if ((r = nhi_buf_get_cstring(list, &p, NULL)) < 0)
			goto out;
		if ((grown = realloc(principals, (n + 1) * sizeof(*grown))) == NULL) {
			free(p);
			r = NHI_ERR_ALLOC;
			goto out;
		}
		principals = grown;
		principals[n++] = p;
	}
	*ret = principals;
	*ret_n = n;
	principals = NULL;
	n = 0;
	r = 0;
out:
	free_principals(principals, n);
	nhi_buf_free(list);
	return r;
}

/* The CA key must be a plain key: a certificate cannot sign certificates. */
static int get_signature_key(struct nhi_buf *b, struct nhi_key **ret)
{
	struct nhi_buf *kb = NULL;
	const uint8_t *p;
	size_t len;
	char *name = NULL;
	bool is_cert = false;
	int r;

	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if ((kb = nhi_buf_from(p, len)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_cstring(kb, &name, NULL)) < 0)
		goto out;
	if (nhi_key_type_from_name(name, &is_cert) == NHI_KEY_UNKNOWN) {
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (is_cert) {
		r = NHI_ERR_KEY_IS_CERT;
		goto out;
	}
	r = nhi_key_from_blob(p, len, ret);
out:
	free(name);
	nhi_buf_free(kb);
	return r;
}

int nhi_cert_from_blob(const uint8_t *blob, size_t len, struct nhi_cert **ret)
{
	struct nhi_cert *cert = NULL;
	struct nhi_buf *b = NULL;
	enum nhi_key_type ktype;
	const uint8_t *sig;
	size_t siglen, signed_len;
	char *name = NULL;
	bool is_cert = false;
	int r;

	if ((blob == NULL && len != 0) || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > NHI_BUF_SIZE_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	if ((b = nhi_buf_from(blob, len)) == NULL || (cert = nhi_cert_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_buf_get_cstring(b, &name, NULL)) < 0)
		goto out;
	if ((ktype = nhi_key_type_from_name(name, &is_cert)) == NHI_KEY_UNKNOWN) {
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (!is_cert) {
		r = NHI_ERR_KEY_NOT_CERT;
		goto out;
	}
	if ((r = nhi_buf_get_string(b, &cert->nonce, &cert->nonce_len)) < 0 ||
	    (r = nhi_key_get_pubfields(b, ktype, &cert->key)) < 0 ||
	    (r = nhi_buf_get_u64(b, &cert->serial)) < 0 ||
	    (r = nhi_buf_get_u32(b, &cert->type)) < 0)
		goto out;
	if (cert->type != NHI_CERT_TYPE_USER && cert->type != NHI_CERT_TYPE_HOST) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = nhi_buf_get_cstring(b, &cert->key_id, NULL)) < 0 ||
	    (r = get_principals(b, &cert->principals, &cert->n_principals)) < 0 ||
	    (r = nhi_buf_get_u64(b, &cert->valid_after)) < 0 ||
	    (r = nhi_buf_get_u64(b, &cert->valid_before)) < 0 ||
	    (r = get_options(b, &cert->critical, &cert->n_critical)) < 0 ||
	    (r = get_options(b, &cert->extensions, &cert->n_extensions)) < 0 ||
	    /* reserved: ignored, as OpenSSH does */
	    (r = nhi_buf_get_string_direct(b, NULL, NULL)) < 0 ||
	    (r = get_signature_key(b, &cert->signature_key)) < 0)
		goto out;
	signed_len = len - nhi_buf_len(b);
	if ((r = nhi_buf_get_string_direct(b, &sig, &siglen)) < 0)
		goto out;
	if (siglen == 0 || nhi_buf_len(b) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((cert->blob = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_buf_put(cert->blob, blob, len)) < 0)
		goto out;
	cert->signed_len = signed_len;
	*ret = cert;
	cert = NULL;
	r = 0;
out:
	free(name);
	nhi_buf_free(b);
	nhi_cert_free(cert);
	return r;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int nhi_cert_from_text(const char *text, struct nhi_cert **ret, char **ret_comment)
{
	struct nhi_cert *cert = NULL;
	struct nhi_buf *bin = NULL, *view = NULL;
	const char *p, *end, *type, *b64, *comment = NULL;
	size_t type_len, b64_len, tlen;
	char *cmt = NULL, *bname = NULL;
	int r;

	if (text == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((tlen = strnlen(text, NHI_KEY_TEXT_MAX + 1)) > NHI_KEY_TEXT_MAX)
		return NHI_ERR_LINE_TOO_LONG;
	p = text;
	end = text + tlen;
	/* A trailing newline (as read from a file) and blanks are not content. */
	while (end > p && (is_blank(end[-1]) || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end && is_blank(*p))
		p++;
	type = p;
	while (p < end && !is_blank(*p))
		p++;
	type_len = (size_t)(p - type);
	while (p < end && is_blank(*p))
		p++;
	b64 = p;
	while (p < end && !is_blank(*p))
		p++;
	b64_len = (size_t)(p - b64);
	while (p < end && is_blank(*p))
		p++;
	if (p < end)
		comment = p;
	if (type_len == 0 || b64_len == 0)
		return NHI_ERR_INVALID_FORMAT;
	if (memchr(type, '\n', (size_t)(end - type)) != NULL ||
	    memchr(type, '\r', (size_t)(end - type)) != NULL)
		return NHI_ERR_INVALID_FORMAT;

	if ((bin = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_b64_decode(b64, b64_len, bin)) < 0 ||
	    (r = nhi_cert_from_blob(nhi_buf_ptr(bin), nhi_buf_len(bin), &cert)) < 0)
		goto out;
	/* The name before the base64 must be the one inside the blob. */
	if ((view = nhi_buf_from(nhi_buf_ptr(bin), nhi_buf_len(bin))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_buf_get_cstring(view, &bname, NULL)) < 0)
		goto out;
	if (strlen(bname) != type_len || memcmp(bname, type, type_len) != 0) {
		r = NHI_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if (comment != NULL && ret_comment != NULL &&
	    (cmt = strndup(comment, (size_t)(end - comment))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	*ret = cert;
	cert = NULL;
	if (ret_comment != NULL)
		*ret_comment = cmt;
	r = 0;
out:
	free(bname);
	nhi_buf_free(view);
	nhi_buf_free(bin);
	nhi_cert_free(cert);
	return r;
}

int nhi_cert_verify_signature(const struct nhi_cert *cert)
{
	struct nhi_buf *tail = NULL;
	const uint8_t *data, *sig;
	size_t len, siglen;
	int r;

	if (cert == NULL || cert->blob == NULL || cert->signature_key == NULL ||
	    cert->signed_len == 0)
		return NHI_ERR_INVALID_ARGUMENT;
	data = nhi_buf_ptr(cert->blob);
	len = nhi_buf_len(cert->blob);
	if (cert->signed_len >= len)
		return NHI_ERR_INVALID_FORMAT;
	if ((tail = nhi_buf_from(data + cert->signed_len, len - cert->signed_len)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_string_direct(tail, &sig, &siglen)) < 0)
		goto out;
	if (nhi_buf_len(tail) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	r = nhi_key_verify(cert->signature_key, sig, siglen, data, cert->signed_len);
out:
	nhi_buf_free(tail);
	return r;
}

/* source-address: a comma-separated list of addr[/bits], as sshd accepts. */
static bool valid_cidr_list(const uint8_t *v, size_t len)
{
	char item[INET6_ADDRSTRLEN + 8], *slash, *endp;
	unsigned char addr[sizeof(struct in6_addr)];
	const uint8_t *p = v, *comma;
	unsigned long bits, maxbits;
	size_t n;

	if (v == NULL || len == 0 || memchr(v, '\0', len) != NULL)
		return false;
	while (p <= v + len) {
		comma = memchr(p, ',', (size_t)(v + len - p));
		n = (size_t)((comma != NULL ? comma : v + len) - p);
		if (n == 0 || n >= sizeof(item))
			return false;
		memcpy(item, p, n);
		item[n] = '\0';
		if ((slash = strchr(item, '/')) != NULL)
			*slash++ = '\0';
		if (inet_pton(AF_INET, item, addr) == 1)
			maxbits = 32;
		else if (inet_pton(AF_INET6, item, addr) == 1)
			maxbits = 128;
		else
			return false;
		if (slash != NULL) {
			if (*slash < '0' || *slash > '9')
				return false;
			bits = strtoul(slash, &endp, 10);
			if (*endp != '\0' || bits > maxbits)
				return false;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return true;
}

/* Every critical option must be one sshd knows, in the form it expects:
 * sshd refuses the certificate otherwise, and so do we. */
static int check_critical(const struct nhi_cert *cert)
{
	const struct nhi_cert_option *o;
	size_t i, k;
	bool known;

	for (i = 0; i < cert->n_critical; i++) {
		o = &cert->critical[i];
		known = false;
		for (k = 0; k < sizeof(known_critical) / sizeof(known_critical[0]); k++) {
			if (strcmp(o->name, known_critical[k]) == 0)
				known = true;
		}
		if (!known)
			return NHI_ERR_CERT_OPTIONS;
		if (strcmp(o->name, "verify-required") == 0) {
			if (o->value != NULL)
				return NHI_ERR_CERT_OPTIONS;
		} else if (strcmp(o->name, "force-command") == 0) {
			if (o->value == NULL || memchr(o->value, '\0', o->value_len) != NULL)
				return NHI_ERR_CERT_OPTIONS;
		} else if (!valid_cidr_list(o->value, o->value_len)) {
			return NHI_ERR_CERT_OPTIONS;
		}
	}
	return 0;
}

int nhi_cert_check_user(const struct nhi_cert *cert, const struct nhi_key *trusted_ca,
			const char *principal, uint64_t now)
{
	size_t i;
	bool listed = false;
	int r;

	if (cert == NULL || cert->key == NULL || cert->signature_key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (trusted_ca != NULL && !nhi_key_equal(cert->signature_key, trusted_ca))
		return NHI_ERR_CERT_WRONG_CA;
	if (nhi_key_policy(cert->signature_key, NULL) == NHI_KEY_REFUSED ||
	    nhi_key_policy(cert->key, NULL) == NHI_KEY_REFUSED)
		return NHI_ERR_KEY_REFUSED;
	if ((r = nhi_cert_verify_signature(cert)) < 0)
		return r;
	if (cert->type != NHI_CERT_TYPE_USER)
		return NHI_ERR_KEY_TYPE_MISMATCH;
	if (now < cert->valid_after)
		return NHI_ERR_CERT_NOT_YET_VALID;
	if (now >= cert->valid_before)
		return NHI_ERR_CERT_EXPIRED;
	if (principal != NULL) {
		/* As sshd with TrustedUserCAKeys: an empty list matches nobody. */
		for (i = 0; i < cert->n_principals && !listed; i++)
			listed = strcmp(cert->principals[i], principal) == 0;
		if (!listed)
			return NHI_ERR_CERT_PRINCIPAL;
	}
	return check_critical(cert);
}
