/* tstate.h - the per-thread state every layer hangs its thread-local part on.
 *
 * The model's threads (workers, the main thread during setup and teardown,
 * later the collector) each own one struct gh_tstate. Fields are grouped by
 * the layer that uses them; pointers to higher layers' structures are
 * forward-declared so base includes nothing above it.
 *
 * Protection: every field is written only by the owning thread, except
 * eval_breaker (any thread may set bits, atomically; see the bit list).
 *
 * Layer: base.
 */
#ifndef GH_BASE_TSTATE_H
#define GH_BASE_TSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/hazard.h"
#include "base/inject.h"
#include "base/lockstat.h"

struct gh_object;
struct gh_heap;
struct gh_critsec;
struct gh_tl_buf;
struct gh_lockprof;

/* eval_breaker bits: requests that a thread acts on at its next switch point
 * (between two model operations, never inside one). */
#define GH_EVAL_GIL_DROP_REQUEST (1u << 0) /* sync=gil: another thread waits */
#define GH_EVAL_PLEASE_STOP      (1u << 1) /* the world is being stopped (base/stw.h) */
#define GH_EVAL_GC_SCHEDULED     (1u << 2) /* run a collection (object/gctrack.h) */
#define GH_EVAL_BRC_MERGE        (1u << 3) /* rc=biased: objects queued to merge (rc/brc.h) */

struct gh_tstate {
    /* Set by other threads with gh_atomic_or_seqcst_u32, cleared by the
     * owner (gh_atomic_and_seqcst_u32); read relaxed at every switch point.
     *
     * Why those orders. The bits carry no data: each request's state
     * travels under its own protection, which the acting thread takes
     * before it trusts anything (the GIL's mutex, the stop protocol's
     * mutex in stw.c, the BRC queue's registry_lock, the collector's
     * collect_mutex or the GIL). So the switch point's read only has to
     * see a bit eventually, which coherence guarantees, and relaxed is
     * enough; a bit seen late only delays the act, a bit seen after its
     * request was withdrawn makes the slow path find nothing to do. The
     * read-modify-writes must be atomic (several threads set bits of one
     * word, and the owner clears one while others set another); they are
     * seq_cst as CPython's _Py_set_eval_breaker_bit and
     * _Py_unset_eval_breaker_bit are (atomic OR and AND), costing nothing
     * more than a relaxed RMW on x86, where every locked instruction is a
     * full barrier, and no fast path performs one. */
    uint32_t eval_breaker;
    /* base/lockprof.h: holds left before the next sampled one; 0 when
     * holds are not sampled (the only test a lock's fast path pays).
     * Owner only. */
    uint32_t hold_left;
    /* base/timeline.h: this thread's event ring while a run is traced
     * (--trace, --timeline), else NULL; beside eval_breaker, on the line
     * every switch point reads. Set after gh_tstate_bind, before the
     * thread runs the model; its ring is written by the owner only. */
    struct gh_tl_buf *tl;
    /* base/lockprof.h: this thread's hold and wait histograms while the
     * run is profiled (--lock-profile, --trace, --timeline), else NULL.
     * Set and owned as tl. */
    struct gh_lockprof *lp;

    int index;              /* worker index; -1 for the main thread */
    char name[16];          /* thread name as perf and top -H show it */

    /* sync: locks taken, per class (base/lockstat.h). */
    struct gh_lockstat locks[GH_LOCK_NCLASSES];
    /* sync=gil-ticks: switch points left before this thread releases the
     * GIL and takes it again (sync/gil_lock.h). Owner only. */
    uint32_t gil_ticks_left;
    /* sync=objlock: innermost active critical section. Written by the
     * owner (relaxed stores where a section is pushed or popped); loaded
     * relaxed by the stall watchdog's holder search, a snapshot. */
    struct gh_critsec *cs_top;
    /* rc=locked: how many times this thread's critical sections were
     * suspended (their locks released and taken again) because a count
     * lock it needed was busy (sync/critsec.h, rc/locked.h). An operation
     * that reads it before and after an increment knows whether what it
     * read under its section may be stale. Owner only. */
    uint64_t cs_suspends;

    /* rc: objects whose count reached zero, waiting to be deallocated (a
     * stack grown with malloc, freed by gh_tstate_unbind), and whether this
     * thread is already draining it (the guard that keeps dealloc
     * iterative). A queued object keeps its count at zero: weak-reference
     * holders test that count. */
    struct gh_object **dealloc_stack;
    size_t dealloc_len, dealloc_cap;
    bool deallocating;

