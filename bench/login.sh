#!/usr/bin/env bash
# A full ssh login through nhi's sshd configuration and PAM stack against
# the same sshd binary with a plain AuthorizedKeysFile key, alternating in
# one run: DESIGN's budget (within 1.10x), measured as it is stated.
#
#   nhi:   TrustedUserCAKeys (the broker's CA), RevokedKeys (its KRL),
#          AuthorizedPrincipalsCommand nhi-authorized-principals (online
#          check in nhid), AuthorizedKeysCommand nhi-authorized-keys,
#          AuthorizedKeysFile none, ExposeAuthInfo yes, PermitUserEnvironment
#          no; UsePAM yes with pam_unix and pam_nhi (account and session);
#          the client offers an automation identity's broker certificate.
#   plain: AuthorizedKeysFile with the client's plain ed25519 key; UsePAM
#          yes with pam_unix alone.
#
# Each side is a byte-identical copy of the system sshd named for its PAM
# service (/etc/pam.d/NAME, written here and removed at exit). Same host
# key, same account, the same client options. Each login runs `echo ok`, so
# a login that did not happen cannot look fast. Prints median and p99 wall
# time and their ratio; nothing asserts a time. Needs root.
#
# Then the breakdown, to show where the difference goes: the certificate
# login with pam_unix and pam_nhi against pam_unix alone; both logins with
# UsePAM no; nhi ssh against the plain login; the certificate login with
# the principal in an AuthorizedPrincipalsFile (no helper, no broker)
# against nhi's; the floor, /bin/echo as the principals command, against
# the plain key, and nhi's helper against it; one run of the principals
# helper alone against cat.
# At the end the run checks that pam_nhi and the broker's online check took
# part in every login they should have, and fails if not.
#
#   bench/login.sh [ROUNDS [BREAKDOWN-ROUNDS]]   (default 50, and ROUNDS)
ROUNDS=${1:-50}
BD_ROUNDS=${2:-$ROUNDS}
case "$ROUNDS:$BD_ROUNDS" in
*[!0-9:]* | :* | *: | 0* | *:0*) echo "usage: $0 [ROUNDS [BREAKDOWN-ROUNDS]]" >&2 && exit 2 ;;
esac

. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench/login.sh needs root (sshd, /etc/pam.d, users)" >&2; exit 2; }
SPAWN=$top_builddir/bench/spawn
KEYS_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
PRINC_BUILT=$top_builddir/sshd_plugin/nhi-authorized-principals
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
[ -x "$SPAWN" ] && [ -x "$KEYS_BUILT" ] && [ -x "$PRINC_BUILT" ] && [ -f "$PAM_SO" ] ||
	bail_out "build first: bench/spawn, the sshd helpers, pam_nhi.so"
SSH=$(command -v ssh) || bail_out "no ssh client"
helper_user_ensure

broker_setup
BENCH_PIDS=()
# The run's exit status is set again before nhi_on_exit, which exits with it.
trap 'bench_rc=$?; for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done;
	stop_nhid; (exit "$bench_rc"); nhi_on_exit' EXIT
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid

install -d -m 0755 -o root -g root "$NHI_TMP/sbin"
install_helpers "$KEYS_BUILT" "$PRINC_BUILT"
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$NHI_TMP/host_ed25519" || bail_out "no host key"

BOT=$(make_user) || bail_out "cannot create a user"
runuser -u "$BOT" -- test -x "$NHI" || bail_out "$BOT cannot run $NHI"
# An automation identity: its login costs pam_nhi the most, since sshd's
# account stage has no SSH_AUTH_INFO_0 yet and the broker records a
# deferral, then judges the certificate again at session open.
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

