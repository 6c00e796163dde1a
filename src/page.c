/* page.c -- the HTML pages around the grid.
 *
 * Every page goes through one layout: page_open() writes the doctype, the
 * head (charset, viewport, title, stylesheet, favicon, optional robots and
 * canonical) and the site header with its navigation (Home, Gallery, About,
 * Random); page_close() writes the footer. Between the two, each page appends
 * its own <main> content. The one exception is the embed (page_embed): the
 * grid alone, for a frame on another site. Pages are built per request, so
 * the static parts are string literals appended with their known length
 * (LIT), never formatted.
 *
 * Invariants:
 * - Every byte that did not come from a literal in this file goes through
 *   buf_html_escape(), with one deliberate exception: grid_html, which is the
 *   grid renderer's own markup and is inserted as it is.
 * - No page contains a script, an event handler or anything loaded from another
 *   host: the stylesheet and favicon are /static/ paths on this server, and the
 *   only absolute URLs written are built from base_url (the canonical and
 *   oEmbed links, the address to copy, the embed snippet, the client's
 *   settings), all of this server.
 * - Grid data is never trusted to be well-formed: code_cells and python_version
 *   are JSON text from the store (old rows included) and anything that does not
 *   parse as expected is shown as escaped text rather than rejected.
 *
 * Memory: every function appends to the caller's buffer; out-of-memory is
 * recorded in the buffer (buf_failed) and nothing here allocates otherwise,
 * except jansson's temporary trees, which are freed before returning. */
#include "page.h"

#include "embed.h"
#include "grid.h"
#include "highlight.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SITE_NAME "ipborg"

/* Appends a string literal without measuring it at run time. */
#define LIT(out, s) buf_append((out), "" s, sizeof(s) - 1)

enum nav_item { NAV_NONE, NAV_HOME, NAV_ABOUT, NAV_GALLERY };

struct layout {
    const char *title;          /* plain text; escaped on output */
    enum nav_item current;      /* marked aria-current in the navigation */
    bool noindex;               /* ask search engines not to index the page */
    /* Canonical link: base + path + hash, each escaped; omitted if base or
     * hash is NULL. */
    const char *canonical_base;
    const char *canonical_path;
    const char *canonical_hash;
    /* Link preview (Open Graph, Twitter card) of a grid page: the image is
     * canonical URL + ".png"; omitted when image_width is 0. */
    unsigned image_width, image_height;
    /* Announce the oEmbed answer for the canonical URL (grid pages). */
    bool oembed;
};

static void oembed_link(struct buf *out, const struct layout *l);

static void put_escaped(struct buf *out, const char *s)
{
    if (s)
        buf_html_escape(out, s, strlen(s));
}

static void nav_link(struct buf *out, const char *href, const char *label,
                     bool current)
{
    LIT(out, "<li><a href=\"");
    buf_puts(out, href);
    if (current)
        LIT(out, "\" aria-current=\"page\">");
    else
        LIT(out, "\">");
    buf_puts(out, label);
    LIT(out, "</a></li>");
}

static void page_open(struct buf *out, const struct layout *l)
{
    LIT(out,
        "<!doctype html>\n"
        "<html lang=\"en\">\n"
        "<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>");
    put_escaped(out, l->title);
    LIT(out, " \xC2\xB7 " SITE_NAME "</title>\n");
    if (l->noindex)
        LIT(out, "<meta name=\"robots\" content=\"noindex\">\n");
    if (l->canonical_base && l->canonical_hash) {
        LIT(out, "<link rel=\"canonical\" href=\"");
        put_escaped(out, l->canonical_base);
        put_escaped(out, l->canonical_path);
        put_escaped(out, l->canonical_hash);
        LIT(out, "\">\n");
        if (l->image_width) {
            char dims[96];
            LIT(out, "<meta property=\"og:type\" content=\"website\">\n"
                     "<meta property=\"og:site_name\" content=\"" SITE_NAME "\">\n"
                     "<meta property=\"og:title\" content=\"");
            put_escaped(out, l->title);
            LIT(out, "\">\n<meta property=\"og:url\" content=\"");
            put_escaped(out, l->canonical_base);
            put_escaped(out, l->canonical_path);
            put_escaped(out, l->canonical_hash);
            LIT(out, "\">\n<meta property=\"og:image\" content=\"");
            put_escaped(out, l->canonical_base);
            put_escaped(out, l->canonical_path);
            put_escaped(out, l->canonical_hash);
            LIT(out, ".png\">\n<meta property=\"og:image:type\" content=\"image/png\">\n");
            snprintf(dims, sizeof dims,
                     "<meta property=\"og:image:width\" content=\"%u\">\n"
                     "<meta property=\"og:image:height\" content=\"%u\">\n",
                     l->image_width, l->image_height);
            buf_puts(out, dims);
            LIT(out, "<meta name=\"twitter:card\" content=\"summary_large_image\">\n"
                     "<meta name=\"twitter:title\" content=\"");
            put_escaped(out, l->title);
            LIT(out, "\">\n<meta name=\"twitter:image\" content=\"");
            put_escaped(out, l->canonical_base);
            put_escaped(out, l->canonical_path);
            put_escaped(out, l->canonical_hash);
            LIT(out, ".png\">\n");
        }
        if (l->oembed)
            oembed_link(out, l);
    }
    LIT(out,
        "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
        "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n"
        "</head>\n"
        "<body>\n"
        "<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
        "<header class=\"site\">\n"
        "<div class=\"wrap\">\n"
        "<a class=\"brand\" href=\"/\"><img src=\"/static/favicon.svg\" alt=\"\" "
        "width=\"28\" height=\"28\"> " SITE_NAME "</a>\n"
        "<nav aria-label=\"Main\"><ul>");
    nav_link(out, "/", "Home", l->current == NAV_HOME);
    nav_link(out, "/gallery", "Gallery", l->current == NAV_GALLERY);
    nav_link(out, "/about", "About", l->current == NAV_ABOUT);
    nav_link(out, "/random", "Random", false);
    LIT(out,
        "</ul></nav>\n"
        "</div>\n"
        "</header>\n"
        "<main id=\"main\" class=\"wrap\">\n");
}

