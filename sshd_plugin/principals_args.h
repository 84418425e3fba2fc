/* The arguments sshd gives nhi-authorized-principals (%u %U %s %i %f),
 * checked strictly: sshd expands them unquoted from what a client sent. */
#ifndef NHI_PRINCIPALS_ARGS_H
#define NHI_PRINCIPALS_ARGS_H

#include <stdint.h>

struct nhi_principals_args {
	const char *account; /* a portable user name (names.h) */
	uint64_t uid;
	uint64_t serial;    /* at most INT64_MAX, as the broker stores it */
	const char *key_id; /* nhi:<identity>:<serial> */
	const char *key_fp; /* SHA256:<43 characters of base64> */
};

/* argv holds exactly five strings: account, uid, serial, key id, key
 * fingerprint. Numbers are canonical decimal (no sign, no leading zero, no
 * overflow) and the key id's serial is the serial's text. A rejection is
 * logged and returned as a negative NHI_ERR_*; *ret points into argv. */
int nhi_principals_args_parse(char *const *argv, struct nhi_principals_args *ret);

#endif
