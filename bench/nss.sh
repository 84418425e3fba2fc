#!/usr/bin/env bash
# NSS lookup benchmark: nss_nhi next to nss_files, nss_db (libnss-db) and
# libnss-cache at 10, 10 000 and 100 000 accounts, all from the same
# accounts (u000000.., uid and gid 100000+i):
#
# - nss_nhi: a broker (nhid, temp state dir) is filled through
#   `nhictl identity import`; the lookups read the cache it wrote. The
#   broker logs how long each cache rewrite took: the writer time, after
#   the import and after one `nhictl identity set` that follows it (it
#   sets a shell to the value it has: the data stay the same, the broker
#   still rewrites the cache).
# - nss_files: the same accounts as a passwd file.
# - nss_db: its database built by libnss-db's own /var/lib/misc/Makefile.
# - libnss-cache: the passwd file as passwd.cache with the .ixname and
#   .ixuid indexes nsscache writes (`bench/nss cache-index`).
#
# The lookups run in a private mount namespace where /etc (with the
# passwd file) and /var/lib (libnss-db's misc/, the broker's state dir as
# nhi/) are the temp dirs; libnss-cache is pointed at its file with its own
# _nss_cache_setpwent_path.
#
# After the timed pass, a second, untimed pass counts system calls: each
# module at each size runs `bench/nss syscalls` under `strace -f` in the
# same namespace, and only the calls between the tool's two marker calls
# (the lookups, not the start-up) are counted. nss_nhi must stat its cache
# at most once per 250 ms (RECHECK_MS in nss_nhi.c): a count over
# elapsed/250 ms + 1 is a defect, printed as one, and the script exits 1.
# Root only; run by hand:
#
#   bench/nss.sh [BUILDDIR]        (make bench-nss does this)
set -euo pipefail

top=${1:-.}
nss=$top/bench/nss
nhi_so=$(readlink -f "$top/nss_nhi/.libs/libnss_nhi.so.2")
[ "$(id -u)" = 0 ] || { echo "nss.sh: needs root (mount namespace)" >&2; exit 2; }
for f in "$nss" "$nhi_so" "$top/broker/nhid" "$top/broker/nhictl" /usr/bin/makedb \
	/var/lib/misc/Makefile; do
	[ -e "$f" ] || { echo "nss.sh: missing $f (build, or apt-get install libnss-db libnss-cache)" >&2; exit 2; }
