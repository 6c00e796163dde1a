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
#include "backup.h"
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
        return backup_command(argc - 1, argv + 1);
    fprintf(stderr, "ipborg: unknown command '%s' (see ipborg --help)\n", cmd);
    return 2;
}
