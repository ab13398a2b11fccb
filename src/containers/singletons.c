/* singletons.c - see singletons.h. */
#include "containers/singletons.h"

struct gh_int gh_small_ints[GH_SMALL_INT_COUNT];
gh_object gh_none;