static void page_close(struct buf *out)
{
    LIT(out,
        "</main>\n"
        "<footer class=\"site\">\n"
        "<div class=\"wrap\">\n"
        "<p>" SITE_NAME " shares grids coloured with the ipythonblocks library "
        "for Python. <a href=\"/about\">About this site</a> \xC2\xB7 "
        "<a href=\"/random\">See a random grid</a></p>\n"
        "<p class=\"fine\">No scripts, no cookies, nothing loaded from other "
        "sites.</p>\n"
        "</div>\n"
        "</footer>\n"
        "</body>\n"
        "</html>\n");
}

/* ---- the grid page ---------------------------------------------------- */

/* One code cell as highlighted Python source: <div class="ipb-code"><pre>
 * with a span per token, escaped (highlight.c). */
static void page_code_cell(struct buf *out, const char *code, size_t len)
{
    highlight_python(out, code, len);
}

/* A cell that is not a string (old rows hold anything): its JSON text, escaped,
 * never passed to the highlighter. */
static void page_raw_cell(struct buf *out, const char *text, size_t len)
{
    LIT(out, "<div class=\"ipb-code ipb-raw\"><pre>");
    buf_html_escape(out, text, len);
    LIT(out, "</pre></div>\n");
}

static void raw_json_cell(struct buf *out, const json_t *value)
{
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text) {
        page_raw_cell(out, text, strlen(text));
        free(text);
    } else {
        out->oom = 1;
    }
}

static void code_section_open(struct buf *out)
{
    LIT(out,
        "<section class=\"code\" aria-labelledby=\"code-heading\">\n"
        "<h2 id=\"code-heading\">Code</h2>\n");
}

/* True if s is NULL or the JSON text "null" (with optional whitespace). */
static bool json_text_is_null(const char *s)
{
    if (!s)
        return true;
    s += strspn(s, " \t\r\n");
    if (strncmp(s, "null", 4) != 0)
        return false;
    s += 4;
    s += strspn(s, " \t\r\n");
    return *s == '\0';
}

/* The code cells: nothing for none (NULL, "null", []), one block per cell
 * otherwise. Text that is not a JSON array is shown whole, escaped. */
static void grid_code_cells(struct buf *out, const char *code_cells)
{
    if (json_text_is_null(code_cells))
        return;
    json_error_t err;
    json_t *cells = json_loads(code_cells, JSON_DECODE_ANY, &err);
    if (!cells) {
        code_section_open(out);
        page_raw_cell(out, code_cells, strlen(code_cells));
        LIT(out, "</section>\n");
        return;
    }
    if (json_is_array(cells) && json_array_size(cells) == 0) {
        json_decref(cells);
        return;
    }
    code_section_open(out);
    if (json_is_array(cells)) {
        size_t i;
        json_t *cell;
        json_array_foreach(cells, i, cell) {
            if (json_is_string(cell))
                page_code_cell(out, json_string_value(cell),
                               json_string_length(cell));
            else
                raw_json_cell(out, cell);
        }
    } else if (json_is_string(cells)) {
        page_code_cell(out, json_string_value(cells), json_string_length(cells));
    } else {
        raw_json_cell(out, cells);
    }
    LIT(out, "</section>\n");
    json_decref(cells);
}

/* Python's sys.version_info as JSON, [3, 11, 7, "final", 0], written the way
 * Python numbers its releases: "3.11.7", or "3.13.0rc1" for a pre-release.
 * Returns false (writing nothing) if the value does not have that shape. */
static bool put_python_version(struct buf *out, const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) < 3)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (!json_is_integer(json_array_get(v, i)))
            return false;
    buf_printf(out, "%lld.%lld.%lld",
               (long long)json_integer_value(json_array_get(v, 0)),
               (long long)json_integer_value(json_array_get(v, 1)),
               (long long)json_integer_value(json_array_get(v, 2)));
    const json_t *level = json_array_get(v, 3);
    const json_t *serial = json_array_get(v, 4);
    if (!json_is_string(level) || !json_is_integer(serial))
        return true;
    static const char *const abbrev[][2] = {
        {"alpha", "a"}, {"beta", "b"}, {"candidate", "rc"},
    };
    for (size_t i = 0; i < sizeof abbrev / sizeof abbrev[0]; i++) {
        if (strcmp(json_string_value(level), abbrev[i][0]) == 0) {
            buf_printf(out, "%s%lld", abbrev[i][1],
                       (long long)json_integer_value(serial));
            break;
        }
    }
    return true;
}

static void grid_python_version(struct buf *out, const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    bool shown = v && put_python_version(out, v);
    json_decref(v);
    if (!shown)
        put_escaped(out, text);
}

/* created_at is UTC ISO 8601 ("2024-03-05T14:07:12Z" or with a space and an
 * offset, as databases print it). The page shows the date and the minute; the
 * full value goes in the datetime attribute. Anything else is shown as is. */
