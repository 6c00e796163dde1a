/* transfer.c -- the load pipeline of migrate and import (transfer.h).
 *
 * Invariants:
 * - Between transfer_begin and transfer_commit/abort exactly one load
 *   transaction is open on tr->dst, on the calling thread's connection; every
 *   failure before the commit ends in transfer_abort, which rolls it back
 *   (--replace's emptying included), so a failed run writes nothing.
 * - tr->dg[t] is the digest of the canonical form of every row loaded into
 *   table t, in load order (id order); transfer_verify recomputes it from the
 *   target in id order, so a lost, extra or changed row shows.
 * - Memory does not grow with the number of rows: one row at a time passes
 *   through (the backends stream the load).
 *
 * The check and the canonical form of a row share one parse of each JSON
 * column (row_canon_make, then row_check_canon). */
#include "transfer.h"
#include "canon.h"
#include "redact.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- messages -------------------------------------------------------------- */

void transfer_fail(FILE *msgs, const char *cmd, const char *fmt, ...)
{
    if (!msgs)
        return;
    char line[3 * STORE_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    redact_inplace(line, sizeof line);
    fprintf(msgs, "ipborg %s: %s\n", cmd, line);
    fflush(msgs);
}

/* --- progress -------------------------------------------------------------- */

void progress_start(struct progress *p, FILE *f, const char *cmd, const char *what,
                    int64_t total)
{
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->cmd = cmd;
    p->what = what;
    p->start = p->last = now_seconds();
    /* How often progress is shown (and after how long a run first shows it);
     * the fault tests set it small to catch a run in the middle. */
    const char *iv = getenv("IPBORG_PROGRESS_SECONDS");
    char *end = NULL;
    p->interval = iv ? strtod(iv, &end) : 1.0;
    if (!iv || end == iv || *end || !(p->interval > 0.0) || p->interval > 3600.0)
        p->interval = 1.0;
    p->done = 0;
    p->total = total;
    p->open_line = 0;
}

void progress_break(struct progress *p)
{
    if (p->open_line) {
        fputc('\n', p->f);
        fflush(p->f);
        p->open_line = 0;
    }
}

void progress_tick(struct progress *p)
{
    p->done++;
    if (!p->f)
        return;
    double t = now_seconds();
    if (t - p->start < p->interval || t - p->last < p->interval)
        return;
    p->last = t;
    double rate = (double)p->done / (t - p->start);
    char line[160];
    if (p->total > 0)
        snprintf(line, sizeof line, "ipborg %s: %s: %lld/%lld rows (%d%%), %.0f rows/s",
                 p->cmd, p->what, (long long)p->done, (long long)p->total,
                 (int)(100 * p->done / p->total), rate);
    else
        snprintf(line, sizeof line, "ipborg %s: %s: %lld rows, %.0f rows/s", p->cmd,
                 p->what, (long long)p->done, rate);
    if (p->tty) {
        fprintf(p->f, "\r%-72s", line);
        p->open_line = 1;
    } else {
        fprintf(p->f, "%s\n", line);
    }
    fflush(p->f);
}

/* --- the load --------------------------------------------------------------- */

int transfer_begin(struct transfer *tr, const char *cmd, const char *dst_url,
                   const char *shown, int replace, FILE *out, FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    memset(tr, 0, sizeof *tr);
    tr->cmd = cmd;
    tr->out = out;
    tr->msgs = msgs;
    for (int t = 0; t < GRID_TABLES; t++)
        digest_init(&tr->dg[t]);
    digest_init(&tr->log_dg);
    tr->dst = store_open(dst_url, 0, err);
    if (!tr->dst) {
        transfer_fail(msgs, cmd, "cannot open the target %s: %s", shown, err);
        return -1;
    }
    if (!replace) {
        /* Counted here for a clear message; load_begin enforces it again
         * inside its transaction, which is what makes it race-free. */
        int64_t rows[GRID_TABLES], max_id;
        for (int t = 0; t < GRID_TABLES; t++)
            if (store_count(tr->dst, (enum grid_table)t, &rows[t], &max_id, err) != STORE_OK) {
                transfer_fail(msgs, cmd, "reading the target %s: %s", shown, err);
                goto fail;
            }
        if (rows[GRID_PUBLIC] + rows[GRID_SECRET] > 0) {
            transfer_fail(msgs, cmd, "the target %s already holds %lld grids (public_grids "
                          "%lld, secret_grids %lld); nothing was written. Use --replace to "
                          "drop them and copy anyway", shown,
                          (long long)(rows[GRID_PUBLIC] + rows[GRID_SECRET]),
                          (long long)rows[GRID_PUBLIC], (long long)rows[GRID_SECRET]);
            goto fail;
        }
    }
    if (store_load_begin(tr->dst, replace, err) != STORE_OK) {
        transfer_fail(msgs, cmd, "the target %s: %s; nothing was written", shown, err);
        goto fail;
    }
    tr->loading = 1;
    return 0;
fail:
    store_close(tr->dst);
    tr->dst = NULL;
    return -1;
}

static int salts_same(const char *p1, const char *s1, const char *p2, const char *s2)
{
    return strcmp(p1, p2) == 0 && strcmp(s1, s2) == 0;
}

int transfer_salts(struct transfer *tr, const char *pub, const char *sec, const char *from,
                   int overwrite, int has_rows)
{
    char err[STORE_ERRLEN] = "";
    char *hp = NULL, *hs = NULL;
    int rc = store_salts_get(tr->dst, &hp, &hs, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        transfer_fail(tr->msgs, tr->cmd, "reading the target's salts: %s", err);
        return -1;
    }
    if (hp && !overwrite) {
        int ok = pub ? salts_same(hp, hs, pub, sec) : !has_rows;
        free(hp);
        free(hs);
        if (!ok) {
            if (pub)
                transfer_fail(tr->msgs, tr->cmd, "the target already stores hash-ID salts "
                              "that differ from %s: the copied grids would get other URLs "
                              "(use --replace to make the target what the source is)", from);
            else
                transfer_fail(tr->msgs, tr->cmd, "the target already stores hash-ID salts "
                              "and the source stores none: the copied grids would get URLs "
                              "other than the old service's. Set HASHIDS_PUBLIC_SALT and "
                              "HASHIDS_SECRET_SALT to the old service's salts, or use "
                              "--replace");
            return -1;
        }
        if (!pub)
            return 0;
    } else {
        free(hp);
        free(hs);
    }
    if (!pub)
        return 0;
    if (store_salts_check(pub, sec, err) != 0) {
        transfer_fail(tr->msgs, tr->cmd, "%s (salts %s)", err, from);
        return -1;
    }
    if (store_load_salts(tr->dst, pub, sec, err) != STORE_OK) {
        transfer_fail(tr->msgs, tr->cmd, "writing the salts to the target: %s", err);
        return -1;
    }
    if (!(tr->pub = strdup(pub)) || !(tr->sec = strdup(sec))) {
        transfer_fail(tr->msgs, tr->cmd, "out of memory");
        return -1;
    }
    return 0;
}

int transfer_row(struct transfer *tr, enum grid_table t, const struct grid_record *rec,
                 char *err)
{
    char why[STORE_ERRLEN] = "";
    struct grid_record row;
    struct row_canon c;
    row_canon_make(&c, t, rec);
    int rc = 0;
    if (row_check_canon(t, rec, &c, &row, why) != 0) {
        snprintf(err, TRANSFER_MSGLEN, "%s", why);
        rc = -1;
    } else if (c.problem[0]) {   /* only out of memory gets here */
        snprintf(err, TRANSFER_MSGLEN, "%s", c.problem);
        rc = -1;
    } else if (store_load_row(tr->dst, t, &row, why) != STORE_OK) {
        snprintf(err, TRANSFER_MSGLEN, "writing it to the target: %s", why);
        rc = -1;
    } else {
        /* What the target will hold: the loaded record's canonical form
         * (row_check normalised secret and code_cells; c saw the same). */
        digest_row(&tr->dg[t], &c);
        tr->rows[t]++;
        if (rec->id > tr->max_id[t])
            tr->max_id[t] = rec->id;
        progress_tick(&tr->pg);
    }
    row_canon_free(&c);
    return rc;
}

int transfer_deletion(struct transfer *tr, const struct store_deletion *d, char *err)
{
    char why[STORE_ERRLEN] = "";
    struct buf line = BUF_INIT;
    int rc = 0;
    if (d->deleted_at && !canon_time_valid(d->deleted_at)) {
        snprintf(err, TRANSFER_MSGLEN, "deleted_at is not a UTC time in ISO 8601");
        rc = -1;
    } else if (row_deletion_line(&line, d, why) != 0 ||
               store_load_deletion(tr->dst, d, why) != STORE_OK) {
        snprintf(err, TRANSFER_MSGLEN, "writing the deletion log: %s", why);
        rc = -1;
    } else {
        digest_field(&tr->log_dg, line.data);
        tr->deletions++;
    }
    buf_free(&line);
    return rc;
}

int transfer_last_id(struct transfer *tr, enum grid_table t, int64_t last_id, char *err)
{
    char why[STORE_ERRLEN] = "";
    if (store_load_last_id(tr->dst, t, last_id, why) != STORE_OK) {
        snprintf(err, TRANSFER_MSGLEN, "writing the largest ids given: %s", why);
        return -1;
    }
    if (last_id > tr->last[t])
        tr->last[t] = last_id;
    return 0;
}

int transfer_commit(struct transfer *tr)
{
    char err[STORE_ERRLEN] = "";
    progress_break(&tr->pg);
    int rc = store_load_end(tr->dst, 1, err);
    tr->loading = 0;
    store_close(tr->dst);
    tr->dst = NULL;
    if (rc != STORE_OK) {
        transfer_fail(tr->msgs, tr->cmd, "committing the target: %s (nothing was written)",
                      err);
        return -1;
    }
    return 0;
}

void transfer_abort(struct transfer *tr)
{
    progress_break(&tr->pg);
    if (tr->dst && tr->loading) {
        char err[STORE_ERRLEN] = "";
        if (store_load_end(tr->dst, 0, err) != STORE_OK)
            transfer_fail(tr->msgs, tr->cmd, "rolling back the target: %s", err);
    }
    tr->loading = 0;
    if (tr->dst)
        store_close(tr->dst);
    tr->dst = NULL;
}

void transfer_clear(struct transfer *tr)
{
    if (tr->dst)
        transfer_abort(tr);
    free(tr->pub);
    free(tr->sec);
    tr->pub = tr->sec = NULL;
}

/* --- verification ----------------------------------------------------------------- */

/* Count and digest of table t of st, in canonical form. 0, or -1 + msg. */
static int digest_table(struct store *st, enum grid_table t, struct progress *pg,
                        int64_t *rows, struct digest *d, char *msg)
{
    char err[STORE_ERRLEN] = "";
    struct store_cursor *cur = NULL;
    const char *table = store_table_name(t);
    *rows = 0;
    digest_init(d);
    int rc = store_cursor_open(st, t, &cur, err);
    const struct grid_record *rec;
    while (rc == STORE_OK && (rc = store_cursor_next(cur, &rec, err)) == STORE_OK) {
        struct row_canon c;
        row_canon_make(&c, t, rec);
        if (c.problem[0]) {
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld in the target: %s", table,
                     (long long)rec->id, c.problem);
            row_canon_free(&c);
            store_cursor_close(cur);
            return -1;
        }
        digest_row(d, &c);
        row_canon_free(&c);
        (*rows)++;
        progress_tick(pg);
    }
    store_cursor_close(cur);
    if (rc != STORE_NOT_FOUND) {
        snprintf(msg, TRANSFER_MSGLEN, "reading %s from the target: %s", table, err);
        return -1;
    }
    return 0;
}

