/* store_pg.c -- the PostgreSQL backend of the store interface (store.h), on libpq.
 *
 * Schema (docs/protocol.md §6). Two tables in schema public with the schema of the original
 * service's SQLAlchemy models, so that both programs can share one database:
 *
 *   id SERIAL PRIMARY KEY, ipb_version TEXT NOT NULL, python_version JSONB NOT NULL,
 *   grid_data JSONB NOT NULL, code_cells JSONB, ipb_class TEXT NOT NULL,
 *   created_at TIMESTAMPTZ NOT NULL DEFAULT now(), secret BOOLEAN NOT NULL
 *
 * SERIAL makes exactly what the original's DDL (tests/vectors/legacy/
 * original_postgres_schema.sql) spells out: an integer column, a sequence
 * <table>_id_seq AS integer OWNED BY the column, the nextval default and the
 * <table>_pkey primary key. Beside them ipborg keeps its own
 * ipborg_meta(key text PRIMARY KEY, value text NOT NULL) for the salts. A
 * writable connection creates whatever is missing, under a transaction-scoped
 * advisory lock, so that several servers starting at once on an empty database
 * do not race on CREATE ... IF NOT EXISTS; tables that exist are used as they
 * are. A read-only connection (STORE_READONLY) never writes: its session has
 * default_transaction_read_only on, it creates nothing, and a missing table
 * reads as empty (ipborg_meta: every key absent).
 *
 * Statements. Every SQL text is a constant in the table `sql` below; data only
 * ever travels as parameters, never inside SQL. Each statement is prepared once
 * per connection (PQprepare, lazily on first use: a read-only connection may
 * find a table missing now and present later) and run with PQexecPrepared.
 * Results are text. JSON goes in as text cast to jsonb and comes out as jsonb's
 * text form; created_at comes out as UTC ISO 8601 with microseconds and a 'Z'.
 * The session runs with TimeZone UTC, so a created_at without an offset (an old
 * SQLite file's) is read as UTC, as it was written.
 *
 * Compression. A grid_data of more than about 2 KB (a 12x12 grid) is
 * compressed by TOAST when stored, and with PostgreSQL's default (pglz) that
 * compression, not the jsonb parse, is most of the server's time per row
 * (perf, bench/migrate.sh: pglz_compress ~55% of the backend). A writable
 * session therefore sets default_toast_compression = lz4 where the server
 * supports it (PostgreSQL >= 14 built with lz4, as Debian's is): several times
 * faster for about the same size. It changes no column and no value: every
 * reader decompresses either method transparently.
 *
 * Timeouts. Nothing may hang a request: connect_timeout 3 s and TCP keepalives
 * (defaults; the URL's own parameters win), statement_timeout 5 s and
 * lock_timeout 4 s for the session (a wait for a lock says so, rather than
 * "statement timeout"). The bulk load turns both off for its transaction only.
 *
 * Deletions. del runs one transaction: take a transaction-scoped advisory
 * lock (so deletions commit one at a time, in the order of their seq), delete
 * the row, append (seq = max(seq) + 1, table, id, now()) to
 *
 *   ipborg_deleted(seq BIGINT PRIMARY KEY, tbl TEXT NOT NULL, id BIGINT NOT NULL,
 *                  deleted_at TIMESTAMPTZ NOT NULL DEFAULT now())
 *
 * and pg_notify('ipborg_deleted'), which PostgreSQL delivers at commit. No
 * sequence: seq is taken under the lock, so it can never be assigned out of
 * commit order (a sequence could, and a watcher would then skip an entry).
 * A server's watch connection LISTENs, waits on the socket for a notification
 * or its timeout, and then reads the log past its cursor; the notification
 * only makes that fast, the log makes it exact, also across reconnects.
 *
 * Cursors. A server-side cursor (DECLARE / FETCH) in a READ ONLY REPEATABLE
 * READ transaction, so the rows are one snapshot and the caller may run other
 * statements on the same connection between rows (they join that read-only
 * transaction). FETCH takes up to 1000 rows, fewer when rows are large, so
 * that one batch stays near SCAN_BATCH_BYTES: memory does not grow with the
 * table.
 *
 * Undated rows. created_at is NOT NULL DEFAULT now() (the original's schema),
 * yet rows of the old service have no posted date. A load stores its own
 * time in such a row and records it in
 *
 *   ipborg_undated(tbl TEXT, lo BIGINT, hi BIGINT, PRIMARY KEY (tbl, lo))
 *
 * as runs of ids (one run for a whole old file); reads of a record (get,
 * cursors, stats) give created_at NULL inside a run. Invariant: a run covers
 * only ids loaded without a date, in the load that made it (rows loaded in
 * another order start new runs); a load into a target without grids first
 * drops the old runs, and new posts get ids above every run.
 *
 * Bulk load (migrate, import). load_begin opens the transaction, lifts the
 * timeouts, and either drops and recreates both tables (replace) or locks
 * them against writers and refuses if they hold rows. load_row appends rows
 * to a COPY ... FROM STDIN in text format (\\, tab, newline and CR escaped,
 * NULL as \N), buffered and sent in chunks of about COPY_CHUNK bytes; rows of
 * the other table end that COPY and start a new one. A row whose created_at
 * is NULL gets the transaction's now(), fetched once in load_begin: that is
 * exactly the value DEFAULT now() would give every row of this transaction,
 * and it lets one COPY with one column list carry every row; the row is
 * marked undated (above). load_end ends the COPY, writes the undated runs,
 * sets each sequence so that nextval gives max(max(id), load_last_id's mark)
 * + 1 (1 for an empty table), and commits; or rolls back. --replace also
 * empties ipborg's own tables (deletion log, undated marks, salts). The server reports bad data (JSON
 * that does not parse, a duplicate id) when the COPY ends, not row by row:
 * then load_row or load_end fail, and the transaction is rolled back.
 *
 * Errors. A connection that cannot be made or was lost (CONNECTION_BAD, SQLSTATE
 * class 08), an administrator shutdown or a server starting up or crashing
 * (57P01, 57P02, 57P03), too many connections (53300), a statement or lock
 * timeout (57014, 55P03) and, on a writable connection, a read-only server (a
 * standby after a failover, 25006) are STORE_UNAVAILABLE: the service answers
 * 503 and store.c reconnects on the next call. Anything else is STORE_ERROR with
 * the server's message made into one line.
 *
 * Invariants: a connection is used by one thread at a time (store.c); while a
 * COPY is open (copy_table >= 0) nothing else is sent on the connection -- run()
 * ends the COPY before any other statement; in_load is set exactly between a
 * successful load_begin and the matching load_end. */
#include "store_backend.h"
#include "redact.h"
#include "buf.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (64 * 1024)            /* bytes per PQputCopyData */
#define SCAN_BATCH_BYTES (16u << 20)      /* aim of one FETCH's size */
#define SCHEMA_LOCK_KEY "7597130836136853042"   /* pg_advisory_xact_lock key */
#define DELETE_LOCK_KEY "7597130836136853043"   /* serialises deletions */

/* --- the statements ---------------------------------------------------------- */

