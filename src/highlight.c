/* highlight.c -- Python 3 source -> highlighted HTML, the way the original
 * site showed code cells: Pygments 2.20's PythonLexer with
 * HtmlFormatter(cssclass='ipb-code').
 *
 * Three stages, each a plain loop over the text:
 *
 *   1. normalise()   makes the text Pygments lexes: a leading BOM dropped,
 *                    CR LF and lone CR turned into LF, leading and trailing
 *                    LFs stripped and one final LF added. Ill-formed UTF-8
 *                    becomes U+FFFD (one per maximal ill-formed subpart, as
 *                    Python's decode(errors='replace')), and so does NUL, so
 *                    everything after this point sees valid UTF-8 without NUL.
 *   2. the lexer     a hand-written state machine that mirrors PythonLexer's
 *                    regular-expression states rule by rule, in the same order
 *                    (Pygments takes the first rule that matches, not the
 *                    longest). The state stack holds one byte per state:
 *                    root, the f-string expression states, funcname, import,
 *                    ... and one value per kind of string (quote, triple,
 *                    f-string, which escapes apply). When no rule of the
 *                    current state matches, a newline resets the stack to
 *                    root and any other character is an Error token, as in
 *                    Pygments' RegexLexer.
 *   3. the writer    turns tokens into HtmlFormatter's markup: consecutive
 *                    tokens of one class share a <span>, Text has no span,
 *                    a newline closes the open span and is written bare.
 *
 * Invariants:
 *   - Every token the lexer emits is a contiguous slice of the normalised
 *     text, in order, and together they cover it exactly; the writer escapes
 *     every slice (& < > " '), so no input byte reaches the output raw.
 *   - Linear time. A rule either consumes what it scanned, or scans a
 *     bounded distance (word look-ups stop after WORD_MAX characters), or
 *     scans once per line or per soft keyword. Four searches can run far
 *     ahead and be repeated: the end of a whitespace run before a docstring,
 *     the closing """ or ''', the ']' of a format field's index, the '}' or
 *     newline ending \N{...}; they go through a struct memo that remembers
 *     its last answer. What follows a format field's ']' is remembered too.
 *   - The state stack is allocated once with room for one entry per input
 *     byte: a push always consumes at least one byte, so it cannot overflow.
 *   - Recursion is bounded: the only nested lexing is the pattern text of a
 *     `case ... _` line (Pygments' using(this)), which holds no '_' and no
 *     newline, so it cannot nest again.
 *
 * Where the C differs from Pygments: Unicode categories are approximated.
 * Identifiers accept every non-ASCII code point outside a table of
 * punctuation and symbol ranges (Pygments uses the exact XID tables), and
 * \d matches ASCII digits only.
 */
#include "highlight.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Token classes: Pygments' short CSS class names. */

enum tclass {
    T_TEXT, T_W, T_ERR, T_K, T_KC, T_KN, T_OW, T_O, T_P,
    T_N, T_NB, T_BP, T_NE, T_NF, T_FM, T_NC, T_NN, T_ND, T_VM,
    T_MI, T_MF, T_MH, T_MO, T_MB,
    T_S1, T_S2, T_SA, T_SD, T_SE, T_SI, T_C1, T_CH,
    T_COUNT
};

static const char *const class_name[T_COUNT] = {
    "", "w", "err", "k", "kc", "kn", "ow", "o", "p",
    "n", "nb", "bp", "ne", "nf", "fm", "nc", "nn", "nd", "vm",
    "mi", "mf", "mh", "mo", "mb",
    "s1", "s2", "sa", "sd", "se", "si", "c1", "ch",
};

/* ---------------------------------------------------------------------------
 * The writer: HtmlFormatter's span merging. `open` is the class of the run
 * being written on the current line, or -1 at the start of a line. */

struct writer {
    struct buf *out;
    int open;
};

static void writer_close(struct writer *w)
{
    if (w->open > T_TEXT)
        buf_puts(w->out, "</span>");
    w->open = -1;
}

static void writer_token(struct writer *w, int cls, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (seg > 0) {
            if (w->open != cls) {
                if (w->open > T_TEXT)
                    buf_puts(w->out, "</span>");
                if (cls != T_TEXT) {
                    buf_puts(w->out, "<span class=\"");
                    buf_puts(w->out, class_name[cls]);
                    buf_puts(w->out, "\">");
                }
                w->open = cls;
            }
            buf_html_escape(w->out, p, seg);
        }
        if (!nl)
            break;
        writer_close(w);
        buf_putc(w->out, '\n');
        p += seg + 1;
        n -= seg + 1;
    }
}

/* ---------------------------------------------------------------------------
 * Stage 1: normalisation. Returns a malloc'd buffer (caller frees) holding
 * valid UTF-8 without NUL that ends in '\n'; NULL when out of memory. */

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0;                   /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0;                   /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80
            || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;                   /* overlong */
        if (c == 0xF4 && s[1] >= 0x90)
            return 0;                   /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Length of the maximal ill-formed subpart at s (s does not start a valid
 * sequence): a lead byte and the continuation bytes that could still have
 * completed it. One U+FFFD replaces it, as Python's decode(errors='replace'). */
static size_t utf8_bad_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    size_t k = 1;
    while (k < need && k < n && s[k] >= lo && s[k] <= hi) {
        k++;
        lo = 0x80;
        hi = 0xBF;
    }
    return k;
}

static char *normalise(const char *code, size_t len, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)code;
    if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
        s += 3;
        len -= 3;
    }
    if (len > (SIZE_MAX - 2) / 3)
        return NULL;
    unsigned char *t = malloc(len * 3 + 2);
    if (!t)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '\r') {
            t[n++] = '\n';
            i += (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        size_t k = c ? utf8_valid_len(s + i, len - i) : 0;
        if (k == 0) {                   /* U+FFFD for NUL or a bad sequence */
            t[n++] = 0xEF;
            t[n++] = 0xBF;
            t[n++] = 0xBD;
            i += c ? utf8_bad_len(s + i, len - i) : 1;
            continue;
        }
        memcpy(t + n, s + i, k);
        n += k;
        i += k;
    }
    size_t start = 0;
    while (start < n && t[start] == '\n')
        start++;
    while (n > start && t[n - 1] == '\n')
        n--;
    memmove(t, t + start, n - start);
    n -= start;
    t[n++] = '\n';
    t[n] = '\0';
    *out_len = n;
    return (char *)t;
}

/* ---------------------------------------------------------------------------
 * Characters. The text is valid UTF-8 here; positions are byte offsets that
 * always sit on a code point boundary. */

