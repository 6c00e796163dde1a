/* test_store_pg.c -- the PostgreSQL backend (store_pg.c) against a real server.
 *
 * The server is the throw-away one that `make test` starts (scripts/pg-test.sh);
 * its URL comes in IPBORG_TEST_PG_URL. Without it this program fails, it does
 * not skip: a backend that was never run is not a tested backend.
 *
 * Every test gets a database of its own (CREATE DATABASE through an admin
 * connection to the given URL), dropped afterwards, and opens its store on it.
 * The deletion-log tests check the log, its NOTIFY, its order under concurrent
 * deletes, and that a watch goes on from its cursor after a lost connection. */
#include "unit.h"

#include "store.h"
#include "store_backend.h"
#include "store_fixture.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *base_url;      /* IPBORG_TEST_PG_URL */
static PGconn *admin;              /* to base_url: creates and drops databases */

struct fixture {
    char db[64];
    char url[1024];                /* base_url with the path replaced by db */
    char url_noport[1024];         /* the same without the port (PGPORT decides) */
    char port[16];
    struct store *st;
    PGconn *check;                 /* a plain connection to db, for assertions */
};

/* --- helpers ------------------------------------------------------------------ */

/* Splits postgresql://AUTH/DB?PARAMS into the pieces the fixture needs. */
static void make_urls(struct fixture *f)
{
    const char *p = strstr(base_url, "://");
    assert_non_null(p);
    p += 3;
    const char *slash = strchr(p, '/');
    const char *query = strchr(p, '?');
    size_t auth_len = slash ? (size_t)(slash - p) : query ? (size_t)(query - p) : strlen(p);
    size_t scheme_len = (size_t)(p - base_url);
    const char *params = query ? query : "";
    snprintf(f->url, sizeof f->url, "%.*s%.*s/%s%s", (int)scheme_len, base_url,
             (int)auth_len, p, f->db, params);
    /* host:port -> host, port; the test server's host is 127.0.0.1. */
    const char *colon = memchr(p, ':', auth_len);
    const char *at = memchr(p, '@', auth_len);
    if (at)
        colon = memchr(at, ':', auth_len - (size_t)(at - p));
    assert_non_null(colon);
    snprintf(f->port, sizeof f->port, "%.*s", (int)(auth_len - (size_t)(colon + 1 - p)),
             colon + 1);
    snprintf(f->url_noport, sizeof f->url_noport, "%.*s%.*s/%s%s", (int)scheme_len,
             base_url, (int)(colon - p), p, f->db, params);
}

static void admin_exec(const char *sql)
{
    PGresult *res = PQexec(admin, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(admin));
    PQclear(res);
}

static void check_exec(struct fixture *f, const char *sql)
{
    PGresult *res = PQexec(f->check, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(f->check));
    PQclear(res);
}

/* The first value of a query on the test database, malloc'd ("" for NULL or no row). */
static char *check_value(struct fixture *f, const char *sql)
{
    PGresult *res = PQexec(f->check, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(f->check));
    char *v = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    assert_non_null(v);
    return v;
}

static void assert_value(struct fixture *f, const char *sql, const char *want)
{
    char *v = check_value(f, sql);
    if (strcmp(v, want) != 0)
        fail_msg("%s\n  got:  %s\n  want: %s", sql, v, want);
    free(v);
}

static void open_store(struct fixture *f, int flags)
{
    char err[STORE_ERRLEN] = "";
    f->st = store_open(f->url, flags, err);
    if (!f->st)
        fail_msg("store_open(%s): %s", f->url, err);
}

static void reopen_store(struct fixture *f, int flags)
{
    store_close(f->st);
    f->st = NULL;
    open_store(f, flags);
}

static void *conn_of(struct fixture *f)
{
    char err[STORE_ERRLEN] = "";
    int status = STORE_OK;
    void *c = store_conn(f->st, &status, err);
    if (!c)
        fail_msg("store_conn: %s", err);
    return c;
}

static const struct store_ops *ops_of(struct fixture *f)
{
    return store_backend(f->st);
}

