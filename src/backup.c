/* backup.c -- ipborg export, import and stats (docs/protocol.md §7; the format is in
 * backup.h).
 *
 * export. The database is opened STORE_READONLY, so nothing is ever written
 * to it: salts that come only from the environment are used, not stored
 * (store_resolve_salts). Each table is scanned in id order; every row passes
 * migrate_check_row (a row that could not be imported again stops the
 * export, naming table and id) and is written as one line, its JSON columns
 * and created_at in canonical form (canon.h). One line buffer is reused, so
 * memory is the largest row, whatever the number of rows.
 *
 * import. The header is read before the target is opened (a file that is
 * not an export creates nothing). Then, in one load transaction: the
 * header's salts are stored with meta_set, which inside a load overwrites
 * (store.h: the target's grids are all replaced, so its URLs must come from
 * the file's salts); each line is parsed once by jansson (canon_json_parse,
 * which refuses a repeated key anywhere in the line; export never writes
 * one), its JSON columns taken from the tree in canonical form, checked --
 * known keys only, tables in order and ids strictly increasing within a
 * table (which also rules out duplicates without remembering ids), the hash equal to the
 * hash of the id under the header's salts, migrate_check_row -- and handed
 * to load_row. Any bad line ends in load_end(commit=0): nothing written.
 *
 * Verification, after the commit. stdin cannot be read twice, so while
 * reading, each row's export line (the canonical form of what was read) goes
 * into a per-table digest; afterwards the target, re-opened read-only, is
 * scanned, each row rendered the same way and digested, and count and digest
 * must match, as must the stored salts. created_at needs care: a row without
 * one gets the target's default (PostgreSQL requires one), so for those rows
 * both sides digest it as null. Which rows those are is kept as runs of
 * consecutive ids (one run for a file from the old service), the one piece
 * of state that may grow with the file -- by runs, not by rows.
 *
 * stats. One aggregate query per table (the store's stats op), read-only. */
#include "backup.h"
#include "canon.h"
#include "config.h"
#include "hash.h"
#include "migrate.h"
#include "redact.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MSGLEN (2 * STORE_ERRLEN)
#define FORMAT_VERSION "1"

