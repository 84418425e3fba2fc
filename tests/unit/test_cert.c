#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "buf.h"
#include "cakey.h"
#include "cert.h"
#include "err.h"
#include "sshkey.h"
#include "support.h"

/* Security-key public keys cannot be made without a token, so these are
 * fixed vectors: an Ed25519 and a P-256 point with application "ssh:". */
static const char sk_ed25519_pub[] =
	"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJgRHE9wFyGfUBb7b"
	"qAEOpmXTTC3UlfwRTFA/ucek80xAAAABHNzaDo= sk1";
static const char sk_ecdsa_pub[] =
	"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAA"
	"AIbmlzdHAyNTYAAABBBNgmJ8XY/piv4mNUaZx1DVZRtNtyWLScnfTAzKwd4S2Ypp/OaOygl/1/8Ym5f3RjWPCAh1t"
	"EbSqcjMnMQxTSqBUAAAAEc3NoOg== sk2";

#define VALID_FROM 1700000000u /* 2023-11-14T22:13:20Z */
#define VALID_TO 1700003600u

/* ---- helpers ---- */

static void keygen(const char *dir, const char *name, const char *type, const char *bits)
{
	char *path = test_path(dir, name), *out = NULL;
	char *argv[] = { (char *)test_ssh_keygen(), "-q", "-t", (char *)type, "-N", "", "-C", "t",
			 "-f", path, bits != NULL ? "-b" : NULL, (char *)bits, NULL };

	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -t %s: %s", type, out);
	free(out);
	free(path);
}

static struct nhi_key *load_pub(const char *dir, const char *name)
{
	char *file, *path, *text;
	struct nhi_key *key = NULL;

	cr_assert(asprintf(&file, "%s.pub", name) > 0);
	path = test_path(dir, file);
	text = test_read_file(path, NULL);
	cr_assert_eq(nhi_key_from_text(text, &key, NULL), 0, "cannot read %s", path);
	free(text);
	free(path);
	free(file);
	return key;
}

static struct nhi_ca_key *new_ca(void)
{
	struct nhi_ca_key *ca = NULL;

	cr_assert_eq(nhi_ca_generate(&ca), 0);
	return ca;
}

static struct nhi_key *ca_pub(const struct nhi_ca_key *ca)
{
	struct nhi_key *k = NULL;

	cr_assert_eq(nhi_ca_public(ca, &k), 0);
	return k;
}

/* A user certificate for subject with one value of everything. */
static struct nhi_cert *simple_cert(const struct nhi_key *subject, const struct nhi_ca_key *ca,
				    uint64_t from, uint64_t to)
{
	struct nhi_cert *c = nhi_cert_new();

	cr_assert_not_null(c);
	cr_assert_eq(nhi_cert_set_key(c, subject), 0);
	cr_assert_eq(nhi_cert_set_key_id(c, "nhi:alice:7"), 0);
	cr_assert_eq(nhi_cert_add_principal(c, "alice"), 0);
	cr_assert_eq(nhi_cert_add_principal(c, "deploy"), 0);
	c->serial = 7;
	c->valid_after = from;
	c->valid_before = to;
	cr_assert_eq(nhi_cert_set_critical(c, "source-address", "127.0.0.1/32,::1"), 0);
	cr_assert_eq(nhi_cert_set_critical(c, "force-command", "/bin/true"), 0);
	cr_assert_eq(nhi_cert_set_default_extensions(c), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "custom@example.com", "hello"), 0);
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	return c;
}

static struct nhi_buf *cert_blob(const struct nhi_cert *c)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_cert_to_blob(c, b), 0);
	return b;
}

/* Parses a copy of exactly len bytes, so that a sanitizer sees any overread. */
static int parse_exact(const uint8_t *data, size_t len, struct nhi_cert **ret)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int r;

	cr_assert_not_null(copy);
	if (len > 0)
		memcpy(copy, data, len);
	r = nhi_cert_from_blob(len > 0 ? copy : NULL, len, ret);
	free(copy);
	return r;
}

static void fmt_time(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	cr_assert_not_null(gmtime_r(&tt, &tm));
	cr_assert(strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm) > 0);
}

/* Lines of text, each trimmed of surrounding blanks. */
static char **split_lines(const char *text, size_t *ret_n)
{
	char **lines = NULL, *copy = strdup(text), *save = NULL, *line;
	size_t n = 0;

	cr_assert_not_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *s = line, *e = line + strlen(line);

		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		cr_assert_not_null(lines);
		lines[n++] = strndup(s, (size_t)(e - s));
	}
	free(copy);
	*ret_n = n;
	return lines;
}

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

struct expect {
	size_t n;
	char *lines[128];
};

static void expect_add(struct expect *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_add(struct expect *e, const char *fmt, ...)
{
	va_list ap;

	cr_assert_lt(e->n, sizeof(e->lines) / sizeof(e->lines[0]));
	va_start(ap, fmt);
	cr_assert(vasprintf(&e->lines[e->n++], fmt, ap) >= 0);
	va_end(ap);
}

static void expect_options(struct expect *e, const char *title,
			   const struct nhi_cert_option *opts, size_t n, int critical)
{
	static const char *const known_flags[] = {
		"no-touch-required",     "permit-X11-forwarding", "permit-agent-forwarding",
		"permit-port-forwarding", "permit-pty",          "permit-user-rc",
	};

	if (n == 0) {
		expect_add(e, "%s: (none)", title);
		return;
	}
	expect_add(e, "%s:", title);
	for (size_t i = 0; i < n; i++) {
		const char *name = opts[i].name;
		int flag = 0;

		for (size_t k = 0; k < sizeof(known_flags) / sizeof(known_flags[0]); k++)
			flag |= !critical && strcmp(name, known_flags[k]) == 0;
		flag |= critical && strcmp(name, "verify-required") == 0;
		if (flag) {
			expect_add(e, "%s", name);
		} else if (critical && (strcmp(name, "force-command") == 0 ||
					strcmp(name, "source-address") == 0)) {
			expect_add(e, "%s %s", name, (const char *)opts[i].value);
		} else if (opts[i].value == NULL) {
			expect_add(e, "%s UNKNOWN FLAG OPTION", name);
		} else {
			/* ssh-keygen dumps the option data (our inner string) in hex. */
			char hex[512] = "";
			size_t len = 4 + opts[i].value_len, pos = 0;
			uint8_t data[4 + 200];

			cr_assert_lt(opts[i].value_len, 200);
			data[0] = (uint8_t)(opts[i].value_len >> 24);
			data[1] = (uint8_t)(opts[i].value_len >> 16);
			data[2] = (uint8_t)(opts[i].value_len >> 8);
			data[3] = (uint8_t)opts[i].value_len;
			memcpy(data + 4, opts[i].value, opts[i].value_len);
			for (size_t k = 0; k < len; k++)
				pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, "%02x", data[k]);
			expect_add(e, "%s UNKNOWN OPTION: %s (len %zu)", name, hex, len);
		}
	}
}

