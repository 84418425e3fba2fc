/* Retirement of static keys: the key's lines are taken out of an account's
 * authorized_keys file, a backup of the file is kept under
 * <state_dir>/retired/, and the line can be put back from it.
 *
 * The file is found by the rules of discovery (broker/discover.h): no
 * symlink is followed anywhere on the path and the directory is opened
 * once; the new file is written relative to that directory. */
#ifndef NHI_RETIRE_H
#define NHI_RETIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "broker.h"
#include "sshkey.h"

#define NHI_RETIRED_DIR "retired"

/* Copies data without the lines that hold key (with any options and
 * comment). Every other line, including comments, blank, unparsable and
 * cert-authority lines, is kept byte for byte with its line ending. */
int nhi_authkeys_remove_key(const char *data, size_t len, const struct nhi_key *key, char **ret,
                            size_t *ret_len, size_t *ret_removed);

/* Takes key out of path, a key file of account: the original goes to a
 * backup named "<account>.<YYYYMMDDTHHMMSSZ>.<fingerprint>" (0600 in a
 * 0700 directory), then the file is replaced with the same owner, group
 * and mode. *ret_removed is 0, and nothing is written, when the file does
 * not hold the key or does not exist. */
int nhi_retire_key_in_file(struct nhi_broker *b, const char *account, const char *path,
                           const struct nhi_key *key, size_t *ret_removed);

/* Puts the line of fingerprint back at the end of path from the newest
 * backup of account, unless the file already holds the key. *ret_restored
 * tells whether a line was added. NHI_ERR_NOT_FOUND without a backup. */
int nhi_restore_key_in_file(struct nhi_broker *b, const char *account, const char *path,
                            const char *fingerprint, bool *ret_restored);

#endif
