"""harness.py -- what the end-to-end tests share: starting build/ipborg on a free
loopback port against a real database, speaking HTTP to it, fresh databases on
SQLite and on the PostgreSQL server that scripts/run-tests.sh started
(IPBORG_TEST_PG_URL), and a tiny test runner that ends with the line
`N passed, N failed`.

Process hygiene: every process a test starts, the test stops. The runner makes
itself a child subreaper (Linux prctl), so whatever a test starts stays below
it even when its parent exits first (a shell that started ipborg and was
stopped, a PostgreSQL that pg_ctl left running); after each test it looks for
living descendants, and a test that leaves one fails and the process is
stopped. Servers bind 127.0.0.1.

Only Python's standard library: the tests run on a fresh Debian with python3.
"""
import ctypes
import http.client
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("IPBORG_BIN", os.path.join(ROOT, "build", "ipborg"))
VECTORS = os.environ.get("IPBORG_VECTORS", os.path.join(ROOT, "tests", "vectors"))
TMP = tempfile.mkdtemp(prefix="ipborg-e2e-")
# The build-asan pass of `make test`: memory figures mean nothing there (ASan
# keeps freed memory in quarantine and maps shadow memory), so tests that
# measure memory run in the plain pass only.
SANITIZED = "ASAN_OPTIONS" in os.environ and "build-asan" in BIN


def vector(*parts):
    return os.path.join(VECTORS, *parts)


def read_vector(*parts, mode="rb"):
    with open(vector(*parts), mode) as f:
        return f.read()


# --- databases ------------------------------------------------------------------

_db_counter = [0]


def pg_url():
    url = os.environ.get("IPBORG_TEST_PG_URL")
    if not url:
        raise AssertionError("IPBORG_TEST_PG_URL is not set: run the tests through `make test`, "
                             "which starts a throw-away PostgreSQL")
    return url


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("psql failed: %s" % r.stderr.strip())
    return r.stdout


def with_dbname(url, name):
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def fresh_db(backend):
    """A new, empty database URL of the given backend ('sqlite' or 'postgres')."""
    _db_counter[0] += 1
    n = _db_counter[0]
    if backend == "sqlite":
        return "sqlite:///" + os.path.join(TMP, "db%d.sqlite" % n)  # TMP is absolute
    name = "e2e_%d_%d" % (os.getpid(), n)
    psql(pg_url(), "CREATE DATABASE %s" % name)
    return with_dbname(pg_url(), name)


# --- the server -----------------------------------------------------------------

class Server:
    """build/ipborg serve on 127.0.0.1, any free port."""

    def __init__(self, db_url, args=(), env=None, salts=("public", "secret"), cwd=None):
        e = dict(os.environ)
        for k in ("HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "DATABASE_URL", "PORT",
                  "IPBORG_PUBLIC_URL", "IPBORG_HOST"):
            e.pop(k, None)
        if salts:
            e["HASHIDS_PUBLIC_SALT"], e["HASHIDS_SECRET_SALT"] = salts
        if env:
            e.update(env)
        self.db_url = db_url
        self.log_path = os.path.join(TMP, "server-%d-%f.log" % (os.getpid(), time.time()))
        self.log = open(self.log_path, "wb")
        # Loopback only, whatever the default; a test about another address passes --host.
        self.proc = subprocess.Popen([BIN, "serve", "--host", "127.0.0.1", "--port", "0",
                                      "--db-url", db_url] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log, env=e, cwd=cwd)
        line = self.startup_line = self._read_line(20)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not start: %r; log: %s" % (line, self.read_log()))
        self.port = int(m.group(1))
        self.base = "http://127.0.0.1:%d" % self.port

    def _read_line(self, timeout):
        end = time.time() + timeout
        data = b""
        while time.time() < end and not data.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                c = os.read(self.proc.stdout.fileno(), 1)
                if not c:
                    break
                data += c
            elif self.proc.poll() is not None:
                break
        return data.decode("utf-8", "replace")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within %ss of signal %d" % (timeout, sig))
        self.log.close()
        self.check_sanitizers()
        return self.proc.returncode

    # A sanitizer's report in the server's log (ASan/LSan lines start "==PID==",
    # UBSan's "file:line:col: runtime error: "); access-log lines start with a
    # time, so they never match.
    SANITIZER_REPORT = re.compile(rb"^(==\d+==.*(AddressSanitizer|LeakSanitizer)|\S+: runtime error: )",
                                  re.M)

    def check_sanitizers(self):
        """Fails the test if the server's log holds a sanitizer report (the
        build-asan pass of `make test` runs every test on a sanitized binary)."""
        with open(self.log_path, "rb") as f:
            data = f.read()
        m = self.SANITIZER_REPORT.search(data)
        if m:
            raise AssertionError("sanitizer report in the server's log:\n" +
                                 data[m.start():m.start() + 4000].decode("utf-8", "replace"))

    def kill(self):
        return self.stop(signal.SIGKILL)

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request; returns (status, headers dict with lower-case keys, body bytes)."""
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, body, **kw):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        return self.request("POST", "/post", body=body, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def path_of(url):
    return urllib.parse.urlsplit(url).path


# --- processes the tests leave behind -------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper():
    """Orphans of our descendants become our children instead of init's, so a
    process a test started can never escape the check below."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


