/* server.h -- the HTTP layer: libmicrohttpd set-up, routing, responses and
 * the access log. It knows nothing of grids: handlers (handlers.c) get a
 * struct http_request and fill a struct http_reply, and this layer turns the
 * reply into bytes on the wire.
 *
 * Routing. A route is a method and a pattern in which '*' stands for a
 * non-empty run of characters within one path segment, ending at the next '/'
 * or at the character that follows '*' in the pattern: "/get/secret/ *" takes
 * a whole segment, "/ *.png" takes "bizkiL" from "/bizkiL.png". Routes are
 * tried in order, the first match wins. GET routes also
 * answer HEAD (libmicrohttpd drops the body). A path with trailing slashes is
 * answered 301 to the path without them; a path matching no route goes to the
 * not-found handler.
 *
 * The edge (RFC 9112). Before any handler runs, a request is refused with a
 * status line and a close when its framing is ambiguous: Content-Length
 * together with Transfer-Encoding, Content-Length values that differ or are
 * not numbers, whitespace in a header's name (before its colon) -> 400; a
 * Transfer-Encoding other than "chunked" -> 501; more query parameters than
 * max_header_bytes / 256 -> 431. A redirect only ever points to a path of this
 * site: one '/' followed by neither '/' nor '\'. A path that holds control
 * characters or a backslash, or whose request target spelled a '/' or '\' as
 * %2F / %5C, is not routed at all (404). An absolute-form target
 * ("GET http://host/path") is served as its path, with its host as the Host.
 *
 * The access log: one line per answered request, every byte of the method and
 * the path outside printable ASCII (and the backslash, and the space) written
 * as \xHH, each field cut at a fixed length, so a line is at most
 * HTTP_LOG_LINE_MAX bytes and a request can never forge or split one.
 *
 * Bodies. A request body is buffered up to max_body bytes; a larger one is
 * answered 413 as soon as Content-Length shows it (or as soon as a chunked body
 * passes the limit), without reading the rest.
 *
 * Caching. Answers a handler marks cacheable are kept, finished, in a bounded
 * LRU (cache.h) as libmicrohttpd response objects: a later GET of the path is
 * answered without calling the handler or allocating, with a strong ETag
 * (If-None-Match gives 304) and, for text over 1 KB when the client accepts
 * it, the gzip form compressed once when the entry was made.
 *
 * Every response carries the security headers (nosniff, a Content-Security-
 * Policy that forbids scripts, a referrer policy) and refuses to be framed
 * unless the handler marked it framable. */
#ifndef IPBORG_SERVER_H
#define IPBORG_SERVER_H

#include <stddef.h>
#include "buf.h"

struct http_request {
    const char *method;           /* "GET", "HEAD", "POST", ... */
    const char *path;             /* decoded path, without the query */
    /* The query as sent (after '?', not decoded; http_query_param reads it), or
     * NULL. Answers are cached by path alone: a handler whose answer depends
     * on the query must not mark it cacheable. */
    const char *query;
    const char *host;             /* Host header (or an absolute-form target's host), or NULL */
    const char *accept_encoding;  /* or NULL */
    const char *if_none_match;    /* or NULL */
    const char *body;             /* POST body (not NUL-terminated), or NULL */
    size_t body_len;
};

/* What a handler answers. Exactly one of body / static_data is used: a
 * handler either appends to body (owned by the reply, freed by the server) or
 * points static_data at bytes that live as long as the program. */
struct http_reply {
    int status;                   /* default 200 */
    const char *content_type;     /* a literal */
    struct buf body;
    const void *static_data;
    size_t static_len;
    char *location;               /* malloc'd, or NULL */
    const char *cache_control;    /* a literal, or NULL */
    int close;                    /* "Connection: close": no further request on this connection */
    /* Set by a handler when this 200 answer is the same for every later GET
     * of this path (a grid, a fixed page, a static file): the server then
     * keeps the finished response (and its gzip form) and answers later
     * requests for the path from memory, with a strong ETag. */
    int cacheable;
    /* Set by a handler whose answer any site may show in a frame (embeds):
     * Content-Security-Policy frame-ancestors * and no X-Frame-Options.
     * Every other answer refuses frames (frame-ancestors 'none', DENY). */
    int framable;
};

/* A handler. arg is the segment matched by '*' in the route (NUL-terminated,
 * may be NULL when the pattern has none). */
typedef void (*http_handler)(void *app, const struct http_request *req,
                             struct http_reply *reply, const char *arg);

struct http_route {
    const char *method;           /* "GET" (answers HEAD too) or "POST" */
    const char *pattern;
    http_handler fn;
};

