/* deletions.c -- the deletion watcher (deletions.h).
 *
 * The thread loops on store_watch_next with a short timeout: the timeout
 * bounds how long a stop waits and, on SQLite, is the poll interval (a
 * PRAGMA data_version per look, the log read only when something changed).
 * On PostgreSQL a NOTIFY wakes the wait at once. Either way a deletion
 * reaches fn well within a second of its commit.
 *
 * Invariant: cursor is the seq of the last log entry passed to fn (or the
 * log's end when the watcher started); it only grows, except when the log
 * itself went backwards, which fn hears about as "forget everything". */
#include "deletions.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define POLL_MS 200          /* the longest wait of one look */
#define RETRY_MS 1000        /* between attempts to reconnect */

struct deletions_watcher {
    struct store *st;
    store_deletion_fn fn;
    void *ctx;
    void *watch;             /* NULL while disconnected */
    int64_t cursor;
    atomic_int stop;
    pthread_t thread;
};

static void sleep_ms(struct deletions_watcher *w, int ms)
{
    /* In slices, so that a stop is not kept waiting. */
    for (int slept = 0; slept < ms && !atomic_load(&w->stop); slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void *watch_thread(void *arg)
{
    struct deletions_watcher *w = arg;
    char err[STORE_ERRLEN];
    int failing = 0;
    while (!atomic_load(&w->stop)) {
        if (!w->watch) {
            err[0] = '\0';
            if (store_watch_open(w->st, &w->watch, err) != STORE_OK) {
                if (!failing)
                    fprintf(stderr, "ipborg: deletion watcher: %s (retrying every second)\n",
                            err);
                failing = 1;
                sleep_ms(w, RETRY_MS);
                continue;
            }
            if (failing)
                fprintf(stderr, "ipborg: deletion watcher: reconnected\n");
            failing = 0;
        }
        err[0] = '\0';
        int rc = store_watch_next(w->st, w->watch, &w->cursor, POLL_MS, w->fn, w->ctx, err);
        if (rc != STORE_OK) {
            /* Reconnect at once: a dropped connection (a restarted pooler, a
             * terminated backend) usually comes back on the first try. */
            fprintf(stderr, "ipborg: deletion watcher: %s (reconnecting)\n", err);
            failing = 1;
            store_watch_close(w->st, w->watch);
            w->watch = NULL;
        }
    }
    return NULL;
}

struct deletions_watcher *deletions_watch_start(struct store *st, store_deletion_fn fn,
                                                void *ctx, char *err)
{
    struct deletions_watcher *w = calloc(1, sizeof *w);
    if (!w) {
        store_errf(err, "out of memory");
        return NULL;
    }
    w->st = st;
    w->fn = fn;
    w->ctx = ctx;
    w->cursor = -1;
    atomic_init(&w->stop, 0);
    if (store_watch_open(st, &w->watch, err) != STORE_OK ||
        store_watch_next(st, w->watch, &w->cursor, 0, fn, ctx, err) != STORE_OK) {
        store_watch_close(st, w->watch);
        free(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
        store_errf(err, "cannot start the deletion watcher thread");
        store_watch_close(st, w->watch);
        free(w);
        return NULL;
    }
    return w;
}

void deletions_watch_stop(struct deletions_watcher *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    store_watch_close(w->st, w->watch);
    free(w);
}
