/* admin.c -- `ipborg delete`: removes one grid from a database (admin.h).
 *
 * The grid is named by its hash ID or by its whole URL (admin_parse_target);
 * /secret/ in a URL chooses the secret table as --secret does. The hash ID
 * is resolved with the salts every subcommand uses (docs/protocol.md §2:
 * store_resolve_salts with HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT when the
 * environment gives them), and only its canonical form names a grid, as in
 * URLs. Before anything is written the grid is shown and, unless --yes, the
 * user must answer y or yes; anything else, or end of input, leaves the
 * database as it was.
 *
 * The delete itself is store_delete, which also appends to the store's
 * deletion log in the same transaction: every running server follows that
 * log (deletions.c) and forgets the grid's cached page, JSON and PNG within
 * a second. The id is never handed out again (store.h).
 *
 * The database is first opened read-only, so that a mistyped SQLite path is
 * reported as missing instead of being created as a new empty file, and so
 * that salts in the environment that differ from the stored ones are refused
 * in delete's own words before anything could be written.
 *
 * Every message goes through cli_fail (cli.h): a URL or a backend's error
 * text never shows a database password. */
#include "admin.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "hashid.h"

#define HASHID_MIN_LENGTH 6   /* as the service: docs/protocol.md §3 */

/* --- the argument ------------------------------------------------------------------ */

/* Splits path (len bytes, starting with '/', no query or fragment) into the
 * grid it names. 0 or -1. */
static int grid_path(const char *path, size_t len, int *secret, char *hash)
{
    while (len > 1 && path[len - 1] == '/')   /* trailing slashes */
        len--;
    const char *seg[4];
    size_t seglen[4];
    int n = 0;
    for (size_t i = 0; i < len;) {
        if (path[i] != '/' || n == 4)
            return -1;
        size_t j = i + 1;
        while (j < len && path[j] != '/')
            j++;
        seg[n] = path + i + 1;
        seglen[n++] = j - i - 1;
        i = j;
    }
    int k = 0;
    if (n > k + 1 && seglen[k] == 3 && !memcmp(seg[k], "get", 3))
        k++;                                   /* /get/HASH, /get/secret/HASH */
    *secret = 0;
    if (n > k + 1 && seglen[k] == 6 && !memcmp(seg[k], "secret", 6)) {
        *secret = 1;
        k++;
    }
    if (n != k + 1)
        return -1;
    if (k == 0 && ((seglen[0] == 6 && !memcmp(seg[0], "secret", 6)) ||
                   (seglen[0] == 3 && !memcmp(seg[0], "get", 3))))
        return -1;                             /* "/secret/" alone names no grid */
    size_t h = seglen[k];
    if (k == 0 || (k == 1 && *secret))        /* not under /get/: HASH.png too */
        if (h > 4 && !memcmp(seg[k] + h - 4, ".png", 4))
            h -= 4;
    if (h == 0 || h >= ADMIN_HASH_MAX)
        return -1;
    for (size_t i = 0; i < h; i++)
        if (!isalnum((unsigned char)seg[k][i]))
            return -1;
    memcpy(hash, seg[k], h);
    hash[h] = '\0';
    return 0;
}

int admin_parse_target(const char *arg, int secret, struct admin_target *t, char *err,
                       size_t n)
{
    const char *path = NULL;
    const char *sep = strstr(arg, "://");
    if (sep) {
        size_t scheme = (size_t)(sep - arg);
        if (!((scheme == 4 && !strncasecmp(arg, "http", 4)) ||
              (scheme == 5 && !strncasecmp(arg, "https", 5)))) {
            snprintf(err, n, "'%s' is not a grid's URL (expected http(s)://HOST/HASHID or "
                     "http(s)://HOST/secret/HASHID)", arg);
            return -1;
        }
        const char *host = sep + 3;
        size_t hl = strcspn(host, "/?#");
        if (hl == 0 || host[hl] != '/') {
            snprintf(err, n, "'%s' names no grid: expected http(s)://HOST/HASHID or "
                     "http(s)://HOST/secret/HASHID", arg);
            return -1;
        }
        path = host + hl;
    } else if (arg[0] == '/') {
        path = arg;
    }
    if (!path) {                                /* a bare hash ID */
        if (strlen(arg) >= ADMIN_HASH_MAX) {
            snprintf(err, n, "'%.*s...' is too long for a hash ID", 16, arg);
            return -1;
        }
        strcpy(t->hash, arg);
        t->table = secret ? GRID_SECRET : GRID_PUBLIC;
        return 0;
    }
    int url_secret = 0;
    if (grid_path(path, strcspn(path, "?#"), &url_secret, t->hash)) {
        snprintf(err, n, "'%s' is not the address of a grid: its path must be /HASHID or "
                 "/secret/HASHID", arg);
        return -1;
    }
    if (secret && !url_secret) {
        snprintf(err, n, "--secret was given, but '%s' is the address of a public grid "
                 "(a secret grid's has /secret/)", arg);
        return -1;
    }
    t->table = url_secret ? GRID_SECRET : GRID_PUBLIC;
    return 0;
}

