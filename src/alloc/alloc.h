/* alloc.h - the model's memory allocators (the `alloc` axis).
 *
 *   arena   the obmalloc model: requests of 1..512 bytes are served from
 *           16-byte size classes in 16 KiB pools carved from 1 MiB arenas
 *           (mmap'ed, returned to the OS when every pool in them is empty);
 *           larger requests go to malloc. One heap for the process: under
 *           the GIL it needs no lock of its own; without one (locked=true)
 *           a gh_mutex of lock class `alloc` guards it.
 *   thread  the mimalloc model: one such heap per thread; a block freed by
 *           another thread is handed back to its owner heap through a
 *           lock-free list the owner drains on its next allocation.
 *   malloc  the C library's allocator.
 *   mimalloc  the mimalloc library (libmimalloc, 2.0), as free-threaded
 *           CPython uses it: every request goes to mi_malloc, which serves
 *           it from the calling thread's heap; mimalloc itself hands a
 *           block freed by another thread back to its owner.
 *
 * Facts: docs/alloc.md.
 * Layer: alloc (includes base only).
 */
#ifndef GH_ALLOC_ALLOC_H
#define GH_ALLOC_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

enum gh_alloc_kind { GH_ALLOC_ARENA, GH_ALLOC_THREAD, GH_ALLOC_MALLOC, GH_ALLOC_MIMALLOC };

#define GH_ALLOC_SMALL_MAX   512u          /* SMALL_REQUEST_THRESHOLD */
#define GH_ALLOC_ALIGN       16u           /* size-class step */
#define GH_ALLOC_POOL_SIZE   (16u * 1024u) /* POOL_SIZE */
#define GH_ALLOC_ARENA_SIZE  (1024u * 1024u) /* ARENA_SIZE */

struct gh_alloc_stats {
    uint64_t live_bytes;      /* requested bytes not yet freed */
    uint64_t peak_bytes;      /* high-water mark of live_bytes (see docs/alloc.md
                                 for how it is kept without a shared counter) */
    uint64_t allocs, frees;   /* calls */
    uint64_t large_allocs;    /* requests above GH_ALLOC_SMALL_MAX (malloc; mimalloc's
                                 own under alloc=mimalloc) */
    uint64_t arenas_live, arenas_peak, arenas_allocated, arenas_freed;
    uint64_t pools_live, pools_peak;
    uint64_t cross_thread_frees; /* alloc=thread: frees handed back to the owner;
                                    alloc=mimalloc: collector blocks handed back */
};

/* Sets up the allocator for a run. locked only matters for arena. Returns 0,
 * or -EINVAL for an unknown kind. Called once, before any allocation, from
 * one thread. */
int gh_alloc_init(enum gh_alloc_kind kind, bool locked);
/* Releases every arena and heap. All blocks must have been freed, or are
 * abandoned (counted as live). Called after every other thread has ended. */
void gh_alloc_fini(void);

/* Each thread that allocates calls attach once before its first allocation
 * and detach when it is done (the thread's tstate must be bound: alloc=thread
 * keeps the heap in tstate->heap). Blocks outlive their thread: a detached
 * heap stays until gh_alloc_fini, and frees into it still work. */
void gh_alloc_thread_attach(void);
void gh_alloc_thread_detach(void);

/* alloc=thread (set by gh_alloc_init; read-only while threads run): a pool
 * that empties while its thread is online under QSBR stays a pool of its
 * size class until a grace period has passed (docs/alloc.md, "Type-stable
 * pools"), so memory of a small block stays a block of the same size
 * class, at the same place, for as long as a lock-free reader may hold a
 * pointer into it. */
extern bool gh__alloc_pools_held;
/* Whether a block of n bytes (gh_alloc or gh_alloc_gc) is type-stable in
 * that sense: alloc=thread and a small request. Larger blocks (malloc)
 * and every block of the other kinds may be reused for anything, or
 * unmapped, as soon as they are freed. */
GH_INLINE bool gh_alloc_type_stable(size_t n)
{
    return gh__alloc_pools_held && n - 1 < GH_ALLOC_SMALL_MAX;
}

/* n > 0. Returns 16-byte aligned memory, or aborts when the OS refuses. */
void *gh_alloc(size_t n);
/* p from gh_alloc or gh_alloc_obj with the same n. */
void gh_free(void *p, size_t n);
/* Memory for an object the collector need not find (gh_alloc_gc's are the
 * others): small requests come from pools that hold only such objects, so
 * under alloc=thread and alloc=arena a block that held an object holds an
 * object again, never raw memory (an item array, a table). Free with
 * gh_free. */
void *gh_alloc_obj(size_t n);

/* Memory for an object the cyclic collector may have to find without a
 * list (the full layout: free-threaded CPython walks its GC heaps). Small
 * requests come from pools that hold nothing else; larger ones, and every
 * request under alloc=malloc (glibc's heap cannot be walked), carry a
 * 16-byte link on one locked list; under alloc=mimalloc every one carries
 * a 32-byte link on its allocating thread's list (docs/alloc.md). Links are
 * counted in the allocator's bytes. Free with gh_free_gc and the same n. */
void *gh_alloc_gc(size_t n);
void gh_free_gc(void *p, size_t n);
/* Calls fn(block, arg) for every block gh_alloc_gc may have handed out and
 * not yet reused for something else: each live one, and free ones whose
 * first 16 bytes the caller's protocol makes recognisable (bytes 8..15 of
 * a never-allocated pool block are zero; the object layer zeroes its
 * collector bits before freeing). Only while no other thread allocates or
 * frees (the world stopped, or one thread). */
void gh_alloc_visit_gc(void (*fn)(void *block, void *arg), void *arg);
/* The same, a run at a time: fn(first, n, size, arg) for n blocks of
 * `size` bytes from `first` (a pool's carved blocks; a large block is a run
 * of one). For walkers that loop over blocks themselves. */
void gh_alloc_visit_gc_runs(void (*fn)(char *first, size_t n, size_t size, void *arg), void *arg);

/* Sums the counters of every heap. Exact when no thread is allocating. */
void gh_alloc_stats_get(struct gh_alloc_stats *out);

#endif