#define OK(call)                                                        \
    do {                                                                \
        char err_[STORE_ERRLEN] = "";                                   \
        char *err = err_;                                               \
        int rc_ = (call);                                               \
        if (rc_ != STORE_OK)                                            \
            fail_msg("%s -> %d: %s", #call, rc_, err_);                 \
        (void)err;                                                      \
    } while (0)

static int json_same(const char *a, const char *b)
{
    json_error_t e;
    json_t *ja = json_loads(a, JSON_DECODE_ANY, &e);
    json_t *jb = json_loads(b, JSON_DECODE_ANY, &e);
    int same = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static struct grid_record record(const char *grid_data, const char *code_cells, int secret)
{
    struct grid_record r = {
        .ipb_version = (char *)"1.9.0",
        .python_version = (char *)"[3, 11, 7, \"final\", 0]",
        .grid_data = (char *)grid_data,
        .code_cells = (char *)code_cells,
        .ipb_class = (char *)"BlockGrid",
        .secret = secret,
    };
    return r;
}

#define GRID1 "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 20]]]}"
#define GRID2 "{\"width\":2,\"height\":1,\"lines_on\":false,\"blocks\":[[[0,0,0,1],[255,255,255,1000]]]}"

/* Strings that COPY's text format and SQL quoting must carry untouched. */
#define NASTY_TEXT "1.9.0 \"q\" 'a' \\ \\N \\t\t tab\nnewline\r\nCR é ü 漢字 😀 end\\"
#define NASTY_CELLS "[\"a\\tb\\nc\\r\\\\d \\\"e\\\" \\\\N ü 😀 '\", \"\\u00e9\\u6f22\", \"<b>&</b>\"]"

static struct grid_record nasty_record(void)
{
    struct grid_record r = record(GRID2, NASTY_CELLS, 0);
    r.ipb_version = (char *)NASTY_TEXT;
    r.ipb_class = (char *)"ImageGrid\t\\x";
    r.python_version = (char *)"[3, 11, 7, \"fin\\\\al\\n\", 0]";
    return r;
}

static void assert_same_record(const struct grid_record *want, const struct grid_record *got)
{
    assert_true(str_same(want->ipb_version, got->ipb_version));
    assert_true(str_same(want->ipb_class, got->ipb_class));
    assert_true(json_same(want->python_version, got->python_version));
    assert_true(json_same(want->grid_data, got->grid_data));
    if (want->code_cells)
        assert_true(json_same(want->code_cells, got->code_cells));
    else
        assert_null(got->code_cells);
    assert_int_equal(want->secret, got->secret);
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
static void assert_timestamp(const char *s)
{
    assert_non_null(s);
    const char *shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    assert_int_equal(strlen(s), strlen(shape));
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd')
            assert_true(s[i] >= '0' && s[i] <= '9');
        else
            assert_int_equal(s[i], shape[i]);
    }
}

static int64_t put(struct fixture *f, enum grid_table t, const struct grid_record *r)
{
    int64_t id = 0;
    OK(store_put(f->st, t, r, &id, err));
    return id;
}

static int64_t put_simple(struct fixture *f, enum grid_table t)
{
    struct grid_record r = record(GRID1, NULL, t == GRID_SECRET);
    return put(f, t, &r);
}

static int64_t rows_of(struct fixture *f, enum grid_table t)
{
    int64_t rows = -1, max_id = -1;
    OK(store_count(f->st, t, &rows, &max_id, err));
    return rows;
}

static void load_row(struct fixture *f, enum grid_table t, int64_t id, const char *grid)
{
    struct grid_record r = record(grid, NULL, t == GRID_SECRET);
    r.id = id;
    OK(ops_of(f)->load_row(conn_of(f), t, &r, err));
}

/* A TCP port on 127.0.0.1 that nothing listens on (just now). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- fixture -------------------------------------------------------------------- */

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int setup(void **state)
{
    static int counter;
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->db, sizeof f->db, "ipborg_t_%d_%d", (int)getpid(), ++counter);
    make_urls(f);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", f->db);
    admin_exec(sql);
    f->check = PQconnectdb(f->url);
    if (PQstatus(f->check) != CONNECTION_OK)
        fail_msg("connect %s: %s", f->url, PQerrorMessage(f->check));
    PQsetNoticeProcessor(f->check, quiet, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    PQfinish(f->check);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->db);
    admin_exec(sql);
    free(f);
    return 0;
}

/* --- schema ------------------------------------------------------------------------ */

#define COLUMNS_OF(table)                                                          \
    "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || " \
    "coalesce(column_default, '-'), ' | ' ORDER BY ordinal_position) "             \
    "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '" \
    table "'"

#define EXPECTED_COLUMNS(table)                                                    \
    "id integer NO nextval('" table "_id_seq'::regclass) | ipb_version text NO - | " \
    "python_version jsonb NO - | grid_data jsonb NO - | code_cells jsonb YES - | "  \
    "ipb_class text NO - | created_at timestamp with time zone NO now() | "         \
    "secret boolean NO -"

/* Everything about the two grid tables that the original's DDL fixes. */
static void assert_grid_schema(struct fixture *f)
{
    assert_value(f, COLUMNS_OF("public_grids"), EXPECTED_COLUMNS("public_grids"));
    assert_value(f, COLUMNS_OF("secret_grids"), EXPECTED_COLUMNS("secret_grids"));
    assert_value(f, "SELECT string_agg(sequence_name || ' ' || data_type, ', ' "
                    "ORDER BY sequence_name) FROM information_schema.sequences "
                    "WHERE sequence_schema = 'public'",
                 "public_grids_id_seq integer, secret_grids_id_seq integer");
    assert_value(f, "SELECT pg_get_serial_sequence('public.public_grids', 'id') || ' ' || "
                    "pg_get_serial_sequence('public.secret_grids', 'id')",
                 "public.public_grids_id_seq public.secret_grids_id_seq");
    assert_value(f, "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' "
                    "ORDER BY conname) FROM pg_constraint WHERE contype = 'p' AND "
                    "conrelid IN ('public.public_grids'::regclass, "
                    "'public.secret_grids'::regclass)",
                 "public_grids_pkey PRIMARY KEY (id), secret_grids_pkey PRIMARY KEY (id)");
}

static void test_schema_created(void **state)
{
    struct fixture *f = *state;
    assert_value(f, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "0");
    open_store(f, 0);
    assert_grid_schema(f);
    assert_value(f, COLUMNS_OF("ipborg_meta"), "key text NO - | value text NO -");
    assert_value(f, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                    "conrelid = 'public.ipborg_meta'::regclass AND contype = 'p'",
                 "PRIMARY KEY (key)");
    /* Opening again changes nothing. */
    reopen_store(f, 0);
    assert_grid_schema(f);
}

static void test_legacy_schema(void **state)
{
    struct fixture *f = *state;
    char *ddl = read_vector("legacy/original_postgres_schema.sql", NULL);
    check_exec(f, ddl);
    free(ddl);
    assert_grid_schema(f);   /* the expectations above are the original's DDL */
    check_exec(f, "INSERT INTO public_grids (ipb_version, python_version, grid_data, "
                  "code_cells, ipb_class, secret) VALUES ('1.7', '[2, 7, 3, \"final\", 0]', "
                  "'{\"a\": 1}', 'null', 'BlockGrid', false)");
    open_store(f, 0);
    assert_grid_schema(f);
    assert_value(f, "SELECT count(*) FROM pg_tables WHERE tablename = 'ipborg_meta'", "1");

    struct grid_record got = {0};
    OK(store_get(f->st, GRID_PUBLIC, 1, &got, err));
    assert_string_equal(got.ipb_version, "1.7");
    assert_true(json_same(got.grid_data, "{\"a\": 1}"));
    assert_string_equal(got.code_cells, "null");   /* JSON null, as SQLAlchemy stores None */
    assert_timestamp(got.created_at);
    grid_record_clear(&got);
    assert_int_equal(put_simple(f, GRID_PUBLIC), 2);
    assert_int_equal(put_simple(f, GRID_SECRET), 1);
    /* The original service, sharing the database, continues the same sequence. */
    check_exec(f, "INSERT INTO public_grids (ipb_version, python_version, grid_data, "
                  "ipb_class, secret) VALUES ('1.7', '[]', '{}', 'BlockGrid', false)");
    assert_int_equal(put_simple(f, GRID_PUBLIC), 4);
}

static void *open_concurrently(void *arg)
{
    struct fixture *f = arg;
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(f->url, 0, err);
    if (st)
        store_close(st);
    return st ? NULL : strdup(err);
}

static void test_schema_concurrent_creation(void **state)
{
    struct fixture *f = *state;
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&th[i], NULL, open_concurrently, f), 0);
    int failures = 0;
    for (int i = 0; i < 6; i++) {
        void *msg;
        pthread_join(th[i], &msg);
        if (msg) {
            print_error("store_open failed: %s\n", (char *)msg);
            failures++;
        }
        free(msg);
    }
    assert_int_equal(failures, 0);
    assert_grid_schema(f);
}

