/* canon.c -- JSON check and canonical form, canonical time (see canon.h for
 * the form itself and why it exists).
 *
 * Parsing is jansson's (json_loadb): this file parses no JSON of its own. It
 * adds what jansson does not do for us:
 *   - the retry for integers beyond 64 bits (jansson fails with "too big
 *     integer"; JSON_DECODE_INT_AS_REAL reads them by value);
 *   - error messages in our words, naming the column, forced to printable
 *     ASCII (jansson's texts may quote raw bytes of the input);
 *   - the writer of the canonical form: a walk over the jansson tree that
 *     appends to a struct buf (sorted keys, our number and string rules).
 * What jansson checks and we rely on (pinned by tests/unit/test_backup.c):
 * RFC 8259 syntax with one value and whitespace around it, invalid UTF-8
 * (overlongs, encoded surrogates, > U+10FFFF) refused, lone or unpaired
 * surrogate escapes refused ("invalid Unicode"), \u0000 refused (no
 * JSON_ALLOW_NUL), a repeated key kept once with its last value, nesting
 * limited to JSON_PARSER_MAX_DEPTH, reals beyond double range refused ("real
 * number overflow"). The tree walks recurse at most that deep. */
#include "canon.h"
#include "store.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- UTF-8 ------------------------------------------------------------------- */

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as
 * PostgreSQL's TEXT requires in a UTF-8 database. */
int canon_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        int n;
        unsigned min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

/* --- parsing (jansson) -------------------------------------------------------- */

/* jansson's error text as one line of printable ASCII. */
static void clean_text(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
    }
    dst[i] = '\0';
}

json_t *canon_json_parse(const char *col, const char *text, size_t flags, int *as_reals,
                         char *err)
{
    json_error_t e;
    size_t len = strlen(text);
    flags |= JSON_DECODE_ANY;
    json_t *v = json_loadb(text, len, flags, &e);
    if (as_reals)
        *as_reals = 0;
    if (!v && json_error_code(&e) == json_error_numeric_overflow && strstr(e.text, "too big")) {
        v = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, &e);
        if (as_reals)
            *as_reals = v != NULL;
    }
    if (v)
        return v;
    char why[sizeof e.text];
    clean_text(why, sizeof why, e.text);
    switch (json_error_code(&e)) {
    case json_error_null_character:
    case json_error_null_byte_in_key:
        store_errf(err, "%s holds \\u0000 (which PostgreSQL's jsonb cannot store) at "
                   "character %d", col, e.position);
        break;
    case json_error_numeric_overflow:
        store_errf(err, "%s holds a number beyond the range of a double (%s at "
                   "character %d)", col, why, e.position);
        break;
    case json_error_out_of_memory:
        store_errf(err, "%s: out of memory", col);
        break;
    default:
        if (strncmp(e.text, "invalid Unicode", 15) == 0)
            store_errf(err, "%s holds a lone surrogate escape (which PostgreSQL's jsonb "
                       "cannot store): %s at character %d", col, why, e.position);
        else if (strstr(e.text, "maximum parsing depth"))
            store_errf(err, "%s is nested more than %d levels deep", col, CANON_MAX_DEPTH);
        else
            store_errf(err, "%s is not valid JSON (%s at character %d)", col, why,
                       e.position);
    }
    return NULL;
}

/* --- writing the canonical form ---------------------------------------------------- */

/* Appends a code point < 0x80 that canon_string escapes. */
static void put_escaped(struct buf *out, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        char e[2] = {'\\', (char)c};
        buf_append(out, e, 2);
    } else {
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        buf_append(out, e, 6);
    }
}

void canon_string(struct buf *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    buf_putc(out, '"');
    const unsigned char *run = s;
    for (; *s; s++) {
        if (*s != '"' && *s != '\\' && *s >= 0x20)
            continue;
        buf_append(out, run, (size_t)(s - run));
        put_escaped(out, *s);
        run = s + 1;
    }
    buf_append(out, run, (size_t)(s - run));
    buf_putc(out, '"');
}

/* A number that is not a short integer, by value: integral and below 2^63
 * as an integer; else the shortest of %.15g, %.16g, %.17g that reads back as
 * x (so the output, read again, prints the same). jansson refuses reals
 * beyond double range, so x is finite; infinity would still be written as
 * +-1e999 (which reads back as infinite). */
static void put_double(struct buf *out, double x)
{
    if (isinf(x)) {
        buf_puts(out, x < 0 ? "-1e999" : "1e999");
        return;
    }
    if (x == floor(x) && fabs(x) < 9.2e18) {
        buf_printf(out, "%lld", (long long)x);
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, x);
        if (prec == 17 || strtod(tmp, NULL) == x)
            break;
    }
    buf_puts(out, tmp);
}

/* An integer of up to 18 digits in decimal, without printf (grid_data is
 * mostly small integers). */
