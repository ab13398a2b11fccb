/* test_tuple_set.fl.c - tuple, set and frozenset under every strategy flavour
 * (the body is compiled once per flavour). Sizes are CPython 3.12's,
 * measured with 3.12.1 on x86-64 where the comments say so. */
#include <pthread.h>
#include <string.h>

#include "fl_fixture.h"

#define S(o) ((struct gh_set *)(void *)(o))

static int64_t int_value(gh_object *o) { return ((struct gh_int *)(void *)o)->value; }

/* A set holding the ints lo..hi-1. */
static gh_object *set_of_range(int64_t lo, int64_t hi)
{
    gh_object *s = gh_set_new();
    for (int64_t i = lo; i < hi; i++)
        cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(i)), 1);
    return s;
}

/* ---- sizes ------------------------------------------------------------------ */

FL_TEST(tuple_set, getsizeof_both_layouts, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *e = gh_tuple_new(0);
    gh_object *t = gh_tuple_pack(2, gh_int_new(1), gh_int_new(2));
    gh_object *s0 = gh_set_new();
    /* What sits in front: compact, the GC head of a container (tuple and
     * set are GC types); full, the free-threaded prefix of every object.
     * 16 bytes either way, so the totals agree across layouts (as CPython
     * 3.12's and 3.13t's do). */
    size_t pre = 16;
    cr_assert_eq(gh_prefix_size(e->ob_type), pre);
    cr_assert_eq(gh_prefix_size(s0->ob_type), pre);
    /* () : PyObject_VAR_HEAD 24, no items. */
    cr_assert_eq(gh_getsizeof(e), pre + 24);
    cr_assert_eq(gh_getsizeof(e), 40);
    /* (1, 2): 24 + 2 * 8. */
    cr_assert_eq(gh_getsizeof(t), pre + 24 + 2 * 8);
    cr_assert_eq(gh_getsizeof(t), 56);
    /* set(): PySetObject 200, the smalltable inside it. */
    cr_assert_eq(gh_getsizeof(s0), pre + 200);
    cr_assert_eq(gh_getsizeof(s0), 216);

    /* set(range(4)) still fits the smalltable; the 5th key makes
     * fill*5 >= mask*3 (25 >= 21) and the table grows to the smallest power
     * of two above used*4 = 20: 32 entries of 16 bytes. */
    gh_object *s4 = set_of_range(0, 4), *s5 = set_of_range(0, 5);
    cr_assert_eq(gh_getsizeof(s4), 216, "CPython 3.12.1: getsizeof(set(range(4))) == 216");
    cr_assert_eq(S(s4)->table, S(s4)->smalltable);
    cr_assert_neq(S(s5)->table, S(s5)->smalltable, "past 5 keys the table is allocated");
    cr_assert_eq(S(s5)->mask, 31);
    cr_assert_eq(gh_getsizeof(s5), pre + 200 + 32 * 16);
    cr_assert_eq(gh_getsizeof(s5), 728, "CPython 3.12.1: getsizeof(set(range(5))) == 728");
    gh_object *s19 = set_of_range(0, 19);
    cr_assert_eq(gh_getsizeof(s19), 2264, "CPython 3.12.1: getsizeof(set(range(19))) == 2264");
    gh_object *items[100];
    for (int i = 0; i < 100; i++)
        items[i] = gh_int_new(i);
    gh_object *fs = gh_frozenset_new(items, 100);
    cr_assert_eq(gh_getsizeof(fs), 8408, "CPython 3.12.1: getsizeof(frozenset(range(100)))");

    gh_decref(fs);
    gh_decref(s19);
    gh_decref(s5);
    gh_decref(s4);
    gh_decref(s0);
    gh_decref(t);
    gh_decref(e);
    cr_assert_eq(fx_live(), live0);
}

/* ---- tuple -------------------------------------------------------------------- */

