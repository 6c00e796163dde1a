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
 * Ownership: cache_put hands the value to the cache; the cache calls
 * free_value when the entry is evicted, removed, replaced or the cache is
 * freed. cache_use lends the value to a callback while the entry is pinned by
 * the shard lock, so an entry is never freed while in use; the callback must
 * be short and must not call into the cache. */
#ifndef IPBORG_CACHE_H
#define IPBORG_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

typedef void (*cache_free_fn)(void *value);
typedef void (*cache_use_fn)(void *value, void *ctx);

struct cache_stats {
    uint64_t hits, misses, inserts, evictions;
    uint64_t entries, bytes, max_bytes;
};

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
 * shard lock and returns 1; on a miss returns 0. */
int cache_use(struct cache *c, const void *key, size_t keylen, cache_use_fn use, void *ctx);

/* Removes key if present (1) or not (0). */
int cache_remove(struct cache *c, const void *key, size_t keylen);

/* Removes every entry whose key starts with prefix; returns how many. */
size_t cache_remove_prefix(struct cache *c, const void *prefix, size_t len);

void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