/* Count and digest of the deletion lines of st's log. 0, or -1 + err. */
static int digest_log(struct store *st, int64_t *n, struct digest *d, char *err)
{
    struct store_log_cursor *log = NULL;
    const struct store_deletion *e;
    struct buf line = BUF_INIT;
    *n = 0;
    digest_init(d);
    int rc = store_log_open(st, &log, err);
    while (rc == STORE_OK && (rc = store_log_next(log, &e, err)) == STORE_OK) {
        buf_reset(&line);
        if (row_deletion_line(&line, e, err) != 0)
            break;
        digest_field(d, line.data);
        (*n)++;
    }
    store_log_close(log);
    buf_free(&line);
    return rc == STORE_NOT_FOUND ? 0 : -1;
}

int transfer_verify(struct transfer *tr, const char *dst_url, int *bad_table, char *msg)
{
    char err[STORE_ERRLEN] = "";
    *bad_table = -1;
    msg[0] = '\0';
    struct store *st = store_open(dst_url, STORE_READONLY, err);
    if (!st) {
        snprintf(msg, TRANSFER_MSGLEN, "cannot re-open the target: %s", err);
        return -1;
    }
    progress_start(&tr->pg, tr->msgs, tr->cmd, "verifying", tr->rows[0] + tr->rows[1]);
    for (int t = 0; t < GRID_TABLES && !msg[0]; t++) {
        const char *table = store_table_name((enum grid_table)t);
        int64_t rows = 0;
        struct digest d;
        if (digest_table(st, (enum grid_table)t, &tr->pg, &rows, &d, msg) != 0) {
            *bad_table = t;
            break;
        }
        progress_break(&tr->pg);
        if (rows != tr->rows[t]) {
            snprintf(msg, TRANSFER_MSGLEN, "%s: %lld rows loaded but %lld in the target",
                     table, (long long)tr->rows[t], (long long)rows);
            *bad_table = t;
        } else if (!digest_equal(&d, &tr->dg[t])) {
            snprintf(msg, TRANSFER_MSGLEN, "%s: the target's digest is not the copy's",
                     table);
            *bad_table = t;
        } else {
            fprintf(tr->out, "verification: %s: %lld rows in source and target, digest "
                    "%016llx%016llx\n", table, (long long)rows, (unsigned long long)d.a,
                    (unsigned long long)d.b);
            fprintf(tr->out, "verification: %s: fast path (the target against the copy's "
                    "digest)\n", table);
        }
    }
    if (!msg[0]) {
        char *pub = NULL, *sec = NULL;
        int rc = store_salts_get(st, &pub, &sec, err);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND)
            snprintf(msg, TRANSFER_MSGLEN, "reading the target's salts: %s", err);
        else if (tr->pub && (!pub || !salts_same(pub, sec, tr->pub, tr->sec)))
            snprintf(msg, TRANSFER_MSGLEN, "the target's stored salts are not the ones "
                     "loaded");
        free(pub);
        free(sec);
    }
    for (int t = 0; t < GRID_TABLES && !msg[0]; t++) {
        int64_t last = 0;
        if (store_last_id(st, (enum grid_table)t, &last, err) != STORE_OK)
            snprintf(msg, TRANSFER_MSGLEN, "reading the target's largest ids: %s", err);
        else if (last < tr->last[t])
            snprintf(msg, TRANSFER_MSGLEN, "%s: the target would give id %lld again (ids "
                     "up to %lld were given)", store_table_name((enum grid_table)t),
                     (long long)last + 1, (long long)tr->last[t]);
    }
    if (!msg[0]) {
        int64_t n = 0;
        struct digest d;
        if (digest_log(st, &n, &d, err) != 0)
            snprintf(msg, TRANSFER_MSGLEN, "reading the target's deletion log: %s", err);
        else if (n != tr->deletions || !digest_equal(&d, &tr->log_dg))
            snprintf(msg, TRANSFER_MSGLEN, "the target's deletion log (%lld entries) is not "
                     "the one loaded (%lld entries)", (long long)n, (long long)tr->deletions);
        else
            fprintf(tr->out, "verification: deletion log: %lld entries\n", (long long)n);
    }
    progress_break(&tr->pg);
    store_close(st);
    fflush(tr->out);
    return msg[0] ? -1 : 0;
}

