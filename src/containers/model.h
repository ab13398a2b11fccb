/* model.h - bool, object(), user classes and their instances, finalizers,
 * functions with default values, weak references, WeakValueDictionary, and
 * getrefcount (included by containers.h only). Behaviour: docs/objects.md.
 *
 * A user class embeds the gh_type its instances point to (a CPython heap
 * type); each instance holds a strong reference to its class.
 *
 * A dying instance follows CPython's subtype_dealloc: __del__ once (the
 * FINALIZED bit), stopping on resurrection; weak references cleared,
 * callbacks run; the legacy finalizer, stopping on resurrection; the
 * attributes released; the memory freed; the class released.
 *
 * Protection: an instance's attributes, its critical section. The weak-
 * reference lists (tp_weaklistoffset), the GIL, or without one a single
 * process-wide gh_mutex (lock class `weakref`). A dereference takes a new
 * reference only if the count is not zero (a conditional increment).
 */
#ifndef GH_CONTAINERS_MODEL_H
#define GH_CONTAINERS_MODEL_H
#ifndef GH_CONTAINERS_CONTAINERS_H_BODY
#error "include containers/containers.h"
#endif

/* ---- bool and object() ---------------------------------------------------- */

extern const struct gh_type GH_FL(gh_bool_type);
extern const struct gh_type GH_FL(gh_object_type);

GH_INLINE gh_object *gh_bool_new(bool v)
{
    return gh_newref(v ? &gh_true.v.ob : &gh_false.v.ob);
}

/* A bare object(): 16 bytes, no attributes, no weak references. */
gh_object *GH_FL(gh_object_new)(void);

/* ---- classes and instances ------------------------------------------------ */

struct gh_class;
/* A finalizer body: `self` is alive (a temporary reference is held) while
 * it runs; storing a new reference to it somewhere resurrects it. */
typedef void (*gh_finalizer_fn)(gh_object *self, void *arg);

/* __slots__: at most this many, each name shorter than GH_SLOT_NAME. */
#define GH_MAX_SLOTS 8
#define GH_SLOT_NAME 32

struct gh_class_spec {
    const char *name;
    const char *const *slots;     /* __slots__ = (names...), or NULL */
    int nslots;
    gh_finalizer_fn del;          /* __del__ (PEP 442), or NULL */
    void *del_arg;
    gh_finalizer_fn legacy_del;   /* tp_del (pre-PEP 442), or NULL */
    void *legacy_del_arg;
};

struct gh_class {
    gh_object ob;
    struct gh_type tp;            /* what its instances' ob_type points to */
    char name[48];
    gh_finalizer_fn del;
    void *del_arg;
    gh_finalizer_fn legacy_del;
    void *legacy_del_arg;
    gh_object *weakreflist;       /* classes are weak-referenceable */
    /* __slots__ (-1: none, the instances have an attributes block): the
     * names, in order; instance slot i holds the value of name i. Plain
     * text, no references: CPython keeps them in member descriptors. */
    int nslots;
    char slot_names[GH_MAX_SLOTS][GH_SLOT_NAME];
};

/* An instance's attributes: (name, value) pairs in a block of its own, a
 * plain allocation (gh_alloc) that is not an object: the collector never
 * sees it, the instance's traverse visits what it holds. CPython 3.11+ keeps
 * the values in such a block (_PyDictValues, referenced from the object's
 * pre-header; 3.13 embeds it in the object) and the names once per class,
 * in keys the instances share; here each block carries its names. Insertion
 * ordered; found by identity first (identifiers are interned), then gh_equal.
 * Grows by doubling from GH_ATTRS_MIN; never shrinks. */
struct gh_attr {
    gh_object *name;              /* a str or an int, counted */
    gh_object *value;             /* counted */
};
struct gh_attrs {
    uint32_t used;                /* pairs in items[0..used) */
    uint32_t capacity;
    struct gh_attr items[];
};
#define GH_ATTRS_MIN 4
GH_INLINE size_t gh_attrs_bytes(uint32_t capacity)
{
    return sizeof(struct gh_attrs) + (size_t)capacity * sizeof(struct gh_attr);
}

/* An instance of a user class: 32 bytes, the two pointers CPython 3.12
 * keeps in the pre-header (dict_or_values, weakreflist) being fields here.
 * No attribute dict object: `attrs` is the values block, NULL until the
 * first setattr. */
