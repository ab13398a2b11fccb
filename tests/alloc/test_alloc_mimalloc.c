/* test_alloc_mimalloc.c - what alloc=mimalloc adds to the other kinds'
 * tests (test_alloc.c, test_alloc_gc.c and test_trace.c run their bodies
 * for it too): the blocks really are mimalloc's, collector blocks freed by
 * another thread wait on their owner heap until it takes them back, blocks
 * travel between several threads, threads without a heap, and a detaching
 * thread that waits while the world is stopped.
 *
 * Collector blocks carry a marker in bytes 8..15 (where the object layer
 * keeps its collector bits) and are zeroed there before they are freed, as
 * gh_object_free does; the walk tells live blocks by it. */
#include <criterion/criterion.h>

#include <mimalloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_kinds.h"  // kind_start, kind_finish
#include "alloc/alloc.h"  // the interface under test
#include "base/atomic.h"  // handing blocks and phases between test threads
#include "base/clock.h"   // gh_now_ns, gh_sleep_ns
#include "base/stw.h"     // stopping the world around a walk
#include "base/tstate.h"  // gh_tstate_bind

#define MARK      UINT64_C(0x6c69766500000000) /* "live" in the high half */
#define MARK_MASK UINT64_C(0xffffffff00000000)
#define LINK      32u /* struct gh_gc_link, in front of each collector block */

static const struct kind_param mi_kind = {GH_ALLOC_MIMALLOC, false, "mimalloc"};

static struct gh_alloc_stats stats(void)
{
    struct gh_alloc_stats s;
    gh_alloc_stats_get(&s);
    return s;
}

static void mark(void *b, uint64_t i) { ((uint64_t *)b)[1] = MARK | i; }
static void unmark(void *b) { ((uint64_t *)b)[1] = 0; }

/* Frees a collector block as the object layer does: bits zeroed first. */
static void gc_free(void *b, size_t n)
{
    unmark(b);
    gh_free_gc(b, n);
}

struct census {
    uint64_t total;  /* blocks walked */
    uint64_t marked; /* blocks carrying a marker */
    uint64_t zero;   /* blocks with zero bytes 8..15 (freed, waiting) */
};

static void census_block(void *block, void *arg)
{
    struct census *c = arg;
    uint64_t v = ((uint64_t *)block)[1];
    c->total++;
    if ((v & MARK_MASK) == MARK)
        c->marked++;
    else if (v == 0)
        c->zero++;
}

static struct census walk(void)
{
    struct census c = {0};
    gh_alloc_visit_gc(census_block, &c);
    return c;
}

/* flag_get's acquire load pairs with flag_set's release store: what the
 * setter did before is visible once the flag reads the value. */
static int flag_get(int *p) { return gh_atomic_load_acquire_int(p); }
static void flag_set(int *p, int v) { gh_atomic_store_release_int(p, v); }

static void wait_for(int *p, int v)
{
    uint64_t end = gh_now_ns() + 10000000000ull;
    while (flag_get(p) < v) {
        cr_assert_lt(gh_now_ns(), end, "waited 10 s for phase %d", v);
        sched_yield();
    }
}

// ---------------------------------------------------------------------------
// The blocks are mimalloc's

