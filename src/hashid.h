/* hashid.h -- the hashids 0.3.x codec (Python package hashids 0.8.4), which
 * turns grid ids into the short strings in URLs and back.
 *
 * A codec is built once per (salt, min_length) and is then read-only, so worker
 * threads share it without locks. Ids are unsigned 64-bit numbers; arithmetic is
 * checked, so a hash that would decode to 2^64 or more is rejected, never
 * wrapped. The reference decoder is lenient (it accepts many aliases of one id,
 * see tests/vectors/README.md); hashid_parse_id is the strict check the service uses:
 * a path segment names a grid only if it is the canonical encoding of one id. */
#ifndef IPBORG_HASHID_H
#define IPBORG_HASHID_H

#include <stddef.h>
#include <stdint.h>

#define HASHID_MAX_LEN 64   /* longest encoding of one 64-bit id at min_length <= 32 */
#define HASHID_MIN_LENGTH 6 /* ipborg's hash IDs, as the original service made them */

struct hashid;

/* salt: any bytes up to a NUL (spaces significant), read as UTF-8 the way Python
 * would hold it. NULL on out of memory, a salt over 1 MiB, or min_length over
 * HASHID_MAX_LEN. The codec owns no caller memory; free it with hashid_free. */
struct hashid *hashid_new(const char *salt, unsigned min_length);
void hashid_free(struct hashid *h);

/* Encodes numbers[0..count) (count >= 1). Writes a NUL-terminated string to out
 * (outlen bytes); returns its length, or -1 if it does not fit (or count is 0
 * or over 2^20). */
int hashid_encode_many(const struct hashid *h, const uint64_t *numbers, size_t count,
                       char *out, size_t outlen);
int hashid_encode(const struct hashid *h, uint64_t id, char *out, size_t outlen);

/* Decodes s[0..len) as the reference decrypt() does. Returns the count of numbers
 * (stored in nums[0..max) ), 0 when the reference returns (), or -1 when a
 * number would not fit in 64 bits or there are more than max. Never crashes. */
int hashid_decode(const struct hashid *h, const char *s, size_t len, uint64_t *nums,
                  size_t max);

/* 1 and *id if s[0..len) is the canonical encoding of one id in 1..INT64_MAX,
 * else 0. */
int hashid_parse_id(const struct hashid *h, const char *s, size_t len, int64_t *id);

#endif
