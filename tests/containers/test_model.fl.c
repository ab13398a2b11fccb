/* test_model.fl.c - classes, instances, finalizers, weak references and
 * attributes under every flavour. */
#include <pthread.h>

#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))

static gh_object *graveyard; /* a list finalizers may resurrect into */
static int del_runs, legacy_runs, order[8], norder;

static void resurrecting_del(gh_object *self, void *arg)
{
    (void)arg;
    del_runs++;
    order[norder++] = 1;
    gh_list_append(&fx_ts, L(graveyard), gh_newref(self)); /* resurrect */
}

static void plain_del(gh_object *self, void *arg)
{
    (void)self;
    (void)arg;
    del_runs++;
    order[norder++] = 1;
}

static void legacy(gh_object *self, void *arg)
{
    (void)self;
    (void)arg;
    legacy_runs++;
    order[norder++] = 3;
}

static gh_object *record_callback(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)ts;
    (void)f;
    (void)args;
    order[norder++] = 2;
    return gh_none_new();
}

FL_TEST(model, pep442_resurrection_and_single_finalization, .timeout = 10)
{
    uint64_t live0 = fx_live();
    del_runs = 0;
    norder = 0;
    graveyard = gh_list_new();
    struct gh_class_spec spec = {.name = "Phoenix", .del = resurrecting_del};
    gh_object *cls = gh_class_new(&spec);
    gh_object *p = gh_instance_new_of(cls);
    gh_decref(p);
    cr_assert_eq(del_runs, 1);
    cr_assert_eq(gh_list_len(L(graveyard)), 1, "__del__ stored a new reference");
    gh_object *back = gh_list_get(&fx_ts, L(graveyard), 0);
    cr_assert(back == p, "the same object came back");
    cr_assert_eq(gh_getrefcount(back), 3, "the graveyard's reference and ours");
    gh_decref(back);
    gh_decref(gh_list_pop(&fx_ts, L(graveyard))); /* dies again */
    cr_assert_eq(del_runs, 1, "PEP 442: __del__ is not called a second time");
    cr_assert_eq(gh_list_len(L(graveyard)), 0, "so it was not resurrected again");
    gh_decref(graveyard);
    gh_decref(cls);
    cr_assert_eq(fx_live(), live0, "and it was freed");
}

FL_TEST(model, dealloc_order_del_weakrefs_legacy, .timeout = 10)
{
    del_runs = legacy_runs = norder = 0;
    struct gh_class_spec spec = {.name = "Both", .del = plain_del, .legacy_del = legacy};
    gh_object *cls = gh_class_new(&spec);
    gh_object *o = gh_instance_new_of(cls);
    gh_object *cb = gh_function_new("cb", record_callback, 1, NULL, 0);
    gh_object *r = gh_weakref_new(o, cb);
    gh_decref(o);
    /* CPython's subtype_dealloc: tp_finalize, then the weak references
     * (callbacks), then tp_del. */
    cr_assert_eq(norder, 3);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 3);
    cr_assert_eq(legacy_runs, 1, "a legacy finalizer also runs when the count reaches zero");
    gh_decref(r);
    gh_decref(cls);
}

FL_TEST(model, instances_hold_their_class, .timeout = 10)
{
    struct gh_class_spec spec = {.name = "K"};
    gh_object *cls = gh_class_new(&spec);
    cr_assert_eq(gh_getrefcount(cls), 2);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    cr_assert_eq(gh_getrefcount(cls), 4, "each instance counts its class (PyType_GenericAlloc)");
    cr_assert(gh_class_of(a) == (struct gh_class *)(void *)cls);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_getrefcount(cls), 2);
    gh_decref(cls);
}

