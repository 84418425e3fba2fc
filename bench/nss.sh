#!/usr/bin/env bash
# NSS lookup benchmark: nss_nhi next to nss_files, nss_db (libnss-db) and
# libnss-cache at 10, 10 000 and 100 000 accounts, every module's data built
# from the same passwd file in a temp dir. The lookups run in a private
# mount namespace where /etc/passwd and /var/lib (libnss-db's misc/ and
# nss_nhi's nhi/) are the temp files; libnss-cache is pointed at its file
# with its own _nss_cache_setpwent_path. Root only; run by hand:
#
#   bench/nss.sh [BUILDDIR]        (make bench-nss does this)
#
# At 100 000 accounts the same data also goes through `nhictl identity
# import` into a broker in a temp state dir, and the import is timed.
set -euo pipefail

top=${1:-.}
here=$(cd "$(dirname "$0")" && pwd)
nss=$top/bench/nss
nhi_so=$(readlink -f "$top/nss_nhi/.libs/libnss_nhi.so.2")
[ "$(id -u)" = 0 ] || { echo "nss.sh: needs root (mount namespace)" >&2; exit 2; }
for f in "$nss" "$nhi_so" /usr/bin/makedb /var/lib/misc/Makefile; do
	[ -e "$f" ] || { echo "nss.sh: missing $f (build, or apt-get install libnss-db libnss-cache)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/nhi-bench-nss.XXXXXX)
nhid_pid=
cleanup()
{
	[ -z "$nhid_pid" ] || { kill -TERM "$nhid_pid" 2>/dev/null; wait "$nhid_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

import_time()
{
	local passwd=$1 st=$tmp/broker
	mkdir -p "$st"
	printf '[broker]\nsocket = %s\nstate_dir = %s\n' "$st/sock" "$st/state" >"$st/nhi.conf"
	"$top/broker/nhid" -f -c "$st/nhi.conf" --no-syslog >"$st/log" 2>&1 </dev/null &
	nhid_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$st/sock" ] && break
		sleep 0.1
	done
	awk -F: '{ printf "{\"name\":\"%s\",\"kind\":\"service\",\"uid\":%s,\"gid\":%s,\"home\":\"%s\",\"shell\":\"%s\"}\n", $1, $3, $4, $6, $7 }' \
		"$passwd" >"$st/ids.jsonl"
	local t0 t1
	t0=$(date +%s%N)
	"$top/broker/nhictl" -c "$st/nhi.conf" identity import "$st/ids.jsonl"
	t1=$(date +%s%N)
	echo "nhictl identity import: $(( (t1 - t0) / 1000000 )) ms"
	kill -TERM "$nhid_pid"
	wait "$nhid_pid" 2>/dev/null || true
	nhid_pid=
}

printf '%7s  %-14s %-6s %12s %12s %10s\n' accounts lookup module "median ns" "p99 ns" "vs nhi"
for n in 10 10000 100000; do
	d=$tmp/$n
	mkdir -p "$d/etc" "$d/varlib/misc" "$d/varlib/nhi"
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
		printf "u%06d:x:%d:%d:User %d:/home/u%06d:/bin/sh\n", i, 100000 + i, 100000 + i, i, i }' \
		>"$d/etc/passwd"
	# libnss-db's own recipe: its Makefile with the directories redirected.
	make -s -f /var/lib/misc/Makefile ETC="$d/etc" VAR_DB="$d/varlib/misc" \
		"$d/varlib/misc/passwd.db" >/dev/null
	cp "$d/etc/passwd" "$d/passwd.cache"
	"$nss" write "$d/etc/passwd" "$d/varlib/nhi/nss.cache" >"$d/writer.txt"
	unshare -m bash -c '
		mount --make-rprivate / &&
		mount --bind "$1/etc/passwd" /etc/passwd &&
		mount --bind "$1/varlib" /var/lib &&
		exec "$2" run "$3" "$4" "$1/passwd.cache"' nss-bench "$d" "$nss" "$n" "$nhi_so"
done
echo
cat "$tmp/100000/writer.txt"
import_time "$tmp/100000/etc/passwd"
