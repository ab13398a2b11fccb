/* test_classics.fl.c - the classic examples of every guide to Python's
 * memory model, as executable checks, under every strategy flavour (the
 * body is compiled once per flavour; suites classics__<flavour>).
 * Numbers follow issue 3's list. The cyclic examples belong to the
 * collector (issue 4). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/trace.h"
#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))

static gh_object *list_of(int n, ...)
{
    gh_object *l = gh_list_new();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        gh_list_append(&fx_ts, L(l), gh_int_new(va_arg(ap, int)));
    va_end(ap);
    return l;
}

static int64_t item(gh_object *l, int64_t i)
{
    gh_object *x = gh_list_get(&fx_ts, L(l), i);
    cr_assert_not_null(x);
    int64_t v = ((struct gh_int *)(void *)x)->value;
    gh_decref(x);
    return v;
}

/* 1. a = [1, 2, 3]; b = a  ->  id(a) == id(b), a is b */
FL_TEST(classics, c01_assignment_binds_the_same_object, .timeout = 10)
{
    gh_object *a = list_of(3, 1, 2, 3);
    gh_object *b = gh_newref(a); /* binding a name never copies */
    cr_assert_eq(gh_id(a), gh_id(b));
    cr_assert(a == b, "a is b");
    cr_assert_eq(gh_getrefcount(a), 3, "two names, plus getrefcount's argument");
    gh_decref(b);
    gh_decref(a);
}

/* 2. a = []; sys.getrefcount(a) == 2 */
FL_TEST(classics, c02_getrefcount_counts_its_argument, .timeout = 10)
{
    gh_object *a = gh_list_new();
    cr_assert_eq(gh_getrefcount(a), 2, "the name a, and the call's own reference");
    gh_decref(a);
    cr_assert_eq(gh_getrefcount(gh_int_new(7)), UINT32_MAX,
                 "an immortal object reports CPython 3.12's 2**32 - 1");
}

/* 3. x = [1, 2, 3]; y = x; x.append(4)  ->  y == [1, 2, 3, 4] */
FL_TEST(classics, c03_mutation_is_visible_through_an_alias, .timeout = 10)
{
    gh_object *x = list_of(3, 1, 2, 3);
    gh_object *y = gh_newref(x);
    gh_list_append(&fx_ts, L(x), gh_int_new(4));
    cr_assert_eq(gh_list_len(L(y)), 4);
    cr_assert_eq(item(y, -1), 4);
    gh_decref(x);
    gh_decref(y);
}

/* 4. a = [1, 2]; b = a; c = [1, 2]  ->  a is b, a == c, a is not c */
FL_TEST(classics, c04_identity_versus_equality, .timeout = 10)
{
    gh_object *a = list_of(2, 1, 2);
    gh_object *b = gh_newref(a);
    gh_object *c = list_of(2, 1, 2);
    cr_assert(a == b, "a is b");
    cr_assert(gh_equal(a, c), "a == c");
    cr_assert(a != c, "a is not c");
    gh_object *d = list_of(2, 1, 3);
    cr_assert_not(gh_equal(a, d), "[1, 2] != [1, 3]");
    gh_decref(a);
    gh_decref(b);
    gh_decref(c);
    gh_decref(d);
}

/* 6. a = 256; b = 256 -> a is b;   a = 257; b = 257 -> a is not b
 *    (two separately made ints: int('256') twice, not one constant) */
FL_TEST(classics, c06_small_int_cache, .timeout = 10)
{
    gh_object *a = gh_int_new(256), *b = gh_int_new(256);
    cr_assert(a == b, "256 is cached");
    gh_object *c = gh_int_new(257), *d = gh_int_new(257);
    cr_assert(c != d, "257 is made twice");
    cr_assert(gh_equal(c, d), "but 257 == 257");
    gh_object *e = gh_int_new(-5), *f = gh_int_new(-5), *g = gh_int_new(-6), *h = gh_int_new(-6);
    cr_assert(e == f && g != h, "the cache starts at -5");
    gh_decref(c);
    gh_decref(d);
    gh_decref(g);
    gh_decref(h);
}