FL_TEST(model, attributes, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_instance_new();
    gh_object *name = gh_int_new(1001), *other = gh_int_new(1002);
    cr_assert_null(gh_attr_get(&fx_ts, o, name), "AttributeError before any set");
    gh_attr_set(&fx_ts, o, name, gh_int_new(5));
    gh_object *v = gh_attr_get(&fx_ts, o, name);
    cr_assert_eq(((struct gh_int *)(void *)v)->value, 5);
    gh_decref(v);
    gh_attr_set(&fx_ts, o, name, gh_int_new(6));
    v = gh_attr_get(&fx_ts, o, name);
    cr_assert_eq(((struct gh_int *)(void *)v)->value, 6, "rebinding replaces");
    gh_decref(v);
    cr_assert_null(gh_attr_get(&fx_ts, o, other));
    gh_object *num = gh_int_new(3);
    cr_assert_null(gh_attr_get(&fx_ts, num, name), "ints have no attribute dict");
    gh_decref(name);
    gh_decref(other);
    gh_decref(o);
    cr_assert_eq(fx_live(), live0);
}

/* What tp_traverse visits, in order. */
struct visits {
    gh_object *seen[64];
    int n;
};

static void record_visit(gh_object *o, void *arg)
{
    struct visits *v = arg;
    cr_assert_lt(v->n, 64);
    v->seen[v->n++] = o;
}

static struct visits traverse_of(gh_object *o)
{
    struct visits v = {.n = 0};
    o->ob_type->tp_traverse(o, record_visit, &v);
    return v;
}

static int64_t int_value(gh_object *o) { return ((struct gh_int *)(void *)o)->value; }

/* CPython 3.11+: no attribute dict object; the values live in a block the
 * instance points to (docs/objects.md, "Classes and instances"). */
FL_TEST(model, attributes_are_stored_in_the_instance, .timeout = 10)
{
    enum { N = 10 };
    uint64_t live0 = fx_live();
    gh_object *o = gh_instance_new();
    gh_object *cls = gh_plain_class();
    cr_assert_eq(gh_getsizeof(o), 48, "header, dict_or_values, weakreflist, GC head or prefix");
    struct visits v = traverse_of(o);
    cr_assert(v.n == 1 && v.seen[0] == cls, "a new instance refers to its class only");

    gh_object *names[N], *values[N];
    for (int i = 0; i < N; i++) {
        names[i] = gh_int_new(1000 + i);
        values[i] = gh_int_new(5000 + i);
        gh_attr_set(&fx_ts, o, names[i], gh_newref(values[i]));
        cr_assert_eq(gh_refcnt(names[i]), 2, "the instance holds the name");
    }
    cr_assert_eq(gh_getsizeof(o), 48, "the values block is not counted (CPython 3.12's getsizeof)");
    v = traverse_of(o);
    /* The values only, not the names: as CPython, whose names are the
     * class's shared keys. */
    cr_assert_eq(v.n, 1 + N, "the class, then each value (got %d)", v.n);
    for (int i = 0; i < N; i++)
        cr_assert(v.seen[1 + i] == values[i], "attribute %d in insertion order", i);

    /* Found by an equal name that is another object. */
    for (int i = 0; i < N; i++) {
        gh_object *same = gh_int_new(1000 + i);
        cr_assert_neq(same, names[i]);
        gh_object *got = gh_attr_get(&fx_ts, o, same);
        cr_assert_eq(got, values[i], "o.a%d", i);
        gh_decref(got);
        gh_decref(same);
    }

    /* Rebinding keeps the stored name and releases the old value. */
    gh_object *other3 = gh_int_new(1003);
    gh_attr_set(&fx_ts, o, other3, gh_int_new(7777));
    cr_assert_eq(gh_refcnt(values[3]), 1, "the replaced value was released");
    cr_assert_eq(gh_refcnt(other3), 1, "the name already stored stays");
    gh_object *got = gh_attr_get(&fx_ts, o, names[3]);
    cr_assert_eq(int_value(got), 7777);
    gh_decref(got);

    /* delattr: the rest keep their order. */
    cr_assert(gh_attr_del(&fx_ts, o, other3));
    cr_assert_eq(gh_refcnt(names[3]), 1, "the deleted name was released");
    cr_assert_null(gh_attr_get(&fx_ts, o, names[3]), "AttributeError after del");
    cr_assert_not(gh_attr_del(&fx_ts, o, names[3]), "del twice: AttributeError");
    cr_assert_not(gh_attr_del(&fx_ts, names[0], names[0]), "ints have no attributes");
    v = traverse_of(o);
    cr_assert_eq(v.n, 1 + (N - 1));
    for (int i = 0, j = 0; i < N; i++) {
        if (i == 3)
            continue;
        cr_assert_eq(v.seen[1 + j], values[i], "order after del, attribute %d", i);
        j++;
    }
    gh_decref(other3);

    /* tp_clear (the collector breaking a cycle): valid, empty, usable. */
    o->ob_type->tp_clear(o);
    v = traverse_of(o);
    cr_assert(v.n == 1 && v.seen[0] == cls, "cleared: only the class is left");
    for (int i = 0; i < N; i++) {
        cr_assert_null(gh_attr_get(&fx_ts, o, names[i]));
        cr_assert_eq(gh_refcnt(names[i]), 1);
        cr_assert_eq(gh_refcnt(values[i]), 1);
    }
    o->ob_type->tp_clear(o); /* twice is harmless */
    gh_attr_set(&fx_ts, o, names[0], gh_newref(values[1]));
    got = gh_attr_get(&fx_ts, o, names[0]);
    cr_assert_eq(got, values[1], "set works after a clear");
    gh_decref(got);

    gh_decref(o); /* the dealloc releases the attributes */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(gh_refcnt(names[i]), 1);
        cr_assert_eq(gh_refcnt(values[i]), 1);
        gh_decref(names[i]);
        gh_decref(values[i]);
    }
    cr_assert_eq(fx_live(), live0, "the values block was freed");
}

