#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "err.h"
#include "peer.h"

/* Admin membership comes from the user database (as sudo and polkit see
 * it), not from the caller's process, which a pid reuse could swap. The
 * broker may use NSS freely: nss_nhi never calls back into it. */
static bool user_in_group(uid_t uid, gid_t primary, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));

	if (primary == gid)
		return true;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return false;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

int nhi_peer_from_socket(int fd, const struct nhi_broker *b, struct nhi_peer *ret_peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct nhi_peer peer = { 0 };

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return NHI_ERR_SYSTEM;
	peer.pid = cred.pid;
	peer.uid = cred.uid;
	peer.gid = cred.gid;
	snprintf(peer.name, sizeof(peer.name), "uid:%u", (unsigned)cred.uid);
	peer.is_admin = cred.uid == 0;
	peer.is_helper = b->helper_uid != (uid_t)-1 && cred.uid == b->helper_uid;
	peer.is_login = b->login_uid != (uid_t)-1 && cred.uid == b->login_uid;
	*ret_peer = peer;
	return 0;
}

void nhi_peer_check_admin(struct nhi_peer *peer, const struct nhi_broker *b)
{
	peer->is_admin = peer->uid == 0 ||
			 (b->admin_gid != (gid_t)-1 &&
			  user_in_group(peer->uid, peer->gid, b->admin_gid));
}
