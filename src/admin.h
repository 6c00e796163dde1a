/* admin.h -- moderation commands that act on a database directly, beside a
 * running service: `ipborg delete` (docs/protocol.md §7). */
#ifndef IPBORG_ADMIN_H
#define IPBORG_ADMIN_H

/* ipborg delete [--secret] [--yes] [--db-url URL] HASHID; argv[0] is
 * "delete". Returns the exit status: 0 deleted (or --help), 1 not deleted
 * (no such grid, not confirmed, database failure), 2 usage error. */
int admin_delete_main(int argc, char **argv);

#endif
