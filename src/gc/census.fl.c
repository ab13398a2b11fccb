/* census.fl.c - the checked mode's census (census.h). Flavoured: it reads
 * counts the flavour's way (gh_refcnt) and stops the world or takes the
 * GIL as the flavour does. Not on any measured path: only the checked
 * mode's runner calls it, from the main thread. */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/die.h"
#include "gc/census.h"
#include "gc/gc.h"

/* gil-ticks: how long the census waits for the GIL before it gives up
 * (the run's end must not wait for a census). */
#define CENSUS_GIL_WAIT_NS UINT64_C(50000000)

/* One object met: the strong references found to it. Open addressing on
 * the address; the table and the stack are the C heap's, not the model's
 * allocator's (the census must not change what the run measures). */
struct centry {
    gh_object *o;
    int64_t refs;
};

struct census {
    struct centry *tab;
    size_t cap, n;       /* cap: a power of two; n: entries used */
    gh_object **stack;   /* met, not traversed yet */
    size_t sn, scap;
};

/* sync=none: a torn slot may hold what is no object pointer at all (the
 * collector's heuristic, collect.fl.c): objects are 16-byte aligned, above
 * the first pages. Anything that passes and is still no object faults,
 * and the run's fault net catches it. */
#if defined(GH_FL_SYNC_NONE)
#define CENSUS_PLAUSIBLE(p) \
    ((p) && ((uintptr_t)(p) & 15u) == 0 && (uintptr_t)(p) >= ((uintptr_t)1 << 16))
#else
#define CENSUS_PLAUSIBLE(p) ((p) != NULL)
#endif

static size_t slot_of(const struct census *c, gh_object *o)
{
    uint64_t h = (uint64_t)(uintptr_t)o * UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(h >> 17) & (c->cap - 1);
}

static void grow(struct census *c)
{
    size_t ocap = c->cap;
    struct centry *old = c->tab;
    c->cap = ocap ? ocap * 2 : 4096;
    c->tab = calloc(c->cap, sizeof *c->tab);
    gh_assert(c->tab);
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].o)
            continue;
        size_t j = slot_of(c, old[i].o);
        while (c->tab[j].o)
            j = (j + 1) & (c->cap - 1);
        c->tab[j] = old[i];
    }
    free(old);
}

static void push(struct census *c, gh_object *o)
{
    if (c->sn == c->scap) {
        c->scap = c->scap ? c->scap * 2 : 1024;
        c->stack = realloc(c->stack, c->scap * sizeof *c->stack);
        gh_assert(c->stack);
    }
    c->stack[c->sn++] = o;
}

/* o's entry, made (and o pushed for traversal) on first meeting. */
static struct centry *meet(struct census *c, gh_object *o)
{
    if (2 * (c->n + 1) > c->cap)
        grow(c);
    size_t j = slot_of(c, o);
    while (c->tab[j].o && c->tab[j].o != o)
        j = (j + 1) & (c->cap - 1);
    if (!c->tab[j].o) {
        c->tab[j] = (struct centry){o, 0};
        c->n++;
        push(c, o);
    }
    return &c->tab[j];
}

#if defined(GH_FL_SYNC_NONE)
/* Drops o from the comparison (its entry stays, as a tombstone). */
static void forget(struct census *c, gh_object *o)
{
    size_t j = slot_of(c, o);
    while (c->tab[j].o != o)
        j = (j + 1) & (c->cap - 1);
    c->tab[j].refs = INT64_MIN;
}
#endif

/* A strong reference to ref. Does not read *ref (roots are visited under
 * locks a fault must not leave held). */
static void visit_ref(gh_object *ref, void *arg)
{
    if (!CENSUS_PLAUSIBLE(ref))
        return;
    meet(arg, ref)->refs++;
}

static void visit_tracked(gh_object *o, void *arg) { (void)meet(arg, o); }

/* Every strong reference o holds. tp_traverse, except an instance's: its
 * traverse leaves out the attribute names (CPython's does; they are the
 * class's shared keys there), but here each block holds a counted
 * reference to each name (model.fl.c, attrs_release). */
