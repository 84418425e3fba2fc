#!/usr/bin/env bash
# Listings and lookups over a large inventory: N identities (20 000 by
# default; half humans, half automation identities with a uid selector and
# a role) imported into a private nhid, then, alternately for R rounds:
#
#   sqlite3 SELECT        the same rows, roles and selectors read by the
#                         sqlite3 shell from the broker's database: the floor
#   nhictl identity list  every identity over the socket, page by page (--json)
#   nhi status            one round trip that reads no identity
#   nhi whoami            one round trip that matches the caller against
#                         every automation identity's selectors
#
# Each line keeps its best round. A listing that reads the whole table per
# page grows with N squared against the sqlite3 line; whoami against status
# shows what matching adds. Root only (nhid runs as root); run by hand:
#
#   bench/list.sh [BUILDDIR [IDENTITIES [ROUNDS]]]   (make bench-list)
#
# Nothing here asserts a time.
set -euo pipefail

top=${1:-.}
n=${2:-20000}
rounds=${3:-3}
calls=20 # status and whoami calls per round
[ "$(id -u)" = 0 ] || { echo "list.sh: needs root (nhid)" >&2; exit 2; }
for f in "$top/broker/nhid" "$top/broker/nhictl" "$top/broker/nhi"; do
	[ -x "$f" ] || { echo "list.sh: missing $f (build first)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "list.sh: the sqlite3 shell is needed" >&2; exit 2; }
top=$(cd "$top" && pwd)

tmp=$(mktemp -d /tmp/nhi-bench-list.XXXXXX)
chmod 0755 "$tmp"
nhid_pid=
cleanup()
{
	[ -z "$nhid_pid" ] || { kill -TERM "$nhid_pid" 2>/dev/null; wait "$nhid_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

# Account ids far from the host's, wide enough for every identity.
printf '[broker]\nsocket = %s\nstate_dir = %s\n[nss]\nuid_min = 1000000\nuid_max = 1999999\n' \
	"$tmp/sock" "$tmp/state" >"$tmp/nhi.conf"
"$top/broker/nhid" -f -c "$tmp/nhi.conf" --nhi "$top/broker/nhi" --no-syslog \
	>"$tmp/log" 2>&1 </dev/null &
nhid_pid=$!
for _ in $(seq 1 100); do
	"$top/broker/nhi" -c "$tmp/nhi.conf" status >/dev/null 2>&1 && break
	sleep 0.1
done
"$top/broker/nhi" -c "$tmp/nhi.conf" status >/dev/null 2>&1 ||
	{ cat "$tmp/log" >&2; echo "list.sh: nhid did not start" >&2; exit 1; }

awk -v n="$n" 'BEGIN {
	for (i = 0; i < n; i++) {
		if (i % 2)
			printf "{\"name\":\"bot%06d\",\"kind\":\"automation\",\"roles\":[\"r\"],\"selectors\":[\"uid=%d\"]}\n", i, 3000000 + i
		else
			printf "{\"name\":\"user%06d\",\"kind\":\"human\",\"uid\":%d,\"roles\":[\"ops\"]}\n", i, 2000000 + i
	}
}' >"$tmp/ids.jsonl"
"$top/broker/nhictl" -c "$tmp/nhi.conf" identity import "$tmp/ids.jsonl" >/dev/null

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
best() { [ -z "${!1:-}" ] || [ "$2" -lt "${!1}" ] && printf -v "$1" %d "$2" || true; }

sql="SELECT i.*, (SELECT group_concat(role) FROM roles WHERE identity_id = i.id),
 (SELECT group_concat(kind || '=' || value) FROM selectors WHERE identity_id = i.id)
 FROM identities i ORDER BY name"
for _ in $(seq 1 "$rounds"); do
	t=$(date +%s%N)
	sqlite3 -readonly "$tmp/state/nhi.db" "$sql" >"$tmp/sql.out"
	best sql_ms "$(ms_since "$t")"
	t=$(date +%s%N)
	"$top/broker/nhictl" -c "$tmp/nhi.conf" --timeout 120 identity list --json >"$tmp/list.out"
	best list_ms "$(ms_since "$t")"
	t=$(date +%s%N)
	for _ in $(seq 1 "$calls"); do "$top/broker/nhi" -c "$tmp/nhi.conf" status >/dev/null; done
	best status_ms "$(ms_since "$t")"
	t=$(date +%s%N)
	for _ in $(seq 1 "$calls"); do "$top/broker/nhi" -c "$tmp/nhi.conf" whoami >/dev/null; done
	best whoami_ms "$(ms_since "$t")"
done
rows=$(wc -l <"$tmp/list.out")
[ "$rows" -eq "$n" ] || { echo "list.sh: identity list printed $rows of $n" >&2; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / (b ? b : 1) }'; }
echo "listings and lookups: $n identities, best of $rounds rounds"
printf '%-32s %10s %10s\n' "" "ms" "ratio"
printf '%-32s %10d %10s\n' "sqlite3 SELECT of the same rows" "$sql_ms" "1.0"
printf '%-32s %10d %10s\n' "nhictl identity list --json" "$list_ms" "$(ratio "$list_ms" "$sql_ms")"
printf '%-32s %10s %10s\n' "nhi status (per call)" "$(ratio "$status_ms" "$calls")" "1.0"
printf '%-32s %10s %10s\n' "nhi whoami (per call)" "$(ratio "$whoami_ms" "$calls")" \
	"$(ratio "$whoami_ms" "$status_ms")"
