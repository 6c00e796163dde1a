"""test_operations.py -- what operators and sharers need beyond the original API:
grid images and link previews, /healthz, /metrics, the request deadline and the
connection caps."""
import json
import re
import socket
import struct
import threading
import time
import zlib

from harness import Server, eq, fresh_db, ok, path_of, read_vector, test


def png_size_and_pixels(data):
    """Width, height and rows of RGB pixels of an 8-bit RGB PNG (the kind ipborg
    writes), decoded with zlib and the PNG filters; no imaging library needed."""
    eq(data[:8], b"\x89PNG\r\n\x1a\n", "PNG signature")
    pos, idat, w, h = 8, b"", None, None
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            eq((depth, ctype), (8, 2), "8-bit RGB")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * 3
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows


def pixel(rows, x, y):
    return tuple(rows[y][3 * x:3 * x + 3])


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
            w, hgt, rows = png_size_and_pixels(png)
            lines = 1 if g["lines_on"] else 0
            eq((w, hgt), (g["width"] * size + (g["width"] + 1) * lines,
                          g["height"] * size + (g["height"] + 1) * lines), "image size")
            for r in range(g["height"]):
                for c in range(g["width"]):
                    x = c * (size + lines) + lines + size // 2
                    y = r * (size + lines) + lines + size // 2
                    eq(pixel(rows, x, y), tuple(g["blocks"][r][c][:3]), "block (%d,%d)" % (r, c))
            if lines:
                eq(pixel(rows, 0, 0), (255, 255, 255), "border")
                eq(pixel(rows, size + 1, 1), (255, 255, 255), "line between blocks")
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
