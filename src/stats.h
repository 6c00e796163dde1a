/* stats.h -- ipborg stats (docs/protocol.md §7): per table the number of
 * grids, their size in bytes, the oldest and newest posted date and how many
 * rows have none ("undated": rows of the old service), read-only. */
#ifndef IPBORG_STATS_H
#define IPBORG_STATS_H

#include <stdio.h>

/* Prints the summary of db_url on out; one line "ipborg stats: ..." on msgs
 * on failure. Returns the exit status (0, or 1). */
int stats_run(const char *db_url, FILE *out, FILE *msgs);

#endif
