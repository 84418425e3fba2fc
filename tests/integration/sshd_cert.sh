#!/usr/bin/env bash
# A real sshd trusting a CA made by libnhi: certificates signed by libnhi log
# in; expired, not-yet-valid, wrong-principal, wrong-CA, wrong-source and
# revoked ones (KRL written by libnhi) are refused, each for the reason sshd
# logs.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

require_root
require_certtool
plan 22

CA=$NHI_TMP/private/user_ca
OTHER_CA=$NHI_TMP/private/other_ca
KRL=$NHI_TMP/revoked.krl

# sign_cert NAME KEY SERIAL PRINCIPAL AFTER BEFORE [CERTTOOL-OPTION...]:
# a certificate for KEY.pub in the private dir; prints its path.
sign_cert()
{
	local name=$1 key=$2 serial=$3 principal=$4 after=$5 before=$6 out
	shift 6
	out=$NHI_TMP/private/$name-cert.pub
	"$CERTTOOL" sign --ca "${SIGN_CA:-$CA}" --key "$key.pub" --serial "$serial" \
		--id "nhi:test:$serial" --principal "$principal" \
		--valid-after "$after" --valid-before "$before" "$@" --out "$out" >&2 || return 1
	echo "$out"
}

# login_ok DESC CERT KEY: the login runs `id -un` and prints the user, and
# sshd logged the certificate it accepted (by serial).
login_ok()
{
	local desc=$1 cert=$2 key=$3 serial=$4
	if ssh_as "$USER_NAME" -i "$key" -o CertificateFile="$cert" -- id -un &&
		[ "$NHI_SSH_OUT" = "$USER_NAME" ] &&
		sshd_log_has "Accepted publickey for $USER_NAME .*CERT.*\\(serial $serial\\)"; then
		pass "$desc"
	else
		fail "$desc" "ssh output: $NHI_SSH_OUT"
	fi
}

# login_refused DESC CERT KEY REASON: the login fails, nothing was accepted,
# and sshd logged REASON (an extended regex), so the test cannot pass because
# of some unrelated breakage.
login_refused()
{
	local desc=$1 cert=$2 key=$3 reason=$4
	if ssh_as "$USER_NAME" -i "$key" -o CertificateFile="$cert" -- id -un; then
		fail "$desc" "login succeeded: $NHI_SSH_OUT"
		return
	fi
	if sshd_log_since_mark | grep -q "Accepted publickey"; then
		fail "$desc" "sshd accepted a key: $NHI_SSH_OUT"
	elif [ -n "$reason" ] && ! sshd_log_has "$reason"; then
		fail "$desc" "sshd did not log the expected reason: $reason" "ssh output: $NHI_SSH_OUT"
	else
		pass "$desc"
	fi
}

# --- the CA, made by libnhi
if "$CERTTOOL" ca-generate "$CA" && [ "$(stat -c %a "$CA")" = 600 ] &&
	[ "$("$SSH_KEYGEN" -y -f "$CA" | cut -d' ' -f1-2)" = "$(cut -d' ' -f1-2 "$CA.pub")" ]; then
	pass "libnhi CA key: private file 0600, ssh-keygen derives the same public key"
else
	fail "libnhi CA key: private file 0600, ssh-keygen derives the same public key"
fi
"$CERTTOOL" ca-generate "$OTHER_CA" || bail_out "cannot generate a second CA"

USER_NAME=$(make_user) || bail_out "cannot create a test user"
KEY=$(make_user_key user) || bail_out "cannot generate a user key"
KEY2=$(make_user_key user2) || bail_out "cannot generate a user key"
KEY3=$(make_user_key user3) || bail_out "cannot generate a user key"

# An empty KRL from libnhi to start with: sshd refuses every key when its
# RevokedKeys file is missing or unreadable, so this checks it parses ours.
"$CERTTOOL" krl --out "$KRL" --ca "$CA.pub" || bail_out "cannot write an empty KRL"
check "KRL written by libnhi is world-readable" test "$(stat -c %a "$KRL")" = 644

start_sshd "TrustedUserCAKeys $CA.pub" "RevokedKeys $KRL"

# --- a good certificate
CERT=$(sign_cert good "$KEY" 1 "$USER_NAME" -5m +5m) || bail_out "nhi-certtool sign failed"
if out=$("$SSH_KEYGEN" -L -f "$CERT" 2>&1) && grep -q "Serial: 1$" <<<"$out" &&
	grep -q "^ *$USER_NAME$" <<<"$out" && grep -q "permit-pty" <<<"$out"; then
	pass "ssh-keygen -L reads the certificate: serial, principal, default extensions"
else
	fail "ssh-keygen -L reads the certificate: serial, principal, default extensions" "$out"
fi
login_ok "certificate signed by libnhi logs in and runs id -un" "$CERT" "$KEY" 1

if ssh_as "$USER_NAME" -i "$KEY" -- id -un; then
	fail "the same key without its certificate is refused" "login succeeded: $NHI_SSH_OUT"
else
	pass "the same key without its certificate is refused"
fi

# --- validity and principals
CERT=$(sign_cert expired "$KEY" 2 "$USER_NAME" -2h -1h) || bail_out "sign failed"
login_refused "expired certificate is refused" "$CERT" "$KEY" "Certificate invalid: expired"

