/* stats.c -- ipborg stats (stats.h): one aggregate query per table (the
 * store's stats), read-only. */
#include "stats.h"
#include "canon.h"
#include "store.h"
#include "transfer.h"

#include <stdlib.h>

static void print_time(FILE *out, const char *label, const char *t)
{
    char *c = t[0] ? canon_time(t) : NULL;
    fprintf(out, ", %s %s", label, c ? c : "none");
    free(c);
}

int stats_run(const char *db_url, FILE *out, FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(db_url, STORE_READONLY, err);
    if (!st) {
        transfer_fail(msgs, "stats", "%s", err);
        return 1;
    }
    struct store_stats s[GRID_TABLES];
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_stats(st, (enum grid_table)t, &s[t], err) != STORE_OK) {
            transfer_fail(msgs, "stats", "%s", err);
            store_close(st);
            return 1;
        }
    store_close(st);
    for (int t = 0; t < GRID_TABLES; t++) {
        fprintf(out, "%s: grids %lld, bytes %lld", store_table_name((enum grid_table)t),
                (long long)s[t].rows, (long long)s[t].bytes);
        print_time(out, "oldest", s[t].oldest);
        print_time(out, "newest", s[t].newest);
        fprintf(out, ", undated %lld\n", (long long)s[t].undated);
    }
    fprintf(out, "total: grids %lld, bytes %lld\n", (long long)(s[0].rows + s[1].rows),
            (long long)(s[0].bytes + s[1].bytes));
    return fflush(out) == 0 ? 0 : 1;
}
