/* parse.c - reads a scenario file into struct gh_scenario.
 *
 * The file format is docs/scenarios.md; this file follows it, and so do its
 * messages. libyaml loads the whole file into a node tree (every node
 * carries its 0-based start mark); the walk below then checks the tree
 * against the format, key by key, and resolves every name, so the runner
 * never meets a bad input.
 *
 * Every error is one line, "FILE:LINE:COLUMN: error: WHAT" (1-based), and
 * the first error ends the parse. Anything taken from the input that goes
 * into a message is cut short and has its control characters replaced, so
 * a message is always one line.
 *
 * The walk only descends into the shapes the format allows, to a fixed
 * depth, so a hostile file (deep nesting, alias loops) cannot make it
 * recurse. Sizes that would make a lookup quadratic are capped (GH_MAX_*).
 */
#define _GNU_SOURCE     /* qsort_r */
#include "scenario/scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/die.h"   // gh_die

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

/* ---- small helpers ----------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        gh_die(ENOMEM, "calloc");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        gh_die(ENOMEM, "strdup");
    return p;
}

/* Copies s into buf for a message: at most 40 characters, control
 * characters and non-ASCII bytes replaced by '?'. */
static const char *clip(const char *s, char *buf, size_t len)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < 40 && o + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i] && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
    return buf;
}

/* Levenshtein distance, for "did you mean"; large when either is long. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of names[0..n) to s, or NULL if none is close. A name whose
 * part after the last '.' equals s ("append" -> "list.append") counts as
 * close. */
static const char *closest(const char *s, const char *const *names, int n)
{
    const char *best = NULL;
    int bestd = 1000;
    size_t ls = strlen(s);
    int limit = ls <= 3 ? 1 : ls <= 8 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        const char *dot = strrchr(names[i], '.');
        if (dot && strcmp(dot + 1, s) == 0)
            return names[i];
        int d = edit_distance(s, names[i]);
        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

static void join(char *buf, size_t len, const char *const *names, int n)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
}

static const char *const reserved_words[] = {
    "none", "object", "int", "small-int", "list", "dict", "random",
    "and", "or", "not", "len", "count", "failed",
    "true", "false", "float", "str", "bytes", "bytearray", "tuple", "set", "frozenset",
    "weakvaluedict", "class", "function", "is",
    /* the expression functions: a name spelled so cannot be an operand */
    "id", "getrefcount", "getsizeof", "value", "interned", "alive", "finalized", "callbacks",
};

/* Indexed by enum gh_newtype. Those up to GH_NEW_FUNCTION can be written
 * as a `type`; an instance's type is written as its class's name. */
static const char *const newtype_names[GH_NEW_COUNT] = {
    "object", "int", "list", "dict", "none", "true", "false", "bare-object", "small-int",
    "float", "str", "bytes", "bytearray", "tuple", "set", "frozenset", "weakvaluedict",
    "class", "function", "instance", "weakref", "snapshot", "any",
};
static const char *const newtype_articles[GH_NEW_COUNT] = {
    "an object", "an int", "a list", "a dict", "None", "True", "False", "a bare object()",
    "a small int", "a float", "a str", "a bytes", "a bytearray", "a tuple", "a set",
    "a frozenset", "a WeakValueDictionary", "a class", "a function", "an instance",
    "a weak reference", "a trace snapshot", "an object of any type",
};
#define TYPE_LIST "object, int, list, dict, none, true, false, bare-object, small-int, " \
                  "float, str, bytes, bytearray, tuple, set, frozenset, weakvaluedict, function"

/* ---- the parse context and its errors ----------------------------------- */

struct local_info {
    enum gh_newtype type;
    bool by_new;              /* bound only by `new` ops so far */
    int line, column;         /* the first op that binds it */
};

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

GH_PRINTF(4, 5)
static int err_at(struct pctx *c, int line, int column, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = true;
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char *m = c->diag->msg;
    snprintf(m, sizeof c->diag->msg, "%s:%d:%d: error: %s", c->file, line, column, what);
    for (char *p = m; *p; p++)         /* one line, whatever the input held */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return -1;
}

#define err_node(c, n, ...)                                                    \
    err_at((c), (int)(n)->start_mark.line + 1, (int)(n)->start_mark.column + 1, __VA_ARGS__)

static yaml_node_t *node_at(struct pctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static bool is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* An empty plain scalar or ~ / null: what `key:` with nothing after gives. */
static bool is_null(const yaml_node_t *n)
{
    if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* "a mapping", "a sequence", "nothing" or "`text`". */
static const char *desc(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (is_null(n) && !*sval(n))
        return "nothing";
    char b[64];
    snprintf(buf, len, "`%s`", clip(sval(n), b, sizeof b));
    return buf;
}

/* Whether the scalar holds a NUL (from a "\0" escape): such text is never
 * a valid name, number or check. */
static bool has_nul(const yaml_node_t *n)
{
    return strlen(sval(n)) != n->data.scalar.length;
}

static bool valid_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return n <= GH_MAX_NAME;
}

static bool is_reserved(const char *s)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(reserved_words); i++)
        if (!strcmp(s, reserved_words[i]))
            return true;
    return false;
}

/* Scenario and role names: letters, digits, '.', '_', '-'. */
static bool valid_label(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return n >= 1 && n <= GH_MAX_NAME;
}

/* ---- scalars ----------------------------------------------------------- */

/* Whether n is written `$NAME`, a reference to a parameter. */
static bool is_param_ref(const yaml_node_t *n)
{
    return is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !has_nul(n) &&
           sval(n)[0] == '$';
}

/* Resolves `$NAME` (is_param_ref): 0 with its value and parameter, or -1
 * after reporting an unknown name. */
static int param_value(struct pctx *c, yaml_node_t *n, const char *what, int64_t *out,
                       const struct gh_param **param)
{
    char b[64], list[512];
    const char *name = sval(n) + 1;
    const struct gh_scenario *s = c->s;
    if (!c->params_ready)
        return err_node(c, n, "%s: a parameter's value is an integer; it cannot name "
                        "another parameter", what);
    for (int i = 0; i < s->nparams; i++) {
        if (!strcmp(s->params[i].name, name)) {
            *out = s->params[i].value;
            *param = &s->params[i];
            return 0;
        }
    }
    if (!s->nparams)
        return err_node(c, n, "%s: `%s` names a parameter, but the scenario has no `params` "
                        "(e.g. params: {%s: 1000})", what, clip(sval(n), b, sizeof b),
                        valid_ident(name) ? name : "N");
    size_t o = 0;
    const char *best = NULL;
    int bestd = 1000;
    for (int i = 0; i < s->nparams && o < sizeof list; i++) {
        o += (size_t)snprintf(list + o, sizeof list - o, "%s$%s", i ? ", " : "",
                              s->params[i].name);
        int d = edit_distance(name, s->params[i].name);
        if (d < bestd) {
            bestd = d;
            best = s->params[i].name;
        }
    }
    if (best && bestd <= (strlen(name) <= 3 ? 1 : 2))
        return err_node(c, n, "%s: unknown parameter `%s` (did you mean `$%s`?); the "
                        "scenario's params are: %s", what, clip(sval(n), b, sizeof b), best,
                        list);
    return err_node(c, n, "%s: unknown parameter `%s`; the scenario's params are: %s", what,
                    clip(sval(n), b, sizeof b), list);
}

/* The message for a parameter whose value is out of [min, max]. */
static int param_range_error(struct pctx *c, yaml_node_t *n, const char *what,
                             const struct gh_param *pp, int64_t v, int64_t min, int64_t max)
{
    char range[96];
    if (max == INT64_MAX)
        snprintf(range, sizeof range, "an integer >= %" PRId64, min);
    else
        snprintf(range, sizeof range, "an integer from %" PRId64 " to %" PRId64, min, max);
    return err_node(c, n, "%s: expected %s, found `$%s` = %" PRId64 " (%s)", what, range,
                    pp->name, v, pp->overridden ? "from --param" : "from `params`");
}

/* A decimal integer in [min, max], written as a plain scalar, or `$NAME`
 * (a parameter). */
static int get_int(struct pctx *c, yaml_node_t *n, const char *what, int64_t min,
                   int64_t max, int64_t *out)
{
    char b[64];
    if (is_param_ref(n)) {
        const struct gh_param *pp;
        int64_t v;
        if (param_value(c, n, what, &v, &pp))
            return -1;
        if (v < min || v > max)
            return param_range_error(c, n, what, pp, v, min, max);
        *out = v;
        return 0;
    }
    bool ok = is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
              !has_nul(n);
    int64_t v = 0;
    if (ok) {
        const char *s = sval(n);
        bool neg = *s == '-';
        if (*s == '-' || *s == '+')
            s++;
        if (!*s)
            ok = false;
        /* Accumulate negatively so INT64_MIN fits. */
        for (; ok && *s; s++) {
            if (*s < '0' || *s > '9') {
                ok = false;
                break;
            }
            int d = *s - '0';
            if (v < (INT64_MIN + d) / 10) {
                ok = false;
                break;
            }
            v = v * 10 - d;
        }
        if (ok && !neg) {
            if (v == INT64_MIN)
                ok = false;
            else
                v = -v;
        }
    }
    if (!ok || v < min || v > max) {
        if (min == INT64_MIN && max == INT64_MAX)
            return err_node(c, n, "%s: expected an integer, found %s", what,
                            desc(n, b, sizeof b));
        if (max == INT64_MAX)
            return err_node(c, n, "%s: expected an integer >= %" PRId64 ", found %s", what,
                            min, desc(n, b, sizeof b));
        return err_node(c, n, "%s: expected an integer from %" PRId64 " to %" PRId64
                        ", found %s", what, min, max, desc(n, b, sizeof b));
    }
    *out = v;
    return 0;
}

static int get_u64(struct pctx *c, yaml_node_t *n, const char *what, uint64_t *out)
{
    char b[64];
    if (is_param_ref(n)) {
        const struct gh_param *pp;
        int64_t v;
        if (param_value(c, n, what, &v, &pp))
            return -1;
        if (v < 0)
            return param_range_error(c, n, what, pp, v, 0, INT64_MAX);
        *out = (uint64_t)v;
        return 0;
    }
    bool ok = is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
              !has_nul(n) && *sval(n);
    uint64_t v = 0;
    for (const char *s = ok ? sval(n) : ""; ok && *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            ok = false;
        else
            v = v * 10 + (uint64_t)(*s - '0');
    }
    if (!ok)
        return err_node(c, n, "%s: expected an integer from 0 to %" PRIu64 ", found %s",
                        what, UINT64_MAX, desc(n, b, sizeof b));
    *out = v;
    return 0;
}

/* A non-empty string scalar. */
static int get_str(struct pctx *c, yaml_node_t *n, const char *what, const char **out)
{
    char b[64];
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "%s: expected %s, found %s", what,
                        "a string", desc(n, b, sizeof b));
    *out = sval(n);
    return 0;
}

/* ---- mappings ---------------------------------------------------------- */

/* Checks that `map` is a mapping whose keys are scalars from names[0..n),
 * each at most once; keys[i] / vals[i] get the key and value nodes of
 * names[i] (NULL when absent). `owner` names the mapping in messages ("the
 * top level", "a role"). When `elsewhere` is given, a key from it that is
 * not in names gets `elsewhere_msg` instead of "unknown key". */
static int get_fields(struct pctx *c, yaml_node_t *map, const char *owner,
                      const char *const *names, int n, yaml_node_t **keys,
                      yaml_node_t **vals, const char *const *elsewhere, int nelsewhere,
                      const char *elsewhere_msg)
{
    char b[64], b2[64], list[512];
    if (map->type != YAML_MAPPING_NODE)
        return err_node(c, map, "%s: expected a mapping, found %s", owner,
                        desc(map, b, sizeof b));
    for (int i = 0; i < n; i++)
        keys[i] = vals[i] = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        yaml_node_t *v = node_at(c, p->value);
        if (!is_scalar(k) || has_nul(k))
            return err_node(c, k, "%s: expected a key name, found %s", owner,
                            desc(k, b, sizeof b));
        int idx = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(sval(k), names[i]))
                idx = i;
        if (idx < 0) {
            join(list, sizeof list, names, n);
            for (int i = 0; elsewhere && i < nelsewhere; i++)
                if (!strcmp(sval(k), elsewhere[i]))
                    return err_node(c, k, "`%s` %s; the keys here are: %s",
                                    clip(sval(k), b, sizeof b), elsewhere_msg, list);
            const char *near = closest(sval(k), names, n);
            if (near)
                return err_node(c, k, "unknown key `%s` in %s (did you mean `%s`?); "
                                "expected one of: %s", clip(sval(k), b, sizeof b), owner,
                                near, list);
            return err_node(c, k, "unknown key `%s` in %s; expected one of: %s",
                            clip(sval(k), b, sizeof b), owner, list);
        }
        if (keys[idx])
            return err_node(c, k, "duplicate key `%s` in %s (first given at %d:%d)",
                            clip(sval(k), b2, sizeof b2), owner,
                            (int)keys[idx]->start_mark.line + 1,
                            (int)keys[idx]->start_mark.column + 1);
        keys[idx] = k;
        vals[idx] = v;
    }
    return 0;
}

/* ---- names ------------------------------------------------------------- */

static const char *pctx_gname(const struct pctx *c, int i)
{
    return c->s->globals[i].name;
}

