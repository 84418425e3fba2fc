/* nhi-nsscache-write PATH GENERATION: writes an NSS cache from lines on
 * standard input, for the tests (the broker writes the real one):
 *
 *   user:NAME:UID:GID:GECOS:HOME:SHELL
 *   group:NAME:GID:MEMBER,MEMBER,...
 *
 * Exit status 0, or 1 with the error on standard error. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nsscache.h"

#define MAX_ENTRIES 4096
#define MAX_MEMBERS 256

static struct nhi_nss_user users[MAX_ENTRIES];
static struct nhi_nss_group groups[MAX_ENTRIES];
static const char *members[MAX_ENTRIES][MAX_MEMBERS];

/* Splits s at ':' into at most n fields; returns how many. */
static size_t split(char *s, char sep, char **f, size_t n)
{
	size_t i = 0;

	while (i < n) {
		f[i++] = s;
		s = strchr(s, sep);
		if (!s)
			break;
		*s++ = '\0';
	}
	return s ? n + 1 : i;
}

static int parse_id(const char *s, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	size_t nu = 0, ng = 0, lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t generation;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: nhi-nsscache-write PATH GENERATION < entries\n");
		return 1;
	}
	generation = strtoull(argv[2], NULL, 10);
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *f[8];
		size_t n;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		n = split(line, ':', f, 7);
		if (n == 7 && !strcmp(f[0], "user") && nu < MAX_ENTRIES) {
			struct nhi_nss_user *u = &users[nu];
			if (parse_id(f[2], &u->uid) || parse_id(f[3], &u->gid))
				goto bad;
			u->name = strdup(f[1]);
			u->gecos = strdup(f[4]);
			u->home = strdup(f[5]);
			u->shell = strdup(f[6]);
			if (!u->name || !u->gecos || !u->home || !u->shell)
				goto bad;
			nu++;
		} else if (n == 4 && !strcmp(f[0], "group") && ng < MAX_ENTRIES) {
			struct nhi_nss_group *g = &groups[ng];
			char *m[MAX_MEMBERS];
			size_t k = 0;
			if (parse_id(f[2], &g->gid))
				goto bad;
			g->name = strdup(f[1]);
			if (!g->name)
				goto bad;
			if (f[3][0]) {
				char *copy = strdup(f[3]);
				if (!copy)
					goto bad;
				k = split(copy, ',', m, MAX_MEMBERS);
				if (k > MAX_MEMBERS)
					goto bad;
				for (size_t j = 0; j < k; j++)
					members[ng][j] = m[j];
			}
			g->members = members[ng];
			g->n_members = k;
			ng++;
		} else {
			goto bad;
		}
	}
	free(line);
	r = nhi_nsscache_write(argv[1], generation, users, nu, groups, ng);
	if (r < 0) {
		fprintf(stderr, "nhi-nsscache-write: %s: %s\n", argv[1], nhi_strerror(r));
		return 1;
	}
	return 0;
bad:
	fprintf(stderr, "nhi-nsscache-write: line %zu: not a valid entry\n", lineno);
	free(line);
	return 1;
}
