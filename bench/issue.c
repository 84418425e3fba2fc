/* Certificate issuance over the broker socket, durable, against its peers
 * measured in the same run:
 *
 *   broker     cert-request calls over the Unix socket to a real nhid (its
 *              own temp state dir), from 1, 8 and 64 concurrent clients;
 *              every answer means the certificate's record and audit event
 *              were committed;
 *   ssh-keygen one `ssh-keygen -s` process per certificate;
 *   raw        libsodium crypto_sign_detached over ~350 bytes;
 *   floor      whoami calls from 64 clients to the same nhid: the same
 *              connection, peer credentials and attestation of the caller
 *              as a certificate request, but no signature and nothing
 *              written; no issuance can be faster than this round trip.
 *
 * The benchmark starts nhid itself, as the calling user: its configuration
 * names the caller's primary group as the admin group, so the benchmark can
 * add an automation identity whose selectors are its own uid and
 * executable, then ask for certificates as that identity.
 *
 * usage: issue [-d NHID] [-g SSH_KEYGEN] [-n CERTS] [-k KEYGEN_CERTS] */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cert.h"
#include "bench_util.h"
#include "err.h"
#include "kv.h"
#include "msg.h"
#include "sshkey.h"

#define RAW_MSG_BYTES   350u
#define CALL_TIMEOUT_MS 30000
#define IDENTITY        "bench-bot"

static const unsigned concurrency[] = {1, 8, 64};
#define N_LEVELS      (sizeof(concurrency) / sizeof(concurrency[0]))
#define FLOOR_CLIENTS 64u

struct opts {
	const char *nhid;
	const char *keygen;
	unsigned certs;        /* over the socket, per concurrency level */
	unsigned keygen_certs; /* ssh-keygen processes */
	unsigned raw;          /* raw signatures */
};

/* The work shared by the client threads of one level. */
struct level {
	const char *socket_path;
	enum nhi_msg_type type; /* NHI_MSG_CERT_REQUEST, or NHI_MSG_WHOAMI for the floor */
	struct nhi_buf **blobs; /* public key blobs, made before the clock */
	unsigned n;
	atomic_uint next;
	atomic_uint failed;
	atomic_int first_error;
};

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		bench_die("asprintf", NHI_ERR_ALLOC);
	return p;
}

/* Runs argv with stdin/stdout on /dev/null, stderr to errpath (NULL:
 * /dev/null) and an empty environment. wait: the exit status, or -1;
 * else the pid. */
static pid_t spawn(char *const argv[], const char *errpath, bool wait)
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
		if (errpath != NULL &&
		    (fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0)
			dup2(fd, 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (!wait)
		return pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Raw Ed25519 signatures per second. */
static double bench_raw(unsigned n)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char msg[RAW_MSG_BYTES], sig[crypto_sign_BYTES];
	double t0, t;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	t0 = bench_now_s();
	for (unsigned i = 0; i < n; i++) {
		msg[i % sizeof(msg)] ^= (unsigned char)i;
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	}
	t = bench_now_s() - t0;
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
		bench_die("raw signature does not verify", NHI_ERR_CRYPTO);
	sodium_memzero(sk, sizeof(sk));
	return n / t;
}

static struct nhi_key *random_subject(void)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct nhi_key *key;

	if ((key = calloc(1, sizeof(*key))) == NULL)
		bench_die("calloc", NHI_ERR_ALLOC);
	key->type = NHI_KEY_ED25519;
	crypto_sign_keypair(key->ed25519_pk, sk);
	sodium_memzero(sk, sizeof(sk));
	return key;
}

/* ssh-keygen -s, one process per certificate, each with its own subject
 * key file written beforehand. */
