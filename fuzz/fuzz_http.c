/* fuzz_http.c -- the whole request path: arbitrary bytes as HTTP requests into
 * the real server, in this process, under the sanitizers.
 *
 * Once, before the first input: a SQLite store in a temp dir with a few grids,
 * the service's routes (handlers.c) and http_server_start on 127.0.0.1, any
 * port, with the access log on, a small response cache and short timeouts --
 * so that libmicrohttpd's parsing, routing, handlers, the store, the response
 * cache and the log all see the fuzzer's bytes. The process's stderr (where the
 * access log goes) is /dev/null while fuzzing: the target asks libFuzzer for
 * -close_fd_mask=2, which gives libFuzzer and the sanitizers a copy of the real
 * stderr for their reports.
 *
 * Per input: a loopback connection; the input is written as it is (a request
 * line, headers, bodies, several pipelined requests, or garbage), the write side
 * is shut (once the server has read the bytes: see exchange()), and the answer is read until the server closes, for at most
 * DEADLINE_MS (an input cannot hang the fuzzer). The answer is checked: it
 * starts with "HTTP/1.1 " and a three-digit status, and so does every further
 * response that can be framed after it (Content-Length); a 301's Location is a
 * path of this site. A violation aborts with the reason (a finding).
 *
 * Two checks run only with FUZZ_HTTP_STRICT=1 in the environment: that every
 * input gets a status line, and within the deadline. libmicrohttpd 0.9.75
 * itself closes a few malformed request lines without one (README, "Limits
 * and security"), so these would report that library's gaps, not ours. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "handlers.h"
#include "hashid.h"
#include "server.h"
#include "store.h"

#define DEADLINE_MS 5000
#define SHUT_DELAY_MS 5
#define MAX_ANSWER (8u << 20)   /* read at most this much of an answer */

static struct {
    struct config cfg;
    struct app app;
    struct http_server *srv;
    unsigned port;
    int strict;
    int show;                   /* FUZZ_HTTP_SHOW=1: print each answer's head */
    int report_fd;              /* the real stderr, for our own messages */
    char dir[64];               /* the store's temp dir, removed at exit */
} F;