/* A self-reference through an attribute: the instance is the only object
 * in the cycle (CPython 3.11+: gc.collect() returns 1). */
FL_TEST(model, a_self_reference_is_one_object, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_instance_new();
    gh_object *name = gh_str_new("self", 4);
    gh_attr_set(&fx_ts, o, name, gh_newref(o));
    cr_assert_eq(gh_refcnt(o), 2, "our reference and o.self");
    struct visits v = traverse_of(o);
    cr_assert_eq(v.n, 2);
    cr_assert_eq(v.seen[1], o, "the instance refers to itself directly");
    gh_decref(o);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "one object: no attribute dict");
    gh_decref(name);
    cr_assert_eq(fx_live(), live0);
}

/* Threads setting, getting and deleting attributes of one instance (its
 * critical section under objlock): a replaced value is released after the
 * section, so values that are instances die while others use the lock. */
#define ATTR_THREADS 3
#define ATTR_ROUNDS 20000

struct attr_arg {
    gh_object *shared;
    int index;
};

static void *attr_hammer(void *p)
{
    struct attr_arg *a = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, a->index + 1, "attr-worker");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    gh_object *mine = gh_int_new(2000 + a->index);   /* this thread's own name */
    gh_object *common = gh_str_new("common", 6); /* every thread's */
    for (int i = 0; i < ATTR_ROUNDS; i++) {
        gh_attr_set(&ts, a->shared, mine, gh_int_new(100000 + i));
        gh_object *v = gh_attr_get(&ts, a->shared, mine);
        cr_assert_not_null(v, "nobody else deletes our attribute");
        cr_assert_eq(int_value(v), 100000 + i, "nobody else sets it");
        gh_decref(v);
        gh_sync_checkpoint(&ts);
        gh_attr_set(&ts, a->shared, common, gh_instance_new());
        v = gh_attr_get(&ts, a->shared, common);
        cr_assert_not_null(v);
        cr_assert_eq(v->ob_type->kind, GH_KIND_INSTANCE, "a live instance");
        gh_decref(v);
        if (i % 3 == 0)
            cr_assert(gh_attr_del(&ts, a->shared, mine));
        gh_sync_checkpoint(&ts);
    }
    gh_decref(mine);
    gh_decref(common);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