/* Per-table statements take two slots: the one for table t is S_x + t. */
enum stmt {
    S_INSERT = 0,
    S_GET = 2,
    S_GRID = 4,
    S_COUNT = 6,
    S_MAXID = 8,
    S_EXISTS = 10,
    S_NTH = 12,
    S_DEL = 14,
    S_DECLARE = 16,
    S_COPY = 18,
    S_SETVAL = 20,
    S_CREATE = 22,
    S_META_GET = 24,
    S_META_SET,
    S_CREATE_META,
    S_SET_STATEMENT_TIMEOUT,
    S_SET_LOCK_TIMEOUT,
    S_SET_TIMEZONE,
    S_SET_READONLY,
    S_SCHEMA_PRESENT,
    S_SCHEMA_LOCK,
    S_BEGIN,
    S_BEGIN_SCAN,
    S_COMMIT,
    S_ROLLBACK,
    S_LOAD_NO_STATEMENT_TIMEOUT,
    S_LOAD_NO_LOCK_TIMEOUT,
    S_LOAD_LOCK,
    S_LOAD_COUNT,
    S_LOAD_DROP_TABLES,
    S_LOAD_DROP_SEQUENCES,
    S_NOW,
    S_LZ4_SESSION,
    S_FETCH_1000,
    S_FETCH_100,
    S_FETCH_10,
    S_FETCH_1,
    S_CLOSE,
    S_DEL_LOG,                    /* per table: two slots */
    S_DEL_LOG_LAST_ = S_DEL_LOG + 1,
    S_DEL_LOCK,
    S_NOTIFY,
    S_LISTEN,
    S_WATCH,
    S_CREATE_DELETED,
    S_META_PUT,
    S_STATS,            /* two slots */
    S_STATS_SECRET_,
    S_GET_U,            /* the _U statements: two slots each; with ipborg_undated */
    S_GET_U_SECRET_,
    S_DECLARE_U,
    S_DECLARE_U_SECRET_,
    S_STATS_U,
    S_STATS_U_SECRET_,
    S_SEQ_LAST,         /* two slots */
    S_SEQ_LAST_SECRET_,
    S_DEL_MAX,          /* two slots */
    S_DEL_MAX_SECRET_,
    S_CREATE_UNDATED,
    S_UNDATED_PRESENT,
    S_UNDATED_INSERT,
    S_LOG_SCAN,
    S_LOG_LOAD,
    S_LOAD_CLEAR_LOG,
    S_LOAD_CLEAR_UNDATED,
    S_LOAD_CLEAR_SALTS,
    N_STMT
};

#define PER_TABLE(s, head, tail) \
    [s] = head "public_grids" tail, [s + 1] = head "secret_grids" tail

/* The columns of a record, in struct grid_record's order. */
#define RECORD_COLUMNS                                                         \
    "id, ipb_version, python_version::text, grid_data::text, code_cells::text, " \
    "ipb_class, secret, "                                                      \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* RECORD_COLUMNS where ipborg_undated exists: created_at is NULL for a row in
 * one of its runs (a row loaded without a posted date; the column is NOT
 * NULL, so the load stored its own time there). */
#define UNDATED_TEST(T)                                                        \
    "EXISTS (SELECT 1 FROM public.ipborg_undated u WHERE u.tbl = '" T "'"       \
    " AND " T ".id BETWEEN u.lo AND u.hi)"
#define RECORD_COLUMNS_U(T)                                                    \
    "id, ipb_version, python_version::text, grid_data::text, code_cells::text, " \
    "ipb_class, secret, CASE WHEN " UNDATED_TEST(T) " THEN NULL ELSE "           \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
