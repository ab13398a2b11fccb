/* test_inject.c - the injection points' mechanism (base/inject.h): a
 * disarmed site is the five-byte nop, an armed one a jump to its stub; an
 * armed point changes no value the code around it keeps in registers; and
 * GH_INJECT_AT puts the delay between the load of its value and the store
 * made from it (the window a lost update needs). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/atomic.h"
#include "base/clock.h"
#include "base/inject.h"
#include "base/tstate.h"

static struct gh_inject_spec spec_of(enum gh_inject_point p, uint64_t delay_ns)
{
    return (struct gh_inject_spec){.point = p, .delay_ns = delay_ns, .p = 1.0,
                                   .threads = UINT64_MAX};
}

/* Integers and doubles live across the point on every pass, more than
 * the caller-saved registers of either kind (16 xmm); the result folds them all. */
static GH_NOINLINE double churn(uint64_t n)
{
    uint64_t a = 1, b = 2, c = 3, d = 5, e = 7, f = 11, g = 13, h = 17, k = 19, m = 23;
    double x = 1.5, y = 2.5, z = 3.5, u = 4.5, v = 5.5, w = 6.5, q = 7.5, r = 8.5;
    double x2 = 9.5, y2 = 10.5, z2 = 11.5, u2 = 12.5, v2 = 13.5, w2 = 14.5, q2 = 15.5;
    for (uint64_t i = 0; i < n; i++) {
        a = a * 31 + i;
        b ^= a >> 3;
        c += b * 7;
        d = (d << 1) ^ c;
        e += d >> 5;
        f ^= e * 3;
        g += f >> 2;
        h ^= g + i;
        k += h * 5;
        m ^= k >> 7;
        x = x * 0.5 + (double)(a & 15);
        y = y * 0.25 + x;
        z = z * 0.125 + y;
        u = u * 0.5 + z;
        v = v * 0.25 + u;
        w = w * 0.125 + v;
        q = q * 0.5 + w;
        r = r * 0.25 + q;
        x2 = x2 * 0.5 + r;
        y2 = y2 * 0.25 + x2;
        z2 = z2 * 0.125 + y2;
        u2 = u2 * 0.5 + z2;
        v2 = v2 * 0.25 + u2;
        w2 = w2 * 0.125 + v2;
        q2 = q2 * 0.5 + w2;
        GH_INJECT_AT(LOCK_SLOW, a);
        a += m;
        r += (double)(b & 3) + x + y + z + u + v + w + q;
        q2 += x2 + y2 + z2 + u2 + v2 + w2 + r;
    }
    return (double)(a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ k ^ m) + x + y + z + u + v + w + q + r +
           x2 + y2 + z2 + u2 + v2 + w2 + q2;
}

Test(inject, armed_point_keeps_registers, .timeout = 30)
{
    struct gh_tstate ts;
    memset(&ts, 0, sizeof ts);
    gh_tstate_bind(&ts, 0, "inject-test");
    const double plain = churn(10000);
    /* A probability below 1: each pass draws a double (the fire path uses
     * the floating registers too). */
    struct gh_inject_spec sp = spec_of(GH_INJ_LOCK_SLOW, 0);
    sp.p = 0.999999;
    cr_assert_eq(gh_inject_arm(&sp, 1, 1), 0, "arming: %s", strerror(errno));
    const double armed = churn(10000);
    gh_inject_disarm();
    cr_expect_eq(ts.inj.passes[GH_INJ_LOCK_SLOW], 10000, "%llu passes",
                 (unsigned long long)ts.inj.passes[GH_INJ_LOCK_SLOW]);
    cr_expect_geq(ts.inj.fired[GH_INJ_LOCK_SLOW], 9900);
    cr_expect_eq(memcmp(&plain, &armed, sizeof plain), 0, "armed %.17g, disarmed %.17g", armed,
                 plain);
    cr_expect_eq(memcmp(&plain, &(double){churn(10000)}, sizeof plain), 0, "after disarming");
    gh_tstate_unbind();
}

#if GH_INJECT_PATCHED
extern const struct gh_inject_site __start_gh_inject_sites[];
extern const struct gh_inject_site __stop_gh_inject_sites[];