static void grid_created_at(struct buf *out, const char *when)
{
    size_t n = strlen(when);
    bool iso = n >= 16 && when[4] == '-' && when[7] == '-' &&
               (when[10] == 'T' || when[10] == ' ') && when[13] == ':';
    LIT(out, "<time datetime=\"");
    put_escaped(out, when);
    LIT(out, "\">");
    if (iso) {
        buf_html_escape(out, when, 10);
        LIT(out, " ");
        buf_html_escape(out, when + 11, 5);
        LIT(out, " UTC");
    } else {
        put_escaped(out, when);
    }
    LIT(out, "</time>");
}

static void grid_metadata(struct buf *out, const struct page_grid *g)
{
    LIT(out,
        "<section class=\"meta\" aria-labelledby=\"meta-heading\">\n"
        "<h2 id=\"meta-heading\">About this grid</h2>\n"
        "<dl>\n");
    if (g->created_at) {
        LIT(out, "<dt>Posted</dt><dd>");
        grid_created_at(out, g->created_at);
        LIT(out, "</dd>\n");
    }
    if (g->ipb_class) {
        LIT(out, "<dt>Made with</dt><dd><code>");
        put_escaped(out, g->ipb_class);
        LIT(out, "</code></dd>\n");
    }
    if (g->ipb_version) {
        LIT(out, "<dt>ipythonblocks</dt><dd>");
        put_escaped(out, g->ipb_version);
        LIT(out, "</dd>\n");
    }
    if (g->python_version) {
        LIT(out, "<dt>Python</dt><dd>");
        grid_python_version(out, g->python_version);
        LIT(out, "</dd>\n");
    }
    if (g->secret)
        LIT(out, "<dt>Visibility</dt><dd>Secret: only people with the link "
                 "can see it</dd>\n");
    else
        LIT(out, "<dt>Visibility</dt><dd>Public: it can turn up under "
                 "Random</dd>\n");
    LIT(out, "</dl>\n</section>\n");
}

static bool client_default_site(const char *base);
static void client_settings(struct buf *out, const char *base);
static void grid_share(struct buf *out, const struct page_grid *g);

/* The lines that load this grid back into a notebook: from_web, preceded by
 * the client's URL settings when this server is not the client's default
 * site (client_settings). */
static void grid_load_snippet(struct buf *out, const struct page_grid *g)
{
    const char *cls = g->ipb_class && strcmp(g->ipb_class, "ImageGrid") == 0
                      ? "ImageGrid" : "BlockGrid";
    bool settings = g->base_url && *g->base_url && !client_default_site(g->base_url);
    LIT(out,
        "<section class=\"load\" aria-labelledby=\"load-heading\">\n"
        "<h2 id=\"load-heading\">Load it in your notebook</h2>\n"
        "<pre class=\"snippet\"><code>");
    if (settings)
        client_settings(out, g->base_url);
    LIT(out, "from ipythonblocks import ");
    buf_puts(out, cls);
    LIT(out, "\ngrid = ");
    buf_puts(out, cls);
    LIT(out, ".from_web(&#39;");
    put_escaped(out, g->hash);
    if (g->secret)
        LIT(out, "&#39;, secret=True)\ngrid</code></pre>\n");
    else
        LIT(out, "&#39;)\ngrid</code></pre>\n");
    LIT(out, "<p>You get your own copy to change; the grid here stays as it "
             "was posted.</p>\n");
    if (settings)
        LIT(out, "<p>The first lines point the ipythonblocks library at this "
                 "server, not at its default site; they hold until the notebook's "
                 "kernel restarts, for <code>post_to_web</code> too.</p>\n");
    LIT(out, "</section>\n");
}

/* A grid with more blocks than a table should hold, as its PNG. */
static void grid_image(struct buf *out, const struct page_grid *g)
{
    char dims[160];
    LIT(out, "<img class=\"grid-image\" src=\"/");
    if (g->secret)
        LIT(out, "secret/");
    put_escaped(out, g->hash);
    snprintf(dims, sizeof dims,
             ".png\" width=\"%u\" height=\"%u\" alt=\"The grid, %u by %u blocks, "
             "drawn as an image\">",
             g->image_width, g->image_height, g->grid_width, g->grid_height);
    buf_puts(out, dims);
}

void page_grid(struct buf *out, const struct page_grid *g)
{
    struct buf title = BUF_INIT;
    LIT(&title, "Grid ");
    buf_puts(&title, g->hash);
    struct layout l = {
        .title = buf_failed(&title) ? "Grid" : title.data,
        .current = NAV_NONE,
        .noindex = g->secret,
        .canonical_base = g->base_url,
        .canonical_path = g->secret ? "/secret/" : "/",
        .canonical_hash = g->hash,
        .image_width = g->image_width,
        .image_height = g->image_height,
        .oembed = true,
    };
    page_open(out, &l);
    buf_free(&title);

    LIT(out, "<h1>Grid <code>");
    put_escaped(out, g->hash);
    LIT(out, "</code>");
    if (g->secret)
        LIT(out, " <span class=\"badge\">secret</span>");
    /* Focusable and labelled because wide grids scroll inside the frame. */
    LIT(out, "</h1>\n<div class=\"grid-frame\" tabindex=\"0\" role=\"region\" "
             "aria-label=\"The grid\">\n");
    if (g->grid_as_image && g->image_width)
        grid_image(out, g);
    else
        buf_append(out, g->grid_html, g->grid_html_len);
    LIT(out, "\n</div>\n");
    if (g->image_width) {
        LIT(out, "<p class=\"download\"><a href=\"");
        LIT(out, "/");
        if (g->secret)
            LIT(out, "secret/");
        put_escaped(out, g->hash);
        LIT(out, ".png\" download>Download PNG</a></p>\n");
    }
    grid_share(out, g);
    grid_code_cells(out, g->code_cells);
    grid_metadata(out, g);
    grid_load_snippet(out, g);
    page_close(out);
}

