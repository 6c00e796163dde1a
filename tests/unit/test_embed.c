/* test_embed.c -- oEmbed and embeds (embed.c, page_embed, the grid page's
 * sharing section and the 404 page in blocks): which URLs name a grid of this
 * site, the size of the frame under maxwidth / maxheight, the JSON answer and
 * its escaping, and the client settings on grid pages of a self-hosted site. */
#include "unit.h"

#include <jansson.h>

#include "embed.h"
#include "page.h"

#define BASE "http://grids.example.org:8080"

static void match(const char *base, const char *url, enum embed_match want, bool secret,
                  const char *hash)
{
    bool s = !secret;
    char h[HASHID_MAX_LEN];
    enum embed_match m = embed_match_url(base, url, &s, h, sizeof h);
    if (m != want)
        fail_msg("%s against %s: %d, not %d", url, base, m, want);
    if (want == EMBED_URL_GRID) {
        assert_int_equal(s, secret);
        assert_string_equal(h, hash);
    }
}

static void test_match_url(void **state)
{
    (void)state;
    match(BASE, BASE "/bizkiL", EMBED_URL_GRID, false, "bizkiL");
    match(BASE, BASE "/secret/MiXoi4", EMBED_URL_GRID, true, "MiXoi4");
    match(BASE, BASE "/embed/bizkiL", EMBED_URL_GRID, false, "bizkiL");
    match(BASE, BASE "/embed/secret/MiXoi4", EMBED_URL_GRID, true, "MiXoi4");
    match(BASE, "https://GRIDS.example.org:8080/bizkiL/?x=1#top", EMBED_URL_GRID, false,
          "bizkiL");
    match(BASE, "HTTP://grids.example.org:8080/bizkiL#a/b", EMBED_URL_GRID, false, "bizkiL");
    /* A site below a path prefix. */
    match("https://example.org/ipb", "https://example.org/ipb/bizkiL", EMBED_URL_GRID, false,
          "bizkiL");
    match("https://example.org/ipb", "https://example.org/bizkiL", EMBED_URL_OTHER_SITE,
          false, "");
    /* Other sites. */
    const char *other[] = {
        "http://grids.example.org/bizkiL",            /* another port */
        "http://grids.example.org:80800/bizkiL",
        "http://evil.example/bizkiL",
        "http://grids.example.org:8080.evil/bizkiL",
        "http://evil.example/?http://grids.example.org:8080/bizkiL",
        "ftp://grids.example.org:8080/bizkiL",
        "javascript:alert(1)//grids.example.org:8080/bizkiL",
        "//grids.example.org:8080/bizkiL",
        "/bizkiL", "bizkiL", "", "http://",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        match(BASE, other[i], EMBED_URL_OTHER_SITE, false, "");
    /* This site, not a grid. */
    const char *paths[] = {"", "/", "/a/b", "/secret/a/b", "/embed/secret/x/y", "//",
                           "?url=/bizkiL"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, BASE "%s", paths[i]);
        match(BASE, url, EMBED_URL_NOT_GRID, false, "");
    }
    /* As the server routes them: "secret" and "embed" in the hash's place
     * (the caller's canonical check then refuses them). */
    match(BASE, BASE "/secret/", EMBED_URL_GRID, false, "secret");
    match(BASE, BASE "/embed/", EMBED_URL_GRID, false, "embed");
    match(BASE, BASE "/embed/secret/", EMBED_URL_GRID, false, "secret");
    /* A hash longer than any hash ID is not copied. */
    char url[512];
    snprintf(url, sizeof url, BASE "/%0200d", 7);
    match(BASE, url, EMBED_URL_NOT_GRID, false, "");
    /* No base, no URL. */
    bool s;
    char h[8];
    assert_int_equal(embed_match_url(NULL, BASE "/x", &s, h, sizeof h), EMBED_URL_OTHER_SITE);
    assert_int_equal(embed_match_url(BASE, NULL, &s, h, sizeof h), EMBED_URL_OTHER_SITE);
}

