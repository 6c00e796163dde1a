/* image.c -- a grid drawn as a PNG image (GET /HASH.png).
 *
 * Job. Turn stored grid_data ({"lines_on", "width", "height", "blocks"}, row 0
 * at the top) into an 8-bit RGB PNG that looks like what the ipythonblocks
 * client's save_image() writes, appended to a struct buf.
 *
 * Geometry (the client's BlockGrid._write_image, with one block size S): a
 * white canvas; block (r, c) is an S x S square whose top-left pixel is
 *     x = c*S + (lines_on ? c + 1 : 0),   y = r*S + (lines_on ? r + 1 : 0),
 * so with lines_on the canvas is W = w*S + w + 1 by H = h*S + h + 1 and a
 * 1-pixel white line runs between blocks and around the edge; without it,
 * W = w*S by H = h*S and blocks touch.
 *
 * Mixed sizes. The client's image has one block_size, but a post carries a
 * size per block and some grids mix them (the page draws each <td> at its own
 * size). We keep the client's regular lattice with S = the largest size in
 * the grid, and draw each block as a square of its own size centred in its
 * S x S cell, the rest of the cell white. So a uniform grid is drawn exactly
 * as the client draws it, no block is cut, and a mixed grid still shows its
 * sizes. The square starts at pad = ceil((S - s) / 2) within the cell, which
 * keeps the cell's centre pixel (offset S/2) inside every block: the colour
 * of a block can always be read at its cell's centre.
 *
 * Reading. image.c reads no JSON: it draws a struct grid that grid_read
 * (grid.c) made, the same reading the grid page and /get use, so a grid that
 * has a page has an image and the other way round. grid_read's limits
 * (GRID_MAX_BLOCK_SIZE, GRID_MAX_SIDE) keep every canvas coordinate below
 * 2^45, so all arithmetic below is exact in 64 bits.
 *
 * Scaling. The canvas (W x H) is never built. If its longer side exceeds
 * IMAGE_MAX_SIDE, the image is scaled by f = IMAGE_MAX_SIDE / max(W, H): the
 * longer side becomes exactly IMAGE_MAX_SIDE, the other floor(side * f) (at
 * least 1). A plain nearest-neighbour resampling of the canvas would keep
 * only some of the 1-pixel lines (a 300x300 grid of size 40 at f = 1/3 would
 * lose two lines in three, irregularly), so the lattice is scaled instead:
 * on each axis of n blocks and L output pixels, line c is drawn 1 pixel wide
 * at floor(c * (L-1) / n) and block c fills the pixels between two lines
 * (without lines, block c fills [floor(c*L/n), floor((c+1)*L/n))). Blocks
 * thus get floor or ceil of their scaled size, every line and the border
 * stay, and each pixel inside a cell is sampled at the cell offset under its
 * centre (nearest neighbour), so mixed sizes keep their proportions. When
 * blocks would have less than one pixel between two lines, lines are
 * dropped and the blocks share the pixels; blocks smaller than a pixel then
 * show where they fall under one. Unscaled, this lattice is exactly the
 * canvas above. Never refused for size.
 *
 * Memory. The blocks come as grid_read's compact array (8 bytes a block,
 * less than their JSON text). The image is produced one row at a time (png_write_row) from two maps,
 * output column -> (block column, offset in cell) and the same for rows, so
 * besides the blocks and the PNG itself only O(IMAGE_MAX_SIDE) memory is
 * used. A row equal to the previous one (same block row and offset, or same
 * block row of a uniform grid) is not recomputed.
 *
 * Speed. zlib level 6 with the SUB and UP filters only: UP turns every row
 * that repeats the one above into zeros, SUB turns runs of one colour into
 * zeros; trying the other filters costs time and gains nothing on flat
 * colours. Images are made once and cached by the server.
 *
 * libpng reports errors by longjmp; the only function that calls setjmp
 * (encode) allocates nothing after it and modifies no local that it reads
 * after a jump. */
#include "image.h"

#include "grid.h"

#include <limits.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_BLOCK UINT32_MAX           /* a line, in an axis map */

/* ---- geometry ------------------------------------------------------------ */

/* Canvas length along an axis of n blocks, before any scaling. < 2^45. */
static uint64_t canvas_len(const struct grid *g, uint32_t n)
{
    return (uint64_t)n * g->cell + (g->lines ? (uint64_t)n + 1 : 0);
}

/* The output image's size, and whether it has lines. */
struct plan {
    uint32_t out_w, out_h;
    int lines;
};