static const char *cert_label(enum nhi_key_type t)
{
	switch (t) {
	case NHI_KEY_ED25519: return "ED25519-CERT";
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521: return "ECDSA-CERT";
	case NHI_KEY_RSA: return "RSA-CERT";
	case NHI_KEY_SK_ED25519: return "ED25519-SK-CERT";
	case NHI_KEY_SK_ECDSA_P256: return "ECDSA-SK-CERT";
	default: return "?";
	}
}

/* Writes cert as dir/name-cert.pub and checks that ssh-keygen -L prints
 * exactly the values the certificate holds, line by line. */
static void check_with_ssh_keygen(const char *dir, const char *name, const struct nhi_cert *c)
{
	char subject_fp[NHI_FINGERPRINT_MAX], ca_fp[NHI_FINGERPRINT_MAX], from[32], to[32];
	char *file, *path, *text, *line, *out = NULL;
	char *argv[] = { (char *)test_ssh_keygen(), "-L", "-f", NULL, NULL };
	struct expect e = { 0 };
	size_t n = 0;
	char **lines;

	cr_assert(asprintf(&file, "%s-cert.pub", name) > 0);
	path = test_path(dir, file);
	cr_assert_eq(nhi_cert_to_text(c, "test", &text), 0);
	cr_assert(asprintf(&line, "%s\n", text) > 0);
	test_write_file(path, line, strlen(line), 0644);

	/* ssh-keygen prints local time. */
	cr_assert_eq(setenv("TZ", "UTC", 1), 0);
	argv[3] = path;
	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -L failed: %s", out);

	cr_assert_eq(nhi_key_fingerprint(c->key, subject_fp), 0);
	cr_assert_eq(nhi_key_fingerprint(c->signature_key, ca_fp), 0);
	expect_add(&e, "%s:", path);
	expect_add(&e, "Type: %s %s certificate", nhi_key_cert_type_name(c->key->type),
		   c->type == NHI_CERT_TYPE_USER ? "user" : "host");
	expect_add(&e, "Public key: %s %s", cert_label(c->key->type), subject_fp);
	expect_add(&e, "Signing CA: ED25519 %s (using ssh-ed25519)", ca_fp);
	expect_add(&e, "Key ID: \"%s\"", c->key_id);
	expect_add(&e, "Serial: %" PRIu64, c->serial);
	fmt_time(c->valid_after, from, sizeof(from));
	if (c->valid_before != UINT64_MAX)
		fmt_time(c->valid_before, to, sizeof(to));
	if (c->valid_after == 0 && c->valid_before == UINT64_MAX)
		expect_add(&e, "Valid: forever");
	else if (c->valid_before == UINT64_MAX)
		expect_add(&e, "Valid: after %s", from);
	else
		expect_add(&e, "Valid: from %s to %s", from, to);
	if (c->n_principals == 0)
		expect_add(&e, "Principals: (none)");
	else
		expect_add(&e, "Principals:");
	for (size_t i = 0; i < c->n_principals; i++)
		expect_add(&e, "%s", c->principals[i]);
	expect_options(&e, "Critical Options", c->critical, c->n_critical, 1);
	expect_options(&e, "Extensions", c->extensions, c->n_extensions, 0);

	lines = split_lines(out, &n);
	for (size_t i = 0; i < e.n && i < n; i++)
		cr_expect_str_eq(lines[i], e.lines[i], "ssh-keygen -L line %zu", i);
	cr_assert_eq(n, e.n, "ssh-keygen -L printed %zu lines, expected %zu:\n%s", n, e.n, out);

	for (size_t i = 0; i < e.n; i++)
		free(e.lines[i]);
	free_lines(lines, n);
	free(out);
	free(line);
	free(text);
	free(path);
	free(file);
}

/* Signs a certificate with every kind of field for subject, checks that
 * ssh-keygen reads back our values and that our parser does too. */
static void sign_and_cross_check(const char *dir, const char *name, const struct nhi_key *subject,
				 uint64_t serial, int verify_required, int forever)
{
	struct nhi_ca_key *ca = new_ca();
	struct nhi_cert *c = nhi_cert_new(), *back = NULL;
	struct nhi_buf *b1, *b2;
	char *text = NULL, *comment = NULL, *kid;

	cr_assert_not_null(c);
	cr_assert_eq(nhi_cert_set_key(c, subject), 0);
	cr_assert(asprintf(&kid, "nhi:alice:%" PRIu64, serial) > 0);
	cr_assert_eq(nhi_cert_set_key_id(c, kid), 0);
	cr_assert_eq(nhi_cert_add_principal(c, "alice"), 0);
	cr_assert_eq(nhi_cert_add_principal(c, "deploy"), 0);
	cr_assert_eq(nhi_cert_add_principal(c, "ops-team"), 0);
	c->serial = serial;
	c->valid_after = forever ? 0 : VALID_FROM;
	c->valid_before = forever ? UINT64_MAX : VALID_TO;
	/* Set out of order: the certificate must hold them sorted. */
	cr_assert_eq(nhi_cert_set_critical(c, "source-address", "127.0.0.1/32,10.0.0.0/8"), 0);
	if (verify_required)
		cr_assert_eq(nhi_cert_set_critical(c, "verify-required", NULL), 0);
	cr_assert_eq(nhi_cert_set_critical(c, "force-command", "/usr/bin/rsync --server"), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "z-flag@example.com", NULL), 0);
	cr_assert_eq(nhi_cert_set_default_extensions(c), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "custom@example.com", "hello"), 0);
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	cr_assert_eq(c->n_critical, verify_required ? 3u : 2u);
	cr_assert_str_eq(c->critical[0].name, "force-command");
	cr_assert_str_eq(c->critical[1].name, "source-address");

	check_with_ssh_keygen(dir, name, c);

	cr_assert_eq(nhi_cert_verify_signature(c), 0);
	cr_assert_eq(nhi_cert_check_user(c, c->signature_key, "deploy",
					 forever ? 1 : VALID_FROM + 10),
		     0);
	cr_assert_eq(nhi_cert_to_text(c, "me@host", &text), 0);
	cr_assert_eq(nhi_cert_from_text(text, &back, &comment), 0);
	cr_assert_str_eq(comment, "me@host");
	b1 = cert_blob(c);
	b2 = cert_blob(back);
	cr_assert_eq(nhi_buf_len(b1), nhi_buf_len(b2));
	cr_assert_eq(memcmp(nhi_buf_ptr(b1), nhi_buf_ptr(b2), nhi_buf_len(b1)), 0);
	cr_assert(nhi_key_equal(back->key, subject));
	cr_assert_eq(back->serial, serial);
	cr_assert_str_eq(back->key_id, kid);
	cr_assert_eq(back->n_principals, 3);
	cr_assert_str_eq(back->principals[2], "ops-team");
	cr_assert_eq(back->nonce_len, 32);
	cr_assert_eq(back->n_extensions, 7);
	cr_assert_str_eq((const char *)nhi_cert_find_extension(back, "custom@example.com")->value,
			 "hello");
	cr_assert_null(nhi_cert_find_extension(back, "permit-pty")->value);
	cr_assert_eq(nhi_cert_verify_signature(back), 0);

	nhi_buf_free(b1);
	nhi_buf_free(b2);
	free(text);
	free(comment);
	free(kid);
	nhi_cert_free(back);
	nhi_cert_free(c);
	nhi_ca_free(ca);
}

