/* stress_gc.fl.c - the cyclic collector without a GIL (every flavour
 * without one, gc=stw) against threads that keep changing the heap, as a plain
 * executable so that it runs under ThreadSanitizer and AddressSanitizer.
 *
 * NTHREADS workers, attached to the world (gh_sync_thread_start), each
 * passing a switch point between two operations, churn:
 *   - append / pop / move on shared lists (one- and two-object critical
 *     sections);
 *   - two-instance cycles, dropped at once: plain ones, ones whose class
 *     has a __del__ that appends to a shared list (del_log), and ones with
 *     a weak reference whose callback appends to del_log too;
 *   - shared dict sets (values: lists holding an instance, or ints);
 *   - a WeakValueDictionary whose values are self-cycles (their entries go
 *     when a collection frees them);
 *   - io-like waits, detached from the world (gh_sync_block_begin/end);
 *   - gc.get_objects() and gc.get_count() (worker 1);
 *   - gc.collect(2) every COLLECT_EVERY operations (worker 0);
 * with thresholds low enough that allocations schedule collections too.
 * Workers finish while worker 0 still collects (a thread leaving the
 * allocator while the world is stopped: gh_alloc_thread_detach).
 *
 * At the end every __del__ ran exactly once per instance of the class, the
 * WeakValueDictionary is empty, gc.garbage is empty, and after
 * gh_model_fini no byte is live.
 *
 * usage: stress_gc [SECONDS]   (default 2.5; wall-clock bounded, so the
 * ~10x slowdown of TSan changes the op count, not the time). Prints its
 * parameters, the collector's statistics, then SUCCESS or FAILURE; exit
 * status 0 or 1.
 */
/* Built once per flavour without a GIL (CMakeLists.txt): stress_X__<flavour>. */

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "containers/containers.h"
#include "gc/gc.h"
#include "stress_runtime.h" // after the flavour's headers: it names the flavour

#define NTHREADS      3
#define NLISTS        4
#define LIST_MAX      200   /* a shared list is popped, not appended to, beyond */
#define WR_MAX        64
#define COLLECT_EVERY 300   /* worker 0's gc.collect(2) */
#define INSPECT_EVERY 1000  /* worker 1's gc.get_objects() */

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

static double seconds = 2.5;
static int stop;                      /* set by main, read relaxed */
static gh_object *shared_lists[NLISTS];
static gh_object *shared_dict, *wvd;
static gh_object *del_log;            /* __del__s and callbacks append here */
static gh_object *wr_list;            /* weak references with callbacks */
static gh_object *cls_del, *cb_func;
static gh_object *attr_other, *attr_self;

/* Counters (relaxed atomics; read after the joins). */
static uint64_t del_created, del_calls, callbacks, manual_collections, ops_total;
static int failures;
static int left; /* workers that have finished */

static void fail(const char *what)
{
    gh_atomic_add_relaxed_int(&failures, 1);
    fprintf(stderr, "stress_gc: %s\n", what);
}

static void del_touch_shared(gh_object *self, void *arg)
{
    (void)self, (void)arg;
    gh_atomic_add_relaxed_u64(&del_calls, 1);
    gh_list_append(gh_tstate_get(), L(del_log), gh_int_new(1000));
}

static gh_object *callback_code(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)f;
    if (args[0]->ob_type->kind != GH_KIND_WEAKREF)
        fail("a callback got something else than its weak reference");
    gh_atomic_add_relaxed_u64(&callbacks, 1);
    gh_list_append(ts, L(del_log), gh_int_new(2000));
    return gh_none_new();
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* a.other = b; b.other = a (both new instances of cls); returns a, with
 * the caller's reference to b dropped. */
static gh_object *make_pair(struct gh_tstate *ts, gh_object *cls)
{
    gh_object *a = gh_instance_new_of(cls);
    gh_object *b = gh_instance_new_of(cls);
    gh_attr_set(ts, a, attr_other, b);          /* steals our b */
    gh_attr_set(ts, b, attr_other, gh_newref(a));
    return a;
}

