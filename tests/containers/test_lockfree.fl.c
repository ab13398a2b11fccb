/* test_lockfree.fl.c - list.get and dict.get without the container's lock
 * under sync=objlock rc=biased (base/qsbr.h, containers/containers.h), and
 * what the other flavours keep: their reads lock (or the GIL covers them).
 * The body is compiled once per flavour. */
#include <pthread.h>
#include <time.h>

/* The slot re-check: a replacement between the conditional increment and
 * the re-check, as a racing list.set would make (the hook runs in the
 * reader's lock-free path only; see containers.h). */
struct gh_list;
__attribute__((unused)) static void recheck_hook(struct gh_list *l, void *item);
#define GH_LOCKFREE_TEST_HOOK(l, item) recheck_hook((l), (item))
/* And a writer between the reader's read of the slot and its increment. */
__attribute__((unused)) static void read_hook(struct gh_list *l, void *item);
#define GH_LOCKFREE_TEST_HOOK_READ(l, item) read_hook((l), (item))

#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

static bool fx_lockfree(void)
{
#if defined(GH_FL_LOCKFREE_READS)
    return true;
#else
    return false;
#endif
}

/* The fixture sets up as gh_run does (gh_runtime_init): QSBR on for the
 * lock-free flavour, and the test's thread online. */
static void lf_setup(void)
{
    fx_setup();
    cr_assert_eq(fx_ts.qsbr_online, fx_lockfree());
}

static void lf_teardown(void)
{
    fx_teardown();
}

#define LF_TEST(name, ...) \
    Test(GH_FL(lockfree), name, .init = lf_setup, .fini = lf_teardown, ##__VA_ARGS__)

static gh_object *hook_replacement; /* armed when non-NULL */

__attribute__((unused)) static void recheck_hook(struct gh_list *l, void *item)
{
    (void)item;
    gh_object *r = hook_replacement;
    if (!r)
        return;
    hook_replacement = NULL;
    gh_object *old = gh_list_set(&fx_ts, l, 0, r);
    cr_assert_eq(old, item, "the hook runs on the item the reader took");
    gh_decref(old); /* the list's reference; the reader still holds one */
}

static uint64_t lock_count(enum gh_lock_class c) { return fx_ts.locks[c].acquisitions; }

/* The read hook: armed with a mode, it pops the item the reader has just
 * read from the slot, frees it, and (modes REUSE, REUSE_MERGED) allocates
 * a new object of the same type, which the allocator puts in the same
 * block (the block freed last is the first handed out again). */
enum read_hook_mode { HOOK_OFF, HOOK_FREE, HOOK_REUSE, HOOK_REUSE_MERGED };
static enum read_hook_mode read_hook_mode;
static gh_object *read_hook_new;   /* the new object (REUSE modes) */
static void *read_hook_stale;      /* the pointer the reader holds */

__attribute__((unused)) static void read_hook(struct gh_list *l, void *item)
{
    enum read_hook_mode mode = read_hook_mode;
    if (mode == HOOK_OFF)
        return;
    read_hook_mode = HOOK_OFF;
    read_hook_stale = item;
    gh_object *x = gh_list_pop(&fx_ts, l);
    cr_assert_eq(x, item, "the hook pops the item the reader read");
    gh_decref(x); /* the last reference: freed now */
    if (mode == HOOK_FREE)
        return;
    read_hook_new = gh_instance_new();
#if defined(GH_FL_RC_BIASED)
    if (mode == HOOK_REUSE_MERGED)
        (void)gh_brc_explicit_merge(read_hook_new, 0); /* unowned: the shared count's CAS */
#endif
}

LF_TEST(get_takes_no_lock, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    gh_object *d = gh_dict_new();
    for (int i = 0; i < 100; i++) {
        gh_list_append(&fx_ts, L(l), gh_int_new(1000 + i));
        cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_int_new(i), gh_int_new(2000 + i)), 0);
    }
    gh_object *skey = gh_str_new("text", 4);
    cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_newref(skey), gh_int_new(7)), 0);
    uint64_t list0 = lock_count(GH_LOCK_list), dict0 = lock_count(GH_LOCK_dict);
    for (int i = 0; i < 100; i++) {
        gh_object *x = gh_list_get(&fx_ts, L(l), i);
        cr_assert_eq(((struct gh_int *)(void *)x)->value, 1000 + i);
        gh_decref(x);
        gh_object *k = gh_int_new(i);
        gh_object *v = gh_dict_get(&fx_ts, D(d), k);
        cr_assert_not_null(v);
        cr_assert_eq(((struct gh_int *)(void *)v)->value, 2000 + i);
        gh_decref(v);
        gh_decref(k);
    }
    /* An equal key that is another object: compared without the lock. */
    gh_object *skey2 = gh_str_new("text", 4);
    gh_object *v = gh_dict_get(&fx_ts, D(d), skey2);
    cr_assert_not_null(v);
    gh_decref(v);
    gh_object *missing = gh_int_new(100000);
    cr_assert_null(gh_dict_get(&fx_ts, D(d), missing));
    cr_assert_null(gh_list_get(&fx_ts, L(l), 100), "out of range");
    uint64_t list_reads = 101, dict_reads = 102;
    uint64_t dl = lock_count(GH_LOCK_list) - list0, dd = lock_count(GH_LOCK_dict) - dict0;
    if (fx_lockfree()) {
        cr_assert_eq(dl, 0, "list.get took the list's lock %llu times", (unsigned long long)dl);
        cr_assert_eq(dd, 0, "dict.get took the dict's lock %llu times", (unsigned long long)dd);
        cr_assert_eq(fx_ts.lockfree_list_fallbacks + fx_ts.lockfree_dict_fallbacks, 0);
    } else if (fx_objlock()) {
        cr_assert_eq(dl, list_reads, "one critical section per list.get");
        cr_assert_eq(dd, dict_reads, "one critical section per dict.get");
    } else {
        cr_assert_eq(dl + dd, 0, "no object locks under the GIL or sync=none");
    }
    gh_decref(missing);
    gh_decref(skey2);
    gh_decref(skey);
    gh_decref(l);
    gh_decref(d);
    gh_qsbr_flush(&fx_ts); /* the deferred arrays, tables and objects */
    cr_assert_eq(fx_live(), live0, "every deferred free happened");
}