static double bench_keygen(const char *keygen, const char *dir, unsigned n)
{
	char *ca = path_in(dir, "kg_ca"), serial[32], id[64], name[64], *pub, *text;
	double t0, t;
	FILE *f;
	int r;

	{
		char *const argv[] = {(char *)keygen, "-q",       "-t", "ed25519", "-N", "",
		                      "-C",           "bench-ca", "-f", ca,        NULL};
		if (spawn(argv, NULL, true) != 0) {
			fprintf(stderr, "issue: %s could not make a CA key\n", keygen);
			exit(1);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct nhi_key *k = random_subject();

		snprintf(name, sizeof(name), "kg%u.pub", i);
		pub = path_in(dir, name);
		if ((r = nhi_key_to_text(k, "bench", &text)) < 0)
			bench_die("nhi_key_to_text", r);
		if ((f = fopen(pub, "w")) == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
			bench_die(pub, 0);
		free(text);
		free(pub);
		nhi_key_free(k);
	}
	t0 = bench_now_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "%u", i + 1);
		snprintf(id, sizeof(id), "nhi:" IDENTITY ":%u", i + 1);
		snprintf(name, sizeof(name), "kg%u.pub", i);
		pub = path_in(dir, name);
		{
			/* What the broker puts in: one principal, 5 minutes, no pty. */
			char *const argv[] = {(char *)keygen,
			                      "-q",
			                      "-s",
			                      ca,
			                      "-I",
			                      id,
			                      "-n",
			                      IDENTITY,
			                      "-V",
			                      "-1m:+5m",
			                      "-O",
			                      "clear",
			                      "-O",
			                      "permit-port-forwarding",
			                      "-z",
			                      serial,
			                      pub,
			                      NULL};
			if (spawn(argv, NULL, true) != 0) {
				fprintf(stderr, "issue: %s -s failed\n", keygen);
				exit(1);
			}
		}
		free(pub);
	}
	t = bench_now_s() - t0;
	free(ca);
	return n / t;
}

static int call(const char *sock, uint8_t type, const struct nhi_kv *args,
                struct nhi_msg_reply *reply)
{
	int r;

	memset(reply, 0, sizeof(*reply));
	if ((r = nhi_msg_call(sock, CALL_TIMEOUT_MS, type, args, reply)) < 0)
		return r;
	return reply->status;
}

