#!/usr/bin/env bash
# nhictl discover: the static keys of every account, found by the broker,
# counted and listed; a symlinked authorized_keys is skipped and reported;
# --enforce retires every key but an excepted one (other lines byte for
# byte, a backup kept, the key in the KRL). --enforce is only ever run with
# --account here: other tests' accounts live on the same host.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 29

# Key files: the home one and a system path per account, as sshd's
# AuthorizedKeysFile would name them.
SYSKEYS=$NHI_TMP/syskeys
broker_setup "$(printf '[sshd]\nkey_files = %%h/.ssh/authorized_keys, %s/%%u' "$SYSKEYS")"
start_nhid
KRL=$STATE/revoked.krl
mkdir -m 0755 "$SYSKEYS"

home_of() { getent passwd "$1" | cut -d: -f6; }
fp_of() { "$SSH_KEYGEN" -lf "$1" | awk '{print $2}'; }
krl_has() { "$SSH_KEYGEN" -Q -f "$KRL" "$1" 2>&1 | grep -q 'REVOKED'; }

user_key_file()
{
	local user=$1 src=$2 home
	home=$(home_of "$user")
	install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
	install -m 0600 -o "$user" -g "$user" "$src" "$home/.ssh/authorized_keys"
}

# alice: an ed25519 key and a weak rsa 1024 key among comments.
ALICE=$(make_user) || bail_out "cannot create a user"
AKEY=$(make_user_key alice) || bail_out "cannot create a key"
"$SSH_KEYGEN" -q -t rsa -b 1024 -N '' -C alice-rsa -f "$NHI_TMP/private/alice-rsa" ||
	bail_out "cannot create an rsa key"
ARSA=$NHI_TMP/private/alice-rsa
{
	echo "# alice's keys"
	printf 'no-pty %s\n' "$(cat "$AKEY.pub")"
	printf '  not a key, kept as it is\r\n'
	cat "$ARSA.pub"
	echo "# last line"
} >"$NHI_TMP/alice_keys"
user_key_file "$ALICE" "$NHI_TMP/alice_keys"
AFILE=$(home_of "$ALICE")/.ssh/authorized_keys
AFP=$(fp_of "$AKEY.pub")
RFP=$(fp_of "$ARSA.pub")

# bob: authorized_keys is a symlink to /etc/shadow.
BOB=$(make_user) || bail_out "cannot create a user"
install -d -m 0700 -o "$BOB" -g "$BOB" "$(home_of "$BOB")/.ssh"
ln -s /etc/shadow "$(home_of "$BOB")/.ssh/authorized_keys"
chown -h "$BOB:$BOB" "$(home_of "$BOB")/.ssh/authorized_keys"

# carol: one key in the system path, to be excepted.
CAROL=$(make_user) || bail_out "cannot create a user"
CKEY=$(make_user_key carol) || bail_out "cannot create a key"
install -m 0644 "$CKEY.pub" "$SYSKEYS/$CAROL"
CFP=$(fp_of "$CKEY.pub")

# ---- observe: every account
json_check "discover: every account, alice's and carol's keys in the rows" \
	"any(r.get('kind') == 'key' and r['account'] == '$ALICE' and r['fingerprint'] == '$AFP'
	     and r['line'] == 2 and r['type'] == 'ssh-ed25519' and r['status'] == 'observed'
	     for r in rows) and
	 any(r.get('kind') == 'key' and r['account'] == '$CAROL' and r['fingerprint'] == '$CFP'
	     and r['file'] == '$SYSKEYS/$CAROL' for r in rows) and
	 rows[-1]['kind'] == 'summary' and rows[-1]['accounts'] >= 3" \
	ctl discover --json
json_check "discover --account: alice's summary counts 2 keys, 1 weak, by type, 1 bad line" \
	"rows[-1] == {'kind': 'summary', 'accounts': 1, 'accounts_failed': 0, 'keys': 2,
	              'types': {'ssh-ed25519': 1, 'ssh-rsa': 1}, 'weak': 1, 'retired': 0,
	              'excepted': 0, 'skipped': 1} and
	 [(r['line'], r['reason']) for r in rows if r['kind'] == 'skipped'] == [(3, 'unknown option')] and
	 [r['bits'] for r in rows if r['kind'] == 'key' and r['fingerprint'] == '$RFP'] == [1024] and
	 [r['weak'] for r in rows if r['kind'] == 'key'] == [False, True] and
	 [r['comment'] for r in rows if r['kind'] == 'key'] == ['alice', 'alice-rsa'] and
	 all(r['account'] == '$ALICE' for r in rows[:-1])" \
	ctl discover --account "$ALICE" --json
