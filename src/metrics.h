/* metrics.h -- request counters and a latency histogram per route, written
 * in Prometheus' text exposition format for GET /metrics.
 *
 * Recording is a few relaxed atomic increments, no lock, so every request
 * can afford it. Counters only grow; a scrape reads each one atomically (the
 * set as a whole is not a snapshot, which Prometheus does not need). */
#ifndef IPBORG_METRICS_H
#define IPBORG_METRICS_H

#include <stddef.h>
#include "buf.h"

struct metrics;

/* names[0..n): the route labels (e.g. "/get/ *"), borrowed for the lifetime of
 * the metrics. NULL on out of memory. */
struct metrics *metrics_new(const char *const *names, size_t n);
void metrics_free(struct metrics *m);

/* One answered request: route index (< n; out of range counts as the last
 * route), HTTP status, time from request to answer in microseconds. */
void metrics_record(struct metrics *m, size_t route, int status, long long usec);

/* Appends ipborg_http_requests_total{route,status} and
 * ipborg_http_request_duration_seconds{route} (histogram). */
void metrics_write(struct metrics *m, struct buf *out);

#endif
