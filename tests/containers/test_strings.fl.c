/* test_strings.fl.c - str (interning), bytes, bytearray and float under
 * every strategy flavour (the body is compiled once per flavour).
 *
 * Each test brackets its body with gh_strings_init / gh_strings_fini (the
 * run's life cycle of the interned table) and sets intern_immortal as the
 * runner does: on without a GIL, where mortal interned strings are racy. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fl_fixture.h"

/* What the layout puts in front of every object of these (non-GC) types:
 * nothing in the compact layout, 16 bytes in the full one. */
static size_t pre(void) { return fx_gil() ? 0 : 16; }

static void strings_begin(void)
{
    gh_model.intern_immortal = !fx_gil();
    gh_strings_init();
}

static bool str_is(gh_object *s, const char *text)
{
    return gh_str_len(s) == (int64_t)strlen(text) && memcmp(gh_str_data(s), text, strlen(text)) == 0;
}

FL_TEST(strings, getsizeof_cpython_312, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    /* CPython 3.12, 64-bit, measured: '' 41, 'abc' 44, b'' 33, b'abc' 36,
     * bytearray() 56, bytearray(b'abc') 60, 1.5 24. The free-threaded
     * layout adds its 16 header bytes to each ('' 57, 1.5 40). */
    gh_object *e = gh_str_new("", 0), *abc = gh_str_new("abc", 3);
    gh_object *be = gh_bytes_new("", 0), *babc = gh_bytes_new("abc", 3);
    gh_object *ba0 = gh_bytearray_new(NULL, 0), *ba3 = gh_bytearray_new("abc", 3);
    gh_object *f = gh_float_new(1.5);
    cr_assert_eq(gh_getsizeof(e), 41 + pre());
    cr_assert_eq(gh_getsizeof(abc), 44 + pre());
    cr_assert_eq(gh_getsizeof(be), 33 + pre());
    cr_assert_eq(gh_getsizeof(babc), 36 + pre());
    cr_assert_eq(gh_getsizeof(ba0), 56 + pre());
    cr_assert_eq(gh_getsizeof(ba3), 60 + pre());
    cr_assert_eq(gh_getsizeof(f), 24 + pre());
    if (!fx_gil()) {
        cr_assert_eq(gh_getsizeof(e), 57);
        cr_assert_eq(gh_getsizeof(f), 40);
    }
    cr_assert_not(gh_is_gc(e) || gh_is_gc(be) || gh_is_gc(ba0) || gh_is_gc(f), "not GC types");
    cr_assert_eq(e->ob_type->kind, GH_KIND_STR);
    cr_assert_eq(be->ob_type->kind, GH_KIND_BYTES);
    cr_assert_eq(ba0->ob_type->kind, GH_KIND_BYTEARRAY);
    cr_assert_eq(f->ob_type->kind, GH_KIND_FLOAT);
    /* The object is allocated with exactly the reported size: dropping one
     * returns exactly getsizeof bytes. */
    uint64_t before = fx_live();
    size_t sz = gh_getsizeof(abc);
    gh_decref(abc);
    cr_assert_eq(before - fx_live(), sz);
    gh_object *objs[] = {e, be, babc, ba0, ba3, f};
    for (size_t i = 0; i < GH_ARRAY_LEN(objs); i++)
        gh_decref(objs[i]);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(strings, non_ascii_refused, .timeout = 10)
{
    strings_begin();
    cr_assert_null(gh_str_new("caf\xc3\xa9", 5));
    cr_assert_null(gh_str_const("\xff"));
    gh_strings_fini();
}

FL_TEST(strings, interning_identity, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_object *aaa = gh_str_const("aaa");
    cr_assert(gh_str_is_interned(aaa));
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(aaa)), "a constant is immortal with immortal=on");
    gh_object *a = gh_str_const("a");
    gh_object *built = gh_str_repeat(a, 3);
    cr_assert(str_is(built, "aaa"));
    cr_assert_neq(built, aaa, "a runtime-built string is not the constant");
    cr_assert_not(gh_str_is_interned(built));
    cr_assert(gh_equal(built, aaa), "but equal to it");
    cr_assert_eq(gh_hash(built), gh_hash(aaa));
    gh_object *canon = gh_str_intern(built); /* steals built */
    cr_assert_eq(canon, aaa, "sys.intern finds the constant");
    gh_object *again = gh_str_const("aaa");
    cr_assert_eq(again, aaa, "a second constant is the same object");
    cr_assert_eq(gh_str_interned_count(), 2);
    /* Interning an interned string returns it. */
    cr_assert_eq(gh_str_intern(gh_newref(aaa)), aaa);
    gh_decref(aaa);
    gh_decref(aaa);
    gh_decref(canon);
    gh_decref(again);
    gh_decref(a);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0, "fini freed the immortal interned strings and the table");
}

