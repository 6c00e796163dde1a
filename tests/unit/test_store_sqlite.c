/* test_store_sqlite.c -- the SQLite backend through the store interface:
 * the legacy file served as it is (read-write and read-only, the latter
 * leaving it byte-identical), ids never reused, random choice, salts,
 * concurrent puts and their group commit, bulk load, the errors a user can meet,
 * and the deletion log (written with each delete, followed by watch_next). */
#include "unit.h"
#include "store.h"
#include "store_backend.h"
#include "store_fixture.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- helpers ------------------------------------------------------------------ */

struct fixture {
    char dir[64];
    char path[128];      /* a database file in dir (not created) */
    char url[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ipborg-sqlite-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/grids.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:///%s", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char p[512];
                snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void copy_legacy(struct fixture *f)
{
    size_t len;
    char *data = read_vector("legacy/legacy_small.db", &len);
    FILE *out = fopen(f->path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
    chmod(f->path, 0644);
    free(data);
}

static struct store *open_ok(struct fixture *f, int flags)
{
    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(f->url, flags, err);
    if (!st)
        fail_msg("store_open(%s): %s", f->url, err);
    return st;
}

static void *conn_of(struct store *st)
{
    char err[STORE_ERRLEN] = "";
    int status = STORE_OK;
    void *c = store_conn(st, &status, err);
    if (!c)
        fail_msg("store_conn: %s", err);
    return c;
}

static struct grid_record sample(int secret)
{
    struct grid_record r = {
        .ipb_version = "1.9.0",
        .python_version = "[3, 11, 7, \"final\", 0]",
        .grid_data = "{\"lines_on\": true, \"width\": 1, \"height\": 1, "
                     "\"blocks\": [[[1, 2, 3, 20]]]}",
        .code_cells = "[\"grid = BlockGrid(1, 1)\"]",
        .ipb_class = "BlockGrid",
        .secret = secret,
    };
    return r;
}

static int64_t put_ok(struct store *st, enum grid_table t)
{
    char err[STORE_ERRLEN] = "";
    struct grid_record r = sample(t == GRID_SECRET);
    int64_t id = 0;
    int rc = store_put(st, t, &r, &id, err);
    if (rc != STORE_OK)
        fail_msg("store_put: %s", err);
    return id;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad JSON text (%s): %.80s", e.text, text);
    return j;
}

/* Checks every row of legacy_small.expected.jsonl against the store. */
static void check_legacy_rows(struct store *st)
{
    char *all = read_vector("legacy/legacy_small.expected.jsonl", NULL);
    int n = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *exp = parse(line);
        const char *table = json_string_value(json_object_get(exp, "table"));
        enum grid_table t = strcmp(table, "secret_grids") == 0 ? GRID_SECRET : GRID_PUBLIC;
        int64_t id = json_integer_value(json_object_get(exp, "id"));
        struct grid_record r;
        char err[STORE_ERRLEN] = "";
        int rc = store_get(st, t, id, &r, err);
        if (rc != STORE_OK)
            fail_msg("%s id %lld: status %d %s", table, (long long)id, rc, err);
        assert_int_equal(r.id, id);
        assert_string_equal(r.ipb_version,
                            json_string_value(json_object_get(exp, "ipb_version")));
        assert_string_equal(r.ipb_class, json_string_value(json_object_get(exp, "ipb_class")));
        assert_int_equal(r.secret, json_is_true(json_object_get(exp, "secret")) ? 1 : 0);
        static const char *const cols[] = {"python_version", "grid_data", "code_cells"};
        const char *vals[] = {r.python_version, r.grid_data, r.code_cells};
        for (int i = 0; i < 3; i++) {
            json_t *got = vals[i] ? parse(vals[i]) : json_null();
            if (!json_equal(got, json_object_get(exp, cols[i])))
                fail_msg("%s id %lld: %s differs", table, (long long)id, cols[i]);
            json_decref(got);
        }
        assert_null(r.created_at);   /* old rows have none */

        char *gd = NULL;
        size_t len = 0;
        assert_int_equal(store_get_grid_data(st, t, id, &gd, &len, err), STORE_OK);
        assert_int_equal(len, strlen(r.grid_data));
        assert_string_equal(gd, r.grid_data);
        free(gd);
        grid_record_clear(&r);
        json_decref(exp);
        n++;
    }
    assert_int_equal(n, 85);
    free(all);
}

static char *file_bytes(const char *path, size_t *len)
{
    return read_file(path, len);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Runs one SQL query on the file with a connection of its own; first column
 * of the first row as an integer. */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* --- the legacy file ------------------------------------------------------------- */

static void test_legacy_readonly_untouched(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);
    size_t n0, n1;
    char *before = file_bytes(f->path, &n0);

    struct store *st = open_ok(f, STORE_READONLY);
    check_legacy_rows(st);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    char err[STORE_ERRLEN] = "";
    char *v = NULL;
    assert_int_equal(ops->meta_get(c, META_PUBLIC_SALT, &v, err), STORE_NOT_FOUND);
    int64_t id;
    struct grid_record r = sample(0);
    assert_int_equal(store_put(st, GRID_PUBLIC, &r, &id, err), STORE_ERROR);
    assert_non_null(strstr(err, "read-only"));
    assert_int_equal(ops->meta_set(c, "k", "v", err), STORE_ERROR);
    assert_int_equal(ops->load_begin(c, 1, err), STORE_ERROR);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 89, err), STORE_ERROR);
    store_close(st);

