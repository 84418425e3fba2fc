#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authkeys.h"
#include "chain.h"
#include "err.h"
#include "log.h"

void nhi_chain_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* One argument with its tokens expanded; NULL and *ret_r on error. */
static char *expand_arg(const char *s, size_t len, const struct nhi_chain_tokens *t, int *ret_r)
{
	size_t cap = 1, pos = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		cap += s[i] == '%' ? 4096 : 1;
	if ((out = malloc(cap)) == NULL) {
		*ret_r = NHI_ERR_ALLOC;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		const char *add = NULL;

		if (s[i] != '%') {
			out[pos++] = s[i];
			continue;
		}
		switch (i + 1 < len ? s[++i] : '\0') {
		case 'u':
			add = t->user;
			break;
		case 'U':
			add = t->uid;
			break;
		case 'f':
			add = t->fingerprint;
			break;
		case 't':
			add = t->type;
			break;
		case 'k':
			add = t->key;
			break;
		case '%':
			add = "%";
			break;
		default:
			add = NULL;
			break;
		}
		if (add == NULL || strlen(add) >= 4096) {
			free(out);
			*ret_r = NHI_ERR_INVALID_FORMAT;
			return NULL;
		}
		memcpy(out + pos, add, strlen(add));
		pos += strlen(add);
	}
	out[pos] = '\0';
	return out;
}

int nhi_chain_argv(const char *command, const struct nhi_chain_tokens *t, char ***ret_argv)
{
	char **argv = calloc(NHI_CHAIN_ARGS_MAX + 1, sizeof(*argv));
	const char *p = command;
	size_t n = 0;
	int r = 0;

	*ret_argv = NULL;
	if (argv == NULL)
		return NHI_ERR_ALLOC;
	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (n == NHI_CHAIN_ARGS_MAX) {
			r = NHI_ERR_STRING_TOO_LARGE;
			break;
		}
		if ((argv[n] = expand_arg(p, len, t, &r)) == NULL)
			break;
		n++;
		p += len;
	}
	if (r == 0 && (n == 0 || argv[0][0] != '/'))
		r = NHI_ERR_INVALID_FORMAT;
	if (r < 0) {
		nhi_chain_argv_free(argv);
		return r;
	}
	*ret_argv = argv;
	return 0;
}

void nhi_chain_lines_free(char **lines, size_t n)
{
	for (size_t i = 0; lines != NULL && i < n; i++)
		free(lines[i]);
	free(lines);
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return true;
	return false;
}

int nhi_chain_lines(const char *out, size_t len, char ***ret_lines, size_t *ret_n)
{
	char **lines = calloc(NHI_CHAIN_LINES_MAX, sizeof(*lines));
	size_t n = 0, off = 0;
	unsigned no = 0;

	*ret_lines = NULL;
	*ret_n = 0;
	if (lines == NULL)
		return NHI_ERR_ALLOC;
	while (off < len) {
		const char *s = out + off, *nl = memchr(s, '\n', len - off), *reason = NULL;
		size_t ll = nl != NULL ? (size_t)(nl - s) : len - off;
		struct nhi_authkey *ak = NULL;

		off += ll + (nl != NULL);
		no++;
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (ll >= NHI_AUTHKEYS_LINE_MAX) {
			nhi_log_warning("chained command: line %u dropped: too long", no);
			continue;
		}
		if (has_control(s, ll)) {
			nhi_log_warning("chained command: line %u dropped: a control byte", no);
			continue;
		}
		/* Without the curve check (see authorized_keys.c): the broker
		 * checks each line in full, and the helper prints one only when
		 * it holds the key sshd offered. */
		if (nhi_authkeys_parse_line_for_match(s, ll, &ak, &reason) < 0) {
			nhi_log_warning("chained command: line %u dropped: %s", no,
			                reason != NULL ? reason : "does not parse");
			continue;
		}
		if (ak == NULL)
			continue;
		if (ak->opts.cert_authority) {
			nhi_log_warning("chained command: line %u dropped: cert-authority", no);
			nhi_authkey_free(ak);
			continue;
		}
		nhi_authkey_free(ak);
		if (n == NHI_CHAIN_LINES_MAX) {
			nhi_log_warning("chained command: more than %u key lines: the rest dropped",
			                NHI_CHAIN_LINES_MAX);
			break;
		}
		if ((lines[n] = strndup(s, ll)) == NULL) {
			nhi_chain_lines_free(lines, n);
			return NHI_ERR_ALLOC;
		}
		n++;
	}
	*ret_lines = lines;
	*ret_n = n;
	return 0;
}

/* sshd's rule for its helpers: the program and every directory above it
 * owned by root and writable by nobody else. */
