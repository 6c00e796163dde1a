/* grid.c -- a grid: validate a posted JSON document, draw it as HTML.
 *
 * Validation (grid_validate_post). The body is parsed once by jansson into a
 * tree, checked field by field in a fixed order, and the JSON columns are
 * re-serialised from that tree exactly as json_dumps(JSON_COMPACT) writes them
 * (key order kept, UTF-8 unescaped; the blocks of grid_data are written by
 * hand for speed, to the same bytes). jansson does the byte-level work we
 * rely on:
 *   - it rejects invalid UTF-8 (including overlong forms and encoded
 *     surrogates such as ED A0 80), lone \uD800-style escapes, NaN/Infinity,
 *     control characters in strings, trailing garbage and, without
 *     JSON_ALLOW_NUL, \u0000 (PostgreSQL's jsonb refuses both of the latter);
 *   - it limits nesting to JSON_PARSER_MAX_DEPTH (2048), so a body nested
 *     100,000 deep is an error, not a stack overflow;
 *   - numbers written with a fraction or exponent (3.0, 1e2) become reals, so
 *     "is an integer" is exactly json_is_integer(), as in JSON Schema draft 4
 *     under Python's jsonschema; integers beyond 64 bits and reals beyond
 *     double range (1e400) are parse errors;
 *   - duplicate keys: the last value wins, in the position of the first;
 *   - objects keep insertion order, so grid_data is stored as sent, extra
 *     keys included.
 * What jansson does not do we do before parsing: skip a UTF-8 byte order mark
 * (Python's json.loads on bytes does), and refuse a raw NUL byte or a UTF-16
 * body with a clear message.
 *
 * Every failure produces one line that begins with the offending field's path
 * (python_version, grid_data.blocks[3][2], ...) or with "body" when the
 * document as a whole is wrong. Messages are forced to printable ASCII, since
 * jansson's own texts may quote raw bytes of the input.
 *
 * Reading a stored grid (grid_read). Every stored row is judged here, once
 * per answer, for the page, the PNG and /get alike. Rows may predate any
 * validation, so the rules are those of the client's BlockGrid.from_web,
 * which the original service's page also used, plus a little tolerance where
 * the meaning is plain:
 *   - the text is JSON (integers beyond 64 bits are read as reals) and an
 *     object; keys other than the four below are ignored;
 *   - lines_on is true or false, or a number equal to 0 or 1 (the client's
 *     setter takes `value in (0, 1)`, so 1.0 is true; 2, "x" and null are not
 *     taken);
 *   - width and height are whole numbers >= 1 (20.0 is taken), at most
 *     GRID_MAX_SIDE;
 *   - blocks has exactly `height` rows, row 0 exactly `width` blocks and
 *     later rows at least `width` (the client ignores the extra ones);
 *   - a block is an array of at least 4 numbers (extra items ignored).
 *     Colours are clamped to 0..255 and rounded half to even, as the client's
 *     int(round(min(255, max(0, v)))) does, so 300 is 255 and 12.5 is 12. A
 *     size below 1 is 1 (the client's max(1, size), negative sizes included);
 *     a fraction is rounded; a size over GRID_MAX_BLOCK_SIZE is refused:
 *     nothing sensible can be drawn at a million pixels a block.
 * Anything else (booleans or strings as numbers, missing keys, short rows)
 * is refused with a one-line reason naming the field. Blocks are copied into
 * a compact array (8 bytes a block, less than their JSON text) only after
 * every row has been checked to exist, and the JSON tree is dropped at once;
 * the parse uses the per-thread arena, as validation does.
 *
 * Drawing (grid_draw_html) reproduces ipythonblocks' BlockGrid._repr_html_
 * after BlockGrid(width, height, lines_on) and _load_simple_grid(blocks).
 * dom_id lands unescaped in a CSS selector and an attribute, so only
 * letters, digits, '-' and '_' are taken; any other id is refused. The
 * markup is assembled per block in a small stack buffer with hand-rolled
 * integer formatting, then appended once: no printf per cell. */
