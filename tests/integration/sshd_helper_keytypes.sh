#!/usr/bin/env bash
# nhi-authorized-keys reads keys without libcrypto (lib/sshkey.h,
# *_for_match): ECDSA points are not checked against their curve there,
# only by sshd and the broker. A real sshd logs in with ECDSA P-256, P-384,
# P-521 and RSA keys through the helper, and an ECDSA key whose point is
# off its curve gets no line, even when the file holds exactly that line.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 7

HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-keys
[ -x "$HELPER_BUILT" ] || bail_out "not built: $HELPER_BUILT"
helper_user_ensure

broker_setup "$(printf '[sshd]\nhelper_timeout_ms = 3000')"
start_nhid

install_helpers "$HELPER_BUILT"
HELPER=$LIBEXEC/nhi-authorized-keys
start_sshd "AuthorizedKeysCommand $HELPER -c $CONF %u %U %f %t %k" \
	"AuthorizedKeysCommandUser nhi"

USER_NAME=$(make_user) || bail_out "cannot create a user"
USER_UID=$(id -u "$USER_NAME")
HOME_DIR=$(getent passwd "$USER_NAME" | cut -d: -f6)

KINDS=("ecdsa 256" "ecdsa 384" "ecdsa 521" "rsa 3072")
: >"$NHI_TMP/keys"
for kind in "${KINDS[@]}"; do
	set -- $kind
	"$SSH_KEYGEN" -q -t "$1" -b "$2" -N '' -C "$1-$2" -f "$NHI_TMP/private/$1-$2" ||
		bail_out "ssh-keygen -t $1 -b $2"
	cat "$NHI_TMP/private/$1-$2.pub" >>"$NHI_TMP/keys"
done

# The P-256 key with the last byte of its point changed: the same shape,
# off the curve. Its fingerprint is computed by hand: ssh-keygen will not
# read it.
B64=$(awk '{print $2}' "$NHI_TMP/private/ecdsa-256.pub")
base64 -d <<<"$B64" >"$NHI_TMP/good.blob" || bail_out "base64"
last=$(tail -c 1 "$NHI_TMP/good.blob" | od -An -tu1 | tr -d ' ')
{
	head -c -1 "$NHI_TMP/good.blob"
	printf "\\$(printf '%03o' $((last ^ 1)))"
} >"$NHI_TMP/off.blob"
OFF_B64=$(base64 -w0 "$NHI_TMP/off.blob")
fp_of_blob()
{
	printf "SHA256:%s" "$(printf "$(sha256sum "$1" | cut -c1-64 | sed 's/../\\x&/g')" |
		base64 -w0 | tr -d '=')"
}
OFF_FP=$(fp_of_blob "$NHI_TMP/off.blob")
[ "$(fp_of_blob "$NHI_TMP/good.blob")" = \
	"$("$SSH_KEYGEN" -lf "$NHI_TMP/private/ecdsa-256.pub" | awk '{print $2}')" ] ||
	bail_out "the fingerprint by hand differs from ssh-keygen's"
[ "$(wc -c <"$NHI_TMP/off.blob")" -eq "$(wc -c <"$NHI_TMP/good.blob")" ] &&
	[ "$OFF_B64" != "$B64" ] || bail_out "cannot build the off-curve key"
echo "ecdsa-sha2-nistp256 $OFF_B64 off-curve" >>"$NHI_TMP/keys"

install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$HOME_DIR/.ssh"
install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$NHI_TMP/keys" "$HOME_DIR/.ssh/authorized_keys"

for kind in "${KINDS[@]}"; do
	set -- $kind
	desc="an $1-$2 key logs in through the helper"
	if ssh_as "$USER_NAME" -i "$NHI_TMP/private/$1-$2" -- id -un &&
		[ "$NHI_SSH_OUT" = "$USER_NAME" ]; then
		pass "$desc"
	else
		fail "$desc" "$NHI_SSH_OUT" "$(tail -n 5 "$NHI_SSHD_LOG")"
	fi
done

# The helper asked by hand, as sshd would ask it, for the good P-256 key
# and then for the off-curve one: a line for the first, nothing for the
# second (the broker checks the offered key in full and refuses it).
GOOD_FP=$("$SSH_KEYGEN" -lf "$NHI_TMP/private/ecdsa-256.pub" | awk '{print $2}')
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$USER_NAME" "$USER_UID" "$GOOD_FP" \
	ecdsa-sha2-nistp256 "$B64")
check "the helper prints the good P-256 key's line" grep -qF "$B64" <<<"$out"

rc=0
out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$USER_NAME" "$USER_UID" "$OFF_FP" \
	ecdsa-sha2-nistp256 "$OFF_B64" 2>&1) || rc=$?
# Exit 0: the arguments were well formed and the broker answered (1 would
# mean the helper refused them itself, before asking).
if [ -z "$out" ] && [ "$rc" -eq 0 ]; then
	pass "an off-curve P-256 key gets no line, though the file holds it"
else
	fail "an off-curve P-256 key gets no line, though the file holds it" "exit $rc: $out"
fi

# The broker's own reading of the file refused the off-curve line and
# inventoried the four good keys.
out=$(ctl keys list --account "$USER_NAME" --json 2>&1)
n=$(grep -o '"fingerprint"' <<<"$out" | wc -l)
if [ "$n" -eq 4 ] && ! grep -qF "$OFF_FP" <<<"$out"; then
	pass "the broker inventoried the four good keys and not the off-curve one"
else
	fail "the broker inventoried the four good keys and not the off-curve one" "$out"
fi
