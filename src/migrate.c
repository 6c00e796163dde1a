/* migrate.c -- ipborg migrate: copy every grid from one store to another.
 *
 * The old service moved from SQLite to PostgreSQL with a one-off script that
 * dropped the target tables, held every row in memory, set the sequences by
 * hand and would have wiped a production database pointed at by mistake. This
 * file does that move (and its reverse, and sqlite -> sqlite, postgresql ->
 * postgresql) as a user of store.h and transfer.h only; it never learns which
 * backend it holds. How each guarantee of docs/protocol.md §6 is kept:
 *
 * - The source is never changed: it is opened STORE_READONLY and only read
 *   (cursors, counts, salts, the deletion log, the high-water marks). A target
 *   that names the source (store_same_database) is refused before anything is
 *   opened, since opening the target read-write would upgrade the source.
 * - All rows or none, ids kept, a non-empty target refused unless --replace,
 *   every row checked and named by table and id when refused: transfer.h.
 * - Everything moves: the source's salts (else the environment's), every
 *   row with its created_at or none, the deletion log, and the high-water
 *   marks, so the target never gives an id the source gave (a deleted
 *   grid's URL stays dead).
 * - Verification: transfer_verify compares the re-opened target with the
 *   copy's digests (the fast path); when they disagree, transfer_compare
 *   reads source and target again side by side and names the first row that
 *   differs.
 * - Memory stays flat: one row at a time; progress on stderr. */
#include "migrate.h"
#include "redact.h"
#include "transfer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "migrate"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
    const char *from_url, *to_url;
    char from_shown[512], to_shown[512];   /* the URLs without passwords */
    int replace;
    FILE *out, *errf;
    struct store *src;
    int64_t src_rows[GRID_TABLES], src_max[GRID_TABLES], src_last[GRID_TABLES];
    char *pub, *sec;                       /* the salts the target gets, or none */
    const char *salts_from;
    struct transfer tr;
};

/* The source's stored salts, else the environment's; refused when they
 * differ (every URL would change) or are equal (guessable secret URLs). */
static int choose_salts(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    const char *epub = getenv("HASHIDS_PUBLIC_SALT"), *esec = getenv("HASHIDS_SECRET_SALT");
    if ((epub == NULL) != (esec == NULL)) {
        transfer_fail(r->errf, CMD, "set both HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT, "
                      "or neither");
        return -1;
    }
    int rc = store_salts_get(r->src, &r->pub, &r->sec, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        transfer_fail(r->errf, CMD, "reading the source's salts: %s", err);
        return -1;
    }
    r->salts_from = r->pub ? "copied from the source"
                           : "none (the source stores none and the environment gives none)";
    if (epub) {
        if (r->pub && (strcmp(r->pub, epub) != 0 || strcmp(r->sec, esec) != 0)) {
            transfer_fail(r->errf, CMD, "HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT differ "
                          "from the salts stored in the source: every grid URL would change. "
                          "Unset them to copy the stored salts");
            return -1;
        }
        if (!r->pub) {
            r->pub = strdup(epub);
            r->sec = strdup(esec);
            r->salts_from = "from HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT";
            if (!r->pub || !r->sec) {
                transfer_fail(r->errf, CMD, "out of memory");
                return -1;
            }
        } else {
            r->salts_from = "copied from the source (equal to the environment's)";
        }
    }
    if (r->pub && store_salts_check(r->pub, r->sec, err) != 0) {
        transfer_fail(r->errf, CMD, "%s (salts %s)", err, r->salts_from);
        return -1;
    }
    return 0;
}

static int copy_table(struct run *r, enum grid_table t)
{
    char err[TRANSFER_MSGLEN] = "";
    const char *table = store_table_name(t);
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    int rc = store_cursor_open(r->src, t, &cur, err);
    while (rc == STORE_OK && (rc = store_cursor_next(cur, &rec, err)) == STORE_OK)
        if (transfer_row(&r->tr, t, rec, err) != 0) {
            transfer_fail(r->errf, CMD, "%s id %lld: %s", table, (long long)rec->id, err);
            store_cursor_close(cur);
            return -1;
        }
    store_cursor_close(cur);
    if (rc != STORE_NOT_FOUND) {
        transfer_fail(r->errf, CMD, "reading %s from the source: %s", table, err);
        return -1;
    }
    return 0;
}

/* The deletion log and the high-water marks. */
static int copy_marks(struct run *r)
{
    char err[TRANSFER_MSGLEN] = "";
    struct store_log_cursor *log = NULL;
    const struct store_deletion *d;
    int rc = store_log_open(r->src, &log, err);
    while (rc == STORE_OK && (rc = store_log_next(log, &d, err)) == STORE_OK)
        if (transfer_deletion(&r->tr, d, err) != 0)
            break;
    store_log_close(log);
    if (rc != STORE_NOT_FOUND) {
        transfer_fail(r->errf, CMD, "copying the deletion log: %s", err);
        return -1;
    }
    for (int t = 0; t < GRID_TABLES; t++) {
        if (store_last_id(r->src, (enum grid_table)t, &r->src_last[t], err) != STORE_OK ||
            transfer_last_id(&r->tr, (enum grid_table)t, r->src_last[t], err) != 0) {
            transfer_fail(r->errf, CMD, "copying the largest ids given: %s", err);
            return -1;
        }
    }
    return 0;
}

