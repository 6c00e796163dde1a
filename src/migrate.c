/* migrate.c -- ipborg migrate: copy every grid from one store to another.
 *
 * The job. The old service moved from SQLite to PostgreSQL with a one-off
 * script that dropped the target tables, held every row in memory, set the
 * sequences by hand, failed on an empty table and would have wiped a
 * production database pointed at by mistake. This file does the same move
 * (and its reverse, and sqlite -> sqlite, postgresql -> postgresql) through
 * the store interface only: it never learns which backend it holds.
 *
 * The guarantees of docs/protocol.md §6, and how each is kept:
 *
 * - The source is never changed: it is opened STORE_READONLY (the backend
 *   then adds no column, sets no journal mode, writes no salt), and only
 *   scan, count and meta_get are called on it. Before anything is opened,
 *   a target that names the source (same URL, the same SQLite file under
 *   another path, the same PostgreSQL host/port/database) is refused,
 *   because opening the target read-write would upgrade the source.
 * - A target holding grids is refused unless --replace: counted here first
 *   for a clear message, and enforced again by load_begin inside the load
 *   transaction, which is what makes it race-free.
 * - All rows or none: load_begin .. load_end is one transaction on the
 *   target. Every failure after load_begin (a bad row, a write error, a salt
 *   conflict) ends in load_end(commit=0), which also undoes --replace's drop.
 * - Ids, every column and created_at are copied as they are; rows pass
 *   through migrate_check_row, which refuses what the PostgreSQL schema or
 *   jsonb would refuse (a required column NULL, JSON that does not parse,
 *   \u0000, lone surrogates, invalid UTF-8, a created_at that is not a UTC
 *   time) and names table, id and column.
 *   JSON text that parses is passed on unchanged: no re-serialisation (the
 *   canonical form is only digested). The check is jansson's parse
 *   (canon_json_scan), most of a copy's time.
 * - Sequences: load_end(commit=1) leaves next id = max(id) + 1 (1 if empty).
 * - Memory stays flat: scan hands one row at a time to a callback that
 *   checks it and hands it to load_row; no row outlives its callback.
 * - Salts (docs/protocol.md §2): the source's stored salts, or else the environment's,
 *   are written with meta_set inside the load transaction and read back.
 *   Environment salts that differ from the source's are refused (every URL
 *   would change), and so is a target that already stores other salts.
 * - Verification. During the copy each loaded source row is also put in
 *   canonical form (canon.h; code_cells NULL and null alike) and folded, in
 *   id order, into per-table digests: one without created_at, one with,
 *   plus the count of rows that had one. The canonical JSON also serves the
 *   row check, so each column is parsed once. After the commit, per table,
 *   when every source row was canonicalised and all or none had a
 *   created_at (the target's default fills it where the source has none),
 *   only the target, re-opened read-only, is scanned: its rows are
 *   canonicalised and digested with the matching variant, and count and
 *   digest must equal the copy's (the fast path). Otherwise -- mixed
 *   created_at, a row not canonicalised, or the fast path disagreeing --
 *   the row-by-row comparison runs: the source is scanned again and the
 *   target in a second thread at the same time; a one-row hand-off pairs the
 *   two streams in id order, each row is compared in canonical form (
 *   created_at only where the source has one) and the first difference is
 *   named by table and id; if it finds none where the fast path disagreed,
 *   the digests are reported to differ. A line on out says which path
 *   verified each table. Per table, the count and a 128-bit digest of the
 *   canonical rows (two independent 64-bit lanes) are printed; memory is
 *   still one row per side.
 * - Progress: after the first second, rows done, total and rows/s on the
 *   progress stream about once a second (one \r line on a terminal).
 *
 * Exit status: 0 only when the copy committed and verification passed. */
#include "migrate.h"
#include "buf.h"
#include "canon.h"
#include "redact.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSGLEN (2 * STORE_ERRLEN)

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- row check ----------------------------------------------------------- */

/* Checks a required JSON column: parses and is not JSON null. */
static int check_required_json(const char *col, const char *text, char *err)
{
    if (!text) {
        store_errf(err, "%s is NULL (it is required)", col);
        return -1;
    }
    int is_null = 0;
    if (canon_json_scan(col, text, NULL, &is_null, err))
        return -1;
    if (is_null) {
        store_errf(err, "%s is JSON null (it is required)", col);
        return -1;
    }
    return 0;
}

static int check_required_text(const char *col, const char *text, char *err)
{
    if (!text) {
        store_errf(err, "%s is NULL (it is required)", col);
        return -1;
    }
    if (!canon_utf8_valid(text)) {
        store_errf(err, "%s is not valid UTF-8", col);
        return -1;
    }
    return 0;
}

/* A required JSON column whose canonical form cj is known (so it parses):
 * not NULL and not JSON null. */
static int check_required_canon(const char *col, const char *text, const char *cj, char *err)
{
    if (!text) {
        store_errf(err, "%s is NULL (it is required)", col);
        return -1;
    }
    if (strcmp(cj, "null") == 0) {
        store_errf(err, "%s is JSON null (it is required)", col);
        return -1;
    }
    return 0;
}

