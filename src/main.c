/* main.c -- the ipborg command: subcommand dispatch, argument parsing, exit
 * codes.
 *
 * Exit status: 0 success (and --help), 1 the work failed (the database could
 * not be opened, the migration did not verify, ...), 2 the command line was
 * wrong. Every failure is one line on stderr that starts with "ipborg". */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "export.h"
#include "import.h"
#include "stats.h"
#include "config.h"
#include "deletions.h"
#include "handlers.h"
#include "hashid.h"
#include "migrate.h"
#include "server.h"
#include "store.h"

#define HASHID_MIN_LENGTH 6

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ipborg COMMAND [options]\n"
        "\n"
        "Commands:\n"
        "  serve      run the web service (ipborg serve --help)\n"
        "  migrate    copy every grid between two databases:\n"
        "             ipborg migrate --from URL --to URL [--replace]\n"
        "  delete     remove one grid: ipborg delete [--secret] [--yes] --db-url URL HASHID\n"
        "  export     write every grid as JSON Lines: ipborg export --db-url URL > FILE\n"
        "  import     load such a file: ipborg import --db-url URL [--replace] < FILE\n"
        "  stats      grids, bytes and dates per table: ipborg stats --db-url URL\n"
        "\n"
        "Database URLs: sqlite:///relative.db, sqlite:////absolute.db, postgresql://...\n");
}

/* --- serve --------------------------------------------------------------------- */

static int cmd_serve(int argc, char **argv)
{
    struct config cfg;
    config_defaults(&cfg);
    int rc = config_parse_serve(&cfg, argc, argv);
    if (rc == 1)
        return 0;
    if (rc)
        return 2;

    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(cfg.db_url, 0, err);
    if (!st) {
        fprintf(stderr, "ipborg serve: %s\n", err);
        return 1;
    }
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(st, cfg.env_public_salt, cfg.env_secret_salt,
                            cfg.force_salts ? STORE_SALTS_FORCE : STORE_SALTS_CAN_FORCE,
                            &pub, &sec, err) != STORE_OK) {
        fprintf(stderr, "ipborg serve: %s\n", err);
        store_close(st);
        return 1;
    }
    struct app app = {.cfg = &cfg, .store = st,
                      .limits = {.max_cells = cfg.max_cells}};
    app.hashid[GRID_PUBLIC] = hashid_new(pub, HASHID_MIN_LENGTH);
    app.hashid[GRID_SECRET] = hashid_new(sec, HASHID_MIN_LENGTH);
    free(pub);
    free(sec);
    if (!app.hashid[GRID_PUBLIC] || !app.hashid[GRID_SECRET]) {
        fprintf(stderr, "ipborg serve: out of memory\n");
        return 1;
    }

    /* SIGINT and SIGTERM are taken by sigwait below; blocking them before the
     * worker threads exist makes every thread inherit the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Before serving: from here on every deletion makes the server forget
     * the grid's cached answers. */
    struct deletions_watcher *watcher =
        deletions_watch_start(st, handlers_forget_deleted, &app, err);
    if (!watcher) {
        fprintf(stderr, "ipborg serve: cannot follow deletions: %s\n", err);
        store_close(st);
        return 1;
    }

    struct http_server_opts o = {
        .host = cfg.host,
        .port = cfg.port,
        .threads = cfg.threads,
        .max_connections = cfg.max_connections,
        .max_per_ip = cfg.max_per_ip,
        .client_timeout = cfg.client_timeout,
        .max_header_bytes = cfg.max_header_bytes,
        .max_body = cfg.max_body,
        .quiet = cfg.quiet,
        .cache_bytes = cfg.cache_mb << 20,
        .cache_by_host = !(cfg.public_url && *cfg.public_url),
        .routes = handlers_routes,
        .not_found = handle_not_found,
        .app = &app,
    };
    char serr[256];
    struct http_server *srv = http_server_start(&o, serr, sizeof serr);
    if (!srv) {
        fprintf(stderr, "ipborg serve: %s\n", serr);
        rc = 1;
    } else {
        atomic_store(&app.server, srv);
        int v6 = strchr(cfg.host, ':') != NULL;
        printf("ipborg: serving http://%s%s%s:%u/ (%s database)\n", v6 ? "[" : "", cfg.host,
               v6 ? "]" : "", http_server_port(srv), store_backend_name(st));
        fflush(stdout);
        int sig = 0;
        sigwait(&stop_signals, &sig);
        fprintf(stderr, "ipborg: %s received, finishing requests in flight\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        deletions_watch_stop(watcher);   /* it uses srv: stop it first */
        watcher = NULL;
        http_server_stop(srv, 10);
        rc = 0;
    }
    deletions_watch_stop(watcher);
    store_close(st);
    hashid_free(app.hashid[GRID_PUBLIC]);
    hashid_free(app.hashid[GRID_SECRET]);
    return rc;
}

