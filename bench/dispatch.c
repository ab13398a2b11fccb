/* dispatch.c - does the strategy dispatch distort what it measures?
 *
 * A bare loop does the primitive by hand with the checks the primitive
 * itself needs and nothing of the model: a decrement tests for zero; an
 * append checks for room; a pop checks for an item and for the slack that
 * CPython's list_resize would give back; a lock is a one-byte compare-and-
 * swap both ways (PyMutex's fast paths); under sync=objlock every container
 * operation is a critical section, written by hand as CPython's (bare_cs:
 * the lock, then a two-word record pushed on a thread-local stack top).
 *
 * For every compiled flavour, the cost of the hot primitives as gilheap's
 * own code runs them (the flavour's bench entry: the same inline paths the
 * worker loop uses) next to a bare C loop doing the same primitive by hand,
 * measured alternately in one process: K rounds, each running every
 * flavour and every bare loop once; reported are the median per-round
 * ratio and its min-max. The project's rule: each ratio within 1.20.
 *
 * A second table does the same for each lock= kind (base/oblock.h): the
 * object's lock as critical sections take it (gh_ob_lock, then
 * gh_oblock_lock/unlock, whose switch on the run's kind is the dispatch
 * measured) against the kind's lock+unlock by hand on the lock gilheap
 * would find for the object (a header byte, or a side-table stripe found
 * by the same hash); and a whole one-object critical section of
 * objlock:atomic under that kind against a hand-written section around
 * the same lock.
 *
 * usage: dispatch [ITERS] [ROUNDS]   (defaults 20000000, 7)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "base/atomic.h"
#include "base/clock.h"
#include "base/mutex.h"
#include "base/oblock.h"
#include "base/tstate.h"
#include "gc/gc.h"
#include "object/object.h"
#include "scenario/flavor.h"
#include "scenario/runtime.h"
#include "sync/gil_lock.h"

struct bare_obj { uint64_t rc; uint64_t type; };
struct bare_list { gh_mutex m; int64_t n; int64_t cap; void **items; };

static double since(uint64_t t0, uint64_t iters) { return (double)(gh_now_ns() - t0) / (double)iters; }

/* Bare loops: the primitive written directly, no model around it. */
/* The primitive pair as CPython 3.12+ defines it (PEP 683): skip immortal
 * objects (sign bit set), increment; skip immortals, decrement and test for
 * zero. gilheap's presets have immortal=on, so this is the same primitive.
 * The _mortal variants leave the immortality test out: the difference is
 * what PEP 683 costs, printed under the table. */
GH_INLINE bool bare_immortal(uint64_t rc) { return (int64_t)rc < 0; }

