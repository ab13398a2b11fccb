/* parse_internal.h - what the parts of the scenario parser share: the
 * parse context, the limits, and the readers of YAML nodes (parse_yaml.c)
 * the others are written with.
 *
 *   parse_yaml.c   nodes, errors, scalars, mappings, names, values
 *   parse_setup.c  `setup`: globals and what `new` makes
 *   parse_op.c     ops (driven by GH_OPS, scenario/ops.h) and roles
 *   parse.c        checks, parameters, the top level, the entry points
 *   expr.c         the check expressions (of this header, it reads only
 *                  sp_newtype_articles)
 *
 * Every error is one line, "FILE:LINE:COLUMN: error: WHAT" (1-based), and
 * the first error ends the parse.
 *
 * Layer: scenario (private to the parser).
 */
#ifndef GH_SCENARIO_PARSE_INTERNAL_H
#define GH_SCENARIO_PARSE_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/die.h"   // gh_die
#include "scenario/scenario.h"

#define GH_MAX_THREADS    1024
#define GH_MAX_GLOBALS    4096
#define GH_MAX_LOCALS     256
#define GH_MAX_CHECKS     1024
#define GH_MAX_ITEMS      10000000
#define GH_MAX_RING       1000000      /* cycle.new size */
#define GH_MAX_THRESHOLD  1000000000   /* gc thresholds */
#define GH_MAX_DOT_DEPTH  100
#define GH_GC_OLDEST      2            /* generations 0..2 (object/gctrack.h) */
#define GH_MAX_NAME       63
#define GH_MAX_FILE_BYTES (16u << 20)
/* Ops of all roles together, and items of all setup lists and dicts
 * together. A YAML alias re-uses a node: every use counts, so a small file
 * cannot expand into millions of ops. */
#define GH_MAX_OPS_TOTAL  100000
#define GH_MAX_ITEMS_TOTAL GH_MAX_ITEMS
/* A scenario nests 5 deep (top, roles, role, mix, op); libyaml's scanner
 * is quadratic in the depth, so deeper input is refused early. */
#define GH_MAX_DEPTH      32

#define TYPE_LIST "object, int, list, dict, none, true, false, bare-object, small-int, " \
                  "float, str, bytes, bytearray, tuple, set, frozenset, weakvaluedict, function"

/* What pass 1 learnt of a role's local. */
struct local_info {
    enum gh_newtype type;
    bool by_new;              /* bound only by `new` ops so far */
    int line, column;         /* the first op that binds it */
};

/* The parse of one file: its text, its YAML tree, the scenario being
 * built and the first error. */
struct pctx {
    const char *file;
    const char *text;
    size_t len;
    yaml_document_t doc;
    struct gh_diag *diag;
    bool failed;
    struct gh_scenario *s;
    int *gsorted;             /* globals' indices sorted by name */
    /* --param overrides ("NAME=VALUE"), and whether `params` has been read
     * (so `$NAME` may be resolved). */
    const char *const *overrides;
    int noverrides;
    bool params_ready;
    /* Budgets, every use of an aliased node counted (GH_MAX_*_TOTAL). */
    int64_t total_ops, total_items;
    /* The command line gives the run's length (--duration or --ops): a
     * file without `duration` or `ops` is complete. */
    bool length_given;
};

/* ---- nodes ---- */

static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        gh_die(ENOMEM, "calloc");
    return p;
}

static inline char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        gh_die(ENOMEM, "strdup");
    return p;
}