json_check "discover: bob's symlink to /etc/shadow is skipped with the reason" \
	"[(r['kind'], r['reason']) for r in rows[:-1]] == [('skipped', 'the file is a symlink')] and
	 rows[-1]['skipped'] == 1 and rows[-1]['keys'] == 0" \
	ctl discover --account "$BOB" --json
if [ "$(readlink "$(home_of "$BOB")/.ssh/authorized_keys")" = /etc/shadow ] &&
	[ -z "$(ctl keys list --account "$BOB" --json)" ]; then
	pass "discover: nothing behind bob's symlink is read or changed"
else
	fail "discover: nothing behind bob's symlink is read or changed"
fi
expect "discover: the skipped file is audited" 0 "discover .*skipped.*symlink" ctl audit export
# One record for alice's file names both new keys by line and fingerprint
# (the weak one's line too), and no other record names her ed25519 key.
json_check "discover: alice's new keys are one audit record, each by line and fingerprint" \
	"[r['detail'] for r in rows if r['type'] == 'discover' and r['subject'] == '$AFILE'
	      and r['detail']['what'] == 'keys'] ==
	     [{'what': 'keys', 'account': '$ALICE', 'path': '$AFILE', 'count': 2,
	       'keys': '2=$AFP 4=$RFP', 'weak': '4'}] and
	 sum('$AFP' in json.dumps(r) for r in rows) == 1" \
	ctl audit export --json
# dave: 13 new keys in one file, one more than a record lists.
DAVE=$(make_user) || bail_out "cannot create a user"
for i in $(seq 1 13); do
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C "dave-$i" -f "$NHI_TMP/private/dave-$i" ||
		bail_out "cannot create a key"
	cat "$NHI_TMP/private/dave-$i.pub"
done >"$NHI_TMP/dave_keys"
user_key_file "$DAVE" "$NHI_TMP/dave_keys"
DFPS=$(for i in $(seq 1 13); do fp_of "$NHI_TMP/private/dave-$i.pub"; done | tr '\n' ' ')
expect "discover: dave's 13 keys are found" 0 '"keys":13' ctl discover --account "$DAVE" --json
json_check "discover: dave's 13 new keys are two records, of 12 and 1, naming every one" \
	"[(r['detail']['count'], r['detail']['keys']) for r in rows if r['type'] == 'discover'
	  and r['detail'].get('account') == '$DAVE' and r['detail']['what'] == 'keys'] ==
	 [(12, ' '.join('%d=%s' % (i + 1, f) for i, f in enumerate('$DFPS'.split()[:12]))),
	  (1, '13=' + '$DFPS'.split()[12])]" \
	ctl audit export --json
expect "discover: the trail with the aggregated records verifies" 0 "" ctl audit verify
expect "discover: the table has a row per key and a summary" 0 \
	"$ALICE +$AFILE +4 +ssh-rsa +1024 .*yes +observed +alice-rsa.*keys: 2 \(ssh-ed25519 1, ssh-rsa 1\)" \
	bash -c "'$NHICTL' -c '$CONF' discover --account '$ALICE' | tr '\n' ' '"
expect "discover: an invalid account name is a usage error" 2 "invalid account name" \
	ctl discover --account '../etc'
expect "discover: an unknown account fails" 1 "no such account" \
	ctl discover --account nhit-nosuchuser
expect "discover: --help" 0 "usage: nhictl discover" ctl discover --help
out=$(runuser -u "$ALICE" -- "$NHICTL" -c "$CONF" discover 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q "permission denied" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]; then
	pass "discover: a non-admin is refused once, not per account"
else
	fail "discover: a non-admin is refused once, not per account" "exit $rc" "$out"
