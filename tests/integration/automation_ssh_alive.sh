#!/usr/bin/env bash
# nhi ssh keepalives against a real loopback sshd: a quiet command outlives
# several keepalive intervals because sshd answers each keepalive; when the
# server stops answering (its session processes frozen with SIGSTOP), while
# the command's output is open or after it closed it, nhi ssh gives up with
# 255 and says so, where without keepalives it would wait for ever (shown
# by --alive-interval 0, which only the timeout guard ends); bad values are
# refused as usage errors.
# Needs root (sshd, runuser, throwaway users, the nhi system user).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v pgrep >/dev/null || bail_out "pgrep (procps) is needed"
command -v timeout >/dev/null || bail_out "timeout (coreutils) is needed"
plan 15

principals_broker_start

BOT=$(make_user) || bail_out "cannot create a test user"
BOT_UID=$(id -u "$BOT")
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
install -d -m 0755 -o "$BOT" -g "$BOT" "$NHI_TMP/work"

ctl identity add "$BOT" --kind automation --selector "uid=$BOT_UID" \
	--selector "exe_path=$BOT_SHELL" >/dev/null || bail_out "cannot add the identity"

start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi"
KH=$NHI_TMP/work/known_hosts
echo "[127.0.0.1]:$NHI_SSHD_PORT $(cat "$NHI_TMP/host_ed25519.pub")" >"$KH"
chmod 0644 "$KH"
PORT=$NHI_SSHD_PORT

