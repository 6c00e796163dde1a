/* fuzz_post.c -- POST /post bodies: grid_validate_post with the default limits.
 *
 * Input: the request body as it arrives (any bytes). Properties: validation
 * never crashes; a refusal carries one line naming what is wrong; an accepted
 * post has every required column, and its grid_data draws as HTML (what is
 * stored must be servable). Seeds: vectors/posts/ (valid, invalid, strict and
 * edge bodies). */
#include "fuzz.h"
#include "buf.h"
#include "grid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grid_limits lim = {.max_cells = GRID_DEFAULT_MAX_CELLS};
    struct grid_post post;
    char err[256];
    memset(&post, 0, sizeof post);
    err[0] = '\0';
    if (grid_validate_post((const char *)data, size, &lim, &post, err, sizeof err) != 0) {
        FUZZ_CHECK(fuzz_one_line(err, sizeof err));
        return 0;
    }
    FUZZ_CHECK(post.ipb_version && post.python_version && post.grid_data && post.ipb_class);
    struct buf html = BUF_INIT;
    char rerr[256] = "";
    int r = grid_render_html(&html, post.grid_data, strlen(post.grid_data), "fuzz", rerr,
                             sizeof rerr);
    FUZZ_CHECK(r == 0);
    buf_free(&html);
    grid_post_free(&post);
    return 0;
}
