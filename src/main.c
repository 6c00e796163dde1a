/* main.c -- the ipborg command: the table of subcommands, each with its
 * options (cli.h parses them all the same way), and what each one runs.
 *
 * Exit status: 0 success (and --help), 1 the work failed (the database could
 * not be opened, the migration did not verify, ...), 2 the command line was
 * wrong. Every failure is one line on stderr that starts with "ipborg".
 *
 * What a command prints about its work goes through a scrubbing stream
 * (cli_scrubbing_stream), so no message, whoever wrote it, shows a database
 * password; export's grid data on stdout is passed on untouched. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cli.h"
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

/* Runs fn with a scrubbing stream for messages (stderr) and, if scrub_out,
 * for stdout too; closes them after. */
static int with_streams(int scrub_out, int (*fn)(const struct cli_values *, FILE *, FILE *),
                        const struct cli_values *v)
{
    FILE *msgs = cli_scrubbing_stream(stderr);
    FILE *out = scrub_out ? cli_scrubbing_stream(stdout) : stdout;
    if (!msgs || !out) {
        fprintf(stderr, "ipborg %s: out of memory\n", v->cmd->name);
        if (msgs)
            fclose(msgs);
        if (out && out != stdout)
            fclose(out);
        return 1;
    }
    int rc = fn(v, out, msgs);
    fflush(stdout);
    if (out != stdout)
        fclose(out);
    fclose(msgs);
    return rc;
}

/* --- serve ---------------------------------------------------------------------------- */

static void count_words(struct store *st, enum grid_table t, const char *kind, char *out,
                        size_t n)
{
    char err[STORE_ERRLEN];
    int64_t rows = 0, max_id = 0;
    if (store_count(st, t, &rows, &max_id, err) != STORE_OK)
        snprintf(out, n, "? %s grids", kind);
    else
        snprintf(out, n, "%lld %s grid%s", (long long)rows, kind, rows == 1 ? "" : "s");
}

/* One line on stdout once the server listens: the URL to open, the database
 * and how many grids it holds, so that a server started on the wrong file
 * shows it at once. */
static void print_serving(const struct config *cfg, struct http_server *srv, struct store *st)
{
    char db[PATH_MAX + 64], pub[64], sec[64], line[PATH_MAX + 512], clean[PATH_MAX + 512];
    store_describe(st, db, sizeof db);
    count_words(st, GRID_PUBLIC, "public", pub, sizeof pub);
    count_words(st, GRID_SECRET, "secret", sec, sizeof sec);
    int v6 = strchr(cfg->host, ':') != NULL;
    snprintf(line, sizeof line, "ipborg: serving http://%s%s%s:%u/ (%s: %s, %s)",
             v6 ? "[" : "", cfg->host, v6 ? "]" : "", http_server_port(srv), db, pub, sec);
    printf("%s\n", cli_scrub(line, clean, sizeof clean));
    fflush(stdout);
}

