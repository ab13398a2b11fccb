/* parse_setup.c - `setup`: the globals, and the spec of what a global or
 * a `new` op makes (type, literal, items, class options).
 */
#define _GNU_SOURCE     /* qsort_r */
#include "scenario/parse_internal.h"

#include <inttypes.h>
#include <stdio.h>

int sp_parse_newtype(struct pctx *c, yaml_node_t *n, const char *what, bool setup,
                         int nvisible, enum gh_newtype *out, int *cls)
{
    char b[64];
    *cls = -1;
    if (is_scalar(n) && !has_nul(n)) {
        for (int i = 0; i <= GH_NEW_FUNCTION; i++)
            if (!strcmp(sval(n), sp_newtype_names[i]) && (setup || i != GH_NEW_CLASS)) {
                *out = (enum gh_newtype)i;
                return 0;
            }
        if (!strcmp(sval(n), sp_newtype_names[GH_NEW_LOCK])) {
            if (!setup)
                return err_node(c, n, "%s: a lock is shared by the threads: set it up as a "
                                "global in `setup` (L: {type: lock})", what);
            *out = GH_NEW_LOCK;
            return 0;
        }
        int g = c->s->nglobals ? sp_find_global(c, sval(n)) : -1;
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
                    "setup), found %s", what, setup ? ", class, lock" : "",
                    sp_desc(n, b, sizeof b));
}

/* A boolean scalar: true or false. */

/* The keys of an object spec: setup's long form and a `new` op. */
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
                        "found %s", what, sp_desc(n, b, sizeof b));
    int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (k > GH_SCENARIO_MAX_SLOTS)
        return err_node(c, n, "%s: slots: at most %d names, found %d", what, GH_SCENARIO_MAX_SLOTS, k);
    g->slots = xcalloc((size_t)(k ? k : 1), sizeof *g->slots);
    g->nslots = 0;
    for (int i = 0; i < k; i++) {
        yaml_node_t *e = node_at(c, n->data.sequence.items.start[i]);
        if (!e || !is_scalar(e) || has_nul(e) || !sp_valid_ident(sval(e)) ||
            strlen(sval(e)) >= GH_SCENARIO_SLOT_NAME)
            return err_node(c, e ? e : n, "%s: slots: expected an attribute name (a letter or "
                            "`_`, then letters, digits or `_`, shorter than %d), found %s",
                            what, GH_SCENARIO_SLOT_NAME, e ? sp_desc(e, b, sizeof b) : "nothing");
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
int sp_parse_spec(struct pctx *c, struct gh_global *g, yaml_node_t **key, yaml_node_t **val,
                      const struct gh_role *r, int nvisible, const char *what)
{
    char b[64], w[160];
    unsigned ok = spec_keys_for(g->type);
    for (int i = S_ITEMS; i < S_COUNT; i++)
        if (key[i] && !(ok & (1u << i)))
            return err_node(c, key[i], "%s: `%s` does not apply to type %s%s", what,
                            spec_key_names[i], g->type == GH_NEW_INSTANCE ? "instance"
                            : sp_newtype_names[g->type], spec_hint(g->type));
    yaml_node_t *v = val[S_VALUE];
    snprintf(w, sizeof w, "%s: value", what);
    switch (g->type) {
    case GH_NEW_INT:
    case GH_NEW_SMALL_INT:
        if (v) {
            g->has_value = true;
            if (g->type == GH_NEW_SMALL_INT)
                return sp_get_int(c, v, w, -5, 256, &g->int_value);
            return sp_get_int(c, v, w, INT64_MIN, INT64_MAX, &g->int_value);
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
                                sp_desc(v, b, sizeof b));
        }
        return 0;
    case GH_NEW_STR:
    case GH_NEW_BYTES:
    case GH_NEW_BYTEARRAY:
        if (v) {
            if (!is_scalar(v))
                return err_node(c, v, "%s: expected a text such as \"abc\", found %s", w,
                                sp_desc(v, b, sizeof b));
            size_t n = v->data.scalar.length;
            const unsigned char *t = (const unsigned char *)sval(v);
            for (size_t i = 0; i < n; i++)
                if (t[i] >= 0x80 || (g->type == GH_NEW_STR && !t[i]))
                    return err_node(c, v, "%s: the model has only ASCII text; `%s` has a "
                                    "byte 0x%02x", w, sp_clip(sval(v), b, sizeof b), t[i]);
            g->text = xcalloc(n + 1, 1);
            memcpy(g->text, t, n);
            g->text_len = n;
            g->has_value = true;
        }
        if (val[S_CONST] && sp_get_bool(c, val[S_CONST], "const", &g->is_const))
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
                                "found %s", what, sp_desc(val[S_DEL], b, sizeof b));
            g->del = (enum gh_del_kind)k;
        }
        if (val[S_LEGACY] && sp_get_bool(c, val[S_LEGACY], "legacy", &g->legacy))
            return -1;
        if (g->del == GH_DEL_RESURRECT && !val[S_INTO])
            return err_node(c, val[S_DEL], "%s: `del: resurrect` needs `into: NAME`, the "
                            "global list the instance is stored into", what);
        if (val[S_INTO]) {
            if (g->del != GH_DEL_RESURRECT)
                return err_node(c, key[S_INTO], "%s: `into` applies only to `del: resurrect`",
                                what);
            int t = is_scalar(val[S_INTO]) ? sp_find_global(c, sval(val[S_INTO])) : -1;
            if (t < 0 || t >= nvisible || c->s->globals[t].type != GH_NEW_LIST)
                return err_node(c, val[S_INTO], "%s: into: expected a global list set up "
                                "earlier, found %s", what, sp_desc(val[S_INTO], b, sizeof b));
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
                            sp_desc(val[S_DEF], b, sizeof b));
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
            if (sp_parse_value(c, node_at(c, items->data.sequence.items.start[i]), r, nvisible,
                            &g->elems[i]))
                return -1;
    } else if (items) {
        if (g->type != GH_NEW_LIST && g->type != GH_NEW_DICT)
            return err_node(c, items, "%s: items: expected a list of values such as [1, 2, x], "
                            "found %s", what, sp_desc(items, b, sizeof b));
        snprintf(w, sizeof w, "%s: items", what);
        if (sp_get_int(c, items, w, 0, GH_MAX_ITEMS, &g->items))
            return -1;
        if ((c->total_items += g->items) > GH_MAX_ITEMS_TOTAL)
            return err_node(c, items, "%s: too many items in all lists and dicts together "
                            "(at most %d)", w, GH_MAX_ITEMS_TOTAL);
    }
    if (v && sp_parse_value(c, v, r, nvisible, &g->value))
        return -1;
    if (val[S_RANGE]) {
        if (g->value.kind != GH_VAL_INT)
            return err_node(c, key[S_RANGE], "%s: `range` applies only to `value: int`", what);
        snprintf(w, sizeof w, "%s: range", what);
        if (sp_get_int(c, val[S_RANGE], w, 1, INT64_MAX, &g->value.range))
            return -1;
    }
    return 0;
}

