/* gc_internal.h - what gc.c gives the collector (collect.fl.c, inspect.fl.c).
 * Private to src/gc. */
#ifndef GH_GC_GC_INTERNAL_H
#define GH_GC_GC_INTERNAL_H

#include "gc/gc.h"

/* Calls every registered gc callback with phase "start" or "stop". */
void gh__gc_run_callbacks(const char *phase, const struct gh_gc_info *info);
/* Calls the registered frames' visitor (gh_gc_set_roots), if any. */
void gh__gc_visit_roots(gh_visitproc visit, void *arg);

#endif
