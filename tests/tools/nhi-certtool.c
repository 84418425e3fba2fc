/* nhi-certtool: a developer CLI over libnhi. It makes a CA, signs
 * certificates and writes KRLs so that the integration tests and the demo
 * can drive a real sshd with credentials libnhi produced, before the broker
 * exists. Exit codes: 0 success, 1 failure, 2 usage error. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "cakey.h"
#include "cert.h"
#include "err.h"
#include "fileio.h"
#include "krl.h"
#include "sshkey.h"

#define EXIT_USAGE 2
/* A .pub or certificate file is one line; leave room for a long comment. */
#define PUBFILE_MAX (NHI_KEY_TEXT_MAX + 4096u)

static const char *progname = "nhi-certtool";

static const char usage_text[] =
        "usage: nhi-certtool COMMAND [OPTIONS]\n"
        "\n"
        "  ca-generate FILE\n"
        "      Generate an Ed25519 CA key: FILE (private, mode 0600) and FILE.pub.\n"
        "\n"
        "  sign --ca FILE --key PUBFILE --serial N --id ID --principal P [--principal P]...\n"
        "       --valid-after T --valid-before T [--critical NAME=VALUE|NAME]...\n"
        "       [--extension NAME[=VALUE]]... [--no-default-extensions] [--host] --out FILE\n"
        "      Sign PUBFILE with the CA and write the certificate to FILE.\n"
        "      T is unix seconds, \"now\", \"forever\" or relative to now: +5m, -1h, +30s, +2d.\n"
        "\n"
        "  krl --out FILE [--ca CA.pub] [--serial N]... [--serial-range A-B]...\n"
        "      [--key-id ID]... [--key PUBFILE]... [--sha256 PUBFILE]...\n"
        "      Write an OpenSSH KRL. Serials and key ids are revoked for the CA given\n"
        "      by --ca, or for any CA without it.\n"
        "\n"
        "  fingerprint PUBFILE\n"
        "      Print the key's size, SHA-256 fingerprint, comment and type as ssh-keygen -lf "
        "does.\n"
        "\n"
        "  --help\n"
        "      Show this text.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '%s --help')\n", progname);
}

/* One line: what failed, on which input, and why. errno is read at once
 * because NHI_ERR_SYSTEM means "see errno". */
static void report(const char *what, const char *subject, int err)
{
	int saved_errno = errno;

	if (err == NHI_ERR_SYSTEM && saved_errno != 0)
		fprintf(stderr, "%s: %s '%s': %s: %s\n", progname, what, subject, nhi_strerror(err),
		        strerror(saved_errno));
	else
		fprintf(stderr, "%s: %s '%s': %s\n", progname, what, subject, nhi_strerror(err));
}

/* getopt's own messages would name the subcommand as the program. */
static void bad_option(char **argv, int c)
{
	if (c == ':')
		usage_error("option '%s' needs a value", argv[optind - 1]);
	else
		usage_error("unknown option '%s'", argv[optind - 1]);
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	/* strtoull accepts a sign and leading blanks; a serial has neither. */
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return NHI_ERR_INVALID_ARGUMENT;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return NHI_ERR_INVALID_ARGUMENT;
	*ret = (uint64_t)v;
	return 0;
}

