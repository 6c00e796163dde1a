"""test_faults.py -- ipborg when things break (issue "Hardening", points 1, 4, 6).

- The server is killed with SIGKILL while clients post: after a restart on the
  same database every grid whose post got a 200 is there and equal, and every
  stored row is whole (no half-written grid).
- PostgreSQL stops while clients read and post (a PostgreSQL of this test's
  own, started with scripts/pg-test.sh): ipborg answers 503 (JSON for /post and
  /get, HTML for pages), never hangs and never acknowledges a grid it did not
  store; /healthz is 503; once PostgreSQL is back ipborg serves again by
  itself, and every acknowledged grid is there. Answers ipborg holds in its
  response cache may still be served during the outage: the test tells
  grids read before the outage (cached) from grids never read (uncached).
- `ipborg migrate` killed with SIGKILL in the middle of the copy leaves the
  target as it was (one transaction); a source that is not a database, or one
  another process holds an exclusive lock on, is a one-line error with exit
  status 1, not a hang.

No timing assertions: waits are bounded only so that a hang fails the test
instead of stalling the run.
"""
import http.client
import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import (BIN, ROOT, TMP, Server, eq, fresh_db, ok, path_of, psql,
                     read_vector, test, vector)

SALTS_ENV = {"HASHIDS_PUBLIC_SALT": "public", "HASHIDS_SECRET_SALT": "secret"}


def tagged_post(tag, secret=False):
    """A valid post, unique by tag (in its code cell and its colours)."""
    n = sum(tag.encode())
    return {"python_version": [3, 11, 7, "final", 0], "ipb_version": "1.9.0",
            "ipb_class": "BlockGrid", "code_cells": ["# " + tag], "secret": secret,
            "grid_data": {"lines_on": True, "width": 3, "height": 2,
                          "blocks": [[[(n + r * 3 + c) % 256, len(tag) % 256, r, 10]
                                      for c in range(3)] for r in range(2)]}}


def get_path(url):
    p = path_of(url)
    return "/get" + p


def stored_rows(db_url):
    """Every row of both tables, read straight from the database, as dicts with
    the JSON columns parsed (a half-written row fails here)."""
    rows = []
    if db_url.startswith("sqlite:///"):
        c = sqlite3.connect(db_url[len("sqlite:///"):])
        try:
            for t in ("public_grids", "secret_grids"):
                for r in c.execute("SELECT id, ipb_version, python_version, grid_data, "
                                   "code_cells, ipb_class, secret FROM %s" % t):
                    rows.append({"table": t, "id": r[0], "ipb_version": r[1],
                                 "python_version": json.loads(r[2]),
                                 "grid_data": json.loads(r[3]),
                                 "code_cells": json.loads(r[4]) if r[4] else None,
                                 "ipb_class": r[5], "secret": bool(r[6])})
        finally:
            c.close()
        return rows
    for t in ("public_grids", "secret_grids"):
        out = psql(db_url, "SELECT row_to_json(g) FROM (SELECT id, ipb_version, "
                           "python_version, grid_data, code_cells, ipb_class, secret "
                           "FROM %s) g" % t)
        for line in out.splitlines():
            r = json.loads(line)
            r["table"] = t
            rows.append(r)
    return rows


def check_rows_whole(db_url, sent):
    """Every stored row equals the post it came from (found by its tag)."""
    by_tag = {p["code_cells"][0]: p for p in sent.values()}
    rows = stored_rows(db_url)
    for r in rows:
        cells = r["code_cells"]
        ok(cells and cells[0] in by_tag, "row %s/%s is one that was sent" % (r["table"], r["id"]))
        p = by_tag[cells[0]]
        for k in ("ipb_version", "python_version", "grid_data", "code_cells", "ipb_class",
                  "secret"):
            eq(r[k], p[k], "%s of row %s/%s" % (k, r["table"], r["id"]))
        eq(r["table"], "secret_grids" if p["secret"] else "public_grids", "table")
    return rows


def check_acknowledged(s, acked):
    for url, p in acked.items():
        st, _, d = s.get(get_path(url))
        eq(st, 200, "acknowledged grid %s" % url)
        eq(json.loads(d), p["grid_data"], "grid_data of %s" % url)


# --- SIGKILL of the server ---------------------------------------------------------

