/* collect.fl.c - the collection (see gc.h and docs/gc.md).
 *
 * One algorithm for both layouts; only where an object's scratch lives
 * differs (gc/scratch.h).
 *
 * The candidates are gathered into an array (compact: from the generation
 * lists, which are rebuilt from the survivors afterwards; full: by walking
 * the allocator's collector pools, as free-threaded CPython walks its
 * mimalloc heaps). Reachability is propagated with an explicit stack
 * (gc_free_threading.c's approach) rather than CPython's list moves.
 * Garbage is held by one counted reference from the moment it is found
 * until the end, as free-threaded CPython does, so no finalizer or callback
 * can free an object the collector still looks at.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/die.h"
#include "base/inject.h"
#include "base/probes.h"
#include "base/stw.h"
#include "base/timeline.h"
#include "gc/gc.h"
#include "gc/census.h"
#include "gc/gc_internal.h"
#include "gc/collect_internal.h"
#include "gc/scratch.h"

#if defined(GH_FL_NO_GIL)
#include <pthread.h>
/* One collection at a time (also gc.get_objects & co., which stop the
 * world). Waited for detached: a waiter counts as stopped. */
static pthread_mutex_t collect_mutex = PTHREAD_MUTEX_INITIALIZER;
#endif

/* ---- the work arrays (collect_internal.h) ---------------------------------------- */

GH_NOINLINE void GH_FL(gh_gc_objvec_grow)(struct objvec *a)
{
    size_t cap = a->cap ? 2 * a->cap : 1024;
    gh_object **v = realloc(a->v, cap * sizeof *v);
    if (!v)
        gh_die(12 /* ENOMEM */, "collector work array");
    a->v = v;
    a->cap = cap;
}