/* CPython's _Py_TryIncref: a count of zero is refused, under every rc. */
LF_TEST(conditional_increment_refuses_a_dead_object, .timeout = 10)
{
    gh_object *o = gh_instance_new();
    cr_assert(gh_try_incref(o), "alive: taken");
    gh_decref(o);
    gh_refcnt_set(o, 0); /* as its last decrement leaves it */
    cr_assert_not(gh_try_incref(o), "count 0: refused");
    cr_assert_eq(gh_refcnt(o), 0, "and not revived");
    gh_refcnt_set(o, 1);
    gh_decref(o);
}

/* The checked mode poisons a freed object with an immortal-looking count
 * (a stray update writes nothing). The lock-free reader's conditional
 * increment must still refuse it: "taking" it writes nothing, and the
 * block, once out of the quarantine, may hold a new item put back in the
 * same slot, which would pass the reader's re-check uncounted (a
 * use-after-free under iterate-while-mutating, ft, 8 threads). */
LF_TEST(conditional_increment_refuses_a_poisoned_object, .timeout = 10)
{
#if defined(GH_FL_RC_BIASED)
    gh_model.checked = true;
    gh_object *o = gh_instance_new();
    gh_decref(o); /* poisoned, quarantined: the memory stays readable */
    cr_assert(gh_is_freed(o));
    cr_assert_not(gh_brc_try_incref(o), "a poisoned object is refused");
    if (gh_refcnt_is_immortal(gh_refcnt(&gh_none)))
        cr_assert(gh_brc_try_incref(&gh_none), "a truly immortal one is taken (nothing written)");
    /* The reader may have loaded the local count before the poisoner
     * stored it (0: dead, not immortal), then the shared field after (the
     * poison): the shared path must refuse it too, or its CAS adds a
     * reference to a freed object that a stale item array's re-check then
     * lets through (the CI failure: a poisoned int with +1 shared). */
    uint32_t saved = gh_prefix(o)->ob_ref_local;
    gh_prefix(o)->ob_ref_local = 0;
    uint64_t poison = o->ob_refcnt;
    cr_assert_not(gh_brc_try_incref(o), "a poisoned shared count is refused");
    cr_assert_eq(o->ob_refcnt, poison, "and not incremented");
    gh_prefix(o)->ob_ref_local = saved;
    gh_quarantine_flush();
    gh_model.checked = false;
#else
    cr_skip_test("the conditional increment's poison rule is rc=biased's");
#endif
}