Test(mimalloc, blocks_are_mimallocs, .timeout = 10)
{
    struct gh_tstate ts;
    kind_start(&mi_kind, &ts);
    static const size_t sizes[] = {1, 8, 9, 15, 16, 24, 100, 512, 513, 4096, 100000, 1u << 20, 8u << 20};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    void *p[NS], *g[NS];
    uint64_t bytes = 0, large = 0;
    for (int i = 0; i < NS; i++) {
        size_t n = sizes[i];
        p[i] = gh_alloc(n);
        g[i] = gh_alloc_gc(n);
        /* (Not mi_is_in_heap_region: under ASan mimalloc's segments lie
         * outside the range its segment map covers.) */
        cr_assert(mi_check_owned(p[i]), "%zu bytes: a block of this thread's mimalloc heap", n);
        cr_assert(mi_check_owned(g[i]), "%zu bytes: a mimalloc collector block", n);
        cr_assert_eq((uintptr_t)p[i] % GH_ALLOC_ALIGN, 0, "%zu bytes: 16-byte aligned", n);
        cr_assert_eq((uintptr_t)g[i] % GH_ALLOC_ALIGN, 0, "%zu bytes: gc, 16-byte aligned", n);
        cr_assert_geq(mi_usable_size(p[i]), n);
        cr_assert_geq(mi_usable_size((char *)g[i] - LINK), n + LINK);
        memset(p[i], 0x5a, n);
        memset(g[i], 0, n);
        mark(g[i], (uint64_t)i);
        bytes += n + n + LINK;
        large += (n > GH_ALLOC_SMALL_MAX) + (n + LINK > GH_ALLOC_SMALL_MAX);
    }
    void *libc = malloc(64);
    cr_assert_not(mi_check_owned(libc), "malloc stays the C library's (libmimalloc.so "
                  "exports one too)");
    free(libc);

    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, bytes, "requested bytes, plus the links");
    cr_assert_eq(s.peak_bytes, bytes, "reading the stats is a sampling point");
    cr_assert_eq(s.allocs, 2 * NS);
    cr_assert_eq(s.large_allocs, large, "requests above 512 bytes, mimalloc's too");
    cr_assert_eq(s.arenas_allocated, 0, "no arenas of ours");
    cr_assert_eq(s.pools_peak, 0);
    struct census c = walk();
    cr_assert_eq(c.total, NS, "the walk sees the collector blocks only");
    cr_assert_eq(c.marked, NS);
    for (int i = 0; i < NS; i++) {
        gh_free(p[i], sizes[i]);
        gc_free(g[i], sizes[i]);
    }
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.frees, 2 * NS);
    cr_assert_eq(s.cross_thread_frees, 0, "no collector block handed back");
    cr_assert_eq(walk().total, 0);
    kind_finish();
}

// ---------------------------------------------------------------------------
// Collector blocks freed by another thread wait for their owner

enum { ON = 1000, OSIZE = 64 };
static void *oblocks[ON];
static int ophase; /* 1: blocks made; 2: take them back; 3: taken; 4: detach; 5: done */

static void *owner_thread(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "mi-owner");
    gh_alloc_thread_attach();
    for (int i = 0; i < ON; i++) {
        oblocks[i] = gh_alloc_gc(OSIZE);
        mark(oblocks[i], (uint64_t)i);
    }
    flag_set(&ophase, 1);
    wait_for(&ophase, 2);
    /* The next collector allocation takes back what the main thread freed. */
    void *one = gh_alloc_gc(OSIZE);
    mark(one, ON);
    oblocks[0] = one; /* block 0 was freed by the main thread */
    flag_set(&ophase, 3);
    wait_for(&ophase, 4);
    gh_alloc_thread_detach(); /* takes back the rest */
    flag_set(&ophase, 5);
    gh_tstate_unbind();
    return NULL;
}

Test(mimalloc, gc_blocks_freed_elsewhere_wait_for_their_owner, .timeout = 30)
{
    struct gh_tstate ts;
    kind_start(&mi_kind, &ts);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, owner_thread, NULL), 0);
    wait_for(&ophase, 1);
    struct census c = walk();
    cr_assert_eq(c.total, ON);
    cr_assert_eq(c.marked, ON);

    /* Free the even ones here: handed back, counted at once, still listed. */
    for (int i = 0; i < ON; i += 2)
        gc_free(oblocks[i], OSIZE);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, (uint64_t)(ON / 2) * (OSIZE + LINK), "counted when freed");
    cr_assert_eq(s.cross_thread_frees, ON / 2);
    c = walk();
    cr_assert_eq(c.total, ON, "handed-back blocks stay on the owner's list until it drains");
    cr_assert_eq(c.marked, ON / 2);
    cr_assert_eq(c.zero, ON / 2, "freed blocks show zero collector bits");

    flag_set(&ophase, 2);
    wait_for(&ophase, 3);
    c = walk();
    cr_assert_eq(c.total, ON / 2 + 1, "the owner took them back at its next allocation");
    cr_assert_eq(c.marked, ON / 2 + 1);

    /* The odd ones and the new one: handed back, taken at the owner's detach. */
    gc_free(oblocks[0], OSIZE);
    for (int i = 1; i < ON; i += 2)
        gc_free(oblocks[i], OSIZE);
    cr_assert_eq(walk().total, ON / 2 + 1);
    flag_set(&ophase, 4);
    pthread_join(t, NULL);
    cr_assert_eq(flag_get(&ophase), 5);
    cr_assert_eq(walk().total, 0, "detach took back every block");
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, ON + 1);
    cr_assert_eq(s.frees, ON + 1);
    cr_assert_eq(s.cross_thread_frees, ON + 1);
    kind_finish();
}

