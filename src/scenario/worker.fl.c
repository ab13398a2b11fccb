/* worker.fl.c - the measured loop, compiled once per flavour.
 *
 * A worker picks its next op (weighted mix or looped script) with its own
 * seeded PRNG, executes it, counts it, and passes a switch point; nothing
 * between two switch points can be interrupted by the model. Each
 * container, refcount and lock operation below inlines the flavour's code:
 * there is no indirect call on this path.
 *
 * Each op is executed by the executor its row of GH_OPS names
 * (scenario/ops.h): the hot ones are defined here and inlined; the object
 * model's (attributes, sets, tuples, strings, weak references, calls,
 * is/==, show/assert, tracing, the collector's ops) are out of line in
 * exec_model.fl.c, so an op the measured loop does not use costs it
 * nothing. What is fixed for
 * a run (the checked mode, tracing, how ops are picked) is decided once:
 * the loop of a run without the checked mode or tracing has the executors
 * inlined and no hook (measured_loop_fast); while tracing, each op's
 * allocations are charged to its line (measured_loop_hooks).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/trace.h"
#include "base/clock.h"
#include "base/hist.h"
#include "base/lockprof.h"
#include "base/rng.h"
#include "base/timeline.h"
#include "containers/containers.h"
#include "gc/gc.h"
#include "scenario/flavor.h"
#include "scenario/counter.h"
#include "scenario/exec.h"
#include "scenario/runner_internal.h"
/* The run this flavour is executing (one at a time per process: the model's
 * state is process-wide): set by setup before any worker starts, cleared by
 * teardown. The finalizers and weak-reference callbacks reach the run's
 * counters through it; tl_worker is the worker of the calling thread (NULL
 * on the main thread). */
static struct gh_run_shared *cur_run;
static _Thread_local struct gh_worker *tl_worker;

/* ---- deferred=immortal ------------------------------------------------------
 *
 * CPython 3.13t marks the objects it would count deferred (heap types,
 * top-level functions, modules, code, method descriptors; the model has
 * classes and functions) and makes them immortal when the first thread
 * besides the main one starts (gh-117783, _PyGC_ImmortalizeDeferredObjects);
 * marked objects made after that are immortal from birth
 * (_PyObject_SetDeferredRefcount). Instantiating a class then writes
 * nothing to its count. The model's moment is the runner starting two or
 * more workers (a run of one worker is a single-threaded program): before
 * it, immortals_start makes every class and function global and the plain
 * class immortal; after it, maybe_defer makes each new function immortal.
 * They stay tracked (CPython untracks them; a collection treats an
 * immortal object as referenced from outside either way).
 *
 * CPython never frees them. The model must (a run ends with nothing
 * live), so each is registered here, and immortals_release, after the
 * teardown's last collection, gives each the count of the references that
 * remain (the registry's, the model's roots', the other registered
 * objects') and drops the registry's: the rest dies as usual. A reference
 * from a leaked object is not counted (the leak is reported anyway). The
 * registry is C heap, not the model's allocator. `started` is written by
 * the main thread before the workers are created and after they are
 * joined; the array is appended to under `lock` (a born-immortal function
 * may be made by any worker). */
static struct {
    gh_object **v;
    size_t n, cap;
    bool started;
    pthread_mutex_t lock;
} immortals = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool immortal_kind(gh_object *o)
{
    enum gh_kind k = o->ob_type->kind;
    return (k == GH_KIND_CLASS || k == GH_KIND_FUNCTION) &&
           !gh_refcnt_is_immortal(gh_refcnt(o));
}

/* Makes o immortal and registers it. No other thread updates o's count:
 * it is new, or no worker runs yet. */
static GH_NOINLINE void make_immortal(gh_object *o)
{
    gh_rc_set_immortal(o);
    gh_check_pthread(pthread_mutex_lock(&immortals.lock));
    if (immortals.n == immortals.cap) {
        immortals.cap = immortals.cap ? 2 * immortals.cap : 16;
        immortals.v = realloc(immortals.v, immortals.cap * sizeof *immortals.v);
        gh_assert(immortals.v);
    }
    immortals.v[immortals.n++] = o;
    gh_check_pthread(pthread_mutex_unlock(&immortals.lock));
}

/* The main thread, before it creates the workers. */
static void immortals_start(struct gh_run_shared *run)
{
    for (int i = 0; i < run->s->nglobals; i++)
        if (run->globals[i] && immortal_kind(run->globals[i]))
            make_immortal(run->globals[i]);
    gh_object *plain = gh_plain_class();
    if (immortal_kind(plain))
        make_immortal(plain);
    immortals.started = true;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (gh_object *const *)a, y = (uintptr_t) * (gh_object *const *)b;
    return x < y ? -1 : x > y;
}

struct recount {
    gh_object **v;
    int64_t *refs;
    size_t n;
};

static void recount_visit(gh_object *o, void *arg)
{
    struct recount *r = arg;
    gh_object **at = o ? bsearch(&o, r->v, r->n, sizeof *r->v, cmp_ptr) : NULL;
    if (at)
        r->refs[at - r->v]++;
}

/* After the teardown's last collection (main thread, the workers joined). */
static void immortals_release(void)
{
    immortals.started = false;
    size_t n = immortals.n;
    if (!n)
        return;
    gh_object **v = immortals.v;
    qsort(v, n, sizeof *v, cmp_ptr);
    struct recount r = {v, calloc(n, sizeof(int64_t)), n};
    gh_assert(r.refs);
    for (size_t i = 0; i < n; i++)
        r.refs[i] = 1; /* the registry's */
    gh_model_visit_roots(recount_visit, &r);
    for (size_t i = 0; i < n; i++)
        if (v[i]->ob_type->tp_traverse)
            v[i]->ob_type->tp_traverse(v[i], recount_visit, &r);
    for (size_t i = 0; i < n; i++)
        gh_refcnt_set(v[i], (uint64_t)r.refs[i]);
    immortals.v = NULL;
    immortals.n = immortals.cap = 0;
    for (size_t i = 0; i < n; i++)
        gh_decref(v[i]);
    free(r.refs);
    free(v);
}

/* Deferred reference counting marks classes, functions and module-level
 * objects (deferred=on; free-threaded CPython defers heap types, top-level
 * functions and modules). A GC object only (only the collector can free
 * it), and a tracked one (untracked objects are never its candidates). The
 * object is still private to the calling thread. Under deferred=immortal
 * a new class or function is immortal once a second thread runs. */
