/* server.c -- libmicrohttpd set-up, the edge (what a request must be to be
 * served), routing, the response cache, the request deadline, the access log
 * (server.h). Finished answers are built in response.c.
 *
 * libmicrohttpd runs a pool of worker threads, each with its own epoll loop.
 * For each request it calls on_uri once, on the raw request target, as soon
 * as the request line is read: that makes our per-request state (struct
 * exchange) and takes the query away from libmicrohttpd (see on_uri). Then it
 * calls on_request several times: the first call, once the headers are in,
 * is where the edge refuses what must not be served (framing, sizes, the
 * connection cap: answers queued there say "Connection: close", and
 * libmicrohttpd closes after them); later calls deliver the body; the call
 * with no more upload data dispatches to a handler and queues the response.
 * Queuing on that last call, not the first, is what keeps connections alive:
 * libmicrohttpd answers "Connection: close" to a response queued before it
 * has looked at the request body (it then cannot tell where the next request
 * starts), and keep-alive is worth 4x in throughput here.
 *
 * Invariants: every answer is queued at most once per request
 * (exchange.answered); a request that reaches a handler has a path that
 * starts with '/', holds no control character or backslash, and was not
 * spelled with %2F, %5C or %00; it used at most max_header_bytes of its
 * connection's memory, leaving ANSWER_RESERVE bytes for its answer's headers.
 *
 * The access-log line is written when the answer is queued. on_completed runs
 * once per request, whatever happened (also when the client went away, or
 * when libmicrohttpd answered the request itself), and frees the exchange;
 * the count of exchanges alive is what http_server_stop waits on. */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "metrics.h"
#include "response.h"

/* A connection, for the request deadline: waiting_since is the monotonic
 * second at which the connection started waiting for a whole request (when
 * it opened, or when its previous answer was done), 0 while a request is
 * being answered. */
struct tracked_conn {
    MHD_socket fd;
    atomic_llong waiting_since;
    struct tracked_conn *prev, *next;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct cache *cache;
    struct metrics *metrics;
    const char **route_names;     /* the patterns, then "other" */
    size_t nroutes;
    pthread_mutex_t conns_lock;   /* guards conns */
    struct tracked_conn *conns;
    pthread_t reaper;
    int reaper_running;
    atomic_int stopping;
    struct http_server_opts o;
    atomic_int in_flight;
    atomic_int open_conns;        /* connections libmicrohttpd holds now */
    unsigned port;
    /* Bumped by every forget. A request that read the store before a forget
     * may finish after it: it compares the count from before its handler ran
     * with the count after it cached, and drops what it cached if they
     * differ, so a forgotten answer never stays in the cache. */
    atomic_uint_fast64_t forgets;
};

/* One request from its request line (on_uri) to its completion. */
struct exchange {
    struct timespec start;
    size_t route;                 /* index into routes; nroutes: none */
    struct buf body;
    char *query;                  /* the query as sent (malloc'd), or NULL */
    int headers_seen;             /* on_request has had its first call */
    int answered;                 /* a response is queued: ignore the rest */
    int too_large;                /* body over max_body: 413 once it has ended */
    int refuse;                   /* status the request line earned (431, 500), or 0 */
    int unrouted;                 /* the target spelled '/' or '\' as %2F / %5C, or %00 */
    size_t target_len;            /* bytes of the request target as sent */
    int status;
    size_t bytes;
    struct cache_ref *held;       /* the cached answer this request is sending */
};

/* Connection memory. libmicrohttpd keeps a connection's request line, its
 * headers (and one record of about 64 bytes per header) and the headers of
 * the answer in one pool of fixed size. A request that fills it answers
 * itself (libmicrohttpd's 414 or 431), but one that fills it nearly leaves
 * no room for the answer's headers, and libmicrohttpd then closes the
 * connection without a word. So the pool is --max-header-bytes plus
 * ANSWER_RESERVE, and a request that uses more than --max-header-bytes of it
 * (by the estimate below) is refused (414 or 431) before anything else: every
 * request a handler sees leaves ANSWER_RESERVE bytes for its answer's headers
 * (Location included: a redirect longer than REDIRECT_MAX is not made). */
#define HEADER_RECORD 64
#define ANSWER_RESERVE 4096
#define REDIRECT_MAX 2048

/* --- the request deadline --------------------------------------------------------------- */

/* libmicrohttpd's own timeout closes connections that stay silent; a client
 * that sends one byte every few seconds (slowloris) would keep a connection
 * forever. So every connection is tracked from the moment it opens or its
 * last answer is done, and the reaper thread shuts down the socket of any
 * that has not delivered a whole request within client_timeout seconds;
 * libmicrohttpd then sees the socket closed and cleans up as usual.
 *
 * Safety of shutdown(fd): a tracked_conn is unlinked (under conns_lock) by the
 * CLOSED notification, which libmicrohttpd sends before it closes the
 * socket; the reaper only touches fds under the same lock, so it never shuts
 * a descriptor that was closed and reused. */