static int copy_all(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    r->src = store_open(r->from_url, STORE_READONLY, err);
    if (!r->src) {
        transfer_fail(r->errf, CMD, "cannot open the source %s: %s", r->from_shown, err);
        return -1;
    }
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_count(r->src, (enum grid_table)t, &r->src_rows[t], &r->src_max[t], err) !=
            STORE_OK) {
            transfer_fail(r->errf, CMD, "reading the source %s: %s", r->from_shown, err);
            return -1;
        }
    if (choose_salts(r) != 0)
        return -1;
    if (transfer_begin(&r->tr, CMD, r->to_url, r->to_shown, r->replace, r->out, r->errf) != 0)
        return -1;
    int64_t total = r->src_rows[0] + r->src_rows[1];
    progress_start(&r->tr.pg, r->errf, CMD, "copying", total);
    if (transfer_salts(&r->tr, r->pub, r->sec, r->salts_from, 0, total > 0) != 0 ||
        copy_table(r, GRID_PUBLIC) != 0 || copy_table(r, GRID_SECRET) != 0 ||
        copy_marks(r) != 0) {
        transfer_abort(&r->tr);
        return -1;
    }
    return transfer_commit(&r->tr);
}

/* transfer_verify; when a table's digest disagrees, source and target are
 * compared row by row, which names the first difference. */
static int verify(struct run *r)
{
    char msg[TRANSFER_MSGLEN] = "", why[TRANSFER_MSGLEN] = "", err[STORE_ERRLEN] = "";
    int bad = -1;
    if (transfer_verify(&r->tr, r->to_url, &bad, why) == 0) {
        fprintf(r->out, "verification: OK\n");
        fflush(r->out);
        return 0;
    }
    snprintf(msg, sizeof msg, "%s", why);
    if (bad >= 0) {
        const char *table = store_table_name((enum grid_table)bad);
        const char *reason = why;
        if (strncmp(reason, table, strlen(table)) == 0 && reason[strlen(table)] == ':')
            reason += strlen(table) + 2;
        fprintf(r->out, "verification: %s: row by row (%s)\n", table, reason);
        struct store *dst = store_open(r->to_url, STORE_READONLY, err);
        int64_t rows = 0;
        if (!dst)
            snprintf(msg, sizeof msg, "cannot re-open the target: %s", err);
        else if (transfer_compare(r->src, dst, (enum grid_table)bad, NULL, &rows, msg) == 0)
            snprintf(msg, sizeof msg, "%s: the digests differ (%s), though source and target "
                     "now compare equal row by row (the source changed during the "
                     "migration?)", table, why);
        store_close(dst);
    }
    fprintf(r->out, "verification: FAILED: %s\n", msg);
    fflush(r->out);
    transfer_fail(r->errf, CMD, "verification failed: %s (the copy was committed)", msg);
    return -1;
}

int migrate_run(const char *from_url, const char *to_url, int replace, FILE *out,
                FILE *progress)
{
    struct run r = {.from_url = from_url, .to_url = to_url, .replace = replace,
                    .out = out ? out : stdout, .errf = progress};
    if (!from_url || !*from_url || !to_url || !*to_url) {
        transfer_fail(r.errf, CMD, "both --from URL and --to URL are required");
        return 1;
    }
    redact(from_url, r.from_shown, sizeof r.from_shown);
    redact(to_url, r.to_shown, sizeof r.to_shown);
    if (store_same_database(from_url, to_url)) {
        transfer_fail(r.errf, CMD, "--from and --to name the same database (%s): a migration "
                      "needs a separate target", r.to_shown);
        return 1;
    }
    double start = now_seconds();
    int rc = copy_all(&r);
    double secs = now_seconds() - start;
    if (rc == 0) {
        int64_t total = r.tr.rows[0] + r.tr.rows[1];
        for (int t = 0; t < GRID_TABLES; t++)
            fprintf(r.out, "%s: %lld rows copied (largest id %lld)\n",
                    store_table_name((enum grid_table)t), (long long)r.tr.rows[t],
                    (long long)r.tr.max_id[t]);
        fprintf(r.out, "ids given so far: public_grids %lld, secret_grids %lld (the target "
                "goes on from there); deletion log: %lld entries\n", (long long)r.src_last[0],
                (long long)r.src_last[1], (long long)r.tr.deletions);
        fprintf(r.out, "salts: %s\n", r.salts_from);
        fprintf(r.out, "copied 2 tables, %lld rows in %.2f s (%.0f rows/s)\n",
                (long long)total, secs, secs > 0 ? (double)total / secs : 0.0);
        fflush(r.out);
        rc = verify(&r);
        if (rc == 0 && !r.pub && total > 0 && r.errf)
            fprintf(r.errf, "ipborg migrate: the target stores no hash-ID salts (the source has "
                    "none): set HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT to the old "
                    "service's salts before serving it\n");
    }
    transfer_clear(&r.tr);
    if (r.src)
        store_close(r.src);
    free(r.pub);
    free(r.sec);
    return rc == 0 ? 0 : 1;
}
