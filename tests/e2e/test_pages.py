"""test_pages.py -- the pages of issue 14 over HTTP, on both backends: the gallery
(newest first, 24 a page, keyset links to older pages, secret grids never, deleted
grids gone within a second of `ipborg delete`, a bounded walk over long runs of
deleted ids), the home page's latest grids, thumbnails (size and colours decoded
from the PNG with zlib), embeds (the only answers any site may frame), oEmbed
(fields, sizes under maxwidth/maxheight, errors), the grid page's address field and
its notebook lines that load from this very server, and the 404 page in blocks."""
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

from harness import BIN, Server, eq, fresh_db, ok, path_of, png_decode, psql, read_vector, test
from test_service import PUBLIC, SECRET


def grid_body(seed=0, secret=False, width=2, height=2, size=10, lines_on=False, colours=None):
    """A post whose blocks have known colours: colours[r][c], or a pattern of seed."""
    if colours is None:
        colours = [[((seed * 7 + r * 31 + c * 17) % 256, (seed * 3 + r) % 256, (c * 50) % 256)
                    for c in range(width)] for r in range(height)]
    return {"python_version": [3, 11, 7, "final", 0], "ipb_version": "1.9.0",
            "ipb_class": "BlockGrid", "code_cells": ["# grid %d" % seed], "secret": secret,
            "grid_data": {"lines_on": lines_on, "width": width, "height": height,
                          "blocks": [[list(colours[r][c]) + [size] for c in range(width)]
                                     for r in range(height)]}}


def post(s, **kw):
    st, _, d = s.post(grid_body(**kw))
    eq(st, 200, "post")
    return path_of(json.loads(d)["url"])


def gallery_links(html):
    """The grid pages a gallery (or home) page links to through thumbnails, in order."""
    return re.findall(r'<li><a href="/([^"/]+)"><img src="/thumb/\1\.png"', html)


def older_link(html):
    m = re.search(r'href="/gallery\?before=(\d+)"', html)
    return int(m.group(1)) if m else None


def get_text(s, path):
    st, h, body = s.get(path)
    return st, h, body.decode("utf-8")


def delete(db, hid, secret=False):
    """`ipborg delete --yes` with the salts the servers stored."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "DATABASE_URL")}
    args = [BIN, "delete", "--yes", "--db-url", db] + (["--secret"] if secret else []) + [hid]
    r = subprocess.run(args, capture_output=True, text=True, env=e, timeout=60)
    eq(r.returncode, 0, "ipborg delete %s: %s" % (hid, r.stderr))


def sql(db, statement):
    """Runs one statement on the test database behind the server's back."""
    if db.startswith("sqlite:///"):
        con = sqlite3.connect(db[len("sqlite:///"):], timeout=30)
        try:
            con.execute(statement)
            con.commit()
        finally:
            con.close()
    else:
        psql(db, statement)


# --- the gallery --------------------------------------------------------------------

