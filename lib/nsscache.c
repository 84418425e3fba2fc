/* The NSS cache file: writer and reader.
 *
 * Every integer is little-endian and read with memcpy, so no field needs
 * alignment in the mapping. Layout:
 *
 *   header (128 bytes)
 *     0  magic "NHINSSC\n"
 *     8  u32 format version (1)
 *    12  u32 header length (128)
 *    16  u64 generation (grows with every rewrite)
 *    24  u64 file length
 *    32  u64 checksum: 64-bit FNV-1a of the whole file, this field read as 0
 *    40  u32 hash seed (random per file, against crafted collisions)
 *    44  u32 user count, 48 u32 group count, 52 u32 member count (all groups)
 *    56  8 sections, each u32 offset + u32 length, in this order:
 *        users, groups, members, strings, and the four indexes
 *        user-by-name, user-by-uid, group-by-name, group-by-gid
 *   120  u32 reserved (0), pad to 128
 *   users:   per user 6 x u32: uid, gid, and string offsets of name, gecos,
 *            home, shell
 *   groups:  per group 4 x u32: gid, name offset, first member, member count
 *   members: per member u32 string offset of the user name
 *   strings: NUL-terminated strings; offset 0 is the empty string
 *   index:   chained hash: B bucket heads (B a power of two) then one "next"
 *            per record; both hold a record index + 1, 0 ending the chain
 *
 * The reader checks the header, each section against the file length and
 * the record counts, and the checksum once at open. Every later access is
 * bounds-checked again (a string must end inside the string section, an
 * index must name a record), and a chain walk stops after as many steps as
 * there are records, so a crafted loop ends. Libc only: nss_nhi links it. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "names.h"
#include "nsscache.h"

#define MAGIC          "NHINSSC\n"
#define FORMAT_VERSION 1u
#define HEADER_LEN     128u
#define OFF_CHECKSUM   32u
#define N_SECTIONS     8
#define USER_REC       24u
#define GROUP_REC      16u
#define STRING_MAX     4096u      /* gecos, home, shell */
#define RECORDS_MAX    (1u << 24) /* users, groups, members: far above any host */
#define FILE_MAX       ((uint64_t)1 << 31)

enum { SEC_USERS, SEC_GROUPS, SEC_MEMBERS, SEC_STRINGS, SEC_UNAME, SEC_UID, SEC_GNAME, SEC_GID };

struct section {
	uint32_t off, len;
};

struct nhi_nsscache {
	const uint8_t *base;
	size_t len;
	bool mapped;
	struct stat st;
	uint64_t generation;
	uint32_t seed, n_users, n_groups, n_members;
	struct section sec[N_SECTIONS];
	uint32_t user_buckets, group_buckets;
};

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static uint64_t image_checksum(const uint8_t *p, size_t len)
{
	static const uint8_t zero[8];
	uint64_t h = fnv1a(FNV_OFFSET, p, OFF_CHECKSUM);

	h = fnv1a(h, zero, sizeof(zero));
	return fnv1a(h, p + OFF_CHECKSUM + 8, len - OFF_CHECKSUM - 8);
}