static void cross_check_generated(const char *type, const char *bits, uint64_t serial,
				  int verify_required, int forever)
{
	char *dir = test_mkdtemp();
	struct nhi_key *subject;

	keygen(dir, "key", type, bits);
	subject = load_pub(dir, "key");
	sign_and_cross_check(dir, "key", subject, serial, verify_required, forever);
	nhi_key_free(subject);
	test_rmtree(dir);
	free(dir);
}

/* ---- our certificates, read by ssh-keygen ---- */

Test(cert_keygen, ed25519_subject)
{
	cross_check_generated("ed25519", NULL, 1, 1, 0);
}

Test(cert_keygen, ecdsa_p256_subject)
{
	cross_check_generated("ecdsa", "256", 4242, 0, 0);
}

Test(cert_keygen, ecdsa_p384_subject)
{
	cross_check_generated("ecdsa", "384", UINT64_C(1) << 40, 0, 1);
}

Test(cert_keygen, ecdsa_p521_subject)
{
	cross_check_generated("ecdsa", "521", 99, 0, 0);
}

Test(cert_keygen, rsa3072_subject)
{
	cross_check_generated("rsa", "3072", UINT64_MAX, 0, 0);
}

Test(cert_keygen, rsa4096_subject, .timeout = 60)
{
	cross_check_generated("rsa", "4096", 123456789, 1, 0);
}

static void cross_check_literal(const char *pub, enum nhi_key_type want)
{
	char *dir = test_mkdtemp();
	struct nhi_key *subject = NULL;

	cr_assert_eq(nhi_key_from_text(pub, &subject, NULL), 0);
	cr_assert_eq(subject->type, want);
	sign_and_cross_check(dir, "sk", subject, 31337, 1, 0);
	nhi_key_free(subject);
	test_rmtree(dir);
	free(dir);
}

Test(cert_keygen, sk_ed25519_subject)
{
	cross_check_literal(sk_ed25519_pub, NHI_KEY_SK_ED25519);
}

Test(cert_keygen, sk_ecdsa_subject)
{
	cross_check_literal(sk_ecdsa_pub, NHI_KEY_SK_ECDSA_P256);
}

Test(cert_keygen, no_principals_no_options)
{
	char *dir = test_mkdtemp();
	struct nhi_ca_key *ca = new_ca();
	struct nhi_key *subject = ca_pub(ca);
	struct nhi_cert *c = nhi_cert_new();

	cr_assert_eq(nhi_cert_set_key(c, subject), 0);
	cr_assert_eq(nhi_cert_set_key_id(c, "bare"), 0);
	c->valid_after = VALID_FROM;
	c->valid_before = UINT64_MAX;
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	check_with_ssh_keygen(dir, "bare", c);
	nhi_cert_free(c);
	nhi_key_free(subject);
	nhi_ca_free(ca);
	test_rmtree(dir);
	free(dir);
}

/* ---- certificates made by ssh-keygen -s, read by us ---- */

