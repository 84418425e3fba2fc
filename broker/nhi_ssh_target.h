/* nhi ssh: the parts of its command line that come from outside and reach
 * libssh or the remote shell: the host, USER@HOST, and the command. Kept
 * apart from the connection so that unit tests can feed them anything. */
#ifndef NHI_SSH_TARGET_H
#define NHI_SSH_TARGET_H

#include <stdbool.h>

#define NHI_SSH_HOST_MAX    253u
#define NHI_SSH_COMMAND_MAX (64u * 1024u)

/* A host name or address as libssh takes it: 1 to NHI_SSH_HOST_MAX
 * printable ASCII characters, no space, '@', '/' or '\', not starting
 * with '-'. */
bool nhi_ssh_host_is_valid(const char *host);
/* Splits "USER@HOST" at its last '@' (in place; left whole on failure) or
 * takes "HOST" as it is.
 * *ret_user is NULL when there is no USER part. NHI_ERR_NAME_INVALID for a
 * USER that is not a valid account name, NHI_ERR_INVALID_ARGUMENT for a
 * bad host. */
int nhi_ssh_split_target(char *arg, const char **ret_user, const char **ret_host);
/* The words joined with single spaces, as ssh(1) sends them; heap
 * allocated. NHI_ERR_STRING_TOO_LARGE past NHI_SSH_COMMAND_MAX. */
int nhi_ssh_join_command(int argc, char *const *argv, char **ret);

#endif
