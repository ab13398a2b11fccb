/* exec_model.fl.c - the executors of the object model's ops (attributes,
 * sets, tuples, strings, weak references, calls, is/==, show/assert,
 * tracing, the collector's ops), compiled once per flavour. They are out
 * of the measured loop's way: exec_op_body (worker.fl.c) calls each
 * directly, by its row of GH_OPS (scenario/ops.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/trace.h"
#include "gc/gc.h"
#include "scenario/exec.h"

/* ---- expressions: the object functions (gh_eval_env.object) ----------------- */

static uint64_t ctx_count(void *ctx, enum gh_op_kind op)
{
    struct gh_eval_ctx *c = ctx;
    return c->w ? c->w->res->op[op].done : 0;
}

static uint64_t ctx_failed(void *ctx, enum gh_op_kind op)
{
    struct gh_eval_ctx *c = ctx;
    return c->w ? c->w->res->op[op].failed : 0;
}

/* count(OP, X), failed(OP, X): this thread's so far, as count() and
 * failed() above. */
static uint64_t ctx_count_on(void *ctx, enum gh_op_kind op, int slot, bool failed)
{
    struct gh_eval_ctx *c = ctx;
    int t = gh_scenario_tally(c->run->s, op, slot);
    if (!c->w || t < 0)
        return 0;
    return failed ? c->w->tally[t].failed : c->w->tally[t].done;
}

static const char *name_of(const struct gh_eval_ctx *c, const struct gh_expr *n)
{
    return n->local ? c->role->locals[n->slot] : c->run->s->globals[n->slot].name;
}

/* The object a NAME node names (borrowed); an unbound local is None. */
static gh_object *name_obj(const struct gh_eval_ctx *c, const struct gh_expr *n)
{
    gh_object *o = n->local ? (c->locals ? frame_get(c->locals, n->slot) : NULL)
                            : c->run->globals[n->slot];
    return o ? o : &gh_none;
}

/* gc.NAME, gc.genN.NAME, len(gc.garbage): process-wide, in a role too. */
static int eval_gc(struct gh_eval_ctx *c, const struct gh_expr *e, int64_t *out, char *err,
                   size_t errlen)
{
    struct gh_tstate *ts = c->w ? &c->w->ts : gh_tstate_get();
    int gen = e->slot;
    int64_t a[GH_GC_NGENS];
    struct gh_gc_counts g;
    uint64_t v = 0;
    switch ((enum gh_gc_reading)e->ival) {
    case GH_GCR_COUNT:
        gh_gc_get_count(a);
        *out = a[gen < 0 ? 0 : gen];
        return 0;
    case GH_GCR_THRESHOLD:
        gh_gc_get_threshold(a);
        *out = a[gen < 0 ? 0 : gen];
        return 0;
    case GH_GCR_ISENABLED:
        *out = gh_gc_isenabled();
        return 0;
    case GH_GCR_FREEZE_COUNT:
        *out = gh_gc_get_freeze_count(ts);
        return 0;
    case GH_GCR_GARBAGE_LEN:
        /* Made by gc_setup before the threads (the parser flags the
         * scenarios that read it), so this never makes it. */
        *out = gh_list_len((struct gh_list *)(void *)gh_gc_garbage());
        return 0;
    default:
        break;
    }
    gh__run_gc_counts(c->run, &g);
    switch ((enum gh_gc_reading)e->ival) {
    case GH_GCR_COLLECTIONS:
    case GH_GCR_COLLECTED:
    case GH_GCR_UNCOLLECTABLE:
        for (int i = 0; i < GH_GC_NGENS; i++) {
            if (gen >= 0 && i != gen)
                continue;
            v += e->ival == GH_GCR_COLLECTIONS ? g.gen[i].collections
                 : e->ival == GH_GCR_COLLECTED ? g.gen[i].collected
                                               : g.gen[i].uncollectable;
        }
        break;
    case GH_GCR_EXAMINED: v = g.examined; break;
    case GH_GCR_UNREACHABLE: v = g.unreachable; break;
    case GH_GCR_FINALIZED: v = g.finalized; break;
    case GH_GCR_RESURRECTED: v = g.resurrected; break;
    case GH_GCR_UNTRACKED_TUPLES: v = g.untracked_tuples; break;
    case GH_GCR_UNTRACKED_DICTS: v = g.untracked_dicts; break;
    case GH_GCR_WEAKREFS_CLEARED: v = g.weakrefs_cleared; break;
    case GH_GCR_WEAKREF_CALLBACKS: v = g.weakref_callbacks; break;
    default:
        return gh__expr_error(e, err, errlen, "bad gc reading %d", (int)e->ival);
    }
    if (v > (uint64_t)INT64_MAX)
        return gh__expr_error(e, err, errlen, "integer overflow: gc.%s = %" PRIu64,
                              gh_gc_reading_names[e->ival], v);
    *out = (int64_t)v;
    return 0;
}

