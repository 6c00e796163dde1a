/* gallery.h -- which public grids a gallery page shows: GET /gallery (24 a
 * page, newest first, links to older pages) and the latest 8 on the home page.
 *
 * Knows the store, not HTTP or HTML: it walks ids and hands back a list that
 * the handler turns into hash IDs and page.c into thumbnails. Only the public
 * table is ever read, so secret grids never appear.
 *
 * Cost. Pages are keyset pages: a page holds the public grids with
 * id < before, newest first, and its "older" link is before=the lowest id it
 * looked at. Ids are dense but for deletions, so a page probes ids downward
 * one at a time (store_exists: one indexed look-up that reads no grid data)
 * until it has `want` grids or has made `max_probes` probes. With store_max_id
 * (from the index) that makes at most 1 + max_probes queries per page,
 * whatever the number of grids and whichever page. A run of more than
 * max_probes deleted ids gives a short (even empty) page whose "older" link
 * goes on below the run. */
#ifndef IPBORG_GALLERY_H
#define IPBORG_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define GALLERY_PAGE_SIZE 24     /* grids on a page of /gallery */
#define GALLERY_HOME_SIZE 8      /* grids on the home page */
#define GALLERY_MAX_PROBES 96    /* ids looked at per page, at most */
#define GALLERY_MAX GALLERY_PAGE_SIZE

struct gallery_slice {
    int64_t ids[GALLERY_MAX];    /* public grid ids, newest (largest) first */
    size_t n;
    /* before= of the next (older) page: the lowest id looked at; 0 when no
     * id below this page remains to look at. */
    int64_t older;
};

/* Fills *out with up to want (<= GALLERY_MAX) public grids whose id is below
 * before (0: no bound, the newest grids), probing at most max_probes ids.
 * STORE_OK, or the store's error status with err filled (STORE_ERRLEN). */
int gallery_collect(struct store *st, int64_t before, size_t want, size_t max_probes,
                    struct gallery_slice *out, char *err);

/* Reads the before= query value: NULL (absent) gives 0, the first page; a
 * decimal number 1..2^53 gives itself. -1 for anything else (a sign, spaces,
 * letters, an empty value, leading zeros, a number too large). */
int gallery_parse_before(const char *text, int64_t *before);

#endif
