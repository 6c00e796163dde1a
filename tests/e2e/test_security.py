"""test_security.py -- hostile input and the service's limits, end to end.

What is checked here (issue "Hardening", points 5 and 7):
- text from a grid (code cells, ipb_version) holding markup comes out escaped
  on the page and raw in no response at all;
- SQL travels only as parameters: strings full of quotes, backslashes, SQL,
  unicode and control characters round-trip exactly through /get and through
  the page's code text, and both tables survive;
- only canonical hash IDs name a grid: every alias the reference decoder
  accepts (vectors/hashids_decode.tsv, canonical=0) is a 404, and so is an id
  of the other table;
- /random never leads to a secret grid;
- every kind of answer carries X-Content-Type-Options: nosniff and a
  Content-Security-Policy that forbids scripts;
- limits with clear answers: --max-cells (400 at width x height = N + 1),
  request headers too large (431), --max-connections in total; and the
  README's table of serve flags agrees with `ipborg serve --help`.
Body size (413), the client timeout and the per-address cap are tested in
test_service.py and test_operations.py.
"""
import html
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse

from harness import (BIN, ROOT, Server, eq, fresh_db, ok, path_of, read_vector, test,
                     vector)

MARKUP = "</pre><script>alert('x')</script><img src=x onerror=alert(1)>"

# Strings that would break SQL built by pasting text, or a careless escaper.
NASTY = [
    "'", "''", '"', "\\", "\\'", "\\\\'", "'; DROP TABLE public_grids; --",
    "\"; DROP TABLE secret_grids; --", "1' OR '1'='1", "$$; DROP TABLE public_grids; $$",
    "E'\\x00'", "%s %d %n {0} ?", ":name @var $1",
    "é ü ß 日本語 עברית \u202e 😀 \U0001F9EA \u2028\u2029 \ufeff",
    "".join(chr(c) for c in range(1, 32) if c not in (10, 13)) + "\x7f",
]


def code_texts(page):
    """The text of every code cell of a grid page: tags stripped, unescaped."""
    cells = re.findall(r'<div class="ipb-code"><pre>(.*?)</pre></div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]*>", "", c)) for c in cells]


def dd_of(page, label):
    m = re.search(r"<dt>%s</dt><dd>(.*?)</dd>" % re.escape(label), page, re.S)
    ok(m, "page shows %s" % label)
    return m.group(1)


def assert_safe_headers(h, what):
    eq(h.get("x-content-type-options"), "nosniff", "X-Content-Type-Options of " + what)
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip().split(" ")[1:]
                  for d in csp.split(";") if d.strip()}
    eq(directives.get("script-src"), ["'none'"], "CSP of %s forbids scripts: %r" % (what, csp))
    ok(directives.get("object-src") == ["'none'"], "CSP of %s forbids plugins" % what)


# --- markup in grid text ---------------------------------------------------------------

@test
def markup_is_escaped_everywhere(backend):
    with Server(fresh_db(backend)) as s:
        post = json.loads(read_vector("posts", "valid_01.json"))
        post["code_cells"] = ["x = 1  # " + MARKUP, MARKUP, '"""' + MARKUP + '"""']
        post["ipb_version"] = "1.9.0" + MARKUP
        paths = []
        for secret in (False, True):
            post["secret"] = secret
            st, h, d = s.post(post)
            eq(st, 200, "post")
            p = path_of(json.loads(d)["url"])
            hid = p.rsplit("/", 1)[1]
            paths += [p, p + ".png", ("/get/secret/" if secret else "/get/") + hid]
            page = s.get(p)[2].decode()
            eq(code_texts(page), [c + "\n" for c in post["code_cells"]],
               "code cells, unescaped, as posted (a newline ends each, as in Pygments)")
            eq(html.unescape(dd_of(page, "ipythonblocks")), post["ipb_version"],
               "ipb_version shown as posted")
            ok("&lt;/pre&gt;&lt;script&gt;" in page, "markup shown as character references")
        # Error answers that might quote the input.
        bad = dict(post, ipb_class=MARKUP)
        eq(s.post(bad)[0], 400, "ipb_class of markup")
        bad = dict(post, ipb_version=MARKUP)
        eq(s.post(bad)[0], 400, "ipb_version not starting with digits")
        quoted = urllib.parse.quote(MARKUP, safe="")
        paths += ["/" + quoted, "/secret/" + quoted, "/get/" + quoted, "/get/secret/" + quoted,
                  "/" + quoted + ".png", "/static/" + quoted, "/random", "/", "/about"]
        bodies = []
        for p in paths:
            st, h, d = s.get(p)
            ok(st in (200, 303, 404), "GET %s: %d" % (p, st))
            bodies.append((p, d))
        for body in ([MARKUP], {"grid_data": MARKUP}, MARKUP, "{\"" + MARKUP + "\": 1}"):
            st, _, d = s.post(body if isinstance(body, str) else json.dumps(body))
            eq(st, 400, "post of %r" % (body,))
            bodies.append(("/post 400", d))
        for p, d in bodies:
            low = d.lower()
            ok(b"<script" not in low and b"<img src=x" not in low,
               "markup raw in the answer to %s: %r" % (p, d[:200]))