/* ---- sharing: the address, the embed, the client's settings ----------- */

/* Appends the grid's address, BASE/HASH or BASE/secret/HASH, escaped. */
static void grid_url(struct buf *out, const char *base, bool secret, const char *hash)
{
    put_escaped(out, base);
    if (secret)
        LIT(out, "/secret/");
    else
        LIT(out, "/");
    put_escaped(out, hash);
}

/* The address to copy and the HTML to put the grid into another page. Each
 * is a <code class="copy"> that CSS marks user-select: all, so one click or
 * tap selects all of it (pages run no script, so nothing can select it on
 * focus or copy it for the user; a readonly <input> would select itself
 * only when reached with Tab, and a click would only place a caret). */
static void grid_share(struct buf *out, const struct page_grid *g)
{
    if (!g->base_url || !*g->base_url)
        return;   /* no absolute address to give */
    LIT(out,
        "<section class=\"share\" aria-labelledby=\"share-heading\">\n"
        "<h2 id=\"share-heading\">Share it</h2>\n"
        "<p id=\"url-label\">Its address (a click selects it all, ready to "
        "copy):</p>\n"
        "<p><code class=\"copy url\" tabindex=\"0\" aria-labelledby=\"url-label\">");
    grid_url(out, g->base_url, g->secret, g->hash);
    LIT(out, "</code></p>\n");
    unsigned w, h;
    embed_frame_size(g->image_width, g->image_height, 0, 0, &w, &h);
    struct buf frame = BUF_INIT;
    embed_iframe_html(&frame, g->base_url, g->hash, g->secret, w, h);
    if (buf_failed(&frame)) {
        out->oom = 1;
    } else {
        LIT(out,
            "<p id=\"embed-label\">To show it on another page (a course site, a "
            "blog), paste this into the page&#39;s HTML:</p>\n"
            "<p><code class=\"copy embed\" tabindex=\"0\" "
            "aria-labelledby=\"embed-label\">");
        buf_html_escape(out, frame.data, frame.len);
        LIT(out, "</code></p>\n"
                 "<p class=\"fine\">Sites that read oEmbed need only the "
                 "address.</p>\n");
    }
    buf_free(&frame);
    LIT(out, "</section>\n");
}

/* Percent-encodes s for a query value: all but A-Z a-z 0-9 - . _ ~ and the
 * ':' and '/' that a query may hold as they are (RFC 3986 3.4), so the URL
 * stays readable. */
static void put_query_value(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~:/", *p)) {
            buf_putc(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, e, 3);
        }
    }
}

/* <link rel="alternate" type="application/json+oembed"> for the canonical
 * URL: BASE/oembed?url=<the canonical URL, percent-encoded>. */
