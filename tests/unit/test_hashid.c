/* test_hashid.c -- the hashids codec against the reference's own outputs.
 *
 * vectors/hashids.tsv: every row must encode to the listed hash, and decode and
 * parse back to its id. vectors/hashids_decode.tsv: decode must give the listed
 * numbers (or -1 when one does not fit in 64 bits, 0 when the reference gives
 * ()), and parse_id must accept exactly the canonical single ids 1..2^63-1.
 * Then properties the vectors cannot show: random garbage never crashes nor is
 * accepted unless canonical, tuples round-trip, small buffers are refused. */
#include "unit.h"

#include "hashid.h"

#include <inttypes.h>

/* A codec for (salt, min_length), kept while consecutive rows share them. */
struct codec_cache {
    char salt[256];
    unsigned min_length;
    struct hashid *h;
};

static struct hashid *cached_codec(struct codec_cache *c, const char *salt, unsigned min_length)
{
    if (c->h && c->min_length == min_length && strcmp(c->salt, salt) == 0)
        return c->h;
    hashid_free(c->h);
    assert_true(strlen(salt) < sizeof c->salt);
    strcpy(c->salt, salt);
    c->min_length = min_length;
    c->h = hashid_new(salt, min_length);
    assert_non_null(c->h);
    return c->h;
}

/* Splits line (modified in place) on TABs into at most max fields. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
    size_t n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    }
    return n;
}

/* Next line of *cursor (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cursor)
{
    char *line = *cursor;
    if (!*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = line + strlen(line);
    }
    return line;
}

/* Decimal -> uint64; 0 if it is 2^64 or more. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    assert_true(len > 0);
    for (size_t i = 0; i < len; i++) {
        assert_true(s[i] >= '0' && s[i] <= '9');
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static void test_service_salts(void **state)
{
    (void)state;
    struct hashid *pub = hashid_new("public", 6), *sec = hashid_new("secret", 6);
    assert_non_null(pub);
    assert_non_null(sec);
    char buf[HASHID_MAX_LEN + 1];
    assert_int_equal(hashid_encode(pub, 1, buf, sizeof buf), 6);
    assert_string_equal(buf, "bizkiL");
    assert_int_equal(hashid_encode(sec, 1, buf, sizeof buf), 6);
    assert_string_equal(buf, "MiXoi4");
    int64_t id = 0;
    assert_int_equal(hashid_parse_id(pub, "bizkiL", 6, &id), 1);
    assert_int_equal(id, 1);
    assert_int_equal(hashid_parse_id(sec, "MiXoi4", 6, &id), 1);
    assert_int_equal(id, 1);
    /* aliases the reference decoder accepts */
    const char *aliases[] = {"bizkiLL", "xbizkiL", "bizki", "izkiL", "bizkil", "bizkiL/", ""};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        assert_int_equal(hashid_parse_id(pub, aliases[i], strlen(aliases[i]), &id), 0);
    assert_int_equal(hashid_parse_id(sec, "bizkiL", 6, &id), 0);
    hashid_free(pub);
    hashid_free(sec);
}

static void test_encode_vectors(void **state)
{
    (void)state;
    char *data = read_vector("hashids.tsv", NULL);
    char *cur = data, *line;
    struct codec_cache cache = {{0}, 0, NULL};
    size_t rows = 0;
    assert_non_null(next_line(&cur));                 /* header */
    while ((line = next_line(&cur))) {
        char *f[4];
        assert_int_equal(split_tabs(line, f, 4), 4);
        uint64_t id;
        assert_true(parse_u64(f[2], strlen(f[2]), &id));
        struct hashid *h = cached_codec(&cache, f[0], (unsigned)atoi(f[1]));
        char buf[HASHID_MAX_LEN + 1];
        int n = hashid_encode(h, id, buf, sizeof buf);
        if (n < 0 || strcmp(buf, f[3]) != 0)
            fail_msg("salt '%s' min_length %s id %s: got '%s', want '%s'", f[0], f[1], f[2],
                     n < 0 ? "(error)" : buf, f[3]);
        uint64_t back[2];
        assert_int_equal(hashid_decode(h, f[3], strlen(f[3]), back, 2), 1);
        assert_true(back[0] == id);
        int64_t pid = -1;
        assert_int_equal(hashid_parse_id(h, f[3], strlen(f[3]), &pid), id >= 1);
        if (id >= 1)
            assert_true((uint64_t)pid == id);
        rows++;
    }
    hashid_free(cache.h);
    free(data);
    assert_int_equal(rows, 9344);
    print_message("hashids.tsv: %zu rows checked (encode, decode, parse_id)\n", rows);
}

