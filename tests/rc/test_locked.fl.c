/* test_locked.fl.c - rc=locked (rc/locked.h): count updates under the object's
 * own mutex, against the patterns that deadlock or free a live object
 * under a naive scheme (wait for the count's mutex wherever one is):
 *
 *   - a container that holds itself: an increment inside its own section;
 *   - two containers that hold each other, read by two threads at once:
 *     each holds one's section and increments the other;
 *   - an item whose last reference goes while a reader, its section
 *     suspended, waits to increment it (the pin);
 *   - a mesh of lists, instances and dicts holding each other, hammered by
 *     gets, moves, comparisons and attribute writes from three threads,
 *     the counts checked exactly at the end.
 *
 * Only the rc=locked flavour compiles these. */
/* flavours: objlock:locked */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "fl_fixture.h"

#if !defined(GH_FL_RC_LOCKED)
#error "rc=locked only: see the flavours line"
#endif

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

static void busy(int n)
{
    for (int i = 0; i < n; i++)
        gh_cpu_relax();
}

/* A thread of the model, attached (as a worker is). */
static void thread_begin(struct gh_tstate *ts, int index, const char *name)
{
    gh_tstate_bind(ts, index, name);
    gh_alloc_thread_attach();
    gh_sync_thread_start(ts);
    gh_rc_thread_start(ts);
}

