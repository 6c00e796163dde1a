/* handlers.c -- the HTTP API of docs/protocol.md §3, one function per route (handlers.h).
 *
 * Data flows one way: request -> validation (grid.c) -> store (store.h) ->
 * reply. A path segment names a grid only when it is the canonical hash ID
 * of an id (hashid_parse_id); anything else is 404 before the store is asked.
 *
 * Errors from the store: STORE_UNAVAILABLE is 503 (JSON for /post and /get,
 * an error page for HTML), STORE_ERROR is 500 with the detail on stderr, never
 * in the answer. A 200 from /post is only sent after store_put has returned
 * STORE_OK, which means committed.
 *
 * Stored grid_data is judged by grid_read (grid.h) once per answer, by the
 * page, the PNG and /get alike: a row it reads gets 200 on all three, a row
 * it refuses gets 500 on all three (grid_unservable). Answers are cached, so
 * the check runs once per cache fill, not per request. */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "embed.h"
#include "gallery.h"
#include "image.h"
#include "page.h"

static const char HTML[] = "text/html; charset=utf-8";
static const char JSON[] = "application/json";

/* --- helpers ------------------------------------------------------------------- */

/* BASE of docs/protocol.md §3: --public-url without trailing slashes, else http:// + Host. */
static void base_url(const struct app *a, const struct http_request *req, struct buf *out)
{
    const char *pub = a->cfg->public_url;
    if (pub && *pub) {
        size_t n = strlen(pub);
        while (n && pub[n - 1] == '/')
            n--;
        buf_append(out, pub, n);
        return;
    }
    buf_puts(out, "http://");
    const char *host = req->host;
    /* A Host header is the client's own claim; take it only if it looks like
     * host[:port], so that nothing odd lands in a URL we hand out. */
    int ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9') || strchr(".-:[]_", *p);
    if (ok)
        buf_puts(out, host);
    else
        buf_printf(out, "%s:%u", a->cfg->host, a->cfg->port);
}

static void html_page_reply(struct http_reply *r, int status)
{
    r->status = status;
    r->content_type = HTML;
}

static void store_failure(struct http_reply *r, int rc, const char *err, int json)
{
    int status = rc == STORE_UNAVAILABLE ? 503 : 500;
    const char *msg = rc == STORE_UNAVAILABLE
                          ? "the database is not reachable right now; try again shortly"
                          : "internal error while reading or writing the database";
    fprintf(stderr, "ipborg: store: %s\n", err && *err ? err : "(no detail)");
    if (json) {
        http_reply_json_error(r, status, msg);
    } else {
        buf_reset(&r->body);
        page_error(&r->body, status, msg);
        html_page_reply(r, status);
    }
    r->cache_control = "no-store";
}

/* --- routes ---------------------------------------------------------------------- */

void handle_not_found(void *app, const struct http_request *req, struct http_reply *r,
                      const char *arg)
{
    (void)app, (void)req, (void)arg;
    buf_reset(&r->body);
    page_not_found(&r->body);
    html_page_reply(r, 404);
}

static void handle_post(void *app, const struct http_request *req, struct http_reply *r,
                        const char *arg)
{
    struct app *a = app;
    (void)arg;
    char err[512];
    struct grid_post post;
    if (grid_validate_post(req->body ? req->body : "", req->body_len, &a->limits, &post, err,
                           sizeof err) != 0) {
        http_reply_json_error(r, 400, err);
        return;
    }
    struct grid_record rec = {
        .ipb_version = post.ipb_version,
        .python_version = post.python_version,
        .grid_data = post.grid_data,
        .code_cells = post.code_cells,
        .ipb_class = post.ipb_class,
        .secret = post.secret,
    };
    enum grid_table t = post.secret ? GRID_SECRET : GRID_PUBLIC;
    int64_t id = 0;
    char serr[STORE_ERRLEN] = "";
    int rc = store_put(a->store, t, &rec, &id, serr);
    grid_post_free(&post);
    if (rc != STORE_OK) {
        store_failure(r, rc, serr, 1);
        return;
    }
    atomic_fetch_add_explicit(&a->posted[t], 1, memory_order_relaxed);
    char hash[HASHID_MAX_LEN];
    if (hashid_encode(a->hashid[t], (uint64_t)id, hash, sizeof hash) < 0) {
        fprintf(stderr, "ipborg: cannot encode id %lld\n", (long long)id);
        http_reply_json_error(r, 500, "internal error");
        return;
    }
    r->status = 200;
    r->content_type = JSON;
    r->cache_control = "no-store";
    buf_puts(&r->body, "{\"url\": \"");
    /* BASE and the hash hold no characters that need JSON escaping: the Host
     * header was checked, and --public-url is the operator's. */
    struct buf base = BUF_INIT;
    base_url(a, req, &base);
    for (size_t i = 0; i < base.len; i++) {
        char c = base.data[i];
        if (c == '"' || c == '\\' || (unsigned char)c < 0x20)
            buf_printf(&r->body, "\\u%04x", (unsigned char)c);
        else
            buf_putc(&r->body, c);
    }
    buf_free(&base);
    buf_puts(&r->body, t == GRID_SECRET ? "/secret/" : "/");
    buf_puts(&r->body, hash);
    buf_puts(&r->body, "\"}");
}

