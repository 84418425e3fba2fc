#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cakey.h"
#include "cert.h"
#include "err.h"
#include "support.h"

static char *dir, *sock;
static pid_t agent_pid = -1;

/* A real ssh-agent in the foreground on a private socket. */
static void start_agent(void)
{
	struct stat st;

	dir = test_mkdtemp();
	sock = test_path(dir, "agent.sock");
	agent_pid = fork();
	cr_assert(agent_pid >= 0);
	if (agent_pid == 0) {
		execlp("ssh-agent", "ssh-agent", "-D", "-a", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && stat(sock, &st) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(sock, &st), 0, "ssh-agent did not start");
	setenv("SSH_AUTH_SOCK", sock, 1);
}

static void stop_agent(void)
{
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, NULL, 0);
	}
	test_rmtree(dir);
	free(sock);
	free(dir);
}

/* A fresh Ed25519 key and a certificate for it from a fresh CA. */
static struct nhi_cert *make_cert(uint8_t sk[NHI_ED25519_SK_BYTES])
{
	struct nhi_key subject = { .type = NHI_KEY_ED25519 };
	struct nhi_ca_key *ca;
	struct nhi_cert *cert = nhi_cert_new();
	uint64_t now = (uint64_t)time(NULL);

	crypto_sign_keypair(subject.ed25519_pk, sk);
	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_cert_set_key(cert, &subject), 0);
	cr_assert_eq(nhi_cert_set_key_id(cert, "nhi:backup-bot:7"), 0);
	cr_assert_eq(nhi_cert_add_principal(cert, "backup-bot"), 0);
	cert->serial = 7;
	cert->valid_after = now - 60;
	cert->valid_before = now + 300;
	cr_assert_eq(nhi_cert_sign(cert, ca), 0);
	nhi_ca_free(ca);
	return cert;
}

static char *agent_listing(void)
{
	char *argv[] = { "ssh-add", "-L", NULL }, *out;

	test_run(argv, &out);
	return out;
}

TestSuite(agent, .init = start_agent, .fini = stop_agent);

Test(agent, certificate_and_key_are_loaded)
{
	uint8_t sk[NHI_ED25519_SK_BYTES];
	struct nhi_cert *cert = make_cert(sk);
	char *text, *listing;

	cr_assert_eq(nhi_agent_add_ed25519_cert(sock, sk, cert, "nhi:backup-bot:7", 300, 2000), 0);
	cr_assert_eq(nhi_cert_to_text(cert, NULL, &text), 0);
	listing = agent_listing();
	cr_assert_not_null(strstr(listing, text), "agent lists:\n%s\nexpected:\n%s", listing, text);
	free(listing);
	free(text);
	nhi_cert_free(cert);
	sodium_memzero(sk, sizeof(sk));
}

Test(agent, lifetime_is_enforced_by_the_agent)
{
	uint8_t sk[NHI_ED25519_SK_BYTES];
	struct nhi_cert *cert = make_cert(sk);
	char *listing;

	cr_assert_eq(nhi_agent_add_ed25519_cert(sock, sk, cert, NULL, 1, 2000), 0);
	sleep(2);
	listing = agent_listing();
	cr_assert_not_null(strstr(listing, "no identities"), "still listed:\n%s", listing);
	free(listing);
	nhi_cert_free(cert);
}

Test(agent, bad_requests_are_refused_before_sending)
{
	uint8_t sk[NHI_ED25519_SK_BYTES];
	struct nhi_cert *cert = make_cert(sk);

	cr_assert_eq(nhi_agent_add_ed25519_cert(sock, sk, cert, NULL, 0, 2000),
		     NHI_ERR_INVALID_ARGUMENT, "a key without a lifetime must not be loaded");
	nhi_cert_free(cert);
}

Test(agent, missing_agent_is_reported)
{
	uint8_t sk[NHI_ED25519_SK_BYTES];
	struct nhi_cert *cert = make_cert(sk);
	char *missing = test_path(dir, "no-such.sock");

	cr_assert_eq(nhi_agent_add_ed25519_cert(missing, sk, cert, NULL, 60, 500),
		     NHI_ERR_BROKER_UNAVAILABLE);
	free(missing);
	nhi_cert_free(cert);
}
