/* test_containers.fl.c - list, dict, int, None, instances, under every
 * strategy flavour (the body is compiled once per flavour). */
#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

FL_TEST(containers, list_append_pop_get_set, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    cr_assert_eq(gh_list_len(L(l)), 0);
    cr_assert_null(gh_list_pop(&fx_ts, L(l)), "pop on an empty list fails");
    for (int i = 0; i < 1000; i++)
        gh_list_append(&fx_ts, L(l), gh_int_new(i));
    cr_assert_eq(gh_list_len(L(l)), 1000);
    gh_object *x = gh_list_get(&fx_ts, L(l), 500);
    cr_assert_eq(((struct gh_int *)(void *)x)->value, 500);
    gh_decref(x);
    x = gh_list_get(&fx_ts, L(l), -1);
    cr_assert_eq(((struct gh_int *)(void *)x)->value, 999, "negative index counts from the end");
    gh_decref(x);
    cr_assert_null(gh_list_get(&fx_ts, L(l), 1000), "index out of range");
    gh_object *old = gh_list_set(&fx_ts, L(l), 0, gh_int_new(7777));
    cr_assert_eq(((struct gh_int *)(void *)old)->value, 0);
    gh_decref(old);
    gh_object *v = gh_int_new(1);
    cr_assert_null(gh_list_set(&fx_ts, L(l), 5000, v), "set out of range fails");
    gh_decref(v);
    for (int i = 999; i >= 1; i--) {
        x = gh_list_pop(&fx_ts, L(l));
        cr_assert_eq(((struct gh_int *)(void *)x)->value, i, "pop returns the last item");
        gh_decref(x);
    }
    cr_assert_eq(gh_list_len(L(l)), 1);
    cr_assert_leq(L(l)->allocated, 8, "the array shrank as the list emptied");
    gh_decref(l);
    cr_assert_eq(fx_live(), live0, "a dropped list frees its array and its items");
}

/* Through the plain fixture, which sets up as gh_run does: under ft
 * (the lock-free-read flavour) list.get and dict.get take no lock and fall
 * back to none; under every other flavour that locks containers they take
 * the container's lock. The bug: the fixture never turned QSBR on, so ft's
 * reads were tested with the lock taken everywhere but in the files that
 * turned it on themselves. */
FL_TEST(containers, reads_lock_only_where_the_strategy_locks_them, .timeout = 10)
{
    gh_object *l = gh_list_new();
    gh_object *d = gh_dict_new();
    gh_list_append(&fx_ts, L(l), gh_int_new(1000));
    cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_int_new(5), gh_int_new(2000)), 0);
    uint64_t list0 = fx_ts.locks[GH_LOCK_list].acquisitions;
    uint64_t dict0 = fx_ts.locks[GH_LOCK_dict].acquisitions;
    for (int i = 0; i < 10; i++) {
        gh_object *x = gh_list_get(&fx_ts, L(l), 0);
        cr_assert_not_null(x);
        gh_decref(x);
        gh_object *k = gh_int_new(5);
        gh_object *v = gh_dict_get(&fx_ts, D(d), k);
        cr_assert_not_null(v);
        gh_decref(v);
        gh_decref(k);
    }
    uint64_t list_locks = fx_ts.locks[GH_LOCK_list].acquisitions - list0;
    uint64_t dict_locks = fx_ts.locks[GH_LOCK_dict].acquisitions - dict0;
#if defined(GH_FL_LOCKFREE_READS)
    cr_assert(fx_ts.qsbr_online, "the fixture's thread is online for QSBR");
    cr_assert_eq(list_locks, 0, "list.get took the list's lock %llu times",
                 (unsigned long long)list_locks);
    cr_assert_eq(dict_locks, 0, "dict.get took the dict's lock %llu times",
                 (unsigned long long)dict_locks);
    cr_assert_eq(fx_ts.lockfree_list_fallbacks + fx_ts.lockfree_dict_fallbacks, 0);
#elif defined(GH_FL_SYNC_OBJLOCK)
    cr_assert_eq(list_locks, 10);
    cr_assert_eq(dict_locks, 10);
#else
    cr_assert_eq(list_locks + dict_locks, 0, "no per-object lock without sync=objlock");
#endif
    gh_decref(l);
    gh_decref(d);
}

FL_TEST(containers, list_growth_follows_cpython, .timeout = 10)
{
    /* CPython 3.12: allocated after each append from empty:
     * 4 4 4 4 8 8 8 8 16 ... 16 24 ... 24 32 ... */
    static const int64_t want[] = {4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16,
                                   24, 24, 24, 24, 24, 24, 24, 24, 32};
    gh_object *l = gh_list_new();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        gh_list_append(&fx_ts, L(l), gh_none_new());
        cr_assert_eq(L(l)->allocated, want[i], "after %zu appends", i + 1);
    }
    gh_decref(l);
}

FL_TEST(containers, list_move_two_objects, .timeout = 10)
{
    gh_object *a = gh_list_new(), *b = gh_list_new();
    gh_list_append(&fx_ts, L(a), gh_int_new(1));
    gh_list_append(&fx_ts, L(a), gh_int_new(2));
    cr_assert(gh_list_move(&fx_ts, L(a), L(b)));
    cr_assert_eq(gh_list_len(L(a)), 1);
    cr_assert_eq(gh_list_len(L(b)), 1);
    cr_assert(gh_list_move(&fx_ts, L(b), L(a)), "either address order works");
    cr_assert(gh_list_move(&fx_ts, L(a), L(a)), "the same list twice is one lock");
    cr_assert_eq(gh_list_len(L(a)), 2);
    cr_assert_not(gh_list_move(&fx_ts, L(b), L(a)), "moving from an empty list fails");
    gh_decref(a);
    gh_decref(b);
}

