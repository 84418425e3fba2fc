/* Discovery of static keys: the authorized_keys files of one account, read
 * by the broker (root) without following a symlink anywhere on the path.
 *
 * The files are not read as their owner: every component is opened with
 * O_NOFOLLOW from "/", and from the home directory down each directory and
 * the file itself must be owned by the account or root and not be group or
 * other writable (sshd's StrictModes rules). The file must be a regular
 * file with a single link, readable by the account itself (its owner bit,
 * or the other bit when root owns it), of at most NHI_DISCOVER_FILE_MAX
 * bytes and NHI_DISCOVER_LINES_MAX lines. Anything else is skipped and reported as a finding, never
 * read further; nothing outside the configured key files is opened. */
#ifndef NHI_DISCOVER_H
#define NHI_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "authkeys.h"
#include "conf.h"

#define NHI_DISCOVER_FILE_MAX     (1024u * 1024u)
#define NHI_DISCOVER_LINES_MAX    10000u
#define NHI_DISCOVER_PATH_MAX     4096u
#define NHI_DISCOVER_FINDINGS_MAX 64u /* more are counted, not kept */

struct nhi_found_key {
	char *path;
	unsigned line; /* 1-based */
	struct nhi_authkey *ak;
	bool weak; /* DSA, RSA < 3072: nhi_key_policy not acceptable */
};

struct nhi_discover_finding {
	char *path;
	unsigned line;      /* 0: about the whole file */
	const char *reason; /* static text */
};

struct nhi_discovery {
	uid_t uid;
	char *home;
	struct nhi_found_key *keys;
	size_t n_keys;
	struct nhi_discover_finding *findings;
	size_t n_findings;
	size_t n_findings_dropped;
};

/* Reads the configured key files of account (cfg->key_files, %h %u %%
 * expanded; relative paths start at the home directory). NHI_ERR_NOT_FOUND
 * when the account does not exist. A missing file is not a finding. */
int nhi_discover_account(const struct nhi_config *cfg, const char *account,
                         struct nhi_discovery *ret);
void nhi_discovery_clear(struct nhi_discovery *d);

/* Opens one key file of the account at home/uid by the rules above: the
 * file in *ret_fd and the directory holding it in *ret_dirfd, for a
 * rewrite that follows no link. Errors as for reading; *ret_reason is a
 * static text when the file is unsafe. */
int nhi_discover_open(const char *path, const char *home, uid_t uid, int *ret_dirfd, int *ret_fd,
                      const char **ret_reason);

/* Expands %h, %u and %% in pattern; NHI_ERR_INVALID_FORMAT for any other
 * %-sequence, NHI_ERR_STRING_TOO_LARGE past NHI_DISCOVER_PATH_MAX. */
int nhi_discover_expand(const char *pattern, const char *home, const char *account, char **ret);

#endif
