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

/* The stubs' common call (base/inject.h): entered with the point pushed
 * below the return address. A frame of its own (so that a backtrace from
 * gh_inject_fire goes on through it), then the flags and every register
 * the System V ABI lets a call clobber: rax, rcx, rdx, rsi, rdi, r8-r11,
 * xmm0-15 (the code is built for baseline x86-64, which keeps no value in
 * the upper halves of the ymm registers), on a stack aligned to 16 for
 * the call. */
__asm__(".text\n\t"
        ".globl gh_inject_tramp\n\t"
        ".hidden gh_inject_tramp\n\t"
        ".type gh_inject_tramp, @function\n"
        "gh_inject_tramp:\n\t"
        "push %rbp\n\t"
        "mov %rsp, %rbp\n\t"
        "pushfq\n\t"
        "push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
        "push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
        "and $-16, %rsp\n\t"
        "sub $256, %rsp\n\t"
        "movaps %xmm0, 0(%rsp)\n\tmovaps %xmm1, 16(%rsp)\n\t"
        "movaps %xmm2, 32(%rsp)\n\tmovaps %xmm3, 48(%rsp)\n\t"
        "movaps %xmm4, 64(%rsp)\n\tmovaps %xmm5, 80(%rsp)\n\t"
        "movaps %xmm6, 96(%rsp)\n\tmovaps %xmm7, 112(%rsp)\n\t"
        "movaps %xmm8, 128(%rsp)\n\tmovaps %xmm9, 144(%rsp)\n\t"
        "movaps %xmm10, 160(%rsp)\n\tmovaps %xmm11, 176(%rsp)\n\t"
        "movaps %xmm12, 192(%rsp)\n\tmovaps %xmm13, 208(%rsp)\n\t"
        "movaps %xmm14, 224(%rsp)\n\tmovaps %xmm15, 240(%rsp)\n\t"
        "mov 16(%rbp), %rdi\n\t" /* the point: above the return address */
        "call gh_inject_fire\n\t"
        "movaps 0(%rsp), %xmm0\n\tmovaps 16(%rsp), %xmm1\n\t"
        "movaps 32(%rsp), %xmm2\n\tmovaps 48(%rsp), %xmm3\n\t"
        "movaps 64(%rsp), %xmm4\n\tmovaps 80(%rsp), %xmm5\n\t"
        "movaps 96(%rsp), %xmm6\n\tmovaps 112(%rsp), %xmm7\n\t"
        "movaps 128(%rsp), %xmm8\n\tmovaps 144(%rsp), %xmm9\n\t"
        "movaps 160(%rsp), %xmm10\n\tmovaps 176(%rsp), %xmm11\n\t"
        "movaps 192(%rsp), %xmm12\n\tmovaps 208(%rsp), %xmm13\n\t"
        "movaps 224(%rsp), %xmm14\n\tmovaps 240(%rsp), %xmm15\n\t"
        "lea -80(%rbp), %rsp\n\t" /* the ten pushes after the frame's */
        "pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
        "pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
        "popfq\n\t"
        "pop %rbp\n\t"
        "ret\n\t"
        ".size gh_inject_tramp, . - gh_inject_tramp");

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

/* Every site of a point in mask becomes a jump to its stub; the others the
 * nop again. */
static int patch(uint32_t mask)
{
    if (!__start_gh_inject_sites)
        return 0;
    for (const struct gh_inject_site *s = &__start_gh_inject_sites[0]; s < &__stop_gh_inject_sites[0];
         s++) {
        uint8_t *at = (uint8_t *)&s->at + s->at;
        const uint8_t *stub = (const uint8_t *)&s->stub + s->stub;
        uint8_t code[5];
        if (mask >> s->point & 1) {
            int32_t rel = (int32_t)(stub - (at + 5));
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
    /* Relaxed, pairs with nothing (the watchdog's progress count). */
    gh_atomic_store_relaxed_u64(&ts->inj.fired[p], ts->inj.fired[p] + 1);
    delay(sp->delay_ns);
}
