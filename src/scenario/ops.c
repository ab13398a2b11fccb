/* ops.c - the table of scenario operations at run time (GH_OPS in ops.h).
 *
 * See docs/scenarios.md for what each operation does.
 */
#include "scenario/scenario.h"

#include <string.h>

const struct gh_op_rule gh_op_rules[GH_OP_COUNT] = {
#define GH_X_(e, name_, keys_, on_, flags_, hint_, parse, exec, doc_)          \
    [GH_OP_##e] = {.name = name_, .keys = keys_, .on = GH_NEED_##on_,          \
                   .flags = flags_, .hint = hint_, .doc = doc_},
    GH_OPS(GH_X_)
#undef GH_X_
};

const char *const gh_op_names[GH_OP_COUNT] = {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc) name,
    GH_OPS(GH_X_)
#undef GH_X_
};

const char *const gh_op_key_names[GH_K_COUNT] = {
#define GH_X_(e, name) name,
    GH_OP_KEYS(GH_X_)
#undef GH_X_
};

enum gh_op_kind gh_op_from_name(const char *name)
{
    if (!name)
        return GH_OP_COUNT;
    for (int i = 0; i < GH_OP_COUNT; i++)
        if (strcmp(gh_op_names[i], name) == 0)
            return (enum gh_op_kind)i;
    return GH_OP_COUNT;
}

/* Indexed by enum gh_op_need, whose last value is GH_NEED_LOCK. */
const char *const gh_op_need_articles[GH_NEED_LOCK + 1] = {
    [GH_NEED_LIST] = "a list", [GH_NEED_DICT] = "a dict",
    [GH_NEED_INSTANCE] = "an instance (of `object` or of a class from setup)",
    [GH_NEED_SET] = "a set", [GH_NEED_SETLIKE] = "a set or a frozenset",
    [GH_NEED_TUPLE_LOCAL] = "a local tuple", [GH_NEED_STR_LOCAL] = "a local str",
    [GH_NEED_WEAKREF] = "a weak reference (bound by weakref.new)",
    [GH_NEED_WVDICT] = "a weakvaluedict", [GH_NEED_FUNCTION] = "a function",
    [GH_NEED_SNAPSHOT] = "a trace snapshot (bound by trace.snapshot)",
    [GH_NEED_INT_GLOBAL] = "an int global (set up as `{type: int, value: 0}`)",
    [GH_NEED_TUPLE] = "a tuple",
    [GH_NEED_LOCK] = "a lock (set up as `{type: lock}`)",
};

bool gh_op_need_ok(enum gh_op_need nd, enum gh_newtype t)
{
    if (t == GH_NEW_ANY)
        return true;
    switch (nd) {
    case GH_NEED_LIST:        return t == GH_NEW_LIST;
    case GH_NEED_DICT:        return t == GH_NEW_DICT;
    case GH_NEED_INSTANCE:    return t == GH_NEW_OBJECT || t == GH_NEW_INSTANCE;
    case GH_NEED_SET:         return t == GH_NEW_SET;
    case GH_NEED_SETLIKE:     return t == GH_NEW_SET || t == GH_NEW_FROZENSET;
    case GH_NEED_TUPLE_LOCAL: return t == GH_NEW_TUPLE;
    case GH_NEED_TUPLE:       return t == GH_NEW_TUPLE;
    case GH_NEED_STR_LOCAL:   return t == GH_NEW_STR;
    case GH_NEED_WEAKREF:     return t == GH_NEW_WEAKREF;
    case GH_NEED_WVDICT:      return t == GH_NEW_WVDICT;
    case GH_NEED_FUNCTION:    return t == GH_NEW_FUNCTION;
    case GH_NEED_SNAPSHOT:    return t == GH_NEW_SNAPSHOT;
    case GH_NEED_INT_GLOBAL:  return t == GH_NEW_INT || t == GH_NEW_SMALL_INT;
    case GH_NEED_LOCK:        return t == GH_NEW_LOCK;
    case GH_NEED_ANY:         return t != GH_NEW_SNAPSHOT;
    default:                  return true;
    }
}

/* Indexed by enum gh_gc_reading: what follows `gc.` (or `gc.genN.`). */
const char *const gh_gc_reading_names[GH_GCR_COUNT_] = {
    [GH_GCR_COLLECTIONS] = "collections",
    [GH_GCR_COLLECTED] = "collected",
    [GH_GCR_UNCOLLECTABLE] = "uncollectable",
    [GH_GCR_COUNT] = "count",
    [GH_GCR_THRESHOLD] = "threshold",
    [GH_GCR_EXAMINED] = "examined",
    [GH_GCR_UNREACHABLE] = "unreachable",
    [GH_GCR_FINALIZED] = "finalized",
    [GH_GCR_RESURRECTED] = "resurrected",
    [GH_GCR_UNTRACKED_TUPLES] = "untracked_tuples",
    [GH_GCR_UNTRACKED_DICTS] = "untracked_dicts",
    [GH_GCR_WEAKREFS_CLEARED] = "weakrefs_cleared",
    [GH_GCR_WEAKREF_CALLBACKS] = "weakref_callbacks",
    [GH_GCR_ISENABLED] = "isenabled",
    [GH_GCR_FREEZE_COUNT] = "freeze_count",
    [GH_GCR_GARBAGE_LEN] = "garbage",
};
