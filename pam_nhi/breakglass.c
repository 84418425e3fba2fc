/* Break-glass authentication: see breakglass.h. The code file is read and
 * rewritten only under an exclusive flock on "<codes>.lock", so of two
 * logins racing with one code exactly one finds it unused. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "breakglass.h"
#include "breakglass_codes.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "login.h"

#define SPOOL_RECORD_MAX 4096u

int nhi_bg_reason_check(const char *reason)
{
	size_t len = 0;
	bool blank = true;

	if (reason == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	for (const unsigned char *p = (const unsigned char *)reason; *p != '\0'; p++, len++) {
		if (*p < 0x20 || *p == 0x7f)
			return NHI_ERR_INVALID_FORMAT;
		if (*p != ' ')
			blank = false;
	}
	if (blank)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > NHI_BG_REASON_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	return 0;
}

/* Appends "key=value\n" with control characters replaced, so a hostile
 * rhost or tty cannot add a line of its own. */
static int record_add(char *rec, size_t *len, const char *key, const char *value)
{
	size_t klen = strlen(key), pos = *len;

	if (value == NULL)
		value = "";
	if (pos + klen + 1 >= SPOOL_RECORD_MAX)
		return NHI_ERR_NO_BUFFER_SPACE;
	memcpy(rec + pos, key, klen);
	pos += klen;
	rec[pos++] = '=';
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (pos + 2 >= SPOOL_RECORD_MAX)
			return NHI_ERR_NO_BUFFER_SPACE;
		rec[pos++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
	}
	rec[pos++] = '\n';
	*len = pos;
	return 0;
}

/* One file per event in the spool directory (created 0700 by root when
 * missing; refused unless root's and closed to others). */
static int spool_write(const char *dir, const struct nhi_pam_login *login, const char *reason,
                       size_t code_index, uint64_t now)
{
	char rec[SPOOL_RECORD_MAX], name[96], num[32];
	uint32_t rnd = randombytes_random();
	size_t len = 0;
	struct stat st;
	int dfd = -1, r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return NHI_ERR_SYSTEM;
	if ((r = nhi_open_nofollow(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, &dfd)) < 0)
		return r;
	if (fstat(dfd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077) != 0) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	snprintf(num, sizeof(num), "%zu", code_index);
	if ((r = record_add(rec, &len, "event", "use")) < 0 ||
	    (r = record_add(rec, &len, "account", login->user)) < 0 ||
	    (r = record_add(rec, &len, "service", login->service)) < 0 ||
	    (r = record_add(rec, &len, "rhost", login->rhost)) < 0 ||
	    (r = record_add(rec, &len, "tty", login->tty)) < 0 ||
	    (r = record_add(rec, &len, "reason", reason)) < 0 ||
	    (r = record_add(rec, &len, "code_index", num)) < 0)
		goto out;
	snprintf(num, sizeof(num), "%" PRIu64, now);
	if ((r = record_add(rec, &len, "time", num)) < 0)
		goto out;
	snprintf(name, sizeof(name), "bg-%" PRIu64 "-%ld-%08" PRIx32 ".rec", now, (long)getpid(),
	         rnd);
	r = nhi_atomic_write_at(dfd, name, rec, len, 0600, 0, 0);
out:
	close(dfd);
	return r;
}

/* Under the lock: re-reads the file, finds an unused code of user whose
 * hash matches, marks it used and rewrites the file. *ret_index is the
 * code's 1-based position among the account's codes. */
static int consume(const struct nhi_pam_options *opts, const char *user, const char *canon,
                   uint64_t now, size_t *ret_index, size_t *ret_line)
{
	struct nhi_bg_codes codes = {0};
	char *text = NULL;
	size_t len = 0, index = 0, match = 0;
	int lfd = -1, r;

	if ((r = nhi_bg_codes_lock(opts->codes_path, &lfd)) < 0)
		return r;
	if ((r = nhi_bg_codes_read(opts->codes_path, &codes, ret_line)) < 0)
		goto out;
	r = NHI_ERR_REFUSED;
	for (size_t i = 0; i < codes.n; i++) {
		struct nhi_bg_code *c = &codes.v[i];

		if (strcmp(c->account, user) != 0)
			continue;
		index++;
		if (c->used_at != 0)
			continue;
		if (crypto_pwhash_str_verify(c->hash, canon, strlen(canon)) == 0) {
			c->used_at = now;
			match = index;
			r = 0;
			break;
		}
	}
	if (r < 0)
		goto out;
	if ((r = nhi_bg_codes_format(&codes, &text, &len)) < 0 ||
	    (r = nhi_atomic_write(opts->codes_path, text, len, 0600)) < 0)
		goto out;
	*ret_index = match;
out:
	free(text);
	nhi_bg_codes_clear(&codes);
	close(lfd); /* releases the lock */
	return r;
}

