/* Fuzzes KRL parsing and rewriting.
 *
 * A KRL that parses is written out and read back. The rewrite may merge
 * serials into a more compact form, so it need not equal the input, but it
 * must be a fixed point (writing it again gives the same bytes) and it must
 * revoke exactly what the input revoked: a rewrite that loses a revocation
 * would let a revoked certificate in. Queries are built from key blobs and
 * numbers found in the input itself, so they hit what it revokes. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cert.h"
#include "err.h"
#include "krl.h"
#include "sshkey.h"
#include "fuzz.h"

#define MAX_KEYS    4u
#define MAX_SERIALS 32u
#define MAX_IDS     8u

struct queries {
	struct nhi_key *keys[MAX_KEYS];
	size_t n_keys;
	uint64_t serials[MAX_SERIALS];
	size_t n_serials;
	char *ids[MAX_IDS];
	size_t n_ids;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void add_serial(struct queries *q, uint64_t s)
{
	if (q->n_serials < MAX_SERIALS)
		q->serials[q->n_serials++] = s;
}

/* Scans the input for length-prefixed strings that parse as keys or look
 * like key ids, and for 64-bit numbers after them (serials, range ends). */
static void collect_queries(const uint8_t *data, size_t size, struct queries *q)
{
	size_t i, j, n;
	char *id;

	for (i = 0; i + 4 <= size; i++) {
		n = be32(data + i);
		if (n == 0 || n > size - i - 4)
			continue;
		if (q->n_keys < MAX_KEYS && n >= 19 &&
		    nhi_key_from_blob(data + i + 4, n, &q->keys[q->n_keys]) == 0) {
			q->n_keys++;
			continue;
		}
		if (q->n_ids < MAX_IDS && n < 128 && memchr(data + i + 4, 0, n) == NULL) {
			if ((id = malloc(n + 1)) == NULL)
				abort();
			memcpy(id, data + i + 4, n);
			id[n] = '\0';
			q->ids[q->n_ids++] = id;
		}
	}
	/* Every 64-bit value at a 4-byte step past the header, and its
	 * neighbours, catches list entries and both ends of ranges. */
	for (i = 44; i + 8 <= size && q->n_serials < MAX_SERIALS; i += 4) {
		uint64_t v = (uint64_t)be32(data + i) << 32 | be32(data + i + 4);

		for (j = 0; j < 3; j++)
			add_serial(q, v - 1 + j);
	}
	add_serial(q, 0);
	add_serial(q, 1);
	add_serial(q, UINT64_MAX);
}

static void free_queries(struct queries *q)
{
	size_t i;

	for (i = 0; i < q->n_keys; i++)
		nhi_key_free(q->keys[i]);
	for (i = 0; i < q->n_ids; i++)
		free(q->ids[i]);
}

/* A bare certificate for revocation checks: only the fields a KRL looks at.
 * One per CA, its serial and key id changed in place between queries. */
static struct nhi_cert *query_cert(const struct nhi_key *subject, const struct nhi_key *ca)
{
	struct nhi_cert *c;

	if ((c = nhi_cert_new()) == NULL)
		abort();
	CHECK(nhi_cert_set_key(c, subject) == 0);
	CHECK(nhi_key_dup(ca, &c->signature_key) == 0);
	return c;
}

static void same_verdicts(const struct nhi_krl *a, const struct nhi_krl *b, const struct queries *q)
{
	struct nhi_cert *c;
	size_t k, ca, s;
	int ra, rb;

	for (k = 0; k < q->n_keys; k++) {
		ra = nhi_krl_check_key(a, q->keys[k]);
		rb = nhi_krl_check_key(b, q->keys[k]);
		CHECK(ra == rb);
		CHECK(ra == 0 || ra == NHI_ERR_KEY_REVOKED);
	}
	/* Each found key in turn as the CA; the subject is a key found too (or
	 * the CA itself), so explicit key revocations show here as well. */
	for (ca = 0; ca < q->n_keys; ca++) {
		c = query_cert(q->keys[(ca + 1) % q->n_keys], q->keys[ca]);
		for (s = 0; s < q->n_serials; s++) {
			c->serial = q->serials[s];
			CHECK(nhi_cert_set_key_id(c, q->n_ids > 0 ? q->ids[s % q->n_ids] : "") ==
			      0);
			ra = nhi_krl_check_cert(a, c);
			rb = nhi_krl_check_cert(b, c);
			CHECK(ra == rb);
		}
		nhi_cert_free(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_krl *krl = NULL, *again = NULL, *third = NULL;
	struct nhi_buf *out = NULL, *out2 = NULL;
	struct queries q;

	if (nhi_krl_from_blob(data, size, &krl) != 0)
		return 0;
	CHECK(krl != NULL);
	if ((out = nhi_buf_new()) == NULL || (out2 = nhi_buf_new()) == NULL)
		abort();
	CHECK(nhi_krl_to_blob(krl, out) == 0);
	CHECK(nhi_krl_from_blob(nhi_buf_ptr(out), nhi_buf_len(out), &again) == 0);
	CHECK(nhi_krl_version(again) == nhi_krl_version(krl));
	CHECK(nhi_krl_to_blob(again, out2) == 0);
	CHECK(nhi_buf_len(out) == nhi_buf_len(out2));
	CHECK(memcmp(nhi_buf_ptr(out), nhi_buf_ptr(out2), nhi_buf_len(out)) == 0);
	CHECK(nhi_krl_from_blob(nhi_buf_ptr(out2), nhi_buf_len(out2), &third) == 0);

	memset(&q, 0, sizeof(q));
	collect_queries(data, size, &q);
	same_verdicts(krl, again, &q);
	free_queries(&q);

	nhi_krl_free(third);
	nhi_krl_free(again);
	nhi_krl_free(krl);
	nhi_buf_free(out2);
	nhi_buf_free(out);
	return 0;
}
