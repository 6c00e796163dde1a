/* fuzz_hashid.c -- hash IDs from URLs: hashid_decode and hashid_parse_id with
 * the service's settings (salts "public" and "secret", min_length 6).
 *
 * Input: a path segment (any bytes), decoded with both codecs. Properties:
 * nothing crashes and a 64-bit overflow is refused, not wrapped; parse_id
 * accepts exactly the canonical encodings of one id in 1..2^63-1 (it agrees
 * with decode followed by encode); and the first 8 bytes read as an id
 * round-trip through encode, decode and parse_id. Seeds: the hash and input
 * columns of vectors/hashids.tsv and hashids_decode.tsv. */
#include "fuzz.h"
#include "hashid.h"

static struct hashid *codecs[2];

static void check_one(const struct hashid *h, const char *s, size_t len)
{
    uint64_t nums[8];
    int n = hashid_decode(h, s, len, nums, 8);
    FUZZ_CHECK(n >= -1 && n <= 8);

    int64_t id = 0;
    int canonical = hashid_parse_id(h, s, len, &id);
    FUZZ_CHECK(canonical == 0 || canonical == 1);
    int expect = 0;
    if (n == 1 && nums[0] >= 1 && nums[0] <= (uint64_t)INT64_MAX) {
        char enc[HASHID_MAX_LEN + 1];
        int m = hashid_encode(h, nums[0], enc, sizeof enc);
        FUZZ_CHECK(m >= 6);
        expect = (size_t)m == len && memcmp(enc, s, len) == 0;
    }
    FUZZ_CHECK(canonical == expect);
    if (canonical)
        FUZZ_CHECK(id > 0 && (uint64_t)id == nums[0]);
}

static void roundtrip(const struct hashid *h, uint64_t v)
{
    char enc[HASHID_MAX_LEN + 1];
    int m = hashid_encode(h, v, enc, sizeof enc);
    FUZZ_CHECK(m >= 6 && (size_t)m == strlen(enc));
    uint64_t back[2];
    FUZZ_CHECK(hashid_decode(h, enc, (size_t)m, back, 2) == 1 && back[0] == v);
    int64_t id = 0;
    int ok = hashid_parse_id(h, enc, (size_t)m, &id);
    if (v >= 1 && v <= (uint64_t)INT64_MAX)
        FUZZ_CHECK(ok == 1 && (uint64_t)id == v);
    else
        FUZZ_CHECK(ok == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!codecs[0]) {
        codecs[0] = hashid_new("public", 6);
        codecs[1] = hashid_new("secret", 6);
        FUZZ_CHECK(codecs[0] && codecs[1]);
    }
    uint64_t v = 0;
    memcpy(&v, data, size < sizeof v ? size : sizeof v);
    for (int i = 0; i < 2; i++) {
        check_one(codecs[i], (const char *)data, size);
        roundtrip(codecs[i], v);
    }
    return 0;
}