#include "grid.h"

#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- jansson's allocator: a per-thread arena during validation ------------ */

#define ARENA_BYTES (256 * 1024)
/* Stored grid_data at least this long is followed by malloc_trim (grid_read). */
#define GRID_TRIM_BYTES (1024 * 1024)
#define ARENA_ALIGN 16          /* what malloc guarantees on x86-64 and arm64 */

struct arena {
    char *base;                 /* ARENA_BYTES, or NULL before the first use */
    size_t used;
    char *last;                 /* the latest allocation, given back by its free */
    size_t fallbacks;           /* allocations that went to malloc in this scope */
    int active;                 /* inside grid_validate_post */
};

static _Thread_local struct arena tl_arena;
static pthread_key_t arena_key;     /* its destructor frees a thread's arena */
static int arena_key_ok;

static int in_arena(const struct arena *a, const void *p)
{
    uintptr_t b = (uintptr_t)a->base, q = (uintptr_t)p;
    return a->base && q >= b && q < b + ARENA_BYTES;
}

static void *arena_malloc(size_t n)
{
    struct arena *a = &tl_arena;
    if (a->active) {
        size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        if (n <= ARENA_BYTES && need <= ARENA_BYTES - a->used) {
            char *p = a->base + a->used;
            a->used += need;
            a->last = p;
            return p;
        }
        a->fallbacks++;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    struct arena *a = &tl_arena;
    if (!in_arena(a, p)) {
        free(p);
        return;
    }
    if ((char *)p == a->last) {
        a->used = (size_t)(a->last - a->base);
        a->last = NULL;
    }
}

static void arena_destroy(void *base)
{
    free(base);
}

/* Before main, while the process has one thread: jansson has made no
 * allocation that matters yet, and any it made with malloc is freed right by
 * arena_free (not in an arena: free). */
__attribute__((constructor)) static void arena_install(void)
{
    arena_key_ok = pthread_key_create(&arena_key, arena_destroy) == 0;
    json_set_alloc_funcs(arena_malloc, arena_free);
}

/* Starts a scope on this thread's arena; 0 if there is none (out of memory),
 * and jansson then simply uses malloc. */
static int arena_begin(void)
{
    struct arena *a = &tl_arena;
    if (!a->base) {
        if (!arena_key_ok || !(a->base = malloc(ARENA_BYTES)))
            return 0;
        if (pthread_setspecific(arena_key, a->base) != 0) {
            free(a->base);
            a->base = NULL;
            return 0;
        }
    }
    a->used = 0;
    a->last = NULL;
    a->fallbacks = 0;
    a->active = 1;
    return 1;
}

/* Ends the scope and drops root: with json_decref if any node may live
 * outside the arena, else by emptying the arena. */
static void arena_end(int scoped, json_t *root)
{
    struct arena *a = &tl_arena;
    if (!scoped) {
        json_decref(root);
        return;
    }
    a->active = 0;
    if (a->fallbacks)
        json_decref(root);
    a->used = 0;
    a->last = NULL;
}

/* ---- error messages ---------------------------------------------------- */

int grid_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return -1;
}


static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or exponent";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* ---- finding an integer jansson could not hold --------------------------- */

/* jansson refuses integers beyond 64 bits ("too big integer"), which leaves
 * only a line and column. To name the field, the body is parsed again with
 * every integer read as a double, and the first number that no int64 can hold
 * is looked for. Only runs on that failure path. path holds the field's name
 * so far; returns 1 when found. */
static int find_huge(const json_t *v, char *path, size_t cap)
{
    size_t n = strlen(path);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d >= 9223372036854775808.0 || d < -9223372036854775808.0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            snprintf(path + n, cap - n, n ? ".%s" : "%s", key);
            if (find_huge(item, path, cap))
                return 1;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            snprintf(path + n, cap - n, "[%zu]", i);
            if (find_huge(item, path, cap))
                return 1;
        }
    }
    path[n] = '\0';
    return 0;
}

