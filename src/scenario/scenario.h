/* scenario.h - a parsed scenario (the file format is documented in
 * docs/scenarios.md, which the parser and its messages follow).
 *
 * The parser (scenario/parse*.c) turns a YAML file into this structure with
 * every name resolved and every value checked, so the runner never meets a
 * bad input. Everything here is immutable once loaded.
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_SCENARIO_H
#define GH_SCENARIO_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h" // GH_PRINTF

/* ---- operations -------------------------------------------------------- */

#include "scenario/ops.h" // GH_OPS: the table of ops

/* What an object-valued operand makes or names. */
enum gh_value_kind {
    GH_VAL_NONE_OBJ,   /* `none`: the None singleton (immortal) */
    GH_VAL_OBJECT,     /* `object`: a fresh instance of a plain class */
    GH_VAL_INT,        /* `int`: a fresh int, uniform in [0, range) (range default 1000000) */
    GH_VAL_SMALL_INT,  /* `small-int`: a cached int in -5..256 */
    GH_VAL_LIST,       /* `list`: a fresh empty list */
    GH_VAL_DICT,       /* `dict`: a fresh empty dict */
    GH_VAL_GLOBAL,     /* a global name: another reference to it */
    GH_VAL_LOCAL,      /* a local name of the role: another reference to it
                          (None when unbound) */
    GH_VAL_INT_LIT,    /* an integer literal (`value: 257`): the int of that
                          value, made when the op runs (cached in -5..256) */
    GH_VAL_TRUE,       /* `true` / `false`: the bool singletons */
    GH_VAL_FALSE,
};

struct gh_value {
    enum gh_value_kind kind;
    int slot;          /* GLOBAL: index in gh_scenario.globals;
                          LOCAL: index in the role's locals */
    int64_t range;     /* INT only; INT_LIT: the value */
};

/* An integer operand that is either fixed or drawn per op. */
struct gh_intarg {
    bool random;       /* draw uniformly in [0, range) */
    bool iter;         /* `{iter: K}`: the role's pass number plus `value` */
    int64_t value;     /* when !random: the value; with iter: the offset K */
    int64_t range;     /* when random; > 0 */
};

/* Object kinds for `new`, setup, and the types the parser knows a local
 * or global to have. The first four keep their values (the original set). */
enum gh_newtype {
    GH_NEW_OBJECT, GH_NEW_INT, GH_NEW_LIST, GH_NEW_DICT,
    GH_NEW_NONE, GH_NEW_TRUE, GH_NEW_FALSE, GH_NEW_BARE_OBJECT, GH_NEW_SMALL_INT,
    GH_NEW_FLOAT, GH_NEW_STR, GH_NEW_BYTES, GH_NEW_BYTEARRAY, GH_NEW_TUPLE, GH_NEW_SET,
    GH_NEW_FROZENSET, GH_NEW_WVDICT,
    GH_NEW_CLASS,      /* setup only: a user class (del, legacy, into) */
    GH_NEW_FUNCTION,   /* a function with a default (def) */
    GH_NEW_LOCK,       /* setup only: a threading.Lock */
    GH_NEW_INSTANCE,   /* an instance of the user class global `cls` */
    GH_NEW_WEAKREF,    /* not for `new`: a local bound by weakref.new */
    GH_NEW_SNAPSHOT,   /* not for `new`: a trace snapshot (trace.snapshot) */
    GH_NEW_ANY,        /* not for `new`: a local bound by several kinds of op */
    GH_NEW_COUNT
};

/* A class's `slots`: at most this many names, each shorter than
 * GH_SCENARIO_SLOT_NAME (the model's limits, containers/model.h). */
#define GH_SCENARIO_MAX_SLOTS 8
#define GH_SCENARIO_SLOT_NAME 32

/* What a user class's __del__ does (setup `del:`). */
enum gh_del_kind { GH_DEL_NONE, GH_DEL_COUNT, GH_DEL_RESURRECT };
/* The functions of the mutable-default example (setup/new `def:`). */
enum gh_def_kind { GH_DEF_APPEND_ONE, GH_DEF_APPEND_ONE_NONE };

/* Where an op's `on` (or `from`) points. */
struct gh_target {
    bool local;        /* a local of the role, else a global */
    int slot;          /* index into globals or the role's locals; -1 none */
};

