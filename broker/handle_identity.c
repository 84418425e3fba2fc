#include "config.h"

#include "err.h"
#include "handlers.h"

/* Not built yet: answered as an internal error. */
int nhi_handle_identity_add(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_identity_list(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_identity_show(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_identity_set(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_identity_status(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}

int nhi_handle_enroll_code(struct nhi_call *c)
{
	return nhi_call_error(c, NHI_ERR_INTERNAL, "not implemented");
}
