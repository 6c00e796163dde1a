/* migrate.h -- copy every grid from one store to another (ipborg migrate,
 * docs/protocol.md §6), through the store interface and the transfer pipeline
 * (transfer.h), so any pair of backends works. */
#ifndef IPBORG_MIGRATE_H
#define IPBORG_MIGRATE_H

#include <stdio.h>

/* Copies everything from_url holds into to_url in one transaction -- both
 * tables, the salts, the deletion log, the high-water marks, which rows have
 * no posted date -- then verifies the target against what was copied. replace:
 * --replace (a target that holds grids is otherwise refused; with it the
 * target becomes what the source is, salts included). Salts: the source's,
 * else HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT from the environment
 * (docs/protocol.md §2).
 *
 * Writes the result (rows per table, summary, "verification: OK" or what
 * differed) on out; progress, and on failure one line "ipborg migrate: ...",
 * on progress (stderr), as is the closing note when the target ends without
 * salts. Returns the process exit status: 0 only if the copy committed and the
 * verification passed, 1 otherwise. The source is opened read-only and never
 * changed; on any failure before the commit the target is left as it was. */
int migrate_run(const char *from_url, const char *to_url, int replace, FILE *out,
                FILE *progress);

#endif
