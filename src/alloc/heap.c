/* heap.c - pool slow paths, cross-thread frees, the heap registry and the
 * sampled peaks.
 *
 * Cross-thread free protocol (alloc=thread; the full argument is in
 * docs/alloc.md, "Cross-thread frees"):
 *
 *   freer (any thread)                      owner (one thread)
 *   link(b) = head              (relaxed)   list = XCHG(thread_free, NULL)  (acquire)
 *   CAS(thread_free, head, b)   (release)   for b in list: free b locally
 *
 * Only the owner removes entries and it takes the whole list at once, so a
 * CAS can never see a head that was popped and pushed again (no ABA). Every
 * push is a release RMW and the exchange an acquire RMW on the same word,
 * so the owner synchronises with every freer whose block it took (release
 * sequences extend through RMWs): the links, and anything the freer wrote
 * into the block, are visible before the owner reuses it.
 *
 * Peaks for alloc=thread and alloc=malloc are sampled: at the rare events
 * (a pool initialised, every 16 KiB a heap allocates, detach,
 * gh_alloc_stats_get) a thread sums every heap's counters
 * with relaxed loads and raises the global maxima with a relaxed CAS loop.
 * See docs/alloc.md for what that makes peak_bytes mean.
 *
 * Type-stable pools (alloc=thread under QSBR; docs/alloc.md): a lock-free
 * reader (containers/containers.h) may still hold a pointer to an object
 * that was freed at once, and increment its count before it re-checks the
 * slot it came from. That is harmless while the block is still a block of
 * the same size class in the same place (at worst it counts a new object
 * of the class, then lets it go), so a pool that becomes empty while the
 * thread is online stays as it is, on its class's used list, where it
 * serves the same class again; only a QSBR grace period after it emptied
 * may it go back to its arena (re-initialised for any class, or unmapped
 * with the arena). The release is deferred with gh_qsbr_defer, not kept on
 * a per-heap list with goals as CPython's mimalloc does (page->qsbr_goal):
 * liburcu's QSBR has no cheap "has goal G passed" poll, gh_qsbr_defer
 * already runs the callback on the owner thread, under the owner's
 * exclusion, at a quiescent state, and pools empty rarely (one deferral
 * per 16 KiB emptied, against one per object before). The callback checks
 * the pool is still empty and that it emptied no later than the deferral
 * (`emptied`); else it defers again or leaves the pool in use.
 */
#define GH_BUILD_ALLOC
#include "alloc/alloc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/die.h"  // gh_die, gh_assert
#include "base/inject.h"
#include "base/qsbr.h" // gh_qsbr_defer: held pools

_Static_assert(GH__POOL_HDR <= 64, "tests and docs assume a header of at most 64 bytes");
_Static_assert((GH_ALLOC_POOL_SIZE - GH__POOL_HDR) / GH_ALLOC_SMALL_MAX >= 2,
               "a pool must hold two blocks of the largest class (see pool_new_slow)");
_Static_assert(GH_ALLOC_SMALL_MAX % GH_ALLOC_ALIGN == 0, "32 whole size classes");

struct gh_alloc_stats gh__alloc_orphan;

/* Every heap ever attached since init, newest first (a struct gh_heap *).
 * Pushed with a release CAS, read with acquire loads; entries are removed
 * only by gh__alloc_registry_reset at fini, when no other thread runs. */
static void *registry;

/* Sampled global maxima (alloc=thread/malloc). Any thread raises them with
 * a relaxed CAS loop; they order nothing. */
static uint64_t peak_bytes, peak_arenas, peak_pools;

// ---------------------------------------------------------------------------
// Pools

static void used_unlink(struct gh_heap *h, struct gh_pool *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        h->used[p->szidx] = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
}

static void used_push(struct gh_heap *h, struct gh_pool *p)
{
    p->prev = NULL;
    p->next = h->used[p->szidx];
    if (p->next)
        p->next->prev = p;
    h->used[p->szidx] = p;
}

/* No pool of class idx has room: initialise a free pool for it (mapping an
 * arena if needed) and return its first block. */