static void maybe_defer(gh_object *o, bool module_level)
{
    if (GH_UNLIKELY(gh_model.deferred_immortal)) {
        if (immortals.started && immortal_kind(o))
            make_immortal(o);
        return;
    }
    if (!gh_model.deferred || !gh_is_gc(o) || !gh_gc_object_is_tracked(o) ||
        gh_is_deferred(o) || gh_refcnt_is_immortal(gh_refcnt(o)))
        return;
    enum gh_kind k = o->ob_type->kind;
    if (module_level || k == GH_KIND_CLASS || k == GH_KIND_FUNCTION)
        gh_rc_set_deferred(o);
}

_Static_assert(GH_SCENARIO_MAX_SLOTS == GH_MAX_SLOTS && GH_SCENARIO_SLOT_NAME == GH_SLOT_NAME,
               "the parser's limits on __slots__ are the model's");

/* ---- making objects ------------------------------------------------------- */

/* A new reference to what a name is bound to. A freed object (the checked
 * mode poisons them: a count that reached zero while the name still held
 * it) is a use after free: the op gets None instead. */
GH_INLINE gh_object *named_ref(gh_object *o)
{
    if (GH_UNLIKELY(gh_is_freed(o))) {
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(o));
        return gh_none_new();
    }
    return gh_newref(o);
}

/* A new reference to what `v` makes or names. */
GH_NOINLINE gh_object *GH_FL(gh_make_value)(const struct gh_value *v, gh_object **globals,
                                 gh_stackref *locals, struct gh_rng *rng)
{
    switch (v->kind) {
    case GH_VAL_NONE_OBJ: return gh_none_new();
    case GH_VAL_OBJECT: return gh_instance_new();
    case GH_VAL_INT:
        return gh_int_new((int64_t)gh_rng_below(rng, (uint64_t)(v->range > 0 ? v->range : 1000000)));
    case GH_VAL_SMALL_INT:
        return gh_int_new(GH_SMALL_INT_MIN + (int64_t)gh_rng_below(rng, GH_SMALL_INT_COUNT));
    case GH_VAL_LIST: return gh_list_new();
    case GH_VAL_DICT: return gh_dict_new();
    case GH_VAL_GLOBAL: return named_ref(globals[v->slot]);
    case GH_VAL_LOCAL: return locals[v->slot] ? named_ref(frame_get(locals, v->slot)) : gh_none_new();
    case GH_VAL_INT_LIT: return gh_int_new(v->range);
    case GH_VAL_TRUE: return gh_bool_new(true);
    case GH_VAL_FALSE: return gh_bool_new(false);
    }
    return gh_none_new();
}

static void count_finalized(struct gh_class_ctx *cc)
{
    gh_atomic_add_relaxed_i64(&cc->run->finalized[cc->slot], 1);
    if (tl_worker)
        tl_worker->finalized[cc->slot]++;
}

/* `del: count`: a __del__ that only counts its runs. */
static void del_count(gh_object *self, void *arg)
{
    (void)self;
    count_finalized(arg);
}

/* `del: resurrect`: counts, then stores the instance into the global list
 * `into` (a new reference: the instance lives on). */
static void del_resurrect(gh_object *self, void *arg)
{
    struct gh_class_ctx *cc = arg;
    count_finalized(cc);
    int into = cc->run->s->globals[cc->slot].into;
    gh_object *l = cc->run->globals[into];
    if (l && l->ob_type->kind == GH_KIND_LIST)
        gh_list_append(gh_tstate_get(), (struct gh_list *)(void *)l, gh_newref(self));
}

/* The body of `callback: count`: counts, returns None. */
gh_object *GH_FL(gh_count_callback_code)(struct gh_tstate *ts, struct gh_function *f,
                                         gh_object **args)
{
    (void)ts, (void)f, (void)args;
    if (cur_run)
        gh_atomic_add_relaxed_u64(&cur_run->callbacks, 1);
    if (tl_worker)
        tl_worker->callbacks++;
    return gh_none_new();
}

/* A tuple or frozenset of g's listed items (NULL: unhashable items). */
static GH_NOINLINE gh_object *make_seq(const struct gh_global *g, gh_object **globals,
                                       gh_stackref *locals, struct gh_rng *rng)
{
    /* Only the first n slots are written and read: zeroing all 8000 bytes
     * cost three times the tuple itself (84% of make_seq's samples). */
    gh_object *items[1000], *o;
    int n = g->nelems < 1000 ? g->nelems : 1000;
    for (int i = 0; i < n; i++)
        items[i] = gh_make_value(&g->elems[i], globals, locals, rng);
    if (g->type == GH_NEW_TUPLE)
        return gh_tuple_from_array(items, n);
    if ((o = gh_frozenset_new(items, n)))
        return o;
    for (int i = 0; i < n; i++)
        gh_decref(items[i]);
    return NULL;
}

/* A new reference to the object `g` describes (a `new` op's spec, or a
 * global of setup). in_op: an int or small-int without `value` is drawn at
 * random (the original `new`); in setup it is the given value (0). NULL
 * when it cannot be made (a frozenset of unhashable items). */
