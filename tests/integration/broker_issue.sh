#!/usr/bin/env bash
# Automation without static keys, end to end: nhid in a temp state dir, an
# automation identity whose selectors name a test user's uid and the program
# that runs `nhi`; that program gets a certificate with `nhi cert --out`,
# logs in to a real sshd trusting the broker's CA, and gets no pty. Another
# user, or the same user from another program, is refused. Revocation
# reaches sshd through the broker's KRL, and an edited audit row is found.
# Needs root (sshd, runuser, throwaway users).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v sqlite3 >/dev/null || bail_out "sqlite3 (the shell) is needed"
command -v runuser >/dev/null || bail_out "runuser is needed"
plan 23

broker_setup
# The attested program: a bash of our own. nhid is told where nhi is, so
# that a call made through nhi attests the program that ran it.
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid

BOT=$(make_user) || bail_out "cannot create a test user"
OTHER=$(make_user) || bail_out "cannot create a test user"
BOT_UID=$(id -u "$BOT")
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
for u in "$BOT" "$OTHER"; do
	install -d -m 0700 -o "$u" -g "$u" "$NHI_TMP/keys-$u"
done
KEY=$NHI_TMP/keys-$BOT/bot

expect "nhictl adds automation identity backup-bot with uid and exe selectors" 0 "backup-bot" \
	ctl identity add backup-bot --kind automation --owner "backup team" \
	--selector "uid=$BOT_UID" --selector "exe_path=$BOT_SHELL"

# --- a matching caller gets a certificate
out=$(as_user "$BOT" "$BOT_SHELL" cert --identity backup-bot --out "$KEY" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ -f "$KEY" ] && [ -f "$KEY-cert.pub" ]; then
	pass "nhi cert --out from the attested program writes a key and a certificate"
else
	fail "nhi cert --out from the attested program writes a key and a certificate" \
		"exit $rc" "$out"
	diag_file "$NHID_LOG"
	bail_out "no certificate to test with"
fi
# The key file and the certificate belong together: ssh-keygen derives the
# public key from the file, and its fingerprint is the certificate's subject.
key_fp=$("$SSH_KEYGEN" -l -f "$KEY" 2>/dev/null | cut -d' ' -f2)
cert_fp=$("$SSH_KEYGEN" -L -f "$KEY-cert.pub" 2>/dev/null | sed -n 's/^ *Public key: ED25519-CERT //p')
if [ "$(stat -c '%a %U' "$KEY")" = "600 $BOT" ] && [ -n "$key_fp" ] && [ "$key_fp" = "$cert_fp" ]; then
	pass "the private key is the user's, mode 0600, and is the certificate's subject"
else
	fail "the private key is the user's, mode 0600, and is the certificate's subject" \
		"$(stat -c '%a %U' "$KEY") key $key_fp cert $cert_fp"
fi
SERIAL=$(sed -n 's/^serial: *//p' <<<"$out")
if [[ "$SERIAL" =~ ^[0-9]+$ ]] && grep -q "^key id: *nhi:backup-bot:$SERIAL$" <<<"$out" &&
	grep -q "^principals: *backup-bot" <<<"$out"; then
	pass "nhi prints the serial, the key id and the principals"
else
	fail "nhi prints the serial, the key id and the principals" "$out"
fi

listing=$("$SSH_KEYGEN" -L -f "$KEY-cert.pub" 2>&1)
if grep -q "Key ID: \"nhi:backup-bot:$SERIAL\"" <<<"$listing" &&
	grep -q "Serial: $SERIAL$" <<<"$listing" && grep -q "^ *backup-bot$" <<<"$listing"; then
	pass "ssh-keygen -L: key id nhi:backup-bot:<serial>, principal backup-bot"
else
	fail "ssh-keygen -L: key id nhi:backup-bot:<serial>, principal backup-bot" "$listing"
fi
if grep -q "permit-pty" <<<"$listing"; then
	fail "the automation certificate does not permit a pty" "$listing"
else
	pass "the automation certificate does not permit a pty"
fi

# The certificate is in the broker's inventory, with who asked for it.
expect "nhictl cert show finds it by serial" 0 "nhi:backup-bot:$SERIAL" ctl cert show "$SERIAL"

# --- sshd trusting the broker's CA and KRL
mkdir -m 0755 "$NHI_TMP/principals"
echo backup-bot >"$NHI_TMP/principals/$BOT"
chmod 0644 "$NHI_TMP/principals/$BOT"
start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsFile $NHI_TMP/principals/%u"

if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$BOT" ] &&
	sshd_log_has "Accepted publickey for $BOT .*ID nhi:backup-bot:$SERIAL"; then
	pass "ssh with the broker's certificate runs a command as the bot user"
else
	fail "ssh with the broker's certificate runs a command as the bot user" \
		"ssh output: $NHI_SSH_OUT"
fi

