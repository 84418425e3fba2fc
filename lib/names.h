/* Validation of names that reach us from outside: account and identity
 * names, principals. Libc only. */
#ifndef NHI_NAMES_H
#define NHI_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NHI_NAME_MAX 32u        /* account and identity names */
#define NHI_PRINCIPAL_MAX 256u

/* POSIX portable user name, as Debian's adduser accepts by default:
 * [a-z_][a-z0-9_-]* with an optional trailing '$', 1..32 bytes. No '/',
 * '%', '.', whitespace, control or non-ASCII byte can pass. */
bool nhi_name_is_valid(const char *name);
/* A certificate principal: printable ASCII, no blank, no ',' (the
 * separator sshd uses), 1..NHI_PRINCIPAL_MAX bytes. */
bool nhi_principal_is_valid(const char *principal);

#endif