/* --- the delete ---------------------------------------------------------------------- */

/* Reads one line from in: 1 if it says y or yes (any case, spaces around),
 * 0 otherwise (also at end of input). */
static int confirmed(FILE *in, FILE *msgs)
{
    char line[64];
    if (!fgets(line, sizeof line, in)) {
        fputc('\n', msgs);   /* end the prompt's line */
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

/* Salts in the environment that differ from the stored ones would make every
 * hash ID mean another grid: refused, in delete's words (it has no
 * --force-salts). Checked on the read-only store. 0 to go on, 1 refused. */
static int salts_agree(struct store *ro, const struct admin_delete_opts *o, FILE *msgs)
{
    if (!o->env_public_salt || !o->env_secret_salt)
        return 0;   /* none given (or one alone: store_resolve_salts says so) */
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(ro, NULL, NULL, 0, &pub, &sec, err) != STORE_OK)
        return 0;   /* none stored: the environment's are used */
    int differ = strcmp(pub, o->env_public_salt) || strcmp(sec, o->env_secret_salt);
    free(pub);
    free(sec);
    if (differ)
        cli_fail(msgs, "delete", "HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT differ from the "
                 "salts stored in the database, so hash IDs would name other grids; unset "
                 "them to use the stored salts");
    return differ;
}

/* Resolves the target's hash to the id of a grid in st; 0, or 1 after saying
 * why not. *created_at: malloc'd or NULL. */
static int find_grid(struct store *st, const struct admin_delete_opts *o,
                     const struct admin_target *t, int64_t *id, char **created_at,
                     FILE *msgs)
{
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(st, o->env_public_salt, o->env_secret_salt, 0, &pub, &sec,
                            err) != STORE_OK) {
        cli_fail(msgs, "delete", "%s", err);
        return 1;
    }
    struct hashid *h = hashid_new(t->table == GRID_SECRET ? sec : pub, HASHID_MIN_LENGTH);
    free(pub);
    free(sec);
    if (!h) {
        cli_fail(msgs, "delete", "out of memory");
        return 1;
    }
    int ok = hashid_parse_id(h, t->hash, strlen(t->hash), id);
    hashid_free(h);
    const char *kind = t->table == GRID_SECRET ? "secret" : "public";
    if (!ok) {
        cli_fail(msgs, "delete", "'%s' is not the hash ID of any %s grid%s", t->hash, kind,
                 t->table == GRID_SECRET ? "" : " (for a secret grid, add --secret or give "
                 "its /secret/ URL)");
        return 1;
    }
    struct grid_record rec = {0};
    int rc = store_get(st, t->table, *id, &rec, err);
    if (rc == STORE_NOT_FOUND) {
        cli_fail(msgs, "delete", "there is no %s grid %s (id %lld) in the database", kind,
                 t->hash, (long long)*id);
        return 1;
    }
    if (rc != STORE_OK) {
        cli_fail(msgs, "delete", "%s", err);
        return 1;
    }
    *created_at = rec.created_at;
    rec.created_at = NULL;
    grid_record_clear(&rec);
    return 0;
}

int admin_delete(const struct admin_delete_opts *o, FILE *in, FILE *out, FILE *msgs)
{
    struct admin_target t;
    char err[STORE_ERRLEN] = "";
    if (admin_parse_target(o->target, o->secret, &t, err, sizeof err)) {
        cli_fail(msgs, "delete", "%s", err);
        return 2;
    }
    struct store *probe = store_open(o->db_url, STORE_READONLY, err);
    if (!probe) {
        cli_fail(msgs, "delete", "%s", err);
        return 1;
    }
    int refused = salts_agree(probe, o, msgs);
    store_close(probe);
    if (refused)
        return 1;
    struct store *st = store_open(o->db_url, 0, err);
    if (!st) {
        cli_fail(msgs, "delete", "%s", err);
        return 1;
    }
    int64_t id = 0;
    char *created_at = NULL;
    if (find_grid(st, o, &t, &id, &created_at, msgs) != 0) {
        store_close(st);
        return 1;
    }
    const char *kind = t.table == GRID_SECRET ? "secret" : "public";
    if (!o->yes) {
        fprintf(msgs, "Delete %s grid %s (id %lld, posted %s)? [y/N] ", kind, t.hash,
                (long long)id, created_at ? created_at : "at an unknown time");
        fflush(msgs);
        if (!confirmed(in, msgs)) {
            cli_fail(msgs, "delete", "not confirmed; %s grid %s is kept", kind, t.hash);
            free(created_at);
            store_close(st);
            return 1;
        }
    }
    free(created_at);
    int rc = store_delete(st, t.table, id, err);
    store_close(st);
    if (rc == STORE_NOT_FOUND) {
        cli_fail(msgs, "delete", "%s grid %s was deleted meanwhile", kind, t.hash);
        return 1;
    }
    if (rc != STORE_OK) {
        cli_fail(msgs, "delete", "%s", err);
        return 1;
    }
    fprintf(out, "deleted %s grid %s (id %lld)\n", kind, t.hash, (long long)id);
    return 0;
}
