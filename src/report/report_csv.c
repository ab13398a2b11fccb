/* report_csv.c - one CSV row per run, derived from the run's JSON object so
 * that the CSV and the JSON cannot disagree (and so `compare` can write rows
 * from the files its children left). Quoting follows RFC 4180. Columns and
 * units: docs/results.md.
 */
#include "report/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lockstat.h"  // gh_lock_class_names

/* ---- growing buffer ---------------------------------------------------- */

static int buf_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (*len + n + 1 > ncap)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

int gh_report_csv_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
    return buf_put(buf, len, cap, s, strlen(s));
}

int gh_report_csv_field(char **buf, size_t *len, size_t *cap, const char *field, int comma)
{
    if (comma && buf_put(buf, len, cap, ",", 1) != 0)
        return -ENOMEM;
    if (!field)
        return buf_put(buf, len, cap, "", 0);
    if (!strpbrk(field, ",\"\r\n"))
        return buf_put(buf, len, cap, field, strlen(field));
    if (buf_put(buf, len, cap, "\"", 1) != 0)
        return -ENOMEM;
    for (const char *p = field; *p; p++) {
        /* A quote inside a quoted field is written twice. */
        if (*p == '"' && buf_put(buf, len, cap, "\"", 1) != 0)
            return -ENOMEM;
        if (buf_put(buf, len, cap, p, 1) != 0)
            return -ENOMEM;
    }
    return buf_put(buf, len, cap, "\"", 1);
}

/* ---- header ------------------------------------------------------------ */

/* The collector's columns and where each comes from in the run's JSON. */
static const char *const gc_cols[][2] = {
    {"gc_collections", "gc.collections"},
    {"gc_collect_ns", "gc.collect_ns"},
    {"gc_pause_median_ns", "gc.pause_ns.median"},
    {"gc_pause_p99_ns", "gc.pause_ns.p99"},
    {"gc_pause_max_ns", "gc.pause_ns.max"},
    {"gc_tts_median_ns", "gc.tts_ns.median"},
    {"gc_tts_p99_ns", "gc.tts_ns.p99"},
    {"gc_tts_max_ns", "gc.tts_ns.max"},
    {"gc_examined", "gc.examined"},
    {"gc_collected", "gc.collected"},
    {"gc_finalized", "gc.finalized"},
    {"gc_resurrected", "gc.resurrected"},
    {"gc_uncollectable", "gc.uncollectable"},
    {"gc_garbage_at_exit", "gc.garbage_at_exit"},
};

/* Each lock class's distribution columns (--lock-profile; empty without
 * samples): the column's suffix and its path under locks.<class>. */
static const char *const dist_cols[][2] = {
    {"hold_p50_ns", "hold_ns.p50"},
    {"hold_p90_ns", "hold_ns.p90"},
    {"hold_p99_ns", "hold_ns.p99"},
    {"hold_max_ns", "hold_ns.max"},
    {"wait_p50_ns", "contended_wait_ns.p50"},
    {"wait_p90_ns", "contended_wait_ns.p90"},
    {"wait_p99_ns", "contended_wait_ns.p99"},
    {"wait_max_ns", "contended_wait_ns.max"},
};

const char *gh_report_csv_header(void)
{
    static char header[8192];
    if (header[0])
        return header;
    size_t off = (size_t)snprintf(header, sizeof header,
                                  "scenario,preset,sync,rc,immortal,alloc,gc,header,lock,unsafe,threads,seed,"
                                  "params,lock_profile,wall_ns,total_ops,ops_per_sec");
    for (int c = 0; c < GH_LOCK_NCLASSES; c++) {
        const char *n = gh_lock_class_names[c];
        off += (size_t)snprintf(header + off, sizeof header - off,
                                ",lock_%s_acquisitions,lock_%s_contended,lock_%s_wait_ns"
                                ",lock_%s_handoffs",
                                n, n, n, n);
        for (size_t i = 0; i < GH_ARRAY_LEN(dist_cols); i++)
            off += (size_t)snprintf(header + off, sizeof header - off, ",lock_%s_%s", n,
                                    dist_cols[i][0]);
    }
    off += (size_t)snprintf(header + off, sizeof header - off,
                            ",gil_switches,gil_drop_requests,gil_forced_handoffs");
    for (size_t i = 0; i < GH_ARRAY_LEN(gc_cols); i++)
        off += (size_t)snprintf(header + off, sizeof header - off, ",%s", gc_cols[i][0]);
    snprintf(header + off, sizeof header - off, ",peak_bytes,peak_rss_kb,checks_failed,status");
    return header;
}

/* ---- row --------------------------------------------------------------- */