/* The URL's own parameters win over the backend's defaults, with or without '?'. */
static void test_url_parameters(void **state)
{
    struct fixture *f = *state;
    char *base = strdup(f->url);
    assert_non_null(base);
    const char *sep = strchr(base, '?') ? "&" : "?";
    snprintf(f->url, sizeof f->url, "%s%sapplication_name=mine&connect_timeout=10", base, sep);
    open_store(f, 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT string_agg(application_name, ',') FROM "
             "pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()", f->db);
    assert_value(f, sql, "mine");
    reopen_store(f, 0);
    assert_value(f, sql, "mine");
    snprintf(f->url, sizeof f->url, "%s", base);
    reopen_store(f, 0);
    assert_value(f, sql, "ipborg");   /* the default fills in */
    free(base);
}

/* --- single rows --------------------------------------------------------------------- */

static void test_put_get_roundtrip(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    struct grid_record a = record(GRID1, NULL, 0);
    struct grid_record b = nasty_record();
    struct grid_record s = record(GRID2, "[\"x = 1\"]", 1);
    int64_t ia = put(f, GRID_PUBLIC, &a), ib = put(f, GRID_PUBLIC, &b);
    int64_t is = put(f, GRID_SECRET, &s);
    assert_int_equal(ia, 1);
    assert_int_equal(ib, 2);
    assert_int_equal(is, 1);

    struct grid_record got = {0};
    OK(store_get(f->st, GRID_PUBLIC, ia, &got, err));
    assert_int_equal(got.id, ia);
    assert_same_record(&a, &got);
    assert_timestamp(got.created_at);
    grid_record_clear(&got);

    OK(store_get(f->st, GRID_PUBLIC, ib, &got, err));
    assert_same_record(&b, &got);
    assert_string_equal(got.ipb_version, NASTY_TEXT);
    grid_record_clear(&got);

    OK(store_get(f->st, GRID_SECRET, is, &got, err));
    assert_same_record(&s, &got);
    grid_record_clear(&got);

    char *json = NULL;
    size_t len = 0;
    OK(store_get_grid_data(f->st, GRID_PUBLIC, ib, &json, &len, err));
    assert_int_equal(len, strlen(json));
    assert_true(json_same(json, GRID2));
    free(json);

    char err[STORE_ERRLEN] = "";
    assert_int_equal(store_get(f->st, GRID_SECRET, 2, &got, err), STORE_NOT_FOUND);
    assert_int_equal(store_get_grid_data(f->st, GRID_PUBLIC, 99, &json, &len, err),
                     STORE_NOT_FOUND);
}

static void test_put_bad_json(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    char err[STORE_ERRLEN] = "";
    int64_t id = 0;
    /* jsonb cannot hold \u0000: an error with a clear message, no row. */
    struct grid_record r = record("{\"a\": \"\\u0000\"}", NULL, 0);
    assert_int_equal(store_put(f->st, GRID_PUBLIC, &r, &id, err), STORE_ERROR);
    assert_non_null(strstr(err, "Unicode"));
    assert_null(strchr(err, '\n'));
    r = record("{not json", NULL, 0);
    assert_int_equal(store_put(f->st, GRID_PUBLIC, &r, &id, err), STORE_ERROR);
    assert_non_null(strstr(err, "json"));
    r = record(GRID1, NULL, 0);
    r.ipb_class = NULL;
    assert_int_equal(store_put(f->st, GRID_PUBLIC, &r, &id, err), STORE_ERROR);
    assert_non_null(strstr(err, "ipb_class"));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 0);
    /* The connection is still good. */
    assert_true(put_simple(f, GRID_PUBLIC) > 0);
}

static void test_count_exists_nth(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    char err[STORE_ERRLEN] = "";
    int64_t rows = -1, max_id = -1, id = 0;
    OK(ops->count(c, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 0);
    assert_int_equal(max_id, 0);
    OK(ops->max_id(c, GRID_PUBLIC, &max_id, err));
    assert_int_equal(max_id, 0);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, 1, err), STORE_NOT_FOUND);
    assert_int_equal(ops->nth_id(c, GRID_PUBLIC, 0, &id, err), STORE_NOT_FOUND);

    for (int i = 0; i < 5; i++)
        put_simple(f, GRID_PUBLIC);
    put_simple(f, GRID_SECRET);
    OK(ops->del(c, GRID_PUBLIC, 2, err));
    OK(ops->del(c, GRID_PUBLIC, 5, err));
    OK(ops->count(c, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 3);
    assert_int_equal(max_id, 4);
    OK(ops->max_id(c, GRID_PUBLIC, &max_id, err));
    assert_int_equal(max_id, 4);
    OK(ops->count(c, GRID_SECRET, &rows, &max_id, err));
    assert_int_equal(rows, 1);
    assert_int_equal(max_id, 1);

    assert_int_equal(ops->exists(c, GRID_PUBLIC, 1, err), STORE_OK);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, 2, err), STORE_NOT_FOUND);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, 0, err), STORE_NOT_FOUND);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, -3, err), STORE_NOT_FOUND);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, INT64_C(1) << 40, err), STORE_NOT_FOUND);
    assert_int_equal(ops->exists(c, GRID_SECRET, 3, err), STORE_NOT_FOUND);
    struct grid_record got = {0};
    assert_int_equal(ops->get(c, GRID_PUBLIC, INT64_MAX, &got, err), STORE_NOT_FOUND);

    const int64_t want[] = {1, 3, 4};
    for (int k = 0; k < 3; k++) {
        OK(ops->nth_id(c, GRID_PUBLIC, k, &id, err));
        assert_int_equal(id, want[k]);
    }
    assert_int_equal(ops->nth_id(c, GRID_PUBLIC, 3, &id, err), STORE_NOT_FOUND);
    assert_int_equal(ops->nth_id(c, GRID_PUBLIC, -1, &id, err), STORE_NOT_FOUND);
}