static int program_is_safe(const char *program)
{
	char resolved[PATH_MAX], *slash;
	struct stat st;

	if (realpath(program, resolved) == NULL) {
		nhi_log_error("chained command %s: %s", program, strerror(errno));
		return NHI_ERR_NOT_FOUND;
	}
	if (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0 || (st.st_mode & 0111) == 0) {
		nhi_log_error("chained command %s: must be an executable file owned by root and "
		              "not writable by group or others",
		              resolved);
		return NHI_ERR_FILE_UNSAFE;
	}
	while ((slash = strrchr(resolved, '/')) != NULL) {
		*(slash == resolved ? slash + 1 : slash) = '\0';
		if (stat(resolved, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022) != 0) {
			nhi_log_error("chained command: directory %s must be owned by root and not "
			              "writable by group or others",
			              resolved);
			return NHI_ERR_FILE_UNSAFE;
		}
		if (slash == resolved)
			break;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: its own process group, so that a timeout kills whatever it
 * started; sshd's environment for a helper; nothing but the pipe. */
static void exec_child(char **argv, int out_fd)
{
	struct passwd *pw = getpwuid(getuid());
	char user[300], logname[300], home[4200];
	char *envp[] = {"PATH=/usr/bin:/bin:/usr/sbin:/sbin", user, logname, home, NULL};
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	snprintf(user, sizeof(user), "USER=%s", pw != NULL ? pw->pw_name : "");
	snprintf(logname, sizeof(logname), "LOGNAME=%s", pw != NULL ? pw->pw_name : "");
	snprintf(home, sizeof(home), "HOME=%s", pw != NULL ? pw->pw_dir : "/");
	if (setpgid(0, 0) < 0 || null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(null_fd, STDERR_FILENO) < 0)
		_exit(127);
	closefrom(STDERR_FILENO + 1);
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Reads the child's output until EOF, the cap or the deadline. 0, or
 * NHI_ERR_TIMEOUT / NHI_ERR_RESULT_TOO_LARGE. */
static int read_output(int fd, int64_t deadline, char *buf, size_t *ret_len)
{
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;
		int p;

		if (left <= 0)
			return NHI_ERR_TIMEOUT;
		p = poll(&pfd, 1, (int)left);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return NHI_ERR_SYSTEM;
		if (p == 0)
			return NHI_ERR_TIMEOUT;
		n = read(fd, buf + len, NHI_CHAIN_OUTPUT_MAX + 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return NHI_ERR_SYSTEM;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > NHI_CHAIN_OUTPUT_MAX)
			return NHI_ERR_RESULT_TOO_LARGE;
	}
	*ret_len = len;
	return 0;
}

/* Waits for the child until the deadline: its exit status, or -1 when it
 * had to be killed. */
static int reap(pid_t pid, int64_t deadline)
{
	int status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		usleep(2000);
	}
}

int nhi_chain_run(const char *command, const struct nhi_chain_tokens *t, int timeout_ms,
                  char ***ret_lines, size_t *ret_n)
{
	int64_t deadline = now_ms() + timeout_ms;
	char **argv = NULL, *out = NULL;
	size_t len = 0;
	int fds[2] = {-1, -1}, r, status;
	pid_t pid;

	*ret_lines = NULL;
	*ret_n = 0;
	if (getuid() == 0 || geteuid() == 0) {
		nhi_log_error("chained command: refused to run as root; set "
		              "AuthorizedKeysCommandUser to the helper user");
		return NHI_ERR_REFUSED;
	}
	if ((r = nhi_chain_argv(command, t, &argv)) < 0) {
		nhi_log_error(
		        "chained command: %s: an unknown token (use %%u %%U %%f %%t %%k %%%%) "
		        "or not an absolute path",
		        nhi_strerror(r));
		return r;
	}
	if ((r = program_is_safe(argv[0])) < 0)
		goto out;
	if ((out = malloc(NHI_CHAIN_OUTPUT_MAX + 1)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	if ((pid = fork()) < 0) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	if (pid == 0)
		exec_child(argv, fds[1]);
	close(fds[1]);
	fds[1] = -1;
	r = read_output(fds[0], deadline, out, &len);
	if (r < 0)
		deadline = 0; /* kill it now */
	status = reap(pid, deadline);
	if (r == NHI_ERR_TIMEOUT) {
		nhi_log_error("chained command %s: no answer within %d ms: killed", argv[0],
		              timeout_ms);
	} else if (r == NHI_ERR_RESULT_TOO_LARGE) {
		nhi_log_error("chained command %s: more than %u bytes of output: discarded",
		              argv[0], NHI_CHAIN_OUTPUT_MAX);
	} else if (r == 0 && status != 0) {
		nhi_log_error("chained command %s: exit status %d: output discarded", argv[0],
		              status);
		r = NHI_ERR_REFUSED;
	} else if (r == 0) {
		r = nhi_chain_lines(out, len, ret_lines, ret_n);
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(out);
	nhi_chain_argv_free(argv);
	return r;
}
