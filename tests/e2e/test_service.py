"""test_service.py -- the HTTP API of docs/protocol.md §3 end to end: build/ipborg on a free
loopback port, real SQLite files and a real PostgreSQL, every test once per
backend."""
import glob
import html
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time

from harness import (BIN, Server, eq, fresh_db, ok, path_of, read_vector, test, vector,
                     TMP)


def valid_posts():
    return sorted(glob.glob(vector("posts", "valid_*.json")))


def hashids(salt):
    """id -> hash ID for a salt, from vectors/hashids.tsv (min_length 6)."""
    out = {}
    with open(vector("hashids.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            s, m, i, h = line.rstrip("\n").split("\t")
            if s == salt and m == "6":
                out[int(i)] = h
    return out


PUBLIC = hashids("public")
SECRET = hashids("secret")


def pre_texts(page):
    """The text inside every <pre> of a page, tags stripped and unescaped."""
    return [html.unescape(re.sub(r"<[^>]*>", "", m))
            for m in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S)]


def normalise_cell(code):
    # A highlighter may normalise line ends and strip leading/trailing newlines
    # (as Pygments does); the characters in between must all be there.
    return code.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def assert_page_shows_code(page, cells):
    texts = [normalise_cell(t) for t in pre_texts(page)]
    for c in cells or []:
        if normalise_cell(c) == "":
            continue
        ok(any(normalise_cell(c) in t for t in texts),
           "code cell not shown on the page: %r" % c[:80])


def assert_security_headers(h):
    eq(h.get("x-content-type-options"), "nosniff", "X-Content-Type-Options")
    csp = h.get("content-security-policy", "")
    ok("script-src 'none'" in csp, "CSP forbids scripts: %r" % csp)


# --- posting and reading ------------------------------------------------------------

@test
def post_get_page_roundtrip(backend):
    with Server(fresh_db(backend)) as s:
        for f in valid_posts():
            body = open(f, "rb").read()
            post = json.loads(body)
            st, h, data = s.post(body)
            eq(st, 200, "POST %s" % os.path.basename(f))
            ok(h["content-type"].startswith("application/json"), "post content type")
            url = json.loads(data)["url"]
            ok(url.startswith(s.base + ("/secret/" if post["secret"] else "/")),
               "url %s for secret=%s" % (url, post["secret"]))
            hid = url.rsplit("/", 1)[1]
            getpath = ("/get/secret/" if post["secret"] else "/get/") + hid
            st, h, data = s.get(getpath)
            eq(st, 200, "GET " + getpath)
            ok(h["content-type"].startswith("application/json"), "get content type")
            eq(json.loads(data), post["grid_data"], "grid_data of " + os.path.basename(f))
            st, h, page = s.get(path_of(url))
            eq(st, 200, "page " + url)
            ok(h["content-type"].startswith("text/html"), "page content type")
            assert_security_headers(h)
            page = page.decode("utf-8")
            ok(re.search(r'<table id="blocks[A-Za-z0-9]+" class="blockgrid">', page), "grid table on the page")
            eq(page.count("<td "), post["grid_data"]["width"] * post["grid_data"]["height"],
               "one td per block")
            assert_page_shows_code(page, post["code_cells"])


@test
def first_ids_are_the_known_hashes(backend):
    with Server(fresh_db(backend)) as s:
        body = json.loads(read_vector("posts", "valid_01.json"))
        body["secret"] = False
        st, _, d = s.post(body)
        eq(st, 200)
        eq(json.loads(d)["url"], s.base + "/bizkiL")
        body["secret"] = True
        st, _, d = s.post(body)
        eq(json.loads(d)["url"], s.base + "/secret/MiXoi4")
        st, _, d = s.post(body, headers={"Host": "grids.example.org:8080"})
        eq(json.loads(d)["url"], "http://grids.example.org:8080/secret/" + SECRET[2])


@test
def public_url_option(backend):
    with Server(fresh_db(backend), args=["--public-url", "https://blocks.example.net/"]) as s:
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(st, 200)
        url = json.loads(d)["url"]
        ok(url.startswith("https://blocks.example.net/") and "//" not in url[8:],
           "public url used: " + url)


@test
def secret_grids_stay_secret(backend):
    with Server(fresh_db(backend)) as s:
        base = json.loads(read_vector("posts", "valid_02.json"))
        public, secret = set(), set()
        for i in range(12):
            base["secret"] = i % 3 != 0   # 4 public, 8 secret
            st, _, d = s.post(base)
            eq(st, 200)
            url = json.loads(d)["url"]
            (secret if base["secret"] else public).add(url.rsplit("/", 1)[1])
        for h in secret:
            eq(s.get("/secret/" + h)[0], 200, "secret page")
            eq(s.get("/get/secret/" + h)[0], 200, "secret get")
        for h in public:
            eq(s.get("/secret/" + h)[0], 404, "public id under /secret/")
            eq(s.get("/get/secret/" + h)[0], 404, "public id under /get/secret/")
        # A secret id is not served through the public salt's URL space: its
        # public-salt hash (same id) is another grid or nothing.
        seen = {}
        for _ in range(300):
            st, h, _ = s.get("/random")
            eq(st, 303, "/random")
            loc = h["location"]
            ok(loc.startswith("/") and not loc.startswith("/secret"), "random location " + loc)
            seen[loc[1:]] = seen.get(loc[1:], 0) + 1
        eq(set(seen), public, "/random draws exactly the public grids")
        ok(min(seen.values()) > 30, "each public grid drawn often enough: %r" % seen)


@test
def random_on_empty_store_is_404(backend):
    with Server(fresh_db(backend)) as s:
        st, h, _ = s.get("/random")
        eq(st, 404)
        ok(h["content-type"].startswith("text/html"), "404 page")
        body = json.loads(read_vector("posts", "valid_01.json"))
        body["secret"] = True
        eq(s.post(body)[0], 200)
        eq(s.get("/random")[0], 404, "only secret grids: still nothing to draw")


@test
def trailing_slashes_redirect(backend):
    with Server(fresh_db(backend)) as s:
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        hid = json.loads(d)["url"].rsplit("/", 1)[1]
        for path, want in [("/about/", "/about"), ("/%s/" % hid, "/" + hid),
                           ("/%s///" % hid, "/" + hid), ("/get/%s/" % hid, "/get/" + hid),
                           ("/secret/abc/", "/secret/abc"), ("/random/", "/random")]:
            st, h, _ = s.get(path)
            eq(st, 301, "status of " + path)
            eq(h["location"], want, "location of " + path)
        st, _, _ = s.get("//evil.example.com/")
        eq(st, 404, "no redirect to another host")


@test
def not_found(backend):
    with Server(fresh_db(backend)) as s:
        eq(s.post(read_vector("posts", "valid_01.json"))[0], 200)   # grid 1 = bizkiL
        for path in ["/bizkiLL", "/xbizkiL", "/bizki", "/bizkil", "/zzzzzz", "/no/such/page",
                     "/static/nothing.css", "/static", "/secret", "/get", "/post",
                     "/get/bizkiLL", "/get/secret/bizkiL", "/secret/bizkiL", "/%00",
                     "/get/" + "x" * 300]:
            st, h, data = s.get(path)
            eq(st, 404, "GET " + path)
        st, h, data = s.get("/no/such/page")
        ok(h["content-type"].startswith("text/html"), "404 is a page")
        ok(b"Random" in data and b'href="/about"' in data, "404 page has the navigation")
        eq(s.get("/bizkiL")[0], 200, "canonical hash works")
        eq(s.request("DELETE", "/bizkiL")[0], 404, "unknown method")
        eq(s.request("POST", "/bizkiL", body="{}")[0], 404, "POST elsewhere")


@test
def static_and_fixed_pages(backend):
    with Server(fresh_db(backend)) as s:
        for path in ["/", "/about"]:
            st, h, data = s.get(path)
            eq(st, 200, path)
            ok(h["content-type"].startswith("text/html"), path + " is html")
            assert_security_headers(h)
            page = data.decode("utf-8")
            for link in ['href="/"', 'href="/about"', 'href="/random"']:
                ok(link in page, "%s has nav link %s" % (path, link))
            ok("<script" not in page.lower(), "no scripts")
            ok(not re.search(r'(src|href)="(https?:)?//', page), "nothing from other hosts")
        home = s.get("/")[2].decode()
        ok("post_to_web" in home and "from_web" in home, "home explains the client calls")
        ok('class="blockgrid"' in home, "home shows an example grid")
        st, h, css = s.get("/static/style.css")
        eq(st, 200)
        ok(h["content-type"].startswith("text/css"), "css type")
        st, h, svg = s.get("/static/favicon.svg")
        eq(st, 200)
        eq(h["content-type"], "image/svg+xml")
        st, h, data = s.request("HEAD", "/static/style.css")
        eq(st, 200)
        eq(data, b"", "HEAD has no body")
        eq(int(h["content-length"]), len(css), "HEAD gives the length")


@test
def head_works_where_get_does(backend):
    with Server(fresh_db(backend)) as s:
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        url = json.loads(d)["url"]
        for path in [path_of(url), "/get/" + url.rsplit("/", 1)[1], "/", "/about", "/random"]:
            g = s.get(path)
            hd = s.request("HEAD", path)
            eq(hd[0], g[0], "HEAD status of " + path)
            eq(hd[2], b"", "HEAD body of " + path)


# --- the posts vectors ----------------------------------------------------------------

@test
def every_post_vector(backend):
    edge_exact = {"edge_08.json", "edge_09.json", "edge_12.json", "edge_13.json",
                  "edge_11.json", "edge_15.json"}
    with Server(fresh_db(backend)) as s:
        files = sorted(glob.glob(vector("posts", "*.json")))
        ok(len(files) >= 150, "all post vectors found")
        for f in files:
            name = os.path.basename(f)
            body = open(f, "rb").read()
            st, h, data = s.post(body)
            if name.startswith(("invalid_", "strict_")):
                eq(st, 400, name)
                ok(h["content-type"].startswith("application/json"), name + " error is JSON")
                err = json.loads(data)["error"]
                ok(isinstance(err, str) and err and "\n" not in err, name + ": error message")
            elif name.startswith("valid_"):
                eq(st, 200, name)
            else:
                ok(st in (200, 400), "%s: %d" % (name, st))
                if name in edge_exact:
                    eq(st, 200, name)
                if st == 200:
                    url = json.loads(data)["url"]
                    hid = url.rsplit("/", 1)[1]
                    sec = "/secret/" in url
                    g = s.get(("/get/secret/" if sec else "/get/") + hid)
                    eq(g[0], 200, name + " get")
                    sent = json.loads(body.decode("utf-8-sig"))
                    eq(json.loads(g[2]), sent["grid_data"], name + " grid_data round trip")
                    page = s.get(path_of(url))
                    eq(page[0], 200, name + " page")
                    if name in edge_exact and sent.get("code_cells"):
                        assert_page_shows_code(page[2].decode("utf-8"), sent["code_cells"])


@test
def error_names_the_field(backend):
    with Server(fresh_db(backend)) as s:
        post = json.loads(read_vector("posts", "valid_01.json"))
        post["grid_data"]["blocks"][3][2] = [1, 2, 3]
        st, _, d = s.post(post)
        eq(st, 400)
        ok("grid_data.blocks[3][2]" in json.loads(d)["error"], json.loads(d)["error"])
        post = json.loads(read_vector("posts", "valid_01.json"))
        del post["ipb_class"]
        st, _, d = s.post(post)
        eq(st, 400)
        ok("ipb_class" in json.loads(d)["error"], json.loads(d)["error"])


@test
def body_limits(backend):
    with Server(fresh_db(backend), args=["--max-body", "4000", "--max-cells", "100"]) as s:
        big = read_vector("posts", "valid_19.json")   # 187 KB
        st, h, d = s.post(big)
        eq(st, 413, "body over --max-body")
        ok("error" in json.loads(d), "413 is JSON")
        post = json.loads(read_vector("posts", "valid_01.json"))
        g = post["grid_data"]
        if g["width"] * g["height"] > 100:
            st, _, d = s.post(post)
            eq(st, 400, "grid over --max-cells")
        # Content-Length alone shows it: answered before the body is sent.
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
            resp = c.recv(4096)
            ok(resp.startswith(b"HTTP/1.1 413"), "early 413: %r" % resp[:40])
    with Server(fresh_db(backend)) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                      % (10 * 1024 * 1024 + 1))
            resp = c.recv(4096)
            ok(resp.startswith(b"HTTP/1.1 413"), "default 10 MiB limit: %r" % resp[:40])


