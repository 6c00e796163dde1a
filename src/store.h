/* store.h -- where grids live: one interface, several backends.
 *
 * In the manner of SQLite's VFS: a backend is a struct store_ops of function
 * pointers (store_sqlite.c, store_pg.c); callers hold a struct store * and never
 * learn which backend it is. store.c picks the backend from the database URL,
 * keeps one backend connection per thread (so each HTTP worker thread has its own,
 * opened on first use and closed when the thread ends), and resolves the hash-ID
 * salts (docs/protocol.md §2).
 *
 * The data model (docs/protocol.md §6): two tables with one schema, public_grids and
 * secret_grids. A grid is immutable once stored. Ids are assigned by the store,
 * grow monotonically and are never reused, because every URL ever handed out
 * encodes one. A successful put means the row is committed and durable.
 *
 * JSON columns (python_version, grid_data, code_cells) travel as JSON text. The
 * SQLite backend stores that text as it is (legacy files hold Python's
 * json.dumps output); the PostgreSQL backend stores JSONB and returns jsonb's
 * text form. Both are equal JSON values, which is all the contract asks.
 *
 * Errors: every call returns an enum store_status and, unless STORE_OK or
 * STORE_NOT_FOUND, writes one line for a human into err (STORE_ERRLEN bytes).
 * STORE_UNAVAILABLE means "the database cannot be reached or is busy right now":
 * the service answers 503 and the next call on that thread reconnects. */
#ifndef IPBORG_STORE_H
#define IPBORG_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_ERRLEN 512

enum grid_table { GRID_PUBLIC = 0, GRID_SECRET = 1 };
#define GRID_TABLES 2

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND,     /* no such row / no such key */
    STORE_UNAVAILABLE,   /* cannot reach the database now; try later (503) */
    STORE_ERROR,         /* anything else: bad URL, bad schema, bad data, I/O error */
};

/* One row of either table. Strings are NUL-terminated UTF-8 owned by the record
 * (free with grid_record_clear). NULL means SQL NULL. */
struct grid_record {
    int64_t id;
    char *ipb_version;
    char *python_version;   /* JSON text */
    char *grid_data;        /* JSON text */
    char *code_cells;       /* JSON text; NULL (or the text "null") = no code cells */
    char *ipb_class;
    int secret;             /* 0 or 1; -1 for SQL NULL (legacy files only) */
    char *created_at;       /* UTC ISO 8601 "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", or NULL */
};

void grid_record_clear(struct grid_record *r);
const char *store_table_name(enum grid_table t);   /* "public_grids" / "secret_grids" */

/* Open flags. */
#define STORE_READONLY 1    /* never write: no schema changes, no journal mode, no salts */

struct store;

/* What `ipborg stats` shows of one table. bytes: the stored text of the JSON
 * and text columns (ipb_version, python_version, grid_data, code_cells,
 * ipb_class) as the backend returns it (jsonb's text form in PostgreSQL).
 * oldest/newest: "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" over the rows that have a
 * created_at, "" when none has; undated: rows without (legacy files). */
struct store_stats {
    int64_t rows, bytes, undated;
    char oldest[48], newest[48];
};

/* Callback of scan: called once per row in id order; the record and its strings
 * are only valid during the call. Return 0 to go on, non-zero to stop (scan then
 * returns STORE_ERROR with err left as the callback wrote it, if it did). */
typedef int (*store_scan_fn)(void *ctx, const struct grid_record *rec, char *err);

/* One entry of the deletion log (see del and watch_next). */
struct store_deletion {
    int64_t seq;            /* position in the log; grows in commit order */
    enum grid_table table;
    int64_t id;
};

/* Callback of watch_next: d is one deletion (valid during the call), or NULL
 * when deletions may have been missed: forget every grid. */
typedef void (*store_deletion_fn)(void *ctx, const struct store_deletion *d);

/* The backend interface. conn is the backend's own per-thread connection.
 * Unless said otherwise, each function is one short transaction of its own. */
struct store_ops {
    const char *name;                       /* "sqlite", "postgresql" */

