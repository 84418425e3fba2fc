#include "config.h"

#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "nsscache.h"

static const struct nhi_nss_user users[] = {
        {"alice", 70001, 70001, "Alice Example", "/home/alice", "/bin/bash"},
        {"bob", 70002, 70100, "", "/home/bob", "/bin/sh"},
        {"deploy-bot", 70003, 70100, NULL, "/var/lib/deploy", "/usr/sbin/nologin"},
};
static const char *const ops_members[] = {"alice", "bob", "root"};
static const char *const alice_members[] = {"alice"};
static const struct nhi_nss_group groups[] = {
        {"alice", 70001, alice_members, 1},
        {"ops", 70100, ops_members, 3},
        {"empty", 70200, NULL, 0},
};

static uint8_t *image;
static size_t image_len;
static struct nhi_nsscache *cache;
static char buf[4096];

static void build(void)
{
	cr_assert_eq(nhi_nsscache_build(7, users, 3, groups, 3, &image, &image_len), 0);
}

static void build_open(void)
{
	build();
	cr_assert_eq(nhi_nsscache_from_memory(image, image_len, &cache), 0);
}

static void teardown(void)
{
	nhi_nsscache_close(cache);
	cache = NULL;
	free(image);
	image = NULL;
}

/* The format's documented layout, written independently of the library. */
static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void reseal(uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	memset(p + 32, 0, 8);
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h = htole64(h);
	memcpy(p + 32, &h, 8);
}

static int open_copy(const uint8_t *p, size_t len)
{
	struct nhi_nsscache *c = NULL;
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	cr_assert_not_null(copy);
	memcpy(copy, p, len);
	r = nhi_nsscache_from_memory(copy, len, &c);
	if (r == 0) {
		/* Whatever opened must answer every query without crashing. */
		struct passwd pw;
		struct group gr;
		size_t cur = 0;
		uint32_t gid;
		for (size_t i = 0; i < 4; i++) {
			(void)nhi_nsscache_getpwent(c, i, &pw, buf, sizeof(buf));
			(void)nhi_nsscache_getgrent(c, i, &gr, buf, sizeof(buf));
		}
		(void)nhi_nsscache_getpwnam(c, "alice", &pw, buf, sizeof(buf));
		(void)nhi_nsscache_getpwuid(c, 70002, &pw, buf, sizeof(buf));
		(void)nhi_nsscache_getgrnam(c, "ops", &gr, buf, sizeof(buf));
		(void)nhi_nsscache_getgrgid(c, 70100, &gr, buf, sizeof(buf));
		while (nhi_nsscache_next_group_of(c, "alice", &cur, &gid) == 0)
			;
		nhi_nsscache_close(c);
	}
	free(copy);
	return r;
}

TestSuite(nsscache, .fini = teardown);

Test(nsscache, users_by_name_and_uid)
{
	struct passwd pw;

	build_open();
	cr_assert_eq(nhi_nsscache_generation(cache), 7);
	cr_assert_eq(nhi_nsscache_user_count(cache), 3);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, sizeof(buf)), 0);
	cr_assert_str_eq(pw.pw_name, "alice");
	cr_assert_str_eq(pw.pw_passwd, "x");
	cr_assert_eq(pw.pw_uid, 70001);
	cr_assert_eq(pw.pw_gid, 70001);
	cr_assert_str_eq(pw.pw_gecos, "Alice Example");
	cr_assert_str_eq(pw.pw_dir, "/home/alice");
	cr_assert_str_eq(pw.pw_shell, "/bin/bash");
	cr_assert_eq(nhi_nsscache_getpwuid(cache, 70003, &pw, buf, sizeof(buf)), 0);
	cr_assert_str_eq(pw.pw_name, "deploy-bot");
	cr_assert_str_eq(pw.pw_gecos, "");
	cr_assert_str_eq(pw.pw_shell, "/usr/sbin/nologin");
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "bob", &pw, buf, sizeof(buf)), 0);
	cr_assert_eq(pw.pw_uid, 70002);
	cr_assert_eq(pw.pw_gid, 70100);
}

Test(nsscache, misses_and_invalid_names)
{
	struct passwd pw;
	struct group gr;

	build_open();
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "carol", &pw, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "../alice", &pw, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "", &pw, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwuid(cache, 0, &pw, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwuid(cache, 70004, &pw, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "wheel", &gr, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 70001 + 1, &gr, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwent(cache, 3, &pw, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getgrent(cache, 3, &gr, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
}

Test(nsscache, groups_and_members)
{
	struct group gr;

	build_open();
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "ops", &gr, buf, sizeof(buf)), 0);
	cr_assert_eq(gr.gr_gid, 70100);
	cr_assert_str_eq(gr.gr_name, "ops");
	cr_assert_str_eq(gr.gr_mem[0], "alice");
	cr_assert_str_eq(gr.gr_mem[1], "bob");
	cr_assert_str_eq(gr.gr_mem[2], "root");
	cr_assert_null(gr.gr_mem[3]);
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 70200, &gr, buf, sizeof(buf)), 0);
	cr_assert_str_eq(gr.gr_name, "empty");
	cr_assert_null(gr.gr_mem[0]);
	/* An unaligned buffer still yields an aligned member array. */
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 70001, &gr, buf + 1, sizeof(buf) - 1), 0);
	cr_assert_str_eq(gr.gr_mem[0], "alice");
	cr_assert_eq((uintptr_t)gr.gr_mem % sizeof(char *), 0);
}

