#include "config.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fileio.h"
#include "krl.h"

/* Section types (PROTOCOL.krl). */
#define KRL_SECTION_CERTIFICATES       1
#define KRL_SECTION_EXPLICIT_KEY       2
#define KRL_SECTION_FINGERPRINT_SHA1   3
#define KRL_SECTION_SIGNATURE          4
#define KRL_SECTION_FINGERPRINT_SHA256 5
#define KRL_SECTION_EXTENSION          255
/* Subsections of a certificates section. */
#define KRL_CERT_SERIAL_LIST   0x20
#define KRL_CERT_SERIAL_RANGE  0x21
#define KRL_CERT_SERIAL_BITMAP 0x22
#define KRL_CERT_KEY_ID        0x23
#define KRL_CERT_EXTENSION     0x39

#define KRL_SHA1_BYTES 20u
/* A run of this many serials or more costs less as a range subsection
 * (21 bytes) than as list entries (8 bytes each); ssh-keygen's cost model
 * draws the same line. */
#define KRL_RANGE_MIN_RUN 3u
/* Unsorted entries appended since the last sort are kept below this many or
 * an eighth of the sorted part: insertion stays amortized O(log n) and a
 * lookup scans a bounded tail after its binary search. */
#define KRL_PENDING_MIN 256u

/*
 * Each set is an array whose prefix [0, n_sorted) is sorted and free of
 * duplicates, followed by entries not yet sorted in. Readers never sort (so
 * a const KRL is safe to query from several threads); writers sort when the
 * tail grows past the bound above, and from_blob leaves everything sorted.
 */
struct serial_range {
	uint64_t lo, hi; /* inclusive; lo >= 1 */
};

struct serial_set {
	struct serial_range *v; /* sorted prefix: disjoint and not adjacent */
	size_t n, cap, n_sorted;
};

struct blob {
	uint8_t *p; /* NUL-terminated copy, so key ids read as C strings */
	size_t len;
};

struct blob_set {
	struct blob *v; /* sorted bytewise, a shorter prefix first */
	size_t n, cap, n_sorted;
};

struct krl_ca {
	uint8_t *blob; /* canonical CA key blob; NULL/0 for any CA */
	size_t len;
	struct serial_set serials;
	struct blob_set key_ids;
};

struct nhi_krl {
	uint64_t version;
	uint64_t generated;
	char *comment;
	struct krl_ca **cas; /* in the order first revoked against, like ssh-keygen */
	size_t n_cas;
	struct blob_set keys;    /* plain key blobs */
	struct blob_set sha1s;   /* only ever read from a KRL, kept for round trips */
	struct blob_set sha256s; /* SHA-256 of plain key blobs */
	size_t n_entries;        /* serial ranges, key ids, keys and hashes held */
};

/* --- serial sets --- */

static int range_cmp(const void *a, const void *b)
{
	const struct serial_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/* Sorts v and merges overlapping or adjacent ranges in place; returns the
 * number left. */
static size_t ranges_normalize(struct serial_range *v, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), range_cmp);
	for (i = 1; i < n; i++) {
		if (v[out].hi == UINT64_MAX || v[i].lo <= v[out].hi + 1) {
			if (v[i].hi > v[out].hi)
				v[out].hi = v[i].hi;
		} else {
			v[++out] = v[i];
		}
	}
	return out + 1;
}

static void serial_set_sort(struct serial_set *s, size_t *total)
{
	size_t n = ranges_normalize(s->v, s->n);

	*total -= s->n - n;
	s->n = s->n_sorted = n;
}

