/* test_cache.c -- the sharded LRU of cache.h: storing, first writer wins,
 * eviction in recency order within the byte budget, removal, and every value
 * freed exactly once, also with several threads at once; readers in flight
 * (an entry held while evicted, removed, or too large to keep stays valid and
 * shared, and is freed with its last release) and one producer per key
 * (waiters share its value, or produce alone when it gives up). */
#include "unit.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "cache.h"

static atomic_int freed;

static void count_free(void *v)
{
    atomic_fetch_add(&freed, 1);
    free(v);
}

static void read_int(void *value, void *ctx)
{
    *(int *)ctx = *(int *)value;
}

static int *boxed(int v)
{
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = v;
    return p;
}

static int lookup(struct cache *c, const char *key)
{
    int v = -1;
    if (!cache_use(c, key, strlen(key), read_int, &v))
        return -1;
    return v;
}

static void test_put_use_remove(void **state)
{
    (void)state;
    freed = 0;
    struct cache *c = cache_new(1 << 20, count_free);
    assert_non_null(c);
    assert_int_equal(lookup(c, "/a"), -1);
    assert_int_equal(cache_put(c, "/a", 2, boxed(1), 4), 1);
    assert_int_equal(cache_put(c, "/b", 2, boxed(2), 4), 1);
    assert_int_equal(lookup(c, "/a"), 1);
    assert_int_equal(lookup(c, "/b"), 2);
    /* First writer wins; the second value is freed. */
    assert_int_equal(cache_put(c, "/a", 2, boxed(99), 4), 0);
    assert_int_equal(freed, 1);
    assert_int_equal(lookup(c, "/a"), 1);
    /* Keys are bytes: an embedded NUL is part of the key. */
    assert_int_equal(cache_put(c, "/a\0h1", 5, boxed(3), 4), 1);
    assert_int_equal(cache_put(c, "/a\0h2", 5, boxed(4), 4), 1);
    int v = 0;
    assert_int_equal(cache_use(c, "/a\0h2", 5, read_int, &v), 1);
    assert_int_equal(v, 4);
    assert_int_equal(cache_remove(c, "/b", 2), 1);
    assert_int_equal(cache_remove(c, "/b", 2), 0);
    assert_int_equal(lookup(c, "/b"), -1);
    assert_int_equal(cache_remove_prefix(c, "/a\0", 3), 2);
    assert_int_equal(lookup(c, "/a"), 1);
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_true(st.hits >= 5 && st.misses >= 2);
    cache_free(c);
    assert_int_equal(freed, 5);
}

static void test_eviction_lru_within_budget(void **state)
{
    (void)state;
    freed = 0;
    /* 1 MiB in 8 shards of 128 KiB; values of 4 KiB: about 30 per shard fit. */
    struct cache *c = cache_new(16 * 65536, count_free);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "/grid/%d", i);
        assert_true(cache_put(c, key, strlen(key), boxed(i), 4096) >= 0);
        /* Keep /grid/0 hot: it must survive while colder entries go. */
        assert_int_equal(lookup(c, "/grid/0"), 0);
        struct cache_stats st;
        cache_get_stats(c, &st);
        assert_true(st.bytes <= st.max_bytes);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_true(st.evictions > 1000);
    assert_int_equal(st.entries + st.evictions, 2000);
    /* The newest are present, the oldest (but the hot one) are gone. */
    snprintf(key, sizeof key, "/grid/%d", 1999);
    assert_int_equal(lookup(c, key), 1999);
    assert_int_equal(lookup(c, "/grid/1"), -1);
    assert_int_equal(lookup(c, "/grid/0"), 0);
    /* A value over half a shard (1/16 of the cache) is refused (and freed). */
    int before = freed;
    assert_int_equal(cache_put(c, "/big", 4, boxed(7), 70000), -1);
    assert_int_equal(freed, before + 1);
    cache_free(c);
    assert_int_equal(freed, 2001);
}

static void test_zero_budget_stores_nothing(void **state)
{
    (void)state;
    freed = 0;
    struct cache *c = cache_new(0, count_free);
    assert_int_equal(cache_put(c, "/a", 2, boxed(1), 1), -1);
    assert_int_equal(lookup(c, "/a"), -1);
    cache_free(c);
    assert_int_equal(freed, 1);
}

static struct cache *shared;
static atomic_int handed;

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char key[32];
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % 500);
        snprintf(key, sizeof key, "/k/%d", k);
        int v = -1;
        if (cache_use(shared, key, strlen(key), read_int, &v)) {
            if (v != k)
                return (void *)1;   /* a value under another key: corruption */
        } else if ((seed >> 4) % 3 == 0) {
            cache_remove(shared, key, strlen(key));
        } else {
            atomic_fetch_add(&handed, 1);
            cache_put(shared, key, strlen(key), boxed(k), 256);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    freed = 0;
    handed = 0;
    shared = cache_new(16 * 8192, count_free);
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    struct cache_stats st;
    cache_get_stats(shared, &st);
    assert_true(st.bytes <= st.max_bytes);
    assert_true(st.inserts > 0 && st.hits > 0);
    cache_free(shared);
    /* Every value handed to the cache was freed exactly once, whether it was
     * stored, refused as a duplicate, evicted or removed. */
    assert_int_equal(freed, handed);
}