/* Starts nhid on a fresh state dir and waits until it answers. */
static pid_t start_nhid(const char *nhid, const char *dir, const char *sock)
{
	char *conf = path_in(dir, "nhi.conf"), *state = path_in(dir, "state");
	char *log = path_in(dir, "nhid.log");
	struct group *gr = getgrgid(getgid());
	struct nhi_msg_reply reply;
	struct nhi_kv none;
	pid_t pid;
	FILE *f;

	if (gr == NULL)
		bench_die("getgrgid", 0);
	/* The caller's own group is the admin group: the benchmark must add
	 * its identity without being root. */
	if ((f = fopen(conf, "w")) == NULL ||
	    fprintf(f, "[broker]\nsocket = %s\nstate_dir = %s\nadmin_group = %s\n", sock, state,
	            gr->gr_name) < 0 ||
	    fclose(f) != 0)
		bench_die(conf, 0);
	{
		char *const argv[] = {(char *)nhid,  "-f",  "-c",       conf,
		                      "--state-dir", state, "--socket", (char *)sock,
		                      "--no-syslog", NULL};
		if ((pid = spawn(argv, log, false)) < 0)
			bench_die("fork", 0);
	}
	nhi_kv_init(&none);
	for (int i = 0; i < 200; i++) {
		int r = call(sock, NHI_MSG_STATUS, &none, &reply);

		nhi_msg_reply_clear(&reply);
		if (r == 0)
			goto ready;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	fprintf(stderr, "issue: nhid did not start; see its log (kept): %s\n", log);
	exit(1);
ready:
	free(conf);
	free(state);
	free(log);
	return pid;
}

static void add_identity(const char *sock)
{
	char exe[PATH_MAX], sel[PATH_MAX + 32];
	struct nhi_msg_reply reply;
	struct nhi_kv args;
	ssize_t len;
	int r;

	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		bench_die("readlink /proc/self/exe", 0);
	exe[len] = '\0';
	nhi_kv_init(&args);
	if ((r = nhi_kv_add_str(&args, "name", IDENTITY)) < 0 ||
	    (r = nhi_kv_add_str(&args, "kind", "automation")) < 0 ||
	    (r = nhi_kv_add_str(&args, "selector",
	                        (snprintf(sel, sizeof(sel), "uid=%u", (unsigned)getuid()), sel))) <
	            0 ||
	    (r = nhi_kv_add_str(&args, "selector",
	                        (snprintf(sel, sizeof(sel), "exe_path=%s", exe), sel))) < 0)
		bench_die("building the request", r);
	if ((r = call(sock, NHI_MSG_IDENTITY_ADD, &args, &reply)) < 0) {
		fprintf(stderr, "issue: cannot add identity %s: %s\n", IDENTITY,
		        reply.message != NULL ? reply.message : nhi_strerror(r));
		exit(1);
	}
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
}

/* A certificate for the i-th key: the answer must carry one, with a serial. */
static int cert_request(struct level *lv, unsigned i, struct nhi_msg_reply *reply)
{
	struct nhi_kv args;
	uint64_t serial;
	int r;

	nhi_kv_init(&args);
	if ((r = nhi_kv_add_str(&args, "identity", IDENTITY)) < 0 ||
	    (r = nhi_kv_add(&args, "public_key", nhi_buf_ptr(lv->blobs[i]),
	                    nhi_buf_len(lv->blobs[i]))) < 0 ||
	    (r = call(lv->socket_path, NHI_MSG_CERT_REQUEST, &args, reply)) < 0)
		goto out;
	if (reply->n_records < 1 || nhi_kv_find(&reply->records[0], "certificate") == NULL)
		r = NHI_ERR_PROTOCOL;
	else
		r = nhi_kv_u64(&reply->records[0], "serial", &serial);
out:
	nhi_kv_clear(&args);
	return r;
}

/* The floor: the answer must carry the attested executable. */
static int whoami(struct level *lv, struct nhi_msg_reply *reply)
{
	struct nhi_kv none;
	int r;

	nhi_kv_init(&none);
	if ((r = call(lv->socket_path, NHI_MSG_WHOAMI, &none, reply)) == 0 &&
	    (reply->n_records < 1 || nhi_kv_str(&reply->records[0], "exe") == NULL))
		r = NHI_ERR_PROTOCOL;
	return r;
}

static void *client(void *arg)
{
	struct level *lv = arg;
	struct nhi_msg_reply reply;
	unsigned i;
	int r;

	while ((i = atomic_fetch_add(&lv->next, 1)) < lv->n) {
		memset(&reply, 0, sizeof(reply));
		r = lv->type == NHI_MSG_WHOAMI ? whoami(lv, &reply) : cert_request(lv, i, &reply);
		nhi_msg_reply_clear(&reply);
		if (r < 0) {
			int zero = 0;

			atomic_fetch_add(&lv->failed, 1);
			atomic_compare_exchange_strong(&lv->first_error, &zero, r);
		}
	}
	return NULL;
}

/* CPU seconds (user + system) nhid has used so far, from /proc/PID/stat
 * fields 14 and 15; -1 when unreadable. */
static double nhid_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* Fields after the command name, which may hold blanks: from field 3. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Where one level's CPU went, per certificate. */
struct cpu_use {
	double nhid_us, clients_us;
};

static double bench_broker(const char *sock, pid_t nhid, enum nhi_msg_type type,
                           unsigned threads, unsigned n, unsigned *ret_failed,
                           struct cpu_use *ret_cpu)
{
	struct level lv = {.socket_path = sock, .type = type, .n = n};
	pthread_t *tids;
	double t0, t, cpu_nhid, cpu_self;
	int r;

	if ((lv.blobs = calloc(n, sizeof(*lv.blobs))) == NULL ||
	    (tids = calloc(threads, sizeof(*tids))) == NULL)
		bench_die("calloc", NHI_ERR_ALLOC);
	for (unsigned i = 0; i < n; i++) {
		struct nhi_key *k = random_subject();

		if ((lv.blobs[i] = nhi_buf_new()) == NULL ||
		    (r = nhi_key_to_blob(k, lv.blobs[i])) < 0)
			bench_die("nhi_key_to_blob", NHI_ERR_ALLOC);
		nhi_key_free(k);
	}
	cpu_nhid = nhid_cpu_s(nhid);
	cpu_self = self_cpu_s();
	t0 = bench_now_s();
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, client, &lv) != 0)
			bench_die("pthread_create", 0);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	t = bench_now_s() - t0;
	if (ret_cpu != NULL) {
		ret_cpu->nhid_us = 1e6 * (nhid_cpu_s(nhid) - cpu_nhid) / n;
		ret_cpu->clients_us = 1e6 * (self_cpu_s() - cpu_self) / n;
	}
	if (lv.failed > 0)
		fprintf(stderr, "issue: %u of %u requests failed (first: %s)\n", lv.failed, n,
		        nhi_strerror(lv.first_error));
	for (unsigned i = 0; i < n; i++)
		nhi_buf_free(lv.blobs[i]);
	free(lv.blobs);
	free(tids);
	*ret_failed = lv.failed;
	return (n - lv.failed) / t;
}

