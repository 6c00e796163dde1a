/* row.c -- one grid row: check, canonical form, digest, export line (row.h).
 *
 * The check and the canonical form share one parse per JSON column: a copy
 * makes the canonical form first (row_canon_make, for the digest) and hands
 * its texts to the check (row_check_canon), so each column is parsed once --
 * jansson's parse is most of a copy's time. JSON text that passes is loaded
 * as it came (SQLite keeps what was posted); only the digest and the export
 * see the canonical form. */
#include "row.h"
#include "canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- check ---------------------------------------------------------------- */

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

/* row_check; with cj (the canonical python_version, grid_data and
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


/* --- digest --------------------------------------------------------------- */

void digest_init(struct digest *d)
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
void digest_field(struct digest *d, const char *s)
{
    uint64_t n = s ? (uint64_t)strlen(s) : UINT64_MAX;
    digest_bytes(d, &n, sizeof n);
    if (s)
        digest_bytes(d, s, (size_t)n);
}


/* --- canonical form ------------------------------------------------------- */

void row_canon_free(struct row_canon *c)
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


void row_canon_make(struct row_canon *c, enum grid_table t, const struct grid_record *rec)
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

void digest_row(struct digest *d, const struct row_canon *c)
{
    char head[64];
    snprintf(head, sizeof head, "%lld/%d", (long long)c->id, c->secret);
    digest_field(d, head);
    digest_field(d, c->ipb_version);
    digest_field(d, c->python_version);
    digest_field(d, c->grid_data);
    digest_field(d, c->code_cells);
    digest_field(d, c->ipb_class);
    digest_field(d, c->created_at);
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The first column in which target row t differs from source row s, or NULL. */
const char *row_canon_diff(const struct row_canon *s, const struct row_canon *t)
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
    if (!str_eq(s->created_at, t->created_at))
        return "created_at";
    return NULL;
}


/* --- export lines --------------------------------------------------------- */

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

int row_export_line(struct buf *out, enum grid_table t, const struct grid_record *rec,
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


/* The line of one deletion log entry (without newline). */
int row_deletion_line(struct buf *out, const struct store_deletion *d, char *err)
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


int row_check(enum grid_table t, const struct grid_record *in, struct grid_record *out,
              char *err)
{
    return check_row(t, in, out, err, NULL);
}

int row_check_canon(enum grid_table t, const struct grid_record *in,
                    const struct row_canon *c, struct grid_record *out, char *err)
{
    const char *cj[3] = {c->python_version, c->grid_data, c->code_cells};
    return check_row(t, in, out, err, c->problem[0] ? NULL : cj);
}

int digest_equal(const struct digest *x, const struct digest *y)
{
    return x->a == y->a && x->b == y->b;
}
