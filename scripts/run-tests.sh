#!/bin/sh
# run-tests.sh -- runs every test of ipborg (make test calls it after building):
# the cmocka unit tests in $BUILD/tests/, then the end-to-end tests in tests/e2e/,
# all against real databases: SQLite files in temp dirs and a throw-away PostgreSQL
# server started here (scripts/pg-test.sh) and stopped at the end.
#
# With ASAN_BUILD set (make test sets build-asan), the unit and end-to-end tests
# then run a second time on that tree, built with ASan + UBSan (+ LSan): any
# sanitizer report fails the test (unit tests abort on it; a server's log is
# scanned when the harness stops it; a CLI run exits with status 86). With
# FUZZ_BUILD and FUZZ_SECONDS set, each fuzz target then runs FUZZ_SECONDS
# (scripts/fuzz.sh), one test each.
#
# Ends with one line "N passed, N failed" (every pass together, each pass's
# own count on a line before it) and exits non-zero if any test failed or
# could not run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
log=$(mktemp /tmp/ipborg-tests.XXXXXX)
pgdir=$(mktemp -d /tmp/ipborg-pg.XXXXXX)
cleanup() {
    scripts/pg-test.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0

if ! url=$(scripts/pg-test.sh start "$pgdir"); then
    echo "run-tests: could not start a throw-away PostgreSQL server (see above)"
    echo "0 passed, 1 failed"
    exit 1
fi
export IPBORG_TEST_PG_URL="$url"
echo "run-tests: PostgreSQL for the tests at $url"

# Unit tests of tree $1, then the end-to-end tests against $1/ipborg, with
# ASAN_OPTIONS $2 for the unit tests and $3 for the end-to-end tests; adds to
# passed and failed.
run_pass() {
    tree=$1
    for t in "$tree"/tests/test_*; do
        [ -x "$t" ] || continue
        echo "== $t"
        ASAN_OPTIONS=$2 "$t" >"$log" 2>&1
        status=$?
        cat "$log"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        # A crash or a non-zero exit without a cmocka summary still counts as a failure.
        if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
            echo "run-tests: $t exited with status $status"
            failed=$((failed + 1))
        fi
    done

    echo "== end-to-end tests (tests/e2e) against $tree/ipborg"
    ASAN_OPTIONS=$3 IPBORG_BIN="$PWD/$tree/ipborg" \
        python3 tests/e2e/run.py 2>&1 | tee "$log"
    p=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -n 1)
    if [ -z "$p" ]; then
        echo "run-tests: the end-to-end tests did not finish"
        failed=$((failed + 1))
    else
        passed=$((passed + p))
        failed=$((failed + f))
    fi
}

run_pass "$BUILD" "${ASAN_OPTIONS:-}" "${ASAN_OPTIONS:-}"
labels="tests: $passed passed, $failed failed"

if [ -n "${ASAN_BUILD:-}" ]; then
    echo "== the same tests under ASan + UBSan + LSan ($ASAN_BUILD)"
    p0=$passed
    f0=$failed
    san="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
    # Unit tests abort on the first report (the loop counts the crash); servers
    # and CLI runs exit 86 on one, and the harness scans every server's log.
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
    run_pass "$ASAN_BUILD" "$san:abort_on_error=1" "$san:exitcode=86"
    unset UBSAN_OPTIONS
    labels="$labels
asan: $((passed - p0)) passed, $((failed - f0)) failed"
fi

if [ -n "${FUZZ_BUILD:-}" ] && [ -n "${FUZZ_SECONDS:-}" ]; then
    echo "== fuzz targets, ${FUZZ_SECONDS}s each"
    scripts/fuzz.sh "$FUZZ_SECONDS" 2>&1 | tee "$log"
    p=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -n 1)
    if [ -z "$p" ]; then
        echo "run-tests: the fuzz targets did not run"
        failed=$((failed + 1))
        labels="$labels
fuzz: did not run"
    else
        passed=$((passed + p))
        failed=$((failed + f))
        labels="$labels
fuzz: $p passed, $f failed"
    fi
fi

echo "$labels"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
