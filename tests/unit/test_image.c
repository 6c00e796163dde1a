/* test_image.c -- the PNG renderer against the render vectors (tests/vectors/render/).
 *
 * Every PNG is decoded with libpng's simplified API and looked at pixel by
 * pixel. For every vectors/render/grid_*.json: the size follows the client's
 * formula (w*S + w + 1 with lines, w*S without, S the largest block size),
 * every block's centre has the block's colour, lines and the outer border
 * are white, and the whole image equals one painted independently here the
 * way the client does it (white canvas, one filled square per block). Big
 * grids are scaled to at most 4096 px and keep their colours. Garbage comes
 * back as -1 with a message and the buffer untouched, never as a crash. */
#include "unit.h"

#include <dirent.h>
#include <jansson.h>
#include <png.h>

#include "buf.h"
#include "image.h"

/* ---- helpers ------------------------------------------------------------- */

struct pic {
    unsigned w, h;
    unsigned char *px;           /* RGB, row 0 at the top */
};

static void pic_free(struct pic *p)
{
    free(p->px);
    p->px = NULL;
}

/* Decodes PNG bytes; fails the test if they are not a PNG. */
static struct pic decode(const void *data, size_t len)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len))
        fail_msg("not a PNG: %s", img.message);
    img.format = PNG_FORMAT_RGB;
    struct pic p = {img.width, img.height, malloc(PNG_IMAGE_SIZE(img))};
    assert_non_null(p.px);
    if (!png_image_finish_read(&img, NULL, p.px, 0, NULL))
        fail_msg("cannot decode PNG: %s", img.message);
    return p;
}

static const unsigned char *at(const struct pic *p, unsigned x, unsigned y)
{
    if (x >= p->w || y >= p->h)
        fail_msg("pixel (%u, %u) outside a %ux%u image", x, y, p->w, p->h);
    return p->px + ((size_t)y * p->w + x) * 3;
}

static void assert_rgb(const struct pic *p, unsigned x, unsigned y, int r, int g, int b,
                       const char *what)
{
    const unsigned char *q = at(p, x, y);
    if (q[0] != r || q[1] != g || q[2] != b)
        fail_msg("%s: pixel (%u, %u) is (%d, %d, %d), expected (%d, %d, %d)", what, x, y,
                 q[0], q[1], q[2], r, g, b);
}

static void assert_white(const struct pic *p, unsigned x, unsigned y, const char *what)
{
    assert_rgb(p, x, y, 255, 255, 255, what);
}

/* Renders JSON text that must be drawable; returns the decoded image. */
static struct pic render_ok(const char *json, size_t len)
{
    struct buf out = BUF_INIT;
    char err[256];
    int rc = image_render_png(&out, json, len, err, sizeof err);
    if (rc != 0)
        fail_msg("image_render_png failed: %s", err);
    assert_true(out.len > 8);
    assert_memory_equal(out.data, "\x89PNG\r\n\x1a\n", 8);
    struct pic p = decode(out.data, out.len);
    buf_free(&out);
    return p;
}

/* Renders JSON text that must be refused: -1, a one-line message, and the
 * buffer's earlier content left as it was. */
static void render_refused(const char *json, size_t len)
{
    struct buf out = BUF_INIT;
    buf_puts(&out, "before");
    char err[256] = "untouched";
    int rc = image_render_png(&out, json, len, err, sizeof err);
    if (rc != -1)
        fail_msg("expected -1 for %.200s", json);
    assert_true(err[0] != '\0' && strcmp(err, "untouched") != 0);
    assert_null(strchr(err, '\n'));
    assert_int_equal(out.len, 6);
    assert_string_equal(out.data, "before");
    buf_free(&out);
}

/* A grid as the test reads it from JSON (trusted vectors). */
struct tgrid {
    int lines;
    unsigned w, h, cell;
    json_t *root;
};

static json_t *tblock(const struct tgrid *g, unsigned r, unsigned c)
{
    return json_array_get(json_array_get(json_object_get(g->root, "blocks"), r), c);
}

static int tval(const struct tgrid *g, unsigned r, unsigned c, int i)
{
    return (int)json_integer_value(json_array_get(tblock(g, r, c), (size_t)i));
}

