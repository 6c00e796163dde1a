"""test_browser.py -- ipborg's pages in a real browser (make test-browser).

Starts build/ipborg on a fresh SQLite file, posts known grids from the test vectors (tests/vectors),
and drives headless Chromium through chromedriver's WebDriver HTTP API with nothing but
Python's standard library. For the home page, two grid pages, a wide grid,
a secret grid, the about page and a 404, in a desktop window (1280 px) and a phone's
(375 px, mobile emulation):

- the browser console holds no errors and no Content-Security-Policy reports (the
  404 page may report its own 404 status, nothing else);
- the stylesheet and the favicon loaded and no script is on the page;
- the page never scrolls sideways (a wide grid scrolls inside its frame);
- every grid cell's computed background colour is the posted colour, and the pixels of
  a full-page screenshot at cell centres are those colours too (sRGB forced);
- the gallery and the home page: every thumbnail loaded, linked to its grid, no secret
  grid among them;
- an embed framed by a page of another origin (a second loopback port) shows its grid,
  while a grid page framed next to it is refused (X-Frame-Options / CSP);
- one click on a grid page's address field selects the whole address;
- the 404 page draws "404" in blocks of the right colours.

Screenshots go to build/browser/NAME-WIDTH.png for a person to look at. Not part of
`make test`: it needs Chromium. Ends with `browser: N passed, N failed`.
"""
import base64
import http.server
import json
import os
import socket
import threading
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness  # noqa: E402
from harness import Server, eq, fresh_db, ok, path_of, png_decode, read_vector  # noqa: E402