#define STATS_U(T)                                                             \
    "SELECT count(*), coalesce(sum(coalesce(octet_length(ipb_version), 0)"      \
    " + coalesce(octet_length(python_version::text), 0)"                        \
    " + coalesce(octet_length(grid_data::text), 0)"                             \
    " + coalesce(octet_length(code_cells::text), 0)"                            \
    " + coalesce(octet_length(ipb_class), 0)), 0),"                             \
    " count(*) FILTER (WHERE und),"                                             \
    " to_char(min(created_at) FILTER (WHERE NOT und) AT TIME ZONE 'UTC',"       \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"                                   \
    " to_char(max(created_at) FILTER (WHERE NOT und) AT TIME ZONE 'UTC',"       \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"                                    \
    " FROM (SELECT " T ".*, " UNDATED_TEST(T) " AS und FROM public." T ") x"

/* Only where the server knows lz4 (PostgreSQL >= 14 built --with-lz4): then the
 * statement cannot fail, and elsewhere it does nothing. */
#define LZ4_WHERE                                                              \
    " WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name ="          \
    " 'default_toast_compression' AND 'lz4' = ANY(enumvals))"

#define TABLE_COLUMNS                                                          \
    " (id SERIAL PRIMARY KEY, ipb_version TEXT NOT NULL, "                     \
    "python_version JSONB NOT NULL, grid_data JSONB NOT NULL, code_cells JSONB, " \
    "ipb_class TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), "  \
    "secret BOOLEAN NOT NULL)"

static const char *const sql[N_STMT] = {
    PER_TABLE(S_INSERT, "INSERT INTO public.",
              " (ipb_version, python_version, grid_data, code_cells, ipb_class, secret)"
              " VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, $5, $6::boolean)"
              " RETURNING id"),
    PER_TABLE(S_GET, "SELECT " RECORD_COLUMNS " FROM public.", " WHERE id = $1::bigint"),
    PER_TABLE(S_GRID, "SELECT grid_data::text FROM public.", " WHERE id = $1::bigint"),
    PER_TABLE(S_COUNT, "SELECT count(*), coalesce(max(id), 0) FROM public.", ""),
    PER_TABLE(S_MAXID, "SELECT coalesce(max(id), 0) FROM public.", ""),
    PER_TABLE(S_EXISTS, "SELECT 1 FROM public.", " WHERE id = $1::bigint"),
    PER_TABLE(S_NTH, "SELECT id FROM public.", " WHERE id > 0 ORDER BY id OFFSET $1::bigint LIMIT 1"),
    PER_TABLE(S_DEL, "DELETE FROM public.", " WHERE id = $1::bigint"),
    PER_TABLE(S_DECLARE, "DECLARE ipborg_scan NO SCROLL CURSOR FOR SELECT "
              RECORD_COLUMNS " FROM public.", " ORDER BY id"),
    PER_TABLE(S_COPY, "COPY public.",
              " (id, ipb_version, python_version, grid_data, code_cells, ipb_class,"
              " created_at, secret) FROM STDIN"),
    /* $1: the load's high-water mark (load_last_id), 0 when none. */
    [S_SETVAL] = "SELECT setval('public.public_grids_id_seq',"
                 " greatest(coalesce(max(id), 0), $1::bigint, 1),"
                 " greatest(coalesce(max(id), 0), $1::bigint) > 0) FROM public.public_grids",
    [S_SETVAL + 1] = "SELECT setval('public.secret_grids_id_seq',"
                     " greatest(coalesce(max(id), 0), $1::bigint, 1),"
                     " greatest(coalesce(max(id), 0), $1::bigint) > 0) FROM public.secret_grids",
    PER_TABLE(S_CREATE, "CREATE TABLE IF NOT EXISTS public.", TABLE_COLUMNS),
    [S_META_GET] = "SELECT value FROM public.ipborg_meta WHERE key = $1",
    [S_META_SET] = "INSERT INTO public.ipborg_meta (key, value) VALUES ($1, $2)"
                   " ON CONFLICT (key) DO NOTHING",
    [S_CREATE_META] = "CREATE TABLE IF NOT EXISTS public.ipborg_meta"
                      " (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    [S_SET_STATEMENT_TIMEOUT] = "SET statement_timeout = '5s'",
    [S_SET_LOCK_TIMEOUT] = "SET lock_timeout = '4s'",
    [S_SET_TIMEZONE] = "SET TimeZone = 'UTC'",
    [S_SET_READONLY] = "SET default_transaction_read_only = on",
    [S_SCHEMA_PRESENT] = "SELECT to_regclass('public.public_grids') IS NOT NULL"
                         " AND to_regclass('public.secret_grids') IS NOT NULL"
                         " AND to_regclass('public.ipborg_meta') IS NOT NULL"
                         " AND to_regclass('public.ipborg_deleted') IS NOT NULL"
                         " AND to_regclass('public.ipborg_undated') IS NOT NULL",
    [S_SCHEMA_LOCK] = "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")",
    [S_BEGIN] = "BEGIN",
    [S_BEGIN_SCAN] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_LOAD_NO_STATEMENT_TIMEOUT] = "SET LOCAL statement_timeout = 0",
    [S_LOAD_NO_LOCK_TIMEOUT] = "SET LOCAL lock_timeout = 0",
    [S_LOAD_LOCK] = "LOCK TABLE public.public_grids, public.secret_grids IN EXCLUSIVE MODE",
    [S_LOAD_COUNT] = "SELECT (SELECT count(*) FROM public.public_grids),"
                     " (SELECT count(*) FROM public.secret_grids)",
    [S_LOAD_DROP_TABLES] = "DROP TABLE IF EXISTS public.public_grids, public.secret_grids",
    [S_LOAD_DROP_SEQUENCES] = "DROP SEQUENCE IF EXISTS public.public_grids_id_seq,"
                              " public.secret_grids_id_seq",
    [S_NOW] = "SELECT now()::text",
    [S_LZ4_SESSION] = "SELECT set_config('default_toast_compression', 'lz4', false)" LZ4_WHERE,
    [S_FETCH_1000] = "FETCH 1000 FROM ipborg_scan",
    [S_FETCH_100] = "FETCH 100 FROM ipborg_scan",
    [S_FETCH_10] = "FETCH 10 FROM ipborg_scan",
    [S_FETCH_1] = "FETCH 1 FROM ipborg_scan",
    [S_CLOSE] = "CLOSE ipborg_scan",
    PER_TABLE(S_DEL_LOG, "INSERT INTO public.ipborg_deleted (seq, tbl, id) "
              "SELECT coalesce(max(seq), 0) + 1, '", "', $1::bigint FROM public.ipborg_deleted"),
    [S_DEL_LOCK] = "SELECT pg_advisory_xact_lock(" DELETE_LOCK_KEY ")",
    [S_NOTIFY] = "SELECT pg_notify('ipborg_deleted', '')",
    [S_LISTEN] = "LISTEN ipborg_deleted",
    /* The entries past the cursor, and always the newest one, so that a log
     * that went backwards shows. */
    [S_WATCH] = "SELECT seq, tbl, id FROM public.ipborg_deleted WHERE seq > $1::bigint"
                " OR seq = (SELECT max(seq) FROM public.ipborg_deleted) ORDER BY seq LIMIT 1000",
    [S_CREATE_DELETED] = "CREATE TABLE IF NOT EXISTS public.ipborg_deleted"
                         " (seq BIGINT PRIMARY KEY, tbl TEXT NOT NULL, id BIGINT NOT NULL,"
                         " deleted_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    [S_META_PUT] = "INSERT INTO public.ipborg_meta (key, value) VALUES ($1, $2)"
                   " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    PER_TABLE(S_STATS, "SELECT count(*), coalesce(sum(coalesce(octet_length(ipb_version), 0)"
              " + coalesce(octet_length(python_version::text), 0)"
              " + coalesce(octet_length(grid_data::text), 0)"
              " + coalesce(octet_length(code_cells::text), 0)"
              " + coalesce(octet_length(ipb_class), 0)), 0),"
              " count(*) - count(created_at),"
              " to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
              " to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
              " FROM public.", ""),
    [S_GET_U] = "SELECT " RECORD_COLUMNS_U("public_grids") " FROM public.public_grids"
                " WHERE id = $1::bigint",
    [S_GET_U + 1] = "SELECT " RECORD_COLUMNS_U("secret_grids") " FROM public.secret_grids"
                    " WHERE id = $1::bigint",
    [S_DECLARE_U] = "DECLARE ipborg_scan NO SCROLL CURSOR FOR SELECT "
                    RECORD_COLUMNS_U("public_grids") " FROM public.public_grids ORDER BY id",
    [S_DECLARE_U + 1] = "DECLARE ipborg_scan NO SCROLL CURSOR FOR SELECT "
                        RECORD_COLUMNS_U("secret_grids") " FROM public.secret_grids ORDER BY id",
    [S_STATS_U] = STATS_U("public_grids"),
    [S_STATS_U + 1] = STATS_U("secret_grids"),
    PER_TABLE(S_SEQ_LAST, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.",
              "_id_seq"),
    PER_TABLE(S_DEL_MAX, "SELECT coalesce(max(id), 0) FROM public.ipborg_deleted WHERE tbl = '",
              "'"),
    [S_CREATE_UNDATED] = "CREATE TABLE IF NOT EXISTS public.ipborg_undated"
                         " (tbl TEXT NOT NULL, lo BIGINT NOT NULL, hi BIGINT NOT NULL,"
                         " PRIMARY KEY (tbl, lo))",
    [S_UNDATED_PRESENT] = "SELECT to_regclass('public.ipborg_undated') IS NOT NULL",
    [S_UNDATED_INSERT] = "INSERT INTO public.ipborg_undated (tbl, lo, hi)"
                         " VALUES ($1, $2::bigint, $3::bigint)",
    [S_LOG_SCAN] = "SELECT seq, tbl, id, to_char(deleted_at AT TIME ZONE 'UTC',"
                   " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM public.ipborg_deleted"
                   " WHERE seq > $1::bigint ORDER BY seq LIMIT $2::int",
    [S_LOG_LOAD] = "INSERT INTO public.ipborg_deleted (seq, tbl, id, deleted_at)"
                   " SELECT coalesce(max(seq), 0) + 1, $1, $2::bigint,"
                   " coalesce($3::timestamptz, now()) FROM public.ipborg_deleted",
    [S_LOAD_CLEAR_LOG] = "DELETE FROM public.ipborg_deleted",
    [S_LOAD_CLEAR_UNDATED] = "DELETE FROM public.ipborg_undated",
    [S_LOAD_CLEAR_SALTS] = "DELETE FROM public.ipborg_meta WHERE key IN ('"
                           META_PUBLIC_SALT "', '" META_SECRET_SALT "')",
};

/* --- a connection ---------------------------------------------------------------- */

struct pg_conn {
    PGconn *pg;
    int readonly;
    unsigned char prepared[N_STMT];
    /* bulk load */
    int in_load;
    int load_failed;            /* a statement of the load failed: only rollback remains */
    char load_err[STORE_ERRLEN];/* the first failure's message */
    char *load_now;             /* the transaction's now(), for rows without created_at */
    int copy_table;             /* table of the open COPY, or -1 */
    struct buf copy;            /* COPY data not yet sent */
    int64_t load_last[GRID_TABLES];   /* load_last_id's marks */
    /* Rows loaded without created_at, as runs of consecutive loaded rows
     * per table (one run for a whole old file); written to ipborg_undated by
     * load_end. */
    struct undated_run { int t; int64_t lo, hi; } *runs;
    size_t n_runs, cap_runs;
    int run_open[GRID_TABLES];  /* the table's previous loaded row was undated */
    size_t run_at[GRID_TABLES]; /* ... and is in runs[run_at[t]] */
    int64_t load_max[GRID_TABLES], n_load[GRID_TABLES];   /* largest id, rows loaded */
    int has_undated;            /* ipborg_undated exists: the _U statements */
};

/* --- errors ----------------------------------------------------------------------- */

/* Appends s to err (at most STORE_ERRLEN bytes in all) as one line: line
 * breaks and tabs become one space between words, and none at the end. */
static void err_append(char *err, const char *s)
{
    size_t n = strlen(err);
    int gap = 0;
    for (; *s && n + 1 < STORE_ERRLEN; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t') {
            gap = 1;
            continue;
        }
        if (gap && n > 0 && err[n - 1] != ' ' && *s != ' ')
            err[n++] = ' ';
        gap = 0;
        err[n++] = *s;
    }
    err[n] = '\0';
}

static int sqlstate_unavailable(const char *state, int readonly)
{
    static const char *const codes[] = {"57P01", "57P02", "57P03", "53300", "57014",
                                        "55P03"};
    if (!state)
        return 0;
    if (strncmp(state, "08", 2) == 0)
        return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(state, codes[i]) == 0)
            return 1;
    return !readonly && strcmp(state, "25006") == 0;
}

/* Turns a failed result (res may be NULL: then libpq's connection message) into
 * a status and one line in err. A failure inside a load dooms the load. */