/* migrate_check_row; with cj (the canonical python_version, grid_data and
 * code_cells of the row, from the same parse canon_json_scan does) the JSON
 * columns are not parsed again: the copy parses each column once. */
static int check_row(enum grid_table t, const struct grid_record *in,
                     struct grid_record *out, char *err, const char *const cj[3])
{
    *out = *in;
    if (check_required_text("ipb_version", in->ipb_version, err))
        return -1;
    if (cj ? check_required_canon("python_version", in->python_version, cj[0], err) ||
                 check_required_canon("grid_data", in->grid_data, cj[1], err)
           : check_required_json("python_version", in->python_version, err) ||
                 check_required_json("grid_data", in->grid_data, err))
        return -1;
    if (check_required_text("ipb_class", in->ipb_class, err))
        return -1;
    if (in->code_cells) {
        int is_null = 0;
        if (cj)
            is_null = strcmp(cj[2], "null") == 0;
        else if (canon_json_scan("code_cells", in->code_cells, NULL, &is_null, err))
            return -1;
        if (is_null)
            out->code_cells = NULL;
    }
    if (in->created_at && !canon_time_valid(in->created_at)) {
        /* The value is shown, but it is the row's data: control characters
         * (a newline would break the one-line message) and non-ASCII bytes
         * (a cut UTF-8 sequence) become '?'. */
        char shown[41];
        size_t n = 0;
        for (const char *c = in->created_at; *c && n < sizeof shown - 1; c++)
            shown[n++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
        shown[n] = '\0';
        store_errf(err, "created_at is not a UTC time in ISO 8601 (%s)", shown);
        return -1;
    }
    out->secret = in->secret < 0 ? (t == GRID_SECRET) : (in->secret != 0);
    return 0;
}

int migrate_check_row(enum grid_table t, const struct grid_record *in,
                      struct grid_record *out, char *err)
{
    return check_row(t, in, out, err, NULL);
}

/* --- progress -------------------------------------------------------------- */

struct progress {
    FILE *f;
    int tty;
    const char *what;       /* "copying", "verifying" */
    double start, last;
    double interval;        /* seconds: IPBORG_PROGRESS_SECONDS, default 1 */
    int64_t done, total;
    int open_line;          /* a \r line is on the terminal */
};

static void progress_start(struct progress *p, FILE *f, const char *what, int64_t total)
{
    p->f = f;
    p->tty = f && isatty(fileno(f));
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

/* Ends a \r line so that whatever follows starts on a line of its own. */
static void progress_break(struct progress *p)
{
    if (p->open_line) {
        fputc('\n', p->f);
        fflush(p->f);
        p->open_line = 0;
    }
}

static void progress_tick(struct progress *p)
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
        snprintf(line, sizeof line, "ipborg migrate: %s: %lld/%lld rows (%d%%), %.0f rows/s",
                 p->what, (long long)p->done, (long long)p->total,
                 (int)(100 * p->done / p->total), rate);
    else
        snprintf(line, sizeof line, "ipborg migrate: %s: %lld rows, %.0f rows/s",
                 p->what, (long long)p->done, rate);
    if (p->tty) {
        fprintf(p->f, "\r%-72s", line);
        p->open_line = 1;
    } else {
        fprintf(p->f, "%s\n", line);
    }
    fflush(p->f);
}

/* --- canonical rows and digests ------------------------------------------------ */

/* A 128-bit digest in two independent 64-bit lanes, both over 8-byte words
 * (bytes only for the tail): an FNV-1a-like multiply-xorshift, and a
 * mix64-based one with its own constants. Not
 * cryptographic: it guards against mistakes, not adversaries. */
struct digest {
    uint64_t a, b;
};

static void digest_init(struct digest *d)
{
    d->a = 0xcbf29ce484222325ull;
    d->b = 0x6a09e667f3bcc909ull;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static void digest_bytes(struct digest *d, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t a = d->a, b = d->b;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = (a ^ w) * 0x100000001b3ull;
        a ^= a >> 31;
        b = (b ^ mix64(w)) * 0x9e3779b97f4a7c15ull;
        b ^= b >> 29;
    }
    for (size_t j = i; j < n; j++) {
        a ^= p[j];
        a *= 0x100000001b3ull;
    }
    uint64_t tail = (uint64_t)n << 56;
    for (size_t k = 0; i < n; i++, k++)
        tail |= (uint64_t)p[i] << (8 * k);
    b = (b ^ mix64(tail)) * 0x9e3779b97f4a7c15ull;
    b ^= b >> 29;
    d->a = a, d->b = b;
}

/* A field: its length first, so that ("ab","c") and ("a","bc") differ. A
 * NULL field hashes as length UINT64_MAX. */
static void digest_field(struct digest *d, const char *s)
{
    uint64_t n = s ? (uint64_t)strlen(s) : UINT64_MAX;
    digest_bytes(d, &n, sizeof n);
    if (s)
        digest_bytes(d, s, (size_t)n);
}

/* One row in canonical form; strings malloc'd. problem: why the row could
 * not be put in canonical form (a JSON column does not parse). */
struct canon {
    int64_t id;
    char *ipb_version, *python_version, *grid_data, *code_cells, *ipb_class;
    int secret;
    char *created_at;
    char problem[STORE_ERRLEN];
};

static void canon_free(struct canon *c)
{
    free(c->ipb_version);
    free(c->python_version);
    free(c->grid_data);
    free(c->code_cells);
    free(c->ipb_class);
    free(c->created_at);
    memset(c, 0, sizeof *c);
}

/* Canonical text of a JSON column; NULL (and JSON null) -> "null". */
static char *canon_json(const char *col, const char *text, char *problem)
{
    if (!text)
        return strdup("null");
    struct buf b = BUF_INIT;
    if (canon_json_scan(col, text, &b, NULL, problem)) {
        buf_free(&b);
        return NULL;
    }
    char *c = buf_steal(&b);
    if (!c)
        store_errf(problem, "%s: out of memory", col);
    return c;
}


static void canon_make(struct canon *c, enum grid_table t, const struct grid_record *rec)
{
    memset(c, 0, sizeof *c);
    c->id = rec->id;
    c->secret = rec->secret < 0 ? (t == GRID_SECRET) : (rec->secret != 0);
    c->python_version = canon_json("python_version", rec->python_version, c->problem);
    if (c->python_version)
        c->grid_data = canon_json("grid_data", rec->grid_data, c->problem);
    if (c->grid_data)
        c->code_cells = canon_json("code_cells", rec->code_cells, c->problem);
    c->ipb_version = rec->ipb_version ? strdup(rec->ipb_version) : NULL;
    c->ipb_class = rec->ipb_class ? strdup(rec->ipb_class) : NULL;
    c->created_at = canon_time(rec->created_at);
    if (!c->problem[0] && (!c->code_cells || (rec->ipb_version && !c->ipb_version) ||
                           (rec->ipb_class && !c->ipb_class) ||
                           (rec->created_at && !c->created_at)))
        store_errf(c->problem, "out of memory");
}

/* created_at counts only where the source has one. */
static void canon_digest(struct digest *d, const struct canon *c, int with_time)
{
    char head[64];
    snprintf(head, sizeof head, "%lld/%d", (long long)c->id, c->secret);
    digest_field(d, head);
    digest_field(d, c->ipb_version);
    digest_field(d, c->python_version);
    digest_field(d, c->grid_data);
    digest_field(d, c->code_cells);
    digest_field(d, c->ipb_class);
    if (with_time)
        digest_field(d, c->created_at);
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The first column in which target row t differs from source row s, or NULL. */
static const char *canon_diff(const struct canon *s, const struct canon *t)
{
    if (!str_eq(s->ipb_version, t->ipb_version))
        return "ipb_version";
    if (!str_eq(s->python_version, t->python_version))
        return "python_version";
    if (!str_eq(s->grid_data, t->grid_data))
        return "grid_data";
    if (!str_eq(s->code_cells, t->code_cells))
        return "code_cells";
    if (!str_eq(s->ipb_class, t->ipb_class))
        return "ipb_class";
    if (s->secret != t->secret)
        return "secret";
    if (s->created_at && !str_eq(s->created_at, t->created_at))
        return "created_at";
    return NULL;
}

/* --- the run --------------------------------------------------------------- */

struct salts {
    char *pub, *sec;        /* both or neither; malloc'd */
};

static void salts_clear(struct salts *s)
{
    free(s->pub);
    free(s->sec);
    s->pub = s->sec = NULL;
}

static int salts_equal(const struct salts *a, const struct salts *b)
{
    return strcmp(a->pub, b->pub) == 0 && strcmp(a->sec, b->sec) == 0;
}

struct run {
    const char *from_url, *to_url;
    char from_shown[512], to_shown[512];   /* the URLs without passwords */
    int replace;
    FILE *out, *errf;
    struct progress pg;
    struct store *src, *dst;
    int64_t src_last[GRID_TABLES];  /* the source's high-water marks */
    int64_t deletions;              /* deletion log entries carried */
    int64_t src_rows[GRID_TABLES], src_max[GRID_TABLES];
    int64_t copied[GRID_TABLES], max_id[GRID_TABLES];
    struct salts want;          /* salts the target must end up with, if any */
    const char *salts_from;     /* where want came from, for the summary */
    /* Per table, folded in by the copy from each loaded source row in
     * canonical form, in id order: digests without [0] and with [1]
     * created_at, how many rows had a created_at, and whether a row could
     * not be canonicalised (then only the row-by-row comparison verifies). */
    struct digest copy_digest[GRID_TABLES][2];
    int64_t copy_timed[GRID_TABLES];
    int copy_uncanon[GRID_TABLES];
};

static void fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one line a failed run prints: backend messages may carry newlines
 * (a server's DETAIL), which become spaces. */
static void fail(struct run *r, const char *fmt, ...)
{
    progress_break(&r->pg);
    if (!r->errf)
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
    fprintf(r->errf, "ipborg migrate: %s\n", line);
    fflush(r->errf);
}

/* url for messages: passwords become *** (redact.h), since these lines end
 * up in logs. */
static void url_shown(const char *url, char *out, size_t n)
{
    redact(url, out, n);
}

/* --- salts ------------------------------------------------------------------- */

/* Reads a store's salts (store_salts_get). 0 with both or neither, -1
 * (message in err) on error or when only one is stored. */
static int read_salts(struct store *st, struct salts *s, char *err)
{
    int rc = store_salts_get(st, &s->pub, &s->sec, err);
    return rc == STORE_OK || rc == STORE_NOT_FOUND ? 0 : -1;
}

/* Equal salts would make secret URLs guessable: refused wherever they come
 * from. */
static int check_want(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    if (r->want.pub && store_salts_check(r->want.pub, r->want.sec, err) != 0) {
        fail(r, "%s (salts %s)", err, r->salts_from);
        return -1;
    }
    return 0;
}

/* Decides r->want from the source's stored salts and the environment. */
static int choose_salts(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    const char *epub = getenv("HASHIDS_PUBLIC_SALT");
    const char *esec = getenv("HASHIDS_SECRET_SALT");
    if ((epub == NULL) != (esec == NULL)) {
        fail(r, "set both HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT, or neither");
        return -1;
    }
    struct salts stored;
    if (read_salts(r->src, &stored, err) != 0) {
        fail(r, "reading the source's salts: %s", err);
        return -1;
    }
    if (epub) {
        struct salts env = {(char *)epub, (char *)esec};
        if (stored.pub && !salts_equal(&stored, &env)) {
            salts_clear(&stored);
            fail(r, "HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT differ from the salts stored "
                    "in the source: every grid URL would change. Unset them to copy the "
                    "stored salts");
            return -1;
        }
        r->salts_from = stored.pub ? "copied from the source (equal to the environment's)"
                                   : "from HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT";
        salts_clear(&stored);
        r->want.pub = strdup(epub);
        r->want.sec = strdup(esec);
        if (!r->want.pub || !r->want.sec) {
            fail(r, "out of memory");
            return -1;
        }
        return check_want(r);
    }
    r->want = stored;
    r->salts_from = stored.pub ? "copied from the source"
                               : "none (the source stores none and the environment gives none)";
    return check_want(r);
}

/* Inside the load transaction: gives the target r->want, or checks that the
 * salts it already stores cannot break the copied grids' URLs. */
static int write_salts(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    struct salts have;
    if (read_salts(r->dst, &have, err) != 0) {
        fail(r, "reading the target's salts: %s", err);
        return -1;
    }
    if (have.pub) {
        int ok = r->want.pub ? salts_equal(&have, &r->want)
                             : r->src_rows[GRID_PUBLIC] + r->src_rows[GRID_SECRET] == 0;
        salts_clear(&have);
        if (ok)
            return 0;
        if (r->want.pub)
            fail(r, "the target already stores hash-ID salts that differ from %s: the "
                    "copied grids would get other URLs (stored salts are never "
                    "overwritten; use a fresh target database)",
                 r->salts_from);
        else
            fail(r, "the target already stores hash-ID salts and the source stores none: "
                    "the copied grids would get URLs other than the old service's. Set "
                    "HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT to the old service's salts");
        return -1;
    }
    if (!r->want.pub)
        return 0;
    if (store_load_salts(r->dst, r->want.pub, r->want.sec, err) != STORE_OK) {
        fail(r, "writing the salts to the target: %s", err);
        return -1;
    }
    if (read_salts(r->dst, &have, err) != 0 || !have.pub ||
        !salts_equal(&have, &r->want)) {
        salts_clear(&have);
        fail(r, "the salts written to the target do not read back equal%s%s",
             err[0] ? ": " : "", err);
        return -1;
    }
    salts_clear(&have);
    return 0;
}

/* --- copying ------------------------------------------------------------------ */

struct copy_ctx {
    struct run *r;
    enum grid_table t;
    int failed;             /* the callback stopped the scan; msg says why */
    char msg[MSGLEN];
};

static int copy_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct copy_ctx *c = vctx;
    struct run *r = c->r;
    struct grid_record row;
    char why[STORE_ERRLEN] = "";
    const char *table = store_table_name(c->t);
    struct canon cn;
    canon_make(&cn, c->t, rec);
    const char *cj[3] = {cn.python_version, cn.grid_data, cn.code_cells};
    int canon_ok = !cn.problem[0];
    if (check_row(c->t, rec, &row, why, canon_ok ? cj : NULL) != 0) {
        snprintf(c->msg, sizeof c->msg, "%s id %lld: %s", table, (long long)rec->id, why);
        c->failed = 1;
        canon_free(&cn);
        return 1;
    }
    if (store_load_row(r->dst, c->t, &row, why) != STORE_OK) {
        snprintf(c->msg, sizeof c->msg, "writing %s id %lld to the target: %s", table,
                 (long long)rec->id, why);
        c->failed = 1;
        canon_free(&cn);
        return 1;
    }
    if (canon_ok) {
        canon_digest(&r->copy_digest[c->t][0], &cn, 0);
        canon_digest(&r->copy_digest[c->t][1], &cn, 1);
        if (cn.created_at)
            r->copy_timed[c->t]++;
    } else {
        r->copy_uncanon[c->t] = 1;
    }
    canon_free(&cn);
    r->copied[c->t]++;
    if (rec->id > r->max_id[c->t])
        r->max_id[c->t] = rec->id;
    progress_tick(&r->pg);
    return 0;
}

static int copy_table(struct run *r, enum grid_table t)
{
    struct copy_ctx c = {.r = r, .t = t};
    char err[STORE_ERRLEN] = "";
    int rc = store_scan(r->src, t, copy_row, &c, err);
    if (c.failed) {
        fail(r, "%s", c.msg);
        return -1;
    }
    if (rc != STORE_OK) {
        fail(r, "reading %s from the source: %s", store_table_name(t), err);
        return -1;
    }
    return 0;
}

/* Carries the deletion log and the high-water marks into the open load, so
 * that no id the source ever gave (a deleted grid's included) is given again
 * by the target. */
struct log_ctx {
    struct run *r;
    int failed;
    char msg[MSGLEN];
};

static int copy_deletion(void *vctx, const struct store_deletion *d, char *err)
{
    (void)err;
    struct log_ctx *x = vctx;
    char why[STORE_ERRLEN] = "";
    if (store_load_deletion(x->r->dst, d, why) != STORE_OK) {
        snprintf(x->msg, sizeof x->msg, "writing the deletion log to the target: %s", why);
        x->failed = 1;
        return 1;
    }
    x->r->deletions++;
    return 0;
}

static int copy_marks(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    struct log_ctx x = {.r = r};
    int rc = store_deletions_scan(r->src, copy_deletion, &x, err);
    if (x.failed || rc != STORE_OK) {
        fail(r, "%s", x.failed ? x.msg : err);
        return -1;
    }
    for (int t = 0; t < GRID_TABLES; t++) {
        enum grid_table tt = (enum grid_table)t;
        if (store_last_id(r->src, tt, &r->src_last[t], err) != STORE_OK) {
            fail(r, "reading the source's largest ids: %s", err);
            return -1;
        }
        if (store_load_last_id(r->dst, tt, r->src_last[t], err) != STORE_OK) {
            fail(r, "writing the target's largest ids: %s", err);
            return -1;
        }
    }
    return 0;
}

/* Opens both stores, loads, commits. 0 when committed. */
static int copy_all(struct run *r)
{
    char err[STORE_ERRLEN] = "";

    r->src = store_open(r->from_url, STORE_READONLY, err);
    if (!r->src) {
        fail(r, "cannot open the source %s: %s", r->from_shown, err);
        return -1;
    }
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_count(r->src, (enum grid_table)t, &r->src_rows[t], &r->src_max[t], err) !=
            STORE_OK) {
            fail(r, "reading the source %s: %s", r->from_shown, err);
            return -1;
        }
    if (choose_salts(r) != 0)
        return -1;

    r->dst = store_open(r->to_url, 0, err);
    if (!r->dst) {
        fail(r, "cannot open the target %s: %s", r->to_shown, err);
        return -1;
    }
    if (!r->replace) {
        int64_t rows[GRID_TABLES], max_id;
        for (int t = 0; t < GRID_TABLES; t++)
            if (store_count(r->dst, (enum grid_table)t, &rows[t], &max_id, err) != STORE_OK) {
                fail(r, "reading the target %s: %s", r->to_shown, err);
                return -1;
            }
        if (rows[GRID_PUBLIC] + rows[GRID_SECRET] > 0) {
            fail(r, "the target %s already holds %lld grids (public_grids %lld, "
                    "secret_grids %lld); nothing was written. Use --replace to drop them "
                    "and copy anyway",
                 r->to_shown, (long long)(rows[GRID_PUBLIC] + rows[GRID_SECRET]),
                 (long long)rows[GRID_PUBLIC], (long long)rows[GRID_SECRET]);
            return -1;
        }
    }

    if (store_load_begin(r->dst, r->replace, err) != STORE_OK) {
        fail(r, "the target %s: %s", r->to_shown, err);
        return -1;
    }
    progress_start(&r->pg, r->errf, "copying", r->src_rows[0] + r->src_rows[1]);
    int ok = write_salts(r) == 0 && copy_table(r, GRID_PUBLIC) == 0 &&
             copy_table(r, GRID_SECRET) == 0 && copy_marks(r) == 0;
    progress_break(&r->pg);
    if (!ok) {
        char err2[STORE_ERRLEN] = "";
        if (store_load_end(r->dst, 0, err2) != STORE_OK)
            fail(r, "rolling back the target: %s", err2);
        return -1;
    }
    if (store_load_end(r->dst, 1, err) != STORE_OK) {
        fail(r, "committing the target %s: %s (nothing was written)", r->to_shown, err);
        return -1;
    }
    return 0;
}

/* --- verification ---------------------------------------------------------------- */

/* The target's rows reach the main thread through a one-row hand-off: the
 * reader thread canonicalises a row, waits until the slot is empty, puts it
 * there; the main thread, scanning the source, takes one target row per
 * source row. stop tells the reader to give up (a difference was found). */
struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store *st;
    enum grid_table t;
    struct canon slot;
    int full, done, stop;
    int status;             /* the reader's scan result, once done */
    char err[STORE_ERRLEN];
};

