/* hashid.c -- the hashids 0.3.x codec, bit for bit as the Python package hashids
 * 0.8.4 computes it: grid ids <-> the short strings in URLs (docs/protocol.md §3).
 *
 * The algorithm, in prose.
 *
 * Everything rests on one shuffle, reorder(list, salt). Take the salt's code
 * points as an array S of length L (an empty salt counts as the single value 0).
 * Each S[i], in order i = 0..L-1, becomes the absolute value of S[i] plus an
 * alternating sum of the other L-1 entries read cyclically from S[i+1] (+, -, +,
 * ...; entries before i are already final), plus k*i on every "+" step, k being
 * the loop counter i..L+i-2. Then values are popped from the list: the t-th pop
 * takes position S[t mod L] mod (items left). The result depends only on the salt
 * and the list's length, so it is a permutation, and we keep it as one.
 *
 * Setup. From the default alphabet, the characters at positions prime-1 (2, 3,
 * 5, ... 43) are separators; the guards (c i T) are taken out of that list at
 * positions 0, 4 and 8, each counted in what the previous removal left, leaving
 * 11 separators (S F h U I t u C H f s). The other 30
 * characters, reordered by the salt, are the base alphabet.
 *
 * Encoding numbers v0..vn-1. The lottery character is the head of the base
 * alphabet reordered by "v0-..-vn-1-(2v0+2)-..-(2vn-1+2)". The working alphabet
 * is the base alphabet with the lottery character moved to the front; before
 * each number it is reordered by str(ord(lottery) & 12345) + salt, and the number
 * is written in base 30 in it (most significant digit first, 0 as one digit).
 * Between numbers comes separator (v + i) mod 11 of the separators reordered by
 * the decimal numbers written end to end. The hash is the lottery character and
 * the digits. If shorter than min_length: a guard chosen by sum((i+1)*vi) in
 * front, then, if still short, another behind; then, while still short, wrap it
 * in two encodings of (ord(alphabet[1]), ord(alphabet[0])) made with the current
 * alphabet (left one with the salt, right one with those two numbers in decimal
 * as salt), cut the excess from both ends (floor(excess/2) on the left, the rest
 * on the right), and reorder the alphabet by salt + hash.
 *
 * Decoding is lenient, as the reference's is: cut at guards and keep piece 1
 * when there are 2 or 3 pieces, else piece 0; split that at separators; the
 * first character is the lottery character, unchecked against the alphabet (a
 * foreign one joins the alphabet as its first letter, making it 31 long); each
 * non-empty part reorders the alphabet once and is read in base 30 (or 31). A
 * character that is in no alphabet makes the whole result empty, as does a
 * first part that is empty. Input bytes are read as UTF-8, as Python's str would
 * hold them; a byte that is not part of valid UTF-8 stands for U+DC00+byte, as
 * Python's surrogateescape gives it.
 *
 * Speed. The sorting array of the shuffle has a closed form: with T the
 * alternating sum of all of S, P(i) that of S[0..i), B(i) the alternating sum of
 * the final entries before i, and m = L/2,
 *     S'[i] = |S[i] + (-1)^(i+1) (T - P(i+1)) + (-1)^(L-i+1) B(i) + i m (i-1+m)|,
 * and popping 30 items only ever reads S'[0..29]. So a salt is summarised in
 * struct salt_sum (length, first 32 code points, alternating sum), summaries of
 * concatenated strings combine in O(32), and no salt string is ever built. The
 * per-lottery permutations, the alphabet after the first number and the pads
 * of the first padding round are precomputed in hashid_new for each of the 30
 * possible lottery characters; encoding one id allocates nothing.
 *
 * Invariants.
 * - struct hashid is written only in hashid_new; afterwards it is read-only, so
 *   threads share it without locks. No function here keeps static state.
 * - Every 64-bit operation on a decoded number is checked: a number >= 2^64
 *   makes hashid_decode return -1, never a wrapped value. Numbers taken from the
 *   caller are never incremented or summed in 64 bits; (2v+2) is formed in
 *   decimal, (v+i) mod 11 and sum((i+1)v) mod 3 by residues.
 * - Sorting values stay below 4 * (L * 0x10FFFF + 11 L^2): the alternating sum
 *   of final entries can at most double once before it collapses again. With
 *   salts capped at HASHID_SALT_MAX bytes and at most ENCODE_MAX_COUNT numbers,
 *   L < 2^26 and int64_t cannot overflow.
 * - Decoding reads only s[0..len), scans bytewise for guards and separators
 *   (all ASCII, and ASCII bytes never occur inside a UTF-8 sequence), and keeps
 *   no buffer sized by the input. */
