/* test_highlight.c -- highlight_python against Pygments' own output, and on
 * hostile input.
 *
 * Agreement: for every vectors/highlight/NAME.py the HTML highlight_python
 * emits is parsed back into text + one class per byte (a small strict parser
 * that accepts only the markup HtmlFormatter writes). The text must equal the
 * text of NAME.tokens.tsv (Pygments' normalised source); then, over non-blank
 * characters, the share whose class equals Pygments' is computed. Any file
 * under 99% fails. Per-file and overall figures are printed, with the number
 * of files whose HTML is byte-identical to NAME.html.
 *
 * Robustness: invalid UTF-8, NUL bytes, unterminated strings, deep nesting and
 * 1 MB runs of one character must give well-formed, escaped output (the same
 * parser checks it). Times for 0.5 MB and 1 MB runs are printed so that a
 * quadratic path shows as a ratio near 4 instead of 2; nothing asserts on
 * time. */
#include "unit.h"
#include "highlight.h"

#include <dirent.h>
#include <stdint.h>
#include <time.h>

#define PREFIX "<div class=\"ipb-code\"><pre><span></span>"
#define SUFFIX "</pre></div>\n"

/* ---------------------------------------------------------------------------
 * Parsed text with one class per byte. Classes are short strings (<= 7). */

struct classed {
    char *text;
    char (*cls)[8];
    size_t len, cap;
};

static void classed_add(struct classed *c, const char *p, size_t n, const char *cls)
{
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        c->text = realloc(c->text, c->cap);
        c->cls = realloc(c->cls, c->cap * sizeof *c->cls);
        assert_non_null(c->text);
        assert_non_null(c->cls);
    }
    for (size_t i = 0; i < n; i++) {
        c->text[c->len] = p[i];
        snprintf(c->cls[c->len], sizeof c->cls[0], "%s", cls);
        c->len++;
    }
    c->text[c->len] = '\0';
}

static void classed_free(struct classed *c)
{
    free(c->text);
    free(c->cls);
    memset(c, 0, sizeof *c);
}

/* Parses highlight_python's output. Returns NULL when well-formed, else a
 * description of the first problem. Checks: the fixed prefix and suffix,
 * only <span class="x"> and </span> tags, never nested, no newline inside a
 * span, only the five entities, no raw > or NUL, valid UTF-8. */
static const char *parse_html(const char *html, size_t len, struct classed *out)
{
    static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''},
    };
    size_t plen = strlen(PREFIX), slen = strlen(SUFFIX);
    if (len < plen + slen || memcmp(html, PREFIX, plen) != 0)
        return "bad prefix";
    if (memcmp(html + len - slen, SUFFIX, slen) != 0)
        return "bad suffix";
    char cls[8] = "";
    int open = 0;
    size_t i = plen, end = len - slen;
    while (i < end) {
        unsigned char c = (unsigned char)html[i];
        if (c == '<') {
            if (!open && strncmp(html + i, "<span class=\"", 13) == 0) {
                const char *q = memchr(html + i + 13, '"', end - i - 13);
                if (!q || q[1] != '>' || q - (html + i + 13) >= 8 || q == html + i + 13)
                    return "bad span";
                snprintf(cls, sizeof cls, "%.*s", (int)(q - (html + i + 13)), html + i + 13);
                open = 1;
                i = (size_t)(q - html) + 2;
            } else if (open && strncmp(html + i, "</span>", 7) == 0) {
                cls[0] = '\0';
                open = 0;
                i += 7;
            } else {
                return "raw < or misplaced tag";
            }
        } else if (c == '&') {
            size_t k;
            for (k = 0; k < sizeof ents / sizeof ents[0]; k++)
                if (strncmp(html + i, ents[k].ent, strlen(ents[k].ent)) == 0)
                    break;
            if (k == sizeof ents / sizeof ents[0])
                return "raw & or unknown entity";
            classed_add(out, &ents[k].ch, 1, cls);
            i += strlen(ents[k].ent);
        } else if (c == '>') {
            return "raw >";
        } else if (c == '\0') {
            return "raw NUL";
        } else if (c == '\n' && open) {
            return "newline inside a span";
        } else {
            size_t k = 1;
            if (c >= 0x80) {
                k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                if (c < 0xC2 || c > 0xF4 || i + k > end)
                    return "invalid UTF-8";
                for (size_t j = 1; j < k; j++)
                    if (((unsigned char)html[i + j] & 0xC0) != 0x80)
                        return "invalid UTF-8";
            }
            classed_add(out, html + i, k, cls);
            i += k;
        }
    }
    if (open)
        return "span left open";
    return NULL;
}

