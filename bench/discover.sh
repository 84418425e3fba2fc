#!/usr/bin/env bash
# Bulk discovery: `nhictl discover` over N accounts with K keys each (10 000
# and 10 by default: the 100 000 keys of the budget), next to `cat` of the
# same files and `ssh-keygen -lf` of a sample of them, in one run. Root only
# (nhid reads the files as root, as it does in production); run by hand:
#
#   bench/discover.sh [BUILDDIR [ACCOUNTS [KEYS]]]   (make bench-discover)
#
# The accounts resolve through nss_nhi, from a cache written by the
# project's cache writer (bench/nss write), in a private mount namespace
# where /etc/nsswitch.conf says "passwd: nhi files", /etc/passwd holds root
# alone and /var/lib is a temp dir: nothing is added to the host's passwd, and a lookup costs what
# nss_nhi costs (printed below), not a linear scan of a 10 000-line file.
#
# The first run inventories every key (a row and an audit record each); the
# second finds them all known. Nothing here asserts a time.
set -euo pipefail

top=${1:-.}
accounts=${2:-10000}
keys=${3:-10}
[ "$(id -u)" = 0 ] || { echo "discover.sh: needs root (mount namespace)" >&2; exit 2; }
for f in "$top/broker/nhid" "$top/broker/nhictl" "$top/bench/nss" \
	"$top/nss_nhi/.libs/libnss_nhi.so.2"; do
	[ -e "$f" ] || { echo "discover.sh: missing $f (build first)" >&2; exit 2; }
done
top=$(cd "$top" && pwd)
# Everything below runs in a private mount namespace (see above).
if [ -z "${NHI_BENCH_DISCOVER_NS:-}" ]; then
	NHI_BENCH_DISCOVER_NS=1 exec unshare -m bash "$0" "$top" "$accounts" "$keys"
fi
mount --make-rprivate /