FL_TEST(tuple_set, empty_tuple_is_a_singleton, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *a = gh_tuple_new(0), *b = gh_tuple_from_array(NULL, 0);
    gh_object *c = gh_tuple_pack(0), *d = gh_tuple_concat(a, b);
    cr_assert(a == b && b == c && c == d, "every () is the same object");
    cr_assert_eq(a, &gh_empty_tuple->ob);
    cr_assert_eq(gh_tuple_len(a), 0);
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(a)), "immortal with immortal=on");
    cr_assert_eq(fx_live(), live0, "() is static: nothing allocated");
    gh_decref(a);
    gh_decref(b);
    gh_decref(c);
    gh_decref(d);
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(a)));

    /* immortal=off: counted like None, with one reference of its own. */
    gh_model.immortal = false;
    gh_tuple_init();
    cr_assert_eq(gh_refcnt(a), 1);
    gh_object *x = gh_tuple_new(0);
    cr_assert_eq(x, a);
    cr_assert_eq(gh_refcnt(a), 2);
    gh_decref(x);
    cr_assert_eq(gh_refcnt(a), 1);
    gh_model.immortal = true;
    gh_tuple_init();
}

FL_TEST(tuple_set, concat_makes_a_new_tuple, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *one = gh_int_new(1000), *two = gh_int_new(2000), *three = gh_int_new(3000);
    gh_object *x = gh_tuple_pack(2, gh_newref(one), gh_newref(two));
    gh_object *y = gh_tuple_pack(1, gh_newref(three));
    gh_object *alias = gh_newref(x); /* another name bound to the old tuple */

    /* x += (3000,): x is rebound to a new tuple; the old one is unchanged. */
    gh_object *nx = gh_tuple_concat(x, y);
    gh_decref(x);
    x = nx;
    cr_assert_neq(x, alias, "concatenation makes a new object");
    cr_assert_neq(x, y);
    cr_assert_eq(gh_tuple_len(x), 3);
    cr_assert_eq(gh_tuple_len(alias), 2, "the left operand is unchanged");
    cr_assert_eq(gh_tuple_len(y), 1, "the right operand is unchanged");
    cr_assert(gh_tuple_get(x, 0) == one && gh_tuple_get(x, 1) == two && gh_tuple_get(x, 2) == three,
              "the new tuple shares the items");
    cr_assert(gh_tuple_get(alias, 0) == one && gh_tuple_get(alias, 1) == two);
    cr_assert_eq(gh_refcnt(alias), 1, "only `alias` refers to the old tuple now");
    cr_assert_eq(gh_refcnt(y), 1);
    cr_assert_eq(gh_refcnt(x), 1);
    cr_assert_eq(gh_refcnt(one), 3, "ours, the old tuple's, the new tuple's");
    cr_assert_eq(gh_refcnt(three), 3);

    /* With an empty operand CPython returns the other operand itself. */
    gh_object *e = gh_tuple_new(0);
    gh_object *same = gh_tuple_concat(y, e);
    cr_assert_eq(same, y);
    cr_assert_eq(gh_refcnt(y), 2);
    gh_decref(same);
    same = gh_tuple_concat(e, y);
    cr_assert_eq(same, y);
    gh_decref(same);
    gh_decref(e);

    gh_decref(alias);
    cr_assert_eq(gh_refcnt(one), 2, "dropping the old tuple released its items");
    gh_decref(x);
    gh_decref(y);
    cr_assert_eq(gh_refcnt(one), 1);
    gh_decref(one);
    gh_decref(two);
    gh_decref(three);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(tuple_set, tuple_hash_and_equality, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    bool ok;
    gh_object *e = gh_tuple_new(0);
    /* CPython 3.12.1: hash(()) and hash((1, 2)) (small ints hash to their
     * value there and here). */
    cr_assert_eq(gh_tuple_hash(e, &ok), UINT64_C(5740354900026072187));
    cr_assert(ok);
    gh_object *t12 = gh_tuple_pack(2, gh_int_new(1), gh_int_new(2));
    cr_assert_eq(gh_hash(t12), (uint64_t)INT64_C(-3550055125485641917));
    gh_object *t21 = gh_tuple_pack(2, gh_int_new(2), gh_int_new(1));
    cr_assert_neq(gh_hash(t12), gh_hash(t21), "order matters");
    cr_assert_not(gh_equal(t12, t21));

    /* Equal contents in distinct objects, nested. */
    gh_object *a = gh_tuple_pack(2, gh_int_new(1000),
                                        gh_tuple_pack(2, gh_int_new(2000), gh_int_new(3000)));
    gh_object *b = gh_tuple_pack(2, gh_int_new(1000),
                                        gh_tuple_pack(2, gh_int_new(2000), gh_int_new(3000)));
    cr_assert_neq(a, b);
    cr_assert(gh_equal(a, b), "elementwise equality");
    cr_assert_eq(gh_hash(a), gh_hash(b), "equal tuples hash equal");
    uint64_t h;
    cr_assert(gh_hash_checked(a, &h));
    cr_assert_eq(h, gh_hash(a));
    gh_object *shorter = gh_tuple_pack(1, gh_int_new(1000));
    cr_assert_not(gh_equal(a, shorter), "different lengths");
    cr_assert_not(gh_equal(a, e));

    /* Unhashable items, at any depth, make the tuple unhashable. */
    gh_object *with_list = gh_tuple_pack(2, gh_int_new(1), gh_list_new());
    gh_tuple_hash(with_list, &ok);
    cr_assert_not(ok, "(1, []) is unhashable");
    cr_assert_not(gh_hash_checked(with_list, &h));
    gh_object *deep = gh_tuple_pack(1, gh_tuple_pack(1, gh_dict_new()));
    cr_assert_not(gh_hash_checked(deep, &h), "(({},),) is unhashable");
    gh_object *with_set = gh_tuple_pack(1, gh_set_new());
    cr_assert_not(gh_hash_checked(with_set, &h));
    cr_assert(gh_equal(with_list, with_list), "unhashable tuples still compare");

    /* Building item by item. */
    gh_object *built = gh_tuple_new(2);
    cr_assert_null(((struct gh_tuple *)(void *)built)->ob_item[0], "items start NULL");
    gh_tuple_set_item_stolen(built, 0, gh_int_new(1));
    gh_tuple_set_item_stolen(built, 1, gh_int_new(2));
    cr_assert(gh_equal(built, t12));
    cr_assert_null(gh_weaklist_ptr(built), "tuples are not weak-referenceable");

    gh_object *all[] = {e, t12, t21, a, b, shorter, with_list, deep, with_set, built};
    for (size_t i = 0; i < GH_ARRAY_LEN(all); i++)
        gh_decref(all[i]);
    cr_assert_eq(fx_live(), live0);
}

/* ---- set ------------------------------------------------------------------------ */

FL_TEST(tuple_set, set_add_discard_contains_pop, .timeout = 10)
{
    enum { N = 10000 };
    uint64_t live0 = fx_live();
    gh_object *s = gh_set_new();
    cr_assert_eq(gh_set_len(S(s)), 0);
    cr_assert_null(gh_set_pop(&fx_ts, S(s)), "pop from an empty set");
    for (int i = 0; i < N; i++)
        cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(i)), 1, "add %d", i);
    cr_assert_eq(gh_set_len(S(s)), N);
    /* CPython 3.12.1: s = set(); [s.add(i) for i in range(10000)];
     * sys.getsizeof(s) == 524504 (a 32768-entry table). */
    cr_assert_eq(gh_getsizeof(s), 524504);
    uint64_t live_full = fx_live();
    for (int i = 0; i < N; i += 97)
        cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(i)), 0, "a duplicate is not added");
    cr_assert_eq(fx_live(), live_full, "the duplicate keys were released");
    cr_assert_eq(gh_set_len(S(s)), N);

    for (int i = 0; i < N; i++) {
        gh_object *k = gh_int_new(i); /* equal, and for i > 256 a distinct object */
        cr_assert_eq(gh_set_contains(&fx_ts, S(s), k), 1, "contains %d", i);
        gh_decref(k);
    }
    /* Delete the even keys: their entries become dummies. */
    for (int i = 0; i < N; i += 2) {
        gh_object *k = gh_int_new(i);
        cr_assert_eq(gh_set_discard(&fx_ts, S(s), k), 1);
        cr_assert_eq(gh_set_discard(&fx_ts, S(s), k), 0, "a second discard finds nothing");
        gh_decref(k);
    }
    cr_assert_eq(gh_set_len(S(s)), N / 2);
    cr_assert_eq(S(s)->fill, N, "dummies still count in fill");
    for (int i = 0; i < N; i++) {
        gh_object *k = gh_int_new(i);
        cr_assert_eq(gh_set_contains(&fx_ts, S(s), k), i % 2, "after deletes: %d", i);
        gh_decref(k);
    }
    /* Re-add them: probes pass over dummies and reuse them. */
    for (int i = 0; i < N; i += 2)
        cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(i)), 1, "re-add %d", i);
    cr_assert_eq(gh_set_len(S(s)), N);
    /* An int hashes to itself, so each key's probe starts at its old slot,
     * now a dummy: the first dummy met is reused and fill does not move. */
    cr_assert_eq(S(s)->fill, N, "re-adds reused the dummies");
    for (int i = 0; i < N; i++) {
        gh_object *k = gh_int_new(i);
        cr_assert_eq(gh_set_contains(&fx_ts, S(s), k), 1);
        gh_decref(k);
    }

    /* pop until empty: every key exactly once. */
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        gh_object *k = gh_set_pop(&fx_ts, S(s));
        cr_assert_not_null(k);
        int64_t v = int_value(k);
        cr_assert(v >= 0 && v < N && !seen[v], "pop returned %lld", (long long)v);
        seen[v] = true;
        gh_decref(k);
    }
    cr_assert_eq(gh_set_len(S(s)), 0);
    cr_assert_null(gh_set_pop(&fx_ts, S(s)));
    gh_decref(s);
    cr_assert_eq(fx_live(), live0, "the table, the keys and the set are freed");
}