// ---------------------------------------------------------------------------
// Blocks travelling around a ring of threads

enum { RT = 4, RN = 20000, RKEEP = 100 };
/* ring[t][i]: the i-th block thread t hands to thread (t + 1) % RT. */
static void *ring_plain[RT][RN], *ring_gc[RT][RN];
static void *kept[RT][RKEEP];
static uint64_t ring_bad;

static size_t rsize(int t, int i) { return (size_t)((i * 53 + t * 7) % 900) + 1; }
static size_t gsize(int t, int i) { return (size_t)((i * 29 + t * 11) % 700) + 16; }

static void *ring_thread(void *arg)
{
    int t = (int)(intptr_t)arg, from = (t + RT - 1) % RT;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, (uint32_t)t + 1, "mi-ring");
    gh_alloc_thread_attach();
    for (int i = 0; i < RN; i++) {
        void *p = gh_alloc(rsize(t, i));
        memset(p, (t * 31 + i) & 0xff, rsize(t, i));
        void *g = gh_alloc_gc(gsize(t, i));
        memset(g, 0, gsize(t, i));
        mark(g, (uint64_t)i);
        /* Release: pairs with the acquire loads of the next thread. */
        gh_atomic_store_release_ptr(&ring_plain[t][i], p);
        gh_atomic_store_release_ptr(&ring_gc[t][i], g);
        if (i < RKEEP) { /* outlives this thread */
            kept[t][i] = gh_alloc_gc(48);
            mark(kept[t][i], (uint64_t)(t * RKEEP + i));
        }
        /* Free what the previous thread made, as far as it has got. */
        for (int j = i - 64; j <= i; j++) {
            if (j < 0)
                continue;
            /* Acquire: pairs with the previous thread's release stores
             * above (the blocks' contents and marks). */
            void *q = gh_atomic_load_acquire_ptr(&ring_plain[from][j]);
            void *h = gh_atomic_load_acquire_ptr(&ring_gc[from][j]);
            if (!q || !h || q == (void *)1)
                continue;
            const unsigned char *c = q;
            if (c[0] != (unsigned char)((from * 31 + j) & 0xff) ||
                (((uint64_t *)h)[1] & ~MARK_MASK) != (uint64_t)j)
                gh_atomic_add_relaxed_u64(&ring_bad, 1);
            gh_free(q, rsize(from, j));
            gc_free(h, gsize(from, j));
            ring_plain[from][j] = (void *)1; /* only this thread reads it now */
        }
    }
    /* The rest of the previous thread's blocks. */
    for (int j = 0; j < RN; j++) {
        void *q, *h;
        /* Acquire: as in the loop above. */
        while ((q = gh_atomic_load_acquire_ptr(&ring_plain[from][j])) == NULL ||
               (h = gh_atomic_load_acquire_ptr(&ring_gc[from][j])) == NULL)
            sched_yield();
        if (q == (void *)1)
            continue;
        gh_free(q, rsize(from, j));
        gc_free(h, gsize(from, j));
        ring_plain[from][j] = (void *)1;
    }
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

Test(mimalloc, blocks_travel_around_a_ring_of_threads, .timeout = 60)
{
    struct gh_tstate ts;
    kind_start(&mi_kind, &ts);
    pthread_t t[RT];
    for (int i = 0; i < RT; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, ring_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < RT; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(gh_atomic_load_relaxed_u64(&ring_bad), 0, "blocks arrived intact");

    /* Every thread has exited; its kept blocks are still found, once.
     * Collector blocks the next thread freed after their owner had
     * detached wait on its list (zero bits) until fini. */
    struct census c = walk();
    cr_assert_eq(c.marked, RT * RKEEP, "the kept blocks of exited threads");
    cr_assert_eq(c.total, c.marked + c.zero, "nothing but live and freed blocks");
    cr_assert_leq(c.zero, (uint64_t)RT * RN);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, (uint64_t)RT * RKEEP * (48 + LINK));
    cr_assert_eq(s.allocs, (uint64_t)RT * (2 * RN + RKEEP));
    cr_assert_eq(s.frees, (uint64_t)RT * 2 * RN);
    /* Counted: the collector blocks handed back to their owner (mimalloc's
     * own cross-thread frees of the plain blocks are not). */
    cr_assert_eq(s.cross_thread_frees, (uint64_t)RT * RN);

    for (int i = 0; i < RT; i++)
        for (int j = 0; j < RKEEP; j++)
            gc_free(kept[i][j], 48);
    cr_assert_eq(stats().live_bytes, 0);
    c = walk();
    cr_assert_eq(c.marked, 0);
    cr_assert_eq(c.total, c.zero, "handed back to the detached heaps, taken at fini");
    cr_assert_geq(c.total, RT * RKEEP);
    kind_finish();
    s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, s.frees);
}

