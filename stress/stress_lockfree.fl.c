/* stress_lockfree.fl.c - readers against resizing writers on one shared
 * list and one shared dict (every flavour without a GIL; under
 * sync=objlock rc=biased the reads are lock-free, base/qsbr.h), as a plain
 * executable so that it runs under ThreadSanitizer and AddressSanitizer:
 *
 *   - the writer appends fresh ints to the list until it holds 400, then
 *     pops it down to 0 (every growth and shrink step replaces the item
 *     array), and replaces random items (list.set: the old item dies);
 *   - it sets and deletes keys of the dict (a replaced value dies; the
 *     table is rebuilt whenever its entries run out);
 *   - the readers get random indices and keys and check what they got: an
 *     int of the writer's range, alive (a read of freed or reused memory
 *     shows as a wrong kind or value, or as a report of a sanitizer).
 *
 * Every thread attaches (so, under QSBR, is online), reports quiescent
 * states at its switch points, and stops as a model thread does.
 *
 * usage: stress_lockfree [ROUNDS]   Prints its parameters and what it saw,
 * then SUCCESS or FAILURE; exit status 0 or 1.
 */
/* Built once per flavour without a GIL (CMakeLists.txt): stress_X__<flavour>. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "base/qsbr.h"
#include "base/rng.h"
#include "containers/containers.h"
#include "gc/gc.h"
#include "stress_runtime.h" // after the flavour's headers: it names the flavour

#define NREADERS 2
#define NKEYS 64
#define VALUE_BASE 100000 /* above the small ints: every value is allocated */
#define LIST_MAX 400

static int rounds = 200000;
static struct gh_list *shared_list;
static struct gh_dict *shared_dict;
static gh_object *keys[NKEYS];
static int writer_done;
static int failures;
static uint64_t reads_ok[NREADERS];
static struct gh_tstate *thread_states[NREADERS + 1];

static void fail(const char *what, int64_t v)
{
    if (gh_atomic_add_relaxed_int(&failures, 1) < 10)
        fprintf(stderr, "stress_lockfree: %s (%lld)\n", what, (long long)v);
}

static bool valid(gh_object *o, const char *what)
{
    if (o->ob_type->kind != GH_KIND_INT) {
        fail(what, -1);
        return false;
    }
    int64_t v = ((struct gh_int *)(void *)o)->value;
    if (v < VALUE_BASE || v >= VALUE_BASE + 4 * (int64_t)rounds + LIST_MAX) {
        fail(what, v);
        return false;
    }
    if (gh_refcnt(o) == 0) {
        fail("a dead object came back", v);
        return false;
    }
    return true;
}

static void thread_begin(struct gh_tstate *ts, int index, const char *name)
{
    gh_tstate_bind(ts, index, name);
    gh_alloc_thread_attach();
    gh_sync_thread_start(ts);
    gh_rc_thread_start(ts);
}