    char *after = file_bytes(f->path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    char side[200];
    snprintf(side, sizeof side, "%s-wal", f->path);
    assert_false(file_exists(side));
    free(before);
    free(after);
}

static void test_legacy_readwrite(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);
    struct store *st = open_ok(f, 0);
    check_legacy_rows(st);
    /* The file was upgraded: WAL, created_at, ipborg's tables. */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('public_grids') "
                                      "WHERE name = 'created_at'"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('secret_grids') "
                                      "WHERE name = 'created_at'"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                      "('ipborg_meta', 'ipborg_seq')"), 2);

    assert_int_equal(put_ok(st, GRID_PUBLIC), 90);
    assert_int_equal(put_ok(st, GRID_SECRET), 45);

    struct grid_record r;
    char err[STORE_ERRLEN] = "";
    assert_int_equal(store_get(st, GRID_PUBLIC, 90, &r, err), STORE_OK);
    struct grid_record s = sample(0);
    assert_string_equal(r.grid_data, s.grid_data);
    assert_string_equal(r.code_cells, s.code_cells);
    assert_int_equal(r.secret, 0);
    assert_non_null(r.created_at);
    /* "YYYY-MM-DDTHH:MM:SS.sssZ" */
    assert_int_equal(strlen(r.created_at), 24);
    assert_int_equal(r.created_at[10], 'T');
    assert_int_equal(r.created_at[23], 'Z');
    grid_record_clear(&r);
    store_close(st);

    /* Reopened: still there, still served, legacy rows still without created_at. */
    st = open_ok(f, 0);
    assert_int_equal(store_get(st, GRID_SECRET, 45, &r, err), STORE_OK);
    assert_int_equal(r.secret, 1);
    grid_record_clear(&r);
    assert_int_equal(store_get(st, GRID_PUBLIC, 89, &r, err), STORE_OK);
    assert_null(r.created_at);
    grid_record_clear(&r);
    store_close(st);
    assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

/* Legacy code_cells come back as stored: SQL NULL or the text "null". */
struct scan_counts {
    int rows, sql_null, text_null;
    int64_t last_id;
};

static int count_nulls(void *ctx, const struct grid_record *rec, char *err)
{
    struct scan_counts *n = ctx;
    if (rec->id <= n->last_id) {
        snprintf(err, STORE_ERRLEN, "id %lld after %lld", (long long)rec->id,
                 (long long)n->last_id);
        return 1;
    }
    n->last_id = rec->id;
    n->rows++;
    if (!rec->code_cells)
        n->sql_null++;
    else if (strcmp(rec->code_cells, "null") == 0)
        n->text_null++;
    return 0;
}

static int stop_at_third(void *ctx, const struct grid_record *rec, char *err)
{
    (void)rec;
    int *n = ctx;
    if (++*n == 3) {
        snprintf(err, STORE_ERRLEN, "stopped by the callback");
        return 1;
    }
    return 0;
}

static void test_scan_and_nulls(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);
    struct store *st = open_ok(f, STORE_READONLY);
    char err[STORE_ERRLEN] = "";
    struct scan_counts n = {0, 0, 0, 0};
    if (fixture_scan(st, GRID_PUBLIC, count_nulls, &n, err) != STORE_OK)
        fail_msg("scan: %s", err);
    assert_int_equal(n.rows, 60);
    assert_int_equal(n.sql_null, 10);
    assert_int_equal(n.text_null, 9);

    int k = 0;
    assert_int_equal(fixture_scan(st, GRID_SECRET, stop_at_third, &k, err), STORE_ERROR);
    assert_string_equal(err, "stopped by the callback");
    assert_int_equal(k, 3);
    /* The connection is usable after a stopped scan. */
    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_SECRET, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 25);
    store_close(st);
}

