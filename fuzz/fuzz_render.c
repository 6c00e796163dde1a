/* fuzz_render.c -- stored grid_data drawn as HTML (grid_render_html) and as a
 * PNG (image_render_png).
 *
 * Input: grid_data JSON text as a store might hold it, never validated (legacy
 * rows). Inputs over 64 KB are skipped, and so are grids whose image would be
 * over 4 megapixels (image_size), so that each run stays fast: size limits are
 * the validator's business, not the drawing's. Properties: neither call
 * crashes; both succeed or fail on the same inputs' drawability as far as
 * image_size says; a drawn PNG starts with the PNG signature; a failure leaves
 * a one-line message. Seeds: the .json files of vectors/render and the legacy rows'
 * grid_data. */
#include "fuzz.h"
#include "buf.h"
#include "grid.h"
#include "image.h"

#define MAX_INPUT (64 * 1024)
#define MAX_PIXELS (4u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    const char *json = (const char *)data;
    char err[256] = "";

    struct buf html = BUF_INIT;
    if (grid_render_html(&html, json, size, "fuzz-grid", err, sizeof err) != 0)
        FUZZ_CHECK(fuzz_one_line(err, sizeof err));
    buf_free(&html);

    unsigned w = 0, h = 0;
    if (image_size(json, size, &w, &h) != 0)
        return 0;
    FUZZ_CHECK(w > 0 && h > 0 && w <= IMAGE_MAX_SIDE && h <= IMAGE_MAX_SIDE);
    if ((unsigned long long)w * h > MAX_PIXELS)
        return 0;
    struct buf png = BUF_INIT;
    err[0] = '\0';
    if (image_render_png(&png, json, size, err, sizeof err) == 0) {
        FUZZ_CHECK(png.len > 8 && memcmp(png.data, "\x89PNG\r\n\x1a\n", 8) == 0);
    } else {
        FUZZ_CHECK(fuzz_one_line(err, sizeof err));
        FUZZ_CHECK(png.len == 0);
    }
    buf_free(&png);
    return 0;
}