FL_TEST(tuple_set, set_resize_and_clear, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *s = gh_set_new();
    /* (keys after which the table is that size): resizes at fill 5, 19, 77
     * (fill*5 >= mask*3) to the power of two above used*4. */
    static const struct { int keys; int64_t mask; } steps[] = {
        {1, 7}, {4, 7}, {5, 31}, {18, 31}, {19, 127}, {76, 127}, {77, 511},
    };
    int added = 0;
    for (size_t j = 0; j < GH_ARRAY_LEN(steps); j++) {
        while (added < steps[j].keys)
            cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(1000 + added++)), 1);
        cr_assert_eq(S(s)->mask, steps[j].mask, "after %d keys", added);
        cr_assert_eq(S(s)->table == S(s)->smalltable, steps[j].mask == 7);
        cr_assert_lt(S(s)->fill * 5, S(s)->mask * 3, "the load invariant");
    }
    gh_set_clear(&fx_ts, S(s));
    cr_assert_eq(gh_set_len(S(s)), 0);
    cr_assert_eq(S(s)->table, S(s)->smalltable, "clear returns to the smalltable");
    cr_assert_eq(gh_getsizeof(s), 216);

    /* Churn: add and discard many distinct keys, never more than one live.
     * The dummies fill the smalltable until fill reaches 5; the resize to
     * used*4 (= 0 or 4) then only rebuilds the smalltable without them. */
    for (int i = 0; i < 2000; i++) {
        gh_object *k = gh_int_new(5000 + i);
        cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_newref(k)), 1);
        cr_assert_eq(gh_set_discard(&fx_ts, S(s), k), 1);
        gh_decref(k);
        cr_assert_eq(S(s)->mask, 7, "dummies never grow the table (i=%d)", i);
        cr_assert_lt(S(s)->fill, 5);
    }
    cr_assert_eq(gh_set_len(S(s)), 0);
    gh_decref(s);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(tuple_set, dummy_reuse_and_pop_order_follow_cpython, .timeout = 10)
{
    uint64_t live0 = fx_live();
    /* CPython 3.12.1: s = {0, 1, 2, 3}; s.discard(0); s.discard(2);
     * s.add(8); list(s) == [8, 1, 3]: 8 (8 & 7 == 0) takes the first dummy
     * on its probe, slot 0; s.pop() then returns 8. */
    gh_object *s = set_of_range(0, 4);
    gh_object *k0 = gh_int_new(0), *k2 = gh_int_new(2);
    cr_assert_eq(gh_set_discard(&fx_ts, S(s), k0), 1);
    cr_assert_eq(gh_set_discard(&fx_ts, S(s), k2), 1);
    cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_int_new(8)), 1);
    cr_assert_eq(int_value(S(s)->table[0].key), 8);
    cr_assert_eq(int_value(S(s)->table[1].key), 1);
    cr_assert_eq(int_value(S(s)->table[3].key), 3);
    cr_assert_eq(S(s)->fill, 4, "the dummy at slot 2 is still there");
    gh_object *p = gh_set_pop(&fx_ts, S(s));
    cr_assert_eq(int_value(p), 8);
    gh_decref(p);
    p = gh_set_pop(&fx_ts, S(s));
    cr_assert_eq(int_value(p), 1, "the finger moved past the popped slot");
    gh_decref(p);
    gh_decref(k0);
    gh_decref(k2);
    gh_decref(s);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(tuple_set, weakrefs_cleared_on_dealloc, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *s = set_of_range(1000, 1010);
    gh_object *items[] = {gh_int_new(1000)};
    gh_object *fs = gh_frozenset_new(items, 1);
    gh_object *ws = gh_weakref_new(s, NULL), *wf = gh_weakref_new(fs, NULL);
    cr_assert_not_null(ws);
    cr_assert_not_null(wf);
    cr_assert_not_null(*gh_weaklist_ptr(s));
    gh_object *t = gh_tuple_pack(1, gh_int_new(1));
    cr_assert_null(gh_weakref_new(t, NULL), "a tuple cannot be weakly referenced");
    gh_decref(t);
    gh_object *alive = gh_weakref_get(ws);
    cr_assert_eq(alive, s);
    gh_decref(alive);
    gh_decref(s);
    gh_decref(fs);
    cr_assert_null(gh_weakref_get(ws), "the set's dealloc cleared its weak references");
    cr_assert_null(gh_weakref_get(wf));
    gh_decref(ws);
    gh_decref(wf);
    cr_assert_eq(fx_live(), live0);
}

