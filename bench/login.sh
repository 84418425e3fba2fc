#!/usr/bin/env bash
# A full ssh login through nhi's sshd configuration against the same sshd
# binary with a plain AuthorizedKeysFile key, alternating in one run.
#
#   nhi:   TrustedUserCAKeys (the broker's CA), RevokedKeys (its KRL),
#          AuthorizedPrincipalsCommand nhi-authorized-principals (online
#          check in nhid), AuthorizedKeysCommand nhi-authorized-keys,
#          AuthorizedKeysFile none, ExposeAuthInfo yes; the client offers a
#          broker certificate.
#   plain: AuthorizedKeysFile with the client's plain ed25519 key.
#
# Same host key, same account, the same client options; both UsePAM no
# (pam_nhi's share is bench/pam.sh's). Each login runs `echo ok`, so a
# login that did not happen cannot look fast. Prints median and p99 wall
# time and their ratio; nothing asserts a time. Needs root.
#
# Then, to show where the difference goes: nhi's certificate login against
# the same checks with the principal in an AuthorizedPrincipalsFile (no
# helper, no broker), and one run of the principals helper alone against
# cat.
#
#   bench/login.sh [ROUNDS]    (default 50)
ROUNDS=${1:-50}
case "$ROUNDS" in
'' | *[!0-9]*) echo "usage: $0 [ROUNDS]" >&2 && exit 2 ;;
esac

. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench/login.sh needs root (sshd, users)" >&2; exit 2; }
SPAWN=$top_builddir/bench/spawn
KEYS_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
PRINC_BUILT=$top_builddir/sshd_plugin/nhi-authorized-principals
[ -x "$SPAWN" ] && [ -x "$KEYS_BUILT" ] && [ -x "$PRINC_BUILT" ] ||
	bail_out "build first: bench/spawn, the sshd helpers"
SSH=$(command -v ssh) || bail_out "no ssh client"
helper_user_ensure

broker_setup
BENCH_PIDS=()
trap 'for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done;
	stop_nhid; nhi_on_exit' EXIT
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid

install_helpers "$KEYS_BUILT" "$PRINC_BUILT"
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$NHI_TMP/host_ed25519" || bail_out "no host key"

BOT=$(make_user) || bail_out "cannot create a user"
runuser -u "$BOT" -- test -x "$NHI" || bail_out "$BOT cannot run $NHI"
ctl identity add "$BOT" --kind automation --selector "uid=$(id -u "$BOT")" \
	--selector "exe_path=$BOT_SHELL" >/dev/null 2>&1 || bail_out "cannot add the identity"
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys"
CERT_KEY=$NHI_TMP/keys/cert
as_user "$BOT" "$BOT_SHELL" cert --identity "$BOT" --ttl 1h --out "$CERT_KEY" >/dev/null ||
	bail_out "no certificate"
PLAIN_KEY=$NHI_TMP/private/plain
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$PLAIN_KEY" || bail_out "ssh-keygen"
install -d -m 0755 -o root -g root "$NHI_TMP/authkeys"
install -m 0644 -o root -g root "$PLAIN_KEY.pub" "$NHI_TMP/authkeys/$BOT"

# start_one NAME CONFIG-LINES: the system sshd on a free port, left in
# STARTED_PORT.
start_one()
{
	local name=$1 lines=$2 port i pid
	port=$(free_port) || bail_out "no free port"
	{
		printf '%s\n' "$lines"
		cat <<-EOF
			Port $port
			ListenAddress 127.0.0.1
			HostKey $NHI_TMP/host_ed25519
			PidFile none
			UsePAM no
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PermitRootLogin no
			LogLevel ERROR
		EOF
	} >"$NHI_TMP/sshd-$name.conf"
	"$SSHD" -t -f "$NHI_TMP/sshd-$name.conf" || bail_out "sshd -t refused sshd-$name.conf"
	"$SSHD" -D -f "$NHI_TMP/sshd-$name.conf" -E "$NHI_TMP/sshd-$name.log" </dev/null &
	pid=$!
	BENCH_PIDS+=("$pid")
	for i in $(seq 1 100); do
		port_accepts "$port" && break
		kill -0 "$pid" 2>/dev/null || bail_out "sshd $name did not start: $(cat "$NHI_TMP/sshd-$name.log")"
		sleep 0.1
	done
	STARTED_PORT=$port
}