static void make_plan(const struct grid *g, struct plan *p)
{
    uint64_t cw = canvas_len(g, g->w), ch = canvas_len(g, g->h);
    uint64_t longest = cw > ch ? cw : ch;
    if (longest > IMAGE_MAX_SIDE) {
        cw = cw * IMAGE_MAX_SIDE / longest;
        ch = ch * IMAGE_MAX_SIDE / longest;
    }
    p->out_w = cw ? (uint32_t)cw : 1;
    p->out_h = ch ? (uint32_t)ch : 1;
    /* Lines stay while every block keeps a pixel between two lines. */
    p->lines = g->lines && p->out_w - 1 >= 2 * (uint64_t)g->w &&
               p->out_h - 1 >= 2 * (uint64_t)g->h;
}

/* Maps the len output pixels of an axis of n blocks to (block index, offset
 * in the cell, 0..cell-1); idx is NO_BLOCK on a line. With lines, line c is
 * at floor(c * (len-1) / n) and block c fills the pixels between lines c and
 * c+1; without, block c fills [floor(c * len / n), floor((c+1) * len / n)).
 * Unscaled this is exactly the canvas of the top comment. An output pixel
 * takes the cell offset under its centre. */
static void map_axis(uint32_t n, uint32_t len, int lines, uint32_t cell,
                     uint32_t *idx, uint32_t *off)
{
    uint64_t m = lines ? (uint64_t)len - 1 : len;      /* >= 1 */
    for (uint32_t x = 0; x < len; x++) {
        /* the last block (or line) starting at or before x */
        uint64_t c = ((uint64_t)(x + 1) * n - 1) / m;
        uint64_t a = c * m / n, b = (c + 1) * m / n;
        if (lines) {
            if (a == x) {
                idx[x] = NO_BLOCK;
                off[x] = 0;
                continue;
            }
            a++;
        }
        idx[x] = (uint32_t)c;
        off[x] = (uint32_t)(((2 * (x - a) + 1) * cell) / (2 * (b - a)));
    }
}

/* Is offset off (within a cell) covered by a block of size s, centred? */
static int covers(uint32_t cell, uint32_t s, uint32_t off)
{
    uint32_t pad = (cell - s + 1) / 2;
    return off >= pad && off - pad < s;
}

/* ---- encoding ------------------------------------------------------------ */

struct job {
    const struct grid *g;
    const struct plan *p;
    uint32_t *col_idx, *col_off;     /* per output column */
    uint32_t *row_idx, *row_off;     /* per output row */
    png_bytep row;                   /* out_w * 3 bytes */
    struct buf *out;
    char msg[200];                   /* libpng's error, if any */
};