static const uint32_t not_word_ranges[][2] = {
    {0x80, 0xA9}, {0xAB, 0xB4}, {0xB6, 0xB9}, {0xBB, 0xBF}, {0xD7, 0xD7},
    {0xF7, 0xF7}, {0x2C2, 0x2C5}, {0x2D2, 0x2DF}, {0x2E5, 0x2EB},
    {0x2ED, 0x2ED}, {0x2EF, 0x2FF}, {0x375, 0x375}, {0x37E, 0x37E},
    {0x384, 0x385}, {0x387, 0x387}, {0x3F6, 0x3F6}, {0x482, 0x482},
    {0x55A, 0x55F}, {0x589, 0x58A}, {0x5BE, 0x5BE}, {0x5C0, 0x5C0},
    {0x5C3, 0x5C3}, {0x5C6, 0x5C6}, {0x5F3, 0x5F4}, {0x600, 0x60F},
    {0x61B, 0x61F}, {0x66A, 0x66D}, {0x6D4, 0x6D4}, {0x6DE, 0x6DE},
    {0x6E9, 0x6E9}, {0x6FD, 0x6FE}, {0x964, 0x965}, {0x970, 0x970},
    {0xE3F, 0xE3F}, {0xE4F, 0xE4F}, {0xE5A, 0xE5B}, {0x1680, 0x1680},
    {0x1FBD, 0x1FBD}, {0x1FBF, 0x1FC1}, {0x1FCD, 0x1FCF}, {0x1FDD, 0x1FDF},
    {0x1FED, 0x1FEF}, {0x1FFD, 0x1FFE}, {0x2000, 0x2070}, {0x2072, 0x207E},
    {0x2080, 0x208F}, {0x209D, 0x20CF}, {0x20F1, 0x2101}, {0x2103, 0x2106},
    {0x2108, 0x2109}, {0x2114, 0x2114}, {0x2116, 0x2118}, {0x211E, 0x2123},
    {0x2125, 0x2125}, {0x2127, 0x2127}, {0x2129, 0x2129}, {0x212E, 0x212E},
    {0x213A, 0x213B}, {0x2140, 0x2144}, {0x214A, 0x214D}, {0x214F, 0x215F},
    {0x2189, 0x2BFF}, {0x2CE5, 0x2CEA}, {0x2CF9, 0x2CFF}, {0x2E00, 0x2FFF},
    {0x3000, 0x3004}, {0x3008, 0x3020}, {0x3030, 0x3030}, {0x3036, 0x3037},
    {0x303D, 0x303F}, {0x309B, 0x309C}, {0x30A0, 0x30A0}, {0x30FB, 0x30FB},
    {0x3190, 0x319F}, {0x31C0, 0x31EF}, {0x3200, 0x33FF}, {0x4DC0, 0x4DFF},
    {0xA490, 0xA4CF}, {0xA4FE, 0xA4FF}, {0xA60D, 0xA60F}, {0xA673, 0xA673},
    {0xA67E, 0xA67E}, {0xA6F2, 0xA6F7}, {0xA700, 0xA716}, {0xA720, 0xA721},
    {0xA789, 0xA78A}, {0xD800, 0xF8FF}, {0xFD3E, 0xFD4F}, {0xFDFC, 0xFDFF},
    {0xFE10, 0xFE1F}, {0xFE30, 0xFE32}, {0xFE35, 0xFE4C}, {0xFE50, 0xFE6F},
    {0xFEFF, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF3E}, {0xFF40, 0xFF40},
    {0xFF5B, 0xFF65}, {0xFFE0, 0xFFFF}, {0x1D000, 0x1D24F},
    {0x1D300, 0x1D35F}, {0x1F000, 0x1FBFF}, {0xE0000, 0xE00FF},
    {0xE01F0, 0x10FFFF},
};

/* Combining marks: they continue an identifier but are not \w. */
static const uint32_t mark_ranges[][2] = {
    {0x300, 0x36F}, {0x483, 0x489}, {0x591, 0x5BD}, {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF}, {0x20D0, 0x20F0}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
    {0xE0100, 0xE01EF},
};

/* Non-ASCII decimal digits: they continue an identifier, cannot start one. */
static const uint32_t digit_ranges[][2] = {
    {0x660, 0x669}, {0x6F0, 0x6F9}, {0x966, 0x96F}, {0xFF10, 0xFF19},
};

/* Numbers that are \w (str.isalnum) but not identifier characters:
 * superscripts, fractions, circled digits. */
static const uint32_t other_number_ranges[][2] = {
    {0xB2, 0xB3}, {0xB9, 0xB9}, {0xBC, 0xBE}, {0x2070, 0x2070}, {0x2074, 0x2079},
    {0x2080, 0x2089}, {0x2150, 0x215F}, {0x2189, 0x2189}, {0x2460, 0x249B},
    {0x24EA, 0x24FF}, {0x2776, 0x2793}, {0x2CFD, 0x2CFD}, {0x3192, 0x3195},
    {0x3220, 0x3229}, {0x3248, 0x324F}, {0x3251, 0x325F}, {0x3280, 0x3289},
    {0x32B1, 0x32BF},
};

static int in_ranges(const uint32_t (*r)[2], size_t count, uint32_t cp)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid][0])
            hi = mid;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int cp_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F)
        || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
        || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Unicode XID_Continue (approximated): what may follow in an identifier. */
static int cp_is_ident_continue(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')
            || (cp >= '0' && cp <= '9') || cp == '_';
    return cp == 0xB7 || !in_ranges(not_word_ranges, COUNT(not_word_ranges), cp);
}

/* Python's \w (str.isalnum() or '_'), which decides \b. */
static int cp_is_word(uint32_t cp)
{
    if (cp < 0x80)
        return cp_is_ident_continue(cp);
    if (cp == 0xB7)
        return 0;
    if (in_ranges(other_number_ranges, COUNT(other_number_ranges), cp))
        return 1;
    return cp_is_ident_continue(cp) && !in_ranges(mark_ranges, COUNT(mark_ranges), cp);
}

static int cp_is_ident_start(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
    return cp != 0xB7 && cp_is_ident_continue(cp)
        && !in_ranges(mark_ranges, COUNT(mark_ranges), cp)
        && !in_ranges(digit_ranges, COUNT(digit_ranges), cp);
}

/* ---------------------------------------------------------------------------
 * The lexer. */

enum state {
    S_ROOT, S_FEXPR, S_FINNER, S_FUNCNAME, S_CLASSNAME, S_IMPORT,
    S_FROMIMPORT, S_SOFTKW,
    S_STRING = 0x80             /* | the STR_* flags below */
};

