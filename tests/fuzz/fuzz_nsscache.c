/* Fuzzes the NSS cache reader, and the writer against it.
 *
 * First byte even: the rest is a cache image. Its checksum is recomputed
 * before it is opened (the checksum would otherwise stop almost every
 * input at the door), so the structural checks alone must keep every
 * lookup and enumeration inside the image.
 *
 * First byte odd: the rest drives a list of users and groups (4 bytes per
 * entry); the image built from it must open, and every entry must come
 * back by name and by id exactly as written. */
#include "config.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nsscache.h"
#include "fuzz.h"

#define MAX_ENTRIES 64

static char buf[8192];

static void reseal(uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (len < 40)
		return;
	memset(p + 32, 0, 8);
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h = htole64(h);
	memcpy(p + 32, &h, 8);
}

static void exercise(const struct nhi_nsscache *c)
{
	struct passwd pw;
	struct group gr;
	size_t cur = 0;
	uint32_t gid;
	int r;

	for (size_t i = 0; i < nhi_nsscache_user_count(c) && i < 256; i++) {
		r = nhi_nsscache_getpwent(c, i, &pw, buf, sizeof(buf));
		if (r == 0) {
			CHECK(pw.pw_name >= buf && pw.pw_shell < buf + sizeof(buf));
			(void)nhi_nsscache_getpwnam(c, pw.pw_name, &pw, buf, sizeof(buf));
			(void)nhi_nsscache_getpwuid(c, pw.pw_uid, &pw, buf, sizeof(buf));
		}
		(void)nhi_nsscache_getpwent(c, i, &pw, buf, 17);
	}
	for (size_t i = 0; i < nhi_nsscache_group_count(c) && i < 256; i++) {
		r = nhi_nsscache_getgrent(c, i, &gr, buf, sizeof(buf));
		if (r == 0) {
			(void)nhi_nsscache_getgrgid(c, gr.gr_gid, &gr, buf, sizeof(buf));
			if (nhi_nsscache_getgrent(c, i, &gr, buf, sizeof(buf)) == 0 && gr.gr_mem[0])
				while (nhi_nsscache_next_group_of(c, gr.gr_mem[0], &cur, &gid) == 0)
					;
		}
		(void)nhi_nsscache_getgrent(c, i, &gr, buf + 1, 23);
	}
	(void)nhi_nsscache_getpwnam(c, "root", &pw, buf, sizeof(buf));
	(void)nhi_nsscache_getgrnam(c, "ops", &gr, buf, sizeof(buf));
	(void)nhi_nsscache_getpwuid(c, 0, &pw, buf, sizeof(buf));
}

static void fuzz_image(const uint8_t *data, size_t size)
{
	struct nhi_nsscache *c = NULL;
	uint8_t *img = malloc(size ? size : 1);

	if (!img)
		return;
	memcpy(img, data, size);
	reseal(img, size);
	if (nhi_nsscache_from_memory(img, size, &c) == 0)
		exercise(c);
	nhi_nsscache_close(c);
	free(img);
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
	static char names[2 * MAX_ENTRIES][16];
	static const char *members[MAX_ENTRIES][4];
	struct nhi_nss_user users[MAX_ENTRIES];
	struct nhi_nss_group groups[MAX_ENTRIES];
	struct nhi_nsscache *c = NULL;
	size_t nu = 0, ng = 0, len = 0;
	uint8_t *img = NULL;
	struct passwd pw;
	struct group gr;
	int r;

	for (size_t i = 0; i + 4 <= size && nu + ng < MAX_ENTRIES; i += 4) {
		const uint8_t *e = data + i;
		uint32_t id = (uint32_t)e[1] << 8 | e[2];
		if (e[0] & 1) {
			snprintf(names[nu], sizeof(names[nu]), "u%02x", e[3]);
			users[nu] = (struct nhi_nss_user){names[nu], id, e[3], "g", "/h", "/s"};
			nu++;
		} else {
			char *n = names[MAX_ENTRIES + ng];
			size_t k = 0;
			snprintf(n, 16, "g%02x", e[3]);
			for (size_t j = 0; j < nu && k < 4; j++)
				if ((e[0] >> (1 + j % 7)) & 1)
					members[ng][k++] = users[j].name;
			groups[ng] = (struct nhi_nss_group){n, id, members[ng], k};
			ng++;
		}
	}
	r = nhi_nsscache_build(1, users, nu, groups, ng, &img, &len);
	if (r == NHI_ERR_EXISTS)
		return;
	CHECK(r == 0);
	CHECK(nhi_nsscache_from_memory(img, len, &c) == 0);
	for (size_t i = 0; i < nu; i++) {
		CHECK(nhi_nsscache_getpwnam(c, users[i].name, &pw, buf, sizeof(buf)) == 0);
		CHECK(pw.pw_uid == users[i].uid && !strcmp(pw.pw_name, users[i].name));
		CHECK(nhi_nsscache_getpwuid(c, users[i].uid, &pw, buf, sizeof(buf)) == 0);
		CHECK(!strcmp(pw.pw_name, users[i].name));
	}
	for (size_t i = 0; i < ng; i++) {
		CHECK(nhi_nsscache_getgrgid(c, groups[i].gid, &gr, buf, sizeof(buf)) == 0);
		CHECK(!strcmp(gr.gr_name, groups[i].name));
		for (size_t j = 0; j < groups[i].n_members; j++)
			CHECK(gr.gr_mem[j] && !strcmp(gr.gr_mem[j], groups[i].members[j]));
		CHECK(gr.gr_mem[groups[i].n_members] == NULL);
	}
	exercise(c);
	nhi_nsscache_close(c);
	free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_round_trip(data + 1, size - 1);
	else
		fuzz_image(data + 1, size - 1);
	return 0;
}
