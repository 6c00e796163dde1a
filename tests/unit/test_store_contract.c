/* test_store_contract.c -- the store interface's contract (store.h), the same
 * tests run against each backend: a SQLite file and a PostgreSQL database of
 * its own on the server of IPBORG_TEST_PG_URL (make test starts one; without
 * it the PostgreSQL half fails, never skips). Only store_* functions are used,
 * as the tools use them; what one backend does inside (SQL, files, COPY)
 * belongs in test_store_sqlite.c / test_store_pg.c. */
#include "unit.h"
#include "store_fixture.h"

#include <ftw.h>
#include <sys/stat.h>

#define GRID1 "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 20]]]}"

struct fixture {
    char dir[64];
    struct fixture_db db;
    struct store *st;
    char err[STORE_ERRLEN];
};

static int setup(void **state, const char *backend)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ipborg-contract-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fixture_create(&f->db, backend, f->dir);
    f->st = store_open(f->db.url, 0, f->err);
    if (!f->st)
        fail_msg("store_open(%s): %s", f->db.url, f->err);
    *state = f;
    return 0;
}

static int setup_sqlite(void **state) { return setup(state, "sqlite"); }
static int setup_pg(void **state) { return setup(state, "postgresql"); }

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    fixture_drop(&f->db);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

#define OK(call)                                                                 \
    do {                                                                         \
        int rc_ = (call);                                                        \
        if (rc_ != STORE_OK)                                                     \
            fail_msg("%s -> %d: %s", #call, rc_, f->err);                        \
    } while (0)

static struct grid_record sample(int64_t id, const char *created_at)
{
    struct grid_record r = {
        .id = id,
        .ipb_version = (char *)"1.9.0",
        .python_version = (char *)"[3, 11, 7, \"final\", 0]",
        .grid_data = (char *)GRID1,
        .code_cells = (char *)"[\"grid = BlockGrid(1, 1)\"]",
        .ipb_class = (char *)"BlockGrid",
        .secret = 0,
        .created_at = (char *)created_at,
    };
    return r;
}

static int64_t put(struct fixture *f, enum grid_table t)
{
    struct grid_record r = sample(0, NULL);
    r.secret = t == GRID_SECRET;
    int64_t id = 0;
    OK(store_put(f->st, t, &r, &id, f->err));
    return id;
}

static int64_t rows_of(struct fixture *f, enum grid_table t)
{
    int64_t rows = 0, max = 0;
    OK(store_count(f->st, t, &rows, &max, f->err));
    return rows;
}

static void reopen(struct fixture *f, int flags)
{
    store_close(f->st);
    f->st = store_open(f->db.url, flags, f->err);
    if (!f->st)
        fail_msg("store_open(%s): %s", f->db.url, f->err);
}

/* --- ids ------------------------------------------------------------------------ */

/* Ids grow and are never given twice, also after the newest is deleted and
 * the store reopened. */
static void test_ids_never_reused(void **state)
{
    struct fixture *f = *state;
    int64_t prev = 0;
    for (int i = 0; i < 5; i++) {
        int64_t id = put(f, GRID_PUBLIC);
        assert_true(id > prev);
        prev = id;
    }
    assert_int_equal(prev, 5);
    OK(store_delete(f->st, GRID_PUBLIC, 5, f->err));
    assert_int_equal(store_delete(f->st, GRID_PUBLIC, 5, f->err), STORE_NOT_FOUND);
    assert_int_equal(put(f, GRID_PUBLIC), 6);
    OK(store_delete(f->st, GRID_PUBLIC, 6, f->err));
    reopen(f, 0);
    assert_int_equal(put(f, GRID_PUBLIC), 7);
    assert_int_equal(store_delete(f->st, GRID_SECRET, 1, f->err), STORE_NOT_FOUND);
    int64_t last = 0;
    OK(store_last_id(f->st, GRID_PUBLIC, &last, f->err));
    assert_int_equal(last, 7);
    OK(store_last_id(f->st, GRID_SECRET, &last, f->err));
    assert_int_equal(last, 0);
}

/* --- cursors -------------------------------------------------------------------- */

static void test_cursor(void **state)
{
    struct fixture *f = *state;
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    /* An empty table: at once the end. */
    OK(store_cursor_open(f->st, GRID_PUBLIC, &cur, f->err));
    assert_int_equal(store_cursor_next(cur, &rec, f->err), STORE_NOT_FOUND);
    store_cursor_close(cur);

    for (int i = 0; i < 30; i++)
        put(f, i % 3 ? GRID_PUBLIC : GRID_SECRET);
    OK(store_delete(f->st, GRID_PUBLIC, 4, f->err));
    OK(store_cursor_open(f->st, GRID_PUBLIC, &cur, f->err));
    int64_t n = 0, prev = 0;
    int rc;
    while ((rc = store_cursor_next(cur, &rec, f->err)) == STORE_OK) {
        assert_true(rec->id > prev);
        assert_int_not_equal(rec->id, 4);
        assert_string_equal(rec->ipb_class, "BlockGrid");
        assert_non_null(rec->created_at);
        prev = rec->id;
        n++;
    }
    assert_int_equal(rc, STORE_NOT_FOUND);
    store_cursor_close(cur);
    assert_int_equal(n, rows_of(f, GRID_PUBLIC));

    /* Stopped early: the store goes on working. */
    OK(store_cursor_open(f->st, GRID_SECRET, &cur, f->err));
    OK(store_cursor_next(cur, &rec, f->err));
    store_cursor_close(cur);
    assert_int_equal(put(f, GRID_SECRET), 11);
    /* Two stores' cursors at once on one thread. */
    struct store *other = store_open(f->db.url, STORE_READONLY, f->err);
    assert_non_null(other);
    struct store_cursor *c2 = NULL;
    OK(store_cursor_open(f->st, GRID_PUBLIC, &cur, f->err));
    OK(store_cursor_open(other, GRID_PUBLIC, &c2, f->err));
    const struct grid_record *r2;
    OK(store_cursor_next(cur, &rec, f->err));
    OK(store_cursor_next(c2, &r2, f->err));
    assert_int_equal(rec->id, r2->id);
    store_cursor_close(c2);
    store_cursor_close(cur);
    store_close(other);
}

/* --- loads --------------------------------------------------------------------- */

static void test_load_refuses_nonempty(void **state)
{
    struct fixture *f = *state;
    put(f, GRID_PUBLIC);
    put(f, GRID_PUBLIC);
    put(f, GRID_SECRET);
    assert_int_equal(store_load_begin(f->st, 0, f->err), STORE_ERROR);
    assert_non_null(strstr(f->err, "holds 3 grids (public_grids: 2, secret_grids: 1)"));
    assert_non_null(strstr(f->err, "--replace"));
    assert_int_equal(rows_of(f, GRID_PUBLIC), 2);
    /* No load is open: a row cannot be loaded, a put commits. */
    struct grid_record r = sample(9, NULL);
    assert_int_equal(store_load_row(f->st, GRID_PUBLIC, &r, f->err), STORE_ERROR);
    assert_int_equal(put(f, GRID_PUBLIC), 3);
}

static void test_load_rollback(void **state)
{
    struct fixture *f = *state;
    put(f, GRID_PUBLIC);
    put(f, GRID_PUBLIC);
    OK(store_delete(f->st, GRID_PUBLIC, 2, f->err));
    char *p = NULL, *s = NULL;
    OK(store_resolve_salts(f->st, "pub", "sec", 0, &p, &s, f->err));
    free(p);
    free(s);
    OK(store_load_begin(f->st, 1, f->err));
    struct grid_record r = sample(100, NULL);
    OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    OK(store_load_salts(f->st, "x", "y", f->err));
    OK(store_load_last_id(f->st, GRID_PUBLIC, 500, f->err));
    OK(store_load_end(f->st, 0, f->err));
    /* Nothing of the load, and --replace's emptying undone too. */
    assert_int_equal(rows_of(f, GRID_PUBLIC), 1);
    OK(store_salts_get(f->st, &p, &s, f->err));
    assert_string_equal(p, "pub");
    free(p);
    free(s);
    int64_t last = 0;
    OK(store_last_id(f->st, GRID_PUBLIC, &last, f->err));
    assert_int_equal(last, 2);
    assert_int_equal(put(f, GRID_PUBLIC), 3);
}

static void test_load_empty(void **state)
{
    struct fixture *f = *state;
    OK(store_load_begin(f->st, 0, f->err));
    OK(store_load_end(f->st, 1, f->err));
    assert_int_equal(put(f, GRID_PUBLIC), 1);
    /* --replace with nothing to load: the target starts over. */
    put(f, GRID_PUBLIC);
    OK(store_load_begin(f->st, 1, f->err));
    OK(store_load_end(f->st, 1, f->err));
    assert_int_equal(put(f, GRID_PUBLIC), 1);
    assert_int_equal(put(f, GRID_SECRET), 1);
}

/* What a move carries besides grids: the high-water marks (the next id is
 * above every id the source ever gave), the deletion log, the salts. */
static void test_load_carries_marks_log_salts(void **state)
{
    struct fixture *f = *state;
    OK(store_load_begin(f->st, 0, f->err));
    struct grid_record r = sample(3, "2024-05-06T07:08:09.5Z");
    OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    struct store_deletion d = {.seq = 1, .table = GRID_PUBLIC, .id = 9,
                               .deleted_at = "2024-05-07T00:00:00Z"};
    OK(store_load_deletion(f->st, &d, f->err));
    d.table = GRID_SECRET;
    d.id = 4;
    d.deleted_at = NULL;
    OK(store_load_deletion(f->st, &d, f->err));
    OK(store_load_last_id(f->st, GRID_PUBLIC, 9, f->err));
    OK(store_load_last_id(f->st, GRID_SECRET, 4, f->err));
    OK(store_load_salts(f->st, "p1", "s1", f->err));
    OK(store_load_end(f->st, 1, f->err));

    int64_t last = 0;
    OK(store_last_id(f->st, GRID_PUBLIC, &last, f->err));
    assert_int_equal(last, 9);
    assert_int_equal(put(f, GRID_PUBLIC), 10);
    assert_int_equal(put(f, GRID_SECRET), 5);
    reopen(f, STORE_READONLY);
    OK(store_last_id(f->st, GRID_SECRET, &last, f->err));
    assert_int_equal(last, 5);
    char *p = NULL, *s = NULL;
    OK(store_salts_get(f->st, &p, &s, f->err));
    assert_string_equal(p, "p1");
    assert_string_equal(s, "s1");
    free(p);
    free(s);
}

struct log_seen {
    int n;
    int64_t ids[8];
    enum grid_table tables[8];
    int dated[8];
};

static void read_log(struct fixture *f, struct log_seen *x)
{
    struct store_log_cursor *log = NULL;
    const struct store_deletion *d;
    memset(x, 0, sizeof *x);
    int rc = store_log_open(f->st, &log, f->err);
    while (rc == STORE_OK && (rc = store_log_next(log, &d, f->err)) == STORE_OK) {
        if (x->n < 8) {
            x->ids[x->n] = d->id;
            x->tables[x->n] = d->table;
            x->dated[x->n] = d->deleted_at != NULL;
        }
        x->n++;
    }
    store_log_close(log);
    if (rc != STORE_NOT_FOUND)
        fail_msg("reading the deletion log: %s", f->err);
}

static void test_deletion_log(void **state)
{
    struct fixture *f = *state;
    put(f, GRID_PUBLIC);
    put(f, GRID_SECRET);
    OK(store_delete(f->st, GRID_SECRET, 1, f->err));
    OK(store_delete(f->st, GRID_PUBLIC, 1, f->err));
    /* More entries than one batch of the cursor. */
    for (int i = 0; i < 300; i++)
        put(f, GRID_SECRET);
    for (int64_t id = 2; id <= 301; id++)
        OK(store_delete(f->st, GRID_SECRET, id, f->err));
    struct log_seen x;
    read_log(f, &x);
    assert_int_equal(x.n, 302);
    assert_int_equal(x.tables[0], GRID_SECRET);
    assert_int_equal(x.tables[1], GRID_PUBLIC);
    assert_int_equal(x.ids[2], 2);
    assert_true(x.dated[0] && x.dated[1]);
    /* A replace empties the log; loaded entries come after. */
    OK(store_load_begin(f->st, 1, f->err));
    struct store_deletion d = {.table = GRID_PUBLIC, .id = 77, .deleted_at = NULL};
    OK(store_load_deletion(f->st, &d, f->err));
    OK(store_load_end(f->st, 1, f->err));
    read_log(f, &x);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 77);
}

