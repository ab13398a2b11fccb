/* test_trace.c - Criterion tests of allocation tracing (src/alloc/trace.h).
 *
 * Bodies that allocate run over every allocator (ParameterizedTest): arena
 * without a lock (the threads of the threaded tests then share a test GIL),
 * arena with its lock, thread and malloc. Criterion runs every test in its
 * own process, so each starts with tracing off and no traces.
 *
 * Start/stop racing with allocating threads is exercised here too, but the
 * check that it is race-free is stress/stress_trace.c under TSan.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_kinds.h" // the allocator settings and helpers shared by these tests
#include "alloc/alloc.h"  // gh_alloc, gh_free, init/fini
#include "alloc/trace.h"  // the interface under test
#include "base/atomic.h"  // flags between test threads
#include "base/tstate.h"  // gh_tstate_bind


static void start(const struct kind_param *k, struct gh_tstate *ts) { kind_start(k, ts); }

static void finish(void)
{
    gh_trace_stop();
    kind_finish();
}


/* The stats of the current traces; *n sites. Caller frees. */
static struct gh_trace_stat *stats_now(size_t *n)
{
    struct gh_trace_snapshot *s = gh_trace_take_snapshot();
    cr_assert_not_null(s, "take_snapshot while tracing");
    struct gh_trace_stat *st;
    gh_trace_snapshot_stats(s, &st, n);
    gh_trace_snapshot_free(s);
    return st;
}

static const struct gh_trace_stat *find_site(const struct gh_trace_stat *st, size_t n,
                                             const char *file, int line)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].file, file) == 0 && st[i].line == line)
            return &st[i];
    return NULL;
}

static uint64_t traced_current(void)
{
    uint64_t c;
    gh_trace_get_traced_memory(&c, NULL);
    return c;
}

// ---------------------------------------------------------------------------
// Sites and statistics

KIND_PARAMS(trace, burst_from_one_site)
ParameterizedTest(struct kind_param *k, trace, burst_from_one_site, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { N = 1000, SIZE = 40 };
    static void *p[N];
    gh_trace_start();
    cr_assert(gh_trace_is_tracing());
    gh_trace_set_site("burst.yaml", 12);
    for (int i = 0; i < N; i++)
        p[i] = gh_alloc(SIZE);
    gh_trace_set_site(NULL, 0);

    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 1, "%s: one site", k->name);
    cr_assert_str_eq(st[0].file, "burst.yaml");
    cr_assert_eq(st[0].line, 12);
    cr_assert_eq(st[0].count, N);
    cr_assert_eq(st[0].size, (uint64_t)N * SIZE, "the requested bytes, not the class's");
    free(st);
    cr_assert_eq(traced_current(), (uint64_t)N * SIZE);

    for (int i = 0; i < N; i++)
        gh_free(p[i], SIZE);
    st = stats_now(&n);
    cr_assert_eq(n, 0);
    cr_assert_null(st);
    cr_assert_eq(traced_current(), 0);
    finish();
}

KIND_PARAMS(trace, two_sites_separated)
ParameterizedTest(struct kind_param *k, trace, two_sites_separated, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { NA = 100, SA = 32, NB = 10, SB = 600 };
    void *a[NA], *b[NB];
    gh_trace_start();
    gh_trace_set_site("two.yaml", 3);
    for (int i = 0; i < NA; i++)
        a[i] = gh_alloc(SA);
    GH_TRACE_HERE(); int here = __LINE__;
    for (int i = 0; i < NB; i++)
        b[i] = gh_alloc(SB); /* large: served by malloc under every kind */

    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 2);
    /* Sorted by size: 6000 bytes here, 3200 at two.yaml:3. */
    cr_assert_str_eq(st[0].file, __FILE__);
    cr_assert_eq(st[0].line, here);
    cr_assert_eq(st[0].count, NB);
    cr_assert_eq(st[0].size, NB * SB);
    cr_assert_str_eq(st[1].file, "two.yaml");
    cr_assert_eq(st[1].line, 3);
    cr_assert_eq(st[1].count, NA);
    cr_assert_eq(st[1].size, NA * SA);
    free(st);

    for (int i = 0; i < NA; i++)
        gh_free(a[i], SA);
    for (int i = 0; i < NB; i++)
        gh_free(b[i], SB);
    finish();
}

