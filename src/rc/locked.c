/* locked.c - rc=locked's slow paths: the count lock was busy, or the count
 * reached zero. The fast paths are rc/locked.h; the design and why it
 * cannot deadlock are in docs/strategies.md ("rc=locked"); the pins in
 * rc/pins.h; the suspension of critical sections in sync/critsec.h. */
#include "rc/pins.h"

#include "base/clock.h"
#include "base/die.h"
#include "base/probes.h"
#include "base/timeline.h"
#include "rc/dealloc.h"
#include "sync/critsec.h"

/* How many times a thread inside a critical section retries a busy count
 * lock before it suspends its sections. A count update holds the lock for
 * a load and a store, so this outlasts one in progress; a critical section
 * holding the lock (the object is a container in use) lasts longer, and
 * waiting for it is what the suspension is for. */
#define SPIN 64

/* How the slow path holds o's count. */
enum how {
    TAKEN,     /* its mutex is locked for the update: unlock it */
    OWN,       /* its mutex is one of this thread's sections': nothing to take */
    SUSPENDED, /* locked after this thread's sections were released: unlock
                  it, then take the sections again */
};

/* A contended acquisition of `lock` that began at t0 (the fast path's
 * failed try), its acquisition counted by the try that took it: the wait
 * as every lock kind's slow path records it (gh_lock_waited), but the
 * acquisition. */
static void note_contended(struct gh_lockstat *st, const void *lock, uint64_t t0)
{
    uint64_t t1 = gh_now_ns(), w = t1 - t0;
    st->contended++;
    st->wait_ns += w;
    if (w > st->wait_max_ns)
        st->wait_max_ns = w;
    struct gh_tstate *ts = gh_tstate_get();
    GH_PROBE3(lock_wait_end, lock, gh_tl_lock_class(ts, st), w);
    if (GH_UNLIKELY(ts && (ts->lp || ts->tl)))
        gh_lock_waited_slow(ts, st, lock, t0, t1);
}

/* Waits for m. Class rc does not detach (base/mutex.c): the holder is a
 * running thread (none waits while holding an object's mutex). */
static void lock_waiting(gh_oblock *m, struct gh_lockstat *st, uint64_t t0)
{
    uint64_t contended = st->contended;
    gh_oblock_lock(m, st);
    if (st->contended == contended) /* its fast path won: still a wait of ours */
        note_contended(st, m, t0);
}

/* Takes o's count lock after the fast path's try failed. `pin`: the caller
 * increments, and o is alive only as long as its sections are held (it
 * was read from a container), so a suspension pins it first. */
static enum how count_lock(struct gh_tstate *ts, gh_object *o, bool pin)
{
    gh_assert(ts != NULL);
    gh_oblock *m = gh_ob_lock(o);
    struct gh_lockstat *st = &ts->locks[GH_LOCK_rc];
    if (!ts->cs_top) {
        /* No object lock held: waiting cannot close a cycle. */
        lock_waiting(m, st, gh_now_ns());
        return TAKEN;
    }
    /* The section's own object (a list holding itself, a dict's value that
     * is the dict): its mutex is ours already. */
    if (gh_cs_holds(ts, m))
        return OWN;
    uint64_t t0 = gh_now_ns();
    for (int i = 0; i < SPIN; i++) {
        gh_cpu_relax();
        if (!gh_oblock_is_locked(m) && gh_oblock_trylock(m, st)) {
            note_contended(st, m, t0);
            return TAKEN;
        }
    }
    /* Waiting here, holding a section's lock, could close a cycle (another
     * thread in a section on o incrementing the object we hold): release
     * the sections and wait holding nothing. The pin comes first, while
     * the sections still keep o alive. */
    if (pin)
        gh_atomic_add_relaxed_u16(&gh_prefix(o)->ob_flags, GH_RC_PIN_ONE);
    gh_cs_suspend_all(ts);
    lock_waiting(m, st, t0);
    return SUSPENDED;
}