void *gh__alloc_pool_new_slow(struct gh_heap *h, unsigned idx)
{
    struct gh_pool *p = gh__arena_pool_take(h);
    uint32_t size = GH__CLASS_SIZE(idx);
    char *base = (char *)p;

    p->owner = h;
    p->szidx = (uint16_t)idx;
    p->held = 0;
    p->emptied = 0;
    p->size = size;
    p->nused = 1;
    /* Block 0 is returned, block 1 is the free list, the rest is carved
     * lazily from nextoffset (a pool holds at least 31 blocks). */
    void *second = base + GH__POOL_HDR + size;
    gh__link_set(second, NULL);
    if (GH__CLASS_IS_GC(idx))
        ((void **)second)[1] = NULL; /* see gh__alloc_pool_extend_slow */
    p->freeblock = second;
    p->nextoffset = GH__POOL_HDR + 2 * size;
    p->maxnextoffset = GH_ALLOC_POOL_SIZE - size;
    used_push(h, p);

    gh__ctr_add(&h->c.pools_live, 1);
    gh__ctr_max(&h->c.pools_peak, h->c.pools_live);
    if (h->sample_peaks) {
        h->unsampled = 0;
        gh__alloc_sample_peaks();
    }
    return base + GH__POOL_HDR;
}

/* p's free list just ran dry: carve the next never-used block, or take the
 * full pool off the used list. */
void gh__alloc_pool_extend_slow(struct gh_heap *h, struct gh_pool *p)
{
    if (p->nextoffset <= p->maxnextoffset) {
        void *b = (char *)p + p->nextoffset;
        p->nextoffset += p->size;
        gh__link_set(b, NULL);
        /* A collector pool's block below nextoffset must never look like a
         * tracked object (gh_alloc_visit_gc): its second word (the full
         * layout's flags and collector bits) may hold another class's stale
         * bytes, so it is zeroed when carved; gh_object_free zeroes the
         * bits again before a block goes back. */
        if (GH__CLASS_IS_GC(p->szidx))
            ((void **)b)[1] = NULL;
        p->freeblock = b;
    } else {
        used_unlink(h, p);
    }
}

bool gh__alloc_pools_held;

static void pool_release(struct gh_heap *h, struct gh_pool *p)
{
    used_unlink(h, p);
    gh__ctr_sub(&h->c.pools_live, 1);
    gh__arena_pool_give(h, p);
}

static void pool_held_release(void *pool, size_t emptied);

/* p just emptied (or emptied again after a deferral) while held: wait for
 * a grace period from now. */
static void pool_hold(struct gh_heap *h, struct gh_pool *p)
{
    p->held = 1;
    h->held_pools++;
    gh_qsbr_defer(pool_held_release, p, p->emptied);
}

/* gh_qsbr_defer's callback, on the owner thread, a grace period after the
 * emptying numbered `emptied`. */
static void pool_held_release(void *pool, size_t emptied)
{
    struct gh_pool *p = pool;
    struct gh_heap *h = p->owner;
    p->held = 0;
    h->held_pools--;
    if (p->nused != 0)
        return; /* in use again: its next emptying holds it again */
    if (p->emptied != (uint32_t)emptied && gh_qsbr_deferring()) {
        pool_hold(h, p); /* emptied again since: a grace period from then */
        return;
    }
    /* An offline thread runs alone among object users (base/qsbr.h). */
    pool_release(h, p);
}

/* A free made p non-full (was_full: put it back on the used list) or empty
 * (give it back to its arena, or hold it: see the top of this file). */
void gh__alloc_pool_free_slow(struct gh_heap *h, struct gh_pool *p, bool was_full)
{
    if (was_full) {
        gh_assert(p->nused > 0);
        used_push(h, p);
        return;
    }
    gh_assert(p->nused == 0);
    if (gh__alloc_pools_held && gh_qsbr_deferring()) {
        p->emptied++;
        if (!p->held)
            pool_hold(h, p);
        return; /* stays on used[szidx]: it has room */
    }
    pool_release(h, p);
}

void gh__alloc_release_held(struct gh_heap *h)
{
    /* Each flush runs every callback deferred so far; a callback that
     * defers again (the pool emptied again meanwhile) is run by the next
     * one, which finds the pool emptied no later than its deferral. */
    for (int round = 0; h->held_pools != 0; round++) {
        gh_assert(round < 3);
        gh_qsbr_flush(gh_tstate_get());
    }
}

// ---------------------------------------------------------------------------
// Cross-thread frees

/* Called by a thread that is not block's owner (or by a thread without a
 * heap). The caller counts the free in its own counters. */