@test
def keep_alive(backend):
    import http.client
    with Server(fresh_db(backend)) as s:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.connect()
        sock = conn.sock
        for path in ["/", "/about", "/static/style.css", "/random", "/nothing"] * 3:
            st, h, _ = s.request("GET", path, conn=conn)
            ok(h.get("connection", "").lower() != "close", "keep-alive on " + path)
            ok(conn.sock is sock, "same socket after " + path)
        st, h, d = s.request("POST", "/post", body=read_vector("posts", "valid_01.json"),
                             conn=conn)
        eq(st, 200)
        ok(conn.sock is sock, "same socket after POST")
        st, h, d = s.request("GET", "/get/bizkiL", conn=conn)
        eq(st, 200)
        ok(conn.sock is sock, "same socket after GET /get")
        conn.close()


@test
def restart_keeps_every_grid(backend):
    db = fresh_db(backend)
    posted = []
    with Server(db) as s:
        for f in valid_posts()[:10]:
            post = json.loads(open(f, "rb").read())
            st, _, d = s.post(open(f, "rb").read())
            eq(st, 200)
            posted.append((path_of(json.loads(d)["url"]), post))
    with Server(db, salts=None) as s:   # salts now come from the database
        for path, post in posted:
            api = "/get" + path
            st, _, d = s.get(api)
            eq(st, 200, api)
            eq(json.loads(d), post["grid_data"], api)


