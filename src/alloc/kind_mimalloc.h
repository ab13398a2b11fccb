/* kind_mimalloc.h - alloc=mimalloc: every block from mimalloc's per-thread
 * heaps; this layer only counts (counts_heap, as alloc=malloc) and keeps
 * the collector's blocks findable. Its complete set: mimalloc_alloc,
 * mimalloc_free, mimalloc_alloc_gc, mimalloc_free_gc, mimalloc_attach,
 * mimalloc_detach.
 *
 * Included by alloc.c only.
 *
 * Layer: alloc.
 */
#ifndef GH_BUILD_ALLOC
#error "alloc/kind_mimalloc.h is private to alloc.c"
#endif
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

GH_INLINE void *mimalloc_alloc(size_t n, unsigned family)
{
    (void)family;
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

/* ---- the collector's blocks ---- */

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
    struct gh_gc_link *l = mimalloc_alloc(n + sizeof *l, GH__FAMILY_RAW);
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
    struct gh_gc_link *l = mimalloc_alloc(n + sizeof *l, GH__FAMILY_RAW);
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

GH_INLINE void mimalloc_attach(void) { counts_attach(); }

GH_INLINE void mimalloc_detach(void)
{
    struct gh_heap *h = counts_heap;
    gh_assert(h != NULL);
    /* The drain changes the heap's collector list, which a collector may
     * be walking with the world stopped: attach for it, as alloc=thread
     * does. */
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
}