static void test_decode_vectors(void **state)
{
    (void)state;
    char *data = read_vector("hashids_decode.tsv", NULL);
    char *cur = data, *line;
    struct codec_cache cache = {{0}, 0, NULL};
    size_t rows = 0, compared = 0, too_big = 0, empty = 0, accepted = 0;
    assert_non_null(next_line(&cur));
    while ((line = next_line(&cur))) {
        char *f[5];
        assert_int_equal(split_tabs(line, f, 5), 5);
        struct hashid *h = cached_codec(&cache, f[0], (unsigned)atoi(f[1]));
        const char *input = f[2], *decoded = f[3];
        int canonical = atoi(f[4]);

        uint64_t want[64];
        size_t nwant = 0;
        int fits = 1;
        for (const char *p = decoded; *p;) {
            size_t l = strcspn(p, ",");
            assert_true(nwant < 64);
            if (!parse_u64(p, l, &want[nwant]))
                fits = 0;
            nwant++;
            p += l;
            if (*p == ',')
                p++;
        }

        uint64_t got[64];
        int n = hashid_decode(h, input, strlen(input), got, 64);
        if (!fits) {
            if (n != -1)
                fail_msg("salt '%s'/%s input '%s': want -1 (>= 2^64), got %d", f[0], f[1],
                         input, n);
            too_big++;
        } else {
            if (n != (int)nwant)
                fail_msg("salt '%s'/%s input '%s': want %zu numbers (%s), got %d", f[0],
                         f[1], input, nwant, decoded, n);
            for (size_t i = 0; i < nwant; i++)
                if (got[i] != want[i])
                    fail_msg("salt '%s'/%s input '%s': number %zu is %" PRIu64 ", want %" PRIu64,
                             f[0], f[1], input, i, got[i], want[i]);
            if (nwant == 0)
                empty++;
            compared++;
        }

        int expect = canonical && fits && nwant == 1 && want[0] >= 1 &&
                     want[0] <= (uint64_t)INT64_MAX;
        int64_t id = -1;
        int ok = hashid_parse_id(h, input, strlen(input), &id);
        if (ok != expect)
            fail_msg("salt '%s'/%s input '%s': parse_id %d, want %d", f[0], f[1], input, ok,
                     expect);
        if (ok) {
            assert_true((uint64_t)id == want[0]);
            accepted++;
        }
        rows++;
    }
    hashid_free(cache.h);
    free(data);
    assert_int_equal(rows, 2428);
    print_message("hashids_decode.tsv: %zu rows checked (%zu compared, %zu of them (), "
                  "%zu >= 2^64 -> -1, %zu accepted by parse_id)\n",
                  rows, compared, empty, too_big, accepted);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;              /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Du;
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *salts[] = {"public", "", "this is my salt"};
    static const unsigned mins[] = {6, 0, 20};
    static const char near[] = "xcS4F6h89aUbideAI7tkynuopqrXCgTE5GBKHLMjfRsz0Z-\xc3\xa9\xff";
    size_t tries = 0, accepted = 0;
    for (size_t c = 0; c < 3; c++) {
        struct hashid *h = hashid_new(salts[c], mins[c]);
        assert_non_null(h);
        for (int k = 0; k < 20000; k++) {
            size_t len = k % 10 == 0 ? (size_t)(rnd() % 1100) : (size_t)(rnd() % 24);
            char *s = malloc(len ? len : 1);  /* exactly len: ASan sees over-reads */
            assert_non_null(s);
            int mode = (int)(rnd() % 3);
            for (size_t i = 0; i < len; i++) {
                if (mode == 0)
                    s[i] = (char)(rnd() & 0xFF);
                else
                    s[i] = near[rnd() % (sizeof near - 1 - (mode == 2 ? 0 : 6))];
            }
            uint64_t nums[3];
            int n = hashid_decode(h, s, len, nums, 3);
            assert_true(n >= -1 && n <= 3);
            int64_t id;
            if (hashid_parse_id(h, s, len, &id)) {
                char buf[HASHID_MAX_LEN + 1];
                assert_true(id >= 1);
                assert_int_equal(hashid_encode(h, (uint64_t)id, buf, sizeof buf), (int)len);
                assert_memory_equal(buf, s, len);
                accepted++;
            }
            free(s);
            tries++;
        }
        hashid_free(h);
    }
    print_message("garbage: %zu random inputs decoded without fault, %zu canonical\n", tries,
                  accepted);
}