CERT=$(sign_cert future "$KEY" 3 "$USER_NAME" +1h +2h) || bail_out "sign failed"
login_refused "not-yet-valid certificate is refused" "$CERT" "$KEY" \
	"Certificate invalid: not yet valid"

CERT=$(sign_cert wrongp "$KEY" 4 "someone-else" -5m +5m) || bail_out "sign failed"
login_refused "certificate for another principal is refused" "$CERT" "$KEY" \
	"Certificate invalid: name is not a listed principal"

CERT=$(SIGN_CA=$OTHER_CA sign_cert otherca "$KEY" 5 "$USER_NAME" -5m +5m) || bail_out "sign failed"
login_refused "certificate from a CA sshd does not trust is refused" "$CERT" "$KEY" \
	"Failed publickey for $USER_NAME .*CERT.*\\(serial 5\\)"

# --- critical options are enforced by sshd
CERT=$(sign_cert forced "$KEY" 6 "$USER_NAME" -5m +5m --critical "force-command=echo forced") ||
	bail_out "sign failed"
if ssh_as "$USER_NAME" -i "$KEY" -o CertificateFile="$CERT" -- id -un &&
	[ "$NHI_SSH_OUT" = forced ]; then
	pass "force-command in the certificate replaces the requested command"
else
	fail "force-command in the certificate replaces the requested command" "ssh output: $NHI_SSH_OUT"
fi

CERT=$(sign_cert srcaddr "$KEY" 7 "$USER_NAME" -5m +5m --critical "source-address=192.0.2.1/32") ||
	bail_out "sign failed"
login_refused "certificate limited to another source address is refused" "$CERT" "$KEY" \
	"not from a permitted source address"

CERT=$(sign_cert unknown "$KEY" 8 "$USER_NAME" -5m +5m --critical "nhi-unknown@example.org") ||
	bail_out "sign failed"
login_refused "certificate with an unknown critical option is refused" "$CERT" "$KEY" \
	"critical option .* is not supported"

# --- revocation through our KRL; sshd rereads RevokedKeys on every attempt
CERT10=$(sign_cert serial10 "$KEY" 10 "$USER_NAME" -5m +5m) || bail_out "sign failed"
CERT11=$(sign_cert serial11 "$KEY" 11 "$USER_NAME" -5m +5m) || bail_out "sign failed"
CERT12=$(sign_cert serial12 "$KEY" 12 "$USER_NAME" -5m +5m) || bail_out "sign failed"
CERT25=$(sign_cert serial25 "$KEY" 25 "$USER_NAME" -5m +5m) || bail_out "sign failed"
CERTK2=$(sign_cert key2 "$KEY2" 30 "$USER_NAME" -5m +5m) || bail_out "sign failed"
CERTK3=$(sign_cert key3 "$KEY3" 31 "$USER_NAME" -5m +5m) || bail_out "sign failed"
login_ok "serial 10 logs in before it is revoked" "$CERT10" "$KEY" 10

"$CERTTOOL" krl --out "$KRL" --ca "$CA.pub" --serial 10 --serial-range 20-29 \
	--key-id nhi:test:12 --sha256 "$KEY2.pub" --key "$KEY3.pub" ||
	bail_out "cannot write the KRL"
if ! out=$("$SSH_KEYGEN" -Q -f "$KRL" "$CERT10" 2>&1) && grep -q REVOKED <<<"$out"; then
	pass "ssh-keygen -Q finds serial 10 in our KRL"
else
	fail "ssh-keygen -Q finds serial 10 in our KRL" "$out"
fi

login_refused "serial 10, revoked in our KRL, is refused" "$CERT10" "$KEY" "revoked by file"
login_ok "serial 11 from the same CA still logs in" "$CERT11" "$KEY" 11
login_refused "certificate revoked by key id is refused" "$CERT12" "$KEY" "revoked by file"
login_refused "certificate in a revoked serial range is refused" "$CERT25" "$KEY" "revoked by file"
login_refused "certificate for a key revoked by SHA-256 is refused" "$CERTK2" "$KEY2" "revoked by file"
login_refused "certificate for an explicitly revoked key is refused" "$CERTK3" "$KEY3" "revoked by file"

# --- principals mapped by AuthorizedPrincipalsFile (read as the user, StrictModes)
mkdir -m 0755 "$NHI_TMP/principals"
echo "role-deploy" >"$NHI_TMP/principals/$USER_NAME"
chmod 0644 "$NHI_TMP/principals/$USER_NAME"
start_sshd "TrustedUserCAKeys $CA.pub" "RevokedKeys $KRL" \
	"AuthorizedPrincipalsFile $NHI_TMP/principals/%u"
CERT=$(sign_cert role "$KEY" 40 role-deploy -5m +5m) || bail_out "sign failed"
login_ok "certificate for a principal listed in AuthorizedPrincipalsFile logs in" "$CERT" "$KEY" 40
CERT=$(sign_cert norole "$KEY" 41 "$USER_NAME" -5m +5m) || bail_out "sign failed"
login_refused "certificate for a principal not in AuthorizedPrincipalsFile is refused" \
	"$CERT" "$KEY" "does not contain an authorized principal"
