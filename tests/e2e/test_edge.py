"""test_edge.py -- the HTTP edge against a hostile client, over raw sockets.

What is checked here (issue "HTTP edge", points 1-3 and the log half of 4;
the contract is docs/protocol.md section 3, "The edge"):
- no part of a request is too long for the server: a long method, path, header
  name, header value, Host or query gets a status line, and the server serves on;
- request framing by RFC 9112 section 6: Content-Length with Transfer-Encoding,
  differing Content-Length values, whitespace before a header's colon are a 400,
  a Transfer-Encoding other than chunked a 501, each followed by a close (a
  request pipelined behind it is never answered); many query arguments are a
  431 at once, never a wait for the timeout; a chunked body over --max-body is a
  413 that the client reads;
- a 301 only ever points to a path of this site; paths with control characters,
  backslashes or encoded slashes are 404; an absolute-form target never
  redirects to its host;
- access-log lines escape every byte outside printable ASCII as \\xHH and are
  bounded in length.
After every malicious request the test checks that the server still answers a
normal GET.
"""
import json
import re
import socket

from harness import Server, eq, fresh_db, ok, read_vector, test

# The longest access-log line (server.h: HTTP_LOG_LINE_MAX), with its newline.
LOG_LINE_MAX = 64 + (4 * 32 + 4) + 1 + (4 * 1024 + 4) + 64


def exchange(port, data, timeout=30):
    """Sends data on a new connection and reads until the server closes it.
    Returns (bytes received, how it ended: 'close', 'reset' or 'timeout').
    A reset while sending is ignored (the server may answer and close before
    it has read everything)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got, end = b"", "close"
    try:
        try:
            c.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                part = c.recv(65536)
            except ConnectionResetError:
                end = "reset"
                break
            except socket.timeout:
                end = "timeout"
                break
            if not part:
                break
            got += part
    finally:
        c.close()
    return got, end


def statuses(data):
    """The status codes of every response in data, in order (a response may
    follow the body of the one before it directly)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def header(data, name):
    m = re.search(rb"\r\n" + name.encode() + rb": ([^\r\n]*)\r\n", data.split(b"\r\n\r\n")[0] +
                  b"\r\n", re.I)
    return m.group(1).decode("latin-1") if m else None


def serves_on(s, what):
    st, _, body = s.get("/about")
    eq(st, 200, "a normal GET after " + what)
    ok(b"<html" in body.lower(), "the page after " + what)


def request(target=b"/about", method=b"GET", headers=(), body=b"", close=True):
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: x"] + list(headers)
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- 1. no fixed-size buffer meets unbounded input ----------------------------------------

@test(backends=None)
def long_request_parts_get_a_status_line():
    with Server(fresh_db("sqlite")) as s:
        cases = [
            # (what, request, allowed statuses)
            ("a 1,300-byte method", request(method=b"G" * 1300), (400, 404, 405, 501)),
            ("a 20 KB method", request(method=b"M" * 20000), (400, 404, 414, 431, 501)),
            ("a 40 KB method", request(method=b"M" * 40000), (400, 414, 431)),
            ("a 1 KB method of escapes", request(method=b"\x1b[1m" * 256), (400, 404, 501)),
            ("a 10 KB path", request(target=b"/" + b"p" * 10000), (404,)),
            ("a 40 KB path", request(target=b"/" + b"p" * 40000), (414, 431)),
            ("a 20 KB path of escapes", request(target=b"/" + b"%1b" * 7000), (404, 414, 431)),
            ("a 20 KB header name", request(headers=[b"N" * 20000 + b": v"]), (200, 431)),
            ("a 20 KB header value", request(headers=[b"X-V: " + b"v" * 20000]), (200, 431)),
            ("a 40 KB header value", request(headers=[b"X-V: " + b"v" * 40000]), (431,)),
            ("a 20 KB Host", b"GET /about HTTP/1.1\r\nHost: " + b"h" * 20000 +
             b"\r\nConnection: close\r\n\r\n", (200, 400, 431)),
            ("a 20 KB query", request(target=b"/about?q=" + b"x" * 20000), (200,)),
            ("a 2 KB query of 450 arguments",
             request(target=b"/about?" + b"&".join([b"a=b"] * 450)), (414, 431)),
        ]
        for what, data, allowed in cases:
            got, _ = exchange(s.port, data)
            st = statuses(got)
            ok(st and st[0] in allowed, "%s: a status line in %r, got %r" % (what, allowed, got[:80]))
            serves_on(s, what)
        eq(s.proc.poll(), None, "the server is still running")