static struct tgrid tgrid_load(const char *json, size_t len)
{
    json_error_t e;
    struct tgrid g = {0, 0, 0, 0, json_loadb(json, len, 0, &e)};
    if (!g.root)
        fail_msg("vector is not JSON: %s", e.text);
    g.lines = json_is_true(json_object_get(g.root, "lines_on"));
    g.w = (unsigned)json_integer_value(json_object_get(g.root, "width"));
    g.h = (unsigned)json_integer_value(json_object_get(g.root, "height"));
    for (unsigned r = 0; r < g.h; r++)
        for (unsigned c = 0; c < g.w; c++)
            if ((unsigned)tval(&g, r, c, 3) > g.cell)
                g.cell = (unsigned)tval(&g, r, c, 3);
    return g;
}

/* Top-left pixel of cell (r, c), one coordinate. */
static unsigned cell_origin(const struct tgrid *g, unsigned i)
{
    return i * g->cell + (g->lines ? i + 1 : 0);
}

/* Sorted names in vectors/render that match grid_*.json. */
struct names {
    char **v;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct names render_vectors(void)
{
    struct names out = {NULL, 0};
    DIR *d = opendir(vector_path("render"));
    if (!d)
        fail_msg("cannot open %s", vector_path("render"));
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "grid_", 5) != 0 || len < 5 ||
            strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        out.v = realloc(out.v, (out.n + 1) * sizeof *out.v);
        assert_non_null(out.v);
        out.v[out.n] = malloc(len + 8);
        assert_non_null(out.v[out.n]);
        snprintf(out.v[out.n++], len + 8, "render/%s", de->d_name);
    }
    closedir(d);
    qsort(out.v, out.n, sizeof *out.v, cmp_str);
    return out;
}

static void names_free(struct names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
}

/* ---- the render vectors ---------------------------------------------------- */

/* Size, block centres, lines, border and, for blocks smaller than the cell,
 * the corners of the block's square and the white around it. */
static void check_vector(const char *rel)
{
    size_t len;
    char *json = read_vector(rel, &len);
    struct tgrid g = tgrid_load(json, len);
    struct pic p = render_ok(json, len);

    unsigned ew = g.w * g.cell + (g.lines ? g.w + 1 : 0);
    unsigned eh = g.h * g.cell + (g.lines ? g.h + 1 : 0);
    if (p.w != ew || p.h != eh)
        fail_msg("%s: image is %ux%u, expected %ux%u", rel, p.w, p.h, ew, eh);

    for (unsigned r = 0; r < g.h; r++) {
        for (unsigned c = 0; c < g.w; c++) {
            int R = tval(&g, r, c, 0), G = tval(&g, r, c, 1), B = tval(&g, r, c, 2);
            unsigned s = (unsigned)tval(&g, r, c, 3);
            unsigned x0 = cell_origin(&g, c), y0 = cell_origin(&g, r);
            assert_rgb(&p, x0 + g.cell / 2, y0 + g.cell / 2, R, G, B, rel);
            unsigned pad = (g.cell - s + 1) / 2;
            assert_rgb(&p, x0 + pad, y0 + pad, R, G, B, rel);
            assert_rgb(&p, x0 + pad + s - 1, y0 + pad + s - 1, R, G, B, rel);
            if (pad > 0)
                assert_white(&p, x0 + pad - 1, y0 + pad - 1, rel);
            if (pad + s < g.cell)
                assert_white(&p, x0 + pad + s, y0 + pad + s, rel);
            if (g.lines) {
                /* the line left of and above this block */
                assert_white(&p, x0 - 1, y0 + g.cell / 2, rel);
                assert_white(&p, x0 + g.cell / 2, y0 - 1, rel);
            }
        }
    }
    if (g.lines) {
        for (unsigned x = 0; x < p.w; x++) {
            assert_white(&p, x, 0, rel);
            assert_white(&p, x, p.h - 1, rel);
        }
        for (unsigned y = 0; y < p.h; y++) {
            assert_white(&p, 0, y, rel);
            assert_white(&p, p.w - 1, y, rel);
        }
    }
    pic_free(&p);
    json_decref(g.root);
    free(json);
}

/* The whole image against one painted here like PIL does it in the client:
 * a white canvas, then one filled square per block. */