static void test_random_id(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    for (int i = 0; i < 20; i++)
        put_simple(f, GRID_PUBLIC);
    for (int64_t id = 1; id <= 20; id++)
        if (id != 3 && id != 17 && id != 18)
            OK(store_delete(f->st, GRID_PUBLIC, id, err));
    int seen3 = 0, seen17 = 0, seen18 = 0;
    for (int i = 0; i < 300; i++) {
        int64_t id = 0;
        OK(store_random_id(f->st, GRID_PUBLIC, &id, err));
        assert_true(id == 3 || id == 17 || id == 18);
        seen3 += id == 3;
        seen17 += id == 17;
        seen18 += id == 18;
    }
    assert_true(seen3 && seen17 && seen18);
    char err[STORE_ERRLEN];
    int64_t id;
    assert_int_equal(store_random_id(f->st, GRID_SECRET, &id, err), STORE_NOT_FOUND);
}

/* --- meta and salts --------------------------------------------------------------------- */

static void test_meta_set_if_absent(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    char err[STORE_ERRLEN] = "";
    char *v = NULL;
    assert_int_equal(ops->meta_get(c, "k", &v, err), STORE_NOT_FOUND);
    OK(ops->meta_set(c, "k", "first 'value' \\ \n ü", err));
    OK(ops->meta_set(c, "k", "second", err));
    OK(ops->meta_get(c, "k", &v, err));
    assert_string_equal(v, "first 'value' \\ \n ü");
    free(v);
}

static void test_salts(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL, *pub2 = NULL, *sec2 = NULL;
    OK(store_resolve_salts(f->st, NULL, NULL, 0, &pub, &sec, err));
    assert_int_equal(strlen(pub), 32);
    assert_string_not_equal(pub, sec);
    reopen_store(f, 0);
    OK(store_resolve_salts(f->st, NULL, NULL, 0, &pub2, &sec2, err));
    assert_string_equal(pub, pub2);
    assert_string_equal(sec, sec2);
    free(pub2);
    free(sec2);
    assert_int_equal(store_resolve_salts(f->st, "x", "y", 0, &pub2, &sec2, err), STORE_ERROR);
    assert_non_null(strstr(err, "HASHIDS_PUBLIC_SALT"));
    OK(store_resolve_salts(f->st, "x", "y", 1, &pub2, &sec2, err));
    assert_string_equal(pub2, "x");
    free(pub2);
    free(sec2);
    OK(store_resolve_salts(f->st, NULL, NULL, 0, &pub2, &sec2, err));
    assert_string_equal(pub2, pub);   /* --force-salts did not overwrite */
    free(pub2);
    free(sec2);
    free(pub);
    free(sec);
}

static void test_salts_of_old_database(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL;
    assert_int_equal(store_resolve_salts(f->st, NULL, NULL, 0, &pub, &sec, err), STORE_ERROR);
    assert_non_null(strstr(err, "HASHIDS_PUBLIC_SALT"));
    assert_non_null(strstr(err, "HASHIDS_SECRET_SALT"));
    OK(store_resolve_salts(f->st, "public", "secret", 0, &pub, &sec, err));
    free(pub);
    free(sec);
    OK(store_resolve_salts(f->st, NULL, NULL, 0, &pub, &sec, err));
    assert_string_equal(pub, "public");
    assert_string_equal(sec, "secret");
    free(pub);
    free(sec);
}

/* --- read-only ------------------------------------------------------------------------------ */

static int count_rows(void *ctx, const struct grid_record *rec, char *err)
{
    (void)rec;
    (void)err;
    (*(int *)ctx)++;
    return 0;
}