static int fail(struct pg_conn *c, const PGresult *res, char *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int unavailable = PQstatus(c->pg) == CONNECTION_BAD ||
                      sqlstate_unavailable(state, c->readonly);
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[STORE_ERRLEN] = "";
    err_append(line, unavailable ? "PostgreSQL unavailable: " : "PostgreSQL: ");
    if (primary) {
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
        err_append(line, primary);
        if (detail) {
            err_append(line, " (");
            err_append(line, detail);
            err_append(line, ")");
        }
        if (context) {
            err_append(line, " [");
            err_append(line, context);
            err_append(line, "]");
        }
    } else {
        const char *msg = res ? PQresultErrorMessage(res) : "";
        err_append(line, *msg ? msg : PQerrorMessage(c->pg));
    }
    if (c->in_load && !c->load_failed) {
        c->load_failed = 1;
        memcpy(c->load_err, line, sizeof line);
    }
    store_errf(err, "%s", line);
    return unavailable ? STORE_UNAVAILABLE : STORE_ERROR;
}

static int is_missing_table(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state && strcmp(state, "42P01") == 0;
}

/* --- running statements --------------------------------------------------------------- */

static int copy_end(struct pg_conn *c, const char *abort_msg, char *err);

/* Prepares statement s on this connection unless it is. On a read-only
 * connection a missing table gives STORE_NOT_FOUND (the caller reads it as
 * empty), to be tried again next time. */
static int prepare(struct pg_conn *c, enum stmt s, char *err)
{
    if (c->prepared[s])
        return STORE_OK;
    char name[16];
    snprintf(name, sizeof name, "ipb%d", (int)s);
    PGresult *res = PQprepare(c->pg, name, sql[s], 0, NULL);
    int rc = STORE_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = c->readonly && is_missing_table(res) ? STORE_NOT_FOUND : fail(c, res, err);
    else
        c->prepared[s] = 1;
    PQclear(res);
    return rc;
}

/* Runs statement s with n text parameters (NULL: SQL NULL). On STORE_OK, *out
 * (if out is not NULL) is the result, which the caller PQclear()s. An open COPY
 * is ended first. Read-only and a missing table: STORE_NOT_FOUND. */
static int run(struct pg_conn *c, enum stmt s, int n, const char *const *params,
               PGresult **out, char *err)
{
    if (out)
        *out = NULL;
    if (c->copy_table >= 0) {
        int rc = copy_end(c, NULL, err);
        if (rc != STORE_OK)
            return rc;
    }
    int rc = prepare(c, s, err);
    if (rc != STORE_OK)
        return rc;
    char name[16];
    snprintf(name, sizeof name, "ipb%d", (int)s);
    PGresult *res = PQexecPrepared(c->pg, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return STORE_OK;
    }
    rc = c->readonly && res && is_missing_table(res) ? STORE_NOT_FOUND : fail(c, res, err);
    PQclear(res);
    return rc;
}

/* run() for statements that take one id (or count) parameter. */
static int run_id(struct pg_conn *c, enum stmt s, int64_t id, PGresult **out, char *err)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, id);
    const char *params[1] = {num};
    return run(c, s, 1, params, out, err);
}

static int64_t value_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static char *value_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int out_of_memory(char *err)
{
    store_errf(err, "out of memory");
    return STORE_ERROR;
}

/* --- connect ------------------------------------------------------------------------ */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;   /* "relation ... already exists, skipping" and the like */
}

/* Creates the tables that are missing. Cheap when they all exist (one query);
 * otherwise serialised between processes by an advisory lock. */
static int ensure_schema(struct pg_conn *c, char *err)
{
    PGresult *res;
    int rc = run(c, S_SCHEMA_PRESENT, 0, NULL, &res, err);
    if (rc != STORE_OK)
        return rc;
    int present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (present)
        return STORE_OK;
    static const enum stmt steps[] = {S_BEGIN, S_SCHEMA_LOCK, S_CREATE + GRID_PUBLIC,
                                      S_CREATE + GRID_SECRET, S_CREATE_META,
                                      S_CREATE_DELETED, S_CREATE_UNDATED, S_COMMIT};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        rc = run(c, steps[i], 0, NULL, NULL, err);
        if (rc != STORE_OK) {
            if (PQstatus(c->pg) == CONNECTION_OK && i > 0)
                run(c, S_ROLLBACK, 0, NULL, NULL, NULL);
            return rc;
        }
    }
    return STORE_OK;
}

static void pg_disconnect(void *conn)
{
    struct pg_conn *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    free(c->load_now);
    free(c->runs);
    buf_free(&c->copy);
    free(c);
}

/* 1 if the n bytes at tok lie in the password of url: its user information
 * (between "://" and the last '@' before the host) or a password= value. */
static int in_password(const char *url, const char *tok, size_t n)
{
    const char *auth = strstr(url, "://");
    if (auth) {
        auth += 3;
        size_t alen = strcspn(auth, "/?");
        const char *at = memrchr(auth, '@', alen);
        if (at && memmem(auth, (size_t)(at - auth), tok, n))
            return 1;
    }
    for (const char *p = url; (p = strstr(p, "password=")) != NULL; p++) {
        const char *v = p + strlen("password=");
        if (memmem(v, strcspn(v, "&"), tok, n))
            return 1;
    }
    return 0;
}

/* libpq's message for a URL it cannot parse quotes the bad part, which may be
 * a password with a bad %-escape: such a quoted part becomes ***. In place. */
static void hide_quoted_secrets(char *msg, const char *url)
{
    for (char *q = strchr(msg, '"'); q; q = strchr(q, '"')) {
        char *end = strchr(q + 1, '"');
        if (!end)
            break;
        size_t n = (size_t)(end - q - 1);
        if (n > 0 && in_password(url, q + 1, n) && n >= strlen(REDACTED)) {
            memcpy(q + 1, REDACTED, strlen(REDACTED));
            memmove(q + 1 + strlen(REDACTED), end, strlen(end) + 1);
            end = q + 1 + strlen(REDACTED);
        } else if (n > 0 && in_password(url, q + 1, n)) {
            memset(q + 1, '*', n);
        }
        q = end + 1;
    }
}

static int pg_connect(struct store *st, int flags, void **conn, char *err)
{
    const char *url = store_target(st);
    *conn = NULL;

    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        char line[STORE_ERRLEN] = "";
        if (perr)
            hide_quoted_secrets(perr, url);
        err_append(line, perr ? perr : "out of memory");
        store_errf(err, "invalid PostgreSQL URL: %s", line);
        PQfreemem(perr);
        return STORE_ERROR;
    }
    PQconninfoFree(opts);

    /* Our defaults first, then the URL (expanded from dbname), whose own
     * parameters win: the last value of a keyword counts. */
    const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "fallback_application_name", "client_encoding", "dbname", NULL};
    const char *vals[] = {"3", "1", "5", "2", "3", "10000", "ipborg", "UTF8", url, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg)
        return out_of_memory(err);
    if (PQstatus(pg) != CONNECTION_OK) {
        char line[STORE_ERRLEN] = "";
        err_append(line, PQerrorMessage(pg));
        store_errf(err, "PostgreSQL unavailable: cannot connect: %s", line);
        PQfinish(pg);
        return STORE_UNAVAILABLE;
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);

    struct pg_conn *c = calloc(1, sizeof *c);
    if (!c) {
        PQfinish(pg);
        return out_of_memory(err);
    }
    c->pg = pg;
    c->readonly = (flags & STORE_READONLY) != 0;
    c->copy_table = -1;

    static const enum stmt setup[] = {S_SET_STATEMENT_TIMEOUT, S_SET_LOCK_TIMEOUT,
                                      S_SET_TIMEZONE, S_SET_READONLY, S_LZ4_SESSION};
    int rc = STORE_OK;
    for (size_t i = 0; i < sizeof setup / sizeof setup[0] && rc == STORE_OK; i++)
        if ((setup[i] != S_SET_READONLY || c->readonly) &&
            (setup[i] != S_LZ4_SESSION || !c->readonly))
            rc = run(c, setup[i], 0, NULL, NULL, err);
    if (rc == STORE_OK && !c->readonly)
        rc = ensure_schema(c, err);
    PGresult *res = NULL;
    if (rc == STORE_OK && (rc = run(c, S_UNDATED_PRESENT, 0, NULL, &res, err)) == STORE_OK) {
        c->has_undated = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
    }
    if (rc != STORE_OK) {
        pg_disconnect(c);
        return rc;
    }
    *conn = c;
    return STORE_OK;
}

