#!/usr/bin/env bash
# Static keys through nhid: a real sshd asks nhi-authorized-keys, which asks
# the broker; the broker reads the user's authorized_keys itself, records
# every key, and in observe mode answers the matching line. Symlinked files
# or .ssh directories and oversized files are skipped and audited; with the
# broker stopped or stuck, key logins are refused within the timeout and
# sshd keeps serving.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 30

HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
[ -x "$HELPER_BUILT" ] || bail_out "not built: $HELPER_BUILT"
helper_user_ensure

broker_setup "$(printf '[sshd]\nhelper_timeout_ms = 1500')"
start_nhid

install_helpers "$HELPER_BUILT"
HELPER=$LIBEXEC/nhi-authorized-keys

start_sshd "AuthorizedKeysCommand $HELPER -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi"

# user_key_file USER PUBKEY: ~USER/.ssh/authorized_keys holding PUBKEY, as
# the user would write it.
user_key_file()
{
	local user=$1 pub=$2 home
	home=$(getent passwd "$user" | cut -d: -f6)
	install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
	install -m 0600 -o "$user" -g "$user" "$pub" "$home/.ssh/authorized_keys"
}

home_of()
{
	getent passwd "$1" | cut -d: -f6
}

fp_of()
{
	"$SSH_KEYGEN" -lf "$1" | awk '{print $2}'
}

# login_refused DESC USER KEY: no login, and sshd accepted nothing.
login_refused()
{
	local desc=$1 user=$2 key=$3
	if ssh_as "$user" -i "$key" -- id -un; then
		fail "$desc" "login succeeded: $NHI_SSH_OUT"
	elif sshd_log_since_mark | grep -q "Accepted publickey"; then
		fail "$desc" "sshd accepted a key"
	elif ! grep -q "Permission denied" <<<"$NHI_SSH_OUT"; then
		fail "$desc" "not refused by sshd: $NHI_SSH_OUT"
	else
		pass "$desc"
	fi
}

# ---- observe: a key in authorized_keys logs in and is inventoried
ALICE=$(make_user) || bail_out "cannot create a user"
AKEY=$(make_user_key alice) || bail_out "cannot create a key"
{
	echo "# a comment line"
	echo 'no-pty,from="127.0.0.1" '"$(cat "$AKEY.pub")"
} >"$NHI_TMP/alice_keys"
user_key_file "$ALICE" "$NHI_TMP/alice_keys"
AFP=$(fp_of "$AKEY.pub")

if ssh_as "$ALICE" -i "$AKEY" -- id -un && [ "$NHI_SSH_OUT" = "$ALICE" ]; then
	pass "observe: a key in authorized_keys logs in through the broker"
else
	fail "observe: a key in authorized_keys logs in through the broker" "$NHI_SSH_OUT"
fi
json_check "keys list --json shows the key with its file, line and options" \
	"any(r['fingerprint'] == '$AFP' and r['account'] == '$ALICE' and
	     r['path'] == '$(home_of "$ALICE")/.ssh/authorized_keys' and r['line'] == 2 and
	     r['options'] == 'no-pty,from=\"127.0.0.1\"' and r['state'] == 'observed' and
	     r['weak'] is False for r in rows)" \
	ctl keys list --account "$ALICE" --json
expect "keys show FINGERPRINT names the account" 0 "$ALICE" ctl keys show "$AFP"
expect "keys show of an unknown key fails" 1 "no static key" \
	ctl keys show "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect "keys without a subcommand is a usage error" 2 "usage: nhictl keys" ctl keys
expect "keys show without a fingerprint is a usage error" 2 "missing FINGERPRINT" ctl keys show
expect "keys list refuses an invalid account name" 1 "invalid account name" \
	ctl keys list --account '../x'
expect "the discovery is audited" 0 "discover .*$ALICE" ctl audit export
if [ "$(ctl audit export | grep -c "discover .*$AFP")" -eq 1 ]; then
	pass "a key is audited once, when first seen"
else
	fail "a key is audited once, when first seen" "$(ctl audit export)"
fi

# ---- the helper itself
APUB_B64=$(awk '{print $2}' "$AKEY.pub")
AUID=$(id -u "$ALICE")
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$ALICE" "$AUID" "$AFP" ssh-ed25519 "$APUB_B64")
if [ $? -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^no-pty" <<<"$out" &&
	grep -q "$APUB_B64" <<<"$out"; then
	pass "the helper prints the one matching line, options kept"
else
	fail "the helper prints the one matching line, options kept" "$out"
fi
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "../$ALICE" "$AUID" "$AFP" ssh-ed25519 "$APUB_B64")
rc=$?
if [ $rc -eq 1 ] && [ -z "$out" ]; then pass "the helper refuses an invalid account name"
else fail "the helper refuses an invalid account name" "exit $rc: $out"; fi
OTHER_FP=$(fp_of "$NHI_TMP/host_ed25519.pub")
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$ALICE" "$AUID" "$OTHER_FP" ssh-ed25519 "$APUB_B64")
rc=$?
if [ $rc -eq 1 ] && [ -z "$out" ]; then pass "the helper refuses a fingerprint not of the key"
else fail "the helper refuses a fingerprint not of the key" "exit $rc: $out"; fi
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$ALICE" "$((AUID + 1))" "$AFP" ssh-ed25519 \
	"$APUB_B64")
if [ -z "$out" ]; then pass "the broker answers nothing for a uid not of the account"
else fail "the broker answers nothing for a uid not of the account" "$out"; fi
# Only the helper user (or an admin) may ask: another user gets nothing.
out=$(runuser -u "$ALICE" -- "$HELPER" -c "$CONF" "$ALICE" "$AUID" "$AFP" ssh-ed25519 \
	"$APUB_B64")
