#!/usr/bin/env bash
# A narrated walk through what nhi does today: the broker nhid with its
# embedded store, an automation identity bound to a user and a program, a
# five-minute certificate issued to that program after the broker attests
# it, a login to a real sshd with it (no pty for a machine identity), a
# refusal for anyone else, revocation reaching sshd through the broker's
# KRL, and the audit trail verified. Everything it creates (nhid, sshd,
# users, keys, state) is removed at the end, also on failure or Ctrl-C.
#
# Needs root: it starts nhid and sshd and creates throwaway users.
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

echo "nhi demo: a machine identity gets a short-lived certificate from the broker; no static key."

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

# shellcheck source=../tests/integration/broker-lib.sh
. "$ROOT/tests/integration/broker-lib.sh"

say "Starting the broker nhid with its state (sqlite store, CA, KRL, audit trail) in a
    private directory. On first start it creates its Ed25519 user CA."
broker_setup
start_nhid
ctl status | show
ls -l "$STATE" | show

say "Starting a private sshd on a free port of 127.0.0.1 that trusts only the broker's CA
    (TrustedUserCAKeys), reads the broker's KRL (RevokedKeys) and no authorized_keys."
mkdir -m 0755 "$NHI_TMP/principals"
start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsFile $NHI_TMP/principals/%u"
echo "      sshd pid $NHI_SSHD_PID listening on 127.0.0.1:$NHI_SSHD_PORT"

say "Creating two throwaway users: the backup job's account, and someone else."
BOT=$(make_user) || exit 1
OTHER=$(make_user) || exit 1
echo "      the backup job runs as $BOT; the other user is $OTHER"
echo backup-bot >"$NHI_TMP/principals/$BOT"
chmod 0644 "$NHI_TMP/principals/$BOT"

say "The backup job is a program of its own (here a copy of bash). An admin registers the
    automation identity backup-bot: only that program, run by $BOT, gets its certificates."
BOT_PROG=$NHI_TMP/backup-job
cp /bin/bash "$BOT_PROG" && chmod 0755 "$BOT_PROG"
ctl identity add backup-bot --kind automation --owner "backup team" \
	--selector "uid=$(id -u "$BOT")" --selector "exe_path=$BOT_PROG" | show

say "The backup job asks the broker for a certificate. nhi makes an Ed25519 key in memory;
    the broker attests the calling program from its process credentials, signs a
    5-minute certificate, and commits its record and audit event before answering."
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/job"
KEY=$NHI_TMP/job/key
as_user "$BOT" "$BOT_PROG" cert --identity backup-bot --out "$KEY" 2>&1 | show
[ -f "$KEY-cert.pub" ] || { cat "$NHID_LOG"; exit 1; }
"$SSH_KEYGEN" -L -f "$KEY-cert.pub" | show
SERIAL=$("$SSH_KEYGEN" -L -f "$KEY-cert.pub" | sed -n 's/^ *Serial: //p')

say "The job logs in with it and runs 'id' on the other side:"
if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id; then
	echo "$NHI_SSH_OUT" | show
else
	echo "$NHI_SSH_OUT" | show
	exit 1
fi

say "A machine identity cannot become an interactive shell: asking for a pty gets none."
ssh_as "$BOT" -tt -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- tty
echo "$NHI_SSH_OUT" | show

say "Another user running the same program asks for backup-bot's certificate: refused."
install -d -m 0700 -o "$OTHER" -g "$OTHER" "$NHI_TMP/other"
as_user "$OTHER" "$BOT_PROG" cert --identity backup-bot --out "$NHI_TMP/other/key" 2>&1 | show

say "An admin revokes serial $SERIAL. The broker rewrites its KRL; sshd needs no restart."
ctl revoke --serial "$SERIAL" --reason "demo" | show

say "The same login again, same key, same certificate, still within its five minutes:"
if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id; then
	echo "      the login was accepted although the serial is revoked"
	exit 1
fi
echo "      refused. sshd says:"
sshd_log_has revoked
sshd_log_since_mark | grep -E 'revoked' | show

say "The audit trail: every issuance, refusal and revocation, hash-chained, then verified."
ctl audit tail -n 10 | show
ctl audit verify | show

say "Cleaning up: stopping nhid and sshd, deleting the users and every key and file made above."
exit 0
