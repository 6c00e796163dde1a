/* page.h -- the HTML pages around the grid: one layout (head, navigation Home /
 * About / Random, footer) and the pages that use it.
 *
 * Knows nothing of HTTP or SQL: it is given data and appends HTML to a buffer.
 * Every piece of text that came from a grid is escaped. Pages load nothing from
 * other hosts: the stylesheet and favicon are under /static/ on this server. */
#ifndef IPBORG_PAGE_H
#define IPBORG_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* What the grid page shows. Strings are borrowed; any may be NULL except hash
 * and grid_html. */
struct page_grid {
    const char *hash;             /* the hash ID in the URL */
    bool secret;
    const char *base_url;         /* "http://host" (no trailing slash) */
    const char *grid_html;        /* grid_draw_html output */
    size_t grid_html_len;
    bool grid_as_image;           /* too many blocks for a table: show /HASH.png */
    unsigned grid_width;          /* blocks, for the image's description */
    unsigned grid_height;
    const char *code_cells;       /* JSON text of the code cells, or NULL / "null" */
    const char *ipb_version;
    const char *python_version;   /* JSON text */
    const char *ipb_class;
    const char *created_at;       /* UTC ISO 8601 or NULL */
    unsigned image_width;         /* size of /HASH.png for link previews; */
    unsigned image_height;        /* 0: no preview tags, no download link */
};

void page_grid(struct buf *out, const struct page_grid *g);
void page_home(struct buf *out);
/* The home page with the latest public grids (hashes, newest first; n may be
 * 0) as thumbnails linking to their pages and a link to the gallery. */
void page_home_latest(struct buf *out, const char *const *latest, size_t n);

/* A page of the gallery: thumbnails of public grids, newest first. */
struct page_gallery {
    const char *const *hashes;    /* n public hash IDs, newest first */
    size_t n;
    long long before;             /* this page's before= (0: the first page) */
    long long older;              /* before= of the next page; 0: none */
};
void page_gallery(struct buf *out, const struct page_gallery *g);

/* The embed of a grid (GET /embed/HASH): a page of its own without the
 * site's layout, the grid's PNG scaled to the frame and a caption linking to
 * the grid's page. */
struct page_embed {
    const char *hash;
    bool secret;
    unsigned image_width, image_height;   /* of /HASH.png; 0: not drawable */
};
void page_embed(struct buf *out, const struct page_embed *e);

void page_about(struct buf *out);
void page_not_found(struct buf *out);
/* A page for 5xx answers, e.g. status 503 "The database is not reachable...". */
void page_error(struct buf *out, int status, const char *message);

#endif
