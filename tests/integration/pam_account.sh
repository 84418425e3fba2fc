#!/usr/bin/env bash
# pam_nhi's account and session stages through real PAM service files,
# driven by pamtester and by nhi-pamdrive (which sets SSH_AUTH_INFO_0 in the
# PAM environment as sshd does): managed, suspended, retired, automation
# with and without a broker certificate, unknown users, a broker that is
# down or hung, and session audit records. Needs root (/etc/pam.d, users).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v pamtester >/dev/null || bail_out "pamtester is needed"
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
DRIVE=$top_builddir/tests/tools/nhi-pamdrive
[ -f "$PAM_SO" ] || bail_out "not built: $PAM_SO"
[ -x "$DRIVE" ] || bail_out "not built: $DRIVE"
plan 50

broker_setup "[sshd]
keys_mode = observe"
PAM_FILES=()
HUNG_PID=
trap 'stop_nhid; [ -z "$HUNG_PID" ] || kill "$HUNG_PID" 2>/dev/null; rm -f "${PAM_FILES[@]}"; nhi_on_exit' EXIT
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid

# service NAME-VAR ARGS...: a throwaway /etc/pam.d/nhit-* file with pam_nhi
# (by absolute path) for account and session; its name goes into NAME-VAR.
service()
{
	local var=$1 name
	shift
	name="nhit-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	PAM_FILES+=("/etc/pam.d/$name")
	printf 'account required %s %s\nsession required %s %s\n' \
		"$PAM_SO" "$*" "$PAM_SO" "$*" >"/etc/pam.d/$name"
	printf -v "$var" '%s' "$name"
}

service SVC "socket=$SOCK timeout_ms=1000"
service SVC_DENY "socket=$SOCK timeout_ms=1000 unknown_user=deny"
service SVC_DOWN_ALLOW "socket=$SOCK timeout_ms=1000 broker_down=allow"

HUMAN=$(make_user) && SUSP=$(make_user) && RETIRED=$(make_user) && BOT=$(make_user) &&
	STRANGER=$(make_user) && BOT2=$(make_user) || bail_out "cannot create test users"
BOT_UID=$(id -u "$BOT")
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys-$BOT"
KEY=$NHI_TMP/keys-$BOT/bot

out=$(ctl identity add "$HUMAN" --kind human 2>&1 &&
	ctl identity add "$SUSP" --kind human 2>&1 && ctl identity suspend "$SUSP" 2>&1 &&
	ctl identity add "$RETIRED" --kind human 2>&1 && ctl identity retire "$RETIRED" 2>&1 &&
	ctl identity add "$BOT" --kind automation --selector "uid=$BOT_UID" \
		--selector "exe_path=$BOT_SHELL" 2>&1 &&
	ctl identity add "$BOT2" --kind automation --selector "uid=$(id -u "$BOT2")" 2>&1) ||
	bail_out "cannot add identities: $out"

# --- the module itself
syms=$(nm -D --defined-only "$PAM_SO" | awk '{print $3}' | sort)
if [ -n "$syms" ] && ! grep -qv '^pam_sm_' <<<"$syms"; then
	pass "pam_nhi.so exports only pam_sm_* symbols"
else
	fail "pam_nhi.so exports only pam_sm_* symbols" "$syms"
