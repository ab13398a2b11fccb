/* model.fl.c - object(), classes and instances, finalizers, functions with
 * defaults, weak references, WeakValueDictionary; the model's life cycle.
 * The protocols are described in containers/model.h and docs/objects.md. */
#include <stdlib.h>
#include <string.h>

#include "containers/containers.h"

/* ---- the weak-reference lists' lock ----------------------------------------- */

#if defined(GH_FL_SYNC_NONE)
static gh_mutex weakref_lock; /* protects every weak list and weakref links */
/* Unsafe: the thread holding the lock (NULL: none), written under it,
 * relaxed, and read relaxed by a thread back from a fault in the checked
 * mode (gh_model_after_fault): a thread that faulted while holding it
 * releases it, so that no other waits for it for ever. Only the holder
 * itself can find its own tstate there. */
static struct gh_tstate *weakref_holder;
#define WR_LOCK(ts)                                                            \
    (gh_mutex_lock(&weakref_lock, &(ts)->locks[GH_LOCK_weakref]),              \
     gh_atomic_store_relaxed_tp(&weakref_holder, (ts)))
#define WR_UNLOCK()                                                            \
    (gh_atomic_store_relaxed_tp(&weakref_holder, (struct gh_tstate *)NULL),    \
     gh_mutex_unlock(&weakref_lock))
#elif defined(GH_FL_NO_GIL)
static gh_mutex weakref_lock; /* protects every weak list and weakref links */
#define WR_LOCK(ts) gh_mutex_lock(&weakref_lock, &(ts)->locks[GH_LOCK_weakref])
#define WR_UNLOCK() gh_mutex_unlock(&weakref_lock)
#else
/* Under the GIL nothing else runs inside an operation. */
#define WR_LOCK(ts) ((void)(ts))
#define WR_UNLOCK() ((void)0)
#endif

static void weakrefs_clear_impl(gh_object *self, bool callbacks);

void GH_FL(gh_model_after_fault)(struct gh_tstate *ts)
{
#if defined(GH_FL_SYNC_NONE)
    if (gh_atomic_load_relaxed_tp(&weakref_holder) == ts)
        WR_UNLOCK();
#else
    (void)ts; /* a safe strategy never faults */
#endif
}

/* The model's own objects, made by gh_model_init, read-only during a run. */
static gh_object *plain_class;
static gh_object *wvdict_remover;

/* ---- object() ---------------------------------------------------------------- */

static void object_dealloc(gh_object *self) { gh_object_free(self, sizeof(gh_object)); }

const struct gh_type GH_FL(gh_object_type) = {
    .tp_name = "object",
    .kind = GH_KIND_OBJECT,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(gh_object),
    .tp_dealloc = object_dealloc,
};

gh_object *GH_FL(gh_object_new)(void)
{
    return gh_object_alloc(&gh_object_type, sizeof(gh_object));
}

/* ---- instances ------------------------------------------------------------------ */

/* The pairs a walk of block a may read: `used`, under sync=none no more
 * than the block holds. sync=none (the checked mode is always on): two
 * threads may grow one instance's block at once, or append to it, so its
 * count may run past its capacity; a block a racing grow freed is zeroed
 * by the checked mode (capacity 0) and quarantined; a pair being written
 * may read NULL. None of this is compiled into the other flavours. */
GH_INLINE uint32_t attrs_used(const struct gh_attrs *a)
{
#if defined(GH_FL_SYNC_NONE)
    uint32_t n = a->used, cap = a->capacity;
    return n < cap ? n : cap;
#else
    return a->used;
#endif
}

/* Releases the names and values of a block detached from its instance, and
 * the block. */
static void attrs_release(struct gh_attrs *a)
{
    uint32_t n = attrs_used(a);
    for (uint32_t i = 0; i < n; i++) {
#if defined(GH_FL_SYNC_NONE)
        if (!a->items[i].name || !a->items[i].value) { /* a torn pair */
            if (a->items[i].name)
                gh_decref(a->items[i].name);
            if (a->items[i].value)
                gh_decref(a->items[i].value);
            continue;
        }
#endif
        gh_decref(a->items[i].name);
        gh_decref(a->items[i].value);
    }
    gh_checked_free(a, gh_attrs_bytes(a->capacity));
}

/* The finalizers of a dying instance (either layout): false when one
 * resurrected it (the deallocation stops). */