static void check_vector_painted(const char *rel)
{
    size_t len;
    char *json = read_vector(rel, &len);
    struct tgrid g = tgrid_load(json, len);
    struct pic p = render_ok(json, len);

    size_t n = (size_t)p.w * p.h * 3;
    unsigned char *ref = malloc(n);
    assert_non_null(ref);
    memset(ref, 255, n);
    for (unsigned r = 0; r < g.h; r++)
        for (unsigned c = 0; c < g.w; c++) {
            unsigned s = (unsigned)tval(&g, r, c, 3);
            unsigned pad = (g.cell - s + 1) / 2;
            unsigned x0 = cell_origin(&g, c) + pad, y0 = cell_origin(&g, r) + pad;
            for (unsigned y = y0; y < y0 + s; y++)
                for (unsigned x = x0; x < x0 + s; x++)
                    for (int i = 0; i < 3; i++)
                        ref[((size_t)y * p.w + x) * 3 + (size_t)i] =
                            (unsigned char)tval(&g, r, c, i);
        }
    for (size_t i = 0; i < n; i++)
        if (ref[i] != p.px[i])
            fail_msg("%s: pixel (%zu, %zu) differs from the painted reference", rel,
                     (i / 3) % p.w, (i / 3) / p.w);
    free(ref);
    pic_free(&p);
    json_decref(g.root);
    free(json);
}

static void test_render_vectors(void **state)
{
    (void)state;
    struct names n = render_vectors();
    assert_true(n.n >= 40);
    for (size_t i = 0; i < n.n; i++) {
        check_vector(n.v[i]);
        check_vector_painted(n.v[i]);
    }
    names_free(&n);
}

/* Hand-checked: a 2x2 of size 3 with lines is 9x9, lines at 0, 4 and 8. */
static void test_small_by_hand(void **state)
{
    (void)state;
    const char *on = "{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": "
                     "[[[255,0,0,3],[0,255,0,3]],[[0,0,255,3],[10,20,30,3]]]}";
    struct pic p = render_ok(on, strlen(on));
    assert_int_equal(p.w, 9);
    assert_int_equal(p.h, 9);
    for (unsigned i = 0; i < 9; i++) {
        for (unsigned k = 0; k < 9; k += 4) {
            assert_white(&p, k, i, "vertical line");
            assert_white(&p, i, k, "horizontal line");
        }
    }
    assert_rgb(&p, 1, 1, 255, 0, 0, "red");
    assert_rgb(&p, 3, 3, 255, 0, 0, "red");
    assert_rgb(&p, 5, 1, 0, 255, 0, "green");
    assert_rgb(&p, 1, 7, 0, 0, 255, "blue");
    assert_rgb(&p, 7, 7, 10, 20, 30, "last");
    pic_free(&p);

    const char *off = "{\"lines_on\": false, \"width\": 2, \"height\": 1, \"blocks\": "
                      "[[[255,0,0,2],[0,255,0,2]]]}";
    p = render_ok(off, strlen(off));
    assert_int_equal(p.w, 4);
    assert_int_equal(p.h, 2);
    assert_rgb(&p, 0, 0, 255, 0, 0, "red");
    assert_rgb(&p, 1, 1, 255, 0, 0, "red");
    assert_rgb(&p, 2, 0, 0, 255, 0, "green");
    assert_rgb(&p, 3, 1, 0, 255, 0, "green");
    pic_free(&p);
}

/* Mixed sizes: a 1-pixel block centred in a 4-pixel cell. */
static void test_mixed_sizes(void **state)
{
    (void)state;
    const char *j = "{\"lines_on\": false, \"width\": 2, \"height\": 1, \"blocks\": "
                    "[[[1,2,3,4],[9,8,7,1]]]}";
    struct pic p = render_ok(j, strlen(j));
    assert_int_equal(p.w, 8);
    assert_int_equal(p.h, 4);
    for (unsigned y = 0; y < 4; y++)
        for (unsigned x = 4; x < 8; x++)
            if (x == 6 && y == 2)
                assert_rgb(&p, x, y, 9, 8, 7, "small block");
            else
                assert_white(&p, x, y, "around the small block");
    assert_rgb(&p, 0, 0, 1, 2, 3, "big block");
    assert_rgb(&p, 3, 3, 1, 2, 3, "big block");
    pic_free(&p);
}

/* Out-of-range colours clamp, size 0 is 1 px, integral reals are integers,
 * extra blocks in later rows are ignored, legacy integer lines_on. */