#include "hashid.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_ALPHABET "xcS4F6h89aUbideAI7tkynuopqrXCgTE5GBKHLMjfRsz"
#define NB 30                    /* base alphabet */
#define NX (NB + 1)              /* base alphabet + a foreign lottery character */
#define NSEP 11
#define NGUARD 3
#define HEAD 32                  /* >= the longest list ever reordered (NX) */
#define HASHID_SALT_MAX (1u << 20)
#define ENCODE_MAX_COUNT (1u << 20)
#define PAD_MAX 32               /* one pad: lottery + 2 digits + sep + 2 digits */

enum { CLS_NONE = -1, CLS_SEP = -2, CLS_GUARD = -3 };

/* A salt string, summarised for reorder(): see the closed form above. */
struct salt_sum {
    uint64_t len;
    int64_t head[HEAD];   /* head[0..min(len, HEAD)) */
    int64_t total;        /* sum of (-1)^j * s[j] */
};

struct hashid {
    unsigned min_length;
    struct salt_sum salt;
    char base[NB];                      /* self._alphabet: base index -> char */
    char seps[NSEP];
    char guards[NGUARD];
    signed char cls[128];               /* ASCII -> base index or CLS_* */
    uint8_t perm[NB][NB];               /* reorder by str(ord(base[x]) & 12345) + salt */
    uint8_t alpha1[NB][NB];             /* alphabet after the first number, lottery x */
    char pad[NB][2][PAD_MAX];           /* first-round pads when the alphabet is alpha1[x] */
    uint8_t padlen[NB][2];
};

/* ---- salt summaries and the shuffle ------------------------------------- */

static void ss_init(struct salt_sum *s)
{
    memset(s, 0, sizeof *s);
}

static void ss_push(struct salt_sum *s, int64_t c)
{
    if (s->len < HEAD)
        s->head[s->len] = c;
    s->total += (s->len & 1) ? -c : c;
    s->len++;
}

static void ss_push_str(struct salt_sum *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ss_push(s, (unsigned char)p[i]);
}

/* a := a followed by b */
static void ss_cat(struct salt_sum *a, const struct salt_sum *b)
{
    for (uint64_t j = 0; j < b->len && a->len + j < HEAD; j++)
        a->head[a->len + j] = b->head[j];
    a->total += (a->len & 1) ? -b->total : b->total;
    a->len += b->len;
}

/* perm[t] = which position of the input list the t-th output takes, for a list
 * of n <= HEAD items reordered by the summarised salt. */
static void reorder_perm(const struct salt_sum *salt, size_t n, uint8_t *perm)
{
    struct salt_sum zero;
    if (salt->len == 0) {           /* the reference sorts by [0] then */
        ss_init(&zero);
        ss_push(&zero, 0);
        salt = &zero;
    }
    int64_t L = (int64_t)salt->len, m = L / 2;
    size_t used = salt->len < n ? (size_t)salt->len : n;
    int64_t sorting[HEAD], prefix = 0, bsum = 0;
    for (size_t i = 0; i < used; i++) {
        int64_t si = salt->head[i];
        prefix += (i & 1) ? -si : si;                         /* P(i+1) */
        int64_t a = salt->total - prefix;
        if (!(i & 1))
            a = -a;                                           /* (-1)^(i+1) */
        int64_t b = ((L - (int64_t)i + 1) & 1) ? -bsum : bsum; /* (-1)^(L-i+1) B */
        int64_t c = (int64_t)i * m * ((int64_t)i - 1 + m);
        int64_t v = si + a + b + c;
        sorting[i] = v < 0 ? -v : v;
        bsum += (i & 1) ? -sorting[i] : sorting[i];           /* B(i+1) */
    }
    uint8_t left[HEAD];
    for (size_t j = 0; j < n; j++)
        left[j] = (uint8_t)j;
    for (size_t t = 0; t < n; t++) {
        size_t rem = n - t;
        size_t pos = (size_t)((uint64_t)sorting[t % used] % rem);
        perm[t] = left[pos];
        memmove(left + pos, left + pos + 1, rem - pos - 1);
    }
}