done
command -v strace >/dev/null || { echo "nss.sh: missing strace (apt-get install strace)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/nhi-bench-nss.XXXXXX)
nhid_pid=
cleanup()
{
	[ -z "$nhid_pid" ] || { kill -TERM "$nhid_pid" 2>/dev/null; wait "$nhid_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

# broker_fill DIR JSONL: a broker whose state dir is DIR/varlib/nhi takes
# JSONL through nhictl identity import; its cache is left in the state dir.
broker_fill()
{
	local d=$1 jsonl=$2 st=$1/broker t0 t1
	mkdir -p "$st" "$d/varlib/nhi"
	printf '[broker]\nsocket = %s\nstate_dir = %s\nlog_level = info\n' \
		"$st/sock" "$d/varlib/nhi" >"$st/nhi.conf"
	"$top/broker/nhid" -f -c "$st/nhi.conf" --no-syslog >"$st/log" 2>&1 </dev/null &
	nhid_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$st/sock" ] && break
		sleep 0.1
	done
	[ -S "$st/sock" ] || { cat "$st/log" >&2; echo "nss.sh: nhid did not start" >&2; exit 1; }
	t0=$(date +%s%N)
	"$top/broker/nhictl" -c "$st/nhi.conf" identity import "$jsonl" >"$st/import.out"
	t1=$(date +%s%N)
	# The last rewrite so far is the one after the import's commit.
	grep -o 'NSS cache rewritten: .*' "$st/log" | tail -n 1 >"$d/writer.txt"
	# One change to one account: what every later change costs.
	local t2 t3
	t2=$(date +%s%N)
	"$top/broker/nhictl" -c "$st/nhi.conf" identity set u000000 --shell /bin/sh \
		>"$st/set.out" 2>&1
	t3=$(date +%s%N)
	echo "$(( (t3 - t2) / 1000000 ))" >"$d/change_ms"
	grep -o 'NSS cache rewritten: .*' "$st/log" | tail -n 1 >"$d/change.txt"
	kill -TERM "$nhid_pid"
	wait "$nhid_pid" 2>/dev/null || true
	nhid_pid=
	echo "$(( (t1 - t0) / 1000000 ))" >"$d/import_ms"
}

# in_namespace DIR CMD...: CMD with DIR/etc as /etc and DIR/varlib as
# /var/lib, in a private mount namespace.
in_namespace()
{
	unshare -m bash -c '
		mount --make-rprivate / &&
		mount --bind "$1/etc" /etc &&
		mount --bind "$1/varlib" /var/lib &&
		shift && exec "$@"' nss-bench "$@"
}

# trace_count TRACE LOOKUPS: "total stats top" for the calls between the
# markers of `bench/nss syscalls` in an `strace -f -o` trace; top names the
# most frequent calls, with their count per lookup. With -f every line starts with the pid; a call that
# another thread interrupts is one "unfinished" line and one "resumed"
# line, counted once.
trace_count()
{
	awk -v lookups="$2" '
	{ sub(/^[0-9]+ +/, "") }
	index($0, "\"nss-bench-lookups-begin\"") { on = 1; next }
	index($0, "\"nss-bench-lookups-end\"") { on = 0; next }
	!on || /^(\+\+\+|---) / || /^<\.\.\. / { next }
	{
		name = $0
		sub(/\(.*/, "", name)
		total++
		calls[name]++
		if (name ~ /^(stat|lstat|fstat|newfstatat|statx|stat64|lstat64|fstat64|fstatat64)$/)
			stats++
	}
	END {
		top = ""
		for (k = 0; k < 4; k++) {
			best = ""
			for (c in calls)
				if (best == "" || calls[c] > calls[best])
					best = c
			if (best == "")
				break
			top = sprintf("%s%s%s %.3g", top, top == "" ? "" : ", ", best,
				calls[best] / lookups)
			delete calls[best]
		}
		printf "%d %d %s\n", total, stats, top == "" ? "none" : top
	}' "$1"
}

# syscalls_row N MODULE LOOKUPS: one line of the system-call table, from
# `bench/nss syscalls` under strace in the namespace of N accounts.
# Returns 1 when the run failed or nss_nhi broke its stat bound.
syscalls_row()
{
	local n=$1 m=$2 lookups=$3 d=$tmp/$1 trace ms total stats top bound=- verdict=
	trace=$d/strace.$m
	if ! in_namespace "$d" strace -f -qq -o "$trace" \
		"$nss" syscalls "$n" "$nhi_so" "$d/passwd.cache" "$m" "$lookups" \
		>"$d/syscalls.$m" 2>&1; then
		cat "$d/syscalls.$m" >&2
		printf '%7s  %-6s %9s failed\n' "$n" "$m" "$lookups"
		return 1
	fi
	ms=$(awk '$3 == "lookups" { print $6 }' "$d/syscalls.$m")
	read -r total stats top < <(trace_count "$trace" "$lookups")
	rm -f "$trace"
	if [ "$m" = nhi ]; then
		bound=$(awk -v ms="$ms" 'BEGIN { printf "%d", int(ms / 250) + 1 }')
		if [ "$stats" -gt "$bound" ]; then
			verdict="  OVER BOUND: $stats stats in $ms ms"
			defects=$((defects + 1))
		fi
	fi
	awk -v n="$n" -v m="$m" -v l="$lookups" -v t="$total" -v s="$stats" -v ms="$ms" \
		-v b="$bound" -v top="$top" -v v="$verdict" 'BEGIN {
		printf "%7d  %-6s %9d %10.3g %10.3g %7d %10.1f %8s  %s%s\n",
			n, m, l, t / l, s / l, s, ms, b, top, v }'
	[ -z "$verdict" ]
}

printf '%7s  %-14s %-6s %12s %12s %10s\n' accounts lookup module "median ns" "p99 ns" "vs nhi"
for n in 10 10000 100000; do
	d=$tmp/$n
	mkdir -p "$d/etc" "$d/varlib/misc"
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
		printf "u%06d:x:%d:%d:User %d:/home/u%06d:/bin/sh\n", i, 100000 + i, 100000 + i, i, i }' \
		>"$d/etc/passwd"
	awk -F: '{ printf "{\"name\":\"%s\",\"kind\":\"service\",\"uid\":%s,\"gid\":%s,\"gecos\":\"%s\",\"home\":\"%s\",\"shell\":\"%s\"}\n", $1, $3, $4, $5, $6, $7 }' \
		"$d/etc/passwd" >"$d/ids.jsonl"
	broker_fill "$d" "$d/ids.jsonl"
	# libnss-db's own recipe: its Makefile with the directories redirected.
	make -s -f /var/lib/misc/Makefile ETC="$d/etc" VAR_DB="$d/varlib/misc" \
		"$d/varlib/misc/passwd.db" >/dev/null
	cp "$d/etc/passwd" "$d/passwd.cache"
	"$nss" cache-index "$d/passwd.cache"
	# The whole of /etc is replaced, not /etc/passwd alone: a file bind
	# mount is dropped in every namespace when the host renames a new
	# /etc/passwd over it (useradd does), and nss_files then reads the
	# host's file. The loader still needs its cache.
	cp /etc/ld.so.cache /etc/nsswitch.conf "$d/etc/"
	in_namespace "$d" "$nss" run "$n" "$nhi_so" "$d/passwd.cache"
done

# System calls, untimed, under strace. nss_nhi makes almost none, so it
# also gets many lookups (enough for its 250 ms re-check to run several
# times); the peers make 5 to 1000 per lookup, and strace stops at each.
echo
echo "system calls per lookup (strace -f; lookups only, start-up excluded; load:" \
	"$(cut -d' ' -f1-3 /proc/loadavg))"
printf '%7s  %-6s %9s %10s %10s %7s %10s %8s  %s\n' accounts module lookups "calls/lkp" \
	"stats/lkp" stats "ms" "bound" "most frequent calls (per lookup)"
defects=0
for n in 10 10000 100000; do
	for m in nhi files db cache; do
		case $m/$n in
		# First as many lookups as a peer makes, then enough to span
		# several 250 ms periods. A module that stat()ed per lookup
		# fails the first run, and the second (10 million traced
		# stats) is not attempted.
		nhi/*) counts="3000 10000000" ;;
		files/10000) counts=600 ;;
		files/100000) counts=150 ;;
		*) counts=3000 ;;
		esac
		for lookups in $counts; do
			syscalls_row "$n" "$m" "$lookups" || break
		done
	done
done
if [ "$defects" -gt 0 ]; then
	echo "nss.sh: DEFECT: nss_nhi stat()ed its cache more than once per 250 ms" \
		"in $defects run(s) above" >&2
fi

echo
for n in 10 10000 100000; do
	echo "$n accounts: nhictl identity import $(cat "$tmp/$n/import_ms") ms;" \
		"broker: $(cat "$tmp/$n/writer.txt")"
	echo "$n accounts: nhictl identity set (one account) $(cat "$tmp/$n/change_ms") ms;" \
		"broker: $(cat "$tmp/$n/change.txt")"
done
[ "$defects" -eq 0 ]
