/* test_alloc.c - Criterion tests of the alloc layer (src/alloc).
 *
 * Each body runs over every allocator (ParameterizedTest): arena without a
 * lock (GIL model), arena with its lock, thread, malloc and mimalloc. Criterion runs
 * every test in its own process, so each starts from a fresh allocator.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_kinds.h" // the allocator settings and helpers shared by these tests
#include "alloc/alloc.h"  // the interface under test
#include "base/atomic.h"  // handing blocks between test threads
#include "base/tstate.h" // gh_tstate_bind, lock counters


static bool has_pools(const struct kind_param *k) { return kind_has_pools(k); }

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Bytes the caller may write: the whole size-class block for pool kinds. */
static size_t usable(const struct kind_param *k, size_t n)
{
    return has_pools(k) && n <= GH_ALLOC_SMALL_MAX ? round16(n) : n;
}

static void start(const struct kind_param *k, struct gh_tstate *ts) { kind_start(k, ts); }

static void finish(void) { kind_finish(); }

static struct gh_alloc_stats stats(void)
{
    struct gh_alloc_stats s;
    gh_alloc_stats_get(&s);
    return s;
}

static void fill(void *p, size_t n, unsigned seed)
{
    memset(p, (int)(seed * 31u + 7u) & 0xff, n);
}

static bool check(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    unsigned char v = (unsigned char)((seed * 31u + 7u) & 0xff);
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return false;
    return true;
}

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

// ---------------------------------------------------------------------------
// Size classes and alignment

struct span { uintptr_t lo, hi; };

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

KIND_PARAMS(alloc, sizes_and_alignment)
ParameterizedTest(struct kind_param *k, alloc, sizes_and_alignment, .timeout = 20)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { MAXN = 600, PER = 3, TOTAL = MAXN * PER };
    static void *ptr[TOTAL];
    static size_t len[TOTAL];
    static struct span spans[TOTAL];
    size_t i = 0, bytes = 0;
    for (size_t n = 1; n <= MAXN; n++) {
        for (int j = 0; j < PER; j++, i++) {
            ptr[i] = gh_alloc(n);
            len[i] = n;
            bytes += n;
            cr_assert_eq((uintptr_t)ptr[i] % GH_ALLOC_ALIGN, 0, "%s: %zu bytes", k->name, n);
            fill(ptr[i], usable(k, n), (unsigned)i);
        }
    }
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, bytes);
    cr_assert_eq(s.allocs, TOTAL);
    cr_assert_eq(s.large_allocs, (MAXN - GH_ALLOC_SMALL_MAX) * PER);
    if (has_pools(k)) {
        /* Each class got 16*3 = 48 blocks; a pool holds (16 KiB - header) /
         * size of them, so classes above 336 bytes need two pools (true for
         * any header of 16..64 bytes). */
        uint64_t want = 0;
        for (size_t size = 16; size <= GH_ALLOC_SMALL_MAX; size += 16) {
            size_t cap = (GH_ALLOC_POOL_SIZE - 64) / size;
            want += (48 + cap - 1) / cap;
        }
        cr_assert_eq(want, 43);
        cr_assert_eq(s.pools_live, want);
    }

    for (i = 0; i < TOTAL; i++) {
        cr_assert(check(ptr[i], usable(k, len[i]), (unsigned)i), "block %zu overwritten", i);
        spans[i].lo = (uintptr_t)ptr[i];
        spans[i].hi = (uintptr_t)ptr[i] + usable(k, len[i]);
    }
    qsort(spans, TOTAL, sizeof spans[0], span_cmp);
    for (i = 1; i < TOTAL; i++)
        cr_assert_leq(spans[i - 1].hi, spans[i].lo, "blocks overlap");

    for (i = 0; i < TOTAL; i++)
        gh_free(ptr[i], len[i]);
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.frees, TOTAL);
    cr_assert_eq(s.pools_live, 0);
    finish();
}

KIND_PARAMS(alloc, reuse_after_free)
ParameterizedTest(struct kind_param *k, alloc, reuse_after_free, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    void *keep = gh_alloc(40); /* keeps the pool of class 48 alive */
    void *p = gh_alloc(40);
    gh_free(p, 40);
    void *q = gh_alloc(48); /* same class (33..48) */
    if (has_pools(k))
        cr_assert_eq(q, p, "%s: a freed block is reused first", k->name);
    void *r = gh_alloc(17); /* class 32: another pool */
    if (has_pools(k))
        cr_assert_neq((uintptr_t)r & ~(uintptr_t)(GH_ALLOC_POOL_SIZE - 1),
                      (uintptr_t)q & ~(uintptr_t)(GH_ALLOC_POOL_SIZE - 1),
                      "size classes do not share pools");
    gh_free(r, 17);
    void *t = gh_alloc(32);
    if (has_pools(k))
        cr_assert_eq(t, r);
    gh_free(t, 32);
    gh_free(q, 48);
    gh_free(keep, 40);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, s.frees);
    finish();
}