int GH_FL(gh_eval_object)(void *ctx, const struct gh_expr *e, int64_t *out, char *err,
                          size_t errlen)
{
    struct gh_eval_ctx *c = ctx;
    if (e->kind == GH_EX_GC)
        return eval_gc(c, e, out, err, errlen);
    if (e->kind == GH_EX_FINALIZED) {
        *out = c->w ? c->w->finalized[e->slot]
                    : gh_atomic_load_relaxed_i64(&c->run->finalized[e->slot]);
        return 0;
    }
    if (e->kind == GH_EX_ADDS) {
        /* Inside a role, this thread's adds so far (the checks' env reads
         * the whole run's, run.c). */
        if (!c->w)
            return gh__expr_error(e, err, errlen, "adds() is not available here");
        *out = (int64_t)c->w->counter_adds[e->slot];
        return 0;
    }
    if (e->kind == GH_EX_CALLBACKS) {
        *out = (int64_t)(c->w ? c->w->callbacks
                              : gh_atomic_load_relaxed_u64(&c->run->callbacks));
        return 0;
    }
    if (!e->l)
        return gh__expr_error(e, err, errlen, "no object named");
    gh_object *o = name_obj(c, e->l);
    const char *nm = name_of(c, e->l);
    const char *tn = o->ob_type->tp_name;
    enum gh_kind k = o->ob_type->kind;
    switch (e->kind) {
    case GH_EX_LEN:
        switch (k) {
        case GH_KIND_LIST: *out = gh_list_len((struct gh_list *)(void *)o); return 0;
        case GH_KIND_DICT: *out = gh_dict_len((struct gh_dict *)(void *)o); return 0;
        case GH_KIND_SET: case GH_KIND_FROZENSET:
            *out = gh_set_len((struct gh_set *)(void *)o);
            return 0;
        case GH_KIND_TUPLE: *out = gh_tuple_len(o); return 0;
        case GH_KIND_STR: *out = gh_str_len(o); return 0;
        case GH_KIND_BYTES: *out = gh_bytes_len(o); return 0;
        case GH_KIND_BYTEARRAY: *out = gh_bytearray_len(gh_tstate_get(), o); return 0;
        case GH_KIND_WEAKVALUEDICT: *out = gh_wvdict_len(o); return 0;
        default:
            return gh__expr_error(e, err, errlen, "len(%s): `%s` is a %s, which has no length", nm,
                             nm, tn);
        }
    case GH_EX_ID:
        *out = (int64_t)gh_id(o);
        return 0;
    case GH_EX_REFCNT:
        *out = (int64_t)gh_getrefcount(o);
        return 0;
    case GH_EX_SIZEOF:
        *out = (int64_t)gh_getsizeof(o);
        return 0;
    case GH_EX_VALUE:
        if (k == GH_KIND_INT || k == GH_KIND_BOOL) {
            *out = ((struct gh_int *)(void *)o)->value;
            return 0;
        }
        if (k == GH_KIND_FLOAT) {
            double v = gh_float_value(o);
            if (!(v > -9.2e18 && v < 9.2e18))
                return gh__expr_error(e, err, errlen, "value(%s): %g does not fit an integer", nm, v);
            *out = (int64_t)v;
            return 0;
        }
        return gh__expr_error(e, err, errlen, "value(%s): `%s` is a %s; value() reads an int, a "
                         "bool or a float", nm, nm, tn);
    case GH_EX_INTERNED:
        if (k != GH_KIND_STR)
            return gh__expr_error(e, err, errlen, "interned(%s): `%s` is a %s, not a str", nm, nm, tn);
        *out = gh_str_is_interned(o);
        return 0;
    case GH_EX_ALIVE: {
        if (k != GH_KIND_WEAKREF)
            return gh__expr_error(e, err, errlen, "alive(%s): `%s` is a %s, not a weak reference",
                             nm, nm, tn);
        gh_object *r = gh_weakref_get(o);
        *out = r != NULL;
        if (r)
            gh_decref(r);
        return 0;
    }
    case GH_EX_GC_TRACKED: {
        bool tracked;
        if (c->w) {
            /* Without a GIL a dict's bit changes under its critical
             * section (re-tracking); the collector changes bits only with
             * the world stopped, which cannot happen while we evaluate. */
            GH_BEGIN_CS(&c->w->ts, o)
            tracked = gh_gc_object_is_tracked(o);
            GH_END_CS(&c->w->ts)
        } else {
            tracked = gh_gc_object_is_tracked(o);
        }
        *out = tracked;
        return 0;
    }
    case GH_EX_IS: case GH_EX_ISNOT: case GH_EX_OBJ_EQ: case GH_EX_OBJ_NE: {
        gh_object *b = name_obj(c, e->r);
        bool v = e->kind == GH_EX_IS || e->kind == GH_EX_ISNOT ? o == b : gh_equal(o, b);
        *out = (e->kind == GH_EX_IS || e->kind == GH_EX_OBJ_EQ) ? v : !v;
        return 0;
    }
    default:
        return gh__expr_error(e, err, errlen, "bad object expression %d", (int)e->kind);
    }
}

