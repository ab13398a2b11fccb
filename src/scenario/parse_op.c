/* parse_op.c - ops and roles. An op is read from its row of GH_OPS
 * (scenario/ops.h): the keys it allows, what its `on` must name, its
 * flags, its hook for keys of its own; then the keys every op reads alike.
 * A role's locals are collected first (pass 1), so an op may name a local
 * bound further down.
 */
#include "scenario/parse_internal.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- ops --------------------------------------------------------------- */

/* ---- ops: the table (scenario/ops.h) and the hooks it names ----------- */

/* Ops that bind `as`. */
static bool op_binds(enum gh_op_kind k)
{
    return k == GH_OP_NEW || (gh_op_rules[k].keys & GH_KBIT_AS);
}

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
                    sp_desc(n, b, sizeof b));
}


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
                        keyname, sp_desc(n, b, sizeof b));
    const char *name = sval(n);
    int g = sp_find_global(c, name);
    int l = g < 0 ? sp_find_local(rc->r, name) : -1;
    if (g < 0 && l < 0) {
        const char *near = sp_closest_name(c, rc->r, name);
        if (near)
            return err_node(c, n, "%s: undefined name `%s` (did you mean `%s`?); expected a "
                            "global from `setup` or a local bound by `new ... as:` in this role",
                            keyname, sp_clip(name, b, sizeof b), sp_clip(near, b2, sizeof b2));
        return err_node(c, n, "%s: undefined name `%s`; expected a global from `setup` or a "
                        "local bound by `new ... as:` in this role", keyname,
                        sp_clip(name, b, sizeof b));
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
    if (need > GH_NEED_LOCAL && !gh_op_need_ok(need, t))
        return err_node(c, n, "%s needs %s in `%s`, but `%s` is %s (%s at %d:%d)", opname,
                        gh_op_need_articles[need], keyname, name, sp_newtype_articles[t], how, tl, tc);
    if ((need == GH_NEED_LIST || need == GH_NEED_DICT) && !gh_op_need_ok(need, t))
        return err_node(c, n, "%s needs %s in `%s`, but `%s` is %s (%s at %d:%d)", opname,
                        need == GH_NEED_LIST ? "a list" : "a dict", keyname, name,
                        sp_newtype_articles[t], how, tl, tc);
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
        if (sp_get_fields(c, n, w, names, 1, k, v, NULL, 0, NULL))
            return -1;
        if (!v[0])
            return err_node(c, n, "%s: expected {iter: K}, K an integer offset", what);
        out->random = false;
        out->iter = true;
        out->range = 0;
        return sp_get_int(c, v[0], "iter", -1000000000, 1000000000, &out->value);
    }
    if (sp_looks_int(n)) {
        int64_t v;
        if (sp_get_int(c, n, what, min, INT64_MAX, &v))
            return -1;
        out->random = false;
        out->value = v;
        out->range = 0;
        return 0;
    }
    return err_node(c, n, "%s: expected an integer, `random`%s or {iter: K}, found %s", what,
                    strcmp(what, "key") ? "" : ", {str: TEXT}",
                    sp_desc(n, b, sizeof b));
}


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
    if (sp_get_fields(c, n, "key: {str: TEXT}", names, 1, k, v, NULL, 0, NULL))
        return -1;
    char *text;
    size_t len;
    if (sp_get_text(c, v[0], "key: {str: TEXT}", &text, &len))
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
    if (!is_scalar(as) || has_nul(as) || !sp_valid_ident(sval(as)))
        return err_node(c, as, "as: expected a local name (a letter or `_`, then "
                        "letters, digits or `_`, at most %d), found %s", GH_MAX_NAME,
                        sp_desc(as, b, sizeof b));
    if (sp_is_reserved(sval(as)))
        return err_node(c, as, "as: `%s` is a reserved word and cannot name a local",
                        sval(as));
    int g = sp_find_global(c, sval(as));
    if (g >= 0)
        return err_node(c, as, "as: the local `%s` would shadow the global `%s` (set up "
                        "at %d:%d); pick another name", sval(as), sval(as),
                        c->s->globals[g].line, c->s->globals[g].column);
    int l = sp_find_local(rc->r, sval(as));
    if (l < 0)   /* pass 1 registers every valid `as`; capped */
        return err_node(c, as, "as: too many locals in this role (at most %d)",
                        GH_MAX_LOCALS);
    *slot = l;
    return 0;
}



