/* test_migrate.c -- ipborg migrate against real databases, no mocks.
 *
 * SQLite cases run on copies of vectors/legacy/legacy_small.db in a fresh
 * temporary directory per test. PostgreSQL cases need a server:
 * IPBORG_TEST_PG_URL (set by `make test`, which starts a throw-away one);
 * each such test creates a database of its own and drops it afterwards.
 * Without IPBORG_TEST_PG_URL those tests fail, never skip silently. */
#include "unit.h"

#include "migrate.h"
#include "row.h"
#include "store.h"
#include "store_backend.h"
#include "store_fixture.h"

#include <ftw.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEGACY "legacy/legacy_small.db"
#define EXPECTED "legacy/legacy_small.expected.jsonl"

struct fixture {
    char dir[64];
    char *pg_dbs[8];        /* PostgreSQL databases made by this test */
    int n_pg;
};

/* Output of one migrate_run. */
struct result {
    int rc;
    char *out, *err;
};

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void unset_salts(void)
{
    unsetenv("HASHIDS_PUBLIC_SALT");
    unsetenv("HASHIDS_SECRET_SALT");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ipborg-migrate-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    unset_salts();
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void pg_drop(const char *db);

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < f->n_pg; i++) {
        pg_drop(f->pg_dbs[i]);
        free(f->pg_dbs[i]);
    }
    unset_salts();
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------ */

static char *path_in(struct fixture *f, const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
    return p;
}

static char *url_of(const char *path)
{
    char *u = NULL;
    assert_true(asprintf(&u, "sqlite:///%s", path) > 0);   /* path is absolute */
    return u;
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *data = read_file(from, &n);
    FILE *o = fopen(to, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(data, 1, n, o), n);
    assert_int_equal(fclose(o), 0);
    free(data);
}

/* A copy of the legacy file in the test's directory; its URL. */
static char *legacy_copy(struct fixture *f, const char *name, char **path_out)
{
    char *p = path_in(f, name);
    copy_file(vector_path(LEGACY), p);
    char *u = url_of(p);
    if (path_out)
        *path_out = p;
    else
        free(p);
    return u;
}

