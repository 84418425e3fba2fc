/* The break-glass code file, /etc/nhi/breakglass.codes: written by
 * `nhictl breakglass init`, read and rewritten by pam_nhi's auth stage.
 * Libc only: the parser is shared by the module, nhictl and the tests.
 *
 * One code per line, three fields separated by one space:
 *
 *   ACCOUNT HASH STATE
 *
 * ACCOUNT is a valid user name, HASH an argon2id string as made by
 * crypto_pwhash_str ("$argon2id$..."), STATE is "unused" or "used:SECONDS"
 * (the time of use). Lines starting with '#' are comments. Any other line
 * makes the whole file invalid: a file we cannot read entirely is never
 * rewritten, so no code is lost or revived by a partial parse. */
#ifndef NHI_PAM_BREAKGLASS_CODES_H
#define NHI_PAM_BREAKGLASS_CODES_H

#include <stddef.h>
#include <stdint.h>

#define NHI_BG_CODES_PATH_DEFAULT    "/etc/nhi/breakglass.codes"
#define NHI_BG_FILE_MAX              (256u * 1024u)
#define NHI_BG_LINES_MAX             1024u
#define NHI_BG_HASH_MAX              255u /* crypto_pwhash_STRBYTES - 1 is 127 */
#define NHI_BG_ACCOUNT_MAX           32u
#define NHI_BG_CODES_PER_ACCOUNT_MAX 16u
/* A code: 20 symbols of Crockford's base32 (100 bits), shown in groups of
 * four separated by '-'. Users may type it in any case, with or without
 * the dashes and blanks. */
#define NHI_BG_CODE_SYMBOLS  20u
#define NHI_BG_CODE_TEXT_MAX (NHI_BG_CODE_SYMBOLS + NHI_BG_CODE_SYMBOLS / 4u)

struct nhi_bg_code {
	char account[NHI_BG_ACCOUNT_MAX + 1];
	char hash[NHI_BG_HASH_MAX + 1];
	uint64_t used_at; /* 0: unused */
};

struct nhi_bg_codes {
	struct nhi_bg_code *v;
	size_t n;
};

/* Parses text (len bytes, no NUL needed). On error nothing is returned and
 * *ret_line (may be NULL) holds the 1-based line at fault.
 * NHI_ERR_INVALID_FORMAT, NHI_ERR_LINE_TOO_LONG, NHI_ERR_TOO_MANY. */
int nhi_bg_codes_parse(const char *text, size_t len, struct nhi_bg_codes *ret_codes,
                       size_t *ret_line);
/* The file's text for codes, with a header comment; heap, NUL-terminated. */
int nhi_bg_codes_format(const struct nhi_bg_codes *codes, char **ret_text, size_t *ret_len);
/* Drops every code of account and appends n new unused ones (hashes). */
int nhi_bg_codes_replace(struct nhi_bg_codes *codes, const char *account, const char *const *hashes,
                         size_t n);
/* Frees and zeroes. NULL is fine. */
void nhi_bg_codes_clear(struct nhi_bg_codes *codes);

/* argon2id limits for new hashes: a PAM login verifies up to
 * NHI_BG_CODES_PER_ACCOUNT_MAX of them and must stay well under a second. */
#define NHI_BG_PWHASH_OPSLIMIT 2u
#define NHI_BG_PWHASH_MEMLIMIT (16u * 1024u * 1024u)

/* Reads the code file at path: root's, no group or other bits, a regular
 * file reached without symlinks, at most NHI_BG_FILE_MAX bytes. A missing
 * file is NHI_ERR_NOT_FOUND; *ret_line names the line at fault of a
 * parse error (else 0). */
int nhi_bg_codes_read(const char *path, struct nhi_bg_codes *ret_codes, size_t *ret_line);
/* An exclusive flock on "<path>.lock" (created 0600, root's), held until
 * *ret_fd is closed. Every reader that rewrites the file holds it. */
int nhi_bg_codes_lock(const char *path, int *ret_fd);

/* Normalizes what a user typed into the canonical code (upper case, no
 * separators; 'O' read as '0', 'I' and 'L' as '1'). out must hold
 * NHI_BG_CODE_SYMBOLS + 1 bytes. NHI_ERR_INVALID_FORMAT when it is not a
 * code: wrong length or a symbol outside the alphabet. */
int nhi_bg_code_normalize(const char *typed, char out[NHI_BG_CODE_SYMBOLS + 1]);
/* Encodes 20 symbols from random bytes (at least 13): canonical form in
 * canon (NHI_BG_CODE_SYMBOLS + 1), grouped form in shown
 * (NHI_BG_CODE_TEXT_MAX + 1). */
void nhi_bg_code_encode(const unsigned char *random, size_t len,
                        char canon[NHI_BG_CODE_SYMBOLS + 1], char shown[NHI_BG_CODE_TEXT_MAX + 1]);

#endif