enum {
    STR_DQ = 1,                 /* " rather than ' */
    STR_TRIPLE = 2,
    STR_F = 4,                  /* f-string: {{ }} escapes, {expr} fields */
    STR_ESC_BYTES = 8,          /* \n \x41 \101 ... */
    STR_ESC_UNI = 16,           /* \N{...} \u0041 \U00000041 */
};

struct lexer;
typedef int (*pred_fn)(const struct lexer *, size_t);

/* A forward search that remembers its last answer: for any p in
 * [from, to], the first position >= p where pred holds is `to` (n if none).
 * Queries come in increasing order, so the text is scanned about once. */
struct memo {
    pred_fn pred;
    size_t from, to;
    int valid;
};

struct lexer {
    const unsigned char *s;
    size_t n, pos;
    unsigned char *stack;
    size_t depth, cap;
    struct writer *w;
    struct memo nonspace, dq3, sq3, rbracket, brace_or_nl;
    size_t field_from, field_end;   /* see brace_format_end() */
    int field_valid;
};

static int at(const struct lexer *lx, size_t i)
{
    return i < lx->n ? lx->s[i] : -1;
}

/* Decodes the code point at i; returns its length (0 at the end). */
static size_t cp_at(const struct lexer *lx, size_t i, uint32_t *cp)
{
    if (i >= lx->n) {
        *cp = 0;
        return 0;
    }
    const unsigned char *s = lx->s + i;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] < 0xE0) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (s[0] < 0xF0) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6)
            | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12)
        | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

static int is_space_at(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    return cp_at(lx, i, &cp) > 0 && cp_is_space(cp);
}

static int is_word_at(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    return cp_at(lx, i, &cp) > 0 && cp_is_word(cp);
}

static int is_digit_at(const struct lexer *lx, size_t i)
{
    int c = at(lx, i);
    return c >= '0' && c <= '9';
}