static void parse_keygen_cert(const char *ca_type, const char *ca_bits, const char *key_type,
			      const char *key_bits)
{
	static const char *const defaults[] = {
		"permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding",
		"permit-pty",            "permit-user-rc",
	};
	char *dir = test_mkdtemp(), *capath = test_path(dir, "ca"), *keypath = test_path(dir, "key.pub");
	char *certpath = test_path(dir, "key-cert.pub"), *out = NULL, *text, *comment = NULL;
	char *argv[] = { (char *)test_ssh_keygen(),
			 "-q",
			 "-s",
			 capath,
			 "-I",
			 "id",
			 "-n",
			 "a,b",
			 "-V",
			 "+1h",
			 "-z",
			 "42",
			 "-O",
			 "force-command=x",
			 "-O",
			 "source-address=127.0.0.1/32",
			 keypath,
			 NULL };
	struct nhi_key *subject, *ca;
	struct nhi_cert *c = NULL, *bad = NULL;
	struct nhi_buf *decoded = nhi_buf_new(), *blob;
	const struct nhi_cert_option *o;
	uint64_t t0, t1;
	size_t noff;
	uint8_t *copy;

	keygen(dir, "ca", ca_type, ca_bits);
	if (strncmp(key_type, "sk-", 3) == 0) {
		/* key_bits holds the literal public key line. */
		test_write_file(keypath, key_bits, strlen(key_bits), 0644);
	} else {
		keygen(dir, "key", key_type, key_bits);
	}
	subject = load_pub(dir, "key");
	ca = load_pub(dir, "ca");
	t0 = (uint64_t)time(NULL);
	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -s: %s", out);
	t1 = (uint64_t)time(NULL);
	free(out);

	text = test_read_file(certpath, NULL);
	cr_assert_eq(nhi_cert_from_text(text, &c, &comment), 0, "cannot parse: %s", text);
	/* ssh-keygen keeps the key's comment. */
	cr_assert_str_eq(comment, strrchr(strncmp(key_type, "sk-", 3) == 0 ? key_bits : " t", ' ') + 1);
	cr_assert(nhi_key_equal(c->key, subject));
	cr_assert(nhi_key_equal(c->signature_key, ca));
	cr_assert_eq(c->serial, 42);
	cr_assert_eq(c->type, NHI_CERT_TYPE_USER);
	cr_assert_str_eq(c->key_id, "id");
	cr_assert_eq(c->n_principals, 2);
	cr_assert_str_eq(c->principals[0], "a");
	cr_assert_str_eq(c->principals[1], "b");
	cr_assert_eq(c->nonce_len, 32);
	/* -V +1h: from about now (ssh-keygen back-dates a little) to now + 1 h. */
	cr_assert(c->valid_before >= t0 + 3600 && c->valid_before <= t1 + 3600);
	cr_assert(c->valid_after <= t0 && c->valid_after + 600 >= t0);
	cr_assert_eq(c->n_critical, 2);
	o = nhi_cert_find_critical(c, "force-command");
	cr_assert_not_null(o);
	cr_assert_eq(o->value_len, 1);
	cr_assert_eq(memcmp(o->value, "x", 1), 0);
	o = nhi_cert_find_critical(c, "source-address");
	cr_assert_not_null(o);
	cr_assert_eq(o->value_len, strlen("127.0.0.1/32"));
	cr_assert_eq(memcmp(o->value, "127.0.0.1/32", o->value_len), 0);
	cr_assert_eq(c->n_extensions, 5);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_str_eq(c->extensions[i].name, defaults[i]);
		cr_assert_null(c->extensions[i].value);
	}

	cr_assert_eq(nhi_cert_verify_signature(c), 0);
	cr_assert_eq(nhi_cert_check_user(c, ca, "a", t0), 0);
	cr_assert_eq(nhi_cert_check_user(c, ca, "b", t0), 0);
	cr_assert_eq(nhi_cert_check_user(c, ca, "c", t0), NHI_ERR_CERT_PRINCIPAL);

	/* The blob we keep is byte for byte the one in the file. */
	{
		char *b64 = strchr(text, ' ') + 1;

		cr_assert_eq(nhi_b64_decode(b64, strcspn(b64, " \n"), decoded), 0);
	}
	blob = cert_blob(c);
	cr_assert_eq(nhi_buf_len(blob), nhi_buf_len(decoded));
	cr_assert_eq(memcmp(nhi_buf_ptr(blob), nhi_buf_ptr(decoded), nhi_buf_len(blob)), 0);

	/* A flipped nonce byte (signed part) still parses but no longer verifies. */
	copy = malloc(nhi_buf_len(blob));
	memcpy(copy, nhi_buf_ptr(blob), nhi_buf_len(blob));
	noff = 4 + strlen(nhi_key_cert_type_name(subject->type)) + 4;
	copy[noff] ^= 0x01;
	cr_assert_eq(nhi_cert_from_blob(copy, nhi_buf_len(blob), &bad), 0);
	cr_assert_eq(nhi_cert_verify_signature(bad), NHI_ERR_SIGNATURE_INVALID);
	cr_assert_eq(nhi_cert_check_user(bad, ca, "a", t0), NHI_ERR_SIGNATURE_INVALID);
	nhi_cert_free(bad);
	bad = NULL;
	/* So does one flipped in the serial. */
	copy[noff] ^= 0x01;
	{
		struct nhi_buf *v = nhi_buf_new();
		size_t serial_off;

		/* The serial follows the nonce and the subject's fields. */
		cr_assert_eq(nhi_key_put_pubfields(v, subject), 0);
		serial_off = noff + 32 + nhi_buf_len(v);
		nhi_buf_free(v);
		cr_assert_eq(copy[serial_off + 7], 42);
		copy[serial_off + 7] = 43;
		cr_assert_eq(nhi_cert_from_blob(copy, nhi_buf_len(blob), &bad), 0);
		cr_assert_eq(bad->serial, 43);
		cr_assert_eq(nhi_cert_verify_signature(bad), NHI_ERR_SIGNATURE_INVALID);
		nhi_cert_free(bad);
		bad = NULL;
		copy[serial_off + 7] = 42;
	}
	/* And one flipped in the signature itself. */
	copy[nhi_buf_len(blob) - 1] ^= 0x01;
	if (nhi_cert_from_blob(copy, nhi_buf_len(blob), &bad) == 0)
		cr_assert_lt(nhi_cert_verify_signature(bad), 0);
	nhi_cert_free(bad);

	free(copy);
	nhi_buf_free(blob);
	nhi_buf_free(decoded);
	nhi_cert_free(c);
	nhi_key_free(subject);
	nhi_key_free(ca);
	free(comment);
	free(text);
	free(certpath);
	free(keypath);
	free(capath);
	test_rmtree(dir);
	free(dir);
}

Test(cert_parse, keygen_ed25519_ca)
{
	parse_keygen_cert("ed25519", NULL, "ed25519", NULL);
}

Test(cert_parse, keygen_ecdsa_ca)
{
	parse_keygen_cert("ecdsa", "384", "rsa", "3072");
}

Test(cert_parse, keygen_rsa_ca)
{
	parse_keygen_cert("rsa", "3072", "ecdsa", "256");
}

Test(cert_parse, keygen_sk_ed25519_subject)
{
	parse_keygen_cert("ed25519", NULL, "sk-ed25519", sk_ed25519_pub);
}

Test(cert_parse, keygen_sk_ecdsa_subject)
{
	parse_keygen_cert("ecdsa", "256", "sk-ecdsa", sk_ecdsa_pub);
}

Test(cert_parse, keygen_ecdsa521_ca_ecdsa521_subject)
{
	parse_keygen_cert("ecdsa", "521", "ecdsa", "521");
}

/* ---- nhi_cert_check_user ---- */

struct fixture {
	struct nhi_ca_key *ca, *other;
	struct nhi_key *ca_pub, *other_pub, *subject;
};

static void fixture_init(struct fixture *f)
{
	f->ca = new_ca();
	f->other = new_ca();
	f->ca_pub = ca_pub(f->ca);
	f->other_pub = ca_pub(f->other);
	f->subject = f->other_pub;
}

static void fixture_fini(struct fixture *f)
{
	nhi_key_free(f->ca_pub);
	nhi_key_free(f->other_pub);
	nhi_ca_free(f->ca);
	nhi_ca_free(f->other);
}

