#!/usr/bin/env bash
# Engineers, passwordless and just in time, against a real sshd: an admin
# makes a human identity and an enrollment code; the engineer, with an
# ed25519 device key in an ssh-agent, runs `nhi enroll` and `nhi login`
# over ssh to nhi-login (ForceCommand nhi-issue); the certificate from the
# agent then logs in as the engineer's account and nowhere else. A revoked
# serial, a suspended identity, an unenrolled device key and a reused code
# all get nothing.
# Needs root (sshd, runuser, throwaway users, the nhi and nhi-login users).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v ssh-agent >/dev/null || bail_out "ssh-agent is needed"
plan 22

for prog in nhi-authorized-keys nhi-authorized-principals nhi-issue; do
	[ -x "$top_builddir/sshd_plugin/$prog" ] || bail_out "not built: $prog"
done
helper_user_ensure
# sshd runs ForceCommand through the account's shell, and (UsePAM no)
# refuses a locked password: '*' is no password, not a locked one.
id nhi-login >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh -p '*' \
		nhi-login || id nhi-login >/dev/null 2>&1 ||
	bail_out "cannot create the nhi-login system user"

broker_setup
start_nhid

install_helpers "$top_builddir"/sshd_plugin/{nhi-authorized-keys,nhi-authorized-principals,nhi-issue}

NHI_SSHD_TAIL="Match User nhi-login
	ForceCommand $LIBEXEC/nhi-issue -c $CONF"
start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" \
	"AuthorizedPrincipalsCommand $LIBEXEC/nhi-authorized-principals -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi" \
	"AuthorizedKeysCommand $LIBEXEC/nhi-authorized-keys -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi" \
	"ExposeAuthInfo yes" \
	"PermitUserEnvironment no"

ENG=$(make_user) || bail_out "cannot create a test user"
OTHER=$(make_user) || bail_out "cannot create a test user"
runuser -u "$ENG" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
HOME_DIR=$NHI_TMP/eng
install -d -m 0700 -o "$ENG" -g "$ENG" "$HOME_DIR"
AGENT_SOCK=$HOME_DIR/agent.sock

# The engineer's ssh-agent, and a device key in it.
runuser -u "$ENG" -- ssh-agent -D -a "$AGENT_SOCK" >/dev/null 2>&1 &
AGENT_PID=$!
for i in $(seq 1 50); do
	[ -S "$AGENT_SOCK" ] && break
	sleep 0.1
done
[ -S "$AGENT_SOCK" ] || bail_out "ssh-agent did not start"
trap 'kill "$AGENT_PID" 2>/dev/null; stop_nhid; nhi_on_exit' EXIT

as_eng()
{
	runuser -u "$ENG" -- env SSH_AUTH_SOCK="$AGENT_SOCK" HOME="$HOME_DIR" "$@"
}

as_eng ssh-keygen -q -t ed25519 -N '' -C device -f "$HOME_DIR/device" ||
	bail_out "cannot make a device key"
as_eng ssh-keygen -q -t ed25519 -N '' -C stranger -f "$HOME_DIR/stranger" ||
	bail_out "cannot make a second key"
