/* test_rc.fl.c - reference counting and deallocation, every flavour. */
#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))

FL_TEST(rc, free_at_zero, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_instance_new();
    cr_assert_gt(fx_live(), live0);
    gh_incref(o);
    cr_assert_eq(gh_refcnt(o), 2);
    gh_decref(o);
    cr_assert_eq(gh_refcnt(o), 1);
    gh_decref(o);
    cr_assert_eq(fx_live(), live0, "freed the moment the count reached zero");
}

FL_TEST(rc, deep_chain_does_not_recurse, .timeout = 60)
{
    /* A million lists, each holding the next: freeing the head must not use
     * a C stack frame per level (an 8 MiB stack would overflow). */
    uint64_t live0 = fx_live();
    gh_object *head = gh_list_new();
    gh_object *cur = head;
    for (int i = 0; i < 1000000; i++) {
        gh_object *next = gh_list_new();
        gh_list_append(&fx_ts, L(cur), next); /* steals our reference */
        cur = next;
    }
    gh_decref(head);
    cr_assert_eq(fx_live(), live0);
    cr_assert_eq(fx_ts.dealloc_len, 0);
    cr_assert_leq(fx_ts.dealloc_cap, 64, "a chain needs one queued object at a time");
    cr_assert_not(fx_ts.deallocating);
}

FL_TEST(rc, shared_item_survives_until_last_reference, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_instance_new();
    gh_object *a = gh_list_new(), *b = gh_list_new();
    gh_list_append(&fx_ts, L(a), gh_newref(o));
    gh_list_append(&fx_ts, L(b), gh_newref(o));
    cr_assert_eq(gh_refcnt(o), 3);
    gh_decref(a);
    cr_assert_eq(gh_refcnt(o), 2);
    gh_decref(o);
    cr_assert_eq(gh_refcnt(o), 1, "still alive through b");
    gh_decref(b);
    cr_assert_eq(fx_live(), live0);
}
