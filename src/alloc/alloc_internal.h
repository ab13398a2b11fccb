/* alloc_internal.h - heaps, arenas and pools of the alloc layer, and the
 * inline fast paths that alloc.c builds gh_alloc/gh_free from.
 *
 * Private to src/alloc (define GH_BUILD_ALLOC before including it). The
 * design, the cross-thread free protocol and the meaning of every counter
 * are in docs/alloc.md.
 *
 * Layer: alloc (includes base only).
 */
#ifndef GH_ALLOC_ALLOC_INTERNAL_H
#define GH_ALLOC_ALLOC_INTERNAL_H

#ifndef GH_BUILD_ALLOC
#error "alloc/alloc_internal.h is private to src/alloc"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h"   // constants, struct gh_alloc_stats
#include "base/atomic.h"   // gh_atomic_*: counters, thread_free list
#include "base/compiler.h" // GH_INLINE, GH_NOINLINE, GH_LIKELY

#define GH_ALLOC_NCLASSES        (GH_ALLOC_SMALL_MAX / GH_ALLOC_ALIGN)        /* 32 */
#define GH_ALLOC_POOLS_PER_ARENA (GH_ALLOC_ARENA_SIZE / GH_ALLOC_POOL_SIZE)  /* 64 */
/* Three families of pools, GH_ALLOC_NCLASSES size classes each, as
 * free-threaded CPython keeps three mimalloc heaps apart (raw memory,
 * objects, GC objects):
 *   family 0 (GH__FAMILY_RAW)  gh_alloc: arrays, tables, anything
 *   family 1 (GH__FAMILY_GC)   gh_alloc_gc: the collector's objects, which
 *                              gh_alloc_visit_gc walks and nothing else
 *   family 2 (GH__FAMILY_OBJ)  gh_alloc_obj: other objects
 * So a block that held an object only ever holds an object again: a
 * lock-free reader's stale pointer into a type-stable pool meets an
 * object header, never an item array being zeroed. Class idx serves
 * blocks of GH__CLASS_SIZE(idx) bytes. */
#define GH__FAMILY_RAW 0u
#define GH__FAMILY_GC  1u
#define GH__FAMILY_OBJ 2u
#define GH__NCLASSES_ALL         (3 * GH_ALLOC_NCLASSES)
#define GH__CLASS_SIZE(idx)      ((uint32_t)((idx) % GH_ALLOC_NCLASSES + 1) * GH_ALLOC_ALIGN)
#define GH__CLASS_IS_GC(idx)     ((idx) / GH_ALLOC_NCLASSES == GH__FAMILY_GC)

struct gh_arena;
struct gh_gc_link;

/* A pool: one GH_ALLOC_POOL_SIZE-aligned 16 KiB slice of an arena, serving
 * one size class. The header sits at the start of the pool, so the pool of
 * a block is found by masking its address (gh__pool_of). Blocks follow the
 * header at 16-byte aligned offsets.
 *
 * Every field is protected by the owner heap's exclusion (alloc=arena: the
 * heap mutex or the GIL; alloc=thread: only the owner thread touches it),
 * except `owner`, which other threads read to route a free: it is written
 * when the pool is (re)initialised, and a thread can only be freeing a block
 * of this pool while the pool holds a live block, i.e. not while it is being
 * reinitialised.
 *
 * Invariants, with cap = (POOL_SIZE - GH__POOL_HDR) / size:
 *   nused + |freeblock list| + (maxnextoffset + size - nextoffset) / size == cap
 *   pool is on owner->used[szidx]  <=>  freeblock != NULL   (it has room)
 *   nused == 0  =>  pool is back on its arena's freepools list, or `held`
 *                   (type-stable: still on used[szidx], waiting for a QSBR
 *                   grace period; heap.c, docs/alloc.md)
 */
struct gh_pool {
    void *freeblock;            /* free blocks, linked through their first word */
    uint32_t nused;             /* blocks handed out (CPython ref.count) */
    uint16_t szidx;             /* size class: block size is GH__CLASS_SIZE(szidx) */
    uint16_t held;              /* 1: emptied under QSBR, a release is deferred
                                   (heap.c, pool_held_release) */
    uint32_t size;              /* block size in bytes */
    uint32_t nextoffset;        /* next never-used block (lazy carving) */
    uint32_t maxnextoffset;     /* last offset a whole block fits at */
    uint32_t emptied;           /* times the pool became empty while held
                                   could apply (wraps): the deferred release
                                   checks it is the emptying it waited for */
    struct gh_pool *next, *prev;/* owner->used[szidx] list; or the arena's
                                   freepools list (next only) when empty */
    struct gh_arena *arena;     /* the arena this pool was carved from */
    struct gh_heap *owner;      /* heap that allocates from it (see above) */
};

