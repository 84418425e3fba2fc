/* Certificate signing throughput, measured against its peers in one run:
 *
 *   raw        libsodium crypto_sign_detached over ~350 bytes, the floor
 *              cost of one Ed25519 signature;
 *   libnhi     nhi_cert_sign in-process: a fresh ed25519 subject key per
 *              certificate, increasing serials, two principals, the
 *              default extensions, serialized to a blob;
 *   ssh-keygen one `ssh-keygen -s` process per certificate, as a shell
 *              script or a naive broker would issue them;
 *   exec       one fork+exec of a trivial program, the process floor that
 *              ssh-keygen pays before it signs anything.
 *
 * Prints rates and ratios; it asserts nothing about time (the budget in
 * the design is informational here, machines differ).
 *
 * usage: cert-sign [-n CERTS] [-k KEYGEN_CERTS] [-r ROUNDS] [-g SSH_KEYGEN] */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cakey.h"
#include "cert.h"
#include "bench_util.h"
#include "err.h"
#include "sshkey.h"

/* The signed part of an Ed25519 user certificate with default extensions. */
#define RAW_MSG_BYTES 350u

struct opts {
	unsigned certs;        /* in-process signatures and certificates per round */
	unsigned keygen_certs; /* ssh-keygen processes */
	unsigned rounds;       /* in-process rounds; the best one is reported */
	const char *keygen;
};

/* (a) Raw Ed25519 signatures per second. */
static double bench_raw(unsigned n)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char msg[RAW_MSG_BYTES], sig[crypto_sign_BYTES];
	double t0, t;
	unsigned i;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		/* A different message each time, as each certificate differs. */
		msg[i % sizeof(msg)] ^= (unsigned char)i;
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	}
	t = bench_now_s() - t0;
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
		bench_die("raw signature does not verify", NHI_ERR_CRYPTO);
	sodium_memzero(sk, sizeof(sk));
	return n / t;
}

/* Subject keys are made before the clock starts: the broker certifies a
 * key the client generated, it does not generate it. */
static struct nhi_key **make_subjects(unsigned n)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct nhi_key **keys;
	unsigned i;

	if ((keys = calloc(n, sizeof(*keys))) == NULL)
		bench_die("calloc", NHI_ERR_ALLOC);
	for (i = 0; i < n; i++) {
		if ((keys[i] = calloc(1, sizeof(**keys))) == NULL)
			bench_die("calloc", NHI_ERR_ALLOC);
		keys[i]->type = NHI_KEY_ED25519;
		crypto_sign_keypair(keys[i]->ed25519_pk, sk);
	}
	sodium_memzero(sk, sizeof(sk));
	return keys;
}

static void free_subjects(struct nhi_key **keys, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		nhi_key_free(keys[i]);
	free(keys);
}

/* One certificate as the broker issues it; returns its blob length. */
static size_t issue_one(const struct nhi_ca_key *ca, const struct nhi_key *subject, uint64_t serial,
                        uint64_t now, struct nhi_buf *out)
{
	struct nhi_cert *cert;
	char key_id[64];
	size_t len;
	int r;

	if ((cert = nhi_cert_new()) == NULL)
		bench_die("nhi_cert_new", NHI_ERR_ALLOC);
	snprintf(key_id, sizeof(key_id), "nhi:bench:%" PRIu64, serial);
	cert->serial = serial;
	cert->valid_after = now - 300;
	cert->valid_before = now + 3600;
	nhi_buf_reset(out);
	if ((r = nhi_cert_set_key(cert, subject)) < 0 ||
	    (r = nhi_cert_set_key_id(cert, key_id)) < 0 ||
	    (r = nhi_cert_add_principal(cert, "alice")) < 0 ||
	    (r = nhi_cert_add_principal(cert, "ops")) < 0 ||
	    (r = nhi_cert_set_default_extensions(cert)) < 0 || (r = nhi_cert_sign(cert, ca)) < 0 ||
	    (r = nhi_cert_to_blob(cert, out)) < 0)
		bench_die("issuing a certificate", r);
	len = nhi_buf_len(out);
	nhi_cert_free(cert);
	return len;
}

/* (b) Certificates per second with libnhi. */
static double bench_libnhi(const struct nhi_ca_key *ca, struct nhi_key **subjects, unsigned n,
                           uint64_t *serial, size_t *ret_blob_len)
{
	struct nhi_buf *out;
	struct nhi_cert *check = NULL;
	uint64_t now = (uint64_t)time(NULL);
	double t0, t;
	unsigned i;
	int r;

	if ((out = nhi_buf_new()) == NULL)
		bench_die("nhi_buf_new", NHI_ERR_ALLOC);
	t0 = bench_now_s();
	for (i = 0; i < n; i++)
		*ret_blob_len = issue_one(ca, subjects[i], ++*serial, now, out);
	t = bench_now_s() - t0;
	/* The last one must be a real, verifiable certificate. */
	if ((r = nhi_cert_from_blob(nhi_buf_ptr(out), nhi_buf_len(out), &check)) < 0 ||
	    (r = nhi_cert_verify_signature(check)) < 0)
		bench_die("verifying the last certificate", r);
	nhi_cert_free(check);
	nhi_buf_free(out);
	return n / t;
}

/* Runs argv with no stdin/stdout/stderr and an empty environment; the
 * exit status, or -1. */
