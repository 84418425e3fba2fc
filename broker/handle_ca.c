#include "config.h"

#include "ca.h"
#include "err.h"
#include "handlers.h"

static int add_key_record(struct nhi_call *c, const struct nhi_ca_trusted *t)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "fingerprint", t->fingerprint)) < 0 ||
	    (r = nhi_kv_add_str(rec, "public_key", t->text)) < 0 ||
	    (r = nhi_kv_add_str(rec, "current", t->current ? "yes" : "no")) < 0 ||
	    (r = nhi_kv_add_u64(rec, "trusted_until", t->trusted_until)) < 0)
		return r;
	return 0;
}

int nhi_handle_ca_show(struct nhi_call *c)
{
	int r;

	/* What user_ca.pub holds, so the answer is what sshd trusts. */
	for (size_t i = 0; i < nhi_ca_set_count(c->b->ca); i++) {
		if ((r = add_key_record(c, nhi_ca_set_get(c->b->ca, i))) < 0)
			return r;
	}
	return 0;
}

int nhi_handle_ca_rotate(struct nhi_call *c)
{
	int r = nhi_ca_set_rotate(c->b, c->peer->name, nhi_broker_now());

	if (r == NHI_ERR_FILE_UNSAFE)
		return nhi_call_error(c, r,
		                      "the CA key comes from systemd credentials: rotate it there");
	if (r < 0)
		return nhi_call_error(c, r, "cannot rotate the CA: %s", nhi_strerror(r));
	if ((r = add_key_record(c, nhi_ca_set_get(c->b->ca, 0))) < 0)
		return r;
	return nhi_call_message(c, "new user CA %s", nhi_ca_set_fingerprint(c->b->ca));
}