static void test_count_exists_nth(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);
    struct store *st = open_ok(f, 0);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    char err[STORE_ERRLEN] = "";

    /* The ids of each table, in order, from the expected file. */
    int64_t ids[GRID_TABLES][100];
    int nids[GRID_TABLES] = {0, 0};
    char *all = read_vector("legacy/legacy_small.expected.jsonl", NULL);
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *exp = parse(line);
        int t = strcmp(json_string_value(json_object_get(exp, "table")), "secret_grids") == 0;
        ids[t][nids[t]++] = json_integer_value(json_object_get(exp, "id"));
        json_decref(exp);
    }
    free(all);
    assert_int_equal(nids[GRID_PUBLIC], 60);
    assert_int_equal(nids[GRID_SECRET], 25);

    for (int t = 0; t < GRID_TABLES; t++) {
        int64_t rows = -1, max = -1, max2 = -1;
        assert_int_equal(ops->count(c, (enum grid_table)t, &rows, &max, err), STORE_OK);
        assert_int_equal(rows, nids[t]);
        assert_int_equal(max, t == GRID_PUBLIC ? 89 : 44);
        assert_int_equal(ops->max_id(c, (enum grid_table)t, &max2, err), STORE_OK);
        assert_int_equal(max2, max);
        int j = 0;
        for (int64_t id = 1; id <= max + 1; id++) {
            int there = j < nids[t] && ids[t][j] == id;
            assert_int_equal(ops->exists(c, (enum grid_table)t, id, err),
                             there ? STORE_OK : STORE_NOT_FOUND);
            j += there;
        }
        for (int k = 0; k < nids[t]; k++) {
            int64_t id = 0;
            assert_int_equal(ops->nth_id(c, (enum grid_table)t, k, &id, err), STORE_OK);
            assert_int_equal(id, ids[t][k]);
        }
        int64_t id;
        assert_int_equal(ops->nth_id(c, (enum grid_table)t, nids[t], &id, err),
                         STORE_NOT_FOUND);
    }
    struct grid_record r;
    assert_int_equal(store_get(st, GRID_PUBLIC, 90, &r, err), STORE_NOT_FOUND);
    char *gd;
    size_t len;
    assert_int_equal(store_get_grid_data(st, GRID_SECRET, 45, &gd, &len, err), STORE_NOT_FOUND);
    store_close(st);
}

/* --- the id index (/random's existence checks) ------------------------------------ */

static void raw_exec(const char *path, const char *sql);

static long long index_count(const char *path)
{
    return raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                         "name IN ('ipborg_public_grids_id', 'ipborg_secret_grids_id')");
}

/* exists answers as the table says, for every id up to one past the largest. */
static void assert_exists_matches(struct store *st, const char *path)
{
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    char err[STORE_ERRLEN] = "";
    for (int t = 0; t < GRID_TABLES; t++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s",
                 store_table_name((enum grid_table)t));
        long long max = raw_int(path, sql);
        assert_true(max > 0);
        for (long long id = 0; id <= max + 1; id++) {
            snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id = %lld",
                     store_table_name((enum grid_table)t), id);
            int there = raw_int(path, sql) > 0;
            assert_int_equal(ops->exists(c, (enum grid_table)t, id, err),
                             there ? STORE_OK : STORE_NOT_FOUND);
        }
    }
}

static void test_id_index(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);
    /* Read-only on the old file: nothing is added, exists reads the table. */
    struct store *st = open_ok(f, STORE_READONLY);
    assert_exists_matches(st, f->path);
    store_close(st);
    assert_int_equal(index_count(f->path), 0);

    /* Read-write: the index of each table is made, and it answers. */
    st = open_ok(f, 0);
    assert_int_equal(index_count(f->path), 2);
    put_ok(st, GRID_PUBLIC);
    put_ok(st, GRID_SECRET);
    assert_exists_matches(st, f->path);
    int64_t id = 0;
    char err[STORE_ERRLEN] = "";
    for (int i = 0; i < 50; i++) {
        assert_int_equal(store_random_id(st, GRID_PUBLIC, &id, err), STORE_OK);
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM public_grids WHERE id = %lld",
                 (long long)id);
        assert_int_equal(raw_int(f->path, sql), 1);
    }

    /* The index dropped under a live connection: exists goes on, from the table. */
    raw_exec(f->path, "DROP INDEX ipborg_public_grids_id; DROP INDEX ipborg_secret_grids_id");
    assert_exists_matches(st, f->path);
    store_close(st);

    /* The next read-write open makes them again. */
    st = open_ok(f, 0);
    assert_int_equal(index_count(f->path), 2);
    assert_exists_matches(st, f->path);
    store_close(st);
}

/* --- ids ---------------------------------------------------------------------- */

