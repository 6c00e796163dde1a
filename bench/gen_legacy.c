/* gen_legacy.c -- synthetic grids for bench/migrate.sh: a legacy SQLite file and
 * the same rows as COPY text files (the psql \copy reference).
 *
 * Usage: gen_legacy N OUT.db OUTDIR [SEED [MIN MAX]]
 *
 * Writes N rows: every tenth row goes to secret_grids, the rest to
 * public_grids, each table with ids 1, 2, 3, ... The SQLite file has the old
 * service's schema (docs/protocol.md §6, no created_at) and holds JSON as Python's
 * json.dumps writes it (", " and ": " separators, keys in insertion order).
 * Grids are 5x5 to 30x30 blocks (MIN x MIN to MAX x MAX if given), random colours, a fixed block size per grid,
 * lines_on random; code_cells is null for one row in eight, else one to three
 * cells with newlines, quotes and a backslash, so that every escaping path of
 * both loaders is used. OUTDIR/public_grids.copy and OUTDIR/secret_grids.copy
 * hold the very same rows in COPY's text format for the columns
 * (id, ipb_version, python_version, grid_data, code_cells, ipb_class, secret).
 *
 * The generator is deterministic for a given SEED (xorshift64*), so two runs
 * make byte-identical files. It is a benchmark tool: errors stop it with one
 * line and status 1. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_grow(struct sbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) {
        fprintf(stderr, "gen_legacy: out of memory\n");
        exit(1);
    }
    b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_uint(struct sbuf *b, unsigned v)
{
    char t[12];
    int n = snprintf(t, sizeof t, "%u", v);
    sb_add(b, t, (size_t)n);
}

/* A JSON string of s (as json.dumps: \" \\ \n escaped). */
static void sb_json_string(struct sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            sb_add(b, "\\\"", 2);
        else if (*s == '\\')
            sb_add(b, "\\\\", 2);
        else if (*s == '\n')
            sb_add(b, "\\n", 2);
        else
            sb_add(b, s, 1);
    }
    sb_add(b, "\"", 1);
}

/* s in COPY's text format: backslash, tab, newline, CR escaped. */
static void copy_field(FILE *f, const char *s)
{
    if (!s) {
        fputs("\\N", f);
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        default: fputc(*s, f);
        }
    }
}

