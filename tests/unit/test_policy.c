#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cakey.h"
#include "cert.h"
#include "conf.h"
#include "err.h"
#include "policy.h"
#include "sshkey.h"

#define NOW 1700000000ull

static struct nhi_config *cfg;
static struct nhi_key *ed25519;

static void setup(void)
{
	struct nhi_ca_key *k = NULL;

	cr_assert_eq(sodium_init() >= 0, true);
	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	cr_assert_eq(nhi_ca_generate(&k), 0);
	cr_assert_eq(nhi_ca_public(k, &ed25519), 0);
	nhi_ca_free(k);
}

static void teardown(void)
{
	nhi_config_free(cfg);
	nhi_key_free(ed25519);
}

TestSuite(policy, .init = setup, .fini = teardown);

static struct nhi_identity ident(const char *name, enum nhi_identity_kind kind)
{
	struct nhi_identity id;

	nhi_identity_init(&id);
	id.name = (char *)name;
	id.kind = kind;
	return id;
}

struct ttl_case {
	enum nhi_identity_kind kind;
	uint32_t id_default, id_max; /* per-identity overrides; 0: none */
	uint32_t requested;
	int expect;
	uint32_t expect_ttl;
};

Test(policy, ttl_by_kind_and_identity)
{
	static const struct ttl_case cases[] = {
	        /* The kinds' defaults and caps (1 h / 8 h, 5 min / 1 h). */
	        {NHI_KIND_HUMAN, 0, 0, 0, 0, 3600},
	        {NHI_KIND_HUMAN, 0, 0, 28800, 0, 28800},
	        {NHI_KIND_HUMAN, 0, 0, 28801, NHI_ERR_TTL_EXCEEDED, 0},
	        {NHI_KIND_AUTOMATION, 0, 0, 0, 0, 300},
	        {NHI_KIND_AUTOMATION, 0, 0, 3600, 0, 3600},
	        {NHI_KIND_AUTOMATION, 0, 0, 7200, NHI_ERR_TTL_EXCEEDED, 0},
	        {NHI_KIND_SERVICE, 0, 0, 0, 0, 300},
	        {NHI_KIND_SERVICE, 0, 0, 3601, NHI_ERR_TTL_EXCEEDED, 0},
	        /* Per identity: its own default, a tighter cap. */
	        {NHI_KIND_AUTOMATION, 120, 0, 0, 0, 120},
	        {NHI_KIND_AUTOMATION, 0, 600, 900, NHI_ERR_TTL_EXCEEDED, 0},
	        {NHI_KIND_AUTOMATION, 0, 600, 600, 0, 600},
	        /* A default above the cap is clamped to it. */
	        {NHI_KIND_AUTOMATION, 900, 600, 0, 0, 600},
	        /* A per-identity cap never loosens the kind's. */
	        {NHI_KIND_AUTOMATION, 0, 86400, 7200, NHI_ERR_TTL_EXCEEDED, 0},
	        {NHI_KIND_HUMAN, 0, 1800, 3600, NHI_ERR_TTL_EXCEEDED, 0},
	        /* Break-glass is never issued here. */
	        {NHI_KIND_BREAKGLASS, 0, 0, 0, NHI_ERR_REFUSED, 0},
	        {NHI_KIND_BREAKGLASS, 0, 0, 60, NHI_ERR_REFUSED, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ttl_case *t = &cases[i];
		struct nhi_identity id = ident("backup-bot", t->kind);
		struct nhi_policy_decision d = {0};
		char reason[NHI_POLICY_REASON_MAX];
		int r;

		id.ttl_default = t->id_default;
		id.ttl_max = t->id_max;
		r = nhi_policy_decide(cfg, &id, NULL, 0, ed25519, t->requested, NOW, &d, reason);
		cr_assert_eq(r, t->expect, "case %zu: %d (%s)", i, r, reason);
		if (r == 0) {
			cr_assert_eq(d.ttl, t->expect_ttl, "case %zu: ttl %u", i, d.ttl);
			cr_assert_eq(d.valid_before, NOW + t->expect_ttl, "case %zu", i);
			cr_assert_eq(d.valid_after, NOW - cfg->backdate, "case %zu", i);
		} else {
			cr_assert_neq(reason[0], '\0', "case %zu: a denial says why", i);
		}
		nhi_policy_decision_clear(&d);
	}
}

Test(policy, ttl_denial_names_request_cap_and_identity)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_AUTOMATION);
	struct nhi_policy_decision d = {0};
	char reason[NHI_POLICY_REASON_MAX];

	cr_assert_eq(nhi_policy_decide(cfg, &id, NULL, 0, ed25519, 7200, NOW, &d, reason),
	             NHI_ERR_TTL_EXCEEDED);
	cr_assert_str_eq(reason, "ttl 7200 exceeds the cap 3600 for backup-bot");
}

