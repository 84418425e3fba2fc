#include "config.h"

#include "ca.h"
#include "err.h"
#include "handlers.h"

int nhi_handle_status(struct nhi_call *c)
{
	struct nhi_cert_record *certs = NULL;
	size_t n_ids = 0, n_certs = 0;
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_store_identity_count(c->b->store, &n_ids)) < 0 ||
	    (r = nhi_store_cert_list(c->b->store, NULL, NHI_CERT_LIST_UNREVOKED, &certs,
	                             &n_certs)) < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "version", PACKAGE_VERSION)) < 0 ||
	    (r = nhi_kv_add_str(rec, "ca_fingerprint", nhi_ca_set_fingerprint(c->b->ca))) < 0 ||
	    (r = nhi_kv_add_u64(rec, "identities", n_ids)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "certificates", n_certs)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "uptime", nhi_broker_now() - c->b->started)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state_dir", c->b->state_dir)) < 0)
		goto out;
	r = 0;
out:
	nhi_cert_record_list_free(certs, n_certs);
	return r;
}

int nhi_handle_reload(struct nhi_call *c)
{
	c->b->reload_requested = true;
	return nhi_call_message(c, "configuration reload scheduled");
}