static bool instance_finalize(gh_object *self, struct gh_class *cls)
{
    /* PEP 442: __del__ once, with a temporary reference; resurrection (a
     * new reference stored during __del__) stops the deallocation. */
    if (cls->del && !(gh_gc_bits(self) & GH_GCBIT_FINALIZED)) {
        gh_gc_bits_set(self, GH_GCBIT_FINALIZED);
        gh_refcnt_set(self, 1); /* the temporary reference (the count was 0) */
        cls->del(self, cls->del_arg);
        if (!gh_decref_is_zero(self)) {
            gh_object_revive(self);
            gh_gc_track(self); /* resurrected: alive again, never finalized again */
            return false;
        }
    }
    if (gh_has_weakrefs(self))
        gh_weakrefs_clear(self);
    if (cls->legacy_del) {
        gh_refcnt_set(self, 1);
        cls->legacy_del(self, cls->legacy_del_arg);
        if (!gh_decref_is_zero(self)) {
            gh_object_revive(self);
            gh_gc_track(self);
            return false;
        }
        /* Weak references it made to self must not outlive it; their
         * callbacks are not called (CPython's subtype_dealloc: "New
         * weakrefs could be created during the finalizer call"). */
        if (gh_has_weakrefs(self))
            weakrefs_clear_impl(self, false);
    }
    return true;
}

static void instance_dealloc(gh_object *self)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
    struct gh_class *cls = gh_class_of(self);
    if (!instance_finalize(self, cls))
        return;
    /* Nobody else can reach a dead instance: no lock. A zero count among
     * the attributes only queues its object (rc/dealloc.c). */
#if defined(GH_FL_SYNC_NONE)
    /* By exchange, as a grow takes it (freed once). */
    struct gh_attrs *attrs = gh_atomic_exchange_seqcst_tp(&in->attrs, NULL);
#else
    struct gh_attrs *attrs = in->attrs;
    in->attrs = NULL;
#endif
    if (attrs)
        attrs_release(attrs);
    gh_object_free(self, sizeof(struct gh_instance));
    gh_decref(&cls->ob); /* the instance's reference to its class */
}

/* The class, then each attribute's name and value (CPython 3.11+'s
 * subtype_traverse visits the type and the values; the names are in the
 * class's shared keys there). */
static void instance_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
    visit(&gh_class_of(self)->ob, arg);
    struct gh_attrs *a = in->attrs;
    if (!a)
        return;
    /* The values only, as CPython's instance traverse: the names stand for
     * the class's shared keys, which CPython's instances do not reference
     * (they are strs, never tracked, so trial deletion is unaffected);
     * gc.get_referents(instance) is then CPython's. */
    uint32_t n = attrs_used(a);
    for (uint32_t i = 0; i < n; i++) {
#if defined(GH_FL_SYNC_NONE)
        if (!a->items[i].value) /* a torn pair */
            continue;
#endif
        visit(a->items[i].value, arg);
    }
}

/* tp_clear: the instance stays valid, with no attributes. The block is
 * detached first, so a dealloc the releases trigger sees it empty (as
 * list_clear). */
static void instance_clear(gh_object *self)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
#if defined(GH_FL_SYNC_NONE)
    struct gh_attrs *a = gh_atomic_exchange_seqcst_tp(&in->attrs, NULL); /* as a grow */
#else
    struct gh_attrs *a = in->attrs;
    in->attrs = NULL;
#endif
    if (a)
        attrs_release(a);
}

/* The template every class copies into its embedded type. */
static const struct gh_type instance_type_template = {
    .tp_name = "instance",
    .kind = GH_KIND_INSTANCE,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(struct gh_instance),
    .tp_dealloc = instance_dealloc,
    .tp_traverse = instance_traverse,
    .tp_clear = instance_clear,
    .tp_weaklistoffset = offsetof(struct gh_instance, weakreflist),
};

/* ---- __slots__ instances ---------------------------------------------------------- */

static size_t slots_bytes(const struct gh_class *cls)
{
    return sizeof(struct gh_slots_instance) + (size_t)cls->nslots * sizeof(gh_object *);
}

static void slots_dealloc(gh_object *self)
{
    struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)self;
    struct gh_class *cls = gh_class_of(self);
    if (!instance_finalize(self, cls))
        return;
    for (int i = 0; i < cls->nslots; i++) {
        gh_object *v = in->slots[i];
        in->slots[i] = NULL;
        if (v)
            gh_decref(v);
    }
    gh_object_free(self, slots_bytes(cls));
    gh_decref(&cls->ob);
}

/* The class and the set slots (CPython's subtype_traverse visits the type
 * and every object member). */
static void slots_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)self;
    struct gh_class *cls = gh_class_of(self);
    visit(&cls->ob, arg);
    for (int i = 0; i < cls->nslots; i++)
        if (in->slots[i])
            visit(in->slots[i], arg);
}

static void slots_clear(gh_object *self)
{
    struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)self;
    struct gh_class *cls = gh_class_of(self);
    for (int i = 0; i < cls->nslots; i++) {
        gh_object *v = in->slots[i];
        in->slots[i] = NULL;
        if (v)
            gh_decref(v);
    }
}

static const struct gh_type slots_type_template = {
    .tp_name = "instance",
    .kind = GH_KIND_SLOTS,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(struct gh_slots_instance), /* + 8 per slot (class_new) */
    .tp_dealloc = slots_dealloc,
    .tp_traverse = slots_traverse,
    .tp_clear = slots_clear,
};