static void apply_perm(uint8_t *alpha, const uint8_t *perm, size_t n)
{
    uint8_t tmp[HEAD];
    for (size_t t = 0; t < n; t++)
        tmp[t] = alpha[perm[t]];
    memcpy(alpha, tmp, n);
}

/* ---- decimal helpers ------------------------------------------------------ */

/* Writes v in decimal (no NUL); returns the digit count (<= 20). */
static size_t dec_u64(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Writes (v + 1) * 2 in decimal, exact beyond 2^64; returns the count (<= 21). */
static size_t dec_twice_plus2(uint64_t v, char *out)
{
    char d[22];                     /* least significant first */
    size_t n = 0;
    do {
        d[n++] = (char)(v % 10);
        v /= 10;
    } while (v);
    int carry = 1;                  /* + 1 */
    for (size_t i = 0; i < n && carry; i++) {
        d[i] = (char)(d[i] + 1);
        carry = d[i] == 10;
        if (carry)
            d[i] = 0;
    }
    if (carry)
        d[n++] = 1;
    carry = 0;                      /* * 2 */
    for (size_t i = 0; i < n; i++) {
        int x = d[i] * 2 + carry;
        d[i] = (char)(x % 10);
        carry = x / 10;
    }
    if (carry)
        d[n++] = 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + d[n - 1 - i]);
    return n;
}

/* Summary of str(code & 12345) + salt, the per-number alphabet salt. */
static void lottery_salt_sum(const struct hashid *h, uint32_t code,
                             const struct salt_sum *salt, struct salt_sum *out)
{
    char d[20];
    ss_init(out);
    ss_push_str(out, d, dec_u64(code & 12345u, d));
    ss_cat(out, salt ? salt : &h->salt);
}

/* ---- encoding ------------------------------------------------------------- */

/* The reference's _encode(values, alphabet, salt): writes the unpadded hash to
 * out (cap bytes, no NUL) and the final alphabet to alpha_out. alpha_in is a list
 * of NB base indices. salt NULL means the codec's salt (precomputed permutations).
 * Returns the length, or -1 if it does not fit. */
static int encode_raw(const struct hashid *h, const uint64_t *vals, size_t count,
                      const uint8_t *alpha_in, const struct salt_sum *salt,
                      char *out, size_t cap, uint8_t *alpha_out)
{
    char d[22];
    struct salt_sum ls;
    ss_init(&ls);
    for (size_t i = 0; i < count; i++) {
        if (i)
            ss_push(&ls, '-');
        ss_push_str(&ls, d, dec_u64(vals[i], d));
    }
    for (size_t i = 0; i < count; i++) {
        ss_push(&ls, '-');
        ss_push_str(&ls, d, dec_twice_plus2(vals[i], d));
    }
    /* head of the reordered alphabet: S'[0] = |2 S[0] - T| */
    int64_t s0 = 2 * ls.head[0] - ls.total;
    uint8_t lot = alpha_in[(uint64_t)(s0 < 0 ? -s0 : s0) % NB];

    uint8_t sepperm[NSEP];
    if (count > 1) {
        struct salt_sum ss;
        ss_init(&ss);
        for (size_t i = 0; i < count; i++)
            ss_push_str(&ss, d, dec_u64(vals[i], d));
        reorder_perm(&ss, NSEP, sepperm);
    }

    uint8_t own[NB];
    const uint8_t *perm = h->perm[lot];
    if (salt) {
        struct salt_sum as;
        lottery_salt_sum(h, (unsigned char)h->base[lot], salt, &as);
        reorder_perm(&as, NB, own);
        perm = own;
    }

    uint8_t alpha[NB];
    alpha[0] = lot;
    for (size_t j = 0, k = 1; j < NB; j++)
        if (alpha_in[j] != lot)
            alpha[k++] = alpha_in[j];

    size_t n = 0;
    if (cap < 1)
        return -1;
    out[n++] = h->base[lot];
    for (size_t i = 0; i < count; i++) {
        apply_perm(alpha, perm, NB);
        char dig[14];                   /* 30^14 > 2^64 */
        size_t nd = 0;
        uint64_t v = vals[i];
        do {
            dig[nd++] = h->base[alpha[v % NB]];
            v /= NB;
        } while (v);
        if (cap - n < nd + (i + 1 < count))
            return -1;
        while (nd)
            out[n++] = dig[--nd];
        if (i + 1 < count) {
            unsigned r = (unsigned)((vals[i] % NSEP + i % NSEP) % NSEP);
            out[n++] = h->seps[sepperm[r]];
        }
    }
    if (n > (size_t)INT32_MAX)
        return -1;
    memcpy(alpha_out, alpha, NB);
    return (int)n;
}