@test(backends=None)
def many_query_arguments_are_a_prompt_431():
    with Server(fresh_db("sqlite")) as s:
        # 128 parameters are fine with the default --max-header-bytes (32768 / 256).
        got, _ = exchange(s.port, request(target=b"/about?" + b"&".join([b"a=1"] * 128)))
        eq(statuses(got), [200], "128 query parameters")
        for n in (129, 450, 3000):
            got, end = exchange(s.port, request(target=b"/about?" + b"&".join([b"a=b"] * n),
                                                close=False))
            eq(statuses(got), [431], "%d query parameters" % n)
            eq(end, "close", "closed after the 431 (%d parameters)" % n)
            ok(b"query" in got, "the 431 says why: %r" % got[-80:])
            serves_on(s, "%d query parameters" % n)
        # A few arguments in a URL that fills the connection's memory: libmicrohttpd
        # would run out storing them and hang; ipborg never lets it store them.
        got, _ = exchange(s.port, request(target=b"/" + b"a" * 32000 + b"?a=b&a=b&a=b&a=b"))
        eq(statuses(got), [404], "four arguments after a 32,000-byte path")
        serves_on(s, "a long path with arguments")
    with Server(fresh_db("sqlite"), args=["--max-header-bytes", "8192"]) as s:
        got, _ = exchange(s.port, request(target=b"/about?" + b"&".join([b"a"] * 32)))
        eq(statuses(got), [200], "32 parameters with --max-header-bytes 8192")
        got, _ = exchange(s.port, request(target=b"/about?" + b"&".join([b"a"] * 33)))
        eq(statuses(got), [431], "33 parameters with --max-header-bytes 8192")
        got, _ = exchange(s.port, request(target=b"/" + b"a" * 7600 + b"?a&b&c&d&e&f"))
        ok(statuses(got)[:1] in ([404], [414]), "a path near 8192 bytes with arguments: %r"
           % got[:60])
        serves_on(s, "arguments with --max-header-bytes 8192")


# --- 2. request framing (RFC 9112 section 6) ----------------------------------------------

PIPELINED = b"GET /about HTTP/1.1\r\nHost: x\r\n\r\n"