static void op(struct gh_tstate *ts, int id, uint64_t r)
{
    gh_object *l = shared_lists[(r >> 8) % NLISTS];
    switch (r % 11) {
    case 0: /* append an int or an instance */
        if (gh_list_len(L(l)) < LIST_MAX) {
            gh_object *v = (r >> 16) & 1 ? gh_int_new(100000 + (int64_t)(r % 1000))
                                         : gh_instance_new();
            gh_list_append(ts, L(l), v);
            break;
        }
        /* full: pop instead */
        /* fall through */
    case 1: { /* pop */
        gh_object *v = gh_list_pop(ts, L(l));
        if (v)
            gh_decref(v); /* after the critical section */
        break;
    }
    case 2: /* a plain 2-cycle, dropped */
        gh_decref(make_pair(ts, gh_plain_class()));
        break;
    case 3: { /* a 2-cycle with __del__; sometimes one is kept in a list */
        gh_atomic_add_relaxed_u64(&del_created, 2);
        gh_object *a = make_pair(ts, cls_del);
        if ((r >> 20) % 4 == 0 && gh_list_len(L(l)) < LIST_MAX)
            gh_list_append(ts, L(l), a);
        else
            gh_decref(a);
        break;
    }
    case 4: { /* a 2-cycle with a weak reference (and callback) to it */
        gh_object *a = make_pair(ts, gh_plain_class());
        gh_object *wr = gh_weakref_new(a, gh_newref(cb_func));
        if (!wr)
            fail("instances are weak-referenceable");
        gh_decref(a);
        /* Kept in a ring of WR_MAX slots, replacing a random one. */
        gh_object *old = NULL;
        if (gh_list_len(L(wr_list)) < WR_MAX)
            gh_list_append(ts, L(wr_list), wr);
        else if (!(old = gh_list_set(ts, L(wr_list), (int64_t)((r >> 18) % WR_MAX), wr)))
            gh_decref(wr); /* not consumed (cannot happen: the ring never shrinks) */
        if (old) {
            gh_object *o = gh_weakref_get(old);
            if (o) {
                if (o->ob_type->kind != GH_KIND_INSTANCE || gh_refcnt(o) == 0)
                    fail("a weak reference returned a dead object");
                gh_decref(o);
            }
            gh_decref(old);
        }
        break;
    }
    case 5: { /* shared dict: a list holding an instance, or an int */
        gh_object *v;
        if ((r >> 12) & 1) {
            v = gh_list_new();
            gh_list_append(ts, L(v), gh_instance_new());
        } else {
            v = gh_int_new((int64_t)(r % 5000));
        }
        gh_dict_set(ts, D(shared_dict), gh_int_new((int64_t)((r >> 24) % 64)), v);
        break;
    }
    case 6: /* io: detached from the world while "blocked" */
        gh_sync_block_begin(ts);
        if ((r >> 10) % 8 == 0)
            gh_sleep_ns(20000);
        else
            sched_yield();
        gh_sync_block_end(ts);
        break;
    case 7: { /* WeakValueDictionary: a value only a collection frees */
        gh_object *key = gh_int_new((int64_t)((r >> 14) % 32));
        gh_object *v = gh_instance_new();
        gh_attr_set(ts, v, attr_self, gh_newref(v));
        gh_wvdict_set(ts, wvd, gh_newref(key), v);
        gh_decref(v);
        gh_object *got = gh_wvdict_get(ts, wvd, key);
        if (got) {
            if (got->ob_type->kind != GH_KIND_INSTANCE)
                fail("the WeakValueDictionary returned a wrong object");
            gh_decref(got);
        }
        gh_decref(key);
        break;
    }
    case 8: { /* drain what the finalizers logged */
        gh_object *v = gh_list_pop(ts, L(del_log));
        if (v)
            gh_decref(v);
        break;
    }
    case 9: { /* list.move between two shared lists (two-object section) */
        gh_object *to = shared_lists[(r >> 30) % NLISTS];
        if (to != l && gh_list_len(L(to)) < LIST_MAX)
            gh_list_move(ts, L(l), L(to));
        break;
    }
    case 10:
        if (id == 1 && (r >> 9) % 4 == 0) {
            int64_t c[GH_GC_NGENS];
            gh_gc_get_count(c);
            if (c[1] != 0 || c[2] != 0)
                fail("gc=stw has one generation");
        }
        break;
    }
}

