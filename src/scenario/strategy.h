/* strategy.h - the strategy matrix (BRIEF §2): axes, their values, presets.
 *
 * Axis values and preset names are user-visible and fixed by the brief.
 * Built so far: the axes sync, rc, alloc and gc; the others arrive with the
 * layers that implement them, and an axis that does not exist yet is refused
 * by name ("unknown axis"), never silently ignored.
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_STRATEGY_H
#define GH_SCENARIO_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc/alloc.h" // enum gh_alloc_kind
#include "object/gctrack.h" // enum gh_gc_mode

enum gh_sync_kind { GH_SYNC_GIL, GH_SYNC_OBJLOCK, GH_SYNC_COUNT };
enum gh_rc_kind { GH_RC_PLAIN, GH_RC_ATOMIC, GH_RC_COUNT };

extern const char *const gh_sync_names[GH_SYNC_COUNT];
extern const char *const gh_rc_names[GH_RC_COUNT];
extern const char *const gh_alloc_names[3];
extern const char *const gh_gc_names[GH_GC_MODE_COUNT];

struct gh_strategy {
    const char *preset;       /* the preset it started from */
    enum gh_sync_kind sync;
    enum gh_rc_kind rc;
    enum gh_alloc_kind alloc;
    enum gh_gc_mode gc;
    bool overridden;          /* an axis was --set away from the preset */
};

struct gh_preset {
    const char *name;
    const char *models;       /* one line: what it stands for */
    enum gh_sync_kind sync;
    enum gh_rc_kind rc;
    enum gh_alloc_kind alloc;
    enum gh_gc_mode gc;
};

extern const struct gh_preset gh_presets[];
extern const size_t gh_npresets;

/* 0, or -1 with a message listing the valid names. */
int gh_strategy_from_preset(struct gh_strategy *st, const char *name,
                            char *err, size_t errlen);
/* Applies "AXIS=VALUE". 0, or -1 with a message. */
int gh_strategy_set(struct gh_strategy *st, const char *assignment,
                    char *err, size_t errlen);
/* Why this combination is unsafe by construction, or NULL when it is safe.
 * Unsafe combinations run and are labelled in every output. */
const char *gh_strategy_unsafe_reason(const struct gh_strategy *st);
/* Why this combination cannot be built, or NULL. Such a run is refused. */
const char *gh_strategy_refusal(const struct gh_strategy *st);

#endif