/* Unix seconds, "now", "forever", or [+-]N[smhdw] relative to now. */
static int parse_time(const char *s, uint64_t now, uint64_t *ret)
{
	uint64_t n, mult = 1;
	char *copy = NULL;
	size_t len;
	int r = NHI_ERR_INVALID_ARGUMENT;
	bool neg;

	if (strcmp(s, "now") == 0) {
		*ret = now;
		return 0;
	}
	if (strcmp(s, "forever") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	if (s[0] != '+' && s[0] != '-')
		return parse_u64(s, ret);

	neg = s[0] == '-';
	copy = strdup(s + 1);
	if (copy == NULL)
		return NHI_ERR_ALLOC;
	len = strlen(copy);
	if (len > 0) {
		switch (copy[len - 1]) {
		case 's':
			mult = 1;
			copy[--len] = '\0';
			break;
		case 'm':
			mult = 60;
			copy[--len] = '\0';
			break;
		case 'h':
			mult = 3600;
			copy[--len] = '\0';
			break;
		case 'd':
			mult = 86400;
			copy[--len] = '\0';
			break;
		case 'w':
			mult = 604800;
			copy[--len] = '\0';
			break;
		default:
			break;
		}
	}
	if (parse_u64(copy, &n) < 0)
		goto out;
	if (n > UINT64_MAX / mult)
		goto out;
	n *= mult;
	if (neg) {
		if (n > now)
			goto out;
		*ret = now - n;
	} else {
		if (n > UINT64_MAX - now)
			goto out;
		*ret = now + n;
	}
	r = 0;
out:
	free(copy);
	return r;
}

/* The first line of a small public file, trailing blanks removed. */
static int read_pubfile(const char *path, char **ret)
{
	const struct nhi_file_rules rules = {
	        .owner = (uid_t)-1,
	        .allow_root_owner = true,
	        .forbidden = 0,
	        .max_size = PUBFILE_MAX,
	};
	char *text = NULL;
	size_t len = 0;
	int r;

	r = nhi_read_file_checked(path, &rules, PUBFILE_MAX, &text, &len);
	if (r < 0)
		return r;
	text[strcspn(text, "\r\n")] = '\0';
	len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	*ret = text;
	return 0;
}

static int load_pubkey(const char *path, struct nhi_key **ret, char **ret_comment)
{
	char *text = NULL;
	int r;

	r = read_pubfile(path, &text);
	if (r < 0) {
		report("cannot read public key", path, r);
		return r;
	}
	r = nhi_key_from_text(text, ret, ret_comment);
	if (r < 0)
		report("cannot parse public key", path, r);
	free(text);
	return r;
}

/* Writes text plus a newline, atomically. */
static int write_text_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	int r;

	if (line == NULL)
		return NHI_ERR_ALLOC;
	memcpy(line, text, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	r = nhi_atomic_write(path, line, len + 1, mode);
	free(line);
	return r;
}

static int cmd_ca_generate(int argc, char **argv)
{
	struct nhi_ca_key *ca = NULL;
	struct nhi_key *pub = NULL;
	char *pubtext = NULL, *pubpath = NULL;
	const char *path;
	int r;

	if (argc != 2) {
		usage_error("ca-generate takes exactly one FILE");
		return EXIT_USAGE;
	}
	path = argv[1];
	if (asprintf(&pubpath, "%s.pub", path) < 0) {
		pubpath = NULL;
		report("cannot generate CA", path, NHI_ERR_ALLOC);
		return EXIT_FAILURE;
	}
	if ((r = nhi_ca_generate(&ca)) < 0) {
		report("cannot generate CA", path, r);
		goto out;
	}
	if ((r = nhi_ca_save(ca, path, "nhi-certtool CA")) < 0) {
		report("cannot write CA key", path, r);
		goto out;
	}
	if ((r = nhi_ca_public(ca, &pub)) < 0 ||
	    (r = nhi_key_to_text(pub, "nhi-certtool CA", &pubtext)) < 0 ||
	    (r = write_text_file(pubpath, pubtext, 0644)) < 0) {
		report("cannot write CA public key", pubpath, r);
		goto out;
	}
out:
	free(pubtext);
	free(pubpath);
	nhi_key_free(pub);
	nhi_ca_free(ca);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* "NAME=VALUE" or "NAME" into a certificate's critical options or extensions. */
static int add_option(struct nhi_cert *cert, const char *spec, bool critical)
{
	char *name = strdup(spec), *eq;
	const char *value = NULL;
	int r;

	if (name == NULL)
		return NHI_ERR_ALLOC;
	eq = strchr(name, '=');
	if (eq != NULL) {
		*eq = '\0';
		value = eq + 1;
	}
	if (name[0] == '\0')
		r = NHI_ERR_INVALID_ARGUMENT;
	else if (critical)
		r = nhi_cert_set_critical(cert, name, value);
	else
		r = nhi_cert_set_extension(cert, name, value);
	free(name);
	return r;
}

enum {
	OPT_CA = 1000,
	OPT_KEY,
	OPT_SERIAL,
	OPT_SERIAL_RANGE,
	OPT_ID,
	OPT_KEY_ID,
	OPT_PRINCIPAL,
	OPT_VALID_AFTER,
	OPT_VALID_BEFORE,
	OPT_CRITICAL,
	OPT_EXTENSION,
	OPT_NO_DEFAULT_EXTENSIONS,
	OPT_HOST,
	OPT_OUT,
	OPT_SHA256,
};

static int cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"ca", required_argument, NULL, OPT_CA},
	        {"key", required_argument, NULL, OPT_KEY},
	        {"serial", required_argument, NULL, OPT_SERIAL},
	        {"id", required_argument, NULL, OPT_ID},
	        {"principal", required_argument, NULL, OPT_PRINCIPAL},
	        {"valid-after", required_argument, NULL, OPT_VALID_AFTER},
	        {"valid-before", required_argument, NULL, OPT_VALID_BEFORE},
	        {"critical", required_argument, NULL, OPT_CRITICAL},
	        {"extension", required_argument, NULL, OPT_EXTENSION},
	        {"no-default-extensions", no_argument, NULL, OPT_NO_DEFAULT_EXTENSIONS},
	        {"host", no_argument, NULL, OPT_HOST},
	        {"out", required_argument, NULL, OPT_OUT},
	        {NULL, 0, NULL, 0},
	};
	const char *ca_path = NULL, *key_path = NULL, *serial_s = NULL, *key_id = NULL;
	const char *after_s = NULL, *before_s = NULL, *out_path = NULL;
	const char **principals = NULL, **criticals = NULL, **extensions = NULL;
	size_t n_principals = 0, n_criticals = 0, n_extensions = 0, i;
	bool default_extensions = true, host = false;
	struct nhi_ca_key *ca = NULL;
	struct nhi_key *subject = NULL;
	struct nhi_cert *cert = NULL;
	char *comment = NULL, *certtext = NULL;
	uint64_t now = (uint64_t)time(NULL), serial = 0, after = 0, before = 0;
	int c, r = 0, ret = EXIT_FAILURE;

	principals = calloc((size_t)argc, sizeof(*principals));
	criticals = calloc((size_t)argc, sizeof(*criticals));
	extensions = calloc((size_t)argc, sizeof(*extensions));
	if (principals == NULL || criticals == NULL || extensions == NULL) {
		report("cannot sign", "(arguments)", NHI_ERR_ALLOC);
		goto out;
	}

	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CA:
			ca_path = optarg;
			break;
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_SERIAL:
			serial_s = optarg;
			break;
		case OPT_ID:
			key_id = optarg;
			break;
		case OPT_PRINCIPAL:
			principals[n_principals++] = optarg;
			break;
		case OPT_VALID_AFTER:
			after_s = optarg;
			break;
		case OPT_VALID_BEFORE:
			before_s = optarg;
			break;
		case OPT_CRITICAL:
			criticals[n_criticals++] = optarg;
			break;
		case OPT_EXTENSION:
			extensions[n_extensions++] = optarg;
			break;
		case OPT_NO_DEFAULT_EXTENSIONS:
			default_extensions = false;
			break;
		case OPT_HOST:
			host = true;
			break;
		case OPT_OUT:
			out_path = optarg;
			break;
		default:
			bad_option(argv, c);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		usage_error("sign: unexpected argument '%s'", argv[optind]);
		ret = EXIT_USAGE;
		goto out;
	}
	if (ca_path == NULL || key_path == NULL || serial_s == NULL || key_id == NULL ||
	    after_s == NULL || before_s == NULL || out_path == NULL || n_principals == 0) {
		usage_error("sign needs --ca, --key, --serial, --id, --principal, --valid-after, "
		            "--valid-before and --out");
		ret = EXIT_USAGE;
		goto out;
	}
	if (parse_u64(serial_s, &serial) < 0) {
		usage_error("bad serial '%s': expected an unsigned decimal number", serial_s);
		ret = EXIT_USAGE;
		goto out;
	}
	if (parse_time(after_s, now, &after) < 0) {
		usage_error("bad --valid-after '%s': expected unix seconds, now, or +/-N[smhdw]",
		            after_s);
		ret = EXIT_USAGE;
		goto out;
	}
	if (parse_time(before_s, now, &before) < 0) {
		usage_error("bad --valid-before '%s': expected unix seconds, now, forever, or "
		            "+/-N[smhdw]",
		            before_s);
		ret = EXIT_USAGE;
		goto out;
	}
	if (after >= before) {
		usage_error("empty validity: --valid-after '%s' is not before --valid-before '%s'",
		            after_s, before_s);
		ret = EXIT_USAGE;
		goto out;
	}

	if ((r = nhi_ca_load(ca_path, &ca)) < 0) {
		report("cannot load CA key", ca_path, r);
		goto out;
	}
	if ((r = load_pubkey(key_path, &subject, &comment)) < 0)
		goto out;

	cert = nhi_cert_new();
	if (cert == NULL) {
		report("cannot sign", key_path, NHI_ERR_ALLOC);
		goto out;
	}
	cert->serial = serial;
	cert->type = host ? NHI_CERT_TYPE_HOST : NHI_CERT_TYPE_USER;
	cert->valid_after = after;
	cert->valid_before = before;
	if ((r = nhi_cert_set_key(cert, subject)) < 0) {
		report("cannot certify key", key_path, r);
		goto out;
	}
	if ((r = nhi_cert_set_key_id(cert, key_id)) < 0) {
		report("bad key id", key_id, r);
		goto out;
	}
	for (i = 0; i < n_principals; i++) {
		if ((r = nhi_cert_add_principal(cert, principals[i])) < 0) {
			report("bad principal", principals[i], r);
			goto out;
		}
	}
	/* Host certificates carry no extensions, as with ssh-keygen. */
	if (default_extensions && !host && (r = nhi_cert_set_default_extensions(cert)) < 0) {
		report("cannot add default extensions", key_path, r);
		goto out;
	}
	for (i = 0; i < n_criticals; i++) {
		if ((r = add_option(cert, criticals[i], true)) < 0) {
			report("bad critical option", criticals[i], r);
			goto out;
		}
	}
	for (i = 0; i < n_extensions; i++) {
		if ((r = add_option(cert, extensions[i], false)) < 0) {
			report("bad extension", extensions[i], r);
			goto out;
		}
	}
	if ((r = nhi_cert_sign(cert, ca)) < 0) {
		report("cannot sign", key_path, r);
		goto out;
	}
	if ((r = nhi_cert_to_text(cert, comment, &certtext)) < 0 ||
	    (r = write_text_file(out_path, certtext, 0644)) < 0) {
		report("cannot write certificate", out_path, r);
		goto out;
	}
	ret = EXIT_SUCCESS;
