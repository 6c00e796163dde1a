/* config.c -- flags + environment -> struct config (config.h).
 *
 * Every number is parsed strictly (whole string, in range), so a typo such as
 * `--port 80OO` is a usage error with exit status 2, never a silent default. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int config_parse_number(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max || end == s || *s == ' ' || *s == '+')
        return -1;
    *out = v;
    return 0;
}

const char *config_db_url(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *e = env("DATABASE_URL");
    return e ? e : CONFIG_DEFAULT_DB_URL;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->port = 8000;
    c->host = "127.0.0.1";
    c->db_url = NULL;
    c->public_url = env("IPBORG_PUBLIC_URL");
    c->env_public_salt = env("HASHIDS_PUBLIC_SALT");
    c->env_secret_salt = env("HASHIDS_SECRET_SALT");
    c->max_body = 10u * 1024 * 1024;
    c->max_cells = GRID_DEFAULT_MAX_CELLS;
    c->max_connections = 1000;
    c->max_per_ip = 128;
    c->client_timeout = 10;
    c->max_header_bytes = 32768;
    c->threads = 0;
    c->cache_mb = 32;
    const char *h = env("IPBORG_HOST");
    if (h)
        c->host = h;
}

void config_usage_serve(FILE *f)
{
    fprintf(f,
        "usage: ipborg serve [options]\n"
        "\n"
        "Serves ipythonblocks grids over HTTP.\n"
        "\n"
        "  --port N                    port to listen on (PORT; default 8000)\n"
        "  --host ADDR                 address to listen on (IPBORG_HOST; default 127.0.0.1)\n"
        "  --db-url URL                sqlite:///path.db, sqlite:////abs/path.db or\n"
        "                              postgresql://... (DATABASE_URL; default %s)\n"
        "  --public-url URL            base of the URLs handed out (IPBORG_PUBLIC_URL;\n"
        "                              default http:// + the request's Host header)\n"
        "  --max-body BYTES            largest request body (default 10485760)\n"
        "  --max-cells N               largest grid, width x height (default 250000)\n"
        "  --max-connections N         connections in total (default 1000)\n"
        "  --max-connections-per-ip N  connections per client address; 0: no cap (default 128)\n"
        "  --client-timeout SECONDS    close connections idle this long (default 10)\n"
        "  --max-header-bytes BYTES    memory per connection for the request line and\n"
        "                              headers; more gets 431 (default 32768)\n"
        "  --threads N                 worker threads (default: 4 per core, 16 to 64)\n"
        "  --cache-mb N                memory for finished responses, MiB; 0: none (default 32)\n"
        "  --force-salts               use HASHIDS_*_SALT even if they differ from the stored salts\n"
        "  --quiet                     no access log\n"
        "  --help                      this text\n"
        "\n"
        "Salts: HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT, else those stored in the database,\n"
        "else (empty database) new random ones, stored.\n",
        CONFIG_DEFAULT_DB_URL);
}

enum {
    OPT_PORT = 256, OPT_HOST, OPT_DB, OPT_PUBLIC, OPT_MAX_BODY, OPT_MAX_CELLS,
    OPT_MAX_CONN, OPT_MAX_PER_IP, OPT_TIMEOUT, OPT_THREADS, OPT_CACHE, OPT_FORCE, OPT_QUIET, OPT_HELP,
    OPT_MAX_HEADER,
};

int config_parse_serve(struct config *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, 0, OPT_PORT},
        {"host", required_argument, 0, OPT_HOST},
        {"db-url", required_argument, 0, OPT_DB},
        {"public-url", required_argument, 0, OPT_PUBLIC},
        {"max-body", required_argument, 0, OPT_MAX_BODY},
        {"max-cells", required_argument, 0, OPT_MAX_CELLS},
        {"max-connections", required_argument, 0, OPT_MAX_CONN},
        {"max-connections-per-ip", required_argument, 0, OPT_MAX_PER_IP},
        {"client-timeout", required_argument, 0, OPT_TIMEOUT},
        {"max-header-bytes", required_argument, 0, OPT_MAX_HEADER},
        {"threads", required_argument, 0, OPT_THREADS},
        {"cache-mb", required_argument, 0, OPT_CACHE},
        {"force-salts", no_argument, 0, OPT_FORCE},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0},
    };
    const char *db_flag = NULL;
    const char *port_env = env("PORT");
    long long v;
    if (port_env) {
        if (config_parse_number(port_env, 0, 65535, &v)) {
            fprintf(stderr, "ipborg serve: PORT=%s is not a port number (0-65535)\n", port_env);
            return 2;
        }
        c->port = (unsigned)v;
    }
    opterr = 0;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        const char *name = NULL;
        long long min = 0, max = 0;
        switch (o) {
        case OPT_HOST: c->host = optarg; continue;
        case OPT_DB: db_flag = optarg; continue;
        case OPT_PUBLIC: c->public_url = optarg; continue;
        case OPT_FORCE: c->force_salts = 1; continue;
        case OPT_QUIET: c->quiet = 1; continue;
        case OPT_HELP: config_usage_serve(stdout); return 1;
        case OPT_PORT: name = "--port"; min = 0; max = 65535; break;
        case OPT_MAX_BODY: name = "--max-body"; min = 1; max = 1LL << 40; break;
        case OPT_MAX_CELLS: name = "--max-cells"; min = 1; max = 1LL << 40; break;
        case OPT_MAX_CONN: name = "--max-connections"; min = 1; max = 1000000; break;
        case OPT_MAX_PER_IP: name = "--max-connections-per-ip"; min = 0; max = 1000000; break;
        case OPT_TIMEOUT: name = "--client-timeout"; min = 1; max = 86400; break;
        case OPT_MAX_HEADER: name = "--max-header-bytes"; min = 8192; max = 16 << 20; break;
        case OPT_THREADS: name = "--threads"; min = 1; max = 1024; break;
        case OPT_CACHE: name = "--cache-mb"; min = 0; max = 1 << 20; break;
        case ':':
            fprintf(stderr, "ipborg serve: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ipborg serve: unknown option '%s' (see ipborg serve --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (config_parse_number(optarg, min, max, &v)) {
            fprintf(stderr, "ipborg serve: %s takes a whole number from %lld to %lld, not '%s'\n",
                    name, min, max, optarg);
            return 2;
        }
        switch (o) {
        case OPT_PORT: c->port = (unsigned)v; break;
        case OPT_MAX_BODY: c->max_body = (size_t)v; break;
        case OPT_MAX_CELLS: c->max_cells = v; break;
        case OPT_MAX_CONN: c->max_connections = (unsigned)v; break;
        case OPT_MAX_PER_IP: c->max_per_ip = (unsigned)v; break;
        case OPT_TIMEOUT: c->client_timeout = (unsigned)v; break;
        case OPT_MAX_HEADER: c->max_header_bytes = (size_t)v; break;
        case OPT_THREADS: c->threads = (unsigned)v; break;
        case OPT_CACHE: c->cache_mb = (size_t)v; break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipborg serve: unexpected argument '%s' (see ipborg serve --help)\n",
                argv[optind]);
        return 2;
    }
    c->db_url = config_db_url(db_flag);
    return 0;
}