/* Parses NAME.tokens.tsv: "class TAB text" per line, text with \\ \n \t. */
static void parse_tsv(const char *tsv, struct classed *out)
{
    const char *p = tsv;
    while (*p) {
        const char *tab = strchr(p, '\t');
        const char *eol = strchr(p, '\n');
        assert_non_null(tab);
        assert_non_null(eol);
        assert_true(tab < eol);
        char cls[8];
        snprintf(cls, sizeof cls, "%.*s", (int)(tab - p), p);
        for (const char *q = tab + 1; q < eol; q++) {
            char ch = *q;
            if (ch == '\\' && q + 1 < eol) {
                q++;
                ch = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
            }
            classed_add(out, &ch, 1, cls);
        }
        p = eol + 1;
    }
}

/* Decodes the code point at s (valid UTF-8 assumed); returns its length. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) { *cp = s[0]; return 1; }
    if (s[0] < 0xE0) { *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F); return 2; }
    if (s[0] < 0xF0) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12)
        | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

/* Python's str.isspace(). */
static int blank(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F)
        || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
        || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static char *highlight_str(const char *code, size_t len, size_t *out_len)
{
    struct buf b = BUF_INIT;
    highlight_python(&b, code, len);
    assert_false(buf_failed(&b));
    *out_len = b.len;
    char *s = buf_steal(&b);
    assert_non_null(s);
    return s;
}

/* ---------------------------------------------------------------------------
 * Agreement with the vectors. */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_vectors(void **state)
{
    (void)state;
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s", vector_path("highlight"));
    DIR *d = opendir(dirpath);
    if (!d)
        fail_msg("cannot open %s", dirpath);
    char *names[256];
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && count < 256) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".py") == 0)
            names[count++] = strndup(de->d_name, l - 3);
    }
    closedir(d);
    assert_true(count > 0);
    qsort(names, count, sizeof names[0], cmp_names);

    size_t all_agree = 0, all_total = 0, identical = 0, failed = 0;
    printf("highlight: class agreement with Pygments over non-blank characters\n");
    for (size_t f = 0; f < count; f++) {
        char rel[512];
        size_t py_len, html_len, tsv_len, out_len;
        snprintf(rel, sizeof rel, "highlight/%s.py", names[f]);
        char *py = read_vector(rel, &py_len);
        snprintf(rel, sizeof rel, "highlight/%s.html", names[f]);
        char *html = read_vector(rel, &html_len);
        snprintf(rel, sizeof rel, "highlight/%s.tokens.tsv", names[f]);
        char *tsv = read_vector(rel, &tsv_len);
        (void)tsv_len;

        char *out = highlight_str(py, py_len, &out_len);
        int same = out_len == html_len && memcmp(out, html, html_len) == 0;
        identical += same;

        struct classed got = {0}, want = {0};
        const char *err = parse_html(out, out_len, &got);
        if (err)
            fail_msg("%s: malformed output: %s", names[f], err);
        parse_tsv(tsv, &want);
        if (got.len != want.len || memcmp(got.text, want.text, got.len) != 0)
            fail_msg("%s: text of the output differs from Pygments' normalised text",
                     names[f]);

        size_t agree = 0, total = 0, first_bad = SIZE_MAX;
        for (size_t i = 0; i < got.len;) {
            uint32_t cp;
            size_t k = decode((const unsigned char *)got.text + i, &cp);
            if (!blank(cp)) {
                total++;
                if (strcmp(got.cls[i], want.cls[i]) == 0)
                    agree++;
                else if (first_bad == SIZE_MAX)
                    first_bad = i;
            }
            i += k;
        }
        double pct = total ? 100.0 * (double)agree / (double)total : 100.0;
        printf("  %-26s %5zu/%-5zu %7.2f%%%s\n", names[f], agree, total, pct,
               same ? "  html identical" : "");
        if (first_bad != SIZE_MAX) {
            size_t from = first_bad > 20 ? first_bad - 20 : 0;
            printf("      first difference at byte %zu (class %s, Pygments %s): \"%.*s\"\n",
                   first_bad, got.cls[first_bad][0] ? got.cls[first_bad] : "-",
                   want.cls[first_bad][0] ? want.cls[first_bad] : "-",
                   (int)(first_bad - from + 10 < got.len - from ? first_bad - from + 10
                                                                : got.len - from),
                   got.text + from);
        }
        if (pct < 99.0)
            failed++;
        all_agree += agree;
        all_total += total;
        classed_free(&got);
        classed_free(&want);
        free(out);
        free(py);
        free(html);
        free(tsv);
        free(names[f]);
    }
    printf("  overall %zu/%zu = %.2f%%; %zu of %zu files byte-identical\n", all_agree,
           all_total, all_total ? 100.0 * (double)all_agree / (double)all_total : 100.0,
           identical, count);
    if (failed)
        fail_msg("%zu file(s) under 99%% agreement", failed);
}