static int reader_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct handoff *h = vctx;
    struct canon c;
    canon_make(&c, h->t, rec);
    pthread_mutex_lock(&h->mu);
    while (h->full && !h->stop)
        pthread_cond_wait(&h->cv, &h->mu);
    if (h->stop) {
        pthread_mutex_unlock(&h->mu);
        canon_free(&c);
        return 1;
    }
    h->slot = c;
    h->full = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void *reader_main(void *arg)
{
    struct handoff *h = arg;
    char err[STORE_ERRLEN] = "";
    int status = STORE_OK;
    status = store_scan(h->st, h->t, reader_row, h, err);
    /* The thread's connection is closed by store.c when the thread ends. */
    pthread_mutex_lock(&h->mu);
    h->done = 1;
    h->status = status;
    memcpy(h->err, err, sizeof h->err);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

struct verify_ctx {
    struct run *r;
    struct handoff *h;
    enum grid_table t;
    int64_t rows;
    struct digest ds, dt;
    int differs;            /* msg says how */
    char msg[MSGLEN];
};

/* Takes the next target row; 0 when the target has no more. */
static int take_target(struct handoff *h, struct canon *out)
{
    pthread_mutex_lock(&h->mu);
    while (!h->full && !h->done)
        pthread_cond_wait(&h->cv, &h->mu);
    int got = h->full;
    if (got) {
        *out = h->slot;
        memset(&h->slot, 0, sizeof h->slot);
        h->full = 0;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

static void target_ended(struct verify_ctx *v, const char *fmt, int64_t id)
{
    struct handoff *h = v->h;
    const char *table = store_table_name(v->t);
    if (h->status != STORE_OK)
        snprintf(v->msg, sizeof v->msg, "reading %s from the target: %s", table, h->err);
    else
        snprintf(v->msg, sizeof v->msg, fmt, table, (long long)id);
    v->differs = 1;
}

static int verify_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct verify_ctx *v = vctx;
    const char *table = store_table_name(v->t);
    struct canon s, t;
    canon_make(&s, v->t, rec);
    if (!take_target(v->h, &t)) {
        target_ended(v, "%s id %lld is missing from the target", s.id);
        canon_free(&s);
        return 1;
    }
    const char *col = NULL;
    if (s.problem[0])
        snprintf(v->msg, sizeof v->msg, "%s id %lld in the source: %s", table,
                 (long long)s.id, s.problem);
    else if (t.problem[0])
        snprintf(v->msg, sizeof v->msg, "%s id %lld in the target: %s", table,
                 (long long)t.id, t.problem);
    else if (s.id < t.id)
        snprintf(v->msg, sizeof v->msg, "%s id %lld is missing from the target", table,
                 (long long)s.id);
    else if (s.id > t.id)
        snprintf(v->msg, sizeof v->msg, "%s id %lld is in the target but not in the source",
                 table, (long long)t.id);
    else if ((col = canon_diff(&s, &t)) != NULL)
        snprintf(v->msg, sizeof v->msg, "%s id %lld: %s differs between source and target",
                 table, (long long)s.id, col);
    else {
        canon_digest(&v->ds, &s, s.created_at != NULL);
        canon_digest(&v->dt, &t, s.created_at != NULL);
        v->rows++;
        progress_tick(&v->r->pg);
    }
    int bad = v->msg[0] != '\0';
    v->differs |= bad;
    canon_free(&s);
    canon_free(&t);
    return bad;
}

/* Compares table t of the source and of the re-opened target row by row. 0
 * if equal; otherwise -1 with the difference in msg. */
static int verify_pairwise(struct run *r, struct store *dst, enum grid_table t, char *msg,
                           size_t msglen)
{
    struct handoff h = {.st = dst, .t = t};
    struct verify_ctx v = {.r = r, .h = &h, .t = t};
    digest_init(&v.ds);
    digest_init(&v.dt);
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, reader_main, &h) != 0) {
        snprintf(msg, msglen, "cannot start a thread: %s", strerror(errno));
        pthread_cond_destroy(&h.cv);
        pthread_mutex_destroy(&h.mu);
        return -1;
    }
    char err[STORE_ERRLEN] = "";
    int rc = store_scan(r->src, t, verify_row, &v, err);
    if (!v.differs && rc != STORE_OK) {
        snprintf(v.msg, sizeof v.msg, "reading %s from the source again: %s",
                 store_table_name(t), err);
        v.differs = 1;
    }
    if (!v.differs) {
        struct canon extra;
        if (take_target(&h, &extra)) {
            snprintf(v.msg, sizeof v.msg, "%s id %lld is in the target but not in the source",
                     store_table_name(t), (long long)extra.id);
            v.differs = 1;
            canon_free(&extra);
        } else if (h.status != STORE_OK) {
            target_ended(&v, "", 0);
        }
    }
    pthread_mutex_lock(&h.mu);
    h.stop = 1;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(th, NULL);
    canon_free(&h.slot);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);

    if (!v.differs && (v.ds.a != v.dt.a || v.ds.b != v.dt.b)) {
        snprintf(v.msg, sizeof v.msg, "%s: the digests differ", store_table_name(t));
        v.differs = 1;
    }
    if (v.differs) {
        snprintf(msg, msglen, "%s", v.msg);
        return -1;
    }
    progress_break(&r->pg);
    fprintf(r->out, "verification: %s: %lld rows in source and target, digest %016llx%016llx\n",
            store_table_name(t), (long long)v.rows, (unsigned long long)v.ds.a,
            (unsigned long long)v.ds.b);
    if (v.rows != r->copied[t]) {
        snprintf(msg, msglen, "%s: %lld rows copied but %lld rows verified (the source "
                 "changed during the migration?)", store_table_name(t),
                 (long long)r->copied[t], (long long)v.rows);
        return -1;
    }
    return 0;
}