/* One line for the user: backend messages may carry line breaks. */
static void failf(FILE *msgs, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(FILE *msgs, const char *cmd, const char *fmt, ...)
{
    if (!msgs)
        return;
    char line[3 * STORE_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    redact_inplace(line, sizeof line);
    fprintf(msgs, "ipborg %s: %s\n", cmd, line);
    fflush(msgs);
}

/* --- rendering ----------------------------------------------------------------- */

/* A JSON column: with canonical, rec's text is already in canonical form
 * (import made it from its tree) and is appended as it is; else it is parsed
 * and written in canonical form. */
static int render_json(struct buf *out, const char *col, const char *text, int canonical,
                       char *err)
{
    if (canonical) {
        buf_puts(out, text);
        return 0;
    }
    return canon_json_scan(col, text, out, NULL, err);
}

static int render_row(struct buf *out, enum grid_table t, const struct grid_record *rec,
                      const struct hashid *h, int canonical, char *err)
{
    char hash[HASHID_MAX_LEN + 1];
    if (rec->id < 1 || hashid_encode(h, (uint64_t)rec->id, hash, sizeof hash) < 0) {
        store_errf(err, "id %lld cannot be hashed", (long long)rec->id);
        return -1;
    }
    buf_puts(out, "{\"table\":");
    canon_string(out, store_table_name(t));
    buf_printf(out, ",\"id\":%lld,\"hash\":", (long long)rec->id);
    canon_string(out, hash);
    buf_puts(out, ",\"ipb_version\":");
    canon_string(out, rec->ipb_version);
    buf_puts(out, ",\"python_version\":");
    if (render_json(out, "python_version", rec->python_version, canonical, err))
        return -1;
    buf_puts(out, ",\"grid_data\":");
    if (render_json(out, "grid_data", rec->grid_data, canonical, err))
        return -1;
    buf_puts(out, ",\"code_cells\":");
    if (rec->code_cells) {
        if (render_json(out, "code_cells", rec->code_cells, canonical, err))
            return -1;
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"ipb_class\":");
    canon_string(out, rec->ipb_class);
    buf_puts(out, rec->secret ? ",\"secret\":true,\"created_at\":" : ",\"secret\":false,"
                                                                     "\"created_at\":");
    if (rec->created_at) {
        char *c = canon_time(rec->created_at);
        if (!c) {
            store_errf(err, "out of memory");
            return -1;
        }
        canon_string(out, c);
        free(c);
    } else {
        buf_puts(out, "null");
    }
    buf_putc(out, '}');
    if (buf_failed(out)) {
        store_errf(err, "out of memory");
        return -1;
    }
    return 0;
}

int backup_render_row(struct buf *out, enum grid_table t, const struct grid_record *rec,
                      const struct hashid *h, char *err)
{
    return render_row(out, t, rec, h, 0, err);
}

static void render_header(struct buf *out, const char *pub, const char *sec,
                          const int64_t last[GRID_TABLES])
{
    buf_puts(out, "{\"ipborg_export\":" FORMAT_VERSION ",\"salts\":");
    if (pub) {
        buf_puts(out, "{\"public\":");
        canon_string(out, pub);
        buf_puts(out, ",\"secret\":");
        canon_string(out, sec);
        buf_putc(out, '}');
    } else {
        buf_puts(out, "null");
    }
    buf_printf(out, ",\"last_ids\":{\"public_grids\":%lld,\"secret_grids\":%lld}}",
               (long long)last[GRID_PUBLIC], (long long)last[GRID_SECRET]);
}

/* The line of one deletion log entry (without newline). */
static int render_deletion(struct buf *out, const struct store_deletion *d, char *err)
{
    buf_puts(out, "{\"deleted\":");
    canon_string(out, store_table_name(d->table));
    buf_printf(out, ",\"id\":%lld,\"deleted_at\":", (long long)d->id);
    char *c = d->deleted_at ? canon_time(d->deleted_at) : NULL;
    if (c)
        canon_string(out, c);
    else
        buf_puts(out, "null");
    free(c);
    buf_putc(out, '}');
    if (buf_failed(out) || (d->deleted_at && !c)) {
        store_errf(err, "out of memory");
        return -1;
    }
    return 0;
}

/* Both codecs, or -1. */
static int codecs_new(struct hashid *h[GRID_TABLES], const char *pub, const char *sec)
{
    h[GRID_PUBLIC] = hashid_new(pub, HASHID_MIN_LENGTH);
    h[GRID_SECRET] = hashid_new(sec, HASHID_MIN_LENGTH);
    return h[GRID_PUBLIC] && h[GRID_SECRET] ? 0 : -1;
}

static void codecs_free(struct hashid *h[GRID_TABLES])
{
    hashid_free(h[GRID_PUBLIC]);
    hashid_free(h[GRID_SECRET]);
    h[GRID_PUBLIC] = h[GRID_SECRET] = NULL;
}

/* --- export -------------------------------------------------------------------- */

struct export_ctx {
    FILE *out;
    struct hashid *h[GRID_TABLES];
    enum grid_table t;
    struct buf line;
    int64_t rows[GRID_TABLES];
    int64_t deletions;
    int failed;                 /* msg says why */
    char msg[MSGLEN];
};

static int export_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct export_ctx *x = vctx;
    struct grid_record row;
    char why[STORE_ERRLEN] = "";
    const char *table = store_table_name(x->t);
    buf_reset(&x->line);
    if (migrate_check_row(x->t, rec, &row, why) != 0 ||
        backup_render_row(&x->line, x->t, &row, x->h[x->t], why) != 0) {
        snprintf(x->msg, sizeof x->msg, "%s id %lld: %s (fix or delete the row)", table,
                 (long long)rec->id, why);
        x->failed = 1;
        return 1;
    }
    buf_putc(&x->line, '\n');
    if (buf_failed(&x->line) ||
        fwrite(x->line.data, 1, x->line.len, x->out) != x->line.len) {
        snprintf(x->msg, sizeof x->msg, "cannot write the output: %s",
                 buf_failed(&x->line) ? "out of memory" : strerror(errno));
        x->failed = 1;
        return 1;
    }
    x->rows[x->t]++;
    return 0;
}

static int export_deletion(void *vctx, const struct store_deletion *d, char *err)
{
    (void)err;
    struct export_ctx *x = vctx;
    char why[STORE_ERRLEN] = "";
    buf_reset(&x->line);
    if (render_deletion(&x->line, d, why) != 0) {
        snprintf(x->msg, sizeof x->msg, "deletion log entry %lld: %s", (long long)d->seq, why);
        x->failed = 1;
        return 1;
    }
    buf_putc(&x->line, '\n');
    if (buf_failed(&x->line) ||
        fwrite(x->line.data, 1, x->line.len, x->out) != x->line.len) {
        snprintf(x->msg, sizeof x->msg, "cannot write the output: %s",
                 buf_failed(&x->line) ? "out of memory" : strerror(errno));
        x->failed = 1;
        return 1;
    }
    x->deletions++;
    return 0;
}

int backup_export(const char *db_url, FILE *out, FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(db_url, STORE_READONLY, err);
    if (!st) {
        failf(msgs, "export", "%s", err);
        return 1;
    }
    char *pub = NULL, *sec = NULL;
    int rc = store_resolve_salts(st, getenv("HASHIDS_PUBLIC_SALT"),
                                 getenv("HASHIDS_SECRET_SALT"), 0, &pub, &sec, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        failf(msgs, "export", "%s", err);
        store_close(st);
        return 1;
    }
    /* STORE_NOT_FOUND: no grids and no salts anywhere: "salts":null. Grids
     * cannot appear meanwhile without salts being stored first (serve stores
     * them before it takes a post), but scan is checked below anyway. */
    struct export_ctx x = {.out = out};
    int status = 1;
    if (pub && codecs_new(x.h, pub, sec) != 0) {
        failf(msgs, "export", "out of memory");
        goto done;
    }
    int64_t last[GRID_TABLES] = {0, 0};
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_last_id(st, (enum grid_table)t, &last[t], err) != STORE_OK) {
            failf(msgs, "export", "%s", err);
            goto done;
        }
    render_header(&x.line, pub, sec, last);
    buf_putc(&x.line, '\n');
    if (buf_failed(&x.line) || fwrite(x.line.data, 1, x.line.len, out) != x.line.len) {
        failf(msgs, "export", "cannot write the output: %s", strerror(errno));
        goto done;
    }
    for (int t = 0; t < GRID_TABLES; t++) {
        x.t = (enum grid_table)t;
        if (!pub) {
            int64_t rows = 0, max_id = 0;
            if (store_count(st, x.t, &rows, &max_id, err) != STORE_OK || rows > 0) {
                failf(msgs, "export", "%s", rows > 0 ? "grids appeared in a database without "
                                                      "hash-ID salts" : err);
                goto done;
            }
            continue;
        }
        rc = store_scan(st, x.t, export_row, &x, err);
        if (x.failed) {
            failf(msgs, "export", "%s", x.msg);
            goto done;
        }
        if (rc != STORE_OK) {
            failf(msgs, "export", "reading %s: %s", store_table_name(x.t), err);
            goto done;
        }
    }
    rc = store_deletions_scan(st, export_deletion, &x, err);
    if (x.failed) {
        failf(msgs, "export", "%s", x.msg);
        goto done;
    }
    if (rc != STORE_OK) {
        failf(msgs, "export", "reading the deletion log: %s", err);
        goto done;
    }
    if (fflush(out) != 0 || ferror(out)) {
        failf(msgs, "export", "cannot write the output: %s", strerror(errno));
        goto done;
    }
    if (msgs) {
        fprintf(msgs, "ipborg export: %lld grids (public_grids %lld, secret_grids %lld), "
                "%lld deletion log entries\n",
                (long long)(x.rows[0] + x.rows[1]), (long long)x.rows[0],
                (long long)x.rows[1], (long long)x.deletions);
        fflush(msgs);
    }
    status = 0;
done:
    buf_free(&x.line);
    codecs_free(x.h);
    free(pub);
    free(sec);
    store_close(st);
    return status;
}

