#!/usr/bin/env bash
# nhi-certtool on bad input: a one-line error naming what was wrong, exit 1
# for a failure and 2 for a usage error; and fingerprints equal to
# ssh-keygen -lf. Needs no root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

require_certtool
plan 18

P=$NHI_TMP/private

# expect DESC STATUS PATTERN CMD...: CMD exits with STATUS and its stderr
# (or stdout) matches the extended regex PATTERN, on a single line.
expect()
{
	local desc=$1 status=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$status" ]; then
		fail "$desc" "expected exit $status, got $rc: $*" "$out"
	elif ! grep -Eq -- "$pattern" <<<"$out"; then
		fail "$desc" "output does not match: $pattern" "$out"
	else
		pass "$desc"
	fi
}

"$SSH_KEYGEN" -q -t ed25519 -N '' -C "ed key" -f "$P/ed" || bail_out "ssh-keygen failed"
"$SSH_KEYGEN" -q -t ecdsa -b 384 -N '' -f "$P/ec" || bail_out "ssh-keygen failed"
"$SSH_KEYGEN" -q -t rsa -b 3072 -N '' -C "rsa key" -f "$P/rsa" || bail_out "ssh-keygen failed"
echo "ssh-ed25519 not-base64!!" >"$P/garbage.pub"

expect "--help prints the usage and exits 0" 0 "usage: nhi-certtool" "$CERTTOOL" --help
expect "no command is a usage error (exit 2)" 2 "usage:" "$CERTTOOL"
expect "an unknown command is named (exit 2)" 2 "unknown command 'frobnicate'" \
	"$CERTTOOL" frobnicate
expect "an unknown option is named (exit 2)" 2 "unknown option '--bogus'" \
	"$CERTTOOL" krl --out "$P/x.krl" --bogus

expect "ca-generate into a missing directory fails naming the file (exit 1)" 1 \
	"$NHI_TMP/no/such/dir/ca" "$CERTTOOL" ca-generate "$NHI_TMP/no/such/dir/ca"
"$CERTTOOL" ca-generate "$P/ca" || bail_out "ca-generate failed"

SIGN=(sign --ca "$P/ca" --key "$P/ed.pub" --id test --principal alice
	--valid-after -1m --valid-before +5m --out "$P/cert.pub")
expect "sign with a missing CA key names the file (exit 1)" 1 \
	"cannot load CA key '$P/missing-ca'" \
	"$CERTTOOL" sign --ca "$P/missing-ca" --key "$P/ed.pub" --serial 1 --id test \
	--principal alice --valid-after -1m --valid-before +5m --out "$P/cert.pub"
expect "sign with a missing public key names the file (exit 1)" 1 \
	"cannot read public key '$P/missing.pub'" \
	"$CERTTOOL" sign --ca "$P/ca" --key "$P/missing.pub" --serial 1 --id test \
	--principal alice --valid-after -1m --valid-before +5m --out "$P/cert.pub"
expect "sign with a bad serial names it (exit 2)" 2 "bad serial '12x'" \
	"$CERTTOOL" "${SIGN[@]}" --serial 12x
expect "sign with a negative serial names it (exit 2)" 2 "bad serial '-1'" \
	"$CERTTOOL" "${SIGN[@]}" --serial -1
expect "sign with a bad time names it (exit 2)" 2 "bad --valid-before '\\+5x'" \
	"$CERTTOOL" "${SIGN[@]}" --serial 1 --valid-before +5x
expect "sign with an empty validity window is refused (exit 2)" 2 "empty validity" \
	"$CERTTOOL" "${SIGN[@]}" --serial 1 --valid-after +1h --valid-before now
chmod 0640 "$P/ca"
expect "sign refuses a group-readable CA key (exit 1)" 1 "cannot load CA key '$P/ca'" \
	"$CERTTOOL" "${SIGN[@]}" --serial 1
chmod 0600 "$P/ca"

expect "krl with a bad serial names it (exit 2)" 2 "bad serial 'abc'" \
	"$CERTTOOL" krl --out "$P/x.krl" --serial abc
expect "krl with a reversed serial range names it (exit 2)" 2 "bad serial range '5-3'" \
	"$CERTTOOL" krl --out "$P/x.krl" --serial-range 5-3
expect "fingerprint of an unparsable key names the file (exit 1)" 1 \
	"cannot parse public key '$P/garbage.pub'" "$CERTTOOL" fingerprint "$P/garbage.pub"

# Same line as ssh-keygen -lf: bits, SHA256:..., comment, (TYPE).
for k in ed ec rsa; do
	ours=$("$CERTTOOL" fingerprint "$P/$k.pub" 2>&1)
	theirs=$("$SSH_KEYGEN" -lf "$P/$k.pub" 2>&1)
	if [ "$ours" = "$theirs" ]; then
		pass "fingerprint of the $k key equals ssh-keygen -lf"
	else
		fail "fingerprint of the $k key equals ssh-keygen -lf" "ours:   $ours" "theirs: $theirs"
	fi
done