static void test_roundtrip_tuples(void **state)
{
    (void)state;
    static const char *salts[] = {"public", "secret", "", " ", "pepper & salt!", "\xc3\xa9t\xc3\xa9"};
    size_t checked = 0;
    for (size_t c = 0; c < sizeof salts / sizeof salts[0]; c++) {
        for (unsigned min = 0; min <= HASHID_MAX_LEN; min += 16) {
            struct hashid *h = hashid_new(salts[c], min);
            assert_non_null(h);
            for (int k = 0; k < 300; k++) {
                uint64_t v[9], back[9];
                size_t count = 1 + (size_t)(rnd() % 9);
                for (size_t i = 0; i < count; i++) {
                    int shift = (int)(rnd() % 64);
                    v[i] = rnd() >> shift;
                    if (rnd() % 16 == 0)
                        v[i] = UINT64_MAX;
                }
                char buf[256];
                int n = hashid_encode_many(h, v, count, buf, sizeof buf);
                assert_true(n >= (int)min && n < (int)sizeof buf);
                assert_int_equal((int)strlen(buf), n);
                assert_int_equal(hashid_decode(h, buf, (size_t)n, back, 9), (int)count);
                assert_memory_equal(back, v, count * sizeof v[0]);
                /* the buffer must hold the NUL too */
                char small[256];
                assert_int_equal(hashid_encode_many(h, v, count, small, (size_t)n), -1);
                assert_int_equal(hashid_encode_many(h, v, count, small, (size_t)n + 1), n);
                if (count > 1)
                    assert_int_equal(hashid_decode(h, buf, (size_t)n, back, count - 1), -1);
                int64_t id;
                assert_int_equal(hashid_parse_id(h, buf, (size_t)n, &id),
                                 count == 1 && v[0] >= 1 && v[0] <= (uint64_t)INT64_MAX);
                checked++;
            }
            hashid_free(h);
        }
    }
    print_message("tuples: %zu random tuples round-tripped\n", checked);
}

static void test_limits(void **state)
{
    (void)state;
    assert_null(hashid_new("public", HASHID_MAX_LEN + 1));
    struct hashid *h = hashid_new("public", HASHID_MAX_LEN);
    assert_non_null(h);
    char buf[HASHID_MAX_LEN + 1];
    assert_int_equal(hashid_encode(h, UINT64_MAX, buf, sizeof buf), HASHID_MAX_LEN);
    assert_int_equal(hashid_encode(h, 1, buf, HASHID_MAX_LEN), -1);
    uint64_t v;
    assert_int_equal(hashid_decode(h, buf, HASHID_MAX_LEN, &v, 1), 1);
    assert_true(v == UINT64_MAX);
    int64_t id;
    assert_int_equal(hashid_parse_id(h, buf, HASHID_MAX_LEN, &id), 0);  /* > INT64_MAX */
    assert_int_equal(hashid_encode(h, (uint64_t)INT64_MAX, buf, sizeof buf), HASHID_MAX_LEN);
    assert_int_equal(hashid_parse_id(h, buf, HASHID_MAX_LEN, &id), 1);
    assert_true(id == INT64_MAX);
    assert_int_equal(hashid_encode_many(h, &v, 0, buf, sizeof buf), -1);
    assert_int_equal(hashid_decode(h, "", 0, &v, 1), 0);
    hashid_free(h);

    /* the largest digit strings: 64 bits pass, one more digit overflows */
    h = hashid_new("", 0);
    assert_non_null(h);
    assert_int_equal(hashid_encode(h, UINT64_MAX, buf, sizeof buf), 15);
    char longer[17];
    memcpy(longer, buf, 15);
    longer[15] = buf[14];
    longer[16] = '\0';
    assert_int_equal(hashid_decode(h, longer, 16, &v, 1), -1);
    char big[1000];
    memset(big, 'z', sizeof big);
    assert_true(hashid_decode(h, big, sizeof big, &v, 1) >= -1);
    assert_int_equal(hashid_parse_id(h, big, sizeof big, &id), 0);

    /* a long salt still gives a working codec */
    char *salt = malloc(100001);
    assert_non_null(salt);
    for (size_t i = 0; i < 100000; i++)
        salt[i] = (char)(' ' + (rnd() % 95));
    salt[100000] = '\0';
    hashid_free(h);
    h = hashid_new(salt, 10);
    assert_non_null(h);
    int n = hashid_encode(h, 123456789, buf, sizeof buf);
    assert_true(n >= 10);
    assert_int_equal(hashid_parse_id(h, buf, (size_t)n, &id), 1);
    assert_true(id == 123456789);
    hashid_free(h);
    free(salt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_salts),
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_roundtrip_tuples),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