/* The two pads of a padding round for the given alphabet. */
static int make_pads(const struct hashid *h, const uint8_t *alpha, char pad[2][PAD_MAX],
                     uint8_t padlen[2])
{
    uint64_t pv[2] = {(unsigned char)h->base[alpha[1]], (unsigned char)h->base[alpha[0]]};
    char d[22];
    struct salt_sum right;
    ss_init(&right);
    ss_push_str(&right, d, dec_u64(pv[0], d));
    ss_push_str(&right, d, dec_u64(pv[1], d));
    uint8_t scratch[NB];
    int l = encode_raw(h, pv, 2, alpha, NULL, pad[0], PAD_MAX, scratch);
    int r = encode_raw(h, pv, 2, alpha, &right, pad[1], PAD_MAX, scratch);
    if (l < 0 || r < 0)
        return -1;
    padlen[0] = (uint8_t)l;
    padlen[1] = (uint8_t)r;
    return 0;
}

/* The reference's _ensure_length, for a hash of len < min_length held in out.
 * single_lot >= 0 names the lottery when alpha is alpha1[single_lot], so the
 * first round's pads come from the table. Returns the new length or -1. */
static int ensure_length(const struct hashid *h, const uint64_t *vals, size_t count,
                         char *out, size_t len, size_t outlen, uint8_t *alpha,
                         int single_lot)
{
    size_t want = h->min_length;
    if (outlen < want + 1)
        return -1;
    char cur[HASHID_MAX_LEN + 2 * PAD_MAX];
    unsigned fi = 0;                    /* sum((i+1) * v) mod 3 */
    for (size_t i = 0; i < count; i++)
        fi = (fi + (unsigned)((i + 1) % 3) * (unsigned)(vals[i] % 3)) % 3;
    size_t n = 0;
    cur[n++] = h->guards[fi];
    memcpy(cur + n, out, len);
    n += len;
    if (n < want) {
        cur[n] = h->guards[(fi + n) % NGUARD];    /* n counts the first guard */
        n++;
    }
    for (int round = 0; n < want; round++) {
        char padbuf[2][PAD_MAX];
        uint8_t plen[2];
        const char *pl, *pr;
        if (round == 0 && single_lot >= 0) {
            pl = h->pad[single_lot][0];
            pr = h->pad[single_lot][1];
            plen[0] = h->padlen[single_lot][0];
            plen[1] = h->padlen[single_lot][1];
        } else {
            if (make_pads(h, alpha, padbuf, plen) < 0)
                return -1;
            pl = padbuf[0];
            pr = padbuf[1];
        }
        size_t total = plen[0] + n + plen[1];
        size_t cut_left = 0, cut_right = 0;
        if (total > want) {
            cut_left = (total - want) / 2;
            cut_right = total - want - cut_left;
        }
        char next[HASHID_MAX_LEN + 2 * PAD_MAX];
        memcpy(next, pl, plen[0]);
        memcpy(next + plen[0], cur, n);
        memcpy(next + plen[0] + n, pr, plen[1]);
        n = total - cut_left - cut_right;
        memcpy(cur, next + cut_left, n);
        if (n < want) {
            struct salt_sum s = h->salt;
            ss_push_str(&s, cur, n);
            uint8_t perm[NB];
            reorder_perm(&s, NB, perm);
            apply_perm(alpha, perm, NB);
        }
    }
    memcpy(out, cur, n);
    return (int)n;
}

