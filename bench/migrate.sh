#!/bin/bash
# bench/migrate.sh -- how fast `ipborg migrate` moves a legacy SQLite file to
# PostgreSQL, against psql's \copy of the same rows, and how much memory it takes.
#
# Usage: bench/migrate.sh [N]      (N rows, default 100000; SCALE=0 skips the 10x run)
#
# For N and then 10 x N rows (a second run shows whether memory stays flat):
#   1. bench/gen_legacy.c writes N synthetic rows (grids 5x5 to 30x30, one in ten
#      secret, JSON as Python's json.dumps writes it) into a legacy SQLite file
#      (docs/protocol.md §6, no created_at) and the same rows as COPY text files;
#   2. reference: psql -1 with two \copy commands (one transaction, one
#      connection) loads the COPY files into a fresh database whose two tables
#      have exactly ipborg's PostgreSQL schema;
#   3. ipborg migrate --from the SQLite file --to another fresh database: the
#      copy, its commit and the verification pass, everything the command does;
#   4. prints both wall times, their ratio (ipborg / \copy: <= 1.00 means ipborg
#      is no slower) and ipborg's peak RSS (kernel rusage of the process).
# Both loads run against one throw-away PostgreSQL (scripts/pg-test.sh: fsync
# on, the same settings for both), each on its own database, after a CHECKPOINT,
# so neither pays for the other's dirty pages. Only 127.0.0.1 is used.
#
# Target (issue): ipborg no slower than \copy; peak RSS under 100 MB whatever N.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=${1:-100000}
SCALE=${SCALE:-1}
case "$N" in '' | *[!0-9]*) bench_die "N must be a number of rows" ;; esac

bench_prepare
WORK=$(mktemp -d /tmp/ipborg-bench-migrate.XXXXXX)
chmod 755 "$WORK"   # the throw-away server may run as another user (pg-test.sh)
PGDIR="$WORK/pg"
cleanup() {
    "$BENCH_ROOT/scripts/pg-test.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
cc -std=c11 -O2 -Wall -Wextra -o "$WORK/gen_legacy" "$BENCH_ROOT/bench/gen_legacy.c" -lsqlite3 ||
    bench_die "cannot build bench/gen_legacy.c"
URL=$("$BENCH_ROOT/scripts/pg-test.sh" start "$PGDIR")
BASE=${URL%/*}
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

COLUMNS="(id SERIAL PRIMARY KEY, ipb_version TEXT NOT NULL, python_version JSONB NOT NULL,
  grid_data JSONB NOT NULL, code_cells JSONB, ipb_class TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(), secret BOOLEAN NOT NULL)"
SCHEMA="CREATE TABLE public_grids $COLUMNS; CREATE TABLE secret_grids $COLUMNS;"
COLS="(id, ipb_version, python_version, grid_data, code_cells, ipb_class, secret)"

echo "bench/migrate.sh: ipborg migrate sqlite -> postgresql vs psql \\copy"
bench_machine
echo "postgresql: $(psql -X -At "$URL" -c 'SHOW server_version'), fsync on, shared_buffers $(psql -X -At "$URL" -c 'SHOW shared_buffers'), wal_level $(psql -X -At "$URL" -c 'SHOW wal_level'), default_toast_compression $(psql -X -At "$URL" -c 'SHOW default_toast_compression')"
echo

rows_list=$N
[ "$SCALE" = 0 ] || rows_list="$N $((N * 10))"
results=()
for rows in $rows_list; do
    dir="$WORK/n$rows"
    mkdir -p "$dir"
    bench_time gen_s "$WORK/gen_legacy" "$rows" "$dir/legacy.db" "$dir"
    size=$(du -m "$dir/legacy.db" | cut -f1)
    echo "$rows rows: generated in ${gen_s} s (SQLite file ${size} MB)"

    # The reference: the same rows with psql \copy, one transaction.
    psql_q "$URL" -c "CREATE DATABASE ref_$rows" -c CHECKPOINT
    psql_q "$BASE/ref_$rows" -c "$SCHEMA"
    bench_time copy_s psql_q -1 "$BASE/ref_$rows" \
        -c "\\copy public_grids $COLS from '$dir/public_grids.copy'" \
        -c "\\copy secret_grids $COLS from '$dir/secret_grids.copy'"
    echo "  psql \\copy: ${copy_s} s"
    rm -f "$dir"/*.copy
    psql_q "$URL" -c "DROP DATABASE ref_$rows" -c CHECKPOINT

    # ipborg migrate into its own fresh database.
    psql_q "$URL" -c "CREATE DATABASE mig_$rows"
    bench_run_measured "$dir/migrate" "$IPBORG" migrate --from "sqlite:///$dir/legacy.db" \
        --to "$BASE/mig_$rows"
    read -r mig_s rss_kb mig_rc < "$dir/migrate.stats"
    if [ "$mig_rc" != 0 ]; then
        tail -n 5 "$dir/migrate.err" >&2
        bench_die "ipborg migrate failed (exit $mig_rc)"
    fi
    copy_phase=$(sed -n 's/^copied 2 tables, [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$dir/migrate.out")
    grep -q '^verification: OK' "$dir/migrate.out" || bench_die "verification did not pass"
    echo "  ipborg migrate: ${mig_s} s (copy and commit ${copy_phase} s, then verification), peak RSS $((rss_kb / 1024)) MB"
    psql_q "$URL" -c "DROP DATABASE mig_$rows"
    rm -rf -- "$dir"
    results+=("$(printf '%-10s %10s %12s %12s %10s %14s' "$rows" "$copy_s" "$mig_s" \
        "$copy_phase" "$(bench_ratio "$mig_s" "$copy_s")" "$((rss_kb / 1024)) MB")")
done

echo
printf '%-10s %10s %12s %12s %10s %14s\n' rows '\copy s' 'ipborg s' '(copy s)' 'ratio' 'ipborg RSS'
printf '%s\n' "${results[@]}"
echo "ratio = ipborg migrate (copy + commit + verification) / psql \\copy; target <= 1.00, RSS < 100 MB at every N"
