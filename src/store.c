/* store.c -- the front end of the store interface (store.h): picks a backend
 * from the database URL, keeps one backend connection per thread, and holds
 * the logic every backend shares (random choice of a grid, salts).
 *
 * Connections. Each thread that touches a store gets its own backend
 * connection, opened on first use and kept in thread-specific data, so worker
 * threads never share a connection and never take a lock to use one. A
 * connection that failed with STORE_UNAVAILABLE is dropped (store_conn_reset)
 * and the next call on that thread reconnects: that is how the service
 * recovers by itself when the database comes back. Every open connection is
 * also on a list under a mutex, touched only when a connection opens or
 * closes, so that store_close can close those of threads that are still
 * alive (the main thread's, typically).
 *
 * Invariant: a slot on the list belongs to exactly one thread; only that
 * thread uses slot->conn, except store_close, which runs when no other thread
 * uses the store any more. */
#include "store_backend.h"
#include "redact.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct conn_slot {
    struct store *st;
    void *conn;
    struct conn_slot *prev, *next;
};

struct store {
    const struct store_ops *ops;
    char *url;
    char *target;              /* file path (sqlite) or conninfo (postgresql) */
    int flags;
    pthread_key_t key;         /* -> struct conn_slot of the calling thread */
    pthread_mutex_t lock;      /* guards slots */
    struct conn_slot *slots;
};

void store_errf(char *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, STORE_ERRLEN, fmt, ap);
    va_end(ap);
}

void grid_record_clear(struct grid_record *r)
{
    free(r->ipb_version);
    free(r->python_version);
    free(r->grid_data);
    free(r->code_cells);
    free(r->ipb_class);
    free(r->created_at);
    memset(r, 0, sizeof *r);
}

const char *store_table_name(enum grid_table t)
{
    return t == GRID_SECRET ? "secret_grids" : "public_grids";
}

/* --- connections ----------------------------------------------------------- */

static void slot_unlink(struct store *st, struct conn_slot *s)
{
    pthread_mutex_lock(&st->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        st->slots = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&st->lock);
}

/* Thread exit: close the thread's connection. */
static void slot_destroy(void *p)
{
    struct conn_slot *s = p;
    slot_unlink(s->st, s);
    if (s->conn)
        s->st->ops->disconnect(s->conn);
    free(s);
}

void *store_conn(struct store *st, int *status, char *err)
{
    struct conn_slot *s = pthread_getspecific(st->key);
    if (s && s->conn)
        return s->conn;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            store_errf(err, "out of memory");
            if (status)
                *status = STORE_ERROR;
            return NULL;
        }
        s->st = st;
        if (pthread_setspecific(st->key, s) != 0) {
            free(s);
            store_errf(err, "out of memory");
            if (status)
                *status = STORE_ERROR;
            return NULL;
        }
        pthread_mutex_lock(&st->lock);
        s->next = st->slots;
        if (st->slots)
            st->slots->prev = s;
        st->slots = s;
        pthread_mutex_unlock(&st->lock);
    }
    int rc = st->ops->connect(st, st->flags, &s->conn, err);
    if (rc != STORE_OK) {
        s->conn = NULL;
        if (status)
            *status = rc;
        return NULL;
    }
    return s->conn;
}

void store_conn_reset(struct store *st)
{
    struct conn_slot *s = pthread_getspecific(st->key);
    if (s && s->conn) {
        st->ops->disconnect(s->conn);
        s->conn = NULL;
    }
}

/* --- opening ----------------------------------------------------------------- */

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static struct store *open_store(const char *url, int flags, char *err);

/* Every message store_open gives may hold the URL or a backend's text
 * quoting it: the password never leaves as it is. */
struct store *store_open(const char *url, int flags, char *err)
{
    struct store *st = open_store(url, flags, err);
    if (!st && err)
        redact_inplace(err, STORE_ERRLEN);
    return st;
}

/* The backend of url, or NULL (then *target is unset). */
static const struct store_ops *ops_for(const char *url, const char **target)
{
    if (has_prefix(url, "sqlite:///")) {
        *target = url + strlen("sqlite:///");   /* "rel.db" or "/abs.db" */
        return &store_sqlite_ops;
    }
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        *target = url;
        return &store_pg_ops;
    }
    return NULL;
}

int store_same_database(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    const char *ta, *tb;
    const struct store_ops *oa = ops_for(a, &ta), *ob = ops_for(b, &tb);
    return oa && oa == ob && oa->same_database(ta, tb);
}

