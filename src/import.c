/* import.c -- ipborg import (import.h).
 *
 * The header is read before the target is opened (a file that is not an
 * export creates nothing). Then, in one load (transfer.h): the header's salts
 * replace the target's (its grids' URLs depend on them) and its last_ids
 * raise the high-water marks; each line is parsed once by jansson
 * (canon_json_parse, which refuses a repeated key anywhere in the line;
 * export never writes one), its JSON columns taken from the tree in
 * canonical form, checked -- known keys only, tables in order and ids
 * strictly increasing within a table (which also rules out duplicates
 * without remembering ids), the hash equal to the hash of the id under the
 * header's salts -- and handed to transfer_row, which checks the row
 * (row_check: an impossible created_at is refused here whatever the target)
 * and loads it. Deletion log lines follow the grids. Any bad line aborts the
 * load: nothing written. After the commit transfer_verify compares the target
 * with what was read (stdin cannot be read twice, so the digests made while
 * loading stand for the file). */
#include "import.h"
#include "canon.h"
#include "redact.h"
#include "transfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CMD "import"
#define MSGLEN TRANSFER_MSGLEN
#define FORMAT_VERSION "1"

/* --- one line --------------------------------------------------------------------- */

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

/* --- the header ------------------------------------------------------------ */

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

/* --- the run ------------------------------------------------------------------- */

struct import_state {
    FILE *in, *out, *msgs;
    char *line;                 /* getline's buffer */
    size_t line_cap;
    long long line_no;
    struct header hdr;
    struct hashid *h[GRID_TABLES];
    struct transfer tr;
};

/* The next line without its newline, or NULL at the end (or on a read
 * error: *error set). */
static char *next_line(struct import_state *r, int *error)
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

/* Reads every line after the header into the open load. 0, or -1 after
 * printing why. */
static int load_lines(struct import_state *r)
{
    int cur_table = -1, in_log = 0;
    int64_t last_id = 0;
    char err[MSGLEN];
    for (;;) {
        int error = 0;
        char *line = next_line(r, &error);
        if (!line) {
            if (error == 2) {
                transfer_fail(r->msgs, CMD, "line %lld: holds a NUL byte; nothing was "
                              "written", r->line_no);
                return -1;
            }
            if (error) {
                transfer_fail(r->msgs, CMD, "reading the input: %s", strerror(errno));
                return -1;
            }
            return 0;
        }
        struct parsed p;
        err[0] = '\0';
        int rc = parse_row(line, &p, err);
        const char *table = store_table_name(p.t);
        char hash[HASHID_MAX_LEN + 1] = "";
        if (rc != 0) {
            /* err says why */
        } else if (p.deletion) {
            struct store_deletion d = {.seq = r->tr.deletions + 1, .table = p.t,
                                       .id = p.rec.id, .deleted_at = p.rec.created_at};
            in_log = 1;
            char why[MSGLEN] = "";
            if (transfer_deletion(&r->tr, &d, why) != 0) {
                snprintf(err, sizeof err, "deletion of %s id %lld: %s", table,
                         (long long)p.rec.id, why);
                rc = -1;
            }
        } else if (in_log) {
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
        } else {
            char why[MSGLEN] = "";
            if (transfer_row(&r->tr, p.t, &p.rec, why) != 0) {
                snprintf(err, sizeof err, "%s id %lld: %s", table, (long long)p.rec.id, why);
                rc = -1;
            }
            cur_table = (int)p.t;
            last_id = p.rec.id;
        }
        parsed_clear(&p);
        if (rc != 0) {
            transfer_fail(r->msgs, CMD, "line %lld: %s; nothing was written", r->line_no, err);
            return -1;
        }
    }
}

static int verify(struct import_state *r, const char *url)
{
    char msg[MSGLEN] = "";
    int bad = -1;
    if (transfer_verify(&r->tr, url, &bad, msg) != 0) {
        fprintf(r->out, "verification: FAILED: %s\n", msg);
        fflush(r->out);
        transfer_fail(r->msgs, CMD, "verification failed: %s (the import was committed)", msg);
        return -1;
    }
    fprintf(r->out, "verification: OK\n");
    fflush(r->out);
    return 0;
}

int import_run(const char *db_url, int replace, FILE *in, FILE *out, FILE *msgs)
{
    struct import_state r = {.in = in, .out = out, .msgs = msgs};
    char err[STORE_ERRLEN] = "", why[MSGLEN] = "";
    int status = 1;

    int error = 0;
    char *line = next_line(&r, &error);
    if (!line) {
        transfer_fail(msgs, CMD, "%s", error == 2 ? "line 1: holds a NUL byte"
                                     : error ? "cannot read the input"
                                             : "the input is empty: expected an export "
                                               "(ipborg export --db-url URL > file)");
        goto done;
    }
    if (parse_header(line, &r.hdr, err) != 0) {
        transfer_fail(msgs, CMD, "line 1: %s; nothing was written", err);
        goto done;
    }
    if (r.hdr.pub && (!(r.h[GRID_PUBLIC] = hashid_new(r.hdr.pub, HASHID_MIN_LENGTH)) ||
                      !(r.h[GRID_SECRET] = hashid_new(r.hdr.sec, HASHID_MIN_LENGTH)))) {
        transfer_fail(msgs, CMD, "line 1: the salts cannot be used (out of memory or over "
                      "1 MiB)");
        goto done;
    }
    char shown[512];
    redact(db_url ? db_url : "", shown, sizeof shown);
    if (transfer_begin(&r.tr, CMD, db_url, shown, replace, out, msgs) != 0)
        goto done;
    progress_start(&r.tr.pg, msgs, CMD, "loading", 0);
    int ok = transfer_salts(&r.tr, r.hdr.pub, r.hdr.sec, "the file's", 1, 1) == 0;
    for (int t = 0; t < GRID_TABLES && ok; t++)
        if (transfer_last_id(&r.tr, (enum grid_table)t, r.hdr.last[t], why) != 0) {
            transfer_fail(msgs, CMD, "line 1: %s; nothing was written", why);
            ok = 0;
        }
    if (!ok || load_lines(&r) != 0) {
        transfer_abort(&r.tr);
        goto done;
    }
    if (transfer_commit(&r.tr) != 0)
        goto done;
    for (int t = 0; t < GRID_TABLES; t++)
        fprintf(out, "%s: %lld rows imported (largest id %lld)\n",
                store_table_name((enum grid_table)t), (long long)r.tr.rows[t],
                (long long)r.tr.max_id[t]);
    fprintf(out, "deletion log: %lld entries imported\n", (long long)r.tr.deletions);
    fprintf(out, "salts: %s\n", r.hdr.pub ? "stored from the file" : "none in the file");
    fflush(out);
    status = verify(&r, db_url) == 0 ? 0 : 1;
done:
    transfer_clear(&r.tr);
    hashid_free(r.h[GRID_PUBLIC]);
    hashid_free(r.h[GRID_SECRET]);
    header_clear(&r.hdr);
    free(r.line);
    return status;
}
