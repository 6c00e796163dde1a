/* canon.c -- JSON check and canonical form, canonical time (see canon.h for
 * the form itself and why it exists).
 *
 * A recursive-descent scanner over NUL-terminated text that builds no tree:
 * checking is on the copy path of migrate and import, where a parse into
 * jansson took most of the time. Objects are the one place that needs
 * memory: to sort its members, an object being canonicalised is first
 * written into a buffer of its own, then its members are sorted and copied
 * out; the depth limit bounds the recursion. */
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

/* --- the scanner ----------------------------------------------------------
 *
 * One recursive-descent scanner does both jobs: with out == NULL it only
 * checks (migrate's copy: every row, so it must be cheap), with out it also
 * appends the canonical form. */

struct jscan {
    const unsigned char *start, *p;
    struct buf *out;            /* canonical form, or NULL to only check */
    int depth;
    char *why;                  /* STORE_ERRLEN bytes */
};

static int js_fail(struct jscan *s, const char *what)
{
    store_errf(s->why, "%s at character %ld", what, (long)(s->p - s->start));
    return -1;
}

static void js_ws(struct jscan *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')
        s->p++;
}

static int js_value(struct jscan *s);

static int hex4(const unsigned char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static void put_code_point(struct buf *out, unsigned c)
{
    char u[4];
    if (c == '"' || c == '\\') {
        u[0] = '\\', u[1] = (char)c;
        buf_append(out, u, 2);
    } else if (c < 0x20) {
        buf_printf(out, "\\u%04x", c);
    } else if (c < 0x80) {
        buf_putc(out, (char)c);
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3F));
        buf_append(out, u, 2);
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | c >> 12), u[1] = (char)(0x80 | (c >> 6 & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        buf_append(out, u, 3);
    } else {
        u[0] = (char)(0xF0 | c >> 18), u[1] = (char)(0x80 | (c >> 12 & 0x3F));
        u[2] = (char)(0x80 | (c >> 6 & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F));
        buf_append(out, u, 4);
    }
}

/* One UTF-8 sequence at s->p (first byte >= 0x80); its code point in *cp. */
static int js_utf8(struct jscan *s, unsigned *cp)
{
    const unsigned char *p = s->p;
    unsigned c = *p, min;
    int n;
    if ((c & 0xE0) == 0xC0)
        n = 1, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 2, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 3, min = 0x10000, c &= 0x07;
    else
        return js_fail(s, "invalid UTF-8");
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return js_fail(s, "invalid UTF-8");
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return js_fail(s, "invalid UTF-8");
    s->p += n + 1;
    *cp = c;
    return 0;
}

