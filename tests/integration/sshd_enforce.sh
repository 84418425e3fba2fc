#!/usr/bin/env bash
# Static keys under keys_mode = enforce, against a real sshd with
# RevokedKeys pointing at the broker's KRL: a key sshd asks about is taken
# out of its file (the rest kept byte for byte, a backup kept), put in the
# KRL and refused, also once it is put back; an exception lets it in until
# it ends; nhictl keys retire/restore; symlinked files are never written.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 36

HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
[ -x "$HELPER_BUILT" ] || bail_out "not built: $HELPER_BUILT"
helper_user_ensure

# Observe first, as an installation starts; enforce comes after a restart.
broker_setup "$(printf '[sshd]\nhelper_timeout_ms = 3000')"
start_nhid
KRL=$STATE/revoked.krl
[ -f "$KRL" ] || bail_out "nhid wrote no KRL"

install_helpers "$HELPER_BUILT"
HELPER=$LIBEXEC/nhi-authorized-keys
start_sshd "AuthorizedKeysCommand $HELPER -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi" "RevokedKeys $KRL"

home_of() { getent passwd "$1" | cut -d: -f6; }
fp_of() { "$SSH_KEYGEN" -lf "$1" | awk '{print $2}'; }
key_file_of() { echo "$(home_of "$1")/.ssh/authorized_keys"; }

user_key_file()
{
	local user=$1 src=$2 home
	home=$(home_of "$user")
	install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
	install -m 0600 -o "$user" -g "$user" "$src" "$home/.ssh/authorized_keys"
}

login_works()
{
	local desc=$1 user=$2 key=$3
	if ssh_as "$user" -i "$key" -- id -un && [ "$NHI_SSH_OUT" = "$user" ]; then
		pass "$desc"
	else
		fail "$desc" "$NHI_SSH_OUT"
	fi
}

login_refused()
{
	local desc=$1 user=$2 key=$3
	if ssh_as "$user" -i "$key" -- id -un; then
		fail "$desc" "login succeeded: $NHI_SSH_OUT"
	elif sshd_log_since_mark | grep -q "Accepted publickey"; then
		fail "$desc" "sshd accepted a key"
	else
		pass "$desc"
	fi
}

krl_has()
{
	"$SSH_KEYGEN" -Q -f "$KRL" "$1" 2>&1 | grep -q 'REVOKED'
}

# ---- observe: three accounts' keys are seen and inventoried
ALICE=$(make_user) || bail_out "cannot create a user"
AKEY=$(make_user_key alice) || bail_out "cannot create a key"
AOTHER=$(make_user_key alice-other) || bail_out "cannot create a key"
{
	echo "# alice's keys"
	cat "$AOTHER.pub"
	printf 'no-pty,from="127.0.0.1" %s\n' "$(cat "$AKEY.pub")"
	printf '   not a key, kept as it is\r\n'
	printf '\n'
	printf 'command="/bin/true" %s  trailing\n' "$(awk '{print $1, $2}' "$AOTHER.pub")"
} >"$NHI_TMP/alice_keys"
user_key_file "$ALICE" "$NHI_TMP/alice_keys"
chmod 0640 "$(key_file_of "$ALICE")"
AFP=$(fp_of "$AKEY.pub")

BOB=$(make_user) || bail_out "cannot create a user"
BKEY=$(make_user_key bob) || bail_out "cannot create a key"
user_key_file "$BOB" "$BKEY.pub"
BFP=$(fp_of "$BKEY.pub")

CAROL=$(make_user) || bail_out "cannot create a user"
CKEY=$(make_user_key carol) || bail_out "cannot create a key"
COTHER=$(make_user_key carol-other) || bail_out "cannot create a key"
cat "$COTHER.pub" "$CKEY.pub" >"$NHI_TMP/carol_keys"
echo "# last line" >>"$NHI_TMP/carol_keys"
user_key_file "$CAROL" "$NHI_TMP/carol_keys"
cp -p "$(key_file_of "$CAROL")" "$NHI_TMP/carol_keys.orig"
CFP=$(fp_of "$CKEY.pub")

login_works "observe: alice's static key logs in" "$ALICE" "$AKEY"
login_works "observe: bob's static key logs in" "$BOB" "$BKEY"
login_works "observe: carol's static key logs in" "$CAROL" "$CKEY"

# ---- enforce
stop_nhid
printf 'keys_mode = enforce\n' >>"$CONF"
start_nhid