Test(cert_check, validity_window_boundaries)
{
	struct fixture f;
	struct nhi_cert *c;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 999), NHI_ERR_CERT_NOT_YET_VALID);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 0), NHI_ERR_CERT_NOT_YET_VALID);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1000), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1999), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 2000), NHI_ERR_CERT_EXPIRED);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", UINT64_MAX), NHI_ERR_CERT_EXPIRED);
	nhi_cert_free(c);

	/* "forever" never expires. */
	c = simple_cert(f.subject, f.ca, 0, UINT64_MAX);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", UINT64_MAX - 1), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 0), 0);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_check, principal_must_be_listed)
{
	struct fixture f;
	struct nhi_cert *c;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "deploy", 1500), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "mallory", 1500), NHI_ERR_CERT_PRINCIPAL);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alic", 1500), NHI_ERR_CERT_PRINCIPAL);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "", 1500), NHI_ERR_CERT_PRINCIPAL);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, NULL, 1500), 0);
	nhi_cert_free(c);

	/* An empty principal list matches nobody, as with sshd's TrustedUserCAKeys. */
	c = nhi_cert_new();
	cr_assert_eq(nhi_cert_set_key(c, f.subject), 0);
	c->valid_after = 1000;
	c->valid_before = 2000;
	cr_assert_eq(nhi_cert_sign(c, f.ca), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "root", 1500), NHI_ERR_CERT_PRINCIPAL);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_check, wrong_ca_refused)
{
	struct fixture f;
	struct nhi_cert *c;

	fixture_init(&f);
	c = simple_cert(f.subject, f.other, 1000, 2000);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1500), NHI_ERR_CERT_WRONG_CA);
	cr_assert_eq(nhi_cert_check_user(c, f.other_pub, "alice", 1500), 0);
	/* Without a trusted CA any valid signature will do. */
	cr_assert_eq(nhi_cert_check_user(c, NULL, "alice", 1500), 0);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_check, host_certificate_refused)
{
	struct fixture f;
	struct nhi_cert *c;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	c->type = NHI_CERT_TYPE_HOST;
	cr_assert_eq(nhi_cert_sign(c, f.ca), 0);
	cr_assert_eq(nhi_cert_verify_signature(c), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1500), NHI_ERR_KEY_TYPE_MISMATCH);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_check, unknown_or_malformed_critical_options_refused)
{
	static const struct {
		const char *name, *value;
	} bad[] = {
		{ "no-such-option@example.com", NULL },
		{ "permit-pty", NULL }, /* an extension, not a critical option */
		{ "verify-required", "yes" },
		{ "force-command", NULL },
		{ "source-address", NULL },
		{ "source-address", "not-an-address" },
		{ "source-address", "10.0.0.0/33" },
		{ "source-address", "10.0.0.1," },
		{ "source-address", "::1/129" },
		{ "source-address", "10.0.0.0/" },
	};
	struct fixture f;

	fixture_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nhi_cert *c = simple_cert(f.subject, f.ca, 1000, 2000);

		cr_assert_eq(nhi_cert_set_critical(c, bad[i].name, bad[i].value), 0);
		cr_assert_eq(nhi_cert_sign(c, f.ca), 0);
		cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1500), NHI_ERR_CERT_OPTIONS,
			     "critical option %s=%s accepted", bad[i].name,
			     bad[i].value != NULL ? bad[i].value : "(flag)");
		nhi_cert_free(c);
	}
	/* The known ones in their proper forms pass. */
	{
		struct nhi_cert *c = simple_cert(f.subject, f.ca, 1000, 2000);

		cr_assert_eq(nhi_cert_set_critical(c, "verify-required", NULL), 0);
		cr_assert_eq(nhi_cert_set_critical(c, "source-address", "10.1.0.0/16,fe80::/10,192.0.2.1"), 0);
		cr_assert_eq(nhi_cert_sign(c, f.ca), 0);
		cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "alice", 1500), 0);
		nhi_cert_free(c);
	}
	fixture_fini(&f);
}

Test(cert_check, unsigned_or_modified_certificate_refused)
{
	struct fixture f;
	struct nhi_cert *c;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	/* Changing a field after signing drops the stale blob. */
	cr_assert_eq(nhi_cert_add_principal(c, "root"), 0);
	cr_assert_null(c->blob);
	cr_assert_lt(nhi_cert_check_user(c, f.ca_pub, "root", 1500), 0);
	{
		struct nhi_buf *b = nhi_buf_new();
		char *t = NULL;

		cr_assert_eq(nhi_cert_to_blob(c, b), NHI_ERR_INVALID_ARGUMENT);
		cr_assert_eq(nhi_buf_len(b), 0);
		cr_assert_eq(nhi_cert_to_text(c, NULL, &t), NHI_ERR_INVALID_ARGUMENT);
		nhi_buf_free(b);
	}
	cr_assert_eq(nhi_cert_sign(c, f.ca), 0);
	cr_assert_eq(nhi_cert_check_user(c, f.ca_pub, "root", 1500), 0);
	nhi_cert_free(c);
	fixture_fini(&f);
}

/* ---- building ---- */

Test(cert_build, options_sorted_unique_and_replaced)
{
	struct nhi_cert *c = nhi_cert_new();

	cr_assert_eq(nhi_cert_set_extension(c, "permit-pty", NULL), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "b@x", "1"), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "a@x", NULL), 0);
	cr_assert_eq(nhi_cert_set_extension(c, "b@x", "22"), 0);
	cr_assert_eq(nhi_cert_set_default_extensions(c), 0);
	cr_assert_eq(c->n_extensions, 7);
	for (size_t i = 1; i < c->n_extensions; i++)
		cr_assert_lt(strcmp(c->extensions[i - 1].name, c->extensions[i].name), 0);
	/* Bytewise: upper case sorts before lower case. */
	cr_assert_str_eq(c->extensions[2].name, "permit-X11-forwarding");
	cr_assert_str_eq(c->extensions[3].name, "permit-agent-forwarding");
	cr_assert_str_eq((const char *)nhi_cert_find_extension(c, "b@x")->value, "22");
	cr_assert_eq(nhi_cert_find_extension(c, "b@x")->value_len, 2);
	cr_assert_null(nhi_cert_find_extension(c, "missing"));
	cr_assert_null(nhi_cert_find_critical(c, "permit-pty"));
	cr_assert_eq(nhi_cert_set_extension(c, "", NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_cert_set_critical(c, NULL, NULL), NHI_ERR_INVALID_ARGUMENT);
	nhi_cert_free(c);
}

Test(cert_build, option_and_principal_caps)
{
	struct nhi_cert *c = nhi_cert_new();
	char name[32];

	for (unsigned i = 0; i < NHI_CERT_OPTIONS_MAX; i++) {
		snprintf(name, sizeof(name), "opt%03u@x", i);
		cr_assert_eq(nhi_cert_set_extension(c, name, NULL), 0);
	}
	cr_assert_eq(nhi_cert_set_extension(c, "one-more@x", NULL), NHI_ERR_TOO_MANY);
	/* Replacing one that exists is still fine at the cap. */
	cr_assert_eq(nhi_cert_set_extension(c, "opt000@x", "v"), 0);
	for (unsigned i = 0; i < NHI_CERT_PRINCIPALS_MAX; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		cr_assert_eq(nhi_cert_add_principal(c, name), 0);
	}
	cr_assert_eq(nhi_cert_add_principal(c, "user0"), 0); /* duplicate: no-op */
	cr_assert_eq(c->n_principals, NHI_CERT_PRINCIPALS_MAX);
	cr_assert_eq(nhi_cert_add_principal(c, "extra"), NHI_ERR_TOO_MANY);
	cr_assert_eq(nhi_cert_add_principal(c, ""), NHI_ERR_INVALID_ARGUMENT);
	nhi_cert_free(c);
}

