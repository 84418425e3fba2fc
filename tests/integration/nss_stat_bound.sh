#!/usr/bin/env bash
# nss_nhi looks for a new cache file (one stat of its path) at most once
# per 250 ms, however many lookups run: 16 threads resolve an account
# through the real glibc for a few seconds under strace, and the stat
# calls on the cache path are counted against the elapsed time. A module
# that stat()ed per lookup would make thousands; the cache, never
# replaced, is opened once. Counts only, derived from the measured time:
# no time budget. Needs root (a private mount namespace; nss-lib.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"
. "$top_srcdir/tests/integration/nss-lib.sh"

require_root
MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
STRESS=$top_builddir/tests/tools/nhi-nss-stress
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
[ -x "$STRESS" ] || bail_out "nhi-nss-stress not built at $STRESS"
command -v unshare >/dev/null || bail_out "needs unshare"
command -v strace >/dev/null || bail_out "needs strace (scripts/deps.sh installs it)"
plan 6

RUN_SECONDS=4
tag=$(printf '%04x' $((RANDOM % 65536)))
A=nhit-st$tag
nss_broker_setup 3800000

start_nhid

expect "the identity gets a uid from the range" 0 "uid: +$base\b" \
	ctl identity add "$A" --kind human
expect "the identity resolves through nss_nhi" 0 "^$A:x:$base:$base:" \
	nss_namespace_run "$STATE" "$MODDIR" getent passwd "$A"
# The lookups read the cache only: the broker may stop.
stop_nhid

# Only stat-family calls and opens are traced (seccomp keeps the rest
# untouched); nss_files, consulted first, stats /etc/passwd per lookup, so
# only calls naming the cache path count. The sanitizer runtime's own
# start-up calls never name it; its leak check cannot run under ptrace.
TRACE=$NHI_TMP/stress.trace
t0=$(date +%s%N)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	nss_namespace_run "$STATE" "$MODDIR" strace -f -qq --seccomp-bpf \
	-e trace=%%stat,open,openat -o "$TRACE" "$STRESS" "$A" "$base" "$RUN_SECONDS" \
	>"$NHI_TMP/stress.out" 2>&1
rc=$?
t1=$(date +%s%N)
diag_file "$NHI_TMP/stress.out"
elapsed_ms=$(((t1 - t0) / 1000000))
read -r lookups failures _ < <(sed -n 's/^lookups \([0-9]*\) failures \([0-9]*\) highest \([0-9]*\)$/\1 \2 \3/p' \
	"$NHI_TMP/stress.out")
cache=/var/lib/nhi/nss.cache
stats=$(grep -E "^[0-9]+ +(stat|lstat|newfstatat|statx|stat64|lstat64|fstatat64)\([^\"]*\"$cache\"" \
	"$TRACE" | grep -c -v 'resumed>')
opens=$(grep -E "^[0-9]+ +(open|openat)\([^\"]*\"$cache\"" "$TRACE" | grep -c -v 'resumed>')
bound=$((elapsed_ms / 250 + 2))
diag "$lookups lookups in $elapsed_ms ms: $stats stats and $opens opens of $cache (bound $bound)"

check "16 threads resolved the account under strace without a failure" \
	test "$rc" -eq 0 -a "${failures:-1}" -eq 0
# The bound below only means something if a stat per lookup would break it.
check "the threads made far more lookups than the stat bound ($lookups > 20 x $bound)" \
	test "${lookups:-0}" -gt $((20 * bound))
check "nss_nhi stat()ed its cache at most once per 250 ms ($stats <= $bound in $elapsed_ms ms)" \
	test "$stats" -ge 1 -a "$stats" -le "$bound"
check "nss_nhi opened its unchanged cache once ($opens)" test "$opens" -eq 1