void GH_FL(gh_gc_objvec_free)(struct objvec *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* ---- trial deletion ------------------------------------------------------------------ */

/* These visitors also serve gc=nostop's passes and tp_traverse under it:
 * they skip what cannot be an object pointer (see REF_PLAUSIBLE_ANY). */
static void visit_decref(gh_object *ref, void *arg)
{
    (void)arg;
    if (REF_PLAUSIBLE_ANY(ref) && in_set(ref))
        refs_set(ref, refs_get(ref) - 1);
}

/* A frame's uncounted reference to a deferred object (deferred=on): one
 * more reference from outside the set (gc_free_threading.c's
 * gc_visit_thread_stacks). */
static void visit_root(gh_object *ref, void *arg)
{
    (void)arg;
    if (in_set(ref))
        refs_set(ref, refs_get(ref) + 1);
}

static void visit_reach(gh_object *ref, void *arg)
{
    if (REF_PLAUSIBLE_ANY(ref) && in_set(ref) && refs_get(ref) <= 0) {
        refs_set(ref, REFS_REACHED);
        objvec_push((struct objvec *)arg, ref);
    }
}

/* Every object of `set` (all in the set, gc_refs = their counts minus
 * `held`) ends with gc_refs > 0 iff it is reachable from outside the set. */
static void deduce_reachable(struct objvec *set, struct objvec *stack)
{
    for (size_t i = 0; i < set->n; i++)
        traverse(set->v[i], visit_decref, NULL);
    /* Each object is traversed once: a root when the scan meets it (and
     * marked REACHED), or when popped after being reached. */
    for (size_t i = 0; i < set->n; i++) {
        gh_object *o = set->v[i];
        int64_t r = refs_get(o);
        if (r <= 0 || r == REFS_REACHED)
            continue;
        refs_set(o, REFS_REACHED);
        traverse(o, visit_reach, stack);
        while (stack->n)
            traverse(stack->v[--stack->n], visit_reach, stack);
    }
}

/* ---- untracking what cannot be part of a cycle ----------------------------------------- */

struct atomic_scan {
    bool all_atomic;
};

static void visit_atomic(gh_object *ref, void *arg)
{
    if (REF_PLAUSIBLE_ANY(ref) && gh_gc_may_be_tracked(ref))
        ((struct atomic_scan *)arg)->all_atomic = false;
}

/* CPython's _PyTuple_MaybeUntrack and _PyDict_MaybeUntrack: a surviving
 * tuple or dict whose items could never be part of a cycle. */
static bool can_untrack(gh_object *o, bool dicts)
{
    enum gh_kind k = o->ob_type->kind;
    if (k != GH_KIND_TUPLE && !(dicts && k == GH_KIND_DICT))
        return false;
    if (gh_is_deferred(o))
        return false; /* only a collection can free it: it must stay a candidate */
    struct atomic_scan s = {true};
    traverse(o, visit_atomic, &s);
    return s.all_atomic;
}

/* ---- finding the candidates, with their gc_refs ------------------------------------------ */

#if !defined(GH_FL_RC_BIASED)
/* The full layout collects the whole heap: every tracked, unfrozen object
 * is a candidate, and ob_tid is 0 outside a collection. So one pass over
 * the pools does what CPython's update_refs and subtract_refs do in two:
 * each candidate adds its count to its ob_tid and subtracts one from the
 * ob_tid of every candidate it references, visited or not yet. */
GH_INLINE void visit_decref_heap(gh_object *ref, void *arg)
{
    (void)arg;
    if ((*gh_gcbits_ptr(ref) & (GH_GCBIT_TRACKED | GH_GCBIT_FROZEN)) == GH_GCBIT_TRACKED)
        gh_prefix(ref)->ob_tid--;
}

static void gather_run(char *first, size_t n, size_t size, void *arg)
{
    struct objvec *set = arg;
    for (size_t i = 0; i < n; i++) {
        gh_object *o = (gh_object *)(void *)(first + i * size + sizeof(struct gh_obprefix));
        uint8_t *bits = gh_gcbits_ptr(o);
        if ((*bits & (GH_GCBIT_TRACKED | GH_GCBIT_FROZEN)) != GH_GCBIT_TRACKED)
            continue;
        *bits |= GH_GCBIT_UNREACHABLE;
        gh_prefix(o)->ob_tid += (uintptr_t)count_as_refs(o, 0);
        index_set(o, set->n);
        objvec_push(set, o);
        TRAVERSE_INLINE(o, visit_decref_heap, NULL);
    }
}

/* gc=nostop: CPython's update_refs, not fused with the subtraction. The
 * fused pass decrements the scratch of any tracked object it references,
 * which is safe only when every tracked object is then walked; with the
 * mutators running, an object made after its pool was passed would keep
 * the decrement into the next collection. Here only what entered the set
 * is touched (subtract_nostop). */
static void gather_run_nostop(char *first, size_t n, size_t size, void *arg)
{
    struct objvec *set = arg;
    for (size_t i = 0; i < n; i++) {
        gh_object *o = (gh_object *)(void *)(first + i * size + sizeof(struct gh_obprefix));
        uint8_t *bits = gh_gcbits_ptr(o);
        if ((*bits & (GH_GCBIT_TRACKED | GH_GCBIT_FROZEN)) != GH_GCBIT_TRACKED)
            continue;
        *bits |= GH_GCBIT_UNREACHABLE;
        gh_prefix(o)->ob_tid = (uintptr_t)count_as_refs(o, 0);
        index_set(o, set->n);
        objvec_push(set, o);
    }
}

#endif

#if !defined(GH_FL_RC_BIASED)
/* gc=nostop: CPython's subtract_refs over the set, every reference read as
 * possibly torn. Between a candidate's count (gather_run_nostop) and the
 * subtraction of a reference to it here, a mutator may have moved that
 * reference: the error this mode exists to show. */
static void subtract_nostop(struct objvec *set)
{
    for (size_t i = 0; i < set->n; i++)
        TRAVERSE_INLINE_T(set->v[i], visit_decref, NULL, 1);
}
#endif

#if defined(GH_FL_RC_BIASED)
/* rc=biased: ob_tid and ob_ref_local are the owner and its count, not
 * scratch. They are saved here, by set index, while the collection uses
 * them (gc_refs in ob_tid, the index in ob_ref_local), and put back when
 * the object settles (free-threaded CPython re-derives ob_tid from the
 * mimalloc segment instead, gc_restore_tid). Kept between collections as
 * the other work arrays. */
struct brc_saved {
    uintptr_t tid;
    uint32_t local;
};
static struct brc_saved *work_saved;
static size_t work_saved_cap;

static GH_NOINLINE void brc_saved_grow(size_t need)
{
    size_t cap = work_saved_cap ? work_saved_cap : 1024;
    while (cap < need)
        cap *= 2;
    struct brc_saved *v = realloc(work_saved, cap * sizeof *v);
    gh_assert(v != NULL);
    work_saved = v;
    work_saved_cap = cap;
}

GH_INLINE void brc_restore(gh_object *o, size_t idx)
{
    gh_prefix(o)->ob_tid = work_saved[idx].tid;
    gh_prefix(o)->ob_ref_local = work_saved[idx].local;
}

/* The heap walk: every tracked, unfrozen, mortal object enters the set
 * with gc_refs = its true count (local + shared). Immortal objects stay
 * out (they are roots; what they reference is reachable), so their
 * immortal marker in ob_ref_local is never touched. Not fused with the
 * subtraction: a referent met before the walk has its owner in ob_tid. */
static void gather_run_biased(char *first, size_t n, size_t size, void *arg)
{
    struct objvec *set = arg;
    for (size_t i = 0; i < n; i++) {
        gh_object *o = (gh_object *)(void *)(first + i * size + sizeof(struct gh_obprefix));
        uint8_t *bits = gh_gcbits_ptr(o);
        if ((*bits & (GH_GCBIT_TRACKED | GH_GCBIT_FROZEN)) != GH_GCBIT_TRACKED)
            continue;
        uint64_t c = gh_refcnt_counted(o); /* gh_brc_refcnt, less a deferred bias */
        if (gh_refcnt_is_immortal(c))
            continue;
        if (GH_UNLIKELY(set->n >= work_saved_cap))
            brc_saved_grow(set->n + 1);
        struct gh_obprefix *p = gh_prefix(o);
        work_saved[set->n] = (struct brc_saved){p->ob_tid, p->ob_ref_local};
        *bits |= GH_GCBIT_UNREACHABLE;
        p->ob_tid = (uintptr_t)c;
        p->ob_ref_local = (uint32_t)set->n;
        objvec_push(set, o);
    }
}

/* Objects the merge queues held: merged with the world stopped, released
 * after it restarts (gh_brc_merge_all_stopped). */
static void hold_queued(gh_object *o, void *arg) { objvec_push((struct objvec *)arg, o); }
#endif

/* The compact layout, a full collection with nothing frozen: every tracked
 * object is a candidate, so the same fusion works on the list: a referent
 * not reached by the walk yet is entered into the set on the spot (its
 * gc_prev becomes scratch; the walk follows gc_next only). */
GH_INLINE void visit_decref_list_all(gh_object *ref, void *arg)
{
    (void)arg;
    if (!gh_is_gc(ref))
        return;
    struct gh_gchead *g = gh_gchead(ref);
    if (g->gc_next == 0)
        return; /* untracked */
    if (g->gc_prev & GH_GC_PREV_COLLECTING)
        g->gc_prev -= (uintptr_t)1 << GH_GC_PREV_SHIFT;
    else
        set_enter(ref, count_as_refs(ref, 0) - 1);
}

/* The compact layout: the list `head` into the set (gc_prev becomes
 * scratch: the list is rebuilt from the survivors). `all`: every tracked
 * object is in the list (see above); otherwise a second pass subtracts. */
static void gather_list(struct gh_gchead *head, struct objvec *set, bool all)
{
    struct gh_gchead *next;
    for (struct gh_gchead *g = (struct gh_gchead *)head->gc_next; g != head; g = next) {
        next = (struct gh_gchead *)g->gc_next;
        gh_object *o = gh_gchead_object(g);
        if (!(g->gc_prev & GH_GC_PREV_COLLECTING))
            set_enter(o, count_as_refs(o, 0));
        index_set(o, set->n);
        objvec_push(set, o);
        if (all)
            TRAVERSE_INLINE(o, visit_decref_list_all, NULL);
    }
    gh_gclist_init(head);
    if (!all)
        for (size_t i = 0; i < set->n; i++)
            traverse(set->v[i], visit_decref, NULL);
}

/* ---- separating the reachable ---------------------------------------------------------------- */

/* Settling a reachable candidate: it leaves the set and is relinked into
 * the generation it is promoted to (compact), or untracked when it cannot
 * be part of a cycle. */
static void retrack_into(gh_object *o, struct gh_gchead *to);

/* set_leave then retrack_into in one step, for the survivors: full, the
 * TRACKED bit is never cleared. */
GH_INLINE void settle_keep(gh_object *o, struct gh_gchead *to)
{
    if (gh_model.full_header) {
        *gh_gcbits_ptr(o) &= (uint8_t)~GH_GCBIT_UNREACHABLE;
#if !defined(GH_FL_RC_BIASED) /* brc_restore put the owner's fields back */
        gh_prefix(o)->ob_tid = 0;
        gh_prefix(o)->ob_ref_local = 0;
#endif
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    g->gc_prev &= GH_GC_PREV_FINALIZED;
    gh_gclist_append(to, g);
}

struct settle {
    struct objvec *set;
    struct objvec *stack;
    struct gh_gchead *to;     /* compact: the survivors' list */
    bool dicts;               /* untrack dicts of atomic objects too */
    bool nostop;              /* gc=nostop: the *_any passes */
    int depth;
    int64_t survivors;
};

/* How deep settling recurses before it defers to the stack: deep enough
 * that what a reachable object references is settled while that object is
 * still in cache, shallow enough for any C stack. */
#define SETTLE_MAX_DEPTH 32

GH_INLINE void settle_leave(gh_object *o, struct settle *x)
{
    size_t idx = index_get(o);
    x->set->v[idx] = NULL; /* the scan skips it without a look */
#if defined(GH_FL_RC_BIASED)
    brc_restore(o, idx);
#endif
    enum gh_kind k = o->ob_type->kind;
    if (GH_UNLIKELY(k == GH_KIND_TUPLE || k == GH_KIND_DICT) && can_untrack(o, x->dicts)) {
        set_leave(o);
        if (k == GH_KIND_TUPLE)
            gh_gc_stats.untracked_tuples++;
        else
            gh_gc_stats.untracked_dicts++;
        return;
    }
    settle_keep(o, x->to);
    x->survivors++;
}

static void settle_from(gh_object *o, struct settle *x);

GH_INLINE void visit_settle(gh_object *ref, void *arg)
{
    struct settle *x = arg;
    if (!in_set(ref))
        return;
    settle_leave(ref, x);
    if (references_nothing(ref))
        return; /* skip the call: it would find nothing to settle */
    if (x->depth < SETTLE_MAX_DEPTH) {
        x->depth++;
        settle_from(ref, x);
        x->depth--;
    } else {
        objvec_push(x->stack, ref);
    }
}

/* Settles what o references (o already settled). */
static void settle_from(gh_object *o, struct settle *x)
{
    TRAVERSE_INLINE(o, visit_settle, x);
}

static void settle_from_any(gh_object *o, struct settle *x);

/* gc=nostop: visit_settle for references that may be torn, to objects
 * that may have been freed (their block poisoned, or even reused) since
 * they entered the set: only a candidate whose slot in the set still
 * names it is settled, so a stale index never writes outside the array. */
static void visit_settle_any(gh_object *ref, void *arg)
{
    struct settle *x = arg;
    if (!REF_PLAUSIBLE_ANY(ref) || !in_set(ref))
        return;
    size_t idx = index_get(ref);
    if (idx >= x->set->n || x->set->v[idx] != ref)
        return;
    settle_leave(ref, x);
    if (references_nothing(ref))
        return;
    if (x->depth < SETTLE_MAX_DEPTH) {
        x->depth++;
        settle_from_any(ref, x);
        x->depth--;
    } else {
        objvec_push(x->stack, ref);
    }
}

static void settle_from_any(gh_object *o, struct settle *x)
{
    TRAVERSE_INLINE_T(o, visit_settle_any, x, 1);
}

/* The scan, in the set's order: a candidate referenced from outside the
 * set (gc_refs > 0) is reachable: it and everything it reaches in the set
 * are settled at once, depth first (free-threaded CPython's mark_reachable,
 * with CPython's list moves replaced by settling in place); a settled
 * candidate's slot is cleared. One the scan passes at gc_refs <= 0 stays,
 * tentatively unreachable, until something settled later references it.
 * The slots still set after the scan are the garbage. */
static void settle_reachable(struct objvec *set, struct settle *x)
{
    for (size_t i = 0; i < set->n; i++) {
        gh_object *o = set->v[i];
        if (!o || refs_get(o) <= 0)
            continue; /* settled through a referrer, or tentative */
        if (x->nostop) {
            if (!in_set(o))
                continue; /* freed under the scan: find_garbage counts it */
            settle_leave(o, x);
            settle_from_any(o, x);
            while (x->stack->n)
                settle_from_any(x->stack->v[--x->stack->n], x);
            continue;
        }
        settle_leave(o, x);
        settle_from(o, x);
        while (x->stack->n)
            settle_from(x->stack->v[--x->stack->n], x);
    }
}

/* ---- the collection ----------------------------------------------------------------------- */

/* The work arrays live from one collection to the next (one collection
 * runs at a time): a collection of a million objects would otherwise fault
 * in fresh pages for them every time. Released by gh_gc_fini. */
static struct objvec work_set, work_stack, work_garbage, work_legacy, work_callbacks,
    work_queued;

struct collection {
    struct gh_tstate *ts;
    int generation;
    struct objvec *set, *stack, *garbage, *legacy, *callbacks;
    struct objvec *queued;    /* rc=biased: what the merge queues held */
    int64_t survivors;
    bool nostop;              /* gc=nostop: the world is never stopped */
    bool shutdown;            /* the last collection (gh_gc_fini): deferral ends */
    enum { NOSTOP_IDLE, NOSTOP_GATHER, NOSTOP_HELD, NOSTOP_CLEARING } stage;
    /* What the garbage needs beyond tp_clear: each pass runs only if so. */
    bool any_legacy, any_weak, any_del;
};

static bool has_legacy_finalizer(gh_object *o)
{
    return gh_kind_is_instance(o->ob_type->kind) && gh_class_of(o)->legacy_del;
}

static bool has_finalizer(gh_object *o)
{
    return gh_kind_is_instance(o->ob_type->kind) && gh_class_of(o)->del;
}

/* The generation list survivors and resurrected objects join (compact). */
static struct gh_gchead *older_list(int generation)
{
    int g = generation + 1 < GH_GC_NGENS ? generation + 1 : GH_GC_NGENS - 1;
    return &gh_gcstate.gens[g].head;
}

/* o has left the set (set_leave). compact: appended to `to`. */
static void retrack_into(gh_object *o, struct gh_gchead *to)
{
    if (gh_model.full_header)
        *gh_gcbits_ptr(o) |= GH_GCBIT_TRACKED;
    else if (gh_gchead(o)->gc_next == 0) /* a finalizer may have tracked it */
        gh_gclist_append(to, gh_gchead(o));
}

static void retrack(gh_object *o, int generation)
{
    retrack_into(o, gh_model.full_header ? NULL : older_list(generation));
}

/* A live weak reference to garbage: its callback will run. (A weak
 * reference that is itself garbage was unlinked by gh_weakref_clear_ref
 * before, so it is never found here: no callback, CPython's rule.) */
static void queue_callback(gh_object *wr, void *arg)
{
    objvec_push(((struct collection *)arg)->callbacks, wr);
}

/* A weak reference a finalizer made to garbage: dropped without its
 * callback. */
static void drop_weakref(gh_object *wr, void *arg)
{
    (void)arg;
    gh_decref(wr);
}

/* Pause 1 (or, under the GIL, the first part): trial deletion, survivors
 * settled, garbage held and set apart from what legacy finalizers keep,
 * weak references to the garbage cleared. Frees nothing, locks no object. */
static void find_garbage(struct collection *c)
{
    const bool full = gh_model.full_header;
    const bool nostop = c->nostop;
    const bool dicts = gh_gcstate.mode != GH_GC_GENERATIONAL || c->generation == GH_GC_NGENS - 1;
    struct objvec *set = c->set;

    if (nostop) {
        /* Refused with rc=biased and header=compact (strategy.c). */
#if !defined(GH_FL_RC_BIASED)
        c->stage = NOSTOP_GATHER;
        gh_alloc_visit_gc_runs(gather_run_nostop, set);
        subtract_nostop(set);
        if (gh__gc_scan_hook.fn)
            gh__gc_scan_hook.fn(gh__gc_scan_hook.arg);
#endif
    } else if (full) {
#if defined(GH_FL_RC_BIASED)
        /* Every queue merged first, so each count is whole (free-threaded
         * CPython's merge_queued_objects). */
        gh_brc_merge_all_stopped(hold_queued, c->queued);
        gh_alloc_visit_gc_runs(gather_run_biased, set);
        for (size_t i = 0; i < set->n; i++)
            TRAVERSE_INLINE(set->v[i], visit_decref, NULL);
#else
        gh_alloc_visit_gc_runs(gather_run, set);
#endif
        /* The frames' uncounted references are roots (deferred=on). */
        if (gh_model.deferred)
            gh__gc_visit_roots(visit_root, NULL);
    } else {
        for (int i = 0; i < c->generation; i++)
            gh_gclist_merge(&gh_gcstate.gens[i].head, &gh_gcstate.gens[c->generation].head);
        bool all = c->generation == GH_GC_NGENS - 1 && gh_gclist_empty(&gh_gcstate.permanent);
        gather_list(&gh_gcstate.gens[c->generation].head, set, all);
    }
    /* Counts copied and subtracted; the reachable not yet settled. */
    GH_INJECT(GC_PHASE);
    gh_gc_stats.examined += set->n;

    struct settle x = {.set = set, .stack = c->stack,
                       .to = full ? NULL : older_list(c->generation), .dicts = dicts,
                       .nostop = nostop};
    if (!full && gh_gcstate.mode == GH_GC_STW)
        x.to = &gh_gcstate.gens[GH_GC_NGENS - 1].head;
    settle_reachable(set, &x);
    c->survivors = x.survivors;

    /* What is still in the set is garbage: held until the end, untracked
     * (compact: GC_NEXT_HELD). */
    for (size_t i = 0; i < set->n; i++) {
        gh_object *o = set->v[i];
        if (!o)
            continue; /* settled */
        if (nostop && (gh_is_freed(o) || !in_set(o))) {
            /* A mutator freed it after it entered the set (poisoned, or
             * already reused when the checked mode is off): no stopped
             * world kept it alive while the collector looked at it. */
            set->v[i] = NULL;
            gh_gc_stats.nostop_freed_met++;
            if (gh_is_freed(o))
                gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(o));
            continue;
        }
        if (full)
            *gh_gcbits_ptr(o) &= (uint8_t)~GH_GCBIT_TRACKED;
        else
            gh_gchead(o)->gc_next = GC_NEXT_HELD;
#if defined(GH_FL_RC_BIASED)
        /* Garbage is merged, our hold included (free-threaded CPython's
         * scan_heap_visitor): unowned, whoever touches it from now on uses
         * the shared count, and ob_tid is free for scratch. */
        brc_restore(o, i);
        gh_brc_explicit_merge(o, 1);
        refs_set(o, 0);
#else
        refs_set(o, 0);
        gh_incref(o);
#endif
        /* A deferred object found unreachable stops being deferred (its
         * bias goes, CPython's disable_deferred_refcounting): it dies as
         * the rest of the garbage does, when the holds are dropped. */
        if (gh_is_deferred(o))
            gh_rc_deferred_clear_stopped(o);
        objvec_push(c->garbage, o);
        set->v[i] = NULL; /* held: a fault from here on leaves it to the garbage */
        c->any_legacy |= has_legacy_finalizer(o);
        c->any_del |= has_finalizer(o);
        c->any_weak |= o->ob_type->kind == GH_KIND_WEAKREF || gh_has_weakrefs(o);
    }
    set->n = 0;

    /* Legacy finalizers (CPython's move_legacy_finalizers and
     * move_legacy_finalizer_reachable): they and what they reach in the
     * garbage are kept, for gc.garbage. Marked with gc_refs 1. */
    struct objvec *garbage = c->garbage;
    if (c->any_legacy) {
        for (size_t i = 0; i < garbage->n; i++) {
            gh_object *o = garbage->v[i];
            if (has_legacy_finalizer(o) && refs_get(o) == 0) {
                refs_set(o, REFS_REACHED);
                objvec_push(c->stack, o);
                while (c->stack->n)
                    traverse(c->stack->v[--c->stack->n], visit_reach, c->stack);
            }
        }
        size_t keep = 0;
        for (size_t i = 0; i < garbage->n; i++) {
            gh_object *o = garbage->v[i];
            if (refs_get(o) != 0) {
                set_leave(o);
                objvec_push(c->legacy, o);
            } else {
                garbage->v[keep++] = o;
            }
        }
        garbage->n = keep;
    }
    if (!c->any_weak)
        return;

    /* Weak references (CPython's handle_weakrefs): garbage weak references
     * stop referring, callback or not; every weak reference to garbage is
     * cleared; the callbacks of live ones are queued. */
    for (size_t i = 0; i < garbage->n; i++) {
        gh_object *o = garbage->v[i];
        if (o->ob_type->kind == GH_KIND_WEAKREF) {
            gh_weakref_clear_ref(o);
            gh_gc_stats.weakrefs_cleared++;
        }
    }
    for (size_t i = 0; i < garbage->n; i++) {
        gh_object *o = garbage->v[i];
        if (gh_has_weakrefs(o)) {
            gh_weakrefs_clear_for_gc(o, queue_callback, c);
            gh_gc_stats.weakrefs_cleared++;
        }
    }
}

/* World running: weak-reference callbacks, then PEP 442 finalizers, once. */
static void run_finalizers(struct collection *c)
{
    for (size_t i = 0; i < c->callbacks->n; i++) {
        gh_weakref_run_callback(c->ts, c->callbacks->v[i]);
        gh_decref(c->callbacks->v[i]);
        gh_gc_stats.weakref_callbacks++;
    }
    c->callbacks->n = 0;
    for (size_t i = 0; i < c->garbage->n; i++) {
        gh_object *o = c->garbage->v[i];
        if (has_finalizer(o) && !(gh_gc_bits(o) & GH_GCBIT_FINALIZED)) {
            gh_gc_bits_set(o, GH_GCBIT_FINALIZED);
            struct gh_class *cls = gh_class_of(o);
            cls->del(o, cls->del_arg);
            gh_gc_stats.finalized++;
        }
    }
}

/* Pause 2: what a finalizer or callback made reachable again (CPython's
 * handle_resurrected_objects) goes back to the heap. */
static void find_resurrected(struct collection *c)
{
    for (size_t i = 0; i < c->garbage->n; i++)
        refs_set(c->garbage->v[i], count_as_refs(c->garbage->v[i], 1));
    deduce_reachable(c->garbage, c->stack);
    size_t keep = 0;
    for (size_t i = 0; i < c->garbage->n; i++) {
        gh_object *o = c->garbage->v[i];
        if (refs_get(o) > 0) {
            set_leave(o);
            retrack(o, c->generation);
            gh_gc_stats.resurrected++;
            gh_decref(o); /* our hold: the object has another reference */
        } else {
            c->garbage->v[keep++] = o;
        }
    }
    c->garbage->n = keep;
}

/* gc=nostop: how many references to each garbage object remain once the
 * garbage with a tp_clear is cleared. What is left should be the
 * collector's hold and the references of garbage without a tp_clear (a
 * class, a WeakValueDictionary), counted here in gc_refs; anything more
 * comes from outside the garbage: a live object was found unreachable and
 * cleared (its items and attributes are gone, and what only it held is
 * freed). It is counted (live_collected, with its type) and tracked
 * again. Exact with exact counts (rc=atomic, rc=locked); under rc=plain
 * without a GIL a lost decrement reads as a reference too. */
static void visit_count_held(gh_object *ref, void *arg)
{
    (void)arg;
    if (REF_PLAUSIBLE_ANY(ref) && in_set(ref))
        refs_set(ref, refs_get(ref) + 1);
}

static void nostop_find_live(struct collection *c)
{
    struct objvec *g = c->garbage;
    for (size_t i = 0; i < g->n; i++) {
        *gh_gcbits_ptr(g->v[i]) |= GH_GCBIT_UNREACHABLE;
        refs_set(g->v[i], 0);
    }
    /* What a cleared object still holds counts too (an instance keeps
     * its class). */
    for (size_t i = 0; i < g->n; i++)
        traverse(g->v[i], visit_count_held, NULL);
    for (size_t i = 0; i < g->n; i++) {
        gh_object *o = g->v[i];
        uint8_t *bits = gh_gcbits_ptr(o);
        int64_t outside = (int64_t)gh_refcnt(o) - 1 - refs_get(o);
        *bits &= (uint8_t)~GH_GCBIT_UNREACHABLE;
        refs_set(o, 0);
        if (outside <= 0 || gh_is_freed(o) || gh_refcnt_is_immortal(gh_refcnt(o)))
            continue;
        gh_gc_stats.nostop_live_collected++;
        gh_hazard_note(GH_HAZARD_LIVE_COLLECTED, gh_kind_name(o->ob_type->kind));
        *bits |= GH_GCBIT_TRACKED;
    }
}

/* World running: break the cycles, then drop the holds; reference
 * counting frees the garbage. gc.garbage gets the legacy finalizers (and
 * under DEBUG_SAVEALL everything). */
static void delete_garbage(struct collection *c)
{
    struct gh_tstate *ts = c->ts;
    bool saveall = gh_gc_get_debug() & GH_GC_DEBUG_SAVEALL;
    struct gh_list *garbage = NULL;
    if (saveall || c->legacy->n)
        garbage = (struct gh_list *)(void *)gh_gc_garbage();
    for (size_t i = 0; i < c->garbage->n; i++) {
        gh_object *o = c->garbage->v[i];
        set_leave(o);
        /* Weak references a finalizer made to the garbage are cleared,
         * callbacks not run, before it is torn down (CPython GH-91636):
         * otherwise another thread could revive a half-cleared object. */
        if (!saveall && gh_has_weakrefs(o))
            gh_weakrefs_clear_for_gc(o, drop_weakref, NULL);
        if (saveall) {
            retrack(o, c->generation);
            gh_list_append(ts, garbage, gh_newref(o));
        } else if (o->ob_type->tp_clear) {
            o->ob_type->tp_clear(o);
        }
    }
    for (size_t i = 0; i < c->legacy->n; i++) {
        gh_object *o = c->legacy->v[i];
        retrack(o, c->generation);
        if (saveall || has_legacy_finalizer(o))
            gh_list_append(ts, garbage, gh_newref(o));
    }
    if (c->nostop && !saveall)
        nostop_find_live(c);
    for (size_t i = 0; i < c->garbage->n; i++)
        gh_decref(c->garbage->v[i]);
    for (size_t i = 0; i < c->legacy->n; i++)
        gh_decref(c->legacy->v[i]);
}

/* Generation bookkeeping before a collection of `gen` (CPython's
 * gc_collect_main): the next generation counts one more collection, the
 * collected ones start again. */
static void counts_reset(int gen)
{
    if (gh_gcstate.mode == GH_GC_STW || gh_model.full_header) {
        gh_atomic_store_relaxed_i64(&gh_gcstate.young_count, 0);
        gh_gcstate.gens[0].count = 0;
        return;
    }
    if (gen + 1 < GH_GC_NGENS)
        gh_gcstate.gens[gen + 1].count++;
    for (int i = 0; i <= gen; i++)
        gh_gcstate.gens[i].count = 0;
}

static void long_lived_update(int gen, int64_t survivors)
{
    if (gh_gcstate.mode == GH_GC_STW || gh_gcstate.mode == GH_GC_NOSTOP) {
        gh_atomic_store_relaxed_i64(&gh_gcstate.long_lived_total, survivors);
        return;
    }
    if (gen == GH_GC_NGENS - 2) {
        gh_gcstate.long_lived_pending += survivors;
    } else if (gen == GH_GC_NGENS - 1) {
        gh_gcstate.long_lived_pending = 0;
        gh_gcstate.long_lived_total = survivors;
    }
}

static uint64_t stop_world(struct gh_tstate *ts, uint64_t *t_stop)
{
#if defined(GH_FL_NO_GIL)
    uint64_t tts = gh_stw_stop(ts);
    *t_stop = gh_now_ns();
    gh_hist_add(&gh_gc_stats.tts, tts);
    return tts;
#else
    (void)ts;
    *t_stop = gh_now_ns();
    return 0;
#endif
}

static void start_world(struct gh_tstate *ts, uint64_t t_stop, uint64_t tts)
{
#if defined(GH_FL_NO_GIL)
    gh_stw_start(ts);
    gh_hist_add(&gh_gc_stats.pause, gh_now_ns() - t_stop + tts);
#else
    (void)ts, (void)t_stop, (void)tts;
#endif
}

static bool collector_enter(struct gh_tstate *ts, bool automatic)
{
    if (ts->gc_collecting)
        return false; /* from a finalizer of this thread's collection */
#if defined(GH_FL_NO_GIL)
    if (pthread_mutex_trylock(&collect_mutex) != 0) {
        /* An automatic collection that finds another one running is
         * dropped, as in CPython. One that finds an introspection holding
         * the mutex (the checked mode's census, gc.get_objects), which no
         * collection flag marks, waits for it and runs, as gc.collect()
         * always does: the census must not change whether or when the
         * collector runs. Relaxed: the flag is written under the mutex; a
         * stale 0 only makes this thread wait for a collection and then
         * collect again. */
        if (automatic && gh_atomic_load_relaxed_int(&gh_gcstate.collecting))
            return false;
        gh_stw_detach(ts); /* waiting, we count as stopped */
        gh_check_pthread(pthread_mutex_lock(&collect_mutex));
        gh_stw_attach(ts);
    }
#else
    (void)automatic;
    if (gh_gcstate.collecting)
        return false;
#endif
    ts->gc_collecting = true;
    gh_atomic_store_relaxed_int(&gh_gcstate.collecting, 1);
    return true;
}

static void collector_leave(struct gh_tstate *ts)
{
    gh_atomic_store_relaxed_int(&gh_gcstate.collecting, 0);
    ts->gc_collecting = false;
#if defined(GH_FL_NO_GIL)
    gh_check_pthread(pthread_mutex_unlock(&collect_mutex));
#endif
}

/* The last collection (gh_gc_fini), world stopped, before the trial
 * deletion: no object is deferred any longer (CPython disables deferred
 * counting at shutdown for the reachable ones too). What only the bias
 * kept alive is then garbage of this collection, and what survives it
 * (held by gc.garbage, by the model's own state) is freed by counting
 * when those let go, instead of waiting for a collection that will not
 * come. */
static void undefer_block(void *block, void *arg)
{
    (void)arg;
    gh_object *o = (gh_object *)(void *)((char *)block + sizeof(struct gh_obprefix));
    if ((*gh_gcbits_ptr(o) & GH_GCBIT_TRACKED) && gh_is_deferred(o))
        gh_rc_deferred_clear_stopped(o);
}

/* What a collection found, for its statistics. */
struct outcome {
    size_t unreachable, collected, uncollectable;
};

/* Everything between the "start" and "stop" callbacks. gc=nostop never
 * stops the world; c->stage tells a fault where the collection was. */
static void collect_phases(struct collection *c, struct outcome *out)
{
    struct gh_tstate *ts = c->ts;
    const bool stop = !c->nostop;
    uint64_t t_stop = 0, tts = 0;
    if (stop)
        tts = stop_world(ts, &t_stop);
    if (c->shutdown && gh_model.deferred && gh_model.full_header)
        gh_alloc_visit_gc(undefer_block, NULL);
    counts_reset(c->generation);
    uint64_t tp = ts->tl ? gh_now_ns() : 0;
    find_garbage(c);
    if (tp)
        gh_tl_record(ts, GH_TL_GC_PHASE, tp, gh_now_ns(), NULL, GH_TL_GC_FIND);
    long_lived_update(c->generation, c->survivors);
    if (stop)
        start_world(ts, t_stop, tts);
    c->stage = NOSTOP_HELD;
    for (size_t i = 0; i < c->queued->n; i++)
        gh_decref(c->queued->v[i]); /* the merge queues' references */
    c->queued->n = 0;

    out->unreachable = c->garbage->n + c->legacy->n;
    /* Only a callback or a finalizer can resurrect: without one, no second
     * pause. */
    if (c->callbacks->n || c->any_del) {
        uint64_t before = gh_gc_stats.weakref_callbacks + gh_gc_stats.finalized;
        tp = ts->tl ? gh_now_ns() : 0;
        run_finalizers(c);
        if (tp)
            gh_tl_record(ts, GH_TL_GC_PHASE, tp, gh_now_ns(), NULL, GH_TL_GC_FINALIZE);
        if (gh_gc_stats.weakref_callbacks + gh_gc_stats.finalized != before) {
            if (stop)
                tts = stop_world(ts, &t_stop);
            find_resurrected(c);
            if (stop)
                start_world(ts, t_stop, tts);
        }
    }
    out->collected = c->garbage->n;
    out->uncollectable = c->legacy->n;
    c->stage = NOSTOP_CLEARING;
    tp = ts->tl ? gh_now_ns() : 0;
    delete_garbage(c);
    if (tp)
        gh_tl_record(ts, GH_TL_GC_PHASE, tp, gh_now_ns(), NULL, GH_TL_GC_DELETE);
}

/* gc=nostop after a fault: put back what can be put back. Before the
 * garbage is settled (NOSTOP_GATHER) every candidate still in the set
 * loses its scratch, and what was already held is given back to the heap
 * (tracked again, the hold dropped): the heap is as if no collection had
 * started. Later, finalizers or tp_clear were under way: what is still
 * held stays held (a leak the teardown counts) rather than be released
 * twice. A fault during this repair ends it where it is. */
static GH_NOINLINE void nostop_abandon(struct collection *c)
{
    sigjmp_buf jb;
    struct gh_tstate *ts = c->ts;
    if (sigsetjmp(jb, 0)) {
        ts->fault_jmp = NULL;
        gh_hazard_note(GH_HAZARD_FAULT, NULL);
        return;
    }
    ts->fault_jmp = &jb;
    if (c->stage == NOSTOP_GATHER) {
        struct objvec *set = c->set, *g = c->garbage;
        for (size_t i = 0; i < set->n; i++) {
            gh_object *o = set->v[i];
            set->v[i] = NULL;
            if (!o || gh_is_freed(o))
                continue;
            *gh_gcbits_ptr(o) &= (uint8_t)~GH_GCBIT_UNREACHABLE;
            gh_prefix(o)->ob_tid = 0;
            gh_prefix(o)->ob_ref_local = 0;
        }
        struct objvec *held[2] = {g, c->legacy};
        for (int k = 0; k < 2; k++) {
            while (held[k]->n) {
                gh_object *o = held[k]->v[--held[k]->n];
                uint8_t *bits = gh_gcbits_ptr(o);
                *bits = (uint8_t)((*bits & ~GH_GCBIT_UNREACHABLE) | GH_GCBIT_TRACKED);
                gh_prefix(o)->ob_tid = 0;
                gh_prefix(o)->ob_ref_local = 0;
                gh_decref(o);
            }
        }
        while (c->callbacks->n)
            gh_decref(c->callbacks->v[--c->callbacks->n]);
    }
    ts->fault_jmp = NULL;
}

/* gc=nostop in the checked mode: the collection under a fault net. The
 * collector reads containers while the mutators resize and free them;
 * their arrays and objects wait in the quarantine, so most stale reads
 * stay in mapped memory, but a block the quarantine has released, or a
 * pool walk across an arena being carved, can fault. The fault handler
 * (scenario/run.c) jumps back here: the fault is counted, the collection
 * abandoned (nostop_abandon). Saves and restores an enclosing op's net
 * (a gc.collect op runs under one). false: abandoned. */
static GH_NOINLINE bool collect_guarded(struct collection *c, struct outcome *out)
{
    struct gh_tstate *ts = c->ts;
    void *const outer = ts->fault_jmp;
    const char *const outer_op = ts->cur_op;
    sigjmp_buf jb;
    if (sigsetjmp(jb, 0)) {
        gh_tstate_after_fault(ts);
        nostop_abandon(c);
        gh_gc_stats.nostop_abandoned++;
        ts->fault_jmp = outer;
        ts->cur_op = outer_op;
        return false;
    }
    ts->cur_op = "gc (nostop collection)";
    ts->fault_jmp = &jb;
    collect_phases(c, out);
    ts->fault_jmp = outer;
    ts->cur_op = outer_op;
    return true;
}

static int64_t collect_main(struct gh_tstate *ts, int generation, bool automatic,
                            bool shutdown)
{
    if (gh_gcstate.mode == GH_GC_OFF || !collector_enter(ts, automatic))
        return 0;
    /* gc=stw has one generation: every collection is of the whole heap,
     * recorded under the generation asked for (free-threaded CPython: 0
     * for an automatic one, gc.collect()'s argument otherwise). So has
     * gc=nostop. */
    const int asked = generation;
    const bool nostop = gh_gcstate.mode == GH_GC_NOSTOP;
    if (gh_gcstate.mode == GH_GC_STW || nostop)
        generation = GH_GC_NGENS - 1;
    uint64_t t0 = gh_now_ns();
    GH_PROBE2(gc_start, ts->index, asked);
    struct gh_gc_info info = {asked, 0, 0};
    gh__gc_run_callbacks("start", &info);

    struct collection c = {.ts = ts, .generation = generation, .set = &work_set,
                           .stack = &work_stack, .garbage = &work_garbage,
                           .legacy = &work_legacy, .callbacks = &work_callbacks,
                           .queued = &work_queued, .nostop = nostop,
                           .shutdown = shutdown};
    struct outcome out = {0, 0, 0};
    bool done = true;
    if (nostop && gh_model.checked)
        done = collect_guarded(&c, &out);
    else
        collect_phases(&c, &out);

    if (done) {
        struct gh_gc_genstats *gs = &gh_gc_stats.gen[asked];
        gs->collections++;
        gs->collected += out.collected;
        gs->uncollectable += out.uncollectable;
        gh_gc_stats.unreachable += out.unreachable;
        gh_gc_stats.collected += out.collected;
        gh_gc_stats.uncollectable += out.uncollectable;
    }
    uint64_t t1 = gh_now_ns(), dt = t1 - t0;
    GH_PROBE3(gc_end, ts->index, asked, (int64_t)out.collected);
    gh_tl_record(ts, GH_TL_GC, t0, t1, NULL, asked);
    gh_gc_stats.collect_ns += dt;
#if !defined(GH_FL_NO_GIL)
    gh_hist_add(&gh_gc_stats.pause, dt); /* the GIL was held throughout */
#endif
    info.collected = (int64_t)out.collected;
    info.uncollectable = (int64_t)out.uncollectable;
    gh__gc_run_callbacks("stop", &info);

    c.set->n = c.stack->n = c.garbage->n = c.legacy->n = c.callbacks->n = c.queued->n = 0;
    collector_leave(ts);
    return done ? (int64_t)out.unreachable : 0;
}

int64_t GH_FL(gh_gc_collect)(struct gh_tstate *ts, int generation)
{
    if (generation < 0 || generation >= GH_GC_NGENS)
        generation = GH_GC_NGENS - 1;
    return collect_main(ts, generation, false, false);
}

void GH_FL(gh_gc_collect_scheduled)(struct gh_tstate *ts)
{
    /* Seq_cst as every eval_breaker RMW (base/tstate.h); pairs with
     * nothing: the collection runs under collect_mutex or the GIL. */
    gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_GC_SCHEDULED);
    if (!gh_gc_isenabled() || gh_gcstate.mode == GH_GC_OFF)
        return;
    if (gh_gcstate.mode == GH_GC_STW || gh_model.full_header) {
        collect_main(ts, 0, true, false);
        return;
    }
    /* CPython's gc_collect_generations: the oldest generation over its
     * threshold; a full collection also needs the long-lived objects
     * promoted since the last one to exceed 25% of those it left. */
    for (int i = GH_GC_NGENS - 1; i >= 0; i--) {
        if (gh_gcstate.gens[i].count > gh_gcstate.gens[i].threshold) {
            if (i == GH_GC_NGENS - 1 &&
                gh_gcstate.long_lived_pending < gh_gcstate.long_lived_total / 4)
                continue;
            collect_main(ts, i, true, false);
            return;
        }
    }
}

