#!/usr/bin/env bash
# nhictl group: groups made and changed through the broker resolve through
# the real glibc (getent group, id) in a private mount namespace
# (nss-lib.sh) whose /var/lib/nhi is nhid's state directory, without a
# restart; gids come from the range and never from /etc/group; bad names
# and clashes are refused; every change is audited. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
command -v unshare >/dev/null || bail_out "needs unshare"
plan 22

tag=$(printf '%04x' $((RANDOM % 65536)))
A=nhit-ga$tag B=nhit-gb$tag X=nhit-gx$tag G=nhit-gops$tag H=nhit-gdev$tag
nss_broker_setup 4400000
local_group=$(getent group | awk -F: '$3 > 0 { print $1; exit }')
[ -n "$local_group" ] || bail_out "no local group to clash with"

in_ns()
{
	nss_namespace_run "$STATE" "$MODDIR" "$@"
}

start_nhid
ctl identity add "$A" --kind human >/dev/null || bail_out "identity add $A failed"
ctl identity add "$B" --kind automation >/dev/null || bail_out "identity add $B failed"
ctl identity add "$X" --kind breakglass >/dev/null || bail_out "identity add $X failed"

expect "group add allocates the range's highest gid" 0 "gid: +$((base + 9))\b" \
	ctl group add "$G"
expect "getent group shows the new group at once" 0 "^$G:x:$((base + 9)):\$" \
	in_ns getent group "$G"
expect "group add --gid takes an explicit gid" 0 "gid: +$((base + 50))\b" \
	ctl group add "$H" --gid $((base + 50))
expect "a taken gid is refused" 1 "gid $((base + 50)) is in use" \
	ctl group add "nhit-gz$tag" --gid $((base + 50))
expect "an existing group name is refused" 1 "group '$G' exists" ctl group add "$G"
expect "a name of /etc/group is refused" 1 "exists in /etc/group" ctl group add "$local_group"
expect "an identity's name is refused" 1 "private group" ctl group add "$A"
expect "an invalid name is refused before the broker" 2 "invalid group name" \
	ctl group add 'bad/name'

expect "member-add shows the member" 0 "members: +$A\b" ctl group member-add "$G" "$A"
ctl group member-add "$G" "$B" >/dev/null || fail "member-add" "second member-add failed"
expect "getent group lists both members" 0 "^$G:x:$((base + 9)):$A,$B\$" \
	in_ns getent group "$G"
expect "id lists the supplementary group" 0 \
	"^uid=$base\($A\) gid=$base\($A\) groups=$base\($A\),$((base + 9))\($G\)\$" in_ns id "$A"
expect "a second add of the same member is refused" 1 "already a member" \
	ctl group member-add "$G" "$A"
expect "an identity without a unix account cannot join" 1 "no unix account" \
	ctl group member-add "$G" "$X"
expect "an unknown identity is refused" 1 "no identity" ctl group member-add "$G" "nhit-gn$tag"

expect "member-remove drops the member" 0 "members: +$B\$" ctl group member-remove "$G" "$A"
expect "id no longer lists the group" 0 "^uid=$base\($A\) gid=$base\($A\) groups=$base\($A\)\$" \
	in_ns id "$A"
json_check "group list --json has both groups with their gids" \
	"[g['gid'] for g in sorted(rows, key=lambda g: g['name'])] == [$((base + 50)), $((base + 9))]" \
	ctl --json group list
audit=$(ctl audit export 2>&1)
check "group-add is in the audit trail" grep -q "group-add.*$G" <<<"$audit"
check "member changes are in the audit trail" \
	test "$(grep -cE "group-member-(add|remove)" <<<"$audit")" -ge 3

# A group larger than one reply record: 250 members by role, loaded with
# identity import (explicit uids above the range).
BIG=nhit-gbig$tag
ctl group add "$BIG" >/dev/null || fail "group add" "group add $BIG failed"
for i in $(seq 0 249); do
	printf '{"name":"nhit-m%s-%03d","kind":"service","uid":%d,"roles":["%s"]}\n' \
		"$tag" "$i" $((base + 100 + i)) "$BIG"
done >"$NHI_TMP/big.jsonl"
expect "250 members arrive by import" 0 "250 created" ctl identity import "$NHI_TMP/big.jsonl"
json_check "group show counts all 250 members and lists the first 200" \
	"rows[0]['member_count'] == 250 and len(rows[0]['members']) == 200" \
	ctl --json group show "$BIG"
count_members()
{
	in_ns getent group "$BIG" | cut -d: -f4 | tr ',' '\n' | grep -c .
}
expect "getent group lists all 250" 0 "^250\$" count_members
