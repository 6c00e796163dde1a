/* gallery.c -- the newest public grids, a page at a time (gallery.h).
 *
 * The walk: start below min(before, max id + 1) and probe ids downward with
 * store_exists until the page is full, the probes run out or id 1 has been
 * looked at. Invariants: ids come out strictly decreasing; out->older is the
 * lowest id probed (so the next page starts exactly where this one stopped,
 * and no grid is skipped or shown twice between pages), or 0 once id 1 was
 * probed. */
#include "gallery.h"

#include <string.h>

#define BEFORE_MAX ((int64_t)1 << 53)   /* plenty, and exact in any JSON reader */

int gallery_parse_before(const char *text, int64_t *before)
{
    if (!text) {
        *before = 0;
        return 0;
    }
    size_t n = strlen(text);
    if (n == 0 || n > 16 || text[0] == '0')
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    if (v > BEFORE_MAX)
        return -1;
    *before = v;
    return 0;
}

int gallery_collect(struct store *st, int64_t before, size_t want, size_t max_probes,
                    struct gallery_slice *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (want > GALLERY_MAX)
        want = GALLERY_MAX;
    int64_t max_id = 0;
    int rc = store_max_id(st, GRID_PUBLIC, &max_id, err);
    if (rc != STORE_OK)
        return rc;
    int64_t id = before > 0 && before - 1 < max_id ? before - 1 : max_id;
    size_t probes = 0;
    for (; id >= 1 && out->n < want && probes < max_probes; id--, probes++) {
        rc = store_exists(st, GRID_PUBLIC, id, err);
        if (rc == STORE_OK)
            out->ids[out->n++] = id;
        else if (rc != STORE_NOT_FOUND)
            return rc;
    }
    /* id is now one below the lowest id probed. */
    out->older = id >= 1 ? id + 1 : 0;
    return STORE_OK;
}