struct gh_op {
    enum gh_op_kind kind;
    struct gh_target on;      /* all ops but compute (optional there) and io */
    struct gh_target from;    /* list.move */
    enum gh_newtype type;     /* new */
    struct gh_value value;    /* list.append, list.set, dict.set */
    struct gh_intarg key;     /* dict.* : default random in [0, 1000) */
    int key_const;            /* dict.*, wvdict.*: `key: {str: TEXT}`, the index
                                 of TEXT in gh_scenario.consts; else -1 */
    struct gh_intarg index;   /* list.get, list.set: default random in [0, len) (range 0 = "the current length") */
    uint64_t iters;           /* compute: default 1000 */
    uint64_t io_ns;           /* io: from `us`, default 100 us */
    uint32_t weight;          /* mix only; >= 1 */
    int line, column;         /* where the op is written (1-based) */
    /* The index in gh_scenario.tallies of the pair (this op's kind, its
     * `on`) that count(OP, X) or failed(OP, X) reads, or -1: set only for
     * the ops of a `mix` or `script` whose `on` is a global an expression
     * counts per target (parse.c). */
    int tally;
    /* The ops added for the object model (NULL / -1 when unused). */
    struct gh_global *spec;   /* new: what to make (type, literal, items...) */
    int as;                   /* the local an op other than `new` binds, or -1 */
    struct gh_value b;        /* is, eq: the right operand (`a` is in `value`) */
    char *name;               /* attr.*: the attribute; str.concat: the text;
                                 is, eq: the label (or NULL) */
    size_t name_len;
    char *text;               /* show, assert: the expression as written */
    struct gh_expr *expr;     /* show, assert */
    bool callback;            /* weakref.new: `callback: count` */
    bool has_value;           /* `value` was given (call: the argument) */
    int top;                  /* trace.stats, trace.compare: sites shown */
    /* The collector's ops (docs/scenarios.md, "The cyclic collector"). The
     * path of gc.dot is in `name` ("-": the run's output stream). */
    int generation;           /* gc.collect: 0..2, default 2 */
    int64_t thresholds[3];    /* gc.set_threshold: the first nthresholds are set */
    int nthresholds;
    int size;                 /* cycle.new: instances in the ring, default 2 */
    int cls;                  /* cycle.new: the class global, or -1 (the plain class) */
    int depth;                /* gc.dot: edges from `on`, default 3 */
    bool via_call;            /* global.add: `via: call` */
    /* The op loads the container `on` names onto the evaluation stack
     * first (LOAD_FAST / LOAD_GLOBAL; list.move: `from` too): a counted
     * reference for the op's length under loads=counted (worker.fl.c). */
    bool loads_on;
    /* Non-zero when the op is not run as it is (GH_OP_SPECIAL_*): the
     * measured loop's one unlikely test before an op (worker.fl.c). */
    uint8_t special;
    /* `with: L`: the lock global the op runs under (acquired before it,
     * released after it), or -1. */
    int with;
};
/* The measured loop picks an op of a role's array by index: at 256 bytes
 * the address is a shift (at 264 it took three instructions more per op).
 * A new field goes in a hole (4 bytes follow each of key_const, as and
 * generation), or the size is chosen again. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct gh_op) == 256,
               "struct gh_op is 256 bytes on 64-bit targets");

/* gh_op.special: `with: L` (run holding the lock), and a tally (the
 * outcome counted per target too). */
enum { GH_OP_SPECIAL_WITH = 1, GH_OP_SPECIAL_TALLY = 2 };

/* ---- roles, setup, checks ---------------------------------------------- */

struct gh_role {
    char *name;
    int threads;              /* from the file; 0 = "the rest" */
    int nthreads;             /* after gh_scenario_assign_threads */
    bool script;              /* ordered, looped; else weighted mix */
    struct gh_op *ops;
    int nops;
    uint64_t total_weight;    /* mix: sum of weights */
    char **locals;            /* names bound with `as` in this role */
    int nlocals;
    struct gh_op *init;       /* run once per thread, in order, before the
                                 measured phase (`init:`); weight unused */
    int ninit;
    struct gh_op *after;      /* run once per thread, in order, after the
                                 measured phase (`after:`), before the
                                 thread's locals are released */
    int nafter;
    enum gh_newtype *local_types; /* [nlocals]: what the parser knows */
};

