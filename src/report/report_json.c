/* report_json.c - the result object of one run, and the build
 * and machine objects every result file starts with.
 *
 * Keys with no data are left out rather than filled with zeros; see
 * docs/results.md for every key and its unit.
 */
#define _GNU_SOURCE
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/config.h"    // GH_VERSION, GH_GIT_COMMIT, ...
#include "base/hist.h"      // gh_hist_quantile
#include "base/lockprof.h"  // struct gh_lockprof
#include "base/lockstat.h"  // gh_lock_class_names

/* ---- building with one error flag ------------------------------------- */

/* jansson returns NULL (or -1) when memory runs out; instead of checking
 * every call, the builders below record the first failure in a flag and
 * the caller checks it once. */
struct jb {
    bool oom;
};

static void jb_set(struct jb *b, json_t *obj, const char *key, json_t *val)
{
    if (!val || json_object_set_new(obj, key, val) != 0)
        b->oom = true;
}

static void jb_append(struct jb *b, json_t *arr, json_t *val)
{
    if (!val || json_array_append_new(arr, val) != 0)
        b->oom = true;
}

/* JSON integers are signed 64-bit; counters never reach 2^63, but clamp
 * rather than wrap to a negative number if one ever did. */
/* Sets obj[key] only when val has something in it: an empty section is
 * absent, like any other key without data. */
static void jb_set_nonempty(struct jb *b, json_t *obj, const char *key, json_t *val)
{
    if (val && json_object_size(val) == 0) {
        json_decref(val);
        return;
    }
    jb_set(b, obj, key, val);
}

static json_t *ju64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jreal(double v)
{
    if (!isfinite(v))
        v = 0.0;
    return json_real(v);
}

static double rate(uint64_t count, uint64_t ns)
{
    return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

/* ---- build and machine ------------------------------------------------ */

json_t *gh_report_build_json(void)
{
    struct jb b = {false};
    json_t *o = json_object();
    if (!o)
        return NULL;
    jb_set(&b, o, "version", json_string(GH_VERSION));
    jb_set(&b, o, "commit", json_string(GH_GIT_COMMIT));
    jb_set(&b, o, "build_type", json_string(GH_BUILD_TYPE));
    jb_set(&b, o, "sanitize", json_string(GH_SANITIZE[0] ? GH_SANITIZE : "none"));
    jb_set(&b, o, "compiler", json_string(GH_COMPILER));
    if (b.oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void read_cpu_model(char *buf, size_t len)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "re");
    buf[0] = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        /* x86: "model name\t: AMD EPYC"; some ARM kernels: "Model\t\t: ..." */
        if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Model", 5) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\n");
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n >= len)
            n = len - 1;
        memcpy(buf, v, n);
        buf[n] = 0;
        break;
    }
    fclose(f);
}

const struct gh_machine *gh_report_machine(void)
{
    static struct gh_machine m;
    static bool done;
    if (!done) {
        struct utsname u;
        read_cpu_model(m.cpu_model, sizeof m.cpu_model);
        m.cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (uname(&u) == 0)
            snprintf(m.kernel, sizeof m.kernel, "%s", u.release);
        done = true;
    }
    return &m;
}