struct other_arg {
    gh_object *list, *item;
    bool first, second;
    uint64_t fallbacks;
};

static void *read_twice_from_another_thread(void *p)
{
    struct other_arg *a = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "reader");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
#if defined(GH_FL_RC_BIASED)
    /* Not the owner, and only the owner has counted it: the shared count
     * reads 0, which the conditional increment must refuse. */
    a->first = gh_try_incref(a->item);
    if (a->first)
        gh_decref(a->item);
#endif
    gh_object *x = gh_list_get(&ts, L(a->list), 0);
    a->second = x == a->item;
    if (x)
        gh_decref(x);
    x = gh_list_get(&ts, L(a->list), 0);
    a->second = a->second && x == a->item;
    if (x)
        gh_decref(x);
    a->fallbacks = ts.lockfree_list_fallbacks;
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* rc=biased: another thread's item whose shared count is 0 cannot be taken
 * lock-free (its owner may free it without a merge at any moment): the
 * first read falls back to the lock and announces the item shared, so the
 * second read is lock-free. */
LF_TEST(refused_item_falls_back_then_reads_lock_free, .timeout = 10)
{
    FX_REQUIRE_THREAD_SAFETY();
    gh_object *l = gh_list_new();
    gh_object *item = gh_instance_new();
    gh_list_append(&fx_ts, L(l), gh_newref(item));
    struct other_arg a = {l, item, true, false, 0};
    pthread_t t;
    gh_sync_block_begin(&fx_ts);
    cr_assert_eq(pthread_create(&t, NULL, read_twice_from_another_thread, &a), 0);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert(a.second, "both reads returned the item");
#if defined(GH_FL_RC_BIASED)
    cr_assert_not(a.first, "a non-owner's conditional increment refuses shared count 0");
#endif
    if (fx_lockfree())
        cr_assert_eq(a.fallbacks, 1, "one fallback, then lock-free (got %llu)",
                     (unsigned long long)a.fallbacks);
    else
        cr_assert_eq(a.fallbacks, 0);
    gh_decref(item);
    gh_decref(l);
}

/* The re-check: the slot changed between the increment and the re-check
 * (the hook replaces item 0): the reader lets its item go and the locked
 * path returns what the list holds now. */
LF_TEST(slot_recheck_sees_a_replace, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("reads lock: nothing can change between the read and the increment");
    gh_object *l = gh_list_new();
    gh_object *first = gh_instance_new();
    gh_object *second = gh_instance_new();
    gh_list_append(&fx_ts, L(l), gh_newref(first));
    uint64_t count_before = gh_refcnt(first);
    hook_replacement = gh_newref(second);
    uint64_t locks0 = lock_count(GH_LOCK_list);
    gh_object *x = gh_list_get(&fx_ts, L(l), 0);
    cr_assert_null(hook_replacement, "the hook ran");
    cr_assert_eq(x, second, "the replacement, read under the lock");
    cr_assert_eq(fx_ts.lockfree_list_fallbacks, 1);
    /* The hook's list.set locked once, the fallback once. */
    cr_assert_eq(lock_count(GH_LOCK_list) - locks0, 2);
    cr_assert_eq(gh_refcnt(first), count_before - 1,
                 "the reader's increment of the replaced item was undone");
    gh_decref(x);
    gh_decref(first);
    gh_decref(second);
    gh_decref(l);
}

/* A list of 8 instances (no resize when the last is popped). */
static gh_object *list_of_instances(void)
{
    gh_object *l = gh_list_new();
    for (int i = 0; i < 8; i++)
        gh_list_append(&fx_ts, L(l), gh_instance_new());
    return l;
}

/* The item a lock-free reader read is popped and freed before its
 * conditional increment, and never reused: the dead count (local 0, shared
 * 0) is refused and left as it was; the locked path finds the list
 * shorter. */
