/* store_sqlite.c -- the SQLite backend of the store interface (store.h).
 *
 * One struct sconn per thread (store.c keeps them apart): an sqlite3 handle on
 * the file store_target() names, and a cache of prepared statements, each
 * prepared on first use with SQLITE_PREPARE_PERSISTENT and reused for the life
 * of the connection. SQLite re-prepares them by itself if the schema changes
 * under them (another process adding created_at, load --replace recreating
 * the tables).
 *
 * The schema. The two grid tables keep the file format of the old service
 * (docs/protocol.md §6), plus a created_at column that ipborg adds to an old file:
 *
 *   CREATE TABLE public_grids(id INTEGER NOT NULL, ipb_version TEXT,
 *     python_version TEXT, grid_data TEXT, secret BOOLEAN, code_cells TEXT,
 *     ipb_class TEXT, created_at TEXT, PRIMARY KEY(id))      -- same for secret_grids
 *
 * id is an alias of the rowid (INTEGER + PRIMARY KEY(id)), so look-ups by id,
 * max(id) and ORDER BY id are b-tree walks. JSON columns hold JSON text exactly
 * as it came; created_at is "YYYY-MM-DDTHH:MM:SS.sssZ" (UTC) or NULL for rows
 * of the old service. ipborg's own tables:
 *
 *   ipborg_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)     salts, schema version
 *   ipborg_seq(name TEXT PRIMARY KEY, last_id INTEGER NOT NULL) one row per grid table
 *   ipborg_deleted(seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL,
 *     id INTEGER NOT NULL, deleted_at TEXT NOT NULL)           the deletion log
 *   INDEX ipborg_public_grids_id ON public_grids(id)           (and secret_grids)
 *
 * The id index. /random draws ids and asks whether each exists. Through the
 * table's own b-tree that reads the leaf holding the row -- with rows of
 * kilobytes, the leaves of 100,000 grids are some 100 MB, far beyond a
 * connection's page cache (2 MB), so each draw cost a read from the OS and
 * /random at 100,000 grids ran at ~0.8x its rate at 1,000. An index on id
 * alone (an ipborg addition; docs/protocol.md §6 lets ipborg add, the columns keep their
 * meaning) holds ~3 pages per 1,000 rows, stays in the cache, and answers the
 * existence check by itself (a covering index), so /random no longer depends
 * on the table's size. exists uses it with INDEXED BY; a file without it
 * (read-only on an old file, or tables recreated by a program that does not
 * make it) falls back to the table. Bigger page caches (up to 64 connections)
 * or mmap would hold the leaves only at the price of the RSS budget.
 *
 * The id sequence. SQLite without AUTOINCREMENT hands out max(rowid) + 1, so
 * after the newest grid is deleted its id would come back, and the URL of the
 * deleted grid would show a stranger's grid. The legacy tables cannot gain
 * AUTOINCREMENT, so ipborg keeps its own high-water mark in ipborg_seq:
 *
 *   invariant: last_id >= every id that table has ever held since ipborg
 *   first opened the file read-write (seeded with max(id) when ipborg_seq is
 *   created; raised by every put and every delete).
 *
 * put runs in a BEGIN IMMEDIATE transaction: next = max(last_id, max(id)) + 1,
 * insert, last_id = next, COMMIT; it returns only after COMMIT succeeded, and
 * with journal_mode=WAL + synchronous=FULL a commit is on disk (fsync of the
 * WAL) before it returns. The bulk load sets last_id to max(max(id), the
 * mark the load carried from its source, load_last_id), so a move keeps the
 * invariant too; --replace starts it over from what is loaded (and empties
 * the deletion log and the stored salts as well).
 *
 * The deletion log. del deletes the row and appends to ipborg_deleted in one
 * BEGIN IMMEDIATE transaction; SQLite has one writer at a time, so seq order
 * is commit order. Every server on the file follows the log with a watch
 * connection of its own: PRAGMA data_version tells it cheaply whether another
 * connection committed anything since it last looked, and only then does it
 * read the log past its cursor (an index walk on seq).
 *
 * Group commit. One fsync per post capped posts at a few hundred per second
 * (the fsync is the whole cost), so concurrent puts on one file share their
 * transaction: every put joins the file's queue (struct committer, one per
 * path in this process); if no put is committing, the caller becomes the
 * leader, takes the whole queue and writes it on its own connection in one
 * transaction -- each row inside a SAVEPOINT, so that a row that fails is
 * undone alone -- then COMMITs once and wakes the callers. Meanwhile the next
 * puts queue up and form the next batch. Invariants: a put returns STORE_OK
 * only after the COMMIT that holds its row succeeded (a failed COMMIT fails
 * every row of the batch); a request is on at most one batch; the leader
 * reads the callers' records while they wait, so they stay valid. Ids stay
 * distinct and increasing: the rows of a batch take next ids one after the
 * other inside the one transaction. A put inside an open transaction on its
 * connection (a load) does not join the queue.
 *
 * Read-only connections (STORE_READONLY: migrate's source, export, stats)
 * open the file with SQLITE_OPEN_READONLY and write nothing at all: no journal
 * mode, no created_at, no tables. An old file without created_at reads it as
 * NULL; one without ipborg_meta has no meta keys.
 *
 * Errors name the file and what failed and carry sqlite3_errmsg. SQLITE_BUSY
 * and SQLITE_LOCKED (another writer held the lock longer than busy_timeout)
 * are STORE_UNAVAILABLE, as store.h defines it; everything else is STORE_ERROR.
 * Every statement is reset right after use, so no read transaction stays open
 * between calls (which would pin an old snapshot and starve WAL checkpoints). */
#include "store_backend.h"
#include "buf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000
#define LOAD_CACHE_KIB 262144      /* page cache during a bulk load: 256 MiB at most */
#define SCHEMA_VERSION "1"

/* --- statements ---------------------------------------------------------------
 * Templates: $T is replaced by the table name, $C by the created_at column
 * (or NULL when a read-only old file has none). Statements that name no table
 * are cached under GRID_PUBLIC. */
enum stmt_kind {
    S_BEGIN, S_BEGIN_IMMEDIATE, S_COMMIT, S_ROLLBACK,
    S_GET, S_GRID_DATA, S_COUNT, S_MAX, S_EXISTS, S_NTH, S_DEL,
    S_NEXT_ID, S_INSERT_NEW, S_INSERT_LOAD, S_SEQ_RAISE, S_SEQ_SET,
    S_META_GET, S_META_SET,
    S_LOG_DELETE, S_WATCH, S_DATA_VERSION,
    S_META_PUT, S_STATS,
    S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
    S_EXISTS_IDX,
    S_LOG_LOAD,
    S_KINDS
};

