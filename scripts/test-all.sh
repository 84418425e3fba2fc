#!/usr/bin/env bash
# Builds nhi three ways and runs every test:
#   build/       plain build, `make check` (unit + integration tests)
#   build-san/   ASan + UBSan, `make check`
#   build-fuzz/  clang, libFuzzer + sanitizers, `make fuzz-smoke`
# then counts the results and ends with "N passed, N failed, N skipped".
# Exits non-zero on any failure; with CI=true also on any skip (CI runs as
# root, so nothing there has a reason to skip).
#
# Each build starts from an empty directory, so that results left by an
# older tree cannot be counted. Logs stay in each build dir (test-all.log).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}

passed=0
failed=0
skipped=0
failed_builds=()

say()
{
	printf '\n==> %s\n' "$*"
}

# count_trs DIR: the results of every .trs file under DIR, as "P F S".
count_trs()
{
	find "$1" -name '*.trs' -exec grep -h '^:test-result:' {} + 2>/dev/null |
		awk '$2 ~ /^(PASS|XFAIL)$/ { p++ } $2 ~ /^(FAIL|ERROR|XPASS)$/ { f++ }
		     $2 == "SKIP" { s++ } END { printf "%d %d %d\n", p, f, s }'
}

# Prints what explains a failed build: the test-suite.log if there is one,
# else the end of the build output.
show_failure()
{
	local dir=$1
	if [ -s "$dir/test-suite.log" ]; then
		echo "---- $dir/test-suite.log ----"
		cat "$dir/test-suite.log"
		echo "---- end of $dir/test-suite.log ----"
	else
		echo "---- last lines of $dir/test-all.log ----"
		tail -n 60 "$dir/test-all.log"
		echo "---- end ----"
	fi
}

# check_build DIR [CONFIGURE-ARGS...]: configure, build and `make check`.
check_build()
{
	local dir=$1 rc p f s
	shift
	say "$dir: configure $* && make check"
	rm -rf "$ROOT/$dir"
	mkdir -p "$ROOT/$dir"
	(
		cd "$ROOT/$dir" &&
			"$ROOT/configure" -q "$@" &&
			make -j"$JOBS" &&
			make -j"$JOBS" check
	) >"$ROOT/$dir/test-all.log" 2>&1
	rc=$?
	# Everything but the passes, one line each.
	grep -E '^(FAIL|ERROR|XPASS|SKIP): ' "$ROOT/$dir/test-all.log" | sed 's/^/    /'
	read -r p f s < <(count_trs "$ROOT/$dir")
	# A build that failed without a failed result (it broke before or
	# between its tests) still counts as one failure.
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "    $dir: $p passed, $f failed, $s skipped"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ $rc -ne 0 ]; then
		failed_builds+=("$dir")
		show_failure "$ROOT/$dir"
	fi
}

# The fuzz build: each harness counts as one test, from the lines
# tests/fuzz/smoke.sh prints ("fuzz_x: ok (N runs)" / "fuzz_x: FAILED");
# without such lines the whole smoke run counts as one.
fuzz_build()
{
	local dir=build-fuzz rc p f
	say "$dir: CC=clang configure --enable-fuzzing --enable-sanitizers && make fuzz-smoke"
	rm -rf "$ROOT/$dir"
	mkdir -p "$ROOT/$dir"
	(
		cd "$ROOT/$dir" &&
			"$ROOT/configure" -q CC=clang --enable-fuzzing --enable-sanitizers &&
			make -j"$JOBS" &&
			make fuzz-smoke
	) >"$ROOT/$dir/test-all.log" 2>&1
	rc=$?
	grep -E '^fuzz_[A-Za-z0-9_]+: (ok|FAILED)' "$ROOT/$dir/test-all.log" | sed 's/^/    /'
	p=$(grep -cE '^fuzz_[A-Za-z0-9_]+: ok' "$ROOT/$dir/test-all.log")
	f=$(grep -cE '^fuzz_[A-Za-z0-9_]+: FAILED' "$ROOT/$dir/test-all.log")
	if [ $((p + f)) -eq 0 ]; then
		if [ $rc -eq 0 ]; then p=1; else f=1; fi
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "    $dir: $p passed, $f failed, 0 skipped"
	passed=$((passed + p))
	failed=$((failed + f))
	if [ $rc -ne 0 ]; then
		failed_builds+=("$dir")
		echo "---- last lines of $ROOT/$dir/test-all.log ----"
		tail -n 80 "$ROOT/$dir/test-all.log"
		echo "---- end ----"
	fi
}

start=$(date +%s)

say "dependencies"
if ! bash "$ROOT/scripts/deps.sh"; then
	echo "deps.sh failed" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

say "autogen"
if ! ./autogen.sh >autogen.log 2>&1; then
	cat autogen.log
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
rm -f autogen.log

check_build build
check_build build-san --enable-sanitizers
fuzz_build

say "done in $(($(date +%s) - start)) s"
if [ ${#failed_builds[@]} -gt 0 ]; then
	echo "failed: ${failed_builds[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"

if [ "$failed" -gt 0 ] || [ ${#failed_builds[@]} -gt 0 ]; then
	exit 1
fi
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	echo "CI=true: $skipped skipped tests count as a failure" >&2
	exit 1
fi
exit 0
