/* ops.c - the names of the scenario operations (GH_OPS in scenario.h).
 *
 * See docs/scenarios.md for what each operation does.
 */
#include "scenario/scenario.h"

#include <string.h>

const char *const gh_op_names[GH_OP_COUNT] = {
#define GH_X_(e, name, doc) name,
    GH_OPS(GH_X_)
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