int hashid_encode_many(const struct hashid *h, const uint64_t *numbers, size_t count,
                       char *out, size_t outlen)
{
    if (!h || !numbers || !out || outlen == 0 || count == 0 || count > ENCODE_MAX_COUNT)
        return -1;
    uint8_t alpha_in[NB], alpha[NB];
    for (size_t j = 0; j < NB; j++)
        alpha_in[j] = (uint8_t)j;
    int n = encode_raw(h, numbers, count, alpha_in, NULL, out, outlen - 1, alpha);
    if (n < 0)
        return -1;
    if ((size_t)n < h->min_length) {
        int lot = count == 1 ? h->cls[(unsigned char)out[0]] : -1;
        n = ensure_length(h, numbers, count, out, (size_t)n, outlen, alpha, lot);
        if (n < 0)
            return -1;
    }
    out[n] = '\0';
    return n;
}

int hashid_encode(const struct hashid *h, uint64_t id, char *out, size_t outlen)
{
    return hashid_encode_many(h, &id, 1, out, outlen);
}

/* ---- decoding ------------------------------------------------------------- */

/* One code point from s[*i..len), advancing *i; invalid UTF-8 gives U+DC00+byte
 * for one byte, as Python's surrogateescape does. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    size_t need;
    uint32_t cp, min;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, cp = c & 0x07, min = 0x10000;
    } else {
        (*i)++;
        return 0xDC00u + c;
    }
    if (len - *i <= need) {
        (*i)++;
        return 0xDC00u + c;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80) {
            (*i)++;
            return 0xDC00u + c;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xDC00u + c;
    }
    *i += need + 1;
    return cp;
}

int hashid_decode(const struct hashid *h, const char *str, size_t len, uint64_t *nums,
                  size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    if (!h || !s || len == 0)
        return 0;

    /* the piece between guards the reference reads */
    size_t guards = 0, g1 = len, g2 = len;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 128 && h->cls[s[i]] == CLS_GUARD) {
            if (guards == 0)
                g1 = i;
            else if (guards == 1)
                g2 = i;
            guards++;
        }
    }
    size_t a = 0, b = g1;
    if (guards == 1 || guards == 2)
        a = g1 + 1, b = g2;
    if (a == b || (s[a] < 128 && h->cls[s[a]] == CLS_SEP))
        return 0;                       /* empty first part: () */

    size_t i = a;
    uint32_t lottery = utf8_next(s, b, &i);
    uint8_t alpha[NX], ownperm[NX];
    const uint8_t *perm;
    size_t nalpha;
    int foreign = !(lottery < 128 && h->cls[lottery] >= 0);
    if (!foreign) {
        uint8_t x = (uint8_t)h->cls[lottery];
        nalpha = NB;
        alpha[0] = x;
        for (size_t j = 0, k = 1; j < NB; j++)
            if (j != x)
                alpha[k++] = (uint8_t)j;
        perm = h->perm[x];
    } else {                            /* index NB stands for the foreign character */
        nalpha = NX;
        alpha[0] = NB;
        for (size_t j = 0; j < NB; j++)
            alpha[j + 1] = (uint8_t)j;
        struct salt_sum as;
        lottery_salt_sum(h, lottery, NULL, &as);
        reorder_perm(&as, NX, ownperm);
        perm = ownperm;
    }

    size_t count = 0;
    int overflow = 0;
    int first = 1;
    while (i <= b) {
        size_t end = i;
        while (end < b && !(s[end] < 128 && h->cls[s[end]] == CLS_SEP))
            end++;
        if (first || end > i) {
            apply_perm(alpha, perm, nalpha);
            int digit_of[NX];
            for (size_t t = 0; t < NX; t++)
                digit_of[t] = -1;
            for (size_t t = 0; t < nalpha; t++)
                digit_of[alpha[t]] = (int)t;
            uint64_t v = 0;
            int vover = 0;
            for (size_t k = i; k < end;) {
                uint32_t cp = utf8_next(s, end, &k);
                int idx = -1;
                if (cp < 128 && h->cls[cp] >= 0)
                    idx = h->cls[cp];
                else if (foreign && cp == lottery)
                    idx = NB;
                if (idx < 0 || digit_of[idx] < 0)
                    return 0;           /* not in the alphabet: () */
                uint64_t dgt = (uint64_t)digit_of[idx];
                if (vover || v > (UINT64_MAX - dgt) / nalpha)
                    vover = 1;
                else
                    v = v * nalpha + dgt;
            }
            if (vover)
                overflow = 1;
            else if (count < max && nums)
                nums[count] = v;
            count++;
        }
        first = 0;
        i = end + 1;
    }
    if (overflow || count > max || count > (size_t)INT32_MAX)
        return -1;
    return (int)count;
}

