#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

#define TEMP_TRIES 16

/* ELOOP means O_NOFOLLOW met a link; the caller learns "unsafe", not a
 * generic system error. errno is kept for the message. */
static int err_from_errno(int e)
{
	switch (e) {
	case ELOOP:
		return NHI_ERR_FILE_UNSAFE;
	case ENOENT:
		return NHI_ERR_NOT_FOUND;
	case ENOMEM:
		return NHI_ERR_ALLOC;
	default:
		return NHI_ERR_SYSTEM;
	}
}

static void close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* After ENOTDIR or ELOOP from an O_NOFOLLOW open: was it a symlink? Linux
 * reports ENOTDIR, not ELOOP, when O_DIRECTORY meets a link. */
static int classify_open_error(int dirfd, const char *name, int e)
{
	struct stat st;

	if ((e == ENOTDIR || e == ELOOP) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return NHI_ERR_FILE_UNSAFE;
	}
	errno = e;
	return err_from_errno(e);
}

int nhi_open_nofollow(int dirfd, const char *path, int flags, int *ret_fd)
{
	char comp[NAME_MAX + 1];
	const char *p, *end;
	int cur = dirfd, fd = -1, r;
	size_t n;

	if (path == NULL || *path == '\0' || ret_fd == NULL)
		return NHI_ERR_INVALID_ARGUMENT;

	if (*path == '/') {
		cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur < 0)
			return err_from_errno(errno);
	}

	p = path;
	for (;;) {
		while (*p == '/')
			p++;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			r = NHI_ERR_SYSTEM;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		while (*end == '/')
			end++;
		if (n == 0)
			strcpy(comp, "."); /* "/" alone, or a path of slashes */
		/* ".." could climb out of a directory the caller pinned. */
		if (strcmp(comp, "..") == 0) {
			errno = EPERM;
			r = NHI_ERR_FILE_UNSAFE;
			goto out;
		}
		if (*end == '\0')
			break;

		/* O_PATH: a directory we may search but not read can still be
		 * crossed. */
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = classify_open_error(cur, comp, errno);
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = fd;
		fd = -1;
		p = end;
	}

	/* Created files get 0600; callers fchmod what they need. */
	fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = classify_open_error(cur, comp, errno);
		goto out;
	}
	if (flags & O_PATH) {
		struct stat st;

		/* O_PATH|O_NOFOLLOW opens a link itself instead of failing. */
		if (fstat(fd, &st) < 0) {
			r = err_from_errno(errno);
			close_keep_errno(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			errno = ELOOP;
			r = NHI_ERR_FILE_UNSAFE;
			goto out;
		}
	}
	*ret_fd = fd;
	r = 0;
out:
	if (cur != dirfd)
		close_keep_errno(cur);
	return r;
}

int nhi_open_checked(int dirfd, const char *path, const struct nhi_file_rules *rules, int *ret_fd)
{
	struct stat st;
	int fd = -1, fl, r;

	if (ret_fd == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	/* O_NONBLOCK: opening a FIFO for reading must not hang before fstat
	 * has a chance to refuse it. */
	r = nhi_open_nofollow(dirfd, path, O_RDONLY | O_NONBLOCK, &fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	if (rules != NULL) {
		if (rules->owner != (uid_t)-1 && st.st_uid != rules->owner &&
		    !(rules->allow_root_owner && st.st_uid == 0)) {
			r = NHI_ERR_FILE_UNSAFE;
			goto out;
		}
		if ((st.st_mode & rules->forbidden) != 0) {
			r = NHI_ERR_FILE_UNSAFE;
			goto out;
		}
		if (rules->max_size > 0 && st.st_size > rules->max_size) {
			r = NHI_ERR_FILE_TOO_LARGE;
			goto out;
		}
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	close_keep_errno(fd);
	return r;
}

/* The file may be a key: scrub every copy we drop. */
static void free_scrubbed(char *p, size_t len)
{
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
	}
}

int nhi_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	char *data = NULL, *bigger;
	size_t alloc, len = 0;
	ssize_t n;
	int r;

	if (fd < 0 || ret == NULL || max >= SIZE_MAX - 1)
		return NHI_ERR_INVALID_ARGUMENT;

	/* Size the buffer from fstat when we can; the loop still caps at
	 * max, since a file can grow while we read it. */
	alloc = 4096;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
	    (uintmax_t)st.st_size < max)
		alloc = (size_t)st.st_size + 1;
	if (alloc > max + 1)
		alloc = max + 1;
	if ((data = malloc(alloc + 1)) == NULL)
		return NHI_ERR_ALLOC;

	for (;;) {
		if (len == alloc) {
			size_t nalloc;

			if (alloc > max) {
				r = NHI_ERR_FILE_TOO_LARGE;
				goto out;
			}
			nalloc = alloc > (max + 1) / 2 ? max + 1 : alloc * 2;
			if ((bigger = malloc(nalloc + 1)) == NULL) {
				r = NHI_ERR_ALLOC;
				goto out;
			}
			memcpy(bigger, data, len);
			free_scrubbed(data, alloc + 1);
			data = bigger;
			alloc = nalloc;
		}
		n = read(fd, data + len, alloc - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = err_from_errno(errno);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = NHI_ERR_FILE_TOO_LARGE;
			goto out;
		}
	}
	data[len] = '\0';
	*ret = data;
	if (ret_len != NULL)
		*ret_len = len;
	data = NULL;
	r = 0;
out:
	free_scrubbed(data, alloc + 1);
	return r;
}