static long long mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec + 1;   /* never 0, which means "busy" */
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    struct tracked_conn *t = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->open_conns, 1);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&s->open_conns, 1);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        t = calloc(1, sizeof *t);
        if (!t || !ci) {
            free(t);
            return;   /* untracked: only libmicrohttpd's idle timeout applies */
        }
        t->fd = ci->connect_fd;
        atomic_store(&t->waiting_since, mono_seconds());
        pthread_mutex_lock(&s->conns_lock);
        t->next = s->conns;
        if (s->conns)
            s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->conns_lock);
        *socket_context = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && t) {
        pthread_mutex_lock(&s->conns_lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            s->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&s->conns_lock);
        free(t);
        *socket_context = NULL;
    }
}

static struct tracked_conn *tracked(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *reaper_main(void *arg)
{
    struct http_server *s = arg;
    const struct timespec tick = {0, 250 * 1000 * 1000};
    while (!atomic_load(&s->stopping)) {
        nanosleep(&tick, NULL);
        long long now = mono_seconds();
        pthread_mutex_lock(&s->conns_lock);
        for (struct tracked_conn *t = s->conns; t; t = t->next) {
            long long since = atomic_load(&t->waiting_since);
            if (since && now - since >= (long long)s->o.client_timeout) {
                shutdown(t->fd, SHUT_RDWR);
                atomic_store(&t->waiting_since, 0);
            }
        }
        pthread_mutex_unlock(&s->conns_lock);
    }
    return NULL;
}

/* --- replies ------------------------------------------------------------------ */

void http_reply_text(struct http_reply *r, int status, const char *content_type,
                     const char *text)
{
    r->status = status;
    r->content_type = content_type;
    buf_reset(&r->body);
    buf_puts(&r->body, text);
}

void http_reply_redirect(struct http_reply *r, int status, const char *location)
{
    r->status = status;
    free(r->location);
    r->location = strdup(location);
    r->content_type = "text/plain; charset=utf-8";
    buf_reset(&r->body);
}

/* JSON string escaping for error messages (which may quote user input). */
static void json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            buf_append(b, e, 6);
        } else {
            buf_putc(b, (char)*p);
        }
    }
    buf_putc(b, '"');
}

void http_reply_json_error(struct http_reply *r, int status, const char *message)
{
    r->status = status;
    r->content_type = "application/json";
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"error\": ");
    json_string(&r->body, message);
    buf_puts(&r->body, "}");
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* application/x-www-form-urlencoded, as browsers send a query: parameters
 * separated by '&', name and value by '=', '+' for a space, %HH for a byte
 * (a malformed escape stays as it is). */
static void form_decode(struct buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
        if (s[i] == '+') {
            buf_putc(out, ' ');
        } else if (s[i] == '%' && hi >= 0 && lo >= 0) {
            buf_putc(out, (char)(hi * 16 + lo));
            i += 2;
        } else {
            buf_putc(out, s[i]);
        }
    }
}

int http_query_param(const char *query, const char *name, struct buf *out)
{
    if (!query)
        return 0;
    struct buf key = BUF_INIT;
    size_t name_len = strlen(name);
    int found = 0;
    for (const char *p = query; !found; p++) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        buf_reset(&key);
        form_decode(&key, p, klen);
        if (!buf_failed(&key) && key.len == name_len &&
            (name_len == 0 || memcmp(key.data, name, name_len) == 0)) {
            buf_append(out, "", 0);   /* data is then a C string, even when empty */
            if (eq)
                form_decode(out, eq + 1, n - klen - 1);
            found = eq ? 1 : 2;
        }
        p += n;
        if (!*p)
            break;
    }
    buf_free(&key);
    return found;
}

/* --- access log ---------------------------------------------------------------- */

/* Appends in[0..) escaped to line at *len, reading at most max_in bytes of in
 * and writing at most 4 * max_in + 4 bytes: a byte outside 0x21..0x7e, or a
 * backslash, becomes \xHH (so a request can neither split a line nor forge a
 * field, and a raw backslash never appears); a longer input ends in "\...",
 * which escaped input cannot spell. */
static void log_escape(char *line, size_t *len, const char *in, size_t max_in)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(in ? in : "-");
    size_t n = *len, i = 0;
    for (; p[i] && i < max_in; i++) {
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') {
            line[n++] = (char)p[i];
        } else {
            line[n++] = '\\';
            line[n++] = 'x';
            line[n++] = hex[p[i] >> 4];
            line[n++] = hex[p[i] & 15];
        }
    }
    if (p[i]) {
        memcpy(line + n, "\\...", 4);
        n += 4;
    }
    *len = n;
}

