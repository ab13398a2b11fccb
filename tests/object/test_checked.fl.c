/* test_checked.fl.c - the checked mode's poison, quarantine and double-free
 * detection (object/object.h), every flavour. */
#include "fl_fixture.h"

static void checked_on(void) { gh_model.checked = true; }

static void checked_off(void)
{
    gh_quarantine_flush();
    gh_model.checked = false;
}

FL_TEST(checked, a_freed_object_is_poisoned_and_quarantined, .timeout = 10)
{
    uint64_t live0 = fx_live();
    checked_on();
    gh_object *l = gh_list_new();
    gh_list_append(&fx_ts, (struct gh_list *)(void *)l, gh_list_new());
    uint64_t live1 = fx_live();
    gh_decref(l); /* the list, its item array and its item: all quarantined */
    cr_assert(gh_is_freed(l), "poisoned, not reused");
    cr_assert_str_eq(gh_freed_kind_name(l), "list");
    cr_assert(gh_refcnt_is_immortal(l->ob_refcnt), "a stray count update writes nothing");
    cr_assert_eq(fx_live(), live1, "still allocated: in the quarantine");
    gh_incref(l);
    gh_decref(l);
    cr_assert(gh_is_freed(l));
    checked_off();
    cr_assert_eq(fx_live(), live0, "the flush frees the quarantine");
}

FL_TEST(checked, a_second_deallocation_is_a_double_free, .timeout = 10)
{
    checked_on();
    uint64_t before = fx_ts.hazards.n[GH_HAZARD_DOUBLE_FREE];
    gh_object *o = gh_instance_new();
    gh_decref(o);
    gh_dealloc(o); /* as a racing decrement to zero would */
    cr_assert_eq(fx_ts.hazards.n[GH_HAZARD_DOUBLE_FREE], before + 1);
    cr_assert_str_eq(fx_ts.hazards.first[GH_HAZARD_DOUBLE_FREE].type, "instance");
    checked_off();
}

FL_TEST(checked, a_resurrected_object_can_die_again, .timeout = 10)
{
    /* The claim a deallocation takes (ob_flags DYING) is released when a
     * finalizer resurrects: its next death is not a double free. */
    checked_on();
    uint64_t before = fx_ts.hazards.n[GH_HAZARD_DOUBLE_FREE];
    gh_object *o = gh_instance_new();
    gh_incref(o);
    gh_object_revive(o);
    gh_decref(o);
    gh_decref(o);
    cr_assert(gh_is_freed(o));
    cr_assert_eq(fx_ts.hazards.n[GH_HAZARD_DOUBLE_FREE], before);
    checked_off();
}

FL_TEST(checked, off_means_freed_at_once, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_list_new();
    gh_decref(o);
    cr_assert_eq(fx_live(), live0, "no quarantine without the checked mode");
}
