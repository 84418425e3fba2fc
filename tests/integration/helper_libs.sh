#!/usr/bin/env bash
# nhi-authorized-keys starts without libcrypto: sshd runs it twice per
# offered key, and loading libcrypto was most of its start-up. It parses
# keys without the EC curve check (lib/sshkey.h, *_for_match), and nothing
# it links may pull libcrypto back in. nhid, which checks keys in full,
# still links it: the control that shows the check can see libcrypto at
# all. Needs no root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

HELPER=$top_builddir/sshd_plugin/nhi-authorized-keys
PRINCIPALS=$top_builddir/sshd_plugin/nhi-authorized-principals
NHID=$top_builddir/broker/nhid
for f in "$HELPER" "$PRINCIPALS" "$NHID"; do
	[ -x "$f" ] || bail_out "not built: $f"
done
command -v nm >/dev/null && command -v readelf >/dev/null || bail_out "needs nm and readelf"
plan 5

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

out=$(needed "$NHID")
if grep -q '^libcrypto\.so' <<<"$out"; then
	pass "nhid needs libcrypto (the control)"
else
	fail "nhid needs libcrypto (the control)" "needed:" "$out"
fi

for prog in "$HELPER" "$PRINCIPALS"; do
	name=${prog##*/}
	out=$(needed "$prog")
	if grep -q '^libcrypto\.so' <<<"$out"; then
		fail "$name does not need libcrypto" "needed:" "$out"
	else
		pass "$name does not need libcrypto"
	fi
done

# No OpenSSL symbol may be left for the loader to find elsewhere either.
out=$(nm -D --undefined-only "$HELPER" | grep -E '@OPENSSL_|[[:space:]](EVP|EC|BN|ERR|OSSL|RSA|ECDSA)_')
if [ -z "$out" ]; then
	pass "nhi-authorized-keys imports no OpenSSL symbol"
else
	fail "nhi-authorized-keys imports no OpenSSL symbol" "imports:" "$out"
fi

# It still fingerprints (crypto_hash_sha256) and reads base64 through libsodium.
out=$(nm -D --undefined-only "$HELPER")
check "nhi-authorized-keys imports crypto_hash_sha256" grep -q 'crypto_hash_sha256' <<<"$out"