fi
needed=$(readelf -d "$PAM_SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
# libsodium: argon2id for the break-glass codes.
if [[ "$needed" =~ ^libc\.so\.6\ libpam\.so\.0\ (libsodium\.so\.[0-9]+\ )?$ ]]; then
	pass "pam_nhi.so needs only libpam, libc and libsodium"
else
	fail "pam_nhi.so needs only libpam, libc and libsodium" "DT_NEEDED: $needed"
fi

# --- humans
expect "pamtester: an active human passes the account stage" 0 "account management done" \
	pamtester -v -I rhost=192.0.2.7 "$SVC" "$HUMAN" acct_mgmt
expect "a suspended human is refused with PAM_PERM_DENIED and told why" 6 \
	"error: nhi: account $SUSP is suspended" "$DRIVE" "$SVC" "$SUSP" acct_mgmt
expect "a retired human is refused with PAM_ACCT_EXPIRED" 13 \
	"error: nhi: account $RETIRED is retired" "$DRIVE" "$SVC" "$RETIRED" acct_mgmt

# --- automation: only with a certificate this broker issued to it
out=$(as_user "$BOT" "$BOT_SHELL" cert --identity "$BOT" --out "$KEY" 2>&1)
[ -s "$KEY-cert.pub" ] || bail_out "nhi cert --out wrote no certificate: $out"
read -r cert_type cert_b64 _ <"$KEY-cert.pub"
read -r key_type key_b64 _ < <("$SSH_KEYGEN" -y -f "$KEY")
[ -n "$key_b64" ] || bail_out "cannot read the public key of $KEY"
SERIAL=$("$SSH_KEYGEN" -L -f "$KEY-cert.pub" | sed -n 's/^ *Serial: //p')
[ -n "$SERIAL" ] || bail_out "no serial in the certificate"
CERT_INFO="publickey $cert_type $cert_b64"
KEY_INFO="publickey $key_type $key_b64"

expect "automation without any credential (console, su) is refused" 6 \
	"error: nhi: automation identity $BOT must log in with a broker certificate" \
	"$DRIVE" "$SVC" "$BOT" acct_mgmt
expect "automation with a static key is refused" 6 "got a static key" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=$KEY_INFO" "$SVC" "$BOT" acct_mgmt
expect "automation with its broker certificate passes" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" -I rhost=192.0.2.8 -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT" acct_mgmt
expect "the certificate is not accepted for another automation identity" 6 \
	"got a certificate of another identity" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT2" acct_mgmt
expect "a truncated certificate is no certificate" 6 "got a certificate that cannot be read" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=publickey $cert_type ${cert_b64:0:200}" "$SVC" "$BOT" acct_mgmt
expect "garbage in SSH_AUTH_INFO_0 is refused for automation, not a crash" 6 "must log in" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=publickey $cert_type !!!notbase64" "$SVC" "$BOT" acct_mgmt

# --- sshd's account stage: SSH_AUTH_INFO_0 is not there yet (sshd fills it
# for the session), PAM tty "ssh". The broker defers to session open.
expect "sshd's account stage without a credential: automation is deferred" 0 \
	"acct_mgmt: PAM_SUCCESS" "$DRIVE" -I tty=ssh "$SVC" "$BOT" acct_mgmt
expect "... and session open without a credential refuses it (PAM_PERM_DENIED)" 6 \
	"error: nhi: automation identity $BOT must log in with a broker certificate .got no cert" \
	"$DRIVE" -I tty=ssh "$SVC" "$BOT" open_session
expect "... and session open with a static key refuses it" 6 "got a static key" \
	"$DRIVE" -I tty=ssh -e "SSH_AUTH_INFO_0=$KEY_INFO" "$SVC" "$BOT" open_session
expect "... and session open with another identity's certificate refuses it" 6 \
	"got a certificate of another identity" \
	"$DRIVE" -I tty=ssh -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT2" open_session
expect "another service (cron) is not deferred: refused at the account stage" 6 \
	"must log in with a broker certificate" "$DRIVE" -I tty=cron "$SVC" "$BOT" acct_mgmt
expect "... and refused at session open too" 6 "must log in with a broker certificate" \
	"$DRIVE" -I tty=cron "$SVC" "$BOT" open_session
expect "a human in keys_mode observe is not deferred" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" -I tty=ssh "$SVC" "$HUMAN" acct_mgmt
json_check "the deferral is audited, the human's plain allow is not" \
	"any(r.get('type') == 'login' and r.get('subject') == '$BOT'
	     and r['detail'].get('decision') == 'deferred' for r in rows)
	 and not any(r.get('type') == 'login' and r.get('subject') == '$HUMAN' for r in rows)" \
	ctl audit export --json
json_check "every session-open refusal is audited as a denial with its reason" \
	"len([r for r in rows if r.get('type') == 'deny' and r['detail'].get('request') == 'session-event'
	      and r.get('subject') in ('$BOT', '$BOT2')]) == 4" ctl audit export --json

# --- humans and static keys: observe allows, enforce refuses
expect "a human with a static key passes while keys_mode is observe" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=$KEY_INFO" "$SVC" "$HUMAN" acct_mgmt