void GH_FL(gh_switch_point_slow)(struct gh_tstate *ts)
{
    gh_sync_checkpoint_bits(ts);
#if defined(GH_FL_RC_BIASED)
    if (gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_BRC_MERGE)
        gh_brc_merge_pending(ts);
#endif
    if (gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GC_SCHEDULED)
        gh_gc_collect_scheduled(ts);
}

void GH_FL(gh_gc_exclude_begin)(struct gh_tstate *ts)
{
#if defined(GH_FL_NO_GIL)
    if (gh_gcstate.mode != GH_GC_NOSTOP || ts->gc_collecting)
        return;
    if (pthread_mutex_trylock(&collect_mutex) != 0) {
        gh_stw_detach(ts); /* waiting, we count as stopped */
        gh_check_pthread(pthread_mutex_lock(&collect_mutex));
        gh_stw_attach(ts);
    }
#else
    (void)ts;
#endif
}

void GH_FL(gh_gc_exclude_end)(struct gh_tstate *ts)
{
#if defined(GH_FL_NO_GIL)
    if (gh_gcstate.mode != GH_GC_NOSTOP || ts->gc_collecting)
        return;
    gh_check_pthread(pthread_mutex_unlock(&collect_mutex));
#else
    (void)ts;
#endif
}

/* ---- the rest of the gc module ---------------------------------------------------------------- */

