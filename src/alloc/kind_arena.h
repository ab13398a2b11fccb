/* kind_arena.h - alloc=arena: CPython's obmalloc, one process-wide heap
 * of arenas and pools (arena.c, heap.c), behind one lock when no GIL
 * serialises its callers. Its complete set: arena_alloc, arena_free,
 * arena_alloc_gc, arena_free_gc, arena_attach, arena_detach.
 *
 * Included by alloc.c only, after the state it reads (arena_heap,
 * arena_mutex, alloc_locked: protected by arena_mutex when alloc_locked,
 * else by the caller's GIL).
 *
 * Layer: alloc.
 */
#ifndef GH_BUILD_ALLOC
#error "alloc/kind_arena.h is private to alloc.c"
#endif

GH_INLINE void *arena_alloc(size_t n, unsigned family)
{
    struct gh_heap *h = &arena_heap;
    bool locked = alloc_locked;
    void *b = NULL;
    uint64_t h0 = 0;

    if (locked) {
        gh_mutex_lock(&arena_mutex, arena_lockstat());
        h0 = arena_hold_begin();
    }
    if (GH_LIKELY(IS_SMALL(n)))
        b = gh__heap_alloc_small(h, n, family);
    else
        gh__ctr_add(&h->c.large_allocs, 1);
    count_alloc(h, n);
    gh__ctr_max(&h->c.peak_bytes, h->c.live_bytes); /* exact: one heap */
    if (locked) {
        arena_hold_end(h0);
        gh_mutex_unlock(&arena_mutex);
    }

    if (GH_UNLIKELY(b == NULL))
        b = system_alloc(n); /* large: outside the lock */
    return b;
}

GH_INLINE void arena_free(void *b, size_t n)
{
    struct gh_heap *h = &arena_heap;
    bool locked = alloc_locked;
    bool small = IS_SMALL(n);
    uint64_t h0 = 0;

    if (!small)
        free(b); /* outside the lock */
    if (locked) {
        gh_mutex_lock(&arena_mutex, arena_lockstat());
        h0 = arena_hold_begin();
    }
    if (GH_LIKELY(small))
        gh__heap_free_small(h, b);
    count_free(h, n);
    if (locked) {
        arena_hold_end(h0);
        gh_mutex_unlock(&arena_mutex);
    }
}

/* A collector block: in the pools (walked by gh_alloc_visit_gc_runs) when
 * small, else on the large list. */
GH_INLINE void *arena_alloc_gc(size_t n)
{
    if (GH_LIKELY(IS_SMALL(n)))
        return arena_alloc(n, GH__FAMILY_GC);
    return gc_large_link(arena_alloc(n + sizeof(struct gc_large), GH__FAMILY_RAW));
}

GH_INLINE void arena_free_gc(void *p, size_t n)
{
    if (GH_LIKELY(IS_SMALL(n))) {
        arena_free(p, n);
        return;
    }
    arena_free(gc_large_unlink(p), n + sizeof(struct gc_large));
}

/* The shared heap needs no per-thread part. */
GH_INLINE void arena_attach(void) {}
GH_INLINE void arena_detach(void) {}
