/* test_oblock.c - the lock= kinds (base/oblock.h): mutual exclusion and
 * counters for each, one body parameterized over pymutex, pthread, tatas
 * and ticket. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>

#include "base/oblock.h"

#define NTHREADS 4
#define PER_THREAD 100000

static const char *const kind_names[] = {"pymutex", "pthread", "tatas", "ticket"};

ParameterizedTestParameters(oblock, counter_excludes)
{
    static enum gh_oblock_kind kinds[] = {GH_OBLOCK_PYMUTEX, GH_OBLOCK_PTHREAD, GH_OBLOCK_TATAS,
                                          GH_OBLOCK_TICKET};
    return cr_make_param_array(enum gh_oblock_kind, kinds, GH_ARRAY_LEN(kinds));
}

/* A lock where the kind keeps it: in a byte (pymutex, tatas: as the
 * header's ob_mutex) or in a stripe (pthread, ticket). */
static union {
    gh_mutex m;
    gh_tatas t;
} byte_lock;
static gh_oblock *lk;
static uint64_t counter; /* protected by lk */

struct worker {
    pthread_t t;
    struct gh_lockstat st;
};

static void *locker(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < PER_THREAD; i++) {
        gh_oblock_lock(lk, &w->st);
        uint64_t c = counter; /* a torn read-modify-write if not excluded */
        __asm__ __volatile__("" ::: "memory");
        counter = c + 1;
        gh_oblock_unlock(lk);
    }
    return NULL;
}

ParameterizedTest(enum gh_oblock_kind *kind, oblock, counter_excludes, .timeout = 120)
{
    gh_oblock_select(*kind);
    static char anchor[64]; /* an address to hash to a stripe */
    lk = gh_oblock_in_header() ? (gh_oblock *)(void *)&byte_lock : gh_oblock_stripe_of(anchor);
    struct worker w[NTHREADS] = {0};
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_create(&w[i].t, NULL, locker, &w[i]), 0);
    uint64_t acq = 0, cont = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].t, NULL);
        acq += w[i].st.acquisitions;
        cont += w[i].st.contended;
        cr_assert_leq(w[i].st.wait_max_ns, w[i].st.wait_ns);
    }
    cr_assert_eq(counter, (uint64_t)NTHREADS * PER_THREAD,
                 "lock=%s: no increment lost under the lock", kind_names[*kind]);
    cr_assert_eq(acq, (uint64_t)NTHREADS * PER_THREAD, "lock=%s: every acquisition counted",
                 kind_names[*kind]);
    cr_assert_leq(cont, acq);
    cr_assert_not(gh_oblock_is_locked(lk), "lock=%s: free at the end", kind_names[*kind]);
}

ParameterizedTestParameters(oblock, trylock_and_stripes)
{
    static enum gh_oblock_kind kinds[] = {GH_OBLOCK_PYMUTEX, GH_OBLOCK_PTHREAD, GH_OBLOCK_TATAS,
                                          GH_OBLOCK_TICKET};
    return cr_make_param_array(enum gh_oblock_kind, kinds, GH_ARRAY_LEN(kinds));
}

static void *try_other(void *p)
{
    struct gh_lockstat st = {0};
    bool got = gh_oblock_trylock(p, &st);
    if (got)
        gh_oblock_unlock(p);
    return (void *)(uintptr_t)got;
}

/* trylock fails while another thread holds the lock and succeeds once it
 * is free; the in-header kinds use the byte, the others a stripe of an
 * address (the same address, the same stripe). */
ParameterizedTest(enum gh_oblock_kind *kind, oblock, trylock_and_stripes, .timeout = 20)
{
    gh_oblock_select(*kind);
    static char objs[2][64];
    if (gh_oblock_in_header()) {
        lk = (gh_oblock *)(void *)&byte_lock;
    } else {
        lk = gh_oblock_stripe_of(objs[0]);
        cr_assert_eq(gh_oblock_stripe_of(objs[0]), lk, "one address, one stripe");
        uintptr_t off = (uintptr_t)lk - (uintptr_t)gh_oblock_stripes;
        cr_assert_eq(off % sizeof(struct gh_oblock_stripe), 0);
        cr_assert_lt(off / sizeof(struct gh_oblock_stripe), GH_OBLOCK_STRIPES);
    }
    struct gh_lockstat st = {0};
    cr_assert(gh_oblock_trylock(lk, &st));
    cr_assert(gh_oblock_is_locked(lk) || *kind == GH_OBLOCK_PTHREAD);
    pthread_t t;
    void *got;
    cr_assert_eq(pthread_create(&t, NULL, try_other, lk), 0);
    pthread_join(t, &got);
    cr_assert_not((uintptr_t)got, "lock=%s: a held lock refuses a try", kind_names[*kind]);
    gh_oblock_unlock(lk);
    cr_assert_eq(pthread_create(&t, NULL, try_other, lk), 0);
    pthread_join(t, &got);
    cr_assert((uintptr_t)got, "lock=%s: a free lock grants a try", kind_names[*kind]);
    cr_assert_eq(st.acquisitions, 1);
}