/* Corners the vectors do not show, with the HTML Pygments 2.20 gives
 * (obtained from pygments.highlight on the same text). */
static void test_corners(void **state)
{
    (void)state;
    static const struct { const char *code, *html; } cases[] = {
        {"yield\xc2\xb2 = \xd9\xa1\xd9\xa2",      /* superscript two is \w, not a name */
         "<span class=\"n\">yield</span><span class=\"err\">\xc2\xb2</span> "
         "<span class=\"o\">=</span> <span class=\"mi\">\xd9\xa1\xd9\xa2</span>\n"},
        {"\xe5\x90\x8d\xe5\x89\x8d \xe2\x86\x92 \xe2\x84\x9d",
         "<span class=\"n\">\xe5\x90\x8d\xe5\x89\x8d</span> <span class=\"err\">"
         "\xe2\x86\x92</span> <span class=\"n\">\xe2\x84\x9d</span>\n"},
        {"match x:\n    case \"_\": pass",          /* using(this) on '"' */
         "<span class=\"k\">match</span> <span class=\"n\">x</span><span class=\"p\">:"
         "</span>\n    <span class=\"k\">case</span><span class=\"w\"> </span><span "
         "class=\"s2\">&quot;</span><span class=\"k\">_</span><span class=\"s2\">"
         "&quot;: pass</span>\n"},
        {"from . import (a)",
         "<span class=\"kn\">from</span><span class=\"w\"> </span><span class=\"nn\">."
         "</span><span class=\"w\"> </span><span class=\"kn\">import</span> <span "
         "class=\"p\">(</span><span class=\"n\">a</span><span class=\"p\">)</span>\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t out_len;
        char *out = highlight_str(cases[i].code, strlen(cases[i].code), &out_len);
        char want[1024];
        snprintf(want, sizeof want, "%s%s%s", PREFIX, cases[i].html, SUFFIX);
        assert_string_equal(out, want);
        free(out);
    }
}

/* ---------------------------------------------------------------------------
 * Robustness. */

/* Highlights code and checks the output is well-formed; returns the parsed
 * text (caller frees with classed_free). */
static struct classed check_safe(const char *code, size_t len)
{
    size_t out_len;
    char *out = highlight_str(code, len, &out_len);
    struct classed got = {0};
    const char *err = parse_html(out, out_len, &got);
    if (err)
        fail_msg("malformed output (%s) for input of %zu bytes starting \"%.20s\"", err,
                 len, code);
    assert_true(got.len > 0);
    assert_int_equal(got.text[got.len - 1], '\n');
    free(out);
    return got;
}

/* For clean input (valid UTF-8, no NUL, no CR, no leading or trailing
 * newline) the text shown must be the input plus one newline. */
static void check_roundtrip(const char *code, size_t len)
{
    struct classed got = check_safe(code, len);
    assert_int_equal(got.len, len + 1);
    assert_memory_equal(got.text, code, len);
    classed_free(&got);
}

static void check_str(const char *code)
{
    struct classed got = check_safe(code, strlen(code));
    classed_free(&got);
}

static void test_invalid_utf8_and_nul(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "x = '\x80'\n", "\xff\xfe\xfd", "\xc0\xaf = 1", "s = \"\xed\xa0\x80\"",
        "\xf0\x9f", ("a\xf4\x90\x80\x80" "b"), "\xef\xbb\xbf# bom\n", "\xe2\x82",
        "def \xff(): pass", "class \x80:\n", "f'{\xff}'", "import \xc3",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        check_str(inputs[i]);
    static const char nul[] = "x = '\0'\n\0\0 # \0\nf\"{\0}\"\n\0";
    struct classed got = check_safe(nul, sizeof nul - 1);
    assert_null(memchr(got.text, '\0', got.len));
    classed_free(&got);
    /* one U+FFFD per maximal ill-formed subpart, as Python's decode('replace') */
    static const struct { const char *in, *shown; } repl[] = {
        {"\xf0\x9f" "a", "\xef\xbf\xbd" "a\n"},
        {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd\n"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n"},
        {"\xe2\x82" "x", "\xef\xbf\xbd" "x\n"},
        {"#\xc3\xa9\x80", "#\xc3\xa9\xef\xbf\xbd\n"},
    };
    for (size_t i = 0; i < sizeof repl / sizeof repl[0]; i++) {
        got = check_safe(repl[i].in, strlen(repl[i].in));
        assert_int_equal(got.len, strlen(repl[i].shown));
        assert_memory_equal(got.text, repl[i].shown, got.len);
        classed_free(&got);
    }
    got = check_safe("a\0b", 3);
    assert_string_equal(got.text, "a\xef\xbf\xbd" "b\n");
    classed_free(&got);
    /* every byte value, every pair of a lead byte and a follower */
    char all[512];
    for (int i = 0; i < 256; i++) {
        all[2 * i] = (char)i;
        all[2 * i + 1] = (char)(255 - i);
    }
    got = check_safe(all, sizeof all);
    classed_free(&got);
    /* empty and newline-only input */
    got = check_safe("", 0);
    assert_int_equal(got.len, 1);
    classed_free(&got);
    got = check_safe("\r\n\n\r", 4);
    assert_int_equal(got.len, 1);
    classed_free(&got);
    size_t out_len;
    char *out = highlight_str(NULL, 0, &out_len);
    assert_string_equal(out, PREFIX "\n" SUFFIX);
    free(out);
}

static void test_unterminated(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "\"abc", "'abc", "'''abc", "\"\"\"abc\n\ndef", "f\"{x", "f\"{", "f'{x:",
        "f'{x:{", "f'''{\n(\n[", "rb'''", "\"\\N{", "'\\", "'''\\", "f'{'",
        "x = \"a\\", "'%(", "'{a[", "'{a[0", "'{:", "'{!r", "def", "def ", "class ",
        "from", "from .", "import a as", "match", "match x:\n case", "case _",
        "@", "0x", "0o_", "1e", "1.e+", "#!", "\\", "lambda: (yield from",
        "'''<script>&amp;'''", "\"<>&'\\\"\"",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        check_roundtrip(inputs[i], strlen(inputs[i]));
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail,
                    size_t *len)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    *len = hl + ul * times + tl;
    char *s = malloc(*len + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < times; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * times, tail, tl);
    s[*len] = '\0';
    return s;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t len;
    char *s = repeat("f\"{", "(", 200000, "", &len);
    check_roundtrip(s, len);
    free(s);
    s = repeat("x = ", "[", 200000, "", &len);
    check_roundtrip(s, len);
    free(s);
    /* f-strings nested in f-string fields, 20000 deep, then closed */
    s = repeat("", "f'{", 20000, "", &len);
    char *t = repeat(s, "}'", 20000, "", &len);
    check_roundtrip(t, len);
    free(s);
    free(t);
    s = repeat("", "f\"{x:{", 50000, "", &len);
    check_roundtrip(s, len);
    free(s);
    /* many format fields open before one ']', then a long .attr chain */
    s = repeat("'", "{a[", 100000, "]", &len);
    t = repeat(s, ".b", 100000, "}'", &len);
    check_roundtrip(t, len);
    free(s);
    free(t);
}

