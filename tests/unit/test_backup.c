/* test_backup.c -- canon.c (canonical JSON, times), and ipborg export / import /
 * stats (export.c, import.c, stats.c) with the store ops they rely on (meta_set inside a load,
 * stats), against real databases, no mocks.
 *
 * SQLite cases use files in a fresh temporary directory per test; PostgreSQL
 * cases need IPBORG_TEST_PG_URL (set by `make test`) and create a database
 * of their own, dropped afterwards. Without the variable they fail, never
 * skip silently. */
#include "unit.h"

#include "export.h"
#include "import.h"
#include "stats.h"
#include "canon.h"
#include "store.h"
#include "store_backend.h"
#include "store_fixture.h"

#include <ftw.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEGACY "legacy/legacy_small.db"
#define EXPECTED "legacy/legacy_small.expected.jsonl"

struct fixture {
    char dir[64];
    char *pg_dbs[4];
    int n_pg;
};

static void unset_env(void)
{
    unsetenv("HASHIDS_PUBLIC_SALT");
    unsetenv("HASHIDS_SECRET_SALT");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ipborg-backup-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    unset_env();
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
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

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    const char *server = getenv("IPBORG_TEST_PG_URL");
    for (int i = 0; i < f->n_pg; i++) {
        if (server) {
            char sql[200];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->pg_dbs[i]);
            pg_exec(server, sql);
        }
        free(f->pg_dbs[i]);
    }
    unset_env();
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------ */

static char *sqlite_url(struct fixture *f, const char *name)
{
    char *u = NULL;
    assert_true(asprintf(&u, "sqlite:///%s/%s", f->dir, name) > 0);
    return u;
}

static char *legacy_copy(struct fixture *f, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
    size_t n;
    char *data = read_vector(LEGACY, &n);
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(data, 1, n, o), n);
    assert_int_equal(fclose(o), 0);
    free(data);
    free(path);
    return sqlite_url(f, name);
}

static char *pg_fresh(struct fixture *f)
{
    static int counter;
    const char *server = getenv("IPBORG_TEST_PG_URL");
    if (!server || !*server)
        fail_msg("IPBORG_TEST_PG_URL is not set: run through `make test`");
    assert_true(f->n_pg < 4);
    char *db = NULL;
    assert_true(asprintf(&db, "ipborg_backup_%d_%d", (int)getpid(), ++counter) > 0);
    char sql[200];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_exec(server, sql);
    f->pg_dbs[f->n_pg++] = db;
    /* The server URL ends in /dbname (scripts/pg-test.sh). */
    const char *slash = strrchr(server, '/');
    char *u = NULL;
    assert_true(asprintf(&u, "%.*s/%s", (int)(slash - server), server, db) > 0);
    return u;
}