size_t http_log_format(char *line, long long sec, long nsec, const char *method,
                       const char *path, int status, size_t bytes, long long usec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    /* Each snprintf below has room for its longest output: the time is 24
     * bytes for any year of four digits (or a little more), the numbers at
     * most 3 x 20; HTTP_LOG_LINE_MAX counts 64 + 64 for them. */
    char head[64];
    int h = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (nsec / 1000000) % 1000);
    size_t len = h < 0 ? 0 : (size_t)h < sizeof head ? (size_t)h : sizeof head - 1;
    memcpy(line, head, len);
    log_escape(line, &len, method, HTTP_LOG_METHOD_MAX);
    line[len++] = ' ';
    log_escape(line, &len, path, HTTP_LOG_PATH_MAX);
    char tail[64];
    int k = snprintf(tail, sizeof tail, " %d %zu %lld\n", status, bytes, usec);
    size_t tl = k < 0 ? 0 : (size_t)k < sizeof tail ? (size_t)k : sizeof tail - 1;
    memcpy(line + len, tail, tl);
    return len + tl;
}

/* One line per request, written with a single write(2) so that lines from
 * different threads never interleave. */
static void access_log(const char *method, const char *path, int status, size_t bytes,
                       long long usec)
{
    char line[HTTP_LOG_LINE_MAX];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t len = http_log_format(line, (long long)now.tv_sec, now.tv_nsec, method, path,
                                 status, bytes, usec);
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* Counts and logs the answer just queued for ex. */
static void log_exchange(struct http_server *s, struct exchange *ex, const char *method,
                         const char *url)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long usec = (end.tv_sec - ex->start.tv_sec) * 1000000LL +
                     (end.tv_nsec - ex->start.tv_nsec) / 1000;
    metrics_record(s->metrics, ex->route, ex->status, usec);
    if (!s->o.quiet)
        access_log(method, url, ex->status, ex->bytes, usec);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct exchange *ex = *req_cls;
    (void)toe;
    struct tracked_conn *tc = tracked(c);
    if (tc)
        atomic_store(&tc->waiting_since, mono_seconds());   /* next request's clock */
    if (!ex)
        return;
    cache_release(s->cache, ex->held);   /* the answer is sent (or never will be) */
    buf_free(&ex->body);
    free(ex->query);
    free(ex);
    *req_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* --- routing ------------------------------------------------------------------- */

/* Matches path against pattern; '*' takes a non-empty run of characters up to
 * the next '/' or, when the pattern goes on with a literal (as in "/ *.png"),
 * up to the first occurrence of that literal's first character. The run is
 * copied to arg (argsize bytes). 1 on a match. */
static int route_match(const char *pattern, const char *path, char *arg, size_t argsize)
{
    arg[0] = '\0';
    while (*pattern) {
        if (*pattern == '*') {
            char stop[3] = {'/', pattern[1], '\0'};
            size_t n = strcspn(path, stop);
            if (n == 0 || n >= argsize)
                return 0;
            memcpy(arg, path, n);
            arg[n] = '\0';
            path += n;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *path == '\0';
}

/* 1 if a Location of path[0..len) stays on this site: one '/' followed by
 * neither '/' nor a backslash ("//host" and "/\host" name another host to a
 * browser). */
static int local_path(const char *path, size_t len)
{
    return len >= 1 && path[0] == '/' && (len == 1 || (path[1] != '/' && path[1] != '\\'));
}

/* 1 if path holds a control character or a backslash: never a name of ours,
 * and never to be echoed into a Location. */
static int odd_path(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return 1;
    return 0;
}

size_t http_route_find(const struct http_route *routes, const char *method,
                       const char *path, char *arg, size_t argsize, size_t *redirect_len)
{
    size_t len = strlen(path);
    size_t n = 0;
    while (routes[n].method)
        n++;
    arg[0] = '\0';
    if (path[0] != '/' || odd_path(path))
        return n;
    if (len > 1 && path[len - 1] == '/') {
        while (len > 1 && path[len - 1] == '/')
            len--;
        if (!local_path(path, len))
            return n;
        *redirect_len = len;
        return HTTP_ROUTE_REDIRECT;
    }
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    for (size_t i = 0; i < n; i++) {
        const struct http_route *r = &routes[i];
        int method_ok = strcmp(r->method, "GET") == 0 ? is_get : strcmp(r->method, method) == 0;
        if (method_ok && route_match(r->pattern, path, arg, argsize))
            return i;
    }
    arg[0] = '\0';
    return n;
}

/* Runs the handler for req; returns the index of the route taken, or
 * nroutes for redirects and the not-found handler. unrouted: the request
 * target spelled a separator as an escape (%2F, %5C) or held %00, so the
 * path is no name of ours whatever it decodes to. */
static size_t dispatch(struct http_server *s, const struct http_request *req,
                       int unrouted, struct http_reply *reply)
{
    char arg[256];
    size_t redirect_len = 0;
    size_t i = unrouted ? s->nroutes
                        : http_route_find(s->o.routes, req->method, req->path, arg,
                                          sizeof arg, &redirect_len);
    if (i == HTTP_ROUTE_REDIRECT && redirect_len > REDIRECT_MAX)
        i = s->nroutes;   /* no name of ours is that long */
    if (i == HTTP_ROUTE_REDIRECT) {
        char *to = strndup(req->path, redirect_len);
        if (!to) {
            http_reply_text(reply, 500, "text/plain", "out of memory\n");
            return s->nroutes;
        }
        http_reply_redirect(reply, 301, to);
        free(to);
        return s->nroutes;
    }
    if (i >= s->nroutes) {
        s->o.not_found(s->o.app, req, reply, NULL);
        return s->nroutes;
    }
    const struct http_route *r = &s->o.routes[i];
    r->fn(s->o.app, req, reply, strchr(r->pattern, '*') ? arg : NULL);
    return i;
}

/* The cache key: path, a NUL, and the Host header when answers depend on it. */
static size_t cache_key(const struct http_server *s, const char *path, const char *host,
                        char *key, size_t size)
{
    size_t plen = strlen(path);
    size_t hlen = s->o.cache_by_host && host ? strlen(host) : 0;
    if (plen + 1 + hlen > size)
        return 0;
    memcpy(key, path, plen);
    key[plen] = '\0';
    if (hlen)   /* host may be NULL (HTTP/1.0 without Host): no memcpy from NULL */
        memcpy(key + plen + 1, host, hlen);
    return plen + 1 + hlen;
}

void http_server_forget(struct http_server *s, const char *path)
{
    atomic_fetch_add(&s->forgets, 1);
    cache_remove_prefix(s->cache, path, strlen(path) + 1);
}

void http_server_forget_all(struct http_server *s)
{
    atomic_fetch_add(&s->forgets, 1);
    cache_remove_prefix(s->cache, "", 0);
}

void http_server_metrics(struct http_server *s, struct buf *out)
{
    metrics_write(s->metrics, out);
    struct cache_stats st;
    memset(&st, 0, sizeof st);
    if (s->cache)
        cache_get_stats(s->cache, &st);
    buf_printf(out,
               "# HELP ipborg_cache_hits_total Requests answered from the response cache.\n"
               "# TYPE ipborg_cache_hits_total counter\n"
               "ipborg_cache_hits_total %llu\n"
               "# HELP ipborg_cache_misses_total Cacheable requests the cache did not hold.\n"
               "# TYPE ipborg_cache_misses_total counter\n"
               "ipborg_cache_misses_total %llu\n"
               "# HELP ipborg_cache_evictions_total Entries dropped to stay within the budget.\n"
               "# TYPE ipborg_cache_evictions_total counter\n"
               "ipborg_cache_evictions_total %llu\n"
               "# HELP ipborg_cache_entries Responses held in the cache.\n"
               "# TYPE ipborg_cache_entries gauge\n"
               "ipborg_cache_entries %llu\n"
               "# HELP ipborg_cache_bytes Bytes held in the cache (of ipborg_cache_max_bytes).\n"
               "# TYPE ipborg_cache_bytes gauge\n"
               "ipborg_cache_bytes %llu\n"
               "# TYPE ipborg_cache_max_bytes gauge\n"
               "ipborg_cache_max_bytes %llu\n",
               (unsigned long long)st.hits, (unsigned long long)st.misses,
               (unsigned long long)st.evictions, (unsigned long long)st.entries,
               (unsigned long long)st.bytes, (unsigned long long)st.max_bytes);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct exchange *ex,
                                  struct http_reply *r)
{
    struct MHD_Response *resp;
    size_t len;
    if (r->static_data) {
        len = r->static_len;
        resp = MHD_create_response_from_buffer(len, (void *)r->static_data,
                                               MHD_RESPMEM_PERSISTENT);
    } else if (buf_failed(&r->body)) {
        static const char oom[] = "out of memory\n";
        r->status = 500;
        r->content_type = "text/plain; charset=utf-8";
        len = sizeof oom - 1;
        resp = MHD_create_response_from_buffer(len, (void *)oom, MHD_RESPMEM_PERSISTENT);
    } else {
        len = r->body.len;
        char *data = r->body.data;
        r->body = (struct buf)BUF_INIT;
        resp = MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                               data ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (!resp)
            free(data);
    }
    if (!resp)
        return MHD_NO;
    response_add_headers(resp, r);
    /* libmicrohttpd closes the connection after a response that says so. */
    if (r->close &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ex->status = r->status;
    ex->bytes = len;
    ex->answered = 1;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void reply_free(struct http_reply *r)
{
    buf_free(&r->body);
    free(r->location);
}

/* Answers a request the edge refuses (a JSON error, like every error of the
 * API) and closes the connection after it: what follows such a request on
 * the connection cannot be trusted to be the next request. */
static enum MHD_Result reply_refusal(struct http_server *s, struct MHD_Connection *c,
                                     struct exchange *ex, int status, const char *message,
                                     const char *method, const char *url)
{
    struct http_reply r = {.status = status};
    http_reply_json_error(&r, status, message);
    r.cache_control = "no-store";
    r.close = 1;
    enum MHD_Result ret = send_reply(c, ex, &r);
    reply_free(&r);
    log_exchange(s, ex, method, url);
    return ret;
}

/* The answer to a request that used more than max_header_bytes of the pool:
 * it may have left little room, so this answer carries no header beyond the
 * ones libmicrohttpd adds (Date, Content-Length) and Connection: close. */
static enum MHD_Result reply_oversized(struct http_server *s, struct MHD_Connection *c,
                                       struct exchange *ex, int status, const char *method,
                                       const char *url)
{
    static const char target[] = "request target too long\n";
    static const char headers[] = "request headers too large\n";
    const char *text = status == 414 ? target : headers;
    size_t len = status == 414 ? sizeof target - 1 : sizeof headers - 1;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ex->status = status;
    ex->bytes = len;
    ex->answered = 1;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    log_exchange(s, ex, method, url);
    return ret;
}

static enum MHD_Result reply_too_large(struct http_server *s, struct MHD_Connection *c,
                                       struct exchange *ex, const char *method,
                                       const char *url)
{
    char msg[128];
    snprintf(msg, sizeof msg, "request body larger than %zu bytes", s->o.max_body);
    return reply_refusal(s, c, ex, 413, msg, method, url);
}

/* The total connection cap. libmicrohttpd itself, at its limit, stops
 * accepting: a client beyond it would wait in the listen backlog with no
 * answer. So libmicrohttpd's limit is set a little above --max-connections
 * (conn_headroom) and a request on a connection beyond the cap gets a clear
 * 503, queued on the first call so that the connection is closed after it. */
static unsigned conn_headroom(unsigned max_connections)
{
    unsigned h = max_connections / 8;
    return h < 8 ? 8 : h;
}

static enum MHD_Result reply_busy(struct http_server *s, struct MHD_Connection *c,
                                  struct exchange *ex, const char *method, const char *url)
{
    struct http_reply r = {.status = 503};
    http_reply_text(&r, 503, "text/plain; charset=utf-8",
                    "too many connections; try again shortly\n");
    r.cache_control = "no-store";
    r.close = 1;
    enum MHD_Result ret = send_reply(c, ex, &r);
    reply_free(&r);
    log_exchange(s, ex, method, url);
    return ret;
}

/* --- the edge: request line and framing ------------------------------------------- */


/* 414 or 431 if the request line and headers use more than max_header_bytes
 * of the connection's pool, else 0. */
static int oversized_request(const struct http_server *s, struct MHD_Connection *c,
                             const struct exchange *ex)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    int entries = MHD_get_connection_values(c, MHD_HEADER_KIND | MHD_COOKIE_KIND |
                                                   MHD_GET_ARGUMENT_KIND, NULL, NULL);
    size_t used = (ci ? ci->header_size : 0) +
                  HEADER_RECORD * (size_t)(entries > 0 ? entries : 0);
    if (used <= s->o.max_header_bytes)
        return 0;
    return ex->target_len + HEADER_RECORD > s->o.max_header_bytes ? 414 : 431;
}

static struct exchange *exchange_new(struct http_server *s)
{
    struct exchange *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &ex->start);
    ex->route = s->nroutes;
    atomic_fetch_add(&s->in_flight, 1);
    return ex;
}

/* 1 if s[0..n) spells a separator as an escape ("%2F", "%5C", any case),
 * which would route as something else than it reads, or a NUL ("%00", which
 * the unescape hook leaves as it is). */
static int escaped_separator(const char *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] != '%')
            continue;
        char a = s[i + 1], b = (char)(s[i + 2] | 0x20);
        if ((a == '2' && b == 'f') || (a == '5' && b == 'c') || (a == '0' && b == '0'))
            return 1;
    }
    return 0;
}