/* Resolves a hash ID to an id of table t; 0 if it names no grid. */
static int parse_hash(const struct app *a, enum grid_table t, const char *hash, int64_t *id)
{
    return hash && hashid_parse_id(a->hashid[t], hash, strlen(hash), id);
}

/* Cache-Control of a grid's answers: shared caches may keep public grids. */
static const char *grid_cache_control(enum grid_table t)
{
    return t == GRID_SECRET ? "private, max-age=3600" : "public, max-age=3600";
}

/* Answers a look-up that found no grid (404) or could not ask the store (503
 * or 500), as JSON for the API or as a page; rc is the store's status. */
static void grid_missing(struct app *a, const struct http_request *req, int rc,
                         const char *err, int json, struct http_reply *r)
{
    if (rc != STORE_NOT_FOUND)
        store_failure(r, rc, err, json);
    else if (json)
        http_reply_json_error(r, 404, "no such grid");
    else
        handle_not_found(a, req, r, NULL);
}

/* grid_data of the grid that hash names in table t: STORE_OK and *json
 * (malloc'd), or the reply is filled by grid_missing. *len is the length of
 * the text up to its first NUL byte, which is where C and SQLite's own text
 * functions end it, and where the page (which gets the text from store_get)
 * ends it too: the three answers read the same bytes. */
static int load_grid_data(struct app *a, const struct http_request *req, enum grid_table t,
                          const char *hash, int json_errors, struct http_reply *r,
                          char **json, size_t *len)
{
    int64_t id;
    char err[STORE_ERRLEN] = "";
    int rc = parse_hash(a, t, hash, &id)
                 ? store_get_grid_data(a->store, t, id, json, len, err)
                 : STORE_NOT_FOUND;
    if (rc != STORE_OK)
        grid_missing(a, req, rc, err, json_errors, r);
    else
        *len = strlen(*json);
    return rc;
}

/* 500 for a failure of this process while drawing (out of memory), the
 * detail on stderr. */
static void internal_failure(struct http_reply *r, const char *hash, const char *err)
{
    fprintf(stderr, "ipborg: cannot draw %s: %s\n", hash, err);
    buf_reset(&r->body);
    page_error(&r->body, 500, "The server could not draw this grid just now.");
    html_page_reply(r, 500);
    r->cache_control = "no-store";
}

/* The answer for a stored row that grid_read refuses (docs/protocol.md §5):
 * the same 500 for its page, its PNG and /get, never a 200 that pretends
 * the data is a grid. The row is there, but what it holds is not a grid:
 * the fault is the server's (or its data's), not the client's, so it is
 * not a 4xx. The reason goes to stderr, not into the answer. */
static void grid_unservable(enum grid_table t, const char *hash, const char *why, int json,
                            struct http_reply *r)
{
    static const char msg[] = "this grid is stored, but its data is damaged and "
                              "cannot be shown";
    fprintf(stderr, "ipborg: %s %s cannot be served: %s\n", store_table_name(t), hash, why);
    buf_reset(&r->body);
    if (json) {
        http_reply_json_error(r, 500, msg);
    } else {
        page_error(&r->body, 500, "This grid is stored, but its data is damaged and cannot "
                                  "be shown.");
        html_page_reply(r, 500);
    }
    r->cache_control = "no-store";
}

/* GET /get: the stored text as it is, once grid_read has found it to be a
 * grid. The check runs once per answer made; the server keeps the answer. */
