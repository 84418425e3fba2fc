/* nss_nhi: passwd and group for broker-managed identities, read from the
 * cache file the broker writes. Never talks to the broker.
 *
 * One process-wide mapping under a mutex. Replacement is noticed by a
 * stat() of the path compared with the mapped file's device, inode, size
 * and mtime; the stat runs at most once per RECHECK_MS of
 * CLOCK_MONOTONIC_COARSE (a vDSO read, no syscall), so a burst of lookups
 * costs one stat and a rewrite is seen within RECHECK_MS. The broker
 * replaces the file by rename, so an old mapping stays valid until it is
 * unmapped here. A missing or bad cache is retried on every call: an
 * open() that fails with ENOENT is cheap, and a repaired cache is seen at
 * once.
 *
 * Enumeration keeps a record index per database; a rewrite during an
 * enumeration continues at the same index in the new file. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "err.h"
#include "names.h"
#include "nsscache.h"

#define NSS_EXPORT __attribute__((visibility("default")))
#define RECHECK_MS 250

/* The entry points glibc looks up by name (no public header declares them). */
NSS_EXPORT enum nss_status _nss_nhi_getpwnam_r(const char *, struct passwd *, char *, size_t,
                                               int *);
NSS_EXPORT enum nss_status _nss_nhi_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
NSS_EXPORT enum nss_status _nss_nhi_setpwent(int);
NSS_EXPORT enum nss_status _nss_nhi_getpwent_r(struct passwd *, char *, size_t, int *);
NSS_EXPORT enum nss_status _nss_nhi_endpwent(void);
NSS_EXPORT enum nss_status _nss_nhi_getgrnam_r(const char *, struct group *, char *, size_t, int *);
NSS_EXPORT enum nss_status _nss_nhi_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
NSS_EXPORT enum nss_status _nss_nhi_setgrent(int);
NSS_EXPORT enum nss_status _nss_nhi_getgrent_r(struct group *, char *, size_t, int *);
NSS_EXPORT enum nss_status _nss_nhi_endgrent(void);
NSS_EXPORT enum nss_status _nss_nhi_initgroups_dyn(const char *, gid_t, long *, long *, gid_t **,
                                                   long, int *);

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nhi_nsscache *cache;
static struct timespec last_check;
static size_t pw_index, gr_index;

static int64_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* With cache_lock held: a usable mapping of the current file, or an error. */
static int cache_ensure(void)
{
	struct nhi_nsscache *fresh = NULL;
	struct timespec now;
	struct stat st;
	int r;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &now) < 0)
		now.tv_sec = now.tv_nsec = 0;
	if (cache && elapsed_ms(&last_check, &now) < RECHECK_MS &&
	    elapsed_ms(&last_check, &now) >= 0)
		return 0;
	if (cache && stat(NHI_NSSCACHE_PATH_DEFAULT, &st) == 0 &&
	    nhi_nsscache_is_current(cache, &st)) {
		last_check = now;
		return 0;
	}
	r = nhi_nsscache_open(NHI_NSSCACHE_PATH_DEFAULT, &fresh);
	/* A vanished or broken file means the source is down: drop the old
	 * mapping too, rather than serve accounts the broker may have removed. */
	nhi_nsscache_close(cache);
	cache = fresh;
	last_check = now;
	return r < 0 ? r : 0;
}

static enum nss_status to_status(int r, int *errnop)
{
	switch (r) {
	case 0:
		return NSS_STATUS_SUCCESS;
	case NHI_ERR_NOT_FOUND:
		return NSS_STATUS_NOTFOUND;
	case NHI_ERR_RESULT_TOO_LARGE:
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	default:
		*errnop = ENOENT;
		return NSS_STATUS_UNAVAIL;
	}
}

enum lookup { BY_NAME, BY_ID, BY_INDEX };

static enum nss_status pw_lookup(enum lookup how, const char *name, uid_t uid, size_t *index,
                                 struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	int saved = errno, r;
	enum nss_status s;

	if (how == BY_NAME && (!name || !nhi_name_is_valid(name)))
		return NSS_STATUS_NOTFOUND;
	pthread_mutex_lock(&cache_lock);
	r = cache_ensure();
	if (r == 0) {
		if (how == BY_NAME)
			r = nhi_nsscache_getpwnam(cache, name, pw, buf, buflen);
		else if (how == BY_ID)
			r = nhi_nsscache_getpwuid(cache, (uint32_t)uid, pw, buf, buflen);
		else
			r = nhi_nsscache_getpwent(cache, *index, pw, buf, buflen);
		if (r == 0 && how == BY_INDEX)
			(*index)++;
	} else {
		r = r == NHI_ERR_NOT_FOUND ? NHI_ERR_CACHE_CORRUPT : r; /* no file: UNAVAIL */
	}
	pthread_mutex_unlock(&cache_lock);
	/* glibc passes &errno as errnop: restore errno first, then report. */
	errno = saved;
	s = to_status(r, errnop);
	if (s == NSS_STATUS_NOTFOUND && how == BY_INDEX)
		*errnop = ENOENT;
	return s;
}

static enum nss_status gr_lookup(enum lookup how, const char *name, gid_t gid, size_t *index,
                                 struct group *gr, char *buf, size_t buflen, int *errnop)
{
	int saved = errno, r;
	enum nss_status s;