static void oembed_link(struct buf *out, const struct layout *l)
{
    struct buf url = BUF_INIT;
    buf_puts(&url, l->canonical_base);
    buf_puts(&url, l->canonical_path);
    buf_puts(&url, l->canonical_hash);
    if (buf_failed(&url)) {
        out->oom = 1;
        return;
    }
    struct buf href = BUF_INIT;
    buf_puts(&href, l->canonical_base);
    buf_puts(&href, "/oembed?url=");
    put_query_value(&href, url.data);
    LIT(out, "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"");
    if (buf_failed(&href))
        out->oom = 1;
    else
        buf_html_escape(out, href.data, href.len);
    LIT(out, "\" title=\"");
    put_escaped(out, l->title);
    LIT(out, "\">\n");
    buf_free(&href);
    buf_free(&url);
}

/* The site the client talks to unless told otherwise: the module-level
 * _POST_URL, _GET_URL_PUBLIC and _GET_URL_SECRET of ipythonblocks.ipythonblocks
 * name http://ipythonblocks.org (www. in some releases). A fact about the
 * client, not a setting of this server. */
static bool client_default_site(const char *base)
{
    const char *host = NULL;
    if (!strncmp(base, "http://", 7))
        host = base + 7;
    else if (!strncmp(base, "https://", 8))
        host = base + 8;
    if (!host)
        return false;
    if (!strncmp(host, "www.", 4))
        host += 4;
    return strcmp(host, "ipythonblocks.org") == 0;
}

/* Appends a Python string literal ('...') of a + b, HTML-escaped. */
static void put_python_string(struct buf *out, const char *a, const char *b)
{
    struct buf lit = BUF_INIT;
    buf_putc(&lit, '\'');
    for (int part = 0; part < 2; part++) {
        for (const unsigned char *p = (const unsigned char *)(part ? b : a); *p; p++) {
            if (*p == '\\' || *p == '\'')
                buf_putc(&lit, '\\');
            if (*p < 0x20 || *p == 0x7f)
                buf_printf(&lit, "\\x%02x", *p);
            else
                buf_putc(&lit, (char)*p);
        }
    }
    buf_putc(&lit, '\'');
    if (buf_failed(&lit))
        out->oom = 1;
    else
        buf_html_escape(out, lit.data, lit.len);
    buf_free(&lit);
}

/* The client's three URL settings, pointed at base. */
static void client_settings(struct buf *out, const char *base)
{
    LIT(out, "import ipythonblocks\n"
             "ipythonblocks.ipythonblocks._POST_URL = ");
    put_python_string(out, base, "/post");
    LIT(out, "\nipythonblocks.ipythonblocks._GET_URL_PUBLIC = ");
    put_python_string(out, base, "/get/{0}");
    LIT(out, "\nipythonblocks.ipythonblocks._GET_URL_SECRET = ");
    put_python_string(out, base, "/get/secret/{0}");
    LIT(out, "\n");
}

/* ---- home, about, errors ---------------------------------------------- */

/* A 6x4 example in exactly the markup of the grid renderer (and of
 * BlockGrid._repr_html_): each block coloured palette[(row + col) % 6]. The
 * code shown next to it on the home page makes this same grid. */
static const char example_grid[] =
    "<style type=\"text/css\">table.blockgrid {border: none;} .blockgrid tr {border: none;} "
    ".blockgrid td {padding: 0px;} #blocks-example td {border: 1px solid white;}</style>"
    "<table id=\"blocks-example\" class=\"blockgrid\"><tbody>"
    "<tr>"
    "<td title=\"Index: [0, 0]&#10;Color: (230, 57, 70)\" style=\"width: 24px; height: 24px;background-color: rgb(230, 57, 70);\"></td>"
    "<td title=\"Index: [0, 1]&#10;Color: (244, 162, 97)\" style=\"width: 24px; height: 24px;background-color: rgb(244, 162, 97);\"></td>"
    "<td title=\"Index: [0, 2]&#10;Color: (233, 196, 106)\" style=\"width: 24px; height: 24px;background-color: rgb(233, 196, 106);\"></td>"
    "<td title=\"Index: [0, 3]&#10;Color: (42, 157, 143)\" style=\"width: 24px; height: 24px;background-color: rgb(42, 157, 143);\"></td>"
    "<td title=\"Index: [0, 4]&#10;Color: (69, 123, 157)\" style=\"width: 24px; height: 24px;background-color: rgb(69, 123, 157);\"></td>"
    "<td title=\"Index: [0, 5]&#10;Color: (131, 56, 236)\" style=\"width: 24px; height: 24px;background-color: rgb(131, 56, 236);\"></td>"
    "</tr>"
    "<tr>"
    "<td title=\"Index: [1, 0]&#10;Color: (244, 162, 97)\" style=\"width: 24px; height: 24px;background-color: rgb(244, 162, 97);\"></td>"
    "<td title=\"Index: [1, 1]&#10;Color: (233, 196, 106)\" style=\"width: 24px; height: 24px;background-color: rgb(233, 196, 106);\"></td>"
    "<td title=\"Index: [1, 2]&#10;Color: (42, 157, 143)\" style=\"width: 24px; height: 24px;background-color: rgb(42, 157, 143);\"></td>"
    "<td title=\"Index: [1, 3]&#10;Color: (69, 123, 157)\" style=\"width: 24px; height: 24px;background-color: rgb(69, 123, 157);\"></td>"
    "<td title=\"Index: [1, 4]&#10;Color: (131, 56, 236)\" style=\"width: 24px; height: 24px;background-color: rgb(131, 56, 236);\"></td>"
    "<td title=\"Index: [1, 5]&#10;Color: (230, 57, 70)\" style=\"width: 24px; height: 24px;background-color: rgb(230, 57, 70);\"></td>"
    "</tr>"
    "<tr>"
    "<td title=\"Index: [2, 0]&#10;Color: (233, 196, 106)\" style=\"width: 24px; height: 24px;background-color: rgb(233, 196, 106);\"></td>"
    "<td title=\"Index: [2, 1]&#10;Color: (42, 157, 143)\" style=\"width: 24px; height: 24px;background-color: rgb(42, 157, 143);\"></td>"
    "<td title=\"Index: [2, 2]&#10;Color: (69, 123, 157)\" style=\"width: 24px; height: 24px;background-color: rgb(69, 123, 157);\"></td>"
    "<td title=\"Index: [2, 3]&#10;Color: (131, 56, 236)\" style=\"width: 24px; height: 24px;background-color: rgb(131, 56, 236);\"></td>"
    "<td title=\"Index: [2, 4]&#10;Color: (230, 57, 70)\" style=\"width: 24px; height: 24px;background-color: rgb(230, 57, 70);\"></td>"
    "<td title=\"Index: [2, 5]&#10;Color: (244, 162, 97)\" style=\"width: 24px; height: 24px;background-color: rgb(244, 162, 97);\"></td>"
    "</tr>"
    "<tr>"
    "<td title=\"Index: [3, 0]&#10;Color: (42, 157, 143)\" style=\"width: 24px; height: 24px;background-color: rgb(42, 157, 143);\"></td>"
    "<td title=\"Index: [3, 1]&#10;Color: (69, 123, 157)\" style=\"width: 24px; height: 24px;background-color: rgb(69, 123, 157);\"></td>"
    "<td title=\"Index: [3, 2]&#10;Color: (131, 56, 236)\" style=\"width: 24px; height: 24px;background-color: rgb(131, 56, 236);\"></td>"
    "<td title=\"Index: [3, 3]&#10;Color: (230, 57, 70)\" style=\"width: 24px; height: 24px;background-color: rgb(230, 57, 70);\"></td>"
    "<td title=\"Index: [3, 4]&#10;Color: (244, 162, 97)\" style=\"width: 24px; height: 24px;background-color: rgb(244, 162, 97);\"></td>"
    "<td title=\"Index: [3, 5]&#10;Color: (233, 196, 106)\" style=\"width: 24px; height: 24px;background-color: rgb(233, 196, 106);\"></td>"
    "</tr>"
    "</tbody></table>";

static void home_latest(struct buf *out, const char *const *hashes, size_t n);

void page_home(struct buf *out)
{
    page_home_latest(out, NULL, 0);
}

void page_home_latest(struct buf *out, const char *const *latest, size_t n)
{
    static const struct layout l = {.title = "Share your ipythonblocks grids",
                                    .current = NAV_HOME};
    page_open(out, &l);
    LIT(out,
        "<section class=\"intro\">\n"
        "<h1>Share the grids you colour in Jupyter</h1>\n"
        "<p class=\"lead\">ipythonblocks is a Python library for learning to program: a "
        "<code>BlockGrid</code> is a grid of coloured squares that you change "
        "with loops, indexes and slices, and the notebook shows the result at "
        "once. This site keeps a copy of any grid you send it, together with the "
        "code that made it, and gives you a short link to share.</p>\n"
        "</section>\n");
    home_latest(out, latest, n);
    LIT(out,
        "<section class=\"example\" aria-labelledby=\"example-heading\">\n"
        "<h2 id=\"example-heading\">An example</h2>\n"
        "<div class=\"side-by-side\">\n"
        "<figure>\n"
        "<div class=\"grid-frame\">\n");
    buf_append(out, example_grid, sizeof example_grid - 1);
    LIT(out,
        "\n</div>\n"
        "<figcaption>A 6 \xC3\x97 4 grid: each row is the one above it shifted "
        "one block to the left.</figcaption>\n"
        "</figure>\n"
        "<div class=\"ipb-code\"><pre>from ipythonblocks import BlockGrid\n"
        "colors = [(230, 57, 70), (244, 162, 97), (233, 196, 106),\n"
        "          (42, 157, 143), (69, 123, 157), (131, 56, 236)]\n"
        "grid = BlockGrid(6, 4, block_size=24)\n"
        "for block in grid:\n"
        "    block.rgb = colors[(block.row + block.col) % 6]\n"
        "grid</pre></div>\n"
        "</div>\n"
        "</section>\n"
        "<section aria-labelledby=\"post-heading\">\n"
        "<h2 id=\"post-heading\">Post a grid from your notebook</h2>\n"
        "<p>Call <code>post_to_web</code> on any <code>BlockGrid</code> or "
        "<code>ImageGrid</code>. It returns the address of the grid's page "
        "(posting and loading need the <code>requests</code> package):</p>\n"
        "<div class=\"ipb-code\"><pre>url = grid.post_to_web()\n"
        "url</pre></div>\n"
        "<p>To show the code that made the grid, name the notebook cells to "
        "send with <code>code_cells</code>, using the numbers of their "
        "<code>In [n]</code> prompts: one cell (<code>4</code>), a range "
        "written like a slice (<code>&#39;1:3&#39;</code> sends cells 1 and 2), "
        "or several separated by commas (<code>&#39;1,3:5&#39;</code> sends "
        "cells 1, 3 and 4):</p>\n"
        "<div class=\"ipb-code\"><pre>grid.post_to_web(code_cells=&#39;1:3&#39;)"
        "</pre></div>\n"
        "<p>Add <code>secret=True</code> to keep the grid off the "
        "<a href=\"/random\">Random</a> page. Its address then contains "
        "<code>/secret/</code>, and only people you give it to will find it.</p>\n"
        "<div class=\"ipb-code\"><pre>grid.post_to_web(code_cells=&#39;1:3&#39;, "
        "secret=True)</pre></div>\n"
        "</section>\n"
        "<section aria-labelledby=\"load-heading\">\n"
        "<h2 id=\"load-heading\">Load a grid back</h2>\n"
        "<p>Every grid page ends with the lines that copy it into a notebook. "
        "The ID is the last part of the grid's address: <code>bizkiL</code> "
        "for a page at <code>/bizkiL</code>, and <code>MiXoi4</code> with "
        "<code>secret=True</code> for one at <code>/secret/MiXoi4</code>:</p>\n"
        "<div class=\"ipb-code\"><pre>from ipythonblocks import BlockGrid\n"
        "grid = BlockGrid.from_web(&#39;bizkiL&#39;)\n"
        "secret_grid = BlockGrid.from_web(&#39;MiXoi4&#39;, secret=True)"
        "</pre></div>\n"
        "<p><code>ImageGrid.from_web</code> works the same way. Not sure what "
        "to make? <a href=\"/random\">Look at a random grid</a> for ideas.</p>\n"
        "</section>\n");
    page_close(out);
}

void page_about(struct buf *out)
{
    static const struct layout l = {.title = "About", .current = NAV_ABOUT};
    page_open(out, &l);
    LIT(out,
        "<h1>About this site</h1>\n"
        "<section aria-labelledby=\"what-heading\">\n"
        "<h2 id=\"what-heading\">What it is</h2>\n"
        "<p>" SITE_NAME " is a place to share grids made with ipythonblocks. "
        "A grid posted from a notebook gets its own page, showing the grid, "
        "the code cells sent with it, and the two lines that load it into "
        "another notebook. The <a href=\"/random\">Random</a> link shows a "
        "public grid picked at random.</p>\n"
        "</section>\n"
        "<section aria-labelledby=\"ipb-heading\">\n"
        "<h2 id=\"ipb-heading\">ipythonblocks</h2>\n"
        "<p>ipythonblocks was written by Matt Davis as a teaching tool, so that "
        "students practising loops and indexing see what their code does as "
        "coloured blocks. It is free software under the MIT License; its source "
        "is <code>jiffyclub/ipythonblocks</code> on GitHub, and it installs with "
        "<code>pip install ipythonblocks</code>.</p>\n"
        "</section>\n"
        "<section aria-labelledby=\"secret-heading\">\n"
        "<h2 id=\"secret-heading\">Public and secret grids</h2>\n"
        "<p>A public grid can be picked by Random. A grid posted with "
        "<code>secret=True</code> never is, and it is not listed anywhere: it "
        "has an address under <code>/secret/</code> that only the people you "
        "share it with will know. Secret means unlisted, not private: anyone "
        "who has the link can open it.</p>\n"
        "</section>\n"
        "<section aria-labelledby=\"privacy-heading\">\n"
        "<h2 id=\"privacy-heading\">What is stored</h2>\n"
        "<p>For each grid: its size, the colour and size of every block, "
        "whether lines are drawn between blocks, the code cells you chose to "
        "send, the versions of ipythonblocks and Python, the class "
        "(<code>BlockGrid</code> or <code>ImageGrid</code>), whether it is "
        "secret, and the time it was posted. The stored grid holds no name, "
        "account or address. There is no sign-up, and these pages use no "
        "cookies, no scripts and nothing from other sites.</p>\n"
        "<p>Grids cannot be changed once posted, so please keep passwords and "
        "personal details out of the code cells you send. If a grid needs to "
        "come down, ask the people who run this server: they can delete it.</p>\n"
        "</section>\n"
        "<section aria-labelledby=\"source-heading\">\n"
        "<h2 id=\"source-heading\">How it runs</h2>\n"
        "<p>This server is ipborg, a small program written in C that speaks "
        "the same protocol as the original ipythonblocks.org service, so existing "
        "notebooks and grid addresses keep working. Its operators keep the grids "
        "in SQLite or PostgreSQL and can move them between the two without "
        "changing any address.</p>\n"
        "</section>\n");
    page_close(out);
}

static void blocks_404(struct buf *out);

void page_not_found(struct buf *out)
{
    static const struct layout l = {.title = "Not found", .noindex = true};
    page_open(out, &l);
    LIT(out,
        "<section class=\"problem\">\n"
        "<p class=\"status drawn\">404</p>\n");
    blocks_404(out);
    LIT(out,
        "<h1>There is no page here</h1>\n"
        "<p>The address may be mistyped, or the grid it pointed to is no longer "
        "here. Grid addresses are case-sensitive, and secret grids live under "
        "<code>/secret/</code>.</p>\n"
        "<ul class=\"links\">\n"
        "<li><a href=\"/\">Go to the home page</a></li>\n"
        "<li><a href=\"/random\">See a random grid</a></li>\n"
        "<li><a href=\"/about\">Read about this site</a></li>\n"
        "</ul>\n"
        "</section>\n");
    page_close(out);
}

static const char *status_reason(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 413: return "Too large";
    case 429: return "Too many requests";
    case 500: return "Internal error";
    case 502: return "Bad gateway";
    case 503: return "Service unavailable";
    case 504: return "Gateway timeout";
    default: return "Something went wrong";
    }
}

