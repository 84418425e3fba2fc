#!/usr/bin/env bash
# nhictl against a real nhid in a temp state dir: identities added, listed
# and shown (table and JSON), hostile names refused naming the input,
# suspend/resume, an enrollment code the store holds only as a hash, audit
# verify before and after an audit row is edited, and a non-admin refused.
# Needs root (runuser, a second uid).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v sqlite3 >/dev/null || bail_out "sqlite3 (the shell) is needed"
command -v python3 >/dev/null || bail_out "python3 is needed to check JSON"
plan 34

broker_setup
start_nhid

expect "--help names every command (exit 0)" 0 "identity add" ctl --help
expect "identity add --help prints its options" 0 "--selector KIND=VALUE" ctl identity add --help
expect "an unknown command is named (exit 2)" 2 "unknown command 'frobnicate'" ctl frobnicate
expect "a bad duration is named (exit 2)" 2 "invalid --ttl '5x'" \
	ctl identity add x --kind human --ttl 5x

expect "identity add alice (human)" 0 "name: +alice" \
	ctl identity add alice --kind human --owner "Alice Admin" --uid 70001 --role ops
expect "identity add backup-bot (automation, selectors)" 0 "selectors: +uid=1002,exe_path=/usr/bin/backup" \
	ctl identity add backup-bot --kind automation --selector uid=1002 \
	--selector exe_path=/usr/bin/backup --ttl 5m
expect "a duplicate name is refused (exit 1)" 1 "identity 'alice' already exists" \
	ctl identity add alice --kind human
expect "name ../x is refused naming it (exit 1)" 1 "invalid identity name '\.\./x'" \
	ctl identity add ../x --kind human
expect "a name with a newline is refused naming it (exit 1)" 1 "invalid identity name 'a.*nb'" \
	ctl identity add "$(printf 'a\nb')" --kind human
expect "a name with % is refused naming it (exit 1)" 1 "invalid identity name 'a%n'" \
	ctl identity add 'a%n' --kind human
expect "a 300-byte name is refused naming it (exit 1)" 1 "invalid identity name 'aaaaaaaa.*\.\.\.'" \
	ctl identity add "$(printf 'a%.0s' $(seq 1 300))" --kind human
expect "ttl-max above the automation cap is refused (exit 1)" 1 "exceeds the automation cap" \
	ctl identity add slow-bot --kind automation --ttl-max 5h
expect "a bad selector is refused naming it (exit 1)" 1 "invalid selector 'exe_sha256=zz'" \
	ctl identity add hash-bot --kind automation --selector exe_sha256=zz

expect "identity list prints a table" 0 "^NAME +KIND +STATUS" ctl identity list
json_check "identity list --json: one object per identity" \
	'[r["name"] for r in rows] == ["alice", "backup-bot"] and rows[0]["uid"] == 70001 and rows[1]["selectors"] == ["uid=1002", "exe_path=/usr/bin/backup"] and rows[1]["ttl"] == 300' \
	ctl identity list --json
json_check "identity show --json carries roles" \
	'len(rows) == 1 and rows[0]["roles"] == ["ops"] and rows[0]["owner"] == "Alice Admin"' \
	ctl identity show alice --json
expect "identity show of an unknown name fails (exit 1)" 1 "no such identity 'nobody-here'" \
	ctl identity show nobody-here

expect "identity suspend" 0 "status: +suspended" ctl identity suspend alice
expect "enroll refuses a suspended identity (exit 1)" 1 "identity 'alice' is suspended" \
	ctl enroll alice
expect "identity resume" 0 "status: +active" ctl identity resume alice
expect "enroll refuses an automation identity (exit 1)" 1 "only human identities" \
	ctl enroll backup-bot

if out=$(ctl enroll alice --ttl 10m --json) &&
	code=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["code"])' <<<"$out"); then
	pass "enroll prints a code"
else
	fail "enroll prints a code" "$out"
	code=NO-CODE
fi
canon=$(tr -d '-' <<<"$code")
dump=$(sqlite3 "$STATE/nhi.db" .dump 2>&1)
if [ "${#canon}" -ge 26 ] && ! grep -Fq -e "$code" -e "$canon" <<<"$dump" &&
	! grep -aFq -e "$code" -e "$canon" "$STATE"/nhi.db*; then
	pass "the store holds no plaintext enrollment code"
else
	fail "the store holds no plaintext enrollment code" "code: $code"
fi

expect "audit verify passes" 0 "audit trail verified" ctl audit verify
expect "audit verify --local reads the same verdict from the state directory" 0 \
	"audit trail verified" ctl audit verify --local
json_check "audit export --json: every record, in order, hashes chained" \
	"len(rows) >= 5 and [r['seq'] for r in rows] == list(range(1, len(rows) + 1)) and all(rows[i]['prev_hash'] == rows[i-1]['hash'] for i in range(1, len(rows))) and not any('$canon' in json.dumps(r) for r in rows)" \
	ctl audit export --json
json_check "audit tail -n 2 --json: the last two records" \
	'len(rows) == 2 and rows[1]["type"] == "enroll" and rows[1]["subject"] == "alice"' \
	ctl audit tail -n 2 --json

sqlite3 "$STATE/nhi.db" "UPDATE audit SET subject = 'mallory' WHERE seq = 2" ||
	bail_out "cannot edit the audit table"
expect "audit verify after an edit fails naming record 2 (exit 4)" 4 "broken at record 2" \
	ctl audit verify
json_check "audit verify --json names the bad seq" \
	'rows[0]["ok"] is False and rows[0]["bad_seq"] == 2' \
	bash -c '"$0" -c "$1" audit verify --json 2>/dev/null; [ $? -eq 4 ]' "$NHICTL" "$CONF"

expect "a non-admin user is refused (exit 1)" 1 "permission denied" \
	runuser -u nobody -- "$NHICTL" --socket "$SOCK" identity list
expect "no broker is exit 3" 3 "unavailable" ctl --socket "$NHI_TMP/none.sock" status
stop_nhid
expect "with the broker stopped, audit verify --local still names record 2 (exit 4)" 4 \
	"broken at record 2" ctl audit verify --local --state-dir "$STATE"
expect "a command's --help needs no configuration" 0 "usage: nhictl audit" \
	"$NHICTL" -c "$NHI_TMP/missing.conf" audit verify --help
expect "nhi: a command's --help needs no configuration" 0 "usage: nhi cert" \
	"$NHI" -c "$NHI_TMP/missing.conf" cert --help