struct gh_global {
    char *name;
    enum gh_newtype type;     /* what setup builds */
    int64_t items;            /* list: prefill with this many `value`s;
                                 dict: keys 0..items-1 bound to `value`s */
    struct gh_value value;    /* the prefill's values (default int) */
    int64_t int_value;        /* type int: its value */
    int line, column;
    /* The object model's types (docs/scenarios.md, "Setup"). */
    bool has_value;           /* a literal `value` was given */
    double float_value;       /* float */
    char *text;               /* str, bytes, bytearray: the literal (may hold NULs
                                 for bytes: text_len counts) */
    size_t text_len;
    bool is_const;            /* str: `const: true`, an interned constant */
    struct gh_value *elems;   /* tuple, frozenset, set, list: `items: [...]` */
    int nelems;
    bool has_elems;
    int cls;                  /* instance: the class global's index */
    enum gh_del_kind del;     /* class */
    bool legacy;              /* class: the __del__ is a legacy tp_del */
    int into;                 /* class, del resurrect: the global list, or -1 */
    enum gh_def_kind def;     /* function */
    char **slots;             /* class: `slots: [a, b]`, __slots__ = ('a', 'b') */
    int nslots;               /* -1: no __slots__ (instances have attributes) */
    /* A counter: a global int that global.add rebinds. It is read only by
     * global.add and in checks (parse_op.c refuses other readers). */
    int counter;              /* 0: not a counter; else 1 + via_call */
    int counter_line, counter_column; /* the first global.add on it */
};

enum gh_expr_kind {
    GH_EX_INT,     /* ival */
    GH_EX_LEN,     /* len(global `slot`) */
    GH_EX_COUNT,   /* count(op `op`): successful executions, all threads;
                      slot >= 0: count(op, global `slot`), those whose `on`
                      is that global */
    GH_EX_FAILED,  /* failed(op `op`): executions that failed (pop on empty...);
                      slot as for COUNT */
    GH_EX_NEG, GH_EX_NOT,                       /* unary, on l */
    GH_EX_ADD, GH_EX_SUB, GH_EX_MUL, GH_EX_DIV, GH_EX_MOD,
    GH_EX_EQ, GH_EX_NE, GH_EX_LT, GH_EX_LE, GH_EX_GT, GH_EX_GE,
    GH_EX_AND, GH_EX_OR,
    /* Object-valued: evaluated by env->object. */
    GH_EX_NAME,    /* an object named by a local (`local`) or a global `slot`;
                      only an operand of the forms below */
    GH_EX_ID, GH_EX_REFCNT, GH_EX_SIZEOF, GH_EX_VALUE, /* f(l), l a NAME */
    GH_EX_INTERNED, GH_EX_ALIVE,                       /* bool f(l) */
    GH_EX_FINALIZED,                                   /* slot: a class global */
    GH_EX_CALLBACKS,                                   /* callbacks() */
    GH_EX_ADDS,                                        /* slot: an int global */
    GH_EX_IS, GH_EX_ISNOT, GH_EX_OBJ_EQ, GH_EX_OBJ_NE, /* l, r: NAMEs */
    /* The collector (process-wide, in a role too): */
    GH_EX_GC,          /* a reading: ival an enum gh_gc_reading, slot the
                          generation (-1: gen0 for count/threshold, all
                          generations for the statistics) */
    GH_EX_GC_TRACKED,  /* gc.is_tracked(l), l a NAME */
};

/* What a GH_EX_GC node reads (`gc.NAME`, `gc.genN.NAME`, len(gc.garbage)). */
enum gh_gc_reading {
    GH_GCR_COLLECTIONS, GH_GCR_COLLECTED, GH_GCR_UNCOLLECTABLE, /* also per generation */
    GH_GCR_COUNT, GH_GCR_THRESHOLD,                             /* also per generation */
    GH_GCR_EXAMINED, GH_GCR_UNREACHABLE, GH_GCR_FINALIZED, GH_GCR_RESURRECTED,
    GH_GCR_UNTRACKED_TUPLES, GH_GCR_UNTRACKED_DICTS, GH_GCR_WEAKREFS_CLEARED,
    GH_GCR_WEAKREF_CALLBACKS, GH_GCR_ISENABLED, GH_GCR_FREEZE_COUNT,
    GH_GCR_GARBAGE_LEN,                                         /* len(gc.garbage) */
    GH_GCR_COUNT_
};
/* The name after `gc.` (or `gc.genN.`) of each reading. */
extern const char *const gh_gc_reading_names[GH_GCR_COUNT_];
/* Readings that exist per generation: gc.genN.NAME. */
#define GH_GCR_PER_GEN(r) ((r) <= GH_GCR_THRESHOLD)

struct gh_expr {
    enum gh_expr_kind kind;
    int64_t ival;
    int slot;
    bool local;               /* NAME, LEN: slot is a local of the role */
    enum gh_op_kind op;
    struct gh_expr *l, *r;
    int line, column;         /* of the token that starts this node */
};