/* ---- printing ------------------------------------------------------------------ */

static void print_value(FILE *f, const struct gh_expr *e, int64_t v)
{
    if (gh_expr_is_bool(e))
        fputs(v ? "True" : "False", f);
    else
        fprintf(f, "%" PRId64, v);
}

/* The start of every line an op prints: FILE:LINE:, and with more than one
 * thread the thread's name, so the lines of several threads can be told
 * apart. The caller holds the stream's lock. */
static void print_site(FILE *f, const struct gh_worker *w, const struct gh_op *op)
{
    fprintf(f, "%s:%d: ", w->run->s->file, op->line);
    if (w->run->nthreads > 1)
        fprintf(f, "[%s] ", w->ts.name);
}


/* show / assert: FILE:LINE: TEXT = VALUE. False for an assert that does
 * not hold or an expression that cannot be evaluated. */
bool GH_FL(gh_exec_show)(EXEC_PARAMS)
{
    struct gh_run_shared *run = w->run;
    struct gh_eval_ctx ec = {run, &run->s->roles[w->role], locals, w};
    struct gh_eval_env env = {.count = ctx_count, .failed = ctx_failed,
                              .count_on = ctx_count_on, .ctx = &ec, .object = gh_eval_object};
    char err[300];
    int64_t v = 0;
    int rc = gh_expr_eval(op->expr, &env, &v, err, sizeof err);
    FILE *f = run->out;
    flockfile(f);
    print_site(f, w, op);
    fputs(op->text, f);
    if (rc != 0) {
        fprintf(f, ": error: %s\n", err);
    } else {
        fputs(" = ", f);
        print_value(f, op->expr, v);
        if (op->kind == GH_OP_ASSERT && !v)
            fputs("   <- assertion failed", f);
        fputc('\n', f);
    }
    funlockfile(f);
    return rc == 0 && (op->kind == GH_OP_SHOW || v);
}

