/* ops.h - the scenario operations: one table, a row per op.
 *
 * A row says everything the program knows about an op, and each part of
 * the program reads the columns it needs:
 *
 *   e       the enum suffix (GH_OP_<e>)
 *   name    its name in scenario files
 *   keys    the keys it accepts besides `op` (and `weight` in a mix)
 *   on      what its `on` must name (GH_NEED_*; NONE: it has no `on`)
 *   flags   GH_OPF(...): LOADS_ON (the statement loads `on` onto the
 *           evaluation stack first: `L.append(x)`, `d[k]`), ON_OPTIONAL,
 *           NEEDS_VALUE, NEEDS_AS, OWN_VALUE (its parse hook reads
 *           `value`), TRACES (it needs tracemalloc on), FREEZES,
 *           OUTLINE (its executor is out of line, below)
 *   hint    what `on` is, for "missing `on`" (0: "the object it works on")
 *   parse   the parser's hook for what the common keys do not cover
 *           (scenario/parse_op.c), or 0
 *   exec    its executor: the hot ones in scenario/worker.fl.c, inlined
 *           into the measured loop; the OUTLINE ones (the object model's,
 *           scenario/exec_model.fl.c) reached through one call
 *   doc     what it does, in one line (docs/scenarios.md says more)
 *
 * Adding an op is adding a row, its executor and, when it has keys of its
 * own, a parse hook: docs/architecture.md, "Adding an op".
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_OPS_H
#define GH_SCENARIO_OPS_H

/* X(e, name, keys, on, flags, hint, parse, exec, doc) */
#define GH_OPS(X)                                                              \
    X(NEW, "new", GH_KEYS(TYPE, AS, VALUE, ITEMS, CONST, DEF), NONE,           \
      GH_OPF(NEEDS_AS, OWN_VALUE), 0, parse_op_new, exec_new,                  \
      "make an object of `type` and bind it to the local `as`")              \
    X(DROP, "drop", GH_KEYS(ON), LOCAL, GH_OPF(), "the local to unbind", 0,   \
      exec_drop, "unbind the local `on` (its reference is released)")        \
    X(LIST_APPEND, "list.append", GH_KEYS(ON, VALUE, RANGE), LIST,            \
      GH_OPF(LOADS_ON, NEEDS_VALUE), "the list to append to", 0,             \
      exec_list_append, "append `value` to the list `on`")                   \
    X(LIST_POP, "list.pop", GH_KEYS(ON), LIST, GH_OPF(LOADS_ON),              \
      "the list it works on", 0, exec_list_pop,                              \
      "remove and release the last item of `on` (fails when empty)")         \
    X(LIST_GET, "list.get", GH_KEYS(ON, INDEX), LIST, GH_OPF(LOADS_ON),       \
      "the list it works on", 0, exec_list_get,                              \
      "read item `index` of `on` (a new reference, released at once)")       \
    X(LIST_SET, "list.set", GH_KEYS(ON, INDEX, VALUE, RANGE), LIST,           \
      GH_OPF(LOADS_ON, NEEDS_VALUE), "the list it works on", 0, exec_list_set, \
      "replace item `index` of `on` with `value`")                           \
    X(LIST_LEN, "list.len", GH_KEYS(ON), LIST, GH_OPF(LOADS_ON),              \
      "the list it works on", 0, exec_list_len, "read the length of `on`")   \
    X(LIST_MOVE, "list.move", GH_KEYS(ON, FROM), LIST, GH_OPF(LOADS_ON),      \
      "the list to append to", parse_op_list_move, exec_list_move,           \
      "pop the last item of `from` and append it to `on`, atomically (a "    \
      "two-object critical section)")                                        \
    X(LIST_ITER, "list.iter", GH_KEYS(ON), LIST, GH_OPF(LOADS_ON),            \
      "the list it works on", 0, exec_list_iter,                             \
      "for x in `on`: read every item, one step at a time, with a switch "   \
      "point between steps (other threads may mutate the list meanwhile)")   \
    X(DICT_SET, "dict.set", GH_KEYS(ON, KEY, KEYS, VALUE, RANGE), DICT,       \
      GH_OPF(LOADS_ON, NEEDS_VALUE), "the dict it works on", 0, exec_dict_set, \
      "d[`key`] = `value` on the dict `on`")                                 \
    X(DICT_GET, "dict.get", GH_KEYS(ON, KEY, KEYS), DICT, GH_OPF(LOADS_ON),   \
      "the dict it works on", 0, exec_dict_get,                              \
      "read d[`key`] (fails when missing)")                                  \
    X(DICT_DEL, "dict.del", GH_KEYS(ON, KEY, KEYS), DICT, GH_OPF(LOADS_ON),   \
      "the dict it works on", 0, exec_dict_del,                              \
      "delete d[`key`] (fails when missing)")                                \
    X(DICT_ITER, "dict.iter", GH_KEYS(ON), DICT, GH_OPF(LOADS_ON),            \
      "the dict to iterate", 0, exec_dict_iter,                              \
      "for k in `on`: read every key, a switch point between steps; fails "  \
      "when the dict changed size meanwhile (CPython's RuntimeError)")       \
    X(GLOBAL_ADD, "global.add", GH_KEYS(ON, VALUE, VIA), INT_GLOBAL,          \
      GH_OPF(OWN_VALUE), "the global int to add to", parse_op_global_add,    \
      exec_global_add,                                                       \
      "`on` += `value` on a global int: `via: inline` (`C += 1`: no switch " \
      "point inside) or `via: call` (`C = C + f()`: f's entry is a switch "  \
      "point between the read and the write)")                               \
    X(COMPUTE, "compute", GH_KEYS(ON, ITERS), ANY, GH_OPF(ON_OPTIONAL), 0, 0, \
      exec_compute,                                                          \
      "CPU work of `iters` steps, holding what the strategy holds (the "     \
      "GIL; with `on`, that object's lock)")                                 \
    X(IO, "io", GH_KEYS(US), NONE, GH_OPF(), 0, 0, exec_io,                   \
      "a blocking wait of `us` microseconds that releases what the "         \
      "strategy holds")                                                      \
    X(LOCK_ACQUIRE, "lock.acquire", GH_KEYS(ON), LOCK, GH_OPF(LOADS_ON),      \
      "the lock to acquire", 0, exec_lock_acquire,                           \
      "`on`.acquire() on a threading.Lock: waits until it is free, "         \
      "releasing what the strategy holds while it waits (fails when this "   \
      "thread already holds it, where CPython would wait forever)")          \
    X(LOCK_RELEASE, "lock.release", GH_KEYS(ON), LOCK, GH_OPF(LOADS_ON),      \
      "the lock to release", 0, exec_lock_release,                           \
      "`on`.release() on a threading.Lock, by any thread (fails when it is " \
      "not locked: CPython's RuntimeError)")                                 \
    X(BIND, "bind", GH_KEYS(AS, VALUE, RANGE), NONE,                          \
      GH_OPF(NEEDS_AS, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_bind,             \
      "bind the local `as` to `value` (another reference, no copy: b = a)")  \
    X(ATTR_SET, "attr.set", GH_KEYS(ON, NAME, VALUE, RANGE), INSTANCE,        \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE),                                 \
      0, parse_op_attr, gh_exec_attr_set,                                     \
      "setattr(`on`, `name`, `value`) on an instance")                       \
    X(ATTR_GET, "attr.get", GH_KEYS(ON, NAME, AS), INSTANCE,                  \
      GH_OPF(LOADS_ON, OUTLINE),                                              \
      0, parse_op_attr, gh_exec_attr_get,                                    \
      "getattr(`on`, `name`), bound to `as` if given (fails when missing)")  \
    X(SET_ADD, "set.add", GH_KEYS(ON, VALUE, RANGE), SET,                     \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_set_member,       \
      "`on`.add(`value`) (fails when already present or unhashable)")        \
    X(SET_DISCARD, "set.discard", GH_KEYS(ON, VALUE, RANGE), SET,             \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_set_member,       \
      "`on`.discard(`value`) (fails when absent)")                           \
    X(SET_CONTAINS, "set.contains", GH_KEYS(ON, VALUE, RANGE), SETLIKE,       \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_set_member,       \
      "`value` in `on` (fails when absent); a set or a frozenset")           \
    X(SET_LEN, "set.len", GH_KEYS(ON), SET, GH_OPF(LOADS_ON, OUTLINE), 0, 0,  \
      gh_exec_set_len, "read the length of the set `on`")                    \
    X(TUPLE_CONCAT, "tuple.concat", GH_KEYS(ON, VALUE, RANGE), TUPLE_LOCAL,   \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_tuple_concat,     \
      "`on` += (`value`,): rebinds the local `on` to a new tuple")           \
    X(TUPLE_GET, "tuple.get", GH_KEYS(ON, INDEX, AS), TUPLE, GH_OPF(LOADS_ON), \
      0, 0, exec_tuple_get,                                                  \
      "`as` = `on`[`index`] on a tuple (released at once without `as`; "     \
      "fails out of range)")                                                 \
    X(STR_CONCAT, "str.concat", GH_KEYS(ON, VALUE), STR_LOCAL,                \
      GH_OPF(LOADS_ON, OWN_VALUE, OUTLINE),                                   \
      0, parse_op_str_concat, gh_exec_str_concat,                             \
      "`on` += `value` (a text): rebinds the local `on` to a new str")       \
    X(STR_INTERN, "str.intern", GH_KEYS(ON), STR_LOCAL,                       \
      GH_OPF(LOADS_ON, OUTLINE), 0,                                           \
      0, gh_exec_str_intern,                                                 \
      "`on` = sys.intern(`on`): rebinds the local to the interned str")      \
    X(WEAKREF_NEW, "weakref.new", GH_KEYS(ON, AS, CALLBACK), ANY,             \
      GH_OPF(LOADS_ON, NEEDS_AS, OUTLINE),                                    \
      "the object to refer to weakly", 0,                                     \
      gh_exec_weakref_new,                                                   \
      "`as` = weakref.ref(`on`[, a counting callback]) (fails when not "     \
      "weak-referenceable)")                                                 \
    X(WEAKREF_GET, "weakref.get", GH_KEYS(ON, AS), WEAKREF,                   \
      GH_OPF(LOADS_ON, OUTLINE),                                              \
      0, 0, gh_exec_weakref_get,                                             \
      "`as` = `on`() (done when alive, failed when dead)")                   \
    X(WVDICT_SET, "wvdict.set", GH_KEYS(ON, KEY, KEYS, VALUE, RANGE), WVDICT, \
      GH_OPF(LOADS_ON, NEEDS_VALUE, OUTLINE), 0, 0, gh_exec_wvdict_set,       \
      "WeakValueDictionary `on`[`key`] = `value`")                           \
    X(WVDICT_GET, "wvdict.get", GH_KEYS(ON, KEY, KEYS, AS), WVDICT,           \
      GH_OPF(LOADS_ON, OUTLINE), 0, 0, gh_exec_wvdict_get,                    \
      "`as` = `on`.get(`key`) (fails when missing or dead)")                 \
    X(CALL, "call", GH_KEYS(ON, VALUE, RANGE, AS), FUNCTION, GH_OPF(OUTLINE), \
      0, 0,                                                                   \
      gh_exec_call, "`as` = `on`(`value`) or `on`() (fails when the call fails)") \
    X(IS, "is", GH_KEYS(A, B, LABEL), NONE, GH_OPF(OUTLINE),                  \
      0, parse_op_compare,                                                    \
      gh_exec_compare, "`a` is `b` (done when true, failed when false)")     \
    X(EQ, "eq", GH_KEYS(A, B, LABEL), NONE, GH_OPF(OUTLINE),                  \
      0, parse_op_compare,                                                    \
      gh_exec_compare, "`a` == `b` (done when true, failed when false)")     \
    X(SHOW, "show", GH_KEYS(EXPR), NONE, GH_OPF(OUTLINE), 0, parse_op_show,   \
      gh_exec_show, "print FILE:LINE: `expr` = its value")                   \
    X(ASSERT, "assert", GH_KEYS(EXPR), NONE, GH_OPF(OUTLINE),                 \
      0, parse_op_show,                                                       \
      gh_exec_show, "like show; a false value (or an error) counts as failed") \
    X(TRACE_START, "trace.start", GH_KEYS(), NONE, GH_OPF(TRACES, OUTLINE),   \
      0, 0,                                                                   \
      gh_exec_trace_start, "start tracing allocations (tracemalloc.start())") \
    X(TRACE_SNAPSHOT, "trace.snapshot", GH_KEYS(AS), NONE,                    \
      GH_OPF(NEEDS_AS, TRACES, OUTLINE), 0, 0, gh_exec_trace_snapshot,        \
      "take a snapshot of the traced allocations, named `as`")               \
    X(TRACE_STATS, "trace.stats", GH_KEYS(ON, TOP), SNAPSHOT,                 \
      GH_OPF(ON_OPTIONAL, TRACES, OUTLINE), 0, 0, gh_exec_trace_report,       \
      "print the `top` sites of snapshot `on` (or of a new one)")            \
    X(TRACE_COMPARE, "trace.compare", GH_KEYS(FROM, TO, TOP), SNAPSHOT,       \
      GH_OPF(ON_OPTIONAL, TRACES, OUTLINE), 0, parse_op_trace_compare,        \
      gh_exec_trace_report,                                                  \
      "print the `top` differences from snapshot `from` to `to` (or a new "  \
      "one)")                                                                \
    X(GC_COLLECT, "gc.collect", GH_KEYS(GENERATION, AS), NONE,                \
      GH_OPF(OUTLINE), 0, 0,                                                  \
      gh_exec_gc_collect,                                                    \
      "gc.collect(`generation`) from this thread; `as` binds the number of " \
      "objects found unreachable")                                           \
    X(GC_DISABLE, "gc.disable", GH_KEYS(), NONE, GH_OPF(OUTLINE), 0, 0,       \
      gh_exec_gc_disable, "gc.disable(): no automatic collections")          \
    X(GC_ENABLE, "gc.enable", GH_KEYS(), NONE, GH_OPF(OUTLINE), 0, 0,         \
      gh_exec_gc_enable,                                                     \
      "gc.enable() (fails under gc=off: there is no collector)")             \
    X(GC_SET_THRESHOLD, "gc.set_threshold", GH_KEYS(THRESHOLDS), NONE,        \
      GH_OPF(OUTLINE), 0, parse_op_set_threshold, gh_exec_gc_set_threshold,   \
      "gc.set_threshold(`thresholds`...)")                                   \
    X(GC_FREEZE, "gc.freeze", GH_KEYS(), NONE, GH_OPF(FREEZES, OUTLINE),      \
      0, 0,                                                                   \
      gh_exec_gc_freeze,                                                     \
      "gc.freeze(): every tracked object moves to the permanent generation") \
    X(GC_UNFREEZE, "gc.unfreeze", GH_KEYS(), NONE, GH_OPF(OUTLINE), 0, 0,     \
      gh_exec_gc_unfreeze,                                                   \
      "gc.unfreeze(): the permanent generation goes back to the oldest")     \
    X(CYCLE_NEW, "cycle.new", GH_KEYS(SIZE, CLS, AS), NONE, GH_OPF(OUTLINE),  \
      0, 0,                                                                   \
      gh_exec_cycle_new,                                                     \
      "a ring of `size` instances of `cls`, each referring to the next "     \
      "(attribute `next`); garbage unless `as` keeps one")                   \
    X(GC_DOT, "gc.dot", GH_KEYS(ON, PATH, DEPTH), ANY, GH_OPF(OUTLINE),       \
      "the object whose references are drawn", parse_op_gc_dot, gh_exec_gc_dot, \
      "write the reference graph of `on`, `depth` edges deep, as Graphviz "  \
      "DOT to `path`")