/* The index of the global called name, or -1 (binary search in gsorted). */
static int find_global(const struct pctx *c, const char *name)
{
    int lo = 0, hi = c->s->nglobals - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, pctx_gname(c, c->gsorted[mid]));
        if (cmp == 0)
            return c->gsorted[mid];
        if (cmp < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

static int find_local(const struct gh_role *r, const char *name)
{
    for (int i = 0; i < r->nlocals; i++)
        if (!strcmp(r->locals[i], name))
            return i;
    return -1;
}

/* A close global or local name, for "did you mean". */
static const char *closest_name(const struct pctx *c, const struct gh_role *r,
                                const char *name)
{
    const char *best = NULL;
    int bestd = 1000;
    int limit = strlen(name) <= 3 ? 1 : 2;
    for (int i = 0; i < c->s->nglobals; i++) {
        int d = edit_distance(name, c->s->globals[i].name);
        if (d < bestd) {
            bestd = d;
            best = c->s->globals[i].name;
        }
    }
    for (int i = 0; r && i < r->nlocals; i++) {
        int d = edit_distance(name, r->locals[i]);
        if (d < bestd) {
            bestd = d;
            best = r->locals[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

static int gsort_cmp(const void *a, const void *b, void *arg)
{
    const struct gh_global *globals = arg;
    int ia = *(const int *)a, ib = *(const int *)b;
    int cmp = strcmp(globals[ia].name, globals[ib].name);
    return cmp ? cmp : (ia > ib) - (ia < ib);
}

/* ---- values ------------------------------------------------------------ */

static const char *const value_keywords[] = {
    "none", "object", "int", "small-int", "list", "dict", "true", "false",
};

/* Whether a plain scalar is written as a decimal integer (or `$NAME`, a
 * parameter, which get_int resolves). */
static bool looks_int(const yaml_node_t *n)
{
    if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *t = sval(n);
    if (*t == '$')
        return true;
    if (*t == '-' || *t == '+')
        t++;
    return *t >= '0' && *t <= '9';
}

/* `value`: a keyword, a global defined before index `nvisible`, or a local
 * of role r (NULL in setup). */
static int parse_value(struct pctx *c, yaml_node_t *n, const struct gh_role *r,
                       int nvisible, struct gh_value *out)
{
    char b[64], b2[64];
    static const enum gh_value_kind kinds[] = {
        GH_VAL_NONE_OBJ, GH_VAL_OBJECT, GH_VAL_INT, GH_VAL_SMALL_INT, GH_VAL_LIST, GH_VAL_DICT,
        GH_VAL_TRUE, GH_VAL_FALSE,
    };
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "value: expected none, true, false, object, int, small-int, list, "
                        "dict, an integer or a name, found %s", desc(n, b, sizeof b));
    const char *v = sval(n);
    memset(out, 0, sizeof *out);
    out->slot = -1;
    if (looks_int(n)) {
        out->kind = GH_VAL_INT_LIT;
        return get_int(c, n, "value", INT64_MIN, INT64_MAX, &out->range);
    }
    for (size_t i = 0; i < GH_ARRAY_LEN(value_keywords); i++) {
        if (!strcmp(v, value_keywords[i])) {
            out->kind = kinds[i];
            out->range = out->kind == GH_VAL_INT ? 1000000 : 0;
            return 0;
        }
    }
    int g = find_global(c, v);
    if (g >= 0 && g < nvisible) {
        out->kind = GH_VAL_GLOBAL;
        out->slot = g;
        return 0;
    }
    if (g >= 0)
        return err_node(c, n, "value: the global `%s` is set up later, at %d:%d; setup "
                        "builds globals in order, so a value may name only an earlier one",
                        clip(v, b, sizeof b), c->s->globals[g].line, c->s->globals[g].column);
    int l = r ? find_local(r, v) : -1;
    if (l >= 0 && r->local_types && r->local_types[l] == GH_NEW_SNAPSHOT)
        return err_node(c, n, "value: `%s` is a trace snapshot, not an object", clip(v, b, sizeof b));
    if (l >= 0) {
        out->kind = GH_VAL_LOCAL;
        out->slot = l;
        return 0;
    }
    const char *near = closest_name(c, r, v);
    if (!near)
        near = closest(v, value_keywords, (int)GH_ARRAY_LEN(value_keywords));
    if (near)
        return err_node(c, n, "value: undefined name `%s` (did you mean `%s`?); expected "
                        "none, object, int, small-int, list, dict, a global%s",
                        clip(v, b, sizeof b), clip(near, b2, sizeof b2),
                        r ? " or a local of this role" : " set up earlier");
    return err_node(c, n, "value: undefined name `%s`; expected none, object, int, "
                    "small-int, list, dict, a global%s", clip(v, b, sizeof b),
                    r ? " or a local of this role" : " set up earlier");
}

/* A `type`: a type name, or the name of a class global defined before index
 * nvisible (an instance of it: *cls gets its index). `class` only in setup. */
static int parse_newtype(struct pctx *c, yaml_node_t *n, const char *what, bool setup,
                         int nvisible, enum gh_newtype *out, int *cls)
{
    char b[64];
    *cls = -1;
    if (is_scalar(n) && !has_nul(n)) {
        for (int i = 0; i <= GH_NEW_FUNCTION; i++)
            if (!strcmp(sval(n), newtype_names[i]) && (setup || i != GH_NEW_CLASS)) {
                *out = (enum gh_newtype)i;
                return 0;
            }
        int g = c->s->nglobals ? find_global(c, sval(n)) : -1;
        if (g >= 0 && g < nvisible && c->s->globals[g].type == GH_NEW_CLASS) {
            *out = GH_NEW_INSTANCE;
            *cls = g;
            return 0;
        }
        if (g >= 0 && c->s->globals[g].type == GH_NEW_CLASS)
            return err_node(c, n, "%s: the class `%s` is set up later, at %d:%d; setup builds "
                            "globals in order", what, sval(n), c->s->globals[g].line,
                            c->s->globals[g].column);
    }
    return err_node(c, n, "%s: expected a type (" TYPE_LIST "%s or the name of a class from "
                    "setup), found %s", what, setup ? ", class" : "", desc(n, b, sizeof b));
}

/* A boolean scalar: true or false. */
static int get_bool(struct pctx *c, yaml_node_t *n, const char *what, bool *out)
{
    char b[64];
    if (is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = sval(n);
        if (!strcmp(v, "true") || !strcmp(v, "True")) {
            *out = true;
            return 0;
        }
        if (!strcmp(v, "false") || !strcmp(v, "False")) {
            *out = false;
            return 0;
        }
    }
    return err_node(c, n, "%s: expected true or false, found %s", what, desc(n, b, sizeof b));
}

/* The keys of an object spec: setup's long form and a `new` op. */
enum spec_key { S_TYPE, S_ITEMS, S_VALUE, S_RANGE, S_CONST, S_DEL, S_LEGACY, S_INTO, S_DEF,
                S_SLOTS, S_COUNT };
static const char *const spec_key_names[S_COUNT] = {
    "type", "items", "value", "range", "const", "del", "legacy", "into", "def", "slots",
};

/* Which spec keys (besides type) each type takes. */
static unsigned spec_keys_for(enum gh_newtype t)
{
#define SB(k) (1u << (k))
    switch (t) {
    case GH_NEW_INT: case GH_NEW_SMALL_INT: case GH_NEW_FLOAT:
    case GH_NEW_BYTES: case GH_NEW_BYTEARRAY:
        return SB(S_VALUE);
    case GH_NEW_STR:        return SB(S_VALUE) | SB(S_CONST);
    case GH_NEW_LIST: case GH_NEW_DICT:
        return SB(S_ITEMS) | SB(S_VALUE) | SB(S_RANGE);
    case GH_NEW_TUPLE: case GH_NEW_SET: case GH_NEW_FROZENSET:
        return SB(S_ITEMS);
    case GH_NEW_CLASS:      return SB(S_DEL) | SB(S_LEGACY) | SB(S_INTO) | SB(S_SLOTS);
    case GH_NEW_FUNCTION:   return SB(S_DEF);
    default:                return 0;
    }
#undef SB
}

static const char *spec_hint(enum gh_newtype t)
{
    switch (t) {
    case GH_NEW_INT: case GH_NEW_SMALL_INT: return " (give its integer `value`)";
    case GH_NEW_FLOAT:    return " (give its `value`, e.g. 1.5)";
    case GH_NEW_STR:      return " (give its text as `value`, and `const: true` for a constant)";
    case GH_NEW_BYTES: case GH_NEW_BYTEARRAY: return " (give its contents as `value`)";
    case GH_NEW_TUPLE: case GH_NEW_SET: case GH_NEW_FROZENSET:
        return " (give its `items`, e.g. items: [1, 2, x])";
    case GH_NEW_CLASS:    return " (it takes del, legacy, into and slots)";
    case GH_NEW_FUNCTION: return " (it takes def)";
    default:              return "";
    }
}

/* A class's `slots: [a, b]` (__slots__): distinct attribute names, at
 * most GH_MAX_SLOTS; [] is a class whose instances have no attribute. */
static int parse_slots(struct pctx *c, yaml_node_t *n, struct gh_global *g, const char *what)
{
    char b[64];
    if (n->type != YAML_SEQUENCE_NODE)
        return err_node(c, n, "%s: slots: expected a list of attribute names such as [a, b], "
                        "found %s", what, desc(n, b, sizeof b));
    int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (k > GH_SCENARIO_MAX_SLOTS)
        return err_node(c, n, "%s: slots: at most %d names, found %d", what, GH_SCENARIO_MAX_SLOTS, k);
    g->slots = xcalloc((size_t)(k ? k : 1), sizeof *g->slots);
    g->nslots = 0;
    for (int i = 0; i < k; i++) {
        yaml_node_t *e = node_at(c, n->data.sequence.items.start[i]);
        if (!e || !is_scalar(e) || has_nul(e) || !valid_ident(sval(e)) ||
            strlen(sval(e)) >= GH_SCENARIO_SLOT_NAME)
            return err_node(c, e ? e : n, "%s: slots: expected an attribute name (a letter or "
                            "`_`, then letters, digits or `_`, shorter than %d), found %s",
                            what, GH_SCENARIO_SLOT_NAME, e ? desc(e, b, sizeof b) : "nothing");
        for (int j = 0; j < i; j++)
            if (!strcmp(g->slots[j], sval(e)))
                return err_node(c, e, "%s: slots: `%s` is listed twice", what, sval(e));
        g->slots[i] = xstrdup(sval(e));
        g->nslots = i + 1;
    }
    return 0;
}

/* Fills g (type already set) from the spec keys in val[]. r: the role (NULL
 * in setup); nvisible: how many globals a name may refer to. */
static int parse_spec(struct pctx *c, struct gh_global *g, yaml_node_t **key, yaml_node_t **val,
                      const struct gh_role *r, int nvisible, const char *what)
{
    char b[64], w[160];
    unsigned ok = spec_keys_for(g->type);
    for (int i = S_ITEMS; i < S_COUNT; i++)
        if (key[i] && !(ok & (1u << i)))
            return err_node(c, key[i], "%s: `%s` does not apply to type %s%s", what,
                            spec_key_names[i], g->type == GH_NEW_INSTANCE ? "instance"
                            : newtype_names[g->type], spec_hint(g->type));
    yaml_node_t *v = val[S_VALUE];
    snprintf(w, sizeof w, "%s: value", what);
    switch (g->type) {
    case GH_NEW_INT:
    case GH_NEW_SMALL_INT:
        if (v) {
            g->has_value = true;
            if (g->type == GH_NEW_SMALL_INT)
                return get_int(c, v, w, -5, 256, &g->int_value);
            return get_int(c, v, w, INT64_MIN, INT64_MAX, &g->int_value);
        }
        return 0;
    case GH_NEW_FLOAT:
        if (v) {
            char *end = NULL;
            g->has_value = true;
            if (is_scalar(v) && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !has_nul(v))
                g->float_value = strtod(sval(v), &end);
            if (!end || end == sval(v) || *end)
                return err_node(c, v, "%s: expected a number such as 1.5, found %s", w,
                                desc(v, b, sizeof b));
        }
        return 0;
    case GH_NEW_STR:
    case GH_NEW_BYTES:
    case GH_NEW_BYTEARRAY:
        if (v) {
            if (!is_scalar(v))
                return err_node(c, v, "%s: expected a text such as \"abc\", found %s", w,
                                desc(v, b, sizeof b));
            size_t n = v->data.scalar.length;
            const unsigned char *t = (const unsigned char *)sval(v);
            for (size_t i = 0; i < n; i++)
                if (t[i] >= 0x80 || (g->type == GH_NEW_STR && !t[i]))
                    return err_node(c, v, "%s: the model has only ASCII text; `%s` has a "
                                    "byte 0x%02x", w, clip(sval(v), b, sizeof b), t[i]);
            g->text = xcalloc(n + 1, 1);
            memcpy(g->text, t, n);
            g->text_len = n;
            g->has_value = true;
        }
        if (val[S_CONST] && get_bool(c, val[S_CONST], "const", &g->is_const))
            return -1;
        return 0;
    case GH_NEW_LIST:
    case GH_NEW_DICT:
    case GH_NEW_TUPLE:
    case GH_NEW_SET:
    case GH_NEW_FROZENSET:
        break;
    case GH_NEW_CLASS:
        if (val[S_DEL]) {
            static const char *const dn[] = {"none", "count", "resurrect"};
            int k = -1;
            for (int i = 0; i < 3 && is_scalar(val[S_DEL]); i++)
                if (!strcmp(sval(val[S_DEL]), dn[i]))
                    k = i;
            if (k < 0)
                return err_node(c, val[S_DEL], "%s: del: expected none, count or resurrect, "
                                "found %s", what, desc(val[S_DEL], b, sizeof b));
            g->del = (enum gh_del_kind)k;
        }
        if (val[S_LEGACY] && get_bool(c, val[S_LEGACY], "legacy", &g->legacy))
            return -1;
        if (g->del == GH_DEL_RESURRECT && !val[S_INTO])
            return err_node(c, val[S_DEL], "%s: `del: resurrect` needs `into: NAME`, the "
                            "global list the instance is stored into", what);
        if (val[S_INTO]) {
            if (g->del != GH_DEL_RESURRECT)
                return err_node(c, key[S_INTO], "%s: `into` applies only to `del: resurrect`",
                                what);
            int t = is_scalar(val[S_INTO]) ? find_global(c, sval(val[S_INTO])) : -1;
            if (t < 0 || t >= nvisible || c->s->globals[t].type != GH_NEW_LIST)
                return err_node(c, val[S_INTO], "%s: into: expected a global list set up "
                                "earlier, found %s", what, desc(val[S_INTO], b, sizeof b));
            g->into = t;
        }
        if (val[S_SLOTS])
            return parse_slots(c, val[S_SLOTS], g, what);
        return 0;
    case GH_NEW_FUNCTION:
        if (!val[S_DEF])
            return err_node(c, val[S_TYPE], "%s: a function needs `def: append-one` or "
                            "`def: append-one-none`", what);
        if (is_scalar(val[S_DEF]) && !strcmp(sval(val[S_DEF]), "append-one"))
            g->def = GH_DEF_APPEND_ONE;
        else if (is_scalar(val[S_DEF]) && !strcmp(sval(val[S_DEF]), "append-one-none"))
            g->def = GH_DEF_APPEND_ONE_NONE;
        else
            return err_node(c, val[S_DEF], "%s: def: expected append-one (def f(x=[])) or "
                            "append-one-none (def f(x=None)), found %s", what,
                            desc(val[S_DEF], b, sizeof b));
        return 0;
    default:
        return 0;
    }
    /* Containers. */
    yaml_node_t *items = val[S_ITEMS];
    if (items && items->type == YAML_SEQUENCE_NODE) {
        int n = (int)(items->data.sequence.items.top - items->data.sequence.items.start);
        if (g->type == GH_NEW_DICT)
            return err_node(c, items, "%s: items: a dict takes a count (keys 0..N-1)", what);
        if (n > 1000)
            return err_node(c, items, "%s: items: at most 1000 listed items", what);
        g->elems = xcalloc((size_t)n, sizeof *g->elems);
        g->nelems = n;
        g->has_elems = true;
        for (int i = 0; i < n; i++)
            if (parse_value(c, node_at(c, items->data.sequence.items.start[i]), r, nvisible,
                            &g->elems[i]))
                return -1;
    } else if (items) {
        if (g->type != GH_NEW_LIST && g->type != GH_NEW_DICT)
            return err_node(c, items, "%s: items: expected a list of values such as [1, 2, x], "
                            "found %s", what, desc(items, b, sizeof b));
        snprintf(w, sizeof w, "%s: items", what);
        if (get_int(c, items, w, 0, GH_MAX_ITEMS, &g->items))
            return -1;
        if ((c->total_items += g->items) > GH_MAX_ITEMS_TOTAL)
            return err_node(c, items, "%s: too many items in all lists and dicts together "
                            "(at most %d)", w, GH_MAX_ITEMS_TOTAL);
    }
    if (v && parse_value(c, v, r, nvisible, &g->value))
        return -1;
    if (val[S_RANGE]) {
        if (g->value.kind != GH_VAL_INT)
            return err_node(c, key[S_RANGE], "%s: `range` applies only to `value: int`", what);
        snprintf(w, sizeof w, "%s: range", what);
        if (get_int(c, val[S_RANGE], w, 1, INT64_MAX, &g->value.range))
            return -1;
    }
    return 0;
}

static void spec_defaults(struct gh_global *g)
{
    g->value.kind = GH_VAL_INT;
    g->value.slot = -1;
    g->value.range = 1000000;
    g->cls = -1;
    g->into = -1;
    g->nslots = -1;
}

static int parse_global(struct pctx *c, yaml_node_t *k, yaml_node_t *v, int index)
{
    struct gh_global *g = &c->s->globals[index];
    char b[64], what[128];
    g->name = xstrdup(sval(k));
    g->line = (int)k->start_mark.line + 1;
    g->column = (int)k->start_mark.column + 1;
    spec_defaults(g);
    snprintf(what, sizeof what, "setup of `%s`", g->name);
    if (is_scalar(v)) {
        if (parse_newtype(c, v, what, true, index, &g->type, &g->cls))
            return -1;
        if (g->type == GH_NEW_FUNCTION)
            return err_node(c, v, "%s: a function needs `def`: write {type: function, def: "
                            "append-one}", what);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return err_node(c, v, "%s: expected a type (object, int, list, dict...) or a mapping "
                        "{type: T, items: N, value: V}, found %s", what, desc(v, b, sizeof b));
    yaml_node_t *keys[S_COUNT], *vals[S_COUNT];
    if (get_fields(c, v, what, spec_key_names, S_COUNT, keys, vals, NULL, 0, NULL))
        return -1;
    if (!vals[S_TYPE])
        return err_node(c, v, "%s: missing `type` (object, int, list, dict...)", what);
    if (parse_newtype(c, vals[S_TYPE], what, true, index, &g->type, &g->cls))
        return -1;
    return parse_spec(c, g, keys, vals, NULL, index, what);
}

static int parse_setup(struct pctx *c, yaml_node_t *n)
{
    char b[64], b2[64];
    struct gh_scenario *s = c->s;
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return err_node(c, n, "setup: expected a mapping of NAME: TYPE, found %s",
                        desc(n, b, sizeof b));
    int count = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (count > GH_MAX_GLOBALS) {
        yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[GH_MAX_GLOBALS].key);
        return err_node(c, k, "setup: too many globals (at most %d)", GH_MAX_GLOBALS);
    }
    s->globals = xcalloc((size_t)count, sizeof *s->globals);
    c->gsorted = xcalloc((size_t)count, sizeof *c->gsorted);
    /* Names first, so duplicates are found in O(n log n). */
    for (int i = 0; i < count; i++) {
        yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[i].key);
        if (!is_scalar(k) || has_nul(k) || !valid_ident(sval(k)))
            return err_node(c, k, "setup: expected a global name (a letter or `_`, then "
                            "letters, digits or `_`, at most %d), found %s", GH_MAX_NAME,
                            is_scalar(k) ? desc(k, b, sizeof b) : "a collection");
        if (is_reserved(sval(k)))
            return err_node(c, k, "setup: `%s` is a reserved word and cannot name a global",
                            sval(k));
        s->globals[i].name = xstrdup(sval(k));
        s->globals[i].line = (int)k->start_mark.line + 1;
        s->globals[i].column = (int)k->start_mark.column + 1;
        c->gsorted[i] = i;
        s->nglobals = i + 1;
    }
    qsort_r(c->gsorted, (size_t)count, sizeof *c->gsorted, gsort_cmp, s->globals);
    int dup = -1, first = -1;
    for (int i = 1; i < count; i++) {
        int a = c->gsorted[i - 1], d = c->gsorted[i];
        if (!strcmp(s->globals[a].name, s->globals[d].name) && (dup < 0 || d < dup)) {
            dup = d;
            /* the first of the run of equal names */
            first = a;
            for (int j = i - 1; j >= 0 && !strcmp(s->globals[c->gsorted[j]].name,
                                                  s->globals[d].name); j--)
                first = c->gsorted[j];
        }
    }
    if (dup >= 0)
        return err_at(c, s->globals[dup].line, s->globals[dup].column,
                      "duplicate key `%s` in setup (first given at %d:%d)",
                      clip(s->globals[dup].name, b2, sizeof b2), s->globals[first].line,
                      s->globals[first].column);
    for (int i = 0; i < count; i++) {
        free(s->globals[i].name);
        s->globals[i].name = NULL;
        yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[i].key);
        yaml_node_t *v = node_at(c, n->data.mapping.pairs.start[i].value);
        if (parse_global(c, k, v, i))
            return -1;
    }
    return 0;
}

/* ---- ops --------------------------------------------------------------- */

/* ---- ops: the table (scenario/ops.h) and the hooks it names ----------- */

/* Ops that bind `as`. */
static bool op_binds(enum gh_op_kind k)
{
    return k == GH_OP_NEW || (gh_op_rules[k].keys & GH_KBIT_AS);
}

static const char *const need_articles[] = {
    [GH_NEED_LIST] = "a list", [GH_NEED_DICT] = "a dict",
    [GH_NEED_INSTANCE] = "an instance (of `object` or of a class from setup)",
    [GH_NEED_SET] = "a set", [GH_NEED_SETLIKE] = "a set or a frozenset",
    [GH_NEED_TUPLE_LOCAL] = "a local tuple", [GH_NEED_STR_LOCAL] = "a local str",
    [GH_NEED_WEAKREF] = "a weak reference (bound by weakref.new)",
    [GH_NEED_WVDICT] = "a weakvaluedict", [GH_NEED_FUNCTION] = "a function",
    [GH_NEED_SNAPSHOT] = "a trace snapshot (bound by trace.snapshot)",
    [GH_NEED_INT_GLOBAL] = "an int global (set up as `{type: int, value: 0}`)",
    [GH_NEED_TUPLE] = "a tuple",
};

static bool need_ok(enum gh_op_need nd, enum gh_newtype t)
{
    if (t == GH_NEW_ANY)
        return true;
    switch (nd) {
    case GH_NEED_LIST:        return t == GH_NEW_LIST;
    case GH_NEED_DICT:        return t == GH_NEW_DICT;
    case GH_NEED_INSTANCE:    return t == GH_NEW_OBJECT || t == GH_NEW_INSTANCE;
    case GH_NEED_SET:         return t == GH_NEW_SET;
    case GH_NEED_SETLIKE:     return t == GH_NEW_SET || t == GH_NEW_FROZENSET;
    case GH_NEED_TUPLE_LOCAL: return t == GH_NEW_TUPLE;
    case GH_NEED_TUPLE:       return t == GH_NEW_TUPLE;
    case GH_NEED_STR_LOCAL:   return t == GH_NEW_STR;
    case GH_NEED_WEAKREF:     return t == GH_NEW_WEAKREF;
    case GH_NEED_WVDICT:      return t == GH_NEW_WVDICT;
    case GH_NEED_FUNCTION:    return t == GH_NEW_FUNCTION;
    case GH_NEED_SNAPSHOT:    return t == GH_NEW_SNAPSHOT;
    case GH_NEED_INT_GLOBAL:  return t == GH_NEW_INT || t == GH_NEW_SMALL_INT;
    case GH_NEED_ANY:         return t != GH_NEW_SNAPSHOT;
    default:                  return true;
    }
}

enum op_place { IN_MIX, IN_SCRIPT, IN_INIT, IN_AFTER };

/* global.add's `via`: inline (the default) or call. */
static int parse_via(struct pctx *c, yaml_node_t *n, bool *call)
{
    char b[64];
    *call = false;
    if (!n)
        return 0;
    if (is_scalar(n) && !strcmp(sval(n), "inline"))
        return 0;
    if (is_scalar(n) && !strcmp(sval(n), "call")) {
        *call = true;
        return 0;
    }
    return err_node(c, n, "via: expected inline (the update has no switch point inside) or "
                    "call (a call between the read and the write), found %s",
                    desc(n, b, sizeof b));
}

struct role_ctx {
    struct gh_role *r;
    struct local_info *linfo; /* [GH_MAX_LOCALS] */
};

/* `on` / `from` / `to`: a global or a local of the role, of the type `need`
 * asks for. */
static int parse_target(struct pctx *c, struct role_ctx *rc, yaml_node_t *n,
                        enum gh_op_kind kind, const char *keyname, enum gh_op_need need,
                        struct gh_target *out)
{
    char b[64], b2[64];
    const char *opname = gh_op_names[kind];
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "%s: expected the name of a global or a local, found %s",
                        keyname, desc(n, b, sizeof b));
    const char *name = sval(n);
    int g = find_global(c, name);
    int l = g < 0 ? find_local(rc->r, name) : -1;
    if (g < 0 && l < 0) {
        const char *near = closest_name(c, rc->r, name);
        if (near)
            return err_node(c, n, "%s: undefined name `%s` (did you mean `%s`?); expected a "
                            "global from `setup` or a local bound by `new ... as:` in this role",
                            keyname, clip(name, b, sizeof b), clip(near, b2, sizeof b2));
        return err_node(c, n, "%s: undefined name `%s`; expected a global from `setup` or a "
                        "local bound by `new ... as:` in this role", keyname,
                        clip(name, b, sizeof b));
    }
    enum gh_newtype t = g >= 0 ? c->s->globals[g].type : rc->linfo[l].type;
    int tl = g >= 0 ? c->s->globals[g].line : rc->linfo[l].line;
    int tc = g >= 0 ? c->s->globals[g].column : rc->linfo[l].column;
    const char *how = g >= 0 ? "set up" : "bound by the op";
    bool need_local = need == GH_NEED_LOCAL || need == GH_NEED_TUPLE_LOCAL || need == GH_NEED_STR_LOCAL;
    if (need_local && g >= 0)
        return err_node(c, n, "%s needs a local bound by an op with `as:` in this role, but "
                        "`%s` is a global (set up at %d:%d); %s", opname, name, tl, tc,
                        kind == GH_OP_DROP ? "globals live for the whole run"
                                           : "the op rebinds its `on`, so it must be a local");
    if (need == GH_NEED_INT_GLOBAL && g < 0)
        return err_node(c, n, "%s needs a global in `%s`, but `%s` is a local of the role; "
                        "a counter is shared: set it up as `%s: {type: int, value: 0}`",
                        opname, keyname, name, name);
    if (need > GH_NEED_LOCAL && !need_ok(need, t))
        return err_node(c, n, "%s needs %s in `%s`, but `%s` is %s (%s at %d:%d)", opname,
                        need_articles[need], keyname, name, newtype_articles[t], how, tl, tc);
    if ((need == GH_NEED_LIST || need == GH_NEED_DICT) && !need_ok(need, t))
        return err_node(c, n, "%s needs %s in `%s`, but `%s` is %s (%s at %d:%d)", opname,
                        need == GH_NEED_LIST ? "a list" : "a dict", keyname, name,
                        newtype_articles[t], how, tl, tc);
    if (need == GH_NEED_ANY && t == GH_NEW_SNAPSHOT)
        return err_node(c, n, "%s: `%s` is a trace snapshot, not an object", opname, name);
    out->local = g < 0;
    out->slot = g >= 0 ? g : l;
    return 0;
}

/* An integer, `random`, or {iter: K} (the pass number plus K), for `key`
 * and `index`. */
static int parse_intarg(struct pctx *c, yaml_node_t *n, const char *what, int64_t min,
                        struct gh_intarg *out)
{
    char b[64];
    if (is_scalar(n) && !strcmp(sval(n), "random")) {
        out->random = true;
        return 0;
    }
    if (n->type == YAML_MAPPING_NODE) {
        static const char *const names[] = {"iter"};
        yaml_node_t *k[1], *v[1];
        char w[64];
        snprintf(w, sizeof w, "%s: {iter: K}", what);
        if (get_fields(c, n, w, names, 1, k, v, NULL, 0, NULL))
            return -1;
        if (!v[0])
            return err_node(c, n, "%s: expected {iter: K}, K an integer offset", what);
        out->random = false;
        out->iter = true;
        out->range = 0;
        return get_int(c, v[0], "iter", -1000000000, 1000000000, &out->value);
    }
    if (looks_int(n)) {
        int64_t v;
        if (get_int(c, n, what, min, INT64_MAX, &v))
            return -1;
        out->random = false;
        out->value = v;
        out->range = 0;
        return 0;
    }
    return err_node(c, n, "%s: expected an integer, `random`%s or {iter: K}, found %s", what,
                    strcmp(what, "key") ? "" : ", {str: TEXT}",
                    desc(n, b, sizeof b));
}

static int get_text(struct pctx *c, yaml_node_t *n, const char *what, char **out, size_t *len);

/* `key: {str: TEXT}`: a mapping whose first key is `str`. */
static bool is_str_key(struct pctx *c, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return false;
    yaml_node_t *k0 = node_at(c, n->data.mapping.pairs.start[0].key);
    return k0 && is_scalar(k0) && !strcmp(sval(k0), "str");
}

/* `key: {str: TEXT}` (d["TEXT"]: a literal, the code object's constant):
 * TEXT's index in the scenario's constants, added once. */
static int parse_str_key(struct pctx *c, yaml_node_t *n, int *out)
{
    static const char *const names[] = {"str"};
    yaml_node_t *k[1], *v[1];
    if (get_fields(c, n, "key: {str: TEXT}", names, 1, k, v, NULL, 0, NULL))
        return -1;
    char *text;
    size_t len;
    if (get_text(c, v[0], "key: {str: TEXT}", &text, &len))
        return -1;
    struct gh_scenario *s = c->s;
    for (int i = 0; i < s->nconsts; i++)
        if (!strcmp(s->consts[i], text)) {
            free(text);
            *out = i;
            return 0;
        }
    s->consts = realloc(s->consts, (size_t)(s->nconsts + 1) * sizeof *s->consts);
    if (!s->consts)
        abort();
    s->consts[s->nconsts] = text;
    *out = s->nconsts++;
    return 0;
}

/* An `as`: a valid local name registered by collect_locals. */
static int parse_as(struct pctx *c, struct role_ctx *rc, yaml_node_t *as, int *slot)
{
    char b[64];
    if (!is_scalar(as) || has_nul(as) || !valid_ident(sval(as)))
        return err_node(c, as, "as: expected a local name (a letter or `_`, then "
                        "letters, digits or `_`, at most %d), found %s", GH_MAX_NAME,
                        desc(as, b, sizeof b));
    if (is_reserved(sval(as)))
        return err_node(c, as, "as: `%s` is a reserved word and cannot name a local",
                        sval(as));
    int g = find_global(c, sval(as));
    if (g >= 0)
        return err_node(c, as, "as: the local `%s` would shadow the global `%s` (set up "
                        "at %d:%d); pick another name", sval(as), sval(as),
                        c->s->globals[g].line, c->s->globals[g].column);
    int l = find_local(rc->r, sval(as));
    if (l < 0)   /* pass 1 registers every valid `as`; capped */
        return err_node(c, as, "as: too many locals in this role (at most %d)",
                        GH_MAX_LOCALS);
    *slot = l;
    return 0;
}

/* A text scalar (ASCII), copied. */
static int get_text(struct pctx *c, yaml_node_t *n, const char *what, char **out, size_t *len)
{
    char b[64];
    if (!is_scalar(n) || (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_null(n) &&
                          *sval(n)))
        return err_node(c, n, "%s: expected a text such as \"abc\", found %s", what,
                        desc(n, b, sizeof b));
    const unsigned char *t = (const unsigned char *)sval(n);
    size_t l = n->data.scalar.length;
    for (size_t i = 0; i < l; i++)
        if (t[i] >= 0x80 || !t[i])
            return err_node(c, n, "%s: the model has only ASCII text", what);
    *out = xcalloc(l + 1, 1);
    memcpy(*out, t, l);
    *len = l;
    return 0;
}

static int parse_expr_scalar(struct pctx *c, yaml_node_t *cn, const struct gh_role *r,
                             const char *what, char **text, struct gh_expr **expr);

/* `thresholds`: t0, or [t0], [t0, t1], [t0, t1, t2] (gc.set_threshold's
 * arguments; the thresholds not given keep their values). */
static int parse_thresholds(struct pctx *c, yaml_node_t *n, const char *what, int64_t out[3],
                            int *count)
{
    char b[64];
    if (n->type == YAML_SEQUENCE_NODE) {
        int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (k < 1 || k > 3)
            return err_node(c, n, "%s: expected 1 to 3 thresholds ([t0], [t0, t1] or "
                            "[t0, t1, t2]), found %d", what, k);
        for (int i = 0; i < k; i++)
            if (get_int(c, node_at(c, n->data.sequence.items.start[i]), what, 0,
                        GH_MAX_THRESHOLD, &out[i]))
                return -1;
        *count = k;
        return 0;
    }
    if (looks_int(n)) {
        *count = 1;
        return get_int(c, n, what, 0, GH_MAX_THRESHOLD, &out[0]);
    }
    return err_node(c, n, "%s: expected an integer (t0) or a list such as [700, 10, 10], "
                    "found %s", what, desc(n, b, sizeof b));
}

/* cycle.new's `cls`: a class global, or `object` (the plain class: -1). */
static int parse_cls(struct pctx *c, yaml_node_t *n, int *out)
{
    char b[64], b2[64];
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "cls: expected the name of a class from setup, found %s",
                        desc(n, b, sizeof b));
    const char *name = sval(n);
    if (!strcmp(name, "object")) {
        *out = -1;
        return 0;
    }
    int g = find_global(c, name);
    if (g >= 0 && c->s->globals[g].type == GH_NEW_CLASS) {
        *out = g;
        return 0;
    }
    if (g >= 0)
        return err_node(c, n, "cls: `%s` is %s (set up at %d:%d); expected a class from "
                        "setup (a global {type: class}) or object", clip(name, b, sizeof b),
                        newtype_articles[c->s->globals[g].type], c->s->globals[g].line,
                        c->s->globals[g].column);
    const char *near = closest_name(c, NULL, name);
    if (near)
        return err_node(c, n, "cls: undefined name `%s` (did you mean `%s`?); expected a "
                        "class from setup or object", clip(name, b, sizeof b),
                        clip(near, b2, sizeof b2));
    return err_node(c, n, "cls: undefined name `%s`; expected a class from setup (a global "
                    "{type: class}) or object", clip(name, b, sizeof b));
}

