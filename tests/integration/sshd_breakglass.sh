#!/usr/bin/env bash
# Break-glass over a real sshd with the broker stopped: keyboard-interactive
# through PAM, ssh answering pam_nhi's code and reason prompts through
# SSH_ASKPASS. A code works once, with a reason; when nhid starts again it
# appends the spooled use to its audit chain, which verifies. sshd's PAM service is "sshd", so sshd runs in a private
# mount namespace with the test's stack bind-mounted on /etc/pam.d/sshd;
# the host's file is never touched. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v unshare >/dev/null || bail_out "unshare is needed"
[ -f /etc/pam.d/sshd ] || bail_out "/etc/pam.d/sshd is needed as a mount point"
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
[ -f "$PAM_SO" ] || bail_out "not built: $PAM_SO"
plan 10

broker_setup
CODES=$NHI_TMP/breakglass.codes
SPOOL=$STATE/breakglass-spool
install -d -m 0755 "$STATE"
ONCALL=$(make_user) || bail_out "cannot create a test user"

printf '%s\n' \
	"auth required $PAM_SO breakglass codes=$CODES spool=$SPOOL" \
	'account required pam_permit.so' \
	'session required pam_permit.so' >"$NHI_TMP/pam.sshd"
# sshd in its own mount namespace, seeing the test's PAM stack.
cat >"$NHI_TMP/sshd-ns" <<EOF2
#!/bin/sh
exec unshare -m --propagation private sh -c \
	'mount --bind "\$0" /etc/pam.d/sshd && exec /usr/sbin/sshd "\$@"' "$NHI_TMP/pam.sshd" "\$@"
EOF2
chmod 0755 "$NHI_TMP/sshd-ns"
SSHD=$NHI_TMP/sshd-ns

# The broker has run on this host and is stopped before the codes are used.
start_nhid
stop_nhid
check "nhid is stopped: its socket does not answer" bash -c '! "$1" -c "$2" status' _ "$NHI" "$CONF"

"$NHICTL" breakglass init --account "$ONCALL" --codes 2 --file "$CODES" --spool "$SPOOL" \
	--json >"$NHI_TMP/codes.json" || bail_out "nhictl breakglass init failed"
mapfile -t CODE < <(python3 -c 'import json,sys; [print(json.loads(l)["code"]) for l in sys.stdin]' \
	<"$NHI_TMP/codes.json")

start_sshd "UsePAM yes" "KbdInteractiveAuthentication yes" \
	"AuthenticationMethods keyboard-interactive" "PubkeyAuthentication no"

# bg_ssh CODE REASON: ssh with keyboard-interactive only; the askpass
# program answers by prompt text. Output in $NHI_SSH_OUT.
bg_ssh()
{
	cat >"$NHI_TMP/askpass" <<EOF2
#!/bin/sh
case "\$1" in
*code*) printf '%s\n' '$1' ;;
*Reason*) printf '%s\n' '$2' ;;
*) exit 1 ;;
esac
EOF2
	chmod 0755 "$NHI_TMP/askpass"
	NHI_SSH_OUT=$(SSH_AUTH_SOCK= SSH_ASKPASS="$NHI_TMP/askpass" SSH_ASKPASS_REQUIRE=force \
		DISPLAY= timeout 60 setsid -w ssh -F /dev/null \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o PreferredAuthentications=keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=5 -o LogLevel=ERROR \
		-p "$NHI_SSHD_PORT" -l "$ONCALL" 127.0.0.1 'echo bg-shell-ok' 2>&1 </dev/null)
}

bg_ssh "${CODE[0]}" "INC-7: broker unreachable"
if grep -q '^bg-shell-ok$' <<<"$NHI_SSH_OUT"; then
	pass "ssh with a valid code and a reason logs in (broker down)"
else
	fail "ssh with a valid code and a reason logs in (broker down)" "$NHI_SSH_OUT"
fi
bg_ssh "${CODE[0]}" "again"
check "ssh with the same code again is refused" \
	bash -c '! grep -q bg-shell-ok <<<"$1"' _ "$NHI_SSH_OUT"
bg_ssh "${CODE[1]}" ""
check "ssh with a valid code and no reason is refused" \
	bash -c '! grep -q bg-shell-ok <<<"$1"' _ "$NHI_SSH_OUT"
check "the code file marks one code used, one unused" \
	test "$(grep -c ' used:[0-9]*$' "$CODES") $(grep -c ' unused$' "$CODES")" = "1 1"
rec=$(grep -rl '^reason=INC-7: broker unreachable$' "$SPOOL")
check "the login was spooled with service sshd and the reason" grep -q '^service=sshd$' $rec

# --- the broker back: the spooled records go into the verified chain
start_nhid
json_check "after nhid restarts, the break-glass use is in the audit chain" \
	"len([r for r in rows if r.get('type') == 'breakglass' and r.get('subject') == '$ONCALL'
	      and r['detail'].get('event') == 'use' and r['detail'].get('service') == 'sshd'
	      and r['detail'].get('reason') == 'INC-7: broker unreachable']) == 1" \
	ctl audit export --json
json_check "... and so is the issue of the codes" \
	"any(r.get('type') == 'breakglass' and r.get('subject') == '$ONCALL'
	     and r['detail'].get('event') == 'init' for r in rows)" ctl audit export --json
check "nhictl audit verify: the chain holds" ctl audit verify
check "the spool is empty once its records are in the chain" \
	bash -c '[ -z "$(ls -A "$1")" ]' _ "$SPOOL"