FL_TEST(model, attributes_of_a_shared_instance, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    uint64_t live0 = fx_live();
    gh_object *shared = gh_instance_new();
    pthread_t t[ATTR_THREADS];
    struct attr_arg args[ATTR_THREADS];
    gh_sync_block_begin(&fx_ts); /* let the workers have the GIL */
    for (int i = 0; i < ATTR_THREADS; i++) {
        args[i] = (struct attr_arg){shared, i};
        cr_assert_eq(pthread_create(&t[i], NULL, attr_hammer, &args[i]), 0);
    }
    for (int i = 0; i < ATTR_THREADS; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    struct visits v = traverse_of(shared);
    /* The last round (ATTR_ROUNDS - 1 is not a multiple of 3) kept each
     * thread's attribute; plus the common one. */
    cr_assert_eq(v.n, 1 + (ATTR_THREADS + 1), "got %d visits", v.n);
    gh_object *common = gh_str_new("common", 6);
    gh_object *last = gh_attr_get(&fx_ts, shared, common);
    cr_assert_eq(gh_refcnt(last), 2, "the last instance stored, alone");
    gh_decref(last);
    gh_decref(common);
    gh_decref(shared);
    cr_assert_eq(fx_live(), live0, "every replaced value and the block came back");
}

FL_TEST(model, weakref_callbacks_only_for_live_weakrefs, .timeout = 10)
{
    norder = 0;
    gh_object *o = gh_instance_new();
    gh_object *cb = gh_function_new("cb", record_callback, 1, NULL, 0);
    gh_object *r1 = gh_weakref_new(o, gh_newref(cb));
    gh_object *r2 = gh_weakref_new(o, cb);
    cr_assert_eq(gh_weakref_count(o), 2);
    gh_decref(r2); /* a dead weak reference: no callback */
    cr_assert_eq(gh_weakref_count(o), 1);
    gh_decref(o);
    cr_assert_eq(norder, 1, "only the live weak reference's callback ran");
    gh_decref(r1);
}

/* Two threads: one drops and re-creates the referent, the other
 * dereferences without pause. A dereference must return a live object or
 * None, never one whose count already reached zero. */
struct race {
    gh_object *slot;        /* the current weakref; swapped under the GIL or a mutex */
    pthread_mutex_t m;
    int stop;
    uint64_t hits, misses;
};

static void *deref_loop(void *p)
{
    struct race *r = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 2, "deref");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    while (!gh_atomic_load_relaxed_int(&r->stop)) {
        pthread_mutex_lock(&r->m);
        gh_object *wr = gh_newref(r->slot);
        pthread_mutex_unlock(&r->m);
        gh_object *o = gh_weakref_get(wr);
        if (o) {
            cr_assert_gt(gh_refcnt(o), 0);
            cr_assert_eq(o->ob_type->kind, GH_KIND_INSTANCE);
            gh_atomic_add_relaxed_u64(&r->hits, 1);
            gh_decref(o);
        } else {
            gh_atomic_add_relaxed_u64(&r->misses, 1);
        }
        gh_decref(wr);
        gh_sync_checkpoint(&ts);
    }
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

FL_TEST(model, weakref_deref_races_with_death, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    uint64_t live0 = fx_live();
    struct race r = {.m = PTHREAD_MUTEX_INITIALIZER};
    gh_object *o = gh_instance_new();
    r.slot = gh_weakref_new(o, NULL);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, deref_loop, &r), 0);
    /* At least 20000 rounds, and until the other thread has dereferenced
     * 200 times (under the GIL it runs only when this thread yields). */
    for (int i = 0; i < 20000 || gh_atomic_load_relaxed_u64(&r.hits) +
                                 gh_atomic_load_relaxed_u64(&r.misses) < 200; i++) {
        gh_object *fresh = gh_instance_new();
        gh_object *wr = gh_weakref_new(fresh, NULL);
        gh_sync_block_begin(&fx_ts); /* let the other thread run (GIL) */
        pthread_mutex_lock(&r.m);
        gh_object *old = r.slot;
        r.slot = wr;
        pthread_mutex_unlock(&r.m);
        gh_sync_block_end(&fx_ts);
        gh_decref(o); /* the referent of the old weakref dies */
        gh_decref(old);
        o = fresh;
        gh_sync_checkpoint(&fx_ts);
    }
    gh_atomic_store_relaxed_int(&r.stop, 1);
    gh_sync_block_begin(&fx_ts);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    gh_decref(o);
    gh_decref(r.slot);
    cr_assert_geq(r.hits + r.misses, 200);
    cr_assert_eq(fx_live(), live0);
}