static const char *const stmt_sql[S_KINDS] = {
    [S_BEGIN] = "BEGIN",
    [S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_GET] = "SELECT id, ipb_version, python_version, grid_data, secret, code_cells, "
              "ipb_class, $C FROM $T WHERE id = ?1",
    [S_GRID_DATA] = "SELECT grid_data FROM $T WHERE id = ?1",
    [S_COUNT] = "SELECT count(*), coalesce(max(id), 0) FROM $T",
    [S_MAX] = "SELECT coalesce(max(id), 0) FROM $T",
    [S_EXISTS] = "SELECT 1 FROM $T WHERE id = ?1",
    [S_NTH] = "SELECT id FROM $T WHERE id > 0 ORDER BY id LIMIT 1 OFFSET ?1",
    [S_DEL] = "DELETE FROM $T WHERE id = ?1",
    [S_NEXT_ID] = "SELECT max(coalesce((SELECT last_id FROM ipborg_seq WHERE name = '$T'), 0), "
                  "coalesce((SELECT max(id) FROM $T), 0)) + 1",
    [S_INSERT_NEW] = "INSERT INTO $T(id, ipb_version, python_version, grid_data, secret, "
                     "code_cells, ipb_class, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    [S_INSERT_LOAD] = "INSERT INTO $T(id, ipb_version, python_version, grid_data, secret, "
                      "code_cells, ipb_class, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_SEQ_RAISE] = "INSERT INTO ipborg_seq(name, last_id) VALUES('$T', ?1) "
                    "ON CONFLICT(name) DO UPDATE SET last_id = max(last_id, excluded.last_id)",
    [S_SEQ_SET] = "INSERT INTO ipborg_seq(name, last_id) "
                  "VALUES('$T', (SELECT coalesce(max(id), 0) FROM $T)) "
                  "ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id",
    [S_META_GET] = "SELECT value FROM ipborg_meta WHERE key = ?1",
    [S_META_SET] = "INSERT OR IGNORE INTO ipborg_meta(key, value) VALUES(?1, ?2)",
    [S_LOG_DELETE] = "INSERT INTO ipborg_deleted(tbl, id, deleted_at) "
                     "VALUES('$T', ?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    /* The entries past the cursor, and always the newest one, so that a log
     * that went backwards shows. */
    [S_WATCH] = "SELECT seq, tbl, id FROM ipborg_deleted WHERE seq > ?1 "
                "OR seq = (SELECT max(seq) FROM ipborg_deleted) ORDER BY seq LIMIT 1000",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_META_PUT] = "INSERT INTO ipborg_meta(key, value) VALUES(?1, ?2) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    /* Bytes, not characters: length() of a TEXT counts characters. */
    [S_STATS] = "SELECT count(*), coalesce(sum("
                "coalesce(length(CAST(ipb_version AS BLOB)), 0) + "
                "coalesce(length(CAST(python_version AS BLOB)), 0) + "
                "coalesce(length(CAST(grid_data AS BLOB)), 0) + "
                "coalesce(length(CAST(code_cells AS BLOB)), 0) + "
                "coalesce(length(CAST(ipb_class AS BLOB)), 0)), 0), "
                "count(*) - count($C), "
                /* By time, not as text: stored times differ in how many
                 * fraction digits they carry ("...59.81Z" vs "...59.814Z"). */
                "(SELECT $C FROM $T WHERE $C IS NOT NULL ORDER BY julianday($C), $C LIMIT 1), "
                "(SELECT $C FROM $T WHERE $C IS NOT NULL ORDER BY julianday($C) DESC, $C DESC "
                "LIMIT 1) FROM $T",
    [S_SAVEPOINT] = "SAVEPOINT ipborg_put",
    [S_RELEASE] = "RELEASE ipborg_put",
    [S_ROLLBACK_TO] = "ROLLBACK TO ipborg_put",
    [S_EXISTS_IDX] = "SELECT 1 FROM $T INDEXED BY ipborg_$T_id WHERE id = ?1",
    [S_LOG_LOAD] = "INSERT INTO ipborg_deleted(tbl, id, deleted_at) "
                   "VALUES('$T', ?1, coalesce(?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
};

#define GRID_COLUMNS_SQL                                                           \
    "(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT, grid_data TEXT, " \
    "secret BOOLEAN, code_cells TEXT, ipb_class TEXT, created_at TEXT, PRIMARY KEY(id))"

struct committer;
static struct committer *committer_get(const char *path);
static void committer_put(struct committer *g);

struct sconn {
    sqlite3 *db;
    char *path;                        /* for messages */
    int readonly;
    int has_created_at[GRID_TABLES];   /* always 1 unless read-only on an old file */
    int has_id_index[GRID_TABLES];     /* ipborg_$T_id is there (exists uses it) */
    int loading;                       /* between load_begin and load_end */
    long long saved_cache_size;        /* PRAGMA cache_size before load_begin */
    int64_t load_last[GRID_TABLES];    /* load_last_id's marks, for load_end */
    struct committer *gc;              /* group commit of puts (read-write only) */
    sqlite3_stmt *stmts[S_KINDS][GRID_TABLES];
};

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_UNAVAILABLE;
    default:
        return STORE_ERROR;
    }
}

/* Writes "sqlite database 'PATH': WHAT: ERRMSG" and returns the store status
 * for rc. Call before any rollback, which would replace sqlite3_errmsg. */
static int fail(struct sconn *c, int rc, char *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct sconn *c, int rc, char *err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    store_errf(err, "sqlite database '%s': %s: %s", c->path, what,
               c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    return map_rc(rc);
}

/* The cached statement of kind k for table t, prepared on first use. */
static sqlite3_stmt *stmt_get(struct sconn *c, enum stmt_kind k, enum grid_table t,
                              int *status, char *err)
{
    if (c->stmts[k][t])
        return c->stmts[k][t];
    struct buf sql = BUF_INIT;
    for (const char *p = stmt_sql[k]; *p; p++) {
        if (p[0] == '$' && p[1] == 'T') {
            buf_puts(&sql, store_table_name(t));
            p++;
        } else if (p[0] == '$' && p[1] == 'C') {
            buf_puts(&sql, c->has_created_at[t] ? "created_at" : "NULL");
            p++;
        } else {
            buf_putc(&sql, *p);
        }
    }
    if (buf_failed(&sql)) {
        buf_free(&sql);
        store_errf(err, "out of memory");
        *status = STORE_ERROR;
        return NULL;
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql.data, (int)sql.len + 1,
                                SQLITE_PREPARE_PERSISTENT, &s, NULL);
    buf_free(&sql);
    if (rc != SQLITE_OK) {
        *status = fail(c, rc, err, "cannot prepare a statement on %s", store_table_name(t));
        return NULL;
    }
    c->stmts[k][t] = s;
    return s;
}

/* Runs a cached statement that returns no rows (bindings already made, if any)
 * and resets it. */
static int run(struct sconn *c, sqlite3_stmt *s, char *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(c, rc, err, "%s", what);
    return STORE_OK;
}

static int run_kind(struct sconn *c, enum stmt_kind k, enum grid_table t, char *err,
                    const char *what)
{
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, k, t, &status, err);
    return s ? run(c, s, err, what) : status;
}

static int exec_sql(struct sconn *c, const char *sql, char *err, const char *what)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : fail(c, rc, err, "%s", what);
}

/* --- transactions ---------------------------------------------------------------
 * A write op starts its own BEGIN IMMEDIATE transaction, or joins one already
 * open on this connection (meta_set inside load_begin .. load_end). *own says
 * which, and tx_end commits or rolls back only what it started. */
