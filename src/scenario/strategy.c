/* strategy.c - see strategy.h. */
#include "scenario/strategy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h" // gh_parse_duration

const char *const gh_sync_names[GH_SYNC_COUNT] = {"gil", "gil-ticks", "objlock", "none"};
const char *const gh_rc_names[GH_RC_COUNT] = {"plain", "atomic", "locked", "biased"};
const char *const gh_alloc_names[GH_ALLOC_KIND_COUNT] = {"arena", "thread", "malloc", "mimalloc"};
const char *const gh_gc_names[GH_GC_MODE_COUNT] = {"generational", "stw", "off", "nostop"};
const char *const gh_header_names[GH_HEADER_COUNT] = {"auto", "compact", "full"};
const char *const gh_lock_names[GH_LOCKK_COUNT] = {"pymutex", "pthread", "tatas", "ticket"};
const char *const gh_deferred_names[GH_DEFERRED_COUNT] = {"off", "on", "immortal"};
const char *const gh_loads_names[GH_LOADS_COUNT] = {"counted", "borrowed"};
static const char *const onoff_names[2] = {"off", "on"};

const struct gh_preset gh_presets[] = {
    {"gil", "CPython 3.12/3.13 default build: one global lock, plain counts, obmalloc",
     GH_SYNC_GIL, GH_RC_PLAIN, true, GH_ALLOC_ARENA, GH_GC_GENERATIONAL, GH_DEFERRED_OFF},
    {"gil-ticks", "CPython <= 3.1: the GIL released and re-taken every 100 ops, no handoff",
     GH_SYNC_GIL_TICKS, GH_RC_PLAIN, false, GH_ALLOC_ARENA, GH_GC_GENERATIONAL, GH_DEFERRED_OFF},
    {"atomic", "atomic reference counts and per-object locks (the Gilectomy approach)",
     GH_SYNC_OBJLOCK, GH_RC_ATOMIC, true, GH_ALLOC_THREAD, GH_GC_STW, GH_DEFERRED_OFF},
    {"ft", "CPython 3.13t free-threaded build: biased counts, per-object locks, "
           "list.get and dict.get without the lock (QSBR grace periods, liburcu), classes "
           "and functions immortal once a second thread runs",
     GH_SYNC_OBJLOCK, GH_RC_BIASED, true, GH_ALLOC_THREAD, GH_GC_STW, GH_DEFERRED_IMMORTAL},
    {"locks", "fine-grained locking everywhere: every count updated under its object's own "
              "mutex, per-object locks",
     GH_SYNC_OBJLOCK, GH_RC_LOCKED, true, GH_ALLOC_THREAD, GH_GC_STW, GH_DEFERRED_OFF},
    {"unsafe", "positive control: no locks, plain counts; the checked mode catches the "
               "hazards instead of crashing",
     GH_SYNC_NONE, GH_RC_PLAIN, true, GH_ALLOC_THREAD, GH_GC_STW, GH_DEFERRED_OFF},
};
const size_t gh_npresets = sizeof gh_presets / sizeof gh_presets[0];

enum gh_header_kind gh_strategy_header(const struct gh_strategy *st)
{
    if (st->header != GH_HEADER_AUTO)
        return st->header;
    return gh_sync_has_gil(st->sync) ? GH_HEADER_COMPACT : GH_HEADER_FULL;
}

static int lookup(const char *const *names, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return -1;
}

static void list_names(char *buf, size_t len, const char *const *names, int n)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
}

int gh_strategy_from_preset(struct gh_strategy *st, const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < gh_npresets; i++) {
        const struct gh_preset *p = &gh_presets[i];
        if (strcmp(p->name, name) == 0) {
            *st = (struct gh_strategy){
                .preset = p->name, .sync = p->sync, .rc = p->rc, .immortal = p->immortal,
                .alloc = p->alloc, .gc = p->gc, .header = GH_HEADER_AUTO,
                .lock = GH_LOCKK_PYMUTEX, .deferred = p->deferred,
                .switch_ns = GH_SWITCH_INTERVAL_DEFAULT_NS, .ticks = GH_TICKS_DEFAULT,
            };
            return 0;
        }
    }
    char names[256];
    const char *arr[16];
    for (size_t i = 0; i < gh_npresets && i < 16; i++)
        arr[i] = gh_presets[i].name;
    list_names(names, sizeof names, arr, (int)gh_npresets);
    snprintf(err, errlen, "unknown strategy '%s': expected one of %s", name, names);
    return -1;
}

