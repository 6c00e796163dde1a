/* highlight.h -- Python source -> highlighted HTML, as Pygments' PythonLexer and
 * HtmlFormatter(cssclass='ipb-code') produce it (tests/vectors/highlight/).
 *
 * Any byte sequence is safe: invalid UTF-8, NUL bytes, unterminated strings.
 * Output is always escaped; time is linear in the input. */
#ifndef IPBORG_HIGHLIGHT_H
#define IPBORG_HIGHLIGHT_H

#include <stddef.h>
#include "buf.h"

/* Appends '<div class="ipb-code"><pre><span></span>...</pre></div>\n'. */
void highlight_python(struct buf *out, const char *code, size_t len);

#endif