static double bare_incdec_plain(struct bare_obj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        if (!bare_immortal(o->rc))
            o->rc++;
        GH_COMPILER_BARRIER();
        if (!bare_immortal(o->rc) && --o->rc == 0)
            abort();
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static double bare_incdec_plain_mortal(struct bare_obj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        o->rc++;
        GH_COMPILER_BARRIER();
        if (--o->rc == 0)
            abort();
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static double bare_incdec_atomic(struct bare_obj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        if (!bare_immortal(gh_atomic_load_relaxed_u64(&o->rc)))
            gh_atomic_add_relaxed_u64(&o->rc, 1);
        GH_COMPILER_BARRIER();
        /* Release, as rc=atomic's gh_decref; its pair, the acquire fence
         * of the thread that reaches zero, is never run here. */
        if (!bare_immortal(gh_atomic_load_relaxed_u64(&o->rc)) &&
            gh_atomic_sub_release_u64(&o->rc, 1) == 1)
            abort();
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static double bare_incdec_atomic_mortal(struct bare_obj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        gh_atomic_add_relaxed_u64(&o->rc, 1);
        GH_COMPILER_BARRIER();
        /* Release, as in bare_incdec_atomic: its pair is never run. */
        if (gh_atomic_sub_release_u64(&o->rc, 1) == 1)
            abort();
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* The GIL's uncontended take/drop by hand: a mutex-protected flag. */
static pthread_mutex_t bare_gil_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t bare_gil_switch = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bare_gil_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t bare_gil_switch_cond = PTHREAD_COND_INITIALIZER;
static int bare_gil_locked;

static double bare_gil(uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        pthread_mutex_lock(&bare_gil_mutex);
        pthread_mutex_lock(&bare_gil_switch);
        bare_gil_locked = 1;
        pthread_cond_signal(&bare_gil_switch_cond);
        pthread_mutex_unlock(&bare_gil_switch);
        pthread_mutex_unlock(&bare_gil_mutex);
        GH_COMPILER_BARRIER();
        pthread_mutex_lock(&bare_gil_mutex);
        bare_gil_locked = 0;
        pthread_cond_signal(&bare_gil_cond);
        pthread_mutex_unlock(&bare_gil_mutex);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* A one-byte lock as PyMutex's fast paths do it: compare-and-swap 0->1 to
 * lock, compare-and-swap 1->0 to unlock (a plain store cannot tell whether a
 * waiter parked). */
GH_INLINE void bare_lock(uint8_t *b)
{
    uint8_t e = 0;
    /* Acquire: pairs with the release CAS in bare_unlock. */
    while (!gh_atomic_cas_acquire_u8(b, &e, 1))
        e = 0;
}

GH_INLINE void bare_unlock(uint8_t *b)
{
    uint8_t e = 1;
    /* Release: pairs with the acquire CAS in bare_lock. */
    if (!gh_atomic_cas_release_u8(b, &e, 0))
        abort();
}

/* CPython's critical section by hand (Include/internal/
 * pycore_critical_section.h, _PyCriticalSection_BeginMutex and
 * _PyCriticalSection_End): the lock's fast path, then a two-word record on
 * the stack - the lock and the enclosing record - pushed on the thread's
 * stack top; at the end the unlock, the pop, and the test of the enclosing
 * record's inactive tag (bit 0: resume it). This is the primitive every
 * container operation of sync=objlock takes, so the flavours' lock rows and
 * list rows compare with it; the lock alone is compared in the lock= table. */
struct bare_cs { uintptr_t prev; void *lock; };
static _Thread_local uintptr_t bare_cs_top;

GH_INLINE void bare_cs_push(struct bare_cs *c, void *lock)
{
    c->lock = lock;
    c->prev = bare_cs_top;
    bare_cs_top = (uintptr_t)c;
}

GH_INLINE void bare_cs_pop(struct bare_cs *c)
{
    bare_cs_top = c->prev;
    if (c->prev & 1)
        abort(); /* an inactive enclosing section: never here */
}

GH_INLINE void bare_cs_begin(struct bare_cs *c, uint8_t *b)
{
    bare_lock(b);
    bare_cs_push(c, b);
}

GH_INLINE void bare_cs_end(struct bare_cs *c)
{
    bare_unlock(c->lock);
    bare_cs_pop(c);
}

/* append+pop by hand: store, count, load, uncount - with the flavour's
 * lock and count primitives. */
GH_INLINE double bare_append_pop(struct bare_list *l, struct bare_obj *o, bool locked,
                                 bool atomic_rc, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        if (atomic_rc) {
            if (!bare_immortal(gh_atomic_load_relaxed_u64(&o->rc)))
                gh_atomic_add_relaxed_u64(&o->rc, 1);
        } else if (!bare_immortal(o->rc)) {
            o->rc++;
        }
        struct bare_cs c;
        if (locked)
            bare_cs_begin(&c, &l->m.bits);
        if (l->n == l->cap) /* an append checks for room */
            abort();
        l->items[l->n++] = o;
        if (locked)
            bare_cs_end(&c);
        GH_COMPILER_BARRIER();
        if (locked)
            bare_cs_begin(&c, &l->m.bits);
        if (l->n == 0 || l->n - 1 < (l->cap >> 1)) /* a pop checks for items and for slack */
            abort();
        struct bare_obj *p = l->items[--l->n];
        if (locked)
            bare_cs_end(&c);
        if (atomic_rc) {
            /* Release, as in bare_incdec_atomic: its pair is never run. */
            if (!bare_immortal(gh_atomic_load_relaxed_u64(&p->rc)) &&
                gh_atomic_sub_release_u64(&p->rc, 1) == 1)
                abort();
        } else if (!bare_immortal(p->rc) && --p->rc == 0) {
            abort();
        }
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* One copy per flavour with the flags constant, as gilheap's own code is
 * compiled once per flavour: no runtime test of the flags in the loop. */
static GH_NOINLINE double bare_append_pop_gil_plain(struct bare_list *l, struct bare_obj *o, uint64_t n)
{ return bare_append_pop(l, o, false, false, n); }
static GH_NOINLINE double bare_append_pop_gil_atomic(struct bare_list *l, struct bare_obj *o, uint64_t n)
{ return bare_append_pop(l, o, false, true, n); }
static GH_NOINLINE double bare_append_pop_objlock_atomic(struct bare_list *l, struct bare_obj *o, uint64_t n)
{ return bare_append_pop(l, o, true, true, n); }
/* sync=objlock rc=plain: the list's lock, plain counts. */
static GH_NOINLINE double bare_append_pop_objlock_plain(struct bare_list *l, struct bare_obj *o, uint64_t n)
{ return bare_append_pop(l, o, true, false, n); }

/* rc=biased by hand (rc/brc.h's fast paths): the owner's local count, a
 * thread id from thread-local storage, the immortal test on the local
 * count first. The object is the calling thread's, as the flavour's bench
 * object is. */
struct bare_bobj { uintptr_t tid; uint32_t local; uint64_t shared; };
static _Thread_local void *bare_me;

GH_INLINE void bare_incref_biased(struct bare_bobj *o)
{
    uint32_t l = gh_atomic_load_relaxed_u32(&o->local);
    if (l == UINT32_MAX)
        return;
    if (gh_atomic_load_relaxed_uptr(&o->tid) == (uintptr_t)bare_me)
        gh_atomic_store_relaxed_u32(&o->local, l + 1);
    else
        gh_atomic_add_relaxed_u64(&o->shared, 4);
}

GH_INLINE void bare_decref_biased(struct bare_bobj *o)
{
    uint32_t l = gh_atomic_load_relaxed_u32(&o->local);
    if (l == UINT32_MAX)
        return;
    if (gh_atomic_load_relaxed_uptr(&o->tid) != (uintptr_t)bare_me)
        abort(); /* the shared path: never taken here */
    gh_atomic_store_relaxed_u32(&o->local, --l);
    if (l == 0)
        abort();
}

static GH_NOINLINE double bare_incdec_biased(struct bare_bobj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        bare_incref_biased(o);
        GH_COMPILER_BARRIER();
        bare_decref_biased(o);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static GH_NOINLINE double bare_append_pop_objlock_biased(struct bare_list *l, struct bare_bobj *o,
                                                         uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        bare_incref_biased(o);
        struct bare_cs c;
        bare_cs_begin(&c, &l->m.bits);
        if (l->n == l->cap)
            abort();
        l->items[l->n++] = o;
        bare_cs_end(&c);
        GH_COMPILER_BARRIER();
        bare_cs_begin(&c, &l->m.bits);
        if (l->n == 0 || l->n - 1 < (l->cap >> 1))
            abort();
        struct bare_bobj *p = l->items[--l->n];
        bare_cs_end(&c);
        bare_decref_biased(p);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* rc=locked by hand (rc/rc.h's fast paths): the immortal test, the
 * object's one-byte mutex taken and released with a compare-and-swap each
 * way (as bare_lock), the acquisition counted in a per-thread counter (the
 * flavour counts every count lock, class rc), and a plain load and store of
 * the count under the lock, the immortal bit tested again. The mutex sits
 * in front of the count, as in the full header. */
struct bare_lobj { uint64_t prefix_lo; uint8_t m; uint64_t rc; };
_Thread_local uint64_t bare_count_locks; /* not static: the stores stay */

GH_INLINE void bare_incref_locked(struct bare_lobj *o)
{
    if (bare_immortal(gh_atomic_load_relaxed_u64(&o->rc)))
        return;
    bare_lock(&o->m);
    bare_count_locks++;
    uint64_t c = gh_atomic_load_relaxed_u64(&o->rc);
    if (!bare_immortal(c))
        gh_atomic_store_relaxed_u64(&o->rc, c + 1);
    bare_unlock(&o->m);
}

GH_INLINE void bare_decref_locked(struct bare_lobj *o)
{
    if (bare_immortal(gh_atomic_load_relaxed_u64(&o->rc)))
        return;
    bare_lock(&o->m);
    bare_count_locks++;
    uint64_t c = gh_atomic_load_relaxed_u64(&o->rc);
    if (!bare_immortal(c)) {
        gh_atomic_store_relaxed_u64(&o->rc, c - 1);
        if (c == 1)
            abort();
    }
    bare_unlock(&o->m);
}

static GH_NOINLINE double bare_incdec_locked(struct bare_lobj *o, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        bare_incref_locked(o);
        GH_COMPILER_BARRIER();
        bare_decref_locked(o);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static GH_NOINLINE double bare_append_pop_objlock_locked(struct bare_list *l, struct bare_lobj *o,
                                                         uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        bare_incref_locked(o);
        struct bare_cs c;
        bare_cs_begin(&c, &l->m.bits);
        if (l->n == l->cap)
            abort();
        l->items[l->n++] = o;
        bare_cs_end(&c);
        GH_COMPILER_BARRIER();
        bare_cs_begin(&c, &l->m.bits);
        if (l->n == 0 || l->n - 1 < (l->cap >> 1))
            abort();
        struct bare_lobj *p = l->items[--l->n];
        bare_cs_end(&c);
        bare_decref_locked(p);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* The lock= kinds by hand, each on the lock gilheap would take for the
 * object: pymutex and tatas on a byte of the object's header, pthread and
 * ticket on a stripe of a side table found by the same multiplicative hash
 * of the address as base/oblock.h (a table of the loop's own). The
 * object's address passes through an empty asm each iteration, so the
 * compiler cannot hoist the lookup out of the loop. */
struct bare_stripe {
    union {
        pthread_mutex_t pm;
        struct { uint32_t next, serving; } t;
    } u;
} GH_ALIGNED_CACHELINE;
/* One table per kind: a ticket lock's counters left in a pthread mutex's
 * word would read as locked. */
static struct bare_stripe bare_stripes[2][1024];

GH_INLINE void *bare_kind_lock_of(enum gh_oblock_kind k, uint8_t *hdr_byte, const void *obj)
{
    if (k == GH_OBLOCK_PYMUTEX || k == GH_OBLOCK_TATAS)
        return hdr_byte;
    uint64_t h = ((uint64_t)(uintptr_t)obj >> 4) * 0x9E3779B97F4A7C15ull;
    return &bare_stripes[k == GH_OBLOCK_TICKET][h >> (64 - 10)];
}

GH_INLINE void bare_kind_lock(enum gh_oblock_kind k, void *lk)
{
    switch (k) {
    case GH_OBLOCK_PTHREAD:
        if (pthread_mutex_lock(&((struct bare_stripe *)lk)->u.pm))
            abort();
        return;
    case GH_OBLOCK_TATAS:
        /* Acquire: pairs with the release store in bare_kind_unlock (the
         * lock's own orders; nothing else runs). */
        while (gh_atomic_exchange_acquire_u8(lk, 1))
            while (gh_atomic_load_relaxed_u8(lk))
                gh_cpu_relax();
        return;
    case GH_OBLOCK_TICKET: {
        struct bare_stripe *s = lk;
        uint32_t t = gh_atomic_add_relaxed_u32(&s->u.t.next, 1);
        /* Acquire: pairs with the release store below (one thread here). */
        while (gh_atomic_load_acquire_u32(&s->u.t.serving) != t)
            gh_cpu_relax();
        return;
    }
    default:
        bare_lock(lk);
        return;
    }
}

GH_INLINE void bare_kind_unlock(enum gh_oblock_kind k, void *lk)
{
    switch (k) {
    case GH_OBLOCK_PTHREAD:
        if (pthread_mutex_unlock(&((struct bare_stripe *)lk)->u.pm))
            abort();
        return;
    case GH_OBLOCK_TATAS:
        /* Release: pairs with the acquire exchange in bare_kind_lock. */
        gh_atomic_store_release_u8(lk, 0);
        return;
    case GH_OBLOCK_TICKET: {
        struct bare_stripe *s = lk;
        /* Release: pairs with the acquire load of serving in bare_kind_lock. */
        gh_atomic_store_release_u32(&s->u.t.serving, gh_atomic_load_relaxed_u32(&s->u.t.serving) + 1);
        return;
    }
    default:
        bare_unlock(lk);
        return;
    }
}

/* Kind k's lock+unlock on obj's lock; with cs, inside a hand-written
 * critical section (bare_cs) as CPython's macros wrap it. */
GH_INLINE double bare_kind_loop(enum gh_oblock_kind k, bool cs, uint8_t *hdr_byte,
                                const void *obj, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        __asm__ volatile("" : "+r"(obj));
        void *lk = bare_kind_lock_of(k, hdr_byte, obj);
        struct bare_cs c;
        bare_kind_lock(k, lk);
        if (cs)
            bare_cs_push(&c, lk);
        GH_COMPILER_BARRIER();
        bare_kind_unlock(k, lk);
        if (cs)
            bare_cs_pop(&c);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

/* One copy per kind and form, the kind a constant (as gilheap's switch on
 * the run's kind is a predicted branch, the bare loop has none). */
#define BARE_KIND_(name, k)                                                                  \
    static GH_NOINLINE double bare_##name##_lock(uint8_t *hb, const void *obj, uint64_t n)   \
    { return bare_kind_loop(k, false, hb, obj, n); }                                          \
    static GH_NOINLINE double bare_##name##_cs(uint8_t *hb, const void *obj, uint64_t n)     \
    { return bare_kind_loop(k, true, hb, obj, n); }
BARE_KIND_(pymutex, GH_OBLOCK_PYMUTEX)
BARE_KIND_(pthread, GH_OBLOCK_PTHREAD)
BARE_KIND_(tatas, GH_OBLOCK_TATAS)
BARE_KIND_(ticket, GH_OBLOCK_TICKET)
#undef BARE_KIND_

static double (*const bare_kind_fns[GH_OBLOCK_COUNT][2])(uint8_t *, const void *, uint64_t) = {
    [GH_OBLOCK_PYMUTEX] = {bare_pymutex_lock, bare_pymutex_cs},
    [GH_OBLOCK_PTHREAD] = {bare_pthread_lock, bare_pthread_cs},
    [GH_OBLOCK_TATAS] = {bare_tatas_lock, bare_tatas_cs},
    [GH_OBLOCK_TICKET] = {bare_ticket_lock, bare_ticket_cs},
};

/* A bare lock+unlock of kind k on one fixed lock, no lookup: printed under
 * the table (what the side table's lookup costs pthread and ticket). */
GH_INLINE double bare_fixed_loop(enum gh_oblock_kind k, void *lk, uint64_t iters)
{
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        bare_kind_lock(k, lk);
        GH_COMPILER_BARRIER();
        bare_kind_unlock(k, lk);
        GH_COMPILER_BARRIER();
    }
    return since(t0, iters);
}

static GH_NOINLINE double bare_pthread_fixed(struct bare_stripe *s, uint64_t n)
{ return bare_fixed_loop(GH_OBLOCK_PTHREAD, s, n); }
static GH_NOINLINE double bare_ticket_fixed(struct bare_stripe *s, uint64_t n)
{ return bare_fixed_loop(GH_OBLOCK_TICKET, s, n); }

/* gilheap's object lock under the selected kind, as a section takes it. */
static GH_NOINLINE double ours_oblock(gh_object *o, uint64_t iters)
{
    struct gh_lockstat st = {0};
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        gh_oblock *l = gh_ob_lock(o);
        gh_oblock_lock(l, &st);
        GH_COMPILER_BARRIER();
        gh_oblock_unlock(l);
        GH_COMPILER_BARRIER();
    }
    if (st.acquisitions != iters)
        abort();
    return since(t0, iters);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_ROUNDS 64

static void *noop_thread(void *arg) { return arg; }

/* A flavour's primitives are measured in the process a run of its strategy
 * sets up (gh_runtime_init; the per-object lock `lock`). */
static void runtime_init(struct gh_runtime *rt, const struct gh_flavor *fl, enum gh_lock_kind lock,
                         struct gh_tstate *ts)
{
    struct gh_strategy st;
    gh_strategy_for_flavour(&st, fl->sync, fl->rc);
    st.lock = lock;
    char err[256];
    if (gh_runtime_init(rt, &st, false, ts, 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "dispatch: %s\n", err);
        exit(3);
    }
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000u;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (iters == 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: dispatch [ITERS>0] [ROUNDS 1..%d]\n", MAX_ROUNDS);
        return 2;
    }
    /* Runs are multi-threaded, and so is this process before it measures:
     * a thread started and joined turns off whatever shortcuts the C
     * library takes while a process has one thread (glibc tracks it in
     * __libc_single_threaded), so no bare loop of a pthread primitive is
     * timed on a path no run can take. */
    pthread_t helper;
    if (pthread_create(&helper, NULL, noop_thread, NULL) || pthread_join(helper, NULL)) {
        fprintf(stderr, "dispatch: cannot start a thread\n");
        return 1;
    }
    static const struct gh_flavor *const fls[] = {
#define GH_X_(s, r) &GH_FL_NAME(gh_flavor, s##_##r),
        GH_FLAVORS(GH_X_)
#undef GH_X_
    };
    enum { NF = sizeof fls / sizeof fls[0] };
    static double ours[NF][3][MAX_ROUNDS], bare[NF][3][MAX_ROUNDS];
    static double mortal[2][MAX_ROUNDS]; /* bare pair without the immortal test */

    struct bare_obj bo = {1, 0};
    bare_me = &bo;
    struct bare_bobj bbo = {(uintptr_t)&bo, 1, 0};
    struct bare_lobj blo = {0, 0, 1};
    void *slots[4];
    struct bare_list bl = {{0}, 2, 4, slots}; /* like gilheap's: 2 items, room for 4 */
    uint8_t bytelock = 0;
    struct gh_tstate ts;
    struct gh_runtime rt;

    for (int r = 0; r < rounds; r++) {
        for (int f = 0; f < NF; f++) {
            const struct gh_flavor *fl = fls[f];
            bool gil = fl->sync == GH_SYNC_GIL, atomic_rc = fl->rc == GH_RC_ATOMIC;
            bool none = fl->sync == GH_SYNC_NONE;
            bool biased = fl->rc == GH_RC_BIASED, locked = fl->rc == GH_RC_LOCKED;
            runtime_init(&rt, fl, GH_LOCKK_PYMUTEX, &ts);
            struct gh_bench_costs c;
            fl->bench(&c, iters);
            ours[f][0][r] = c.incdec_ns;
            ours[f][1][r] = c.lock_ns;
            ours[f][2][r] = c.append_pop_ns;
            gh_runtime_fini(&rt, NULL);

            bare[f][0][r] = biased      ? bare_incdec_biased(&bbo, iters)
                            : locked    ? bare_incdec_locked(&blo, iters)
                            : atomic_rc ? bare_incdec_atomic(&bo, iters)
                                        : bare_incdec_plain(&bo, iters);
            /* sync=none takes no lock: its lock row has nothing to compare
             * (printed as such), and its list ops are the unlocked ones. */
            bare[f][1][r] = gil ? bare_gil(iters) : none ? 0 : bare_pymutex_cs(&bytelock, &bo, iters);
            bare[f][2][r] = gil || none
                                ? (atomic_rc ? bare_append_pop_gil_atomic(&bl, &bo, iters)
                                             : bare_append_pop_gil_plain(&bl, &bo, iters))
                         : fls[f]->rc == GH_RC_PLAIN ? bare_append_pop_objlock_plain(&bl, &bo, iters)
                         : biased ? bare_append_pop_objlock_biased(&bl, &bbo, iters)
                         : locked ? bare_append_pop_objlock_locked(&bl, &blo, iters)
                                  : bare_append_pop_objlock_atomic(&bl, &bo, iters);
        }
        mortal[0][r] = bare_incdec_plain_mortal(&bo, iters);
        mortal[1][r] = bare_incdec_atomic_mortal(&bo, iters);
    }

    static const char *const prim[3] = {"incref+decref", "lock+unlock", "list append+pop"};
    printf("dispatch cost: gilheap's primitive vs a bare C loop, %" PRIu64
           " iterations, %d alternating rounds\n", iters, rounds);
    printf("%-16s %-16s %10s %10s %8s %15s\n", "flavour", "primitive", "gilheap ns", "bare ns",
           "ratio", "ratio min-max");
    int over = 0;
    for (int f = 0; f < NF; f++) {
        for (int p = 0; p < 3; p++) {
            double ratio[MAX_ROUNDS], o[MAX_ROUNDS], b[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = ours[f][p][r] / bare[f][p][r];
                o[r] = ours[f][p][r];
                b[r] = bare[f][p][r];
            }
            qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
            qsort(o, (size_t)rounds, sizeof(double), cmp_double);
            qsort(b, (size_t)rounds, sizeof(double), cmp_double);
            if (p == 1 && fls[f]->sync == GH_SYNC_NONE) {
                printf("%-16s %-16s %10.2f %10s %8s %15s\n", fls[f]->name, "lock+unlock",
                       o[rounds / 2], "-", "-", "(no lock)");
                continue;
            }
            double med = ratio[rounds / 2];
            const char *what = p == 1 && fls[f]->sync == GH_SYNC_GIL ? "GIL take+drop" : prim[p];
            printf("%-16s %-16s %10.2f %10.2f %8.2f %7.2f-%-7.2f%s\n", fls[f]->name, what,
                   o[rounds / 2], b[rounds / 2], med, ratio[0], ratio[rounds - 1],
                   med > 1.20 ? "  OVER 1.20" : "");
            if (med > 1.20)
                over++;
        }
    }
    int none_rows = 0;
    for (int f = 0; f < NF; f++)
        none_rows += fls[f]->sync == GH_SYNC_NONE;
    printf("%d of %d ratios above 1.20\n", over, NF * 3 - none_rows);
    qsort(mortal[0], (size_t)rounds, sizeof(double), cmp_double);
    qsort(mortal[1], (size_t)rounds, sizeof(double), cmp_double);
    printf("bare incref+decref without the PEP 683 immortality test: plain %.2f ns, atomic %.2f ns "
           "(median)\n", mortal[0][rounds / 2], mortal[1][rounds / 2]);

    /* The lock= kinds. */
    static const char *const kind_names[GH_OBLOCK_COUNT] = {"pymutex", "pthread", "tatas",
                                                            "ticket"};
    static double k_ours[GH_OBLOCK_COUNT][2][MAX_ROUNDS], k_bare[GH_OBLOCK_COUNT][2][MAX_ROUNDS];
    static double fixed[2][MAX_ROUNDS]; /* pthread, ticket on one fixed lock */
    const struct gh_flavor *fla = gh_flavor_find(GH_SYNC_OBJLOCK, GH_RC_ATOMIC);
    /* An object with the full header in front: 16 bytes of prefix, then
     * the object (gh_ob_lock reads only the prefix's byte or the address). */
    static _Alignas(64) unsigned char objbuf[64], bare_objbuf[64];
    gh_object *obj = (gh_object *)(void *)(objbuf + 16);
    /* The bare object's lock byte: in its header, as ob_mutex is. */
    uint8_t *bare_hb = bare_objbuf + 8;
    for (int i = 0; i < 1024; i++)
        if (pthread_mutex_init(&bare_stripes[0][i].u.pm, NULL))
            abort();
    static struct bare_stripe fixed_pm, fixed_ticket; /* the ticket's zeroed: free */
    if (pthread_mutex_init(&fixed_pm.u.pm, NULL))
        abort();
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < GH_OBLOCK_COUNT; k++) {
            gh_oblock_select((enum gh_oblock_kind)k);
            k_ours[k][0][r] = ours_oblock(obj, iters);
            runtime_init(&rt, fla, (enum gh_lock_kind)k, &ts);
            struct gh_bench_costs c;
            fla->bench(&c, iters);
            k_ours[k][1][r] = c.lock_ns;
            gh_runtime_fini(&rt, NULL);
            for (int p = 0; p < 2; p++)
                k_bare[k][p][r] = bare_kind_fns[k][p](bare_hb, bare_objbuf + 16, iters);
        }
        fixed[0][r] = bare_pthread_fixed(&fixed_pm, iters);
        fixed[1][r] = bare_ticket_fixed(&fixed_ticket, iters);
    }
    gh_oblock_select(GH_OBLOCK_PYMUTEX);
    printf("\nlock= kinds: the object's lock (gh_oblock, dispatched on the run's kind) and a "
           "whole one-object critical section of objlock_atomic, vs the same by hand (the "
           "kind's lock found as gilheap finds it; a hand-written section around it)\n");
    printf("%-16s %-16s %10s %10s %8s %15s\n", "lock", "primitive", "gilheap ns", "bare ns",
           "ratio", "ratio min-max");
    int kover = 0;
    for (int k = 0; k < GH_OBLOCK_COUNT; k++) {
        for (int p = 0; p < 2; p++) {
            double ratio[MAX_ROUNDS], o[MAX_ROUNDS], b[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = k_ours[k][p][r] / k_bare[k][p][r];
                o[r] = k_ours[k][p][r];
                b[r] = k_bare[k][p][r];
            }
            qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
            qsort(o, (size_t)rounds, sizeof(double), cmp_double);
            qsort(b, (size_t)rounds, sizeof(double), cmp_double);
            double med = ratio[rounds / 2];
            printf("%-16s %-16s %10.2f %10.2f %8.2f %7.2f-%-7.2f%s\n", kind_names[k],
                   p ? "critical section" : "lock+unlock", o[rounds / 2], b[rounds / 2], med,
                   ratio[0], ratio[rounds - 1], med > 1.20 ? "  OVER 1.20" : "");
            if (med > 1.20)
                kover++;
        }
    }
    qsort(fixed[0], (size_t)rounds, sizeof(double), cmp_double);
    qsort(fixed[1], (size_t)rounds, sizeof(double), cmp_double);
    printf("%d of %d lock-kind ratios above 1.20\n", kover, GH_OBLOCK_COUNT * 2);
    printf("bare lock+unlock of one fixed lock, no side-table lookup: pthread %.2f ns, ticket "
           "%.2f ns (median)\n", fixed[0][rounds / 2], fixed[1][rounds / 2]);
    return over || kover ? 1 : 0;
}
