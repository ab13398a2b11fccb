/* test_base.c - the base layer: mutex, histogram, PRNG. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "base/hist.h"
#include "base/mutex.h"
#include "base/rng.h"
#include "base/tstate.h"

static gh_mutex mx;
static uint64_t counter; /* protected by mx */
static struct gh_lockstat stats[2];

static void *locker(void *p)
{
    struct gh_lockstat *st = p;
    for (int i = 0; i < 200000; i++) {
        gh_mutex_lock(&mx, st);
        counter++;
        gh_mutex_unlock(&mx);
    }
    return NULL;
}

Test(base, mutex_excludes, .timeout = 60)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, locker, &stats[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(counter, 400000, "no increment lost under the lock");
    cr_assert_eq(stats[0].acquisitions + stats[1].acquisitions, 400000);
    cr_assert_leq(stats[0].contended, stats[0].acquisitions);
    cr_assert_eq(mx.bits, 0, "unlocked, nobody parked");
}

static gh_mutex held;
static int parked_done;

static void *waiter(void *p)
{
    (void)p;
    struct gh_lockstat st = {0};
    gh_mutex_lock(&held, &st); /* blocks: spins, then parks */
    /* Seq_cst, pairing with nothing: the test reads it after
     * pthread_join, which orders it. */
    gh_atomic_store_seqcst_int(&parked_done, (int)st.contended);
    gh_mutex_unlock(&held);
    return NULL;
}

Test(base, mutex_parks_and_wakes, .timeout = 10)
{
    struct gh_lockstat st = {0};
    pthread_t t;
    gh_mutex_lock(&held, &st);
    cr_assert_eq(pthread_create(&t, NULL, waiter, NULL), 0);
    /* Wait until the waiter has given up spinning and parked. Seq_cst,
     * pairing with nothing: the waiter sets PARKED with a relaxed CAS
     * (base/mutex.c) and only the value matters here. */
    while (gh_atomic_load_seqcst_u8(&held.bits) != (GH_MUTEX_LOCKED | GH_MUTEX_PARKED))
        sched_yield();
    gh_mutex_unlock(&held); /* must wake it */
    pthread_join(t, NULL);
    cr_assert_eq(parked_done, 1, "the waiter counted one contended acquisition");
    cr_assert_eq(held.bits, 0);
}

Test(base, hist_quantiles, .timeout = 10)
{
    static struct gh_hist h;
    for (uint64_t v = 1; v <= 10000; v++)
        gh_hist_add(&h, v);
    cr_assert_eq(h.count, 10000);
    cr_assert_eq(h.max, 10000);
    uint64_t p50 = gh_hist_quantile(&h, 0.5), p99 = gh_hist_quantile(&h, 0.99);
    cr_assert(p50 >= 5000 && p50 <= 5000 * 17 / 16 + 1, "p50 %llu within one bucket", (unsigned long long)p50);
    cr_assert(p99 >= 9900 && p99 <= 10000, "p99 %llu", (unsigned long long)p99);
    cr_assert_eq(gh_hist_quantile(&h, 1.0), 10000);
    for (unsigned b = 1; b < GH_HIST_BUCKETS - 1; b++)
        cr_assert_lt(gh_hist_bucket_low(b - 1), gh_hist_bucket_low(b), "buckets increase");
    for (uint64_t v = 0; v < 100000; v += 37)
        cr_assert_eq(gh_hist_bucket(gh_hist_bucket_low(gh_hist_bucket(v))), gh_hist_bucket(v));
    static struct gh_hist empty;
    cr_assert_eq(gh_hist_quantile(&empty, 0.5), 0);
}

Test(base, rng_is_deterministic_per_stream, .timeout = 10)
{
    struct gh_rng a, b, c;
    gh_rng_seed(&a, 42, 0);
    gh_rng_seed(&b, 42, 0);
    gh_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = gh_rng_next(&a);
        cr_assert_eq(x, gh_rng_next(&b));
        same_c += x == gh_rng_next(&c);
    }
    cr_assert_eq(same_c, 0, "streams differ");
    uint64_t counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = gh_rng_below(&a, 10);
        cr_assert_lt(v, 10);
        counts[v]++;
    }
    for (int i = 0; i < 10; i++)
        cr_assert(counts[i] > 9000 && counts[i] < 11000, "roughly uniform");
}