/* libmicrohttpd's URI log hook: it runs once per request, on the raw request
 * target, after the request line is read and before anything else is parsed.
 * It makes the request's exchange (the access handler's *req_cls; on_completed
 * frees it) and takes the query string away from libmicrohttpd.
 *
 * Why take the query: libmicrohttpd 0.9.75 stores every query argument as a
 * record in the connection's fixed memory pool (--max-header-bytes), and when
 * the pool runs out there -- ~450 arguments in a 2 KB URL, or a few in a URL
 * near the limit -- it neither answers nor closes: the connection hangs until
 * the timeout. ipborg reads no argument through libmicrohttpd, so the hook
 * copies the query into the exchange (http_request.query, http_query_param)
 * and ends the string libmicrohttpd is about to split at its '?': it then
 * stores no argument at all. (The target is libmicrohttpd's own writable
 * read buffer; the const is the hook's type. 0.9.75 finds the '?' before
 * calling the hook and splits what follows it after.) More parameters than
 * max_header_bytes / 256 earn a 431, answered once the headers are in. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct http_server *s = cls;
    (void)c;
    struct exchange *ex = exchange_new(s);
    if (!ex)
        return NULL;   /* on_request tries again, and answers 500 if it must */
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    ex->unrouted = escaped_separator(uri, plen);
    ex->target_len = strlen(uri);
    if (q) {
        ex->query = strdup(q + 1);
        if (!ex->query) {
            ex->refuse = 500;
        } else {
            size_t params = 1;
            for (const char *p = ex->query; *p; p++)
                params += *p == '&';
            size_t max_params = s->o.max_header_bytes / 256;
            if (params > max_params)
                ex->refuse = 431;
        }
        ((char *)uri)[plen + 1] = '\0';
    }
    return ex;
}

