/* Safe file I/O: atomic replacement and opening without following links.
 * Libc only. */
#ifndef NHI_FILEIO_H
#define NHI_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* Replaces path with data: a temp file in the same directory, fsync,
 * fchmod to mode, rename over path, fsync of the directory. On any error
 * path is untouched and the temp file is removed (an error from the final
 * directory fsync is reported after the rename). A link at path itself is
 * replaced, never followed; the directory part is opened as given.
 * Errors: NHI_ERR_NOT_FOUND when the directory is missing, else
 * NHI_ERR_SYSTEM with errno set. */
int nhi_atomic_write(const char *path, const void *data, size_t len, mode_t mode);
/* The same relative to an open directory (no link followed for name). With
 * owner != (uid_t)-1 the new file is chowned to owner:group before rename. */
int nhi_atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			uid_t owner, gid_t group);

/* Writes all of data to fd, retrying short writes and EINTR.
 * Errors: NHI_ERR_SYSTEM with errno set (EIO when write makes no progress). */
int nhi_write_all(int fd, const void *data, size_t len);

/* Opens path walking every component with O_NOFOLLOW (an absolute path
 * from "/", a relative one from dirfd), so no symlink anywhere is followed.
 * flags get O_CLOEXEC|O_NOCTTY added; with O_CREAT the mode is 0600.
 * A symlink or a ".." component: NHI_ERR_FILE_UNSAFE (errno ELOOP/EPERM);
 * a missing component: NHI_ERR_NOT_FOUND (errno ENOENT); else
 * NHI_ERR_SYSTEM with errno set. dirfd is never closed. */
int nhi_open_nofollow(int dirfd, const char *path, int flags, int *ret_fd);

/* What a file must be before a byte of it is trusted. */
struct nhi_file_rules {
	uid_t owner;          /* (uid_t)-1: any */
	bool allow_root_owner;/* root may own it as well as owner */
	mode_t forbidden;     /* mode bits that must be clear, e.g. 022 or 077 */
	off_t max_size;       /* 0: no cap */
};
/* Opens for reading with nhi_open_nofollow, then fstat: a regular file that
 * obeys rules, else NHI_ERR_FILE_UNSAFE / NHI_ERR_FILE_TOO_LARGE. */
int nhi_open_checked(int dirfd, const char *path, const struct nhi_file_rules *rules, int *ret_fd);
/* Reads all of fd (up to max bytes, else NHI_ERR_FILE_TOO_LARGE) into a
 * NUL-terminated heap buffer. */
int nhi_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* nhi_open_checked then nhi_read_fd. */
int nhi_read_file_checked(const char *path, const struct nhi_file_rules *rules, size_t max,
			  char **ret, size_t *ret_len);

#endif