LF_TEST(a_freed_item_is_refused, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("reads lock: nothing is freed between the read and the increment");
    gh_object *l = list_of_instances();
    read_hook_mode = HOOK_FREE;
    gh_object *x = gh_list_get(&fx_ts, L(l), 7);
    cr_assert_eq(read_hook_mode, HOOK_OFF, "the hook ran");
    cr_assert_null(x, "index 7 is gone");
    cr_assert_eq(fx_ts.lockfree_list_fallbacks, 1, "refused, then the locked path");
    gh_object *stale = read_hook_stale;
    cr_assert_eq(gh_atomic_load_relaxed_u32(&gh_prefix(stale)->ob_ref_local), 0,
                 "the dead local count is untouched");
    cr_assert_eq(gh_atomic_load_relaxed_u64(&stale->ob_refcnt), 0, "and so is the shared one");
    gh_decref(l);
}

/* The item is popped and freed, and a new instance made in its block,
 * before the reader's increment: the increment counts the new object (it
 * is alive), and the re-check of the slot, which the pop cleared, lets it
 * go. The reader returns nothing it did not find in the list; the new
 * object's count is as its owner left it. Once with the new object owned
 * by the reader's thread (the local count), once merged (the shared
 * count's CAS). */
static void recycled_block_case(enum read_hook_mode mode)
{
    gh_object *l = list_of_instances();
    uint64_t fallbacks0 = fx_ts.lockfree_list_fallbacks;
    read_hook_mode = mode;
    gh_object *x = gh_list_get(&fx_ts, L(l), 7);
    cr_assert_eq(read_hook_mode, HOOK_OFF, "the hook ran");
    gh_object *y = read_hook_new;
    cr_assert_eq((void *)y, read_hook_stale,
                 "the new object is in the freed item's block (else the test shows nothing)");
    cr_assert_null(x, "the new object was never in the list: refused (got %p)", (void *)x);
    cr_assert_eq(fx_ts.lockfree_list_fallbacks - fallbacks0, 1);
    cr_assert_eq(gh_refcnt(y), 1, "the new object's count is unchanged");
#if defined(GH_FL_RC_BIASED)
    if (mode == HOOK_REUSE_MERGED)
        cr_assert_eq(gh_atomic_load_relaxed_u64(&y->ob_refcnt),
                     (UINT64_C(1) << GH_REF_SHARED_SHIFT) | GH_REF_MERGED,
                     "merged, one reference: the reader's CAS was undone");
    else
        cr_assert_eq(gh_atomic_load_relaxed_u32(&gh_prefix(y)->ob_ref_local), 1);
#endif
    gh_decref(y);
    gh_decref(l);
}

LF_TEST(a_recycled_block_is_refused_by_the_recheck, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("reads lock: nothing is freed between the read and the increment");
    recycled_block_case(HOOK_REUSE);
}

LF_TEST(a_recycled_merged_block_is_refused_by_the_recheck, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("reads lock: nothing is freed between the read and the increment");
    recycled_block_case(HOOK_REUSE_MERGED);
}

/* What waits for a grace period (base/qsbr.h): objects in type-stable
 * pools are freed at once; a list's dropped arrays only once the list is
 * shared (read under its lock, here by its owner's fallback, as CPython's
 * list_item_impl marks it). */
LF_TEST(only_a_shared_lists_arrays_wait, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("no QSBR");
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    uint64_t empty_list = fx_live() - live0;
    for (int i = 0; i < 100; i++) /* resizes: arrays dropped */
        gh_list_append(&fx_ts, L(l), gh_instance_new());
    for (int i = 0; i < 100; i++) { /* shrinks, and the instances die */
        gh_object *x = gh_list_pop(&fx_ts, L(l));
        gh_decref(x);
    }
    cr_assert_not(gh_ob_is_shared(l), "only the owner used it");
    cr_assert_eq(fx_live() - live0, empty_list, "arrays and instances freed at once");
    gh_object *none = gh_list_get_locked(&fx_ts, L(l), 0);
    cr_assert_null(none);
    cr_assert(gh_ob_is_shared(l), "a read under the lock marks it shared");
    for (int i = 0; i < 100; i++)
        gh_list_append(&fx_ts, L(l), gh_instance_new());
    for (int i = 0; i < 100; i++) {
        gh_object *x = gh_list_pop(&fx_ts, L(l));
        gh_decref(x);
    }
    cr_assert_gt(fx_live() - live0, empty_list, "a shared list's dropped arrays wait");
    gh_qsbr_flush(&fx_ts);
    cr_assert_eq(fx_live() - live0, empty_list, "until a grace period has passed");
    gh_decref(l);
}

