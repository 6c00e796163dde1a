/* fuzz_highlight.c -- code cells -> highlighted HTML: highlight_python.
 *
 * Input: a code cell (any bytes: invalid UTF-8, NUL, unterminated strings).
 * Properties: no crash, and time linear in the input (a quadratic path shows
 * up as a libFuzzer timeout or slow unit); the markup is the fixed wrapper
 * around spans only -- every '<' opens or closes a span, except the wrapper's
 * own tags, so no input byte reaches the page as markup; and for plain ASCII
 * input (printable, tabs, LF) the text of the markup, tags removed and
 * entities decoded, is the input with leading and trailing newlines stripped
 * plus one LF: nothing lost, nothing added. Seeds: the .py files of vectors/highlight. */
#include "fuzz.h"
#include "buf.h"
#include "highlight.h"

static const char HEAD[] = "<div class=\"ipb-code\"><pre><span></span>";
static const char TAIL[] = "</pre></div>\n";

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Removes the spans and decodes the five entities of buf_html_escape into
 * text (room for len + 1 bytes); returns its length, or (size_t)-1 when the
 * markup holds anything else. */
static size_t strip(const char *m, size_t len, char *text)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        const char *p = m + i;
        if (*p == '<') {
            if (starts(p, "<span class=\"")) {
                const char *q = strchr(p + 13, '"');
                if (!q || q[1] != '>' || q == p + 13)
                    return (size_t)-1;
                for (const char *c = p + 13; c < q; c++)
                    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == ' '))
                        return (size_t)-1;
                i = (size_t)(q + 2 - m);
            } else if (starts(p, "</span>")) {
                i += 7;
            } else {
                return (size_t)-1;
            }
        } else if (*p == '&') {
            static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
            static const char chr[] = "&<>\"'";
            size_t k = 0;
            while (k < 5 && !starts(p, ent[k]))
                k++;
            if (k == 5)
                return (size_t)-1;
            text[o++] = chr[k];
            i += strlen(ent[k]);
        } else if (*p == '>' || *p == '"' || *p == '\'') {
            return (size_t)-1;   /* should have been escaped */
        } else {
            text[o++] = *p;
            i++;
        }
    }
    text[o] = '\0';
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *code = (const char *)data;
    struct buf out = BUF_INIT;
    highlight_python(&out, code, size);
    FUZZ_CHECK(!buf_failed(&out));
    size_t hl = strlen(HEAD), tl = strlen(TAIL);
    FUZZ_CHECK(out.len >= hl + tl && memcmp(out.data, HEAD, hl) == 0 &&
               memcmp(out.data + out.len - tl, TAIL, tl) == 0);
    FUZZ_CHECK(!memchr(out.data, '\0', out.len));

    size_t body = out.len - hl - tl;
    char *text = malloc(body + 1);
    FUZZ_CHECK(text);
    size_t n = strip(out.data + hl, body, text);
    FUZZ_CHECK(n != (size_t)-1);
    FUZZ_CHECK(n >= 1 && text[n - 1] == '\n');

    int plain = 1;
    for (size_t i = 0; i < size && plain; i++)
        plain = (data[i] >= 0x20 && data[i] < 0x7f) || data[i] == '\t' || data[i] == '\n';
    if (plain) {
        size_t a = 0, b = size;
        while (a < b && code[a] == '\n')
            a++;
        while (b > a && code[b - 1] == '\n')
            b--;
        FUZZ_CHECK(n == b - a + 1 && memcmp(text, code + a, b - a) == 0);
    }
    free(text);
    buf_free(&out);
    return 0;
}