FL_TEST(strings, intern_immortal_on, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_model.intern_immortal = true; /* the free-threaded build's rule */
    gh_object *s = gh_str_intern(gh_str_new("xyz", 3));
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(s)), "every interned string is immortal");
    cr_assert_eq(gh_str_interned_state(s), GH_SSTATE_INTERNED_IMMORTAL);
    gh_decref(s);
    gh_decref(s);
    cr_assert_eq(gh_str_interned_count(), 1, "an immortal string stays in the table");
    gh_object *t = gh_str_intern(gh_str_new("xyz", 3));
    cr_assert_eq(t, s);
    gh_strings_fini();
    cr_assert_eq(gh_str_interned_count(), 0);
    cr_assert_eq(fx_live(), live0, "fini freed it");
}

FL_TEST(strings, intern_mortal_leaves_table, .timeout = 10)
{
    if (!fx_gil())
        cr_skip_test("mortal interned strings exist only under the GIL");
    uint64_t live0 = fx_live();
    strings_begin();
    gh_model.intern_immortal = false; /* 3.12+ GIL build: sys.intern is mortal */
    gh_object *s = gh_str_new("hello", 5);
    gh_object *h = gh_str_intern(s);
    cr_assert_eq(h, s, "the first of its text becomes canonical");
    cr_assert_eq(gh_str_interned_state(h), GH_SSTATE_INTERNED_MORTAL);
    cr_assert_eq(gh_refcnt(h), 1, "the table's reference is not counted");
    cr_assert_eq(gh_str_interned_count(), 1);
    gh_object *h2 = gh_str_intern(gh_str_new("hello", 5));
    cr_assert_eq(h2, h);
    cr_assert_eq(gh_refcnt(h), 2, "the loser was dropped, the caller holds the canonical one");
    gh_decref(h2);
    uint64_t before = fx_live();
    gh_decref(h);
    cr_assert_eq(gh_str_interned_count(), 0, "its dealloc removed it from the table");
    cr_assert_eq(before - fx_live(), 41 + 5, "and freed it");
    h = gh_str_intern(gh_str_new("hello", 5));
    cr_assert_eq(gh_refcnt(h), 1, "a fresh canonical object, counted once");
    cr_assert_eq(gh_str_interned_count(), 1);

    /* A constant of a text that is interned mortal immortalises that very
     * string (_PyUnicode_InternImmortal). */
    gh_object *c = gh_str_const("hello");
    cr_assert_eq(c, h);
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(h)));
    cr_assert_eq(gh_str_interned_state(h), GH_SSTATE_INTERNED_IMMORTAL);
    gh_decref(c);
    gh_decref(h);

    /* Many mortal strings: the table grows, and shrinks back to empty as
     * they die (backward-shift deletion keeps every probe intact). */
    enum { N = 500 };
    static gh_object *many[N];
    char buf[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        many[i] = gh_str_intern(gh_str_new(buf, (size_t)n));
    }
    cr_assert_eq(gh_str_interned_count(), N + 1);
    for (int i = 0; i < N; i += 2)
        gh_decref(many[i]);
    for (int i = 1; i < N; i += 2) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        gh_object *x = gh_str_intern(gh_str_new(buf, (size_t)n));
        cr_assert_eq(x, many[i], "still found after neighbours were deleted");
        gh_decref(x);
        gh_decref(many[i]);
    }
    cr_assert_eq(gh_str_interned_count(), 1, "only the immortal 'hello' is left");
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(strings, mortal_constants_without_immortality, .timeout = 10)
{
    if (!fx_gil())
        cr_skip_test("mortal interned strings exist only under the GIL");
    uint64_t live0 = fx_live();
    strings_begin();
    gh_model.immortal = false;
    gh_object *c = gh_str_const("k");
    cr_assert_eq(gh_refcnt(c), 1, "immortal=off: a mortal interned constant");
    cr_assert_eq(gh_str_const("k"), c);
    gh_decref(c);
    gh_decref(c);
    cr_assert_eq(gh_str_interned_count(), 0);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(strings, str_is_immutable, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_object *s = gh_str_new("ab", 2), *t = gh_str_new("cd", 2);
    gh_object *old = s;
    /* s += t */
    gh_object *r = gh_str_concat(s, t);
    cr_assert_neq(r, old, "+= on a str makes a new object");
    cr_assert(str_is(old, "ab"), "the old one is unchanged");
    cr_assert(str_is(r, "abcd"));
    cr_assert_eq(gh_str_data(r)[4], '\0', "NUL-terminated");
    cr_assert_not(gh_str_is_interned(r), "runtime strings are not interned");
    gh_object *rep = gh_str_repeat(t, 3);
    cr_assert(str_is(rep, "cdcdcd"));
    gh_object *none = gh_str_repeat(t, 0);
    cr_assert(str_is(none, ""));
    gh_object *objs[] = {s, t, r, rep, none};
    for (size_t i = 0; i < GH_ARRAY_LEN(objs); i++)
        gh_decref(objs[i]);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(strings, bytes_concat_hash_equal, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_object *a = gh_bytes_new("ab\0", 3), *b = gh_bytes_new("cd", 2);
    gh_object *c = gh_bytes_concat(a, b);
    cr_assert_eq(gh_bytes_len(c), 5);
    cr_assert_eq(memcmp(gh_bytes_data(c), "ab\0cd", 6), 0, "contents and the NUL");
    cr_assert_eq(gh_bytes_len(a), 3, "the operands are unchanged");
    gh_object *c2 = gh_bytes_new("ab\0cd", 5);
    cr_assert(gh_equal(c, c2));
    cr_assert_eq(gh_hash(c), gh_hash(c2));
    cr_assert_not(gh_equal(a, b));
    /* hash(b'abc') == hash('abc'), as in CPython; never GH_HASH_UNSET. */
    gh_object *bs = gh_bytes_new("abc", 3), *s = gh_str_new("abc", 3);
    cr_assert_eq(gh_hash(bs), gh_hash(s));
    cr_assert_neq(gh_hash(bs), GH_HASH_UNSET);
    cr_assert_eq(gh_hash(s), gh_hash(s), "cached");
    cr_assert_not(gh_equal(bs, s), "bytes and str are never equal");
    gh_object *objs[] = {a, b, c, c2, bs, s};
    for (size_t i = 0; i < GH_ARRAY_LEN(objs); i++)
        gh_decref(objs[i]);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(strings, bytearray_mutates_in_place, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_object *ba = gh_bytearray_new("ab", 2);
    gh_object *same = ba;
    cr_assert_eq(gh_getsizeof(ba), 59 + pre(), "bytearray(b'ab'): 56 + 3");
    gh_object *cd = gh_bytes_new("cd", 2);
    cr_assert(gh_bytearray_extend(&fx_ts, ba, cd)); /* ba += b'cd' */
    cr_assert_eq(ba, same, "+= on a bytearray mutates it");
    cr_assert_eq(gh_bytearray_len(&fx_ts, ba), 4);
    char buf[32];
    cr_assert_eq(gh_bytearray_read(&fx_ts, ba, buf, sizeof buf), 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0);
    cr_assert_eq(gh_getsizeof(ba), 61 + pre(), "measured on 3.12.1: 61");
    gh_bytearray_append(&fx_ts, ba, 'e');
    cr_assert_eq(gh_getsizeof(ba), 64 + pre(), "measured on 3.12.1: 64");
    cr_assert_eq(gh_bytearray_get(&fx_ts, ba, 0), 'a');
    cr_assert_eq(gh_bytearray_get(&fx_ts, ba, -1), 'e');
    cr_assert_eq(gh_bytearray_get(&fx_ts, ba, 5), -1);
    /* ba += ba */
    cr_assert(gh_bytearray_extend(&fx_ts, ba, ba));
    cr_assert_eq(gh_bytearray_read(&fx_ts, ba, buf, sizeof buf), 10);
    cr_assert_eq(memcmp(buf, "abcdeabcde", 10), 0);
    cr_assert_not(gh_bytearray_extend(&fx_ts, ba, gh_plain_class()),
                  "only bytes-like objects extend");
    gh_object *other = gh_bytearray_new("abcdeabcde", 10);
    cr_assert(gh_equal(ba, other), "equal by content");
    gh_bytearray_append(&fx_ts, other, 0);
    cr_assert_not(gh_equal(ba, other));
    gh_decref(other);
    gh_decref(cd);
    gh_decref(ba);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0, "the buffer was freed with the object");
}

FL_TEST(strings, bytearray_growth_follows_cpython, .timeout = 10)
{
    /* sys.getsizeof(b) - 56 after each b.append(1) from bytearray(), and
     * after each b += b'xyz' (CPython 3.12.1, measured). */
    static const int64_t by_one[] = {2, 5, 5, 5, 8, 8, 8, 12, 12, 12, 12, 19,
                                     19, 19, 19, 19, 19, 19, 27, 27};
    static const int64_t by_three[] = {4, 7, 10, 13, 16, 26, 26, 26, 36, 36};
    strings_begin();
    gh_object *b = gh_bytearray_new(NULL, 0);
    for (size_t i = 0; i < GH_ARRAY_LEN(by_one); i++) {
        gh_bytearray_append(&fx_ts, b, 1);
        cr_assert_eq(gh_getsizeof(b) - pre() - 56, (size_t)by_one[i], "after %zu appends", i + 1);
    }
    gh_decref(b);
    b = gh_bytearray_new(NULL, 0);
    gh_object *xyz = gh_bytes_new("xyz", 3);
    for (size_t i = 0; i < GH_ARRAY_LEN(by_three); i++) {
        gh_bytearray_extend(&fx_ts, b, xyz);
        cr_assert_eq(gh_getsizeof(b) - pre() - 56, (size_t)by_three[i], "after %zu extends", i + 1);
    }
    gh_decref(xyz);
    gh_decref(b);
    gh_strings_fini();
}

FL_TEST(strings, float_hash_equal, .timeout = 10)
{
    uint64_t live0 = fx_live();
    strings_begin();
    gh_object *x = gh_float_new(2.5), *y = gh_float_new(2.5);
    cr_assert_neq(x, y);
    cr_assert_eq(gh_float_value(x), 2.5);
    cr_assert(gh_equal(x, y));
    cr_assert_eq(gh_hash(x), gh_hash(y));
    gh_object *one = gh_float_new(1.0), *i1 = gh_int_new(1);
    cr_assert_eq(gh_hash(one), gh_hash(i1), "hash(1.0) == hash(1)");
    gh_object *pz = gh_float_new(0.0), *nz = gh_float_new(-0.0);
    cr_assert(gh_equal(pz, nz));
    cr_assert_eq(gh_hash(pz), gh_hash(nz));
    gh_object *nan1 = gh_float_new(__builtin_nan("")), *nan2 = gh_float_new(__builtin_nan(""));
    cr_assert(gh_equal(nan1, nan1), "identity first, as containers do");
    cr_assert_not(gh_equal(nan1, nan2), "nan != nan");
    gh_object *inf = gh_float_new(__builtin_inf());
    cr_assert_eq(gh_hash(inf), 314159);
    gh_object *objs[] = {x, y, one, i1, pz, nz, nan1, nan2, inf};
    for (size_t i = 0; i < GH_ARRAY_LEN(objs); i++)
        gh_decref(objs[i]);
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0);
}

/* ---- two threads interning the same texts -------------------------------- */

#define NTEXTS 300
#define ROUNDS 20

struct intern_arg {
    int index;
    gh_object *mine[NTEXTS]; /* one reference per text, kept to the end */
};

static void *intern_worker(void *p)
{
    struct intern_arg *a = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, a->index + 1, "test-intern");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    char buf[16];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NTEXTS; i++) {
            /* The two threads walk the texts in opposite orders. */
            int k = a->index ? NTEXTS - 1 - i : i;
            int n = snprintf(buf, sizeof buf, "text-%d", k);
            gh_object *s = gh_str_intern(gh_str_new(buf, (size_t)n));
            if (!a->mine[k])
                a->mine[k] = s;
            else {
                cr_assert_eq(s, a->mine[k], "one canonical object per text");
                gh_decref(s);
            }
            gh_sync_checkpoint(&ts);
        }
    }
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