/* ---- frozenset and equality -------------------------------------------------------- */

FL_TEST(tuple_set, frozenset_duplicates_hash_equality, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *dup = gh_int_new(1000);
    gh_object *items[] = {gh_int_new(1000), gh_int_new(2000), dup, gh_int_new(3000),
                          gh_int_new(2000)};
    gh_incref(dup);
    gh_object *fs = gh_frozenset_new(items, 5);
    cr_assert_not_null(fs);
    cr_assert_eq(gh_frozenset_len(S(fs)), 3, "duplicates collapse");
    cr_assert_eq(gh_refcnt(dup), 1, "the duplicate's stolen reference was released");
    gh_decref(dup);
    cr_assert_eq(gh_frozenset_contains(S(fs), gh_int_new(7)), 0);
    gh_object *k = gh_int_new(3000);
    cr_assert_eq(gh_frozenset_contains(S(fs), k), 1);
    gh_decref(k);

    /* The same items in another order (and another table history). */
    gh_object *rev[] = {gh_int_new(3000), gh_int_new(2000), gh_int_new(1000)};
    gh_object *fs2 = gh_frozenset_new(rev, 3);
    cr_assert_neq(fs, fs2);
    cr_assert_eq(gh_hash(fs), gh_hash(fs2), "hash does not depend on order");
    cr_assert(gh_equal(fs, fs2));
    gh_object *two[] = {gh_int_new(1000), gh_int_new(2000)};
    gh_object *fs3 = gh_frozenset_new(two, 2);
    cr_assert_not(gh_equal(fs, fs3));
    cr_assert_neq(gh_hash(fs), gh_hash(fs3));
    gh_object *fs_empty = gh_frozenset_new(NULL, 0);
    gh_object *fs_empty2 = gh_frozenset_new(NULL, 0);
    cr_assert_neq(fs_empty, fs_empty2, "no empty-frozenset singleton in 3.12");
    cr_assert(gh_equal(fs_empty, fs_empty2));
    cr_assert_eq(gh_hash(fs_empty), gh_hash(fs_empty2));
    cr_assert_eq(gh_getsizeof(fs_empty), 216);

    /* Hashable, so usable inside sets and tuples. */
    gh_object *s = gh_set_new();
    cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_newref(fs)), 1);
    cr_assert_eq(gh_set_contains(&fx_ts, S(s), fs2), 1, "found by equality");
    cr_assert_eq(gh_set_add(&fx_ts, S(s), gh_newref(fs2)), 0);
    gh_object *t = gh_tuple_pack(2, gh_newref(fs), gh_int_new(1));
    uint64_t h;
    cr_assert(gh_hash_checked(t, &h));
    cr_assert_eq(gh_set_add(&fx_ts, S(s), t), 1);

    /* set == set by contents; a set never equals a frozenset here. */
    gh_object *a = set_of_range(1000, 1003);
    gh_object *b = gh_set_new();
    for (int i = 1002; i >= 1000; i--)
        cr_assert_eq(gh_set_add(&fx_ts, S(b), gh_int_new(i)), 1);
    cr_assert(gh_equal(a, b));
    cr_assert(gh_equal(b, a));
    cr_assert_not(gh_equal(a, s));
    gh_object *k2 = gh_int_new(1001);
    cr_assert_eq(gh_set_discard(&fx_ts, S(b), k2), 1);
    cr_assert_eq(gh_set_add(&fx_ts, S(b), gh_int_new(1003)), 1);
    cr_assert_not(gh_equal(a, b), "same length, different keys");
    gh_decref(k2);
    gh_object *fr[] = {gh_int_new(1000), gh_int_new(1001), gh_int_new(1002)};
    gh_object *fa = gh_frozenset_new(fr, 3);
    cr_assert_not(gh_equal(a, fa), "set vs frozenset: other kinds never compare equal here");

    cr_assert_not_null(gh_weaklist_ptr(a), "sets are weak-referenceable");
    cr_assert_not_null(gh_weaklist_ptr(fa), "frozensets are weak-referenceable");
    cr_assert_null(*gh_weaklist_ptr(a));

    gh_object *all[] = {fs, fs2, fs3, fs_empty, fs_empty2, s, a, b, fa};
    for (size_t i = 0; i < GH_ARRAY_LEN(all); i++)
        gh_decref(all[i]);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(tuple_set, unhashable_keys_refused, .timeout = 10)
{
    gh_tuple_init();
    uint64_t live0 = fx_live();
    gh_object *s = gh_set_new();
    gh_object *bad[] = {
        gh_list_new(),
        gh_dict_new(),
        gh_set_new(),
        gh_tuple_pack(2, gh_int_new(1), gh_list_new()),
    };
    for (size_t i = 0; i < GH_ARRAY_LEN(bad); i++) {
        cr_assert_eq(gh_set_add(&fx_ts, S(s), bad[i]), GH_EUNHASHABLE, "key %zu", i);
        cr_assert_eq(gh_refcnt(bad[i]), 1, "a refused key is not consumed");
        cr_assert_eq(gh_set_contains(&fx_ts, S(s), bad[i]), GH_EUNHASHABLE);
        cr_assert_eq(gh_set_discard(&fx_ts, S(s), bad[i]), GH_EUNHASHABLE);
    }
    cr_assert_eq(gh_set_len(S(s)), 0);
    gh_object *good = gh_int_new(5000);
    gh_object *mixed[] = {good, bad[0]};
    cr_assert_null(gh_frozenset_new(mixed, 2), "frozenset([5000, []]) fails");
    cr_assert_eq(gh_refcnt(good), 1, "and consumes nothing");
    gh_object *fs = gh_frozenset_new(&good, 1);
    cr_assert_eq(gh_frozenset_contains(S(fs), bad[3]), GH_EUNHASHABLE);
    gh_decref(fs);
    for (size_t i = 0; i < GH_ARRAY_LEN(bad); i++)
        gh_decref(bad[i]);
    gh_decref(s);
    cr_assert_eq(fx_live(), live0);
}

