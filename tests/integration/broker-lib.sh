# Helpers for tests that run a real nhid (bash, sourced after lib.sh).
#
# broker_setup writes a config naming a private socket and state dir in
# NHI_TMP; start_nhid runs nhid in the foreground with it and waits until it
# answers; stop_nhid drains it. Call broker_setup before anything else: it
# installs the EXIT trap that stops nhid before lib.sh removes the temp dir.
#
# Variables after broker_setup: NHID NHICTL NHI (the programs), NHI_REAL
# (nhi with symlinks resolved, what nhid is told to attest through), STATE,
# SOCK, CONF, DB, NHID_PID, NHID_LOG.

: "${NHID:=$top_builddir/broker/nhid}"
: "${NHICTL:=$top_builddir/broker/nhictl}"
: "${NHI:=$top_builddir/broker/nhi}"
NHID_PID=

# broker_setup [EXTRA-CONFIG]: checks the programs are built, writes CONF
# ([broker] socket and state_dir, then EXTRA-CONFIG verbatim) and arms the
# teardown.
broker_setup()
{
	local prog
	for prog in "$NHID" "$NHICTL" "$NHI"; do
		[ -x "$prog" ] || bail_out "not built: $prog"
	done
	NHI_REAL=$(readlink -f "$NHI")
	STATE=$NHI_TMP/state
	SOCK=$NHI_TMP/broker.sock
	CONF=$NHI_TMP/nhi.conf
	DB=$STATE/nhi.db
	NHID_LOG=$NHI_TMP/nhid.log
	{
		printf '[broker]\nsocket = %s\nstate_dir = %s\n' "$SOCK" "$STATE"
		[ -z "${1:-}" ] || printf '\n%s\n' "$1"
	} >"$CONF"
	chmod 0644 "$CONF"
	# Runs before lib.sh's cleanup removes the temp dir. A bail-out still
	# fails the test (NHI_BAILED); the status of a script's last command
	# does not, as it does not for the tests' own traps.
	trap 'stop_nhid; nhi_on_exit' EXIT
}

# start_nhid [NHID-ARGS...]: starts nhid and waits until `nhi status`
# answers; bails out with its log when it does not.
start_nhid()
{
	local i
	"$NHID" -f -c "$CONF" --state-dir "$STATE" --socket "$SOCK" --nhi "$NHI_REAL" \
		--no-syslog "$@" >>"$NHID_LOG" 2>&1 </dev/null &
	NHID_PID=$!
	for i in $(seq 1 100); do
		"$NHI" -c "$CONF" status >/dev/null 2>&1 && return 0
		kill -0 "$NHID_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag_file "$NHID_LOG"
	bail_out "nhid did not start"
}

# stop_nhid: SIGTERM (drain), then SIGKILL after 5 s.
stop_nhid()
{
	local i
	[ -n "$NHID_PID" ] || return 0
	kill -TERM "$NHID_PID" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$NHID_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$NHID_PID" 2>/dev/null
	wait "$NHID_PID" 2>/dev/null
	NHID_PID=
}

ctl()
{
	"$NHICTL" -c "$CONF" "$@"
}

# expect DESC STATUS PATTERN CMD...: CMD exits STATUS and its output
# (stdout and stderr) matches the extended regex PATTERN.
expect()
{
	local desc=$1 status=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$status" ]; then
		fail "$desc" "expected exit $status, got $rc: $*" "$out"
	elif ! grep -Eq -- "$pattern" <<<"$out"; then
		fail "$desc" "output does not match: $pattern" "$out"
	else
		pass "$desc"
	fi
}

# json_check DESC PYTHON-EXPR CMD...: every stdout line of CMD is a JSON
# object, and EXPR (over `rows`, the list of them) is true.
json_check()
{
	local desc=$1 expr=$2 out
	shift 2
	if ! out=$("$@" 2>&1); then
		fail "$desc" "command failed: $*" "$out"
		return
	fi
	if python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert all(isinstance(r, dict) for r in rows)
sys.exit(0 if ('"$expr"') else 1)' <<<"$out" 2>&1; then
		pass "$desc"
	else
		fail "$desc" "JSON check failed: $expr" "$out"
	fi
}

# as_user USER PROGRAM NHI-ARGS...: USER runs PROGRAM -c 'nhi ARGS...'.
# The trailing `exit` keeps bash from exec'ing nhi in its own place, so
# PROGRAM stays nhi's parent: the program nhid attests.
as_user()
{
	local user=$1 prog=$2
	shift 2
	runuser -u "$user" -- "$prog" -c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" "$@"
}

# attested_shell PATH: a copy of bash at PATH, so that an exe_path
# selector names nothing else on the system.
attested_shell()
{
	cp /bin/bash "$1" && chmod 0755 "$1" || bail_out "cannot copy bash to $1"
}

# helper_user_ensure: the system account sshd runs nhi's helpers as
# (Authorized*CommandUser nhi). Created once, race-safely, never removed.
helper_user_ensure()
{
	id nhi >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nhi ||
		id nhi >/dev/null 2>&1 || bail_out "cannot create the helper user nhi"
}

# install_helpers BUILT...: copies each built program into
# LIBEXEC=$NHI_TMP/libexec. sshd runs an Authorized*Command only when it
# and every directory above it are root-owned and writable by no one else.
install_helpers()
{
	LIBEXEC=$NHI_TMP/libexec
	install -d -m 0755 -o root -g root "$LIBEXEC" &&
		install -m 0755 -o root -g root "$@" "$LIBEXEC/" ||
		bail_out "cannot install $* for sshd"
}

# principals_broker_start: what the certificate login tests over a real
# sshd begin with. The helper user, a started nhid with an attested shell
# in BOT_SHELL, and nhi-authorized-principals installed in LIBEXEC.
principals_broker_start()
{
	local built=$top_builddir/sshd_plugin/nhi-authorized-principals

	[ -x "$built" ] || bail_out "not built: $built"
	helper_user_ensure
	broker_setup
	BOT_SHELL=$NHI_TMP/bot-shell
	attested_shell "$BOT_SHELL"
	start_nhid
	install_helpers "$built"
}