json_t *gh_report_machine_json(void)
{
    const struct gh_machine *m = gh_report_machine();
    struct jb b = {false};
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (m->cpu_model[0])
        jb_set(&b, o, "cpu_model", json_string(m->cpu_model));
    if (m->cores > 0)
        jb_set(&b, o, "cores", json_integer(m->cores));
    if (m->kernel[0])
        jb_set(&b, o, "kernel", json_string(m->kernel));
    jb_set(&b, o, "compiler", json_string(GH_COMPILER));
    if (b.oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the sections of a run -------------------------------------------- */

static json_t *scenario_json(struct jb *b, const struct gh_scenario *s)
{
    char hash[17];
    json_t *o = json_object();
    if (!o)
        return NULL;
    snprintf(hash, sizeof hash, "%016" PRIx64, s->content_hash);
    if (s->name)
        jb_set(b, o, "name", json_string(s->name));
    if (s->file)
        jb_set(b, o, "file", json_string(s->file));
    jb_set(b, o, "hash", json_string(hash));
    return o;
}

static json_t *config_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (r->strategy.preset)
        jb_set(b, o, "preset", json_string(r->strategy.preset));
    jb_set(b, o, "sync", json_string(gh_sync_names[r->strategy.sync]));
    jb_set(b, o, "rc", json_string(gh_rc_names[r->strategy.rc]));
    jb_set(b, o, "immortal", json_string(r->strategy.immortal ? "on" : "off"));
    jb_set(b, o, "alloc", json_string(gh_alloc_names[r->strategy.alloc]));
    if ((unsigned)r->strategy.gc < GH_GC_MODE_COUNT)
        jb_set(b, o, "gc", json_string(gh_gc_names[r->strategy.gc]));
    jb_set(b, o, "header", json_string(gh_header_names[gh_strategy_header(&r->strategy)]));
    jb_set(b, o, "lock", json_string(gh_lock_names[r->strategy.lock]));
    jb_set(b, o, "deferred", json_string(gh_deferred_names[r->strategy.deferred]));
    jb_set(b, o, "loads", json_string(gh_loads_names[r->strategy.loads]));
    if (gh_sync_has_gil(r->strategy.sync)) {
        jb_set(b, o, "switch_interval_ns", ju64(r->strategy.switch_ns));
        if (r->strategy.sync == GH_SYNC_GIL_TICKS)
            jb_set(b, o, "ticks", json_integer(r->strategy.ticks));
    }
    jb_set(b, o, "overridden", json_boolean(r->strategy.overridden));
    jb_set(b, o, "unsafe", json_boolean(r->unsafe_reason != NULL));
    if (r->unsafe_reason)
        jb_set(b, o, "unsafe_reason", json_string(r->unsafe_reason));
    jb_set(b, o, "threads", json_integer(r->threads));
    if (r->duration_ns)
        jb_set(b, o, "duration_ns", ju64(r->duration_ns));
    if (r->ops_per_thread)
        jb_set(b, o, "ops_per_thread", ju64(r->ops_per_thread));
    jb_set(b, o, "seed", ju64(r->seed));
    const struct gh_scenario *s = r->scenario;
    if (s && s->nparams) {
        json_t *p = json_object();
        for (int i = 0; p && i < s->nparams; i++)
            jb_set(b, p, s->params[i].name, json_integer(s->params[i].value));
        jb_set(b, o, "params", p);
    }
    jb_set(b, o, "latency_sample", json_integer(r->latency_sample));
    if (r->lockprof)
        jb_set(b, o, "lock_profile", json_integer(r->lockprof->hold_every));
    if (r->intervals_reported)
        jb_set(b, o, "report_every_ns", ju64(r->interval_ns));
    jb_set(b, o, "stall_ns", ju64(r->stall_ns));
    if (r->ninject) {
        json_t *a = json_array();
        for (int i = 0; a && i < r->ninject; i++) {
            char spec[320];
            gh_inject_format(&r->inject[i], spec, sizeof spec);
            jb_append(b, a, json_string(spec));
        }
        jb_set(b, o, "inject", a);
    }
    if (r->ncpus) {
        json_t *c = json_array();
        for (int i = 0; c && i < r->ncpus; i++)
            jb_append(b, c, json_integer(r->cpus[i]));
        jb_set(b, o, "cpus", c);
    }
    return o;
}

static const char *role_name(const struct gh_result *r, int role)
{
    const struct gh_scenario *s = r->scenario;
    if (s && role >= 0 && role < s->nroles && s->roles[role].name)
        return s->roles[role].name;
    return NULL;
}

int gh_report_fairness(const struct gh_result *r, struct gh_fairness *out, int max)
{
    int n = 0;
    if (!r->thread || r->threads < 2)
        return 0;
    for (int i = 0; i < r->threads; i++) {
        const struct gh_thread_result *t = &r->thread[i];
        int k = 0;
        while (k < n && out[k].role != t->role)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            out[n++] = (struct gh_fairness){t->role, 0, UINT64_MAX, 0};
        }
        out[k].threads++;
        if (t->ops < out[k].min_ops)
            out[k].min_ops = t->ops;
        if (t->ops > out[k].max_ops)
            out[k].max_ops = t->ops;
    }
    int m = 0;
    for (int k = 0; k < n; k++)
        if (out[k].threads >= 2)
            out[m++] = out[k];
    return m;
}

