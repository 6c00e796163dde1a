/* cache.c -- the sharded LRU map of cache.h, with readers in flight and one
 * producer per key.
 *
 * Each shard is a chained hash table plus a doubly linked list in recency
 * order (head = most recently used). An entry carries its key inline and is
 * in one of three states: PENDING (a placeholder: its producer is at work,
 * value NULL), READY (value set), or GONE (its producer gave up; only waiting
 * readers still point to it). Two flags say where it is:
 *   - in_map: reachable by key from its bucket chain;
 *   - resident: on the recency list and counted in the shard's bytes.
 * A resident entry is always in the map and READY. An entry in the map that is
 * not resident is a placeholder or is kept only for its holders (refs > 0).
 *
 * Lifetime: refs counts holders (readers given the value by cache_acquire, a
 * producer, readers waiting for a producer). An entry is freed when it is
 * neither resident nor held: by the last release of a non-resident entry, by
 * the eviction or removal of a resident one nobody holds. Eviction of a held
 * entry only takes it off the list (and out of the budget): it stays in the
 * map for further readers until the last release. Removal takes it out of the
 * map at once.
 *
 * Invariants, under the shard's lock:
 *   - an entry is in at most one bucket chain, once, iff in_map;
 *   - on the list iff resident; resident implies in_map and READY;
 *   - bytes == sum of cost(e) over resident entries and <= budget after
 *     cache_put / cache_fill return;
 *   - refs == 0 implies resident (else the entry has been freed);
 *   - nbuckets is a power of two and count <= 2 * nbuckets (the table doubles
 *     before passing that); count is the number of entries in the map. */
#include "cache.h"

#include "hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 8
#define ENTRY_OVERHEAD 96   /* the entry itself, its bucket slot, allocator slack */

enum state { PENDING, READY, GONE };

struct entry {
    struct entry *chain;          /* next in bucket */
    struct entry *prev, *next;    /* recency list */
    void *value;
    size_t cost;
    uint64_t hash;
    size_t refs;
    enum state state;
    unsigned char in_map, resident, shard;
    size_t keylen;
    unsigned char key[];
};