/* What a parse hook gets: the op's node, and its keys and values by
 * GH_K_* (NULL where absent). */
struct op_src {
    yaml_node_t *n;
    yaml_node_t *key[GH_K_COUNT], *val[GH_K_COUNT];
    const char *owner;        /* "a list.move op", for messages */
};

/* ---- the ops' own keys (the hooks GH_OPS names) ---- */

static int parse_op_new(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                        struct gh_op *op)
{
    yaml_node_t *const *val = o->val, *const *key = o->key;
    struct gh_global *g = op->spec = xcalloc(1, sizeof *op->spec);
    spec_defaults(g);
    g->line = op->line;
    g->column = op->column;
    g->type = GH_NEW_OBJECT;
    if (val[GH_K_TYPE] && parse_newtype(c, val[GH_K_TYPE], "type", false, c->s->nglobals,
                                        &g->type, &g->cls))
        return -1;
    op->type = g->type;
    yaml_node_t *sk[S_COUNT] = {0}, *sv[S_COUNT] = {0};
    sk[S_TYPE] = key[GH_K_TYPE], sv[S_TYPE] = val[GH_K_TYPE] ? val[GH_K_TYPE] : o->n;
    sk[S_ITEMS] = key[GH_K_ITEMS], sv[S_ITEMS] = val[GH_K_ITEMS];
    sk[S_VALUE] = key[GH_K_VALUE], sv[S_VALUE] = val[GH_K_VALUE];
    sk[S_CONST] = key[GH_K_CONST], sv[S_CONST] = val[GH_K_CONST];
    sk[S_DEF] = key[GH_K_DEF], sv[S_DEF] = val[GH_K_DEF];
    if (parse_spec(c, g, sk, sv, rc->r, c->s->nglobals, "new"))
        return -1;
    struct local_info *li = &rc->linfo[op->as];
    if (li->type != GH_NEW_ANY && li->type != op->type)
        return err_node(c, val[GH_K_TYPE] ? val[GH_K_TYPE] : o->n, "the local `%s` is bound "
                        "to %s by the `new` at %d:%d; a local keeps one type",
                        sval(val[GH_K_AS]), newtype_articles[li->type], li->line, li->column);
    op->on.local = true;   /* `new` binds it */
    op->on.slot = op->as;
    return 0;
}

