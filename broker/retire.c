/* Retirement of static keys from authorized_keys files.
 *
 * The rewrite is done by root, relative to the directory descriptor that
 * discovery validated (owned by the account or root, not writable by group
 * or others, reached without following a link): the temp file is created
 * there with O_EXCL|O_NOFOLLOW, fchowned to the file's owner and group,
 * given the file's mode and renamed over the name in the same directory.
 * No path is resolved again after the checks, so the account cannot steer
 * the write elsewhere; a child switching to the owner's uid would cost a
 * fork per retirement in the broker's event loop and add nothing the
 * pinned directory does not already give. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "authkeys.h"
#include "discover.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "retire.h"

#define BACKUP_NAME_MAX 256u

static bool line_holds_key(const char *line, size_t len, const struct nhi_key *key)
{
	struct nhi_authkey *ak = NULL;
	bool holds;

	if (nhi_authkeys_parse_line(line, len, &ak, NULL) < 0 || ak == NULL)
		return false;
	holds = !ak->opts.cert_authority && nhi_key_equal(ak->key, key);
	nhi_authkey_free(ak);
	return holds;
}

int nhi_authkeys_remove_key(const char *data, size_t len, const struct nhi_key *key, char **ret,
                            size_t *ret_len, size_t *ret_removed)
{
	size_t out = 0, removed = 0, pos = 0;
	char *copy;

	if ((data == NULL && len > 0) || key == NULL || ret == NULL || ret_len == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((copy = malloc(len + 1)) == NULL)
		return NHI_ERR_ALLOC;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t body = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
		size_t whole = nl != NULL ? body + 1 : body;

		if (line_holds_key(data + pos, body, key)) {
			removed++;
		} else {
			memcpy(copy + out, data + pos, whole);
			out += whole;
		}
		pos += whole;
	}
	copy[out] = '\0';
	*ret = copy;
	*ret_len = out;
	if (ret_removed != NULL)
		*ret_removed = removed;
	return 0;
}

static int lookup_account(const char *account, uid_t *ret_uid, char **ret_home)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (getpwnam_r(account, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return NHI_ERR_NOT_FOUND;
	if ((*ret_home = strdup(pw.pw_dir)) == NULL)
		return NHI_ERR_ALLOC;
	*ret_uid = pw.pw_uid;
	return 0;
}

/* "<account>.<fingerprint>" with the fingerprint's '/' and ':' made safe
 * for a file name; the prefix every backup of the key carries. */
static int backup_prefix(const char *account, const char *fingerprint, char *out, size_t size)
{
	int n = snprintf(out, size, "%s.%s", account, fingerprint);

	if (n < 0 || (size_t)n >= size)
		return NHI_ERR_STRING_TOO_LARGE;
	for (char *p = out + strlen(account) + 1; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return 0;
}

/* The retired/ directory, created 0700 and checked to be root's own. */
static int open_retired_dir(struct nhi_broker *b, int *ret_fd)
{
	char *dir = nhi_broker_path(b, NHI_RETIRED_DIR);
	struct stat st;
	int fd, r;

	if (dir == NULL)
		return NHI_ERR_ALLOC;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		nhi_log_error("retire: cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NHI_ERR_SYSTEM;
	}
	r = nhi_open_nofollow(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, &fd);
	if (r == 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	               (st.st_mode & 077) != 0)) {
		nhi_log_error("retire: %s must be a directory of the broker's user, mode 0700",
		              dir);
		close(fd);
		r = NHI_ERR_FILE_UNSAFE;
	}
	free(dir);
	if (r == 0)
		*ret_fd = fd;
	return r;
}