out:
	free(certtext);
	free(comment);
	nhi_cert_free(cert);
	nhi_key_free(subject);
	nhi_ca_free(ca);
	free(principals);
	free(criticals);
	free(extensions);
	return ret;
}

/* A fingerprint section entry is the SHA-256 of the key's blob. */
static int revoke_sha256_of(struct nhi_krl *krl, const char *path)
{
	struct nhi_key *key = NULL;
	uint8_t hash[NHI_SHA256_BYTES];
	int r;

	if ((r = load_pubkey(path, &key, NULL)) < 0)
		return r;
	if ((r = nhi_key_fingerprint_raw(key, hash)) < 0 ||
	    (r = nhi_krl_revoke_sha256(krl, hash)) < 0)
		report("cannot revoke key by hash", path, r);
	nhi_key_free(key);
	return r;
}

static int revoke_key_of(struct nhi_krl *krl, const char *path)
{
	struct nhi_key *key = NULL;
	int r;

	if ((r = load_pubkey(path, &key, NULL)) < 0)
		return r;
	if ((r = nhi_krl_revoke_key(krl, key)) < 0)
		report("cannot revoke key", path, r);
	nhi_key_free(key);
	return r;
}

static int parse_range(const char *s, uint64_t *ret_lo, uint64_t *ret_hi)
{
	char *copy = strdup(s), *dash;
	uint64_t lo, hi;
	int r = NHI_ERR_INVALID_ARGUMENT;

	if (copy == NULL)
		return NHI_ERR_ALLOC;
	dash = strchr(copy, '-');
	if (dash == NULL)
		goto out;
	*dash = '\0';
	if (parse_u64(copy, &lo) < 0 || parse_u64(dash + 1, &hi) < 0 || lo > hi)
		goto out;
	*ret_lo = lo;
	*ret_hi = hi;
	r = 0;
out:
	free(copy);
	return r;
}