static struct result migrate(const char *from, const char *to, int replace)
{
    struct result r = {0};
    size_t n1, n2;
    FILE *out = open_memstream(&r.out, &n1);
    FILE *err = open_memstream(&r.err, &n2);
    assert_non_null(out);
    assert_non_null(err);
    r.rc = migrate_run(from, to, replace, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void assert_ok(const struct result *r)
{
    if (r->rc != 0)
        fail_msg("migrate failed (%d): out=[%s] err=[%s]", r->rc, r->out, r->err);
    assert_non_null(strstr(r->out, "verification: OK"));
}

/* Which path verified table: "fast path" (the target against the copy's
 * digest) or "row by row". */
static void assert_path(const struct result *r, const char *table, const char *path)
{
    char want[96];
    snprintf(want, sizeof want, "verification: %s: %s", table, path);
    if (!strstr(r->out, want))
        fail_msg("no [%s] on out: [%s]", want, r->out);
}

/* A failure: exit 1, one line "ipborg migrate: ..." containing each of the
 * NULL-terminated words. */
static void assert_refused(const struct result *r, ...)
{
    if (r->rc != 1)
        fail_msg("expected exit 1, got %d: out=[%s] err=[%s]", r->rc, r->out, r->err);
    if (strncmp(r->err, "ipborg migrate: ", 16) != 0)
        fail_msg("message does not start with 'ipborg migrate: ': [%s]", r->err);
    va_list ap;
    va_start(ap, r);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        if (!strstr(r->err, w))
            fail_msg("message lacks '%s': [%s]", w, r->err);
    va_end(ap);
}

static struct store *open_store(const char *url, int flags)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(url, flags, err);
    if (!st)
        fail_msg("store_open %s: %s", url, err);
    return st;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static json_t *parse_or_null(const char *text)
{
    if (!text)
        return json_null();
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("stored JSON does not parse: %s (%s)", e.text, text);
    return v;
}

static void assert_json_col(const json_t *want, const char *got, const char *col,
                            int64_t id)
{
    json_t *g = parse_or_null(got);
    if (!json_equal((json_t *)want, g))
        fail_msg("id %lld: %s differs", (long long)id, col);
    json_decref(g);
}

/* Every row of legacy_small.expected.jsonl is in the store, with equal values;
 * and the store holds no other rows. */
static void check_expected_rows(struct store *st)
{
    char *data = read_vector(EXPECTED, NULL);
    int64_t seen[GRID_TABLES] = {0, 0};
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *row = json_loads(line, 0, &e);
        assert_non_null(row);
        const char *table = json_string_value(json_object_get(row, "table"));
        enum grid_table t = strcmp(table, "secret_grids") == 0 ? GRID_SECRET : GRID_PUBLIC;
        int64_t id = json_integer_value(json_object_get(row, "id"));
        struct grid_record rec = {0};
        char err[STORE_ERRLEN] = "";
        int rc = store_get(st, t, id, &rec, err);
        if (rc != STORE_OK)
            fail_msg("%s id %lld: store_get %d %s", table, (long long)id, rc, err);
        assert_int_equal(rec.id, id);
        assert_string_equal(rec.ipb_version,
                            json_string_value(json_object_get(row, "ipb_version")));
        assert_string_equal(rec.ipb_class, json_string_value(json_object_get(row, "ipb_class")));
        assert_int_equal(rec.secret, json_is_true(json_object_get(row, "secret")));
        assert_json_col(json_object_get(row, "python_version"), rec.python_version,
                        "python_version", id);
        assert_json_col(json_object_get(row, "grid_data"), rec.grid_data, "grid_data", id);
        assert_json_col(json_object_get(row, "code_cells"), rec.code_cells, "code_cells", id);
        grid_record_clear(&rec);
        json_decref(row);
        seen[t]++;
    }
    free(data);
    for (int t = 0; t < GRID_TABLES; t++) {
        int64_t rows = 0, max_id = 0;
        char err[STORE_ERRLEN] = "";
        assert_int_equal(store_count(st, (enum grid_table)t, &rows, &max_id, err), STORE_OK);
        assert_int_equal(rows, seen[t]);
    }
}

/* The id the next put gets in table t (the row stays). */
static int64_t next_id(struct store *st, enum grid_table t)
{
    struct grid_record rec = {
        .ipb_version = "1.9.0", .python_version = "[3, 11, 7, \"final\", 0]",
        .grid_data = "{\"lines_on\": true, \"width\": 1, \"height\": 1, "
                     "\"blocks\": [[[1, 2, 3, 20]]]}",
        .code_cells = NULL, .ipb_class = "BlockGrid", .secret = t == GRID_SECRET};
    int64_t id = 0;
    char err[STORE_ERRLEN] = "";
    int rc = store_put(st, t, &rec, &id, err);
    if (rc != STORE_OK)
        fail_msg("store_put: %s", err);
    return id;
}

/* Everything a store holds, as one string: every row of both tables in id
 * order (all columns, as the backend returns them) and the salts. For
 * "unchanged" checks. */
struct dump {
    char *text;
    size_t len;
    FILE *f;
};

static int dump_row(void *ctx, const struct grid_record *r, char *err)
{
    (void)err;
    struct dump *d = ctx;
    fprintf(d->f, "%lld|%s|%s|%s|%s|%s|%d|%s\n", (long long)r->id,
            r->ipb_version ? r->ipb_version : "(null)",
            r->python_version ? r->python_version : "(null)",
            r->grid_data ? r->grid_data : "(null)", r->code_cells ? r->code_cells : "(null)",
            r->ipb_class ? r->ipb_class : "(null)", r->secret,
            r->created_at ? r->created_at : "(null)");
    return 0;
}

static char *dump_store(const char *url)
{
    struct store *st = open_store(url, STORE_READONLY);
    struct dump d = {0};
    d.f = open_memstream(&d.text, &d.len);
    char err[STORE_ERRLEN] = "";
    void *conn = store_conn(st, NULL, err);
    assert_non_null(conn);
    const struct store_ops *ops = store_backend(st);
    for (int t = 0; t < GRID_TABLES; t++) {
        fprintf(d.f, "[%s]\n", store_table_name((enum grid_table)t));
        assert_int_equal(fixture_scan(st, (enum grid_table)t, dump_row, &d, err), STORE_OK);
    }
    const char *keys[] = {META_PUBLIC_SALT, META_SECRET_SALT};
    for (int k = 0; k < 2; k++) {
        char *v = NULL;
        int rc = ops->meta_get(conn, keys[k], &v, err);
        assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
        fprintf(d.f, "%s=%s\n", keys[k], v ? v : "(none)");
        free(v);
    }
    fclose(d.f);
    store_close(st);
    return d.text;
}

static char *stored_meta(const char *url, const char *key)
{
    struct store *st = open_store(url, STORE_READONLY);
    char err[STORE_ERRLEN] = "";
    void *conn = store_conn(st, NULL, err);
    assert_non_null(conn);
    char *v = NULL;
    int rc = store_backend(st)->meta_get(conn, key, &v, err);
    assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
    store_close(st);
    return v;
}

/* Stores salts pub/sec in the database at url (read-write, through the
 * salt resolution every subcommand uses). */
static void give_salts(const char *url, const char *pub, const char *sec)
{
    struct store *st = open_store(url, 0);
    char *p = NULL, *s = NULL, err[STORE_ERRLEN] = "";
    int rc = store_resolve_salts(st, pub, sec, 0, &p, &s, err);
    if (rc != STORE_OK)
        fail_msg("store_resolve_salts: %s", err);
    free(p);
    free(s);
    store_close(st);
}

/* An empty ipborg database (tables created, no grids, no salts). */
static char *empty_sqlite(struct fixture *f, const char *name)
{
    char *p = path_in(f, name);
    char *u = url_of(p);
    free(p);
    store_close(open_store(u, 0));
    return u;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* --- row_check ------------------------------------------------------------- */

static void test_check_row(void **state)
{
    (void)state;
    struct grid_record in = {
        .id = 3, .ipb_version = "1.7.0", .python_version = "[2, 7, 6, \"final\", 0]",
        .grid_data = "{\"width\": 1}", .code_cells = "null", .ipb_class = "BlockGrid",
        .secret = -1};
    struct grid_record out;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(row_check(GRID_SECRET, &in, &out, err), 0);
    assert_null(out.code_cells);
    assert_int_equal(out.secret, 1);
    assert_ptr_equal(out.grid_data, in.grid_data);   /* passed on as it is */
    assert_int_equal(row_check(GRID_PUBLIC, &in, &out, err), 0);
    assert_int_equal(out.secret, 0);
    in.code_cells = "[\"a = 1\"]";
    assert_int_equal(row_check(GRID_PUBLIC, &in, &out, err), 0);
    assert_ptr_equal(out.code_cells, in.code_cells);
    const char *times[] = {"2024-01-02T10:00:01Z", "2024-01-02T10:00:01.123456Z",
                           "2024-01-02 10:00:01.5+00:00", "2024-01-02T10:00:01"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        in.created_at = (char *)times[i];
        if (row_check(GRID_PUBLIC, &in, &out, err) != 0)
            fail_msg("%s refused: %s", times[i], err);
    }
    in.created_at = NULL;

    struct {
        const char *col, *value, *want;
    } bad[] = {
        {"grid_data", "{\"width\": ", "grid_data is not valid JSON"},
        {"grid_data", NULL, "grid_data is NULL"},
        {"grid_data", "null", "grid_data is JSON null"},
        {"grid_data", "\"a\\u0000b\"", "\\u0000"},
        {"grid_data", "[\"\\ud83d\"]", "grid_data holds a lone surrogate"},
        {"grid_data", "[\"\\udc00\"]", "grid_data holds a lone surrogate"},
        {"grid_data", "[\"\\ud83d\\u0041\"]", "grid_data holds a lone surrogate"},
        {"grid_data", "[1] [2]", "grid_data is not valid JSON"},
        {"grid_data", "[01]", "grid_data is not valid JSON"},
        {"grid_data", "[1.]", "grid_data is not valid JSON"},
        {"grid_data", "{\"a\" 1}", "grid_data is not valid JSON"},
        {"grid_data", "[\"tab\there\"]", "grid_data is not valid JSON"},
        {"grid_data", "[tru]", "grid_data is not valid JSON"},
        {"grid_data", "[\"\\x\"]", "grid_data is not valid JSON"},
        {"grid_data", "[\"\xff\"]", "grid_data is not valid JSON"},
        {"python_version", "", "python_version is not valid JSON"},
        {"code_cells", "[1,", "code_cells is not valid JSON"},
        {"ipb_version", NULL, "ipb_version is NULL"},
        {"ipb_version", "1.\xc0\x80", "ipb_version is not valid UTF-8"},
        {"ipb_class", NULL, "ipb_class is NULL"},
        {"created_at", "yesterday", "created_at is not a UTC time"},
        {"created_at", "2024-01-02T10:00:01+02:00", "created_at is not a UTC time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct grid_record r = in;
        if (strcmp(bad[i].col, "grid_data") == 0)
            r.grid_data = (char *)bad[i].value;
        else if (strcmp(bad[i].col, "python_version") == 0)
            r.python_version = (char *)bad[i].value;
        else if (strcmp(bad[i].col, "code_cells") == 0)
            r.code_cells = (char *)bad[i].value;
        else if (strcmp(bad[i].col, "created_at") == 0)
            r.created_at = (char *)bad[i].value;
        else if (strcmp(bad[i].col, "ipb_version") == 0)
            r.ipb_version = (char *)bad[i].value;
        else
            r.ipb_class = (char *)bad[i].value;
        err[0] = '\0';
        assert_int_equal(row_check(GRID_PUBLIC, &r, &out, err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
    }
}

/* Found by fuzz/fuzz_migrate_row: the reason quoted a created_at with a
 * newline as it was, so the one-line message became two lines. */
static void test_check_row_one_line(void **state)
{
    (void)state;
    struct grid_record in = {
        .id = 1, .ipb_version = "1.7.0", .python_version = "[2, 7]",
        .grid_data = "{\"width\": 1}", .code_cells = NULL, .ipb_class = "BlockGrid",
        .secret = 0, .created_at = "2014-03-01\n12:00:00\r\x1b[31m\xc3",
    };
    struct grid_record out;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(row_check(GRID_PUBLIC, &in, &out, err), -1);
    assert_non_null(strstr(err, "created_at is not a UTC time"));
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            fail_msg("control or non-ASCII byte 0x%02x in '%s'", (unsigned char)*c, err);
}

/* --- sqlite -> sqlite ------------------------------------------------------------- */

static void test_legacy_to_sqlite(void **state)
{
    struct fixture *f = *state;
    char *src_path;
    char *src = legacy_copy(f, "legacy.db", &src_path);
    size_t n0, n1;
    char *before = read_file(src_path, &n0);
    char *dst_path = path_in(f, "new.db");
    char *dst = url_of(dst_path);

    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    assert_non_null(strstr(r.out, "public_grids: 60 rows copied"));
    assert_non_null(strstr(r.out, "secret_grids: 25 rows copied"));

    /* The source is byte-identical and gained no journal or WAL file. */
    char *after = read_file(src_path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    char *side = NULL;
    assert_true(asprintf(&side, "%s-wal", src_path) > 0);
    assert_false(file_exists(side));
    free(side);

    struct store *st = open_store(dst, 0);
    check_expected_rows(st);
    assert_int_equal(next_id(st, GRID_PUBLIC), 90);
    assert_int_equal(next_id(st, GRID_SECRET), 45);
    store_close(st);

    /* An old file has no salts: neither has the target. */
    char *salt = stored_meta(dst, META_PUBLIC_SALT);
    assert_null(salt);

    result_free(&r);
    free(before);
    free(after);
    free(src_path);
    free(src);
    free(dst_path);
    free(dst);
}

static void test_refuses_nonempty_target(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *dst = empty_sqlite(f, "target.db");
    struct store *st = open_store(dst, 0);
    next_id(st, GRID_SECRET);
    store_close(st);
    char *before = dump_store(dst);

    struct result r = migrate(src, dst, 0);
    assert_refused(&r, "already holds 1 grids", "--replace", NULL);
    char *after = dump_store(dst);
    assert_string_equal(before, after);

    result_free(&r);
    free(before);
    free(after);
    free(src);
    free(dst);
}

static void test_replace(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *dst = empty_sqlite(f, "target.db");
    struct store *st = open_store(dst, 0);
    for (int i = 0; i < 100; i++)       /* ids beyond the legacy file's max */
        next_id(st, GRID_PUBLIC);
    store_close(st);

    struct result r = migrate(src, dst, 1);
    assert_ok(&r);
    st = open_store(dst, 0);
    check_expected_rows(st);
    assert_int_equal(next_id(st, GRID_PUBLIC), 90);
    assert_int_equal(next_id(st, GRID_SECRET), 45);
    store_close(st);
    result_free(&r);

    /* Migrating again over a migrated target: refused, then replaced. */
    char *before = dump_store(dst);
    r = migrate(src, dst, 0);
    assert_refused(&r, "already holds", NULL);
    char *after = dump_store(dst);
    assert_string_equal(before, after);
    result_free(&r);
    r = migrate(src, dst, 1);
    assert_ok(&r);
    result_free(&r);

    free(before);
    free(after);
    free(src);
    free(dst);
}

/* A copy of the legacy file with one row changed by sql. */
static char *broken_legacy(struct fixture *f, const char *sql)
{
    char *path;
    char *url = legacy_copy(f, "broken.db", &path);
    sql_exec(path, sql);
    free(path);
    return url;
}

static void test_broken_row_writes_nothing(void **state)
{
    struct fixture *f = *state;
    char *src = broken_legacy(f, "UPDATE public_grids SET grid_data = "
                                 "'{\"lines_on\": true, \"width\": 2' WHERE id = 16");
    char *dst = empty_sqlite(f, "target.db");
    char *before = dump_store(dst);
    struct result r = migrate(src, dst, 0);
    assert_refused(&r, "public_grids id 16", "grid_data is not valid JSON", NULL);
    assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);   /* one line */
    char *after = dump_store(dst);
    assert_string_equal(before, after);
    result_free(&r);
    free(after);

    /* With --replace over a target holding other grids: the drop is undone. */
    char *good = legacy_copy(f, "good.db", NULL);
    char *old = empty_sqlite(f, "old.db");
    r = migrate(good, old, 0);
    assert_ok(&r);
    result_free(&r);
    struct store *st = open_store(old, 0);
    next_id(st, GRID_SECRET);
    store_close(st);
    char *old_before = dump_store(old);
    r = migrate(src, old, 1);
    assert_refused(&r, "public_grids id 16", "grid_data", NULL);
    char *old_after = dump_store(old);
    assert_string_equal(old_before, old_after);
    result_free(&r);

    free(old_before);
    free(old_after);
    free(good);
    free(old);
    free(before);
    free(src);
    free(dst);
}

static void test_broken_rows_named(void **state)
{
    struct fixture *f = *state;
    struct {
        const char *sql, *want1, *want2;
    } cases[] = {
        {"UPDATE secret_grids SET ipb_version = NULL WHERE id = 12", "secret_grids id 12",
         "ipb_version is NULL"},
        {"UPDATE public_grids SET python_version = NULL WHERE id = 5", "public_grids id 5",
         "python_version is NULL"},
        {"UPDATE secret_grids SET code_cells = '[\"x\\u0000\"]' WHERE id = 18",
         "secret_grids id 18", "\\u0000"},
        {"UPDATE public_grids SET code_cells = '[\"\\ud800\"]' WHERE id = 89",
         "public_grids id 89", "code_cells holds a lone surrogate"},
        {"UPDATE secret_grids SET ipb_class = NULL WHERE id = 44", "secret_grids id 44",
         "ipb_class is NULL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *src = broken_legacy(f, cases[i].sql);
        char *dst = empty_sqlite(f, "t.db");
        struct result r = migrate(src, dst, 1);
        assert_refused(&r, cases[i].want1, cases[i].want2, NULL);
        char *d = dump_store(dst);
        assert_string_equal(d, "[public_grids]\n[secret_grids]\n"
                               "hashids_public_salt=(none)\nhashids_secret_salt=(none)\n");
        free(d);
        result_free(&r);
        free(src);
        free(dst);
    }
}

/* NULL secret, code_cells 'null' and NULL: normalised, and the verification
 * treats them as equal. */
static void test_normalised_columns(void **state)
{
    struct fixture *f = *state;
    char *src = broken_legacy(f, "UPDATE public_grids SET secret = NULL WHERE id = 1;"
                                 "UPDATE secret_grids SET secret = NULL WHERE id = 1;");
    char *dst = empty_sqlite(f, "t.db");
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    struct store *st = open_store(dst, 0);
    check_expected_rows(st);
    struct grid_record rec = {0};
    char err[STORE_ERRLEN];
    assert_int_equal(store_get(st, GRID_PUBLIC, 7, &rec, err), STORE_OK);   /* 'null' */
    assert_null(rec.code_cells);
    grid_record_clear(&rec);
    store_close(st);
    result_free(&r);
    free(src);
    free(dst);
}

static void test_empty_source(void **state)
{
    struct fixture *f = *state;
    char *src = empty_sqlite(f, "empty.db");
    char *dst = path_in(f, "t.db");
    char *dst_url = url_of(dst);
    struct result r = migrate(src, dst_url, 0);
    assert_ok(&r);
    assert_non_null(strstr(r.out, "public_grids: 0 rows copied"));
    struct store *st = open_store(dst_url, 0);
    assert_int_equal(next_id(st, GRID_PUBLIC), 1);
    assert_int_equal(next_id(st, GRID_SECRET), 1);
    store_close(st);
    result_free(&r);

    /* An old file whose tables are empty. */
    char *old = broken_legacy(f, "DELETE FROM public_grids; DELETE FROM secret_grids;");
    char *dst2 = empty_sqlite(f, "t2.db");
    r = migrate(old, dst2, 0);
    assert_ok(&r);
    st = open_store(dst2, 0);
    assert_int_equal(next_id(st, GRID_PUBLIC), 1);
    store_close(st);
    result_free(&r);

    free(old);
    free(dst2);
    free(src);
    free(dst);
    free(dst_url);
}

static void test_salts(void **state)
{
    struct fixture *f = *state;
    /* Stored salts come along. */
    char *src = legacy_copy(f, "legacy.db", NULL);
    give_salts(src, "public", "secret");
    char *dst = empty_sqlite(f, "t.db");
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    char *p = stored_meta(dst, META_PUBLIC_SALT), *s = stored_meta(dst, META_SECRET_SALT);
    assert_non_null(p);
    assert_non_null(s);
    assert_string_equal(p, "public");
    assert_string_equal(s, "secret");
    free(p);
    free(s);
    result_free(&r);

    /* The environment's salts, equal to the stored ones: fine. */
    setenv("HASHIDS_PUBLIC_SALT", "public", 1);
    setenv("HASHIDS_SECRET_SALT", "secret", 1);
    char *dst2 = empty_sqlite(f, "t2.db");
    r = migrate(src, dst2, 0);
    assert_ok(&r);
    result_free(&r);

    /* Different ones: refused, nothing written. */
    setenv("HASHIDS_PUBLIC_SALT", "other", 1);
    char *dst3 = empty_sqlite(f, "t3.db");
    char *before = dump_store(dst3);
    r = migrate(src, dst3, 0);
    assert_refused(&r, "HASHIDS_PUBLIC_SALT", "differ", NULL);
    char *after = dump_store(dst3);
    assert_string_equal(before, after);
    result_free(&r);
    free(before);
    free(after);

    /* Only one of the two: refused. */
    unsetenv("HASHIDS_SECRET_SALT");
    r = migrate(src, dst3, 0);
    assert_refused(&r, "HASHIDS_SECRET_SALT", NULL);
    result_free(&r);

    /* An old file without salts + the environment's: stored in the target. */
    char *old = legacy_copy(f, "old.db", NULL);
    setenv("HASHIDS_PUBLIC_SALT", "pub-env", 1);
    setenv("HASHIDS_SECRET_SALT", "sec-env", 1);
    r = migrate(old, dst3, 0);
    assert_ok(&r);
    p = stored_meta(dst3, META_PUBLIC_SALT);
    s = stored_meta(dst3, META_SECRET_SALT);
    assert_string_equal(p, "pub-env");
    assert_string_equal(s, "sec-env");
    free(p);
    free(s);
    result_free(&r);

    /* A target that already stores other salts: refused without --replace;
     * with it, the target becomes what the source is, salts included. */
    unset_salts();
    char *dst4 = empty_sqlite(f, "t4.db");
    give_salts(dst4, "x", "y");
    r = migrate(src, dst4, 0);
    assert_refused(&r, "salts", NULL);
    result_free(&r);
    r = migrate(src, dst4, 1);
    assert_ok(&r);
    result_free(&r);
    p = stored_meta(dst4, META_PUBLIC_SALT);
    assert_string_equal(p, "public");
    free(p);
    /* ... and an old file (no salts) with --replace: the target ends without
     * salts, and the run ends saying what to set before serving. */
    r = migrate(old, dst4, 1);
    assert_ok(&r);
    if (!strstr(r.err, "stores no hash-ID salts") || !strstr(r.err, "HASHIDS_PUBLIC_SALT"))
        fail_msg("no line about the missing salts: [%s]", r.err);
    result_free(&r);
    assert_null(stored_meta(dst4, META_PUBLIC_SALT));
    assert_null(stored_meta(dst4, META_SECRET_SALT));

    free(old);
    free(src);
    free(dst);
    free(dst2);
    free(dst3);
    free(dst4);
}

static void test_bad_source(void **state)
{
    struct fixture *f = *state;
    char *path = path_in(f, "notes.txt");
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database, just some text\n", o);
    fclose(o);
    size_t n0, n1;
    char *before = read_file(path, &n0);
    char *src = url_of(path);
    char *dst_path = path_in(f, "t.db");
    char *dst = url_of(dst_path);
    struct result r = migrate(src, dst, 0);
    assert_refused(&r, "source", NULL);
    char *after = read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    result_free(&r);

    /* A missing source file is not created. */
    char *missing_path = path_in(f, "missing.db");
    char *missing = url_of(missing_path);
    r = migrate(missing, dst, 0);
    assert_refused(&r, "source", NULL);
    assert_false(file_exists(missing_path));
    result_free(&r);

    /* A password never shows in the message. */
    r = migrate("postgresql://u:hunter2@127.0.0.1:1/x?sslmode=disable&password=hunter3", dst,
                0);
    assert_refused(&r, "source", "postgresql://u:***@127.0.0.1:1/x", NULL);
    if (strstr(r.err, "hunter2") || strstr(r.err, "hunter3"))
        fail_msg("password shown: %s", r.err);
    result_free(&r);

    /* Not a database URL at all. */
    r = migrate("mysql://x/y", dst, 0);
    assert_refused(&r, "source", NULL);
    result_free(&r);

    free(missing_path);
    free(missing);
    free(before);
    free(after);
    free(path);
    free(src);
    free(dst_path);
    free(dst);
}

static void test_same_database(void **state)
{
    struct fixture *f = *state;
    char *path;
    char *src = legacy_copy(f, "legacy.db", &path);
    size_t n0, n1;
    char *before = read_file(path, &n0);
    struct result r = migrate(src, src, 1);
    assert_refused(&r, "same database", NULL);
    result_free(&r);

    /* The same file under another path. */
    char *other = NULL;
    assert_true(asprintf(&other, "sqlite:///%s/./legacy.db", f->dir) > 0);
    r = migrate(src, other, 1);
    assert_refused(&r, "same database", NULL);
    result_free(&r);
    char *link = path_in(f, "link.db");
    assert_int_equal(symlink(path, link), 0);
    char *link_url = url_of(link);
    r = migrate(link_url, src, 1);
    assert_refused(&r, "same database", NULL);
    result_free(&r);

    char *after = read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);

    r = migrate("postgresql://u@db.example:5432/grids",
                "postgres://u@db.example/grids?sslmode=disable", 1);
    assert_refused(&r, "same database", NULL);
    result_free(&r);

    free(link);
    free(link_url);
    free(other);
    free(before);
    free(after);
    free(path);
    free(src);
}

/* Many rows: the copy streams, shows progress once past a second, and the
 * sequences end right. Ids with gaps, some created_at values, some not. */
static void test_many_rows(void **state)
{
    struct fixture *f = *state;
    char *path = path_in(f, "many.db");
    char *src = url_of(path);
    store_close(open_store(src, 0));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
        "INSERT INTO public_grids(id, ipb_version, python_version, grid_data, secret, "
        "code_cells, ipb_class, created_at) VALUES(?1, '1.9.0', '[3, 11, 7, \"final\", 0]', "
        "?2, 0, ?3, 'BlockGrid', ?4)", -1, &s, NULL), SQLITE_OK);
    const int n = 60000;
    for (int i = 1; i <= n; i++) {
        char grid[256], cells[64], ts[64];
        snprintf(grid, sizeof grid, "{\"lines_on\": true, \"width\": 2, \"height\": 1, "
                 "\"blocks\": [[[%d, %d, 0, 20], [1.5e1, 0, 0, 20]]], \"\\u00e9\": %d}",
                 i % 256, (i * 7) % 256, i);
        snprintf(cells, sizeof cells, "[\"grid[0, 0] = (%d, 0, 0)\"]", i);
        snprintf(ts, sizeof ts, "2024-01-%02dT10:00:%02d.%03dZ", 1 + i % 28, i % 60, i % 1000);
        sqlite3_bind_int64(s, 1, 3LL * i);
        sqlite3_bind_text(s, 2, grid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, i % 3 ? cells : "null", -1, SQLITE_TRANSIENT);
        if (i % 2)
            sqlite3_bind_text(s, 4, ts, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(s, 4);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    char *dst = empty_sqlite(f, "t.db");
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    assert_non_null(strstr(r.out, "public_grids: 60000 rows copied"));
    assert_non_null(strstr(r.out, "rows/s"));
    /* Progress lines appear once the copy has run for a second. */
    const char *in = strstr(r.out, " rows in ");
    assert_non_null(in);
    double secs = atof(in + strlen(" rows in "));
    if (secs > 1.5 && !strstr(r.err, "ipborg migrate: copying: "))
        fail_msg("a %.2f s copy showed no progress: [%s]", secs, r.err);
    if (getenv("IPBORG_TEST_VERBOSE"))
        fprintf(stderr, "%s%s", r.out, r.err);
    struct store *st = open_store(dst, 0);
    struct grid_record rec = {0};
    char err[STORE_ERRLEN];
    assert_int_equal(store_get(st, GRID_PUBLIC, 3, &rec, err), STORE_OK);
    assert_non_null(rec.created_at);
    assert_string_equal(rec.created_at, "2024-01-02T10:00:01.001Z");
    grid_record_clear(&rec);
    assert_int_equal(next_id(st, GRID_PUBLIC), 3LL * n + 1);
    assert_int_equal(next_id(st, GRID_SECRET), 1);
    store_close(st);
    result_free(&r);
    free(path);
    free(src);
    free(dst);
}

/* Verification catches a target that does not hold what was copied: here a
 * trigger in the target changes, adds or drops a row during the load. */
static void verify_fails(struct fixture *f, const char *trigger, const char *want)
{
    char *src = broken_legacy(f, "ALTER TABLE secret_grids ADD COLUMN created_at TEXT;"
                                 "UPDATE secret_grids SET created_at = "
                                 "'2015-03-1' || (id % 10) || 'T12:00:00.250Z';");
    static int n;
    char name[32];
    snprintf(name, sizeof name, "verify%d.db", ++n);
    char *path = path_in(f, name);
    char *dst = url_of(path);
    store_close(open_store(dst, 0));
    sql_exec(path, trigger);
    struct result r = migrate(src, dst, 0);
    assert_refused(&r, "verification failed", want, NULL);
    if (!strstr(r.out, "verification: FAILED"))
        fail_msg("no FAILED on out: [%s]", r.out);
    /* The copy's digest disagreed, and the row-by-row comparison named the row. */
    if (!strstr(r.out, ": row by row (") || strstr(r.out, "the digests differ"))
        fail_msg("the fallback did not decide: [%s]", r.out);
    result_free(&r);
    free(path);
    free(src);
    free(dst);
}

static void test_verification_catches_differences(void **state)
{
    struct fixture *f = *state;
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON public_grids WHEN new.id = 5 BEGIN "
                    "UPDATE public_grids SET grid_data = '{\"width\": 1}' WHERE id = 5; END",
                 "public_grids id 5: grid_data differs");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON public_grids WHEN new.id = 7 BEGIN "
                    "UPDATE public_grids SET code_cells = '[]' WHERE id = 7; END",
                 "public_grids id 7: code_cells differs");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON secret_grids WHEN new.id = 9 BEGIN "
                    "INSERT INTO secret_grids SELECT 10, ipb_version, python_version, "
                    "grid_data, secret, code_cells, ipb_class, created_at FROM secret_grids "
                    "WHERE id = 9; END",
                 "secret_grids id 10 is in the target but not in the source");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON secret_grids WHEN new.id = 44 BEGIN "
                    "INSERT INTO secret_grids SELECT 45, ipb_version, python_version, "
                    "grid_data, secret, code_cells, ipb_class, created_at FROM secret_grids "
                    "WHERE id = 44; END",
                 "secret_grids id 45 is in the target but not in the source");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON public_grids WHEN new.id = 89 BEGIN "
                    "DELETE FROM public_grids WHERE id = 89; END",
                 "public_grids id 89 is missing from the target");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON secret_grids WHEN new.id = 17 BEGIN "
                    "UPDATE secret_grids SET created_at = '2020-01-01T00:00:00Z' "
                    "WHERE id = 17; END",
                 "secret_grids id 17: created_at differs");
    verify_fails(f, "CREATE TRIGGER t AFTER INSERT ON secret_grids WHEN new.id = 1 BEGIN "
                    "UPDATE secret_grids SET secret = 0 WHERE id = 1; END",
                 "secret_grids id 1: secret differs");
}

