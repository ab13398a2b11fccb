/* alloc.c - the public entry points: init/fini, attach/detach, gh_alloc,
 * gh_free, the collector's blocks and the stats, dispatching on the kind
 * chosen at init with a switch (no indirect call per allocation) to that
 * kind's complete set of functions, one header per kind: kind_arena.h,
 * kind_thread.h, kind_malloc.h, kind_mimalloc.h.
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
#include "base/lockprof.h" // gh_hold_begin: the arena lock's sampled holds
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
// What the kinds share

GH_INLINE struct gh_lockstat *arena_lockstat(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    return ts ? &ts->locks[GH_LOCK_alloc] : &arena_lockstat_fallback;
}

/* The arena lock's hold sampling (base/lockprof.h): after taking it, the
 * hold's start when sampled, else 0; before releasing it, the record. */
GH_INLINE uint64_t arena_hold_begin(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    return ts ? gh_hold_begin(ts) : 0;
}

GH_INLINE void arena_hold_end(uint64_t h0)
{
    if (GH_UNLIKELY(h0 != 0))
        gh_hold_end_slow(gh_tstate_get(), GH_LOCK_alloc, &arena_mutex, h0);
}

/* Every GH_ALLOC_POOL_SIZE bytes a heap allocates, it samples the peaks. */
static GH_NOINLINE void heap_sample_slow(struct gh_heap *h)
{
    h->unsampled = 0;
    gh__alloc_sample_peaks();
}

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

/* alloc=malloc and alloc=mimalloc: the calling thread's counters-only
 * heap. */
GH_INLINE void counts_attach(void)
{
    gh_assert(counts_heap == NULL);
    struct gh_heap *h = gh__alloc_heap_new(true);
    gh__alloc_registry_add(h);
    counts_heap = h;
}

// The collector's blocks that no walkable pool holds

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

/* Puts a block with a struct gc_large in front on the large list; returns
 * the collector's part. */
GH_INLINE void *gc_large_link(struct gc_large *l)
{
    gh_mutex_lock(&large_lock, arena_lockstat());
    l->next = &large_head;
    l->prev = large_head.prev;
    large_head.prev->next = l;
    large_head.prev = l;
    gh_mutex_unlock(&large_lock);
    return l + 1;
}

/* Takes p's block off the large list; returns the block to free. */
GH_INLINE struct gc_large *gc_large_unlink(void *p)
{
    struct gc_large *l = (struct gc_large *)p - 1;
    gh_mutex_lock(&large_lock, arena_lockstat());
    l->prev->next = l->next;
    l->next->prev = l->prev;
    gh_mutex_unlock(&large_lock);
    return l;
}

// ---------------------------------------------------------------------------
// The kinds: each a complete set of alloc, free, alloc_gc, free_gc, attach
// and detach; the entry points below switch on alloc_kind to one of them.

#include "alloc/kind_arena.h"
#include "alloc/kind_thread.h"
#include "alloc/kind_malloc.h"
#include "alloc/kind_mimalloc.h"

// ---------------------------------------------------------------------------
// Public entry points

static GH_NOINLINE GH_COLD __attribute__((noreturn)) void bad_kind(void)
{
    gh__assert_fail(__FILE__, __LINE__, __func__, "alloc_kind is no allocator");
}

/* KIND_RETURN(name, args) returns the selected kind's kind_name(args);
 * KIND_DO(name, args) calls it and returns. Every kind has a case;
 * gh_alloc_init refuses any other value. */
#define KIND_RETURN(name, ...)                                                 \
    switch (alloc_kind) {                                                      \
    case GH_ALLOC_ARENA:    return arena_##name(__VA_ARGS__);                  \
    case GH_ALLOC_THREAD:   return thread_##name(__VA_ARGS__);                 \
    case GH_ALLOC_MALLOC:   return malloc_##name(__VA_ARGS__);                 \
    case GH_ALLOC_MIMALLOC: return mimalloc_##name(__VA_ARGS__);               \
    }                                                                          \
    bad_kind();                                                                \
    return NULL
#define KIND_DO(name, ...)                                                     \
    switch (alloc_kind) {                                                      \
    case GH_ALLOC_ARENA:    arena_##name(__VA_ARGS__); return;                 \
    case GH_ALLOC_THREAD:   thread_##name(__VA_ARGS__); return;                \
    case GH_ALLOC_MALLOC:   malloc_##name(__VA_ARGS__); return;                \
    case GH_ALLOC_MIMALLOC: mimalloc_##name(__VA_ARGS__); return;              \
    }                                                                          \
    bad_kind()

GH_INLINE void *alloc_untraced(size_t n, unsigned family)
{
    KIND_RETURN(alloc, n, family);
}

GH_INLINE void *alloc_traced(size_t n, unsigned family)
{
    void *p = alloc_untraced(n, family);
    /* Tracing (trace.h): one relaxed load when off. Recorded after the
     * allocator has let go of its lock. */
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_record_slow(p, n);
    return p;
}

void *gh_alloc(size_t n) { return alloc_traced(n, GH__FAMILY_RAW); }
void *gh_alloc_obj(size_t n) { return alloc_traced(n, GH__FAMILY_OBJ); }

GH_INLINE void free_untraced(void *p, size_t n)
{
    KIND_DO(free, p, n);
}

void gh_free(void *p, size_t n)
{
    /* Tracing: forget p before it goes back, so that a thread handed the
     * same address next cannot have its new trace removed by this free. */
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_forget_slow(p);
    free_untraced(p, n);
}

GH_INLINE void *alloc_gc_untraced(size_t n)
{
    KIND_RETURN(alloc_gc, n);
}

void *gh_alloc_gc(size_t n)
{
    void *p = alloc_gc_untraced(n);
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_record_slow(p, n);
    return p;
}

GH_INLINE void free_gc_untraced(void *p, size_t n)
{
    KIND_DO(free_gc, p, n);
}

void gh_free_gc(void *p, size_t n)
{
    if (GH_UNLIKELY(gh__trace_enabled_relaxed()))
        gh__trace_forget_slow(p);
    free_gc_untraced(p, n);
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
    KIND_DO(attach, );
}

void gh_alloc_thread_detach(void)
{
    KIND_DO(detach, );
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