/* A row loaded without created_at has no posted date on every backend: it
 * reads back NULL (PostgreSQL's column is NOT NULL), and stats count it as
 * undated, outside oldest/newest. */
static void test_undated_rows(void **state)
{
    struct fixture *f = *state;
    OK(store_load_begin(f->st, 0, f->err));
    for (int64_t id = 1; id <= 6; id++) {
        struct grid_record r = sample(id, id == 4 ? "2020-01-02T03:04:05Z" : NULL);
        OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    }
    OK(store_load_end(f->st, 1, f->err));
    int64_t id = put(f, GRID_PUBLIC);
    assert_int_equal(id, 7);
    struct grid_record got = {0};
    for (int64_t i = 1; i <= 7; i++) {
        OK(store_get(f->st, GRID_PUBLIC, i, &got, f->err));
        if (i == 4 || i == 7)
            assert_non_null(got.created_at);
        else
            assert_null(got.created_at);
        grid_record_clear(&got);
    }
    struct store_stats s;
    OK(store_stats(f->st, GRID_PUBLIC, &s, f->err));
    assert_int_equal(s.rows, 7);
    assert_int_equal(s.undated, 5);
    assert_non_null(strstr(s.oldest, "2020-01-02"));
    /* A cursor sees the same. */
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    int undated = 0, rc;
    OK(store_cursor_open(f->st, GRID_PUBLIC, &cur, f->err));
    while ((rc = store_cursor_next(cur, &rec, f->err)) == STORE_OK)
        undated += rec->created_at == NULL;
    store_cursor_close(cur);
    assert_int_equal(undated, 5);
}