static void on_png_error(png_structp png, png_const_charp msg)
{
    struct job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_png_write(png_structp png, png_bytep data, size_t len)
{
    struct job *job = png_get_io_ptr(png);
    buf_append(job->out, data, len);
    if (buf_failed(job->out))
        png_error(png, "out of memory");
}

static void on_png_flush(png_structp png)
{
    (void)png;
}

/* Fills job->row for block row ry (NO_BLOCK: a line) at offset oy. */
static void fill_row(struct job *job, uint32_t ry, uint32_t oy)
{
    const struct grid *g = job->g;
    png_bytep px = job->row;
    uint32_t n = job->p->out_w;
    if (ry == NO_BLOCK) {
        memset(px, 0xff, (size_t)n * 3);
        return;
    }
    const struct grid_block *row = &g->blocks[(size_t)ry * g->w];
    for (uint32_t x = 0; x < n; x++, px += 3) {
        uint32_t cx = job->col_idx[x];
        const struct grid_block *b = cx == NO_BLOCK ? NULL : &row[cx];
        if (b && (g->uniform || (covers(g->cell, b->size, oy) &&
                                 covers(g->cell, b->size, job->col_off[x])))) {
            px[0] = b->rgb[0];
            px[1] = b->rgb[1];
            px[2] = b->rgb[2];
        } else {
            px[0] = px[1] = px[2] = 0xff;
        }
    }
}

static int encode(struct job *job)
{
    const struct plan *p = job->p;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job,
                                              on_png_error, on_png_warning);
    if (!png)
        return -1;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, job, on_png_write, on_png_flush);
    png_set_IHDR(png, info, p->out_w, p->out_h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
    png_write_info(png, info);

    /* A row equal to the one above is not recomputed; rows of a uniform
     * grid depend only on their block row. */
    uint32_t prev_ry = NO_BLOCK, prev_oy = UINT32_MAX;
    for (uint32_t y = 0; y < p->out_h; y++) {
        uint32_t ry = job->row_idx[y];
        uint32_t oy = ry == NO_BLOCK || job->g->uniform ? 0 : job->row_off[y];
        if (y == 0 || ry != prev_ry || oy != prev_oy)
            fill_row(job, ry, oy);
        prev_ry = ry;
        prev_oy = oy;
        png_write_row(png, job->row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* Draws a grid that has been read, at the size of plan p; out is rolled back
 * by the caller. */
static int draw(const struct grid *g, const struct plan *pp, struct buf *out, char *err,
                size_t errlen)
{
    struct plan p = *pp;
    struct job *job = calloc(1, sizeof *job);
    if (!job)
        return grid_errf(err, errlen, "grid_data: out of memory");
    job->g = g;
    job->p = &p;
    job->out = out;
    job->col_idx = malloc((size_t)p.out_w * sizeof *job->col_idx);
    job->col_off = malloc((size_t)p.out_w * sizeof *job->col_off);
    job->row_idx = malloc((size_t)p.out_h * sizeof *job->row_idx);
    job->row_off = malloc((size_t)p.out_h * sizeof *job->row_off);
    job->row = malloc((size_t)p.out_w * 3);
    int rc = -1;
    if (!job->col_idx || !job->col_off || !job->row_idx || !job->row_off || !job->row) {
        grid_errf(err, errlen, "grid_data: out of memory");
        goto done;
    }
    map_axis(g->w, p.out_w, p.lines, g->cell, job->col_idx, job->col_off);
    map_axis(g->h, p.out_h, p.lines, g->cell, job->row_idx, job->row_off);
    rc = encode(job);
    if (rc != 0)
        grid_errf(err, errlen, "grid_data: cannot write PNG: %s",
             job->msg[0] ? job->msg : "out of memory");
done:
    free(job->col_idx);
    free(job->col_off);
    free(job->row_idx);
    free(job->row_off);
    free(job->row);
    free(job);
    return rc;
}

void image_grid_size(const struct grid *g, unsigned *width, unsigned *height)
{
    struct plan p;
    make_plan(g, &p);
    *width = p.out_w;
    *height = p.out_h;
}

int image_draw_png(struct buf *out, const struct grid *g, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return grid_errf(err, errlen, "image: no output buffer");
    if (!g || !g->blocks)
        return grid_errf(err, errlen, "grid_data: not read");
    size_t start = out->len;
    struct plan p;
    make_plan(g, &p);
    int rc = draw(g, &p, out, err, errlen);
    if (rc != 0 && !out->oom && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int image_size(const char *grid_data, size_t len, unsigned *width, unsigned *height)
{
    struct grid g;
    char err[128];
    if (grid_read(grid_data, len, &g, err, sizeof err) != 0)
        return -1;
    image_grid_size(&g, width, height);
    grid_free(&g);
    return 0;
}

int image_render_png(struct buf *out, const char *grid_data, size_t len,
                     char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return grid_errf(err, errlen, "image: no output buffer");
    struct grid g;
    if (grid_read(grid_data, len, &g, err, errlen) != 0)
        return -1;
    int rc = image_draw_png(out, &g, err, errlen);
    grid_free(&g);
    return rc;
}

/* ---- thumbnails (the gallery) -------------------------------------------- */

/* The plan of a thumbnail: the canvas scaled, up or down, so that its longer
 * side is exactly side pixels (the other at least 1). Scaling up uses the same
 * lattice as scaling down (map_axis works for any length): lines stay 1 pixel
 * wide and blocks grow, so small and large grids fill the same square. */
static void make_plan_fit(const struct grid *g, uint32_t side, struct plan *p)
{
    uint64_t cw = canvas_len(g, g->w), ch = canvas_len(g, g->h);
    uint64_t longest = cw > ch ? cw : ch;
    cw = cw * side / longest;
    ch = ch * side / longest;
    p->out_w = cw ? (uint32_t)cw : 1;
    p->out_h = ch ? (uint32_t)ch : 1;
    p->lines = g->lines && p->out_w - 1 >= 2 * (uint64_t)g->w &&
               p->out_h - 1 >= 2 * (uint64_t)g->h;
}

int image_render_thumb_png(struct buf *out, const char *grid_data, size_t len,
                           unsigned side, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return grid_errf(err, errlen, "image: no output buffer");
    if (side < 1 || side > IMAGE_MAX_SIDE)
        return grid_errf(err, errlen, "image: thumbnail side %u is not 1..%u", side,
                         IMAGE_MAX_SIDE);
    struct grid g;
    if (grid_read(grid_data, len, &g, err, errlen) != 0)
        return -1;
    size_t start = out->len;
    struct plan p;
    make_plan_fit(&g, side, &p);
    int rc = draw(&g, &p, out, err, errlen);
    grid_free(&g);
    if (rc != 0 && !out->oom && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