static double seconds_for(const char *code, size_t len)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct classed got = check_safe(code, len);
    clock_gettime(CLOCK_MONOTONIC, &b);
    classed_free(&got);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void test_megabyte_runs(void **state)
{
    (void)state;
    static const struct { const char *head, *unit; } runs[] = {
        {"", "("}, {"", "\""}, {"", "a"}, {"", "\\"}, {"", "#"}, {"f\"", "{"},
        {"x = ", "'"}, {"s = '", "%"}, {"s = '", "{"}, {"s = '", "{a["}, {"s = '", "\\N{"},
        {"", "\"\"\"\n"}, {"", "u'''x\n"}, {"", " \n"}, {"", "match _\n"},
        {"", "case (\n"}, {"", "1_"}, {"", "0x"}, {"", "@"}, {"", "<&>"},
        {"", "\xff"}, {"", "\xc3\xa9"}, {"", "def "}, {"", "import a as "},
        {"from ", ". "}, {"", "f'{x!r:"}, {"", "\r"}, {"", "\xc2\xb2"},
        {"", "\xd9\xa3"}, {"'", "{a["}, {"'", "{a[{a[.b]"},
    };
    printf("highlight: time for 0.5 MB and 1 MB runs (ratio near 2 = linear)\n");
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        size_t ul = strlen(runs[i].unit), len_half, len_full;
        char *half = repeat(runs[i].head, runs[i].unit, (512 * 1024) / ul, "", &len_half);
        char *full = repeat(runs[i].head, runs[i].unit, (1024 * 1024) / ul, "", &len_full);
        double th = seconds_for(half, len_half);
        double tf = seconds_for(full, len_full);
        char shown[32] = "";
        for (const char *u = runs[i].unit; *u && strlen(shown) < 24; u++) {
            unsigned char c = (unsigned char)*u;
            size_t k = strlen(shown);
            if (c == '\n' || c == '\r' || c >= 0x80)
                snprintf(shown + k, sizeof shown - k, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\x%02x", c);
            else
                shown[k] = (char)c, shown[k + 1] = '\0';
        }
        printf("  %-14s x %-7zu %7.3f s  %7.3f s  ratio %.1f\n", shown,
               (1024 * 1024) / ul, th, tf, th > 0 ? tf / th : 0.0);
        free(half);
        free(full);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_corners),
        cmocka_unit_test(test_invalid_utf8_and_nul),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_megabyte_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