static void *worker(void *p)
{
    int id = (int)(intptr_t)p;
    struct gh_tstate ts;
    char name[16];
    snprintf(name, sizeof name, "gc-worker-%d", id);
    gh_tstate_bind(&ts, id, name);
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    uint64_t n = 0;
    while (!gh_atomic_load_relaxed_int(&stop)) {
        op(&ts, id, rng_next(&rng));
        n++;
        if (id == 0 && n % COLLECT_EVERY == 0) {
            gh_gc_collect(&ts, 2);
            gh_atomic_add_relaxed_u64(&manual_collections, 1);
        }
        if (id == 1 && n % INSPECT_EVERY == 0) {
            gh_object *all = gh_gc_get_objects(&ts, -1);
            if (gh_list_len(L(all)) == 0)
                fail("gc.get_objects() found nothing");
            gh_decref(all);
        }
        gh_switch_point(&ts);
    }
    if (id == 0) {
        /* Collect while the others leave (their heaps change as they
         * detach from the allocator). */
        do {
            gh_gc_collect(&ts, 2);
            gh_atomic_add_relaxed_u64(&manual_collections, 1);
            gh_switch_point(&ts);
        } while (gh_atomic_load_relaxed_int(&left) < NTHREADS - 1);
    }
    gh_atomic_add_relaxed_u64(&ops_total, n);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach(); /* detached from the world, as worker.fl.c does */
    gh_tstate_unbind();
    gh_atomic_add_relaxed_int(&left, 1);
    return NULL;
}