static int is_hex_at(const struct lexer *lx, size_t i)
{
    int c = at(lx, i);
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int char_in(int c, const char *set)
{
    return c > 0 && strchr(set, c) != NULL;
}

/* End of the \w run starting at i (i itself if none). */
static size_t word_end(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    size_t k;
    while ((k = cp_at(lx, i, &cp)) > 0 && cp_is_word(cp))
        i += k;
    return i;
}

/* word_end for looking a word up in a list: gives up after WORD_MAX code
 * points (longer than any listed word), so a long run of \w characters that
 * are consumed one at a time (as errors: superscripts, non-ASCII digits) is
 * not rescanned to its end at each of them. */
#define WORD_MAX 32
static size_t word_end_short(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    size_t k;
    for (int count = 0; count <= WORD_MAX && (k = cp_at(lx, i, &cp)) > 0 && cp_is_word(cp); count++)
        i += k;
    return i;
}

/* End of [xid_start][xid_continue]* at i (i itself if none). */
static size_t ident_end(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    size_t k = cp_at(lx, i, &cp);
    if (k == 0 || !cp_is_ident_start(cp))
        return i;
    i += k;
    while ((k = cp_at(lx, i, &cp)) > 0 && cp_is_ident_continue(cp))
        i += k;
    return i;
}

/* End of the \s run at i; with_nl = 0 stops at newlines ([^\S\n]). */
static size_t space_end(const struct lexer *lx, size_t i, int with_nl)
{
    uint32_t cp;
    size_t k;
    while ((k = cp_at(lx, i, &cp)) > 0 && cp_is_space(cp) && (with_nl || cp != '\n'))
        i += k;
    return i;
}

static size_t memo_find(const struct lexer *lx, struct memo *m, size_t p)
{
    if (m->valid && p >= m->from && p <= m->to)
        return m->to;
    size_t i = p;
    while (i < lx->n && !m->pred(lx, i))
        i++;
    m->from = p;
    m->to = i;
    m->valid = 1;
    return i;
}

static int pred_nonspace(const struct lexer *lx, size_t i)
{
    /* Continuation bytes of a multibyte space never stop the scan early:
     * a code point boundary is found again right after them. */
    if ((lx->s[i] & 0xC0) == 0x80)
        return 0;
    return !is_space_at(lx, i);
}

static int pred_dq3(const struct lexer *lx, size_t i)
{
    return lx->s[i] == '"' && at(lx, i + 1) == '"' && at(lx, i + 2) == '"';
}

static int pred_sq3(const struct lexer *lx, size_t i)
{
    return lx->s[i] == '\'' && at(lx, i + 1) == '\'' && at(lx, i + 2) == '\'';
}

static int pred_rbracket(const struct lexer *lx, size_t i)
{
    return lx->s[i] == ']';
}

static int pred_brace_or_nl(const struct lexer *lx, size_t i)
{
    return lx->s[i] == '}' || lx->s[i] == '\n';
}

static void emit(struct lexer *lx, int cls, size_t from, size_t to)
{
    if (to > from)
        writer_token(lx->w, cls, (const char *)lx->s + from, to - from);
}

/* Emits [pos, to) as cls and moves pos there. */
static int take(struct lexer *lx, int cls, size_t to)
{
    emit(lx, cls, lx->pos, to);
    lx->pos = to;
    return 1;
}

static void push(struct lexer *lx, unsigned char st)
{
    if (lx->depth < lx->cap)
        lx->stack[lx->depth++] = st;
}

static int pop(struct lexer *lx)
{
    if (lx->depth > 1)
        lx->depth--;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Word lists (PythonLexer's, Python 3.11's keyword.kwlist for soft keywords). */

struct word {
    const char *s;
    size_t len;
};
#define W(x) {x, sizeof(x) - 1}

static const struct word kw_root[] = {
    W("assert"), W("async"), W("await"), W("break"), W("continue"), W("del"),
    W("elif"), W("else"), W("except"), W("finally"), W("for"), W("global"),
    W("if"), W("lambda"), W("pass"), W("raise"), W("nonlocal"), W("return"),
    W("try"), W("while"), W("yield"), W("as"), W("with"),
};
static const struct word kw_expr[] = {
    W("await"), W("else"), W("for"), W("if"), W("lambda"), W("yield"),
};
static const struct word kw_const[] = { W("True"), W("False"), W("None") };
static const struct word op_words[] = { W("in"), W("is"), W("and"), W("or"), W("not") };
static const struct word kw_lower[] = {
    W("and"), W("as"), W("assert"), W("async"), W("await"), W("break"),
    W("class"), W("continue"), W("def"), W("del"), W("elif"), W("else"),
    W("except"), W("finally"), W("for"), W("from"), W("global"), W("if"),
    W("import"), W("in"), W("is"), W("lambda"), W("nonlocal"), W("not"),
    W("or"), W("pass"), W("raise"), W("return"), W("try"), W("while"),
    W("with"), W("yield"),
};
static const struct word builtins[] = {
    W("__import__"), W("abs"), W("aiter"), W("all"), W("any"), W("bin"),
    W("bool"), W("bytearray"), W("breakpoint"), W("bytes"), W("callable"),
    W("chr"), W("classmethod"), W("compile"), W("complex"), W("delattr"),
    W("dict"), W("dir"), W("divmod"), W("enumerate"), W("eval"), W("filter"),
    W("float"), W("format"), W("frozenset"), W("getattr"), W("globals"),
    W("hasattr"), W("hash"), W("hex"), W("id"), W("input"), W("int"),
    W("isinstance"), W("issubclass"), W("iter"), W("len"), W("list"),
    W("locals"), W("map"), W("max"), W("memoryview"), W("min"), W("next"),
    W("object"), W("oct"), W("open"), W("ord"), W("pow"), W("print"),
    W("property"), W("range"), W("repr"), W("reversed"), W("round"),
    W("set"), W("setattr"), W("slice"), W("sorted"), W("staticmethod"),
    W("str"), W("sum"), W("super"), W("tuple"), W("type"), W("vars"), W("zip"),
};
static const struct word pseudo[] = {
    W("self"), W("Ellipsis"), W("NotImplemented"), W("cls"),
};
static const struct word exceptions[] = {
    W("ArithmeticError"), W("AssertionError"), W("AttributeError"),
    W("BaseException"), W("BufferError"), W("BytesWarning"),
    W("DeprecationWarning"), W("EOFError"), W("EnvironmentError"),
    W("Exception"), W("FloatingPointError"), W("FutureWarning"),
    W("GeneratorExit"), W("IOError"), W("ImportError"), W("ImportWarning"),
    W("IndentationError"), W("IndexError"), W("KeyError"),
    W("KeyboardInterrupt"), W("LookupError"), W("MemoryError"),
    W("NameError"), W("NotImplementedError"), W("OSError"),
    W("OverflowError"), W("PendingDeprecationWarning"), W("ReferenceError"),
    W("ResourceWarning"), W("RuntimeError"), W("RuntimeWarning"),
    W("StopIteration"), W("SyntaxError"), W("SyntaxWarning"),
    W("SystemError"), W("SystemExit"), W("TabError"), W("TypeError"),
    W("UnboundLocalError"), W("UnicodeDecodeError"), W("UnicodeEncodeError"),
    W("UnicodeError"), W("UnicodeTranslateError"), W("UnicodeWarning"),
    W("UserWarning"), W("ValueError"), W("VMSError"), W("Warning"),
    W("WindowsError"), W("ZeroDivisionError"), W("BlockingIOError"),
    W("ChildProcessError"), W("ConnectionError"), W("BrokenPipeError"),
    W("ConnectionAbortedError"), W("ConnectionRefusedError"),
    W("ConnectionResetError"), W("FileExistsError"), W("FileNotFoundError"),
    W("InterruptedError"), W("IsADirectoryError"), W("NotADirectoryError"),
    W("PermissionError"), W("ProcessLookupError"), W("TimeoutError"),
    W("StopAsyncIteration"), W("ModuleNotFoundError"), W("RecursionError"),
    W("EncodingWarning"),
};
static const struct word magic_funcs[] = {
    W("__abs__"), W("__add__"), W("__aenter__"), W("__aexit__"), W("__aiter__"),
    W("__and__"), W("__anext__"), W("__await__"), W("__bool__"), W("__bytes__"),
    W("__call__"), W("__complex__"), W("__contains__"), W("__del__"),
    W("__delattr__"), W("__delete__"), W("__delitem__"), W("__dir__"),
    W("__divmod__"), W("__enter__"), W("__eq__"), W("__exit__"), W("__float__"),
    W("__floordiv__"), W("__format__"), W("__ge__"), W("__get__"),
    W("__getattr__"), W("__getattribute__"), W("__getitem__"), W("__gt__"),
    W("__hash__"), W("__iadd__"), W("__iand__"), W("__ifloordiv__"),
    W("__ilshift__"), W("__imatmul__"), W("__imod__"), W("__imul__"),
    W("__index__"), W("__init__"), W("__instancecheck__"), W("__int__"),
    W("__invert__"), W("__ior__"), W("__ipow__"), W("__irshift__"),
    W("__isub__"), W("__iter__"), W("__itruediv__"), W("__ixor__"), W("__le__"),
    W("__len__"), W("__length_hint__"), W("__lshift__"), W("__lt__"),
    W("__matmul__"), W("__missing__"), W("__mod__"), W("__mul__"), W("__ne__"),
    W("__neg__"), W("__new__"), W("__next__"), W("__or__"), W("__pos__"),
    W("__pow__"), W("__prepare__"), W("__radd__"), W("__rand__"),
    W("__rdivmod__"), W("__repr__"), W("__reversed__"), W("__rfloordiv__"),
    W("__rlshift__"), W("__rmatmul__"), W("__rmod__"), W("__rmul__"),
    W("__ror__"), W("__round__"), W("__rpow__"), W("__rrshift__"),
    W("__rshift__"), W("__rsub__"), W("__rtruediv__"), W("__rxor__"),
    W("__set__"), W("__setattr__"), W("__setitem__"), W("__str__"),
    W("__sub__"), W("__subclasscheck__"), W("__truediv__"), W("__xor__"),
};
static const struct word magic_vars[] = {
    W("__annotations__"), W("__bases__"), W("__class__"), W("__closure__"),
    W("__code__"), W("__defaults__"), W("__dict__"), W("__doc__"),
    W("__file__"), W("__func__"), W("__globals__"), W("__kwdefaults__"),
    W("__module__"), W("__mro__"), W("__name__"), W("__objclass__"),
    W("__qualname__"), W("__self__"), W("__slots__"), W("__weakref__"),
};

static int in_words(const struct word *ws, size_t count, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < count; i++)
        if (ws[i].len == len && memcmp(ws[i].s, p, len) == 0)
            return 1;
    return 0;
}
#define IN_WORDS(ws, lx, from, to) in_words(ws, COUNT(ws), (lx)->s + (from), (to) - (from))

static int is_word_literal(const struct lexer *lx, size_t from, size_t to, const char *w)
{
    size_t len = strlen(w);
    return to - from == len && memcmp(lx->s + from, w, len) == 0;
}

/* `w1 w2\b` right after the \w run [pos, e): "yield from", "async for".
 * Returns the end of the pair, or 0. */
static size_t word_pair_end(const struct lexer *lx, size_t e, const char *w2)
{
    size_t len = strlen(w2);
    if (at(lx, e) != ' ' || e + 1 + len > lx->n || memcmp(lx->s + e + 1, w2, len) != 0)
        return 0;
    return is_word_at(lx, e + 1 + len) ? 0 : e + 1 + len;
}

static int line_start(const struct lexer *lx, size_t i)
{
    return i == 0 || lx->s[i - 1] == '\n';
}

/* ---------------------------------------------------------------------------
 * Rules of the 'expr' state (and the pieces other states share). */

static int string_class(unsigned st)
{
    return (st & STR_DQ) ? T_S2 : T_S1;
}

/* String prefixes and openings, in PythonLexer's order: rf/fr, f, rb/br/r,
 * u or none, b. Only the letters right before the quote count. */
static int rule_string_open(struct lexer *lx)
{
    size_t p = lx->pos, q;
    int a = at(lx, p), b = at(lx, p + 1);
    int la = a >= 'A' && a <= 'Z' ? a + 32 : a;
    int lb = b >= 'A' && b <= 'Z' ? b + 32 : b;
    unsigned flags;

    if (((la == 'r' && lb == 'f') || (la == 'f' && lb == 'r'))
        && char_in(at(lx, p + 2), "'\"")) {
        flags = STR_F;
        q = p + 2;
    } else if (((la == 'r' && lb == 'b') || (la == 'b' && lb == 'r'))
               && char_in(at(lx, p + 2), "'\"")) {
        flags = 0;
        q = p + 2;
    } else if (la == 'f' && char_in(b, "'\"")) {
        flags = STR_F | STR_ESC_UNI | STR_ESC_BYTES;
        q = p + 1;
    } else if (la == 'r' && char_in(b, "'\"")) {
        flags = 0;
        q = p + 1;
    } else if (la == 'u' && char_in(b, "'\"")) {
        flags = STR_ESC_UNI | STR_ESC_BYTES;
        q = p + 1;
    } else if (la == 'b' && char_in(b, "'\"")) {
        flags = STR_ESC_BYTES;
        q = p + 1;
    } else if (char_in(a, "'\"")) {
        flags = STR_ESC_UNI | STR_ESC_BYTES;
        q = p;
    } else {
        return 0;
    }
    int quote = at(lx, q);
    if (quote == '"')
        flags |= STR_DQ;
    size_t qlen = 1;
    if (at(lx, q + 1) == quote && at(lx, q + 2) == quote) {
        flags |= STR_TRIPLE;
        qlen = 3;
    }
    emit(lx, T_SA, p, q);
    lx->pos = q;
    take(lx, string_class(flags), q + qlen);
    push(lx, (unsigned char)(S_STRING | flags));
    return 1;
}

/* \d(?:_?\d)* from i; returns i when there is no digit. */
static size_t digits(const struct lexer *lx, size_t i)
{
    if (!is_digit_at(lx, i))
        return i;
    i++;
    for (;;) {
        if (is_digit_at(lx, i))
            i++;
        else if (at(lx, i) == '_' && is_digit_at(lx, i + 1))
            i += 2;
        else
            return i;
    }
}

/* [eE][+-]?\d(?:_?\d)* at i; returns i when absent. */
static size_t exponent(const struct lexer *lx, size_t i)
{
    if (!char_in(at(lx, i), "eE"))
        return i;
    size_t k = i + 1;
    if (char_in(at(lx, k), "+-"))
        k++;
    size_t e = digits(lx, k);
    return e > k ? e : i;
}

static int is_radix_digit(const struct lexer *lx, size_t i, int radix)
{
    int c = at(lx, i);
    if (radix == 16)
        return is_hex_at(lx, i);
    return c >= '0' && c < '0' + radix;
}

static int rule_number(struct lexer *lx)
{
    size_t p = lx->pos;
    size_t e = digits(lx, p);
    size_t end = 0;

    if (e > p && at(lx, e) == '.')
        end = digits(lx, e + 1);
    else if (e == p && at(lx, p) == '.' && is_digit_at(lx, p + 1))
        end = digits(lx, p + 1);
    if (end)
        return take(lx, T_MF, exponent(lx, end));
    if (e == p)
        return 0;
    size_t x = exponent(lx, e);
    if (x > e)
        return take(lx, T_MF, at(lx, x) == 'j' ? x + 1 : x);
    if (at(lx, p) == '0') {
        static const struct { char lo, up; int radix, cls; } radix[] = {
            {'o', 'O', 8, T_MO}, {'b', 'B', 2, T_MB}, {'x', 'X', 16, T_MH},
        };
        for (size_t r = 0; r < COUNT(radix); r++) {
            int c = at(lx, p + 1);
            if (c != radix[r].lo && c != radix[r].up)
                continue;
            size_t k = p + 2;
            for (;;) {
                if (is_radix_digit(lx, k, radix[r].radix))
                    k++;
                else if (at(lx, k) == '_' && is_radix_digit(lx, k + 1, radix[r].radix))
                    k += 2;
                else
                    break;
            }
            if (k > p + 2)
                return take(lx, radix[r].cls, k);
        }
    }
    return take(lx, T_MI, e);
}

static int rule_operator(struct lexer *lx)
{
    int c = at(lx, lx->pos), d = at(lx, lx->pos + 1);
    if ((c == '!' && d == '=') || (c == '=' && d == '=') || (c == '<' && d == '<')
        || (c == '>' && d == '>') || (c == ':' && d == '='))
        return take(lx, T_O, lx->pos + 2);
    if (char_in(c, "-~+/*%=<>&^|."))
        return take(lx, T_O, lx->pos + 1);
    if (char_in(c, "[]{}:(),;"))
        return take(lx, T_P, lx->pos + 1);
    return 0;
}

/* Word-shaped rules of 'expr' after the operators: operator words,
 * expression keywords, constants, builtins, magic names, names. */
static int rule_words(struct lexer *lx)
{
    size_t p = lx->pos, e = word_end_short(lx, p), pair;
    if (e > p) {
        if (IN_WORDS(op_words, lx, p, e))
            return take(lx, T_OW, e);
        if (is_word_literal(lx, p, e, "async") && (pair = word_pair_end(lx, e, "for")))
            return take(lx, T_K, pair);
        if (is_word_literal(lx, p, e, "yield") && (pair = word_pair_end(lx, e, "from")))
            return take(lx, T_K, pair);
        if (IN_WORDS(kw_expr, lx, p, e))
            return take(lx, T_K, e);
        if (IN_WORDS(kw_const, lx, p, e))
            return take(lx, T_KC, e);
        int after_dot = p > 0 && lx->s[p - 1] == '.';
        if (!after_dot) {
            if (IN_WORDS(builtins, lx, p, e))
                return take(lx, T_NB, e);
            if (IN_WORDS(pseudo, lx, p, e))
                return take(lx, T_BP, e);
            if (IN_WORDS(exceptions, lx, p, e))
                return take(lx, T_NE, e);
        }
        if (e - p > 4 && lx->s[p] == '_' && lx->s[p + 1] == '_') {
            if (IN_WORDS(magic_funcs, lx, p, e))
                return take(lx, T_FM, e);
            if (IN_WORDS(magic_vars, lx, p, e))
                return take(lx, T_VM, e);
        }
    }
    if (at(lx, p) == '@') {
        size_t ie = ident_end(lx, p + 1);
        return take(lx, ie > p + 1 ? T_ND : T_O, ie > p + 1 ? ie : p + 1);
    }
    size_t ie = ident_end(lx, p);
    if (ie > p)
        return take(lx, T_N, ie);
    return 0;
}

static int rule_expr(struct lexer *lx)
{
    if (rule_string_open(lx))
        return 1;
    size_t se = space_end(lx, lx->pos, 0);
    if (se > lx->pos)
        return take(lx, T_TEXT, se);
    return rule_number(lx) || rule_operator(lx) || rule_words(lx);
}

/* ---------------------------------------------------------------------------
 * The 'root' state. */

static void lex_range(struct lexer *parent, size_t from, size_t to);

/* ^(\s*)([rRuUbB]{,2})(\"\"\"(?:.|\n)*?\"\"\") and the ''' twin: a string that
 * starts a line is a docstring, one token up to the first closing quotes. */
static int rule_docstring(struct lexer *lx)
{
    size_t p = lx->pos;
    size_t i = memo_find(lx, &lx->nonspace, p);
    size_t j = i;
    while (j - i < 2 && char_in(at(lx, j), "rRuUbB"))
        j++;
    int q = at(lx, j);
    if ((q != '"' && q != '\'') || at(lx, j + 1) != q || at(lx, j + 2) != q)
        return 0;
    size_t close = memo_find(lx, q == '"' ? &lx->dq3 : &lx->sq3, j + 3);
    if (close >= lx->n)
        return 0;
    emit(lx, T_W, p, i);
    emit(lx, T_SA, i, j);
    lx->pos = j;
    return take(lx, T_SD, close + 3);
}

/* (^[ \t]*)(match|case)\b not followed by an operator, closing bracket or
 * keyword: a soft keyword, then the 'soft-keywords-inner' state. */
static int rule_soft_keyword(struct lexer *lx)
{
    size_t p = lx->pos, i = p;
    while (char_in(at(lx, i), " \t"))
        i++;
    size_t e = word_end_short(lx, i);
    if (!is_word_literal(lx, i, e, "match") && !is_word_literal(lx, i, e, "case"))
        return 0;
    size_t j = e;
    while (char_in(at(lx, j), " \t"))
        j++;
    if (char_in(at(lx, j), ":,;=^&|@~)]}"))
        return 0;
    if (IN_WORDS(kw_lower, lx, j, word_end_short(lx, j)))
        return 0;
    emit(lx, T_TEXT, p, i);
    lx->pos = i;
    take(lx, T_K, e);
    push(lx, S_SOFTKW);
    return 1;
}

/* (keyword)((?:\s|\\\s)+) for def, class, from, import. */
static int rule_keyword_space(struct lexer *lx, const char *kw, int cls, unsigned char st)
{
    size_t p = lx->pos, len = strlen(kw);
    if (p + len > lx->n || memcmp(lx->s + p, kw, len) != 0)
        return 0;
    size_t i = p + len, j = i;
    for (;;) {
        if (is_space_at(lx, j))
            j = space_end(lx, j, 1);
        else if (at(lx, j) == '\\' && is_space_at(lx, j + 1))
            j = space_end(lx, j + 1, 1);
        else
            break;
    }
    if (j == i)
        return 0;
    emit(lx, cls, p, i);
    lx->pos = i;
    take(lx, T_W, j);
    push(lx, st);
    return 1;
}

static int rule_root(struct lexer *lx)
{
    size_t p = lx->pos;
    int c = at(lx, p);
    if (c == '\n')
        return take(lx, T_W, p + 1);
    if (line_start(lx, p) && rule_docstring(lx))
        return 1;
    if (c == '#') {
        const unsigned char *nl = memchr(lx->s + p, '\n', lx->n - p);
        size_t eol = nl ? (size_t)(nl - lx->s) : lx->n;
        int hashbang = p == 0 && at(lx, 1) == '!' && eol > 2;
        return take(lx, hashbang ? T_CH : T_C1, eol);
    }
    if (c == '\\')
        return take(lx, T_TEXT, p + (at(lx, p + 1) == '\n' ? 2 : 1));
    size_t e = word_end_short(lx, p), pair;
    if (is_word_literal(lx, p, e, "yield") && (pair = word_pair_end(lx, e, "from")))
        return take(lx, T_K, pair);
    if (IN_WORDS(kw_root, lx, p, e))
        return take(lx, T_K, e);
    if (IN_WORDS(kw_const, lx, p, e))
        return take(lx, T_KC, e);
    if (line_start(lx, p) && rule_soft_keyword(lx))
        return 1;
    if (rule_keyword_space(lx, "def", T_K, S_FUNCNAME)
        || rule_keyword_space(lx, "class", T_K, S_CLASSNAME)
        || rule_keyword_space(lx, "from", T_KN, S_FROMIMPORT)
        || rule_keyword_space(lx, "import", T_KN, S_IMPORT))
        return 1;
    return rule_expr(lx);
}

/* 'soft-keywords-inner': (\s+)([^\n_]*)(_\b) marks a wildcard `_`; the text
 * before it is lexed afresh, from root, as Pygments' using(this) does. */
static int rule_soft_inner(struct lexer *lx)
{
    size_t p = lx->pos;
    size_t i = space_end(lx, p, 1);
    if (i == p)
        return pop(lx);
    size_t j = i;
    while (j < lx->n && lx->s[j] != '\n' && lx->s[j] != '_')
        j++;
    if (at(lx, j) != '_' || is_word_at(lx, j + 1))
        return pop(lx);
    emit(lx, T_W, p, i);
    lex_range(lx, i, j);
    lx->pos = j;
    return take(lx, T_K, j + 1);
}

static int rule_funcname(struct lexer *lx)
{
    size_t p = lx->pos, e = word_end_short(lx, p);
    if (IN_WORDS(magic_funcs, lx, p, e))
        return take(lx, T_FM, e);
    size_t ie = ident_end(lx, p);
    if (ie > p)
        take(lx, T_NF, ie);
    return pop(lx);
}

static int rule_classname(struct lexer *lx)
{
    size_t ie = ident_end(lx, lx->pos);
    if (ie == lx->pos)
        return 0;
    take(lx, T_NC, ie);
    return pop(lx);
}

static int rule_import(struct lexer *lx)
{
    size_t p = lx->pos;
    size_t i = space_end(lx, p, 1);
    if (i > p && at(lx, i) == 'a' && at(lx, i + 1) == 's') {
        size_t k = space_end(lx, i + 2, 1);
        if (k > i + 2) {
            emit(lx, T_W, p, i);
            emit(lx, T_K, i, i + 2);
            lx->pos = i + 2;
            return take(lx, T_W, k);
        }
    }
    if (at(lx, p) == '.')
        return take(lx, T_NN, p + 1);
    size_t ie = ident_end(lx, p);
    if (ie > p)
        return take(lx, T_NN, ie);
    if (at(lx, i) == ',') {
        emit(lx, T_W, p, i);
        emit(lx, T_O, i, i + 1);
        lx->pos = i + 1;
        return take(lx, T_W, space_end(lx, i + 1, 1));
    }
    return pop(lx);
}

static int rule_fromimport(struct lexer *lx)
{
    size_t p = lx->pos;
    size_t i = space_end(lx, p, 1);
    if (i > p && is_word_literal(lx, i, word_end_short(lx, i), "import")) {
        emit(lx, T_W, p, i);
        lx->pos = i;
        take(lx, T_KN, i + 6);
        return pop(lx);
    }
    if (at(lx, p) == '.')
        return take(lx, T_NN, p + 1);
    if (is_word_literal(lx, p, word_end_short(lx, p), "None")) {
        take(lx, T_KC, p + 4);
        return pop(lx);
    }
    size_t ie = ident_end(lx, p);
    if (ie > p)
        return take(lx, T_NN, ie);
    return pop(lx);
}

/* 'expr-inside-fstring' (inner = 0) and 'expr-inside-fstring-inner'. */
static int rule_fexpr(struct lexer *lx, int inner)
{
    size_t p = lx->pos;
    int c = at(lx, p);
    if (char_in(c, "{([")) {
        take(lx, T_P, p + 1);
        push(lx, S_FINNER);
        return 1;
    }
    if (inner) {
        if (char_in(c, "])}")) {
            take(lx, T_P, p + 1);
            return pop(lx);
        }
    } else {
        /* (=\s*)?(\![sraf])?[}:] -- greedy and, here, never needs to back off */
        size_t i = p;
        if (c == '=')
            i = space_end(lx, p + 1, 1);
        if (at(lx, i) == '!' && char_in(at(lx, i + 1), "sraf"))
            i += 2;
        if (at(lx, i) == '}' || at(lx, i) == ':') {
            take(lx, T_SI, i + 1);
            return pop(lx);
        }
    }
    size_t se = space_end(lx, p, 1);
    if (se > p)
        return take(lx, T_W, se);
    return rule_expr(lx);
}

/* ---------------------------------------------------------------------------
 * String states. */

/* The escape rules a string kind combines in front of its own rules. */
static int rule_escape(struct lexer *lx, unsigned st)
{
    size_t p = lx->pos;
    int c = at(lx, p), d = at(lx, p + 1);
    if ((st & STR_F) && ((c == '{' && d == '{') || (c == '}' && d == '}')))
        return take(lx, T_SE, p + 2);
    if (c != '\\')
        return 0;
    if (st & STR_ESC_UNI) {
        if (d == 'N' && at(lx, p + 2) == '{') {
            size_t r = memo_find(lx, &lx->brace_or_nl, p + 3);
            if (at(lx, r) == '}')
                return take(lx, T_SE, r + 1);
        }
        size_t nhex = d == 'u' ? 4 : d == 'U' ? 8 : 0, k = 0;
        while (k < nhex && is_hex_at(lx, p + 2 + k))
            k++;
        if (nhex && k == nhex)
            return take(lx, T_SE, p + 2 + nhex);
    }
    if (st & STR_ESC_BYTES) {
        if (char_in(d, "\\abfnrtv\"'\n"))
            return take(lx, T_SE, p + 2);
        if (d == 'x' && is_hex_at(lx, p + 2) && is_hex_at(lx, p + 3))
            return take(lx, T_SE, p + 4);
        if (d >= '0' && d <= '7') {
            size_t k = p + 2;
            while (k < p + 4 && at(lx, k) >= '0' && at(lx, k) <= '7')
                k++;
            return take(lx, T_SE, k);
        }
    }
    return 0;
}

/* Old-style %-formatting: %(\(\w+\))?[-#0 +]*([0-9]+|[*])?(\.([0-9]+|[*]))?
 * [hlL]?[E-GXc-giorsaux%]. Each part's characters differ from the next
 * part's, so taking each greedily is exactly what the regex matches. */
static size_t percent_format_end(const struct lexer *lx, size_t p)
{
    size_t i = p + 1;
    if (at(lx, i) == '(') {
        size_t k = word_end(lx, i + 1);
        if (k > i + 1 && at(lx, k) == ')')
            i = k + 1;
    }
    while (char_in(at(lx, i), "-#0 +"))
        i++;
    if (is_digit_at(lx, i)) {
        while (is_digit_at(lx, i))
            i++;
    } else if (at(lx, i) == '*') {
        i++;
    }
    if (at(lx, i) == '.' && (is_digit_at(lx, i + 1) || at(lx, i + 1) == '*')) {
        i++;
        if (at(lx, i) == '*')
            i++;
        else
            while (is_digit_at(lx, i))
                i++;
    }
    if (char_in(at(lx, i), "hlL"))
        i++;
    return char_in(at(lx, i), "EFGXcdefgiorsaux%") ? i + 1 : 0;
}

/* After the fill and align of a format spec: [-+ ]?#?0?(\d+)?,?(\.\d+)?
 * [E-GXb-gnosx%]?\} ; returns the end past '}', or 0. */
static size_t format_spec_rest(const struct lexer *lx, size_t i)
{
    if (char_in(at(lx, i), "-+ "))
        i++;
    if (at(lx, i) == '#')
        i++;
    if (at(lx, i) == '0')
        i++;
    while (is_digit_at(lx, i))
        i++;
    if (at(lx, i) == ',')
        i++;
    if (at(lx, i) == '.' && is_digit_at(lx, i + 1)) {
        i++;
        while (is_digit_at(lx, i))
            i++;
    }
    if (char_in(at(lx, i), "EFGXbcdefgnosx%"))
        i++;
    return at(lx, i) == '}' ? i + 1 : 0;
}

/* What follows a format field's name: (\![sra])?(\:(.?[<>=\^])?...)?\} */
static size_t format_field_tail(const struct lexer *lx, size_t i)
{
    if (at(lx, i) == '!' && char_in(at(lx, i + 1), "sra"))
        i += 2;
    if (at(lx, i) == '}')
        return i + 1;
    if (at(lx, i) != ':')
        return 0;
    /* the fill (.?) may back off, so try fill+align, align, nothing */
    uint32_t cp;
    size_t j = i + 1, fl = cp_at(lx, j, &cp), end;
    if (fl > 0 && cp != '\n' && char_in(at(lx, j + fl), "<>=^")
        && (end = format_spec_rest(lx, j + fl + 1)))
        return end;
    if (char_in(at(lx, j), "<>=^") && (end = format_spec_rest(lx, j + 1)))
        return end;
    return format_spec_rest(lx, j);
}

/* New-style '{...}'.format fields:
 * \{((\w+)((\.\w+)|(\[[^\]]+\]))*)?(\![sra])?(\:(.?[<>=\^])?...)?\}
 * An index [...] may hold anything, '{' and newlines included, so many
 * fields can start before the same ']'; what follows that ']' is parsed
 * once and remembered (lx->field_from -> lx->field_end). */
static size_t brace_format_end(struct lexer *lx, size_t p)
{
    size_t i = p + 1, k = word_end(lx, i), after_index = 0;
    if (k > i) {
        i = k;
        for (;;) {
            if (at(lx, i) == '.' && (k = word_end(lx, i + 1)) > i + 1) {
                i = k;
            } else if (at(lx, i) == '[' && i + 1 < lx->n && lx->s[i + 1] != ']') {
                size_t r = memo_find(lx, &lx->rbracket, i + 1);
                if (r >= lx->n)
                    break;
                i = r + 1;
                if (lx->field_valid && lx->field_from == i)
                    return lx->field_end;
                if (!after_index)
                    after_index = i;
            } else {
                break;
            }
        }
    }
    size_t end = format_field_tail(lx, i);
    if (after_index) {
        lx->field_from = after_index;
        lx->field_end = end;
        lx->field_valid = 1;
    }
    return end;
}

static int rule_string(struct lexer *lx, unsigned st)
{
    size_t p = lx->pos, end;
    int cls = string_class(st);
    int q = (st & STR_DQ) ? '"' : '\'';
    int c = at(lx, p), d = at(lx, p + 1);

    if (rule_escape(lx, st))
        return 1;
    if (st & STR_TRIPLE) {
        if (c == q && d == q && at(lx, p + 2) == q) {
            take(lx, cls, p + 3);
            return pop(lx);
        }
    } else {
        if (c == q) {
            take(lx, cls, p + 1);
            return pop(lx);
        }
        if (c == '\\' && (d == '\\' || d == q || d == '\n'))
            return take(lx, T_SE, p + 2);
    }
    if (st & STR_F) {
        if (c == '}')
            return take(lx, T_SI, p + 1);
        if (c == '{') {
            take(lx, T_SI, p + 1);
            push(lx, S_FEXPR);
            return 1;
        }
    } else {
        if (c == '%' && (end = percent_format_end(lx, p)))
            return take(lx, T_SI, end);
        if (c == '{' && (end = brace_format_end(lx, p)))
            return take(lx, T_SI, end);
    }
    const char *stop = (st & STR_F) ? "\\'\"{}\n" : "\\'\"%{\n";
    size_t i = p;
    while (i < lx->n && !strchr(stop, lx->s[i]))
        i++;
    if (i > p)
        return take(lx, cls, i);
    if (char_in(c, "'\"\\"))
        return take(lx, cls, p + 1);
    if (!(st & STR_F) && c == '%')
        return take(lx, cls, p + 1);
    if (!(st & STR_F) && c == '{')
        return take(lx, cls, p + (d == '{' ? 2 : 1));
    if ((st & STR_TRIPLE) && c == '\n')
        return take(lx, cls, p + 1);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The driver. */

static int step(struct lexer *lx)
{
    unsigned st = lx->stack[lx->depth - 1];
    if (st & S_STRING)
        return rule_string(lx, st);
    switch (st) {
    case S_FEXPR:       return rule_fexpr(lx, 0);
    case S_FINNER:      return rule_fexpr(lx, 1);
    case S_FUNCNAME:    return rule_funcname(lx);
    case S_CLASSNAME:   return rule_classname(lx);
    case S_IMPORT:      return rule_import(lx);
    case S_FROMIMPORT:  return rule_fromimport(lx);
    case S_SOFTKW:      return rule_soft_inner(lx);
    default:            return rule_root(lx);
    }
}

static void lex(struct lexer *lx)
{
    while (lx->pos < lx->n) {
        if (step(lx))
            continue;
        /* no rule matched: a newline resets to root, anything else is an error */
        if (lx->s[lx->pos] == '\n') {
            lx->depth = 1;
            take(lx, T_W, lx->pos + 1);
        } else {
            uint32_t cp;
            take(lx, T_ERR, lx->pos + cp_at(lx, lx->pos, &cp));
        }
    }
}

static int lexer_init(struct lexer *lx, const unsigned char *s, size_t n, struct writer *w)
{
    memset(lx, 0, sizeof *lx);
    lx->s = s;
    lx->n = n;
    lx->w = w;
    lx->cap = n + 2;
    lx->stack = malloc(lx->cap);
    if (!lx->stack)
        return -1;
    lx->stack[0] = S_ROOT;
    lx->depth = 1;
    lx->nonspace.pred = pred_nonspace;
    lx->dq3.pred = pred_dq3;
    lx->sq3.pred = pred_sq3;
    lx->rbracket.pred = pred_rbracket;
    lx->brace_or_nl.pred = pred_brace_or_nl;
    return 0;
}

/* Lexes s[from, to) as a text of its own, starting from root. */
static void lex_range(struct lexer *parent, size_t from, size_t to)
{
    struct lexer sub;
    if (to <= from)
        return;
    if (lexer_init(&sub, parent->s + from, to - from, parent->w) != 0) {
        emit(parent, T_TEXT, from, to);
        return;
    }
    lex(&sub);
    free(sub.stack);
}

void highlight_python(struct buf *out, const char *code, size_t len)
{
    struct writer w = {out, -1};
    size_t n = 0;
    char *text = normalise(code ? code : "", code ? len : 0, &n);

    buf_puts(out, "<div class=\"ipb-code\"><pre><span></span>");
    if (text) {
        struct lexer lx;
        if (lexer_init(&lx, (const unsigned char *)text, n, &w) == 0) {
            lex(&lx);
            free(lx.stack);
        } else {
            writer_token(&w, T_TEXT, text, n);
        }
        free(text);
    } else {
        buf_html_escape(out, "\n", 1);
    }
    writer_close(&w);
    buf_puts(out, "</pre></div>\n");
}
