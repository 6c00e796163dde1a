/* fuzz_router.c -- request line -> route: http_route_find (server.c), the
 * routing decision the server's dispatch makes, over the service's own table
 * handlers_routes (handlers.c).
 *
 * Input: "METHOD PATH" (method up to the first space, "GET" when there is
 * none; the path ends at the first NUL, as libmicrohttpd's does). Properties:
 * a route taken has the request's method (GET also for HEAD) and its pattern
 * matches the path, with the '*' argument a non-empty run without '/' copied
 * from the path; a redirect is only for trailing slashes, never to "//...",
 * and its target routes without another redirect; a GET of "/" + one segment
 * (no '/', no control character or backslash, which are never routed) always
 * finds a route (the grid pages take any such segment).
 * Seeds: every route's pattern instantiated with hash IDs from the vectors,
 * with and without trailing slashes. */
#include "fuzz.h"
#include "handlers.h"
#include "server.h"

static size_t count_routes(void)
{
    size_t n = 0;
    while (handlers_routes[n].method)
        n++;
    return n;
}

/* Does path match pattern with '*' standing for arg? (an independent check
 * of the matcher: substitute and compare) */
static int matches_with(const char *pattern, const char *arg, const char *path)
{
    char want[2048];
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcmp(pattern, path) == 0 && arg[0] == '\0';
    int n = snprintf(want, sizeof want, "%.*s%s%s", (int)(star - pattern), pattern, arg,
                     star + 1);
    return n > 0 && (size_t)n < sizeof want && strcmp(want, path) == 0;
}

/* Bytes that keep a path from being routed at all (server.h). */
static const char ODD[] = "\\\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char line[1025];
    memcpy(line, data, size);
    line[size] = '\0';
    const char *method = "GET";
    char *path = line;
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        method = line;
        path = sp + 1;
    }
    size_t n = count_routes();
    char arg[256];
    size_t redirect_len = 0;
    size_t i = http_route_find(handlers_routes, method, path, arg, sizeof arg, &redirect_len);
    size_t len = strlen(path);
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (i == HTTP_ROUTE_REDIRECT) {
        FUZZ_CHECK(len > 1 && path[len - 1] == '/');
        FUZZ_CHECK(redirect_len >= 1 && redirect_len < len);
        FUZZ_CHECK(strspn(path + redirect_len, "/") == len - redirect_len);
        FUZZ_CHECK(redirect_len == 1 || path[redirect_len - 1] != '/');
        FUZZ_CHECK(!(redirect_len >= 2 && path[0] == '/' && path[1] == '/'));
        FUZZ_CHECK(path[0] == '/' && !(redirect_len >= 2 && path[1] == '\\'));
        FUZZ_CHECK(!strpbrk(path, ODD));   /* a Location never holds them */
        char to[1025];
        memcpy(to, path, redirect_len);
        to[redirect_len] = '\0';
        size_t again = 0;
        FUZZ_CHECK(http_route_find(handlers_routes, method, to, arg, sizeof arg, &again) !=
                   HTTP_ROUTE_REDIRECT);
        return 0;
    }
    FUZZ_CHECK(i <= n);
    if (i < n) {
        const struct http_route *r = &handlers_routes[i];
        FUZZ_CHECK(strcmp(r->method, "GET") == 0 ? is_get : strcmp(r->method, method) == 0);
        FUZZ_CHECK(strlen(arg) < sizeof arg);
        if (strchr(r->pattern, '*'))
            FUZZ_CHECK(arg[0] != '\0' && !strchr(arg, '/'));
        FUZZ_CHECK(matches_with(r->pattern, arg, path));
        /* No earlier route takes it: the first match wins. */
        for (size_t j = 0; j < i; j++) {
            const struct http_route only[2] = {handlers_routes[j], {NULL, NULL, NULL}};
            char a2[256];
            size_t rl = 0;
            FUZZ_CHECK(http_route_find(only, method, path, a2, sizeof a2, &rl) == 1);
        }
    } else if (is_get && path[0] == '/' && len > 1 && len < sizeof arg &&
               !strchr(path + 1, '/') && !strpbrk(path, ODD)) {
        FUZZ_CHECK(!"a GET of /SEGMENT found no route");
    }
    return 0;
}
