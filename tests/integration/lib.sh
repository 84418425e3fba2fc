# Shared helpers for the integration tests (bash, sourced).
#
# TAP output, a private temp dir, throwaway users, and a real sshd on a free
# loopback port. Whatever a test creates is torn down by an EXIT trap, also
# when the test fails or is interrupted.
#
# The Makefile exports top_srcdir, top_builddir, SSH_KEYGEN and SSHD; the
# defaults below let a test (or scripts/demo.sh) run by hand from the source
# tree with a build in build/.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${SSH_KEYGEN:=ssh-keygen}"
: "${SSHD:=/usr/sbin/sshd}"
: "${CERTTOOL:=$top_builddir/tests/tools/nhi-certtool}"
export top_srcdir top_builddir SSH_KEYGEN SSHD CERTTOOL

NHI_TAP_PLANNED=0
NHI_TAP_COUNT=0
NHI_TAP_FAILED=0
NHI_SSHD_PID=
NHI_SSHD_PORT=
NHI_SSHD_LOG=
NHI_SSHD_CONFIG=
NHI_SSHD_MARK=0

# ---------------------------------------------------------------- TAP

plan()
{
	NHI_TAP_PLANNED=$1
	echo "1..$1"
}

# diag MSG...: each argument (and each line in it) as a "# " line.
diag()
{
	local arg line
	for arg in "$@"; do
		while IFS= read -r line; do
			echo "# $line"
		done <<<"$arg"
	done
}

# Prints a file's last lines as diagnostics.
diag_file()
{
	local file=$1 lines=${2:-20}
	[ -s "$file" ] || return 0
	echo "# --- last lines of $(basename "$file") ---"
	tail -n "$lines" "$file" | sed 's/^/#   /'
}

pass()
{
	NHI_TAP_COUNT=$((NHI_TAP_COUNT + 1))
	echo "ok $NHI_TAP_COUNT - $1"
}