/* The fast path: the target alone, in this thread, each row canonicalised and
 * folded into a digest with the variant the copy's rows call for. */
struct fast_ctx {
    struct run *r;
    enum grid_table t;
    int with_time;
    int64_t rows;
    struct digest d;
    char why[MSGLEN];       /* set when a target row cannot be canonicalised */
};

static int fast_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct fast_ctx *v = vctx;
    struct canon c;
    canon_make(&c, v->t, rec);
    int bad = c.problem[0] != '\0';
    if (bad)
        snprintf(v->why, sizeof v->why, "target id %lld: %s", (long long)c.id, c.problem);
    else {
        canon_digest(&v->d, &c, v->with_time);
        v->rows++;
        progress_tick(&v->r->pg);
    }
    canon_free(&c);
    return bad;
}

/* 0 when the target's table t has the copy's count and digest; otherwise -1
 * with the reason in why. */
static int verify_fast(struct run *r, struct store *dst, enum grid_table t, int with_time,
                       char *why, size_t whylen)
{
    struct fast_ctx v = {.r = r, .t = t, .with_time = with_time};
    digest_init(&v.d);
    char err[STORE_ERRLEN] = "";
    int rc = store_scan(dst, t, fast_row, &v, err);
    const struct digest *want = &r->copy_digest[t][with_time];
    if (v.why[0])
        snprintf(why, whylen, "%s", v.why);
    else if (rc != STORE_OK)
        snprintf(why, whylen, "reading the target: %s", err);
    else if (v.rows != r->copied[t])
        snprintf(why, whylen, "%lld rows copied, %lld in the target", (long long)r->copied[t],
                 (long long)v.rows);
    else if (v.d.a != want->a || v.d.b != want->b)
        snprintf(why, whylen, "the target's digest is not the copy's");
    else
        return 0;
    return -1;
}

