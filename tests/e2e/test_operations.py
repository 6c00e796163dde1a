"""test_operations.py -- what operators and sharers need beyond the original API:
grid images and link previews, /healthz, /metrics, the request deadline and the
connection caps; the start-up line (where, which database, how many grids);
`make run PORT= DB=`; and no database password in any message of any
subcommand."""
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import zlib

import harness
from harness import (BIN, ROOT, TMP, Server, eq, fresh_db, ok, path_of, pg_url, read_vector,
                     test)


@test
def grid_png_and_link_preview(backend):
    with Server(fresh_db(backend)) as s:
        post = json.loads(read_vector("posts", "valid_02.json"))
        g = post["grid_data"]
        size = g["blocks"][0][0][3]
        ok(all(b[3] == size for row in g["blocks"] for b in row), "one block size")
        for secret in (False, True):
            post["secret"] = secret
            st, _, d = s.post(post)
            eq(st, 200)
            url = json.loads(d)["url"]
            st, h, png = s.get(path_of(url) + ".png")
            eq(st, 200, "png of " + url)
            eq(h["content-type"], "image/png")
            ok("etag" in h, "PNG is cached with an ETag")
            w, hgt, px = harness.png_decode(png)
            lines = 1 if g["lines_on"] else 0
            eq((w, hgt), (g["width"] * size + (g["width"] + 1) * lines,
                          g["height"] * size + (g["height"] + 1) * lines), "image size")
            for r in range(g["height"]):
                for c in range(g["width"]):
                    x = c * (size + lines) + lines + size // 2
                    y = r * (size + lines) + lines + size // 2
                    eq(px(x, y), tuple(g["blocks"][r][c][:3]), "block (%d,%d)" % (r, c))
            if lines:
                eq(px(0, 0), (255, 255, 255), "border")
                eq(px(size + 1, 1), (255, 255, 255), "line between blocks")
            page = s.get(path_of(url))[2].decode()
            ok('<meta property="og:image" content="%s.png">' % url in page, "og:image")
            ok('<meta property="og:image:width" content="%d">' % w in page, "og:image:width")
            ok('<meta name="twitter:card" content="summary_large_image">' in page, "twitter card")
            ok('href="%s.png"' % path_of(url) in page, "download link")
        eq(s.get("/bizkiLL.png")[0], 404, "non-canonical png")
        eq(s.get("/secret/bizkiL.png")[0], 404, "png of a public id under /secret/")


@test
def healthz_and_metrics(backend):
    with Server(fresh_db(backend)) as s:
        st, h, body = s.get("/healthz")
        eq((st, body), (200, b"ok\n"))
        eq(s.post(read_vector("posts", "valid_01.json"))[0], 200)
        s.get("/bizkiL")
        s.get("/bizkiL")
        s.get("/nope/nope")
        st, h, body = s.get("/metrics")
        eq(st, 200)
        ok(h["content-type"].startswith("text/plain"), "Prometheus text format")
        text = body.decode()
        for want in [r'ipborg_http_requests_total\{route="/post",status="200"\} 1',
                     r'ipborg_http_requests_total\{route="/\*",status="200"\} 2',
                     r'ipborg_http_requests_total\{route="other",status="404"\} 1',
                     r'ipborg_http_request_duration_seconds_count\{route="/\*"\} 2',
                     r'ipborg_cache_hits_total [1-9]',
                     r'ipborg_grids_posted_total\{table="public_grids"\} 1']:
            ok(re.search(want, text), "metrics show %s:\n%s" % (want, text))


@test(backends=None)
def slow_clients_are_cut_off():
    db = fresh_db("sqlite")
    with Server(db, args=["--client-timeout", "2", "--max-connections-per-ip", "0"]) as s:
        slow = []
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(b"GET / HTTP/1.1\r\n")
            slow.append(c)
        stop = threading.Event()

        def drip():
            # One header byte per second on every slow connection: never idle,
            # never a whole request.
            while not stop.is_set():
                for c in slow:
                    try:
                        c.sendall(b"X")
                    except OSError:
                        pass
                time.sleep(1)
        t = threading.Thread(target=drip)
        t.start()
        try:
            # Others are served meanwhile.
            for _ in range(5):
                eq(s.get("/about")[0], 200, "served beside 200 slow clients")
            time.sleep(4)
            closed = 0
            for c in slow:
                try:
                    c.settimeout(0.5)
                    if c.recv(1) == b"":
                        closed += 1
                except (ConnectionResetError, BrokenPipeError):
                    closed += 1
                except socket.timeout:
                    pass
            eq(closed, len(slow), "every slow client cut off after --client-timeout")
        finally:
            stop.set()
            t.join()
            for c in slow:
                c.close()