/* --- readers in flight and one producer per key ----------------------------------- */

/* A value with a recognisable content, to see that a held one is intact. */
static char *filled(char c, size_t n)
{
    char *p = malloc(n);
    assert_non_null(p);
    memset(p, c, n);
    return p;
}

static int intact(const char *p, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static void test_held_entry_survives_eviction(void **state)
{
    (void)state;
    freed = 0;
    struct cache *c = cache_new(16 * 65536, count_free);   /* 128 KiB a shard */
    void *v;
    struct cache_ref *lead, *r2, *r3;
    assert_int_equal(cache_acquire(c, "/held", 5, &v, &lead), CACHE_LEAD);
    assert_int_equal(cache_fill(c, lead, filled('h', 4096), 4096), 1);   /* resident */
    assert_int_equal(cache_acquire(c, "/held", 5, &v, &r2), CACHE_HIT);
    char *held = v;
    /* Enough other entries to evict everything resident, /held included. */
    char key[32];
    for (int i = 0; i < 600; i++) {
        snprintf(key, sizeof key, "/other/%d", i);
        assert_int_equal(cache_put(c, key, strlen(key), filled('o', 4096), 4096), 1);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_true(st.evictions > 300);
    assert_true(st.bytes <= st.max_bytes);
    assert_int_equal(st.held, 1);             /* out of the budget, still alive */
    assert_true(intact(held, 'h', 4096));
    /* Still findable: a new reader shares it instead of producing it again. */
    assert_int_equal(cache_acquire(c, "/held", 5, &v, &r3), CACHE_HIT);
    assert_ptr_equal(v, held);
    int before = freed;
    cache_release(c, lead);
    cache_release(c, r2);
    assert_int_equal(freed, before);          /* r3 still reads it */
    assert_true(intact(held, 'h', 4096));
    cache_release(c, r3);
    assert_int_equal(freed, before + 1);      /* the last release frees it */
    assert_int_equal(cache_acquire(c, "/held", 5, &v, &lead), CACHE_LEAD);
    cache_abandon(c, lead);
    cache_free(c);
    assert_int_equal(freed, 601);
}

static void test_over_budget_shared_while_read(void **state)
{
    (void)state;
    freed = 0;
    /* A cache of 0 bytes keeps nothing, yet readers in flight share one copy. */
    struct cache *c = cache_new(0, count_free);
    void *v, *w;
    struct cache_ref *lead, *r2;
    assert_int_equal(cache_acquire(c, "/big", 4, &v, &lead), CACHE_LEAD);
    char *big = filled('b', 1 << 20);
    assert_int_equal(cache_fill(c, lead, big, 1 << 20), 0);   /* held only */
    assert_int_equal(cache_acquire(c, "/big", 4, &w, &r2), CACHE_HIT);
    assert_ptr_equal(w, big);
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.held, 1);
    assert_true(st.held_bytes >= 1 << 20);
    cache_release(c, lead);
    assert_int_equal(freed, 0);
    cache_release(c, r2);
    assert_int_equal(freed, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.held, 0);
    /* Nobody holds it: the next reader produces it again. */
    assert_int_equal(cache_acquire(c, "/big", 4, &v, &lead), CACHE_LEAD);
    cache_abandon(c, lead);
    cache_free(c);
    assert_int_equal(freed, 1);
}

static void test_removed_while_held(void **state)
{
    (void)state;
    freed = 0;
    struct cache *c = cache_new(1 << 20, count_free);
    void *v;
    struct cache_ref *r1, *r2;
    assert_int_equal(cache_put(c, "/g", 2, filled('g', 100), 100), 1);
    assert_int_equal(cache_acquire(c, "/g", 2, &v, &r1), CACHE_HIT);
    assert_int_equal(cache_remove_prefix(c, "/g", 2), 1);   /* a deleted grid */
    assert_int_equal(freed, 0);
    assert_true(intact(v, 'g', 100));
    /* Later readers do not see it... */
    assert_int_equal(lookup(c, "/g"), -1);
    assert_int_equal(cache_acquire(c, "/g", 2, &v, &r2), CACHE_LEAD);
    /* ... and a producer that began before the removal serves only itself. */
    assert_int_equal(cache_remove(c, "/g", 2), 1);
    assert_int_equal(cache_fill(c, r2, filled('n', 10), 10), -1);
    assert_int_equal(lookup(c, "/g"), -1);
    cache_release(c, r2);
    assert_int_equal(freed, 1);
    cache_release(c, r1);
    assert_int_equal(freed, 2);
    cache_free(c);
    assert_int_equal(freed, 2);
}

/* One producer, READERS waiters: the producer fills (or abandons) only once
 * every waiter is waiting (the cache's waits count says so). */
#define WAITERS 6
static struct cache *herd;
static atomic_int herd_hits, herd_alone, herd_leads;
static void *herd_value;

static void *herd_reader(void *arg)
{
    (void)arg;
    void *v;
    struct cache_ref *r;
    enum cache_got got = cache_acquire(herd, "/page", 5, &v, &r);
    if (got == CACHE_HIT) {
        if (v != herd_value || !intact(v, 'p', 1000))
            return (void *)1;
        atomic_fetch_add(&herd_hits, 1);
        cache_release(herd, r);
    } else if (got == CACHE_ALONE) {
        atomic_fetch_add(&herd_alone, 1);
    } else {
        atomic_fetch_add(&herd_leads, 1);
        cache_abandon(herd, r);
    }
    return NULL;
}

static void run_herd(int fill)
{
    freed = 0;
    herd_hits = herd_alone = herd_leads = 0;
    herd = cache_new(fill == 2 ? 0 : 1 << 20, count_free);
    void *v;
    struct cache_ref *lead;
    assert_int_equal(cache_acquire(herd, "/page", 5, &v, &lead), CACHE_LEAD);
    herd_value = filled('p', 1000);
    pthread_t t[WAITERS];
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, herd_reader, NULL), 0);
    struct cache_stats st;
    do {
        sched_yield();
        cache_get_stats(herd, &st);
    } while (st.waits < WAITERS);
    if (fill) {
        assert_true(cache_fill(herd, lead, herd_value, 1000) >= 0);
    } else {
        cache_abandon(herd, lead);
        free(herd_value);
    }
    for (int i = 0; i < WAITERS; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_int_equal(herd_leads, 0);   /* nobody produced it a second time */
    if (fill) {
        assert_int_equal(herd_hits, WAITERS);
        cache_release(herd, lead);
    } else {
        assert_int_equal(herd_alone, WAITERS);
    }
    cache_free(herd);
    assert_int_equal(freed, fill ? 1 : 0);
}

