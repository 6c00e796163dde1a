/* export.h -- ipborg export (docs/protocol.md §7): every grid of a database as
 * JSON Lines, read-only.
 *
 * The format (import.h reads it back):
 *
 *   line 1  {"ipborg_export":1,"salts":{"public":"...","secret":"..."},
 *            "last_ids":{"public_grids":N,"secret_grids":M}}
 *           ("salts":null only for a database without grids and without
 *           salts; last_ids: the largest id each table ever gave, deleted
 *           grids' included, so that an import never gives one again)
 *   then    one line per grid, public_grids then secret_grids, each in id
 *           order: {"table":"public_grids","id":1,"hash":"bizkiL",
 *           "ipb_version":"...","python_version":...,"grid_data":...,
 *           "code_cells":...|null,"ipb_class":"...","secret":false,
 *           "created_at":"...Z"|null}   (null: no posted date)
 *   then    one line per entry of the deletion log, in its order:
 *           {"deleted":"public_grids","id":89,"deleted_at":"...Z"}
 *
 * Bytes are deterministic (this key order, no whitespace, JSON values and
 * times in canonical form, canon.h), so export -> import -> export gives the
 * same file whichever backends are involved. Files written before last_ids
 * and the deletion lines existed import as they are. */
#ifndef IPBORG_EXPORT_H
#define IPBORG_EXPORT_H

#include <stdio.h>

/* Writes every grid of db_url to out. Salts: the environment's
 * HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT, else the stored ones (as serve
 * resolves them); the database is opened read-only and never written. A
 * summary, or one line "ipborg export: ..." on failure, goes to msgs. Returns
 * the exit status (0, or 1). */
int export_run(const char *db_url, FILE *out, FILE *msgs);

#endif