/* Mixes the seed in first so that bucket placement differs per file. */
static uint32_t hash_name(uint32_t seed, const char *name)
{
	uint8_t s[4];

	put32(s, seed);
	uint64_t h = fnv1a(FNV_OFFSET, s, sizeof(s));
	h = fnv1a(h, (const uint8_t *)name, strlen(name));
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t hash_id(uint32_t seed, uint32_t id)
{
	uint64_t h = ((uint64_t)seed << 32 | id) * 0x9e3779b97f4a7c15ULL;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static uint32_t buckets_for(uint32_t n)
{
	uint32_t b = 8;

	while (b < n)
		b <<= 1;
	return b;
}

/* ---- writer ---- */

static bool field_is_valid(const char *s, bool allow_empty)
{
	size_t n;

	if (!s)
		return allow_empty;
	n = strnlen(s, STRING_MAX + 1);
	if (n > STRING_MAX || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':' || s[i] == '\n' || (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

struct builder {
	uint8_t *img;
	uint32_t pool_off, pool_used;
};

static uint32_t pool_add(struct builder *b, const char *s)
{
	size_t n;
	uint32_t off;

	if (!s || !*s)
		return 0;
	n = strlen(s) + 1;
	off = b->pool_used;
	memcpy(b->img + b->pool_off + off, s, n);
	b->pool_used += (uint32_t)n;
	return off;
}

/* Inserts record idx into the index at sec; the caller checks duplicates. */
static void index_insert(uint8_t *img, const struct section *sec, uint32_t nb, uint32_t h,
                         uint32_t idx)
{
	uint8_t *heads = img + sec->off, *next = heads + (size_t)nb * 4;
	uint32_t b = h & (nb - 1);

	put32(next + (size_t)idx * 4, le32(heads + (size_t)b * 4));
	put32(heads + (size_t)b * 4, idx + 1);
}

/* hashes holds each inserted record's full name hash: a record whose hash
 * differs cannot hold the name, so its string (a cache miss away in a
 * large image) is compared only when the hashes match. */
static bool chain_has_name(const uint8_t *img, const struct section *sec, uint32_t nb, uint32_t h,
                           const uint32_t *hashes, const struct section *recs, uint32_t rec_size,
                           uint32_t name_field, uint32_t pool_off, const char *name)
{
	const uint8_t *heads = img + sec->off, *next = heads + (size_t)nb * 4;

	for (uint32_t i = le32(heads + (size_t)(h & (nb - 1)) * 4); i;
	     i = le32(next + (size_t)(i - 1) * 4)) {
		const uint8_t *r = img + recs->off + (size_t)(i - 1) * rec_size;
		if (hashes[i - 1] == h &&
		    !strcmp((const char *)img + pool_off + le32(r + name_field), name))
			return true;
	}
	return false;
}

static bool chain_has_id(const uint8_t *img, const struct section *sec, uint32_t nb, uint32_t h,
                         const struct section *recs, uint32_t rec_size, uint32_t id_field,
                         uint32_t id)
{
	const uint8_t *heads = img + sec->off, *next = heads + (size_t)nb * 4;

	for (uint32_t i = le32(heads + (size_t)(h & (nb - 1)) * 4); i;
	     i = le32(next + (size_t)(i - 1) * 4))
		if (le32(img + recs->off + (size_t)(i - 1) * rec_size + id_field) == id)
			return true;
	return false;
}

int nhi_nsscache_build(uint64_t generation, const struct nhi_nss_user *users, size_t n_users,
                       const struct nhi_nss_group *groups, size_t n_groups, uint8_t **ret_image,
                       size_t *ret_len)
{
	uint64_t pool_len = 1, n_members = 0, total;
	uint32_t ub, gb, seed, mi = 0;
	struct section sec[N_SECTIONS];
	struct builder b = {0};
	uint8_t *img = NULL;
	uint32_t *name_hashes = NULL;
	int r;

	if (!ret_image || !ret_len || (n_users && !users) || (n_groups && !groups))
		return NHI_ERR_INVALID_ARGUMENT;
	if (n_users > RECORDS_MAX || n_groups > RECORDS_MAX)
		return NHI_ERR_TOO_MANY;
	for (size_t i = 0; i < n_users; i++) {
		const struct nhi_nss_user *u = &users[i];
		if (!u->name || !nhi_name_is_valid(u->name) || !field_is_valid(u->gecos, true) ||
		    !field_is_valid(u->home, true) || !field_is_valid(u->shell, true))
			return NHI_ERR_INVALID_ARGUMENT;
		pool_len += strlen(u->name) + 1;
		pool_len += u->gecos ? strlen(u->gecos) + 1 : 0;
		pool_len += u->home ? strlen(u->home) + 1 : 0;
		pool_len += u->shell ? strlen(u->shell) + 1 : 0;
	}
	for (size_t i = 0; i < n_groups; i++) {
		const struct nhi_nss_group *g = &groups[i];
		if (!g->name || !nhi_name_is_valid(g->name) || (g->n_members && !g->members))
			return NHI_ERR_INVALID_ARGUMENT;
		pool_len += strlen(g->name) + 1;
		for (size_t j = 0; j < g->n_members; j++) {
			if (!g->members[j] || !nhi_name_is_valid(g->members[j]))
				return NHI_ERR_INVALID_ARGUMENT;
			pool_len += strlen(g->members[j]) + 1;
		}
		n_members += g->n_members;
		if (n_members > RECORDS_MAX)
			return NHI_ERR_TOO_MANY;
	}
	pool_len = (pool_len + 3) & ~(uint64_t)3;
	ub = buckets_for((uint32_t)n_users);
	gb = buckets_for((uint32_t)n_groups);

	total = HEADER_LEN;
	uint64_t lens[N_SECTIONS] = {
	        [SEC_USERS] = (uint64_t)n_users * USER_REC,
	        [SEC_GROUPS] = (uint64_t)n_groups * GROUP_REC,
	        [SEC_MEMBERS] = n_members * 4,
	        [SEC_STRINGS] = pool_len,
	        [SEC_UNAME] = ((uint64_t)ub + n_users) * 4,
	        [SEC_UID] = ((uint64_t)ub + n_users) * 4,
	        [SEC_GNAME] = ((uint64_t)gb + n_groups) * 4,
	        [SEC_GID] = ((uint64_t)gb + n_groups) * 4,
	};
	for (int s = 0; s < N_SECTIONS; s++) {
		sec[s].off = (uint32_t)total;
		sec[s].len = (uint32_t)lens[s];
		total += lens[s];
		if (total > FILE_MAX)
			return NHI_ERR_FILE_TOO_LARGE;
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		return NHI_ERR_SYSTEM;

	img = calloc(1, (size_t)total);
	/* One array for both loops: a group's chain holds only groups already
	 * written, whose hashes have replaced the users' by then. */
	name_hashes = calloc(n_users > n_groups ? n_users + 1 : n_groups + 1, sizeof(*name_hashes));
	if (!img || !name_hashes) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	b.img = img;
	b.pool_off = sec[SEC_STRINGS].off;
	b.pool_used = 1;

	for (uint32_t i = 0; i < n_users; i++) {
		const struct nhi_nss_user *u = &users[i];
		uint8_t *rec = img + sec[SEC_USERS].off + (size_t)i * USER_REC;
		uint32_t hn = hash_name(seed, u->name), hi = hash_id(seed, u->uid);

		if (chain_has_name(img, &sec[SEC_UNAME], ub, hn, name_hashes, &sec[SEC_USERS],
		                   USER_REC, 8, b.pool_off, u->name) ||
		    chain_has_id(img, &sec[SEC_UID], ub, hi, &sec[SEC_USERS], USER_REC, 0,
		                 u->uid)) {
			r = NHI_ERR_EXISTS;
			goto out;
		}
		put32(rec, u->uid);
		put32(rec + 4, u->gid);
		put32(rec + 8, pool_add(&b, u->name));
		put32(rec + 12, pool_add(&b, u->gecos));
		put32(rec + 16, pool_add(&b, u->home));
		put32(rec + 20, pool_add(&b, u->shell));
		index_insert(img, &sec[SEC_UNAME], ub, hn, i);
		index_insert(img, &sec[SEC_UID], ub, hi, i);
		name_hashes[i] = hn;
	}
	for (uint32_t i = 0; i < n_groups; i++) {
		const struct nhi_nss_group *g = &groups[i];
		uint8_t *rec = img + sec[SEC_GROUPS].off + (size_t)i * GROUP_REC;
		uint32_t hn = hash_name(seed, g->name), hi = hash_id(seed, g->gid);

		if (chain_has_name(img, &sec[SEC_GNAME], gb, hn, name_hashes, &sec[SEC_GROUPS],
		                   GROUP_REC, 4, b.pool_off, g->name) ||
		    chain_has_id(img, &sec[SEC_GID], gb, hi, &sec[SEC_GROUPS], GROUP_REC, 0,
		                 g->gid)) {
			r = NHI_ERR_EXISTS;
			goto out;
		}
		put32(rec, g->gid);
		put32(rec + 4, pool_add(&b, g->name));
		put32(rec + 8, mi);
		put32(rec + 12, (uint32_t)g->n_members);
		for (size_t j = 0; j < g->n_members; j++, mi++)
			put32(img + sec[SEC_MEMBERS].off + (size_t)mi * 4,
			      pool_add(&b, g->members[j]));
		index_insert(img, &sec[SEC_GNAME], gb, hn, i);
		index_insert(img, &sec[SEC_GID], gb, hi, i);
		name_hashes[i] = hn;
	}

	memcpy(img, MAGIC, 8);
	put32(img + 8, FORMAT_VERSION);
	put32(img + 12, HEADER_LEN);
	put64(img + 16, generation);
	put64(img + 24, total);
	put32(img + 40, seed);
	put32(img + 44, (uint32_t)n_users);
	put32(img + 48, (uint32_t)n_groups);
	put32(img + 52, (uint32_t)n_members);
	for (int s = 0; s < N_SECTIONS; s++) {
		put32(img + 56 + s * 8, sec[s].off);
		put32(img + 60 + s * 8, sec[s].len);
	}
	put64(img + OFF_CHECKSUM, image_checksum(img, (size_t)total));

	*ret_image = img;
	*ret_len = (size_t)total;
	img = NULL;
	r = 0;
out:
	free(img);
	free(name_hashes);
	return r;
}

int nhi_nsscache_write(const char *path, uint64_t generation, const struct nhi_nss_user *users,
                       size_t n_users, const struct nhi_nss_group *groups, size_t n_groups)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return NHI_ERR_INVALID_ARGUMENT;
	r = nhi_nsscache_build(generation, users, n_users, groups, n_groups, &img, &len);
	if (r < 0)
		return r;
	r = nhi_atomic_write(path, img, len, 0644);
	free(img);
	return r;
}

/* Opens path read-only, following no symlink, as long as it is a regular
 * file: the descriptor, or an error. */
static int open_regular(const char *path, struct stat *ret_st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0)
		return errno == ENOENT ? NHI_ERR_NOT_FOUND : NHI_ERR_SYSTEM;
	if (fstat(fd, ret_st) < 0) {
		close(fd);
		return NHI_ERR_SYSTEM;
	}
	if (!S_ISREG(ret_st->st_mode)) {
		close(fd);
		return NHI_ERR_FILE_UNSAFE;
	}
	return fd;
}

int nhi_nsscache_read_generation(const char *path, uint64_t *ret_generation)
{
	uint8_t h[HEADER_LEN];
	struct stat st;
	ssize_t n;
	int fd, r;

	if (!path || !ret_generation)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((fd = open_regular(path, &st)) < 0)
		return fd;
	if ((n = pread(fd, h, sizeof(h), 0)) < 0) {
		r = NHI_ERR_SYSTEM;
	} else if ((size_t)n < sizeof(h) || memcmp(h, MAGIC, 8) != 0 ||
	           le32(h + 8) != FORMAT_VERSION || le32(h + 12) != HEADER_LEN ||
	           le64(h + 24) != (uint64_t)st.st_size) {
		r = NHI_ERR_CACHE_CORRUPT;
	} else {
		*ret_generation = le64(h + 16);
		r = 0;
	}
	close(fd);
	return r;
}

/* ---- reader ---- */

static int parse(struct nhi_nsscache *c)
{
	const uint8_t *p = c->base;
	uint32_t counts[N_SECTIONS];

	if (c->len < HEADER_LEN || memcmp(p, MAGIC, 8) != 0)
		return NHI_ERR_CACHE_CORRUPT;
	if (le32(p + 8) != FORMAT_VERSION)
		return NHI_ERR_CACHE_VERSION;
	if (le32(p + 12) != HEADER_LEN || le64(p + 24) != c->len || c->len > FILE_MAX)
		return NHI_ERR_CACHE_CORRUPT;
	c->generation = le64(p + 16);
	c->seed = le32(p + 40);
	c->n_users = le32(p + 44);
	c->n_groups = le32(p + 48);
	c->n_members = le32(p + 52);
	if (c->n_users > RECORDS_MAX || c->n_groups > RECORDS_MAX || c->n_members > RECORDS_MAX)
		return NHI_ERR_CACHE_CORRUPT;
	for (int s = 0; s < N_SECTIONS; s++) {
		c->sec[s].off = le32(p + 56 + s * 8);
		c->sec[s].len = le32(p + 60 + s * 8);
		if (c->sec[s].off < HEADER_LEN || c->sec[s].off % 4 || c->sec[s].len % 4 ||
		    (uint64_t)c->sec[s].off + c->sec[s].len > c->len)
			return NHI_ERR_CACHE_CORRUPT;
	}
	if ((uint64_t)c->sec[SEC_USERS].len != (uint64_t)c->n_users * USER_REC ||
	    (uint64_t)c->sec[SEC_GROUPS].len != (uint64_t)c->n_groups * GROUP_REC ||
	    (uint64_t)c->sec[SEC_MEMBERS].len != (uint64_t)c->n_members * 4 ||
	    c->sec[SEC_STRINGS].len == 0 || c->base[c->sec[SEC_STRINGS].off] != 0)
		return NHI_ERR_CACHE_CORRUPT;
	/* Each index: a power-of-two bucket count, then one link per record. */
	counts[SEC_UNAME] = counts[SEC_UID] = c->n_users;
	counts[SEC_GNAME] = counts[SEC_GID] = c->n_groups;
	for (int s = SEC_UNAME; s <= SEC_GID; s++) {
		uint32_t slots = c->sec[s].len / 4, nb;
		if (slots <= counts[s])
			return NHI_ERR_CACHE_CORRUPT;
		nb = slots - counts[s];
		if (nb & (nb - 1))
			return NHI_ERR_CACHE_CORRUPT;
		if (s == SEC_UNAME)
			c->user_buckets = nb;
		else if (s == SEC_GNAME)
			c->group_buckets = nb;
		else if (nb != (s == SEC_UID ? c->user_buckets : c->group_buckets))
			return NHI_ERR_CACHE_CORRUPT;
	}
	if (le64(p + OFF_CHECKSUM) != image_checksum(p, c->len))
		return NHI_ERR_CACHE_CORRUPT;
	return 0;
}

int nhi_nsscache_from_memory(const void *data, size_t len, struct nhi_nsscache **ret_cache)
{
	struct nhi_nsscache *c;
	int r;

	if (!data || !ret_cache)
		return NHI_ERR_INVALID_ARGUMENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NHI_ERR_ALLOC;
	c->base = data;
	c->len = len;
	r = parse(c);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret_cache = c;
	return 0;
}

int nhi_nsscache_open(const char *path, struct nhi_nsscache **ret_cache)
{
	struct nhi_nsscache *c = NULL;
	void *map = MAP_FAILED;
	struct stat st;
	int fd, r;

	if (!path || !ret_cache)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((fd = open_regular(path, &st)) < 0)
		return fd;
	/* Another user's writable file could change under the mapping. */
	if (st.st_mode & 022) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	if (st.st_size < (off_t)HEADER_LEN || (uint64_t)st.st_size > FILE_MAX) {
		r = NHI_ERR_CACHE_CORRUPT;
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	c->base = map;
	c->len = (size_t)st.st_size;
	c->mapped = true;
	c->st = st;
	r = parse(c);
	if (r < 0)
		goto out;
	*ret_cache = c;
	c = NULL;
	map = MAP_FAILED;
out:
	free(c);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return r;
}

void nhi_nsscache_close(struct nhi_nsscache *c)
{
	if (!c)
		return;
	if (c->mapped)
		munmap((void *)c->base, c->len);
	free(c);
}

int nhi_nsscache_is_current(const struct nhi_nsscache *c, const struct stat *st)
{
	return c && st && c->mapped && c->st.st_dev == st->st_dev && c->st.st_ino == st->st_ino &&
	       c->st.st_size == st->st_size && c->st.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       c->st.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

uint64_t nhi_nsscache_generation(const struct nhi_nsscache *c)
{
	return c ? c->generation : 0;
}

size_t nhi_nsscache_user_count(const struct nhi_nsscache *c)
{
	return c ? c->n_users : 0;
}

size_t nhi_nsscache_group_count(const struct nhi_nsscache *c)
{
	return c ? c->n_groups : 0;
}

/* The string at off in the string section, NUL-terminated inside it and at
 * most max bytes long; NULL when it is not. */
static const char *string_at(const struct nhi_nsscache *c, uint32_t off, size_t max,
                             size_t *ret_len)
{
	const struct section *s = &c->sec[SEC_STRINGS];
	const char *p;
	const char *end;

	if (off >= s->len)
		return NULL;
	p = (const char *)c->base + s->off + off;
	end = memchr(p, 0, s->len - off < max + 1 ? s->len - off : max + 1);
	if (!end)
		return NULL;
	*ret_len = (size_t)(end - p);
	return p;
}

/* Copies s into the caller's buffer at *used. */
static int copy_out(char *buf, size_t buflen, size_t *used, const char *s, size_t n, char **ret)
{
	if (buflen - *used < n + 1)
		return NHI_ERR_RESULT_TOO_LARGE;
	memcpy(buf + *used, s, n);
	buf[*used + n] = '\0';
	*ret = buf + *used;
	*used += n + 1;
	return 0;
}

static const uint8_t *user_rec(const struct nhi_nsscache *c, uint32_t i)
{
	return c->base + c->sec[SEC_USERS].off + (size_t)i * USER_REC;
}

static const uint8_t *group_rec(const struct nhi_nsscache *c, uint32_t i)
{
	return c->base + c->sec[SEC_GROUPS].off + (size_t)i * GROUP_REC;
}

static bool user_name_is(const struct nhi_nsscache *c, uint32_t i, const char *name)
{
	size_t n;
	const char *s = string_at(c, le32(user_rec(c, i) + 8), NHI_NAME_MAX, &n);

	return s && !strcmp(s, name);
}

static bool group_name_is(const struct nhi_nsscache *c, uint32_t i, const char *name)
{
	size_t n;
	const char *s = string_at(c, le32(group_rec(c, i) + 4), NHI_NAME_MAX, &n);

	return s && !strcmp(s, name);
}

/* Walks the chain of bucket h in index sec over n records; match decides.
 * Returns the record index, NHI_ERR_NOT_FOUND, or NHI_ERR_CACHE_CORRUPT for
 * a link past the records or a chain longer than the record count. */
static int64_t chain_find(const struct nhi_nsscache *c, int sec, uint32_t nb, uint32_t n,
                          uint32_t h,
                          bool (*match)(const struct nhi_nsscache *, uint32_t, const void *),
                          const void *key)
{
	const uint8_t *heads = c->base + c->sec[sec].off, *next = heads + (size_t)nb * 4;
	uint32_t i = le32(heads + (size_t)(h & (nb - 1)) * 4);

	for (uint32_t steps = 0; i; steps++) {
		if (i > n || steps >= n)
			return NHI_ERR_CACHE_CORRUPT;
		if (match(c, i - 1, key))
			return i - 1;
		i = le32(next + (size_t)(i - 1) * 4);
	}
	return NHI_ERR_NOT_FOUND;
}

static bool match_uname(const struct nhi_nsscache *c, uint32_t i, const void *key)
{
	return user_name_is(c, i, key);
}

static bool match_uid(const struct nhi_nsscache *c, uint32_t i, const void *key)
{
	return le32(user_rec(c, i)) == *(const uint32_t *)key;
}

static bool match_gname(const struct nhi_nsscache *c, uint32_t i, const void *key)
{
	return group_name_is(c, i, key);
}

static bool match_gid(const struct nhi_nsscache *c, uint32_t i, const void *key)
{
	return le32(group_rec(c, i)) == *(const uint32_t *)key;
}

static int fill_passwd(const struct nhi_nsscache *c, uint32_t i, struct passwd *pw, char *buf,
                       size_t buflen)
{
	const uint8_t *rec = user_rec(c, i);
	const char *name, *gecos, *home, *shell;
	size_t nn = 0, gn = 0, hn = 0, sn = 0, used = 0;
	int r;

	name = string_at(c, le32(rec + 8), NHI_NAME_MAX, &nn);
	gecos = string_at(c, le32(rec + 12), STRING_MAX, &gn);
	home = string_at(c, le32(rec + 16), STRING_MAX, &hn);
	shell = string_at(c, le32(rec + 20), STRING_MAX, &sn);
	if (!name || !gecos || !home || !shell || nn == 0)
		return NHI_ERR_CACHE_CORRUPT;
	r = copy_out(buf, buflen, &used, name, nn, &pw->pw_name);
	if (r == 0)
		r = copy_out(buf, buflen, &used, "x", 1, &pw->pw_passwd);
	if (r == 0)
		r = copy_out(buf, buflen, &used, gecos, gn, &pw->pw_gecos);
	if (r == 0)
		r = copy_out(buf, buflen, &used, home, hn, &pw->pw_dir);
	if (r == 0)
		r = copy_out(buf, buflen, &used, shell, sn, &pw->pw_shell);
	if (r < 0)
		return r;
	pw->pw_uid = le32(rec);
	pw->pw_gid = le32(rec + 4);
	return 0;
}

static int fill_group(const struct nhi_nsscache *c, uint32_t i, struct group *gr, char *buf,
                      size_t buflen)
{
	const uint8_t *rec = group_rec(c, i);
	uint32_t first = le32(rec + 8), n = le32(rec + 12);
	size_t nn = 0, used, pad;
	const char *name;
	char **mem;
	int r;

	name = string_at(c, le32(rec + 4), NHI_NAME_MAX, &nn);
	if (!name || nn == 0 || first > c->n_members || n > c->n_members - first)
		return NHI_ERR_CACHE_CORRUPT;
	/* The member pointer array comes first, aligned in the caller's buffer. */
	pad = (sizeof(char *) - (uintptr_t)buf % sizeof(char *)) % sizeof(char *);
	if (buflen < pad || (buflen - pad) / sizeof(char *) < (size_t)n + 1)
		return NHI_ERR_RESULT_TOO_LARGE;
	mem = (char **)(void *)(buf + pad);
	used = pad + ((size_t)n + 1) * sizeof(char *);
	r = copy_out(buf, buflen, &used, name, nn, &gr->gr_name);
	if (r == 0)
		r = copy_out(buf, buflen, &used, "x", 1, &gr->gr_passwd);
	for (uint32_t j = 0; r == 0 && j < n; j++) {
		size_t mn;
		const char *m = string_at(
		        c, le32(c->base + c->sec[SEC_MEMBERS].off + (size_t)(first + j) * 4),
		        NHI_NAME_MAX, &mn);
		if (!m || mn == 0)
			return NHI_ERR_CACHE_CORRUPT;
		r = copy_out(buf, buflen, &used, m, mn, &mem[j]);
	}
	if (r < 0)
		return r;
	mem[n] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = le32(rec);
	return 0;
}

static bool lookup_args_ok(const struct nhi_nsscache *c, const void *out, const char *buf)
{
	return c && out && buf;
}

int nhi_nsscache_getpwnam(const struct nhi_nsscache *c, const char *name, struct passwd *pw,
                          char *buf, size_t buflen)
{
	int64_t i;

	if (!lookup_args_ok(c, pw, buf) || !name)
		return NHI_ERR_INVALID_ARGUMENT;
	if (!nhi_name_is_valid(name))
		return NHI_ERR_NOT_FOUND;
	i = chain_find(c, SEC_UNAME, c->user_buckets, c->n_users, hash_name(c->seed, name),
	               match_uname, name);
	return i < 0 ? (int)i : fill_passwd(c, (uint32_t)i, pw, buf, buflen);
}

int nhi_nsscache_getpwuid(const struct nhi_nsscache *c, uint32_t uid, struct passwd *pw, char *buf,
                          size_t buflen)
{
	int64_t i;

	if (!lookup_args_ok(c, pw, buf))
		return NHI_ERR_INVALID_ARGUMENT;
	i = chain_find(c, SEC_UID, c->user_buckets, c->n_users, hash_id(c->seed, uid), match_uid,
	               &uid);
	return i < 0 ? (int)i : fill_passwd(c, (uint32_t)i, pw, buf, buflen);
}

int nhi_nsscache_getpwent(const struct nhi_nsscache *c, size_t index, struct passwd *pw, char *buf,
                          size_t buflen)
{
	if (!lookup_args_ok(c, pw, buf))
		return NHI_ERR_INVALID_ARGUMENT;
	if (index >= c->n_users)
		return NHI_ERR_NOT_FOUND;
	return fill_passwd(c, (uint32_t)index, pw, buf, buflen);
}

int nhi_nsscache_getgrnam(const struct nhi_nsscache *c, const char *name, struct group *gr,
                          char *buf, size_t buflen)
{
	int64_t i;

	if (!lookup_args_ok(c, gr, buf) || !name)
		return NHI_ERR_INVALID_ARGUMENT;
	if (!nhi_name_is_valid(name))
		return NHI_ERR_NOT_FOUND;
	i = chain_find(c, SEC_GNAME, c->group_buckets, c->n_groups, hash_name(c->seed, name),
	               match_gname, name);
	return i < 0 ? (int)i : fill_group(c, (uint32_t)i, gr, buf, buflen);
}

int nhi_nsscache_getgrgid(const struct nhi_nsscache *c, uint32_t gid, struct group *gr, char *buf,
                          size_t buflen)
{
	int64_t i;

	if (!lookup_args_ok(c, gr, buf))
		return NHI_ERR_INVALID_ARGUMENT;
	i = chain_find(c, SEC_GID, c->group_buckets, c->n_groups, hash_id(c->seed, gid), match_gid,
	               &gid);
	return i < 0 ? (int)i : fill_group(c, (uint32_t)i, gr, buf, buflen);
}

int nhi_nsscache_getgrent(const struct nhi_nsscache *c, size_t index, struct group *gr, char *buf,
                          size_t buflen)
{
	if (!lookup_args_ok(c, gr, buf))
		return NHI_ERR_INVALID_ARGUMENT;
	if (index >= c->n_groups)
		return NHI_ERR_NOT_FOUND;
	return fill_group(c, (uint32_t)index, gr, buf, buflen);
}

int nhi_nsscache_next_group_of(const struct nhi_nsscache *c, const char *user, size_t *cursor,
                               uint32_t *ret_gid)
{
	if (!c || !user || !cursor || !ret_gid)
		return NHI_ERR_INVALID_ARGUMENT;
	if (!nhi_name_is_valid(user))
		return NHI_ERR_NOT_FOUND;
	for (; *cursor < c->n_groups; (*cursor)++) {
		const uint8_t *rec = group_rec(c, (uint32_t)*cursor);
		uint32_t first = le32(rec + 8), n = le32(rec + 12);

		if (first > c->n_members || n > c->n_members - first)
			return NHI_ERR_CACHE_CORRUPT;
		for (uint32_t j = 0; j < n; j++) {
			size_t mn;
			const char *m = string_at(
			        c,
			        le32(c->base + c->sec[SEC_MEMBERS].off + (size_t)(first + j) * 4),
			        NHI_NAME_MAX, &mn);
			if (m && !strcmp(m, user)) {
				*ret_gid = le32(rec);
				(*cursor)++;
				return 0;
			}
		}
	}
	return NHI_ERR_NOT_FOUND;
}
