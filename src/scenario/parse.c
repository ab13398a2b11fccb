/* parse.c - reads a scenario file into struct gh_scenario: the top level,
 * checks, parameters and the entry points (scenario/parse_internal.h maps
 * the other parts).
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
#include "scenario/parse_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
int sp_parse_expr_scalar(struct pctx *c, yaml_node_t *cn, const struct gh_role *r,
                             const char *what, char **text, struct gh_expr **expr)
{
    char b[64];
    if (!is_scalar(cn))
        return err_node(c, cn, "%s: expected an expression such as "
                        "len(L) == count(list.append), found %s", what, sp_desc(cn, b, sizeof b));
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
            return sp_err_at(c, line, col, "%s: %s", bad, msg);
        return sp_err_at(c, line, col, "%s (at character %zu of it): %s", bad, off + 1, msg);
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
                        sp_desc(n, b, sizeof b));
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
        if (sp_parse_expr_scalar(c, cn, NULL, "checks", &ck->text, &ck->expr))
            return -1;
    }
    return 0;
}

/* ---- per-target counts ------------------------------------------------ */

int gh_scenario_tally(const struct gh_scenario *s, enum gh_op_kind op, int slot)
{
    for (int i = 0; i < s->ntallies; i++)
        if (s->tallies[i].op == op && s->tallies[i].slot == slot)
            return i;
    return -1;
}

/* Adds the pairs (op, global) that e's count(OP, X) and failed(OP, X)
 * read to s->tallies, each once. */
static void collect_tallies(struct gh_scenario *s, const struct gh_expr *e, int *cap)
{
    if (!e)
        return;
    if ((e->kind == GH_EX_COUNT || e->kind == GH_EX_FAILED) && e->slot >= 0 &&
        gh_scenario_tally(s, e->op, e->slot) < 0) {
        if (s->ntallies == *cap) {
            *cap = *cap ? 2 * *cap : 8;
            s->tallies = realloc(s->tallies, (size_t)*cap * sizeof *s->tallies);
            if (!s->tallies)
                gh_die(ENOMEM, "realloc");
        }
        s->tallies[s->ntallies++] = (struct gh_tally){e->op, e->slot};
    }
    collect_tallies(s, e->l, cap);
    collect_tallies(s, e->r, cap);
}

/* Once every expression is read: the pairs they count per target, and
 * the ops each pair counts. Those are the ops of a `mix` or `script`
 * (what count() counts: never init or after, where the only ops counted
 * are is, eq, show and assert, which have no `on`) whose `on` is the
 * global; their outcome is tallied as well as counted, which makes them
 * special (worker.fl.c). An op no expression counts per target stays as
 * it was. */
