/* gil.h - sync=gil (and gil-ticks): one global lock, held between switch
 * points, serialises every operation; critical sections are empty braces,
 * as CPython's are in the default build. The lock itself (take, drop,
 * drop requests, ticks) is sync/gil_lock.h.
 *
 * Included by sync/sync.h only, for the sync=gil flavour.
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_GIL_H
#define GH_SYNC_GIL_H

#ifndef GH_FL_SYNC_GIL
#error "sync/gil.h is sync=gil's: include sync/sync.h"
#endif

/* The value's name, for tables keyed by it (GH_SYNC_GIL in the scenario
 * layer's enum). */
#define GH_FL_SYNC_NAME GIL

#include "base/inject.h"
#include "sync/gil_lock.h"

#define GH_BEGIN_CS(ts, o)      { (void)(ts); (void)(o); GH_INJECT(CS_HELD);
#define GH_END_CS(ts)           }
#define GH_BEGIN_CS2(ts, a, b)  { (void)(ts); (void)(a); (void)(b); GH_INJECT(CS_HELD);
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
/* A blocking wait (io) drops the GIL around it. */
GH_INLINE void gh_sync_block_begin(struct gh_tstate *ts) { gh_gil_drop(ts); }
GH_INLINE void gh_sync_block_end(struct gh_tstate *ts) { gh_gil_take(ts); }
GH_INLINE void gh_sync_thread_start(struct gh_tstate *ts) { gh_gil_take(ts); }
GH_INLINE void gh_sync_thread_stop(struct gh_tstate *ts) { gh_gil_drop(ts); }

#endif