# fail DESC [DIAGNOSTIC...]: a "not ok" line, the diagnostics, and the
# sshd log lines written since the last mark, if an sshd runs.
fail()
{
	local desc=$1
	shift
	NHI_TAP_COUNT=$((NHI_TAP_COUNT + 1))
	NHI_TAP_FAILED=$((NHI_TAP_FAILED + 1))
	echo "not ok $NHI_TAP_COUNT - $desc"
	[ $# -gt 0 ] && diag "$@"
	if [ -n "$NHI_SSHD_LOG" ] && [ -s "$NHI_SSHD_LOG" ]; then
		echo "# --- sshd log since the attempt ---"
		sshd_log_since_mark | tail -n 25 | sed 's/^/#   /'
	fi
	return 0
}

skip()
{
	NHI_TAP_COUNT=$((NHI_TAP_COUNT + 1))
	echo "ok $NHI_TAP_COUNT - $1 # SKIP ${2:-}"
}

# check DESC CMD...: ok when CMD exits 0; its output goes to the diagnostics.
check()
{
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "command failed (exit $?): $*" "$out"
	fi
}

# ok_if DESC CONDITION...: pass when the condition holds, else fail with
# what the test's last run left in RC, OUT and ERR.
ok_if()
{
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc" "exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

bail_out()
{
	echo "Bail out! $*"
	NHI_BAILED=1
	exit 1
}

# CI must not go green because the root tests were skipped.
require_root()
{
	[ "$(id -u)" -eq 0 ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "1..1"
		echo "not ok 1 - needs root (sshd, test users), and CI=true does not allow a skip"
		exit 1
	fi
	echo "1..0 # SKIP needs root (sshd, test users)"
	exit 0
}

require_certtool()
{
	[ -x "$CERTTOOL" ] || bail_out "nhi-certtool not built at $CERTTOOL"
}

# ---------------------------------------------------------------- temp dir

# sshd reads AuthorizedPrincipalsFile as the target user and, with
# StrictModes, wants every directory above it owned by root (or the user)
# and not group/other writable. /tmp is world-writable, so as root the
# temp dir lives under /run. It is 0755 so users can traverse it; secrets
# go in its 0700 private/ subdir.
nhi_make_tmpdir()
{
	local base=${TMPDIR:-/tmp}
	if [ "$(id -u)" -eq 0 ] && [ -d /run ] && [ -w /run ]; then
		base=/run
	fi
	NHI_TMP=$(mktemp -d "$base/nhit.XXXXXXXX") || bail_out "cannot create a temp dir in $base"
	chmod 0755 "$NHI_TMP"
	mkdir -m 0700 "$NHI_TMP/private"
	: >"$NHI_TMP/users"
	export NHI_TMP
}

# ---------------------------------------------------------------- teardown

nhi_cleanup()
{
	local user svc
	stop_sshd
	# PAM service files installed by start_sshd_pam
	if [ -n "${NHI_TMP:-}" ] && [ -f "$NHI_TMP/pam-services" ]; then
		while IFS= read -r svc; do
			case "$svc" in
			/etc/pam.d/nhit-*) rm -f -- "$svc" ;;
			esac
		done <"$NHI_TMP/pam-services"
	fi
	if [ -n "${NHI_TMP:-}" ] && [ -f "$NHI_TMP/users" ]; then
		while IFS= read -r user; do
			case "$user" in
			nhit-*) userdel -r -f "$user" >/dev/null 2>&1 || true ;;
			esac
		done <"$NHI_TMP/users"
	fi
	# NHI_KEEP_TMP=1 keeps keys, configs and logs for a look after a failure.
	if [ -n "${NHI_TMP:-}" ] && [ -d "$NHI_TMP" ] && [ "${NHI_KEEP_TMP:-0}" != 1 ]; then
		rm -rf -- "$NHI_TMP"
	fi
}

nhi_on_exit()
{
	local rc=$?
	trap - EXIT
	nhi_cleanup
	# A plan that was not met is a failure, even if every line printed was ok.
	if [ "$NHI_TAP_PLANNED" -gt 0 ] && [ "$NHI_TAP_COUNT" -ne "$NHI_TAP_PLANNED" ]; then
		echo "# planned $NHI_TAP_PLANNED tests but ran $NHI_TAP_COUNT"
		[ "$rc" -eq 0 ] && rc=1
	fi
	[ "$NHI_TAP_FAILED" -gt 0 ] && [ "$rc" -eq 0 ] && rc=1
	# A test's own EXIT trap may have run commands first, losing $?.
	[ "${NHI_BAILED:-0}" -eq 1 ] && [ "$rc" -eq 0 ] && rc=1
	exit "$rc"
}

trap nhi_on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- users

# make_user: creates a throwaway user (nhit-<random>, home, bash, no usable
# password), records it for teardown and prints its name. '*' rather than
# useradd's locked '!': with UsePAM no, sshd refuses accounts locked by '!'.
make_user()
{
	local name try
	name="nhit-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	echo "$name" >>"$NHI_TMP/users"
	# Parallel tests may hold the passwd lock for a moment.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		if useradd -m -s /bin/bash -p '*' "$name" >/dev/null 2>&1; then
			echo "$name"
			return 0
		fi
		sleep 0.3
	done
	echo "cannot create user $name" >&2
	return 1
}

# ---------------------------------------------------------------- sshd

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port()
{
	local port i
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		if command -v ss >/dev/null 2>&1 &&
			ss -Htan "( sport = :$port )" 2>/dev/null | grep -q .; then
			continue
		fi
		echo "$port"
		return 0
	done
	return 1
}

port_accepts()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_sshd [CONFIG-LINE...]: runs the system sshd in the foreground of a
# background job on a free loopback port. The test's lines come first, so
# they win over the defaults below (sshd keeps the first value it reads).
# Sets NHI_SSHD_PORT, NHI_SSHD_PID, NHI_SSHD_LOG, NHI_SSHD_CONFIG. Must be
# called in the test's own shell, not in $(...). NHI_SSHD_TAIL, when set, is
# appended last (for Match blocks).
start_sshd()
{
	local attempt i line
	stop_sshd
	# privilege separation directory, as the sshd package would create it
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	if [ ! -f "$NHI_TMP/host_ed25519" ]; then
		"$SSH_KEYGEN" -q -t ed25519 -N '' -C nhi-test-host -f "$NHI_TMP/host_ed25519" ||
			bail_out "cannot generate an sshd host key"
	fi
	NHI_SSHD_LOG=$NHI_TMP/sshd.log
	NHI_SSHD_CONFIG=$NHI_TMP/sshd_config
	for attempt in 1 2 3; do
		NHI_SSHD_PORT=$(free_port) || bail_out "no free TCP port on 127.0.0.1"
		{
			for line in "$@"; do
				echo "$line"
			done
			cat <<-EOF
				Port $NHI_SSHD_PORT
				ListenAddress 127.0.0.1
				AddressFamily inet
				HostKey $NHI_TMP/host_ed25519
				PidFile $NHI_TMP/sshd.pid
				UsePAM no
				PasswordAuthentication no
				KbdInteractiveAuthentication no
				PubkeyAuthentication yes
				AuthorizedKeysFile none
				StrictModes yes
				PermitRootLogin no
				LogLevel VERBOSE
			EOF
			# Match blocks must come last: they run to the end of the file.
			[ -z "${NHI_SSHD_TAIL:-}" ] || printf '%s\n' "$NHI_SSHD_TAIL"
		} >"$NHI_SSHD_CONFIG"
		chmod 0644 "$NHI_SSHD_CONFIG"
		if ! "$SSHD" -t -f "$NHI_SSHD_CONFIG" >"$NHI_TMP/sshd-t.out" 2>&1; then
			diag "sshd -t refused the configuration:"
			diag_file "$NHI_TMP/sshd-t.out"
			diag_file "$NHI_SSHD_CONFIG" 40
			bail_out "sshd configuration invalid"
		fi
		# one log across restarts; checks look past the mark only
		touch "$NHI_SSHD_LOG"
		sshd_log_mark
		"$SSHD" -D -e -f "$NHI_SSHD_CONFIG" >>"$NHI_SSHD_LOG" 2>&1 </dev/null &
		NHI_SSHD_PID=$!
		# bounded wait: 10 s
		for i in $(seq 1 100); do
			if ! kill -0 "$NHI_SSHD_PID" 2>/dev/null; then
				break
			fi
			if port_accepts "$NHI_SSHD_PORT"; then
				return 0
			fi
			sleep 0.1
		done
		# Lost a race for the port? Try another; anything else is fatal.
		if sshd_log_since_mark | grep -q 'Address already in use'; then
			stop_sshd
			continue
		fi
		sshd_log_since_mark | tail -n 30 | sed 's/^/#   /'
		stop_sshd
		bail_out "sshd did not start listening on 127.0.0.1:$NHI_SSHD_PORT"
	done
	bail_out "sshd could not bind a free port in 3 attempts"
}

# start_sshd_pam STACK [CONFIG-LINE...]: start_sshd with UsePAM yes under a
# PAM service of the test's own. sshd's PAM service is its program name and
# it re-execs itself by path, so this runs a root-owned copy of sshd named
# nhit-sshd-<random> by its absolute path, with STACK (the text of a PAM
# service file) in /etc/pam.d/<that name>. Calling it again rewrites the
# stack of the same service; PAM reads the file at every login. Sets
# NHI_PAM_SERVICE; the service file is removed at exit.
start_sshd_pam()
{
	local stack=$1
	shift
	if [ -z "${NHI_PAM_SERVICE:-}" ]; then
		NHI_PAM_SERVICE="nhit-sshd-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
		echo "/etc/pam.d/$NHI_PAM_SERVICE" >>"$NHI_TMP/pam-services"
		install -d -m 0755 -o root -g root "$NHI_TMP/sbin" &&
			install -m 0755 -o root -g root "$SSHD" "$NHI_TMP/sbin/$NHI_PAM_SERVICE" ||
			bail_out "cannot copy $SSHD"
	fi
	printf '%s\n' "$stack" >"/etc/pam.d/$NHI_PAM_SERVICE" &&
		chmod 0644 "/etc/pam.d/$NHI_PAM_SERVICE" || bail_out "cannot write the PAM service"
	SSHD=$NHI_TMP/sbin/$NHI_PAM_SERVICE start_sshd "UsePAM yes" "$@"
}

stop_sshd()
{
	local i
	[ -n "$NHI_SSHD_PID" ] || return 0
	if kill -0 "$NHI_SSHD_PID" 2>/dev/null; then
		kill -TERM "$NHI_SSHD_PID" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$NHI_SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NHI_SSHD_PID" 2>/dev/null
	fi
	wait "$NHI_SSHD_PID" 2>/dev/null
	NHI_SSHD_PID=
	return 0
}

# Remembers the end of the sshd log, so that a check can look only at what
# the next attempt wrote.
sshd_log_mark()
{
	NHI_SSHD_MARK=$(wc -l <"$NHI_SSHD_LOG" 2>/dev/null || echo 0)
}

sshd_log_since_mark()
{
	tail -n "+$((NHI_SSHD_MARK + 1))" "$NHI_SSHD_LOG" 2>/dev/null
}

# sshd_log_has PATTERN: true when the log since the mark matches (grep -E).
# sshd may log a little after the client has gone, so wait briefly.
sshd_log_has()
{
	local i
	for i in $(seq 1 20); do
		sshd_log_since_mark | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ssh_as USER [SSH-OPTION...] [-- COMMAND...]: ssh to the test sshd as
# USER, with no user or system config, no agent and no known_hosts, bounded
# in time. Marks the sshd log first. Output (stdout and stderr) is left in
# $NHI_SSH_OUT, the exit status is returned.
ssh_as()
{
	local user=$1 rc
	local -a opts=() cmd=()
	shift
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			shift
			cmd=("$@")
			break
		fi
		opts+=("$1")
		shift
	done
	sshd_log_mark
	NHI_SSH_OUT=$(SSH_AUTH_SOCK= timeout 30 ssh -F /dev/null \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o ConnectTimeout=5 -o LogLevel=ERROR \
		-p "$NHI_SSHD_PORT" -l "$user" "${opts[@]}" 127.0.0.1 "${cmd[@]}" 2>&1 </dev/null)
	rc=$?
	return $rc
}

# A user key pair made by ssh-keygen, in the private dir: prints the path of
# the private key; the public one is PATH.pub.
make_user_key()
{
	local name=$1 path
	path=$NHI_TMP/private/$name
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C "$name" -f "$path" || return 1
	echo "$path"
}

nhi_make_tmpdir
