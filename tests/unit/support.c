#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

char *test_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	cr_assert(asprintf(&dir, "%s/nhi-test.XXXXXX", tmp != NULL ? tmp : "/tmp") > 0);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void test_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *test_path(const char *dir, const char *name)
{
	char *p;

	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

void test_write_file(const char *path, const void *data, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

char *test_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0;

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	{
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			data = realloc(data, len + n + 1);
			cr_assert_not_null(data);
			memcpy(data + len, chunk, n);
			len += n;
		}
	}
	fclose(f);
	if (data == NULL)
		data = calloc(1, 1);
	data[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	return data;
}

int test_run(char *const argv[], char **ret_output)
{
	int pipefd[2], status;
	char *out = NULL;
	size_t len = 0;
	pid_t pid;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pipefd[0], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out = realloc(out, len + (size_t)n + 1);
		cr_assert_not_null(out);
		memcpy(out + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(pipefd[0]);
	if (out == NULL)
		out = calloc(1, 1);
	out[len] = '\0';
	if (ret_output != NULL)
		*ret_output = out;
	else
		free(out);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *test_ssh_keygen(void)
{
	const char *p = getenv("SSH_KEYGEN");

	return p != NULL && *p != '\0' ? p : "ssh-keygen";
}
