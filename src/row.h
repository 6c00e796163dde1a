/* row.h -- one grid row on its way between stores and files: its check, its
 * canonical form, its digest and its export line. migrate, import and export
 * (and their verifications) all go through these, so a row is judged, compared
 * and written one way only.
 *
 * The check (row_check) refuses what one of the backends or the export format
 * could not hold, whichever backend the row comes from or goes to: a required
 * column NULL, text that is not UTF-8, JSON that does not parse or that
 * PostgreSQL's jsonb refuses (\u0000, lone surrogates), a created_at that is
 * not a possible UTC time (canon_time_valid: "2024-13-45T99:99:99Z" is refused
 * on SQLite as on PostgreSQL).
 *
 * The canonical form (struct row_canon) makes equal rows equal bytes whichever
 * backend they come from: JSON columns in canon.h's form, code_cells SQL NULL
 * and JSON null alike, secret 0/1, created_at in canon_time's form (NULL: no
 * posted date, on every backend). Rows of an old file with id <= 0 are
 * carried as they are by migrate; they have no URL, so export, which names
 * every row by its hash, refuses them (see README).
 *
 * The digest is 128 bits in two independent 64-bit lanes over length-prefixed
 * fields; not cryptographic: it guards against mistakes, not adversaries. */
#ifndef IPBORG_ROW_H
#define IPBORG_ROW_H

#include <stdint.h>

#include "buf.h"
#include "hashid.h"
#include "store.h"

/* Checks row in of table t and makes the record to load from it: secret NULL
 * (-1) -> 0 in public_grids, 1 in secret_grids (any other non-zero -> 1);
 * code_cells SQL NULL or JSON null -> NULL. *out borrows in's strings: valid
 * as long as *in is; never pass it to grid_record_clear. 0, or -1 with one
 * line in err (STORE_ERRLEN) naming the column; the caller names the row. */
int row_check(enum grid_table t, const struct grid_record *in, struct grid_record *out,
              char *err);

/* One row in canonical form; strings malloc'd. problem: why it could not be
 * made (a JSON column does not parse, out of memory), "" when it was. */
struct row_canon {
    int64_t id;
    char *ipb_version, *python_version, *grid_data, *code_cells, *ipb_class;
    int secret;
    char *created_at;
    char problem[STORE_ERRLEN];
};

void row_canon_make(struct row_canon *c, enum grid_table t, const struct grid_record *rec);
void row_canon_free(struct row_canon *c);
/* The first column in which b differs from a, or NULL when they are equal. */
const char *row_canon_diff(const struct row_canon *a, const struct row_canon *b);

/* row_check with the JSON columns taken from c (made from in by
 * row_canon_make without a problem), so each column is parsed once. */
int row_check_canon(enum grid_table t, const struct grid_record *in,
                    const struct row_canon *c, struct grid_record *out, char *err);

struct digest {
    uint64_t a, b;
};

void digest_init(struct digest *d);
/* Folds one field (length first; NULL differs from "") into d. */
void digest_field(struct digest *d, const char *s);
/* Folds a canonical row: id, secret, every column, created_at. */
void digest_row(struct digest *d, const struct row_canon *c);
int digest_equal(const struct digest *x, const struct digest *y);

/* Appends the export line (no newline) of row rec of table t, which row_check
 * has normalised, its id hashed with h. canonical: rec's JSON columns are in
 * canonical form already (import made them from its tree) and are copied;
 * else they are parsed and written in canonical form. 0, or -1 with one line
 * in err (an id without a hash, a JSON column that does not parse, out of
 * memory). */
int row_export_line(struct buf *out, enum grid_table t, const struct grid_record *rec,
                    const struct hashid *h, int canonical, char *err);

/* Appends the export line of a deletion log entry:
 * {"deleted":TABLE,"id":N,"deleted_at":TIME|null}. 0, or -1 (out of memory). */
int row_deletion_line(struct buf *out, const struct store_deletion *d, char *err);

#endif