start_one nhi "TrustedUserCAKeys $STATE/user_ca.pub
RevokedKeys $STATE/revoked.krl
AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f
AuthorizedPrincipalsCommandUser nhi
AuthorizedKeysCommand $NHI_TMP/libexec/nhi-authorized-keys -c $CONF %u %U %f %t %k
AuthorizedKeysCommandUser nhi
AuthorizedKeysFile none
ExposeAuthInfo yes
PermitUserEnvironment no"
PORT_NHI=$STARTED_PORT
start_one plain "AuthorizedKeysFile $NHI_TMP/authkeys/%u"
PORT_PLAIN=$STARTED_PORT
# The same certificate checks with the principal in a file instead of the
# online check: the difference to nhi's is what the principals helper costs.
install -m 0644 -o root -g root /dev/null "$NHI_TMP/authkeys/principals-$BOT"
echo "$BOT" >"$NHI_TMP/authkeys/principals-$BOT"
start_one certfile "TrustedUserCAKeys $STATE/user_ca.pub
RevokedKeys $STATE/revoked.krl
AuthorizedPrincipalsFile $NHI_TMP/authkeys/principals-%u
AuthorizedKeysFile none
ExposeAuthInfo yes
PermitUserEnvironment no"
PORT_CERTFILE=$STARTED_PORT

CLIENT=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes
	-o IdentityAgent=none -o LogLevel=ERROR -l "$BOT")
echo "ssh login (ssh ... echo ok) to 127.0.0.1: broker certificate through nhi's sshd"
echo "configuration against a plain authorized_keys key, same sshd ($SSHD)"
"$SPAWN" -n "$ROUNDS" -w 3 -t 1.10 \
	nhi-certificate - "$SSH" "${CLIENT[@]}" -i "$CERT_KEY" -o CertificateFile="$CERT_KEY-cert.pub" \
	-p "$PORT_NHI" 127.0.0.1 echo ok ::: \
	plain-key - "$SSH" "${CLIENT[@]}" -i "$PLAIN_KEY" -p "$PORT_PLAIN" 127.0.0.1 echo ok
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# The automation path end to end: nhi ssh asks the broker for a certificate
# for a new in-memory key (issuance, durably recorded) and logs in with
# libssh, against the same plain-key ssh login.
KH=$NHI_TMP/keys/known_hosts
echo "[127.0.0.1]:$PORT_NHI $(cat "$NHI_TMP/host_ed25519.pub")" >"$KH"
chmod 0644 "$KH"
echo
echo "nhi ssh (a new key, a certificate from nhid, libssh login) against the plain-key ssh login"
"$SPAWN" -n "$ROUNDS" -w 3 \
	nhi-ssh "$BOT" "$BOT_SHELL" -c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" ssh -n \
	--identity "$BOT" --known-hosts "$KH" -p "$PORT_NHI" 127.0.0.1 -- echo ok ::: \
	plain-key - "$SSH" "${CLIENT[@]}" -i "$PLAIN_KEY" -p "$PORT_PLAIN" 127.0.0.1 echo ok
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# Where the certificate login's extra time goes: the same sshd checks with
# the principal read from a file (no helper, no broker) against nhi's.
echo
echo "the same certificate login with AuthorizedPrincipalsFile (no online check) against nhi's"
"$SPAWN" -n "$ROUNDS" -w 3 \
	nhi-certificate - "$SSH" "${CLIENT[@]}" -i "$CERT_KEY" -o CertificateFile="$CERT_KEY-cert.pub" \
	-p "$PORT_NHI" 127.0.0.1 echo ok ::: \
	principals-file - "$SSH" "${CLIENT[@]}" -i "$CERT_KEY" \
	-o CertificateFile="$CERT_KEY-cert.pub" -p "$PORT_CERTFILE" 127.0.0.1 echo ok
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# Then one run of the principals helper as sshd makes it (as nhi, with the
# tokens sshd passes for this certificate, the broker's online check
# included) against cat of the plain key's authorized_keys file, which is
# what the plain sshd reads instead. sshd runs the helper twice per login.
SERIAL=$("$SSH_KEYGEN" -L -f "$CERT_KEY-cert.pub" | sed -n 's/^ *Serial: *//p')
KEY_ID=$("$SSH_KEYGEN" -L -f "$CERT_KEY-cert.pub" | sed -n 's/^ *Key ID: *"\(.*\)"$/\1/p')
FP=$("$SSH_KEYGEN" -l -f "$CERT_KEY" | cut -d' ' -f2)
echo
echo "one nhi-authorized-principals run (exec, configuration, online check) against cat"
"$SPAWN" -n "$((ROUNDS * 4))" -w 10 \
	nhi-authorized-principals nhi "$NHI_TMP/libexec/nhi-authorized-principals" -c "$CONF" \
	"$BOT" "$(id -u "$BOT")" "$SERIAL" "$KEY_ID" "$FP" ::: \
	cat "$BOT" /bin/cat "$NHI_TMP/authkeys/$BOT"
rc=$?

# Every certificate login went through the broker's online check.
n=$(grep -c "principals: $BOT .*may log in" "$NHID_LOG" || true)
echo "logins the broker's online check allowed: $n, expected $((5 * (ROUNDS + 3) + 4 * ROUNDS + 10)):"
echo "two per nhi-certificate ssh login (the client's probe and its signed attempt),"
echo "one per nhi ssh login, one per helper run"
exit $rc