/* Verifies table t: from the copy's digest when it can (every source row of
 * the table canonicalised, and all or none with a created_at), scanning the
 * target only; otherwise, or when that disagrees, row by row, which names
 * the first difference. One line on out says which path decided. */
static int verify_table(struct run *r, struct store *dst, enum grid_table t, char *msg,
                        size_t msglen)
{
    const char *table = store_table_name(t);
    char why[MSGLEN] = "";
    int tried = 0;
    if (r->copy_uncanon[t])
        snprintf(why, sizeof why, "a source row was not canonicalised");
    else if (r->copy_timed[t] != 0 && r->copy_timed[t] != r->copied[t])
        snprintf(why, sizeof why, "created_at in %lld of %lld source rows",
                 (long long)r->copy_timed[t], (long long)r->copied[t]);
    else {
        int with_time = r->copy_timed[t] != 0;
        tried = 1;
        if (verify_fast(r, dst, t, with_time, why, sizeof why) == 0) {
            const struct digest *d = &r->copy_digest[t][with_time];
            progress_break(&r->pg);
            fprintf(r->out, "verification: %s: %lld rows in source and target, digest "
                    "%016llx%016llx\n", table, (long long)r->copied[t],
                    (unsigned long long)d->a, (unsigned long long)d->b);
            fprintf(r->out, "verification: %s: fast path (the target against the copy's "
                    "digest)\n", table);
            return 0;
        }
    }
    progress_break(&r->pg);
    fprintf(r->out, "verification: %s: row by row (%s)\n", table, why);
    if (verify_pairwise(r, dst, t, msg, msglen) != 0)
        return -1;
    if (tried) {
        snprintf(msg, msglen, "%s: the digests differ (%s), though source and target now "
                 "compare equal row by row (the source changed during the migration?)",
                 table, why);
        return -1;
    }
    return 0;
}

