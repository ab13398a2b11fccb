/* kind_malloc.h - alloc=malloc: every block from the C library's malloc;
 * this layer only counts, in the calling thread's counters-only heap
 * (counts_heap) or the orphan set. Its complete set: malloc_alloc,
 * malloc_free, malloc_alloc_gc, malloc_free_gc, malloc_attach,
 * malloc_detach.
 *
 * Included by alloc.c only.
 *
 * Layer: alloc.
 */
#ifndef GH_BUILD_ALLOC
#error "alloc/kind_malloc.h is private to alloc.c"
#endif

GH_INLINE void *malloc_alloc(size_t n, unsigned family)
{
    (void)family;
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

/* A collector block: malloc's heap cannot be walked, so every one goes on
 * the large list. */
GH_INLINE void *malloc_alloc_gc(size_t n)
{
    return gc_large_link(malloc_alloc(n + sizeof(struct gc_large), GH__FAMILY_RAW));
}

GH_INLINE void malloc_free_gc(void *p, size_t n)
{
    malloc_free(gc_large_unlink(p), n + sizeof(struct gc_large));
}

GH_INLINE void malloc_attach(void) { counts_attach(); }

GH_INLINE void malloc_detach(void)
{
    gh_assert(counts_heap != NULL);
    gh__alloc_sample_peaks();
    counts_heap = NULL;
}