static int tx_begin(struct sconn *c, int immediate, int *own, char *err, const char *what)
{
    *own = 0;
    if (!sqlite3_get_autocommit(c->db))
        return STORE_OK;
    int rc = run_kind(c, immediate ? S_BEGIN_IMMEDIATE : S_BEGIN, GRID_PUBLIC, err, what);
    if (rc == STORE_OK)
        *own = 1;
    return rc;
}

static void tx_rollback(struct sconn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        run_kind(c, S_ROLLBACK, GRID_PUBLIC, NULL, "rollback");
}

/* Commits (status STORE_OK) or rolls back (otherwise) a transaction this call
 * started. A failed COMMIT leaves nothing behind: the row is not reported. */
static int tx_end(struct sconn *c, int own, int status, char *err, const char *what)
{
    if (!own)
        return status;
    if (status == STORE_OK) {
        status = run_kind(c, S_COMMIT, GRID_PUBLIC, err, what);
        if (status == STORE_OK)
            return STORE_OK;
    }
    tx_rollback(c);
    return status;
}

static int refuse_readonly(struct sconn *c, char *err, const char *what)
{
    store_errf(err, "sqlite database '%s': cannot %s: opened read-only", c->path, what);
    return STORE_ERROR;
}

/* --- connecting ------------------------------------------------------------------ */

/* Runs a query that yields one integer. */
static int query_int(struct sconn *c, const char *sql, long long *out, char *err,
                     const char *what)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    int status = rc == SQLITE_OK ? STORE_OK : fail(c, rc, err, "%s", what);
    sqlite3_finalize(s);
    return status;
}

static int table_exists(struct sconn *c, const char *name, int *yes, char *err)
{
    char sql[160];
    long long n = 0;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'", name);
    int rc = query_int(c, sql, &n, err, "cannot read the schema");
    *yes = n > 0;
    return rc;
}

static int column_exists(struct sconn *c, const char *table, const char *col, int *yes,
                         char *err)
{
    char sql[160];
    long long n = 0;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", table, col);
    int rc = query_int(c, sql, &n, err, "cannot read the schema");
    *yes = n > 0;
    return rc;
}

static int id_index_exists(struct sconn *c, enum grid_table t, int *yes, char *err)
{
    char sql[200];
    long long n = 0;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'ipborg_%s_id'",
             store_table_name(t));
    int rc = query_int(c, sql, &n, err, "cannot read the schema");
    *yes = n > 0;
    return rc;
}

/* The id index of both tables (see the top of the file); in a transaction. */
#define ID_INDEXES_SQL                                                                \
    "CREATE INDEX IF NOT EXISTS ipborg_public_grids_id ON public_grids(id);"          \
    "CREATE INDEX IF NOT EXISTS ipborg_secret_grids_id ON secret_grids(id);"

/* Is every piece of the schema in place? Read without a write lock, so that
 * the usual connect (schema already there) never waits for a writer. */
static int schema_complete(struct sconn *c, int *yes, char *err)
{
    static const char *const tables[] = {"public_grids", "secret_grids", "ipborg_meta",
                                         "ipborg_seq", "ipborg_deleted"};
    *yes = 0;
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        int there = 0;
        int rc = table_exists(c, tables[i], &there, err);
        if (rc != STORE_OK || !there)
            return rc;
    }
    for (int t = 0; t < GRID_TABLES; t++) {
        int there = 0;
        int rc = column_exists(c, store_table_name((enum grid_table)t), "created_at",
                               &there, err);
        if (rc != STORE_OK || !there)
            return rc;
        rc = id_index_exists(c, (enum grid_table)t, &there, err);
        if (rc != STORE_OK || !there)
            return rc;
    }
    *yes = 1;
    return STORE_OK;
}

/* Creates what is missing, under the write lock and re-checking everything, so
 * that several threads or processes connecting at once to a new or old file
 * all end with the same schema and no error. */
static int schema_create(struct sconn *c, char *err)
{
    int own = 0;
    int rc = tx_begin(c, 1, &own, err, "cannot lock the database to create the tables");
    if (rc != STORE_OK)
        return rc;
    for (int t = 0; t < GRID_TABLES && rc == STORE_OK; t++) {
        const char *name = store_table_name((enum grid_table)t);
        char sql[400];
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s" GRID_COLUMNS_SQL, name);
        rc = exec_sql(c, sql, err, "cannot create the grid tables");
        int there = 0;
        if (rc == STORE_OK)
            rc = column_exists(c, name, "created_at", &there, err);
        if (rc == STORE_OK && !there) {
            snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN created_at TEXT", name);
            rc = exec_sql(c, sql, err, "cannot add the created_at column");
        }
    }
    if (rc == STORE_OK)
        rc = exec_sql(c,
                      "CREATE TABLE IF NOT EXISTS ipborg_meta(key TEXT PRIMARY KEY, "
                      "value TEXT NOT NULL);"
                      "INSERT OR IGNORE INTO ipborg_meta(key, value) "
                      "VALUES('schema_version', '" SCHEMA_VERSION "');"
                      "CREATE TABLE IF NOT EXISTS ipborg_seq(name TEXT PRIMARY KEY, "
                      "last_id INTEGER NOT NULL);"
                      "INSERT OR IGNORE INTO ipborg_seq(name, last_id) "
                      "SELECT 'public_grids', coalesce(max(id), 0) FROM public_grids;"
                      "INSERT OR IGNORE INTO ipborg_seq(name, last_id) "
                      "SELECT 'secret_grids', coalesce(max(id), 0) FROM secret_grids;"
                      "CREATE TABLE IF NOT EXISTS ipborg_deleted(seq INTEGER PRIMARY KEY "
                      "AUTOINCREMENT, tbl TEXT NOT NULL, id INTEGER NOT NULL, "
                      "deleted_at TEXT NOT NULL);" ID_INDEXES_SQL,
                      err, "cannot create ipborg's tables");
    return tx_end(c, own, rc, err, "cannot commit the new tables");
}

static int setup_readwrite(struct sconn *c, char *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    int status = rc == SQLITE_OK ? STORE_OK
                                 : fail(c, rc, err, "cannot switch to WAL journal mode");
    sqlite3_finalize(s);
    if (status != STORE_OK)
        return status;
    /* FULL: in WAL mode each COMMIT fsyncs the WAL, so a put that returned
     * survives power loss, not only a crash of the process. */
    status = exec_sql(c, "PRAGMA synchronous=FULL", err, "cannot set synchronous=FULL");
    if (status != STORE_OK)
        return status;
    int complete = 0;
    status = schema_complete(c, &complete, err);
    if (status == STORE_OK && !complete)
        status = schema_create(c, err);
    if (status == STORE_OK) {
        c->has_created_at[GRID_PUBLIC] = c->has_created_at[GRID_SECRET] = 1;
        c->has_id_index[GRID_PUBLIC] = c->has_id_index[GRID_SECRET] = 1;
    }
    return status;
}