/* What the framing headers of a request say (RFC 9112 section 6). */
struct framing {
    unsigned content_lengths, transfer_encodings;
    const char *content_length;   /* the first value */
    const char *transfer_encoding;
    int cl_differ;                /* two Content-Length values differ */
    int cl_invalid;               /* a Content-Length that is not 1*DIGIT */
    int bad_name;                 /* a field name with whitespace (before the colon) */
};

static int all_digits(const char *v, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct framing *f = cls;
    (void)kind;
    if (key_size == 0 || memchr(key, ' ', key_size) || memchr(key, '\t', key_size))
        f->bad_name = 1;
    if (!value)
        value = "", value_size = 0;
    if (key_size == 14 && strncasecmp(key, "Content-Length", 14) == 0) {
        if (!all_digits(value, value_size))
            f->cl_invalid = 1;
        if (f->content_lengths++ == 0)
            f->content_length = value;
        else if (strcmp(f->content_length, value) != 0)
            f->cl_differ = 1;
    } else if (key_size == 17 && strncasecmp(key, "Transfer-Encoding", 17) == 0) {
        if (f->transfer_encodings++ == 0)
            f->transfer_encoding = value;
    }
    return MHD_YES;
}

/* The status for a request whose framing is refused, with *why; 0 if it is
 * fine. Called once the headers are in, before any body is read. */