static void die_sql(sqlite3 *db, const char *what)
{
    fprintf(stderr, "gen_legacy: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static const char *const snippets[] = {
    "from ipythonblocks import BlockGrid\ngrid = BlockGrid(%u, %u, fill=(123, 234, 123))",
    "for block in grid:\n    block.red = block.col * 8 % 256\ngrid.show()",
    "grid[0, 0] = (255, 0, 0)  # \"top left\"\nprint('done\\n')",
    "for r in range(grid.height):\n    grid[r, r % grid.width] = (0, 0, 255)",
};

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5 && argc != 7) {
        fprintf(stderr, "usage: gen_legacy N OUT.db OUTDIR [SEED [MIN MAX]]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 0) {
        fprintf(stderr, "gen_legacy: N must be >= 0\n");
        return 2;
    }
    unsigned min = 5, max = 30;
    if (argc == 7) {
        min = (unsigned)strtoul(argv[5], NULL, 10);
        max = (unsigned)strtoul(argv[6], NULL, 10);
        if (min < 1 || max < min || max > 500) {
            fprintf(stderr, "gen_legacy: need 1 <= MIN <= MAX <= 500\n");
            return 2;
        }
    }
    if (argc >= 5)
        rng_state ^= strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ull;

    sqlite3 *db;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK)
        die_sql(db, "cannot open the SQLite file");
    static const char *const ddl =
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        "CREATE TABLE public_grids(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT,"
        " grid_data TEXT, secret BOOLEAN, code_cells TEXT, ipb_class TEXT, PRIMARY KEY(id));"
        "CREATE TABLE secret_grids(id INTEGER NOT NULL, ipb_version TEXT, python_version TEXT,"
        " grid_data TEXT, secret BOOLEAN, code_cells TEXT, ipb_class TEXT, PRIMARY KEY(id));"
        "BEGIN";
    if (sqlite3_exec(db, ddl, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(db, "cannot create the tables (the file must be new)");
    sqlite3_stmt *ins[2];
    for (int t = 0; t < 2; t++) {
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO %s VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 t ? "secret_grids" : "public_grids");
        if (sqlite3_prepare_v2(db, sql, -1, &ins[t], NULL) != SQLITE_OK)
            die_sql(db, "cannot prepare the insert");
    }
    FILE *copy[2];
    for (int t = 0; t < 2; t++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.copy", argv[3], t ? "secret_grids" : "public_grids");
        if (!(copy[t] = fopen(path, "w"))) {
            perror(path);
            return 1;
        }
    }

    struct sbuf grid = {0}, pyv = {0}, cells = {0}, cell = {0};
    long next_id[2] = {1, 1};
    for (long i = 0; i < n; i++) {
        int t = i % 10 == 9;
        long id = next_id[t]++;
        unsigned w = min + rnd(max - min + 1), h = min + rnd(max - min + 1), size = 5 + rnd(20);

        grid.len = 0;
        sb_str(&grid, rnd(2) ? "{\"lines_on\": true, \"width\": " : "{\"lines_on\": false, \"width\": ");
        sb_uint(&grid, w);
        sb_str(&grid, ", \"height\": ");
        sb_uint(&grid, h);
        sb_str(&grid, ", \"blocks\": [");
        for (unsigned r = 0; r < h; r++) {
            sb_str(&grid, r ? ", [" : "[");
            for (unsigned c = 0; c < w; c++) {
                sb_str(&grid, c ? ", [" : "[");
                sb_uint(&grid, rnd(256));
                sb_str(&grid, ", ");
                sb_uint(&grid, rnd(256));
                sb_str(&grid, ", ");
                sb_uint(&grid, rnd(256));
                sb_str(&grid, ", ");
                sb_uint(&grid, size);
                sb_str(&grid, "]");
            }
            sb_str(&grid, "]");
        }
        sb_str(&grid, "]}");

        pyv.len = 0;
        sb_str(&pyv, "[3, ");
        sb_uint(&pyv, 6 + rnd(7));
        sb_str(&pyv, ", ");
        sb_uint(&pyv, rnd(10));
        sb_str(&pyv, ", \"final\", 0]");

        const char *code = NULL;
        if (rnd(8) != 0) {
            cells.len = 0;
            unsigned k = 1 + rnd(3);
            sb_str(&cells, "[");
            for (unsigned j = 0; j < k; j++) {
                char text[512];
                snprintf(text, sizeof text, snippets[j == 0 ? 0 : 1 + rnd(3)], w, h);
                cell.len = 0;
                sb_json_string(&cell, text);
                if (j)
                    sb_str(&cells, ", ");
                sb_add(&cells, cell.p, cell.len);
            }
            sb_str(&cells, "]");
            code = cells.p;
        }
        const char *ipbv = rnd(3) ? "1.9.0" : "1.7.0";

        sqlite3_stmt *s = ins[t];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, ipbv, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, pyv.p, (int)pyv.len, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, grid.p, (int)grid.len, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, t);
        if (code)
            sqlite3_bind_text(s, 6, code, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 6);
        sqlite3_bind_text(s, 7, "BlockGrid", -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            die_sql(db, "cannot insert");
        sqlite3_reset(s);

        FILE *f = copy[t];
        fprintf(f, "%ld\t", id);
        const char *fields[] = {ipbv, pyv.p, grid.p, code, "BlockGrid"};
        for (int j = 0; j < 5; j++) {
            copy_field(f, fields[j]);
            fputc('\t', f);
        }
        fputs(t ? "t\n" : "f\n", f);
    }
    for (int t = 0; t < 2; t++) {
        sqlite3_finalize(ins[t]);
        if (fclose(copy[t]) != 0) {
            perror("gen_legacy: writing a COPY file");
            return 1;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die_sql(db, "cannot commit");
    sqlite3_close(db);
    free(grid.p);
    free(pyv.p);
    free(cells.p);
    free(cell.p);
    return 0;
}
