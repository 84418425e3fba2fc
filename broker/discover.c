#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover.h"
#include "err.h"
#include "log.h"
#include "sshkey.h"

int nhi_discover_expand(const char *pattern, const char *home, const char *account, char **ret)
{
	size_t len = 0, cap = NHI_DISCOVER_PATH_MAX;
	char *out = malloc(cap);
	const char *add;
	int r = 0;

	*ret = NULL;
	if (out == NULL)
		return NHI_ERR_ALLOC;
	for (const char *p = pattern; *p != '\0' && r == 0; p++) {
		char one[2] = {*p, '\0'};

		add = one;
		if (*p == '%') {
			p++;
			if (*p == 'h')
				add = home;
			else if (*p == 'u')
				add = account;
			else if (*p == '%')
				add = "%";
			else
				r = NHI_ERR_INVALID_FORMAT;
		}
		if (r == 0 && strlen(add) >= cap - len)
			r = NHI_ERR_STRING_TOO_LARGE;
		if (r == 0) {
			memcpy(out + len, add, strlen(add));
			len += strlen(add);
		}
	}
	if (r < 0) {
		free(out);
		return r;
	}
	out[len] = '\0';
	*ret = out;
	return 0;
}

static int add_finding(struct nhi_discovery *d, const char *path, unsigned line, const char *reason)
{
	struct nhi_discover_finding *grown;
	char buf[256];

	nhi_log_warning("static keys: %s%s%u: skipped: %s",
	                nhi_log_sanitize(path, buf, sizeof(buf)), line ? ":" : "", line, reason);
	if (d->n_findings >= NHI_DISCOVER_FINDINGS_MAX) {
		d->n_findings_dropped++;
		return 0;
	}
	grown = realloc(d->findings, (d->n_findings + 1) * sizeof(*grown));
	if (grown == NULL)
		return NHI_ERR_ALLOC;
	d->findings = grown;
	if ((grown[d->n_findings].path = strdup(path)) == NULL)
		return NHI_ERR_ALLOC;
	grown[d->n_findings].line = line;
	grown[d->n_findings].reason = reason;
	d->n_findings++;
	return 0;
}

/* Owned by the account or root, not writable by group or others. */
static bool owner_mode_ok(const struct stat *st, uid_t uid)
{
	return (st->st_uid == uid || st->st_uid == 0) && (st->st_mode & 022) == 0;
}

/* The broker reads as root; sshd would read as the account. Only what the
 * account could read itself is read. */
static bool readable_by(const struct stat *st, uid_t uid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & S_IRUSR) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

/* Below (or at) the home directory: sshd's StrictModes apply. */
static bool in_home(const char *sofar, size_t len, const char *home)
{
	size_t hl = strlen(home);

	while (hl > 1 && home[hl - 1] == '/')
		hl--;
	return len >= hl && strncmp(sofar, home, hl) == 0 &&
	       (sofar[hl] == '/' || sofar[hl] == '\0');
}

/* Opens path for reading without following any symlink. 0 and *ret_fd (and
 * the directory holding it in *ret_dirfd unless NULL), or NHI_ERR_NOT_FOUND
 * (missing: not a finding), or NHI_ERR_FILE_UNSAFE with *ret_reason set. */