static gh_object *make_obj(const struct gh_global *g, gh_object **globals, gh_stackref *locals,
                           struct gh_rng *rng, bool in_op, int slot)
{
    gh_object *o;
    struct gh_tstate *ts;
    int n = g->nelems;
    switch (g->type) {
    case GH_NEW_NONE: return gh_none_new();
    case GH_NEW_TRUE: return gh_bool_new(true);
    case GH_NEW_FALSE: return gh_bool_new(false);
    case GH_NEW_OBJECT: return gh_instance_new();
    case GH_NEW_BARE_OBJECT: return gh_object_new();
    case GH_NEW_INT:
        if (in_op && !g->has_value)
            return gh_int_new((int64_t)gh_rng_below(rng, 1000000));
        return gh_int_new(g->int_value);
    case GH_NEW_SMALL_INT:
        if (in_op && !g->has_value)
            return gh_int_new(GH_SMALL_INT_MIN + (int64_t)gh_rng_below(rng, GH_SMALL_INT_COUNT));
        return gh_int_new(g->int_value);
    case GH_NEW_FLOAT: return gh_float_new(g->float_value);
    case GH_NEW_STR:
        if (g->is_const)
            return gh_str_const(g->text ? g->text : "");
        return gh_str_new(g->text ? g->text : "", g->text_len);
    case GH_NEW_BYTES: return gh_bytes_new(g->text ? g->text : "", g->text_len);
    case GH_NEW_BYTEARRAY: return gh_bytearray_new(g->text ? g->text : "", g->text_len);
    case GH_NEW_TUPLE:
    case GH_NEW_FROZENSET:
        return make_seq(g, globals, locals, rng);
    case GH_NEW_SET:
        ts = gh_tstate_get();
        o = gh_set_new();
        for (int i = 0; i < n; i++) {
            gh_object *k = gh_make_value(&g->elems[i], globals, locals, rng);
            if (gh_set_add(ts, (struct gh_set *)(void *)o, k) < 0)
                gh_decref(k); /* unhashable: skipped, as the model has no TypeError */
        }
        return o;
    case GH_NEW_LIST:
        ts = gh_tstate_get();
        o = gh_list_new();
        for (int i = 0; i < n; i++)
            gh_list_append(ts, (struct gh_list *)(void *)o,
                           gh_make_value(&g->elems[i], globals, locals, rng));
        for (int64_t i = 0; i < g->items; i++)
            gh_list_append(ts, (struct gh_list *)(void *)o,
                           gh_make_value(&g->value, globals, locals, rng));
        return o;
    case GH_NEW_DICT:
        ts = gh_tstate_get();
        o = gh_dict_new();
        for (int64_t i = 0; i < g->items; i++)
            gh_dict_set(ts, (struct gh_dict *)(void *)o, gh_int_new(i),
                               gh_make_value(&g->value, globals, locals, rng));
        return o;
    case GH_NEW_WVDICT: return gh_wvdict_new();
    case GH_NEW_CLASS: {
        struct gh_class_spec spec = {.name = g->name, .slots = (const char *const *)g->slots,
                                     .nslots = g->nslots};
        if (g->del != GH_DEL_NONE && cur_run && slot >= 0) {
            gh_finalizer_fn fn = g->del == GH_DEL_COUNT ? del_count : del_resurrect;
            void *arg = &cur_run->classes[slot];
            if (g->legacy) {
                spec.legacy_del = fn;
                spec.legacy_del_arg = arg;
            } else {
                spec.del = fn;
                spec.del_arg = arg;
            }
        }
        return gh_class_new(&spec);
    }
    case GH_NEW_FUNCTION:
        return g->def == GH_DEF_APPEND_ONE ? gh_make_append_one()
                                           : gh_make_append_one_none();
    case GH_NEW_LOCK: return gh_lock_new();
    case GH_NEW_INSTANCE:
        return gh_instance_new_of(globals[g->cls]);
    case GH_NEW_WEAKREF: case GH_NEW_SNAPSHOT: case GH_NEW_ANY: case GH_NEW_COUNT:
        break;
    }
    return gh_none_new();
}

static uint64_t compute(uint64_t iters, uint64_t x)
{
    for (uint64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        GH_COMPILER_BARRIER();
    }
    return x;
}

/* for x in L: CPython's list iterator reads item i while i < len(L), with
 * the eval breaker polled between steps; the list may change meanwhile
 * (items are then skipped or seen twice, never torn). */
static bool iter_list(struct gh_worker *w, struct gh_tstate *ts, gh_object *o)
{
    struct gh_list *l = (struct gh_list *)(void *)o;
    for (int64_t i = 0;; i++) {
        gh_object *item = gh_list_get(ts, l, i);
        if (!item)
            return true;
        if (!item_ok(item))
            return false;
        w->sink += (uintptr_t)item->ob_type;
        gh_decref(item);
        gh_switch_point(ts);
        if (gh_atomic_load_relaxed_int(&w->run->stop)) /* a list that outgrows us */
            return true;
    }
}

/* for k in D: fails, as CPython raises RuntimeError, when the dict's size
 * changed between two steps. */
static bool iter_dict(struct gh_worker *w, struct gh_tstate *ts, gh_object *o)
{
    struct gh_dict *d = (struct gh_dict *)(void *)o;
    int64_t used = gh_dict_len(d), pos = 0;
    for (;;) {
        bool changed;
        gh_object *k = gh_dict_next_key(ts, d, used, &pos, &changed);
        if (!k)
            return !changed;
        if (!item_ok(k))
            return false;
        w->sink += (uintptr_t)k->ob_type;
        gh_decref(k);
        gh_switch_point(ts);
        if (gh_atomic_load_relaxed_int(&w->run->stop))
            return true;
    }
}

/* ---- the hot ops ---------------------------------------------------------- */

GH_INLINE bool exec_new(EXEC_PARAMS)
{
    gh_object *o;
    if (op->spec->type == GH_NEW_INSTANCE) {
        /* The class on the frame's stack while it is called (LOAD_GLOBAL
         * C; CALL): counted, unless C is deferred. The instance's own
         * reference to its class is counted in every case. */
        const int stack = w->frame_slots - 1;
        frame_put(locals, stack, gh_stackref_new(globals[op->spec->cls]));
        o = make_obj(op->spec, globals, locals, rng, true, -1);
        frame_put(locals, stack, 0);
    } else {
        o = make_obj(op->spec, globals, locals, rng, true, -1);
    }
    if (!o)
        return false;
    maybe_defer(o, false); /* a new class or function */
    frame_put(locals, op->on.slot, gh_stackref_steal(o));
    return true;
}

GH_INLINE bool exec_drop(EXEC_PARAMS)
{
    if (!locals[op->on.slot])
        return false;
    frame_put(locals, op->on.slot, 0);
    return true;
}

GH_INLINE bool exec_list_append(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals);
    if (!o)
        return false;
#if defined(GH_FL_SYNC_OBJLOCK)
    if (gh_model.loads_counted) {
        /* 3.13t: list_append takes its own reference to x (inside the
         * section) and the stack's is dropped after: +x +x -x. */
        gh_object *item = gh_make_value(&op->value, globals, locals, rng);
        gh_list_append(ts, (struct gh_list *)(void *)o, gh_newref(item));
        gh_decref(item);
    } else
#endif
    gh_list_append(ts, (struct gh_list *)(void *)o, gh_make_value(&op->value, globals, locals, rng));
    if (GH_UNLIKELY(w->len_adds) && !op->on.local)
        w->len_adds[op->on.slot]++;
    return true;
}

GH_INLINE bool exec_list_pop(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals);
    if (!o)
        return false;
    gh_object *item = gh_list_pop(ts, (struct gh_list *)(void *)o);
    if (GH_UNLIKELY(w->len_removes) && item && !op->on.local)
        w->len_removes[op->on.slot]++;
    if (!(item = item_ok(item)))
        return false;
    gh_decref(item);
    return true;
}

GH_INLINE bool exec_list_get(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals), *item;
    if (!o)
        return false;
    struct gh_list *l = (struct gh_list *)(void *)o;
    int64_t i = intarg(&op->index, gh_list_len(l), rng, w);
    if (!(item = item_ok(gh_list_get(ts, l, i))))
        return false;
    gh_decref(item);
    return true;
}

GH_INLINE bool exec_list_set(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals), *item;
    if (!o)
        return false;
    struct gh_list *l = (struct gh_list *)(void *)o;
    int64_t i = intarg(&op->index, gh_list_len(l), rng, w);
    gh_object *v = gh_make_value(&op->value, globals, locals, rng);
    if (!(item = gh_list_set(ts, l, i, v))) {
        gh_decref(v);
        return false;
    }
    gh_decref(item);
    return true;
}