static int setup_readonly(struct sconn *c, char *err)
{
    for (int t = 0; t < GRID_TABLES; t++) {
        const char *name = store_table_name((enum grid_table)t);
        int there = 0;
        int rc = table_exists(c, name, &there, err);
        if (rc != STORE_OK)
            return rc;
        if (!there) {
            store_errf(err, "sqlite database '%s' has no %s table: not a grid database",
                       c->path, name);
            return STORE_ERROR;
        }
        rc = column_exists(c, name, "created_at", &c->has_created_at[t], err);
        if (rc == STORE_OK)
            rc = id_index_exists(c, (enum grid_table)t, &c->has_id_index[t], err);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

static void sqlite_disconnect(void *conn)
{
    struct sconn *c = conn;
    if (!c)
        return;
    for (int k = 0; k < S_KINDS; k++)
        for (int t = 0; t < GRID_TABLES; t++)
            sqlite3_finalize(c->stmts[k][t]);
    sqlite3_close_v2(c->db);
    committer_put(c->gc);
    free(c->path);
    free(c);
}

static int sqlite_connect(struct store *st, int flags, void **conn, char *err)
{
    *conn = NULL;
    const char *path = store_target(st);
    struct sconn *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    c->readonly = (flags & STORE_READONLY) != 0;
    if (c->readonly && access(path, F_OK) != 0) {
        store_errf(err, "sqlite database '%s' does not exist", path);
        sqlite_disconnect(c);
        return STORE_ERROR;
    }
    /* NOMUTEX: a connection belongs to one thread (store.c). No URI flag: the
     * path is a plain file name, whatever characters it holds. */
    int oflags = SQLITE_OPEN_NOMUTEX |
                 (c->readonly ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &c->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        int status = fail(c, rc, err, c->readonly ? "cannot open" : "cannot open or create");
        sqlite_disconnect(c);
        return status;
    }
    /* SQLite falls back to read-only when the file is write-protected; say so
     * now rather than fail on the first put. */
    if (!c->readonly && sqlite3_db_readonly(c->db, "main") == 1) {
        store_errf(err, "sqlite database '%s' is not writable (check its permissions, "
                   "and those of its directory)", path);
        sqlite_disconnect(c);
        return STORE_ERROR;
    }
    sqlite3_extended_result_codes(c->db, 0);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);

    /* Reading the schema reads the header: a file that is not a database
     * fails here, before anything could write to it. */
    long long n = 0;
    int status = query_int(c, "SELECT count(*) FROM sqlite_schema", &n, err,
                           "cannot read the schema");
    if (status == STORE_OK)
        status = c->readonly ? setup_readonly(c, err) : setup_readwrite(c, err);
    if (status != STORE_OK) {
        sqlite_disconnect(c);
        return status;
    }
    if (!c->readonly)
        c->gc = committer_get(path);   /* NULL (out of memory): puts commit alone */
    *conn = c;
    return STORE_OK;
}

/* --- reading ------------------------------------------------------------------------- */

/* A malloc'd copy of text column i, NULL for SQL NULL. *oom set on failure. */
static char *col_dup(sqlite3_stmt *s, int i, int *oom)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *text = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);
    char *out = malloc((size_t)n + 1);
    if (!out || !text) {
        free(out);
        *oom = 1;
        return NULL;
    }
    memcpy(out, text, (size_t)n);
    out[n] = '\0';
    return out;
}

/* The record of the current row of an S_GET-shaped statement. The strings
 * are malloc'd (caller clears) when copy, else they point into the statement
 * and live until its next step or reset. */
static int row_record(sqlite3_stmt *s, struct grid_record *out, int copy)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(s, 0);
    out->secret = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1
                                                             : sqlite3_column_int(s, 4) != 0;
    char **fields[] = {&out->ipb_version, &out->python_version, &out->grid_data,
                       &out->code_cells, &out->ipb_class, &out->created_at};
    static const int cols[] = {1, 2, 3, 5, 6, 7};
    int oom = 0;
    for (int i = 0; i < 6; i++) {
        if (copy)
            *fields[i] = col_dup(s, cols[i], &oom);
        else if (sqlite3_column_type(s, cols[i]) != SQLITE_NULL)
            *fields[i] = (char *)sqlite3_column_text(s, cols[i]);
    }
    if (oom) {
        grid_record_clear(out);
        return -1;
    }
    return 0;
}

static int sqlite_get(void *conn, enum grid_table t, int64_t id, struct grid_record *out,
                      char *err)
{
    struct sconn *c = conn;
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, S_GET, t, &status, err);
    if (!s)
        return status;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (row_record(s, out, 1) != 0) {
            store_errf(err, "out of memory");
            status = STORE_ERROR;
        }
    } else if (rc == SQLITE_DONE) {
        status = STORE_NOT_FOUND;
    } else {
        status = fail(c, rc, err, "cannot read %s id %lld", store_table_name(t),
                      (long long)id);
    }
    sqlite3_reset(s);
    return status;
}

static int sqlite_get_grid_data(void *conn, enum grid_table t, int64_t id, char **json,
                                size_t *len, char *err)
{
    struct sconn *c = conn;
    int status = STORE_OK;
    *json = NULL;
    sqlite3_stmt *s = stmt_get(c, S_GRID_DATA, t, &status, err);
    if (!s)
        return status;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int oom = 0;
        *json = col_dup(s, 0, &oom);
        if (oom) {
            store_errf(err, "out of memory");
            status = STORE_ERROR;
        } else if (!*json) {
            store_errf(err, "sqlite database '%s': %s id %lld has no grid_data",
                       c->path, store_table_name(t), (long long)id);
            status = STORE_ERROR;
        } else if (len) {
            *len = (size_t)sqlite3_column_bytes(s, 0);
        }
    } else if (rc == SQLITE_DONE) {
        status = STORE_NOT_FOUND;
    } else {
        status = fail(c, rc, err, "cannot read grid_data of %s id %lld",
                      store_table_name(t), (long long)id);
    }
    sqlite3_reset(s);
    return status;
}

/* Runs a cached query on table t with an optional int64 argument (bound when
 * has_arg) and returns up to two integer columns of its one row;
 * STORE_NOT_FOUND when there is no row. */
static int query_ints(struct sconn *c, enum stmt_kind k, enum grid_table t, int has_arg,
                      int64_t arg, int64_t *a, int64_t *b, char *err, const char *what)
{
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, k, t, &status, err);
    if (!s)
        return status;
    if (has_arg)
        sqlite3_bind_int64(s, 1, arg);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (a)
            *a = sqlite3_column_int64(s, 0);
        if (b)
            *b = sqlite3_column_int64(s, 1);
    } else if (rc == SQLITE_DONE) {
        status = STORE_NOT_FOUND;
    } else {
        status = fail(c, rc, err, "%s %s", what, store_table_name(t));
    }
    sqlite3_reset(s);
    return status;
}

static int sqlite_count(void *conn, enum grid_table t, int64_t *rows, int64_t *max_id,
                        char *err)
{
    return query_ints(conn, S_COUNT, t, 0, 0, rows, max_id, err, "cannot count the rows of");
}