void page_error(struct buf *out, int status, const char *message)
{
    const char *reason = status_reason(status);
    const struct layout l = {.title = reason, .noindex = true};
    page_open(out, &l);
    buf_printf(out, "<section class=\"problem\">\n<p class=\"status\">%d</p>\n",
               status);
    LIT(out, "<h1>");
    buf_puts(out, reason);
    LIT(out, "</h1>\n<p>");
    if (message && *message)
        put_escaped(out, message);
    else
        LIT(out, "The server could not answer this request.");
    LIT(out, "</p>\n");
    if (status >= 500)
        LIT(out, "<p>This is usually brief: please try again in a moment.</p>\n");
    LIT(out,
        "<ul class=\"links\">\n"
        "<li><a href=\"/\">Go to the home page</a></li>\n"
        "<li><a href=\"/about\">Read about this site</a></li>\n"
        "</ul>\n"
        "</section>\n");
    page_close(out);
}

/* ---- thumbnails: the gallery and the home page's latest grids ---------- */

/* One link per grid, its thumbnail (/thumb/HASH.png, IMAGE_THUMB_SIDE px on
 * its longer side) inside, labelled with the hash. Public grids only: the
 * links never say /secret/. */
static void thumb_list(struct buf *out, const char *cls, const char *const *hashes,
                       size_t n)
{
    LIT(out, "<ul class=\"thumbs ");
    buf_puts(out, cls);
    LIT(out, "\">\n");
    for (size_t i = 0; i < n; i++) {
        LIT(out, "<li><a href=\"/");
        put_escaped(out, hashes[i]);
        LIT(out, "\"><img src=\"/thumb/");
        put_escaped(out, hashes[i]);
        LIT(out, ".png\" alt=\"Grid ");
        put_escaped(out, hashes[i]);
        LIT(out, "\" width=\"160\" height=\"160\" loading=\"lazy\"><span>");
        put_escaped(out, hashes[i]);
        LIT(out, "</span></a></li>\n");
    }
    LIT(out, "</ul>\n");
}