static void get_json(struct app *a, const struct http_request *req, enum grid_table t,
                     const char *hash, struct http_reply *r)
{
    char *json = NULL;
    size_t len = 0;
    if (load_grid_data(a, req, t, hash, 1, r, &json, &len) != STORE_OK)
        return;
    char rerr[256];
    if (grid_read(json, len, NULL, rerr, sizeof rerr) != 0) {
        free(json);
        grid_unservable(t, hash, rerr, 1, r);
        return;
    }
    r->status = 200;
    r->content_type = JSON;
    r->cacheable = 1;
    r->cache_control = grid_cache_control(t);
    buf_free(&r->body);
    r->body.data = json;
    r->body.len = len;
    r->body.cap = len + 1;
}

static void handle_get(void *app, const struct http_request *req, struct http_reply *r,
                       const char *arg)
{
    get_json(app, req, GRID_PUBLIC, arg, r);
}

static void handle_get_secret(void *app, const struct http_request *req,
                              struct http_reply *r, const char *arg)
{
    get_json(app, req, GRID_SECRET, arg, r);
}

/* The grid page. grid_data is read once (grid_read) for the table and the
 * image size. A grid of more blocks than --max-cells (only old rows: posts
 * are held to it) is shown as its PNG instead of a table, which would be
 * about 165 bytes a block. */
static void grid_page(struct app *a, const struct http_request *req, enum grid_table t,
                      const char *hash, struct http_reply *r)
{
    int64_t id;
    struct grid_record rec = {0};
    char err[STORE_ERRLEN] = "";
    int rc = parse_hash(a, t, hash, &id) ? store_get(a->store, t, id, &rec, err)
                                          : STORE_NOT_FOUND;
    if (rc != STORE_OK) {
        grid_missing(a, req, rc, err, 0, r);
        return;
    }
    struct grid g;
    char rerr[256];
    const char *gd = rec.grid_data;
    if (grid_read(gd, gd ? strlen(gd) : 0, &g, rerr, sizeof rerr) != 0) {
        grid_unservable(t, hash, rerr, 0, r);
        grid_record_clear(&rec);
        return;
    }
    unsigned iw, ih;
    image_grid_size(&g, &iw, &ih);
    long long cap = a->limits.max_cells > 0 ? a->limits.max_cells : GRID_DEFAULT_MAX_CELLS;
    bool as_image = (unsigned long long)g.w * g.h > (unsigned long long)cap;
    struct buf grid = BUF_INIT;
    if (!as_image && grid_draw_html(&grid, &g, hash, rerr, sizeof rerr) != 0) {
        grid_free(&g);
        buf_free(&grid);
        grid_record_clear(&rec);
        internal_failure(r, hash, rerr);
        return;
    }
    struct buf base = BUF_INIT;
    base_url(a, req, &base);
    struct page_grid pg = {
        .hash = hash,
        .secret = t == GRID_SECRET,
        .base_url = base.data ? base.data : "",
        .grid_html = grid.data ? grid.data : "",
        .grid_html_len = grid.len,
        .grid_as_image = as_image,
        .grid_width = g.w,
        .grid_height = g.h,
        .code_cells = rec.code_cells,
        .ipb_version = rec.ipb_version,
        .python_version = rec.python_version,
        .ipb_class = rec.ipb_class,
        .created_at = rec.created_at,
        .image_width = iw,
        .image_height = ih,
    };
    page_grid(&r->body, &pg);
    html_page_reply(r, 200);
    r->cacheable = 1;
    r->cache_control = grid_cache_control(t);
    buf_free(&base);
    buf_free(&grid);
    grid_free(&g);
    grid_record_clear(&rec);
}

static void handle_page(void *app, const struct http_request *req, struct http_reply *r,
                        const char *arg)
{
    grid_page(app, req, GRID_PUBLIC, arg, r);
}

static void handle_page_secret(void *app, const struct http_request *req,
                               struct http_reply *r, const char *arg)
{
    grid_page(app, req, GRID_SECRET, arg, r);
}