/* A pair count(OP, X) and failed(OP, X) read: the ops of kind `op` in a
 * `mix` or `script` whose `on` is the global `slot`. */
struct gh_tally {
    enum gh_op_kind op;
    int slot;
};

/* Whether e's value is a truth value (printed True / False). */
bool gh_expr_is_bool(const struct gh_expr *e);

struct gh_check {
    char *text;               /* as written */
    struct gh_expr *expr;
    int line, column;
};

/* What the evaluator needs from a finished run. */
struct gh_eval_env {
    int64_t (*len)(void *ctx, int global_slot);   /* used when `object` is NULL */
    uint64_t (*count)(void *ctx, enum gh_op_kind op);
    uint64_t (*failed)(void *ctx, enum gh_op_kind op);
    /* count(OP, X) (failed false) and failed(OP, X) (failed true): the ops
     * of kind op whose `on` is the global `global_slot`. */
    uint64_t (*count_on)(void *ctx, enum gh_op_kind op, int global_slot, bool failed);
    /* adds(C): the successful global.add ops on the global `slot`; NULL:
     * `object` answers (inside a role, this thread's). */
    uint64_t (*adds)(void *ctx, int global_slot);
    void *ctx;
    /* Evaluates the object-valued node e (LEN and GH_EX_NAME .. OBJ_NE,
     * whose operands are NAME nodes): 0 and the value, or -1 with a
     * message in err. Implemented by the flavoured worker (worker.fl.c). */
    int (*object)(void *ctx, const struct gh_expr *e, int64_t *out, char *err,
                  size_t errlen);
};

/* Returns 0 and the value, or -1 with a message in err (division by zero). */
int gh_expr_eval(const struct gh_expr *e, const struct gh_eval_env *env,
                 int64_t *out, char *err, size_t errlen);

struct gh_param;

/* Cross-file internal (parse.c <-> expr.c): parses one check. Names in
 * len() resolve against globals[0..nglobals). pos maps a byte offset in
 * text to a 1-based line and column in the file (NULL: line 1, column =
 * offset + 1). Returns the tree, or NULL with *err_offset and a message
 * (no position prefix) in err. */
typedef void gh__expr_pos_fn(void *ctx, size_t offset, int *line, int *column);
struct gh_expr *gh__expr_parse(const char *text, const struct gh_global *globals,
                               int nglobals, gh__expr_pos_fn *pos, void *pos_ctx,
                               size_t *err_offset, char *err, size_t errlen);
/* The same inside a role (show, assert): names resolve against the role's
 * locals first, then the globals. role NULL: globals only (checks). */
struct gh_expr *gh__expr_parse_in(const char *text, const struct gh_global *globals,
                                  int nglobals, const struct gh_role *role,
                                  gh__expr_pos_fn *pos, void *pos_ctx, size_t *err_offset,
                                  char *err, size_t errlen);
/* The same with the scenario's parameters, which `$NAME` reads. */
struct gh_expr *gh__expr_parse_params(const char *text, const struct gh_global *globals,
                                      int nglobals, const struct gh_role *role,
                                      const struct gh_param *params, int nparams,
                                      gh__expr_pos_fn *pos, void *pos_ctx,
                                      size_t *err_offset, char *err, size_t errlen);
void gh__expr_free(struct gh_expr *e);
/* An evaluation error: formats "WHAT (in the expression at L:C)" into err
 * and returns -1 (for gh_expr_eval and the object callbacks it calls). */
GH_PRINTF(4, 5)
int gh__expr_error(const struct gh_expr *e, char *err, size_t errlen, const char *fmt, ...);

enum gh_expect_hazards { GH_EXPECT_HAZARDS_NONE, GH_EXPECT_HAZARDS_SOME };

/* A scenario parameter (`params:`): an integer that `$NAME` stands for
 * wherever the file takes an integer, and in expressions. */
struct gh_param {
    char *name;
    int64_t value;            /* the file's, or the --param override's */
    bool overridden;          /* set by --param */
    int line, column;         /* of its key in `params` */
};
#define GH_MAX_PARAMS 64

/* The `gc:` section: the collector's settings, applied by the runner after
 * setup and before the threads start. */
struct gh_scenario_gc {
    int64_t thresholds[3];    /* gc.set_threshold(...) with the first nthresholds */
    int nthresholds;          /* 0: not given */
    int enabled;              /* -1 not given, else 0 or 1 */
    bool saveall;             /* debug: saveall (gc.DEBUG_SAVEALL) */
    bool freeze;              /* gc.freeze() after setup */
};