# --- unknown users
expect "pamtester: an unmanaged account passes with unknown_user=allow" 0 \
	"account management done" pamtester -v "$SVC" "$STRANGER" acct_mgmt
expect "an unmanaged account gets PAM_USER_UNKNOWN with unknown_user=deny" 10 \
	"acct_mgmt: PAM_USER_UNKNOWN" "$DRIVE" "$SVC_DENY" "$STRANGER" acct_mgmt
expect "a managed account still passes with unknown_user=deny" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" "$SVC_DENY" "$HUMAN" acct_mgmt
expect "an invalid user name is PAM_USER_UNKNOWN before the broker is asked" 10 \
	"acct_mgmt: PAM_USER_UNKNOWN" "$DRIVE" "$SVC" "Bad.Name" acct_mgmt

# ignore_unknown: PAM_IGNORE lets the next module decide (here pam_deny).
SVC_IGN="nhit-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
PAM_FILES+=("/etc/pam.d/$SVC_IGN")
printf 'account [success=done ignore=ignore default=die] %s socket=%s ignore_unknown\n%s\n' \
	"$PAM_SO" "$SOCK" "account required pam_deny.so" >"/etc/pam.d/$SVC_IGN"
expect "ignore_unknown: an unmanaged account falls through to the next module" 7 \
	"acct_mgmt: PAM_AUTH_ERR" "$DRIVE" "$SVC_IGN" "$STRANGER" acct_mgmt
expect "ignore_unknown: a managed account is decided by pam_nhi" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" "$SVC_IGN" "$HUMAN" acct_mgmt
if grep -q "login $HUMAN (human) via $SVC from 192.0.2.7: allow" "$NHID_LOG" &&
	grep -q "login $STRANGER via $SVC_IGN from -: not managed" "$NHID_LOG"; then
	pass "nhid logs every decision"
else
	fail "nhid logs every decision" "$(grep login "$NHID_LOG" | tail -5)"
fi
json_check "an allowed login records the identity's last use" \
	"rows[0].get('last_used') not in (None, 0, '', '-', 'never')" ctl identity show "$HUMAN" --json

# --- sessions
expect "session open and close with the broker certificate succeed" 0 \
	"open_session: PAM_SUCCESS.*close_session: PAM_SUCCESS" bash -c \
	'"$@" | tr "\n" " "' _ "$DRIVE" -I rhost=192.0.2.8 -I tty=ssh \
	-e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT" open_session close_session
expect "pamtester: a human's session opens and closes" 0 "successfully" \
	pamtester -v -I rhost=192.0.2.7 -I tty=/dev/pts/9 "$SVC" "$HUMAN" open_session close_session
expect "a machine identity on a terminal opens a session" 0 "open_session: PAM_SUCCESS" \
	"$DRIVE" -I tty=/dev/pts/7 -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT" open_session

json_check "session open and close are audited with the certificate serial and one session id" \
	"len([r for r in rows if r.get('type') == 'session' and r.get('subject') == '$BOT'
	      and r['detail'].get('cert_serial') == $SERIAL and r['detail'].get('rhost') == '192.0.2.8'
	      and r['detail'].get('event') in ('open', 'close')]) == 2
	 and len({r['detail']['session'] for r in rows if r.get('type') == 'session'
	          and r.get('subject') == '$BOT' and r['detail'].get('rhost') == '192.0.2.8'}) == 1" \
	ctl audit export --json
json_check "a machine identity with a tty is flagged as interactive use" \
	"any(r.get('type') == 'session' and r.get('subject') == '$BOT'
	     and r['detail'].get('tty') == '/dev/pts/7' and r['detail'].get('interactive_machine') is True
	     for r in rows)
	 and not any(r['detail'].get('interactive_machine') for r in rows
	             if r.get('type') == 'session' and r['detail'].get('tty') == 'ssh')" \
	ctl audit export --json
json_check "a human's session is audited with rhost and tty" \
	"any(r.get('type') == 'session' and r.get('subject') == '$HUMAN'
	     and r['detail'].get('tty') == '/dev/pts/9' and r['detail'].get('event') == 'close'
	     for r in rows)" ctl audit export --json