/* A clean migration verifies each table from the copy's digest, scanning the
 * target only: with no created_at in the source (legacy), and with one in
 * every row. */
static void test_verification_fast_path(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *dst_path = path_in(f, "fast.db");
    char *dst = url_of(dst_path);
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    assert_path(&r, "public_grids", "fast path");
    assert_path(&r, "secret_grids", "fast path");
    assert_null(strstr(r.out, "row by row"));
    assert_non_null(strstr(r.out, "verification: public_grids: 60 rows in source and target, "
                                  "digest "));
    result_free(&r);

    /* The target now has created_at everywhere: copied on, all rows timed. */
    char *again = empty_sqlite(f, "fast2.db");
    r = migrate(dst, again, 0);
    assert_ok(&r);
    assert_path(&r, "public_grids", "fast path");
    assert_path(&r, "secret_grids", "fast path");
    assert_null(strstr(r.out, "row by row"));
    result_free(&r);
    free(again);
    free(dst);
    free(dst_path);
    free(src);
}

/* created_at in some rows of a table but not all: the rows without keep none
 * in the target (no default fills them in), so both tables verify from the
 * digest, created_at included. */
static void test_verification_mixed_created_at(void **state)
{
    struct fixture *f = *state;
    char *src = broken_legacy(f, "ALTER TABLE secret_grids ADD COLUMN created_at TEXT;"
                                 "UPDATE secret_grids SET created_at = "
                                 "'2015-03-1' || (id % 10) || 'T12:00:00.250Z' "
                                 "WHERE id % 2 = 0;");
    char *dst = empty_sqlite(f, "mixed.db");
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    assert_path(&r, "public_grids", "fast path");
    assert_path(&r, "secret_grids", "fast path");
    assert_null(strstr(r.out, "row by row"));
    assert_non_null(strstr(r.out, "verification: secret_grids: 25 rows in source and target"));
    result_free(&r);

    /* A tampered row among mixed created_at is still named by the fallback. */
    char *dst2_path = path_in(f, "mixed2.db");
    char *dst2 = url_of(dst2_path);
    store_close(open_store(dst2, 0));
    sql_exec(dst2_path, "CREATE TRIGGER t AFTER INSERT ON secret_grids WHEN new.id = 9 BEGIN "
                        "UPDATE secret_grids SET ipb_class = 'X' WHERE id = 9; END");
    r = migrate(src, dst2, 0);
    assert_refused(&r, "verification failed", "secret_grids id 9: ipb_class differs", NULL);
    result_free(&r);
    free(dst2);
    free(dst2_path);
    free(dst);
    free(src);
}