// ---------------------------------------------------------------------------
// Threads without a heap

struct orphan_arg {
    void *gc, *plain, *main_gc;
};

static void *orphan_thread(void *arg)
{
    struct orphan_arg *a = arg;
    /* No tstate, no attach: counted in the orphan set. */
    a->gc = gh_alloc_gc(48);
    mark(a->gc, 7);
    a->plain = gh_alloc(24);
    gc_free(a->main_gc, 64); /* handed back to the main thread's heap */
    return NULL;
}

Test(mimalloc, threads_without_a_heap, .timeout = 10)
{
    struct gh_tstate ts;
    kind_start(&mi_kind, &ts);
    struct orphan_arg a = {.main_gc = gh_alloc_gc(64)};
    mark(a.main_gc, 1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, orphan_thread, &a), 0);
    pthread_join(t, NULL);
    struct census c = walk();
    cr_assert_eq(c.marked, 1, "the orphan's collector block");
    cr_assert_eq(c.zero, 1, "ours, handed back and not yet taken");
    cr_assert_eq(stats().cross_thread_frees, 1);

    gc_free(a.gc, 48);   /* off the orphan list */
    gh_free(a.plain, 24);
    cr_assert_eq(walk().marked, 0);
    void *g = gh_alloc_gc(64); /* takes back the handed-back block */
    mark(g, 2);
    c = walk();
    cr_assert_eq(c.total, 1);
    cr_assert_eq(c.marked, 1);
    gc_free(g, 64);
    struct gh_alloc_stats s = stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_eq(s.allocs, 4);
    cr_assert_eq(s.frees, 4);
    cr_assert_eq(s.cross_thread_frees, 1, "the hand-back");
    kind_finish();
}

// ---------------------------------------------------------------------------
// A thread leaving while the world is stopped

enum { LN = 200 };
static void *lblocks[LN];
static int lphase; /* 1: blocks made; 2: go (detach); 3: detached */

static void *leaver(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "mi-leaver");
    gh_alloc_thread_attach();
    for (int i = 0; i < LN; i++) {
        lblocks[i] = gh_alloc_gc(48);
        mark(lblocks[i], (uint64_t)i);
    }
    /* Detached from the world (as after gh_sync_thread_stop). */
    flag_set(&lphase, 1);
    while (flag_get(&lphase) < 2)
        gh_sleep_ns(100000);
    gh_alloc_thread_detach(); /* takes back the blocks the main thread freed */
    flag_set(&lphase, 3);
    gh_tstate_unbind();
    return NULL;
}

Test(mimalloc, detach_waits_while_the_world_is_stopped, .timeout = 20)
{
    struct gh_tstate ts;
    kind_start(&mi_kind, &ts);
    gh_stw_attach(&ts);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, leaver, NULL), 0);
    wait_for(&lphase, 1);
    for (int i = 0; i < LN; i++)
        gc_free(lblocks[i], 48); /* handed back: the leaver's list keeps them */

    gh_stw_stop(&ts); /* as the collector does before walking the heaps */
    flag_set(&lphase, 2);
    gh_sleep_ns(100000000);
    cr_assert_eq(flag_get(&lphase), 2,
                 "a thread does not change its collector list while the world is stopped");
    struct census c = walk();
    cr_assert_eq(c.total, LN);
    cr_assert_eq(c.zero, LN);
    gh_stw_start(&ts);

    pthread_join(t, NULL);
    cr_assert_eq(flag_get(&lphase), 3);
    cr_assert_eq(walk().total, 0, "taken back after the world restarted");
    gh_stw_detach(&ts);
    kind_finish();
}
