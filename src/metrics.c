/* metrics.c -- the counters of metrics.h.
 *
 * Statuses are counted in a fixed table of the codes ipborg answers, plus one
 * slot for any other; latency in fixed buckets from 100 us to 10 s. Both
 * tables are plain arrays of atomics indexed by route, so recording never
 * allocates. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const int STATUSES[] = {200, 301, 303, 304, 400, 403, 404, 405, 413, 414,
                               429, 431, 500, 501, 503, 507};
#define NSTATUS (sizeof STATUSES / sizeof STATUSES[0] + 1)   /* + "other" */

static const long long BUCKET_USEC[] = {100, 250, 500, 1000, 2500, 5000, 10000,
                                        25000, 50000, 100000, 250000, 1000000, 10000000};
#define NBUCKET (sizeof BUCKET_USEC / sizeof BUCKET_USEC[0])

struct route_metrics {
    atomic_uint_fast64_t by_status[NSTATUS];
    atomic_uint_fast64_t buckets[NBUCKET];   /* not cumulative; summed on output */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t usec_sum;
};

struct metrics {
    const char *const *names;
    size_t n;
    struct route_metrics routes[];
};

struct metrics *metrics_new(const char *const *names, size_t n)
{
    if (n == 0)
        return NULL;
    struct metrics *m = calloc(1, sizeof *m + n * sizeof m->routes[0]);
    if (!m)
        return NULL;
    m->names = names;
    m->n = n;
    return m;
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_record(struct metrics *m, size_t route, int status, long long usec)
{
    if (!m)
        return;
    struct route_metrics *r = &m->routes[route < m->n ? route : m->n - 1];
    size_t si = NSTATUS - 1;
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (STATUSES[i] == status)
            si = i;
    atomic_fetch_add_explicit(&r->by_status[si], 1, memory_order_relaxed);
    if (usec < 0)
        usec = 0;
    for (size_t b = 0; b < NBUCKET; b++) {
        if (usec <= BUCKET_USEC[b]) {
            atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->usec_sum, (uint_fast64_t)usec, memory_order_relaxed);
}

void metrics_write(struct metrics *m, struct buf *out)
{
    if (!m)
        return;
    buf_puts(out, "# HELP ipborg_http_requests_total HTTP requests answered, by route and status.\n"
                  "# TYPE ipborg_http_requests_total counter\n");
    for (size_t r = 0; r < m->n; r++) {
        for (size_t i = 0; i < NSTATUS; i++) {
            uint64_t v = atomic_load_explicit(&m->routes[r].by_status[i], memory_order_relaxed);
            if (!v)
                continue;
            char status[8];
            if (i + 1 < NSTATUS)
                snprintf(status, sizeof status, "%d", STATUSES[i]);
            else
                snprintf(status, sizeof status, "other");
            buf_printf(out, "ipborg_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                       m->names[r], status, (unsigned long long)v);
        }
    }
    buf_puts(out, "# HELP ipborg_http_request_duration_seconds Time from a whole request to "
                  "its answer being queued.\n"
                  "# TYPE ipborg_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < m->n; r++) {
        struct route_metrics *rm = &m->routes[r];
        uint64_t count = atomic_load_explicit(&rm->count, memory_order_relaxed);
        if (!count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cum += atomic_load_explicit(&rm->buckets[b], memory_order_relaxed);
            buf_printf(out,
                       "ipborg_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                       m->names[r], (double)BUCKET_USEC[b] / 1e6, (unsigned long long)cum);
        }
        buf_printf(out,
                   "ipborg_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                   "ipborg_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                   "ipborg_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                   m->names[r], (unsigned long long)count, m->names[r],
                   (double)atomic_load_explicit(&rm->usec_sum, memory_order_relaxed) / 1e6,
                   m->names[r], (unsigned long long)count);
    }
}
