/* stress_cycles.fl.c - containers that hold each other, read and changed
 * by several threads at once, as a plain executable so that it runs under
 * ThreadSanitizer. The pattern that deadlocks rc=locked done naively (an
 * increment inside a section on L waits for X's mutex while X's section
 * increments L; rc/rc.h): under rc=locked it makes sections suspend, pins
 * items and re-takes locks, so TSan sees those paths race against each
 * other. Every flavour with per-object locks runs it; sync=none (which
 * protects nothing) skips it.
 *
 *   - lists, instances and dicts that hold each other (each list holds
 *     every list and instance, itself included);
 *   - list.get, dict.get, getattr, list ==, list.move there and back,
 *     setattr; sections held across a yield (a preempted holder);
 *   - a list of fresh instances popped and dropped by one thread while the
 *     others read its last item (an item's last reference going while a
 *     reader waits to increment it);
 *   - at the end every count is exact (1 + the references the containers
 *     hold) and, after a collection, nothing is live.
 *
 * usage: stress_cycles [ROUNDS]   (default 30000 per thread). Prints its
 * parameters, then SUCCESS or FAILURE; exit status 0 or 1.
 */
/* Built once per flavour without a GIL (CMakeLists.txt): stress_X__<flavour>. */

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "containers/containers.h"
#include "gc/gc.h"
#include "stress_runtime.h" // after the flavour's headers: it names the flavour

#define NTHREADS 3
#define N        4

static int rounds = 30000;

#if !defined(GH_FL_SYNC_NONE)

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

static gh_object *lists[N], *insts[N], *dicts[N], *keys[N], *name;
static gh_object *fresh; /* a list of new instances, popped by worker 0 */
static int failures;
static uint64_t suspensions; /* rc=locked: sections suspended (sum, relaxed) */