static int sqlite_max_id(void *conn, enum grid_table t, int64_t *max_id, char *err)
{
    return query_ints(conn, S_MAX, t, 0, 0, max_id, NULL, err, "cannot read max(id) of");
}

static int sqlite_exists(void *conn, enum grid_table t, int64_t id, char *err)
{
    struct sconn *c = conn;
    if (c->has_id_index[t]) {
        int rc = query_ints(c, S_EXISTS_IDX, t, 1, id, NULL, NULL, err,
                            "cannot look up an id in");
        if (rc != STORE_ERROR)
            return rc;
        /* The index went away under us (tables recreated without it): use
         * the table from now on. */
        c->has_id_index[t] = 0;
    }
    return query_ints(c, S_EXISTS, t, 1, id, NULL, NULL, err, "cannot look up an id in");
}

static int sqlite_nth_id(void *conn, enum grid_table t, int64_t k, int64_t *id_out,
                         char *err)
{
    if (k < 0)
        return STORE_NOT_FOUND;
    return query_ints(conn, S_NTH, t, 1, k, id_out, NULL, err, "cannot read the k-th id of");
}

/* A cursor: its own statement (not cached, so the rest of the connection's
 * statements stay free) in one read transaction, so the rows are one
 * consistent snapshot. Inside a load it joins the load's transaction. */
struct scursor {
    struct sconn *c;
    sqlite3_stmt *s;
    int own;                /* the cursor began the read transaction */
    enum grid_table t;
};

static void sqlite_cursor_close(void *cur)
{
    struct scursor *k = cur;
    if (!k)
        return;
    sqlite3_finalize(k->s);
    /* A read transaction: ending it cannot lose anything. */
    if (k->own)
        tx_rollback(k->c);
    free(k);
}

static int sqlite_cursor_open(void *conn, enum grid_table t, void **out, char *err)
{
    struct sconn *c = conn;
    const char *name = store_table_name(t);
    *out = NULL;
    struct scursor *k = calloc(1, sizeof *k);
    if (!k) {
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    k->c = c;
    k->t = t;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, ipb_version, python_version, grid_data, secret, code_cells, "
             "ipb_class, %s FROM %s ORDER BY id",
             c->has_created_at[t] ? "created_at" : "NULL", name);
    int status = tx_begin(c, 0, &k->own, err, "cannot start a read transaction");
    if (status == STORE_OK) {
        int rc = sqlite3_prepare_v2(c->db, sql, -1, &k->s, NULL);
        if (rc != SQLITE_OK)
            status = fail(c, rc, err, "cannot scan %s", name);
    }
    if (status != STORE_OK) {
        sqlite_cursor_close(k);
        return status;
    }
    *out = k;
    return STORE_OK;
}

/* The next row into *rec, whose strings point into the statement: valid
 * until the next call. STORE_NOT_FOUND after the last row. */
static int sqlite_cursor_next(void *cur, struct grid_record *rec, char *err)
{
    struct scursor *k = cur;
    int rc = sqlite3_step(k->s);
    if (rc == SQLITE_ROW) {
        row_record(k->s, rec, 0);
        return STORE_OK;
    }
    if (rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    return fail(k->c, rc, err, "cannot scan %s", store_table_name(k->t));
}

static int sqlite_meta_get(void *conn, const char *key, char **value, char *err)
{
    struct sconn *c = conn;
    *value = NULL;
    if (c->readonly) {
        int there = 0;
        int rc = table_exists(c, "ipborg_meta", &there, err);
        if (rc != STORE_OK || !there)
            return rc != STORE_OK ? rc : STORE_NOT_FOUND;
    }
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, S_META_GET, GRID_PUBLIC, &status, err);
    if (!s)
        return status;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int oom = 0;
        *value = col_dup(s, 0, &oom);
        if (oom) {
            store_errf(err, "out of memory");
            status = STORE_ERROR;
        } else if (!*value) {
            status = STORE_NOT_FOUND;
        }
    } else if (rc == SQLITE_DONE) {
        status = STORE_NOT_FOUND;
    } else {
        status = fail(c, rc, err, "cannot read '%s' from ipborg_meta", key);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return status;
}

/* Copies column col (text or NULL) of s into out (n bytes), "" for NULL. */
static void col_copy(sqlite3_stmt *s, int col, char *out, size_t n)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    snprintf(out, n, "%s", v ? (const char *)v : "");
}

static int sqlite_stats(void *conn, enum grid_table t, struct store_stats *out, char *err)
{
    struct sconn *c = conn;
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, S_STATS, t, &status, err);
    if (!s)
        return status;
    /* One statement: one snapshot of the table. */
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->rows = sqlite3_column_int64(s, 0);
        out->bytes = sqlite3_column_int64(s, 1);
        out->undated = sqlite3_column_int64(s, 2);
        col_copy(s, 3, out->oldest, sizeof out->oldest);
        col_copy(s, 4, out->newest, sizeof out->newest);
    } else {
        status = fail(c, rc, err, "cannot read the statistics of %s", store_table_name(t));
    }
    sqlite3_reset(s);
    return status;
}

/* --- writing ------------------------------------------------------------------------- */

static int sqlite_meta_set(void *conn, const char *key, const char *value, char *err)
{
    struct sconn *c = conn;
    if (c->readonly)
        return refuse_readonly(c, err, "store meta data");
    int status = STORE_OK;
    /* Inside a bulk load: overwrite (store.h says why). */
    sqlite3_stmt *s = stmt_get(c, c->loading ? S_META_PUT : S_META_SET, GRID_PUBLIC,
                               &status, err);
    if (!s)
        return status;
    /* One statement: atomic on its own in autocommit mode, and part of the
     * bulk load's transaction when one is open. */
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    char what[128];
    snprintf(what, sizeof what, "cannot store '%s' in ipborg_meta", key);
    status = run(c, s, err, what);
    sqlite3_clear_bindings(s);
    return status;
}

/* Binds the columns ?2..?7 of an insert from rec. SQLITE_STATIC: rec outlives
 * the step, and the bindings are cleared right after it. */
static void bind_record(sqlite3_stmt *s, const struct grid_record *rec)
{
    sqlite3_bind_text(s, 2, rec->ipb_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, rec->python_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, rec->grid_data, -1, SQLITE_STATIC);
    if (rec->secret < 0)
        sqlite3_bind_null(s, 5);
    else
        sqlite3_bind_int(s, 5, rec->secret != 0);
    sqlite3_bind_text(s, 6, rec->code_cells, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, rec->ipb_class, -1, SQLITE_STATIC);
}

/* --- group commit of puts (see the top of the file) --------------------------------- */

struct put_req {
    enum grid_table t;
    const struct grid_record *rec;
    int64_t id;
    int status;
    char *err;                  /* the caller's, STORE_ERRLEN bytes */
    int done;                   /* under committer.mu */
    struct put_req *next;
};

struct committer {
    char *path;
    int refs;                   /* connections using it; under committers_mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct put_req *head, *tail;
    int leading;                /* a leader is writing a batch */
    struct committer *next;
};

static pthread_mutex_t committers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct committer *committers;

