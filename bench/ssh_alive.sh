#!/usr/bin/env bash
# What nhi ssh's keepalives cost, next to OpenSSH's ssh with the same
# setting, alternating in one run against one loopback sshd (TrustedUserCAKeys
# with the broker's CA; ssh offers a broker certificate made by `nhi cert`):
#
#   bulk: the remote command writes SIZE MB to stdout (read by wc -c);
#         nhi ssh with keepalives every second, nhi ssh with them off, and
#         ssh -o ServerAliveInterval=1. Median wall time and client CPU
#         time, and the ratios. Data keeps arriving, so no keepalive should
#         be sent at all.
#   idle: the remote command sleeps IDLE seconds; CPU time (user + system)
#         of the client and everything it ran (runuser, the shell, nhi's
#         certificate request), with keepalives every second and off, and
#         ssh with ServerAliveInterval=1: what a second's keepalive costs.
#
# Each run checks its own result (byte count, exit status), so a run that
# failed cannot look fast. Prints medians and ratios; asserts no time.
# Needs root (sshd, runuser, a throwaway user).
#
#   bench/ssh_alive.sh [ROUNDS [SIZE-MB [IDLE-SECONDS]]]   (default 5, 256, 5)
ROUNDS=${1:-5}
SIZE_MB=${2:-256}
IDLE=${3:-5}
case "$ROUNDS:$SIZE_MB:$IDLE" in
*[!0-9:]* | :* | *: | *::* | 0* | *:0*)
	echo "usage: $0 [ROUNDS [SIZE-MB [IDLE-SECONDS]]]" >&2
	exit 2
	;;
esac

. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench/ssh_alive.sh needs root (sshd, users)" >&2; exit 2; }
PRINC_BUILT=$top_builddir/sshd_plugin/nhi-authorized-principals
[ -x "$PRINC_BUILT" ] || bail_out "build first: $PRINC_BUILT"
SSH=$(command -v ssh) || bail_out "no ssh client"
helper_user_ensure

broker_setup
BOT_SHELL=$NHI_TMP/bot-shell
attested_shell "$BOT_SHELL"
start_nhid
install_helpers "$PRINC_BUILT"

BOT=$(make_user) || bail_out "cannot create a user"
runuser -u "$BOT" -- test -x "$NHI" || bail_out "$BOT cannot run $NHI"
ctl identity add "$BOT" --kind automation --selector "uid=$(id -u "$BOT")" \
	--selector "exe_path=$BOT_SHELL" >/dev/null 2>&1 || bail_out "cannot add the identity"
install -d -m 0755 -o "$BOT" -g "$BOT" "$NHI_TMP/work"
install -d -m 0700 -o "$BOT" -g "$BOT" "$NHI_TMP/keys"
CERT_KEY=$NHI_TMP/keys/cert
as_user "$BOT" "$BOT_SHELL" cert --identity "$BOT" --ttl 1h --out "$CERT_KEY" >/dev/null ||
	bail_out "no certificate for ssh"

start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi"
PORT=$NHI_SSHD_PORT
KH=$NHI_TMP/work/known_hosts
echo "[127.0.0.1]:$PORT $(cat "$NHI_TMP/host_ed25519.pub")" >"$KH"
chmod 0644 "$KH"

# client NAME COMMAND: runs COMMAND on the server as the bot user's
# attested shell would, with the client named NAME.
client()
{
	local name=$1 cmd=$2
	case "$name" in
	nhi-alive1) as_user "$BOT" "$BOT_SHELL" ssh --alive-interval 1 --identity "$BOT" \
		-p "$PORT" --known-hosts "$KH" 127.0.0.1 -- "$cmd" ;;
	nhi-off) as_user "$BOT" "$BOT_SHELL" ssh --alive-interval 0 --identity "$BOT" \
		-p "$PORT" --known-hosts "$KH" 127.0.0.1 -- "$cmd" ;;
	ssh-alive1) runuser -u "$BOT" -- "$BOT_SHELL" -c '"$@"; exit $?' ssh-run "$SSH" -F none \
		-o ServerAliveInterval=1 -o BatchMode=yes -o UserKnownHostsFile="$KH" \
		-o IdentitiesOnly=yes -i "$CERT_KEY" -p "$PORT" -l "$BOT" 127.0.0.1 "$cmd" ;;
	esac
}