fi
# dave: 2000 lines, more rows than one reply holds; the counts stay whole.
DAVE=$(make_user) || bail_out "cannot create a user"
DKEY=$(make_user_key dave) || bail_out "cannot create a key"
for i in $(seq 1 2000); do cat "$DKEY.pub"; done >"$NHI_TMP/dave_keys"
user_key_file "$DAVE" "$NHI_TMP/dave_keys"
json_check "discover: a reply too big lists fewer rows, counts every key" \
	"rows[-1]['keys'] == 2000 and 0 < len(rows) - 1 < 2000" \
	bash -c "'$NHICTL' -c '$CONF' discover --account '$DAVE' --json 2>/dev/null"
expect "discover: says how many rows were not listed" 0 "rows not listed" \
	ctl discover --account "$DAVE" --json
json_check "discover: the inventory has the keys with file and line" \
	"sorted((r['fingerprint'], r['line']) for r in rows) == sorted([('$AFP', 2), ('$RFP', 4)])" \
	ctl keys list --account "$ALICE" --json
if grep -qF "$(awk '{print $2}' "$AKEY.pub")" "$AFILE" && ! krl_has "$AKEY.pub"; then
	pass "discover without --enforce changes nothing"
else
	fail "discover without --enforce changes nothing"
fi

# ---- enforce, account by account
expect "except carol's key" 0 "excepted" ctl keys except "$CFP" --owner ops \
	--reason "legacy job" --until "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
json_check "discover --enforce: alice's two keys are retired" \
	"[r['status'] for r in rows if r['kind'] == 'key'] == ['retired', 'retired'] and
	 rows[-1]['retired'] == 2" \
	ctl discover --account "$ALICE" --enforce --json
if grep -vF -e "$(awk '{print $2}' "$AKEY.pub")" -e "$(awk '{print $2}' "$ARSA.pub")" \
	"$NHI_TMP/alice_keys" | cmp -s - "$AFILE"; then
	pass "enforce: every other line is kept byte for byte"
else
	fail "enforce: every other line is kept byte for byte" "$(od -c "$AFILE" | head -20)"
fi
if [ "$(stat -c '%U:%G %a' "$AFILE")" = "$ALICE:$ALICE 600" ]; then
	pass "enforce: the file keeps its owner, group and mode"
else
	fail "enforce: the file keeps its owner, group and mode" "$(stat -c '%U:%G %a' "$AFILE")"
fi
# One backup per retired key: the first holds the original file.
backed_up=no
for b in "$STATE/retired/$ALICE".*; do
	cmp -s "$b" "$NHI_TMP/alice_keys" && backed_up=yes
done
if [ "$backed_up" = yes ]; then
	pass "enforce: the original file is backed up"
else
	fail "enforce: the original file is backed up" "$(ls -la "$STATE/retired" 2>&1)"
fi
if krl_has "$AKEY.pub" && krl_has "$ARSA.pub" && ! krl_has "$CKEY.pub"; then
	pass "enforce: ssh-keygen -Q finds both retired keys in the KRL, not carol's"
else
	fail "enforce: ssh-keygen -Q finds both retired keys in the KRL, not carol's" \
		"$("$SSH_KEYGEN" -Q -f "$KRL" "$AKEY.pub" "$ARSA.pub" "$CKEY.pub" 2>&1)"
fi
expect "enforce: the retirement is audited" 0 "retire .*${RFP//+/.}.*retired" ctl audit export
json_check "discover --enforce: carol's excepted key is kept" \
	"[r['status'] for r in rows if r['kind'] == 'key'] == ['excepted'] and
	 rows[-1]['excepted'] == 1 and rows[-1]['retired'] == 0" \
	ctl discover --account "$CAROL" --enforce --json
if cmp -s "$CKEY.pub" "$SYSKEYS/$CAROL"; then
	pass "enforce: the excepted key's file is untouched"
else
	fail "enforce: the excepted key's file is untouched" "$(cat "$SYSKEYS/$CAROL")"
fi
# A retired key whose line is put back is taken out again.
cat "$AKEY.pub" >>"$AFILE"
json_check "discover --enforce: a retired key put back is retired again" \
	"[r['status'] for r in rows if r['kind'] == 'key'] == ['retired']" \
	ctl discover --account "$ALICE" --enforce --json
if ! grep -qF "$(awk '{print $2}' "$AKEY.pub")" "$AFILE"; then
	pass "enforce: the line put back is gone again"
else
	fail "enforce: the line put back is gone again" "$(cat "$AFILE")"
fi
