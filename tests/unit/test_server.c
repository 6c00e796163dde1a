/* test_server.c -- the pure parts of the HTTP edge: the routing decision
 * (a redirect never leaves the site, odd paths are never routed), the
 * access-log line (every byte outside printable ASCII escaped, bounded in
 * length whatever the input) and the query parameter reader. */
#include "unit.h"

#include "server.h"

static void h(void *app, const struct http_request *req, struct http_reply *reply,
              const char *arg)
{
    (void)app, (void)req, (void)reply, (void)arg;
}

static const struct http_route routes[] = {
    {"POST", "/post", h},
    {"GET", "/get/*", h},
    {"GET", "/about", h},
    {"GET", "/", h},
    {"GET", "/*.png", h},
    {"GET", "/*", h},
    {NULL, NULL, NULL},
};
#define NROUTES 6

static size_t route(const char *method, const char *path, char *arg, size_t *redirect_len)
{
    *redirect_len = 0;
    return http_route_find(routes, method, path, arg, 64, redirect_len);
}

static void test_routes(void **state)
{
    (void)state;
    char arg[64];
    size_t rl;
    assert_int_equal(route("GET", "/about", arg, &rl), 2);
    assert_int_equal(route("HEAD", "/get/abc", arg, &rl), 1);
    assert_string_equal(arg, "abc");
    assert_int_equal(route("GET", "/bizkiL.png", arg, &rl), 4);
    assert_string_equal(arg, "bizkiL");
    assert_int_equal(route("POST", "/post", arg, &rl), 0);
    assert_int_equal(route("GET", "/post", arg, &rl), 5);
}

/* Every redirect the router decides on points to a path of this site. */
static void test_redirects_stay_on_the_site(void **state)
{
    (void)state;
    char arg[64];
    size_t rl;
    assert_int_equal(route("GET", "/about/", arg, &rl), HTTP_ROUTE_REDIRECT);
    assert_int_equal(rl, 6);
    assert_int_equal(route("GET", "/a/b///", arg, &rl), HTTP_ROUTE_REDIRECT);
    assert_int_equal(rl, 4);
    assert_int_equal(route("GET", "///", arg, &rl), HTTP_ROUTE_REDIRECT);
    assert_int_equal(rl, 1);
    /* what a browser would take for another host, or no path at all */
    static const char *const away[] = {
        "//evil.example/", "//evil.example//", "/\\evil.example/", "/\\/evil.example/",
        "/\t/evil.example/", "/\r\n/", "/a\r\nLocation: x/", "/\x7f/", "/\x01/",
        "http://evil.example/", "evil.example/", "*", "", "/a\\b/",
    };
    for (size_t i = 0; i < sizeof away / sizeof away[0]; i++) {
        size_t r = route("GET", away[i], arg, &rl);
        if (r != NROUTES)
            fail_msg("path \"%s\": route %zu, want not found (%d)", away[i], r, NROUTES);
    }
    /* odd paths are never routed, with or without a trailing slash */
    assert_int_equal(route("GET", "/get/a\\b", arg, &rl), NROUTES);
    assert_int_equal(route("GET", "/get/a\tb", arg, &rl), NROUTES);
    assert_int_equal(route("GET", "/ab\x1b[2J", arg, &rl), NROUTES);
}

/* Every redirect of every path made of a few hostile bytes is a local path. */
static void test_redirects_exhaustive(void **state)
{
    (void)state;
    static const char alphabet[] = {'/', '\\', 'a', '.', ':', '\t', '\r', '@', '%'};
    enum { K = sizeof alphabet };
    char path[8], arg[64];
    for (unsigned n = 0; n < K * K * K * K * K; n++) {
        unsigned v = n;
        for (int i = 0; i < 5; i++, v /= K)
            path[i] = alphabet[v % K];
        path[5] = '/';
        path[6] = '\0';
        size_t rl;
        size_t r = route("GET", path, arg, &rl);
        if (r == HTTP_ROUTE_REDIRECT) {
            if (rl < 1 || path[0] != '/' || (rl > 1 && (path[1] == '/' || path[1] == '\\')))
                fail_msg("\"%s\" redirects to \"%.*s\"", path, (int)rl, path);
            for (size_t i = 0; i < rl; i++)
                if ((unsigned char)path[i] < 0x20 || path[i] == '\\')
                    fail_msg("\"%s\" redirects to a Location with byte 0x%02x", path,
                             (unsigned char)path[i]);
        }
    }
}

