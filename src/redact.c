/* redact.c -- database passwords out of every text a person sees (redact.h).
 *
 * One pass over the text. At each position either a URL's user information
 * ("://" followed by USER:PASSWORD@) or a "password" key followed by '=' may
 * start; the password's bytes are skipped and "***" written instead. The end
 * of a URL is the first byte that cannot be inside one as people write them
 * in messages (white space, a quote, '>' or ')'); within that, user
 * information ends at the last '@' before any '?', because an unescaped '@' or
 * '/' in a password must not make the rest of it visible. */
#include "redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct out {
    char *p;
    size_t n, len;
};

static void put(struct out *o, const char *s, size_t k)
{
    while (k-- && o->len + 1 < o->n)
        o->p[o->len++] = *s++;
}

static int ends_url(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == '"' || c == '\'' || c == '`' ||
           c == '>' || c == ')';
}

/* At s (just after "://"): the length of USER:PASSWORD before '@', and where
 * the password starts, or 0 when there is no password here. */
static size_t userinfo(const char *s, size_t *colon)
{
    size_t end = 0, at = 0;
    int seen_at = 0;
    for (; !ends_url(s[end]) && s[end] != '?'; end++)
        if (s[end] == '@') {
            at = end;
            seen_at = 1;
        }
    if (!seen_at)
        return 0;
    const char *c = memchr(s, ':', at);
    if (!c)
        return 0;
    *colon = (size_t)(c - s);
    return at;
}

/* At s: "password" (any case), optional blanks, '='. Returns the length up to
 * and including '=' and its following blanks, or 0. */
static size_t password_key(const char *s)
{
    if (strncasecmp(s, "password", 8) != 0)
        return 0;
    size_t i = 8;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (s[i] != '=')
        return 0;
    i++;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    return i;
}

/* The length of a key/value password at s: a quoted value (libpq's '...'
 * with backslash escapes, or "...") or a run up to white space or '&'. */
static size_t password_value(const char *s)
{
    size_t i = 0;
    if (s[0] == '\'' || s[0] == '"') {
        char q = s[0];
        for (i = 1; s[i] && s[i] != q; i++)
            if (s[i] == '\\' && s[i + 1])
                i++;
        return s[i] ? i + 1 : i;
    }
    while (s[i] && !isspace((unsigned char)s[i]) && s[i] != '&' && s[i] != '"')
        i++;
    return i;
}

char *redact(const char *text, char *out, size_t n)
{
    struct out o = {out, n, 0};
    const char *s = text ? text : "";
    /* A key only counts at the start of a word: "mypassword=" is no key. */
    int word_start = 1;
    while (*s) {
        if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
            size_t colon = 0, at = userinfo(s + 3, &colon);
            if (at) {
                put(&o, s, 3 + colon + 1);
                put(&o, REDACTED, strlen(REDACTED));
                s += 3 + at;               /* at the '@' */
                word_start = 0;
                continue;
            }
        }
        size_t k = word_start ? password_key(s) : 0;
        if (k) {
            put(&o, s, k);
            put(&o, REDACTED, strlen(REDACTED));
            s += k + password_value(s + k);
            word_start = 0;
            continue;
        }
        word_start = !(isalnum((unsigned char)*s) || *s == '_');
        put(&o, s, 1);
        s++;
    }
    o.p[o.len] = '\0';
    return out;
}

void redact_inplace(char *text, size_t n)
{
    if (!text || n == 0)
        return;
    char *tmp = malloc(n);
    if (!tmp) {              /* cannot copy: hide everything rather than leak */
        snprintf(text, n, "%s", REDACTED);
        return;
    }
    redact(text, tmp, n);
    memcpy(text, tmp, strlen(tmp) + 1);
    free(tmp);
}
