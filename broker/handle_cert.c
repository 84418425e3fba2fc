#include "config.h"

#include "err.h"
#include "handlers.h"

/* Not built yet: answered as an internal error. */
int nhi_handle_cert_list(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_cert_show(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_revoke(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}