static void test_readonly(void **state)
{
    struct fixture *f = *state;
    open_store(f, STORE_READONLY);   /* an empty database: nothing is created */
    assert_value(f, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "0");
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    char err[STORE_ERRLEN] = "";
    int64_t rows = -1, max_id = -1, id;
    OK(ops->count(c, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 0);
    assert_int_equal(max_id, 0);
    OK(ops->max_id(c, GRID_SECRET, &max_id, err));
    assert_int_equal(max_id, 0);
    assert_int_equal(ops->exists(c, GRID_PUBLIC, 1, err), STORE_NOT_FOUND);
    assert_int_equal(ops->nth_id(c, GRID_PUBLIC, 0, &id, err), STORE_NOT_FOUND);
    struct grid_record got = {0};
    assert_int_equal(ops->get(c, GRID_PUBLIC, 1, &got, err), STORE_NOT_FOUND);
    char *v = NULL;
    assert_int_equal(ops->meta_get(c, META_PUBLIC_SALT, &v, err), STORE_NOT_FOUND);
    int n = 0;
    OK(fixture_scan(f->st, GRID_PUBLIC, count_rows, &n, err));
    assert_int_equal(n, 0);
    char *pub, *sec;
    assert_int_equal(store_resolve_salts(f->st, NULL, NULL, 0, &pub, &sec, err),
                     STORE_NOT_FOUND);
    struct grid_record r = record(GRID1, NULL, 0);
    assert_int_equal(ops->put(c, GRID_PUBLIC, &r, &id, err), STORE_ERROR);
    assert_int_equal(ops->meta_set(c, "k", "v", err), STORE_ERROR);
    assert_int_equal(ops->load_begin(c, 1, err), STORE_ERROR);
    assert_value(f, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "0");

    /* The tables appear (another, writable process): the same connection sees them. */
    char e2[STORE_ERRLEN] = "";
    struct store *rw = store_open(f->url, 0, e2);
    assert_non_null(rw);
    OK(store_resolve_salts(rw, NULL, NULL, 0, &pub, &sec, err));
    OK(store_put(rw, GRID_PUBLIC, &r, &id, err));
    free(pub);
    free(sec);
    store_close(rw);
    OK(ops->count(c, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 1);
    OK(ops->get(c, GRID_PUBLIC, 1, &got, err));
    grid_record_clear(&got);
    OK(fixture_scan(f->st, GRID_PUBLIC, count_rows, &n, err));
    assert_int_equal(n, 1);
    OK(ops->meta_get(c, META_PUBLIC_SALT, &v, err));
    free(v);
}

/* --- bulk load ------------------------------------------------------------------------------ */

static void test_load_escaping(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    struct grid_record n = nasty_record();
    n.id = 7;
    n.created_at = (char *)"2019-03-04T05:06:07.123456Z";
    struct grid_record plain = record(GRID1, "null", 0);
    plain.id = 8;   /* created_at NULL: no posted date (the column holds the load's time) */
    struct grid_record old = record(GRID1, NULL, 1);
    old.id = 3;
    old.created_at = (char *)"2015-06-07 08:09:10";   /* an old file's UTC text */
    OK(ops->load_begin(c, 0, err));
    OK(ops->load_row(c, GRID_PUBLIC, &n, err));
    OK(ops->load_row(c, GRID_SECRET, &old, err));
    OK(ops->load_row(c, GRID_PUBLIC, &plain, err));
    OK(ops->load_end(c, 1, err));

    struct grid_record got = {0};
    OK(store_get(f->st, GRID_PUBLIC, 7, &got, err));
    assert_same_record(&n, &got);
    assert_string_equal(got.ipb_version, NASTY_TEXT);
    assert_string_equal(got.ipb_class, "ImageGrid\t\\x");
    assert_string_equal(got.created_at, "2019-03-04T05:06:07.123456Z");
    grid_record_clear(&got);
    OK(store_get(f->st, GRID_PUBLIC, 8, &got, err));
    assert_same_record(&plain, &got);
    assert_string_equal(got.code_cells, "null");
    assert_null(got.created_at);   /* undated: reads back NULL, marked in ipborg_undated */
    grid_record_clear(&got);
    assert_value(f, "SELECT created_at > now() - interval '1 hour' FROM public_grids "
                    "WHERE id = 8", "t");
    assert_value(f, "SELECT count(*) FROM ipborg_undated", "1");
    OK(store_get(f->st, GRID_SECRET, 3, &got, err));
    assert_string_equal(got.created_at, "2015-06-07T08:09:10.000000Z");
    grid_record_clear(&got);
    assert_int_equal(put_simple(f, GRID_PUBLIC), 9);
    assert_int_equal(put_simple(f, GRID_SECRET), 4);
}

static void test_load_replace(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    for (int i = 0; i < 3; i++)
        put_simple(f, GRID_PUBLIC);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    OK(ops->load_begin(c, 1, err));
    load_row(f, GRID_PUBLIC, 5, GRID2);
    load_row(f, GRID_SECRET, 2, GRID1);
    load_row(f, GRID_PUBLIC, 9, GRID1);
    OK(ops->load_end(c, 1, err));
    assert_grid_schema(f);
    int64_t rows, max_id;
    OK(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 2);
    assert_int_equal(max_id, 9);
    char err[STORE_ERRLEN];
    assert_int_equal(ops->exists(c, GRID_PUBLIC, 1, err), STORE_NOT_FOUND);
    assert_int_equal(put_simple(f, GRID_PUBLIC), 10);
    assert_int_equal(put_simple(f, GRID_SECRET), 3);

    /* Again on the same connection (its prepared statements outlive the tables). */
    OK(ops->load_begin(c, 1, err));
    load_row(f, GRID_SECRET, 4, GRID1);
    OK(ops->load_end(c, 1, err));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 0);
    assert_int_equal(put_simple(f, GRID_PUBLIC), 1);
    assert_int_equal(put_simple(f, GRID_SECRET), 5);
    assert_grid_schema(f);
}

static void test_load_sets_sequences(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    OK(ops->load_begin(c, 0, err));
    load_row(f, GRID_PUBLIC, 5, GRID1);
    load_row(f, GRID_PUBLIC, 9, GRID1);
    OK(ops->meta_set(c, META_PUBLIC_SALT, "p", err));   /* joins the load */
    load_row(f, GRID_SECRET, 1, GRID1);
    OK(ops->load_end(c, 1, err));
    assert_int_equal(put_simple(f, GRID_PUBLIC), 10);
    assert_int_equal(put_simple(f, GRID_SECRET), 2);
    assert_value(f, "SELECT value FROM ipborg_meta WHERE key = 'hashids_public_salt'", "p");
}

static void test_load_bad_rows(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    struct grid_record keep = record(GRID2, "[\"keep\"]", 0);
    put(f, GRID_PUBLIC, &keep);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    const char *bad[] = {"{not json", "{\"a\": \"\\u0000\"}"};
    for (int b = 0; b < 2; b++) {
        char err[STORE_ERRLEN] = "";
        OK(ops->load_begin(c, 1, err));
        int failed = 0;
        /* Enough rows that COPY data has been sent before the bad one. */
        for (int64_t id = 1; id <= 3000 && !failed; id++) {
            struct grid_record r = record(id == 2500 ? bad[b] : GRID1, NULL, 0);
            r.id = id;
            failed = ops->load_row(c, GRID_PUBLIC, &r, err) != STORE_OK;
        }
        char end_err[STORE_ERRLEN] = "";
        assert_int_equal(ops->load_end(c, 1, end_err), STORE_ERROR);
        if (!failed)   /* the server's verdict came at the end of the COPY */
            memcpy(err, end_err, sizeof err);
        print_message("bad row %d: %s\n", b, err);
        assert_true(strstr(err, "json") || strstr(err, "Unicode"));
        assert_null(strchr(err, '\n'));
        assert_non_null(strstr(err, "public_grids"));   /* COPY's context names it */
        /* Unchanged, and the connection works. */
        assert_int_equal(rows_of(f, GRID_PUBLIC), 1);
        struct grid_record got = {0};
        OK(store_get(f->st, GRID_PUBLIC, 1, &got, err));
        assert_same_record(&keep, &got);
        grid_record_clear(&got);
    }

    /* A required field NULL: refused at once, naming table, id and column. */
    char err[STORE_ERRLEN] = "";
    OK(ops->load_begin(c, 1, err));
    load_row(f, GRID_SECRET, 1, GRID1);
    struct grid_record r = record(NULL, NULL, 0);
    r.id = 42;
    assert_int_equal(ops->load_row(c, GRID_PUBLIC, &r, err), STORE_ERROR);
    assert_string_equal(err, "public_grids id 42: grid_data is NULL");
    assert_int_equal(ops->load_end(c, 1, err), STORE_ERROR);
    assert_int_equal(rows_of(f, GRID_PUBLIC), 1);
    assert_int_equal(rows_of(f, GRID_SECRET), 0);

    /* A duplicate id. */
    OK(ops->load_begin(c, 1, err));
    load_row(f, GRID_PUBLIC, 1, GRID1);
    load_row(f, GRID_PUBLIC, 1, GRID1);
    assert_int_equal(ops->load_end(c, 1, err), STORE_ERROR);
    assert_non_null(strstr(err, "duplicate"));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 1);
    assert_int_equal(put_simple(f, GRID_PUBLIC), 2);
}

