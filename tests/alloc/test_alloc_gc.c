/* test_alloc_gc.c - the collector's blocks (gh_alloc_gc, gh_free_gc,
 * gh_alloc_visit_gc; alloc/alloc.h) under every allocator.
 *
 * The full layout's collector finds tracked objects by walking these
 * blocks, so the walk must see every live block exactly once, must never
 * show a block of an ordinary pool, and a block it shows that was never
 * handed out must have zero bytes 8..15 (where the object layer keeps its
 * collector bits): stale bytes there would look like a tracked object.
 * Blocks here carry a marker in bytes 8..15; the tests zero those bytes
 * before freeing, as gh_object_free does. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_kinds.h"
#include "alloc/alloc.h"
#include "base/atomic.h"
#include "base/clock.h"
#include "base/stw.h"
#include "base/tstate.h"

#define MARK      UINT64_C(0x6c69766500000000) /* "live" in the high half */
#define MARK_MASK UINT64_C(0xffffffff00000000)
#define BAD       UINT64_C(0xbadbadbadbadbad0) /* fills ordinary blocks */

/* The kind's name, from this process's own strings (a parameter's
 * pointers may not survive the trip to the test's process). */
static const char *kname(const struct kind_param *k)
{
    switch (k->kind) {
    case GH_ALLOC_ARENA:
        return k->locked ? "arena-locked" : "arena";
    case GH_ALLOC_THREAD:
        return "thread";
    case GH_ALLOC_MIMALLOC:
        return "mimalloc";
    default:
        return "malloc";
    }
}

static bool has_pools(const struct kind_param *k) { return kind_has_pools(k); }

static struct gh_alloc_stats stats(void)
{
    struct gh_alloc_stats s;
    gh_alloc_stats_get(&s);
    return s;
}

static uint64_t word1(const void *b) { return ((const uint64_t *)b)[1]; }
static void set_word1(void *b, uint64_t v) { ((uint64_t *)b)[1] = v; }

/* What a gc block of n bytes costs in live_bytes: large ones (and every
 * one under malloc) carry a 16-byte link; every one under mimalloc a
 * 32-byte one (struct gh_gc_link: the owner heap's list and its
 * hand-back link). */
static bool listed(const struct kind_param *k, size_t n) { return !has_pools(k) || n > GH_ALLOC_SMALL_MAX; }
static size_t charged(const struct kind_param *k, size_t n)
{
    if (k->kind == GH_ALLOC_MIMALLOC)
        return n + 32;
    return n + (listed(k, n) ? 16 : 0);
}

/* ---- allocation and freeing ------------------------------------------------ */

static const size_t sizes[] = {1, 16, 17, 32, 48, 100, 255, 496, 497, 512, 513, 1000, 4096, 100000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

KIND_PARAMS(allocgc, small_and_large_blocks_round_trip)
ParameterizedTest(struct kind_param *k, allocgc, small_and_large_blocks_round_trip, .timeout = 20)
{
    struct gh_tstate ts;
    kind_start(k, &ts);
    struct gh_alloc_stats s0 = stats();
    void *b[NSIZES][3];
    uint64_t live = 0, large = 0;
    for (size_t i = 0; i < NSIZES; i++) {
        for (int j = 0; j < 3; j++) {
            b[i][j] = gh_alloc_gc(sizes[i]);
            cr_assert_not_null(b[i][j]);
            cr_assert_eq((uintptr_t)b[i][j] % 16, 0, "%s: %zu bytes: 16-byte aligned", kname(k),
                         sizes[i]);
            memset(b[i][j], (int)(i * 3 + (size_t)j + 1), sizes[i]);
            live += charged(k, sizes[i]);
            large += listed(k, sizes[i]) && charged(k, sizes[i]) > GH_ALLOC_SMALL_MAX;
        }
    }
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.allocs - s0.allocs, 3 * NSIZES, "%s: one alloc per call", kname(k));
    cr_assert_eq(s.live_bytes - s0.live_bytes, live, "%s: live bytes %ju, expected %ju", kname(k),
                 (uintmax_t)(s.live_bytes - s0.live_bytes), (uintmax_t)live);
    cr_assert_eq(s.large_allocs - s0.large_allocs, large, "%s: large allocations", kname(k));
    for (size_t i = 0; i < NSIZES; i++)
        for (int j = 0; j < 3; j++) {
            const unsigned char *c = b[i][j];
            for (size_t x = 0; x < sizes[i]; x++)
                cr_assert_eq(c[x], (unsigned char)(i * 3 + (size_t)j + 1),
                             "%s: block %zu/%d intact", kname(k), sizes[i], j);
        }
    for (size_t i = 0; i < NSIZES; i++)
        for (int j = 0; j < 3; j++)
            gh_free_gc(b[i][j], sizes[i]);
    s = stats();
    cr_assert_eq(s.live_bytes, s0.live_bytes, "%s: everything back", kname(k));
    cr_assert_eq(s.frees - s0.frees, 3 * NSIZES);
    cr_assert_eq(s.pools_live, s0.pools_live, "%s: pools given back", kname(k));
    kind_finish();
}