Test(nsscache, enumeration_in_file_order)
{
	struct passwd pw;
	struct group gr;

	build_open();
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(nhi_nsscache_getpwent(cache, i, &pw, buf, sizeof(buf)), 0);
		cr_assert_str_eq(pw.pw_name, users[i].name);
		cr_assert_eq(nhi_nsscache_getgrent(cache, i, &gr, buf, sizeof(buf)), 0);
		cr_assert_str_eq(gr.gr_name, groups[i].name);
	}
}

Test(nsscache, groups_of_user)
{
	size_t cur = 0;
	uint32_t gid, got[4];
	size_t n = 0;

	build_open();
	while (nhi_nsscache_next_group_of(cache, "alice", &cur, &gid) == 0)
		got[n++] = gid;
	cr_assert_eq(n, 2);
	cr_assert_eq(got[0], 70001);
	cr_assert_eq(got[1], 70100);
	cur = 0;
	n = 0;
	while (nhi_nsscache_next_group_of(cache, "root", &cur, &gid) == 0)
		got[n++] = gid;
	cr_assert_eq(n, 1);
	cr_assert_eq(got[0], 70100);
	cur = 0;
	cr_assert_eq(nhi_nsscache_next_group_of(cache, "nobody", &cur, &gid), NHI_ERR_NOT_FOUND);
}

Test(nsscache, small_buffer_is_distinct)
{
	struct passwd pw;
	struct group gr;
	size_t need;

	build_open();
	for (need = 0; need < 64; need++)
		if (nhi_nsscache_getpwnam(cache, "alice", &pw, buf, need) == 0)
			break;
	/* "alice" "x" "Alice Example" "/home/alice" "/bin/bash" with NULs. */
	cr_assert_eq(need, 6 + 2 + 14 + 12 + 10);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, need - 1),
	             NHI_ERR_RESULT_TOO_LARGE);
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "ops", &gr, buf, 8), NHI_ERR_RESULT_TOO_LARGE);
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "ops", &gr, buf, 0), NHI_ERR_RESULT_TOO_LARGE);
}

