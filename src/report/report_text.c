/* report_text.c - the compact human summary `gilheap run` prints on stdout.
 *
 * The first line carries everything needed to repeat the run (scenario,
 * strategy with every axis, threads, duration or ops, seed). An unsafe
 * combination gets an UNSAFE line right under it, so it is never read as a
 * normal result.
 */
#include "report/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/hist.h"      // gh_hist_quantile
#include "base/lockprof.h"  // struct gh_lockprof
#include "base/lockstat.h"  // gh_lock_class_names

void gh_report_fmt_rate(char *buf, size_t len, double v)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.3gG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.3gk", v / 1e3);
    else
        snprintf(buf, len, "%.3g", v);
}

void gh_report_fmt_ns(char *buf, size_t len, uint64_t ns)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.3gus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.3gms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3gs", (double)ns / 1e9);
}

void gh_report_fmt_bytes(char *buf, size_t len, uint64_t b)
{
    if (b < 1024)
        snprintf(buf, len, "%" PRIu64 "B", b);
    else if (b < 1024 * 1024)
        snprintf(buf, len, "%.3gKiB", (double)b / 1024.0);
    else if (b < (uint64_t)1024 * 1024 * 1024)
        snprintf(buf, len, "%.3gMiB", (double)b / (1024.0 * 1024.0));
    else
        snprintf(buf, len, "%.3gGiB", (double)b / (1024.0 * 1024.0 * 1024.0));
}

