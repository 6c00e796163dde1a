/* fuzz.h -- what the libFuzzer targets in fuzz/ share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput for one parser of untrusted
 * input; `make fuzz` (scripts/fuzz.sh) runs them from seed corpora built out
 * of tests/vectors by scripts/fuzz-corpus.sh. A finding is a sanitizer
 * report (ASan, UBSan, LSan), a libFuzzer timeout or out-of-memory, or a
 * FUZZ_CHECK that fails: the targets also assert properties of the output, so
 * that wrong answers are found, not just crashes. FUZZ_CHECK aborts with the
 * failed condition, which libFuzzer reports as a crash and saves the input. */
#ifndef IPBORG_FUZZ_H
#define IPBORG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                       \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* An error message the service shows: NUL-terminated within its buffer, not
 * empty, one line. */
static inline int fuzz_one_line(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    return n > 0 && n < errlen && !memchr(err, '\n', n);
}

#endif