static struct committer *committer_get(const char *path)
{
    pthread_mutex_lock(&committers_mu);
    struct committer *g = committers;
    while (g && strcmp(g->path, path) != 0)
        g = g->next;
    if (!g && (g = calloc(1, sizeof *g)) != NULL) {
        if (!(g->path = strdup(path))) {
            free(g);
            g = NULL;
        } else {
            pthread_mutex_init(&g->mu, NULL);
            pthread_cond_init(&g->cv, NULL);
            g->next = committers;
            committers = g;
        }
    }
    if (g)
        g->refs++;
    pthread_mutex_unlock(&committers_mu);
    return g;
}

static void committer_put(struct committer *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&committers_mu);
    if (--g->refs == 0) {
        struct committer **pp = &committers;
        while (*pp != g)
            pp = &(*pp)->next;
        *pp = g->next;
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
        free(g->path);
        free(g);
    }
    pthread_mutex_unlock(&committers_mu);
}

/* One row inside the open transaction: next id, insert, raise last_id. */
static int put_row(struct sconn *c, enum grid_table t, const struct grid_record *rec,
                   int64_t *id_out, char *err, const char *what)
{
    int64_t id = 0;
    int status = query_ints(c, S_NEXT_ID, t, 0, 0, &id, NULL, err,
                            "cannot choose the next id of");
    sqlite3_stmt *ins = NULL;
    if (status == STORE_OK && (ins = stmt_get(c, S_INSERT_NEW, t, &status, err))) {
        sqlite3_bind_int64(ins, 1, id);
        bind_record(ins, rec);
        status = run(c, ins, err, what);
        sqlite3_clear_bindings(ins);
    }
    sqlite3_stmt *seq = NULL;
    if (status == STORE_OK && (seq = stmt_get(c, S_SEQ_RAISE, t, &status, err))) {
        sqlite3_bind_int64(seq, 1, id);
        status = run(c, seq, err, what);
    }
    if (status == STORE_OK)
        *id_out = id;
    return status;
}

/* The leader's work: every request of batch in one transaction on c. Fills
 * each request's status, id and err (done is set by the caller). */
static void commit_batch(struct sconn *c, struct put_req *batch)
{
    const char *what = "cannot store a grid";
    char err[STORE_ERRLEN] = "";
    int own = 0;
    int status = tx_begin(c, 1, &own, err, what);
    int single = batch && !batch->next;
    int kept = 0;
    for (struct put_req *r = batch; r; r = r->next) {
        if (status != STORE_OK) {
            r->status = status;
            store_errf(r->err, "%s", err);
            continue;
        }
        char rwhat[96];
        snprintf(rwhat, sizeof rwhat, "cannot store a grid in %s", store_table_name(r->t));
        if (single) {
            r->status = put_row(c, r->t, r->rec, &r->id, r->err, rwhat);
        } else {
            r->status = run_kind(c, S_SAVEPOINT, GRID_PUBLIC, r->err, rwhat);
            if (r->status == STORE_OK) {
                r->status = put_row(c, r->t, r->rec, &r->id, r->err, rwhat);
                if (r->status != STORE_OK)
                    run_kind(c, S_ROLLBACK_TO, GRID_PUBLIC, NULL, "rollback to savepoint");
                run_kind(c, S_RELEASE, GRID_PUBLIC, NULL, "release savepoint");
            }
        }
        kept += r->status == STORE_OK;
    }
    if (status != STORE_OK)
        return;
    status = tx_end(c, own, kept ? STORE_OK : STORE_ERROR, err, what);
    if (kept && status != STORE_OK)
        for (struct put_req *r = batch; r; r = r->next)
            if (r->status == STORE_OK) {
                r->status = status;
                store_errf(r->err, "%s", err);
            }
}

static int put_alone(struct sconn *c, enum grid_table t, const struct grid_record *rec,
                     int64_t *id_out, char *err, const char *what)
{
    int own = 0;
    int status = tx_begin(c, 1, &own, err, what);
    if (status != STORE_OK)
        return status;
    int64_t id = 0;
    status = put_row(c, t, rec, &id, err, what);
    status = tx_end(c, own, status, err, what);
    if (status == STORE_OK)
        *id_out = id;
    return status;
}

static int sqlite_put(void *conn, enum grid_table t, const struct grid_record *rec,
                      int64_t *id_out, char *err)
{
    struct sconn *c = conn;
    if (c->readonly)
        return refuse_readonly(c, err, "store a grid");
    struct committer *g = c->gc;
    if (!g || !sqlite3_get_autocommit(c->db)) {
        char what[96];
        snprintf(what, sizeof what, "cannot store a grid in %s", store_table_name(t));
        return put_alone(c, t, rec, id_out, err, what);
    }
    struct put_req me = {.t = t, .rec = rec, .status = STORE_ERROR, .err = err};
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &me;
    else
        g->head = &me;
    g->tail = &me;
    while (!me.done) {
        if (g->leading) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        g->leading = 1;
        struct put_req *batch = g->head;
        g->head = g->tail = NULL;
        pthread_mutex_unlock(&g->mu);
        commit_batch(c, batch);
        pthread_mutex_lock(&g->mu);
        for (struct put_req *r = batch, *next; r; r = next) {
            next = r->next;   /* read before done: the owner may return at once */
            r->done = 1;
        }
        g->leading = 0;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (me.status == STORE_OK)
        *id_out = me.id;
    return me.status;
}

static int sqlite_del(void *conn, enum grid_table t, int64_t id, char *err)
{
    struct sconn *c = conn;
    if (c->readonly)
        return refuse_readonly(c, err, "delete a grid");
    char what[96];
    snprintf(what, sizeof what, "cannot delete %s id %lld", store_table_name(t),
             (long long)id);
    int own = 0;
    int status = tx_begin(c, 1, &own, err, what);
    if (status != STORE_OK)
        return status;
    sqlite3_stmt *s = stmt_get(c, S_DEL, t, &status, err);
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        status = run(c, s, err, what);
        if (status == STORE_OK && sqlite3_changes(c->db) == 0)
            status = STORE_NOT_FOUND;
    }
    /* Keep the high-water mark at or above the deleted id, so that it is
     * never handed out again (see the invariant at the top). */
    sqlite3_stmt *seq = NULL;
    if (status == STORE_OK && (seq = stmt_get(c, S_SEQ_RAISE, t, &status, err))) {
        sqlite3_bind_int64(seq, 1, id);
        status = run(c, seq, err, what);
    }
    sqlite3_stmt *log = NULL;
    if (status == STORE_OK && (log = stmt_get(c, S_LOG_DELETE, t, &status, err))) {
        sqlite3_bind_int64(log, 1, id);
        status = run(c, log, err, what);
    }
    if (status == STORE_NOT_FOUND) {
        tx_end(c, own, STORE_ERROR, err, what);   /* nothing to keep: roll back */
        return STORE_NOT_FOUND;
    }
    return tx_end(c, own, status, err, what);
}

/* --- the deletion log ----------------------------------------------------------------- */

struct swatch {
    struct sconn *c;
    int64_t data_version;
    int looked;                 /* data_version holds what the last look saw */
};

