/* config.h -- the configuration of `ipborg serve`: its option table (read by
 * the one parser, cli.h) folded into one struct that is filled once at
 * start-up and read-only after.
 *
 * Precedence (docs/protocol.md §2): a flag wins over its environment variable, which wins
 * over the default; cli_parse applies it. Strings point into argv, the
 * environment or literals: the struct owns nothing. */
#ifndef IPBORG_CONFIG_H
#define IPBORG_CONFIG_H

#include <stddef.h>

#include "cli.h"

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

/* The default database of every command, `ipborg serve` and `make run` alike. */
#define CONFIG_DEFAULT_DB_URL "sqlite:///ipborg.db"

/* --db-url / DATABASE_URL, the same entry in every command that opens a
 * database (a struct cli_option initialiser). */
#define CONFIG_DB_URL_OPTION \
    {"db-url", CLI_TEXT, "URL", "DATABASE_URL", CONFIG_DEFAULT_DB_URL, 0, 0, \
     "sqlite:///path.db, sqlite:////abs/path.db or postgresql://..."}

/* The salts, read from the environment only (docs/protocol.md §2). */
#define CONFIG_PUBLIC_SALT_OPTION \
    {NULL, CLI_TEXT, NULL, "HASHIDS_PUBLIC_SALT", NULL, 0, 0, \
     "salt of public hash IDs; else the one stored in the database"}
#define CONFIG_SECRET_SALT_OPTION \
    {NULL, CLI_TEXT, NULL, "HASHIDS_SECRET_SALT", NULL, 0, 0, \
     "salt of secret hash IDs; else the one stored in the database"}

/* The options of `ipborg serve`, in this order in config_serve_options. */
enum config_serve_opt {
    CFG_PORT, CFG_HOST, CFG_DB_URL, CFG_PUBLIC_URL, CFG_MAX_BODY, CFG_MAX_CELLS,
    CFG_MAX_CONNECTIONS, CFG_MAX_PER_IP, CFG_CLIENT_TIMEOUT, CFG_MAX_HEADER_BYTES,
    CFG_THREADS, CFG_CACHE_MB, CFG_FORCE_SALTS, CFG_QUIET, CFG_PUBLIC_SALT, CFG_SECRET_SALT,
    CFG_NOPTS
};

extern const struct cli_option config_serve_options[CFG_NOPTS];

/* Fills c from what cli_parse found for config_serve_options. */
void config_from_cli(struct config *c, const struct cli_values *v);

#endif