struct result {
    int rc;
    char *out, *err;
};

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static struct result run_export(const char *url)
{
    struct result r = {0};
    size_t n1, n2;
    FILE *out = open_memstream(&r.out, &n1);
    FILE *err = open_memstream(&r.err, &n2);
    r.rc = export_run(url, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static struct result run_import(const char *url, int replace, const char *input)
{
    struct result r = {0};
    size_t n1, n2;
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    assert_non_null(in);
    FILE *out = open_memstream(&r.out, &n1);
    FILE *err = open_memstream(&r.err, &n2);
    r.rc = import_run(url, replace, in, out, err);
    fclose(in);
    fclose(out);
    fclose(err);
    return r;
}

static void assert_rc(const struct result *r, int rc, const char *word)
{
    if (r->rc != rc)
        fail_msg("expected exit %d, got %d: out=[%s] err=[%s]", rc, r->rc, r->out, r->err);
    if (word && !strstr(r->err, word))
        fail_msg("message lacks '%s': [%s]", word, r->err);
    if (rc != 0) {
        const char *nl = strchr(r->err, '\n');
        assert_true(nl && nl[1] == '\0');   /* one line */
    }
}

static char *export_ok(const char *url)
{
    struct result r = run_export(url);
    assert_rc(&r, 0, NULL);
    free(r.err);
    return r.out;
}

static void import_ok(const char *url, int replace, const char *input)
{
    struct result r = run_import(url, replace, input);
    assert_rc(&r, 0, NULL);
    assert_non_null(strstr(r.out, "verification: OK"));
    result_free(&r);
}

static struct store *open_store(const char *url, int flags)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(url, flags, err);
    if (!st)
        fail_msg("store_open %s: %s", url, err);
    return st;
}

static char *meta(struct store *st, const char *key)
{
    char err[STORE_ERRLEN] = "";
    int status = STORE_OK;
    void *conn = store_conn(st, &status, err);
    assert_non_null(conn);
    char *v = NULL;
    int rc = store_backend(st)->meta_get(conn, key, &v, err);
    if (rc == STORE_NOT_FOUND)
        return NULL;
    assert_int_equal(rc, STORE_OK);
    return v;
}

/* --- canon -------------------------------------------------------------------------- */

static void assert_canon(const char *in, const char *want)
{
    char err[STORE_ERRLEN] = "";
    struct buf b = BUF_INIT;
    if (canon_json_scan("x", in, &b, NULL, err) != 0)
        fail_msg("%s: %s", in, err);
    if (strcmp(b.data, want) != 0)
        fail_msg("canonical form of %s: want %s, got %s", in, want, b.data);
    /* A fixed point: the canonical form of the canonical form is itself. */
    struct buf again = BUF_INIT;
    assert_int_equal(canon_json_scan("x", b.data, &again, NULL, err), 0);
    assert_string_equal(again.data, b.data);
    buf_free(&b);
    buf_free(&again);
}

/* canon_json_scan refuses in, with want in one line of printable ASCII. */
static void assert_refused_json(const char *in, const char *want)
{
    char err[STORE_ERRLEN] = "";
    struct buf b = BUF_INIT;
    int is_null = 7;
    if (canon_json_scan("grid_data", in, &b, &is_null, err) == 0)
        fail_msg("%.60s was taken as %.60s", in, b.data);
    if (!strstr(err, want))
        fail_msg("%.60s: want \"%s\" in \"%s\"", in, want, err);
    for (const char *c = err; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            fail_msg("%.60s: the message is not printable ASCII: %s", in, err);
    buf_free(&b);
}

/* Times: the one check of a created_at or deleted_at from a file or an old
 * database refuses what does not exist, as PostgreSQL would. */
static void test_canon_time_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "2024-01-02T03:04:05Z", "2024-01-02 03:04:05", "2024-02-29T23:59:59.999999Z",
        "2000-02-29T00:00:00+00:00", "2023-12-31T12:00:00.5+00", "0001-01-01T00:00:00Z",
    };
    static const char *const bad[] = {
        "2024-13-45T99:99:99Z", "2023-02-29T10:00:00Z", "1900-02-29T10:00:00Z",
        "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z", "2024-01-00T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z",
        "0000-01-01T00:00:00Z", "2024-01-01T00:00:00+01:00", "2024-01-01T00:00:00.Z",
        "2024-1-01T00:00:00Z", "yesterday", "",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!canon_time_valid(good[i]))
            fail_msg("refused: %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (canon_time_valid(bad[i]))
            fail_msg("accepted: %s", bad[i]);
}

static void test_canon_forms(void **state)
{
    (void)state;
    assert_canon(" {\"b\": 1, \"a\": [1, 2.50, -0, 1e2]} ", "{\"a\":[1,2.5,0,100],\"b\":1}");
    assert_canon("{\"a\":1,\"a\":2}", "{\"a\":2}");
    assert_canon("0.1", "0.1");
    assert_canon("1.0000000000000002", "1.0000000000000002");
    assert_canon("123456789012345678901234", "1.2345678901234569e+23");
    assert_canon("1e-400", "0");
    assert_canon("\"\\u00e9\\ud83d\\ude00\\/\\n\\\"\"", "\"\xc3\xa9\xf0\x9f\x98\x80/\\u000a\\\"\"");
    assert_canon("[true,false,null,{}]", "[true,false,null,{}]");
    char err[STORE_ERRLEN] = "";
    int is_null = 0;
    assert_int_equal(canon_json_scan("grid_data", "[1,", NULL, NULL, err), -1);
    assert_non_null(strstr(err, "grid_data is not valid JSON"));
    assert_int_equal(canon_json_scan("x", " null ", NULL, &is_null, err), 0);
    assert_int_equal(is_null, 1);
    assert_int_equal(canon_json_scan("x", "\"null\"", NULL, &is_null, err), 0);
    assert_int_equal(is_null, 0);
}

static void test_canon_strings(void **state)
{
    (void)state;
    const char *raw = "a\"b\\c\n\t\x01 \x7f\xc3\xa9";
    struct buf b = BUF_INIT;
    canon_string(&b, raw);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0009\\u0001 \x7f\xc3\xa9\"");
    /* jansson reads it back as the same string */
    json_t *v = canon_json_parse("x", b.data, 0, NULL, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(v), raw);
    json_decref(v);
    buf_free(&b);
    assert_canon("\"\\/\\b\\f\\n\\r\\t\\u001F\\u0041\"", "\"/\\u0008\\u000c\\u000a\\u000d\\u0009\\u001fA\"");
}