/* 8. sys.getsizeof([]) == 56, and it does not grow when the items do */
FL_TEST(classics, c08_getsizeof_is_shallow, .timeout = 10)
{
    gh_object *l = gh_list_new();
    cr_assert_eq(gh_getsizeof(l), 56, "[] is 56 bytes (both layouts)");
    gh_object *small = gh_list_new(), *big = gh_list_new();
    gh_list_append(&fx_ts, L(small), gh_int_new(1));
    gh_object *huge = gh_list_new();
    for (int i = 0; i < 10000; i++)
        gh_list_append(&fx_ts, L(huge), gh_list_new());
    gh_list_append(&fx_ts, L(big), huge);
    cr_assert_eq(gh_getsizeof(small), gh_getsizeof(big),
                 "a list of one int and a list of one 10000-list are the same size");
    cr_assert_eq(gh_getsizeof(small), 56 + 4 * 8, "the struct and its 4-slot array");
    cr_assert_eq(gh_getsizeof(gh_int_new(0)), fx_gil() ? 28 : 44);
    gh_object *o = gh_object_new();
    cr_assert_eq(gh_getsizeof(o), fx_gil() ? 16 : 32, "object()");
    gh_object *d = gh_dict_new();
    cr_assert_eq(gh_getsizeof(d), 64, "{}");
    gh_decref(o);
    gh_decref(d);
    gh_decref(l);
    gh_decref(small);
    gh_decref(big);
}

static int callback_runs;
static gh_object *callback_arg;

static gh_object *count_callback(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)ts;
    (void)f;
    callback_runs++;
    callback_arg = args[0];
    return gh_none_new();
}

/* 9. r = weakref.ref(o, cb); r() is o; del o -> r() is None, cb ran once */
FL_TEST(classics, c09_weak_reference_dies_with_its_referent, .timeout = 10)
{
    uint64_t live0 = fx_live();
    callback_runs = 0;
    gh_object *o = gh_instance_new();
    gh_object *cb = gh_function_new("cb", count_callback, 1, NULL, 0);
    gh_object *r = gh_weakref_new(o, cb);
    cr_assert_not_null(r);
    cr_assert_eq(gh_getrefcount(o), 2, "a weak reference does not count");
    cr_assert_eq(gh_weakref_count(o), 1);
    gh_object *got = gh_weakref_get(r);
    cr_assert(got == o, "r() is o");
    gh_decref(got);
    gh_decref(o);
    cr_assert_null(gh_weakref_get(r), "r() is None once o is gone");
    cr_assert_eq(callback_runs, 1, "the callback ran once");
    cr_assert(callback_arg == r, "with the weak reference as its argument");
    gh_decref(r);
    cr_assert_eq(callback_runs, 1);
    cr_assert_null(gh_weakref_new(gh_int_new(5), NULL), "ints cannot be weakly referenced");
    cr_assert_eq(fx_live(), live0);
}

/* 10. def f(x=[]): x.append(1); return x  ->  [1], then [1, 1]
 *     def g(x=None): ...                  ->  [1], then [1]   */