static int parse_failure(const char *body, size_t len, const json_error_t *e,
                         char *err, size_t errlen)
{
    if (strstr(e->text, "too big")) {
        json_t *t = json_loadb(body, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        char path[256] = "";
        int found = t && find_huge(t, path, sizeof path) && path[0];
        json_decref(t);
        if (found)
            return grid_errf(err, errlen, "%s: integer out of range", path);
    }
    if (strstr(e->text, "JSON_ALLOW_NUL"))
        return grid_errf(err, errlen, "body: \\u0000 in a string is not accepted (line %d, column %d)",
                    e->line, e->column);
    if (strstr(e->text, "maximum parsing depth"))
        return grid_errf(err, errlen, "body: JSON nested more than %d levels deep",
                    JSON_PARSER_MAX_DEPTH);
    return grid_errf(err, errlen, "body: not valid JSON (line %d, column %d: %s)",
                e->line, e->column, e->text);
}

/* Decimal text of v at p; returns the end. */
static char *put_uint(char *p, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

#define PUT_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

/* ---- validation of a post ---------------------------------------------- */

/* What the checks share: where messages go and the cell limit. */
struct check {
    char *err;
    size_t errlen;
    long long max_cells;
};

static json_t *require(struct check *c, json_t *obj, const char *where, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        grid_errf(c->err, c->errlen, "%s: missing key \"%s\"", where, key);
    return v;
}

static int check_python_version(struct check *c, const json_t *v)
{
    if (!json_is_array(v))
        return grid_errf(c->err, c->errlen,
                    "python_version: expected an array of 5 items, got %s", type_name(v));
    if (json_array_size(v) != 5)
        return grid_errf(c->err, c->errlen,
                    "python_version: expected an array of 5 items, got %zu",
                    json_array_size(v));
    return 0;
}

/* The original searched \d+\.\d+(\.\d+)?.* anywhere; ipborg anchors it at the
 * start (so "v1.9" fails) and counts ASCII digits only. */
static int check_ipb_version(struct check *c, const json_t *v)
{
    if (!json_is_string(v))
        return grid_errf(c->err, c->errlen, "ipb_version: expected a string, got %s",
                    type_name(v));
    const char *s = json_string_value(v);
    size_t i = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    int ok = i > 0 && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9';
    if (!ok)
        return grid_errf(c->err, c->errlen,
                    "ipb_version: must start with digits.digits, like \"1.9.0\"");
    return 0;
}

static int check_ipb_class(struct check *c, const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "BlockGrid") != 0 && strcmp(s, "ImageGrid") != 0) ||
        json_string_length(v) != strlen(s))
        return grid_errf(c->err, c->errlen, "ipb_class: must be \"BlockGrid\" or \"ImageGrid\"");
    return 0;
}

static int check_code_cells(struct check *c, const json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return grid_errf(c->err, c->errlen,
                    "code_cells: expected null or an array of strings, got %s", type_name(v));
    if (json_array_size(v) == 0)
        return grid_errf(c->err, c->errlen,
                    "code_cells: expected null or a non-empty array of strings");
    size_t i;
    json_t *cell;
    json_array_foreach(v, i, cell) {
        if (!json_is_string(cell))
            return grid_errf(c->err, c->errlen, "code_cells[%zu]: expected a string, got %s",
                        i, type_name(cell));
    }
    return 0;
}

static int check_dimension(struct check *c, const json_t *v, const char *name,
                           json_int_t *out)
{
    if (!json_is_integer(v))
        return grid_errf(c->err, c->errlen, "grid_data.%s: expected an integer >= 1, got %s",
                    name, type_name(v));
    *out = json_integer_value(v);
    if (*out < 1)
        return grid_errf(c->err, c->errlen, "grid_data.%s: expected an integer >= 1, got %lld",
                    name, (long long)*out);
    return 0;
}

/* A block is [red, green, blue, size]. Every value is checked for being an
 * integer before any range, so that a wrong type is reported as such. */