@test
def sigkill_loses_no_acknowledged_grid(backend):
    db = fresh_db(backend)
    s = Server(db, args=["--quiet"])
    acked, sent, lock = {}, {}, threading.Lock()
    errors = []

    def client(t):
        i = 0
        while True:
            tag = "thread %d post %d" % (t, i)
            p = tagged_post(tag, secret=(i % 4 == 3))
            with lock:
                sent[tag] = p
            try:
                st, _, d = s.post(p)
            except (OSError, http.client.HTTPException):
                return   # the server is gone: this post may or may not be stored
            if st != 200:
                errors.append("post %s: %d %r" % (tag, st, d[:100]))
                return
            with lock:
                acked[json.loads(d)["url"]] = p
            i += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 60 and time.time() < deadline and not errors:
        time.sleep(0.01)
    s.kill()
    for t in threads:
        t.join(30)
    eq(errors, [], "posts before the kill")
    ok(len(acked) >= 60, "posts were acknowledged before the kill (%d)" % len(acked))
    ok(len(sent) > len(acked), "posts were in flight at the kill")
    with Server(db, args=["--quiet"]) as s2:
        check_acknowledged(s2, acked)
        rows = check_rows_whole(db, sent)
        ok(len(rows) >= len(acked), "%d rows for %d acknowledged posts" % (len(rows), len(acked)))
        eq(s2.post(tagged_post("after the restart"))[0], 200, "posting again")


# --- PostgreSQL outage ---------------------------------------------------------------

