/* gc.c - the collector's settings and statistics (see gc.h); the
 * collection itself is flavoured code (collect.fl.c). */
#include "gc/gc.h"

#include <string.h>

struct gh_gc_stats gh_gc_stats;
struct gh_gc_scan_hook gh__gc_scan_hook;

void gh_gc_set_scan_hook(void (*fn)(void *arg), void *arg)
{
    gh__gc_scan_hook.fn = fn;
    gh__gc_scan_hook.arg = arg;
}

/* Set between runs or by one thread; read by collecting threads. */
static struct {
    gh_gc_callback_fn fn;
    void *arg;
} callbacks[GH_GC_MAX_CALLBACKS];
static unsigned debug_flags;
/* The frames' visitor (gh_gc_set_roots): set between runs, read by the
 * collecting thread (thread creation orders the write before it). */
static gh_gc_roots_fn roots_fn;
static void *roots_ctx;

void gh_gc_set_roots(gh_gc_roots_fn fn, void *ctx)
{
    roots_fn = fn;
    roots_ctx = ctx;
}

void gh__gc_visit_roots(gh_visitproc visit, void *arg)
{
    if (roots_fn)
        roots_fn(visit, arg, roots_ctx);
}

void gh__gc_run_callbacks(const char *phase, const struct gh_gc_info *info)
{
    for (int i = 0; i < GH_GC_MAX_CALLBACKS; i++)
        if (callbacks[i].fn)
            callbacks[i].fn(phase, info, callbacks[i].arg);
}

int gh_gc_callback_add(gh_gc_callback_fn fn, void *arg)
{
    for (int i = 0; i < GH_GC_MAX_CALLBACKS; i++) {
        if (!callbacks[i].fn) {
            callbacks[i].fn = fn;
            callbacks[i].arg = arg;
            return 0;
        }
    }
    return -1;
}

void gh_gc_callback_remove(gh_gc_callback_fn fn, void *arg)
{
    for (int i = 0; i < GH_GC_MAX_CALLBACKS; i++)
        if (callbacks[i].fn == fn && callbacks[i].arg == arg)
            callbacks[i].fn = NULL;
}

void gh_gc_init(enum gh_gc_mode mode)
{
    gh_gcstate_init(mode);
    memset(&gh_gc_stats, 0, sizeof gh_gc_stats);
    debug_flags = 0;
    roots_fn = NULL;
    roots_ctx = NULL;
}

/* The switches are relaxed atomics: a thread deciding whether to schedule
 * a collection may read a stale value (CPython reads them unlocked too). */
void gh_gc_enable(void) { gh_atomic_store_relaxed_int(&gh_gcstate.enabled, 1); }
void gh_gc_disable(void) { gh_atomic_store_relaxed_int(&gh_gcstate.enabled, 0); }
bool gh_gc_isenabled(void) { return gh_atomic_load_relaxed_int(&gh_gcstate.enabled) != 0; }

void gh_gc_set_threshold(int64_t t0, int64_t t1, int64_t t2)
{
    gh_atomic_store_relaxed_i64(&gh_gcstate.gens[0].threshold, t0);
    gh_atomic_store_relaxed_i64(&gh_gcstate.gens[1].threshold, t1);
    gh_atomic_store_relaxed_i64(&gh_gcstate.gens[2].threshold, t2);
}

void gh_gc_get_threshold(int64_t out[GH_GC_NGENS])
{
    for (int i = 0; i < GH_GC_NGENS; i++)
        out[i] = gh_atomic_load_relaxed_i64(&gh_gcstate.gens[i].threshold);
}

void gh_gc_get_count(int64_t out[GH_GC_NGENS])
{
    if (gh_model.full_header) {
        /* The shared count plus what the calling thread has not flushed. */
        struct gh_tstate *ts = gh_tstate_get();
        out[0] = gh_atomic_load_relaxed_i64(&gh_gcstate.young_count) + (ts ? ts->gc_alloc_count : 0);
        out[1] = out[2] = 0;
        return;
    }
    for (int i = 0; i < GH_GC_NGENS; i++)
        out[i] = gh_gcstate.gens[i].count;
}

void gh_gc_get_stats(struct gh_gc_genstats out[GH_GC_NGENS])
{
    memcpy(out, gh_gc_stats.gen, sizeof gh_gc_stats.gen);
}

void gh_gc_set_debug(unsigned flags) { gh_atomic_store_relaxed_u32(&debug_flags, flags); }
unsigned gh_gc_get_debug(void) { return gh_atomic_load_relaxed_u32(&debug_flags); }