/* Numbers: equal values give equal bytes, whatever the backend wrote (jsonb
 * writes 1e2 as 100; SQLite holds what was posted). */
static void test_canon_numbers(void **state)
{
    (void)state;
    assert_canon("[1e2, 100, 1E+2, 100.0, 1.0, 1, -0, -0.0, 0e5]", "[100,100,100,100,1,1,0,0,0]");
    /* up to 18 digits as written; 19 and more by value, through a double */
    assert_canon("[123456789012345678,-123456789012345678]",
                 "[123456789012345678,-123456789012345678]");
    assert_canon("1234567890123456789", "1234567890123456768");
    assert_canon("9223372036854775807", "9.223372036854776e+18");
    assert_canon("-9223372036854775808", "-9.223372036854776e+18");
    assert_canon("[0.5, 2.5e-7, 1.7976931348623157e308, 5e-324]",
                 "[0.5,2.5e-07,1.7976931348623157e+308,4.94065645841247e-324]");
    /* Beyond 64 bits jansson says "too big integer"; the retry with
     * JSON_DECODE_INT_AS_REAL reads the text with every integer as a double,
     * so then even an 18-digit one is rounded (the one change from before). */
    assert_canon("[1, 99999999999999999999, -99999999999999999999]", "[1,1e+20,-1e+20]");
    assert_canon("9223372036854775808", "9.223372036854776e+18");
    assert_canon("[123456789012345678, 123456789012345678901234]",
                 "[123456789012345680,1.2345678901234569e+23]");
    int as_reals = 0;
    json_t *v = canon_json_parse("x", "[1, 99999999999999999999]", 0, &as_reals, NULL);
    assert_non_null(v);
    assert_int_equal(as_reals, 1);
    assert_true(json_is_real(json_array_get(v, 0)));
    json_decref(v);
    v = canon_json_parse("x", "[1, 9223372036854775807]", 0, &as_reals, NULL);
    assert_int_equal(as_reals, 0);
    assert_true(json_is_integer(json_array_get(v, 1)));
    json_decref(v);
    /* Beyond the range of a double: jansson refuses ("real number overflow")
     * and so do we, with a clear message (jsonb would take it, but no post
     * can hold one: grid.c refuses them too). Below it: 0. */
    assert_refused_json("[1e400]", "grid_data holds a number beyond the range of a double");
    assert_refused_json("-1e400", "beyond the range of a double");
    assert_refused_json("1.8e308", "beyond the range of a double");
    char big[402];
    memset(big, '9', 400);      /* 400 digits: too big, then a real overflow */
    big[400] = '\0';
    assert_refused_json(big, "beyond the range of a double");
    assert_canon("[1e-400, -1e-400]", "[0,0]");
}