/* --- scan --------------------------------------------------------------------------------- */

struct scan_ctx {
    int64_t last;
    int rows;
    int stop_at;
    size_t bytes;
};

static int scan_check(void *ctx, const struct grid_record *rec, char *err)
{
    struct scan_ctx *s = ctx;
    if (rec->id <= s->last) {
        store_errf(err, "id %" PRId64 " after %" PRId64, rec->id, s->last);
        return 1;
    }
    s->last = rec->id;
    s->rows++;
    s->bytes += strlen(rec->grid_data);
    if (!rec->ipb_version || rec->secret < 0) {
        store_errf(err, "incomplete row %" PRId64, rec->id);
        return 1;
    }
    if (s->stop_at && s->rows == s->stop_at) {
        store_errf(err, "stopped by the test");
        return 1;
    }
    return 0;
}

static void test_scan(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    const struct store_ops *ops = ops_of(f);
    void *c = conn_of(f);
    /* Ids out of order, the two tables interleaved (one COPY after another). */
    OK(ops->load_begin(c, 0, err));
    for (int64_t i = 2500; i >= 1; i--)
        load_row(f, (i / 100) % 2 ? GRID_SECRET : GRID_PUBLIC, i * 2, GRID1);
    OK(ops->load_end(c, 1, err));
    int64_t pub = rows_of(f, GRID_PUBLIC), sec = rows_of(f, GRID_SECRET);
    assert_int_equal(pub + sec, 2500);

    struct scan_ctx s = {0};
    OK(fixture_scan(f->st, GRID_PUBLIC, scan_check, &s, err));
    assert_int_equal(s.rows, pub);
    memset(&s, 0, sizeof s);
    OK(fixture_scan(f->st, GRID_SECRET, scan_check, &s, err));
    assert_int_equal(s.rows, sec);

    /* Large rows: smaller batches, same rows. */
    char *big = malloc(400000);
    assert_non_null(big);
    strcpy(big, "{\"pad\": \"");
    memset(big + strlen(big), 'x', 399000);
    strcpy(big + 9 + 399000, "\"}");
    struct grid_record r = record(big, NULL, 0);
    for (int i = 0; i < 60; i++)
        put(f, GRID_PUBLIC, &r);
    free(big);
    memset(&s, 0, sizeof s);
    OK(fixture_scan(f->st, GRID_PUBLIC, scan_check, &s, err));
    assert_int_equal(s.rows, pub + 60);

    /* The callback stops it: STORE_ERROR with the callback's message. */
    memset(&s, 0, sizeof s);
    s.stop_at = 10;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(fixture_scan(f->st, GRID_PUBLIC, scan_check, &s, err), STORE_ERROR);
    assert_string_equal(err, "stopped by the test");
    /* No transaction left open. */
    int64_t id = put_simple(f, GRID_PUBLIC);
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, id);
    assert_value(f, "SELECT max(id) FROM public_grids", want);
}

/* --- concurrency ---------------------------------------------------------------------------- */

#define PUT_THREADS 4
#define PUTS_EACH 50

struct put_job {
    struct fixture *f;
    int64_t ids[PUTS_EACH];
    int failed;
};