GH_INLINE bool exec_list_len(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals);
    if (!o)
        return false;
    w->sink += (uint64_t)gh_list_len((struct gh_list *)(void *)o);
    return true;
}

/* x = t[i]: +item, -old x (the load of t is exec_op_raw's). A tuple never
 * changes: no lock. */
GH_INLINE bool exec_tuple_get(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_TUPLE, globals, locals), *item;
    if (!o)
        return false;
    int64_t n = gh_tuple_len(o);
    int64_t i = intarg(&op->index, n, rng, w);
    if (i < 0 || i >= n || !(item = item_ok(gh_tuple_get(o, i))))
        return false;
    bind_or_release(w, op, locals, gh_newref(item));
    return true;
}

GH_INLINE bool exec_list_move(EXEC_PARAMS)
{
    gh_object *from = target(&op->from, GH_KIND_LIST, globals, locals), *o;
    if (!from || !(o = target(&op->on, GH_KIND_LIST, globals, locals)))
        return false;
    /* `on.append(from.pop())`: `from` is loaded too (no switch point
     * inside the op, so a C local holds it). */
    gh_stackref src = gh_model.loads_counted ? gh_stackref_new(from) : 0;
    bool moved = gh_list_move(ts, (struct gh_list *)(void *)from, (struct gh_list *)(void *)o);
    gh_stackref_close(src);
    if (!moved)
        return false;
    /* The checked mode's length invariant: a pop from one, an append to
     * the other. */
    if (GH_UNLIKELY(w->len_removes) && !op->from.local)
        w->len_removes[op->from.slot]++;
    if (GH_UNLIKELY(w->len_adds) && !op->on.local)
        w->len_adds[op->on.slot]++;
    return true;
}

GH_INLINE bool exec_list_iter(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LIST, globals, locals);
    return o && iter_list(w, ts, o);
}

GH_INLINE bool exec_dict_iter(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_DICT, globals, locals);
    return o && iter_dict(w, ts, o);
}

GH_INLINE bool exec_dict_set(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_DICT, globals, locals);
    if (!o)
        return false;
#if defined(GH_FL_SYNC_OBJLOCK)
    if (gh_model.loads_counted) {
        /* 3.13t's STORE_SUBSCR: the stack's key and value are passed to
         * PyDict_SetItem, which takes references of its own (+k +v), and
         * dropped after (-v -d -k). */
        gh_object *key = op_key(op, rng, w);
        gh_object *item = gh_make_value(&op->value, globals, locals, rng);
        int added = gh_dict_set_added(ts, (struct gh_dict *)(void *)o, gh_newref(key),
                                      gh_newref(item));
        if (GH_UNLIKELY(w->len_adds) && added == 1 && !op->on.local)
            w->len_adds[op->on.slot]++; /* the checked mode's length invariant */
        gh_decref(item);
        gh_decref(key);
        return true;
    }
#endif
    if (GH_UNLIKELY(w->len_adds) && !op->on.local) {
        /* The checked mode: a new key counts for the length invariant. */
        if (gh_dict_set_added(ts, (struct gh_dict *)(void *)o, op_key(op, rng, w),
                              gh_make_value(&op->value, globals, locals, rng)) == 1)
            w->len_adds[op->on.slot]++;
        return true;
    }
    gh_dict_set(ts, (struct gh_dict *)(void *)o, op_key(op, rng, w),
                gh_make_value(&op->value, globals, locals, rng));
    return true;
}

GH_INLINE bool exec_dict_get(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_DICT, globals, locals);
    if (!o)
        return false;
    gh_object *key = op_key(op, rng, w);
    gh_object *item = gh_dict_get(ts, (struct gh_dict *)(void *)o, key);
    bool ok = item != NULL;
    if (item)
        gh_decref(item);
    gh_decref(key);
    return ok;
}

GH_INLINE bool exec_dict_del(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_DICT, globals, locals);
    if (!o)
        return false;
    gh_object *key = op_key(op, rng, w);
    bool ok = gh_dict_del(ts, (struct gh_dict *)(void *)o, key);
    gh_decref(key);
    if (GH_UNLIKELY(w->len_removes) && ok && !op->on.local)
        w->len_removes[op->on.slot]++;
    return ok;
}

GH_INLINE bool exec_compute(EXEC_PARAMS)
{
    if (op->on.slot >= 0) {
        gh_object *o = op->on.local ? frame_get(locals, op->on.slot) : globals[op->on.slot];
        if (!o)
            return false;
        GH_BEGIN_CS(ts, o)
        w->sink += compute(op->iters, w->sink | 1);
        GH_END_CS(ts)
    } else {
        w->sink += compute(op->iters, w->sink | 1);
    }
    return true;
}

GH_INLINE bool exec_io(EXEC_PARAMS)
{
    gh_sync_block_begin(ts);
    gh_sleep_ns(op->io_ns);
    gh_sync_block_end(ts);
    return true;
}

/* L.acquire(): fails when this thread already holds L (CPython would wait
 * forever: a Lock is not reentrant). */
GH_INLINE bool exec_lock_acquire(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LOCK, globals, locals);
    return o && gh_lock_acquire(ts, (struct gh_lock *)(void *)o);
}

/* L.release(): fails when L is not locked (CPython's RuntimeError). */
GH_INLINE bool exec_lock_release(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_LOCK, globals, locals);
    return o && gh_lock_release(ts, (struct gh_lock *)(void *)o);
}

/* The body of one op (exec_op_raw has loaded its container): a direct call
 * of the executor GH_OPS names for its kind. */
/* The object model's ops (GH_OPF_OUTLINE): one call from the measured
 * loop, so its copies hold one call site for all of them, not one each. */
static GH_NOINLINE bool exec_op_model(EXEC_PARAMS)
{
    switch (op->kind) {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc)                 \
    case GH_OP_##e:                                                            \
        if ((flags) & GH_OPF_OUTLINE)                                          \
            return exec(w, ts, op, globals, locals, rng, snaps);               \
        break;
    GH_OPS(GH_X_)
#undef GH_X_
    case GH_OP_COUNT:
        break;
    }
    return false;
}

GH_INLINE bool exec_op_body(EXEC_PARAMS)
{
    switch (op->kind) {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc)                 \
    case GH_OP_##e:                                                            \
        if ((flags) & GH_OPF_OUTLINE)                                          \
            return exec_op_model(w, ts, op, globals, locals, rng, snaps);      \
        return exec(w, ts, op, globals, locals, rng, snaps);
    GH_OPS(GH_X_)
#undef GH_X_
    case GH_OP_COUNT:
        break;
    }
    return false;
}