json_check "every account refusal is audited as a denial with its reason" \
	"all(any(r.get('type') == 'deny' and r.get('subject') == u
	         and r['detail'].get('request') == 'login-check' for r in rows)
	     for u in ('$SUSP', '$RETIRED', '$BOT'))" ctl audit export --json

# --- revocation reaches the account stage
out=$(ctl revoke --serial "$SERIAL" --reason test 2>&1) || fail "nhictl revoke failed" "$out"
expect "a revoked certificate is refused" 6 "got a revoked certificate" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT" acct_mgmt

expect "... and at session open, after sshd's account stage deferred it" 6 \
	"got a revoked certificate" \
	"$DRIVE" -I tty=ssh -e "SSH_AUTH_INFO_0=$CERT_INFO" "$SVC" "$BOT" open_session

# --- enforce: static keys of humans refused
sed -i 's/^keys_mode = observe$/keys_mode = enforce/' "$CONF"
kill -HUP "$NHID_PID"
for i in $(seq 1 30); do
	grep -q "configuration reloaded" "$NHID_LOG" && break
	sleep 0.1
done
expect "a human with a static key is refused once keys_mode is enforce" 6 \
	"error: nhi: static keys are not accepted" \
	"$DRIVE" -e "SSH_AUTH_INFO_0=$KEY_INFO" "$SVC" "$HUMAN" acct_mgmt

expect "enforce: sshd's account stage defers a human without a credential" 0 \
	"acct_mgmt: PAM_SUCCESS" "$DRIVE" -I tty=ssh "$SVC" "$HUMAN" acct_mgmt
expect "... and session open refuses the human's static key" 6 \
	"error: nhi: static keys are not accepted" \
	"$DRIVE" -I tty=ssh -e "SSH_AUTH_INFO_0=$KEY_INFO" "$SVC" "$HUMAN" open_session

# --- a hung broker: a socket that accepts and never answers
HUNG=$NHI_TMP/hung.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
' "$HUNG" &
HUNG_PID=$!
for i in $(seq 1 50); do [ -S "$HUNG" ] && break; sleep 0.1; done
service SVC_HUNG "socket=$HUNG timeout_ms=1000"
t0=$(date +%s%N)
expect "a hung broker: the account stage gives PAM_AUTHINFO_UNAVAIL" 9 \
	"acct_mgmt: PAM_AUTHINFO_UNAVAIL" "$DRIVE" "$SVC_HUNG" "$HUMAN" acct_mgmt
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 3000 ]; then
	pass "a hung broker is given up on near timeout_ms=1000 ($ms ms)"
else
	fail "a hung broker is given up on near timeout_ms=1000" "took $ms ms"
fi
t0=$(date +%s%N)
expect "a hung broker: session open gives PAM_SESSION_ERR (broker_down=deny)" 14 \
	"open_session: PAM_SESSION_ERR" "$DRIVE" -I tty=ssh "$SVC_HUNG" "$BOT" open_session
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 3000 ]; then
	pass "... given up on near timeout_ms=1000 ($ms ms)"
else
	fail "... given up on near timeout_ms=1000" "took $ms ms"
fi

# --- the broker down
stop_nhid
t0=$(date +%s%N)
expect "broker down: a managed account is refused (broker_down=deny)" 9 \
	"acct_mgmt: PAM_AUTHINFO_UNAVAIL" "$DRIVE" "$SVC" "$HUMAN" acct_mgmt
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 3000 ]; then
	pass "broker down: answered at once ($ms ms)"
else
	fail "broker down: answered at once" "took $ms ms"
fi
expect "broker down with broker_down=allow: PAM_SUCCESS" 0 "acct_mgmt: PAM_SUCCESS" \
	"$DRIVE" "$SVC_DOWN_ALLOW" "$HUMAN" acct_mgmt
expect "broker down with broker_down=allow: session open succeeds" 0 \
	"open_session: PAM_SUCCESS" "$DRIVE" -I tty=ssh "$SVC_DOWN_ALLOW" "$BOT" open_session
expect "broker down: session close still succeeds, open is refused" 14 \
	"close_session: PAM_SUCCESS" bash -c '"$1" "$2" "$3" close_session &&
	"$1" "$2" "$3" open_session' _ "$DRIVE" "$SVC" "$HUMAN"
