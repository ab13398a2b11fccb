/* test_threads.fl.c - two threads on shared objects under every flavour:
 * what a safe strategy must guarantee (no lost update, no lost count). */
#include <criterion/parameterized.h>
#include <pthread.h>

#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))
#define NTHREADS 2
#define PER_THREAD 50000

struct arg {
    gh_object *list, *shared;
    int index;
};

static void *hammer(void *p)
{
    struct arg *a = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, a->index + 1, "test-worker");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    for (int i = 0; i < PER_THREAD; i++) {
        gh_list_append(&ts, L(a->list), gh_newref(a->shared));
        gh_sync_checkpoint(&ts);
        gh_incref(a->shared);
        gh_decref(a->shared);
        gh_sync_checkpoint(&ts);
        if (i % 2) {
            gh_object *x = gh_list_pop(&ts, L(a->list));
            cr_assert_not_null(x, "a pop after our own append cannot find it empty");
            gh_decref(x);
        }
        gh_sync_checkpoint(&ts);
    }
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* Every lock= kind under sync=objlock; the other sync values have no
 * per-object lock to choose and run the default only. */
ParameterizedTestParameters(GH_FL(threads), shared_list_and_count)
{
    static enum gh_oblock_kind kinds[] = {GH_OBLOCK_PYMUTEX, GH_OBLOCK_PTHREAD, GH_OBLOCK_TATAS,
                                          GH_OBLOCK_TICKET};
    return cr_make_param_array(enum gh_oblock_kind, kinds, fx_objlock() ? GH_ARRAY_LEN(kinds) : 1);
}

ParameterizedTest(enum gh_oblock_kind *kind, GH_FL(threads), shared_list_and_count,
                  .init = fx_setup, .fini = fx_teardown, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    gh_oblock_select(*kind);
    uint64_t live0 = fx_live();
    gh_object *list = gh_list_new();
    gh_object *shared = gh_instance_new();
    pthread_t t[NTHREADS];
    struct arg args[NTHREADS];
    gh_sync_block_begin(&fx_ts); /* let the workers have the GIL */
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct arg){list, shared, i};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    int64_t want = NTHREADS * (PER_THREAD - PER_THREAD / 2);
    cr_assert_eq(gh_list_len(L(list)), want, "no append or pop was lost");
    cr_assert_eq(gh_refcnt(shared), (uint64_t)want + 1, "no count update was lost");
    gh_decref(list);
    cr_assert_eq(gh_refcnt(shared), 1);
    gh_decref(shared);
    cr_assert_eq(fx_live(), live0, "every cross-thread free came back");
}