static void test_ids_never_reused(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    copy_legacy(f);
    struct store *st = open_ok(f, 0);
    /* Deleting the newest legacy row: 89 stays taken. */
    assert_int_equal(store_delete(st, GRID_PUBLIC, 89, err), STORE_OK);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 89, err), STORE_NOT_FOUND);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 90);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 90, err), STORE_OK);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 91);
    store_close(st);

    /* After a reopen, too; and in a table emptied completely. */
    st = open_ok(f, 0);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 91, err), STORE_OK);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 92);
    for (int64_t id = 1; id <= 44; id++) {
        int rc = store_delete(st, GRID_SECRET, id, err);
        assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
    }
    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_SECRET, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(max, 0);
    assert_int_equal(put_ok(st, GRID_SECRET), 45);
    store_close(st);
}

static void test_fresh_database(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    int64_t rows = -1, max = -1, id;
    assert_int_equal(store_count(st, GRID_PUBLIC, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(max, 0);
    assert_int_equal(store_random_id(st, GRID_PUBLIC, &id, err), STORE_NOT_FOUND);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 1);
    assert_int_equal(put_ok(st, GRID_SECRET), 1);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 2);

    /* A record with SQL NULLs goes in and comes out as NULLs. */
    struct grid_record r = sample(0), back;
    r.code_cells = NULL;
    r.secret = -1;
    assert_int_equal(store_put(st, GRID_PUBLIC, &r, &id, err), STORE_OK);
    assert_int_equal(store_get(st, GRID_PUBLIC, id, &back, err), STORE_OK);
    assert_null(back.code_cells);
    assert_int_equal(back.secret, -1);
    grid_record_clear(&back);
    store_close(st);

    /* Read-only on the new file sees the same. */
    st = open_ok(f, STORE_READONLY);
    assert_int_equal(store_count(st, GRID_PUBLIC, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 3);
    char *v = NULL;
    assert_int_equal(store_backend(st)->meta_get(conn_of(st), "schema_version", &v, err),
                     STORE_OK);
    assert_string_equal(v, "1");
    free(v);
    store_close(st);
}

static void test_random_uniform(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    for (int i = 0; i < 30; i++)
        put_ok(st, GRID_PUBLIC);
    /* Keep 10 ids spread with gaps: 2 5 8 ... 29 plus the max, 30. */
    int keep[31] = {0};
    int kept[10], nk = 0;
    for (int id = 2; nk < 9; id += 3)
        keep[id] = 1, kept[nk++] = id;
    keep[30] = 1, kept[nk++] = 30;
    for (int id = 1; id <= 30; id++)
        if (!keep[id])
            assert_int_equal(store_delete(st, GRID_PUBLIC, id, err), STORE_OK);

    int hits[31] = {0};
    const int draws = 20000;
    for (int i = 0; i < draws; i++) {
        int64_t id = 0;
        assert_int_equal(store_random_id(st, GRID_PUBLIC, &id, err), STORE_OK);
        assert_true(id >= 1 && id <= 30);
        assert_true(keep[id]);
        hits[id]++;
    }
    for (int i = 0; i < nk; i++) {
        int h = hits[kept[i]];
        if (h < 1200 || h > 2800)
            fail_msg("id %d drawn %d times of %d (expected about 2000)", kept[i], h, draws);
    }
    int64_t id;
    assert_int_equal(store_random_id(st, GRID_SECRET, &id, err), STORE_NOT_FOUND);
    store_close(st);
}

/* --- salts -------------------------------------------------------------------------- */

static void test_salts_fresh(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    char *pub = NULL, *sec = NULL, *pub2 = NULL, *sec2 = NULL;
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_OK);
    assert_true(strlen(pub) >= 16);
    assert_string_not_equal(pub, sec);
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub2, &sec2, err), STORE_OK);
    assert_string_equal(pub, pub2);
    assert_string_equal(sec, sec2);
    free(pub2);
    free(sec2);
    store_close(st);

    /* Another open (read-only too) finds the same. */
    st = open_ok(f, STORE_READONLY);
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub2, &sec2, err), STORE_OK);
    assert_string_equal(pub, pub2);
    assert_string_equal(sec, sec2);
    free(pub2);
    free(sec2);
    store_close(st);
    free(pub);
    free(sec);
}

static void test_salts_env(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    char *pub = NULL, *sec = NULL;
    assert_int_equal(store_resolve_salts(st, "public", "secret", 0, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "public");
    assert_string_equal(sec, "secret");
    free(pub);
    free(sec);
    /* Stored: no environment needed any more. */
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "public");
    assert_string_equal(sec, "secret");
    free(pub);
    free(sec);
    /* Different ones are refused... */
    pub = sec = NULL;
    assert_int_equal(store_resolve_salts(st, "other", "secret", 0, &pub, &sec, err),
                     STORE_ERROR);
    assert_null(pub);
    assert_non_null(strstr(err, "HASHIDS_PUBLIC_SALT"));
    /* ...unless forced, which uses them for this run only. */
    assert_int_equal(store_resolve_salts(st, "other", "other2", 1, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "other");
    assert_string_equal(sec, "other2");
    free(pub);
    free(sec);
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "public");
    assert_string_equal(sec, "secret");
    free(pub);
    free(sec);
    store_close(st);
}