static int64_t stop_events, start_events;
static void count_phases(const char *phase, const struct gh_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    if (strcmp(phase, "start") == 0)
        stop_events++, start_events++; /* "start" opens one */
    else
        stop_events--;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        seconds = atof(argv[1]);
    printf("stress_gc: flavour %s, gc=stw, alloc=thread, %d threads, %.1f s, "
           "thresholds 200/10/10\n",
           GH_STR(GH_FL_SUFFIX), NTHREADS, seconds);
    fflush(stdout);
    struct gh_runtime rt;
    struct gh_tstate ts;
    stress_runtime_init(&rt, &ts, "gc-main", GH_LOCKK_PYMUTEX);
    gh_gc_set_threshold(200, 10, 10);
    if (gh_gc_callback_add(count_phases, NULL) != 0)
        return 3;
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);

    for (int i = 0; i < NLISTS; i++)
        shared_lists[i] = gh_list_new();
    shared_dict = gh_dict_new();
    wvd = gh_wvdict_new();
    del_log = gh_list_new();
    wr_list = gh_list_new();
    struct gh_class_spec spec = {.name = "Finalized", .del = del_touch_shared};
    cls_del = gh_class_new(&spec);
    cb_func = gh_function_new("on_dead", callback_code, 1, NULL, 0);
    attr_other = gh_str_new("other", 5);
    attr_self = gh_str_new("self", 4);

    gh_rc_thread_stop(&ts);

    gh_sync_thread_stop(&ts); /* the main thread only waits: detached */
    pthread_t t[NTHREADS];
    uint64_t t0 = gh_now_ns();
    for (intptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 3;
    gh_sleep_ns((uint64_t)(seconds * 1e9));
    gh_atomic_store_relaxed_int(&stop, 1);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t wall = gh_now_ns() - t0;
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);

    /* Teardown: drop the shared structures, then collect what is left. */
    for (int i = 0; i < NLISTS; i++)
        gh_decref(shared_lists[i]);
    gh_decref(shared_dict);
    gh_decref(wr_list);
    int64_t last = gh_gc_collect(&ts, 2);
    if (gh_wvdict_len(wvd) != 0)
        fail("the WeakValueDictionary kept entries of dead values");
    gh_decref(wvd);
    int64_t garbage = gh_gc_fini();
    if (garbage != 0)
        fail("gc.garbage was not empty (no legacy finalizers here)");
    uint64_t created = gh_atomic_load_relaxed_u64(&del_created);
    uint64_t calls = gh_atomic_load_relaxed_u64(&del_calls);
    if (calls != created) {
        fprintf(stderr, "stress_gc: %ju instances with __del__, %ju calls\n", (uintmax_t)created,
                (uintmax_t)calls);
        fail("every __del__ runs exactly once");
    }
    if (stop_events != 0)
        fail("every gc callback 'start' has its 'stop'");
    gh_decref(del_log);
    gh_decref(cls_del);
    gh_decref(cb_func);
    gh_decref(attr_other);
    gh_decref(attr_self);
    gh_gc_callback_remove(count_phases, NULL);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    struct gh_alloc_stats st;
    gh_runtime_fini(&rt, &st);
    if (st.live_bytes != 0) {
        fprintf(stderr, "stress_gc: %ju bytes live\n", (uintmax_t)st.live_bytes);
        fail("bytes still live after everything was dropped");
    }

    const struct gh_gc_stats *s = &gh_gc_stats;
    uint64_t collections = 0;
    for (int i = 0; i < GH_GC_NGENS; i++)
        collections += s->gen[i].collections;
    uint64_t manual = gh_atomic_load_relaxed_u64(&manual_collections) + 2; /* + last, fini */
    uint64_t automatic = collections - manual;
    printf("ops %ju in %.2f s; collections %ju (automatic %ju, gc.collect %ju), starts %jd\n",
           (uintmax_t)gh_atomic_load_relaxed_u64(&ops_total), (double)wall / 1e9,
           (uintmax_t)collections, (uintmax_t)automatic, (uintmax_t)manual, (intmax_t)start_events);
    printf("examined %ju, unreachable %ju, collected %ju, finalized %ju (by the collector), "
           "__del__ %ju of %ju, resurrected %ju\n",
           (uintmax_t)s->examined, (uintmax_t)s->unreachable, (uintmax_t)s->collected,
           (uintmax_t)s->finalized, (uintmax_t)calls, (uintmax_t)created, (uintmax_t)s->resurrected);
    printf("weakrefs cleared %ju, callbacks by the collector %ju, callbacks in all %ju; "
           "untracked tuples %ju, dicts %ju; last collect found %jd\n",
           (uintmax_t)s->weakrefs_cleared, (uintmax_t)s->weakref_callbacks,
           (uintmax_t)gh_atomic_load_relaxed_u64(&callbacks), (uintmax_t)s->untracked_tuples,
           (uintmax_t)s->untracked_dicts, (intmax_t)last);
    printf("pauses %ju: median %ju ns, p99 %ju ns, max %ju ns; time to safepoint: median %ju ns, "
           "p99 %ju ns, max %ju ns; time in collections %.1f ms\n",
           (uintmax_t)s->pause.count, (uintmax_t)gh_hist_quantile(&s->pause, 0.5),
           (uintmax_t)gh_hist_quantile(&s->pause, 0.99), (uintmax_t)s->pause.max,
           (uintmax_t)gh_hist_quantile(&s->tts, 0.5), (uintmax_t)gh_hist_quantile(&s->tts, 0.99),
           (uintmax_t)s->tts.max, (double)s->collect_ns / 1e6);
    if (automatic == 0)
        fail("no collection was scheduled by allocations");
    if (s->finalized == 0 || s->weakref_callbacks == 0 ||
        gh_atomic_load_relaxed_u64(&callbacks) == 0)
        fail("the collector ran no finalizer or no weakref callback");
    printf("%s\n", failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
}