static int cmd_krl(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"out", required_argument, NULL, OPT_OUT},
	        {"ca", required_argument, NULL, OPT_CA},
	        {"serial", required_argument, NULL, OPT_SERIAL},
	        {"serial-range", required_argument, NULL, OPT_SERIAL_RANGE},
	        {"key-id", required_argument, NULL, OPT_KEY_ID},
	        {"key", required_argument, NULL, OPT_KEY},
	        {"sha256", required_argument, NULL, OPT_SHA256},
	        {NULL, 0, NULL, 0},
	};
	/* Options are kept in order and applied after --ca is known. */
	struct krl_item {
		int kind;
		const char *arg;
	} *items = NULL;
	size_t n_items = 0, i;
	const char *out_path = NULL, *ca_path = NULL;
	struct nhi_krl *krl = NULL;
	struct nhi_key *ca = NULL;
	uint64_t serial, lo, hi;
	int c, r = 0, ret = EXIT_FAILURE;

	items = calloc((size_t)argc, sizeof(*items));
	if (items == NULL) {
		report("cannot write KRL", "(arguments)", NHI_ERR_ALLOC);
		goto out;
	}
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT:
			out_path = optarg;
			break;
		case OPT_CA:
			ca_path = optarg;
			break;
		case OPT_SERIAL:
		case OPT_SERIAL_RANGE:
		case OPT_KEY_ID:
		case OPT_KEY:
		case OPT_SHA256:
			items[n_items].kind = c;
			items[n_items].arg = optarg;
			n_items++;
			break;
		default:
			bad_option(argv, c);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		usage_error("krl: unexpected argument '%s'", argv[optind]);
		ret = EXIT_USAGE;
		goto out;
	}
	if (out_path == NULL) {
		usage_error("krl needs --out FILE");
		ret = EXIT_USAGE;
		goto out;
	}
	/* Check every number before touching any file. */
	for (i = 0; i < n_items; i++) {
		if (items[i].kind == OPT_SERIAL &&
		    (parse_u64(items[i].arg, &serial) < 0 || serial == 0)) {
			usage_error("bad serial '%s': expected a decimal number above 0",
			            items[i].arg);
			ret = EXIT_USAGE;
			goto out;
		}
		if (items[i].kind == OPT_SERIAL_RANGE &&
		    (parse_range(items[i].arg, &lo, &hi) < 0 || lo == 0)) {
			usage_error("bad serial range '%s': expected A-B with 0 < A <= B",
			            items[i].arg);
			ret = EXIT_USAGE;
			goto out;
		}
	}

	if (ca_path != NULL && (r = load_pubkey(ca_path, &ca, NULL)) < 0)
		goto out;
	krl = nhi_krl_new();
	if (krl == NULL) {
		report("cannot write KRL", out_path, NHI_ERR_ALLOC);
		goto out;
	}
	nhi_krl_set_generated(krl, (uint64_t)time(NULL));
	for (i = 0; i < n_items; i++) {
		const char *arg = items[i].arg;

		switch (items[i].kind) {
		case OPT_SERIAL:
			(void)parse_u64(arg, &serial);
			if ((r = nhi_krl_revoke_serial(krl, ca, serial)) < 0)
				report("cannot revoke serial", arg, r);
			break;
		case OPT_SERIAL_RANGE:
			(void)parse_range(arg, &lo, &hi);
			if ((r = nhi_krl_revoke_serial_range(krl, ca, lo, hi)) < 0)
				report("cannot revoke serial range", arg, r);
			break;
		case OPT_KEY_ID:
			if ((r = nhi_krl_revoke_key_id(krl, ca, arg)) < 0)
				report("cannot revoke key id", arg, r);
			break;
		case OPT_KEY:
			r = revoke_key_of(krl, arg);
			break;
		case OPT_SHA256:
			r = revoke_sha256_of(krl, arg);
			break;
		default:
			r = NHI_ERR_INTERNAL;
			break;
		}
		if (r < 0)
			goto out;
	}
	if ((r = nhi_krl_write_file(krl, out_path)) < 0) {
		report("cannot write KRL", out_path, r);
		goto out;
	}
	ret = EXIT_SUCCESS;
