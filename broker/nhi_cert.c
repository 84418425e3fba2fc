/* nhi cert: a new Ed25519 key made in memory, certified by the broker,
 * then handed to the ssh-agent with the certificate's lifetime, or
 * written to a key file and its -cert.pub. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "buf.h"
#include "cakey.h"
#include "cert.h"
#include "conf.h"
#include "err.h"
#include "fileio.h"
#include "names.h"
#include "nhi_cli.h"
#include "sshkey.h"

struct cert_opts {
	const char *identity;
	const char *out;
	uint32_t ttl; /* 0: the broker's default */
};

/* The new key pair. To the agent it goes as raw seed||public key; to a file
 * it goes through the openssh-key-v1 writer of cakey.h, which holds an
 * Ed25519 key the same way. Both live in guarded memory. */
struct subject {
	uint8_t *sk;                /* agent: sodium_malloc'd, NHI_ED25519_SK_BYTES */
	struct nhi_ca_key *filekey; /* --out */
	struct nhi_key *pub;
};

static void subject_clear(struct subject *s)
{
	if (s->sk != NULL)
		sodium_free(s->sk); /* zeroes before it frees */
	nhi_ca_free(s->filekey);
	nhi_key_free(s->pub);
	memset(s, 0, sizeof(*s));
}