static gh_object *garbage_list;

gh_object *GH_FL(gh_gc_garbage)(void)
{
    if (!garbage_list)
        garbage_list = gh_list_new();
    return garbage_list;
}

int64_t GH_FL(gh_gc_fini)(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    collect_main(ts, GH_GC_NGENS - 1, false, true);
    gh_gc_objvec_free(&work_set);
    gh_gc_objvec_free(&work_stack);
    gh_gc_objvec_free(&work_garbage);
    gh_gc_objvec_free(&work_legacy);
    gh_gc_objvec_free(&work_callbacks);
    gh_gc_objvec_free(&work_queued);
#if defined(GH_FL_RC_BIASED)
    free(work_saved);
    work_saved = NULL;
    work_saved_cap = 0;
#endif
    gh_object *g = garbage_list;
    garbage_list = NULL;
    if (!g)
        return 0;
    struct gh_list *l = (struct gh_list *)(void *)g;
    int64_t n = gh_list_len(l);
    for (int64_t i = 0; i < n; i++) {
        gh_object *o = l->ob_item[i];
        if (o->ob_type->tp_clear)
            o->ob_type->tp_clear(o);
    }
    gh_decref(g);
    return n;
}

/* Stops the world for an introspection (objlock), or does nothing (the GIL
 * is held). Serialised with collections. From a finalizer, a weak-reference
 * callback or a gc callback of this thread's own collection the collector's
 * mutex is already ours (and the world is running): only stop the world. */
void GH_FL(gh_gc_inspect_begin)(struct gh_tstate *ts)
{
#if defined(GH_FL_NO_GIL)
    if (!ts->gc_collecting && pthread_mutex_trylock(&collect_mutex) != 0) {
        gh_stw_detach(ts);
        gh_check_pthread(pthread_mutex_lock(&collect_mutex));
        gh_stw_attach(ts);
    }
    gh_stw_stop(ts);
#else
    (void)ts;
#endif
}

void GH_FL(gh_gc_inspect_end)(struct gh_tstate *ts)
{
#if defined(GH_FL_NO_GIL)
    gh_stw_start(ts);
    if (!ts->gc_collecting)
        gh_check_pthread(pthread_mutex_unlock(&collect_mutex));
#else
    (void)ts;
#endif
}

void GH_FL(gh_gc_visit_roots)(gh_visitproc visit, void *arg)
{
    if (garbage_list)
        visit(garbage_list, arg); /* gc.garbage: the module's reference */
}