static void test_legacy_tolerance(void **state)
{
    (void)state;
    const char *j = "{\"lines_on\": 0, \"width\": 1, \"height\": 2, \"blocks\": "
                    "[[[-5, 300, 99999999999999999999999, 0]],"
                    " [[12.0, 1e2, 7, 1.0], [1, 2, 3, 4]]]}";
    struct pic p = render_ok(j, strlen(j));
    assert_int_equal(p.w, 1);
    assert_int_equal(p.h, 2);
    assert_rgb(&p, 0, 0, 0, 255, 255, "clamped");
    assert_rgb(&p, 0, 1, 12, 100, 7, "reals");
    pic_free(&p);
}

/* Appends after what is already in the buffer. */
static void test_appends(void **state)
{
    (void)state;
    const char *j = "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,5]]]}";
    struct buf out = BUF_INIT;
    buf_puts(&out, "xyz");
    char err[128];
    assert_int_equal(image_render_png(&out, j, strlen(j), err, sizeof err), 0);
    assert_memory_equal(out.data, "xyz\x89PNG", 7);
    struct pic p = decode(out.data + 3, out.len - 3);
    assert_int_equal(p.w, 7);
    assert_int_equal(p.h, 7);
    assert_rgb(&p, 3, 3, 1, 2, 3, "block");
    pic_free(&p);
    buf_free(&out);
}

/* ---- scaling ------------------------------------------------------------- */

static void colour_of(unsigned r, unsigned c, int rgb[3])
{
    unsigned v = (r * 2654435761u) ^ (c * 40503u + 17u);
    rgb[0] = (int)(v & 0xff);
    rgb[1] = (int)((v >> 8) & 0xff);
    rgb[2] = (int)((v >> 16) & 0xff);
    if (rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255)
        rgb[2] = 0;                 /* never white, so a line is not a block */
}

static char *make_grid(unsigned w, unsigned h, unsigned size, int lines, size_t *len)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\"lines_on\": %s, \"width\": %u, \"height\": %u, \"blocks\": [",
               lines ? "true" : "false", w, h);
    for (unsigned r = 0; r < h; r++) {
        buf_puts(&b, r ? ",[" : "[");
        for (unsigned c = 0; c < w; c++) {
            int rgb[3];
            colour_of(r, c, rgb);
            buf_printf(&b, "%s[%d,%d,%d,%u]", c ? "," : "", rgb[0], rgb[1], rgb[2], size);
        }
        buf_puts(&b, "]");
    }
    buf_puts(&b, "]}");
    assert_false(buf_failed(&b));
    *len = b.len;
    return buf_steal(&b);
}

/* Renders a big uniform grid; checks that the longer side is exactly 4096,
 * the proportions are kept, and every block's centre keeps its colour. */
static void check_scaled(unsigned w, unsigned h, unsigned size, int lines)
{
    size_t len;
    char *json = make_grid(w, h, size, lines, &len);
    struct pic p = render_ok(json, len);
    unsigned long long cw = (unsigned long long)w * size + (lines ? w + 1 : 0);
    unsigned long long ch = (unsigned long long)h * size + (lines ? h + 1 : 0);
    unsigned long long longest = cw > ch ? cw : ch;
    assert_true(longest > IMAGE_MAX_SIDE);
    assert_true(p.w <= IMAGE_MAX_SIDE && p.h <= IMAGE_MAX_SIDE);
    assert_int_equal(p.w > p.h ? p.w : p.h, IMAGE_MAX_SIDE);
    unsigned long long ew = cw * IMAGE_MAX_SIDE / longest;
    unsigned long long eh = ch * IMAGE_MAX_SIDE / longest;
    assert_true(p.w + 1 >= ew && p.w <= ew + 1);
    assert_true(p.h + 1 >= eh && p.h <= eh + 1);
    /* Block c of n spans about [c, c+1) * side / n in any sensible scaling. */
    for (unsigned r = 0; r < h; r++) {
        unsigned y = (unsigned)((2ull * r + 1) * p.h / (2ull * h));
        for (unsigned c = 0; c < w; c++) {
            unsigned x = (unsigned)((2ull * c + 1) * p.w / (2ull * w));
            int rgb[3];
            colour_of(r, c, rgb);
            assert_rgb(&p, x, y, rgb[0], rgb[1], rgb[2], "scaled block centre");
        }
    }
    /* Recognisable: with lines, a white line between any two neighbouring
     * block centres (no block is white); without, none. */
    for (unsigned c = 0; c + 1 < w; c++) {
        unsigned y = (unsigned)(p.h / (2ull * h));
        unsigned x0 = (unsigned)((2ull * c + 1) * p.w / (2ull * w));
        unsigned x1 = (unsigned)((2ull * c + 3) * p.w / (2ull * w));
        int white = 0;
        for (unsigned x = x0; x < x1; x++) {
            const unsigned char *q = at(&p, x, y);
            white |= q[0] == 255 && q[1] == 255 && q[2] == 255;
        }
        if (white != lines)
            fail_msg("scaled: between blocks %u and %u of row 0: %s", c, c + 1,
                     lines ? "no line" : "a white pixel");
    }
    if (lines) {
        assert_white(&p, 0, 0, "scaled corner");
        assert_white(&p, p.w - 1, p.h - 1, "scaled corner");
    }
    pic_free(&p);
    free(json);
}

