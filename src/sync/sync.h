/* sync.h - what the current flavour's sync axis does around an operation.
 *
 * Included only by flavoured code (*.fl.c): the build defines the sync
 * axis, and this header includes that value's, each complete:
 *
 *   value     header            critical sections       switch point
 *   gil       sync/gil.h        empty braces            GIL drop request / tick
 *   objlock   sync/objlock.h    the object's mutex      stop-the-world (+ QSBR)
 *   none      sync/none.h       empty braces            stop-the-world
 *
 * Each defines:
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
#include "sync/gil_lock.h"

#if defined(GH_FL_SYNC_GIL)
#include "sync/gil.h"
#elif defined(GH_FL_SYNC_OBJLOCK)
#include "sync/objlock.h"
#elif defined(GH_FL_SYNC_NONE)
#include "sync/none.h"
#else
#error "no sync flavour: define GH_FL_SYNC_GIL, GH_FL_SYNC_OBJLOCK or GH_FL_SYNC_NONE"
#endif

#endif
