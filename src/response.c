/* response.c -- finished answers as libmicrohttpd response objects: the
 * headers every answer carries (security headers included), and the cached
 * form of a cacheable answer -- plain, gzip and 304 variants with a strong
 * ETag -- that server.c keeps in its response cache and queues on any number
 * of connections at once (libmicrohttpd counts references to a response).
 *
 * Invariants: an entry's three responses carry the same ETag and
 * Cache-Control; the gzip variant exists only when it is smaller than the
 * plain body, and then both carry Vary: Accept-Encoding. */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "hash.h"

#define CSP_COMMON                                                                 \
    "default-src 'self'; script-src 'none'; object-src 'none'; "                   \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "    \
    "form-action 'self'; "
static const char CSP[] = CSP_COMMON "frame-ancestors 'none'";
/* Embeds (http_reply.framable): any site may frame them. */
static const char CSP_FRAMABLE[] = CSP_COMMON "frame-ancestors *";

void response_add_headers(struct MHD_Response *resp, const struct http_reply *r)
{
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->cache_control)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache_control);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            r->framable ? CSP_FRAMABLE : CSP);
    if (!r->framable)
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
}

void response_cached_free(void *v)
{
    struct response_cached *e = v;
    if (e->plain)
        MHD_destroy_response(e->plain);
    if (e->gz)
        MHD_destroy_response(e->gz);
    if (e->not_modified)
        MHD_destroy_response(e->not_modified);
    free(e);
}

/* 1 if an Accept-Encoding value accepts gzip (a "gzip" token without q=0). */
int response_accepts_gzip(const char *ae)
{
    if (!ae)
        return 0;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",;");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        int is_gzip = n == 4 && strncasecmp(p, "gzip", 4) == 0;
        p += strcspn(p, ",;");
        int q0 = 0;
        while (*p == ';') {
            p++;
            while (*p == ' ')
                p++;
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                q0 = strtod(p + 2, NULL) <= 0.0;
            p += strcspn(p, ",;");
        }
        if (is_gzip && !q0)
            return 1;
    }
    return 0;
}

/* 1 if an If-None-Match value names etag (weak comparison, as RFC 9110 asks). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == elen && memcmp(p, etag, n) == 0)
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

static int compressible(const char *type)
{
    return type && (!strncmp(type, "text/", 5) || !strncmp(type, "application/json", 16) ||
                    !strncmp(type, "image/svg+xml", 13));
}

/* gzip of data[0..len) into out; 0 on success. */
static int gzip_bytes(const void *data, size_t len, struct buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&z, (uLong)len);
    if (buf_reserve(out, bound)) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

#define GZIP_MIN 1024

/* A kept body holds only its bytes: buffers grow by doubling and the gzip
 * output is reserved at deflate's worst case, so without this a kept answer
 * could cost up to twice its size for as long as it lives. */
static void trim(struct buf *b)
{
    if (b->data && b->cap > b->len + 1 + b->len / 64) {
        char *p = realloc(b->data, b->len + 1);
        if (p) {
            b->data = p;
            b->cap = b->len + 1;
        }
    }
}

/* Turns a cacheable reply into a cache entry (taking its body). NULL on out
 * of memory. */
struct response_cached *response_make_cached(struct http_reply *r)
{
    struct response_cached *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    const void *data = r->static_data ? r->static_data : r->body.data;
    size_t len = r->static_data ? r->static_len : r->body.len;
    if (!data)
        data = "";
    snprintf(e->etag, sizeof e->etag, "\"%016llx\"", (unsigned long long)hash64(data, len));
    int vary = compressible(r->content_type) && len >= GZIP_MIN;
    if (vary) {
        struct buf z = BUF_INIT;
        if (gzip_bytes(data, len, &z) == 0 && z.len < len) {
            trim(&z);
            e->gz_len = z.len;
            e->gz = MHD_create_response_from_buffer(z.len, z.data, MHD_RESPMEM_MUST_FREE);
            if (e->gz)
                z = (struct buf)BUF_INIT;
        }
        buf_free(&z);
    }
    e->plain_len = len;
    if (r->static_data || !r->body.data) {
        /* static bytes, or an empty body ("", which must not be freed) */
        e->plain = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    } else {
        trim(&r->body);
        data = r->body.data;
        e->plain = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_FREE);
        if (e->plain)
            r->body = (struct buf)BUF_INIT;
    }
    e->not_modified = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!e->plain || !e->not_modified) {
        response_cached_free(e);
        return NULL;
    }
    struct MHD_Response *all[3] = {e->plain, e->gz, e->not_modified};
    for (int i = 0; i < 3; i++) {
        if (!all[i])
            continue;
        if (i < 2)
            response_add_headers(all[i], r);
        else if (r->cache_control)
            MHD_add_response_header(all[i], MHD_HTTP_HEADER_CACHE_CONTROL, r->cache_control);
        MHD_add_response_header(all[i], MHD_HTTP_HEADER_ETAG, e->etag);
        if (vary)
            MHD_add_response_header(all[i], MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    }
    if (e->gz)
        MHD_add_response_header(e->gz, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return e;
}


/* Queues the right form of a cached answer (called under the cache lock). */
void response_queue_cached(void *value, void *ctx)
{
    struct response_cached *e = value;
    struct response_hit *h = ctx;
    h->route = e->route;
    if (h->if_none_match && etag_matches(h->if_none_match, e->etag)) {
        h->status = 304;
        h->bytes = 0;
        h->ret = MHD_queue_response(h->c, 304, e->not_modified);
    } else if (h->gzip_ok && e->gz) {
        h->status = 200;
        h->bytes = e->gz_len;
        h->ret = MHD_queue_response(h->c, 200, e->gz);
    } else {
        h->status = 200;
        h->bytes = e->plain_len;
        h->ret = MHD_queue_response(h->c, 200, e->plain);
    }
}