static void test_salts_legacy(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    copy_legacy(f);
    size_t n0, n1;
    char *before = file_bytes(f->path, &n0);

    /* Read-only: env salts are used and nothing is written. */
    struct store *st = open_ok(f, STORE_READONLY);
    char *pub = NULL, *sec = NULL;
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_ERROR);
    assert_non_null(strstr(err, "HASHIDS_PUBLIC_SALT"));
    assert_int_equal(store_resolve_salts(st, "public", "secret", 0, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "public");
    free(pub);
    free(sec);
    store_close(st);
    char *after = file_bytes(f->path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);

    /* Read-write: grids, no salts, no environment -> refused, naming the variables. */
    st = open_ok(f, 0);
    pub = sec = NULL;
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_ERROR);
    assert_non_null(strstr(err, "HASHIDS_PUBLIC_SALT"));
    assert_non_null(strstr(err, "HASHIDS_SECRET_SALT"));
    assert_null(pub);
    assert_int_equal(store_resolve_salts(st, "public", "secret", 0, &pub, &sec, err), STORE_OK);
    free(pub);
    free(sec);
    assert_int_equal(store_resolve_salts(st, NULL, NULL, 0, &pub, &sec, err), STORE_OK);
    assert_string_equal(pub, "public");
    assert_string_equal(sec, "secret");
    free(pub);
    free(sec);
    store_close(st);
}

/* meta_set never overwrites. */
static void test_meta(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    char *v = NULL;
    assert_int_equal(ops->meta_get(c, "k", &v, err), STORE_NOT_FOUND);
    assert_null(v);
    assert_int_equal(ops->meta_set(c, "k", "first", err), STORE_OK);
    assert_int_equal(ops->meta_set(c, "k", "second", err), STORE_OK);
    assert_int_equal(ops->meta_get(c, "k", &v, err), STORE_OK);
    assert_string_equal(v, "first");
    free(v);
    store_close(st);
}

/* --- concurrency ------------------------------------------------------------------- */

#define THREADS 4
#define PUTS 200

struct worker {
    struct store *st;
    int64_t ids[PUTS];
    int failed;
    char err[STORE_ERRLEN];
};

static void *put_many(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < PUTS; i++) {
        struct grid_record r = sample(i & 1);
        if (store_put(w->st, (enum grid_table)(i & 1), &r, &w->ids[i], w->err) != STORE_OK) {
            w->failed = 1;
            break;
        }
    }
    return NULL;
}

static void test_concurrent_puts(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    static struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].st = st;
        assert_int_equal(pthread_create(&th[i], NULL, put_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        if (w[i].failed)
            fail_msg("thread %d: %s", i, w[i].err);

    /* Per table, ids 1..400 each handed out exactly once, every one readable. */
    static char seen[GRID_TABLES][THREADS * PUTS / 2 + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PUTS; j++) {
            int t = j & 1;
            int64_t id = w[i].ids[j];
            assert_true(id >= 1 && id <= THREADS * PUTS / 2);
            assert_false(seen[t][id]);
            seen[t][id] = 1;
            struct grid_record r;
            assert_int_equal(store_get(st, (enum grid_table)t, id, &r, err), STORE_OK);
            assert_int_equal(r.secret, t);
            grid_record_clear(&r);
        }
    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_PUBLIC, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, THREADS * PUTS / 2);
    store_close(st);
}

/* Group commit: many threads putting at once share transactions. Each put
 * that returns STORE_OK must be committed already -- a second connection (as
 * another process would) sees the row the moment put returns -- and a row
 * that fails inside a shared transaction (here: a trigger refuses
 * ipb_version "refused") fails alone, without taking the others with it. */
#define GC_THREADS 12
#define GC_PUTS 60

struct gc_worker {
    struct store *st;
    const char *path;
    int64_t ids[GC_PUTS];
    int ok[GC_PUTS];
    char err[STORE_ERRLEN];
    int failed;
};