Test(policy, suspended_and_retired_refused)
{
	static const enum nhi_identity_status statuses[] = {NHI_STATUS_SUSPENDED,
	                                                    NHI_STATUS_RETIRED};

	for (size_t k = NHI_KIND_HUMAN; k <= NHI_KIND_SERVICE; k++) {
		for (size_t i = 0; i < 2; i++) {
			struct nhi_identity id = ident("x", (enum nhi_identity_kind)k);
			struct nhi_policy_decision d = {0};
			char reason[NHI_POLICY_REASON_MAX];

			id.status = statuses[i];
			cr_assert_eq(
			        nhi_policy_decide(cfg, &id, NULL, 0, ed25519, 0, NOW, &d, reason),
			        NHI_ERR_IDENTITY_INACTIVE);
			cr_assert_not_null(strstr(reason, nhi_identity_status_name(statuses[i])));
		}
	}
}

struct pty_case {
	enum nhi_identity_kind kind;
	bool allow_pty;
	bool expect_pty;
};

/* Signs a certificate from the decision and reads its extensions back. */
static struct nhi_cert *issue(const struct nhi_identity *id, char *const *roles, size_t n_roles)
{
	struct nhi_policy_decision d = {0};
	char reason[NHI_POLICY_REASON_MAX];
	struct nhi_ca_key *ca = NULL;
	struct nhi_cert *cert = nhi_cert_new(), *back = NULL;

	cr_assert_eq(nhi_policy_decide(cfg, id, roles, n_roles, ed25519, 0, NOW, &d, reason), 0,
	             "%s", reason);
	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_cert_set_key(cert, ed25519), 0);
	cr_assert_eq(nhi_policy_apply(&d, id->name, 42, cert), 0);
	cr_assert_eq(nhi_cert_sign(cert, ca), 0);
	cr_assert_eq(nhi_cert_from_blob(nhi_buf_ptr(cert->blob), nhi_buf_len(cert->blob), &back),
	             0);
	cr_assert_eq(nhi_cert_verify_signature(back), 0);
	nhi_cert_free(cert);
	nhi_ca_free(ca);
	nhi_policy_decision_clear(&d);
	return back;
}

Test(policy, pty_only_for_humans_or_when_allowed)
{
	static const struct pty_case cases[] = {
	        {NHI_KIND_HUMAN, false, true},       {NHI_KIND_HUMAN, true, true},
	        {NHI_KIND_AUTOMATION, false, false}, {NHI_KIND_AUTOMATION, true, true},
	        {NHI_KIND_SERVICE, false, false},    {NHI_KIND_SERVICE, true, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nhi_identity id = ident("deploy", cases[i].kind);
		struct nhi_cert *c;

		id.allow_pty = cases[i].allow_pty;
		c = issue(&id, NULL, 0);
		cr_assert_eq(nhi_cert_find_extension(c, "permit-pty") != NULL, cases[i].expect_pty,
		             "case %zu", i);
		cr_assert_not_null(nhi_cert_find_extension(c, "permit-port-forwarding"));
		cr_assert_null(nhi_cert_find_critical(c, "force-command"));
		cr_assert_null(nhi_cert_find_critical(c, "source-address"));
		nhi_cert_free(c);
	}
}

Test(policy, principals_key_id_and_validity)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_AUTOMATION);
	char *roles[] = {"backup", "backup-bot", "db-read"};
	struct nhi_cert *c = issue(&id, roles, 3);

	cr_assert_str_eq(c->key_id, "nhi:backup-bot:42");
	cr_assert_eq(c->serial, 42);
	cr_assert_eq(c->type, NHI_CERT_TYPE_USER);
	/* Its own name first, roles after, a duplicate once. */
	cr_assert_eq(c->n_principals, 3);
	cr_assert_str_eq(c->principals[0], "backup-bot");
	cr_assert_str_eq(c->principals[1], "backup");
	cr_assert_str_eq(c->principals[2], "db-read");
	cr_assert_eq(c->valid_after, NOW - 60);
	cr_assert_eq(c->valid_before, NOW + 300);
	nhi_cert_free(c);
}

