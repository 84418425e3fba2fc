#!/usr/bin/env bash
# What pam_nhi's account and session stages add to an sshd certificate
# login of an automation identity. Two sshd instances run side by side from byte-identical copies of
# the system sshd, with the same sshd_config lines (UsePAM yes, a broker
# certificate accepted through nhi-authorized-principals, ExposeAuthInfo
# yes), the same user, key and certificate; they differ only in their PAM
# stack: pam_unix alone, or pam_unix and pam_nhi. Logins (`ssh ... true`)
# alternate between them, the order swapped every round, and the median and
# p95 wall time of each, and their ratio, are printed. Nothing asserts a
# time. Needs root (sshd, /etc/pam.d, a throwaway user); run it by hand or
# with `make bench-pam`.
#
#   bench/pam.sh [ROUNDS]      (default 50)
ROUNDS=${1:-50}
case "$ROUNDS" in
'' | *[!0-9]*) echo "usage: $0 [ROUNDS]" >&2 && exit 2 ;;
esac

. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench/pam.sh needs root (sshd, /etc/pam.d, users)" >&2; exit 2; }
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
HELPER_BUILT=$top_builddir/sshd_plugin/nhi-authorized-principals
[ -f "$PAM_SO" ] && [ -x "$HELPER_BUILT" ] || bail_out "build first: pam_nhi.so, nhi-authorized-principals"
helper_user_ensure

broker_setup
BENCH_PIDS=()
trap 'bench_rc=$?; for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done;
	stop_nhid; (exit "$bench_rc"); nhi_on_exit' EXIT
BOT_SHELL=$NHI_TMP/user-shell
attested_shell "$BOT_SHELL"
start_nhid

install -d -m 0755 -o root -g root "$NHI_TMP/sbin"
install_helpers "$HELPER_BUILT"
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$NHI_TMP/host_ed25519" || bail_out "no host key"

BOT=$(make_user) || bail_out "cannot create a user"
runuser -u "$BOT" -- test -x "$NHI" || bail_out "$BOT cannot run $NHI"
# An automation identity: its login costs pam_nhi the most, since sshd's
# account stage has no SSH_AUTH_INFO_0 yet and the broker records a
# deferral, then judges the certificate again at session open.
ctl identity add "$BOT" --kind automation --selector "uid=$(id -u "$BOT")" \
	--selector "exe_path=$BOT_SHELL" >/dev/null 2>&1 || bail_out "cannot add the identity"
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys"
KEY=$NHI_TMP/keys/bench
as_user "$BOT" "$BOT_SHELL" cert --identity "$BOT" --out "$KEY" >/dev/null ||
	bail_out "no certificate"

# start_one NAME PAM-STACK: a copy of sshd named NAME (so PAM service NAME)
# on a free port, left in STARTED_PORT.
start_one()
{
	local name=$1 stack=$2 port i pid
	install -m 0755 -o root -g root "$SSHD" "$NHI_TMP/sbin/$name" || bail_out "cannot copy sshd"
	echo "/etc/pam.d/$name" >>"$NHI_TMP/pam-services"
	printf '%s\n' "$stack" >"/etc/pam.d/$name"
	port=$(free_port) || bail_out "no free port"
	cat >"$NHI_TMP/$name.conf" <<-EOF
		UsePAM yes
		TrustedUserCAKeys $STATE/user_ca.pub
		AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f
		AuthorizedPrincipalsCommandUser nhi
		ExposeAuthInfo yes
		Port $port
		ListenAddress 127.0.0.1
		HostKey $NHI_TMP/host_ed25519
		PidFile none
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		AuthorizedKeysFile none
		PermitRootLogin no
		LogLevel ERROR
	EOF
	"$NHI_TMP/sbin/$name" -D -f "$NHI_TMP/$name.conf" -E "$NHI_TMP/$name.log" </dev/null &
	pid=$!
	BENCH_PIDS+=("$pid")
	for i in $(seq 1 100); do
		port_accepts "$port" && break
		kill -0 "$pid" 2>/dev/null || bail_out "sshd $name did not start: $(cat "$NHI_TMP/$name.log")"
		sleep 0.1
	done
	STARTED_PORT=$port
}

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
start_one "nhit-sshd-plain-$suffix" "account  required pam_unix.so
session  required pam_unix.so"
PORT_PLAIN=$STARTED_PORT
start_one "nhit-sshd-nhi-$suffix" "account  required pam_unix.so
account  required $PAM_SO socket=$SOCK
session  required pam_unix.so
session  required $PAM_SO socket=$SOCK"
PORT_NHI=$STARTED_PORT

# login PORT: one certificate login running `true`; prints its wall time in µs.
login()
{
	local t0 t1
	t0=$(date +%s%N)
	SSH_AUTH_SOCK= ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -o IdentityAgent=none -o LogLevel=ERROR \
		-i "$KEY" -o CertificateFile="$KEY-cert.pub" -p "$1" -l "$BOT" 127.0.0.1 true \
		</dev/null || bail_out "login on port $1 failed"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

# warm-up: page cache, the broker's attestation cache, sshd's first fork
login "$PORT_PLAIN" >/dev/null && login "$PORT_NHI" >/dev/null
: >"$NHI_TMP/plain.us"
: >"$NHI_TMP/nhi.us"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then
		login "$PORT_PLAIN" >>"$NHI_TMP/plain.us"
		login "$PORT_NHI" >>"$NHI_TMP/nhi.us"
	else
		login "$PORT_NHI" >>"$NHI_TMP/nhi.us"
		login "$PORT_PLAIN" >>"$NHI_TMP/plain.us"
	fi
done

# pam_nhi must have run: two session records per login on its sshd
sessions=$(ctl audit export --json | python3 -c 'import json, sys
print(sum(1 for l in sys.stdin if json.loads(l).get("type") == "session"))')
python3 - "$NHI_TMP/plain.us" "$NHI_TMP/nhi.us" "$ROUNDS" "$sessions" <<'EOF'
import statistics, sys
def load(p):
    return sorted(int(l) / 1000 for l in open(p))
plain, nhi = load(sys.argv[1]), load(sys.argv[2])
def p95(v):
    return v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
print(f"sshd automation certificate login, UsePAM yes, {sys.argv[3]} rounds alternating "
      f"({sys.argv[4]} session records audited, expected {2 * (int(sys.argv[3]) + 1)})")
print(f"{'PAM stack':<28}{'median ms':>10}{'p95 ms':>10}")
for name, v in (("pam_unix", plain), ("pam_unix + pam_nhi", nhi)):
    print(f"{name:<28}{statistics.median(v):>10.1f}{p95(v):>10.1f}")
print(f"ratio pam_nhi / without: median {statistics.median(nhi) / statistics.median(plain):.3f}, "
      f"p95 {p95(nhi) / p95(plain):.3f}  (target <= 1.05)")
EOF