/* --inject: what each armed point did. */
static json_t *inject_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    for (int i = 0; o && i < r->ninject; i++) {
        enum gh_inject_point p = r->inject[i].point;
        json_t *e = json_object();
        if (e) {
            jb_set(b, e, "passes", ju64(r->inject_passes[p]));
            jb_set(b, e, "delays", ju64(r->inject_fired[p]));
        }
        jb_set(b, o, gh_inject_docs[p].name, e);
    }
    return o;
}

static json_t *who_json(int who)
{
    return who >= -1 ? json_integer(who) : json_null();
}

/* The stall watchdog's diagnosis. */
static json_t *stall_json(struct jb *b, const struct gh_result *r)
{
    const struct gh_stall *st = r->stall;
    json_t *o = json_object();
    if (!o)
        return NULL;
    jb_set(b, o, "idle_ns", ju64(st->idle_ns));
    jb_set(b, o, "runner_phase", json_string(st->phase));
    if (r->has_gil) {
        jb_set(b, o, "gil_holder", who_json(st->gil_holder));
        jb_set(b, o, "gil_locked", json_boolean(st->gil_locked));
    }
    jb_set(b, o, "stw_stopper", who_json(st->stw_stopper));
    jb_set(b, o, "collecting", json_boolean(st->collecting));
    jb_set(b, o, "workers_ended", json_boolean(st->joined));
    json_t *a = json_array();
    for (int i = 0; a && i < st->nthreads; i++) {
        const struct gh_stall_thread *t = &st->thread[i];
        json_t *e = json_object();
        if (e) {
            jb_set(b, e, "index", json_integer(t->index));
            jb_set(b, e, "phase", json_string(t->phase));
            jb_set(b, e, "op", t->op ? json_string(t->op) : json_null());
            jb_set(b, e, "ops", ju64(t->ops));
            if (!r->has_gil)
                jb_set(b, e, "stw", json_string(t->stw));
            jb_set(b, e, "qsbr_online", json_boolean(t->qsbr_online));
            if (t->wait_class >= 0) {
                json_t *w = json_object();
                if (w) {
                    jb_set(b, w, "class", json_string(t->wait_class < GH_LOCK_NCLASSES
                                                          ? gh_lock_class_names[t->wait_class]
                                                          : "other"));
                    char addr[32];
                    snprintf(addr, sizeof addr, "%#" PRIxPTR, t->wait_lock);
                    jb_set(b, w, "lock", json_string(addr));
                    jb_set(b, w, "holder", t->holder >= 0 ? json_integer(t->holder)
                                                          : json_null());
                }
                jb_set(b, e, "waits_for", w);
            }
        }
        jb_append(b, a, e);
    }
    jb_set(b, o, "threads", a);
    return o;
}