/* --- digests ----------------------------------------------------------------------- */

/* 128 bits in two independent lanes (FNV-1a over the bytes; hash64 of each
 * line, chained). Not cryptographic: it guards against mistakes. Lines
 * carry their table and id, so boundaries need no marking. */
struct digest {
    uint64_t a, b;
};

static void digest_init(struct digest *d)
{
    d->a = 0xcbf29ce484222325ull;
    d->b = 0x6a09e667f3bcc909ull;
}

static void digest_line(struct digest *d, const char *s, size_t n)
{
    uint64_t a = d->a;
    for (size_t i = 0; i < n; i++) {
        a ^= (unsigned char)s[i];
        a *= 0x100000001b3ull;
    }
    d->a = a;
    uint64_t b = (d->b ^ hash64(s, n)) * 0x9e3779b97f4a7c15ull;
    d->b = b ^ (b >> 29);
}

/* --- runs of ids without created_at ---------------------------------------------- */

struct id_run {
    int64_t lo, hi;
};

struct undated {
    struct id_run *runs;
    size_t n, cap;
    int open;           /* the previous row read was undated: extend runs[n-1] */
    size_t pos;         /* verification: first run not yet passed */
};

static int undated_add(struct undated *u, int64_t id)
{
    if (u->open) {
        u->runs[u->n - 1].hi = id;
        return 0;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 8;
        struct id_run *r = realloc(u->runs, cap * sizeof *r);
        if (!r)
            return -1;
        u->runs = r;
        u->cap = cap;
    }
    u->runs[u->n++] = (struct id_run){id, id};
    u->open = 1;
    return 0;
}

/* Ids come in increasing order during verification. */
static int undated_has(struct undated *u, int64_t id)
{
    while (u->pos < u->n && u->runs[u->pos].hi < id)
        u->pos++;
    return u->pos < u->n && u->runs[u->pos].lo <= id;
}

/* --- import: one line ------------------------------------------------------------- */

enum field {
    F_TABLE, F_ID, F_HASH, F_IPB_VERSION, F_PYTHON_VERSION, F_GRID_DATA, F_CODE_CELLS,
    F_IPB_CLASS, F_SECRET, F_CREATED_AT, N_FIELDS
};

static const char *const field_names[N_FIELDS] = {
    "table", "id", "hash", "ipb_version", "python_version", "grid_data", "code_cells",
    "ipb_class", "secret", "created_at",
};

/* Optional fields read as null when absent. */
static const int field_required[N_FIELDS] = {1, 1, 1, 1, 1, 1, 0, 1, 1, 0};

/* The members of object o by names into vals[0..n) (NULL when absent); a key
 * not in names is an error. jansson (JSON_REJECT_DUPLICATES) has already
 * refused a repeated key. 0, or -1 with one line in err. */
static int take_members(json_t *o, const char *const *names, int n, json_t **vals,
                        char *err)
{
    memset(vals, 0, (size_t)n * sizeof *vals);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        int i = 0;
        while (i < n && strcmp(key, names[i]) != 0)
            i++;
        if (i == n) {
            store_errf(err, "unknown key \"%.60s\"", key);
            return -1;
        }
        vals[i] = val;
    }
    return 0;
}

/* A string field, or NULL for JSON null or absent (allowed when nullable).
 * *out malloc'd. */