static double rate(uint64_t count, uint64_t ns)
{
    return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

static void text_header(FILE *out, const struct gh_result *r)
{
    char d[32];
    const struct gh_scenario *s = r->scenario;
    fprintf(out, "scenario %s", s && s->name ? s->name : "?");
    if (s && s->file)
        fprintf(out, " (%s)", s->file);
    char desc[256];
    fprintf(out, "  strategy %s%s (%s)", r->strategy.preset ? r->strategy.preset : "custom",
            r->strategy.overridden ? "+set" : "",
            gh_strategy_describe(&r->strategy, desc, sizeof desc));
    fprintf(out, "  threads %d", r->threads);
    for (int i = 0; i < r->ncpus; i++)
        fprintf(out, "%s%d", i ? "," : "  cpus ", r->cpus[i]);
    if (r->duration_ns) {
        gh_report_fmt_ns(d, sizeof d, r->duration_ns);
        fprintf(out, "  duration %s", d);
    }
    if (r->ops_per_thread)
        fprintf(out, "  ops %" PRIu64 "/thread", r->ops_per_thread);
    fprintf(out, "  seed %" PRIu64, r->seed);
    for (int i = 0; s && i < s->nparams; i++)
        fprintf(out, "%s%s=%" PRId64, i ? " " : "  params ", s->params[i].name,
                s->params[i].value);
    fputc('\n', out);
    if (r->unsafe_reason)
        fprintf(out, "UNSAFE: %s (hazards are expected)\n", r->unsafe_reason);
}

static void text_throughput(FILE *out, const struct gh_result *r)
{
    char a[32], b[32], c[32];
    gh_report_fmt_rate(a, sizeof a, rate(r->total_ops, r->wall_ns));
    gh_report_fmt_ns(b, sizeof b, r->wall_ns);
    fprintf(out, "throughput  %s ops/s (%" PRIu64 " ops in %s)\n", a, r->total_ops, b);
    struct gh_fairness fv[16];
    int nf = gh_report_fairness(r, fv, 16);
    for (int i = 0; i < nf; i++) {
        const struct gh_scenario *s = r->scenario;
        const char *role = s && fv[i].role < s->nroles && s->roles[fv[i].role].name
                               ? s->roles[fv[i].role].name : "threads";
        gh_report_fmt_rate(a, sizeof a, (double)fv[i].min_ops);
        gh_report_fmt_rate(b, sizeof b, (double)fv[i].max_ops);
        if (fv[i].min_ops)
            fprintf(out, "fairness    %s: %d threads, ops per thread %s to %s (max/min %.2f)\n",
                    role, fv[i].threads, a, b, (double)fv[i].max_ops / (double)fv[i].min_ops);
        else
            fprintf(out, "fairness    %s: %d threads, ops per thread 0 to %s (a thread did "
                    "nothing)\n", role, fv[i].threads, b);
    }
    fprintf(out, "  %-14s %12s %10s %9s %9s %9s\n", "op", "done", "failed", "ops/s", "p50",
            "p99");
    for (int k = 0; k < GH_OP_COUNT; k++) {
        const struct gh_op_result *op = &r->op[k];
        if (op->done == 0 && op->failed == 0)
            continue;
        gh_report_fmt_rate(a, sizeof a, rate(op->done + op->failed, r->wall_ns));
        if (op->latency.count) {
            gh_report_fmt_ns(b, sizeof b, gh_hist_quantile(&op->latency, 0.50));
            gh_report_fmt_ns(c, sizeof c, gh_hist_quantile(&op->latency, 0.99));
        } else {
            snprintf(b, sizeof b, "-");
            snprintf(c, sizeof c, "-");
        }
        fprintf(out, "  %-14s %12" PRIu64 " %10" PRIu64 " %9s %9s %9s\n", gh_op_names[k],
                op->done, op->failed, a, b, c);
    }
}

static void text_locks(FILE *out, const struct gh_result *r)
{
    bool any = false;
    char w[32], m[32];
    for (int c = 0; c < GH_LOCK_NCLASSES; c++) {
        const struct gh_lockstat *ls = &r->locks[c];
        if (ls->acquisitions == 0)
            continue;
        if (!any)
            fprintf(out, "  %-14s %12s %10s %9s %9s %9s\n", "lock", "acquired", "contended",
                    "cont%", "wait", "max wait");
        any = true;
        gh_report_fmt_ns(w, sizeof w, ls->wait_ns);
        gh_report_fmt_ns(m, sizeof m, ls->wait_max_ns);
        fprintf(out, "  %-14s %12" PRIu64 " %10" PRIu64 " %8.1f%% %9s %9s\n",
                gh_lock_class_names[c], ls->acquisitions, ls->contended,
                100.0 * (double)ls->contended / (double)ls->acquisitions, w, m);
    }
    if (!any)
        fprintf(out, "locks       none taken\n");
    if (r->has_gil)
        fprintf(out,
                "GIL         %" PRIu64 " switches, %" PRIu64 " drop requests, %" PRIu64
                " forced handoffs\n",
                r->gil.switches, r->gil.drop_requests, r->gil.forced_handoffs);
}

void gh_report_interval(FILE *out, const struct gh_result *r, int k)
{
    const struct gh_interval *iv = &r->intervals[k];
    const uint64_t *ops = &r->interval_ops[(size_t)k * (size_t)r->threads];
    double sec = (double)iv->dur_ns / 1e9, total = 0;
    for (int i = 0; i < r->threads; i++)
        total += (double)ops[i];
    char a[32], h[32];
    gh_report_fmt_rate(a, sizeof a, sec > 0 ? total / sec : 0);
    fprintf(out, "[%7.2fs] %7s ops/s (", (double)iv->t_ns / 1e9, a);
    for (int i = 0; i < r->threads; i++) {
        gh_report_fmt_rate(a, sizeof a, sec > 0 ? (double)ops[i] / sec : 0);
        fprintf(out, "%s%s", i ? " " : "", a);
    }
    gh_report_fmt_bytes(h, sizeof h, iv->live_bytes);
    fprintf(out, ")  heap %s\n", h);
    fflush(out);
}

/* p50 p90 p99 max of a profile histogram, "-" each when empty. */
static void dist_cols(FILE *out, const struct gh_hist *h)
{
    static const double q[] = {0.50, 0.90, 0.99};
    char v[32];
    for (int i = 0; i < 4; i++) {
        if (h->count == 0)
            snprintf(v, sizeof v, "-");
        else
            gh_report_fmt_ns(v, sizeof v, i < 3 ? gh_hist_quantile(h, q[i]) : h->max);
        fprintf(out, " %7s", v);
    }
}

/* --lock-profile: hold and wait distributions per class taken. */
static void text_lock_profile(FILE *out, const struct gh_result *r)
{
    const struct gh_lockprof *lp = r->lockprof;
    if (!lp)
        return;
    fprintf(out, "lock profile: 1 in %" PRIu32 " holds timed (every GIL tenure), every "
                 "contended wait\n", lp->hold_every);
    fprintf(out, "  %-10s %8s %7s %7s %7s %7s %8s %7s %7s %7s %7s %8s\n", "lock", "holds",
            "p50", "p90", "p99", "max", "waits", "p50", "p90", "p99", "max", "handoffs");
    for (int c = 0; c < GH_LOCK_NCLASSES; c++) {
        if (r->locks[c].acquisitions == 0)
            continue;
        fprintf(out, "  %-10s %8" PRIu64, gh_lock_class_names[c], lp->hold[c].count);
        dist_cols(out, &lp->hold[c]);
        fprintf(out, " %8" PRIu64, lp->wait[c].count);
        dist_cols(out, &lp->wait[c]);
        /* The GIL's handoffs are its switches (it changed hands); a
         * mutex's, the acquisitions its unlocker handed over. */
        uint64_t hand = c == GH_LOCK_gil && r->has_gil ? r->gil.switches : r->locks[c].handoffs;
        fprintf(out, " %8" PRIu64 "\n", hand);
    }
}

/* "1.23k" for counts from 10000 on, else the number. */
static void fmt_count(char *buf, size_t len, uint64_t v)
{
    if (v < 10000)
        snprintf(buf, len, "%" PRIu64, v);
    else
        gh_report_fmt_rate(buf, len, (double)v);
}

static void hist_row(FILE *out, const char *label, const struct gh_hist *h)
{
    char m[32], p[32], x[32];
    gh_report_fmt_ns(m, sizeof m, gh_hist_quantile(h, 0.50));
    gh_report_fmt_ns(p, sizeof p, gh_hist_quantile(h, 0.99));
    gh_report_fmt_ns(x, sizeof x, h->max);
    fprintf(out, "  %-22s %8" PRIu64 " %10s %10s %10s\n", label, h->count, m, p, x);
}

/* The collector: what it did, then its pauses. */
static void text_gc(FILE *out, const struct gh_result *r)
{
    const struct gh_gc_stats *g = &r->gc;
    if ((unsigned)r->strategy.gc >= GH_GC_MODE_COUNT)
        return;
    const char *mode = gh_gc_names[r->strategy.gc];
    if (r->strategy.gc == GH_GC_OFF) {
        fprintf(out, "gc          off: no cyclic collection (reference counting only)\n");
        return;
    }
    bool generational = r->strategy.gc == GH_GC_GENERATIONAL;
    char th[64], t[32];
    if (generational)
        snprintf(th, sizeof th, "thresholds %" PRId64 "/%" PRId64 "/%" PRId64,
                 r->gc_thresholds[0], r->gc_thresholds[1], r->gc_thresholds[2]);
    else
        snprintf(th, sizeof th, "threshold %" PRId64, r->gc_thresholds[0]);
    uint64_t n = 0;
    for (int i = 0; i < GH_GC_NGENS; i++)
        n += g->gen[i].collections;
    fprintf(out, "gc          %s, %s%s: ", mode, th,
            r->gc_enabled ? "" : ", automatic collections disabled");
    if (n == 0) {
        fprintf(out, "no collection; garbage at exit %" PRId64 "\n", r->gc_garbage_at_exit);
        return;
    }
    gh_report_fmt_ns(t, sizeof t, g->collect_ns);
    fprintf(out, "%" PRIu64 " collection%s", n, n == 1 ? "" : "s");
    if (generational)
        fprintf(out, " (gen0 %" PRIu64 ", gen1 %" PRIu64 ", gen2 %" PRIu64 ")",
                g->gen[0].collections, g->gen[1].collections, g->gen[2].collections);
    fprintf(out, ", %s in all\n", t);
    char ex[32], un[32], co[32], fi[32];
    fmt_count(ex, sizeof ex, g->examined);
    fmt_count(un, sizeof un, g->unreachable);
    fmt_count(co, sizeof co, g->collected);
    fmt_count(fi, sizeof fi, g->finalized);
    fprintf(out,
            "            examined %s, unreachable %s: collected %s, finalized %s, "
            "resurrected %" PRIu64 ", uncollectable %" PRIu64 "; untracked tuples %" PRIu64
            ", dicts %" PRIu64 "; weakref callbacks %" PRIu64 "; garbage at exit %"
            PRId64 "\n",
            ex, un, co, fi, g->resurrected, g->uncollectable, g->untracked_tuples,
            g->untracked_dicts, g->weakref_callbacks, r->gc_garbage_at_exit);
    if (r->strategy.gc == GH_GC_NOSTOP)
        fprintf(out,
                "            nostop (the world never stopped): live objects cleared %" PRIu64
                ", objects freed under the scan %" PRIu64 ", collections abandoned after a "
                "fault %" PRIu64 "\n",
                g->nostop_live_collected, g->nostop_freed_met, g->nostop_abandoned);
    if (g->pause.count == 0)
        return;
    fprintf(out, "  %-22s %8s %10s %10s %10s\n", "gc pause", "count", "median", "p99", "max");
    if (r->has_gil) {
        hist_row(out, "collection (GIL held)", &g->pause);
        fprintf(out, "  time to safepoint: does not apply under a GIL (the collector holds "
                "the GIL; the other threads wait for it, nothing is stopped)\n");
    } else {
        hist_row(out, "world stopped", &g->pause);
        if (g->tts.count)
            hist_row(out, "time to safepoint", &g->tts);
    }
}

static void text_hazards(FILE *out, const struct gh_result *r)
{
    if (!r->checked)
        return;
    fprintf(out, "hazards     %" PRIu64 " (checked mode)%s\n", r->hazards_total,
            r->hazards_total ? ":" : "");
    fprintf(out, "  census: %" PRIu64 " taken (%" PRIu64 " objects compared), %" PRIu64
                 " skipped, %" PRIu64 " abandoned on a fault, %.1f ms\n",
            r->census.taken, r->census.objects, r->census.skipped, r->census.faults,
            (double)r->census.ns / 1e6);
    for (int k = 0; k < GH_HAZARD_COUNT; k++) {
        if (!r->hazards.n[k])
            continue;
        const struct gh_hazard_example *e = &r->hazards.first[k];
        char who[32];
        if (e->thread >= 0)
            snprintf(who, sizeof who, "worker-%d", e->thread);
        else
            snprintf(who, sizeof who, "main");
        char found[64] = "";
        if (e->count >= 0) /* the census's: the count against the references */
            snprintf(found, sizeof found, ", count %" PRId64 " for %" PRId64 " references",
                     e->count, e->refs);
        fprintf(out, "  %-16s %10" PRIu64 "   first: %s%s%s%s%s%s\n", gh_hazard_names[k],
                r->hazards.n[k], who, e->op ? ", " : "", e->op ? e->op : "",
                e->type ? ", " : "", e->type ? e->type : "", found);
    }
}

/* Each global.add counter: what the adds would have made it against what
 * it holds; the difference is the updates a racing read-modify-write
 * overwrote. */
static void text_counters(FILE *out, const struct gh_result *r)
{
    for (int i = 0; i < r->ncounters; i++) {
        const struct gh_counter_result *c = &r->counters[i];
        fprintf(out, "%-11s %s (via %s): %" PRIu64 " adds, expected %" PRId64 ", ",
                i ? "" : "counters", c->name, c->via_call ? "call" : "inline", c->adds,
                c->expected);
        if (c->final_known)
            fprintf(out, "final %" PRId64 ", lost %" PRId64 "\n", c->final, c->lost);
        else
            fprintf(out, "final unknown (the slot holds no int)\n");
    }
}

static void text_rc(FILE *out, const struct gh_result *r)
{
    if (r->strategy.rc != GH_RC_BIASED)
        return;
    fprintf(out, "rc          biased: %" PRIu64 " decrements by non-owners, %" PRIu64
            " objects queued for their owner, %" PRIu64 " merges\n",
            r->rc.shared_decrefs, r->rc.queued, r->rc.merged);
    if (r->strategy.sync == GH_SYNC_OBJLOCK)
        fprintf(out, "lock-free   list.get and dict.get read without the lock (QSBR); fell back to it: "
                "list %" PRIu64 ", dict %" PRIu64 "\n",
                r->rc.lockfree_list_fallbacks, r->rc.lockfree_dict_fallbacks);
}

static void text_alloc(FILE *out, const struct gh_result *r)
{
    const struct gh_alloc_stats *a = &r->alloc;
    char peak[32], live[32], after[32];
    gh_report_fmt_bytes(peak, sizeof peak, a->peak_bytes);
    gh_report_fmt_bytes(live, sizeof live, a->live_bytes);
    gh_report_fmt_bytes(after, sizeof after, r->alloc_live_after_teardown);
    fprintf(out,
            "alloc       peak %s, live %s; %" PRIu64 " allocs, %" PRIu64 " frees (%" PRIu64
            " large); arenas %" PRIu64 " (peak %" PRIu64 "), pools %" PRIu64 " (peak %" PRIu64
            "); %" PRIu64 " cross-thread frees; live after teardown %s%s\n",
            peak, live, a->allocs, a->frees, a->large_allocs, a->arenas_live, a->arenas_peak,
            a->pools_live, a->pools_peak, a->cross_thread_frees, after,
            r->alloc_live_after_teardown ? " (LEAK)" : "");
    if (r->peak_rss_kb > 0)
        fprintf(out, "memory      peak RSS %ld kB\n", r->peak_rss_kb);
}

static void text_checks(FILE *out, const struct gh_result *r)
{
    if (!r->checks || r->nchecks == 0)
        return;
    fprintf(out, "checks      %d of %d passed\n", r->nchecks - r->checks_failed, r->nchecks);
    for (int i = 0; i < r->nchecks; i++) {
        const struct gh_check_result *c = &r->checks[i];
        fprintf(out, "  %s  %s", c->pass ? "PASS" : "FAIL", c->text ? c->text : "?");
        if (c->detail[0])
            fprintf(out, "   (%s%s)", c->error ? "error: " : "", c->detail);
        fputc('\n', out);
    }
}

/* --inject: each point, what it did. */
static void text_inject(FILE *out, const struct gh_result *r)
{
    for (int i = 0; i < r->ninject; i++) {
        char spec[320];
        gh_inject_format(&r->inject[i], spec, sizeof spec);
        enum gh_inject_point p = r->inject[i].point;
        fprintf(out, "%-11s %s: %" PRIu64 " delays in %" PRIu64 " passes\n",
                i ? "" : "injected", spec, r->inject_fired[p], r->inject_passes[p]);
    }
}

static void stall_who(char *buf, size_t len, int who)
{
    if (who >= 0)
        snprintf(buf, len, "worker-%d", who);
    else if (who == -1)
        snprintf(buf, len, "the main thread");
    else if (who == -2)
        snprintf(buf, len, "nobody");
    else
        snprintf(buf, len, "unknown (its mutex stayed busy)");
}

void gh_report_stall(FILE *out, const struct gh_result *r)
{
    const struct gh_stall *st = r->stall;
    if (!st)
        return;
    char idle[32], lim[32], who[64];
    gh_report_fmt_ns(idle, sizeof idle, st->idle_ns);
    gh_report_fmt_ns(lim, sizeof lim, r->stall_ns);
    fprintf(out, "gilheap: stall: no worker made progress for %s (--stall %s; the runner was "
            "at: %s)\n", idle, lim, st->phase);
    if (r->has_gil) {
        stall_who(who, sizeof who, st->gil_holder);
        fprintf(out, "  GIL         %s, last taken by %s\n",
                st->gil_holder == -3 ? "?" : st->gil_locked ? "held" : "free", who);
    }
    stall_who(who, sizeof who, st->stw_stopper);
    fprintf(out, "  stop-world  %s%s\n", st->stw_stopper >= -1 ? "requested by " : "",
            st->stw_stopper == -2 ? "none in progress" : who);
    fprintf(out, "  collector   %s\n", st->collecting ? "collecting" : "idle");
    for (int i = 0; i < st->nthreads; i++) {
        const struct gh_stall_thread *t = &st->thread[i];
        fprintf(out, "  worker-%-3d  %-8s op %-12s ops %-10" PRIu64, t->index, t->phase,
                t->op ? t->op : "-", t->ops);
        const char *sep = " ";
        if (!r->has_gil) {
            fprintf(out, " %s%s", t->stw, t->qsbr_online ? ", qsbr online" : "");
            sep = ", ";
        } else if (st->gil_holder == t->index && st->gil_locked) {
            fprintf(out, " holds the GIL");
            sep = ", ";
        }
        if (t->wait_class >= 0) {
            fputs(sep, out);
            const char *cls = t->wait_class < GH_LOCK_NCLASSES ? gh_lock_class_names[t->wait_class]
                                                              : "a lock";
            if (t->holder >= 0)
                snprintf(who, sizeof who, "held by worker-%d", t->holder);
            else
                snprintf(who, sizeof who, "holder not recorded");
            fprintf(out, "waits for %s lock %#" PRIxPTR " (%s)", cls, t->wait_lock, who);
        }
        fputc('\n', out);
    }
    if (st->joined)
        fprintf(out, "  after the report the workers ended (an injected hang was released)\n");
    else
        fprintf(out, "  the workers did not end: exiting\n");
}

void gh_report_text(FILE *out, const struct gh_result *r)
{
    text_header(out, r);
    text_inject(out, r);
    text_throughput(out, r);
    text_locks(out, r);
    text_lock_profile(out, r);
    text_counters(out, r);
    text_hazards(out, r);
    text_rc(out, r);
    text_gc(out, r);
    text_alloc(out, r);
    text_checks(out, r);
    fprintf(out, "status      %s\n",
            (unsigned)r->status < GH_ARRAY_LEN(gh_status_names) ? gh_status_names[r->status]
                                                                : "?");
}