static json_t *throughput_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    jb_set(b, o, "total_ops", ju64(r->total_ops));
    jb_set(b, o, "wall_ns", ju64(r->wall_ns));
    if (r->wall_ns)
        jb_set(b, o, "ops_per_sec", jreal(rate(r->total_ops, r->wall_ns)));

    if (r->thread && r->threads > 0) {
        json_t *pt = json_array();
        for (int i = 0; pt && i < r->threads; i++) {
            const struct gh_thread_result *t = &r->thread[i];
            json_t *e = json_object();
            if (!e) {
                b->oom = true;
                break;
            }
            const char *role = role_name(r, t->role);
            jb_set(b, e, "index", json_integer(t->index));
            if (role)
                jb_set(b, e, "role", json_string(role));
            jb_set(b, e, "ops", ju64(t->ops));
            if (t->elapsed_ns)
                jb_set(b, e, "ops_per_sec", jreal(rate(t->ops, t->elapsed_ns)));
            jb_append(b, pt, e);
        }
        jb_set(b, o, "per_thread", pt);
        struct gh_fairness fv[16];
        int nf = gh_report_fairness(r, fv, 16);
        json_t *fa = nf ? json_array() : NULL;
        for (int i = 0; fa && i < nf; i++) {
            json_t *e = json_object();
            if (!e) {
                b->oom = true;
                break;
            }
            const char *role = role_name(r, fv[i].role);
            if (role)
                jb_set(b, e, "role", json_string(role));
            jb_set(b, e, "threads", json_integer(fv[i].threads));
            jb_set(b, e, "min_ops", ju64(fv[i].min_ops));
            jb_set(b, e, "max_ops", ju64(fv[i].max_ops));
            if (fv[i].min_ops)
                jb_set(b, e, "max_over_min", jreal((double)fv[i].max_ops / (double)fv[i].min_ops));
            jb_append(b, fa, e);
        }
        if (fa)
            jb_set(b, o, "fairness", fa);
    }
    if (r->intervals_reported) {
        json_t *iv = json_array();
        for (int k = 0; iv && k < r->nintervals; k++) {
            const struct gh_interval *v = &r->intervals[k];
            const uint64_t *ops = &r->interval_ops[(size_t)k * (size_t)r->threads];
            json_t *e = json_object(), *pt = json_array();
            if (!e || !pt) {
                json_decref(e);
                json_decref(pt);
                b->oom = true;
                break;
            }
            uint64_t total = 0;
            for (int i = 0; i < r->threads; i++) {
                total += ops[i];
                jb_append(b, pt, jreal(rate(ops[i], v->dur_ns)));
            }
            jb_set(b, e, "t_ns", ju64(v->t_ns));
            jb_set(b, e, "dur_ns", ju64(v->dur_ns));
            jb_set(b, e, "ops_per_sec", jreal(rate(total, v->dur_ns)));
            jb_set(b, e, "per_thread", pt);
            jb_set(b, e, "live_bytes", ju64(v->live_bytes));
            jb_set(b, e, "live_blocks", json_integer(v->live_blocks));
            jb_append(b, iv, e);
        }
        jb_set(b, o, "intervals", iv);
    }

    json_t *po = json_object();
    for (int k = 0; po && k < GH_OP_COUNT; k++) {
        const struct gh_op_result *op = &r->op[k];
        if (op->done == 0 && op->failed == 0)
            continue; /* never ran: absent */
        json_t *e = json_object();
        if (!e) {
            b->oom = true;
            break;
        }
        jb_set(b, e, "done", ju64(op->done));
        jb_set(b, e, "failed", ju64(op->failed));
        if (r->wall_ns)
            jb_set(b, e, "ops_per_sec", jreal(rate(op->done + op->failed, r->wall_ns)));
        jb_set(b, po, gh_op_names[k], e);
    }
    jb_set_nonempty(b, o, "per_op", po);
    return o;
}

static json_t *latency_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    for (int k = 0; o && k < GH_OP_COUNT; k++) {
        const struct gh_hist *h = &r->op[k].latency;
        if (h->count == 0)
            continue;
        json_t *e = json_object();
        if (!e) {
            b->oom = true;
            break;
        }
        jb_set(b, e, "samples", ju64(h->count));
        jb_set(b, e, "p50", ju64(gh_hist_quantile(h, 0.50)));
        jb_set(b, e, "p90", ju64(gh_hist_quantile(h, 0.90)));
        jb_set(b, e, "p99", ju64(gh_hist_quantile(h, 0.99)));
        jb_set(b, e, "p999", ju64(gh_hist_quantile(h, 0.999)));
        jb_set(b, e, "max", ju64(h->max));
        jb_set(b, o, gh_op_names[k], e);
    }
    return o;
}

/* {"samples", "p50", "p90", "p99", "max"} of a lock profile's histogram
 * (ns); NULL (absent) when it holds nothing. */
static json_t *dist_json(struct jb *b, const struct gh_hist *h)
{
    if (h->count == 0)
        return NULL;
    json_t *e = json_object();
    if (!e) {
        b->oom = true;
        return NULL;
    }
    jb_set(b, e, "samples", ju64(h->count));
    jb_set(b, e, "p50", ju64(gh_hist_quantile(h, 0.50)));
    jb_set(b, e, "p90", ju64(gh_hist_quantile(h, 0.90)));
    jb_set(b, e, "p99", ju64(gh_hist_quantile(h, 0.99)));
    jb_set(b, e, "max", ju64(h->max));
    return e;
}

/* locks.<class> for every class that was acquired at all. The GIL's own
 * counters (switches, drop requests, forced handoffs) join locks.gil: the
 * lock class and the GIL are the same lock, and one key cannot name two
 * objects. */