/* An op as it is written, without `with` or a tally.
 *
 * An op on a named container first loads the name onto the evaluation
 * stack (LOAD_FAST, LOAD_GLOBAL) and drops it after (`L.append(x)`: +L ...
 * -L). CPython 3.13 counts both in either build: the container's count is
 * written twice per statement, by every thread that uses it, and in 3.13t
 * it shares the header's cache line with the container's lock. The
 * reference sits in the frame's stack slot for the op's length, where the
 * census and the collector see it across list.iter's and dict.iter's switch
 * points; a deferred object's is uncounted (deferred=on), an immortal one's
 * writes nothing. loads=borrowed is 3.14's LOAD_FAST_BORROW: no count. One
 * test per op: the op's flag and the run's, read together. */
GH_INLINE bool exec_op_plain(struct gh_worker *w, struct gh_tstate *ts, const struct gh_op *op,
                             gh_object **globals, gh_stackref *locals, struct gh_rng *rng,
                             struct gh_trace_snapshot **snaps)
{
    if (op->loads_on & gh_model.loads_counted) {
        gh_object *o = target_any(&op->on, globals, locals);
        if (GH_LIKELY(o && !gh_is_freed(o))) {
            const int stack = w->frame_slots - 1;
            frame_put(locals, stack, gh_stackref_new(o));
            bool ok = exec_op_body(w, ts, op, globals, locals, rng, snaps);
            frame_put(locals, stack, 0);
            return ok;
        }
    }
    return exec_op_body(w, ts, op, globals, locals, rng, snaps);
}

static GH_NOINLINE bool exec_op_special(EXEC_PARAMS);

/* Executes one op; false when it failed (the model's IndexError/KeyError).
 * Inlined into the measured loop's fast copies (no call, no argument
 * passing, no prologue per op); everything else calls exec_op_outline.
 * An op with `with: L`, or whose outcome a count(OP, X) or failed(OP, X)
 * reads (gh_op.special, set when the file is read), goes out of line;
 * every other op pays one test of one byte for them. */
GH_INLINE bool exec_op_raw(struct gh_worker *w, struct gh_tstate *ts, const struct gh_op *op,
                           gh_object **globals, gh_stackref *locals, struct gh_rng *rng,
                           struct gh_trace_snapshot **snaps)
{
    if (GH_UNLIKELY(op->special))
        return exec_op_special(w, ts, op, globals, locals, rng, snaps);
    return exec_op_plain(w, ts, op, globals, locals, rng, snaps);
}

/* `with: L`: `with L: statement`: L's __enter__ (acquire, waiting as
 * lock.acquire does), the statement, its __exit__ (release). The
 * references BEFORE_WITH takes to L (its bound __exit__) are not modelled.
 * The lock is released whatever the op's outcome. Fails without running
 * the op when this thread already holds L (CPython would wait forever).
 *
 * A tally (op->tally >= 0): the op's outcome, done or failed, is counted
 * for the pair (its kind, its `on`) of s->tallies as well, once, here,
 * whichever loop or hook ran it; the caller counts it per kind as for any
 * op. (A fault in the checked mode never returns here: exec_op_checked
 * counts that failure.) */
static GH_NOINLINE bool exec_op_special(EXEC_PARAMS)
{
    struct gh_lock *held = NULL;
    bool ok = true;
    if (op->with >= 0) {
        gh_object *o = item_ok(globals[op->with]);
        struct gh_lock *l =
            o && o->ob_type->kind == GH_KIND_LOCK ? (struct gh_lock *)(void *)o : NULL;
        ok = l && gh_lock_acquire(ts, l);
        held = ok ? l : NULL;
    }
    if (ok) {
        ok = exec_op_plain(w, ts, op, globals, locals, rng, snaps);
        if (held)
            gh_lock_release(ts, held);
    }
    if (op->tally >= 0) {
        struct gh_op_tally *t = &w->tally[op->tally];
        if (ok)
            t->done++;
        else
            t->failed++;
    }
    return ok;
}

static GH_NOINLINE bool exec_op_outline(struct gh_worker *w, struct gh_tstate *ts,
                                        const struct gh_op *op, gh_object **globals,
                                        gh_stackref *locals, struct gh_rng *rng,
                                        struct gh_trace_snapshot **snaps)
{
    return exec_op_raw(w, ts, op, globals, locals, rng, snaps);
}

/* The checked mode: the op runs with a way back. A memory fault inside it
 * (an unprotected strategy read a pointer another thread was freeing) is
 * a hazard: the fault handler (run.c) jumps back here, the op is abandoned
 * and counted as failed, and the thread's per-op state is reset. What the
 * op had half done stays half done: that is what the strategy allowed. */
static GH_NOINLINE bool exec_op_checked(struct gh_worker *w, struct gh_tstate *ts,
                                        const struct gh_op *op, gh_object **globals,
                                        gh_stackref *locals, struct gh_rng *rng,
                                        struct gh_trace_snapshot **snaps)
{
    sigjmp_buf jb;
    ts->cur_op = gh_op_names[op->kind];
    if (sigsetjmp(jb, 0)) {
        gh_tstate_after_fault(ts);
        gh_model_after_fault(ts);
        /* An op abandoned inside `with: L` leaves L to the thread that
         * took it: released here, as the with's __exit__ would. */
        gh_object *l = op->with >= 0 ? globals[op->with] : NULL;
        if (l && l->ob_type->kind == GH_KIND_LOCK &&
            gh_lock_held_by_me(ts, (struct gh_lock *)(void *)l))
            gh_lock_release(ts, (struct gh_lock *)(void *)l);
        /* Its tally (exec_op_special) was not reached: the failure the
         * caller counts is counted for its target too. */
        if (op->tally >= 0)
            w->tally[op->tally].failed++;
        return false;
    }
    ts->fault_jmp = &jb;
    bool ok = exec_op_outline(w, ts, op, globals, locals, rng, snaps);
    ts->fault_jmp = NULL;
    return ok;
}

GH_INLINE bool exec_op(struct gh_worker *w, struct gh_tstate *ts, const struct gh_op *op,
                       gh_object **globals, gh_stackref *locals, struct gh_rng *rng,
                       struct gh_trace_snapshot **snaps)
{
    if (GH_UNLIKELY(gh_model.checked))
        return exec_op_checked(w, ts, op, globals, locals, rng, snaps);
    return exec_op_outline(w, ts, op, globals, locals, rng, snaps);
}

/* While tracing, the op's allocations are charged to its line. */
GH_INLINE void trace_site(struct gh_tstate *ts, const char *file, const struct gh_op *op)
{
    if (GH_UNLIKELY(gh__trace_enabled_relaxed())) {
        ts->trace_file = file;
        ts->trace_line = op->line;
    }
}