login_refused "enforce: alice's key is refused" "$ALICE" "$AKEY"
AFILE=$(key_file_of "$ALICE")
if ! grep -qF "$(awk '{print $2}' "$AKEY.pub")" "$AFILE"; then
	pass "enforce: the key's line is gone from the file"
else
	fail "enforce: the key's line is gone from the file" "$(cat "$AFILE")"
fi
BACKUP=$(ls "$STATE/retired/$ALICE".SHA256_* 2>/dev/null | head -n 1)
if [ -n "$BACKUP" ] && cmp -s "$BACKUP" "$NHI_TMP/alice_keys" &&
	[ "$(stat -c '%u %a' "$BACKUP")" = "0 600" ] &&
	[ "$(stat -c '%u %a' "$STATE/retired")" = "0 700" ]; then
	pass "enforce: the original file is backed up, root-only"
else
	fail "enforce: the original file is backed up, root-only" \
		"$(ls -la "$STATE/retired" 2>&1)"
fi
if grep -vF "$(awk '{print $2}' "$AKEY.pub")" "$NHI_TMP/alice_keys" | cmp -s - "$AFILE"; then
	pass "enforce: every other line is kept byte for byte"
else
	fail "enforce: every other line is kept byte for byte" "$(od -c "$AFILE" | head -20)"
fi
if [ "$(stat -c '%U:%G %a' "$AFILE")" = "$ALICE:$ALICE 640" ]; then
	pass "enforce: the file keeps its owner, group and mode"
else
	fail "enforce: the file keeps its owner, group and mode" "$(stat -c '%U:%G %a' "$AFILE")"
fi
if krl_has "$AKEY.pub" && ! krl_has "$AOTHER.pub"; then
	pass "enforce: ssh-keygen -Q finds the retired key, only it, in the KRL"
else
	fail "enforce: ssh-keygen -Q finds the retired key, only it, in the KRL" \
		"$("$SSH_KEYGEN" -Q -f "$KRL" "$AKEY.pub" "$AOTHER.pub" 2>&1)"
fi
json_check "enforce: the inventory says retired" \
	"any(r['fingerprint'] == '$AFP' and r['state'] == 'retired' for r in rows)" \
	ctl keys list --account "$ALICE" --json
expect "enforce: the retirement is audited" 0 "retire .*${AFP//+/.}.*retired" ctl audit export

# Put back by the user: sshd refuses it through the KRL before asking.
cat "$AKEY.pub" >>"$AFILE"
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$ALICE" "$(id -u "$ALICE")" "$AFP" ssh-ed25519 \
	"$(awk '{print $2}' "$AKEY.pub")")
if [ -z "$out" ]; then pass "enforce: the helper never prints a retired key"
else fail "enforce: the helper never prints a retired key" "$out"; fi
cat "$AKEY.pub" >>"$AFILE"
login_refused "enforce: a retired key put back is still refused" "$ALICE" "$AKEY"
if sshd_log_since_mark | grep -qi "revoked"; then
	pass "enforce: sshd refuses it as revoked by the KRL"
else
	fail "enforce: sshd refuses it as revoked by the KRL" "$(sshd_log_since_mark | tail -5)"
fi

# ---- an exception keeps bob's key until it ends
UNTIL=$(date -u -d '+25 seconds' +%Y-%m-%dT%H:%M:%SZ)
expect "except without --reason is a usage error" 2 "required" \
	ctl keys except "$BFP" --owner ops --until "$UNTIL"
expect "except with a bad date is a usage error" 2 "invalid date" \
	ctl keys except "$BFP" --owner ops --reason r --until tomorrow
expect "except in the past is refused" 1 "future" \
	ctl keys except "$BFP" --owner ops --reason r --until 2001-01-01
expect "except keeps the key" 0 "excepted" \
	ctl keys except "$BFP" --owner ops --reason "legacy backup job" --until "$UNTIL"
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$BOB" "$(id -u "$BOB")" "$BFP" ssh-ed25519 \
	"$(awk '{print $2}' "$BKEY.pub")")
if grep -q "^expiry-time=\"$(date -u -d "$UNTIL" +%Y%m%d%H%M%S)Z\" " <<<"$out"; then
	pass "except: the line carries expiry-time at the exception's end"
else
	fail "except: the line carries expiry-time at the exception's end" "$out"
