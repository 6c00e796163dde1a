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
 * Unicode: identifiers, \w, \d and \s follow the same character sets as
 * Pygments' regular expressions under Python 3.11 (the cp_props table).
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

/* Character properties of non-ASCII code points, as Pygments 2.20 sees them
 * under Python 3.11: CP_START and CP_CONTINUE are the XID_Start and
 * XID_Continue sets of pygments.unistring (which uni_name is built from),
 * CP_WORD is re's \w (str.isalnum() or '_'), CP_DIGIT is re's \d
 * (str.isdecimal()). Each entry gives the flags from its code point up to
 * the next entry's. Generated with Python 3.11.7 and Pygments 2.20.0:
 *
 *   xs = re.compile('[%s]' % uni.xid_start); xc = ... uni.xid_continue
 *   flags(c) = xs.fullmatch(c) | xc.fullmatch(c) << 1
 *              | (c.isalnum() or c == '_') << 2 | c.isdecimal() << 3
 *   one {cp, flags} wherever flags change, for cp in 0x80..0x10FFFF
 *   (surrogates 0) */
enum { CP_START = 1, CP_CONTINUE = 2, CP_WORD = 4, CP_DIGIT = 8 };

static const struct { uint32_t from; unsigned char flags; } cp_props[] = {
    {0x80, 0}, {0xAA, 7}, {0xAB, 0}, {0xB2, 4}, {0xB4, 0}, {0xB5, 7}, {0xB6, 0},
    {0xB7, 2}, {0xB8, 0}, {0xB9, 4}, {0xBA, 7}, {0xBB, 0}, {0xBC, 4}, {0xBF, 0},
    {0xC0, 7}, {0xD7, 0}, {0xD8, 7}, {0xF7, 0}, {0xF8, 7}, {0x2C2, 0},
    {0x2C6, 7}, {0x2D2, 0}, {0x2E0, 7}, {0x2E5, 0}, {0x2EC, 7}, {0x2ED, 0},
    {0x2EE, 7}, {0x2EF, 0}, {0x300, 2}, {0x370, 7}, {0x375, 0}, {0x376, 7},
    {0x378, 0}, {0x37A, 4}, {0x37B, 7}, {0x37E, 0}, {0x37F, 7}, {0x380, 0},
    {0x386, 7}, {0x387, 2}, {0x388, 7}, {0x38B, 0}, {0x38C, 7}, {0x38D, 0},
    {0x38E, 7}, {0x3A2, 0}, {0x3A3, 7}, {0x3F6, 0}, {0x3F7, 7}, {0x482, 0},
    {0x483, 2}, {0x488, 0}, {0x48A, 7}, {0x530, 0}, {0x531, 7}, {0x557, 0},
    {0x559, 7}, {0x55A, 0}, {0x560, 7}, {0x589, 0}, {0x591, 2}, {0x5BE, 0},
    {0x5BF, 2}, {0x5C0, 0}, {0x5C1, 2}, {0x5C3, 0}, {0x5C4, 2}, {0x5C6, 0},
    {0x5C7, 2}, {0x5C8, 0}, {0x5D0, 7}, {0x5EB, 0}, {0x5EF, 7}, {0x5F3, 0},
    {0x610, 2}, {0x61B, 0}, {0x620, 7}, {0x64B, 2}, {0x660, 14}, {0x66A, 0},
    {0x66E, 7}, {0x670, 2}, {0x671, 7}, {0x6D4, 0}, {0x6D5, 7}, {0x6D6, 2},
    {0x6DD, 0}, {0x6DF, 2}, {0x6E5, 7}, {0x6E7, 2}, {0x6E9, 0}, {0x6EA, 2},
    {0x6EE, 7}, {0x6F0, 14}, {0x6FA, 7}, {0x6FD, 0}, {0x6FF, 7}, {0x700, 0},
    {0x710, 7}, {0x711, 2}, {0x712, 7}, {0x730, 2}, {0x74B, 0}, {0x74D, 7},
    {0x7A6, 2}, {0x7B1, 7}, {0x7B2, 0}, {0x7C0, 14}, {0x7CA, 7}, {0x7EB, 2},
    {0x7F4, 7}, {0x7F6, 0}, {0x7FA, 7}, {0x7FB, 0}, {0x7FD, 2}, {0x7FE, 0},
    {0x800, 7}, {0x816, 2}, {0x81A, 7}, {0x81B, 2}, {0x824, 7}, {0x825, 2},
    {0x828, 7}, {0x829, 2}, {0x82E, 0}, {0x840, 7}, {0x859, 2}, {0x85C, 0},
    {0x860, 7}, {0x86B, 0}, {0x870, 4}, {0x888, 0}, {0x889, 4}, {0x88F, 0},
    {0x8A0, 7}, {0x8B5, 4}, {0x8B6, 7}, {0x8BE, 4}, {0x8CA, 0}, {0x8D3, 2},
    {0x8E2, 0}, {0x8E3, 2}, {0x904, 7}, {0x93A, 2}, {0x93D, 7}, {0x93E, 2},
    {0x950, 7}, {0x951, 2}, {0x958, 7}, {0x962, 2}, {0x964, 0}, {0x966, 14},
    {0x970, 0}, {0x971, 7}, {0x981, 2}, {0x984, 0}, {0x985, 7}, {0x98D, 0},
    {0x98F, 7}, {0x991, 0}, {0x993, 7}, {0x9A9, 0}, {0x9AA, 7}, {0x9B1, 0},
    {0x9B2, 7}, {0x9B3, 0}, {0x9B6, 7}, {0x9BA, 0}, {0x9BC, 2}, {0x9BD, 7},
    {0x9BE, 2}, {0x9C5, 0}, {0x9C7, 2}, {0x9C9, 0}, {0x9CB, 2}, {0x9CE, 7},
    {0x9CF, 0}, {0x9D7, 2}, {0x9D8, 0}, {0x9DC, 7}, {0x9DE, 0}, {0x9DF, 7},
    {0x9E2, 2}, {0x9E4, 0}, {0x9E6, 14}, {0x9F0, 7}, {0x9F2, 0}, {0x9F4, 4},
    {0x9FA, 0}, {0x9FC, 7}, {0x9FD, 0}, {0x9FE, 2}, {0x9FF, 0}, {0xA01, 2},
    {0xA04, 0}, {0xA05, 7}, {0xA0B, 0}, {0xA0F, 7}, {0xA11, 0}, {0xA13, 7},
    {0xA29, 0}, {0xA2A, 7}, {0xA31, 0}, {0xA32, 7}, {0xA34, 0}, {0xA35, 7},
    {0xA37, 0}, {0xA38, 7}, {0xA3A, 0}, {0xA3C, 2}, {0xA3D, 0}, {0xA3E, 2},
    {0xA43, 0}, {0xA47, 2}, {0xA49, 0}, {0xA4B, 2}, {0xA4E, 0}, {0xA51, 2},
    {0xA52, 0}, {0xA59, 7}, {0xA5D, 0}, {0xA5E, 7}, {0xA5F, 0}, {0xA66, 14},
    {0xA70, 2}, {0xA72, 7}, {0xA75, 2}, {0xA76, 0}, {0xA81, 2}, {0xA84, 0},
    {0xA85, 7}, {0xA8E, 0}, {0xA8F, 7}, {0xA92, 0}, {0xA93, 7}, {0xAA9, 0},
    {0xAAA, 7}, {0xAB1, 0}, {0xAB2, 7}, {0xAB4, 0}, {0xAB5, 7}, {0xABA, 0},
    {0xABC, 2}, {0xABD, 7}, {0xABE, 2}, {0xAC6, 0}, {0xAC7, 2}, {0xACA, 0},
    {0xACB, 2}, {0xACE, 0}, {0xAD0, 7}, {0xAD1, 0}, {0xAE0, 7}, {0xAE2, 2},
    {0xAE4, 0}, {0xAE6, 14}, {0xAF0, 0}, {0xAF9, 7}, {0xAFA, 2}, {0xB00, 0},
    {0xB01, 2}, {0xB04, 0}, {0xB05, 7}, {0xB0D, 0}, {0xB0F, 7}, {0xB11, 0},
    {0xB13, 7}, {0xB29, 0}, {0xB2A, 7}, {0xB31, 0}, {0xB32, 7}, {0xB34, 0},
    {0xB35, 7}, {0xB3A, 0}, {0xB3C, 2}, {0xB3D, 7}, {0xB3E, 2}, {0xB45, 0},
    {0xB47, 2}, {0xB49, 0}, {0xB4B, 2}, {0xB4E, 0}, {0xB56, 2}, {0xB58, 0},
    {0xB5C, 7}, {0xB5E, 0}, {0xB5F, 7}, {0xB62, 2}, {0xB64, 0}, {0xB66, 14},
    {0xB70, 0}, {0xB71, 7}, {0xB72, 4}, {0xB78, 0}, {0xB82, 2}, {0xB83, 7},
    {0xB84, 0}, {0xB85, 7}, {0xB8B, 0}, {0xB8E, 7}, {0xB91, 0}, {0xB92, 7},
    {0xB96, 0}, {0xB99, 7}, {0xB9B, 0}, {0xB9C, 7}, {0xB9D, 0}, {0xB9E, 7},
    {0xBA0, 0}, {0xBA3, 7}, {0xBA5, 0}, {0xBA8, 7}, {0xBAB, 0}, {0xBAE, 7},
    {0xBBA, 0}, {0xBBE, 2}, {0xBC3, 0}, {0xBC6, 2}, {0xBC9, 0}, {0xBCA, 2},
    {0xBCE, 0}, {0xBD0, 7}, {0xBD1, 0}, {0xBD7, 2}, {0xBD8, 0}, {0xBE6, 14},
    {0xBF0, 4}, {0xBF3, 0}, {0xC00, 2}, {0xC05, 7}, {0xC0D, 0}, {0xC0E, 7},
    {0xC11, 0}, {0xC12, 7}, {0xC29, 0}, {0xC2A, 7}, {0xC3A, 0}, {0xC3D, 7},
    {0xC3E, 2}, {0xC45, 0}, {0xC46, 2}, {0xC49, 0}, {0xC4A, 2}, {0xC4E, 0},
    {0xC55, 2}, {0xC57, 0}, {0xC58, 7}, {0xC5B, 0}, {0xC5D, 4}, {0xC5E, 0},
    {0xC60, 7}, {0xC62, 2}, {0xC64, 0}, {0xC66, 14}, {0xC70, 0}, {0xC78, 4},
    {0xC7F, 0}, {0xC80, 7}, {0xC81, 2}, {0xC84, 0}, {0xC85, 7}, {0xC8D, 0},
    {0xC8E, 7}, {0xC91, 0}, {0xC92, 7}, {0xCA9, 0}, {0xCAA, 7}, {0xCB4, 0},
    {0xCB5, 7}, {0xCBA, 0}, {0xCBC, 2}, {0xCBD, 7}, {0xCBE, 2}, {0xCC5, 0},
    {0xCC6, 2}, {0xCC9, 0}, {0xCCA, 2}, {0xCCE, 0}, {0xCD5, 2}, {0xCD7, 0},
    {0xCDD, 4}, {0xCDE, 7}, {0xCDF, 0}, {0xCE0, 7}, {0xCE2, 2}, {0xCE4, 0},
    {0xCE6, 14}, {0xCF0, 0}, {0xCF1, 7}, {0xCF3, 0}, {0xD00, 2}, {0xD04, 4},
    {0xD05, 7}, {0xD0D, 0}, {0xD0E, 7}, {0xD11, 0}, {0xD12, 7}, {0xD3B, 2},
    {0xD3D, 7}, {0xD3E, 2}, {0xD45, 0}, {0xD46, 2}, {0xD49, 0}, {0xD4A, 2},
    {0xD4E, 7}, {0xD4F, 0}, {0xD54, 7}, {0xD57, 2}, {0xD58, 4}, {0xD5F, 7},
    {0xD62, 2}, {0xD64, 0}, {0xD66, 14}, {0xD70, 4}, {0xD79, 0}, {0xD7A, 7},
    {0xD80, 0}, {0xD82, 2}, {0xD84, 0}, {0xD85, 7}, {0xD97, 0}, {0xD9A, 7},
    {0xDB2, 0}, {0xDB3, 7}, {0xDBC, 0}, {0xDBD, 7}, {0xDBE, 0}, {0xDC0, 7},
    {0xDC7, 0}, {0xDCA, 2}, {0xDCB, 0}, {0xDCF, 2}, {0xDD5, 0}, {0xDD6, 2},
    {0xDD7, 0}, {0xDD8, 2}, {0xDE0, 0}, {0xDE6, 14}, {0xDF0, 0}, {0xDF2, 2},
    {0xDF4, 0}, {0xE01, 7}, {0xE31, 2}, {0xE32, 7}, {0xE33, 6}, {0xE34, 2},
    {0xE3B, 0}, {0xE40, 7}, {0xE47, 2}, {0xE4F, 0}, {0xE50, 14}, {0xE5A, 0},
    {0xE81, 7}, {0xE83, 0}, {0xE84, 7}, {0xE85, 0}, {0xE86, 4}, {0xE87, 7},
    {0xE89, 4}, {0xE8A, 7}, {0xE8B, 0}, {0xE8C, 4}, {0xE8D, 7}, {0xE8E, 4},
    {0xE94, 7}, {0xE98, 4}, {0xE99, 7}, {0xEA0, 4}, {0xEA1, 7}, {0xEA4, 0},
    {0xEA5, 7}, {0xEA6, 0}, {0xEA7, 7}, {0xEA8, 4}, {0xEAA, 7}, {0xEAC, 4},
    {0xEAD, 7}, {0xEB1, 2}, {0xEB2, 7}, {0xEB3, 6}, {0xEB4, 2}, {0xEBA, 0},
    {0xEBB, 2}, {0xEBD, 7}, {0xEBE, 0}, {0xEC0, 7}, {0xEC5, 0}, {0xEC6, 7},
    {0xEC7, 0}, {0xEC8, 2}, {0xECE, 0}, {0xED0, 14}, {0xEDA, 0}, {0xEDC, 7},
    {0xEE0, 0}, {0xF00, 7}, {0xF01, 0}, {0xF18, 2}, {0xF1A, 0}, {0xF20, 14},
    {0xF2A, 4}, {0xF34, 0}, {0xF35, 2}, {0xF36, 0}, {0xF37, 2}, {0xF38, 0},
    {0xF39, 2}, {0xF3A, 0}, {0xF3E, 2}, {0xF40, 7}, {0xF48, 0}, {0xF49, 7},
    {0xF6D, 0}, {0xF71, 2}, {0xF85, 0}, {0xF86, 2}, {0xF88, 7}, {0xF8D, 2},
    {0xF98, 0}, {0xF99, 2}, {0xFBD, 0}, {0xFC6, 2}, {0xFC7, 0}, {0x1000, 7},
    {0x102B, 2}, {0x103F, 7}, {0x1040, 14}, {0x104A, 0}, {0x1050, 7},
    {0x1056, 2}, {0x105A, 7}, {0x105E, 2}, {0x1061, 7}, {0x1062, 2},
    {0x1065, 7}, {0x1067, 2}, {0x106E, 7}, {0x1071, 2}, {0x1075, 7},
    {0x1082, 2}, {0x108E, 7}, {0x108F, 2}, {0x1090, 14}, {0x109A, 2},
    {0x109E, 0}, {0x10A0, 7}, {0x10C6, 0}, {0x10C7, 7}, {0x10C8, 0},
    {0x10CD, 7}, {0x10CE, 0}, {0x10D0, 7}, {0x10FB, 0}, {0x10FC, 7},
    {0x1249, 0}, {0x124A, 7}, {0x124E, 0}, {0x1250, 7}, {0x1257, 0},
    {0x1258, 7}, {0x1259, 0}, {0x125A, 7}, {0x125E, 0}, {0x1260, 7},
    {0x1289, 0}, {0x128A, 7}, {0x128E, 0}, {0x1290, 7}, {0x12B1, 0},
    {0x12B2, 7}, {0x12B6, 0}, {0x12B8, 7}, {0x12BF, 0}, {0x12C0, 7},
    {0x12C1, 0}, {0x12C2, 7}, {0x12C6, 0}, {0x12C8, 7}, {0x12D7, 0},
    {0x12D8, 7}, {0x1311, 0}, {0x1312, 7}, {0x1316, 0}, {0x1318, 7},
    {0x135B, 0}, {0x135D, 2}, {0x1360, 0}, {0x1369, 6}, {0x1372, 4},
    {0x137D, 0}, {0x1380, 7}, {0x1390, 0}, {0x13A0, 7}, {0x13F6, 0},
    {0x13F8, 7}, {0x13FE, 0}, {0x1401, 7}, {0x166D, 0}, {0x166F, 7},
    {0x1680, 0}, {0x1681, 7}, {0x169B, 0}, {0x16A0, 7}, {0x16EB, 0},
    {0x16EE, 7}, {0x16F9, 0}, {0x1700, 7}, {0x170D, 4}, {0x170E, 7},
    {0x1712, 2}, {0x1715, 0}, {0x171F, 4}, {0x1720, 7}, {0x1732, 2},
    {0x1735, 0}, {0x1740, 7}, {0x1752, 2}, {0x1754, 0}, {0x1760, 7},
    {0x176D, 0}, {0x176E, 7}, {0x1771, 0}, {0x1772, 2}, {0x1774, 0},
    {0x1780, 7}, {0x17B4, 2}, {0x17D4, 0}, {0x17D7, 7}, {0x17D8, 0},
    {0x17DC, 7}, {0x17DD, 2}, {0x17DE, 0}, {0x17E0, 14}, {0x17EA, 0},
    {0x17F0, 4}, {0x17FA, 0}, {0x180B, 2}, {0x180E, 0}, {0x1810, 14},
    {0x181A, 0}, {0x1820, 7}, {0x1879, 0}, {0x1880, 7}, {0x1885, 3},
    {0x1887, 7}, {0x18A9, 2}, {0x18AA, 7}, {0x18AB, 0}, {0x18B0, 7},
    {0x18F6, 0}, {0x1900, 7}, {0x191F, 0}, {0x1920, 2}, {0x192C, 0},
    {0x1930, 2}, {0x193C, 0}, {0x1946, 14}, {0x1950, 7}, {0x196E, 0},
    {0x1970, 7}, {0x1975, 0}, {0x1980, 7}, {0x19AC, 0}, {0x19B0, 7},
    {0x19CA, 0}, {0x19D0, 14}, {0x19DA, 6}, {0x19DB, 0}, {0x1A00, 7},
    {0x1A17, 2}, {0x1A1C, 0}, {0x1A20, 7}, {0x1A55, 2}, {0x1A5F, 0},
    {0x1A60, 2}, {0x1A7D, 0}, {0x1A7F, 2}, {0x1A80, 14}, {0x1A8A, 0},
    {0x1A90, 14}, {0x1A9A, 0}, {0x1AA7, 7}, {0x1AA8, 0}, {0x1AB0, 2},
    {0x1ABE, 0}, {0x1B00, 2}, {0x1B05, 7}, {0x1B34, 2}, {0x1B45, 7},
    {0x1B4C, 4}, {0x1B4D, 0}, {0x1B50, 14}, {0x1B5A, 0}, {0x1B6B, 2},
    {0x1B74, 0}, {0x1B80, 2}, {0x1B83, 7}, {0x1BA1, 2}, {0x1BAE, 7},
    {0x1BB0, 14}, {0x1BBA, 7}, {0x1BE6, 2}, {0x1BF4, 0}, {0x1C00, 7},
    {0x1C24, 2}, {0x1C38, 0}, {0x1C40, 14}, {0x1C4A, 0}, {0x1C4D, 7},
    {0x1C50, 14}, {0x1C5A, 7}, {0x1C7E, 0}, {0x1C80, 7}, {0x1C89, 0},
    {0x1C90, 7}, {0x1CBB, 0}, {0x1CBD, 7}, {0x1CC0, 0}, {0x1CD0, 2},
    {0x1CD3, 0}, {0x1CD4, 2}, {0x1CE9, 7}, {0x1CED, 2}, {0x1CEE, 7},
    {0x1CF2, 6}, {0x1CF4, 2}, {0x1CF5, 7}, {0x1CF7, 2}, {0x1CFA, 4},
    {0x1CFB, 0}, {0x1D00, 7}, {0x1DC0, 2}, {0x1DFA, 0}, {0x1DFB, 2},
    {0x1E00, 7}, {0x1F16, 0}, {0x1F18, 7}, {0x1F1E, 0}, {0x1F20, 7},
    {0x1F46, 0}, {0x1F48, 7}, {0x1F4E, 0}, {0x1F50, 7}, {0x1F58, 0},
    {0x1F59, 7}, {0x1F5A, 0}, {0x1F5B, 7}, {0x1F5C, 0}, {0x1F5D, 7},
    {0x1F5E, 0}, {0x1F5F, 7}, {0x1F7E, 0}, {0x1F80, 7}, {0x1FB5, 0},
    {0x1FB6, 7}, {0x1FBD, 0}, {0x1FBE, 7}, {0x1FBF, 0}, {0x1FC2, 7},
    {0x1FC5, 0}, {0x1FC6, 7}, {0x1FCD, 0}, {0x1FD0, 7}, {0x1FD4, 0},
    {0x1FD6, 7}, {0x1FDC, 0}, {0x1FE0, 7}, {0x1FED, 0}, {0x1FF2, 7},
    {0x1FF5, 0}, {0x1FF6, 7}, {0x1FFD, 0}, {0x203F, 2}, {0x2041, 0},
    {0x2054, 2}, {0x2055, 0}, {0x2070, 4}, {0x2071, 7}, {0x2072, 0},
    {0x2074, 4}, {0x207A, 0}, {0x207F, 7}, {0x2080, 4}, {0x208A, 0},
    {0x2090, 7}, {0x209D, 0}, {0x20D0, 2}, {0x20DD, 0}, {0x20E1, 2},
    {0x20E2, 0}, {0x20E5, 2}, {0x20F1, 0}, {0x2102, 7}, {0x2103, 0},
    {0x2107, 7}, {0x2108, 0}, {0x210A, 7}, {0x2114, 0}, {0x2115, 7},
    {0x2116, 0}, {0x2118, 3}, {0x2119, 7}, {0x211E, 0}, {0x2124, 7},
    {0x2125, 0}, {0x2126, 7}, {0x2127, 0}, {0x2128, 7}, {0x2129, 0},
    {0x212A, 7}, {0x212E, 3}, {0x212F, 7}, {0x213A, 0}, {0x213C, 7},
    {0x2140, 0}, {0x2145, 7}, {0x214A, 0}, {0x214E, 7}, {0x214F, 0},
    {0x2150, 4}, {0x2160, 7}, {0x2189, 4}, {0x218A, 0}, {0x2460, 4},
    {0x249C, 0}, {0x24EA, 4}, {0x2500, 0}, {0x2776, 4}, {0x2794, 0},
    {0x2C00, 7}, {0x2C2F, 4}, {0x2C30, 7}, {0x2C5F, 4}, {0x2C60, 7},
    {0x2CE5, 0}, {0x2CEB, 7}, {0x2CEF, 2}, {0x2CF2, 7}, {0x2CF4, 0},
    {0x2CFD, 4}, {0x2CFE, 0}, {0x2D00, 7}, {0x2D26, 0}, {0x2D27, 7},
    {0x2D28, 0}, {0x2D2D, 7}, {0x2D2E, 0}, {0x2D30, 7}, {0x2D68, 0},
    {0x2D6F, 7}, {0x2D70, 0}, {0x2D7F, 2}, {0x2D80, 7}, {0x2D97, 0},
    {0x2DA0, 7}, {0x2DA7, 0}, {0x2DA8, 7}, {0x2DAF, 0}, {0x2DB0, 7},
    {0x2DB7, 0}, {0x2DB8, 7}, {0x2DBF, 0}, {0x2DC0, 7}, {0x2DC7, 0},
    {0x2DC8, 7}, {0x2DCF, 0}, {0x2DD0, 7}, {0x2DD7, 0}, {0x2DD8, 7},
    {0x2DDF, 0}, {0x2DE0, 2}, {0x2E00, 0}, {0x2E2F, 4}, {0x2E30, 0},
    {0x3005, 7}, {0x3008, 0}, {0x3021, 7}, {0x302A, 2}, {0x3030, 0},
    {0x3031, 7}, {0x3036, 0}, {0x3038, 7}, {0x303D, 0}, {0x3041, 7},
    {0x3097, 0}, {0x3099, 2}, {0x309B, 0}, {0x309D, 7}, {0x30A0, 0},
    {0x30A1, 7}, {0x30FB, 0}, {0x30FC, 7}, {0x3100, 0}, {0x3105, 7},
    {0x3130, 0}, {0x3131, 7}, {0x318F, 0}, {0x3192, 4}, {0x3196, 0},
    {0x31A0, 7}, {0x31BB, 4}, {0x31C0, 0}, {0x31F0, 7}, {0x3200, 0},
    {0x3220, 4}, {0x322A, 0}, {0x3248, 4}, {0x3250, 0}, {0x3251, 4},
    {0x3260, 0}, {0x3280, 4}, {0x328A, 0}, {0x32B1, 4}, {0x32C0, 0},
    {0x3400, 7}, {0x4DB6, 4}, {0x4DC0, 0}, {0x4E00, 7}, {0x9FF0, 4},
    {0xA000, 7}, {0xA48D, 0}, {0xA4D0, 7}, {0xA4FE, 0}, {0xA500, 7},
    {0xA60D, 0}, {0xA610, 7}, {0xA620, 14}, {0xA62A, 7}, {0xA62C, 0},
    {0xA640, 7}, {0xA66F, 2}, {0xA670, 0}, {0xA674, 2}, {0xA67E, 0},
    {0xA67F, 7}, {0xA69E, 2}, {0xA6A0, 7}, {0xA6F0, 2}, {0xA6F2, 0},
    {0xA717, 7}, {0xA720, 0}, {0xA722, 7}, {0xA789, 0}, {0xA78B, 7},
    {0xA7BA, 4}, {0xA7CB, 0}, {0xA7D0, 4}, {0xA7D2, 0}, {0xA7D3, 4},
    {0xA7D4, 0}, {0xA7D5, 4}, {0xA7DA, 0}, {0xA7F2, 4}, {0xA7F7, 7},
    {0xA802, 2}, {0xA803, 7}, {0xA806, 2}, {0xA807, 7}, {0xA80B, 2},
    {0xA80C, 7}, {0xA823, 2}, {0xA828, 0}, {0xA830, 4}, {0xA836, 0},
    {0xA840, 7}, {0xA874, 0}, {0xA880, 2}, {0xA882, 7}, {0xA8B4, 2},
    {0xA8C6, 0}, {0xA8D0, 14}, {0xA8DA, 0}, {0xA8E0, 2}, {0xA8F2, 7},
    {0xA8F8, 0}, {0xA8FB, 7}, {0xA8FC, 0}, {0xA8FD, 7}, {0xA8FF, 2},
    {0xA900, 14}, {0xA90A, 7}, {0xA926, 2}, {0xA92E, 0}, {0xA930, 7},
    {0xA947, 2}, {0xA954, 0}, {0xA960, 7}, {0xA97D, 0}, {0xA980, 2},
    {0xA984, 7}, {0xA9B3, 2}, {0xA9C1, 0}, {0xA9CF, 7}, {0xA9D0, 14},
    {0xA9DA, 0}, {0xA9E0, 7}, {0xA9E5, 2}, {0xA9E6, 7}, {0xA9F0, 14},
    {0xA9FA, 7}, {0xA9FF, 0}, {0xAA00, 7}, {0xAA29, 2}, {0xAA37, 0},
    {0xAA40, 7}, {0xAA43, 2}, {0xAA44, 7}, {0xAA4C, 2}, {0xAA4E, 0},
    {0xAA50, 14}, {0xAA5A, 0}, {0xAA60, 7}, {0xAA77, 0}, {0xAA7A, 7},
    {0xAA7B, 2}, {0xAA7E, 7}, {0xAAB0, 2}, {0xAAB1, 7}, {0xAAB2, 2},
    {0xAAB5, 7}, {0xAAB7, 2}, {0xAAB9, 7}, {0xAABE, 2}, {0xAAC0, 7},
    {0xAAC1, 2}, {0xAAC2, 7}, {0xAAC3, 0}, {0xAADB, 7}, {0xAADE, 0},
    {0xAAE0, 7}, {0xAAEB, 2}, {0xAAF0, 0}, {0xAAF2, 7}, {0xAAF5, 2},
    {0xAAF7, 0}, {0xAB01, 7}, {0xAB07, 0}, {0xAB09, 7}, {0xAB0F, 0},
    {0xAB11, 7}, {0xAB17, 0}, {0xAB20, 7}, {0xAB27, 0}, {0xAB28, 7},
    {0xAB2F, 0}, {0xAB30, 7}, {0xAB5B, 0}, {0xAB5C, 7}, {0xAB66, 4},
    {0xAB6A, 0}, {0xAB70, 7}, {0xABE3, 2}, {0xABEB, 0}, {0xABEC, 2},
    {0xABEE, 0}, {0xABF0, 14}, {0xABFA, 0}, {0xAC00, 7}, {0xD7A4, 0},
    {0xD7B0, 7}, {0xD7C7, 0}, {0xD7CB, 7}, {0xD7FC, 0}, {0xF900, 7},
    {0xFA6E, 0}, {0xFA70, 7}, {0xFADA, 0}, {0xFB00, 7}, {0xFB07, 0},
    {0xFB13, 7}, {0xFB18, 0}, {0xFB1D, 7}, {0xFB1E, 2}, {0xFB1F, 7},
    {0xFB29, 0}, {0xFB2A, 7}, {0xFB37, 0}, {0xFB38, 7}, {0xFB3D, 0},
    {0xFB3E, 7}, {0xFB3F, 0}, {0xFB40, 7}, {0xFB42, 0}, {0xFB43, 7},
    {0xFB45, 0}, {0xFB46, 7}, {0xFBB2, 0}, {0xFBD3, 7}, {0xFC5E, 4},
    {0xFC64, 7}, {0xFD3E, 0}, {0xFD50, 7}, {0xFD90, 0}, {0xFD92, 7},
    {0xFDC8, 0}, {0xFDF0, 7}, {0xFDFA, 4}, {0xFDFC, 0}, {0xFE00, 2},
    {0xFE10, 0}, {0xFE20, 2}, {0xFE30, 0}, {0xFE33, 2}, {0xFE35, 0},
    {0xFE4D, 2}, {0xFE50, 0}, {0xFE70, 4}, {0xFE71, 7}, {0xFE72, 4},
    {0xFE73, 7}, {0xFE74, 4}, {0xFE75, 0}, {0xFE76, 4}, {0xFE77, 7},
    {0xFE78, 4}, {0xFE79, 7}, {0xFE7A, 4}, {0xFE7B, 7}, {0xFE7C, 4},
    {0xFE7D, 7}, {0xFE7E, 4}, {0xFE7F, 7}, {0xFEFD, 0}, {0xFF10, 14},
    {0xFF1A, 0}, {0xFF21, 7}, {0xFF3B, 0}, {0xFF3F, 2}, {0xFF40, 0},
    {0xFF41, 7}, {0xFF5B, 0}, {0xFF66, 7}, {0xFF9E, 6}, {0xFFA0, 7},
    {0xFFBF, 0}, {0xFFC2, 7}, {0xFFC8, 0}, {0xFFCA, 7}, {0xFFD0, 0},
    {0xFFD2, 7}, {0xFFD8, 0}, {0xFFDA, 7}, {0xFFDD, 0}, {0x10000, 7},
    {0x1000C, 0}, {0x1000D, 7}, {0x10027, 0}, {0x10028, 7}, {0x1003B, 0},
    {0x1003C, 7}, {0x1003E, 0}, {0x1003F, 7}, {0x1004E, 0}, {0x10050, 7},
    {0x1005E, 0}, {0x10080, 7}, {0x100FB, 0}, {0x10107, 4}, {0x10134, 0},
    {0x10140, 7}, {0x10175, 4}, {0x10179, 0}, {0x1018A, 4}, {0x1018C, 0},
    {0x101FD, 2}, {0x101FE, 0}, {0x10280, 7}, {0x1029D, 0}, {0x102A0, 7},
    {0x102D1, 0}, {0x102E0, 2}, {0x102E1, 4}, {0x102FC, 0}, {0x10300, 7},
    {0x10320, 4}, {0x10324, 0}, {0x1032D, 7}, {0x1034B, 0}, {0x10350, 7},
    {0x10376, 2}, {0x1037B, 0}, {0x10380, 7}, {0x1039E, 0}, {0x103A0, 7},
    {0x103C4, 0}, {0x103C8, 7}, {0x103D0, 0}, {0x103D1, 7}, {0x103D6, 0},
    {0x10400, 7}, {0x1049E, 0}, {0x104A0, 14}, {0x104AA, 0}, {0x104B0, 7},
    {0x104D4, 0}, {0x104D8, 7}, {0x104FC, 0}, {0x10500, 7}, {0x10528, 0},
    {0x10530, 7}, {0x10564, 0}, {0x10570, 4}, {0x1057B, 0}, {0x1057C, 4},
    {0x1058B, 0}, {0x1058C, 4}, {0x10593, 0}, {0x10594, 4}, {0x10596, 0},
    {0x10597, 4}, {0x105A2, 0}, {0x105A3, 4}, {0x105B2, 0}, {0x105B3, 4},
    {0x105BA, 0}, {0x105BB, 4}, {0x105BD, 0}, {0x10600, 7}, {0x10737, 0},
    {0x10740, 7}, {0x10756, 0}, {0x10760, 7}, {0x10768, 0}, {0x10780, 4},
    {0x10786, 0}, {0x10787, 4}, {0x107B1, 0}, {0x107B2, 4}, {0x107BB, 0},
    {0x10800, 7}, {0x10806, 0}, {0x10808, 7}, {0x10809, 0}, {0x1080A, 7},
    {0x10836, 0}, {0x10837, 7}, {0x10839, 0}, {0x1083C, 7}, {0x1083D, 0},
    {0x1083F, 7}, {0x10856, 0}, {0x10858, 4}, {0x10860, 7}, {0x10877, 0},
    {0x10879, 4}, {0x10880, 7}, {0x1089F, 0}, {0x108A7, 4}, {0x108B0, 0},
    {0x108E0, 7}, {0x108F3, 0}, {0x108F4, 7}, {0x108F6, 0}, {0x108FB, 4},
    {0x10900, 7}, {0x10916, 4}, {0x1091C, 0}, {0x10920, 7}, {0x1093A, 0},
    {0x10980, 7}, {0x109B8, 0}, {0x109BC, 4}, {0x109BE, 7}, {0x109C0, 4},
    {0x109D0, 0}, {0x109D2, 4}, {0x10A00, 7}, {0x10A01, 2}, {0x10A04, 0},
    {0x10A05, 2}, {0x10A07, 0}, {0x10A0C, 2}, {0x10A10, 7}, {0x10A14, 0},
    {0x10A15, 7}, {0x10A18, 0}, {0x10A19, 7}, {0x10A36, 0}, {0x10A38, 2},
    {0x10A3B, 0}, {0x10A3F, 2}, {0x10A40, 4}, {0x10A49, 0}, {0x10A60, 7},
    {0x10A7D, 4}, {0x10A7F, 0}, {0x10A80, 7}, {0x10A9D, 4}, {0x10AA0, 0},
    {0x10AC0, 7}, {0x10AC8, 0}, {0x10AC9, 7}, {0x10AE5, 2}, {0x10AE7, 0},
    {0x10AEB, 4}, {0x10AF0, 0}, {0x10B00, 7}, {0x10B36, 0}, {0x10B40, 7},
    {0x10B56, 0}, {0x10B58, 4}, {0x10B60, 7}, {0x10B73, 0}, {0x10B78, 4},
    {0x10B80, 7}, {0x10B92, 0}, {0x10BA9, 4}, {0x10BB0, 0}, {0x10C00, 7},
    {0x10C49, 0}, {0x10C80, 7}, {0x10CB3, 0}, {0x10CC0, 7}, {0x10CF3, 0},
    {0x10CFA, 4}, {0x10D00, 7}, {0x10D24, 2}, {0x10D28, 0}, {0x10D30, 14},
    {0x10D3A, 0}, {0x10E60, 4}, {0x10E7F, 0}, {0x10E80, 4}, {0x10EAA, 0},
    {0x10EB0, 4}, {0x10EB2, 0}, {0x10F00, 7}, {0x10F1D, 4}, {0x10F27, 7},
    {0x10F28, 0}, {0x10F30, 7}, {0x10F46, 2}, {0x10F51, 4}, {0x10F55, 0},
    {0x10F70, 4}, {0x10F82, 0}, {0x10FB0, 4}, {0x10FCC, 0}, {0x10FE0, 4},
    {0x10FF7, 0}, {0x11000, 2}, {0x11003, 7}, {0x11038, 2}, {0x11047, 0},
    {0x11052, 4}, {0x11066, 14}, {0x11070, 0}, {0x11071, 4}, {0x11073, 0},
    {0x11075, 4}, {0x11076, 0}, {0x1107F, 2}, {0x11083, 7}, {0x110B0, 2},
    {0x110BB, 0}, {0x110D0, 7}, {0x110E9, 0}, {0x110F0, 14}, {0x110FA, 0},
    {0x11100, 2}, {0x11103, 7}, {0x11127, 2}, {0x11135, 0}, {0x11136, 14},
    {0x11140, 0}, {0x11144, 7}, {0x11145, 2}, {0x11147, 4}, {0x11148, 0},
    {0x11150, 7}, {0x11173, 2}, {0x11174, 0}, {0x11176, 7}, {0x11177, 0},
    {0x11180, 2}, {0x11183, 7}, {0x111B3, 2}, {0x111C1, 7}, {0x111C5, 0},
    {0x111C9, 2}, {0x111CD, 0}, {0x111D0, 14}, {0x111DA, 7}, {0x111DB, 0},
    {0x111DC, 7}, {0x111DD, 0}, {0x111E1, 4}, {0x111F5, 0}, {0x11200, 7},
    {0x11212, 0}, {0x11213, 7}, {0x1122C, 2}, {0x11238, 0}, {0x1123E, 2},
    {0x1123F, 0}, {0x11280, 7}, {0x11287, 0}, {0x11288, 7}, {0x11289, 0},
    {0x1128A, 7}, {0x1128E, 0}, {0x1128F, 7}, {0x1129E, 0}, {0x1129F, 7},
    {0x112A9, 0}, {0x112B0, 7}, {0x112DF, 2}, {0x112EB, 0}, {0x112F0, 14},
    {0x112FA, 0}, {0x11300, 2}, {0x11304, 0}, {0x11305, 7}, {0x1130D, 0},
    {0x1130F, 7}, {0x11311, 0}, {0x11313, 7}, {0x11329, 0}, {0x1132A, 7},
    {0x11331, 0}, {0x11332, 7}, {0x11334, 0}, {0x11335, 7}, {0x1133A, 0},
    {0x1133B, 2}, {0x1133D, 7}, {0x1133E, 2}, {0x11345, 0}, {0x11347, 2},
    {0x11349, 0}, {0x1134B, 2}, {0x1134E, 0}, {0x11350, 7}, {0x11351, 0},
    {0x11357, 2}, {0x11358, 0}, {0x1135D, 7}, {0x11362, 2}, {0x11364, 0},
    {0x11366, 2}, {0x1136D, 0}, {0x11370, 2}, {0x11375, 0}, {0x11400, 7},
    {0x11435, 2}, {0x11447, 7}, {0x1144B, 0}, {0x11450, 14}, {0x1145A, 0},
    {0x1145E, 2}, {0x1145F, 4}, {0x11462, 0}, {0x11480, 7}, {0x114B0, 2},
    {0x114C4, 7}, {0x114C6, 0}, {0x114C7, 7}, {0x114C8, 0}, {0x114D0, 14},
    {0x114DA, 0}, {0x11580, 7}, {0x115AF, 2}, {0x115B6, 0}, {0x115B8, 2},
    {0x115C1, 0}, {0x115D8, 7}, {0x115DC, 2}, {0x115DE, 0}, {0x11600, 7},
    {0x11630, 2}, {0x11641, 0}, {0x11644, 7}, {0x11645, 0}, {0x11650, 14},
    {0x1165A, 0}, {0x11680, 7}, {0x116AB, 2}, {0x116B8, 4}, {0x116B9, 0},
    {0x116C0, 14}, {0x116CA, 0}, {0x11700, 7}, {0x1171B, 0}, {0x1171D, 2},
    {0x1172C, 0}, {0x11730, 14}, {0x1173A, 4}, {0x1173C, 0}, {0x11740, 4},
    {0x11747, 0}, {0x11800, 7}, {0x1182C, 2}, {0x1183B, 0}, {0x118A0, 7},
    {0x118E0, 14}, {0x118EA, 4}, {0x118F3, 0}, {0x118FF, 7}, {0x11900, 4},
    {0x11907, 0}, {0x11909, 4}, {0x1190A, 0}, {0x1190C, 4}, {0x11914, 0},
    {0x11915, 4}, {0x11917, 0}, {0x11918, 4}, {0x11930, 0}, {0x1193F, 4},
    {0x11940, 0}, {0x11941, 4}, {0x11942, 0}, {0x11950, 12}, {0x1195A, 0},
    {0x119A0, 4}, {0x119A8, 0}, {0x119AA, 4}, {0x119D1, 0}, {0x119E1, 4},
    {0x119E2, 0}, {0x119E3, 4}, {0x119E4, 0}, {0x11A00, 7}, {0x11A01, 2},
    {0x11A0B, 7}, {0x11A33, 2}, {0x11A3A, 7}, {0x11A3B, 2}, {0x11A3F, 0},
    {0x11A47, 2}, {0x11A48, 0}, {0x11A50, 7}, {0x11A51, 2}, {0x11A5C, 7},
    {0x11A84, 4}, {0x11A86, 7}, {0x11A8A, 2}, {0x11A9A, 0}, {0x11A9D, 7},
    {0x11A9E, 0}, {0x11AB0, 4}, {0x11AC0, 7}, {0x11AF9, 0}, {0x11C00, 7},
    {0x11C09, 0}, {0x11C0A, 7}, {0x11C2F, 2}, {0x11C37, 0}, {0x11C38, 2},
    {0x11C40, 7}, {0x11C41, 0}, {0x11C50, 14}, {0x11C5A, 4}, {0x11C6D, 0},
    {0x11C72, 7}, {0x11C90, 0}, {0x11C92, 2}, {0x11CA8, 0}, {0x11CA9, 2},
    {0x11CB7, 0}, {0x11D00, 7}, {0x11D07, 0}, {0x11D08, 7}, {0x11D0A, 0},
    {0x11D0B, 7}, {0x11D31, 2}, {0x11D37, 0}, {0x11D3A, 2}, {0x11D3B, 0},
    {0x11D3C, 2}, {0x11D3E, 0}, {0x11D3F, 2}, {0x11D46, 7}, {0x11D47, 2},
    {0x11D48, 0}, {0x11D50, 14}, {0x11D5A, 0}, {0x11D60, 7}, {0x11D66, 0},
    {0x11D67, 7}, {0x11D69, 0}, {0x11D6A, 7}, {0x11D8A, 2}, {0x11D8F, 0},
    {0x11D90, 2}, {0x11D92, 0}, {0x11D93, 2}, {0x11D98, 7}, {0x11D99, 0},
    {0x11DA0, 14}, {0x11DAA, 0}, {0x11EE0, 7}, {0x11EF3, 2}, {0x11EF7, 0},
    {0x11FB0, 4}, {0x11FB1, 0}, {0x11FC0, 4}, {0x11FD5, 0}, {0x12000, 7},
    {0x1239A, 0}, {0x12400, 7}, {0x1246F, 0}, {0x12480, 7}, {0x12544, 0},
    {0x12F90, 4}, {0x12FF1, 0}, {0x13000, 7}, {0x1342F, 0}, {0x14400, 7},
    {0x14647, 0}, {0x16800, 7}, {0x16A39, 0}, {0x16A40, 7}, {0x16A5F, 0},
    {0x16A60, 14}, {0x16A6A, 0}, {0x16A70, 4}, {0x16ABF, 0}, {0x16AC0, 12},
    {0x16ACA, 0}, {0x16AD0, 7}, {0x16AEE, 0}, {0x16AF0, 2}, {0x16AF5, 0},
    {0x16B00, 7}, {0x16B30, 2}, {0x16B37, 0}, {0x16B40, 7}, {0x16B44, 0},
    {0x16B50, 14}, {0x16B5A, 0}, {0x16B5B, 4}, {0x16B62, 0}, {0x16B63, 7},
    {0x16B78, 0}, {0x16B7D, 7}, {0x16B90, 0}, {0x16E40, 7}, {0x16E80, 4},
    {0x16E97, 0}, {0x16F00, 7}, {0x16F45, 4}, {0x16F4B, 0}, {0x16F50, 7},
    {0x16F51, 2}, {0x16F7F, 0}, {0x16F8F, 2}, {0x16F93, 7}, {0x16FA0, 0},
    {0x16FE0, 7}, {0x16FE2, 0}, {0x16FE3, 4}, {0x16FE4, 0}, {0x17000, 7},
    {0x187F2, 4}, {0x187F8, 0}, {0x18800, 7}, {0x18AF3, 4}, {0x18CD6, 0},
    {0x18D00, 4}, {0x18D09, 0}, {0x1AFF0, 4}, {0x1AFF4, 0}, {0x1AFF5, 4},
    {0x1AFFC, 0}, {0x1AFFD, 4}, {0x1AFFF, 0}, {0x1B000, 7}, {0x1B11F, 4},
    {0x1B123, 0}, {0x1B150, 4}, {0x1B153, 0}, {0x1B164, 4}, {0x1B168, 0},
    {0x1B170, 7}, {0x1B2FC, 0}, {0x1BC00, 7}, {0x1BC6B, 0}, {0x1BC70, 7},
    {0x1BC7D, 0}, {0x1BC80, 7}, {0x1BC89, 0}, {0x1BC90, 7}, {0x1BC9A, 0},
    {0x1BC9D, 2}, {0x1BC9F, 0}, {0x1D165, 2}, {0x1D16A, 0}, {0x1D16D, 2},
    {0x1D173, 0}, {0x1D17B, 2}, {0x1D183, 0}, {0x1D185, 2}, {0x1D18C, 0},
    {0x1D1AA, 2}, {0x1D1AE, 0}, {0x1D242, 2}, {0x1D245, 0}, {0x1D2E0, 4},
    {0x1D2F4, 0}, {0x1D360, 4}, {0x1D379, 0}, {0x1D400, 7}, {0x1D455, 0},
    {0x1D456, 7}, {0x1D49D, 0}, {0x1D49E, 7}, {0x1D4A0, 0}, {0x1D4A2, 7},
    {0x1D4A3, 0}, {0x1D4A5, 7}, {0x1D4A7, 0}, {0x1D4A9, 7}, {0x1D4AD, 0},
    {0x1D4AE, 7}, {0x1D4BA, 0}, {0x1D4BB, 7}, {0x1D4BC, 0}, {0x1D4BD, 7},
    {0x1D4C4, 0}, {0x1D4C5, 7}, {0x1D506, 0}, {0x1D507, 7}, {0x1D50B, 0},
    {0x1D50D, 7}, {0x1D515, 0}, {0x1D516, 7}, {0x1D51D, 0}, {0x1D51E, 7},
    {0x1D53A, 0}, {0x1D53B, 7}, {0x1D53F, 0}, {0x1D540, 7}, {0x1D545, 0},
    {0x1D546, 7}, {0x1D547, 0}, {0x1D54A, 7}, {0x1D551, 0}, {0x1D552, 7},
    {0x1D6A6, 0}, {0x1D6A8, 7}, {0x1D6C1, 0}, {0x1D6C2, 7}, {0x1D6DB, 0},
    {0x1D6DC, 7}, {0x1D6FB, 0}, {0x1D6FC, 7}, {0x1D715, 0}, {0x1D716, 7},
    {0x1D735, 0}, {0x1D736, 7}, {0x1D74F, 0}, {0x1D750, 7}, {0x1D76F, 0},
    {0x1D770, 7}, {0x1D789, 0}, {0x1D78A, 7}, {0x1D7A9, 0}, {0x1D7AA, 7},
    {0x1D7C3, 0}, {0x1D7C4, 7}, {0x1D7CC, 0}, {0x1D7CE, 14}, {0x1D800, 0},
    {0x1DA00, 2}, {0x1DA37, 0}, {0x1DA3B, 2}, {0x1DA6D, 0}, {0x1DA75, 2},
    {0x1DA76, 0}, {0x1DA84, 2}, {0x1DA85, 0}, {0x1DA9B, 2}, {0x1DAA0, 0},
    {0x1DAA1, 2}, {0x1DAB0, 0}, {0x1DF00, 4}, {0x1DF1F, 0}, {0x1E000, 2},
    {0x1E007, 0}, {0x1E008, 2}, {0x1E019, 0}, {0x1E01B, 2}, {0x1E022, 0},
    {0x1E023, 2}, {0x1E025, 0}, {0x1E026, 2}, {0x1E02B, 0}, {0x1E100, 4},
    {0x1E12D, 0}, {0x1E137, 4}, {0x1E13E, 0}, {0x1E140, 12}, {0x1E14A, 0},
    {0x1E14E, 4}, {0x1E14F, 0}, {0x1E290, 4}, {0x1E2AE, 0}, {0x1E2C0, 4},
    {0x1E2EC, 0}, {0x1E2F0, 12}, {0x1E2FA, 0}, {0x1E7E0, 4}, {0x1E7E7, 0},
    {0x1E7E8, 4}, {0x1E7EC, 0}, {0x1E7ED, 4}, {0x1E7EF, 0}, {0x1E7F0, 4},
    {0x1E7FF, 0}, {0x1E800, 7}, {0x1E8C5, 0}, {0x1E8C7, 4}, {0x1E8D0, 2},
    {0x1E8D7, 0}, {0x1E900, 7}, {0x1E944, 2}, {0x1E94B, 4}, {0x1E94C, 0},
    {0x1E950, 14}, {0x1E95A, 0}, {0x1EC71, 4}, {0x1ECAC, 0}, {0x1ECAD, 4},
    {0x1ECB0, 0}, {0x1ECB1, 4}, {0x1ECB5, 0}, {0x1ED01, 4}, {0x1ED2E, 0},
    {0x1ED2F, 4}, {0x1ED3E, 0}, {0x1EE00, 7}, {0x1EE04, 0}, {0x1EE05, 7},
    {0x1EE20, 0}, {0x1EE21, 7}, {0x1EE23, 0}, {0x1EE24, 7}, {0x1EE25, 0},
    {0x1EE27, 7}, {0x1EE28, 0}, {0x1EE29, 7}, {0x1EE33, 0}, {0x1EE34, 7},
    {0x1EE38, 0}, {0x1EE39, 7}, {0x1EE3A, 0}, {0x1EE3B, 7}, {0x1EE3C, 0},
    {0x1EE42, 7}, {0x1EE43, 0}, {0x1EE47, 7}, {0x1EE48, 0}, {0x1EE49, 7},
    {0x1EE4A, 0}, {0x1EE4B, 7}, {0x1EE4C, 0}, {0x1EE4D, 7}, {0x1EE50, 0},
    {0x1EE51, 7}, {0x1EE53, 0}, {0x1EE54, 7}, {0x1EE55, 0}, {0x1EE57, 7},
    {0x1EE58, 0}, {0x1EE59, 7}, {0x1EE5A, 0}, {0x1EE5B, 7}, {0x1EE5C, 0},
    {0x1EE5D, 7}, {0x1EE5E, 0}, {0x1EE5F, 7}, {0x1EE60, 0}, {0x1EE61, 7},
    {0x1EE63, 0}, {0x1EE64, 7}, {0x1EE65, 0}, {0x1EE67, 7}, {0x1EE6B, 0},
    {0x1EE6C, 7}, {0x1EE73, 0}, {0x1EE74, 7}, {0x1EE78, 0}, {0x1EE79, 7},
    {0x1EE7D, 0}, {0x1EE7E, 7}, {0x1EE7F, 0}, {0x1EE80, 7}, {0x1EE8A, 0},
    {0x1EE8B, 7}, {0x1EE9C, 0}, {0x1EEA1, 7}, {0x1EEA4, 0}, {0x1EEA5, 7},
    {0x1EEAA, 0}, {0x1EEAB, 7}, {0x1EEBC, 0}, {0x1F100, 4}, {0x1F10D, 0},
    {0x1FBF0, 12}, {0x1FBFA, 0}, {0x20000, 7}, {0x2A6D7, 4}, {0x2A6E0, 0},
    {0x2A700, 7}, {0x2B735, 4}, {0x2B739, 0}, {0x2B740, 7}, {0x2B81E, 0},
    {0x2B820, 7}, {0x2CEA2, 0}, {0x2CEB0, 7}, {0x2EBE1, 0}, {0x2F800, 7},
    {0x2FA1E, 0}, {0x30000, 4}, {0x3134B, 0}, {0xE0100, 2}, {0xE01F0, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static unsigned cp_flags(uint32_t cp)
{
    if (cp < 0x80) {
        int alpha = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
        int digit = cp >= '0' && cp <= '9';
        return (alpha ? CP_START : 0) | (alpha || digit ? CP_CONTINUE | CP_WORD : 0)
            | (digit ? CP_DIGIT : 0);
    }
    size_t lo = 0, hi = COUNT(cp_props);      /* last entry with from <= cp */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp_props[mid].from <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return cp_props[lo].flags;
}

static int cp_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F)
        || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
        || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static int cp_is_ident_continue(uint32_t cp)
{
    return (cp_flags(cp) & CP_CONTINUE) != 0;
}

/* Python's \w, which decides \b. */
static int cp_is_word(uint32_t cp)
{
    return (cp_flags(cp) & CP_WORD) != 0;
}

static int cp_is_ident_start(uint32_t cp)
{
    return (cp_flags(cp) & CP_START) != 0;
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

/* Length of the \d (any Unicode decimal digit) at i, 0 if none. */
static size_t udigit_len(const struct lexer *lx, size_t i)
{
    uint32_t cp;
    size_t k = cp_at(lx, i, &cp);
    return k > 0 && (cp_flags(cp) & CP_DIGIT) ? k : 0;
}

/* End of \d* from i. */
static size_t udigits_end(const struct lexer *lx, size_t i)
{
    size_t k;
    while ((k = udigit_len(lx, i)) > 0)
        i += k;
    return i;
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
    int c = at(lx, i);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
        return i;                       /* every listed word starts so */
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
    size_t k = udigit_len(lx, i);
    if (k == 0)
        return i;
    i += k;
    for (;;) {
        if ((k = udigit_len(lx, i)) > 0)
            i += k;
        else if (at(lx, i) == '_' && (k = udigit_len(lx, i + 1)) > 0)
            i += 1 + k;
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
    else if (e == p && at(lx, p) == '.' && udigit_len(lx, p + 1))
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
    i = udigits_end(lx, i);
    if (at(lx, i) == ',')
        i++;
    if (at(lx, i) == '.' && udigit_len(lx, i + 1))
        i = udigits_end(lx, i + 1);
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