def pg_script(*args):
    r = subprocess.run([os.path.join(ROOT, "scripts", "pg-test.sh")] + list(args),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("pg-test.sh %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout.strip()


def timed_request(s, method, path, body=None):
    """One request with a 10 s client timeout: a hang raises."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        return s.request(method, path, body=body, conn=c)
    finally:
        c.close()


def assert_503(st, h, d, json_body, what):
    eq(st, 503, what)
    if json_body:
        eq(h["content-type"], "application/json", "content type of " + what)
        ok("error" in json.loads(d), "503 of %s is a JSON error" % what)
    else:
        ok(h["content-type"].startswith("text/html"), "503 of %s is a page" % what)
        ok(b"</html>" in d, "503 of %s is a whole page" % what)


@test(backends=None)
def postgres_outage_is_503_then_recovers():
    pgdir = tempfile.mkdtemp(prefix="ipborg-outage-")
    try:
        url = pg_script("start", pgdir)
        with Server(url, args=["--threads", "2", "--quiet"]) as s:
            acked, lock = {}, threading.Lock()
            cached = {}     # url -> post, read before the outage
            uncached = {}   # url -> post, never read until PostgreSQL is down
            for i in range(4):
                for group, name in ((cached, "cached"), (uncached, "uncached")):
                    p = tagged_post("%s %d" % (name, i), secret=(i == 3))
                    st, _, d = s.post(p)
                    eq(st, 200)
                    group[json.loads(d)["url"]] = p
            acked.update(cached)
            acked.update(uncached)
            for u in cached:
                eq(s.get(get_path(u))[0], 200)
                eq(s.get(path_of(u))[0], 200)

            stop = threading.Event()
            problems, statuses = [], []

            def poster(t):
                i = 0
                while not stop.is_set():
                    p = tagged_post("outage poster %d %d" % (t, i))
                    i += 1
                    try:
                        st, h, d = timed_request(s, "POST", "/post", json.dumps(p))
                    except Exception as e:  # noqa: BLE001 -- a hang or a reset is a failure
                        problems.append("post: %r" % e)
                        return
                    statuses.append(st)
                    if st == 200:
                        with lock:
                            acked[json.loads(d)["url"]] = p
                    elif st == 503:
                        if h.get("content-type") != "application/json" or \
                                "error" not in json.loads(d):
                            problems.append("503 of /post is not JSON: %r" % d[:100])
                    else:
                        problems.append("post: %d %r" % (st, d[:100]))
                    time.sleep(0.02)

            def reader():
                while not stop.is_set():
                    for u, p in list(cached.items()):
                        for path in (get_path(u), path_of(u)):
                            try:
                                st, h, d = timed_request(s, "GET", path)
                            except Exception as e:  # noqa: BLE001
                                problems.append("GET %s: %r" % (path, e))
                                return
                            statuses.append(st)
                            if st == 200 and path.startswith("/get"):
                                if json.loads(d) != p["grid_data"]:
                                    problems.append("wrong grid_data at " + path)
                            elif st not in (200, 503):
                                problems.append("GET %s: %d" % (path, st))
                    time.sleep(0.02)

            threads = [threading.Thread(target=poster, args=(t,)) for t in range(3)]
            threads.append(threading.Thread(target=reader))
            for t in threads:
                t.start()
            try:
                time.sleep(0.5)
                pg_script("stop-server", pgdir)
                # Uncached grids, /random and the health check need the database.
                for u in uncached:
                    st, h, d = timed_request(s, "GET", get_path(u))
                    assert_503(st, h, d, True, "/get of an uncached grid")
                    st, h, d = timed_request(s, "GET", path_of(u))
                    assert_503(st, h, d, False, "page of an uncached grid")
                    st, h, d = timed_request(s, "GET", path_of(u) + ".png")
                    assert_503(st, h, d, False, "PNG of an uncached grid")
                st, h, d = timed_request(s, "GET", "/random")
                assert_503(st, h, d, False, "/random")
                st, h, d = timed_request(s, "POST", "/post", json.dumps(tagged_post("down")))
                assert_503(st, h, d, True, "/post")
                eq(timed_request(s, "GET", "/healthz")[0], 503, "/healthz")
                # Pages that need no database are still served.
                eq(timed_request(s, "GET", "/about")[0], 200, "/about during the outage")
                time.sleep(1)
                pg_script("start-server", pgdir)
                # Back without a restart: each worker thread may fail once on its
                # connection from before the outage, then reconnects.
                failures, deadline = 0, time.time() + 30
                while time.time() < deadline:
                    if timed_request(s, "GET", "/healthz")[0] == 200:
                        break
                    failures += 1
                ok(failures <= 2, "%d failed health checks after PostgreSQL came back "
                   "(one per worker thread at most)" % failures)
                for _ in range(6):
                    eq(timed_request(s, "GET", "/healthz")[0], 200, "/healthz once back")
                time.sleep(0.5)
            finally:
                stop.set()
                for t in threads:
                    t.join(30)
            eq(problems, [], "answers during the outage")
            ok(503 in statuses, "the clients saw the outage")
            for u, p in uncached.items():
                st, _, d = timed_request(s, "GET", get_path(u))
                eq(st, 200, "uncached grid after the outage")
                eq(json.loads(d), p["grid_data"])
                eq(timed_request(s, "GET", path_of(u))[0], 200, "its page")
            eq(timed_request(s, "POST", "/post", json.dumps(tagged_post("after")))[0], 200,
               "posting after the outage")
            check_acknowledged(s, acked)
    finally:
        try:
            pg_script("stop", pgdir)
        finally:
            shutil.rmtree(pgdir, ignore_errors=True)


# --- migrate under faults ----------------------------------------------------------------

LEGACY_TABLE = ("CREATE TABLE %s(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT, "
                "grid_data TEXT, secret BOOLEAN, code_cells TEXT, ipb_class TEXT, "
                "PRIMARY KEY(id))")
_big_source = []


def big_source():
    """A SQLite file in the old service's format with 120,000 grids: copying it
    takes seconds, so that progress shows before the copy ends."""
    if _big_source:
        return _big_source[0]
    path = os.path.join(TMP, "big-source.db")
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=DELETE")
    for t in ("public_grids", "secret_grids"):
        c.execute(LEGACY_TABLE % t)
    pv = json.dumps([3, 11, 7, "final", 0])
    filler = "x = 1  # " + "abcdefghij" * 100

    def rows(n, secret):
        for i in range(1, n + 1):
            g = ('{"lines_on": true, "width": 2, "height": 1, '
                 '"blocks": [[[%d, 1, 2, 20], [3, 4, 5, 20]]]}' % (i % 256))
            yield (i, "1.9.0", pv, g, secret, '["# grid %d", "%s"]' % (i, filler), "BlockGrid")
    c.executemany("INSERT INTO public_grids VALUES (?,?,?,?,?,?,?)", rows(90000, 0))
    c.executemany("INSERT INTO secret_grids VALUES (?,?,?,?,?,?,?)", rows(30000, 1))
    c.commit()
    c.close()
    _big_source.append("sqlite:///" + path)
    return _big_source[0]


SALT_ROWS = {"public_grids": "", "secret_grids": "",
             "ipborg_meta": "WHERE key LIKE 'hashids%'"}


def snapshot(db_url):
    """What a migration may change in a database: both grid tables and the
    stored salts, as sorted lists; a table (or SQLite file) that does not exist
    is empty. (Opening a target creates its empty tables and notes the schema
    version: that is not content.)"""
    tables = ("public_grids", "secret_grids", "ipborg_meta")
    snap = {}
    if db_url.startswith("sqlite:///"):
        path = db_url[len("sqlite:///"):]
        if not os.path.exists(path):
            return {t: [] for t in tables}
        c = sqlite3.connect(path)
        try:
            have = {r[0] for r in c.execute("SELECT name FROM sqlite_master")}
            for t in tables:
                snap[t] = sorted(map(repr, c.execute("SELECT * FROM %s %s" % (t, SALT_ROWS[t]))))\
                    if t in have else []
        finally:
            c.close()
        return snap
    have = set(psql(db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
               .split())
    for t in tables:
        snap[t] = sorted(psql(db_url, "SELECT row_to_json(x) FROM %s x %s"
                              % (t, SALT_ROWS[t])).splitlines()) if t in have else []
    return snap


def kill_migrate_midway(src, dst, replace):
    args = [BIN, "migrate", "--from", src, "--to", dst] + (["--replace"] if replace else [])
    # Progress after 20 ms of copying (not the default 1 s), so the kill lands
    # in the middle of the copy however fast this machine is.
    env = dict(os.environ, IPBORG_PROGRESS_SECONDS="0.02", **SALTS_ENV)
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen, deadline = b"", time.time() + 120
    try:
        while time.time() < deadline:
            r, _, _ = select.select([p.stderr], [], [], 0.5)
            if r:
                part = os.read(p.stderr.fileno(), 4096)
                if not part:
                    break
                seen += part
                if b"copying:" in seen:
                    break
            elif p.poll() is not None:
                break
        ok(b"copying:" in seen and p.poll() is None,
           "migrate was killed while copying (stderr so far: %r)" % seen[-300:])
        p.send_signal(signal.SIGKILL)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stderr.close()
    eq(p.returncode, -signal.SIGKILL, "killed by SIGKILL")


@test
def migrate_killed_midway_changes_nothing(backend):
    src = big_source()
    # An empty target stays empty.
    dst = fresh_db(backend)
    before = snapshot(dst)
    kill_migrate_midway(src, dst, replace=False)
    eq(snapshot(dst), before, "empty target after a killed migrate")
    # A target with grids keeps them, even under --replace (which drops the
    # tables inside the same transaction).
    dst = fresh_db(backend)
    with Server(dst, args=["--quiet"]) as s:
        for i in range(5):
            eq(s.post(tagged_post("kept %d" % i, secret=(i == 4)))[0], 200)
    before = snapshot(dst)
    eq(len(before["public_grids"]) + len(before["secret_grids"]), 5, "target holds 5 grids")
    kill_migrate_midway(src, dst, replace=True)
    eq(snapshot(dst), before, "target with grids after a killed migrate --replace")
    with Server(dst, args=["--quiet"]) as s:
        eq(s.get("/get/bizkiL")[0], 200, "the target still serves its grids")
        eq(s.post(tagged_post("afterwards"))[0], 200, "and stores new ones")


def run_migrate(src, dst, timeout=60):
    r = subprocess.run([BIN, "migrate", "--from", src, "--to", dst], capture_output=True,
                       text=True, timeout=timeout, env=dict(os.environ, **SALTS_ENV))
    return r.returncode, r.stderr


def assert_one_line_failure(rc, err, what, words):
    eq(rc, 1, "exit status of " + what)
    lines = err.strip().split("\n")
    eq(len(lines), 1, "one line on stderr for %s: %r" % (what, err))
    ok(lines[0].startswith("ipborg migrate"), "the line names the command: %r" % lines[0])
    ok(any(w in lines[0] for w in words), "the line says why (%r): %r" % (words, lines[0]))


@test(backends=None)
def migrate_source_not_a_database():
    path = os.path.join(TMP, "not-a-database.db")
    with open(path, "wb") as f:
        f.write(b"this is a text file, not SQLite\n" * 500)
    for dst in (fresh_db("sqlite"), fresh_db("postgres")):
        before = snapshot(dst)
        rc, err = run_migrate("sqlite:///" + path, dst)
        assert_one_line_failure(rc, err, "a source that is not a database", ["not a database"])
        eq(snapshot(dst), before, "target untouched")


@test(backends=None)
def migrate_locked_source():
    path = os.path.join(TMP, "locked-source.db")
    shutil.copy(vector("legacy", "legacy_small.db"), path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        dst = fresh_db("sqlite")
        rc, err = run_migrate("sqlite:///" + path, dst)
        assert_one_line_failure(rc, err, "a locked source", ["locked", "busy"])
        eq(snapshot(dst), snapshot("sqlite:///" + os.path.join(TMP, "nothing.db")),
           "target untouched")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    rc, err = run_migrate("sqlite:///" + path, dst)
    eq(rc, 0, "the same migrate once the lock is gone: %s" % err)
