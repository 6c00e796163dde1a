#!/bin/bash
# bench/gallery.sh -- the gallery's cost per request does not grow with the number
# of grids: its first and its last page, and the home page, timed against GET /get
# on a database of 1,000 and one of 1,000,000 public grids.
#
# Usage: bench/gallery.sh            (ROWS=1000000 SMALL_ROWS=1000 REQUESTS=300)
#
# What runs, all on 127.0.0.1:
#   - two SQLite files in the old service's format, made directly with SQL (a
#     recursive CTE: 2 x 2 grids, ids 1..N), with deletions: every 97th id and a run
#     of 60 ids in a row at 40% of the ids, so pages have to probe past gaps;
#   - ipborg serve --quiet --cache-mb 0 on each (no response cache, so /get asks
#     the database every time, as the gallery does);
#   - one keep-alive HTTP connection (Python's http.client) that sends REQUESTS
#     GETs of each URL in turn, after a warm-up, and takes the median time.
# Printed: the median per URL, each page's ratio to /get on the same database,
# and the ratio of each page at N rows to the same page at SMALL_ROWS rows.
# Target (issue 14): the last ratios near 1 -- the cost does not grow with N.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-1000000}
SMALL_ROWS=${SMALL_ROWS:-1000}
REQUESTS=${REQUESTS:-300}
export HASHIDS_PUBLIC_SALT=bench-public HASHIDS_SECRET_SALT=bench-secret

command -v python3 >/dev/null || bench_die "python3 is needed"
make -C "$BENCH_ROOT" --no-print-directory -s all >/dev/null || bench_die "build failed"
WORK=$(mktemp -d /tmp/ipborg-bench-gallery.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

# make_db FILE N: N public grids (and N/10 secret ones) in the old format, minus
# the deletions described above.
make_db() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
path, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(path)
for t in ("public_grids", "secret_grids"):
    con.execute("CREATE TABLE %s(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT, "
                "grid_data TEXT, secret BOOLEAN, code_cells TEXT, ipb_class TEXT, "
                "PRIMARY KEY(id))" % t)
for t, rows, secret in (("public_grids", n, 0), ("secret_grids", max(1, n // 10), 1)):
    con.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
        "INSERT INTO %s SELECT x, '1.9.0', '[3, 11, 7, \"final\", 0]', "
        "'{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": [[[' || (x %% 256) || "
        "', 40, 90, 20], [200, ' || (x * 7 %% 256) || ', 10, 20]], [[5, 5, 5, 20], "
        "[' || (x * 13 %% 256) || ', 128, 255, 20]]]}', ?, NULL, 'BlockGrid' FROM c"
        % t, (rows, secret))
gap = int(n * 0.4)
con.execute("DELETE FROM public_grids WHERE id %% 97 = 0 OR id BETWEEN %d AND %d"
            % (gap, gap + 59))
con.commit()
con.close()
PY
}

# start_ipborg VAR DBURL: starts ipborg serve; VAR_pid and VAR_url are set.
start_ipborg() {
    local var=$1 db=$2 log="$WORK/$1.log" port
    "$IPBORG" serve --quiet --cache-mb 0 --port 0 --db-url "$db" > "$log" 2> "$WORK/$1.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 600); do
        port=$(sed -n 's|^ipborg: serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/$1.err" >&2; bench_die "ipborg did not start on $db"; }
        sleep 0.1
    done
    [ -n "$port" ] || bench_die "ipborg did not say its port"
    printf -v "${var}_url" '%s' "http://127.0.0.1:$port"
}

# measure URL REQUESTS: "NAME MEDIAN_MS" per URL (get, first, last, home).
measure() {
    python3 - "$1" "$2" <<'PY'
import http.client, re, statistics, sys, time, urllib.parse
base, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

def get(path):
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit("GET %s: %d" % (path, r.status))
    return body.decode("utf-8", "replace")

first = get("/gallery")
hid = re.search(r'<li><a href="/([^"/]+)"><img', first).group(1)
# The last page: follow "Older grids" from near the bottom.
last = "/gallery?before=30"
paths = {"get": "/get/" + hid, "first": "/gallery", "last": last, "home": "/"}
for p in paths.values():
    for _ in range(20):
        get(p)
times = {k: [] for k in paths}
for _ in range(n):
    for k, p in paths.items():
        t = time.perf_counter()
        get(p)
        times[k].append(time.perf_counter() - t)
for k in paths:
    print(k, "%.3f" % (statistics.median(times[k]) * 1000))
PY
}

echo "bench/gallery.sh: $(bench_machine)"
echo "making $SMALL_ROWS and $ROWS grids ..."
make_db "$WORK/small.db" "$SMALL_ROWS"
bench_time t_big make_db "$WORK/big.db" "$ROWS"
echo "  $ROWS grids in ${t_big}s ($(du -h "$WORK/big.db" | cut -f1))"
start_ipborg small "sqlite:///$WORK/small.db"
start_ipborg big "sqlite:///$WORK/big.db"

declare -A ms_small ms_big
while read -r k v; do ms_small[$k]=$v; done < <(measure "$small_url" "$REQUESTS")
while read -r k v; do ms_big[$k]=$v; done < <(measure "$big_url" "$REQUESTS")

printf '\n%-34s %12s %12s\n' "median per request (ms)" "$SMALL_ROWS" "$ROWS"
for k in get first last home; do
    case $k in
        get) name="GET /get/HASH (reference)" ;;
        first) name="GET /gallery (first page)" ;;
        last) name="GET /gallery?before=30 (last)" ;;
        home) name="GET / (latest 8)" ;;
    esac
    printf '%-34s %12s %12s\n' "$name" "${ms_small[$k]}" "${ms_big[$k]}"
done
echo
for k in first last home; do
    echo "ratio $k / get at $ROWS grids: $(bench_ratio "${ms_big[$k]}" "${ms_big[get]}")" \
         " (at $SMALL_ROWS: $(bench_ratio "${ms_small[$k]}" "${ms_small[get]}"))"
done
for k in get first last home; do
    echo "ratio $k at $ROWS / at $SMALL_ROWS grids: $(bench_ratio "${ms_big[$k]}" "${ms_small[$k]}")"
done
