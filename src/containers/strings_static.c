/* strings_static.c - process-wide storage of the string types: the one
 * interned-string table, shared by every flavour's code (a run uses one
 * flavour; the table exists once, not once per flavour). Not flavoured:
 * it includes only the storage part of strings.h. See docs/objects.md. */
#define GH_BUILD_STRINGS_STATIC 1
#include "containers/strings.h"

/* Empty (no slots, unlocked) until the first interning; emptied again by
 * the active flavour's gh_strings_fini. */
struct gh_intern_table gh_intern_table;
