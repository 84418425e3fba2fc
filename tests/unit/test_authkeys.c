#include "config.h"

#include <criterion/criterion.h>
#include <stdbool.h>
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
#include "support.h"

/* A fresh key pair from ssh-keygen in dir; returns the .pub line without
 * its newline. */
static char *keygen(const char *dir, const char *name, const char *type, const char *bits,
		    const char *comment)
{
	char *path = test_path(dir, name), *pubpath, *out = NULL, *text;
	char *argv[] = {(char *)test_ssh_keygen(), "-q", "-N", "", "-t", (char *)type, "-C",
			(char *)comment, "-f", path, bits ? "-b" : NULL, (char *)bits, NULL};
	size_t len;

	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -t %s: %s", type, out);
	free(out);
	cr_assert(asprintf(&pubpath, "%s.pub", path) > 0);
	text = test_read_file(pubpath, &len);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	free(pubpath);
	free(path);
	return text;
}

/* "TYPE BASE64" of a .pub line (its comment dropped). */
static char *key_only(const char *pub)
{
	const char *sp = strchr(pub, ' ');

	cr_assert_not_null(sp);
	sp = strchr(sp + 1, ' ');
	return sp != NULL ? strndup(pub, (size_t)(sp - pub)) : strdup(pub);
}

static int parse(const char *line, struct nhi_authkey **ret, const char **ret_reason)
{
	return nhi_authkeys_parse_line(line, strlen(line), ret, ret_reason);
}

enum {
	F_RESTRICT = 1 << 0,
	F_CA = 1 << 1,
	F_NO_AGENT = 1 << 2,
	F_NO_PORT = 1 << 3,
	F_NO_PTY = 1 << 4,
	F_NO_RC = 1 << 5,
	F_NO_X11 = 1 << 6,
	F_AGENT = 1 << 7,
	F_PORT = 1 << 8,
	F_PTY = 1 << 9,
	F_RC = 1 << 10,
	F_X11 = 1 << 11,
	F_NO_TOUCH = 1 << 12,
	F_VERIFY = 1 << 13,
};

static unsigned flags_of(const struct nhi_authkey_opts *o)
{
	return (o->restrict_all ? F_RESTRICT : 0) | (o->cert_authority ? F_CA : 0) |
	       (o->no_agent_forwarding ? F_NO_AGENT : 0) |
	       (o->no_port_forwarding ? F_NO_PORT : 0) | (o->no_pty ? F_NO_PTY : 0) |
	       (o->no_user_rc ? F_NO_RC : 0) | (o->no_x11_forwarding ? F_NO_X11 : 0) |
	       (o->permit_agent_forwarding ? F_AGENT : 0) |
	       (o->permit_port_forwarding ? F_PORT : 0) | (o->permit_pty ? F_PTY : 0) |
	       (o->permit_user_rc ? F_RC : 0) | (o->permit_x11_forwarding ? F_X11 : 0) |
	       (o->no_touch_required ? F_NO_TOUCH : 0) | (o->verify_required ? F_VERIFY : 0);
}

#define MAXV 4
struct good_case {
	const char *options; /* prefix before the key, "" for none */
	const char *comment; /* after the key, NULL for none */
	unsigned flags;
	const char *command, *from, *principals, *tunnel, *expiry_text;
	time_t expiry; /* with TZ=UTC0 */
	const char *env[MAXV], *open[MAXV], *listen[MAXV];
	const char *want_comment;
};

static void assert_strv(char **got, size_t n, const char *const *want, const char *what,
			const char *line)
{
	size_t i, nwant = 0;

	while (nwant < MAXV && want[nwant] != NULL)
		nwant++;
	cr_assert_eq(n, nwant, "%s count %zu != %zu in: %s", what, n, nwant, line);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(got[i], want[i], "%s[%zu] in: %s", what, i, line);
}

static void assert_opt_str(const char *got, const char *want, const char *what, const char *line)
{
	if (want == NULL)
		cr_assert_null(got, "%s should be unset in: %s (got %s)", what, line, got);
	else {
		cr_assert_not_null(got, "%s missing in: %s", what, line);
		cr_assert_str_eq(got, want, "%s in: %s", what, line);
	}
}