static json_t *locks_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    for (int c = 0; o && c < GH_LOCK_NCLASSES; c++) {
        const struct gh_lockstat *ls = &r->locks[c];
        bool gil = (c == GH_LOCK_gil && r->has_gil);
        if (ls->acquisitions == 0 && !gil)
            continue;
        json_t *e = json_object();
        if (!e) {
            b->oom = true;
            break;
        }
        if (ls->acquisitions) {
            jb_set(b, e, "acquisitions", ju64(ls->acquisitions));
            jb_set(b, e, "contended", ju64(ls->contended));
            jb_set(b, e, "contended_pct",
                   jreal(100.0 * (double)ls->contended / (double)ls->acquisitions));
            jb_set(b, e, "wait_ns", ju64(ls->wait_ns));
            jb_set(b, e, "wait_max_ns", ju64(ls->wait_max_ns));
            jb_set(b, e, "handoffs", ju64(ls->handoffs));
        }
        if (r->lockprof) {
            json_t *h = dist_json(b, &r->lockprof->hold[c]);
            json_t *w = dist_json(b, &r->lockprof->wait[c]);
            if (h)
                jb_set(b, e, "hold_ns", h);
            if (w)
                jb_set(b, e, "contended_wait_ns", w);
        }
        if (gil) {
            jb_set(b, e, "switches", ju64(r->gil.switches));
            jb_set(b, e, "drop_requests", ju64(r->gil.drop_requests));
            jb_set(b, e, "forced_handoffs", ju64(r->gil.forced_handoffs));
        }
        jb_set(b, o, gh_lock_class_names[c], e);
    }
    return o;
}

/* {"count", "median", "p99", "max"} of a histogram of nanoseconds; NULL
 * (absent) when it holds nothing. */
static json_t *hist_summary(struct jb *b, const struct gh_hist *h)
{
    if (h->count == 0)
        return NULL;
    json_t *o = json_object();
    if (!o) {
        b->oom = true;
        return NULL;
    }
    jb_set(b, o, "count", ju64(h->count));
    jb_set(b, o, "median", ju64(gh_hist_quantile(h, 0.50)));
    jb_set(b, o, "p99", ju64(gh_hist_quantile(h, 0.99)));
    jb_set(b, o, "max", ju64(h->max));
    return o;
}

/* The cyclic collector. gc=off has no collector: only the mode. */
static json_t *gc_json(struct jb *b, const struct gh_result *r)
{
    const struct gh_gc_stats *g = &r->gc;
    json_t *o = json_object();
    if (!o)
        return NULL;
    if ((unsigned)r->strategy.gc >= GH_GC_MODE_COUNT)
        return o;
    jb_set(b, o, "mode", json_string(gh_gc_names[r->strategy.gc]));
    if (r->strategy.gc == GH_GC_OFF)
        return o;
    bool generational = r->strategy.gc == GH_GC_GENERATIONAL;
    jb_set(b, o, "enabled", json_boolean(r->gc_enabled));
    json_t *t = json_array();
    for (int i = 0; t && i < (generational ? GH_GC_NGENS : 1); i++)
        jb_append(b, t, json_integer(r->gc_thresholds[i]));
    jb_set(b, o, "thresholds", t);
    uint64_t collections = 0;
    for (int i = 0; i < GH_GC_NGENS; i++)
        collections += g->gen[i].collections;
    jb_set(b, o, "collections", ju64(collections));
    if (generational) {
        json_t *gens = json_array();
        for (int i = 0; gens && i < GH_GC_NGENS; i++) {
            json_t *e = json_object();
            if (!e) {
                b->oom = true;
                break;
            }
            jb_set(b, e, "collections", ju64(g->gen[i].collections));
            jb_set(b, e, "collected", ju64(g->gen[i].collected));
            jb_set(b, e, "uncollectable", ju64(g->gen[i].uncollectable));
            jb_append(b, gens, e);
        }
        jb_set(b, o, "generations", gens);
    }
    jb_set(b, o, "collect_ns", ju64(g->collect_ns));
    json_t *h = hist_summary(b, &g->pause);
    if (h)
        jb_set(b, o, "pause_ns", h);
    h = hist_summary(b, &g->tts);
    if (h)
        jb_set(b, o, "tts_ns", h);
    jb_set(b, o, "examined", ju64(g->examined));
    jb_set(b, o, "unreachable", ju64(g->unreachable));
    jb_set(b, o, "collected", ju64(g->collected));
    jb_set(b, o, "finalized", ju64(g->finalized));
    jb_set(b, o, "resurrected", ju64(g->resurrected));
    jb_set(b, o, "uncollectable", ju64(g->uncollectable));
    jb_set(b, o, "untracked_tuples", ju64(g->untracked_tuples));
    jb_set(b, o, "untracked_dicts", ju64(g->untracked_dicts));
    jb_set(b, o, "weakrefs_cleared", ju64(g->weakrefs_cleared));
    jb_set(b, o, "weakref_callbacks", ju64(g->weakref_callbacks));
    jb_set(b, o, "garbage_at_exit", json_integer(r->gc_garbage_at_exit));
    if (r->strategy.gc == GH_GC_NOSTOP) {
        json_t *n = json_object();
        if (n) {
            jb_set(b, n, "live_collected", ju64(g->nostop_live_collected));
            jb_set(b, n, "freed_met", ju64(g->nostop_freed_met));
            jb_set(b, n, "abandoned", ju64(g->nostop_abandoned));
            jb_set(b, o, "nostop", n);
        } else {
            b->oom = true;
        }
    }
    return o;
}

