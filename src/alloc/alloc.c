/* alloc.c - the public entry points: init/fini, attach/detach, gh_alloc,
 * gh_free and the stats, dispatching on the kind chosen at init with a
 * switch (no indirect call per allocation).
 *
 * Who may touch what:
 *   alloc=arena     one static heap; every field under arena_mutex when
 *                   `locked`, else under the caller's GIL.
 *   alloc=thread    one heap per attached thread, in tstate->heap; only the
 *                   owner touches it, except its thread_free list (heap.c).
 *   alloc=malloc    one counters-only heap per attached thread (counts_heap).
 *   alloc=mimalloc  the same counters-only heaps; the blocks come from
 *                   mimalloc's own per-thread heaps (mi_malloc, mi_free),
 *                   whose exclusion and cross-thread frees are mimalloc's.
 * Threads without a heap count into gh__alloc_orphan with relaxed atomics.
 * While tracing (trace.h), gh_alloc/gh_free also call trace.c's slow paths.
 *
 * See docs/alloc.md.
 */
#define _GNU_SOURCE /* dladdr */
#define GH_BUILD_ALLOC
#include "alloc/alloc_internal.h"
#include "alloc/trace.h" // the tracing hooks in gh_alloc/gh_free

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mimalloc.h> // alloc=mimalloc: mi_malloc, mi_free

#include "base/die.h"    // gh_die, gh_assert
#include "base/mutex.h"  // gh_mutex: the arena heap lock
#include "base/stw.h"    // gh_stw_attach: not while a collector walks the heaps
#include "base/tstate.h" // gh_tstate_get: heap and lock counters

enum alloc_state { STATE_NONE, STATE_RUNNING, STATE_FINI };

/* Set by gh_alloc_init before any other thread exists; read-only after. */
static enum gh_alloc_kind alloc_kind;
static bool alloc_locked;
static enum alloc_state alloc_state;
/* The counters as gh_alloc_fini left them (written by fini, one thread). */
static struct gh_alloc_stats final_stats;

/* alloc=arena: the process-wide heap. Protected by arena_mutex when
 * alloc_locked, by the GIL otherwise. */
static struct gh_heap arena_heap;
static gh_mutex arena_mutex;
/* Lock counters for threads without a tstate; written only by the holder of
 * arena_mutex (gh_mutex_lock counts after acquiring). */
static struct gh_lockstat arena_lockstat_fallback;

/* alloc=malloc and alloc=mimalloc: this thread's counters-only heap (set
 * by attach, cleared by detach; this thread only), or NULL. */
static _Thread_local struct gh_heap *counts_heap;

#define IS_SMALL(n) ((size_t)(n) - 1 < GH_ALLOC_SMALL_MAX) /* 1..512; 0 is large */

// ---------------------------------------------------------------------------
// Counting

GH_INLINE void count_alloc(struct gh_heap *h, size_t n)
{
    gh__ctr_add(&h->c.allocs, 1);
    gh__ctr_add(&h->c.live_bytes, n);
}

GH_INLINE void count_free(struct gh_heap *h, size_t n)
{
    gh__ctr_add(&h->c.frees, 1);
    gh__ctr_sub(&h->c.live_bytes, n);
}

static void count_orphan(size_t n, bool alloc, bool large, bool cross)
{
    struct gh_alloc_stats *o = &gh__alloc_orphan;
    if (alloc) {
        gh_atomic_add_relaxed_u64(&o->allocs, 1);
        gh_atomic_add_relaxed_u64(&o->live_bytes, n);
        if (large)
            gh_atomic_add_relaxed_u64(&o->large_allocs, 1);
    } else {
        gh_atomic_add_relaxed_u64(&o->frees, 1);
        gh_atomic_sub_relaxed_u64(&o->live_bytes, n);
        if (cross)
            gh_atomic_add_relaxed_u64(&o->cross_thread_frees, 1);
    }
}

static GH_NOINLINE void *system_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        gh_die(ENOMEM, "malloc");
    gh_assert_debug(((uintptr_t)p & (GH_ALLOC_ALIGN - 1)) == 0);
    return p;
}

// ---------------------------------------------------------------------------
// alloc=arena

GH_INLINE struct gh_lockstat *arena_lockstat(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    return ts ? &ts->locks[GH_LOCK_alloc] : &arena_lockstat_fallback;
}