@test(backends=None)
def ambiguous_framing_is_refused_and_closed():
    body = b'{"a": 1}'
    cases = [
        ("Content-Length with Transfer-Encoding: chunked",
         b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + PIPELINED, 400),
        ("Transfer-Encoding: chunked before Content-Length",
         b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"Content-Length: 3\r\n\r\n0\r\n\r\n" + PIPELINED, 400),
        ("two different Content-Length values",
         b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nContent-Length: 3\r\n\r\n" +
         body + PIPELINED, 400),
        ("whitespace before a header's colon (Host : x)",
         b"GET /about HTTP/1.1\r\nHost : x\r\n\r\n" + PIPELINED, 400),
        ("a tab before a header's colon",
         b"GET /about HTTP/1.1\r\nHost: x\r\nX-A\t: b\r\n\r\n" + PIPELINED, 400),
        ("whitespace before a header's colon on a POST",
         b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length : 8\r\n\r\n" + body + PIPELINED,
         400),
        ("Transfer-Encoding: gzip, chunked",
         b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
         b"0\r\n\r\n" + PIPELINED, 501),
        ("Transfer-Encoding: identity",
         b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n" + body, 501),
        ("Transfer-Encoding: gzip on a GET",
         b"GET /about HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxyz", 501),
        ("Transfer-Encoding given twice",
         b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + PIPELINED, 501),
        ("Transfer-Encoding in HTTP/1.0",
         b"POST /post HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ]
    with Server(fresh_db("sqlite")) as s:
        for what, data, status in cases:
            got, end = exchange(s.port, data)
            eq(statuses(got), [status], what + ": one answer, nothing for a pipelined request")
            eq(end, "close", what + ": the connection is closed after the answer")
            eq((header(got, "Connection") or "").lower(), "close", what + ": says Connection: close")
            ok(json.loads(got.split(b"\r\n\r\n", 1)[1]).get("error"), what + ": a JSON error")
            serves_on(s, what)
        _, _, metrics = s.get("/metrics")
        for status, n in ((400, 7), (501, 4)):
            m = re.search(rb'ipborg_http_requests_total\{route="other",status="%d"\} (\d+)' % status,
                          metrics)
            ok(m and int(m.group(1)) == n, "%d answers %d counted: %r" % (n, status, m and m.group(0)))
        # Nothing of a refused POST was stored.
        st, _, _ = s.get("/random")
        eq(st, 404, "no grid was stored by a refused request")
        # What is fine stays fine: chunked in any case, one Content-Length given twice.
        post = read_vector("posts", "valid_01.json")
        for te in (b"chunked", b"Chunked"):
            got, _ = exchange(s.port, b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                              b"\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(post), post))
            eq(statuses(got), [200], "Transfer-Encoding: %s" % te.decode())
        got, _ = exchange(s.port, b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                          b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                          % (len(post), len(post), post))
        eq(statuses(got), [200], "the same Content-Length twice")


@test(backends=None)
def chunked_body_over_max_body_is_a_413_the_client_reads():
    with Server(fresh_db("sqlite"), args=["--max-body", "100000"]) as s:
        chunk = b"x" * 16384
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
        data = (b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
                PIPELINED)
        for i in range(3):
            got, end = exchange(s.port, data)
            eq(statuses(got), [413], "a 640 KB chunked body over --max-body 100000 (try %d)" % i)
            eq(end, "close", "closed after the 413, without a reset")
            ok(b"100000" in got, "the 413 names the limit: %r" % got[-80:])
            serves_on(s, "a chunked body over --max-body")
        # Under the limit, chunked still works.
        post = read_vector("posts", "valid_01.json")
        got, _ = exchange(s.port, b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                          b"\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(post), post))
        eq(statuses(got), [200], "a chunked post under --max-body")
        _, _, metrics = s.get("/metrics")
        m = re.search(rb'ipborg_http_requests_total\{route="other",status="413"\} (\d+)', metrics)
        ok(m and int(m.group(1)) == 3, "three 413s counted: %r" % (m and m.group(0)))


# --- 3. redirects stay on this site -------------------------------------------------------

@test(backends=None)
def redirects_stay_on_this_site():
    with Server(fresh_db("sqlite")) as s:
        for target in (b"/\\evil.example/", b"/%5Cevil.example/", b"/%5cevil.example/",
                       b"/%09/evil.example/", b"/%0d%0a/", b"/%0D%0ALocation:%20x/",
                       b"//evil.example/", b"/%2F/evil.example/", b"/%2fevil.example/",
                       b"/a%2Fb/", b"/%7F/", b"/\x7f/", b"/%00/"):
            got, _ = exchange(s.port, request(target=target))
            eq(statuses(got), [404], "GET %r" % target)
            eq(header(got, "Location"), None, "no Location for %r" % target)
            serves_on(s, repr(target))
        # Absolute form: served as its path, never a redirect to its host.
        for target, status, location in ((b"http://evil.example/", 200, None),
                                         (b"http://evil.example/about", 200, None),
                                         (b"HTTP://evil.example/about/", 301, "/about"),
                                         (b"http://evil.example//evil2/", 404, None),
                                         (b"http://evil.example", 200, None),
                                         (b"https://evil.example/%5Cx/", 404, None)):
            got, _ = exchange(s.port, request(target=target))
            eq(statuses(got), [status], "GET %r" % target)
            eq(header(got, "Location"), location, "Location for %r" % target)
        # Our own trailing-slash redirects still work, and point to a path.
        for target, location in ((b"/about/", "/about"), (b"/about///", "/about"),
                                 (b"///", "/"), (b"/secret/abc/", "/secret/abc")):
            got, _ = exchange(s.port, request(target=target))
            eq(statuses(got), [301], "GET %r" % target)
            eq(header(got, "Location"), location, "Location for %r" % target)
        # Encoded slashes never reach the answer for the path they decode to.
        st, _, d = s.post(read_vector("posts", "valid_01.json"))
        eq(st, 200)
        hid = json.loads(d)["url"].rsplit("/", 1)[1]
        eq(s.get("/get/" + hid)[0], 200, "the grid")
        got, _ = exchange(s.port, request(target=b"/get%2F" + hid.encode()))
        eq(statuses(got), [404], "/get%2F" + hid)
        serves_on(s, "redirect probes")


# --- 4. the access log --------------------------------------------------------------------

@test(backends=None)
def access_log_escapes_and_is_bounded():
    s = Server(fresh_db("sqlite"))
    try:
        for data in (request(method=b"G\x1b[31mET"), request(method=b"\x1b]0;pwned\x07GET"),
                     request(method=b"M" * 1300), request(target=b"/%1b[2J%0d%0aforged%20200%200%200"),
                     request(target=b"/" + b"%ff" * 3000), request(target=b"/\xc3\xa9t\xc3\xa9"),
                     request(target=b"/" + b"q" * 20000)):
            got, _ = exchange(s.port, data)
            ok(statuses(got), "a status line for %r" % data[:40])
        serves_on(s, "log probes")
    finally:
        eq(s.stop(), 0, "clean exit")
    with open(s.log_path, "rb") as f:
        log = f.read()
    lines = log.split(b"\n")
    eq(lines[-1], b"", "the log ends with a newline")
    for line in lines[:-1]:
        ok(all(0x20 <= b < 0x7f for b in line), "only printable ASCII in %r" % line[:120])
        ok(len(line) + 1 <= LOG_LINE_MAX, "a line of %d bytes" % len(line))
    text = log.decode("ascii")
    ok(re.search(r"^\S+ G\\x1b\[31mET /about 404 \d+ \d+$", text, re.M),
       "ESC in the method is \\x1b: " + text[-2000:])
    ok(re.search(r"^\S+ \\x1b\]0;pwned\\x07GET /about ", text, re.M), "OSC and BEL escaped")
    ok(re.search(r"^\S+ M{32}\\\.\.\. /about 404 \d+ \d+$", text, re.M),
       "a 1,300-byte method is cut at 32 bytes")
    ok(re.search(r"^\S+ GET /\\x1b\[2J\\x0d\\x0aforged\\x20200\\x200\\x200 404 ", text, re.M),
       "CR LF and spaces of a path are escaped: a path cannot forge a line")
    ok(re.search(r"^\S+ GET /(\\xff){1023}\\\.\.\. 404 ", text, re.M),
       "a path of 3,000 bytes outside ASCII is cut at 1,024")
    ok(re.search(r"^\S+ GET /\\xc3\\xa9t\\xc3\\xa9 404 ", text, re.M), "UTF-8 escaped byte-wise")
    ok(re.search(r"^\S+ GET /q{1023}\\\.\.\. 404 ", text, re.M), "a 20 KB path is cut")


# --- the connection's memory: room for the answer ------------------------------------------

@test(backends=None)
def requests_near_the_memory_limit_get_a_status_line():
    """A request that nearly fills libmicrohttpd's per-connection memory used to
    leave no room for the answer's headers: the connection was closed without a
    word (a request line, a header or a redirect of ~32,300 bytes by default).
    Now every request up to --max-header-bytes + 3.5 KB gets a status line:
    one that fits is answered, a larger one is a 414 or 431."""
    for limit in (32768, 8192):
        with Server(fresh_db("sqlite"), args=["--max-header-bytes", str(limit)]) as s:
            for n in range(limit - 1200, limit + 3500, 40):
                for what, data in (
                        ("a path of %d bytes" % n, request(target=b"/" + b"a" * n)),
                        ("a header of %d bytes" % n, request(headers=[b"X-A: " + b"v" * n])),
                        ("a redirect of %d bytes" % n, request(target=b"/" + b"a" * n + b"/"))):
                    got, _ = exchange(s.port, data)
                    st = statuses(got)
                    ok(st and st[0] in (200, 301, 404, 414, 431),
                       "%s (--max-header-bytes %d): a status line, got %r" % (what, limit, got[:60]))
                    ok(st[0] != 301 or len(header(got, "Location") or "") <= 2048,
                       "%s: no Location beyond 2048 bytes" % what)
            serves_on(s, "requests near the memory limit")


@test(backends=None)
def requests_without_a_host_are_served():
    """HTTP/1.0 needs no Host header: the answer is built (and cached) without
    one. (The cache key once copied from a NULL Host: undefined behaviour that
    the sanitized pass of `make test` reports.)"""
    with Server(fresh_db("sqlite")) as s:
        for target in (b"/about", b"/about", b"/", b"http://h/about"):
            got, end = exchange(s.port, b"GET " + target + b" HTTP/1.0\r\n\r\n")
            eq(statuses(got), [200], "GET %r over HTTP/1.0 without Host" % target)
            eq(end, "close", "HTTP/1.0: closed after the answer")
        serves_on(s, "requests without a Host")