FL_TEST(classics, c10_mutable_default_is_evaluated_once, .timeout = 10)
{
    gh_object *f = gh_make_append_one();
    gh_object *r1 = gh_call(&fx_ts, f, NULL, 0);
    cr_assert_eq(gh_list_len(L(r1)), 1);
    gh_object *r2 = gh_call(&fx_ts, f, NULL, 0);
    cr_assert_eq(gh_list_len(L(r2)), 2, "the same default list, appended to again");
    cr_assert(r1 == r2, "both calls returned the one default object");
    gh_object *g = gh_make_append_one_none();
    gh_object *s1 = gh_call(&fx_ts, g, NULL, 0);
    gh_object *s2 = gh_call(&fx_ts, g, NULL, 0);
    cr_assert_eq(gh_list_len(L(s1)), 1);
    cr_assert_eq(gh_list_len(L(s2)), 1, "a fresh list per call");
    cr_assert(s1 != s2);
    gh_object *mine = gh_list_new();
    gh_object *r3 = gh_call(&fx_ts, f, &mine, 1);
    cr_assert(r3 == mine && gh_list_len(L(mine)) == 1, "a passed argument replaces the default");
    gh_decref(r3);
    gh_decref(mine);
    gh_decref(r1);
    gh_decref(r2);
    gh_decref(s1);
    gh_decref(s2);
    gh_decref(f);
    gh_decref(g);
}

static int del_runs;
static void count_del(gh_object *self, void *arg)
{
    (void)self;
    (void)arg;
    del_runs++;
}

/* 11. class C: def __del__(self): ...;  c = C(); del c  ->  __del__ ran,
 *     before the next statement (reference counting frees at once) */
FL_TEST(classics, c11_freed_at_zero_finalizer_runs_at_once, .timeout = 10)
{
    uint64_t live0 = fx_live();
    del_runs = 0;
    struct gh_class_spec spec = {.name = "C", .del = count_del};
    gh_object *cls = gh_class_new(&spec);
    gh_object *c = gh_instance_new_of(cls);
    uint64_t with_instance = fx_live();
    gh_decref(c);
    cr_assert_eq(del_runs, 1, "__del__ ran inside the decref");
    cr_assert_lt(fx_live(), with_instance, "and the memory is already free");
    gh_decref(cls);
    cr_assert_eq(fx_live(), live0);
}

/* 12. a global cache dict grows without bound; a WeakValueDictionary
 *     forgets entries whose values died */
FL_TEST(classics, c12_leaky_cache_versus_weak_cache, .timeout = 20)
{
    uint64_t live0 = fx_live();
    gh_object *cache = gh_dict_new();
    gh_object *weak = gh_wvdict_new();
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 100; i++) {
            int k = round * 1000 + i;
            /* Two caching functions, each returning a result that the
             * caller uses and then drops. */
            gh_object *v = gh_instance_new();
            gh_dict_set(&fx_ts, (struct gh_dict *)(void *)cache, gh_int_new(k), gh_newref(v));
            gh_decref(v);
            gh_object *w = gh_instance_new();
            gh_wvdict_set(&fx_ts, weak, gh_int_new(k), w);
            gh_decref(w);
        }
        cr_assert_eq(gh_dict_len((struct gh_dict *)(void *)cache), round * 100,
                     "the strong cache keeps every value alive");
        cr_assert_eq(gh_wvdict_len(weak), 0, "the weak cache lost each value as it died");
    }
    gh_object *keep = gh_instance_new();
    gh_wvdict_set(&fx_ts, weak, gh_int_new(1), keep);
    cr_assert_eq(gh_wvdict_len(weak), 1);
    gh_object *k = gh_int_new(1);
    gh_object *got = gh_wvdict_get(&fx_ts, weak, k);
    cr_assert(got == keep, "a live value is found");
    gh_decref(got);
    gh_decref(keep);
    cr_assert_null(gh_wvdict_get(&fx_ts, weak, k), "and forgotten when it dies");
    cr_assert_eq(gh_wvdict_len(weak), 0);
    gh_decref(k);
    gh_decref(weak);
    gh_decref(cache);
    cr_assert_eq(fx_live(), live0);
}

/* 5. x = (1, 2); y = x; x += (3,)  ->  x is a new tuple (1, 2, 3); y, the
 *    old one, is unchanged and still referenced;  a list's += mutates */