static int parse_op_list_move(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                              struct gh_op *op)
{
    yaml_node_t *from = o->val[GH_K_FROM];
    if (!from)
        return err_node(c, o->n, "missing `from` in %s (the list to pop the item from)",
                        o->owner);
    if (parse_target(c, rc, from, op->kind, "from", GH_NEED_LIST, &op->from))
        return -1;
    if (op->from.local == op->on.local && op->from.slot == op->on.slot)
        return err_node(c, from, "list.move: `from` and `on` name the same list `%s`; a "
                        "move needs two lists", sval(from));
    return 0;
}

static int parse_op_trace_compare(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                                  struct gh_op *op)
{
    if (!o->val[GH_K_FROM])
        return err_node(c, o->n, "missing `from` in %s (the older snapshot)", o->owner);
    if (parse_target(c, rc, o->val[GH_K_FROM], op->kind, "from", GH_NEED_SNAPSHOT, &op->from))
        return -1;
    if (o->val[GH_K_TO] &&
        parse_target(c, rc, o->val[GH_K_TO], op->kind, "to", GH_NEED_SNAPSHOT, &op->on))
        return -1;
    return 0;
}

static int parse_op_str_concat(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                               struct gh_op *op)
{
    (void)rc;
    if (!o->val[GH_K_VALUE])
        return err_node(c, o->n, "missing `value` in %s (the text to append)", o->owner);
    return get_text(c, o->val[GH_K_VALUE], "value", &op->name, &op->name_len);
}

static int parse_op_global_add(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                               struct gh_op *op)
{
    (void)rc;
    char b[64];
    yaml_node_t *value = o->val[GH_K_VALUE], *via = o->val[GH_K_VIA];
    op->value = (struct gh_value){.kind = GH_VAL_INT_LIT, .slot = -1, .range = 1};
    if (value && (!looks_int(value) ||
                  get_int(c, value, "value", -1000000000, 1000000000, &op->value.range)))
        return c->failed ? -1 : err_node(c, value, "value: expected the integer to add "
                                         "(default 1), found %s", desc(value, b, sizeof b));
    if (parse_via(c, via, &op->via_call))
        return -1;
    struct gh_global *g = &c->s->globals[op->on.slot];
    int want = 1 + op->via_call;
    if (g->counter && g->counter != want)
        return err_node(c, via ? via : o->n, "global.add on `%s` is `via: %s` here but "
                        "`via: %s` at %d:%d; a counter is updated one way, so its lost "
                        "updates have one cause", g->name, op->via_call ? "call" : "inline",
                        op->via_call ? "inline" : "call", g->counter_line, g->counter_column);
    if (!g->counter) {
        g->counter = want;
        g->counter_line = op->line;
        g->counter_column = op->column;
    }
    return 0;
}

/* is, eq: `a` (into op->value) and `b`, and an optional label. */
static int parse_op_compare(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                            struct gh_op *op)
{
    yaml_node_t *const *val = o->val;
    if (!val[GH_K_A] || !val[GH_K_B])
        return err_node(c, o->n, "missing `%s` in %s (%s compares `a` with `b`)",
                        val[GH_K_A] ? "b" : "a", o->owner, gh_op_names[op->kind]);
    if (parse_value(c, val[GH_K_A], rc->r, c->s->nglobals, &op->value) ||
        parse_value(c, val[GH_K_B], rc->r, c->s->nglobals, &op->b))
        return -1;
    if (val[GH_K_LABEL] && get_text(c, val[GH_K_LABEL], "label", &op->name, &op->name_len))
        return -1;
    return 0;
}

/* attr.set, attr.get: the attribute's `name`. */
static int parse_op_attr(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                         struct gh_op *op)
{
    (void)rc;
    char b[64];
    yaml_node_t *name = o->val[GH_K_NAME];
    if (!name)
        return err_node(c, o->n, "missing `name` in %s (the attribute's name)", o->owner);
    if (!is_scalar(name) || has_nul(name) || !valid_ident(sval(name)))
        return err_node(c, name, "name: expected an attribute name (a letter or `_`, then "
                        "letters, digits or `_`), found %s", desc(name, b, sizeof b));
    op->name = xstrdup(sval(name));
    op->name_len = strlen(op->name);
    return 0;
}