@test(backends=None)
def connection_caps():
    db = fresh_db("sqlite")
    with Server(db, args=["--max-connections-per-ip", "5"]) as s:
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(5)]
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            extra.sendall(b"GET /about HTTP/1.1\r\nHost: x\r\n\r\n")
            got = extra.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        eq(got, b"", "the sixth connection from one address is refused")
        extra.close()
        for c in held:
            c.close()
        time.sleep(0.3)
        eq(s.get("/about")[0], 200, "served again once connections close")


# --- the start-up line ------------------------------------------------------------

def post_grids(s, public, secret):
    body = json.loads(read_vector("posts", "valid_01.json"))
    for i in range(public + secret):
        body["secret"] = i >= public
        body["code_cells"] = ["# %d" % i]
        eq(s.post(body)[0], 200, "post")


@test(backends=None)
def startup_line_names_sqlite_file_and_grids():
    d = os.path.join(TMP, "startup dir")
    os.makedirs(d, exist_ok=True)
    # A relative path is shown as the whole path of the file it opened.
    with Server("sqlite:///rel.db", cwd=d) as s:
        eq(s.startup_line, "ipborg: serving http://127.0.0.1:%d/ (sqlite database %s: "
           "0 public grids, 0 secret grids)\n" % (s.port, os.path.join(d, "rel.db")),
           "start-up line of an empty database")
        post_grids(s, 2, 1)
    with Server("sqlite:///rel.db", cwd=d) as s:
        ok(s.startup_line.endswith(": 2 public grids, 1 secret grid)\n"), s.startup_line)


@test(backends=None)
def startup_line_names_postgres_without_password():
    u = urllib.parse.urlsplit(fresh_db("postgres"))
    # The test server trusts every password, so one can be given and must not show.
    netloc = "%s:Sekr1tPW@%s" % (u.username, u.hostname) + (":%d" % u.port if u.port else "")
    url = urllib.parse.urlunsplit((u.scheme, netloc, u.path, "application_name=x", ""))
    with Server(url) as s:
        post_grids(s, 1, 2)
    with Server(url) as s:
        line = s.startup_line
        ok("Sekr1tPW" not in line and u.username + "@" not in line, "no user or password: " + line)
        want = "(postgresql database %s:%d%s: 1 public grid, 2 secret grids)" % (
            u.hostname, u.port, u.path)
        ok(line.endswith(want + "\n"), "%r ends with %r" % (line, want))


# --- make run -----------------------------------------------------------------------

def make_env():
    e = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PORT", "DB",
              "DATABASE_URL", "HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "IPBORG_HOST"):
        e.pop(k, None)
    return e


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


