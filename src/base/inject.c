/* inject.c - what an armed injection point does (base/inject.h).
 * Layer: base. */
#include "base/inject.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

#if GH_INJECT_PATCHED
/* The linker's bounds of the sites' section; weak: a program with no
 * point has none. */
extern const struct gh_inject_site __start_gh_inject_sites[] __attribute__((weak));
extern const struct gh_inject_site __stop_gh_inject_sites[] __attribute__((weak));

static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

/* Writes len bytes at `at` in the program's text: the pages are made
 * writable (and kept executable: another thread, not running a point, may
 * be running code on them) and read-only again. */
static int text_write(uint8_t *at, const uint8_t *bytes, size_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)at & ~(page - 1), hi = ((uintptr_t)at + len + page - 1) & ~(page - 1);
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return -1;
    memcpy(at, bytes, len);
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC) != 0)
        return -1;
    __builtin___clear_cache((char *)at, (char *)at + len);
    return 0;
}

/* Every site of a point in mask becomes a jump to its call; the others the
 * nop again. */
static int patch(uint32_t mask)
{
    if (!__start_gh_inject_sites)
        return 0;
    for (const struct gh_inject_site *s = &__start_gh_inject_sites[0]; s < &__stop_gh_inject_sites[0];
         s++) {
        uint8_t *at = (uint8_t *)&s->at + s->at;
        const uint8_t *fire = (const uint8_t *)&s->fire + s->fire;
        uint8_t code[5];
        if (mask >> s->point & 1) {
            int32_t rel = (int32_t)(fire - (at + 5));
            code[0] = 0xe9; /* jmp rel32 */
            memcpy(code + 1, &rel, 4);
        } else {
            memcpy(code, nop5, 5);
        }
        if (memcmp(at, code, 5) != 0 && text_write(at, code, 5) != 0)
            return -1;
    }
    return 0;
}
#endif

int gh_inject_probe(void)
{
#if GH_INJECT_PATCHED
    if (__start_gh_inject_sites && &__start_gh_inject_sites[0] < &__stop_gh_inject_sites[0]) {
        const struct gh_inject_site *s = __start_gh_inject_sites;
        uint8_t *at = (uint8_t *)&s->at + s->at, same[5];
        memcpy(same, at, 5);
        return text_write(at, same, 5);
    }
#endif
    return 0;
}

int gh_inject_arm(const struct gh_inject_spec *specs, int n, uint64_t seed)
{
    uint32_t mask = 0;
    memset(armed, 0, sizeof armed);
    for (int i = 0; i < n; i++) {
        armed[specs[i].point] = specs[i];
        mask |= 1u << specs[i].point;
    }
    armed_seed = seed;
    gh_atomic_store_relaxed_int(&hang_released, 0);
#if GH_INJECT_PATCHED
    if (patch(mask) != 0) {
        int e = errno;
        (void)patch(0);
        errno = e;
        return -1;
    }
#endif
    gh_atomic_store_relaxed_u32(&gh__inject_armed, mask);
    return 0;
}

void gh_inject_disarm(void)
{
    gh_atomic_store_relaxed_u32(&gh__inject_armed, 0);
#if GH_INJECT_PATCHED
    (void)patch(0); /* what arming could write, disarming can */
#endif
    gh_inject_release();
}

void gh_inject_release(void) { gh_atomic_store_relaxed_int(&hang_released, 1); }

/* A delay; a sleep (and a hang) ends early when the watchdog releases
 * the injections. */
static void delay(uint64_t ns)
{
    if (ns <= GH_INJECT_SPIN_MAX_NS) {
        uint64_t end = gh_now_ns() + ns;
        while (gh_now_ns() < end)
            gh_cpu_relax();
        return;
    }
    uint64_t end = ns == GH_INJECT_HANG ? UINT64_MAX : gh_now_ns() + ns;
    for (uint64_t now = gh_now_ns(); now < end && !gh_atomic_load_relaxed_int(&hang_released);
         now = gh_now_ns())
        gh_sleep_ns(end - now < 1000000u ? end - now : 1000000u);
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