GH_INLINE void *arena_alloc(size_t n, unsigned family)
{
    struct gh_heap *h = &arena_heap;
    bool locked = alloc_locked;
    void *b = NULL;

    if (locked)
        gh_mutex_lock(&arena_mutex, arena_lockstat());
    if (GH_LIKELY(IS_SMALL(n)))
        b = gh__heap_alloc_small(h, n, family);
    else
        gh__ctr_add(&h->c.large_allocs, 1);
    count_alloc(h, n);
    gh__ctr_max(&h->c.peak_bytes, h->c.live_bytes); /* exact: one heap */
    if (locked)
        gh_mutex_unlock(&arena_mutex);

    if (GH_UNLIKELY(b == NULL))
        b = system_alloc(n); /* large: outside the lock */
    return b;
}

GH_INLINE void arena_free(void *b, size_t n)
{
    struct gh_heap *h = &arena_heap;
    bool locked = alloc_locked;
    bool small = IS_SMALL(n);

    if (!small)
        free(b); /* outside the lock */
    if (locked)
        gh_mutex_lock(&arena_mutex, arena_lockstat());
    if (GH_LIKELY(small))
        gh__heap_free_small(h, b);
    count_free(h, n);
    if (locked)
        gh_mutex_unlock(&arena_mutex);
}

// ---------------------------------------------------------------------------
// alloc=thread

static GH_NOINLINE GH_COLD void thread_unattached(void)
{
    gh__assert_fail(__FILE__, __LINE__, __func__,
                    "alloc=thread: gh_alloc without gh_alloc_thread_attach");
}

static GH_NOINLINE void *thread_alloc_large(struct gh_heap *h, size_t n)
{
    gh__ctr_add(&h->c.large_allocs, 1);
    return system_alloc(n);
}

/* Every GH_ALLOC_POOL_SIZE bytes a heap allocates, it samples the peaks. */
static GH_NOINLINE void heap_sample_slow(struct gh_heap *h)
{
    h->unsampled = 0;
    gh__alloc_sample_peaks();
}

GH_INLINE void *thread_alloc(size_t n, unsigned family)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct gh_heap *h = ts ? ts->heap : NULL;
    if (GH_UNLIKELY(h == NULL))
        thread_unattached();
    /* Relaxed: only a hint; the exchange in the drain does the ordering. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_ptr(&h->thread_free) != NULL))
        gh__alloc_drain_slow(h);
    count_alloc(h, n);
    h->unsampled += n;
    if (GH_UNLIKELY(h->unsampled >= GH_ALLOC_POOL_SIZE))
        heap_sample_slow(h);
    if (GH_LIKELY(IS_SMALL(n)))
        return gh__heap_alloc_small(h, n, family);
    return thread_alloc_large(h, n);
}

/* A free that is not the owner's: hand the block back (small), count it in
 * the freeing thread's heap or the orphan set. */
static GH_NOINLINE void thread_free_mt(struct gh_heap *me, void *b, size_t n, bool small)
{
    bool cross = false;
    if (small) {
        gh__alloc_free_mt(gh__pool_of(b)->owner, b);
        cross = true;
    } else {
        free(b);
    }
    if (me) {
        count_free(me, n);
        if (cross)
            gh__ctr_add(&me->c.cross_thread_frees, 1);
    } else {
        count_orphan(n, false, false, cross);
    }
}

GH_INLINE void thread_free(void *b, size_t n)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct gh_heap *h = ts ? ts->heap : NULL;
    if (GH_LIKELY(IS_SMALL(n))) {
        /* owner is never NULL, so equality implies h != NULL. */
        if (GH_LIKELY(gh__pool_of(b)->owner == h)) {
            gh__heap_free_small(h, b);
            count_free(h, n);
            return;
        }
        thread_free_mt(h, b, n, true);
        return;
    }
    if (GH_LIKELY(h != NULL)) {
        free(b);
        count_free(h, n);
        return;
    }
    thread_free_mt(h, b, n, false);
}

// ---------------------------------------------------------------------------
// alloc=malloc

/* alloc=malloc and alloc=mimalloc: counts an n-byte allocation in the
 * calling thread's counters-only heap, or in the orphan set. */