static int sqlite_watch_open(struct store *st, void **watch, char *err)
{
    *watch = NULL;
    struct swatch *w = calloc(1, sizeof *w);
    if (!w) {
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    void *conn = NULL;
    int rc = sqlite_connect(st, store_flags(st), &conn, err);
    if (rc != STORE_OK) {
        free(w);
        return rc;
    }
    w->c = conn;
    *watch = w;
    return STORE_OK;
}

static void sqlite_watch_close(void *watch)
{
    struct swatch *w = watch;
    if (!w)
        return;
    sqlite_disconnect(w->c);
    free(w);
}

static enum grid_table table_of(const unsigned char *name, int *ok)
{
    *ok = 1;
    if (name && !strcmp((const char *)name, "public_grids"))
        return GRID_PUBLIC;
    if (name && !strcmp((const char *)name, "secret_grids"))
        return GRID_SECRET;
    *ok = 0;
    return GRID_PUBLIC;
}

/* One look at the log past *cursor (see watch_next in store.h); *seen counts
 * the deletions passed to fn. Skipped when no other connection has committed
 * anything since the last look. */
static int watch_look(struct swatch *w, int64_t *cursor, store_deletion_fn fn, void *ctx,
                      int *seen, char *err)
{
    struct sconn *c = w->c;
    *seen = 0;
    /* Read before the log: a commit after this read changes data_version, so
     * the next look cannot skip it. */
    int64_t version = 0;
    int status = query_ints(c, S_DATA_VERSION, GRID_PUBLIC, 0, 0, &version, NULL, err,
                            "cannot read data_version of");
    if (status != STORE_OK)
        return status;
    if (*cursor >= 0 && w->looked && version == w->data_version)
        return STORE_OK;
    w->data_version = version;
    sqlite3_stmt *s = stmt_get(c, S_WATCH, GRID_PUBLIC, &status, err);
    if (!s)
        return status;
    int64_t from = *cursor < 0 ? INT64_MAX : *cursor, newest = 0;
    sqlite3_bind_int64(s, 1, from);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_deletion d = {.seq = sqlite3_column_int64(s, 0),
                                   .id = sqlite3_column_int64(s, 2)};
        newest = d.seq;
        if (d.seq <= from)
            continue;
        int ok;
        d.table = table_of(sqlite3_column_text(s, 1), &ok);
        if (ok)
            fn(ctx, &d);
        *cursor = d.seq;
        (*seen)++;
    }
    if (rc != SQLITE_DONE)
        status = fail(c, rc, err, "cannot read the deletion log");
    sqlite3_reset(s);
    if (status != STORE_OK)
        return status;
    if (*cursor < 0) {
        *cursor = newest;
    } else if (*seen == 0 && newest < *cursor) {
        fn(ctx, NULL);   /* the log went backwards: it was recreated */
        *cursor = newest;
    }
    /* A look reads at most 1000 entries: if it was full, more may be due
     * whatever data_version says. */
    w->looked = *seen < 1000;
    return STORE_OK;
}

static int sqlite_watch_next(void *watch, int64_t *cursor, int timeout_ms,
                             store_deletion_fn fn, void *ctx, char *err)
{
    struct swatch *w = watch;
    int seen = 0;
    int starting = *cursor < 0;
    int rc = watch_look(w, cursor, fn, ctx, &seen, err);
    if (rc != STORE_OK || seen || starting)
        return rc;
    if (timeout_ms > 0) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    return watch_look(w, cursor, fn, ctx, &seen, err);
}

/* --- bulk load ------------------------------------------------------------------------ */

static void load_finish(struct sconn *c)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=%lld", c->saved_cache_size);
    sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    c->loading = 0;
}

static int sqlite_load_begin(void *conn, int replace, char *err)
{
    struct sconn *c = conn;
    if (c->readonly)
        return refuse_readonly(c, err, "load grids");
    if (c->loading || !sqlite3_get_autocommit(c->db)) {
        store_errf(err, "sqlite database '%s': a load is already in progress", c->path);
        return STORE_ERROR;
    }
    long long cache = 0;
    int status = query_int(c, "PRAGMA cache_size", &cache, err, "cannot read cache_size");
    if (status != STORE_OK)
        return status;
    c->saved_cache_size = cache;
    c->loading = 1;
    c->load_last[GRID_PUBLIC] = c->load_last[GRID_SECRET] = 0;
    /* A large cache keeps the whole load in memory until COMMIT instead of
     * spilling pages to the WAL as it goes; COMMIT still syncs (FULL). */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", LOAD_CACHE_KIB);
    status = exec_sql(c, sql, err, "cannot set cache_size");
    int own = 0;
    if (status == STORE_OK)
        status = tx_begin(c, 1, &own, err, "cannot start the load transaction");
    int64_t rows[GRID_TABLES] = {0, 0};
    for (int t = 0; t < GRID_TABLES && status == STORE_OK; t++)
        status = query_ints(c, S_COUNT, (enum grid_table)t, 0, 0, &rows[t], NULL, err,
                            "cannot count the rows of");
    if (status == STORE_OK && rows[0] + rows[1] > 0 && !replace) {
        store_errf(err, "sqlite database '%s': target database already holds %lld grids "
                   "(public_grids: %lld, secret_grids: %lld); use --replace to overwrite",
                   c->path, (long long)(rows[0] + rows[1]), (long long)rows[0],
                   (long long)rows[1]);
        status = STORE_ERROR;
    }
    if (status == STORE_OK && replace)
        status = exec_sql(c,
                          "DROP TABLE IF EXISTS public_grids;"
                          "DROP TABLE IF EXISTS secret_grids;"
                          "CREATE TABLE public_grids" GRID_COLUMNS_SQL ";"
                          "CREATE TABLE secret_grids" GRID_COLUMNS_SQL ";"
                          ID_INDEXES_SQL
                          "DELETE FROM ipborg_seq;"
                          "DELETE FROM ipborg_deleted;"
                          "DELETE FROM ipborg_meta WHERE key IN ('" META_PUBLIC_SALT "', '"
                          META_SECRET_SALT "');",
                          err, "cannot recreate the grid tables");
    if (status != STORE_OK) {
        tx_rollback(c);
        load_finish(c);
    }
    return status;
}

static int sqlite_load_row(void *conn, enum grid_table t, const struct grid_record *rec,
                           char *err)
{
    struct sconn *c = conn;
    if (!c->loading) {
        store_errf(err, "sqlite database '%s': load_row outside load_begin .. load_end",
                   c->path);
        return STORE_ERROR;
    }
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, S_INSERT_LOAD, t, &status, err);
    if (!s)
        return status;
    sqlite3_bind_int64(s, 1, rec->id);
    bind_record(s, rec);
    /* NULL stays NULL: that is this backend's default for created_at. */
    sqlite3_bind_text(s, 8, rec->created_at, -1, SQLITE_STATIC);
    char what[96];
    snprintf(what, sizeof what, "cannot load %s id %lld", store_table_name(t),
             (long long)rec->id);
    status = run(c, s, err, what);
    sqlite3_clear_bindings(s);
    return status;
}