KIND_PARAMS(allocgc, collector_blocks_have_pools_of_their_own)
ParameterizedTest(struct kind_param *k, allocgc, collector_blocks_have_pools_of_their_own,
                  .timeout = 20)
{
    if (!has_pools(k))
        cr_skip_test("alloc=%s has no pools", kname(k));
    struct gh_tstate ts;
    kind_start(k, &ts);
    uint64_t p0 = stats().pools_live;
    void *plain = gh_alloc(32);
    cr_assert_eq(stats().pools_live, p0 + 1);
    void *gc = gh_alloc_gc(32);
    cr_assert_eq(stats().pools_live, p0 + 2, "%s: a gc block of the same size takes a new pool",
                 kname(k));
    uintptr_t mask = ~(uintptr_t)(GH_ALLOC_POOL_SIZE - 1);
    cr_assert_neq((uintptr_t)plain & mask, (uintptr_t)gc & mask, "different pools");
    void *gc2 = gh_alloc_gc(32);
    cr_assert_eq((uintptr_t)gc2 & mask, (uintptr_t)gc & mask, "gc blocks share their pool");
    gh_free(plain, 32);
    gh_free_gc(gc, 32);
    gh_free_gc(gc2, 32);
    cr_assert_eq(stats().pools_live, p0);
    kind_finish();
}

/* ---- the walk -------------------------------------------------------------------- */

struct walk {
    void **ptrs;     /* ptrs[i]: the block marked i (or NULL once freed) */
    int n;
    int *visits;     /* per marked block */
    int misplaced;   /* a marker seen at the wrong address */
    int zero;        /* blocks whose bytes 8..15 are zero */
    int other;       /* anything else: a stale or foreign block */
    int total;
};

static void walk_block(void *block, void *arg)
{
    struct walk *w = arg;
    uint64_t v = word1(block);
    w->total++;
    if ((v & MARK_MASK) == MARK && (int64_t)(v & ~MARK_MASK) < w->n) {
        int i = (int)(v & ~MARK_MASK);
        if (w->ptrs[i] != block)
            w->misplaced++;
        else
            w->visits[i]++;
    } else if (v == 0) {
        w->zero++;
    } else {
        w->other++;
    }
}

static void walk_run(struct walk *w)
{
    memset(w->visits, 0, (size_t)w->n * sizeof *w->visits);
    w->misplaced = w->zero = w->other = w->total = 0;
    gh_alloc_visit_gc(walk_block, w);
}

static size_t walk_size(int i)
{
    static const size_t s[] = {16, 24, 48, 64, 100, 200, 512, 600, 2000, 32};
    return s[i % 10];
}

/* Marks the gc block p as number i. */
static void mark(void *p, int i) { set_word1(p, MARK | (uint64_t)i); }

/* Frees gc block i of w as the object layer does (bits zeroed first). */
static void unmark_free(struct walk *w, int i)
{
    set_word1(w->ptrs[i], 0);
    gh_free_gc(w->ptrs[i], walk_size(i));
    w->ptrs[i] = NULL;
}