FL_TEST(classics, c05_augmented_assignment_on_immutable_and_mutable, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *x = gh_tuple_pack(2, gh_int_new(1), gh_int_new(2));
    gh_object *y = gh_newref(x);
    gh_object *three = gh_tuple_pack(1, gh_int_new(3));
    gh_object *nx = gh_tuple_concat(x, three); /* x += (3,) rebinds x */
    gh_decref(x);
    x = nx;
    cr_assert(x != y, "a new object");
    cr_assert_eq(gh_tuple_len(x), 3);
    cr_assert_eq(gh_tuple_len(y), 2, "the old tuple is unchanged");
    cr_assert_eq(gh_getrefcount(y), 2, "and still referenced by y");
    gh_object *l = list_of(2, 1, 2);
    gh_object *m = gh_newref(l);
    gh_list_append(&fx_ts, L(l), gh_int_new(3)); /* l += [3] mutates in place */
    cr_assert(l == m && gh_list_len(L(m)) == 3, "a list's += is visible through every name");
    gh_decref(three);
    gh_decref(x);
    gh_decref(y);
    gh_decref(l);
    gh_decref(m);
    cr_assert_eq(fx_live(), live0);
}

/* 7. 'a' * 3 is 'aaa' when both are constants (the compiler folds and
 *    interns them); a string built at run time is a new object, interned
 *    only when asked (sys.intern) */
FL_TEST(classics, c07_string_interning, .timeout = 10)
{
    gh_object *folded = gh_str_const("aaa");   /* 'a' * 3, folded */
    gh_object *literal = gh_str_const("aaa");  /* 'aaa' */
    cr_assert(folded == literal, "'a' * 3 is 'aaa'");
    gh_object *a = gh_str_const("a");
    gh_object *built = gh_str_repeat(a, 3);    /* n = 3; 'a' * n */
    cr_assert(built != literal, "a runtime-built string is a new object");
    cr_assert(gh_equal(built, literal), "equal, though");
    cr_assert_not(gh_str_is_interned(built));
    gh_object *interned = gh_str_intern(built); /* sys.intern(s) */
    cr_assert(interned == literal, "interning finds the canonical object");
    gh_decref(interned);
    gh_decref(a);
    gh_decref(folded);
    gh_decref(literal);
}

/* 13. tracemalloc: a burst of allocations is charged to the line that made
 *     it, and a snapshot diff shows the growth there */
FL_TEST(classics, c13_allocation_statistics_name_the_site, .timeout = 20)
{
    gh_trace_start();
    struct gh_trace_snapshot *before = gh_trace_take_snapshot();
    gh_object *keep = gh_list_new();
    GH_TRACE_HERE(); int burst_line = __LINE__;
    for (int i = 0; i < 1000; i++)
        gh_list_append(&fx_ts, L(keep), gh_instance_new());
    gh_trace_set_site("elsewhere.py", 1);
    gh_object *small = gh_list_new();
    struct gh_trace_snapshot *after = gh_trace_take_snapshot();

    struct gh_trace_stat *st;
    size_t n;
    gh_trace_snapshot_stats(after, &st, &n);
    cr_assert_geq(n, 2);
    cr_assert_str_eq(st[0].file, __FILE__, "the biggest site is this file");
    cr_assert_eq(st[0].line, burst_line, "at the line of the burst");
    cr_assert_geq(st[0].count, 1000, "a thousand instances, plus the list's arrays");
    free(st);
    struct gh_trace_statdiff *d;
    gh_trace_snapshot_compare(after, before, &d, &n);
    cr_assert_eq(d[0].line, burst_line);
    cr_assert_geq(d[0].count_diff, 1000);
    char line[256];
    gh_trace_statdiff_format(&d[0], line, sizeof line);
    cr_assert(strstr(line, "count=") && strstr(line, "(+"), "formatted as tracemalloc: %s", line);
    free(d);
    gh_trace_snapshot_free(before);
    gh_trace_snapshot_free(after);
    gh_trace_stop();
    gh_decref(keep);
    gh_decref(small);
}
