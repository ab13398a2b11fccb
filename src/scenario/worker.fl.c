/* worker.fl.c - the measured loop, compiled once per flavour.
 *
 * A worker picks its next op (weighted mix or looped script) with its own
 * seeded PRNG, executes it, counts it, and passes a switch point; nothing
 * between two switch points can be interrupted by the model. Each
 * container, refcount and lock operation below inlines the flavour's code:
 * there is no indirect call on this path.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/hist.h"
#include "base/rng.h"
#include "containers/containers.h"
#include "scenario/flavor.h"
#include "scenario/runner_internal.h"

static gh_object *make_new(enum gh_newtype t, struct gh_rng *rng)
{
    switch (t) {
    case GH_NEW_OBJECT: return GH_FL(gh_instance_new)();
    case GH_NEW_INT: return gh_int_new((int64_t)gh_rng_below(rng, 1000000));
    case GH_NEW_LIST: return GH_FL(gh_list_new)();
    case GH_NEW_DICT: return GH_FL(gh_dict_new)();
    }
    return gh_none_new();
}

/* A new reference to what `v` makes or names. */
static gh_object *make_value(const struct gh_value *v, gh_object **globals,
                             gh_object **locals, struct gh_rng *rng)
{
    switch (v->kind) {
    case GH_VAL_NONE_OBJ: return gh_none_new();
    case GH_VAL_OBJECT: return GH_FL(gh_instance_new)();
    case GH_VAL_INT:
        return gh_int_new((int64_t)gh_rng_below(rng, (uint64_t)(v->range > 0 ? v->range : 1000000)));
    case GH_VAL_SMALL_INT:
        return gh_int_new(GH_SMALL_INT_MIN + (int64_t)gh_rng_below(rng, GH_SMALL_INT_COUNT));
    case GH_VAL_LIST: return GH_FL(gh_list_new)();
    case GH_VAL_DICT: return GH_FL(gh_dict_new)();
    case GH_VAL_GLOBAL: return gh_newref(globals[v->slot]);
    case GH_VAL_LOCAL: return locals[v->slot] ? gh_newref(locals[v->slot]) : gh_none_new();
    }
    return gh_none_new();
}

static int64_t intarg(const struct gh_intarg *a, int64_t random_range, struct gh_rng *rng)
{
    if (!a->random)
        return a->value;
    int64_t range = a->range > 0 ? a->range : random_range;
    return range > 0 ? (int64_t)gh_rng_below(rng, (uint64_t)range) : 0;
}

/* The object `t` names, if it has the expected kind; else NULL (the op
 * fails: an unbound local, or a local bound to another type). Borrowed. */
