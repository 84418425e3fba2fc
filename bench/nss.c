/* NSS lookups, in-process: nss_nhi next to nss_files, nss_db and
 * libnss-cache, each module dlopen'ed and its _nss_<name>_getpwnam_r and
 * _nss_<name>_getpwuid_r called directly (what glibc's NSS dispatch does
 * after its own fixed overhead, the same for every module). bench/nss.sh
 * fills a broker with the accounts through `nhictl identity import` (its
 * cache is nss_nhi's data), builds every peer's data from the same
 * accounts, and runs this in a private mount namespace so the fixed paths
 * point at the temp files.
 *
 *   nss cache-index CACHE      libnss-cache's CACHE.ixname and CACHE.ixuid
 *   nss run N NHI_SO CACHE     lookups over N accounts u000000.. (uid
 *                              100000+i); CACHE is libnss-cache's file
 *   nss syscalls N NHI_SO CACHE MODULE LOOKUPS
 *                              LOOKUPS untimed lookups into one MODULE
 *                              (nhi, files, db, cache) between two marker
 *                              system calls, for strace to count */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES_MAX 20000u
#define SAMPLES_MIN 5u
#define BUDGET_NS   500000000ull /* per module and lookup kind */
#define UID_BASE    100000u
#define WARMUP      200u

