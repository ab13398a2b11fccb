/* arena.c - 1 MiB arenas: mapping, carving pools, returning them to the OS.
 *
 * An arena is mmap'ed as 2 MiB and trimmed to the 1 MiB-aligned MiB inside
 * it, so all 64 pools are POOL_SIZE-aligned (CPython instead loses the first
 * partial pool of an unaligned arena). Pools are carved lazily from the
 * arena's high-water mark; a pool that empties goes back on the arena's
 * freepools list. Each heap keeps its arenas with a free pool on `usable`,
 * sorted by nfreepools ascending, and takes new pools from the head (the
 * fullest arena), like CPython's usable_arenas since 3.8.
 *
 * Returning memory: when every pool of an arena is free again the arena is
 * munmap'ed, unless it is the heap's only arena, which is kept as a spare so
 * that a heap that repeatedly allocates and frees a few blocks does not mmap
 * and munmap on every round (CPython keeps its last usable arena for the
 * same reason). The spare is counted in arenas_live; it is released at
 * gh_alloc_thread_detach (alloc=thread) and gh_alloc_fini.
 *
 * Everything here runs under the heap's exclusion (mutex, GIL or owner
 * thread). See docs/alloc.md.
 */
#define GH_BUILD_ALLOC
#include "alloc/alloc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "base/die.h" // gh_die, gh_assert

// ---------------------------------------------------------------------------
// The usable list (sorted by nfreepools ascending)

static void usable_unlink(struct gh_heap *h, struct gh_arena *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        h->usable = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->next = a->prev = NULL;
}

/* Inserts a (not on the list) before the first arena with more free pools. */
static void usable_insert(struct gh_heap *h, struct gh_arena *a)
{
    struct gh_arena *prev = NULL, *cur = h->usable;
    while (cur && cur->nfreepools <= a->nfreepools) {
        prev = cur;
        cur = cur->next;
    }
    a->prev = prev;
    a->next = cur;
    if (prev)
        prev->next = a;
    else
        h->usable = a;
    if (cur)
        cur->prev = a;
}

/* a->nfreepools grew by one: move it forward past arenas now fuller. */
static void usable_resort(struct gh_heap *h, struct gh_arena *a)
{
    if (a->next == NULL || a->next->nfreepools >= a->nfreepools)
        return;
    usable_unlink(h, a);
    usable_insert(h, a);
}

// ---------------------------------------------------------------------------
// Mapping

static uintptr_t arena_map(void)
{
    size_t len = 2 * (size_t)GH_ALLOC_ARENA_SIZE;
    char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        gh_die(errno, "mmap arena");
    uintptr_t start = ((uintptr_t)raw + GH_ALLOC_ARENA_SIZE - 1) &
                      ~(uintptr_t)(GH_ALLOC_ARENA_SIZE - 1);
    size_t head = start - (uintptr_t)raw;
    size_t tail = len - head - GH_ALLOC_ARENA_SIZE;
    if (head && munmap(raw, head) != 0)
        gh_die(errno, "munmap arena head");
    if (tail && munmap((char *)start + GH_ALLOC_ARENA_SIZE, tail) != 0)
        gh_die(errno, "munmap arena tail");
    return start;
}

static GH_NOINLINE struct gh_arena *arena_new_slow(struct gh_heap *h)
{
    struct gh_arena *a = calloc(1, sizeof *a);
    if (!a)
        gh_die(ENOMEM, "arena descriptor");
    a->base = arena_map();
    a->nfreepools = GH_ALLOC_POOLS_PER_ARENA;
    a->all_next = h->arenas;
    if (h->arenas)
        h->arenas->all_prev = a;
    h->arenas = a;
    usable_insert(h, a);
    gh__ctr_add(&h->c.arenas_live, 1);
    gh__ctr_add(&h->c.arenas_allocated, 1);
    gh__ctr_max(&h->c.arenas_peak, h->c.arenas_live);
    return a;
}

/* Unmaps a, which is off the usable list or still on it (removed here).
 * Pools still in use in it are abandoned: they leave pools_live. */
static void arena_free(struct gh_heap *h, struct gh_arena *a)
{
    if (a->nfreepools > 0)
        usable_unlink(h, a);
    if (a->all_prev)
        a->all_prev->all_next = a->all_next;
    else
        h->arenas = a->all_next;
    if (a->all_next)
        a->all_next->all_prev = a->all_prev;
    gh__ctr_sub(&h->c.pools_live, GH_ALLOC_POOLS_PER_ARENA - a->nfreepools);
    if (munmap((void *)a->base, GH_ALLOC_ARENA_SIZE) != 0)
        gh_die(errno, "munmap arena");
    free(a);
    gh__ctr_sub(&h->c.arenas_live, 1);
    gh__ctr_add(&h->c.arenas_freed, 1);
}

// ---------------------------------------------------------------------------
// Pools

/* Returns an uninitialised pool (its `arena` field set), mapping a new arena
 * if no arena of h has a free pool. Counts nothing but arenas. */
struct gh_pool *gh__arena_pool_take(struct gh_heap *h)
{
    struct gh_arena *a = h->usable;
    if (a == NULL)
        a = arena_new_slow(h);
    gh_assert(a->nfreepools > 0);

    struct gh_pool *p = a->freepools;
    if (p) {
        a->freepools = p->next;
    } else {
        gh_assert(a->ncarved < GH_ALLOC_POOLS_PER_ARENA);
        p = (struct gh_pool *)(a->base + (uintptr_t)a->ncarved * GH_ALLOC_POOL_SIZE);
        a->ncarved++;
        p->arena = a;
    }
    /* The head has the fewest free pools; one fewer keeps it first. */
    if (--a->nfreepools == 0)
        usable_unlink(h, a);
    return p;
}

/* p (nused == 0, off every used list) goes back to its arena. */
void gh__arena_pool_give(struct gh_heap *h, struct gh_pool *p)
{
    struct gh_arena *a = p->arena;
    p->next = a->freepools;
    a->freepools = p;
    a->nfreepools++;
    if (a->nfreepools == 1) {
        usable_insert(h, a); /* was full */
    } else if (a->nfreepools == GH_ALLOC_POOLS_PER_ARENA &&
               gh_atomic_load_relaxed_u64(&h->c.arenas_live) > 1) {
        arena_free(h, a);    /* empty, and not the heap's last arena */
    } else {
        usable_resort(h, a);
    }
}

/* Unmaps every arena of h whose pools are all free (the spare). */
void gh__arena_release_empty(struct gh_heap *h)
{
    struct gh_arena *a = h->arenas;
    while (a) {
        struct gh_arena *next = a->all_next;
        if (a->nfreepools == GH_ALLOC_POOLS_PER_ARENA)
            arena_free(h, a);
        a = next;
    }
}

/* Unmaps every arena of h; blocks still live in them are abandoned. */
void gh__arena_release_all(struct gh_heap *h)
{
    while (h->arenas)
        arena_free(h, h->arenas);
    for (unsigned i = 0; i < GH__NCLASSES_ALL; i++)
        h->used[i] = NULL;
}
