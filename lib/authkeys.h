/* authorized_keys lines with sshd's semantics (sshd(8) AUTHORIZED_KEYS
 * FILE FORMAT): options, key, comment. */
#ifndef NHI_AUTHKEYS_H
#define NHI_AUTHKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sshkey.h"

/* sshd refuses longer lines too. */
#define NHI_AUTHKEYS_LINE_MAX 16384u
#define NHI_AUTHKEYS_OPTION_VALUES_MAX 64u

/* Flags as sshd reads them, later options overriding earlier ones: of a
 * no_X / permit_X pair at most one is set, and "restrict" clears every
 * permit_X written before it. X is allowed when permit_X, or when neither
 * no_X nor restrict_all is set. */
struct nhi_authkey_opts {
	bool restrict_all;          /* "restrict" */
	bool cert_authority;
	bool no_agent_forwarding, no_port_forwarding, no_pty, no_user_rc, no_x11_forwarding;
	bool permit_agent_forwarding, permit_port_forwarding, permit_pty, permit_user_rc,
	    permit_x11_forwarding;
	bool no_touch_required, verify_required;
	char *command;              /* command="..." unescaped */
	char *from;                 /* from="pattern-list" */
	char *principals;           /* principals="a,b" */
	char *tunnel;               /* tunnel="n" */
	char *expiry_time_text;     /* expiry-time="YYYYMMDD[HHMM[SS]][Z]" as written */
	time_t expiry_time;         /* parsed; 0 when absent. When written more than
				     * once the earliest wins, as in sshd. Without Z
				     * it is local time, read as sshd does. */
	char **environment;         /* environment="NAME=value", each */
	size_t n_environment;
	char **permitopen, **permitlisten;
	size_t n_permitopen, n_permitlisten;
};

struct nhi_authkey {
	char *options_text;         /* the options field as written, NULL when none */
	struct nhi_authkey_opts opts;
	struct nhi_key *key;        /* cert-authority lines hold the CA key */
	char *comment;              /* NULL when none */
};

/* Parses one line (without its newline; a trailing CR is tolerated).
 * Blank and comment lines give 0 with *ret = NULL. On error *ret_reason
 * (may be NULL) is a static text naming what is wrong. */
int nhi_authkeys_parse_line(const char *line, size_t len, struct nhi_authkey **ret,
			    const char **ret_reason);
/* The same without checking that an ECDSA key's point lies on its curve,
 * and so without libcrypto: only for a line whose key is then compared,
 * with nhi_key_equal, with a key already checked in full (see
 * nhi_key_from_blob_for_match in sshkey.h). */
int nhi_authkeys_parse_line_for_match(const char *line, size_t len, struct nhi_authkey **ret,
				      const char **ret_reason);
void nhi_authkey_free(struct nhi_authkey *ak);

/* The entry as one canonical line without a newline: the options as
 * written, the key re-encoded from its blob, the comment. Heap-allocated. */
int nhi_authkey_format(const struct nhi_authkey *ak, char **ret);
/* Like nhi_authkey_format, but the line stops working at not_after (UTC):
 * any expiry-time option is replaced by expiry-time="YYYYMMDDHHMMSSZ"
 * holding the earlier of the two times. */
int nhi_authkey_format_with_expiry(const struct nhi_authkey *ak, time_t not_after, char **ret);

#endif
