"""test_migrate.py -- `ipborg migrate` as a user runs it, and PostgreSQL as the
service's shared database: the legacy file moved to PostgreSQL and served at
every old URL, round trips, refusals, broken rows, empty tables, several
servers on one database, and a database shared with the original service."""
import json
import os
import sqlite3
import subprocess

from harness import (BIN, TMP, Server, eq, fresh_db, ok, path_of, psql, read_vector,
                     test, vector)
from test_service import PUBLIC, SECRET, check_serves_legacy, legacy_copy

SALTS = {"HASHIDS_PUBLIC_SALT": "public", "HASHIDS_SECRET_SALT": "secret"}


def migrate(src, dst, *extra, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("HASHIDS_")}
    e.update(env or {})
    return subprocess.run([BIN, "migrate", "--from", src, "--to", dst] + list(extra),
                          capture_output=True, text=True, timeout=300, env=e)


def sqlite_rows(path, table):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return con.execute("SELECT id, ipb_version, python_version, grid_data, code_cells, "
                           "ipb_class FROM %s ORDER BY id" % table).fetchall()
    finally:
        con.close()


def decoded(rows):
    out = []
    for i, v, pv, gd, cc, cls in rows:
        cc = json.loads(cc) if cc else None
        out.append((i, v, json.loads(pv), json.loads(gd), cc, cls))
    return out


@test(backends=None)
def legacy_file_to_postgres_keeps_every_url():
    src = legacy_copy()
    before = open(src, "rb").read()
    dst = fresh_db("postgres")
    r = migrate("sqlite:///" + src, dst, env=SALTS)
    eq(r.returncode, 0, "migrate: " + r.stderr)
    ok("verification: OK" in r.stdout, "verification printed: " + r.stdout)
    eq(open(src, "rb").read(), before, "source file unchanged")
    ok(not os.path.exists(src + "-wal"), "no journal left beside the source")
    with Server(dst, salts=None) as s:   # the salts came along from the environment
        check_serves_legacy(s)
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(json.loads(d)["url"], s.base + "/" + PUBLIC[90], "next public id is max+1")
        post = json.loads(read_vector("posts", "valid_01.json"))
        post["secret"] = True
        st, _, d = s.post(post)
        eq(json.loads(d)["url"], s.base + "/secret/" + SECRET[45], "next secret id is max+1")


@test(backends=None)
def round_trip_sqlite_postgres_sqlite():
    src = legacy_copy()
    pg = fresh_db("postgres")
    back = fresh_db("sqlite")
    eq(migrate("sqlite:///" + src, pg, env=SALTS).returncode, 0)
    r = migrate(pg, back)
    eq(r.returncode, 0, r.stderr)
    back_path = back[len("sqlite:///"):]
    for t in ("public_grids", "secret_grids"):
        eq(decoded(sqlite_rows(back_path, t)), decoded(sqlite_rows(src, t)), t + " equal")
    pg2 = fresh_db("postgres")
    eq(migrate(pg, pg2).returncode, 0, "postgres -> postgres")
    eq(psql(pg2, "SELECT count(*), max(id) FROM public_grids").strip(), "60|89")


@test(backends=None)
def non_empty_target_refused_and_untouched():
    src = legacy_copy()
    for dst in (fresh_db("postgres"), fresh_db("sqlite")):
        with Server(dst) as s:
            post = json.loads(read_vector("posts", "valid_03.json"))
            post["secret"] = False
            eq(s.post(post)[0], 200)
            hid_url = s.get("/random")[1]["location"]
        r = migrate("sqlite:///" + src, dst, env=SALTS)
        eq(r.returncode, 1, "refused: " + dst)
        ok("--replace" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           "one line naming --replace: " + r.stderr)
        with Server(dst) as s:
            eq(s.get(hid_url)[0], 200, "target untouched")
            eq(s.get("/" + PUBLIC[2])[0], 404, "nothing copied")
        r = migrate("sqlite:///" + src, dst, "--replace", env=SALTS)
        eq(r.returncode, 0, "--replace: " + r.stderr)
        with Server(dst, salts=None) as s:
            check_serves_legacy(s)


@test(backends=None)
def broken_row_stops_and_writes_nothing():
    src = legacy_copy()
    con = sqlite3.connect(src)
    con.execute("UPDATE secret_grids SET grid_data = '{\"width\": 3,' WHERE id = 18")
    con.commit()
    con.close()
    for dst in (fresh_db("postgres"), fresh_db("sqlite")):
        r = migrate("sqlite:///" + src, dst, env=SALTS)
        eq(r.returncode, 1)
        ok("secret_grids" in r.stderr and "18" in r.stderr, "names table and id: " + r.stderr)
        with Server(dst) as s:
            eq(s.get("/" + PUBLIC[1])[0], 404, "no public row written either")
            eq(s.get("/random")[0], 404, "target still empty")


