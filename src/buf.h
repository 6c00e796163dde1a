/* buf.h -- a growable byte buffer, the one way ipborg builds text.
 *
 * Pages, JSON answers and error messages are all built by appending to a
 * struct buf. The buffer always keeps a NUL after its last byte (when data is
 * not NULL), so data can be used as a C string when the content has no NUL.
 *
 * Out of memory: the buffer remembers it (oom = 1) and ignores further appends;
 * callers check once at the end with buf_failed() instead of after every call.
 *
 * Ownership: the buffer owns data. buf_free() releases it; buf_steal() hands it
 * to the caller (who then free()s it) and leaves the buffer empty. */
#ifndef IPBORG_BUF_H
#define IPBORG_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    int oom;
};

#define BUF_INIT {0, 0, 0, 0}

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s[0..len) with & < > " ' written as &amp; &lt; &gt; &quot; &#39;. */
void buf_html_escape(struct buf *b, const char *s, size_t len);
int buf_failed(const struct buf *b);
/* Makes room for at least extra more bytes; 0 on success. */
int buf_reserve(struct buf *b, size_t extra);
void buf_reset(struct buf *b);          /* len = 0, keeps the memory */
char *buf_steal(struct buf *b);         /* caller frees; NULL if empty or failed */
void buf_free(struct buf *b);

#endif