Test(trace, same_site_text_different_pointers, .timeout = 10)
{
    struct gh_tstate ts;
    start(&all_kinds[0], &ts);
    static char f1[] = "dup.yaml", f2[] = "dup.yaml";
    gh_trace_start();
    gh_trace_set_site(f1, 5);
    void *p = gh_alloc(16);
    gh_trace_set_site(f2, 5);
    void *q = gh_alloc(16);
    gh_trace_set_site(f2, 6);
    void *r = gh_alloc(16);
    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 2, "sites compare by text");
    cr_assert_eq(st[0].line, 5);
    cr_assert_eq(st[0].count, 2);
    cr_assert_eq(st[1].line, 6);
    free(st);
    gh_free(p, 16);
    gh_free(q, 16);
    gh_free(r, 16);
    finish();
}

Test(trace, ties_sorted_by_file_then_line, .timeout = 10)
{
    struct gh_tstate ts;
    start(&all_kinds[0], &ts);
    gh_trace_start();
    void *p[4];
    gh_trace_set_site("b.yaml", 2);
    p[0] = gh_alloc(64);
    gh_trace_set_site("a.yaml", 9);
    p[1] = gh_alloc(64);
    gh_trace_set_site("b.yaml", 1);
    p[2] = gh_alloc(64);
    gh_trace_set_site("c.yaml", 1);
    p[3] = gh_alloc(65);
    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(st[0].file, "c.yaml");
    cr_assert_str_eq(st[1].file, "a.yaml");
    cr_assert_str_eq(st[2].file, "b.yaml");
    cr_assert_eq(st[2].line, 1);
    cr_assert_str_eq(st[3].file, "b.yaml");
    cr_assert_eq(st[3].line, 2);
    free(st);
    for (int i = 0; i < 4; i++)
        gh_free(p[i], i == 3 ? 65 : 64);
    finish();
}

static void *unbound_thread(void *arg)
{
    void **out = arg;
    *out = gh_alloc(24); /* alloc=malloc: no tstate, no heap (orphan counts) */
    return NULL;
}

Test(trace, unknown_site, .timeout = 10)
{
    struct gh_tstate ts;
    start(&all_kinds[3], &ts); /* malloc: works without attach or tstate */
    gh_trace_start();
    void *p = gh_alloc(8); /* bound, but no site set yet */
    void *q = NULL;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, unbound_thread, &q), 0);
    pthread_join(t, NULL);
    gh_trace_set_site("known.yaml", 1); /* does not leak into other threads */
    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(st[0].file, GH_TRACE_UNKNOWN_FILE);
    cr_assert_eq(st[0].line, 0);
    cr_assert_eq(st[0].count, 2);
    cr_assert_eq(st[0].size, 32);
    free(st);
    gh_free(p, 8);
    gh_free(q, 24);
    finish();
}

// ---------------------------------------------------------------------------
// Frees, traced memory, peak