static int verify_all(struct run *r)
{
    char err[STORE_ERRLEN] = "";
    char msg[MSGLEN] = "";
    struct store *dst = store_open(r->to_url, STORE_READONLY, err);
    if (!dst) {
        fprintf(r->out, "verification: FAILED: cannot re-open the target: %s\n", err);
        fail(r, "verification failed: cannot re-open the target %s: %s (the copy was "
                "committed)", r->to_shown, err);
        return -1;
    }
    progress_start(&r->pg, r->errf, "verifying", r->copied[0] + r->copied[1]);
    int rc = 0;
    for (int t = 0; t < GRID_TABLES && rc == 0; t++)
        rc = verify_table(r, dst, (enum grid_table)t, msg, sizeof msg);
    progress_break(&r->pg);
    if (rc == 0) {
        struct salts have = {0};
        if (read_salts(dst, &have, err) != 0) {
            snprintf(msg, sizeof msg, "reading the target's salts: %s", err);
            rc = -1;
        } else if (r->want.pub && (!have.pub || !salts_equal(&have, &r->want))) {
            snprintf(msg, sizeof msg, "the target's stored salts are not %s", r->salts_from);
            rc = -1;
        } else if (!r->want.pub && have.pub) {
            snprintf(msg, sizeof msg, "the target stores salts, the source none");
            rc = -1;
        }
        salts_clear(&have);
    }
    for (int t = 0; t < GRID_TABLES && rc == 0; t++) {
        int64_t last = 0;
        if (store_last_id(dst, (enum grid_table)t, &last, err) != STORE_OK) {
            snprintf(msg, sizeof msg, "reading the target's largest ids: %s", err);
            rc = -1;
        } else if (last < r->src_last[t]) {
            snprintf(msg, sizeof msg, "%s: the target would give id %lld again (the "
                     "source has given up to %lld)", store_table_name((enum grid_table)t),
                     (long long)last + 1, (long long)r->src_last[t]);
            rc = -1;
        }
    }
    store_close(dst);
    if (rc != 0) {
        fprintf(r->out, "verification: FAILED: %s\n", msg);
        fail(r, "verification failed: %s (the copy was committed)", msg);
        return -1;
    }
    fprintf(r->out, "verification: OK\n");
    fflush(r->out);
    return 0;
}

