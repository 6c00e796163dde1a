/* test_page.c -- the HTML pages: one layout everywhere, no scripts and no other
 * hosts, every text from a grid escaped, odd legacy data shown rather than
 * crashed on, and the example grid on the home page in the renderer's markup. */
#include "unit.h"

#include "page.h"
#include "highlight.h"

#define BASE "http://example.org"

/* ---- helpers ------------------------------------------------------------ */

/* Linear also under ASan, whose strstr re-reads the whole haystack per call
 * (a strstr loop over a 1 MB page took minutes in the build-asan pass). */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle), hlen = strlen(hay);
    for (size_t i = 0; len > 0 && i + len <= hlen; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, len) == 0) {
            n++;
            i += len - 1;
        }
    }
    return n;
}

static void assert_contains(const char *html, const char *needle)
{
    if (!strstr(html, needle))
        fail_msg("expected to find [%s] in the page:\n%s", needle, html);
}

static void assert_lacks(const char *html, const char *needle)
{
    const char *p = strstr(html, needle);
    if (p)
        fail_msg("did not expect [%s]; found at: %.80s", needle, p);
}

/* Tags that must be balanced: how many times each opening text and its
 * closing tag occur. Opening texts are chosen not to match longer names
 * ("<head>" would otherwise count "<header"). */
static void assert_balanced(const char *html)
{
    static const char *const tags[][2] = {
        {"<html ", "</html>"}, {"<head>", "</head>"}, {"<body>", "</body>"},
        {"<header", "</header>"}, {"<footer", "</footer>"}, {"<main", "</main>"},
        {"<nav", "</nav>"}, {"<section", "</section>"}, {"<div", "</div>"},
        {"<pre", "</pre>"}, {"<code", "</code>"}, {"<ul", "</ul>"},
        {"<li>", "</li>"}, {"<dl", "</dl>"}, {"<dt", "</dt>"}, {"<dd", "</dd>"},
        {"<h1", "</h1>"}, {"<h2", "</h2>"}, {"<title", "</title>"},
        {"<a ", "</a>"}, {"<table", "</table>"}, {"<tbody", "</tbody>"},
        {"<tr", "</tr>"}, {"<td", "</td>"}, {"<style", "</style>"},
        {"<figure", "</figure>"}, {"<figcaption", "</figcaption>"},
        {"<time", "</time>"}, {"<span", "</span>"},
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        size_t o = count(html, tags[i][0]), c = count(html, tags[i][1]);
        if (o != c)
            fail_msg("%s: %zu opened, %zu closed", tags[i][0], o, c);
    }
}

/* What every page must have, whatever its content. base may be NULL: then no
 * absolute URL at all is allowed. */