static int check_block(struct check *c, const json_t *b, size_t r, size_t col)
{
    if (!json_is_array(b) || json_array_size(b) != 4)
        return grid_errf(c->err, c->errlen, "grid_data.blocks[%zu][%zu]: expected 4 integers", r, col);
    json_int_t v[4];
    for (size_t i = 0; i < 4; i++) {
        const json_t *x = json_array_get(b, i);
        if (!json_is_integer(x))
            return grid_errf(c->err, c->errlen,
                        "grid_data.blocks[%zu][%zu]: expected 4 integers, item %zu is %s",
                        r, col, i, type_name(x));
        v[i] = json_integer_value(x);
    }
    for (size_t i = 0; i < 3; i++)
        if (v[i] < 0 || v[i] > 255)
            return grid_errf(c->err, c->errlen,
                        "grid_data.blocks[%zu][%zu][%zu]: colour must be 0 to 255, got %lld",
                        r, col, i, (long long)v[i]);
    if (v[3] < 1 || v[3] > 1000)
        return grid_errf(c->err, c->errlen,
                    "grid_data.blocks[%zu][%zu][3]: block size must be 1 to 1000, got %lld",
                    r, col, (long long)v[3]);
    return 0;
}

static int check_grid_data(struct check *c, json_t *g)
{
    if (!json_is_object(g))
        return grid_errf(c->err, c->errlen, "grid_data: expected an object, got %s", type_name(g));
    json_t *lines_on = require(c, g, "grid_data", "lines_on");
    json_t *width = lines_on ? require(c, g, "grid_data", "width") : NULL;
    json_t *height = width ? require(c, g, "grid_data", "height") : NULL;
    json_t *blocks = height ? require(c, g, "grid_data", "blocks") : NULL;
    if (!blocks)
        return -1;
    if (!json_is_boolean(lines_on))
        return grid_errf(c->err, c->errlen, "grid_data.lines_on: expected true or false, got %s",
                    type_name(lines_on));
    json_int_t w, h;
    if (check_dimension(c, width, "width", &w) || check_dimension(c, height, "height", &h))
        return -1;
    /* w, h >= 1, so the division is safe and nothing overflows. */
    if (w > c->max_cells / h)
        return grid_errf(c->err, c->errlen,
                    "grid_data: width x height (%lld x %lld) is more than %lld blocks",
                    (long long)w, (long long)h, c->max_cells);
    if (!json_is_array(blocks) || json_array_size(blocks) == 0)
        return grid_errf(c->err, c->errlen,
                    "grid_data.blocks: expected a non-empty array of rows, got %s",
                    json_is_array(blocks) ? "an empty array" : type_name(blocks));
    if (json_array_size(blocks) != (size_t)h)
        return grid_errf(c->err, c->errlen,
                    "grid_data.blocks: expected %lld rows (height), got %zu",
                    (long long)h, json_array_size(blocks));
    size_t r;
    json_t *row;
    json_array_foreach(blocks, r, row) {
        if (!json_is_array(row))
            return grid_errf(c->err, c->errlen, "grid_data.blocks[%zu]: expected an array, got %s",
                        r, type_name(row));
        if (json_array_size(row) != (size_t)w)
            return grid_errf(c->err, c->errlen,
                        "grid_data.blocks[%zu]: expected %lld blocks (width), got %zu",
                        r, (long long)w, json_array_size(row));
        for (size_t col = 0; col < (size_t)w; col++)
            if (check_block(c, json_array_get(row, col), r, col))
                return -1;
    }
    return 0;
}

static int put_json_cb(const char *text, size_t n, void *data)
{
    buf_append(data, text, n);
    return 0;
}

/* Appends v as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes it, but
 * into b (malloc'd memory), never into memory of jansson's allocator. */