static void print_stats(struct gh_worker *w, const struct gh_op *op, const char *what,
                        size_t n, const void *arr, bool diff)
{
    FILE *f = w->run->out;
    char buf[512];
    flockfile(f);
    print_site(f, w, op);
    fprintf(f, "%s\n", what);
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < (size_t)op->top; i++) {
        if (diff) {
            const struct gh_trace_statdiff *d = &((const struct gh_trace_statdiff *)arr)[i];
            gh_trace_statdiff_format(d, buf, sizeof buf);
        } else {
            gh_trace_stat_format(&((const struct gh_trace_stat *)arr)[i], buf, sizeof buf);
        }
        fprintf(f, "    %s\n", buf);
        shown++;
    }
    if (!shown)
        fputs("    (nothing traced)\n", f);
    funlockfile(f);
}

/* ---- the collector's ops ------------------------------------------------------------ */

/* cycle.new: a ring of op->size instances of op->cls (the plain class when
 * -1), each referring to the next through its attribute `next` (size 1: a
 * node that refers to itself). Returns a new reference to the first. */
static gh_object *make_ring(struct gh_tstate *ts, const struct gh_op *op, gh_object **globals)
{
    gh_object *cls = op->cls >= 0 ? globals[op->cls] : NULL;
    gh_object *first = cls ? gh_instance_new_of(cls) : gh_instance_new();
    gh_object *name = gh_str_const("next");
    gh_object *prev = first;
    for (int i = 1; i < op->size; i++) {
        gh_object *o = cls ? gh_instance_new_of(cls) : gh_instance_new();
        gh_attr_set(ts, prev, name, o); /* prev.next = o: prev owns o */
        prev = o;
    }
    gh_attr_set(ts, prev, name, gh_newref(first)); /* closes the ring */
    gh_decref(name);
    return first;
}

/* gc.dot's file: PATH, or with several threads PATH with ".N" (the
 * thread's index) before its extension, so threads do not overwrite each
 * other's graphs. */
static void dot_path(char *buf, size_t len, const char *path, int index)
{
    if (index < 0) {
        snprintf(buf, len, "%s", path);
        return;
    }
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot && dot > (slash ? slash + 1 : path))
        snprintf(buf, len, "%.*s.%d%s", (int)(dot - path), path, index, dot);
    else
        snprintf(buf, len, "%s.%d", path, index);
}

/* gc.dot: the graph is built in memory first (the world is stopped while
 * it is gathered), then written whole: to the run's output when the path
 * is "-", else to the file. Prints what it wrote. */
bool GH_FL(gh_exec_gc_dot)(EXEC_PARAMS)
{
    struct gh_run_shared *run = w->run;
    gh_object *root = target_any(&op->on, globals, locals);
    if (!root)
        return false;
    const char *on = op->on.local ? run->s->roles[w->role].locals[op->on.slot]
                                  : run->s->globals[op->on.slot].name;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return false;
    int64_t n = gh_gc_write_dot(ts, m, root, op->depth);
    fclose(m);
    FILE *f = run->out;
    int e = 0;
    char path[4096];
    if (strcmp(op->name, "-") != 0) {
        dot_path(path, sizeof path, op->name, run->nthreads > 1 ? w->index : -1);
        FILE *o = fopen(path, "w");
        if (!o || fwrite(buf, 1, len, o) != len)
            e = errno ? errno : EIO;
        if (o && fclose(o) != 0 && !e)
            e = errno ? errno : EIO;
    }
    flockfile(f);
    print_site(f, w, op);
    const char *plural = n == 1 ? "" : "s";
    if (strcmp(op->name, "-") == 0) {
        fprintf(f, "gc.dot(%s, depth %d): %" PRId64 " object%s\n", on, op->depth, n, plural);
        fwrite(buf, 1, len, f);
    } else if (e) {
        fprintf(f, "gc.dot(%s): cannot write %s: %s\n", on, path, strerror(e));
    } else {
        fprintf(f, "gc.dot(%s, depth %d): %" PRId64 " object%s written to %s\n", on,
                op->depth, n, plural, path);
    }
    funlockfile(f);
    free(buf);
    return e == 0;
}