/* A resize that keeps the capacity: a pop from 2 to 1 on a list of 4
 * slots (1 < 4/2, so CPython's list_resize does not return early; the new
 * capacity is 4 again). The GIL build reallocates within the block's size
 * class, which moves nothing; 3.13t never reallocates an array in place
 * (lock-free readers may hold it): it allocates a new one, copies, and
 * frees the old one (after a grace period if the list is shared). The bug:
 * the model skipped the resize in every flavour, so a list shared by two
 * threads, which hovers at 1-2 items, cost less under ft than in 3.13t. */
LF_TEST(a_same_capacity_resize_moves_the_array_when_readers_are_lock_free, .timeout = 10)
{
    gh_object *l = gh_list_new();
    gh_list_append(&fx_ts, L(l), gh_instance_new());
    gh_list_append(&fx_ts, L(l), gh_instance_new());
    cr_assert_eq(L(l)->allocated, 4);
    gh_object **before = L(l)->ob_item;
    gh_object *first = before[0];
    gh_decref(gh_list_pop(&fx_ts, L(l)));
    cr_assert_eq(L(l)->allocated, 4);
    cr_assert_eq(L(l)->ob_item[0], first, "the kept item is in the array");
    if (fx_lockfree())
        cr_assert_neq(L(l)->ob_item, before, "3.13t: a new array of the same capacity");
    else
        cr_assert_eq(L(l)->ob_item, before, "the GIL build: realloc within the size class");
    gh_decref(l);
}

static void *dict_get_from_another_thread(void *p)
{
    gh_object *d = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "reader");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    gh_object *k = gh_int_new(3);
    gh_object *v = gh_dict_get(&ts, D(d), k);
    if (v)
        gh_decref(v);
    gh_decref(k);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* The same for a dict's tables, marked shared by another thread's first
 * read (CPython's ensure_shared_on_read). */
LF_TEST(only_a_shared_dicts_tables_wait, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("no QSBR");
    uint64_t live0 = fx_live();
    gh_object *d = gh_dict_new();
    uint64_t empty_dict = fx_live() - live0;
    for (int i = 0; i < 100; i++) /* resizes: tables dropped */
        cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_int_new(i), gh_int_new(i)), 0);
    uint64_t full = fx_live() - live0;
    cr_assert_not(gh_ob_is_shared(d));
    cr_assert_gt(full, empty_dict);
    gh_qsbr_flush(&fx_ts);
    cr_assert_eq(fx_live() - live0, full, "not shared: the dropped tables were freed at once");
    pthread_t t;
    gh_sync_block_begin(&fx_ts);
    cr_assert_eq(pthread_create(&t, NULL, dict_get_from_another_thread, d), 0);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert(gh_ob_is_shared(d), "another thread's first read marks it shared");
    for (int i = 100; i < 400; i++)
        cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_int_new(i), gh_int_new(i)), 0);
    uint64_t grown = fx_live() - live0;
    gh_qsbr_flush(&fx_ts);
    cr_assert_lt(fx_live() - live0, grown, "a shared dict's dropped tables waited");
    gh_decref(d);
    gh_qsbr_flush(&fx_ts);
    cr_assert_eq(fx_live(), live0);
}

/* A pool that empties under QSBR stays a pool of its size class until a
 * grace period has passed since it last emptied (alloc/alloc.h
 * gh_alloc_type_stable, alloc/heap.c): the same class reuses its block at
 * once, another class cannot have it; after the grace period it goes back
 * to its arena and another class may. The largest small classes, so the
 * test's pools hold nothing else. */