static int write_backup(struct nhi_broker *b, const char *account, const char *fingerprint,
                        const char *data, size_t len)
{
	char prefix[BACKUP_NAME_MAX], name[BACKUP_NAME_MAX], stamp[32];
	time_t now = (time_t)nhi_broker_now();
	struct tm tm;
	int dfd = -1, r, n;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return NHI_ERR_SYSTEM;
	if ((r = backup_prefix(account, fingerprint, prefix, sizeof(prefix))) < 0)
		return r;
	/* The time goes last so that names of one key sort by age. */
	n = snprintf(name, sizeof(name), "%s.%s", prefix, stamp);
	if (n < 0 || (size_t)n >= sizeof(name))
		return NHI_ERR_STRING_TOO_LARGE;
	if ((r = open_retired_dir(b, &dfd)) < 0)
		return r;
	r = nhi_atomic_write_at(dfd, name, data, len, 0600, (uid_t)-1, (gid_t)-1);
	close(dfd);
	return r;
}

/* Opens path of account and reads it: file, directory, contents, stat. */
struct key_file {
	int dirfd, fd;
	const char *name; /* last component of path */
	char *data;
	size_t len;
	struct stat st;
};

static void key_file_clear(struct key_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->data);
	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
}

static int key_file_open(const char *account, const char *path, struct key_file *f)
{
	const char *reason = NULL, *slash = strrchr(path, '/');
	char *home = NULL;
	uid_t uid;
	int r;

	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
	if (slash == NULL || slash[1] == '\0')
		return NHI_ERR_INVALID_ARGUMENT;
	f->name = slash + 1;
	if ((r = lookup_account(account, &uid, &home)) < 0)
		return r;
	r = nhi_discover_open(path, home, uid, &f->dirfd, &f->fd, &reason);
	free(home);
	if (r == NHI_ERR_FILE_UNSAFE)
		nhi_log_warning("retire: not touching %s: %s", path, reason ? reason : "unsafe");
	if (r == 0 && fstat(f->fd, &f->st) < 0)
		r = NHI_ERR_SYSTEM;
	if (r == 0)
		r = nhi_read_fd(f->fd, NHI_DISCOVER_FILE_MAX, &f->data, &f->len);
	return r;
}

/* The name must still be the file read: a file swapped in meanwhile is not
 * replaced by an edit of the old one. */
static int key_file_replace(struct key_file *f, const char *data, size_t len)
{
	struct stat now;

	if (fstatat(f->dirfd, f->name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    now.st_ino != f->st.st_ino || now.st_dev != f->st.st_dev)
		return NHI_ERR_FILE_UNSAFE;
	return nhi_atomic_write_at(f->dirfd, f->name, data, len, f->st.st_mode & 0777, f->st.st_uid,
	                           f->st.st_gid);
}

int nhi_retire_key_in_file(struct nhi_broker *b, const char *account, const char *path,
                           const struct nhi_key *key, size_t *ret_removed)
{
	char fp[NHI_FINGERPRINT_MAX], *kept = NULL;
	struct key_file f;
	size_t kept_len = 0, removed = 0;
	int r;

	*ret_removed = 0;
	if ((r = nhi_key_fingerprint(key, fp)) < 0)
		return r;
	r = key_file_open(account, path, &f);
	if (r == NHI_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r < 0 ||
	    (r = nhi_authkeys_remove_key(f.data, f.len, key, &kept, &kept_len, &removed)) < 0)
		goto out;
	if (removed == 0)
		goto out;
	if ((r = write_backup(b, account, fp, f.data, f.len)) < 0) {
		nhi_log_error("retire: cannot back up %s: %s", path, nhi_strerror(r));
		goto out;
	}
	if ((r = key_file_replace(&f, kept, kept_len)) < 0) {
		nhi_log_error("retire: cannot rewrite %s: %s", path, nhi_strerror(r));
		goto out;
	}
	nhi_log_notice("retire: %s removed from %s (%zu line%s)", fp, path, removed,
	               removed == 1 ? "" : "s");
	*ret_removed = removed;
out:
	free(kept);
	key_file_clear(&f);
	return r;
}

/* The newest backup of fingerprint for account, as a heap copy of its
 * contents. */
static int read_newest_backup(struct nhi_broker *b, const char *account, const char *fingerprint,
                              char **ret, size_t *ret_len)
{
	char prefix[BACKUP_NAME_MAX], best[BACKUP_NAME_MAX] = "";
	static const struct nhi_file_rules rules = {.owner = 0,
	                                            .allow_root_owner = true,
	                                            .forbidden = 077,
	                                            .max_size = NHI_DISCOVER_FILE_MAX};
	struct dirent *de;
	DIR *dir;
	int dfd, fd, r;

	if ((r = backup_prefix(account, fingerprint, prefix, sizeof(prefix))) < 0 ||
	    (r = open_retired_dir(b, &dfd)) < 0)
		return r;
	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return NHI_ERR_SYSTEM;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t pl = strlen(prefix);

		if (strncmp(de->d_name, prefix, pl) == 0 && de->d_name[pl] == '.' &&
		    strlen(de->d_name) < sizeof(best) && strcmp(de->d_name, best) > 0)
			strcpy(best, de->d_name);
	}
	r = best[0] == '\0' ? NHI_ERR_NOT_FOUND : nhi_open_checked(dirfd(dir), best, &rules, &fd);
	closedir(dir);
	if (r < 0)
		return r;
	r = nhi_read_fd(fd, NHI_DISCOVER_FILE_MAX, ret, ret_len);
	close(fd);
	return r;
}

