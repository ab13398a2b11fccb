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
