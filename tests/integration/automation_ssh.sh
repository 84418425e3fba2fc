#!/usr/bin/env bash
# nhi ssh end to end: an automation identity whose selectors name a test
# user and the program that runs nhi gets a certificate for a key made in
# memory and runs commands on a real loopback sshd (TrustedUserCAKeys, the
# broker's KRL, nhi-authorized-principals) through libssh. Output, stdin and
# exit statuses pass through; the certificate gets no pty; no key file
# appears on disk (a search of the file systems, and strace of nhi); an
# unknown or changed host key is refused; a suspended identity gets nothing.
# Needs root (sshd, runuser, throwaway users, the nhi system user).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
command -v strace >/dev/null || bail_out "strace is needed (scripts/deps.sh)"
command -v script >/dev/null || bail_out "script (util-linux) is needed"
plan 24

principals_broker_start

BOT=$(make_user) || bail_out "cannot create a test user"
OTHER=$(make_user) || bail_out "cannot create a test user"
BOT_UID=$(id -u "$BOT")
BOT_HOME=$(getent passwd "$BOT" | cut -d: -f6)
runuser -u "$BOT" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
install -d -m 0755 -o "$BOT" -g "$BOT" "$NHI_TMP/work"

# Named for the account: the certificate's principal is the login name.
ctl identity add "$BOT" --kind automation --selector "uid=$BOT_UID" \
	--selector "exe_path=$BOT_SHELL" >/dev/null || bail_out "cannot add the identity"

start_sshd "TrustedUserCAKeys $STATE/user_ca.pub" "RevokedKeys $STATE/revoked.krl" \
	"AuthorizedPrincipalsCommand $NHI_TMP/libexec/nhi-authorized-principals -c $CONF %u %U %s %i %f" \
	"AuthorizedPrincipalsCommandUser nhi" "ExposeAuthInfo yes"
KH=$NHI_TMP/work/known_hosts
echo "[127.0.0.1]:$NHI_SSHD_PORT $(cat "$NHI_TMP/host_ed25519.pub")" >"$KH"
chmod 0644 "$KH"

# Every file written from here on is searched for the keys nhi ssh makes.
START=$NHI_TMP/start-mark
touch "$START"

# bot_ssh NHI-SSH-ARGS...: the attested program runs `nhi ssh` as the bot
# user, in a directory of its own; stdout in OUT, stderr in ERR, status RC.
bot_ssh()
{
	sshd_log_mark
	(cd "$NHI_TMP/work" && as_user "$BOT" "$BOT_SHELL" ssh "$@") \
		>"$NHI_TMP/out" 2>"$NHI_TMP/err" </dev/null
	RC=$?
	OUT=$(cat "$NHI_TMP/out")
	ERR=$(cat "$NHI_TMP/err")
}

PORT=$NHI_SSHD_PORT
bot_ssh --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- id -un
ok_if "nhi ssh runs 'id -un' as the certificate's principal, exit 0" \
	test "$RC" -eq 0 -a "$OUT" = "$BOT"
if sshd_log_has "Accepted publickey for $BOT .*ED25519-CERT .*ID nhi:$BOT:[0-9]+"; then
	pass "... sshd accepted the broker's certificate for it"
else
	fail "... sshd accepted the broker's certificate for it"
fi

bot_ssh --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- \
	'echo to-stdout; echo to-stderr >&2; exit 7'
ok_if "a failing remote command's exit status (7) is nhi's" test "$RC" -eq 7
ok_if "... its stdout and stderr arrive on nhi's stdout and stderr" \
	test "$OUT" = to-stdout -a "$ERR" = to-stderr

# The connect timeout bounds connecting and authenticating; 3 s leaves
# room for a loaded machine running sanitizer builds of sshd's helpers.
bot_ssh --connect-timeout 3 --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- \
	'exec >&- 2>&-; sleep 5; exit 4'
ok_if "a command that closes its output and exits after the connect timeout: its status (4)" \
	test "$RC" -eq 4