KIND_PARAMS(trace, frees_remove_traces)
ParameterizedTest(struct kind_param *k, trace, frees_remove_traces, .timeout = 20)
{
    struct gh_tstate ts;
    start(k, &ts);
    /* Enough traces to grow the table several times; freed in an order
     * unrelated to the addresses (checks the deletions keep every other
     * trace findable: a lost one would leave bytes in current). */
    enum { N = 50000 };
    static void *p[N];
    static size_t len[N];
    gh_trace_start();
    gh_trace_set_site("many.yaml", 1);
    uint64_t total = 0;
    for (int i = 0; i < N; i++) {
        len[i] = (size_t)(i * 7 % 300) + 1;
        p[i] = gh_alloc(len[i]);
        total += len[i];
    }
    cr_assert_eq(traced_current(), total);
    cr_assert_gt(gh_trace_get_overhead(), (uint64_t)N * 16);
    uint64_t left = total, count = N;
    for (int pass = 0; pass < 3; pass++) {
        for (int i = pass; i < N; i += 3) {
            gh_free(p[(size_t)i * 7919 % N], len[(size_t)i * 7919 % N]);
            left -= len[(size_t)i * 7919 % N];
            count--;
        }
        size_t n;
        struct gh_trace_stat *st = stats_now(&n);
        if (count) {
            cr_assert_eq(n, 1);
            cr_assert_eq(st[0].count, count, "%s pass %d", k->name, pass);
            cr_assert_eq(st[0].size, left);
        } else {
            cr_assert_eq(n, 0);
        }
        free(st);
        cr_assert_eq(traced_current(), left);
    }
    finish();
}

KIND_PARAMS(trace, traced_memory_and_peak)
ParameterizedTest(struct kind_param *k, trace, traced_memory_and_peak, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    uint64_t cur, peak;
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 0);
    cr_assert_eq(peak, 0);
    gh_trace_start();
    void *a = gh_alloc(100), *b = gh_alloc(1000), *c = gh_alloc(10);
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 1110);
    cr_assert_eq(peak, 1110);
    gh_free(b, 1000);
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 110);
    cr_assert_eq(peak, 1110, "%s: the peak survives frees", k->name);
    gh_trace_reset_peak();
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 110);
    cr_assert_eq(peak, 110);
    void *d = gh_alloc(50);
    gh_free(a, 100);
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 60);
    cr_assert_eq(peak, 160);
    gh_free(c, 10);
    gh_free(d, 50);
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 0);
    cr_assert_eq(peak, 160);
    finish();
}

// ---------------------------------------------------------------------------
// Snapshots compared