# bot_ssh GUARD NHI-SSH-ARGS...: the attested program runs `nhi ssh` as the
# bot user, ended by `timeout GUARD` should it hang; stdout in OUT, stderr
# in ERR, status RC (124 when the guard fired).
bot_ssh()
{
	local guard=$1
	shift
	(cd "$NHI_TMP/work" && timeout -k 5 "$guard" runuser -u "$BOT" -- "$BOT_SHELL" \
		-c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" ssh "$@") \
		>"$NHI_TMP/out" 2>"$NHI_TMP/err" </dev/null
	RC=$?
	OUT=$(cat "$NHI_TMP/out")
	ERR=$(cat "$NHI_TMP/err")
}

# --- a live server answers: a command quiet for 3 s, keepalives every
# second, and a single unanswered one allowed. Without the answers counted,
# nhi would give up after 2 s.
bot_ssh 60 --alive-interval 1 --alive-count 1 --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1 -- 'sleep 3; echo done; exit 5'
ok_if "--alive-interval 1 --alive-count 1: a command quiet for 3 s ends with its status (5)" \
	test "$RC" -eq 5
ok_if "... and its output arrives" test "$OUT" = done
ok_if "... nhi says nothing about keepalives" eval '! grep -q keepalive <<<"$ERR"'

# The keepalives are on the wire and answered: libssh's packet log (-vv)
# shows the requests and sshd's replies (a failure: it knows no such name).
bot_ssh 60 -v -v --alive-interval 1 --identity "$BOT" -p "$PORT" --known-hosts "$KH" \
	127.0.0.1 -- 'sleep 4; echo done'
sent=$(grep -c "GLOBAL_REQUEST keepalive@openssh.com" <<<"$ERR")
answered=$(grep -c "Received SSH_REQUEST_FAILURE" <<<"$ERR")
if [ "$RC" -eq 0 ] && [ "$OUT" = done ] && [ "$sent" -ge 2 ] && [ "$answered" -ge 2 ]; then
	pass "-vv shows keepalive@openssh.com sent and answered ($sent sent, $answered answered)"
else
	fail "-vv shows keepalive@openssh.com sent and answered" "exit $RC, $sent sent," \
		"$answered answered" "stdout: $OUT" "$(tail -n 20 <<<"$ERR")"
fi

# --- a server that stops answering. The session's sshd processes (the
# listener's children and theirs, this test's sshd serving only this
# connection) are frozen once the command has started.

# descendants PID: PID's descendants, parents first.
descendants()
{
	local child
	for child in $(pgrep -P "$1"); do
		echo "$child"
		descendants "$child"
	done
}

# no_sessions: waits (5 s at most) until the listener has no children left.
no_sessions()
{
	local i
	for i in $(seq 1 50); do
		[ -z "$(pgrep -P "$NHI_SSHD_PID")" ] && return 0
		sleep 0.1
	done
	return 1
}

# frozen_run GUARD NHI-SSH-ARGS...: `nhi ssh` as in bot_ssh, in the
# background, running REMOTE (default: say "started", then sleep); once
# the remote command has said "started", the session is frozen; then nhi
# is waited for and the frozen processes are killed. Sets RC, OUT, ERR,
# and FROZE=1 when the freeze happened. STDIN_MB, when set, streams that
# many MB of zeros to nhi's stdin.
REMOTE='echo started; sleep 120'
STDIN_MB=
frozen_run()
{
	local guard=$1 pid i pids
	shift
	no_sessions || bail_out "sshd sessions of earlier checks are still running"
	rm -f "$NHI_TMP/out" "$NHI_TMP/err"
	(
		cd "$NHI_TMP/work" || exit 1
		[ -z "$STDIN_MB" ] || exec < <(head -c $((STDIN_MB * 1024 * 1024)) /dev/zero)
		exec timeout -k 5 "$guard" runuser -u "$BOT" -- "$BOT_SHELL" \
			-c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" ssh "$@" -- "$REMOTE"
	) >"$NHI_TMP/out" 2>"$NHI_TMP/err" &
	pid=$!
	for i in $(seq 1 200); do
		grep -q started "$NHI_TMP/out" 2>/dev/null && break
		sleep 0.1
	done
	pids=$(descendants "$NHI_SSHD_PID")
	FROZE=0
	if grep -q started "$NHI_TMP/out" 2>/dev/null && [ -n "$pids" ]; then
		kill -STOP $pids 2>/dev/null && FROZE=1
	fi
	wait "$pid"
	RC=$?
	OUT=$(cat "$NHI_TMP/out")
	ERR=$(cat "$NHI_TMP/err")
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	no_sessions || bail_out "the frozen sshd session did not go away"
}

frozen_run 30 --alive-interval 1 --alive-count 2 --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1
ok_if "the remote command started and the session was frozen" test "$FROZE" -eq 1
ok_if "a frozen server, --alive-interval 1 --alive-count 2: nhi exits 255 (not the guard's 124)" \
	test "$RC" -eq 255
ok_if "... saying the host gave no answer to 2 keepalives" \
	grep -q "^nhi: no answer from 127.0.0.1 to 2 keepalives" <<<"$ERR"

# A command that closed its output: nhi has seen the end of its output
# and waits for its exit status when the server freezes.
REMOTE='echo started; exec >&- 2>&-; sleep 120'
frozen_run 30 --alive-interval 1 --alive-count 2 --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1
REMOTE='echo started; sleep 120'
ok_if "a frozen server, waiting for the status of a command that closed its output: 255" \
	test "$FROZE" -eq 1 -a "$RC" -eq 255
ok_if "... saying the host gave no answer to 2 keepalives" \
	grep -q "^nhi: no answer from 127.0.0.1 to 2 keepalives" <<<"$ERR"

# Streaming stdin to the command when the server freezes: its window
# closes, nhi stops reading stdin and still gives up.
REMOTE='echo started; cat >/dev/null'
STDIN_MB=4096
frozen_run 30 --alive-interval 1 --alive-count 2 --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1
REMOTE='echo started; sleep 120'
STDIN_MB=
ok_if "a frozen server while stdin streams to the command: 255" \
	test "$FROZE" -eq 1 -a "$RC" -eq 255
ok_if "... saying the host gave no answer to 2 keepalives" \
	grep -q "^nhi: no answer from 127.0.0.1 to 2 keepalives" <<<"$ERR"

# The same freeze with keepalives off: nhi would wait for ever, and only
# the guard ends it. This is what every nhi ssh did before keepalives.
frozen_run 6 --alive-interval 0 --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1
ok_if "--alive-interval 0 (off): a frozen server holds nhi until the guard ends it (124)" \
	test "$FROZE" -eq 1 -a "$RC" -eq 124

# --- bad values: usage errors (2) that name the value; nothing connects.
# refused OPTION VALUE
refused()
{
	bot_ssh 30 "$1" "$2" --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- \
		touch "$NHI_TMP/work/ran"
	WANT="invalid $1 '$2'"
	ok_if "$1 $2: refused as a usage error (2) naming '$2'; nothing runs" eval \
		'test "$RC" -eq 2 -a ! -e "$NHI_TMP/work/ran" && grep -qF -- "$WANT" <<<"$ERR"'
}
refused --alive-interval -1
refused --alive-interval abc
refused --alive-count 0
