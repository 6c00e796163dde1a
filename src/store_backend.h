/* store_backend.h -- the table of a backend's functions, seen only by store.c
 * and the backends (store_sqlite.c, store_pg.c), as SQLite's os.c is the only
 * caller of its sqlite3_vfs. Every other file uses the store_* functions of
 * store.h and never holds a backend's connection.
 *
 * conn is the backend's own per-thread connection, which store.c keeps. */
#ifndef IPBORG_STORE_BACKEND_H
#define IPBORG_STORE_BACKEND_H

#include "store.h"

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
    /* The k-th row (0-based) in id order among the rows with id > 0 (rows of an
     * old file with id <= 0 have no URL): *id_out; STORE_NOT_FOUND past the end. */
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

    /* Reading every row of table t in id order, one snapshot (migrate,
     * export, verification): cursor_open starts it (a read transaction of its
     * own, or the open load's), cursor_next fills *rec, whose strings belong
     * to the cursor and stay valid until the next call, and returns
     * STORE_NOT_FOUND after the last row; cursor_close ends it. One open
     * cursor per connection; memory does not grow with the table. */
    int (*cursor_open)(void *conn, enum grid_table t, void **cur, char *err);
    int (*cursor_next)(void *cur, struct grid_record *rec, char *err);
    void (*cursor_close)(void *cur);

    /* Bulk load (migrate, import), all in one transaction:
     * load_begin starts it; refuses (STORE_ERROR, "... holds N grids ...") if
     * either table holds rows, unless replace, which drops and recreates both
     * tables and empties ipborg's own tables (deletion log, high-water
     * marks, undated marks, salts). load_row appends one row with its id and
     * created_at (NULL: no posted date; PostgreSQL, whose column is NOT
     * NULL, stores the load's time and marks the row undated in
     * ipborg_undated, so it reads back NULL). load_end(commit=1) sets both id
     * sequences to max(max(id), load_last_id's mark) (next id = that + 1, or 1),
     * then commits; commit=0 rolls everything back. */
    int (*load_begin)(void *conn, int replace, char *err);
    int (*load_row)(void *conn, enum grid_table t, const struct grid_record *rec,
                    char *err);
    int (*load_end)(void *conn, int commit, char *err);

    /* Aggregates of table t in one query (stats), read-only. Rows without a
     * posted date count as undated and are left out of oldest/newest. */
    int (*stats)(void *conn, enum grid_table t, struct store_stats *out, char *err);

    /* 1 if the two targets (store_target's form) name one database. Called
     * before either is opened; needs no connection. */
    int (*same_database)(const char *target_a, const char *target_b);
    /* The high-water mark of table t (store.h, store_last_id). */
    int (*last_id)(void *conn, enum grid_table t, int64_t *last_id, char *err);
    /* Up to max entries of the deletion log with seq > after, in seq order,
     * into out[0..*n) with their deleted_at copied into times[i] (UTC ISO
     * 8601); *n = 0 at the end (or when the log does not exist, read-only). */
    int (*log_read)(void *conn, int64_t after, int max, struct store_deletion *out,
                    char (*times)[STORE_TIMELEN], int *n, char *err);
    /* Inside load_begin .. load_end: append one deletion log entry (a new
     * seq, so the target's watchers see it as new); raise table t's
     * high-water mark to at least last_id (load_end honours it). */
    int (*load_deletion)(void *conn, const struct store_deletion *d, char *err);
    int (*load_last_id)(void *conn, enum grid_table t, int64_t last_id, char *err);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* For the backends: the target store_open derived from the URL (a file path
 * for SQLite, the URL for PostgreSQL) and the open flags. */
const char *store_target(const struct store *st);
int store_flags(const struct store *st);

/* For tests of a backend itself: the calling thread's connection and the
 * backend's table (NULL + err, *status, when it cannot connect). */
void *store_conn(struct store *st, int *status, char *err);
void store_conn_reset(struct store *st);
const struct store_ops *store_backend(const struct store *st);

#endif
