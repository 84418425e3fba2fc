#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "err.h"
#include "fileio.h"

#define PROC_TEXT_FIRST 4096u
#define PROC_TEXT_MAX   (64u * 1024u)
#define DELETED_SUFFIX  " (deleted)"

/* /proc files report a size of 0, so they are read into a page first and
 * the buffer doubled only for the rare longer one (a cgroup v1 list), not
 * grown from one byte by many small reads. */
static int read_proc_text(pid_t pid, const char *name, char **ret)
{
	size_t alloc = PROC_TEXT_FIRST, len = 0;
	char path[64], *text, *bigger;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	if ((text = malloc(alloc)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		if (len == alloc - 1) {
			if (alloc >= PROC_TEXT_MAX) {
				r = NHI_ERR_FILE_TOO_LARGE;
				goto out;
			}
			if ((bigger = realloc(text, alloc * 2)) == NULL) {
				r = NHI_ERR_ALLOC;
				goto out;
			}
			text = bigger;
			alloc *= 2;
		}
		n = read(fd, text + len, alloc - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == ESRCH ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	*ret = text;
	text = NULL;
	r = 0;
out:
	free(text);
	close(fd);
	return r;
}

/* Field 22 (starttime) and field 4 (ppid) of /proc/PID/stat. The command
 * name in parentheses may hold blanks and ')', so fields are counted
 * from the last ')'. */
static int read_stat(pid_t pid, unsigned long long *ret_start, pid_t *ret_ppid)
{
	char *text = NULL, *p, *end;
	unsigned long long v, start = 0;
	long ppid = 0;
	int r, field = 3;

	if ((r = read_proc_text(pid, "stat", &text)) < 0)
		return r;
	r = NHI_ERR_INVALID_FORMAT;
	if ((p = strrchr(text, ')')) == NULL)
		goto out;
	p++;
	while (field <= 22) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			goto out;
		if (field == 4 || field == 22) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno != 0 || end == p)
				goto out;
			if (field == 4)
				ppid = (long)v;
			else
				start = v;
		}
		while (*p != ' ' && *p != '\0')
			p++;
		field++;
	}
	*ret_start = start;
	if (ret_ppid != NULL)
		*ret_ppid = (pid_t)ppid;
	r = 0;
out:
	free(text);
	return r;
}

static int proc_owner(pid_t pid, uid_t *ret_uid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	*ret_uid = st.st_uid;
	return 0;
}

/* The real and effective ids of a "Uid:" or "Gid:" line of /proc/PID/status. */
static int status_ids(const char *status, const char *tag, unsigned long *ret_real,
                      unsigned long *ret_eff)
{
	const char *p = status;
	size_t taglen = strlen(tag);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, tag, taglen) == 0) {
			if (sscanf(p + taglen, "%lu %lu", ret_real, ret_eff) != 2)
				return NHI_ERR_INVALID_FORMAT;
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NHI_ERR_INVALID_FORMAT;
}

static int read_exe(pid_t pid, struct nhi_attestation *a)
{
	char path[64];
	size_t dl = strlen(DELETED_SUFFIX);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, a->exe, sizeof(a->exe) - 1);
	if (n < 0)
		return errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	if ((size_t)n >= sizeof(a->exe) - 1)
		return NHI_ERR_STRING_TOO_LARGE;
	a->exe[n] = '\0';
	if ((size_t)n > dl && strcmp(a->exe + n - dl, DELETED_SUFFIX) == 0) {
		a->exe[n - (ssize_t)dl] = '\0';
		a->exe_deleted = true;
	}
	return 0;
}

/* Hashes of executables already seen, keyed by what changes whenever the
 * file's contents do: ctime cannot be set back by a user, and a rename or
 * copy gets a new inode. Every request of a busy automation caller would
 * otherwise re-read its whole binary. */
#define EXE_CACHE_SIZE 64

struct exe_cache_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char sha256[65];
};

static struct exe_cache_entry exe_cache[EXE_CACHE_SIZE];
static size_t exe_cache_next;

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static struct exe_cache_entry *exe_cache_find(const struct stat *sb)
{
	for (size_t i = 0; i < EXE_CACHE_SIZE; i++) {
		struct exe_cache_entry *e = &exe_cache[i];

		if (e->sha256[0] != '\0' && e->dev == sb->st_dev && e->ino == sb->st_ino &&
		    e->size == sb->st_size && same_time(&e->mtime, &sb->st_mtim) &&
		    same_time(&e->ctime, &sb->st_ctim))
			return e;
	}
	return NULL;
}