static struct store *open_store(const char *url, int flags, char *err)
{
    const char *target = NULL;
    if (!url || !*url) {
        store_errf(err, "no database URL given (--db-url or DATABASE_URL)");
        return NULL;
    }
    const struct store_ops *ops = ops_for(url, &target);
    if (!ops) {
        store_errf(err, "unsupported database URL '%s' (expected sqlite:///path.db, "
                   "sqlite:////absolute/path.db or postgresql://...)", url);
        return NULL;
    }
    if (!*target) {
        store_errf(err, "database URL '%s' names no file", url);
        return NULL;
    }

    struct store *st = calloc(1, sizeof *st);
    if (!st || !(st->url = strdup(url)) || !(st->target = strdup(target))) {
        if (st)
            free(st->url);
        free(st);
        store_errf(err, "out of memory");
        return NULL;
    }
    st->ops = ops;
    st->flags = flags;
    pthread_mutex_init(&st->lock, NULL);
    if (pthread_key_create(&st->key, slot_destroy) != 0) {
        store_errf(err, "cannot create thread key");
        pthread_mutex_destroy(&st->lock);
        free(st->target);
        free(st->url);
        free(st);
        return NULL;
    }
    int status = STORE_OK;
    if (!store_conn(st, &status, err)) {
        store_close(st);
        return NULL;
    }
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    /* The calling thread's slot is also on the list; clear its key so that
     * the destructor does not run on freed memory at thread exit. */
    pthread_setspecific(st->key, NULL);
    pthread_mutex_lock(&st->lock);
    struct conn_slot *s = st->slots;
    st->slots = NULL;
    pthread_mutex_unlock(&st->lock);
    while (s) {
        struct conn_slot *next = s->next;
        if (s->conn)
            st->ops->disconnect(s->conn);
        free(s);
        s = next;
    }
    pthread_key_delete(st->key);
    pthread_mutex_destroy(&st->lock);
    free(st->target);
    free(st->url);
    free(st);
}

const char *store_url(const struct store *st) { return st->url; }
const char *store_target(const struct store *st) { return st->target; }

/* What a person is shown of the database (the serve start-up line): the
 * SQLite file's full path, or PostgreSQL's hosts and database name -- never
 * user, password or parameters. */
void store_describe(const struct store *st, char *out, size_t n)
{
    const char *backend = st->ops->name;
    if (!strcmp(backend, "sqlite")) {
        char *full = realpath(st->target, NULL);
        snprintf(out, n, "sqlite database %s", full ? full : st->target);
        free(full);
        return;
    }
    const char *p = strstr(st->url, "://");
    p = p ? p + 3 : st->url;
    size_t auth = strcspn(p, "/?");
    const char *host = p;
    for (const char *q = p; q < p + auth; q++)
        if (*q == '@')
            host = q + 1;                      /* user information dropped */
    int hl = (int)(p + auth - host);
    const char *db = p[auth] == '/' ? p + auth + 1 : "";
    int dl = (int)strcspn(db, "?");
    if (hl == 0) {                             /* libpq's default: the local socket */
        host = "(local socket)";
        hl = (int)strlen(host);
    }
    snprintf(out, n, "%s database %.*s%s%.*s", backend, hl, host, dl ? "/" : "", dl, db);
}
const struct store_ops *store_backend(const struct store *st) { return st->ops; }
const char *store_backend_name(const struct store *st) { return st->ops->name; }
int store_flags(const struct store *st) { return st->flags; }

/* --- wrappers ---------------------------------------------------------------- */

/* Every wrapper: get the thread's connection, run the op, and drop the
 * connection when the database went away so the next call reconnects. */
#define WITH_CONN(st, err, call)                                   \
    do {                                                           \
        int status_ = STORE_OK;                                    \
        void *conn = store_conn((st), &status_, (err));            \
        if (!conn) {                                               \
            if (err)                                               \
                redact_inplace((err), STORE_ERRLEN);               \
            return status_;                                        \
        }                                                          \
        int rc_ = (call);                                          \
        if (rc_ == STORE_UNAVAILABLE)                              \
            store_conn_reset(st);                                  \
        if (rc_ != STORE_OK && rc_ != STORE_NOT_FOUND && (err))    \
            redact_inplace((err), STORE_ERRLEN);                   \
        return rc_;                                                \
    } while (0)

