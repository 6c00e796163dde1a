/* backup.h -- ipborg export, import and stats (docs/protocol.md §7): backups as JSON Lines
 * and a summary of what a database holds.
 *
 * Like migrate (migrate.h), these are users of the store interface only:
 * export streams scan into a file, import streams a file into load_begin /
 * load_row / load_end, stats asks the store's stats op. The file format:
 *
 *   line 1   {"ipborg_export":1,"salts":{"public":"...","secret":"..."}}
 *            ("salts":null only for a database without grids and without salts)
 *   then     one line per grid, public_grids then secret_grids, each in id order:
 *            {"table":"public_grids","id":1,"hash":"bizkiL","ipb_version":"...",
 *             "python_version":...,"grid_data":...,"code_cells":...|null,
 *             "ipb_class":"...","secret":false,"created_at":"...Z"|null}
 *
 * Bytes are deterministic: this key order, no whitespace, JSON values and
 * times in canonical form (canon.h), so export -> import -> export gives the
 * same file, whichever backends are involved. */
#ifndef IPBORG_BACKUP_H
#define IPBORG_BACKUP_H

#include <stdio.h>

#include "buf.h"
#include "hashid.h"
#include "store.h"

/* `ipborg export|import|stats ARGS...`: argv[0] is the command name. Parses
 * the options, runs, and returns the exit status: 0 done (or --help), 1 the
 * work failed (one line "ipborg CMD: ..." on stderr), 2 bad command line. */
int backup_command(int argc, char **argv);

/* Writes every grid of db_url to out as described above. Salts: the
 * environment's HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT, else the stored
 * ones (as serve resolves them); the database is opened read-only and never
 * written. A short summary goes to msgs (stderr). Returns the exit status. */
int backup_export(const char *db_url, FILE *out, FILE *msgs);

/* Loads a file made by export from in into db_url with migrate's guarantees:
 * ids kept, one transaction, a target holding grids refused unless replace,
 * sequences at max(id), every row checked (migrate_check_row) and its hash
 * checked against the header's salts, which are stored in the target
 * (replacing any it had). The first bad line stops the run, named by its
 * number, and nothing is written. After the commit the target is read again
 * and compared (count and digest per table) with what was read. Results on
 * out, failures on msgs. Returns the exit status. */
int backup_import(const char *db_url, int replace, FILE *in, FILE *out, FILE *msgs);

/* Prints per table the number of grids, their size in bytes and the oldest
 * and newest created_at, read-only. Returns the exit status. */
int backup_stats(const char *db_url, FILE *out, FILE *msgs);

/* Appends the export line (without newline) of row rec of table t, which
 * migrate_check_row has normalised, hashing its id with h. 0, or -1 with one
 * line in err (a JSON column that does not parse, out of memory). */
int backup_render_row(struct buf *out, enum grid_table t, const struct grid_record *rec,
                      const struct hashid *h, char *err);

#endif