/* Marks of undated rows do not outlive the rows: a later load into the
 * emptied table gives dated rows their dates, whatever ids they reuse. */
static void test_undated_marks_go_with_their_rows(void **state)
{
    struct fixture *f = *state;
    OK(store_load_begin(f->st, 0, f->err));
    for (int64_t id = 1; id <= 3; id++) {
        struct grid_record r = sample(id, NULL);
        OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    }
    OK(store_load_end(f->st, 1, f->err));
    for (int64_t id = 1; id <= 3; id++)
        OK(store_delete(f->st, GRID_PUBLIC, id, f->err));
    OK(store_load_begin(f->st, 0, f->err));
    struct grid_record r = sample(2, "2021-02-03T04:05:06Z");
    OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    OK(store_load_end(f->st, 1, f->err));
    struct grid_record got = {0};
    OK(store_get(f->st, GRID_PUBLIC, 2, &got, f->err));
    assert_non_null(got.created_at);
    assert_non_null(strstr(got.created_at, "2021-02-03T04:05:06"));
    grid_record_clear(&got);
}

/* --- random ---------------------------------------------------------------------- */

/* Rows of an old file with id <= 0 have no URL: never a /random pick, however
 * sparse the ids. */
static void test_random_skips_ids_without_url(void **state)
{
    struct fixture *f = *state;
    OK(store_load_begin(f->st, 0, f->err));
    for (int64_t id = -6; id <= 0; id++) {
        struct grid_record r = sample(id, NULL);
        OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    }
    struct grid_record r = sample(1000, NULL);
    OK(store_load_row(f->st, GRID_PUBLIC, &r, f->err));
    OK(store_load_end(f->st, 1, f->err));
    for (int i = 0; i < 200; i++) {
        int64_t id = 0;
        OK(store_random_id(f->st, GRID_PUBLIC, &id, f->err));
        assert_int_equal(id, 1000);
    }
    assert_int_equal(store_random_id(f->st, GRID_SECRET, &(int64_t){0}, f->err),
                     STORE_NOT_FOUND);
}

