/* exec.h - what the executors of ops share (flavoured code only): a
 * worker's frame, an op's operands, and the executors of the object
 * model's ops, which live out of line in exec_model.fl.c (the hot ones are
 * inlined into the measured loop, worker.fl.c).
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_EXEC_H
#define GH_SCENARIO_EXEC_H

#include "base/rng.h"
#include "containers/containers.h"
#include "scenario/flavor.h"
#include "scenario/runner_internal.h"

/* ---- frames --------------------------------------------------------------- */

/* A worker's frame is an array of gh_stackref (object/object.h, rc/rc.h):
 * the role's locals, then one evaluation-stack slot (the last one,
 * w->frame_slots - 1) where `call` keeps the callee and `new` the class it
 * is calling while it runs (CPython's LOAD_GLOBAL pushes it). Under
 * deferred=on a slot may hold an uncounted, tagged reference to a deferred
 * object, so every read goes through frame_get. run.c allocates the frames and shows their tagged
 * references to the collector (gh_gc_set_roots); only the worker writes
 * its own frame. */

/* The object in slot `slot` (borrowed), untagged; NULL when unbound. */
GH_INLINE gh_object *frame_get(const gh_stackref *locals, int slot)
{
    return gh_stackref_obj(locals[slot]);
}

/* Stores r into the slot and drops what it held. */
GH_INLINE void frame_put(gh_stackref *locals, int slot, gh_stackref r)
{
    gh_stackref old = locals[slot];
    locals[slot] = r;
    gh_stackref_close(old);
}

/* ---- an op's operands --------------------------------------------------- */

/* A new reference to what `v` makes or names (worker.fl.c). */
gh_object *GH_FL(gh_make_value)(const struct gh_value *v, gh_object **globals,
                                gh_stackref *locals, struct gh_rng *rng);
/* The body of `callback: count`: counts, returns None (worker.fl.c). */
gh_object *GH_FL(gh_count_callback_code)(struct gh_tstate *ts, struct gh_function *f,
                                         gh_object **args);

/* Out of line where the compiler so chooses (it is called from every op
 * with an operand; inlining it everywhere grows the measured loop). */
static GH_UNUSED int64_t intarg(const struct gh_intarg *a, int64_t random_range,
                                struct gh_rng *rng, const struct gh_worker *w)
{
    if (!a->random)
        return a->iter ? (int64_t)w->pass + a->value : a->value;
    int64_t range = a->range > 0 ? a->range : random_range;
    return range > 0 ? (int64_t)gh_rng_below(rng, (uint64_t)range) : 0;
}

/* A new reference to an op's dict key: its str constant (`key: {str:
 * TEXT}`, LOAD_CONST: interned, immortal wherever CPython's code constants
 * are), or an int. */
GH_INLINE gh_object *op_key(const struct gh_op *op, struct gh_rng *rng, const struct gh_worker *w)
{
    if (op->key_const >= 0)
        return gh_newref(w->run->consts[op->key_const]);
    return gh_int_new(intarg(&op->key, 1000, rng, w));
}

/* The object `t` names, if it has the expected kind; else NULL (the op
 * fails: an unbound local, or a local bound to another type). Borrowed. */
GH_INLINE gh_object *target(const struct gh_target *t, enum gh_kind kind,
                            gh_object **globals, gh_stackref *locals)
{
    gh_object *o = t->local ? frame_get(locals, t->slot) : globals[t->slot];
    if (GH_UNLIKELY(o && gh_is_freed(o))) { /* only the checked mode poisons */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(o));
        return NULL;
    }
    return (o && o->ob_type->kind == kind) ? o : NULL;
}

/* An item an operation read from a container: a poisoned one (the checked
 * mode) is a use after free; the operation gives up on it. */
GH_INLINE gh_object *item_ok(gh_object *item)
{
    if (GH_UNLIKELY(item && gh_is_freed(item))) {
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(item));
        return NULL;
    }
    return item;
}

/* The object `t` names, whatever its kind (NULL when unbound). */
GH_INLINE gh_object *target_any(const struct gh_target *t, gh_object **globals,
                                gh_stackref *locals)
{
    return t->local ? frame_get(locals, t->slot) : globals[t->slot];
}

/* An instance (of a class with or without __slots__) that `t` names, or
 * NULL. */