/* The value at a dotted path ("config.preset"), or NULL. */
static const json_t *at(const json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        o = json_is_object(o) ? json_object_get(o, key) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

/* Formats a JSON scalar for a field; "" for NULL or a non-scalar. */
static void scalar(const json_t *v, char *out, size_t len)
{
    out[0] = 0;
    if (json_is_string(v))
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, len, "%.3f", json_real_value(v));
    else if (json_is_true(v))
        snprintf(out, len, "true");
    else if (json_is_false(v))
        snprintf(out, len, "false");
}

static int field_at(char **buf, size_t *len, size_t *cap, const json_t *run,
                    const char *path, const char *dflt, int comma)
{
    char v[512];
    const json_t *j = at(run, path);
    scalar(j, v, sizeof v);
    return gh_report_csv_field(buf, len, cap, j ? v : dflt, comma);
}

/* config.params as one field: "N=10000 G=2" (empty without params). */
static int params_field(char **buf, size_t *len, size_t *cap, const json_t *params)
{
    char v[1024];
    size_t o = 0;
    const char *key;
    json_t *val;
    v[0] = 0;
    if (json_is_object(params)) {
        json_object_foreach((json_t *)params, key, val) {
            if (o < sizeof v)
                o += (size_t)snprintf(v + o, sizeof v - o, "%s%s=%lld", o ? " " : "", key,
                                      (long long)json_integer_value(val));
        }
    }
    return gh_report_csv_field(buf, len, cap, v, 1);
}

int gh_report_csv_row(const json_t *run, char **buf, size_t *len, size_t *cap)
{
    static const char *const head[] = {
        "scenario.name", "config.preset", "config.sync", "config.rc", "config.immortal",
        "config.alloc", "config.gc", "config.header", "config.lock", "config.unsafe", "config.threads", "config.seed", "config.params", "config.lock_profile",
        "throughput.wall_ns", "throughput.total_ops", "throughput.ops_per_sec",
    };
    static const char *const gil[] = {
        "locks.gil.switches", "locks.gil.drop_requests", "locks.gil.forced_handoffs",
    };
    /* A run that has results but no entry for a lock class never took that
     * lock: its counts are truly 0. With no run at all, every field is empty. */
    const char *zero = run ? "0" : "";
    int rc = 0;
    char path[96], num[32];

    for (size_t i = 0; i < GH_ARRAY_LEN(head) && rc == 0; i++) {
        if (strcmp(head[i], "config.params") == 0)
            rc = params_field(buf, len, cap, at(run, head[i]));
        else
            rc = field_at(buf, len, cap, run, head[i], "", i > 0);
    }
    for (int c = 0; c < GH_LOCK_NCLASSES && rc == 0; c++) {
        static const char *const leaf[] = {"acquisitions", "contended", "wait_ns", "handoffs"};
        for (size_t k = 0; k < GH_ARRAY_LEN(leaf) && rc == 0; k++) {
            snprintf(path, sizeof path, "locks.%s.%s", gh_lock_class_names[c], leaf[k]);
            rc = field_at(buf, len, cap, run, path, zero, 1);
        }
        for (size_t k = 0; k < GH_ARRAY_LEN(dist_cols) && rc == 0; k++) {
            snprintf(path, sizeof path, "locks.%s.%s", gh_lock_class_names[c], dist_cols[k][1]);
            rc = field_at(buf, len, cap, run, path, "", 1);
        }
    }
    for (size_t i = 0; i < GH_ARRAY_LEN(gil) && rc == 0; i++)
        rc = field_at(buf, len, cap, run, gil[i], "", 1);
    for (size_t i = 0; i < GH_ARRAY_LEN(gc_cols) && rc == 0; i++)
        rc = field_at(buf, len, cap, run, gc_cols[i][1], "", 1);
    if (rc == 0)
        rc = field_at(buf, len, cap, run, "alloc.peak_bytes", "", 1);
    if (rc == 0)
        rc = field_at(buf, len, cap, run, "memory.peak_rss_kb", "", 1);
    if (rc == 0) {
        const json_t *checks = at(run, "checks");
        num[0] = 0;
        if (json_is_array(checks)) {
            size_t i, failed = 0;
            const json_t *c;
            json_array_foreach(checks, i, c) {
                if (!json_is_true(json_object_get(c, "pass")))
                    failed++;
            }
            snprintf(num, sizeof num, "%zu", failed);
        }
        rc = gh_report_csv_field(buf, len, cap, num, 1);
    }
    if (rc == 0)
        rc = field_at(buf, len, cap, run, "status", "", 1);
    return rc;
}