sshd_log_mark
out=$(printf 'line one\nline two\n' |
	(cd "$NHI_TMP/work" && as_user "$BOT" "$BOT_SHELL" ssh --identity "$BOT" -p "$PORT" \
		--known-hosts "$KH" 127.0.0.1 -- 'tr a-z A-Z; echo done') 2>&1)
if [ "$out" = $'LINE ONE\nLINE TWO\ndone' ]; then
	pass "stdin goes to the remote command, and its end reaches it"
else
	fail "stdin goes to the remote command, and its end reaches it" "$out"
fi

# A remote command that reads its stdin late: the connect timeout (3 s here)
# bounds connecting and authentication, not a session waiting on the peer.
n=$(head -c 4000000 /dev/zero |
	(cd "$NHI_TMP/work" && as_user "$BOT" "$BOT_SHELL" ssh --connect-timeout 3 \
		--identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- 'sleep 5; wc -c') 2>&1)
if [ "$n" = 4000000 ]; then
	pass "4 MB of stdin reach a command that starts reading after the connect timeout"
else
	fail "4 MB of stdin reach a command that starts reading after the connect timeout" "$n"
fi

n=$( (cd "$NHI_TMP/work" && as_user "$BOT" "$BOT_SHELL" ssh -n --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1 -- head -c 3000000 /dev/zero) 2>/dev/null | wc -c)
if [ "$n" -eq 3000000 ]; then
	pass "3 MB of output arrive whole"
else
	fail "3 MB of output arrive whole" "got $n bytes"
fi

bot_ssh -t --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- tty
ok_if "-t: sshd refuses the automation certificate a pty; 'tty' says not a tty" \
	grep -q "not a tty" <<<"$OUT"
ok_if "... nhi says the server refused a terminal" grep -q "refused a terminal" <<<"$ERR"

# No COMMAND, and stdin a terminal (script(1) gives nhi one): a shell is
# asked for with a pty, sshd refuses the pty, the shell still runs what
# the terminal sends, and its exit status is nhi's.
out=$(printf 'echo shell-ran; tty; exit 3\n' | (cd "$NHI_TMP/work" && timeout 60 script -qec \
	"runuser -u $BOT -- $BOT_SHELL -c '\"\$@\"; exit \$?' nhi-run $NHI -c $CONF ssh \
	--identity $BOT -p $PORT --known-hosts $KH 127.0.0.1" /dev/null) 2>&1)
rc=$?
if [ "$rc" -eq 3 ] && grep -q "refused a terminal" <<<"$out" && grep -q "^shell-ran" <<<"$out" &&
	grep -q "^not a tty" <<<"$out"; then
	pass "no command on a terminal: pty refused, the shell runs without one, its status is nhi's"
else
	fail "no command on a terminal: pty refused, the shell runs without one, its status is nhi's" \
		"exit $rc" "$out"
fi

# A terminal that changes size: with --allow-pty the certificate permits a
# pty, and nhi passes each SIGWINCH on as ssh does: the remote terminal,
# 24x80 at first, is 40x100 after ours is resized.
ctl identity set "$BOT" --allow-pty >/dev/null || bail_out "cannot allow a pty"
out=$(cd "$NHI_TMP/work" && timeout 60 python3 - runuser -u "$BOT" -- "$BOT_SHELL" \
	-c '"$@"; exit $?' nhi-run "$NHI" -c "$CONF" ssh -t --identity "$BOT" -p "$PORT" \
	--known-hosts "$KH" 127.0.0.1 -- 'stty size; sleep 2; stty size' <<'PY' 2>&1
import fcntl, os, pty, re, select, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    set_size(0, 24, 80)
    os.execvp(sys.argv[1], sys.argv[1:])
seen, resized, deadline = b"", False, time.time() + 50
while time.time() < deadline:
    if select.select([fd], [], [], 0.5)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not resized and re.search(rb"\b24 80\b", seen):
        set_size(fd, 40, 100)
        resized = True
os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
PY
)
if grep -Eq '(^|[^0-9])24 80' <<<"$out" && grep -Eq '(^|[^0-9])40 100' <<<"$out"; then
	pass "-t with a pty allowed: a resized terminal is passed on (24 80, then 40 100)"
