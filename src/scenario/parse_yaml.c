/* parse_yaml.c - the scenario parser's readers of YAML nodes: errors,
 * scalars (integers, durations, `$NAME` parameters), mappings (the allowed
 * keys of each), names (globals, locals, the nearest spelling) and values.
 *
 * Anything taken from the input that goes into a message is cut short and
 * has its control characters replaced, so a message is always one line.
 */
#define _GNU_SOURCE     /* qsort_r */
#include "scenario/parse_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- small helpers ----------------------------------------------------- */



/* Copies s into buf for a message: at most 40 characters, control
 * characters and non-ASCII bytes replaced by '?'. */
const char *sp_clip(const char *s, char *buf, size_t len)
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

/* The sp_closest of names[0..n) to s, or NULL if none is close. A name whose
 * part after the last '.' equals s ("append" -> "list.append") counts as
 * close. */
const char *sp_closest(const char *s, const char *const *names, int n)
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

void sp_join(char *buf, size_t len, const char *const *names, int n)
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
    "weakvaluedict", "class", "function", "lock", "is",
    /* the expression functions: a name spelled so cannot be an operand */
    "id", "getrefcount", "getsizeof", "value", "interned", "alive", "finalized", "callbacks",
    "adds",
};

/* Indexed by enum gh_newtype. Those up to GH_NEW_FUNCTION can be written
 * as a `type`; an instance's type is written as its class's name. */
const char *const sp_newtype_names[GH_NEW_COUNT] = {
    "object", "int", "list", "dict", "none", "true", "false", "bare-object", "small-int",
    "float", "str", "bytes", "bytearray", "tuple", "set", "frozenset", "weakvaluedict",
    "class", "function", "lock", "instance", "weakref", "snapshot", "any",
};
const char *const sp_newtype_articles[GH_NEW_COUNT] = {
    "an object", "an int", "a list", "a dict", "None", "True", "False", "a bare object()",
    "a small int", "a float", "a str", "a bytes", "a bytearray", "a tuple", "a set",
    "a frozenset", "a WeakValueDictionary", "a class", "a function", "a lock", "an instance",
    "a weak reference", "a trace snapshot", "an object of any type",
};

/* ---- the parse context and its errors ----------------------------------- */


GH_PRINTF(4, 5)
int sp_err_at(struct pctx *c, int line, int column, const char *fmt, ...)
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






/* "a mapping", "a sequence", "nothing" or "`text`". */
const char *sp_desc(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (is_null(n) && !*sval(n))
        return "nothing";
    char b[64];
    snprintf(buf, len, "`%s`", sp_clip(sval(n), b, sizeof b));
    return buf;
}


bool sp_valid_ident(const char *s)
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

bool sp_is_reserved(const char *s)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(reserved_words); i++)
        if (!strcmp(s, reserved_words[i]))
            return true;
    return false;
}

/* Scenario and role names: letters, digits, '.', '_', '-'. */
bool sp_valid_label(const char *s)
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
                        "(e.g. params: {%s: 1000})", what, sp_clip(sval(n), b, sizeof b),
                        sp_valid_ident(name) ? name : "N");
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
                        "scenario's params are: %s", what, sp_clip(sval(n), b, sizeof b), best,
                        list);
    return err_node(c, n, "%s: unknown parameter `%s`; the scenario's params are: %s", what,
                    sp_clip(sval(n), b, sizeof b), list);
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
int sp_get_int(struct pctx *c, yaml_node_t *n, const char *what, int64_t min,
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
                            sp_desc(n, b, sizeof b));
        if (max == INT64_MAX)
            return err_node(c, n, "%s: expected an integer >= %" PRId64 ", found %s", what,
                            min, sp_desc(n, b, sizeof b));
        return err_node(c, n, "%s: expected an integer from %" PRId64 " to %" PRId64
                        ", found %s", what, min, max, sp_desc(n, b, sizeof b));
    }
    *out = v;
    return 0;
}

int sp_get_u64(struct pctx *c, yaml_node_t *n, const char *what, uint64_t *out)
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
                        what, UINT64_MAX, sp_desc(n, b, sizeof b));
    *out = v;
    return 0;
}

/* A non-empty string scalar. */
int sp_get_str(struct pctx *c, yaml_node_t *n, const char *what, const char **out)
{
    char b[64];
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "%s: expected %s, found %s", what,
                        "a string", sp_desc(n, b, sizeof b));
    *out = sval(n);
    return 0;
}

/* ---- mappings ---------------------------------------------------------- */

/* Checks that `map` is a mapping whose keys are scalars from names[0..n),
 * each at most once; keys[i] / vals[i] get the key and value nodes of
 * names[i] (NULL when absent). `owner` names the mapping in messages ("the
 * top level", "a role"). When `elsewhere` is given, a key from it that is
 * not in names gets `elsewhere_msg` instead of "unknown key". */