/* --- salts ----------------------------------------------------------------------- */

static void test_salts(void **state)
{
    struct fixture *f = *state;
    char *p = NULL, *s = NULL;
    assert_int_equal(store_salts_get(f->st, &p, &s, f->err), STORE_NOT_FOUND);
    /* Equal salts: refused, from the environment ... */
    assert_int_equal(store_resolve_salts(f->st, "same", "same", 0, &p, &s, f->err),
                     STORE_ERROR);
    assert_non_null(strstr(f->err, "equal"));
    assert_int_equal(store_salts_get(f->st, &p, &s, f->err), STORE_NOT_FOUND);
    OK(store_resolve_salts(f->st, "a", "b", 0, &p, &s, f->err));
    free(p);
    free(s);
    /* Other salts: refused; the advice names --force-salts only when the
     * command has it. */
    assert_int_equal(store_resolve_salts(f->st, "c", "d", 0, &p, &s, f->err), STORE_ERROR);
    assert_null(strstr(f->err, "force-salts"));
    assert_int_equal(store_resolve_salts(f->st, "c", "d", STORE_SALTS_CAN_FORCE, &p, &s,
                                         f->err), STORE_ERROR);
    assert_non_null(strstr(f->err, "--force-salts"));
    OK(store_resolve_salts(f->st, "c", "d", STORE_SALTS_FORCE, &p, &s, f->err));
    assert_string_equal(p, "c");
    free(p);
    free(s);
    /* ... and as stored (a load may store anything). */
    OK(store_load_begin(f->st, 1, f->err));
    OK(store_load_salts(f->st, "same", "same", f->err));
    OK(store_load_end(f->st, 1, f->err));
    assert_int_equal(store_resolve_salts(f->st, NULL, NULL, 0, &p, &s, f->err), STORE_ERROR);
    assert_non_null(strstr(f->err, "equal"));
}