int main(int argc, char **argv)
{
	struct opts o = {"./broker/nhid", NULL, 5000, 100, 20000};
	const char *tmpdir = getenv("TMPDIR");
	double raw, keygen, rate[N_LEVELS], floor_rate;
	struct cpu_use cpu[N_LEVELS], floor_cpu;
	unsigned failed[N_LEVELS], floor_failed;
	char *dir, *sock;
	pid_t nhid;
	int c, status;

	while ((c = getopt(argc, argv, "d:g:n:k:")) != -1) {
		switch (c) {
		case 'd':
			o.nhid = optarg;
			break;
		case 'g':
			o.keygen = optarg;
			break;
		case 'n':
			o.certs = bench_parse_count(optarg, 10000000);
			break;
		case 'k':
			o.keygen_certs = bench_parse_count(optarg, 10000000);
			break;
		default:
			fprintf(stderr, "usage: issue [-d NHID] [-g SSH_KEYGEN] [-n CERTS] "
			                "[-k KEYGEN_CERTS]\n");
			return 2;
		}
	}
	if (o.keygen == NULL)
		o.keygen = getenv("SSH_KEYGEN");
	if (o.keygen == NULL || o.keygen[0] != '/')
		o.keygen = "/usr/bin/ssh-keygen";
	if (sodium_init() < 0)
		bench_die("sodium_init", NHI_ERR_CRYPTO);
	signal(SIGPIPE, SIG_IGN);

	if (asprintf(&dir, "%s/nhi-bench-issue.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp") < 0)
		bench_die("asprintf", NHI_ERR_ALLOC);
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp", 0);
	sock = path_in(dir, "broker.sock");
	nhid = start_nhid(o.nhid, dir, sock);
	add_identity(sock);

	/* A short warm-up, so that the first level does not pay for the page
	 * cache and the WAL file's creation. */
	bench_broker(sock, nhid, NHI_MSG_CERT_REQUEST, 8, 200, &failed[0], NULL);
	for (size_t i = 0; i < N_LEVELS; i++)
		rate[i] = bench_broker(sock, nhid, NHI_MSG_CERT_REQUEST, concurrency[i], o.certs,
		                       &failed[i], &cpu[i]);
	floor_rate = bench_broker(sock, nhid, NHI_MSG_WHOAMI, FLOOR_CLIENTS, o.certs,
	                          &floor_failed, &floor_cpu);
	raw = bench_raw(o.raw);
	keygen = bench_keygen(o.keygen, dir, o.keygen_certs);

	kill(nhid, SIGTERM);
	waitpid(nhid, &status, 0);
	bench_rmtree(dir);
	free(sock);
	free(dir);

	printf("issue: %u certificates per level over the broker socket (durable: record and\n"
	       "audit event committed before each answer), %u via ssh-keygen, %u raw signatures\n",
	       o.certs, o.keygen_certs, o.raw);
	printf("  %-34s %10.0f signatures/s %9.1f us each\n", "raw ed25519 (libsodium, 350 B)", raw,
	       1e6 / raw);
	printf("  %-34s %10.1f certs/s      %9.2f ms each\n", "ssh-keygen -s (1 process/cert)",
	       keygen, 1e3 / keygen);
	for (size_t i = 0; i < N_LEVELS; i++) {
		char label[64];

		snprintf(label, sizeof(label), "nhid, %u client%s", concurrency[i],
		         concurrency[i] == 1 ? "" : "s");
		printf("  %-34s %10.0f certs/s      %9.1f us each%s\n", label, rate[i],
		       1e6 / rate[i], failed[i] > 0 ? "  (with failures)" : "");
	}
	printf("  %-34s %10.0f calls/s      %9.1f us each%s\n", "floor: whoami, 64 clients",
	       floor_rate, 1e6 / floor_rate, floor_failed > 0 ? "  (with failures)" : "");
	/* The machine's CPUs are shared by nhid and the clients: where a
	 * certificate's CPU time went says which side a faster rate needs. */
	printf("CPU per certificate (user + system):\n");
	for (size_t i = 0; i < N_LEVELS; i++)
		printf("  nhid, %2u client%s  nhid %7.1f us   clients %7.1f us\n", concurrency[i],
		       concurrency[i] == 1 ? " " : "s", cpu[i].nhid_us, cpu[i].clients_us);
	printf("  floor, %2u clients  nhid %7.1f us   clients %7.1f us\n", FLOOR_CLIENTS,
	       floor_cpu.nhid_us, floor_cpu.clients_us);
	printf("ratios (design budget: >= 50x ssh-keygen, >= 50%% of raw signing):\n");
	for (size_t i = 0; i < N_LEVELS; i++)
		printf("  nhid, %2u client%s  %8.0fx ssh-keygen  %6.1f%% of raw signing\n",
		       concurrency[i], concurrency[i] == 1 ? " " : "s", rate[i] / keygen,
		       100.0 * rate[i] / raw);
	printf("  floor, %2u clients  %8.0fx ssh-keygen  %6.1f%% of raw signing"
	       "  (no certificate: the round trip alone)\n",
	       FLOOR_CLIENTS, floor_rate / keygen, 100.0 * floor_rate / raw);
	for (size_t i = 0; i < N_LEVELS; i++)
		if (failed[i] > 0)
			return 1;
	return floor_failed > 0 ? 1 : 0;
}
