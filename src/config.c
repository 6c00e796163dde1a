/* config.c -- the options of `ipborg serve` -> struct config (config.h).
 *
 * The table below is the whole command-line and environment surface of the
 * service; cli_parse checks every value against it (numbers whole and in
 * range, so `--port 80OO` or `--max-body -1` is a usage error with exit
 * status 2, never a silent default), and config_from_cli only copies. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "grid.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const struct cli_option config_serve_options[CFG_NOPTS] = {
    [CFG_PORT] = {"port", CLI_NUMBER, "N", "PORT", "8000", 0, 65535,
                  "port to listen on; 0: any free port"},
    [CFG_HOST] = {"host", CLI_TEXT, "ADDR", "IPBORG_HOST", "127.0.0.1", 0, 0,
                  "address to listen on"},
    [CFG_DB_URL] = CONFIG_DB_URL_OPTION,
    [CFG_PUBLIC_URL] = {"public-url", CLI_TEXT, "URL", "IPBORG_PUBLIC_URL", NULL, 0, 0,
                        "base of the URLs handed out; without it, http:// + the "
                        "request's Host header"},
    [CFG_MAX_BODY] = {"max-body", CLI_NUMBER, "BYTES", NULL, "10485760", 1, 1LL << 40,
                      "largest request body"},
    [CFG_MAX_CELLS] = {"max-cells", CLI_NUMBER, "N", NULL, STR(GRID_DEFAULT_MAX_CELLS), 1,
                       1LL << 40, "largest grid, width x height"},
    [CFG_MAX_CONNECTIONS] = {"max-connections", CLI_NUMBER, "N", NULL, "1000", 1, 1000000,
                             "connections in total"},
    [CFG_MAX_PER_IP] = {"max-connections-per-ip", CLI_NUMBER, "N", NULL, "128", 0, 1000000,
                        "connections per client address; 0: no cap"},
    [CFG_CLIENT_TIMEOUT] = {"client-timeout", CLI_NUMBER, "SECONDS", NULL, "10", 1, 86400,
                            "close a connection that has not sent a whole request by then"},
    [CFG_MAX_HEADER_BYTES] = {"max-header-bytes", CLI_NUMBER, "BYTES", NULL, "32768", 8192,
                              16 << 20, "memory per connection for the request line and "
                              "headers; more gets 431"},
    [CFG_THREADS] = {"threads", CLI_NUMBER, "N", NULL, NULL, 1, 1024,
                     "worker threads (default: 4 per core, 16 to 64)"},
    [CFG_CACHE_MB] = {"cache-mb", CLI_NUMBER, "N", NULL, "32", 0, 1 << 20,
                      "memory for finished responses, MiB; 0: none"},
    [CFG_FORCE_SALTS] = {"force-salts", CLI_FLAG, NULL, NULL, NULL, 0, 0,
                         "use HASHIDS_*_SALT even if they differ from the stored salts"},
    [CFG_QUIET] = {"quiet", CLI_FLAG, NULL, NULL, NULL, 0, 0, "no access log"},
    [CFG_PUBLIC_SALT] = CONFIG_PUBLIC_SALT_OPTION,
    [CFG_SECRET_SALT] = CONFIG_SECRET_SALT_OPTION,
};

void config_from_cli(struct config *c, const struct cli_values *v)
{
    memset(c, 0, sizeof *c);
    c->port = (unsigned)cli_num(v, CFG_PORT);
    c->host = cli_text(v, CFG_HOST);
    c->db_url = cli_text(v, CFG_DB_URL);
    c->public_url = cli_text(v, CFG_PUBLIC_URL);
    c->env_public_salt = cli_text(v, CFG_PUBLIC_SALT);
    c->env_secret_salt = cli_text(v, CFG_SECRET_SALT);
    c->max_body = (size_t)cli_num(v, CFG_MAX_BODY);
    c->max_cells = cli_num(v, CFG_MAX_CELLS);
    c->max_connections = (unsigned)cli_num(v, CFG_MAX_CONNECTIONS);
    c->max_per_ip = (unsigned)cli_num(v, CFG_MAX_PER_IP);
    c->client_timeout = (unsigned)cli_num(v, CFG_CLIENT_TIMEOUT);
    c->max_header_bytes = (size_t)cli_num(v, CFG_MAX_HEADER_BYTES);
    c->threads = (unsigned)cli_num(v, CFG_THREADS);   /* 0 when not given: server.c's default */
    c->cache_mb = (size_t)cli_num(v, CFG_CACHE_MB);
    c->force_salts = cli_flag(v, CFG_FORCE_SALTS);
    c->quiet = cli_flag(v, CFG_QUIET);
}