tmp=$(mktemp -d /tmp/nhi-bench-discover.XXXXXX)
chmod 0755 "$tmp"
nhid_pid=
cleanup()
{
	[ -z "$nhid_pid" ] || { kill -TERM "$nhid_pid" 2>/dev/null; wait "$nhid_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

# Homes owned by root (discovery accepts root's files, 0644), random
# Ed25519 public keys (32 random bytes each: parsing is what is measured).
python3 - "$tmp" "$accounts" "$keys" <<'EOF'
import base64, os, struct, sys
tmp, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def blob():
    t = b"ssh-ed25519"
    pk = os.urandom(32)
    return base64.b64encode(struct.pack(">I", len(t)) + t + struct.pack(">I", 32) + pk).decode()
with open(f"{tmp}/passwd", "w") as pw:
    for i in range(n):
        name, uid = f"bench{i}", 200000 + i
        home = f"{tmp}/home/{name}"
        pw.write(f"{name}:x:{uid}:{uid}::{home}:/bin/sh\n")
        os.makedirs(f"{home}/.ssh", mode=0o755)
        with open(f"{home}/.ssh/authorized_keys", "w") as f:
            for j in range(k):
                f.write(f"ssh-ed25519 {blob()} {name}-{j}\n")
EOF

# The broker's state dir is what /var/lib/nhi is below: its own cache
# writer puts the accounts (imported as service identities) where
# nss_nhi reads them.
mkdir -p "$tmp/varlib/nhi"
awk -F: '{ printf "{\"name\":\"%s\",\"kind\":\"service\",\"uid\":%s,\"gid\":%s,\"home\":\"%s\",\"shell\":\"%s\"}\n", $1, $3, $4, $6, $7 }' \
	"$tmp/passwd" >"$tmp/ids.jsonl"
# A private copy of /etc whose passwd holds root alone: the accounts that
# other programs add to and remove from the host's passwd while the bench
# runs are neither discovered nor reported missing. The whole of /etc is
# replaced, not a file in it, as bench/nss.sh explains.
mkdir "$tmp/etc"
cp -a /etc/. "$tmp/etc/"
grep '^root:' /etc/passwd >"$tmp/etc/passwd"
printf 'passwd: nhi files\ngroup: files\nshadow: files\n' >"$tmp/etc/nsswitch.conf"
mount --bind "$tmp/etc" /etc
mount --bind "$tmp/varlib" /var/lib
# glibc finds libnss_nhi.so.2 on the library path.
export LD_LIBRARY_PATH=$top/nss_nhi/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

printf '[broker]\nsocket = %s\nstate_dir = %s\n[sshd]\nkey_files = %%h/.ssh/authorized_keys\n' \
	"$tmp/sock" /var/lib/nhi >"$tmp/nhi.conf"
"$top/broker/nhid" -f -c "$tmp/nhi.conf" --no-syslog >"$tmp/log" 2>&1 </dev/null &
nhid_pid=$!
for _ in $(seq 1 100); do
	[ -S "$tmp/sock" ] && break
	sleep 0.1
done
[ -S "$tmp/sock" ] || { cat "$tmp/log" >&2; echo "discover.sh: nhid did not start" >&2; exit 1; }
"$top/broker/nhictl" -c "$tmp/nhi.conf" identity import "$tmp/ids.jsonl" >/dev/null
# The cache is rewritten after the import commits.
for _ in $(seq 1 100); do
	getent passwd "bench$((accounts - 1))" >/dev/null && break
	sleep 0.1
done
getent passwd "bench$((accounts - 1))" >/dev/null ||
	{ echo "discover.sh: the accounts do not resolve through nss_nhi" >&2; exit 1; }

# What one lookup by name costs here (Python's call included).
lookup_ns=$(python3 - "$accounts" <<'EOF'
import pwd, sys, time
n = int(sys.argv[1])
names = [f"bench{i}" for i in range(n)]
t0 = time.perf_counter_ns()
for name in names:
    pwd.getpwnam(name)
print((time.perf_counter_ns() - t0) // n)
EOF
)
ms() { echo $((($2 - $1) / 1000000)); }

t0=$(date +%s%N)
find "$tmp/home" -name authorized_keys -print0 | xargs -0 cat >/dev/null
t1=$(date +%s%N)
cat_ms=$(ms "$t0" "$t1")

# ssh-keygen -lf per file is too slow for all of them: a sample, scaled.
sample=$((accounts < 200 ? accounts : 200))
t0=$(date +%s%N)
for i in $(seq 0 $((sample - 1))); do
	ssh-keygen -lf "$tmp/home/bench$i/.ssh/authorized_keys" >/dev/null
done
t1=$(date +%s%N)
keygen_ms=$(($(ms "$t0" "$t1") * accounts / sample))

# nhid's CPU time (user + system) in ms: on a shared machine the wall
# time of a run moves with the others' load, its CPU time much less.
cpu_ms()
{
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' \
		"/proc/$nhid_pid/stat"
}

# run NAME: the wall time in NAME_ms, nhid's CPU time in NAME_cpu and
# nhictl's in NAME_ctl.
run()
{
	local t0 t1 c0 c1 TIMEFORMAT='%3U %3S'
	c0=$(cpu_ms)
	t0=$(date +%s%N)
	{ time "$top/broker/nhictl" -c "$tmp/nhi.conf" --timeout 60 discover --json \
		>"$tmp/out.json" 2>"$tmp/ctl.err"; } 2>"$tmp/ctl.time" ||
		{ cat "$tmp/ctl.err" >&2; exit 1; }
	t1=$(date +%s%N)
	c1=$(cpu_ms)
	printf -v "${1}_ms" %d "$(ms "$t0" "$t1")"
	printf -v "${1}_cpu" %d $((c1 - c0))
	printf -v "${1}_ctl" %d "$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$tmp/ctl.time")"
}
run first
found=$(tail -n 1 "$tmp/out.json")
run second

echo "bulk discovery: $accounts accounts, $((accounts * keys)) keys"
echo "summary: $found"
echo "accounts resolve through nss_nhi: getpwnam $lookup_ns ns each"
printf '%-34s %10s %12s %10s %11s\n' "" "ms" "vs cat" "nhid cpu" "nhictl cpu"
printf '%-34s %10d %12s\n' "cat of every file" "$cat_ms" "1.0"
printf '%-34s %10d %12s\n' "ssh-keygen -lf per file (scaled)" "$keygen_ms" \
	"$(awk -v a="$keygen_ms" -v b="$cat_ms" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')"
printf '%-34s %10d %12s %10d %11d\n' "nhictl discover, first run" "$first_ms" \
	"$(awk -v a="$first_ms" -v b="$cat_ms" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')" \
	"$first_cpu" "$first_ctl"
printf '%-34s %10d %12s %10d %11d\n' "nhictl discover, keys known" "$second_ms" \
	"$(awk -v a="$second_ms" -v b="$cat_ms" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')" \
	"$second_cpu" "$second_ctl"
echo "budget (DESIGN.md): 10 000 accounts / 100 000 keys in 5000 ms"
