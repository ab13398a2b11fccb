/* sync.h - what the current flavour's sync axis does around an operation.
 *
 * Included only by flavoured code (*.fl.c): the build defines the sync
 * axis (GH_FL_SYNC_GIL or GH_FL_SYNC_OBJLOCK). Under the GIL the
 * critical-section macros are empty braces (as CPython's are in the default build): the GIL, held
 * between switch points, already serialises every operation. Under objlock
 * they lock the object(s).
 *
 *   GH_BEGIN_CS(ts, o) ... GH_END_CS(ts)        one object
 *   GH_BEGIN_CS2(ts, a, b) ... GH_END_CS2(ts)   two objects, address-ordered
 *   gh_sync_checkpoint(ts)                      a switch point
 *   GH_SYNC_EVAL_BITS                           the eval_breaker bits it acts on
 *   gh_sync_checkpoint_counted(ts)              its part that is not a bit (gil-ticks'
 *                                               tick, QSBR's countdown)
 *   gh_sync_checkpoint_bits(ts)                 its part that is (after a bit was seen)
 *   gh_sync_block_begin/end(ts)                 around a blocking wait
 *   gh_sync_thread_start/stop(ts)               around a thread's use of objects
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_SYNC_H
#define GH_SYNC_SYNC_H

#ifndef GH_FLAVORED
#error "sync/sync.h is for flavoured code (*.fl.c) only"
#endif

#include "base/qsbr.h"
#include "base/stw.h"
#include "sync/critsec.h"
#include "sync/gil.h"

#if defined(GH_FL_SYNC_GIL)

#define GH_BEGIN_CS(ts, o)      { (void)(ts); (void)(o);
#define GH_END_CS(ts)           }
#define GH_BEGIN_CS2(ts, a, b)  { (void)(ts); (void)(a); (void)(b);
#define GH_END_CS2(ts)          }

GH_INLINE void gh_sync_checkpoint(struct gh_tstate *ts) { gh_gil_checkpoint(ts); }
/* gh_gil_checkpoint in two halves: the tick (gil-ticks), then the drop
 * request, which only sync=gil sends. */
#define GH_SYNC_EVAL_BITS GH_EVAL_GIL_DROP_REQUEST
GH_INLINE void gh_sync_checkpoint_counted(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(gh__gil.ticks) && --ts->gil_ticks_left == 0)
        gh_gil_tick_slow(ts);
}
GH_INLINE void gh_sync_checkpoint_bits(struct gh_tstate *ts)
{
    if (!gh__gil.ticks &&
        (gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST))
        gh_gil_yield_slow(ts);
}
GH_INLINE void gh_sync_block_begin(struct gh_tstate *ts) { gh_gil_drop(ts); }
GH_INLINE void gh_sync_block_end(struct gh_tstate *ts) { gh_gil_take(ts); }
GH_INLINE void gh_sync_thread_start(struct gh_tstate *ts) { gh_gil_take(ts); }
GH_INLINE void gh_sync_thread_stop(struct gh_tstate *ts) { gh_gil_drop(ts); }

#elif defined(GH_FL_SYNC_OBJLOCK)

#define GH_BEGIN_CS(ts, o)      { struct gh_critsec gh_cs_; gh_cs_begin((ts), &gh_cs_, (o));
#define GH_END_CS(ts)           gh_cs_end((ts), &gh_cs_); }
#define GH_BEGIN_CS2(ts, a, b)  { struct gh_critsec gh_cs2_; gh_cs_begin2((ts), &gh_cs2_, (a), (b));
#define GH_END_CS2(ts)          gh_cs_end((ts), &gh_cs2_); }

/* Without a GIL a thread is attached while it touches objects and parks at
 * its switch points when another thread stops the world (base/stw.h). */
/* Under the lock-free-read flavour the switch point is also where the
 * thread reports its QSBR quiescent states (base/qsbr.h); attaching and
 * detaching bring it online and offline. */
GH_INLINE void gh_sync_checkpoint(struct gh_tstate *ts)
{
#if defined(GH_FL_LOCKFREE_READS)
    gh_qsbr_checkpoint(ts);
#endif
    gh_stw_checkpoint(ts);
}
#define GH_SYNC_EVAL_BITS GH_EVAL_PLEASE_STOP
GH_INLINE void gh_sync_checkpoint_counted(struct gh_tstate *ts)
{
#if defined(GH_FL_LOCKFREE_READS)
    gh_qsbr_checkpoint(ts);
#else
    (void)ts;
#endif
}
GH_INLINE void gh_sync_checkpoint_bits(struct gh_tstate *ts) { gh_stw_checkpoint(ts); }
/* A blocking wait suspends the thread's critical sections before it
 * detaches, and resumes them after it attaches (CPython's
 * _PyThreadState_Detach / _Attach): the top-most one, or under rc=locked
 * all of them (sync/critsec.h). */
GH_INLINE void gh_sync_block_begin(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(ts->cs_top != NULL))
        gh_cs_suspend_all(ts);
    gh_stw_detach(ts);
}
GH_INLINE void gh_sync_block_end(struct gh_tstate *ts)
{
    gh_stw_attach(ts);
    if (GH_UNLIKELY(ts->cs_top != NULL)) {
#if defined(GH_FL_RC_LOCKED)
        gh_cs_resume_all(ts, NULL);
#else
        gh_cs_resume_top(ts);
#endif
    }
}
GH_INLINE void gh_sync_thread_start(struct gh_tstate *ts) { gh_stw_attach(ts); }
GH_INLINE void gh_sync_thread_stop(struct gh_tstate *ts) { gh_stw_detach(ts); }

#elif defined(GH_FL_SYNC_NONE)

/* sync=none: no lock at all, not even around a container's operation;
 * threads still attach and park at switch points, so the collector can
 * stop the world (gc=stw) or not (gc=nostop). The positive control. */
#define GH_BEGIN_CS(ts, o)      { (void)(ts); (void)(o);
#define GH_END_CS(ts)           }
#define GH_BEGIN_CS2(ts, a, b)  { (void)(ts); (void)(a); (void)(b);
#define GH_END_CS2(ts)          }

GH_INLINE void gh_sync_checkpoint(struct gh_tstate *ts) { gh_stw_checkpoint(ts); }
#define GH_SYNC_EVAL_BITS GH_EVAL_PLEASE_STOP
GH_INLINE void gh_sync_checkpoint_counted(struct gh_tstate *ts) { (void)ts; }
GH_INLINE void gh_sync_checkpoint_bits(struct gh_tstate *ts) { gh_stw_checkpoint(ts); }
GH_INLINE void gh_sync_block_begin(struct gh_tstate *ts) { gh_stw_detach(ts); }
GH_INLINE void gh_sync_block_end(struct gh_tstate *ts) { gh_stw_attach(ts); }
GH_INLINE void gh_sync_thread_start(struct gh_tstate *ts) { gh_stw_attach(ts); }
GH_INLINE void gh_sync_thread_stop(struct gh_tstate *ts) { gh_stw_detach(ts); }

#else
#error "no sync flavour: define GH_FL_SYNC_GIL, GH_FL_SYNC_OBJLOCK or GH_FL_SYNC_NONE"
#endif

#endif
