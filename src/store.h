/* store.h -- where grids live: one interface, several backends.
 *
 * In the manner of SQLite's os.c over its VFS: a backend is a struct store_ops
 * of function pointers (store_backend.h, seen only by store.c and the backends
 * store_sqlite.c, store_pg.c); callers hold a struct store *, use the store_*
 * functions below and never learn which backend it is, nor hold its
 * connection. Many rows are read with cursors. store.c picks the backend from
 * the database URL,
 * keeps one backend connection per thread (so each HTTP worker thread has its own,
 * opened on first use and closed when the thread ends), and resolves the hash-ID
 * salts (docs/protocol.md §2).
 *
 * The data model (docs/protocol.md §6): two tables with one schema, public_grids and
 * secret_grids. A grid is immutable once stored. Ids are assigned by the store,
 * grow monotonically and are never reused, because every URL ever handed out
 * encodes one -- also across a move: a store knows the largest id each table
 * ever gave (store_last_id), and a load carries it. A row may have no posted
 * date (created_at NULL, rows of the old service) on every backend. A
 * successful put means the row is committed and durable.
 *
 * JSON columns (python_version, grid_data, code_cells) travel as JSON text. The
 * SQLite backend stores that text as it is (legacy files hold Python's
 * json.dumps output); the PostgreSQL backend stores JSONB and returns jsonb's
 * text form. Both are equal JSON values, which is all the contract asks.
 *
 * Errors: every call returns an enum store_status and, unless STORE_OK or
 * STORE_NOT_FOUND, writes one line for a human into err (STORE_ERRLEN bytes),
 * with any database password shown as *** (redact.h).
 * STORE_UNAVAILABLE means "the database cannot be reached or is busy right now":
 * the service answers 503 and the next call on that thread reconnects. */
#ifndef IPBORG_STORE_H
#define IPBORG_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_ERRLEN 512
#define STORE_TIMELEN 48   /* a time as text: "YYYY-MM-DDTHH:MM:SS.ffffffZ" and room */

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


/* One entry of the deletion log (see del and watch_next). */
struct store_deletion {
    int64_t seq;            /* position in the log; grows in commit order */
    enum grid_table table;
    int64_t id;
    const char *deleted_at; /* UTC ISO 8601; set by store_log_next only */
};

/* Callback of watch_next: d is one deletion (valid during the call), or NULL
 * when deletions may have been missed: forget every grid. */
typedef void (*store_deletion_fn)(void *ctx, const struct store_deletion *d);


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
/* "sqlite" or "postgresql": for the startup line and messages only; callers
 * never branch on it. */
const char *store_backend_name(const struct store *st);
/* What a person may be shown of the database, in out (n bytes): "sqlite
 * database /full/path.db" or "postgresql database host:port/dbname" -- never
 * a user, password or parameter. */
void store_describe(const struct store *st, char *out, size_t n);
/* 1 if the two URLs name the same database as far as can be told without
 * opening either (the same URL, the same SQLite file under another path, the
 * same PostgreSQL host/port/database/user). */
int store_same_database(const char *url_a, const char *url_b);

/* Every function below runs on the calling thread's connection (opened on
 * first use) and drops it on STORE_UNAVAILABLE, so the next call reconnects. */
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

/* Reading every row of table t in id order, one snapshot (migrate, export,
 * verification), one row at a time: memory does not grow with the table.
 * store_cursor_open starts it on the calling thread's connection (one open
 * cursor per store and thread; a cursor of another store may be open at the
 * same time). store_cursor_next sets *rec to the next row, owned by the
 * cursor and valid until the next call, and returns STORE_OK, STORE_NOT_FOUND
 * after the last row, or an error (then only close). store_cursor_close ends
 * it, on the thread that opened it. */
struct store_cursor;
int store_cursor_open(struct store *st, enum grid_table t, struct store_cursor **cur,
                      char *err);
int store_cursor_next(struct store_cursor *cur, const struct grid_record **rec, char *err);
void store_cursor_close(struct store_cursor *cur);

/* The high-water mark of table t: the largest id the table has ever held or
 * handed out (>= max(id); a deleted grid's id counts), 0 for a table that never
 * had one. A move carries it, so that no id is ever given twice. */