Test(cert_build, dsa_subject_and_bad_validity_refused)
{
	struct nhi_ca_key *ca = new_ca();
	struct nhi_key *dsa = calloc(1, sizeof(*dsa)), *pub = ca_pub(ca);
	struct nhi_cert *c = nhi_cert_new();

	dsa->type = NHI_KEY_DSA;
	cr_assert_eq(nhi_cert_set_key(c, dsa), NHI_ERR_KEY_REFUSED);
	cr_assert_null(c->key);
	cr_assert_eq(nhi_cert_sign(c, ca), NHI_ERR_INVALID_ARGUMENT); /* no key */
	cr_assert_eq(nhi_cert_set_key(c, pub), 0);
	/* An empty or inverted window is a caller mistake. */
	cr_assert_eq(nhi_cert_sign(c, ca), NHI_ERR_INVALID_ARGUMENT);
	c->valid_after = 10;
	c->valid_before = 10;
	cr_assert_eq(nhi_cert_sign(c, ca), NHI_ERR_INVALID_ARGUMENT);
	c->valid_before = 11;
	c->type = 3;
	cr_assert_eq(nhi_cert_sign(c, ca), NHI_ERR_INVALID_ARGUMENT);
	c->type = NHI_CERT_TYPE_USER;
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	cr_assert_null(c->key_id);
	cr_assert_eq(nhi_cert_verify_signature(c), 0);
	nhi_cert_free(c);
	nhi_key_free(dsa);
	nhi_key_free(pub);
	nhi_ca_free(ca);
}

Test(cert_build, nonce_is_fresh_and_signed_part_is_compact)
{
	struct nhi_ca_key *ca = new_ca();
	struct nhi_key *pub = ca_pub(ca);
	struct nhi_cert *c = nhi_cert_new();
	uint8_t first[32];

	cr_assert_eq(nhi_cert_set_key(c, pub), 0);
	c->valid_after = 1;
	c->valid_before = 2;
	cr_assert_eq(nhi_cert_set_default_extensions(c), 0);
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	cr_assert_eq(c->nonce_len, 32);
	memcpy(first, c->nonce, 32);
	cr_assert_eq(nhi_cert_sign(c, ca), 0);
	cr_assert_neq(memcmp(first, c->nonce, 32), 0);
	/* name 36 + nonce 36 + pk 36 + 8 + 4 + key id 4 + principals 4 + 16 +
	 * critical 4 + extensions 4+5*(4+n+4) + reserved 4 + CA blob 4+51 */
	cr_assert_eq(c->signed_len, 36 + 36 + 36 + 8 + 4 + 4 + 4 + 16 + 4 + 4 + 5 * 8 +
					    strlen("permit-X11-forwarding") +
					    strlen("permit-agent-forwarding") +
					    strlen("permit-port-forwarding") + strlen("permit-pty") +
					    strlen("permit-user-rc") + 4 + 4 + 51);
	/* signature: string(string "ssh-ed25519", string sig[64]) */
	cr_assert_eq(nhi_buf_len(c->blob), c->signed_len + 4 + 4 + 11 + 4 + 64);
	nhi_cert_free(c);
	nhi_key_free(pub);
	nhi_ca_free(ca);
}

/* ---- text form ---- */

Test(cert_text, round_trip_and_malformed)
{
	struct fixture f;
	struct nhi_cert *c, *back = NULL;
	char *text = NULL, *comment = (char *)"x", *line;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	cr_assert_eq(nhi_cert_to_text(c, NULL, &text), 0);
	cr_assert_eq(strncmp(text, "ssh-ed25519-cert-v01@openssh.com AAAA", 37), 0);
	cr_assert_null(strchr(text + 33, ' '));
	cr_assert_eq(nhi_cert_from_text(text, &back, &comment), 0);
	cr_assert_null(comment);
	cr_assert_eq(back->serial, 7);
	nhi_cert_free(back);
	back = NULL;

	/* Surrounding blanks and a newline are tolerated, the comment kept whole. */
	cr_assert(asprintf(&line, "  %s   two words \n", text) > 0);
	cr_assert_eq(nhi_cert_from_text(line, &back, &comment), 0);
	cr_assert_str_eq(comment, "two words");
	free(comment);
	nhi_cert_free(back);
	back = NULL;
	free(line);

	/* The name before the base64 must match the blob. */
	cr_assert(asprintf(&line, "ssh-rsa-cert-v01@openssh.com %s", strchr(text, ' ') + 1) > 0);
	cr_assert_eq(nhi_cert_from_text(line, &back, NULL), NHI_ERR_KEY_TYPE_MISMATCH);
	free(line);
	cr_assert(asprintf(&line, "%.*s!%s", 40, text, text + 41) > 0);
	cr_assert_eq(nhi_cert_from_text(line, &back, NULL), NHI_ERR_BASE64);
	free(line);
	cr_assert_eq(nhi_cert_from_text("ssh-ed25519-cert-v01@openssh.com", &back, NULL),
		     NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_cert_from_text("", &back, NULL), NHI_ERR_INVALID_FORMAT);
	cr_assert_null(back);
	/* A plain key is not a certificate. */
	{
		char *plain = NULL;

		cr_assert_eq(nhi_key_to_text(f.subject, NULL, &plain), 0);
		cr_assert_eq(nhi_cert_from_text(plain, &back, NULL), NHI_ERR_KEY_NOT_CERT);
		free(plain);
	}
	/* A comment must not smuggle in a second line. */
	free(text);
	text = NULL;
	cr_assert_eq(nhi_cert_to_text(c, "a\nssh-ed25519 AAAA", &text), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(text);
	{
		char *huge = malloc(NHI_KEY_TEXT_MAX + 2);

		memset(huge, 'A', NHI_KEY_TEXT_MAX + 1);
		huge[NHI_KEY_TEXT_MAX + 1] = '\0';
		cr_assert_eq(nhi_cert_from_text(huge, &back, NULL), NHI_ERR_LINE_TOO_LONG);
		free(huge);
	}
	nhi_cert_free(c);
	fixture_fini(&f);
}

/* ---- hostile blobs ---- */

/* The parts of a hand-made certificate; NULL fields take sane defaults. */
struct raw {
	const char *tname;
	struct nhi_buf *pubfields;
	uint32_t type;
	struct nhi_buf *principals; /* the contents of the principals string */
	struct nhi_buf *critical, *extensions;
	struct nhi_buf *sigkey;     /* the contents of the signature key string */
	int empty_signature;
};

static struct nhi_buf *build_raw(const struct raw *r, const struct nhi_ca_key *ca,
				 const struct nhi_key *subject)
{
	struct nhi_buf *b = nhi_buf_new(), *tmp = nhi_buf_new(), *sig = nhi_buf_new();
	struct nhi_key *pub = ca_pub(ca);
	uint8_t nonce[32] = { 1 };

	cr_assert_eq(nhi_buf_put_cstring(b, r->tname != NULL ? r->tname
							     : nhi_key_cert_type_name(subject->type)),
		     0);
	cr_assert_eq(nhi_buf_put_string(b, nonce, sizeof(nonce)), 0);
	if (r->pubfields != NULL)
		cr_assert_eq(nhi_buf_put(b, nhi_buf_ptr(r->pubfields), nhi_buf_len(r->pubfields)), 0);
	else
		cr_assert_eq(nhi_key_put_pubfields(b, subject), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 5), 0);
	cr_assert_eq(nhi_buf_put_u32(b, r->type != 0 ? r->type : NHI_CERT_TYPE_USER), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, "raw"), 0);
	if (r->principals != NULL) {
		cr_assert_eq(nhi_buf_put_stringb(b, r->principals), 0);
	} else {
		nhi_buf_reset(tmp);
		cr_assert_eq(nhi_buf_put_cstring(tmp, "alice"), 0);
		cr_assert_eq(nhi_buf_put_stringb(b, tmp), 0);
	}
	cr_assert_eq(nhi_buf_put_u64(b, 1000), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 2000), 0);
	if (r->critical != NULL)
		cr_assert_eq(nhi_buf_put_stringb(b, r->critical), 0);
	else
		cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	if (r->extensions != NULL)
		cr_assert_eq(nhi_buf_put_stringb(b, r->extensions), 0);
	else
		cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	if (r->sigkey != NULL) {
		cr_assert_eq(nhi_buf_put_stringb(b, r->sigkey), 0);
	} else {
		nhi_buf_reset(tmp);
		cr_assert_eq(nhi_key_to_blob(pub, tmp), 0);
		cr_assert_eq(nhi_buf_put_stringb(b, tmp), 0);
	}
	if (r->empty_signature) {
		cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	} else {
		cr_assert_eq(nhi_ca_sign(ca, nhi_buf_ptr(b), nhi_buf_len(b), sig), 0);
		cr_assert_eq(nhi_buf_put_stringb(b, sig), 0);
	}
	nhi_key_free(pub);
	nhi_buf_free(tmp);
	nhi_buf_free(sig);
	return b;
}