static void serial_set_clear(struct serial_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int serial_set_add(struct serial_set *s, uint64_t lo, uint64_t hi, size_t *total)
{
	struct serial_range *last, *nv;
	size_t ncap;

	/* In-order additions (the common case: a database walked by serial)
	 * extend or follow the last range without any sorting. */
	if (s->n > 0 && s->n == s->n_sorted) {
		last = &s->v[s->n - 1];
		if (lo >= last->lo && (last->hi == UINT64_MAX || lo <= last->hi + 1)) {
			if (hi > last->hi)
				last->hi = hi;
			return 0;
		}
	}
	if (*total >= NHI_KRL_ENTRIES_MAX)
		return NHI_ERR_TOO_MANY;
	if (s->n == s->cap) {
		ncap = s->cap < 16 ? 16 : s->cap * 2;
		if ((nv = reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return NHI_ERR_ALLOC;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].lo = lo;
	s->v[s->n].hi = hi;
	if (s->n == s->n_sorted && (s->n == 0 || lo > s->v[s->n - 1].hi))
		s->n_sorted++;
	s->n++;
	(*total)++;
	if (s->n - s->n_sorted > KRL_PENDING_MIN && s->n - s->n_sorted > s->n_sorted / 8)
		serial_set_sort(s, total);
	return 0;
}

static bool serial_set_contains(const struct serial_set *s, uint64_t serial)
{
	size_t lo = 0, hi = s->n_sorted, mid, i;

	/* The last sorted range starting at or below serial. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->v[mid].lo <= serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && s->v[lo - 1].hi >= serial)
		return true;
	for (i = s->n_sorted; i < s->n; i++) {
		if (s->v[i].lo <= serial && serial <= s->v[i].hi)
			return true;
	}
	return false;
}

/* --- blob sets (keys, hashes, key ids) --- */

static int blob_cmp(const struct blob *a, const struct blob *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;

	if (c != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

static int blob_qsort_cmp(const void *a, const void *b)
{
	return blob_cmp(a, b);
}

static void blob_set_sort(struct blob_set *s, size_t *total)
{
	size_t i, out = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), blob_qsort_cmp);
	for (i = 1; i < s->n; i++) {
		if (blob_cmp(&s->v[out], &s->v[i]) == 0)
			free(s->v[i].p);
		else
			s->v[++out] = s->v[i];
	}
	*total -= s->n - (out + 1);
	s->n = s->n_sorted = out + 1;
}

static void blob_set_clear(struct blob_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].p);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int blob_set_add(struct blob_set *s, const uint8_t *data, size_t len, size_t *total)
{
	struct blob b = { (uint8_t *)(uintptr_t)data, len }, *nv;
	size_t ncap;
	int c = -1;

	if (s->n > 0 && s->n == s->n_sorted) {
		c = blob_cmp(&s->v[s->n - 1], &b);
		if (c == 0)
			return 0;
	}
	if (*total >= NHI_KRL_ENTRIES_MAX)
		return NHI_ERR_TOO_MANY;
	if (s->n == s->cap) {
		ncap = s->cap < 16 ? 16 : s->cap * 2;
		if ((nv = reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return NHI_ERR_ALLOC;
		s->v = nv;
		s->cap = ncap;
	}
	if ((b.p = malloc(len + 1)) == NULL)
		return NHI_ERR_ALLOC;
	if (len > 0)
		memcpy(b.p, data, len);
	b.p[len] = '\0';
	s->v[s->n] = b;
	if (s->n == s->n_sorted && c < 0)
		s->n_sorted++;
	s->n++;
	(*total)++;
	if (s->n - s->n_sorted > KRL_PENDING_MIN && s->n - s->n_sorted > s->n_sorted / 8)
		blob_set_sort(s, total);
	return 0;
}

static bool blob_set_contains(const struct blob_set *s, const uint8_t *data, size_t len)
{
	struct blob key = { (uint8_t *)(uintptr_t)data, len };
	size_t lo = 0, hi = s->n_sorted, mid, i;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = blob_cmp(&s->v[mid], &key);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = s->n_sorted; i < s->n; i++) {
		if (blob_cmp(&s->v[i], &key) == 0)
			return true;
	}
	return false;
}

/* --- CAs --- */

static void krl_ca_free(struct krl_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->blob);
	serial_set_clear(&ca->serials);
	blob_set_clear(&ca->key_ids);
	free(ca);
}

static struct krl_ca *krl_find_ca(const struct nhi_krl *krl, const uint8_t *blob, size_t len)
{
	const struct krl_ca *ca;
	size_t i;

	for (i = 0; i < krl->n_cas; i++) {
		ca = krl->cas[i];
		if (ca->len == len && (len == 0 || memcmp(ca->blob, blob, len) == 0))
			return krl->cas[i];
	}
	return NULL;
}

static int krl_get_ca(struct nhi_krl *krl, const uint8_t *blob, size_t len, struct krl_ca **ret)
{
	struct krl_ca *ca, **ncas;

	if ((ca = krl_find_ca(krl, blob, len)) != NULL) {
		*ret = ca;
		return 0;
	}
	if (krl->n_cas >= NHI_KRL_CAS_MAX)
		return NHI_ERR_TOO_MANY;
	if ((ncas = reallocarray(krl->cas, krl->n_cas + 1, sizeof(*ncas))) == NULL)
		return NHI_ERR_ALLOC;
	krl->cas = ncas;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return NHI_ERR_ALLOC;
	if (len > 0) {
		if ((ca->blob = malloc(len)) == NULL) {
			free(ca);
			return NHI_ERR_ALLOC;
		}
		memcpy(ca->blob, blob, len);
		ca->len = len;
	}
	krl->cas[krl->n_cas++] = ca;
	*ret = ca;
	return 0;
}

/* The plain blob of key in a new buffer. */
static int key_blob(const struct nhi_key *key, struct nhi_buf **ret)
{
	struct nhi_buf *b;
	int r;

	if ((b = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_key_to_blob(key, b)) < 0) {
		nhi_buf_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

/* The entry for ca (NULL: any CA), created on first use. */
static int krl_get_ca_for_key(struct nhi_krl *krl, const struct nhi_key *ca, struct krl_ca **ret)
{
	struct nhi_buf *b = NULL;
	int r;

	if (ca == NULL)
		return krl_get_ca(krl, NULL, 0, ret);
	if ((r = key_blob(ca, &b)) < 0)
		return r;
	r = krl_get_ca(krl, nhi_buf_ptr(b), nhi_buf_len(b), ret);
	nhi_buf_free(b);
	return r;
}

/* --- building --- */

struct nhi_krl *nhi_krl_new(void)
{
	struct nhi_krl *krl = calloc(1, sizeof(*krl));

	if (krl != NULL && (krl->comment = strdup("")) == NULL) {
		free(krl);
		return NULL;
	}
	return krl;
}

void nhi_krl_free(struct nhi_krl *krl)
{
	size_t i;

	if (krl == NULL)
		return;
	for (i = 0; i < krl->n_cas; i++)
		krl_ca_free(krl->cas[i]);
	free(krl->cas);
	blob_set_clear(&krl->keys);
	blob_set_clear(&krl->sha1s);
	blob_set_clear(&krl->sha256s);
	free(krl->comment);
	free(krl);
}

void nhi_krl_set_version(struct nhi_krl *krl, uint64_t version)
{
	if (krl != NULL)
		krl->version = version;
}

void nhi_krl_set_generated(struct nhi_krl *krl, uint64_t unix_time)
{
	if (krl != NULL)
		krl->generated = unix_time;
}

int nhi_krl_set_comment(struct nhi_krl *krl, const char *comment)
{
	char *c;

	if (krl == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((c = strdup(comment == NULL ? "" : comment)) == NULL)
		return NHI_ERR_ALLOC;
	free(krl->comment);
	krl->comment = c;
	return 0;
}

uint64_t nhi_krl_version(const struct nhi_krl *krl)
{
	return krl == NULL ? 0 : krl->version;
}

uint64_t nhi_krl_generated(const struct nhi_krl *krl)
{
	return krl == NULL ? 0 : krl->generated;
}

const char *nhi_krl_comment(const struct nhi_krl *krl)
{
	return krl == NULL ? NULL : krl->comment;
}

int nhi_krl_revoke_serial(struct nhi_krl *krl, const struct nhi_key *ca, uint64_t serial)
{
	return nhi_krl_revoke_serial_range(krl, ca, serial, serial);
}

int nhi_krl_revoke_serial_range(struct nhi_krl *krl, const struct nhi_key *ca, uint64_t lo,
				uint64_t hi)
{
	struct krl_ca *rc;
	int r;

	/* sshd never matches serial 0 (the default when a CA sets none), and
	 * ssh-keygen refuses a KRL that lists it. */
	if (krl == NULL || lo == 0 || lo > hi)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = krl_get_ca_for_key(krl, ca, &rc)) < 0)
		return r;
	return serial_set_add(&rc->serials, lo, hi, &krl->n_entries);
}

int nhi_krl_revoke_key_id(struct nhi_krl *krl, const struct nhi_key *ca, const char *key_id)
{
	struct krl_ca *rc;
	int r;

	if (krl == NULL || key_id == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = krl_get_ca_for_key(krl, ca, &rc)) < 0)
		return r;
	return blob_set_add(&rc->key_ids, (const uint8_t *)key_id, strlen(key_id),
			    &krl->n_entries);
}

int nhi_krl_revoke_key(struct nhi_krl *krl, const struct nhi_key *key)
{
	struct nhi_buf *b = NULL;
	int r;

	if (krl == NULL || key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = key_blob(key, &b)) < 0)
		return r;
	r = blob_set_add(&krl->keys, nhi_buf_ptr(b), nhi_buf_len(b), &krl->n_entries);
	nhi_buf_free(b);
	return r;
}

int nhi_krl_revoke_sha256(struct nhi_krl *krl, const uint8_t hash[NHI_SHA256_BYTES])
{
	if (krl == NULL || hash == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return blob_set_add(&krl->sha256s, hash, NHI_SHA256_BYTES, &krl->n_entries);
}

/* --- writing --- */

static int put_section(struct nhi_buf *out, uint8_t type, const struct nhi_buf *data)
{
	int r;

	if ((r = nhi_buf_put_u8(out, type)) < 0 || (r = nhi_buf_put_stringb(out, data)) < 0)
		return r;
	return 0;
}

/* Appends the sorted, duplicate-free contents of s as strings. */
static int put_blob_strings(struct nhi_buf *out, const struct blob_set *s)
{
	struct blob *tmp = NULL;
	const struct blob *v = s->v;
	size_t i;
	int r = 0;

	if (s->n_sorted != s->n) {
		if ((tmp = reallocarray(NULL, s->n, sizeof(*tmp))) == NULL)
			return NHI_ERR_ALLOC;
		memcpy(tmp, s->v, s->n * sizeof(*tmp));
		qsort(tmp, s->n, sizeof(*tmp), blob_qsort_cmp);
		v = tmp;
	}
	for (i = 0; i < s->n; i++) {
		if (i > 0 && blob_cmp(&v[i - 1], &v[i]) == 0)
			continue;
		if ((r = nhi_buf_put_string(out, v[i].p, v[i].len)) < 0)
			break;
	}
	free(tmp);
	return r;
}

static int put_blob_section(struct nhi_buf *out, struct nhi_buf *sect, uint8_t type,
			    const struct blob_set *s)
{
	int r;

	if (s->n == 0)
		return 0;
	nhi_buf_reset(sect);
	if ((r = put_blob_strings(sect, s)) < 0)
		return r;
	return put_section(out, type, sect);
}

/* Serials in ascending order, as ssh-keygen lays them out: short runs go
 * into list subsections, longer runs each get a range subsection. */
static int put_serials(struct nhi_buf *sect, struct nhi_buf *list, const struct serial_set *s)
{
	struct serial_range *tmp = NULL;
	const struct serial_range *v = s->v;
	size_t i, n = s->n;
	int r = 0;

	if (s->n_sorted != s->n) {
		if ((tmp = reallocarray(NULL, s->n, sizeof(*tmp))) == NULL)
			return NHI_ERR_ALLOC;
		memcpy(tmp, s->v, s->n * sizeof(*tmp));
		n = ranges_normalize(tmp, s->n);
		v = tmp;
	}
	nhi_buf_reset(list);
	for (i = 0; i < n && r == 0; i++) {
		if (v[i].hi - v[i].lo < KRL_RANGE_MIN_RUN - 1) {
			if ((r = nhi_buf_put_u64(list, v[i].lo)) == 0 && v[i].hi != v[i].lo)
				r = nhi_buf_put_u64(list, v[i].hi);
			continue;
		}
		if (nhi_buf_len(list) > 0) {
			if ((r = put_section(sect, KRL_CERT_SERIAL_LIST, list)) < 0)
				break;
			nhi_buf_reset(list);
		}
		if ((r = nhi_buf_put_u8(sect, KRL_CERT_SERIAL_RANGE)) < 0 ||
		    (r = nhi_buf_put_u32(sect, 16)) < 0 ||
		    (r = nhi_buf_put_u64(sect, v[i].lo)) < 0 ||
		    (r = nhi_buf_put_u64(sect, v[i].hi)) < 0)
			break;
	}
	if (r == 0 && nhi_buf_len(list) > 0)
		r = put_section(sect, KRL_CERT_SERIAL_LIST, list);
	free(tmp);
	return r;
}

static int put_cert_section(struct nhi_buf *sect, struct nhi_buf *sub, const struct krl_ca *ca)
{
	int r;

	if ((r = nhi_buf_put_string(sect, ca->blob, ca->len)) < 0 ||
	    (r = nhi_buf_put_string(sect, NULL, 0)) < 0 ||
	    (r = put_serials(sect, sub, &ca->serials)) < 0)
		return r;
	if (ca->key_ids.n == 0)
		return 0;
	nhi_buf_reset(sub);
	if ((r = put_blob_strings(sub, &ca->key_ids)) < 0)
		return r;
	return put_section(sect, KRL_CERT_KEY_ID, sub);
}

int nhi_krl_to_blob(const struct nhi_krl *krl, struct nhi_buf *out)
{
	struct nhi_buf *sect = NULL, *sub = NULL;
	size_t start, i;
	uint64_t generated;
	int r;

	if (krl == NULL || out == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	start = nhi_buf_len(out);
	if ((sect = nhi_buf_new()) == NULL || (sub = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	generated = krl->generated != 0 ? krl->generated : (uint64_t)time(NULL);
	if ((r = nhi_buf_put_u64(out, NHI_KRL_MAGIC)) < 0 ||
	    (r = nhi_buf_put_u32(out, NHI_KRL_FORMAT_VERSION)) < 0 ||
	    (r = nhi_buf_put_u64(out, krl->version)) < 0 ||
	    (r = nhi_buf_put_u64(out, generated)) < 0 || (r = nhi_buf_put_u64(out, 0)) < 0 ||
	    (r = nhi_buf_put_string(out, NULL, 0)) < 0 ||
	    (r = nhi_buf_put_cstring(out, krl->comment)) < 0)
		goto out;
	/* Same order as ssh-keygen: certificates per CA, explicit keys, then
	 * hashes. No signature section: OpenSSH >= 9.4 refuses signed KRLs. */
	for (i = 0; i < krl->n_cas; i++) {
		if (krl->cas[i]->serials.n == 0 && krl->cas[i]->key_ids.n == 0)
			continue;
		nhi_buf_reset(sect);
		if ((r = put_cert_section(sect, sub, krl->cas[i])) < 0 ||
		    (r = put_section(out, KRL_SECTION_CERTIFICATES, sect)) < 0)
			goto out;
	}
	if ((r = put_blob_section(out, sect, KRL_SECTION_EXPLICIT_KEY, &krl->keys)) < 0 ||
	    (r = put_blob_section(out, sect, KRL_SECTION_FINGERPRINT_SHA1, &krl->sha1s)) < 0 ||
	    (r = put_blob_section(out, sect, KRL_SECTION_FINGERPRINT_SHA256, &krl->sha256s)) < 0)
		goto out;
	r = 0;
out:
	if (r < 0 && nhi_buf_len(out) > start)
		nhi_buf_shrink(out, nhi_buf_len(out) - start);
	nhi_buf_free(sect);
	nhi_buf_free(sub);
	return r;
}

int nhi_krl_write_file(const struct nhi_krl *krl, const char *path)
{
	struct nhi_buf *b;
	int r;

	if (krl == NULL || path == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((b = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_krl_to_blob(krl, b)) == 0)
		r = nhi_atomic_write(path, nhi_buf_ptr(b), nhi_buf_len(b), 0644);
	nhi_buf_free(b);
	return r;
}

/* --- reading --- */

/* string name, boolean critical, string contents. We know no extension,
 * so a critical one makes the whole KRL unusable, as PROTOCOL.krl says. */
static int parse_extension(struct nhi_buf *b)
{
	uint8_t critical;
	int r;

	if ((r = nhi_buf_get_string_direct(b, NULL, NULL)) < 0 ||
	    (r = nhi_buf_get_u8(b, &critical)) < 0 ||
	    (r = nhi_buf_get_string_direct(b, NULL, NULL)) < 0)
		return r;
	return critical != 0 ? NHI_ERR_INVALID_FORMAT : 0;
}

/* Bit k of the bitmap revokes serial offset + k; runs of set bits are added
 * as ranges so that a dense bitmap costs one entry per run. */
static int parse_bitmap(struct nhi_krl *krl, struct krl_ca *ca, struct nhi_buf *sub)
{
	const uint8_t *p;
	uint64_t offset, k, start = 0, nbits;
	size_t len;
	bool in_run = false, set;
	int r;

	if ((r = nhi_buf_get_u64(sub, &offset)) < 0 ||
	    (r = nhi_buf_get_bignum2_bytes_direct(sub, &p, &len)) < 0)
		return r;
	nbits = (uint64_t)len * 8;
	for (k = 0; k <= nbits; k++) {
		set = k < nbits && ((p[len - 1 - k / 8] >> (k % 8)) & 1) != 0;
		if (set && !in_run) {
			if (k > UINT64_MAX - offset || offset + k == 0)
				return NHI_ERR_INVALID_FORMAT;
			start = k;
			in_run = true;
		} else if (!set && in_run) {
			if (k - 1 > UINT64_MAX - offset)
				return NHI_ERR_INVALID_FORMAT;
			if ((r = serial_set_add(&ca->serials, offset + start, offset + k - 1,
						&krl->n_entries)) < 0)
				return r;
			in_run = false;
		}
	}
	return 0;
}

static int parse_cert_subsection(struct nhi_krl *krl, struct krl_ca *ca, uint8_t type,
				 struct nhi_buf *sub)
{
	const uint8_t *p;
	uint64_t lo, hi;
	size_t len;
	int r = 0;

	switch (type) {
	case KRL_CERT_SERIAL_LIST:
		while (nhi_buf_len(sub) > 0 && r == 0) {
			if ((r = nhi_buf_get_u64(sub, &lo)) < 0)
				break;
			if (lo == 0)
				return NHI_ERR_INVALID_FORMAT;
			r = serial_set_add(&ca->serials, lo, lo, &krl->n_entries);
		}
		return r;
	case KRL_CERT_SERIAL_RANGE:
		if ((r = nhi_buf_get_u64(sub, &lo)) < 0 || (r = nhi_buf_get_u64(sub, &hi)) < 0)
			return r;
		if (lo == 0 || lo > hi)
			return NHI_ERR_INVALID_FORMAT;
		return serial_set_add(&ca->serials, lo, hi, &krl->n_entries);
	case KRL_CERT_SERIAL_BITMAP:
		return parse_bitmap(krl, ca, sub);
	case KRL_CERT_KEY_ID:
		while (nhi_buf_len(sub) > 0 && r == 0) {
			if ((r = nhi_buf_get_string_direct(sub, &p, &len)) < 0)
				break;
			if (len > 0 && memchr(p, '\0', len) != NULL)
				return NHI_ERR_INVALID_FORMAT;
			r = blob_set_add(&ca->key_ids, p, len, &krl->n_entries);
		}
		return r;
	case KRL_CERT_EXTENSION:
		return parse_extension(sub);
	default:
		return NHI_ERR_INVALID_FORMAT;
	}
}

static int parse_cert_section(struct nhi_krl *krl, struct nhi_buf *sect)
{
	struct nhi_buf *canon = NULL, *sub = NULL;
	struct nhi_key *key = NULL;
	struct krl_ca *ca = NULL;
	const uint8_t *blob;
	size_t len;
	uint8_t type;
	int r;

	if ((r = nhi_buf_get_string_direct(sect, &blob, &len)) < 0 ||
	    (r = nhi_buf_get_string_direct(sect, NULL, NULL)) < 0)
		goto out;
	/* Matching compares blobs, so store the CA in its canonical form;
	 * a CA that does not parse makes the KRL unusable, as in OpenSSH. */
	if (len > 0) {
		if ((r = nhi_key_from_blob(blob, len, &key)) < 0 || (r = key_blob(key, &canon)) < 0)
			goto out;
		blob = nhi_buf_ptr(canon);
		len = nhi_buf_len(canon);
	}
	if ((r = krl_get_ca(krl, blob, len, &ca)) < 0)
		goto out;
	while (nhi_buf_len(sect) > 0) {
		nhi_buf_free(sub);
		sub = NULL;
		if ((r = nhi_buf_get_u8(sect, &type)) < 0 ||
		    (r = nhi_buf_get_stringb(sect, &sub)) < 0 ||
		    (r = parse_cert_subsection(krl, ca, type, sub)) < 0)
			goto out;
		if (nhi_buf_len(sub) != 0) {
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
	}
	r = 0;
out:
	nhi_buf_free(sub);
	nhi_buf_free(canon);
	nhi_key_free(key);
	return r;
}

/* A list of strings, each hash_len bytes long unless hash_len is 0. */
static int parse_blob_section(struct nhi_krl *krl, struct blob_set *s, size_t hash_len,
			      struct nhi_buf *sect)
{
	const uint8_t *p;
	size_t len;
	int r;

	while (nhi_buf_len(sect) > 0) {
		if ((r = nhi_buf_get_string_direct(sect, &p, &len)) < 0)
			return r;
		if ((hash_len != 0 && len != hash_len) || len == 0)
			return NHI_ERR_INVALID_FORMAT;
		if ((r = blob_set_add(s, p, len, &krl->n_entries)) < 0)
			return r;
	}
	return 0;
}

static int parse_section(struct nhi_krl *krl, uint8_t type, struct nhi_buf *sect)
{
	switch (type) {
	case KRL_SECTION_CERTIFICATES:
		return parse_cert_section(krl, sect);
	case KRL_SECTION_EXPLICIT_KEY:
		return parse_blob_section(krl, &krl->keys, 0, sect);
	case KRL_SECTION_FINGERPRINT_SHA1:
		return parse_blob_section(krl, &krl->sha1s, KRL_SHA1_BYTES, sect);
	case KRL_SECTION_FINGERPRINT_SHA256:
		return parse_blob_section(krl, &krl->sha256s, NHI_SHA256_BYTES, sect);
	case KRL_SECTION_EXTENSION:
		return parse_extension(sect);
	case KRL_SECTION_SIGNATURE:
		/* sshd >= 9.4 refuses a signed KRL; accepting one here would
		 * let us trust a file sshd will not load. */
	default:
		return NHI_ERR_INVALID_FORMAT;
	}
}

int nhi_krl_from_blob(const uint8_t *blob, size_t len, struct nhi_krl **ret)
{
	struct nhi_buf *b = NULL, *sect = NULL;
	struct nhi_krl *krl = NULL;
	uint64_t magic;
	uint32_t format;
	uint8_t type;
	size_t i;
	int r;

	if ((blob == NULL && len != 0) || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > NHI_BUF_SIZE_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	if ((b = nhi_buf_from(blob, len)) == NULL ||
	    (krl = nhi_krl_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_buf_get_u64(b, &magic)) < 0)
		goto out;
	if (magic != NHI_KRL_MAGIC) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = nhi_buf_get_u32(b, &format)) < 0)
		goto out;
	if (format != NHI_KRL_FORMAT_VERSION) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	free(krl->comment);
	krl->comment = NULL;
	/* No flags are defined; like OpenSSH, ignore them and the reserved field. */
	if ((r = nhi_buf_get_u64(b, &krl->version)) < 0 ||
	    (r = nhi_buf_get_u64(b, &krl->generated)) < 0 || (r = nhi_buf_get_u64(b, NULL)) < 0 ||
	    (r = nhi_buf_get_string_direct(b, NULL, NULL)) < 0 ||
	    (r = nhi_buf_get_cstring(b, &krl->comment, NULL)) < 0)
		goto out;
	while (nhi_buf_len(b) > 0) {
		nhi_buf_free(sect);
		sect = NULL;
		if ((r = nhi_buf_get_u8(b, &type)) < 0 || (r = nhi_buf_get_stringb(b, &sect)) < 0 ||
		    (r = parse_section(krl, type, sect)) < 0)
			goto out;
		if (nhi_buf_len(sect) != 0) {
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
	}
	/* Leave every set sorted, so that lookups are binary searches. */
	for (i = 0; i < krl->n_cas; i++) {
		serial_set_sort(&krl->cas[i]->serials, &krl->n_entries);
		blob_set_sort(&krl->cas[i]->key_ids, &krl->n_entries);
	}
	blob_set_sort(&krl->keys, &krl->n_entries);
	blob_set_sort(&krl->sha1s, &krl->n_entries);
	blob_set_sort(&krl->sha256s, &krl->n_entries);
	*ret = krl;
	krl = NULL;
	r = 0;
out:
	nhi_buf_free(sect);
	nhi_buf_free(b);
	nhi_krl_free(krl);
	return r;
}

/* --- queries --- */

/* A plain key is revoked by its blob or either hash of it. */
static int key_revoked(const struct nhi_krl *krl, const struct nhi_key *key)
{
	struct nhi_buf *b = NULL;
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;
	int r;

	if ((r = key_blob(key, &b)) < 0)
		return r;
	if (blob_set_contains(&krl->keys, nhi_buf_ptr(b), nhi_buf_len(b))) {
		r = NHI_ERR_KEY_REVOKED;
		goto out;
	}
	if ((r = nhi_key_fingerprint_raw(key, h)) < 0)
		goto out;
	if (blob_set_contains(&krl->sha256s, h, NHI_SHA256_BYTES)) {
		r = NHI_ERR_KEY_REVOKED;
		goto out;
	}
	if (krl->sha1s.n > 0) {
		if (EVP_Digest(nhi_buf_ptr(b), nhi_buf_len(b), h, &hlen, EVP_sha1(), NULL) != 1 ||
		    hlen != KRL_SHA1_BYTES) {
			r = NHI_ERR_CRYPTO;
			goto out;
		}
		if (blob_set_contains(&krl->sha1s, h, KRL_SHA1_BYTES)) {
			r = NHI_ERR_KEY_REVOKED;
			goto out;
		}
	}
	r = 0;
out:
	nhi_buf_free(b);
	return r;
}

static bool cert_revoked_in(const struct krl_ca *ca, const struct nhi_cert *cert)
{
	const char *id = cert->key_id != NULL ? cert->key_id : "";

	if (ca == NULL)
		return false;
	if (blob_set_contains(&ca->key_ids, (const uint8_t *)id, strlen(id)))
		return true;
	/* Serial 0 means "none given"; sshd never revokes it by serial. */
	return cert->serial != 0 && serial_set_contains(&ca->serials, cert->serial);
}

int nhi_krl_check_key(const struct nhi_krl *krl, const struct nhi_key *key)
{
	if (krl == NULL || key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return key_revoked(krl, key);
}

/* As sshd decides: the subject key, the CA key itself, then serial and key
 * id in the CA's own section and in the any-CA section. */
int nhi_krl_check_cert(const struct nhi_krl *krl, const struct nhi_cert *cert)
{
	struct nhi_buf *ca_blob = NULL;
	bool revoked;
	int r;

	if (krl == NULL || cert == NULL || cert->key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = key_revoked(krl, cert->key)) < 0)
		return r;
	if (cert->signature_key != NULL) {
		if ((r = key_revoked(krl, cert->signature_key)) < 0 ||
		    (r = key_blob(cert->signature_key, &ca_blob)) < 0)
			return r;
		revoked = cert_revoked_in(
			krl_find_ca(krl, nhi_buf_ptr(ca_blob), nhi_buf_len(ca_blob)), cert);
		nhi_buf_free(ca_blob);
		if (revoked)
			return NHI_ERR_KEY_REVOKED;
	}
	return cert_revoked_in(krl_find_ca(krl, NULL, 0), cert) ? NHI_ERR_KEY_REVOKED : 0;
}