static void remove_dir(void)
{
    DIR *d = opendir(F.dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", F.dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(F.dir);
}

static void die(const char *what)
{
    dprintf(F.report_fd, "fuzz_http: %s\n", what);
    abort();
}

#define HTTP_CHECK(cond, why, ans, len)                                              \
    do {                                                                             \
        if (!(cond)) {                                                               \
            dprintf(F.report_fd, "fuzz_http: FUZZ_CHECK failed: %s (%s)\nanswer: ",  \
                    why, #cond);                                                     \
            ssize_t w_ = write(F.report_fd, ans, (len) < 600 ? (len) : 600);         \
            (void)w_;                                                                \
            dprintf(F.report_fd, "\n");                                              \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* --- talking to the server ----------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A connection to the server. Hundreds of connections a second for minutes
 * would run out of (address, port) pairs on one source address: each comes from
 * the next of 127.0.0.2 .. 127.0.0.251 (all loopback), and a failed connect
 * is retried a little before it counts as a finding. */
static int connect_server(void)
{
    static unsigned next;
    char why[128] = "";
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in from = {.sin_family = AF_INET};
        from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (next++ % 250));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F.port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&from, sizeof from) == 0 &&
            connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        snprintf(why, sizeof why, "cannot connect to the server: %s", strerror(errno));
        close(fd);
        usleep(100 * 1000);
    }
    die(why);
    return -1;
}

/* Sends data, shuts the write side, reads the answer into out (up to cap
 * bytes). Returns the answer's length; *closed is 1 if the server closed
 * within the deadline. */
static size_t exchange(const void *data, size_t size, char *out, size_t cap, int *closed)
{
    *closed = 0;
    int fd = connect_server();
    long long end = now_ms() + DEADLINE_MS;
    size_t off = 0, got = 0;
    int wr_open = 1;
    while (now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (wr_open ? POLLOUT : 0)};
        int left = (int)(end - now_ms());
        if (poll(&p, 1, left > 0 ? left : 0) <= 0)
            continue;
        if (wr_open && (p.revents & POLLOUT)) {
            if (off < size) {
                ssize_t n = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL |
                                 MSG_DONTWAIT);
                if (n > 0)
                    off += (size_t)n;
                else if (n < 0 && errno != EAGAIN && errno != EINTR)
                    off = size;   /* the server closed: read what it said */
            }
            if (off >= size) {
                /* libmicrohttpd (epoll, edge-triggered) may miss an end of
                 * stream that arrives together with the last request bytes and
                 * then waits for its timeout: let it read them first (until an
                 * answer starts, or SHUT_DELAY_MS). */
                struct pollfd r = {.fd = fd, .events = POLLIN};
                poll(&r, 1, SHUT_DELAY_MS);
                shutdown(fd, SHUT_WR);
                wr_open = 0;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char sink[4096];
            char *to = got < cap ? out + got : sink;
            size_t room = got < cap ? cap - got : sizeof sink;
            ssize_t n = recv(fd, to, room, MSG_DONTWAIT);
            if (n > 0) {
                if (got < cap)
                    got += (size_t)n;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                *closed = 1;
                break;
            }
        }
    }
    /* Reset, not FIN: neither end keeps the connection in TIME_WAIT. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    return got;
}

/* --- checks on answers ----------------------------------------------------------- */

static const char *find_crlf2(const char *p, const char *end)
{
    for (; p + 3 < end; p++)
        if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n')
            return p;
    return NULL;
}

static int status_line_ok(const char *p, size_t n)
{
    return n >= 13 && memcmp(p, "HTTP/1.1 ", 9) == 0 && p[9] >= '1' && p[9] <= '5' &&
           p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && p[12] == ' ';
}

/* The value of header name (with its ": ") in the header block [p, end). */
static const char *header(const char *p, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *q = p; q + nl + 2 < end; q++) {
        if (q[0] == '\r' && q[1] == '\n' && strncasecmp(q + 2, name, nl) == 0) {
            const char *v = q + 2 + nl;
            const char *e = v;
            while (e + 1 < end && !(e[0] == '\r' && e[1] == '\n'))
                e++;
            *len = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

/* Checks the responses in ans[0..len): the first must be a response; each one
 * after it is checked as long as the framing (Content-Length, or none for a
 * HEAD) finds the next one. */
static void check_answer(const char *ans, size_t len, int closed)
{
    if (F.strict) {
        HTTP_CHECK(closed, "the server neither answered nor closed within the deadline",
                   ans, len);
        HTTP_CHECK(len > 0, "closed without a status line", ans, len);
    }
    if (len == 0)
        return;
    const char *p = ans, *end = ans + len;
    HTTP_CHECK(status_line_ok(p, len), "an answer that is not HTTP/1.1 + status", ans, len);
    while (p < end && status_line_ok(p, (size_t)(end - p))) {
        const char *hend = find_crlf2(p, end);
        if (!hend)
            break;   /* cut short (the deadline, or MAX_ANSWER) */
        if (memcmp(p + 9, "301", 3) == 0) {
            size_t ll = 0;
            const char *loc = header(p, hend + 2, "Location: ", &ll);
            HTTP_CHECK(loc, "a 301 without Location", p, (size_t)(hend - p));
            /* A 301 never leaves the site: not "//host". */
            HTTP_CHECK(!(loc && ll >= 2 && loc[0] == '/' && loc[1] == '/'),
                       "a 301 to another host", p, (size_t)(hend - p));
            if (loc) {
                HTTP_CHECK(ll >= 1 && loc[0] == '/', "a 301 to an absolute URL", p,
                           (size_t)(hend - p));
                HTTP_CHECK(!(ll >= 2 && loc[1] == '\\'), "a 301 to /\\host", p,
                           (size_t)(hend - p));
            }
        }
        const char *body = hend + 4;
        size_t cl_len = 0;
        const char *cl = header(p, hend + 2, "Content-Length: ", &cl_len);
        size_t n = cl ? strtoul(cl, NULL, 10) : 0;
        /* Our bodies never start with "HTTP/" (pages, JSON, PNG): after a HEAD's
         * answer the next response starts right after the headers. */
        if (cl && (size_t)(end - body) > n && status_line_ok(body + n, (size_t)(end - body) - n))
            p = body + n;
        else if ((size_t)(end - body) > 0 && status_line_ok(body, (size_t)(end - body)))
            p = body;
        else
            break;
    }
}

/* --- set-up ---------------------------------------------------------------------- */

static const char GRID[] =
    "{\"python_version\": [3, 11, 7, \"final\", 0], \"ipb_version\": \"1.9.0\", "
    "\"ipb_class\": \"BlockGrid\", \"code_cells\": [\"grid = BlockGrid(2, 2)\", "
    "\"grid[0, 0] = (255, 0, 0)  # <b>&amp;</b>\"], \"secret\": %s, "
    "\"grid_data\": {\"lines_on\": %s, \"width\": 2, \"height\": 2, "
    "\"blocks\": [[[255, 0, 0, 20], [0, 255, 0, 20]], [[0, 0, 255, 20], [%d, 9, 9, 5]]]}}";

/* Posts a few grids through HTTP: public bizkiL... and secret MiXoi4... with
 * the salts "public" / "secret". */
static void post_grids(void)
{
    for (int i = 0; i < 4; i++) {
        char body[1024], req[2048], ans[4096];
        int bl = snprintf(body, sizeof body, GRID, i == 3 ? "true" : "false",
                          i % 2 ? "true" : "false", i);
        int rl = snprintf(req, sizeof req,
                          "POST /post HTTP/1.1\r\nHost: fuzz.example\r\n"
                          "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                          bl, body);
        int closed;
        size_t n = exchange(req, (size_t)rl, ans, sizeof ans - 1, &closed);
        ans[n] = '\0';
        if (!status_line_ok(ans, n) || memcmp(ans + 9, "200", 3) != 0)
            die("cannot post the seed grids");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    F.report_fd = dup(2);
    if (F.report_fd < 0)
        F.report_fd = 2;
    F.strict = getenv("FUZZ_HTTP_STRICT") && strcmp(getenv("FUZZ_HTTP_STRICT"), "1") == 0;
    F.show = getenv("FUZZ_HTTP_SHOW") && strcmp(getenv("FUZZ_HTTP_SHOW"), "1") == 0;
    signal(SIGPIPE, SIG_IGN);

    /* libFuzzer's -close_fd_mask=2: the access log (stderr) goes to /dev/null,
     * libFuzzer and the sanitizers keep a copy of stderr. Flags are read after
     * this function returns, so one can be added here. */
    int has = 0;
    for (int i = 1; i < *argc; i++)
        has |= strncmp((*argv)[i], "-close_fd_mask", 14) == 0;
    if (!has) {
        char **nv = calloc((size_t)*argc + 2, sizeof *nv);
        if (!nv)
            die("out of memory");
        memcpy(nv, *argv, (size_t)*argc * sizeof *nv);
        nv[(*argc)++] = "-close_fd_mask=2";
        *argv = nv;   /* kept for the life of the process */
    }

    snprintf(F.dir, sizeof F.dir, "/tmp/ipborg-fuzz-http.XXXXXX");
    if (!mkdtemp(F.dir))
        die("mkdtemp");
    atexit(remove_dir);   /* not after a finding (_exit): the store stays to look at */
    static char url[128];
    snprintf(url, sizeof url, "sqlite:///%s/fuzz.db", F.dir);

    /* serve's own option table gives every default; flags set what the
     * fuzzer needs (a small body limit and cache, a short timeout) and win
     * over the environment. No --public-url: BASE comes from the Host
     * header, which is fuzzed too. */
    static const struct cli_command serve_cmd = {
        .name = "serve", .opts = config_serve_options, .nopts = CFG_NOPTS,
    };
    char *serve_argv[] = {"serve", "--db-url", url, "--max-body", "65536",
                          "--client-timeout", "2", "--cache-mb", "1", NULL};
    struct cli_values cv;
    char cerr[CLI_ERRLEN];
    if (cli_parse(&serve_cmd, 9, serve_argv, &cv, cerr) != CLI_OK)
        die(cerr);
    config_from_cli(&F.cfg, &cv);
    F.cfg.public_url = NULL;

    char err[STORE_ERRLEN] = "";
    struct store *st = store_open(url, 0, err);
    if (!st)
        die(err);
    char *pub = NULL, *sec = NULL;
    if (store_resolve_salts(st, "public", "secret", 0, &pub, &sec, err) != STORE_OK)
        die(err);
    F.app.cfg = &F.cfg;
    F.app.store = st;
    F.app.limits.max_cells = F.cfg.max_cells;
    F.app.hashid[GRID_PUBLIC] = hashid_new(pub, 6);
    F.app.hashid[GRID_SECRET] = hashid_new(sec, 6);
    free(pub);
    free(sec);
    if (!F.app.hashid[GRID_PUBLIC] || !F.app.hashid[GRID_SECRET])
        die("out of memory");

    struct http_server_opts o = {
        .host = "127.0.0.1",
        .port = 0,
        .threads = 2,
        .max_connections = 64,
        .max_per_ip = 0,
        .client_timeout = F.cfg.client_timeout,
        .max_header_bytes = F.cfg.max_header_bytes,
        .max_body = F.cfg.max_body,
        .quiet = 0,
        .cache_bytes = F.cfg.cache_mb << 20,
        .cache_by_host = 1,
        .routes = handlers_routes,
        .not_found = handle_not_found,
        .app = &F.app,
    };
    char serr[256];
    F.srv = http_server_start(&o, serr, sizeof serr);
    if (!F.srv)
        die(serr);
    atomic_store(&F.app.server, F.srv);
    F.port = http_server_port(F.srv);
    post_grids();
    /* The server runs until the process exits: libFuzzer ends with exit(),
     * and stopping it here would only race with that. */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *ans;
    if (!ans && !(ans = malloc(MAX_ANSWER)))
        die("out of memory");
    int closed;
    size_t n = exchange(data, size, ans, MAX_ANSWER, &closed);
    if (F.show) {
        dprintf(F.report_fd, "fuzz_http: %zu bytes in, %zu out%s: ", size, n,
                closed ? "" : " (not closed)");
        ssize_t w = write(F.report_fd, ans, n < 200 ? n : 200);
        (void)w;
        dprintf(F.report_fd, "\n");
    }
    check_answer(ans, n, closed);
    return 0;
}