static void resolve_tallies(struct gh_scenario *s)
{
    int cap = 0;
    for (int i = 0; i < s->nchecks; i++)
        collect_tallies(s, s->checks[i].expr, &cap);
    for (int r = 0; r < s->nroles; r++) {
        const struct gh_role *role = &s->roles[r];
        const struct gh_op *lists[3] = {role->ops, role->init, role->after};
        int counts[3] = {role->nops, role->ninit, role->nafter};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < counts[l]; i++)
                collect_tallies(s, lists[l][i].expr, &cap);
    }
    if (!s->ntallies)
        return;
    for (int r = 0; r < s->nroles; r++) {
        struct gh_role *role = &s->roles[r];
        for (int i = 0; i < role->nops; i++) {
            struct gh_op *op = &role->ops[i];
            if (op->on.local || op->on.slot < 0)
                continue;
            op->tally = gh_scenario_tally(s, op->kind, op->on.slot);
            if (op->tally >= 0)
                op->special |= GH_OP_SPECIAL_TALLY;
        }
    }
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
                            "{N: 10000}, found %s", sp_desc(n, b, sizeof b));
        int count = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
        if (count > GH_MAX_PARAMS) {
            yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[GH_MAX_PARAMS].key);
            return err_node(c, k, "params: too many parameters (at most %d)", GH_MAX_PARAMS);
        }
        s->params = xcalloc((size_t)count, sizeof *s->params);
        for (int i = 0; i < count; i++) {
            yaml_node_t *k = node_at(c, n->data.mapping.pairs.start[i].key);
            yaml_node_t *v = node_at(c, n->data.mapping.pairs.start[i].value);
            if (!is_scalar(k) || has_nul(k) || !sp_valid_ident(sval(k)))
                return err_node(c, k, "params: expected a parameter name (a letter or `_`, "
                                "then letters, digits or `_`, at most %d), found %s",
                                GH_MAX_NAME, is_scalar(k) ? sp_desc(k, b, sizeof b)
                                                          : "a collection");
            for (int j = 0; j < i; j++)
                if (!strcmp(s->params[j].name, sval(k)))
                    return err_node(c, k, "duplicate key `%s` in params (first given at "
                                    "%d:%d)", sp_clip(sval(k), b2, sizeof b2),
                                    s->params[j].line, s->params[j].column);
            struct gh_param *pp = &s->params[i];
            pp->name = xstrdup(sval(k));
            pp->line = (int)k->start_mark.line + 1;
            pp->column = (int)k->start_mark.column + 1;
            s->nparams = i + 1;
            char what[96];
            snprintf(what, sizeof what, "params: %s", pp->name);
            if (sp_get_int(c, v, what, INT64_MIN, INT64_MAX, &pp->value))
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
            return err_node(c, at, "--param %s: %s", sp_clip(c->overrides[i], b, sizeof b), err);
        int found = -1;
        for (int j = 0; j < s->nparams; j++)
            if (!strcmp(s->params[j].name, name))
                found = j;
        if (found < 0 && s->nparams)
            return err_node(c, at, "--param %s: the scenario has no parameter `%s`; its params "
                            "are: %s", sp_clip(c->overrides[i], b, sizeof b), name, list);
        if (found < 0)
            return err_node(c, at, "--param %s: the scenario has no `params`",
                            sp_clip(c->overrides[i], b, sizeof b));
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
    if (sp_get_fields(c, n, "gc", names, 4, k, v, NULL, 0, NULL))
        return -1;
    if (v[0] && sp_parse_thresholds(c, v[0], "gc: thresholds", g->thresholds, &g->nthresholds))
        return -1;
    if (v[1]) {
        bool on;
        if (sp_get_bool(c, v[1], "gc: enabled", &on))
            return -1;
        g->enabled = on;
    }
    if (v[2]) {
        if (is_scalar(v[2]) && !strcmp(sval(v[2]), "saveall"))
            g->saveall = true;
        else if (!(is_scalar(v[2]) && !strcmp(sval(v[2]), "none")))
            return err_node(c, v[2], "gc: debug: expected saveall (gc.DEBUG_SAVEALL: garbage "
                            "goes to gc.garbage instead of being freed) or none, found %s",
                            sp_desc(v[2], b, sizeof b));
    }
    if (v[3] && sp_get_bool(c, v[3], "gc: freeze", &g->freeze))
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
        sp_join(list, sizeof list, top_names, T_COUNT);
        return err_node(c, root, "the top level: expected a mapping with the keys %s; found %s",
                        list, sp_desc(root, b, sizeof b));
    }
    if (sp_get_fields(c, root, "the top level", top_names, T_COUNT, key, val, NULL, 0, NULL))
        return -1;
    /* First: every integer after this may be a `$NAME`. */
    if (parse_params(c, key[T_PARAMS], val[T_PARAMS], root))
        return -1;

    const char *str;
    if (!val[T_NAME])
        return err_node(c, root, "missing `name`: every scenario needs a name "
                        "(e.g. name: shared-list)");
    if (sp_get_str(c, val[T_NAME], "name", &str))
        return -1;
    if (!sp_valid_label(str))
        return err_node(c, val[T_NAME], "name: expected letters, digits, `.`, `_` or `-` (at "
                        "most %d), found %s", GH_MAX_NAME, sp_desc(val[T_NAME], b, sizeof b));
    s->name = xstrdup(str);

    if (val[T_ABOUT] && !is_null(val[T_ABOUT])) {
        if (sp_get_str(c, val[T_ABOUT], "about", &str))
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
                            "such as 2s, 500ms or 1.5s, at most 1000000000s, found %s", sp_desc(d, b, sizeof b));
    } else if (!val[T_OPS]) {
        /* no length in the file: checked at the end */
    } else if (is_scalar(val[T_OPS]) && !strcmp(sval(val[T_OPS]), "once")) {
        s->once = true;
    } else {
        int64_t v;
        if (!sp_looks_int(val[T_OPS]))
            return err_node(c, val[T_OPS], "ops: expected an integer >= 1 or `once`, found %s",
                            sp_desc(val[T_OPS], b, sizeof b));
        if (sp_get_int(c, val[T_OPS], "ops", 1, INT64_MAX, &v))
            return -1;
        s->ops_per_thread = (uint64_t)v;
    }

    s->seed = 1;
    if (val[T_SEED]) {
        if (sp_get_u64(c, val[T_SEED], "seed", &s->seed))
            return -1;
        /* The results keep it as a JSON integer, signed 64-bit: the same
         * range as --seed. */
        if (s->seed > INT64_MAX)
            return err_node(c, val[T_SEED], "seed: expected an integer from 0 to %" PRId64
                            ", found %" PRIu64, INT64_MAX, s->seed);
        s->has_seed = true;
    }

    if (sp_parse_setup(c, val[T_SETUP]))
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
        if (sp_parse_roles(c, val[T_ROLES]))
            return -1;
    } else if (val[T_MIX] || val[T_SCRIPT]) {
        s->roles = xcalloc(1, sizeof *s->roles);
        s->nroles = 1;
        struct role_src src = {
            .node = root, .mix = val[T_MIX], .script = val[T_SCRIPT], .init = val[T_INIT],
            .after = val[T_AFTER], .mix_key = key[T_MIX], .script_key = key[T_SCRIPT],
        };
        if (sp_parse_role(c, &src, &s->roles[0], "worker"))
            return -1;
    } else if (val[T_INIT] || val[T_AFTER]) {
        yaml_node_t *k = val[T_INIT] ? key[T_INIT] : key[T_AFTER];
        return err_node(c, k, "`%s` at the top level needs a top-level `mix` or `script`",
                        sval(k));
    } else {
        return err_node(c, root, "missing `roles`: expected a list of roles, or a top-level "
                        "`mix` or `script` for a single role");
    }

    if (sp_check_counter_readers(c))
        return -1;

    /* Thread count: the file's, checked against the roles, or a default. */
    int rest;
    int fixed = roles_fixed(s, &rest, list, sizeof list);
    if (fixed > GH_MAX_THREADS)
        return err_node(c, val[T_ROLES] ? val[T_ROLES] : root, "roles: %d threads in all (%s); at most %d", fixed,
                        list, GH_MAX_THREADS);
    if (val[T_THREADS]) {
        int64_t v;
        if (sp_get_int(c, val[T_THREADS], "threads", 1, GH_MAX_THREADS, &v))
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
    resolve_tallies(s);

    s->expect_hazards = GH_EXPECT_HAZARDS_NONE;
    if (val[T_EXPECT] && !is_null(val[T_EXPECT])) {
        static const char *const names[] = {"hazards"};
        yaml_node_t *k[1], *v[1];
        if (sp_get_fields(c, val[T_EXPECT], "expect", names, 1, k, v, NULL, 0, NULL))
            return -1;
        if (v[0]) {
            if (is_scalar(v[0]) && !strcmp(sval(v[0]), "none"))
                s->expect_hazards = GH_EXPECT_HAZARDS_NONE;
            else if (is_scalar(v[0]) && !strcmp(sval(v[0]), "some"))
                s->expect_hazards = GH_EXPECT_HAZARDS_SOME;
            else
                return err_node(c, v[0], "hazards: expected none or some, found %s",
                                sp_desc(v[0], b, sizeof b));
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
        return sp_err_at(c, 1, 1, "out of memory while reading the YAML");
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
            return sp_err_at(c, line, col, "invalid YAML input: %s (0x%X)", problem,
                          (unsigned)p->problem_value);
        return sp_err_at(c, line, col, "invalid YAML input: %s", problem);
    }
    default:
        break;
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return sp_err_at(c, line, col, "invalid YAML: %s (%s at %d:%d)", problem, p->context,
                      (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return sp_err_at(c, line, col, "invalid YAML: %s", problem);
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
                ret = sp_err_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
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
        sp_err_at(&c, 1, 1, "the file is empty: expected a mapping with at least `name`, "
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
        sp_err_at(&c, line, col, "expected one YAML document; a second one starts here");
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
    free(s->tallies);
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
    if (!sp_valid_ident(buf)) {
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