/* The grid as a PNG (image.c), made once and then served from the cache. */
static void grid_png(struct app *a, const struct http_request *req, enum grid_table t,
                     const char *hash, struct http_reply *r)
{
    char *json = NULL;
    size_t len = 0;
    if (load_grid_data(a, req, t, hash, 0, r, &json, &len) != STORE_OK)
        return;
    struct grid g;
    char ierr[256];
    int rc = grid_read(json, len, &g, ierr, sizeof ierr);
    free(json);
    if (rc != 0) {
        grid_unservable(t, hash, ierr, 0, r);
        return;
    }
    rc = image_draw_png(&r->body, &g, ierr, sizeof ierr);
    grid_free(&g);
    if (rc != 0) {
        internal_failure(r, hash, ierr);
        return;
    }
    r->status = 200;
    r->content_type = "image/png";
    r->cacheable = 1;
    r->cache_control = grid_cache_control(t);
}

static void handle_png(void *app, const struct http_request *req, struct http_reply *r,
                       const char *arg)
{
    grid_png(app, req, GRID_PUBLIC, arg, r);
}

static void handle_png_secret(void *app, const struct http_request *req,
                              struct http_reply *r, const char *arg)
{
    grid_png(app, req, GRID_SECRET, arg, r);
}

static void handle_random(void *app, const struct http_request *req, struct http_reply *r,
                          const char *arg)
{
    struct app *a = app;
    (void)arg;
    int64_t id;
    char err[STORE_ERRLEN] = "";
    int rc = store_random_id(a->store, GRID_PUBLIC, &id, err);
    if (rc == STORE_NOT_FOUND) {
        handle_not_found(a, req, r, NULL);
        r->cache_control = "no-store";
        return;
    }
    if (rc != STORE_OK) {
        store_failure(r, rc, err, 0);
        return;
    }
    char loc[HASHID_MAX_LEN + 2] = "/";
    if (hashid_encode(a->hashid[GRID_PUBLIC], (uint64_t)id, loc + 1, sizeof loc - 1) < 0) {
        http_reply_text(r, 500, "text/plain; charset=utf-8", "internal error\n");
        return;
    }
    http_reply_redirect(r, 303, loc);
    r->cache_control = "no-store";
}

/* A page that is the same for everyone until the next release. */
static void fixed_page(struct http_reply *r, void (*page)(struct buf *))
{
    page(&r->body);
    html_page_reply(r, 200);
    r->cacheable = 1;
    r->cache_control = "public, max-age=600";
}

/* The home page shows the latest public grids, so it is built per request
 * (see "pages" below); without the database it is still served, without them. */
static void home_with_latest(struct app *a, struct http_reply *r);

static void handle_home(void *app, const struct http_request *req, struct http_reply *r,
                        const char *arg)
{
    (void)req, (void)arg;
    home_with_latest(app, r);
}

static void handle_about(void *app, const struct http_request *req, struct http_reply *r,
                         const char *arg)
{
    (void)app, (void)req, (void)arg;
    fixed_page(r, page_about);
}

/* 200 when the store answers a query, 503 when not: for load balancers. */
static void handle_healthz(void *app, const struct http_request *req, struct http_reply *r,
                           const char *arg)
{
    struct app *a = app;
    (void)req, (void)arg;
    int64_t max_id = 0;
    char err[STORE_ERRLEN] = "";
    int rc = store_max_id(a->store, GRID_PUBLIC, &max_id, err);
    r->cache_control = "no-store";
    if (rc == STORE_OK) {
        http_reply_text(r, 200, "text/plain; charset=utf-8", "ok\n");
    } else {
        fprintf(stderr, "ipborg: health check: %s\n", err);
        http_reply_text(r, 503, "text/plain; charset=utf-8",
                        "the database is not reachable\n");
    }
}

static void handle_metrics(void *app, const struct http_request *req, struct http_reply *r,
                           const char *arg)
{
    struct app *a = app;
    (void)req, (void)arg;
    struct http_server *srv = atomic_load(&a->server);
    if (srv)
        http_server_metrics(srv, &r->body);
    buf_printf(&r->body,
               "# HELP ipborg_grids_posted_total Grids stored through POST /post by this process.\n"
               "# TYPE ipborg_grids_posted_total counter\n"
               "ipborg_grids_posted_total{table=\"public_grids\"} %llu\n"
               "ipborg_grids_posted_total{table=\"secret_grids\"} %llu\n",
               (unsigned long long)atomic_load(&a->posted[GRID_PUBLIC]),
               (unsigned long long)atomic_load(&a->posted[GRID_SECRET]));
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->cache_control = "no-store";
}

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".ico"))
        return "image/x-icon";
    if (!strcmp(dot, ".png"))
        return "image/png";
    if (!strcmp(dot, ".txt"))
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