ssh_as "$BOT" -tt -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- tty
if grep -q "PTY allocation request failed" <<<"$NHI_SSH_OUT" &&
	! grep -q "/dev/pts" <<<"$NHI_SSH_OUT"; then
	pass "ssh -tt with the automation certificate gets no pty"
else
	fail "ssh -tt with the automation certificate gets no pty" "ssh output: $NHI_SSH_OUT"
fi

# --- without --out: the key never touches disk, it goes to the user's agent
# with the certificate, and ssh logs in through the agent.
out=$(runuser -u "$BOT" -- "$BOT_SHELL" -c '
	eval "$(ssh-agent -s)" >/dev/null || exit 99
	trap "ssh-agent -k >/dev/null 2>&1" EXIT
	"$1" -c "$2" cert --identity backup-bot || exit $?
	ssh-add -l
	SSH_AUTH_SOCK=$SSH_AUTH_SOCK timeout 30 ssh -F /dev/null -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o LogLevel=ERROR -p "$3" -l "$4" 127.0.0.1 echo via-agent
' nhi-run "$NHI" "$CONF" "$NHI_SSHD_PORT" "$BOT" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "ssh-agent: *added" <<<"$out" &&
	grep -Eq "nhi:backup-bot:[0-9]+ \(ED25519-CERT\)" <<<"$out" &&
	grep -q "^via-agent$" <<<"$out"; then
	pass "nhi cert without --out loads key and certificate into ssh-agent; ssh uses them"
else
	fail "nhi cert without --out loads key and certificate into ssh-agent; ssh uses them" \
		"exit $rc" "$out"
fi

# --- callers that do not match are refused, with the broker's reason
OKEY=$NHI_TMP/keys-$OTHER/bot
expect "another user running the same program is refused (exit 1, the broker's reason)" 1 \
	"^nhi: .*uid selector of backup-bot" \
	as_user "$OTHER" "$BOT_SHELL" cert --identity backup-bot --out "$OKEY"
check "... and gets no key file" test ! -e "$OKEY" -a ! -e "$OKEY-cert.pub"
expect "the bot user from another program is refused (exit 1, exe selector)" 1 \
	"^nhi: .*exe_path selector of backup-bot|^nhi: .*exe.* selector of backup-bot" \
	as_user "$BOT" /bin/bash cert --identity backup-bot --out "$KEY.2"
expect "an identity that does not exist is refused (exit 1)" 1 "^nhi: .*no-such-bot" \
	as_user "$BOT" "$BOT_SHELL" cert --identity no-such-bot --out "$KEY.3"
expect "a TTL above the automation cap is refused (exit 1)" 1 "^nhi: " \
	as_user "$BOT" "$BOT_SHELL" cert --identity backup-bot --ttl 2h --out "$KEY.4"
runuser -u "$BOT" -- ln -s "$NHI_TMP/keys-$BOT/target" "$KEY.link"
expect "--out onto a symlink is refused (exit 1) and nothing is written through it" 1 \
	"^nhi: refusing to overwrite .*symbolic link" \
	as_user "$BOT" "$BOT_SHELL" cert --identity backup-bot --out "$KEY.link"
check "... the link's target was not created" test ! -e "$NHI_TMP/keys-$BOT/target"
expect "a broker that is not there: exit 3 naming the socket" 3 "nhi: broker at .*nowhere" \
	"$NHI" --socket "$NHI_TMP/nowhere.sock" status

# --- revocation: the broker's KRL makes sshd refuse the same certificate
expect "nhictl revoke --serial $SERIAL" 0 "" ctl revoke --serial "$SERIAL" --reason "test"
if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un; then
	fail "sshd refuses the revoked certificate" "login succeeded: $NHI_SSH_OUT"
elif sshd_log_since_mark | grep -q "Accepted publickey"; then
	fail "sshd refuses the revoked certificate" "sshd accepted a key"
elif ! sshd_log_has "revoked"; then
	fail "sshd refuses the revoked certificate" "sshd did not log a revocation"
else
	pass "sshd refuses the revoked certificate (revoked by the broker's KRL)"
fi

# --- the audit trail: every denial and issuance above is in it and verifies
DB=$STATE/nhi.db
n_deny=$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE subject = 'backup-bot' AND type LIKE '%den%'")
if [ "${n_deny:-0}" -ge 3 ]; then
	pass "the refusals are audited as denials ($n_deny)"
else
	fail "the refusals are audited as denials" "denials for backup-bot: ${n_deny:-none}"
fi
expect "nhictl audit verify passes" 0 "verified" ctl audit verify
ROW=$(sqlite3 "$DB" "SELECT seq FROM audit WHERE detail LIKE '%nhi:backup-bot:$SERIAL%' ORDER BY seq LIMIT 1")
[ -n "$ROW" ] || ROW=2
sqlite3 "$DB" "UPDATE audit SET actor = 'mallory' WHERE seq = $ROW" ||
	bail_out "cannot edit the audit table"
expect "after editing audit row $ROW, nhictl audit verify fails naming it (exit 4)" 4 \
	"record $ROW\\b" ctl audit verify