/* JSON that means the same but is written differently by Python's json.dumps
 * and by jsonb (number forms, key order and repeats, escapes): copied and
 * verified equal in every direction. */
#define ODD_JSON_SQL                                                                  \
    "UPDATE public_grids SET grid_data = '{\"lines_on\": true, \"width\": 1, "         \
    "\"height\": 1, \"blocks\": [[[1e2, 1.50, -0, 20]]], \"x\": [1e+16, 1E-2, 0.1, " \
    "12345678901234567890123, -1.5e-7, 1.0e300], \"k\": 1, \"k\": 2, "               \
    "\"s\": \"\\u00e9\\/\\ud83d\\ude00\\t\\u001f\\\"\", \"\\u00e9\": {}, "      \
    "\"\": []}' WHERE id = 1"

static void test_json_forms(void **state)
{
    struct fixture *f = *state;
    char *src = broken_legacy(f, ODD_JSON_SQL);
    char *dst = empty_sqlite(f, "t.db");
    struct result r = migrate(src, dst, 0);
    assert_ok(&r);
    result_free(&r);
    free(src);
    free(dst);
    /* A number beyond the range of a double: jansson cannot read it, so the
     * row is refused, named, and nothing is written (canon.h). */
    src = broken_legacy(f, "UPDATE public_grids SET grid_data = '{\"x\": [1.0e400]}' "
                           "WHERE id = 3");
    dst = empty_sqlite(f, "t2.db");
    r = migrate(src, dst, 0);
    assert_refused(&r, "public_grids id 3", "grid_data holds a number beyond the range of "
                   "a double", NULL);
    result_free(&r);
    free(src);
    free(dst);
}

