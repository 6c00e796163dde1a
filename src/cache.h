/* cache.h -- a bounded, least-recently-used map from byte-string keys to
 * values, shared by worker threads.
 *
 * The server keeps finished responses in it (a grid page, a /get answer, and
 * their gzip forms): grids never change once posted, so each is produced once
 * and then served like a static file.
 *
 * Concurrency: the map is split into shards by key hash, each with its own
 * mutex, list and byte budget (max_bytes / shards). A look-up locks one shard
 * for a few pointer moves, so threads only meet when they touch the same shard
 * at the same instant: there is no global lock on the hot path.
 *
 * Ownership: cache_put and cache_fill hand the value to the cache; the cache
 * calls free_value once, when the entry is gone from the map (evicted,
 * removed, or never resident) and no reader holds it, or when the cache is
 * freed. cache_use lends the value to a callback while the entry is pinned by
 * the shard lock; the callback must be short and must not call into the cache.
 *
 * Readers in flight (cache_acquire / cache_release). A reader that holds an
 * entry keeps its value alive and findable: an entry evicted or too large to
 * keep (over the per-entry limit, or any entry when max_bytes is 0) stays in
 * the map, outside the byte budget, while anyone holds it, and is freed with
 * the last release. So an answer of any size exists once in memory however
 * many read it at once. cache_remove and cache_remove_prefix take an entry out
 * of the map at once (later look-ups miss) and free it when its last holder
 * releases it.
 *
 * One producer per key (no thundering herd): cache_acquire on a missing key
 * makes the caller the key's producer (CACHE_LEAD) and leaves a placeholder;
 * readers of the key that come meanwhile wait for it, and then share what the
 * producer publishes with cache_fill, or, if it gives up (cache_abandon: the
 * answer is not one to share), each produce their own (CACHE_ALONE). A
 * producer must call exactly one of cache_fill / cache_abandon, and must not
 * wait on the cache while producing. */
#ifndef IPBORG_CACHE_H
#define IPBORG_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

typedef void (*cache_free_fn)(void *value);
typedef void (*cache_use_fn)(void *value, void *ctx);

struct cache_stats {
    uint64_t hits, misses, inserts, evictions;
    uint64_t entries, bytes, max_bytes;   /* resident entries, within the budget */
    uint64_t held, held_bytes;            /* alive only for readers in flight */
    uint64_t waits;                       /* look-ups that waited for a producer */
};

/* A reader's hold on an entry (or a producer's on its placeholder). */
struct cache_ref;

/* max_bytes 0 gives a cache that stores nothing (every put frees its value).
 * NULL on out of memory. */
struct cache *cache_new(size_t max_bytes, cache_free_fn free_value);
void cache_free(struct cache *c);

/* Stores key -> value, accounted as size bytes (plus the key and a small
 * overhead). If key is present already, the present value stays and the new
 * one is freed: entries are immutable, the first writer wins. Returns 1 if
 * stored, 0 if an entry was there, -1 if the value is too large for the cache
 * (half a shard's budget: max_bytes / 16) and was freed. Evicts least recently used
 * entries of the shard to stay within budget. */
int cache_put(struct cache *c, const void *key, size_t keylen, void *value, size_t size);

/* On a hit, marks the entry recently used, calls use(value, ctx) under the
 * shard lock and returns 1; on a miss (or a key still being produced)
 * returns 0. Never waits. */
int cache_use(struct cache *c, const void *key, size_t keylen, cache_use_fn use, void *ctx);

enum cache_got {
    CACHE_HIT,     /* *value is the entry's value, held by *ref until cache_release */
    CACHE_LEAD,    /* a miss: the caller produces the value; *ref is its placeholder */
    CACHE_ALONE,   /* the producer waited for gave up: produce alone; *ref is NULL */
};

/* Looks key up for a reader; waits while another caller produces it. For
 * CACHE_HIT the value is not freed before cache_release(*ref), even if the
 * entry is evicted or removed meanwhile. For CACHE_LEAD the caller must later
 * call cache_fill or cache_abandon with *ref. On out of memory: CACHE_ALONE. */
enum cache_got cache_acquire(struct cache *c, const void *key, size_t keylen, void **value,
                             struct cache_ref **ref);

/* Publishes value (accounted as size bytes) for a producer's placeholder and
 * wakes the readers waiting for it; the producer's ref now holds the value
 * (cache_release when done). Returns 1 if kept within the budget, 0 if kept
 * only while held (over the per-entry limit), -1 if the key was removed while
 * it was produced: the value then serves the producer alone (the waiting
 * readers produce their own) and is freed at its release. */
int cache_fill(struct cache *c, struct cache_ref *ref, void *value, size_t size);

/* The producer gives up: the placeholder goes, waiting readers get CACHE_ALONE. */
void cache_abandon(struct cache *c, struct cache_ref *ref);

/* Ends a hold from cache_acquire (CACHE_HIT) or a filled CACHE_LEAD. NULL: no-op. */
void cache_release(struct cache *c, struct cache_ref *ref);

/* Removes key if present (1) or not (0). */
int cache_remove(struct cache *c, const void *key, size_t keylen);

/* Removes every entry whose key starts with prefix; returns how many. */
size_t cache_remove_prefix(struct cache *c, const void *prefix, size_t len);

void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
