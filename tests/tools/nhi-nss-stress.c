/* nhi-nss-stress NAME UID SECONDS [PREFIX STOPFILE]: 16 threads look NAME
 * up by name and UID by id through glibc (getpwnam_r, getpwuid_r,
 * getgrouplist) for SECONDS, for the nss_nhi tests that rewrite the cache
 * meanwhile. Every lookup must find the account with the right name and id;
 * prints the lookup count and exits 1 on any wrong or failed answer.
 *
 * With STOPFILE, the run ends early once STOPFILE exists, and the threads
 * pause between lookups to leave the writer CPU. With a PREFIX that is not
 * empty, the account's gecos must read PREFIX followed by a number that
 * never goes down within a thread: each answer is the old or the new truth,
 * never a torn or mixed record; the highest number seen is printed. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 16

static const char *name;
static uid_t uid;
static time_t deadline;
static const char *gecos_prefix, *stop_file;
static atomic_long lookups, failures, highest;

/* The generation in a gecos of PREFIX<number>, or -1. */
static long gecos_generation(const char *gecos)
{
	size_t n = strlen(gecos_prefix);
	char *end;
	long g;

	if (strncmp(gecos, gecos_prefix, n) != 0 || gecos[n] < '0' || gecos[n] > '9')
		return -1;
	errno = 0;
	g = strtol(gecos + n, &end, 10);
	return errno == 0 && *end == '\0' ? g : -1;
}

static bool keep_going(void)
{
	if (time(NULL) >= deadline)
		return false;
	return stop_file == NULL || access(stop_file, F_OK) != 0;
}

/* Checks the answer's generation against the last one this thread saw. */
static void check_generation(const struct passwd *pw, long *last)
{
	long g = gecos_generation(pw->pw_gecos);

	if (g < 0 || g < *last) {
		fprintf(stderr, "%s: gecos '%s' after generation %ld\n", pw->pw_name, pw->pw_gecos,
		        *last);
		atomic_fetch_add(&failures, 1);
		return;
	}
	*last = g;
	for (long h = atomic_load(&highest); g > h;)
		if (atomic_compare_exchange_weak(&highest, &h, g))
			break;
}

static void *worker(void *arg)
{
	char buf[1024];
	struct passwd pw, *res;
	gid_t groups[64];
	long last = 0;
	int ng, r;

	(void)arg;
	while (keep_going()) {
		r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
		if (r != 0 || !res || pw.pw_uid != uid) {
			fprintf(stderr, "getpwnam_r(%s): r=%d found=%d\n", name, r, res != NULL);
			atomic_fetch_add(&failures, 1);
		} else if (gecos_prefix) {
			check_generation(&pw, &last);
		}
		r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
		if (r != 0 || !res || strcmp(pw.pw_name, name) != 0) {
			fprintf(stderr, "getpwuid_r(%u): r=%d found=%d\n", (unsigned)uid, r,
			        res != NULL);
			atomic_fetch_add(&failures, 1);
		} else if (gecos_prefix) {
			check_generation(&pw, &last);
		}
		ng = 64;
		if (getgrouplist(name, (gid_t)uid, groups, &ng) < 1) {
			fprintf(stderr, "getgrouplist(%s) failed\n", name);
			atomic_fetch_add(&failures, 1);
		}
		atomic_fetch_add(&lookups, 3);
		/* Leave the writer some CPU: the point is overlap, not load.
		 * At 2 ms the 16 threads still make thousands of lookups a
		 * second, many during each rewrite, on two cores. */
		if (stop_file)
			nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: nhi-nss-stress NAME UID SECONDS [PREFIX STOPFILE]\n");
		return 2;
	}
	if (argc == 6) {
		gecos_prefix = argv[4][0] != '\0' ? argv[4] : NULL;
		stop_file = argv[5];
	}
	name = argv[1];
	uid = (uid_t)strtoul(argv[2], NULL, 10);
	deadline = time(NULL) + atoi(argv[3]);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("lookups %ld failures %ld highest %ld\n", atomic_load(&lookups),
	       atomic_load(&failures), atomic_load(&highest));
	return atomic_load(&failures) == 0 && atomic_load(&lookups) > 0 ? 0 : 1;
}