KIND_PARAMS(trace, compare_snapshots)
ParameterizedTest(struct kind_param *k, trace, compare_snapshots, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { NA = 30, NB = 20, NC = 10 };
    void *a[2 * NA], *b[NB], *c[NC];
    gh_trace_start();
    gh_trace_set_site("cmp.yaml", 1); /* grows by NA blocks of 16 */
    for (int i = 0; i < NA; i++)
        a[i] = gh_alloc(16);
    gh_trace_set_site("cmp.yaml", 2); /* shrinks by NB/2 blocks of 200 */
    for (int i = 0; i < NB; i++)
        b[i] = gh_alloc(200);
    gh_trace_set_site("cmp.yaml", 4); /* unchanged */
    void *u = gh_alloc(8);
    gh_trace_set_site("gone.yaml", 7); /* disappears */
    for (int i = 0; i < NC; i++)
        c[i] = gh_alloc(48);
    struct gh_trace_snapshot *s1 = gh_trace_take_snapshot();

    gh_trace_set_site("cmp.yaml", 1);
    for (int i = NA; i < 2 * NA; i++)
        a[i] = gh_alloc(16);
    for (int i = 0; i < NB / 2; i++)
        gh_free(b[i], 200);
    for (int i = 0; i < NC; i++)
        gh_free(c[i], 48);
    gh_trace_set_site("new.yaml", 3); /* appears */
    void *x = gh_alloc(1000);
    struct gh_trace_snapshot *s2 = gh_trace_take_snapshot();

    uint64_t tsize, tcount;
    gh_trace_snapshot_totals(s2, &tsize, &tcount);
    cr_assert_eq(tcount, 2 * NA + NB / 2 + 1 + 1);
    cr_assert_eq(tsize, 2 * NA * 16 + NB / 2 * 200 + 8 + 1000);

    struct gh_trace_statdiff *d;
    size_t n;
    gh_trace_snapshot_compare(s2, s1, &d, &n);
    cr_assert_eq(n, 5);
    /* |size_diff|: 2000 (cmp:2), 1000 (new), 480 (gone), 480 (cmp:1), 0.
     * The 480 tie is broken by size: cmp:1 has 960, gone has 0. */
    cr_assert_str_eq(d[0].file, "cmp.yaml");
    cr_assert_eq(d[0].line, 2);
    cr_assert_eq(d[0].size, NB / 2 * 200);
    cr_assert_eq(d[0].size_diff, -(NB / 2 * 200));
    cr_assert_eq(d[0].count, NB / 2);
    cr_assert_eq(d[0].count_diff, -(NB / 2));
    cr_assert_str_eq(d[1].file, "new.yaml");
    cr_assert_eq(d[1].size, 1000);
    cr_assert_eq(d[1].size_diff, 1000);
    cr_assert_eq(d[1].count, 1);
    cr_assert_eq(d[1].count_diff, 1);
    cr_assert_str_eq(d[2].file, "cmp.yaml");
    cr_assert_eq(d[2].line, 1);
    cr_assert_eq(d[2].size, 2 * NA * 16);
    cr_assert_eq(d[2].size_diff, NA * 16);
    cr_assert_eq(d[2].count, 2 * NA);
    cr_assert_eq(d[2].count_diff, NA);
    cr_assert_str_eq(d[3].file, "gone.yaml");
    cr_assert_eq(d[3].size, 0);
    cr_assert_eq(d[3].size_diff, -(NC * 48));
    cr_assert_eq(d[3].count, 0);
    cr_assert_eq(d[3].count_diff, -NC);
    cr_assert_eq(d[4].line, 4);
    cr_assert_eq(d[4].size_diff, 0);
    cr_assert_eq(d[4].count_diff, 0);
    cr_assert_eq(d[4].count, 1);
    free(d);

    /* Reversed: every diff negated. */
    gh_trace_snapshot_compare(s1, s2, &d, &n);
    cr_assert_eq(n, 5);
    cr_assert_eq(d[0].size_diff, NB / 2 * 200);
    cr_assert_eq(d[1].size_diff, -1000);
    free(d);

    gh_trace_snapshot_free(s1);
    gh_trace_snapshot_free(s2);
    for (int i = 0; i < 2 * NA; i++)
        gh_free(a[i], 16);
    for (int i = NB / 2; i < NB; i++)
        gh_free(b[i], 200);
    gh_free(u, 8);
    gh_free(x, 1000);
    finish();
}

Test(trace, compare_empty_snapshots, .timeout = 10)
{
    gh_trace_start();
    struct gh_trace_snapshot *s1 = gh_trace_take_snapshot(), *s2 = gh_trace_take_snapshot();
    cr_assert_not_null(s1);
    struct gh_trace_statdiff *d = (void *)1;
    size_t n = 99;
    gh_trace_snapshot_compare(s2, s1, &d, &n);
    cr_assert_eq(n, 0);
    cr_assert_null(d);
    gh_trace_snapshot_free(s1);
    gh_trace_snapshot_free(s2);
    gh_trace_snapshot_free(NULL);
    gh_trace_stop();
}

// ---------------------------------------------------------------------------
// Before start, stop, clear