/* The next canonical row of cur into *c; 0 at the end, -1 on a read error
 * (msg says it), 1 with a row. */
static int next_canon(struct store_cursor *cur, enum grid_table t, struct row_canon *c,
                      const char *side, char *msg)
{
    char err[STORE_ERRLEN] = "";
    const struct grid_record *rec;
    int rc = store_cursor_next(cur, &rec, err);
    if (rc == STORE_NOT_FOUND)
        return 0;
    if (rc != STORE_OK) {
        snprintf(msg, TRANSFER_MSGLEN, "reading %s from the %s: %s", store_table_name(t),
                 side, err);
        return -1;
    }
    row_canon_make(c, t, rec);
    return 1;
}

int transfer_compare(struct store *a, struct store *b, enum grid_table t,
                     struct progress *pg, int64_t *rows, char *msg)
{
    char err[STORE_ERRLEN] = "";
    const char *table = store_table_name(t);
    struct store_cursor *ca = NULL, *cb = NULL;
    *rows = 0;
    msg[0] = '\0';
    if (store_cursor_open(a, t, &ca, err) != STORE_OK) {
        snprintf(msg, TRANSFER_MSGLEN, "reading %s from the source again: %s", table, err);
        return -1;
    }
    if (store_cursor_open(b, t, &cb, err) != STORE_OK) {
        snprintf(msg, TRANSFER_MSGLEN, "reading %s from the target: %s", table, err);
        store_cursor_close(ca);
        return -1;
    }
    for (;;) {
        struct row_canon s, d;
        int ha = next_canon(ca, t, &s, "source", msg);
        if (ha < 0)
            break;
        int hb = next_canon(cb, t, &d, "target", msg);
        if (hb < 0) {
            if (ha)
                row_canon_free(&s);
            break;
        }
        const char *col = NULL;
        if (!ha && !hb)
            break;
        if (!hb)
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld is missing from the target", table,
                     (long long)s.id);
        else if (!ha)
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld is in the target but not in the "
                     "source", table, (long long)d.id);
        else if (s.problem[0])
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld in the source: %s", table,
                     (long long)s.id, s.problem);
        else if (d.problem[0])
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld in the target: %s", table,
                     (long long)d.id, d.problem);
        else if (s.id < d.id)
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld is missing from the target", table,
                     (long long)s.id);
        else if (s.id > d.id)
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld is in the target but not in the "
                     "source", table, (long long)d.id);
        else if ((col = row_canon_diff(&s, &d)) != NULL)
            snprintf(msg, TRANSFER_MSGLEN, "%s id %lld: %s differs between source and "
                     "target", table, (long long)s.id, col);
        if (ha)
            row_canon_free(&s);
        if (hb)
            row_canon_free(&d);
        if (msg[0])
            break;
        (*rows)++;
        if (pg)
            progress_tick(pg);
    }
    store_cursor_close(cb);
    store_cursor_close(ca);
    return msg[0] ? -1 : 0;
}