int sp_get_fields(struct pctx *c, yaml_node_t *map, const char *owner,
                      const char *const *names, int n, yaml_node_t **keys,
                      yaml_node_t **vals, const char *const *elsewhere, int nelsewhere,
                      const char *elsewhere_msg)
{
    char b[64], b2[64], list[512];
    if (map->type != YAML_MAPPING_NODE)
        return err_node(c, map, "%s: expected a mapping, found %s", owner,
                        sp_desc(map, b, sizeof b));
    for (int i = 0; i < n; i++)
        keys[i] = vals[i] = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        yaml_node_t *v = node_at(c, p->value);
        if (!is_scalar(k) || has_nul(k))
            return err_node(c, k, "%s: expected a key name, found %s", owner,
                            sp_desc(k, b, sizeof b));
        int idx = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(sval(k), names[i]))
                idx = i;
        if (idx < 0) {
            sp_join(list, sizeof list, names, n);
            for (int i = 0; elsewhere && i < nelsewhere; i++)
                if (!strcmp(sval(k), elsewhere[i]))
                    return err_node(c, k, "`%s` %s; the keys here are: %s",
                                    sp_clip(sval(k), b, sizeof b), elsewhere_msg, list);
            const char *near = sp_closest(sval(k), names, n);
            if (near)
                return err_node(c, k, "unknown key `%s` in %s (did you mean `%s`?); "
                                "expected one of: %s", sp_clip(sval(k), b, sizeof b), owner,
                                near, list);
            return err_node(c, k, "unknown key `%s` in %s; expected one of: %s",
                            sp_clip(sval(k), b, sizeof b), owner, list);
        }
        if (keys[idx])
            return err_node(c, k, "duplicate key `%s` in %s (first given at %d:%d)",
                            sp_clip(sval(k), b2, sizeof b2), owner,
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
int sp_find_global(const struct pctx *c, const char *name)
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

int sp_find_local(const struct gh_role *r, const char *name)
{
    for (int i = 0; i < r->nlocals; i++)
        if (!strcmp(r->locals[i], name))
            return i;
    return -1;
}

/* A close global or local name, for "did you mean". */
const char *sp_closest_name(const struct pctx *c, const struct gh_role *r,
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

int sp_gsort_cmp(const void *a, const void *b, void *arg)
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
 * parameter, which sp_get_int resolves). */
bool sp_looks_int(const yaml_node_t *n)
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
int sp_parse_value(struct pctx *c, yaml_node_t *n, const struct gh_role *r,
                       int nvisible, struct gh_value *out)
{
    char b[64], b2[64];
    static const enum gh_value_kind kinds[] = {
        GH_VAL_NONE_OBJ, GH_VAL_OBJECT, GH_VAL_INT, GH_VAL_SMALL_INT, GH_VAL_LIST, GH_VAL_DICT,
        GH_VAL_TRUE, GH_VAL_FALSE,
    };
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "value: expected none, true, false, object, int, small-int, list, "
                        "dict, an integer or a name, found %s", sp_desc(n, b, sizeof b));
    const char *v = sval(n);
    memset(out, 0, sizeof *out);
    out->slot = -1;
    if (sp_looks_int(n)) {
        out->kind = GH_VAL_INT_LIT;
        return sp_get_int(c, n, "value", INT64_MIN, INT64_MAX, &out->range);
    }
    for (size_t i = 0; i < GH_ARRAY_LEN(value_keywords); i++) {
        if (!strcmp(v, value_keywords[i])) {
            out->kind = kinds[i];
            out->range = out->kind == GH_VAL_INT ? 1000000 : 0;
            return 0;
        }
    }
    int g = sp_find_global(c, v);
    if (g >= 0 && g < nvisible) {
        out->kind = GH_VAL_GLOBAL;
        out->slot = g;
        return 0;
    }
    if (g >= 0)
        return err_node(c, n, "value: the global `%s` is set up later, at %d:%d; setup "
                        "builds globals in order, so a value may name only an earlier one",
                        sp_clip(v, b, sizeof b), c->s->globals[g].line, c->s->globals[g].column);
    int l = r ? sp_find_local(r, v) : -1;
    if (l >= 0 && r->local_types && r->local_types[l] == GH_NEW_SNAPSHOT)
        return err_node(c, n, "value: `%s` is a trace snapshot, not an object", sp_clip(v, b, sizeof b));
    if (l >= 0) {
        out->kind = GH_VAL_LOCAL;
        out->slot = l;
        return 0;
    }
    const char *near = sp_closest_name(c, r, v);
    if (!near)
        near = sp_closest(v, value_keywords, (int)GH_ARRAY_LEN(value_keywords));
    if (near)
        return err_node(c, n, "value: undefined name `%s` (did you mean `%s`?); expected "
                        "none, object, int, small-int, list, dict, a global%s",
                        sp_clip(v, b, sizeof b), sp_clip(near, b2, sizeof b2),
                        r ? " or a local of this role" : " set up earlier");
    return err_node(c, n, "value: undefined name `%s`; expected none, object, int, "
                    "small-int, list, dict, a global%s", sp_clip(v, b, sizeof b),
                    r ? " or a local of this role" : " set up earlier");
}

/* A `type`: a type name, or the name of a class global defined before index
 * nvisible (an instance of it: *cls gets its index). `class` only in setup. */
int sp_get_bool(struct pctx *c, yaml_node_t *n, const char *what, bool *out)
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
    return err_node(c, n, "%s: expected true or false, found %s", what, sp_desc(n, b, sizeof b));
}

/* A text scalar (ASCII), copied. */
int sp_get_text(struct pctx *c, yaml_node_t *n, const char *what, char **out, size_t *len)
{
    char b[64];
    if (!is_scalar(n) || (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_null(n) &&
                          *sval(n)))
        return err_node(c, n, "%s: expected a text such as \"abc\", found %s", what,
                        sp_desc(n, b, sizeof b));
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
