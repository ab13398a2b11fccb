/* stress_trace.c - allocation tracing (src/alloc/trace.h) switched on and
 * off, cleared and snapshotted while threads allocate and free, under every
 * allocator kind. A plain executable (not Criterion) so that it runs under
 * ThreadSanitizer, which is where it earns its keep: the fast path's
 * relaxed flag against start/stop/clear freeing the table.
 *
 * Checks, in every snapshot: the sites' sums equal the snapshot's totals; a
 * worker's sites never hold more blocks than it has live (a forget that
 * missed would make them grow); the sizes match the sizes the worker uses
 * at that site. At the end: after a last start, with the workers having
 * freed everything, nothing is traced.
 *
 * usage: stress_trace [THREADS] [ROUNDS]
 * Prints its parameters first and SUCCESS or FAILURE last.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"  // gh_alloc, gh_free
#include "alloc/trace.h"  // what is stressed
#include "base/atomic.h"  // the stop flag
#include "base/rng.h"     // gh_rng: each worker's sizes and frees
#include "base/tstate.h"  // gh_tstate_bind

enum { MAX_THREADS = 16, LIVE = 64, SITES = 4 };

struct kind {
    enum gh_alloc_kind kind;
    bool locked;
    const char *name;
};

static const struct kind kinds[] = {
    {GH_ALLOC_ARENA, false, "arena"}, /* the workers share a GIL mutex */
    {GH_ALLOC_ARENA, true, "arena-locked"},
    {GH_ALLOC_THREAD, false, "thread"},
    {GH_ALLOC_MALLOC, false, "malloc"},
};

static const char *const site_file[MAX_THREADS] = {
    "w0.yaml", "w1.yaml", "w2.yaml",  "w3.yaml",  "w4.yaml",  "w5.yaml",  "w6.yaml",  "w7.yaml",
    "w8.yaml", "w9.yaml", "w10.yaml", "w11.yaml", "w12.yaml", "w13.yaml", "w14.yaml", "w15.yaml"};

static const struct kind *cur;
static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
static uint32_t stop_flag;

/* Site `line` of worker w allocates sizes in [lo(line), lo(line) + 63]:
 * the ranges do not overlap, so a snapshot can check them. */
static size_t site_lo(int line) { return (size_t)line * 200 + 1; }

static void *w_alloc(size_t n)
{
    bool g = cur->kind == GH_ALLOC_ARENA && !cur->locked;
    if (g)
        pthread_mutex_lock(&gil);
    void *p = gh_alloc(n);
    if (g)
        pthread_mutex_unlock(&gil);
    return p;
}

