#!/usr/bin/env bash
# End to end: an account that exists only through nss_nhi logs in to a real
# sshd with a certificate from nhid, and `id` in the session shows the uid
# and groups nhid gave it. nhid, sshd and the ssh client run in private
# mount namespaces where nsswitch.conf reads "files nhi" (nss-lib.sh) and
# /var/lib/nhi is a temp dir: nhid uses it as its state dir, as installed,
# and writes /var/lib/nhi/nss.cache where nss_nhi reads it. The host's own
# NSS never sees the account. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
command -v unshare >/dev/null || bail_out "needs unshare"
command -v runuser >/dev/null || bail_out "needs runuser"
plan 6

not_resolvable()
{
	! getent passwd "$1" >/dev/null
}

not_in_passwd()
{
	! grep -q "^$1:" /etc/passwd
}

tag=$(printf '%04x' $((RANDOM % 65536)))
ACCOUNT=nhit-e2e$tag GROUP=nhit-e2eops$tag
nss_broker_setup 3700000

BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"

# nhid in a namespace of its own, with the installed state dir; unshare and
# the shell exec it, so NHID_PID is nhid's and stop_nhid ends it.
start_nhid_in_namespace()
{
	nss_namespace_run "$STATE" "$MODDIR" "$NHID" -f -c "$CONF" --state-dir /var/lib/nhi \
		--socket "$SOCK" --nhi "$NHI_REAL" --no-syslog >>"$NHID_LOG" 2>&1 </dev/null &
	NHID_PID=$!
	for _ in $(seq 1 100); do
		"$NHI" -c "$CONF" status >/dev/null 2>&1 && return 0
		kill -0 "$NHID_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag_file "$NHID_LOG"
	bail_out "nhid did not start in its namespace"
}
mkdir -p "$STATE" && chmod 0755 "$STATE"
start_nhid_in_namespace

# The certificate is asked for by a local user's program (attested by uid
# and path); the account it logs in to exists only in nhid's cache.
ASKER=$(make_user) || bail_out "cannot create a test user"
runuser -u "$ASKER" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
install -d -m 0700 -o "$ASKER" -g "$ASKER" "$NHI_TMP/keys"
KEY=$NHI_TMP/keys/e2e
ctl group add "$GROUP" --gid $((base + 50)) >/dev/null || bail_out "cannot add group $GROUP"
expect "nhictl adds an automation identity with a unix account" 0 "uid: +$base\b" \
	ctl identity add "$ACCOUNT" --kind automation --role "$GROUP" \
	--selector "uid=$(id -u "$ASKER")" --selector "exe_path=$BOT_SHELL"
out=$(as_user "$ASKER" "$BOT_SHELL" cert --identity "$ACCOUNT" --out "$KEY" 2>&1)
[ -f "$KEY-cert.pub" ] || bail_out "no certificate: $out"
chmod 0644 "$KEY-cert.pub"

check "the account does not exist in the host's own NSS" not_resolvable "$ACCOUNT"

# sshd trusting the broker's CA, on a free loopback port.
"$SSH_KEYGEN" -q -t ed25519 -N '' -C nhi-test-host -f "$NHI_TMP/host_ed25519" ||
	bail_out "cannot generate an sshd host key"
mkdir -p /run/sshd && chmod 0755 /run/sshd
PORT=$(free_port) || bail_out "no free TCP port on 127.0.0.1"
SSHD_CONFIG=$NHI_TMP/sshd_config
SSHD_LOG=$NHI_TMP/sshd.log
cat >"$SSHD_CONFIG" <<CONF
Port $PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $NHI_TMP/host_ed25519
PidFile $NHI_TMP/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile none
TrustedUserCAKeys $STATE/user_ca.pub
RevokedKeys $STATE/revoked.krl
PermitRootLogin no
LogLevel VERBOSE
CONF
"$SSHD" -t -f "$SSHD_CONFIG" >"$NHI_TMP/sshd-t.out" 2>&1 || {
	diag_file "$NHI_TMP/sshd-t.out"
	bail_out "sshd configuration invalid"
}

# What runs inside the namespace: sshd, the lookups, the login.
cat >"$NHI_TMP/in-namespace.sh" <<'SCRIPT'
sshd=$1 config=$2 port=$3 log=$4 user=$5 key=$6
"$sshd" -D -e -f "$config" >>"$log" 2>&1 </dev/null &
pid=$!
for i in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
echo "getent: $(getent passwd "$user")"
SSH_AUTH_SOCK= timeout 30 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
	-o IdentityAgent=none -o ConnectTimeout=5 -o LogLevel=ERROR -p "$port" -l "$user" \
	-i "$key" -o CertificateFile="$key-cert.pub" 127.0.0.1 'echo "session: $(id)"' 2>&1 </dev/null
rc=$?
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit $rc
SCRIPT
out=$(nss_namespace_run "$STATE" "$MODDIR" bash "$NHI_TMP/in-namespace.sh" "$SSHD" \
	"$SSHD_CONFIG" "$PORT" "$SSHD_LOG" "$ACCOUNT" "$KEY")
rc=$?
if grep -q "^getent: $ACCOUNT:x:$base:$base:" <<<"$out"; then
	pass "sshd's namespace resolves the account through nss_nhi"
else
	fail "sshd's namespace resolves the account through nss_nhi" "$out"
fi
if [ "$rc" -eq 0 ] && grep -q "Accepted publickey for $ACCOUNT .*ID nhi:$ACCOUNT:" "$SSHD_LOG"; then
	pass "the account logs in with the broker's certificate"
else
	fail "the account logs in with the broker's certificate" "exit $rc: $out"
	diag_file "$SSHD_LOG"
fi
expect "id in the session shows nss_nhi's uid and groups" 0 \
	"^session: uid=$base\($ACCOUNT\) gid=$base\($ACCOUNT\) groups=$base\($ACCOUNT\),$((base + 50))\($GROUP\)\$" \
	echo "$out"
check "the session never touched the host's passwd file" not_in_passwd "$ACCOUNT"
