"""test_memory.py -- one copy of a big answer however many read it (docs/protocol.md
§3, issue "big answers copied per connection").

Slow readers: many connections with small receive buffers ask for the same big answer
at once and read it a little at a time, so that every answer is in flight together.
The server's peak resident set (VmHWM of /proc/PID/status) must stay under a fixed
bound; a watchdog stops a run as soon as the bound is passed, so that a server that
copies or renders per reader fails quickly instead of eating the machine's memory.
Memory figures mean nothing under ASan, so these run in the plain pass only; the
eviction test below (no memory figures) runs in both.
"""
import hashlib
import json
import os
import random
import selectors
import socket
import subprocess
import time

from harness import BIN, Server, eq, fresh_db, ok, path_of, test

LIMIT_KIB = 256 * 1024
READERS = 64


def big_post(side=500, seed=1, low=0, sizes=(20, 20)):
    """A side x side grid of random colours (the largest --max-cells allows at 500),
    colour components from low to 255, block sizes in the range sizes."""
    rnd = random.Random(seed)
    blocks = [[[rnd.randrange(low, 256), rnd.randrange(low, 256), rnd.randrange(low, 256),
                rnd.randrange(sizes[0], sizes[1] + 1)]
               for _ in range(side)] for _ in range(side)]
    return json.dumps({"python_version": [3, 11, 7, "final", 0], "ipb_version": "1.9.0",
                       "ipb_class": "BlockGrid", "code_cells": ["grid = BlockGrid(%d, %d)" %
                                                                (side, side)],
                       "secret": False,
                       "grid_data": {"lines_on": True, "width": side, "height": side,
                                     "blocks": blocks}})


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


class TooBig(AssertionError):
    pass


def slow_readers(srv, path, n=READERS, limit_kib=LIMIT_KIB, chunk=16384, whole=READERS,
                 prefix=4 << 20):
    """n connections ask for path at once, each with a 4 KiB receive buffer. Phase 1
    reads until every one has its headers (so every answer is queued and in flight
    together); phase 2 reads on, chunk bytes per connection per turn: the first
    `whole` readers to the end, the others their first `prefix` bytes (then they hang
    up). The server's VmHWM is checked between reads: over limit_kib, the readers are
    dropped and TooBig is raised. Returns (peak KiB, readers in flight after phase 1,
    [(status, headers, body or its prefix, whole?)])."""
    pid = srv.proc.pid
    socks = []
    sel = selectors.DefaultSelector()
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", srv.port))
            socks.append(s)
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
               % (path, srv.port)).encode()
        for s in socks:
            s.sendall(req)
        bufs = [bytearray() for _ in socks]
        done = [False] * n
        for i, s in enumerate(socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)

        def check():
            hwm = vm_kib(pid, "VmHWM")
            if hwm > limit_kib:
                raise TooBig("server peak RSS %d KiB > %d KiB with %d readers of %s"
                             % (hwm, limit_kib, n, path))
            return hwm

        def turn(want_headers):
            for key, _ in sel.select(timeout=0.2):
                i = key.data
                if want_headers and b"\r\n\r\n" in bufs[i]:
                    continue
                try:
                    data = key.fileobj.recv(4096 if want_headers else chunk)
                except BlockingIOError:
                    continue
                if data:
                    bufs[i] += data
                if not data or (i >= whole and len(bufs[i]) >= prefix):
                    done[i] = True
                    sel.unregister(key.fileobj)
            check()

        deadline = time.time() + 600
        # Phase 1: every reader gets its status line before any reads on.
        while not all(b"\r\n\r\n" in b or d for b, d in zip(bufs, done)):
            ok(time.time() < deadline, "headers did not come")
            turn(True)
        in_flight = sum(1 for d in done if not d)
        # Phase 2: read everything, a little from each at a time.
        while not all(done):
            ok(time.time() < deadline, "answers did not end")
            turn(False)
        peak = check()
        answers = []
        for i, b in enumerate(bufs):
            head, _, body = bytes(b).partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:])}
            answers.append((status, headers, body, i < whole))
        return peak, in_flight, answers
    finally:
        sel.close()
        for s in socks:
            s.close()


def big_grid_server(backend, args=(), **grid):
    # Renders of a 500x500 grid take seconds on a loaded machine, and a worker
    # thread that renders serves none of its other connections meanwhile: a
    # longer --client-timeout keeps those from being closed as too slow.
    srv = Server(fresh_db(backend), args=["--quiet", "--client-timeout", "300"] + list(args))
    try:
        st, _, body = srv.post(big_post(**grid))
        eq(st, 200, "post of the 500x500 grid")
        return srv, path_of(json.loads(body)["url"])[1:]
    except BaseException:
        srv.kill()
        raise