static int js_string(struct jscan *s)
{
    s->p++;     /* the opening quote */
    if (s->out)
        buf_putc(s->out, '"');
    for (;;) {
        unsigned c = *s->p;
        if (c == '"') {
            s->p++;
            if (s->out)
                buf_putc(s->out, '"');
            return 0;
        }
        if (c == '\0')
            return js_fail(s, "unterminated string");
        if (c < 0x20)
            return js_fail(s, "control character in a string");
        if (c >= 0x80) {
            if (js_utf8(s, &c))
                return -1;
        } else if (c != '\\') {
            s->p++;
        } else {
            unsigned e = s->p[1];
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                if (hex4(s->p + 2, &c))
                    return js_fail(s, "bad \\u escape");
                if (c == 0)
                    return js_fail(s, "\\u0000 (which PostgreSQL's jsonb cannot store)");
                if (c >= 0xDC00 && c <= 0xDFFF)
                    return js_fail(s, "a lone surrogate escape (which PostgreSQL's "
                                      "jsonb cannot store)");
                if (c >= 0xD800 && c <= 0xDBFF) {
                    unsigned lo;
                    if (s->p[6] != '\\' || s->p[7] != 'u' || hex4(s->p + 8, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return js_fail(s, "a lone surrogate escape (which "
                                          "PostgreSQL's jsonb cannot store)");
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    s->p += 6;
                }
                s->p += 4;
                break;
            default:
                return js_fail(s, "bad escape in a string");
            }
            s->p += 2;
        }
        if (s->out)
            put_code_point(s->out, c);
    }
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/* A number that is not a short integer, by value: integral and below 2^63
 * as an integer; else the shortest of %.15g, %.16g, %.17g that reads back as
 * x (so the output, read again, prints the same); overflow as +-1e999, which
 * JSON and jsonb's numeric can hold and strtod reads back as infinite. */
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

static int js_number(struct jscan *s)
{
    const unsigned char *b = s->p, *p = s->p;
    int integer = 1;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (is_digit(*p))
        while (is_digit(*p))
            p++;
    else
        return js_fail(s, "bad number");
    size_t int_digits = (size_t)(p - b) - (*b == '-');
    if (*p == '.') {
        integer = 0;
        if (!is_digit(*++p))
            return js_fail(s, "bad number");
        while (is_digit(*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        integer = 0;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return js_fail(s, "bad number");
        while (is_digit(*p))
            p++;
    }
    s->p = p;
    if (!s->out)
        return 0;
    if (integer && int_digits <= 18) {
        if (p - b == 2 && b[0] == '-' && b[1] == '0')
            buf_putc(s->out, '0');
        else
            buf_append(s->out, b, (size_t)(p - b));
        return 0;
    }
    char tmp[64];
    const char *text = (const char *)b;
    char *copy = NULL;
    size_t len = (size_t)(p - b);
    if (len < sizeof tmp) {        /* strtod needs the number NUL-terminated */
        memcpy(tmp, b, len);
        tmp[len] = '\0';
        text = tmp;
    } else if ((copy = strndup((const char *)b, len)) != NULL) {
        text = copy;
    }
    double x = strtod(text, NULL);
    free(copy);
    put_double(s->out, x);
    return 0;
}

static int js_literal(struct jscan *s, const char *word)
{
    size_t n = strlen(word);
    if (strncmp((const char *)s->p, word, n) != 0)
        return js_fail(s, "unexpected character");
    s->p += n;
    if (s->out)
        buf_append(s->out, word, n);
    return 0;
}

static int js_array(struct jscan *s)
{
    s->p++;
    if (s->out)
        buf_putc(s->out, '[');
    js_ws(s);
    if (*s->p == ']') {
        s->p++;
        if (s->out)
            buf_putc(s->out, ']');
        return 0;
    }
    for (;;) {
        if (js_value(s))
            return -1;
        js_ws(s);
        if (*s->p == ']') {
            s->p++;
            if (s->out)
                buf_putc(s->out, ']');
            return 0;
        }
        if (*s->p != ',')
            return js_fail(s, "expected ',' or ']'");
        s->p++;
        if (s->out)
            buf_putc(s->out, ',');
    }
}

/* A member of an object being canonicalised: key and value are ranges of
 * the object's own buffer (the key with its quotes). */
struct member {
    size_t key, key_len, val, val_len;
    size_t order;
    const char *base;
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->base + x->key, y->base + y->key, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int js_object(struct jscan *s)
{
    struct buf *parent = s->out;
    struct buf own = BUF_INIT;
    struct member *m = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    s->p++;
    if (parent)
        s->out = &own;
    js_ws(s);
    if (*s->p == '}') {
        s->p++;
        rc = 0;
        goto done;
    }
    for (;;) {
        if (*s->p != '"') {
            js_fail(s, "expected a string key");
            goto done;
        }
        size_t k0 = own.len;
        if (js_string(s))
            goto done;
        size_t k1 = own.len;
        js_ws(s);
        if (*s->p != ':') {
            js_fail(s, "expected ':'");
            goto done;
        }
        s->p++;
        if (js_value(s))
            goto done;
        if (parent) {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                struct member *bigger = realloc(m, cap * sizeof *m);
                if (!bigger) {
                    store_errf(s->why, "out of memory");
                    goto done;
                }
                m = bigger;
            }
            m[n] = (struct member){k0, k1 - k0, k1, own.len - k1, n, NULL};
            n++;
        }
        js_ws(s);
        if (*s->p == '}') {
            s->p++;
            rc = 0;
            goto done;
        }
        if (*s->p != ',') {
            js_fail(s, "expected ',' or '}'");
            goto done;
        }
        s->p++;
        js_ws(s);
    }
done:
    s->out = parent;
    if (rc == 0 && parent) {
        if (buf_failed(&own)) {
            store_errf(s->why, "out of memory");
            rc = -1;
        } else {
            for (size_t i = 0; i < n; i++)
                m[i].base = own.data;
            if (n > 1)
                qsort(m, n, sizeof *m, member_cmp);
            buf_putc(parent, '{');
            int first = 1;
            for (size_t i = 0; i < n; i++) {
                /* Of equal keys (sorted by position), the last one counts. */
                if (i + 1 < n && m[i].key_len == m[i + 1].key_len &&
                    memcmp(own.data + m[i].key, own.data + m[i + 1].key, m[i].key_len) == 0)
                    continue;
                if (!first)
                    buf_putc(parent, ',');
                first = 0;
                buf_append(parent, own.data + m[i].key, m[i].key_len);
                buf_putc(parent, ':');
                buf_append(parent, own.data + m[i].val, m[i].val_len);
            }
            buf_putc(parent, '}');
        }
    }
    free(m);
    buf_free(&own);
    return rc;
}

static int js_value(struct jscan *s)
{
    js_ws(s);
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > CANON_MAX_DEPTH)
            return js_fail(s, "nested too deeply");
        int rc = *s->p == '{' ? js_object(s) : js_array(s);
        s->depth--;
        return rc;
    case '"':
        return js_string(s);
    case 't':
        return js_literal(s, "true");
    case 'f':
        return js_literal(s, "false");
    case 'n':
        return js_literal(s, "null");
    case '\0':
        return js_fail(s, "unexpected end");
    default:
        if (*s->p == '-' || is_digit(*s->p))
            return js_number(s);
        return js_fail(s, "unexpected character");
    }
}

int canon_json_scan(const char *col, const char *text, struct buf *out, int *is_null,
                    char *err)
{
    char why[STORE_ERRLEN] = "";
    struct jscan s = {(const unsigned char *)text, (const unsigned char *)text, out, 0, why};
    js_ws(&s);
    const unsigned char *v = s.p;
    int rc = js_value(&s);
    if (rc == 0) {
        js_ws(&s);
        if (*s.p)
            rc = js_fail(&s, "unexpected text after the value");
    }
    if (rc != 0) {
        if (strstr(why, "\\u0000") || strstr(why, "lone surrogate"))
            store_errf(err, "%s holds %s", col, why);
        else
            store_errf(err, "%s is not valid JSON (%s)", col, why);
        return -1;
    }
    if (is_null)
        *is_null = strncmp((const char *)v, "null", 4) == 0;
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

/* --- strings ------------------------------------------------------------------ */

void canon_string(struct buf *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    buf_putc(out, '"');
    const unsigned char *run = s;
    for (; *s; s++) {
        if (*s != '"' && *s != '\\' && *s >= 0x20)
            continue;
        buf_append(out, run, (size_t)(s - run));
        put_code_point(out, *s);
        run = s + 1;
    }
    buf_append(out, run, (size_t)(s - run));
    buf_putc(out, '"');
}

char *canon_string_decode(const char *json, size_t len, char *err)
{
    if (len < 2 || json[0] != '"') {
        store_errf(err, "not a string");
        return NULL;
    }
    /* The canonical form is checked and has only \" \\ and \u00XX left. */
    char *lit = strndup(json, len);
    struct buf b = BUF_INIT;
    char why[STORE_ERRLEN] = "";
    struct jscan sc = {(const unsigned char *)lit, (const unsigned char *)lit, &b, 0, why};
    if (!lit) {
        store_errf(err, "out of memory");
        return NULL;
    }
    if (js_string(&sc) != 0 || sc.p != (const unsigned char *)lit + len) {
        store_errf(err, "%s", why[0] ? why : "not a string");
        free(lit);
        buf_free(&b);
        return NULL;
    }
    free(lit);
    if (buf_failed(&b)) {
        buf_free(&b);
        store_errf(err, "out of memory");
        return NULL;
    }
    /* Unescape in place: the result is never longer. */
    char *c = b.data + 1, *w = b.data, *end = b.data + b.len - 1;
    while (c < end) {
        if (*c != '\\') {
            *w++ = *c++;
        } else if (c[1] == 'u') {
            unsigned v;
            hex4((const unsigned char *)c + 2, &v);
            *w++ = (char)v;
            c += 6;
        } else {
            *w++ = c[1];
            c += 2;
        }
    }
    *w = '\0';
    return b.data;
}

/* --- objects ------------------------------------------------------------------- */

int canon_object_walk(const char *text, canon_member_fn fn, void *ctx, char *err)
{
    char why[STORE_ERRLEN] = "";
    struct jscan s = {(const unsigned char *)text, (const unsigned char *)text, NULL, 1, why};
    js_ws(&s);
    if (*s.p != '{') {
        store_errf(err, "not a JSON object");
        return -1;
    }
    s.p++;
    js_ws(&s);
    if (*s.p == '}') {
        s.p++;
        goto end;
    }
    for (;;) {
        if (*s.p != '"') {
            js_fail(&s, "expected a string key");
            goto bad;
        }
        const unsigned char *k = s.p;
        if (js_string(&s))
            goto bad;
        char *key = canon_string_decode((const char *)k, (size_t)(s.p - k), why);
        if (!key)
            goto bad;
        js_ws(&s);
        if (*s.p != ':') {
            free(key);
            js_fail(&s, "expected ':'");
            goto bad;
        }
        s.p++;
        js_ws(&s);
        const unsigned char *v = s.p;
        if (js_value(&s)) {
            free(key);
            goto bad;
        }
        if (err)
            err[0] = '\0';
        int stop = fn(ctx, key, (size_t)(v - s.start), (size_t)(s.p - v), err);
        free(key);
        if (stop)
            return -1;
        js_ws(&s);
        if (*s.p == '}') {
            s.p++;
            break;
        }
        if (*s.p != ',') {
            js_fail(&s, "expected ',' or '}'");
            goto bad;
        }
        s.p++;
        js_ws(&s);
    }
end:
    js_ws(&s);
    if (*s.p) {
        js_fail(&s, "unexpected text after the object");
        goto bad;
    }
    return 0;
bad:
    store_errf(err, "not valid JSON (%s)", why);
    return -1;
}