Test(policy, critical_options_carried)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_AUTOMATION);
	const struct nhi_cert_option *o;
	struct nhi_cert *c;

	id.source_addresses = "10.0.0.0/8,192.168.1.7";
	id.force_command = "/usr/local/bin/backup --push";
	c = issue(&id, NULL, 0);
	o = nhi_cert_find_critical(c, "source-address");
	cr_assert_not_null(o);
	cr_assert_eq(o->value_len, strlen(id.source_addresses));
	cr_assert_eq(memcmp(o->value, id.source_addresses, o->value_len), 0);
	o = nhi_cert_find_critical(c, "force-command");
	cr_assert_not_null(o);
	cr_assert_eq(memcmp(o->value, id.force_command, o->value_len), 0);
	nhi_cert_free(c);
}

Test(policy, role_that_is_no_principal_refused)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_AUTOMATION);
	struct nhi_policy_decision d = {0};
	char reason[NHI_POLICY_REASON_MAX];
	char *roles[] = {"ok", "bad,role"};

	cr_assert_eq(nhi_policy_decide(cfg, &id, roles, 2, ed25519, 0, NOW, &d, reason),
	             NHI_ERR_NAME_INVALID);
}

/* An RSA key of the given modulus size (random bytes, top bit set). */
static struct nhi_key *rsa_key(size_t bits)
{
	struct nhi_key *k = calloc(1, sizeof(*k));
	static uint8_t e[] = {0x01, 0x00, 0x01};

	cr_assert_not_null(k);
	k->type = NHI_KEY_RSA;
	k->rsa_e = malloc(sizeof(e));
	memcpy(k->rsa_e, e, sizeof(e));
	k->rsa_e_len = sizeof(e);
	k->rsa_n_len = bits / 8;
	k->rsa_n = malloc(k->rsa_n_len);
	randombytes_buf(k->rsa_n, k->rsa_n_len);
	k->rsa_n[0] |= 0x80;
	k->rsa_n[k->rsa_n_len - 1] |= 1;
	return k;
}

Test(policy, refused_and_weak_subject_keys)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_AUTOMATION);
	struct {
		size_t bits;
		int expect;
	} cases[] = {
	        {1024, NHI_ERR_KEY_REFUSED}, /* refused by the algorithm policy */
	        {2048, NHI_ERR_KEY_REFUSED}, /* weak: never issued to */
	        {3072, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nhi_key *k = rsa_key(cases[i].bits);
		struct nhi_policy_decision d = {0};
		char reason[NHI_POLICY_REASON_MAX];

		cr_assert_eq(nhi_policy_decide(cfg, &id, NULL, 0, k, 0, NOW, &d, reason),
		             cases[i].expect, "%zu bits: %s", cases[i].bits, reason);
		nhi_policy_decision_clear(&d);
		nhi_key_free(k);
	}
}

Test(policy, dsa_refused)
{
	struct nhi_identity id = ident("backup-bot", NHI_KIND_HUMAN);
	struct nhi_key k = {.type = NHI_KEY_DSA};
	struct nhi_policy_decision d = {0};
	char reason[NHI_POLICY_REASON_MAX];

	cr_assert_eq(nhi_policy_decide(cfg, &id, NULL, 0, &k, 0, NOW, &d, reason),
	             NHI_ERR_KEY_REFUSED);
	cr_assert_eq(nhi_policy_decide(cfg, &id, NULL, 0, NULL, 0, NOW, &d, reason),
	             NHI_ERR_KEY_REFUSED);
}

Test(policy, key_id_format)
{
	char out[NHI_POLICY_KEY_ID_MAX];

	cr_assert_eq(nhi_policy_key_id("backup-bot", 18446744073709551615ull, out), 0);
	cr_assert_str_eq(out, "nhi:backup-bot:18446744073709551615");
}
