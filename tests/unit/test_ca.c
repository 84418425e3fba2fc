#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "ca.h"
#include "cert.h"
#include "err.h"
#include "handlers.h"
#include "krl_export.h"
#include "support.h"

static char *dir;

static void setup(void)
{
	cr_assert_eq(sodium_init() >= 0, true);
	dir = test_mkdtemp();
}

static void teardown(void)
{
	test_rmtree(dir);
	free(dir);
}

TestSuite(ca, .init = setup, .fini = teardown);

static struct nhi_broker *open_broker(void)
{
	struct nhi_broker_options o = {.state_dir = dir, .no_syslog = true};
	struct nhi_broker *b = NULL;
	char err[512];

	cr_assert_eq(nhi_broker_open(&o, &b, err, sizeof(err)), 0, "%s", err);
	return b;
}

static mode_t file_mode(const char *name)
{
	char *p = test_path(dir, name);
	struct stat st;

	cr_assert_eq(stat(p, &st), 0, "%s", p);
	free(p);
	return st.st_mode & 07777;
}

/* ssh-keygen -l over a file; its output. */
static char *keygen_list(const char *name)
{
	char *p = test_path(dir, name), *out = NULL;
	char *argv[] = {(char *)test_ssh_keygen(), "-l", "-f", p, NULL};

	cr_assert_eq(test_run(argv, &out), 0, "%s", out);
	free(p);
	return out;
}

static size_t count_lines(const char *name)
{
	char *p = test_path(dir, name);
	char *text = test_read_file(p, NULL);
	size_t n = 0;

	for (const char *s = text; *s != '\0'; s++)
		n += *s == '\n';
	free(text);
	free(p);
	return n;
}

static const char *last_audit_type(struct nhi_broker *b)
{
	static char type[64];
	struct nhi_audit_iter *it = NULL;
	const struct nhi_audit_record *r = NULL;

	cr_assert_eq(nhi_audit_iter_open_tail(b->store, 1, &it), 0);
	cr_assert_eq(nhi_audit_iter_next(it, &r), 0);
	cr_assert_not_null(r);
	snprintf(type, sizeof(type), "%s", r->type);
	nhi_audit_iter_free(it);
	return type;
}

Test(ca, generated_on_first_start_and_reloaded)
{
	struct nhi_broker *b = open_broker();
	char fp[NHI_FINGERPRINT_MAX];
	char *out;

	cr_assert_eq(file_mode("user_ca"), 0600);
	cr_assert_eq(file_mode("user_ca.pub"), 0644);
	out = keygen_list("user_ca.pub");
	cr_assert_not_null(strstr(out, nhi_ca_set_fingerprint(b->ca)), "%s", out);
	free(out);
	cr_assert_str_eq(last_audit_type(b), "ca-change");
	snprintf(fp, sizeof(fp), "%s", nhi_ca_set_fingerprint(b->ca));
	nhi_broker_close(b);

	b = open_broker();
	cr_assert_str_eq(nhi_ca_set_fingerprint(b->ca), fp);
	cr_assert_eq(nhi_ca_set_count(b->ca), 1);
	nhi_broker_close(b);
}

static struct nhi_peer admin = {.pid = 1, .uid = 0, .gid = 0, .is_admin = true, .name = "root"};

static void call(struct nhi_broker *b, int (*fn)(struct nhi_call *), const struct nhi_peer *peer,
                 const struct nhi_kv *args, struct nhi_call *c)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->peer = peer;
	c->args = args;
	cr_assert_eq(nhi_store_begin(b->store), 0);
	if (fn(c) < 0 || c->reply.status < 0)
		nhi_store_rollback(b->store);
	else
		cr_assert_eq(nhi_store_commit(b->store), 0);
}

