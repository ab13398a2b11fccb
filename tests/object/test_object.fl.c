/* test_object.fl.c - the object layer under every flavour: header layout,
 * type slots, object allocation, traverse and clear. */
#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))

FL_TEST(object, type_slots_and_sizes, .timeout = 10)
{
    /* CPython 3.12's struct sizes on 64-bit (getsizeof adds the GC head). */
    cr_assert_eq(gh_list_type.tp_basicsize, 40);
    cr_assert_eq(gh_dict_type.tp_basicsize, 48);
    cr_assert_eq(gh_int_type.tp_basicsize, 28);
    gh_object *inst = gh_instance_new();
    const struct gh_type *const all[] = {&gh_int_type, &gh_none_type,
                                         &gh_bool_type, &gh_object_type,
                                         &gh_list_type, &gh_dict_type,
                                         inst->ob_type};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const struct gh_type *tp = all[i];
        cr_assert_not_null(tp->tp_dealloc, "%s has a dealloc", tp->tp_name);
        if (tp->flags & GH_TPFLAG_GC) {
            cr_assert_not_null(tp->tp_traverse, "%s (GC) can be traversed", tp->tp_name);
            cr_assert_not_null(tp->tp_clear, "%s (GC) can be cleared", tp->tp_name);
        }
    }
    cr_assert_not_null(gh_int_type.tp_hash);
    cr_assert_not_null(gh_int_type.tp_equal);
    cr_assert_eq(gh_list_type.kind, GH_KIND_LIST);
    cr_assert_eq(gh_dict_type.lock_class, GH_LOCK_dict);
    cr_assert_eq(inst->ob_type->kind, GH_KIND_INSTANCE);
    cr_assert_str_eq(inst->ob_type->tp_name, "Plain", "an instance's type is its class");
    gh_decref(inst);
}

FL_TEST(object, alloc_adds_the_layout_prefix, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_object_alloc(&gh_list_type, sizeof(struct gh_list));
    cr_assert_eq(gh_refcnt(o), 1);
    cr_assert_eq(o->ob_type, &gh_list_type);
    cr_assert_eq((uintptr_t)o % 16, 0, "objects are 16-byte aligned");
    /* A GC type has a 16-byte prefix in both layouts: PyGC_Head (compact)
     * or the free-threaded fields (full). */
    cr_assert_eq(fx_live() - live0, 16 + sizeof(struct gh_list));
    if (!fx_gil()) {
        struct gh_obprefix *p = gh_prefix(o);
        cr_assert_eq(p->ob_mutex.bits, 0);
#if defined(GH_FL_RC_BIASED)
        /* Owned by its maker, counted locally (rc/brc.h). */
        cr_assert_eq(p->ob_tid, (uintptr_t)&fx_ts);
        cr_assert_eq(p->ob_ref_local, 1);
        cr_assert_eq(o->ob_refcnt, 0, "the shared count");
#else
        cr_assert_eq(p->ob_tid, 0);
        cr_assert_eq(p->ob_ref_local, 0);
        cr_assert_eq(o->ob_refcnt, 1);
#endif
    }
    gh_object_free(o, sizeof(struct gh_list));
    cr_assert_eq(fx_live(), live0);

    gh_object *i = gh_int_new(1 << 20);
    cr_assert_eq(fx_live() - live0, (fx_gil() ? 0 : 16) + GH_INT_SIZE,
                 "an int has no prefix in the compact layout, 16 bytes in the full one");
    gh_decref(i);
}

static void count_visit(gh_object *o, void *arg)
{
    (void)o;
    (*(int *)arg)++;
}

FL_TEST(object, traverse_and_clear, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    gh_object *d = gh_dict_new();
    for (int i = 0; i < 10; i++)
        gh_list_append(&fx_ts, L(l), gh_instance_new());
    for (int i = 0; i < 7; i++)
        gh_dict_set(&fx_ts, (struct gh_dict *)(void *)d, gh_int_new(1000 + i), gh_newref(l));
    int n = 0;
    l->ob_type->tp_traverse(l, count_visit, &n);
    cr_assert_eq(n, 10);
    n = 0;
    d->ob_type->tp_traverse(d, count_visit, &n);
    cr_assert_eq(n, 14, "a dict visits each key and each value");
    cr_assert_eq(gh_refcnt(l), 8);
    d->ob_type->tp_clear(d);
    cr_assert_eq(gh_dict_len((struct gh_dict *)(void *)d), 0);
    cr_assert_eq(gh_refcnt(l), 1, "clear released the values");
    l->ob_type->tp_clear(l);
    cr_assert_eq(gh_list_len(L(l)), 0);
    gh_decref(l);
    gh_decref(d);
    cr_assert_eq(fx_live(), live0, "clear and dealloc freed everything");
}
