#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"

/* RFC 4648 §10 test vectors. */
static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

Test(b64, rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		struct nhi_buf *b = nhi_buf_new();
		char *enc;

		cr_assert_eq(nhi_b64_encode((const uint8_t *)plain[i], strlen(plain[i]), &enc), 0);
		cr_assert_str_eq(enc, coded[i]);
		cr_assert_eq(nhi_b64_decode(coded[i], strlen(coded[i]), b), 0);
		cr_assert_eq(nhi_buf_len(b), strlen(plain[i]));
		cr_assert_eq(memcmp(nhi_buf_ptr(b), plain[i], strlen(plain[i])), 0);
		free(enc);
		nhi_buf_free(b);
	}
}

Test(b64, malformed_input_is_refused_and_leaves_output_unchanged)
{
	static const char *const bad[] = { "Zg", "Zg=", "Zm9v!A==", "Zm 9v", "Zm9v\n", "====",
					   "Zg==Zg==", "Zm9vYmFy=" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nhi_buf *b = nhi_buf_new();

		cr_assert_eq(nhi_buf_put(b, "keep", 4), 0);
		cr_assert_eq(nhi_b64_decode(bad[i], strlen(bad[i]), b), NHI_ERR_BASE64,
			     "accepted \"%s\"", bad[i]);
		cr_assert_eq(nhi_buf_len(b), 4);
		nhi_buf_free(b);
	}
}
