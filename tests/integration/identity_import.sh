#!/usr/bin/env bash
# nhictl identity import against a real nhid: a good file creates, a second
# run reports updated and unchanged, a bad line is refused with its number
# and field and nothing is applied (the store is compared before and after),
# standard input, --json, one audit event per import, and 10 000 lines.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v sqlite3 >/dev/null || bail_out "sqlite3 (the shell) is needed"
command -v python3 >/dev/null || bail_out "python3 is needed to check JSON"
plan 17

broker_setup
start_nhid

good=$NHI_TMP/good.jsonl
cat >"$good" <<'JSON'
{"name":"imp-alice","kind":"human","owner":"Alice","uid":71001,"roles":["ops"]}
{"name":"imp-bot","kind":"automation","owner":"ops","selectors":["uid=1002"],"ttl":"5m"}
{"name":"imp-svc","kind":"service","shell":"/usr/sbin/nologin","home":"/srv/svc"}
JSON

expect "identity import --help names the fields" 0 "source_addresses" ctl identity import --help
expect "a missing FILE is a usage error (exit 2)" 2 "missing FILE" ctl identity import
expect "a good file creates its identities" 0 \
	"imported 3 identities: 3 created, 0 updated, 0 unchanged" ctl identity import "$good"
json_check "the imported identity carries every field" \
	'rows[0]["owner"] == "Alice" and rows[0]["uid"] == 71001 and rows[0]["roles"] == ["ops"]' \
	ctl identity show imp-alice --json
json_check "selectors and ttl arrive too" \
	'rows[0]["selectors"] == ["uid=1002"] and rows[0]["ttl"] == 300 and rows[0]["kind"] == "automation"' \
	ctl identity show imp-bot --json

changed=$NHI_TMP/changed.jsonl
sed 's/"owner":"Alice"/"owner":"Alice A."/' "$good" >"$changed"
expect "a second run reports what changed" 0 \
	"imported 3 identities: 0 created, 1 updated, 2 unchanged" ctl identity import "$changed"
expect "the update is in the store" 0 "owner: +Alice A\." ctl identity show imp-alice
json_check "--json prints the summary" \
	'rows == [{"records": 3, "created": 0, "updated": 0, "unchanged": 3}]' \
	ctl identity import --json "$changed"

before=$(sqlite3 "$DB" 'SELECT * FROM identities ORDER BY name' 2>&1)
audit_before=$(sqlite3 "$DB" 'SELECT count(*) FROM audit')
bad=$NHI_TMP/bad.jsonl
{
	echo '{"name":"imp-new1","kind":"human"}'
	echo '{"name":"imp-alice","kind":"human","owner":"Mallory"}'
	echo '{"name":"imp-new2","kind":"human","uid":"70000"}'
} >"$bad"
expect "a wrong type is refused with its line and field (exit 1)" 1 \
	"line 3: field 'uid': expected an integer" ctl identity import "$bad"
printf '%s\n' '{"name":"imp-x","kind":"human"}' '{"name":"imp-y","kind":"human","shoe":1}' >"$bad"
expect "an unknown field is refused with its line (exit 1)" 1 \
	"line 2: unknown field 'shoe'" ctl identity import "$bad"
printf '%s\n' '{"name":"imp-x","kind":"human"}' '{"name":"imp-y","kind":"human"}' \
	'{"name":"imp-x","kind":"service"}' >"$bad"
expect "a name twice is refused at its second line (exit 1)" 1 \
	"line 3: field 'name': 'imp-x' already on line 1" ctl identity import "$bad"
# Passes nhictl's checks, fails the broker's: the broker rolls back all.
printf '%s\n' '{"name":"imp-z","kind":"human"}' \
	'{"name":"imp-alice","kind":"human","owner":"Mallory"}' \
	'{"name":"imp-w","kind":"human","shell":"relative/sh"}' >"$bad"
expect "the broker refuses a bad value with its line (exit 1)" 1 \
	"line 3: invalid shell 'relative/sh'" ctl identity import "$bad"
after=$(sqlite3 "$DB" 'SELECT * FROM identities ORDER BY name' 2>&1)
audit_after=$(sqlite3 "$DB" 'SELECT count(*) FROM audit')
check "nothing of a refused file was applied" \
	[ "$before" = "$after" -a "$audit_before" = "$audit_after" ]

expect "standard input is read with -" 0 "imported 1 identities: 1 created" \
	ctl identity import - <<<'{"name":"imp-stdin","kind":"service"}'

imports=$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE detail LIKE '%\"action\":\"import\"%'")
check "one audit event per applied import" [ "$imports" = 4 ]

big=$NHI_TMP/big.jsonl
python3 -c '
for i in range(10000):
    print("{\"name\":\"bulk-%05d\",\"kind\":\"automation\",\"owner\":\"load\",\"uid\":%d}" % (i, 200000 + i))
' >"$big"
expect "10 000 lines import in one run" 0 \
	"imported 10000 identities: 10000 created, 0 updated, 0 unchanged" ctl identity import "$big"
n=$(sqlite3 "$DB" "SELECT count(*) FROM identities WHERE name LIKE 'bulk-%'")
check "all 10 000 are in the store" [ "$n" = 10000 ]