KIND_PARAMS(allocgc, visit_sees_every_live_block_exactly_once)
ParameterizedTest(struct kind_param *k, allocgc, visit_sees_every_live_block_exactly_once,
                  .timeout = 30)
{
    struct gh_tstate ts;
    kind_start(k, &ts);
    enum { N = 3000, NPLAIN = 500 };
    struct walk w = {.n = N};
    w.ptrs = calloc(N, sizeof *w.ptrs);
    w.visits = calloc(N, sizeof *w.visits);
    void *plain[NPLAIN];
    cr_assert(w.ptrs && w.visits);
    for (int i = 0; i < N; i++) {
        w.ptrs[i] = gh_alloc_gc(walk_size(i));
        mark(w.ptrs[i], i);
        if (i < NPLAIN) { /* ordinary blocks, interleaved: never walked */
            plain[i] = gh_alloc(walk_size(i));
            for (size_t x = 0; x + 8 <= walk_size(i); x += 8)
                ((uint64_t *)plain[i])[x / 8] = BAD;
        }
    }
    walk_run(&w);
    for (int i = 0; i < N; i++)
        cr_assert_eq(w.visits[i], 1, "%s: block %d (%zu bytes) visited %d times", kname(k), i,
                     walk_size(i), w.visits[i]);
    cr_assert_eq(w.misplaced, 0);
    cr_assert_eq(w.other, 0, "%s: %d blocks that are neither live nor zero (an ordinary "
                 "block, or stale bytes)", kname(k), w.other);
    if (!has_pools(k))
        cr_assert_eq(w.total, N, "%s: the lists hold exactly the live blocks", kname(k));

    /* Free every third: the walk may still show them (a pool's free
     * block), but never as live. */
    int live = N;
    for (int i = 0; i < N; i += 3, live--)
        unmark_free(&w, i);
    walk_run(&w);
    for (int i = 0; i < N; i++)
        cr_assert_eq(w.visits[i], w.ptrs[i] ? 1 : 0, "%s: block %d after the frees", kname(k), i);
    cr_assert_eq(w.other, 0);
    cr_assert_eq(w.total - w.zero, live);
    if (!has_pools(k))
        cr_assert_eq(w.total, live, "%s: blocks freed by their thread leave the list", kname(k));

    for (int i = 0; i < N; i++)
        if (w.ptrs[i])
            unmark_free(&w, i);
    walk_run(&w);
    cr_assert_eq(w.total, w.zero, "%s: nothing live after every free", kname(k));
    if (!has_pools(k))
        cr_assert_eq(w.total, 0);
    for (int i = 0; i < NPLAIN; i++)
        gh_free(plain[i], walk_size(i));
    cr_assert_eq(stats().live_bytes, 0);
    free(w.ptrs);
    free(w.visits);
    kind_finish();
}

static void count_block(void *block, void *arg)
{
    struct walk *w = arg;
    w->total++;
    if (word1(block) == 0)
        w->zero++;
    else if ((word1(block) & MARK_MASK) == MARK)
        ; /* ours */
    else
        w->other++;
}

/* Pool memory is reused across size classes; a collector pool must not
 * show another class's stale bytes as bytes 8..15 of a block it has not
 * handed out. */
KIND_PARAMS(allocgc, never_used_pool_blocks_have_zero_bytes_8_to_15)
ParameterizedTest(struct kind_param *k, allocgc, never_used_pool_blocks_have_zero_bytes_8_to_15,
                  .timeout = 30)
{
    if (!has_pools(k))
        cr_skip_test("alloc=%s has no pools to walk", kname(k));
    struct gh_tstate ts;
    kind_start(k, &ts);
    enum { NP = 4000, NG = 100 };
    void **p = calloc(NP, sizeof *p);
    cr_assert_not_null(p);
    /* Dirty pools: ordinary blocks full of 0xff, then all given back
     * (their pools return to the arena, stale bytes and all). */
    for (int i = 0; i < NP; i++) {
        p[i] = gh_alloc(64);
        memset(p[i], 0xff, 64);
    }
    for (int i = 0; i < NP; i++)
        gh_free(p[i], 64);
    /* A keeper, so the arena is not returned to the OS in between. */
    void *keep = gh_alloc(16);
    for (int round = 0; round < 3; round++) {
        /* Collector blocks of several classes now reuse those pools. */
        void *g[NG];
        for (int i = 0; i < NG; i++) {
            g[i] = gh_alloc_gc(16 + (size_t)(i % 4) * 16 + (size_t)round * 64);
            mark(g[i], i);
        }
        struct walk w = {0};
        gh_alloc_visit_gc(count_block, &w);
        cr_assert_eq(w.other, 0, "%s round %d: %d walked blocks show stale bytes 8..15", kname(k),
                     round, w.other);
        cr_assert_eq(w.total - w.zero, NG);
        for (int i = 0; i < NG; i++) {
            set_word1(g[i], 0);
            gh_free_gc(g[i], 16 + (size_t)(i % 4) * 16 + (size_t)round * 64);
        }
        /* Dirty the pools again for the next round. */
        for (int i = 0; i < NP; i++) {
            p[i] = gh_alloc(64 + (size_t)round * 16);
            memset(p[i], 0xff, 64 + (size_t)round * 16);
        }
        for (int i = 0; i < NP; i++)
            gh_free(p[i], 64 + (size_t)round * 16);
    }
    gh_free(keep, 16);
    free(p);
    kind_finish();
}

/* ---- several heaps ----------------------------------------------------------------- */

enum { TN = 2000 };
static struct walk twalk;

static void *t_allocator(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "allocgc-T");
    gh_alloc_thread_attach();
    if (needs_gil())
        pthread_mutex_lock(&test_gil);
    for (int i = 0; i < TN; i++) {
        twalk.ptrs[i] = gh_alloc_gc(walk_size(i));
        mark(twalk.ptrs[i], i);
    }
    if (needs_gil())
        pthread_mutex_unlock(&test_gil);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* Blocks outlive their thread: the walk covers detached heaps, and blocks
 * another thread freed into them (alloc=thread: waiting on the owner's
 * list) are not shown as live. */
