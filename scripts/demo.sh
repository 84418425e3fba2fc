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

say "Part two: sshd the way nhi configures it. The private sshd restarts with the nhi
    helpers (AuthorizedKeysCommand, AuthorizedPrincipalsCommand) and the login account
    nhi-login, whose only command is nhi-issue."
id nhi >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nhi ||
	id nhi >/dev/null 2>&1 || exit 1
id nhi-login >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh -p '*' \
		nhi-login || id nhi-login >/dev/null 2>&1 || exit 1
LIBEXEC=$NHI_TMP/libexec
install -d -m 0755 -o root -g root "$LIBEXEC"
for prog in nhi-authorized-keys nhi-authorized-principals nhi-issue; do
	install -m 0755 -o root -g root "$ROOT/build/sshd_plugin/$prog" "$LIBEXEC/$prog"
done
stop_sshd
NHI_SSHD_TAIL="Match User nhi-login
	ForceCommand $LIBEXEC/nhi-issue -c $CONF"
start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsCommand $LIBEXEC/nhi-authorized-principals -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi" \
	"AuthorizedKeysCommand $LIBEXEC/nhi-authorized-keys -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi" "ExposeAuthInfo yes" "PermitUserEnvironment no"
echo "      sshd pid $NHI_SSHD_PID listening on 127.0.0.1:$NHI_SSHD_PORT"

say "A legacy account with a static key in ~/.ssh/authorized_keys, as on most hosts today.
    In observe mode (the default) the login works and the broker inventories the key."
LEGACY=$(make_user) || exit 1
LKEY=$(make_user_key legacy) || exit 1
LHOME=$(getent passwd "$LEGACY" | cut -d: -f6)
install -d -m 0700 -o "$LEGACY" -g "$LEGACY" "$LHOME/.ssh"
{
	echo "# deploy key, owner unknown"
	cat "$LKEY.pub"
} >"$LHOME/.ssh/authorized_keys"
chown "$LEGACY:$LEGACY" "$LHOME/.ssh/authorized_keys"
chmod 0600 "$LHOME/.ssh/authorized_keys"
ssh_as "$LEGACY" -i "$LKEY" -- id -un || { echo "$NHI_SSH_OUT" | show; exit 1; }
echo "      logged in as $NHI_SSH_OUT"
ctl keys list --account "$LEGACY" | show

say "Before enforcing anything, the admin surveys the static keys. 'nhictl discover' has the
    broker read every account's key files (here the one legacy account) and sums them up."
ctl discover --account "$LEGACY" | show

say "The admin switches the broker to enforce mode. At the next login the key is retired:
    its line leaves the file (the rest kept byte for byte, a backup under the state
    directory), it goes into the KRL, and the login is refused."
stop_nhid
printf '\n[sshd]\nkeys_mode = enforce\n' >>"$CONF"
start_nhid
if ssh_as "$LEGACY" -i "$LKEY" -- id -un; then
	echo "      the static key still logs in"
	exit 1
fi
echo "      refused. The file now holds:"
show <"$LHOME/.ssh/authorized_keys"
echo "      backup kept in the state directory:"
ls "$STATE/retired" | show
sleep 1
"$SSH_KEYGEN" -Q -f "$STATE/revoked.krl" "$LKEY.pub" | show

say "An engineer, passwordless and just in time. The admin creates the human identity and a
    one-use enrollment code; the engineer enrolls the key in their ssh-agent once."
ENG=$(make_user) || exit 1
EHOME=$NHI_TMP/eng
install -d -m 0700 -o "$ENG" -g "$ENG" "$EHOME"
runuser -u "$ENG" -- ssh-agent -D -a "$EHOME/agent.sock" >/dev/null 2>&1 &
AGENT_PID=$!
trap 'kill "$AGENT_PID" 2>/dev/null; stop_nhid; nhi_on_exit' EXIT
for _ in $(seq 1 50); do
	[ -S "$EHOME/agent.sock" ] && break
	sleep 0.1
done
as_eng() { runuser -u "$ENG" -- env SSH_AUTH_SOCK="$EHOME/agent.sock" HOME="$EHOME" "$@"; }
as_eng ssh-keygen -q -t ed25519 -N '' -C device -f "$EHOME/device" || exit 1
as_eng ssh-add -q "$EHOME/device" 2>/dev/null || exit 1
ctl identity add "$ENG" --kind human --uid "$(id -u "$ENG")" 2>&1 | show
CODE=$(ctl enroll "$ENG" --ttl 10m --json |
	python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["code"])') || exit 1
echo "      enrollment code: $CODE"
SSH_OPTS=(-p "$NHI_SSHD_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR)
as_eng timeout 60 "$NHI" -c "$CONF" enroll --code "$CODE" "${SSH_OPTS[@]}" 127.0.0.1 2>&1 |
	grep -v "chdir" | show

say "nhi login: over ssh to nhi-login, sshd checks the device key, nhi-issue asks the broker,
    and a one-hour certificate for a fresh in-memory key lands in the engineer's agent."
as_eng timeout 60 "$NHI" -c "$CONF" login "${SSH_OPTS[@]}" 127.0.0.1 2>&1 | grep -v "chdir" | show
as_eng ssh-add -l | show

say "The engineer logs in with the certificate from the agent:"
sshd_log_mark
if out=$(as_eng timeout 30 ssh -F /dev/null -o BatchMode=yes "${SSH_OPTS[@]}" -l "$ENG" \
	127.0.0.1 id 2>&1 </dev/null); then
	echo "$out" | show
else
	echo "$out" | show
	exit 1
fi

say "The audit trail again, with the retirement, the enrollment and the issuance, verified."
ctl audit tail -n 8 | show
ctl audit verify | show

say "Cleaning up: stopping nhid and sshd, deleting the users and every key and file made above."
exit 0