static void *put_many(void *arg)
{
    struct put_job *job = arg;
    struct grid_record r = record(GRID1, NULL, 0);
    for (int i = 0; i < PUTS_EACH; i++) {
        char err[STORE_ERRLEN];
        if (store_put(job->f->st, GRID_PUBLIC, &r, &job->ids[i], err) != STORE_OK)
            job->failed++;
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_concurrent_puts(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    struct put_job jobs[PUT_THREADS];
    pthread_t th[PUT_THREADS];
    for (int i = 0; i < PUT_THREADS; i++) {
        jobs[i] = (struct put_job){.f = f};
        assert_int_equal(pthread_create(&th[i], NULL, put_many, &jobs[i]), 0);
    }
    int64_t all[PUT_THREADS * PUTS_EACH];
    for (int i = 0; i < PUT_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failed, 0);
        memcpy(all + i * PUTS_EACH, jobs[i].ids, sizeof jobs[i].ids);
    }
    qsort(all, PUT_THREADS * PUTS_EACH, sizeof all[0], cmp_i64);
    for (int i = 1; i < PUT_THREADS * PUTS_EACH; i++)
        assert_true(all[i] > all[i - 1]);
    assert_int_equal(rows_of(f, GRID_PUBLIC), PUT_THREADS * PUTS_EACH);
}

/* --- the deletion log ------------------------------------------------------------------ */

struct seen_log {
    int n, resets;
    struct store_deletion d[64];
};

static void collect(void *ctx, const struct store_deletion *d)
{
    struct seen_log *s = ctx;
    if (!d) {
        s->resets++;
        return;
    }
    assert_true(s->n < 64);
    s->d[s->n++] = *d;
}

/* Looks until n deletions have come (or 50 empty looks). */
static void watch_until(struct fixture *f, void *w, int64_t *cursor, struct seen_log *s, int n)
{
    for (int i = 0; i < 50 && s->n < n; i++)
        OK(store_watch_next(f->st, w, cursor, 20, collect, s, err));
}

static void test_deletion_log(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    assert_value(f, COLUMNS_OF("ipborg_deleted"),
                 "seq bigint NO - | tbl text NO - | id bigint NO - | "
                 "deleted_at timestamp with time zone NO now()");
    for (int i = 0; i < 3; i++)
        put_simple(f, GRID_PUBLIC);
    put_simple(f, GRID_SECRET);
    OK(store_delete(f->st, GRID_PUBLIC, 3, err));   /* before the watch */

    void *w = NULL;
    OK(store_watch_open(f->st, &w, err));
    struct seen_log seen = {0};
    int64_t cursor = -1;
    OK(store_watch_next(f->st, w, &cursor, 0, collect, &seen, err));
    assert_int_equal(cursor, 1);
    assert_int_equal(seen.n, 0);

    /* Deletions through another store (another process), in commit order. */
    char e2[STORE_ERRLEN] = "";
    struct store *other = store_open(f->url, 0, e2);
    assert_non_null(other);
    OK(store_delete(other, GRID_PUBLIC, 2, err));
    OK(store_delete(other, GRID_SECRET, 1, err));
    assert_int_equal(store_delete(other, GRID_SECRET, 1, e2), STORE_NOT_FOUND);
    assert_int_equal(store_delete(other, GRID_PUBLIC, 99, e2), STORE_NOT_FOUND);
    watch_until(f, w, &cursor, &seen, 2);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.d[0].table, GRID_PUBLIC);
    assert_int_equal(seen.d[0].id, 2);
    assert_int_equal(seen.d[0].seq, 2);
    assert_int_equal(seen.d[1].table, GRID_SECRET);
    assert_int_equal(seen.d[1].id, 1);
    assert_int_equal(cursor, 3);
    for (int i = 0; i < 3; i++)
        OK(store_watch_next(f->st, w, &cursor, 10, collect, &seen, err));
    assert_int_equal(seen.n, 2);
    assert_value(f, "SELECT string_agg(seq || ' ' || tbl || ' ' || id, ', ' ORDER BY seq) "
                    "FROM ipborg_deleted",
                 "1 public_grids 3, 2 public_grids 2, 3 secret_grids 1");
    /* The deleted newest id stays taken. */
    assert_int_equal(put_simple(f, GRID_PUBLIC), 4);

    /* The watch's connection is cut: a new one goes on from the cursor. */
    check_exec(f, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                  "datname = current_database() AND pid <> pg_backend_pid()");
    /* The other store's connection was cut too: it fails once, then reconnects. */
    int rc = store_delete(other, GRID_PUBLIC, 1, e2);
    assert_int_equal(rc, STORE_UNAVAILABLE);
    OK(store_delete(other, GRID_PUBLIC, 1, err));
    rc = STORE_OK;
    for (int i = 0; i < 3 && rc == STORE_OK; i++)
        rc = store_watch_next(f->st, w, &cursor, 10, collect, &seen, e2);
    assert_int_equal(rc, STORE_UNAVAILABLE);
    store_watch_close(f->st, w);
    OK(store_watch_open(f->st, &w, err));
    watch_until(f, w, &cursor, &seen, 3);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.d[2].id, 1);
    assert_int_equal(seen.resets, 0);

    /* A log that went backwards: "may have missed some", once. */
    check_exec(f, "DELETE FROM ipborg_deleted");
    for (int i = 0; i < 3; i++)
        OK(store_watch_next(f->st, w, &cursor, 10, collect, &seen, err));
    assert_int_equal(seen.resets, 1);
    assert_int_equal(cursor, 0);
    store_watch_close(f->st, w);
    store_close(other);
}

/* The delete NOTIFYs channel ipborg_deleted, so waiting watchers wake. */
static void test_delete_notifies(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);
    check_exec(f, "LISTEN ipborg_deleted");
    OK(store_delete(f->st, GRID_PUBLIC, 1, err));
    PGnotify *n = NULL;
    for (int i = 0; i < 100 && !n; i++) {   /* delivery is asynchronous: poll */
        check_exec(f, "SELECT 1");
        n = PQnotifies(f->check);
        if (!n)
            usleep(20000);
    }
    assert_non_null(n);
    assert_string_equal(n->relname, "ipborg_deleted");
    PQfreemem(n);
    check_exec(f, "UNLISTEN *");
}

/* The row and its log entry go together: when the log cannot be written,
 * the row stays. */
static void test_delete_is_atomic(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);
    put_simple(f, GRID_PUBLIC);
    check_exec(f, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$BEGIN RAISE EXCEPTION 'log refused'; END$$");
    check_exec(f, "CREATE TRIGGER refuse BEFORE INSERT ON ipborg_deleted "
                  "FOR EACH ROW EXECUTE FUNCTION refuse()");
    char e[STORE_ERRLEN] = "";
    assert_int_equal(store_delete(f->st, GRID_PUBLIC, 2, e), STORE_ERROR);
    assert_non_null(strstr(e, "log refused"));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 2);
    check_exec(f, "DROP TRIGGER refuse ON ipborg_deleted");
    /* The connection is usable again (the transaction was rolled back). */
    OK(store_delete(f->st, GRID_PUBLIC, 2, err));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 1);
    assert_value(f, "SELECT count(*) FROM ipborg_deleted", "1");
}

#define DEL_THREADS 4
#define DELS_EACH 10

struct del_job {
    struct fixture *f;
    int first;
    int failed;
};

static void *delete_many(void *arg)
{
    struct del_job *j = arg;
    char e[STORE_ERRLEN];
    for (int i = 0; i < DELS_EACH; i++)
        if (store_delete(j->f->st, GRID_PUBLIC, j->first + i, e) != STORE_OK)
            j->failed++;
    return NULL;
}