/* show, assert: `expr`. */
static int parse_op_show(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                         struct gh_op *op)
{
    if (!o->val[GH_K_EXPR])
        return err_node(c, o->n, "missing `expr` in %s (an expression such as "
                        "getrefcount(a))", o->owner);
    return parse_expr_scalar(c, o->val[GH_K_EXPR], rc->r, "expr", &op->text, &op->expr);
}

static int parse_op_set_threshold(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                                  struct gh_op *op)
{
    (void)rc;
    if (!o->val[GH_K_THRESHOLDS])
        return err_node(c, o->n, "missing `thresholds` in %s (t0, or a list such as "
                        "[700, 10, 10])", o->owner);
    return parse_thresholds(c, o->val[GH_K_THRESHOLDS], "thresholds", op->thresholds,
                            &op->nthresholds);
}

/* gc.dot: `path` (into op->name). */
static int parse_op_gc_dot(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                           struct gh_op *op)
{
    (void)rc;
    yaml_node_t *path = o->val[GH_K_PATH];
    if (!path)
        return err_node(c, o->n, "missing `path` in %s (the file to write the graph to, or "
                        "- for the run's output)", o->owner);
    if (get_text(c, path, "path", &op->name, &op->name_len))
        return -1;
    if (op->name_len == 0)
        return err_node(c, path, "path: expected a file name, or - for the run's output");
    return 0;
}

typedef int op_hook(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                    struct gh_op *op);
static op_hook *const op_hooks[GH_OP_COUNT] = {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc) [GH_OP_##e] = parse,
    GH_OPS(GH_X_)
#undef GH_X_
};

/* ---- the keys every op reads the same way ---- */

static int parse_op_common(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                           struct gh_op *op)
{
    yaml_node_t *const *val = o->val, *const *key = o->key;
    const struct gh_op_rule *rule = &gh_op_rules[op->kind];
    char b[64];
    int64_t v;
    if (!(rule->flags & GH_OPF_OWN_VALUE)) {
        if (val[GH_K_VALUE]) {
            op->has_value = true;
            if (parse_value(c, val[GH_K_VALUE], rc->r, c->s->nglobals, &op->value))
                return -1;
        } else if (rule->flags & GH_OPF_NEEDS_VALUE) {
            return err_node(c, o->n, "missing `value` in %s (none, true, false, object, int, "
                            "small-int, list, dict, an integer or a name)", o->owner);
        }
    }
    if (val[GH_K_RANGE]) {
        if (op->value.kind != GH_VAL_INT)
            return err_node(c, key[GH_K_RANGE], "`range` applies only to `value: int`");
        if (get_int(c, val[GH_K_RANGE], "range", 1, INT64_MAX, &op->value.range))
            return -1;
    }
    if (val[GH_K_CALLBACK]) {
        yaml_node_t *cb = val[GH_K_CALLBACK];
        if (is_scalar(cb) && !strcmp(sval(cb), "count"))
            op->callback = true;
        else if (!(is_scalar(cb) && !strcmp(sval(cb), "none")))
            return err_node(c, cb, "callback: expected count (a callback that counts its "
                            "calls, read with callbacks()) or none, found %s",
                            desc(cb, b, sizeof b));
    }
    if (val[GH_K_TOP]) {
        if (get_int(c, val[GH_K_TOP], "top", 1, 1000, &v))
            return -1;
        op->top = (int)v;
    }

    if (val[GH_K_KEY] && is_str_key(c, val[GH_K_KEY])) {
        if (parse_str_key(c, val[GH_K_KEY], &op->key_const))
            return -1;
        op->key.random = false;
    } else if (val[GH_K_KEY] && parse_intarg(c, val[GH_K_KEY], "key", INT64_MIN, &op->key)) {
        return -1;
    }
    if (op->key.random)
        op->key.range = 1000;
    if (val[GH_K_KEYS]) {
        if (!op->key.random)
            return err_node(c, key[GH_K_KEYS], "`keys` applies only to `key: random` (the "
                            "range random keys are drawn from)");
        if (get_int(c, val[GH_K_KEYS], "keys", 1, INT64_MAX, &op->key.range))
            return -1;
    }
    if (val[GH_K_INDEX] && parse_intarg(c, val[GH_K_INDEX], "index", 0, &op->index))
        return -1;
    if (op->index.random)
        op->index.range = 0;

    if (val[GH_K_ITERS]) {
        if (get_int(c, val[GH_K_ITERS], "iters", 1, INT64_C(1000000000000), &v))
            return -1;
        op->iters = (uint64_t)v;
    }
    if (val[GH_K_US]) {
        if (get_int(c, val[GH_K_US], "us", 0, 60000000, &v))
            return -1;
        op->io_ns = (uint64_t)v * 1000;
    }
    if (val[GH_K_WEIGHT]) {
        if (get_int(c, val[GH_K_WEIGHT], "weight", 1, 1000000, &v))
            return -1;
        op->weight = (uint32_t)v;
    }
    if (val[GH_K_GENERATION]) {
        if (get_int(c, val[GH_K_GENERATION], "generation", 0, GH_GC_OLDEST, &v))
            return -1;
        op->generation = (int)v;
    }
    if (val[GH_K_SIZE]) {
        if (get_int(c, val[GH_K_SIZE], "size", 1, GH_MAX_RING, &v))
            return -1;
        op->size = (int)v;
    }
    if (val[GH_K_CLS] && parse_cls(c, val[GH_K_CLS], &op->cls))
        return -1;
    if (val[GH_K_DEPTH]) {
        if (get_int(c, val[GH_K_DEPTH], "depth", 0, GH_MAX_DOT_DEPTH, &v))
            return -1;
        op->depth = (int)v;
    }
    return 0;
}

/* ---- an op ---- */

/* The `op` key decides which other keys are allowed: found first. */
static int parse_op_kind(struct pctx *c, yaml_node_t *n, enum gh_op_kind *out)
{
    char b[64], list[1024];
    yaml_node_t *opnode = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        if (is_scalar(k) && !strcmp(sval(k), "op") && !has_nul(k)) {
            opnode = node_at(c, p->value);
            break;
        }
    }
    if (!opnode)
        return err_node(c, n, "missing `op` in this op (one of the op names, e.g. list.append)");
    if (!is_scalar(opnode) || is_null(opnode) || has_nul(opnode))
        return err_node(c, opnode, "op: expected an op name, found %s",
                        desc(opnode, b, sizeof b));
    *out = gh_op_from_name(sval(opnode));
    if (*out != GH_OP_COUNT)
        return 0;
    join(list, sizeof list, gh_op_names, GH_OP_COUNT);
    const char *near = closest(sval(opnode), gh_op_names, GH_OP_COUNT);
    if (near)
        return err_node(c, opnode, "unknown op `%s` (did you mean `%s`?); expected one of: %s",
                        clip(sval(opnode), b, sizeof b), near, list);
    return err_node(c, opnode, "unknown op `%s`; expected one of: %s",
                    clip(sval(opnode), b, sizeof b), list);
}

/* The op's keys, checked against its row's. */
static int parse_op_keys(struct pctx *c, yaml_node_t *n, enum gh_op_kind kind,
                         enum op_place place, struct op_src *o)
{
    unsigned allowed = gh_op_rules[kind].keys | (place == IN_MIX ? GH_KBIT_WEIGHT : 0);
    const char *names[GH_K_COUNT], *others[GH_K_COUNT];
    int map[GH_K_COUNT], nn = 0, no = 0;
    for (int i = 0; i < GH_K_COUNT; i++) {
        if (allowed & (1u << i)) {
            map[nn] = i;
            names[nn++] = gh_op_key_names[i];
        } else {
            others[no++] = gh_op_key_names[i];
        }
    }
    /* `weight` outside a mix gets its own message. */
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        if (place != IN_MIX && is_scalar(k) && !strcmp(sval(k), "weight"))
            return err_node(c, k, "`weight` applies only to ops in a `mix`; %s runs its ops "
                            "in order", place == IN_SCRIPT ? "a script"
                            : place == IN_INIT ? "`init`" : "`after`");
    }
    char elsewhere[128];
    snprintf(elsewhere, sizeof elsewhere, "does not apply to %s", gh_op_names[kind]);
    yaml_node_t *keys_[GH_K_COUNT], *vals_[GH_K_COUNT];
    if (get_fields(c, n, o->owner, names, nn, keys_, vals_, others, no, elsewhere))
        return -1;
    for (int i = 0; i < nn; i++) {
        o->key[map[i]] = keys_[i];
        o->val[map[i]] = vals_[i];
    }
    return 0;
}

/* An op, driven by its row of GH_OPS: the keys it allows, what its `on`
 * must be, its flags, then its hook and the common keys. */
static int parse_op(struct pctx *c, struct role_ctx *rc, yaml_node_t *n,
                    enum op_place place, struct gh_op *op)
{
    char b[64], owner[64];
    memset(op, 0, sizeof *op);
    op->line = (int)n->start_mark.line + 1;
    op->column = (int)n->start_mark.column + 1;
    op->on.slot = op->from.slot = -1;
    op->value.slot = op->b.slot = -1;
    op->as = -1;
    if (n->type != YAML_MAPPING_NODE)
        return err_node(c, n, "expected an op, a mapping such as {op: list.append, on: L, "
                        "value: object}, found %s", desc(n, b, sizeof b));
    if (parse_op_kind(c, n, &op->kind))
        return -1;
    const struct gh_op_rule *rule = &gh_op_rules[op->kind];
    struct op_src o = {.n = n, .owner = owner};
    snprintf(owner, sizeof owner, "a %s op", rule->name);
    if (parse_op_keys(c, n, op->kind, place, &o))
        return -1;

    /* Defaults. */
    op->type = GH_NEW_OBJECT;
    op->key = (struct gh_intarg){.random = true, .range = 1000};
    op->key_const = -1;
    op->index = (struct gh_intarg){.random = true, .range = 0};
    op->iters = 1000;
    op->io_ns = 100 * 1000;
    op->weight = 1;
    op->generation = GH_GC_OLDEST;
    op->size = 2;
    op->cls = -1;
    op->depth = 3;
    op->top = 5;
    if (rule->flags & GH_OPF_TRACES)
        c->s->tracing = true;
    if (rule->flags & GH_OPF_FREEZES)
        c->s->gc_freezes = true;

    yaml_node_t *on = o.val[GH_K_ON];
    if (rule->on != GH_NEED_NONE && !(rule->flags & GH_OPF_ON_OPTIONAL) && !on)
        return err_node(c, n, "missing `on` in %s (%s)", owner,
                        rule->hint ? rule->hint : "the object it works on");
    if (on && parse_target(c, rc, on, op->kind, "on", rule->on, &op->on))
        return -1;
    op->loads_on = on && (rule->flags & GH_OPF_LOADS_ON);
    if (op_binds(op->kind)) {
        if (!o.val[GH_K_AS] && (rule->flags & GH_OPF_NEEDS_AS))
            return err_node(c, n, "missing `as` in %s (the local name to bind)", owner);
        if (o.val[GH_K_AS] && parse_as(c, rc, o.val[GH_K_AS], &op->as))
            return -1;
    }
    if (op_hooks[op->kind] && op_hooks[op->kind](c, rc, &o, op))
        return -1;
    return parse_op_common(c, rc, &o, op);
}

/* ---- roles ------------------------------------------------------------- */

/* The counter a value or target reads, or NULL. */
static const struct gh_global *counter_read(const struct gh_scenario *s, bool local, int slot)
{
    return !local && slot >= 0 && s->globals[slot].counter ? &s->globals[slot] : NULL;
}

static const struct gh_global *value_counter(const struct gh_scenario *s,
                                             const struct gh_value *v)
{
    return v->kind == GH_VAL_GLOBAL ? counter_read(s, false, v->slot) : NULL;
}

/* A counter (a global that global.add rebinds) has no other reader among
 * the ops: they read globals without the namespace's lock, which only
 * holds while a global is bound once, in setup. Checks read it after the
 * run. */
static int check_counter_readers(struct pctx *c)
{
    const struct gh_scenario *s = c->s;
    for (int r = 0; r < s->nroles; r++) {
        const struct gh_role *role = &s->roles[r];
        const struct gh_op *lists[3] = {role->ops, role->init, role->after};
        int counts[3] = {role->nops, role->ninit, role->nafter};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < counts[l]; i++) {
                const struct gh_op *op = &lists[l][i];
                if (op->kind == GH_OP_GLOBAL_ADD)
                    continue;
                const struct gh_global *g = counter_read(s, op->on.local, op->on.slot);
                if (!g)
                    g = counter_read(s, op->from.local, op->from.slot);
                if (!g)
                    g = value_counter(s, &op->value);
                if (!g)
                    g = value_counter(s, &op->b);
                for (int e = 0; !g && op->spec && e < op->spec->nelems; e++)
                    g = value_counter(s, &op->spec->elems[e]);
                if (!g && op->spec)
                    g = value_counter(s, &op->spec->value);
                if (g)
                    return err_at(c, op->line, op->column, "%s reads `%s`, a counter that "
                                  "global.add rebinds (at %d:%d); only global.add and the "
                                  "checks may read a counter", gh_op_names[op->kind],
                                  g->name, g->counter_line, g->counter_column);
            }
    }
    return 0;
}

struct role_src {
    yaml_node_t *node;        /* the role mapping, or the top level */
    yaml_node_t *name, *threads, *mix, *script, *init, *after;
    yaml_node_t *mix_key, *script_key;
};

/* The type a binding op gives its `as` (pass 1; a bad `type` or `cls` is
 * reported in pass 2). */
