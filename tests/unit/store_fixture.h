/* store_fixture.h -- helpers shared by the store tests (test_store_*.c,
 * test_migrate.c, test_backup.c): reading a store's rows and meta data the way
 * the tools do, through the store interface. Header-only: each test program is
 * one file. */
#ifndef IPBORG_TEST_STORE_FIXTURE_H
#define IPBORG_TEST_STORE_FIXTURE_H

#include "store.h"

/* Calls fn for every row of table t in id order (a cursor underneath): the
 * record is valid during the call; non-zero from fn stops with STORE_ERROR
 * (err as fn left it, or a default). Returns STORE_OK at the end, or the
 * cursor's error. */
typedef int (*fixture_row_fn)(void *ctx, const struct grid_record *rec, char *err);

static inline int fixture_scan(struct store *st, enum grid_table t, fixture_row_fn fn,
                               void *ctx, char *err)
{
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    int rc = store_cursor_open(st, t, &cur, err);
    while (rc == STORE_OK && (rc = store_cursor_next(cur, &rec, err)) == STORE_OK) {
        err[0] = '\0';
        if (fn(ctx, rec, err) != 0) {
            if (!err[0])
                store_errf(err, "stopped at id %lld", (long long)rec->id);
            rc = STORE_ERROR;
        }
    }
    store_cursor_close(cur);
    return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

#endif
