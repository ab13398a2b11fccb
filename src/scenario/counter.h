/* counter.h - global.add's counter in the globals namespace: LOAD_GLOBAL
 * and STORE_GLOBAL as each strategy does them, inlined into the measured
 * loop (worker.fl.c only; flavoured).
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_COUNTER_H
#define GH_SCENARIO_COUNTER_H

#include "base/lockprof.h"
#include "scenario/exec.h"

/* The globals namespace: a counter's slot is the one global the ops rebind
 * (parse_op.c refuses every other reader of it). With a GIL the GIL protects
 * the slot; under sync=objlock the namespace's mutex does, taken for the
 * read and again for the write, as free-threaded CPython's LOAD_GLOBAL and
 * STORE_GLOBAL are two steps (so `C += 1` loses updates there too); under
 * sync=none nothing does. With lock-free reads (ft) the read takes the
 * lock only when its lock-free try fails, as 3.13t's LOAD_GLOBAL. */
#if defined(GH_FL_SYNC_OBJLOCK)
/* Takes the namespace's lock; the hold's start when it is sampled
 * (base/lockprof.h), else 0. */
GH_INLINE uint64_t globals_lock(struct gh_worker *w, struct gh_tstate *ts)
{
    gh_mutex_lock(&w->run->ns.lock, &ts->locks[GH_LOCK_globals]);
    return gh_hold_begin(ts);
}

GH_INLINE void globals_unlock(struct gh_worker *w, struct gh_tstate *ts, uint64_t h0)
{
    gh_hold_end(ts, GH_LOCK_globals, &w->run->ns.lock, h0);
    gh_mutex_unlock(&w->run->ns.lock);
}
#define GLOBALS_LOCK(w, ts) uint64_t globals_h0_ = globals_lock(w, ts)
#define GLOBALS_UNLOCK(w, ts) globals_unlock(w, ts, globals_h0_)
#else
#define GLOBALS_LOCK(w, ts) ((void)0)
#define GLOBALS_UNLOCK(w, ts) ((void)0)
#endif

#if defined(GH_FL_LOCKFREE_READS)
/* The namespace's slots pointer, read from its header (ma_keys). */
GH_INLINE gh_object **ns_slots(struct gh_worker *w)
{
    return gh_atomic_load_relaxed_tp(&w->run->ns.slots);
}
#endif

/* LOAD_GLOBAL f of the call in `C = C + f()` (global.add via: call). f
 * is immortal in 3.13t (deferred objects are made immortal when a second
 * thread starts) and its entry lies in a line no store writes, so what the
 * lookup costs that is shared is the namespace's header, read before and
 * after (lock-free reads); where reads are locked, the lookup takes the
 * namespace's lock; under a GIL nothing is contended. */
GH_INLINE void load_callee(struct gh_worker *w, struct gh_tstate *ts)
{
    (void)w;
    (void)ts;
#if defined(GH_FL_LOCKFREE_READS)
    if (GH_LIKELY(ts->qsbr_online)) {
        gh_object **slots = ns_slots(w);
        w->sink += (uintptr_t)slots;
        if (GH_LIKELY(ns_slots(w) == slots))
            return;
    }
#endif
    GLOBALS_LOCK(w, ts);
    GLOBALS_UNLOCK(w, ts);
}

/* The counter's value, read as LOAD_GLOBAL + the int's value; false when
 * the slot holds no int (the checked mode: a freed one). Under
 * loads=counted the load is a reference (+C) in the frame's stack slot,
 * taken under the namespace's lock (the slot may be rebound right after)
 * and dropped by the addition (BINARY_OP's -C): the counter's int is
 * written by every thread that adds, as in CPython 3.13. */
