#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "breakglass_codes.h"
#include "err.h"
#include "fileio.h"
#include "names.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define LINE_MAX_LEN (NHI_BG_ACCOUNT_MAX + NHI_BG_HASH_MAX + 32u)

/* A stored hash: what crypto_pwhash_str makes, printable, no blanks. */
static bool hash_is_valid(const char *h, size_t len)
{
	static const char prefix[] = "$argon2id$";

	if (len < sizeof(prefix) || len > NHI_BG_HASH_MAX ||
	    memcmp(h, prefix, sizeof(prefix) - 1) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (h[i] <= ' ' || h[i] >= 0x7f)
			return false;
	return true;
}

/* "unused" or "used:SECONDS" (decimal, no sign, not 0). */
static bool parse_state(const char *s, size_t len, uint64_t *ret_used_at)
{
	uint64_t v = 0;

	if (len == 6 && memcmp(s, "unused", 6) == 0) {
		*ret_used_at = 0;
		return true;
	}
	if (len < 6 || len > 5 + 20 || memcmp(s, "used:", 5) != 0)
		return false;
	for (size_t i = 5; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0)
		return false;
	*ret_used_at = v;
	return true;
}

static int parse_line(const char *line, size_t len, struct nhi_bg_code *ret_code)
{
	const char *sp1, *sp2;
	size_t alen, hlen;

	if (len > LINE_MAX_LEN)
		return NHI_ERR_LINE_TOO_LONG;
	if ((sp1 = memchr(line, ' ', len)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line))) == NULL)
		return NHI_ERR_INVALID_FORMAT;
	alen = (size_t)(sp1 - line);
	hlen = (size_t)(sp2 - sp1 - 1);
	if (alen == 0 || alen > NHI_BG_ACCOUNT_MAX || !hash_is_valid(sp1 + 1, hlen) ||
	    !parse_state(sp2 + 1, len - (size_t)(sp2 + 1 - line), &ret_code->used_at))
		return NHI_ERR_INVALID_FORMAT;
	memcpy(ret_code->account, line, alen);
	ret_code->account[alen] = '\0';
	if (!nhi_name_is_valid(ret_code->account))
		return NHI_ERR_INVALID_FORMAT;
	memcpy(ret_code->hash, sp1 + 1, hlen);
	ret_code->hash[hlen] = '\0';
	return 0;
}