static int cmd_serve(const struct cli_values *v)
{
    struct config cfg;
    config_from_cli(&cfg, v);

    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(cfg.db_url, 0, err);
    if (!st) {
        cli_fail(stderr, "serve", "%s", err);
        return 1;
    }
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(st, cfg.env_public_salt, cfg.env_secret_salt,
                            cfg.force_salts ? STORE_SALTS_FORCE : STORE_SALTS_CAN_FORCE,
                            &pub, &sec, err) != STORE_OK) {
        cli_fail(stderr, "serve", "%s", err);
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
        cli_fail(stderr, "serve", "out of memory");
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
        cli_fail(stderr, "serve", "cannot follow deletions: %s", err);
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
    int rc;
    struct http_server *srv = http_server_start(&o, serr, sizeof serr);
    if (!srv) {
        cli_fail(stderr, "serve", "%s", serr);
        rc = 1;
    } else {
        atomic_store(&app.server, srv);
        print_serving(&cfg, srv, st);
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

/* --- migrate ---------------------------------------------------------------------------- */

enum { MIG_FROM, MIG_TO, MIG_REPLACE, MIG_PUBLIC_SALT, MIG_SECRET_SALT, MIG_NOPTS };

static const struct cli_option migrate_options[MIG_NOPTS] = {
    [MIG_FROM] = {"from", CLI_TEXT, "URL", NULL, NULL, 0, 0, "the database to copy from"},
    [MIG_TO] = {"to", CLI_TEXT, "URL", NULL, NULL, 0, 0, "the database to copy to"},
    [MIG_REPLACE] = {"replace", CLI_FLAG, NULL, NULL, NULL, 0, 0,
                     "drop and recreate the target's grid tables first"},
    [MIG_PUBLIC_SALT] = CONFIG_PUBLIC_SALT_OPTION,
    [MIG_SECRET_SALT] = CONFIG_SECRET_SALT_OPTION,
};

static int migrate_work(const struct cli_values *v, FILE *out, FILE *msgs)
{
    return migrate_run(cli_text(v, MIG_FROM), cli_text(v, MIG_TO), cli_flag(v, MIG_REPLACE),
                       out, msgs);
}

static int cmd_migrate(const struct cli_values *v)
{
    if (!cli_text(v, MIG_FROM) || !cli_text(v, MIG_TO)) {
        cli_fail(stderr, "migrate", "both --from URL and --to URL are needed "
                 "(see ipborg migrate --help)");
        return 2;
    }
    return with_streams(1, migrate_work, v);
}

/* --- delete ------------------------------------------------------------------------------- */

enum { DEL_DB_URL, DEL_SECRET, DEL_YES, DEL_PUBLIC_SALT, DEL_SECRET_SALT, DEL_NOPTS };

static const struct cli_option delete_options[DEL_NOPTS] = {
    [DEL_DB_URL] = CONFIG_DB_URL_OPTION,
    [DEL_SECRET] = {"secret", CLI_FLAG, NULL, NULL, NULL, 0, 0,
                    "HASHID names a secret grid (a /secret/HASHID URL says so itself)"},
    [DEL_YES] = {"yes", CLI_FLAG, NULL, NULL, NULL, 0, 0, "do not ask for confirmation"},
    [DEL_PUBLIC_SALT] = CONFIG_PUBLIC_SALT_OPTION,
    [DEL_SECRET_SALT] = CONFIG_SECRET_SALT_OPTION,
};

static int delete_work(const struct cli_values *v, FILE *out, FILE *msgs)
{
    struct admin_delete_opts o = {
        .db_url = cli_text(v, DEL_DB_URL),
        .target = v->args[0],
        .secret = cli_flag(v, DEL_SECRET),
        .yes = cli_flag(v, DEL_YES),
        .env_public_salt = cli_text(v, DEL_PUBLIC_SALT),
        .env_secret_salt = cli_text(v, DEL_SECRET_SALT),
    };
    return admin_delete(&o, stdin, out, msgs);
}

static int cmd_delete(const struct cli_values *v)
{
    return with_streams(1, delete_work, v);
}

/* --- export, import, stats ------------------------------------------------------------------ */

enum { EXP_DB_URL, EXP_PUBLIC_SALT, EXP_SECRET_SALT, EXP_NOPTS };
static const struct cli_option export_options[EXP_NOPTS] = {
    [EXP_DB_URL] = CONFIG_DB_URL_OPTION,
    [EXP_PUBLIC_SALT] = CONFIG_PUBLIC_SALT_OPTION,
    [EXP_SECRET_SALT] = CONFIG_SECRET_SALT_OPTION,
};

enum { IMP_DB_URL, IMP_REPLACE, IMP_NOPTS };
static const struct cli_option import_options[IMP_NOPTS] = {
    [IMP_DB_URL] = CONFIG_DB_URL_OPTION,
    [IMP_REPLACE] = {"replace", CLI_FLAG, NULL, NULL, NULL, 0, 0,
                     "drop the target's grids first (a target with grids is refused "
                     "otherwise)"},
};

enum { STA_DB_URL, STA_NOPTS };
static const struct cli_option stats_options[STA_NOPTS] = {
    [STA_DB_URL] = CONFIG_DB_URL_OPTION,
};

static int export_work(const struct cli_values *v, FILE *out, FILE *msgs)
{
    return export_run(cli_text(v, EXP_DB_URL), out, msgs);
}

static int import_work(const struct cli_values *v, FILE *out, FILE *msgs)
{
    return import_run(cli_text(v, IMP_DB_URL), cli_flag(v, IMP_REPLACE), stdin, out, msgs);
}

static int stats_work(const struct cli_values *v, FILE *out, FILE *msgs)
{
    return stats_run(cli_text(v, STA_DB_URL), out, msgs);
}

/* export's stdout is the backup itself: never rewritten. */
static int cmd_export(const struct cli_values *v) { return with_streams(0, export_work, v); }
static int cmd_import(const struct cli_values *v) { return with_streams(1, import_work, v); }
static int cmd_stats(const struct cli_values *v) { return with_streams(1, stats_work, v); }

/* --- the command table ---------------------------------------------------------------------- */

static const struct cli_command commands[] = {
    {"serve", "[options]",
     "Serves ipythonblocks grids over HTTP. Salts: HASHIDS_PUBLIC_SALT and\n"
     "HASHIDS_SECRET_SALT, else those stored in the database, else (empty database)\n"
     "new random ones, stored.",
     "run the web service",
     config_serve_options, CFG_NOPTS, 0, 0, NULL, cmd_serve},
    {"migrate", "--from URL --to URL [--replace]",
     "Copies every grid of both tables from one database to another, ids kept,\n"
     "in one transaction, then verifies the copy. The source is opened read-only.\n"
     "A target that already holds grids is refused unless --replace, which\n"
     "drops and recreates its grid tables first. Progress on stderr every\n"
     "IPBORG_PROGRESS_SECONDS (default 1).",
     "copy every grid between two databases",
     migrate_options, MIG_NOPTS, 0, 0, NULL, cmd_migrate},
    {"delete", "[--secret] [--yes] [--db-url URL] HASHID|URL",
     "Removes one grid, named by its hash ID (the last part of its URL, a public\n"
     "grid unless --secret) or by its whole URL (http(s)://HOST/HASHID or\n"
     "http(s)://HOST/secret/HASHID; any host, trailing slash, query or fragment).\n"
     "Every server on the database stops serving it within a second; its id is\n"
     "never used again. Without --yes, asks \"Delete ...? [y/N]\" and reads the\n"
     "answer from stdin; only y or yes deletes. Exit status: 0 deleted, 1 not\n"
     "deleted, 2 a wrong command line or an address that names no grid.",
     "remove one grid, by hash ID or URL",
     delete_options, DEL_NOPTS, 1, 1, "grid (its HASHID or URL)", cmd_delete},
    {"export", "[--db-url URL] > grids.jsonl",
     "Writes every grid of both tables as JSON Lines: a header with the hash-ID\n"
     "salts and the ids' high-water marks, then one line per grid (public_grids,\n"
     "then secret_grids, in id order), then one line per entry of the deletion\n"
     "log. The database is opened read-only.",
     "write every grid as JSON Lines (read-only)",
     export_options, EXP_NOPTS, 0, 0, NULL, cmd_export},
    {"import", "[--db-url URL] [--replace] < grids.jsonl",
     "Loads a file made by ipborg export, ids kept, in one transaction, and stores\n"
     "its salts, so every URL stays the same; then verifies the target against the\n"
     "file. A bad line stops the import and nothing is written. Restart servers\n"
     "on that database afterwards (they read the salts at start).",
     "load such a file, ids and salts kept, then verify",
     import_options, IMP_NOPTS, 0, 0, NULL, cmd_import},
    {"stats", "[--db-url URL]",
     "Prints per table the number of grids, their size in bytes (stored text and\n"
     "JSON columns), the oldest and newest created_at, and how many rows have no\n"
     "real posted date (undated: grids of the old service). Read-only.",
     "grids, bytes and dates per table (read-only)",
     stats_options, STA_NOPTS, 0, 0, NULL, cmd_stats},
};

int main(int argc, char **argv)
{
    return cli_main(commands, (int)(sizeof commands / sizeof commands[0]), argc, argv);
}