int store_put(struct store *st, enum grid_table t, const struct grid_record *rec,
              int64_t *id_out, char *err)
{
    WITH_CONN(st, err, st->ops->put(conn, t, rec, id_out, err));
}

int store_get(struct store *st, enum grid_table t, int64_t id,
              struct grid_record *out, char *err)
{
    WITH_CONN(st, err, st->ops->get(conn, t, id, out, err));
}

int store_get_grid_data(struct store *st, enum grid_table t, int64_t id,
                        char **json, size_t *len, char *err)
{
    WITH_CONN(st, err, st->ops->get_grid_data(conn, t, id, json, len, err));
}

int store_count(struct store *st, enum grid_table t, int64_t *rows,
                int64_t *max_id, char *err)
{
    WITH_CONN(st, err, st->ops->count(conn, t, rows, max_id, err));
}

static int max_id_on(struct store *st, void *conn, enum grid_table t, int64_t *max_id,
                     char *err)
{
    int64_t rows;
    if (st->ops->max_id)
        return st->ops->max_id(conn, t, max_id, err);
    return st->ops->count(conn, t, &rows, max_id, err);
}

int store_max_id(struct store *st, enum grid_table t, int64_t *max_id, char *err)
{
    WITH_CONN(st, err, max_id_on(st, conn, t, max_id, err));
}

int store_delete(struct store *st, enum grid_table t, int64_t id, char *err)
{
    WITH_CONN(st, err, st->ops->del(conn, t, id, err));
}

int store_exists(struct store *st, enum grid_table t, int64_t id, char *err)
{
    WITH_CONN(st, err, st->ops->exists(conn, t, id, err));
}

int store_watch_open(struct store *st, void **watch, char *err)
{
    *watch = NULL;
    int rc = st->ops->watch_open(st, watch, err);
    if (rc != STORE_OK && err)
        redact_inplace(err, STORE_ERRLEN);
    return rc;
}

int store_watch_next(struct store *st, void *watch, int64_t *cursor, int timeout_ms,
                     store_deletion_fn fn, void *ctx, char *err)
{
    int rc = st->ops->watch_next(watch, cursor, timeout_ms, fn, ctx, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND && err)
        redact_inplace(err, STORE_ERRLEN);
    return rc;
}

void store_watch_close(struct store *st, void *watch)
{
    if (watch)
        st->ops->watch_close(watch);
}

/* --- random choice ---------------------------------------------------------- */

/* A per-thread splitmix64 generator seeded from the kernel: cheap, lock-free,
 * and good enough to pick grids (not for secrets: salts use getrandom). */
static uint64_t rand64(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof state, 0) != (ssize_t)sizeof state)
            state = (uint64_t)(uintptr_t)&state ^ 0x9e3779b97f4a7c15ull;
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rand_below(uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = rand64();
    while (r >= limit);
    return r % n;
}

/* Rejection sampling: draw an id in 1..max_id until one exists. Every existing
 * id is equally likely on every draw, so the result is uniform over existing
 * rows however the ids are spread. With few gaps it ends after about one
 * look-up; when more than half the id range is gaps, a bounded number of
 * misses switches to count + k-th row, which is exact but costs a scan in
 * some backends. */
#define RANDOM_TRIES 16

static int random_id_on(struct store *st, void *conn, enum grid_table t,
                        int64_t *id_out, char *err)
{
    const struct store_ops *ops = st->ops;
    int64_t rows = -1, max_id = 0;
    int rc;
    if (ops->max_id)
        rc = ops->max_id(conn, t, &max_id, err);
    else
        rc = ops->count(conn, t, &rows, &max_id, err);
    if (rc != STORE_OK)
        return rc;
    if (max_id <= 0)
        return STORE_NOT_FOUND;
    for (int i = 0; i < RANDOM_TRIES; i++) {
        int64_t cand = 1 + (int64_t)rand_below((uint64_t)max_id);
        rc = ops->exists(conn, t, cand, err);
        if (rc == STORE_OK) {
            *id_out = cand;
            return STORE_OK;
        }
        if (rc != STORE_NOT_FOUND)
            return rc;
    }
    if (rows < 0) {
        rc = ops->count(conn, t, &rows, &max_id, err);
        if (rc != STORE_OK)
            return rc;
    }
    if (rows <= 0)
        return STORE_NOT_FOUND;
    /* nth_id counts only ids > 0 (rows of an old file may have id <= 0 and
     * no URL), so a k beyond their number is NOT_FOUND: drawn again, which
     * keeps the choice uniform over the servable rows. */
    for (int i = 0; i < 4 * RANDOM_TRIES; i++) {
        rc = ops->nth_id(conn, t, (int64_t)rand_below((uint64_t)rows), id_out, err);
        if (rc != STORE_NOT_FOUND)
            return rc;
    }
    return ops->nth_id(conn, t, 0, id_out, err);
}