/* Releases what count_lock took; `pinned`: the update was the pinner's
 * increment, done (the pin goes under the lock, after it). The sections
 * are taken again last, their acquisitions counted as the count's (rc). */
static void count_unlock(struct gh_tstate *ts, gh_object *o, enum how h, bool pinned)
{
    switch (h) {
    case OWN:
        return;
    case TAKEN:
        gh_oblock_unlock(gh_ob_lock(o));
        return;
    case SUSPENDED:
        if (pinned)
            gh_atomic_sub_relaxed_u16(&gh_prefix(o)->ob_flags, GH_RC_PIN_ONE);
        gh_oblock_unlock(gh_ob_lock(o));
        gh_cs_resume_all(ts, &ts->locks[GH_LOCK_rc]);
        return;
    }
}

void gh_rc_locked_incref_slow(gh_object *o)
{
    struct gh_tstate *ts = gh_tstate_get();
    enum how h = count_lock(ts, o, true);
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    if (!gh_refcnt_is_immortal(c)) /* it may have become immortal meanwhile */
        gh_atomic_store_relaxed_u64(&o->ob_refcnt, c + 1);
    count_unlock(ts, o, h, true);
}

void gh_rc_locked_decref_slow(gh_object *o)
{
    struct gh_tstate *ts = gh_tstate_get();
    enum how h = count_lock(ts, o, false);
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    bool dead = false;
    if (!gh_refcnt_is_immortal(c)) {
        gh_atomic_store_relaxed_u64(&o->ob_refcnt, c - 1);
        dead = c == 1 && gh_rc_pins(o) == 0;
    }
    /* A section's own object cannot die inside it: whoever opened the
     * section holds a reference to it; nor can an object whose lock is a
     * stripe the section holds (lock=pthread, lock=ticket): the model never
     * drops a last reference inside a section (containers.h). */
    gh_assert(!(dead && h == OWN));
    count_unlock(ts, o, h, false);
    /* Never under the count lock. After a suspension the sections are
     * held again, as they are for the fast path's dealloc: the model
     * never drops a last reference inside a section (containers.h). */
    if (dead)
        gh_dealloc(o);
}

void gh_rc_locked_zero(gh_object *o)
{
    /* A pinner's increment is on its way: not dead (rc/locked.h). */
    bool pinned = gh_rc_pins(o) != 0;
    gh_oblock_unlock(gh_ob_lock(o)); /* released before the deallocation */
    if (!pinned)
        gh_dealloc(o);
}

bool gh_rc_locked_try_incref_slow(gh_object *o)
{
    /* No pin: the caller keeps o's memory valid by other means (the weak
     * references' lock, which o's deallocation takes before its memory
     * goes), and o may be dead already, which a pin must never be on. */
    struct gh_tstate *ts = gh_tstate_get();
    enum how h = count_lock(ts, o, false);
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    bool ok = true;
    if (!gh_refcnt_is_immortal(c)) {
        if (c == 0 && gh_rc_pins(o) == 0)
            ok = false; /* being deallocated */
        else
            gh_atomic_store_relaxed_u64(&o->ob_refcnt, c + 1);
    }
    count_unlock(ts, o, h, false);
    return ok;
}

bool gh_rc_locked_decref_is_zero_slow(gh_object *o)
{
    struct gh_tstate *ts = gh_tstate_get();
    enum how h = count_lock(ts, o, false);
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    bool zero = false;
    if (!gh_refcnt_is_immortal(c)) {
        gh_atomic_store_relaxed_u64(&o->ob_refcnt, c - 1);
        zero = c == 1 && gh_rc_pins(o) == 0;
    }
    count_unlock(ts, o, h, false);
    return zero;
}

void gh_rc_locked_set_slow(gh_object *o, uint64_t v)
{
    struct gh_tstate *ts = gh_tstate_get();
    enum how h = count_lock(ts, o, false);
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, v);
    count_unlock(ts, o, h, false);
}