else
	fail "-t with a pty allowed: a resized terminal is passed on (24 80, then 40 100)" "$out"
fi
ctl identity set "$BOT" --no-pty >/dev/null || bail_out "cannot take the pty back"

bot_ssh --identity "$BOT" -p "$PORT" -l "$OTHER" --known-hosts "$KH" 127.0.0.1 -- id -un
ok_if "-l another account: refused (exit 255), nothing runs" \
	test "$RC" -eq 255 -a -z "$OUT"
ok_if "... the message names the account and the certificate" \
	grep -Eq "$OTHER@127.0.0.1 refused certificate nhi:$BOT:[0-9]+" <<<"$ERR"

# --- host keys
bot_ssh --identity "$BOT" -p "$PORT" 127.0.0.1 -- id -un
ok_if "an unknown host key (no known_hosts) is refused: exit 255, nothing runs" \
	test "$RC" -eq 255 -a -z "$OUT"
ok_if "... the message says so and names --accept-new" \
	grep -q "no known host key for '127.0.0.1'.*--accept-new" <<<"$ERR"

NEWKH=$NHI_TMP/work/new_known_hosts
bot_ssh --identity "$BOT" -p "$PORT" --known-hosts "$NEWKH" --accept-new 127.0.0.1 -- id -un
ok_if "--accept-new records a host key not seen before and runs the command" \
	test "$RC" -eq 0 -a "$OUT" = "$BOT"
hostkey=$(cut -d' ' -f2 "$NHI_TMP/host_ed25519.pub")
ok_if "... the recorded key is the server's, for [127.0.0.1]:$PORT" \
	grep -q "\[127.0.0.1\]:$PORT .*$hostkey" "$NEWKH"

"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$NHI_TMP/private/other_host" || bail_out "ssh-keygen"
BADKH=$NHI_TMP/work/bad_known_hosts
echo "[127.0.0.1]:$PORT $(cat "$NHI_TMP/private/other_host.pub")" >"$BADKH"
chmod 0644 "$BADKH"
bot_ssh --identity "$BOT" -p "$PORT" --known-hosts "$BADKH" --accept-new 127.0.0.1 -- id -un
ok_if "a changed host key is refused, even with --accept-new (exit 255)" \
	test "$RC" -eq 255 -a -z "$OUT"
ok_if "... the message says the key differs" grep -q "differs from the one in known_hosts" <<<"$ERR"

# --- no key file, anywhere: strace of nhi itself
sshd_log_mark
# LeakSanitizer cannot run under ptrace: off for this run in sanitizer builds.
(cd "$NHI_TMP/work" && ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=execve,open,openat,creat,rename,renameat,renameat2,link,linkat,memfd_create \
	-o "$NHI_TMP/trace" -ff runuser -u "$BOT" -- "$BOT_SHELL" -c '"$@"; exit $?' nhi-run \
	"$NHI" -c "$CONF" ssh --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- \
	'cat "$SSH_USER_AUTH"') >"$NHI_TMP/auth-info" 2>"$NHI_TMP/err" </dev/null
RC=$? OUT=$(cat "$NHI_TMP/auth-info") ERR=$(cat "$NHI_TMP/err")
nhi_trace=$(grep -lE "^execve\(\"($NHI|$NHI_REAL)\"" "$NHI_TMP"/trace.* 2>/dev/null | head -n 1)
writes=$(grep -E 'O_WRONLY|O_RDWR|O_CREAT|^creat|rename|link|memfd_create' "$nhi_trace" 2>/dev/null)
if [ "$RC" -eq 0 ] && [ -s "$nhi_trace" ] && grep -q "openat" "$nhi_trace" && [ -z "$writes" ]; then
	pass "strace: nhi ssh opens no file for writing, creates, renames or links none"
else
	fail "strace: nhi ssh opens no file for writing, creates, renames or links none" \
		"exit $RC, trace ${nhi_trace:-not found}" "$writes" "$ERR"
fi