static int dead_callback_runs;
static gh_object *count_dead_callback(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)ts;
    (void)f;
    (void)args;
    dead_callback_runs++;
    return gh_none_new();
}

/* Regression (found by stress/stress_objects under TSan): a weak reference
 * whose count reached zero waits in the thread's dealloc queue while still
 * linked in its referent's list. When the referent dies before the weak
 * reference's own dealloc runs, clearing the list must see the weak
 * reference as dead (count zero) and give it no callback. The dealloc queue
 * once reused the count word as its link, so the dead weak reference looked
 * alive (its "count" was a pointer) and was brought back. */
FL_TEST(model, queued_dead_weakref_is_not_revived, .timeout = 10)
{
    uint64_t live0 = fx_live();
    dead_callback_runs = 0;
    gh_object *x = gh_instance_new();
    gh_object *o = gh_instance_new();
    gh_object *cb = gh_function_new("cb", count_dead_callback, 1, NULL, 0);
    gh_object *wr = gh_weakref_new(o, cb);
    gh_object *l = gh_list_new();
    /* The list holds the only references; its dealloc drops them in order:
     * x and wr are queued, then o dies while wr is still queued. */
    gh_list_append(&fx_ts, L(l), x);
    gh_list_append(&fx_ts, L(l), wr);
    gh_list_append(&fx_ts, L(l), o);
    gh_decref(l);
    cr_assert_eq(dead_callback_runs, 0, "a dead weak reference gets no callback");
    cr_assert_eq(fx_live(), live0, "everything was freed exactly once");
}

static gh_object *legacy_weak; /* a weak reference a legacy finalizer made */
static void legacy_makes_weakref(gh_object *self, void *arg)
{
    (void)arg;
    legacy_weak = gh_weakref_new(self, NULL);
}

/* A weak reference created inside a legacy finalizer that does not
 * resurrect must be cleared before the memory goes (CPython's
 * subtype_dealloc does the same, without calling callbacks). */
FL_TEST(model, weakref_made_by_legacy_finalizer_is_cleared, .timeout = 10)
{
    uint64_t live0 = fx_live();
    struct gh_class_spec spec = {.name = "L", .legacy_del = legacy_makes_weakref};
    gh_object *cls = gh_class_new(&spec);
    gh_object *o = gh_instance_new_of(cls);
    legacy_weak = NULL;
    gh_decref(o);
    cr_assert_not_null(legacy_weak);
    cr_assert_null(gh_weakref_get(legacy_weak), "dead, not dangling");
    gh_decref(legacy_weak);
    gh_decref(cls);
    cr_assert_eq(fx_live(), live0);
}

static gh_object *G;  /* what a finalizer stores */
static void intern_in_del(gh_object *self, void *arg)
{
    (void)self;
    (void)arg;
    gh_list_append(&fx_ts, L(G), gh_str_intern(gh_str_new("abc", 3)));
}

/* Regression (review): a mortal interned string waits in the dealloc queue
 * while a finalizer in the same drain interns its text. The table must not
 * hand out the dying string. */