@test(backends=None)
def empty_tables_migrate_and_start_at_one():
    src = fresh_db("sqlite")
    with Server(src, salts=None):
        pass   # creates the schema and stores random salts
    for dst in (fresh_db("postgres"), fresh_db("sqlite")):
        r = migrate(src, dst)
        eq(r.returncode, 0, r.stderr)
        with Server(dst, salts=None) as s:
            st, _, d = s.post(read_vector("posts", "valid_01.json"))
            eq(st, 200)
            with Server(src, salts=None) as s0:
                st0, _, d0 = s0.post(read_vector("posts", "valid_01.json"))
            # Same salts and both at id 1: the same URL path.
            eq(path_of(json.loads(d)["url"]), path_of(json.loads(d0)["url"]),
               "id 1 and the source's salts")
        src = fresh_db("sqlite")
        with Server(src, salts=None):
            pass


@test(backends=None)
def migrate_command_line_errors():
    r = migrate("sqlite:///" + os.path.join(TMP, "does-not-exist.db"), fresh_db("sqlite"))
    eq(r.returncode, 1)
    ok(not os.path.exists(os.path.join(TMP, "does-not-exist.db")), "missing source not created")
    notdb = os.path.join(TMP, "junk.db")
    with open(notdb, "wb") as f:
        f.write(os.urandom(8192))
    r = migrate("sqlite:///" + notdb, fresh_db("sqlite"))
    eq(r.returncode, 1)
    eq(len(r.stderr.strip().splitlines()), 1, "one line: " + r.stderr)
    src = legacy_copy()
    r = migrate("sqlite:///" + src, "sqlite:///" + src, env=SALTS)
    eq(r.returncode, 1, "same database refused")
    r = subprocess.run([BIN, "migrate", "--to", "sqlite:///x.db"], capture_output=True, text=True)
    eq(r.returncode, 2)


@test(backends=("sqlite", "postgres"))
def several_servers_share_one_database(backend):
    db = fresh_db(backend)
    with Server(db) as a, Server(db) as b:
        urls = []
        for i, s in enumerate([a, b, a, b]):
            post = json.loads(read_vector("posts", "valid_%02d.json" % (i + 1)))
            st, _, d = s.post(post)
            eq(st, 200)
            urls.append((path_of(json.loads(d)["url"]), post))
        eq(len({u for u, _ in urls}), 4, "distinct ids across servers")
        for s in (a, b):
            for u, post in urls:
                st, _, d = s.get("/get" + u)
                eq(st, 200, "each serves the other's grids")
                eq(json.loads(d), post["grid_data"])


@test(backends=None)
def shares_a_database_with_the_original_service():
    db = fresh_db("postgres")
    with open(vector("legacy", "original_postgres_schema.sql"), encoding="utf-8") as f:
        psql(db, f.read())
    # A row as the original service (SQLAlchemy + psycopg2) wrote it.
    grid = {"lines_on": True, "width": 1, "height": 1, "blocks": [[[1, 2, 3, 20]]]}
    psql(db, "INSERT INTO public_grids (ipb_version, python_version, grid_data, code_cells, "
             "ipb_class, secret) VALUES ('1.9.0', '[3, 6, 1, \"final\", 0]', '%s', "
             "'[\"grid = BlockGrid(1, 1)\"]', 'BlockGrid', false)" % json.dumps(grid))
    with Server(db) as s:
        st, _, d = s.get("/get/" + PUBLIC[1])
        eq((st, json.loads(d)), (200, grid), "ipborg serves the original's row")
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(json.loads(d)["url"], s.base + "/" + PUBLIC[2], "and continues its sequence")
    # The original reads ipborg's row through its own columns.
    got = psql(db, "SELECT ipb_class, grid_data->>'width', secret, created_at IS NOT NULL "
                   "FROM public_grids WHERE id = 2").strip()
    sent = json.loads(read_vector("posts", "valid_01.json"))
    eq(got, "%s|%d|f|t" % (sent["ipb_class"], sent["grid_data"]["width"]))
    cols = psql(db, "SELECT column_name || ':' || data_type FROM information_schema.columns "
                    "WHERE table_name = 'public_grids' ORDER BY ordinal_position").splitlines()
    eq(cols, ["id:integer", "ipb_version:text", "python_version:jsonb", "grid_data:jsonb",
              "code_cells:jsonb", "ipb_class:text", "created_at:timestamp with time zone",
              "secret:boolean"], "ipborg left the original's schema as it was")