static int run(char *const argv[])
{
	char *const envp[] = {NULL};
	int status, fd;
	pid_t pid;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(argv[0], argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		bench_die("asprintf", NHI_ERR_ALLOC);
	return p;
}

/* (c) ssh-keygen -s, one process per certificate, with a CA it made; each
 * certificate gets its own subject key file (written beforehand). */
static double bench_keygen(const char *keygen, const char *dir, struct nhi_key **subjects,
                           unsigned n, double *ret_exec_rate)
{
	char *ca = path_in(dir, "ca"), serial[32], id[64], subj[64];
	char *pub, *text;
	double t0, t;
	unsigned i;
	FILE *f;
	int r;

	{
		char *const argv[] = {(char *)keygen, "-q",       "-t", "ed25519", "-N", "",
		                      "-C",           "bench-ca", "-f", ca,        NULL};

		if (run(argv) != 0) {
			fprintf(stderr, "cert-sign: %s could not make a CA key\n", keygen);
			exit(1);
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), "user%u.pub", i);
		pub = path_in(dir, subj);
		if ((r = nhi_key_to_text(subjects[i], "bench", &text)) < 0)
			bench_die("nhi_key_to_text", r);
		if ((f = fopen(pub, "w")) == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
			bench_die(pub, 0);
		free(text);
		free(pub);
	}

	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "%u", i + 1);
		snprintf(id, sizeof(id), "nhi:bench:%u", i + 1);
		snprintf(subj, sizeof(subj), "user%u.pub", i);
		pub = path_in(dir, subj);
		{
			char *const argv[] = {
			        (char *)keygen, "-q", "-s",      ca,   "-I",   id,  "-n",
			        "alice,ops",    "-V", "-5m:+1h", "-z", serial, pub, NULL};

			if (run(argv) != 0) {
				fprintf(stderr, "cert-sign: %s -s failed\n", keygen);
				exit(1);
			}
		}
		free(pub);
	}
	t = bench_now_s() - t0;

	/* The process floor: the same number of fork+exec of a no-op. */
	{
		char *const argv[] = {"/bin/true", NULL};
		double te;

		t0 = bench_now_s();
		for (i = 0; i < n; i++)
			if (run(argv) != 0)
				break;
		te = bench_now_s() - t0;
		*ret_exec_rate = i == n ? n / te : 0;
	}
	free(ca);
	return n / t;
}

int main(int argc, char **argv)
{
	struct opts o = {20000, 100, 3, NULL};
	struct nhi_ca_key *ca = NULL;
	struct nhi_key **subjects;
	const char *tmpdir = getenv("TMPDIR");
	char *dir;
	double raw = 0, lib = 0, keygen, exec_rate, v;
	uint64_t serial = 0;
	size_t blob_len = 0;
	char label[64];
	unsigned i, n_subjects;
	int c, r;

	while ((c = getopt(argc, argv, "n:k:r:g:")) != -1) {
		switch (c) {
		case 'n':
			o.certs = bench_parse_count(optarg, 10000000);
			break;
		case 'k':
			o.keygen_certs = bench_parse_count(optarg, 10000000);
			break;
		case 'r':
			o.rounds = bench_parse_count(optarg, 10000000);
			break;
		case 'g':
			o.keygen = optarg;
			break;
		default:
			fprintf(stderr, "usage: cert-sign [-n CERTS] [-k KEYGEN_CERTS] [-r ROUNDS]"
			                " [-g SSH_KEYGEN]\n");
			return 2;
		}
	}
	if (o.keygen == NULL)
		o.keygen = getenv("SSH_KEYGEN");
	if (o.keygen == NULL || o.keygen[0] != '/')
		o.keygen = "/usr/bin/ssh-keygen";
	if (sodium_init() < 0)
		bench_die("sodium_init", NHI_ERR_CRYPTO);
	if ((r = nhi_ca_generate(&ca)) < 0)
		bench_die("nhi_ca_generate", r);

	n_subjects = o.certs > o.keygen_certs ? o.certs : o.keygen_certs;
	subjects = make_subjects(n_subjects);

	/* Alternate the two in-process measurements and keep each one's best
	 * round, so that a burst of other load hurts neither more. */
	for (i = 0; i < o.rounds; i++) {
		if ((v = bench_raw(o.certs)) > raw)
			raw = v;
		if ((v = bench_libnhi(ca, subjects, o.certs, &serial, &blob_len)) > lib)
			lib = v;
	}

	if (asprintf(&dir, "%s/nhi-bench.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp") < 0)
		bench_die("asprintf", NHI_ERR_ALLOC);
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp", 0);
	keygen = bench_keygen(o.keygen, dir, subjects, o.keygen_certs, &exec_rate);
	bench_rmtree(dir);
	free(dir);

	printf("cert-sign: %u certificates x %u rounds in-process (best round), %u via "
	       "ssh-keygen\n",
	       o.certs, o.rounds, o.keygen_certs);
	snprintf(label, sizeof(label), "raw ed25519 (libsodium, %u B)", RAW_MSG_BYTES);
	printf("  %-34s %10.0f signatures/s %9.1f us each\n", label, raw, 1e6 / raw);
	printf("  %-34s %10.0f certs/s      %9.1f us each (%zu-byte certificate)\n",
	       "libnhi nhi_cert_sign", lib, 1e6 / lib, blob_len);
	printf("  %-34s %10.1f certs/s      %9.2f ms each\n", "ssh-keygen -s (1 process/cert)",
	       keygen, 1e3 / keygen);
	if (exec_rate > 0)
		printf("  %-34s %10.1f processes/s  %9.2f ms each\n", "fork+exec /bin/true (floor)",
		       exec_rate, 1e3 / exec_rate);
	printf("ratios:\n");
	printf("  %-34s %10.0fx  (design budget for broker issuance: >= 50x)\n",
	       "libnhi / ssh-keygen", lib / keygen);
	printf("  %-34s %10.0f%%  (design budget for broker issuance: >= 50%%)\n",
	       "libnhi / raw signing", 100.0 * lib / raw);

	free_subjects(subjects, n_subjects);
	nhi_ca_free(ca);
	return 0;
}