/* Header size rounded up to the size-class step, so blocks stay aligned. */
#define GH__POOL_HDR \
    ((uint32_t)((sizeof(struct gh_pool) + GH_ALLOC_ALIGN - 1) & ~(size_t)(GH_ALLOC_ALIGN - 1)))

/* An arena: one 1 MiB mmap'ed, 1 MiB-aligned region cut into 64 pools. The
 * descriptor itself is malloc'ed (CPython keeps arena_object in a separate
 * array too). Protected like the pools of its heap.
 *
 * Invariant: nfreepools == |freepools| + (POOLS_PER_ARENA - ncarved);
 * pools in use == POOLS_PER_ARENA - nfreepools; the arena is on
 * heap->usable iff nfreepools > 0, and heap->usable is sorted by
 * nfreepools ascending (fullest first, so nearly-empty arenas drain and can
 * be returned to the OS, as in CPython 3.8+). */
struct gh_arena {
    uintptr_t base;                    /* start of the 1 MiB mapping */
    struct gh_pool *freepools;         /* pools that were used and are empty again */
    uint32_t nfreepools;               /* free pools, carved or not */
    uint32_t ncarved;                  /* pools carved so far (high-water mark) */
    struct gh_arena *next, *prev;      /* heap->usable (while nfreepools > 0) */
    struct gh_arena *all_next, *all_prev; /* heap->arenas: every arena of the heap */
};

/* A heap: the arenas, the partially used pools per size class and the
 * counters. alloc=arena has one (protected by a mutex or the GIL);
 * alloc=thread one per attached thread (owner thread only); alloc=malloc and
 * alloc=mimalloc one per attached thread holding only counters (and, for
 * mimalloc, the list of the thread's collector blocks).
 *
 * held_pools (alloc=thread, owner only): pools emptied under QSBR and not
 * yet released (struct gh_pool.held).
 *
 * Counters in `c` are written by one thread at a time (the owner or the lock
 * holder) with gh__ctr_add/gh__ctr_sub: a relaxed load plus a relaxed store,
 * which compiles to plain moves (no RMW, no fence) yet lets another thread
 * sample them without a data race. c.live_bytes is a wrapping two's
 * complement number: a thread that frees blocks another heap allocated
 * subtracts them from its own heap, so one heap can go "negative"; the sum
 * over heaps is the true count. */
struct gh_heap {
    struct gh_pool *used[GH__NCLASSES_ALL]; /* pools with room, per class */
    struct gh_arena *usable;   /* arenas with a free pool, fullest first */
    struct gh_arena *arenas;   /* every arena of this heap */
    struct gh_alloc_stats c;   /* this heap's counters (see above) */
    uint64_t unsampled;        /* bytes allocated since the last peak sample
                                  (alloc=thread/malloc; owner only) */
    bool sample_peaks;         /* alloc=thread/malloc: peaks are sampled sums */
    bool detached;             /* owner thread has detached (owner, then fini) */
    uint32_t held_pools;       /* alloc=thread: pools with held set (owner only) */
    /* alloc=mimalloc: this heap's collector blocks (gh_alloc_gc), oldest
     * first. The owner thread alone links and unlinks them (after it has
     * detached: gh_alloc_fini); gh_alloc_visit_gc reads them with the world
     * stopped. */
    struct gh_gc_link *gc_first, *gc_last;
    /* Registry link: written once before the heap is published with a
     * release CAS on the registry head, immutable afterwards. */
    struct gh_heap *next_heap;

    /* alloc=thread: blocks of this heap's pools freed by other threads,
     * linked through their first word. alloc=mimalloc: the same for the
     * links (struct gh_gc_link) of collector blocks on gc_first's list.
     * Any thread pushes (CAS, release); only the owner takes the whole list
     * (exchange, acquire). On its own cache line: it is the only field
     * other threads write. */
    void *thread_free GH_ALIGNED_CACHELINE;
};

/* alloc=mimalloc: the 32 bytes in front of each collector block, which
 * keep it on its owner heap's gc list (or, for a thread without a heap, on
 * the shared orphan list under a lock), so gh_alloc_visit_gc can find every
 * block without walking mimalloc's heaps. */
struct gh_gc_link {
    /* Owner's thread_free list while the block waits there (handed back by
     * another thread): written by the freer before its release CAS, read by
     * the owner after its acquire exchange. First, because
     * gh__alloc_free_mt links through a block's first word. */
    struct gh_gc_link *tf_next;
    /* The heap whose list holds the block, or NULL: the orphan list.
     * Written before the block is handed out; immutable while it lives. */
    struct gh_heap *owner;
    /* The list: protected as the list is (the owner, or the orphan lock). */
    struct gh_gc_link *next, *prev;
};

// ---------------------------------------------------------------------------
// Counters

GH_INLINE void gh__ctr_add(uint64_t *c, uint64_t v)
{
    gh_atomic_store_relaxed_u64(c, gh_atomic_load_relaxed_u64(c) + v);
}