bool GH_FL(gh_exec_gc_collect)(EXEC_PARAMS)
{
    int64_t n = gh_gc_collect(ts, op->generation);
    if (op->as >= 0)
        bind_local(locals, op->as, gh_int_new(n));
    return true;
}

bool GH_FL(gh_exec_gc_disable)(EXEC_PARAMS)
{
    gh_gc_disable();
    return true;
}

bool GH_FL(gh_exec_gc_enable)(EXEC_PARAMS)
{
    if (gh_gcstate.mode == GH_GC_OFF)
        return false; /* gc=off: there is no collector to enable */
    gh_gc_enable();
    return true;
}

bool GH_FL(gh_exec_gc_set_threshold)(EXEC_PARAMS)
{
    int64_t t[GH_GC_NGENS];
    gh_gc_get_threshold(t);
    for (int i = 0; i < op->nthresholds; i++)
        t[i] = op->thresholds[i];
    gh_gc_set_threshold(t[0], t[1], t[2]);
    return true;
}

bool GH_FL(gh_exec_gc_freeze)(EXEC_PARAMS)
{
    gh_gc_freeze(ts);
    return true;
}

bool GH_FL(gh_exec_gc_unfreeze)(EXEC_PARAMS)
{
    gh_gc_unfreeze(ts);
    return true;
}

bool GH_FL(gh_exec_cycle_new)(EXEC_PARAMS)
{
    bind_or_release(w, op, locals, make_ring(ts, op, globals));
    return true;
}

/* ---- the object model's ops ----------------------------------------------- */

/* A name loaded into the frame (LOAD_GLOBAL, LOAD_FAST): a frame
 * reference, uncounted when the object is deferred. */
bool GH_FL(gh_exec_bind)(EXEC_PARAMS)
{
    if (op->value.kind == GH_VAL_GLOBAL)
        frame_put(locals, op->as, gh_stackref_new(globals[op->value.slot]));
    else if (op->value.kind == GH_VAL_LOCAL && locals[op->value.slot])
        frame_put(locals, op->as, gh_stackref_new(frame_get(locals, op->value.slot)));
    else
        bind_local(locals, op->as, gh_make_value(&op->value, globals, locals, rng));
    return true;
}

bool GH_FL(gh_exec_attr_set)(EXEC_PARAMS)
{
    gh_object *o = target_instance(&op->on, globals, locals);
    if (!o)
        return false;
    gh_object *r = gh_str_const(op->name);   /* an identifier: an interned constant */
    bool ok = gh_attr_set(ts, o, r, gh_make_value(&op->value, globals, locals, rng));
    gh_decref(r);
    return ok;
}

bool GH_FL(gh_exec_attr_get)(EXEC_PARAMS)
{
    gh_object *o = target_instance(&op->on, globals, locals);
    if (!o)
        return false;
    gh_object *r = gh_str_const(op->name);
    gh_object *v = gh_attr_get(ts, o, r);
    gh_decref(r);
    if (!v)
        return false;
    bind_or_release(w, op, locals, v);
    return true;
}