static void test_same_database(void **state)
{
    struct fixture *f = *state;
    assert_true(store_same_database(f->db.url, f->db.url));
    struct fixture_db other;
    fixture_create(&other, f->db.backend, f->dir);
    assert_false(store_same_database(f->db.url, other.url));
    fixture_drop(&other);
    assert_false(store_same_database("sqlite:///a.db", "postgresql://h/a"));
}

/* --- messages ------------------------------------------------------------------ */

static void test_no_password_in_errors(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "postgresq://u:hunter2@127.0.0.1:1/x",
        "postgresql://u:hunt%zzer2@127.0.0.1:1/x",
        "postgresql://127.0.0.1:1/x?password=hunter2&connect_timeout=1",
        "postgresql://u:hunter2@127.0.0.1:1/x?connect_timeout=1",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char err[STORE_ERRLEN] = "";
        struct store *st = store_open(urls[i], STORE_READONLY, err);
        assert_null(st);
        if (strstr(err, "hunter2") || strstr(err, "hunt%zz"))
            fail_msg("password in: %s", err);
    }
}

#define BOTH(fn)                                                              \
    cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown),              \
    cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_ids_never_reused),
        BOTH(test_cursor),
        BOTH(test_load_refuses_nonempty),
        BOTH(test_load_rollback),
        BOTH(test_load_empty),
        BOTH(test_load_carries_marks_log_salts),
        BOTH(test_deletion_log),
        BOTH(test_undated_rows),
        BOTH(test_undated_marks_go_with_their_rows),
        BOTH(test_random_skips_ids_without_url),
        BOTH(test_salts),
        BOTH(test_same_database),
        cmocka_unit_test(test_no_password_in_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
