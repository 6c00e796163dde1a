"""test_backup.py -- ipborg export, import and stats (docs/protocol.md §7) end to end: the
legacy file exported with its salts, byte-identical round trips through SQLite
and PostgreSQL, a server that serves every URL of an imported file with no salt
in its environment, refusals that leave the target as it was, stats against the
data, and memory that does not grow with the number of lines."""
import datetime
import json
import re
import os
import shutil
import sqlite3
import subprocess
import time

from harness import (BIN, TMP, Server, eq, fresh_db, ok, path_of, psql, read_vector, test,
                     vector)


def env_for(salts=None):
    e = {k: v for k, v in os.environ.items()
         if k not in ("HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "DATABASE_URL")}
    if salts:
        e["HASHIDS_PUBLIC_SALT"], e["HASHIDS_SECRET_SALT"] = salts
    return e


def new_path(name):
    d = os.path.join(TMP, "backup-%d-%f" % (os.getpid(), time.time()))
    os.makedirs(d)
    return os.path.join(d, name)


def legacy_copy():
    p = new_path("legacy_small.db")
    shutil.copy(vector("legacy", "legacy_small.db"), p)
    return p


def export(db, salts=None, expect=0):
    r = subprocess.run([BIN, "export", "--db-url", db], capture_output=True, timeout=300,
                       env=env_for(salts))
    eq(r.returncode, expect, "export exit status (stderr: %s)" % r.stderr.decode())
    return r.stdout


def import_(db, data, replace=False, expect=0):
    args = [BIN, "import", "--db-url", db] + (["--replace"] if replace else [])
    r = subprocess.run(args, input=data, capture_output=True, timeout=300, env=env_for())
    eq(r.returncode, expect, "import exit status (stdout: %s, stderr: %s)"
       % (r.stdout.decode(), r.stderr.decode()))
    if expect == 0:
        ok(b"verification: OK" in r.stdout, "verified: %s" % r.stdout.decode())
    else:
        eq(len(r.stderr.decode().strip().splitlines()), 1, "one line: %r" % r.stderr)
    return r.stderr.decode()


def expected_legacy_rows():
    with open(vector("legacy", "legacy_small.expected.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def lines(data):
    return [json.loads(x) for x in data.decode("utf-8").splitlines()]


def posted_db(n=6):
    """A SQLite database holding grids posted through the server (so every row
    has a created_at), public and secret, and its stored random salts."""
    db = "sqlite:///" + new_path("posted.db")
    post = json.loads(read_vector("posts", "valid_01.json"))
    with Server(db, salts=None) as s:
        for i in range(n):
            p = dict(post, secret=(i % 3 == 2))
            p["code_cells"] = ["print(%d)  # caf\u00e9 \U0001F600" % i]
            st, _, _ = s.post(p)
            eq(st, 200, "post")
    return db


# --- export ------------------------------------------------------------------------

@test(backends=None)
def export_legacy_file():
    path = legacy_copy()
    before = open(path, "rb").read()
    data = export("sqlite:///" + path, salts=("public", "secret"))
    eq(open(path, "rb").read(), before, "the file is not written to")
    rows = lines(data)
    eq(rows[0], {"ipborg_export": 1, "salts": {"public": "public", "secret": "secret"},
                 "last_ids": {"public_grids": 89, "secret_grids": 44}}, "header")
    got = {(r["table"], r["id"]): r for r in rows[1:]}
    eq(len(got), len(rows) - 1, "each row once")
    expected = expected_legacy_rows()
    eq(len(rows) - 1, len(expected), "row count")
    for e in expected:
        g = got[(e["table"], e["id"])]
        eq(g["hash"], e["hashid"], "hash of %s %d" % (e["table"], e["id"]))
        for k in ("ipb_version", "python_version", "grid_data", "code_cells", "ipb_class",
                  "secret"):
            eq(g[k], e[k], "%s of %s %d" % (k, e["table"], e["id"]))
        eq(g["created_at"], None, "legacy rows have no created_at")
    eq([list(r)[:3] for r in rows[1:2]], [["table", "id", "hash"]], "key order")
    order = [(r["table"], r["id"]) for r in rows[1:]]
    eq(order, sorted(order), "table, then id order")
    # Without salts anywhere a database with grids cannot be exported.
    r = subprocess.run([BIN, "export", "--db-url", "sqlite:///" + path], capture_output=True,
                       text=True, timeout=60, env=env_for())
    eq(r.returncode, 1, "no salts")
    ok("HASHIDS_PUBLIC_SALT" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr)


# --- round trips ---------------------------------------------------------------------

@test
def export_import_export_same_bytes(backend):
    # Grids with created_at, from SQLite, through the backend under test.
    src = posted_db()
    first = export(src)
    target = fresh_db(backend)
    import_(target, first)
    eq(export(target), first, "SQLite -> %s: same bytes" % backend)
    # ... and back into SQLite.
    again = "sqlite:///" + new_path("again.db")
    import_(again, export(target))
    eq(export(again), first, "%s -> SQLite: same bytes" % backend)
    # The legacy file (no created_at): the same bytes through either backend;
    # PostgreSQL, whose column is NOT NULL, still gives the rows no date.
    legacy = export("sqlite:///" + legacy_copy(), salts=("public", "secret"))
    t2 = fresh_db(backend)
    import_(t2, legacy)
    second = export(t2)
    eq(second, legacy, "legacy through %s: same bytes" % backend)


@test
def imported_database_serves_every_url(backend):
    data = export("sqlite:///" + legacy_copy(), salts=("public", "secret"))
    target = fresh_db(backend)
    import_(target, data)
    with Server(target, salts=None) as s:   # the salts come from the import
        for e in expected_legacy_rows():
            sec = e["table"] == "secret_grids"
            st, _, d = s.get(("/get/secret/" if sec else "/get/") + e["hashid"])
            eq(st, 200, "%s %d" % (e["table"], e["id"]))
            eq(json.loads(d), e["grid_data"], "grid_data of %s %d" % (e["table"], e["id"]))
        st, _, page = s.get("/" + expected_legacy_rows()[0]["hashid"])
        eq(st, 200, "page")
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(st, 200, "a new post works")
        eq(s.get("/get" + path_of(json.loads(d)["url"]))[0], 200, "and is served")


@test
def import_replaces_salts_of_a_used_database(backend):
    # A database that served with random salts, then receives a backup: it must
    # end up with the backup's salts, or none of the backup's URLs would work.
    target = fresh_db(backend)
    with Server(target, salts=None) as s:
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        own_url = json.loads(d)["url"]
    data = export("sqlite:///" + legacy_copy(), salts=("public", "secret"))
    import_(target, data, replace=True)
    with Server(target, salts=None) as s:
        e = expected_legacy_rows()[0]
        eq(s.get("/get/" + e["hashid"])[0], 200, "the file's URLs work")
        ok(own_url, "(the database's own grid went with --replace)")


# --- refusals ------------------------------------------------------------------------

@test
def non_empty_target_refused_unless_replace(backend):
    src = posted_db(3)
    data = export(src)
    target = fresh_db(backend)
    import_(target, data)
    msg = import_(target, data, expect=1)
    ok("already holds 3 grids" in msg and "--replace" in msg, msg)
    legacy = export("sqlite:///" + legacy_copy(), salts=("public", "secret"))
    import_(target, legacy, replace=True)
    eq(export(target).count(b"\n"), 86, "replaced by the 85 legacy rows")


@test
def broken_line_writes_nothing(backend):
    target = fresh_db(backend)
    data = export(posted_db(4))
    import_(target, data)
    before = export(target)
    legacy = export("sqlite:///" + legacy_copy(), salts=("public", "secret")).split(b"\n")
    broken = list(legacy)
    broken[40] = broken[40][:-30]          # line 41 cut short
    msg = import_(target, b"\n".join(broken), replace=True, expect=1)
    ok("line 41" in msg and "nothing was written" in msg, msg)
    eq(export(target), before, "target unchanged")
    bad = list(legacy)
    bad[10] = bad[10].replace(b'"grid_data":', b'"grid_data":{"x":[1,2}, "y":', 1)
    msg = import_(target, b"\n".join(bad), replace=True, expect=1)
    ok("line 11" in msg, msg)
    eq(export(target), before, "target unchanged")


@test
def hash_mismatch_refused(backend):
    target = fresh_db(backend)
    legacy = export("sqlite:///" + legacy_copy(), salts=("public", "secret"))
    # The same rows under a header with other salts: every hash is now wrong.
    head, rest = legacy.split(b"\n", 1)
    other = head.replace(b'"public":"public"', b'"public":"elsewhere"')
    msg = import_(target, other + b"\n" + rest, expect=1)
    ok("line 2" in msg and "inconsistent" in msg, msg)
    rows = legacy.split(b"\n")
    rows[5] = rows[5].replace(b'"hash":"', b'"hash":"x', 1)
    msg = import_(target, b"\n".join(rows), expect=1)
    ok("line 6" in msg and "hash" in msg, msg)
    eq(lines(export(target)), [{"ipborg_export": 1, "salts": None,
                                "last_ids": {"public_grids": 0, "secret_grids": 0}}],
       "target empty")


@test
def deleted_grid_url_not_reused_after_export_import(backend):
    from test_migrate import check_deleted_stay_gone, source_with_deletions
    for target in ("sqlite", "postgres"):
        src, pub, sec = source_with_deletions(backend)
        data = export(src)
        ok(b'"deleted":"public_grids"' in data and b'"last_ids":{"public_grids":3,' in data,
           "the deletion log and the ids given are in the file")
        dst = fresh_db(target)
        import_(dst, data)
        eq(export(dst), data, "%s -> %s: same bytes" % (backend, target))
        check_deleted_stay_gone(dst, pub, sec, "export %s | import %s" % (backend, target))


@test
def import_refuses_impossible_dates(backend):
    data = export(posted_db(2))
    rows = data.split(b"\n")
    for bad in (b"2024-13-45T99:99:99Z", b"2023-02-29T10:00:00Z", b"2024-04-31T00:00:00Z",
                b"2024-01-01T24:00:00Z"):
        target = fresh_db(backend)
        bad_rows = list(rows)
        bad_rows[2] = re.sub(rb'"created_at":"[^"]*"', b'"created_at":"' + bad + b'"',
                             bad_rows[2])
        msg = import_(target, b"\n".join(bad_rows), expect=1)
        ok("line 3" in msg and "created_at" in msg, msg)
        eq(len(lines(export(target))), 1, "nothing written")


# --- stats ------------------------------------------------------------------------------

def stats(db):
    r = subprocess.run([BIN, "stats", "--db-url", db], capture_output=True, text=True,
                       timeout=60, env=env_for())
    eq(r.returncode, 0, "stats: " + r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        name, rest = line.split(": ", 1)
        fields = {}
        for part in rest.split(", "):
            k, v = part.rsplit(" ", 1)
            fields[k] = v
        out[name] = fields
    return out


COLS = ("ipb_version", "python_version", "grid_data", "code_cells", "ipb_class")


@test
def stats_match_the_data(backend):
    legacy_path = legacy_copy()
    s = stats("sqlite:///" + legacy_path)
    con = sqlite3.connect(legacy_path)
    for table, n in (("public_grids", 60), ("secret_grids", 25)):
        eq(s[table]["grids"], str(n), table)
        size = 0
        for row in con.execute("SELECT %s FROM %s" % (", ".join(COLS), table)):
            size += sum(len(v.encode("utf-8")) for v in row if v is not None)
        eq(s[table]["bytes"], str(size), table + " bytes")
        eq((s[table]["oldest"], s[table]["newest"], s[table]["undated"]),
           ("none", "none", str(n)), table + " dates (legacy rows have none)")
    con.close()

    src = posted_db(5)
    data = export(src)
    target = fresh_db(backend)
    import_(target, data)
    s = stats(target)
    rows = lines(data)[1:]
    for table in ("public_grids", "secret_grids"):
        mine = [r for r in rows if r["table"] == table]
        eq(s[table]["grids"], str(len(mine)), table)
        # By time, not as strings: the canonical form drops trailing zeros of
        # the fraction, so "25.08Z" is earlier than "25.084Z" but sorts after it.
        times = sorted((r["created_at"] for r in mine),
                       key=lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00")))
        eq((s[table]["oldest"], s[table]["newest"]), (times[0], times[-1]), table + " dates")
        eq(s[table]["undated"], "0", table + " undated")
        if backend == "sqlite":
            con = sqlite3.connect(target[len("sqlite:///"):])
            size = sum(sum(len(v.encode("utf-8")) for v in row if v is not None)
                       for row in con.execute("SELECT %s FROM %s" % (", ".join(COLS), table)))
            con.close()
        else:
            size = int(psql(target, "SELECT coalesce(sum(octet_length(ipb_version) + "
                            "octet_length(python_version::text) + octet_length(grid_data::text)"
                            " + coalesce(octet_length(code_cells::text), 0) + "
                            "octet_length(ipb_class)), 0) FROM %s" % table).strip())
        eq(s[table]["bytes"], str(size), table + " bytes")
    eq(s["total"]["grids"], str(len(rows)), "total")


@test(backends=None)
def command_line():
    for cmd in ("export", "import", "stats"):
        r = subprocess.run([BIN, cmd, "--help"], capture_output=True, text=True)
        eq(r.returncode, 0, cmd + " --help")
        ok(r.stdout.startswith("usage: ipborg " + cmd), r.stdout)
        r = subprocess.run([BIN, cmd, "--nope"], capture_output=True, text=True)
        eq(r.returncode, 2, cmd + " --nope")
        eq(len(r.stderr.strip().splitlines()), 1, "one line")
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    ok(all(c in r.stdout for c in ("export", "import", "stats")), "listed in --help")
    r = subprocess.run([BIN, "stats", "--db-url", "sqlite:///" + new_path("missing.db")],
                       capture_output=True, text=True, env=env_for())
    eq(r.returncode, 1, "a database that does not exist")
    r = subprocess.run([BIN, "import", "--db-url", "sqlite:///" + new_path("x.db")],
                       input="", capture_output=True, text=True, env=env_for())
    eq(r.returncode, 1, "empty input")


# --- memory ------------------------------------------------------------------------------

# A small Python process runs the command and reports its child's peak RSS as
# the last line of stderr. Measuring from the test process itself would count
# the memory the child had between fork and exec: a copy of this process.
RSS_WRAPPER = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:])\n"
               "sys.stderr.write('\\n%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(r.returncode)\n")


def peak_rss_kib(args, stdin=None, stdout=None):
    """Runs args; returns the peak resident set size of that process in KiB."""
    r = subprocess.run(["python3", "-c", RSS_WRAPPER] + args, stdin=stdin, stdout=stdout,
                       stderr=subprocess.PIPE, env=env_for(("public", "secret")), timeout=600)
    err = r.stderr.decode().strip().splitlines()
    eq(r.returncode, 0, "%s: %s" % (args[1], err))
    return int(err[-1])


N_BIG = 50000


@test(backends=None, measures_memory=True)
def memory_does_not_grow_with_lines():
    path = new_path("big.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE public_grids(id INTEGER NOT NULL, ipb_version TEXT, "
                "python_version TEXT, grid_data TEXT, secret BOOLEAN, code_cells TEXT, "
                "ipb_class TEXT, PRIMARY KEY(id))")
    con.execute("CREATE TABLE secret_grids AS SELECT * FROM public_grids WHERE 0")
    blocks = [[[i % 256, j % 256, (i * j) % 256, 10] for j in range(8)] for i in range(8)]
    rows = []
    for i in range(1, N_BIG + 1):
        grid = {"width": 8, "height": 8, "lines_on": i % 2 == 0,
                "blocks": blocks if i % 7 else [[[i % 256, 0, 0, 10]]]}
        rows.append((i, "1.9", json.dumps([3, 11, 2, "final", 0]), json.dumps(grid), 0,
                     json.dumps(["grid = BlockGrid(8, 8)  # %d" % i]), "BlockGrid"))
    con.executemany("INSERT INTO public_grids VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    dump = new_path("big.jsonl")
    with open(dump, "wb") as out:
        rss_export = peak_rss_kib([BIN, "export", "--db-url", "sqlite:///" + path],
                                  stdout=out)
    size = os.path.getsize(dump)
    with open(dump, "rb") as f:
        eq(sum(1 for _ in f), N_BIG + 1, "lines")
    target = fresh_db("postgres")
    with open(dump, "rb") as f:
        rss_import_pg = peak_rss_kib([BIN, "import", "--db-url", target], stdin=f,
                                     stdout=subprocess.DEVNULL)
    sqlite_target = "sqlite:///" + new_path("big-copy.db")
    with open(dump, "rb") as f:
        rss_import_sqlite = peak_rss_kib([BIN, "import", "--db-url", sqlite_target], stdin=f,
                                         stdout=subprocess.DEVNULL)
    print("   file %.1f MiB, %d lines; peak RSS: export %d KiB, import into PostgreSQL %d KiB,"
          " import into SQLite %d KiB (SQLite's page cache holds the load until COMMIT, up "
          "to 256 MiB)" % (size / 2**20, N_BIG + 1, rss_export, rss_import_pg,
                           rss_import_sqlite))
    # Streaming: both stay well below the size of the data they move.
    ok(size > 40 * 2**20, "the file is large enough to tell (%d bytes)" % size)
    ok(rss_export * 1024 < size / 2, "export peak RSS %d KiB" % rss_export)
    ok(rss_import_pg * 1024 < size / 2, "import peak RSS %d KiB" % rss_import_pg)