/* --- single rows ------------------------------------------------------------------------ */

static int refuse_readonly(struct pg_conn *c, const char *what, char *err)
{
    if (!c->readonly)
        return 0;
    store_errf(err, "cannot %s: the PostgreSQL store is open read-only", what);
    return 1;
}

static int pg_put(void *conn, enum grid_table t, const struct grid_record *rec,
                  int64_t *id_out, char *err)
{
    struct pg_conn *c = conn;
    if (refuse_readonly(c, "store a grid", err))
        return STORE_ERROR;
    const char *secret = rec->secret < 0 ? NULL : rec->secret ? "true" : "false";
    const char *params[6] = {rec->ipb_version, rec->python_version, rec->grid_data,
                             rec->code_cells, rec->ipb_class, secret};
    PGresult *res;
    int rc = run(c, S_INSERT + t, 6, params, &res, err);
    if (rc != STORE_OK)
        return rc;
    *id_out = value_i64(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* Fills rec from row i of res (RECORD_COLUMNS). copy: strdup every string
 * (else they point into res). */
static int row_to_record(const PGresult *res, int i, struct grid_record *rec, int copy)
{
    char **fields[] = {NULL, &rec->ipb_version, &rec->python_version, &rec->grid_data,
                       &rec->code_cells, &rec->ipb_class, NULL, &rec->created_at};
    memset(rec, 0, sizeof *rec);
    rec->id = value_i64(res, i, 0);
    const char *secret = value_or_null(res, i, 6);
    rec->secret = !secret ? -1 : secret[0] == 't';
    for (int col = 0; col < 8; col++) {
        if (!fields[col])
            continue;
        char *v = value_or_null(res, i, col);
        if (v && copy && !(v = strdup(v)))
            return -1;
        *fields[col] = v;
    }
    return 0;
}

static int pg_get(void *conn, enum grid_table t, int64_t id, struct grid_record *out,
                  char *err)
{
    struct pg_conn *c = conn;
    PGresult *res;
    int rc = run_id(c, (c->has_undated ? S_GET_U : S_GET) + t, id, &res, err);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    if (row_to_record(res, 0, out, 1) != 0) {
        grid_record_clear(out);
        PQclear(res);
        return out_of_memory(err);
    }
    PQclear(res);
    return STORE_OK;
}

static int pg_get_grid_data(void *conn, enum grid_table t, int64_t id, char **json,
                            size_t *len, char *err)
{
    struct pg_conn *c = conn;
    PGresult *res;
    int rc = run_id(c, S_GRID + t, id, &res, err);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    size_t n = (size_t)PQgetlength(res, 0, 0);
    char *copy = malloc(n + 1);
    if (!copy) {
        PQclear(res);
        return out_of_memory(err);
    }
    memcpy(copy, PQgetvalue(res, 0, 0), n + 1);
    PQclear(res);
    *json = copy;
    if (len)
        *len = n;
    return STORE_OK;
}

static int pg_count(void *conn, enum grid_table t, int64_t *rows, int64_t *max_id,
                    char *err)
{
    struct pg_conn *c = conn;
    PGresult *res;
    *rows = *max_id = 0;
    int rc = run(c, S_COUNT + t, 0, NULL, &res, err);
    if (rc == STORE_NOT_FOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    *rows = value_i64(res, 0, 0);
    *max_id = value_i64(res, 0, 1);
    PQclear(res);
    return STORE_OK;
}

static int pg_max_id(void *conn, enum grid_table t, int64_t *max_id, char *err)
{
    struct pg_conn *c = conn;
    PGresult *res;
    *max_id = 0;
    int rc = run(c, S_MAXID + t, 0, NULL, &res, err);
    if (rc == STORE_NOT_FOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    *max_id = value_i64(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static int pg_exists(void *conn, enum grid_table t, int64_t id, char *err)
{
    struct pg_conn *c = conn;
    PGresult *res;
    int rc = run_id(c, S_EXISTS + t, id, &res, err);
    if (rc != STORE_OK)
        return rc;
    rc = PQntuples(res) > 0 ? STORE_OK : STORE_NOT_FOUND;
    PQclear(res);
    return rc;
}

static int pg_nth_id(void *conn, enum grid_table t, int64_t k, int64_t *id_out, char *err)
{
    struct pg_conn *c = conn;
    if (k < 0)
        return STORE_NOT_FOUND;
    PGresult *res;
    int rc = run_id(c, S_NTH + t, k, &res, err);
    if (rc != STORE_OK)
        return rc;
    rc = STORE_NOT_FOUND;
    if (PQntuples(res) > 0) {
        *id_out = value_i64(res, 0, 0);
        rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

static int pg_del(void *conn, enum grid_table t, int64_t id, char *err)
{
    struct pg_conn *c = conn;
    if (refuse_readonly(c, "delete a grid", err))
        return STORE_ERROR;
    if (c->in_load) {
        store_errf(err, "cannot delete a grid during a load");
        return STORE_ERROR;
    }
    int rc = run(c, S_BEGIN, 0, NULL, NULL, err);
    if (rc != STORE_OK)
        return rc;
    rc = run(c, S_DEL_LOCK, 0, NULL, NULL, err);
    PGresult *res;
    if (rc == STORE_OK && (rc = run_id(c, S_DEL + t, id, &res, err)) == STORE_OK) {
        if (strcmp(PQcmdTuples(res), "0") == 0)
            rc = STORE_NOT_FOUND;
        PQclear(res);
    }
    if (rc == STORE_OK)
        rc = run_id(c, S_DEL_LOG + t, id, NULL, err);
    if (rc == STORE_OK)
        rc = run(c, S_NOTIFY, 0, NULL, NULL, err);
    if (rc == STORE_OK)
        return run(c, S_COMMIT, 0, NULL, NULL, err);
    if (PQstatus(c->pg) == CONNECTION_OK)
        run(c, S_ROLLBACK, 0, NULL, NULL, NULL);
    return rc;
}

/* --- the deletion log ---------------------------------------------------------------- */

static int pg_watch_open(struct store *st, void **watch, char *err)
{
    *watch = NULL;
    void *conn = NULL;
    int rc = pg_connect(st, store_flags(st), &conn, err);
    if (rc != STORE_OK)
        return rc;
    rc = run(conn, S_LISTEN, 0, NULL, NULL, err);
    if (rc != STORE_OK) {
        pg_disconnect(conn);
        return rc;
    }
    *watch = conn;
    return STORE_OK;
}

static void pg_watch_close(void *watch)
{
    pg_disconnect(watch);
}

/* Drops the notifications libpq has read; 1 if there were any. */
static int drain_notifies(struct pg_conn *c)
{
    int any = 0;
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL) {
        PQfreemem(n);
        any = 1;
    }
    return any;
}

/* One look at the log past *cursor (see watch_next in store.h); *seen counts
 * the deletions passed to fn. */
static int watch_look(struct pg_conn *c, int64_t *cursor, store_deletion_fn fn, void *ctx,
                      int *seen, char *err)
{
    *seen = 0;
    int64_t from = *cursor < 0 ? INT64_MAX : *cursor, newest = 0;
    PGresult *res;
    int rc = run_id(c, S_WATCH, from, &res, err);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_deletion d = {.seq = value_i64(res, i, 0), .id = value_i64(res, i, 2)};
        newest = d.seq;
        if (d.seq <= from)
            continue;
        const char *tbl = PQgetvalue(res, i, 1);
        d.table = strcmp(tbl, "secret_grids") == 0 ? GRID_SECRET : GRID_PUBLIC;
        if (!strcmp(tbl, "public_grids") || !strcmp(tbl, "secret_grids"))
            fn(ctx, &d);
        *cursor = d.seq;
        (*seen)++;
    }
    PQclear(res);
    if (*cursor < 0) {
        *cursor = newest;
    } else if (*seen == 0 && newest < *cursor) {
        fn(ctx, NULL);   /* the log went backwards: it was recreated */
        *cursor = newest;
    }
    return STORE_OK;
}

static int pg_watch_next(void *watch, int64_t *cursor, int timeout_ms,
                         store_deletion_fn fn, void *ctx, char *err)
{
    struct pg_conn *c = watch;
    int seen = 0;
    int starting = *cursor < 0;
    int rc = watch_look(c, cursor, fn, ctx, &seen, err);
    /* A notification read along with the look may be for a commit the look
     * did not see yet: then look again at once rather than wait. */
    if (drain_notifies(c) || rc != STORE_OK || seen || starting)
        return rc;
    struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (p.fd < 0)
        return fail(c, NULL, err);
    int n = poll(&p, 1, timeout_ms);
    if (n < 0 && errno != EINTR) {
        store_errf(err, "PostgreSQL unavailable: cannot wait for notifications: %s",
                   strerror(errno));
        return STORE_UNAVAILABLE;
    }
    if (n > 0 && !PQconsumeInput(c->pg))
        return fail(c, NULL, err);
    drain_notifies(c);
    /* Look after a timeout too: it costs one index probe, catches anything a
     * lost notification would hide, and finds a dead connection. */
    return watch_look(c, cursor, fn, ctx, &seen, err);
}

/* --- ipborg_meta --------------------------------------------------------------------- */

static int pg_meta_get(void *conn, const char *key, char **value, char *err)
{
    struct pg_conn *c = conn;
    const char *params[1] = {key};
    PGresult *res;
    int rc = run(c, S_META_GET, 1, params, &res, err);
    if (rc != STORE_OK)
        return rc;
    rc = STORE_NOT_FOUND;
    if (PQntuples(res) > 0) {
        *value = strdup(PQgetvalue(res, 0, 0));
        rc = *value ? STORE_OK : out_of_memory(err);
    }
    PQclear(res);
    return rc;
}

static int pg_meta_set(void *conn, const char *key, const char *value, char *err)
{
    struct pg_conn *c = conn;
    if (refuse_readonly(c, "store settings", err))
        return STORE_ERROR;
    const char *params[2] = {key, value};
    /* Inside a bulk load: overwrite (store.h says why). */
    return run(c, c->in_load ? S_META_PUT : S_META_SET, 2, params, NULL, err);
}

/* --- stats -------------------------------------------------------------------------------- */

static int pg_stats(void *conn, enum grid_table t, struct store_stats *out, char *err)
{
    struct pg_conn *c = conn;
    /* Prepared outside the transaction: a failed prepare would abort it. */
    enum stmt q = (c->has_undated ? S_STATS_U : S_STATS) + t;
    int rc = prepare(c, q, err);
    if (rc == STORE_NOT_FOUND)
        return STORE_OK;   /* read-only, no such table: no rows */
    if (rc != STORE_OK)
        return rc;
    /* A whole-table aggregate may take longer than the session's 5 s
     * statement_timeout, which is meant for requests: lifted for this
     * transaction only. */
    int own = !c->in_load;
    if (own && (rc = run(c, S_BEGIN, 0, NULL, NULL, err)) != STORE_OK)
        return rc;
    PGresult *res = NULL;
    rc = run(c, S_LOAD_NO_STATEMENT_TIMEOUT, 0, NULL, NULL, err);
    if (rc == STORE_OK)
        rc = run(c, q, 0, NULL, &res, err);
    if (rc == STORE_OK && PQntuples(res) == 1) {
        out->rows = value_i64(res, 0, 0);
        out->bytes = value_i64(res, 0, 1);
        out->undated = value_i64(res, 0, 2);
        const char *v = value_or_null(res, 0, 3);
        snprintf(out->oldest, sizeof out->oldest, "%s", v ? v : "");
        v = value_or_null(res, 0, 4);
        snprintf(out->newest, sizeof out->newest, "%s", v ? v : "");
    }
    PQclear(res);
    if (own && PQstatus(c->pg) == CONNECTION_OK) {
        char ignored[STORE_ERRLEN];
        int end = run(c, rc == STORE_OK ? S_COMMIT : S_ROLLBACK, 0, NULL, NULL,
                      rc == STORE_OK ? err : ignored);
        if (rc == STORE_OK)
            rc = end;
    }
    if (rc == STORE_NOT_FOUND)
        rc = STORE_OK;
    return rc;
}

/* --- scan ------------------------------------------------------------------------------- */

/* The largest FETCH whose rows, at avg bytes each, stay near SCAN_BATCH_BYTES. */
static enum stmt fetch_for(size_t avg)
{
    if (avg * 1000 <= SCAN_BATCH_BYTES)
        return S_FETCH_1000;
    if (avg * 100 <= SCAN_BATCH_BYTES)
        return S_FETCH_100;
    if (avg * 10 <= SCAN_BATCH_BYTES)
        return S_FETCH_10;
    return S_FETCH_1;
}

/* A cursor: a server-side one (DECLARE / FETCH) in a READ ONLY REPEATABLE
 * READ transaction of its own (one snapshot), or inside the load's
 * transaction during a load. One at a time per connection (its name is
 * fixed). Rows are fetched in batches whose size follows the rows' size. */
struct pcursor {
    struct pg_conn *c;
    enum grid_table t;
    int own;                /* the cursor began the transaction */
    int open;               /* the server-side cursor is declared */
    int done;               /* the last FETCH came back empty */
    PGresult *res;          /* the current batch */
    int i, n;               /* next row of it, its rows */
    size_t avg;             /* bytes per row of the last batch */
};

static void pg_cursor_close(void *cur)
{
    struct pcursor *k = cur;
    if (!k)
        return;
    struct pg_conn *c = k->c;
    PQclear(k->res);
    if (PQstatus(c->pg) == CONNECTION_OK) {
        char ignored[STORE_ERRLEN];
        if (k->open && !k->own)
            run(c, S_CLOSE, 0, NULL, NULL, ignored);
        if (k->own)
            run(c, S_ROLLBACK, 0, NULL, NULL, ignored);   /* read-only: nothing to lose */
    }
    free(k);
}

static int pg_cursor_open(void *conn, enum grid_table t, void **out, char *err)
{
    struct pg_conn *c = conn;
    *out = NULL;
    struct pcursor *k = calloc(1, sizeof *k);
    if (!k)
        return out_of_memory(err);
    k->c = c;
    k->t = t;
    enum stmt declare = (c->has_undated ? S_DECLARE_U : S_DECLARE) + t;
    /* Prepared outside the transaction: a failed prepare would abort it. */
    int rc = prepare(c, declare, err);
    if (rc == STORE_NOT_FOUND) {   /* read-only, no such table: no rows */
        k->done = 1;
        *out = k;
        return STORE_OK;
    }
    k->own = !c->in_load;
    if (rc == STORE_OK && k->own && (rc = run(c, S_BEGIN_SCAN, 0, NULL, NULL, err)) != STORE_OK)
        k->own = 0;
    if (rc == STORE_OK && (rc = run(c, declare, 0, NULL, NULL, err)) == STORE_OK)
        k->open = 1;
    if (rc == STORE_NOT_FOUND) {   /* read-only, the table vanished meanwhile */
        k->done = 1;
        rc = STORE_OK;
    }
    if (rc != STORE_OK) {
        pg_cursor_close(k);
        return rc;
    }
    *out = k;
    return STORE_OK;
}

/* The next row into *rec, whose strings point into the current batch: valid
 * until the next call. STORE_NOT_FOUND after the last row. */
static int pg_cursor_next(void *cur, struct grid_record *rec, char *err)
{
    struct pcursor *k = cur;
    if (k->i >= k->n) {
        if (k->done)
            return STORE_NOT_FOUND;
        PQclear(k->res);
        k->res = NULL;
        k->i = k->n = 0;
        int rc = run(k->c, fetch_for(k->avg), 0, NULL, &k->res, err);
        if (rc != STORE_OK)
            return rc;
        k->n = PQntuples(k->res);
        if (k->n == 0) {
            k->done = 1;
            return STORE_NOT_FOUND;
        }
        size_t bytes = 0;
        for (int i = 0; i < k->n; i++)
            for (int col = 0; col < PQnfields(k->res); col++)
                bytes += (size_t)PQgetlength(k->res, i, col);
        k->avg = bytes / (size_t)k->n;
    }
    row_to_record(k->res, k->i++, rec, 0);
    return STORE_OK;
}

/* --- bulk load ---------------------------------------------------------------------------- */

static int copy_flush(struct pg_conn *c, char *err)
{
    if (buf_failed(&c->copy))
        return out_of_memory(err);
    if (c->copy.len > 0 && PQputCopyData(c->pg, c->copy.data, (int)c->copy.len) != 1)
        return fail(c, NULL, err);
    buf_reset(&c->copy);
    if (c->copy.cap > 4 * COPY_CHUNK)   /* one huge row must not keep its memory */
        buf_free(&c->copy);
    return STORE_OK;
}

/* Ends the open COPY: sends what is buffered (unless abort_msg, which makes the
 * server fail the COPY) and collects the server's verdict on every row. */
static int copy_end(struct pg_conn *c, const char *abort_msg, char *err)
{
    int rc = abort_msg ? STORE_OK : copy_flush(c, err);
    c->copy_table = -1;
    buf_reset(&c->copy);
    if (PQputCopyEnd(c->pg, rc == STORE_OK ? abort_msg : "ipborg: load failed") != 1 &&
        rc == STORE_OK)
        rc = fail(c, NULL, err);
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == STORE_OK && !abort_msg)
            rc = fail(c, res, err);
        PQclear(res);
    }
    if (rc == STORE_OK && PQstatus(c->pg) == CONNECTION_BAD)
        rc = fail(c, NULL, err);
    return rc;
}

/* Appends s to the COPY buffer in COPY's text format (NULL: \N). */
static void copy_field(struct buf *b, const char *s)
{
    if (!s) {
        buf_append(b, "\\N", 2);
        return;
    }
    const char *run_start = s;
    for (; *s; s++) {
        const char *esc;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        buf_append(b, run_start, (size_t)(s - run_start));
        buf_append(b, esc, 2);
        run_start = s + 1;
    }
    buf_append(b, run_start, (size_t)(s - run_start));
}

static int pg_load_begin(void *conn, int replace, char *err)
{
    struct pg_conn *c = conn;
    if (refuse_readonly(c, "load grids", err))
        return STORE_ERROR;
    if (c->in_load) {
        store_errf(err, "a load is already in progress on this connection");
        return STORE_ERROR;
    }
    int rc = run(c, S_BEGIN, 0, NULL, NULL, err);
    if (rc != STORE_OK)
        return rc;
    c->in_load = 1;
    c->load_failed = 0;
    c->load_err[0] = '\0';
    c->copy_table = -1;
    c->n_runs = 0;
    for (int t = 0; t < GRID_TABLES; t++) {
        c->load_last[t] = 0;
        c->run_open[t] = 0;
        c->load_max[t] = c->n_load[t] = 0;
    }

    static const enum stmt fresh[] = {S_LOAD_NO_STATEMENT_TIMEOUT, S_LOAD_NO_LOCK_TIMEOUT,
                                      S_LOAD_DROP_TABLES, S_LOAD_DROP_SEQUENCES,
                                      S_CREATE + GRID_PUBLIC, S_CREATE + GRID_SECRET,
                                      S_LOAD_CLEAR_LOG, S_LOAD_CLEAR_UNDATED,
                                      S_LOAD_CLEAR_SALTS};
    /* A target without grids: marks of undated rows left from rows since
     * deleted must not cover the ids about to be loaded. */
    static const enum stmt check[] = {S_LOAD_NO_STATEMENT_TIMEOUT, S_LOAD_NO_LOCK_TIMEOUT,
                                      S_LOAD_LOCK, S_LOAD_CLEAR_UNDATED};
    const enum stmt *steps = replace ? fresh : check;
    size_t nsteps = replace ? sizeof fresh / sizeof fresh[0] : sizeof check / sizeof check[0];
    for (size_t i = 0; i < nsteps && rc == STORE_OK; i++)
        rc = run(c, steps[i], 0, NULL, NULL, err);

    PGresult *res;
    if (rc == STORE_OK && !replace && (rc = run(c, S_LOAD_COUNT, 0, NULL, &res, err)) == STORE_OK) {
        int64_t a = value_i64(res, 0, 0), b = value_i64(res, 0, 1);
        PQclear(res);
        if (a + b > 0) {
            store_errf(err, "target database already holds %" PRId64 " grids (public_grids: "
                       "%" PRId64 ", secret_grids: %" PRId64 "); use --replace to overwrite",
                       a + b, a, b);
            rc = STORE_ERROR;
        }
    }
    if (rc == STORE_OK && (rc = run(c, S_NOW, 0, NULL, &res, err)) == STORE_OK) {
        c->load_now = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!c->load_now)
            rc = out_of_memory(err);
    }
    if (rc != STORE_OK) {
        if (PQstatus(c->pg) == CONNECTION_OK)
            run(c, S_ROLLBACK, 0, NULL, NULL, NULL);
        c->in_load = 0;
    }
    return rc;
}

static int pg_load_row(void *conn, enum grid_table t, const struct grid_record *rec,
                       char *err)
{
    struct pg_conn *c = conn;
    if (!c->in_load) {
        store_errf(err, "load_row without load_begin");
        return STORE_ERROR;
    }
    if (c->load_failed) {
        store_errf(err, "%s", c->load_err);
        return STORE_ERROR;
    }
    const char *missing = !rec->ipb_version ? "ipb_version"
                        : !rec->python_version ? "python_version"
                        : !rec->grid_data ? "grid_data"
                        : !rec->ipb_class ? "ipb_class"
                        : rec->secret < 0 ? "secret" : NULL;
    if (missing) {
        snprintf(c->load_err, sizeof c->load_err, "%s id %" PRId64 ": %s is NULL",
                 store_table_name(t), rec->id, missing);
        c->load_failed = 1;
        store_errf(err, "%s", c->load_err);
        return STORE_ERROR;
    }
    int rc;
    if (c->copy_table != (int)t) {
        if (c->copy_table >= 0 && (rc = copy_end(c, NULL, err)) != STORE_OK)
            return rc;
        if ((rc = run(c, S_COPY + t, 0, NULL, NULL, err)) != STORE_OK)
            return rc;
        c->copy_table = (int)t;
    }
    /* A run grows while undated rows come in increasing id order with no
     * other row of the table in between or above; anything else starts a
     * new run, so a run never covers a dated row, whatever the order. */
    int extend = c->run_open[t] && rec->id > c->runs[c->run_at[t]].hi &&
                 c->runs[c->run_at[t]].hi == c->load_max[t];
    if (c->n_load[t] == 0 || rec->id > c->load_max[t])
        c->load_max[t] = rec->id;
    c->n_load[t]++;
    if (!rec->created_at) {
        if (extend) {
            c->runs[c->run_at[t]].hi = rec->id;
        } else {
            if (c->n_runs == c->cap_runs) {
                size_t cap = c->cap_runs ? 2 * c->cap_runs : 8;
                struct undated_run *r = realloc(c->runs, cap * sizeof *r);
                if (!r) {
                    c->load_failed = 1;
                    return out_of_memory(err);
                }
                c->runs = r;
                c->cap_runs = cap;
            }
            c->run_at[t] = c->n_runs;
            c->runs[c->n_runs++] = (struct undated_run){(int)t, rec->id, rec->id};
            c->run_open[t] = 1;
        }
    } else {
        c->run_open[t] = 0;
    }
    struct buf *b = &c->copy;
    buf_printf(b, "%" PRId64 "\t", rec->id);
    const char *fields[] = {rec->ipb_version, rec->python_version, rec->grid_data,
                            rec->code_cells, rec->ipb_class,
                            rec->created_at ? rec->created_at : c->load_now};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        copy_field(b, fields[i]);
        buf_putc(b, '\t');
    }
    buf_puts(b, rec->secret ? "t\n" : "f\n");
    if (buf_failed(b)) {
        c->load_failed = 1;
        return out_of_memory(err);
    }
    return b->len >= COPY_CHUNK ? copy_flush(c, err) : STORE_OK;
}

static int pg_load_end(void *conn, int commit, char *err)
{
    struct pg_conn *c = conn;
    if (!c->in_load) {
        store_errf(err, "load_end without load_begin");
        return STORE_ERROR;
    }
    int rc = STORE_OK, want_commit = commit;
    if (commit && c->load_failed) {
        store_errf(err, "%s", c->load_err);
        rc = STORE_ERROR;
    }
    if (commit && rc == STORE_OK) {
        /* The first statement ends the COPY. */
        for (size_t i = 0; i < c->n_runs && rc == STORE_OK; i++) {
            char lo[32], hi[32];
            snprintf(lo, sizeof lo, "%" PRId64, c->runs[i].lo);
            snprintf(hi, sizeof hi, "%" PRId64, c->runs[i].hi);
            const char *params[3] = {store_table_name((enum grid_table)c->runs[i].t), lo, hi};
            rc = run(c, S_UNDATED_INSERT, 3, params, NULL, err);
        }
        for (int t = 0; t < GRID_TABLES && rc == STORE_OK; t++)
            rc = run_id(c, S_SETVAL + t, c->load_last[t], NULL, err);
        if (rc == STORE_OK)
            rc = run(c, S_COMMIT, 0, NULL, NULL, err);
        if (rc == STORE_OK) {
            c->has_undated = 1;
            goto done;
        }
        commit = 0;
    }
    if (c->copy_table >= 0)
        copy_end(c, "ipborg: load rolled back", NULL);
    if (PQstatus(c->pg) == CONNECTION_OK) {
        int was_in_load = c->in_load;
        c->in_load = 0;   /* a failing ROLLBACK must not overwrite load_err */
        char ignored[STORE_ERRLEN];
        int r = run(c, S_ROLLBACK, 0, NULL, NULL, ignored);
        c->in_load = was_in_load;
        if (rc == STORE_OK && r != STORE_OK) {
            store_errf(err, "%s", ignored);
            rc = r;
        }
    } else if (rc == STORE_OK && want_commit) {
        rc = fail(c, NULL, err);
    }   /* a rollback asked for on a lost connection: the server rolled back */
done:
    c->in_load = 0;
    c->n_runs = 0;
    c->load_failed = 0;
    c->copy_table = -1;
    free(c->load_now);
    c->load_now = NULL;
    buf_free(&c->copy);
    return rc;
}

/* --- moving a store: high-water marks, the deletion log -------------------------------- */

/* The libpq parts of a URL that name a database: host, port, dbname, user
 * (empty: libpq's default). */
static void pg_identity(const char *url, char *out, size_t n)
{
    static const char *const keys[] = {"host", "hostaddr", "port", "dbname", "user"};
    char *e = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &e);
    PQfreemem(e);
    out[0] = '\0';
    if (!opts) {
        snprintf(out, n, "%s", url);
        return;
    }
    size_t used = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *val = "";
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (strcmp(o->keyword, keys[k]) == 0 && o->val)
                val = o->val;
        if (!*val && strcmp(keys[k], "port") == 0)
            val = getenv("PGPORT") && *getenv("PGPORT") ? getenv("PGPORT") : "5432";
        int w = snprintf(out + used, n - used, "%s=%s\n", keys[k], val);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    PQconninfoFree(opts);
}

static int pg_same_database(const char *a, const char *b)
{
    char ia[1024], ib[1024];
    pg_identity(a, ia, sizeof ia);
    pg_identity(b, ib, sizeof ib);
    return strcmp(ia, ib) == 0;
}

/* max(the sequence's last value, max(id), the largest deleted id). A table,
 * sequence or log that does not exist (read-only) counts 0. */
static int pg_last_id(void *conn, enum grid_table t, int64_t *last_id, char *err)
{
    struct pg_conn *c = conn;
    const enum stmt qs[] = {S_MAXID + t, S_SEQ_LAST + t, S_DEL_MAX + t};
    *last_id = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        PGresult *res;
        int rc = run(c, qs[i], 0, NULL, &res, err);
        if (rc == STORE_NOT_FOUND)
            continue;
        if (rc != STORE_OK)
            return rc;
        if (PQntuples(res) > 0 && value_i64(res, 0, 0) > *last_id)
            *last_id = value_i64(res, 0, 0);
        PQclear(res);
    }
    return STORE_OK;
}

