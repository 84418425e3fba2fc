#!/usr/bin/env bash
# pam_nhi's break-glass auth mode through a real PAM service and pamtester,
# with the broker down: sealed one-time codes from `nhictl breakglass init`
# work once each, need a reason, race safely, and refuse unsafe code files;
# the spooled records join the audit chain when nhid starts. Needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v pamtester >/dev/null || bail_out "pamtester is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"
PAM_SO=$(readlink -f "$top_builddir/pam_nhi/.libs/pam_nhi.so")
[ -f "$PAM_SO" ] || bail_out "not built: $PAM_SO"
plan 28

broker_setup
PAM_FILES=()
trap 'stop_nhid; rm -f "${PAM_FILES[@]}"; nhi_on_exit' EXIT

CODES=$NHI_TMP/breakglass.codes
SPOOL=$STATE/breakglass-spool
install -d -m 0755 "$STATE"

# service NAME-VAR ARGS...: a throwaway /etc/pam.d/nhit-* file whose auth
# stage is pam_nhi alone; its name goes into NAME-VAR.
service()
{
	local var=$1 name
	shift
	name="nhit-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	PAM_FILES+=("/etc/pam.d/$name")
	printf 'auth required %s breakglass %s\naccount required pam_permit.so\n' \
		"$PAM_SO" "$*" >"/etc/pam.d/$name"
	printf -v "$var" '%s' "$name"
}
service SVC "codes=$CODES spool=$SPOOL"
service SVC_IGNORE "codes=$CODES spool=$SPOOL missing=ignore"
# PAM_IGNORE leaves the decision to the next module.
printf 'auth required pam_permit.so\n' >>"/etc/pam.d/$SVC_IGNORE"

# login USER CODE REASON [SERVICE]: pamtester's authenticate, answering the
# code and the reason prompts on stdin.
login()
{
	printf '%s\n%s\n' "$2" "$3" |
		pamtester -v -I rhost=192.0.2.9 -I tty=pts/9 "${4:-$SVC}" "$1" authenticate 2>&1
}

BG=$(make_user) && OTHER=$(make_user) || bail_out "cannot create test users"

# --- issuing codes
expect "nhictl breakglass init refuses a code count above the cap" 2 "1 to 16" \
	ctl breakglass init --account "$BG" --codes 17 --file "$CODES" --spool "$SPOOL"
expect "nhictl breakglass init refuses a user who is not root" 1 "only root" \
	runuser -u "$OTHER" -- "$NHICTL" -c "$CONF" breakglass init --account "$BG" \
	--file "$NHI_TMP/nope.codes" --spool "$NHI_TMP/nope"
ctl breakglass init --account "$BG" --codes 4 --file "$CODES" --spool "$SPOOL" \
	>"$NHI_TMP/old.txt" 2>&1 || bail_out "init failed: $(cat "$NHI_TMP/old.txt")"
json_check "nhictl breakglass init --json prints each of 4 codes once" \
	'len(rows) == 4 and len({r["code"] for r in rows}) == 4 and all(r["account"] == "'"$BG"'" for r in rows)' \
	ctl breakglass init --account "$BG" --codes 4 --file "$CODES" --spool "$SPOOL" --json
ctl breakglass init --account "$BG" --codes 4 --file "$CODES" --spool "$SPOOL" --json \
	>"$NHI_TMP/codes.json" || bail_out "init --json failed"
mapfile -t CODE < <(python3 -c 'import json,sys; [print(json.loads(l)["code"]) for l in sys.stdin]' \
	<"$NHI_TMP/codes.json")
[ "${#CODE[@]}" -eq 4 ] || bail_out "expected 4 codes, got ${#CODE[@]}"
OLD=$(awk 'NR == 2 {print $2}' "$NHI_TMP/old.txt")

check "the code file is root's, mode 0600" \
	test "$(stat -c '%u %a' "$CODES")" = "0 600"
plain=0
for c in "${CODE[@]}" "$OLD"; do
	grep -qiF -e "$c" -e "${c//-/}" "$CODES" && plain=1
done
check "the code file holds no code in plain text" test "$plain" -eq 0
check "the code file holds 4 argon2id hashes for the account after re-init" \
	test "$(grep -c "^$BG \$argon2id\\$.* unused\$" "$CODES")" -eq 4

# --- logging in with the broker down (it never started)
expect "a code replaced by re-init no longer works" 1 "Authentication failure" \
	login "$BG" "$OLD" "disk full, broker down"
expect "a valid code with a reason authenticates" 0 "successfully authenticated" \
	login "$BG" "${CODE[0]}" "INC-42: broker host down"
expect "the same code is refused the second time" 1 "Authentication failure" \
	login "$BG" "${CODE[0]}" "trying again"
expect "a wrong code is refused" 1 "Authentication failure" \
	login "$BG" "ABCD-EFGH-JKMN-PQRS-TVWX" "guessing"
