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
PY