static void home_latest(struct buf *out, const char *const *hashes, size_t n)
{
    if (!n)
        return;
    LIT(out,
        "<section class=\"latest\" aria-labelledby=\"latest-heading\">\n"
        "<h2 id=\"latest-heading\">Just posted</h2>\n");
    thumb_list(out, "small", hashes, n);
    LIT(out, "<p><a href=\"/gallery\">See more grids in the gallery</a></p>\n"
             "</section>\n");
}

void page_gallery(struct buf *out, const struct page_gallery *g)
{
    const struct layout l = {.title = "Gallery", .current = NAV_GALLERY,
                             .noindex = g->before != 0};
    page_open(out, &l);
    LIT(out, "<h1>Gallery</h1>\n"
             "<p class=\"lead\">The grids people posted, newest first. Secret "
             "grids are never shown here.</p>\n");
    if (g->n)
        thumb_list(out, "", g->hashes, g->n);
    else if (g->before)
        LIT(out, "<p class=\"empty\">No older grids here.</p>\n");
    else
        LIT(out, "<p class=\"empty\">No grids yet: post one from your notebook "
                 "with <code>grid.post_to_web()</code>.</p>\n");
    if (g->older || g->before) {
        LIT(out, "<nav class=\"pager\" aria-label=\"More grids\"><ul>\n");
        if (g->before)
            LIT(out, "<li><a href=\"/gallery\">Newest grids</a></li>\n");
        if (g->older)
            buf_printf(out, "<li><a href=\"/gallery?before=%lld\" rel=\"next\">"
                            "Older grids</a></li>\n", (long long)g->older);
        LIT(out, "</ul></nav>\n");
    }
    page_close(out);
}

