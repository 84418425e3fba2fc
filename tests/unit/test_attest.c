#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attest.h"
#include "err.h"
#include "support.h"

TestSuite(attest, .init = NULL);

static void self_exe(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);

	cr_assert_gt(n, 0);
	out[n] = '\0';
}

Test(attest, own_process)
{
	struct nhi_attestation a;
	char exe[PATH_MAX], *out = NULL;
	char *argv[] = {"sha256sum", exe, NULL};

	cr_assert_eq(sodium_init() >= 0, true);
	self_exe(exe, sizeof(exe));
	cr_assert_eq(nhi_attest_process(getpid(), getuid(), getgid(), &a), 0);
	cr_assert_str_eq(a.exe, exe);
	cr_assert_eq(a.exe_deleted, false);
	cr_assert_eq(a.pid, getpid());
	cr_assert_eq(a.uid, getuid());
	cr_assert_eq(a.gid, getgid());
	cr_assert_eq(a.via_nhi, false);
	cr_assert_eq(test_run(argv, &out), 0);
	cr_assert_eq(strncmp(out, a.exe_sha256, 64), 0, "sha256sum says %.64s, we %s", out,
	             a.exe_sha256);
	free(out);
}

Test(attest, another_uid_is_not_attested_as_this_process)
{
	struct nhi_attestation a;

	/* /proc/PID belongs to our uid, not to this one. */
	cr_assert_eq(nhi_attest_process(getpid(), getuid() + 1, getgid(), &a), NHI_ERR_ATTESTATION);
}

Test(attest, gone_process)
{
	struct nhi_attestation a;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(nhi_attest_process(pid, getuid(), getgid(), &a), NHI_ERR_ATTESTATION);
	cr_assert_eq(nhi_attest_process(0, getuid(), getgid(), &a), NHI_ERR_INVALID_ARGUMENT);
}

struct unit_case {
	const char *cgroup;
	const char *unit;
};

