#!/usr/bin/env bash
# Just-in-time sudo with Debian's real sudo: a throwaway PAM service with
# `auth sufficient pam_nhi.so elevate` then pam_deny, and a sudoers drop-in
# pointing the test user at it. `sudo -n` (never a password) succeeds only
# while the user holds an active grant from `nhi elevate`: not before, not
# after revocation or expiry, not while pending approval, never when denied,
# and not when the broker is down. Needs root (/etc/pam.d, /etc/sudoers.d).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v sudo >/dev/null || bail_out "sudo is needed"
command -v visudo >/dev/null || bail_out "visudo is needed"
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
command -v pamtester >/dev/null || bail_out "pamtester is needed"
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
[ -f "$PAM_SO" ] || bail_out "not built: $PAM_SO"
plan 38

broker_setup "[policy]
grant_ttl_max = 30m"
TAG="nhit-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
PAM_FILES=()
SUDOERS=/etc/sudoers.d/$TAG
HUNG_PID=
trap 'stop_nhid; [ -z "$HUNG_PID" ] || kill "$HUNG_PID" 2>/dev/null
rm -f "${PAM_FILES[@]}" "$SUDOERS" "/etc/sudoers.d/.$TAG.new"
getent group "$TAG" >/dev/null && groupdel "$TAG"; nhi_on_exit' EXIT
start_nhid

ENG=$(make_user) && STRANGER=$(make_user) || bail_out "cannot create test users"
runuser -u "$ENG" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"

# service NAME-VAR ARGS...: /etc/pam.d/nhit-* with pam_nhi elevate ARGS
# first, then pam_deny: nothing but a grant can authenticate.
service()
{
	local var=$1 name
	shift
	name="$TAG-$#-$RANDOM"
	PAM_FILES+=("/etc/pam.d/$name")
	printf '%s\n' "auth sufficient $PAM_SO elevate $*" "auth requisite pam_deny.so" \
		"account required pam_permit.so" "session required pam_permit.so" \
		>"/etc/pam.d/$name"
	printf -v "$var" '%s' "$name"
}

# use_service NAME: the sudoers drop-in sends ENG's sudo through PAM
# service NAME, asks PAM every time, and lets ENG run only true(1).
# Checked by visudo, installed by rename: never a broken drop-in.
use_service()
{
	local tmp=/etc/sudoers.d/.$TAG.new
	{
		printf 'Defaults:%s pam_service=%s\n' "$ENG" "$1"
		printf 'Defaults:%s !use_pty, timestamp_timeout=0, noninteractive_auth, !lecture\n' "$ENG"
		printf '%s ALL=(root) /usr/bin/true\n' "$ENG"
	} >"$tmp"
	chmod 0440 "$tmp"
	visudo -cqf "$tmp" || bail_out "visudo refuses the drop-in"
	mv -f "$tmp" "$SUDOERS"
}

# sudo_ok DESC / sudo_fails DESC: ENG runs `sudo -n true`.
sudo_ok()
{
	local out
	if out=$(runuser -u "$ENG" -- sudo -n /usr/bin/true 2>&1); then
		pass "$1"
	else
		fail "$1" "sudo -n true failed" "$out"
	fi
}
sudo_fails()
{
	local out
	if out=$(runuser -u "$ENG" -- sudo -n /usr/bin/true 2>&1); then
		fail "$1" "sudo -n true succeeded"
	else
		pass "$1"
	fi
}

# elevate USER ARGS...: USER runs `nhi elevate ARGS`.
elevate()
{
	local user=$1
	shift
	runuser -u "$user" -- "$NHI" -c "$CONF" elevate "$@"
}

# grant_denials: how many grant-check denials of ENG the audit trail holds.
grant_denials()
{
	ctl audit export --json | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin for r in [json.loads(l)] if r.get("type") == "deny"
          and r.get("subject") == sys.argv[1] and r["detail"].get("request") == "grant-check"))
' "$ENG"
}

grant_id()
{
	sed -n 's/^grant \([0-9]*\):.*/\1/p' <<<"$1"
}

out=$(ctl identity add "$ENG" --kind human --uid "$(id -u "$ENG")" --role ops --role db 2>&1) ||
	bail_out "cannot add the identity: $out"
service SVC "socket=$SOCK timeout_ms=1000"
use_service "$SVC"

sudo_fails "no grant: sudo -n falls through to pam_deny"
json_check "the refused sudo is in the audit chain as a grant-check denial" \
	"any(r.get('type') == 'deny' and r.get('subject') == '$ENG'
	     and r['detail'].get('request') == 'grant-check'
	     and r['detail'].get('reason') == 'no active grant'
	     and r['detail'].get('service') == '$SVC' for r in rows)" ctl audit export --json

expect "nhi elevate without --reason is a usage error" 2 "--reason TEXT is required" \
	elevate "$ENG" --role ops
expect "a role the identity does not hold is refused" 1 "does not hold role root" \
	elevate "$ENG" --role root --reason "testing"
expect "a ttl above grant_ttl_max is refused" 1 "exceeds grant_ttl_max" \
	elevate "$ENG" --role ops --reason "testing" --ttl 2h
expect "a reason with control bytes is refused" 1 "reason of 1 to 256" \
	elevate "$ENG" --role ops --reason $'two\nlines'
expect "a user without a human identity is refused" 1 "not bound to a human identity" \
	elevate "$STRANGER" --role ops --reason "testing"
sudo_fails "refused requests grant nothing"

out=$(elevate "$ENG" --role ops --reason "rotate logs" --ttl 10m 2>&1)
check "nhi elevate prints the active grant and its end" \
	grep -Eq '^grant [0-9]+: role ops active until [0-9-]+ [0-9:]+Z$' <<<"$out"