static void fail(const char *what)
{
    gh_atomic_add_relaxed_int(&failures, 1);
    fprintf(stderr, "stress_cycles: %s\n", what);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *p)
{
    int id = (int)(intptr_t)p;
    struct gh_tstate ts;
    char tname[16];
    snprintf(tname, sizeof tname, "cycles-%d", id);
    gh_tstate_bind(&ts, id, tname);
    gh_alloc_thread_attach();
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    for (int i = 0; i < rounds; i++) {
        uint64_t r = xorshift(&s);
        int x = (int)((r >> 8) % N), y = (int)((r >> 16) % N);
        gh_object *got = NULL;
        switch (r % 10) {
        case 0:
        case 1:
            got = gh_list_get(&ts, L(lists[x]), (int64_t)((r >> 24) % 8));
            break;
        case 2:
            got = gh_dict_get(&ts, D(dicts[x]), keys[y]);
            break;
        case 3:
            got = gh_attr_get(&ts, insts[x], name);
            break;
        case 4:
            (void)gh_equal(lists[x], lists[y]);
            break;
        case 5:
            if (x != y && gh_list_move(&ts, L(lists[x]), L(lists[y])))
                while (!gh_list_move(&ts, L(lists[y]), L(lists[x])))
                    sched_yield();
            break;
        case 6:
            gh_attr_set(&ts, insts[x], name, gh_newref(lists[y]));
            break;
        case 7: {
            gh_object *o = (r >> 24) & 1 ? lists[x] : insts[x];
            GH_BEGIN_CS(&ts, o)
            sched_yield();
            GH_END_CS(&ts)
            break;
        }
        default:
            /* The fresh list: worker 0 refills and drops, the others read
             * its last item (and hold its section for a while). */
            if (id == 0) {
                if ((r >> 24) & 1) {
                    gh_list_append(&ts, L(fresh), gh_instance_new());
                } else {
                    gh_object *o = gh_list_pop(&ts, L(fresh));
                    if (o)
                        gh_decref(o);
                }
            } else {
                got = gh_list_get(&ts, L(fresh), -1);
                if (got) {
                    if (got->ob_type->kind != GH_KIND_INSTANCE || gh_refcnt(got) == 0)
                        fail("list.get returned a dead item");
                    GH_BEGIN_CS(&ts, got)
                    sched_yield();
                    GH_END_CS(&ts)
                }
            }
            break;
        }
        if (got)
            gh_decref(got);
        gh_sync_checkpoint(&ts);
    }
    gh_atomic_add_relaxed_u64(&suspensions, ts.cs_suspends);
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

/* The references the containers hold to o (every thread has joined). */
static uint64_t refs_to(struct gh_tstate *ts, gh_object *o)
{
    uint64_t n = 0;
    for (int i = 0; i < N; i++) {
        struct gh_list *l = L(lists[i]);
        for (int64_t j = 0; j < l->ob_size; j++)
            n += l->ob_item[j] == o;
        gh_object *v = gh_attr_get(ts, insts[i], name);
        n += v == o;
        if (v)
            gh_decref(v);
        for (int k = 0; k < N; k++) {
            gh_object *dv = gh_dict_get(ts, D(dicts[i]), keys[k]);
            n += dv == o;
            if (dv)
                gh_decref(dv);
        }
    }
    return n;
}

#endif /* !GH_FL_SYNC_NONE */

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    printf("stress_cycles: flavour %s, %d threads, %d rounds\n", GH_STR(GH_FL_SUFFIX), NTHREADS,
           rounds);
#if defined(GH_FL_SYNC_NONE)
    printf("SKIPPED: sync=none protects nothing\n");
    return 0;
#else
    struct gh_runtime rt;
    struct gh_tstate ts;
    stress_runtime_init(&rt, &ts, "cycles-main", GH_LOCKK_PYMUTEX);
    gh_sync_thread_start(&ts);
    gh_rc_thread_start(&ts);

    name = gh_str_intern(gh_str_new("peer", 4));
    for (int i = 0; i < N; i++) {
        lists[i] = gh_list_new();
        insts[i] = gh_instance_new();
        dicts[i] = gh_dict_new();
        keys[i] = gh_int_new(100 + i);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            gh_list_append(&ts, L(lists[i]), gh_newref(lists[j]));
            gh_list_append(&ts, L(lists[i]), gh_newref(insts[j]));
            if (gh_dict_set(&ts, D(dicts[i]), gh_newref(keys[j]),
                                   gh_newref(lists[(i + j) % N])) != 0)
                fail("dict.set refused an int key");
        }
        gh_attr_set(&ts, insts[i], name, gh_newref(dicts[i]));
    }
    fresh = gh_list_new();

    gh_sync_block_begin(&ts); /* the main thread only waits: detached */
    pthread_t t[NTHREADS];
    for (intptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 3;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    gh_sync_block_end(&ts);
    printf("critical sections suspended for a count: %ju\n",
           (uintmax_t)gh_atomic_load_relaxed_u64(&suspensions));
#if defined(GH_FL_RC_BIASED)
    gh_brc_merge_pending(&ts); /* what the workers queued for this owner */
#endif

    for (int i = 0; i < N; i++) {
        gh_object *objs[3] = {lists[i], insts[i], dicts[i]};
        for (int k = 0; k < 3; k++) {
            uint64_t want = 1 + refs_to(&ts, objs[k]);
            if (gh_refcnt(objs[k]) != want) {
                fprintf(stderr, "stress_cycles: container %d/%d: count %ju, %ju references\n",
                        i, k, (uintmax_t)gh_refcnt(objs[k]), (uintmax_t)want);
                fail("a count is not exact");
            }
        }
    }
    for (int i = 0; i < N; i++) {
        gh_decref(lists[i]);
        gh_decref(insts[i]);
        gh_decref(dicts[i]);
        gh_decref(keys[i]);
    }
    gh_decref(fresh);
    gh_gc_collect(&ts, 2);
    gh_decref(name);
    gh_gc_fini();
    gh_rc_thread_stop(&ts);
    gh_sync_thread_stop(&ts);
    struct gh_alloc_stats st;
    gh_runtime_fini(&rt, &st);
    if (st.live_bytes != 0) {
        fprintf(stderr, "stress_cycles: %ju bytes live\n", (uintmax_t)st.live_bytes);
        fail("bytes still live after everything was dropped");
    }
    printf("%s\n", failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
#endif
}