KIND_PARAMS(allocgc, visit_covers_every_heap_and_cross_thread_frees)
ParameterizedTest(struct kind_param *k, allocgc, visit_covers_every_heap_and_cross_thread_frees,
                  .timeout = 30)
{
    struct gh_tstate ts;
    kind_start(k, &ts);
    twalk.n = TN;
    twalk.ptrs = calloc(TN, sizeof *twalk.ptrs);
    twalk.visits = calloc(TN, sizeof *twalk.visits);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, t_allocator, NULL), 0);
    pthread_join(t, NULL);
    walk_run(&twalk);
    for (int i = 0; i < TN; i++)
        cr_assert_eq(twalk.visits[i], 1, "%s: the other thread's block %d", kname(k), i);
    cr_assert_eq(twalk.other, 0);
    for (int i = 0; i < TN; i += 2)
        unmark_free(&twalk, i);
    struct gh_alloc_stats s = stats();
    if (k->kind == GH_ALLOC_THREAD)
        cr_assert_gt(s.cross_thread_frees, 0, "handed back to the detached owner");
    if (k->kind == GH_ALLOC_MIMALLOC)
        cr_assert_eq(s.cross_thread_frees, TN / 2, "mimalloc: each handed back to the exited owner");
    walk_run(&twalk);
    for (int i = 0; i < TN; i++)
        cr_assert_eq(twalk.visits[i], twalk.ptrs[i] ? 1 : 0, "%s: block %d", kname(k), i);
    cr_assert_eq(twalk.other, 0);
    for (int i = 1; i < TN; i += 2)
        unmark_free(&twalk, i);
    cr_assert_eq(stats().live_bytes, 0);
    free(twalk.ptrs);
    free(twalk.visits);
    kind_finish();
}

/* ---- the walk against a thread leaving ---------------------------------------------------- */

/* The collector walks every heap with the world stopped; a thread that
 * has detached from the world (its model work done) and now detaches from
 * the allocator drains and unmaps parts of its heap. It must wait for the
 * world to restart, as gh_stw_attach would, or the walk reads unmapped or
 * changing pools. */
static int leaver_ready, leaver_go, leaver_done;

/* flag_get's acquire load pairs with flag_set's release store: what the
 * setter did before is visible once the flag reads set. */
static int flag_get(int *p) { return gh_atomic_load_acquire_int(p); }
static void flag_set(int *p) { gh_atomic_store_release_int(p, 1); }

static void *leaver(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "allocgc-leaver");
    gh_alloc_thread_attach();
    void *b[200];
    for (int i = 0; i < 200; i++) {
        b[i] = gh_alloc_gc(48);
        set_word1(b[i], MARK | (uint64_t)i);
    }
    for (int i = 0; i < 200; i++) {
        set_word1(b[i], 0);
        gh_free_gc(b[i], 48);
    }
    /* Detached from the world (as after gh_sync_thread_stop). */
    flag_set(&leaver_ready);
    while (!flag_get(&leaver_go))
        gh_sleep_ns(100000);
    gh_alloc_thread_detach(); /* releases the now empty arena */
    flag_set(&leaver_done);
    gh_tstate_unbind();
    return NULL;
}

static void no_op_block(void *block, void *arg)
{
    (void)arg;
    cr_assert_eq(word1(block), 0, "nothing live");
}

Test(allocgc, thread_detach_waits_while_the_world_is_stopped, .timeout = 20)
{
    static const struct kind_param thread_kind = {GH_ALLOC_THREAD, false, "thread"};
    struct gh_tstate ts;
    kind_start(&thread_kind, &ts);
    gh_stw_attach(&ts);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, leaver, NULL), 0);
    uint64_t end = gh_now_ns() + 5000000000ull;
    while (!flag_get(&leaver_ready))
        cr_assert_lt(gh_now_ns(), end);
    uint64_t arenas = stats().arenas_live;

    gh_stw_stop(&ts); /* as the collector does before walking the heaps */
    flag_set(&leaver_go);
    gh_sleep_ns(100000000);
    cr_assert_not(flag_get(&leaver_done),
                  "a thread does not change its heap while the world is stopped");
    cr_assert_eq(stats().arenas_live, arenas, "its arena is still mapped");
    gh_alloc_visit_gc(no_op_block, NULL);
    gh_stw_start(&ts);

    pthread_join(t, NULL);
    cr_assert(flag_get(&leaver_done));
    cr_assert_lt(stats().arenas_live, arenas, "released after the world restarted");
    gh_stw_detach(&ts);
    kind_finish();
}