struct gh_instance {
    gh_object ob;
    struct gh_attrs *attrs;       /* the block and everything in it: the
                                     instance's critical section */
    gh_object *weakreflist;       /* protected by the weakref lists' lock */
};
_Static_assert(sizeof(struct gh_instance) == 32, "header + dict_or_values + weakreflist");

/* An instance of a __slots__ class (GH_KIND_SLOTS): the header and one
 * pointer per slot (NULL: unset), nothing else; CPython's basicsize for
 * __slots__ without __dict__ and __weakref__, so getsizeof is 16 + 8 per
 * slot plus the GC head (compact) or the free-threaded header's 16 extra
 * bytes: 48 for two slots in both builds. Each slot is protected by the
 * instance's critical section. */
struct gh_slots_instance {
    gh_object ob;
    gh_object *slots[];
};

GH_INLINE bool gh_kind_is_instance(enum gh_kind k)
{
    return k == GH_KIND_INSTANCE || k == GH_KIND_SLOTS;
}

GH_INLINE struct gh_class *gh_class_of(gh_object *instance)
{
    return (struct gh_class *)(void *)((char *)instance->ob_type - offsetof(struct gh_class, tp));
}

/* A new class (the caller owns the reference). */
gh_object *GH_FL(gh_class_new)(const struct gh_class_spec *spec);
/* A new instance of cls (borrowed; the instance takes its own reference). */
gh_object *GH_FL(gh_instance_new_of)(gh_object *cls);
/* An instance of the run's plain class `Plain` (no finalizer). */
gh_object *GH_FL(gh_instance_new)(void);
/* The plain class (borrowed). */
gh_object *GH_FL(gh_plain_class)(void);

/* setattr(o, name, value): steals value; name is borrowed (a str or an int
 * key). On a __slots__ instance only a slot's name is found (a str; any
 * other is AttributeError: setattr releases value and returns false). getattr: a new reference or NULL (AttributeError). delattr: false
 * when o has no such attribute (AttributeError). Each runs in o's critical
 * section; a replaced or deleted value (and a deleted name) is released
 * after it ends. */
bool GH_FL(gh_attr_set)(struct gh_tstate *ts, gh_object *o, gh_object *name, gh_object *value);
gh_object *GH_FL(gh_attr_get)(struct gh_tstate *ts, gh_object *o, gh_object *name);
bool GH_FL(gh_attr_del)(struct gh_tstate *ts, gh_object *o, gh_object *name);

/* ---- functions with default values --------------------------------------- */

#define GH_FUNC_MAX_ARGS 4

struct gh_function;
/* The body: args[0..nargs) are borrowed (defaults filled in); returns a new
 * reference. */
typedef gh_object *(*gh_code_fn)(struct gh_tstate *ts, struct gh_function *f, gh_object **args);

struct gh_function {
    gh_object ob;
    const char *name;             /* static string */
    gh_code_fn code;
    int nparams;
    int ndefaults;                /* the last ndefaults parameters have one */
    /* Evaluated once, when the function is made (def time), and shared by
     * every call that does not pass the argument: CPython's __defaults__. */
    gh_object *defaults[GH_FUNC_MAX_ARGS];
    gh_object *weakreflist;
};

/* A function; `defaults` (ndefaults references, stolen) are its default
 * values, already evaluated. */
gh_object *GH_FL(gh_function_new)(const char *name, gh_code_fn code, int nparams,
                                  gh_object **defaults, int ndefaults);
/* f(args...) with nargs <= nparams given; the rest from the defaults.
 * NULL when too few arguments. */
gh_object *GH_FL(gh_call)(struct gh_tstate *ts, gh_object *f, gh_object **args, int nargs);

/* The two functions of the mutable-default example:
 *     def append_one(x=[]):   x.append(1); return x
 *     def append_one_none(x=None):
 *         if x is None: x = []
 *         x.append(1); return x                                            */
gh_object *GH_FL(gh_make_append_one)(void);
gh_object *GH_FL(gh_make_append_one_none)(void);

/* ---- weak references ------------------------------------------------------ */

struct gh_weakref {
    gh_object ob;
    gh_object *referent;          /* not counted; NULL once it died */
    gh_object *callback;          /* a function called with the weakref when
                                     the referent dies (counted), or NULL */
    struct gh_weakref *prev, *next; /* the referent's list */
    /* KeyedRef (WeakValueDictionary's entries): the key, counted, and a weak
     * reference to the dictionary, or NULL. */
    gh_object *key;
    gh_object *owner;
};

