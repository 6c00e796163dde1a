/* unit.h -- what every cmocka unit test needs: cmocka's headers in the right
 * order, and helpers to find and read the test vectors (tests/vectors).
 *
 * Vectors live in tests/vectors (relative to the project root, where make
 * runs the tests); IPBORG_VECTORS overrides the location. */
#ifndef IPBORG_UNIT_H
#define IPBORG_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a vector file: "render/grid_00_1x1.json" -> ".tests/vectors/render/...".
 * Returns a static buffer (not thread-safe; tests are single-threaded). */
static inline const char *vector_path(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("IPBORG_VECTORS");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/vectors", rel);
    return path;
}

/* Reads a whole file; malloc'd, NUL-terminated, length in *len. Fails the test
 * if the file cannot be read. */
static inline char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

static inline char *read_vector(const char *rel, size_t *len)
{
    return read_file(vector_path(rel), len);
}

#endif
