"""test_delete.py -- moderation: `ipborg delete` removes one grid, and every
server on the database (two processes on one SQLite file, or on one PostgreSQL
database), with its response cache full of that grid's page, JSON and PNG,
stops serving it within a second. Also: the confirmation on stdin, the errors
and exit statuses, ids never reused, a watcher that loses its PostgreSQL
connection going on without missing a deletion, and a grid named by its whole
URL (any host, http or https, /secret/, trailing slash, query, fragment)."""
import json
import os
import subprocess
import time

from harness import BIN, TMP, Server, eq, fresh_db, ok, path_of, psql, read_vector, test
from test_service import PUBLIC, SECRET

SALTS = {"HASHIDS_PUBLIC_SALT": "public", "HASHIDS_SECRET_SALT": "secret"}


def delete(db_url, *args, stdin="", env=None):
    """Runs ipborg delete; returns (exit status, stdout, stderr). By default no
    salts in the environment: the ones the servers stored are used."""
    e = dict(os.environ)
    for k in ("HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "DATABASE_URL"):
        e.pop(k, None)
    e.update(env or {})
    cmd = [BIN, "delete"] + (["--db-url", db_url] if db_url else []) + list(args)
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=e, timeout=60)
    return r.returncode, r.stdout, r.stderr


def post(server, secret=False, seed=0):
    body = json.loads(read_vector("posts", "valid_02.json"))
    body["secret"] = secret
    body["code_cells"] = ["# grid %d" % seed]
    st, _, d = server.post(body)
    eq(st, 200, "post")
    return path_of(json.loads(d)["url"])


def grid_paths(page_path):
    """The page, /get answer and PNG of a grid, from its page path."""
    if page_path.startswith("/secret/"):
        h = page_path[len("/secret/"):]
        return [page_path, "/get/secret/" + h, page_path + ".png"]
    return [page_path, "/get" + page_path, page_path + ".png"]


def warm(servers, page_path):
    """Fetches everything about a grid through every server, twice: the
    second answer comes from the cache (it carries the ETag of a cached one)."""
    for s in servers:
        for p in grid_paths(page_path):
            for _ in range(2):
                st, h, _ = s.get(p)
                eq(st, 200, "%s on :%d" % (p, s.port))
                ok("etag" in h, "%s answered from the cache" % p)


def statuses(servers, page_path):
    return {(s.port, p): s.get(p)[0] for s in servers for p in grid_paths(page_path)}


def wait_gone(servers, page_path, limit=1.0):
    """Polls until every server answers 404 for the grid; fails after limit s."""
    deadline = time.time() + limit
    while True:
        got = statuses(servers, page_path)
        if all(v == 404 for v in got.values()):
            return
        if time.time() > deadline:
            raise AssertionError("still served %.1fs after the delete: %r" % (limit, got))
        time.sleep(0.02)


def two_servers(db):
    # One after the other: the first stores the salts, the second reads them.
    a = Server(db)
    try:
        return a, Server(db)
    except Exception:
        a.stop()
        raise


@test
def delete_reaches_every_server(backend):
    db = fresh_db(backend)
    a, b = two_servers(db)
    try:
        keep = post(a, seed=1)
        gone = post(b, seed=2)
        later = post(a, seed=3)
        for p in (keep, gone, later):
            warm([a, b], p)
        rc, out, err = delete(db, "--yes", gone[1:])
        eq((rc, err), (0, ""), "delete --yes")
        ok(("deleted public grid %s (id 2)" % gone[1:]) in out, "says what it deleted: " + out)
        wait_gone([a, b], gone)
        for p in (keep, later):
            ok(all(v == 200 for v in statuses([a, b], p).values()), "other grids stay")
        # The deleted grid is not drawn by /random either.
        for _ in range(30):
            st, h, _ = a.get("/random")
            eq(st, 303)
            ok(h["location"] != gone, "random never picks the deleted grid")
    finally:
        a.stop()
        b.stop()


@test
def delete_secret_grid(backend):
    db = fresh_db(backend)
    a, b = two_servers(db)
    try:
        gone = post(a, secret=True, seed=1)
        keep = post(b, secret=True, seed=2)
        eq(gone, "/secret/" + SECRET[1])
        warm([a, b], gone)
        warm([a, b], keep)
        h = gone[len("/secret/"):]
        # Without --secret the hash is looked up among public grids: not deleted.
        rc, _, err = delete(db, "--yes", h)
        eq(rc, 1, "a secret hash without --secret")
        eq(len(err.strip().splitlines()), 1, "one line: " + err)
        ok(all(v == 200 for v in statuses([a, b], gone).values()), "kept")
        rc, out, err = delete(db, "--secret", "--yes", h)
        eq((rc, err), (0, ""), "delete --secret --yes")
        ok("deleted secret grid" in out, out)
        wait_gone([a, b], gone)
        ok(all(v == 200 for v in statuses([a, b], keep).values()), "the other secret grid stays")
    finally:
        a.stop()
        b.stop()