# start_one NAME PAM-STACK CONFIG-LINES: an sshd on a free port, its port
# left in STARTED_PORT. With an empty PAM-STACK it is the system sshd with
# UsePAM no; otherwise a copy of it named nhit-sshd-NAME-SUFFIX, whose PAM
# service file (PAM-STACK) lib.sh removes at exit.
SUFFIX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
start_one()
{
	local name=$1 stack=$2 lines=$3 prog=$SSHD usepam=no port i pid
	if [ -n "$stack" ]; then
		prog=$NHI_TMP/sbin/nhit-sshd-$name-$SUFFIX
		install -m 0755 -o root -g root "$SSHD" "$prog" || bail_out "cannot copy sshd"
		echo "/etc/pam.d/${prog##*/}" >>"$NHI_TMP/pam-services"
		printf '%s\n' "$stack" >"/etc/pam.d/${prog##*/}" || bail_out "cannot write /etc/pam.d/${prog##*/}"
		usepam=yes
	fi
	port=$(free_port) || bail_out "no free port"
	{
		printf '%s\n' "$lines"
		cat <<-EOF
			Port $port
			ListenAddress 127.0.0.1
			HostKey $NHI_TMP/host_ed25519
			PidFile none
			UsePAM $usepam
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PermitRootLogin no
			LogLevel ERROR
		EOF
	} >"$NHI_TMP/sshd-$name.conf"
	"$prog" -t -f "$NHI_TMP/sshd-$name.conf" || bail_out "sshd -t refused sshd-$name.conf"
	"$prog" -D -f "$NHI_TMP/sshd-$name.conf" -E "$NHI_TMP/sshd-$name.log" </dev/null &
	pid=$!
	BENCH_PIDS+=("$pid")
	for i in $(seq 1 100); do
		port_accepts "$port" && break
		kill -0 "$pid" 2>/dev/null || bail_out "sshd $name did not start: $(cat "$NHI_TMP/sshd-$name.log")"
		sleep 0.1
	done
	STARTED_PORT=$port
}

NHI_LINES="TrustedUserCAKeys $STATE/user_ca.pub
RevokedKeys $STATE/revoked.krl
AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f
AuthorizedPrincipalsCommandUser nhi
AuthorizedKeysCommand $NHI_TMP/libexec/nhi-authorized-keys -c $CONF %u %U %f %t %k
AuthorizedKeysCommandUser nhi
AuthorizedKeysFile none
ExposeAuthInfo yes
PermitUserEnvironment no"
PLAIN_LINES="AuthorizedKeysFile $NHI_TMP/authkeys/%u"
PAM_UNIX="account  required pam_unix.so
session  required pam_unix.so"
PAM_NHI="account  required pam_unix.so
account  required $PAM_SO socket=$SOCK
session  required pam_unix.so
session  required $PAM_SO socket=$SOCK"

# The budget: nhi's configuration and PAM stack against the plain key.
start_one nhi-pam "$PAM_NHI" "$NHI_LINES"
PORT_NHI_PAM=$STARTED_PORT
start_one plain-pam "$PAM_UNIX" "$PLAIN_LINES"
PORT_PLAIN_PAM=$STARTED_PORT
# The breakdown: nhi's configuration with pam_unix alone, then both
# configurations with UsePAM no, then the certificate checks with the
# principal in a file instead of the online check.
start_one nhi-unix "$PAM_UNIX" "$NHI_LINES"
PORT_NHI_UNIX=$STARTED_PORT
start_one nhi "" "$NHI_LINES"
PORT_NHI=$STARTED_PORT
start_one plain "" "$PLAIN_LINES"
PORT_PLAIN=$STARTED_PORT
install -m 0644 -o root -g root /dev/null "$NHI_TMP/authkeys/principals-$BOT"
echo "$BOT" >"$NHI_TMP/authkeys/principals-$BOT"
start_one certfile "" "TrustedUserCAKeys $STATE/user_ca.pub
RevokedKeys $STATE/revoked.krl
AuthorizedPrincipalsFile $NHI_TMP/authkeys/principals-%u
AuthorizedKeysFile none
ExposeAuthInfo yes
PermitUserEnvironment no"
PORT_CERTFILE=$STARTED_PORT
# The control for the helper's share: the same configuration with a stock
# program as the principals command. /bin/echo prints the account name,
# which is this certificate's principal; sshd forks, drops to nhi and execs
# it exactly as it does nhi-authorized-principals, with no broker behind it.
start_one echo-command "$PAM_UNIX" "$(printf '%s\n' "$NHI_LINES" |
	sed 's|^AuthorizedPrincipalsCommand .*|AuthorizedPrincipalsCommand /bin/echo %u|')"