    /* rc=biased (rc/brc.h): objects other threads queued for this thread
     * to merge, and the registry links. All protected by the registry's
     * lock (brc.c); brc_registered is also read by its owner without it. */
    struct gh_object **brc_queue;
    size_t brc_len, brc_cap;
    bool brc_registered;
    struct gh_tstate *brc_next, *brc_prev;
    /* rc=biased: what this thread did on the slow paths (owner only). */
    uint64_t brc_shared_decrefs; /* decrements of objects it does not own */
    uint64_t brc_queued;         /* objects it queued for their owner */
    uint64_t brc_merged;         /* merges it made (zero local, queue, explicit) */
    /* The lock-free reads (containers.h): list.get and dict.get that fell
     * back to the locked path (a refused increment, a changed slot). Owner
     * only. */
    uint64_t lockfree_list_fallbacks, lockfree_dict_fallbacks;

    /* The checked mode (base/hazard.h): what this thread caught, and the
     * operation it is running (a static name, for the examples). Owner
     * only; read by the runner after the thread has ended. */
    struct gh_hazard_counts hazards;
    const char *cur_op;
    void *fault_jmp;        /* a sigjmp_buf while a checked op runs, else NULL */
    /* object/object.c: the checked mode's quarantine of this thread's
     * frees (opaque here). Owner only. */
    void *quarantine;

    /* object: depth of hash and == calls nested through containers
     * (gh_recursion_enter in object/object.h). */
    int c_recursion;

    /* base/stw.h: the thread's state and registry links, and whether the
     * current stop already counts it as stopped. All protected by the stop
     * mutex (stw.c); stw_state is also read by its owner without it. */
    uint32_t stw_state;
    bool stw_stopped;
    struct gh_tstate *stw_next, *stw_prev;

    /* object/gctrack.h: collector objects allocated minus freed by this
     * thread since its last flush to the shared count (the full layout),
     * and whether this thread is running a collection (its finalizers may
     * not start another). Owner only. */
    int32_t gc_alloc_count;
    bool gc_collecting;

    /* base/qsbr.h: whether the thread is registered with liburcu's QSBR
     * and online, switch points left before its next quiescent state, its
     * batch of deferred frees being filled, and its batches handed to
     * call_rcu (a FIFO, oldest first; each batch's done flag is the only
     * field another thread writes, see qsbr.c). Owner only otherwise. */
    bool qsbr_registered, qsbr_online;
    uint32_t qsbr_countdown;
    void *qsbr_pending;
    void *qsbr_head, *qsbr_tail;

    /* base/inject.h: passes and delays at the armed injection points.
     * Owner only; summed by the runner after the join. */
    struct gh_inject_thread inj;

    /* The stall watchdog (scenario/run.c) reads these from the main thread
     * while this one may be stuck: stored relaxed by the owner on its slow
     * paths, loaded relaxed; a snapshot that carries no data. The lock this
     * thread is blocked on (a gh_mutex, or the GIL) and its class plus one
     * (base/lockstat.h; 0: not waiting). */
    uintptr_t wait_lock;
    uint32_t wait_class;

    /* alloc: this thread's heap (alloc=thread) or NULL. */
    struct gh_heap *heap;

    /* alloc/trace.h: the site (source file, line) that allocations of
     * this thread are charged to while tracing is on; set with
     * gh_trace_set_site. trace_file NULL means no site (recorded as
     * "<unknown>":0). Only the pointer is stored: the string must outlive
     * the traces. Written and read only by the owner. */
    const char *trace_file;
    int trace_line;
} GH_ALIGNED_CACHELINE;

extern _Thread_local struct gh_tstate *gh__tstate_current;

GH_INLINE struct gh_tstate *gh_tstate_get(void) { return gh__tstate_current; }

/* Counts a hazard on the calling thread (the first of its kind is kept as
 * the example, with the thread's current op and `type`). */
GH_NOINLINE void gh_hazard_note(enum gh_hazard_kind kind, const char *type);
/* The census's finding (gc/census.h): not a thread's, so the example names
 * no thread (-1) and the operation "census"; count and refs as found. */
void gh_hazard_note_census(enum gh_hazard_kind kind, const char *type, int64_t count,
                           int64_t refs);

/* Back from a memory fault (the checked mode's handler jumped to a
 * sigsetjmp): counts the fault and resets the thread's per-operation
 * state; what waited in its deallocation list is leaked. */
GH_INLINE void gh_tstate_after_fault(struct gh_tstate *ts)
{
    ts->fault_jmp = NULL;
    gh_hazard_note(GH_HAZARD_FAULT, NULL);
    ts->deallocating = false;
    ts->dealloc_len = 0;
    ts->c_recursion = 0;
}

/* Initialises ts (zeroing it) and makes it the calling thread's state. The
 * name is also given to the OS thread (pthread_setname_np) unless NULL. */
void gh_tstate_bind(struct gh_tstate *ts, int index, const char *name);
/* Forgets the calling thread's state (it stays readable by others). */
void gh_tstate_unbind(void);

#endif