/* --- PostgreSQL ----------------------------------------------------------------------- */

static const char *pg_server(void)
{
    const char *u = getenv("IPBORG_TEST_PG_URL");
    if (!u || !*u)
        fail_msg("IPBORG_TEST_PG_URL is not set: the PostgreSQL tests need a server; run "
                 "them through `make test`, which starts a throw-away one");
    return u;
}

/* The server URL with its database name replaced by db. */
static char *pg_url_for(const char *server, const char *db)
{
    const char *scheme = strstr(server, "://");
    assert_non_null(scheme);
    const char *auth = scheme + 3;
    const char *q = strchr(auth, '?');
    const char *slash = strchr(auth, '/');
    if (slash && q && slash > q)
        slash = NULL;
    size_t head = (size_t)((slash ? slash : q ? q : auth + strlen(auth)) - server);
    char *u = NULL;
    assert_true(asprintf(&u, "%.*s/%s%s", (int)head, server, db, q ? q : "") > 0);
    return u;
}

static void pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

static void pg_drop(const char *db)
{
    const char *server = getenv("IPBORG_TEST_PG_URL");
    if (!server)
        return;
    PGconn *c = PQconnectdb(server);
    if (PQstatus(c) == CONNECTION_OK) {
        char sql[200];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
        PQclear(PQexec(c, sql));
    }
    PQfinish(c);
}

