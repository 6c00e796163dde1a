/* response.h -- the HTTP layer's finished answers (response.c): headers, and
 * the cached form of an answer with its ETag, gzip and 304 variants. Used by
 * server.c only; handlers never see libmicrohttpd. */
#ifndef IPBORG_RESPONSE_H
#define IPBORG_RESPONSE_H

#include <microhttpd.h>
#include <stddef.h>

#include "server.h"

/* Content type, Location, Cache-Control of r, and the security headers
 * (nosniff, a Content-Security-Policy that forbids scripts, referrer policy,
 * and the frame policy: X-Frame-Options DENY unless r->framable). */
void response_add_headers(struct MHD_Response *resp, const struct http_reply *r);

/* A finished answer: the plain and (if worth it) gzip responses, and the 304
 * for a client that holds it already. libmicrohttpd counts references to a
 * response, so one object is queued on any number of connections at once. */
struct response_cached {
    struct MHD_Response *plain, *gz, *not_modified;
    size_t plain_len, gz_len;
    size_t route;                 /* for the metrics of cache hits */
    char etag[20];                /* "\"0123456789abcdef\"" */
};

/* Turns a cacheable reply into a cache entry (taking its body). NULL on out
 * of memory. The caller sets route. */
struct response_cached *response_make_cached(struct http_reply *r);
/* Frees an entry (the cache's free function). */
void response_cached_free(void *v);

/* 1 if an Accept-Encoding value accepts gzip (a "gzip" token without q=0). */
int response_accepts_gzip(const char *accept_encoding);

/* What response_queue_cached needs from the request, and what it did. */
struct response_hit {
    struct MHD_Connection *c;
    const char *if_none_match;
    int gzip_ok;
    enum MHD_Result ret;
    int status;
    size_t bytes;
    size_t route;
};

/* Queues the right form of a cached answer for h (If-None-Match -> 304, gzip
 * when accepted); a cache_use_fn, called under the cache's lock. */
void response_queue_cached(void *value, void *ctx);

#endif