#define POOL_OF(p) ((uintptr_t)(p) & ~(uintptr_t)(GH_ALLOC_POOL_SIZE - 1))
LF_TEST(an_emptied_pool_is_held_for_its_size_class, .timeout = 10)
{
    if (!fx_lockfree())
        cr_skip_test("no QSBR");
    const size_t big = GH_ALLOC_SMALL_MAX, big2 = big - GH_ALLOC_ALIGN;
    void *a = gh_alloc(big);
    gh_free(a, big); /* a's pool is empty now: held */
    void *b = gh_alloc(big2);
    cr_assert_neq(POOL_OF(b), POOL_OF(a), "another size class got the held pool");
    void *again = gh_alloc(big);
    cr_assert_eq(again, a, "the same class reuses the block at once");
    gh_free(again, big); /* a's pool empties again, after its deferral */
    gh_free(b, big2);    /* b's pool is held too */
    void *c = gh_alloc(big - 2 * GH_ALLOC_ALIGN);
    cr_assert(POOL_OF(c) != POOL_OF(a) && POOL_OF(c) != POOL_OF(b), "held pools are not handed out");
    /* The grace periods (a's pool, emptied again after its release was
     * deferred, waits for a second one: the flush runs until nothing is
     * deferred): both pools go back to their arena. */
    gh_qsbr_flush(&fx_ts);
    void *d = gh_alloc(big - 3 * GH_ALLOC_ALIGN);
    void *e = gh_alloc(big - 4 * GH_ALLOC_ALIGN);
    bool both = (POOL_OF(d) == POOL_OF(a) && POOL_OF(e) == POOL_OF(b)) ||
                (POOL_OF(d) == POOL_OF(b) && POOL_OF(e) == POOL_OF(a));
    cr_assert(both, "after the grace periods the pools serve other classes");
    gh_free(c, big - 2 * GH_ALLOC_ALIGN);
    gh_free(d, big - 3 * GH_ALLOC_ALIGN);
    gh_free(e, big - 4 * GH_ALLOC_ALIGN);
}

/* A resize while a reader holds the old array: the array waits for the
 * reader's quiescent state. The resizer flushes (waits for the grace
 * period); the reader holds out 100 ms before its next switch point, and
 * the flush must not end before that. */
struct grace {
    gh_object *list;
    int stage;           /* 1: reader has the array; 2: resized; 3: flushed */
    gh_object **old_items;
    int64_t first_value; /* read from the old array after the resize */
    bool flushed_early;
    uint64_t flush_ns;
};

/* Acquire pairs with stage_set's release: what a thread did before it
 * moved the stage is visible to the one that sees the new stage. */
static int stage_get(struct grace *g) { return gh_atomic_load_acquire_int(&g->stage); }
static void stage_set(struct grace *g, int s) { gh_atomic_store_release_int(&g->stage, s); }

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *grace_reader(void *p)
{
    struct grace *g = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 1, "reader");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    /* A first read: not the owner, so under the lock, which marks the list
     * shared (only then do its dropped arrays wait for readers). */
    gh_object *first = gh_list_get(&ts, L(g->list), 0);
    cr_assert_not_null(first);
    gh_decref(first);
    /* As a lock-free list.get between its load of the array and its use.
     * Acquire: pairs with the release store of ob_item in
     * gh_list_resize_slow (the main thread's appends). */
    g->old_items = gh_atomic_load_acquire_tp(&L(g->list)->ob_item);
    stage_set(g, 1);
    while (stage_get(g) < 2)
        sched_yield();
    struct timespec ms100 = {0, 100000000};
    nanosleep(&ms100, NULL);
    /* Acquire: pairs with the release store of the item in
     * gh_list_append_lock_held. */
    gh_object *x = gh_atomic_load_acquire_tp(&g->old_items[0]);
    g->first_value = ((struct gh_int *)(void *)x)->value;
    g->flushed_early = stage_get(g) == 3;
    gh_switch_point(&ts); /* ... quiescent states from here on */
    for (int i = 0; i < 2 * (int)GH_QSBR_PERIOD; i++)
        gh_switch_point(&ts);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts); /* offline */
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

