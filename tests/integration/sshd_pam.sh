#!/usr/bin/env bash
# pam_nhi in a real sshd with UsePAM yes, in the account and session stacks
# of a PAM service of its own. A human's broker certificate (principals from
# nhi-authorized-principals, ExposeAuthInfo yes) logs in and its session is
# audited open and close with the certificate serial; a suspended identity
# is refused at the account stage and told why; with nhid stopped the
# account stage answers at once by broker_down and sshd keeps serving;
# unknown_user=allow|deny decides for accounts the broker does not manage.
#
# sshd runs the PAM account stage before it records the method that just
# succeeded, so SSH_AUTH_INFO_0 is empty there and filled only for the
# session: the broker defers an automation identity's credential check to
# the session stage, where its broker certificate opens the session and a
# static key or a revoked certificate is refused before any command runs
# (sshd keeps the connection, without forwarding, and the session exits
# 254). The same holds for a human's static key in keys_mode enforce.
# Needs root (sshd, /etc/pam.d, throwaway users, the nhi system user).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-principals
[ -f "$PAM_SO" ] || bail_out "not built: $PAM_SO"
[ -x "$HELPER_BUILT" ] || bail_out "not built: $HELPER_BUILT"
plan 36

# The AuthorizedPrincipalsCommandUser, and the broker's default helper_user.
helper_user_ensure

broker_setup "[sshd]
keys_mode = observe"
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid

install_helpers "$HELPER_BUILT"
HELPER=$NHI_TMP/libexec/nhi-authorized-principals

BOT=$(make_user) && HUMAN=$(make_user) && STRANGER=$(make_user) ||
	bail_out "cannot create test users"
BOT_UID=$(id -u "$BOT")
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
out=$(ctl identity add "$BOT" --kind automation --allow-pty --selector "uid=$BOT_UID" \
	--selector "exe_path=$BOT_SHELL" 2>&1 &&
	ctl identity add "$HUMAN" --kind human --uid "$(id -u "$HUMAN")" 2>&1) ||
	bail_out "cannot add identities: $out"

install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys"
install -d -m 0700 -o "$HUMAN" -g "$HUMAN" "$NHI_TMP/hkeys"
# new_cert NAME [USER DIR]: a broker certificate for USER (BOT) at DIR/NAME
# (keys/NAME); sets KEY, SERIAL.
new_cert()
{
	local out user=${2:-$BOT}
	KEY=${3:-$NHI_TMP/keys}/$1
	out=$(as_user "$user" "$BOT_SHELL" cert --identity "$user" --out "$KEY" 2>&1) || {
		diag "$out"
		bail_out "no certificate to test with"
	}
	SERIAL=$(sed -n 's/^serial: *//p' <<<"$out")
	[[ "$SERIAL" =~ ^[0-9]+$ ]] || bail_out "bad certificate: $out"
}

# Static keys for the human and the unmanaged account, read by sshd from a
# root-owned AuthorizedKeysFile (StrictModes).
install -d -m 0755 -o root -g root "$NHI_TMP/authorized_keys"
for u in "$HUMAN" "$STRANGER"; do
	k=$(make_user_key "$u") || bail_out "cannot generate a key"
	install -m 0644 -o root -g root "$k.pub" "$NHI_TMP/authorized_keys/$u"
done
HUMAN_KEY=$NHI_TMP/private/$HUMAN
STRANGER_KEY=$NHI_TMP/private/$STRANGER

# stack PAM-NHI-ARGS: Debian's pam_unix lines with pam_nhi in the account
# (required) and session (required) stacks. Public keys do not use auth.
stack()
{
	cat <<-EOF
		auth     required pam_deny.so
		account  required pam_unix.so
		account  required $PAM_SO $*
		session  required pam_unix.so
		session  required $PAM_SO $*
	EOF
}

SSHD_LINES=("TrustedUserCAKeys $STATE/user_ca.pub"
	"AuthorizedPrincipalsCommand $HELPER -c $CONF %u %U %s %i %f"
	"AuthorizedPrincipalsCommandUser nhi"
	"AuthorizedKeysFile $NHI_TMP/authorized_keys/%u"
	"ExposeAuthInfo yes")
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000")" "${SSHD_LINES[@]}"

# ssh_banner USER KEY [CMD...]: like ssh_as, but at
# LogLevel INFO, where ssh prints the banner sshd sends with a PAM refusal.
ssh_banner()
{
	local user=$1 key=$2
	shift 2
	sshd_log_mark
	NHI_SSH_OUT=$(SSH_AUTH_SOCK= timeout 30 ssh -F /dev/null \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o ConnectTimeout=5 -o LogLevel=INFO -i "$key" \
		-p "$NHI_SSHD_PORT" -l "$user" 127.0.0.1 "$@" 2>&1 </dev/null)
}

