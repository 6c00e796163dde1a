#!/bin/sh
# fuzz.sh -- runs each libFuzzer target (fuzz/fuzz_NAME.c, built by
# `make fuzz-build` into $FUZZ_BUILD/fuzz_NAME) for SECONDS on its corpus
# $FUZZ_BUILD/corpus-NAME (seeded by scripts/fuzz-corpus.sh; new inputs the
# fuzzer finds are kept there).
#
# Usage: scripts/fuzz.sh SECONDS [NAME...]     (default: every target)
#
# Each target is one test: it passes when the fuzzer ran its time without a
# finding (a sanitizer report, a failed FUZZ_CHECK, a timeout of one input over
# 20 s, or running out of memory). A finding's input is saved as
# $FUZZ_BUILD/findings/NAME-crash-... (or -timeout-, -oom-, -leak-), to replay
# with `$FUZZ_BUILD/fuzz_NAME FILE`; the fuzzer's output is shown. Ends with
# "fuzz: N passed, N failed" and exits non-zero on any finding.
set -u
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz.sh SECONDS [NAME...]}
shift
dir=${FUZZ_BUILD:-build/fuzz}
if [ $# -eq 0 ]; then
    set --
    for f in fuzz/fuzz_*.c; do
        n=${f#fuzz/fuzz_}
        set -- "$@" "${n%.c}"
    done
fi
passed=0
failed=0
if ! scripts/fuzz-corpus.sh; then
    echo "fuzz: could not build the seed corpora"
    echo "fuzz: 0 passed, $# failed"
    exit 1
fi
mkdir -p "$dir/findings"
log=$(mktemp /tmp/ipborg-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT
for name in "$@"; do
    bin="$dir/fuzz_$name"
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz $name: $bin is not built (make fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$dir/corpus-$name"
    "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/findings/$name-" "$dir/corpus-$name" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$status" -eq 0 ]; then
        echo "ok   fuzz $name (${seconds}s, ${runs:-?} runs)"
        passed=$((passed + 1))
    else
        tail -n 60 "$log"
        echo "FAIL fuzz $name (exit status $status; the input is in $dir/findings/)"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