CHROMIUM = os.environ.get("IPBORG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("IPBORG_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.path.join(harness.ROOT, "build", "browser")
WIDTHS = (1280, 375)


# --- WebDriver over HTTP --------------------------------------------------------

class Browser:
    """One chromedriver process and one headless Chromium session."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="ipborg-chromium-")
        self.log = open(os.path.join(self.profile, "chromedriver.log"), "wb")
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=0"], stdout=subprocess.PIPE,
                                       stderr=self.log)
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = self.driver.stdout.readline().decode("utf-8", "replace")
            if not line:
                break
            if "started successfully on port" in line:
                port = int(line.rsplit(" ", 1)[1].strip(". \n"))
        if port is None:
            self.close()
            raise AssertionError("chromedriver did not start")
        self.base = "http://127.0.0.1:%d" % port
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + os.path.join(self.profile, "data"),
                "--force-color-profile=srgb", "--window-size=1280,900"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}}}}
        try:
            self.session = "/session/" + self.call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.close()
            raise

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("WebDriver %s %s: %s" % (method, path, e.read()[:500])) from None

    def s(self, method, path, body=None):
        return self.call(method, self.session + path, body)

    def cdp(self, cmd, params=None):
        return self.s("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params or {}})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def viewport(self, width):
        """Desktop width, or a phone (375 px: mobile emulation, so the page's
        viewport meta tag applies as on a real phone)."""
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 900 if width > 600 else 812,
                  "deviceScaleFactor": 1, "mobile": width <= 600})

    def open(self, url):
        self.console()  # drop what earlier pages logged
        self.s("POST", "/url", {"url": url})

    def find(self, css):
        """The WebDriver reference of the first element matching css."""
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        return list(el.values())[0]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def frame(self, css):
        """Switches into the iframe matching css (frame_parent() comes back)."""
        self.s("POST", "/frame", {"id": {"element-6066-11e4-a52e-4f735466cecf": self.find(css)}})

    def frame_parent(self):
        self.s("POST", "/frame/parent", {})

    def console(self):
        return self.s("POST", "/se/log", {"type": "browser"})

    def screenshot(self, path):
        """The whole page (not just the viewport) as PNG bytes, also saved to path."""
        png = base64.b64decode(self.cdp("Page.captureScreenshot",
                                        {"format": "png", "captureBeyondViewport": True})["data"])
        with open(path, "wb") as f:
            f.write(png)
        return png

    def close(self):
        if getattr(self, "session", None):
            try:
                self.call("DELETE", self.session)
            except Exception:  # noqa: BLE001 -- closing anyway
                pass
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(20)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# --- checks ---------------------------------------------------------------------

PAGE_FACTS = """
const de = document.documentElement, frame = document.querySelector('.grid-frame');
const brand = document.querySelector('.brand img');
return {
  width: innerWidth, scrollWidth: de.scrollWidth,
  scripts: document.scripts.length,
  sheets: Array.from(document.styleSheets).map(s => s.href || 'inline'),
  bodyBackground: getComputedStyle(document.body).backgroundColor,
  favicon: brand ? brand.complete && brand.naturalWidth > 0 : null,
  frame: frame ? {scrollWidth: frame.scrollWidth, clientWidth: frame.clientWidth} : null,
  status: (document.querySelector('.problem .status') || {}).textContent || null,
};
"""

# Whether the grid table is visible, the rectangle of its frame (which clips it), and
# rows of [css colour, centre x, centre y, width, height] of its cells, all in document
# coordinates; null if the table is missing.
CELLS = """
const t = document.getElementById(arguments[0]);
if (!t) return null;
const r = t.getBoundingClientRect();
const f = (t.closest('.grid-frame') || t).getBoundingClientRect();
return {visible: r.width > 0 && r.height > 0 && getComputedStyle(t).visibility === 'visible',
        clip: [f.left + scrollX, f.top + scrollY, f.right + scrollX, f.bottom + scrollY],
        rows: Array.from(t.rows).map(tr => Array.from(tr.cells).map(td => {
          const c = td.getBoundingClientRect();
          return [getComputedStyle(td).backgroundColor, c.left + scrollX + c.width / 2,
                  c.top + scrollY + c.height / 2, c.width, c.height];
        }))};
"""


def console_problems(browser, allowed=()):
    """Console entries at warning level or above and every CSP report, minus those
    whose message starts with one of `allowed` (e.g. the 404 page's own URL)."""
    bad = []
    for e in browser.console():
        serious = e.get("level") in ("SEVERE", "WARNING") or e.get("source") == "security"
        if serious and not any(e.get("message", "").startswith(a) for a in allowed):
            bad.append(e)
    return bad


def check_page(browser, url, name, width, allowed=()):
    browser.viewport(width)
    browser.open(url)
    facts = browser.js(PAGE_FACTS)
    eq(facts["width"], width, "viewport width of %s" % name)
    eq(console_problems(browser, allowed), [], "console errors on %s at %d px" % (name, width))
    eq(facts["scripts"], 0, "scripts on %s" % name)
    ok(any(h.endswith("/static/style.css") for h in facts["sheets"]),
       "the stylesheet is loaded on %s: %r" % (name, facts["sheets"]))
    # --wash from style.css: proves the stylesheet applied, not only that it was named.
    eq(facts["bodyBackground"], "rgb(245, 246, 249)", "body background of %s" % name)
    ok(facts["favicon"], "the favicon image in the header of %s loaded" % name)
    ok(facts["scrollWidth"] <= facts["width"],
       "%s at %d px scrolls sideways: the page is %d px wide"
       % (name, width, facts["scrollWidth"]))
    png = browser.screenshot(os.path.join(SHOTS, "%s-%d.png" % (name, width)))
    return facts, png


def check_grid(browser, png, hid, post, name, width):
    """The grid table is there, visible, and every cell shows the posted colour in
    the DOM; the screenshot shows it at each cell's centre."""
    grid = post["grid_data"]
    cells = browser.js(CELLS, "blocks" + hid)
    ok(cells is not None, "%s: no table #blocks%s" % (name, hid))
    ok(cells["visible"], "%s: the grid table is not visible" % name)
    eq(len(cells["rows"]), grid["height"], "%s: rows" % name)
    w, h, pixel = png_decode(png)
    left, top, right, bottom = cells["clip"]
    checked = 0
    for y, row in enumerate(cells["rows"]):
        eq(len(row), grid["width"], "%s: cells in row %d" % (name, y))
        for x, (css, cx, cy, cw, ch) in enumerate(row):
            r, g, b, size = grid["blocks"][y][x]
            eq(css, "rgb(%d, %d, %d)" % (r, g, b), "%s: colour of cell [%d, %d]" % (name, y, x))
            # Blocks keep the notebook's pixel size (plus the collapsed 1 px line
            # when lines are on) at every width: a wide grid scrolls, never squeezes.
            want = size + (1 if grid["lines_on"] else 0)
            ok(abs(cw - want) < 0.01 and abs(ch - want) < 0.01,
               "%s at %d px: cell [%d, %d] is drawn %gx%g px, not %dx%d"
               % (name, width, y, x, cw, ch, want, want))
            px, py = int(cx), int(cy)
            # Cells scrolled out of a narrow frame are not painted (the frame clips).
            if left + 2 <= px < min(right - 2, w) and top + 2 <= py < min(bottom - 2, h):
                got = pixel(px, py)
                ok(all(abs(p - q) <= 2 for p, q in zip(got, (r, g, b))),
                   "%s at %d px: pixel at the centre of cell [%d, %d] is %r, not %r"
                   % (name, width, y, x, got, (r, g, b)))
                checked += 1
    ok(checked > 0, "%s: no cell centre inside the screenshot" % name)


# --- gallery, embeds, the address field, the 404 in blocks ----------------------

THUMBS = """
return Array.from(document.querySelectorAll('.thumbs img')).map(i => ({
  src: i.getAttribute('src'), href: i.closest('a').getAttribute('href'),
  loaded: i.complete && i.naturalWidth > 0, natural: [i.naturalWidth, i.naturalHeight],
  shown: [i.getBoundingClientRect().width, i.getBoundingClientRect().height]}));
"""


def check_thumbs(browser, want, secret, name):
    """Every thumbnail on the page loaded, in the order of want (hash IDs)."""
    thumbs = browser.js(THUMBS)
    eq([t["href"] for t in thumbs], ["/" + h for h in want], "%s: thumbnails in order" % name)
    for t in thumbs:
        ok(t["loaded"], "%s: thumbnail %s did not load" % (name, t["src"]))
        ok(max(t["natural"]) == 160, "%s: thumbnail %s is %r" % (name, t["src"], t["natural"]))
        ok(t["shown"][0] > 40, "%s: thumbnail %s drawn %r" % (name, t["src"], t["shown"]))
    # The home page's text names an example secret ID; the gallery names none.
    html = browser.js("return document.querySelector('main').outerHTML")
    for h in secret:
        ok(not any(h in t["src"] + t["href"] for t in thumbs) and
           (name == "home" or h not in html), "%s: secret grid %s shown" % (name, h))


class OtherSite:
    """A page on another origin (a second loopback port) that frames two pages of
    ipborg: an embed, and a grid page (which must refuse)."""

    def __init__(self, embed_url, page_url, size):
        w, h = size
        html = ("<!doctype html><html><head><title>A course page</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body "
                "style='font-family: sans-serif; margin: 16px'><h1>Week 3: loops</h1>"
                "<p>A grid from the class:</p>"
                "<iframe id='embed' src='%s' width='%d' height='%d' style='border: 0'></iframe>"
                "<p>A grid page, which refuses to be framed:</p>"
                "<iframe id='page' src='%s' width='300' height='120'></iframe>"
                "</body></html>" % (embed_url, w, h, page_url)).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *a):
                pass
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/course.html" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def check_framing(browser, site, embed_path, page_path, post, width):
    browser.viewport(width)
    browser.open(site.url)
    # The refused frame leaves exactly one console error, naming its reason.
    problems = console_problems(browser)
    ok(len(problems) == 1 and ("X-Frame-Options" in problems[0]["message"] or
                                "frame-ancestors" in problems[0]["message"]),
       "framing at %d px: only the refusal is reported: %r" % (width, problems))
    browser.screenshot(os.path.join(SHOTS, "framed-%d.png" % width))
    browser.frame("#embed")
    inside = browser.js("""
const img = document.querySelector('.embed-grid img'), de = document.documentElement;
return {loaded: img && img.complete && img.naturalWidth > 0, src: img && img.getAttribute('src'),
        link: (document.querySelector('.embed-caption a') || {}).textContent,
        scroll: [de.scrollWidth, de.clientWidth, de.scrollHeight, de.clientHeight],
        nav: !!document.querySelector('nav')};""")
    browser.frame_parent()
    ok(inside["loaded"], "the framed embed shows its grid: %r" % inside)
    eq(inside["src"], embed_path.replace("/embed", "", 1) + ".png", "the embed's image")
    ok(inside["link"] and inside["link"].startswith("Grid "), "the caption links to the grid")
    ok(not inside["nav"], "no navigation inside the embed")
    s = inside["scroll"]
    ok(s[0] <= s[1] and s[2] <= s[3], "the embed fits its frame, no scrolling: %r" % s)
    browser.frame("#page")
    refused = browser.js("return {url: location.href, brand: !!document.querySelector('.brand')}")
    browser.frame_parent()
    ok(not refused["brand"] and not refused["url"].endswith(page_path),
       "the grid page was shown inside another site's frame: %r" % refused)


def check_url_field(browser, url, page_path, width):
    browser.viewport(width)
    browser.open(url + page_path)
    browser.click("code.copy.url")
    got = browser.js("return getSelection().toString()")
    eq(got, url + page_path, "one click on the address field at %d px selects it all" % width)


def check_404_blocks(browser, png, width):
    cells = browser.js(CELLS, "blocks-404")
    ok(cells and cells["visible"], "the 404 blocks are drawn at %d px" % width)
    eq(len(cells["rows"]), 7, "7 rows of blocks")
    w, h, pixel = png_decode(png)
    for row in cells["rows"]:
        for css, cx, cy, _, _ in row:
            want = tuple(int(v) for v in css[4:-1].split(","))
            got = pixel(int(cx), int(cy))
            ok(all(abs(p - q) <= 2 for p, q in zip(got, want)),
               "404 block at (%d, %d) is %r, not %r" % (cx, cy, got, want))


# --- the run --------------------------------------------------------------------

def main():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print("browser: %s is missing (scripts/install-deps.sh browser installs it)" % path)
            print("browser: 0 passed, 1 failed")
            return 1
    os.makedirs(SHOTS, exist_ok=True)
    server = Server(fresh_db("sqlite"), args=["--quiet"])
    grids = {}
    for name, vec in (("grid", "valid_05.json"), ("imagegrid", "valid_02.json"),
                      ("wide", "valid_19.json"), ("secret", "valid_03.json")):
        body = read_vector("posts", vec)
        st, _, out = server.post(body)
        eq(st, 200, "POST %s" % vec)
        grids[name] = (path_of(json.loads(out)["url"]), json.loads(body))
    # Newest first: what the gallery and the home page must show, and what never.
    public = [p.strip("/") for p, _ in reversed(list(grids.values())) if "/secret/" not in p]
    secret = [p.rsplit("/", 1)[1] for p, _ in grids.values() if "/secret/" in p]
    embed_path = "/embed" + grids["grid"][0]
    with urllib.request.urlopen(server.base + "/oembed?url=" + server.base +
                                grids["grid"][0]) as r:
        o = json.load(r)
        frame_size = (o["width"], o["height"])
    site = OtherSite(server.base + embed_path, server.base + grids["imagegrid"][0], frame_size)
    passed = failed = 0
    browser = None
    try:
        browser = Browser()
        tests = []
        for width in WIDTHS:
            for name, path in (("home", "/"), ("about", "/about")):
                tests.append(("%s-%d" % (name, width), lambda w=width, n=name, p=path:
                              check_page(browser, server.base + p, n, w)))
            for name, (path, post) in grids.items():
                def grid_test(w=width, name=name, path=path, post=post):
                    facts, png = check_page(browser, server.base + path, name, w)
                    check_grid(browser, png, path.rsplit("/", 1)[1], post, name, w)
                    if name == "wide" and w < 600:
                        ok(facts["frame"]["scrollWidth"] > facts["frame"]["clientWidth"],
                           "the wide grid scrolls inside its frame: %r" % facts["frame"])
                tests.append(("%s-%d" % (name, width), grid_test))

            def not_found(w=width):
                url = server.base + "/no-such-grid"
                facts, png = check_page(browser, url, "404", w, allowed=(url + " ",))
                eq(facts["status"], "404", "status shown on the 404 page")
                check_404_blocks(browser, png, w)
            tests.append(("404-%d" % width, not_found))

            def gallery(w=width):
                check_page(browser, server.base + "/gallery", "gallery", w)
                check_thumbs(browser, public, secret, "gallery")
                check_page(browser, server.base + "/", "home", w)
                check_thumbs(browser, public, secret, "home")
            tests.append(("gallery-%d" % width, gallery))
            tests.append(("framed-%d" % width, lambda w=width: check_framing(
                browser, site, embed_path, grids["imagegrid"][0], grids["grid"][1], w)))
            tests.append(("url-field-%d" % width, lambda w=width: check_url_field(
                browser, server.base, grids["grid"][0], w)))
        for name, fn in tests:
            try:
                fn()
            except Exception:  # noqa: BLE001 -- every failure is reported
                failed += 1
                print("FAIL %s" % name)
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print("ok   %s" % name)
            sys.stdout.flush()
    except Exception:  # noqa: BLE001 -- the browser did not start
        failed += 1
        traceback.print_exc(file=sys.stdout)
    finally:
        if browser:
            browser.close()
        site.close()
        server.stop()
        shutil.rmtree(harness.TMP, ignore_errors=True)
    print("browser: screenshots in %s" % os.path.relpath(SHOTS, harness.ROOT))
    print("browser: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