/* set.add, set.discard, set.contains (a frozenset too). */
bool GH_FL(gh_exec_set_member)(EXEC_PARAMS)
{
    gh_object *o = target_any(&op->on, globals, locals);
    if (!o || !(o->ob_type->kind == GH_KIND_SET ||
                (op->kind == GH_OP_SET_CONTAINS && o->ob_type->kind == GH_KIND_FROZENSET)))
        return false;
    struct gh_set *set = (struct gh_set *)(void *)o;
    gh_object *v = gh_make_value(&op->value, globals, locals, rng);
    int rc;
    /* The checked mode's length invariant counts a set global's additions
     * and removals. */
    uint64_t *len_count = !w->len_adds || op->on.local ? NULL
                          : op->kind == GH_OP_SET_ADD     ? w->len_adds
                          : op->kind == GH_OP_SET_DISCARD ? w->len_removes
                                                          : NULL;
    if (op->kind == GH_OP_SET_ADD) {
        rc = gh_set_add(ts, set, v);
        if (rc < 0)
            gh_decref(v);
    } else {
        rc = op->kind == GH_OP_SET_DISCARD ? gh_set_discard(ts, set, v)
             : o->ob_type->kind == GH_KIND_SET ? gh_set_contains(ts, set, v)
                                               : gh_frozenset_contains(set, v);
        gh_decref(v);
    }
    if (len_count && rc == 1)
        len_count[op->on.slot]++;
    return rc == 1;
}

bool GH_FL(gh_exec_set_len)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_SET, globals, locals);
    if (!o)
        return false;
    w->sink += (uint64_t)gh_set_len((struct gh_set *)(void *)o);
    return true;
}

bool GH_FL(gh_exec_tuple_concat)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_TUPLE, globals, locals);
    if (!o)
        return false;
    gh_object *v = gh_make_value(&op->value, globals, locals, rng);
    gh_object *one = gh_tuple_from_array(&v, 1);
    gh_object *r = gh_tuple_concat(o, one);
    gh_decref(one);
    bind_local(locals, op->on.slot, r);
    return true;
}

bool GH_FL(gh_exec_str_concat)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_STR, globals, locals);
    if (!o)
        return false;
    gh_object *v = gh_str_new(op->name, op->name_len);
    gh_object *r = gh_str_concat(o, v);
    gh_decref(v);
    bind_local(locals, op->on.slot, r);
    return true;
}

bool GH_FL(gh_exec_str_intern)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_STR, globals, locals);
    if (!o)
        return false;
    bind_local(locals, op->on.slot, gh_str_intern(gh_newref(o)));
    return true;
}

bool GH_FL(gh_exec_weakref_new)(EXEC_PARAMS)
{
    gh_object *o = target_any(&op->on, globals, locals);
    if (!o)
        return false;
    gh_object *cb = op->callback ? gh_function_new("count_callback", gh_count_callback_code, 1,
                                                   NULL, 0) : NULL;
    gh_object *r = gh_weakref_new(o, cb);
    if (!r)
        return false;       /* not weak-referenceable (TypeError) */
    bind_local(locals, op->as, r);
    return true;
}

bool GH_FL(gh_exec_weakref_get)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_WEAKREF, globals, locals);
    if (!o)
        return false;
    gh_object *v = gh_weakref_get(o);
    bind_or_release(w, op, locals, v ? v : gh_none_new());
    return v != NULL;
}

bool GH_FL(gh_exec_wvdict_set)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_WEAKVALUEDICT, globals, locals);
    if (!o)
        return false;
    gh_object *v = gh_make_value(&op->value, globals, locals, rng);
    if (!gh_weaklist_ptr(v)) {
        gh_decref(v);       /* not weak-referenceable (TypeError) */
        return false;
    }
    gh_wvdict_set(ts, o, op_key(op, rng, w), v);
    gh_decref(v);
    return true;
}

bool GH_FL(gh_exec_wvdict_get)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_WEAKVALUEDICT, globals, locals);
    if (!o)
        return false;
    gh_object *key = op_key(op, rng, w);
    gh_object *v = gh_wvdict_get(ts, o, key);
    gh_decref(key);
    bind_or_release(w, op, locals, v ? v : gh_none_new());
    return v != NULL;
}