void sp_spec_defaults(struct gh_global *g)
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
    sp_spec_defaults(g);
    snprintf(what, sizeof what, "setup of `%s`", g->name);
    if (is_scalar(v)) {
        if (sp_parse_newtype(c, v, what, true, index, &g->type, &g->cls))
            return -1;
        if (g->type == GH_NEW_FUNCTION)
            return err_node(c, v, "%s: a function needs `def`: write {type: function, def: "
                            "append-one}", what);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return err_node(c, v, "%s: expected a type (object, int, list, dict...) or a mapping "
                        "{type: T, items: N, value: V}, found %s", what, sp_desc(v, b, sizeof b));
    yaml_node_t *keys[S_COUNT], *vals[S_COUNT];
    if (sp_get_fields(c, v, what, spec_key_names, S_COUNT, keys, vals, NULL, 0, NULL))
        return -1;
    if (!vals[S_TYPE])
        return err_node(c, v, "%s: missing `type` (object, int, list, dict...)", what);
    if (sp_parse_newtype(c, vals[S_TYPE], what, true, index, &g->type, &g->cls))
        return -1;
    return sp_parse_spec(c, g, keys, vals, NULL, index, what);
}

int sp_parse_setup(struct pctx *c, yaml_node_t *n)
{
    char b[64], b2[64];
    struct gh_scenario *s = c->s;
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return err_node(c, n, "setup: expected a mapping of NAME: TYPE, found %s",
                        sp_desc(n, b, sizeof b));
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
        if (!is_scalar(k) || has_nul(k) || !sp_valid_ident(sval(k)))
            return err_node(c, k, "setup: expected a global name (a letter or `_`, then "
                            "letters, digits or `_`, at most %d), found %s", GH_MAX_NAME,
                            is_scalar(k) ? sp_desc(k, b, sizeof b) : "a collection");
        if (sp_is_reserved(sval(k)))
            return err_node(c, k, "setup: `%s` is a reserved word and cannot name a global",
                            sval(k));
        s->globals[i].name = xstrdup(sval(k));
        s->globals[i].line = (int)k->start_mark.line + 1;
        s->globals[i].column = (int)k->start_mark.column + 1;
        c->gsorted[i] = i;
        s->nglobals = i + 1;
    }
    qsort_r(c->gsorted, (size_t)count, sizeof *c->gsorted, sp_gsort_cmp, s->globals);
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
        return sp_err_at(c, s->globals[dup].line, s->globals[dup].column,
                      "duplicate key `%s` in setup (first given at %d:%d)",
                      sp_clip(s->globals[dup].name, b2, sizeof b2), s->globals[first].line,
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