static void references_of(gh_object *o, struct census *c)
{
    if (o->ob_type->kind == GH_KIND_INSTANCE) {
        struct gh_attrs *a = ((struct gh_instance *)(void *)o)->attrs;
        visit_ref(&gh_class_of(o)->ob, c);
        if (a)
            for (uint32_t i = 0; i < a->used; i++) {
                visit_ref(a->items[i].name, c);
                visit_ref(a->items[i].value, c);
            }
        return;
    }
    if (o->ob_type->tp_traverse)
        o->ob_type->tp_traverse(o, visit_ref, c);
}

/* The census's state lives here, not on the stack, so a fault's jump back
 * to gh_census_run can free it. One census at a time (the main thread's). */
static struct census cur;

static void census_free(struct census *c)
{
    free(c->tab);
    free(c->stack);
    *c = (struct census){0};
}

void GH_FL(gh_census_walk)(const struct gh_census_roots *roots, struct gh_census_stats *st)
{
    struct census *c = &cur;
    census_free(c);
    if (roots && roots->visit)
        roots->visit(visit_ref, c, roots->arg);
    gh_model_visit_roots(visit_ref, c);
    gh_gc_visit_roots(visit_ref, c);
#if defined(GH_FL_RC_BIASED)
    gh_brc_visit_queues(visit_ref, c);
#endif
    gh_gc_visit_tracked(visit_tracked, c);

    while (c->sn) {
        gh_object *o = c->stack[--c->sn];
#if defined(GH_FL_SYNC_NONE)
        if (!gh_type_is_known(o)) { /* a torn slot's stale bits: no object */
            forget(c, o);
            continue;
        }
#endif
        if (gh_is_freed(o))
            continue; /* reported below, if referenced; holds nothing now */
        references_of(o, c);
    }

    for (size_t i = 0; i < c->cap; i++) {
        gh_object *o = c->tab[i].o;
        if (!o)
            continue;
        int64_t refs = c->tab[i].refs;
        if (refs < 0)
            continue; /* forgotten: not an object */
        if (gh_is_freed(o)) {
            if (refs) { /* a reference to a freed object: it was freed early */
                st->freed++;
                gh_hazard_note_census(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(o),
                                      -1, refs);
            }
            continue;
        }
        uint64_t rc = gh_refcnt_counted(o); /* a deferred object's bias is no reference */
        if (gh_refcnt_is_immortal(rc))
            continue;
        st->objects++;
        int64_t count = (int64_t)rc;
        if (count < refs) {
            st->low++;
            gh_hazard_note_census(GH_HAZARD_REFCNT_LOW, gh_kind_name(o->ob_type->kind), count,
                                  refs);
        } else if (count > refs) {
            st->high++;
            gh_hazard_note_census(GH_HAZARD_REFCNT_HIGH, gh_kind_name(o->ob_type->kind), count,
                                  refs);
        }
    }
    census_free(c);
    st->taken++;
}

bool GH_FL(gh_census_run)(struct gh_tstate *ts, const struct gh_census_roots *roots,
                          struct gh_census_stats *st)
{
    uint64_t t0 = gh_now_ns();
    if (!gh_gc_census_begin(ts, CENSUS_GIL_WAIT_NS)) {
        st->skipped++; /* the GIL never came (gil-ticks' convoy) */
        st->ns += gh_now_ns() - t0;
        return false;
    }
    volatile bool taken = false;
    void *volatile saved = ts->fault_jmp;
    sigjmp_buf jb;
    if (sigsetjmp(jb, 0)) {
        /* A fault in the walk: the heap is corrupt beyond what the census
         * can follow (an unprotected strategy). The world restarts. */
        gh_hazard_note(GH_HAZARD_FAULT, NULL);
        st->faults++;
        census_free(&cur);
        ts->c_recursion = 0;
    } else {
        ts->fault_jmp = &jb;
        if (!roots->quiescent || roots->quiescent(roots->arg)) {
            gh_census_walk(roots, st);
            taken = true;
        } else {
            st->skipped++;
        }
    }
    ts->fault_jmp = saved;
    gh_gc_census_end(ts);
    st->ns += gh_now_ns() - t0;
    return taken;
}
