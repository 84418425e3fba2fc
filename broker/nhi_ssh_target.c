/* nhi ssh: validation of the host, USER@HOST and the remote command. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nhi_ssh_target.h"

bool nhi_ssh_host_is_valid(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > NHI_SSH_HOST_MAX || host[0] == '-')
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '@' || *p == '/' || *p == '\\')
			return false;
	}
	return true;
}

int nhi_ssh_split_target(char *arg, const char **ret_user, const char **ret_host)
{
	char *at = strrchr(arg, '@');
	const char *user = NULL, *host = arg;

	if (at != NULL) {
		*at = '\0';
		user = arg;
		host = at + 1;
		if (!nhi_name_is_valid(user)) {
			*at = '@';
			return NHI_ERR_NAME_INVALID;
		}
	}
	if (!nhi_ssh_host_is_valid(host)) {
		if (at != NULL)
			*at = '@';
		return NHI_ERR_INVALID_ARGUMENT;
	}
	*ret_user = user;
	*ret_host = host;
	return 0;
}

int nhi_ssh_join_command(int argc, char *const *argv, char **ret)
{
	size_t len = 0, off = 0;
	char *cmd;

	if (argc < 1)
		return NHI_ERR_INVALID_ARGUMENT;
	for (int i = 0; i < argc; i++) {
		len += strlen(argv[i]) + 1;
		if (len > NHI_SSH_COMMAND_MAX)
			return NHI_ERR_STRING_TOO_LARGE;
	}
	if ((cmd = malloc(len)) == NULL)
		return NHI_ERR_ALLOC;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		memcpy(cmd + off, argv[i], n);
		off += n;
		cmd[off++] = i + 1 < argc ? ' ' : '\0';
	}
	*ret = cmd;
	return 0;
}
