#!/usr/bin/env bash
# nhid writes the NSS cache: identities it gives unix accounts resolve
# through the real glibc (getent, id) in a private mount namespace
# (nss-lib.sh) whose /var/lib/nhi is nhid's state directory. Changes show
# without restarting anything; suspended and freshly retired identities
# still resolve; break-glass identities never do; ids survive a restart; a
# retired account stops resolving when its (short) quarantine ends, with no
# further change to the broker. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
command -v unshare >/dev/null || bail_out "needs unshare"
plan 20

# A range and names no other account on this host uses.
tag=$(printf '%04x' $((RANDOM % 65536)))
A=nhit-ba$tag B=nhit-bb$tag X=nhit-bx$tag G=nhit-bops$tag
nss_broker_setup 3800000 'home_base = /srv/home'

not_resolvable()
{
	! getent passwd "$1" >/dev/null
}

# in_ns CMD...: CMD where NSS reads nhid's cache.
in_ns()
{
	nss_namespace_run "$STATE" "$MODDIR" "$@"
}

start_nhid
check "nhid writes nss.cache on start, mode 0644" \
	test "$(stat -c %a "$STATE/nss.cache" 2>/dev/null)" = 644

expect "identity add gives a human a uid from the range" 0 "uid: +$base\b" \
	ctl identity add "$A" --kind human --gecos "Nhi Test A"
expect "getent passwd NAME shows the broker's account" 0 \
	"^$A:x:$base:$base:Nhi Test A:/srv/home/$A:/bin/bash\$" in_ns getent passwd "$A"
expect "getent passwd UID finds it" 0 "^$A:" in_ns getent passwd "$base"
expect "id NAME shows its uid and private group" 0 \
	"^uid=$base\($A\) gid=$base\($A\) groups=$base\($A\)\$" in_ns id "$A"

# A store group, joined through a role of the same name.
ctl group add "$G" --gid $((base + 50)) >/dev/null || bail_out "cannot add group $G"
expect "an automation identity gets the next uid" 0 "uid: +$((base + 1))\b" \
	ctl identity add "$B" --kind automation --role "$G"
expect "id shows a group derived from a role" 0 \
	"^uid=$((base + 1))\($B\) gid=$((base + 1))\($B\) groups=$((base + 1))\($B\),$((base + 50))\($G\)\$" \
	in_ns id "$B"
expect "getent group shows the role's members" 0 "^$G:x:$((base + 50)):$B\$" \
	in_ns getent group "$G"

expect "a break-glass identity gets no unix account" 0 "name: +$X" \
	ctl identity add "$X" --kind breakglass
expect "a break-glass identity does not resolve" 2 "" in_ns getent passwd "$X"

ctl identity suspend "$A" >/dev/null || fail "suspend" "nhictl identity suspend failed"
expect "a suspended identity still resolves" 0 "^$A:x:$base:" in_ns getent passwd "$A"
ctl identity set "$A" --shell /bin/sh >/dev/null || fail "set" "nhictl identity set failed"
expect "a change shows without a restart" 0 "^$A:x:$base:$base:Nhi Test A:/srv/home/$A:/bin/sh\$" \
	in_ns getent passwd "$A"

ctl identity retire "$B" >/dev/null || fail "retire" "nhictl identity retire failed"
expect "a retired identity resolves during its quarantine" 0 "^$B:x:$((base + 1)):" \
	in_ns getent passwd "$B"

stop_nhid
rm -f "$STATE/nss.cache"
start_nhid
expect "ids are stable across a restart" 0 "^$A:x:$base:" in_ns getent passwd "$A"
expect "a retired uid is not handed out again during quarantine" 0 "uid: +$((base + 2))\b" \
	ctl identity add "nhit-bc$tag" --kind service
expect "local accounts still resolve" 0 "^root:x:0:0:" in_ns getent passwd root
check "no nhi name leaks into the host's own NSS" not_resolvable "$A"

# A short quarantine: the retired account resolves, then stops resolving
# when the quarantine ends, with no request to the broker in between (nhid
# rewrites the cache when it wakes, at least once a minute).
stop_nhid
printf 'uid_quarantine = 8s\n' >>"$CONF"
start_nhid
Q=nhit-bq$tag
ctl identity add "$Q" --kind service >/dev/null || fail "add" "nhictl identity add failed"
ctl identity retire "$Q" >/dev/null || fail "retire" "nhictl identity retire failed"
expect "a retired identity resolves while its short quarantine runs" 0 "^$Q:x:" \
	in_ns getent passwd "$Q"
gone=
for _ in $(seq 1 90); do
	in_ns getent passwd "$Q" >/dev/null || { gone=1; break; }
	sleep 1
done
check "it stops resolving when the quarantine ends, without another change" test -n "$gone"
check "nhid says why it rewrote the cache" grep -q "quarantine ended" "$NHID_LOG"