GH_INLINE gh_object *target(const struct gh_target *t, enum gh_kind kind,
                            gh_object **globals, gh_object **locals)
{
    gh_object *o = t->local ? locals[t->slot] : globals[t->slot];
    return (o && o->ob_type->kind == kind) ? o : NULL;
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

/* Executes one op; false when it failed (the model's IndexError/KeyError). */
static bool exec_op(struct gh_worker *w, struct gh_tstate *ts, const struct gh_op *op,
                    gh_object **globals, gh_object **locals, struct gh_rng *rng)
{
    gh_object *o, *item;
    switch (op->kind) {
    case GH_OP_NEW:
        o = make_new(op->type, rng);
        item = locals[op->on.slot];
        locals[op->on.slot] = o;
        if (item)
            gh_decref(item);
        return true;
    case GH_OP_DROP:
        item = locals[op->on.slot];
        if (!item)
            return false;
        locals[op->on.slot] = NULL;
        gh_decref(item);
        return true;
    case GH_OP_LIST_APPEND:
        if (!(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        gh_list_append(ts, (struct gh_list *)(void *)o, make_value(&op->value, globals, locals, rng));
        return true;
    case GH_OP_LIST_POP:
        if (!(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        if (!(item = gh_list_pop(ts, (struct gh_list *)(void *)o)))
            return false;
        gh_decref(item);
        return true;
    case GH_OP_LIST_GET: {
        if (!(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        struct gh_list *l = (struct gh_list *)(void *)o;
        int64_t i = intarg(&op->index, gh_list_len(l), rng);
        if (!(item = gh_list_get(ts, l, i)))
            return false;
        gh_decref(item);
        return true;
    }
    case GH_OP_LIST_SET: {
        if (!(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        struct gh_list *l = (struct gh_list *)(void *)o;
        int64_t i = intarg(&op->index, gh_list_len(l), rng);
        gh_object *v = make_value(&op->value, globals, locals, rng);
        if (!(item = gh_list_set(ts, l, i, v))) {
            gh_decref(v);
            return false;
        }
        gh_decref(item);
        return true;
    }
    case GH_OP_LIST_LEN:
        if (!(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        w->sink += (uint64_t)gh_list_len((struct gh_list *)(void *)o);
        return true;
    case GH_OP_LIST_MOVE: {
        gh_object *from = target(&op->from, GH_KIND_LIST, globals, locals);
        if (!from || !(o = target(&op->on, GH_KIND_LIST, globals, locals)))
            return false;
        return gh_list_move(ts, (struct gh_list *)(void *)from, (struct gh_list *)(void *)o);
    }
    case GH_OP_DICT_SET:
        if (!(o = target(&op->on, GH_KIND_DICT, globals, locals)))
            return false;
        GH_FL(gh_dict_set)(ts, (struct gh_dict *)(void *)o, gh_int_new(intarg(&op->key, 1000, rng)),
                           make_value(&op->value, globals, locals, rng));
        return true;
    case GH_OP_DICT_GET:
    case GH_OP_DICT_DEL: {
        if (!(o = target(&op->on, GH_KIND_DICT, globals, locals)))
            return false;
        gh_object *key = gh_int_new(intarg(&op->key, 1000, rng));
        bool ok;
        if (op->kind == GH_OP_DICT_GET) {
            item = GH_FL(gh_dict_get)(ts, (struct gh_dict *)(void *)o, key);
            ok = item != NULL;
            if (item)
                gh_decref(item);
        } else {
            ok = GH_FL(gh_dict_del)(ts, (struct gh_dict *)(void *)o, key);
        }
        gh_decref(key);
        return ok;
    }
    case GH_OP_COMPUTE:
        if (op->on.slot >= 0) {
            o = op->on.local ? locals[op->on.slot] : globals[op->on.slot];
            if (!o)
                return false;
            GH_BEGIN_CS(ts, o)
            w->sink += compute(op->iters, w->sink | 1);
            GH_END_CS(ts)
        } else {
            w->sink += compute(op->iters, w->sink | 1);
        }
        return true;
    case GH_OP_IO:
        gh_sync_block_begin(ts);
        gh_sleep_ns(op->io_ns);
        gh_sync_block_end(ts);
        return true;
    case GH_OP_COUNT:
        break;
    }
    return false;
}

static void *worker_main(void *arg)
{
    struct gh_worker *w = arg;
    struct gh_run_shared *run = w->run;
    const struct gh_role *role = &run->s->roles[w->role];
    struct gh_thread_result *res = w->res;
    struct gh_tstate *ts = &w->ts;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", w->index);
    gh_tstate_bind(ts, w->index, name);
    gh_alloc_thread_attach();

    gh_object **globals = run->globals;
    gh_object **locals = calloc((size_t)(role->nlocals ? role->nlocals : 1), sizeof *locals);
    uint64_t *cumulative = calloc((size_t)(role->nops ? role->nops : 1), sizeof *cumulative);
    gh_assert(locals && cumulative);
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

    /* The role's init ops: before the measured phase, not counted. */
    gh_sync_thread_start(ts);
    for (int i = 0; i < role->ninit; i++)
        (void)exec_op(w, ts, &role->init[i], globals, locals, &rng);
    gh_sync_thread_stop(ts);

    int rc = pthread_barrier_wait(&run->start);
    gh_assert(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
    w->t_start = gh_now_ns();
    gh_sync_thread_start(ts);

    const uint64_t limit = run->ops_limit, period = run->latency_sample;
    uint64_t n = 0, next_timed = period ? 0 : UINT64_MAX; /* time ops 0, period, 2*period... */
    int next = 0;
    while (n < limit && !gh_atomic_load_relaxed_int(&run->stop)) {
        const struct gh_op *op;
        if (role->script) {
            op = &role->ops[next];
            next = next + 1 == role->nops ? 0 : next + 1;
        } else {
            uint64_t r = gh_rng_below(&choice, role->total_weight);
            int i = 0;
            while (cumulative[i] <= r)
                i++;
            op = &role->ops[i];
        }
        struct gh_op_result *or = &res->op[op->kind];
        if (GH_UNLIKELY(n == next_timed)) {
            next_timed += period;
            uint64_t t0 = gh_now_ns();
            bool ok = exec_op(w, ts, op, globals, locals, &rng);
            gh_hist_add(&or->latency, gh_now_ns() - t0);
            ok ? or->done++ : or->failed++;
        } else if (exec_op(w, ts, op, globals, locals, &rng)) {
            or->done++;
        } else {
            or->failed++;
        }
        n++;
        gh_sync_checkpoint(ts);
    }
    w->t_stop = gh_now_ns();
    res->ops = n;

    /* The frame dies: its locals are released, still inside the model. */
    for (int i = 0; i < role->nlocals; i++)
        if (locals[i])
            gh_decref(locals[i]);
    gh_sync_thread_stop(ts);

    for (int c = 0; c < GH_LOCK_NCLASSES; c++)
        res->locks[c] = ts->locks[c];
    free(locals);
    free(cumulative);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* ---- setup, teardown, introspection ------------------------------------- */

static gh_object *make_global(const struct gh_global *g, struct gh_rng *rng)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_object *o;
    switch (g->type) {
    case GH_NEW_INT:
        return gh_int_new(g->int_value);
    case GH_NEW_LIST:
        o = GH_FL(gh_list_new)();
        for (int64_t i = 0; i < g->items; i++)
            gh_list_append(ts, (struct gh_list *)(void *)o, make_value(&g->value, NULL, NULL, rng));
        return o;
    case GH_NEW_DICT:
        o = GH_FL(gh_dict_new)();
        for (int64_t i = 0; i < g->items; i++)
            GH_FL(gh_dict_set)(ts, (struct gh_dict *)(void *)o, gh_int_new(i),
                               make_value(&g->value, NULL, NULL, rng));
        return o;
    case GH_NEW_OBJECT:
        break;
    }
    return GH_FL(gh_instance_new)();
}

static void decref_generic(gh_object *o) { gh_decref(o); }

static int64_t len_generic(gh_object *o)
{
    switch (o->ob_type->kind) {
    case GH_KIND_LIST: return gh_list_len((struct gh_list *)(void *)o);
    case GH_KIND_DICT: return gh_dict_len((struct gh_dict *)(void *)o);
    default: return -1;
    }
}

/* ---- microbenchmarks of the hot primitives (bench/dispatch.c) ---------- */

static double per_iter(uint64_t t0, uint64_t iters)
{
    return (double)(gh_now_ns() - t0) / (double)iters;
}

static void bench(struct gh_bench_costs *out, uint64_t iters)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_object *o = GH_FL(gh_instance_new)();
    gh_object *l = GH_FL(gh_list_new)();
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
#if defined(GH_FL_SYNC_GIL)
    .sync = GH_SYNC_GIL,
#else
    .sync = GH_SYNC_OBJLOCK,
#endif
#if defined(GH_FL_RC_PLAIN)
    .rc = GH_RC_PLAIN,
#else
    .rc = GH_RC_ATOMIC,
#endif
    .init = GH_FL(gh_model_init),
    .fini = GH_FL(gh_model_fini),
    .worker_main = worker_main,
    .make_global = make_global,
    .decref = decref_generic,
    .len = len_generic,
    .bench = bench,
};
