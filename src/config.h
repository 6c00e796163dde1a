/* config.h -- the configuration of `ipborg serve`: flags and environment
 * folded into one struct that is filled once at start-up and read-only after.
 *
 * Precedence (docs/protocol.md §2): a flag wins over its environment variable, which wins
 * over the default. Strings point into argv, the environment or literals: the
 * struct owns nothing. */
#ifndef IPBORG_CONFIG_H
#define IPBORG_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
    unsigned port;                 /* --port / PORT, default 8000 */
    const char *host;              /* --host / IPBORG_HOST, default 127.0.0.1 */
    const char *db_url;            /* --db-url / DATABASE_URL */
    const char *public_url;        /* --public-url / IPBORG_PUBLIC_URL, or NULL: Host */
    const char *env_public_salt;   /* HASHIDS_PUBLIC_SALT or NULL */
    const char *env_secret_salt;   /* HASHIDS_SECRET_SALT or NULL */
    size_t max_body;               /* bytes; larger bodies get 413 */
    long long max_cells;           /* width * height */
    unsigned max_connections;      /* in total */
    unsigned max_per_ip;           /* 0: no cap */
    unsigned client_timeout;       /* seconds to send a whole request */
    size_t max_header_bytes;       /* memory per connection for request line + headers */
    unsigned threads;              /* worker threads; 0: the default (server.c) */
    size_t cache_mb;               /* response cache, MiB; 0: none */
    int quiet;                     /* no access log */
    int force_salts;               /* use the environment's salts despite a mismatch */
};

#define CONFIG_DEFAULT_DB_URL "sqlite:///ipborg.db"

/* Fills c with the defaults and the environment. */
void config_defaults(struct config *c);

/* Parses `serve` options (argv[0] is "serve"). Returns 0 to go on, 1 when
 * --help was printed (exit 0), 2 on a usage error (one line already printed
 * on stderr; exit 2). */
int config_parse_serve(struct config *c, int argc, char **argv);

void config_usage_serve(FILE *f);

/* Shared by every subcommand: parses a whole decimal number in [min, max].
 * 0 on success. */
int config_parse_number(const char *s, long long min, long long max, long long *out);

/* The database URL given by --db-url or else DATABASE_URL, else the default. */
const char *config_db_url(const char *flag);

#endif