static void *gc_put_many(void *p)
{
    struct gc_worker *w = p;
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM public_grids WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK) {
        snprintf(w->err, sizeof w->err, "cannot open a second connection");
        w->failed = 1;
    }
    for (int i = 0; i < GC_PUTS && !w->failed; i++) {
        struct grid_record r = sample(0);
        int bad = i % 7 == 3;
        if (bad)
            r.ipb_version = "refused";
        char err[STORE_ERRLEN] = "";
        int rc = store_put(w->st, GRID_PUBLIC, &r, &w->ids[i], err);
        if (bad) {
            if (rc != STORE_ERROR || !strstr(err, "refused")) {
                snprintf(w->err, sizeof w->err, "put %d: a refused row gave %d (%s)", i, rc, err);
                w->failed = 1;
            }
            continue;
        }
        if (rc != STORE_OK) {
            snprintf(w->err, sizeof w->err, "put %d: %s", i, err);
            w->failed = 1;
            break;
        }
        w->ok[i] = 1;
        sqlite3_bind_int64(q, 1, w->ids[i]);
        int seen = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
        sqlite3_reset(q);
        if (seen != 1) {
            snprintf(w->err, sizeof w->err, "put %d returned id %lld before it was committed",
                     i, (long long)w->ids[i]);
            w->failed = 1;
        }
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return NULL;
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    put_ok(st, GRID_PUBLIC);   /* creates the schema */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON public_grids "
                                      "WHEN NEW.ipb_version = 'refused' "
                                      "BEGIN SELECT RAISE(ABORT, 'refused'); END",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    static struct gc_worker w[GC_THREADS];
    pthread_t th[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].st = st;
        w[i].path = f->path;
        assert_int_equal(pthread_create(&th[i], NULL, gc_put_many, &w[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < GC_THREADS; i++)
        if (w[i].failed)
            fail_msg("thread %d: %s", i, w[i].err);
    store_close(st);

    /* From a fresh connection: exactly the acknowledged rows, ids distinct,
     * no refused row. */
    static char seen[GC_THREADS * GC_PUTS + 2];
    memset(seen, 0, sizeof seen);
    int acked = 1;
    for (int i = 0; i < GC_THREADS; i++)
        for (int j = 0; j < GC_PUTS; j++) {
            if (!w[i].ok[j])
                continue;
            int64_t id = w[i].ids[j];
            assert_true(id >= 2 && id < (int64_t)sizeof seen);
            assert_false(seen[id]);
            seen[id] = 1;
            acked++;
        }
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), sum(ipb_version = 'refused') "
                                            "FROM public_grids", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), acked);
    assert_int_equal(sqlite3_column_int(q, 1), 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    (void)err;
}

/* Several stores (as several processes would) creating the schema at once. */
static void *open_close(void *p)
{
    struct fixture *f = p;
    char err[STORE_ERRLEN];
    struct store *st = store_open(f->url, 0, err);
    if (!st)
        return strdup(err);
    store_close(st);
    return NULL;
}

static void test_concurrent_create(void **state)
{
    struct fixture *f = *state;
    copy_legacy(f);     /* an old file: every opener wants to upgrade it */
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, open_close, f), 0);
    for (int i = 0; i < 8; i++) {
        void *msg;
        pthread_join(th[i], &msg);
        if (msg)
            fail_msg("open %d: %s", i, (char *)msg);
    }
    struct store *st = open_ok(f, 0);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 90);
    store_close(st);
}

/* --- bulk load ------------------------------------------------------------------------ */

static void test_load_refuses_nonempty(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    copy_legacy(f);
    struct store *st = open_ok(f, 0);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    assert_int_equal(ops->load_begin(c, 0, err), STORE_ERROR);
    assert_non_null(strstr(err, "holds 85 grids"));
    assert_non_null(strstr(err, "public_grids: 60"));
    assert_non_null(strstr(err, "--replace"));
    assert_non_null(strstr(err, f->path));
    check_legacy_rows(st);
    /* The connection is still fine for puts. */
    assert_int_equal(put_ok(st, GRID_PUBLIC), 90);
    store_close(st);
}

