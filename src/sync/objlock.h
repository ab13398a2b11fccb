/* objlock.h - sync=objlock: no global lock; each object's one-byte mutex
 * (base/mutex.h, CPython's PyMutex) taken by critical sections
 * (sync/critsec.h) around a container's operation, as free-threaded
 * CPython's Py_BEGIN_CRITICAL_SECTION. A thread is attached while it
 * touches objects and parks at its switch points when another thread
 * stops the world (base/stw.h). Under the lock-free-read flavour (the ft
 * preset's, GH_FL_LOCKFREE_READS) the switch point is also where the
 * thread reports its QSBR quiescent states (base/qsbr.h); attaching and
 * detaching bring it online and offline.
 *
 * Included by sync/sync.h only, for the sync=objlock flavour.
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_OBJLOCK_H
#define GH_SYNC_OBJLOCK_H

#ifndef GH_FL_SYNC_OBJLOCK
#error "sync/objlock.h is sync=objlock's: include sync/sync.h"
#endif

/* The value's name, for tables keyed by it (GH_SYNC_OBJLOCK in the scenario
 * layer's enum). */
#define GH_FL_SYNC_NAME OBJLOCK

#include "base/inject.h"
#include "base/qsbr.h"
#include "base/stw.h"
#include "sync/critsec.h"

#define GH_BEGIN_CS(ts, o)      { struct gh_critsec gh_cs_; gh_cs_begin((ts), &gh_cs_, (o)); GH_INJECT(CS_HELD);
#define GH_END_CS(ts)           gh_cs_end((ts), &gh_cs_); }
#define GH_BEGIN_CS2(ts, a, b)  { struct gh_critsec gh_cs2_; gh_cs_begin2((ts), &gh_cs2_, (a), (b)); GH_INJECT(CS_HELD);
#define GH_END_CS2(ts)          gh_cs_end((ts), &gh_cs2_); }

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

#endif
