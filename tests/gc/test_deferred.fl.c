/* test_deferred.fl.c - deferred reference counting (deferred=on, rc/rc.h,
 * docs/gc.md "Deferred objects"), under each flavour that builds it (the
 * objlock ones: atomic, biased and locked counts; suites gc_deferred__<flavour>).
 *
 * The test's thread has a frame of its own: an array of gh_stackref that
 * a root visitor shows the collector, as run.c shows the workers' frames. */
/* flavours: objlock:plain objlock:atomic objlock:biased objlock:locked */
#include "gc_helpers.h"

#if !defined(GH_FL_SYNC_OBJLOCK)
#error "sync=objlock only: see the flavours line"
#endif

#define NSLOTS 4
static gh_stackref frame[NSLOTS];

static void frame_visit(gh_visitproc visit, void *arg, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < NSLOTS; i++)
        if (gh_stackref_is_deferred(frame[i]))
            visit(gh_stackref_obj(frame[i]), arg);
}

static void dx_setup(void)
{
    fx_setup();
    gh_model.deferred = true;
    memset(frame, 0, sizeof frame);
    gh_gc_set_roots(frame_visit, NULL);
}

static void dx_teardown(void)
{
    for (int i = 0; i < NSLOTS; i++)
        gh_stackref_close(frame[i]);
    memset(frame, 0, sizeof frame);
    gh_gc_set_roots(NULL, NULL);
    gh_model.deferred = false;
    fx_teardown();
}

#define DX_TEST(name, ...) \
    Test(GH_FL(gc_deferred), name, .init = dx_setup, .fini = dx_teardown, ##__VA_ARGS__)

/* A deferred class: made, then marked while still private. */
static gh_object *deferred_class(const char *name)
{
    gh_object *cls = new_class(name, NULL, NULL);
    gh_rc_set_deferred(cls);
    cr_assert(gh_is_deferred(cls));
    return cls;
}

DX_TEST(a_frame_reference_does_not_change_the_count, .timeout = 10)
{
    gh_object *cls = deferred_class("C");
    uint64_t before = gh_refcnt(cls);
    cr_assert_eq(gh_refcnt_counted(cls), 1, "the bias is not a counted reference");
    cr_assert_eq(gh_getrefcount(cls), 2, "getrefcount: ours and the call's");
    frame[0] = gh_stackref_new(cls);
    frame[1] = gh_stackref_new(cls);
    cr_assert(gh_stackref_is_deferred(frame[0]), "a deferred object's frame reference is tagged");
    cr_assert_eq(gh_stackref_obj(frame[0]), cls, "and untags to the object");
    cr_assert_eq(gh_refcnt(cls), before, "two frame references, no count written");
    gh_stackref_close(frame[0]);
    gh_stackref_close(frame[1]);
    frame[0] = frame[1] = 0;
    cr_assert_eq(gh_refcnt(cls), before, "closing them writes none either");

    /* The control: an object that is not deferred is counted. */
    gh_object *l = gh_list_new();
    frame[2] = gh_stackref_new(l);
    cr_assert_not(gh_stackref_is_deferred(frame[2]));
    cr_assert_eq(gh_refcnt(l), 2, "an ordinary frame reference counts");
    gh_stackref_close(frame[2]);
    frame[2] = 0;
    cr_assert_eq(gh_refcnt(l), 1);
    gh_decref(l);
    gh_decref(cls);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "the class, only a collection frees it");
}

DX_TEST(a_deferred_object_referenced_only_from_a_frame_survives_a_collection, .timeout = 10)
{
    uint64_t base = fx_live();
    gh_object *cls = deferred_class("C");
    uint64_t with = fx_live();
    frame[0] = gh_stackref_new(cls);
    gh_decref(cls); /* our counted reference: the frame's, uncounted, is left */
    cr_assert_eq(gh_refcnt_counted(cls), 0);
    cr_assert_eq(fx_live(), with, "the bias keeps a decrement from freeing it");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0, "the frame is a root");
    cr_assert_eq(fx_live(), with, "still alive");
    cr_assert(gh_is_deferred(cls), "and still deferred");
    cr_assert_str_eq(((struct gh_class *)(void *)cls)->name, "C");
    /* The frame lets go: the next collection frees it. */
    gh_stackref_close(frame[0]);
    frame[0] = 0;
    cr_assert_eq(fx_live(), with, "closing a frame reference frees nothing");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(fx_live(), base, "freed by the collection");
}

