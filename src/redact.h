/* redact.h -- database passwords out of every text a person sees.
 *
 * Database URLs carry passwords (postgresql://user:PASSWORD@host/db), and
 * libpq's own error texts can repeat the connection string they were given.
 * Every message that may hold a URL, a connection string or a backend's error
 * text passes through redact() before it reaches a terminal, a log, a page or
 * /metrics, so a mistyped URL (postgresq://u:PW@...) is shown as
 * postgresq://u:***@... and never with its password.
 *
 * What is hidden, anywhere in the text and whatever the scheme:
 *   - the password of a URL's user information: SCHEME://USER:PASSWORD@HOST
 *     (up to the last '@' of the URL before its query, so a password holding
 *     '@', '/' or ':' is hidden whole);
 *   - a key/value password, as in libpq connection strings and URL query
 *     parameters: password=VALUE, password = 'VALUE' (case-insensitive).
 * It is a scrubber, not a parser: it errs on the side of hiding. */
#ifndef IPBORG_REDACT_H
#define IPBORG_REDACT_H

#include <stddef.h>

#define REDACTED "***"

/* Copies text into out (n bytes, n >= 1; always NUL-terminated, cut short if
 * it does not fit) with every password replaced by "***". text and out may
 * not overlap. Returns out. */
char *redact(const char *text, char *out, size_t n);

/* redact() in place, for a message buffer of n bytes. */
void redact_inplace(char *text, size_t n);

#endif