# audit_has DESC PYTHON-EXPR: json_check over the audit export, retried for
# up to 5 s: sshd closes the PAM session after the client has gone.
audit_has()
{
	local desc=$1 expr=$2 i
	for i in $(seq 1 50); do
		if ctl audit export --json 2>/dev/null | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines()]
sys.exit(0 if ('"$expr"') else 1)' 2>/dev/null; then
			pass "$desc"
			return
		fi
		sleep 0.1
	done
	json_check "$desc" "$expr" ctl audit export --json
}

# --- a human's broker certificate through the account and session stages
new_cert first "$HUMAN" "$NHI_TMP/hkeys"
if ssh_as "$HUMAN" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$HUMAN" ] &&
	sshd_log_has "Accepted publickey for $HUMAN .*ID nhi:$HUMAN:$SERIAL"; then
	pass "a broker certificate logs in through pam_nhi's account and session stages"
else
	fail "a broker certificate logs in through pam_nhi's account and session stages" \
		"ssh output: $NHI_SSH_OUT"
fi
if grep -q "login $HUMAN (human) via $NHI_PAM_SERVICE from 127.0.0.1: allow" "$NHID_LOG"; then
	pass "the broker decided the account stage for sshd's PAM service"
else
	fail "the broker decided the account stage for sshd's PAM service" \
		"$(grep login "$NHID_LOG" | tail -n 5)"
fi
audit_has "session open and close are audited with the certificate serial and one session id" \
	"len([r for r in rows if r.get('type') == 'session' and r.get('subject') == '$HUMAN'
	      and r['detail'].get('cert_serial') == $SERIAL
	      and r['detail'].get('service') == '$NHI_PAM_SERVICE'
	      and r['detail'].get('rhost') == '127.0.0.1'
	      and r['detail'].get('event') in ('open', 'close')]) == 2
	 and len({r['detail']['session'] for r in rows if r.get('type') == 'session'
	          and r['detail'].get('cert_serial') == $SERIAL}) == 1"
check "nhictl audit verify: the chain holds" ctl audit verify

# --- automation: the account stage defers, the session stage decides
# ran_not MARKER DESC: the refused login's command (touch MARKER) did not run.
ran_not()
{
	if [ -e "$1" ]; then
		fail "$2" "the command ran: $1 exists"
	else
		pass "$2"
	fi
}
# refused_at_open DESC MARKER REASON SSH-ARGS...: the login authenticates,
# sshd's session open fails, the command (touch MARKER) does not run and
# the client shows REASON.
refused_at_open()
{
	local desc=$1 marker=$2 reason=$3
	shift 3
	if ssh_as "$BOT" -T "$@" -- touch "$marker"; then
		fail "$desc" "login succeeded: $NHI_SSH_OUT"
	elif sshd_log_has "Accepted publickey for $BOT " &&
		sshd_log_has "PAM: pam_open_session\(\): " &&
		grep -q -- "$reason" <<<"$NHI_SSH_OUT"; then
		pass "$desc"
	else
		fail "$desc" "ssh output: $NHI_SSH_OUT" "$(sshd_log_since_mark | tail -n 5)"
	fi
	ran_not "$marker" "... and its command does not run"
}

new_cert bot
if ssh_as "$BOT" -T -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$BOT" ]; then
	pass "an automation identity logs in with its broker certificate and runs a command"
else
	fail "an automation identity logs in with its broker certificate and runs a command" \
		"ssh output: $NHI_SSH_OUT" "$(grep "$BOT" "$NHID_LOG" | tail -n 3)"
fi
audit_has "the account stage's deferral is audited" \
	"any(r.get('type') == 'login' and r.get('subject') == '$BOT'
	     and r['detail'].get('decision') == 'deferred'
	     and r['detail'].get('service') == '$NHI_PAM_SERVICE' for r in rows)"
audit_has "the session open is decided and audited with the certificate serial" \
	"any(r.get('type') == 'session' and r.get('subject') == '$BOT'
	     and r['detail'].get('event') == 'open' and r['detail'].get('cert_serial') == $SERIAL
	     and r['detail'].get('credential') == 'broker certificate'
	     and r['detail'].get('kind') == 'automation' for r in rows)"