static void test_parse_side(void **state)
{
    (void)state;
    unsigned v = 7;
    assert_int_equal(embed_parse_side(NULL, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(embed_parse_side("64", &v), 0);
    assert_int_equal(v, 64);
    assert_int_equal(embed_parse_side("100000", &v), 0);
    assert_int_equal(v, 100000);
    const char *bad[] = {"", "0", "63", "-100", "+100", "100px", "1e3", " 300", "0300",
                         "100001", "4294967297", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (embed_parse_side(bad[i], &v) == 0)
            fail_msg("maxwidth=%s accepted", bad[i]);
}

static void test_frame_size(void **state)
{
    (void)state;
    unsigned w, h;
    embed_frame_size(211, 211, 0, 0, &w, &h);          /* fits: as drawn */
    assert_int_equal(w, 211);
    assert_int_equal(h, 211 + EMBED_CAPTION);
    embed_frame_size(4096, 2048, 0, 0, &w, &h);        /* the default box */
    assert_int_equal(w, EMBED_DEFAULT_MAX);
    assert_int_equal(h, EMBED_DEFAULT_MAX / 2 + EMBED_CAPTION);
    embed_frame_size(400, 200, 100, 0, &w, &h);        /* maxwidth */
    assert_int_equal(w, 100);
    assert_int_equal(h, 50 + EMBED_CAPTION);
    embed_frame_size(400, 200, 0, 82, &w, &h);         /* maxheight: 50 for the grid */
    assert_int_equal(w, EMBED_MIN_WIDTH);              /* 100 wide, room for the caption */
    assert_int_equal(h, 82);
    embed_frame_size(150, 150, 0, 0, &w, &h);
    assert_int_equal(w, EMBED_MIN_WIDTH);
    assert_int_equal(h, 150 + EMBED_CAPTION);
    embed_frame_size(400, 200, 64, 64, &w, &h);
    assert_true(w <= 64 && h <= 64);
    embed_frame_size(1, 4000, 64, 64, &w, &h);         /* a thin grid */
    assert_int_equal(w, 64);
    assert_int_equal(h, 64);
    embed_frame_size(0, 0, 0, 0, &w, &h);              /* not drawable */
    assert_true(w > 0 && h > EMBED_CAPTION);
    embed_frame_size(0, 0, 64, 64, &w, &h);
    assert_true(w <= 64 && h <= 64);

    embed_thumb_size(45, 23, 160, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 81);
    embed_thumb_size(3, 4096, 160, &w, &h);
    assert_int_equal(w, 1);
    assert_int_equal(h, 160);
}

static void test_oembed_json(void **state)
{
    (void)state;
    struct embed_oembed e = {.base = "http://h.example/a\"b<c>", .hash = "MiXoi4",
                             .secret = true, .provider = "ipborg", .width = 300,
                             .height = 200, .thumb_w = 160, .thumb_h = 90};
    struct buf out = BUF_INIT;
    assert_int_equal(embed_oembed_json(&out, &e), 0);
    json_error_t err;
    json_t *doc = json_loads(out.data, 0, &err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), "1.0");
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "rich");
    assert_string_equal(json_string_value(json_object_get(doc, "provider_name")), "ipborg");
    assert_string_equal(json_string_value(json_object_get(doc, "title")), "Grid MiXoi4");
    assert_int_equal(json_integer_value(json_object_get(doc, "width")), 300);
    assert_int_equal(json_integer_value(json_object_get(doc, "height")), 200);
    assert_int_equal(json_integer_value(json_object_get(doc, "thumbnail_width")), 160);
    assert_int_equal(json_integer_value(json_object_get(doc, "thumbnail_height")), 90);
    assert_string_equal(json_string_value(json_object_get(doc, "thumbnail_url")),
                        "http://h.example/a\"b<c>/thumb/secret/MiXoi4.png");
    /* The base cannot break out of the iframe's attribute. */
    assert_string_equal(json_string_value(json_object_get(doc, "html")),
                        "<iframe src=\"http://h.example/a&quot;b&lt;c&gt;/embed/secret/MiXoi4\" "
                        "width=\"300\" height=\"200\" title=\"Grid MiXoi4\" "
                        "style=\"border: 0\" loading=\"lazy\"></iframe>");
    json_decref(doc);

    /* No thumbnail (not drawable): no thumbnail fields at all. */
    buf_reset(&out);
    e.thumb_w = e.thumb_h = 0;
    e.secret = false;
    assert_int_equal(embed_oembed_json(&out, &e), 0);
    doc = json_loads(out.data, 0, &err);
    assert_non_null(doc);
    assert_null(json_object_get(doc, "thumbnail_url"));
    assert_null(json_object_get(doc, "thumbnail_width"));
    json_decref(doc);
    buf_free(&out);
}

static void test_embed_page(void **state)
{
    (void)state;
    struct page_embed e = {.hash = "bizkiL", .image_width = 211, .image_height = 211};
    struct buf out = BUF_INIT;
    page_embed(&out, &e);
    assert_false(buf_failed(&out));
    assert_non_null(strstr(out.data, "<img src=\"/bizkiL.png\" alt=\"Grid bizkiL\" "
                                     "width=\"211\" height=\"211\">"));
    assert_non_null(strstr(out.data, "<a href=\"/bizkiL\" target=\"_blank\" rel=\"noopener\">"
                                     "Grid bizkiL</a>"));
    assert_null(strstr(out.data, "<nav"));
    assert_null(strstr(out.data, "<header"));
    assert_null(strstr(out.data, "http"));       /* nothing absolute, nothing elsewhere */
    assert_null(strcasestr(out.data, "<script"));

    buf_reset(&out);
    struct page_embed bad = {.hash = "x\"<y", .secret = true};
    page_embed(&out, &bad);
    assert_non_null(strstr(out.data, "cannot be drawn"));
    assert_non_null(strstr(out.data, "href=\"/secret/x&quot;&lt;y\""));
    assert_null(strstr(out.data, "x\"<y"));
    assert_null(strstr(out.data, "<img"));
    buf_free(&out);
}

static struct page_grid grid(const char *base, bool secret)
{
    static const char tiny[] = "<table id=\"blocksT\" class=\"blockgrid\"></table>";
    struct page_grid g = {.hash = secret ? "MiXoi4" : "bizkiL", .secret = secret,
                          .base_url = base, .grid_html = tiny,
                          .grid_html_len = sizeof tiny - 1, .ipb_class = "BlockGrid",
                          .image_width = 211, .image_height = 211};
    return g;
}

static char *render(const struct page_grid *g)
{
    struct buf out = BUF_INIT;
    page_grid(&out, g);
    assert_false(buf_failed(&out));
    return buf_steal(&out);
}

static void test_grid_page_sharing(void **state)
{
    (void)state;
    struct page_grid g = grid(BASE, false);
    char *html = render(&g);
    assert_non_null(strstr(html, "<code class=\"copy url\" tabindex=\"0\" "
                                 "aria-labelledby=\"url-label\">" BASE "/bizkiL</code>"));
    assert_non_null(strstr(html, "&lt;iframe src=&quot;" BASE "/embed/bizkiL&quot; "
                                 "width=&quot;211&quot; height=&quot;243&quot;"));
    g.image_width = g.image_height = 156;
    free(html);
    html = render(&g);
    assert_non_null(strstr(html, "width=&quot;200&quot; height=&quot;188&quot;"));
    assert_non_null(strstr(html, "<link rel=\"alternate\" type=\"application/json+oembed\" "
                                 "href=\"" BASE "/oembed?url=" BASE "/bizkiL\" "
                                 "title=\"Grid bizkiL\">"));
    /* Not the client's default site: its three settings first, then from_web. */
    assert_non_null(strstr(html,
        "<pre class=\"snippet\"><code>import ipythonblocks\n"
        "ipythonblocks.ipythonblocks._POST_URL = &#39;" BASE "/post&#39;\n"
        "ipythonblocks.ipythonblocks._GET_URL_PUBLIC = &#39;" BASE "/get/{0}&#39;\n"
        "ipythonblocks.ipythonblocks._GET_URL_SECRET = &#39;" BASE "/get/secret/{0}&#39;\n"
        "from ipythonblocks import BlockGrid\n"
        "grid = BlockGrid.from_web(&#39;bizkiL&#39;)\n"));
    free(html);

    g = grid("https://www.ipythonblocks.org", true);
    html = render(&g);
    assert_non_null(strstr(html, "<pre class=\"snippet\"><code>from ipythonblocks import "
                                 "BlockGrid\ngrid = BlockGrid.from_web(&#39;MiXoi4&#39;, "
                                 "secret=True)\n"));
    assert_null(strstr(html, "_POST_URL"));
    assert_non_null(strstr(html, ">https://www.ipythonblocks.org/secret/MiXoi4</code>"));
    assert_non_null(strstr(html, "/embed/secret/MiXoi4"));
    free(html);
    g = grid("http://ipythonblocks.org", false);
    html = render(&g);
    assert_null(strstr(html, "_POST_URL"));
    free(html);
    g = grid("http://ipythonblocks.org.evil", false);
    html = render(&g);
    assert_non_null(strstr(html, "_POST_URL"));
    free(html);

    /* A public URL with a quote or a backslash stays one Python string. */
    g = grid("http://h.example/a'b\\c", false);
    html = render(&g);
    assert_non_null(strstr(html, "_POST_URL = &#39;http://h.example/a\\&#39;b\\\\c/post&#39;"));
    free(html);
}

static void test_not_found_in_blocks(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    page_not_found(&out);
    assert_false(buf_failed(&out));
    const char *t = strstr(out.data, "<table id=\"blocks-404\" class=\"blockgrid\">");
    assert_non_null(t);
    /* 13 x 7 blocks; the digits' blocks (9 + 12 + 9) in the palette. */
    size_t cells = 0, lit = 0;
    for (const char *p = strstr(t, "<td"); p; p = strstr(p + 3, "<td")) {
        cells++;
        if (!strstr(p, "rgb(228, 231, 237)") ||
            strstr(p, "rgb(228, 231, 237)") > strstr(p, "</td>"))
            lit++;
    }
    assert_int_equal(cells, 13 * 7);
    assert_int_equal(lit, 9 + 12 + 9);
    assert_non_null(strstr(out.data, "role=\"img\" aria-label=\"404\""));
    assert_non_null(strstr(out.data, ">404</p>"));
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_url),
        cmocka_unit_test(test_parse_side),
        cmocka_unit_test(test_frame_size),
        cmocka_unit_test(test_oembed_json),
        cmocka_unit_test(test_embed_page),
        cmocka_unit_test(test_grid_page_sharing),
        cmocka_unit_test(test_not_found_in_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
