/* admin.c -- `ipborg delete`: removes one grid from a database (admin.h).
 *
 * The hash ID is resolved with the salts every subcommand uses (docs/protocol.md §2:
 * store_resolve_salts with HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT when the
 * environment gives them), and only its canonical form names a grid, as in
 * URLs. Before anything is written the grid is shown and, unless --yes, the
 * user must answer y or yes on stdin; anything else, or end of input, leaves
 * the database as it was.
 *
 * The delete itself is store_delete, which also appends to the store's
 * deletion log in the same transaction: every running server follows that
 * log (deletions.c) and forgets the grid's cached page, JSON and PNG within
 * a second. The id is never handed out again (store.h).
 *
 * The database is first opened read-only, so that a mistyped SQLite path is
 * reported as missing instead of being created as a new empty file. */
#include "admin.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hashid.h"
#include "store.h"

#define HASHID_MIN_LENGTH 6   /* as the service: docs/protocol.md §3 */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ipborg delete [--secret] [--yes] [--db-url URL] HASHID\n"
        "\n"
        "Removes one grid, named by its hash ID (the last part of its URL), from the\n"
        "public grids, or with --secret from the secret grids. Every server on the\n"
        "database stops serving it within a second; its id is never used again.\n"
        "\n"
        "  --db-url URL   sqlite:///path.db, sqlite:////abs/path.db or postgresql://...\n"
        "                 (DATABASE_URL; default %s)\n"
        "  --secret       HASHID names a secret grid (a /secret/HASHID URL)\n"
        "  --yes          do not ask for confirmation\n"
        "\n"
        "Without --yes, asks \"Delete ...? [y/N]\" and reads the answer from stdin;\n"
        "only y or yes deletes. Exit status: 0 deleted, 1 not deleted, 2 usage error.\n",
        CONFIG_DEFAULT_DB_URL);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Reads one line from stdin: 1 if it says y or yes (any case, spaces
 * around), 0 otherwise (also at end of input). */
static int confirmed(void)
{
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        fputc('\n', stderr);   /* end the prompt's line */
        return 0;
    }
    char *p = line, *end = line + strlen(line);
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    size_t n = (size_t)(end - p);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)tolower((unsigned char)p[i]);
    return (n == 1 && p[0] == 'y') || (n == 3 && !memcmp(p, "yes", 3));
}

/* Resolves hash to the id of a grid of table t in st and describes it; 0 or
 * 1 after printing why not. */
static int find_grid(struct store *st, enum grid_table t, const char *hash, int64_t *id,
                     char **created_at)
{
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(st, env("HASHIDS_PUBLIC_SALT"), env("HASHIDS_SECRET_SALT"), 0,
                            &pub, &sec, err) != STORE_OK) {
        fprintf(stderr, "ipborg delete: %s\n", err);
        return 1;
    }
    struct hashid *h = hashid_new(t == GRID_SECRET ? sec : pub, HASHID_MIN_LENGTH);
    free(pub);
    free(sec);
    if (!h) {
        fprintf(stderr, "ipborg delete: out of memory\n");
        return 1;
    }
    int ok = hashid_parse_id(h, hash, strlen(hash), id);
    hashid_free(h);
    const char *kind = t == GRID_SECRET ? "secret" : "public";
    if (!ok) {
        fprintf(stderr, "ipborg delete: '%s' is not the hash ID of any %s grid%s\n", hash,
                kind, t == GRID_SECRET ? "" : " (for a secret grid, add --secret)");
        return 1;
    }
    struct grid_record rec = {0};
    int rc = store_get(st, t, *id, &rec, err);
    if (rc == STORE_NOT_FOUND) {
        fprintf(stderr, "ipborg delete: there is no %s grid %s (id %lld) in the database\n",
                kind, hash, (long long)*id);
        return 1;
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "ipborg delete: %s\n", err);
        return 1;
    }
    *created_at = rec.created_at;
    rec.created_at = NULL;
    grid_record_clear(&rec);
    return 0;
}

static int delete_grid(const char *url, enum grid_table t, const char *hash, int yes)
{
    char err[STORE_ERRLEN] = "";
    struct store *probe = store_open(url, STORE_READONLY, err);
    if (!probe) {
        fprintf(stderr, "ipborg delete: %s\n", err);
        return 1;
    }
    store_close(probe);
    struct store *st = store_open(url, 0, err);
    if (!st) {
        fprintf(stderr, "ipborg delete: %s\n", err);
        return 1;
    }
    int64_t id = 0;
    char *created_at = NULL;
    if (find_grid(st, t, hash, &id, &created_at) != 0) {
        store_close(st);
        return 1;
    }
    const char *kind = t == GRID_SECRET ? "secret" : "public";
    if (!yes) {
        fprintf(stderr, "Delete %s grid %s (id %lld, posted %s)? [y/N] ", kind, hash,
                (long long)id, created_at ? created_at : "at an unknown time");
        fflush(stderr);
        if (!confirmed()) {
            fprintf(stderr, "ipborg delete: not confirmed; %s grid %s is kept\n", kind, hash);
            free(created_at);
            store_close(st);
            return 1;
        }
    }
    free(created_at);
    int rc = store_delete(st, t, id, err);
    store_close(st);
    if (rc == STORE_NOT_FOUND) {
        fprintf(stderr, "ipborg delete: %s grid %s was deleted meanwhile\n", kind, hash);
        return 1;
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "ipborg delete: %s\n", err);
        return 1;
    }
    printf("deleted %s grid %s (id %lld)\n", kind, hash, (long long)id);
    return 0;
}

int admin_delete_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db-url", required_argument, 0, 'd'},
        {"secret", no_argument, 0, 's'},
        {"yes", no_argument, 0, 'y'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *db_url = NULL;
    int secret = 0, yes = 0, o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'd': db_url = optarg; break;
        case 's': secret = 1; break;
        case 'y': yes = 1; break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "ipborg delete: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ipborg delete: unknown option '%s' (see ipborg delete --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "ipborg delete: which grid? give its HASHID (see ipborg delete --help)\n");
        return 2;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "ipborg delete: unexpected argument '%s' (one HASHID at a time)\n",
                argv[optind + 1]);
        return 2;
    }
    if (db_url && !*db_url) {
        fprintf(stderr, "ipborg delete: --db-url needs a URL\n");
        return 2;
    }
    return delete_grid(config_db_url(db_url), secret ? GRID_SECRET : GRID_PUBLIC,
                       argv[optind], yes);
}