/* The slot `name` names on o, or -1 (AttributeError). */
static int slot_index(gh_object *o, gh_object *name)
{
    if (name->ob_type->kind != GH_KIND_STR)
        return -1;
    const struct gh_class *cls = gh_class_of(o);
    for (int i = 0; i < cls->nslots; i++)
        if ((size_t)gh_str_len(name) == strlen(cls->slot_names[i]) &&
            !memcmp(gh_str_data(name), cls->slot_names[i], (size_t)gh_str_len(name)))
            return i;
    return -1;
}

/* CPython 3.13's member descriptor: a store under the instance's critical
 * section, the old value released after it. (3.13t reads a member without
 * the lock, _Py_TryIncrefCompare; the model's read takes the section.) */
static bool slots_set(struct gh_tstate *ts, gh_object *o, gh_object *name, gh_object *value)
{
    int i = slot_index(o, name);
    if (i < 0) {
        gh_decref(value);
        return false;
    }
    struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)o;
    gh_object *old;
    GH_BEGIN_CS(ts, o)
    old = in->slots[i];
    in->slots[i] = value;
    GH_END_CS(ts)
    if (old)
        gh_decref(old);
    return true;
}

static gh_object *slots_get(struct gh_tstate *ts, gh_object *o, gh_object *name)
{
    int i = slot_index(o, name);
    if (i < 0)
        return NULL;
    struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)o;
    gh_object *v;
    GH_BEGIN_CS(ts, o)
    v = in->slots[i];
    if (v)
        gh_incref(v);
    GH_END_CS(ts)
    return v;
}

gh_object *GH_FL(gh_instance_new_of)(gh_object *cls_obj)
{
    struct gh_class *cls = (struct gh_class *)(void *)cls_obj;
    if (cls->nslots >= 0) {
        gh_object *o = gh_object_alloc(&cls->tp, slots_bytes(cls));
        struct gh_slots_instance *in = (struct gh_slots_instance *)(void *)o;
        for (int i = 0; i < cls->nslots; i++)
            in->slots[i] = NULL;
        gh_incref(cls_obj);
        gh_gc_track(o);
        return o;
    }
    gh_object *o = gh_object_alloc(&cls->tp, sizeof(struct gh_instance));
    struct gh_instance *in = (struct gh_instance *)(void *)o;
    in->attrs = NULL;
    in->weakreflist = NULL;
    gh_incref(cls_obj);
    gh_gc_track(o);
    return o;
}

gh_object *GH_FL(gh_instance_new)(void) { return gh_instance_new_of(plain_class); }

gh_object *GH_FL(gh_plain_class)(void) { return plain_class; }

/* The index of name in a, or -1. Identity first (identifiers are interned
 * constants), then equality; a str or int name compares without taking a
 * lock or running user code. In the instance's critical section. */
static int64_t attrs_find(const struct gh_attrs *a, gh_object *name)
{
    if (!a)
        return -1;
    uint32_t n = attrs_used(a);
    for (uint32_t i = 0; i < n; i++)
        if (a->items[i].name == name)
            return i;
    for (uint32_t i = 0; i < n; i++) {
#if defined(GH_FL_SYNC_NONE)
        /* The name read once (relaxed, pairing with nothing). */
        gh_object *an = gh_atomic_load_relaxed_tp(&((struct gh_attrs *)(uintptr_t)a)->items[i].name);
        if (an && gh_equal(an, name))
            return i;
#else
        if (gh_equal(a->items[i].name, name))
            return i;
#endif
    }
    return -1;
}

/* Room for one more pair: the first block, or one twice as big. In the
 * instance's critical section (gh_alloc's lock is a leaf). */
#if defined(GH_FL_SYNC_NONE)
/* sync=none: the grown copy of a (read as it is, perhaps freed: zeroed),
 * installed in the instance with an exchange, and the block the exchange
 * took out freed by this thread alone (as gh_list_resize_slow's arrays):
 * two racing grows never free one block twice; the pairs the other
 * appended to its copy are lost. The exchange that installs a block pairs
 * with the one that takes it out (its writes happen before the free).
 * Seq_cst is more than that needs. */
GH_NOINLINE static struct gh_attrs *attrs_grow_slow(struct gh_instance *in, struct gh_attrs *a)
{
    uint32_t cap = a && a->capacity >= GH_ATTRS_MIN ? a->capacity * 2 : GH_ATTRS_MIN;
    struct gh_attrs *b = gh_alloc(gh_attrs_bytes(cap));
    b->capacity = cap;
    b->used = 0;
    if (a) {
        uint32_t n = attrs_used(a);
        memcpy(b->items, a->items, n * sizeof a->items[0]);
        b->used = n;
    }
    struct gh_attrs *out = gh_atomic_exchange_seqcst_tp(&in->attrs, b);
    if (out)
        gh_checked_free(out, gh_attrs_bytes(out->capacity));
    return b;
}
#else
GH_NOINLINE static struct gh_attrs *attrs_grow_slow(struct gh_attrs *a)
{
    uint32_t cap = a ? a->capacity * 2 : GH_ATTRS_MIN;
    struct gh_attrs *b = gh_alloc(gh_attrs_bytes(cap));
    b->capacity = cap;
    b->used = 0;
    if (a) {
        memcpy(b->items, a->items, a->used * sizeof a->items[0]);
        b->used = a->used;
        gh_checked_free(a, gh_attrs_bytes(a->capacity));
    }
    return b;
}
#endif