GH_INLINE gh_object *target_instance(const struct gh_target *t, gh_object **globals,
                                     gh_stackref *locals)
{
    gh_object *o = target_any(t, globals, locals);
    if (GH_UNLIKELY(o && gh_is_freed(o))) { /* only the checked mode poisons */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_freed_kind_name(o));
        return NULL;
    }
    return o && gh_kind_is_instance(o->ob_type->kind) ? o : NULL;
}

/* Binds local `slot` to o (stolen: a counted reference), releasing what
 * it held. */
static inline void bind_local(gh_stackref *locals, int slot, gh_object *o)
{
    frame_put(locals, slot, gh_stackref_steal(o));
}

/* The result of an op that reads through a loaded container: the
 * container's load (exec_op_raw's stack slot) is dropped first, then `as`
 * is bound to o when the op has one, else o is released. CPython's order:
 * BINARY_SUBSCR, LOAD_ATTR and CALL drop their operands before STORE_FAST
 * drops the local's old value (x = t[0]: +t +item -t -old x), and on a
 * shared tuple and item the four counts alternate between two lines. */
static inline void bind_or_release(struct gh_worker *w, const struct gh_op *op, gh_stackref *locals,
                            gh_object *o)
{
    frame_put(locals, w->frame_slots - 1, 0);
    if (op->as >= 0)
        bind_local(locals, op->as, o);
    else
        gh_decref(o);
}

/* ---- the executors (the `exec` column of GH_OPS, scenario/ops.h) ----------
 *
 * One per op, all with the same parameters; false when the op failed (the
 * model's IndexError, KeyError...). exec_op_body (worker.fl.c) switches on
 * the op's kind to a direct call of its row's executor: the hot ones,
 * exec_* in worker.fl.c, are inlined into the measured loop; the object
 * model's, gh_exec_* in exec_model.fl.c, are calls out of its way. */
#define EXEC_PARAMS                                                            \
    GH_UNUSED struct gh_worker *w, GH_UNUSED struct gh_tstate *ts,             \
    GH_UNUSED const struct gh_op *op, GH_UNUSED gh_object **globals,           \
    GH_UNUSED gh_stackref *locals, GH_UNUSED struct gh_rng *rng,               \
    GH_UNUSED struct gh_trace_snapshot **snaps

/* A check's object functions (id, getrefcount, alive...; gh_eval_env.object,
 * ctx a struct gh_eval_ctx): exec_model.fl.c. */
int GH_FL(gh_eval_object)(void *ctx, const struct gh_expr *e, int64_t *out, char *err,
                          size_t errlen);

/* The object model's executors (exec_model.fl.c). */
bool GH_FL(gh_exec_show)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_dot)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_collect)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_disable)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_enable)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_set_threshold)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_freeze)(EXEC_PARAMS);
bool GH_FL(gh_exec_gc_unfreeze)(EXEC_PARAMS);
bool GH_FL(gh_exec_cycle_new)(EXEC_PARAMS);
bool GH_FL(gh_exec_bind)(EXEC_PARAMS);
bool GH_FL(gh_exec_attr_set)(EXEC_PARAMS);
bool GH_FL(gh_exec_attr_get)(EXEC_PARAMS);
bool GH_FL(gh_exec_set_member)(EXEC_PARAMS);
bool GH_FL(gh_exec_set_len)(EXEC_PARAMS);
bool GH_FL(gh_exec_tuple_concat)(EXEC_PARAMS);
bool GH_FL(gh_exec_str_concat)(EXEC_PARAMS);
bool GH_FL(gh_exec_str_intern)(EXEC_PARAMS);
bool GH_FL(gh_exec_weakref_new)(EXEC_PARAMS);
bool GH_FL(gh_exec_weakref_get)(EXEC_PARAMS);
bool GH_FL(gh_exec_wvdict_set)(EXEC_PARAMS);
bool GH_FL(gh_exec_wvdict_get)(EXEC_PARAMS);
bool GH_FL(gh_exec_call)(EXEC_PARAMS);
bool GH_FL(gh_exec_compare)(EXEC_PARAMS);
bool GH_FL(gh_exec_trace_start)(EXEC_PARAMS);
bool GH_FL(gh_exec_trace_snapshot)(EXEC_PARAMS);
bool GH_FL(gh_exec_trace_report)(EXEC_PARAMS);

#endif