CLIENTS="nhi-alive1 nhi-off ssh-alive1"
TIMEFORMAT='%R %U %S'
bytes=$((SIZE_MB * 1024 * 1024))
for round in $(seq 1 "$ROUNDS"); do
	for c in $CLIENTS; do
		{ time client "$c" "head -c $bytes /dev/zero" 2>"$NHI_TMP/err" | wc -c \
			>"$NHI_TMP/count"; } 2>"$NHI_TMP/time"
		[ "$(cat "$NHI_TMP/count")" -eq "$bytes" ] ||
			bail_out "bulk $c: $(cat "$NHI_TMP/count") bytes, not $bytes: $(cat "$NHI_TMP/err")"
		awk '{ print $1 }' "$NHI_TMP/time" >>"$NHI_TMP/bulk-$c"
		awk '{ printf "%.0f\n", ($2 + $3) * 1000 }' "$NHI_TMP/time" >>"$NHI_TMP/bulkcpu-$c"
		{ time client "$c" "sleep $IDLE; exit 3" >/dev/null 2>"$NHI_TMP/err"; } \
			2>"$NHI_TMP/time"
		rc=$?
		# `time` reports the status of what it timed.
		[ "$rc" -eq 3 ] || bail_out "idle $c: exit $rc, not 3: $(cat "$NHI_TMP/err")"
		awk '{ printf "%.0f\n", ($2 + $3) * 1000 }' "$NHI_TMP/time" >>"$NHI_TMP/idle-$c"
	done
done

median()
{
	sort -n "$1" | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "# nhi ssh keepalives, $ROUNDS rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bulk: $SIZE_MB MB of remote stdout, median wall seconds"
for c in $CLIENTS; do
	printf '  %-11s %s\n' "$c" "$(median "$NHI_TMP/bulk-$c")"
	eval "bulk_${c//-/_}=$(median "$NHI_TMP/bulk-$c")"
done
echo "bulk: median client CPU milliseconds (user + system, wc included)"
for c in $CLIENTS; do
	printf '  %-11s %s\n' "$c" "$(median "$NHI_TMP/bulkcpu-$c")"
	eval "bulkcpu_${c//-/_}=$(median "$NHI_TMP/bulkcpu-$c")"
done
echo "idle: 'sleep $IDLE', median client CPU milliseconds (user + system)"
for c in $CLIENTS; do
	printf '  %-11s %s\n' "$c" "$(median "$NHI_TMP/idle-$c")"
	eval "idle_${c//-/_}=$(median "$NHI_TMP/idle-$c")"
done
awk -v a="$bulk_nhi_alive1" -v o="$bulk_nhi_off" -v s="$bulk_ssh_alive1" \
	-v ca="$bulkcpu_nhi_alive1" -v co="$bulkcpu_nhi_off" -v cs="$bulkcpu_ssh_alive1" \
	-v ia="$idle_nhi_alive1" -v io="$idle_nhi_off" -v is="$idle_ssh_alive1" 'BEGIN {
	printf "ratio bulk  nhi-alive1 / nhi-off:    %.3f\n", a / o
	printf "ratio bulk  nhi-alive1 / ssh-alive1: %.3f\n", a / s
	printf "ratio bulk CPU  nhi-alive1 / nhi-off:    %.3f\n", ca / co
	printf "ratio bulk CPU  nhi-alive1 / ssh-alive1: %.3f\n", ca / cs
	printf "ratio idle  nhi-alive1 / nhi-off:    %.3f\n", (io > 0) ? ia / io : 0
	printf "ratio idle  nhi-alive1 / ssh-alive1: %.3f\n", (is > 0) ? ia / is : 0
}'