GH_INLINE void counts_alloc(size_t n)
{
    struct gh_heap *h = counts_heap;
    if (GH_LIKELY(h != NULL)) {
        count_alloc(h, n);
        if (!IS_SMALL(n))
            gh__ctr_add(&h->c.large_allocs, 1);
        h->unsampled += n;
        if (GH_UNLIKELY(h->unsampled >= GH_ALLOC_POOL_SIZE))
            heap_sample_slow(h);
    } else {
        count_orphan(n, true, !IS_SMALL(n), false);
    }
}

GH_INLINE void *malloc_alloc(size_t n)
{
    void *b = malloc(n ? n : 1);
    if (GH_UNLIKELY(b == NULL))
        gh_die(ENOMEM, "malloc");
    counts_alloc(n);
    return b;
}

GH_INLINE void malloc_free(void *b, size_t n)
{
    struct gh_heap *h = counts_heap;
    free(b);
    if (GH_LIKELY(h != NULL))
        count_free(h, n);
    else
        count_orphan(n, false, false, false);
}

// ---------------------------------------------------------------------------
// alloc=mimalloc
//
// Every request, small or large, goes to mi_malloc, which serves it from the
// calling thread's default mimalloc heap (free-threaded CPython calls
// mi_heap_malloc on its thread state's heaps, whatever the size). mi_free of
// a block whose page another thread owns pushes it on that page's
// thread-free list, and the owner collects it when the page runs dry; a
// thread that exits abandons its segments and other threads reclaim them.
// All of that is mimalloc's to protect: this layer only counts.

/* mimalloc's smallest bin holds 8-byte blocks, 8-byte aligned; every other
 * bin is a multiple of MI_MAX_ALIGN_SIZE (16), so asking for at least 16
 * bytes keeps gh_alloc's 16-byte alignment (CPython never asks for less). */
GH_INLINE size_t mi_request(size_t n) { return n < GH_ALLOC_ALIGN ? GH_ALLOC_ALIGN : n; }

GH_INLINE void *mimalloc_alloc(size_t n)
{
    void *b = mi_malloc(mi_request(n));
    if (GH_UNLIKELY(b == NULL))
        gh_die(ENOMEM, "mi_malloc");
    gh_assert_debug(((uintptr_t)b & (GH_ALLOC_ALIGN - 1)) == 0);
    counts_alloc(n);
    return b;
}

/* Whether mi_free takes mimalloc's cross-thread path is not counted:
 * asking (mi_heap_contains_block) is a library call that cost more than
 * mi_free itself, and CPython does not ask. cross_thread_frees counts only
 * the collector blocks handed back to their owner heap (below). */
GH_INLINE void mimalloc_free(void *b, size_t n)
{
    struct gh_heap *h = counts_heap;
    mi_free(b);
    if (GH_LIKELY(h != NULL))
        count_free(h, n);
    else
        count_orphan(n, false, false, false);
}

// ---------------------------------------------------------------------------
// Public entry points

GH_INLINE void *alloc_kind_dispatch(size_t n, unsigned family)
{
    switch (alloc_kind) {
    case GH_ALLOC_ARENA:
        return arena_alloc(n, family);
    case GH_ALLOC_THREAD:
        return thread_alloc(n, family);
    case GH_ALLOC_MIMALLOC:
        return mimalloc_alloc(n);
    case GH_ALLOC_MALLOC:
    default:
        return malloc_alloc(n);
    }
}

GH_INLINE void *alloc_traced(size_t n, unsigned family)
{
    void *p = alloc_kind_dispatch(n, family);
    /* Tracing (trace.h): one relaxed load when off. Recorded after the
     * allocator has let go of its lock. */
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_record_slow(p, n);
    return p;
}

void *gh_alloc(size_t n) { return alloc_traced(n, GH__FAMILY_RAW); }
void *gh_alloc_obj(size_t n) { return alloc_traced(n, GH__FAMILY_OBJ); }

GH_INLINE void free_kind_dispatch(void *p, size_t n);

void gh_free(void *p, size_t n)
{
    /* Tracing: forget p before it goes back, so that a thread handed the
     * same address next cannot have its new trace removed by this free. */
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_forget_slow(p);
    free_kind_dispatch(p, n);
}

GH_INLINE void free_kind_dispatch(void *p, size_t n)
{
    switch (alloc_kind) {
    case GH_ALLOC_ARENA:
        arena_free(p, n);
        return;
    case GH_ALLOC_THREAD:
        thread_free(p, n);
        return;
    case GH_ALLOC_MIMALLOC:
        mimalloc_free(p, n);
        return;
    case GH_ALLOC_MALLOC:
    default:
        malloc_free(p, n);
        return;
    }
}

