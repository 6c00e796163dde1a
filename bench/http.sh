#!/bin/bash
# bench/http.sh -- ipborg's HTTP throughput on SQLite and PostgreSQL against
# nginx serving the very same bytes, and PostgreSQL's own insert ceiling.
#
# Usage: bench/http.sh            (DURATION=10 CONNS=32 WRK_THREADS=1 by default)
#
# What runs, all on 127.0.0.1:
#   - a throw-away PostgreSQL (scripts/pg-test.sh);
#   - ipborg serve --quiet (default threads and cache) on a SQLite file and on a
#     PostgreSQL database, each seeded with SEED_ROWS (3000) generated grids
#     (bench/gen_legacy.c) plus one 20x20 grid posted through /post;
#   - nginx (Debian's nginx-light) serving, as static files, the bytes ipborg
#     answered for /get/HASH, /HASH and /static/style.css, with ipborg's
#     content types; keep-alive on both, nginx's access log off as ipborg's;
#   - wrk with the printed settings against each URL; POST /post through
#     bench/post.lua with the 20x20 grid;
#   - /random on servers whose databases hold 1,000 and 100,000 public grids;
#   - pgbench (-M prepared, 8 clients) inserting the same 20x20 row into the
#     same schema: the reference for posts on PostgreSQL.
# After the posts, ipborg is killed with SIGKILL, restarted on the same
# database, and every grid whose post was answered 200 must still be served.
# Peak RSS (VmHWM) of each ipborg is read before it stops.
#
# Targets (issue): cached GETs >= 0.8x nginx; /random at 100,000 grids >= 0.9x
# its rate at 1,000; POST /post >= 0.2x nginx's GET rate on SQLite and >= 0.8x
# pgbench's insert rate on PostgreSQL, no acknowledged grid lost to kill -9;
# RSS < 64 MB at the default cache size.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
SEED_ROWS=${SEED_ROWS:-3000}
export HASHIDS_PUBLIC_SALT=bench-public HASHIDS_SECRET_SALT=bench-secret