static void assert_layout(const char *html, const char *base)
{
    assert_true(strncmp(html, "<!doctype html>\n", 16) == 0);
    assert_contains(html, "<html lang=\"en\">");
    assert_contains(html, "<meta charset=\"utf-8\">");
    assert_contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    assert_contains(html, "<title>");
    assert_contains(html, "<link rel=\"stylesheet\" href=\"/static/style.css\">");
    assert_contains(html, "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">");
    assert_contains(html, "<nav");
    assert_contains(html, "href=\"/\"");
    assert_contains(html, ">Home</a>");
    assert_contains(html, "href=\"/about\"");
    assert_contains(html, ">About</a>");
    assert_contains(html, "href=\"/random\"");
    assert_contains(html, ">Random</a>");
    assert_contains(html, "<footer");
    size_t len = strlen(html);
    assert_true(len > 8 && strcmp(html + len - 8, "</html>\n") == 0);
    assert_int_equal(count(html, "<!doctype"), 1);
    assert_int_equal(count(html, "<title>"), 1);

    assert_balanced(html);

    /* No script of any kind, no handlers, no javascript: URLs. */
    assert_null(strcasestr(html, "<script"));
    assert_null(strcasestr(html, "javascript:"));
    assert_null(strcasestr(html, " onerror=\""));
    assert_null(strcasestr(html, " onload=\""));
    assert_null(strcasestr(html, " onclick=\""));

    /* No URL to another host: every "http" starts base + "/". */
    for (const char *p = strcasestr(html, "http"); p; p = strcasestr(p + 4, "http")) {
        if (!base)
            fail_msg("absolute URL in a page with no base_url: %.60s", p);
        size_t bl = strlen(base);
        if (strncmp(p, base, bl) != 0 || p[bl] != '/')
            fail_msg("URL to another host: %.60s", p);
    }
    assert_null(strstr(html, "//cdn"));
    assert_null(strstr(html, "src=\"//"));
    assert_null(strstr(html, "href=\"//"));
}

static char *render_grid(const struct page_grid *g)
{
    struct buf out = BUF_INIT;
    page_grid(&out, g);
    assert_false(buf_failed(&out));
    char *html = buf_steal(&out);
    assert_non_null(html);
    return html;
}

static const char tiny_grid[] =
    "<style type=\"text/css\">table.blockgrid {border: none;}</style>"
    "<table id=\"blocksT\" class=\"blockgrid\"><tbody><tr><td></td></tr></tbody></table>";

static struct page_grid plain_grid(void)
{
    struct page_grid g = {
        .hash = "bizkiL",
        .secret = false,
        .base_url = BASE,
        .grid_html = tiny_grid,
        .grid_html_len = sizeof tiny_grid - 1,
        .code_cells = "[\"grid = BlockGrid(2, 2)\", \"grid[0, 0] = (255, 0, 0)\"]",
        .ipb_version = "1.9.0",
        .python_version = "[3, 11, 7, \"final\", 0]",
        .ipb_class = "BlockGrid",
        .created_at = "2024-03-05T14:07:12Z",
    };
    return g;
}

/* ---- the grid page ------------------------------------------------------ */

/* What the page must hold for a string code cell: the highlighter's own
 * output for it (its markup is tested in test_highlight.c). */
static char *highlighted(const char *code)
{
    struct buf b = BUF_INIT;
    highlight_python(&b, code, strlen(code));
    assert_false(buf_failed(&b));
    return buf_steal(&b);
}

static void assert_contains_cell(const char *html, const char *code)
{
    char *want = highlighted(code);
    assert_contains(html, want);
    free(want);
}

static void test_grid_page_layout(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    char *html = render_grid(&g);
    assert_layout(html, BASE);
    assert_contains(html, "<title>Grid bizkiL ");
    assert_contains(html, "<link rel=\"canonical\" href=\"http://example.org/bizkiL\">");
    assert_lacks(html, "noindex");
    assert_contains_cell(html, "grid = BlockGrid(2, 2)");
    assert_contains_cell(html, "grid[0, 0] = (255, 0, 0)");
    char *first = highlighted("grid = BlockGrid(2, 2)");
    char *second = highlighted("grid[0, 0] = (255, 0, 0)");
    assert_true(strstr(html, first) < strstr(html, second));   /* cells in order */
    free(first);
    free(second);
    assert_contains(html, "<dd>1.9.0</dd>");
    assert_contains(html, "<dd>3.11.7</dd>");
    assert_contains(html, "<code>BlockGrid</code>");
    assert_contains(html, "<time datetime=\"2024-03-05T14:07:12Z\">2024-03-05 14:07 UTC</time>");
    assert_contains(html, "from ipythonblocks import BlockGrid\n"
                          "grid = BlockGrid.from_web(&#39;bizkiL&#39;)\n");
    assert_lacks(html, "secret=True");
    free(html);
}

static void test_grid_html_inserted_as_is(void **state)
{
    (void)state;
    size_t len;
    char *vec = read_vector("render/grid_07_2x2.html", &len);
    /* The renderer replaces {ID}; any id will do here. */
    struct buf grid = BUF_INIT;
    for (const char *p = vec; *p;) {
        const char *id = strstr(p, "{ID}");
        if (!id) {
            buf_puts(&grid, p);
            break;
        }
        buf_append(&grid, p, (size_t)(id - p));
        buf_puts(&grid, "page-test");
        p = id + 4;
    }
    struct page_grid g = plain_grid();
    g.grid_html = grid.data;
    g.grid_html_len = grid.len;
    char *html = render_grid(&g);
    assert_layout(html, BASE);
    assert_contains(html, grid.data);
    assert_int_equal(count(html, "<table"), 1);
    free(html);
    buf_free(&grid);
    free(vec);
}

static void test_grid_text_is_escaped(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.hash = "a\"b<c>'d&";
    g.code_cells = "[\"</pre><script>alert(\\\"x\\\")</script>\", \"a & b < c > d ' e\"]";
    g.ipb_version = "1.0<script>";
    g.ipb_class = "<b onclick=\"x\">Evil</b>";
    g.created_at = "\"><script>alert(1)</script>";
    g.python_version = "\"<script>\"";
    char *html = render_grid(&g);
    assert_layout(html, BASE);
    assert_lacks(html, "</pre><script>");
    assert_lacks(html, "1.0<script>");
    assert_lacks(html, "<b onclick");
    assert_lacks(html, "a\"b<c>");
    assert_contains_cell(html, "</pre><script>alert(\"x\")</script>");
    assert_contains_cell(html, "a & b < c > d ' e");
    assert_contains(html, "1.0&lt;script&gt;");
    assert_contains(html, "&lt;b onclick=&quot;x&quot;&gt;Evil&lt;/b&gt;");
    assert_contains(html, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_contains(html, "<title>Grid a&quot;b&lt;c&gt;&#39;d&amp; ");
    assert_contains(html, "href=\"http://example.org/a&quot;b&lt;c&gt;&#39;d&amp;\"");
    assert_contains(html, "from_web(&#39;a&quot;b&lt;c&gt;&#39;d&amp;&#39;)");
    /* An unknown class still gives a snippet that works. */
    assert_contains(html, "from ipythonblocks import BlockGrid\n");
    free(html);
}

static void test_no_code_cells(void **state)
{
    (void)state;
    const char *none[] = {NULL, "null", "  null\n", "[]", " [ ] "};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        struct page_grid g = plain_grid();
        g.code_cells = none[i];
        char *html = render_grid(&g);
        assert_layout(html, BASE);
        assert_lacks(html, "ipb-code");
        assert_lacks(html, "code-heading");
        /* The rest of the page is still there. */
        assert_contains(html, "<dd>3.11.7</dd>");
        assert_contains(html, "from_web(");
        free(html);
    }
}

static void test_secret_grid(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.hash = "MiXoi4";
    g.secret = true;
    char *html = render_grid(&g);
    assert_layout(html, BASE);
    assert_contains(html, "<meta name=\"robots\" content=\"noindex\">");
    assert_contains(html, "<link rel=\"canonical\" href=\"http://example.org/secret/MiXoi4\">");
    assert_contains(html, "grid = BlockGrid.from_web(&#39;MiXoi4&#39;, secret=True)\n");
    free(html);
}

static void test_image_grid_snippet(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.ipb_class = "ImageGrid";
    g.secret = true;
    char *html = render_grid(&g);
    assert_layout(html, BASE);
    assert_contains(html, "from ipythonblocks import ImageGrid\n"
                          "grid = ImageGrid.from_web(&#39;bizkiL&#39;, secret=True)\n");
    assert_lacks(html, "BlockGrid.from_web");
    free(html);
}

static void test_no_base_url_no_canonical(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.base_url = NULL;
    g.ipb_version = NULL;
    g.python_version = NULL;
    g.ipb_class = NULL;
    g.created_at = NULL;
    g.code_cells = NULL;
    char *html = render_grid(&g);
    assert_layout(html, NULL);
    assert_lacks(html, "canonical");
    assert_lacks(html, "<dt>Posted</dt>");
    assert_lacks(html, "<dt>Python</dt>");
    assert_lacks(html, "<dt>ipythonblocks</dt>");
    assert_contains(html, "BlockGrid.from_web(&#39;bizkiL&#39;)");
    free(html);
}

static void test_legacy_code_cells(void **state)
{
    (void)state;
    struct {
        const char *cells;
        const char *expect;
    } cases[] = {
        /* Not strings: each shown as its JSON text, escaped. */
        {"[1, 2.5, true, null]", "<div class=\"ipb-code ipb-raw\"><pre>1</pre></div>"},
        {"[1, 2.5, true, null]", "<div class=\"ipb-code ipb-raw\"><pre>null</pre></div>"},
        {"[{\"a\": \"<b>\"}, [\"x\"]]", "<pre>{&quot;a&quot;:&quot;&lt;b&gt;&quot;}</pre>"},
        {"[\"ok\", 7]", "<span class=\"n\">ok</span>\n</pre></div>\n"
                        "<div class=\"ipb-code ipb-raw\"><pre>7</pre></div>"},
        /* Not JSON at all: the whole text, escaped. */
        {"[\"unterminated <script>", "<pre>[&quot;unterminated &lt;script&gt;</pre>"},
        {"<script>alert(1)</script>", "<pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre>"},
        {"", "<div class=\"ipb-code ipb-raw\"><pre></pre></div>"},
        /* JSON but not an array. */
        {"{\"x\": \"<i>\"}", "<pre>{&quot;x&quot;:&quot;&lt;i&gt;&quot;}</pre>"},
        {"42", "<div class=\"ipb-code ipb-raw\"><pre>42</pre></div>"},
        {"\"print('hi')\"", "<span class=\"nb\">print</span><span class=\"p\">(</span>"
                              "<span class=\"s1\">&#39;hi&#39;</span>"},
        /* NUL is refused by jansson: shown as the escaped text. */
        {"[\"a\\u0000b\"]", "<pre>[&quot;a\\u0000b&quot;]</pre>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct page_grid g = plain_grid();
        g.code_cells = cases[i].cells;
        char *html = render_grid(&g);
        assert_layout(html, BASE);
        assert_contains(html, cases[i].expect);
        assert_contains(html, "code-heading");
        free(html);
    }
}

static void test_python_version(void **state)
{
    (void)state;
    struct {
        const char *json;
        const char *shown;
    } cases[] = {
        {"[3, 11, 7, \"final\", 0]", "<dt>Python</dt><dd>3.11.7</dd>"},
        {"[2,7,18,\"final\",0]", "<dt>Python</dt><dd>2.7.18</dd>"},
        {"[3, 13, 0, \"candidate\", 1]", "<dt>Python</dt><dd>3.13.0rc1</dd>"},
        {"[3, 14, 0, \"alpha\", 5]", "<dt>Python</dt><dd>3.14.0a5</dd>"},
        {"[3, 12, 0, \"beta\", 2]", "<dt>Python</dt><dd>3.12.0b2</dd>"},
        {"[3, 10, 1]", "<dt>Python</dt><dd>3.10.1</dd>"},
        {"[3, 9, 0, \"weird\", 0]", "<dt>Python</dt><dd>3.9.0</dd>"},
        /* Not the expected shape: the text, escaped. */
        {"[\"python\", \"version\"]", "<dd>[&quot;python&quot;, &quot;version&quot;]</dd>"},
        {"[3, 11]", "<dd>[3, 11]</dd>"},
        {"[3.5, 1, 2]", "<dd>[3.5, 1, 2]</dd>"},
        {"not json <x>", "<dd>not json &lt;x&gt;</dd>"},
        {"", "<dt>Python</dt><dd></dd>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct page_grid g = plain_grid();
        g.python_version = cases[i].json;
        char *html = render_grid(&g);
        assert_layout(html, BASE);
        assert_contains(html, cases[i].shown);
        free(html);
    }
}

static void test_created_at(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.created_at = "2013-06-01 09:30:00+00";
    char *html = render_grid(&g);
    assert_contains(html, "<time datetime=\"2013-06-01 09:30:00+00\">2013-06-01 09:30 UTC</time>");
    free(html);

    g.created_at = "yesterday";
    html = render_grid(&g);
    assert_contains(html, "<time datetime=\"yesterday\">yesterday</time>");
    free(html);

    g.created_at = NULL;
    html = render_grid(&g);
    assert_lacks(html, "<time");
    free(html);
}

/* ---- home, about, 404, errors ------------------------------------------ */

static char *render(void (*fn)(struct buf *))
{
    struct buf out = BUF_INIT;
    fn(&out);
    assert_false(buf_failed(&out));
    return buf_steal(&out);
}

/* The grid renderer's markup for a grid of one block size, written from the
 * format documented in tests/vectors/README.md (render/). */
static void renderer_markup(struct buf *out, const char *id, int lines, int size,
                            int rows, int cols, const int (*rgb)[3])
{
    buf_printf(out, "<style type=\"text/css\">table.blockgrid {border: none;} "
               ".blockgrid tr {border: none;} .blockgrid td {padding: 0px;} "
               "#blocks%s td {border: %dpx solid white;}</style>"
               "<table id=\"blocks%s\" class=\"blockgrid\"><tbody>", id, lines, id);
    for (int r = 0; r < rows; r++) {
        buf_puts(out, "<tr>");
        for (int c = 0; c < cols; c++) {
            const int *k = rgb[r * cols + c];
            buf_printf(out, "<td title=\"Index: [%d, %d]&#10;Color: (%d, %d, %d)\" "
                       "style=\"width: %dpx; height: %dpx;background-color: "
                       "rgb(%d, %d, %d);\"></td>",
                       r, c, k[0], k[1], k[2], size, size, k[0], k[1], k[2]);
        }
        buf_puts(out, "</tr>");
    }
    buf_puts(out, "</tbody></table>");
}

/* The helper above agrees with a real vector, so it can judge the example. */
static void test_renderer_markup_matches_vector(void **state)
{
    (void)state;
    static const int rgb[4][3] = {{0, 0, 0}, {255, 255, 255}, {255, 0, 0}, {0, 0, 255}};
    struct buf out = BUF_INIT;
    renderer_markup(&out, "{ID}", 1, 20, 2, 2, rgb);
    char *vec = read_vector("render/grid_07_2x2.html", NULL);
    assert_string_equal(out.data, vec);
    free(vec);
    buf_free(&out);
}

static void test_home(void **state)
{
    (void)state;
    char *html = render(page_home);
    assert_layout(html, NULL);
    assert_contains(html, "<a href=\"/\" aria-current=\"page\">Home</a>");
    assert_contains(html, "post_to_web(");
    assert_contains(html, "code_cells=");
    assert_contains(html, "secret=True");
    assert_contains(html, "BlockGrid.from_web(");
    assert_contains(html, "from ipythonblocks import BlockGrid");

    static const int palette[6][3] = {
        {230, 57, 70}, {244, 162, 97}, {233, 196, 106},
        {42, 157, 143}, {69, 123, 157}, {131, 56, 236},
    };
    int rgb[24][3];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++)
            memcpy(rgb[r * 6 + c], palette[(r + c) % 6], sizeof rgb[0]);
    struct buf expect = BUF_INIT;
    renderer_markup(&expect, "-example", 1, 24, 4, 6, (const int (*)[3])rgb);
    assert_contains(html, expect.data);
    buf_free(&expect);
    free(html);
}

static void test_about(void **state)
{
    (void)state;
    char *html = render(page_about);
    assert_layout(html, NULL);
    assert_contains(html, "<a href=\"/about\" aria-current=\"page\">About</a>");
    assert_contains(html, "Matt Davis");
    assert_contains(html, "MIT License");
    assert_contains(html, "secret=True");
    assert_contains(html, "What is stored");
    free(html);
}

static void test_not_found(void **state)
{
    (void)state;
    char *html = render(page_not_found);
    assert_layout(html, NULL);
    assert_contains(html, "404");
    assert_contains(html, "<title>Not found ");
    assert_lacks(html, "aria-current");
    free(html);
}

static void test_error(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    page_error(&out, 503, "The database <db> & \"its 'friends'\" are down");
    assert_false(buf_failed(&out));
    assert_layout(out.data, NULL);
    assert_contains(out.data, "<p class=\"status\">503</p>");
    assert_contains(out.data, "Service unavailable");
    assert_contains(out.data, "The database &lt;db&gt; &amp; &quot;its &#39;friends&#39;&quot; are down");
    assert_lacks(out.data, "<db>");

    buf_reset(&out);
    page_error(&out, 500, NULL);
    assert_layout(out.data, NULL);
    assert_contains(out.data, "<p class=\"status\">500</p>");

    buf_reset(&out);
    page_error(&out, 599, "");
    assert_layout(out.data, NULL);
    assert_contains(out.data, "<p class=\"status\">599</p>");
    buf_free(&out);
}

/* Pages append: a buffer can hold something already and grow past any size. */
static void test_appends(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    buf_puts(&out, "HTTP-ish prefix\n");
    page_not_found(&out);
    assert_false(buf_failed(&out));
    assert_true(strncmp(out.data, "HTTP-ish prefix\n<!doctype html>\n", 32) == 0);

    /* A big code cell is copied whole. */
    size_t n = 200000;
    struct buf cells = BUF_INIT;
    buf_puts(&cells, "[\"");
    for (size_t i = 0; i < n; i++)
        buf_putc(&cells, i % 2 ? '<' : 'x');
    buf_puts(&cells, "\"]");
    struct page_grid g = plain_grid();
    g.code_cells = "[\"x\"]";   /* the page around the cell has some &lt; of its own */
    buf_reset(&out);
    page_grid(&out, &g);
    size_t around = count(out.data, "&lt;");
    g.code_cells = cells.data;
    buf_reset(&out);
    page_grid(&out, &g);
    assert_false(buf_failed(&out));
    assert_int_equal(count(out.data, "&lt;"), n / 2 + around);
    buf_free(&cells);
    buf_free(&out);
}

/* A grid with more blocks than a table should hold is shown as its PNG: an
 * <img> of this site's /HASH.png (or /secret/HASH.png) with its size, and no
 * table even when markup was given. */
static void test_grid_as_image(void **state)
{
    (void)state;
    struct page_grid g = plain_grid();
    g.grid_as_image = true;
    g.grid_width = 600;
    g.grid_height = 500;
    g.image_width = 4096;
    g.image_height = 3414;
    char *html = render_grid(&g);
    assert_non_null(strstr(html, "<img class=\"grid-image\" src=\"/bizkiL.png\" "
                                 "width=\"4096\" height=\"3414\" "
                                 "alt=\"The grid, 600 by 500 blocks, drawn as an image\">"));
    assert_null(strstr(html, "blockgrid"));
    assert_layout(html, BASE);
    free(html);
    g.secret = true;
    html = render_grid(&g);
    assert_non_null(strstr(html, "src=\"/secret/bizkiL.png\""));
    free(html);
    /* Without an image size there is nothing to show but the markup. */
    g.image_width = 0;
    html = render_grid(&g);
    assert_non_null(strstr(html, "blockgrid"));
    assert_null(strstr(html, "grid-image"));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_page_layout),
        cmocka_unit_test(test_grid_html_inserted_as_is),
        cmocka_unit_test(test_grid_as_image),
        cmocka_unit_test(test_grid_text_is_escaped),
        cmocka_unit_test(test_no_code_cells),
        cmocka_unit_test(test_secret_grid),
        cmocka_unit_test(test_image_grid_snippet),
        cmocka_unit_test(test_no_base_url_no_canonical),
        cmocka_unit_test(test_legacy_code_cells),
        cmocka_unit_test(test_python_version),
        cmocka_unit_test(test_created_at),
        cmocka_unit_test(test_renderer_markup_matches_vector),
        cmocka_unit_test(test_home),
        cmocka_unit_test(test_about),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