static void test_scaled_300x300_size40(void **state)
{
    (void)state;
    check_scaled(300, 300, 40, 1);
}

static void test_scaled_500x500_size20(void **state)
{
    (void)state;
    check_scaled(500, 500, 20, 1);
    check_scaled(500, 500, 20, 0);
}

static void test_scaled_wide(void **state)
{
    (void)state;
    check_scaled(1000, 10, 20, 1);      /* 21001 x 211 -> 4096 x 41 */
    check_scaled(7, 300, 50, 0);        /* 350 x 15000 -> 95 x 4096 */
}

/* Exactly 4096 is not scaled; 4097 is. */
static void test_scale_threshold(void **state)
{
    (void)state;
    size_t len;
    char *json = make_grid(1, 1, 4096, 0, &len);
    struct pic p = render_ok(json, len);
    assert_int_equal(p.w, 4096);
    assert_int_equal(p.h, 4096);
    pic_free(&p);
    free(json);
    json = make_grid(2, 1, 2047, 1, &len);      /* 2*2047 + 3 = 4097 */
    p = render_ok(json, len);
    assert_int_equal(p.w, 4096);
    assert_int_equal(p.h, 2049 * 4096 / 4097);     /* 2047 + 2 = 2049 tall */
    pic_free(&p);
    free(json);
}

/* A strip far longer than wide: the short side never drops to 0. */
static void test_scale_extreme_aspect(void **state)
{
    (void)state;
    const char *j = "{\"lines_on\": false, \"width\": 3, \"height\": 1, \"blocks\": "
                    "[[[1,1,1,1000000],[2,2,2,1000000],[3,3,3,1]]]}";
    struct pic p = render_ok(j, strlen(j));
    assert_int_equal(p.w, 4096);
    assert_int_equal(p.h, 1365);
    assert_rgb(&p, 10, 600, 1, 1, 1, "first");
    assert_rgb(&p, 2000, 600, 2, 2, 2, "second");
    assert_white(&p, 3500, 600, "around the 1-pixel third block");
    pic_free(&p);

    size_t len;
    char *json = make_grid(20000, 1, 1, 0, &len);       /* 20000 x 1 */
    p = render_ok(json, len);
    assert_int_equal(p.w, 4096);
    assert_int_equal(p.h, 1);
    pic_free(&p);
    free(json);
}

/* ---- garbage --------------------------------------------------------------- */

static void refused(const char *json)
{
    render_refused(json, strlen(json));
}

static void test_refuses_wrong_shapes(void **state)
{
    (void)state;
    refused("");
    refused("null");
    refused("[]");
    refused("42");
    refused("\"grid\"");
    refused("{}");
    refused("{\"lines_on\": true}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1}");
    refused("{\"lines_on\": \"yes\", \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 0, \"height\": 1, \"blocks\": [[]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 0, \"blocks\": []}");
    refused("{\"lines_on\": true, \"width\": -1, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1.5, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": \"1\", \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 2, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 2, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,4]],[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": [[[1,2,3,4],[1,2,3,4]],[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[5]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [5]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": {}}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,\"3\",4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,null]]]}");
    refused("{\"lines_on\": 2, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,true,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,4]]]} x");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,4]]]");
}

