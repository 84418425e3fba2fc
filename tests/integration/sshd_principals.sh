#!/usr/bin/env bash
# nhi-authorized-principals in a real sshd, with no RevokedKeys line: the
# broker's online check alone decides. A certificate from nhid logs in as
# its principal and not as another account; a revocation or a suspended
# identity is refused at once; with nhid stopped or stuck, certificate
# logins fail promptly and sshd keeps serving. Hostile arguments, given to
# the helper by hand, print nothing and exit 1.
# Needs root (sshd, runuser, throwaway users, the nhi system user).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
plan 26

principals_broker_start
HELPER=$NHI_TMP/libexec/nhi-authorized-principals

BOT=$(make_user) || bail_out "cannot create a test user"
OTHER=$(make_user) || bail_out "cannot create a test user"
BOT_UID=$(id -u "$BOT")
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys"

# The identity is named for the account it logs in to: its certificates
# carry that name as their principal.
expect "an automation identity named for the test account" 0 "$BOT" \
	ctl identity add "$BOT" --kind automation --selector "uid=$BOT_UID" \
	--selector "exe_path=$BOT_SHELL"

# new_cert NAME: a certificate at $NHI_TMP/keys/NAME; sets SERIAL and FP.
new_cert()
{
	local out
	KEY=$NHI_TMP/keys/$1
	out=$(as_user "$BOT" "$BOT_SHELL" cert --identity "$BOT" --out "$KEY" 2>&1) || {
		diag "$out"
		bail_out "no certificate to test with"
	}
	SERIAL=$(sed -n 's/^serial: *//p' <<<"$out")
	FP=$("$SSH_KEYGEN" -l -f "$KEY" | cut -d' ' -f2)
	[[ "$SERIAL" =~ ^[0-9]+$ ]] && [[ "$FP" == SHA256:* ]] || bail_out "bad certificate: $out"
}

# helper_by_hand ARGS...: runs the helper as nhi; stdout in HOUT.
helper_by_hand()
{
	HOUT=$(runuser -u nhi -- "$HELPER" "$@" 2>/dev/null)
}

# refused_by_hand DESC ARGS...: exit 1 and nothing on stdout.
refused_by_hand()
{
	local desc=$1 rc
	shift
	helper_by_hand "$@"
	rc=$?
	if [ "$rc" -eq 1 ] && [ -z "$HOUT" ]; then
		pass "$desc"
	else
		fail "$desc" "exit $rc, stdout: $HOUT"
	fi
}

new_cert first
FIRST=$KEY FIRST_SERIAL=$SERIAL FIRST_FP=$FP

# --- by hand, as sshd would run it
helper_by_hand -c "$CONF" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
if [ $? -eq 0 ] && [ "$HOUT" = "$BOT" ]; then
	pass "the helper prints the account for its own valid certificate"
else
	fail "the helper prints the account for its own valid certificate" "stdout: $HOUT"