KIND_PARAMS(trace, allocations_before_start)
ParameterizedTest(struct kind_param *k, trace, allocations_before_start, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    enum { N = 100 };
    void *old[N];
    gh_trace_set_site("before.yaml", 1);
    for (int i = 0; i < N; i++)
        old[i] = gh_alloc(64);
    gh_trace_start();
    cr_assert_eq(traced_current(), 0, "blocks from before start are not traced");
    gh_trace_set_site("during.yaml", 2);
    void *p = gh_alloc(64);
    /* Free the old blocks while tracing: ignored. */
    for (int i = 0; i < N / 2; i++)
        gh_free(old[i], 64);
    cr_assert_eq(traced_current(), 64);
    /* Pool kinds hand the freed addresses out again: traced as new. */
    void *q = gh_alloc(64);
    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(st[0].file, "during.yaml");
    cr_assert_eq(st[0].count, 2);
    cr_assert_eq(st[0].size, 128);
    free(st);
    gh_free(q, 64);
    gh_free(p, 64);
    for (int i = N / 2; i < N; i++)
        gh_free(old[i], 64);
    uint64_t cur, peak;
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 0);
    cr_assert_eq(peak, 128);
    finish();
}

KIND_PARAMS(trace, stop_clears)
ParameterizedTest(struct kind_param *k, trace, stop_clears, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    gh_trace_start();
    gh_trace_start(); /* no-op */
    void *p = gh_alloc(300), *q = gh_alloc(20);
    cr_assert_eq(traced_current(), 320);
    gh_trace_stop();
    cr_assert_not(gh_trace_is_tracing());
    uint64_t cur = 1, peak = 1;
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 0);
    cr_assert_eq(peak, 0);
    cr_assert_eq(gh_trace_get_overhead(), 0);
    cr_assert_null(gh_trace_take_snapshot(), "no snapshot when not tracing");
    gh_trace_stop(); /* no-op */

    /* Not tracing: allocations are not recorded. */
    void *r = gh_alloc(40);
    gh_trace_start();
    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, 0, "%s: a new start begins empty", k->name);
    free(st);
    /* Blocks traced before the stop are unknown now. */
    gh_free(p, 300);
    gh_free(r, 40);
    void *s = gh_alloc(30);
    gh_free(q, 20);
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 30);
    cr_assert_eq(peak, 30);
    gh_free(s, 30);
    finish();
}

KIND_PARAMS(trace, clear_keeps_tracing)
ParameterizedTest(struct kind_param *k, trace, clear_keeps_tracing, .timeout = 10)
{
    struct gh_tstate ts;
    start(k, &ts);
    gh_trace_start();
    void *p = gh_alloc(100);
    gh_trace_clear();
    cr_assert(gh_trace_is_tracing());
    uint64_t cur, peak;
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 0);
    cr_assert_eq(peak, 0);
    void *q = gh_alloc(10);
    gh_free(p, 100); /* cleared: ignored */
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, 10);
    cr_assert_eq(peak, 10);
    gh_free(q, 10);
    cr_assert_eq(traced_current(), 0);
    finish();
}

// ---------------------------------------------------------------------------
// Formatting (expected strings printed by CPython's tracemalloc)

static const char *fsize(double v, bool sign)
{
    static char buf[64];
    gh_trace_format_size(v, sign, buf, sizeof buf);
    return buf;
}

Test(trace, format_size_like_tracemalloc, .timeout = 10)
{
    cr_assert_str_eq(fsize(0, false), "0 B");
    cr_assert_str_eq(fsize(0, true), "+0 B");
    cr_assert_str_eq(fsize(123, false), "123 B");
    cr_assert_str_eq(fsize(-123, true), "-123 B");
    cr_assert_str_eq(fsize(10239, false), "10239 B");
    cr_assert_str_eq(fsize(10240, false), "10.0 KiB");
    cr_assert_str_eq(fsize(12345, true), "+12.1 KiB");
    cr_assert_str_eq(fsize(102399, false), "100.0 KiB");
    cr_assert_str_eq(fsize(102400, false), "100 KiB");
    cr_assert_str_eq(fsize(5242880, false), "5120 KiB");
    cr_assert_str_eq(fsize(1610612736.0, false), "1536 MiB");
    cr_assert_str_eq(fsize(5629499534213120.0, false), "5120 TiB");
    cr_assert_str_eq(fsize(1234.5, false), "1234 B");
}