static void handle_static(void *app, const struct http_request *req, struct http_reply *r,
                          const char *arg)
{
    for (const struct asset *as = asset_table; as->path; as++) {
        if (!strncmp(as->path, "/static/", 8) && !strcmp(as->path + 8, arg)) {
            r->status = 200;
            r->content_type = content_type_of(arg);
            r->static_data = as->data;
            r->static_len = as->size;
            r->cache_control = "public, max-age=86400";
            r->cacheable = 1;
            return;
        }
    }
    handle_not_found(app, req, r, NULL);
}

/* --- pages: gallery, thumbnails, embeds, oEmbed (issue 14) --------------------------- */

/* The gallery and the home page change with every post and deletion, on any
 * server sharing the database: they are never kept in the response cache,
 * and browsers are asked to check again each time. Their cost per request is
 * bounded (gallery.h), whatever the number of grids. */
#define LISTING_CACHE_CONTROL "no-cache"

/* Hash IDs of the public grids of a gallery slice: ptrs[i] -> text[i]. */
static size_t slice_hashes(const struct app *a, const struct gallery_slice *sl,
                           char (*text)[HASHID_MAX_LEN], const char **ptrs)
{
    size_t n = 0;
    for (size_t i = 0; i < sl->n; i++) {
        if (hashid_encode(a->hashid[GRID_PUBLIC], (uint64_t)sl->ids[i], text[n],
                          HASHID_MAX_LEN) < 0)
            continue;   /* no URL names it */
        ptrs[n] = text[n];
        n++;
    }
    return n;
}

static void home_with_latest(struct app *a, struct http_reply *r)
{
    struct gallery_slice sl;
    char err[STORE_ERRLEN] = "";
    char text[GALLERY_MAX][HASHID_MAX_LEN];
    const char *ptrs[GALLERY_MAX];
    size_t n = 0;
    int rc = gallery_collect(a->store, 0, GALLERY_HOME_SIZE, GALLERY_MAX_PROBES, &sl, err);
    if (rc == STORE_OK)
        n = slice_hashes(a, &sl, text, ptrs);
    else
        fprintf(stderr, "ipborg: home page without the latest grids: %s\n", err);
    page_home_latest(&r->body, ptrs, n);
    html_page_reply(r, 200);
    r->cache_control = rc == STORE_OK ? LISTING_CACHE_CONTROL : "no-store";
}

/* The value of query parameter name as a C string in b (reset first): NULL
 * when the request has none or names it without '=' ("?before" is the first
 * page, as no parameter is); "" for "?before=" (which parsers refuse). */
static const char *query_value(const struct http_request *req, const char *name,
                               struct buf *b)
{
    buf_reset(b);
    if (http_query_param(req->query, name, b) != 1 || buf_failed(b) || !b->data)
        return NULL;
    return b->data;
}

static void handle_gallery(void *app, const struct http_request *req, struct http_reply *r,
                           const char *arg)
{
    struct app *a = app;
    (void)arg;
    int64_t before;
    struct buf q = BUF_INIT;
    int bad = gallery_parse_before(query_value(req, "before", &q), &before) != 0;
    buf_free(&q);
    if (bad) {
        buf_reset(&r->body);
        page_error(&r->body, 400, "before= takes the number of a grid, as in the "
                                  "gallery's own \"Older grids\" links.");
        html_page_reply(r, 400);
        r->cache_control = "no-store";
        return;
    }
    struct gallery_slice sl;
    char err[STORE_ERRLEN] = "";
    int rc = gallery_collect(a->store, before, GALLERY_PAGE_SIZE, GALLERY_MAX_PROBES, &sl,
                             err);
    if (rc != STORE_OK) {
        store_failure(r, rc, err, 0);
        return;
    }
    char text[GALLERY_MAX][HASHID_MAX_LEN];
    const char *ptrs[GALLERY_MAX];
    struct page_gallery pg = {
        .hashes = ptrs,
        .n = slice_hashes(a, &sl, text, ptrs),
        .before = before,
        .older = sl.older,
    };
    page_gallery(&r->body, &pg);
    html_page_reply(r, 200);
    r->cache_control = LISTING_CACHE_CONTROL;
}

