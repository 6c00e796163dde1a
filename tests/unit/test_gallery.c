/* test_gallery.c -- which grids a gallery page shows (gallery.c), on a real
 * SQLite store in a temporary directory: newest first, secret grids never,
 * deleted ids skipped, pages that follow each other without a gap or a
 * repeat, and a bounded number of probes per page however many ids are
 * deleted in a row. Also the before= parser and the thumbnail's drawing
 * (image_render_thumb_png): its size and its colours. */
#include "unit.h"

#include <unistd.h>
#include <zlib.h>

#include "gallery.h"
#include "image.h"
#include "page.h"
#include "store.h"

struct fixture {
    char dir[64];
    char url[128];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ipborg-gallery-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite:///%s/g.db", f->dir);
    char err[STORE_ERRLEN] = "";
    f->st = store_open(f->url, 0, err);
    if (!f->st)
        fail_msg("store_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    char path[128];
    snprintf(path, sizeof path, "%s/g.db", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/g.db-wal", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/g.db-shm", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int64_t put(struct store *st, enum grid_table t)
{
    struct grid_record rec = {
        .ipb_version = "1.9.0",
        .python_version = "[3, 11, 7, \"final\", 0]",
        .grid_data = "{\"lines_on\": true, \"width\": 1, \"height\": 1, "
                     "\"blocks\": [[[1, 2, 3, 20]]]}",
        .code_cells = NULL,
        .ipb_class = "BlockGrid",
        .secret = t == GRID_SECRET,
    };
    int64_t id = 0;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(store_put(st, t, &rec, &id, err), STORE_OK);
    return id;
}

static void del(struct store *st, int64_t id)
{
    char err[STORE_ERRLEN] = "";
    assert_int_equal(store_delete(st, GRID_PUBLIC, id, err), STORE_OK);
}

static void collect(struct store *st, int64_t before, size_t want, size_t probes,
                    struct gallery_slice *s)
{
    char err[STORE_ERRLEN] = "";
    int rc = gallery_collect(st, before, want, probes, s, err);
    if (rc != STORE_OK)
        fail_msg("gallery_collect: %s", err);
}

static void test_parse_before(void **state)
{
    (void)state;
    int64_t v = -7;
    assert_int_equal(gallery_parse_before(NULL, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gallery_parse_before("1", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gallery_parse_before("1234567", &v), 0);
    assert_int_equal(v, 1234567);
    assert_int_equal(gallery_parse_before("9007199254740992", &v), 0);   /* 2^53 */
    const char *bad[] = {"", "0", "007", "-1", "+1", " 1", "1 ", "1e3", "0x10", "abc",
                         "9007199254740993", "99999999999999999999", "1.5", "１"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (gallery_parse_before(bad[i], &v) == 0)
            fail_msg("before=%s accepted", bad[i]);
}

static void test_empty_store(void **state)
{
    struct fixture *f = *state;
    struct gallery_slice s;
    collect(f->st, 0, 24, 96, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.older, 0);
}

/* Newest first, secret grids never, a deleted id skipped, and a second page
 * that starts where the first one stopped. */
static void test_pages(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 30; i++) {
        put(f->st, GRID_PUBLIC);
        if (i % 7 == 0)
            put(f->st, GRID_SECRET);   /* ids of their own table: never listed */
    }
    del(f->st, 29);
    struct gallery_slice s;
    collect(f->st, 0, 24, 96, &s);
    assert_int_equal(s.n, 24);
    int64_t want = 30;
    for (size_t i = 0; i < s.n; i++, want--) {
        if (want == 29)
            want--;
        assert_int_equal(s.ids[i], want);
    }
    assert_int_equal(s.older, 6);   /* the lowest id looked at */

    struct gallery_slice s2;
    collect(f->st, s.older, 24, 96, &s2);
    assert_int_equal(s2.n, 5);
    for (size_t i = 0; i < s2.n; i++)
        assert_int_equal(s2.ids[i], 5 - (int64_t)i);
    assert_int_equal(s2.older, 0);   /* id 1 was looked at: nothing below */

    /* A before above every id is the first page; before=1 is empty. */
    struct gallery_slice s3;
    collect(f->st, 1000000, 24, 96, &s3);
    assert_memory_equal(&s3, &s, sizeof s);
    collect(f->st, 1, 24, 96, &s3);
    assert_int_equal(s3.n, 0);
    assert_int_equal(s3.older, 0);
    /* The home page's eight. */
    collect(f->st, 0, GALLERY_HOME_SIZE, 96, &s3);
    assert_int_equal(s3.n, 8);
    assert_int_equal(s3.ids[0], 30);
    assert_int_equal(s3.ids[7], 22);
    /* More than fit in a slice are never asked for. */
    collect(f->st, 0, 1000, 1000, &s3);
    assert_int_equal(s3.n, GALLERY_MAX);
}

/* A run of deleted ids longer than the probe budget: each page stops after
 * its probes, short, and the next page goes on below; together the pages
 * list every grid once. */
static void test_probes_are_bounded(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 60; i++)
        put(f->st, GRID_PUBLIC);
    for (int64_t id = 5; id <= 55; id++)
        del(f->st, id);
    struct gallery_slice s;
    collect(f->st, 0, 24, 20, &s);
    assert_int_equal(s.n, 5);             /* 60..56, then 15 probes of nothing */
    assert_int_equal(s.ids[4], 56);
    assert_int_equal(s.older, 41);
    int64_t seen[16];
    size_t nseen = 0;
    int pages = 0;
    for (int64_t before = 0;;) {
        pages++;
        collect(f->st, before, 24, 20, &s);
        assert_true(s.n <= 24);
        for (size_t i = 0; i < s.n; i++) {
            assert_true(nseen < 16);
            assert_true(nseen == 0 || s.ids[i] < seen[nseen - 1]);
            seen[nseen++] = s.ids[i];
        }
        if (!s.older)
            break;
        assert_true(before == 0 || s.older < before);
        before = s.older;
    }
    assert_int_equal(nseen, 9);   /* 60..56 and 4..1 */
    assert_int_equal(seen[5], 4);
    assert_int_equal(seen[8], 1);
    assert_int_equal(pages, 3);
}

/* ---- thumbnails ---------------------------------------------------------- */

/* Decodes an 8-bit RGB PNG made by image.c (filters None, Sub, Up). */
static unsigned char *decode_png(const struct buf *png, unsigned *w, unsigned *h)
{
    const unsigned char *p = (const unsigned char *)png->data;
    assert_true(png->len > 33 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0);
    size_t pos = 8;
    struct buf idat = BUF_INIT;
    *w = *h = 0;
    while (pos + 12 <= png->len) {
        size_t n = (size_t)p[pos] << 24 | (size_t)p[pos + 1] << 16 | (size_t)p[pos + 2] << 8 |
                   p[pos + 3];
        const unsigned char *kind = p + pos + 4, *body = p + pos + 8;
        if (!memcmp(kind, "IHDR", 4)) {
            *w = (unsigned)body[0] << 24 | body[1] << 16 | body[2] << 8 | body[3];
            *h = (unsigned)body[4] << 24 | body[5] << 16 | body[6] << 8 | body[7];
            assert_int_equal(body[8], 8);
            assert_int_equal(body[9], 2);
        } else if (!memcmp(kind, "IDAT", 4)) {
            buf_append(&idat, body, n);
        }
        pos += 12 + n;
    }
    size_t stride = (size_t)*w * 3, rawlen = (stride + 1) * *h;
    unsigned char *raw = malloc(rawlen), *px = malloc(stride * *h);
    assert_non_null(raw);
    assert_non_null(px);
    uLongf got = rawlen;
    assert_int_equal(uncompress(raw, &got, (const Bytef *)idat.data, idat.len), Z_OK);
    assert_int_equal(got, rawlen);
    for (size_t y = 0; y < *h; y++) {
        unsigned char f = raw[y * (stride + 1)];
        unsigned char *line = raw + y * (stride + 1) + 1, *out = px + y * stride;
        for (size_t i = 0; i < stride; i++) {
            unsigned a = i >= 3 ? out[i - 3] : 0, b = y ? (out - stride)[i] : 0;
            assert_true(f <= 2);
            out[i] = (unsigned char)(line[i] + (f == 1 ? a : f == 2 ? b : 0));
        }
    }
    free(raw);
    buf_free(&idat);
    return px;
}

static void assert_pixel(const unsigned char *px, unsigned w, unsigned x, unsigned y, int r,
                         int g, int b)
{
    const unsigned char *q = px + ((size_t)y * w + x) * 3;
    if (q[0] != r || q[1] != g || q[2] != b)
        fail_msg("pixel (%u, %u) is (%d, %d, %d), not (%d, %d, %d)", x, y, q[0], q[1], q[2],
                 r, g, b);
}

static void test_thumb(void **state)
{
    (void)state;
    /* 4 x 2 blocks of 10 px with lines: a 45 x 23 canvas, scaled up to 160 x 81. */
    const char *grid =
        "{\"lines_on\": true, \"width\": 4, \"height\": 2, \"blocks\": ["
        "[[255, 0, 0, 10], [0, 255, 0, 10], [0, 0, 255, 10], [9, 9, 9, 10]],"
        "[[1, 2, 3, 10], [200, 100, 50, 10], [0, 0, 0, 10], [255, 255, 0, 10]]]}";
    struct buf png = BUF_INIT;
    char err[256];
    assert_int_equal(image_render_thumb_png(&png, grid, strlen(grid), 160, err, sizeof err), 0);
    unsigned w, h;
    unsigned char *px = decode_png(&png, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 81);
    /* Lines at floor(c * 159 / 4) across and floor(r * 80 / 2) down. */
    assert_pixel(px, w, 0, 0, 255, 255, 255);
    assert_pixel(px, w, 39, 20, 255, 255, 255);
    assert_pixel(px, w, 20, 20, 255, 0, 0);
    assert_pixel(px, w, 60, 20, 0, 255, 0);
    assert_pixel(px, w, 100, 20, 0, 0, 255);
    assert_pixel(px, w, 140, 20, 9, 9, 9);
    assert_pixel(px, w, 20, 60, 1, 2, 3);
    assert_pixel(px, w, 60, 60, 200, 100, 50);
    assert_pixel(px, w, 100, 60, 0, 0, 0);
    assert_pixel(px, w, 140, 60, 255, 255, 0);
    free(px);

    /* 100 x 100 blocks of 20: scaled down to 160 x 160, no room for lines. */
    struct buf big = BUF_INIT;
    buf_puts(&big, "{\"lines_on\": true, \"width\": 100, \"height\": 100, \"blocks\": [");
    for (int r = 0; r < 100; r++) {
        buf_puts(&big, r ? ",[" : "[");
        for (int c = 0; c < 100; c++)
            buf_printf(&big, "%s[%d, %d, 7, 20]", c ? "," : "", r, c);
        buf_puts(&big, "]");
    }
    buf_puts(&big, "]}");
    buf_reset(&png);
    assert_int_equal(image_render_thumb_png(&png, big.data, big.len, 160, err, sizeof err), 0);
    px = decode_png(&png, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 160);
    assert_pixel(px, w, 0, 0, 0, 0, 7);        /* block [0][0], no white border */
    assert_pixel(px, w, 159, 159, 99, 99, 7);  /* block [99][99] */
    free(px);
    buf_free(&big);

    /* Not drawable: -1, a message, nothing appended. */
    buf_reset(&png);
    assert_int_equal(image_render_thumb_png(&png, "{\"width\": 1}", 12, 160, err, sizeof err), -1);
    assert_int_equal(png.len, 0);
    assert_true(err[0] != '\0');
    assert_int_equal(image_render_thumb_png(&png, grid, strlen(grid), 0, err, sizeof err), -1);
    buf_free(&png);
}

/* ---- the gallery's HTML --------------------------------------------------- */

static void test_gallery_page(void **state)
{
    (void)state;
    const char *hashes[] = {"bizkiL", "a<b\"c"};
    struct page_gallery g = {.hashes = hashes, .n = 2, .before = 0, .older = 17};
    struct buf out = BUF_INIT;
    page_gallery(&out, &g);
    assert_false(buf_failed(&out));
    assert_non_null(strstr(out.data, "<a href=\"/bizkiL\"><img src=\"/thumb/bizkiL.png\""));
    assert_non_null(strstr(out.data, "<a href=\"/a&lt;b&quot;c\">"));
    assert_null(strstr(out.data, "a<b"));
    assert_null(strstr(out.data, "/secret/"));
    assert_non_null(strstr(out.data, "href=\"/gallery?before=17\""));
    assert_null(strstr(out.data, "Newest grids"));
    assert_non_null(strstr(out.data, "<a href=\"/gallery\" aria-current=\"page\">Gallery</a>"));
    assert_null(strcasestr(out.data, "<script"));

    buf_reset(&out);
    struct page_gallery last = {.hashes = hashes, .n = 0, .before = 5, .older = 0};
    page_gallery(&out, &last);
    assert_non_null(strstr(out.data, "No older grids"));
    assert_non_null(strstr(out.data, "Newest grids"));
    assert_null(strstr(out.data, "before="));
    assert_non_null(strstr(out.data, "noindex"));

    buf_reset(&out);
    page_home_latest(&out, hashes, 1);
    assert_non_null(strstr(out.data, "<img src=\"/thumb/bizkiL.png\""));
    assert_non_null(strstr(out.data, "href=\"/gallery\""));
    buf_reset(&out);
    page_home_latest(&out, hashes, 0);
    assert_null(strstr(out.data, "/thumb/"));
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_before),
        cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probes_are_bounded, setup, teardown),
        cmocka_unit_test(test_thumb),
        cmocka_unit_test(test_gallery_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