bool GH_FL(gh_exec_call)(EXEC_PARAMS)
{
    gh_object *o = target(&op->on, GH_KIND_FUNCTION, globals, locals);
    if (!o)
        return false;
    /* The callee on the frame's stack while it runs (LOAD_GLOBAL f;
     * CALL): counted, unless f is deferred. */
    const int stack = w->frame_slots - 1;
    frame_put(locals, stack, gh_stackref_new(o));
    gh_object *arg = op->has_value ? gh_make_value(&op->value, globals, locals, rng) : NULL;
    gh_object *r = gh_call(ts, o, &arg, arg ? 1 : 0);
    if (arg)
        gh_decref(arg);
    frame_put(locals, stack, 0);
    if (!r)
        return false;
    bind_or_release(w, op, locals, r);
    return true;
}

/* is, eq. */
bool GH_FL(gh_exec_compare)(EXEC_PARAMS)
{
    gh_object *a = gh_make_value(&op->value, globals, locals, rng);
    gh_object *b = gh_make_value(&op->b, globals, locals, rng);
    bool res = op->kind == GH_OP_IS ? a == b : gh_equal(a, b);
    gh_decref(a);
    gh_decref(b);
    if (op->name) {
        FILE *f = w->run->out;
        flockfile(f);
        print_site(f, w, op);
        fprintf(f, "%s = %s\n", op->name, res ? "True" : "False");
        funlockfile(f);
    }
    return res;
}

bool GH_FL(gh_exec_trace_start)(EXEC_PARAMS)
{
    gh_trace_start();
    return true;
}

bool GH_FL(gh_exec_trace_snapshot)(EXEC_PARAMS)
{
    /* Memory this thread freed and deferred for lock-free readers
     * (base/qsbr.h) counts as freed in a snapshot: flushed first. */
    gh_qsbr_flush(ts);
    struct gh_trace_snapshot *snap = gh_trace_take_snapshot();
    if (!snap)
        return false;       /* not tracing */
    gh_trace_snapshot_free(snaps[op->as]);
    snaps[op->as] = snap;
    return true;
}

/* trace.stats, trace.compare. */
bool GH_FL(gh_exec_trace_report)(EXEC_PARAMS)
{
    struct gh_trace_snapshot *fresh = NULL, *to;
    char what[256];
    if (op->on.slot >= 0) {
        to = snaps[op->on.slot];
    } else {
        gh_qsbr_flush(ts); /* as trace.snapshot */
        to = fresh = gh_trace_take_snapshot();
    }
    const struct gh_role *role = &w->run->s->roles[w->role];
    struct gh_trace_snapshot *from = op->kind == GH_OP_TRACE_COMPARE ? snaps[op->from.slot]
                                                                     : NULL;
    bool ok = to && (op->kind == GH_OP_TRACE_STATS || from);
    if (ok && op->kind == GH_OP_TRACE_STATS) {
        struct gh_trace_stat *st;
        size_t n;
        gh_trace_snapshot_stats(to, &st, &n);
        snprintf(what, sizeof what, "top %zu of %zu sites in %s",
                 n < (size_t)op->top ? n : (size_t)op->top, n,
                 op->on.slot >= 0 ? role->locals[op->on.slot] : "a new snapshot");
        print_stats(w, op, what, n, st, false);
        free(st);
    } else if (ok) {
        struct gh_trace_statdiff *d;
        size_t n;
        gh_trace_snapshot_compare(to, from, &d, &n);
        snprintf(what, sizeof what, "top %zu of %zu differences from %s to %s",
                 n < (size_t)op->top ? n : (size_t)op->top, n,
                 role->locals[op->from.slot],
                 op->on.slot >= 0 ? role->locals[op->on.slot] : "a new snapshot");
        print_stats(w, op, what, n, d, true);
        free(d);
    }
    gh_trace_snapshot_free(fresh);
    return ok;
}
