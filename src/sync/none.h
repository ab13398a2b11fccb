/* none.h - sync=none: no lock at all, not even around a container's
 * operation (the positive control). Threads still attach and park at
 * switch points, so the collector can stop the world (gc=stw) or not
 * (gc=nostop).
 *
 * Included by sync/sync.h only, for the sync=none flavour; `diff
 * sync/none.h sync/objlock.h` shows what the object locks add.
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_NONE_H
#define GH_SYNC_NONE_H

#ifndef GH_FL_SYNC_NONE
#error "sync/none.h is sync=none's: include sync/sync.h"
#endif

/* The value's name, for tables keyed by it (GH_SYNC_NONE in the scenario
 * layer's enum). */
#define GH_FL_SYNC_NAME NONE

#include "base/inject.h"
#include "base/stw.h"

#define GH_BEGIN_CS(ts, o)      { (void)(ts); (void)(o); GH_INJECT(CS_HELD);
#define GH_END_CS(ts)           }
#define GH_BEGIN_CS2(ts, a, b)  { (void)(ts); (void)(a); (void)(b); GH_INJECT(CS_HELD);
#define GH_END_CS2(ts)          }

GH_INLINE void gh_sync_checkpoint(struct gh_tstate *ts) { gh_stw_checkpoint(ts); }
#define GH_SYNC_EVAL_BITS GH_EVAL_PLEASE_STOP
GH_INLINE void gh_sync_checkpoint_counted(struct gh_tstate *ts) { (void)ts; }
GH_INLINE void gh_sync_checkpoint_bits(struct gh_tstate *ts) { gh_stw_checkpoint(ts); }
GH_INLINE void gh_sync_block_begin(struct gh_tstate *ts) { gh_stw_detach(ts); }
GH_INLINE void gh_sync_block_end(struct gh_tstate *ts) { gh_stw_attach(ts); }
GH_INLINE void gh_sync_thread_start(struct gh_tstate *ts) { gh_stw_attach(ts); }
GH_INLINE void gh_sync_thread_stop(struct gh_tstate *ts) { gh_stw_detach(ts); }

#endif