G1=$(grant_id "$out")
sudo_ok "an active grant: sudo -n true succeeds without a password"
json_check "nhictl grant list --json shows it active" \
	"any(r['id'] == $G1 and r['state'] == 'active' and r['identity'] == '$ENG' and r['reason'] == 'rotate logs' for r in rows)" \
	ctl grant list --json

service SVC_DB "socket=$SOCK timeout_ms=1000 role=db"
use_service "$SVC_DB"
sudo_fails "role=db: a grant of ops does not count"
use_service "$SVC"

expect "nhictl grant revoke ends it" 0 "state: +revoked" ctl grant revoke "$G1"
denials=$(grant_denials)
sudo_fails "after revocation sudo -n fails"
json_check "... and that refusal is audited too" \
	"len([r for r in rows if r.get('type') == 'deny' and r.get('subject') == '$ENG'
	      and r['detail'].get('request') == 'grant-check']) > $denials" ctl audit export --json
check "nhictl audit verify: the chain holds" ctl audit verify
expect "a revoked grant cannot be revoked again" 1 "is revoked, not active" \
	ctl grant revoke "$G1"
expect "an unknown grant id is an error" 1 "no grant 999999" ctl grant revoke 999999
expect "a grant id must be a number" 2 "invalid grant ID" ctl grant revoke 12x

out=$(elevate "$ENG" --role ops --reason "short" --ttl 1s 2>&1)
G2=$(grant_id "$out")
[ -n "$G2" ] || fail "a 1s grant" "no grant id" "$out"
# Wait until the broker lists it as expired: no assertion on timing.
for i in $(seq 1 100); do
	ctl grant list --json | grep -q "\"id\":$G2,.*\"expired\":true" && break
	sleep 0.1
done
json_check "nhictl grant list marks the 1s grant expired" \
	"any(r['id'] == $G2 and r.get('expired') is True for r in rows)" ctl grant list --json
sudo_fails "after expiry sudo -n fails"

json_check "nhi elevate --json prints the grant as one object" \
	"len(rows) == 1 and rows[0]['role'] == 'db' and rows[0]['state'] == 'active' and rows[0]['ttl'] == 300 and rows[0]['expires'] > 0" \
	elevate "$ENG" --role db --reason "json" --ttl 5m --json
G5=$(ctl grant list --active --json | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][0]["id"])')
expect "nhictl grant revoke --json ends it" 0 '"state":"revoked"' ctl grant revoke "$G5" --json

# Approval by an administrator; ENG joins the admin group, to show that
# an administrator still cannot approve their own grant.
groupadd "$TAG" && usermod -aG "$TAG" "$ENG" || bail_out "cannot create the admin group"
stop_nhid
printf '[broker]\nsocket = %s\nstate_dir = %s\nadmin_group = %s\n\n[policy]\n%s\n' \
	"$SOCK" "$STATE" "$TAG" "grant_ttl_max = 30m
grant_approval = admin" >"$CONF"
start_nhid
out=$(elevate "$ENG" --role ops --reason "deploy" 2>&1)
check "with grant_approval = admin the grant awaits approval" \
	grep -Eq '^grant [0-9]+: role ops awaits approval' <<<"$out"
G3=$(grant_id "$out")
sudo_fails "a pending grant does not work"
expect "the requester cannot approve their own grant, even as an admin" 1 \
	"another administrator must decide" runuser -u "$ENG" -- "$NHICTL" -c "$CONF" grant approve "$G3"
sudo_fails "a self-approval attempt changes nothing"
expect "nhictl grant approve makes it active" 0 "state: +active" ctl grant approve "$G3"
sudo_ok "an approved grant works"
# sudo sets PAM_RUSER to the invoking user: that is whose grant counts,
# whatever PAM_USER (the account whose password sudo would ask for) is.
expect "pamtester: PAM_RUSER with a grant authenticates for PAM_USER root" 0 "successfully" \
	pamtester -I "ruser=$ENG" "$SVC" root authenticate
expect "pamtester: PAM_RUSER without a grant fails though PAM_USER has one" 1 "failure" \
	pamtester -I "ruser=$STRANGER" "$SVC" "$ENG" authenticate
expect "an approved grant cannot be approved again" 1 "is active, not pending" \
	ctl grant approve "$G3"

out=$(elevate "$ENG" --role db --reason "schema change" 2>&1)
G4=$(grant_id "$out")
expect "nhictl grant deny refuses a pending grant" 0 "state: +denied" ctl grant deny "$G4"
expect "a denied grant cannot be approved" 1 "is denied, not pending" ctl grant approve "$G4"
use_service "$SVC_DB"
sudo_fails "a denied grant never works (role=db)"
use_service "$SVC"

json_check "the audit trail holds request, approve, deny, revoke and use" \
	"{'request','approve','deny','revoke','use'} <= {json.loads(r['detail'])['event'] if isinstance(r['detail'], str) else r['detail']['event'] for r in rows if r['type'] == 'elevate'}" \
	ctl audit export --json

stop_nhid
sudo_fails "the broker stopped: sudo -n fails although a grant is active"

# A broker that accepts and never answers: pam_nhi gives up after
# timeout_ms and sudo falls through to pam_deny.
HUNG=$NHI_TMP/hung.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
s.setblocking(True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$HUNG" &
HUNG_PID=$!
for i in $(seq 1 50); do [ -S "$HUNG" ] && break; sleep 0.1; done
chmod 0666 "$HUNG"
service SVC_HUNG "socket=$HUNG timeout_ms=500"
use_service "$SVC_HUNG"
sudo_fails "a hung broker: sudo -n falls through after timeout_ms"