if [ -z "$out" ]; then pass "a user other than the helper user gets no keys"
else fail "a user other than the helper user gets no keys" "$out"; fi

# ---- hostile files
# Bob's authorized_keys is a symlink to Alice's file: not followed.
BOB=$(make_user) || bail_out "cannot create a user"
install -d -m 0700 -o "$BOB" -g "$BOB" "$(home_of "$BOB")/.ssh"
ln -s "$(home_of "$ALICE")/.ssh/authorized_keys" "$(home_of "$BOB")/.ssh/authorized_keys"
chown -h "$BOB:$BOB" "$(home_of "$BOB")/.ssh/authorized_keys"
login_refused "a symlinked authorized_keys is not followed" "$BOB" "$AKEY"
expect "the symlink is audited as skipped" 0 \
	"discover .*$BOB.*symlink" ctl audit export

# Carol's .ssh is a symlink to Alice's .ssh.
CAROL=$(make_user) || bail_out "cannot create a user"
ln -s "$(home_of "$ALICE")/.ssh" "$(home_of "$CAROL")/.ssh"
login_refused "a symlinked .ssh directory is not followed" "$CAROL" "$AKEY"

# Dave's file is 2 MB, his key on its first line.
DAVE=$(make_user) || bail_out "cannot create a user"
DKEY=$(make_user_key dave) || bail_out "cannot create a key"
{
	cat "$DKEY.pub"
	head -c 2097152 /dev/zero | tr '\0' '#' | fold -w 1000
} >"$NHI_TMP/dave_keys"
user_key_file "$DAVE" "$NHI_TMP/dave_keys"
login_refused "a 2 MB authorized_keys is skipped" "$DAVE" "$DKEY"
expect "the oversized file is audited as skipped" 0 \
	"discover .*$DAVE.*too large" ctl audit export
expect "nothing of the skipped files is inventoried" 0 '^$' \
	bash -c "'$NHICTL' -c '$CONF' keys list --json | grep -E '$BOB|$CAROL|$DAVE' || true"

# Erin's file holds a NUL byte: binary, skipped whole.
ERIN=$(make_user) || bail_out "cannot create a user"
EKEY=$(make_user_key erin) || bail_out "cannot create a key"
{
	cat "$EKEY.pub"
	printf 'garbage\0garbage\n'
} >"$NHI_TMP/erin_keys"
user_key_file "$ERIN" "$NHI_TMP/erin_keys"
login_refused "a file with binary data is skipped" "$ERIN" "$EKEY"
expect "the binary file is audited as skipped" 0 "discover .*$ERIN.*binary" ctl audit export

# Frank's file: an overlong line and an unterminated quote before his key;
# only the bad lines are skipped.
FRANK=$(make_user) || bail_out "cannot create a user"
FKEY=$(make_user_key frank) || bail_out "cannot create a key"
{
	printf 'ssh-ed25519 %s\n' "$(head -c 20000 /dev/zero | tr '\0' A)"
	echo 'command="echo unterminated '"$(cat "$FKEY.pub")"
	cat "$FKEY.pub"
} >"$NHI_TMP/frank_keys"
user_key_file "$FRANK" "$NHI_TMP/frank_keys"
if ssh_as "$FRANK" -i "$FKEY" -- id -un && [ "$NHI_SSH_OUT" = "$FRANK" ]; then
	pass "bad lines are skipped, a good line after them works"
else
	fail "bad lines are skipped, a good line after them works" "$NHI_SSH_OUT"
fi
json_check "only the good line is inventoried" \
	"len(rows) == 1 and rows[0]['line'] == 3 and rows[0].get('options') is None" \
	ctl keys list --account "$FRANK" --json
expect "the overlong line is audited" 0 "discover .*$FRANK.*\"line\":1.*too long" \
	ctl audit export

# ---- broker down
# Stuck (SIGSTOP): the helper gives up after helper_timeout_ms.
kill -STOP "$NHID_PID"
start=$(date +%s)
login_refused "with nhid stuck, a key login is refused" "$ALICE" "$AKEY"
elapsed=$(($(date +%s) - start))
kill -CONT "$NHID_PID"
if [ "$elapsed" -le 10 ]; then pass "refused within the timeout (${elapsed}s)"
else fail "refused within the timeout" "took ${elapsed}s"; fi
stop_nhid
login_refused "with nhid stopped, sshd still serves and refuses the key" "$ALICE" "$AKEY"

# ---- keys_grace: the line gets an expiry-time of first sight + grace
echo 'keys_grace = 1h' >>"$CONF"
start_nhid
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$ALICE" "$AUID" "$AFP" ssh-ed25519 "$APUB_B64")
# first seen at the first login above, so the deadline is about an hour from now
if python3 -c '
import calendar, re, sys, time
m = re.search(r"(^|,)expiry-time=\"(\d{14})Z\"[, ]", sys.argv[1])
t = calendar.timegm(time.strptime(m.group(2), "%Y%m%d%H%M%S"))
opts = sys.argv[1].split(" ")[0].split(",")
sys.exit(0 if "no-pty" in opts and 0 <= time.time() + 3600 - t <= 600 else 1)
' "$out" 2>/dev/null; then
	pass "keys_grace adds an expiry-time to the line"
else
	fail "keys_grace adds an expiry-time to the line" "$out"
fi
if ssh_as "$ALICE" -i "$AKEY" -- id -un && [ "$NHI_SSH_OUT" = "$ALICE" ]; then
	pass "within the grace the key still logs in"
else
	fail "within the grace the key still logs in" "$NHI_SSH_OUT"
fi