static size_t fmt(char *line, const char *method, const char *path)
{
    return http_log_format(line, 1700000000, 123456789, method, path, 200, 42, 7);
}

static void test_log_line(void **state)
{
    (void)state;
    char line[HTTP_LOG_LINE_MAX + 1];
    size_t n = fmt(line, "GET", "/about");
    line[n] = '\0';
    assert_string_equal(line, "2023-11-14T22:13:20.123Z GET /about 200 42 7\n");
    n = fmt(line, NULL, NULL);
    line[n] = '\0';
    assert_string_equal(line, "2023-11-14T22:13:20.123Z - - 200 42 7\n");
    n = fmt(line, "G\x1b[31mET", "/a b\r\n\\\x7f\xc3\xa9");
    line[n] = '\0';
    assert_string_equal(line, "2023-11-14T22:13:20.123Z G\\x1b[31mET "
                              "/a\\x20b\\x0d\\x0a\\x5c\\x7f\\xc3\\xa9 200 42 7\n");
}

static void test_log_line_is_bounded(void **state)
{
    (void)state;
    size_t big = 100000;
    char *method = malloc(big + 1), *path = malloc(big + 1);
    assert_non_null(method);
    assert_non_null(path);
    /* the worst case: every byte escaped */
    memset(method, 0x1b, big);
    memset(path, 0xff, big);
    method[big] = path[big] = '\0';
    char *line = malloc(HTTP_LOG_LINE_MAX + 64);
    assert_non_null(line);
    memset(line, 'Z', HTTP_LOG_LINE_MAX + 64);
    size_t n = http_log_format(line, -1, 999999999, method, path, -2147483647 - 1,
                               (size_t)-1, -9223372036854775807LL - 1);
    assert_true(n <= HTTP_LOG_LINE_MAX);
    assert_int_equal(line[n - 1], '\n');
    for (size_t i = n; i < HTTP_LOG_LINE_MAX + 64; i++)
        assert_int_equal(line[i], 'Z');   /* nothing written beyond the line */
    for (size_t i = 0; i + 1 < n; i++)
        if (line[i] < 0x20 || line[i] > 0x7e)
            fail_msg("byte 0x%02x at %zu", (unsigned char)line[i], i);
    line[n] = '\0';
    /* each field is cut, and says so */
    assert_non_null(strstr(line, "\\x1b\\... "));
    assert_non_null(strstr(line, "\\xff\\... "));
    /* a plain long path too */
    memset(path, 'p', big);
    path[0] = '/';
    n = http_log_format(line, 0, 0, "GET", path, 200, 0, 0);
    assert_true(n <= HTTP_LOG_LINE_MAX);
    line[n] = '\0';
    assert_non_null(strstr(line, " /ppp"));
    char *cut = strstr(line, "\\...");
    assert_non_null(cut);
    assert_int_equal(cut - strstr(line, " /") - 1, HTTP_LOG_PATH_MAX);
    free(method);
    free(path);
    free(line);
}

static void check_param(const char *query, const char *name, int found, const char *want)
{
    struct buf out = BUF_INIT;
    int got = http_query_param(query, name, &out);
    if (got != found)
        fail_msg("query \"%s\", name \"%s\": found %d, want %d", query ? query : "(null)", name,
                 got, found);
    if (found && strcmp(out.data ? out.data : "(null)", want) != 0)
        fail_msg("query \"%s\", name \"%s\": \"%s\", want \"%s\"", query, name,
                 out.data ? out.data : "(null)", want);
    buf_free(&out);
}

static void test_query_param(void **state)
{
    (void)state;
    check_param("url=http%3A%2F%2Fx%2Fabc&maxwidth=300", "url", 1, "http://x/abc");
    check_param("url=http%3A%2F%2Fx%2Fabc&maxwidth=300", "maxwidth", 1, "300");
    check_param("a=1&a=2", "a", 1, "1");
    check_param("a+b=c+d%20e", "a b", 1, "c d e");
    check_param("a=&b", "a", 1, "");
    check_param("a=&b", "b", 2, "");
    check_param("a=%zz%4", "a", 1, "%zz%4");
    check_param("aa=1", "a", 0, NULL);
    check_param("", "a", 0, NULL);
    check_param(NULL, "a", 0, NULL);
    check_param("&&&", "a", 0, NULL);
    check_param("x=1&%61=2", "a", 1, "2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_redirects_stay_on_the_site),
        cmocka_unit_test(test_redirects_exhaustive),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_log_line_is_bounded),
        cmocka_unit_test(test_query_param),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