/* The grid as a thumbnail for the gallery, made once and then cached. */
static void grid_thumb(struct app *a, const struct http_request *req, enum grid_table t,
                       const char *hash, struct http_reply *r)
{
    char *json = NULL;
    size_t len = 0;
    if (load_grid_data(a, req, t, hash, 0, r, &json, &len) != STORE_OK)
        return;
    char ierr[256];
    int rc = image_render_thumb_png(&r->body, json, len, IMAGE_THUMB_SIDE, ierr, sizeof ierr);
    free(json);
    if (rc != 0) {
        fprintf(stderr, "ipborg: %s %s cannot be drawn: %s\n", store_table_name(t), hash,
                ierr);
        handle_not_found(a, req, r, NULL);
        return;
    }
    r->status = 200;
    r->content_type = "image/png";
    r->cacheable = 1;
    r->cache_control = grid_cache_control(t);
}

static void handle_thumb(void *app, const struct http_request *req, struct http_reply *r,
                         const char *arg)
{
    grid_thumb(app, req, GRID_PUBLIC, arg, r);
}

static void handle_thumb_secret(void *app, const struct http_request *req,
                                struct http_reply *r, const char *arg)
{
    grid_thumb(app, req, GRID_SECRET, arg, r);
}

/* The grid alone, for a frame on any site (the only framable answer). */
static void grid_embed(struct app *a, const struct http_request *req, enum grid_table t,
                       const char *hash, struct http_reply *r)
{
    char *json = NULL;
    size_t len = 0;
    if (load_grid_data(a, req, t, hash, 0, r, &json, &len) != STORE_OK)
        return;
    unsigned iw = 0, ih = 0;
    if (image_size(json, len, &iw, &ih) != 0)
        iw = ih = 0;
    free(json);
    struct page_embed pe = {.hash = hash, .secret = t == GRID_SECRET,
                            .image_width = iw, .image_height = ih};
    page_embed(&r->body, &pe);
    html_page_reply(r, 200);
    r->cacheable = 1;
    r->framable = 1;
    r->cache_control = grid_cache_control(t);
}

static void handle_embed(void *app, const struct http_request *req, struct http_reply *r,
                         const char *arg)
{
    grid_embed(app, req, GRID_PUBLIC, arg, r);
}

static void handle_embed_secret(void *app, const struct http_request *req,
                                struct http_reply *r, const char *arg)
{
    grid_embed(app, req, GRID_SECRET, arg, r);
}

/* GET /oembed?url=URL[&maxwidth=N][&maxheight=N][&format=json] (oembed.com):
 * a rich answer whose html frames /embed/HASH. Errors are JSON: 400 for a
 * missing url or a bad maximum, 404 for a URL that is not one of this site's
 * grids, 501 for a format other than json. */
static void handle_oembed(void *app, const struct http_request *req, struct http_reply *r,
                          const char *arg)
{
    struct app *a = app;
    (void)arg;
    r->cache_control = "no-store";
    struct buf qurl = BUF_INIT, qfmt = BUF_INIT, qw = BUF_INIT, qh = BUF_INIT;
    const char *url = query_value(req, "url", &qurl);
    const char *format = query_value(req, "format", &qfmt);
    unsigned maxw = 0, maxh = 0;
    int fmt_bad = format && strcmp(format, "json") != 0;
    int side_bad = embed_parse_side(query_value(req, "maxwidth", &qw), &maxw) != 0 ||
                   embed_parse_side(query_value(req, "maxheight", &qh), &maxh) != 0;
    buf_free(&qfmt);
    buf_free(&qw);
    buf_free(&qh);
    if (fmt_bad) {
        http_reply_json_error(r, 501, "format: only json is offered");
        buf_free(&qurl);
        return;
    }
    if (!url || !*url) {
        http_reply_json_error(r, 400, "url: the address of a grid of this site is required");
        buf_free(&qurl);
        return;
    }
    if (side_bad) {
        http_reply_json_error(r, 400, "maxwidth and maxheight: a whole number of pixels "
                                      "from 64 to 100000");
        buf_free(&qurl);
        return;
    }
    struct buf base = BUF_INIT;
    base_url(a, req, &base);
    bool secret = false;
    char hash[HASHID_MAX_LEN];
    enum embed_match m = embed_match_url(base.data ? base.data : "", url, &secret, hash,
                                         sizeof hash);
    buf_free(&qurl);   /* url is not used past this point */
    if (m != EMBED_URL_GRID) {
        http_reply_json_error(r, 404, m == EMBED_URL_OTHER_SITE
                                          ? "url: not an address of this site"
                                          : "url: not the address of a grid");
        buf_free(&base);
        return;
    }
    enum grid_table t = secret ? GRID_SECRET : GRID_PUBLIC;
    int64_t id;
    if (!parse_hash(a, t, hash, &id)) {
        http_reply_json_error(r, 404, "url: not the address of a grid");
        buf_free(&base);
        return;
    }
    char *json = NULL;
    size_t len = 0;
    if (load_grid_data(a, req, t, hash, 1, r, &json, &len) != STORE_OK) {
        buf_free(&base);
        return;
    }
    unsigned iw = 0, ih = 0;
    if (image_size(json, len, &iw, &ih) != 0)
        iw = ih = 0;
    free(json);
    struct embed_oembed e = {.base = base.data, .hash = hash, .secret = secret,
                             .provider = "ipborg"};
    embed_frame_size(iw, ih, maxw, maxh, &e.width, &e.height);
    embed_thumb_size(iw, ih, IMAGE_THUMB_SIDE, &e.thumb_w, &e.thumb_h);
    buf_reset(&r->body);
    if (embed_oembed_json(&r->body, &e) != 0) {
        http_reply_json_error(r, 500, "internal error");
    } else {
        r->status = 200;
        r->content_type = JSON;
        r->cache_control = grid_cache_control(t);
    }
    buf_free(&base);
}