static int framing_refusal(struct MHD_Connection *c, const char *version, const char **why)
{
    struct framing f = {0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, framing_header, &f);
    if (f.bad_name) {
        *why = "malformed header: a field name holds whitespace (before its colon)";
        return 400;
    }
    if (f.transfer_encodings && f.content_lengths) {
        *why = "both Content-Length and Transfer-Encoding: the body's length is ambiguous";
        return 400;
    }
    if (f.cl_differ) {
        *why = "Content-Length given twice with different values";
        return 400;
    }
    if (f.cl_invalid) {
        *why = "Content-Length is not a number";
        return 400;
    }
    if (f.transfer_encodings && version && strcmp(version, "HTTP/1.0") == 0) {
        /* RFC 9112 section 6.1: HTTP/1.0 has no Transfer-Encoding. */
        *why = "Transfer-Encoding in an HTTP/1.0 request";
        return 400;
    }
    if (f.transfer_encodings &&
        (f.transfer_encodings > 1 || strcasecmp(f.transfer_encoding, "chunked") != 0)) {
        *why = "Transfer-Encoding other than chunked is not implemented";
        return 501;
    }
    return 0;
}

/* An absolute-form target ("http://host/path", RFC 9112 section 3.2.2) is
 * served as its path, with its host in place of the Host header. Returns the
 * path within url (url itself when it is in origin form) and sets *host to a
 * malloc'd copy of the target's host (NULL when url is not absolute, or on
 * out of memory). */