static const uint8_t *site_at(const struct gh_inject_site *s)
{
    return (const uint8_t *)&s->at + s->at;
}

Test(inject, sites_are_nops_until_armed, .timeout = 30)
{
    static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    /* This binary links the library's objects it uses: its own two sites
     * (churn and bump, both lock.slow) at least. */
    const struct gh_inject_site *lo = __start_gh_inject_sites, *hi = __stop_gh_inject_sites;
    cr_assert_geq(hi - lo, 2, "only %td sites", hi - lo);
    for (const struct gh_inject_site *s = lo; s < hi; s++) {
        cr_assert_lt(s->point, (uint32_t)GH_INJ_COUNT);
        cr_expect_eq(memcmp(site_at(s), nop5, 5), 0, "a site of %s is not a nop",
                     gh_inject_docs[s->point].name);
    }
    struct gh_inject_spec sp = spec_of(GH_INJ_LOCK_SLOW, 0);
    cr_assert_eq(gh_inject_arm(&sp, 1, 1), 0);
    int armed = 0;
    for (const struct gh_inject_site *s = lo; s < hi; s++) {
        const uint8_t *at = site_at(s), *stub = (const uint8_t *)&s->stub + s->stub;
        if (s->point != GH_INJ_LOCK_SLOW) {
            cr_expect_eq(memcmp(at, nop5, 5), 0);
            continue;
        }
        int32_t rel;
        memcpy(&rel, at + 1, 4);
        cr_expect_eq(at[0], 0xe9, "an armed site is not a jmp");
        cr_expect_eq(at + 5 + rel, stub, "the jump does not reach the site's stub");
        armed++;
    }
    cr_expect_geq(armed, 2);
    gh_inject_disarm();
    for (const struct gh_inject_site *s = lo; s < hi; s++)
        cr_expect_eq(memcmp(site_at(s), nop5, 5), 0, "disarming left a jump");
}
#endif

/* The window: a thread loads a cell, hangs at GH_INJECT_AT on the loaded
 * value, and stores value + 1. The main thread writes the cell meanwhile
 * and releases the hang: the thread's store overwrites that write (a lost
 * update) only if the point lies between its load and its store. */
static uint64_t cell;
static int loading;

static void *bump(void *arg)
{
    (void)arg;
    struct gh_tstate ts;
    memset(&ts, 0, sizeof ts);
    gh_tstate_bind(&ts, 0, "inject-window");
    /* Release: pairs with the main thread's acquire load; nothing rides on
     * it but the start. */
    gh_atomic_store_release_int(&loading, 1);
    uint64_t c = gh_atomic_load_relaxed_u64(&cell);
    GH_INJECT_AT(LOCK_SLOW, c);
    gh_atomic_store_relaxed_u64(&cell, c + 1);
    gh_tstate_unbind();
    return NULL;
}

Test(inject, point_lies_between_load_and_store, .timeout = 60)
{
    int lost = 0;
    /* The thread may be descheduled between its start and its load for
     * longer than the main thread waits; a few tries make that moot. */
    for (int attempt = 0; attempt < 5 && !lost; attempt++) {
        gh_atomic_store_relaxed_u64(&cell, 0);
        gh_atomic_store_relaxed_int(&loading, 0);
        struct gh_inject_spec sp = spec_of(GH_INJ_LOCK_SLOW, GH_INJECT_HANG);
        cr_assert_eq(gh_inject_arm(&sp, 1, 1), 0);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, bump, NULL), 0);
        while (!gh_atomic_load_acquire_int(&loading))
            gh_sleep_ns(1000000u);
        gh_sleep_ns(100000000u);
        gh_atomic_store_relaxed_u64(&cell, 100);
        gh_inject_release();
        cr_assert_eq(pthread_join(th, NULL), 0);
        gh_inject_disarm();
        uint64_t v = gh_atomic_load_relaxed_u64(&cell);
        cr_assert(v == 1 || v == 101, "cell %llu", (unsigned long long)v);
        lost = v == 1;
    }
    cr_expect(lost, "the store never overwrote the write made during the hang");
}