PORT_ECHO=$STARTED_PORT

CLIENT=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes
	-o IdentityAgent=none -o LogLevel=ERROR -l "$BOT")
CERT_LOGIN=("$SSH" "${CLIENT[@]}" -i "$CERT_KEY" -o CertificateFile="$CERT_KEY-cert.pub")
PLAIN_LOGIN=("$SSH" "${CLIENT[@]}" -i "$PLAIN_KEY")

# run_spawn: bench/spawn with the given arguments; stops the run if it fails.
run_spawn()
{
	"$SPAWN" "$@" || exit $?
}

echo "== budget: full ssh login (ssh ... echo ok) to 127.0.0.1, same sshd ($SSHD)"
echo "nhi: broker certificate (automation identity) through nhi's sshd configuration,"
echo "     UsePAM yes, pam_unix + pam_nhi (account and session)"
echo "plain: authorized_keys key, UsePAM yes, pam_unix"
run_spawn -n "$ROUNDS" -w 3 -t 1.10 \
	nhi-certificate+pam_nhi - "${CERT_LOGIN[@]}" -p "$PORT_NHI_PAM" 127.0.0.1 echo ok ::: \
	plain-key+pam_unix - "${PLAIN_LOGIN[@]}" -p "$PORT_PLAIN_PAM" 127.0.0.1 echo ok

echo
echo "== breakdown ($BD_ROUNDS rounds each)"
echo "pam_nhi's share: the same certificate login, pam_unix + pam_nhi against pam_unix alone"
run_spawn -n "$BD_ROUNDS" -w 3 \
	nhi-certificate+pam_nhi - "${CERT_LOGIN[@]}" -p "$PORT_NHI_PAM" 127.0.0.1 echo ok ::: \
	nhi-certificate+pam_unix - "${CERT_LOGIN[@]}" -p "$PORT_NHI_UNIX" 127.0.0.1 echo ok

echo
echo "the sshd configurations alone, UsePAM no: certificate through nhi's against the plain key"
run_spawn -n "$BD_ROUNDS" -w 3 \
	nhi-certificate - "${CERT_LOGIN[@]}" -p "$PORT_NHI" 127.0.0.1 echo ok ::: \
	plain-key - "${PLAIN_LOGIN[@]}" -p "$PORT_PLAIN" 127.0.0.1 echo ok

# The automation path end to end: nhi ssh asks the broker for a certificate
# for a new in-memory key (issuance, durably recorded) and logs in with
# libssh, against the same plain-key ssh login.
KH=$NHI_TMP/keys/known_hosts
echo "[127.0.0.1]:$PORT_NHI $(cat "$NHI_TMP/host_ed25519.pub")" >"$KH"
chmod 0644 "$KH"
echo
echo "nhi ssh (a new key, a certificate from nhid, libssh login) against the plain-key ssh login,"
echo "UsePAM no"
run_spawn -n "$BD_ROUNDS" -w 3 \
	nhi-ssh "$BOT" "$BOT_SHELL" -c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" ssh -n \
	--identity "$BOT" --known-hosts "$KH" -p "$PORT_NHI" 127.0.0.1 -- echo ok ::: \
	plain-key - "${PLAIN_LOGIN[@]}" -p "$PORT_PLAIN" 127.0.0.1 echo ok

# Where the certificate checks' extra time goes: the same sshd checks with
# the principal read from a file (no helper, no broker) against nhi's.
echo
echo "the same certificate login with AuthorizedPrincipalsFile (no online check) against nhi's,"
echo "UsePAM no"
run_spawn -n "$BD_ROUNDS" -w 3 \
	nhi-certificate - "${CERT_LOGIN[@]}" -p "$PORT_NHI" 127.0.0.1 echo ok ::: \
	principals-file - "${CERT_LOGIN[@]}" -p "$PORT_CERTFILE" 127.0.0.1 echo ok