static void thread_end(struct gh_tstate *ts)
{
    gh_rc_thread_stop(ts); /* flushes the deferred frees (QSBR) */
    gh_sync_thread_stop(ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
}

static void *writer(void *arg)
{
    (void)arg;
    static struct gh_tstate ts;
    thread_begin(&ts, 0, "writer");
    thread_states[0] = &ts;
    struct gh_rng rng;
    gh_rng_seed(&rng, 11, 0);
    int64_t next = VALUE_BASE;
    bool growing = true;
    for (int i = 0; i < rounds; i++) {
        int64_t n = gh_list_len(shared_list);
        if (growing && n >= LIST_MAX)
            growing = false;
        else if (!growing && n == 0)
            growing = true;
        if (growing) {
            gh_list_append(&ts, shared_list, gh_int_new(next++));
        } else {
            gh_object *x = gh_list_pop(&ts, shared_list);
            if (x)
                gh_decref(x);
        }
        if (n > 0 && i % 4 == 0) {
            gh_object *x = gh_int_new(next++);
            gh_object *old = gh_list_set(&ts, shared_list, (int64_t)gh_rng_below(&rng, (uint64_t)n), x);
            if (old)
                gh_decref(old);
            else
                gh_decref(x); /* out of range: not consumed */
        }
        gh_object *k = keys[gh_rng_below(&rng, NKEYS)];
        if (i % 3 == 2) {
            gh_dict_del(&ts, shared_dict, k);
        } else {
            int rc = gh_dict_set(&ts, shared_dict, gh_newref(k), gh_int_new(next++));
            if (rc != 0)
                fail("dict.set refused an int key", rc);
        }
        gh_switch_point(&ts);
    }
    gh_atomic_store_release_int(&writer_done, 1); /* pairs with the readers' acquire */
    thread_end(&ts);
    return NULL;
}

static void *reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct gh_tstate *ts = calloc(1, sizeof *ts);
    char name[16];
    snprintf(name, sizeof name, "reader-%d", id);
    thread_begin(ts, id + 1, name);
    thread_states[id + 1] = ts;
    struct gh_rng rng;
    gh_rng_seed(&rng, 11, (uint64_t)id + 1);
    uint64_t ok = 0;
    /* At least `rounds` reads, and on until the writer is done. */
    /* Acquire: pairs with the writer's release of writer_done. */
    for (int i = 0; i < rounds || !gh_atomic_load_acquire_int(&writer_done); i++) {
        int64_t n = gh_list_len(shared_list);
        gh_object *x = gh_list_get(ts, shared_list, n ? (int64_t)gh_rng_below(&rng, (uint64_t)n) : 0);
        if (x) {
            ok += valid(x, "list.get returned a wrong object");
            gh_decref(x);
        }
        gh_object *v = gh_dict_get(ts, shared_dict, keys[gh_rng_below(&rng, NKEYS)]);
        if (v) {
            ok += valid(v, "dict.get returned a wrong object");
            gh_decref(v);
        }
        gh_switch_point(ts);
    }
    reads_ok[id] = ok;
    thread_end(ts);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    if (rounds <= 0) {
        fprintf(stderr, "stress_lockfree: ROUNDS: expected a positive number, got '%s'\n", argv[1]);
        return 2;
    }
#if defined(GH_FL_LOCKFREE_READS)
    const bool lockfree = true;
#else
    const bool lockfree = false;
#endif
    printf("stress_lockfree: flavour %s, 1 writer, %d readers, %d rounds, reads %s\n",
           GH_STR(GH_FL_SUFFIX), NREADERS, rounds, lockfree ? "lock-free (QSBR)" : "locked");
    struct gh_runtime rt;
    struct gh_tstate ts;
    stress_runtime_init(&rt, &ts, NULL, GH_LOCKK_PYMUTEX);
    shared_list = (struct gh_list *)(void *)gh_list_new();
    shared_dict = (struct gh_dict *)(void *)gh_dict_new();
    for (int i = 0; i < NKEYS; i++)
        keys[i] = gh_int_new(VALUE_BASE - 1000 + i);

    pthread_t w, r[NREADERS];
    if (pthread_create(&w, NULL, writer, NULL) != 0)
        return 3;
    for (intptr_t i = 0; i < NREADERS; i++)
        if (pthread_create(&r[i], NULL, reader, (void *)i) != 0)
            return 3;
    pthread_join(w, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(r[i], NULL);

    uint64_t fb_list = 0, fb_dict = 0, locked_reads = 0, ok = 0;
    for (int i = 1; i <= NREADERS; i++) {
        fb_list += thread_states[i]->lockfree_list_fallbacks;
        fb_dict += thread_states[i]->lockfree_dict_fallbacks;
        locked_reads += thread_states[i]->locks[GH_LOCK_list].acquisitions +
                        thread_states[i]->locks[GH_LOCK_dict].acquisitions;
        ok += reads_ok[i - 1];
        free(thread_states[i]);
    }
    struct gh_qsbr_stats q;
    gh_qsbr_stats_get(&q);
    printf("reads %llu good; readers' lock acquisitions %llu (fallbacks: list %llu, dict %llu); "
           "QSBR: %llu deferrals (shared arrays and tables, big objects, pool releases) in %llu batches\n",
           (unsigned long long)ok, (unsigned long long)locked_reads, (unsigned long long)fb_list,
           (unsigned long long)fb_dict, (unsigned long long)q.deferred, (unsigned long long)q.batches);
    if (ok == 0)
        fail("no read found anything", 0);
    if (lockfree) {
        if (locked_reads != fb_list + fb_dict)
            fail("a lock-free reader took a lock other than its fallbacks", (int64_t)locked_reads);
        if (q.batches == 0)
            fail("no batch went through a grace period", 0);
    }

    gh_decref(&shared_list->ob);
    gh_decref(&shared_dict->ob);
    for (int i = 0; i < NKEYS; i++)
        gh_decref(keys[i]);
    struct gh_alloc_stats st;
    gh_runtime_fini(&rt, &st);
    if (st.live_bytes != 0)
        fail("bytes still live after teardown", (int64_t)st.live_bytes);
    puts(failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
}