static int pg_log_read(void *conn, int64_t after, int max, struct store_deletion *out,
                       char (*times)[STORE_TIMELEN], int *n, char *err)
{
    struct pg_conn *c = conn;
    *n = 0;
    char a[32], m[16];
    snprintf(a, sizeof a, "%" PRId64, after);
    snprintf(m, sizeof m, "%d", max);
    const char *params[2] = {a, m};
    PGresult *res;
    int rc = run(c, S_LOG_SCAN, 2, params, &res, err);
    if (rc == STORE_NOT_FOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(res) && i < max; i++) {
        const char *tbl = PQgetvalue(res, i, 1);
        struct store_deletion *d = &out[i];
        d->seq = value_i64(res, i, 0);
        d->id = value_i64(res, i, 2);
        d->deleted_at = NULL;
        const char *at = value_or_null(res, i, 3);
        snprintf(times[i], STORE_TIMELEN, "%s", at ? at : "");
        if (strcmp(tbl, "public_grids") == 0)
            d->table = GRID_PUBLIC;
        else if (strcmp(tbl, "secret_grids") == 0)
            d->table = GRID_SECRET;
        else {
            store_errf(err, "PostgreSQL: the deletion log names a table '%.40s'", tbl);
            rc = STORE_ERROR;
            break;
        }
        *n = i + 1;
    }
    PQclear(res);
    return rc;
}