# The floor under the budget: the same configuration with /bin/echo as
# the principals command, which is the least any AuthorizedPrincipalsCommand
# can cost, against the plain key; then nhi's helper and online check
# against /bin/echo in the same place. Both with pam_unix alone.
echo
echo "the floor: /bin/echo as the principals command (sshd's fork, drop to nhi, exec;"
echo "no broker) against the plain key, UsePAM yes, pam_unix"
run_spawn -n "$BD_ROUNDS" -w 3 \
	echo-command+pam_unix - "${CERT_LOGIN[@]}" -p "$PORT_ECHO" 127.0.0.1 echo ok ::: \
	plain-key+pam_unix - "${PLAIN_LOGIN[@]}" -p "$PORT_PLAIN_PAM" 127.0.0.1 echo ok
echo
echo "nhi's helper and online check against /bin/echo in the principals command's place,"
echo "UsePAM yes, pam_unix"
run_spawn -n "$BD_ROUNDS" -w 3 \
	nhi-certificate+pam_unix - "${CERT_LOGIN[@]}" -p "$PORT_NHI_UNIX" 127.0.0.1 echo ok ::: \
	echo-command+pam_unix - "${CERT_LOGIN[@]}" -p "$PORT_ECHO" 127.0.0.1 echo ok

# Then one run of the principals helper as sshd makes it (as nhi, with the
# tokens sshd passes for this certificate, the broker's online check
# included) against cat of the plain key's authorized_keys file, which is
# what the plain sshd reads instead. sshd runs the helper twice per login.
SERIAL=$("$SSH_KEYGEN" -L -f "$CERT_KEY-cert.pub" | sed -n 's/^ *Serial: *//p')
KEY_ID=$("$SSH_KEYGEN" -L -f "$CERT_KEY-cert.pub" | sed -n 's/^ *Key ID: *"\(.*\)"$/\1/p')
FP=$("$SSH_KEYGEN" -l -f "$CERT_KEY" | cut -d' ' -f2)
echo
echo "one nhi-authorized-principals run (exec, configuration, online check) against cat"
run_spawn -n "$((BD_ROUNDS * 4))" -w 10 \
	nhi-authorized-principals nhi "$NHI_TMP/libexec/nhi-authorized-principals" -c "$CONF" \
	"$BOT" "$(id -u "$BOT")" "$SERIAL" "$KEY_ID" "$FP" ::: \
	cat "$BOT" /bin/cat "$NHI_TMP/authkeys/$BOT"

# Every login that should have gone through pam_nhi and the broker's online
# check did. sshd runs the principals helper twice per ssh certificate login
# (the client's unsigned probe, then its signed attempt), once per nhi ssh
# login (libssh signs at once); the helper table runs it once a round.
# Each pam_nhi login is one deferral (account stage) and two session
# records (open, close); the budget and pam_nhi's share tables log in
# through pam_nhi, both with 3 warm-up rounds.
echo
rc=0
n=$(grep -c "principals: $BOT .*may log in" "$NHID_LOG" || true)
want=$((2 * (ROUNDS + 3) + 11 * (BD_ROUNDS + 3) + 4 * BD_ROUNDS + 10))
echo "logins the broker's online check allowed: $n, expected $want"
[ "$n" -eq "$want" ] || rc=1
pam_logins=$((ROUNDS + 3 + BD_ROUNDS + 3))
ctl audit export --json >"$NHI_TMP/audit.json" || bail_out "cannot export the audit trail"
read -r deferred sessions < <(python3 - "$NHI_TMP/audit.json" "$BOT" <<'EOF'
import json, sys
deferred = sessions = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("subject") != sys.argv[2]:
        continue
    d = r.get("detail") or {}
    if isinstance(d, str):
        d = json.loads(d)
    if r.get("type") == "login" and d.get("decision") == "deferred":
        deferred += 1
    elif r.get("type") == "session":
        sessions += 1
print(deferred, sessions)
EOF
)
echo "pam_nhi account stages deferred: $deferred, expected $pam_logins;" \
	"session records: $sessions, expected $((2 * pam_logins))"
[ "$deferred" = "$pam_logins" ] && [ "$sessions" = "$((2 * pam_logins))" ] || rc=1
[ "$rc" -eq 0 ] || echo "bench/login.sh: a login did not go through every check it should have" >&2
exit $rc
