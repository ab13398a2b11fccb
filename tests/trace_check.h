/* trace_check.h - checks a file against the rules of the Chrome trace-event
 * format (the JSON Object Format that Perfetto and chrome://tracing load),
 * as its specification states them:
 *
 *   - an object whose "traceEvents" is an array of event objects;
 *     "displayTimeUnit", when present, is "ms" or "ns";
 *   - every event has a "ph" string and an integer "pid";
 *   - "X" (complete): name, numeric ts and dur >= 0, integer tid;
 *   - "i" (instant): name, ts, tid, scope "s" one of g, p, t;
 *   - "M" (metadata): process_name / thread_name with args.name a string,
 *     process_sort_index / thread_sort_index with an integer
 *     args.sort_index;
 *   - "s" / "f" (flow): name, cat, id, ts, tid; each id once as "s" and
 *     once as "f", the "s" not after the "f";
 *   - "C" (counter): name, ts, args an object of numbers (no tid: a
 *     counter belongs to the process);
 *   - "b" / "e" (async): name, cat, id, ts, tid; each (cat, id) begun once
 *     and ended once, not before it began;
 *   - the complete events of one thread nest: two on one tid either are
 *     disjoint or one contains the other;
 *   - every tid with events has a thread_name;
 *   - a flow's "s" and "f" (bound to the enclosing slice) lie inside a
 *     complete event of their tid.
 *
 * trace_check(path) returns the number of events, and fails the test on
 * the first broken rule. Used by tests/report and tests/scenario.
 */
#ifndef GH_TESTS_TRACE_CHECK_H
#define GH_TESTS_TRACE_CHECK_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tc_slice {
    long long tid;
    double ts, end;
};

struct tc_flow {
    long long id;
    bool start; /* "s"; else "f" */
    double ts;
};

/* By id, the start first. */
static int tc_by_id(const void *a, const void *b)
{
    const struct tc_flow *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (int)y->start - (int)x->start;
}

struct tc_async {
    long long id;
    const char *cat;
    double ts;
    bool ended;
};

static int tc_by_tid_start(const void *a, const void *b)
{
    const struct tc_slice *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->end < y->end) - (x->end > y->end); /* longer first */
}