FL_TEST(strings, two_threads_intern_the_same_texts, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    uint64_t live0 = fx_live();
    strings_begin();
    static struct intern_arg args[2];
    pthread_t t[2];
    memset(args, 0, sizeof args);
    gh_sync_block_begin(&fx_ts); /* let the workers have the GIL */
    for (int i = 0; i < 2; i++) {
        args[i].index = i;
        cr_assert_eq(pthread_create(&t[i], NULL, intern_worker, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert_eq(gh_str_interned_count(), NTEXTS);
    for (int k = 0; k < NTEXTS; k++) {
        cr_assert_eq(args[0].mine[k], args[1].mine[k], "text %d has one canonical object", k);
        if (fx_gil())
            cr_assert_eq(gh_refcnt(args[0].mine[k]), 2, "mortal: one count per thread");
        else
            cr_assert(gh_refcnt_is_immortal(gh_refcnt(args[0].mine[k])));
    }
    for (int k = 0; k < NTEXTS; k++) {
        gh_decref(args[0].mine[k]);
        gh_decref(args[1].mine[k]);
    }
    cr_assert_eq(gh_str_interned_count(), fx_gil() ? 0 : NTEXTS,
                 "mortal strings left the table; immortal ones wait for fini");
    gh_strings_fini();
    cr_assert_eq(fx_live(), live0, "every string and the table were freed");
}

FL_TEST(strings, intern_lock_is_counted, .timeout = 10)
{
    strings_begin();
    uint64_t n0 = fx_ts.locks[GH_LOCK_intern].acquisitions;
    gh_object *s = gh_str_const("counted");
    gh_decref(s);
    uint64_t n1 = fx_ts.locks[GH_LOCK_intern].acquisitions;
    cr_assert_eq(n1 - n0, fx_gil() ? 0u : 1u, "the table's own lock only without a GIL");
    gh_object *ba = gh_bytearray_new(NULL, 0);
    uint64_t b0 = fx_ts.locks[GH_LOCK_bytearray].acquisitions;
    gh_bytearray_append(&fx_ts, ba, 1);
    cr_assert_eq(gh_bytearray_len(&fx_ts, ba), 1);
    cr_assert_eq(fx_ts.locks[GH_LOCK_bytearray].acquisitions - b0, fx_objlock() ? 2u : 0u,
                 "bytearray operations lock the object under sync=objlock");
    gh_decref(ba);
    gh_strings_fini();
}
