/* canon.h -- checking JSON text and writing it in one canonical form
 * (migrate's copy and verification, export, import). jansson parses; this
 * module writes (see canon.c for what is jansson's and what is ours).
 *
 * Why a canonical form. The same JSON value comes back from the two backends
 * as different text: SQLite holds what was posted (Python's json.dumps, with
 * ", " separators and \uXXXX escapes), PostgreSQL's jsonb returns its own text
 * (keys reordered, numbers as written in numeric form, escapes decoded). The
 * canonical form makes equal values equal bytes, so migrate can compare rows
 * and `ipborg export` gives the same file from either backend:
 *
 *   - no whitespace; object members sorted by key bytes, a repeated key kept
 *     once with its last value (as jsonb does; jansson does the same);
 *   - strings with only ", \ and control characters escaped (\u00XX, lower
 *     case hex), everything else as UTF-8;
 *   - numbers by value: an integer of up to 18 digits as written (-0 -> 0);
 *     any other number as the double it reads as, printed as an integer when
 *     integral and below 2^63, else in the shortest %.Ng (N = 15..17) that
 *     reads back as the same double. A text holding an integer beyond 64
 *     bits is read with every integer as a double (jansson's
 *     JSON_DECODE_INT_AS_REAL), so there an integer of 16 to 18 digits is
 *     rounded to a double too.
 *
 * Invariant: the canonical form of a canonical text is itself (so export ->
 * import -> export is a fixed point).
 *
 * What "valid" means here: what jansson 2.14 parses -- RFC 8259 syntax, one
 * value with optional whitespace around it, well-formed UTF-8 -- without
 * JSON_ALLOW_NUL, so also what PostgreSQL's jsonb refuses on top of that:
 * \u0000 and surrogate escapes that do not form a pair. Refused too, though
 * jsonb would take them: numbers beyond the range of a double (1e400; jansson
 * cannot read them), and nesting deeper than CANON_MAX_DEPTH (jansson's
 * JSON_PARSER_MAX_DEPTH, the limit posts already have), where every value
 * counts as a level, the innermost too: 2048 nested empty arrays pass, 2048
 * arrays around a number do not. */
#ifndef IPBORG_CANON_H
#define IPBORG_CANON_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

#define CANON_MAX_DEPTH JSON_PARSER_MAX_DEPTH

/* 1 if s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as
 * PostgreSQL's TEXT requires in a UTF-8 database. */
int canon_utf8_valid(const char *s);

/* Parses text (NUL-terminated, one JSON value) with jansson: JSON_DECODE_ANY
 * plus flags (e.g. JSON_REJECT_DUPLICATES), retried with
 * JSON_DECODE_INT_AS_REAL when an integer is beyond 64 bits (then
 * *as_reals, if not NULL, is 1: every integer of the tree is a real; else
 * 0). The tree (the caller json_decref()s it), or NULL with one line in err (STORE_ERRLEN bytes)
 * naming col, e.g. "grid_data is not valid JSON (invalid token near '0' at
 * character 2)", "grid_data holds \u0000 ...", "... holds a lone surrogate
 * escape ...". */
json_t *canon_json_parse(const char *col, const char *text, size_t flags, int *as_reals,
                         char *err);

/* Appends the canonical form of v, a tree from canon_json_parse (so nested at
 * most CANON_MAX_DEPTH deep: the walk recurses). Out of memory: out fails
 * (buf_failed). */
void canon_json_write(struct buf *out, const json_t *v);

/* canon_json_parse, then with out canon_json_write. *is_null (if not NULL):
 * the value is JSON null. 0, or -1 with one line in err naming col. */
int canon_json_scan(const char *col, const char *text, struct buf *out, int *is_null,
                    char *err);

/* Appends the JSON string literal (quotes included) of s, which must be valid
 * UTF-8, in canonical form. */
void canon_string(struct buf *out, const char *s);

/* A time from either backend in one form: "YYYY-MM-DD HH:MM:SS.120000+00:00",
 * "...T...12Z" -> "YYYY-MM-DDTHH:MM:SS.12Z" (T, fraction without trailing
 * zeros, no fraction when zero, Z). malloc'd; NULL for NULL or out of memory. */
char *canon_time(const char *s);

/* 1 if s is "YYYY-MM-DD[T ]HH:MM:SS[.f...][Z|+00:00|+00|]" naming a time that
 * exists: month 1-12, a day of that month (leap years counted), hour 0-23,
 * minute and second 0-59, year 1-9999. What the backends write, and what
 * PostgreSQL's timestamptz reads as UTC; the one check of a time from a file
 * or an old database, so that SQLite refuses what PostgreSQL would. */
int canon_time_valid(const char *s);

#endif