int nhi_read_file_checked(const char *path, const struct nhi_file_rules *rules, size_t max,
			  char **ret, size_t *ret_len)
{
	int fd = -1, r;

	if ((r = nhi_open_checked(AT_FDCWD, path, rules, &fd)) < 0)
		return r;
	r = nhi_read_fd(fd, max, ret, ret_len);
	close_keep_errno(fd);
	return r;
}

int nhi_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_from_errno(errno);
		}
		if (n == 0) {
			errno = EIO;
			return NHI_ERR_SYSTEM;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool name_is_plain(const char *name)
{
	return name != NULL && *name != '\0' && strchr(name, '/') == NULL &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && strlen(name) <= NAME_MAX;
}

/* ".<name>.<16 hex>": hidden, and unguessable so another user cannot
 * pre-create it. The name part is cut to keep within NAME_MAX. */
static int temp_name(const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[8];
	char suffix[2 * sizeof(rnd) + 1];
	size_t i;
	int n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return NHI_ERR_SYSTEM;
	for (i = 0; i < sizeof(rnd); i++) {
		suffix[2 * i] = hex[rnd[i] >> 4];
		suffix[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	suffix[2 * sizeof(rnd)] = '\0';
	n = snprintf(out, outlen, ".%.*s.%s", (int)(NAME_MAX - 2 - sizeof(suffix) + 1), name,
		     suffix);
	if (n < 0 || (size_t)n >= outlen)
		return NHI_ERR_INTERNAL;
	return 0;
}

int nhi_atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			uid_t owner, gid_t group)
{
	char tmp[NAME_MAX + 1];
	int fd = -1, dfd = -1, r, i;
	bool created = false;

	if (!name_is_plain(name) || (data == NULL && len > 0))
		return NHI_ERR_INVALID_ARGUMENT;

	for (i = 0; i < TEMP_TRIES; i++) {
		if ((r = temp_name(name, tmp, sizeof(tmp))) < 0)
			goto out;
		fd = openat(dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	created = true;

	if ((r = nhi_write_all(fd, data, len)) < 0)
		goto out;
	/* chown before chmod: chown clears set-id bits. */
	if (owner != (uid_t)-1 && fchown(fd, owner, group) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	if (fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = err_from_errno(errno);
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	created = false;

	/* The rename is durable only once the directory is. dirfd may be an
	 * O_PATH descriptor, which fsync refuses, so reopen it for reading. */
	dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || (fsync(dfd) < 0 && errno != EINVAL)) {
		r = err_from_errno(errno);
		goto out;
	}
	r = 0;
out:
	close_keep_errno(fd);
	close_keep_errno(dfd);
	if (created) {
		int saved = errno;

		unlinkat(dirfd, tmp, 0);
		errno = saved;
	}
	return r;
}

int nhi_atomic_write(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *slash, *name;
	char *dir = NULL;
	int dfd = -1, r;

	if (path == NULL || *path == '\0')
		return NHI_ERR_INVALID_ARGUMENT;
	slash = strrchr(path, '/');
	if (slash == NULL) {
		name = path;
		dir = strdup(".");
	} else {
		name = slash + 1;
		/* "/x" lives in "/"; otherwise the directory is what precedes. */
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	}
	if (dir == NULL)
		return NHI_ERR_ALLOC;
	if (!name_is_plain(name)) {
		r = NHI_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* The directory is the admin's choice (it may be a link to another
	 * disk); the file name itself is never followed. Callers that must not
	 * follow links anywhere use nhi_open_nofollow and nhi_atomic_write_at. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	r = nhi_atomic_write_at(dfd, name, data, len, mode, (uid_t)-1, (gid_t)-1);
out:
	close_keep_errno(dfd);
	free(dir);
	return r;
}