Test(trace, format_stat_lines, .timeout = 10)
{
    char buf[128];
    struct gh_trace_stat st = {"a.yaml", 12, 12345, 10};
    int w = gh_trace_stat_format(&st, buf, sizeof buf);
    cr_assert_str_eq(buf, "a.yaml:12: size=12.1 KiB, count=10, average=1234 B");
    cr_assert_eq(w, (int)strlen(buf));
    struct gh_trace_stat z = {"a.yaml", 12, 0, 0};
    gh_trace_stat_format(&z, buf, sizeof buf);
    cr_assert_str_eq(buf, "a.yaml:12: size=0 B, count=0");

    struct gh_trace_statdiff d = {"a.yaml", 12, 12345, -2048, 10, -3};
    gh_trace_statdiff_format(&d, buf, sizeof buf);
    cr_assert_str_eq(buf, "a.yaml:12: size=12.1 KiB (-2048 B), count=10 (-3), average=1234 B");
    struct gh_trace_statdiff g = {"a.yaml", 12, 0, -48000, 0, -1000};
    gh_trace_statdiff_format(&g, buf, sizeof buf);
    cr_assert_str_eq(buf, "a.yaml:12: size=0 B (-46.9 KiB), count=0 (-1000)");

    /* Truncates like snprintf and says how long the line is. */
    char small[8];
    w = gh_trace_stat_format(&st, small, sizeof small);
    cr_assert_str_eq(small, "a.yaml:");
    cr_assert_eq(w, (int)strlen("a.yaml:12: size=12.1 KiB, count=10, average=1234 B"));
}

// ---------------------------------------------------------------------------
// Threads

/* Two workers allocate and free from their own sites; each ends holding
 * exactly KEEP blocks of its size. The main thread takes snapshots
 * meanwhile: every snapshot must be self-consistent. */
enum { WORKERS = 2, ROUNDS = 300, BATCH = 64, KEEP = 37 };
static const size_t worker_size[WORKERS] = {48, 520};
static const char *const worker_file[WORKERS] = {"w0.yaml", "w1.yaml"};
static uint32_t workers_done;
static void *kept[WORKERS][KEEP];

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, w + 1, w ? "trace-w1" : "trace-w0");
    gh_alloc_thread_attach();
    size_t sz = worker_size[w];
    void *held[BATCH];
    for (int r = 0; r < ROUNDS; r++) {
        gh_trace_set_site(worker_file[w], r % 3 + 1);
        for (int i = 0; i < BATCH; i++)
            held[i] = t_alloc(sz);
        for (int i = 0; i < BATCH; i++)
            t_free(held[i], sz);
    }
    gh_trace_set_site(worker_file[w], 100);
    for (int i = 0; i < KEEP; i++)
        kept[w][i] = t_alloc(sz); /* the main thread frees them after join */
    /* Release: pairs with the acquire load in the main thread's loop. */
    gh_atomic_add_acqrel_u32(&workers_done, 1);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