typedef enum nss_status getpwnam_fn(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status getpwuid_fn(uid_t, struct passwd *, char *, size_t, int *);

struct module {
	const char *name, *so;
	getpwnam_fn *getpwnam;
	getpwuid_fn *getpwuid;
	double med[3], p99[3];
	bool ok;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* kind 0: getpwnam hit, 1: getpwnam miss, 2: getpwuid hit; k is the
 * account drawn. Every answer is checked, so a module that finds nothing
 * cannot look fast. */
static int lookup_checked(const struct module *m, unsigned kind, unsigned k, uint64_t *ret_ns)
{
	char buf[1024], name[32];
	struct passwd pw;
	enum nss_status st;
	uint64_t t0;
	int e;

	snprintf(name, sizeof(name), kind == 1 ? "x%06u" : "u%06u", k);
	t0 = now_ns();
	if (kind == 2)
		st = m->getpwuid(UID_BASE + k, &pw, buf, sizeof(buf), &e);
	else
		st = m->getpwnam(name, &pw, buf, sizeof(buf), &e);
	if (ret_ns != NULL)
		*ret_ns = now_ns() - t0;
	if (kind == 1 ? st != NSS_STATUS_NOTFOUND
	              : st != NSS_STATUS_SUCCESS || pw.pw_uid != UID_BASE + k) {
		fprintf(stderr, "nss: %s: lookup %u of %s gave status %d\n", m->name, kind, name,
		        (int)st);
		return -1;
	}
	return 0;
}

static int measure(struct module *m, unsigned kind, unsigned n, uint64_t *t)
{
	char buf[1024], name[32];
	struct passwd pw;
	uint64_t start;
	size_t i;
	int e;

	/* Untimed first rounds: files opened, pages mapped, caches warm. */
	for (i = 0; i < WARMUP; i++) {
		snprintf(name, sizeof(name), "u%06u", (unsigned)(next_rand() % n));
		(void)m->getpwnam(name, &pw, buf, sizeof(buf), &e);
	}
	start = now_ns();
	for (i = 0; i < SAMPLES_MAX && (i < SAMPLES_MIN || now_ns() - start < BUDGET_NS); i++)
		if (lookup_checked(m, kind, (unsigned)(next_rand() % n), &t[i]) < 0)
			return -1;
	qsort(t, i, sizeof(*t), cmp_u64);
	m->med[kind] = (double)t[i / 2];
	m->p99[kind] = (double)t[(i * 99) / 100];
	return 0;
}

/* dlopens m->so and finds its entry points; libnss-cache is pointed at
 * cache_path. */
static int module_load(struct module *m, const char *cache_path)
{
	char sym[64];
	void *h = dlopen(m->so, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		fprintf(stderr, "nss: %s: %s\n", m->so, dlerror());
		return -1;
	}
	snprintf(sym, sizeof(sym), "_nss_%s_getpwnam_r", m->name);
	m->getpwnam = (getpwnam_fn *)dlsym(h, sym);
	snprintf(sym, sizeof(sym), "_nss_%s_getpwuid_r", m->name);
	m->getpwuid = (getpwuid_fn *)dlsym(h, sym);
	if (m->getpwnam == NULL || m->getpwuid == NULL) {
		fprintf(stderr, "nss: %s: no getpwnam_r/getpwuid_r\n", m->so);
		return -1;
	}
	if (strcmp(m->name, "cache") == 0) {
		void (*set_path)(const char *) =
		        (void (*)(const char *))dlsym(h, "_nss_cache_setpwent_path");
		if (set_path == NULL) {
			fprintf(stderr, "nss: libnss-cache without setpwent_path\n");
			return -1;
		}
		set_path(cache_path);
	}
	return 0;
}

static int cmd_run(unsigned n, const char *nhi_so, const char *cache_path)
{
	struct module mods[] = {
	        {.name = "nhi", .so = nhi_so},
	        {.name = "files", .so = "libnss_files.so.2"},
	        {.name = "db", .so = "libnss_db.so.2"},
	        {.name = "cache", .so = "libnss_cache.so.2"},
	};
	static const char *const kinds[] = {"getpwnam hit", "getpwnam miss", "getpwuid"};
	uint64_t *t = calloc(SAMPLES_MAX, sizeof(*t));

	if (t == NULL)
		return 1;
	for (size_t m = 0; m < sizeof(mods) / sizeof(mods[0]); m++) {
		if (module_load(&mods[m], cache_path) < 0)
			continue;
		mods[m].ok = true;
		for (unsigned k = 0; k < 3 && mods[m].ok; k++)
			mods[m].ok = measure(&mods[m], k, n, t) == 0;
	}
	for (unsigned k = 0; k < 3; k++) {
		for (size_t m = 0; m < sizeof(mods) / sizeof(mods[0]); m++) {
			if (!mods[m].ok) {
				printf("%7u  %-14s %-6s %12s\n", n, kinds[k], mods[m].name,
				       "failed");
				continue;
			}
			printf("%7u  %-14s %-6s %12.0f %12.0f %9.2fx\n", n, kinds[k], mods[m].name,
			       mods[m].med[k], mods[m].p99[k],
			       mods[0].ok ? mods[m].med[k] / mods[0].med[k] : 0.0);
		}
	}
	free(t);
	return mods[0].ok ? 0 : 1;
}

/* The lookups of `nss syscalls` sit between two access() calls of paths
 * that name themselves: one system call each, which fails at once and
 * reads plainly in a trace, so the system calls of the lookups alone are
 * the ones in between. */
#define MARK_BEGIN "nss-bench-lookups-begin"
#define MARK_END   "nss-bench-lookups-end"

/* One module, lookups alternating getpwnam hit, miss and getpwuid with the
 * same draw as `run`, untimed per lookup: bench/nss.sh runs this under
 * strace and counts the system calls between the markers. One lookup of
 * each kind comes first, so the module's start-up (open, map) is outside. */
static int cmd_syscalls(unsigned n, const char *nhi_so, const char *cache_path, const char *module,
                        unsigned long lookups)
{
	struct module mods[] = {
	        {.name = "nhi", .so = nhi_so},
	        {.name = "files", .so = "libnss_files.so.2"},
	        {.name = "db", .so = "libnss_db.so.2"},
	        {.name = "cache", .so = "libnss_cache.so.2"},
	};
	struct module *m = NULL;
	uint64_t start, elapsed;
	unsigned long i;

	if (n == 0) {
		fprintf(stderr, "nss: syscalls needs at least one account\n");
		return 2;
	}
	for (size_t j = 0; j < sizeof(mods) / sizeof(mods[0]); j++)
		if (strcmp(mods[j].name, module) == 0)
			m = &mods[j];
	if (m == NULL) {
		fprintf(stderr, "nss: unknown module '%s' (nhi, files, db or cache)\n", module);
		return 2;
	}
	if (module_load(m, cache_path) < 0)
		return 1;
	for (unsigned k = 0; k < 3; k++)
		if (lookup_checked(m, k, (unsigned)(next_rand() % n), NULL) < 0)
			return 1;
	(void)access(MARK_BEGIN, F_OK);
	start = now_ns();
	for (i = 0; i < lookups; i++)
		if (lookup_checked(m, (unsigned)(i % 3), (unsigned)(next_rand() % n), NULL) < 0)
			break;
	elapsed = now_ns() - start;
	(void)access(MARK_END, F_OK);
	printf("%s %u lookups %lu elapsed_ms %.1f\n", m->name, n, i, (double)elapsed / 1e6);
	return i == lookups ? 0 : 1;
}

/* One line of a libnss-cache index: the key, and where its record starts
 * in the cache file. */
struct index_entry {
	char key[32];
	long offset;
};

static int cmp_index_entry(const void *a, const void *b)
{
	return strcmp(((const struct index_entry *)a)->key, ((const struct index_entry *)b)->key);
}

/* Writes path with libnss-cache's index layout: fixed-width lines, each
 * the key, a NUL, the record's byte offset in decimal, NUL padding and a
 * newline, sorted by strcmp of the key (its reader bsearch()es with
 * strcmp, so uids sort as text). */
static int write_index(const char *path, struct index_entry *v, size_t n)
{
	size_t width = 0;
	FILE *out;

	qsort(v, n, sizeof(*v), cmp_index_entry);
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(v[i].key) + 1 + (size_t)snprintf(NULL, 0, "%ld", v[i].offset);
		if (w > width)
			width = w;
	}
	if ((out = fopen(path, "we")) == NULL) {
		fprintf(stderr, "nss: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int len = fprintf(out, "%s%c%ld", v[i].key, '\0', v[i].offset);
		for (size_t k = (size_t)len; k < width; k++)
			fputc('\0', out);
		fputc('\n', out);
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "nss: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* libnss-cache's CACHE.ixname and CACHE.ixuid for a passwd-format CACHE,
 * as nsscache's writer makes them next to the cache it writes. */
static int cmd_cache_index(const char *cache)
{
	struct index_entry *byname = NULL, *byuid = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL, path[4096];
	long offset = 0;
	ssize_t got;
	FILE *in = fopen(cache, "re");
	int r = 1;

	if (in == NULL) {
		fprintf(stderr, "nss: %s: %s\n", cache, strerror(errno));
		return 1;
	}
	for (; (got = getline(&line, &len, in)) > 0; offset += got) {
		char *name_end = strchr(line, ':'), *uid;
		if (name_end == NULL || (uid = strchr(name_end + 1, ':')) == NULL)
			continue;
		uid++;
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			struct index_entry *a = reallocarray(byname, cap, sizeof(*a));
			if (a == NULL)
				goto out;
			byname = a;
			if ((a = reallocarray(byuid, cap, sizeof(*a))) == NULL)
				goto out;
			byuid = a;
		}
		if ((size_t)(name_end - line) >= sizeof(byname[n].key) ||
		    strcspn(uid, ":") >= sizeof(byuid[n].key)) {
			fprintf(stderr, "nss: %s: a name or uid too long for this tool\n", cache);
			goto out;
		}
		snprintf(byname[n].key, sizeof(byname[n].key), "%.*s", (int)(name_end - line),
		         line);
		snprintf(byuid[n].key, sizeof(byuid[n].key), "%.*s", (int)strcspn(uid, ":"), uid);
		byname[n].offset = byuid[n].offset = offset;
		n++;
	}
	snprintf(path, sizeof(path), "%s.ixname", cache);
	if (write_index(path, byname, n) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.ixuid", cache);
	r = write_index(path, byuid, n);
out:
	free(byname);
	free(byuid);
	free(line);
	fclose(in);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "cache-index") == 0)
		return cmd_cache_index(argv[2]);
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		return cmd_run((unsigned)strtoul(argv[2], NULL, 10), argv[3], argv[4]);
	if (argc == 7 && strcmp(argv[1], "syscalls") == 0)
		return cmd_syscalls((unsigned)strtoul(argv[2], NULL, 10), argv[3], argv[4], argv[5],
		                    strtoul(argv[6], NULL, 10));
	fprintf(stderr, "usage: nss cache-index CACHE | nss run N NHI_SO CACHE\n"
	                "       nss syscalls N NHI_SO CACHE MODULE LOOKUPS\n");
	return 2;
}