/* init and after: in order, once, not timed. Only the ops that check
 * something (is, eq, show, assert) are counted, so failed(assert) sees an
 * assert wherever it is written. */
static void run_untimed(struct gh_worker *w, struct gh_tstate *ts, const struct gh_op *ops,
                        int n, gh_object **globals, gh_stackref *locals, struct gh_rng *rng,
                        struct gh_trace_snapshot **snaps)
{
    const char *file = w->run->s->file;
    for (int i = 0; i < n; i++) {
        trace_site(ts, file, &ops[i]);
        bool ok = exec_op(w, ts, &ops[i], globals, locals, rng, snaps);
        enum gh_op_kind k = ops[i].kind;
        if (k == GH_OP_IS || k == GH_OP_EQ || k == GH_OP_SHOW || k == GH_OP_ASSERT)
            ok ? w->res->op[k].done++ : w->res->op[k].failed++;
        gh_switch_point(ts);
    }
}

/* The measured loop's state: what worker_main set up, in one place. */
struct loop {
    struct gh_worker *w;
    struct gh_tstate *ts;
    const struct gh_role *role;
    gh_object **globals;
    gh_stackref *locals;
    struct gh_rng *rng, *choice;
    struct gh_trace_snapshot **snaps;
    const uint64_t *cumulative;  /* the mix's running sums of weights */
    const char *file;
    uint64_t limit;              /* ops; UINT64_MAX in duration mode */
    uint64_t period;             /* latency sample: time every period-th op; 0 none */
    const int *stop;             /* run->stop */
};

/* How the loop picks its next op; fixed for a run. */
enum pick {
    PICK_SCRIPT,   /* the script's next step */
    PICK_ONE,      /* a mix of one op: always it, no draw */
    PICK_EQUAL,    /* a mix of equal weights: one draw below the op count */
    PICK_WEIGHTED, /* a draw below the total weight, then the running sums */
};

/* The stop flag is read before the first op and then every this many ops
 * (and before each timed op): a stop asked for in the middle of a stretch
 * lets the worker finish it, under a microsecond of ops. */
#define STOP_CHECK_EVERY 16

/* What the pick reads, copied out of the role once: through the loop's
 * pointers the compiler would load them again after every op (an op may
 * write memory). */
struct pick_state {
    const struct gh_op *ops;
    int nops;
    uint64_t total_weight;
    const uint64_t *cumulative;  /* the mix's running sums of weights */
    struct gh_rng *choice;
};

/* The next op, as the role's pick says (`next`: the script's next step).
 * The weighted pick counts the running sums at or below the draw with no
 * early exit: the index of the first sum above it, without a mispredicted
 * branch per op. */
GH_INLINE const struct gh_op *next_op(const enum pick pick, const struct pick_state p,
                                      struct gh_worker *w, int *next)
{
    if (pick == PICK_SCRIPT) {
        if (*next == p.nops) { /* the script starts again: a new pass */
            *next = 0;
            w->pass++;
        }
        return &p.ops[(*next)++];
    }
    if (pick == PICK_ONE)
        return p.ops;
    if (pick == PICK_EQUAL)
        return &p.ops[gh_rng_below(p.choice, (uint64_t)p.nops)];
    uint64_t r = gh_rng_below(p.choice, p.total_weight);
    int i = 0;
    for (int j = 0; j < p.nops - 1; j++)
        i += p.cumulative[j] <= r;
    return &p.ops[i];
}

/* The measured phase: ops until the limit or the stop flag, each counted
 * and followed by a switch point; ops 0, period, 2*period... timed. Always
 * inlined with `hooks` constant: the fast copy has the op executors inlined
 * and no hook; the other calls them through exec_op, as timed ops do. The counters are the
 * worker's result's, which the ops' expressions (count(), failed()) read
 * as they go. */
GH_INLINE uint64_t measured_loop(const struct loop *L, const enum pick pick, const bool hooks)
{
    struct gh_worker *w = L->w;
    struct gh_tstate *ts = L->ts;
    gh_object **globals = L->globals;
    gh_stackref *locals = L->locals;
    struct gh_rng *rng = L->rng;
    struct gh_trace_snapshot **snaps = L->snaps;
    const char *file = L->file;
    const uint64_t limit = L->limit, period = L->period;
    struct gh_op_result *results = w->res->op;
    const struct pick_state ps = {L->role->ops, L->role->nops, L->role->total_weight,
                                  L->cumulative, L->choice};
    const int *stop = L->stop;
    uint64_t n = 0, next_timed = period ? 0 : UINT64_MAX; /* time ops 0, period, 2*period... */
    int next = 0;
    while (n < limit && !gh_atomic_load_relaxed_int(stop)) {
        /* Relaxed, pairs with nothing: a progress count (runner_internal.h). */
        gh_atomic_store_relaxed_u64(&w->ops_live, n);
        const struct gh_op *op;
        if (GH_UNLIKELY(n == next_timed)) {
            /* Timed: the op through exec_op, a call (its sample is the
             * op, the call and the two clock reads). */
            op = next_op(pick, ps, w, &next);
            gh_atomic_store_relaxed_u32(&w->op_live, (uint32_t)op->kind + 1u); /* as below */
            if (hooks)
                trace_site(ts, file, op);
            struct gh_op_result *or = &results[op->kind];
            next_timed += period;
            uint64_t t0 = gh_now_ns();
            bool ok = exec_op(w, ts, op, globals, locals, rng, snaps);
            uint64_t t1 = gh_now_ns();
            gh_hist_add(&or->latency, t1 - t0);
            gh_tl_record(ts, GH_TL_OP, t0, t1, NULL, (int32_t)op->kind);
            ok ? or->done++ : or->failed++;
            n++;
            gh_switch_point(ts);
            continue;
        }
        /* A stretch of untimed ops: up to the next timed one, the limit or
         * STOP_CHECK_EVERY ops, whichever comes first. */
        uint64_t until = limit - n < STOP_CHECK_EVERY ? limit : n + STOP_CHECK_EVERY;
        if (next_timed < until)
            until = next_timed;
        do {
            op = next_op(pick, ps, w, &next);
            /* Relaxed, pairs with nothing: for the watchdog. */
            gh_atomic_store_relaxed_u32(&w->op_live, (uint32_t)op->kind + 1u);
            if (hooks)
                trace_site(ts, file, op);
            struct gh_op_result *or = &results[op->kind];
            bool ok = hooks ? exec_op(w, ts, op, globals, locals, rng, snaps)
                            : exec_op_raw(w, ts, op, globals, locals, rng, snaps);
            if (GH_LIKELY(ok))
                or->done++;
            else
                or->failed++;
            gh_switch_point(ts);
        } while (++n < until);
    }
    return n;
}

