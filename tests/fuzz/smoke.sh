#!/bin/bash
# A short run of each fuzz harness over freshly generated seeds.
# Prints "NAME: ok (N runs)" or "NAME: FAILED" per harness and exits
# non-zero when any harness crashed, leaked or broke an invariant.
#
# usage: smoke.sh --workdir DIR --seeds GEN_SEEDS_SH --ssh-keygen PATH
#                 --runs N --max-time SECONDS HARNESS...
set -uo pipefail

workdir= seeds= keygen=ssh-keygen runs=50000 max_time=30
while [ $# -gt 0 ]; do
	case $1 in
	--workdir) workdir=$2; shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	--ssh-keygen) keygen=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--max-time) max_time=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "smoke.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ -z "$workdir" ] || [ -z "$seeds" ] || [ $# -eq 0 ]; then
	echo "usage: $0 --workdir DIR --seeds GEN_SEEDS_SH [--ssh-keygen PATH]" \
		"[--runs N] [--max-time S] HARNESS..." >&2
	exit 2
fi

mkdir -p "$workdir"
if ! bash "$seeds" "$keygen" "$workdir/seeds" >"$workdir/seeds.log" 2>&1; then
	echo "fuzz-smoke: generating seeds failed, see $workdir/seeds.log" >&2
	exit 1
fi

failed=0
for harness in "$@"; do
	name=$(basename "$harness")
	log="$workdir/$name.log"
	corpus="$workdir/corpus/$name"
	crashes="$workdir/crashes/$name"
	# New inputs go to a scratch corpus; the seeds directory stays as made.
	rm -rf "$corpus"
	mkdir -p "$corpus" "$crashes"
	"$harness" -runs="$runs" -max_total_time="$max_time" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" \
		"$corpus" "$workdir/seeds/$name" >"$log" 2>&1
	rc=$?
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$done_runs" ]; then
		echo "$name: ok ($done_runs runs)"
	else
		echo "$name: FAILED"
		# The sanitizer's report and the input that caused it.
		grep -E 'ERROR:|runtime error|invariant failed|SUMMARY|Test unit written' "$log" |
			head -n 8 | sed 's/^/    /'
		echo "    full log: $log"
		failed=1
	fi
done
exit $failed
