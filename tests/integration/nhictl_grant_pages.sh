#!/usr/bin/env bash
# Grant and identity listings longer than one answer holds. Two engineers
# ask for 450 grants with the real `nhi elevate`; some are then revoked and
# some run out. nhictl grant list shows every one exactly once, newest
# first, in pages the broker answers by id, and --identity and --active
# narrow them in the broker. 500 imported identities are listed exactly
# once, in name order, with the fields `identity show` gives.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
command -v runuser >/dev/null || bail_out "runuser is needed"
command -v python3 >/dev/null || bail_out "python3 is needed to check JSON"
plan 8

GRANTS_A=240 # with B's, more than two pages of 200
GRANTS_B=210 # alone, more than the 200 one answer held
EXPIRING=5 # of A's, asked for one second
REVOKED=12 # of B's
IDENTITIES=500
broker_setup "[policy]
grant_ttl_max = 30m"
start_nhid

ENG_A=$(make_user) && ENG_B=$(make_user) || bail_out "cannot create test users"
runuser -u "$ENG_A" -- test -x "$NHI" ||
	bail_out "the test user cannot run $NHI: build in a directory other users can reach"
for u in "$ENG_A" "$ENG_B"; do
	out=$(ctl identity add "$u" --kind human --uid "$(id -u "$u")" --role ops 2>&1) ||
		bail_out "cannot add identity $u: $out"
done

# elevate USER COUNT TTL: USER asks COUNT times for a grant of ops, four at
# a time; prints the ids.
elevate()
{
	local out rc
	out=$(seq "$2" | xargs -P 4 -I{} runuser -u "$1" -- "$NHI" -c "$CONF" elevate \
		--role ops --ttl "$3" --reason "paging test" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || bail_out "nhi elevate as $1 failed (exit $rc): $out"
	sed -n 's/^grant \([0-9]*\):.*/\1/p' <<<"$out"
}

elevate "$ENG_A" "$EXPIRING" 1 >"$NHI_TMP/ids_gone"
cp "$NHI_TMP/ids_gone" "$NHI_TMP/ids_a"
# Both at once, so each identity's grants are spread over every page.
elevate "$ENG_A" $((GRANTS_A - EXPIRING)) 20m >>"$NHI_TMP/ids_a" &
elevate "$ENG_B" "$GRANTS_B" 20m >"$NHI_TMP/ids_b"
wait $! || bail_out "nhi elevate as $ENG_A failed"
[ "$(cat "$NHI_TMP/ids_a" "$NHI_TMP/ids_b" | sort -u | wc -l)" -eq $((GRANTS_A + GRANTS_B)) ] ||
	bail_out "nhi elevate did not print $((GRANTS_A + GRANTS_B)) distinct grant ids"
for id in $(shuf -n "$REVOKED" "$NHI_TMP/ids_b"); do
	out=$(ctl grant revoke "$id" 2>&1) || bail_out "cannot revoke grant $id: $out"
	echo "$id" >>"$NHI_TMP/ids_gone"
done
sleep 2 # the one-second grants run out

# grant_check DESC IDS-FILES EXPR-EXTRA NHICTL-ARGS...: the --json listing
# is exactly the ids in IDS-FILES less those in ids_gone when --active is
# among the args, newest first, and every row satisfies EXPR-EXTRA (over r).
grant_check()
{
	local desc=$1 files=$2 extra=$3 active=no
	shift 3
	case " $* " in *" --active "*) active=yes ;; esac
	json_check "$desc" "
[r['id'] for r in rows] == sorted(
    set(int(x) for f in '$files'.split() for x in open('$NHI_TMP/' + f).read().split())
    - (set(int(x) for x in open('$NHI_TMP/ids_gone').read().split()) if '$active' == 'yes'
       else set()), reverse=True)
and all($extra for r in rows)" ctl grant list "$@" --json
}

grant_check "grant list: all $((GRANTS_A + GRANTS_B)) grants once, newest first" "ids_a ids_b" \
	"r['identity'] in ('$ENG_A', '$ENG_B') and r['role'] == 'ops'"
json_check "grant list: the revoked and the run-out ones are marked" \
	"sum(r['state'] == 'revoked' for r in rows) == $REVOKED and
	 sum(r['expired'] is True for r in rows) == $EXPIRING" ctl grant list --json
grant_check "grant list --identity: only that identity's grants, every one" "ids_b" \
	"r['identity'] == '$ENG_B'" --identity "$ENG_B"
grant_check "grant list --active: only grants in force now, every one" "ids_a ids_b" \
	"r['state'] == 'active' and not r['expired']" --active
grant_check "grant list --identity --active: both filters" "ids_a" \
	"r['identity'] == '$ENG_A' and r['state'] == 'active' and not r['expired']" \
	--identity "$ENG_A" --active

out=$(ctl grant list 2>"$NHI_TMP/list.err")
rc=$?
rows=$(grep -cE "^ *[0-9]+ +($ENG_A|$ENG_B) " <<<"$out")
if [ "$rc" -eq 0 ] && [ "$rows" -eq $((GRANTS_A + GRANTS_B)) ] && [ ! -s "$NHI_TMP/list.err" ]; then
	pass "grant list prints a table row per grant and nothing on stderr"
else
	fail "grant list prints a table row per grant and nothing on stderr" \
		"exit $rc, $rows rows" "$(cat "$NHI_TMP/list.err")"
fi

# Identities: imported in reverse order, every tenth with a role and a
# selector, so that the listing's order is the broker's doing.
for i in $(seq "$IDENTITIES" -1 1); do
	if [ $((i % 10)) -eq 0 ]; then
		printf '{"name":"pg-%04d","kind":"automation","owner":"ops","roles":["r%d"],' "$i" "$i"
		printf '"selectors":["uid=%d"]}\n' $((40000 + i))
	else
		printf '{"name":"pg-%04d","kind":"service","owner":"ops"}\n' "$i"
	fi
done >"$NHI_TMP/many.jsonl"
out=$(ctl identity import "$NHI_TMP/many.jsonl" 2>&1) || bail_out "identity import: $out"

json_check "identity list: every identity once, in name order" "(lambda names:
names == sorted(set(names)) and
set(names) == {'pg-%04d' % i for i in range(1, $IDENTITIES + 1)} | {'$ENG_A', '$ENG_B'}
)([r['name'] for r in rows])" ctl identity list --json
ctl identity show pg-0500 --json >"$NHI_TMP/show.json" 2>&1 ||
	bail_out "identity show: $(cat "$NHI_TMP/show.json")"
json_check "identity list: a record on the last page is the one identity show gives" "
[r for r in rows if r['name'] == 'pg-0500'] == [json.loads(open('$NHI_TMP/show.json').read())]
" ctl identity list --json