/* --- migrate ------------------------------------------------------------------- */

static int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 't'},
        {"replace", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *from = NULL, *to = NULL;
    int replace = 0, o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'r': replace = 1; break;
        case 'h':
            printf("usage: ipborg migrate --from URL --to URL [--replace]\n"
                   "\n"
                   "Copies every grid of both tables from one database to another, ids kept,\n"
                   "in one transaction, then verifies the copy. The source is opened read-only.\n"
                   "A target that already holds grids is refused unless --replace, which\n"
                   "drops and recreates its grid tables first.\n");
            return 0;
        case ':':
            fprintf(stderr, "ipborg migrate: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ipborg migrate: unknown option '%s' (see ipborg migrate --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipborg migrate: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!from || !to) {
        fprintf(stderr, "ipborg migrate: both --from URL and --to URL are needed\n");
        return 2;
    }
    return migrate_run(from, to, replace, stdout, stderr);
}

static const char *const backup_usages[] = {
    "usage: ipborg export [--db-url URL] > grids.jsonl\n"
    "\n"
    "Writes every grid of both tables as JSON Lines: a header with the hash-ID\n"
    "salts, then one line per grid (public_grids, then secret_grids, in id order).\n"
    "The database is opened read-only. Salts: HASHIDS_PUBLIC_SALT and\n"
    "HASHIDS_SECRET_SALT if set, else the stored ones. --db-url defaults to\n"
    "DATABASE_URL, else " CONFIG_DEFAULT_DB_URL ".\n",

    "usage: ipborg import [--db-url URL] [--replace] < grids.jsonl\n"
    "\n"
    "Loads a file made by ipborg export, ids kept, in one transaction, and stores\n"
    "its salts, so every URL stays the same; then verifies the target against the\n"
    "file. A target that already holds grids is refused unless --replace, which\n"
    "drops its grids first. A bad line stops the import and nothing is written.\n"
    "Restart servers on that database afterwards (they read the salts at start).\n",

    "usage: ipborg stats [--db-url URL]\n"
    "\n"
    "Prints per table the number of grids, their size in bytes (stored text and\n"
    "JSON columns), and the oldest and newest created_at (rows of the old service\n"
    "have none). Read-only.\n",
};

/* `ipborg export|import|stats ARGS...`: argv[0] is the command name. */
static int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db-url", required_argument, 0, 'd'},
        {"replace", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *cmd = argv[0];
    int which = !strcmp(cmd, "export") ? 0 : !strcmp(cmd, "import") ? 1 : 2;
    const char *url = NULL;
    int replace = 0, o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'd': url = optarg; break;
        case 'r':
            if (which != 1) {
                fprintf(stderr, "ipborg %s: unknown option '--replace' (see ipborg %s "
                        "--help)\n", cmd, cmd);
                return 2;
            }
            replace = 1;
            break;
        case 'h':
            fputs(backup_usages[which], stdout);
            return 0;
        case ':':
            fprintf(stderr, "ipborg %s: option %s needs a value\n", cmd, argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ipborg %s: unknown option '%s' (see ipborg %s --help)\n", cmd,
                    argv[optind - 1], cmd);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipborg %s: unexpected argument '%s' (see ipborg %s --help)\n", cmd,
                argv[optind], cmd);
        return 2;
    }
    url = config_db_url(url);
    if (which == 0)
        return export_run(url, stdout, stderr);
    if (which == 1)
        return import_run(url, replace, stdin, stdout, stderr);
    return stats_run(url, stdout, stderr);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate"))
        return cmd_migrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "delete"))
        return admin_delete_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "export") || !strcmp(cmd, "import") || !strcmp(cmd, "stats"))
        return cmd_backup(argc - 1, argv + 1);
    fprintf(stderr, "ipborg: unknown command '%s' (see ipborg --help)\n", cmd);
    return 2;
}