static void thread_end(struct gh_tstate *ts)
{
    gh_rc_thread_stop(ts);
    gh_sync_thread_stop(ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
}

/* ---- one thread ------------------------------------------------------------------ */

FL_TEST(locked, counts_take_the_count_lock, .timeout = 10)
{
    gh_object *o = gh_instance_new();
    uint64_t before = fx_ts.locks[GH_LOCK_rc].acquisitions;
    for (int i = 0; i < 100; i++)
        gh_incref(o);
    cr_assert_eq(gh_refcnt(o), 101);
    for (int i = 0; i < 100; i++)
        gh_decref(o);
    cr_assert_eq(fx_ts.locks[GH_LOCK_rc].acquisitions - before, 200, "one lock per update");
    cr_assert_eq(fx_ts.locks[GH_LOCK_rc].contended, 0);
    before = fx_ts.locks[GH_LOCK_rc].acquisitions;
    gh_incref(&gh_none);
    gh_decref(&gh_none);
    cr_assert_eq(fx_ts.locks[GH_LOCK_rc].acquisitions, before, "immortal: no lock");
    cr_assert_not(gh_oblock_is_locked(gh_ob_lock(o)));
    gh_decref(o);
}

FL_TEST(locked, a_container_that_holds_itself, .timeout = 10)
{
    /* l = [l]; l[0] increments l inside l's own section: its mutex is this
     * thread's already (a naive scheme waits for itself here). */
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    gh_list_append(&fx_ts, L(l), gh_newref(l));
    gh_object *d = gh_dict_new();
    gh_object *k = gh_int_new(7);
    cr_assert_eq(gh_dict_set(&fx_ts, D(d), gh_newref(k), gh_newref(d)), 0);
    for (int i = 0; i < 1000; i++) {
        gh_object *x = gh_list_get(&fx_ts, L(l), 0);
        cr_assert_eq(x, l);
        cr_assert_eq(gh_refcnt(l), 3, "ours, its own, the one just taken");
        gh_decref(x);
        gh_object *y = gh_dict_get(&fx_ts, D(d), k);
        cr_assert_eq(y, d);
        gh_decref(y);
    }
    cr_assert_eq(gh_refcnt(l), 2);
    cr_assert_eq(fx_ts.cs_suspends, 0, "the self case never suspends");
    gh_decref(k);
    /* Cycles: the collector frees them. */
    gh_decref(l);
    gh_decref(d);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(fx_live(), live0);
}

/* ---- two containers holding each other, two readers --------------------------------- */

#define CYCLE_ROUNDS 3000
#define MEET_NS      2000000 /* 2 ms */

struct cycle_arg {
    gh_object *mine;    /* a list holding the other reader's list at 0 */
    gh_object *inst;    /* an instance whose .other is the other's instance */
    gh_object *name;
    int *round_at;      /* [2]: the round each reader's section is in */
    int *round_done;    /* [2]: the last round each reader has left */
    bool *clean;        /* [2][CYCLE_ROUNDS]: it met the other in that round */
    int index;
    uint64_t suspends;
};

/* list.get, both readers inside their sections before either increments:
 * each increments the list whose section the other holds (a naive scheme
 * deadlocks on the first such round). A reader waits for the other at most
 * MEET_NS (a section must not wait unboundedly; the other may be waiting
 * for this reader's list to increment it). A round in which both met
 * without a timeout made each increment wait for the other's section: at
 * least one of them suspended. Then getattr on instances that hold each
 * other, unsynchronised. */
static void *cycle_reader(void *p)
{
    struct cycle_arg *a = p;
    struct gh_tstate ts;
    thread_begin(&ts, a->index + 1, "cycle-reader");
    int me = a->index, other = 1 - a->index;
    /* The references taken are dropped at the end: a decrement between
     * rounds would wait for the other reader's section. */
    gh_object **got = malloc(CYCLE_ROUNDS * sizeof *got);
    cr_assert_not_null(got);
    for (int k = 1; k <= CYCLE_ROUNDS; k++) {
        /* Outside any section: the other has finished round k - 1 (its
         * increment may still be waiting for this reader's list). */
        /* Acquire: pairs with the other reader's release of round_done. */
        while (gh_atomic_load_acquire_int(&a->round_done[other]) < k - 1)
            sched_yield();
        GH_BEGIN_CS(&ts, a->mine)
        /* Seq_cst store, then seq_cst load: each pairs with the other
         * reader's load and store of round_at; with both sides storing
         * before they load, the single order keeps both from missing the
         * other. */
        gh_atomic_store_seqcst_int(&a->round_at[me], k);
        uint64_t t0 = gh_now_ns();
        bool met;
        while (!(met = gh_atomic_load_seqcst_int(&a->round_at[other]) >= k) &&
               gh_now_ns() - t0 < MEET_NS)
            sched_yield();
        a->clean[me * CYCLE_ROUNDS + k - 1] = met;
        got[k - 1] = gh_newref(L(a->mine)->ob_item[0]); /* list.get's increment */
        GH_END_CS(&ts)
        gh_atomic_store_release_int(&a->round_done[me], k); /* pairs with the acquire above */
        gh_object *y = gh_attr_get(&ts, a->inst, a->name);
        cr_assert_not_null(y);
        gh_decref(y);
        gh_sync_checkpoint(&ts);
    }
    a->suspends = ts.cs_suspends;
    for (int k = 0; k < CYCLE_ROUNDS; k++)
        gh_decref(got[k]);
    free(got);
    thread_end(&ts);
    return NULL;
}

FL_TEST(locked, two_containers_holding_each_other, .timeout = 60)
{
    /* Interned: immortal without a GIL, alive until the model's end. */
    gh_object *name = gh_str_intern(gh_str_new("other", 5));
    uint64_t live0 = fx_live();
    gh_object *a = gh_list_new(), *b = gh_list_new();
    gh_list_append(&fx_ts, L(a), gh_newref(b));
    gh_list_append(&fx_ts, L(b), gh_newref(a));
    gh_object *ia = gh_instance_new(), *ib = gh_instance_new();
    gh_attr_set(&fx_ts, ia, name, gh_newref(ib));
    gh_attr_set(&fx_ts, ib, name, gh_newref(ia));
    static int round_at[2], round_done[2];
    static bool clean[2 * CYCLE_ROUNDS];
    round_at[0] = round_at[1] = round_done[0] = round_done[1] = 0;
    struct cycle_arg args[2] = {{a, ia, name, round_at, round_done, clean, 0, 0},
                                {b, ib, name, round_at, round_done, clean, 1, 0}};
    pthread_t t[2];
    gh_sync_block_begin(&fx_ts);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, cycle_reader, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert_eq(gh_refcnt(a), 2, "ours and b's: no increment lost or doubled");
    cr_assert_eq(gh_refcnt(b), 2);
    cr_assert_eq(gh_refcnt(ia), 2);
    cr_assert_eq(gh_refcnt(ib), 2);
    cr_assert_eq(gh_rc_pins(a) + gh_rc_pins(b) + gh_rc_pins(ia) + gh_rc_pins(ib), 0);
    uint64_t both = 0;
    for (int k = 0; k < CYCLE_ROUNDS; k++)
        both += clean[k] && clean[CYCLE_ROUNDS + k];
    cr_log_info("%llu of %d rounds met; suspensions %llu + %llu", (unsigned long long)both,
                CYCLE_ROUNDS, (unsigned long long)args[0].suspends,
                (unsigned long long)args[1].suspends);
    cr_assert_gt(both, CYCLE_ROUNDS * 9 / 10, "the readers met in almost every round (%llu)",
                 (unsigned long long)both);
    cr_assert_geq(args[0].suspends + args[1].suspends, both,
                  "a round where both held their sections suspended at least one");
    gh_decref(a);
    gh_decref(b);
    gh_decref(ia);
    gh_decref(ib);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(fx_live(), live0);
}

/* ---- the pin: an item's last reference goes while its reader waits ------------------- */

struct pin_arg {
    gh_object *list;
    gh_object *got;
    uint64_t suspends;
};

static void *pin_reader(void *p)
{
    struct pin_arg *a = p;
    struct gh_tstate ts;
    thread_begin(&ts, 5, "pin-reader");
    a->got = gh_list_get(&ts, L(a->list), 0); /* waits, its section suspended */
    a->suspends = ts.cs_suspends;
    thread_end(&ts);
    return NULL;
}

FL_TEST(locked, a_pinned_item_outlives_its_last_decref, .timeout = 30)
{
    uint64_t live0 = fx_live();
    gh_object *x = gh_instance_new();
    gh_object *wr = gh_weakref_new(x, NULL);
    gh_object *l = gh_list_new();
    gh_list_append(&fx_ts, L(l), x); /* the list's reference is x's only one */
    struct pin_arg arg = {l, NULL, 0};
    pthread_t t;

    /* This thread holds x's section: the reader's increment of x, inside
     * l's section, cannot take x's mutex. */
    GH_BEGIN_CS(&fx_ts, x)
    cr_assert_eq(pthread_create(&t, NULL, pin_reader, &arg), 0);
    /* The reader pins x, then releases l (its section suspended). */
    while (gh_rc_pins(x) == 0 || gh_oblock_is_locked(gh_ob_lock(l)))
        sched_yield();
    /* l can be changed now. Its reference to x comes to us (a nested
     * section under rc=locked). */
    gh_object *popped = gh_list_pop(&fx_ts, L(l));
    cr_assert_eq(popped, x);
    cr_assert_eq(gh_refcnt(x), 2, "our reference and the pin");
    /* The last counted reference goes; x's mutex is this section's, so the
     * update is made directly. The pin keeps x: not deallocated. */
    gh_decref(popped);
    cr_assert_eq(gh_atomic_load_relaxed_u64(&x->ob_refcnt), 0);
    cr_assert_eq(gh_refcnt(x), 1, "the pin counts");
    cr_assert_eq(x->ob_type->kind, GH_KIND_INSTANCE, "not deallocated");
    /* A conditional increment sees x alive: the pinner's increment is
     * logically done already. */
    cr_assert(gh_try_incref(x));
    cr_assert_eq(gh_atomic_load_relaxed_u64(&x->ob_refcnt), 1);
    gh_decref(x);
    cr_assert_eq(gh_rc_pins(x), 1);
    GH_END_CS(&fx_ts)

    pthread_join(t, NULL);
    cr_assert_eq(arg.got, x, "l[0] as it was when read");
    cr_assert_eq(arg.suspends, 1);
    cr_assert_eq(gh_rc_pins(x), 0);
    cr_assert_eq(gh_refcnt(x), 1, "the reader's reference, alone");
    gh_object *again = gh_weakref_get(wr);
    cr_assert_eq(again, x, "the weak reference was never cleared");
    gh_decref(again);
    gh_decref(arg.got); /* the last one: freed now */
    cr_assert_null(gh_weakref_get(wr));
    gh_decref(wr);
    gh_decref(l);
    cr_assert_eq(fx_live(), live0);
}

/* ---- a mesh of containers holding each other, three threads ---------------------------- */

#define MESH_N     4
#define MESH_ITERS 20000

static gh_object *mesh_lists[MESH_N], *mesh_insts[MESH_N], *mesh_dicts[MESH_N];
static gh_object *mesh_name, *mesh_keys[MESH_N];

struct mesh_arg {
    int index;
    uint64_t suspends;
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every operation that increments inside a section (list.get, dict.get,
 * getattr, list == list), every one that takes two sections (list.move,
 * ==) and setattr, on containers that hold each other; and sections held
 * long. */
static void *mesh_worker(void *p)
{
    struct mesh_arg *a = p;
    struct gh_tstate ts;
    thread_begin(&ts, a->index + 1, "mesh");
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(a->index + 1);
    for (int i = 0; i < MESH_ITERS; i++) {
        uint64_t r = xorshift(&s);
        int x = (int)((r >> 8) % MESH_N), y = (int)((r >> 16) % MESH_N);
        gh_object *got = NULL;
        switch (r % 8) {
        case 0:
        case 1:
            got = gh_list_get(&ts, L(mesh_lists[x]), (int64_t)((r >> 24) % 8));
            break;
        case 2:
            got = gh_dict_get(&ts, D(mesh_dicts[x]), mesh_keys[y]);
            break;
        case 3:
            got = gh_attr_get(&ts, mesh_insts[x], mesh_name);
            break;
        case 4:
            /* Lists of the same length compare item by item (the items are
             * the mesh's own objects: identity settles most, nested lists
             * recurse until the recursion limit gives up). */
            (void)gh_equal(mesh_lists[x], mesh_lists[y]);
            break;
        case 5:
            /* A move there and back: the lists keep their items overall. */
            if (x != y && gh_list_move(&ts, L(mesh_lists[x]), L(mesh_lists[y])))
                while (!gh_list_move(&ts, L(mesh_lists[y]), L(mesh_lists[x])))
                    sched_yield();
            break;
        case 6:
            gh_attr_set(&ts, mesh_insts[x], mesh_name, gh_newref(mesh_lists[y]));
            break;
        case 7: {
            /* A section held across a yield, as by a preempted thread: the
             * others' increments of x inside their sections suspend. */
            gh_object *o = (r >> 24) & 1 ? mesh_lists[x] : mesh_insts[x];
            GH_BEGIN_CS(&ts, o)
            sched_yield();
            GH_END_CS(&ts)
            break;
        }
        }
        if (got)
            gh_decref(got);
        gh_sync_checkpoint(&ts);
    }
    a->suspends = ts.cs_suspends;
    thread_end(&ts);
    return NULL;
}

/* How many references the mesh's containers hold to o. */
static uint64_t mesh_refs_to(gh_object *o)
{
    uint64_t n = 0;
    for (int i = 0; i < MESH_N; i++) {
        struct gh_list *l = L(mesh_lists[i]);
        for (int64_t j = 0; j < l->ob_size; j++)
            n += l->ob_item[j] == o;
        gh_object *v = gh_attr_get(&fx_ts, mesh_insts[i], mesh_name);
        n += v == o;
        if (v)
            gh_decref(v);
        for (int k = 0; k < MESH_N; k++) {
            gh_object *dv = gh_dict_get(&fx_ts, D(mesh_dicts[i]), mesh_keys[k]);
            n += dv == o;
            if (dv)
                gh_decref(dv);
        }
    }
    return n;
}

FL_TEST(locked, a_mesh_of_containers_under_three_threads, .timeout = 120)
{
    mesh_name = gh_str_intern(gh_str_new("peer", 4)); /* immortal */
    uint64_t live0 = fx_live();
    for (int i = 0; i < MESH_N; i++) {
        mesh_lists[i] = gh_list_new();
        mesh_insts[i] = gh_instance_new();
        mesh_dicts[i] = gh_dict_new();
        mesh_keys[i] = gh_int_new(100 + i);
    }
    /* Each list holds every container of the mesh (itself included), each
     * dict maps every key to a list, each instance's .peer is a list. */
    for (int i = 0; i < MESH_N; i++) {
        for (int j = 0; j < MESH_N; j++) {
            gh_list_append(&fx_ts, L(mesh_lists[i]), gh_newref(mesh_lists[j]));
            gh_list_append(&fx_ts, L(mesh_lists[i]), gh_newref(mesh_insts[j]));
            cr_assert_eq(gh_dict_set(&fx_ts, D(mesh_dicts[i]), gh_newref(mesh_keys[j]),
                                            gh_newref(mesh_lists[(i + j) % MESH_N])), 0);
        }
        gh_attr_set(&fx_ts, mesh_insts[i], mesh_name, gh_newref(mesh_dicts[i]));
    }
    struct mesh_arg args[3];
    pthread_t t[3];
    gh_sync_block_begin(&fx_ts);
    for (int i = 0; i < 3; i++) {
        args[i] = (struct mesh_arg){i, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, mesh_worker, &args[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    cr_log_info("suspensions: %llu %llu %llu", (unsigned long long)args[0].suspends,
                (unsigned long long)args[1].suspends, (unsigned long long)args[2].suspends);

    /* Every count is exact: ours plus the mesh's references. */
    for (int i = 0; i < MESH_N; i++) {
        gh_object *objs[3] = {mesh_lists[i], mesh_insts[i], mesh_dicts[i]};
        for (int k = 0; k < 3; k++) {
            uint64_t want = 1 + mesh_refs_to(objs[k]);
            cr_assert_eq(gh_refcnt(objs[k]), want, "container %d/%d: count %llu, %llu refs",
                         i, k, (unsigned long long)gh_refcnt(objs[k]),
                         (unsigned long long)want);
            cr_assert_eq(gh_rc_pins(objs[k]), 0);
            cr_assert_not(gh_oblock_is_locked(gh_ob_lock(objs[k])));
        }
    }
    for (int i = 0; i < MESH_N; i++) {
        gh_decref(mesh_lists[i]);
        gh_decref(mesh_insts[i]);
        gh_decref(mesh_dicts[i]);
        gh_decref(mesh_keys[i]);
    }
    gh_decref(mesh_name);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(fx_live(), live0, "the mesh is one big cycle: the collector frees it");
}

/* ---- the stop-the-world collector while counts wait ------------------------------------ */

struct gc_arg {
    gh_object *a, *b;
    int index;
    int *stop;
};

static void *gc_reader(void *p)
{
    struct gc_arg *g = p;
    struct gh_tstate ts;
    thread_begin(&ts, g->index + 1, "gc-reader");
    while (!gh_atomic_load_relaxed_int(g->stop)) {
        gh_object *x = NULL;
        GH_BEGIN_CS(&ts, g->a)
        busy(20);
        x = gh_newref(L(g->a)->ob_item[0]);
        GH_END_CS(&ts)
        gh_decref(x);
        /* Short-lived cycles for the collector to find. */
        gh_object *c = gh_list_new();
        gh_list_append(&ts, L(c), gh_newref(c));
        gh_list_append(&ts, L(c), gh_newref(g->b));
        gh_decref(c);
        gh_sync_checkpoint(&ts);
    }
    thread_end(&ts);
    return NULL;
}

FL_TEST(locked, collections_while_counts_wait, .timeout = 60)
{
    /* Two readers in the cycle pattern, and this thread stopping the world
     * to collect: a count waiter never detaches, a stopped thread holds no
     * object lock, so neither the stop nor the collector's own count
     * updates wait forever. */
    uint64_t live0 = fx_live();
    gh_object *a = gh_list_new(), *b = gh_list_new();
    gh_list_append(&fx_ts, L(a), gh_newref(b));
    gh_list_append(&fx_ts, L(b), gh_newref(a));
    int stop = 0;
    struct gc_arg args[2] = {{a, b, 0, &stop}, {b, a, 1, &stop}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, gc_reader, &args[i]), 0);
    for (int i = 0; i < 200; i++) {
        gh_gc_collect(&fx_ts, 2);
        gh_sync_checkpoint(&fx_ts);
    }
    gh_atomic_store_relaxed_int(&stop, 1);
    gh_sync_block_begin(&fx_ts);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&fx_ts);
    gh_gc_collect(&fx_ts, 2); /* the readers' last cycles */
    cr_assert_eq(gh_refcnt(a), 2);
    cr_assert_eq(gh_refcnt(b), 2);
    gh_decref(a);
    gh_decref(b);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(fx_live(), live0);
}