#define AXES "sync, rc, immortal, alloc, gc, header, lock, deferred, loads, switch, ticks"

const char *gh_strategy_axis_names(void)
{
    return AXES;
}

int gh_strategy_set(struct gh_strategy *st, const char *a, char *err, size_t errlen)
{
    const char *eq = strchr(a, '=');
    if (!eq || eq == a || !eq[1]) {
        snprintf(err, errlen, "'%s': expected AXIS=VALUE (axes: " AXES ")", a);
        return -1;
    }
    char axis[32];
    size_t n = (size_t)(eq - a);
    if (n >= sizeof axis)
        n = sizeof axis - 1;
    memcpy(axis, a, n);
    axis[n] = 0;
    const char *v = eq + 1;

    /* The two numeric parameters. */
    if (strcmp(axis, "switch") == 0) {
        uint64_t ns;
        if (gh_parse_duration(v, &ns) != 0 || ns < 1000 || ns > 10000000000ull) {
            snprintf(err, errlen, "'%s': expected a duration from 1us to 10s for the GIL's "
                     "switch interval (e.g. switch=5ms)", a);
            return -1;
        }
        st->switch_ns = ns;
        st->overridden = true;
        return 0;
    }
    if (strcmp(axis, "ticks") == 0) {
        char *end;
        unsigned long long t = strtoull(v, &end, 10);
        if (*end || v[0] == '-' || t < 1 || t > 1000000000ull) {
            snprintf(err, errlen, "'%s': expected a whole number of ops from 1 to 1000000000 "
                     "(e.g. ticks=100)", a);
            return -1;
        }
        st->ticks = (uint32_t)t;
        st->overridden = true;
        return 0;
    }

    const char *const *names;
    int count, *slot;
    int sync = st->sync, rc = st->rc, alloc = st->alloc, gc = st->gc;
    int header = st->header, lock = st->lock, immortal = st->immortal,
        deferred = (int)st->deferred, loads = (int)st->loads;
    if (strcmp(axis, "sync") == 0) {
        names = gh_sync_names, count = GH_SYNC_COUNT, slot = &sync;
    } else if (strcmp(axis, "rc") == 0) {
        names = gh_rc_names, count = GH_RC_COUNT, slot = &rc;
    } else if (strcmp(axis, "immortal") == 0) {
        names = onoff_names, count = 2, slot = &immortal;
    } else if (strcmp(axis, "alloc") == 0) {
        names = gh_alloc_names, count = GH_ALLOC_KIND_COUNT, slot = &alloc;
    } else if (strcmp(axis, "gc") == 0) {
        names = gh_gc_names, count = GH_GC_MODE_COUNT, slot = &gc;
    } else if (strcmp(axis, "header") == 0) {
        /* "auto" is the default, not a value one sets. */
        names = gh_header_names + 1, count = GH_HEADER_COUNT - 1, slot = &header;
    } else if (strcmp(axis, "lock") == 0) {
        names = gh_lock_names, count = GH_LOCKK_COUNT, slot = &lock;
    } else if (strcmp(axis, "deferred") == 0) {
        names = gh_deferred_names, count = GH_DEFERRED_COUNT, slot = &deferred;
    } else if (strcmp(axis, "loads") == 0) {
        names = gh_loads_names, count = GH_LOADS_COUNT, slot = &loads;
    } else {
        snprintf(err, errlen, "'%s': unknown axis '%s': expected one of " AXES, a, axis);
        return -1;
    }
    int i = lookup(names, count, v);
    if (i < 0) {
        char valid[256];
        list_names(valid, sizeof valid, names, count);
        snprintf(err, errlen, "'%s': unknown value '%s' for axis %s: expected one of %s",
                 a, v, axis, valid);
        return -1;
    }
    *slot = slot == &header ? i + 1 : i;
    st->sync = (enum gh_sync_kind)sync;
    st->rc = (enum gh_rc_kind)rc;
    st->immortal = immortal != 0;
    st->alloc = (enum gh_alloc_kind)alloc;
    st->gc = (enum gh_gc_mode)gc;
    st->header = (enum gh_header_kind)header;
    st->lock = (enum gh_lock_kind)lock;
    st->deferred = (enum gh_deferred_kind)deferred;
    st->loads = (enum gh_loads_kind)loads;
    st->overridden = true;
    return 0;
}

