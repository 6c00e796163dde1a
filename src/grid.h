/* grid.h -- a grid: validate a posted JSON document, draw it as HTML.
 *
 * Knows nothing of HTTP or SQL. Validation applies the original service's rules
 * and ipborg's stricter ones (docs/protocol.md §4) and, on failure, names the offending
 * field, e.g. "grid_data.blocks[3][2]: expected 4 integers". Rendering
 * reproduces the client's BlockGrid._repr_html_ byte for byte
 * (vectors/render/), and tolerates stored data it did not validate (legacy rows):
 * it never crashes on any JSON text. */
#ifndef IPBORG_GRID_H
#define IPBORG_GRID_H

#include <stdbool.h>
#include <stddef.h>
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

/* Appends the grid markup for grid_data (JSON text) to out, with dom_id in place
 * of the client's uuid. 0 on success, -1 if the JSON is not a drawable grid
 * (message in err). */
int grid_render_html(struct buf *out, const char *grid_data, size_t len,
                     const char *dom_id, char *err, size_t errlen);

/* Writes a one-line message into err (anything not printable ASCII, such as
 * a byte quoted from the input, becomes '?') and returns -1. */
int grid_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A number as stored grid data is read for drawing (HTML and PNG): an
 * integer, or a real with no fraction (saturated to the long long range).
 * 0 and *out, or -1 for anything else. */
struct json_t;
int grid_json_number(const struct json_t *v, long long *out);

#endif