static int pg_load_deletion(void *conn, const struct store_deletion *d, char *err)
{
    struct pg_conn *c = conn;
    if (!c->in_load) {
        store_errf(err, "load_deletion without load_begin");
        return STORE_ERROR;
    }
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, d->id);
    const char *params[3] = {store_table_name(d->table), id, d->deleted_at};
    return run(c, S_LOG_LOAD, 3, params, NULL, err);
}

static int pg_load_last_id(void *conn, enum grid_table t, int64_t last_id, char *err)
{
    struct pg_conn *c = conn;
    if (!c->in_load) {
        store_errf(err, "load_last_id without load_begin");
        return STORE_ERROR;
    }
    if (last_id > c->load_last[t])
        c->load_last[t] = last_id;
    return STORE_OK;
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .put = pg_put,
    .get = pg_get,
    .get_grid_data = pg_get_grid_data,
    .count = pg_count,
    .max_id = pg_max_id,
    .exists = pg_exists,
    .nth_id = pg_nth_id,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .del = pg_del,
    .watch_open = pg_watch_open,
    .watch_next = pg_watch_next,
    .watch_close = pg_watch_close,
    .cursor_open = pg_cursor_open,
    .cursor_next = pg_cursor_next,
    .cursor_close = pg_cursor_close,
    .load_begin = pg_load_begin,
    .load_row = pg_load_row,
    .load_end = pg_load_end,
    .stats = pg_stats,
    .same_database = pg_same_database,
    .last_id = pg_last_id,
    .log_read = pg_log_read,
    .load_deletion = pg_load_deletion,
    .load_last_id = pg_load_last_id,
};