# --- no key file, anywhere: every file written since the start, in the
# places a key could land, checked for any key nhi ssh was certified for.
# The subject keys are the broker's record (fingerprints) and, for the last
# run, the raw public key sshd saw (ExposeAuthInfo).
ctl cert list --identity "$BOT" --json >"$NHI_TMP/certs.json" || bail_out "nhictl cert list"
scan=$(python3 - "$START" "$NHI_TMP/certs.json" "$NHI_TMP/auth-info" "$SSH_KEYGEN" \
	/tmp /run /var/tmp /root "$BOT_HOME" "$NHI_TMP/work" <<'EOF'
import base64, hashlib, json, os, re, struct, subprocess, sys

start = os.stat(sys.argv[1]).st_mtime_ns
fps = {json.loads(l)["key_fingerprint"] for l in open(sys.argv[2]) if l.strip()}
# The certificate sshd saw: string type, string nonce, string pk, ...
raw = None
for line in open(sys.argv[3]):
    f = line.split()
    if len(f) == 3 and f[0] == "publickey" and f[1].startswith("ssh-ed25519-cert"):
        blob = base64.b64decode(f[2])
        off = 0
        for _ in range(2):
            (n,) = struct.unpack(">I", blob[off:off + 4]); off += 4 + n
        (n,) = struct.unpack(">I", blob[off:off + 4]); raw = blob[off + 4:off + 4 + n]
if raw is None or len(raw) != 32 or len(fps) < 5:
    print(f"setup: raw key {raw!r}, {len(fps)} certificates")
    sys.exit(0)
pub_blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + raw
fps.add("SHA256:" + base64.b64encode(hashlib.sha256(pub_blob).digest()).decode().rstrip("="))
needles = [raw, base64.b64encode(pub_blob)[:60]]

def fingerprint(b64):
    try:
        return "SHA256:" + base64.b64encode(
            hashlib.sha256(base64.b64decode(b64)).digest()).decode().rstrip("=")
    except Exception:
        return None

found, seen = [], 0
for top in sys.argv[5:]:
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(root, d))]
        for name in files:
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
                if not os.path.isfile(p) or os.path.islink(p) or st.st_mtime_ns < start \
                        or st.st_size > (4 << 20):
                    continue
                data = open(p, "rb").read()
            except OSError:
                continue
            seen += 1
            if any(n in data for n in needles):
                found.append(p)
                continue
            for m in re.finditer(rb"ssh-ed25519(?:-cert-v01@openssh.com)? (AAAA[A-Za-z0-9+/=]+)", data):
                if fingerprint(m.group(1)) in fps:
                    found.append(p)
            if b"PRIVATE KEY" in data:
                r = subprocess.run([sys.argv[4], "-y", "-P", "", "-f", p],
                                   capture_output=True, text=True)
                if r.returncode == 0 and fingerprint(r.stdout.split()[1]) in fps:
                    found.append(p)
print(f"checked {seen} files for {len(fps)} keys")
for p in found:
    print(f"FOUND {p}")
EOF
)
if grep -q "^checked [1-9][0-9]* files for [1-9][0-9]* keys" <<<"$scan" && ! grep -q "^FOUND" <<<"$scan"; then
	pass "no file written during the test holds any key nhi ssh used ($(head -n 1 <<<"$scan"))"
else
	fail "no file written during the test holds any key nhi ssh used" "$scan"
fi

# --- a suspended identity gets nothing
ctl identity suspend "$BOT" >/dev/null || bail_out "cannot suspend"
bot_ssh --identity "$BOT" -p "$PORT" --known-hosts "$KH" 127.0.0.1 -- touch "$NHI_TMP/work/ran"
ok_if "a suspended identity: refused by the broker (exit 255), nothing runs" \
	test "$RC" -eq 255 -a ! -e "$NHI_TMP/work/ran"
ok_if "... the broker's reason is shown, and sshd saw no login" \
	eval 'grep -q "^nhi: .*suspended" <<<"$ERR" && ! sshd_log_since_mark | grep -q "Accepted"'
