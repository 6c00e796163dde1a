# bench/lib.sh -- helpers shared by the benchmark scripts (sourced, not run).
#
# Benchmarks are not tests: they print numbers and ratios against a reference
# measured in the same run, and never fail on a number. Everything they start
# listens on 127.0.0.1 only; every process they start is stopped by its pid
# on exit (bench_cleanup), and their scratch files live under one temp dir.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IPBORG="$BENCH_ROOT/build/ipborg"

bench_die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# bench_prepare: the Debian packages of the bench profile, a fresh build.
bench_prepare() {
    "$BENCH_ROOT/scripts/install-deps.sh" bench || bench_die "missing packages"
    make -C "$BENCH_ROOT" --no-print-directory -s all >/dev/null || bench_die "build failed"
}

# bench_run_measured OUT_PREFIX CMD...: runs CMD with stdout/stderr in
# OUT_PREFIX.out / .err; writes "WALL_SECONDS PEAK_RSS_KB EXIT" to
# OUT_PREFIX.stats (peak RSS of CMD itself, from the kernel's rusage).
bench_run_measured() {
    local prefix=$1
    shift
    python3 - "$prefix" "$@" <<'PY'
import resource, subprocess, sys, time
prefix, argv = sys.argv[1], sys.argv[2:]
t = time.monotonic()
with open(prefix + ".out", "wb") as o, open(prefix + ".err", "wb") as e:
    rc = subprocess.call(argv, stdout=o, stderr=e)
wall = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(prefix + ".stats", "w").write("%.2f %d %d\n" % (wall, rss, rc))
PY
}

# bench_time SECONDS_VAR CMD...: runs CMD, stores its wall time in SECONDS_VAR.
bench_time() {
    local __var=$1 t0
    shift
    t0=$EPOCHREALTIME
    "$@" || bench_die "failed: $*"
    printf -v "$__var" '%s' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
}

# bench_ratio A B: A / B with two decimals ("-" when B is 0).
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# bench_machine: one line describing where the numbers come from.
bench_machine() {
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(uname -sr)"
}