/* --- entry point ------------------------------------------------------------------ */

int migrate_run(const char *from_url, const char *to_url, int replace, FILE *out,
                FILE *progress)
{
    struct run r = {.from_url = from_url, .to_url = to_url, .replace = replace,
                    .out = out ? out : stdout, .errf = progress};
    if (!from_url || !*from_url || !to_url || !*to_url) {
        fail(&r, "both --from URL and --to URL are required");
        return 1;
    }
    url_shown(from_url, r.from_shown, sizeof r.from_shown);
    url_shown(to_url, r.to_shown, sizeof r.to_shown);
    if (store_same_database(from_url, to_url)) {
        fail(&r, "--from and --to name the same database (%s): a migration needs a "
                 "separate target", r.to_shown);
        return 1;
    }
    for (int t = 0; t < GRID_TABLES; t++) {
        digest_init(&r.copy_digest[t][0]);
        digest_init(&r.copy_digest[t][1]);
    }
    double start = now_seconds();
    int rc = copy_all(&r);
    double secs = now_seconds() - start;
    if (r.dst)
        store_close(r.dst);
    r.dst = NULL;
    if (rc == 0) {
        int64_t total = r.copied[0] + r.copied[1];
        for (int t = 0; t < GRID_TABLES; t++)
            fprintf(r.out, "%s: %lld rows copied (largest id %lld)\n",
                    store_table_name((enum grid_table)t), (long long)r.copied[t],
                    (long long)r.max_id[t]);
        fprintf(r.out, "ids given so far: public_grids %lld, secret_grids %lld (the "
                "target goes on from there); deletion log: %lld entries\n",
                (long long)r.src_last[0], (long long)r.src_last[1], (long long)r.deletions);
        fprintf(r.out, "salts: %s\n", r.salts_from);
        fprintf(r.out, "copied 2 tables, %lld rows in %.2f s (%.0f rows/s)\n",
                (long long)total, secs, secs > 0 ? (double)total / secs : 0.0);
        fflush(r.out);
        rc = verify_all(&r);
    }
    if (r.src)
        store_close(r.src);
    if (rc == 0 && !r.want.pub && r.copied[0] + r.copied[1] > 0 && progress)
        fprintf(progress, "ipborg migrate: the target stores no hash-ID salts (the source has "
                "none): set HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT to the old service's "
                "salts before serving it\n");
    salts_clear(&r.want);
    return rc == 0 ? 0 : 1;
}
