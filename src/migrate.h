/* migrate.h -- copy every grid from one store to another (ipborg migrate, docs/protocol.md §6).
 *
 * The tool is just another user of the store interface (store.h): it streams
 * the source's rows through scan into the target's load_begin / load_row /
 * load_end, so any pair of backends works (sqlite -> postgresql is the main
 * case), then checks the copy row by row. migrate_check_row is also the
 * per-row gate of a later `ipborg import`. */
#ifndef IPBORG_MIGRATE_H
#define IPBORG_MIGRATE_H

#include <stdio.h>

#include "store.h"

/* Copies both tables of from_url into to_url in one transaction, then
 * verifies the target against the source. replace: --replace (a target that
 * holds grids is otherwise refused). Reads HASHIDS_PUBLIC_SALT and
 * HASHIDS_SECRET_SALT from the environment (docs/protocol.md §2).
 *
 * Writes the result (rows per table, summary, "verification: OK" or what
 * differed) on out; progress, and on failure one line "ipborg migrate: ...",
 * on progress (stderr). Returns the process exit status: 0 only if the copy
 * committed and the verification passed, 1 otherwise. The source is opened
 * read-only and never changed; on any failure before the commit the target is
 * left as it was. */
int migrate_run(const char *from_url, const char *to_url, int replace, FILE *out,
                FILE *progress);

/* Checks one source row of table t and makes the record to load from it.
 *
 * Requires ipb_version, python_version, grid_data and ipb_class non-NULL and
 * valid UTF-8 (python_version, grid_data, code_cells: JSON text that parses
 * and that PostgreSQL's jsonb can hold, so no \u0000 and no lone surrogates),
 * and created_at NULL or "YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|+00:00]".
 * Normalises: secret NULL (-1) -> 0 in public_grids, 1 in secret_grids (any
 * other non-zero -> 1); code_cells SQL NULL or JSON null -> NULL.
 *
 * *out borrows in's strings (JSON text is passed on as it is): it is valid as
 * long as *in is, and must NOT be passed to grid_record_clear. Returns 0, or
 * -1 with one line in err (STORE_ERRLEN bytes) naming the column, e.g.
 * "grid_data is not valid JSON (...)"; the caller prefixes table and id. */
int migrate_check_row(enum grid_table t, const struct grid_record *in,
                      struct grid_record *out, char *err);

#endif
