/* Attestation of a broker caller from its SO_PEERCRED pid, and matching it
 * against an identity's selectors.
 *
 * What is read, all from /proc/PID (the broker runs as root):
 * - uid and gid: the peer credentials for the caller itself; for a parent
 *   (below), the effective ids from /proc/PID/status.
 * - exe: readlink of /proc/PID/exe. A " (deleted)" suffix (the file was
 *   replaced or removed since exec) is stripped and flagged; a deleted
 *   executable never matches an exe_path selector, since the path no
 *   longer names what runs.
 * - exe_sha256: SHA-256 of the running executable, read through
 *   /proc/PID/exe (at most NHI_ATTEST_EXE_MAX bytes), lowercase hex.
 * - unit: from /proc/PID/cgroup (the unified line "0::", else the
 *   name=systemd one), the last path component ending in .service or
 *   .scope. Any user can name a unit in its own user manager, so a unit
 *   inside user@UID.service is reported as "user@UID.service:NAME" and can
 *   never match a selector meant for the system unit NAME.
 *
 * Pid reuse: the process start time (/proc/PID/stat field 22) is read
 * before and after everything else and must not change, and /proc/PID
 * must be owned by the expected uid; otherwise NHI_ERR_ATTESTATION.
 *
 * The nhi tool: when the caller's executable is the nhi tool itself (the
 * path nhid was given as the nhi tool, b->self_exe, with its links
 * resolved once at start), executable and unit selectors must describe
 * the program that ran nhi. So its PARENT process is attested instead, and only when
 * the parent's real and effective uids and the owner of its /proc entry
 * equal the caller's uid: a process of another uid can never stand in.
 *
 * Limits: a process of the same uid can ptrace or exec under another
 * process of that uid, so selectors other than uid are defence in depth
 * within a uid, not a boundary between programs of one user. */
#ifndef NHI_ATTEST_H
#define NHI_ATTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define NHI_ATTEST_EXE_MAX  (512ull * 1024 * 1024)
#define NHI_ATTEST_UNIT_MAX 256u

struct nhi_attestation {
	pid_t pid; /* the attested process (the parent when via_nhi) */
	uid_t uid;
	gid_t gid;
	char exe[PATH_MAX];
	bool exe_deleted;
	char exe_sha256[65];
	char unit[NHI_ATTEST_UNIT_MAX]; /* "" when not in a unit */
	bool via_nhi;                   /* the caller was the nhi tool */
	pid_t caller_pid;               /* the connecting process */
};

/* Attests one process that must be owned by uid; gid is taken as given
 * (the peer credentials). */
int nhi_attest_process(pid_t pid, uid_t uid, gid_t gid, struct nhi_attestation *ret);

/* The nhi tool's path with every link resolved, as /proc/PID/exe names
 * it (the path itself when it cannot be resolved); NULL when out of
 * memory. Resolved once, not per request: a link changed later takes
 * effect when nhid restarts. */
char *nhi_attest_resolve_tool(const char *path);

/* Attests the caller (pid, uid, gid from SO_PEERCRED), stepping to its
 * parent when it is the nhi tool at self_exe (NULL: never), a path as
 * nhi_attest_resolve_tool returns it. */
int nhi_attest_caller(pid_t pid, uid_t uid, gid_t gid, const char *self_exe,
                      struct nhi_attestation *ret);

/* The unit from the text of a /proc/PID/cgroup file, into out (size
 * outlen); "" when none. NHI_ERR_INVALID_FORMAT for a malformed file. */
int nhi_attest_unit_from_cgroup(const char *text, char *out, size_t outlen);

/* True when every selector matches a. n == 0 is never a match: an identity
 * without selectors is not issued to anyone by attestation. On a mismatch,
 * *ret_failed (may be NULL) is the index of the first failing selector, or
 * n when there were none. */
bool nhi_attest_match(const struct nhi_attestation *a, const struct nhi_selector *sel, size_t n,
                      size_t *ret_failed);

#endif
