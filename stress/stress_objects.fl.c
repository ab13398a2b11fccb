/* stress_objects.fl.c - the object model's shared structures under real
 * contention, without a GIL (every flavour without one), as a plain
 * executable so that it runs under ThreadSanitizer:
 *
 *   - weak references dereferenced while their referents die and are made
 *     again (conditional increment against the last decref);
 *   - a WeakValueDictionary whose values die in one thread while another
 *     thread sets and gets the same keys (entry removal against re-set);
 *   - every thread interning the same texts (one canonical object each);
 *   - a shared set with overlapping adds and discards.
 *
 * usage: stress_objects [ROUNDS [LOCK]]   LOCK: the per-object lock
 * (lock=, base/oblock.h): pymutex (default), pthread, tatas or ticket.
 * Prints its parameters, then SUCCESS or FAILURE; exit status 0 or 1, 2
 * for a bad argument.
 */
/* Built once per flavour without a GIL (CMakeLists.txt): stress_X__<flavour>. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/containers.h"
#include "gc/gc.h"
#include "stress_runtime.h" // after the flavour's headers: it names the flavour

#define NTHREADS 3

static int rounds = 20000;
static gh_object *slots[8];         /* weakrefs, swapped under slots_lock */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static gh_object *wvd, *shared_set;
static gh_object *canon[4];         /* interned texts, set by main first */
static int failures;

static void fail(const char *what)
{
    gh_atomic_add_relaxed_int(&failures, 1);
    fprintf(stderr, "stress_objects: %s\n", what);
}

static void *worker(void *p)
{
    int id = (int)(intptr_t)p;
    struct gh_tstate ts;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", id);
    gh_tstate_bind(&ts, id, name);
    gh_alloc_thread_attach();
    gh_rc_thread_start(&ts);
    static const char *const texts[4] = {"alpha", "beta", "gamma", "delta"};
    gh_object *mine[8] = {0};

    for (int i = 0; i < rounds; i++) {
        int k = (i * 7 + id) % 8;
        /* Weak references: one thread's objects die while others deref. */
        if (id == 0) {
            gh_object *o = gh_instance_new();
            gh_object *wr = gh_weakref_new(o, NULL);
            pthread_mutex_lock(&slots_lock);
            gh_object *old = slots[k];
            slots[k] = wr;
            pthread_mutex_unlock(&slots_lock);
            if (old)
                gh_decref(old);
            if (mine[k])
                gh_decref(mine[k]); /* the previous referent dies here */
            mine[k] = o;
        } else {
            pthread_mutex_lock(&slots_lock);
            gh_object *wr = slots[k] ? gh_newref(slots[k]) : NULL;
            pthread_mutex_unlock(&slots_lock);
            if (wr) {
                gh_object *o = gh_weakref_get(wr);
                if (o) {
                    if (o->ob_type->kind != GH_KIND_INSTANCE || gh_refcnt(o) == 0)
                        fail("weakref returned a dead object");
                    gh_decref(o);
                }
                gh_decref(wr);
            }
        }
        /* WeakValueDictionary: values die right after being stored. */
        gh_object *key = gh_int_new(1000 + (i % 16));
        gh_object *v = gh_instance_new();
        gh_wvdict_set(&ts, wvd, gh_newref(key), v);
        gh_object *got = gh_wvdict_get(&ts, wvd, key);
        if (got) {
            if (got->ob_type->kind != GH_KIND_INSTANCE)
                fail("wvdict returned a wrong object");
            gh_decref(got);
        }
        gh_decref(v);
        gh_decref(key);
        /* Interning: every thread interns the same texts. */
        const char *t = texts[i % 4];
        gh_object *s = gh_str_intern(gh_str_new(t, strlen(t)));
        /* Acquire: pairs with the main thread's release store of canon. */
        gh_object *c = gh_atomic_load_acquire_tp(&canon[i % 4]);
        if (c && c != s)
            fail("two canonical objects for one interned text");
        gh_decref(s);
        /* A shared set. */
        gh_object *e = gh_int_new(i % 64);
        if (id % 2) {
            if (gh_set_add(&ts, (struct gh_set *)(void *)shared_set, gh_newref(e)) < 0)
                fail("set.add refused an int");
        } else {
            (void)gh_set_discard(&ts, (struct gh_set *)(void *)shared_set, e);
        }
        gh_decref(e);
    }
    for (int k = 0; k < 8; k++)
        if (mine[k])
            gh_decref(mine[k]);
    gh_rc_thread_stop(&ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const kinds[GH_OBLOCK_COUNT] = {"pymutex", "pthread", "tatas", "ticket"};
    int kind = GH_OBLOCK_PYMUTEX;
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*argv[1] == '\0' || *end != '\0' || v < 1 || v > 100000000) {
            fprintf(stderr, "stress_objects: argument 1 (ROUNDS): expected a whole number "
                            "1..100000000, got '%s'\n", argv[1]);
            return 2;
        }
        rounds = (int)v;
    }
    if (argc > 2) {
        for (kind = 0; kind < GH_OBLOCK_COUNT && strcmp(argv[2], kinds[kind]) != 0; kind++)
            ;
        if (kind == GH_OBLOCK_COUNT) {
            fprintf(stderr, "stress_objects: argument 2 (LOCK): expected pymutex, pthread, "
                            "tatas or ticket, got '%s'\n", argv[2]);
            return 2;
        }
    }
    if (argc > 3) {
        fprintf(stderr, "stress_objects: argument 3: unexpected (usage: stress_objects "
                        "[ROUNDS [LOCK]])\n");
        return 2;
    }
    printf("stress_objects: flavour %s, lock %s, %d threads, %d rounds\n", GH_STR(GH_FL_SUFFIX),
           kinds[kind], NTHREADS, rounds);
    struct gh_runtime rt;
    struct gh_tstate ts;
    stress_runtime_init(&rt, &ts, NULL, (enum gh_lock_kind)kind);
    wvd = gh_wvdict_new();
    shared_set = gh_set_new();
    static const char *const texts[4] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++)
        /* Release: pairs with the workers' acquire loads (pthread_create
         * below orders it as well). */
        gh_atomic_store_release_tp(&canon[i],
                                   gh_str_intern(gh_str_new(texts[i], strlen(texts[i]))));
    pthread_t t[NTHREADS];
    for (intptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 3;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 8; k++)
        if (slots[k])
            gh_decref(slots[k]);
    if (gh_wvdict_len(wvd) != 0)
        fail("the WeakValueDictionary kept entries of dead values");
    for (int i = 0; i < 4; i++)
        gh_decref(canon[i]);
    gh_decref(wvd);
    gh_decref(shared_set);
    struct gh_alloc_stats st;
    gh_runtime_fini(&rt, &st);
    if (st.live_bytes != 0)
        fail("bytes still live after everything was dropped");
    printf("%s\n", failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
}
