#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "support.h"

static char *dir;

static void setup(void)
{
	dir = test_mkdtemp();
}

static void teardown(void)
{
	test_rmtree(dir);
	free(dir);
}

TestSuite(fileio, .init = setup, .fini = teardown);

/* Entries in d other than "." and "..". */
static int count_entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(dh);
	while ((de = readdir(dh)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dh);
	return n;
}

static void assert_file_is(const char *path, const char *want)
{
	size_t len;
	char *got = test_read_file(path, &len);

	cr_assert_eq(len, strlen(want), "%s: %zu bytes, want %zu", path, len, strlen(want));
	cr_assert_str_eq(got, want);
	free(got);
}

Test(fileio, atomic_write_creates_with_exact_mode)
{
	char *p = test_path(dir, "out");
	struct stat st;

	umask(077);
	cr_assert_eq(nhi_atomic_write(p, "hello\n", 6, 0644), 0);
	assert_file_is(p, "hello\n");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644, "mode %o", st.st_mode & 07777);
	cr_assert_eq(count_entries(dir), 1, "a temp file was left behind");
	free(p);
}

Test(fileio, atomic_write_replaces_content_and_mode)
{
	char *p = test_path(dir, "out");
	struct stat st, st2;

	test_write_file(p, "old content that is longer\n", 27, 0666);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(nhi_atomic_write(p, "new\n", 4, 0600), 0);
	assert_file_is(p, "new\n");
	cr_assert_eq(stat(p, &st2), 0);
	cr_assert_eq(st2.st_mode & 07777, 0600);
	cr_assert_neq(st.st_ino, st2.st_ino, "replaced in place instead of renamed over");
	cr_assert_eq(count_entries(dir), 1);

	/* Empty content is a valid file too. */
	cr_assert_eq(nhi_atomic_write(p, NULL, 0, 0600), 0);
	assert_file_is(p, "");
	free(p);
}

Test(fileio, atomic_write_relative_path)
{
	char *p = test_path(dir, "rel");

	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(nhi_atomic_write("rel", "x", 1, 0600), 0);
	assert_file_is(p, "x");
	free(p);
}

/* A write that fails half way (file size limit, which binds root too)
 * leaves the old file as it was and no temp file. */
Test(fileio, atomic_write_failure_leaves_target_untouched)
{
	char *p = test_path(dir, "keep");
	struct rlimit rl = {.rlim_cur = 64, .rlim_max = RLIM_INFINITY};
	char big[4096];
	int r;

	test_write_file(p, "original\n", 9, 0644);
	memset(big, 'A', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	r = nhi_atomic_write(p, big, sizeof(big), 0644);
	cr_assert_eq(r, NHI_ERR_SYSTEM, "got %d", r);
	cr_assert_eq(errno, EFBIG);
	assert_file_is(p, "original\n");
	cr_assert_eq(count_entries(dir), 1, "temp file left behind");
	free(p);
}

Test(fileio, atomic_write_over_directory_fails_cleanly)
{
	char *d = test_path(dir, "sub");
	char *inner = test_path(d, "inside");

	cr_assert_eq(mkdir(d, 0755), 0);
	test_write_file(inner, "keep", 4, 0600);
	cr_assert_lt(nhi_atomic_write(d, "x", 1, 0600), 0);
	assert_file_is(inner, "keep");
	cr_assert_eq(count_entries(dir), 1, "temp file left behind");
	free(inner);
	free(d);
}

Test(fileio, atomic_write_parent_is_a_file)
{
	char *f = test_path(dir, "plain");
	char *p = test_path(f, "child");

	test_write_file(f, "data", 4, 0600);
	cr_assert_eq(nhi_atomic_write(p, "x", 1, 0600), NHI_ERR_SYSTEM);
	cr_assert_eq(errno, ENOTDIR);
	assert_file_is(f, "data");
	free(p);
	free(f);
}

Test(fileio, atomic_write_missing_directory)
{
	char *p = test_path(dir, "nope/child");

	cr_assert_eq(nhi_atomic_write(p, "x", 1, 0600), NHI_ERR_NOT_FOUND);
	free(p);
}

Test(fileio, atomic_write_replaces_symlink_not_pointee)
{
	char *target = test_path(dir, "pointee");
	char *link = test_path(dir, "link");
	struct stat st;

	test_write_file(target, "secret\n", 7, 0600);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(nhi_atomic_write(link, "new\n", 4, 0644), 0);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the link is still a link");
	assert_file_is(link, "new\n");
	assert_file_is(target, "secret\n");
	free(link);
	free(target);
}

Test(fileio, atomic_write_refuses_bad_names)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	cr_assert(dfd >= 0);
	cr_assert_eq(nhi_atomic_write_at(dfd, "", "x", 1, 0600, -1, -1),
		     NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_atomic_write_at(dfd, "a/b", "x", 1, 0600, -1, -1),
		     NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_atomic_write_at(dfd, "..", "x", 1, 0600, -1, -1),
		     NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_atomic_write(dir, "x", 1, 0600) < 0, true);
	{
		char *p = test_path(dir, "");

		cr_assert_eq(nhi_atomic_write(p, "x", 1, 0600), NHI_ERR_INVALID_ARGUMENT);
		free(p);
	}
	cr_assert_eq(count_entries(dir), 0);
	close(dfd);
}