struct gh_scenario {
    char *name;
    char *about;
    char *file;               /* path as given */
    uint64_t content_hash;    /* FNV-1a 64 of the file's bytes */
    int threads;              /* default thread count (file; default 2) */
    uint64_t duration_ns;     /* one of these two is non-zero */
    uint64_t ops_per_thread;
    bool once;                /* `ops: once`: each thread runs its role's
                                 script once (--ops/--duration do not apply) */
    bool tracing;             /* some op is a trace.* op */
    uint64_t seed;            /* from the file, default 1 */
    bool has_seed;
    struct gh_global *globals;
    int nglobals;
    struct gh_role *roles;
    int nroles;
    struct gh_check *checks;
    int nchecks;
    enum gh_expect_hazards expect_hazards;
    struct gh_param *params;  /* `params:`, in file order */
    int nparams;
    struct gh_scenario_gc gc; /* the `gc:` section */
    bool gc_freezes;          /* gc: freeze or a gc.freeze op: the runner
                                 unfreezes before the teardown's collection */
    bool reads_gc_garbage;    /* an expression reads len(gc.garbage) */
    /* The str constants the ops name (`key: {str: TEXT}`), each text once:
     * the runner makes them before the threads, as a code object's
     * constants exist before it runs. */
    char **consts;
    int nconsts;
    /* The (op, global) pairs that count(OP, X) and failed(OP, X) read,
     * each once, in the order first met (checks, then the roles' show and
     * assert expressions); the ops they count carry the index
     * (gh_op.tally). */
    struct gh_tally *tallies;
    int ntallies;
};

/* Diagnostics: a bad input is reported as "FILE:LINE:COLUMN: error: WHAT"
 * (one line), and the caller exits 2. */
struct gh_diag {
    char msg[1024];
};

/* Loads and checks a scenario file. NULL with diag filled on any error. */
struct gh_scenario *gh_scenario_load(const char *path, struct gh_diag *diag);
/* The same from memory; `file` names it in messages. */
struct gh_scenario *gh_scenario_parse(const char *text, size_t len, const char *file,
                                      struct gh_diag *diag);
/* The same with parameter overrides: `params` holds nparams "NAME=VALUE"
 * strings (--param), each naming a parameter of the file's `params`. */
struct gh_scenario *gh_scenario_load_params(const char *path, const char *const *params,
                                            int nparams, struct gh_diag *diag);
struct gh_scenario *gh_scenario_parse_params(const char *text, size_t len, const char *file,
                                             const char *const *params, int nparams,
                                             struct gh_diag *diag);
/* gh_scenario_load_params for the command line: with length_given
 * (--duration or --ops) a file without `duration` or `ops` is accepted, its
 * duration_ns and ops_per_thread left 0 for the caller to set. */
struct gh_scenario *gh_scenario_load_cli(const char *path, const char *const *params,
                                         int nparams, bool length_given, struct gh_diag *diag);
/* Splits "NAME=VALUE" (a parameter name, a decimal integer): 0, or -1 with
 * a message in err. name gets at most namelen - 1 characters. */
int gh_param_assignment(const char *text, char *name, size_t namelen, int64_t *value,
                        char *err, size_t errlen);
void gh_scenario_free(struct gh_scenario *s);

/* The index in s->tallies of (op, global slot), or -1 when no expression
 * counts that pair. */
int gh_scenario_tally(const struct gh_scenario *s, enum gh_op_kind op, int slot);

/* Whether an op whose `on` must be `need` may name a global or local of
 * type t (GH_NEW_ANY: any); and what `need` asks for, with its article
 * ("a list"; NULL for NONE, ANY and the local-only needs). ops.c. */
bool gh_op_need_ok(enum gh_op_need need, enum gh_newtype t);
extern const char *const gh_op_need_articles[];

/* Gives each role its thread count for a run of `total` threads: roles with
 * a fixed count keep it, the role without one (at most one) gets the rest
 * (at least 1). Returns 0, or -1 with a message naming the problem (e.g.
 * "--threads 2: the roles need at least 3 threads"). */
int gh_scenario_assign_threads(struct gh_scenario *s, int total, struct gh_diag *diag);

/* The longest duration the runner takes: start + duration must fit the
 * clock's 64-bit nanoseconds with room to spare (about 31.7 years). */
#define GH_DURATION_MAX_NS 1000000000000000000ull
/* Parses a duration ("2s", "500ms", "100us", "1.5s") from 1 ns to
 * GH_DURATION_MAX_NS; 0 on success. */
int gh_parse_duration(const char *text, uint64_t *ns);

#endif