# The identity allows a pty (--allow-pty), so its certificate carries
# permit-pty. sshd opens the PAM session before the client asks for a pty,
# so that permission is what the session record can show.
if ssh_as "$BOT" -tt -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- tty &&
	[[ "$NHI_SSH_OUT" == /dev/pts/* ]]; then
	pass "the automation identity gets the terminal its certificate permits"
else
	fail "the automation identity gets the terminal its certificate permits" \
		"ssh output: $NHI_SSH_OUT"
fi
audit_has "a machine session whose certificate permits a pty is flagged" \
	"len([r for r in rows if r.get('type') == 'session' and r.get('subject') == '$BOT'
	      and r['detail'].get('event') == 'open'
	      and r['detail'].get('pty_permitted') is True]) == 2"

# A static key for the automation account: sshd accepts it (the key is in
# its AuthorizedKeysFile), the session stage refuses it.
k=$(make_user_key "$BOT") || bail_out "cannot generate a key"
install -m 0644 -o root -g root "$k.pub" "$NHI_TMP/authorized_keys/$BOT"
refused_at_open "a static key of an automation identity is refused at session open" \
	"$NHI_TMP/ran-static" "must log in with a broker certificate (got a static key" -i "$k"
audit_has "... and the refusal is audited as a session-event denial" \
	"any(r.get('type') == 'deny' and r.get('subject') == '$BOT'
	     and r['detail'].get('request') == 'session-event'
	     and 'got a static key' in r['detail'].get('reason', '') for r in rows)"
rm -f "$NHI_TMP/authorized_keys/$BOT"

# A revoked certificate where sshd itself does not ask the broker (a static
# principals file, no RevokedKeys): the session stage still refuses it.
install -d -m 0755 -o root -g root "$NHI_TMP/principals"
install -m 0644 -o root -g root /dev/null "$NHI_TMP/principals/$BOT"
echo "$BOT" >"$NHI_TMP/principals/$BOT"
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000")" \
	"TrustedUserCAKeys $STATE/user_ca.pub" \
	"AuthorizedPrincipalsFile $NHI_TMP/principals/%u" \
	"ExposeAuthInfo yes"
new_cert bot-revoked
expect "nhictl revoke" 0 "" ctl revoke --serial "$SERIAL" --reason test
refused_at_open "a revoked certificate sshd accepts is refused at session open" \
	"$NHI_TMP/ran-revoked" "got a revoked certificate" \
	-i "$KEY" -o CertificateFile="$KEY-cert.pub"

# The broker unreachable at session open (pam_nhi's session line points at
# a socket nobody serves): an outage, so broker_down decides.
new_cert bot-down
down_stack()
{
	cat <<-EOF
		auth     required pam_deny.so
		account  required pam_unix.so
		account  required $PAM_SO socket=$SOCK timeout_ms=1000
		session  required pam_unix.so
		session  required $PAM_SO socket=$NHI_TMP/nobody.sock timeout_ms=1000 $*
	EOF
}
start_sshd_pam "$(down_stack)" "${SSHD_LINES[@]}"
refused_at_open "broker unreachable at session open: broker_down=deny refuses the session" \
	"$NHI_TMP/ran-down" "" -i "$KEY" -o CertificateFile="$KEY-cert.pub"
down_stack broker_down=allow >"/etc/pam.d/$NHI_PAM_SERVICE"
if ssh_as "$BOT" -T -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$BOT" ]; then
	pass "broker unreachable at session open: broker_down=allow opens the session"
else
	fail "broker unreachable at session open: broker_down=allow opens the session" \
		"ssh output: $NHI_SSH_OUT"
fi
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000")" "${SSHD_LINES[@]}"

# --- a suspended identity: refused at the account stage, and told why. A
# static key, so that authentication succeeds without the broker (the
# principals helper would refuse a suspended identity's certificate first).
expect "nhictl identity suspend" 0 "" ctl identity suspend "$HUMAN"
if ssh_banner "$HUMAN" "$HUMAN_KEY" id -un; then
	fail "a suspended identity is refused by sshd's account stage" "login succeeded: $NHI_SSH_OUT"
elif ! sshd_log_has "Access denied for user $HUMAN by PAM account configuration"; then
	fail "a suspended identity is refused by sshd's account stage" \
		"sshd did not log a PAM account refusal" "ssh output: $NHI_SSH_OUT"
else
	pass "a suspended identity is refused by sshd's account stage"
fi
if grep -q "nhi: account $HUMAN is suspended" <<<"$NHI_SSH_OUT"; then
	pass "the ssh client shows pam_nhi's reason"
else
	fail "the ssh client shows pam_nhi's reason" "ssh output: $NHI_SSH_OUT"
fi
audit_has "the refusal is audited as a login-check denial" \
	"any(r.get('type') == 'deny' and r.get('subject') == '$HUMAN'
	     and r['detail'].get('request') == 'login-check' for r in rows)"
ctl identity resume "$HUMAN" >/dev/null 2>&1 || bail_out "cannot resume $HUMAN"

# --- accounts the broker does not manage: unknown_user decides
if ssh_as "$STRANGER" -i "$STRANGER_KEY" -- id -un && [ "$NHI_SSH_OUT" = "$STRANGER" ]; then
	pass "unknown_user=allow: an account the broker does not manage logs in"
else
	fail "unknown_user=allow: an account the broker does not manage logs in" \
		"ssh output: $NHI_SSH_OUT"
fi
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000 unknown_user=deny")" "${SSHD_LINES[@]}"
if ssh_as "$STRANGER" -i "$STRANGER_KEY" -- id -un; then
	fail "unknown_user=deny: the same account is refused at the account stage" \
		"login succeeded: $NHI_SSH_OUT"
elif sshd_log_has "Access denied for user $STRANGER by PAM account configuration"; then
	pass "unknown_user=deny: the same account is refused at the account stage"
else
	fail "unknown_user=deny: the same account is refused at the account stage" \
		"ssh output: $NHI_SSH_OUT"
fi
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000")" "${SSHD_LINES[@]}"

# --- keys_mode enforce: a managed human's static key, which sshd accepts
# from its AuthorizedKeysFile, is deferred at the account stage and
# refused at session open.
# keys_mode MODE: rewrites the mode and waits for nhid to reload.
keys_mode()
{
	local i n
	n=$(grep -c "configuration reloaded" "$NHID_LOG")
	sed -i "s/^keys_mode = .*/keys_mode = $1/" "$CONF"
	kill -HUP "$NHID_PID"
	for i in $(seq 1 50); do
		[ "$(grep -c "configuration reloaded" "$NHID_LOG")" -gt "$n" ] && return 0
		sleep 0.1
	done
	bail_out "nhid did not reload its configuration"
}
keys_mode enforce
if ssh_as "$HUMAN" -T -i "$HUMAN_KEY" -- touch "$NHI_TMP/ran-enforce"; then
	fail "keys_mode enforce: a human's static key is refused at session open" \
		"login succeeded: $NHI_SSH_OUT"
elif sshd_log_has "Accepted publickey for $HUMAN " &&
	sshd_log_has "PAM: pam_open_session\(\): " &&
	grep -q "static keys are not accepted for $HUMAN" <<<"$NHI_SSH_OUT"; then
	pass "keys_mode enforce: a human's static key is refused at session open"
else
	fail "keys_mode enforce: a human's static key is refused at session open" \
		"ssh output: $NHI_SSH_OUT" "$(sshd_log_since_mark | tail -n 5)"
fi
ran_not "$NHI_TMP/ran-enforce" "... and its command does not run"
new_cert enforce "$HUMAN" "$NHI_TMP/hkeys"
if ssh_as "$HUMAN" -T -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$HUMAN" ]; then
	pass "keys_mode enforce: the human's broker certificate still logs in"
else
	fail "keys_mode enforce: the human's broker certificate still logs in" \
		"ssh output: $NHI_SSH_OUT"
fi
keys_mode observe

# --- a static key's use: the session opened with it sets last_used on its
# inventory row, here found by nhictl discover in the account's own file.
HUMAN_HOME=$(getent passwd "$HUMAN" | cut -d: -f6)
install -d -m 0700 -o "$HUMAN" -g "$HUMAN" "$HUMAN_HOME/.ssh"
install -m 0600 -o "$HUMAN" -g "$HUMAN" "$HUMAN_KEY.pub" "$HUMAN_HOME/.ssh/authorized_keys"
HUMAN_FP=$("$SSH_KEYGEN" -lf "$HUMAN_KEY.pub" | awk '{print $2}')
ctl discover --account "$HUMAN" >/dev/null 2>&1 || bail_out "nhictl discover failed"
json_check "an inventoried static key never used has no last_used" \
	"len(rows) == 1 and rows[0].get('last_used') is None" ctl keys show "$HUMAN_FP" --json
if ssh_as "$HUMAN" -i "$HUMAN_KEY" -- id -un && [ "$NHI_SSH_OUT" = "$HUMAN" ]; then
	pass "a managed human with a static key logs in while keys_mode is observe"
else
	fail "a managed human with a static key logs in while keys_mode is observe" \
		"ssh output: $NHI_SSH_OUT"
fi
audit_has "... its session open names the key, found in the inventory" \
	"any(r.get('type') == 'session' and r['detail'].get('event') == 'open'
	     and r['detail'].get('key_fp') == '$HUMAN_FP'
	     and r['detail'].get('key_inventoried') is True for r in rows)"
