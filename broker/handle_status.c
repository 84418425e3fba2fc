#include "config.h"

#include "ca.h"
#include "err.h"
#include "handlers.h"

int nhi_handle_status(struct nhi_call *c)
{
	size_t n_ids = 0, n_certs = 0;
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_store_identity_count(c->b->store, &n_ids)) < 0 ||
	    (r = nhi_store_cert_count_unrevoked(c->b->store, &n_certs)) < 0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "version", PACKAGE_VERSION)) < 0 ||
	    (r = nhi_kv_add_str(rec, "ca_fingerprint", nhi_ca_set_fingerprint(c->b->ca))) < 0 ||
	    (r = nhi_kv_add_u64(rec, "identities", n_ids)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "certificates", n_certs)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "uptime", nhi_broker_now() - c->b->started)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state_dir", c->b->state_dir)) < 0)
		return r;
	return 0;
}

int nhi_handle_reload(struct nhi_call *c)
{
	c->b->reload_requested = true;
	return nhi_call_message(c, "configuration reload scheduled");
}