    /* Connects to the database named by store_url(st). Unless flags has
     * STORE_READONLY, creates the tables (and ipborg_meta) when absent and
     * upgrades an old SQLite file (adds created_at). */
    int (*connect)(struct store *st, int flags, void **conn, char *err);
    void (*disconnect)(void *conn);

    /* Inserts rec (its id is ignored) into table t; *id_out = the new id.
     * Returns only after the row is committed. */
    int (*put)(void *conn, enum grid_table t, const struct grid_record *rec,
               int64_t *id_out, char *err);
    /* Fills *out (caller clears it) with row id of table t, or STORE_NOT_FOUND. */
    int (*get)(void *conn, enum grid_table t, int64_t id, struct grid_record *out,
               char *err);
    /* Only grid_data of row id: the hot path of GET /get. *json is malloc'd. */
    int (*get_grid_data)(void *conn, enum grid_table t, int64_t id, char **json,
                         size_t *len, char *err);
    /* Number of rows and largest id (0, 0 for an empty table). */
    int (*count)(void *conn, enum grid_table t, int64_t *rows, int64_t *max_id,
                 char *err);
    /* Largest id (0 for an empty table), from the index: O(log n), unlike
     * count. Optional: NULL means store.c falls back to count. */
    int (*max_id)(void *conn, enum grid_table t, int64_t *max_id, char *err);
    /* STORE_OK if a row with this id exists, else STORE_NOT_FOUND. */
    int (*exists)(void *conn, enum grid_table t, int64_t id, char *err);
    /* The k-th row (0-based) in id order: *id_out; STORE_NOT_FOUND past the end. */
    int (*nth_id)(void *conn, enum grid_table t, int64_t k, int64_t *id_out, char *err);

    /* ipborg's own key/value table (salts, schema version). *value malloc'd;
     * STORE_NOT_FOUND when the key (or, read-only, the table) is absent.
     * meta_set inserts only if the key is absent and never overwrites: salts,
     * once stored, never change, and two servers starting at once on an empty
     * database must agree (each re-reads after writing). Inside load_begin ..
     * load_end it joins that transaction and DOES overwrite: a load replaces
     * every grid of the target, so the salts that give those grids their URLs
     * must be the loaded ones (import stores its file's salts). */
    int (*meta_get)(void *conn, const char *key, char **value, char *err);
    int (*meta_set)(void *conn, const char *key, const char *value, char *err);

    /* Removes one row and, in the same transaction, appends (table, id, time)
     * to ipborg_deleted, the deletion log that every server follows (watch_*
     * below). Deletions are serialised, so seq in the log grows in commit
     * order; PostgreSQL also NOTIFYs channel ipborg_deleted at commit.
     * STORE_NOT_FOUND if absent (then nothing is written). */
    int (*del)(void *conn, enum grid_table t, int64_t id, char *err);

    /* Following the deletion log (deletions.c runs one watcher per server).
     * watch_open makes a connection of its own, apart from the per-thread
     * ones (PostgreSQL: it LISTENs on ipborg_deleted).
     * watch_next: with *cursor < 0, sets *cursor to the newest seq of the log
     * (0 when empty) and returns. Otherwise calls fn for each deletion with
     * seq > *cursor, in seq order, advancing *cursor; when there is none, it
     * waits up to timeout_ms for a sign of one (PostgreSQL: a notification;
     * SQLite: a sleep, then PRAGMA data_version) and looks once more. If the
     * log's newest seq is below *cursor (the log was dropped and recreated),
     * calls fn(ctx, NULL), "some may have been missed", and moves *cursor
     * there. On STORE_UNAVAILABLE or STORE_ERROR close the watch and open a
     * new one: the log is durable, so going on from the cursor misses
     * nothing. */
    int (*watch_open)(struct store *st, void **watch, char *err);
    int (*watch_next)(void *watch, int64_t *cursor, int timeout_ms,
                      store_deletion_fn fn, void *ctx, char *err);
    void (*watch_close)(void *watch);

    /* Streams every row of table t in id order (migrate, export). */
    int (*scan)(void *conn, enum grid_table t, store_scan_fn fn, void *ctx, char *err);