/* ---- two threads on one set ------------------------------------------------------------ */

#define KEYS 3000
#define OWN_BASE(t) (100000 + (t) * KEYS)  /* keys only thread t touches */
#define SHARED_BASE 200000                 /* keys both threads touch */

struct set_arg {
    gh_object *set;
    int index;
};

/* Thread t: adds its own keys and the shared ones, interleaved with the
 * other thread's; then discards its own even keys and the shared keys
 * divisible by 4. Whatever the interleaving, a shared key's last operation
 * is an add if neither thread discards it and a discard if both do, so the
 * final contents are fixed. */
static void *set_worker(void *p)
{
    struct set_arg *a = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, a->index + 1, "test-worker");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    struct gh_set *s = S(a->set);
    for (int i = 0; i < KEYS; i++) {
        cr_assert_eq(gh_set_add(&ts, s, gh_int_new(OWN_BASE(a->index) + i)), 1);
        int r = gh_set_add(&ts, s, gh_int_new(SHARED_BASE + i));
        cr_assert(r == 0 || r == 1);
        gh_sync_checkpoint(&ts);
        gh_object *k = gh_int_new(OWN_BASE(a->index) + i);
        cr_assert_eq(gh_set_contains(&ts, s, k), 1, "our own add is visible");
        gh_decref(k);
        gh_sync_checkpoint(&ts);
    }
    for (int i = 0; i < KEYS; i++) {
        if (i % 2 == 0) {
            gh_object *k = gh_int_new(OWN_BASE(a->index) + i);
            cr_assert_eq(gh_set_discard(&ts, s, k), 1, "only we remove our keys");
            gh_decref(k);
        }
        if (i % 4 == 0) {
            gh_object *k = gh_int_new(SHARED_BASE + i);
            int r = gh_set_discard(&ts, s, k);
            cr_assert(r == 0 || r == 1);
            gh_decref(k);
        }
        gh_sync_checkpoint(&ts);
    }
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