@test(backends=None)
def make_run_takes_port_and_db():
    db = os.path.join(TMP, "make run.db")   # a space: DB= is one argument
    port = free_port()
    p = subprocess.Popen(["make", "--no-print-directory", "run", "PORT=%d" % port, "DB=" + db],
                         cwd=ROOT, env=make_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        lines, deadline = [], time.time() + 600   # make may build first
        while time.time() < deadline and p.poll() is None:
            line = p.stdout.readline().decode("utf-8", "replace")
            lines.append(line)
            if "ipborg: serving" in line:
                break
        text = "".join(lines)
        ok("ipborg: serving http://127.0.0.1:%d/ (sqlite database %s: 0 public grids, "
           "0 secret grids)" % (port, db) in text, "start-up line of make run: " + text)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/healthz")
        eq(c.getresponse().status, 200, "/healthz on PORT")
        c.close()
        os.killpg(p.pid, signal.SIGINT)   # Ctrl-C
        p.wait(30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()
    eq(harness.group_members(p.pid), [], "Ctrl-C stops make and the server")
    ok(os.path.exists(db), "the server used DB")


@test(backends=None)
def make_run_default_is_serves_default():
    # Without PORT= and DB=, make run adds no --port and no --db-url: it serves
    # what `ipborg serve` serves (PORT, DATABASE_URL, else 8000 and ipborg.db).
    r = subprocess.run(["make", "-n", "--no-print-directory", "run"], cwd=ROOT, env=make_env(),
                       capture_output=True, text=True, timeout=600)
    serve = [ln for ln in r.stdout.splitlines() if "ipborg serve" in ln]
    eq(len(serve), 1, "one serve command in %r" % r.stdout)
    ok("--port" not in serve[0] and "--db-url" not in serve[0], serve[0])
    r = subprocess.run(["make", "-n", "--no-print-directory", "run", "PORT=8015",
                        "DB=postgresql://u@h/db"], cwd=ROOT, env=make_env(),
                       capture_output=True, text=True, timeout=600)
    serve = [ln for ln in r.stdout.splitlines() if "ipborg serve" in ln]
    ok("--port='8015'" in serve[0] and "--db-url='postgresql://u@h/db'" in serve[0], serve[0])


# --- no password in any message -------------------------------------------------------

def closed_port():
    return free_port()   # bound and closed again: nothing listens there


def bad_urls():
    """(description, URL, its password) -- URLs that cannot be used."""
    u = urllib.parse.urlsplit(pg_url())
    return [
        ("mistyped scheme", "postgresq://u:Sekr1tPW@%s/db" % u.hostname, "Sekr1tPW"),
        ("bad %-escape", "postgresql://u:P%zzW@h/db", "P%zzW"),
        ("unreachable server", "postgresql://u:Sekr1tPW@127.0.0.1:%d/db" % closed_port(),
         "Sekr1tPW"),
        ("no such database", "postgresql://%s:Sekr1tPW@%s:%d/no_such_db"
         % (u.username, u.hostname, u.port), "Sekr1tPW"),
        ("password parameter", "postgresql://%s@%s:%d/no_such_db?password=Sekr1tPW"
         % (u.username, u.hostname, u.port), "Sekr1tPW"),
    ]


def run_cli(args, env=None, stdin=b""):
    e = dict(os.environ)
    for k in ("DATABASE_URL", "PORT"):
        e.pop(k, None)
    e.update({"HASHIDS_PUBLIC_SALT": "public", "HASHIDS_SECRET_SALT": "secret"})
    e.update(env or {})
    r = subprocess.run([BIN] + args, input=stdin, capture_output=True, timeout=120, env=e)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


@test(backends=None)
def no_password_in_any_message():
    src = fresh_db("sqlite")
    with Server(src) as s:
        post_grids(s, 1, 0)
    r = subprocess.run([BIN, "export", "--db-url", src], capture_output=True, timeout=60)
    eq(r.returncode, 0, "export of the source")
    backup = r.stdout
    for what, url, pw in bad_urls():
        runs = [
            ("serve", ["serve", "--port", "0", "--db-url", url], None, b""),
            ("serve DATABASE_URL", ["serve", "--port", "0"], {"DATABASE_URL": url}, b""),
            ("migrate --from", ["migrate", "--from", url, "--to", fresh_db("sqlite")], None, b""),
            ("migrate --to", ["migrate", "--from", src, "--to", url], None, b""),
            ("export", ["export", "--db-url", url], None, b""),
            ("import", ["import", "--db-url", url], None, backup),
            ("stats", ["stats", "--db-url=" + url], None, b""),
            ("stats DATABASE_URL", ["stats"], {"DATABASE_URL": url}, b""),
            ("delete", ["delete", "--yes", "--db-url", url, "bizkiL"], None, b""),
            ("delete by URL", ["delete", "--db-url", url, "http://h/bizkiL"], None, b"y\n"),
        ]
        for name, args, env, stdin in runs:
            rc, out = run_cli(args, env, stdin)
            ok(rc == 1, "%s with %s: exit status %d: %s" % (name, what, rc, out))
            ok(out.strip(), "%s with %s says why" % (name, what))
            ok(pw not in out, "%s with %s shows the password: %s" % (name, what, out))
    # Usage errors echo what was typed, never a password.
    for args in (["serve", "--db-ulr=postgresq://u:Sekr1tPW@h/db"],
                 ["serve", "--port", "postgresql://u:Sekr1tPW@h/db"],
                 ["serve", "postgresql://u:Sekr1tPW@h/db"],
                 ["delete", "--yes", "postgresql://u:Sekr1tPW@h/db"],
                 ["migrate", "--from", "postgresql://u:Sekr1tPW@h/db"],
                 ["frobnicate", "postgresql://u:Sekr1tPW@h/db"],
                 ["postgresql://u:Sekr1tPW@h/db"]):
        rc, out = run_cli(args)
        eq(rc, 2, "usage error for %r: %s" % (args, out))
        eq(len(out.strip().splitlines()), 1, "one line for %r: %r" % (args, out))
        ok("Sekr1tPW" not in out, "%r shows the password: %s" % (args, out))
