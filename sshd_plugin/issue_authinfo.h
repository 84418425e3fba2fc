/* The file SSH_USER_AUTH names, as nhi-issue reads it: sshd's ExposeAuthInfo
 * record of how the login user authenticated. nhi-login has exactly one
 * method, a device key, so exactly one line is accepted:
 *
 *   publickey TYPE BASE64
 *
 * naming a plain key. Kept apart from nhi-issue's main so that the parser
 * is fuzzed on its own. */
#ifndef NHI_ISSUE_AUTHINFO_H
#define NHI_ISSUE_AUTHINFO_H

#include "sshkey.h"

#define NHI_ISSUE_AUTHINFO_MAX (64u * 1024u)

/* Parses text (a C string) into the device key. NHI_ERR_INVALID_FORMAT for
 * another method, a second line or a stray blank, NHI_ERR_KEY_TYPE_UNKNOWN
 * for a certificate or an unknown type, else what the key parser says;
 * *ret_key is untouched on failure. */
int nhi_issue_authinfo_parse(const char *text, struct nhi_key **ret_key);

#endif