out:
	nhi_krl_free(krl);
	nhi_key_free(ca);
	free(items);
	return ret;
}

/* The type label ssh-keygen -l prints in parentheses. */
static const char *type_label(enum nhi_key_type type)
{
	switch (type) {
	case NHI_KEY_ED25519:
		return "ED25519";
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521:
		return "ECDSA";
	case NHI_KEY_RSA:
		return "RSA";
	case NHI_KEY_SK_ED25519:
		return "ED25519-SK";
	case NHI_KEY_SK_ECDSA_P256:
		return "ECDSA-SK";
	case NHI_KEY_DSA:
		return "DSA";
	case NHI_KEY_UNKNOWN:
		break;
	}
	return "UNKNOWN";
}

static int cmd_fingerprint(int argc, char **argv)
{
	struct nhi_key *key = NULL;
	struct nhi_cert *cert = NULL;
	const struct nhi_key *subject;
	char *text = NULL, *comment = NULL;
	char fp[NHI_FINGERPRINT_MAX];
	const char *path;
	bool is_cert = false;
	int r;

	if (argc != 2) {
		usage_error("fingerprint takes exactly one PUBFILE");
		return EXIT_USAGE;
	}
	path = argv[1];
	if ((r = read_pubfile(path, &text)) < 0) {
		report("cannot read public key", path, r);
		goto out;
	}
	r = nhi_key_from_text(text, &key, &comment);
	if (r == NHI_ERR_KEY_IS_CERT) {
		/* ssh-keygen -lf on a certificate prints its subject key. */
		r = nhi_cert_from_text(text, &cert, &comment);
		is_cert = true;
	}
	if (r < 0) {
		report("cannot parse public key", path, r);
		goto out;
	}
	subject = is_cert ? cert->key : key;
	if ((r = nhi_key_fingerprint(subject, fp)) < 0) {
		report("cannot fingerprint", path, r);
		goto out;
	}
	printf("%u %s %s (%s%s)\n", nhi_key_bits(subject), fp,
	       comment != NULL ? comment : "no comment", type_label(subject->type),
	       is_cert ? "-CERT" : "");
out:
	free(text);
	free(comment);
	nhi_key_free(key);
	nhi_cert_free(cert);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n", progname);
		return EXIT_FAILURE;
	}
	/* Each subcommand parses argv[1..] as its own argv. */
	opterr = 0;
	if (strcmp(cmd, "ca-generate") == 0)
		return cmd_ca_generate(argc - 1, argv + 1);
	if (strcmp(cmd, "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(cmd, "krl") == 0)
		return cmd_krl(argc - 1, argv + 1);
	if (strcmp(cmd, "fingerprint") == 0)
		return cmd_fingerprint(argc - 1, argv + 1);
	usage_error("unknown command '%s'", cmd);
	return EXIT_USAGE;
}