static void insert_cert(struct nhi_broker *b, uint64_t serial, const char *ca_fp,
                        uint64_t valid_before)
{
	struct nhi_cert_record rec = {
	        .serial = serial,
	        .identity = "backup-bot",
	        .key_id = "nhi:backup-bot:x",
	        .key_fp = "SHA256:x",
	        .valid_after = 1,
	        .valid_before = valid_before,
	        .requester_uid = NHI_ID_NONE,
	        .issued_at = 1,
	        .ca_fp = (char *)ca_fp,
	};

	struct nhi_identity id;

	if (nhi_store_identity_get(b->store, "backup-bot", &id) == 0) {
		nhi_identity_clear(&id);
	} else {
		nhi_identity_init(&id);
		id.name = "backup-bot";
		id.kind = NHI_KIND_AUTOMATION;
		cr_assert_eq(nhi_store_identity_add(b->store, &id, NULL), 0);
	}
	cr_assert_eq(nhi_store_cert_insert(b->store, &rec), 0);
}

static void rotate_with_cert(uint64_t valid_before, bool expect_old_kept)
{
	struct nhi_broker *b = open_broker();
	struct nhi_kv args;
	struct nhi_call c;
	char old[NHI_FINGERPRINT_MAX];
	char *out;
	uint64_t now = nhi_broker_now();

	snprintf(old, sizeof(old), "%s", nhi_ca_set_fingerprint(b->ca));
	insert_cert(b, 7, old, valid_before);
	nhi_kv_init(&args);
	call(b, nhi_handle_ca_rotate, &admin, &args, &c);
	cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
	cr_assert_str_neq(nhi_ca_set_fingerprint(b->ca), old);
	cr_assert_str_eq(last_audit_type(b), "ca-change");
	nhi_call_clear(&c);

	/* Right after the rotation both keys are trusted. */
	cr_assert_eq(count_lines("user_ca.pub"), 2);
	out = keygen_list("user_ca.pub");
	cr_assert_not_null(strstr(out, old), "%s", out);
	cr_assert_not_null(strstr(out, nhi_ca_set_fingerprint(b->ca)), "%s", out);
	free(out);
	call(b, nhi_handle_ca_show, &admin, &args, &c);
	cr_assert_eq(c.reply.n_records, 2);
	cr_assert_str_eq(nhi_kv_str(&c.reply.records[0], "current"), "yes");
	cr_assert_str_eq(nhi_kv_str(&c.reply.records[1], "fingerprint"), old);
	{
		uint64_t until = 0;

		cr_assert_eq(nhi_kv_u64(&c.reply.records[1], "trusted_until", &until), 0);
		cr_assert_geq(until, valid_before > now ? valid_before : now);
	}
	nhi_call_clear(&c);
	nhi_broker_close(b);

	/* Later, the old key stays only while its certificate is valid. */
	sleep(2);
	b = open_broker();
	cr_assert_eq(count_lines("user_ca.pub"), expect_old_kept ? 2 : 1);
	cr_assert_eq(nhi_ca_set_find(b->ca, old) != NULL, expect_old_kept);
	nhi_broker_close(b);
}

Test(ca, rotation_keeps_old_key_while_its_certificate_lives)
{
	rotate_with_cert(nhi_broker_now() + 3600, true);
}

Test(ca, rotation_drops_old_key_once_certificates_expired)
{
	rotate_with_cert(nhi_broker_now() - 10, false);
}

/* A running broker stops trusting the old key once its last certificate
 * has expired, without a restart; a key still needed stays. */
static void prune_after_rotation(uint64_t valid_before, bool expect_old_kept)
{
	struct nhi_broker *b = open_broker();
	char old[NHI_FINGERPRINT_MAX];

	snprintf(old, sizeof(old), "%s", nhi_ca_set_fingerprint(b->ca));
	insert_cert(b, 9, old, valid_before);
	cr_assert_eq(nhi_store_begin(b->store), 0);
	cr_assert_eq(nhi_ca_set_rotate(b, "root", nhi_broker_now()), 0);
	cr_assert_eq(nhi_store_commit(b->store), 0);
	cr_assert_eq(nhi_ca_set_count(b->ca), 2);
	sleep(2);
	cr_assert_eq(nhi_ca_set_prune(b, nhi_broker_now()), 0);
	cr_assert_eq(nhi_ca_set_count(b->ca), expect_old_kept ? 2 : 1);
	cr_assert_eq(nhi_ca_set_find(b->ca, old) != NULL, expect_old_kept);
	cr_assert_eq(count_lines("user_ca.pub"), expect_old_kept ? 2 : 1);
	cr_assert_str_eq(last_audit_type(b), "ca-change");
	nhi_broker_close(b);

	b = open_broker();
	cr_assert_eq(nhi_ca_set_find(b->ca, old) != NULL, expect_old_kept);
	nhi_broker_close(b);
}

