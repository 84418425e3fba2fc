#!/usr/bin/env bash
# What sshd pays for asking nhi-authorized-keys instead of reading an
# authorized_keys file itself: the helper (exec, configuration, one broker
# round trip in which nhid reads the account's file as its owner, records
# the key as seen and answers) against `cat` of the same file, run
# alternately by bench/spawn in one run. The helper runs as the helper user
# `nhi`, as AuthorizedKeysCommandUser would; cat as the account, as sshd
# reads the file. Prints median and p99 wall time and their ratio; nothing
# asserts a time. Needs root (a throwaway user, the nhi user, runuser).
#
#   bench/helper.sh [ROUNDS] [KEYS]    (defaults 300 rounds, 5 keys in the file)
#
# BENCH_HELPER=PATH times another build of nhi-authorized-keys against the
# same nhid and cat, to compare before and after a change in one sitting.
ROUNDS=${1:-300}
KEYS=${2:-5}
case "$ROUNDS$KEYS" in
'' | *[!0-9]*) echo "usage: $0 [ROUNDS] [KEYS]" >&2 && exit 2 ;;
esac
[ "$KEYS" -ge 1 ] || { echo "usage: $0 [ROUNDS] [KEYS]: KEYS >= 1" >&2; exit 2; }

. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench/helper.sh needs root (users, runuser)" >&2; exit 2; }
SPAWN=$top_builddir/bench/spawn
HELPER_BUILT=${BENCH_HELPER:-$top_builddir/sshd_plugin/nhi-authorized-keys}
[ -x "$SPAWN" ] && [ -x "$HELPER_BUILT" ] || bail_out "build first: bench/spawn, nhi-authorized-keys"
helper_user_ensure

broker_setup
start_nhid
install_helpers "$HELPER_BUILT"
HELPER=$NHI_TMP/libexec/nhi-authorized-keys

USER_NAME=$(make_user) || bail_out "cannot create a user"
HOME_DIR=$(getent passwd "$USER_NAME" | cut -d: -f6)
install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$HOME_DIR/.ssh"
FILE=$HOME_DIR/.ssh/authorized_keys
: >"$NHI_TMP/keys"
for i in $(seq 1 "$KEYS"); do
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C "bench-$i" -f "$NHI_TMP/private/k$i" || bail_out "ssh-keygen"
	cat "$NHI_TMP/private/k$i.pub" >>"$NHI_TMP/keys"
done
install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$NHI_TMP/keys" "$FILE"
# sshd asks about the key the client offers: the middle one of the file.
MID=$(((KEYS + 1) / 2))
FP=$("$SSH_KEYGEN" -lf "$NHI_TMP/private/k$MID.pub" | awk '{print $2}')
B64=$(awk '{print $2}' "$NHI_TMP/private/k$MID.pub")

out=$(runuser -u nhi -- "$HELPER" -c "$CONF" "$USER_NAME" "$(id -u "$USER_NAME")" "$FP" \
	ssh-ed25519 "$B64") && grep -q "$B64" <<<"$out" ||
	bail_out "the helper does not print the key: $out $(tail -n 5 "$NHID_LOG")"

echo "nhi-authorized-keys against cat, one authorized_keys of $KEYS ed25519 keys"
echo "($(wc -c <"$FILE") bytes), keys_mode observe, nhid with its store in $NHI_TMP"
"$SPAWN" -n "$ROUNDS" -w 10 -t 1.5 \
	nhi-authorized-keys nhi "$HELPER" -c "$CONF" "$USER_NAME" "$(id -u "$USER_NAME")" "$FP" \
	ssh-ed25519 "$B64" ::: \
	cat "$USER_NAME" /bin/cat "$FILE"