int store_random_id(struct store *st, enum grid_table t, int64_t *id_out, char *err)
{
    WITH_CONN(st, err, random_id_on(st, conn, t, id_out, err));
}

int store_stats(struct store *st, enum grid_table t, struct store_stats *out, char *err)
{
    memset(out, 0, sizeof *out);
    WITH_CONN(st, err, st->ops->stats(conn, t, out, err));
}

struct store_cursor {
    struct store *st;
    void *bc;                   /* the backend's cursor */
    struct grid_record rec;     /* the current row; strings the backend's */
    int lost;                   /* the connection went away: reset at close */
};

int store_cursor_open(struct store *st, enum grid_table t, struct store_cursor **out,
                      char *err)
{
    *out = NULL;
    int status = STORE_OK;
    void *conn = store_conn(st, &status, err);
    if (!conn) {
        if (err)
            redact_inplace(err, STORE_ERRLEN);
        return status;
    }
    struct store_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    c->st = st;
    int rc = st->ops->cursor_open(conn, t, &c->bc, err);
    if (rc != STORE_OK) {
        free(c);
        if (rc == STORE_UNAVAILABLE)
            store_conn_reset(st);
        if (err)
            redact_inplace(err, STORE_ERRLEN);
        return rc;
    }
    *out = c;
    return STORE_OK;
}

int store_cursor_next(struct store_cursor *c, const struct grid_record **rec, char *err)
{
    *rec = NULL;
    int rc = c->st->ops->cursor_next(c->bc, &c->rec, err);
    if (rc == STORE_OK) {
        *rec = &c->rec;
        return STORE_OK;
    }
    if (rc == STORE_UNAVAILABLE)
        c->lost = 1;
    if (rc != STORE_NOT_FOUND && err)
        redact_inplace(err, STORE_ERRLEN);
    return rc;
}

void store_cursor_close(struct store_cursor *c)
{
    if (!c)
        return;
    c->st->ops->cursor_close(c->bc);
    if (c->lost)
        store_conn_reset(c->st);
    free(c);
}

int store_last_id(struct store *st, enum grid_table t, int64_t *last_id, char *err)
{
    *last_id = 0;
    WITH_CONN(st, err, st->ops->last_id(conn, t, last_id, err));
}

#define LOG_BATCH 256

struct store_log_cursor {
    struct store *st;
    struct store_deletion batch[LOG_BATCH];
    char times[LOG_BATCH][STORE_TIMELEN];
    int i, n, done;
    int64_t after;              /* seq of the last entry handed out */
};