static int parse_raw(const struct raw *r, const struct nhi_ca_key *ca,
		     const struct nhi_key *subject)
{
	struct nhi_buf *b = build_raw(r, ca, subject);
	struct nhi_cert *c = NULL;
	int rc = parse_exact(nhi_buf_ptr(b), nhi_buf_len(b), &c);

	if (rc == 0) {
		/* Whatever parses must also verify: the builder signs honestly. */
		cr_assert_eq(nhi_cert_verify_signature(c), 0);
		nhi_cert_free(c);
	} else {
		cr_assert_null(c);
	}
	nhi_buf_free(b);
	return rc;
}

static void put_option(struct nhi_buf *list, const char *name, const char *value)
{
	struct nhi_buf *data = nhi_buf_new();

	if (value != NULL)
		cr_assert_eq(nhi_buf_put_cstring(data, value), 0);
	cr_assert_eq(nhi_buf_put_cstring(list, name), 0);
	cr_assert_eq(nhi_buf_put_stringb(list, data), 0);
	nhi_buf_free(data);
}

Test(cert_hostile, every_truncation_and_trailing_bytes)
{
	struct fixture f;
	struct nhi_cert *c, *p = NULL;
	struct nhi_buf *b;
	uint8_t *longer;

	fixture_init(&f);
	c = simple_cert(f.subject, f.ca, 1000, 2000);
	b = cert_blob(c);
	for (size_t len = 0; len < nhi_buf_len(b); len++) {
		cr_assert_lt(parse_exact(nhi_buf_ptr(b), len, &p), 0, "truncated at %zu parsed", len);
		cr_assert_null(p);
	}
	cr_assert_eq(parse_exact(nhi_buf_ptr(b), nhi_buf_len(b), &p), 0);
	nhi_cert_free(p);
	p = NULL;
	longer = malloc(nhi_buf_len(b) + 1);
	memcpy(longer, nhi_buf_ptr(b), nhi_buf_len(b));
	longer[nhi_buf_len(b)] = 0;
	cr_assert_eq(nhi_cert_from_blob(longer, nhi_buf_len(b) + 1, &p), NHI_ERR_INVALID_FORMAT);
	cr_assert_null(p);
	free(longer);
	cr_assert_eq(nhi_cert_from_blob(NULL, 5, &p), NHI_ERR_INVALID_ARGUMENT);
	nhi_buf_free(b);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_hostile, truncations_of_keygen_rsa_cert, .timeout = 60)
{
	char *dir = test_mkdtemp(), *capath = test_path(dir, "ca"), *keypath = test_path(dir, "key.pub");
	char *certpath = test_path(dir, "key-cert.pub"), *text;
	char *argv[] = { (char *)test_ssh_keygen(), "-q", "-s", capath, "-I", "id", "-n", "a",
			 "-z", "1", keypath, NULL };
	struct nhi_cert *c = NULL, *p = NULL;
	struct nhi_buf *b;

	keygen(dir, "ca", "rsa", "3072");
	keygen(dir, "key", "ecdsa", "384");
	cr_assert_eq(test_run(argv, NULL), 0);
	text = test_read_file(certpath, NULL);
	cr_assert_eq(nhi_cert_from_text(text, &c, NULL), 0);
	cr_assert_eq(c->valid_after, 0);
	cr_assert_eq(c->valid_before, UINT64_MAX);
	b = cert_blob(c);
	for (size_t len = 0; len < nhi_buf_len(b); len++) {
		cr_assert_lt(parse_exact(nhi_buf_ptr(b), len, &p), 0, "truncated at %zu parsed", len);
		cr_assert_null(p);
	}
	nhi_buf_free(b);
	nhi_cert_free(c);
	free(text);
	test_rmtree(dir);
	free(dir);
	free(capath);
	free(keypath);
	free(certpath);
}

Test(cert_hostile, builder_baseline_parses)
{
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), 0);
	fixture_fini(&f);
}

Test(cert_hostile, type_names)
{
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	r.tname = "ssh-ed25519";
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_KEY_NOT_CERT);
	r.tname = "ssh-foo-cert-v01@openssh.com";
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_KEY_TYPE_UNKNOWN);
	r.tname = "";
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_KEY_TYPE_UNKNOWN);
	fixture_fini(&f);
}