/* `thresholds`: t0, or [t0], [t0, t1], [t0, t1, t2] (gc.set_threshold's
 * arguments; the thresholds not given keep their values). */
int sp_parse_thresholds(struct pctx *c, yaml_node_t *n, const char *what, int64_t out[3],
                            int *count)
{
    char b[64];
    if (n->type == YAML_SEQUENCE_NODE) {
        int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (k < 1 || k > 3)
            return err_node(c, n, "%s: expected 1 to 3 thresholds ([t0], [t0, t1] or "
                            "[t0, t1, t2]), found %d", what, k);
        for (int i = 0; i < k; i++)
            if (sp_get_int(c, node_at(c, n->data.sequence.items.start[i]), what, 0,
                        GH_MAX_THRESHOLD, &out[i]))
                return -1;
        *count = k;
        return 0;
    }
    if (sp_looks_int(n)) {
        *count = 1;
        return sp_get_int(c, n, what, 0, GH_MAX_THRESHOLD, &out[0]);
    }
    return err_node(c, n, "%s: expected an integer (t0) or a list such as [700, 10, 10], "
                    "found %s", what, sp_desc(n, b, sizeof b));
}

/* cycle.new's `cls`: a class global, or `object` (the plain class: -1). */
static int parse_cls(struct pctx *c, yaml_node_t *n, int *out)
{
    char b[64], b2[64];
    if (!is_scalar(n) || is_null(n) || has_nul(n))
        return err_node(c, n, "cls: expected the name of a class from setup, found %s",
                        sp_desc(n, b, sizeof b));
    const char *name = sval(n);
    if (!strcmp(name, "object")) {
        *out = -1;
        return 0;
    }
    int g = sp_find_global(c, name);
    if (g >= 0 && c->s->globals[g].type == GH_NEW_CLASS) {
        *out = g;
        return 0;
    }
    if (g >= 0)
        return err_node(c, n, "cls: `%s` is %s (set up at %d:%d); expected a class from "
                        "setup (a global {type: class}) or object", sp_clip(name, b, sizeof b),
                        sp_newtype_articles[c->s->globals[g].type], c->s->globals[g].line,
                        c->s->globals[g].column);
    const char *near = sp_closest_name(c, NULL, name);
    if (near)
        return err_node(c, n, "cls: undefined name `%s` (did you mean `%s`?); expected a "
                        "class from setup or object", sp_clip(name, b, sizeof b),
                        sp_clip(near, b2, sizeof b2));
    return err_node(c, n, "cls: undefined name `%s`; expected a class from setup (a global "
                    "{type: class}) or object", sp_clip(name, b, sizeof b));
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
    sp_spec_defaults(g);
    g->line = op->line;
    g->column = op->column;
    g->type = GH_NEW_OBJECT;
    if (val[GH_K_TYPE] && sp_parse_newtype(c, val[GH_K_TYPE], "type", false, c->s->nglobals,
                                        &g->type, &g->cls))
        return -1;
    op->type = g->type;
    yaml_node_t *sk[S_COUNT] = {0}, *sv[S_COUNT] = {0};
    sk[S_TYPE] = key[GH_K_TYPE], sv[S_TYPE] = val[GH_K_TYPE] ? val[GH_K_TYPE] : o->n;
    sk[S_ITEMS] = key[GH_K_ITEMS], sv[S_ITEMS] = val[GH_K_ITEMS];
    sk[S_VALUE] = key[GH_K_VALUE], sv[S_VALUE] = val[GH_K_VALUE];
    sk[S_CONST] = key[GH_K_CONST], sv[S_CONST] = val[GH_K_CONST];
    sk[S_DEF] = key[GH_K_DEF], sv[S_DEF] = val[GH_K_DEF];
    if (sp_parse_spec(c, g, sk, sv, rc->r, c->s->nglobals, "new"))
        return -1;
    struct local_info *li = &rc->linfo[op->as];
    if (li->type != GH_NEW_ANY && li->type != op->type)
        return err_node(c, val[GH_K_TYPE] ? val[GH_K_TYPE] : o->n, "the local `%s` is bound "
                        "to %s by the `new` at %d:%d; a local keeps one type",
                        sval(val[GH_K_AS]), sp_newtype_articles[li->type], li->line, li->column);
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
    return sp_get_text(c, o->val[GH_K_VALUE], "value", &op->name, &op->name_len);
}