enum gh_op_kind {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc) GH_OP_##e,
    GH_OPS(GH_X_)
#undef GH_X_
    GH_OP_COUNT
};

/* The keys an op may have, X(e, name). `op` is every op's; `weight` is
 * every op's in a mix; `with` (run the op holding a lock) every op's but
 * lock.acquire's and lock.release's. */
#define GH_OP_KEYS(X)                                                          \
    X(OP, "op") X(ON, "on") X(FROM, "from") X(TYPE, "type") X(AS, "as")        \
    X(VALUE, "value") X(RANGE, "range") X(KEY, "key") X(KEYS, "keys")          \
    X(INDEX, "index") X(ITERS, "iters") X(US, "us") X(TO, "to")                \
    X(ITEMS, "items") X(CONST, "const") X(DEF, "def") X(NAME, "name")          \
    X(A, "a") X(B, "b") X(LABEL, "label") X(EXPR, "expr")                      \
    X(CALLBACK, "callback") X(TOP, "top") X(GENERATION, "generation")          \
    X(THRESHOLDS, "thresholds") X(SIZE, "size") X(CLS, "cls") X(PATH, "path")  \
    X(DEPTH, "depth") X(WEIGHT, "weight") X(VIA, "via") X(WITH, "with")

enum gh_op_key {
#define GH_X_(e, name) GH_K_##e,
    GH_OP_KEYS(GH_X_)
#undef GH_X_
    GH_K_COUNT
};
_Static_assert(GH_K_COUNT <= 32, "an op's keys are a 32-bit mask");