FL_TEST(tuple_set, two_threads_one_set, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    uint64_t live0 = fx_live();
    gh_object *set = gh_set_new();
    pthread_t t[2];
    struct set_arg args[2];
    gh_sync_block_begin(&fx_ts); /* let the workers have the GIL */
    for (int i = 0; i < 2; i++) {
        args[i] = (struct set_arg){set, i};
        cr_assert_eq(pthread_create(&t[i], NULL, set_worker, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);

    /* Own keys: the odd ones of each thread; shared: those not divisible
     * by 4. */
    int64_t want = 2 * (KEYS / 2) + (KEYS - (KEYS + 3) / 4);
    cr_assert_eq(gh_set_len(S(set)), want);
    for (int th = 0; th < 2; th++) {
        for (int i = 0; i < KEYS; i++) {
            gh_object *k = gh_int_new(OWN_BASE(th) + i);
            cr_assert_eq(gh_set_contains(&fx_ts, S(set), k), i % 2, "thread %d key %d", th, i);
            gh_decref(k);
        }
    }
    for (int i = 0; i < KEYS; i++) {
        gh_object *k = gh_int_new(SHARED_BASE + i);
        cr_assert_eq(gh_set_contains(&fx_ts, S(set), k), i % 4 != 0, "shared key %d", i);
        gh_decref(k);
    }
    /* pop moves the set's reference out: it must be the only one left. */
    for (int64_t n = 0; n < want; n++) {
        gh_object *k = gh_set_pop(&fx_ts, S(set));
        cr_assert_not_null(k);
        cr_assert_eq(gh_refcnt(k), 1, "a stored key holds only the set's reference");
        gh_decref(k);
    }
    cr_assert_null(gh_set_pop(&fx_ts, S(set)));
    gh_decref(set);
    cr_assert_eq(fx_live(), live0, "every key and the table came back");
}
