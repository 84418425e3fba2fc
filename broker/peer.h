/* Who is on the other end of a broker connection: SO_PEERCRED, taken by the
 * kernel at connect time, and nothing the client says about itself. */
#ifndef NHI_PEER_H
#define NHI_PEER_H

#include <stdbool.h>
#include <sys/types.h>

struct nhi_broker;

struct nhi_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool is_admin;  /* uid 0; or a member of the admin group, once checked */
	bool is_helper; /* the sshd helper user */
	bool is_login;  /* the login user behind nhi-issue */
	char name[64];  /* "uid:1000" or the user name, for audit actors */
};

/* Reads the credentials of the connected socket fd and classifies them. */
int nhi_peer_from_socket(int fd, const struct nhi_broker *b, struct nhi_peer *ret_peer);
/* Looks up admin group membership in the user database. Done only for
 * requests that need it: the lookup costs more than issuing a certificate. */
void nhi_peer_check_admin(struct nhi_peer *peer, const struct nhi_broker *b);

#endif
