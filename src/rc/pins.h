/* pins.h - rc=locked's pins and slow paths (rc/locked.c). The fast paths
 * are rc/locked.h; the design and why it cannot deadlock are in
 * docs/strategies.md ("rc=locked, the argument").
 *
 * A pin is a reference on its way in: a thread that must wait for an
 * object's count lock inside a critical section adds GH_RC_PIN_ONE to
 * ob_flags before it suspends its sections (which kept the object alive),
 * and removes it under the count lock right after its increment. So:
 *
 *   - a decrement that takes the count to 0 while a pin is present does
 *     not deallocate (the pinner's increment brings it back to 1);
 *   - gh_refcnt is the count plus the pins; a conditional increment
 *     (gh_try_incref) treats a count of 0 with a pin as alive.
 *
 *   ob_flags  bit 0      the checked mode's DYING claim (object/object.h)
 *             bits 1-3   other flags (object/object.h)
 *             bits 4-15  pins: threads waiting to increment (at most one
 *                        pin per thread; 4095 at most)
 *
 * Protection: pins are added and removed with relaxed atomic RMWs (the
 * checked mode's bit is set and cleared with seq_cst RMWs on the same
 * word, so neither loses the other's update). The reader that matters,
 * the decrement that reaches zero, reads the pins under the count lock;
 * the pin it must see happens-before it by the chain of locks that
 * handed the object's last reference to it (rc/locked.h's argument), and
 * coherence does the rest: no fence.
 *
 * Layer: rc (includes sync, object, base).
 */
#ifndef GH_RC_PINS_H
#define GH_RC_PINS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/tstate.h"
#include "object/object.h"

#define GH_RC_PIN_SHIFT 4
#define GH_RC_PIN_ONE   ((uint16_t)(1u << GH_RC_PIN_SHIFT))

/* Threads that pinned o (waiting, their sections suspended, to increment
 * it). A snapshot unless read under o's count lock. */
GH_INLINE uint32_t gh_rc_pins(gh_object *o)
{
    return gh_atomic_load_relaxed_u16(&gh_prefix(o)->ob_flags) >> GH_RC_PIN_SHIFT;
}

/* The calling thread's count-lock counters. */
GH_INLINE struct gh_lockstat *gh_rc_lockstat(void) { return &gh_tstate_get()->locks[GH_LOCK_rc]; }

/* Slow paths (locked.c), named for perf: the count lock was busy. */
GH_NOINLINE void gh_rc_locked_incref_slow(gh_object *o);
GH_NOINLINE void gh_rc_locked_decref_slow(gh_object *o);
/* A count that reached zero under a fast path: o's count lock is held. */
GH_NOINLINE void gh_rc_locked_zero(gh_object *o);
GH_NOINLINE bool gh_rc_locked_try_incref_slow(gh_object *o);
GH_NOINLINE bool gh_rc_locked_decref_is_zero_slow(gh_object *o);
GH_NOINLINE void gh_rc_locked_set_slow(gh_object *o, uint64_t v);

#endif