expect "an empty reason is refused" 1 "reason is required" \
	login "$BG" "${CODE[1]}" ""
expect "a reason with a control character is refused" 1 "reason is required" \
	login "$BG" "${CODE[1]}" $'tab\there'
expect "a code typed in lower case without dashes works (not consumed by the refusals)" 0 \
	"successfully authenticated" \
	login "$BG" "$(tr -d - <<<"${CODE[1]}" | tr A-Z a-z)" "INC-43"
out=$(login "$OTHER" "${CODE[2]}" "x")
if grep -q "cannot retrieve authentication info" <<<"$out" && ! grep -q "Break-glass code" <<<"$out"; then
	pass "an account without codes: PAM_AUTHINFO_UNAVAIL without a prompt"
else
	fail "an account without codes: PAM_AUTHINFO_UNAVAIL without a prompt" "$out"
fi

# Two logins racing with one code: exactly one wins.
login "$BG" "${CODE[2]}" "race A" >"$NHI_TMP/race.a" &
pa=$!
login "$BG" "${CODE[2]}" "race B" >"$NHI_TMP/race.b" &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
if [ $((ra == 0)) -ne $((rb == 0)) ] && [ $((ra + rb)) -eq 1 ]; then
	pass "two concurrent uses of one code: exactly one succeeds"
else
	fail "two concurrent uses of one code: exactly one succeeds" "exits $ra and $rb" \
		"$(cat "$NHI_TMP/race.a" "$NHI_TMP/race.b")"
fi
check "the code file marks 3 codes used, 1 unused" \
	test "$(grep -c ' used:[0-9]*$' "$CODES") $(grep -c ' unused$' "$CODES")" = "3 1"

# --- unsafe code files are never read
chmod 0644 "$CODES"
expect "a code file readable by others is refused" 1 "cannot retrieve authentication info" \
	login "$BG" "${CODE[3]}" "mode test"
chmod 0600 "$CODES"
mv "$CODES" "$CODES.real"
ln -s "$CODES.real" "$CODES"
expect "a code file reached through a symlink is refused" 1 "cannot retrieve authentication info" \
	login "$BG" "${CODE[3]}" "symlink test"
rm -f "$CODES"
expect "no code file with missing=ignore: PAM_IGNORE, the next module decides" 0 \
	"successfully authenticated" login "$BG" "${CODE[3]}" "gone" "$SVC_IGNORE"
mv "$CODES.real" "$CODES"
check "the unsafe files did not consume the last code" \
	test "$(grep -c ' unused$' "$CODES")" -eq 1

# --- the spool, then the broker
check "one spooled record per init and per successful login (3 + 3)" \
	test "$(find "$SPOOL" -maxdepth 1 -name 'bg-*.rec' | wc -l)" -eq 6
check "the spool is root's, mode 0700" test "$(stat -c '%u %a' "$SPOOL")" = "0 700"
printf 'event=use\naccount=../etc\n' >"$SPOOL/bg-hostile.rec"
chmod 0600 "$SPOOL/bg-hostile.rec"
start_nhid
check "nhid ingests the spool and moves the hostile record aside" \
	test "$(find "$SPOOL" -maxdepth 1 -name 'bg-*' | wc -l) $(find "$SPOOL" -maxdepth 1 -name '.bad-bg-hostile.rec' | wc -l)" = "0 1"
json_check "the audit trail holds the 3 break-glass logins with reason, service and rhost" \
	'len([r for r in rows if r["type"] == "breakglass" and (r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])).get("event") == "use" and r["subject"] == "'"$BG"'" and (r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))["service"] == "'"$SVC"'" and (r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))["rhost"] == "192.0.2.9"]) == 3 and {(r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])).get("reason") for r in rows if r["type"] == "breakglass"} >= {"INC-42: broker host down", "INC-43"}' \
	ctl audit export --json
json_check "the audit trail holds the 3 code issues (4 codes each, by root)" \
	'len([r for r in rows if r["type"] == "breakglass" and (d := r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]))["event"] == "init" and d["codes"] == 4 and d["by"] == "uid:0"]) == 3' \
	ctl audit export --json
expect "nhictl audit verify passes with the break-glass records" 0 "" ctl audit verify

# A login while nhid runs is spooled too; SIGHUP (reload) ingests it.
expect "the last code works while the broker runs" 0 "successfully authenticated" \
	login "$BG" "${CODE[3]}" "INC-44"
kill -HUP "$NHID_PID"
for i in $(seq 1 100); do
	[ -z "$(find "$SPOOL" -maxdepth 1 -name 'bg-*')" ] && break
	sleep 0.1
done
json_check "after SIGHUP the audit trail holds the fourth login" \
	'len([r for r in rows if r["type"] == "breakglass" and (r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])).get("reason") == "INC-44"]) == 1' \
	ctl audit export --json