static int parse_op_global_add(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                               struct gh_op *op)
{
    (void)rc;
    char b[64];
    yaml_node_t *value = o->val[GH_K_VALUE], *via = o->val[GH_K_VIA];
    op->value = (struct gh_value){.kind = GH_VAL_INT_LIT, .slot = -1, .range = 1};
    if (value && (!sp_looks_int(value) ||
                  sp_get_int(c, value, "value", -1000000000, 1000000000, &op->value.range)))
        return c->failed ? -1 : err_node(c, value, "value: expected the integer to add "
                                         "(default 1), found %s", sp_desc(value, b, sizeof b));
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
    if (sp_parse_value(c, val[GH_K_A], rc->r, c->s->nglobals, &op->value) ||
        sp_parse_value(c, val[GH_K_B], rc->r, c->s->nglobals, &op->b))
        return -1;
    if (val[GH_K_LABEL] && sp_get_text(c, val[GH_K_LABEL], "label", &op->name, &op->name_len))
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
    if (!is_scalar(name) || has_nul(name) || !sp_valid_ident(sval(name)))
        return err_node(c, name, "name: expected an attribute name (a letter or `_`, then "
                        "letters, digits or `_`), found %s", sp_desc(name, b, sizeof b));
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
    return sp_parse_expr_scalar(c, o->val[GH_K_EXPR], rc->r, "expr", &op->text, &op->expr);
}