bool GH_FL(gh_attr_set)(struct gh_tstate *ts, gh_object *o, gh_object *name, gh_object *value)
{
    if (o->ob_type->kind == GH_KIND_SLOTS)
        return slots_set(ts, o, name, value);
#if defined(GH_FL_SYNC_NONE)
    if (GH_UNLIKELY(o->ob_type->kind != GH_KIND_INSTANCE)) {
        /* An instance whose class racing counts freed (its embedded type
         * zeroed), or a freed instance: the value is not stored. */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "instance");
        gh_decref(value);
        return false;
    }
#endif
    gh_assert(o->ob_type->kind == GH_KIND_INSTANCE);
    gh_assert(name->ob_type->kind == GH_KIND_STR || name->ob_type->kind == GH_KIND_INT);
    struct gh_instance *in = (struct gh_instance *)(void *)o;
    gh_object *old = NULL;
    /* The name's reference is taken before the section: under rc=locked an
     * increment inside one may suspend it (rc/locked.h), and this one has read
     * and grown the block by then. */
    gh_object *name_ref = gh_newref(name);
    GH_BEGIN_CS(ts, o)
    struct gh_attrs *a = in->attrs;
    int64_t i = attrs_find(a, name);
#if defined(GH_FL_SYNC_NONE)
    if (a && a->capacity < GH_ATTRS_MIN) {
        /* The block in hand was freed by a racing grow (zeroed). */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "instance");
        old = value; /* the value is not stored: released below */
    } else if (i >= 0) {
        old = gh_atomic_exchange_seqcst_tp(&a->items[i].value, value);
        /* Seq_cst, pairing with nothing: two racing replacements each
         * release the value they took out, never one twice. */
    } else {
        if (!a || a->used >= a->capacity)
            a = attrs_grow_slow(in, a);
        uint32_t n = a->used;
        if (n < a->capacity) {
            a->items[n] = (struct gh_attr){name_ref, value};
            a->used = n + 1;
            name_ref = NULL;
        } else {
            gh_hazard_note(GH_HAZARD_TORN_READ, "instance");
            old = value; /* lost to racing appends: released below */
        }
    }
#else
    if (i >= 0) {
        old = a->items[i].value; /* the stored name stays, as in a dict */
        a->items[i].value = value;
    } else {
        if (!a || a->used == a->capacity)
            in->attrs = a = attrs_grow_slow(a);
        a->items[a->used++] = (struct gh_attr){name_ref, value};
        name_ref = NULL;
    }
#endif
    GH_END_CS(ts)
    if (old) /* after the section: a dealloc never runs under the lock */
        gh_decref(old);
    if (name_ref) /* not stored: the caller's reference keeps it alive */
        gh_decref(name_ref);
    return true;
}

gh_object *GH_FL(gh_attr_get)(struct gh_tstate *ts, gh_object *o, gh_object *name)
{
    if (o->ob_type->kind == GH_KIND_SLOTS)
        return slots_get(ts, o, name);
    if (o->ob_type->kind != GH_KIND_INSTANCE)
        return NULL;
    struct gh_instance *in = (struct gh_instance *)(void *)o;
    gh_object *v = NULL;
    GH_BEGIN_CS(ts, o)
#if defined(GH_FL_SYNC_NONE)
    /* One block in hand; the value read once (relaxed, pairing with
     * nothing). */
    struct gh_attrs *a = in->attrs;
    int64_t i = attrs_find(a, name);
    if (i >= 0) {
        v = gh_atomic_load_relaxed_tp(&a->items[i].value);
        if (v)
            gh_incref(v);
        else
            gh_hazard_note(GH_HAZARD_TORN_READ, "instance");
    }
#else
    int64_t i = attrs_find(in->attrs, name);
    if (i >= 0)
        v = gh_newref(in->attrs->items[i].value);
#endif
    GH_END_CS(ts)
    return v;
}

