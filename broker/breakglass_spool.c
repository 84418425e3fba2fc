/* Break-glass spool ingestion: see breakglass_spool.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "breakglass_spool.h"
#include "broker.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "names.h"

static const char *const spool_keys[] = {"event",  "account",    "service", "rhost", "tty",
                                         "reason", "code_index", "codes",   "time",  "by"};
#define N_KEYS (sizeof(spool_keys) / sizeof(spool_keys[0]))

static bool is_number(const char *s)
{
	if (*s == '\0' || strlen(s) > 19)
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int nhi_bg_spool_parse(const char *text, size_t len, struct nhi_audit_detail **ret_detail,
                       char **ret_account)
{
	char *values[N_KEYS] = {0};
	struct nhi_audit_detail *d = NULL;
	size_t pos = 0;
	int r = NHI_ERR_INVALID_FORMAT;

	if (len > NHI_BG_SPOOL_RECORD_MAX)
		return NHI_ERR_FILE_TOO_LARGE;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *eq;
		size_t llen, k;

		if (nl == NULL)
			goto out; /* a record ends with a newline: a torn one does not */
		llen = (size_t)(nl - line);
		pos += llen + 1;
		if ((eq = memchr(line, '=', llen)) == NULL)
			goto out;
		for (size_t i = 0; i < llen; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				goto out;
		for (k = 0; k < N_KEYS; k++)
			if (strlen(spool_keys[k]) == (size_t)(eq - line) &&
			    memcmp(spool_keys[k], line, (size_t)(eq - line)) == 0)
				break;
		if (k == N_KEYS || values[k] != NULL)
			goto out;
		if ((values[k] = strndup(eq + 1, llen - (size_t)(eq + 1 - line))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
	}
	/* event, account, time are required; numbers are numbers. */
	if (values[0] == NULL || values[1] == NULL || values[8] == NULL ||
	    (strcmp(values[0], "use") != 0 && strcmp(values[0], "init") != 0) ||
	    !nhi_name_is_valid(values[1]) || !is_number(values[8]) ||
	    (values[6] != NULL && !is_number(values[6])) ||
	    (values[7] != NULL && !is_number(values[7])) ||
	    (strcmp(values[0], "use") == 0 && (values[5] == NULL || values[5][0] == '\0')))
		goto out;
	if ((r = nhi_audit_detail_new(&d)) < 0)
		goto out;
	for (size_t k = 0; k < N_KEYS; k++) {
		if (values[k] == NULL || k == 1)
			continue;
		if (k == 6 || k == 7 || k == 8)
			r = nhi_audit_detail_int(d, spool_keys[k], strtoll(values[k], NULL, 10));
		else
			r = nhi_audit_detail_str(d, spool_keys[k], values[k]);
		if (r < 0)
			goto out;
	}
	*ret_account = values[1];
	values[1] = NULL;
	*ret_detail = d;
	d = NULL;
	r = 0;
out:
	for (size_t k = 0; k < N_KEYS; k++)
		free(values[k]);
	nhi_audit_detail_free(d);
	return r;
}

/* Reads one spool file: root's, closed to others, a regular file, small. */
static int read_record(int dfd, const char *name, char **ret_text, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return errno == ELOOP ? NHI_ERR_FILE_UNSAFE : NHI_ERR_SYSTEM;
	if (fstat(fd, &st) < 0)
		r = NHI_ERR_SYSTEM;
	else if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0)
		r = NHI_ERR_FILE_UNSAFE;
	else
		r = nhi_read_fd(fd, NHI_BG_SPOOL_RECORD_MAX, ret_text, ret_len);
	close(fd);
	return r;
}

static void move_aside(int dfd, const char *name, int why)
{
	char bad[NAME_MAX + 8];

	nhi_log_error("break-glass spool: %s is not a valid record (%s): moved aside", name,
	              nhi_strerror(why));
	snprintf(bad, sizeof(bad), ".bad-%s", name);
	if (renameat(dfd, name, dfd, bad) < 0)
		nhi_log_error("break-glass spool: cannot move %s aside: %s", name, strerror(errno));
}

/* One file: 1 appended, 0 moved aside, < 0 the audit trail failed. */
static int ingest_one(struct nhi_broker *b, int dfd, const char *name)
{
	struct nhi_audit_detail *d = NULL;
	char *text = NULL, *account = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	int r;

	if ((r = read_record(dfd, name, &text, &len)) < 0 ||
	    (r = nhi_bg_spool_parse(text, len, &d, &account)) < 0 ||
	    (r = nhi_audit_detail_str(d, "spool_file", name)) < 0) {
		if (r != NHI_ERR_ALLOC)
			move_aside(dfd, name, r);
		r = r == NHI_ERR_ALLOC ? r : 0;
		goto out;
	}
	{
		const struct nhi_audit_event ev = {
		        .type = NHI_AUDIT_BREAKGLASS,
		        .actor = account,
		        .subject = account,
		        .detail = nhi_audit_detail_text(d),
		};
		if ((r = nhi_audit_append(b->audit, &ev, &seq)) < 0) {
			nhi_log_error("break-glass spool: cannot append %s: %s", name,
			              nhi_strerror(r));
			goto out;
		}
	}
	/* Deleted only now that the record is committed; a crash in between
	 * appends it twice (the spool_file field names the duplicate), never
	 * loses it. */
	if (unlinkat(dfd, name, 0) < 0)
		nhi_log_error("break-glass spool: cannot remove %s: %s", name, strerror(errno));
	nhi_log_notice("break-glass record %s of %s appended as audit record %llu", name, account,
	               (unsigned long long)seq);
	r = 1;
out:
	nhi_audit_detail_free(d);
	free(account);
	free(text);
	return r;
}

int nhi_bg_spool_ingest(struct nhi_broker *b)
{
	char *path = nhi_broker_path(b, NHI_BG_SPOOL_NAME);
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int dfd = -1, r, n = 0;

	if (path == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_open_nofollow(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, &dfd)) < 0) {
		if (r == NHI_ERR_NOT_FOUND)
			r = 0;
		else
			nhi_log_error("break-glass spool %s: %s", path, nhi_strerror(r));
		goto out;
	}
	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022) != 0) {
		nhi_log_error("break-glass spool %s: not root's or writable by others: ignored",
		              path);
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	if ((dir = fdopendir(dfd)) == NULL) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	dfd = -1; /* owned by dir */
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((r = ingest_one(b, dirfd(dir), de->d_name)) < 0)
			goto out;
		n += r;
	}
	r = n;
out:
	if (dir != NULL)
		closedir(dir);
	if (dfd >= 0)
		close(dfd);
	free(path);
	return r;
}
