#!/bin/sh
# Runs a Criterion test binary with its results as TAP on stdout, for
# automake's TAP driver. Under LeakSanitizer only the runner process is
# leak-checked (Criterion's workers exit without a check), so leaks that
# Criterion itself makes there are suppressed; the fuzz harnesses are what
# leak-check our code.
here=$(cd "$(dirname "$0")" && pwd)
: "${LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS
exec "$@" --tap=-