static int parse_op_set_threshold(struct pctx *c, struct role_ctx *rc, const struct op_src *o,
                                  struct gh_op *op)
{
    (void)rc;
    if (!o->val[GH_K_THRESHOLDS])
        return err_node(c, o->n, "missing `thresholds` in %s (t0, or a list such as "
                        "[700, 10, 10])", o->owner);
    return sp_parse_thresholds(c, o->val[GH_K_THRESHOLDS], "thresholds", op->thresholds,
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
    if (sp_get_text(c, path, "path", &op->name, &op->name_len))
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
            if (sp_parse_value(c, val[GH_K_VALUE], rc->r, c->s->nglobals, &op->value))
                return -1;
        } else if (rule->flags & GH_OPF_NEEDS_VALUE) {
            return err_node(c, o->n, "missing `value` in %s (none, true, false, object, int, "
                            "small-int, list, dict, an integer or a name)", o->owner);
        }
    }
    if (val[GH_K_RANGE]) {
        if (op->value.kind != GH_VAL_INT)
            return err_node(c, key[GH_K_RANGE], "`range` applies only to `value: int`");
        if (sp_get_int(c, val[GH_K_RANGE], "range", 1, INT64_MAX, &op->value.range))
            return -1;
    }
    if (val[GH_K_CALLBACK]) {
        yaml_node_t *cb = val[GH_K_CALLBACK];
        if (is_scalar(cb) && !strcmp(sval(cb), "count"))
            op->callback = true;
        else if (!(is_scalar(cb) && !strcmp(sval(cb), "none")))
            return err_node(c, cb, "callback: expected count (a callback that counts its "
                            "calls, read with callbacks()) or none, found %s",
                            sp_desc(cb, b, sizeof b));
    }
    if (val[GH_K_TOP]) {
        if (sp_get_int(c, val[GH_K_TOP], "top", 1, 1000, &v))
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
        if (sp_get_int(c, val[GH_K_KEYS], "keys", 1, INT64_MAX, &op->key.range))
            return -1;
    }
    if (val[GH_K_INDEX] && parse_intarg(c, val[GH_K_INDEX], "index", 0, &op->index))
        return -1;
    if (op->index.random)
        op->index.range = 0;

    if (val[GH_K_ITERS]) {
        if (sp_get_int(c, val[GH_K_ITERS], "iters", 1, INT64_C(1000000000000), &v))
            return -1;
        op->iters = (uint64_t)v;
    }
    if (val[GH_K_US]) {
        if (sp_get_int(c, val[GH_K_US], "us", 0, 60000000, &v))
            return -1;
        op->io_ns = (uint64_t)v * 1000;
    }
    if (val[GH_K_WEIGHT]) {
        if (sp_get_int(c, val[GH_K_WEIGHT], "weight", 1, 1000000, &v))
            return -1;
        op->weight = (uint32_t)v;
    }
    if (val[GH_K_GENERATION]) {
        if (sp_get_int(c, val[GH_K_GENERATION], "generation", 0, GH_GC_OLDEST, &v))
            return -1;
        op->generation = (int)v;
    }
    if (val[GH_K_SIZE]) {
        if (sp_get_int(c, val[GH_K_SIZE], "size", 1, GH_MAX_RING, &v))
            return -1;
        op->size = (int)v;
    }
    if (val[GH_K_CLS] && parse_cls(c, val[GH_K_CLS], &op->cls))
        return -1;
    if (val[GH_K_DEPTH]) {
        if (sp_get_int(c, val[GH_K_DEPTH], "depth", 0, GH_MAX_DOT_DEPTH, &v))
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
                        sp_desc(opnode, b, sizeof b));
    *out = gh_op_from_name(sval(opnode));
    if (*out != GH_OP_COUNT)
        return 0;
    sp_join(list, sizeof list, gh_op_names, GH_OP_COUNT);
    const char *near = sp_closest(sval(opnode), gh_op_names, GH_OP_COUNT);
    if (near)
        return err_node(c, opnode, "unknown op `%s` (did you mean `%s`?); expected one of: %s",
                        sp_clip(sval(opnode), b, sizeof b), near, list);
    return err_node(c, opnode, "unknown op `%s`; expected one of: %s",
                    sp_clip(sval(opnode), b, sizeof b), list);
}

/* The op's keys, checked against its row's. */
static int parse_op_keys(struct pctx *c, yaml_node_t *n, enum gh_op_kind kind,
                         enum op_place place, struct op_src *o)
{
    bool lock_op = kind == GH_OP_LOCK_ACQUIRE || kind == GH_OP_LOCK_RELEASE;
    unsigned allowed = gh_op_rules[kind].keys | (place == IN_MIX ? GH_KBIT_WEIGHT : 0) |
                       (lock_op ? 0 : GH_KBIT_WITH);
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
        if (lock_op && is_scalar(k) && !strcmp(sval(k), "with"))
            return err_node(c, k, "`with` does not apply to %s: it takes and releases a lock "
                            "itself (a `with` on it would wait for a lock its own thread "
                            "holds)", gh_op_names[kind]);
    }
    char elsewhere[128];
    snprintf(elsewhere, sizeof elsewhere, "does not apply to %s", gh_op_names[kind]);
    yaml_node_t *keys_[GH_K_COUNT], *vals_[GH_K_COUNT];
    if (sp_get_fields(c, n, o->owner, names, nn, keys_, vals_, others, no, elsewhere))
        return -1;
    for (int i = 0; i < nn; i++) {
        o->key[map[i]] = keys_[i];
        o->val[map[i]] = vals_[i];
    }
    return 0;
}

/* `with: L`: the op runs holding the lock global L (`with L:` around the
 * statement). */