static void put_json(struct buf *b, const json_t *v)
{
    if (json_dump_callback(v, put_json_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        b->oom = 1;
}

/* v as compact JSON text, malloc'd; NULL when out of memory. */
static char *dump(const json_t *v)
{
    struct buf b = BUF_INIT;
    put_json(&b, v);
    if (buf_failed(&b)) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* grid_data as json_dumps(g, JSON_COMPACT) would write it, byte for byte,
 * but with the validated blocks (arrays of small non-negative integers, the
 * bulk of a post) written directly: jansson formats each integer with
 * snprintf, which made the dump as slow as the parse. Every other key and
 * value goes through jansson. Only for a grid check_grid_data accepted. */
static char *dump_grid_data(const json_t *g)
{
    const json_t *blocks = json_object_get(g, "blocks");
    size_t rows = json_array_size(blocks);
    size_t cols = json_array_size(json_array_get(blocks, 0));
    struct buf b = BUF_INIT;
    /* At most "[255,255,255,1000]," per block and "[]," per row. */
    buf_reserve(&b, rows * cols * 19 + rows * 3 + 256);
    buf_putc(&b, '{');
    const char *key;
    json_t *value;
    int first = 1;
    json_object_foreach((json_t *)g, key, value) {
        if (!first)
            buf_putc(&b, ',');
        first = 0;
        json_t *k = json_string(key);
        if (!k) {
            buf_free(&b);
            return NULL;
        }
        put_json(&b, k);
        json_decref(k);
        buf_putc(&b, ':');
        if (value != blocks) {
            put_json(&b, value);
            continue;
        }
        buf_putc(&b, '[');
        for (size_t r = 0; r < rows; r++) {
            const json_t *row = json_array_get(blocks, r);
            buf_puts(&b, r ? ",[" : "[");
            for (size_t col = 0; col < cols; col++) {
                const json_t *blk = json_array_get(row, col);
                char tmp[96], *p = tmp;
                if (col)
                    *p++ = ',';
                *p++ = '[';
                for (size_t i = 0; i < 4; i++) {
                    if (i)
                        *p++ = ',';
                    json_int_t v = json_integer_value(json_array_get(blk, i));
                    p = put_uint(p, (unsigned long long)v);
                }
                *p++ = ']';
                buf_append(&b, tmp, (size_t)(p - tmp));
            }
            buf_putc(&b, ']');
        }
        buf_putc(&b, ']');
    }
    buf_putc(&b, '}');
    if (buf_failed(&b)) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static char *copy_string(const json_t *v)
{
    return strdup(json_string_value(v));
}

static const char *const top_keys[] = {
    "python_version", "ipb_version", "ipb_class", "code_cells", "secret", "grid_data",
};

int grid_validate_post(const char *body, size_t len, const struct grid_limits *lim,
                       struct grid_post *out, char *err, size_t errlen)
{
    struct check c = {err, errlen, GRID_DEFAULT_MAX_CELLS};
    if (lim && lim->max_cells > 0)
        c.max_cells = lim->max_cells;
    if (err && errlen)
        err[0] = '\0';
    memset(out, 0, sizeof *out);

    if (!body)
        len = 0;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        body += 3;
        len -= 3;
    }
    if (len >= 2 && (memcmp(body, "\xFF\xFE", 2) == 0 || memcmp(body, "\xFE\xFF", 2) == 0))
        return grid_errf(err, errlen, "body: not UTF-8 (a UTF-16 byte order mark)");
    if (len == 0)
        return grid_errf(err, errlen, "body: empty, expected a JSON object");
    if (memchr(body, '\0', len))
        return grid_errf(err, errlen, "body: contains a NUL byte");

    int scoped = arena_begin();
    json_error_t e;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &e);
    if (!root) {
        int rc = parse_failure(body, len, &e, err, errlen);
        arena_end(scoped, NULL);
        return rc;
    }
    if (!json_is_object(root)) {
        grid_errf(err, errlen, "body: expected a JSON object, got %s", type_name(root));
        arena_end(scoped, root);
        return -1;
    }

    json_t *v[6];
    int rc = 0;
    for (size_t i = 0; i < 6 && rc == 0; i++)
        if (!(v[i] = require(&c, root, "body", top_keys[i])))
            rc = -1;
    if (rc == 0)
        rc = check_python_version(&c, v[0]);
    if (rc == 0)
        rc = check_ipb_version(&c, v[1]);
    if (rc == 0)
        rc = check_ipb_class(&c, v[2]);
    if (rc == 0)
        rc = check_code_cells(&c, v[3]);
    if (rc == 0 && !json_is_boolean(v[4]))
        rc = grid_errf(err, errlen, "secret: expected true or false, got %s", type_name(v[4]));
    if (rc == 0)
        rc = check_grid_data(&c, v[5]);
    if (rc == 0) {
        out->python_version = dump(v[0]);
        out->ipb_version = copy_string(v[1]);
        out->ipb_class = copy_string(v[2]);
        out->code_cells = json_is_null(v[3]) ? NULL : dump(v[3]);
        out->secret = json_is_true(v[4]);
        out->grid_data = dump_grid_data(v[5]);
        if (!out->python_version || !out->ipb_version || !out->ipb_class ||
            !out->grid_data || (!json_is_null(v[3]) && !out->code_cells)) {
            grid_post_free(out);
            rc = grid_errf(err, errlen, "body: out of memory");
        }
    }
    arena_end(scoped, root);
    return rc;
}

void grid_post_free(struct grid_post *p)
{
    if (!p)
        return;
    free(p->ipb_version);
    free(p->python_version);
    free(p->grid_data);
    free(p->code_cells);
    free(p->ipb_class);
    memset(p, 0, sizeof *p);
}

/* ---- reading a stored grid ------------------------------------------------ */

int grid_json_number(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    double d = json_real_value(v);
    if (!isfinite(d) || d != floor(d))
        return -1;
    if (d >= 9223372036854775807.0)
        *out = LLONG_MAX;
    else if (d <= -9223372036854775808.0)
        *out = LLONG_MIN;
    else
        *out = (long long)d;
    return 0;
}

/* A JSON number as a double (integers beyond 2^53 lose precision, which
 * does not matter for clamping); -1 for anything that is not a number. */
static int number_of(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return -1;
    return 0;
}

/* The client's Block._check_value: int(round(min(255, max(0, value)))), and
 * Python 3 rounds halves to even, as rint does in the default rounding mode. */
static unsigned char colour_of(double d)
{
    d = d < 0 ? 0 : d > 255 ? 255 : d;
    return (unsigned char)rint(d);
}

/* lines_on as the client's setter takes it: a value equal to 0 or 1. */
static int read_lines_on(const json_t *v, bool *lines)
{
    double d;
    if (json_is_boolean(v)) {
        *lines = json_is_true(v);
        return 0;
    }
    if (number_of(v, &d) == 0 && (d == 0 || d == 1)) {
        *lines = d == 1;
        return 0;
    }
    return -1;
}

static int read_side(const json_t *g, const char *name, uint32_t *out, char *err,
                     size_t errlen)
{
    long long v;
    if (grid_json_number(json_object_get(g, name), &v) || v < 1)
        return grid_errf(err, errlen, "grid_data.%s: expected an integer >= 1", name);
    if (v > GRID_MAX_SIDE)
        return grid_errf(err, errlen, "grid_data.%s: %lld is more than %u blocks", name, v,
                         GRID_MAX_SIDE);
    *out = (uint32_t)v;
    return 0;
}

/* One block: out may be NULL (checking only). */
static int read_block(const json_t *b, size_t r, size_t col, struct grid_block *out,
                      char *err, size_t errlen)
{
    double v[4];
    if (!json_is_array(b) || json_array_size(b) < 4)
        return grid_errf(err, errlen, "grid_data.blocks[%zu][%zu]: expected 4 numbers", r, col);
    for (size_t i = 0; i < 4; i++)
        if (number_of(json_array_get(b, i), &v[i]))
            return grid_errf(err, errlen, "grid_data.blocks[%zu][%zu][%zu]: expected a number",
                             r, col, i);
    /* The client's size setter: max(1, size). Fractions are rounded, since
     * a pixel grid has no half pixels. */
    double size = v[3] < 1 ? 1 : rint(v[3]);
    if (size > GRID_MAX_BLOCK_SIZE)
        return grid_errf(err, errlen,
                         "grid_data.blocks[%zu][%zu][3]: block size %.0f is more than %u",
                         r, col, size, GRID_MAX_BLOCK_SIZE);
    if (out) {
        for (size_t i = 0; i < 3; i++)
            out->rgb[i] = colour_of(v[i]);
        out->size = (uint32_t)size;
    }
    return 0;
}

/* Reads the parsed grid_data into g (NULL: check only); on failure g owns
 * nothing. */
static int read_tree(const json_t *root, struct grid *g, char *err, size_t errlen)
{
    if (!json_is_object(root))
        return grid_errf(err, errlen, "grid_data: expected an object, got %s",
                         type_name(root));
    bool lines;
    uint32_t w, h;
    if (read_lines_on(json_object_get(root, "lines_on"), &lines))
        return grid_errf(err, errlen, "grid_data.lines_on: expected true or false");
    if (read_side(root, "width", &w, err, errlen) || read_side(root, "height", &h, err, errlen))
        return -1;
    const json_t *blocks = json_object_get(root, "blocks");
    if (!json_is_array(blocks))
        return grid_errf(err, errlen, "grid_data.blocks: expected an array of rows");
    if (json_array_size(blocks) != h)
        return grid_errf(err, errlen, "grid_data.blocks: expected %u rows (height), got %zu",
                         h, json_array_size(blocks));
    /* Every row is checked before anything is allocated, so w * h blocks
     * really exist in the tree: the array below is smaller than the tree. */
    for (size_t r = 0; r < h; r++) {
        const json_t *row = json_array_get(blocks, r);
        size_t n = json_array_size(row);
        if (!json_is_array(row) || n < w || (r == 0 && n != w))
            return grid_errf(err, errlen, "grid_data.blocks[%zu]: expected %u blocks (width)%s",
                             r, w, json_is_array(row) ? "" : ", not an array");
    }
    struct grid_block *out = NULL;
    if (g && !(out = malloc((size_t)w * h * sizeof *out)))
        return grid_errf(err, errlen, "grid_data: out of memory");
    uint32_t cell = 1, smallest = UINT32_MAX;
    for (size_t r = 0; r < h; r++) {
        const json_t *row = json_array_get(blocks, r);
        for (size_t col = 0; col < w; col++) {
            struct grid_block *b = out ? &out[r * w + col] : NULL;
            if (read_block(json_array_get(row, col), r, col, b, err, errlen)) {
                free(out);
                return -1;
            }
            if (b && b->size > cell)
                cell = b->size;
            if (b && b->size < smallest)
                smallest = b->size;
        }
    }
    if (g) {
        g->w = w;
        g->h = h;
        g->lines = lines;
        g->cell = cell;
        g->uniform = smallest == cell;
        g->blocks = out;
    }
    return 0;
}

/* A big grid's parse tree (tens of MB for 250,000 blocks) outgrows the arena
 * and is freed into the thread's malloc arena, which glibc keeps: with dozens
 * of worker threads, each that once read a big grid would hold that much.
 * malloc_trim gives it back, but walks every arena, so it runs at most once
 * a second whoever asks: what piles up in between is bounded by the reads of
 * one second, and many readers of big grids do not pay for a trim each. */
static void trim_now_and_then(void)
{
    static _Atomic int64_t last_ms;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t prev = atomic_load(&last_ms);
    if (now - prev >= 1000 && atomic_compare_exchange_strong(&last_ms, &prev, now))
        malloc_trim(0);
}

int grid_read(const char *grid_data, size_t len, struct grid *g, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (g)
        memset(g, 0, sizeof *g);
    if (!grid_data)
        return grid_errf(err, errlen, "grid_data: missing (NULL)");
    int scoped = arena_begin();
    json_error_t e;
    json_t *root = json_loadb(grid_data, len, JSON_DECODE_ANY, &e);
    if (!root && strstr(e.text, "too big"))
        root = json_loadb(grid_data, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
    int rc;
    if (!root)
        rc = grid_errf(err, errlen, "grid_data: not valid JSON (line %d, column %d: %s)",
                       e.line, e.column, e.text);
    else
        rc = read_tree(root, g, err, errlen);
    arena_end(scoped, root);
    if (len >= GRID_TRIM_BYTES)
        trim_now_and_then();
    return rc;
}

void grid_free(struct grid *g)
{
    if (!g)
        return;
    free(g->blocks);
    memset(g, 0, sizeof *g);
}

/* ---- drawing as HTML ------------------------------------------------------- */

#define HTML_RESERVE_CELLS (256u * 1024)    /* about 42 MB of markup */

/* Appends one <td>. */
static void put_td(struct buf *out, size_t r, size_t col, const struct grid_block *b)
{
    char colour[16], td[320];
    char *q = colour;
    for (int i = 0; i < 3; i++) {
        if (i)
            q = PUT_LIT(q, ", ");
        q = put_uint(q, b->rgb[i]);
    }
    size_t clen = (size_t)(q - colour);
    char *p = td;
    p = PUT_LIT(p, "<td title=\"Index: [");
    p = put_uint(p, r);
    p = PUT_LIT(p, ", ");
    p = put_uint(p, col);
    p = PUT_LIT(p, "]&#10;Color: (");
    memcpy(p, colour, clen);
    p += clen;
    p = PUT_LIT(p, ")\" style=\"width: ");
    p = put_uint(p, b->size);
    p = PUT_LIT(p, "px; height: ");
    p = put_uint(p, b->size);
    p = PUT_LIT(p, "px;background-color: rgb(");
    memcpy(p, colour, clen);
    p += clen;
    p = PUT_LIT(p, ");\"></td>");
    buf_append(out, td, (size_t)(p - td));
}

static int valid_dom_id(const char *id)
{
    if (!id || !*id)
        return 0;
    for (; *id; id++) {
        char ch = *id;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return 0;
    }
    return 1;
}

int grid_draw_html(struct buf *out, const struct grid *g, const char *dom_id, char *err,
                   size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!valid_dom_id(dom_id))
        return grid_errf(err, errlen, "dom_id: expected letters, digits, '-' or '_'");
    if (!g || !g->blocks)
        return grid_errf(err, errlen, "grid_data: not read");
    /* At most about 165 bytes a block: one allocation up front, not a
     * doubling series, when that is a reasonable size (a failed reservation
     * would mark out as out of memory for good). */
    size_t cells = (size_t)g->w * g->h;
    if (cells <= HTML_RESERVE_CELLS)
        buf_reserve(out, 400 + cells * 165 + (size_t)g->h * 9);
    buf_puts(out, "<style type=\"text/css\">table.blockgrid {border: none;}"
                  " .blockgrid tr {border: none;} .blockgrid td {padding: 0px;} #blocks");
    buf_puts(out, dom_id);
    buf_puts(out, g->lines ? " td {border: 1px solid white;}</style><table id=\"blocks"
                           : " td {border: 0px solid white;}</style><table id=\"blocks");
    buf_puts(out, dom_id);
    buf_puts(out, "\" class=\"blockgrid\"><tbody>");
    for (size_t r = 0; r < g->h; r++) {
        buf_puts(out, "<tr>");
        for (size_t col = 0; col < g->w; col++)
            put_td(out, r, col, &g->blocks[r * g->w + col]);
        buf_puts(out, "</tr>");
    }
    buf_puts(out, "</tbody></table>");
    if (buf_failed(out))
        return grid_errf(err, errlen, "grid_data: out of memory");
    return 0;
}

int grid_render_html(struct buf *out, const char *grid_data, size_t len,
                     const char *dom_id, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!valid_dom_id(dom_id))
        return grid_errf(err, errlen, "dom_id: expected letters, digits, '-' or '_'");
    struct grid g;
    if (grid_read(grid_data, len, &g, err, errlen) != 0)
        return -1;
    int rc = grid_draw_html(out, &g, dom_id, err, errlen);
    grid_free(&g);
    return rc;
}
