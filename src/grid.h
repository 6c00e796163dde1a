/* grid.h -- a grid: validate a posted JSON document; read a stored one; draw it
 * as HTML.
 *
 * Knows nothing of HTTP or SQL. Validation applies the original service's rules
 * and ipborg's stricter ones (docs/protocol.md §4) and, on failure, names the offending
 * field, e.g. "grid_data.blocks[3][2]: expected 4 integers".
 *
 * grid_read is the one reader of stored grid_data: the grid page, the PNG
 * (image.h), the image size in the page's link preview and GET /get all judge
 * a stored row through it, so they agree on every row (docs/protocol.md §5):
 * a row it reads is drawn everywhere, a row it refuses is served nowhere.
 * Stored rows may predate validation (legacy rows), so it reads what the
 * client's BlockGrid.from_web would load, as the client would, and refuses
 * the rest with a one-line reason; it never crashes on any text.
 *
 * Drawing reproduces the client's BlockGrid._repr_html_ byte for byte
 * (tests/vectors/render/). */
#ifndef IPBORG_GRID_H
#define IPBORG_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct grid_limits {
    long long max_cells;         /* width * height; default 250,000 */
};
#define GRID_DEFAULT_MAX_CELLS 250000

/* A validated post, ready for the store: JSON columns re-serialised as JSON text
 * (all malloc'd, freed by grid_post_free). code_cells is NULL when the post had
 * null. */
struct grid_post {
    char *ipb_version;
    char *python_version;
    char *grid_data;
    char *code_cells;
    char *ipb_class;
    bool secret;
};

/* Validates body[0..len). 0 on success (fills *out). On failure -1 and a message
 * naming the field (one line, no trailing newline) in err[0..errlen). */
int grid_validate_post(const char *body, size_t len, const struct grid_limits *lim,
                       struct grid_post *out, char *err, size_t errlen);
void grid_post_free(struct grid_post *p);

/* Largest block size read from a stored grid, in pixels, and most blocks
 * along one side: they keep every pixel coordinate of a drawing below 2^45. */
#define GRID_MAX_BLOCK_SIZE (1u << 20)
#define GRID_MAX_SIDE       (1u << 24)

struct grid_block {
    uint32_t size;               /* pixels, 1..GRID_MAX_BLOCK_SIZE */
    unsigned char rgb[3];
};

/* A stored grid as it is drawn. */
struct grid {
    uint32_t w, h;               /* blocks, 1..GRID_MAX_SIDE */
    uint32_t cell;               /* the largest block size */
    bool lines;                  /* lines_on: 1-pixel white lines between blocks */
    bool uniform;                /* every block has size == cell */
    struct grid_block *blocks;   /* h rows of w, row 0 at the top; malloc'd */
};

/* Reads stored grid_data[0..len) (JSON text, or NULL). 0 and, if g is not
 * NULL, fills *g (free it with grid_free). -1 with a one-line reason in err
 * when the row cannot be drawn: not JSON, not an object, or not a grid by
 * the rules in grid.c. g NULL only checks, allocating nothing that lasts. */
int grid_read(const char *grid_data, size_t len, struct grid *g, char *err, size_t errlen);
void grid_free(struct grid *g);

/* Appends the grid markup of g to out, with dom_id in place of the client's
 * uuid (letters, digits, '-' and '_' only). 0, or -1 with a message in err
 * (a bad dom_id; out of memory). */
int grid_draw_html(struct buf *out, const struct grid *g, const char *dom_id, char *err,
                   size_t errlen);

/* grid_read + grid_draw_html, for callers that hold only the JSON text. */
int grid_render_html(struct buf *out, const char *grid_data, size_t len,
                     const char *dom_id, char *err, size_t errlen);

/* Writes a one-line message into err (anything not printable ASCII, such as
 * a byte quoted from the input, becomes '?') and returns -1. */
int grid_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A whole number as grid_read takes width and height: an integer, or a
 * real with no fraction (saturated to the long long range). 0 and *out, or
 * -1 for anything else. */
struct json_t;
int grid_json_number(const struct json_t *v, long long *out);

#endif