static void test_waiters_share_one_producer(void **state)
{
    (void)state;
    run_herd(1);   /* kept in the cache */
    run_herd(2);   /* over the budget: shared while held */
}

static void test_waiters_alone_when_producer_gives_up(void **state)
{
    (void)state;
    run_herd(0);
}

/* Threads acquire, fill, abandon, release, put and remove at random on a tiny
 * cache (most fills are over the per-entry limit or evicted at once), reading
 * every value they hold: under ASan a use after free or a double free is a
 * crash, and every value must be freed exactly once. */
static struct cache *busy;
static atomic_int made;

static void *busy_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char key[32];
    struct cache_ref *held[4] = {0};
    int *heldv[4] = {0};
    int heldk[4] = {0};
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % 40);
        int slot = (int)((seed >> 20) % 4);
        snprintf(key, sizeof key, "/k/%d", k);
        if (held[slot]) {
            cache_release(busy, held[slot]);
            held[slot] = NULL;
        }
        switch ((seed >> 4) % 8) {
        case 0:
            cache_remove_prefix(busy, "/k/1", 4);
            break;
        case 1:
            cache_remove(busy, key, strlen(key));
            break;
        case 2:
            atomic_fetch_add(&made, 1);
            cache_put(busy, key, strlen(key), boxed(k), (seed >> 12) % 4096);
            break;
        default: {
            void *v;
            struct cache_ref *r;
            enum cache_got got = cache_acquire(busy, key, strlen(key), &v, &r);
            if (got == CACHE_HIT) {
                if (*(int *)v != k)
                    return (void *)1;
                held[slot] = r;
                heldv[slot] = v;
                heldk[slot] = k;
            } else if (got == CACHE_LEAD) {
                if ((seed >> 16) % 5 == 0) {
                    cache_abandon(busy, r);
                } else {
                    int *p = boxed(k);
                    atomic_fetch_add(&made, 1);
                    cache_fill(busy, r, p, (seed >> 12) % 8192);
                    held[slot] = r;
                    heldv[slot] = p;
                    heldk[slot] = k;
                }
            }
        }
        }
        for (int j = 0; j < 4; j++)   /* what is held is still intact */
            if (held[j] && *heldv[j] != heldk[j])
                return (void *)1;
    }
    for (int j = 0; j < 4; j++)
        cache_release(busy, held[j]);
    return NULL;
}

static void test_threads_hold_evict_remove(void **state)
{
    (void)state;
    freed = 0;
    made = 0;
    busy = cache_new(8 * 8192, count_free);   /* 8 KiB a shard, 4 KiB an entry */
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, busy_thread, (void *)(i + 7)), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    struct cache_stats st;
    cache_get_stats(busy, &st);
    assert_int_equal(st.held, 0);   /* nothing held once every reader released */
    assert_true(st.bytes <= st.max_bytes);
    cache_free(busy);
    assert_int_equal(freed, made);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_use_remove),
        cmocka_unit_test(test_eviction_lru_within_budget),
        cmocka_unit_test(test_zero_budget_stores_nothing),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_held_entry_survives_eviction),
        cmocka_unit_test(test_over_budget_shared_while_read),
        cmocka_unit_test(test_removed_while_held),
        cmocka_unit_test(test_waiters_share_one_producer),
        cmocka_unit_test(test_waiters_alone_when_producer_gives_up),
        cmocka_unit_test(test_threads_hold_evict_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
