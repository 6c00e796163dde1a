/* fuzz_migrate_row.c -- a legacy row read by the migration: row_check (row.h).
 *
 * Input: one byte of flags, then the record's text columns separated by NUL
 * bytes, in the order ipb_version, python_version, grid_data, code_cells,
 * ipb_class, created_at (a column past the end of the input is SQL NULL).
 * Flags: bit 0 the table (secret_grids when set); bits 1-2 the secret column
 * (0: NULL, 1: 0, 2: 1, 3: 7); bit 3 makes code_cells and bit 4 created_at
 * SQL NULL even when present. Properties: no crash; a refused row has a
 * one-line reason that names a column; an accepted row has every required
 * column, borrows the input's strings unchanged, has secret 0 or 1 (NULL
 * becoming the table's default) and code_cells NULL only when the input had
 * SQL NULL or JSON null. Seeds: the rows of vectors/legacy/legacy_small.db.
 */
#include "fuzz.h"
#include "row.h"

#define FIELDS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned flags = data[0];
    char *copy = malloc(size);     /* data[1..size) and a final NUL */
    FUZZ_CHECK(copy);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    char *field[FIELDS] = {0};
    char *p = copy, *end = copy + size - 1;
    for (int i = 0; i < FIELDS && p <= end; i++) {
        field[i] = p;
        p += strlen(p) + 1;
    }
    static const int secrets[4] = {-1, 0, 1, 7};
    struct grid_record in = {
        .id = 1,
        .ipb_version = field[0],
        .python_version = field[1],
        .grid_data = field[2],
        .code_cells = (flags & 8) ? NULL : field[3],
        .ipb_class = field[4],
        .secret = secrets[(flags >> 1) & 3],
        .created_at = (flags & 16) ? NULL : field[5],
    };
    enum grid_table t = (flags & 1) ? GRID_SECRET : GRID_PUBLIC;
    struct grid_record out;
    char err[STORE_ERRLEN];
    err[0] = '\0';
    if (row_check(t, &in, &out, err) != 0) {
        FUZZ_CHECK(fuzz_one_line(err, sizeof err));
        static const char *const cols[] = {"ipb_version", "python_version", "grid_data",
                                           "code_cells", "ipb_class", "created_at"};
        int named = 0;
        for (int i = 0; i < FIELDS; i++)
            named |= strstr(err, cols[i]) != NULL;
        FUZZ_CHECK(named);
    } else {
        FUZZ_CHECK(out.ipb_version == in.ipb_version && out.python_version == in.python_version &&
                   out.grid_data == in.grid_data && out.ipb_class == in.ipb_class &&
                   out.created_at == in.created_at && out.id == in.id);
        FUZZ_CHECK(out.ipb_version && out.python_version && out.grid_data && out.ipb_class);
        FUZZ_CHECK(out.secret == 0 || out.secret == 1);
        if (in.secret < 0)
            FUZZ_CHECK(out.secret == (t == GRID_SECRET));
        else
            FUZZ_CHECK(out.secret == (in.secret != 0));
        FUZZ_CHECK(out.code_cells == in.code_cells || out.code_cells == NULL);
        if (in.code_cells && !out.code_cells) {
            const char *c = in.code_cells;   /* JSON null, maybe with whitespace */
            c += strspn(c, " \t\r\n");
            FUZZ_CHECK(strncmp(c, "null", 4) == 0);
        }
    }
    free(copy);
    return 0;
}