/* Is there any code for user at all? Decides whether we prompt. */
static int has_codes(pam_handle_t *pamh, const struct nhi_pam_options *opts, const char *user)
{
	struct nhi_bg_codes codes = {0};
	size_t line = 0;
	int r, found = 0;

	if ((r = nhi_bg_codes_read(opts->codes_path, &codes, &line)) < 0) {
		if (r == NHI_ERR_NOT_FOUND)
			pam_syslog(pamh, LOG_ERR, "break-glass: no code file %s", opts->codes_path);
		else if (line > 0)
			pam_syslog(pamh, LOG_ALERT, "break-glass: %s:%zu: %s", opts->codes_path,
			           line, nhi_strerror(r));
		else
			pam_syslog(pamh, LOG_ALERT, "break-glass: refusing %s: %s",
			           opts->codes_path, nhi_strerror(r));
		return r;
	}
	for (size_t i = 0; i < codes.n && !found; i++)
		found = strcmp(codes.v[i].account, user) == 0;
	nhi_bg_codes_clear(&codes);
	return found;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int nhi_pam_breakglass(pam_handle_t *pamh, int flags, const struct nhi_pam_options *opts)
{
	struct nhi_pam_login login = {0};
	char *typed = NULL, *reason = NULL;
	char canon[NHI_BG_CODE_SYMBOLS + 1] = "";
	char clean_reason[NHI_BG_REASON_MAX * 4 + 1], clean_rhost[256];
	size_t index = 0, line = 0;
	uint64_t now = (uint64_t)time(NULL);
	int r, ret;

	if (sodium_init() < 0) {
		pam_syslog(pamh, LOG_ERR, "break-glass: libsodium cannot start");
		return PAM_SYSTEM_ERR;
	}
	if ((r = nhi_pam_login_get(pamh, &login)) < 0) {
		pam_syslog(pamh, LOG_NOTICE, "break-glass: no valid user name: %s",
		           nhi_strerror(r));
		return PAM_USER_UNKNOWN;
	}
	if ((r = has_codes(pamh, opts, login.user)) <= 0) {
		if (r == 0 && opts->debug)
			pam_syslog(pamh, LOG_DEBUG, "break-glass: no codes for %s", login.user);
		ret = opts->bg_missing_ignore ? PAM_IGNORE : PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	if ((r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &typed, "Break-glass code: ")) !=
	            PAM_SUCCESS ||
	    typed == NULL) {
		ret = r != PAM_SUCCESS ? r : PAM_CONV_ERR;
		goto out;
	}
	if ((r = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &reason,
	                    "Reason for break-glass access: ")) != PAM_SUCCESS ||
	    reason == NULL) {
		ret = r != PAM_SUCCESS ? r : PAM_CONV_ERR;
		goto out;
	}
	if ((r = nhi_bg_reason_check(reason)) < 0) {
		pam_syslog(pamh, LOG_NOTICE, "break-glass: %s refused: reason %s", login.user,
		           r == NHI_ERR_INVALID_ARGUMENT   ? "missing"
		           : r == NHI_ERR_STRING_TOO_LARGE ? "too long"
		                                           : "has control characters");
		if ((flags & PAM_SILENT) == 0)
			pam_error(pamh, "A reason is required: one line of at most %u characters.",
			          NHI_BG_REASON_MAX);
		pam_fail_delay(pamh, NHI_BG_FAIL_DELAY_USEC);
		ret = PAM_AUTH_ERR;
		goto out;
	}
	if (nhi_bg_code_normalize(typed, canon) < 0)
		r = NHI_ERR_REFUSED;
	else
		r = consume(opts, login.user, canon, now, &index, &line);
	if (r == NHI_ERR_REFUSED) {
		pam_syslog(pamh, LOG_WARNING, "break-glass: wrong or used code for %s via %s",
		           login.user, login.service);
		pam_fail_delay(pamh, NHI_BG_FAIL_DELAY_USEC);
		ret = PAM_AUTH_ERR;
		goto out;
	} else if (r < 0) {
		pam_syslog(pamh, LOG_ALERT, "break-glass: cannot consume a code of %s: %s",
		           login.user, nhi_strerror(r));
		ret = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	nhi_log_sanitize(reason, clean_reason, sizeof(clean_reason));
	nhi_log_sanitize(login.rhost != NULL ? login.rhost : "-", clean_rhost, sizeof(clean_rhost));
	pam_syslog(pamh, LOG_ALERT,
	           "BREAK-GLASS: %s logged in via %s from %s with code %zu; reason: %s", login.user,
	           login.service, clean_rhost, index, clean_reason);
	if ((r = spool_write(opts->spool_dir, &login, reason, index, now)) < 0)
		pam_syslog(pamh, LOG_ALERT,
		           "break-glass: cannot spool the audit record to %s: %s (syslog holds it)",
		           opts->spool_dir, nhi_strerror(r));
	ret = PAM_SUCCESS;
out:
	sodium_memzero(canon, sizeof(canon));
	free_secret(typed);
	free(reason);
	nhi_pam_login_clear(&login);
	return ret;
}