Test(ca, prune_drops_expired_key_while_running)
{
	prune_after_rotation(nhi_broker_now() - 10, false);
}

Test(ca, prune_keeps_key_while_its_certificate_lives)
{
	prune_after_rotation(nhi_broker_now() + 3600, true);
}

/* Signs a certificate with serial under the broker's CA and writes it. */
static char *write_cert(struct nhi_broker *b, uint64_t serial)
{
	struct nhi_ca_key *k = NULL;
	struct nhi_key *pub = NULL;
	struct nhi_cert *cert = nhi_cert_new();
	char name[32], *text = NULL, *path;

	cr_assert_eq(nhi_ca_generate(&k), 0);
	cr_assert_eq(nhi_ca_public(k, &pub), 0);
	cr_assert_eq(nhi_cert_set_key(cert, pub), 0);
	cr_assert_eq(nhi_cert_set_key_id(cert, "nhi:backup-bot:1"), 0);
	cr_assert_eq(nhi_cert_add_principal(cert, "backup-bot"), 0);
	cert->serial = serial;
	cert->valid_after = 0;
	cert->valid_before = nhi_broker_now() + 3600;
	cr_assert_eq(nhi_cert_sign(cert, nhi_ca_set_signer(b->ca)), 0);
	cr_assert_eq(nhi_cert_to_text(cert, NULL, &text), 0);
	snprintf(name, sizeof(name), "cert%llu.pub", (unsigned long long)serial);
	path = test_path(dir, name);
	test_write_file(path, text, strlen(text), 0644);
	insert_cert(b, serial, nhi_ca_set_fingerprint(b->ca), cert->valid_before);
	free(text);
	nhi_cert_free(cert);
	nhi_key_free(pub);
	nhi_ca_free(k);
	return path;
}

static int krl_query(const char *cert_path, char **ret_out)
{
	char *krl = test_path(dir, "revoked.krl");
	char *argv[] = {(char *)test_ssh_keygen(), "-Q", "-f", krl, (char *)cert_path, NULL};
	int r = test_run(argv, ret_out);

	free(krl);
	return r;
}

Test(ca, krl_export_revokes_by_serial)
{
	struct nhi_broker *b = open_broker();
	char *revoked, *kept, *out = NULL;

	cr_assert_eq(nhi_krl_export(b), 0);
	cr_assert_eq(file_mode("revoked.krl"), 0644);
	revoked = write_cert(b, 5);
	kept = write_cert(b, 6);
	cr_assert_eq(nhi_store_cert_revoke(b->store, 5, 100, "test"), 0);
	cr_assert_eq(nhi_krl_export(b), 0);

	cr_assert_neq(krl_query(revoked, &out), 0);
	cr_assert_not_null(strstr(out, "REVOKED"), "%s", out);
	free(out);
	cr_assert_eq(krl_query(kept, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "ok"), "%s", out);
	cr_assert_null(strstr(out, "REVOKED"), "%s", out);
	free(out);

	/* A certificate of a retired CA that is still trusted stays revoked. */
	cr_assert_eq(nhi_store_begin(b->store), 0);
	cr_assert_eq(nhi_ca_set_rotate(b, "root", nhi_broker_now()), 0);
	cr_assert_eq(nhi_store_commit(b->store), 0);
	cr_assert_eq(nhi_krl_export(b), 0);
	cr_assert_neq(krl_query(revoked, &out), 0);
	cr_assert_not_null(strstr(out, "REVOKED"), "%s", out);
	free(out);

	free(revoked);
	free(kept);
	nhi_broker_close(b);
}