int store_last_id(struct store *st, enum grid_table t, int64_t *last_id, char *err);

/* Reading the deletion log in seq order (an old file has none), a cursor like
 * the grids' one: store_log_next sets *d (deleted_at set; owned by the cursor,
 * valid until the next call) and returns STORE_OK, STORE_NOT_FOUND after the
 * last entry, or an error. Entries are read in batches: memory is bounded. */
struct store_log_cursor;
int store_log_open(struct store *st, struct store_log_cursor **cur, char *err);
int store_log_next(struct store_log_cursor *cur, const struct store_deletion **d, char *err);
void store_log_close(struct store_log_cursor *cur);

/* Bulk load (migrate, import), all in one transaction on the calling thread's
 * connection. store_load_begin refuses (STORE_ERROR, "... holds N grids ...")
 * a target whose tables hold rows, unless replace, which makes the target
 * empty: both grid tables recreated, the deletion log, the high-water marks,
 * the marks of undated rows and the stored salts removed. store_load_row
 * appends a row with its id and created_at (NULL: the row has no posted date,
 * and reads back with created_at NULL on every backend).
 * store_load_deletion appends an entry (table, id, deleted_at) to the log;
 * store_load_last_id raises table t's high-water mark. store_load_salts
 * stores both salts, overwriting what the target stored (the loaded grids'
 * URLs depend on them). store_load_end(commit=1) leaves each table's next id
 * at max(max(id), high-water mark) + 1 and commits; commit=0 rolls everything
 * back, --replace's emptying included. */
int store_load_begin(struct store *st, int replace, char *err);
int store_load_row(struct store *st, enum grid_table t, const struct grid_record *rec,
                   char *err);
int store_load_deletion(struct store *st, const struct store_deletion *d, char *err);
int store_load_last_id(struct store *st, enum grid_table t, int64_t last_id, char *err);
int store_load_salts(struct store *st, const char *pub, const char *sec, char *err);
int store_load_end(struct store *st, int commit, char *err);

/* The deletion log (ops watch_*), on a connection owned by the caller's
 * watch, not the thread's. */
int store_watch_open(struct store *st, void **watch, char *err);
int store_watch_next(struct store *st, void *watch, int64_t *cursor, int timeout_ms,
                     store_deletion_fn fn, void *ctx, char *err);
void store_watch_close(struct store *st, void *watch);

/* Salts (docs/protocol.md §2). env_public / env_secret: the environment's values or NULL.
 * force: STORE_SALTS_FORCE (serve --force-salts) uses the environment's salts
 * even where they differ from the stored ones; STORE_SALTS_CAN_FORCE (a
 * command that has --force-salts, but it was not given) lets the refusal name
 * that option; 0 for commands without it. On success *pub and *sec are
 * malloc'd. Refuses (STORE_ERROR + one line naming HASHIDS_PUBLIC_SALT and
 * HASHIDS_SECRET_SALT) a database with grids but no stored salts and no salts
 * in the environment, salts that differ from the stored ones unless forced,
 * and equal public and secret salts (secret URLs would be guessable), from
 * wherever they come. In a STORE_READONLY store nothing is written;
 * STORE_NOT_FOUND there means no salts anywhere and no grids. */
#define STORE_SALTS_FORCE 1
#define STORE_SALTS_CAN_FORCE 2
int store_resolve_salts(struct store *st, const char *env_public,
                        const char *env_secret, int force, char **pub, char **sec,
                        char *err);

/* The one reader of stored salts: STORE_OK with both (*pub, *sec malloc'd),
 * STORE_NOT_FOUND with neither stored, STORE_ERROR when only one is. */
int store_salts_get(struct store *st, char **pub, char **sec, char *err);

/* 0 if pub and sec can be used as a pair of salts; else -1 and one line in
 * err (STORE_ERRLEN) saying why (they are equal). */
int store_salts_check(const char *pub, const char *sec, char *err);

#define META_PUBLIC_SALT "hashids_public_salt"
#define META_SECRET_SALT "hashids_secret_salt"

/* Helpers shared by backends. */
void store_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