static void w_free(void *p, size_t n)
{
    bool g = cur->kind == GH_ALLOC_ARENA && !cur->locked;
    if (g)
        pthread_mutex_lock(&gil);
    gh_free(p, n);
    if (g)
        pthread_mutex_unlock(&gil);
}

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, w, "stress-trace");
    gh_alloc_thread_attach();
    struct gh_rng rng;
    gh_rng_seed(&rng, 7, (uint64_t)w);
    void *p[LIVE] = {0};
    size_t len[LIVE] = {0};
    /* Acquire: pairs with the release store in main (loop end only). */
    while (!gh_atomic_load_acquire_u32(&stop_flag)) {
        uint64_t r = gh_rng_next(&rng);
        int slot = (int)(r % LIVE);
        if (p[slot]) {
            w_free(p[slot], len[slot]);
            p[slot] = NULL;
        } else {
            int line = (int)((r >> 8) % SITES);
            gh_trace_set_site(site_file[w], line);
            len[slot] = site_lo(line) + (size_t)((r >> 16) % 64);
            p[slot] = w_alloc(len[slot]);
            memset(p[slot], w, len[slot]);
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (p[i])
            w_free(p[i], len[i]);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

static int check_snapshot(int threads, const char *when)
{
    struct gh_trace_snapshot *s = gh_trace_take_snapshot();
    if (!s) {
        printf("FAIL %s %s: no snapshot while tracing\n", cur->name, when);
        return 1;
    }
    struct gh_trace_stat *st;
    size_t n;
    gh_trace_snapshot_stats(s, &st, &n);
    uint64_t tsize, tcount, ssize = 0, scount = 0;
    uint64_t per_worker[MAX_THREADS] = {0};
    int bad = 0;
    gh_trace_snapshot_totals(s, &tsize, &tcount);
    for (size_t i = 0; i < n; i++) {
        int w = -1;
        for (int j = 0; j < threads; j++)
            if (strcmp(st[i].file, site_file[j]) == 0)
                w = j;
        if (w < 0 || st[i].line < 0 || st[i].line >= SITES) {
            printf("FAIL %s %s: unexpected site %s:%d\n", cur->name, when, st[i].file,
                   st[i].line);
            bad = 1;
            continue;
        }
        size_t lo = site_lo(st[i].line);
        if (st[i].size < st[i].count * lo || st[i].size > st[i].count * (lo + 63)) {
            printf("FAIL %s %s: %s:%d holds %llu bytes in %llu blocks\n", cur->name, when,
                   st[i].file, st[i].line, (unsigned long long)st[i].size,
                   (unsigned long long)st[i].count);
            bad = 1;
        }
        per_worker[w] += st[i].count;
        ssize += st[i].size;
        scount += st[i].count;
    }
    for (int j = 0; j < threads; j++) {
        if (per_worker[j] > LIVE) {
            printf("FAIL %s %s: worker %d has %llu traced blocks, at most %d live\n", cur->name,
                   when, j, (unsigned long long)per_worker[j], LIVE);
            bad = 1;
        }
    }
    if (ssize != tsize || scount != tcount) {
        printf("FAIL %s %s: sites sum to %llu/%llu, totals %llu/%llu\n", cur->name, when,
               (unsigned long long)ssize, (unsigned long long)scount,
               (unsigned long long)tsize, (unsigned long long)tcount);
        bad = 1;
    }
    uint64_t c, pk;
    gh_trace_get_traced_memory(&c, &pk);
    if (c > pk) {
        printf("FAIL %s %s: current %llu above peak %llu\n", cur->name, when,
               (unsigned long long)c, (unsigned long long)pk);
        bad = 1;
    }
    free(st);
    gh_trace_snapshot_free(s);
    return bad;
}

static int run_kind(const struct kind *k, int threads, int rounds)
{
    cur = k;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, -1, "stress-main");
    if (gh_alloc_init(k->kind, k->locked) != 0) {
        printf("FAIL %s: init\n", k->name);
        return 1;
    }
    gh_alloc_thread_attach();
    gh_atomic_store_relaxed_u32(&stop_flag, 0);
    pthread_t t[MAX_THREADS];
    for (int w = 0; w < threads; w++)
        if (pthread_create(&t[w], NULL, worker, (void *)(intptr_t)w) != 0) {
            printf("FAIL %s: pthread_create\n", k->name);
            return 1;
        }
    int bad = 0, snaps = 0;
    for (int r = 0; r < rounds && !bad; r++) {
        gh_trace_start();
        for (int i = 0; i < 3 && !bad; i++, snaps++) {
            bad |= check_snapshot(threads, "running");
            sched_yield();
        }
        if (r % 4 == 1)
            gh_trace_clear();
        if (r % 4 == 2)
            gh_trace_reset_peak();
        if (r % 8 != 7) /* sometimes stay on across the round */
            gh_trace_stop();
        if (!gh_trace_is_tracing()) {
            /* Only this thread starts tracing: from stop to the next start
             * nothing may be recorded, not even by a worker that saw the
             * flag set just before the stop. */
            for (int i = 0; i < 3; i++) {
                uint64_t c, pk;
                gh_trace_get_traced_memory(&c, &pk);
                if (c || pk || gh_trace_get_overhead()) {
                    printf("FAIL %s: %llu bytes traced while stopped\n", k->name,
                           (unsigned long long)c);
                    bad = 1;
                    break;
                }
                sched_yield();
            }
            if (gh_trace_take_snapshot() != NULL) {
                printf("FAIL %s: snapshot while stopped\n", k->name);
                bad = 1;
            }
        }
    }
    gh_trace_start();
    /* Release: pairs with the workers' acquire loads. */
    gh_atomic_store_release_u32(&stop_flag, 1);
    for (int w = 0; w < threads; w++)
        pthread_join(t[w], NULL);
    bad |= check_snapshot(threads, "joined");
    uint64_t c;
    gh_trace_get_traced_memory(&c, NULL);
    if (c != 0) {
        printf("FAIL %s: %llu bytes still traced after every block was freed\n", k->name,
               (unsigned long long)c);
        bad = 1;
    }
    gh_trace_stop();
    printf("%s %-13s %d snapshots\n", bad ? "FAIL" : "ok  ", k->name, snaps);
    gh_alloc_thread_detach();
    gh_alloc_fini();
    gh_tstate_unbind();
    return bad;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int rounds = argc > 2 ? atoi(argv[2]) : 400;
    if (threads < 1 || threads > MAX_THREADS || rounds < 1) {
        fprintf(stderr, "usage: stress_trace [THREADS 1..%d] [ROUNDS]\n", MAX_THREADS);
        return 2;
    }
    printf("stress_trace: %d allocating threads, %d start/stop rounds per kind, seed 7\n",
           threads, rounds);
    int failures = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        failures += run_kind(&kinds[i], threads, rounds);
    printf("%s\n", failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
}