bool GH_FL(gh_attr_del)(struct gh_tstate *ts, gh_object *o, gh_object *name)
{
    if (o->ob_type->kind != GH_KIND_INSTANCE)
        return false;
    struct gh_instance *in = (struct gh_instance *)(void *)o;
    struct gh_attr gone = {NULL, NULL};
    GH_BEGIN_CS(ts, o)
    struct gh_attrs *a = in->attrs;
    int64_t i = attrs_find(a, name);
    if (i >= 0) {
        gone = a->items[i];
#if defined(GH_FL_SYNC_NONE)
        uint32_t n = attrs_used(a); /* no further than the block holds */
        a->used = n > (uint32_t)i ? n - 1 : (uint32_t)i;
#else
        a->used--;
#endif
        memmove(&a->items[i], &a->items[i + 1], (a->used - (uint32_t)i) * sizeof a->items[0]);
    }
    GH_END_CS(ts)
    if (!gone.name)
        return false;
    gh_decref(gone.name);
#if defined(GH_FL_SYNC_NONE)
    if (gone.value) /* a torn pair */
#endif
    gh_decref(gone.value);
    return true;
}

/* ---- classes -------------------------------------------------------------------- */

static void class_dealloc(gh_object *self)
{
    if (gh_has_weakrefs(self))
        gh_weakrefs_clear(self);
    gh_object_free(self, sizeof(struct gh_class));
}

static const struct gh_type class_type = {
    .tp_name = "type",
    .kind = GH_KIND_CLASS,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(struct gh_class),
    .tp_dealloc = class_dealloc,
    .tp_weaklistoffset = offsetof(struct gh_class, weakreflist),
};

gh_object *GH_FL(gh_class_new)(const struct gh_class_spec *spec)
{
    gh_object *o = gh_object_alloc(&class_type, sizeof(struct gh_class));
    struct gh_class *cls = (struct gh_class *)(void *)o;
    cls->nslots = spec->slots ? spec->nslots : -1;
    if (spec->slots) {
        gh_assert(spec->nslots >= 0 && spec->nslots <= GH_MAX_SLOTS);
        cls->tp = slots_type_template;
        cls->tp.tp_basicsize += (size_t)spec->nslots * sizeof(gh_object *);
        for (int i = 0; i < spec->nslots; i++) {
            strncpy(cls->slot_names[i], spec->slots[i], GH_SLOT_NAME - 1);
            cls->slot_names[i][GH_SLOT_NAME - 1] = 0;
        }
    } else {
        cls->tp = instance_type_template;
    }
    strncpy(cls->name, spec->name ? spec->name : "C", sizeof cls->name - 1);
    cls->name[sizeof cls->name - 1] = 0;
    cls->tp.tp_name = cls->name;
    cls->del = spec->del;
    cls->del_arg = spec->del_arg;
    cls->legacy_del = spec->legacy_del;
    cls->legacy_del_arg = spec->legacy_del_arg;
    cls->weakreflist = NULL;
    gh_gc_track(o);
    return o;
}

/* ---- functions ------------------------------------------------------------------ */

static void function_dealloc(gh_object *self)
{
    struct gh_function *f = (struct gh_function *)(void *)self;
    if (gh_has_weakrefs(self))
        gh_weakrefs_clear(self);
    for (int i = 0; i < f->ndefaults; i++)
        gh_decref(f->defaults[i]);
    gh_object_free(self, sizeof(struct gh_function));
}

static void function_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_function *f = (struct gh_function *)(void *)self;
    for (int i = 0; i < f->ndefaults; i++)
        visit(f->defaults[i], arg);
}

static void function_clear(gh_object *self)
{
    struct gh_function *f = (struct gh_function *)(void *)self;
    int n = f->ndefaults;
    f->ndefaults = 0;
    for (int i = 0; i < n; i++)
        gh_decref(f->defaults[i]);
}

static const struct gh_type function_type = {
    .tp_name = "function",
    .kind = GH_KIND_FUNCTION,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(struct gh_function),
    .tp_dealloc = function_dealloc,
    .tp_traverse = function_traverse,
    .tp_clear = function_clear,
    .tp_weaklistoffset = offsetof(struct gh_function, weakreflist),
};

gh_object *GH_FL(gh_function_new)(const char *name, gh_code_fn code, int nparams,
                                  gh_object **defaults, int ndefaults)
{
    gh_assert(nparams <= GH_FUNC_MAX_ARGS && ndefaults <= nparams);
    gh_object *o = gh_object_alloc(&function_type, sizeof(struct gh_function));
    struct gh_function *f = (struct gh_function *)(void *)o;
    f->name = name;
    f->code = code;
    f->nparams = nparams;
    f->ndefaults = ndefaults;
    for (int i = 0; i < ndefaults; i++)
        f->defaults[i] = defaults[i];
    f->weakreflist = NULL;
    gh_gc_track(o);
    return o;
}

gh_object *GH_FL(gh_call)(struct gh_tstate *ts, gh_object *fo, gh_object **args, int nargs)
{
#if defined(GH_FL_SYNC_NONE)
    if (GH_UNLIKELY(fo->ob_type->kind != GH_KIND_FUNCTION)) {
        /* A function racing counts freed: TypeError, as a call of a
         * non-callable. */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, gh_kind_name(fo->ob_type->kind));
        return NULL;
    }
