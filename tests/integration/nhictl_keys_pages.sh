#!/usr/bin/env bash
# Listings longer than one answer holds. nhictl keys list and show: the
# broker answers a page at a time, nhictl asks on until a page is empty
# and prints every key, by account, file and line. nhictl discover: a
# batch of accounts ends before the one whose rows no longer fit, and
# nhictl sends that one again, so every row is listed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-lib.sh"

require_root
plan 6

KEYS=450 # more than two pages of 200
broker_setup
start_nhid

ALICE=$(make_user) || bail_out "cannot create a user"
HOME_A=$(getent passwd "$ALICE" | cut -d: -f6)
install -d -m 0700 -o "$ALICE" -g "$ALICE" "$HOME_A/.ssh"
gen=$NHI_TMP/private/many
mkdir -p "$gen"
for i in $(seq 1 "$KEYS"); do
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C "k$i" -f "$gen/k$i" || bail_out "ssh-keygen"
	cat "$gen/k$i.pub"
done >"$NHI_TMP/many_keys"
install -m 0600 -o "$ALICE" -g "$ALICE" "$NHI_TMP/many_keys" "$HOME_A/.ssh/authorized_keys"
# The fingerprints in line order, as ssh-keygen computes them.
for i in $(seq 1 "$KEYS"); do "$SSH_KEYGEN" -lf "$gen/k$i.pub" | awk '{print $2}'; done \
	>"$NHI_TMP/fps"
LAST_FP=$(tail -n 1 "$NHI_TMP/fps")

# Forty more accounts with ten keys each: with alice's, more rows than one
# discover answer holds, in one batch of accounts.
OTHERS=()
for i in $(seq 1 40); do
	u=$(make_user) || bail_out "cannot create a user"
	h=$(getent passwd "$u" | cut -d: -f6)
	install -d -m 0700 -o "$u" -g "$u" "$h/.ssh"
	head -n 10 "$NHI_TMP/many_keys" >"$NHI_TMP/ten_keys"
	install -m 0600 -o "$u" -g "$u" "$NHI_TMP/ten_keys" "$h/.ssh/authorized_keys"
	OTHERS+=("$u")
done
printf '%s\n' "${OTHERS[@]}" >"$NHI_TMP/others"

ctl discover --json >"$NHI_TMP/discover.json" 2>"$NHI_TMP/discover.err"
rc=$?
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
others = open(sys.argv[2]).read().split()
keys = [r for r in rows if r.get("kind") == "key"]
per = {}
for r in keys:
    per[r["account"]] = per.get(r["account"], 0) + 1
ok = per.get(sys.argv[3]) == int(sys.argv[4]) and all(per.get(u) == 10 for u in others)
ok = ok and len(keys) == rows[-1]["keys"]
sys.exit(0 if ok else 1)' "$NHI_TMP/discover.json" "$NHI_TMP/others" "$ALICE" "$KEYS" &&
	! grep -q "not listed" "$NHI_TMP/discover.err"; then
	pass "discover of every account lists every row, none cut short"
else
	fail "discover of every account lists every row, none cut short" "exit $rc" \
		"$(cat "$NHI_TMP/discover.err")"
fi

json_check "discover --account inventories all $KEYS keys" \
	"rows[-1]['kind'] == 'summary' and rows[-1]['keys'] == $KEYS" \
	ctl discover --account "$ALICE" --json

json_check "keys list --account: every key once, in line order, fingerprints as ssh-keygen's" \
	"[r['line'] for r in rows] == list(range(1, $KEYS + 1)) and
	 [r['fingerprint'] for r in rows] == open('$NHI_TMP/fps').read().split() and
	 all(r['account'] == '$ALICE' for r in rows)" \
	ctl keys list --account "$ALICE" --json

json_check "keys list of every account holds all of them" \
	"sum(1 for r in rows if r['account'] == '$ALICE') == $KEYS" \
	ctl keys list --json

out=$(ctl keys list --account "$ALICE" 2>"$NHI_TMP/list.err")
rc=$?
lines=$(grep -c "$ALICE" <<<"$out")
if [ "$rc" -eq 0 ] && [ "$lines" -eq "$KEYS" ] && [ ! -s "$NHI_TMP/list.err" ]; then
	pass "keys list prints a table row per key and nothing on stderr"
else
	fail "keys list prints a table row per key and nothing on stderr" \
		"exit $rc, $lines rows" "$(cat "$NHI_TMP/list.err")"
fi

json_check "keys show of a key on the last page" \
	"len(rows) == 1 and rows[0]['line'] == $KEYS and rows[0]['fingerprint'] == '$LAST_FP'" \
	ctl keys show "$LAST_FP" --json
