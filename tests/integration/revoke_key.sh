#!/usr/bin/env bash
# nhictl revoke --key: the key itself goes into the broker's KRL, so that
# ssh-keygen -Q reports it revoked and a real sshd refuses a login with it
# from an authorized_keys file, while another key of the same account still
# works. The revocation lives in the store: a KRL rewritten after a restart
# still lists it. Needs root (sshd, throwaway users).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 14

broker_setup
start_nhid

USER1=$(make_user) || bail_out "cannot create a test user"
mkdir -p -m 0700 "$NHI_TMP/private"
KEY=$(make_user_key revoked) || bail_out "cannot make a key"
KEEP=$(make_user_key kept) || bail_out "cannot make a key"
LATER=$(make_user_key later) || bail_out "cannot make a key"
KRL=$STATE/revoked.krl
fp_of() { "$SSH_KEYGEN" -l -f "$1" | cut -d' ' -f2; }
FP=$(fp_of "$KEY.pub")
# Fingerprints may hold '+': quote them for the extended regexes below.
FP_RE=$(sed 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$FP")
ssh_user() { ssh_as "$USER1" -i "$1" -- id -un; }

# Both keys are plain authorized_keys entries: sshd reads them itself, so
# only RevokedKeys stands between the revoked key and a login.
install -d -m 0755 -o root -g root "$NHI_TMP/ak"
cat "$KEY.pub" "$KEEP.pub" >"$NHI_TMP/ak/$USER1"
chmod 0644 "$NHI_TMP/ak/$USER1"
start_sshd "RevokedKeys $KRL" "AuthorizedKeysFile $NHI_TMP/ak/%u"

if ssh_user "$KEY" && [ "$NHI_SSH_OUT" = "$USER1" ]; then
	pass "before revocation the key logs in"
else
	fail "before revocation the key logs in" "$NHI_SSH_OUT"
fi

expect "nhictl revoke --key names the revoked key" 0 "key $FP_RE revoked" \
	ctl revoke --key "$FP" --reason "laptop lost"

out=$("$SSH_KEYGEN" -Q -f "$KRL" "$KEY.pub" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "REVOKED" <<<"$out"; then
	pass "ssh-keygen -Q reports the key revoked by the broker's KRL"
else
	fail "ssh-keygen -Q reports the key revoked by the broker's KRL" "exit $rc" "$out"
fi
expect "ssh-keygen -Q: another key is not revoked" 0 ": ok$" \
	"$SSH_KEYGEN" -Q -f "$KRL" "$KEEP.pub"

if ssh_user "$KEY"; then
	fail "sshd refuses the revoked key" "login succeeded: $NHI_SSH_OUT"
elif ! sshd_log_has "ED25519 $FP_RE revoked by file"; then
	fail "sshd refuses the revoked key" "sshd did not log it as revoked" \
		"$(sshd_log_since_mark | tail -n 5)"
else
	pass "sshd refuses the revoked key: revoked by file"
fi
if ssh_user "$KEEP" && [ "$NHI_SSH_OUT" = "$USER1" ]; then
	pass "the account's other key still logs in"
else
	fail "the account's other key still logs in" "$NHI_SSH_OUT"
fi

expect "revoking the same key again says it already was" 0 "was already revoked" \
	ctl revoke --key "$FP"
json_check "--json reports the key revocation" \
	'len(rows) == 1 and rows[0]["revoked"] == 0 and rows[0]["key_revoked"] == "already"' \
	ctl revoke --key "$FP" --json
expect "a malformed fingerprint is refused, naming it" 1 "invalid key fingerprint 'SHA256:nope'" \
	ctl revoke --key "SHA256:nope"

json_check "the audit trail holds one key revocation with its reason" \
	'len([r for r in rows if r.get("type") == "revoke" and r.get("subject") == "'"$FP"'"]) == 1' \
	ctl audit export --json
expect "nhictl audit verify passes" 0 "" ctl audit verify

# The KRL is derived from the store: after a restart, rewriting it for
# another key keeps the first one.
stop_nhid
start_nhid
expect "another key is revoked after a restart" 0 "revoked" \
	ctl revoke --key "$(fp_of "$LATER.pub")"
if "$SSH_KEYGEN" -Q -f "$KRL" "$KEY.pub" >/dev/null 2>&1 ||
	"$SSH_KEYGEN" -Q -f "$KRL" "$LATER.pub" >/dev/null 2>&1; then
	fail "the rewritten KRL lists both revoked keys" "$("$SSH_KEYGEN" -Q -f "$KRL" "$KEY.pub" "$LATER.pub" 2>&1)"
else
	pass "the rewritten KRL lists both revoked keys"
fi
if ssh_user "$KEY"; then
	fail "sshd still refuses the revoked key after the restart" "$NHI_SSH_OUT"
else
	pass "sshd still refuses the revoked key after the restart"
fi