fi
out=$(runuser -u "$OTHER" -- "$HELPER" -c "$CONF" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" \
	"$FP" 2>"$NHI_TMP/other.err")
rc=$?
if [ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q "permission denied" "$NHI_TMP/other.err"; then
	pass "an ordinary user gets no answer: the query is for the helper user only"
else
	fail "an ordinary user gets no answer: the query is for the helper user only" \
		"exit $rc, stdout: $out" "$(cat "$NHI_TMP/other.err")"
fi
refused_by_hand "another account's name is refused (not a principal)" \
	-c "$CONF" "$OTHER" "$(id -u "$OTHER")" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "an account name with '/' exits 1 printing nothing" \
	-c "$CONF" "a/b" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "an account name '..' exits 1 printing nothing" \
	-c "$CONF" ".." "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "an account name with a newline exits 1 printing nothing" \
	-c "$CONF" "$BOT"$'\n'"root" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "an account name with '%' exits 1 printing nothing" \
	-c "$CONF" "$BOT%u" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "a 300-byte account name exits 1 printing nothing" \
	-c "$CONF" "$(printf 'a%.0s' $(seq 1 300))" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "serial 'abc' exits 1 printing nothing" \
	-c "$CONF" "$BOT" "$BOT_UID" abc "nhi:$BOT:abc" "$FP"
refused_by_hand "a serial past int64 exits 1 printing nothing" \
	-c "$CONF" "$BOT" "$BOT_UID" 18446744073709551616 "nhi:$BOT:18446744073709551616" "$FP"
refused_by_hand "a key id whose serial is not %s exits 1 printing nothing" \
	-c "$CONF" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$BOT:$((SERIAL + 1))" "$FP"
refused_by_hand "a well-formed key id the broker did not issue exits 1 printing nothing" \
	-c "$CONF" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$OTHER:$SERIAL" "$FP"
refused_by_hand "a uid with a sign exits 1 printing nothing" \
	-c "$CONF" "$BOT" "+$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
refused_by_hand "a missing argument exits 1 printing nothing" -c "$CONF" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL"

# --- sshd asks the helper, and has no KRL
start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" \
	"AuthorizedPrincipalsCommand $HELPER -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi"

if ssh_as "$BOT" -i "$FIRST" -o CertificateFile="$FIRST-cert.pub" -- id -un &&
	[ "$NHI_SSH_OUT" = "$BOT" ] &&
	sshd_log_has "Accepted publickey for $BOT .*ID nhi:$BOT:$FIRST_SERIAL"; then
	pass "ssh with the broker's certificate logs in through the principals helper"
else
	fail "ssh with the broker's certificate logs in through the principals helper" \
		"ssh output: $NHI_SSH_OUT" "$(sshd_log_since_mark | tail -n 15)"
fi

if ssh_as "$OTHER" -i "$FIRST" -o CertificateFile="$FIRST-cert.pub" -- id -un; then
	fail "the same certificate cannot log in as another account" "login succeeded"
elif sshd_log_since_mark | grep -q "Accepted publickey"; then
	fail "the same certificate cannot log in as another account" "sshd accepted a key"
else
	pass "the same certificate cannot log in as another account"
fi

# --- revocation, with no KRL in sshd: only the online check can refuse it
expect "nhictl revoke --serial $FIRST_SERIAL" 0 "" ctl revoke --serial "$FIRST_SERIAL" \
	--reason test
if ssh_as "$BOT" -i "$FIRST" -o CertificateFile="$FIRST-cert.pub" -- id -un; then
	fail "the revoked certificate is refused at once, without a KRL" "login succeeded"
elif sshd_log_since_mark | grep -q "Accepted publickey"; then
	fail "the revoked certificate is refused at once, without a KRL" "sshd accepted a key"
elif ! grep -q "certificate $FIRST_SERIAL of $BOT is revoked" "$NHID_LOG"; then
	fail "the revoked certificate is refused at once, without a KRL" \
		"nhid did not log the revocation refusal"
else
	pass "the revoked certificate is refused at once, without a KRL"
fi

# --- a suspended identity: a fresh, unrevoked certificate is refused
new_cert second
expect "nhictl identity suspend" 0 "" ctl identity suspend "$BOT"
if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un; then
	fail "a new certificate of a suspended identity is refused" "login succeeded"
elif ! grep -q "identity $BOT is suspended" "$NHID_LOG"; then
	fail "a new certificate of a suspended identity is refused" \
		"nhid did not log the suspension refusal"
else
	pass "a new certificate of a suspended identity is refused"
fi

n_deny=$(ctl audit export 2>/dev/null | grep -c "principals-query" || true)
if [ "${n_deny:-0}" -ge 3 ]; then
	pass "the helper's refusals are audited as denials ($n_deny)"
else
	fail "the helper's refusals are audited as denials" "principals-query records: ${n_deny:-0}"
	ctl audit export 2>&1 | tail -n 5 | sed 's/^/#   /'
fi

# --- the broker down: refused promptly, sshd keeps serving
ctl identity resume "$BOT" >/dev/null 2>&1
stop_nhid
start=$(date +%s)
if ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un; then
	fail "with nhid stopped the certificate login is refused promptly" "login succeeded"
elif [ $(($(date +%s) - start)) -gt 10 ]; then
	fail "with nhid stopped the certificate login is refused promptly" \
		"took $(($(date +%s) - start)) s"
else
	pass "with nhid stopped the certificate login is refused promptly"
fi
ssh_as "$BOT" -i "$KEY" -o CertificateFile="$KEY-cert.pub" -- id -un
if kill -0 "$NHI_SSHD_PID" 2>/dev/null && grep -q "Permission denied" <<<"$NHI_SSH_OUT"; then
	pass "... and sshd still accepts a new connection and answers it"
else
	fail "... and sshd still accepts a new connection and answers it" "ssh: $NHI_SSH_OUT"
fi

# --- a stuck broker: accepts, never answers; the helper gives up in time
STUCK=$NHI_TMP/stuck.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
end = time.time() + 30
while time.time() < end:
    s.settimeout(end - time.time())
    try: conns.append(s.accept()[0])
    except OSError: break
' "$STUCK" &
STUCK_PID=$!
for i in $(seq 1 50); do [ -S "$STUCK" ] && break; sleep 0.1; done
chmod 0666 "$STUCK"
printf '[broker]\nsocket = %s\nstate_dir = %s\n\n[sshd]\nhelper_timeout_ms = 500\n' \
	"$STUCK" "$STATE" >"$NHI_TMP/stuck.conf"
chmod 0644 "$NHI_TMP/stuck.conf"
start=$(date +%s%N)
refused_by_hand "a broker that never answers: exit 1, nothing printed" \
	-c "$NHI_TMP/stuck.conf" "$BOT" "$BOT_UID" "$SERIAL" "nhi:$BOT:$SERIAL" "$FP"
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -ge 400 ] && [ "$ms" -lt 3000 ]; then
	pass "... within helper_timeout_ms (${ms} ms for 500)"
else
	fail "... within helper_timeout_ms" "${ms} ms for 500"
fi
kill "$STUCK_PID" 2>/dev/null
wait "$STUCK_PID" 2>/dev/null
