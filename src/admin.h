/* admin.h -- moderation commands that act on a database directly, beside a
 * running service: `ipborg delete` (docs/protocol.md §7). Their options are
 * parsed by main.c's command table (cli.h); these functions do the work. */
#ifndef IPBORG_ADMIN_H
#define IPBORG_ADMIN_H

#include <stdio.h>

#include "store.h"

#define ADMIN_HASH_MAX 64

/* The grid a delete argument names. */
struct admin_target {
    enum grid_table table;
    char hash[ADMIN_HASH_MAX];
};

/* Reads what `ipborg delete` was given: a bare HASHID (its table from
 * `secret`, i.e. --secret), or a grid's URL http(s)://ANY-HOST/PATH, or
 * such a PATH alone (starting with '/'), where PATH is /HASHID or
 * /secret/HASHID (also /get/..., /HASHID.png; trailing slashes, a query and a
 * fragment are ignored); /secret/ implies the secret table. Whether the hash
 * names a grid is not checked here. Returns 0, or -1 with one line in err
 * (n bytes): a URL of another scheme, a path that is not a grid's, --secret
 * beside a public grid's URL. */
int admin_parse_target(const char *arg, int secret, struct admin_target *t, char *err,
                       size_t n);

struct admin_delete_opts {
    const char *db_url;
    const char *target;            /* as given: HASHID or URL */
    int secret;                    /* --secret */
    int yes;                       /* --yes: do not ask */
    const char *env_public_salt;   /* HASHIDS_PUBLIC_SALT or NULL */
    const char *env_secret_salt;   /* HASHIDS_SECRET_SALT or NULL */
};

/* ipborg delete: finds the grid, asks on msgs and reads the answer from in
 * (unless yes), deletes it, says so on out. Failures: one line on msgs.
 * Returns the exit status: 0 deleted, 1 not deleted (no such grid, not
 * confirmed, database failure), 2 an argument that names no grid. */
int admin_delete(const struct admin_delete_opts *o, FILE *in, FILE *out, FILE *msgs);

#endif