FL_TEST(model, interning_does_not_revive_a_queued_string, .timeout = 10)
{
    if (!fx_gil())
        cr_skip_test("mortal interned strings exist only under the GIL");
    uint64_t live0 = fx_live();
    G = gh_list_new();
    struct gh_class_spec spec = {.name = "X", .del = intern_in_del};
    gh_object *cls = gh_class_new(&spec);
    gh_object *l = gh_list_new();
    gh_list_append(&fx_ts, L(l), gh_instance_new());                        /* z */
    gh_list_append(&fx_ts, L(l), gh_str_intern(gh_str_new("abc", 3))); /* s */
    gh_list_append(&fx_ts, L(l), gh_instance_new_of(cls));                  /* x */
    gh_decref(l);
    gh_object *s2 = gh_list_get(&fx_ts, L(G), 0);
    cr_assert_eq(gh_refcnt(s2), 2, "a live string: G's reference and ours");
    cr_assert(gh_str_is_interned(s2));
    gh_object *s3 = gh_str_intern(gh_str_new("abc", 3));
    cr_assert(s3 == s2, "and it is now the canonical one");
    gh_decref(s3);
    gh_decref(s2);
    gh_decref(G);
    gh_decref(cls);
    gh_strings_fini(); /* the table itself: made by the first intern */
    gh_strings_init();
    cr_assert_eq(fx_live(), live0);
}

/* A dict refuses unhashable keys (CPython's TypeError) without consuming
 * them: comparing keys under its lock never runs list or set code. */
FL_TEST(model, dict_refuses_unhashable_keys, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *d = gh_dict_new();
    gh_object *k = gh_list_new();
    gh_object *v = gh_int_new(1);
    cr_assert_eq(gh_dict_set(&fx_ts, (struct gh_dict *)(void *)d, k, v), GH_EUNHASHABLE);
    cr_assert_null(gh_dict_get(&fx_ts, (struct gh_dict *)(void *)d, k));
    cr_assert_not(gh_dict_del(&fx_ts, (struct gh_dict *)(void *)d, k));
    gh_object *t = gh_tuple_pack(1, gh_newref(k));
    cr_assert_eq(gh_dict_set(&fx_ts, (struct gh_dict *)(void *)d, t, v), GH_EUNHASHABLE,
                 "a tuple holding a list is unhashable too");
    cr_assert_eq(gh_dict_len((struct gh_dict *)(void *)d), 0);
    gh_decref(t);
    gh_decref(k);
    gh_decref(v);
    gh_decref(d);
    cr_assert_eq(fx_live(), live0);
}

/* Regression (review): hash and == recursed once per nesting level and
 * overflowed the C stack on deep nesting (a scenario can build any depth).
 * Past GH_C_RECURSION_LIMIT they give up as CPython raises RecursionError. */
FL_TEST(model, deep_nesting_does_not_overflow_hash_or_eq, .timeout = 30)
{
    uint64_t live0 = fx_live();
    gh_object *t = gh_tuple_pack(1, gh_int_new(1));
    gh_object *a = gh_list_new(), *b = gh_list_new();
    for (int i = 0; i < 300000; i++) {
        t = gh_tuple_pack(1, t);
        gh_object *na = gh_list_new(), *nb = gh_list_new();
        gh_list_append(&fx_ts, L(na), a);
        gh_list_append(&fx_ts, L(nb), b);
        a = na;
        b = nb;
    }
    uint64_t h;
    cr_assert_not(gh_hash_checked(t, &h), "too deep to hash: unhashable (RecursionError)");
    cr_assert_not(gh_equal(a, b), "too deep to compare: not equal (RecursionError)");
    cr_assert_eq(fx_ts.c_recursion, 0, "every level was left again");
    gh_object *shallow = gh_tuple_pack(1, gh_tuple_pack(1, gh_int_new(1)));
    cr_assert(gh_hash_checked(shallow, &h), "shallow nesting still hashes");
    gh_decref(shallow);
    gh_decref(t);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(fx_live(), live0);
}