#endif
    gh_assert(fo->ob_type->kind == GH_KIND_FUNCTION);
    struct gh_function *f = (struct gh_function *)(void *)fo;
    gh_object *a[GH_FUNC_MAX_ARGS];
    if (nargs > f->nparams || nargs < f->nparams - f->ndefaults)
        return NULL; /* TypeError: wrong number of arguments */
    for (int i = 0; i < f->nparams; i++)
        a[i] = i < nargs ? args[i] : f->defaults[i - (f->nparams - f->ndefaults)];
    return f->code(ts, f, a);
}

static gh_object *append_one_code(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)f;
    gh_object *x = args[0];
    if (x->ob_type->kind != GH_KIND_LIST)
        return NULL;
    gh_list_append(ts, (struct gh_list *)(void *)x, gh_int_new(1));
    return gh_newref(x);
}

static gh_object *append_one_none_code(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)f;
    gh_object *x = args[0] == &gh_none ? gh_list_new() : gh_newref(args[0]);
    if (x->ob_type->kind != GH_KIND_LIST) {
        gh_decref(x);
        return NULL;
    }
    gh_list_append(ts, (struct gh_list *)(void *)x, gh_int_new(1));
    return x;
}

gh_object *GH_FL(gh_make_append_one)(void)
{
    gh_object *dflt = gh_list_new(); /* evaluated once, at def time */
    return gh_function_new("append_one", append_one_code, 1, &dflt, 1);
}

gh_object *GH_FL(gh_make_append_one_none)(void)
{
    gh_object *dflt = gh_none_new();
    return gh_function_new("append_one_none", append_one_none_code, 1, &dflt, 1);
}

/* ---- weak references ---------------------------------------------------------- */

static struct gh_weakref *as_wr(gh_object *o) { return (struct gh_weakref *)(void *)o; }

/* Removes wr from its referent's list. With the lists' lock. */
static void wr_unlink_lock_held(struct gh_weakref *wr)
{
    gh_object **head = gh_weaklist_ptr(wr->referent);
    if (wr->prev)
        wr->prev->next = wr->next;
    else /* Release: pairs with the acquire in gh_has_weakrefs. */
        gh_atomic_store_release_tp(head, wr->next ? &wr->next->ob : NULL);
    if (wr->next)
        wr->next->prev = wr->prev;
    wr->prev = wr->next = NULL;
}

/* The weak reference stops referring: off its referent's list. */
static void weakref_unlink(struct gh_weakref *wr)
{
    struct gh_tstate *ts = gh_tstate_get();
    WR_LOCK(ts);
    if (wr->referent)
        wr_unlink_lock_held(wr);
    wr->referent = NULL;
    WR_UNLOCK();
}

/* tp_clear (the collector breaking a cycle through a weak reference): it
 * stops referring, and drops its callback and KeyedRef fields. */
static void weakref_clear(gh_object *self)
{
    struct gh_weakref *wr = as_wr(self);
    weakref_unlink(wr);
    gh_object *cb = wr->callback, *key = wr->key, *owner = wr->owner;
    wr->callback = wr->key = wr->owner = NULL;
    if (cb)
        gh_decref(cb);
    if (key)
        gh_decref(key);
    if (owner)
        gh_decref(owner);
}

static void weakref_dealloc(gh_object *self)
{
    weakref_clear(self);
    gh_object_free(self, sizeof(struct gh_weakref));
}

static void weakref_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_weakref *wr = as_wr(self);
    if (wr->callback)
        visit(wr->callback, arg);
    if (wr->key)
        visit(wr->key, arg);
    if (wr->owner)
        visit(wr->owner, arg);
}

static const struct gh_type weakref_type = {
    .tp_name = "weakref.ReferenceType",
    .kind = GH_KIND_WEAKREF,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_weakref,
    .tp_basicsize = sizeof(struct gh_weakref),
    .tp_dealloc = weakref_dealloc,
    .tp_traverse = weakref_traverse,
    .tp_clear = weakref_clear,
};

gh_object *GH_FL(gh_weakref_new)(gh_object *o, gh_object *callback)
{
    gh_object **head = gh_weaklist_ptr(o);
    if (!head) {
        if (callback)
            gh_decref(callback);
        return NULL; /* TypeError: cannot create weak reference */
    }
    struct gh_tstate *ts = gh_tstate_get();
    gh_object *wo = gh_object_alloc(&weakref_type, sizeof(struct gh_weakref));
    struct gh_weakref *wr = as_wr(wo);
    wr->referent = o;
    wr->callback = callback;
    wr->key = wr->owner = NULL;
    wr->prev = NULL;
    /* Both are now reachable without a counted reference: o through wo,
     * wo through o's list (gh_try_incref on either must work). */
    gh_rc_weakly_reachable(o);
    gh_rc_weakly_reachable(wo);
    WR_LOCK(ts);
    wr->next = *head ? as_wr(*head) : NULL;
    if (wr->next)
        wr->next->prev = wr;
    gh_atomic_store_release_tp(head, wo); /* as in wr_unlink */
    WR_UNLOCK();
    gh_gc_track(wo);
    return wo;
}