static void exe_cache_add(const struct stat *sb, const char sha256[65])
{
	struct exe_cache_entry *e = &exe_cache[exe_cache_next++ % EXE_CACHE_SIZE];

	e->dev = sb->st_dev;
	e->ino = sb->st_ino;
	e->size = sb->st_size;
	e->mtime = sb->st_mtim;
	e->ctime = sb->st_ctim;
	memcpy(e->sha256, sha256, 65);
}

/* Hashes what the process runs, through the kernel's link to it, so a file
 * replaced at the same path since exec is not what gets hashed. */
static int hash_exe(pid_t pid, char out[65])
{
	const struct exe_cache_entry *cached;
	crypto_hash_sha256_state st;
	unsigned char buf[65536], digest[crypto_hash_sha256_BYTES];
	unsigned long long total = 0;
	char path[64];
	struct stat sb;
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	if ((cached = exe_cache_find(&sb)) != NULL) {
		memcpy(out, cached->sha256, 65);
		goto out;
	}
	crypto_hash_sha256_init(&st);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = NHI_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		total += (unsigned long long)n;
		if (total > NHI_ATTEST_EXE_MAX) {
			r = NHI_ERR_FILE_TOO_LARGE;
			goto out;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
	}
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(out, 65, digest, sizeof(digest));
	exe_cache_add(&sb, out);
out:
	close(fd);
	return r;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	return len > sl && memcmp(s + len - sl, suffix, sl) == 0;
}

static bool is_unit(const char *s, size_t len)
{
	return has_suffix(s, len, ".service") || has_suffix(s, len, ".scope");
}

/* The unit in one cgroup path: the last .service/.scope component, and the
 * user manager around it if any. */
static int unit_from_path(const char *path, size_t len, char *out, size_t outlen)
{
	const char *unit = NULL, *manager = NULL;
	size_t unit_len = 0, manager_len = 0;
	const char *p = path, *end = path + len;
	int n;

	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t clen = slash != NULL ? (size_t)(slash - p) : (size_t)(end - p);

		if (clen > 0 && is_unit(p, clen)) {
			if (clen > 5 && memcmp(p, "user@", 5) == 0 && manager == NULL) {
				manager = p;
				manager_len = clen;
			}
			unit = p;
			unit_len = clen;
		}
		p += clen + 1;
	}
	out[0] = '\0';
	if (unit == NULL)
		return 0;
	if (manager != NULL && unit != manager)
		n = snprintf(out, outlen, "%.*s:%.*s", (int)manager_len, manager, (int)unit_len,
		             unit);
	else
		n = snprintf(out, outlen, "%.*s", (int)unit_len, unit);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return NHI_ERR_STRING_TOO_LARGE;
	}
	return 0;
}

int nhi_attest_unit_from_cgroup(const char *text, char *out, size_t outlen)
{
	const char *line = text, *chosen = NULL;
	size_t chosen_len = 0;

	if (text == NULL || out == NULL || outlen == 0)
		return NHI_ERR_INVALID_ARGUMENT;
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', len), *c2;

		if (len > 0) {
			if (c1 == NULL ||
			    (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line))) == NULL)
				return NHI_ERR_INVALID_FORMAT;
			/* The unified hierarchy wins over systemd's v1 one. */
			if (strncmp(line, "0::", 3) == 0 ||
			    (chosen == NULL && (size_t)(c2 - c1 - 1) == strlen("name=systemd") &&
			     memcmp(c1 + 1, "name=systemd", strlen("name=systemd")) == 0)) {
				chosen = c2 + 1;
				chosen_len = len - (size_t)(c2 + 1 - line);
			}
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	out[0] = '\0';
	if (chosen == NULL)
		return 0;
	return unit_from_path(chosen, chosen_len, out, outlen);
}

int nhi_attest_process(pid_t pid, uid_t uid, gid_t gid, struct nhi_attestation *ret)
{
	struct nhi_attestation *a = calloc(1, sizeof(*a));
	unsigned long long start1, start2;
	char *cgroup = NULL;
	uid_t owner;
	int r;

	if (a == NULL)
		return NHI_ERR_ALLOC;
	if (pid <= 0) {
		r = NHI_ERR_INVALID_ARGUMENT;
		goto out;
	}
	a->pid = pid;
	a->caller_pid = pid;
	a->uid = uid;
	a->gid = gid;
	if ((r = read_stat(pid, &start1, NULL)) < 0 || (r = proc_owner(pid, &owner)) < 0)
		goto out;
	if (owner != uid) {
		r = NHI_ERR_ATTESTATION;
		goto out;
	}
	if ((r = read_exe(pid, a)) < 0 || (r = hash_exe(pid, a->exe_sha256)) < 0 ||
	    (r = read_proc_text(pid, "cgroup", &cgroup)) < 0 ||
	    (r = nhi_attest_unit_from_cgroup(cgroup, a->unit, sizeof(a->unit))) < 0)
		goto out;
	/* Still the same process, still that uid's: nothing above was read
	 * from a successor that took over the pid. */
	if ((r = read_stat(pid, &start2, NULL)) < 0 || (r = proc_owner(pid, &owner)) < 0)
		goto out;
	if (start1 != start2 || owner != uid) {
		r = NHI_ERR_ATTESTATION;
		goto out;
	}
	*ret = *a;
	r = 0;
out:
	if (r == NHI_ERR_NOT_FOUND)
		r = NHI_ERR_ATTESTATION; /* the process is gone */
	free(cgroup);
	free(a);
	return r;
}