/* What jansson 2.14 refuses for us, and the messages we make of it. */
static void test_canon_refusals(void **state)
{
    (void)state;
    /* \u0000: no JSON_ALLOW_NUL, in values and keys */
    assert_refused_json("\"\\u0000\"", "grid_data holds \\u0000");
    assert_refused_json("{\"a\\u0000\": 1}", "grid_data holds \\u0000");
    /* surrogate escapes that do not form a pair */
    assert_refused_json("[\"\\ud800\"]", "grid_data holds a lone surrogate");
    assert_refused_json("[\"\\udc00\"]", "lone surrogate");
    assert_refused_json("[\"\\ud83d\\u0041\"]", "lone surrogate");
    assert_refused_json("[\"\\ud83dx\"]", "lone surrogate");
    assert_refused_json("[\"\\ude00\\ud83d\"]", "lone surrogate");
    /* invalid UTF-8: a stray byte, an overlong, an encoded surrogate, beyond
     * U+10FFFF, a truncated sequence, in a key; the message quotes no raw
     * byte */
    const char *utf8[] = {"\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
                          "\"\xe2\x82\"", "{\"\xff\": 1}", "[\"ok\", \"\x80\"]"};
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++)
        assert_refused_json(utf8[i], "grid_data is not valid JSON");
    const char *syntax[] = {"", " ", "[01]", "[1.]", "[.5]", "[+1]", "1 2", "nan", "[Infinity]",
                            "[\"a\tb\"]", "\"\\x\"", "[1,]", "{\"a\" 1}", "{a: 1}",
                            ("\xef\xbb\xbf" "1"), "\f1", "1\v", "'a'", "[tru]", "[1]]"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++)
        assert_refused_json(syntax[i], "grid_data is not valid JSON");
    /* whitespace around and inside: space, tab, CR and LF */
    assert_canon(" \t\r\n[ 1 ,\n2 ]\r\n", "[1,2]");
    /* valid UTF-8 at the edges passes through */
    assert_canon("\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80\"", "\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80\"");
}

/* Nesting: CANON_MAX_DEPTH (jansson's JSON_PARSER_MAX_DEPTH) levels, where
 * jansson counts every value, the innermost one too: 2048 nested empty
 * arrays pass, and so do 2047 around a number; one more is refused with a
 * clear message. Objects count as arrays do. */
static void test_canon_depth(void **state)
{
    (void)state;
    assert_int_equal(CANON_MAX_DEPTH, 2048);
    size_t n = CANON_MAX_DEPTH + 1;
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    assert_refused_json(s, "grid_data is nested more than 2048 levels deep");
    s[2 * n - 1] = '\0';
    assert_canon(s + 1, s + 1);             /* 2048 arrays */
    free(s);
    for (size_t depth = n - 2; depth <= n - 1; depth++) {
        struct buf a = BUF_INIT, o = BUF_INIT;
        for (size_t i = 0; i < depth; i++) {
            buf_putc(&a, '[');
            buf_puts(&o, "{\"a\":");
        }
        buf_putc(&a, '1');
        buf_putc(&o, '1');
        for (size_t i = 0; i < depth; i++) {
            buf_putc(&a, ']');
            buf_putc(&o, '}');
        }
        assert_false(buf_failed(&a) || buf_failed(&o));
        if (depth == n - 1) {               /* 2048 containers and a number */
            assert_refused_json(a.data, "nested more than");
            assert_refused_json(o.data, "nested more than");
        } else {
            assert_canon(a.data, a.data);
            assert_canon(o.data, o.data);
        }
        buf_free(&a);
        buf_free(&o);
    }
}

/* Objects: a repeated key keeps its last value (jansson does as jsonb does),
 * at any depth; JSON_REJECT_DUPLICATES (import's lines) refuses one at any
 * depth. Members sort by the bytes of their canonical key literals, closing
 * quote included (so "a!" comes before "a", and "a\"" after). */