Test(cert_hostile, pubfields_not_matching_type)
{
	char *dir = test_mkdtemp();
	struct nhi_key *rsa, *p256;
	struct nhi_buf *pf = nhi_buf_new();
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	keygen(dir, "rsa", "rsa", "3072");
	keygen(dir, "p256", "ecdsa", "256");
	rsa = load_pub(dir, "rsa");
	p256 = load_pub(dir, "p256");
	r.pubfields = pf;

	/* An Ed25519 certificate carrying RSA fields. */
	cr_assert_eq(nhi_key_put_pubfields(pf, rsa), 0);
	r.tname = "ssh-ed25519-cert-v01@openssh.com";
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* A P-384 certificate carrying a P-256 key. */
	nhi_buf_reset(pf);
	cr_assert_eq(nhi_key_put_pubfields(pf, p256), 0);
	r.tname = "ecdsa-sha2-nistp384-cert-v01@openssh.com";
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* A P-256 certificate carrying Ed25519 fields. */
	nhi_buf_reset(pf);
	cr_assert_eq(nhi_key_put_pubfields(pf, f.subject), 0);
	r.tname = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* An Ed25519 certificate whose key is one byte short. */
	nhi_buf_reset(pf);
	cr_assert_eq(nhi_buf_put_string(pf, f.subject->ed25519_pk, 31), 0);
	r.tname = "ssh-ed25519-cert-v01@openssh.com";
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* An sk certificate without its application string. */
	nhi_buf_reset(pf);
	cr_assert_eq(nhi_key_put_pubfields(pf, f.subject), 0);
	r.tname = "sk-ssh-ed25519-cert-v01@openssh.com";
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);

	/* The matching fields parse (the test above is not vacuous). */
	nhi_buf_reset(pf);
	cr_assert_eq(nhi_key_put_pubfields(pf, p256), 0);
	r.tname = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), 0);

	nhi_buf_free(pf);
	nhi_key_free(rsa);
	nhi_key_free(p256);
	fixture_fini(&f);
	test_rmtree(dir);
	free(dir);
}

Test(cert_hostile, signature_key_is_a_certificate)
{
	struct fixture f;
	struct nhi_cert *c;
	struct raw r = { 0 };

	fixture_init(&f);
	c = simple_cert(f.ca_pub, f.ca, 1000, 2000);
	r.sigkey = cert_blob(c);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_KEY_IS_CERT);
	nhi_buf_free(r.sigkey);
	/* Nor may it be garbage or empty. */
	r.sigkey = nhi_buf_new();
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	cr_assert_eq(nhi_buf_put_cstring(r.sigkey, "ssh-ed25519"), 0);
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	nhi_buf_free(r.sigkey);
	nhi_cert_free(c);
	fixture_fini(&f);
}

Test(cert_hostile, principal_counts_and_lengths)
{
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	r.principals = nhi_buf_new();
	for (unsigned i = 0; i < NHI_CERT_PRINCIPALS_MAX; i++)
		cr_assert_eq(nhi_buf_put_cstring(r.principals, "p"), 0);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), 0);
	cr_assert_eq(nhi_buf_put_cstring(r.principals, "p"), 0);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_TOO_MANY);
	/* A hundred thousand empty principals: refused at the cap, quickly. */
	for (unsigned i = 0; i < 100000; i++)
		cr_assert_eq(nhi_buf_put_u32(r.principals, 0), 0);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_TOO_MANY);
	/* A principal whose length runs past the list. */
	nhi_buf_free(r.principals);
	r.principals = nhi_buf_new();
	cr_assert_eq(nhi_buf_put_u32(r.principals, 0xfffffff0u), 0);
	cr_assert_eq(nhi_buf_put(r.principals, "abc", 3), 0);
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* A principal holding a NUL byte. */
	nhi_buf_free(r.principals);
	r.principals = nhi_buf_new();
	cr_assert_eq(nhi_buf_put_string(r.principals, "ali\0ce", 6), 0);
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	nhi_buf_free(r.principals);
	fixture_fini(&f);
}

Test(cert_hostile, unsorted_duplicate_and_malformed_options)
{
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	r.critical = nhi_buf_new();
	put_option(r.critical, "force-command", "x");
	put_option(r.critical, "source-address", "10.0.0.1");
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), 0);

	nhi_buf_reset(r.critical);
	put_option(r.critical, "source-address", "10.0.0.1");
	put_option(r.critical, "force-command", "x");
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_CERT_OPTIONS);

	nhi_buf_reset(r.critical);
	put_option(r.critical, "force-command", "x");
	put_option(r.critical, "force-command", "y");
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_CERT_OPTIONS);

	nhi_buf_reset(r.critical);
	put_option(r.critical, "", NULL);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_CERT_OPTIONS);
	nhi_buf_free(r.critical);
	r.critical = NULL;

	r.extensions = nhi_buf_new();
	put_option(r.extensions, "permit-pty", NULL);
	put_option(r.extensions, "permit-pty", NULL);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_CERT_OPTIONS);

	/* Case matters: bytewise order puts "X" before "a". */
	nhi_buf_reset(r.extensions);
	put_option(r.extensions, "permit-agent-forwarding", NULL);
	put_option(r.extensions, "permit-X11-forwarding", NULL);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_CERT_OPTIONS);

	/* Too many. */
	nhi_buf_reset(r.extensions);
	for (unsigned i = 0; i <= NHI_CERT_OPTIONS_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "e%04u@x", i);
		put_option(r.extensions, name, NULL);
	}
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_TOO_MANY);

	/* Data that is not exactly one string. */
	nhi_buf_reset(r.extensions);
	cr_assert_eq(nhi_buf_put_cstring(r.extensions, "x@x"), 0);
	cr_assert_eq(nhi_buf_put_string(r.extensions, "\0\0\0\1ab", 6), 0);
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_INVALID_FORMAT);
	nhi_buf_reset(r.extensions);
	cr_assert_eq(nhi_buf_put_cstring(r.extensions, "x@x"), 0);
	cr_assert_eq(nhi_buf_put_string(r.extensions, "\0\0\0\7ab", 6), 0);
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	/* A name without its data. */
	nhi_buf_reset(r.extensions);
	cr_assert_eq(nhi_buf_put_cstring(r.extensions, "x@x"), 0);
	cr_assert_lt(parse_raw(&r, f.ca, f.subject), 0);
	nhi_buf_free(r.extensions);
	fixture_fini(&f);
}

Test(cert_hostile, bad_cert_type_and_empty_signature)
{
	struct fixture f;
	struct raw r = { 0 };

	fixture_init(&f);
	r.type = 3;
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_INVALID_FORMAT);
	r.type = UINT32_MAX;
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_INVALID_FORMAT);
	r.type = NHI_CERT_TYPE_HOST;
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), 0);
	r.type = 0;
	r.empty_signature = 1;
	cr_assert_eq(parse_raw(&r, f.ca, f.subject), NHI_ERR_INVALID_FORMAT);
	fixture_fini(&f);
}
