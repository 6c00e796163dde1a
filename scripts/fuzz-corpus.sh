#!/bin/sh
# fuzz-corpus.sh -- builds the seed corpora of the fuzz targets (fuzz/) from
# the shared test vectors, one folder per target: $FUZZ_BUILD/corpus-NAME
# (default build/fuzz). Generated, never committed; tests/vectors is only
# read. Seeds are added to what a folder already holds (inputs libFuzzer found
# in earlier runs stay), and a seed's file name is its content's hash, so a
# rerun adds nothing twice.
#
#   post        vectors/posts/*.json
#   render      vectors/render/*.json, and the grid_data of every legacy row
#   hashid      the hash column of hashids.tsv (salts public and secret) and the
#               input column of hashids_decode.tsv
#   router      "METHOD PATH" lines: each route with hash IDs, trailing slashes
#   highlight   vectors/highlight/*.py
#   migrate_row the rows of vectors/legacy/legacy_small.db in the target's
#               format (flags byte, then the text columns separated by NUL)
#   http        whole requests as bytes on the wire: the real client's POST
#               (vectors/posts/client_request.txt with valid_01.json as its
#               body), posts of the other vectors, GETs of every route, and the
#               attack cases of the edge (docs/protocol.md §3): long methods,
#               backslashes, absolute URLs, CL + TE with a pipelined request,
#               two Content-Lengths, "Host : x", gzip TE, 450 query arguments,
#               a chunked post over --max-body, CR LF in the path, escape bytes
set -eu
cd "$(dirname "$0")/.."
out=${FUZZ_BUILD:-build/fuzz}
vectors=${IPBORG_VECTORS:-tests/vectors}
[ -d "$vectors" ] || { echo "fuzz-corpus.sh: no test vectors at $vectors" >&2; exit 1; }

OUT="$out" VECTORS="$vectors" python3 - <<'PY'
import glob, hashlib, os, sqlite3

out, vec = os.environ["OUT"], os.environ["VECTORS"]

def seed(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(out, "corpus-" + name)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)

def read(p):
    with open(p, "rb") as f:
        return f.read()