static void test_canon_objects(void **state)
{
    (void)state;
    assert_canon("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
    assert_canon("{\"b\":{\"y\":1,\"x\":2,\"y\":[3]}}", "{\"b\":{\"x\":2,\"y\":[3]}}");
    assert_canon("{\"a\":1,\"a!\":2,\"a\\\"\":3,\"a\\u0001\":4,\"\":5,\"\\u00e9\":6,\"B\":7,\"a \":8}",
                 "{\"\":5,\"B\":7,\"a \":8,\"a!\":2,\"a\":1,\"a\\\"\":3,\"a\\u0001\":4,"
                 "\"\xc3\xa9\":6}");
    char err[STORE_ERRLEN] = "";
    assert_null(canon_json_parse("line", "{\"b\":{\"a\":1,\"a\":2}}", JSON_REJECT_DUPLICATES,
                                 NULL, err));
    assert_non_null(strstr(err, "line is not valid JSON (duplicate object key"));
    json_t *v = canon_json_parse("line", "{\"b\":{\"a\":1,\"c\":2}}", JSON_REJECT_DUPLICATES,
                                 NULL, err);
    assert_non_null(v);
    json_decref(v);
}

/* --- export --------------------------------------------------------------------------- */

/* Every row of legacy_small.expected.jsonl is a line of the export, with the
 * right hash and equal values. */
static void test_export_legacy(void **state)
{
    struct fixture *f = *state;
    char *url = legacy_copy(f, "legacy.db");
    struct result r = run_export(url);
    assert_rc(&r, 1, "HASHIDS_PUBLIC_SALT");   /* grids, no salts anywhere */
    result_free(&r);

    setenv("HASHIDS_PUBLIC_SALT", "public", 1);
    setenv("HASHIDS_SECRET_SALT", "secret", 1);
    char *out = export_ok(url);
    char *second = export_ok(url);
    assert_string_equal(out, second);          /* deterministic */
    free(second);

    json_error_t je;
    char *expected = read_vector(EXPECTED, NULL);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    json_t *hdr = json_loads(line, 0, &je);
    assert_non_null(hdr);
    assert_int_equal(json_integer_value(json_object_get(hdr, "ipborg_export")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(hdr, "salts"),
                                                          "public")), "public");
    json_decref(hdr);
    char *esave = NULL;
    int rows = 0;
    for (char *e = strtok_r(expected, "\n", &esave); e; e = strtok_r(NULL, "\n", &esave)) {
        line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        json_t *want = json_loads(e, 0, &je), *got = json_loads(line, 0, &je);
        assert_non_null(want);
        assert_non_null(got);
        assert_true(json_equal(json_object_get(want, "table"), json_object_get(got, "table")));
        assert_true(json_equal(json_object_get(want, "id"), json_object_get(got, "id")));
        assert_true(json_equal(json_object_get(want, "hashid"), json_object_get(got, "hash")));
        static const char *const cols[] = {"ipb_version", "python_version", "grid_data",
                                           "code_cells", "ipb_class", "secret"};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            if (!json_equal(json_object_get(want, cols[i]), json_object_get(got, cols[i])))
                fail_msg("id %lld: %s differs",
                         (long long)json_integer_value(json_object_get(want, "id")), cols[i]);
        assert_true(json_is_null(json_object_get(got, "created_at")));
        json_decref(want);
        json_decref(got);
        rows++;
    }
    assert_int_equal(rows, 85);
    assert_null(strtok_r(NULL, "\n", &save));
    free(expected);
    free(out);

    /* Read-only: the environment's salts were not stored in the file. */
    struct store *st = open_store(url, STORE_READONLY);
    assert_null(meta(st, META_PUBLIC_SALT));
    store_close(st);
    free(url);
}

static void test_export_empty(void **state)
{
    struct fixture *f = *state;
    char *url = sqlite_url(f, "empty.db");
    store_close(open_store(url, 0));           /* tables, no salts */
    char *out = export_ok(url);
    assert_string_equal(out, "{\"ipborg_export\":1,\"salts\":null,"
                             "\"last_ids\":{\"public_grids\":0,\"secret_grids\":0}}\n");
    import_ok(url, 1, out);                    /* such a file imports */
    free(out);
    free(url);
}

/* --- import --------------------------------------------------------------------------- */