// ---------------------------------------------------------------------------
// The collector's blocks (gh_alloc_gc)

/* A collector block that no pool can hold (above GH_ALLOC_SMALL_MAX, or
 * every block under alloc=malloc, whose heap cannot be walked) carries
 * this link in front and sits on one circular list. The list is protected
 * by large_lock (lock class `alloc`; a leaf lock, never held across a
 * wait); gh_alloc_visit_gc reads it with the world stopped. */
struct gc_large {
    struct gc_large *next, *prev;
};
_Static_assert(sizeof(struct gc_large) == GH_ALLOC_ALIGN, "keeps blocks aligned");
static struct gc_large large_head = {&large_head, &large_head};
static gh_mutex large_lock;

/* alloc=mimalloc: every collector block carries a struct gh_gc_link and
 * sits on its owner heap's list, which only the owner changes: mimalloc
 * 2.0's mi_heap_visit_blocks cannot see the abandoned segments of exited
 * threads (free-threaded CPython patches its mimalloc to), so we keep the
 * blocks findable ourselves. A block freed by another thread goes back to
 * its owner through the owner's thread_free list (the protocol of
 * alloc=thread, heap.c), and the owner unlinks and mi_frees it at its next
 * collector allocation or its detach (fini for a detached heap). Blocks of
 * threads without a heap go on orphan_gc, under large_lock. */
_Static_assert(sizeof(struct gh_gc_link) % GH_ALLOC_ALIGN == 0, "keeps blocks aligned");
_Static_assert(offsetof(struct gh_gc_link, tf_next) == 0, "gh__alloc_free_mt links through word 0");
static struct gh_gc_link *orphan_gc_first, *orphan_gc_last; /* under large_lock */

GH_INLINE bool gc_in_pools(size_t n)
{
    return (alloc_kind == GH_ALLOC_ARENA || alloc_kind == GH_ALLOC_THREAD) && IS_SMALL(n);
}

/* Appends l to the list (*first .. *last); caller holds the list's
 * exclusion. */
GH_INLINE void gc_link_append(struct gh_gc_link **first, struct gh_gc_link **last,
                              struct gh_gc_link *l)
{
    l->next = NULL;
    l->prev = *last;
    if (*last)
        (*last)->next = l;
    else
        *first = l;
    *last = l;
}

GH_INLINE void gc_link_remove(struct gh_gc_link **first, struct gh_gc_link **last,
                              struct gh_gc_link *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        *first = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else
        *last = l->prev;
}

/* Owner only (or fini, or detach): unlinks and frees the collector blocks
 * other threads handed back to h. Their frees were counted by the freers. */
static GH_NOINLINE void mimalloc_gc_drain_slow(struct gh_heap *h)
{
    /* Acquire: pairs with the release CAS of every gh__alloc_free_mt whose
     * link is in the list we take (the tf_next links, and the freer's last
     * writes to the block, happen before we reuse it). */
    struct gh_gc_link *l = gh_atomic_exchange_acquire_ptr(&h->thread_free, NULL);
    while (l) {
        struct gh_gc_link *next = l->tf_next;
        gc_link_remove(&h->gc_first, &h->gc_last, l);
        mi_free(l);
        l = next;
    }
}

static GH_NOINLINE void *mimalloc_alloc_gc_orphan(size_t n)
{
    struct gh_gc_link *l = mimalloc_alloc(n + sizeof *l);
    l->owner = NULL;
    gh_mutex_lock(&large_lock, arena_lockstat());
    gc_link_append(&orphan_gc_first, &orphan_gc_last, l);
    gh_mutex_unlock(&large_lock);
    return l + 1;
}