GH_INLINE bool counter_read(struct gh_worker *w, struct gh_tstate *ts, int slot, int64_t *v,
                            gh_stackref *locals)
{
    (void)ts;
#if defined(GH_FL_LOCKFREE_READS)
    /* 3.13t's LOAD_GLOBAL (_Py_dict_lookup_threadsafe): the value is read
     * without the namespace's lock, taken with a conditional increment and
     * the slot read again (_Py_TryXGetRef); when that fails (an int another
     * thread made, whose shared count is 0; a rebinding meanwhile) the
     * read is done again under the lock. Counted as a dict fallback. */
    if (GH_LIKELY(ts->qsbr_online)) {
        /* ma_keys, from the header line the stores' lock writes (relaxed:
         * the pointer never changes during the run). */
        gh_object **slots = ns_slots(w);
        gh_object **at = &slots[slot];
        /* Acquire: pairs with the release store in counter_store. */
        gh_object *o = gh_atomic_load_acquire_tp(at);
        /* No test of the type before the increment: the block may be
         * being reused (its type stored atomically by the allocator); the
         * increment refuses a dead or poisoned object, and what it took is
         * ours once the slot still holds it. */
        if (o && gh_try_incref(o)) {
            /* Acquire: as above. Then ma_keys again, as 3.13t checks that
             * the table did not change under the read. */
            if (GH_LIKELY(gh_atomic_load_acquire_tp(at) == o &&
                          ns_slots(w) == slots)) {
                bool ok = o->ob_type->kind == GH_KIND_INT;
                if (ok)
                    *v = ((struct gh_int *)(void *)o)->value;
                if (ok && gh_model.loads_counted)
                    frame_put(locals, w->frame_slots - 1, gh_stackref_steal(o));
                else
                    gh_decref(o);
                return ok;
            }
            gh_decref(o); /* rebound meanwhile */
        }
        ts->lockfree_dict_fallbacks++;
    }
#endif
    GLOBALS_LOCK(w, ts);
    gh_object *o = item_ok(w->run->globals[slot]);
    bool ok = o && o->ob_type->kind == GH_KIND_INT;
    if (ok) {
        *v = ((struct gh_int *)(void *)o)->value;
        if (gh_model.loads_counted)
            frame_put(locals, w->frame_slots - 1, gh_stackref_new(o));
    }
    GLOBALS_UNLOCK(w, ts);
    return ok;
}

/* STORE_GLOBAL: binds the slot to nv (stolen) and releases what it held,
 * after the namespace's lock is dropped (a dealloc never runs under it). */
GH_INLINE void counter_store(struct gh_worker *w, struct gh_tstate *ts, int slot, gh_object *nv)
{
    (void)ts;
    GLOBALS_LOCK(w, ts);
    gh_object *old = w->run->globals[slot];
#if defined(GH_FL_LOCKFREE_READS)
    /* Release: publishes nv's value and count to counter_read's lock-free
     * acquire load. */
    gh_atomic_store_release_tp(&w->run->globals[slot], nv);
#else
    w->run->globals[slot] = nv;
#endif
    GLOBALS_UNLOCK(w, ts);
    if ((old = item_ok(old)))
        gh_decref(old);
}

/* Inline, `C += value`: read, add, write with no switch point between
 * (CPython 3.13 polls the eval breaker at a Python function's entry and at
 * backward jumps, not between LOAD_GLOBAL and STORE_GLOBAL), so under a
 * GIL nothing is lost; nor is it in `def inc(): C += 1`, whose entry polls
 * before the read. Via a call, `C = C + f()` with f a Python function: f's
 * entry is a switch point between the read and the write, where the GIL
 * may pass to a thread that updates C too; its update is then overwritten
 * (lost), as in CPython 3.13 (4M such updates by two threads lose about
 * 450k there).
 *
 * Not forced inline: the compiler keeps it out of line, as it did before
 * the ops' table (forced, it added 2 kB to each copy of the measured
 * loop). */
static bool exec_global_add(EXEC_PARAMS)
{
    int slot = op->on.slot;
    int64_t v = 0; /* set when counter_read returns true */
    if (!counter_read(w, ts, slot, &v, locals))
        return false;
    if (op->via_call) {
        load_callee(w, ts);
        gh_switch_point(ts);
    }
    int64_t by = op->value.range;
    gh_object *nv = gh_int_new(v + by);
    if (gh_model.loads_counted)
        frame_put(locals, w->frame_slots - 1, 0); /* BINARY_OP drops its operand */
    counter_store(w, ts, slot, nv);
    w->counter_adds[slot]++;
    w->counter_sum[slot] += by;
    return true;
}

#endif