Test(nsscache, build_refuses_bad_input)
{
	struct nhi_nss_user u[2] = {users[0], users[1]};
	struct nhi_nss_group g[2] = {groups[0], groups[1]};
	static const char *const bad_member[] = {"al:ice"};

	u[1].name = "alice";
	cr_assert_eq(nhi_nsscache_build(1, u, 2, NULL, 0, &image, &image_len), NHI_ERR_EXISTS);
	u[1] = users[1];
	u[1].uid = users[0].uid;
	cr_assert_eq(nhi_nsscache_build(1, u, 2, NULL, 0, &image, &image_len), NHI_ERR_EXISTS);
	u[1] = users[1];
	u[1].gecos = "a:b";
	cr_assert_eq(nhi_nsscache_build(1, u, 2, NULL, 0, &image, &image_len),
	             NHI_ERR_INVALID_ARGUMENT);
	u[1].gecos = "x";
	u[1].shell = "/bin/sh\n";
	cr_assert_eq(nhi_nsscache_build(1, u, 2, NULL, 0, &image, &image_len),
	             NHI_ERR_INVALID_ARGUMENT);
	u[1].shell = "/bin/sh";
	u[1].name = "Bob";
	cr_assert_eq(nhi_nsscache_build(1, u, 2, NULL, 0, &image, &image_len),
	             NHI_ERR_INVALID_ARGUMENT);
	g[1].gid = g[0].gid;
	cr_assert_eq(nhi_nsscache_build(1, NULL, 0, g, 2, &image, &image_len), NHI_ERR_EXISTS);
	g[1] = groups[1];
	g[1].name = "alice";
	cr_assert_eq(nhi_nsscache_build(1, NULL, 0, g, 2, &image, &image_len), NHI_ERR_EXISTS);
	g[1] = groups[1];
	g[1].members = bad_member;
	g[1].n_members = 1;
	cr_assert_eq(nhi_nsscache_build(1, NULL, 0, g, 2, &image, &image_len),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(image);
}

Test(nsscache, empty_cache)
{
	struct passwd pw;

	cr_assert_eq(nhi_nsscache_build(1, NULL, 0, NULL, 0, &image, &image_len), 0);
	cr_assert_eq(nhi_nsscache_from_memory(image, image_len, &cache), 0);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_getpwent(cache, 0, &pw, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
}

Test(nsscache, truncated_at_every_byte)
{
	build();
	for (size_t n = 0; n < image_len; n++)
		cr_assert_lt(open_copy(image, n), 0, "opened an image cut at %zu bytes", n);
	cr_assert_eq(open_copy(image, image_len), 0);
}

Test(nsscache, every_single_byte_flip_is_caught)
{
	build();
	for (size_t i = 0; i < image_len; i++) {
		image[i] ^= 0x01;
		cr_assert_lt(open_copy(image, image_len), 0, "flip at %zu not detected", i);
		image[i] ^= 0x01;
	}
}

Test(nsscache, wrong_magic_version_checksum)
{
	build();
	image[0] = 'X';
	cr_assert_eq(open_copy(image, image_len), NHI_ERR_CACHE_CORRUPT);
	image[0] = 'N';
	wr32(image + 8, 2);
	reseal(image, image_len);
	cr_assert_eq(open_copy(image, image_len), NHI_ERR_CACHE_VERSION);
	wr32(image + 8, 1);
	cr_assert_eq(open_copy(image, image_len), NHI_ERR_CACHE_CORRUPT); /* stale checksum */
	reseal(image, image_len);
	cr_assert_eq(open_copy(image, image_len), 0);
}

/* Resealed images: only the structural checks stand between them and a crash. */
Test(nsscache, offsets_past_the_end)
{
	build();
	for (int s = 0; s < 8; s++) {
		uint8_t *copy = malloc(image_len);
		memcpy(copy, image, image_len);
		wr32(copy + 56 + s * 8, (uint32_t)image_len);
		reseal(copy, image_len);
		cr_assert_eq(open_copy(copy, image_len), NHI_ERR_CACHE_CORRUPT, "section %d", s);
		memcpy(copy, image, image_len);
		wr32(copy + 60 + s * 8, 0xfffffffcu);
		reseal(copy, image_len);
		cr_assert_eq(open_copy(copy, image_len), NHI_ERR_CACHE_CORRUPT, "section %d", s);
		free(copy);
	}
}

Test(nsscache, huge_counts)
{
	build();
	for (int f = 44; f <= 52; f += 4) {
		uint8_t *copy = malloc(image_len);
		memcpy(copy, image, image_len);
		wr32(copy + f, 0xffffffffu);
		reseal(copy, image_len);
		cr_assert_eq(open_copy(copy, image_len), NHI_ERR_CACHE_CORRUPT);
		wr32(copy + f, rd32(image + f) + 1);
		reseal(copy, image_len);
		cr_assert_eq(open_copy(copy, image_len), NHI_ERR_CACHE_CORRUPT);
		free(copy);
	}
}

Test(nsscache, string_and_member_offsets_out_of_range)
{
	struct passwd pw;
	struct group gr;
	uint32_t users_off, groups_off;

	build();
	users_off = rd32(image + 56);
	groups_off = rd32(image + 64);
	wr32(image + users_off + 8, 0x7fffffffu);       /* alice's name offset */
	wr32(image + groups_off + 16 + 8, 0x7ffffff0u); /* ops: first member */
	reseal(image, image_len);
	cr_assert_eq(nhi_nsscache_from_memory(image, image_len, &cache), 0);
	cr_assert_eq(nhi_nsscache_getpwent(cache, 0, &pw, buf, sizeof(buf)), NHI_ERR_CACHE_CORRUPT);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, sizeof(buf)) < 0, 1);
	cr_assert_eq(nhi_nsscache_getgrent(cache, 1, &gr, buf, sizeof(buf)), NHI_ERR_CACHE_CORRUPT);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "bob", &pw, buf, sizeof(buf)), 0);
}

Test(nsscache, looping_chain_terminates)
{
	struct passwd pw;
	uint32_t off, len, nb;

	build();
	off = rd32(image + 56 + 4 * 8); /* user-by-name index */
	len = rd32(image + 60 + 4 * 8);
	nb = len / 4 - 3;
	for (uint32_t b = 0; b < nb; b++)
		wr32(image + off + b * 4, 1); /* every bucket starts at alice */
	wr32(image + off + nb * 4, 1);        /* and alice links to herself */
	reseal(image, image_len);
	cr_assert_eq(nhi_nsscache_from_memory(image, image_len, &cache), 0);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, sizeof(buf)), 0);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "bob", &pw, buf, sizeof(buf)),
	             NHI_ERR_CACHE_CORRUPT);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "nobody", &pw, buf, sizeof(buf)),
	             NHI_ERR_CACHE_CORRUPT);
	/* A link past the records. */
	wr32(image + off + nb * 4, 99);
	nhi_nsscache_close(cache);
	cache = NULL;
	reseal(image, image_len);
	cr_assert_eq(nhi_nsscache_from_memory(image, image_len, &cache), 0);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "bob", &pw, buf, sizeof(buf)),
	             NHI_ERR_CACHE_CORRUPT);
}

