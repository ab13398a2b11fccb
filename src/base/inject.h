/* inject.h - fault injection: named points in the runtime where a run adds
 * a delay (--inject POINT=DELAY[@P][:THREADS]), to open the windows where
 * races hide.
 *
 * A point costs nothing while no injection is armed: on x86-64 it is a
 * five-byte nop and nothing else, an asm statement the compiler knows only
 * as opaque (no memory clobber, no branch, no call: the code around it is
 * compiled as without it). Beside it, in the section gh_inject_stubs, the
 * site gets a stub, and a record in gh_inject_sites (as the Linux kernel's
 * jump labels and ftrace's call sites are). Arming a point rewrites its
 * nops into jumps to their stubs, with the text made writable for the
 * moment; disarming writes the nops back. Both happen only while no worker
 * runs (a run whose text cannot be made writable is refused). Elsewhere
 * than x86-64 a point is a relaxed load of gh__inject_armed and a branch.
 *
 *   site:  0f 1f 44 00 00        nopl 0x0(%rax,%rax,1)          (disarmed)
 *          e9 <rel32>            jmp stub                       (armed)
 *   stub:  lea -128(%rsp),%rsp   step over the red zone the site's
 *                                function may keep live data in
 *          push $P
 *          call gh_inject_tramp  saves every caller-saved register and the
 *                                flags, calls gh_inject_fire(P), restores
 *          lea 136(%rsp),%rsp
 *          jmp site+5
 *
 * So an armed point changes no register and no flag of the code around
 * it. GH_INJECT_AT(P, v) also names a value the point must come after (its
 * load) and before (its every use): v passes through the asm as an
 * in-out register operand, which fixes the order without a barrier.
 * What an armed point does (the thread filter, the probability or period,
 * the delay) is out of line in gh_inject_fire, a name perf shows.
 *
 * The table: X(e, name, where, breaks, keeps)
 *   where   the place in the runtime, and what a delay there widens
 *   breaks  what it should break (the strategies that rely on nothing
 *           protecting that window)
 *   keeps   what it must not break
 * `gilheap list --inject` prints it; docs/torture.md has it too.
 *
 * Layer: base.
 */
#ifndef GH_BASE_INJECT_H
#define GH_BASE_INJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"

#define GH_INJECT_POINTS(X)                                                    \
    X(RC_UPDATE, "rc.update",                                                  \
      "a reference count's update in incref and decref: between rc=plain's "   \
      "load and store (and biased counting's owner's, and rc=locked's under "  \
      "the count lock); before rc=atomic's read-modify-write and a non-owner's " \
      "atomic update, where there is no window",                               \
      "unsafe (rc=plain without a GIL): concurrent updates overwrite each "   \
      "other, so counts are lost (census refcount_low/high, double frees)",   \
      "gil, gil-ticks (the GIL is held across the window), atomic, ft, locks") \
    X(CS_HELD, "cs.held",                                                      \
      "inside a critical section, its locks just taken (sync=objlock: the "    \
      "object's mutex; sync=gil: the GIL; sync=none: nothing is held)",        \
      "unsafe: the window between a container's reads and writes grows",      \
      "every locked strategy; with `hang`, the watchdog's positive control: " \
      "the waiters are reported with this thread as the holder")              \
    X(STW_ACK, "stw.ack",                                                      \
      "a thread that saw a stop-the-world request, just before it "           \
      "acknowledges it and parks",                                             \
      "nothing: the stop waits longer (its time to safepoint grows)",         \
      "everything")                                                            \
    X(GC_PHASE, "gc.phase",                                                    \
      "the collector, between its phases (after the reference counts are "    \
      "copied and subtracted, before the unreachable set is moved and "       \
      "cleared)",                                                              \
      "gc=nostop (unsafe-gc): references that move during the longer scan "   \
      "make it clear live objects (live_collected)",                           \
      "gc=stw, generational (the world is stopped or the GIL is held)")        \
    X(BRC_MERGE, "brc.merge",                                                  \
      "a biased count's merge: the owner has read the shared count and not "  \
      "yet folded its local count in",                                         \
      "nothing: other threads' atomic updates of the shared count are kept "  \
      "by the merge's compare-and-swap",                                       \
      "ft, and every rc=biased strategy")                                      \
    X(REMOTE_FREE, "free.remote",                                              \
      "a block freed by a thread other than the one whose heap it came from " \
      "(alloc=thread: between reading the owner's free-list head and "        \
      "pushing the block), and rc=biased's queueing of an object for its "    \
      "owner",                                                                 \
      "nothing: a racing push makes the compare-and-swap retry; the object "  \
      "waits longer for its owner's merge",                                    \
      "everything")                                                            \
    X(QSBR_READ, "qsbr.read",                                                  \
      "a lock-free read (ft's list.get and dict.get), between loading the "   \
      "array and taking the item: a QSBR grace period cannot end meanwhile",  \
      "a reclamation that did not wait for the grace period (use_after_free)", \
      "ft: resized arrays are freed only after every reader has passed a "    \
      "quiescent state")                                                       \
    X(LOCK_SLOW, "lock.slow",                                                  \
      "a contended lock's slow path (the mutex modelled on PyMutex, and "     \
      "lock=pthread, tatas, ticket), before it spins or parks",                \
      "nothing: waits grow, handoffs happen more often",                       \
      "everything")