json_check "... and the key's inventory row has last_used" \
	"len(rows) == 1 and isinstance(rows[0].get('last_used'), int)
	 and rows[0]['last_used'] >= rows[0]['first_seen']" \
	ctl keys show "$HUMAN_FP" --json

# --- the broker stopped: the account stage answers by broker_down
stop_nhid
start=$(date +%s)
if ssh_as "$HUMAN" -i "$HUMAN_KEY" -- id -un; then
	fail "nhid stopped: broker_down=deny refuses the login at the account stage" \
		"login succeeded: $NHI_SSH_OUT"
elif ! sshd_log_has "Access denied for user $HUMAN by PAM account configuration"; then
	fail "nhid stopped: broker_down=deny refuses the login at the account stage" \
		"sshd did not log a PAM account refusal" "ssh output: $NHI_SSH_OUT"
elif [ $(($(date +%s) - start)) -gt 10 ]; then
	fail "nhid stopped: broker_down=deny refuses the login at the account stage" \
		"took $(($(date +%s) - start)) s for timeout_ms=1000"
else
	pass "nhid stopped: broker_down=deny refuses the login at the account stage"
fi
if ssh_as "$STRANGER" -i "$STRANGER_KEY" -- id -un; then
	fail "nhid stopped: an account the broker cannot vouch for is refused too" \
		"login succeeded: $NHI_SSH_OUT"
