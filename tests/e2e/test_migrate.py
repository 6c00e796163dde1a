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


# --- everything moves: deletions, ids given, undated rows, salts ------------------------

def clean_env(extra=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("HASHIDS_") and k != "DATABASE_URL"}
    e.update(extra or {})
    return e


def delete_grid(db, page_path):
    h = page_path.rsplit("/", 1)[1]
    args = [BIN, "delete", "--yes", "--db-url", db]
    args += (["--secret"] if page_path.startswith("/secret/") else []) + [h]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=clean_env())
    eq(r.returncode, 0, "delete %s: %s" % (page_path, r.stderr))


def post_grid(server, secret=False, seed=0):
    body = json.loads(read_vector("posts", "valid_02.json"))
    body["secret"] = secret
    body["code_cells"] = ["# grid %d" % seed]
    st, _, d = server.post(body)
    eq(st, 200, "post")
    return path_of(json.loads(d)["url"])


def source_with_deletions(backend):
    """A database of the backend where the newest public grid (id 3) and the
    newest secret grid (id 2) were deleted: the ids a careless move would give
    again."""
    db = fresh_db(backend)
    with Server(db) as s:
        pub = [post_grid(s, seed=i) for i in range(3)]
        sec = [post_grid(s, secret=True, seed=i) for i in range(2)]
    delete_grid(db, pub[-1])
    delete_grid(db, sec[-1])
    return db, pub, sec


def check_deleted_stay_gone(db, pub, sec, how):
    """Serves the moved copy (salts from the database) and posts through HTTP:
    the deleted grids stay 404 and their URLs are never handed out again."""
    with Server(db, salts=None) as s:
        for p in (pub[-1], sec[-1]):
            eq(s.get(p)[0], 404, "%s: deleted %s is gone" % (how, p))
        for p in pub[:-1] + sec[:-1]:
            eq(s.get(p)[0], 200, "%s: %s is served" % (how, p))
        new_pub = [post_grid(s, seed=10 + i) for i in range(2)]
        new_sec = [post_grid(s, secret=True, seed=10 + i) for i in range(2)]
        ok(pub[-1] not in new_pub and sec[-1] not in new_sec,
           "%s: a deleted grid's URL was given again: %s %s" % (how, new_pub, new_sec))
        eq(new_pub, ["/" + PUBLIC[4], "/" + PUBLIC[5]], how + ": public ids go on after 3")
        eq(new_sec, ["/secret/" + SECRET[3], "/secret/" + SECRET[4]],
           how + ": secret ids go on after 2")
        for p in (pub[-1], sec[-1]):
            eq(s.get(p)[0], 404, "%s: deleted %s is still gone" % (how, p))


@test
def deleted_grid_url_not_reused_after_migrate(backend):
    for target in ("sqlite", "postgres"):
        src, pub, sec = source_with_deletions(backend)
        dst = fresh_db(target)
        r = migrate(src, dst)
        eq(r.returncode, 0, "migrate %s -> %s: %s" % (backend, target, r.stderr))
        check_deleted_stay_gone(dst, pub, sec, "%s -> %s" % (backend, target))
        ok("deletion log: 2 entries" in r.stdout, r.stdout)
        # ... and a second move, from the copy, keeps it so.
        again = fresh_db(backend)
        r = migrate(dst, again)
        eq(r.returncode, 0, "migrate back: " + r.stderr)


@test
def deleted_grid_url_not_reused_after_replace(backend):
    # --replace over a target that had handed out more ids of its own: the
    # target becomes what the source is, and the source's ids are never reused.
    src, pub, sec = source_with_deletions(backend)
    dst = fresh_db(backend)
    with Server(dst, salts=("public", "secret")) as s:
        for i in range(5):
            post_grid(s, seed=100 + i)
    r = migrate(src, dst, "--replace")
    eq(r.returncode, 0, "migrate --replace: " + r.stderr)
    check_deleted_stay_gone(dst, pub, sec, "--replace")


def stats_of(db):
    r = subprocess.run([BIN, "stats", "--db-url", db], capture_output=True, text=True,
                       timeout=60, env=clean_env())
    eq(r.returncode, 0, "stats: " + r.stderr)
    return r.stdout


@test(backends=None)
def undated_rows_show_no_date_after_moves():
    """Rows of the old service have no posted date; after a move to PostgreSQL
    (whose created_at is NOT NULL DEFAULT now()) and back they still show none:
    on the page, in delete's question and in stats."""
    src = "sqlite:///" + legacy_copy()
    pg = fresh_db("postgres")
    back = fresh_db("sqlite")
    eq(migrate(src, pg, env=SALTS).returncode, 0, "to postgres")
    eq(migrate(pg, back).returncode, 0, "back to sqlite")
    for db in (pg, back):
        with Server(db, salts=None) as s:
            st, _, page = s.get("/" + PUBLIC[1])
            eq(st, 200, "legacy page")
            ok("Posted" not in page.decode(), "%s: no posted date on the page" % db)
            # A grid posted now does have one.
            new = post_grid(s, seed=1)
            ok("Posted" in s.get(new)[2].decode(), "a new grid shows its date")
        r = subprocess.run([BIN, "delete", "--db-url", db, PUBLIC[1]], input="n\n",
                           capture_output=True, text=True, timeout=60, env=clean_env())
        eq(r.returncode, 1, "not confirmed")
        ok("at an unknown time" in r.stderr, "delete's question: " + r.stderr)
        out = stats_of(db)
        ok("public_grids: grids 61," in out and "undated 60" in out, out)
        ok("secret_grids: grids 25," in out and "oldest none, newest none, undated 25" in out,
           out)