/* GH_KEYS(ON, VALUE): the mask of those keys (at most 7; `op` is implied).
 * GH_KBIT_ (an empty argument) is no key. */
enum {
#define GH_X_(e, name) GH_KBIT_##e = 1u << GH_K_##e,
    GH_OP_KEYS(GH_X_)
#undef GH_X_
    GH_KBIT_ = 0
};
#define GH_KEYS(...) GH_KEYS_(__VA_ARGS__, , , , , , , )
#define GH_KEYS_(a, b, c, d, e, f, g, ...)                                    \
    (GH_KBIT_OP | GH_KBIT_##a | GH_KBIT_##b | GH_KBIT_##c | GH_KBIT_##d |      \
     GH_KBIT_##e | GH_KBIT_##f | GH_KBIT_##g)

/* GH_OPF(LOADS_ON, NEEDS_VALUE): an op's flags (at most 4). */
enum gh_op_flag {
    GH_OPF_ = 0,
    GH_OPF_LOADS_ON = 1 << 0,
    GH_OPF_ON_OPTIONAL = 1 << 1,
    GH_OPF_NEEDS_VALUE = 1 << 2,
    GH_OPF_NEEDS_AS = 1 << 3,
    GH_OPF_OWN_VALUE = 1 << 4,
    GH_OPF_TRACES = 1 << 5,
    GH_OPF_FREEZES = 1 << 6,
    GH_OPF_OUTLINE = 1 << 7,
};
#define GH_OPF(...) GH_OPF_2_(__VA_ARGS__, , , )
#define GH_OPF_2_(a, b, c, d, ...) (GH_OPF_##a | GH_OPF_##b | GH_OPF_##c | GH_OPF_##d)

/* What an op's `on` must name. */
enum gh_op_need {
    GH_NEED_NONE, GH_NEED_ANY, GH_NEED_LIST, GH_NEED_DICT, GH_NEED_LOCAL,
    GH_NEED_INSTANCE, GH_NEED_SET, GH_NEED_SETLIKE, GH_NEED_TUPLE_LOCAL,
    GH_NEED_STR_LOCAL, GH_NEED_WEAKREF, GH_NEED_WVDICT, GH_NEED_FUNCTION,
    GH_NEED_SNAPSHOT, GH_NEED_INT_GLOBAL, GH_NEED_TUPLE,
    GH_NEED_LOCK,      /* the last: it sizes gh_op_need_articles (ops.c) */
};

/* An op's row, for the code that reads it at run time. */
struct gh_op_rule {
    const char *name;
    unsigned keys;            /* GH_KBIT_* */
    enum gh_op_need on;
    unsigned flags;           /* GH_OPF_* */
    const char *hint;         /* NULL: "the object it works on" */
    const char *doc;
};
extern const struct gh_op_rule gh_op_rules[GH_OP_COUNT];
extern const char *const gh_op_names[GH_OP_COUNT];
extern const char *const gh_op_key_names[GH_K_COUNT];
/* GH_OP_COUNT when unknown. */
enum gh_op_kind gh_op_from_name(const char *name);

#endif