FL_TEST(containers, dict_set_get_del_resize, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *d = gh_dict_new();
    cr_assert_eq(gh_dict_len(D(d)), 0);
    gh_object *k = gh_int_new(5);
    cr_assert_null(gh_dict_get(&fx_ts, D(d), k));
    cr_assert_not(gh_dict_del(&fx_ts, D(d), k));
    gh_decref(k);
    for (int i = 0; i < 5000; i++)
        gh_dict_set(&fx_ts, D(d), gh_int_new(i * 7), gh_int_new(i));
    cr_assert_eq(gh_dict_len(D(d)), 5000);
    for (int i = 0; i < 5000; i++) {
        gh_object *key = gh_int_new(i * 7); /* a distinct object, equal value */
        gh_object *v = gh_dict_get(&fx_ts, D(d), key);
        cr_assert_not_null(v, "key %d", i * 7);
        cr_assert_eq(((struct gh_int *)(void *)v)->value, i);
        gh_decref(v);
        gh_decref(key);
    }
    /* Overwrite keeps the length, deletion shrinks it. */
    gh_dict_set(&fx_ts, D(d), gh_int_new(0), gh_int_new(-1));
    cr_assert_eq(gh_dict_len(D(d)), 5000);
    for (int i = 0; i < 5000; i += 2) {
        gh_object *key = gh_int_new(i * 7);
        cr_assert(gh_dict_del(&fx_ts, D(d), key));
        gh_decref(key);
    }
    cr_assert_eq(gh_dict_len(D(d)), 2500);
    /* Refill after deletions: dummies are skipped and reclaimed. */
    for (int i = 0; i < 5000; i += 2)
        gh_dict_set(&fx_ts, D(d), gh_int_new(i * 7), gh_int_new(i));
    cr_assert_eq(gh_dict_len(D(d)), 5000);
    gh_decref(d);
    cr_assert_eq(fx_live(), live0, "a dropped dict frees its table, keys and values");
}

/* for k in d: insertion order, deleted entries skipped, and a size change
 * between two steps ends the iteration as CPython's RuntimeError does. */
FL_TEST(containers, dict_iteration, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *d = gh_dict_new();
    for (int i = 0; i < 6; i++)
        gh_dict_set(&fx_ts, D(d), gh_int_new(1000 + 10 * i), gh_int_new(i));
    gh_object *k3 = gh_int_new(1030);
    cr_assert(gh_dict_del(&fx_ts, D(d), k3));
    gh_decref(k3);
    int64_t used = gh_dict_len(D(d)), pos = 0, seen[8], n = 0;
    bool changed;
    gh_object *k;
    while ((k = gh_dict_next_key(&fx_ts, D(d), used, &pos, &changed))) {
        cr_assert_lt(n, 8);
        seen[n++] = ((struct gh_int *)(void *)k)->value;
        gh_decref(k);
    }
    cr_assert_not(changed, "an unchanged dict ends normally");
    int64_t want[] = {1000, 1010, 1020, 1040, 1050};
    cr_assert_eq(n, 5, "the deleted key is skipped");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(seen[i], want[i], "insertion order at %d", i);
    /* A step after the size changed reports it. */
    pos = 0;
    k = gh_dict_next_key(&fx_ts, D(d), used, &pos, &changed);
    cr_assert_not_null(k);
    gh_decref(k);
    gh_dict_set(&fx_ts, D(d), gh_int_new(7), gh_int_new(7));
    cr_assert_null(gh_dict_next_key(&fx_ts, D(d), used, &pos, &changed));
    cr_assert(changed, "the size changed between two steps");
    gh_decref(d);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(containers, dict_identity_keys, .timeout = 10)
{
    gh_object *d = gh_dict_new();
    gh_object *a = gh_instance_new(), *b = gh_instance_new();
    gh_dict_set(&fx_ts, D(d), gh_newref(a), gh_int_new(1));
    gh_object *v = gh_dict_get(&fx_ts, D(d), b);
    cr_assert_null(v, "instances hash and compare by identity");
    v = gh_dict_get(&fx_ts, D(d), a);
    cr_assert_not_null(v);
    gh_decref(v);
    gh_decref(d);
    cr_assert_eq(gh_refcnt(a), 1, "the dict released its key reference");
    gh_decref(a);
    gh_decref(b);
}

FL_TEST(containers, small_ints_are_cached_and_immortal, .timeout = 10)
{
    gh_object *a = gh_int_new(256), *b = gh_int_new(256);
    cr_assert_eq(a, b, "256 is cached");
    uint64_t rc = gh_refcnt(a);
    gh_incref(a);
    cr_assert_eq(gh_refcnt(a), rc, "an immortal count is never written");
    gh_object *c = gh_int_new(257), *e = gh_int_new(257);
    cr_assert_neq(c, e, "257 is not cached");
    cr_assert_eq(gh_refcnt(c), 1);
    gh_decref(c);
    gh_decref(e);
    cr_assert_eq(gh_none_new(), &gh_none);
}

FL_TEST(containers, header_layout, .timeout = 10)
{
    gh_object *l = gh_list_new();
    gh_object *i = gh_int_new(100000);
    if (fx_gil()) {
        /* compact: GC head before containers, nothing before an int */
        cr_assert_eq(gh_prefix_size(l->ob_type), 16);
        cr_assert_eq(gh_prefix_size(i->ob_type), 0);
    } else {
        /* full: the 16-byte free-threaded prefix before every object */
        cr_assert_eq(gh_prefix_size(l->ob_type), 16);
        cr_assert_eq(gh_prefix_size(i->ob_type), 16);
        cr_assert_eq(gh_prefix(l)->ob_mutex.bits, 0, "unlocked between operations");
    }
    gh_decref(l);
    gh_decref(i);
}