SUBREAPER = _become_subreaper()


def _process_table():
    """{pid: (ppid, pgid, state)} of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()   # after "pid (comm) "
        table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


def _reap(table):
    """Collects our zombie children (orphans handed to us as subreaper)."""
    for pid, (ppid, _, state) in table.items():
        if ppid == os.getpid() and state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def leftover_processes():
    """Living processes below this one: [(pid, command line)]."""
    table = _process_table()
    _reap(table)
    children = {}
    for pid, (ppid, _, state) in table.items():
        children.setdefault(ppid, []).append((pid, state))
    found, stack = [], [os.getpid()]
    while stack:
        for pid, state in children.get(stack.pop(), []):
            stack.append(pid)
            if state != "Z":
                found.append((pid, command_line(pid)))
    return found


def group_members(pgid):
    """Living processes of process group pgid."""
    return [pid for pid, (_, g, state) in _process_table().items() if g == pgid and state != "Z"]


def stop_processes(pids, grace=5.0):
    """SIGTERM, then after grace seconds SIGKILL, for each pid still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace
        while time.time() < deadline:
            alive = {p for p, _ in leftover_processes()}
            pids = [p for p in pids if p in alive]
            if not pids:
                return
            time.sleep(0.05)


def check_no_leftovers(wait=5.0):
    """Fails (after stopping them) if processes started by a test still run.
    A process already on its way out gets `wait` seconds to finish."""
    deadline = time.time() + wait
    left = leftover_processes()
    while left and time.time() < deadline:
        time.sleep(0.05)
        left = leftover_processes()
    if left:
        stop_processes([pid for pid, _ in left])
        raise AssertionError("left running: " + "; ".join("pid %d: %s" % p for p in left))


# --- assertions -----------------------------------------------------------------

def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a) if what else
                             "expected %r, got %r" % (b, a))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


# --- runner ---------------------------------------------------------------------

TESTS = []


def test(fn=None, backends=("sqlite", "postgres"), measures_memory=False):
    """Registers fn(backend) once per backend (or fn() with backends=None).
    measures_memory: not registered in the sanitized pass (see SANITIZED)."""
    def reg(f):
        if measures_memory and SANITIZED:
            return f
        if backends:
            for b in backends:
                TESTS.append(("%s[%s]" % (f.__name__, b), (lambda f=f, b=b: f(b))))
        else:
            TESTS.append((f.__name__, f))
        return f
    return reg(fn) if fn else reg


def run_all(pattern=None):
    """Runs the tests; after each one, a process it left running fails it
    (check_no_leftovers), and the run ends with none left, even when stopped
    by Ctrl-C."""
    passed = failed = 0
    if not SUBREAPER:
        print("harness: cannot become a child subreaper; processes orphaned by a test "
              "may go unnoticed")
    try:
        for name, fn in TESTS:
            if pattern and not re.search(pattern, name):
                continue
            t0 = time.time()
            try:
                try:
                    fn()
                finally:
                    check_no_leftovers()
            except Exception:  # noqa: BLE001 -- every failure is reported, none stops the run
                failed += 1
                print("FAIL %s (%.1fs)" % (name, time.time() - t0))
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print("ok   %s (%.1fs)" % (name, time.time() - t0))
            sys.stdout.flush()
    finally:
        left = leftover_processes()
        if left:
            stop_processes([pid for pid, _ in left])
            failed += 1
            print("FAIL the run left processes running: " +
                  "; ".join("pid %d: %s" % p for p in left))
        shutil.rmtree(TMP, ignore_errors=True)
    print("e2e: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


# --- PNG -----------------------------------------------------------------------

def png_decode(data):
    """(width, height, pixel(x, y) -> (r, g, b)) of an 8-bit RGB or RGBA PNG, not
    interlaced (what ipborg and Chromium write), with zlib and the PNG filters
    only: the tests need no imaging library."""
    eq(data[:8], b"\x89PNG\r\n\x1a\n", "PNG signature")
    pos, idat = 8, b""
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            ok(depth == 8 and ctype in (2, 6) and not interlace,
               "screenshot is an 8-bit RGB(A) PNG (depth %d, type %d)" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows = zlib.decompress(idat), w * bpp, []
    prev = bytearray(stride)
    for y in range(h):
        start = y * (stride + 1)
        f, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, lambda x, y: tuple(rows[y][bpp * x:bpp * x + 3])
