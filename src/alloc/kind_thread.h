/* kind_thread.h - alloc=thread: one obmalloc heap per attached thread
 * (tstate->heap), as free-threaded CPython gives each thread its own
 * mimalloc heaps. Only the owner touches a heap, except its thread_free
 * list, where other threads hand back the blocks they free (heap.c). Its
 * complete set: thread_alloc, thread_free, thread_alloc_gc, thread_free_gc,
 * thread_attach, thread_detach.
 *
 * Included by alloc.c only.
 *
 * Layer: alloc.
 */
#ifndef GH_BUILD_ALLOC
#error "alloc/kind_thread.h is private to alloc.c"
#endif

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

/* A collector block: in the pools when small, else on the large list. */
GH_INLINE void *thread_alloc_gc(size_t n)
{
    if (GH_LIKELY(IS_SMALL(n)))
        return thread_alloc(n, GH__FAMILY_GC);
    return gc_large_link(thread_alloc(n + sizeof(struct gc_large), GH__FAMILY_RAW));
}

GH_INLINE void thread_free_gc(void *p, size_t n)
{
    if (GH_LIKELY(IS_SMALL(n))) {
        thread_free(p, n);
        return;
    }
    thread_free(gc_large_unlink(p), n + sizeof(struct gc_large));
}

GH_INLINE void thread_attach(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_assert(ts != NULL && ts->heap == NULL);
    struct gh_heap *h = gh__alloc_heap_new(true);
    gh__alloc_registry_add(h);
    ts->heap = h;
}

GH_INLINE void thread_detach(void)
{
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
}