struct shard {
    pthread_mutex_t lock;
    pthread_cond_t produced;      /* a PENDING entry of this shard left that state */
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
    size_t bytes, resident;       /* resident entries and their cost */
    size_t held, held_bytes;      /* in the map, not resident, READY */
    struct entry *head, *tail;
    uint64_t evictions, inserts, waits;
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
        pthread_cond_init(&s->produced, NULL);
        s->nbuckets = 64;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (!s->buckets) {
            for (int j = 0; j <= i; j++) {
                free(c->shards[j].buckets);
                pthread_mutex_destroy(&c->shards[j].lock);
                pthread_cond_destroy(&c->shards[j].produced);
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

static struct entry **slot_of(struct shard *s, struct entry *e)
{
    struct entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    return pp;
}

static struct shard *shard_of(struct cache *c, uint64_t h)
{
    return &c->shards[h % SHARDS];
}

static void destroy(struct cache *c, struct entry *e)
{
    if (c->free_value && e->value)
        c->free_value(e->value);
    free(e);
}

/* Takes e off the list and out of the budget (it stays in the map). */
static void unreside(struct shard *s, struct entry *e)
{
    list_unlink(s, e);
    s->bytes -= e->cost;
    s->resident--;
    e->resident = 0;
    if (e->in_map) {
        s->held++;
        s->held_bytes += e->cost;
    }
}

/* Takes e out of the map. */
static void unmap(struct shard *s, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->chain;
    e->chain = NULL;
    e->in_map = 0;
    s->count--;
    if (!e->resident && e->state == READY) {
        s->held--;
        s->held_bytes -= e->cost;
    }
}

/* Removes *pp (an entry of s in the map) from the map and the list. Returns
 * the entry if nobody holds it any more (the caller destroys it after
 * unlocking), else NULL (its last holder will). */
static struct entry *drop(struct shard *s, struct entry **pp)
{
    struct entry *e = *pp;
    if (e->resident)
        unreside(s, e);
    unmap(s, pp);
    return e->refs ? NULL : e;
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

static struct entry *entry_new(const void *key, size_t keylen, uint64_t h)
{
    struct entry *e = calloc(1, sizeof *e + keylen);
    if (!e)
        return NULL;
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    e->hash = h;
    e->shard = (unsigned char)(h % SHARDS);
    return e;
}

/* Puts e (not in the map) at *pp, the empty end of its chain. */
static void map_insert(struct shard *s, struct entry **pp, struct entry *e)
{
    e->chain = NULL;
    *pp = e;
    e->in_map = 1;
    s->count++;
}

/* Makes READY entry e (in the map, not resident) resident if its cost fits
 * the per-entry limit, evicting from the tail to stay within the budget;
 * evicted entries nobody holds are chained on *dead for the caller to destroy
 * after unlocking. Returns 1 if resident. */
static int reside(struct cache *c, struct shard *s, struct entry *e, struct entry **dead)
{
    if (e->cost > c->budget / 2) {
        s->held++;
        s->held_bytes += e->cost;
        return 0;
    }
    e->resident = 1;
    list_push_head(s, e);
    s->bytes += e->cost;
    s->resident++;
    s->inserts++;
    while (s->bytes > c->budget && s->tail != e) {
        struct entry *victim = s->tail;
        s->evictions++;
        if (victim->refs) {
            unreside(s, victim);   /* its holders keep it, findable, outside the budget */
        } else {
            struct entry *d = drop(s, slot_of(s, victim));
            d->chain = *dead;
            *dead = d;
        }
    }
    return 1;
}

static void destroy_chain(struct cache *c, struct entry *dead)
{
    while (dead) {
        struct entry *next = dead->chain;
        destroy(c, dead);
        dead = next;
    }
}

static size_t cost_of(size_t size, size_t keylen)
{
    size_t cost = size + keylen + ENTRY_OVERHEAD;
    return cost < size ? (size_t)-1 : cost;
}

int cache_put(struct cache *c, const void *key, size_t keylen, void *value, size_t size)
{
    size_t cost = cost_of(size, keylen);
    if (cost > c->budget / 2) {
        if (c->free_value)
            c->free_value(value);
        return -1;
    }
    uint64_t h = hash64(key, keylen);
    struct shard *s = shard_of(c, h);
    struct entry *e = entry_new(key, keylen, h);
    if (!e) {
        if (c->free_value)
            c->free_value(value);
        return -1;
    }
    e->value = value;
    e->cost = cost;
    e->state = READY;

    struct entry *dead = NULL;
    pthread_mutex_lock(&s->lock);
    struct entry **pp = find_slot(s, h, key, keylen);
    if (*pp) {
        pthread_mutex_unlock(&s->lock);
        destroy(c, e);
        return 0;
    }
    map_insert(s, pp, e);
    reside(c, s, e, &dead);
    if (s->count > 2 * s->nbuckets)
        grow(s);
    pthread_mutex_unlock(&s->lock);
    destroy_chain(c, dead);
    return 1;
}

static void touch(struct shard *s, struct entry *e)
{
    if (e->resident && s->head != e) {
        list_unlink(s, e);
        list_push_head(s, e);
    }
}

int cache_use(struct cache *c, const void *key, size_t keylen, cache_use_fn use, void *ctx)
{
    uint64_t h = hash64(key, keylen);
    struct shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->lock);
    struct entry *e = *find_slot(s, h, key, keylen);
    if (!e || e->state != READY) {
        pthread_mutex_unlock(&s->lock);
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 0;
    }
    touch(s, e);
    use(e->value, ctx);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    return 1;
}

/* One hold less on e, under s's lock. Returns e if it is to be destroyed. */
static struct entry *unhold(struct shard *s, struct entry *e)
{
    if (--e->refs)
        return NULL;
    if (e->resident)
        return NULL;
    if (e->in_map)
        unmap(s, slot_of(s, e));
    return e;
}

enum cache_got cache_acquire(struct cache *c, const void *key, size_t keylen, void **value,
                             struct cache_ref **ref)
{
    uint64_t h = hash64(key, keylen);
    struct shard *s = shard_of(c, h);
    *value = NULL;
    *ref = NULL;
    pthread_mutex_lock(&s->lock);
    struct entry **pp = find_slot(s, h, key, keylen);
    struct entry *e = *pp;
    if (!e) {
        struct entry *n = entry_new(key, keylen, h);
        if (!n) {
            pthread_mutex_unlock(&s->lock);
            atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
            return CACHE_ALONE;
        }
        n->state = PENDING;
        n->refs = 1;
        map_insert(s, pp, n);
        if (s->count > 2 * s->nbuckets)
            grow(s);
        pthread_mutex_unlock(&s->lock);
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        *ref = (struct cache_ref *)n;
        return CACHE_LEAD;
    }
    e->refs++;
    if (e->state == PENDING) {
        s->waits++;
        while (e->state == PENDING)
            pthread_cond_wait(&s->produced, &s->lock);
    }
    if (e->state != READY) {
        struct entry *d = unhold(s, e);
        pthread_mutex_unlock(&s->lock);
        if (d)
            destroy(c, d);
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return CACHE_ALONE;
    }
    touch(s, e);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    *value = e->value;
    *ref = (struct cache_ref *)e;
    return CACHE_HIT;
}

int cache_fill(struct cache *c, struct cache_ref *ref, void *value, size_t size)
{
    struct entry *e = (struct entry *)ref;
    struct shard *s = &c->shards[e->shard];
    struct entry *dead = NULL;
    int rc;
    pthread_mutex_lock(&s->lock);
    e->value = value;
    e->cost = cost_of(size, e->keylen);
    if (e->in_map) {
        e->state = READY;
        rc = reside(c, s, e, &dead);
    } else {
        /* Removed while produced: the value may be stale for anyone else. */
        e->state = GONE;
        rc = -1;
    }
    pthread_cond_broadcast(&s->produced);
    pthread_mutex_unlock(&s->lock);
    destroy_chain(c, dead);
    return rc;
}

void cache_abandon(struct cache *c, struct cache_ref *ref)
{
    struct entry *e = (struct entry *)ref;
    struct shard *s = &c->shards[e->shard];
    pthread_mutex_lock(&s->lock);
    e->state = GONE;
    if (e->in_map)
        unmap(s, slot_of(s, e));
    pthread_cond_broadcast(&s->produced);
    struct entry *d = unhold(s, e);
    pthread_mutex_unlock(&s->lock);
    if (d)
        destroy(c, d);
}

void cache_release(struct cache *c, struct cache_ref *ref)
{
    if (!ref)
        return;
    struct entry *e = (struct entry *)ref;
    struct shard *s = &c->shards[e->shard];
    pthread_mutex_lock(&s->lock);
    struct entry *d = unhold(s, e);
    pthread_mutex_unlock(&s->lock);
    if (d)
        destroy(c, d);
}

/* Removal of a placeholder: the map forgets it; its producer's fill then
 * serves the producer alone (cache_fill returns -1). */
int cache_remove(struct cache *c, const void *key, size_t keylen)
{
    uint64_t h = hash64(key, keylen);
    struct shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->lock);
    struct entry **pp = find_slot(s, h, key, keylen);
    int found = *pp != NULL;
    struct entry *d = found ? drop(s, pp) : NULL;
    pthread_mutex_unlock(&s->lock);
    if (d)
        destroy(c, d);
    return found;
}

size_t cache_remove_prefix(struct cache *c, const void *prefix, size_t len)
{
    size_t removed = 0;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        struct entry *dead = NULL;
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++) {
            struct entry **pp = &s->buckets[b];
            while (*pp) {
                if ((*pp)->keylen >= len && memcmp((*pp)->key, prefix, len) == 0) {
                    struct entry *d = drop(s, pp);
                    if (d) {
                        d->chain = dead;
                        dead = d;
                    }
                    removed++;
                } else {
                    pp = &(*pp)->chain;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
        destroy_chain(c, dead);
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
        out->bytes += s->bytes;
        out->held += s->held;
        out->held_bytes += s->held_bytes;
        out->inserts += s->inserts;
        out->evictions += s->evictions;
        out->waits += s->waits;
        out->entries += s->resident;
        pthread_mutex_unlock(&s->lock);
    }
}

/* Every holder must have released before: nothing may be in flight. */
void cache_free(struct cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        for (size_t b = 0; b < s->nbuckets; b++) {
            struct entry *e = s->buckets[b];
            while (e) {
                struct entry *next = e->chain;
                destroy(c, e);
                e = next;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->produced);
    }
    free(c);
}
