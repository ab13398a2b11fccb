/* critsec.c - the slow paths of critical sections (critsec.h): suspending
 * and resuming them, and rc=locked's way of taking several object locks
 * (never wait for one while holding another). Flavour-neutral. */
#include "sync/critsec.h"

#include "base/die.h"
#include "base/lockprof.h"
#include "base/timeline.h"

/* Nested sections are at most a few deep (the model nests none today);
 * each holds one or two locks. */
#define MAX_HELD 32

void gh_cs_hold_begin(struct gh_tstate *ts, struct gh_critsec *cs)
{
    struct gh_lockprof *lp = ts->lp;
    if (lp->cs_open) {
        /* One sampled section at a time: the next one takes the sample. */
        ts->hold_left = 1;
        return;
    }
    ts->hold_left = lp->hold_every;
    lp->cs_open = cs;
    lp->cs_t0 = gh_now_ns();
    cs->sampled = true;
}

void gh_cs_hold_end(struct gh_tstate *ts, struct gh_critsec *cs)
{
    struct gh_lockprof *lp = ts->lp;
    uint64_t t1 = gh_now_ns(), d = t1 - lp->cs_t0;
    gh_hist_add(&lp->hold[cs->cls1], d);
    if (ts->tl)
        gh_tl_put(ts->tl, GH_TL_LOCK_HOLD, lp->cs_t0, t1, cs->l1, cs->cls1);
    if (cs->l2) {
        gh_hist_add(&lp->hold[cs->cls2], d);
        if (ts->tl)
            gh_tl_put(ts->tl, GH_TL_LOCK_HOLD, lp->cs_t0, t1, cs->l2, cs->cls2);
    }
    lp->cs_open = NULL;
    cs->sampled = false;
}

static void unlock_section(struct gh_tstate *ts, struct gh_critsec *cs)
{
    if (cs->sampled)
        gh_cs_hold_end(ts, cs); /* the hold ends with the suspension */
    if (cs->l2)
        gh_oblock_unlock(cs->l2);
    gh_oblock_unlock(cs->l1);
    cs->active = false;
}

void gh_cs_suspend_all(struct gh_tstate *ts)
{
    bool any = false;
    for (struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev) {
        if (cs->active) {
            unlock_section(ts, cs);
            any = true;
        }
    }
    if (any) {
        ts->cs_suspends++;
        if (ts->tl) {
            uint64_t now = gh_now_ns();
            gh_tl_put(ts->tl, GH_TL_CS_SUSPEND, now, now, NULL, -1);
        }
    }
}

void gh_cs_resume_top(struct gh_tstate *ts)
{
    struct gh_critsec *cs = ts->cs_top;
    if (!cs || cs->active)
        return;
    /* Every other section is inactive (suspension releases all, and only
     * the top-most is resumed): waiting holds no lock but l1, the lower. */
    gh_oblock_lock(cs->l1, gh_cs_st1(ts, cs));
    if (cs->l2)
        gh_oblock_lock(cs->l2, gh_cs_st2(ts, cs));
    cs->active = true;
}

void gh_cs_end_nested(struct gh_tstate *ts, struct gh_critsec *cs)
{
    /* gh_cs_end recorded a sampled hold before it came here. */
    if (cs->active) {
        if (cs->l2 && !gh_cs_holds(ts, cs->l2))
            gh_oblock_unlock(cs->l2);
        if (!gh_cs_holds(ts, cs->l1))
            gh_oblock_unlock(cs->l1);
    }
    gh_cs_resume_top(ts);
}

void gh_cs_begin_slow(struct gh_tstate *ts, struct gh_critsec *cs)
{
    /* About to block: release what the enclosing sections hold, so no
     * thread waits for us while we wait (CPython's detach suspends them). */
    gh_cs_suspend_all(ts);
    gh_oblock_lock(cs->l1, gh_cs_st1(ts, cs));
    if (cs->l2)
        gh_oblock_lock(cs->l2, gh_cs_st2(ts, cs));
    gh_cs_push_(ts, cs);
    gh_cs_held_(ts, cs);
}

/* Takes every lock of the thread's sections, none of them held on entry,
 * each distinct lock once (sections whose objects share a stripe name the
 * same lock). It waits only for one lock at a time and only while holding
 * none; the others are tried, and a failed try releases everything and
 * makes the busy lock the one waited for next (the back-off of std::lock).
 * A thread holding an object's lock never waits for another under
 * rc=locked, so the lock waited for is held by a running thread that
 * releases it. `st`, when given, receives the counts (a suspension's
 * re-acquisitions count as the count lock's cost, class rc). */
static void lock_stack(struct gh_tstate *ts, struct gh_lockstat *st)
{
    gh_oblock *ls[MAX_HELD];
    struct gh_lockstat *sts[MAX_HELD];
    size_t n = 0;
    for (struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev) {
        gh_oblock *pair[2] = {cs->l1, cs->l2};
        struct gh_lockstat *pst[2] = {gh_cs_st1(ts, cs), cs->l2 ? gh_cs_st2(ts, cs) : NULL};
        for (int k = 0; k < 2 && pair[k]; k++) {
            bool dup = false;
            for (size_t j = 0; j < n; j++)
                dup |= ls[j] == pair[k];
            if (dup)
                continue;
            gh_assert(n < MAX_HELD);
            sts[n] = st ? st : pst[k];
            ls[n++] = pair[k];
        }
    }
    if (n == 0)
        return;
    size_t first = n - 1; /* the outermost section's, as it was taken first */
    for (;;) {
        gh_oblock_lock(ls[first], sts[first]);
        size_t i;
        for (i = 0; i < n; i++)
            if (i != first && !gh_oblock_trylock(ls[i], sts[i]))
                break;
        if (i == n)
            break;
        for (size_t j = 0; j < i; j++)
            if (j != first)
                gh_oblock_unlock(ls[j]);
        gh_oblock_unlock(ls[first]);
        first = i;
    }
    for (struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev)
        cs->active = true;
}

void gh_cs_resume_all(struct gh_tstate *ts, struct gh_lockstat *st) { lock_stack(ts, st); }

void gh_cs_push_slow(struct gh_tstate *ts, struct gh_critsec *cs)
{
    /* The enclosing sections' locks go too: all are taken again together,
     * so this is a suspension of the enclosing sections (counted): an
     * enclosing operation that uses, after a nested section, what it read
     * before must check ts->cs_suspends. The model nests no sections. */
    gh_cs_suspend_all(ts);
    gh_cs_push_(ts, cs);
    cs->active = false;
    lock_stack(ts, NULL);
    gh_cs_held_(ts, cs);
}

int gh_cs_find_holder(struct gh_tstate *const *threads, int n, uintptr_t lock)
{
    for (int i = 0; i < n; i++) {
        /* Relaxed: a snapshot (see critsec.h); at most 64 sections deep,
         * in case the stack changes under the walk. */
        const struct gh_critsec *cs = gh_atomic_load_relaxed_tp(&threads[i]->cs_top);
        for (int depth = 0; cs && depth < 64; depth++, cs = cs->prev)
            if (cs->active && ((uintptr_t)cs->l1 == lock || (uintptr_t)cs->l2 == lock))
                return threads[i]->index;
    }
    return -1;
}