/* export -> import -> export gives the same bytes; into SQLite and PostgreSQL. */
static void round_trip(struct fixture *f, const char *target)
{
    setenv("HASHIDS_PUBLIC_SALT", "public", 1);
    setenv("HASHIDS_SECRET_SALT", "secret", 1);
    char *src = legacy_copy(f, "legacy.db");
    char *first = export_ok(src);
    unset_env();
    import_ok(target, 0, first);
    char *second = export_ok(target);
    /* PostgreSQL gives the legacy rows (no created_at) a time: compare the
     * rest, then require a fixed point from there on. */
    if (strncmp(target, "sqlite", 6) == 0)
        assert_string_equal(second, first);
    char *third_url = sqlite_url(f, "third.db");
    import_ok(third_url, 0, second);
    char *third = export_ok(third_url);
    assert_string_equal(third, second);
    import_ok(target, 1, third);
    char *fourth = export_ok(target);
    assert_string_equal(fourth, second);
    free(first);
    free(second);
    free(third);
    free(fourth);
    free(third_url);
    free(src);
}

static void test_import_round_trip_sqlite(void **state)
{
    struct fixture *f = *state;
    char *t = sqlite_url(f, "target.db");
    round_trip(f, t);
    free(t);
}

static void test_import_round_trip_pg(void **state)
{
    struct fixture *f = *state;
    char *t = pg_fresh(f);
    round_trip(f, t);
    free(t);
}

/* The target ends up with the file's salts even if it stored others, and
 * meta_set only overwrites inside a load (and a rolled-back load undoes it). */
static void salts_replaced(struct fixture *f, const char *url)
{
    (void)f;
    struct store *st = open_store(url, 0);
    char err[STORE_ERRLEN] = "";
    char *pub = NULL, *sec = NULL;
    assert_int_equal(store_resolve_salts(st, "old-pub", "old-sec", 0, &pub, &sec, err),
                     STORE_OK);
    free(pub);
    free(sec);
    int status = STORE_OK;
    void *conn = store_conn(st, &status, err);
    const struct store_ops *ops = store_backend(st);
    assert_int_equal(ops->meta_set(conn, META_PUBLIC_SALT, "other", err), STORE_OK);
    char *v = meta(st, META_PUBLIC_SALT);
    assert_string_equal(v, "old-pub");         /* outside a load: never overwritten */
    free(v);
    assert_int_equal(ops->load_begin(conn, 0, err), STORE_OK);
    assert_int_equal(ops->meta_set(conn, META_PUBLIC_SALT, "inside", err), STORE_OK);
    assert_int_equal(ops->load_end(conn, 0, err), STORE_OK);
    v = meta(st, META_PUBLIC_SALT);
    assert_string_equal(v, "old-pub");         /* rolled back */
    free(v);
    store_close(st);

    const char *file =
        "{\"ipborg_export\":1,\"salts\":{\"public\":\"public\",\"secret\":\"secret\"}}\n"
        "{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1.7\","
        "\"python_version\":[3,6],\"grid_data\":{\"width\":1},\"code_cells\":null,"
        "\"ipb_class\":\"BlockGrid\",\"secret\":false,\"created_at\":\"2024-01-02T03:04:05.5Z\"}\n";
    import_ok(url, 0, file);
    st = open_store(url, STORE_READONLY);
    v = meta(st, META_PUBLIC_SALT);
    assert_string_equal(v, "public");
    free(v);
    v = meta(st, META_SECRET_SALT);
    assert_string_equal(v, "secret");
    free(v);
    store_close(st);
    /* A file of an older ipborg (no last_ids) imports; its export now
     * carries the ids given so far. */
    char *out = export_ok(url);
    const char *nl = strchr(file, '\n');
    char *want = NULL;
    assert_true(asprintf(&want, "{\"ipborg_export\":1,\"salts\":{\"public\":\"public\","
                         "\"secret\":\"secret\"},\"last_ids\":{\"public_grids\":1,"
                         "\"secret_grids\":0}}%s", nl) > 0);
    assert_string_equal(out, want);
    free(want);
    free(out);
}

static void test_import_salts_sqlite(void **state)
{
    struct fixture *f = *state;
    char *url = sqlite_url(f, "salts.db");
    salts_replaced(f, url);
    free(url);
}

static void test_import_salts_pg(void **state)
{
    struct fixture *f = *state;
    char *url = pg_fresh(f);
    salts_replaced(f, url);
    free(url);
}

