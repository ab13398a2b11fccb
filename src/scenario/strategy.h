/* strategy.h - the strategy matrix: axes, their values, presets.
 *
 * Axis values and preset names are user-visible and fixed (scenarios,
 * scripts and result files name them). Every axis and value is parsed; a
 * value whose mechanism is not built yet is refused by gh_strategy_refusal
 * with that reason, never silently replaced by another. docs/strategies.md explains each value.
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_STRATEGY_H
#define GH_SCENARIO_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h" // enum gh_alloc_kind
#include "base/compiler.h"
#include "object/gctrack.h" // enum gh_gc_mode

enum gh_sync_kind { GH_SYNC_GIL, GH_SYNC_GIL_TICKS, GH_SYNC_OBJLOCK, GH_SYNC_NONE, GH_SYNC_COUNT };
enum gh_rc_kind { GH_RC_PLAIN, GH_RC_ATOMIC, GH_RC_LOCKED, GH_RC_BIASED, GH_RC_COUNT };
/* header=: the compact (16-byte, GIL build) or full (32-byte, free-threaded
 * build) object header. AUTO: follows sync (compact exactly when there is a
 * GIL); resolved by gh_strategy_header. */
enum gh_header_kind { GH_HEADER_AUTO, GH_HEADER_COMPACT, GH_HEADER_FULL, GH_HEADER_COUNT };
/* lock=: what the per-object lock is under sync=objlock. */
enum gh_lock_kind { GH_LOCKK_PYMUTEX, GH_LOCKK_PTHREAD, GH_LOCKK_TATAS, GH_LOCKK_TICKET,
                    GH_LOCKK_COUNT };
/* deferred=: what classes and functions get so that threads sharing them do
 * not contend on their counts. ON: 3.14t's deferred counting (uncounted
 * frame references, freed by the collector). IMMORTAL: 3.13t's stop-gap,
 * immortal once a second thread runs (docs/strategies.md, "deferred"). */
enum gh_deferred_kind { GH_DEFERRED_OFF, GH_DEFERRED_ON, GH_DEFERRED_IMMORTAL,
                        GH_DEFERRED_COUNT };

#define GH_ALLOC_KIND_COUNT 4

extern const char *const gh_sync_names[GH_SYNC_COUNT];
extern const char *const gh_rc_names[GH_RC_COUNT];
extern const char *const gh_alloc_names[GH_ALLOC_KIND_COUNT];
extern const char *const gh_gc_names[GH_GC_MODE_COUNT];
extern const char *const gh_header_names[GH_HEADER_COUNT];
extern const char *const gh_lock_names[GH_LOCKK_COUNT];
extern const char *const gh_deferred_names[GH_DEFERRED_COUNT];
/* loads=: whether loading a name onto the evaluation stack counts (3.13's
 * LOAD_FAST / LOAD_GLOBAL) or borrows (3.14's LOAD_FAST_BORROW). */
enum gh_loads_kind { GH_LOADS_COUNTED, GH_LOADS_BORROWED, GH_LOADS_COUNT };
extern const char *const gh_loads_names[GH_LOADS_COUNT];

/* Defaults of the two GIL parameters (CPython's sys.getswitchinterval()
 * and the pre-3.2 sys.getcheckinterval()). */
#define GH_SWITCH_INTERVAL_DEFAULT_NS 5000000u
#define GH_TICKS_DEFAULT 100u

struct gh_strategy {
    const char *preset;       /* the preset it started from */
    enum gh_sync_kind sync;
    enum gh_rc_kind rc;
    bool immortal;            /* immortal=on */
    enum gh_alloc_kind alloc;
    enum gh_gc_mode gc;
    enum gh_header_kind header;
    enum gh_lock_kind lock;
    enum gh_deferred_kind deferred;
    enum gh_loads_kind loads;
    uint64_t switch_ns;       /* switch=: the GIL's switch interval */
    uint32_t ticks;           /* ticks=: gil-ticks' ops between releases */
    bool overridden;          /* an axis was --set away from the preset */
};

struct gh_preset {
    const char *name;
    const char *models;       /* one line: what it stands for */
    enum gh_sync_kind sync;
    enum gh_rc_kind rc;
    bool immortal;
    enum gh_alloc_kind alloc;
    enum gh_gc_mode gc;
    enum gh_deferred_kind deferred;
};

extern const struct gh_preset gh_presets[];
extern const size_t gh_npresets;

/* The sync kinds with a global interpreter lock. */
GH_INLINE bool gh_sync_has_gil(enum gh_sync_kind s)
{
    return s == GH_SYNC_GIL || s == GH_SYNC_GIL_TICKS;
}

/* The header the strategy runs with (AUTO resolved). */
enum gh_header_kind gh_strategy_header(const struct gh_strategy *st);

/* 0, or -1 with a message listing the valid names. */
int gh_strategy_from_preset(struct gh_strategy *st, const char *name,
                            char *err, size_t errlen);
/* Applies "AXIS=VALUE". 0, or -1 with a message. */
int gh_strategy_set(struct gh_strategy *st, const char *assignment,
                    char *err, size_t errlen);
/* Why this combination is unsafe by construction, or NULL when it is safe.
 * Unsafe combinations run and are labelled in every output. */
const char *gh_strategy_unsafe_reason(const struct gh_strategy *st);
/* Why this combination cannot run, or NULL. Such a run is refused. */
const char *gh_strategy_refusal(const struct gh_strategy *st);
/* "sync=gil rc=plain immortal=on alloc=arena gc=generational header=compact"
 * and the axes that differ from their defaults (lock, deferred, loads,
 * switch, ticks). Returns buf. */
char *gh_strategy_describe(const struct gh_strategy *st, char *buf, size_t len);

/* Every axis --set takes, comma-separated, for help texts. */
const char *gh_strategy_axis_names(void);

#endif