fi
login_works "except: the key logs in while the exception runs" "$BOB" "$BKEY"
json_check "except: keys show has the owner, reason and end" \
	"rows[0]['state'] == 'excepted' and rows[0]['exception_owner'] == 'ops' and
	 rows[0]['exception_reason'] == 'legacy backup job' and
	 rows[0]['exception_until'] == $(date -u -d "$UNTIL" +%s)" \
	ctl keys show "$BFP" --json
expect "except: the exception is audited with owner and reason" 0 \
	"retire .*${BFP//+/.}.*excepted.*legacy backup job" ctl audit export
while [ "$(date +%s)" -le "$(date -u -d "$UNTIL" +%s)" ]; do sleep 1; done
login_refused "except: after it ends the key is refused" "$BOB" "$BKEY"
if [ ! -s "$(key_file_of "$BOB")" ] && krl_has "$BKEY.pub"; then
	pass "except: after it ends the key is retired"
else
	fail "except: after it ends the key is retired" "$(cat "$(key_file_of "$BOB")")"
fi

# ---- nhictl keys retire / restore
expect "keys retire takes the key out" 0 "retired" ctl keys retire "$CFP"
if ! grep -qF "$(awk '{print $2}' "$CKEY.pub")" "$(key_file_of "$CAROL")" &&
	krl_has "$CKEY.pub"; then
	pass "keys retire: out of the file and in the KRL"
else
	fail "keys retire: out of the file and in the KRL" "$(cat "$(key_file_of "$CAROL")")"
fi
expect "keys restore puts it back" 0 "observed" ctl keys restore "$CFP"
if grep -qxF "$(cat "$CKEY.pub")" "$(key_file_of "$CAROL")" && ! krl_has "$CKEY.pub" &&
	[ "$(stat -c '%U %a' "$(key_file_of "$CAROL")")" = "$CAROL 600" ]; then
	pass "keys restore: the line is back, as carol's file, and out of the KRL"
else
	fail "keys restore: the line is back, as carol's file, and out of the KRL" \
		"$(cat "$(key_file_of "$CAROL")")"
fi
# A retired key gets an exception: out of the KRL, its line back by restore.
expect "except on a retired key" 0 "excepted" ctl keys except "$AFP" --owner ops \
	--reason "migration pending" --until "$(date -u -d '+1 hour' +%Y-%m-%d)T23:59:59Z"
if ! krl_has "$AKEY.pub"; then pass "except: a retired key leaves the KRL"
else fail "except: a retired key leaves the KRL"; fi
expect "keys restore brings an excepted key's line back" 0 "excepted" ctl keys restore "$AFP"
login_works "except + restore: the once retired key logs in again" "$ALICE" "$AKEY"
expect "keys retire of an unknown key fails" 1 "no static key" \
	ctl keys retire "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

# ---- symlinks are never written
DAVE=$(make_user) || bail_out "cannot create a user"
DKEY=$(make_user_key dave) || bail_out "cannot create a key"
install -d -m 0700 -o "$DAVE" -g "$DAVE" "$(home_of "$DAVE")/.ssh" "$(home_of "$DAVE")/real"
install -m 0600 -o "$DAVE" -g "$DAVE" "$DKEY.pub" "$(home_of "$DAVE")/real/keys"
ln -s "$(home_of "$DAVE")/real/keys" "$(key_file_of "$DAVE")"
chown -h "$DAVE:$DAVE" "$(key_file_of "$DAVE")"
ERIN=$(make_user) || bail_out "cannot create a user"
install -d -m 0700 -o "$ERIN" -g "$ERIN" "$(home_of "$ERIN")/real"
install -m 0600 -o "$ERIN" -g "$ERIN" "$DKEY.pub" "$(home_of "$ERIN")/real/authorized_keys"
ln -s "$(home_of "$ERIN")/real" "$(home_of "$ERIN")/.ssh"
login_refused "enforce: a symlinked authorized_keys is not used" "$DAVE" "$DKEY"
login_refused "enforce: a symlinked .ssh is not used" "$ERIN" "$DKEY"
if cmp -s "$DKEY.pub" "$(home_of "$DAVE")/real/keys" &&
	cmp -s "$DKEY.pub" "$(home_of "$ERIN")/real/authorized_keys" &&
	[ -L "$(key_file_of "$DAVE")" ] && ! krl_has "$DKEY.pub"; then
	pass "enforce: files behind symlinks are not written, the key not retired"
else
	fail "enforce: files behind symlinks are not written, the key not retired"
fi