DX_TEST(a_deferred_object_referenced_by_nothing_is_freed_by_a_collection, .timeout = 10)
{
    uint64_t base = fx_live();
    gh_object *f = gh_make_append_one(); /* def f(x=[]): its default list too */
    gh_rc_set_deferred(f);
    uint64_t with = fx_live();
    gh_decref(f);
    cr_assert_eq(fx_live(), with, "reference counting alone does not free it");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2, "the function and its default list, "
                 "which only it references");
    cr_assert_eq(fx_live(), base, "everything came back");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0);
}

DX_TEST(a_container_reference_still_counts, .timeout = 10)
{
    uint64_t base = fx_live();
    gh_object *cls = deferred_class("C");
    gh_object *l = gh_list_new();
    uint64_t before = gh_refcnt(cls);
    gh_list_append(&fx_ts, L(l), gh_newref(cls));
    cr_assert_eq(gh_refcnt(cls), before + 1, "the list's reference is counted");
    cr_assert_eq(gh_refcnt_counted(cls), 2);
    /* An instance's reference to its class counts too. */
    gh_object *obj = gh_instance_new_of(cls);
    cr_assert_eq(gh_refcnt_counted(cls), 3);
    gh_decref(obj);
    cr_assert_eq(gh_refcnt_counted(cls), 2);
    gh_decref(cls);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0, "the list (held by us) keeps it");
    cr_assert_eq(gh_refcnt_counted(cls), 1);
    gh_decref(l); /* the list dies by counting: it is not deferred */
    cr_assert_eq(gh_refcnt_counted(cls), 0);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "then the class is garbage");
    cr_assert_eq(fx_live(), base);
}

/* What a deferred object references lives while a frame holds it, and a
 * cycle through a deferred object is collected with the bias removed. */
DX_TEST(a_cycle_through_a_deferred_object_is_collected, .timeout = 10)
{
    uint64_t base = fx_live();
    gh_object *cls = deferred_class("C");
    gh_object *obj = gh_instance_new_of(cls);
    link_attr(obj, "again", obj);
    set_attr(obj, "cls", gh_newref(cls));
    frame[0] = gh_stackref_new(cls);
    gh_decref(obj);
    gh_decref(cls);
    /* cls <- obj.cls, obj <- obj.again: only the frame roots the class;
     * the instance is garbage, the class is not. */
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "the instance");
    cr_assert_eq(gh_refcnt_counted(cls), 0);
    gh_stackref_close(frame[0]);
    frame[0] = 0;
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "the class");
    cr_assert_eq(fx_live(), base);
}

/* The last collection (gh_gc_fini) ends deferral for every object, so
 * what gc.garbage kept alive (here: a deferred class, through its
 * uncollectable instances) is freed by counting once gc.garbage lets go. */
static void legacy_noop(gh_object *self, void *arg) { (void)self, (void)arg; }

DX_TEST(the_last_collection_frees_what_gc_garbage_kept, .timeout = 10)
{
    uint64_t base = fx_live();
    gh_object *cls = new_class("Old", NULL, legacy_noop);
    gh_rc_set_deferred(cls);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2, "the two instances, uncollectable");
    gh_decref(cls); /* only the instances in gc.garbage hold the class now */
    cr_assert(gh_is_deferred(cls));
    cr_assert_eq(gh_gc_fini(), 2, "fini empties gc.garbage");
    cr_assert_eq(fx_live(), base, "and the class went with its instances");
}