Test(fileio, atomic_write_at_sets_owner)
{
	struct stat st;
	int dfd;

	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, dir, O_PATH | O_DIRECTORY, &dfd), 0);
	cr_assert_eq(nhi_atomic_write_at(dfd, "owned", "k\n", 2, 04640, 65534, 65534), 0);
	cr_assert_eq(fstatat(dfd, "owned", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_assert_eq(st.st_uid, 65534);
	cr_assert_eq(st.st_gid, 65534);
	/* chmod after chown, so the set-id bit asked for survives. */
	cr_assert_eq(st.st_mode & 07777, 04640, "mode %o", st.st_mode & 07777);
	close(dfd);
}

Test(fileio, open_nofollow_opens_plain_paths)
{
	char *sub = test_path(dir, "a");
	char *f = test_path(sub, "f");
	char buf[8] = {0};
	int fd, dfd;

	cr_assert_eq(mkdir(sub, 0755), 0);
	test_write_file(f, "abc", 3, 0600);
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, f, O_RDONLY, &fd), 0);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "abc");
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* Relative to a directory fd, with redundant slashes and dots. */
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, &dfd), 0);
	cr_assert_eq(nhi_open_nofollow(dfd, "a//./f", O_RDONLY, &fd), 0);
	close(fd);
	cr_assert_eq(nhi_open_nofollow(dfd, "a/missing", O_RDONLY, &fd), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_open_nofollow(dfd, "a/../a/f", O_RDONLY, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(nhi_open_nofollow(dfd, "", O_RDONLY, &fd), NHI_ERR_INVALID_ARGUMENT);
	/* The caller's directory fd stays open. */
	cr_assert_neq(fcntl(dfd, F_GETFD), -1);
	close(dfd);
	free(f);
	free(sub);
}

Test(fileio, open_nofollow_refuses_symlink_last_component)
{
	char *f = test_path(dir, "real");
	char *l = test_path(dir, "link");
	int fd = -1;

	test_write_file(f, "x", 1, 0600);
	cr_assert_eq(symlink(f, l), 0);
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, l, O_RDONLY, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(fd, -1, "ret_fd touched on failure");
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, l, O_PATH, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, l, O_RDONLY | O_DIRECTORY, &fd),
		     NHI_ERR_FILE_UNSAFE);
	free(l);
	free(f);
}

Test(fileio, open_nofollow_refuses_symlink_intermediate_component)
{
	char *real = test_path(dir, "realdir");
	char *f = test_path(real, "f");
	char *l = test_path(dir, "linkdir");
	char *via = test_path(l, "f");
	int fd = -1;

	cr_assert_eq(mkdir(real, 0755), 0);
	test_write_file(f, "x", 1, 0600);
	cr_assert_eq(symlink(real, l), 0);
	cr_assert_eq(nhi_open_nofollow(AT_FDCWD, via, O_RDONLY, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(fd, -1);
	free(via);
	free(l);
	free(f);
	free(real);
}

static const struct nhi_file_rules strict = {
	.owner = 0, .allow_root_owner = true, .forbidden = 022, .max_size = 1024};

Test(fileio, open_checked_accepts_good_file)
{
	char *f = test_path(dir, "good");
	struct nhi_file_rules rules = strict;
	int fd = -1;

	rules.owner = geteuid();
	test_write_file(f, "ok", 2, 0644);
	cr_assert_eq(chmod(f, 0644), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), 0);
	cr_assert(fd >= 0);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	free(f);
}

Test(fileio, open_checked_refuses_group_writable)
{
	char *f = test_path(dir, "gw");
	struct nhi_file_rules rules = strict;
	int fd = -1;

	rules.owner = geteuid();
	test_write_file(f, "ok", 2, 0600);
	cr_assert_eq(chmod(f, 0664), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(fd, -1);
	cr_assert_eq(chmod(f, 0646), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), NHI_ERR_FILE_UNSAFE);
	free(f);
}

Test(fileio, open_checked_refuses_wrong_owner)
{
	char *f = test_path(dir, "theirs");
	struct nhi_file_rules rules = strict;
	int fd = -1;

	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	test_write_file(f, "ok", 2, 0600);
	cr_assert_eq(chown(f, 65534, 65534), 0);
	rules.owner = 1000;
	rules.allow_root_owner = true;
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), NHI_ERR_FILE_UNSAFE);
	/* The same file is fine for its owner, and root-owned is fine when
	 * allowed but not otherwise. */
	rules.owner = 65534;
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), 0);
	close(fd);
	cr_assert_eq(chown(f, 0, 0), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), 0);
	close(fd);
	rules.allow_root_owner = false;
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), NHI_ERR_FILE_UNSAFE);
	free(f);
}