KIND_PARAMS(trace, threads_and_snapshots)
ParameterizedTest(struct kind_param *k, trace, threads_and_snapshots, .timeout = 60)
{
    struct gh_tstate ts;
    start(k, &ts);
    gh_trace_start();
    pthread_t t[WORKERS];
    for (int w = 0; w < WORKERS; w++)
        cr_assert_eq(pthread_create(&t[w], NULL, worker, (void *)(intptr_t)w), 0);
    int snapshots = 0;
    /* Acquire: pairs with the workers' add (only to end the loop). */
    while (gh_atomic_load_acquire_u32(&workers_done) < WORKERS || snapshots < 10) {
        struct gh_trace_snapshot *s = gh_trace_take_snapshot();
        cr_assert_not_null(s);
        struct gh_trace_stat *st;
        size_t n;
        gh_trace_snapshot_stats(s, &st, &n);
        uint64_t tsize, tcount, ssize = 0, scount = 0;
        gh_trace_snapshot_totals(s, &tsize, &tcount);
        for (size_t i = 0; i < n; i++) {
            int w = strcmp(st[i].file, "w0.yaml") == 0 ? 0 : 1;
            cr_assert_str_eq(st[i].file, worker_file[w]);
            cr_assert_eq(st[i].size, st[i].count * worker_size[w], "one size per site");
            cr_assert_leq(st[i].count, st[i].line == 100 ? KEEP : BATCH);
            ssize += st[i].size;
            scount += st[i].count;
        }
        cr_assert_eq(ssize, tsize);
        cr_assert_eq(scount, tcount);
        free(st);
        gh_trace_snapshot_free(s);
        snapshots++;
        sched_yield();
    }
    for (int w = 0; w < WORKERS; w++)
        pthread_join(t[w], NULL);

    size_t n;
    struct gh_trace_stat *st = stats_now(&n);
    cr_assert_eq(n, WORKERS, "only the kept blocks remain");
    for (int w = 0; w < WORKERS; w++) {
        const struct gh_trace_stat *s = find_site(st, n, worker_file[w], 100);
        cr_assert_not_null(s);
        cr_assert_eq(s->count, KEEP);
        cr_assert_eq(s->size, KEEP * worker_size[w]);
    }
    free(st);
    uint64_t cur, peak;
    gh_trace_get_traced_memory(&cur, &peak);
    cr_assert_eq(cur, KEEP * (worker_size[0] + worker_size[1]));
    cr_assert_geq(peak, BATCH * worker_size[1]);
    cr_assert_leq(peak, BATCH * (worker_size[0] + worker_size[1]) + cur);
    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < KEEP; i++)
            gh_free(kept[w][i], worker_size[w]);
    cr_assert_eq(traced_current(), 0);
    finish();
}

/* Workers allocate and free while the main thread starts, stops, clears
 * and snapshots. No result to check beyond "nothing breaks" and, after the
 * last start with the workers done, an empty table. */
static uint32_t churn_stop;

static void *churn(void *arg)
{
    int w = (int)(intptr_t)arg;
    struct gh_tstate ts;
    gh_tstate_bind(&ts, w + 1, "trace-churn");
    gh_alloc_thread_attach();
    gh_trace_set_site(worker_file[w], 1);
    void *held[16];
    /* Acquire: pairs with the main thread's release store (loop end only). */
    while (!gh_atomic_load_acquire_u32(&churn_stop)) {
        for (int i = 0; i < 16; i++)
            held[i] = t_alloc(worker_size[w]);
        for (int i = 0; i < 16; i++)
            t_free(held[i], worker_size[w]);
    }
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

KIND_PARAMS(trace, start_stop_while_allocating)
ParameterizedTest(struct kind_param *k, trace, start_stop_while_allocating, .timeout = 60)
{
    struct gh_tstate ts;
    start(k, &ts);
    pthread_t t[WORKERS];
    for (int w = 0; w < WORKERS; w++)
        cr_assert_eq(pthread_create(&t[w], NULL, churn, (void *)(intptr_t)w), 0);
    for (int i = 0; i < 2000; i++) {
        switch (i % 5) {
        case 0: gh_trace_start(); break;
        case 1: gh_trace_snapshot_free(gh_trace_take_snapshot()); break;
        case 2: gh_trace_clear(); break;
        case 3: gh_trace_reset_peak(); break;
        case 4: gh_trace_stop(); break;
        }
        if (i % 7 == 0)
            sched_yield();
    }
    gh_trace_start();
    /* Release: pairs with the workers' acquire loads. */
    gh_atomic_store_release_u32(&churn_stop, 1);
    for (int w = 0; w < WORKERS; w++)
        pthread_join(t[w], NULL);
    /* Every block the workers allocated is freed; blocks allocated before
     * the last start were not traced, so nothing can remain. */
    cr_assert_eq(traced_current(), 0);
    finish();
}