void gh__alloc_free_mt(struct gh_heap *owner, void *block)
{
    void *head = gh_atomic_load_relaxed_ptr(&owner->thread_free);
    /* The head read, the block not yet pushed: the CAS below fails if
     * another free came first, and reads again. */
    GH_INJECT(REMOTE_FREE);
    do {
        /* Relaxed (the link accessors, alloc_internal.h): the block is
         * ours until the CAS publishes it. */
        gh__link_set(block, head);
        /* Release: pairs with the acquire exchange in gh__alloc_drain_slow,
         * publishing the link and our last writes to the block. */
    } while (!gh_atomic_cas_release_ptr(&owner->thread_free, &head, block));
}

/* Owner only (or fini): takes every block other threads freed into h and
 * returns each to its pool. */
void gh__alloc_drain_slow(struct gh_heap *h)
{
    /* Acquire: pairs with the release CAS of every gh__alloc_free_mt whose
     * block is in the list we take. */
    void *b = gh_atomic_exchange_acquire_ptr(&h->thread_free, NULL);
    while (b) {
        void *next = gh__link_get(b);
        gh__heap_free_small(h, b);
        b = next;
    }
}

// ---------------------------------------------------------------------------
// Heaps and the registry

void gh__alloc_heap_init(struct gh_heap *h, bool sample_peaks)
{
    memset(h, 0, sizeof *h);
    h->sample_peaks = sample_peaks;
}

struct gh_heap *gh__alloc_heap_new(bool sample_peaks)
{
    struct gh_heap *h = aligned_alloc(GH_CACHELINE, sizeof *h);
    if (!h)
        gh_die(ENOMEM, "heap");
    gh__alloc_heap_init(h, sample_peaks);
    return h;
}

void gh__alloc_registry_add(struct gh_heap *h)
{
    void *head = gh_atomic_load_relaxed_ptr(&registry);
    do {
        h->next_heap = head;
        /* Release: pairs with the acquire load in gh__alloc_registry_first,
         * so a thread that finds h sees it initialised. */
    } while (!gh_atomic_cas_release_ptr(&registry, &head, h));
}

struct gh_heap *gh__alloc_registry_first(void)
{
    /* Acquire: pairs with the release CAS in gh__alloc_registry_add. */
    return gh_atomic_load_acquire_ptr(&registry);
}

/* At init and at the end of fini (no other thread runs). */
void gh__alloc_registry_reset(void)
{
    registry = NULL;
    peak_bytes = peak_arenas = peak_pools = 0;
    memset(&gh__alloc_orphan, 0, sizeof gh__alloc_orphan);
}

// ---------------------------------------------------------------------------
// Sums and sampled peaks

#define SUM_FIELDS(X)                                                          \
    X(live_bytes) X(allocs) X(frees) X(large_allocs) X(arenas_live)            \
    X(arenas_allocated) X(arenas_freed) X(pools_live) X(cross_thread_frees)

/* Sums the additive counters (not the peaks) of every heap and the orphan
 * set. Relaxed loads: exact only when no thread is allocating. */
void gh__alloc_sum(struct gh_alloc_stats *out)
{
    memset(out, 0, sizeof *out);
#define ADD_(f) out->f += gh_atomic_load_relaxed_u64(&gh__alloc_orphan.f);
    SUM_FIELDS(ADD_)
#undef ADD_
    for (struct gh_heap *h = gh__alloc_registry_first(); h; h = h->next_heap) {
#define ADD_(f) out->f += gh_atomic_load_relaxed_u64(&h->c.f);
        SUM_FIELDS(ADD_)
#undef ADD_
    }
}

static void raise_relaxed(uint64_t *peak, uint64_t v)
{
    uint64_t cur = gh_atomic_load_relaxed_u64(peak);
    while (v > cur && !gh_atomic_cas_relaxed_u64(peak, &cur, v))
        ;
}

void gh__alloc_sample_peaks(void)
{
    struct gh_alloc_stats s;
    gh__alloc_sum(&s);
    /* While threads run, the per-heap values come from different instants;
     * a sum that went "negative" (a cross-thread free seen before the
     * allocation it undoes) is not a peak. */
    if ((int64_t)s.live_bytes > 0)
        raise_relaxed(&peak_bytes, s.live_bytes);
    raise_relaxed(&peak_arenas, s.arenas_live);
    raise_relaxed(&peak_pools, s.pools_live);
}

void gh__alloc_sampled_peaks(uint64_t *bytes, uint64_t *arenas, uint64_t *pools)
{
    *bytes = gh_atomic_load_relaxed_u64(&peak_bytes);
    *arenas = gh_atomic_load_relaxed_u64(&peak_arenas);
    *pools = gh_atomic_load_relaxed_u64(&peak_pools);
}