static enum gh_newtype binding_type(struct pctx *c, enum gh_op_kind k, yaml_node_t *typev,
                                    yaml_node_t *clsv)
{
    if (k == GH_OP_CYCLE_NEW) {
        int g = is_scalar(clsv) ? find_global(c, sval(clsv)) : -1;
        return g >= 0 && c->s->globals[g].type == GH_NEW_CLASS ? GH_NEW_INSTANCE
                                                               : GH_NEW_OBJECT;
    }
    if (k == GH_OP_GC_COLLECT)
        return GH_NEW_INT;
    if (k == GH_OP_WEAKREF_NEW)
        return GH_NEW_WEAKREF;
    if (k == GH_OP_TRACE_SNAPSHOT)
        return GH_NEW_SNAPSHOT;
    if (k != GH_OP_NEW)
        return GH_NEW_ANY;
    if (!is_scalar(typev))
        return GH_NEW_OBJECT;
    for (int i = 0; i <= GH_NEW_FUNCTION; i++)
        if (!strcmp(sval(typev), newtype_names[i]))
            return (enum gh_newtype)i;
    int g = find_global(c, sval(typev));
    if (g >= 0 && c->s->globals[g].type == GH_NEW_CLASS)
        return GH_NEW_INSTANCE;
    return GH_NEW_OBJECT;
}

/* Pass 1: every `as` of a binding op in the role's op lists becomes a local,
 * so ops may name locals bound later (a local is None until bound). Its
 * type is that of its first binding; a local bound by different kinds of
 * op is of any type (the ops on it check at run time). Bad entries are
 * skipped here and reported by parse_op in pass 2. */
static void collect_locals(struct pctx *c, struct role_ctx *rc, yaml_node_t *seq)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return;
    struct gh_role *r = rc->r;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        yaml_node_t *n = node_at(c, *it);
        if (n->type != YAML_MAPPING_NODE)
            continue;
        yaml_node_t *opv = NULL, *asv = NULL, *typev = NULL, *clsv = NULL;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node_at(c, p->key);
            if (!is_scalar(k))
                continue;
            if (!strcmp(sval(k), "op") && !opv)
                opv = node_at(c, p->value);
            else if (!strcmp(sval(k), "as") && !asv)
                asv = node_at(c, p->value);
            else if (!strcmp(sval(k), "type") && !typev)
                typev = node_at(c, p->value);
            else if (!strcmp(sval(k), "cls") && !clsv)
                clsv = node_at(c, p->value);
        }
        if (!is_scalar(opv) || !is_scalar(asv) || has_nul(asv))
            continue;
        enum gh_op_kind k = gh_op_from_name(sval(opv));
        if (k == GH_OP_COUNT || !op_binds(k))
            continue;
        const char *name = sval(asv);
        if (!valid_ident(name) || is_reserved(name) || find_global(c, name) >= 0)
            continue;
        enum gh_newtype t = binding_type(c, k, typev, clsv);
        int l = find_local(r, name);
        if (l >= 0) {
            struct local_info *li = &rc->linfo[l];
            if ((k != GH_OP_NEW || !li->by_new) && li->type != t)
                li->type = GH_NEW_ANY;
            li->by_new = li->by_new && k == GH_OP_NEW;
            continue;
        }
        if (r->nlocals >= GH_MAX_LOCALS)
            continue;
        rc->linfo[r->nlocals] = (struct local_info){
            .type = t, .by_new = k == GH_OP_NEW, .line = (int)n->start_mark.line + 1,
            .column = (int)n->start_mark.column + 1,
        };
        r->locals[r->nlocals++] = xstrdup(name);
    }
}

static int parse_oplist(struct pctx *c, struct role_ctx *rc, yaml_node_t *seq,
                        const char *what, enum op_place place, struct gh_op **ops, int *nops)
{
    char b[64];
    if (seq->type != YAML_SEQUENCE_NODE)
        return err_node(c, seq, "%s: expected a sequence of ops, found %s", what,
                        desc(seq, b, sizeof b));
    int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0 && place != IN_INIT && place != IN_AFTER)
        return err_node(c, seq, "empty %s: expected at least one op", what);
    if ((c->total_ops += n) > GH_MAX_OPS_TOTAL)
        return err_node(c, seq, "%s: too many ops in all roles together (at most %d; an op "
                        "reached through a YAML alias counts each time)", what,
                        GH_MAX_OPS_TOTAL);
    *ops = xcalloc((size_t)n, sizeof **ops);
    *nops = n;
    for (int i = 0; i < n; i++)
        if (parse_op(c, rc, node_at(c, seq->data.sequence.items.start[i]), place, &(*ops)[i]))
            return -1;
    return 0;
}

static int parse_role(struct pctx *c, const struct role_src *src, struct gh_role *r,
                      const char *default_name)
{
    char b[64];
    const char *name = default_name;
    if (src->name && get_str(c, src->name, "name", &name))
        return -1;
    if (src->name && !valid_label(name))
        return err_node(c, src->name, "role name: expected letters, digits, `.`, `_` or `-` "
                        "(at most %d), found %s", GH_MAX_NAME, desc(src->name, b, sizeof b));
    r->name = xstrdup(name);
    if (src->threads) {
        int64_t v;
        if (get_int(c, src->threads, "threads", 1, GH_MAX_THREADS, &v))
            return -1;
        r->threads = (int)v;
    }
    if (src->mix && src->script)
        return err_node(c, src->mix_key->start_mark.index > src->script_key->start_mark.index
                               ? src->mix_key : src->script_key,
                        "role `%s`: give either `mix` or `script`, not both", r->name);
    if (!src->mix && !src->script)
        return err_node(c, src->node, "role `%s`: expected a `mix` (ops picked at random by "
                        "weight) or a `script` (ops run in order, looped)", r->name);

    struct role_ctx rc = {.r = r, .linfo = xcalloc(GH_MAX_LOCALS, sizeof *rc.linfo)};
    r->locals = xcalloc(GH_MAX_LOCALS, sizeof *r->locals);
    collect_locals(c, &rc, src->init);
    collect_locals(c, &rc, src->mix ? src->mix : src->script);
    collect_locals(c, &rc, src->after);
    r->local_types = xcalloc(GH_MAX_LOCALS, sizeof *r->local_types);
    for (int i = 0; i < r->nlocals; i++)
        r->local_types[i] = rc.linfo[i].type;

    int ret = -1;
    if (src->init && !is_null(src->init) &&
        parse_oplist(c, &rc, src->init, "init", IN_INIT, &r->init, &r->ninit))
        goto out;
    r->script = src->script != NULL;
    if (parse_oplist(c, &rc, r->script ? src->script : src->mix, r->script ? "script" : "mix",
                     r->script ? IN_SCRIPT : IN_MIX, &r->ops, &r->nops))
        goto out;
    if (src->after && !is_null(src->after) &&
        parse_oplist(c, &rc, src->after, "after", IN_AFTER, &r->after, &r->nafter))
        goto out;
    r->total_weight = 0;
    for (int i = 0; i < r->nops; i++)
        r->total_weight += r->script ? 0 : r->ops[i].weight;
    ret = 0;
out:
    free(rc.linfo);
    return ret;
}

static int parse_roles(struct pctx *c, yaml_node_t *roles)
{
    char b[64];
    struct gh_scenario *s = c->s;
    if (roles->type != YAML_SEQUENCE_NODE)
        return err_node(c, roles, "roles: expected a sequence of roles, found %s",
                        desc(roles, b, sizeof b));
    int n = (int)(roles->data.sequence.items.top - roles->data.sequence.items.start);
    if (n == 0)
        return err_node(c, roles, "roles: expected at least one role");
    if (n > GH_MAX_THREADS)
        return err_node(c, roles, "roles: too many roles (at most %d)", GH_MAX_THREADS);
    s->roles = xcalloc((size_t)n, sizeof *s->roles);
    s->nroles = n;
    static const char *const names[] = {"name", "threads", "mix", "script", "init", "after"};
    int rest = -1;
    for (int i = 0; i < n; i++) {
        yaml_node_t *rn = node_at(c, roles->data.sequence.items.start[i]);
        yaml_node_t *keys[6], *vals[6];
        if (rn->type != YAML_MAPPING_NODE)
            return err_node(c, rn, "roles: expected a role, a mapping with name, threads and "
                            "mix or script, found %s", desc(rn, b, sizeof b));
        if (get_fields(c, rn, "a role", names, 6, keys, vals, NULL, 0, NULL))
            return -1;
        if (!vals[0])
            return err_node(c, rn, "missing `name` in this role");
        struct role_src src = {
            .node = rn, .name = vals[0], .threads = vals[1], .mix = vals[2],
            .script = vals[3], .init = vals[4], .after = vals[5], .mix_key = keys[2],
            .script_key = keys[3],
        };
        if (parse_role(c, &src, &s->roles[i], NULL))
            return -1;
        for (int j = 0; j < i; j++)
            if (!strcmp(s->roles[j].name, s->roles[i].name))
                return err_node(c, vals[0], "duplicate role name `%s` (roles[%d] has it too)",
                                s->roles[i].name, j);
        if (!vals[1]) {
            if (rest >= 0)
                return err_node(c, rn, "roles `%s` and `%s` both leave out `threads`; at "
                                "most one role may take the rest of the threads",
                                s->roles[rest].name, s->roles[i].name);
            rest = i;
        }
    }
    return 0;
}

/* ---- threads ----------------------------------------------------------- */

/* Fixed thread total, the role without a count (or -1), and "writer 1, reader 2". */
static int roles_fixed(const struct gh_scenario *s, int *rest, char *buf, size_t len)
{
    int fixed = 0;
    size_t o = 0;
    *rest = -1;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < s->nroles; i++) {
        if (s->roles[i].threads == 0) {
            *rest = i;
            continue;
        }
        fixed += s->roles[i].threads;
        if (o < len)
            o += (size_t)snprintf(buf + o, len - o, "%s%s %d", o ? ", " : "",
                                  s->roles[i].name, s->roles[i].threads);
    }
    return fixed;
}

int gh_scenario_assign_threads(struct gh_scenario *s, int total, struct gh_diag *diag)
{
    struct gh_diag dummy;
    if (!diag)
        diag = &dummy;
    char list[512];
    int rest;
    int fixed = roles_fixed(s, &rest, list, sizeof list);
    if (total < 1) {
        snprintf(diag->msg, sizeof diag->msg, "--threads %d: expected at least 1", total);
        return -1;
    }
    if (rest >= 0 && total < fixed + 1) {
        snprintf(diag->msg, sizeof diag->msg, "--threads %d: the roles need at least %d "
                 "threads (%s, and 1 or more for `%s`)", total, fixed + 1, list,
                 s->roles[rest].name);
        return -1;
    }
    if (rest < 0 && total != fixed) {
        snprintf(diag->msg, sizeof diag->msg, "--threads %d: the roles fix the thread count "
                 "at %d (%s) and none takes the rest", total, fixed, list);
        return -1;
    }
    for (int i = 0; i < s->nroles; i++)
        s->roles[i].nthreads = i == rest ? total - fixed : s->roles[i].threads;
    return 0;
}

/* ---- checks ------------------------------------------------------------ */

/* Maps a byte offset in a check's text to its line and column in the file:
 * exact for a scalar on one line (plain, 'single' or "double" quoted),
 * else the scalar's start. */
struct checkpos {
    struct pctx *c;
    yaml_node_t *n;
    const char *src;          /* the scalar's first byte in the file, or NULL */
    bool exact;
};

static size_t utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static void check_pos(void *ctx, size_t off, int *line, int *column)
{
    struct checkpos *cp = ctx;
    yaml_node_t *n = cp->n;
    *line = (int)n->start_mark.line + 1;
    *column = (int)n->start_mark.column + 1;
    if (!cp->exact)
        return;
    const unsigned char *v = (const unsigned char *)sval(n);
    yaml_scalar_style_t st = n->data.scalar.style;
    int col = *column;
    if (st == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < off && v[i]; i++)
            col += (v[i] & 0xc0) != 0x80;    /* count characters, as libyaml does */
        *column = col;
        return;
    }
    /* Quoted: walk the source and the value together. */
    const unsigned char *s = (const unsigned char *)cp->src + 1;
    const unsigned char *end = (const unsigned char *)cp->c->text + cp->c->len;
    col++;                                   /* the opening quote */
    size_t i = 0;
    while (i < off && v[i] && s < end) {
        if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE && *s == '\'') {
            s += 2;                          /* '' is one ' */
            i += 1;
            col += 2;
            continue;
        }
        if (st == YAML_DOUBLE_QUOTED_SCALAR_STYLE && *s == '\\' && s + 1 < end) {
            size_t slen = 2, vlen = 1;
            unsigned char e = s[1];
            int hex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
            if (hex) {
                uint32_t code = 0;
                for (int h = 0; h < hex && s + 2 + h < end; h++) {
                    unsigned char d = s[2 + h];
                    code = code * 16 + (uint32_t)(d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
                }
                slen = 2 + (size_t)hex;
                vlen = utf8_len(code);
            } else if (e == 'N' || e == '_') {
                vlen = 2;
            } else if (e == 'L' || e == 'P') {
                vlen = 3;
            }
            s += slen;
            col += (int)slen;
            i += vlen;
            continue;
        }
        /* One character: the same bytes in source and value. */
        s++;
        i++;
        while (i < off && (v[i] & 0xc0) == 0x80) {
            s++;
            i++;
        }
        col++;
    }
    *column = col;
}

/* Whether e reads len(gc.garbage) (the runner then makes the list before
 * the threads start, so that reading it never races with making it). */
static bool expr_reads_garbage(const struct gh_expr *e)
{
    if (!e)
        return false;
    if (e->kind == GH_EX_GC && e->ival == GH_GCR_GARBAGE_LEN)
        return true;
    return expr_reads_garbage(e->l) || expr_reads_garbage(e->r);
}

