#!/usr/bin/env bash
# A narrated walk through what nhi does today: a CA made by libnhi, a real
# sshd that trusts it, a short-lived certificate signed by libnhi, a login
# with it, and the same login refused once the certificate's serial is in a
# KRL written by libnhi. Everything it creates (sshd, user, keys) is removed
# at the end, also on failure or Ctrl-C.
#
# Needs root: it starts sshd and creates a throwaway user.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: needs root (it starts an sshd on 127.0.0.1 and creates a throwaway user)" >&2
	exit 2
fi

step=0
say()
{
	step=$((step + 1))
	printf '\n[%d] %s\n' "$step" "$*"
}
show()
{
	sed 's/^/      /'
}

echo "nhi demo: short-lived OpenSSH certificates signed by libnhi, checked by a real sshd."

say "Installing build dependencies (skipped when they are already there)."
bash "$ROOT/scripts/deps.sh" | show || exit 1

say "Building nhi in build/."
(
	cd "$ROOT" &&
		{ [ -x configure ] || ./autogen.sh; } &&
		mkdir -p build && cd build &&
		{ [ -f Makefile ] || ../configure -q; } &&
		make -j2
) >"$ROOT/build-demo.log" 2>&1 || {
	tail -n 40 "$ROOT/build-demo.log"
	echo "demo.sh: the build failed; the full log is build-demo.log" >&2
	exit 1
}
rm -f "$ROOT/build-demo.log"

export top_srcdir=$ROOT top_builddir=$ROOT/build
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
export SSHD
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
require_certtool

CA=$NHI_TMP/private/user_ca
KRL=$NHI_TMP/revoked.krl

say "Creating a certificate authority: an Ed25519 key generated with libsodium and
    written in OpenSSH's format by libnhi (private key mode 0600, public key beside it)."
"$CERTTOOL" ca-generate "$CA" || exit 1
"$CERTTOOL" fingerprint "$CA.pub" | show

say "Writing an empty key revocation list (KRL) with libnhi; sshd will read it on every login."
"$CERTTOOL" krl --out "$KRL" --ca "$CA.pub" || exit 1

say "Starting a private sshd on a free port of 127.0.0.1 that trusts only this CA
    (TrustedUserCAKeys), checks the KRL (RevokedKeys) and reads no authorized_keys."
start_sshd "TrustedUserCAKeys $CA.pub" "RevokedKeys $KRL"
echo "      sshd pid $NHI_SSHD_PID listening on 127.0.0.1:$NHI_SSHD_PORT"

say "Creating a throwaway user. It has no password and no authorized_keys file."
USER_NAME=$(make_user) || exit 1
echo "      user: $USER_NAME"

say "The user makes a key pair with ssh-keygen. Only the public half is shown to the CA."
KEY=$(make_user_key demo) || exit 1
cat "$KEY.pub" | show

say "libnhi signs a certificate for that key: serial 1001, principal $USER_NAME,
    valid from one minute ago for five minutes. ssh-keygen -L shows what is in it:"
CERT=$NHI_TMP/private/demo-cert.pub
"$CERTTOOL" sign --ca "$CA" --key "$KEY.pub" --serial 1001 --id "nhi:demo:1001" \
	--principal "$USER_NAME" --valid-after -1m --valid-before +5m --out "$CERT" || exit 1
"$SSH_KEYGEN" -L -f "$CERT" | show

say "Logging in with key and certificate, running 'id' on the other side:"
if ssh_as "$USER_NAME" -i "$KEY" -o CertificateFile="$CERT" -- id; then
	echo "$NHI_SSH_OUT" | show
	echo "      sshd says:"
	sshd_log_since_mark | grep -E 'Accepted publickey' | show
else
	echo "      the login failed unexpectedly:"
	echo "$NHI_SSH_OUT" | show
	sshd_log_since_mark | tail -n 10 | show
	exit 1
fi

say "Revoking serial 1001: libnhi writes a new KRL listing it. No restart of sshd."
"$CERTTOOL" krl --out "$KRL" --ca "$CA.pub" --serial 1001 || exit 1
"$SSH_KEYGEN" -Q -f "$KRL" "$CERT" 2>&1 | show

say "The same login again, same key, same certificate, still within its five minutes:"
if ssh_as "$USER_NAME" -i "$KEY" -o CertificateFile="$CERT" -- id; then
	echo "      the login was accepted although the serial is revoked:"
	echo "$NHI_SSH_OUT" | show
	exit 1
fi
echo "      refused. sshd says:"
sshd_log_has "revoked by file" || true
sshd_log_since_mark | grep -E 'revoked|Failed publickey' | show

say "Cleaning up: stopping sshd, deleting $USER_NAME and every key made above."
exit 0