static int subject_generate(bool for_file, struct subject *ret)
{
	struct subject s = {0};
	int r;

	if (for_file) {
		if ((r = nhi_ca_generate(&s.filekey)) < 0 ||
		    (r = nhi_ca_public(s.filekey, &s.pub)) < 0)
			goto out;
	} else {
		if ((s.sk = sodium_malloc(NHI_ED25519_SK_BYTES)) == NULL ||
		    (s.pub = calloc(1, sizeof(*s.pub))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		s.pub->type = NHI_KEY_ED25519;
		if (crypto_sign_keypair(s.pub->ed25519_pk, s.sk) != 0) {
			r = NHI_ERR_CRYPTO;
			goto out;
		}
	}
	*ret = s;
	memset(&s, 0, sizeof(s));
	r = 0;
out:
	subject_clear(&s);
	return r;
}

static void cert_usage(FILE *f)
{
	fprintf(f, "usage: nhi cert --identity NAME [--ttl D] [--out PATH] [--json]\n"
	           "\n"
	           "Makes a new Ed25519 key in memory and asks the broker to certify it for\n"
	           "the identity NAME. The broker decides from who is asking: this user, and\n"
	           "the program that ran nhi. The key and its certificate then go to the\n"
	           "ssh-agent at SSH_AUTH_SOCK, which drops them when the certificate expires.\n"
	           "\n"
	           "  -i, --identity NAME  the identity to act as\n"
	           "  -t, --ttl D          lifetime, e.g. 300, 5m, 1h (default and cap: policy)\n"
	           "  -o, --out PATH       write the key to PATH (0600) and the certificate to\n"
	           "                       PATH-cert.pub instead of using the agent\n"
	           "  -j, --json           print the result as one JSON object\n"
	           "  -h, --help           this help\n");
}

/* Refuses a path that is a symlink or anything but a regular file: the
 * rename would replace a link rather than follow it, but the user meant
 * something else and should hear so. */
static int check_out_path(const char *path)
{
	char buf[512];
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return nhi_cli_fail("cannot write '%s': %s", nhi_cli_clean(path, buf, sizeof(buf)),
		                    strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return nhi_cli_fail("refusing to overwrite '%s': it is a symbolic link",
		                    nhi_cli_clean(path, buf, sizeof(buf)));
	if (!S_ISREG(st.st_mode))
		return nhi_cli_fail("refusing to overwrite '%s': not a regular file",
		                    nhi_cli_clean(path, buf, sizeof(buf)));
	return 0;
}

static int write_text_file(const char *path, const char *text, size_t len, mode_t mode)
{
	char buf[512];
	int r;

	if ((r = nhi_atomic_write(path, text, len, mode)) < 0)
		return nhi_cli_fail("cannot write '%s': %s", nhi_cli_clean(path, buf, sizeof(buf)),
		                    r == NHI_ERR_SYSTEM ? strerror(errno) : nhi_strerror(r));
	return 0;
}

/* PATH (the private key, 0600) then PATH-cert.pub (0644, as ssh-keygen
 * writes it); ssh -i PATH finds the certificate next to the key. */
static int write_files(const char *path, const struct subject *s, const struct nhi_cert *cert)
{
	char *certpath = NULL, *priv = NULL, *certtext = NULL, *line = NULL;
	size_t priv_len = 0;
	int r, rc;

	if (asprintf(&certpath, "%s-cert.pub", path) < 0) {
		certpath = NULL;
		rc = nhi_cli_fail("%s", nhi_strerror(NHI_ERR_ALLOC));
		goto out;
	}
	if ((rc = check_out_path(path)) != 0 || (rc = check_out_path(certpath)) != 0)
		goto out;
	if ((r = nhi_ca_to_private_text(s->filekey, cert->key_id, &priv, &priv_len)) < 0 ||
	    (r = nhi_cert_to_text(cert, cert->key_id, &certtext)) < 0) {
		rc = nhi_cli_fail("cannot encode the key: %s", nhi_strerror(r));
		goto out;
	}
	if (asprintf(&line, "%s\n", certtext) < 0) {
		line = NULL;
		rc = nhi_cli_fail("%s", nhi_strerror(NHI_ERR_ALLOC));
		goto out;
	}
	if ((rc = write_text_file(path, priv, priv_len, 0600)) != 0 ||
	    (rc = write_text_file(certpath, line, strlen(line), 0644)) != 0)
		goto out;
	rc = NHI_EXIT_OK;
out:
	if (priv != NULL) {
		sodium_memzero(priv, priv_len);
		free(priv);
	}
	free(certtext);
	free(line);
	free(certpath);
	return rc;
}

static void print_result(const struct nhi_cli *cli, const struct nhi_cert *cert, const char *out,
                         uint32_t lifetime)
{
	char buf[512], after[64], before[64];

	if (cli->json) {
		printf("{\"serial\":%" PRIu64 ",\"key_id\":", cert->serial);
		nhi_cli_json_string(stdout, cert->key_id);
		fputs(",\"principals\":[", stdout);
		for (size_t i = 0; i < cert->n_principals; i++) {
			if (i > 0)
				fputc(',', stdout);
			nhi_cli_json_string(stdout, cert->principals[i]);
		}
		printf("],\"valid_after\":%" PRIu64 ",\"valid_before\":%" PRIu64, cert->valid_after,
		       cert->valid_before);
		if (out != NULL) {
			fputs(",\"key_file\":", stdout);
			nhi_cli_json_string(stdout, out);
		} else {
			printf(",\"agent_lifetime\":%" PRIu32, lifetime);
		}
		fputs("}\n", stdout);
		return;
	}
	nhi_cli_format_time(cert->valid_after, after, sizeof(after));
	nhi_cli_format_time(cert->valid_before, before, sizeof(before));
	printf("serial:      %" PRIu64 "\n", cert->serial);
	printf("key id:      %s\n", nhi_cli_clean(cert->key_id, buf, sizeof(buf)));
	printf("principals: ");
	for (size_t i = 0; i < cert->n_principals; i++)
		printf(" %s", nhi_cli_clean(cert->principals[i], buf, sizeof(buf)));
	printf("\nvalid:       %s to %s\n", after, before);
	if (out != NULL)
		printf("key file:    %s\ncertificate: %s-cert.pub\n",
		       nhi_cli_clean(out, buf, sizeof(buf)), buf);
	else
		printf("ssh-agent:   added, removed after %" PRIu32 "s\n", lifetime);
}

static int parse_cert_opts(int argc, char **argv, struct nhi_cli *cli, struct cert_opts *o)
{
	static const struct option options[] = {
	        {"identity", required_argument, NULL, 'i'}, {"ttl", required_argument, NULL, 't'},
	        {"out", required_argument, NULL, 'o'},      {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	char buf[512];
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:i:t:o:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->identity = optarg;
			break;
		case 't':
			if (nhi_parse_duration(optarg, &o->ttl) < 0 || o->ttl == 0)
				return nhi_cli_usage_error(
				        "cert",
				        "invalid --ttl '%s': a duration such as 300, 5m or 1h",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case 'o':
			if (optarg[0] == '\0')
				return nhi_cli_usage_error("cert", "--out needs a path");
			o->out = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			cert_usage(stdout);
			return -1;
		case ':':
			return nhi_cli_usage_error(
			        "cert", "option '%s' needs a value",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		default:
			return nhi_cli_usage_error(
			        "cert", "unknown option '%s'",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		}
	}
	if (optind != argc)
		return nhi_cli_usage_error("cert", "unexpected argument '%s'",
		                           nhi_cli_clean(argv[optind], buf, sizeof(buf)));
	if (o->identity == NULL)
		return nhi_cli_usage_error("cert", "--identity NAME is required");
	if (!nhi_name_is_valid(o->identity))
		return nhi_cli_usage_error("cert",
		                           "invalid identity name '%s': 1 to %u of a-z, 0-9, '_' "
		                           "and '-', starting with a letter or '_'",
		                           nhi_cli_clean(o->identity, buf, sizeof(buf)),
		                           NHI_NAME_MAX);
	return 0;
}

/* The broker's answer: its certificate, for our key, a user certificate
 * still valid now. Anything else is not used. */
static int take_cert(const struct nhi_msg_reply *reply, const struct subject *s,
                     struct nhi_cert **ret_cert)
{
	const struct nhi_kv_item *blob;
	struct nhi_cert *cert = NULL;
	int r, rc;

	if (reply->n_records < 1 || (blob = nhi_kv_find(&reply->records[0], "certificate")) == NULL)
		return nhi_cli_fail("the broker's answer holds no certificate");
	if ((r = nhi_cert_from_blob(blob->value, blob->len, &cert)) < 0) {
		rc = nhi_cli_fail("the broker's certificate does not parse: %s", nhi_strerror(r));
		goto out;
	}
	if (!nhi_key_equal(cert->key, s->pub) || cert->type != NHI_CERT_TYPE_USER) {
		rc = nhi_cli_fail("the broker certified another key; not using it");
		goto out;
	}
	if (cert->valid_before <= (uint64_t)time(NULL)) {
		rc = nhi_cli_fail("the broker's certificate has already expired (check the clock)");
		goto out;
	}
	*ret_cert = cert;
	cert = NULL;
	rc = NHI_EXIT_OK;
out:
	nhi_cert_free(cert);
	return rc;
}

int nhi_cmd_cert(struct nhi_cli *cli, int argc, char **argv)
{
	struct cert_opts o = {0};
	struct subject s = {0};
	struct nhi_msg_reply reply = {0};
	struct nhi_cert *cert = NULL;
	struct nhi_buf *blob = NULL;
	struct nhi_kv args;
	const char *agent = NULL;
	uint64_t now, left;
	uint32_t lifetime = 0;
	int r, rc;

	nhi_kv_init(&args);
	if ((rc = parse_cert_opts(argc, argv, cli, &o)) != 0)
		return rc < 0 ? NHI_EXIT_OK : rc;
	/* Checked before asking: a certificate nobody can use is still issued
	 * and audited. */
	if (o.out == NULL) {
		agent = getenv("SSH_AUTH_SOCK");
		if (agent == NULL || agent[0] == '\0')
			return nhi_cli_usage_error("cert",
			                           "no ssh-agent (SSH_AUTH_SOCK is not set); "
			                           "start one or use --out PATH");
	} else if ((rc = check_out_path(o.out)) != 0) {
		return NHI_EXIT_REFUSED;
	}
	if (sodium_init() < 0)
		return nhi_cli_fail("cannot initialise libsodium");

	if ((r = subject_generate(o.out != NULL, &s)) < 0) {
		rc = nhi_cli_fail("cannot generate a key: %s", nhi_strerror(r));
		goto out;
	}
	if ((blob = nhi_buf_new()) == NULL || (r = nhi_key_to_blob(s.pub, blob)) < 0 ||
	    (r = nhi_kv_add_str(&args, "identity", o.identity)) < 0 ||
	    (r = nhi_kv_add(&args, "public_key", nhi_buf_ptr(blob), nhi_buf_len(blob))) < 0 ||
	    (o.ttl != 0 && (r = nhi_kv_add_u64(&args, "ttl", o.ttl)) < 0)) {
		rc = nhi_cli_fail("%s", nhi_strerror(blob == NULL ? NHI_ERR_ALLOC : r));
		goto out;
	}
	if ((rc = nhi_cli_call(cli, NHI_MSG_CERT_REQUEST, &args, &reply)) != NHI_EXIT_OK ||
	    (rc = take_cert(&reply, &s, &cert)) != NHI_EXIT_OK)
		goto out;

	if (o.out != NULL) {
		if ((rc = write_files(o.out, &s, cert)) != NHI_EXIT_OK)
			goto out;
	} else {
		now = (uint64_t)time(NULL);
		left = cert->valid_before - now;
		lifetime = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
		r = nhi_agent_add_ed25519_cert(agent, s.sk, cert, cert->key_id, lifetime,
		                               cli->timeout_ms);
		if (r < 0) {
			rc = nhi_cli_fail(
			        "cannot add the key to the ssh-agent at SSH_AUTH_SOCK: %s",
			        nhi_strerror(r));
			goto out;
		}
	}
	print_result(cli, cert, o.out, lifetime);
	rc = NHI_EXIT_OK;
out:
	nhi_cert_free(cert);
	nhi_msg_reply_clear(&reply);
	nhi_buf_free(blob);
	nhi_kv_clear(&args);
	subject_clear(&s);
	return rc;
}