/* A fresh, empty PostgreSQL database for this test; its URL. */
static char *pg_fresh(struct fixture *f)
{
    static int counter;
    const char *server = pg_server();
    assert_true(f->n_pg < 8);
    char *db = NULL;
    assert_true(asprintf(&db, "ipborg_migrate_%d_%d", (int)getpid(), ++counter) > 0);
    char sql[200];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_exec(server, sql);
    f->pg_dbs[f->n_pg++] = db;
    return pg_url_for(server, db);
}

static void test_pg_legacy(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *pg = pg_fresh(f);
    struct result r = migrate(src, pg, 0);
    assert_ok(&r);
    result_free(&r);
    struct store *st = open_store(pg, 0);
    check_expected_rows(st);
    /* The old rows have no posted date, and show none in PostgreSQL either
     * (its column is NOT NULL: ipborg_undated marks them). */
    struct grid_record rec = {0};
    char err[STORE_ERRLEN];
    assert_int_equal(store_get(st, GRID_PUBLIC, 1, &rec, err), STORE_OK);
    assert_null(rec.created_at);
    grid_record_clear(&rec);
    assert_int_equal(next_id(st, GRID_PUBLIC), 90);
    assert_int_equal(next_id(st, GRID_SECRET), 45);
    store_close(st);
    free(src);
    free(pg);
}