/* Concurrent deletes get distinct, gap-free seqs: the log is a total order. */
static void test_concurrent_deletes(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    for (int i = 0; i < DEL_THREADS * DELS_EACH; i++)
        put_simple(f, GRID_PUBLIC);
    struct del_job jobs[DEL_THREADS];
    pthread_t th[DEL_THREADS];
    for (int i = 0; i < DEL_THREADS; i++) {
        jobs[i] = (struct del_job){.f = f, .first = 1 + i * DELS_EACH};
        assert_int_equal(pthread_create(&th[i], NULL, delete_many, &jobs[i]), 0);
    }
    for (int i = 0; i < DEL_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failed, 0);
    }
    assert_int_equal(rows_of(f, GRID_PUBLIC), 0);
    assert_value(f, "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || min(seq) || ' ' "
                    "|| max(seq) FROM ipborg_deleted", "40 40 1 40");
}

/* A database made before the deletion log gains it. */
static void test_deletion_log_added(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);
    store_close(f->st);
    f->st = NULL;
    check_exec(f, "DROP TABLE ipborg_deleted");
    open_store(f, 0);
    OK(store_delete(f->st, GRID_PUBLIC, 1, err));
    assert_value(f, "SELECT count(*) FROM ipborg_deleted", "1");
}

/* --- outages ----------------------------------------------------------------------------- */

static void test_unreachable(void **state)
{
    (void)state;
    char url[128], err[STORE_ERRLEN] = "";
    snprintf(url, sizeof url, "postgresql://ipborg@127.0.0.1:%d/ipborg", free_port());
    double t0 = now_seconds();
    struct store *st = store_open(url, 0, err);
    double dt = now_seconds() - t0;
    assert_null(st);
    assert_non_null(strstr(err, "PostgreSQL unavailable"));
    print_message("unreachable server: store_open returned after %.3f s: %s\n", dt, err);

    assert_null(store_open("postgresql://127.0.0.1/x?no_such_param=1", 0, err));
    assert_non_null(strstr(err, "invalid PostgreSQL URL"));
}

/* The store's connection is cut, the server "goes away" (PGPORT points
 * nowhere), then comes back: STORE_UNAVAILABLE, then service again. */
static void test_connection_lost(void **state)
{
    struct fixture *f = *state;
    char *saved = getenv("PGPORT") ? strdup(getenv("PGPORT")) : NULL;
    setenv("PGPORT", f->port, 1);
    snprintf(f->url, sizeof f->url, "%s", f->url_noport);
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);

    char sql[256];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = '%s' AND pid <> pg_backend_pid()", f->db);
    PQclear(PQexec(f->check, sql));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
             "AND pid <> pg_backend_pid()", f->db);
    for (int i = 0; i < 100; i++) {   /* termination is asynchronous */
        char *n = check_value(f, sql);
        int gone = strcmp(n, "0") == 0;
        free(n);
        if (gone)
            break;
        usleep(50000);
    }
    char err[STORE_ERRLEN] = "";
    int64_t rows, max_id;
    assert_int_equal(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err), STORE_UNAVAILABLE);
    assert_null(strchr(err, '\n'));

    char port[16];
    snprintf(port, sizeof port, "%d", free_port());
    setenv("PGPORT", port, 1);
    assert_int_equal(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err), STORE_UNAVAILABLE);
    int status = STORE_OK;
    assert_null(store_conn(f->st, &status, err));
    assert_int_equal(status, STORE_UNAVAILABLE);

    setenv("PGPORT", f->port, 1);
    OK(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 1);
    if (saved)
        setenv("PGPORT", saved, 1);
    else
        unsetenv("PGPORT");
    free(saved);
}

/* A lock held elsewhere: lock_timeout answers STORE_UNAVAILABLE, no hang. */
static void test_lock_timeout(void **state)
{
    struct fixture *f = *state;
    open_store(f, 0);
    put_simple(f, GRID_PUBLIC);
    check_exec(f, "BEGIN");
    check_exec(f, "LOCK TABLE public_grids IN ACCESS EXCLUSIVE MODE");
    char err[STORE_ERRLEN] = "";
    int64_t rows, max_id;
    double t0 = now_seconds();
    assert_int_equal(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err), STORE_UNAVAILABLE);
    print_message("blocked query gave up after %.1f s: %s\n", now_seconds() - t0, err);
    check_exec(f, "ROLLBACK");
    OK(store_count(f->st, GRID_PUBLIC, &rows, &max_id, err));
    assert_int_equal(rows, 1);
}

/* --- main --------------------------------------------------------------------------------- */

static void test_requires_server(void **state)
{
    (void)state;
    fail_msg("IPBORG_TEST_PG_URL is not set: run this test through `make test`, which "
             "starts a throw-away PostgreSQL server (scripts/pg-test.sh start DIR prints "
             "the URL to put there)");
}

int main(void)
{
    base_url = getenv("IPBORG_TEST_PG_URL");
    if (!base_url || !*base_url) {
        const struct CMUnitTest missing[] = {cmocka_unit_test(test_requires_server)};
        return cmocka_run_group_tests(missing, NULL, NULL);
    }
    admin = PQconnectdb(base_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "test_store_pg: cannot connect to IPBORG_TEST_PG_URL=%s: %s",
                base_url, PQerrorMessage(admin));
        const struct CMUnitTest missing[] = {cmocka_unit_test(test_requires_server)};
        PQfinish(admin);
        return cmocka_run_group_tests(missing, NULL, NULL);
    }
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_schema_created),
        T(test_legacy_schema),
        T(test_schema_concurrent_creation),
        T(test_url_parameters),
        T(test_put_get_roundtrip),
        T(test_put_bad_json),
        T(test_count_exists_nth),
        T(test_random_id),
        T(test_meta_set_if_absent),
        T(test_salts),
        T(test_salts_of_old_database),
        T(test_readonly),
        T(test_load_escaping),
        T(test_load_replace),
        T(test_load_sets_sequences),
        T(test_load_bad_rows),
        T(test_scan),
        T(test_concurrent_puts),
        T(test_unreachable),
        T(test_connection_lost),
        T(test_lock_timeout),
        T(test_deletion_log),
        T(test_delete_notifies),
        T(test_delete_is_atomic),
        T(test_concurrent_deletes),
        T(test_deletion_log_added),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(admin);
    return failed;
}
