/* inject.c - what an armed injection point does (base/inject.h).
 * Layer: base. */
#include "base/inject.h"

#include <string.h>

#include "base/clock.h"
#include "base/rng.h"
#include "base/tstate.h"

const struct gh_inject_doc gh_inject_docs[GH_INJ_COUNT] = {
#define GH_X_(e, name, where, breaks, keeps) [GH_INJ_##e] = {name, where, breaks, keeps},
    GH_INJECT_POINTS(GH_X_)
#undef GH_X_
};

uint32_t gh__inject_armed;

/* The armed specs, by point. Written by gh_inject_arm before the workers
 * run; read by them (the runner's barrier orders the writes first). */
static struct gh_inject_spec armed[GH_INJ_COUNT];
static uint64_t armed_seed;
/* Set by gh_inject_release (any thread), read by hung threads: relaxed, a
 * flag that carries no data. */
static int hang_released;

int gh_inject_find(const char *name)
{
    for (int i = 0; i < GH_INJ_COUNT; i++)
        if (!strcmp(gh_inject_docs[i].name, name))
            return i;
    return -1;
}

void gh_inject_arm(const struct gh_inject_spec *specs, int n, uint64_t seed)
{
    uint32_t mask = 0;
    memset(armed, 0, sizeof armed);
    for (int i = 0; i < n; i++) {
        armed[specs[i].point] = specs[i];
        mask |= 1u << specs[i].point;
    }
    armed_seed = seed;
    gh_atomic_store_relaxed_int(&hang_released, 0);
    gh_atomic_store_relaxed_u32(&gh__inject_armed, mask);
}

void gh_inject_disarm(void)
{
    gh_atomic_store_relaxed_u32(&gh__inject_armed, 0);
    gh_inject_release();
}

void gh_inject_release(void) { gh_atomic_store_relaxed_int(&hang_released, 1); }

static void delay(uint64_t ns)
{
    if (ns == GH_INJECT_HANG) {
        while (!gh_atomic_load_relaxed_int(&hang_released))
            gh_sleep_ns(1000000u);
    } else if (ns <= GH_INJECT_SPIN_MAX_NS) {
        uint64_t end = gh_now_ns() + ns;
        while (gh_now_ns() < end)
            gh_cpu_relax();
    } else {
        gh_sleep_ns(ns);
    }
}

void gh_inject_fire(enum gh_inject_point p)
{
    struct gh_tstate *ts = gh_tstate_get();
    /* Workers only: the main thread's setup and teardown run outside the
     * measured phase the injections are armed for. */
    if (!ts || ts->index < 0)
        return;
    const struct gh_inject_spec *sp = &armed[p];
    if (ts->index >= 64 ? sp->threads != UINT64_MAX : !(sp->threads >> ts->index & 1))
        return;
    uint64_t k = ++ts->inj.passes[p];
    if (sp->every) {
        if (k % sp->every)
            return;
    } else if (sp->p < 1.0) {
        if (!ts->inj.rng) /* this thread's stream of the run's seed */
            ts->inj.rng = armed_seed ^ ((uint64_t)ts->index + 1) * 0xd1b54a32d192ed03u;
        /* The top 53 bits as a uniform double in [0, 1). */
        double u = (double)(gh__splitmix64(&ts->inj.rng) >> 11) * 0x1p-53;
        if (u >= sp->p)
            return;
    }
    ts->inj.fired[p]++;
    delay(sp->delay_ns);
}