	if (how == BY_NAME && (!name || !nhi_name_is_valid(name)))
		return NSS_STATUS_NOTFOUND;
	pthread_mutex_lock(&cache_lock);
	r = cache_ensure();
	if (r == 0) {
		if (how == BY_NAME)
			r = nhi_nsscache_getgrnam(cache, name, gr, buf, buflen);
		else if (how == BY_ID)
			r = nhi_nsscache_getgrgid(cache, (uint32_t)gid, gr, buf, buflen);
		else
			r = nhi_nsscache_getgrent(cache, *index, gr, buf, buflen);
		if (r == 0 && how == BY_INDEX)
			(*index)++;
	} else {
		r = r == NHI_ERR_NOT_FOUND ? NHI_ERR_CACHE_CORRUPT : r;
	}
	pthread_mutex_unlock(&cache_lock);
	/* glibc passes &errno as errnop: restore errno first, then report. */
	errno = saved;
	s = to_status(r, errnop);
	if (s == NSS_STATUS_NOTFOUND && how == BY_INDEX)
		*errnop = ENOENT;
	return s;
}

NSS_EXPORT enum nss_status _nss_nhi_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                               size_t buflen, int *errnop)
{
	return pw_lookup(BY_NAME, name, 0, NULL, pw, buf, buflen, errnop);
}

NSS_EXPORT enum nss_status _nss_nhi_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
                                               size_t buflen, int *errnop)
{
	return pw_lookup(BY_ID, NULL, uid, NULL, pw, buf, buflen, errnop);
}

/* set*ent and end*ent both start the enumeration over. */
static enum nss_status rewind_enumeration(size_t *index)
{
	pthread_mutex_lock(&cache_lock);
	*index = 0;
	pthread_mutex_unlock(&cache_lock);
	return NSS_STATUS_SUCCESS;
}

NSS_EXPORT enum nss_status _nss_nhi_setpwent(int stayopen)
{
	(void)stayopen;
	return rewind_enumeration(&pw_index);
}

NSS_EXPORT enum nss_status _nss_nhi_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
                                               int *errnop)
{
	/* pw_index is read and advanced under cache_lock inside pw_lookup. */
	return pw_lookup(BY_INDEX, NULL, 0, &pw_index, pw, buf, buflen, errnop);
}

NSS_EXPORT enum nss_status _nss_nhi_endpwent(void)
{
	return rewind_enumeration(&pw_index);
}

NSS_EXPORT enum nss_status _nss_nhi_getgrnam_r(const char *name, struct group *gr, char *buf,
                                               size_t buflen, int *errnop)
{
	return gr_lookup(BY_NAME, name, 0, NULL, gr, buf, buflen, errnop);
}

NSS_EXPORT enum nss_status _nss_nhi_getgrgid_r(gid_t gid, struct group *gr, char *buf,
                                               size_t buflen, int *errnop)
{
	return gr_lookup(BY_ID, NULL, gid, NULL, gr, buf, buflen, errnop);
}

NSS_EXPORT enum nss_status _nss_nhi_setgrent(int stayopen)
{
	(void)stayopen;
	return rewind_enumeration(&gr_index);
}

NSS_EXPORT enum nss_status _nss_nhi_getgrent_r(struct group *gr, char *buf, size_t buflen,
                                               int *errnop)
{
	return gr_lookup(BY_INDEX, NULL, 0, &gr_index, gr, buf, buflen, errnop);
}

NSS_EXPORT enum nss_status _nss_nhi_endgrent(void)
{
	return rewind_enumeration(&gr_index);
}

/* Appends gid to (*groupsp)[*start..], growing the array as glibc's
 * contract allows (never beyond limit when limit > 0). Skips duplicates. */
static int add_gid(gid_t gid, long *start, long *size, gid_t **groupsp, long limit)
{
	for (long i = 0; i < *start; i++)
		if ((*groupsp)[i] == gid)
			return 0;
	if (*start == *size) {
		long n = *size > 0 ? *size * 2 : 8;
		gid_t *g;

		if (limit > 0 && *size >= limit)
			return NHI_ERR_TOO_MANY;
		if (limit > 0 && n > limit)
			n = limit;
		g = realloc(*groupsp, (size_t)n * sizeof(gid_t));
		if (!g)
			return NHI_ERR_ALLOC;
		*groupsp = g;
		*size = n;
	}
	(*groupsp)[(*start)++] = gid;
	return 0;
}

NSS_EXPORT enum nss_status _nss_nhi_initgroups_dyn(const char *user, gid_t group, long *start,
                                                   long *size, gid_t **groupsp, long limit,
                                                   int *errnop)
{
	int saved = errno, err = 0, r;
	enum nss_status s = NSS_STATUS_NOTFOUND;
	size_t cursor = 0;
	uint32_t gid;

	if (!user || !nhi_name_is_valid(user))
		return NSS_STATUS_NOTFOUND;
	pthread_mutex_lock(&cache_lock);
	r = cache_ensure();
	if (r < 0) {
		err = ENOENT;
		s = NSS_STATUS_UNAVAIL;
		goto out;
	}
	while ((r = nhi_nsscache_next_group_of(cache, user, &cursor, &gid)) == 0) {
		if ((gid_t)gid == group)
			continue;
		r = add_gid((gid_t)gid, start, size, groupsp, limit);
		if (r == NHI_ERR_TOO_MANY) {
			s = NSS_STATUS_SUCCESS; /* the caller's limit: what fits is the answer */
			break;
		}
		if (r < 0) {
			err = ENOMEM;
			s = NSS_STATUS_TRYAGAIN;
			goto out;
		}
		s = NSS_STATUS_SUCCESS;
	}
	if (r == NHI_ERR_CACHE_CORRUPT) {
		err = ENOENT;
		s = NSS_STATUS_UNAVAIL;
	}
out:
	pthread_mutex_unlock(&cache_lock);
	errno = saved;
	if (err)
		*errnop = err;
	return s;
}
