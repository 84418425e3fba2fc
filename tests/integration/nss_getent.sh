#!/usr/bin/env bash
# nss_nhi through the real glibc: getent and id resolve users, groups and
# supplementary groups from a cache written by nhi_nsscache_write, in a
# private mount namespace (nss-lib.sh). A missing or corrupt cache leaves
# local accounts working and resolves no nhi name. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
WRITER=$top_builddir/tests/tools/nhi-nsscache-write
STRESS=$top_builddir/tests/tools/nhi-nss-stress
PROBE=$top_builddir/tests/tools/nhi-nss-probe
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
[ -x "$WRITER" ] || bail_out "nhi-nsscache-write not built at $WRITER"
[ -x "$STRESS" ] || bail_out "nhi-nss-stress not built at $STRESS"
[ -x "$PROBE" ] || bail_out "nhi-nss-probe not built at $PROBE"
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
command -v unshare >/dev/null || bail_out "needs unshare"
plan 22

CACHE=$NHI_TMP/cache
MODDIR=$NHI_TMP/module
mkdir -p "$CACHE" "$MODDIR"
cp "$MODULE" "$MODDIR/libnss_nhi.so.2"
nss_namespace_prepare "$MODDIR" || bail_out "cannot prepare the NSS namespace"

# Names and ids no other account on this host uses.
tag=$(printf '%04x' $((RANDOM % 65536)))
U1=nhit-na$tag U2=nhit-nb$tag U3=nhit-nc$tag G1=nhit-ops$tag G2=nhit-dev$tag
base=$((3900000 + (RANDOM % 5000) * 10))
for id in $((base + 1)) $((base + 2)) $((base + 3)) $((base + 5)) $((base + 6)); do
	getent passwd "$id" >/dev/null || getent group "$id" >/dev/null && bail_out "id $id in use"
done
long_gecos=$(printf 'g%.0s' $(seq 1 3000)) # past glibc's first 1024-byte buffer: ERANGE, retry

# write_cache GENERATION [EXTRA]: the accounts below plus EXTRA filler users.
write_cache()
{
	local i
	{
		for ((i = 0; i < ${2:-0}; i++)); do
			echo "user:nhit-x$tag$i:$((base + 100 + i)):1:filler:/:/bin/sh"
		done
		cat <<-LINES
		user:$U1:$((base + 1)):$((base + 5)):Nhi Test One:/home/$U1:/bin/bash
		user:$U2:$((base + 2)):$((base + 5)):$long_gecos:/home/$U2:/bin/sh
		user:$U3:$((base + 3)):$((base + 6)):robot:/var/lib/$U3:/usr/sbin/nologin
		group:$G1:$((base + 5)):$U1,$U2
		group:$G2:$((base + 6)):$U1,$U3
	LINES
	} | "$WRITER" "$CACHE/nss.cache" "$1"
}
write_cache 1 || bail_out "cannot write the cache"

run() { nss_namespace_run "$CACHE" "$MODDIR" "$@"; }
# errno values, the same on every Linux architecture (asm-generic/errno-base.h).
ENOENT=2 ERANGE=34

# expect_out DESC WANT CMD...: CMD exits 0 and prints exactly WANT.
expect_out()
{
	local desc=$1 want=$2 out
	shift 2
	if out=$(run "$@" 2>&1) && [ "$out" = "$want" ]; then
		pass "$desc"
	else
		fail "$desc" "expected: $want" "got: $out"
	fi
}