GH_INLINE void gh__ctr_sub(uint64_t *c, uint64_t v)
{
    gh_atomic_store_relaxed_u64(c, gh_atomic_load_relaxed_u64(c) - v);
}

/* *peak = max(*peak, v); single writer, like gh__ctr_add. */
GH_INLINE void gh__ctr_max(uint64_t *peak, uint64_t v)
{
    if (v > gh_atomic_load_relaxed_u64(peak))
        gh_atomic_store_relaxed_u64(peak, v);
}

// ---------------------------------------------------------------------------
// A free block's link
//
// Free blocks are linked through their first word. Under QSBR a lock-free
// reader may still load that word of a block it holds a stale pointer to
// (the full header's ob_tid, rc/brc.h, with a relaxed atomic load) while
// the block is freed or handed out again: the link is read and written with
// relaxed atomics (plain moves), as CPython's mimalloc does (mi_block_t's
// next, an atomic). The order comes from elsewhere: the owner alone links
// and unlinks, and blocks other threads hand back are ordered by the
// thread_free exchange.

GH_INLINE void *gh__link_get(void *b)
{
    void **link = b; /* the block's first word */
    return gh_atomic_load_relaxed_tp(link);
}

GH_INLINE void gh__link_set(void *b, void *next)
{
    void **link = b;
    gh_atomic_store_relaxed_tp(link, next);
}

// ---------------------------------------------------------------------------
// Slow paths ("heap.c", "arena.c")

/* heap.c */
GH_NOINLINE void *gh__alloc_pool_new_slow(struct gh_heap *h, unsigned idx);
GH_NOINLINE void gh__alloc_pool_extend_slow(struct gh_heap *h, struct gh_pool *p);
GH_NOINLINE void gh__alloc_pool_free_slow(struct gh_heap *h, struct gh_pool *p, bool was_full);
/* alloc=thread under QSBR: releases every held pool of the calling
 * thread's heap h (waits for grace periods; the thread is attached). */
void gh__alloc_release_held(struct gh_heap *h);
GH_NOINLINE void gh__alloc_drain_slow(struct gh_heap *h);
GH_NOINLINE void gh__alloc_free_mt(struct gh_heap *owner, void *block);
GH_NOINLINE void gh__alloc_sample_peaks(void);
struct gh_heap *gh__alloc_heap_new(bool sample_peaks);
void gh__alloc_heap_init(struct gh_heap *h, bool sample_peaks);
void gh__alloc_registry_add(struct gh_heap *h);
struct gh_heap *gh__alloc_registry_first(void);
void gh__alloc_registry_reset(void);
void gh__alloc_sum(struct gh_alloc_stats *out);
void gh__alloc_sampled_peaks(uint64_t *bytes, uint64_t *arenas, uint64_t *pools);
/* Counters of threads that have no heap (a free, or alloc=malloc without
 * attach): any thread, relaxed atomic read-modify-writes. */
extern struct gh_alloc_stats gh__alloc_orphan;

/* arena.c */
struct gh_pool *gh__arena_pool_take(struct gh_heap *h);
void gh__arena_pool_give(struct gh_heap *h, struct gh_pool *p);
void gh__arena_release_empty(struct gh_heap *h);
void gh__arena_release_all(struct gh_heap *h);

// ---------------------------------------------------------------------------
// Fast paths

GH_INLINE struct gh_pool *gh__pool_of(const void *block)
{
    return (struct gh_pool *)((uintptr_t)block & ~(uintptr_t)(GH_ALLOC_POOL_SIZE - 1));
}

/* 1 <= n <= GH_ALLOC_SMALL_MAX; from the pools of `family` (GH__FAMILY_*).
 * Caller holds h's exclusion. Counts nothing but pools and arenas. */
GH_INLINE void *gh__heap_alloc_small(struct gh_heap *h, size_t n, unsigned family)
{
    unsigned idx = (unsigned)((n - 1) / GH_ALLOC_ALIGN) + family * GH_ALLOC_NCLASSES;
    struct gh_pool *p = h->used[idx];
    if (GH_LIKELY(p != NULL)) {
        void *b = p->freeblock;
        void *next = gh__link_get(b);
        p->freeblock = next;
        p->nused++;
        if (GH_UNLIKELY(next == NULL))
            gh__alloc_pool_extend_slow(h, p); /* carve one more, or full */
        return b;
    }
    return gh__alloc_pool_new_slow(h, idx);
}

/* b is a small block of a pool owned by h; caller holds h's exclusion. */
GH_INLINE void gh__heap_free_small(struct gh_heap *h, void *b)
{
    struct gh_pool *p = gh__pool_of(b);
    void *old = p->freeblock;
    gh__link_set(b, old);
    p->freeblock = b;
    p->nused--;
    if (GH_UNLIKELY(old == NULL || p->nused == 0))
        gh__alloc_pool_free_slow(h, p, old == NULL);
}

#endif