def check_shared(srv, path, want_type, n=READERS, whole=READERS):
    before = vm_kib(srv.proc.pid, "VmHWM")
    try:
        peak, in_flight, answers = slow_readers(srv, path, n, whole=whole)
    except TooBig:
        srv.kill()   # a server over the bound may be deep in renders: no grace
        raise
    st, _, want = srv.get(path)
    eq(st, 200, "a later GET")
    for status, headers, body, complete in answers:
        eq(status, 200, path)
        eq(headers.get("content-type", "").split(";")[0], want_type, "content type")
        eq(int(headers["content-length"]), len(want), "length")
        if complete:
            ok(body == want, "a reader got the same bytes as a later GET")
        else:
            ok(len(body) > 2**20 and want.startswith(body), "a reader's first bytes")
    size = len(want)
    print("   %s: %d readers (%d still reading when all had headers) of %.1f MiB; server "
          "peak RSS %d KiB before, %d KiB after (bound %d KiB)"
          % (path, n, in_flight, size / 2**20, before, peak, LIMIT_KIB))
    ok(in_flight >= n // 2, "the readers were in flight together (%d of %d)" % (in_flight, n))
    ok(peak < LIMIT_KIB, "peak RSS %d KiB" % peak)
    return size


@test(backends=("sqlite",), measures_memory=True)
def memory_slow_readers_of_a_big_page(backend):
    srv, h = big_grid_server(backend)
    with srv:
        misses = metric(srv, "ipborg_cache_misses_total")
        # 64 x 31 MiB through 4 KiB buffers takes long: 8 read it all, the rest 4 MiB.
        size = check_shared(srv, "/" + h, "text/html", whole=8)
        ok(size > 16 * 2**20, "the page is big (%d bytes)" % size)
        # The first reader's answer was in flight (far larger than socket buffers)
        # while all the others asked: one miss (render) for all 64, one for the
        # later GET of check_shared (every reader was done), one for this /metrics.
        eq(metric(srv, "ipborg_cache_misses_total") - misses, 3, "misses (renders)")


@test(backends=("sqlite",), measures_memory=True)
def memory_slow_readers_of_big_get_without_cache(backend):
    # --cache-mb 0 keeps nothing: readers in flight still share one copy.
    srv, h = big_grid_server(backend, ["--cache-mb", "0"], low=100, sizes=(100, 999))
    with srv:
        size = check_shared(srv, "/get/" + h, "application/json")
        ok(size > 2**20, "the answer is bigger than the cache (%d bytes)" % size)


@test(backends=("postgres",), measures_memory=True)
def memory_slow_readers_of_a_big_png(backend):
    # A cache of 1 MiB, smaller than the PNG.
    srv, h = big_grid_server(backend, ["--cache-mb", "1"])
    with srv:
        size = check_shared(srv, "/%s.png" % h, "image/png")
        ok(size > 2**20, "the PNG is bigger than the cache (%d bytes)" % size)


def metric(srv, name):
    _, _, body = srv.get("/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError("no metric " + name)


@test(backends=("sqlite",))
def evicted_and_deleted_while_read(backend):
    """Readers hold a cached page while the cache evicts it (a 1 MiB cache, many
    other pages) and while the grid is deleted: every reader still gets the whole
    page, nobody after the delete does, and (in the ASan pass) nothing is touched
    after it is freed."""
    db = fresh_db(backend)
    srv = Server(db, args=["--quiet", "--cache-mb", "1"])
    with srv:
        def post(side, seed):
            st, _, body = srv.post(big_post(side, seed))
            eq(st, 200, "post")
            return path_of(json.loads(body)["url"])
        target = post(12, 0)    # a page of ~25 KB: kept in the cache (<= 64 KB a shard)
        others = [post(12, i) for i in range(1, 60)]
        st, _, want = srv.get(target)
        eq(st, 200, "first GET")
        pid = srv.proc.pid
        n = 8
        socks = []
        try:
            for _ in range(n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", srv.port))
                s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                           % (target, srv.port)).encode())
                socks.append(s)
            got = [s.recv(1024) for s in socks]
            ok(all(g.startswith(b"HTTP/1.1 200") for g in got), "readers started")
            evictions = metric(srv, "ipborg_cache_evictions_total")
            for p in others:
                eq(srv.get(p)[0], 200, "another page")
            ok(metric(srv, "ipborg_cache_evictions_total") > evictions + 20, "pages evicted")
            env = dict(os.environ, HASHIDS_PUBLIC_SALT="public", HASHIDS_SECRET_SALT="secret")
            r = subprocess.run([BIN, "delete", "--yes", "--db-url", db, target[1:]],
                               capture_output=True, text=True, env=env, timeout=60)
            eq(r.returncode, 0, "delete: %s" % r.stderr)
            deadline = time.time() + 10
            while srv.get(target)[0] != 404:
                ok(time.time() < deadline, "the deleted grid is still served")
                time.sleep(0.1)
            for s, g in zip(socks, got):
                s.settimeout(30)
                data = bytearray(g)
                while True:
                    c = s.recv(4096)
                    if not c:
                        break
                    data += c
                body = bytes(data).partition(b"\r\n\r\n")[2]
                eq(hashlib.sha256(body).hexdigest(), hashlib.sha256(want).hexdigest(),
                   "a reader's page")
        finally:
            for s in socks:
                s.close()
        ok(vm_kib(pid, "VmRSS") > 0, "server alive")
