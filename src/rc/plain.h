/* plain.h - rc=plain: load, test the immortal bit, store. A non-atomic
 * update, correct only while something else (the GIL) serialises every
 * thread's updates; without one it is the positive control that loses
 * counts (docs/strategies.md).
 *
 * Included by rc/rc.h only, for the rc=plain flavour; `diff rc/plain.h
 * rc/atomic.h` shows what atomicity changes.
 *
 * Layer: rc.
 */
#ifndef GH_RC_PLAIN_H
#define GH_RC_PLAIN_H

#ifndef GH_FL_RC_PLAIN
#error "rc/plain.h is rc=plain's: include rc/rc.h"
#endif

/* The value's name, for tables keyed by it (GH_RC_PLAIN in the scenario
 * layer's enum). */
#define GH_FL_RC_NAME PLAIN

#include "base/inject.h"
#include "object/object.h"
#include "rc/dealloc.h"

GH_INLINE void gh_incref(gh_object *o)
{
    uint64_t c = o->ob_refcnt;
    if (GH_UNLIKELY(gh_refcnt_is_immortal(c)))
        return;
    GH_INJECT_AT(RC_UPDATE, c); /* the window between the load and the store */
    o->ob_refcnt = c + 1;
}

GH_INLINE void gh_decref(gh_object *o)
{
    uint64_t c = o->ob_refcnt;
    if (GH_UNLIKELY(gh_refcnt_is_immortal(c)))
        return;
    GH_INJECT_AT(RC_UPDATE, c);
    o->ob_refcnt = --c; /* stored even at zero: a dead object reads as dead */
    if (c == 0)
        gh_dealloc(o);
}

GH_INLINE uint64_t gh_refcnt(gh_object *o) { return o->ob_refcnt; }

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object). */
GH_INLINE bool gh_decref_is_zero(gh_object *o) { return --o->ob_refcnt == 0; }

/* Sets the count of an object no other thread holds a counted reference
 * to. */
GH_INLINE void gh_refcnt_set(gh_object *o, uint64_t v) { o->ob_refcnt = v; }

/* Takes a new reference unless the count is zero (CPython's
 * _Py_TryIncref). */
GH_INLINE bool gh_try_incref(gh_object *o)
{
    uint64_t c = o->ob_refcnt;
    if (gh_refcnt_is_immortal(c))
        return true;
    if (c == 0)
        return false;
    o->ob_refcnt = c + 1;
    return true;
}

/* A weak reference to o is being made: nothing to do. */
GH_INLINE void gh_rc_weakly_reachable(gh_object *o) { (void)o; }

/* The thread starts or stops using objects (rc/rc.h): nothing to do. */
GH_INLINE void gh_rc_thread_start(struct gh_tstate *ts) { (void)ts; }
GH_INLINE void gh_rc_thread_stop(struct gh_tstate *ts) { (void)ts; }

/* deferred=on's bias (rc/rc.h gh_rc_set_deferred): o is private to the
 * caller. */
GH_INLINE void gh_rc_bias_add(gh_object *o) { o->ob_refcnt += GH_DEFERRED_BIAS; }
/* The collector, world stopped: the bias comes off. */
GH_INLINE void gh_rc_bias_sub(gh_object *o) { o->ob_refcnt -= GH_DEFERRED_BIAS; }

/* Makes o immortal (3.13t's _Py_SetImmortal). No other thread may update
 * o's count meanwhile (o is private, or no other thread exists yet);
 * relaxed: thread creation or o's publication orders the writes. */
GH_INLINE void gh_rc_set_immortal(gh_object *o) { o->ob_refcnt = GH_IMMORTAL_REFCNT; }

/* Makes o immortal while other holders may update its count (interning):
 * the GIL serialises every count update. */
GH_INLINE void gh_rc_make_immortal_live(gh_object *o) { o->ob_refcnt = GH_IMMORTAL_REFCNT; }

#endif