static const struct good_case good_cases[] = {
	{.options = "", .comment = "alice@laptop", .want_comment = "alice@laptop"},
	{.options = "command=\"echo \\\"hi\\\"\"", .command = "echo \"hi\""},
	{.options = "from=\"10.0.0.0/8,!10.1.*\"", .from = "10.0.0.0/8,!10.1.*"},
	{.options = "environment=\"A=1\",environment=\"B=two words\",environment=\"PATH=/bin:/usr/bin\"",
	 .env = {"A=1", "B=two words", "PATH=/bin:/usr/bin"}},
	{.options = "expiry-time=\"20300101\"", .expiry_text = "20300101", .expiry = 1893456000},
	{.options = "expiry-time=\"203001021230Z\"",
	 .expiry_text = "203001021230Z",
	 .expiry = 1893456000 + 86400 + 12 * 3600 + 30 * 60},
	{.options = "expiry-time=\"20300102123045Z\"",
	 .expiry_text = "20300102123045Z",
	 .expiry = 1893456000 + 86400 + 12 * 3600 + 30 * 60 + 45},
	/* sshd keeps the earliest expiry-time. */
	{.options = "expiry-time=\"20310101Z\",expiry-time=\"20300101Z\",expiry-time=\"20320101Z\"",
	 .expiry_text = "20300101Z",
	 .expiry = 1893456000},
	{.options = "restrict,pty", .flags = F_RESTRICT | F_PTY},
	/* restrict clears what came before it. */
	{.options = "pty,agent-forwarding,restrict", .flags = F_RESTRICT},
	{.options = "cert-authority,principals=\"a,b\"", .flags = F_CA, .principals = "a,b"},
	{.options = "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,"
		    "command=\"/usr/bin/rrsync -ro /srv/\",from=\"192.168.1.*\"",
	 .comment = "backup key",
	 .flags = F_NO_PORT | F_NO_AGENT | F_NO_X11,
	 .command = "/usr/bin/rrsync -ro /srv/",
	 .from = "192.168.1.*",
	 .want_comment = "backup key"},
	{.options = "NO-PTY,Command=\"ls\",X11-Forwarding", .flags = F_NO_PTY | F_X11,
	 .command = "ls"},
	{.options = "permitopen=\"localhost:8080\",permitopen=\"[::1]:22\",permitopen=\"db/5432\","
		    "permitlisten=\"8080\",permitlisten=\"localhost:9000\",permitopen=\"*:*\"",
	 .open = {"localhost:8080", "[::1]:22", "db/5432", "*:*"},
	 .listen = {"8080", "localhost:9000"}},
	{.options = "tunnel=\"0\",no-user-rc,user-rc", .flags = F_RC, .tunnel = "0"},
	{.options = "tunnel=\"any\",port-forwarding,no-port-forwarding", .flags = F_NO_PORT,
	 .tunnel = "any"},
	{.options = "no-touch-required,verify-required", .flags = F_NO_TOUCH | F_VERIFY},
	{.options = "no-touch-required,touch-required"},
	/* Quoted commas and blanks do not end the options. */
	{.options = "command=\"a,b c\tend\",no-pty", .flags = F_NO_PTY, .command = "a,b c\tend"},
	/* A backslash not before a quote stays as it is. */
	{.options = "command=\"echo \\\\n \\x\"", .command = "echo \\\\n \\x"},
	{.options = " \t restrict\t", .comment = "  spaced   comment  ", .flags = F_RESTRICT,
	 .want_comment = "spaced   comment"},
	{.options = "", .comment = "with CR\r", .want_comment = "with CR"},
	{.options = "", .comment = "caf\xc3\xa9 \xe2\x9c\x93", .want_comment = "caf\xc3\xa9 \xe2\x9c\x93"},
	{.options = "agent-forwarding,port-forwarding,pty,user-rc,x11-forwarding",
	 .flags = F_AGENT | F_PORT | F_PTY | F_RC | F_X11},
	{.options = "no-agent-forwarding,no-port-forwarding,no-pty,no-user-rc,no-x11-forwarding",
	 .flags = F_NO_AGENT | F_NO_PORT | F_NO_PTY | F_NO_RC | F_NO_X11},
};