const char *gh_strategy_unsafe_reason(const struct gh_strategy *st)
{
    if (st->gc == GH_GC_NOSTOP && st->sync == GH_SYNC_NONE)
        return "sync=none and gc=nostop: nothing protects a container or a count, and the "
               "collector counts references while the other threads move them";
    if (st->gc == GH_GC_NOSTOP)
        return "gc=nostop: the collector counts references while the other threads move "
               "them, so it can find a live object unreachable and clear it, and it reads "
               "objects they free under it";
    if (st->sync == GH_SYNC_NONE)
        return "sync=none: nothing protects a container or a count, so threads lose "
               "updates, read torn or freed items and free live objects";
    if (!gh_sync_has_gil(st->sync) && st->rc == GH_RC_PLAIN)
        return "rc=plain without a GIL: threads update shared reference counts "
               "without atomics, so increments and decrements can be lost";
    return NULL;
}

const char *gh_strategy_refusal(const struct gh_strategy *st)
{
    bool gil = gh_sync_has_gil(st->sync);
    enum gh_header_kind header = gh_strategy_header(st);

    /* lock= is the per-object lock of sync=objlock's critical sections. */
    if (st->lock != GH_LOCKK_PYMUTEX && st->sync != GH_SYNC_OBJLOCK)
        return st->sync == GH_SYNC_NONE
                   ? "lock= chooses the per-object lock of sync=objlock; sync=none locks "
                     "nothing, so there is no lock to choose"
                   : "lock= chooses the per-object lock of sync=objlock; under a GIL "
                     "(sync=gil, sync=gil-ticks) containers take no per-object lock";

    /* Combinations that cannot be built. */
    if (st->rc == GH_RC_BIASED && header == GH_HEADER_COMPACT)
        return "rc=biased keeps the owner thread and its local count in the full header "
               "(ob_tid, ob_ref_local); header=compact has neither";
    if (st->rc == GH_RC_BIASED && gil)
        return "rc=biased under a GIL is not compiled in this build (only sync=objlock "
               "rc=biased is)";
    if (st->rc == GH_RC_LOCKED && st->sync != GH_SYNC_OBJLOCK)
        return "rc=locked updates each count under the object's own mutex, the lock of "
               "sync=objlock's critical sections; only sync=objlock rc=locked is compiled";
    if (st->rc == GH_RC_LOCKED && header == GH_HEADER_COMPACT)
        return "rc=locked takes each object's mutex, which only the full header has "
               "(ob_mutex); header=compact has none";
    if (st->sync == GH_SYNC_OBJLOCK && header == GH_HEADER_COMPACT)
        return "sync=objlock keeps each object's mutex in the full header; header=compact "
               "has no room for it";
    if (st->sync == GH_SYNC_NONE && st->rc != GH_RC_PLAIN)
        return "sync=none is compiled only with rc=plain in this build (the positive "
               "control: nothing protects the counts either)";
    if (header == GH_HEADER_FULL && st->gc == GH_GC_GENERATIONAL)
        return "gc=generational keeps its generations in linked lists threaded through the "
               "compact header's GC links, which the full header does not have; use gc=stw "
               "(free-threaded CPython dropped generations for this reason)";
    /* deferred=on: free-threaded CPython's mechanism, built for the same
     * combination (docs/strategies.md, "deferred"). */
    if (st->deferred == GH_DEFERRED_IMMORTAL && st->sync != GH_SYNC_OBJLOCK)
        return "deferred=immortal is built for sync=objlock only, the free-threaded build "
               "(3.13t) it models: under a GIL no count is contended (3.13 makes no class "
               "immortal), and sync=none, the positive control, keeps every count so that "
               "its hazards stay visible";
    if (st->deferred == GH_DEFERRED_ON && header == GH_HEADER_COMPACT)
        return "deferred=on keeps its flag in the full header's ob_flags, which "
               "header=compact does not have (CPython has deferred reference counting "
               "only in the free-threaded build)";
    if (st->deferred == GH_DEFERRED_ON && st->sync != GH_SYNC_OBJLOCK)
        return "deferred=on is built for sync=objlock only, the free-threaded build it "
               "models: under a GIL no count is contended, and sync=none, the positive "
               "control, keeps every count so that its hazards stay visible";
    if (st->deferred == GH_DEFERRED_ON && st->gc != GH_GC_STW)
        return "deferred=on: only the collector frees a deferred object (its count "
               "carries a bias no decrement removes), and it must stop the world to "
               "count the frames' references; that is gc=stw (gc=off would keep every "
               "deferred object until exit)";
    if (!gil && st->gc == GH_GC_GENERATIONAL)
        return "gc=generational keeps its generations in linked lists that every "
               "allocation and free updates, which only the GIL protects; without it "
               "use gc=stw (free-threaded CPython dropped generations for this reason)";
    if (st->gc == GH_GC_NOSTOP && gil)
        return "gc=nostop under a GIL: the collecting thread holds the GIL from start to "
               "end, so no other thread runs during a collection and it would be gc=stw's "
               "collection under another name; gc=nostop needs threads that run in "
               "parallel (sync=objlock or sync=none)";
    if (st->gc == GH_GC_NOSTOP && header == GH_HEADER_COMPACT)
        return "gc=nostop walks the allocator's collector pools, as gc=stw does without a "
               "GIL, which needs the full header (header=compact keeps generation lists "
               "that every allocation relinks)";
    if (st->gc == GH_GC_NOSTOP && st->rc == GH_RC_BIASED)
        return "gc=nostop with rc=biased: the collector keeps its scratch in ob_tid and "
               "ob_ref_local, which biased counting reads on every count while the other "
               "threads run; a running owner would take the collector's numbers for its "
               "own (use rc=atomic or rc=locked)";
    return NULL;
}