# expect_status DESC STATUS CMD...
expect_status()
{
	local desc=$1 want=$2 rc out
	shift 2
	out=$(run "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$desc"
	else
		fail "$desc" "expected exit $want, got $rc" "$out"
	fi
}

pw1="$U1:x:$((base + 1)):$((base + 5)):Nhi Test One:/home/$U1:/bin/bash"
expect_out "getent passwd NAME" "$pw1" getent passwd "$U1"
expect_out "getent passwd UID" "$pw1" getent passwd "$((base + 1))"
expect_out "a 3000-byte gecos comes through the ERANGE retry" \
	"$U2:x:$((base + 2)):$((base + 5)):$long_gecos:/home/$U2:/bin/sh" getent passwd "$U2"
expect_out "getent group NAME lists members" "$G1:x:$((base + 5)):$U1,$U2" getent group "$G1"
expect_out "getent group GID" "$G2:x:$((base + 6)):$U1,$U3" getent group "$((base + 6))"

out=$(run getent passwd 2>&1)
if grep -q "^root:" <<<"$out" && grep -q "^$U1:" <<<"$out" && grep -q "^$U2:" <<<"$out" &&
	grep -q "^$U3:" <<<"$out"; then
	pass "getent passwd enumerates files and every cached user"
else
	fail "getent passwd enumerates files and every cached user" "$out"
fi
out=$(run getent group 2>&1)
if grep -q "^root:" <<<"$out" && grep -q "^$G1:" <<<"$out" && grep -q "^$G2:" <<<"$out"; then
	pass "getent group enumerates files and every cached group"
else
	fail "getent group enumerates files and every cached group" "$out"
fi

expect_out "id lists the supplementary groups from the cache" \
	"$((base + 5)) $((base + 6))" \
	sh -c "id -G $U1 | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ \$//'"
expect_out "id -gn names the primary group" "$G2" id -gn "$U3"
expect_status "an unknown name is exit 2" 2 getent passwd "nhit-none$tag"
expect_status "an unknown uid is exit 2" 2 getent passwd "$((base + 9))"
expect_status "an invalid name is exit 2" 2 getent passwd "../$U1"

# The module's own answers (statuses: 1 SUCCESS, 0 NOTFOUND, -1 UNAVAIL,
# -2 TRYAGAIN), which getent folds into one exit status.
expect_out "a hit is SUCCESS and errno is kept" "status=1 errnop=0 errno-kept=1" \
	"$PROBE" "$MODDIR/libnss_nhi.so.2" "$U1" 4096
expect_out "a miss is NOTFOUND, not UNAVAIL" "status=0 errnop=0 errno-kept=1" \
	"$PROBE" "$MODDIR/libnss_nhi.so.2" "nhit-none$tag" 4096
expect_out "a small buffer is TRYAGAIN with ERANGE" "status=-2 errnop=$ERANGE errno-kept=1" \
	"$PROBE" "$MODDIR/libnss_nhi.so.2" "$U1" 16

printf 'garbage' | dd of="$CACHE/nss.cache" bs=1 seek=200 conv=notrunc status=none
expect_status "a corrupt cache resolves no nhi name" 2 getent passwd "$U1"
expect_out "a corrupt cache is UNAVAIL with ENOENT" "status=-1 errnop=$ENOENT errno-kept=1" \
	"$PROBE" "$MODDIR/libnss_nhi.so.2" "$U1" 4096
expect_out "a corrupt cache leaves local accounts working" "root" \
	sh -c 'getent passwd root | cut -d: -f1'

rm -f "$CACHE/nss.cache"
out=$(run sh -c "getent passwd root | cut -d: -f1; getent passwd $U1; echo rc=\$?" 2>&1)
if [ "$out" = "root
rc=2" ]; then
	pass "without a cache local accounts work and nhi names do not resolve"
else
	fail "without a cache local accounts work and nhi names do not resolve" "$out"
fi

expect_out "a missing cache is UNAVAIL with ENOENT" "status=-1 errnop=$ENOENT errno-kept=1" \
	"$PROBE" "$MODDIR/libnss_nhi.so.2" "$U1" 4096

write_cache 2 || bail_out "cannot rewrite the cache"
expect_out "a rewritten cache is served again" "$U3" \
	sh -c "getent passwd $((base + 3)) | cut -d: -f1"

# 16 threads resolve U1 while the cache is replaced 40 times with a size
# that changes each time: no lookup may fail or see a torn file. The
# threads run from before the first write until after the last (the stop
# file), however long the writes take on a loaded machine.
STOP=$NHI_TMP/stress.stop
rm -f "$STOP"
run "$STRESS" "$U1" "$((base + 1))" 900 "" "$STOP" >"$NHI_TMP/stress.out" 2>&1 &
stress_pid=$!
sleep 0.5
gen=3
while kill -0 "$stress_pid" 2>/dev/null && [ "$gen" -lt 43 ]; do
	write_cache "$gen" $((gen % 7)) || break
	gen=$((gen + 1))
done
sleep 0.5
touch "$STOP"
wait "$stress_pid"
rc=$?
if [ "$rc" -eq 0 ] && [ "$gen" -eq 43 ]; then
	pass "16 threads resolve correctly while the cache is rewritten ($((gen - 3)) times)"
else
	fail "16 threads resolve correctly while the cache is rewritten" "exit $rc after $gen" \
		"$(tail -n 5 "$NHI_TMP/stress.out")"
fi