Test(fileio, open_checked_refuses_directory)
{
	int fd = -1;

	cr_assert_eq(nhi_open_checked(AT_FDCWD, dir, NULL, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(fd, -1);
}

/* Must return at once: opening a FIFO without O_NONBLOCK would block. */
Test(fileio, open_checked_refuses_fifo, .timeout = 10)
{
	char *f = test_path(dir, "fifo");
	int fd = -1;

	cr_assert_eq(mkfifo(f, 0600), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, NULL, &fd), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(fd, -1);
	free(f);
}

Test(fileio, open_checked_refuses_oversized)
{
	char *f = test_path(dir, "big");
	struct nhi_file_rules rules = strict;
	char big[2048];
	int fd = -1;

	rules.owner = (uid_t)-1;
	memset(big, 'x', sizeof(big));
	test_write_file(f, big, sizeof(big), 0600);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), NHI_ERR_FILE_TOO_LARGE);
	rules.max_size = sizeof(big);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, f, &rules, &fd), 0);
	close(fd);
	free(f);
}

Test(fileio, open_checked_refuses_symlink)
{
	char *f = test_path(dir, "real");
	char *l = test_path(dir, "link");
	int fd = -1;

	test_write_file(f, "x", 1, 0600);
	cr_assert_eq(symlink(f, l), 0);
	cr_assert_eq(nhi_open_checked(AT_FDCWD, l, NULL, &fd), NHI_ERR_FILE_UNSAFE);
	free(l);
	free(f);
}

Test(fileio, read_fd_reads_everything_up_to_max)
{
	char *f = test_path(dir, "data");
	char big[10000];
	char *got = NULL;
	size_t len = 0;
	int fd;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	test_write_file(f, big, sizeof(big), 0600);

	fd = open(f, O_RDONLY);
	cr_assert_eq(nhi_read_fd(fd, sizeof(big), &got, &len), 0);
	cr_assert_eq(len, sizeof(big));
	cr_assert_eq(memcmp(got, big, len), 0);
	cr_assert_eq(got[len], '\0');
	free(got);
	close(fd);

	got = NULL;
	fd = open(f, O_RDONLY);
	cr_assert_eq(nhi_read_fd(fd, sizeof(big) - 1, &got, &len), NHI_ERR_FILE_TOO_LARGE);
	cr_assert_null(got);
	close(fd);
	free(f);
}

/* A pipe has no size to go by: the loop must grow and still stop at max. */
Test(fileio, read_fd_from_pipe)
{
	int p[2];
	char *got = NULL;
	size_t len = 0;
	char chunk[3000];

	memset(chunk, 'z', sizeof(chunk));
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(p[1]);
	cr_assert_eq(nhi_read_fd(p[0], 100, &got, &len), NHI_ERR_FILE_TOO_LARGE);
	close(p[0]);

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(p[1]);
	cr_assert_eq(nhi_read_fd(p[0], 1 << 20, &got, &len), 0);
	cr_assert_eq(len, sizeof(chunk));
	cr_assert_eq(strlen(got), sizeof(chunk));
	free(got);
	close(p[0]);
}

Test(fileio, read_file_checked)
{
	char *f = test_path(dir, "conf");
	struct nhi_file_rules rules = {.owner = geteuid(), .forbidden = 022};
	char *got = NULL;
	size_t len;

	test_write_file(f, "", 0, 0600);
	cr_assert_eq(nhi_read_file_checked(f, &rules, 100, &got, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(got, "");
	free(got);

	test_write_file(f, "line\n", 5, 0600);
	cr_assert_eq(nhi_read_file_checked(f, &rules, 100, &got, &len), 0);
	cr_assert_str_eq(got, "line\n");
	free(got);
	cr_assert_eq(nhi_read_file_checked(f, &rules, 4, &got, &len), NHI_ERR_FILE_TOO_LARGE);
	free(f);
}