static json_t *alloc_json(struct jb *b, const struct gh_result *r)
{
    const struct gh_alloc_stats *a = &r->alloc;
    json_t *o = json_object();
    if (!o)
        return NULL;
    jb_set(b, o, "live_bytes", ju64(a->live_bytes));
    jb_set(b, o, "peak_bytes", ju64(a->peak_bytes));
    jb_set(b, o, "allocs", ju64(a->allocs));
    jb_set(b, o, "frees", ju64(a->frees));
    jb_set(b, o, "large_allocs", ju64(a->large_allocs));
    jb_set(b, o, "arenas_live", ju64(a->arenas_live));
    jb_set(b, o, "arenas_peak", ju64(a->arenas_peak));
    jb_set(b, o, "arenas_allocated", ju64(a->arenas_allocated));
    jb_set(b, o, "arenas_freed", ju64(a->arenas_freed));
    jb_set(b, o, "pools_live", ju64(a->pools_live));
    jb_set(b, o, "pools_peak", ju64(a->pools_peak));
    jb_set(b, o, "cross_thread_frees", ju64(a->cross_thread_frees));
    jb_set(b, o, "live_after_teardown", ju64(r->alloc_live_after_teardown));
    return o;
}

static json_t *checks_json(struct jb *b, const struct gh_result *r)
{
    json_t *a = json_array();
    for (int i = 0; a && r->checks && i < r->nchecks; i++) {
        const struct gh_check_result *c = &r->checks[i];
        json_t *e = json_object();
        if (!e) {
            b->oom = true;
            break;
        }
        jb_set(b, e, "expr", json_string(c->text ? c->text : ""));
        jb_set(b, e, "pass", json_boolean(c->pass));
        if (c->error)
            jb_set(b, e, "error", json_true());
        if (c->detail[0])
            jb_set(b, e, "detail", json_string(c->detail));
        jb_append(b, a, e);
    }
    return a;
}

/* rc: what the count strategy's slow paths did (rc=biased only; the fast
 * paths are not counted). */
static json_t *rc_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object();
    if (!o || r->strategy.rc != GH_RC_BIASED)
        return o;
    json_t *bi = json_object();
    if (bi) {
        jb_set(b, bi, "shared_decrefs", ju64(r->rc.shared_decrefs));
        jb_set(b, bi, "queued", ju64(r->rc.queued));
        jb_set(b, bi, "merged", ju64(r->rc.merged));
        if (r->strategy.sync == GH_SYNC_OBJLOCK) {
            jb_set(b, bi, "lockfree_list_fallbacks", ju64(r->rc.lockfree_list_fallbacks));
            jb_set(b, bi, "lockfree_dict_fallbacks", ju64(r->rc.lockfree_dict_fallbacks));
        }
    }
    jb_set(b, o, "biased", bi);
    return o;
}

/* counters: each global.add target, its adds against its value. */
static json_t *counters_json(struct jb *b, const struct gh_result *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->ncounters; i++) {
        const struct gh_counter_result *c = &r->counters[i];
        json_t *e = json_object();
        if (!e) {
            b->oom = true;
            break;
        }
        jb_set(b, e, "name", json_string(c->name));
        jb_set(b, e, "via", json_string(c->via_call ? "call" : "inline"));
        jb_set(b, e, "adds", ju64(c->adds));
        jb_set(b, e, "initial", json_integer(c->initial));
        jb_set(b, e, "expected", json_integer(c->expected));
        jb_set(b, e, "final", c->final_known ? json_integer(c->final) : json_null());
        jb_set(b, e, "lost", c->final_known ? json_integer(c->lost) : json_null());
        jb_append(b, a, e);
    }
    return a;
}