/* An expression scalar (a check, or `expr` of show / assert), parsed with
 * the names of role r (NULL: globals only); *text gets a copy. Errors carry
 * the position inside the scalar when it is on one line. */
static int parse_expr_scalar(struct pctx *c, yaml_node_t *cn, const struct gh_role *r,
                             const char *what, char **text, struct gh_expr **expr)
{
    char b[64];
    if (!is_scalar(cn))
        return err_node(c, cn, "%s: expected an expression such as "
                        "len(L) == count(list.append), found %s", what, desc(cn, b, sizeof b));
    const char *bad = r ? "bad expression" : "bad check";
    if (has_nul(cn))
        return err_node(c, cn, "%s: it contains a NUL character", bad);
    *text = xstrdup(sval(cn));
    struct checkpos cp = {.c = c, .n = cn};
    yaml_scalar_style_t st = cn->data.scalar.style;
    if (cn->start_mark.line == cn->end_mark.line &&
        (st == YAML_PLAIN_SCALAR_STYLE || st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         st == YAML_DOUBLE_QUOTED_SCALAR_STYLE)) {
        cp.exact = true;
        if (st != YAML_PLAIN_SCALAR_STYLE) {
            /* The mark's index counts characters; find its byte. */
            size_t chars = 0, j = 0;
            if (c->len >= 3 && !memcmp(c->text, "\xef\xbb\xbf", 3))
                j = 3;                   /* libyaml does not count a BOM */
            for (; j < c->len && chars < cn->start_mark.index; j++)
                chars += ((unsigned char)c->text[j] & 0xc0) != 0x80;
            while (j < c->len && ((unsigned char)c->text[j] & 0xc0) == 0x80)
                j++;
            char q = st == YAML_SINGLE_QUOTED_SCALAR_STYLE ? '\'' : '"';
            if (j < c->len && c->text[j] == q)
                cp.src = c->text + j;
            else
                cp.exact = false;        /* not UTF-8 input: stay at the start */
        }
    }
    size_t off = 0;
    char msg[512];
    *expr = gh__expr_parse_params(*text, c->s->globals, c->s->nglobals, r, c->s->params,
                                  c->s->nparams, check_pos, &cp, &off, msg, sizeof msg);
    if (*expr && expr_reads_garbage(*expr))
        c->s->reads_gc_garbage = true;
    if (!*expr) {
        int line, col;
        check_pos(&cp, off, &line, &col);
        if (cp.exact)
            return err_at(c, line, col, "%s: %s", bad, msg);
        return err_at(c, line, col, "%s (at character %zu of it): %s", bad, off + 1, msg);
    }
    return 0;
}

static int parse_checks(struct pctx *c, yaml_node_t *n)
{
    char b[64];
    struct gh_scenario *s = c->s;
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return err_node(c, n, "checks: expected a sequence of expressions, found %s",
                        desc(n, b, sizeof b));
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > GH_MAX_CHECKS)
        return err_node(c, n, "checks: too many checks (at most %d)", GH_MAX_CHECKS);
    s->checks = xcalloc((size_t)count, sizeof *s->checks);
    s->nchecks = count;
    for (int i = 0; i < count; i++) {
        yaml_node_t *cn = node_at(c, n->data.sequence.items.start[i]);
        struct gh_check *ck = &s->checks[i];
        ck->line = (int)cn->start_mark.line + 1;
        ck->column = (int)cn->start_mark.column + 1;
        if (parse_expr_scalar(c, cn, NULL, "checks", &ck->text, &ck->expr))
            return -1;
    }
    return 0;
}

/* ---- the top level ----------------------------------------------------- */

enum top_key {
    T_NAME, T_ABOUT, T_THREADS, T_DURATION, T_OPS, T_SEED, T_SETUP, T_ROLES, T_MIX,
    T_SCRIPT, T_INIT, T_AFTER, T_CHECKS, T_EXPECT, T_PARAMS, T_GC, T_COUNT
};

static const char *const top_names[T_COUNT] = {
    "name", "about", "threads", "duration", "ops", "seed", "setup", "roles", "mix",
    "script", "init", "after", "checks", "expect", "params", "gc",
};

/* `params`: NAME: INTEGER, in file order; then the --param overrides. */
static int parse_params(struct pctx *c, yaml_node_t *key, yaml_node_t *n, yaml_node_t *root)
{
    char b[64], b2[64], list[512];
    struct gh_scenario *s = c->s;
    if (n && !is_null(n)) {
        if (n->type != YAML_MAPPING_NODE)
            return err_node(c, n, "params: expected a mapping of names to integers, such as "
                            "{N: 10000}, found %s", desc(n, b, sizeof b));
        int count = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
        if (count > GH_MAX_PARAMS) {
            yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[GH_MAX_PARAMS].key);
            return err_node(c, k, "params: too many parameters (at most %d)", GH_MAX_PARAMS);
        }
        s->params = xcalloc((size_t)count, sizeof *s->params);
        for (int i = 0; i < count; i++) {
            yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[i].key);
            yaml_node_t *v = node_at(c, n->data.mapping.pairs.start[i].value);
            if (!is_scalar(k) || has_nul(k) || !valid_ident(sval(k)))
                return err_node(c, k, "params: expected a parameter name (a letter or `_`, "
                                "then letters, digits or `_`, at most %d), found %s",
                                GH_MAX_NAME, is_scalar(k) ? desc(k, b, sizeof b)
                                                          : "a collection");
            for (int j = 0; j < i; j++)
                if (!strcmp(s->params[j].name, sval(k)))
                    return err_node(c, k, "duplicate key `%s` in params (first given at "
                                    "%d:%d)", clip(sval(k), b2, sizeof b2),
                                    s->params[j].line, s->params[j].column);
            struct gh_param *pp = &s->params[i];
            pp->name = xstrdup(sval(k));
            pp->line = (int)k->start_mark.line + 1;
            pp->column = (int)k->start_mark.column + 1;
            s->nparams = i + 1;
            char what[96];
            snprintf(what, sizeof what, "params: %s", pp->name);
            if (get_int(c, v, what, INT64_MIN, INT64_MAX, &pp->value))
                return -1;
        }
    }
    size_t o = 0;
    list[0] = 0;
    for (int i = 0; i < s->nparams && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                              s->params[i].name);
    yaml_node_t *at = key ? key : root;
    for (int i = 0; i < c->noverrides; i++) {
        char name[GH_MAX_NAME + 1], err[256];
        int64_t v;
        if (gh_param_assignment(c->overrides[i], name, sizeof name, &v, err, sizeof err))
            return err_node(c, at, "--param %s: %s", clip(c->overrides[i], b, sizeof b), err);
        int found = -1;
        for (int j = 0; j < s->nparams; j++)
            if (!strcmp(s->params[j].name, name))
                found = j;
        if (found < 0 && s->nparams)
            return err_node(c, at, "--param %s: the scenario has no parameter `%s`; its params "
                            "are: %s", clip(c->overrides[i], b, sizeof b), name, list);
        if (found < 0)
            return err_node(c, at, "--param %s: the scenario has no `params`",
                            clip(c->overrides[i], b, sizeof b));
        s->params[found].value = v;
        s->params[found].overridden = true;
    }
    c->params_ready = true;
    return 0;
}

/* The `gc:` section. */
static int parse_gc_section(struct pctx *c, yaml_node_t *n)
{
    char b[64];
    struct gh_scenario_gc *g = &c->s->gc;
    g->enabled = -1;
    if (!n || is_null(n))
        return 0;
    static const char *const names[] = {"thresholds", "enabled", "debug", "freeze"};
    yaml_node_t *k[4], *v[4];
    if (get_fields(c, n, "gc", names, 4, k, v, NULL, 0, NULL))
        return -1;
    if (v[0] && parse_thresholds(c, v[0], "gc: thresholds", g->thresholds, &g->nthresholds))
        return -1;
    if (v[1]) {
        bool on;
        if (get_bool(c, v[1], "gc: enabled", &on))
            return -1;
        g->enabled = on;
    }
    if (v[2]) {
        if (is_scalar(v[2]) && !strcmp(sval(v[2]), "saveall"))
            g->saveall = true;
        else if (!(is_scalar(v[2]) && !strcmp(sval(v[2]), "none")))
            return err_node(c, v[2], "gc: debug: expected saveall (gc.DEBUG_SAVEALL: garbage "
                            "goes to gc.garbage instead of being freed) or none, found %s",
                            desc(v[2], b, sizeof b));
    }
    if (v[3] && get_bool(c, v[3], "gc: freeze", &g->freeze))
        return -1;
    if (g->freeze)
        c->s->gc_freezes = true;
    return 0;
}

static int parse_top(struct pctx *c, yaml_node_t *root)
{
    char b[64], list[512];
    struct gh_scenario *s = c->s;
    yaml_node_t *key[T_COUNT], *val[T_COUNT];
    if (root->type != YAML_MAPPING_NODE) {
        join(list, sizeof list, top_names, T_COUNT);
        return err_node(c, root, "the top level: expected a mapping with the keys %s; found %s",
                        list, desc(root, b, sizeof b));
    }
    if (get_fields(c, root, "the top level", top_names, T_COUNT, key, val, NULL, 0, NULL))
        return -1;
    /* First: every integer after this may be a `$NAME`. */
    if (parse_params(c, key[T_PARAMS], val[T_PARAMS], root))
        return -1;

    const char *str;
    if (!val[T_NAME])
        return err_node(c, root, "missing `name`: every scenario needs a name "
                        "(e.g. name: shared-list)");
    if (get_str(c, val[T_NAME], "name", &str))
        return -1;
    if (!valid_label(str))
        return err_node(c, val[T_NAME], "name: expected letters, digits, `.`, `_` or `-` (at "
                        "most %d), found %s", GH_MAX_NAME, desc(val[T_NAME], b, sizeof b));
    s->name = xstrdup(str);

    if (val[T_ABOUT] && !is_null(val[T_ABOUT])) {
        if (get_str(c, val[T_ABOUT], "about", &str))
            return -1;
        s->about = xstrdup(str);
    } else {
        s->about = xstrdup("");
    }

    if (val[T_DURATION] && val[T_OPS]) {
        yaml_node_t *later = key[T_DURATION]->start_mark.index > key[T_OPS]->start_mark.index
                                 ? key[T_DURATION] : key[T_OPS];
        return err_node(c, later, "give either `duration` or `ops`, not both");
    }
    /* A missing length is reported last (parse_top's end), so an error
     * further in the file is the one shown, and not at all when the
     * command line gives the length. */
    if (val[T_DURATION]) {
        yaml_node_t *d = val[T_DURATION];
        if (!is_scalar(d) || has_nul(d) || gh_parse_duration(sval(d), &s->duration_ns))
            return err_node(c, d, "duration: expected a number and a unit (ns, us, ms or s), "
                            "such as 2s, 500ms or 1.5s, at most 1000000000s, found %s", desc(d, b, sizeof b));
    } else if (!val[T_OPS]) {
        /* no length in the file: checked at the end */
    } else if (is_scalar(val[T_OPS]) && !strcmp(sval(val[T_OPS]), "once")) {
        s->once = true;
    } else {
        int64_t v;
        if (!looks_int(val[T_OPS]))
            return err_node(c, val[T_OPS], "ops: expected an integer >= 1 or `once`, found %s",
                            desc(val[T_OPS], b, sizeof b));
        if (get_int(c, val[T_OPS], "ops", 1, INT64_MAX, &v))
            return -1;
        s->ops_per_thread = (uint64_t)v;
    }

    s->seed = 1;
    if (val[T_SEED]) {
        if (get_u64(c, val[T_SEED], "seed", &s->seed))
            return -1;
        /* The results keep it as a JSON integer, signed 64-bit: the same
         * range as --seed. */
        if (s->seed > INT64_MAX)
            return err_node(c, val[T_SEED], "seed: expected an integer from 0 to %" PRId64
                            ", found %" PRIu64, INT64_MAX, s->seed);
        s->has_seed = true;
    }

    if (parse_setup(c, val[T_SETUP]))
        return -1;
    if (parse_gc_section(c, val[T_GC]))
        return -1;

    /* Roles, or a top-level mix / script that makes the one role "worker". */
    yaml_node_t *flat = val[T_MIX] ? key[T_MIX] : val[T_SCRIPT] ? key[T_SCRIPT]
                      : val[T_INIT] ? key[T_INIT] : val[T_AFTER] ? key[T_AFTER] : NULL;
    if (val[T_ROLES] && flat)
        return err_node(c, flat, "`%s` at the top level makes the default role; with `roles` "
                        "put it inside a role", sval(flat));
    if (val[T_ROLES]) {
        if (parse_roles(c, val[T_ROLES]))
            return -1;
    } else if (val[T_MIX] || val[T_SCRIPT]) {
        s->roles = xcalloc(1, sizeof *s->roles);
        s->nroles = 1;
        struct role_src src = {
            .node = root, .mix = val[T_MIX], .script = val[T_SCRIPT], .init = val[T_INIT],
            .after = val[T_AFTER], .mix_key = key[T_MIX], .script_key = key[T_SCRIPT],
        };
        if (parse_role(c, &src, &s->roles[0], "worker"))
            return -1;
    } else if (val[T_INIT] || val[T_AFTER]) {
        yaml_node_t *k = val[T_INIT] ? key[T_INIT] : key[T_AFTER];
        return err_node(c, k, "`%s` at the top level needs a top-level `mix` or `script`",
                        sval(k));
    } else {
        return err_node(c, root, "missing `roles`: expected a list of roles, or a top-level "
                        "`mix` or `script` for a single role");
    }

    if (check_counter_readers(c))
        return -1;

    /* Thread count: the file's, checked against the roles, or a default. */
    int rest;
    int fixed = roles_fixed(s, &rest, list, sizeof list);
    if (fixed > GH_MAX_THREADS)
        return err_node(c, val[T_ROLES] ? val[T_ROLES] : root, "roles: %d threads in all (%s); at most %d", fixed,
                        list, GH_MAX_THREADS);
    if (val[T_THREADS]) {
        int64_t v;
        if (get_int(c, val[T_THREADS], "threads", 1, GH_MAX_THREADS, &v))
            return -1;
        s->threads = (int)v;
        if (rest >= 0 && s->threads < fixed + 1)
            return err_node(c, val[T_THREADS], "threads: %d, but the roles need at least %d "
                            "(%s, and 1 or more for `%s`)", s->threads, fixed + 1, list,
                            s->roles[rest].name);
        if (rest < 0 && s->threads != fixed)
            return err_node(c, val[T_THREADS], "threads: %d, but the roles fix the count at "
                            "%d (%s); leave out `threads` in one role to give it the rest",
                            s->threads, fixed, list);
    } else {
        s->threads = rest < 0 ? fixed : fixed + 1 > 2 ? fixed + 1 : 2;
    }
    struct gh_diag d;
    if (gh_scenario_assign_threads(s, s->threads, &d))
        return err_node(c, root, "%s", d.msg);
    for (int i = 0; s->once && i < s->nroles; i++)
        if (!s->roles[i].script)
            return err_node(c, val[T_OPS], "ops: once runs each role's script once, but role "
                            "`%s` has a mix; give it a `script`", s->roles[i].name);

    if (parse_checks(c, val[T_CHECKS]))
        return -1;

    s->expect_hazards = GH_EXPECT_HAZARDS_NONE;
    if (val[T_EXPECT] && !is_null(val[T_EXPECT])) {
        static const char *const names[] = {"hazards"};
        yaml_node_t *k[1], *v[1];
        if (get_fields(c, val[T_EXPECT], "expect", names, 1, k, v, NULL, 0, NULL))
            return -1;
        if (v[0]) {
            if (is_scalar(v[0]) && !strcmp(sval(v[0]), "none"))
                s->expect_hazards = GH_EXPECT_HAZARDS_NONE;
            else if (is_scalar(v[0]) && !strcmp(sval(v[0]), "some"))
                s->expect_hazards = GH_EXPECT_HAZARDS_SOME;
            else
                return err_node(c, v[0], "hazards: expected none or some, found %s",
                                desc(v[0], b, sizeof b));
        }
    }
    if (!val[T_DURATION] && !val[T_OPS] && !c->length_given)
        return err_node(c, root, "missing `duration` or `ops`: a scenario runs for a time "
                        "(duration: 2s) or a number of ops per thread (ops: 100000), or give "
                        "--duration or --ops");
    return 0;
}