/* weakref.ref(o[, callback]): steals callback (may be NULL). NULL when o's
 * type is not weak-referenceable (TypeError). */
gh_object *GH_FL(gh_weakref_new)(gh_object *o, gh_object *callback);
/* ref(): a new reference to the referent, or NULL when it is dead (None). */
gh_object *GH_FL(gh_weakref_get)(gh_object *wr);
/* weakref.getweakrefcount(o) */
int64_t GH_FL(gh_weakref_count)(gh_object *o);

/* Clears every weak reference to `self` and runs the callbacks of those
 * that are still alive (CPython's PyObject_ClearWeakRefs). The dealloc of
 * every weak-referenceable type calls it first, when its weak-list head is
 * not NULL. */
GH_NOINLINE void GH_FL(gh_weakrefs_clear)(gh_object *self);

/* For the cyclic collector (gc layer), in CPython's handle_weakrefs order:
 * clear_ref makes an unreachable weak reference stop referring without
 * running its callback; clear_for_gc clears every weak reference to an
 * unreachable object and passes queue() a new reference to each one that
 * has a callback and is alive, for the collector to call (run_callback) or
 * drop; neither runs user code. */
void GH_FL(gh_weakref_clear_ref)(gh_object *wr);
void GH_FL(gh_weakrefs_clear_for_gc)(gh_object *self, void (*queue)(gh_object *wr, void *arg),
                                     void *arg);
void GH_FL(gh_weakref_run_callback)(struct gh_tstate *ts, gh_object *wr);

/* ---- WeakValueDictionary ---------------------------------------------------- */

struct gh_wvdict {
    gh_object ob;
    struct gh_dict *data;         /* key -> KeyedRef; the dict's own lock */
    gh_object *weakreflist;       /* its entries' callbacks reach it weakly */
};

/* The checked mode, back from a fault: under sync=none, releases the
 * weak-reference lock if the faulting thread held it. */
void GH_FL(gh_model_after_fault)(struct gh_tstate *ts);

gh_object *GH_FL(gh_wvdict_new)(void);
/* d[key] = value: steals key, borrows value (the dict keeps it weakly). */
void GH_FL(gh_wvdict_set)(struct gh_tstate *ts, gh_object *d, gh_object *key, gh_object *value);
/* d.get(key): a new reference, or NULL when missing or dead. Borrows key. */
gh_object *GH_FL(gh_wvdict_get)(struct gh_tstate *ts, gh_object *d, gh_object *key);
int64_t GH_FL(gh_wvdict_len)(gh_object *d);

/* ---- introspection ---------------------------------------------------------- */

/* sys.getrefcount(o): the count plus the reference the call itself holds
 * (its argument), as CPython reports it; for an immortal object CPython
 * 3.12's _Py_IMMORTAL_REFCNT, 2^32 - 1. A deferred object's counted
 * references only, without the bias (which CPython 3.14t shows) and
 * without the frames' uncounted references (deferred=on, rc/rc.h). */
GH_INLINE uint64_t gh_getrefcount(gh_object *o)
{
    uint64_t c = gh_refcnt_counted(o);
    return gh_refcnt_is_immortal(c) ? UINT32_MAX : c + 1;
}

/* id(o): its address, as CPython's id(). */
GH_INLINE uint64_t gh_id(gh_object *o) { return (uint64_t)(uintptr_t)o; }

/* ---- the model's life cycle --------------------------------------------------- */

/* Before any thread of a run: singletons get this flavour's types, the
 * interned-string table and the plain class are made. After the run (all
 * threads joined, globals dropped): everything the model itself holds is
 * released, so the allocator's live bytes return to zero. */
void GH_FL(gh_model_init)(void);
void GH_FL(gh_model_fini)(void);
/* The census (gc/census.h): calls visit once for every strong reference the
 * model itself holds (the plain class, the WeakValueDictionary's removal
 * function; under immortal=off the runtime's reference to each static
 * object). The interned-string table's references are not counted (as
 * CPython's), so it holds none. */
void GH_FL(gh_model_visit_roots)(gh_visitproc visit, void *arg);
/* Whether o's type is one of this flavour's types, a user class's
 * instance type, or the poison: the census's check, under sync=none, that
 * a pointer read from a torn slot leads to an object before it calls
 * through the type (reads o->ob_type; a fault there is the caller's). */
bool GH_FL(gh_type_is_known)(const gh_object *o);

#endif