as_eng ssh-add -q "$HOME_DIR/device" 2>/dev/null || bail_out "cannot add the device key"
DEVICE_FP=$("$SSH_KEYGEN" -l -f "$HOME_DIR/device.pub" | cut -d' ' -f2)
DEVICE_FP_RE=${DEVICE_FP//+/\\+}

SSH_OPTS=(-p "$NHI_SSHD_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR)
nhi_eng()
{
	as_eng timeout 60 "$NHI" -c "$CONF" "$@"
}

# --- the admin's part
expect "a human identity for the engineer's account" 0 "$ENG" \
	ctl identity add "$ENG" --kind human --uid "$(id -u "$ENG")"
CODE=$(ctl enroll "$ENG" --ttl 10m --json |
	python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["code"])') ||
	bail_out "no enrollment code"

# --- enrollment
expect "nhi login before enrolling gets nothing" 1 "not enrolled" \
	nhi_eng login "${SSH_OPTS[@]}" 127.0.0.1
expect "nhi enroll with the code enrolls the agent's device key" 0 \
	"device key $DEVICE_FP_RE enrolled for $ENG" \
	nhi_eng enroll --code "$CODE" "${SSH_OPTS[@]}" 127.0.0.1
expect "a reused enrollment code fails" 1 "enrollment code unknown, used or expired" \
	nhi_eng enroll --code "$CODE" -i "$HOME_DIR/stranger" "${SSH_OPTS[@]}" 127.0.0.1
expect "a malformed code fails" 1 "malformed enrollment code" \
	nhi_eng enroll --code "not-a-code" -i "$HOME_DIR/stranger" "${SSH_OPTS[@]}" 127.0.0.1

# --- login
out=$(nhi_eng login --ttl 30m --json "${SSH_OPTS[@]}" 127.0.0.1 2>"$NHI_TMP/login.err")
SERIAL=$(python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["serial"]) if r["principals"] == [sys.argv[1]] and 1700 <= r["agent_lifetime"] <= 1800 else sys.exit(1)' "$ENG" <<<"$out" 2>/dev/null)
if [ -n "$SERIAL" ]; then
	pass "nhi login gets a 30 minute certificate for the engineer's principal"
else
	fail "nhi login gets a 30 minute certificate for the engineer's principal" "$out" "$(cat "$NHI_TMP/login.err")"
fi
if as_eng ssh-add -L 2>/dev/null | grep -q "^ssh-ed25519-cert-v01@openssh.com .* nhi:$ENG:$SERIAL\$"; then
	pass "the key and its certificate are in the engineer's agent"
else
	fail "the key and its certificate are in the engineer's agent" "$(as_eng ssh-add -L 2>&1)"
fi
if ctl audit export --json 2>/dev/null | grep -F "$DEVICE_FP" | grep -q '"type":"issue"'; then
	pass "the issuance is audited with the device key"
else
	fail "the issuance is audited with the device key"
fi

# ssh_eng ACCOUNT: the engineer's ssh, with the agent, to ACCOUNT.
ssh_eng()
{
	sshd_log_mark
	NHI_SSH_OUT=$(as_eng timeout 30 ssh -F /dev/null -o BatchMode=yes "${SSH_OPTS[@]}" \
		-l "$1" 127.0.0.1 id -un 2>&1 </dev/null)
}

if ssh_eng "$ENG" && [ "$NHI_SSH_OUT" = "$ENG" ] &&
	sshd_log_has "Accepted publickey for $ENG .*ID nhi:$ENG:$SERIAL"; then
	pass "ssh as the engineer's account with the agent's certificate works"
else
	fail "ssh as the engineer's account with the agent's certificate works" "$NHI_SSH_OUT"
fi
if ssh_eng "$OTHER"; then
	fail "the certificate is refused for another account (wrong principal)" "$NHI_SSH_OUT"
else
	pass "the certificate is refused for another account (wrong principal)"
fi
if ! ssh_eng nhi-login && grep -q "nhi-issue: " <<<"$NHI_SSH_OUT" &&
	! grep -qx nhi-login <<<"$NHI_SSH_OUT"; then
	pass "nhi-login runs nothing but nhi-issue"
else
	fail "nhi-login runs nothing but nhi-issue" "$NHI_SSH_OUT"
fi

expect "revoke the serial" 0 "" ctl revoke --serial "$SERIAL" --reason test
if ssh_eng "$ENG"; then
	fail "a revoked serial is refused by the online principals check" "$NHI_SSH_OUT"
else
	pass "a revoked serial is refused by the online principals check"
fi

expect "an unenrolled device key gets nothing from nhi login" 1 "not enrolled" \
	nhi_eng login -i "$HOME_DIR/stranger" "${SSH_OPTS[@]}" 127.0.0.1

expect "suspend the identity" 0 "suspended" ctl identity suspend "$ENG"
expect "a suspended identity gets nothing from nhi login" 1 "is suspended" \
	nhi_eng login -i "$HOME_DIR/device" "${SSH_OPTS[@]}" 127.0.0.1

# --- nhi-issue by hand, as nhi-login, with forged SSH_USER_AUTH files
ctl identity resume "$ENG" >/dev/null || bail_out "cannot resume the identity"
AUTH_DIR=$NHI_TMP/authinfo
install -d -m 0755 -o nhi-login "$AUTH_DIR"
NEW_PUB=$(cut -d' ' -f1,2 "$HOME_DIR/stranger.pub")
DEVICE_PUB=$(cut -d' ' -f1,2 "$HOME_DIR/device.pub")

# issue_refused DESC AUTH-CONTENT: nhi-issue with that SSH_USER_AUTH file
# asked for a certificate; it must refuse with nothing on stdout.
issue_refused()
{
	local desc=$1 out rc
	printf '%s' "$2" >"$AUTH_DIR/auth"
	chown nhi-login "$AUTH_DIR/auth" && chmod 0600 "$AUTH_DIR/auth"
	out=$(printf 'issue 0 %s\n' "$NEW_PUB" | runuser -u nhi-login -- \
		env SSH_USER_AUTH="$AUTH_DIR/auth" "$LIBEXEC/nhi-issue" -c "$CONF" 2>/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$out" ]; then
		pass "$desc"
	else
		fail "$desc" "exit $rc, stdout: $out"
	fi
}

printf 'publickey %s\n' "$DEVICE_PUB" >"$AUTH_DIR/auth"
chown nhi-login "$AUTH_DIR/auth" && chmod 0600 "$AUTH_DIR/auth"
out=$(printf 'issue 0 %s\n' "$NEW_PUB" | runuser -u nhi-login -- \
	env SSH_USER_AUTH="$AUTH_DIR/auth" "$LIBEXEC/nhi-issue" -c "$CONF" 2>&1)
if grep -q "^ssh-ed25519-cert-v01@openssh.com " <<<"$out"; then
	pass "nhi-issue by hand with a well-formed SSH_USER_AUTH prints a certificate"
else
	fail "nhi-issue by hand with a well-formed SSH_USER_AUTH prints a certificate" "$out"
fi
issue_refused "two publickey lines in SSH_USER_AUTH are refused" \
	"publickey $DEVICE_PUB"$'\n'"publickey $DEVICE_PUB"$'\n'
issue_refused "another method in SSH_USER_AUTH is refused" "password"$'\n'
issue_refused "a trailing comment in SSH_USER_AUTH is refused" "publickey $DEVICE_PUB x"$'\n'
ln -sf "$AUTH_DIR/auth" "$AUTH_DIR/link"
out=$(printf 'issue 0 %s\n' "$NEW_PUB" | runuser -u nhi-login -- \
	env SSH_USER_AUTH="$AUTH_DIR/link" "$LIBEXEC/nhi-issue" -c "$CONF" 2>/dev/null)
if [ $? -ne 0 ] && [ -z "$out" ]; then
	pass "an SSH_USER_AUTH symlink is not followed"
else
	fail "an SSH_USER_AUTH symlink is not followed" "$out"
fi
printf 'publickey %s\n' "$DEVICE_PUB" >"$NHI_TMP/other-auth"
chown "$OTHER" "$NHI_TMP/other-auth" && chmod 0600 "$NHI_TMP/other-auth"
out=$(printf 'issue 0 %s\n' "$NEW_PUB" | runuser -u "$OTHER" -- \
	env SSH_USER_AUTH="$NHI_TMP/other-auth" "$LIBEXEC/nhi-issue" -c "$CONF" 2>&1)
if [ $? -ne 0 ] && grep -q "permission denied" <<<"$out"; then
	pass "an ordinary user cannot ask for a device certificate"
else
	fail "an ordinary user cannot ask for a device certificate" "$out"
fi
