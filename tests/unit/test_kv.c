#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "kv.h"

Test(kv, round_trip_with_binary_and_repeated_keys)
{
	struct nhi_kv kv, back;
	struct nhi_buf *b = nhi_buf_new();
	uint64_t u;
	int64_t i;

	nhi_kv_init(&kv);
	nhi_kv_init(&back);
	cr_assert_eq(nhi_kv_add_str(&kv, "identity", "backup-bot"), 0);
	cr_assert_eq(nhi_kv_add(&kv, "public_key", "\0\x01\x02", 3), 0);
	cr_assert_eq(nhi_kv_add_str(&kv, "principal", "a"), 0);
	cr_assert_eq(nhi_kv_add_str(&kv, "principal", "b"), 0);
	cr_assert_eq(nhi_kv_add_u64(&kv, "ttl", 300), 0);
	cr_assert_eq(nhi_kv_add_i64(&kv, "uid", -1), 0);
	cr_assert_eq(nhi_kv_put(b, &kv), 0);
	cr_assert_eq(nhi_kv_get(b, &back), 0);
	cr_assert_eq(nhi_buf_len(b), 0);

	cr_assert_str_eq(nhi_kv_str(&back, "identity"), "backup-bot");
	cr_assert_null(nhi_kv_str(&back, "public_key"), "binary values are not text");
	cr_assert_eq(nhi_kv_find(&back, "public_key")->len, 3);
	cr_assert_eq(nhi_kv_count(&back, "principal"), 2);
	cr_assert_str_eq((char *)nhi_kv_nth(&back, "principal", 1)->value, "b");
	cr_assert_null(nhi_kv_nth(&back, "principal", 2));
	cr_assert_eq(nhi_kv_u64(&back, "ttl", &u), 0);
	cr_assert_eq(u, 300);
	cr_assert_eq(nhi_kv_i64(&back, "uid", &i), 0);
	cr_assert_eq(i, -1);
	cr_assert_eq(nhi_kv_u64(&back, "missing", &u), NHI_ERR_NOT_FOUND);
	nhi_kv_clear(&kv);
	nhi_kv_clear(&back);
	nhi_buf_free(b);
}

Test(kv, numbers_are_canonical_and_bounded)
{
	static const char *const bad[] = { "", "-", "01", "+1", "1a", " 1", "18446744073709551616",
					   "99999999999999999999" };
	uint64_t u;
	int64_t i;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct nhi_kv kv;

		nhi_kv_init(&kv);
		cr_assert_eq(nhi_kv_add_str(&kv, "n", bad[k]), 0);
		cr_assert_eq(nhi_kv_u64(&kv, "n", &u), NHI_ERR_INVALID_FORMAT, "\"%s\"", bad[k]);
		nhi_kv_clear(&kv);
	}
	{
		struct nhi_kv kv;

		nhi_kv_init(&kv);
		cr_assert_eq(nhi_kv_add_str(&kv, "max", "18446744073709551615"), 0);
		cr_assert_eq(nhi_kv_add_str(&kv, "min", "-9223372036854775808"), 0);
		cr_assert_eq(nhi_kv_add_str(&kv, "over", "9223372036854775808"), 0);
		cr_assert_eq(nhi_kv_add_str(&kv, "negzero", "-0"), 0);
		cr_assert_eq(nhi_kv_u64(&kv, "max", &u), 0);
		cr_assert_eq(u, UINT64_MAX);
		cr_assert_eq(nhi_kv_i64(&kv, "min", &i), 0);
		cr_assert_eq(i, INT64_MIN);
		cr_assert_eq(nhi_kv_i64(&kv, "over", &i), NHI_ERR_INVALID_FORMAT);
		cr_assert_eq(nhi_kv_i64(&kv, "negzero", &i), NHI_ERR_INVALID_FORMAT);
		nhi_kv_clear(&kv);
	}
}

Test(kv, keys_are_checked_both_ways)
{
	static const uint8_t bad_key[] = { 0, 0, 0, 1, 0, 0, 0, 3, 'a', '/', 'b', 0, 0, 0, 0 };
	struct nhi_kv kv;
	struct nhi_buf *b = nhi_buf_from(bad_key, sizeof(bad_key));

	nhi_kv_init(&kv);
	cr_assert_eq(nhi_kv_add_str(&kv, "Upper", "x"), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_kv_add_str(&kv, "", "x"), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_kv_add_str(&kv, "a_key_that_is_longer_than_32_bytes", "x"),
		     NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_kv_get(b, &kv), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(kv.n, 0);
	nhi_buf_free(b);
}

Test(kv, hostile_counts_and_truncation)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	struct nhi_kv kv, back;
	struct nhi_buf *b = nhi_buf_from(huge, sizeof(huge)), *w = nhi_buf_new();

	nhi_kv_init(&kv);
	cr_assert_eq(nhi_kv_get(b, &kv), NHI_ERR_TOO_MANY);
	nhi_buf_free(b);

	cr_assert_eq(nhi_kv_add_str(&kv, "name", "value"), 0);
	cr_assert_eq(nhi_kv_add_str(&kv, "other", "v"), 0);
	cr_assert_eq(nhi_kv_put(w, &kv), 0);
	for (size_t cut = 0; cut < nhi_buf_len(w); cut++) {
		b = nhi_buf_from(nhi_buf_ptr(w), cut);
		nhi_kv_init(&back);
		cr_assert_lt(nhi_kv_get(b, &back), 0, "cut %zu", cut);
		cr_assert_eq(back.n, 0, "a failed read leaves nothing behind");
		nhi_buf_free(b);
	}
	for (size_t k = kv.n; k < NHI_KV_MAX; k++)
		cr_assert_eq(nhi_kv_add_str(&kv, "x", "y"), 0);
	cr_assert_eq(nhi_kv_add_str(&kv, "x", "y"), NHI_ERR_TOO_MANY);
	nhi_kv_clear(&kv);
	nhi_buf_free(w);
}