elif kill -0 "$NHI_SSHD_PID" 2>/dev/null &&
	sshd_log_has "Access denied for user $STRANGER by PAM account configuration"; then
	pass "nhid stopped: an account the broker cannot vouch for is refused too"
else
	fail "nhid stopped: an account the broker cannot vouch for is refused too" \
		"ssh output: $NHI_SSH_OUT"
fi

# broker_down=allow: the same sshd (PAM reads the service file per login)
start_sshd_pam "$(stack "socket=$SOCK timeout_ms=1000 broker_down=allow")" "${SSHD_LINES[@]}"
if ssh_as "$HUMAN" -i "$HUMAN_KEY" -- id -un && [ "$NHI_SSH_OUT" = "$HUMAN" ]; then
	pass "nhid stopped: broker_down=allow lets the login through"
else
	fail "nhid stopped: broker_down=allow lets the login through" \
		"ssh output: $NHI_SSH_OUT"
fi

# --- a hung broker: accepts and never answers. The account stage gives up
# after timeout_ms and refuses; sshd is not held and serves the next login.
HUNG=$NHI_TMP/hung.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
held = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(end - time.time())
    try: held.append(s.accept()[0])
    except OSError: break
' "$HUNG" &
HUNG_PID=$!
trap 'kill "$HUNG_PID" 2>/dev/null; stop_nhid; nhi_on_exit' EXIT
for i in $(seq 1 50); do [ -S "$HUNG" ] && break; sleep 0.1; done
start_sshd_pam "$(stack "socket=$HUNG timeout_ms=1000")" "${SSHD_LINES[@]}"
start=$(date +%s)
if ssh_as "$HUMAN" -i "$HUMAN_KEY" -- id -un; then
	fail "a hung broker: the account stage refuses after timeout_ms" "login succeeded"
elif ! sshd_log_has "Access denied for user $HUMAN by PAM account configuration"; then
	fail "a hung broker: the account stage refuses after timeout_ms" \
		"sshd did not log a PAM account refusal" "ssh output: $NHI_SSH_OUT"
elif [ $(($(date +%s) - start)) -gt 10 ]; then
	fail "a hung broker: the account stage refuses after timeout_ms" \
		"took $(($(date +%s) - start)) s for timeout_ms=1000"
else
	pass "a hung broker: the account stage refuses after timeout_ms"
fi
# The same sshd, not restarted: PAM reads the service file at every login.
stack "socket=$HUNG timeout_ms=1000 broker_down=allow" >"/etc/pam.d/$NHI_PAM_SERVICE"
if ssh_as "$HUMAN" -i "$HUMAN_KEY" -- id -un && [ "$NHI_SSH_OUT" = "$HUMAN" ]; then
	pass "... the same sshd serves the next login (broker_down=allow lets it through)"
else
	fail "... the same sshd serves the next login (broker_down=allow lets it through)" \
		"ssh output: $NHI_SSH_OUT"
fi