Test(authkeys, real_world_lines_give_exact_fields)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x");
	char *key = key_only(pub);
	struct nhi_key *want_key = NULL;
	size_t i;

	setenv("TZ", "UTC0", 1);
	tzset();
	cr_assert_eq(nhi_key_from_text(key, &want_key, NULL), 0);
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		struct nhi_authkey *ak = NULL;
		const char *reason = "unset";
		char *line;
		int r;

		cr_assert(asprintf(&line, "%s%s%s%s%s", c->options, *c->options ? " " : "", key,
				   c->comment ? " " : "", c->comment ? c->comment : "") > 0);
		r = parse(line, &ak, &reason);
		cr_assert_eq(r, 0, "case %zu: %s: %s", i, line, reason);
		cr_assert_null(reason);
		cr_assert_not_null(ak, "case %zu", i);
		cr_assert(nhi_key_equal(ak->key, want_key), "case %zu key", i);
		cr_assert_eq(flags_of(&ak->opts), c->flags, "case %zu flags %#x != %#x: %s", i,
			     flags_of(&ak->opts), c->flags, line);
		assert_opt_str(ak->opts.command, c->command, "command", line);
		assert_opt_str(ak->opts.from, c->from, "from", line);
		assert_opt_str(ak->opts.principals, c->principals, "principals", line);
		assert_opt_str(ak->opts.tunnel, c->tunnel, "tunnel", line);
		assert_opt_str(ak->opts.expiry_time_text, c->expiry_text, "expiry-time", line);
		cr_assert_eq(ak->opts.expiry_time, c->expiry, "case %zu expiry %lld != %lld", i,
			     (long long)ak->opts.expiry_time, (long long)c->expiry);
		assert_strv(ak->opts.environment, ak->opts.n_environment, c->env, "environment",
			    line);
		assert_strv(ak->opts.permitopen, ak->opts.n_permitopen, c->open, "permitopen",
			    line);
		assert_strv(ak->opts.permitlisten, ak->opts.n_permitlisten, c->listen,
			    "permitlisten", line);
		assert_opt_str(ak->comment, c->want_comment, "comment", line);
		if (*c->options == '\0')
			cr_assert_null(ak->options_text, "case %zu", i);
		else
			cr_assert_not_null(ak->options_text, "case %zu", i);
		nhi_authkey_free(ak);
		free(line);
	}
	nhi_key_free(want_key);
	free(key);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, expiry_without_z_is_local_time)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x"), *line;
	struct nhi_authkey *ak = NULL;

	/* A zone without summer time: five hours behind UTC. */
	setenv("TZ", "EST5", 1);
	tzset();
	cr_assert(asprintf(&line, "expiry-time=\"203001010000\" %s", pub) > 0);
	cr_assert_eq(parse(line, &ak, NULL), 0);
	cr_assert_eq(ak->opts.expiry_time, (time_t)1893456000 + 5 * 3600);
	nhi_authkey_free(ak);
	free(line);
	cr_assert(asprintf(&line, "expiry-time=\"203001010000UTC\" %s", pub) > 0);
	cr_assert_eq(parse(line, &ak, NULL), 0);
	cr_assert_eq(ak->opts.expiry_time, (time_t)1893456000);
	nhi_authkey_free(ak);
	free(line);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, blank_and_comment_lines)
{
	static const char *const lines[] = {"", "   ", "\t \t", "\r", "# a comment",
					    "   #ssh-ed25519 AAAA", "#", " \t# x\r"};
	struct nhi_authkey *ak = (struct nhi_authkey *)&ak;
	const char *reason = "unset";
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		ak = (struct nhi_authkey *)&ak;
		cr_assert_eq(parse(lines[i], &ak, &reason), 0, "line %zu", i);
		cr_assert_null(ak, "line %zu", i);
	}
	cr_assert_eq(nhi_authkeys_parse_line(NULL, 0, &ak, NULL), 0);
	cr_assert_null(ak);
	cr_assert_eq(nhi_authkeys_parse_line(NULL, 3, &ak, NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_authkeys_parse_line("x", 1, NULL, NULL), NHI_ERR_INVALID_ARGUMENT);
}

struct bad_case {
	const char *options; /* before the key; may be "" */
	const char *after;   /* replaces the key text when set */
	const char *comment;
	int err;
	const char *reason;
};

