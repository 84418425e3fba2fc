#include "config.h"

#include "err.h"
#include "server.h"

int nhi_server_listen(const char *path, int *ret_fd)
{
	(void)path;
	(void)ret_fd;
	return NHI_ERR_INTERNAL;
}

int nhi_server_run(struct nhi_broker *b, int listen_fd)
{
	(void)b;
	(void)listen_fd;
	return NHI_ERR_INTERNAL;
}