static int take_string(const json_t *v, const char *name, int nullable, char **out,
                       char *err)
{
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (nullable)
            return 0;
        store_errf(err, "%s is null (it is required)", name);
        return -1;
    }
    if (!json_is_string(v)) {
        store_errf(err, "%s is not a string", name);
        return -1;
    }
    /* Valid UTF-8 without NUL: jansson checked, without JSON_ALLOW_NUL. */
    if (!(*out = strdup(json_string_value(v)))) {
        store_errf(err, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

/* A positive integer (1, not 1.0 or "1"). as_reals: the line held an integer
 * beyond 64 bits, so jansson read every integer as a double; then an
 * integral double of at most 2^53 (exact) is taken. */
static int take_id(const json_t *v, int as_reals, int64_t *id, char *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 1) {
        *id = (int64_t)json_integer_value(v);
        return 0;
    }
    if (as_reals && json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 1 && d <= 9007199254740992.0 && d == (double)(int64_t)d) {
            *id = (int64_t)d;
            return 0;
        }
    }
    store_errf(err, "id is not a positive integer");
    return -1;
}

/* The canonical text of a JSON column's value, malloc'd. */
static int take_json(const json_t *v, const char *name, char **out, char *err)
{
    struct buf b = BUF_INIT;
    canon_json_write(&b, v);
    if (!(*out = buf_steal(&b))) {
        buf_free(&b);
        store_errf(err, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

struct parsed {
    int deletion;               /* a deletion log line: t, rec.id, rec.created_at
                                 * (its deleted_at) only */
    enum grid_table t;
    char *hash;
    struct grid_record rec;     /* every string malloc'd; the JSON columns in
                                 * canonical form (NULL when absent) */
};

static void parsed_clear(struct parsed *p)
{
    free(p->hash);
    free(p->rec.ipb_version);
    free(p->rec.ipb_class);
    free(p->rec.created_at);
    free(p->rec.python_version);
    free(p->rec.grid_data);
    free(p->rec.code_cells);
    memset(p, 0, sizeof *p);
}

/* The fields of one grid line's object. 0, or -1 with one line in err. */
static int parse_fields(json_t *o, int as_reals, struct parsed *p, char *err)
{
    json_t *f[N_FIELDS];
    if (!json_is_object(o)) {
        store_errf(err, "not a JSON object");
        return -1;
    }
    if (take_members(o, field_names, N_FIELDS, f, err) != 0)
        return -1;
    for (int i = 0; i < N_FIELDS; i++)
        if (field_required[i] && !f[i]) {
            store_errf(err, "key \"%s\" is missing", field_names[i]);
            return -1;
        }
    char *table = NULL;
    if (take_string(f[F_TABLE], "table", 0, &table, err))
        return -1;
    int known = 1;
    if (strcmp(table, "public_grids") == 0)
        p->t = GRID_PUBLIC;
    else if (strcmp(table, "secret_grids") == 0)
        p->t = GRID_SECRET;
    else
        known = 0;
    if (!known)
        store_errf(err, "table \"%.40s\" is neither public_grids nor secret_grids", table);
    free(table);
    if (!known)
        return -1;
    if (take_id(f[F_ID], as_reals, &p->rec.id, err) ||
        take_string(f[F_HASH], "hash", 0, &p->hash, err) ||
        take_string(f[F_IPB_VERSION], "ipb_version", 1, &p->rec.ipb_version, err) ||
        take_string(f[F_IPB_CLASS], "ipb_class", 1, &p->rec.ipb_class, err) ||
        take_string(f[F_CREATED_AT], "created_at", 1, &p->rec.created_at, err))
        return -1;
    if (json_is_boolean(f[F_SECRET])) {
        p->rec.secret = json_is_true(f[F_SECRET]);
    } else {
        store_errf(err, "secret is neither true nor false");
        return -1;
    }
    if (take_json(f[F_PYTHON_VERSION], "python_version", &p->rec.python_version, err) ||
        take_json(f[F_GRID_DATA], "grid_data", &p->rec.grid_data, err) ||
        (f[F_CODE_CELLS] &&
         take_json(f[F_CODE_CELLS], "code_cells", &p->rec.code_cells, err)))
        return -1;
    return 0;
}

/* Parses one grid line: one jansson parse (a repeated key anywhere in the
 * line is refused; export never writes one), the fields taken from the tree.
 * 0, or -1 with one line in err (then p may hold some fields: parsed_clear). */
/* A deletion log line: {"deleted":TABLE,"id":N,"deleted_at":TIME|null}. */
static int parse_deletion(json_t *o, int as_reals, struct parsed *p, char *err)
{
    static const char *const names[] = {"deleted", "id", "deleted_at"};
    json_t *f[3];
    char *table = NULL;
    p->deletion = 1;
    if (take_members(o, names, 3, f, err) != 0)
        return -1;
    if (!f[1]) {
        store_errf(err, "key \"id\" is missing");
        return -1;
    }
    if (take_string(f[0], "deleted", 0, &table, err))
        return -1;
    int known = strcmp(table, "public_grids") == 0 || strcmp(table, "secret_grids") == 0;
    p->t = strcmp(table, "secret_grids") == 0 ? GRID_SECRET : GRID_PUBLIC;
    if (!known)
        store_errf(err, "deleted \"%.40s\" is neither public_grids nor secret_grids", table);
    free(table);
    if (!known || take_id(f[1], as_reals, &p->rec.id, err) ||
        take_string(f[2], "deleted_at", 1, &p->rec.created_at, err))
        return -1;
    if (p->rec.created_at && !canon_time_valid(p->rec.created_at)) {
        store_errf(err, "deleted_at is not a UTC time in ISO 8601");
        return -1;
    }
    return 0;
}

static int parse_row(const char *line, struct parsed *p, char *err)
{
    int as_reals = 0;
    memset(p, 0, sizeof *p);
    json_t *o = canon_json_parse("the line", line, JSON_REJECT_DUPLICATES, &as_reals, err);
    if (!o)
        return -1;
    int rc = json_is_object(o) && json_object_get(o, "deleted")
                 ? parse_deletion(o, as_reals, p, err)
                 : parse_fields(o, as_reals, p, err);
    json_decref(o);
    return rc;
}

/* --- import: the header ------------------------------------------------------------ */

struct header {
    char *pub, *sec;        /* both or neither (the file has "salts":null) */
    int64_t last[GRID_TABLES];   /* "last_ids", 0 when absent (an older file) */
};

static void header_clear(struct header *h)
{
    free(h->pub);
    free(h->sec);
    h->pub = h->sec = NULL;
}

static int header_fields(json_t *o, struct header *h, char *err)
{
    static const char *const names[] = {"ipborg_export", "salts", "last_ids"};
    static const char *const salt_names[] = {"public", "secret"};
    static const char *const table_names[] = {"public_grids", "secret_grids"};
    json_t *f[3], *s[2], *l[2];
    char why[STORE_ERRLEN] = "";
    if (!json_is_object(o) || take_members(o, names, 3, f, why) != 0) {
        store_errf(err, "not an ipborg export header (%s)", why[0] ? why : "not a JSON object");
        return -1;
    }
    if (!f[0] || !f[1]) {
        store_errf(err, "not an ipborg export header (it needs \"ipborg_export\" and "
                   "\"salts\")");
        return -1;
    }
    if (!json_is_integer(f[0]) || json_integer_value(f[0]) != atoi(FORMAT_VERSION)) {
        struct buf v = BUF_INIT;
        canon_json_write(&v, f[0]);
        store_errf(err, "export format %.20s is not supported (this ipborg reads format "
                   FORMAT_VERSION ")", v.data ? v.data : "?");
        buf_free(&v);
        return -1;
    }
    if (f[2]) {
        if (!json_is_object(f[2]) || take_members(f[2], table_names, 2, l, why) != 0 ||
            !l[0] || !l[1] || !json_is_integer(l[0]) || !json_is_integer(l[1]) ||
            json_integer_value(l[0]) < 0 || json_integer_value(l[1]) < 0) {
            store_errf(err, "\"last_ids\" must be {\"public_grids\": N, \"secret_grids\": "
                       "N} with integers N >= 0%s%s", why[0] ? ": " : "", why);
            return -1;
        }
        h->last[GRID_PUBLIC] = json_integer_value(l[0]);
        h->last[GRID_SECRET] = json_integer_value(l[1]);
    }
    if (json_is_null(f[1]))
        return 0;
    if (!json_is_object(f[1]) || take_members(f[1], salt_names, 2, s, why) != 0 || !s[0] ||
        !s[1]) {
        store_errf(err, "\"salts\" must be null or {\"public\": \"...\", \"secret\": "
                   "\"...\"}%s%s", why[0] ? ": " : "", why);
        return -1;
    }
    if (take_string(s[0], "salts.public", 0, &h->pub, err) ||
        take_string(s[1], "salts.secret", 0, &h->sec, err) ||
        store_salts_check(h->pub, h->sec, err) != 0) {
        header_clear(h);
        return -1;
    }
    return 0;
}

static int parse_header(const char *line, struct header *h, char *err)
{
    char why[STORE_ERRLEN] = "";
    h->pub = h->sec = NULL;
    json_t *o = canon_json_parse("the line", line, JSON_REJECT_DUPLICATES, NULL, why);
    if (!o) {
        store_errf(err, "not an ipborg export header (%s)", why);
        return -1;
    }
    int rc = header_fields(o, h, err);
    json_decref(o);
    return rc;
}

/* --- import: the run ---------------------------------------------------------------- */

struct import_run {
    FILE *in, *out, *msgs;
    int replace;
    char *line;                 /* getline's buffer */
    size_t line_cap;
    long long line_no;
    struct header hdr;
    struct hashid *h[GRID_TABLES];
    struct store *dst;
    struct buf render;
    int64_t deletions;          /* deletion log lines read */
    struct digest log_dg;       /* their lines */
    int64_t rows[GRID_TABLES], max_id[GRID_TABLES];
    struct digest dg[GRID_TABLES];
    struct undated und[GRID_TABLES];
};

/* The next line without its newline, or NULL at the end (or on a read
 * error: *error set). */
static char *next_line(struct import_run *r, int *error)
{
    errno = 0;
    ssize_t n = getline(&r->line, &r->line_cap, r->in);
    if (n < 0) {
        *error = ferror(r->in) != 0;
        return NULL;
    }
    r->line_no++;
    if (n > 0 && r->line[n - 1] == '\n')
        r->line[--n] = '\0';
    if (strlen(r->line) != (size_t)n) {
        *error = 2;
        return NULL;
    }
    return r->line;
}

/* One deletion log line into the open load; its line goes into the log's
 * digest. 0, or -1 with one line in err. */
static int load_deletion(struct import_run *r, const struct parsed *p, char *err)
{
    char why[STORE_ERRLEN] = "";
    struct store_deletion d = {.seq = r->deletions + 1, .table = p->t, .id = p->rec.id,
                               .deleted_at = p->rec.created_at};
    buf_reset(&r->render);
    if (render_deletion(&r->render, &d, why) != 0 ||
        store_load_deletion(r->dst, &d, why) != STORE_OK) {
        snprintf(err, MSGLEN, "deletion of %s id %lld: %s", store_table_name(p->t),
                 (long long)p->rec.id, why);
        return -1;
    }
    digest_line(&r->log_dg, r->render.data, r->render.len);
    r->deletions++;
    return 0;
}

/* Reads every grid line into the open load. 0, or -1 after printing why. */
static int load_lines(struct import_run *r)
{
    int cur_table = -1;
    int64_t last_id = 0;
    char err[MSGLEN], why[STORE_ERRLEN];
    for (;;) {
        int error = 0;
        char *line = next_line(r, &error);
        if (!line) {
            if (error == 2) {
                failf(r->msgs, "import", "line %lld: holds a NUL byte", r->line_no);
                return -1;
            }
            if (error) {
                failf(r->msgs, "import", "reading the input: %s", strerror(errno));
                return -1;
            }
            return 0;
        }
        struct parsed p;
        err[0] = why[0] = '\0';
        if (parse_row(line, &p, err) != 0) {
            failf(r->msgs, "import", "line %lld: %s; nothing was written", r->line_no, err);
            parsed_clear(&p);
            return -1;
        }
        if (p.deletion) {
            int drc = load_deletion(r, &p, err);
            parsed_clear(&p);
            if (drc != 0) {
                failf(r->msgs, "import", "line %lld: %s; nothing was written", r->line_no, err);
                return -1;
            }
            continue;
        }
        const char *table = store_table_name(p.t);
        int rc = 0;
        char hash[HASHID_MAX_LEN + 1] = "";
        if (r->deletions > 0) {
            snprintf(err, sizeof err, "a grid after the deletion log: grids come first");
            rc = -1;
        } else if (!r->h[0]) {
            snprintf(err, sizeof err, "the header has no salts, so the file cannot hold "
                     "grids (the file is inconsistent)");
            rc = -1;
        } else if ((int)p.t < cur_table) {
            snprintf(err, sizeof err, "%s after secret_grids: rows must come in table, "
                     "then id order", table);
            rc = -1;
        } else if ((int)p.t == cur_table && p.rec.id <= last_id) {
            snprintf(err, sizeof err, "%s id %lld after id %lld: ids must be increasing "
                     "(each id once)", table, (long long)p.rec.id, (long long)last_id);
            rc = -1;
        } else if (hashid_encode(r->h[p.t], (uint64_t)p.rec.id, hash, sizeof hash) < 0 ||
                   strcmp(hash, p.hash) != 0) {
            snprintf(err, sizeof err, "hash \"%.40s\" is not the hash of %s id %lld under "
                     "the header's salts (\"%s\"): the file is inconsistent", p.hash, table,
                     (long long)p.rec.id, hash);
            rc = -1;
        }
        struct grid_record row;
        if (rc == 0 && migrate_check_row(p.t, &p.rec, &row, why) != 0) {
            snprintf(err, sizeof err, "%s id %lld: %s", table, (long long)p.rec.id, why);
            rc = -1;
        }
        if (rc == 0) {
            buf_reset(&r->render);
            /* The JSON columns are canonical already (parse_row): not
             * parsed a third time. */
            if (render_row(&r->render, p.t, &row, r->h[p.t], 1, why) != 0) {
                snprintf(err, sizeof err, "%s id %lld: %s", table, (long long)p.rec.id, why);
                rc = -1;
            }
        }
        if (rc == 0 && store_load_row(r->dst, p.t, &row, why) != STORE_OK) {
            snprintf(err, sizeof err, "writing %s id %lld: %s", table, (long long)p.rec.id,
                     why);
            rc = -1;
        }
        if (rc == 0 && !row.created_at && undated_add(&r->und[p.t], row.id) != 0) {
            snprintf(err, sizeof err, "out of memory");
            rc = -1;
        }
        if (rc == 0 && row.created_at)
            r->und[p.t].open = 0;   /* a dated row ends the run */
        if (rc != 0) {
            failf(r->msgs, "import", "line %lld: %s; nothing was written", r->line_no, err);
            parsed_clear(&p);
            return -1;
        }
        digest_line(&r->dg[p.t], r->render.data, r->render.len);
        r->rows[p.t]++;
        r->max_id[p.t] = p.rec.id;
        cur_table = (int)p.t;
        last_id = p.rec.id;
        parsed_clear(&p);
    }
}

/* Stores the header's salts inside the load (overwriting: store.h). */
static int store_file_salts(struct import_run *r)
{
    char err[STORE_ERRLEN] = "";
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_load_last_id(r->dst, (enum grid_table)t, r->hdr.last[t], err) != STORE_OK) {
            failf(r->msgs, "import", "storing the largest ids: %s; nothing was written", err);
            return -1;
        }
    if (!r->hdr.pub)
        return 0;
    if (store_load_salts(r->dst, r->hdr.pub, r->hdr.sec, err) != STORE_OK) {
        failf(r->msgs, "import", "storing the salts: %s; nothing was written", err);
        return -1;
    }
    return 0;
}

/* --- import: verification -------------------------------------------------------------- */

struct verify_ctx {
    struct import_run *r;
    enum grid_table t;
    int64_t rows;
    struct digest dg;
    int failed;
    char msg[MSGLEN];
};

static int verify_row(void *vctx, const struct grid_record *rec, char *err)
{
    (void)err;
    struct verify_ctx *v = vctx;
    struct import_run *r = v->r;
    struct grid_record row;
    char why[STORE_ERRLEN] = "";
    buf_reset(&r->render);
    if (migrate_check_row(v->t, rec, &row, why) == 0) {
        if (undated_has(&r->und[v->t], row.id))
            row.created_at = NULL;   /* the target's default filled it in */
        if (backup_render_row(&r->render, v->t, &row, r->h[v->t], why) == 0) {
            digest_line(&v->dg, r->render.data, r->render.len);
            v->rows++;
            return 0;
        }
    }
    snprintf(v->msg, sizeof v->msg, "%s id %lld in the target: %s", store_table_name(v->t),
             (long long)rec->id, why);
    v->failed = 1;
    return 1;
}

struct log_verify {
    struct import_run *r;
    int64_t n;
    struct digest dg;
    int failed;
};

static int verify_deletion(void *vctx, const struct store_deletion *d, char *err)
{
    struct log_verify *v = vctx;
    buf_reset(&v->r->render);
    if (render_deletion(&v->r->render, d, err) != 0) {
        v->failed = 1;
        return 1;
    }
    digest_line(&v->dg, v->r->render.data, v->r->render.len);
    v->n++;
    return 0;
}

static int verify(struct import_run *r, const char *url)
{
    char err[STORE_ERRLEN] = "";
    char msg[MSGLEN] = "";
    struct store *st = store_open(url, STORE_READONLY, err);
    if (!st) {
        failf(r->msgs, "import", "verification failed: cannot re-open the target: %s (the "
              "import was committed)", err);
        return -1;
    }
    for (int t = 0; t < GRID_TABLES && !msg[0]; t++) {
        struct verify_ctx v = {.r = r, .t = (enum grid_table)t};
        digest_init(&v.dg);
        r->und[t].pos = 0;
        int rc = store_scan(st, v.t, verify_row, &v, err);
        const char *table = store_table_name(v.t);
        if (v.failed)
            snprintf(msg, sizeof msg, "%s", v.msg);
        else if (rc != STORE_OK)
            snprintf(msg, sizeof msg, "reading %s: %s", table, err);
        else if (v.rows != r->rows[t])
            snprintf(msg, sizeof msg, "%s: %lld rows in the file but %lld in the target",
                     table, (long long)r->rows[t], (long long)v.rows);
        else if (v.dg.a != r->dg[t].a || v.dg.b != r->dg[t].b)
            snprintf(msg, sizeof msg, "%s: the rows in the target differ from the file's",
                     table);
        else
            fprintf(r->out, "verification: %s: %lld rows in file and target, digest "
                    "%016llx%016llx\n", table, (long long)v.rows,
                    (unsigned long long)v.dg.a, (unsigned long long)v.dg.b);
    }
    if (!msg[0]) {
        char *pub = NULL, *sec = NULL;
        int rc = store_salts_get(st, &pub, &sec, err);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND)
            snprintf(msg, sizeof msg, "reading the target's salts: %s", err);
        else if ((r->hdr.pub == NULL) != (pub == NULL) ||
                 (pub && (strcmp(pub, r->hdr.pub) != 0 || strcmp(sec, r->hdr.sec) != 0)))
            snprintf(msg, sizeof msg, "the target's stored salts are not the file's");
        free(pub);
        free(sec);
    }
    for (int t = 0; t < GRID_TABLES && !msg[0]; t++) {
        int64_t last = 0;
        if (store_last_id(st, (enum grid_table)t, &last, err) != STORE_OK)
            snprintf(msg, sizeof msg, "reading the target's largest ids: %s", err);
        else if (last < r->hdr.last[t])
            snprintf(msg, sizeof msg, "%s: the target would give id %lld again",
                     store_table_name((enum grid_table)t), (long long)last + 1);
    }
    if (!msg[0]) {
        struct log_verify lv = {.r = r};
        digest_init(&lv.dg);
        int rc = store_deletions_scan(st, verify_deletion, &lv, err);
        if (lv.failed || rc != STORE_OK)
            snprintf(msg, sizeof msg, "reading the target's deletion log: %s", err);
        else if (lv.n != r->deletions || lv.dg.a != r->log_dg.a || lv.dg.b != r->log_dg.b)
            snprintf(msg, sizeof msg, "the target's deletion log is not the file's");
        else
            fprintf(r->out, "verification: deletion log: %lld entries\n", (long long)lv.n);
    }
    store_close(st);
    if (msg[0]) {
        fprintf(r->out, "verification: FAILED: %s\n", msg);
        fflush(r->out);
        failf(r->msgs, "import", "verification failed: %s (the import was committed)", msg);
        return -1;
    }
    fprintf(r->out, "verification: OK\n");
    fflush(r->out);
    return 0;
}

int backup_import(const char *db_url, int replace, FILE *in, FILE *out, FILE *msgs)
{
    struct import_run r = {.in = in, .out = out, .msgs = msgs, .replace = replace};
    char err[STORE_ERRLEN] = "";
    int status = 1, loading = 0;
    for (int t = 0; t < GRID_TABLES; t++)
        digest_init(&r.dg[t]);
    digest_init(&r.log_dg);

    int error = 0;
    char *line = next_line(&r, &error);
    if (!line) {
        failf(msgs, "import", "%s", error == 2 ? "line 1: holds a NUL byte"
                                   : error ? "cannot read the input"
                                           : "the input is empty: expected an export "
                                             "(ipborg export --db-url URL > file)");
        goto done;
    }
    if (parse_header(line, &r.hdr, err) != 0) {
        failf(msgs, "import", "line 1: %s; nothing was written", err);
        goto done;
    }
    if (r.hdr.pub && codecs_new(r.h, r.hdr.pub, r.hdr.sec) != 0) {
        failf(msgs, "import", "line 1: the salts cannot be used (out of memory or over "
              "1 MiB)");
        goto done;
    }

    r.dst = store_open(db_url, 0, err);
    if (!r.dst) {
        failf(msgs, "import", "cannot open the target: %s", err);
        goto done;
    }
    if (store_load_begin(r.dst, replace, err) != STORE_OK) {
        failf(msgs, "import", "%s; nothing was written", err);
        goto done;
    }
    loading = 1;
    if (store_file_salts(&r) != 0 || load_lines(&r) != 0)
        goto done;
    loading = 0;
    if (store_load_end(r.dst, 1, err) != STORE_OK) {
        failf(msgs, "import", "committing: %s; nothing was written", err);
        goto done;
    }
    store_close(r.dst);
    r.dst = NULL;
    for (int t = 0; t < GRID_TABLES; t++)
        fprintf(out, "%s: %lld rows imported (largest id %lld)\n",
                store_table_name((enum grid_table)t), (long long)r.rows[t],
                (long long)r.max_id[t]);
    fprintf(out, "deletion log: %lld entries imported\n", (long long)r.deletions);
    fprintf(out, "salts: %s\n", r.hdr.pub ? "stored from the file" : "none in the file");
    fflush(out);
    status = verify(&r, db_url) == 0 ? 0 : 1;
done:
    if (loading) {
        char ignored[STORE_ERRLEN];
        store_load_end(r.dst, 0, ignored);
    }
    if (r.dst)
        store_close(r.dst);
    buf_free(&r.render);
    codecs_free(r.h);
    header_clear(&r.hdr);
    for (int t = 0; t < GRID_TABLES; t++)
        free(r.und[t].runs);
    free(r.line);
    return status;
}

/* --- stats --------------------------------------------------------------------------- */

static void print_time(FILE *out, const char *label, const char *t)
{
    char *c = t[0] ? canon_time(t) : NULL;
    fprintf(out, ", %s %s", label, c ? c : "none");
    free(c);
}

int backup_stats(const char *db_url, FILE *out, FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(db_url, STORE_READONLY, err);
    if (!st) {
        failf(msgs, "stats", "%s", err);
        return 1;
    }
    struct store_stats s[GRID_TABLES];
    for (int t = 0; t < GRID_TABLES; t++)
        if (store_stats(st, (enum grid_table)t, &s[t], err) != STORE_OK) {
            failf(msgs, "stats", "%s", err);
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

/* --- the command line ---------------------------------------------------------------- */

static const char *const usages[] = {
    "usage: ipborg export [--db-url URL] > grids.jsonl\n"
    "\n"
    "Writes every grid of both tables as JSON Lines: a header with the hash-ID\n"
    "salts, then one line per grid (public_grids, then secret_grids, in id order).\n"
    "The database is opened read-only. Salts: HASHIDS_PUBLIC_SALT and\n"
    "HASHIDS_SECRET_SALT if set, else the stored ones. --db-url defaults to\n"
    "DATABASE_URL, else " CONFIG_DEFAULT_DB_URL ".\n",

    "usage: ipborg import [--db-url URL] [--replace] < grids.jsonl\n"
    "\n"
    "Loads a file made by ipborg export, ids kept, in one transaction, and stores\n"
    "its salts, so every URL stays the same; then verifies the target against the\n"
    "file. A target that already holds grids is refused unless --replace, which\n"
    "drops its grids first. A bad line stops the import and nothing is written.\n"
    "Restart servers on that database afterwards (they read the salts at start).\n",

    "usage: ipborg stats [--db-url URL]\n"
    "\n"
    "Prints per table the number of grids, their size in bytes (stored text and\n"
    "JSON columns), and the oldest and newest created_at (rows of the old service\n"
    "have none). Read-only.\n",
};

int backup_command(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db-url", required_argument, 0, 'd'},
        {"replace", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *cmd = argv[0];
    int which = !strcmp(cmd, "export") ? 0 : !strcmp(cmd, "import") ? 1 : 2;
    const char *url = NULL;
    int replace = 0, o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'd': url = optarg; break;
        case 'r':
            if (which != 1) {
                fprintf(stderr, "ipborg %s: unknown option '--replace' (see ipborg %s "
                        "--help)\n", cmd, cmd);
                return 2;
            }
            replace = 1;
            break;
        case 'h':
            fputs(usages[which], stdout);
            return 0;
        case ':':
            fprintf(stderr, "ipborg %s: option %s needs a value\n", cmd, argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ipborg %s: unknown option '%s' (see ipborg %s --help)\n", cmd,
                    argv[optind - 1], cmd);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipborg %s: unexpected argument '%s' (see ipborg %s --help)\n", cmd,
                argv[optind], cmd);
        return 2;
    }
    url = config_db_url(url);
    if (which == 0)
        return backup_export(url, stdout, stderr);
    if (which == 1)
        return backup_import(url, replace, stdin, stdout, stderr);
    return backup_stats(url, stdout, stderr);
}