/* The loop without hooks, the op executors inlined into it; and the loop
 * with them (the checked mode, tracing), which calls them. The pick is a
 * test of a loop-invariant value, predicted every time: one copy of the
 * executors for every pick keeps the flavour's code small. */
static GH_NOINLINE uint64_t measured_loop_fast(const struct loop *L, enum pick pick)
{
    return measured_loop(L, pick, false);
}

static GH_NOINLINE uint64_t measured_loop_hooks(const struct loop *L, enum pick pick)
{
    return measured_loop(L, pick, true);
}

/* A thread that ends holding a lock (a lock.acquire without its release)
 * releases it, so no other thread waits for it for ever; CPython would
 * leave it locked. Those releases are not counted as ops. */
static void release_held_locks(struct gh_run_shared *run, struct gh_tstate *ts)
{
    for (int i = 0; i < run->s->nglobals; i++) {
        gh_object *o = run->s->globals[i].type == GH_NEW_LOCK ? run->globals[i] : NULL;
        if (o && o->ob_type->kind == GH_KIND_LOCK &&
            gh_lock_held_by_me(ts, (struct gh_lock *)(void *)o))
            gh_lock_release(ts, (struct gh_lock *)(void *)o);
    }
}

/* The frame dies: every slot cleared (the collector reads the frame) and
 * its reference released. In the checked mode a fault while a local is
 * released (what an unsafe strategy left behind: a count too low, a freed
 * weak reference's list) is a hazard, as in an op: that slot is already
 * cleared, its object left as it was, and the next slot is taken. */
static void clear_frame(struct gh_worker *w, struct gh_tstate *ts, gh_stackref *locals)
{
    sigjmp_buf jb;
    volatile int i = 0;
    if (gh_model.checked) {
        if (sigsetjmp(jb, 0)) {
            gh_tstate_after_fault(ts);
            gh_model_after_fault(ts);
            i++;
        }
        ts->fault_jmp = &jb;
    }
    for (; i < w->frame_slots; i++)
        frame_put(locals, i, 0);
    ts->fault_jmp = NULL;
}