char *gh_strategy_describe(const struct gh_strategy *st, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "sync=%s rc=%s immortal=%s alloc=%s gc=%s header=%s",
                                  gh_sync_names[st->sync], gh_rc_names[st->rc],
                                  onoff_names[st->immortal], gh_alloc_names[st->alloc],
                                  gh_gc_names[st->gc], gh_header_names[gh_strategy_header(st)]);
    if (off < len && st->sync == GH_SYNC_OBJLOCK && st->lock != GH_LOCKK_PYMUTEX)
        off += (size_t)snprintf(buf + off, len - off, " lock=%s", gh_lock_names[st->lock]);
    if (off < len && st->deferred != GH_DEFERRED_OFF)
        off += (size_t)snprintf(buf + off, len - off, " deferred=%s",
                                gh_deferred_names[st->deferred]);
    if (off < len && st->loads != GH_LOADS_COUNTED)
        off += (size_t)snprintf(buf + off, len - off, " loads=%s", gh_loads_names[st->loads]);
    if (off < len && st->sync == GH_SYNC_GIL && st->switch_ns != GH_SWITCH_INTERVAL_DEFAULT_NS)
        off += (size_t)snprintf(buf + off, len - off, " switch=%" PRIu64 "us",
                                st->switch_ns / 1000);
    if (off < len && st->sync == GH_SYNC_GIL_TICKS)
        off += (size_t)snprintf(buf + off, len - off, " ticks=%" PRIu32, st->ticks);
    return buf;
}
