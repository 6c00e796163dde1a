/* test_cache.c -- the sharded LRU of cache.h: storing, first writer wins,
 * eviction in recency order within the byte budget, removal, and every value
 * freed exactly once, also with several threads at once. */
#include "unit.h"

#include <pthread.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_use_remove),
        cmocka_unit_test(test_eviction_lru_within_budget),
        cmocka_unit_test(test_zero_budget_stores_nothing),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