static const struct bad_case bad_cases[] = {
	{"unknown-opt", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unknown option"},
	{"no-restrict", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unknown option"},
	{"pty=\"yes\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unknown option"},
	{"ptyx", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unknown option"},
	{"command", NULL, NULL, NHI_ERR_INVALID_FORMAT, "option needs a value"},
	{"command=\"a\",command=\"b\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "command given twice"},
	{"from=\"a\",FROM=\"b\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "from given twice"},
	{"principals=\"a\",principals=\"b\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "principals given twice"},
	{"command=\"never closed", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unterminated quote"},
	{"command=\"ends in escape\\\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "unterminated quote"},
	{"command=\"\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "empty option value"},
	{"command=ls", NULL, NULL, NHI_ERR_INVALID_FORMAT, "option value not quoted"},
	{"command=\"ls\"x", NULL, NULL, NHI_ERR_INVALID_FORMAT, "unexpected text after an option"},
	{"no-pty,", NULL, NULL, NHI_ERR_INVALID_FORMAT, "trailing comma in options"},
	{",no-pty", NULL, NULL, NHI_ERR_INVALID_FORMAT, "empty option"},
	{"no-pty,,pty", NULL, NULL, NHI_ERR_INVALID_FORMAT, "empty option"},
	{"no\"pty\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "quote inside an option name"},
	{"expiry-time=\"2030\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid expiry-time"},
	{"expiry-time=\"20301301\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid expiry-time"},
	{"expiry-time=\"20290229\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid expiry-time"},
	{"expiry-time=\"203001012400Z\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid expiry-time"},
	{"expiry-time=\"2030010112x0\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid expiry-time"},
	{"expiry-time=\"19700101Z\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid expiry-time"},
	{"environment=\"NOEQUALS\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid environment string"},
	{"environment=\"BAD-NAME=x\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid environment string"},
	{"permitopen=\"nohostport\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid permitopen host:port"},
	{"permitopen=\"host:0\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid permitopen host:port"},
	{"permitopen=\"host:65536\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid permitopen host:port"},
	{"permitopen=\":22\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid permitopen host:port"},
	{"permitopen=\"[::1\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid permitopen host:port"},
	{"permitlisten=\"http\"", NULL, NULL, NHI_ERR_INVALID_FORMAT,
	 "invalid permitlisten [host:]port"},
	{"tunnel=\"tun0\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid tunnel device"},
	{"tunnel=\"2147483646\"", NULL, NULL, NHI_ERR_INVALID_FORMAT, "invalid tunnel device"},
	{"no-pty", "", NULL, NHI_ERR_INVALID_FORMAT, "missing key after options"},
	{"", "ssh-ed25519", NULL, NHI_ERR_INVALID_FORMAT, "missing key data"},
	{"", "ssh-ed25519 AAAA!!!!", NULL, NHI_ERR_BASE64, "bad base64"},
	{"", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", NULL, NHI_ERR_BASE64, "bad base64"},
	{"", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", NULL, NHI_ERR_KEY_INVALID, "invalid key blob"},
	{"", "ssh-foo AAAAC3NzaC1lZDI1NTE5", NULL, NHI_ERR_KEY_TYPE_UNKNOWN, "unknown key type"},
	{"no-pty", "ssh-foo AAAAC3NzaC1lZDI1NTE5", NULL, NHI_ERR_KEY_TYPE_UNKNOWN,
	 "unknown key type"},
	{"", NULL, "esc \x1b[31mred", NHI_ERR_INVALID_FORMAT, "control character in comment"},
	{"", NULL, "bell\a", NHI_ERR_INVALID_FORMAT, "control character in comment"},
	{"", NULL, "del\x7f", NHI_ERR_INVALID_FORMAT, "control character in comment"},
	{"", NULL, "cr\rinside", NHI_ERR_INVALID_FORMAT, "control character in comment"},
	{"", NULL, "two\nlines", NHI_ERR_INVALID_FORMAT, "newline inside line"},
};

Test(authkeys, bad_lines_give_clean_reasons)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x");
	char *key = key_only(pub);
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct nhi_authkey *sentinel = (struct nhi_authkey *)&sentinel, *ak = sentinel;
		const char *reason = NULL, *k = c->after ? c->after : key;
		char *line;
		int r;

		cr_assert(asprintf(&line, "%s%s%s%s%s", c->options,
				   *c->options && *k ? " " : "", k, c->comment ? " " : "",
				   c->comment ? c->comment : "") > 0);
		r = parse(line, &ak, &reason);
		cr_assert_eq(r, c->err, "case %zu: %d (%s) != %d for: %s", i, r,
			     reason ? reason : "?", c->err, line);
		cr_assert_not_null(reason, "case %zu", i);
		cr_assert_str_eq(reason, c->reason, "case %zu: %s", i, line);
		cr_assert_eq(ak, sentinel, "case %zu: *ret touched on failure", i);
		free(line);
	}
	free(key);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, type_blob_mismatch_and_certificates)
{
	char *dir = test_mkdtemp(), *ed = keygen(dir, "ed", "ed25519", NULL, "x");
	char *ec = keygen(dir, "ec", "ecdsa", "256", "x"), *line, *out = NULL, *ca, *cert, *certpub;
	char *argv[] = {(char *)test_ssh_keygen(), "-q", "-s", NULL, "-I", "id", "-n", "u",
			NULL, NULL};
	const char *reason;
	struct nhi_authkey *ak = NULL;
	size_t len;

	/* The ed25519 blob under the RSA and ECDSA names. */
	cr_assert(asprintf(&line, "ssh-rsa %s", strchr(ed, ' ') + 1) > 0);
	cr_assert_eq(parse(line, &ak, &reason), NHI_ERR_KEY_TYPE_MISMATCH);
	cr_assert_str_eq(reason, "key type does not match its blob");
	free(line);
	/* A P-256 blob named as P-384. */
	cr_assert(asprintf(&line, "restrict ecdsa-sha2-nistp384 %s", strchr(ec, ' ') + 1) > 0);
	cr_assert_eq(parse(line, &ak, &reason), NHI_ERR_KEY_TYPE_MISMATCH);
	free(line);
	cr_assert_null(ak);

	/* A certificate is no plain key, under either name. */
	ca = test_path(dir, "ed");
	cert = test_path(dir, "ec.pub");
	argv[3] = ca;
	argv[8] = cert;
	cr_assert_eq(test_run(argv, &out), 0, "%s", out);
	free(out);
	free(cert);
	cert = test_path(dir, "ec-cert.pub");
	certpub = test_read_file(cert, &len);
	certpub[strcspn(certpub, "\n")] = '\0';
	cr_assert_eq(parse(certpub, &ak, &reason), NHI_ERR_KEY_IS_CERT, "%s", reason);
	cr_assert(asprintf(&line, "ecdsa-sha2-nistp256 %s", strchr(certpub, ' ') + 1) > 0);
	cr_assert_eq(parse(line, &ak, &reason), NHI_ERR_KEY_IS_CERT, "%s", reason);
	cr_assert_null(ak);
	free(line);
	free(certpub);
	free(cert);
	free(ca);
	free(ec);
	free(ed);
	test_rmtree(dir);
	free(dir);
}

/* The FIDO form of an ed25519 or P-256 .pub line, built by hand because
 * making one with ssh-keygen needs a token: the same public fields under
 * the sk- name, then the application. */
static char *sk_form(const char *pub)
{
	const char *b64 = strchr(pub, ' ') + 1, *end = strchr(b64, ' '), *name;
	struct nhi_buf *in = nhi_buf_new(), *out = nhi_buf_new();
	const uint8_t *type, *f1, *f2 = NULL;
	size_t type_len, f1_len, f2_len = 0;
	char *enc, *line;

	cr_assert_eq(nhi_b64_decode(b64, end ? (size_t)(end - b64) : strlen(b64), in), 0);
	cr_assert_eq(nhi_buf_get_string_direct(in, &type, &type_len), 0);
	cr_assert_eq(nhi_buf_get_string_direct(in, &f1, &f1_len), 0);
	if (type_len == 11) {
		name = "sk-ssh-ed25519@openssh.com";
	} else {
		name = "sk-ecdsa-sha2-nistp256@openssh.com";
		cr_assert_eq(nhi_buf_get_string_direct(in, &f2, &f2_len), 0);
	}
	cr_assert_eq(nhi_buf_put_cstring(out, name), 0);
	cr_assert_eq(nhi_buf_put_string(out, f1, f1_len), 0);
	if (f2 != NULL)
		cr_assert_eq(nhi_buf_put_string(out, f2, f2_len), 0);
	cr_assert_eq(nhi_buf_put_cstring(out, "ssh:"), 0);
	cr_assert_eq(nhi_b64_encode(nhi_buf_ptr(out), nhi_buf_len(out), &enc), 0);
	cr_assert(asprintf(&line, "%s %s%s", name, enc, end ? end : "") > 0);
	free(enc);
	nhi_buf_free(in);
	nhi_buf_free(out);
	return line;
}

/* Keys of every type ssh-keygen knows, behind assorted options: our
 * fingerprints and sizes equal ssh-keygen -lf on the same file. */
Test(authkeys, fingerprints_match_ssh_keygen, .timeout = 120)
{
	static const struct {
		const char *type, *bits, *options;
		bool sk;
	} kinds[] = {
	    {"ed25519", NULL, "", false},
	    {"ecdsa", "256", "restrict,pty ", false},
	    {"ecdsa", "384", "from=\"10.0.0.0/8,!10.1.*\",command=\"echo \\\"a b\\\"\" ", false},
	    {"ecdsa", "521", "cert-authority,principals=\"a,b\" ", false},
	    {"rsa", "2048", "environment=\"A=1\",environment=\"B=2\" ", false},
	    {"rsa", "3072", "expiry-time=\"20991231\",no-pty ", false},
	    {"dsa", NULL, "", false},
	    {"ed25519", NULL, "  no-agent-forwarding\t", false},
	    {"ed25519", NULL, "no-touch-required ", true},
	    {"ecdsa", "256", "verify-required ", true},
	};
	char *dir = test_mkdtemp(), *file = test_path(dir, "authorized_keys"), *out = NULL;
	char *argv[] = {(char *)test_ssh_keygen(), "-l", "-f", file, NULL};
	char *lines[16], *text = NULL, *save = NULL, *tok;
	size_t n = 0, i, len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	fprintf(f, "# leading comment\n\n");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char name[16], comment[32], *pub;

		snprintf(name, sizeof(name), "k%zu", i);
		snprintf(comment, sizeof(comment), "key %zu@test", i);
		pub = keygen(dir, name, kinds[i].type, kinds[i].bits, comment);
		if (kinds[i].sk) {
			char *sk = sk_form(pub);

			free(pub);
			pub = sk;
		}
		cr_assert(asprintf(&lines[n], "%s%s", kinds[i].options, pub) > 0);
		fprintf(f, "%s\n", lines[n++]);
		free(pub);
	}
	cr_assert_eq(fclose(f), 0);
	test_write_file(file, text, len, 0600);
	free(text);
	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -lf: %s", out);

	/* One output line per key, in file order: "BITS SHA256:... COMMENT (TYPE)". */
	tok = strtok_r(out, "\n", &save);
	for (i = 0; i < n; i++) {
		struct nhi_authkey *ak = NULL;
		char fp[NHI_FINGERPRINT_MAX], want_fp[NHI_FINGERPRINT_MAX + 8], want_comment[64];
		unsigned bits;
		const char *reason;

		cr_assert_not_null(tok, "ssh-keygen printed too few lines");
		cr_assert_eq(sscanf(tok, "%u %58s %63[^(]", &bits, want_fp, want_comment), 3,
			     "%s", tok);
		want_comment[strlen(want_comment) - 1] = '\0'; /* the blank before "(" */
		cr_assert_eq(parse(lines[i], &ak, &reason), 0, "%s: %s", lines[i], reason);
		cr_assert_eq(nhi_key_fingerprint(ak->key, fp), 0);
		cr_assert_str_eq(fp, want_fp, "line %zu", i);
		cr_assert_eq(nhi_key_bits(ak->key), bits, "line %zu", i);
		cr_assert_str_eq(ak->comment, want_comment);
		nhi_authkey_free(ak);
		free(lines[i]);
		tok = strtok_r(NULL, "\n", &save);
	}
	cr_assert_null(tok, "ssh-keygen printed more lines than keys: %s", tok);
	free(out);
	free(file);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, format_is_canonical_and_reparses)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x");
	char *key = key_only(pub), *line, *want, *s = NULL, *s2 = NULL;
	struct nhi_authkey *ak = NULL, *ak2 = NULL;

	cr_assert(asprintf(&line, " \trestrict,command=\"echo \\\"a, b\\\"\",pty\t  %s   my  key \r",
			   key) > 0);
	cr_assert_eq(parse(line, &ak, NULL), 0);
	cr_assert(asprintf(&want, "restrict,command=\"echo \\\"a, b\\\"\",pty %s my  key", key) > 0);
	cr_assert_eq(nhi_authkey_format(ak, &s), 0);
	cr_assert_str_eq(s, want);
	cr_assert_eq(parse(s, &ak2, NULL), 0);
	cr_assert_str_eq(ak2->opts.command, "echo \"a, b\"");
	cr_assert(nhi_key_equal(ak->key, ak2->key));
	nhi_authkey_free(ak2);
	nhi_authkey_free(ak);
	free(s);
	free(want);
	free(line);

	/* No options, no comment: just the key. */
	cr_assert_eq(parse(key, &ak, NULL), 0);
	cr_assert_eq(nhi_authkey_format(ak, &s), 0);
	cr_assert_str_eq(s, key);
	free(s);

	/* Adding an expiry to a key without one. */
	cr_assert_eq(nhi_authkey_format_with_expiry(ak, 1893456000 + 3723, &s), 0);
	cr_assert(asprintf(&want, "expiry-time=\"20300101010203Z\" %s", key) > 0);
	cr_assert_str_eq(s, want);
	cr_assert_eq(parse(s, &ak2, NULL), 0);
	cr_assert_eq(ak2->opts.expiry_time, 1893456000 + 3723);
	nhi_authkey_free(ak2);
	nhi_authkey_free(ak);
	free(want);
	free(s);

	/* A later written expiry is replaced, an earlier one kept. */
	cr_assert(asprintf(&line, "no-pty,expiry-time=\"20350101Z\",from=\"*.lan\" %s c", key) > 0);
	cr_assert_eq(parse(line, &ak, NULL), 0);
	cr_assert_eq(nhi_authkey_format_with_expiry(ak, 1893456000, &s), 0);
	cr_assert(asprintf(&want, "expiry-time=\"20300101000000Z\",no-pty,from=\"*.lan\" %s c",
			   key) > 0);
	cr_assert_str_eq(s, want);
	cr_assert_eq(nhi_authkey_format_with_expiry(ak, 2082758400 + 86400, &s2), 0);
	cr_assert(strstr(s2, "expiry-time=\"20350101Z\"") != NULL, "%s", s2);
	cr_assert_eq(parse(s2, &ak2, NULL), 0);
	cr_assert_eq(ak2->opts.expiry_time, 2051222400);
	nhi_authkey_free(ak2);
	nhi_authkey_free(ak);
	free(s2);
	free(s);
	free(want);
	free(line);

	/* What we print sshd will read: nothing that breaks the line. */
	cr_assert_eq(parse(key, &ak, NULL), 0);
	ak->comment = strdup("evil\nrestrict ssh-ed25519 AAAA");
	s = NULL;
	cr_assert_eq(nhi_authkey_format(ak, &s), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(s);
	free(ak->comment);
	ak->comment = NULL;
	ak->options_text = strdup("no-pty ssh-ed25519");
	cr_assert_eq(nhi_authkey_format(ak, &s), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_authkey_format_with_expiry(ak, 0, &s), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(s);
	nhi_authkey_free(ak);
	cr_assert_eq(nhi_authkey_format(NULL, &s), NHI_ERR_INVALID_ARGUMENT);
	nhi_authkey_free(NULL);

	free(key);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, repeated_values_are_capped)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x");
	struct nhi_authkey *ak = NULL;
	const char *reason;
	char *line;
	size_t i, len = 0;
	FILE *f;

	for (size_t count = NHI_AUTHKEYS_OPTION_VALUES_MAX; count <= NHI_AUTHKEYS_OPTION_VALUES_MAX + 1;
	     count++) {
		line = NULL;
		f = open_memstream(&line, &len);
		for (i = 0; i < count; i++)
			fprintf(f, "%spermitopen=\"h%zu:22\"", i ? "," : "", i);
		fprintf(f, " %s", pub);
		fclose(f);
		if (count == NHI_AUTHKEYS_OPTION_VALUES_MAX) {
			cr_assert_eq(parse(line, &ak, &reason), 0, "%s", reason);
			cr_assert_eq(ak->opts.n_permitopen, count);
			cr_assert_str_eq(ak->opts.permitopen[count - 1], "h63:22");
			nhi_authkey_free(ak);
		} else {
			cr_assert_eq(parse(line, &ak, &reason), NHI_ERR_TOO_MANY);
			cr_assert_str_eq(reason, "too many values for an option");
		}
		free(line);
	}
	free(pub);
	test_rmtree(dir);
	free(dir);
}

Test(authkeys, long_lines_and_nul_bytes)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "x");
	char *key = key_only(pub), *big = malloc(20000 + 1);
	struct nhi_authkey *ak = NULL;
	const char *reason;
	size_t plen = strlen(pub), klen = strlen(key), n;

	/* 20000 bytes: an overlong comment. */
	memset(big, 'c', 20000);
	memcpy(big, key, klen);
	big[klen] = ' ';
	big[20000] = '\0';
	cr_assert_eq(nhi_authkeys_parse_line(big, 20000, &ak, &reason), NHI_ERR_LINE_TOO_LONG);
	cr_assert_str_eq(reason, "line too long");
	/* Exactly at the limit is still a line. */
	cr_assert_eq(nhi_authkeys_parse_line(big, NHI_AUTHKEYS_LINE_MAX, &ak, &reason), 0, "%s",
		     reason);
	cr_assert_eq(strlen(ak->comment), NHI_AUTHKEYS_LINE_MAX - klen - 1);
	nhi_authkey_free(ak);
	ak = NULL;
	/* 20000 bytes of options that never close a quote. */
	memset(big, 'x', 20000);
	memcpy(big, "command=\"", 9);
	cr_assert_eq(nhi_authkeys_parse_line(big, NHI_AUTHKEYS_LINE_MAX, &ak, &reason),
		     NHI_ERR_INVALID_FORMAT);
	cr_assert_str_eq(reason, "unterminated quote");

	/* A NUL anywhere: in the comment, the key, the options. */
	memcpy(big, pub, plen + 1);
	for (n = 0; n < plen; n += 7) {
		big[n] = '\0';
		cr_assert_eq(nhi_authkeys_parse_line(big, plen, &ak, &reason),
			     NHI_ERR_INVALID_FORMAT, "NUL at %zu", n);
		cr_assert_str_eq(reason, "NUL byte in line");
		big[n] = pub[n];
	}
	cr_assert_null(ak);
	free(big);
	free(key);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

/* Every prefix of a valid line parses or fails cleanly, and a line cut
 * inside its key data always fails. */
Test(authkeys, every_truncation_is_clean)
{
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ecdsa", "256", "truncated@host");
	char *line, *copy;
	const char *b64, *b64_end;
	size_t len, n;

	cr_assert(asprintf(&line,
			   "restrict,command=\"echo \\\"x,y\\\"\",from=\"10.0.0.0/8,!10.1.*\","
			   "environment=\"A=b c\",expiry-time=\"20300101Z\",permitopen=\"h:1\" %s",
			   pub) > 0);
	len = strlen(line);
	b64 = strstr(line, "AAAA");
	b64_end = strchr(b64, ' ');
	for (n = 0; n <= len; n++) {
		struct nhi_authkey *ak = NULL;
		const char *reason = NULL;
		int r;

		/* A heap copy of exactly n bytes, so ASan sees any overread. */
		copy = malloc(n ? n : 1);
		memcpy(copy, line, n);
		r = nhi_authkeys_parse_line(copy, n, &ak, &reason);
		if (r < 0) {
			cr_assert_not_null(reason, "prefix %zu", n);
			cr_assert_null(ak);
		} else if (n > 0) {
			cr_assert_not_null(ak, "prefix %zu", n);
			cr_assert_not_null(ak->key);
		}
		if (n > 0 && line + n < b64_end)
			cr_assert_lt(r, 0, "prefix %zu ending in the key data parsed", n);
		if (line + n >= b64_end)
			cr_assert_eq(r, 0, "prefix %zu: %s", n, reason);
		nhi_authkey_free(ak);
		free(copy);
	}
	free(line);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible across runs and platforms. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Random bytes and random mutations of a valid line never crash; whatever
 * parses can be printed and parsed back to the same key. */
Test(authkeys, random_lines_never_crash, .timeout = 120)
{
	static const char alphabet[] = "\",=\\ \t#AZaz09+/-!*:[]\r\x1b";
	char *dir = test_mkdtemp(), *pub = keygen(dir, "k", "ed25519", NULL, "fuzz");
	char *seed_line, buf[600];
	size_t seed_len, i, j, ok = 0;

	cr_assert(asprintf(&seed_line,
			   "no-pty,command=\"a \\\"b\\\" c\",environment=\"X=1\",from=\"*\" %s",
			   pub) > 0);
	seed_len = strlen(seed_line);
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 6000; i++) {
		struct nhi_authkey *ak = NULL, *ak2 = NULL;
		const char *reason = NULL;
		size_t len;
		char *copy, *s = NULL;
		int r;

		if (i % 3 == 0) {
			/* Pure noise. */
			len = rng() % 300;
			for (j = 0; j < len; j++)
				buf[j] = (char)(rng() & 0xff);
		} else {
			/* The valid line with a few bytes changed, cut or from the alphabet. */
			len = seed_len;
			memcpy(buf, seed_line, len);
			for (j = rng() % 4 + 1; j > 0; j--) {
				size_t at = rng() % len;

				buf[at] = (rng() & 1) ? alphabet[rng() % (sizeof(alphabet) - 1)]
						      : (char)(rng() & 0xff);
			}
			if (rng() % 4 == 0)
				len = rng() % (len + 1);
		}
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		r = nhi_authkeys_parse_line(copy, len, &ak, &reason);
		if (r < 0) {
			cr_assert_not_null(reason, "iteration %zu", i);
			cr_assert_null(ak);
		} else if (ak != NULL) {
			ok++;
			cr_assert_eq(nhi_authkey_format(ak, &s), 0, "iteration %zu: [%s] [%s]", i, ak->options_text, ak->comment);
			cr_assert_eq(parse(s, &ak2, &reason), 0, "iteration %zu: %s: %s", i, s,
				     reason);
			cr_assert(nhi_key_equal(ak->key, ak2->key));
			cr_assert_eq(flags_of(&ak->opts), flags_of(&ak2->opts));
			nhi_authkey_free(ak2);
			free(s);
		}
		nhi_authkey_free(ak);
		free(copy);
	}
	/* The mutations must leave some lines valid, or this tests nothing. */
	cr_assert_gt(ok, 100, "only %zu lines parsed", ok);
	free(seed_line);
	free(pub);
	test_rmtree(dir);
	free(dir);
}

/* Blobs whose inner lengths lie: past the end, short, or with bytes left. */
Test(authkeys, hostile_key_blobs)
{
	static const struct {
		uint32_t pk_len;
		size_t pk_bytes, trailing;
	} blobs[] = {
	    {0xffffffffu, 32, 0}, {33, 32, 0}, {31, 31, 0}, {32, 32, 1}, {0, 0, 0},
	};
	uint8_t pk[40];
	size_t i;

	memset(pk, 0x5a, sizeof(pk));
	for (i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		struct nhi_buf *b = nhi_buf_new();
		struct nhi_authkey *ak = NULL;
		const char *reason = NULL;
		char *enc, *line;

		cr_assert_eq(nhi_buf_put_cstring(b, "ssh-ed25519"), 0);
		cr_assert_eq(nhi_buf_put_u32(b, blobs[i].pk_len), 0);
		cr_assert_eq(nhi_buf_put(b, pk, blobs[i].pk_bytes + blobs[i].trailing), 0);
		cr_assert_eq(nhi_b64_encode(nhi_buf_ptr(b), nhi_buf_len(b), &enc), 0);
		cr_assert(asprintf(&line, "no-pty ssh-ed25519 %s c", enc) > 0);
		cr_assert_eq(parse(line, &ak, &reason), NHI_ERR_KEY_INVALID, "blob %zu: %s", i,
			     reason ? reason : "parsed");
		cr_assert_str_eq(reason, "invalid key blob");
		cr_assert_null(ak);
		free(line);
		free(enc);
		nhi_buf_free(b);
	}
}