static const char *target_path(const char *url, char **host)
{
    *host = NULL;
    size_t i = 0;
    if (!isalpha((unsigned char)url[0]))
        return url;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
        i++;
    if (strncmp(url + i, "://", 3) != 0)
        return url;
    const char *authority = url + i + 3;
    const char *path = strchr(authority, '/');
    size_t alen = path ? (size_t)(path - authority) : strlen(authority);
    if (alen)
        *host = strndup(authority, alen);
    return path ? path : "/";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct http_server *s = cls;
    struct exchange *ex = *req_cls;

    if (!ex) {   /* on_uri could not make it */
        ex = exchange_new(s);
        if (!ex)
            return MHD_NO;
        *req_cls = ex;
    }
    if (!ex->headers_seen) {
        /* The first call: the headers are in, no body is read yet. Answers
         * queued here make libmicrohttpd skip the body; each says
         * "Connection: close". */
        ex->headers_seen = 1;
        if ((unsigned)atomic_load(&s->open_conns) > s->o.max_connections)
            return reply_busy(s, c, ex, method, url);
        int big = oversized_request(s, c, ex);
        if (big)
            return reply_oversized(s, c, ex, big, method, url);
        if (ex->refuse == 431)
            return reply_refusal(s, c, ex, 431, "too many query parameters", method, url);
        if (ex->refuse)
            return reply_refusal(s, c, ex, ex->refuse, "out of memory", method, url);
        const char *why = NULL;
        int st = framing_refusal(c, version, &why);
        if (st)
            return reply_refusal(s, c, ex, st, why, method, url);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
            ex->too_large = 1;
            return reply_too_large(s, c, ex, method, url);
        }
        return MHD_YES;
    }
    if (ex->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (*upload_data_size) {
        /* A body over max_body (only a chunked one gets here: Content-Length
         * was checked above) is read to its end and dropped, then answered
         * 413: libmicrohttpd 0.9.75 cannot queue an answer in the middle of a
         * body, and closing while the client still sends would reset the
         * connection before the client reads any answer. The request
         * deadline (client_timeout) bounds how long this may take. */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (ex->too_large)
            return MHD_YES;
        if (n > s->o.max_body - ex->body.len) {
            ex->too_large = 1;
            buf_free(&ex->body);
            return MHD_YES;
        }
        buf_append(&ex->body, upload_data, n);
        return MHD_YES;
    }
    struct tracked_conn *tc = tracked(c);
    if (tc)
        atomic_store(&tc->waiting_since, 0);   /* a whole request is in */
    if (ex->too_large)
        return reply_too_large(s, c, ex, method, url);

    char *target_host = NULL;
    const char *path = target_path(url, &target_host);
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const char *host = target_host ? target_host
                                   : MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_HOST);
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    char key[1024];
    /* Answers are cached by path (the query is not part of the key, since
     * cacheable answers do not depend on it); never for an unrouted target,
     * which must not reach the answer for the path it decodes to. */
    size_t keylen = is_get && !ex->unrouted ? cache_key(s, path, host, key, sizeof key) : 0;
    struct response_hit hit = {.c = c, .if_none_match = inm, .gzip_ok = response_accepts_gzip(ae)};
    /* One copy of an answer however many read it: a hit holds the entry until
     * on_completed, and a miss either produces the answer for every reader
     * that comes meanwhile (lead) or waits for the one who does. */
    struct cache_ref *lead = NULL;
    if (keylen) {
        void *v;
        struct cache_ref *ref;
        enum cache_got got = cache_acquire(s->cache, key, keylen, &v, &ref);
        if (got == CACHE_HIT) {
            ex->held = ref;
            response_queue_cached(v, &hit);
            ex->route = hit.route;
            ex->status = hit.status;
            ex->bytes = hit.bytes;
            free(target_host);
            log_exchange(s, ex, method, url);
            return hit.ret;
        }
        if (got == CACHE_LEAD)
            lead = ref;
    }

    struct http_request req = {
        .method = method,
        .path = path,
        .query = ex->query,
        .host = host,
        .accept_encoding = ae,
        .if_none_match = inm,
        .body = ex->body.data,
        .body_len = ex->body.len,
    };
    struct http_reply reply = {.status = 200};
    uint_fast64_t forgets = atomic_load(&s->forgets);
    ex->route = dispatch(s, &req, ex->unrouted, &reply);
    enum MHD_Result ret;
    struct response_cached *e = NULL;
    if (keylen && reply.cacheable && reply.status == 200 && !buf_failed(&reply.body))
        e = response_make_cached(&reply);
    if (e) {
        e->route = ex->route;
        response_queue_cached(e, &hit);
        ret = hit.ret;
        ex->status = hit.status;
        ex->bytes = hit.bytes;
        size_t cost = e->plain_len + e->gz_len + 1024;
        if (lead && atomic_load(&s->forgets) == forgets) {
            cache_fill(s->cache, lead, e, cost);
            ex->held = lead;
            if (atomic_load(&s->forgets) != forgets)
                cache_remove(s->cache, key, keylen);
        } else if (lead) {
            cache_abandon(s->cache, lead);
            response_cached_free(e);   /* libmicrohttpd holds the queued response */
        } else if (atomic_load(&s->forgets) == forgets) {
            cache_put(s->cache, key, keylen, e, cost);
            if (atomic_load(&s->forgets) != forgets)
                cache_remove(s->cache, key, keylen);
        } else {
            response_cached_free(e);
        }
    } else {
        if (lead)
            cache_abandon(s->cache, lead);
        ret = send_reply(c, ex, &reply);
    }
    reply_free(&reply);
    buf_free(&ex->body);
    free(target_host);
    log_exchange(s, ex, method, url);
    return ret;
}

