/* test_lockprof.c - the lock profile (base/lockprof.h): which holds are
 * timed, where a contended wait lands, and merging. */
#include <criterion/criterion.h>

#include "base/lockprof.h"
#include "base/timeline.h"
#include "base/tstate.h"

static struct gh_tstate ts;
static int lock_word;

static void setup(void) { gh_tstate_bind(&ts, 0, NULL); }
static void teardown(void) { gh_tstate_unbind(); }

/* One call site's acquisitions: the sampled ones' holds, as alloc.c's. */
static void take_and_release(int times)
{
    for (int i = 0; i < times; i++) {
        uint64_t h0 = gh_hold_begin(&ts);
        gh_hold_end(&ts, GH_LOCK_alloc, &lock_word, h0);
    }
}

Test(lockprof, one_hold_in_n_is_timed, .init = setup, .fini = teardown, .timeout = 10)
{
    take_and_release(50); /* not profiled: the countdown is 0, nothing kept */
    cr_assert_eq(ts.hold_left, 0);
    static const uint32_t every[] = {1, 3, 64};
    for (size_t k = 0; k < sizeof every / sizeof every[0]; k++) {
        struct gh_lockprof *lp = gh_lockprof_new(every[k]);
        cr_assert_not_null(lp);
        gh_lockprof_attach(&ts, lp);
        take_and_release(192);
        cr_assert_eq(lp->hold[GH_LOCK_alloc].count, 192 / every[k], "1 in %u: %llu of 192",
                     every[k], (unsigned long long)lp->hold[GH_LOCK_alloc].count);
        for (int c = 0; c < GH_LOCK_NCLASSES; c++)
            if (c != GH_LOCK_alloc)
                cr_assert_eq(lp->hold[c].count, 0, "only the class released");
        gh_lockprof_attach(&ts, NULL);
        gh_lockprof_free(lp);
    }
}

Test(lockprof, a_contended_wait_lands_in_its_class, .init = setup, .fini = teardown,
     .timeout = 10)
{
    struct gh_lockprof *lp = gh_lockprof_new(1);
    struct gh_tl_buf *tl = gh_tl_new(64);
    cr_assert(lp && tl);
    gh_lockprof_attach(&ts, lp);
    ts.tl = tl;
    uint64_t t0 = gh_now_ns() - 5000;
    gh_lock_waited(&ts.locks[GH_LOCK_dict], &lock_word, t0);
    cr_assert_eq(ts.locks[GH_LOCK_dict].contended, 1);
    cr_assert_eq(lp->wait[GH_LOCK_dict].count, 1);
    cr_assert_geq(lp->wait[GH_LOCK_dict].max, 5000, "the wait from t0");
    cr_assert_eq(tl->written, 1);
    const struct gh_tl_event *e = gh_tl_at(tl, 0);
    cr_assert_eq(e->kind, GH_TL_LOCK_WAIT);
    cr_assert_eq(e->arg, GH_LOCK_dict);
    cr_assert_eq(e->addr, &lock_word);
    /* A counter set that is not the thread's (a shared one) has no class:
     * counted there, in no histogram. */
    struct gh_lockstat shared = {0};
    gh_lock_waited(&shared, &lock_word, gh_now_ns());
    cr_assert_eq(shared.contended, 1);
    uint64_t all = 0;
    for (int c = 0; c < GH_LOCK_NCLASSES; c++)
        all += lp->wait[c].count;
    cr_assert_eq(all, 1);
    /* A sampled hold is a LOCK_HOLD slice too. */
    uint64_t h0 = gh_hold_begin(&ts);
    cr_assert_neq(h0, 0);
    gh_hold_end(&ts, GH_LOCK_list, &lock_word, h0);
    e = gh_tl_at(tl, tl->written - 1);
    cr_assert_eq(e->kind, GH_TL_LOCK_HOLD);
    cr_assert_eq(e->arg, GH_LOCK_list);
    ts.tl = NULL;
    gh_lockprof_attach(&ts, NULL);
    gh_tl_free(tl);
    gh_lockprof_free(lp);
}

Test(lockprof, merge_adds_every_class, .timeout = 10)
{
    struct gh_lockprof *a = gh_lockprof_new(2), *b = gh_lockprof_new(2);
    cr_assert(a && b);
    gh_hist_add(&a->hold[GH_LOCK_list], 100);
    gh_hist_add(&b->hold[GH_LOCK_list], 300);
    gh_hist_add(&b->wait[GH_LOCK_gil], 7000);
    gh_lockprof_merge(a, b);
    cr_assert_eq(a->hold[GH_LOCK_list].count, 2);
    cr_assert_eq(a->hold[GH_LOCK_list].max, 300);
    cr_assert_eq(a->wait[GH_LOCK_gil].count, 1);
    gh_lockprof_free(a);
    gh_lockprof_free(b);
}