# --- stored rows that are not grids ------------------------------------------------------

@test(backends=None)
def damaged_rows_quote_nothing():
    # Rows written straight into the file (an old service, a hand edit, an
    # attacker with the file): whatever they hold, the answers about them
    # quote none of it and keep the security headers.
    from test_service import PUBLIC, g1, stored_rows_db
    rows = [MARKUP + " postgresql://ipb:hunter2@db/grids",
            g1(json.dumps(MARKUP), "[1, 2, 3, 20]"),
            g1("true", "[1, 2, 3, %s]" % json.dumps(MARKUP)),
            json.dumps([MARKUP, "hunter2"])]
    with Server(stored_rows_db(rows)) as s:
        for i in range(len(rows)):
            hid = PUBLIC[i + 1]
            for p in ("/" + hid, "/" + hid + ".png", "/get/" + hid):
                st, h, d = s.get(p)
                eq(st, 500, "GET %s (row %d)" % (p, i + 1))
                low = d.lower()
                ok(b"<script" not in low and b"hunter2" not in low and b"<img src=x" not in low,
                   "row %d quoted in the answer to %s: %r" % (i + 1, p, d[:200]))
                assert_safe_headers(h, p)


# --- SQL only through parameters ----------------------------------------------------------

def table_counts(backend, db_url):
    if backend == "sqlite":
        import sqlite3
        c = sqlite3.connect(db_url[len("sqlite:///"):])
        try:
            return tuple(c.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                         for t in ("public_grids", "secret_grids"))
        finally:
            c.close()
    from harness import psql
    out = psql(db_url, "SELECT (SELECT count(*) FROM public_grids), "
                       "(SELECT count(*) FROM secret_grids)")
    return tuple(int(x) for x in out.strip().split("|"))