static void *worker_main(void *arg)
{
    struct gh_worker *w = arg;
    struct gh_run_shared *run = w->run;
    const struct gh_role *role = &run->s->roles[w->role];
    struct gh_thread_result *res = w->res;
    struct gh_tstate *ts = &w->ts;
    const char *file = run->s->file;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", w->index);
    gh_tstate_bind(ts, w->index, name);
    ts->tl = w->tl;
    gh_lockprof_attach(ts, w->lp);
    gh_alloc_thread_attach();
    tl_worker = w;

    gh_object **globals = run->globals;
    gh_stackref *locals = w->frame; /* run.c's, zeroed: nothing bound */
    struct gh_trace_snapshot **snaps =
        calloc((size_t)(role->nlocals ? role->nlocals : 1), sizeof *snaps);
    uint64_t *cumulative = calloc((size_t)(role->nops ? role->nops : 1), sizeof *cumulative);
    gh_assert(locals && cumulative && snaps);
    uint64_t acc = 0;
    for (int i = 0; i < role->nops; i++)
        cumulative[i] = acc += role->ops[i].weight;
    /* Two streams per thread: `choice` picks the ops and nothing else, so
     * a thread's op sequence depends only on the seed; `rng` draws operands
     * (values, keys, indices), whose ranges may depend on what other threads
     * did (a random index below the current length). */
    struct gh_rng choice, rng;
    gh_rng_seed(&choice, run->seed, 2 * (uint64_t)w->index);
    gh_rng_seed(&rng, run->seed, 2 * (uint64_t)w->index + 1);

    /* The role's init ops: before the measured phase, not counted. The
     * phase stores are relaxed and pair with nothing (runner_internal.h). */
    gh_atomic_store_relaxed_u32(&w->phase, GH_WPHASE_INIT);
    gh_sync_thread_start(ts);
    gh_rc_thread_start(ts);
    run_untimed(w, ts, role->init, role->ninit, globals, locals, &rng, snaps);
    gh_rc_thread_stop(ts);
    gh_sync_thread_stop(ts);

    gh_atomic_store_relaxed_u32(&w->phase, GH_WPHASE_READY);
    int rc = pthread_barrier_wait(&run->start);
    gh_assert(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
    gh_atomic_store_relaxed_u32(&w->phase, GH_WPHASE_RUNNING);
    w->t_start = gh_now_ns();
    gh_sync_thread_start(ts);
    gh_rc_thread_start(ts);

    /* The census may count this frame's locals from here to the loop's
     * end: the thread holds the GIL or is attached while it writes the
     * pointer, the census reads it with the GIL or the world stopped. */
    w->census_frame = locals;
    struct loop L = {
        .w = w, .ts = ts, .role = role, .globals = globals, .locals = locals, .rng = &rng,
        .choice = &choice, .snaps = snaps, .cumulative = cumulative, .file = file,
        .limit = run->once ? (uint64_t)role->nops : run->ops_limit,
        .period = run->latency_sample, .stop = &run->stop,
    };
    /* What is fixed for the run is decided here, once: the checked mode
     * and tracing (a trace.* op in the scenario, or tracing already on)
     * need the loop with the hooks, every other run the fast one; a mix of
     * one op needs no draw (`choice` picks ops and nothing else), a mix of
     * equal weights draws below the op count (the same index as the
     * weighted scan: floor(floor(x*n*w)/w) = floor(x*n)). */
    const bool hooks = gh_model.checked || run->s->tracing || gh__trace_enabled_relaxed();
    enum pick pick = role->script ? PICK_SCRIPT : role->nops == 1 ? PICK_ONE : PICK_EQUAL;
    for (int i = 1; pick == PICK_EQUAL && i < role->nops; i++)
        if (role->ops[i].weight != role->ops[0].weight)
            pick = PICK_WEIGHTED;
    uint64_t n = hooks ? measured_loop_hooks(&L, pick) : measured_loop_fast(&L, pick);
    w->t_stop = gh_now_ns();
    /* Relaxed, pairs with nothing: a progress count (runner_internal.h). */
    gh_atomic_store_relaxed_u64(&w->ops_live, n);
    res->ops = n;
    w->census_frame = NULL; /* its after ops hold what no root shows */

    gh_atomic_store_relaxed_u32(&w->op_live, 0);
    gh_atomic_store_relaxed_u32(&w->phase, GH_WPHASE_AFTER);
    /* The role's after ops, then the frame dies: its locals are released,
     * still inside the model. */
    run_untimed(w, ts, role->after, role->nafter, globals, locals, &rng, snaps);
    release_held_locks(run, ts);
    clear_frame(w, ts, locals);
    gh_rc_thread_stop(ts);
    /* The checked mode's quarantine is freed while the thread still holds
     * what protects the allocator (the GIL, or its attachment), and, under
     * gc=nostop, while no collection runs (gc.h, gh_gc_exclude_begin). */
    gh_gc_exclude_begin(ts);
    gh_quarantine_flush();
    gh_gc_exclude_end(ts);
    gh_sync_thread_stop(ts);
    for (int i = 0; i < role->nlocals; i++)
        gh_trace_snapshot_free(snaps[i]);

    for (int c = 0; c < GH_LOCK_NCLASSES; c++)
        res->locks[c] = ts->locks[c];
    res->hazards = ts->hazards;
    res->rc = (struct gh_rc_stats){ts->brc_shared_decrefs, ts->brc_queued, ts->brc_merged,
                                   ts->lockfree_list_fallbacks, ts->lockfree_dict_fallbacks};
    free(snaps);
    free(cumulative);
    tl_worker = NULL;
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    gh_atomic_store_relaxed_u32(&w->phase, GH_WPHASE_DONE); /* as above */
    return NULL;
}

/* ---- setup, teardown, introspection ------------------------------------- */

static void setup(struct gh_run_shared *run, struct gh_rng *rng)
{
    const struct gh_scenario *s = run->s;
    cur_run = run;
    for (int i = 0; i < s->nconsts; i++)
        run->consts[i] = gh_str_const(s->consts[i]);
    for (int i = 0; i < s->nglobals; i++) {
        run->classes[i] = (struct gh_class_ctx){run, i};
        gh_object *o = make_obj(&s->globals[i], run->globals, NULL, rng, false, i);
        if (!o) /* a frozenset of unhashable items: an empty one */
            o = gh_frozenset_new(NULL, 0);
        maybe_defer(o, true); /* bound at module level */
        run->globals[i] = o;
    }
}

static void teardown(struct gh_run_shared *run)
{
    for (int i = 0; i < run->s->nconsts; i++) {
        gh_object *o = run->consts[i];
        run->consts[i] = NULL;
        if (o)
            gh_decref(o);
    }
    for (int i = 0; i < run->s->nglobals; i++) {
        gh_object *o = run->globals[i];
        run->globals[i] = NULL;
        if (o)
            gh_decref(o);
    }
    cur_run = NULL;
}

static gh_object *make_global(const struct gh_global *g, struct gh_rng *rng)
{
    return make_obj(g, NULL, NULL, rng, false, -1);
}

static void decref_generic(gh_object *o) { gh_decref(o); }

static int64_t len_generic(gh_object *o)
{
    switch (o->ob_type->kind) {
    case GH_KIND_LIST: return gh_list_len((struct gh_list *)(void *)o);
    case GH_KIND_DICT: return gh_dict_len((struct gh_dict *)(void *)o);
    case GH_KIND_SET: return gh_set_len((struct gh_set *)(void *)o);
    default: return -1;
    }
}

/* The `gc:` section, after setup (main thread, no worker yet). */
static void gc_setup(struct gh_run_shared *run)
{
    const struct gh_scenario_gc *g = &run->s->gc;
    if (g->nthresholds) {
        int64_t t[GH_GC_NGENS];
        gh_gc_get_threshold(t);
        for (int i = 0; i < g->nthresholds; i++)
            t[i] = g->thresholds[i];
        gh_gc_set_threshold(t[0], t[1], t[2]);
    }
    if (g->enabled == 0)
        gh_gc_disable();
    else if (g->enabled == 1 && gh_gcstate.mode != GH_GC_OFF)
        gh_gc_enable();
    if (g->saveall)
        gh_gc_set_debug(gh_gc_get_debug() | GH_GC_DEBUG_SAVEALL);
    if (run->s->reads_gc_garbage)
        (void)gh_gc_garbage(); /* made now, read by the threads */
    if (g->freeze)
        gh_gc_freeze(gh_tstate_get());
}

static void gc_teardown(struct gh_run_shared *run)
{
    if (run->s->gc_freezes)
        gh_gc_unfreeze(gh_tstate_get());
}

const struct gh_scenario_fl GH_FL(gh_scenario_fl) = {
    .setup = setup,
    .teardown = teardown,
    .immortals_start = immortals_start,
    .immortals_release = immortals_release,
    .eval_object = gh_eval_object,
    .gc_setup = gc_setup,
    .gc_teardown = gc_teardown,
};

/* ---- microbenchmarks of the hot primitives (bench/dispatch.c) ---------- */

static double per_iter(uint64_t t0, uint64_t iters)
{
    return (double)(gh_now_ns() - t0) / (double)iters;
}

static void bench(struct gh_bench_costs *out, uint64_t iters)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_object *o = gh_instance_new();
    gh_object *l = gh_list_new();
    uint64_t t0;

    t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        gh_incref(o);
        GH_COMPILER_BARRIER();
        gh_decref(o);
        GH_COMPILER_BARRIER();
    }
    out->incdec_ns = per_iter(t0, iters);

#if defined(GH_FL_SYNC_GIL)
    /* Under the GIL a container operation takes no lock; the lock a
     * thread pays for is the GIL itself, taken and dropped uncontended. */
    t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        gh_gil_take(ts);
        GH_COMPILER_BARRIER();
        gh_gil_drop(ts);
        GH_COMPILER_BARRIER();
    }
    out->lock_ns = per_iter(t0, iters);
#else
    t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        GH_BEGIN_CS(ts, o)
        GH_COMPILER_BARRIER();
        GH_END_CS(ts)
        GH_COMPILER_BARRIER();
    }
    out->lock_ns = per_iter(t0, iters);
#endif

    struct gh_list *lp = (struct gh_list *)(void *)l;
    /* Two items stay in the list: the loop moves between lengths 2 and 3,
     * inside one allocation, so it measures the operations' fast paths (at
     * 1 <-> 2 CPython's shrink rule would resize on every pop). */
    gh_list_append(ts, lp, gh_newref(o));
    gh_list_append(ts, lp, gh_newref(o));
    t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        gh_list_append(ts, lp, gh_newref(o));
        GH_COMPILER_BARRIER();
        gh_decref(gh_list_pop(ts, lp));
        GH_COMPILER_BARRIER();
    }
    out->append_pop_ns = per_iter(t0, iters);

    gh_decref(l);
    gh_decref(o);
}

const struct gh_flavor GH_FL(gh_flavor) = {
    .name = GH_STR(GH_FL_SUFFIX),
    .sync = GH_FL_SYNC_KIND,
    .rc = GH_FL_RC_KIND,
    .init = gh_model_init,
    .fini = gh_model_fini,
    .worker_main = worker_main,
    .make_global = make_global,
    .decref = decref_generic,
    .len = len_generic,
    .gc_collect = gh_gc_collect,
    .gc_fini = gh_gc_fini,
    .census = gh_census_run,
    .bench = bench,
};