char *nhi_attest_resolve_tool(const char *path)
{
	char *resolved = realpath(path, NULL);

	return resolved != NULL ? resolved : strdup(path);
}

static bool is_self(const char *exe, bool deleted, const char *self_exe)
{
	return self_exe != NULL && !deleted && strcmp(exe, self_exe) == 0;
}

/* The parent of pid, when it is a process of uid (real, effective, and
 * owner of its /proc entry), with its effective gid. */
static int parent_of(pid_t pid, uid_t uid, pid_t *ret_ppid, gid_t *ret_gid)
{
	unsigned long long start;
	unsigned long ruid, euid, rgid, egid;
	char *status = NULL;
	pid_t ppid = 0;
	uid_t owner;
	int r;

	if ((r = read_stat(pid, &start, &ppid)) < 0)
		return r;
	if (ppid <= 1)
		return NHI_ERR_ATTESTATION; /* orphaned: the real caller is gone */
	if ((r = read_proc_text(ppid, "status", &status)) < 0)
		goto out;
	if ((r = status_ids(status, "Uid:", &ruid, &euid)) < 0 ||
	    (r = status_ids(status, "Gid:", &rgid, &egid)) < 0 ||
	    (r = proc_owner(ppid, &owner)) < 0)
		goto out;
	if (ruid != uid || euid != uid || owner != uid) {
		r = NHI_ERR_ATTESTATION;
		goto out;
	}
	*ret_ppid = ppid;
	*ret_gid = (gid_t)egid;
	r = 0;
out:
	free(status);
	return r;
}

int nhi_attest_caller(pid_t pid, uid_t uid, gid_t gid, const char *self_exe,
                      struct nhi_attestation *ret)
{
	struct nhi_attestation *a = calloc(1, sizeof(*a));
	pid_t ppid = 0;
	gid_t pgid = 0;
	int r;

	if (a == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_attest_process(pid, uid, gid, a)) < 0)
		goto out;
	if (is_self(a->exe, a->exe_deleted, self_exe)) {
		if ((r = parent_of(pid, uid, &ppid, &pgid)) < 0 ||
		    (r = nhi_attest_process(ppid, uid, pgid, a)) < 0)
			goto out;
		a->via_nhi = true;
		a->caller_pid = pid;
	}
	*ret = *a;
	r = 0;
out:
	if (r == NHI_ERR_NOT_FOUND)
		r = NHI_ERR_ATTESTATION;
	free(a);
	return r;
}

static bool parse_id(const char *s, unsigned long *ret)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*ret = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool selector_matches(const struct nhi_attestation *a, const struct nhi_selector *s)
{
	unsigned long id;

	if (s->value == NULL)
		return false;
	switch (s->kind) {
	case NHI_SELECTOR_UID:
		return parse_id(s->value, &id) && id == (unsigned long)a->uid;
	case NHI_SELECTOR_GID:
		return parse_id(s->value, &id) && id == (unsigned long)a->gid;
	case NHI_SELECTOR_EXE_PATH:
		return !a->exe_deleted && a->exe[0] != '\0' && strcmp(a->exe, s->value) == 0;
	case NHI_SELECTOR_EXE_SHA256:
		return a->exe_sha256[0] != '\0' && strcasecmp(a->exe_sha256, s->value) == 0;
	case NHI_SELECTOR_SYSTEMD_UNIT:
		return a->unit[0] != '\0' && strcmp(a->unit, s->value) == 0;
	}
	return false;
}

bool nhi_attest_match(const struct nhi_attestation *a, const struct nhi_selector *sel, size_t n,
                      size_t *ret_failed)
{
	if (n == 0) {
		if (ret_failed != NULL)
			*ret_failed = 0;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!selector_matches(a, &sel[i])) {
			if (ret_failed != NULL)
				*ret_failed = i;
			return false;
		}
	}
	return true;
}
