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

#endif