int hashid_parse_id(const struct hashid *h, const char *s, size_t len, int64_t *id)
{
    if (!h || !s || len == 0 || len > HASHID_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)    /* canonical hashes are plain ASCII */
        if ((unsigned char)s[i] >= 128 || h->cls[(unsigned char)s[i]] == CLS_NONE)
            return 0;
    uint64_t v;
    if (hashid_decode(h, s, len, &v, 1) != 1 || v == 0 || v > (uint64_t)INT64_MAX)
        return 0;
    char buf[HASHID_MAX_LEN + 1];
    int n = hashid_encode(h, v, buf, sizeof buf);
    if (n < 0 || (size_t)n != len || memcmp(buf, s, len) != 0)
        return 0;
    if (id)
        *id = (int64_t)v;
    return 1;
}

/* ---- setup ---------------------------------------------------------------- */

struct hashid *hashid_new(const char *salt, unsigned min_length)
{
    if (!salt)
        salt = "";
    size_t saltlen = strlen(salt);
    if (saltlen > HASHID_SALT_MAX || min_length > HASHID_MAX_LEN)
        return NULL;
    struct hashid *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->min_length = min_length;

    ss_init(&h->salt);
    for (size_t i = 0; i < saltlen;)
        ss_push(&h->salt, utf8_next((const unsigned char *)salt, saltlen, &i));

    /* separators at positions prime-1; guards are separators 0, 4, 8 as
     * removed in turn (index 12 is past the end by then) */
    static const unsigned primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43};
    const char *alphabet = DEFAULT_ALPHABET;
    char seps[sizeof primes / sizeof primes[0]], rest[NB];
    size_t nseps = 0, nrest = 0;
    for (size_t j = 0; alphabet[j]; j++) {
        int is_sep = 0;
        for (size_t p = 0; p < sizeof primes / sizeof primes[0]; p++)
            is_sep |= primes[p] - 1 == j;
        if (is_sep)
            seps[nseps++] = alphabet[j];
        else
            rest[nrest++] = alphabet[j];
    }
    size_t ng = 0;
    for (size_t gi = 0; gi < 16; gi += 4) {
        if (gi >= nseps)
            continue;
        h->guards[ng++] = seps[gi];
        nseps--;
        memmove(seps + gi, seps + gi + 1, nseps - gi);
    }
    if (nrest != NB || nseps != NSEP || ng != NGUARD) {
        free(h);
        return NULL;
    }
    memcpy(h->seps, seps, NSEP);

    uint8_t perm[NB];
    reorder_perm(&h->salt, NB, perm);
    for (size_t t = 0; t < NB; t++)
        h->base[t] = rest[perm[t]];

    memset(h->cls, CLS_NONE, sizeof h->cls);
    for (size_t t = 0; t < NB; t++)
        h->cls[(unsigned char)h->base[t]] = (signed char)t;
    for (size_t t = 0; t < NSEP; t++)
        h->cls[(unsigned char)h->seps[t]] = CLS_SEP;
    for (size_t t = 0; t < NGUARD; t++)
        h->cls[(unsigned char)h->guards[t]] = CLS_GUARD;

    for (size_t x = 0; x < NB; x++) {
        struct salt_sum as;
        lottery_salt_sum(h, (unsigned char)h->base[x], NULL, &as);
        reorder_perm(&as, NB, h->perm[x]);
        uint8_t *al = h->alpha1[x];
        al[0] = (uint8_t)x;
        for (size_t j = 0, k = 1; j < NB; j++)
            if (j != x)
                al[k++] = (uint8_t)j;
        apply_perm(al, h->perm[x], NB);
    }
    /* pads need every perm[] in place */
    for (size_t x = 0; x < NB; x++) {
        if (make_pads(h, h->alpha1[x], h->pad[x], h->padlen[x]) < 0) {
            free(h);
            return NULL;
        }
    }
    return h;
}

void hashid_free(struct hashid *h)
{
    free(h);
}
