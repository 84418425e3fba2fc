/* nhi-nss-stress NAME UID SECONDS: 16 threads look NAME up by name and UID
 * by id through glibc (getpwnam_r, getpwuid_r, getgrouplist) for SECONDS,
 * for the nss_nhi test that rewrites the cache meanwhile. Every lookup must
 * find the account with the right name and id; prints the lookup count and
 * exits 1 on the first wrong or failed answer. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 16

static const char *name;
static uid_t uid;
static time_t deadline;
static atomic_long lookups, failures;

static void *worker(void *arg)
{
	char buf[1024];
	struct passwd pw, *res;
	gid_t groups[64];
	int ng, r;

	(void)arg;
	while (time(NULL) < deadline) {
		r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
		if (r != 0 || !res || pw.pw_uid != uid) {
			fprintf(stderr, "getpwnam_r(%s): r=%d found=%d\n", name, r, res != NULL);
			atomic_fetch_add(&failures, 1);
		}
		r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
		if (r != 0 || !res || strcmp(pw.pw_name, name) != 0) {
			fprintf(stderr, "getpwuid_r(%u): r=%d found=%d\n", (unsigned)uid, r,
			        res != NULL);
			atomic_fetch_add(&failures, 1);
		}
		ng = 64;
		if (getgrouplist(name, (gid_t)uid, groups, &ng) < 1) {
			fprintf(stderr, "getgrouplist(%s) failed\n", name);
			atomic_fetch_add(&failures, 1);
		}
		atomic_fetch_add(&lookups, 3);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	if (argc != 4) {
		fprintf(stderr, "usage: nhi-nss-stress NAME UID SECONDS\n");
		return 2;
	}
	name = argv[1];
	uid = (uid_t)strtoul(argv[2], NULL, 10);
	deadline = time(NULL) + atoi(argv[3]);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("lookups %ld failures %ld\n", atomic_load(&lookups), atomic_load(&failures));
	return atomic_load(&failures) == 0 && atomic_load(&lookups) > 0 ? 0 : 1;
}