static void test_load_replace(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    copy_legacy(f);
    struct store *st = open_ok(f, 0);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    assert_int_equal(ops->load_begin(c, 1, err), STORE_OK);
    struct grid_record r = sample(0);
    r.id = 5;
    r.created_at = "2016-03-01T10:00:00.000000Z";
    assert_int_equal(ops->load_row(c, GRID_PUBLIC, &r, err), STORE_OK);
    r.id = 7;
    r.created_at = NULL;
    r.code_cells = "null";
    assert_int_equal(ops->load_row(c, GRID_PUBLIC, &r, err), STORE_OK);
    /* A duplicate id fails, naming table and id. */
    assert_int_equal(ops->load_row(c, GRID_PUBLIC, &r, err), STORE_ERROR);
    assert_non_null(strstr(err, "public_grids id 7"));
    assert_int_equal(ops->meta_set(c, META_PUBLIC_SALT, "p", err), STORE_OK);
    assert_int_equal(ops->meta_set(c, META_SECRET_SALT, "s", err), STORE_OK);
    assert_int_equal(ops->load_end(c, 1, err), STORE_OK);

    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_PUBLIC, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(max, 7);
    assert_int_equal(store_count(st, GRID_SECRET, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 0);
    struct grid_record back;
    assert_int_equal(store_get(st, GRID_PUBLIC, 5, &back, err), STORE_OK);
    assert_string_equal(back.created_at, "2016-03-01T10:00:00.000000Z");
    grid_record_clear(&back);
    assert_int_equal(store_get(st, GRID_PUBLIC, 7, &back, err), STORE_OK);
    assert_null(back.created_at);
    assert_string_equal(back.code_cells, "null");
    grid_record_clear(&back);
    char *v = NULL;
    assert_int_equal(ops->meta_get(c, META_PUBLIC_SALT, &v, err), STORE_OK);
    assert_string_equal(v, "p");
    free(v);
    /* Sequences: max(id) + 1, and 1 for the emptied secret table. */
    assert_int_equal(put_ok(st, GRID_PUBLIC), 8);
    assert_int_equal(put_ok(st, GRID_SECRET), 1);
    store_close(st);
}

/* A larger load goes through in one transaction, quickly. */
static void test_load_many(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    void *c = conn_of(st);
    const struct store_ops *ops = store_backend(st);
    assert_int_equal(ops->load_begin(c, 0, err), STORE_OK);
    struct grid_record r = sample(1);
    for (int i = 1; i <= 20000; i++) {
        r.id = 3 * i;
        assert_int_equal(ops->load_row(c, GRID_SECRET, &r, err), STORE_OK);
    }
    assert_int_equal(ops->load_end(c, 1, err), STORE_OK);
    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_SECRET, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 20000);
    assert_int_equal(max, 60000);
    assert_int_equal(put_ok(st, GRID_SECRET), 60001);
    store_close(st);
}

/* --- errors ------------------------------------------------------------------------------ */

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    FILE *out = fopen(f->path, "wb");
    assert_non_null(out);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not an SQLite database\n", out);
    fclose(out);
    size_t n0, n1;
    char *before = file_bytes(f->path, &n0);
    for (int ro = 0; ro < 2; ro++) {
        err[0] = '\0';
        assert_null(store_open(f->url, ro ? STORE_READONLY : 0, err));
        assert_non_null(strstr(err, f->path));
        assert_non_null(strstr(err, "not a database"));
        assert_null(strchr(err, '\n'));
    }
    char *after = file_bytes(f->path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

static void test_missing_readonly(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    assert_null(store_open(f->url, STORE_READONLY, err));
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "does not exist"));
    assert_false(file_exists(f->path));

    /* An SQLite file without the grid tables is no grid database. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE other(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_null(store_open(f->url, STORE_READONLY, err));
    assert_non_null(strstr(err, "public_grids"));

    /* A directory that does not exist, read-write. */
    char url[256];
    snprintf(url, sizeof url, "sqlite:///%s/no/such/dir/x.db", f->dir);
    assert_null(store_open(url, 0, err));
    assert_non_null(strstr(err, "/no/such/dir/x.db"));
}

/* A writer holding the lock past busy_timeout: put reports STORE_UNAVAILABLE
 * and leaves no row behind. Takes the busy timeout (5 s). */
static void test_put_busy(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    put_ok(st, GRID_PUBLIC);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct grid_record r = sample(0);
    int64_t id = -1;
    assert_int_equal(store_put(st, GRID_PUBLIC, &r, &id, err), STORE_UNAVAILABLE);
    assert_int_equal(id, -1);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "locked"));
    /* Reads go on meanwhile (WAL). */
    int64_t rows, max;
    assert_int_equal(store_count(st, GRID_PUBLIC, &rows, &max, err), STORE_OK);
    assert_int_equal(rows, 1);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(put_ok(st, GRID_PUBLIC), 2);
    store_close(st);
}

/* A file another process holds locked (rollback journal, EXCLUSIVE lock):
 * connecting gives up after the busy timeout with a message naming the file,
 * as "unavailable" (store.h: busy right now). Takes the busy timeout (5 s). */
static void test_open_locked(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    copy_legacy(f);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    assert_null(store_open(f->url, STORE_READONLY, err));
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "locked"));
    assert_null(strchr(err, '\n'));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    struct store *st = open_ok(f, STORE_READONLY);
    store_close(st);
}

/* --- the deletion log ------------------------------------------------------------ */

struct seen_log {
    int n, resets;
    struct store_deletion d[16];
};