static inline yaml_node_t *node_at(struct pctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static inline bool is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

static inline const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* An empty plain scalar or ~ / null: what `key:` with nothing after gives. */
static inline bool is_null(const yaml_node_t *n)
{
    if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* Whether the scalar holds a NUL (from a "\0" escape): such text is never
 * a valid name, number or check. */
static inline bool has_nul(const yaml_node_t *n)
{
    return strlen(sval(n)) != n->data.scalar.length;
}

#define err_node(c, n, ...)                                                    \
    sp_err_at((c), (int)(n)->start_mark.line + 1, (int)(n)->start_mark.column + 1, __VA_ARGS__)

enum spec_key { S_TYPE, S_ITEMS, S_VALUE, S_RANGE, S_CONST, S_DEL, S_LEGACY, S_INTO, S_DEF,
                S_SLOTS, S_COUNT };

struct role_ctx {
    struct gh_role *r;
    struct local_info *linfo; /* [GH_MAX_LOCALS] */
};

struct role_src {
    yaml_node_t *node;        /* the role mapping, or the top level */
    yaml_node_t *name, *threads, *mix, *script, *init, *after;
    yaml_node_t *mix_key, *script_key;
};

enum op_place { IN_MIX, IN_SCRIPT, IN_INIT, IN_AFTER };

/* ---- the parts' shared functions (sp_: the scenario parser's) ---- */

/* parse_yaml.c */

const char *sp_clip(const char *s, char *buf, size_t len);
const char *sp_closest(const char *s, const char *const *names, int n);
void sp_join(char *buf, size_t len, const char *const *names, int n);
extern const char *const sp_newtype_names[GH_NEW_COUNT];
extern const char *const sp_newtype_articles[GH_NEW_COUNT];
GH_PRINTF(4, 5)
int sp_err_at(struct pctx *c, int line, int column, const char *fmt, ...);
const char *sp_desc(const yaml_node_t *n, char *buf, size_t len);
bool sp_valid_ident(const char *s);
bool sp_is_reserved(const char *s);
bool sp_valid_label(const char *s);
int sp_get_int(struct pctx *c, yaml_node_t *n, const char *what, int64_t min, int64_t max,
               int64_t *out);
int sp_get_u64(struct pctx *c, yaml_node_t *n, const char *what, uint64_t *out);
int sp_get_str(struct pctx *c, yaml_node_t *n, const char *what, const char **out);
int sp_get_fields(struct pctx *c, yaml_node_t *map, const char *owner,
                  const char *const *names, int n, yaml_node_t **keys, yaml_node_t **vals,
                  const char *const *elsewhere, int nelsewhere, const char *elsewhere_msg);
int sp_find_global(const struct pctx *c, const char *name);
int sp_find_local(const struct gh_role *r, const char *name);
const char *sp_closest_name(const struct pctx *c, const struct gh_role *r,
                            const char *name);
int sp_gsort_cmp(const void *a, const void *b, void *arg);
bool sp_looks_int(const yaml_node_t *n);
int sp_parse_value(struct pctx *c, yaml_node_t *n, const struct gh_role *r, int nvisible,
                   struct gh_value *out);
int sp_get_bool(struct pctx *c, yaml_node_t *n, const char *what, bool *out);
int sp_get_text(struct pctx *c, yaml_node_t *n, const char *what, char **out, size_t *len);

/* parse_setup.c */

int sp_parse_newtype(struct pctx *c, yaml_node_t *n, const char *what, bool setup,
                     int nvisible, enum gh_newtype *out, int *cls);
int sp_parse_spec(struct pctx *c, struct gh_global *g, yaml_node_t **key, yaml_node_t **val,
                  const struct gh_role *r, int nvisible, const char *what);
void sp_spec_defaults(struct gh_global *g);
int sp_parse_setup(struct pctx *c, yaml_node_t *n);

/* parse_op.c */

int sp_parse_thresholds(struct pctx *c, yaml_node_t *n, const char *what, int64_t out[3],
                        int *count);
int sp_check_counter_readers(struct pctx *c);
int sp_parse_role(struct pctx *c, const struct role_src *src, struct gh_role *r,
                  const char *default_name);
int sp_parse_roles(struct pctx *c, yaml_node_t *roles);

/* parse.c */

int sp_parse_expr_scalar(struct pctx *c, yaml_node_t *cn, const struct gh_role *r,
                         const char *what, char **text, struct gh_expr **expr);

#endif
