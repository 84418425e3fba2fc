#include "config.h"

#include "err.h"
#include "krl_export.h"

/* Not built yet. */
int nhi_krl_export(struct nhi_broker *b)
{
	(void)b;
	return NHI_ERR_INTERNAL;
}