int store_log_open(struct store *st, struct store_log_cursor **cur, char *err)
{
    (void)err;
    *cur = calloc(1, sizeof **cur);
    if (!*cur) {
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    (*cur)->st = st;
    return STORE_OK;
}

static int log_read_on(struct store *st, void *conn, struct store_log_cursor *c, char *err)
{
    return st->ops->log_read(conn, c->after, LOG_BATCH, c->batch, c->times, &c->n, err);
}

static int log_fill(struct store_log_cursor *c, char *err)
{
    struct store *st = c->st;
    WITH_CONN(st, err, log_read_on(st, conn, c, err));
}

int store_log_next(struct store_log_cursor *c, const struct store_deletion **d, char *err)
{
    *d = NULL;
    if (c->i >= c->n) {
        if (c->done)
            return STORE_NOT_FOUND;
        c->i = c->n = 0;
        int rc = log_fill(c, err);
        if (rc != STORE_OK)
            return rc;
        if (c->n < LOG_BATCH)
            c->done = 1;
        if (c->n == 0)
            return STORE_NOT_FOUND;
    }
    struct store_deletion *e = &c->batch[c->i];
    e->deleted_at = c->times[c->i][0] ? c->times[c->i] : NULL;
    c->after = e->seq;
    c->i++;
    *d = e;
    return STORE_OK;
}

void store_log_close(struct store_log_cursor *c)
{
    free(c);
}

int store_load_begin(struct store *st, int replace, char *err)
{
    WITH_CONN(st, err, st->ops->load_begin(conn, replace, err));
}

int store_load_row(struct store *st, enum grid_table t, const struct grid_record *rec,
                   char *err)
{
    WITH_CONN(st, err, st->ops->load_row(conn, t, rec, err));
}

int store_load_deletion(struct store *st, const struct store_deletion *d, char *err)
{
    WITH_CONN(st, err, st->ops->load_deletion(conn, d, err));
}

int store_load_last_id(struct store *st, enum grid_table t, int64_t last_id, char *err)
{
    WITH_CONN(st, err, st->ops->load_last_id(conn, t, last_id, err));
}

static int load_salts_on(struct store *st, void *conn, const char *pub, const char *sec,
                         char *err)
{
    int rc = st->ops->meta_set(conn, META_PUBLIC_SALT, pub, err);
    return rc == STORE_OK ? st->ops->meta_set(conn, META_SECRET_SALT, sec, err) : rc;
}

int store_load_salts(struct store *st, const char *pub, const char *sec, char *err)
{
    WITH_CONN(st, err, load_salts_on(st, conn, pub, sec, err));
}

int store_load_end(struct store *st, int commit, char *err)
{
    WITH_CONN(st, err, st->ops->load_end(conn, commit, err));
}

/* --- salts (docs/protocol.md §2) ---------------------------------------------------------- */

/* A fresh salt: 32 characters from the kernel's random source. */
static int make_salt(char *out, size_t n)
{
    static const char digits[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char raw[64];
    if (n > sizeof raw + 1)
        n = sizeof raw + 1;
    size_t want = n - 1, got = 0;
    while (got < want) {
        ssize_t r = getrandom(raw + got, want - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < want; i++)
        out[i] = digits[raw[i] % 62];   /* 256 % 62 bias is irrelevant for a salt */
    out[want] = '\0';
    return 0;
}

/* Reads both stored salts. STORE_OK with both, STORE_NOT_FOUND with neither
 * (both NULL); a store holding only one is broken: STORE_ERROR. */
#define SALTS_HALF (-1)   /* read_salts_once: only one of the two is stored */
static int read_salts_once(struct store *st, void *conn, char **pub, char **sec, char *err);

/* The two salts are stored by two statements, so another process starting at
 * the same moment may be seen between them: one salt present is only an
 * error if it stays so for a while (2 s). */
static int read_salts(struct store *st, void *conn, char **pub, char **sec, char *err)
{
    for (int attempt = 0; attempt < 40; attempt++) {
        int rc = read_salts_once(st, conn, pub, sec, err);
        if (rc != SALTS_HALF)
            return rc;
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    store_errf(err, "the database stores only one of the two hash-ID salts (%s, %s); "
               "refusing to guess the other", META_PUBLIC_SALT, META_SECRET_SALT);
    return STORE_ERROR;
}

static int read_salts_once(struct store *st, void *conn, char **pub, char **sec, char *err)
{
    *pub = *sec = NULL;
    int a = st->ops->meta_get(conn, META_PUBLIC_SALT, pub, err);
    if (a != STORE_OK && a != STORE_NOT_FOUND)
        return a;
    int b = st->ops->meta_get(conn, META_SECRET_SALT, sec, err);
    if (b != STORE_OK && b != STORE_NOT_FOUND) {
        free(*pub);
        *pub = NULL;
        return b;
    }
    if (a == STORE_OK && b == STORE_OK)
        return STORE_OK;
    if (a == STORE_NOT_FOUND && b == STORE_NOT_FOUND)
        return STORE_NOT_FOUND;
    free(*pub);
    free(*sec);
    *pub = *sec = NULL;
    return SALTS_HALF;
}

/* Stores both salts (insert-if-absent) and reads back what is stored, which
 * is what another process may have stored first. */
static int store_salts(struct store *st, void *conn, const char *pub, const char *sec,
                       char **spub, char **ssec, char *err)
{
    int rc = st->ops->meta_set(conn, META_PUBLIC_SALT, pub, err);
    if (rc == STORE_OK)
        rc = st->ops->meta_set(conn, META_SECRET_SALT, sec, err);
    if (rc != STORE_OK)
        return rc;
    rc = read_salts(st, conn, spub, ssec, err);
    if (rc == STORE_NOT_FOUND) {
        store_errf(err, "the salts just stored cannot be read back");
        return STORE_ERROR;
    }
    return rc;
}

static int resolve_salts_on(struct store *st, void *conn, const char *env_pub,
                            const char *env_sec, int force, char **pub, char **sec,
                            char *err)
{
    if ((env_pub == NULL) != (env_sec == NULL)) {
        store_errf(err, "set both HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT, or neither");
        return STORE_ERROR;
    }
    if (env_pub && store_salts_check(env_pub, env_sec, err) != 0)
        return STORE_ERROR;
    int readonly = st->flags & STORE_READONLY;
    char *spub = NULL, *ssec = NULL;
    int rc = read_salts(st, conn, &spub, &ssec, err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return rc;

    if (env_pub) {
        if (rc == STORE_NOT_FOUND && !readonly) {
            rc = store_salts(st, conn, env_pub, env_sec, &spub, &ssec, err);
            if (rc != STORE_OK)
                return rc;
        }
        if (spub && (strcmp(spub, env_pub) != 0 || strcmp(ssec, env_sec) != 0) &&
            !(force & STORE_SALTS_FORCE)) {
            free(spub);
            free(ssec);
            store_errf(err, "HASHIDS_PUBLIC_SALT / HASHIDS_SECRET_SALT differ from the salts "
                       "stored in the database: every grid URL would change. Unset them to "
                       "use the stored salts%s",
                       (force & STORE_SALTS_CAN_FORCE) ? " (or give --force-salts to use "
                                                         "them for this run)" : "");
            return STORE_ERROR;
        }
        free(spub);
        free(ssec);
        *pub = strdup(env_pub);
        *sec = strdup(env_sec);
        goto check;
    }

    if (rc == STORE_OK) {
        if (store_salts_check(spub, ssec, err) != 0) {
            free(spub);
            free(ssec);
            store_errf(err, "the public and secret hash-ID salts stored in the database are "
                       "equal: secret URLs would be guessable. Set HASHIDS_PUBLIC_SALT and "
                       "HASHIDS_SECRET_SALT to two different salts");
            return STORE_ERROR;
        }
        *pub = spub;
        *sec = ssec;
        return STORE_OK;
    }

    /* No salts anywhere: only a database without grids may get new ones. */
    int64_t total = 0;
    for (int t = 0; t < GRID_TABLES; t++) {
        int64_t rows = 0, max_id = 0;
        rc = st->ops->count(conn, (enum grid_table)t, &rows, &max_id, err);
        if (rc != STORE_OK)
            return rc;
        total += rows;
    }
    if (total > 0) {
        store_errf(err, "the database holds %lld grids but no hash-ID salts: set "
                   "HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT to the old service's salts "
                   "(random ones would break every existing URL)", (long long)total);
        return STORE_ERROR;
    }
    if (readonly) {
        store_errf(err, "the database stores no hash-ID salts (set HASHIDS_PUBLIC_SALT and "
                   "HASHIDS_SECRET_SALT)");
        return STORE_NOT_FOUND;
    }
    char newpub[33], newsec[33];
    if (make_salt(newpub, sizeof newpub) || make_salt(newsec, sizeof newsec)) {
        store_errf(err, "cannot read random bytes for new salts: %s", strerror(errno));
        return STORE_ERROR;
    }
    rc = store_salts(st, conn, newpub, newsec, pub, sec, err);
    if (rc != STORE_OK)
        return rc;
check:
    if (!*pub || !*sec) {
        free(*pub);
        free(*sec);
        *pub = *sec = NULL;
        store_errf(err, "out of memory");
        return STORE_ERROR;
    }
    return STORE_OK;
}

int store_salts_check(const char *pub, const char *sec, char *err)
{
    if (strcmp(pub, sec) != 0)
        return 0;
    store_errf(err, "HASHIDS_PUBLIC_SALT and HASHIDS_SECRET_SALT are equal: secret URLs "
               "would be guessable from public ones; give two different salts");
    return -1;
}

static int salts_get_on(struct store *st, void *conn, char **pub, char **sec, char *err)
{
    int rc = read_salts(st, conn, pub, sec, err);
    if (rc == STORE_NOT_FOUND)
        *pub = *sec = NULL;
    return rc;
}

int store_salts_get(struct store *st, char **pub, char **sec, char *err)
{
    *pub = *sec = NULL;
    WITH_CONN(st, err, salts_get_on(st, conn, pub, sec, err));
}

int store_resolve_salts(struct store *st, const char *env_public,
                        const char *env_secret, int force, char **pub, char **sec,
                        char *err)
{
    *pub = *sec = NULL;
    WITH_CONN(st, err, resolve_salts_on(st, conn, env_public, env_secret, force, pub,
                                        sec, err));
}