/* The first line of data that holds the key of fingerprint. */
static int find_key_line(const char *data, size_t len, const char *fingerprint,
                         const char **ret_line, size_t *ret_len)
{
	char fp[NHI_FINGERPRINT_MAX];
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t body = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
		struct nhi_authkey *ak = NULL;
		bool match = false;

		if (nhi_authkeys_parse_line(data + pos, body, &ak, NULL) == 0 && ak != NULL &&
		    !ak->opts.cert_authority && nhi_key_fingerprint(ak->key, fp) == 0)
			match = strcmp(fp, fingerprint) == 0;
		nhi_authkey_free(ak);
		if (match) {
			*ret_line = data + pos;
			*ret_len = body;
			return 0;
		}
		pos += nl != NULL ? body + 1 : body;
	}
	return NHI_ERR_NOT_FOUND;
}

int nhi_restore_key_in_file(struct nhi_broker *b, const char *account, const char *path,
                            const char *fingerprint, bool *ret_restored)
{
	char *backup = NULL, *data = NULL;
	size_t backup_len = 0, line_len = 0, len;
	const char *line, *present;
	struct key_file f;
	int r;

	*ret_restored = false;
	memset(&f, 0, sizeof(f));
	f.fd = f.dirfd = -1;
	if ((r = read_newest_backup(b, account, fingerprint, &backup, &backup_len)) < 0 ||
	    (r = find_key_line(backup, backup_len, fingerprint, &line, &line_len)) < 0)
		goto out;
	/* A file removed since is not created again: its directory may be gone. */
	if ((r = key_file_open(account, path, &f)) < 0)
		goto out;
	if (find_key_line(f.data, f.len, fingerprint, &present, &len) == 0)
		goto out;
	if ((data = malloc(f.len + line_len + 2)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	memcpy(data, f.data, f.len);
	len = f.len;
	if (len > 0 && data[len - 1] != '\n')
		data[len++] = '\n';
	memcpy(data + len, line, line_len);
	len += line_len;
	data[len++] = '\n';
	if ((r = key_file_replace(&f, data, len)) < 0) {
		nhi_log_error("restore: cannot rewrite %s: %s", path, nhi_strerror(r));
		goto out;
	}
	nhi_log_notice("restore: %s put back in %s", fingerprint, path);
	*ret_restored = true;
out:
	free(backup);
	free(data);
	key_file_clear(&f);
	return r;
}