enum gh_inject_point {
#define GH_X_(e, name, where, breaks, keeps) GH_INJ_##e,
    GH_INJECT_POINTS(GH_X_)
#undef GH_X_
    GH_INJ_COUNT
};

struct gh_inject_doc {
    const char *name, *where, *breaks, *keeps;
};
extern const struct gh_inject_doc gh_inject_docs[GH_INJ_COUNT];

/* A delay of GH_INJECT_HANG ns never ends on its own: the thread sleeps
 * until gh_inject_release (the watchdog's positive control). */
#define GH_INJECT_HANG UINT64_MAX
/* Delays up to this spin on the clock (the thread stays on its CPU, as a
 * slow instruction sequence would); longer ones sleep (the thread is
 * descheduled, as by a preemption), holding whatever it holds. */
#define GH_INJECT_SPIN_MAX_NS 20000u

/* One --inject: where, how long, how often, on which threads. */
struct gh_inject_spec {
    enum gh_inject_point point;
    uint64_t delay_ns;    /* GH_INJECT_HANG: hang until released */
    double p;             /* probability of a delay at each pass (0 < p <= 1) */
    uint64_t every;       /* or: every `every`-th pass on a thread (0: use p) */
    uint64_t threads;     /* workers 0..63 (bit i); all ones: every worker */
};

/* Per thread (in struct gh_tstate): passes through each armed point that
 * matched the thread filter, delays made, and the stream that draws the
 * probabilities. Written by the owner only; `fired` with relaxed stores,
 * which the stall watchdog loads relaxed while the thread runs (a
 * progress count: it carries no data). */
struct gh_inject_thread {
    uint64_t passes[GH_INJ_COUNT];
    uint64_t fired[GH_INJ_COUNT];
    uint64_t rng;
};

/* A bit per armed point. Written by the runner only while no worker runs
 * (before it releases them, after it joins them); relaxed: the barrier and
 * the join order it. Read by the points only where they are not patched. */
extern uint32_t gh__inject_armed;

GH_NOINLINE GH_COLD void gh_inject_fire(enum gh_inject_point p);

#if defined(__x86_64__) && !defined(GH_INJECT_NO_PATCH)
#define GH_INJECT_PATCHED 1
/* A site's record: the nop and its stub, each relative to its own field,
 * and the point. */
struct gh_inject_site {
    int32_t at, stub;
    uint32_t point;
};
/* The asm of a site (operand `p` is the point). The stub's labels are
 * numeric local labels, so a site the compiler duplicates (an inlined
 * function, an unrolled loop) gets a stub and a record of its own. */
#define GH_INJECT_ASM_                                                         \
    "661: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                              \
    ".pushsection gh_inject_stubs, \"ax\", @progbits\n"                        \
    "662:\n\t"                                                                 \
    "lea -128(%%rsp), %%rsp\n\t"                                               \
    "pushq $%c[p]\n\t"                                                         \
    "call gh_inject_tramp\n\t"                                                 \
    "lea 136(%%rsp), %%rsp\n\t"                                                \
    "jmp 661b + 5\n\t"                                                         \
    ".popsection\n\t"                                                          \
    ".pushsection gh_inject_sites, \"a\"\n\t"                                  \
    ".balign 4\n\t"                                                            \
    ".long 661b - ., 662b - ., %c[p]\n\t"                                      \
    ".popsection"
#define GH_INJECT(P) __asm__ volatile(GH_INJECT_ASM_ : : [p] "i"(GH_INJ_##P))
#define GH_INJECT_AT(P, v) __asm__ volatile(GH_INJECT_ASM_ : "+r"(v) : [p] "i"(GH_INJ_##P))
#else
#define GH_INJECT_PATCHED 0
#define GH_INJECT(P)                                                           \
    do {                                                                       \
        if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&gh__inject_armed) &        \
                        (1u << GH_INJ_##P)))                                   \
            gh_inject_fire(GH_INJ_##P);                                        \
    } while (0)
/* The call, opaque to the compiler, keeps a load of v made before it
 * before it, and v's uses after it. */
#define GH_INJECT_AT(P, v) GH_INJECT(P)
#endif

/* Arms the specs (at most one per point; the caller checked) for the
 * workers about to run, with seed for the probability draws: 0, or -1 with
 * errno when the code could not be patched (nothing is armed then). Disarm
 * clears every point and lets hung threads go. No thread may be running a
 * point meanwhile. */
int gh_inject_arm(const struct gh_inject_spec *specs, int n, uint64_t seed);
/* Whether arming can patch the code: 0, or -1 with errno (the text could
 * not be made writable). */
int gh_inject_probe(void);
void gh_inject_disarm(void);
/* Ends every `hang` and sleeping delay in progress and every later one
 * (until the next arm): the watchdog calls it after its report. */
void gh_inject_release(void);
/* The point called `name`, or -1. */
int gh_inject_find(const char *name);

#endif