/* The cacheable answers of the pages above about one grid: thumbnail, embed. */
static void forget_deleted_pages(struct http_server *srv, enum grid_table t,
                                 const char *hash)
{
    char path[HASHID_MAX_LEN + 32];
    const char *kind = t == GRID_SECRET ? "secret/" : "";
    snprintf(path, sizeof path, "/thumb/%s%s.png", kind, hash);
    http_server_forget(srv, path);
    snprintf(path, sizeof path, "/embed/%s%s", kind, hash);
    http_server_forget(srv, path);
}

/* Every cacheable path that names a grid, as the routes below spell them. */
void handlers_forget_deleted(void *app, const struct store_deletion *d)
{
    struct app *a = app;
    struct http_server *srv = atomic_load(&a->server);
    if (!srv)
        return;   /* not serving yet: nothing is cached */
    if (!d) {
        http_server_forget_all(srv);
        return;
    }
    char hash[HASHID_MAX_LEN];
    if (d->id <= 0 || hashid_encode(a->hashid[d->table], (uint64_t)d->id, hash,
                                    sizeof hash) < 0)
        return;   /* no URL names it */
    /* prefix, suffix */
    static const char *const forms[GRID_TABLES][3][2] = {
        [GRID_PUBLIC] = {{"/", ""}, {"/", ".png"}, {"/get/", ""}},
        [GRID_SECRET] = {{"/secret/", ""}, {"/secret/", ".png"}, {"/get/secret/", ""}},
    };
    for (int i = 0; i < 3; i++) {
        char path[HASHID_MAX_LEN + 32];
        snprintf(path, sizeof path, "%s%s%s", forms[d->table][i][0], hash,
                 forms[d->table][i][1]);
        http_server_forget(srv, path);
    }
    forget_deleted_pages(srv, d->table, hash);
}

const struct http_route handlers_routes[] = {
    {"POST", "/post", handle_post},
    {"GET", "/get/secret/*", handle_get_secret},
    {"GET", "/get/*", handle_get},
    {"GET", "/secret/*.png", handle_png_secret},
    {"GET", "/secret/*", handle_page_secret},
    {"GET", "/static/*", handle_static},
    {"GET", "/random", handle_random},
    {"GET", "/healthz", handle_healthz},
    {"GET", "/metrics", handle_metrics},
    {"GET", "/gallery", handle_gallery},
    {"GET", "/oembed", handle_oembed},
    {"GET", "/thumb/secret/*.png", handle_thumb_secret},
    {"GET", "/thumb/*.png", handle_thumb},
    {"GET", "/embed/secret/*", handle_embed_secret},
    {"GET", "/embed/*", handle_embed},
    {"GET", "/about", handle_about},
    {"GET", "/", handle_home},
    {"GET", "/*.png", handle_png},
    {"GET", "/*", handle_page},
    {NULL, NULL, NULL},
};