GH_INLINE void *mimalloc_alloc_gc(size_t n)
{
    struct gh_heap *h = counts_heap;
    if (GH_UNLIKELY(h == NULL))
        return mimalloc_alloc_gc_orphan(n);
    /* Relaxed: only a hint; the exchange in the drain does the ordering. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_ptr(&h->thread_free) != NULL))
        mimalloc_gc_drain_slow(h);
    struct gh_gc_link *l = mimalloc_alloc(n + sizeof *l);
    l->owner = h;
    gc_link_append(&h->gc_first, &h->gc_last, l);
    return l + 1;
}

/* A collector block that is not the calling thread's (or the caller has no
 * heap): hand it back to its owner, or take it off the orphan list. */
static GH_NOINLINE void mimalloc_free_gc_slow(struct gh_heap *me, struct gh_gc_link *l, size_t n)
{
    struct gh_heap *owner = l->owner;
    if (owner == NULL) {
        gh_mutex_lock(&large_lock, arena_lockstat());
        gc_link_remove(&orphan_gc_first, &orphan_gc_last, l);
        gh_mutex_unlock(&large_lock);
        mimalloc_free(l, n);
        return;
    }
    /* owner->thread_free, linked through tf_next (the link's first word). */
    gh__alloc_free_mt(owner, l);
    if (me) {
        count_free(me, n);
        gh__ctr_add(&me->c.cross_thread_frees, 1);
    } else {
        count_orphan(n, false, false, true);
    }
}

GH_INLINE void mimalloc_free_gc(void *p, size_t n)
{
    struct gh_gc_link *l = (struct gh_gc_link *)p - 1;
    struct gh_heap *h = counts_heap;
    /* owner is NULL only for orphans, which the slow path handles. */
    if (GH_LIKELY(l->owner == h && h != NULL)) {
        gc_link_remove(&h->gc_first, &h->gc_last, l);
        mimalloc_free(l, n + sizeof *l);
        return;
    }
    mimalloc_free_gc_slow(h, l, n + sizeof *l);
}

void *gh_alloc_gc(size_t n)
{
    void *p;
    if (GH_LIKELY(gc_in_pools(n))) {
        p = alloc_kind_dispatch(n, GH__FAMILY_GC);
    } else if (alloc_kind == GH_ALLOC_MIMALLOC) {
        p = mimalloc_alloc_gc(n);
    } else {
        struct gc_large *l = alloc_kind_dispatch(n + sizeof *l, GH__FAMILY_RAW);
        gh_mutex_lock(&large_lock, arena_lockstat());
        l->next = &large_head;
        l->prev = large_head.prev;
        large_head.prev->next = l;
        large_head.prev = l;
        gh_mutex_unlock(&large_lock);
        p = l + 1;
    }
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_record_slow(p, n);
    return p;
}

void gh_free_gc(void *p, size_t n)
{
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_forget_slow(p);
    if (GH_LIKELY(gc_in_pools(n))) {
        free_kind_dispatch(p, n);
        return;
    }
    if (alloc_kind == GH_ALLOC_MIMALLOC) {
        mimalloc_free_gc(p, n);
        return;
    }
    struct gc_large *l = (struct gc_large *)p - 1;
    gh_mutex_lock(&large_lock, arena_lockstat());
    l->prev->next = l->next;
    l->next->prev = l->prev;
    gh_mutex_unlock(&large_lock);
    free_kind_dispatch(l, n + sizeof *l);
}

void gh_alloc_visit_gc_runs(void (*fn)(char *first, size_t n, size_t size, void *arg), void *arg)
{
    for (struct gh_heap *h = gh__alloc_registry_first(); h; h = h->next_heap) {
        /* Oldest arena first: the heap's objects in about the order they
         * were made, so a container is usually met before what it holds. */
        struct gh_arena *last = h->arenas;
        while (last && last->all_next)
            last = last->all_next;
        for (struct gh_arena *a = last; a; a = a->all_prev) {
            for (uint32_t i = 0; i < a->ncarved; i++) {
                struct gh_pool *p = (struct gh_pool *)(a->base + (uintptr_t)i * GH_ALLOC_POOL_SIZE);
                /* An empty pool (on its arena's free list) has nused 0. */
                if (p->nused == 0 || !GH__CLASS_IS_GC(p->szidx))
                    continue;
                fn((char *)p + GH__POOL_HDR, (p->nextoffset - GH__POOL_HDR) / p->size, p->size, arg);
            }
        }
        /* alloc=mimalloc: the heap's collector blocks, oldest first. A block
         * handed back and not yet drained is still here (freed: the object
         * layer zeroed its bits). */
        for (struct gh_gc_link *l = h->gc_first; l; l = l->next)
            fn((char *)(l + 1), 1, 0, arg);
    }
    for (struct gh_gc_link *l = orphan_gc_first; l; l = l->next)
        fn((char *)(l + 1), 1, 0, arg);
    for (struct gc_large *l = large_head.next; l != &large_head; l = l->next)
        fn((char *)(l + 1), 1, 0, arg);
}

struct visit_each {
    void (*fn)(void *block, void *arg);
    void *arg;
};

static void visit_run(char *first, size_t n, size_t size, void *arg)
{
    struct visit_each *v = arg;
    for (size_t i = 0; i < n; i++)
        v->fn(first + i * size, v->arg);
}

void gh_alloc_visit_gc(void (*fn)(void *block, void *arg), void *arg)
{
    struct visit_each v = {fn, arg};
    gh_alloc_visit_gc_runs(visit_run, &v);
}

/* Debian's libmimalloc.so exports malloc and free too (MI_OVERRIDE). If it
 * came before libc in the symbol lookup order, every malloc in the process
 * would be mimalloc's: alloc=malloc would measure mimalloc, and so would
 * every kind's large requests. CMakeLists.txt links libc first; this makes
 * sure, once per init, by asking which object defines the malloc our calls
 * reach (libc, or ASan's runtime under the sanitizer). */
static GH_NOINLINE void check_malloc_is_not_mimalloc(void)
{
    void *(*volatile reached)(size_t) = malloc; /* volatile: the real address */
    Dl_info info;
    bool overridden = dladdr((void *)reached, &info) && info.dli_fname &&
                      strstr(info.dli_fname, "mimalloc") != NULL;
    if (overridden) /* a build bug: every number would be mimalloc's */
        gh__assert_fail(__FILE__, __LINE__, __func__,
                        "malloc resolves to libmimalloc.so's: link libc before it "
                        "(CMakeLists.txt, gh_mimalloc)");
}

int gh_alloc_init(enum gh_alloc_kind kind, bool locked)
{
    if (kind != GH_ALLOC_ARENA && kind != GH_ALLOC_THREAD && kind != GH_ALLOC_MALLOC &&
        kind != GH_ALLOC_MIMALLOC)
        return -EINVAL;
    gh_assert(alloc_state != STATE_RUNNING);
    check_malloc_is_not_mimalloc();
    alloc_kind = kind;
    alloc_locked = kind == GH_ALLOC_ARENA && locked;
    /* alloc=arena's pools are not held: its heap is shared, a held pool's
     * release would run on the freeing thread at a quiescent state, where
     * it may hold nothing that orders it against a collector's walk. Its
     * objects keep waiting whole (object/object.c). */
    gh__alloc_pools_held = kind == GH_ALLOC_THREAD;
    memset(&final_stats, 0, sizeof final_stats);
    memset(&arena_lockstat_fallback, 0, sizeof arena_lockstat_fallback);
    large_head.next = large_head.prev = &large_head; /* leftovers are abandoned */
    orphan_gc_first = orphan_gc_last = NULL;
    large_lock = (gh_mutex){0};
    gh__alloc_registry_reset();
    if (kind == GH_ALLOC_ARENA) {
        gh__alloc_heap_init(&arena_heap, false);
        gh__alloc_registry_add(&arena_heap);
    }
    alloc_state = STATE_RUNNING;
    return 0;
}

void gh_alloc_thread_attach(void)
{
    gh_assert(alloc_state == STATE_RUNNING);
    switch (alloc_kind) {
    case GH_ALLOC_ARENA:
        return; /* the shared heap needs no per-thread part */
    case GH_ALLOC_THREAD: {
        struct gh_tstate *ts = gh_tstate_get();
        gh_assert(ts != NULL && ts->heap == NULL);
        struct gh_heap *h = gh__alloc_heap_new(true);
        gh__alloc_registry_add(h);
        ts->heap = h;
        return;
    }
    case GH_ALLOC_MALLOC:
    case GH_ALLOC_MIMALLOC:
    default: {
        gh_assert(counts_heap == NULL);
        struct gh_heap *h = gh__alloc_heap_new(true);
        gh__alloc_registry_add(h);
        counts_heap = h;
        return;
    }
    }
}

void gh_alloc_thread_detach(void)
{
    switch (alloc_kind) {
    case GH_ALLOC_ARENA:
        return;
    case GH_ALLOC_THREAD: {
        struct gh_tstate *ts = gh_tstate_get();
        gh_assert(ts != NULL && ts->heap != NULL);
        struct gh_heap *h = ts->heap;
        /* Draining frees blocks and releasing unmaps an arena: the heap
         * changes under a collector walking it (gh_alloc_visit_gc, with the
         * world stopped). A thread that has already detached from the world
         * (after its last model operation) attaches for this, which waits
         * while the world is stopped (base/stw.h). */
        bool attach = ts->stw_state == GH_THREAD_DETACHED;
        if (attach)
            gh_stw_attach(ts);
        gh__alloc_drain_slow(h);
        /* Pools held type-stable go back to their arenas after their grace
         * periods, while the heap is still the thread's. */
        if (h->held_pools)
            gh__alloc_release_held(h);
        gh__alloc_sample_peaks();
        gh__arena_release_empty(h); /* the spare, if the heap is empty */
        h->detached = true;
        ts->heap = NULL;
        if (attach)
            gh_stw_detach(ts);
        return;
    }
    case GH_ALLOC_MIMALLOC: {
        struct gh_heap *h = counts_heap;
        gh_assert(h != NULL);
        /* The drain changes the heap's collector list, which a collector
         * may be walking with the world stopped: attach for it, as
         * alloc=thread does. */
        struct gh_tstate *ts = gh_tstate_get();
        bool attach = ts && ts->stw_state == GH_THREAD_DETACHED;
        if (attach)
            gh_stw_attach(ts);
        mimalloc_gc_drain_slow(h);
        h->detached = true;
        if (attach)
            gh_stw_detach(ts);
        /* The heap stays, with its live collector blocks, until fini.
         * mimalloc's own per-thread state is mimalloc's: it abandons the
         * thread's segments when the thread exits (a pthread key's
         * destructor), and their blocks stay valid for any thread. */
        gh__alloc_sample_peaks();
        counts_heap = NULL;
        return;
    }
    case GH_ALLOC_MALLOC:
    default:
        gh_assert(counts_heap != NULL);
        gh__alloc_sample_peaks();
        counts_heap = NULL;
        return;
    }
}

void gh_alloc_stats_get(struct gh_alloc_stats *out)
{
    if (alloc_state != STATE_RUNNING) {
        *out = final_stats; /* zeros before the first init */
        return;
    }
    if (alloc_kind == GH_ALLOC_ARENA) {
        gh__alloc_sum(out);
        out->peak_bytes = gh_atomic_load_relaxed_u64(&arena_heap.c.peak_bytes);
        out->arenas_peak = gh_atomic_load_relaxed_u64(&arena_heap.c.arenas_peak);
        out->pools_peak = gh_atomic_load_relaxed_u64(&arena_heap.c.pools_peak);
        return;
    }
    gh__alloc_sample_peaks(); /* now is a sampling point too */
    gh__alloc_sum(out);
    gh__alloc_sampled_peaks(&out->peak_bytes, &out->arenas_peak, &out->pools_peak);
}

void gh_alloc_fini(void)
{
    gh_assert(alloc_state == STATE_RUNNING);
    /* A calling thread that did not detach may still hold pools whose
     * release its QSBR batches would run after the arenas are gone. */
    struct gh_tstate *self = gh_tstate_get();
    if (self && self->heap && self->heap->held_pools)
        gh__alloc_release_held(self->heap);
    struct gh_alloc_stats peaks;
    gh_alloc_stats_get(&peaks); /* samples the peaks one last time */

    struct gh_heap *first = gh__alloc_registry_first();
    for (struct gh_heap *h = first; h; h = h->next_heap) {
        if (alloc_kind == GH_ALLOC_THREAD)
            gh__alloc_drain_slow(h); /* frees into detached heaps */
        if (alloc_kind == GH_ALLOC_MIMALLOC)
            mimalloc_gc_drain_slow(h); /* blocks handed back to detached heaps */
        gh__arena_release_all(h);
    }
    gh__alloc_sum(&final_stats);
    final_stats.peak_bytes = peaks.peak_bytes;
    final_stats.arenas_peak = peaks.arenas_peak;
    final_stats.pools_peak = peaks.pools_peak;

    for (struct gh_heap *h = first; h;) {
        struct gh_heap *next = h->next_heap;
        if (h != &arena_heap)
            free(h);
        h = next;
    }
    gh__alloc_registry_reset();
    /* The calling thread may not have detached: forget its freed heap. */
    struct gh_tstate *ts = gh_tstate_get();
    if (ts)
        ts->heap = NULL;
    counts_heap = NULL;
    gh__alloc_pools_held = false;
    alloc_state = STATE_FINI;
}