Test(attest, unit_from_cgroup)
{
	static const struct unit_case cases[] = {
	        {"0::/system.slice/backup.service\n", "backup.service"},
	        /* Sub-cgroups a service made (delegation) still name it. */
	        {"0::/system.slice/backup.service/worker\n", "backup.service"},
	        {"0::/system.slice/system-getty.slice/getty@tty1.service\n", "getty@tty1.service"},
	        {"0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope"},
	        /* A unit of a user's own manager never passes for a system unit. */
	        {"0::/user.slice/user-1000.slice/user@1000.service/app.slice/backup.service\n",
	         "user@1000.service:backup.service"},
	        {"0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
	         "user@1000.service:init.scope"},
	        {"0::/user.slice/user-1000.slice/user@1000.service\n", "user@1000.service"},
	        /* cgroup v1: systemd's named hierarchy; the unified line wins. */
	        {"12:memory:/x\n1:name=systemd:/system.slice/cron.service\n", "cron.service"},
	        {"1:name=systemd:/system.slice/cron.service\n0::/system.slice/sshd.service\n",
	         "sshd.service"},
	        /* Not in a unit at all (a container, a bare cgroup). */
	        {"0::/\n", ""},
	        {"4:memory:/process_api/79262327\n0::/\n", ""},
	        {"", ""},
	        /* Names that only look like units. */
	        {"0::/system.slice/.service\n", ""},
	        {"0::/system.slice/x.services\n", ""},
	        {"0::/system.slice/a.service.d\n", ""},
	        /* No trailing newline. */
	        {"0::/system.slice/backup.service", "backup.service"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[NHI_ATTEST_UNIT_MAX];

		cr_assert_eq(nhi_attest_unit_from_cgroup(cases[i].cgroup, out, sizeof(out)), 0,
		             "case %zu", i);
		cr_assert_str_eq(out, cases[i].unit, "case %zu", i);
	}
}

Test(attest, malformed_cgroup)
{
	char out[NHI_ATTEST_UNIT_MAX], small[8];

	cr_assert_eq(nhi_attest_unit_from_cgroup("garbage\n", out, sizeof(out)),
	             NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_attest_unit_from_cgroup("0:/x.service\n", out, sizeof(out)),
	             NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_attest_unit_from_cgroup("0::/a-long-name.service\n", small, sizeof(small)),
	             NHI_ERR_STRING_TOO_LARGE);
	cr_assert_str_eq(small, "");
}

static struct nhi_attestation sample(void)
{
	struct nhi_attestation a = {.pid = 10, .uid = 1000, .gid = 100};

	strcpy(a.exe, "/usr/local/bin/backup");
	strcpy(a.exe_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	strcpy(a.unit, "backup.service");
	return a;
}

Test(attest, every_selector_must_match)
{
	struct nhi_attestation a = sample();
	struct nhi_selector all[] = {
	        {NHI_SELECTOR_UID, "1000"},
	        {NHI_SELECTOR_GID, "100"},
	        {NHI_SELECTOR_EXE_PATH, "/usr/local/bin/backup"},
	        {NHI_SELECTOR_EXE_SHA256,
	         "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"},
	        {NHI_SELECTOR_SYSTEMD_UNIT, "backup.service"},
	};
	size_t failed = 99;

	cr_assert_eq(nhi_attest_match(&a, all, 5, &failed), true);
	/* Each selector alone, changed, fails the whole match at its index. */
	for (size_t i = 0; i < 5; i++) {
		struct nhi_selector s[5];

		memcpy(s, all, sizeof(s));
		s[i].value = i < 2 ? "1001" : "/other";
		cr_assert_eq(nhi_attest_match(&a, s, 5, &failed), false, "selector %zu", i);
		cr_assert_eq(failed, i);
	}
}

Test(attest, no_selectors_never_match)
{
	struct nhi_attestation a = sample();

	cr_assert_eq(nhi_attest_match(&a, NULL, 0, NULL), false);
}

Test(attest, tricky_values)
{
	struct nhi_attestation a = sample();
	struct nhi_selector s[] = {
	        {NHI_SELECTOR_UID, "1000x"},     {NHI_SELECTOR_UID, ""},
	        {NHI_SELECTOR_UID, "-1000"},     {NHI_SELECTOR_EXE_PATH, "/usr/local/bin/backu"},
	        {NHI_SELECTOR_SYSTEMD_UNIT, ""}, {NHI_SELECTOR_UID, NULL},
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(nhi_attest_match(&a, &s[i], 1, NULL), false, "selector %zu", i);
	/* A deleted executable no longer is what its path names. */
	a.exe_deleted = true;
	cr_assert_eq(nhi_attest_match(
	                     &a,
	                     &(struct nhi_selector){NHI_SELECTOR_EXE_PATH, "/usr/local/bin/backup"},
	                     1, NULL),
	             false);
	/* Not in any unit: a unit selector cannot match the empty string. */
	a.unit[0] = '\0';
	cr_assert_eq(nhi_attest_match(&a, &s[4], 1, NULL), false);
}

/* A child that waits to be attested: the same executable as this test,
 * which plays the nhi tool's part. */
static pid_t spawn_waiting_child(uid_t become)
{
	int p[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (become != (uid_t)-1) {
			if (setgid(become) < 0 || setuid(become) < 0)
				_exit(1);
			/* So that /proc/PID is its own, as for any user's process. */
			prctl(PR_SET_DUMPABLE, 1);
		}
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(attest, nhi_tool_attests_its_parent)
{
	struct nhi_attestation a;
	char exe[PATH_MAX];
	pid_t child;
	int r;

	cr_assert_eq(sodium_init() >= 0, true);
	self_exe(exe, sizeof(exe));
	child = spawn_waiting_child((uid_t)-1);
	/* Not the nhi tool: the caller itself. */
	r = nhi_attest_caller(child, getuid(), getgid(), "/nonexistent/nhi", &a);
	cr_assert_eq(r, 0);
	cr_assert_eq(a.pid, child);
	cr_assert_eq(a.via_nhi, false);
	/* The nhi tool: the program that ran it. */
	r = nhi_attest_caller(child, getuid(), getgid(), exe, &a);
	cr_assert_eq(r, 0);
	cr_assert_eq(a.pid, getpid());
	cr_assert_eq(a.caller_pid, child);
	cr_assert_eq(a.via_nhi, true);
	cr_assert_str_eq(a.exe, exe);
	reap(child);
}

Test(attest, parent_of_another_uid_never_stands_in)
{
	struct nhi_attestation a;
	char exe[PATH_MAX];
	uid_t nobody = 65534;
	pid_t child;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a child under another uid");
	cr_assert_eq(sodium_init() >= 0, true);
	self_exe(exe, sizeof(exe));
	child = spawn_waiting_child(nobody);
	/* The child itself attests fine as its own uid... */
	cr_assert_eq(nhi_attest_caller(child, nobody, nobody, NULL, &a), 0);
	cr_assert_eq(a.uid, nobody);
	/* ...but its root parent cannot stand in for it. */
	cr_assert_eq(nhi_attest_caller(child, nobody, nobody, exe, &a), NHI_ERR_ATTESTATION);
	reap(child);
}

/* Runs a private copy of sleep and attests it; returns its sha256. */
static void attest_copy(const char *prog, char out[65])
{
	struct nhi_attestation a;
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		execl(prog, prog, "30", (char *)NULL);
		_exit(127);
	}
	/* Wait until the child has exec'd: its exe link names the copy. */
	for (int i = 0; i < 200; i++) {
		char path[64], target[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strcmp(target, prog) == 0))
			break;
		usleep(10000);
	}
	cr_assert_eq(nhi_attest_process(pid, getuid(), getgid(), &a), 0);
	memcpy(out, a.exe_sha256, 65);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(attest, changed_executable_is_hashed_again)
{
	char *dir = test_mkdtemp(), *prog = test_path(dir, "job"), *data, first[65], again[65],
	     changed[65];
	char *cp[] = { "cp", "/bin/sleep", prog, NULL };
	size_t len;

	cr_assert_eq(sodium_init() >= 0, true);
	cr_assert_eq(test_run(cp, NULL), 0);
	attest_copy(prog, first);
	attest_copy(prog, again);
	cr_assert_str_eq(first, again);
	/* Same path, same inode, one byte more: a new hash, not the cached one. */
	data = test_read_file(prog, &len);
	data[len] = '\n';
	test_write_file(prog, data, len + 1, 0755);
	attest_copy(prog, changed);
	cr_assert_str_neq(first, changed, "the cached hash of the old contents was reused");
	free(data);
	test_rmtree(dir);
	free(prog);
	free(dir);
}