/* Bad files: refused with the line number, the target unchanged. */
static void test_import_refusals(void **state)
{
    struct fixture *f = *state;
    const char *hdr = "{\"ipborg_export\":1,\"salts\":{\"public\":\"public\",\"secret\":\"secret\"}}\n";
    const char *row1 =
        "{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
        "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"BlockGrid\",\"secret\":false}\n";
    char *url = sqlite_url(f, "t.db");
    char *good = NULL;
    assert_true(asprintf(&good, "%s%s", hdr, row1) > 0);
    import_ok(url, 0, good);
    char *before = export_ok(url);

    struct {
        const char *line2, *word;
    } cases[] = {
        {"{\"table\":\"public_grids\",\"id\":2,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false}\n",
         "not the hash of public_grids id 2"},
        {"{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\"\n", "line 2"},
        {"{\"table\":\"other\"}\n", "line 2"},
        {"{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":null,\"ipb_class\":\"B\",\"secret\":false}\n",
         "grid_data is JSON null"},
        {"{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false,"
         "\"colour\":1}\n", "unknown key \"colour\""},
        {"{\"table\":\"public_grids\",\"id\":1.5,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false}\n",
         "id is not a positive integer"},
        {"\n", "line 2"},
        /* a repeated key, at the top or inside a value: jansson's
         * JSON_REJECT_DUPLICATES (export never writes one) */
        {"{\"table\":\"public_grids\",\"id\":1,\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false}\n",
         "duplicate object key"},
        {"{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{\"a\":1,\"a\":2},\"ipb_class\":\"B\","
         "\"secret\":false}\n", "duplicate object key"},
        {"{\"table\":\"public_grids\",\"id\":\"1\",\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false}\n",
         "id is not a positive integer"},
        {"{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
         "\"python_version\":[3],\"grid_data\":[1e400],\"ipb_class\":\"B\",\"secret\":false}\n",
         "beyond the range of a double"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *file = NULL;
        assert_true(asprintf(&file, "%s%s", hdr, cases[i].line2) > 0);
        struct result r = run_import(url, 1, file);
        assert_rc(&r, 1, cases[i].word);
        assert_non_null(strstr(r.err, "line 2"));
        result_free(&r);
        free(file);
    }
    /* Out of order: the second row repeats id 1. */
    char *file = NULL;
    assert_true(asprintf(&file, "%s%s%s", hdr, row1, row1) > 0);
    struct result r = run_import(url, 1, file);
    assert_rc(&r, 1, "line 3: public_grids id 1 after id 1");
    result_free(&r);
    free(file);
    /* Not an export at all; another version. */
    r = run_import(url, 1, "hello\n");
    assert_rc(&r, 1, "line 1");
    result_free(&r);
    r = run_import(url, 1, "{\"ipborg_export\":2,\"salts\":null}\n");
    assert_rc(&r, 1, "format 2");
    result_free(&r);
    /* Salts null but grids in the file. */
    assert_true(asprintf(&file, "{\"ipborg_export\":1,\"salts\":null}\n%s", row1) > 0);
    r = run_import(url, 1, file);
    assert_rc(&r, 1, "inconsistent");
    result_free(&r);
    free(file);
    /* A target with grids, without --replace. */
    r = run_import(url, 0, good);
    assert_rc(&r, 1, "already holds 1 grids");
    result_free(&r);

    char *after = export_ok(url);
    assert_string_equal(after, before);   /* nothing was written */
    free(after);
    free(before);
    free(good);
    /* An integer beyond 64 bits in grid_data makes jansson read the whole
     * line with integers as doubles; the id is still taken, and the value
     * is stored in canonical form. */
    assert_true(asprintf(&file, "%s%s", hdr,
                         "{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\","
                         "\"ipb_version\":\"1\",\"python_version\":[3],\"grid_data\":"
                         "{\"b\": [99999999999999999999, 2], \"a\": 1.50},\"ipb_class\":\"B\","
                         "\"secret\":false}\n") > 0);
    import_ok(url, 1, file);
    free(file);
    after = export_ok(url);
    assert_non_null(strstr(after, "\"grid_data\":{\"a\":1.5,\"b\":[1e+20,2]}"));
    free(after);
    free(url);
}

/* --- stats ------------------------------------------------------------------------------ */

struct tally {
    int64_t rows, bytes, undated;
};

static size_t len_or_0(const char *s)
{
    return s ? strlen(s) : 0;
}

static int tally_row(void *ctx, const struct grid_record *r, char *err)
{
    (void)err;
    struct tally *t = ctx;
    t->rows++;
    t->bytes += (int64_t)(len_or_0(r->ipb_version) + len_or_0(r->python_version) +
                          len_or_0(r->grid_data) + len_or_0(r->code_cells) +
                          len_or_0(r->ipb_class));
    t->undated += r->created_at == NULL;
    return 0;
}

/* The aggregate op agrees with a scan of the same rows. */
static void check_stats(const char *url, int64_t rows0, int64_t rows1)
{
    struct store *st = open_store(url, STORE_READONLY);
    char err[STORE_ERRLEN] = "";
    for (int t = 0; t < GRID_TABLES; t++) {
        struct tally want = {0};
        assert_int_equal(fixture_scan(st, (enum grid_table)t, tally_row, &want,
                                                 err), STORE_OK);
        struct store_stats s;
        assert_int_equal(store_stats(st, (enum grid_table)t, &s, err), STORE_OK);
        assert_int_equal(s.rows, t ? rows1 : rows0);
        assert_int_equal(s.rows, want.rows);
        assert_int_equal(s.bytes, want.bytes);
        assert_int_equal(s.undated, want.undated);
        assert_int_equal(s.oldest[0] == '\0', want.undated == want.rows);
    }
    store_close(st);
}

static void test_stats(void **state)
{
    struct fixture *f = *state;
    char *legacy = legacy_copy(f, "legacy.db");
    check_stats(legacy, 60, 25);
    struct store *st = open_store(legacy, STORE_READONLY);
    struct store_stats s;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(store_stats(st, GRID_PUBLIC, &s, err), STORE_OK);
    assert_int_equal(s.undated, 60);
    store_close(st);

    const char *file =
        "{\"ipborg_export\":1,\"salts\":{\"public\":\"public\",\"secret\":\"secret\"}}\n"
        "{\"table\":\"public_grids\",\"id\":1,\"hash\":\"bizkiL\",\"ipb_version\":\"1\","
        "\"python_version\":[3],\"grid_data\":{},\"ipb_class\":\"B\",\"secret\":false,"
        "\"created_at\":\"2020-05-01T00:00:00Z\"}\n"
        "{\"table\":\"public_grids\",\"id\":3,\"hash\":\"jcLacK\",\"ipb_version\":\"1\","
        "\"python_version\":[3],\"grid_data\":{\"\xc3\xa9\":1},\"ipb_class\":\"B\",\"secret\":false,"
        "\"created_at\":\"2021-06-02T10:11:12.25Z\"}\n";
    char *urls[2] = {sqlite_url(f, "s.db"), pg_fresh(f)};
    for (int i = 0; i < 2; i++) {
        import_ok(urls[i], 0, file);
        check_stats(urls[i], 2, 0);
        st = open_store(urls[i], STORE_READONLY);
        assert_int_equal(store_stats(st, GRID_PUBLIC, &s, err), STORE_OK);
        char *o = canon_time(s.oldest), *n = canon_time(s.newest);
        assert_string_equal(o, "2020-05-01T00:00:00Z");
        assert_string_equal(n, "2021-06-02T10:11:12.25Z");
        free(o);
        free(n);
        store_close(st);
        free(urls[i]);
    }
    free(legacy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canon_time_valid),
        cmocka_unit_test(test_canon_forms),
        cmocka_unit_test(test_canon_strings),
        cmocka_unit_test(test_canon_numbers),
        cmocka_unit_test(test_canon_refusals),
        cmocka_unit_test(test_canon_depth),
        cmocka_unit_test(test_canon_objects),
        cmocka_unit_test_setup_teardown(test_export_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_round_trip_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_round_trip_pg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_salts_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_salts_pg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
