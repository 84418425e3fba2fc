/* The chained AuthorizedKeysCommand ([sshd] chain_command): another tool
 * that wants sshd's single slot, run by nhi-authorized-keys the way sshd
 * would run it, its lines then passed through the broker's policy.
 *
 * The command is split on blanks into argv (no shell, no quoting), the
 * tokens %u %U %f %t %k and %% expanded in each argument from the helper's
 * own arguments; any other token refuses the command. The program must be
 * an absolute path that root owns, in directories root owns, none of them
 * writable by group or others (sshd's rule for its own helpers). It runs
 * as the helper's user, never as root, with stdin from /dev/null, stderr
 * discarded, no other descriptor, a minimal environment and a deadline
 * after which its process group is killed. Output past
 * NHI_CHAIN_OUTPUT_MAX, or a non-zero exit, discards everything, as sshd
 * discards the output of a failed command. */
#ifndef NHI_CHAIN_H
#define NHI_CHAIN_H

#include <stddef.h>

#define NHI_CHAIN_ARGS_MAX   32u
#define NHI_CHAIN_OUTPUT_MAX (64u * 1024u)
#define NHI_CHAIN_LINES_MAX  32u /* well-formed key lines kept */

/* What sshd gave the helper: %u %U %f %t %k. */
struct nhi_chain_tokens {
	const char *user, *uid, *fingerprint, *type, *key;
};

/* The argv of command with the tokens expanded, NULL-terminated.
 * NHI_ERR_INVALID_FORMAT for an unknown token or an empty command,
 * NHI_ERR_STRING_TOO_LARGE past NHI_CHAIN_ARGS_MAX arguments. */
int nhi_chain_argv(const char *command, const struct nhi_chain_tokens *t, char ***ret_argv);
void nhi_chain_argv_free(char **argv);

/* The well-formed authorized_keys lines of out (len bytes): each one parsed
 * strictly, without its newline, but for whether an ECDSA point lies on its
 * curve (nhi_authkeys_parse_line_for_match: the broker checks each line in
 * full, and the helper prints one only when it holds the offered key).
 * Blank and comment lines are skipped silently; a line that is too long,
 * holds a control byte, does not parse or is a cert-authority line is
 * dropped with a log line. At most NHI_CHAIN_LINES_MAX are kept. */
int nhi_chain_lines(const char *out, size_t len, char ***ret_lines, size_t *ret_n);
void nhi_chain_lines_free(char **lines, size_t n);

/* Runs command and returns its well-formed lines. Refuses (and logs) when
 * running as root or when the program is not safe. */
int nhi_chain_run(const char *command, const struct nhi_chain_tokens *t, int timeout_ms,
                  char ***ret_lines, size_t *ret_n);

#endif