@test
def concurrent_posts_all_land(backend):
    with Server(fresh_db(backend)) as s:
        body = read_vector("posts", "valid_05.json")
        results, errors = [], []

        def worker():
            try:
                for _ in range(25):
                    st, _, d = s.post(body)
                    results.append((st, json.loads(d)["url"]))
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        ts = [threading.Thread(target=worker) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(errors, [], "no client errors")
        eq({st for st, _ in results}, {200})
        urls = [u for _, u in results]
        eq(len(set(urls)), 150, "150 distinct URLs")
        for u in urls[:: 10]:
            eq(s.get("/get" + path_of(u))[0], 200)


# --- salts, legacy files, the command line ------------------------------------------------

def legacy_copy():
    d = os.path.join(TMP, "legacy-%d-%f" % (os.getpid(), time.time()))
    os.makedirs(d)
    p = os.path.join(d, "legacy_small.db")
    shutil.copy(vector("legacy", "legacy_small.db"), p)
    return p


def expected_legacy_rows():
    with open(vector("legacy", "legacy_small.expected.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_serves_legacy(s):
    rows = expected_legacy_rows()
    ok(len(rows) == 85, "85 legacy rows")
    for r in rows:
        sec = r["table"] == "secret_grids"
        st, _, d = s.get(("/get/secret/" if sec else "/get/") + r["hashid"])
        eq(st, 200, "legacy %s %d" % (r["table"], r["id"]))
        eq(json.loads(d), r["grid_data"], "legacy grid_data %s %d" % (r["table"], r["id"]))
        st, _, page = s.get(("/secret/" if sec else "/") + r["hashid"])
        eq(st, 200, "legacy page %s %d" % (r["table"], r["id"]))
        page = page.decode("utf-8")
        assert_page_shows_code(page, r["code_cells"])
        ok("<script" not in page.lower(), "no raw script from legacy code %d" % r["id"])


@test(backends=None)
def legacy_sqlite_file_served_as_is():
    path = legacy_copy()
    with Server("sqlite:///" + path) as s:
        check_serves_legacy(s)
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(json.loads(d)["url"], s.base + "/" + PUBLIC[90], "next public id is 90")
        post = json.loads(read_vector("posts", "valid_01.json"))
        post["secret"] = True
        st, _, d = s.post(post)
        eq(json.loads(d)["url"], s.base + "/secret/" + SECRET[45], "next secret id is 45")


@test(backends=None)
def legacy_without_salts_refuses_to_start():
    path = legacy_copy()
    before = open(path, "rb").read()
    r = subprocess.run([BIN, "serve", "--port", "0", "--db-url", "sqlite:///" + path],
                       capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if not k.startswith("HASHIDS")})
    ok(r.returncode != 0, "refuses to start")
    ok("HASHIDS_PUBLIC_SALT" in r.stderr and "HASHIDS_SECRET_SALT" in r.stderr,
       "names the variables: " + r.stderr)
    eq(len(r.stderr.strip().splitlines()), 1, "one line")


@test
def salts_are_stored_and_guarded(backend):
    db = fresh_db(backend)
    with Server(db, salts=None) as s:   # empty database: random salts, stored
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        url = json.loads(d)["url"]
        ok(not url.endswith("/bizkiL"), "random salts, not 'public'")
    with Server(db, salts=None) as s:
        eq(s.get("/get" + path_of(url))[0], 200, "stored salts reused")
    r = subprocess.run([BIN, "serve", "--port", "0", "--db-url", db], capture_output=True,
                       text=True, timeout=30,
                       env=dict(os.environ, HASHIDS_PUBLIC_SALT="other", HASHIDS_SECRET_SALT="x"))
    ok(r.returncode != 0, "mismatching salts refused")
    ok("salt" in r.stderr.lower(), r.stderr)
    with Server(db, salts=("other", "x"), args=["--force-salts"]) as s:
        eq(s.get("/get" + path_of(url))[0], 404, "forced salts change the URLs")
    with Server(db, salts=None) as s:
        eq(s.get("/get" + path_of(url))[0], 200, "stored salts untouched by --force-salts")


@test(backends=None)
def command_line():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    eq(r.returncode, 0)
    ok("serve" in r.stdout and "migrate" in r.stdout, "help lists commands")
    for cmd in (["serve", "--help"], ["migrate", "--help"]):
        r = subprocess.run([BIN] + cmd, capture_output=True, text=True)
        eq(r.returncode, 0, " ".join(cmd))
        ok("usage" in r.stdout, " ".join(cmd))
    for cmd in (["frobnicate"], ["serve", "--bogus"], ["serve", "--port", "80x"],
                ["serve", "--port", "70000"], ["migrate", "--from", "sqlite:///a.db"],
                ["serve", "extra"], []):
        r = subprocess.run([BIN] + cmd, capture_output=True, text=True, timeout=10)
        eq(r.returncode, 2, "exit status of %r" % cmd)
        ok(r.stderr.strip() != "", "error message for %r" % cmd)


@test(backends=None)
def bad_database_urls():
    for url in ["mysql://x/y", "sqlite://", "sqlite:///" + os.path.join(TMP, "no", "dir", "x.db")]:
        r = subprocess.run([BIN, "serve", "--port", "0", "--db-url", url], capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 1, "exit status for " + url)
        eq(len(r.stderr.strip().splitlines()), 1, "one line for %s: %r" % (url, r.stderr))
    notdb = os.path.join(TMP, "notadb.db")
    with open(notdb, "wb") as f:
        f.write(b"this is not a database" * 100)
    r = subprocess.run([BIN, "serve", "--port", "0", "--db-url", "sqlite:///" + notdb],
                       capture_output=True, text=True, timeout=30)
    eq(r.returncode, 1)
    ok("notadb.db" in r.stderr, "names the file: " + r.stderr)


@test(backends=None)
def access_log_and_quiet():
    db = fresh_db("sqlite")
    s = Server(db)
    s.get("/about")
    s.get("/nothing/here")
    eq(s.stop(), 0, "SIGTERM: clean exit")
    log = s.read_log()
    m = re.search(r"^(\S+) GET /about 200 (\d+) (\d+)$", log, re.M)
    ok(m, "access log line for /about: " + log)
    ok(re.search(r"^\S+ GET /nothing/here 404 \d+ \d+$", log, re.M), "404 logged")
    s = Server(db, args=["--quiet"])
    s.get("/about")
    eq(s.stop(signal.SIGINT), 0, "SIGINT: clean exit")
    ok("GET /about" not in s.read_log(), "--quiet: no access log")


@test(backends=None)
def sigterm_finishes_requests_in_flight():
    db = fresh_db("sqlite")
    s = Server(db)
    body = read_vector("posts", "valid_19.json")
    results = []

    def slow_client():
        # Send the headers, then the body after the server was told to stop.
        c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        c.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        time.sleep(0.8)
        c.sendall(body)
        results.append(c.recv(4096))
        c.close()
    t = threading.Thread(target=slow_client)
    t.start()
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    t.join()
    eq(s.stop(), 0)
    ok(results and results[0].startswith(b"HTTP/1.1 200"),
       "request in flight answered: %r" % (results[:1],))


# --- stored rows: one reader for the page, the PNG and /get ------------------------------

def g1(lines_on, block):
    return ('{"lines_on": %s, "width": 1, "height": 1, "blocks": [[%s]]}' % (lines_on, block))


def g2x2(rows):
    return '{"lines_on": true, "width": 2, "height": 2, "blocks": %s}' % rows


# Rows as stored, straight into the table (many of them posting refuses now):
# (name, grid_data text or None for SQL NULL, drawn?). Drawn rows are drawn on
# the page and as a PNG and served by /get; the others get the same 500 from
# all three.
STORED_ROWS = [
    ("plain", g1("true", "[1, 2, 3, 20]"), True),
    ("lines_on 1.0", g1("1.0", "[1, 2, 3, 20]"), True),
    ("lines_on 0", g1("0", "[1, 2, 3, 20]"), True),
    ("lines_on 1", g1("1", "[1, 2, 3, 20]"), True),
    ("lines_on \"x\"", g1('"x"', "[1, 2, 3, 20]"), False),
    ("lines_on null", g1("null", "[1, 2, 3, 20]"), False),
    ("lines_on 2", g1("2", "[1, 2, 3, 20]"), False),
    ("negative size", g1("true", "[1, 2, 3, -5]"), True),
    ("zero size", g1("true", "[1, 2, 3, 0]"), True),
    ("fractional size", g1("true", "[1, 2, 3, 2.5]"), True),
    ("size 5000", g1("true", "[1, 2, 3, 5000]"), True),
    ("size 2^63", g1("true", "[1, 2, 3, 9223372036854775808]"), False),
    ("size 1e300", g1("true", "[1, 2, 3, 1e300]"), False),
    ("size a string", g1("true", '[1, 2, 3, "20"]'), False),
    ("colours out of range", g1("true", "[300, -7, 18446744073709551616, 20]"), True),
    ("colours as floats", g1("true", "[12.5, 13.5, 0.4, 20]"), True),
    ("colour null", g1("true", "[null, 2, 3, 20]"), False),
    ("colour true", g1("true", "[true, 2, 3, 20]"), False),
    ("block of 3", g1("true", "[1, 2, 3]"), False),
    ("block of 6", g1("true", "[1, 2, 3, 20, 5, 6]"), True),
    ("later row longer", g2x2("[[[1,2,3,4],[1,2,3,4]],[[1,2,3,4],[1,2,3,4],[9,9,9,9]]]"), True),
    ("later row shorter", g2x2("[[[1,2,3,4],[1,2,3,4]],[[1,2,3,4]]]"), False),
    ("first row longer", g2x2("[[[1,2,3,4],[1,2,3,4],[9,9,9,9]],[[1,2,3,4],[1,2,3,4]]]"), False),
    ("more rows than height", g2x2("[[[1,2,3,4],[1,2,3,4]],[[1,2,3,4],[1,2,3,4]],[]]"), False),
    ("fewer rows than height", g2x2("[[[1,2,3,4],[1,2,3,4]]]"), False),
    ("width disagrees", '{"lines_on": true, "width": 3, "height": 1, "blocks": [[[1,2,3,4]]]}',
     False),
    ("width 1.0", '{"lines_on": true, "width": 1.0, "height": 1, "blocks": [[[1,2,3,4]]]}', True),
    ("width 0", '{"lines_on": true, "width": 0, "height": 1, "blocks": [[]]}', False),
    ("no blocks", '{"lines_on": true, "width": 1, "height": 1}', False),
    ("no lines_on", '{"width": 1, "height": 1, "blocks": [[[1,2,3,4]]]}', False),
    ("extra keys", '{"zz": [1], "blocks": [[[1,2,3,4]]], "height": 1, "width": 1, '
     '"lines_on": true, "title": "<b>x</b>"}', True),
    ("more blocks than --max-cells (60)",
     json.dumps({"lines_on": True, "width": 10, "height": 7,
                 "blocks": [[[r * 30, c * 20, 100, 10] for c in range(10)] for r in range(7)]}),
     True),
    ("an array", "[]", False),
    ("a number", "42", False),
    ("a string", '"grid"', False),
    ("JSON null", "null", False),
    ("SQL NULL", None, False),
    ("empty text", "", False),
    ("not JSON", "{lines_on: true, width: 1}", False),
    ("truncated JSON", g1("true", "[1, 2, 3, 20]")[:-3], False),
    ("NUL inside", g1("true", "[1, 2, 3, 20]")[:10] + "\x00" + g1("true", "[1, 2, 3, 20]"),
     False),
]


def stored_rows_db(rows, secret_rows=()):
    """A SQLite file in the old service's format holding rows (id 1, 2, ...)."""
    d = os.path.join(TMP, "stored-%d-%f" % (os.getpid(), time.time()))
    os.makedirs(d)
    path = os.path.join(d, "stored.db")
    con = sqlite3.connect(path)
    for table in ("public_grids", "secret_grids"):
        con.execute("CREATE TABLE %s(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT, "
                    "grid_data TEXT, secret BOOLEAN, code_cells TEXT, ipb_class TEXT, "
                    "PRIMARY KEY(id))" % table)
    for table, secret, data in (("public_grids", 0, rows), ("secret_grids", 1, secret_rows)):
        con.executemany("INSERT INTO %s VALUES (?, '1.9.0', '[3, 11, 7, \"final\", 0]', ?, ?, "
                        "'[\"grid = BlockGrid(1, 1)\"]', 'BlockGrid')" % table,
                        [(i + 1, gd, secret) for i, gd in enumerate(data)])
    con.commit()
    con.close()
    return "sqlite:///" + path


@test(backends=None)
def stored_rows_page_png_and_get_agree():
    url = stored_rows_db([r[1] for r in STORED_ROWS],
                         secret_rows=[g1('"x"', "[1, 2, 3, 20]"), g1("1.0", "[1, 2, 3, 20]")])
    with Server(url, args=["--max-cells", "60"]) as s:
        checks = [(name, PUBLIC[i + 1], "", text, drawn)
                  for i, (name, text, drawn) in enumerate(STORED_ROWS)]
        checks += [("secret lines_on \"x\"", SECRET[1], "/secret", g1('"x"', "[1, 2, 3, 20]"),
                    False),
                   ("secret lines_on 1.0", SECRET[2], "/secret", g1("1.0", "[1, 2, 3, 20]"), True)]
        for name, hid, pre, text, drawn in checks:
            for attempt in range(2):   # the second answer may come from the cache
                page = s.get(pre + "/" + hid)
                png = s.get(pre + "/" + hid + ".png")
                api = s.get("/get" + pre + "/" + hid)
                got = (page[0], png[0], api[0])
                if drawn:
                    eq(got, (200, 200, 200), "%s: page, PNG, /get" % name)
                    ok(png[2].startswith(b"\x89PNG\r\n\x1a\n"), name + ": a PNG")
                    body = page[2].decode()
                    if "max-cells" in name:
                        ok("blockgrid" not in body, name + ": no table")
                        ok('<img class="grid-image" src="/%s.png"' % hid in body,
                           name + ": the PNG instead")
                    else:
                        g = json.loads(text)
                        eq(body.count("<td "), int(g["width"] * g["height"]),
                           name + ": one td per block")
                    eq(json.loads(api[2]), json.loads(text), name + ": /get as stored")
                else:
                    eq(got, (500, 500, 500), "%s: page, PNG, /get" % name)
                    ok(page[1]["content-type"].startswith("text/html"), name + ": a page")
                    # (SQL NULL: the store itself reports it for /get and the PNG,
                    # as an internal error: the same 500, other words.)
                    ok("damaged" in page[2].decode(), name + ": says why")
                    ok(png[1]["content-type"].startswith("text/html"), name + ": PNG: a page")
                    ok(api[1]["content-type"].startswith("application/json"), name + ": JSON")
                    ok(text is None or "damaged" in json.loads(api[2])["error"],
                       name + ": /get says why")
                    for r in (page, png, api):
                        eq(r[1].get("cache-control"), "no-store", name + ": not kept")
        # Every refusal is explained on stderr, naming the table and the field.
        s.stop()
        log = s.read_log()
        ok(re.search(r"public_grids %s cannot be served: grid_data\.lines_on" % PUBLIC[5], log),
           "reason on stderr")
        ok(re.search(r"public_grids %s cannot be served: grid_data: not valid JSON" %
                     PUBLIC[len(STORED_ROWS) - 2], log), "not JSON on stderr")


# --- HTTP caching -----------------------------------------------------------------------

@test
def etags_304_and_gzip(backend):
    import gzip
    with Server(fresh_db(backend)) as s:
        st, _, d = s.post(read_vector("posts", "valid_19.json"))   # 100x100: a big page
        url = json.loads(d)["url"]
        hid = url.rsplit("/", 1)[1]
        sec = "/secret/" in url
        for path in [path_of(url), ("/get/secret/" if sec else "/get/") + hid,
                     "/static/style.css", "/about"]:
            st, h, plain = s.get(path)
            eq(st, 200, path)
            etag = h.get("etag", "")
            ok(re.fullmatch(r'"[0-9a-f]{16}"', etag), "strong ETag on %s: %r" % (path, etag))
            ok("max-age" in h.get("cache-control", ""), "Cache-Control on " + path)
            # The same bytes again, from the cache: same ETag.
            st2, h2, plain2 = s.get(path)
            eq((st2, h2.get("etag"), plain2), (200, etag, plain), "second answer of " + path)
            st, h, body = s.get(path, headers={"If-None-Match": etag})
            eq(st, 304, "If-None-Match on " + path)
            eq(body, b"")
            st, h, body = s.get(path, headers={"If-None-Match": 'W/"x", ' + etag})
            eq(st, 304, "If-None-Match list on " + path)
            eq(s.get(path, headers={"If-None-Match": '"0000000000000000"'})[0], 200)
            if len(plain) >= 1024:
                st, h, z = s.get(path, headers={"Accept-Encoding": "gzip, deflate"})
                eq(st, 200)
                eq(h.get("content-encoding"), "gzip", "gzip on " + path)
                eq(h.get("vary"), "Accept-Encoding", "Vary on " + path)
                eq(gzip.decompress(z), plain, "gzip body of " + path)
                ok(len(z) < len(plain), "gzip is smaller")
                st, h, z = s.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
                ok("content-encoding" not in h, "q=0 refuses gzip on " + path)
                eq(z, plain)
            ok("content-encoding" not in s.get(path)[1], "no gzip unless asked")
        # Answers that change are not cached (the home page lists the latest grids).
        for path in ["/random", "/nothing-here", "/", "/gallery"]:
            ok("etag" not in s.get(path)[1], "no ETag on " + path)


@test
def servers_starting_together_agree_on_salts(backend):
    # Four servers start at the same moment on an empty database with no salts
    # in the environment: one set of random salts wins and all use it.
    db = fresh_db(backend)
    servers = []
    errors = []

    def start():
        try:
            servers.append(Server(db, salts=None))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    ts = [threading.Thread(target=start) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    try:
        eq(errors, [], "every server started")
        st, _, d = servers[0].post(read_vector("posts", "valid_01.json"))
        eq(st, 200)
        path = path_of(json.loads(d)["url"])
        for s in servers:
            eq(s.get("/get" + path)[0], 200, "same salts everywhere")
    finally:
        for s in servers:
            s.stop()