static void test_refuses_huge_and_negative(void **state)
{
    (void)state;
    /* negative sizes are drawn as 1, as the client's max(1, size) does */
    static const char *const negative[] = {
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,-1]]]}",
        "{\"lines_on\": false, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,-9223372036854775808]]]}",
        "{\"lines_on\": false, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,-1e300]]]}",
    };
    for (size_t i = 0; i < 3; i++) {
        struct pic n = render_ok(negative[i], strlen(negative[i]));
        assert_int_equal(n.w, i == 0 ? 3 : 1);
        assert_rgb(&n, i == 0 ? 1 : 0, i == 0 ? 1 : 0, 1, 2, 3, "a 1-pixel block");
        pic_free(&n);
    }
    /* huge sizes and dimensions */
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,1048577]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,9223372036854775807]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,99999999999999999999999]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,1e300]]]}");
    refused("{\"lines_on\": true, \"width\": 1e18, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 99999999999999999999, \"height\": 1, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 4294967297, \"blocks\": [[[1,2,3,4]]]}");
    refused("{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,1e400]]]}");
    /* the largest size drawn is fine (and scaled) */
    const char *ok = "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1,2,3,1048576]]]}";
    struct pic p = render_ok(ok, strlen(ok));
    assert_int_equal(p.w, 4096);
    assert_int_equal(p.h, 4096);
    assert_white(&p, 0, 0, "border");
    assert_rgb(&p, 2048, 2048, 1, 2, 3, "block");
    pic_free(&p);
}

static void test_null_and_embedded_nul(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    char err[128];
    assert_int_equal(image_render_png(&out, NULL, 0, err, sizeof err), -1);
    assert_int_equal(image_render_png(&out, "{\"a\":1}\0zz", 10, err, sizeof err), -1);
    assert_int_equal(image_render_png(&out, "{}", 2, NULL, 0), -1);
    assert_int_equal(out.len, 0);
    /* a deep nest is an error, not a stack overflow */
    size_t n = 200000;
    char *deep = malloc(2 * n);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_int_equal(image_render_png(&out, deep, 2 * n, err, sizeof err), -1);
    free(deep);
    buf_free(&out);
}

/* xorshift: reproducible garbage. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Renders anything; if it says it succeeded, the output must be a PNG. */
static void survive(const char *data, size_t len)
{
    struct buf out = BUF_INIT;
    char err[256];
    int rc = image_render_png(&out, data, len, err, sizeof err);
    assert_true(rc == 0 || rc == -1);
    if (rc == 0) {
        struct pic p = decode(out.data, out.len);
        assert_true(p.w >= 1 && p.h >= 1 && p.w <= IMAGE_MAX_SIDE && p.h <= IMAGE_MAX_SIDE);
        pic_free(&p);
    } else {
        assert_true(err[0] != '\0');
        assert_int_equal(out.len, 0);
    }
    buf_free(&out);
}

static void test_random_bytes(void **state)
{
    (void)state;
    char data[512];
    for (int i = 0; i < 3000; i++) {
        size_t len = rnd() % sizeof data;
        for (size_t k = 0; k < len; k++)
            data[k] = (char)rnd();
        survive(data, len);
    }
}

/* Vectors with bytes replaced by JSON-ish characters: many still parse, with
 * wrong types, signs, shapes or numbers in odd places. */
static void test_mutated_vectors(void **state)
{
    (void)state;
    static const char pieces[] = "[]{},:-0123456789e.\"tfn ";
    const char *names[] = {"render/grid_07_2x2.json", "render/grid_08_7x5.json",
                           "render/grid_14_1x3.json", "render/grid_00_1x1.json"};
    for (size_t v = 0; v < sizeof names / sizeof *names; v++) {
        size_t len;
        char *orig = read_vector(names[v], &len);
        char *copy = malloc(len + 1);
        assert_non_null(copy);
        for (int i = 0; i < 400; i++) {
            memcpy(copy, orig, len + 1);
            int edits = 1 + (int)(rnd() % 4);
            for (int k = 0; k < edits; k++)
                copy[rnd() % len] = pieces[rnd() % (sizeof pieces - 1)];
            survive(copy, len);
        }
        free(copy);
        free(orig);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_by_hand),
        cmocka_unit_test(test_mixed_sizes),
        cmocka_unit_test(test_legacy_tolerance),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_render_vectors),
        cmocka_unit_test(test_scale_threshold),
        cmocka_unit_test(test_scale_extreme_aspect),
        cmocka_unit_test(test_scaled_300x300_size40),
        cmocka_unit_test(test_scaled_500x500_size20),
        cmocka_unit_test(test_scaled_wide),
        cmocka_unit_test(test_refuses_wrong_shapes),
        cmocka_unit_test(test_refuses_huge_and_negative),
        cmocka_unit_test(test_null_and_embedded_nul),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutated_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