/* ---- the embed: the grid alone, for a frame on another site ------------ */

void page_embed(struct buf *out, const struct page_embed *e)
{
    /* Not the site's layout: no header, navigation or footer, only the grid
     * and one line that links to its page (in a new tab, so the page that
     * frames it stays). Links are relative: they resolve against this
     * server, the frame's own origin. */
    const char *kind = e->secret ? "/secret/" : "/";
    LIT(out,
        "<!doctype html>\n"
        "<html lang=\"en\">\n"
        "<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"robots\" content=\"noindex\">\n"
        "<title>Grid ");
    put_escaped(out, e->hash);
    LIT(out, " \xC2\xB7 " SITE_NAME "</title>\n"
             "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
             "</head>\n"
             "<body class=\"embed\">\n");
    if (e->image_width) {
        LIT(out, "<a class=\"embed-grid\" href=\"");
        buf_puts(out, kind);
        put_escaped(out, e->hash);
        LIT(out, "\" target=\"_blank\" rel=\"noopener\"><img src=\"");
        buf_puts(out, kind);
        put_escaped(out, e->hash);
        LIT(out, ".png\" alt=\"Grid ");
        put_escaped(out, e->hash);
        buf_printf(out, "\" width=\"%u\" height=\"%u\"></a>\n", e->image_width,
                   e->image_height);
    } else {
        LIT(out, "<p class=\"embed-grid grid-error\">This grid&#39;s stored data "
                 "cannot be drawn.</p>\n");
    }
    LIT(out, "<p class=\"embed-caption\"><a href=\"");
    buf_puts(out, kind);
    put_escaped(out, e->hash);
    LIT(out, "\" target=\"_blank\" rel=\"noopener\">Grid ");
    put_escaped(out, e->hash);
    LIT(out, "</a> on " SITE_NAME "</p>\n"
             "</body>\n"
             "</html>\n");
}

/* ---- the 404 page's "404", drawn in blocks ----------------------------- */

/* 3 x 5 digits, one bit per block, top row first (bit 2 = left column). */
static const unsigned char digit_4[5] = {5, 5, 7, 1, 1};
static const unsigned char digit_0[5] = {7, 5, 5, 5, 7};

/* "404" as a grid (a margin of one block, one block between digits) drawn by
 * the grid renderer itself, in the colours of the home page's example:
 * palette[(row + col) % 6] on the digits, a pale grey around them. */
static void blocks_404(struct buf *out)
{
    static const int palette[6][3] = {
        {230, 57, 70}, {244, 162, 97}, {233, 196, 106},
        {42, 157, 143}, {69, 123, 157}, {131, 56, 236},
    };
    const unsigned char *digits[3] = {digit_4, digit_0, digit_4};
    enum { W = 13, H = 7, SIZE = 20 };
    struct buf json = BUF_INIT;
    buf_printf(&json, "{\"lines_on\": true, \"width\": %d, \"height\": %d, \"blocks\": [",
               W, H);
    for (int r = 0; r < H; r++) {
        buf_puts(&json, r ? ", [" : "[");
        for (int c = 0; c < W; c++) {
            int on = 0;
            int d = (c - 1) / 4, dc = (c - 1) % 4;
            if (r >= 1 && r <= 5 && c >= 1 && c <= 11 && dc < 3)
                on = digits[d][r - 1] >> (2 - dc) & 1;
            const int *rgb = palette[(r + c) % 6];
            if (on)
                buf_printf(&json, "%s[%d, %d, %d, %d]", c ? ", " : "", rgb[0], rgb[1],
                           rgb[2], SIZE);
            else
                buf_printf(&json, "%s[228, 231, 237, %d]", c ? ", " : "", SIZE);
        }
        buf_puts(&json, "]");
    }
    buf_puts(&json, "]}");
    struct buf grid = BUF_INIT;
    char err[128];
    if (!buf_failed(&json) &&
        grid_render_html(&grid, json.data, json.len, "-404", err, sizeof err) == 0 &&
        !buf_failed(&grid)) {
        LIT(out, "<div class=\"blocks-404\" role=\"img\" aria-label=\"404\">\n");
        buf_append(out, grid.data, grid.len);
        LIT(out, "\n</div>\n");
    }
    buf_free(&grid);
    buf_free(&json);
}