Test(nsscache, write_then_open_from_disk)
{
	char dir[] = "/tmp/nsscache-XXXXXX", path[64], link[64];
	struct passwd pw;
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(nhi_nsscache_open(path, &cache), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_write(path, 3, users, 3, groups, 3), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(nhi_nsscache_open(path, &cache), 0);
	cr_assert(nhi_nsscache_is_current(cache, &st));
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "bob", &pw, buf, sizeof(buf)), 0);
	cr_assert_eq(nhi_nsscache_write(path, 4, users, 2, groups, 3), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_not(nhi_nsscache_is_current(cache, &st));
	/* The old mapping still answers after the rename. */
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "deploy-bot", &pw, buf, sizeof(buf)), 0);
	nhi_nsscache_close(cache);
	cache = NULL;
	cr_assert_eq(nhi_nsscache_open(path, &cache), 0);
	cr_assert_eq(nhi_nsscache_generation(cache), 4);
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "deploy-bot", &pw, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	nhi_nsscache_close(cache);
	cache = NULL;
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_lt(nhi_nsscache_open(link, &cache), 0);
	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_eq(nhi_nsscache_open(path, &cache), NHI_ERR_FILE_UNSAFE);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

/* Duplicates are found among many records, where a chain holds several
 * names and the writer compares hashes before strings. */
Test(nsscache, duplicates_found_among_many)
{
	enum { N = 3000 };
	struct nhi_nss_user *u = calloc(N + 1, sizeof(*u));
	struct nhi_nss_group *g = calloc(N + 1, sizeof(*g));
	static char names[N][16];

	cr_assert(u != NULL && g != NULL);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "n%05u", i);
		u[i] = (struct nhi_nss_user){.name = names[i], .uid = 10000 + i, .gid = 10000 + i};
		g[i] = (struct nhi_nss_group){.name = names[i], .gid = 10000 + i};
	}
	cr_assert_eq(nhi_nsscache_build(1, u, N, g, N, &image, &image_len), 0);
	free(image);
	image = NULL;
	u[N] = u[N / 2];
	u[N].uid = 99999;
	cr_expect_eq(nhi_nsscache_build(1, u, N + 1, NULL, 0, &image, &image_len), NHI_ERR_EXISTS,
	             "a repeated user name");
	g[N] = g[N - 1];
	g[N].gid = 99999;
	cr_expect_eq(nhi_nsscache_build(1, NULL, 0, g, N + 1, &image, &image_len), NHI_ERR_EXISTS,
	             "a repeated group name");
	cr_expect_null(image);
	free(u);
	free(g);
}

Test(nsscache, read_generation_from_the_header)
{
	char dir[] = "/tmp/nsscache-gen-XXXXXX";
	char path[64], link[64], bad[64];
	uint8_t head[128];
	uint64_t gen = 0;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	cr_expect_eq(nhi_nsscache_read_generation(path, &gen), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_write(path, 123456789, users, 3, groups, 3), 0);
	cr_expect_eq(nhi_nsscache_read_generation(path, &gen), 0);
	cr_expect_eq(gen, 123456789);

	/* A file cut short of the length its header claims. */
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	f = fopen(bad, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	gen = 0;
	cr_expect_eq(nhi_nsscache_read_generation(bad, &gen), NHI_ERR_CACHE_CORRUPT);
	cr_expect_eq(gen, 0, "untouched on failure");
	/* Shorter than a header, and another magic. */
	cr_assert_eq(truncate(bad, 40), 0);
	cr_expect_eq(nhi_nsscache_read_generation(bad, &gen), NHI_ERR_CACHE_CORRUPT);
	head[0] ^= 1;
	f = fopen(bad, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	cr_expect_eq(nhi_nsscache_read_generation(bad, &gen), NHI_ERR_CACHE_CORRUPT);
	/* No symlink followed, no directory read. */
	cr_assert_eq(symlink(path, link), 0);
	cr_expect_lt(nhi_nsscache_read_generation(link, &gen), 0);
	cr_expect_eq(nhi_nsscache_read_generation(dir, &gen), NHI_ERR_FILE_UNSAFE);
	cr_expect_eq(nhi_nsscache_read_generation(NULL, &gen), NHI_ERR_INVALID_ARGUMENT);
	unlink(link);
	unlink(bad);
	unlink(path);
	rmdir(dir);
}