static void test_pg_round_trip(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    give_salts(src, "public", "secret");
    char *pg = pg_fresh(f);
    struct result r = migrate(src, pg, 0);
    assert_ok(&r);
    assert_path(&r, "public_grids", "fast path");
    assert_path(&r, "secret_grids", "fast path");
    result_free(&r);

    /* postgres -> postgres */
    char *pg2 = pg_fresh(f);
    r = migrate(pg, pg2, 0);
    assert_ok(&r);
    assert_path(&r, "public_grids", "fast path");
    assert_path(&r, "secret_grids", "fast path");
    result_free(&r);
    char *d1 = dump_store(pg), *d2 = dump_store(pg2);
    assert_string_equal(d1, d2);
    free(d1);
    free(d2);

    /* postgres -> sqlite: the same content as the start, still without dates. */
    char *back_path = path_in(f, "back.db");
    char *back = url_of(back_path);
    r = migrate(pg2, back, 0);
    assert_ok(&r);
    assert_path(&r, "secret_grids", "fast path");
    result_free(&r);
    struct store *st = open_store(back, 0);
    check_expected_rows(st);
    struct grid_record rec = {0};
    char err[STORE_ERRLEN];
    assert_int_equal(store_get(st, GRID_SECRET, 44, &rec, err), STORE_OK);
    assert_null(rec.created_at);
    grid_record_clear(&rec);
    store_close(st);
    char *p = stored_meta(back, META_PUBLIC_SALT);
    assert_string_equal(p, "public");
    free(p);

    /* And sqlite -> sqlite of that file verifies too (created_at kept). */
    char *again = empty_sqlite(f, "again.db");
    r = migrate(back, again, 0);
    assert_ok(&r);
    result_free(&r);
    d1 = dump_store(back);
    d2 = dump_store(again);
    assert_string_equal(d1, d2);
    free(d1);
    free(d2);

    free(again);
    free(back_path);
    free(back);
    free(src);
    free(pg);
    free(pg2);
}