static const char *tc_str(json_t *e, const char *key)
{
    json_t *v = json_object_get(e, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static size_t trace_check(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    cr_assert(json_is_object(root), "the top level is not an object");
    json_t *unit = json_object_get(root, "displayTimeUnit");
    if (unit)
        cr_assert(json_is_string(unit) && (!strcmp(json_string_value(unit), "ns") ||
                                           !strcmp(json_string_value(unit), "ms")));
    json_t *evs = json_object_get(root, "traceEvents");
    cr_assert(json_is_array(evs), "no traceEvents array");
    size_t n = json_array_size(evs);
    struct tc_slice *sl = calloc(n + 1, sizeof *sl);
    long long *named = calloc(n + 1, sizeof *named), *used = calloc(n + 1, sizeof *used);
    json_t **flows = calloc(n + 1, sizeof *flows);
    struct tc_async *asy = calloc(n + 1, sizeof *asy);
    cr_assert(sl && named && used && flows && asy);
    size_t nsl = 0, nnamed = 0, nused = 0, nflows = 0, nasync = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(evs, i);
        cr_assert(json_is_object(e), "event %zu is not an object", i);
        const char *ph = tc_str(e, "ph");
        cr_assert_not_null(ph, "event %zu has no ph", i);
        cr_assert(json_is_integer(json_object_get(e, "pid")), "event %zu: pid", i);
        json_t *tid = json_object_get(e, "tid");
        json_t *ts = json_object_get(e, "ts");
        if (!strcmp(ph, "M")) {
            const char *name = tc_str(e, "name");
            cr_assert_not_null(name, "metadata %zu has no name", i);
            json_t *args = json_object_get(e, "args");
            cr_assert(json_is_object(args), "metadata %zu has no args", i);
            if (!strcmp(name, "process_name") || !strcmp(name, "thread_name")) {
                cr_assert(json_is_string(json_object_get(args, "name")), "metadata %zu", i);
                if (!strcmp(name, "thread_name")) {
                    cr_assert(json_is_integer(tid), "thread_name %zu has no tid", i);
                    named[nnamed++] = json_integer_value(tid);
                }
            } else {
                cr_assert(!strcmp(name, "process_sort_index") ||
                              !strcmp(name, "thread_sort_index"),
                          "metadata %zu: unknown %s", i, name);
                cr_assert(json_is_integer(json_object_get(args, "sort_index")));
            }
            continue;
        }
        cr_assert_not_null(tc_str(e, "name"), "event %zu (%s) has no name", i, ph);
        cr_assert(json_is_number(ts), "event %zu (%s) has no numeric ts", i, ph);
        if (!strcmp(ph, "C")) {
            json_t *args = json_object_get(e, "args");
            cr_assert(json_is_object(args) && json_object_size(args) > 0,
                      "counter %zu has no args", i);
            const char *k;
            json_t *v;
            json_object_foreach(args, k, v)
                cr_assert(json_is_number(v), "counter %zu: %s is not a number", i, k);
            continue;
        }
        cr_assert(json_is_integer(tid), "event %zu (%s) has no integer tid", i, ph);
        used[nused++] = json_integer_value(tid);
        if (!strcmp(ph, "X")) {
            json_t *dur = json_object_get(e, "dur");
            cr_assert(json_is_number(dur) && json_number_value(dur) >= 0,
                      "complete event %zu: dur", i);
            sl[nsl++] = (struct tc_slice){json_integer_value(tid), json_number_value(ts),
                                          json_number_value(ts) + json_number_value(dur)};
        } else if (!strcmp(ph, "i")) {
            const char *s = tc_str(e, "s");
            cr_assert(s && (!strcmp(s, "t") || !strcmp(s, "p") || !strcmp(s, "g")),
                      "instant %zu: scope", i);
        } else if (!strcmp(ph, "b") || !strcmp(ph, "e")) {
            cr_assert_not_null(tc_str(e, "cat"), "async %zu has no cat", i);
            cr_assert(json_is_integer(json_object_get(e, "id")), "async %zu has no id", i);
            json_int_t id = json_integer_value(json_object_get(e, "id"));
            double t = json_number_value(ts);
            bool begin = !strcmp(ph, "b");
            size_t k = 0;
            while (k < nasync && (asy[k].id != id || strcmp(asy[k].cat, tc_str(e, "cat"))))
                k++;
            if (begin) {
                cr_assert_eq(k, nasync, "async id %lld begun twice", (long long)id);
                cr_assert_lt(nasync, n, "async events");
                asy[nasync++] = (struct tc_async){id, tc_str(e, "cat"), t, false};
            } else {
                cr_assert_lt(k, nasync, "async id %lld ends before it begins", (long long)id);
                cr_assert_not(asy[k].ended, "async id %lld ended twice", (long long)id);
                cr_assert_geq(t, asy[k].ts, "async id %lld ends before it begins", (long long)id);
                asy[k].ended = true;
            }
        } else if (!strcmp(ph, "s") || !strcmp(ph, "f")) {
            cr_assert_not_null(tc_str(e, "cat"), "flow %zu has no cat", i);
            cr_assert(json_is_integer(json_object_get(e, "id")), "flow %zu has no id", i);
            flows[nflows++] = e;
        } else {
            cr_assert_fail("event %zu: phase %s is not one gilheap writes", i, ph);
        }
    }
    /* Flows: each id once as s, once as f, the s first (sorted by id, so
     * that a trace of many thousand arrows checks in n log n). */
    struct tc_flow *fl = calloc(nflows + 1, sizeof *fl);
    cr_assert_not_null(fl);
    for (size_t i = 0; i < nflows; i++)
        fl[i] = (struct tc_flow){json_integer_value(json_object_get(flows[i], "id")),
                                 !strcmp(tc_str(flows[i], "ph"), "s"),
                                 json_number_value(json_object_get(flows[i], "ts"))};
    qsort(fl, nflows, sizeof *fl, tc_by_id);
    for (size_t i = 0; i < nflows; i += 2) {
        cr_assert(i + 1 < nflows && fl[i + 1].id == fl[i].id, "flow id %lld has no end",
                  fl[i].id);
        cr_assert(i + 2 >= nflows || fl[i + 2].id != fl[i].id, "flow id %lld has 3 events",
                  fl[i].id);
        cr_assert(fl[i].start && !fl[i + 1].start, "flow id %lld: not one s and one f",
                  fl[i].id);
        cr_assert_leq(fl[i].ts, fl[i + 1].ts, "flow %lld ends before it starts", fl[i].id);
    }
    free(fl);
    /* Nesting, per thread. */
    qsort(sl, nsl, sizeof *sl, tc_by_tid_start);
    double stack[256];
    int depth = 0;
    for (size_t i = 0; i < nsl; i++) {
        if (i == 0 || sl[i].tid != sl[i - 1].tid)
            depth = 0;
        while (depth && stack[depth - 1] <= sl[i].ts + 1e-9)
            depth--;
        cr_assert(depth == 0 || sl[i].end <= stack[depth - 1] + 1e-9,
                  "tid %lld: the slice at %.3f us (to %.3f) crosses one ending at %.3f",
                  sl[i].tid, sl[i].ts, sl[i].end, stack[depth - 1]);
        cr_assert_lt(depth, 256, "tid %lld: slices nested too deep", sl[i].tid);
        stack[depth++] = sl[i].end;
    }
    /* Flows bind to a slice of their own track. */
    for (size_t i = 0; i < nflows; i++) {
        long long ftid = json_integer_value(json_object_get(flows[i], "tid"));
        double fts = json_number_value(json_object_get(flows[i], "ts"));
        size_t lo = 0, hi = nsl; /* first slice after (ftid, fts) */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sl[mid].tid < ftid || (sl[mid].tid == ftid && sl[mid].ts <= fts))
                lo = mid + 1;
            else
                hi = mid;
        }
        bool inside = false;
        for (size_t k = lo, steps = 0; k > 0 && steps < 100000 && !inside; k--, steps++) {
            if (sl[k - 1].tid != ftid)
                break;
            inside = sl[k - 1].end >= fts - 1e-9;
        }
        cr_assert(inside, "flow %s at %.3f us on tid %lld is in no slice of that tid",
                  tc_str(flows[i], "ph"), fts, ftid);
    }
    for (size_t i = 0; i < nused; i++) {
        bool found = false;
        for (size_t k = 0; k < nnamed && !found; k++)
            found = named[k] == used[i];
        cr_assert(found, "tid %lld has events but no thread_name", used[i]);
    }
    for (size_t k = 0; k < nasync; k++)
        cr_assert(asy[k].ended, "async id %lld (%s) never ends", asy[k].id, asy[k].cat);
    free(sl);
    free(named);
    free(used);
    free(flows);
    free(asy);
    json_decref(root);
    return n;
}

#endif
