/* inject_arg.c - --inject's argument, POINT=DELAY[@P][:THREADS], read and
 * written back (base/inject.h has the points).
 *
 *   DELAY    a duration with a unit (20us, 1ms), or `hang`
 *   @P       how often: a probability (0.01, or 1%), or `1inN`: every Nth
 *            pass of a thread; without it, every pass
 *   :THREADS the workers it applies to: indices and ranges below 64
 *            (0, 0,2, 1-3); without it, every worker
 *
 * Layer: scenario.
 */
#include "scenario/run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *text, const char *why)
{
    snprintf(err, errlen, "--inject '%s': %s", text, why);
    return -1;
}

/* A decimal number of digits only, at most max; NULL end on no digits. */
static const char *digits(const char *p, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = p;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return NULL;
    }
    *out = v;
    return p == s ? NULL : p;
}

static int parse_threads(const char *p, uint64_t *mask)
{
    *mask = 0;
    for (;;) {
        uint64_t a, b;
        p = digits(p, 63, &a);
        if (!p)
            return -1;
        b = a;
        if (*p == '-' && !(p = digits(p + 1, 63, &b)))
            return -1;
        if (b < a)
            return -1;
        for (uint64_t i = a; i <= b; i++)
            *mask |= UINT64_C(1) << i;
        if (!*p)
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

static int parse_how_often(const char *p, struct gh_inject_spec *sp)
{
    uint64_t n;
    const char *in = strstr(p, "in");
    if (in) { /* 1inN */
        if (in != p + 1 || p[0] != '1' || !(p = digits(in + 2, UINT32_MAX, &n)) || *p || !n)
            return -1;
        sp->every = n;
        return 0;
    }
    char *end;
    if (!((*p >= '0' && *p <= '9') || *p == '.'))
        return -1;
    double v = strtod(p, &end);
    if (*end == '%' && !end[1])
        v /= 100;
    else if (*end)
        return -1;
    if (!(v > 0 && v <= 1))
        return -1;
    sp->p = v;
    return 0;
}

int gh_inject_parse(const char *text, struct gh_inject_spec *out, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        return fail(err, errlen, text, "too long");
    strcpy(buf, text);
    *out = (struct gh_inject_spec){.p = 1, .threads = UINT64_MAX};
    char *eq = strchr(buf, '=');
    if (!eq)
        return fail(err, errlen, text,
                    "expected POINT=DELAY[@P][:THREADS], such as rc.update=20us@1%:0");
    *eq = 0;
    int point = gh_inject_find(buf);
    if (point < 0) {
        char names[512] = "";
        for (int i = 0; i < GH_INJ_COUNT; i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, gh_inject_docs[i].name, sizeof names - strlen(names) - 1);
        }
        char why[1024];
        snprintf(why, sizeof why, "unknown point '%s': expected one of %s (gilheap list --inject)",
                 buf, names);
        return fail(err, errlen, text, why);
    }
    out->point = (enum gh_inject_point)point;
    char *delay = eq + 1;
    char *colon = strchr(delay, ':');
    if (colon) {
        *colon = 0;
        if (parse_threads(colon + 1, &out->threads) != 0)
            return fail(err, errlen, text,
                        "THREADS: expected worker indices and ranges from 0 to 63, such as "
                        "0, 0,2 or 1-3");
    }
    char *at = strchr(delay, '@');
    if (at) {
        *at = 0;
        if (parse_how_often(at + 1, out) != 0)
            return fail(err, errlen, text,
                        "@P: expected a probability in (0, 1] (0.01 or 1%) or 1inN (every "
                        "Nth pass, N >= 1)");
    }
    if (!strcmp(delay, "hang")) {
        out->delay_ns = GH_INJECT_HANG;
    } else if (gh_parse_duration(delay, &out->delay_ns) != 0 || out->delay_ns == 0 ||
               out->delay_ns > UINT64_C(60000000000)) {
        return fail(err, errlen, text,
                    "DELAY: expected a duration with a unit from 1ns to 60s (20us, 1ms), or "
                    "`hang`");
    }
    return 0;
}

void gh_inject_format(const struct gh_inject_spec *sp, char *buf, size_t len)
{
    char delay[32], often[32] = "", threads[256] = "";
    if (sp->delay_ns == GH_INJECT_HANG)
        snprintf(delay, sizeof delay, "hang");
    else if (sp->delay_ns % 1000000000u == 0)
        snprintf(delay, sizeof delay, "%" PRIu64 "s", sp->delay_ns / 1000000000u);
    else if (sp->delay_ns % 1000000u == 0)
        snprintf(delay, sizeof delay, "%" PRIu64 "ms", sp->delay_ns / 1000000u);
    else if (sp->delay_ns % 1000u == 0)
        snprintf(delay, sizeof delay, "%" PRIu64 "us", sp->delay_ns / 1000u);
    else
        snprintf(delay, sizeof delay, "%" PRIu64 "ns", sp->delay_ns);
    if (sp->every)
        snprintf(often, sizeof often, "@1in%" PRIu64, sp->every);
    else if (sp->p < 1) /* the shortest that reads back the same */
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(often, sizeof often, "@%.*g", prec, sp->p);
            if (strtod(often + 1, NULL) == sp->p)
                break;
        }
    if (sp->threads != UINT64_MAX) {
        size_t n = 0;
        threads[n++] = ':';
        for (int i = 0; i < 64 && n + 4 < sizeof threads; i++)
            if (sp->threads >> i & 1)
                n += (size_t)snprintf(threads + n, sizeof threads - n, "%s%d",
                                      n > 1 ? "," : "", i);
    }
    snprintf(buf, len, "%s=%s%s%s", gh_inject_docs[sp->point].name, delay, often, threads);
}
