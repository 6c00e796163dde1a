/* import.h -- ipborg import (docs/protocol.md §7): loads a file made by
 * ipborg export (export.h describes the format) through the transfer pipeline
 * (transfer.h), with migrate's guarantees. */
#ifndef IPBORG_IMPORT_H
#define IPBORG_IMPORT_H

#include <stdio.h>

/* Loads in into db_url: ids kept, one transaction, a target holding grids
 * refused unless replace, every row checked (row.h) and its hash checked
 * against the header's salts, which are stored in the target (replacing any
 * it had); the deletion log and the ids given come along. The first bad line
 * stops the run, named by its number, and nothing is written. After the
 * commit the target is read again and compared with what was loaded. Results
 * on out, failures on msgs. Returns the exit status (0, or 1). */
int import_run(const char *db_url, int replace, FILE *in, FILE *out, FILE *msgs);

#endif