// ---------------------------------------------------------------------------
// Pools and arenas

KIND_PARAMS(alloc, pools_per_class)
ParameterizedTest(struct kind_param *k, alloc, pools_per_class, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    void *p[GH_ALLOC_SMALL_MAX / GH_ALLOC_ALIGN];
    for (unsigned c = 0; c < GH_ALLOC_SMALL_MAX / GH_ALLOC_ALIGN; c++)
        p[c] = gh_alloc((c + 1) * GH_ALLOC_ALIGN);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.pools_live, has_pools(k) ? 32 : 0);
    cr_assert_eq(s.pools_peak, has_pools(k) ? 32 : 0);
    cr_assert_eq(s.arenas_live, has_pools(k) ? 1 : 0);
    cr_assert_eq(s.arenas_allocated, has_pools(k) ? 1 : 0);
    for (unsigned c = 0; c < GH_ALLOC_SMALL_MAX / GH_ALLOC_ALIGN; c++)
        gh_free(p[c], (c + 1) * GH_ALLOC_ALIGN);
    s = stats();
    cr_assert_eq(s.pools_live, 0);
    cr_assert_eq(s.pools_peak, has_pools(k) ? 32 : 0);
    cr_assert_eq(s.live_bytes, 0);
    finish();
}

KIND_PARAMS(alloc, arenas_returned_to_os)
ParameterizedTest(struct kind_param *k, alloc, arenas_returned_to_os, .timeout = 20)
{
    struct gh_tstate ts;
    start(k, &ts);
    /* 512-byte blocks: 31 per 16 KiB pool, 64 pools per arena. */
    enum { PER_POOL = 31, NPOOLS = 193, N = (NPOOLS - 1) * PER_POOL + 10 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = gh_alloc(512);
    struct gh_alloc_stats s = stats();
    uint64_t want_arenas = has_pools(k) ? (NPOOLS + 63) / 64 : 0; /* 4 */
    cr_assert_eq(s.pools_live, has_pools(k) ? NPOOLS : 0, "%s pools", k->name);
    cr_assert_eq(s.arenas_live, want_arenas);
    cr_assert_eq(s.arenas_allocated, want_arenas);
    cr_assert_eq(s.arenas_peak, want_arenas);
    cr_assert_eq(s.arenas_freed, 0);

    /* Free in a random order, so arenas empty in an arbitrary order. */
    uint64_t seed = 42;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rng_next(&seed) % (uint64_t)(i + 1));
        void *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < N; i++)
        gh_free(p[i], 512);
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.pools_live, 0);
    /* Every emptied arena is unmapped except the heap's last one (spare). */
    cr_assert_eq(s.arenas_live, has_pools(k) ? 1 : 0);
    cr_assert_eq(s.arenas_freed, has_pools(k) ? want_arenas - 1 : 0);

    /* The spare serves the next allocations without a new mmap. */
    void *again = gh_alloc(512);
    s = stats();
    cr_assert_eq(s.arenas_allocated, want_arenas);
    gh_free(again, 512);

    gh_alloc_thread_detach();
    s = stats();
    /* alloc=thread returns its spare at detach; alloc=arena's heap is
     * process-wide and keeps it until fini. */
    cr_assert_eq(s.arenas_live, k->kind == GH_ALLOC_ARENA ? 1 : 0);
    gh_alloc_fini();
    s = stats();
    cr_assert_eq(s.arenas_live, 0);
    cr_assert_eq(s.arenas_freed, s.arenas_allocated);
    cr_assert_eq(s.arenas_allocated, want_arenas);
    cr_assert_eq(s.pools_peak, has_pools(k) ? NPOOLS : 0);
    gh_tstate_unbind();
}

// ---------------------------------------------------------------------------
// Large allocations, live and peak bytes