    /* Bulk load (migrate, import), all in one transaction:
     * load_begin starts it; refuses (STORE_ERROR, "... holds N grids ...") if
     * either table holds rows, unless replace, which drops and recreates both
     * tables. load_row appends one row with its id and created_at (NULL:
     * the target's default). load_end(commit=1) sets both id sequences to
     * max(id) (next id = max + 1, or 1 for an empty table), then commits;
     * commit=0 rolls everything back. */
    int (*load_begin)(void *conn, int replace, char *err);
    int (*load_row)(void *conn, enum grid_table t, const struct grid_record *rec,
                    char *err);
    int (*load_end)(void *conn, int commit, char *err);

    /* Aggregates of table t in one query (stats), read-only. */
    int (*stats)(void *conn, enum grid_table t, struct store_stats *out, char *err);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* --- the front end (store.c) ---------------------------------------------- */

/* Opens the store for url ("sqlite:///rel.db", "sqlite:////abs.db",
 * "postgresql://..." or "postgres://..."). Connects once on the calling thread to
 * check the URL and (unless STORE_READONLY) create the schema. NULL + err on
 * failure. */
struct store *store_open(const char *url, int flags, char *err);
/* Closes every connection. Call after every thread that used the store has
 * stopped using it. */
void store_close(struct store *st);

const char *store_url(const struct store *st);
/* For sqlite URLs: the file path; for PostgreSQL: the libpq conninfo (the URL). */
const char *store_target(const struct store *st);
const struct store_ops *store_backend(const struct store *st);
int store_flags(const struct store *st);

/* The calling thread's connection, opened on first use. NULL + err (returning
 * STORE_UNAVAILABLE or STORE_ERROR through *status) when it cannot connect. */
void *store_conn(struct store *st, int *status, char *err);
/* Drops the calling thread's connection (after STORE_UNAVAILABLE), so that the
 * next store_conn reconnects. */
void store_conn_reset(struct store *st);

/* Convenience wrappers: the calling thread's connection + the op. They reset
 * the connection on STORE_UNAVAILABLE. */
int store_put(struct store *st, enum grid_table t, const struct grid_record *rec,
              int64_t *id_out, char *err);
int store_get(struct store *st, enum grid_table t, int64_t id,
              struct grid_record *out, char *err);
int store_get_grid_data(struct store *st, enum grid_table t, int64_t id,
                        char **json, size_t *len, char *err);
int store_count(struct store *st, enum grid_table t, int64_t *rows,
                int64_t *max_id, char *err);
/* Largest id of table t (0 when empty), cheaply: the health check. */
int store_max_id(struct store *st, enum grid_table t, int64_t *max_id, char *err);
/* A uniformly chosen id among the rows of table t; STORE_NOT_FOUND if empty.
 * Costs O(1) queries on average however many rows there are. */
int store_random_id(struct store *st, enum grid_table t, int64_t *id_out, char *err);
int store_delete(struct store *st, enum grid_table t, int64_t id, char *err);
/* STORE_OK if row id of table t exists, else STORE_NOT_FOUND (or an error):
 * one indexed look-up that reads no grid data (the gallery's probe). */
int store_exists(struct store *st, enum grid_table t, int64_t id, char *err);
int store_stats(struct store *st, enum grid_table t, struct store_stats *out, char *err);

/* The deletion log (ops watch_*), on a connection owned by the caller's
 * watch, not the thread's. */
int store_watch_open(struct store *st, void **watch, char *err);
int store_watch_next(struct store *st, void *watch, int64_t *cursor, int timeout_ms,
                     store_deletion_fn fn, void *ctx, char *err);
void store_watch_close(struct store *st, void *watch);

/* Salts (docs/protocol.md §2). env_public / env_secret: the environment's values or NULL.
 * force: serve --force-salts. On success *pub and *sec are malloc'd. Refuses
 * (STORE_ERROR + message naming HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT) a
 * database with grids but no stored salts and no salts in the environment, and
 * salts that differ from the stored ones unless force. In a STORE_READONLY
 * store nothing is written. */
int store_resolve_salts(struct store *st, const char *env_public,
                        const char *env_secret, int force, char **pub, char **sec,
                        char *err);

#define META_PUBLIC_SALT "hashids_public_salt"
#define META_SECRET_SALT "hashids_secret_salt"

/* Helpers shared by backends. */
void store_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
