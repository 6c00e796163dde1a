#!/usr/bin/env python3
"""bench/http_helper.py -- small HTTP chores for bench/http.sh (loopback only).

  http_helper.py body OUT              writes a 20x20 grid post (the client's JSON) to OUT
  http_helper.py post URL BODY         posts BODY to URL/post; prints the hash of the grid
  http_helper.py fetch URL OUT         GETs URL, writes the body to OUT; prints Content-Type
  http_helper.py check-acks URL FILE.. every {"url": ...} line of the FILEs is fetched
                                       from URL/get/...; prints "N acknowledged, M missing"
                                       and exits 1 if any is missing
  http_helper.py pgbench-sql BODY OUT  the INSERT of BODY's grid as a pgbench script
"""
import http.client
import json
import random
import sys
import urllib.parse


def conn_for(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30), u.path.rstrip("/")


def body(out):
    rnd = random.Random(20)
    blocks = [[[rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), 20]
               for _ in range(20)] for _ in range(20)]
    post = {"python_version": [3, 11, 7, "final", 0], "ipb_version": "1.9.0",
            "ipb_class": "BlockGrid",
            "code_cells": ["from ipythonblocks import BlockGrid\ngrid = BlockGrid(20, 20)",
                           "for block in grid:\n    block.red = block.col * 12"],
            "secret": False,
            "grid_data": {"lines_on": True, "width": 20, "height": 20, "blocks": blocks}}
    with open(out, "w") as f:
        json.dump(post, f)


def post(url, path):
    c, base = conn_for(url)
    data = open(path, "rb").read()
    c.request("POST", base + "/post", data, {"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read()
    if r.status != 200:
        sys.exit("post: HTTP %d %s" % (r.status, text[:200]))
    print(json.loads(text)["url"].rsplit("/", 1)[1])


def fetch(url, out):
    c, base = conn_for(url)
    u = urllib.parse.urlsplit(url)
    c.request("GET", u.path)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit("fetch %s: HTTP %d" % (url, r.status))
    open(out, "wb").write(data)
    print(r.getheader("Content-Type"))


def check_acks(url, files):
    c, base = conn_for(url)
    acked = missing = 0
    for name in files:
        for line in open(name):
            line = line.strip()
            if not line:
                continue
            acked += 1
            u = urllib.parse.urlsplit(json.loads(line)["url"])
            parts = u.path.strip("/").split("/")
            path = base + "/get/" + "/".join(parts)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                missing += 1
                if missing <= 5:
                    print("missing after kill -9: %s (HTTP %d)" % (path, r.status),
                          file=sys.stderr)
    print("%d acknowledged, %d missing" % (acked, missing))
    sys.exit(1 if missing else 0)


def pgbench_sql(path, out):
    p = json.load(open(path))

    def lit(v):
        return "'" + json.dumps(v).replace("'", "''") + "'"
    sql = ("INSERT INTO public_grids (ipb_version, python_version, grid_data, code_cells,"
           " ipb_class, secret) VALUES ('%s', %s::jsonb, %s::jsonb, %s::jsonb, '%s', false);\n"
           % (p["ipb_version"], lit(p["python_version"]), lit(p["grid_data"]),
              lit(p["code_cells"]), p["ipb_class"]))
    open(out, "w").write(sql)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"body": body, "post": post, "fetch": fetch, "pgbench-sql": pgbench_sql,
     "check-acks": lambda *a: check_acks(a[0], a[1:])}[cmd](*args)