KIND_PARAMS(alloc, large_allocations)
ParameterizedTest(struct kind_param *k, alloc, large_allocations, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    static const size_t sizes[] = {512, 513, 4096, 100000, 1u << 20};
    void *p[5];
    uint64_t bytes = 0;
    for (int i = 0; i < 5; i++) {
        p[i] = gh_alloc(sizes[i]);
        cr_assert_eq((uintptr_t)p[i] % GH_ALLOC_ALIGN, 0);
        fill(p[i], sizes[i], (unsigned)i);
        bytes += sizes[i];
    }
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.large_allocs, 4, "512 is still small");
    cr_assert_eq(s.live_bytes, bytes);
    cr_assert_eq(s.pools_live, has_pools(k) ? 1 : 0);
    for (int i = 0; i < 5; i++) {
        cr_assert(check(p[i], sizes[i], (unsigned)i));
        gh_free(p[i], sizes[i]);
    }
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.peak_bytes, bytes);
    finish();
}

KIND_PARAMS(alloc, live_and_peak_bytes)
ParameterizedTest(struct kind_param *k, alloc, live_and_peak_bytes, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    void *a[100], *b[10];
    for (int i = 0; i < 100; i++)
        a[i] = gh_alloc(100);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 10000);
    cr_assert_eq(s.peak_bytes, 10000, "%s", k->name);
    for (int i = 0; i < 50; i++)
        gh_free(a[i], 100);
    for (int i = 0; i < 10; i++)
        b[i] = gh_alloc(200);
    s = stats();
    cr_assert_eq(s.live_bytes, 7000);
    cr_assert_eq(s.peak_bytes, 10000);
    for (int i = 50; i < 100; i++)
        gh_free(a[i], 100);
    for (int i = 0; i < 10; i++)
        gh_free(b[i], 200);
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.peak_bytes, 10000);
    cr_assert_eq(s.allocs, 110);
    cr_assert_eq(s.frees, 110);
    finish();
}

/* Without a look at the stats, alloc=thread/malloc only know the peak from
 * their sampling points: it may miss up to 16 KiB per heap. */
KIND_PARAMS(alloc, peak_between_samples)
ParameterizedTest(struct kind_param *k, alloc, peak_between_samples, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { N = 1000, SZ = 100 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = gh_alloc(SZ);
    for (int i = 0; i < N; i++)
        gh_free(p[i], SZ);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    if (k->kind == GH_ALLOC_ARENA) {
        cr_assert_eq(s.peak_bytes, N * SZ, "exact with one heap");
    } else {
        cr_assert_leq(s.peak_bytes, N * SZ);
        cr_assert_geq(s.peak_bytes, N * SZ - GH_ALLOC_POOL_SIZE, "%s", k->name);
    }
    finish();
}

// ---------------------------------------------------------------------------
// Two threads: B frees what A allocated


enum { XN = 20000 };
static void *xslot[XN];

static size_t xsize(int i) { return (size_t)(i * 37 % 700) + 1; }

static void *x_producer(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "alloc-A");
    gh_alloc_thread_attach();
    for (int i = 0; i < XN; i++) {
        void *p = t_alloc(xsize(i));
        fill(p, xsize(i), (unsigned)i);
        /* Release: pairs with the acquire load in x_consumer. */
        gh_atomic_store_release_ptr(&xslot[i], p);
        /* Local traffic too, so A's allocations drain B's frees. */
        void *t = t_alloc(64);
        t_free(t, 64);
    }
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

static void *x_consumer(void *arg)
{
    uint64_t *bad = arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 2, "alloc-B");
    gh_alloc_thread_attach();
    for (int i = 0; i < XN; i++) {
        void *p;
        /* Acquire: pairs with the release store in x_producer. */
        while ((p = gh_atomic_load_acquire_ptr(&xslot[i])) == NULL)
            sched_yield();
        if (!check(p, xsize(i), (unsigned)i))
            (*bad)++;
        t_free(p, xsize(i));
    }
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

KIND_PARAMS(alloc, cross_thread_free)
ParameterizedTest(struct kind_param *k, alloc, cross_thread_free, .timeout = 30)
{
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 0, "test");
    cr_assert_eq(gh_alloc_init(k->kind, k->locked), 0);
    cur_kind = k;
    uint64_t bad = 0, small = 0;
    for (int i = 0; i < XN; i++)
        small += xsize(i) <= GH_ALLOC_SMALL_MAX;
    pthread_t a, b;
    cr_assert_eq(pthread_create(&a, NULL, x_producer, NULL), 0);
    cr_assert_eq(pthread_create(&b, NULL, x_consumer, &bad), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cr_assert_eq(bad, 0, "%s: blocks corrupted", k->name);

    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, 2 * XN);
    cr_assert_eq(s.frees, 2 * XN);
    if (k->kind == GH_ALLOC_THREAD)
        cr_assert_eq(s.cross_thread_frees, small);
    else /* mimalloc hands them back itself, uncounted (docs/alloc.md) */
        cr_assert_eq(s.cross_thread_frees, 0);

    gh_alloc_fini();
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.pools_live, 0);
    cr_assert_eq(s.arenas_live, 0);
    cr_assert_eq(s.arenas_freed, s.arenas_allocated);
    gh_tstate_unbind();
}

