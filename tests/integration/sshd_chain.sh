#!/usr/bin/env bash
# [sshd] chain_command: nhi-authorized-keys runs another AuthorizedKeysCommand
# (as a cloud instance-connect agent would be) with sshd's tokens, and its
# lines go through the broker's policy: in observe mode the chained key logs
# in and is inventoried; garbage and overlong lines are dropped; a hanging
# command is killed at the timeout and sshd keeps serving; enforce refuses a
# chained key unless excepted; with the broker down keys_broker_down decides.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 16

HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
[ -x "$HELPER_BUILT" ] || bail_out "not built: $HELPER_BUILT"
helper_user_ensure

# sshd and the helper run programs only from root-owned, non-writable dirs.
install_helpers "$HELPER_BUILT"
HELPER=$LIBEXEC/nhi-authorized-keys
CHAIN=$LIBEXEC/chained
CHAIN_DATA=$NHI_TMP/chain
mkdir -m 0755 "$CHAIN_DATA"
echo print >"$CHAIN_DATA/mode"
install -m 0666 /dev/null "$CHAIN_DATA/args"
install -m 0666 /dev/null "$CHAIN_DATA/pid"
cat >"$CHAIN" <<EOF
#!/bin/sh
# Prints the keys the test left for the user, or hangs.
echo "\$*" >>"$CHAIN_DATA/args"
case "\$(cat "$CHAIN_DATA/mode")" in
hang) echo \$\$ >"$CHAIN_DATA/pid"; exec sleep 60 ;;
*) cat "$CHAIN_DATA/keys.\$1" 2>/dev/null ;;
esac
EOF
chmod 0755 "$CHAIN"

broker_setup "$(printf '[sshd]\nhelper_timeout_ms = 1500\nchain_command = %s %%u %%f x%%%%\n' "$CHAIN")"
start_nhid
KRL=$STATE/revoked.krl
start_sshd "AuthorizedKeysCommand $HELPER -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi" "RevokedKeys $KRL"

fp_of() { "$SSH_KEYGEN" -lf "$1" | awk '{print $2}'; }

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
	else
		pass "$desc"
	fi
}

# The user has no authorized_keys: only the chained command knows the key.
ALICE=$(make_user) || bail_out "cannot create a user"
AKEY=$(make_user_key alice) || bail_out "cannot create a key"
OTHER=$(make_user_key other) || bail_out "cannot create a key"
JUNK=$(make_user_key junk) || bail_out "cannot create a key"
AFP=$(fp_of "$AKEY.pub")
{
	echo "# from the chained tool"
	printf 'garbage-option %s\n' "$(cat "$JUNK.pub")"
	printf '%s %s\n' "$(awk '{print $1, $2}' "$OTHER.pub")" "$(head -c 20000 /dev/zero | tr '\0' c)"
	cat "$AKEY.pub"
} >"$CHAIN_DATA/keys.$ALICE"
chmod 0644 "$CHAIN_DATA/keys.$ALICE"

# ---- observe
login_works "observe: the chained key logs in" "$ALICE" "$AKEY"
if grep -qxF "$ALICE $AFP x%" "$CHAIN_DATA/args"; then
	pass "the chained command gets %u %f and %% expanded"
else
	fail "the chained command gets %u %f and %% expanded" "$(cat "$CHAIN_DATA/args")"
fi
json_check "observe: the chained key is inventoried with source chain" \
	"any(r['fingerprint'] == '$AFP' and r['path'] == 'chain:$CHAIN' and r['line'] == 1
	     and r['state'] == 'observed' for r in rows)" \
	ctl keys list --account "$ALICE" --json
json_check "the garbage and the overlong line are dropped, not inventoried" \
	"len(rows) == 1" ctl keys list --account "$ALICE" --json
expect "the new chained key is audited" 0 "discover .*${AFP//+/.}.*chain:" ctl audit export

# The helper refuses to run the chained command as root.
: >"$CHAIN_DATA/args"
"$HELPER" -c "$CONF" "$ALICE" "$(id -u "$ALICE")" "$AFP" ssh-ed25519 \
	"$(awk '{print $2}' "$AKEY.pub")" >"$NHI_TMP/root.out" 2>&1
if [ ! -s "$CHAIN_DATA/args" ] && [ ! -s "$NHI_TMP/root.out" ]; then
	pass "as root the helper does not run the chained command"
else
	fail "as root the helper does not run the chained command" "$(cat "$NHI_TMP/root.out")"
fi

# ---- a hanging chained command
BOB=$(make_user) || bail_out "cannot create a user"
BKEY=$(make_user_key bob) || bail_out "cannot create a key"
install -d -m 0700 -o "$BOB" -g "$BOB" "$(getent passwd "$BOB" | cut -d: -f6)/.ssh"
install -m 0600 -o "$BOB" -g "$BOB" "$BKEY.pub" "$(getent passwd "$BOB" | cut -d: -f6)/.ssh/authorized_keys"
echo hang >"$CHAIN_DATA/mode"
login_refused "hang: the chained key gets nothing" "$ALICE" "$AKEY"
pid=$(cat "$CHAIN_DATA/pid" 2>/dev/null)
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
	pass "hang: the chained command was killed"
else
	fail "hang: the chained command was killed" "pid ${pid:-none} still there"
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
fi
login_works "hang: sshd keeps serving a file key" "$BOB" "$BKEY"
echo print >"$CHAIN_DATA/mode"

# ---- broker down: keys_broker_down decides for chained lines
stop_nhid
login_works "broker down, keys_broker_down = allow: the chained key logs in" "$ALICE" "$AKEY"
printf 'keys_broker_down = deny\n' >>"$CONF"
login_refused "broker down, keys_broker_down = deny: the chained key is refused" \
	"$ALICE" "$AKEY"

# ---- enforce: a chained key without an exception is refused, not retired
printf 'keys_mode = enforce\n' >>"$CONF"
start_nhid
login_refused "enforce: the chained key is refused" "$ALICE" "$AKEY"
expect "enforce: the refusal is audited" 0 "discover .*${AFP//+/.}.*chain-refused" \
	ctl audit export
if ! "$SSH_KEYGEN" -Q -f "$KRL" "$AKEY.pub" 2>&1 | grep -q REVOKED; then
	pass "enforce: the chained key is not put in the KRL"
else
	fail "enforce: the chained key is not put in the KRL"
fi
expect "enforce: except the chained key" 0 "excepted" ctl keys except "$AFP" --owner ops \
	--reason "instance connect" --until "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
login_works "enforce: an excepted chained key logs in" "$ALICE" "$AKEY"