def tsv(p):
    with open(p, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            yield dict(zip(head, line.rstrip("\n").split("\t")))

for p in glob.glob(os.path.join(vec, "posts", "*.json")):
    seed("post", read(p))
for p in glob.glob(os.path.join(vec, "render", "*.json")):
    seed("render", read(p))
for p in glob.glob(os.path.join(vec, "highlight", "*.py")):
    seed("highlight", read(p))

hashes = []
for r in tsv(os.path.join(vec, "hashids.tsv")):
    if r["salt"] in ("public", "secret") and r["min_length"] == "6":
        hashes.append(r["hashid"])
        seed("hashid", r["hashid"])
for r in tsv(os.path.join(vec, "hashids_decode.tsv")):
    seed("hashid", r["input"])

routes = ["POST /post", "GET /", "GET /about", "GET /random", "GET /healthz",
          "GET /metrics", "GET /static/style.css", "GET /static/favicon.svg",
          "HEAD /", "PUT /post", "DELETE /bizkiL", "GET //evil.example/", "GET ///",
          "GET /a//b/", "GET", "GET /get/", "GET /secret/.png"]
for h in hashes[:20] + hashes[-5:]:
    for p in ("/get/%s", "/get/secret/%s", "/%s", "/secret/%s", "/%s.png",
              "/secret/%s.png", "/%s/", "/get/%s//"):
        routes.append("GET " + p % h)
    routes.append("HEAD /%s" % h)
    routes.append("POST /%s" % h)
for r in routes:
    seed("router", r)

db = os.path.join(vec, "legacy", "legacy_small.db")
con = sqlite3.connect("file:%s?mode=ro&immutable=1" % os.path.abspath(db), uri=True)
for ti, table in enumerate(("public_grids", "secret_grids")):
    for row in con.execute("SELECT ipb_version, python_version, grid_data, code_cells, "
                           "ipb_class, secret FROM %s ORDER BY id" % table):
        ipb, pyv, grid, cells, cls, secret = row
        flags = ti | ({None: 0, 0: 1, 1: 2}.get(secret, 3) << 1) | (8 if cells is None else 0)
        cols = [ipb or "", pyv or "", grid or "", cells or "", cls or ""]
        seed("migrate_row", bytes([flags]) + b"\0".join(c.encode("utf-8") for c in cols))
        seed("migrate_row", bytes([flags]) + b"\0".join(c.encode("utf-8") for c in cols) +
             b"\x002014-03-01T12:00:00Z")
        if grid:
            seed("render", grid)
con.close()

# --- http: whole requests ---
def http(data):
    seed("http", data)

client = read(os.path.join(vec, "posts", "client_request.txt"))
head = client.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
def client_post(body, host=b"www.ipythonblocks.org"):
    lines = [l for l in head if not l.lower().startswith(b"content-length")]
    lines = [b"Host: " + host if l.lower().startswith(b"host:") else l for l in lines]
    return (b"\r\n".join(lines + [b"Content-Length: %d" % len(body)]) + b"\r\n\r\n" + body)
posts = sorted(glob.glob(os.path.join(vec, "posts", "*.json")))
for p in posts:
    body = read(p)
    if len(body) < 60000 and ("valid_01" in p or "invalid_0" in p or "strict_0" in p or
                              "edge_0" in p):
        http(client_post(body))
valid = read(os.path.join(vec, "posts", "valid_01.json"))
H = b"Host: 127.0.0.1\r\n"
def get(path, extra=b"", method=b"GET"):
    return method + b" " + path + b" HTTP/1.1\r\n" + H + extra + b"\r\n"
paths = [b"/", b"/about", b"/random", b"/healthz", b"/metrics", b"/static/style.css",
         b"/static/favicon.svg", b"/static/nope", b"/nope", b"/post"]
for h in (b"bizkiL", b"oTAnTn", b"jcLacK"):
    paths += [b"/" + h, b"/get/" + h, b"/" + h + b".png", b"/" + h + b"/", b"/get/" + h + b"//"]
paths += [b"/secret/MiXoi4", b"/get/secret/MiXoi4", b"/secret/MiXoi4.png", b"/bizkiM"]
for p in paths:
    http(get(p))
    http(get(p, b"Accept-Encoding: gzip\r\n"))
http(get(b"/bizkiL", method=b"HEAD"))
http(get(b"/bizkiL", b'If-None-Match: "0000000000000000", *\r\n'))
http(get(b"/about", b"Connection: close\r\n"))
http(b"GET / HTTP/1.0\r\n\r\n")
http(get(b"/") + get(b"/bizkiL") + get(b"/get/bizkiL", method=b"HEAD") + get(b"/about/"))
http(client_post(valid) + get(b"/random"))
chunked = b"%x\r\n" % len(valid) + valid + b"\r\n0\r\n\r\n"
http(b"POST /post HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
# The attack cases.
http(b"G" * 1300 + b" / HTTP/1.1\r\n" + H + b"\r\n")
http(get(b"/\\evil.example/"))
http(get(b"/%5Cevil.example/"))
http(get(b"/%5cevil.example//"))
http(get(b"http://evil.example/"))
http(get(b"//evil.example/"))
http(get(b"/%2F/evil.example/"))
http(b"POST /post HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n" + get(b"/metrics"))
http(b"POST /post HTTP/1.1\r\n" + H + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x")
http(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
http(b"POST /post HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked)
http(get(b"/?" + b"&".join(b"a%d=%d" % (i, i) for i in range(450))))
big = b"[" + b"1," * 40000 + b"1]"
http(b"POST /post HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" +
     b"".join(b"%x\r\n" % len(big[i:i + 8192]) + big[i:i + 8192] + b"\r\n"
              for i in range(0, len(big), 8192)) + b"0\r\n\r\n")
http(b"POST /post HTTP/1.1\r\n" + H + b"Content-Length: 99999999\r\n\r\n{")
http(b"GET /a\r\nb/ HTTP/1.1\r\n" + H + b"\r\n")
http(b"GET /a%0d%0aSet-Cookie:x/ HTTP/1.1\r\n" + H + b"\r\n")
http(b"G\x1bT / HTTP/1.1\r\n" + H + b"\r\n")
http(b"\x1b[2J / HTTP/1.1\r\n" + H + b"\r\n")
http(b"GET /%00 HTTP/1.1\r\n" + H + b"\r\n")
http(b"GET / HTTP/1.1\r\n" + H + b"X: " + b"y" * 40000 + b"\r\n\r\n")
http(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + H + b"\r\n")
http(b"GET / HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\n\r\n")
PY