LF_TEST(resize_waits_for_a_reader_grace_period, .timeout = 20)
{
    if (!fx_lockfree())
        cr_skip_test("no lock-free reader to wait for");
    gh_object *l = gh_list_new();
    for (int i = 0; i < 8; i++)
        gh_list_append(&fx_ts, L(l), gh_int_new(5000 + i));
    struct grace g = {.list = l};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, grace_reader, &g), 0);
    while (stage_get(&g) < 1)
        sched_yield();
    gh_object **before = L(l)->ob_item;
    cr_assert_eq(g.old_items, before);
    for (int i = 8; i < 200; i++) /* several resizes: the array is replaced */
        gh_list_append(&fx_ts, L(l), gh_int_new(5000 + i));
    cr_assert_neq(L(l)->ob_item, before, "the array was replaced");
    stage_set(&g, 2);
    uint64_t t0 = now_ns();
    gh_qsbr_flush(&fx_ts); /* detaches meanwhile: the reader may run */
    g.flush_ns = now_ns() - t0;
    stage_set(&g, 3);
    gh_sync_block_begin(&fx_ts);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert_not(g.flushed_early, "the old array was released before the reader's quiescent state");
    cr_assert_eq(g.first_value, 5000, "the old array still held its items");
    cr_assert_geq(g.flush_ns, 50000000u, "the flush waited for the reader (%llu ns)",
                  (unsigned long long)g.flush_ns);
    gh_decref(l);
}

/* Readers against a resizing writer, checking every item they get. */
struct churn {
    gh_object *list, *dict;
    int done;
    int bad;
    uint64_t good;
};

static void *churn_reader(void *p)
{
    struct churn *c = p;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, 2, "reader");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    uint64_t good = 0;
    /* Acquire: pairs with the release store of done after the churn. */
    for (uint64_t i = 0; !gh_atomic_load_acquire_int(&c->done); i++) {
        int64_t n = gh_list_len(L(c->list));
        gh_object *x = gh_list_get(&ts, L(c->list), n ? (int64_t)(i % (uint64_t)n) : 0);
        if (x) {
            int64_t v = ((struct gh_int *)(void *)x)->value;
            if (x->ob_type->kind != GH_KIND_INT || v < 10000 || v >= 10000000)
                gh_atomic_add_relaxed_int(&c->bad, 1);
            else
                good++;
            gh_decref(x);
        }
        gh_object *k = gh_int_new((int64_t)(i % 32));
        gh_object *v = gh_dict_get(&ts, D(c->dict), k);
        gh_decref(k);
        if (v) {
            if (v->ob_type->kind != GH_KIND_INT || ((struct gh_int *)(void *)v)->value < 10000)
                gh_atomic_add_relaxed_int(&c->bad, 1);
            else
                good++;
            gh_decref(v);
        }
        gh_switch_point(&ts);
    }
    c->good = good;
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

LF_TEST(reads_during_resizes_see_live_items, .timeout = 60)
{
    FX_REQUIRE_THREAD_SAFETY();
    uint64_t live0 = fx_live();
    struct churn c = {.list = gh_list_new(), .dict = gh_dict_new()};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, churn_reader, &c), 0);
    int64_t next = 10000;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 300; i++) {
            gh_list_append(&fx_ts, L(c.list), gh_int_new(next++));
            cr_assert_eq(gh_dict_set(&fx_ts, D(c.dict), gh_int_new(i % 32), gh_int_new(next++)), 0);
            gh_switch_point(&fx_ts);
        }
        for (int i = 0; i < 300; i++) {
            gh_object *x = gh_list_pop(&fx_ts, L(c.list));
            if (x)
                gh_decref(x);
            gh_object *k = gh_int_new(i % 32);
            (void)gh_dict_del(&fx_ts, D(c.dict), k);
            gh_decref(k);
            gh_switch_point(&fx_ts);
        }
    }
    gh_atomic_store_release_int(&c.done, 1); /* pairs with the readers' acquire */
    gh_sync_block_begin(&fx_ts);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert_eq(c.bad, 0, "a reader got a dead or foreign object");
    gh_decref(c.list);
    gh_decref(c.dict);
    gh_qsbr_flush(&fx_ts);
    cr_assert_eq(fx_live(), live0, "every deferred free happened");
}