gh_object *GH_FL(gh_weakref_get)(gh_object *wo)
{
    struct gh_weakref *wr = as_wr(wo);
    struct gh_tstate *ts = gh_tstate_get();
    gh_object *o;
    WR_LOCK(ts);
    o = wr->referent;
    /* Conditional: a referent whose count already reached zero is being
     * deallocated by another thread, which will clear this weakref. */
    if (o && !gh_try_incref(o))
        o = NULL;
    WR_UNLOCK();
    return o;
}

int64_t GH_FL(gh_weakref_count)(gh_object *o)
{
    gh_object **head = gh_weaklist_ptr(o);
    if (!head)
        return 0;
    struct gh_tstate *ts = gh_tstate_get();
    int64_t n = 0;
    WR_LOCK(ts);
    for (struct gh_weakref *wr = *head ? as_wr(*head) : NULL; wr; wr = wr->next)
        n++;
    WR_UNLOCK();
    return n;
}

void GH_FL(gh_weakrefs_clear)(gh_object *self) { weakrefs_clear_impl(self, true); }

void GH_FL(gh_weakref_clear_ref)(gh_object *wo) { weakref_unlink(as_wr(wo)); }

void GH_FL(gh_weakrefs_clear_for_gc)(gh_object *self, void (*queue)(gh_object *wr, void *arg),
                                     void *arg)
{
    gh_object **head = gh_weaklist_ptr(self);
    struct gh_tstate *ts = gh_tstate_get();
    WR_LOCK(ts);
    struct gh_weakref *wr = *head ? as_wr(*head) : NULL;
    gh_atomic_store_release_tp(head, NULL); /* as in wr_unlink */
    while (wr) {
        struct gh_weakref *next = wr->next;
        wr->referent = NULL;
        wr->prev = wr->next = NULL;
        if (wr->callback && gh_try_incref(&wr->ob))
            queue(&wr->ob, arg);
        wr = next;
    }
    WR_UNLOCK();
}

void GH_FL(gh_weakref_run_callback)(struct gh_tstate *ts, gh_object *wo)
{
    struct gh_weakref *wr = as_wr(wo);
    if (!wr->callback)
        return;
    gh_object *r = gh_call(ts, wr->callback, &wo, 1);
    if (r)
        gh_decref(r);
}

static void weakrefs_clear_impl(gh_object *self, bool callbacks)
{
    gh_object **head = gh_weaklist_ptr(self);
    struct gh_tstate *ts = gh_tstate_get();
    struct gh_weakref *pending[16], **todo = pending;
    size_t n = 0, cap = GH_ARRAY_LEN(pending);

    WR_LOCK(ts);
    struct gh_weakref *wr = *head ? as_wr(*head) : NULL;
    gh_atomic_store_release_tp(head, NULL); /* as in wr_unlink */
    while (wr) {
        struct gh_weakref *next = wr->next;
        wr->referent = NULL;
        wr->prev = wr->next = NULL;
        /* Callbacks run only for weak references that are themselves alive
         * (one whose count reached zero is being freed by its owner). */
        if (callbacks && wr->callback && gh_try_incref(&wr->ob)) {
            if (n == cap) {
                cap *= 2;
                struct gh_weakref **bigger = malloc(cap * sizeof *bigger);
                gh_assert(bigger);
                memcpy(bigger, todo, n * sizeof *bigger);
                if (todo != pending)
                    free(todo);
                todo = bigger;
            }
            todo[n++] = wr;
        }
        wr = next;
    }
    WR_UNLOCK();

    /* Callbacks run outside the lock, each once, with the weakref alive. */
    for (size_t i = 0; i < n; i++) {
        gh_object *arg = &todo[i]->ob;
        gh_object *r = gh_call(ts, todo[i]->callback, &arg, 1);
        if (r)
            gh_decref(r);
        gh_decref(&todo[i]->ob);
    }
    if (todo != pending)
        free(todo);
}

/* ---- WeakValueDictionary -------------------------------------------------------- */

/* The callback of every entry: the value died, so remove its entry, if the
 * dictionary still exists and the entry is still this one. */
static gh_object *wvdict_remove_code(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)f;
    struct gh_weakref *kr = as_wr(args[0]);
    gh_object *d = kr->owner ? gh_weakref_get(kr->owner) : NULL;
    if (d) {
        struct gh_wvdict *w = (struct gh_wvdict *)(void *)d;
        gh_dict_del_if_is(ts, w->data, kr->key, &kr->ob);
        gh_decref(d);
    }
    return gh_none_new();
}

static void wvdict_dealloc(gh_object *self)
{
    struct gh_wvdict *w = (struct gh_wvdict *)(void *)self;
    if (gh_has_weakrefs(self))
        gh_weakrefs_clear(self);
    gh_decref(&w->data->ob);
    gh_object_free(self, sizeof(struct gh_wvdict));
}

