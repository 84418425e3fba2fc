#!/usr/bin/env bash
# 16 threads resolve an account through the real glibc and nss_nhi while
# nhid rewrites the NSS cache 1000 times, one identity change each: no
# lookup fails, and every answer is the old or the new truth (the gecos
# carries a generation number that never goes down within a thread).
# The sanitizer tree, where every nhictl run costs several times more,
# checks the same paths with 200 rewrites; the plain tree runs all 1000.
# Needs root (a private mount namespace; nss-lib.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
STRESS=$top_builddir/tests/tools/nhi-nss-stress
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
[ -x "$STRESS" ] || bail_out "nhi-nss-stress not built at $STRESS"
command -v unshare >/dev/null || bail_out "needs unshare"
plan 5

REWRITES=1000
[ "${NHI_SANITIZED:-no}" = yes ] && REWRITES=200
tag=$(printf '%04x' $((RANDOM % 65536)))
A=nhit-rw$tag
nss_broker_setup 3300000

start_nhid

expect "the identity gets a uid from the range" 0 "uid: +$base\b" \
	ctl identity add "$A" --kind human --gecos "gen 0"
expect "it resolves through nss_nhi" 0 "^$A:x:$base:$base:gen 0:" \
	nss_namespace_run "$STATE" "$MODDIR" getent passwd "$A"

STOP=$NHI_TMP/stress.stop
rm -f "$STOP"
nss_namespace_run "$STATE" "$MODDIR" "$STRESS" "$A" "$base" 900 "gen " "$STOP" \
	>"$NHI_TMP/stress.out" 2>&1 &
stress_pid=$!

done_rewrites=0
for i in $(seq 1 "$REWRITES"); do
	ctl identity set "$A" --gecos "gen $i" >/dev/null || break
	done_rewrites=$i
done
# nss_nhi looks for a new cache file at most every 250 ms: give the
# threads time to see the last generation before they stop.
sleep 1
touch "$STOP"
wait "$stress_pid"
rc=$?
diag_file "$NHI_TMP/stress.out"

check "nhid applied $REWRITES identity changes" test "$done_rewrites" -eq "$REWRITES"
written=$(grep -c "NSS cache rewritten" "$NHID_LOG")
check "nhid rewrote the cache after each change (at least $REWRITES times)" \
	test "$written" -ge "$REWRITES"
# The threads ran from before the first change until after the last: they
# made many lookups per rewrite and saw the final generation.
read -r lookups failures highest < <(sed -n 's/^lookups \([0-9]*\) failures \([0-9]*\) highest \([0-9]*\)$/\1 \2 \3/p' \
	"$NHI_TMP/stress.out")
if [ "$rc" -eq 0 ] && [ "${failures:-1}" -eq 0 ] && [ "${highest:-0}" -eq "$REWRITES" ] &&
	[ "${lookups:-0}" -ge $((10 * REWRITES)) ]; then
	pass "16 threads saw only whole records, old or new, while the cache was rewritten"
else
	fail "16 threads saw only whole records, old or new" "exit $rc" \
		"$(tail -n 5 "$NHI_TMP/stress.out")"
fi
stop_nhid
