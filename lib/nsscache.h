/* The NSS cache file: passwd and group records of broker-managed accounts,
 * written by the broker (nhid), mmap'd read-only by nss_nhi. Libc only, so
 * that the module can link it.
 *
 * The format (header with magic, version, generation, sizes, checksum;
 * records; name and id indexes) is described where it is implemented, in
 * nsscache.c; this header is its writer's contract and its reader's API. */
#ifndef NHI_NSSCACHE_H
#define NHI_NSSCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#define NHI_NSSCACHE_PATH_DEFAULT "/var/lib/nhi/nss.cache"

struct nhi_nss_user {
	const char *name;
	uint32_t uid, gid; /* gid: the primary group */
	const char *gecos, *home, *shell;
};

struct nhi_nss_group {
	const char *name;
	uint32_t gid;
	const char *const *members; /* user names */
	size_t n_members;
};

/* Builds the cache image for users and groups in memory (*ret_image is the
 * caller's to free). generation should grow with every rewrite. Names and
 * strings are checked (no ':' or newline, non-empty names, lengths capped);
 * a duplicate user name, uid, group name or gid is NHI_ERR_EXISTS. */
int nhi_nsscache_build(uint64_t generation, const struct nhi_nss_user *users, size_t n_users,
                       const struct nhi_nss_group *groups, size_t n_groups, uint8_t **ret_image,
                       size_t *ret_len);

/* Builds the image and replaces path atomically: a temp file in the same
 * directory, written, fsync'd, mode 0644, renamed over path, directory
 * fsync'd. A reader sees the old file or the new one, never a mix. */
int nhi_nsscache_write(const char *path, uint64_t generation, const struct nhi_nss_user *users,
                       size_t n_users, const struct nhi_nss_group *groups, size_t n_groups);

/* The generation in path's header, for a writer that must make the next
 * one larger: the header alone is read (magic, version, header length and
 * file length against the file's size), not the whole file and its
 * checksum, which at 100 000 accounts costs tens of milliseconds. A missing
 * file is NHI_ERR_NOT_FOUND, another shape NHI_ERR_CACHE_CORRUPT. */
int nhi_nsscache_read_generation(const char *path, uint64_t *ret_generation);

/* The reader. Lookups never allocate: they copy into the caller's struct
 * and buffer. Errors: NHI_ERR_NOT_FOUND (no such entry),
 * NHI_ERR_RESULT_TOO_LARGE (buflen too small: retry with a larger buffer),
 * NHI_ERR_CACHE_CORRUPT (a record that fails its bounds checks). */
struct nhi_nsscache;

/* Opens path (no symlink followed, a regular file), maps it and validates
 * the header, every section's bounds and the checksum. A missing file is
 * NHI_ERR_NOT_FOUND, a bad one NHI_ERR_CACHE_CORRUPT or
 * NHI_ERR_CACHE_VERSION, else NHI_ERR_SYSTEM with errno set. */
int nhi_nsscache_open(const char *path, struct nhi_nsscache **ret_cache);
/* The same over an image in memory, which must outlive the handle. */
int nhi_nsscache_from_memory(const void *data, size_t len, struct nhi_nsscache **ret_cache);
void nhi_nsscache_close(struct nhi_nsscache *cache);

/* True when st (a stat() of the path) names the file this handle mapped. */
int nhi_nsscache_is_current(const struct nhi_nsscache *cache, const struct stat *st);
uint64_t nhi_nsscache_generation(const struct nhi_nsscache *cache);
size_t nhi_nsscache_user_count(const struct nhi_nsscache *cache);
size_t nhi_nsscache_group_count(const struct nhi_nsscache *cache);

int nhi_nsscache_getpwnam(const struct nhi_nsscache *cache, const char *name, struct passwd *pw,
                          char *buf, size_t buflen);
int nhi_nsscache_getpwuid(const struct nhi_nsscache *cache, uint32_t uid, struct passwd *pw,
                          char *buf, size_t buflen);
/* Record index in file order, 0..user_count-1; NHI_ERR_NOT_FOUND past the end. */
int nhi_nsscache_getpwent(const struct nhi_nsscache *cache, size_t index, struct passwd *pw,
                          char *buf, size_t buflen);
int nhi_nsscache_getgrnam(const struct nhi_nsscache *cache, const char *name, struct group *gr,
                          char *buf, size_t buflen);
int nhi_nsscache_getgrgid(const struct nhi_nsscache *cache, uint32_t gid, struct group *gr,
                          char *buf, size_t buflen);
int nhi_nsscache_getgrent(const struct nhi_nsscache *cache, size_t index, struct group *gr,
                          char *buf, size_t buflen);

/* The groups that list user as a member, for initgroups: start with
 * *cursor = 0 and call until NHI_ERR_NOT_FOUND; each call yields one gid. */
int nhi_nsscache_next_group_of(const struct nhi_nsscache *cache, const char *user, size_t *cursor,
                               uint32_t *ret_gid);

#endif