static void put_int(struct buf *out, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

struct member {
    const char *key;
    json_t *val;
};

/* The bytes of a key's canonical literal after its opening quote, one at a
 * time (as canon_string writes them, closing quote included); -1 at the end. */
struct lit {
    const unsigned char *s;
    char pend[5];
    int n, i, done;
};

static int lit_next(struct lit *l)
{
    static const char hex[] = "0123456789abcdef";
    if (l->i < l->n)
        return (unsigned char)l->pend[l->i++];
    if (l->done)
        return -1;
    unsigned c = *l->s;
    if (c == 0) {
        l->done = 1;
        return '"';
    }
    l->s++;
    l->i = 0;
    if (c == '"' || c == '\\') {
        l->pend[0] = (char)c;
        l->n = 1;
        return '\\';
    }
    if (c < 0x20) {
        memcpy(l->pend, "u00", 3);
        l->pend[3] = hex[c >> 4], l->pend[4] = hex[c & 15];
        l->n = 5;
        return '\\';
    }
    l->n = 0;
    return (int)c;
}

/* Keys in the order of their canonical literals' bytes (so "a!" before "a",
 * as '!' < '"'). */
static int member_cmp(const void *a, const void *b)
{
    struct lit x = {(const unsigned char *)((const struct member *)a)->key, "", 0, 0, 0};
    struct lit y = {(const unsigned char *)((const struct member *)b)->key, "", 0, 0, 0};
    for (;;) {
        int cx = lit_next(&x), cy = lit_next(&y);
        if (cx != cy)
            return cx < cy ? -1 : 1;
        if (cx < 0)
            return 0;
    }
}

static void put_object(struct buf *out, json_t *v);

void canon_json_write(struct buf *out, const json_t *cv)
{
    json_t *v = (json_t *)cv;  /* jansson's getters take non-const pointers */
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(out, v);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        buf_putc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_putc(out, ',');
            canon_json_write(out, json_array_get(v, i));
        }
        buf_putc(out, ']');
        break;
    }
    case JSON_STRING:
        /* No NUL inside: canon_json_parse does not pass JSON_ALLOW_NUL. */
        canon_string(out, json_string_value(v));
        break;
    case JSON_INTEGER: {
        /* Up to 18 digits as written (the digits are the value: JSON has no
         * leading zeros, and -0 is 0); longer ones by value, as a double. */
        json_int_t i = json_integer_value(v);
        if (i > -1000000000000000000LL && i < 1000000000000000000LL)
            put_int(out, i);
        else
            put_double(out, (double)i);
        break;
    }
    case JSON_REAL:
        put_double(out, json_real_value(v));
        break;
    case JSON_TRUE:
        buf_puts(out, "true");
        break;
    case JSON_FALSE:
        buf_puts(out, "false");
        break;
    case JSON_NULL:
        buf_puts(out, "null");
        break;
    }
}

/* Members sorted by the bytes of their keys' canonical literals (see
 * member_cmp). jansson already kept a repeated key once, with its last
 * value. */
static void put_object(struct buf *out, json_t *v)
{
    struct member small[16], *m = small;
    size_t n = json_object_size(v), i = 0;
    if (n > sizeof small / sizeof small[0] && !(m = malloc(n * sizeof *m))) {
        out->oom = 1;
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        m[i].key = key;
        m[i].val = val;
        i++;
    }
    if (n > 1)
        qsort(m, n, sizeof *m, member_cmp);
    buf_putc(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        canon_string(out, m[i].key);
        buf_putc(out, ':');
        canon_json_write(out, m[i].val);
    }
    buf_putc(out, '}');
    if (m != small)
        free(m);
}

int canon_json_scan(const char *col, const char *text, struct buf *out, int *is_null,
                    char *err)
{
    json_t *v = canon_json_parse(col, text, 0, NULL, err);
    if (!v)
        return -1;
    if (is_null)
        *is_null = json_is_null(v);
    if (out)
        canon_json_write(out, v);
    json_decref(v);
    if (out && buf_failed(out)) {
        store_errf(err, "%s: out of memory", col);
        return -1;
    }
    return 0;
}

/* --- time ------------------------------------------------------------------- */

char *canon_time(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *c = malloc(n + 2);
    if (!c)
        return NULL;
    memcpy(c, s, n + 1);
    if (n > 10 && c[10] == ' ')
        c[10] = 'T';
    if (n >= 6 && strcmp(c + n - 6, "+00:00") == 0)
        n -= 6;
    else if (n >= 3 && strcmp(c + n - 3, "+00") == 0)
        n -= 3;
    else if (n >= 1 && c[n - 1] == 'Z')
        n -= 1;
    c[n] = '\0';
    char *dot = strchr(c, '.');
    if (dot) {
        while (n > 0 && c[n - 1] == '0' && &c[n - 1] > dot)
            c[--n] = '\0';
        if (&c[n - 1] == dot)
            c[--n] = '\0';
    }
    c[n] = 'Z';
    c[n + 1] = '\0';
    return c;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int canon_time_valid(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        char c = s[i];
        if (pat[i] == 'd' ? (c < '0' || c > '9')
                          : pat[i] == 'T' ? (c != 'T' && c != ' ') : c != pat[i])
            return 0;
    }
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > mdays[month - 1] + (month == 2 && leap))
        return 0;
    s += sizeof pat - 1;
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return 0;
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    }
    return strcmp(s, "Z") == 0 || strcmp(s, "+00:00") == 0 || strcmp(s, "+00") == 0 ||
           *s == '\0';
}