static int sqlite_load_end(void *conn, int commit, char *err)
{
    struct sconn *c = conn;
    if (!c->loading) {
        store_errf(err, "sqlite database '%s': load_end without load_begin", c->path);
        return STORE_ERROR;
    }
    int status = STORE_OK;
    if (commit) {
        if (sqlite3_get_autocommit(c->db)) {
            /* SQLite rolled back by itself (I/O error, disk full): nothing to commit. */
            store_errf(err, "sqlite database '%s': the load transaction was rolled back "
                       "after an error", c->path);
            status = STORE_ERROR;
        }
        for (int t = 0; t < GRID_TABLES && status == STORE_OK; t++) {
            status = run_kind(c, S_SEQ_SET, (enum grid_table)t, err,
                              "cannot set the id sequence");
            sqlite3_stmt *raise = NULL;
            if (status == STORE_OK && c->load_last[t] > 0 &&
                (raise = stmt_get(c, S_SEQ_RAISE, (enum grid_table)t, &status, err))) {
                sqlite3_bind_int64(raise, 1, c->load_last[t]);
                status = run(c, raise, err, "cannot raise the id sequence");
            }
        }
        if (status == STORE_OK)
            status = run_kind(c, S_COMMIT, GRID_PUBLIC, err, "cannot commit the load");
    }
    tx_rollback(c);      /* no-op after a successful COMMIT */
    load_finish(c);
    return status;
}

/* --- moving a store: high-water marks, the deletion log -------------------------------- */

static int sqlite_same_database(const char *a, const char *b)
{
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* max(ipborg_seq's mark, max(id), the largest deleted id) of table t; an old
 * file opened read-only may lack ipborg_seq and ipborg_deleted. */
static int sqlite_last_id(void *conn, enum grid_table t, int64_t *last_id, char *err)
{
    struct sconn *c = conn;
    const char *name = store_table_name(t);
    int has_seq = 1, has_log = 1, rc = STORE_OK;
    if (c->readonly && ((rc = table_exists(c, "ipborg_seq", &has_seq, err)) != STORE_OK ||
                        (rc = table_exists(c, "ipborg_deleted", &has_log, err)) != STORE_OK))
        return rc;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT max(coalesce((SELECT max(id) FROM %s), 0), %s, %s)", name,
             has_seq ? "coalesce((SELECT last_id FROM ipborg_seq WHERE name = ?), 0)" : "0",
             has_log ? "coalesce((SELECT max(id) FROM ipborg_deleted WHERE tbl = ?), 0)"
                     : "0");
    sqlite3_stmt *s = NULL;
    int r = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
    if (r == SQLITE_OK) {
        for (int i = 1; i <= sqlite3_bind_parameter_count(s); i++)
            sqlite3_bind_text(s, i, name, -1, SQLITE_STATIC);
        r = sqlite3_step(s);
    }
    if (r == SQLITE_ROW) {
        *last_id = sqlite3_column_int64(s, 0);
        rc = STORE_OK;
    } else {
        rc = fail(c, r, err, "cannot read the largest id ever given in %s", name);
    }
    sqlite3_finalize(s);
    return rc;
}

static int sqlite_log_read(void *conn, int64_t after, int max, struct store_deletion *out,
                           char (*times)[STORE_TIMELEN], int *n, char *err)
{
    struct sconn *c = conn;
    *n = 0;
    int there = 1;
    int rc = c->readonly ? table_exists(c, "ipborg_deleted", &there, err) : STORE_OK;
    if (rc != STORE_OK || !there)
        return rc;
    sqlite3_stmt *s = NULL;
    int r = sqlite3_prepare_v2(c->db, "SELECT seq, tbl, id, deleted_at FROM ipborg_deleted "
                               "WHERE seq > ?1 ORDER BY seq LIMIT ?2", -1, &s, NULL);
    if (r != SQLITE_OK)
        rc = fail(c, r, err, "cannot read the deletion log");
    else {
        sqlite3_bind_int64(s, 1, after);
        sqlite3_bind_int(s, 2, max);
    }
    while (rc == STORE_OK && *n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *tbl = (const char *)sqlite3_column_text(s, 1);
        const char *at = (const char *)sqlite3_column_text(s, 3);
        struct store_deletion *d = &out[*n];
        d->seq = sqlite3_column_int64(s, 0);
        d->id = sqlite3_column_int64(s, 2);
        d->deleted_at = NULL;
        snprintf(times[*n], STORE_TIMELEN, "%s", at ? at : "");
        if (tbl && strcmp(tbl, "secret_grids") == 0)
            d->table = GRID_SECRET;
        else if (tbl && strcmp(tbl, "public_grids") == 0)
            d->table = GRID_PUBLIC;
        else {
            store_errf(err, "sqlite database '%s': the deletion log names a table '%.40s'",
                       c->path, tbl ? tbl : "(null)");
            rc = STORE_ERROR;
            break;
        }
        (*n)++;
    }
    if (rc == STORE_OK && *n < max && r != SQLITE_DONE)
        rc = fail(c, r, err, "cannot read the deletion log");
    sqlite3_finalize(s);
    return rc;
}

static int sqlite_load_deletion(void *conn, const struct store_deletion *d, char *err)
{
    struct sconn *c = conn;
    if (!c->loading) {
        store_errf(err, "sqlite database '%s': load_deletion outside a load", c->path);
        return STORE_ERROR;
    }
    int status = STORE_OK;
    sqlite3_stmt *s = stmt_get(c, S_LOG_LOAD, d->table, &status, err);
    if (!s)
        return status;
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_text(s, 2, d->deleted_at, -1, SQLITE_STATIC);
    status = run(c, s, err, "cannot load the deletion log");
    sqlite3_clear_bindings(s);
    return status;
}

static int sqlite_load_last_id(void *conn, enum grid_table t, int64_t last_id, char *err)
{
    struct sconn *c = conn;
    if (!c->loading) {
        store_errf(err, "sqlite database '%s': load_last_id outside a load", c->path);
        return STORE_ERROR;
    }
    if (last_id > c->load_last[t])
        c->load_last[t] = last_id;
    return STORE_OK;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .put = sqlite_put,
    .get = sqlite_get,
    .get_grid_data = sqlite_get_grid_data,
    .count = sqlite_count,
    .max_id = sqlite_max_id,
    .exists = sqlite_exists,
    .nth_id = sqlite_nth_id,
    .meta_get = sqlite_meta_get,
    .meta_set = sqlite_meta_set,
    .del = sqlite_del,
    .watch_open = sqlite_watch_open,
    .watch_next = sqlite_watch_next,
    .watch_close = sqlite_watch_close,
    .cursor_open = sqlite_cursor_open,
    .cursor_next = sqlite_cursor_next,
    .cursor_close = sqlite_cursor_close,
    .load_begin = sqlite_load_begin,
    .load_row = sqlite_load_row,
    .load_end = sqlite_load_end,
    .stats = sqlite_stats,
    .same_database = sqlite_same_database,
    .last_id = sqlite_last_id,
    .log_read = sqlite_log_read,
    .load_deletion = sqlite_load_deletion,
    .load_last_id = sqlite_load_last_id,
};