/* hazards: what the checked mode caught. */
static json_t *hazards_json(struct jb *b, const struct gh_result *r)
{
    json_t *o = json_object(), *counts = json_object(), *ex = json_array();
    if (!o || !counts || !ex) {
        json_decref(o);
        json_decref(counts);
        json_decref(ex);
        b->oom = true;
        return NULL;
    }
    jb_set(b, o, "checked", json_boolean(r->checked));
    for (int k = 0; k < GH_HAZARD_COUNT; k++) {
        jb_set(b, counts, gh_hazard_names[k], ju64(r->hazards.n[k]));
        if (!r->hazards.n[k])
            continue;
        const struct gh_hazard_example *e = &r->hazards.first[k];
        json_t *x = json_object();
        if (x) {
            jb_set(b, x, "kind", json_string(gh_hazard_names[k]));
            jb_set(b, x, "thread", json_integer(e->thread));
            jb_set(b, x, "op", e->op ? json_string(e->op) : json_null());
            jb_set(b, x, "type", e->type ? json_string(e->type) : json_null());
            if (e->count >= 0) { /* the census's: the count against the references */
                jb_set(b, x, "count", json_integer(e->count));
                jb_set(b, x, "refs", json_integer(e->refs));
            }
        }
        if (!x || json_array_append_new(ex, x) != 0)
            b->oom = true;
    }
    jb_set(b, o, "total", ju64(r->hazards_total));
    json_t *cs = json_object();
    if (cs) { /* the censuses at quiescent points (gc/census.h) */
        jb_set(b, cs, "taken", ju64(r->census.taken));
        jb_set(b, cs, "skipped", ju64(r->census.skipped));
        jb_set(b, cs, "faults", ju64(r->census.faults));
        jb_set(b, cs, "objects", ju64(r->census.objects));
        jb_set(b, cs, "ns", ju64(r->census.ns));
        jb_set(b, o, "census", cs);
    } else {
        b->oom = true;
    }
    jb_set(b, o, "counts", counts);
    jb_set(b, o, "examples", ex);
    return o;
}

int gh_report_json(const struct gh_result *r, json_t **out)
{
    struct jb b = {false};
    json_t *o = json_object();
    *out = NULL;
    if (!o)
        return -ENOMEM;
    jb_set(&b, o, "schema", json_integer(GH_REPORT_SCHEMA));
    jb_set(&b, o, "gilheap", gh_report_build_json());
    jb_set(&b, o, "machine", gh_report_machine_json());
    json_t *env = gh_report_env_json(r->threads);
    if (env)
        jb_set(&b, o, "environment", env);
    if (r->scenario)
        jb_set(&b, o, "scenario", scenario_json(&b, r->scenario));
    jb_set(&b, o, "config", config_json(&b, r));
    jb_set(&b, o, "throughput", throughput_json(&b, r));
    jb_set_nonempty(&b, o, "latency", latency_json(&b, r));
    jb_set_nonempty(&b, o, "locks", locks_json(&b, r));
    jb_set_nonempty(&b, o, "rc", rc_json(&b, r));
    jb_set_nonempty(&b, o, "gc", gc_json(&b, r));
    jb_set(&b, o, "alloc", alloc_json(&b, r));
    if (r->peak_rss_kb > 0) {
        json_t *m = json_object();
        if (m)
            jb_set(&b, m, "peak_rss_kb", json_integer(r->peak_rss_kb));
        jb_set(&b, o, "memory", m);
    }
    if (r->ncounters)
        jb_set(&b, o, "counters", counters_json(&b, r));
    jb_set(&b, o, "hazards", hazards_json(&b, r));
    jb_set(&b, o, "checks", checks_json(&b, r));
    if (r->ninject)
        jb_set(&b, o, "inject", inject_json(&b, r));
    if (r->stall)
        jb_set(&b, o, "stall", stall_json(&b, r));
    if ((unsigned)r->status < GH_ARRAY_LEN(gh_status_names))
        jb_set(&b, o, "status", json_string(gh_status_names[r->status]));
    if (b.oom) {
        json_decref(o);
        return -ENOMEM;
    }
    *out = o;
    return 0;
}