bench_prepare
WORK=$(mktemp -d /tmp/ipborg-bench-http.XXXXXX)
chmod 755 "$WORK"   # the throw-away server and nginx's workers run as other users
PGDIR="$WORK/pg"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    "$BENCH_ROOT/scripts/pg-test.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
HELPER="python3 $BENCH_ROOT/bench/http_helper.py"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_ipborg VAR DBURL: starts ipborg serve; VAR_pid and VAR_url are set.
start_ipborg() {
    local var=$1 db=$2 log="$WORK/$1.log" port
    "$IPBORG" serve --quiet --port 0 --db-url "$db" > "$log" 2> "$WORK/$1.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do
        port=$(sed -n 's|^ipborg: serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/$1.err" >&2; bench_die "ipborg did not start on $db"; }
        sleep 0.1
    done
    [ -n "$port" ] || bench_die "ipborg did not say its port"
    printf -v "${var}_pid" '%s' "$pid"
    printf -v "${var}_url" '%s' "http://127.0.0.1:$port"
}

rss_mb() {  # peak RSS of a live process, MB
    awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# wrk_run URL [wrk args...]: prints "REQUESTS_PER_S P99_MS".
wrk_run() {
    local url=$1 out
    shift
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url")
    echo "$out" >> "$WORK/wrk.log"
    local rps p99 errs
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                             f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1;
                             printf "%.2f", v * f }' <<<"$out")
    errs=$(awk '/Non-2xx or 3xx responses:|Socket errors:/' <<<"$out")
    [ -z "$errs" ] || echo "  wrk $url: $errs" >&2
    echo "${rps:-0} ${p99:--}"
}

echo "bench/http.sh: ipborg vs nginx (same bytes) and pgbench (same row), loopback"
bench_machine
echo "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency; ipborg serve --quiet with its default worker threads and cache ($(nproc) cores)"

# --- data ---------------------------------------------------------------------------
cc -std=c11 -O2 -Wall -Wextra -o "$WORK/gen_legacy" "$BENCH_ROOT/bench/gen_legacy.c" -lsqlite3 ||
    bench_die "cannot build bench/gen_legacy.c"
mkdir -p "$WORK/gen"
"$WORK/gen_legacy" "$SEED_ROWS" "$WORK/seed.db" "$WORK/gen" 1
"$WORK/gen_legacy" 1111 "$WORK/r1k.db" "$WORK/gen" 2 5 5       # 1,000 public + 111 secret
"$WORK/gen_legacy" 111111 "$WORK/r100k.db" "$WORK/gen" 3 5 5   # 100,000 public
rm -rf "$WORK/gen"
URL=$("$BENCH_ROOT/scripts/pg-test.sh" start "$PGDIR")
BASE=${URL%/*}
for db in seed r1k r100k; do
    psql -X -q -v ON_ERROR_STOP=1 "$URL" -c "CREATE DATABASE $db"
    "$IPBORG" migrate --from "sqlite:///$WORK/$db.db" --to "$BASE/$db" >/dev/null 2>"$WORK/migrate-$db.err" ||
        { cat "$WORK/migrate-$db.err" >&2; bench_die "cannot load $db into PostgreSQL"; }
done
$HELPER body "$WORK/body.json"

# --- nginx serving ipborg's bytes --------------------------------------------------------
start_ipborg sq "sqlite:///$WORK/seed.db"
HASH=$($HELPER post "$sq_url" "$WORK/body.json")
mkdir -p "$WORK/www/get" "$WORK/www/static"
CT_GET=$($HELPER fetch "$sq_url/get/$HASH" "$WORK/www/get/$HASH")
CT_PAGE=$($HELPER fetch "$sq_url/$HASH" "$WORK/www/$HASH")
CT_CSS=$($HELPER fetch "$sq_url/static/style.css" "$WORK/www/static/style.css")
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    types { }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        location = /get/$HASH { default_type "$CT_GET"; }
        location = /$HASH { default_type "$CT_PAGE"; }
        location /static/ { default_type "$CT_CSS"; }
    }
}
EOF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>"$WORK/nginx/start.err" &
PIDS+=("$!")
for _ in $(seq 1 50); do
    $HELPER fetch "http://127.0.0.1:$NGINX_PORT/static/style.css" /dev/null >/dev/null 2>&1 && break
    sleep 0.1
done
$HELPER fetch "http://127.0.0.1:$NGINX_PORT/get/$HASH" "$WORK/check" >/dev/null &&
    cmp -s "$WORK/check" "$WORK/www/get/$HASH" || bench_die "nginx does not serve the files"
echo "grid $HASH: /get body $(stat -c %s "$WORK/www/get/$HASH") bytes, page $(stat -c %s "$WORK/www/$HASH") bytes, stylesheet $(stat -c %s "$WORK/www/static/style.css") bytes"
echo

ROWS=()
row() {  # what backend rps p99 ref_label ref_rps target
    local ratio
    ratio=$(bench_ratio "$3" "$6")
    ROWS+=("$(printf '%-22s %-10s %10s %9s   %-22s %10s %6s   %s' "$1" "$2" "$3" "$4" "$5" "$6" "$ratio" "$7")")
    printf '  %-22s %-10s %10s req/s  p99 %s ms\n' "$1" "$2" "$3" "$4"
}

read -r n_get n_get_p99 < <(wrk_run "http://127.0.0.1:$NGINX_PORT/get/$HASH")
read -r n_page n_page_p99 < <(wrk_run "http://127.0.0.1:$NGINX_PORT/$HASH")
read -r n_css n_css_p99 < <(wrk_run "http://127.0.0.1:$NGINX_PORT/static/style.css")
row "GET /get/HASH" nginx "$n_get" "$n_get_p99" "-" 0 ""
row "GET /HASH (page)" nginx "$n_page" "$n_page_p99" "-" 0 ""
row "GET /static/style.css" nginx "$n_css" "$n_css_p99" "-" 0 ""

# pgbench: PostgreSQL's own insert rate of the same row, 8 clients.
psql -X -q -v ON_ERROR_STOP=1 "$URL" -c "CREATE DATABASE pgref"
psql -X -q -v ON_ERROR_STOP=1 "$BASE/pgref" -c "CREATE TABLE public_grids (id SERIAL PRIMARY KEY,
  ipb_version TEXT NOT NULL, python_version JSONB NOT NULL, grid_data JSONB NOT NULL,
  code_cells JSONB, ipb_class TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  secret BOOLEAN NOT NULL)"
$HELPER pgbench-sql "$WORK/body.json" "$WORK/insert.sql"
pgbench -n -M prepared -c 8 -j 2 -T "$DURATION" -f "$WORK/insert.sql" "$BASE/pgref" > "$WORK/pgbench.out" 2>&1 ||
    { cat "$WORK/pgbench.out" >&2; bench_die "pgbench failed"; }
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/pgbench.out" | head -n 1)
pg_p99="-"
row "pgbench INSERT (8 cl.)" postgresql "$pg_tps" "$pg_p99" "-" 0 ""

# --- ipborg, per backend ------------------------------------------------------------------
declare -A RSS
DURABILITY=()
for backend in sqlite postgresql; do
    if [ "$backend" = sqlite ]; then
        srv=sq
        db_seed="sqlite:///$WORK/seed.db" db_1k="sqlite:///$WORK/r1k.db" db_100k="sqlite:///$WORK/r100k.db"
    else
        srv=pg
        db_seed="$BASE/seed" db_1k="$BASE/r1k" db_100k="$BASE/r100k"
        start_ipborg pg "$db_seed"
        h=$($HELPER post "$pg_url" "$WORK/body.json")
        [ "$h" = "$HASH" ] || echo "  (PostgreSQL gave the grid $h; measuring that one)" >&2
    fi
    eval "u=\$${srv}_url pid=\$${srv}_pid"
    [ "$backend" = sqlite ] && h=$HASH
    read -r rps p99 < <(wrk_run "$u/get/$h")
    row "GET /get/HASH" "$backend" "$rps" "$p99" "nginx" "$n_get" ">= 0.8"
    read -r rps p99 < <(wrk_run "$u/$h")
    row "GET /HASH (page)" "$backend" "$rps" "$p99" "nginx" "$n_page" ">= 0.8"
    read -r rps p99 < <(wrk_run "$u/static/style.css")
    row "GET /static/style.css" "$backend" "$rps" "$p99" "nginx" "$n_css" ">= 0.8"

    rm -f "$WORK/acks-$backend".*
    read -r rps p99 < <(IPBORG_BENCH_BODY="$WORK/body.json" IPBORG_BENCH_ACKS="$WORK/acks-$backend" \
        wrk_run "$u/post" -s "$BENCH_ROOT/bench/post.lua")
    if [ "$backend" = sqlite ]; then
        row "POST /post" "$backend" "$rps" "$p99" "nginx GET /get" "$n_get" ">= 0.2"
    else
        row "POST /post" "$backend" "$rps" "$p99" "pgbench INSERT" "$pg_tps" ">= 0.8"
    fi
    RSS[$backend]=$(rss_mb "$pid")
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    start_ipborg after "$db_seed"
    acks=$($HELPER check-acks "$after_url" "$WORK/acks-$backend".*) || true
    echo "  kill -9 after the posts: $acks"
    DURABILITY+=("$backend: $acks")
    kill "$after_pid"
    wait "$after_pid" 2>/dev/null || true

    start_ipborg r1 "$db_1k"
    read -r r1 r1_p99 < <(wrk_run "$r1_url/random")
    row "GET /random (1,000)" "$backend" "$r1" "$r1_p99" "-" 0 ""
    kill "$r1_pid"
    wait "$r1_pid" 2>/dev/null || true
    start_ipborg r2 "$db_100k"
    read -r rps p99 < <(wrk_run "$r2_url/random")
    row "GET /random (100,000)" "$backend" "$rps" "$p99" "/random (1,000)" "$r1" ">= 0.9"
    r2_rss=$(rss_mb "$r2_pid")
    kill "$r2_pid"
    wait "$r2_pid" 2>/dev/null || true
    RSS[$backend]="${RSS[$backend]} (GETs and posts), $r2_rss (/random)"
done

echo
printf '%-22s %-10s %10s %9s   %-22s %10s %6s   %s\n' request server 'req/s' 'p99 ms' reference 'ref req/s' ratio target
printf '%s\n' "${ROWS[@]}"
echo
echo "peak RSS of ipborg, MB (target < 64): sqlite ${RSS[sqlite]}; postgresql ${RSS[postgresql]}"
echo "acknowledged posts after kill -9: ${DURABILITY[*]}"