@test
def sql_text_round_trips_exactly(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        post = json.loads(read_vector("posts", "valid_02.json"))
        sent = []
        for secret in (False, True):
            for i, text in enumerate(NASTY):
                p = json.loads(json.dumps(post))
                p["secret"] = secret
                p["code_cells"] = [text, "s = " + repr(text), "# " + text + "\n" + text]
                p["ipb_version"] = "1.9." + text
                g = p["grid_data"]
                g["note"] = text
                g[text] = [text, {"nested": text}]
                g["all"] = NASTY
                st, _, d = s.post(p)
                eq(st, 200, "post of %r" % text)
                sent.append((json.loads(d)["url"], p))
        for url, p in sent:
            path = path_of(url)
            hid = path.rsplit("/", 1)[1]
            st, _, d = s.get(("/get/secret/" if p["secret"] else "/get/") + hid)
            eq(st, 200, "/get of " + url)
            eq(json.loads(d), p["grid_data"], "grid_data of %s through /get" % url)
            st, _, page = s.get(path)
            eq(st, 200, "page of " + url)
            page = page.decode("utf-8")
            # The highlighter ends each cell with a newline, as Pygments does.
            eq(code_texts(page), [c + "\n" for c in p["code_cells"]], "code of " + url)
            eq(html.unescape(dd_of(page, "ipythonblocks")), p["ipb_version"],
               "ipb_version of " + url)
        eq(table_counts(backend, db), (len(NASTY), len(NASTY)), "both tables intact")
        eq(s.post(read_vector("posts", "valid_01.json"))[0], 200, "still storing grids")


# --- hash IDs ---------------------------------------------------------------------------

def decode_vectors(salt):
    """(input, id) for every non-canonical input the reference decoder reads as
    one number, with salt and min_length 6."""
    out = []
    with open(vector("hashids_decode.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            s, m, inp, dec, canonical = line.rstrip("\n").split("\t")
            if s == salt and m == "6" and canonical == "0" and inp:
                out.append((inp, dec))
    return out


@test
def only_canonical_hash_ids_name_grids(backend):
    with Server(fresh_db(backend)) as s:
        post = json.loads(read_vector("posts", "valid_01.json"))
        urls = {False: [], True: []}
        for i in range(12):
            for secret in (False, True):
                post["secret"] = secret
                st, _, d = s.post(post)
                eq(st, 200)
                urls[secret].append(json.loads(d)["url"].rsplit("/", 1)[1])
        for secret, salt in ((False, "public"), (True, "secret")):
            pre = "/secret/" if secret else "/"
            get = "/get/secret/" if secret else "/get/"
            aliases = decode_vectors(salt)
            hits = [a for a, dec in aliases if dec.isdigit() and 1 <= int(dec) <= 12]
            ok(len(hits) >= 5, "vectors hold aliases of ids 1..12 (%d)" % len(hits))
            for inp, dec in aliases:
                q = urllib.parse.quote(inp, safe="")
                for p in (pre + q, get + q, pre + q + ".png"):
                    st, h, _ = s.get(p)
                    if st == 301 and inp.endswith("/"):
                        # "bizkiL%2F" is the path "/bizkiL/": the trailing-slash
                        # redirect of docs/protocol.md §3, not a grid served at an alias.
                        eq(h["location"], urllib.parse.unquote(p).rstrip("/"), "redirect")
                        continue
                    eq(st, 404, "alias %r (decodes to %s) at %s" % (inp, dec, p))
            # The ids of the other table.
            other_pre = "/" if secret else "/secret/"
            other_get = "/get/" if secret else "/get/secret/"
            for hid in urls[secret]:
                eq(s.get(pre + hid)[0], 200, "canonical " + pre + hid)
                eq(s.get(get + hid)[0], 200, "canonical " + get + hid)
                if hid not in urls[not secret]:
                    for p in (other_pre + hid, other_get + hid, other_pre + hid + ".png"):
                        eq(s.get(p)[0], 404, "id of the other table at " + p)


@test
def random_never_leads_to_a_secret_grid(backend):
    with Server(fresh_db(backend)) as s:
        post = json.loads(read_vector("posts", "valid_01.json"))
        post["secret"] = True
        secret = set()
        for _ in range(20):
            secret.add(json.loads(s.post(post)[2])["url"].rsplit("/", 1)[1])
        eq(s.get("/random")[0], 404, "only secret grids: /random finds nothing")
        post["secret"] = False
        public = set(json.loads(s.post(post)[2])["url"].rsplit("/", 1)[1] for _ in range(2))
        for _ in range(100):
            st, h, _ = s.get("/random")
            eq(st, 303, "/random")
            hid = h["location"].rsplit("/", 1)[1]
            ok(hid in public, "/random led to %s, not one of the public %r" % (hid, public))


# --- headers on every kind of answer ----------------------------------------------------------

@test
def every_answer_forbids_scripts_and_sniffing(backend):
    with Server(fresh_db(backend), args=["--max-body", "100000"]) as s:
        st, h, d = s.post(read_vector("posts", "valid_01.json"))
        eq(st, 200)
        assert_safe_headers(h, "/post 200")
        hid = json.loads(d)["url"].rsplit("/", 1)[1]
        st, h, _ = s.post("{}")
        eq(st, 400)
        assert_safe_headers(h, "/post 400")
        st, h, _ = s.post("x" * 100001)
        eq(st, 413)
        assert_safe_headers(h, "/post 413")
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
            head = c.recv(4096).split(b"\r\n\r\n")[0].decode().lower()
            ok(head.startswith("http/1.1 413"), "early 413")
            ok("x-content-type-options: nosniff" in head and "script-src 'none'" in head,
               "early 413 headers: %s" % head)
        cases = [("/" + hid, 200), ("/" + hid, 200),   # the second from the cache
                 ("/" + hid + ".png", 200), ("/get/" + hid, 200), ("/get/zzzzzz", 404),
                 ("/nothing/here", 404), ("/zzzzzz", 404), ("/static/style.css", 200),
                 ("/static/nothing", 404), ("/random", 303), ("/" + hid + "/", 301),
                 ("/", 200), ("/about", 200), ("/healthz", 200), ("/metrics", 200)]
        for path, want in cases:
            for method in ("GET", "HEAD"):
                for enc in ({}, {"Accept-Encoding": "gzip"}):
                    st, h, _ = s.request(method, path, headers=enc)
                    eq(st, want, "%s %s" % (method, path))
                    assert_safe_headers(h, "%s %s %r (%d)" % (method, path, enc, st))
        st, h, _ = s.request("DELETE", "/" + hid)
        eq(st, 404)
        assert_safe_headers(h, "DELETE")


# --- limits -------------------------------------------------------------------------------

def grid_post(width, height):
    post = json.loads(read_vector("posts", "valid_01.json"))
    post["grid_data"] = {"lines_on": True, "width": width, "height": height,
                         "blocks": [[[1, 2, 3, 4]] * width for _ in range(height)]}
    return post


@test(backends=None)
def max_cells_is_a_clear_400():
    with Server(fresh_db("sqlite"), args=["--max-cells", "120"]) as s:
        eq(s.post(grid_post(12, 10))[0], 200, "width x height = --max-cells")
        eq(s.post(grid_post(1, 120))[0], 200, "1 x 120")
        for w, h in ((11, 11), (121, 1), (1, 121)):
            st, hd, d = s.post(grid_post(w, h))
            eq(st, 400, "%dx%d over --max-cells 120" % (w, h))
            eq(hd["content-type"], "application/json")
            err = json.loads(d)["error"]
            ok(err.startswith("grid_data") and "120" in err,
               "the error names the field and the limit: %r" % err)


def raw_exchange(port, data, timeout=10):
    """Sends data on a new connection (ignoring a reset while sending: the server
    may close before it has read everything) and returns what came back."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            c.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        while True:
            try:
                part = c.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            got += part
        return got
    finally:
        c.close()


def headers_of(n_bytes):
    lines = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 980) for i in range(n_bytes // 1000))
    return b"GET /about HTTP/1.1\r\nHost: x\r\n" + lines + b"Connection: close\r\n\r\n"


@test(backends=None)
def oversized_headers_are_a_clear_431():
    with Server(fresh_db("sqlite")) as s:
        resp = raw_exchange(s.port, headers_of(100 * 1000))
        ok(resp.startswith(b"HTTP/1.1 431 "), "100 KB of headers: %r" % resp[:80])
        resp = raw_exchange(s.port, headers_of(8 * 1000))
        ok(resp.startswith(b"HTTP/1.1 200 "), "8 KB of headers are fine: %r" % resp[:80])
        eq(s.get("/about")[0], 200, "served on")
    with Server(fresh_db("sqlite"), args=["--max-header-bytes", "200000"]) as s:
        resp = raw_exchange(s.port, headers_of(100 * 1000))
        ok(resp.startswith(b"HTTP/1.1 200 "), "--max-header-bytes raises the limit: %r"
           % resp[:80])
    with Server(fresh_db("sqlite"), args=["--max-header-bytes", "16384"]) as s:
        resp = raw_exchange(s.port, headers_of(20 * 1000))
        ok(resp.startswith(b"HTTP/1.1 431 "), "--max-header-bytes lowers it: %r" % resp[:80])
        st, _, _ = s.post(read_vector("posts", "valid_01.json"))
        eq(st, 200, "bodies are not headers")


@test(backends=None)
def total_connection_cap():
    with Server(fresh_db("sqlite"), args=["--max-connections", "4",
                                          "--max-connections-per-ip", "0"]) as s:
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(4)]
        try:
            # Each held connection is in: it gets answers.
            for c in held:
                c.sendall(b"GET /about HTTP/1.1\r\nHost: x\r\n\r\n")
                ok(c.recv(20).startswith(b"HTTP/1.1 200"), "a held connection is served")
            # A fifth gets a clear 503, not a wait in the listen backlog.
            got = raw_exchange(s.port, b"GET /about HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
            ok(got.startswith(b"HTTP/1.1 503 "), "beyond --max-connections 4: %r" % got[:80])
            ok(b"too many connections" in got, "the 503 says why: %r" % got)
        finally:
            for c in held:
                c.close()
        for _ in range(50):   # the server notices the closes on its own time
            time.sleep(0.1)
            try:
                if s.get("/about")[0] == 200:
                    break
            except (ConnectionResetError, BrokenPipeError, http_client_errors()):
                pass
        eq(s.get("/about")[0], 200, "served again once connections close")


def http_client_errors():
    import http.client
    return http.client.RemoteDisconnected


def readme_serve_flags():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Configuration of `serve`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(--[a-z-]+)", section, re.M))


@test(backends=None)
def readme_lists_every_serve_flag():
    r = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=10)
    eq(r.returncode, 0)
    flags = set(re.findall(r"^\s+(--[a-z-]+)", r.stdout, re.M)) - {"--help"}
    eq(readme_serve_flags(), flags, "README's table of serve flags vs serve --help")
    # And the defaults the README gives are the ones in force.
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    for flag in ("--max-body", "--max-cells", "--max-header-bytes", "--client-timeout"):
        m = re.search(r"^\| `%s [A-Z]+` \|[^|]*\| ([0-9]+)" % flag, text, re.M)
        ok(m, "README gives the default of " + flag)
        one_line = re.sub(r"\n {20,}", " ", r.stdout)   # continuation lines joined
        ok(re.search(r"%s .*default %s\)" % (flag, m.group(1)), one_line),
           "serve --help gives the same default for %s (%s)" % (flag, m.group(1)))
