/* scenario.h - a parsed scenario (BRIEF §4; the file format is documented in
 * docs/scenarios.md, which the parser and its messages follow).
 *
 * The parser (scenario/parse.c) turns a YAML file into this structure with
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

/* ---- operations -------------------------------------------------------- */

/* X(enum suffix, name in files, what it does) */
#define GH_OPS(X)                                                              \
    X(NEW,         "new",         "make an object of `type` and bind it to the local `as`") \
    X(DROP,        "drop",        "unbind the local `on` (its reference is released)") \
    X(LIST_APPEND, "list.append", "append `value` to the list `on`")          \
    X(LIST_POP,    "list.pop",    "remove and release the last item of `on` (fails when empty)") \
    X(LIST_GET,    "list.get",    "read item `index` of `on` (a new reference, released at once)") \
    X(LIST_SET,    "list.set",    "replace item `index` of `on` with `value`") \
    X(LIST_LEN,    "list.len",    "read the length of `on`")                   \
    X(LIST_MOVE,   "list.move",   "pop the last item of `from` and append it to `on`, atomically (a two-object critical section)") \
    X(DICT_SET,    "dict.set",    "d[`key`] = `value` on the dict `on`")       \
    X(DICT_GET,    "dict.get",    "read d[`key`] (fails when missing)")        \
    X(DICT_DEL,    "dict.del",    "delete d[`key`] (fails when missing)")      \
    X(COMPUTE,     "compute",     "CPU work of `iters` steps, holding what the strategy holds (the GIL; with `on`, that object's lock)") \
    X(IO,          "io",          "a blocking wait of `us` microseconds that releases what the strategy holds")

enum gh_op_kind {
#define GH_X_(e, name, doc) GH_OP_##e,
    GH_OPS(GH_X_)
#undef GH_X_
    GH_OP_COUNT
};

extern const char *const gh_op_names[GH_OP_COUNT];
/* GH_OP_COUNT when unknown. */
enum gh_op_kind gh_op_from_name(const char *name);

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
};

struct gh_value {
    enum gh_value_kind kind;
    int slot;          /* GLOBAL: index in gh_scenario.globals;
                          LOCAL: index in the role's locals */
    int64_t range;     /* INT only */
};

/* An integer operand that is either fixed or drawn per op. */
struct gh_intarg {
    bool random;       /* draw uniformly in [0, range) */
    int64_t value;     /* when !random */
    int64_t range;     /* when random; > 0 */
};

/* Object kinds for `new` and for setup. */
enum gh_newtype { GH_NEW_OBJECT, GH_NEW_INT, GH_NEW_LIST, GH_NEW_DICT };

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
    struct gh_intarg index;   /* list.get, list.set: default random in [0, len) (range 0 = "the current length") */
    uint64_t iters;           /* compute: default 1000 */
    uint64_t io_ns;           /* io: from `us`, default 100 us */
    uint32_t weight;          /* mix only; >= 1 */
    int line, column;         /* where the op is written (1-based) */
};

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
};

struct gh_global {
    char *name;
    enum gh_newtype type;     /* what setup builds */
    int64_t items;            /* list: prefill with this many `value`s;
                                 dict: keys 0..items-1 bound to `value`s */
    struct gh_value value;    /* the prefill's values (default int) */
    int64_t int_value;        /* type int: its value */
    int line, column;
};

enum gh_expr_kind {
    GH_EX_INT,     /* ival */
    GH_EX_LEN,     /* len(global `slot`) */
    GH_EX_COUNT,   /* count(op `op`): successful executions, all threads */
    GH_EX_FAILED,  /* failed(op `op`): executions that failed (pop on empty...) */
    GH_EX_NEG, GH_EX_NOT,                       /* unary, on l */
    GH_EX_ADD, GH_EX_SUB, GH_EX_MUL, GH_EX_DIV, GH_EX_MOD,
    GH_EX_EQ, GH_EX_NE, GH_EX_LT, GH_EX_LE, GH_EX_GT, GH_EX_GE,
    GH_EX_AND, GH_EX_OR,
};

struct gh_expr {
    enum gh_expr_kind kind;
    int64_t ival;
    int slot;
    enum gh_op_kind op;
    struct gh_expr *l, *r;
    int line, column;         /* of the token that starts this node */
};

struct gh_check {
    char *text;               /* as written */
    struct gh_expr *expr;
    int line, column;
};

/* What the evaluator needs from a finished run. */
struct gh_eval_env {
    int64_t (*len)(void *ctx, int global_slot);
    uint64_t (*count)(void *ctx, enum gh_op_kind op);
    uint64_t (*failed)(void *ctx, enum gh_op_kind op);
    void *ctx;
};

/* Returns 0 and the value, or -1 with a message in err (division by zero). */
int gh_expr_eval(const struct gh_expr *e, const struct gh_eval_env *env,
                 int64_t *out, char *err, size_t errlen);

/* Cross-file internal (parse.c <-> expr.c): parses one check. Names in
 * len() resolve against globals[0..nglobals). pos maps a byte offset in
 * text to a 1-based line and column in the file (NULL: line 1, column =
 * offset + 1). Returns the tree, or NULL with *err_offset and a message
 * (no position prefix) in err. */
typedef void gh__expr_pos_fn(void *ctx, size_t offset, int *line, int *column);
struct gh_expr *gh__expr_parse(const char *text, const struct gh_global *globals,
                               int nglobals, gh__expr_pos_fn *pos, void *pos_ctx,
                               size_t *err_offset, char *err, size_t errlen);
void gh__expr_free(struct gh_expr *e);

enum gh_expect_hazards { GH_EXPECT_HAZARDS_NONE, GH_EXPECT_HAZARDS_SOME };

struct gh_scenario {
    char *name;
    char *about;
    char *file;               /* path as given */
    uint64_t content_hash;    /* FNV-1a 64 of the file's bytes */
    int threads;              /* default thread count (file; default 2) */
    uint64_t duration_ns;     /* one of these two is non-zero */
    uint64_t ops_per_thread;
    uint64_t seed;            /* from the file, default 1 */
    bool has_seed;
    struct gh_global *globals;
    int nglobals;
    struct gh_role *roles;
    int nroles;
    struct gh_check *checks;
    int nchecks;
    enum gh_expect_hazards expect_hazards;
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
void gh_scenario_free(struct gh_scenario *s);

/* Gives each role its thread count for a run of `total` threads: roles with
 * a fixed count keep it, the role without one (at most one) gets the rest
 * (at least 1). Returns 0, or -1 with a message naming the problem (e.g.
 * "--threads 2: the roles need at least 3 threads"). */
int gh_scenario_assign_threads(struct gh_scenario *s, int total, struct gh_diag *diag);

/* Parses a duration ("2s", "500ms", "100us", "1.5s"); 0 on success. */
int gh_parse_duration(const char *text, uint64_t *ns);

#endif
