#!/bin/sh
# run-tests.sh -- runs every test of ipborg (make test calls it after building):
# the cmocka unit tests in $BUILD/tests/, then the end-to-end tests in tests/e2e/,
# all against real databases: SQLite files in temp dirs and a throw-away PostgreSQL
# server started here (scripts/pg-test.sh) and stopped at the end.
#
# Ends with one line "N passed, N failed" (unit tests and end-to-end tests
# together) and exits non-zero if any test failed or could not run.
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

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $t"
    "$t" >"$log" 2>&1
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

echo "== end-to-end tests (tests/e2e)"
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
