#include "config.h"

#include "ca.h"
#include "err.h"

/* Not built yet. */
int nhi_ca_set_open(struct nhi_broker *b, struct nhi_ca_set **ret_ca)
{
	(void)b;
	(void)ret_ca;
	return NHI_ERR_INTERNAL;
}

void nhi_ca_set_free(struct nhi_ca_set *ca)
{
	(void)ca;
}

const struct nhi_ca_key *nhi_ca_set_signer(const struct nhi_ca_set *ca)
{
	(void)ca;
	return NULL;
}

const char *nhi_ca_set_fingerprint(const struct nhi_ca_set *ca)
{
	(void)ca;
	return "";
}