@test
def gallery_newest_first_in_pages(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        for i in range(30):
            post(s, seed=i)
            if i % 6 == 0:
                post(s, seed=100 + i, secret=True)
        st, h, html = get_text(s, "/gallery")
        eq(st, 200)
        ok(h["content-type"].startswith("text/html"), "gallery is a page")
        eq(h.get("cache-control"), "no-cache", "the gallery is checked again each time")
        ok("etag" not in h, "the gallery is not kept in the response cache")
        eq(gallery_links(html), [PUBLIC[i] for i in range(30, 6, -1)], "first page: 30..7")
        eq(older_link(html), 7, "keyset link to the older grids")
        for i in range(1, 6):
            ok(SECRET[i] not in html, "secret grid %s absent" % SECRET[i])
        ok("/secret/" not in html, "no secret link at all")

        st, _, html = get_text(s, "/gallery?before=7")
        eq(st, 200)
        eq(gallery_links(html), [PUBLIC[i] for i in range(6, 0, -1)], "second page: 6..1")
        eq(older_link(html), None, "no older page after id 1")
        ok('href="/gallery"' in html, "a link back to the newest grids")

        # The home page shows the latest 8.
        st, h, html = get_text(s, "/")
        eq(st, 200)
        eq(gallery_links(html), [PUBLIC[i] for i in range(30, 22, -1)], "home: latest 8")
        ok('href="/gallery"' in html, "home links to the gallery")
        ok("etag" not in h, "home is built per request")

        # A new grid shows at once, at the top.
        post(s, seed=31)
        eq(gallery_links(get_text(s, "/gallery")[2])[0], PUBLIC[31], "new grid first")
        eq(gallery_links(get_text(s, "/")[2])[0], PUBLIC[31], "and on the home page")

        # before= beyond the newest is the first page; before=1 is empty, not an error.
        eq(gallery_links(get_text(s, "/gallery?before=999999")[2])[:2], [PUBLIC[31], PUBLIC[30]])
        st, _, html = get_text(s, "/gallery?before=1")
        eq((st, gallery_links(html)), (200, []), "before=1")
        ok("No older grids" in html, "says so")
        # Hostile values: a clear 400 page, never a 5xx.
        for bad in ("abc", "0", "-5", "", "1e3", "%00", "99999999999999999999", "7%20",
                    "1;DROP%20TABLE%20public_grids", "0x10"):
            st, h, html = get_text(s, "/gallery?before=" + bad)
            eq(st, 400, "before=%r" % bad)
            ok(h["content-type"].startswith("text/html") and "before=" in html,
               "400 page names before=")
        st, _, html = get_text(s, "/gallery?before")
        eq((st, gallery_links(html)[0]), (200, PUBLIC[31]), "before with no '=': the first page")
        eq(get_text(s, "/gallery?page=3&x=%ff")[0], 200, "other parameters are ignored")
        eq(s.get("/gallery/")[0], 301, "trailing slash redirected as elsewhere")


@test
def gallery_skips_long_runs_of_deleted_ids(backend):
    """120 grids, ids 5..115 deleted: every page answers after a bounded number of
    probes (the first is short and links on), and the pages together list each
    remaining grid once, newest first."""
    db = fresh_db(backend)
    with Server(db) as s:
        for i in range(120):
            post(s, seed=i)
        sql(db, "DELETE FROM public_grids WHERE id BETWEEN 5 AND 115")
        seen, before, pages = [], None, 0
        while True:
            pages += 1
            ok(pages < 10, "the pages end")
            st, _, html = get_text(s, "/gallery" + ("?before=%d" % before if before else ""))
            eq(st, 200)
            links = gallery_links(html)
            ok(len(links) <= 24, "at most 24 a page")
            seen += links
            nxt = older_link(html)
            if nxt is None:
                break
            ok(before is None or nxt < before, "older links go down")
            before = nxt
        eq(seen, [PUBLIC[i] for i in (120, 119, 118, 117, 116, 4, 3, 2, 1)], "every grid once")
        ok(pages >= 2, "the first page stopped early and linked on (%d pages)" % pages)
        st, _, html = get_text(s, "/")
        eq(gallery_links(html), [PUBLIC[i] for i in (120, 119, 118, 117, 116)],
           "home shows what its probes found")


@test
def deleted_grid_leaves_gallery_within_a_second(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        for i in range(3):
            post(s, seed=i)
        victim = PUBLIC[2]
        paths = ["/thumb/%s.png" % victim, "/embed/%s" % victim]
        for p in paths:
            for _ in range(2):
                st, h, _ = s.get(p)
                eq(st, 200, p)
                ok("etag" in h, "%s is cached" % p)
        ok(victim in gallery_links(get_text(s, "/gallery")[2]), "listed before")
        ok(victim in gallery_links(get_text(s, "/")[2]), "on the home page before")
        delete(db, victim)
        deadline = time.time() + 1.0
        while True:
            gone = (victim not in gallery_links(get_text(s, "/gallery")[2]) and
                    victim not in gallery_links(get_text(s, "/")[2]) and
                    all(s.get(p)[0] == 404 for p in paths))
            if gone:
                break
            if time.time() > deadline:
                raise AssertionError("still shown a second after the delete")
            time.sleep(0.02)
        eq(gallery_links(get_text(s, "/gallery")[2]), [PUBLIC[3], PUBLIC[1]],
           "the others stay, in order")
        st, _, body = s.get("/oembed?url=" + s.base + "/" + victim)
        eq(st, 404, "no oEmbed for a deleted grid")


# --- thumbnails ---------------------------------------------------------------------

@test
def thumbnails_size_and_colours(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        colours = [[(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)],
                   [(1, 2, 3), (200, 100, 50), (0, 0, 0), (255, 255, 0)]]
        # 4 x 2 blocks of 10 px with lines: a 45 x 23 image, drawn 160 x 81.
        page = post(s, width=4, height=2, size=10, lines_on=True, colours=colours)
        hid = page.strip("/")
        st, h, data = s.get("/thumb/%s.png" % hid)
        eq(st, 200)
        eq(h["content-type"], "image/png")
        ok("max-age" in h.get("cache-control", "") and "etag" in s.get("/thumb/%s.png" % hid)[1],
           "thumbnails are cached")
        w, hh, px = png_decode(data)
        eq((w, hh), (160, 81), "longer side 160, proportions kept")
        eq(px(0, 0), (255, 255, 255), "the white line around the edge")
        for r in range(2):
            for c in range(4):
                # lines at floor(c * 159 / 4) across and floor(r * 80 / 2) down
                x = (c * 159 // 4 + (c + 1) * 159 // 4) // 2 + 1
                y = (r * 80 // 2 + (r + 1) * 80 // 2) // 2 + 1
                eq(px(x, y), colours[r][c], "colour of block [%d, %d] at (%d, %d)" % (r, c, x, y))

        # A 100 x 100 grid: scaled down into 160 x 160.
        st, _, d = s.post(read_vector("posts", "valid_19.json"))
        big = json.loads(read_vector("posts", "valid_19.json"))
        url = json.loads(d)["url"]
        thumb = "/thumb/" + ("secret/" if "/secret/" in url else "") + url.rsplit("/", 1)[1] + ".png"
        st, _, data = s.get(thumb)
        eq(st, 200, thumb)
        w, hh, px = png_decode(data)
        ok(w <= 160 and hh <= 160 and max(w, hh) == 160, "at most 160 x 160: %dx%d" % (w, hh))
        blocks = big["grid_data"]["blocks"]
        eq(px(w // 200, hh // 200), tuple(blocks[0][0][:3]), "top-left block")
        eq(px(w - 1, hh - 1), tuple(blocks[-1][-1][:3]), "bottom-right block")

        # Secret grids have theirs under /thumb/secret/; the wrong table is a 404.
        spath = post(s, secret=True, colours=[[(7, 8, 9)]], width=1, height=1)
        shid = spath.rsplit("/", 1)[1]
        st, h, data = s.get("/thumb/secret/%s.png" % shid)
        eq(st, 200)
        ok(h.get("cache-control", "").startswith("private"), "private like the grid")
        w, hh, px = png_decode(data)
        eq((w, hh, px(80, 80)), (160, 160, (7, 8, 9)))
        for p in ("/thumb/%s.png" % shid, "/thumb/secret/%s.png" % hid, "/thumb/zzzzzz.png",
                  "/thumb/%s" % hid, "/thumb/%s.PNG" % hid, "/thumb/x/%s.png" % hid,
                  "/thumb/%s.png.png" % hid, "/thumb/.png"):
            eq(s.get(p)[0], 404, p)


# --- embeds and the frame policy ----------------------------------------------------

def refuses_frames(h, what):
    eq(h.get("x-frame-options"), "DENY", "X-Frame-Options of " + what)
    ok("frame-ancestors 'none'" in h.get("content-security-policy", ""),
       "CSP frame-ancestors 'none' on " + what)


@test
def embeds_alone_may_be_framed(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        hid = post(s).strip("/")
        shid = post(s, secret=True).rsplit("/", 1)[1]
        for path, page in (("/embed/" + hid, "/" + hid),
                           ("/embed/secret/" + shid, "/secret/" + shid)):
            st, h, html = get_text(s, path)
            eq(st, 200, path)
            ok(h["content-type"].startswith("text/html"), "embed is HTML")
            csp = h.get("content-security-policy", "")
            ok("frame-ancestors *" in csp and "'none'" not in csp.split("frame-ancestors")[1],
               "any site may frame %s: %r" % (path, csp))
            ok("script-src 'none'" in csp, "still no scripts in an embed")
            ok("x-frame-options" not in h, "no X-Frame-Options on " + path)
            ok('<img src="%s.png"' % page in html, "the grid's image")
            ok('href="%s" target="_blank"' % page in html, "a link back to its page")
            ok("<nav" not in html and "Random" not in html, "no navigation in an embed")
            # From the cache: the same headers.
            st, h2, _ = s.get(path)
            eq((h2.get("content-security-policy"), "x-frame-options" in h2, "etag" in h2),
               (csp, False, True), "cached embed keeps its frame policy")
        # Every other answer refuses frames, the embed's 404 included.
        for path in ("/", "/about", "/gallery", "/" + hid, "/secret/" + shid, "/get/" + hid,
                     "/%s.png" % hid, "/thumb/%s.png" % hid, "/static/style.css",
                     "/oembed?url=" + s.base + "/" + hid, "/oembed", "/embed/zzzzzz",
                     "/embed/secret/" + hid, "/embed/" + shid, "/no-such-page", "/random"):
            for _ in range(2):   # fresh and from the cache
                st, h, _ = s.get(path)
                refuses_frames(h, "%s (%d)" % (path, st))
        refuses_frames(s.request("POST", "/post", body=json.dumps(grid_body()))[1], "POST /post")
        refuses_frames(s.request("POST", "/post", body="{")[1], "a 400")
        eq(s.get("/embed/zzzzzz")[0], 404)
        eq(s.get("/embed/secret/" + hid)[0], 404, "a public hash under /embed/secret/")
        eq(s.get("/embed/" + hid + "/")[0], 301)


# --- oEmbed -------------------------------------------------------------------------

def oembed(s, query):
    st, h, body = s.get("/oembed?" + query)
    ok(h["content-type"].startswith("application/json"), "oEmbed answers JSON (%d)" % st)
    return st, json.loads(body)


@test
def oembed_answers(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        # 20 x 10 blocks of 10 px, lines on: a 221 x 111 image.
        page = post(s, width=20, height=10, size=10, lines_on=True)
        hid = page.strip("/")
        q = urllib.parse.urlencode({"url": s.base + page})
        st, o = oembed(s, q)
        eq(st, 200)
        eq((o["version"], o["type"], o["provider_name"]), ("1.0", "rich", "ipborg"))
        eq(o["title"], "Grid " + hid)
        eq((o["width"], o["height"]), (221, 111 + 32), "the image and a caption line")
        m = re.fullmatch(r'<iframe src="([^"]+)" width="(\d+)" height="(\d+)" title="Grid %s" '
                         r'style="border: 0" loading="lazy"></iframe>' % hid, o["html"])
        ok(m, "html is an iframe of the embed: %r" % o["html"])
        eq(m.group(1), s.base + "/embed/" + hid)
        eq((int(m.group(2)), int(m.group(3))), (o["width"], o["height"]))
        eq(o["thumbnail_url"], s.base + "/thumb/%s.png" % hid)
        st, _, data = s.get(path_of(o["thumbnail_url"]))
        w, h, _ = png_decode(data)
        eq((o["thumbnail_width"], o["thumbnail_height"]), (w, h), "thumbnail size as served")
        eq(s.get(path_of(m.group(1)))[0], 200, "the iframe's page exists")

        # The grid page announces it.
        st, _, html = get_text(s, page)
        m = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"',
                      html)
        ok(m, "oEmbed discovery link on the grid page")
        href = m.group(1).replace("&amp;", "&")
        ok(href.startswith(s.base + "/oembed?"), href)
        st, _, body = s.get(path_of(href) + "?" + urllib.parse.urlsplit(href).query)
        eq((st, json.loads(body)), (200, o), "the announced answer")

        # maxwidth / maxheight shrink it, keeping proportions; never larger than asked.
        for mw, mh in ((100, None), (None, 80), (64, 64), (1000, 1000), (150, 300)):
            args = {"url": s.base + page}
            if mw:
                args["maxwidth"] = mw
            if mh:
                args["maxheight"] = mh
            st, o2 = oembed(s, urllib.parse.urlencode(args))
            eq(st, 200, repr(args))
            ok((not mw or o2["width"] <= mw) and (not mh or o2["height"] <= mh),
               "%r gives %dx%d" % (args, o2["width"], o2["height"]))
            if o2["width"] > 200:   # narrower grids sit centred in a 200 px frame
                ok(abs(o2["width"] / (o2["height"] - 32) - 221 / 111) < 0.1, "proportions kept")
            ok('width="%d" height="%d"' % (o2["width"], o2["height"]) in o2["html"], "html agrees")
        eq(oembed(s, urllib.parse.urlencode({"url": s.base + page, "maxwidth": 100}))[1]["width"],
           100)

        # Other spellings of the same grid: the embed's URL, https, upper-case host,
        # a trailing slash, a fragment; format=json.
        for u in (s.base + "/embed/" + hid, s.base.replace("http:", "https:") + page,
                  "HTTP" + s.base[4:] + page,
                  s.base + page + "/", s.base + page + "#top"):
            st, o3 = oembed(s, urllib.parse.urlencode({"url": u, "format": "json"}))
            eq((st, o3.get("html")), (200, o["html"]), u)

        # A secret grid's answer frames its secret embed.
        spage = post(s, secret=True)
        st, o4 = oembed(s, urllib.parse.urlencode({"url": s.base + spage}))
        eq(st, 200)
        ok('src="%s/embed%s"' % (s.base, spage) in o4["html"], o4["html"])
        eq(o4["thumbnail_url"], s.base + "/thumb" + spage + ".png")
        eq(s.get(path_of(o4["thumbnail_url"]))[0], 200)

        # Errors, as JSON.
        cases = [
            ("", 400), ("url=", 400),
            ("url=" + urllib.parse.quote("http://evil.example" + page), 404),
            ("url=" + urllib.parse.quote("ftp://127.0.0.1:%d%s" % (s.port, page)), 404),
            ("url=" + urllib.parse.quote("javascript:alert(1)"), 404),
            ("url=" + urllib.parse.quote(page), 404),
            ("url=" + urllib.parse.quote(s.base + "/gallery"), 404),
            ("url=" + urllib.parse.quote(s.base + "/about"), 404),
            ("url=" + urllib.parse.quote(s.base + "/"), 404),
            ("url=" + urllib.parse.quote(s.base + "/zzzzzz"), 404),
            ("url=" + urllib.parse.quote(s.base + "/secret/" + hid), 404),
            ("url=" + urllib.parse.quote(s.base + "/" + PUBLIC[99]), 404),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxwidth=abc", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxwidth=0", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxwidth=-100", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxwidth=10", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxheight=1e3", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&maxwidth=99999999999", 400),
            ("url=" + urllib.parse.quote(s.base + page) + "&format=xml", 501),
        ]
        for query, want in cases:
            st, o5 = oembed(s, query)
            eq(st, want, query)
            ok(isinstance(o5.get("error"), str) and o5["error"], "an error message for " + query)

    # Behind --public-url, only that site's URLs are its own.
    with Server(fresh_db(backend), args=["--public-url", "https://grids.example.org/"]) as s:
        page = post(s)
        st, o = oembed(s, urllib.parse.urlencode({"url": "https://grids.example.org" + page}))
        eq(st, 200)
        ok(o["html"].startswith('<iframe src="https://grids.example.org/embed' + page), o["html"])
        st, _ = oembed(s, urllib.parse.urlencode({"url": s.base + page}))
        eq(st, 404, "the loopback address is not the public site")


# --- the grid page: its address and the notebook lines ------------------------------

CLIENT_STUB = '''
"""A stand-in for the ipythonblocks client: the module-level URL settings and
from_web as the real client has them (ipythonblocks/ipythonblocks.py)."""
import json
import urllib.request

_POST_URL = 'http://ipythonblocks.org/post'
_GET_URL_PUBLIC = 'http://ipythonblocks.org/get/{0}'
_GET_URL_SECRET = 'http://ipythonblocks.org/get/secret/{0}'


class BlockGrid(object):
    def __init__(self, spec):
        self.spec = spec

    @classmethod
    def from_web(cls, grid_id, secret=False):
        get_url = _GET_URL_PUBLIC if not secret else _GET_URL_SECRET
        with urllib.request.urlopen(get_url.format(grid_id), timeout=30) as r:
            return cls(json.load(r))


class ImageGrid(BlockGrid):
    @classmethod
    def from_web(cls, grid_id, secret=False, origin='lower-left'):
        return super(ImageGrid, cls).from_web(grid_id, secret)
'''


def snippet_of(html):
    m = re.search(r'<pre class="snippet"><code>(.*?)</code></pre>', html, re.S)
    ok(m, "the notebook lines are on the page")
    import html as h
    return h.unescape(m.group(1))


def run_snippet(code):
    """Runs the page's lines against the stand-in client; returns the grid_data loaded."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "ipythonblocks"))
        with open(os.path.join(d, "ipythonblocks", "__init__.py"), "w") as f:
            f.write("from .ipythonblocks import BlockGrid, ImageGrid\n")
        with open(os.path.join(d, "ipythonblocks", "ipythonblocks.py"), "w") as f:
            f.write(CLIENT_STUB)
        prog = code + "\nimport json, sys\njson.dump(grid.spec, sys.stdout)\n"
        r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                           cwd=d, env={"PYTHONPATH": d, "PATH": os.environ.get("PATH", "")},
                           timeout=60)
        eq(r.returncode, 0, "the page's lines run: %s" % r.stderr[-800:])
        return json.loads(r.stdout)


@test
def grid_page_address_and_notebook_lines(backend):
    db = fresh_db(backend)
    with Server(db) as s:
        body = grid_body(seed=5)
        st, _, d = s.post(body)
        url = json.loads(d)["url"]
        st, _, html = get_text(s, path_of(url))
        m = re.search(r'<code class="copy url" tabindex="0" aria-labelledby="url-label">([^<]+)'
                      r'</code>', html)
        ok(m, "the address field")
        eq(m.group(1), url, "the grid's full address, as /post answered it")
        ok("&lt;iframe src=&quot;%s/embed%s&quot;" % (s.base, path_of(url)) in html,
           "the embed snippet")
        code = snippet_of(html)
        ok(code.startswith("import ipythonblocks\n"
                           "ipythonblocks.ipythonblocks._POST_URL = '%s/post'\n" % s.base),
           "the client's settings come first on a self-hosted server: %r" % code)
        eq(run_snippet(code), body["grid_data"], "the lines load this grid from this server")

        sbody = grid_body(seed=6, secret=True)
        sbody["ipb_class"] = "ImageGrid"
        st, _, d = s.post(sbody)
        surl = json.loads(d)["url"]
        st, _, html = get_text(s, path_of(surl))
        code = snippet_of(html)
        ok("ImageGrid.from_web('%s', secret=True)" % surl.rsplit("/", 1)[1] in code, code)
        eq(run_snippet(code), sbody["grid_data"], "a secret ImageGrid loads too")

    # On the client's default site the lines are the short ones.
    with Server(fresh_db(backend), args=["--public-url", "http://ipythonblocks.org"]) as s:
        path = post(s)
        st, _, html = get_text(s, path)
        code = snippet_of(html)
        ok(code.startswith("from ipythonblocks import BlockGrid\n") and "_POST_URL" not in code,
           code)
        ok(">http://ipythonblocks.org%s</code>" % path in html, "address on the public site")


# --- the 404 page --------------------------------------------------------------------

@test(backends=None)
def not_found_page_in_blocks():
    with Server(fresh_db("sqlite")) as s:
        for path in ("/no-such-page", "/zzzzzz", "/secret/zzzzzz", "/gallery/x"):
            st, h, html = get_text(s, path)
            eq(st, 404, path)
            ok(h["content-type"].startswith("text/html"), "404 is a page")
            m = re.search(r'<table id="blocks-404" class="blockgrid"><tbody>(.*?)</tbody>', html)
            ok(m, "the 404 is drawn in the grid renderer's markup")
            cells = re.findall(r'background-color: rgb\((\d+), (\d+), (\d+)\)', m.group(1))
            eq(len(cells), 13 * 7, "13 x 7 blocks")
            lit = [i for i, c in enumerate(cells) if c != ("228", "231", "237")]
            # "404" in a 3 x 5 font, one block apart, a margin of one block.
            font = {"4": ["101", "101", "111", "001", "001"],
                    "0": ["111", "101", "101", "101", "111"]}
            want = [r * 13 + 1 + d * 4 + c for d, ch in enumerate("404") for r0, row in
                    enumerate(font[ch]) for c, bit in enumerate(row) if bit == "1"
                    for r in [r0 + 1]]
            eq(sorted(lit), sorted(want), "the blocks spell 404")
            ok('role="img" aria-label="404"' in html, "readable without the picture")
            ok("Random" in html and 'href="/gallery"' in html, "with the navigation")
            refuses_frames(h, "the 404 page")


# --- without the database --------------------------------------------------------------

@test(backends=None)
def pages_while_postgres_is_down():
    """PostgreSQL stops: the gallery is a 503 page and oEmbed a 503 JSON error, the
    home page is still served (without its latest grids, and not to be kept), thumbnails
    already made still come from the cache; once PostgreSQL is back they all serve
    again without a restart."""
    from test_faults import pg_script, timed_request
    pgdir = tempfile.mkdtemp(prefix="ipborg-pages-outage-")
    try:
        url = pg_script("start", pgdir)
        with Server(url, args=["--threads", "2", "--quiet"]) as s:
            hid = post(s).strip("/")
            other = post(s, seed=1).strip("/")
            eq(s.get("/thumb/%s.png" % hid)[0], 200, "thumbnail made before the outage")
            pg_script("stop-server", pgdir)
            try:
                st, h, body = timed_request(s, "GET", "/gallery")
                eq(st, 503, "gallery without the database")
                ok(h["content-type"].startswith("text/html") and b"</html>" in body, "a page")
                eq(h.get("cache-control"), "no-store")
                st, h, body = timed_request(s, "GET", "/")
                eq(st, 200, "the home page without the database")
                eq(h.get("cache-control"), "no-store", "not to be kept")
                eq(gallery_links(body.decode()), [], "no latest grids to show")
                st, h, body = timed_request(s, "GET", "/oembed?url=%s/%s" % (s.base, other))
                eq(st, 503, "oEmbed without the database")
                ok("error" in json.loads(body), "a JSON error")
                eq(timed_request(s, "GET", "/thumb/%s.png" % hid)[0], 200, "cached thumbnail")
                st = timed_request(s, "GET", "/thumb/%s.png" % other)[0]
                eq(st, 503, "a thumbnail not yet made")
            finally:
                pg_script("start-server", pgdir)
            deadline = time.time() + 30
            while True:   # each worker thread reconnects on its next request
                st, _, body = timed_request(s, "GET", "/gallery")
                if st == 200 and gallery_links(body.decode()) == [other, hid]:
                    break
                ok(time.time() < deadline, "the gallery serves again (last %d)" % st)
                time.sleep(0.1)
            eq(gallery_links(timed_request(s, "GET", "/")[2].decode())[:2], [other, hid])
    finally:
        try:
            pg_script("stop", pgdir)
        finally:
            import shutil
            shutil.rmtree(pgdir, ignore_errors=True)
