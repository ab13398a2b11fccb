/* stress_run.c - every shipped scenario under every safe preset (or, with
 * --deferred, under each safe preset that builds deferred=on, with it:
 * atomic+deferred, ft+deferred, locks+deferred; or, with --lock KIND, under
 * each safe preset without a GIL with its per-object lock swapped: atomic,
 * ft and locks with lock=KIND), with more threads than cores, checked for
 * what a safe strategy guarantees: every check holds, every byte comes back
 * after teardown, and the census (gc/census.h), taken every 2 ms (10 ms
 * under TSan) with the threads parked and once after they stop, finds every
 * count equal to the references that exist (zero hazards, at least one
 * census taken). A plain executable (not Criterion) so that it runs under
 * ThreadSanitizer too. Several ctest entries (stress/stress_run,
 * stress/stress_run_deferred, stress/stress_run_lock_KIND), so each stays
 * within its timeout under the sanitizers.
 *
 * The --lock runs are the stop-the-world protocol against waiters that do
 * not park: a tatas or ticket waiter spins and yields, a pthread waiter
 * sleeps in the kernel, none of them detaches. The collector and the
 * census stop the world at switch points, where a thread holds no
 * object's lock, so such a waiter can only delay a stop until the holder
 * leaves its critical section; a stop that never completes would hang the
 * run (ctest's timeout).
 *
 * usage: stress_run [--deferred | --lock KIND] [--threads LIST] [SCENARIO_DIR] [OPS]
 * Each scenario runs at 1, 2, 4 and 8 threads (or the comma-separated
 * LIST; 8 is four times this machine's cores: oversubscribed on purpose),
 * each thread doing OPS / threads ops (default 400000; 50000 under
 * ThreadSanitizer, which is slower by about ten, with a census every 10 ms
 * instead of 2). Prints its
 * parameters first and SUCCESS or FAILURE last; exit status 2 for a bad
 * argument.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h" // GH_TSAN
#include "scenario/run.h"

#ifndef GH_SOURCE_DIR
#define GH_SOURCE_DIR "."
#endif

int main(int argc, char **argv)
{
    /* A line per run, flushed as it is written: when a run hangs and the
     * test's timeout kills the driver, the last line names the run before. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool deferred = false;
    const char *lock = NULL; /* --lock KIND: its "lock=KIND" setting */
    char lock_set[64];
    int threads[8] = {1, 2, 4, 8};
    size_t nthreads = 4;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--threads") == 0 && argc > 2) {
            /* A comma-separated list of 1 to 8 counts, each 1..64. */
            const char *p = argv[2];
            nthreads = 0;
            for (;;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p || v < 1 || v > 64 || nthreads == 8 || (*end && *end != ',')) {
                    fprintf(stderr, "stress_run: --threads %s: expected up to 8 thread counts "
                                    "1..64 separated by commas, e.g. 2,8\n", argv[2]);
                    return 2;
                }
                threads[nthreads++] = (int)v;
                if (!*end)
                    break;
                p = end + 1;
            }
            argv++;
            argc--;
        } else if (strcmp(argv[1], "--deferred") == 0 && !lock) {
            deferred = true;
        } else if (strcmp(argv[1], "--lock") == 0 && !deferred && !lock && argc > 2) {
            struct gh_strategy probe;
            char err[256];
            snprintf(lock_set, sizeof lock_set, "lock=%s", argv[2]);
            if (gh_strategy_from_preset(&probe, "atomic", err, sizeof err) ||
                gh_strategy_set(&probe, lock_set, err, sizeof err)) {
                fprintf(stderr, "stress_run: --lock %s: %s\n", argv[2], err);
                return 2;
            }
            lock = lock_set;
            argv++;
            argc--;
        } else {
            fprintf(stderr, "stress_run: %s: expected --deferred or --lock KIND (one of them), "
                            "--threads LIST, then [SCENARIO_DIR] [OPS]\n", argv[1]);
            return 2;
        }
        argv++;
        argc--;
    }
    const char *dir = argc > 1 ? argv[1] : GH_SOURCE_DIR "/scenarios";
    uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : GH_TSAN ? 50000 : 400000;
    int maxthreads = 1;
    for (size_t t = 0; t < nthreads; t++)
        maxthreads = threads[t] > maxthreads ? threads[t] : maxthreads;
    if (ops < (uint64_t)maxthreads) {
        fprintf(stderr, "stress_run: OPS: expected an integer >= %d (one op per thread), "
                        "found %s\n", maxthreads, argc > 2 ? argv[2] : "the default");
        return 2;
    }
    printf("stress_run: scenarios %s, %llu ops split over the threads, threads", dir,
           (unsigned long long)ops);
    for (size_t t = 0; t < nthreads; t++)
        printf(" %d", threads[t]);
    printf(", seed 7%s%s%s\n", deferred ? ", deferred=on" : "", lock ? ", " : "", lock ? lock : "");
    /* In name order, so two logs of the driver list the runs alike. */
    struct dirent **names;
    int nnames = scandir(dir, &names, NULL, alphasort);
    if (nnames < 0) {
        perror(dir);
        printf("FAILURE\n");
        return 1;
    }
    int runs = 0, failures = 0;
    for (int f = 0; f < nnames; f++) {
        const struct dirent *e = names[f];
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct gh_diag diag;
        struct gh_scenario *s = gh_scenario_load(path, &diag);
        if (!s) {
            printf("FAIL %s: %s\n", path, diag.msg);
            failures++;
            continue;
        }
        for (size_t p = 0; p < gh_npresets; p++) {
            char label[128];
            snprintf(label, sizeof label, "%s%s%s", gh_presets[p].name,
                     deferred ? "+deferred" : lock ? "+" : "", lock ? lock : "");
            for (size_t t = 0; t < nthreads; t++) {
                struct gh_run_config cfg = {0};
                char err[256];
                if (gh_strategy_from_preset(&cfg.strategy, gh_presets[p].name, err, sizeof err))
                    return 3;
                if (gh_strategy_unsafe_reason(&cfg.strategy))
                    continue; /* the positive control: hazards expected */
                if (deferred && (gh_strategy_set(&cfg.strategy, "deferred=on", err, sizeof err) ||
                                 gh_strategy_refusal(&cfg.strategy)))
                    continue; /* deferred=on is built for sync=objlock gc=stw only */
                if (lock && cfg.strategy.sync != GH_SYNC_OBJLOCK)
                    continue; /* lock= swaps sync=objlock's lock; a GIL has none */
                if (lock) {
                    /* Every kind is built for every objlock preset: a
                     * refusal would shrink the test without a word. */
                    const char *why = gh_strategy_set(&cfg.strategy, lock, err, sizeof err)
                                          ? err
                                          : gh_strategy_refusal(&cfg.strategy);
                    if (why) {
                        printf("FAIL %s %s: refused: %s\n", s->name, label, why);
                        failures++;
                        continue;
                    }
                }
                cfg.check = 1; /* safe strategies: zero hazards, checked */
                cfg.threads = threads[t];
                cfg.ops_per_thread = ops / (uint64_t)threads[t];
                cfg.seed = 7;
                cfg.seed_given = true;
                cfg.latency_sample = 16;
                /* Many censuses while the threads run (fewer under TSan, where
                 * each walk costs ten times as much). */
                cfg.census_ns = GH_TSAN ? 10000000 : 2000000;
                struct gh_result r;
                if (gh_run(s, &cfg, &r, &diag) != 0) {
                    /* A scenario whose roles need more threads is skipped. */
                    printf("skip %s %s %d threads: %s\n", s->name, label, threads[t], diag.msg);
                    continue;
                }
                runs++;
                bool ok = r.status == GH_STATUS_OK && r.alloc_live_after_teardown == 0 &&
                          r.hazards_total == 0 && r.census.taken >= 1;
                printf("%s %-22s %-15s %d threads: %llu ops, status %s, leaked %llu bytes, "
                       "%llu hazards, census %llu taken %llu skipped\n",
                       ok ? "ok  " : "FAIL", s->name, label, threads[t],
                       (unsigned long long)r.total_ops, gh_status_names[r.status],
                       (unsigned long long)r.alloc_live_after_teardown,
                       (unsigned long long)r.hazards_total, (unsigned long long)r.census.taken,
                       (unsigned long long)r.census.skipped);
                if (r.hazards_total)
                    for (int k = 0; k < GH_HAZARD_COUNT; k++)
                        if (r.hazards.n[k])
                            printf("     %s %llu, first %s count %lld refs %lld\n",
                                   gh_hazard_names[k], (unsigned long long)r.hazards.n[k],
                                   r.hazards.first[k].type ? r.hazards.first[k].type : "-",
                                   (long long)r.hazards.first[k].count,
                                   (long long)r.hazards.first[k].refs);
                for (int k = 0; k < r.nchecks; k++)
                    if (!r.checks[k].pass)
                        printf("     check failed: %s (%s)\n", r.checks[k].text,
                               r.checks[k].detail);
                failures += !ok;
                gh_result_free(&r);
            }
        }
        gh_scenario_free(s);
    }
    for (int f = 0; f < nnames; f++)
        free(names[f]);
    free(names);
    printf("%d runs, %d failures\n%s\n", runs, failures, failures || !runs ? "FAILURE" : "SUCCESS");
    return failures || !runs ? 1 : 0;
}
