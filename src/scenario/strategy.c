/* strategy.c - see strategy.h. */
#include "scenario/strategy.h"

#include <stdio.h>
#include <string.h>

const char *const gh_sync_names[GH_SYNC_COUNT] = {"gil", "objlock"};
const char *const gh_rc_names[GH_RC_COUNT] = {"plain", "atomic"};
const char *const gh_alloc_names[3] = {"arena", "thread", "malloc"};
const char *const gh_gc_names[GH_GC_MODE_COUNT] = {"generational", "stw", "off"};

const struct gh_preset gh_presets[] = {
    {"gil", "CPython 3.12/3.13 default build: one global lock, plain counts, obmalloc",
     GH_SYNC_GIL, GH_RC_PLAIN, GH_ALLOC_ARENA, GH_GC_GENERATIONAL},
    {"atomic", "atomic reference counts and per-object locks (the Gilectomy approach)",
     GH_SYNC_OBJLOCK, GH_RC_ATOMIC, GH_ALLOC_THREAD, GH_GC_STW},
};
const size_t gh_npresets = sizeof gh_presets / sizeof gh_presets[0];

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
        if (strcmp(gh_presets[i].name, name) == 0) {
            st->preset = gh_presets[i].name;
            st->sync = gh_presets[i].sync;
            st->rc = gh_presets[i].rc;
            st->alloc = gh_presets[i].alloc;
            st->gc = gh_presets[i].gc;
            st->overridden = false;
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

int gh_strategy_set(struct gh_strategy *st, const char *a, char *err, size_t errlen)
{
    const char *eq = strchr(a, '=');
    if (!eq || eq == a || !eq[1]) {
        snprintf(err, errlen, "'%s': expected AXIS=VALUE (axes: sync, rc, alloc, gc)", a);
        return -1;
    }
    char axis[32];
    size_t n = (size_t)(eq - a);
    if (n >= sizeof axis)
        n = sizeof axis - 1;
    memcpy(axis, a, n);
    axis[n] = 0;
    const char *v = eq + 1;
    const char *const *names;
    int count, *slot;
    int sync = st->sync, rc = st->rc, alloc = st->alloc, gc = st->gc;
    if (strcmp(axis, "sync") == 0) {
        names = gh_sync_names, count = GH_SYNC_COUNT, slot = &sync;
    } else if (strcmp(axis, "rc") == 0) {
        names = gh_rc_names, count = GH_RC_COUNT, slot = &rc;
    } else if (strcmp(axis, "alloc") == 0) {
        names = gh_alloc_names, count = 3, slot = &alloc;
    } else if (strcmp(axis, "gc") == 0) {
        names = gh_gc_names, count = GH_GC_MODE_COUNT, slot = &gc;
    } else {
        snprintf(err, errlen, "'%s': unknown axis '%s': expected one of sync, rc, alloc, gc",
                 a, axis);
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
    *slot = i;
    st->sync = (enum gh_sync_kind)sync;
    st->rc = (enum gh_rc_kind)rc;
    st->alloc = (enum gh_alloc_kind)alloc;
    st->gc = (enum gh_gc_mode)gc;
    st->overridden = true;
    return 0;
}

const char *gh_strategy_unsafe_reason(const struct gh_strategy *st)
{
    if (st->sync == GH_SYNC_OBJLOCK && st->rc == GH_RC_PLAIN)
        return "rc=plain without a GIL: threads update shared reference counts "
               "without atomics, so increments and decrements can be lost";
    return NULL;
}

const char *gh_strategy_refusal(const struct gh_strategy *st)
{
    if (st->sync == GH_SYNC_OBJLOCK && st->rc == GH_RC_PLAIN)
        return "rc=plain without a GIL loses count updates and frees live objects; "
               "it can run only once the checked mode that catches those hazards "
               "instead of crashing exists (issue 5)";
    if (st->sync != GH_SYNC_GIL && st->gc == GH_GC_GENERATIONAL)
        return "gc=generational keeps its generations in linked lists that every "
               "allocation and free updates, which only the GIL protects; without it "
               "use gc=stw (free-threaded CPython dropped generations for this reason)";
    return NULL;
}