static void collect(void *ctx, const struct store_deletion *d)
{
    struct seen_log *s = ctx;
    if (!d) {
        s->resets++;
        return;
    }
    assert_true(s->n < 16);
    s->d[s->n++] = *d;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* Looks until n deletions have come (or 50 empty looks). */
static void watch_until(struct store *st, void *w, int64_t *cursor, struct seen_log *s, int n)
{
    char err[STORE_ERRLEN] = "";
    for (int i = 0; i < 50 && s->n < n; i++)
        if (store_watch_next(st, w, cursor, 20, collect, s, err) != STORE_OK)
            fail_msg("watch_next: %s", err);
}

static void test_deletion_log(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    for (int i = 0; i < 3; i++)
        put_ok(st, GRID_PUBLIC);
    put_ok(st, GRID_SECRET);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 3, err), STORE_OK);   /* before the watch */

    void *w = NULL;
    assert_int_equal(store_watch_open(st, &w, err), STORE_OK);
    struct seen_log seen = {0};
    int64_t cursor = -1;
    assert_int_equal(store_watch_next(st, w, &cursor, 0, collect, &seen, err), STORE_OK);
    assert_int_equal(cursor, 1);          /* the end of the log: older ones are not reported */
    assert_int_equal(seen.n, 0);

    /* Deletions by another connection (another process), in commit order. */
    struct store *other = open_ok(f, 0);
    assert_int_equal(store_delete(other, GRID_PUBLIC, 2, err), STORE_OK);
    assert_int_equal(store_delete(other, GRID_SECRET, 1, err), STORE_OK);
    assert_int_equal(store_delete(other, GRID_SECRET, 1, err), STORE_NOT_FOUND);
    assert_int_equal(store_delete(other, GRID_PUBLIC, 99, err), STORE_NOT_FOUND);
    watch_until(st, w, &cursor, &seen, 2);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.d[0].table, GRID_PUBLIC);
    assert_int_equal(seen.d[0].id, 2);
    assert_int_equal(seen.d[0].seq, 2);
    assert_int_equal(seen.d[1].table, GRID_SECRET);
    assert_int_equal(seen.d[1].id, 1);
    assert_int_equal(cursor, 3);
    /* Nothing new (a delete that found nothing logs nothing): nothing reported. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_watch_next(st, w, &cursor, 10, collect, &seen, err), STORE_OK);
    assert_int_equal(seen.n, 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ipborg_deleted"), 3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ipborg_deleted WHERE "
                                      "deleted_at LIKE '____-__-__T__:__:__.___Z'"), 3);

    /* A new watch goes on from a cursor kept across it (a reconnect). */
    store_watch_close(st, w);
    assert_int_equal(store_delete(other, GRID_PUBLIC, 1, err), STORE_OK);
    assert_int_equal(store_watch_open(st, &w, err), STORE_OK);
    watch_until(st, w, &cursor, &seen, 3);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.d[2].id, 1);
    assert_int_equal(seen.resets, 0);

    /* A log that went backwards: "may have missed some", once. */
    raw_exec(f->path, "DELETE FROM ipborg_deleted");
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_watch_next(st, w, &cursor, 10, collect, &seen, err), STORE_OK);
    assert_int_equal(seen.resets, 1);
    assert_int_equal(cursor, 0);
    store_watch_close(st, w);
    store_close(other);
    store_close(st);
}

/* The row and its log entry go together: when the log cannot be written,
 * the row stays. */
static void test_delete_is_atomic(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    put_ok(st, GRID_PUBLIC);
    put_ok(st, GRID_PUBLIC);
    raw_exec(f->path, "CREATE TRIGGER refuse BEFORE INSERT ON ipborg_deleted "
                      "BEGIN SELECT RAISE(ABORT, 'log refused'); END");
    assert_int_equal(store_delete(st, GRID_PUBLIC, 2, err), STORE_ERROR);
    assert_non_null(strstr(err, "log refused"));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM public_grids"), 2);
    raw_exec(f->path, "DROP TRIGGER refuse");
    assert_int_equal(store_delete(st, GRID_PUBLIC, 2, err), STORE_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM public_grids"), 1);
    assert_int_equal(raw_int(f->path, "SELECT id FROM ipborg_deleted WHERE "
                                      "tbl = 'public_grids'"), 2);
    /* The deleted newest id is not handed out again. */
    assert_int_equal(put_ok(st, GRID_PUBLIC), 3);
    store_close(st);
}

/* A file made before the deletion log gains it when opened read-write. */
static void test_deletion_log_added(void **state)
{
    struct fixture *f = *state;
    char err[STORE_ERRLEN] = "";
    struct store *st = open_ok(f, 0);
    put_ok(st, GRID_PUBLIC);
    store_close(st);
    raw_exec(f->path, "DROP TABLE ipborg_deleted");
    st = open_ok(f, 0);
    assert_int_equal(store_delete(st, GRID_PUBLIC, 1, err), STORE_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ipborg_deleted"), 1);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_legacy_readonly_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_readwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_exists_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_uniform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_salts_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_salts_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_salts_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_nonempty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_log_added, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
