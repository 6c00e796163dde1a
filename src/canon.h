/* canon.h -- checking JSON text and writing it in one canonical form, without
 * building a tree (migrate's copy and verification, export, import).
 *
 * Why a canonical form. The same JSON value comes back from the two backends
 * as different text: SQLite holds what was posted (Python's json.dumps, with
 * ", " separators and \uXXXX escapes), PostgreSQL's jsonb returns its own text
 * (keys reordered, numbers as written in numeric form, escapes decoded). The
 * canonical form makes equal values equal bytes, so migrate can compare rows
 * and `ipborg export` gives the same file from either backend:
 *
 *   - no whitespace; object members sorted by key bytes, a repeated key kept
 *     once with its last value (as jsonb does);
 *   - strings with only ", \ and control characters escaped (\u00XX, lower
 *     case hex), everything else as UTF-8;
 *   - numbers by value: an integer of up to 18 digits as written (-0 -> 0);
 *     any other number through strtod, printed as an integer when integral
 *     and below 2^63, else in the shortest %.Ng (N = 15..17) that reads back
 *     as the same double; overflow (1e400) as 1e999 / -1e999.
 *
 * Invariant: the canonical form of a canonical text is itself (so export ->
 * import -> export is a fixed point).
 *
 * What "valid" means here: RFC 8259 syntax, one value with optional whitespace
 * around it, well-formed UTF-8, and what PostgreSQL's jsonb refuses on top of
 * that: \u0000 and surrogate escapes that do not form a pair. Nesting is
 * limited to CANON_MAX_DEPTH. */
#ifndef IPBORG_CANON_H
#define IPBORG_CANON_H

#include <stddef.h>

#include "buf.h"

#define CANON_MAX_DEPTH 1000

/* 1 if s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as
 * PostgreSQL's TEXT requires in a UTF-8 database. */
int canon_utf8_valid(const char *s);

/* Checks the JSON text of column col; with out, appends its canonical form.
 * *is_null (if not NULL): the value is JSON null. 0, or -1 with one line in
 * err (STORE_ERRLEN bytes) naming col, e.g. "grid_data is not valid JSON
 * (expected ':' at character 12)". */
int canon_json_scan(const char *col, const char *text, struct buf *out, int *is_null,
                    char *err);

/* Appends the JSON string literal (quotes included) of s, which must be valid
 * UTF-8, in canonical form. */
void canon_string(struct buf *out, const char *s);

/* Decodes the JSON string literal json[0..len) (quotes included). malloc'd
 * UTF-8, or NULL with one line in err (not a string, \u0000, bad escape, out
 * of memory). */
char *canon_string_decode(const char *json, size_t len, char *err);

/* Walks the JSON object that is the whole of text (whitespace around it
 * allowed): calls fn once per member with the key decoded (valid UTF-8, no
 * NUL) and the value as the range text[val .. val + val_len) of text, already
 * checked. fn returns 0 to go on, non-zero to stop (then the walk returns -1
 * and err is as fn left it). 0, or -1 with one line in err. */
typedef int (*canon_member_fn)(void *ctx, const char *key, size_t val, size_t val_len,
                               char *err);
int canon_object_walk(const char *text, canon_member_fn fn, void *ctx, char *err);

/* A time from either backend in one form: "YYYY-MM-DD HH:MM:SS.120000+00:00",
 * "...T...12Z" -> "YYYY-MM-DDTHH:MM:SS.12Z" (T, fraction without trailing
 * zeros, no fraction when zero, Z). malloc'd; NULL for NULL or out of memory. */
char *canon_time(const char *s);

#endif