/* Percent-decoding of the path, in place (libmicrohttpd's hook). %00 stays as
 * it is: a NUL inside a path would cut it short and make "/%00" look like "/".
 * Malformed escapes stay as they are too. */
static size_t unescape_path(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
            !(r[1] == '0' && r[2] == '0')) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* --- start and stop --------------------------------------------------------------- */

/* libmicrohttpd's own messages, one escaped line each (they may quote
 * request bytes). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        return;
    /* libmicrohttpd's messages end with a newline, mostly; keep one line. */
    size_t mlen = strnlen(msg, sizeof msg - 1);
    while (mlen && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r'))
        mlen--;
    msg[mlen] = '\0';
    char line[sizeof "ipborg: http: " + 4 * sizeof msg + 8];
    size_t len = sizeof "ipborg: http: " - 1;
    memcpy(line, "ipborg: http: ", len);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            line[len++] = (char)*p;
        } else {
            len += (size_t)snprintf(line + len, sizeof line - len, "\\x%02x", *p);
        }
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

struct http_server *http_server_start(const struct http_server_opts *o, char *err,
                                      size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%u", o->port);
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", o->host,
                 gai_strerror(gai));
        return NULL;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = *o;
    if (!s->o.max_header_bytes)
        s->o.max_header_bytes = 32768;
    pthread_mutex_init(&s->conns_lock, NULL);
    while (o->routes[s->nroutes].method)
        s->nroutes++;
    s->route_names = calloc(s->nroutes + 1, sizeof *s->route_names);
    if (s->route_names) {
        for (size_t i = 0; i < s->nroutes; i++)
            s->route_names[i] = o->routes[i].pattern;
        s->route_names[s->nroutes] = "other";
        s->metrics = metrics_new(s->route_names, s->nroutes + 1);
    }
    if (!s->metrics) {
        free(s->route_names);
        freeaddrinfo(ai);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Also with a budget of 0, which keeps nothing: readers in flight still
     * share one copy of an answer (cache.h). */
    {
        s->cache = cache_new(o->cache_bytes, response_cached_free);
        if (!s->cache) {
            freeaddrinfo(ai);
            metrics_free(s->metrics);
            free(s->route_names);
            free(s);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    /* The default is well above one per core because handlers block in the
     * store: a worker waiting on a commit serves nobody else meanwhile. Posts
     * need many puts in flight -- on SQLite they then share one fsync (group
     * commit in store_sqlite.c), on PostgreSQL they use that many connections
     * at once -- and bench/http.sh measured ~2x the posts/s with 16 workers
     * than with 2 on 2 cores, GETs unchanged. Each worker costs a stack and, on
     * first use, one database connection (so 16 per process on PostgreSQL). */
    unsigned threads = o->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? 4 * (unsigned)n : 16;
        if (threads < 16)
            threads = 16;
        if (threads > 64)
            threads = 64;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,   /* first: it covers the other options */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections + conn_headroom(o->max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, o->client_timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_path, NULL,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->o.max_header_bytes + ANSWER_RESERVE,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s port %u (in use, or not allowed)",
                 o->host, o->port);
        cache_free(s->cache);
        metrics_free(s->metrics);
        free(s->route_names);
        free(s);
        return NULL;
    }
    s->reaper_running = pthread_create(&s->reaper, NULL, reaper_main, s) == 0;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon,
                                                         MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    return s;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s, unsigned grace_seconds)
{
    if (!s)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (unsigned i = 0; i < grace_seconds * 100 && atomic_load(&s->in_flight) > 0; i++)
        usleep(10000);
    atomic_store(&s->stopping, 1);
    if (s->reaper_running)
        pthread_join(s->reaper, NULL);
    MHD_stop_daemon(s->daemon);
    cache_free(s->cache);
    metrics_free(s->metrics);
    free(s->route_names);
    pthread_mutex_destroy(&s->conns_lock);
    free(s);
}