@test
def deleted_ids_are_never_reused(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        for i in range(1, 4):
            eq(post(s, seed=i), "/" + PUBLIC[i])
        eq(delete(db, "--yes", PUBLIC[3])[0], 0)    # the highest id
        eq(post(s, seed=4), "/" + PUBLIC[4], "next id after deleting the newest")
        eq(delete(db, "--yes", PUBLIC[4])[0], 0)
        eq(delete(db, "--yes", PUBLIC[2])[0], 0)    # one in the middle
        eq(post(s, seed=5), "/" + PUBLIC[5])
        eq(post(s, secret=True), "/secret/" + SECRET[1])
        eq(delete(db, "--yes", "--secret", SECRET[1])[0], 0)   # the only secret grid
    with Server(db) as s:                           # after a restart too
        eq(post(s, seed=6), "/" + PUBLIC[6])
        eq(post(s, secret=True), "/secret/" + SECRET[2])
        for i in (2, 3, 4):
            eq(s.get("/" + PUBLIC[i])[0], 404, "deleted grid %d" % i)
        eq(s.get("/secret/" + SECRET[1])[0], 404, "deleted secret grid")


@test
def confirmation(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        page = post(s)
        warm([s], page)
        h = page[1:]
        for answer in ("n\n", "no\n", "", "\n", "yess\n", "maybe y\n"):
            rc, out, err = delete(db, h, stdin=answer)
            eq(rc, 1, "answer %r" % answer)
            eq(out, "", "nothing on stdout")
            ok(err.startswith("Delete public grid %s (id 1, posted " % h), "prompt: " + err)
            ok("[y/N]" in err, "prompt shows the default")
            ok("kept" in err, "says nothing was deleted: " + err)
            eq(s.get(page)[0], 200, "kept after %r" % answer)
        rc, out, err = delete(db, h, stdin="y\n")
        eq(rc, 0, "y deletes")
        ok("deleted public grid" in out, out)
        wait_gone([s], page)
        second = post(s, seed=2)
        rc, _, _ = delete(db, second[1:], stdin=" YES \n")
        eq(rc, 0, "YES (any case, spaces around) deletes")
        wait_gone([s], second)


@test
def errors_and_usage(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        page = post(s)
        h = page[1:]
        eq(delete(db, "--yes", h)[0], 0)
        for args, what in (([h], "already deleted"), ([PUBLIC[7]], "never posted"),
                           (["bizkiLL"], "not canonical"), (["bizki"], "too short"),
                           (["../etc"], "not a hash ID"), (["--secret", PUBLIC[1]], "other salt")):
            rc, out, err = delete(db, "--yes", *args)
            eq(rc, 1, what)
            eq(out, "", what)
            eq(len(err.splitlines()), 1, "one line for %s: %r" % (what, err))
            ok(err.startswith("ipborg delete: "), err)
        ok("no public grid" in delete(db, "--yes", PUBLIC[7])[2], "names the problem")
        ok("not the hash ID" in delete(db, "--yes", "bizkiLL")[2], "names the problem")
        # Salts in the environment that differ from the stored ones are refused.
        rc, _, err = delete(db, "--yes", PUBLIC[1],
                            env={"HASHIDS_PUBLIC_SALT": "x", "HASHIDS_SECRET_SALT": "y"})
        eq(rc, 1, "other salts")
        ok("HASHIDS_PUBLIC_SALT" in err, err)
        # The same salts as stored are fine (and DATABASE_URL works like --db-url).
        second = post(s, seed=2)
        rc, _, err = delete(None, "--yes", second[1:], env=dict(SALTS, DATABASE_URL=db))
        eq((rc, err), (0, ""), "DATABASE_URL and the stored salts in the environment")
    for args in ([], ["a", "b"], ["--bogus", "a"], ["--db-url"], ["--yes", "--db-url"],
                 ["-x", "a"]):
        rc, out, err = delete(db, *args) if args[:1] != ["--db-url"] else delete(None, *args)
        eq(rc, 2, "usage error for %r" % (args,))
        eq(len(err.splitlines()), 1, "one line: %r" % err)
    rc, out, _ = delete(None, "--help")
    eq(rc, 0)
    ok("--secret" in out and "--yes" in out, out)
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    ok("delete" in r.stdout, "ipborg --help lists delete")


@test(backends=None)
def missing_sqlite_file_is_not_created():
    path = os.path.join(TMP, "no-such-dir-file.db")
    rc, _, err = delete("sqlite:///" + path, "--yes", "bizkiL")
    eq(rc, 1)
    ok("does not exist" in err, err)
    ok(not os.path.exists(path), "no file created")


@test
def server_started_after_delete(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        page = post(s)
        warm([s], page)
    eq(delete(db, "--yes", page[1:])[0], 0)
    with Server(db) as s:
        ok(all(v == 404 for v in statuses([s], page).values()), "not served")
        eq(post(s, seed=2), "/" + PUBLIC[2], "and its id stays taken")


@test(backends=("postgres",))
def watcher_survives_lost_connection(backend):
    """Every connection of the servers is cut (a restarted pooler, a failover):
    the watchers reconnect and still see a deletion made right afterwards."""
    db = fresh_db(backend)
    a, b = two_servers(db)
    try:
        page = post(a)
        warm([a, b], page)
        dbname = db.rsplit("/", 1)[1].split("?")[0]
        psql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE datname = '%s' AND pid <> pg_backend_pid()" % dbname)
        eq(delete(db, "--yes", page[1:])[0], 0)
        wait_gone([a, b], page, limit=5.0)
        ok("deletion watcher" in a.read_log(), "the lost connection is logged")
    finally:
        a.stop()
        b.stop()


@test
def delete_by_url(backend):
    db = fresh_db(backend)
    a, b = two_servers(db)
    try:
        pages = [post(a, seed=i) for i in range(1, 5)]
        secrets = [post(b, secret=True, seed=i) for i in range(5, 7)]
        for p in pages + secrets:
            warm([a, b], p)
        # The URL the client was given, as it came back from /post.
        rc, out, err = delete(db, "--yes", a.base + pages[0])
        eq((rc, err), (0, ""), "delete of the posted URL")
        ok("deleted public grid %s" % pages[0][1:] in out, out)
        wait_gone([a, b], pages[0])
        # Any host (the public one of the site), https, trailing slash, query, fragment.
        for url, page in (("https://grids.example.org/%s/" % pages[1][1:], pages[1]),
                          ("http://ipythonblocks.org%s?utm_source=x#grid" % pages[2], pages[2])):
            rc, out, err = delete(db, "--yes", url)
            eq((rc, err), (0, ""), "delete " + url)
            wait_gone([a, b], page)
        # /secret/ in the URL chooses the secret grids, with or without --secret.
        rc, out, err = delete(db, "--yes", "https://h.example%s/" % secrets[0])
        eq((rc, err), (0, ""), "delete of a secret URL")
        ok("deleted secret grid" in out, out)
        wait_gone([a, b], secrets[0])
        rc, _, err = delete(db, "--yes", "--secret", "http://h" + secrets[1])
        eq((rc, err), (0, ""), "a secret URL and --secret agree")
        wait_gone([a, b], secrets[1])
        # Confirmation works the same with a URL.
        rc, out, err = delete(db, "http://h" + pages[3], stdin="n\n")
        eq(rc, 1, "not confirmed")
        ok(err.startswith("Delete public grid %s (id 4, posted " % pages[3][1:]), err)
        # Addresses that name no grid: one line, exit status 2, nothing deleted.
        for url in ("http://h/secret/", "http://h/", "http://h", "http://h/gallery/2",
                    "ftp://h" + pages[3], "http://h/static" + pages[3], "http://h//" + pages[3][1:],
                    "http://h%s/extra" % pages[3]):
            rc, out, err = delete(db, "--yes", url)
            eq(rc, 2, "exit status for %s: %r" % (url, err))
            eq(out, "", url)
            eq(len(err.splitlines()), 1, "one line for %s: %r" % (url, err))
            ok(err.startswith("ipborg delete: "), err)
        rc, _, err = delete(db, "--yes", "--secret", "http://h" + pages[3])
        eq(rc, 2, "--secret beside a public grid's URL")
        ok("--secret" in err, err)
        # A path of one segment is a grid's if that is a hash ID (1 when not), and a
        # public grid's hash under /secret/ is not a secret grid's.
        for url in ("http://h/about", "http://h/secret" + pages[3]):
            rc, _, err = delete(db, "--yes", url)
            eq(rc, 1, url)
            ok("is not the hash ID of any" in err, err)
        ok(all(v == 200 for v in statuses([a, b], pages[3]).values()), "the grid is kept")
    finally:
        a.stop()
        b.stop()


@test(backends=None)
def delete_salt_advice_names_only_its_options():
    db = fresh_db("sqlite")
    with Server(db) as s:
        page = post(s)
    rc, out, err = delete(db, "--yes", page[1:],
                          env={"HASHIDS_PUBLIC_SALT": "x", "HASHIDS_SECRET_SALT": "y"})
    eq(rc, 1, "other salts than the stored ones")
    eq(len(err.splitlines()), 1, "one line: %r" % err)
    ok("HASHIDS_PUBLIC_SALT" in err and "HASHIDS_SECRET_SALT" in err, err)
    ok("--force-salts" not in err and "serve" not in err, "advice delete cannot follow: " + err)
