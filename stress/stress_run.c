/* stress_run.c - every shipped scenario under every safe preset (or, with
 * --deferred, under each safe preset that builds deferred=on, with it:
 * atomic+deferred, ft+deferred, locks+deferred), with more threads than
 * cores, checked for what a safe strategy guarantees: every check holds,
 * every byte comes back after teardown, and the census (gc/census.h),
 * taken every 2 ms (10 ms under TSan) with the threads parked and once
 * after they stop, finds every count equal to the references that exist
 * (zero hazards, at least one census taken). A plain executable (not
 * Criterion) so that it runs under ThreadSanitizer too. Two ctest entries, stress/stress_run and
 * stress/stress_run_deferred, so each stays within its timeout under the
 * sanitizers.
 *
 * usage: stress_run [--deferred] [SCENARIO_DIR] [OPS]
 * Each scenario runs at 1, 2, 4 and 8 threads (8 is four times this
 * machine's cores: oversubscribed on purpose), each thread doing OPS /
 * threads ops (default 400000; 50000 under ThreadSanitizer, which is
 * slower by about ten, with a census every 10 ms instead of 2). Prints its
 * parameters first and SUCCESS or FAILURE last.
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
    bool deferred = argc > 1 && strcmp(argv[1], "--deferred") == 0;
    if (deferred) {
        argv++;
        argc--;
    }
    const char *dir = argc > 1 ? argv[1] : GH_SOURCE_DIR "/scenarios";
    uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : GH_TSAN ? 50000 : 400000;
    static const int threads[] = {1, 2, 4, 8};
    if (ops < 8) {
        fprintf(stderr, "stress_run: OPS: expected an integer >= 8, found %s\n", argv[2]);
        return 2;
    }
    printf("stress_run: scenarios %s, %llu ops split over the threads, threads 1 2 4 8, "
           "seed 7%s\n", dir, (unsigned long long)ops, deferred ? ", deferred=on" : "");
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        printf("FAILURE\n");
        return 1;
    }
    int runs = 0, failures = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
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
            char label[64];
            snprintf(label, sizeof label, "%s%s", gh_presets[p].name, deferred ? "+deferred" : "");
            for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                struct gh_run_config cfg = {0};
                char err[256];
                if (gh_strategy_from_preset(&cfg.strategy, gh_presets[p].name, err, sizeof err))
                    return 3;
                if (gh_strategy_unsafe_reason(&cfg.strategy))
                    continue; /* the positive control: hazards expected */
                if (deferred && (gh_strategy_set(&cfg.strategy, "deferred=on", err, sizeof err) ||
                                 gh_strategy_refusal(&cfg.strategy)))
                    continue; /* deferred=on is built for sync=objlock gc=stw only */
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
                failures += !ok;
                gh_result_free(&r);
            }
        }
        gh_scenario_free(s);
    }
    closedir(d);
    printf("%d runs, %d failures\n%s\n", runs, failures, failures || !runs ? "FAILURE" : "SUCCESS");
    return failures || !runs ? 1 : 0;
}