int nhi_bg_codes_parse(const char *text, size_t len, struct nhi_bg_codes *ret_codes,
                       size_t *ret_line)
{
	struct nhi_bg_codes c = {0};
	size_t pos = 0, lineno = 0;
	int r = 0;

	if (text == NULL || ret_codes == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;

		lineno++;
		pos += llen + (nl != NULL ? 1 : 0);
		if (memchr(line, '\0', llen) != NULL) {
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
		if (llen == 0 || line[0] == '#')
			continue;
		if (c.n == NHI_BG_LINES_MAX) {
			r = NHI_ERR_TOO_MANY;
			goto out;
		}
		if (c.n % 16 == 0) {
			struct nhi_bg_code *v = realloc(c.v, (c.n + 16) * sizeof(*v));

			if (v == NULL) {
				r = NHI_ERR_ALLOC;
				goto out;
			}
			c.v = v;
		}
		if ((r = parse_line(line, llen, &c.v[c.n])) < 0)
			goto out;
		c.n++;
	}
out:
	if (r < 0) {
		nhi_bg_codes_clear(&c);
		if (ret_line != NULL)
			*ret_line = lineno;
		return r;
	}
	*ret_codes = c;
	return 0;
}

int nhi_bg_codes_format(const struct nhi_bg_codes *codes, char **ret_text, size_t *ret_len)
{
	static const char header[] =
	        "# nhi break-glass codes: account argon2id-hash state.\n"
	        "# Written by nhictl breakglass init and pam_nhi; do not edit.\n";
	size_t cap = sizeof(header) + codes->n * (LINE_MAX_LEN + 2), len;
	char *text = malloc(cap);
	int n;

	if (text == NULL)
		return NHI_ERR_ALLOC;
	/* With the NUL: a file without codes is the header alone. */
	memcpy(text, header, sizeof(header));
	len = sizeof(header) - 1;
	for (size_t i = 0; i < codes->n; i++) {
		const struct nhi_bg_code *c = &codes->v[i];

		if (c->used_at == 0)
			n = snprintf(text + len, cap - len, "%s %s unused\n", c->account, c->hash);
		else
			n = snprintf(text + len, cap - len, "%s %s used:%" PRIu64 "\n", c->account,
			             c->hash, c->used_at);
		if (n < 0 || (size_t)n >= cap - len) {
			free(text);
			return NHI_ERR_INTERNAL;
		}
		len += (size_t)n;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}

int nhi_bg_codes_replace(struct nhi_bg_codes *codes, const char *account, const char *const *hashes,
                         size_t n)
{
	struct nhi_bg_code *v;
	size_t kept = 0;

	if (!nhi_name_is_valid(account) || strlen(account) > NHI_BG_ACCOUNT_MAX ||
	    n > NHI_BG_CODES_PER_ACCOUNT_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < n; i++)
		if (!hash_is_valid(hashes[i], strlen(hashes[i])))
			return NHI_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < codes->n; i++)
		if (strcmp(codes->v[i].account, account) != 0)
			kept++;
	if (kept + n > NHI_BG_LINES_MAX)
		return NHI_ERR_TOO_MANY;
	if ((v = calloc(kept + n + 1, sizeof(*v))) == NULL)
		return NHI_ERR_ALLOC;
	kept = 0;
	for (size_t i = 0; i < codes->n; i++)
		if (strcmp(codes->v[i].account, account) != 0)
			v[kept++] = codes->v[i];
	for (size_t i = 0; i < n; i++, kept++) {
		snprintf(v[kept].account, sizeof(v[kept].account), "%s", account);
		snprintf(v[kept].hash, sizeof(v[kept].hash), "%s", hashes[i]);
		v[kept].used_at = 0;
	}
	nhi_bg_codes_clear(codes);
	codes->v = v;
	codes->n = kept;
	return 0;
}

void nhi_bg_codes_clear(struct nhi_bg_codes *codes)
{
	if (codes == NULL)
		return;
	free(codes->v);
	codes->v = NULL;
	codes->n = 0;
}

int nhi_bg_code_normalize(const char *typed, char out[NHI_BG_CODE_SYMBOLS + 1])
{
	size_t n = 0;

	if (typed == NULL)
		return NHI_ERR_INVALID_FORMAT;
	for (const char *p = typed; *p != '\0'; p++) {
		char ch = *p;

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch == 'O')
			ch = '0';
		else if (ch == 'I' || ch == 'L')
			ch = '1';
		if (ch == '\0' || strchr(alphabet, ch) == NULL || n == NHI_BG_CODE_SYMBOLS) {
			explicit_bzero(out, NHI_BG_CODE_SYMBOLS + 1);
			return NHI_ERR_INVALID_FORMAT;
		}
		out[n++] = ch;
	}
	out[n] = '\0';
	if (n != NHI_BG_CODE_SYMBOLS) {
		explicit_bzero(out, NHI_BG_CODE_SYMBOLS + 1);
		return NHI_ERR_INVALID_FORMAT;
	}
	return 0;
}

void nhi_bg_code_encode(const unsigned char *random, size_t len,
                        char canon[NHI_BG_CODE_SYMBOLS + 1], char shown[NHI_BG_CODE_TEXT_MAX + 1])
{
	size_t s = 0;

	for (size_t i = 0; i < NHI_BG_CODE_SYMBOLS; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)random[byte % len] << 8;

		if (byte + 1 < len)
			v |= random[byte + 1];
		canon[i] = alphabet[(v >> (11 - shift)) & 0x1f];
		if (i > 0 && i % 4 == 0)
			shown[s++] = '-';
		shown[s++] = canon[i];
	}
	canon[NHI_BG_CODE_SYMBOLS] = '\0';
	shown[s] = '\0';
}

int nhi_bg_codes_read(const char *path, struct nhi_bg_codes *ret_codes, size_t *ret_line)
{
	const struct nhi_file_rules rules = {
	        .owner = 0,
	        .allow_root_owner = true,
	        .forbidden = 077,
	        .max_size = NHI_BG_FILE_MAX,
	};
	char *text = NULL;
	size_t len = 0;
	int r;

	*ret_line = 0;
	if ((r = nhi_read_file_checked(path, &rules, NHI_BG_FILE_MAX, &text, &len)) < 0)
		return r;
	r = nhi_bg_codes_parse(text, len, ret_codes, ret_line);
	explicit_bzero(text, len);
	free(text);
	return r;
}

int nhi_bg_codes_lock(const char *path, int *ret_fd)
{
	char lock[4096];
	struct stat st;
	int fd = -1, r;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock))
		return NHI_ERR_STRING_TOO_LARGE;
	if ((r = nhi_open_nofollow(AT_FDCWD, lock, O_RDWR | O_CREAT, &fd)) < 0)
		return r;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0) {
		close(fd);
		return NHI_ERR_FILE_UNSAFE;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return NHI_ERR_SYSTEM;
		}
	}
	*ret_fd = fd;
	return 0;
}