static void test_pg_refuse_replace(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *pg = pg_fresh(f);
    struct store *st = open_store(pg, 0);
    next_id(st, GRID_PUBLIC);
    store_close(st);
    char *before = dump_store(pg);
    struct result r = migrate(src, pg, 0);
    assert_refused(&r, "already holds 1 grids", NULL);
    char *after = dump_store(pg);
    assert_string_equal(before, after);
    result_free(&r);

    r = migrate(src, pg, 1);
    assert_ok(&r);
    result_free(&r);
    st = open_store(pg, 0);
    check_expected_rows(st);
    assert_int_equal(next_id(st, GRID_PUBLIC), 90);
    store_close(st);

    /* A broken row over it, with --replace: the target keeps what it had. */
    free(before);
    free(after);
    before = dump_store(pg);
    char *bad = broken_legacy(f, "UPDATE secret_grids SET grid_data = '{]' WHERE id = 31");
    r = migrate(bad, pg, 1);
    assert_refused(&r, "secret_grids id 31", "grid_data is not valid JSON", NULL);
    after = dump_store(pg);
    assert_string_equal(before, after);
    result_free(&r);

    free(bad);
    free(before);
    free(after);
    free(src);
    free(pg);
}

static void test_pg_broken_and_empty(void **state)
{
    struct fixture *f = *state;
    char *bad = broken_legacy(f, "UPDATE public_grids SET code_cells = '[\"\\u0000\"]' "
                                 "WHERE id = 44");
    char *pg = pg_fresh(f);
    char *before = dump_store(pg);
    struct result r = migrate(bad, pg, 0);
    assert_refused(&r, "public_grids id 44", "\\u0000", NULL);
    char *after = dump_store(pg);
    assert_string_equal(before, after);
    result_free(&r);

    char *empty = empty_sqlite(f, "empty.db");
    r = migrate(empty, pg, 0);
    assert_ok(&r);
    result_free(&r);
    struct store *st = open_store(pg, 0);
    assert_int_equal(next_id(st, GRID_PUBLIC), 1);
    assert_int_equal(next_id(st, GRID_SECRET), 1);
    store_close(st);

    /* An empty PostgreSQL source. */
    char *pg2 = pg_fresh(f);
    store_close(open_store(pg2, 0));
    char *dst = empty_sqlite(f, "t.db");
    r = migrate(pg2, dst, 0);
    assert_ok(&r);
    result_free(&r);

    free(dst);
    free(pg2);
    free(empty);
    free(bad);
    free(before);
    free(after);
    free(pg);
}

static void test_pg_json_forms(void **state)
{
    struct fixture *f = *state;
    char *src = broken_legacy(f, ODD_JSON_SQL);
    char *pg = pg_fresh(f);
    struct result r = migrate(src, pg, 0);
    assert_ok(&r);
    result_free(&r);
    char *back = empty_sqlite(f, "back.db");
    r = migrate(pg, back, 0);
    assert_ok(&r);
    result_free(&r);
    free(back);
    free(src);
    free(pg);
}

/* A trigger in the PostgreSQL target changes a row as it is loaded: the
 * verification names it. */
static void test_pg_verification(void **state)
{
    struct fixture *f = *state;
    char *src = legacy_copy(f, "legacy.db", NULL);
    char *pg = pg_fresh(f);
    store_close(open_store(pg, 0));
    pg_exec(pg, "CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.id = 21 THEN NEW.grid_data := '{\"width\": 2}'; END IF; "
                "RETURN NEW; END $$;"
                "CREATE TRIGGER tamper BEFORE INSERT ON public_grids "
                "FOR EACH ROW EXECUTE FUNCTION tamper()");
    struct result r = migrate(src, pg, 0);
    assert_refused(&r, "verification failed", "public_grids id 21: grid_data differs", NULL);
    assert_path(&r, "public_grids", "row by row (the target's digest is not the copy's)");
    result_free(&r);
    free(src);
    free(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_row),
        cmocka_unit_test(test_check_row_one_line),
        cmocka_unit_test_setup_teardown(test_legacy_to_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_nonempty_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_row_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_rows_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalised_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_salts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_fast_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_mixed_created_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_catches_differences, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pg_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_refuse_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_broken_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_json_forms, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
