/* cache.c -- the sharded LRU map of cache.h.
 *
 * Each shard is a chained hash table plus a doubly linked list in recency
 * order (head = most recently used). Both structures hold the same entries;
 * an entry carries its key inline. A shard's bytes are the sum of its
 * entries' accounted sizes (value size + key + ENTRY_OVERHEAD), and after
 * every insertion the shard evicts from the tail until it is within its
 * budget again.
 *
 * Invariants, under the shard's lock:
 *   - every entry is in exactly one bucket chain and on the list once;
 *   - bytes == sum of cost(e) over the shard's entries and <= budget after
 *     cache_put returns;
 *   - nbuckets is a power of two and count <= 2 * nbuckets (the table doubles
 *     before passing that). */
#include "cache.h"

#include "hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 8
#define ENTRY_OVERHEAD 96   /* the entry itself, its bucket slot, allocator slack */

struct entry {
    struct entry *chain;          /* next in bucket */
    struct entry *prev, *next;    /* recency list */
    void *value;
    size_t cost;
    uint64_t hash;
    size_t keylen;
    unsigned char key[];
};

struct shard {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
    size_t bytes;
    struct entry *head, *tail;
    uint64_t evictions, inserts;
};

struct cache {
    size_t budget;                /* per shard */
    cache_free_fn free_value;
    atomic_uint_fast64_t hits, misses;
    struct shard shards[SHARDS];
};

struct cache *cache_new(size_t max_bytes, cache_free_fn free_value)
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->budget = max_bytes / SHARDS;
    c->free_value = free_value;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->nbuckets = 64;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (!s->buckets) {
            for (int j = 0; j <= i; j++) {
                free(c->shards[j].buckets);
                pthread_mutex_destroy(&c->shards[j].lock);
            }
            free(c);
            return NULL;
        }
    }
    return c;
}

static void list_unlink(struct shard *s, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_head(struct shard *s, struct entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

static struct entry **find_slot(struct shard *s, uint64_t h, const void *key, size_t len)
{
    struct entry **pp = &s->buckets[h & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->chain) {
        struct entry *e = *pp;
        if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
            return pp;
    }
    return pp;
}

/* Unlinks *pp (an entry of s) everywhere and frees it. */
static void drop(struct cache *c, struct shard *s, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->chain;
    list_unlink(s, e);
    s->count--;
    s->bytes -= e->cost;
    if (c->free_value)
        c->free_value(e->value);
    free(e);
}

static void grow(struct shard *s)
{
    size_t n = s->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return;   /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e) {
            struct entry *next = e->chain;
            e->chain = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

int cache_put(struct cache *c, const void *key, size_t keylen, void *value, size_t size)
{
    size_t cost = size + keylen + ENTRY_OVERHEAD;
    if (cost > c->budget / 2 || cost < size) {
        if (c->free_value)
            c->free_value(value);
        return -1;
    }
    uint64_t h = hash64(key, keylen);
    struct shard *s = &c->shards[h % SHARDS];
    struct entry *e = malloc(sizeof *e + keylen);
    if (!e) {
        if (c->free_value)
            c->free_value(value);
        return -1;
    }
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    e->hash = h;
    e->value = value;
    e->cost = cost;

    pthread_mutex_lock(&s->lock);
    struct entry **pp = find_slot(s, h, key, keylen);
    if (*pp) {
        pthread_mutex_unlock(&s->lock);
        if (c->free_value)
            c->free_value(value);
        free(e);
        return 0;
    }
    e->chain = NULL;
    *pp = e;
    list_push_head(s, e);
    s->count++;
    s->bytes += cost;
    s->inserts++;
    while (s->bytes > c->budget && s->tail != e) {
        struct entry *victim = s->tail;
        drop(c, s, find_slot(s, victim->hash, victim->key, victim->keylen));
        s->evictions++;
    }
    if (s->count > 2 * s->nbuckets)
        grow(s);
    pthread_mutex_unlock(&s->lock);
    return 1;
}

int cache_use(struct cache *c, const void *key, size_t keylen, cache_use_fn use, void *ctx)
{
    uint64_t h = hash64(key, keylen);
    struct shard *s = &c->shards[h % SHARDS];
    pthread_mutex_lock(&s->lock);
    struct entry *e = *find_slot(s, h, key, keylen);
    if (!e) {
        pthread_mutex_unlock(&s->lock);
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 0;
    }
    if (s->head != e) {
        list_unlink(s, e);
        list_push_head(s, e);
    }
    use(e->value, ctx);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    return 1;
}

int cache_remove(struct cache *c, const void *key, size_t keylen)
{
    uint64_t h = hash64(key, keylen);
    struct shard *s = &c->shards[h % SHARDS];
    pthread_mutex_lock(&s->lock);
    struct entry **pp = find_slot(s, h, key, keylen);
    int found = *pp != NULL;
    if (found)
        drop(c, s, pp);
    pthread_mutex_unlock(&s->lock);
    return found;
}

size_t cache_remove_prefix(struct cache *c, const void *prefix, size_t len)
{
    size_t removed = 0;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++) {
            struct entry **pp = &s->buckets[b];
            while (*pp) {
                if ((*pp)->keylen >= len && memcmp((*pp)->key, prefix, len) == 0) {
                    drop(c, s, pp);
                    removed++;
                } else {
                    pp = &(*pp)->chain;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    return removed;
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof *out);
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->max_bytes = (uint64_t)c->budget * SHARDS;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->count;
        out->bytes += s->bytes;
        out->inserts += s->inserts;
        out->evictions += s->evictions;
        pthread_mutex_unlock(&s->lock);
    }
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        struct entry *e = s->head;
        while (e) {
            struct entry *next = e->next;
            if (c->free_value)
                c->free_value(e->value);
            free(e);
            e = next;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(c);
}