static int parse_with(struct pctx *c, struct role_ctx *rc, yaml_node_t *n, struct gh_op *op)
{
    struct gh_target t;
    if (parse_target(c, rc, n, op->kind, "with", GH_NEED_LOCK, &t))
        return -1;
    if (t.local)
        return err_node(c, n, "with: `%s` is a local of the role; `with` names a lock global "
                        "from `setup` (L: {type: lock})", sval(n));
    op->with = t.slot;
    op->special |= GH_OP_SPECIAL_WITH;
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
                        "value: object}, found %s", sp_desc(n, b, sizeof b));
    if (parse_op_kind(c, n, &op->kind))
        return -1;
    const struct gh_op_rule *rule = &gh_op_rules[op->kind];
    if ((op->kind == GH_OP_LOCK_ACQUIRE || op->kind == GH_OP_LOCK_RELEASE) &&
        (place == IN_INIT || place == IN_AFTER))
        return err_node(c, n, "%s cannot be in `%s`: a lock is taken and released by the "
                        "measured ops (a `mix` or `script`), so no thread holds one across the "
                        "start or the end of the measured phase; `with: L` on an op works "
                        "anywhere", rule->name, place == IN_INIT ? "init" : "after");
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
    op->with = -1;
    op->tally = -1; /* set after the checks are read (parse.c) */
    if (o.val[GH_K_WITH] && parse_with(c, rc, o.val[GH_K_WITH], op))
        return -1;
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
int sp_check_counter_readers(struct pctx *c)
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
                    return sp_err_at(c, op->line, op->column, "%s reads `%s`, a counter that "
                                  "global.add rebinds (at %d:%d); only global.add and the "
                                  "checks may read a counter", gh_op_names[op->kind],
                                  g->name, g->counter_line, g->counter_column);
            }
    }
    return 0;
}


/* The type a binding op gives its `as` (pass 1; a bad `type` or `cls` is
 * reported in pass 2). */
static enum gh_newtype binding_type(struct pctx *c, enum gh_op_kind k, yaml_node_t *typev,
                                    yaml_node_t *clsv)
{
    if (k == GH_OP_CYCLE_NEW) {
        int g = is_scalar(clsv) ? sp_find_global(c, sval(clsv)) : -1;
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
        if (!strcmp(sval(typev), sp_newtype_names[i]))
            return (enum gh_newtype)i;
    int g = sp_find_global(c, sval(typev));
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
        if (!sp_valid_ident(name) || sp_is_reserved(name) || sp_find_global(c, name) >= 0)
            continue;
        enum gh_newtype t = binding_type(c, k, typev, clsv);
        int l = sp_find_local(r, name);
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
                        sp_desc(seq, b, sizeof b));
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

int sp_parse_role(struct pctx *c, const struct role_src *src, struct gh_role *r,
                      const char *default_name)
{
    char b[64];
    const char *name = default_name;
    if (src->name && sp_get_str(c, src->name, "name", &name))
        return -1;
    if (src->name && !sp_valid_label(name))
        return err_node(c, src->name, "role name: expected letters, digits, `.`, `_` or `-` "
                        "(at most %d), found %s", GH_MAX_NAME, sp_desc(src->name, b, sizeof b));
    r->name = xstrdup(name);
    if (src->threads) {
        int64_t v;
        if (sp_get_int(c, src->threads, "threads", 1, GH_MAX_THREADS, &v))
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

int sp_parse_roles(struct pctx *c, yaml_node_t *roles)
{
    char b[64];
    struct gh_scenario *s = c->s;
    if (roles->type != YAML_SEQUENCE_NODE)
        return err_node(c, roles, "roles: expected a sequence of roles, found %s",
                        sp_desc(roles, b, sizeof b));
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
                            "mix or script, found %s", sp_desc(rn, b, sizeof b));
        if (sp_get_fields(c, rn, "a role", names, 6, keys, vals, NULL, 0, NULL))
            return -1;
        if (!vals[0])
            return err_node(c, rn, "missing `name` in this role");
        struct role_src src = {
            .node = rn, .name = vals[0], .threads = vals[1], .mix = vals[2],
            .script = vals[3], .init = vals[4], .after = vals[5], .mix_key = keys[2],
            .script_key = keys[3],
        };
        if (sp_parse_role(c, &src, &s->roles[i], NULL))
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