/* The routing decision for method and path, without running anything (the
 * pure part of the server's dispatch, exported so it can be tested and fuzzed
 * on its own). routes ends with a NULL method; n is its number of routes.
 * Returns:
 *   i < n                route i takes the request; arg[0..argsize) holds the
 *                        segment its '*' matched ("" when it has none);
 *   n                    no route: the not-found handler answers; also for
 *                        every path that does not start with '/' or holds a
 *                        control character (< 0x20, 0x7f) or a backslash;
 *   HTTP_ROUTE_REDIRECT  path has trailing slashes: answer 301 to its first
 *                        *redirect_len bytes (the path without them, >= 1),
 *                        which start with one '/' followed by neither '/'
 *                        nor '\' (otherwise the answer is n: a Location
 *                        like "//host" or "/\host" leads a browser to
 *                        another site).
 * arg must hold at least one byte. */
#define HTTP_ROUTE_REDIRECT ((size_t)-1)
size_t http_route_find(const struct http_route *routes, const char *method,
                       const char *path, char *arg, size_t argsize, size_t *redirect_len);

struct http_server_opts {
    const char *host;             /* numeric address or name */
    unsigned port;                /* 0: any free port */
    unsigned threads;             /* 0: 4 per core, 16 to 64 */
    unsigned max_connections;
    unsigned max_per_ip;          /* 0: no cap */
    unsigned client_timeout;      /* seconds */
    /* What the request line and headers may use of a connection's memory
     * (libmicrohttpd's pool, which is this + 4 KB for the answer's headers);
     * more is a 414 or 431. Also bounds the query: more than this / 256
     * parameters is a 431. 0: 32768. */
    size_t max_header_bytes;
    size_t max_body;
    int quiet;                    /* no access log */
    size_t cache_bytes;           /* response cache budget; 0: no cache */
    int cache_by_host;            /* cached answers differ by Host header */
    const struct http_route *routes;   /* ends with a NULL method */
    http_handler not_found;
    void *app;
};

struct http_server;

/* The value of query parameter name (decoded: %HH and '+'), appended to out
 * (NUL-terminated). query is http_request.query ("a=1&b=2", may be NULL).
 * 1 if the parameter is present with '=' (the first one when repeated; its
 * value may be empty), 2 if present without '=' ("?name&..."; out holds ""),
 * 0 if not. */
int http_query_param(const char *query, const char *name, struct buf *out);

/* One access-log line: "TIME METHOD PATH STATUS BYTES USEC\n", TIME in UTC
 * (ISO 8601, milliseconds) from sec/nsec (CLOCK_REALTIME). method and path
 * may be NULL ("-"); their bytes outside 0x21..0x7e, and '\', become \xHH;
 * the method is cut after HTTP_LOG_METHOD_MAX bytes and the path after
 * HTTP_LOG_PATH_MAX, a cut field ending in "\...". Writes at most
 * HTTP_LOG_LINE_MAX bytes (no NUL) to line (which holds that many) and returns
 * the length. Exported for the unit tests. */
#define HTTP_LOG_METHOD_MAX 32
#define HTTP_LOG_PATH_MAX 1024
/* time, method, space, path, status and sizes; an escaped field is at most 4
 * bytes per input byte and 4 for the cut mark. */
#define HTTP_LOG_LINE_MAX \
    (64 + (4 * HTTP_LOG_METHOD_MAX + 4) + 1 + (4 * HTTP_LOG_PATH_MAX + 4) + 64)
size_t http_log_format(char *line, long long sec, long nsec, const char *method,
                       const char *path, int status, size_t bytes, long long usec);

/* Starts listening and serving on worker threads. NULL + err on failure. */
struct http_server *http_server_start(const struct http_server_opts *o, char *err,
                                      size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *s);
/* Stops accepting, waits (up to grace_seconds) for requests in flight to be
 * answered, then closes every connection and frees the server. */
void http_server_stop(struct http_server *s, unsigned grace_seconds);

/* Drops every cached answer for path (all hosts, all encodings): after a
 * grid is deleted. */
void http_server_forget(struct http_server *s, const char *path);
/* Drops every cached answer: when deletions may have been missed. */
void http_server_forget_all(struct http_server *s);

/* Appends the server's metrics in Prometheus text format: requests by route
 * and status, a latency histogram per route, the response cache. */
void http_server_metrics(struct http_server *s, struct buf *out);

/* Helpers for handlers. */
void http_reply_text(struct http_reply *r, int status, const char *content_type,
                     const char *text);
void http_reply_redirect(struct http_reply *r, int status, const char *location);
/* {"error": message} with the given status. */
void http_reply_json_error(struct http_reply *r, int status, const char *message);

#endif