static void wvdict_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    visit(&((struct gh_wvdict *)(void *)self)->data->ob, arg);
}

static const struct gh_type wvdict_type = {
    .tp_name = "WeakValueDictionary",
    .kind = GH_KIND_WEAKVALUEDICT,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_dict,
    .tp_basicsize = sizeof(struct gh_wvdict),
    .tp_dealloc = wvdict_dealloc,
    .tp_traverse = wvdict_traverse,
    .tp_weaklistoffset = offsetof(struct gh_wvdict, weakreflist),
};

gh_object *GH_FL(gh_wvdict_new)(void)
{
    gh_object *o = gh_object_alloc(&wvdict_type, sizeof(struct gh_wvdict));
    struct gh_wvdict *w = (struct gh_wvdict *)(void *)o;
    w->data = (struct gh_dict *)(void *)gh_dict_new();
    w->weakreflist = NULL;
    gh_gc_track(o);
    return o;
}

void GH_FL(gh_wvdict_set)(struct gh_tstate *ts, gh_object *d, gh_object *key, gh_object *value)
{
    struct gh_wvdict *w = (struct gh_wvdict *)(void *)d;
    gh_object *kr = gh_weakref_new(value, gh_newref(wvdict_remover));
#if defined(GH_FL_SYNC_NONE)
    /* Unsafe: a racing count may have freed the value (its header reads
     * as no longer weak-referenceable); the store is lost, the key's
     * reference dropped. */
    if (!kr) {
        gh_decref(key);
        return;
    }
#endif
    gh_assert(kr); /* the caller passes a weak-referenceable value */
    as_wr(kr)->key = gh_newref(key);
    as_wr(kr)->owner = gh_weakref_new(d, NULL);
    gh_dict_set(ts, w->data, key, kr);
}

gh_object *GH_FL(gh_wvdict_get)(struct gh_tstate *ts, gh_object *d, gh_object *key)
{
    struct gh_wvdict *w = (struct gh_wvdict *)(void *)d;
    gh_object *kr = gh_dict_get(ts, w->data, key);
    if (!kr)
        return NULL;
    gh_object *v = gh_weakref_get(kr);
    gh_decref(kr);
    return v;
}

int64_t GH_FL(gh_wvdict_len)(gh_object *d)
{
    return gh_dict_len(((struct gh_wvdict *)(void *)d)->data);
}

/* ---- life cycle -------------------------------------------------------------------- */

void GH_FL(gh_model_init)(void)
{
    gh_singletons_init();
    gh_tuple_init();
    gh_strings_init();
#if defined(GH_FL_NO_GIL)
    weakref_lock = (gh_mutex){0};
#endif
    struct gh_class_spec plain = {.name = "Plain"};
    plain_class = gh_class_new(&plain);
    wvdict_remover = gh_function_new("_remove_dead_weakref", wvdict_remove_code, 1, NULL, 0);
}

void GH_FL(gh_model_visit_roots)(gh_visitproc visit, void *arg)
{
    if (plain_class)
        visit(plain_class, arg);
    if (wvdict_remover)
        visit(wvdict_remover, arg);
    /* immortal=off: the runtime's one reference to each static object
     * (gh_static_counts_init); immortal ones are skipped by the census. */
    if (gh_model.immortal)
        return;
    visit(&gh_none, arg);
    visit(&gh_true.v.ob, arg);
    visit(&gh_false.v.ob, arg);
    for (int i = 0; i < GH_SMALL_INT_COUNT; i++)
        visit(&gh_small_ints[i].v.ob, arg);
    visit((gh_object *)(void *)gh_empty_tuple, arg);
}

bool GH_FL(gh_type_is_known)(const gh_object *o)
{
    static const struct gh_type *const known[] = {
        &gh_none_type, &gh_bool_type, &gh_int_type,
        &gh_float_type, &gh_str_type, &gh_bytes_type,
        &gh_bytearray_type, &gh_tuple_type, &gh_list_type,
        &gh_dict_type, &gh_set_type, &gh_frozenset_type,
        &gh_object_type, &class_type, &function_type, &weakref_type, &wvdict_type,
        &gh_lock_type, &gh_freed_type,
    };
    const struct gh_type *tp = o->ob_type;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (tp == known[i])
            return true;
    /* An instance's type is embedded in its class, a class object. */
    const struct gh_class *cls = (const struct gh_class *)(const void *)((const char *)tp -
                                                                   offsetof(struct gh_class, tp));
    return ((uintptr_t)cls & 15u) == 0 && cls->ob.ob_type == &class_type &&
           gh_kind_is_instance(tp->kind);
}

void GH_FL(gh_model_fini)(void)
{
    gh_decref(wvdict_remover);
    gh_decref(plain_class);
    wvdict_remover = plain_class = NULL;
    gh_strings_fini(); /* last: it frees the immortal interned strings */
}