static int open_safely(const char *path, const char *home, uid_t uid, int *ret_dirfd, int *ret_fd,
                       const char **ret_reason)
{
	char sofar[NHI_DISCOVER_PATH_MAX + 1] = "", comp[NHI_DISCOVER_PATH_MAX + 1];
	const char *p = path, *end;
	size_t len = 0;
	struct stat st;
	int fd, dirfd = -1, next, r;

	*ret_fd = -1;
	if (ret_dirfd != NULL)
		*ret_dirfd = -1;
	if (path[0] != '/') {
		*ret_reason = "not an absolute path";
		return NHI_ERR_FILE_UNSAFE;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NHI_ERR_SYSTEM;
	for (;;) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		if (end == p) {
			r = NHI_ERR_FILE_UNSAFE;
			*ret_reason = "the path names a directory";
			goto out;
		}
		memcpy(comp, p, (size_t)(end - p));
		comp[end - p] = '\0';
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			r = NHI_ERR_FILE_UNSAFE;
			*ret_reason = "'.' or '..' in the path";
			goto out;
		}
		sofar[len++] = '/';
		memcpy(sofar + len, comp, (size_t)(end - p) + 1);
		len += (size_t)(end - p);
		while (*end == '/')
			end++;
		if (*end == '\0')
			break;
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			r = errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_FILE_UNSAFE;
			*ret_reason = errno == ELOOP || errno == ENOTDIR
			                      ? "a symlink or non-directory in the path"
			                      : "a directory in the path cannot be opened";
			goto out;
		}
		close(fd);
		fd = next;
		if (fstat(fd, &st) < 0) {
			r = NHI_ERR_SYSTEM;
			goto out;
		}
		if (in_home(sofar, len, home) && !owner_mode_ok(&st, uid)) {
			r = NHI_ERR_FILE_UNSAFE;
			*ret_reason = "a directory in the path has a bad owner or mode";
			goto out;
		}
		p = end;
	}
	next = openat(fd, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (next < 0) {
		r = errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_FILE_UNSAFE;
		*ret_reason =
		        errno == ELOOP ? "the file is a symlink" : "the file cannot be opened";
		goto out;
	}
	dirfd = fd;
	fd = next;
	if (fstat(fd, &st) < 0) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = NHI_ERR_FILE_UNSAFE;
		*ret_reason = "not a regular file";
	} else if (!owner_mode_ok(&st, uid)) {
		r = NHI_ERR_FILE_UNSAFE;
		*ret_reason = "the file has a bad owner or mode";
	} else if (st.st_nlink != 1) {
		/* A hard link could bring in a file the account cannot read. */
		r = NHI_ERR_FILE_UNSAFE;
		*ret_reason = "the file has more than one hard link";
	} else if (!readable_by(&st, uid)) {
		r = NHI_ERR_FILE_UNSAFE;
		*ret_reason = "the account could not read the file itself";
	} else if (st.st_size > (off_t)NHI_DISCOVER_FILE_MAX) {
		r = NHI_ERR_FILE_TOO_LARGE;
		*ret_reason = "the file is too large";
	} else {
		*ret_fd = fd;
		fd = -1;
		if (ret_dirfd != NULL) {
			*ret_dirfd = dirfd;
			dirfd = -1;
		}
		r = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

int nhi_discover_open(const char *path, const char *home, uid_t uid, int *ret_dirfd, int *ret_fd,
                      const char **ret_reason)
{
	const char *reason = NULL;
	int r = open_safely(path, home, uid, ret_dirfd, ret_fd, &reason);

	if (ret_reason != NULL)
		*ret_reason = reason;
	return r;
}

/* Reads at most NHI_DISCOVER_FILE_MAX bytes; more (a file that grew) is an error. */
static int read_capped(int fd, char **ret, size_t *ret_len)
{
	char *buf = malloc(NHI_DISCOVER_FILE_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (buf == NULL)
		return NHI_ERR_ALLOC;
	while (len <= NHI_DISCOVER_FILE_MAX) {
		n = read(fd, buf + len, NHI_DISCOVER_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NHI_ERR_SYSTEM;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > NHI_DISCOVER_FILE_MAX) {
		free(buf);
		return NHI_ERR_FILE_TOO_LARGE;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int add_key(struct nhi_discovery *d, const char *path, unsigned line, struct nhi_authkey *ak)
{
	struct nhi_found_key *grown = realloc(d->keys, (d->n_keys + 1) * sizeof(*grown));

	if (grown == NULL)
		return NHI_ERR_ALLOC;
	d->keys = grown;
	if ((grown[d->n_keys].path = strdup(path)) == NULL)
		return NHI_ERR_ALLOC;
	grown[d->n_keys].line = line;
	grown[d->n_keys].ak = ak;
	grown[d->n_keys].weak = nhi_key_policy(ak->key, NULL) != NHI_KEY_ACCEPTABLE;
	d->n_keys++;
	return 0;
}

static int read_file(struct nhi_discovery *d, const char *path)
{
	const char *reason = NULL;
	char *data = NULL;
	size_t len = 0, off = 0;
	unsigned line = 0;
	int fd = -1, r;

	r = open_safely(path, d->home, d->uid, NULL, &fd, &reason);
	if (r == NHI_ERR_NOT_FOUND)
		return 0;
	if (r == NHI_ERR_FILE_UNSAFE || r == NHI_ERR_FILE_TOO_LARGE)
		return add_finding(d, path, 0, reason);
	if (r < 0)
		return add_finding(d, path, 0, "the file cannot be read");
	r = read_capped(fd, &data, &len);
	close(fd);
	if (r == NHI_ERR_FILE_TOO_LARGE)
		return add_finding(d, path, 0, "the file is too large");
	if (r < 0)
		return r;
	if (memchr(data, '\0', len) != NULL) {
		r = add_finding(d, path, 0, "binary data (a NUL byte)");
		goto out;
	}
	while (off < len && r == 0) {
		const char *s = data + off, *nl = memchr(s, '\n', len - off);
		size_t ll = nl != NULL ? (size_t)(nl - s) : len - off;
		struct nhi_authkey *ak = NULL;

		off += ll + (nl != NULL);
		if (++line > NHI_DISCOVER_LINES_MAX) {
			r = add_finding(d, path, line, "too many lines: the rest is ignored");
			break;
		}
		if (ll >= NHI_AUTHKEYS_LINE_MAX) {
			r = add_finding(d, path, line, "line too long");
			continue;
		}
		if (nhi_authkeys_parse_line(s, ll, &ak, &reason) < 0) {
			r = add_finding(d, path, line, reason != NULL ? reason : "unparsable line");
			continue;
		}
		if (ak == NULL)
			continue;
		if ((r = add_key(d, path, line, ak)) < 0)
			nhi_authkey_free(ak);
	}
out:
	free(data);
	return r;
}

int nhi_discover_account(const struct nhi_config *cfg, const char *account,
                         struct nhi_discovery *ret)
{
	struct passwd pw, *found = NULL;
	char pwbuf[16384], *path = NULL;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	errno = 0;
	if (getpwnam_r(account, &pw, pwbuf, sizeof(pwbuf), &found) != 0 || found == NULL)
		return errno == 0 || errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	ret->uid = pw.pw_uid;
	if (pw.pw_dir == NULL || pw.pw_dir[0] != '/')
		return add_finding(ret, pw.pw_dir != NULL ? pw.pw_dir : "", 0,
		                   "the home directory is not an absolute path");
	if ((ret->home = strdup(pw.pw_dir)) == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < cfg->n_key_files && r == 0; i++) {
		r = nhi_discover_expand(cfg->key_files[i], ret->home, account, &path);
		if (r == 0 && path[0] != '/') {
			char *abs = NULL;

			if (asprintf(&abs, "%s/%s", ret->home, path) < 0)
				r = NHI_ERR_ALLOC;
			free(path);
			path = abs;
		}
		if (r == 0 && strlen(path) >= NHI_DISCOVER_PATH_MAX)
			r = add_finding(ret, cfg->key_files[i], 0, "the path is too long");
		else if (r == 0)
			r = read_file(ret, path);
		else if (r != NHI_ERR_ALLOC)
			r = add_finding(ret, cfg->key_files[i], 0,
			                "the key file pattern is invalid");
		free(path);
		path = NULL;
	}
	if (r < 0)
		nhi_discovery_clear(ret);
	return r;
}

void nhi_discovery_clear(struct nhi_discovery *d)
{
	for (size_t i = 0; i < d->n_keys; i++) {
		free(d->keys[i].path);
		nhi_authkey_free(d->keys[i].ak);
	}
	for (size_t i = 0; i < d->n_findings; i++)
		free(d->findings[i].path);
	free(d->keys);
	free(d->findings);
	free(d->home);
	memset(d, 0, sizeof(*d));
}
