/* critsec.c - rc=locked's way of taking several object locks: never wait
 * for one while holding another (see critsec.h and rc/rc.h).
 *
 * Flavour-neutral: only the rc=locked flavour calls these (its critsec.h
 * inlines and rc/locked.c); the others lock in address order and never
 * suspend. */
#include "sync/critsec.h"

#include "base/die.h"

/* Nested sections are at most a few deep (the model nests none today);
 * each holds one or two locks. */
#define MAX_HELD 32

/* The counters a lock of the stack is counted in: its object's class, or
 * `st` when given (a suspension's re-acquisitions count as the count
 * lock's cost, class rc). */
static struct gh_lockstat *stat_of(struct gh_tstate *ts, gh_mutex *m, struct gh_lockstat *st)
{
    return st ? st : &ts->locks[gh_ob_of_mutex(m)->ob_type->lock_class];
}

/* Takes every lock of the thread's sections, none of them held on entry.
 * It waits only for one lock at a time and only while holding none; the
 * others are tried, and a failed try releases everything and makes the
 * busy lock the one waited for next (the back-off of std::lock). A thread
 * holding an object's lock never waits for another under rc=locked, so
 * the lock waited for is held by a running thread that releases it. */
static void lock_stack(struct gh_tstate *ts, struct gh_lockstat *st)
{
    gh_mutex *ms[MAX_HELD];
    size_t n = 0;
    for (struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev) {
        gh_mutex *pair[2] = {cs->m1, cs->m2};
        for (int k = 0; k < 2 && pair[k]; k++) {
            for (size_t j = 0; j < n; j++)
                /* Two sections on one object: a section nested in one on
                 * the same object, which no flavour supports (a gh_mutex
                 * is not recursive). */
                gh_assert(ms[j] != pair[k]);
            gh_assert(n < MAX_HELD);
            ms[n++] = pair[k];
        }
    }
    size_t first = n - 1; /* the outermost section's, as it was taken first */
    for (;;) {
        gh_mutex_lock(ms[first], stat_of(ts, ms[first], st));
        size_t i;
        for (i = 0; i < n; i++)
            if (i != first && !gh_mutex_trylock(ms[i], stat_of(ts, ms[i], st)))
                break;
        if (i == n)
            return;
        for (size_t j = 0; j < i; j++)
            if (j != first)
                gh_mutex_unlock(ms[j]);
        gh_mutex_unlock(ms[first]);
        first = i;
    }
}

void gh_cs_suspend_all(struct gh_tstate *ts)
{
    for (struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev) {
        if (cs->m2)
            gh_mutex_unlock(cs->m2);
        gh_mutex_unlock(cs->m1);
    }
    ts->cs_suspends++;
}

void gh_cs_resume_all(struct gh_tstate *ts, struct gh_lockstat *st) { lock_stack(ts, st); }

void gh_cs_push_slow(struct gh_tstate *ts, struct gh_critsec *cs)
{
    /* The enclosing sections' locks go too: all are taken again together,
     * so this is a suspension of the enclosing sections (counted): an
     * enclosing operation that uses, after a nested section, what it read
     * before must check ts->cs_suspends. The model nests no sections. */
    if (ts->cs_top)
        gh_cs_suspend_all(ts);
    cs->prev = ts->cs_top;
    ts->cs_top = cs;
    lock_stack(ts, NULL);
}