/* ---- YAML errors ------------------------------------------------------- */

static int yaml_error(struct pctx *c, yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return err_at(c, 1, 1, "out of memory while reading the YAML");
    case YAML_READER_ERROR: {
        /* Only a byte offset: count lines and characters up to it. */
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
            unsigned char ch = (unsigned char)c->text[i];
            if (ch == '\n') {
                line++;
                col = 1;
            } else if ((ch & 0xc0) != 0x80) {
                col++;
            }
        }
        if (p->problem_value != -1)
            return err_at(c, line, col, "invalid YAML input: %s (0x%X)", problem,
                          (unsigned)p->problem_value);
        return err_at(c, line, col, "invalid YAML input: %s", problem);
    }
    default:
        break;
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return err_at(c, line, col, "invalid YAML: %s (%s at %d:%d)", problem, p->context,
                      (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return err_at(c, line, col, "invalid YAML: %s", problem);
}

/* ---- entry points ------------------------------------------------------ */

/* A first pass over the events: reports syntax errors and refuses deep
 * nesting before yaml_parser_load would spend O(depth^2) on it. */
static int prescan(struct pctx *c)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        gh_die(ENOMEM, "yaml_parser_initialize");
    yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
    int depth = 0, ret = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            ret = yaml_error(c, &p);
            break;
        }
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > GH_MAX_DEPTH) {
                ret = err_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                             "the YAML nests more than %d levels deep; a scenario needs 5",
                             GH_MAX_DEPTH);
                yaml_event_delete(&ev);
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return ret;
}

struct gh_scenario *gh_scenario_parse(const char *text, size_t len, const char *file,
                                      struct gh_diag *diag)
{
    return gh_scenario_parse_params(text, len, file, NULL, 0, diag);
}

static struct gh_scenario *parse_impl(const char *text, size_t len, const char *file,
                                      const char *const *params, int nparams,
                                      bool length_given, struct gh_diag *diag)
{
    struct gh_diag dummy;
    struct pctx c = {
        .file = file ? file : "<input>", .text = text ? text : "", .len = text ? len : 0,
        .diag = diag ? diag : &dummy, .overrides = params, .noverrides = params ? nparams : 0,
        .length_given = length_given,
    };
    c.diag->msg[0] = 0;
    struct gh_scenario *s = xcalloc(1, sizeof *s);
    c.s = s;
    s->file = xstrdup(c.file);
    uint64_t h = 0xcbf29ce484222325ull;      /* FNV-1a 64 */
    for (size_t i = 0; i < c.len; i++) {
        h ^= (unsigned char)c.text[i];
        h *= 0x100000001b3ull;
    }
    s->content_hash = h;

    if (prescan(&c)) {
        gh_scenario_free(s);
        return NULL;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        gh_die(ENOMEM, "yaml_parser_initialize");
    yaml_parser_set_input_string(&parser, (const unsigned char *)c.text, c.len);
    bool have_doc = false;
    if (!yaml_parser_load(&parser, &c.doc)) {
        yaml_error(&c, &parser);
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        err_at(&c, 1, 1, "the file is empty: expected a mapping with at least `name`, "
               "`duration` or `ops`, and `roles`");
        goto out;
    }
    /* One document only. */
    yaml_document_t second;
    if (!yaml_parser_load(&parser, &second)) {
        yaml_error(&c, &parser);
        goto out;
    }
    yaml_node_t *r2 = yaml_document_get_root_node(&second);
    if (r2) {
        int line = (int)second.start_mark.line + 1, col = (int)second.start_mark.column + 1;
        yaml_document_delete(&second);
        err_at(&c, line, col, "expected one YAML document; a second one starts here");
        goto out;
    }
    yaml_document_delete(&second);
    parse_top(&c, root);
out:
    if (have_doc)
        yaml_document_delete(&c.doc);
    yaml_parser_delete(&parser);
    free(c.gsorted);
    if (c.failed) {
        gh_scenario_free(s);
        return NULL;
    }
    return s;
}

struct gh_scenario *gh_scenario_parse_params(const char *text, size_t len, const char *file,
                                             const char *const *params, int nparams,
                                             struct gh_diag *diag)
{
    return parse_impl(text, len, file, params, nparams, false, diag);
}

static struct gh_scenario *load_impl(const char *path, const char *const *params, int nparams,
                                     bool length_given, struct gh_diag *diag);

struct gh_scenario *gh_scenario_load_params(const char *path, const char *const *params,
                                            int nparams, struct gh_diag *diag)
{
    return load_impl(path, params, nparams, false, diag);
}

struct gh_scenario *gh_scenario_load_cli(const char *path, const char *const *params,
                                         int nparams, bool length_given, struct gh_diag *diag)
{
    return load_impl(path, params, nparams, length_given, diag);
}

struct gh_scenario *gh_scenario_load(const char *path, struct gh_diag *diag)
{
    return gh_scenario_load_params(path, NULL, 0, diag);
}

static struct gh_scenario *load_impl(const char *path, const char *const *params, int nparams,
                                     bool length_given, struct gh_diag *diag)
{
    struct gh_diag dummy;
    if (!diag)
        diag = &dummy;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(diag->msg, sizeof diag->msg, "%s:1:1: error: cannot open the scenario "
                 "file: %s", path, strerror(errno));
        goto sanitize;
    }
    /* Read at most GH_MAX_FILE_BYTES + 1 bytes: one more than the cap
     * tells a file that is too large. */
    size_t cap = 4096, len = 0;
    char *buf = xcalloc(cap, 1);
    for (;;) {
        if (len == cap) {
            cap = cap * 2 > GH_MAX_FILE_BYTES + 1 ? GH_MAX_FILE_BYTES + 1 : cap * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                gh_die(ENOMEM, "realloc");
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > GH_MAX_FILE_BYTES) {
            snprintf(diag->msg, sizeof diag->msg, "%s:1:1: error: the file is larger "
                     "than %u MiB", path, GH_MAX_FILE_BYTES >> 20);
            free(buf);
            fclose(f);
            goto sanitize;
        }
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                snprintf(diag->msg, sizeof diag->msg, "%s:1:1: error: cannot read the "
                         "scenario file: %s", path, strerror(e ? e : EIO));
                free(buf);
                fclose(f);
                goto sanitize;
            }
            break;
        }
    }
    fclose(f);
    struct gh_scenario *s = parse_impl(buf, len, path, params, nparams, length_given, diag);
    free(buf);
    return s;
sanitize:
    for (char *p = diag->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return NULL;
}

static void free_spec_fields(struct gh_global *g)
{
    for (int i = 0; g->slots && i < g->nslots; i++)
        free(g->slots[i]);
    free(g->slots);
    free(g->name);
    free(g->text);
    free(g->elems);
}

static void free_ops(struct gh_op *ops, int n)
{
    for (int i = 0; ops && i < n; i++) {
        if (ops[i].spec) {
            free_spec_fields(ops[i].spec);
            free(ops[i].spec);
        }
        free(ops[i].name);
        free(ops[i].text);
        gh__expr_free(ops[i].expr);
    }
    free(ops);
}

void gh_scenario_free(struct gh_scenario *s)
{
    if (!s)
        return;
    for (int i = 0; s->globals && i < s->nglobals; i++)
        free_spec_fields(&s->globals[i]);
    free(s->globals);
    for (int i = 0; s->roles && i < s->nroles; i++) {
        struct gh_role *r = &s->roles[i];
        free(r->name);
        free_ops(r->ops, r->nops);
        free_ops(r->init, r->ninit);
        free_ops(r->after, r->nafter);
        free(r->local_types);
        for (int j = 0; r->locals && j < r->nlocals; j++)
            free(r->locals[j]);
        free(r->locals);
    }
    free(s->roles);
    for (int i = 0; s->checks && i < s->nchecks; i++) {
        free(s->checks[i].text);
        gh__expr_free(s->checks[i].expr);
    }
    free(s->checks);
    for (int i = 0; i < s->nconsts; i++)
        free(s->consts[i]);
    free(s->consts);
    for (int i = 0; s->params && i < s->nparams; i++)
        free(s->params[i].name);
    free(s->params);
    free(s->name);
    free(s->about);
    free(s->file);
    free(s);
}

/* ---- durations --------------------------------------------------------- */

int gh_parse_duration(const char *text, uint64_t *ns)
{
    if (!text)
        return -1;
    const char *p = text;
    uint64_t whole = 0;
    int nd = 0;
    for (; *p >= '0' && *p <= '9'; p++, nd++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return -1;
        whole = whole * 10 + d;
    }
    if (nd == 0)
        return -1;
    /* The fraction, exactly: up to 9 digits (a nanosecond of a second). */
    uint64_t frac = 0, fscale = 1;
    if (*p == '.') {
        p++;
        int nf = 0;
        for (; *p >= '0' && *p <= '9'; p++, nf++)
            if (nf < 9) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                fscale *= 10;
            }
        if (nf == 0)
            return -1;
    }
    uint64_t unit;
    if (!strcmp(p, "ns"))
        unit = 1;
    else if (!strcmp(p, "us"))
        unit = 1000;
    else if (!strcmp(p, "ms"))
        unit = 1000000;
    else if (!strcmp(p, "s"))
        unit = 1000000000;
    else
        return -1;
    uint64_t v;
    if (__builtin_mul_overflow(whole, unit, &v))
        return -1;
    uint64_t f = frac * unit / fscale;     /* frac < fscale <= 1e9, unit <= 1e9 */
    if (__builtin_add_overflow(v, f, &v))
        return -1;
    if (v == 0 || v > GH_DURATION_MAX_NS)
        return -1;
    *ns = v;
    return 0;
}

/* ---- parameters -------------------------------------------------------- */

int gh_param_assignment(const char *text, char *name, size_t namelen, int64_t *value,
                        char *err, size_t errlen)
{
    const char *eq = text ? strchr(text, '=') : NULL;
    if (!eq || eq == text || !eq[1]) {
        snprintf(err, errlen, "expected NAME=VALUE, such as N=100000");
        return -1;
    }
    size_t n = (size_t)(eq - text);
    char buf[GH_MAX_NAME + 2];
    if (n > GH_MAX_NAME) {
        snprintf(err, errlen, "the name is longer than %d characters", GH_MAX_NAME);
        return -1;
    }
    memcpy(buf, text, n);
    buf[n] = 0;
    if (!valid_ident(buf)) {
        snprintf(err, errlen, "`%s` is not a parameter name (a letter or `_`, then letters, "
                 "digits or `_`)", buf);
        return -1;
    }
    const char *v = eq + 1;
    bool neg = *v == '-';
    if (neg)
        v++;
    int64_t x = 0;
    bool ok = *v != 0;
    for (; ok && *v; v++) {
        int d = *v - '0';
        if (d < 0 || d > 9 || x < (INT64_MIN + d) / 10)
            ok = false;
        else
            x = x * 10 - d;
    }
    if (ok && !neg && x == INT64_MIN)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "`%s` is not an integer (a parameter's value is a decimal "
                 "integer)", eq + 1);
        return -1;
    }
    if (namelen) {
        snprintf(name, namelen, "%s", buf);
    }
    *value = neg ? x : -x;
    return 0;
}