@test(backends=None)
def replace_from_a_file_without_salts():
    """--replace makes the target what the source is: an old file without salts
    over a target with salts leaves none, and the run ends saying what to set."""
    dst = fresh_db("postgres")
    with Server(dst, salts=("x-pub", "x-sec")) as s:
        post_grid(s)
    r = migrate("sqlite:///" + legacy_copy(), dst, "--replace")
    eq(r.returncode, 0, "migrate --replace: " + r.stderr)
    last = r.stderr.strip().splitlines()[-1]
    ok("no hash-ID salts" in last and "HASHIDS_PUBLIC_SALT" in last, last)
    eq(psql(dst, "SELECT count(*) FROM ipborg_meta WHERE key LIKE 'hashids_%'").strip(), "0",
       "no salts stored")
    # Served with the old service's salts, every old URL works.
    with Server(dst, salts=("public", "secret")) as s:
        check_serves_legacy(s)


@test(backends=None)
def salts_messages_and_equal_salts():
    db = fresh_db("sqlite")
    with Server(db) as s:       # stores public / secret
        post_grid(s)
    other = {"HASHIDS_PUBLIC_SALT": "p2", "HASHIDS_SECRET_SALT": "s2"}
    # Advice names only options the command has.
    for args in (["export", "--db-url", db], ["delete", "--yes", "--db-url", db, PUBLIC[1]]):
        r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=60,
                           env=clean_env(other))
        eq(r.returncode, 1, " ".join(args[:1]))
        ok("differ" in r.stderr and "force-salts" not in r.stderr, r.stderr)
    r = subprocess.run([BIN, "serve", "--port", "0", "--db-url", db], capture_output=True,
                       text=True, timeout=60, env=clean_env(other))
    eq(r.returncode, 1, "serve with other salts")
    ok("--force-salts" in r.stderr, r.stderr)
    # Equal public and secret salts are refused by every command.
    same = {"HASHIDS_PUBLIC_SALT": "same", "HASHIDS_SECRET_SALT": "same"}
    fresh = fresh_db("sqlite")
    for args in (["serve", "--port", "0", "--db-url", fresh], ["export", "--db-url", db],
                 ["migrate", "--from", "sqlite:///" + legacy_copy(), "--to", fresh]):
        r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=60,
                           env=clean_env(same))
        eq(r.returncode, 1, args[0] + " with equal salts: " + r.stderr)
        ok("equal" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr)
    # ... also when they are the ones stored.
    con = sqlite3.connect(db[len("sqlite:///"):])
    con.execute("UPDATE ipborg_meta SET value = 'public' WHERE key = 'hashids_secret_salt'")
    con.commit()
    con.close()
    r = subprocess.run([BIN, "export", "--db-url", db], capture_output=True, text=True,
                       timeout=60, env=clean_env())
    eq(r.returncode, 1, "stored equal salts")
    ok("equal" in r.stderr, r.stderr)


@test(backends=None)
def random_skips_rows_without_a_url():
    """An old file with rows of id <= 0 (they have no URL): /random never
    answers 404 while a servable public grid exists."""
    path = legacy_copy()
    con = sqlite3.connect(path)
    con.execute("DELETE FROM public_grids WHERE id <> 89")
    for i in range(0, -8, -1):
        con.execute("INSERT INTO public_grids (id, ipb_version, python_version, grid_data, "
                    "secret, code_cells, ipb_class) SELECT ?, ipb_version, python_version, "
                    "grid_data, secret, code_cells, ipb_class FROM public_grids WHERE id = 89",
                    (i,))
    con.commit()
    con.close()
    with Server("sqlite:///" + path) as s:
        for _ in range(40):
            st, h, _ = s.get("/random")
            eq(st, 303, "/random")
            ok(h["location"].endswith("/" + PUBLIC[89]), "the one servable grid: %r"
               % h["location"])


@test(backends=None)
def no_password_in_any_message():
    for url in ("postgresq://u:hunter2@127.0.0.1:1/x",
                "postgresql://u:hunt%zzer2@127.0.0.1:1/x",
                "postgresql://127.0.0.1:1/x?password=hunt%zzer2",
                "postgresql://u:hunter2@127.0.0.1:1/x?sslmode=bogus"):
        for args in (["serve", "--port", "0", "--db-url", url], ["export", "--db-url", url],
                     ["stats", "--db-url", url], ["delete", "--yes", "--db-url", url, "bizkiL"],
                     ["migrate", "--from", url, "--to", fresh_db("sqlite")],
                     ["import", "--db-url", url],
                     ["migrate", "--from", "sqlite:///" + legacy_copy(), "--to", url]):
            r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=60,
                               env=clean_env(SALTS),
                               input='{"ipborg_export":1,"salts":null}\n')
            ok(r.returncode != 0, "%s fails on %s" % (args[0], url))
            ok("hunter2" not in r.stderr + r.stdout and "hunt%zz" not in r.stderr + r.stdout,
               "%s shows the password: %s" % (args[0], r.stderr))
