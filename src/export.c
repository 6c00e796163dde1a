/* export.c -- ipborg export (export.h).
 *
 * The database is opened STORE_READONLY, so nothing is ever written to it:
 * salts that come only from the environment are used, not stored
 * (store_resolve_salts). Each table is read with a cursor in id order; every
 * row passes row_check (a row that could not be imported again stops the
 * export, naming table and id) and is written as one line in canonical form
 * (row_export_line). One line buffer is reused, so memory is the largest row,
 * whatever the number of rows. Rows of an old file with id <= 0 have no hash
 * and so no line: the export stops on them, naming them. */
#include "export.h"
#include "canon.h"
#include "row.h"
#include "transfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CMD "export"

struct export_run {
    FILE *out, *msgs;
    struct store *st;
    struct hashid *h[GRID_TABLES];
    struct buf line;
    int64_t rows[GRID_TABLES], deletions;
};

/* Writes the line in x->line and a newline. 0, or -1 after printing why. */
static int put_line(struct export_run *x)
{
    buf_putc(&x->line, '\n');
    if (buf_failed(&x->line) || fwrite(x->line.data, 1, x->line.len, x->out) != x->line.len) {
        transfer_fail(x->msgs, CMD, "cannot write the output: %s",
                      buf_failed(&x->line) ? "out of memory" : strerror(errno));
        return -1;
    }
    return 0;
}

static int put_header(struct export_run *x, const char *pub, const char *sec)
{
    char err[STORE_ERRLEN] = "";
    int64_t last[GRID_TABLES] = {0, 0};
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_last_id(x->st, (enum grid_table)t, &last[t], err) != STORE_OK) {
            transfer_fail(x->msgs, CMD, "%s", err);
            return -1;
        }
    buf_reset(&x->line);
    buf_puts(&x->line, "{\"ipborg_export\":1,\"salts\":");
    if (pub) {
        buf_puts(&x->line, "{\"public\":");
        canon_string(&x->line, pub);
        buf_puts(&x->line, ",\"secret\":");
        canon_string(&x->line, sec);
        buf_putc(&x->line, '}');
    } else {
        buf_puts(&x->line, "null");
    }
    buf_printf(&x->line, ",\"last_ids\":{\"public_grids\":%lld,\"secret_grids\":%lld}}",
               (long long)last[GRID_PUBLIC], (long long)last[GRID_SECRET]);
    return put_line(x);
}

static int put_table(struct export_run *x, enum grid_table t)
{
    char err[STORE_ERRLEN] = "", why[STORE_ERRLEN] = "";
    const char *table = store_table_name(t);
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    int rc = store_cursor_open(x->st, t, &cur, err);
    while (rc == STORE_OK && (rc = store_cursor_next(cur, &rec, err)) == STORE_OK) {
        struct grid_record row;
        buf_reset(&x->line);
        if (!x->h[t]) {
            transfer_fail(x->msgs, CMD, "%s id %lld: grids in a database without hash-ID "
                          "salts", table, (long long)rec->id);
            break;
        }
        if (row_check(t, rec, &row, why) != 0 ||
            row_export_line(&x->line, t, &row, x->h[t], 0, why) != 0) {
            transfer_fail(x->msgs, CMD, "%s id %lld: %s (fix or delete the row)", table,
                          (long long)rec->id, why);
            break;
        }
        if (put_line(x) != 0)
            break;
        x->rows[t]++;
    }
    store_cursor_close(cur);
    if (rc == STORE_NOT_FOUND)
        return 0;
    if (rc != STORE_OK)
        transfer_fail(x->msgs, CMD, "reading %s: %s", table, err);
    return -1;
}

static int put_deletions(struct export_run *x)
{
    char err[STORE_ERRLEN] = "";
    struct store_log_cursor *log = NULL;
    const struct store_deletion *d;
    int rc = store_log_open(x->st, &log, err);
    while (rc == STORE_OK && (rc = store_log_next(log, &d, err)) == STORE_OK) {
        buf_reset(&x->line);
        if (row_deletion_line(&x->line, d, err) != 0)
            break;
        if (put_line(x) != 0) {
            store_log_close(log);
            return -1;
        }
        x->deletions++;
    }
    store_log_close(log);
    if (rc == STORE_NOT_FOUND)
        return 0;
    transfer_fail(x->msgs, CMD, "reading the deletion log: %s", err);
    return -1;
}

int export_run(const char *db_url, FILE *out, FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    struct export_run x = {.out = out, .msgs = msgs};
    x.st = store_open(db_url, STORE_READONLY, err);
    if (!x.st) {
        transfer_fail(msgs, CMD, "%s", err);
        return 1;
    }
    char *pub = NULL, *sec = NULL;
    int status = 1;
    /* STORE_NOT_FOUND: no grids and no salts anywhere: "salts":null. */
    int rc = store_resolve_salts(x.st, getenv("HASHIDS_PUBLIC_SALT"),
                                 getenv("HASHIDS_SECRET_SALT"), 0, &pub, &sec, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        transfer_fail(msgs, CMD, "%s", err);
        goto done;
    }
    if (pub && (!(x.h[GRID_PUBLIC] = hashid_new(pub, HASHID_MIN_LENGTH)) ||
                !(x.h[GRID_SECRET] = hashid_new(sec, HASHID_MIN_LENGTH)))) {
        transfer_fail(msgs, CMD, "out of memory");
        goto done;
    }
    if (put_header(&x, pub, sec) != 0 || put_table(&x, GRID_PUBLIC) != 0 ||
        put_table(&x, GRID_SECRET) != 0)
        goto done;
    if (put_deletions(&x) != 0)
        goto done;
    if (fflush(out) != 0 || ferror(out)) {
        transfer_fail(msgs, CMD, "cannot write the output: %s", strerror(errno));
        goto done;
    }
    if (msgs) {
        fprintf(msgs, "ipborg export: %lld grids (public_grids %lld, secret_grids %lld), "
                "%lld deletion log entries\n", (long long)(x.rows[0] + x.rows[1]),
                (long long)x.rows[0], (long long)x.rows[1], (long long)x.deletions);
        fflush(msgs);
    }
    status = 0;
done:
    buf_free(&x.line);
    hashid_free(x.h[GRID_PUBLIC]);
    hashid_free(x.h[GRID_SECRET]);
    free(pub);
    free(sec);
    store_close(x.st);
    return status;
}
