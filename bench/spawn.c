/* spawn: wall time of two commands run alternately, as a process that
 * execs them would see it (fork, exec, read all of stdout, wait). The
 * order swaps every round so that neither side gains from the other
 * warming a cache. Prints median and p99 of each and their ratio. Each
 * run must exit 0 and print something, so a command that fails cannot
 * look fast. Used by bench/helper.sh and bench/login.sh.
 *
 *   spawn [-n ROUNDS] [-w WARMUP] [-t TARGET] \
 *         LABEL USER PROGRAM [ARG...] ::: LABEL USER PROGRAM [ARG...]
 *
 * USER is the account each command runs as ("-": unchanged); PROGRAM is an
 * absolute path. TARGET is only printed next to the ratio. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS_MAX 100000L

struct side {
	const char *label;
	const char *user;
	char **argv;
	double *us;
	size_t bytes;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One run: returns its wall time in µs, or a negative value on failure. */
static double run_once(const struct side *s, size_t *ret_bytes)
{
	char buf[65536];
	struct passwd *pw = NULL;
	size_t bytes = 0;
	int fds[2], status;
	double t0, t1;
	ssize_t n;
	pid_t pid;

	if (strcmp(s->user, "-") != 0 && (pw = getpwnam(s->user)) == NULL) {
		fprintf(stderr, "spawn: no user '%s'\n", s->user);
		return -1;
	}
	if (pipe(fds) < 0)
		return -1;
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(126);
		close(fds[1]);
		if (pw != NULL && (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
		                   setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0))
			_exit(126);
		execv(s->argv[0], s->argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		bytes += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	t1 = now_us();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bytes == 0) {
		fprintf(stderr, "spawn: %s failed (status %d, %zu bytes of output)\n", s->label,
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1, bytes);
		return -1;
	}
	*ret_bytes = bytes;
	return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest rank. */
static double p99(const double *v, size_t n)
{
	size_t rank = (size_t)((99 * n + 99) / 100);

	return v[rank > 0 ? rank - 1 : 0];
}

static int usage(void)
{
	fprintf(stderr, "usage: spawn [-n ROUNDS] [-w WARMUP] [-t TARGET] "
	                "LABEL USER PROGRAM [ARG...] ::: LABEL USER PROGRAM [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct side sides[2] = {{0}};
	long rounds = 200, warmup = 5;
	const char *target = NULL;
	int opt, first = 0, sep = -1;
	size_t bytes;

	while ((opt = getopt(argc, argv, "+n:w:t:")) != -1) {
		switch (opt) {
		case 'n':
			rounds = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		case 't':
			target = optarg;
			break;
		default:
			return usage();
		}
	}
	if (rounds < 1 || rounds > ROUNDS_MAX || warmup < 0 || warmup > ROUNDS_MAX)
		return usage();
	first = optind;
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], ":::") == 0) {
			sep = i;
			argv[i] = NULL;
			break;
		}
	}
	if (sep < 0 || sep - first < 3 || argc - sep - 1 < 3)
		return usage();
	sides[0] = (struct side){argv[first], argv[first + 1], argv + first + 2, NULL, 0};
	sides[1] = (struct side){argv[sep + 1], argv[sep + 2], argv + sep + 3, NULL, 0};
	for (int s = 0; s < 2; s++) {
		if (sides[s].argv[0][0] != '/')
			return usage();
		if ((sides[s].us = calloc((size_t)rounds, sizeof(double))) == NULL)
			return 1;
	}

	for (long r = -warmup; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			int s = (r & 1) ? 1 - k : k;
			double us = run_once(&sides[s], &bytes);

			if (us < 0)
				return 1;
			if (r >= 0)
				sides[s].us[r] = us;
			sides[s].bytes = bytes;
		}
	}

	printf("%ld rounds alternating (after %ld warm-up rounds), wall time per run\n", rounds,
	       warmup);
	printf("%-28s %12s %12s %10s\n", "command", "median us", "p99 us", "bytes out");
	for (int s = 0; s < 2; s++) {
		qsort(sides[s].us, (size_t)rounds, sizeof(double), cmp_double);
		printf("%-28s %12.0f %12.0f %10zu\n", sides[s].label,
		       median(sides[s].us, (size_t)rounds), p99(sides[s].us, (size_t)rounds),
		       sides[s].bytes);
	}
	printf("ratio %s / %s: median %.3f, p99 %.3f", sides[0].label, sides[1].label,
	       median(sides[0].us, (size_t)rounds) / median(sides[1].us, (size_t)rounds),
	       p99(sides[0].us, (size_t)rounds) / p99(sides[1].us, (size_t)rounds));
	if (target != NULL)
		printf("  (target <= %s)", target);
	putchar('\n');
	free(sides[0].us);
	free(sides[1].us);
	return 0;
}