/* A heap outlives its thread: blocks of a detached heap are freed later by
 * another thread, and fini takes them back. */
enum { DN = 1000 };
static void *dblocks[DN];

static void *d_thread(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "alloc-D");
    gh_alloc_thread_attach();
    for (int i = 0; i < DN; i++)
        dblocks[i] = gh_alloc(48);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

KIND_PARAMS(alloc, detached_heap)
ParameterizedTest(struct kind_param *k, alloc, detached_heap, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, d_thread, NULL), 0);
    pthread_join(t, NULL);
    for (int i = 0; i < DN; i++)
        gh_free(dblocks[i], 48);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    if (k->kind == GH_ALLOC_THREAD) {
        cr_assert_eq(s.cross_thread_frees, DN);
        cr_assert_gt(s.pools_live, 0, "blocks wait on the detached heap's list");
    } else {
        cr_assert_eq(s.pools_live, 0);
    }
    finish();
    s = stats();
    cr_assert_eq(s.pools_live, 0);
    cr_assert_eq(s.arenas_live, 0);
}

// ---------------------------------------------------------------------------
// The lock of alloc=arena

struct lock_arg {
    struct gh_lockstat st;
};

static void *lock_worker(void *arg)
{
    struct lock_arg *la = arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "alloc-L");
    gh_alloc_thread_attach();
    void *p[64];
    for (int r = 0; r < 2000; r++) {
        for (int i = 0; i < 64; i++)
            p[i] = gh_alloc((size_t)(i * 8 + 1));
        for (int i = 0; i < 64; i++)
            gh_free(p[i], (size_t)(i * 8 + 1));
    }
    la->st = ts.locks[GH_LOCK_alloc];
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

Test(alloc, arena_lock_counts, .timeout = 20)
{
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 0, "test");
    cr_assert_eq(gh_alloc_init(GH_ALLOC_ARENA, true), 0);
    struct lock_arg la[2];
    memset(la, 0, sizeof la);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, lock_worker, &la[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(la[i].st.acquisitions, 2u * 2000 * 64, "one per call");
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, 2u * 2000 * 64);
    gh_alloc_fini();
    gh_tstate_unbind();
}

Test(alloc, arena_unlocked_takes_no_lock, .timeout = 10)
{
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 0, "test");
    cr_assert_eq(gh_alloc_init(GH_ALLOC_ARENA, false), 0);
    gh_alloc_thread_attach();
    void *p = gh_alloc(100);
    gh_free(p, 100);
    cr_assert_eq(ts.locks[GH_LOCK_alloc].acquisitions, 0);
    finish();
}

Test(alloc, init_rejects_unknown_kind, .timeout = 10)
{
    cr_assert_eq(gh_alloc_init((enum gh_alloc_kind)7, false), -EINVAL);
}

// ---------------------------------------------------------------------------
// Stats after fini

KIND_PARAMS(alloc, stats_after_fini)
ParameterizedTest(struct kind_param *k, alloc, stats_after_fini, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    void *p[300];
    for (int i = 0; i < 300; i++)
        p[i] = gh_alloc((size_t)(i + 1) * 3);
    uint64_t bytes = 0;
    for (int i = 0; i < 300; i++)
        bytes += (uint64_t)(i + 1) * 3;
    /* alloc=thread/malloc sample the peak at rare events; reading the stats
     * is one, so the peak is exact here. */
    (void)stats();
    for (int i = 0; i < 300; i++)
        gh_free(p[i], (size_t)(i + 1) * 3);
    finish();
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.allocs, 300);
    cr_assert_eq(s.frees, 300);
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.peak_bytes, bytes, "%s: peak survives fini", k->name);
    cr_assert_eq(s.large_allocs, 300 - 512 / 3);
    cr_assert_eq(s.arenas_live, 0);
    cr_assert_eq(s.pools_live, 0);
    cr_assert_eq(s.arenas_freed, s.arenas_allocated);
    cr_assert_eq(s.arenas_allocated, has_pools(k) ? 1 : 0);

    /* The allocator can be set up again, from zero. */
    start(k, &ts);
    s = stats();
    cr_assert_eq(s.allocs, 0);
    cr_assert_eq(s.peak_bytes, 0);
    void *q = gh_alloc(10);
    (void)stats();
    gh_free(q, 10);
    finish();
    s = stats();
    cr_assert_eq(s.allocs, 1);
    cr_assert_eq(s.peak_bytes, 10);
}
