/* singletons.c - see singletons.h. */
#include "containers/singletons.h"

struct gh_static_int gh_small_ints[GH_SMALL_INT_COUNT];
struct gh_static_obj gh_none_storage;
struct gh_static_int gh_true, gh_false;
