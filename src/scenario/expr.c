/* expr.c - the check-expression language: tokenizer, recursive-descent
 * parser and evaluator. See docs/scenarios.md, "Checks".
 *
 * Grammar, loosest binding first (the same precedence as Python):
 *
 *   check   := or END
 *   or      := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | cmp
 *   cmp     := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "is" | "is" "not") sum]
 *   sum     := term (("+" | "-") term)*
 *   term    := unary (("*" | "/" | "%") unary)*
 *   unary   := "-" unary | primary
 *   primary := INT | "$" PARAM | "(" or ")" | FUNC "(" ARG ")" | GC ["(" ")"] | NAME
 *            | ("count" | "failed") "(" OP "," NAME ")"
 *
 * FUNC is count or failed (ARG: an op name; with a second argument, a
 * global that the op's `on` may name: the ops of that kind whose `on` is
 * that global); adds (ARG: an int global,
 * the successful global.add ops on it); len, id, getrefcount,
 * getsizeof, value, interned, alive or gc.is_tracked (ARG: an object's
 * NAME; len also takes gc.garbage); finalized (ARG: a class global);
 * callbacks (no ARG). GC is a reading of the collector, gc.NAME or
 * gc.genN.NAME (gh_gc_reading_names). $PARAM is the integer value of a
 * scenario parameter. A NAME is a local of the role
 * (show, assert) or a global; it is an object, not a number, so it may
 * only be an argument or an operand of `is`, `is not`, `==` and `!=` with
 * a NAME on both sides (object identity and equality, evaluated by
 * env->object). Comparisons do not chain (a < b < c is an error, not
 * Python's a < b and b < c). Values are int64; comparisons, `not`, `and`
 * and `or` yield 0 or 1; `and` and `or` short-circuit; `/` and `%` round
 * like Python's // and %.
 *
 * Limits keep every walk shallow: at most GH_EXPR_MAX_NODES nodes per check
 * (so the recursive eval and free are bounded) and GH_EXPR_MAX_NEST nested
 * parentheses / unary operators (so the parser's recursion is bounded).
 */
#include "scenario/scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/die.h"   // gh_die
#include "scenario/parse_internal.h" // sp_newtype_articles

#define GH_EXPR_MAX_NODES 256
#define GH_EXPR_MAX_NEST  64

/* ---- tokens ------------------------------------------------------------ */

enum tok_kind {
    T_END, T_INT, T_IDENT, T_LPAREN, T_RPAREN,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_AND, T_OR, T_NOT, T_IS, T_PARAM, T_COMMA,
};

struct tok {
    enum tok_kind kind;
    size_t off, len;          /* where it is in the text */
    int64_t ival;             /* T_INT */
};

struct eparser {
    const char *text;
    size_t pos;               /* next byte to scan */
    struct tok tok;           /* current token */
    const struct gh_global *globals;
    int nglobals;
    const struct gh_role *role;   /* NULL: globals only (checks) */
    const struct gh_param *params; /* what $NAME reads */
    int nparams;
    gh__expr_pos_fn *posfn;
    void *pos_ctx;
    int nodes;
    int nest;
    bool failed;
    size_t err_off;
    char *err;
    size_t errlen;
};

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

GH_PRINTF(3, 4)
static void ep_error(struct eparser *p, size_t off, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err_off = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static void ep_pos(const struct eparser *p, size_t off, int *line, int *column)
{
    if (p->posfn) {
        p->posfn(p->pos_ctx, off, line, column);
    } else {
        *line = 1;
        *column = (int)off + 1;
    }
}

/* The token as it is written, for messages: "`abc`" or "the end of the
 * check". Long or odd tokens are cut and escaped so the message stays one
 * short line. */
static const char *tok_desc(const struct eparser *p, const struct tok *t, char *buf,
                            size_t len)
{
    if (t->kind == T_END)
        return "the end of the check";
    size_t n = t->len < 40 ? t->len : 40;
    size_t o = 0;
    buf[o++] = '`';
    for (size_t i = 0; i < n && o + 6 < len; i++) {
        unsigned char c = (unsigned char)p->text[t->off + i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < t->len && o + 6 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '`';
    buf[o] = 0;
    return buf;
}

/* Scans the next token into p->tok. */
static void ep_next(struct eparser *p)
{
    const char *s = p->text;
    size_t i = p->pos;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    struct tok t = {.kind = T_END, .off = i, .len = 0};
    char c = s[i];
    if (c == 0) {
        p->tok = t;
        p->pos = i;
        return;
    }
    if (c >= '0' && c <= '9') {
        size_t j = i;
        int64_t v = 0;
        bool overflow = false;
        while (s[j] >= '0' && s[j] <= '9') {
            int d = s[j] - '0';
            if (v > (INT64_MAX - d) / 10)
                overflow = true;
            else
                v = v * 10 + d;
            j++;
        }
        t.kind = T_INT; /* so tok_desc shows its text, not "the end" */
        if (is_ident_char(s[j]) || s[j] == '.') {
            while (is_ident_char(s[j]) || s[j] == '.')
                j++;
            t.len = j - i;
            char b[64];
            ep_error(p, i, "expected a decimal integer, found %s", tok_desc(p, &t, b, sizeof b));
        } else if (overflow) {
            t.len = j - i;
            char b[64];
            ep_error(p, i, "the integer %s is too large (the largest is %" PRId64 ")",
                     tok_desc(p, &t, b, sizeof b), INT64_MAX);
        }
        t.kind = T_INT;
        t.ival = v;
        t.len = j - i;
        p->tok = t;
        p->pos = j;
        return;
    }
    if (is_ident_start(c)) {
        size_t j = i;
        for (;;) {
            while (is_ident_char(s[j]))
                j++;
            if (s[j] == '.' && is_ident_start(s[j + 1]))
                j++;
            else
                break;
        }
        t.kind = T_IDENT;
        t.len = j - i;
        if (t.len == 3 && memcmp(s + i, "and", 3) == 0)
            t.kind = T_AND;
        else if (t.len == 2 && memcmp(s + i, "or", 2) == 0)
            t.kind = T_OR;
        else if (t.len == 3 && memcmp(s + i, "not", 3) == 0)
            t.kind = T_NOT;
        else if (t.len == 2 && memcmp(s + i, "is", 2) == 0)
            t.kind = T_IS;
        p->tok = t;
        p->pos = j;
        return;
    }
    if (c == '$') {
        size_t j = i + 1;
        if (!is_ident_start(s[j])) {
            ep_error(p, i, "`$` starts a parameter's name, such as $N");
        } else {
            while (is_ident_char(s[j]))
                j++;
        }
        t.kind = T_PARAM;
        t.len = j - i;
        p->tok = t;
        p->pos = j;
        return;
    }
    char c2 = s[i + 1];
    t.len = 1;
    switch (c) {
    case '(': t.kind = T_LPAREN; break;
    case ')': t.kind = T_RPAREN; break;
    case ',': t.kind = T_COMMA; break;
    case '+': t.kind = T_PLUS; break;
    case '-': t.kind = T_MINUS; break;
    case '*': t.kind = T_STAR; break;
    case '/': t.kind = T_SLASH; break;
    case '%': t.kind = T_PERCENT; break;
    case '<':
        t.kind = c2 == '=' ? T_LE : T_LT;
        t.len = c2 == '=' ? 2 : 1;
        break;
    case '>':
        t.kind = c2 == '=' ? T_GE : T_GT;
        t.len = c2 == '=' ? 2 : 1;
        break;
    case '=':
        if (c2 == '=') {
            t.kind = T_EQ;
            t.len = 2;
        } else {
            ep_error(p, i, "`=` is not an operator; use `==` to compare");
        }
        break;
    case '!':
        if (c2 == '=') {
            t.kind = T_NE;
            t.len = 2;
        } else {
            ep_error(p, i, "`!` is not an operator; use `not`");
        }
        break;
    case '&':
        ep_error(p, i, "`&` is not an operator; use `and`");
        break;
    case '|':
        ep_error(p, i, "`|` is not an operator; use `or`");
        break;
    default:
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            ep_error(p, i, "unexpected character `%c` in the check", c);
        else
            ep_error(p, i, "unexpected byte 0x%02x in the check", (unsigned char)c);
        break;
    }
    p->tok = t;
    p->pos = i + t.len;
}

static struct gh_expr *mk(struct eparser *p, enum gh_expr_kind kind, size_t off,
                          struct gh_expr *l, struct gh_expr *r)
{
    if (++p->nodes > GH_EXPR_MAX_NODES) {
        ep_error(p, off, "the check is too long (at most %d terms and operators)",
                 GH_EXPR_MAX_NODES);
        gh__expr_free(l);
        gh__expr_free(r);
        return NULL;
    }
    struct gh_expr *e = calloc(1, sizeof *e);
    if (!e)
        gh_die(ENOMEM, "calloc");
    e->kind = kind;
    e->l = l;
    e->r = r;
    ep_pos(p, off, &e->line, &e->column);
    return e;
}

/* ---- parser ------------------------------------------------------------ */

static struct gh_expr *parse_or(struct eparser *p);

static const char operand_hint[] =
    "a number, `(`, `-`, `not`, len(NAME), count(OP) or failed(OP)";

/* The functions, their node kinds and what their argument is. */
enum argkind { ARG_OP, ARG_OBJECT, ARG_CLASS, ARG_NONE, ARG_INT_GLOBAL };
static const struct {
    const char *name;
    enum gh_expr_kind kind;
    enum argkind arg;
} functions[] = {
    {"len", GH_EX_LEN, ARG_OBJECT},
    {"count", GH_EX_COUNT, ARG_OP},
    {"failed", GH_EX_FAILED, ARG_OP},
    {"id", GH_EX_ID, ARG_OBJECT},
    {"getrefcount", GH_EX_REFCNT, ARG_OBJECT},
    {"getsizeof", GH_EX_SIZEOF, ARG_OBJECT},
    {"value", GH_EX_VALUE, ARG_OBJECT},
    {"interned", GH_EX_INTERNED, ARG_OBJECT},
    {"alive", GH_EX_ALIVE, ARG_OBJECT},
    {"finalized", GH_EX_FINALIZED, ARG_CLASS},
    {"callbacks", GH_EX_CALLBACKS, ARG_NONE},
    {"adds", GH_EX_ADDS, ARG_INT_GLOBAL},
    {"gc.is_tracked", GH_EX_GC_TRACKED, ARG_OBJECT},
};

static int find_function(const char *s, size_t len)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(functions); i++)
        if (strlen(functions[i].name) == len && memcmp(functions[i].name, s, len) == 0)
            return (int)i;
    return -1;
}

/* Resolves an object name: a local of the role first, then a global.
 * Returns false when there is none. */
static bool resolve_name(const struct eparser *p, const char *name, bool *local, int *slot)
{
    for (int i = 0; p->role && i < p->role->nlocals; i++)
        if (strcmp(p->role->locals[i], name) == 0) {
            *local = true;
            *slot = i;
            return true;
        }
    for (int i = 0; i < p->nglobals; i++)
        if (strcmp(p->globals[i].name, name) == 0) {
            *local = false;
            *slot = i;
            return true;
        }
    return false;
}

static const char *names_hint(const struct eparser *p)
{
    return p->role ? "a local of this role or a global from `setup`"
                   : "a global from `setup` (after the run only globals exist)";
}

/* Copies the identifier token t into name[64]; false (an error) when it
 * does not fit. */
static bool tok_name(struct eparser *p, const struct tok *t, char name[64])
{
    char b[64];
    if (t->len >= 64) {
        ep_error(p, t->off, "the name %s is too long", tok_desc(p, t, b, sizeof b));
        return false;
    }
    memcpy(name, p->text + t->off, t->len);
    name[t->len] = 0;
    return true;
}

/* A NAME node for the identifier token t (its offset kept in ival). */
static struct gh_expr *name_node(struct eparser *p, struct tok t)
{
    char name[64];
    if (!tok_name(p, &t, name))
        return NULL;
    bool local;
    int slot;
    if (!resolve_name(p, name, &local, &slot)) {
        ep_error(p, t.off, "unexpected name `%s`: not %s; a check reads values through "
                 "len(NAME), count(OP), failed(OP) and the other functions", name,
                 names_hint(p));
        return NULL;
    }
    if (local && p->role->local_types && p->role->local_types[slot] == GH_NEW_SNAPSHOT) {
        ep_error(p, t.off, "`%s` is a trace snapshot, not an object", name);
        return NULL;
    }
    struct gh_expr *e = mk(p, GH_EX_NAME, t.off, NULL, NULL);
    if (e) {
        e->local = local;
        e->slot = slot;
        e->ival = (int64_t)t.off;
    }
    return e;
}

/* The second argument of count(OP, NAME) and failed(OP, NAME), the
 * current token being the comma: a global from `setup` that an op of kind
 * `op` may name in its `on`. Leaves the token after the name current;
 * false after an error. */
static bool parse_count_target(struct eparser *p, const char *fname, enum gh_op_kind op,
                               int *slot)
{
    char b[64], name[64];
    const char *opname = gh_op_names[op];
    ep_next(p);
    if (p->failed)
        return false;
    struct tok t = p->tok;
    if (t.kind != T_IDENT) {
        ep_error(p, t.off, "expected the name of a global after %s(%s, found %s", fname, opname,
                 tok_desc(p, &t, b, sizeof b));
        return false;
    }
    if (!tok_name(p, &t, name))
        return false;
    bool local = false;
    int g = -1;
    if (!resolve_name(p, name, &local, &g) || local) {
        ep_error(p, t.off, "%s(%s, %s): `%s` is %s; %s(OP, NAME) counts the ops of OP whose "
                 "`on` is the global NAME", fname, opname, name, name,
                 local ? "a local of this role, not a global from `setup`"
                       : "not a global from `setup`", fname);
        return false;
    }
    enum gh_op_need need = gh_op_rules[op].on;
    const struct gh_global *gl = &p->globals[g];
    if (need == GH_NEED_NONE) {
        ep_error(p, t.off, "%s(%s, %s): %s has no `on`, so no %s op works on a global; "
                 "write %s(%s)", fname, opname, name, opname, opname, fname, opname);
        return false;
    }
    if (need == GH_NEED_LOCAL || need == GH_NEED_TUPLE_LOCAL || need == GH_NEED_STR_LOCAL) {
        ep_error(p, t.off, "%s(%s, %s): the `on` of %s is a local of its role, never a global; "
                 "write %s(%s)", fname, opname, name, opname, fname, opname);
        return false;
    }
    if (!gh_op_need_ok(need, gl->type)) {
        ep_error(p, t.off, "%s(%s, %s): %s needs %s in `on`, but `%s` is %s (set up at %d:%d)",
                 fname, opname, name, opname,
                 need == GH_NEED_ANY ? "an object" : gh_op_need_articles[need], name,
                 sp_newtype_articles[gl->type], gl->line, gl->column);
        return false;
    }
    ep_next(p);
    if (p->tok.kind == T_COMMA) {
        ep_error(p, p->tok.off, "%s takes one or two arguments, %s(OP) or %s(OP, NAME); found "
                 "a third after %s(%s, %s", fname, fname, fname, fname, opname, name);
        return false;
    }
    *slot = g;
    return true;
}

static struct gh_expr *parse_call(struct eparser *p)
{
    struct tok fn = p->tok;
    char b[64];
    int f = find_function(p->text + fn.off, fn.len);
    if (f < 0) {
        ep_error(p, fn.off, "unknown function %s; expected len, count, failed, id, "
                 "getrefcount, getsizeof, value, interned, alive, finalized, callbacks, adds "
                 "or gc.is_tracked", tok_desc(p, &fn, b, sizeof b));
        return NULL;
    }
    const char *fname = functions[f].name;
    enum gh_expr_kind kind = functions[f].kind;
    enum argkind ak = functions[f].arg;
    ep_next(p);
    if (p->tok.kind != T_LPAREN) {
        ep_error(p, p->tok.off, "expected `(` after %s, found %s", fname,
                 tok_desc(p, &p->tok, b, sizeof b));
        return NULL;
    }
    ep_next(p);
    if (p->failed)
        return NULL;
    struct gh_expr *arg_node = NULL;
    int slot = -1;
    enum gh_op_kind op = GH_OP_COUNT;
    char name[64] = "";
    if (ak != ARG_NONE) {
        struct tok arg = p->tok;
        if (arg.kind != T_IDENT && !(ak == ARG_OP && arg.kind == T_IS)) {
            ep_error(p, arg.off, "expected %s inside %s(), found %s",
                     ak == ARG_OP ? "an op name" : ak == ARG_CLASS ? "the name of a class global"
                     : ak == ARG_INT_GLOBAL ? "the name of an int global"
                     : kind == GH_EX_LEN && !p->role ? "the name of a global list or dict"
                     : "the name of an object", fname, tok_desc(p, &arg, b, sizeof b));
            return NULL;
        }
        if (!tok_name(p, &arg, name))
            return NULL;
        if (ak == ARG_OBJECT && strcmp(name, "gc.garbage") == 0) {
            if (kind != GH_EX_LEN) {
                ep_error(p, arg.off, "%s(gc.garbage): gc.garbage is read only by "
                         "len(gc.garbage)", fname);
                return NULL;
            }
            ep_next(p);
            if (p->tok.kind != T_RPAREN) {
                ep_error(p, p->tok.off, "expected `)` after len(gc.garbage, found %s",
                         tok_desc(p, &p->tok, b, sizeof b));
                return NULL;
            }
            ep_next(p);
            struct gh_expr *g = mk(p, GH_EX_GC, fn.off, NULL, NULL);
            if (g) {
                g->ival = GH_GCR_GARBAGE_LEN;
                g->slot = -1;
            }
            return g;
        }
        if (ak == ARG_OP) {
            op = gh_op_from_name(name);
            if (op == GH_OP_COUNT) {
                char list[1024];
                size_t o = 0;
                list[0] = 0;
                for (int i = 0; i < GH_OP_COUNT && o < sizeof list; i++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                                          gh_op_names[i]);
                ep_error(p, arg.off, "%s(%s): unknown op `%s`; expected one of %s", fname,
                         name, name, list);
                return NULL;
            }
        } else if (ak == ARG_INT_GLOBAL) {
            for (int i = 0; i < p->nglobals; i++)
                if (strcmp(p->globals[i].name, name) == 0)
                    slot = i;
            if (slot < 0 || (p->globals[slot].type != GH_NEW_INT &&
                             p->globals[slot].type != GH_NEW_SMALL_INT)) {
                ep_error(p, arg.off, "%s(%s): `%s` is not an int global from `setup` (a "
                         "counter that global.add updates)", fname, name, name);
                return NULL;
            }
        } else if (ak == ARG_CLASS) {
            for (int i = 0; i < p->nglobals; i++)
                if (strcmp(p->globals[i].name, name) == 0)
                    slot = i;
            if (slot < 0 || p->globals[slot].type != GH_NEW_CLASS) {
                ep_error(p, arg.off, "%s(%s): `%s` is not a class from `setup` (a global "
                         "{type: class})", fname, name, name);
                return NULL;
            }
        } else {
            bool local;
            if (!resolve_name(p, name, &local, &slot)) {
                if (kind == GH_EX_LEN && !p->role)
                    ep_error(p, arg.off, "len(%s): `%s` is not a global (len() reads a global "
                             "list or dict named in `setup`)", name, name);
                else
                    ep_error(p, arg.off, "%s(%s): `%s` is not %s", fname, name, name,
                             names_hint(p));
                return NULL;
            }
            enum gh_newtype t = local ? (p->role->local_types ? p->role->local_types[slot]
                                                              : GH_NEW_ANY)
                                      : p->globals[slot].type;
            if (t == GH_NEW_SNAPSHOT) {
                ep_error(p, arg.off, "%s(%s): `%s` is a trace snapshot, not an object", fname,
                         name, name);
                return NULL;
            }
            if (kind == GH_EX_LEN && (t == GH_NEW_INT || t == GH_NEW_OBJECT ||
                                      t == GH_NEW_FLOAT || t == GH_NEW_NONE ||
                                      t == GH_NEW_BARE_OBJECT || t == GH_NEW_FUNCTION ||
                                      t == GH_NEW_CLASS || t == GH_NEW_SMALL_INT)) {
                ep_error(p, arg.off, "len(%s): `%s` is %s; len() needs a sized object (a list, "
                         "dict, set, tuple, str...)", name, name,
                         t == GH_NEW_INT || t == GH_NEW_SMALL_INT ? "an int"
                         : t == GH_NEW_FLOAT ? "a float" : "an object without a length");
                return NULL;
            }
            arg_node = mk(p, GH_EX_NAME, arg.off, NULL, NULL);
            if (!arg_node)
                return NULL;
            arg_node->local = local;
            arg_node->slot = slot;
            arg_node->ival = (int64_t)arg.off;
        }
        ep_next(p);
        if (p->tok.kind == T_COMMA && ak != ARG_OP) {
            ep_error(p, p->tok.off, "%s takes one argument: expected `)` after %s(%s, found `,`",
                     fname, fname, name);
            gh__expr_free(arg_node);
            return NULL;
        }
        if (p->tok.kind == T_COMMA && !parse_count_target(p, fname, op, &slot))
            return NULL;
    }
    if (p->tok.kind != T_RPAREN) {
        if (slot >= 0 && ak == ARG_OP)
            ep_error(p, p->tok.off, "expected `)` after %s(%s, %s, found %s", fname, name,
                     p->globals[slot].name, tok_desc(p, &p->tok, b, sizeof b));
        else
            ep_error(p, p->tok.off, "expected `)` after %s(%s, found %s", fname, name,
                     tok_desc(p, &p->tok, b, sizeof b));
        gh__expr_free(arg_node);
        return NULL;
    }
    ep_next(p);
    struct gh_expr *e = mk(p, kind, fn.off, arg_node, NULL);
    if (e) {
        e->slot = arg_node ? arg_node->slot : slot;
        e->local = arg_node && arg_node->local;
        e->op = op;
    }
    return e;
}

/* An object NAME where a number is needed is an error. */
static bool reject_name(struct eparser *p, const struct gh_expr *e)
{
    if (!e || e->kind != GH_EX_NAME)
        return false;
    const char *n = e->local ? p->role->locals[e->slot] : p->globals[e->slot].name;
    ep_error(p, (size_t)e->ival, "`%s` is an object, not a number: compare it with `is`, "
             "`is not`, `==` or `!=` to another name, or read it with len(%s), value(%s), "
             "id(%s)...", n, n, n, n);
    return true;
}

/* The readings' names, for messages: "collections, collected, ...". */
static void gc_reading_list(char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < GH_GCR_COUNT_ && o < len; i++)
        if (i != GH_GCR_GARBAGE_LEN)
            o += (size_t)snprintf(buf + o, len - o, "%sgc.%s", o ? ", " : "",
                                  gh_gc_reading_names[i]);
}

/* gc.NAME or gc.genN.NAME, optionally followed by `()` (gc.isenabled() as
 * Python writes it): a reading of the collector. */
static struct gh_expr *parse_gc_reading(struct eparser *p)
{
    struct tok t = p->tok;
    char b[64], list[512];
    const char *s = p->text + t.off + 3;
    size_t n = t.len - 3;
    int gen = -1;
    if (n > 3 && memcmp(s, "gen", 3) == 0 && s[3] >= '0' && s[3] <= '9') {
        size_t d = 3;
        int v = 0;
        while (d < n && s[d] >= '0' && s[d] <= '9' && v < 1000)
            v = v * 10 + (s[d++] - '0');
        if (d == n || s[d] != '.' || v > 2) {
            ep_error(p, t.off, "%s: the generations are gc.gen0, gc.gen1 and gc.gen2, "
                     "followed by .collections, .collected, .uncollectable, .count or "
                     ".threshold", tok_desc(p, &t, b, sizeof b));
            return NULL;
        }
        gen = v;
        s += d + 1;
        n -= d + 1;
    }
    int r = -1;
    for (int i = 0; i < GH_GCR_COUNT_; i++)
        if (strlen(gh_gc_reading_names[i]) == n && memcmp(gh_gc_reading_names[i], s, n) == 0)
            r = i;
    if (r == GH_GCR_GARBAGE_LEN && gen < 0) {
        ep_error(p, t.off, "gc.garbage is a list: read its length with len(gc.garbage)");
        return NULL;
    }
    if (r < 0 || r == GH_GCR_GARBAGE_LEN) {
        gc_reading_list(list, sizeof list);
        ep_error(p, t.off, "unknown reading %s of the collector; expected %s, len(gc.garbage), "
                 "gc.is_tracked(NAME), or gc.genN.collections, .collected, .uncollectable, "
                 ".count, .threshold (N = 0, 1, 2)", tok_desc(p, &t, b, sizeof b), list);
        return NULL;
    }
    if (gen >= 0 && !GH_GCR_PER_GEN(r)) {
        ep_error(p, t.off, "%s: only collections, collected, uncollectable, count and "
                 "threshold are read per generation; write gc.%s",
                 tok_desc(p, &t, b, sizeof b), gh_gc_reading_names[r]);
        return NULL;
    }
    ep_next(p);
    if (p->tok.kind == T_LPAREN) {
        ep_next(p);
        if (p->tok.kind != T_RPAREN) {
            ep_error(p, p->tok.off, "%.*s takes no argument: expected `)`, found %s",
                     (int)t.len, p->text + t.off, tok_desc(p, &p->tok, b, sizeof b));
            return NULL;
        }
        ep_next(p);
    }
    if (p->failed)
        return NULL;
    struct gh_expr *e = mk(p, GH_EX_GC, t.off, NULL, NULL);
    if (e) {
        e->ival = r;
        e->slot = gen;
    }
    return e;
}

/* $NAME: the integer value of a scenario parameter. */
static struct gh_expr *parse_param(struct eparser *p)
{
    struct tok t = p->tok;
    char b[64], list[512];
    ep_next(p);
    if (p->failed)
        return NULL;
    for (int i = 0; i < p->nparams; i++) {
        if (strlen(p->params[i].name) == t.len - 1 &&
            memcmp(p->params[i].name, p->text + t.off + 1, t.len - 1) == 0) {
            struct gh_expr *e = mk(p, GH_EX_INT, t.off, NULL, NULL);
            if (e)
                e->ival = p->params[i].value;
            return e;
        }
    }
    size_t o = 0;
    list[0] = 0;
    for (int i = 0; i < p->nparams && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s$%s", i ? ", " : "",
                              p->params[i].name);
    if (p->nparams)
        ep_error(p, t.off, "unknown parameter %s; the scenario's params are: %s",
                 tok_desc(p, &t, b, sizeof b), list);
    else
        ep_error(p, t.off, "unknown parameter %s: the scenario has no `params`",
                 tok_desc(p, &t, b, sizeof b));
    return NULL;
}

static bool is_gc_name(const struct eparser *p, const struct tok *t)
{
    return t->len > 3 && memcmp(p->text + t->off, "gc.", 3) == 0 &&
           !(t->len == 13 && memcmp(p->text + t->off, "gc.is_tracked", 13) == 0);
}

static struct gh_expr *parse_primary(struct eparser *p)
{
    if (p->failed)
        return NULL;
    struct tok t = p->tok;
    char b[64];
    switch (t.kind) {
    case T_INT: {
        ep_next(p);
        struct gh_expr *e = mk(p, GH_EX_INT, t.off, NULL, NULL);
        if (e)
            e->ival = t.ival;
        return e;
    }
    case T_LPAREN: {
        if (++p->nest > GH_EXPR_MAX_NEST) {
            ep_error(p, t.off, "the check nests too deeply (at most %d levels)",
                     GH_EXPR_MAX_NEST);
            return NULL;
        }
        ep_next(p);
        struct gh_expr *e = parse_or(p);
        p->nest--;
        if (!e)
            return NULL;
        if (p->tok.kind != T_RPAREN) {
            int line, col;
            ep_pos(p, t.off, &line, &col);
            ep_error(p, p->tok.off, "expected `)` to close the `(` at %d:%d, found %s", line,
                     col, tok_desc(p, &p->tok, b, sizeof b));
            gh__expr_free(e);
            return NULL;
        }
        ep_next(p);
        return e;
    }
    case T_PARAM:
        return parse_param(p);
    case T_IDENT: {
        if (is_gc_name(p, &t))
            return parse_gc_reading(p);
        /* A call: the name must be followed by `(`. */
        size_t j = p->pos;
        while (p->text[j] == ' ' || p->text[j] == '\t' || p->text[j] == '\n' ||
               p->text[j] == '\r')
            j++;
        if (p->text[j] == '(' || find_function(p->text + t.off, t.len) >= 0)
            return parse_call(p);
        ep_next(p);
        return name_node(p, t);
    }
    default:
        ep_error(p, t.off, "expected an operand (%s), found %s", operand_hint,
                 tok_desc(p, &t, b, sizeof b));
        return NULL;
    }
}

static struct gh_expr *parse_unary(struct eparser *p)
{
    if (p->failed)
        return NULL;
    if (p->tok.kind != T_MINUS)
        return parse_primary(p);
    size_t off = p->tok.off;
    if (++p->nest > GH_EXPR_MAX_NEST) {
        ep_error(p, off, "the check nests too deeply (at most %d levels)", GH_EXPR_MAX_NEST);
        return NULL;
    }
    ep_next(p);
    struct gh_expr *x = parse_unary(p);
    p->nest--;
    if (!x)
        return NULL;
    if (reject_name(p, x)) {
        gh__expr_free(x);
        return NULL;
    }
    return mk(p, GH_EX_NEG, off, x, NULL);
}

/* One left-associative level: operand (op operand)*. */
static struct gh_expr *parse_binary_level(struct eparser *p,
                                          struct gh_expr *(*operand)(struct eparser *),
                                          const enum tok_kind *toks,
                                          const enum gh_expr_kind *kinds, int n)
{
    struct gh_expr *l = operand(p);
    while (l && !p->failed) {
        int k = -1;
        for (int i = 0; i < n; i++)
            if (p->tok.kind == toks[i])
                k = i;
        if (k < 0)
            break;
        if (reject_name(p, l))
            break;
        ep_next(p);
        struct gh_expr *r = operand(p);
        if (!r) {
            gh__expr_free(l);
            return NULL;
        }
        if (reject_name(p, r)) {
            gh__expr_free(l);
            gh__expr_free(r);
            return NULL;
        }
        /* The node starts where its left operand starts. */
        struct gh_expr *e = mk(p, kinds[k], 0, l, r);
        if (!e)
            return NULL;
        e->line = l->line;
        e->column = l->column;
        l = e;
    }
    if (p->failed && l) {
        gh__expr_free(l);
        return NULL;
    }
    return l;
}

static struct gh_expr *parse_term(struct eparser *p)
{
    static const enum tok_kind toks[] = {T_STAR, T_SLASH, T_PERCENT};
    static const enum gh_expr_kind kinds[] = {GH_EX_MUL, GH_EX_DIV, GH_EX_MOD};
    return parse_binary_level(p, parse_unary, toks, kinds, 3);
}

static struct gh_expr *parse_sum(struct eparser *p)
{
    static const enum tok_kind toks[] = {T_PLUS, T_MINUS};
    static const enum gh_expr_kind kinds[] = {GH_EX_ADD, GH_EX_SUB};
    return parse_binary_level(p, parse_term, toks, kinds, 2);
}

static bool is_cmp(enum tok_kind k)
{
    return k == T_EQ || k == T_NE || k == T_LT || k == T_LE || k == T_GT || k == T_GE ||
           k == T_IS;
}

static struct gh_expr *parse_cmp(struct eparser *p)
{
    struct gh_expr *l = parse_sum(p);
    if (!l || p->failed || !is_cmp(p->tok.kind))
        goto out;
    enum gh_expr_kind kind;
    size_t opoff = p->tok.off;
    switch (p->tok.kind) {
    case T_EQ: kind = GH_EX_EQ; break;
    case T_NE: kind = GH_EX_NE; break;
    case T_LT: kind = GH_EX_LT; break;
    case T_LE: kind = GH_EX_LE; break;
    case T_GT: kind = GH_EX_GT; break;
    case T_IS: kind = GH_EX_IS; break;
    default:   kind = GH_EX_GE; break;
    }
    ep_next(p);
    if (kind == GH_EX_IS && p->tok.kind == T_NOT) {
        kind = GH_EX_ISNOT;
        ep_next(p);
    }
    struct gh_expr *r = parse_sum(p);
    if (!r)
        goto out;
    if (is_cmp(p->tok.kind)) {
        ep_error(p, p->tok.off, "comparisons do not chain; join them with `and`");
        gh__expr_free(r);
        goto out;
    }
    bool names = l->kind == GH_EX_NAME && r->kind == GH_EX_NAME;
    if (kind == GH_EX_IS || kind == GH_EX_ISNOT) {
        if (!names) {
            ep_error(p, opoff, "`is` compares two objects by identity: write NAME is NAME "
                     "(or NAME is not NAME)");
            gh__expr_free(r);
            goto out;
        }
    } else if (names && (kind == GH_EX_EQ || kind == GH_EX_NE)) {
        kind = kind == GH_EX_EQ ? GH_EX_OBJ_EQ : GH_EX_OBJ_NE;
    } else if (reject_name(p, l) || reject_name(p, r)) {
        gh__expr_free(r);
        goto out;
    }
    struct gh_expr *e = mk(p, kind, 0, l, r);
    if (!e)
        return NULL;
    e->line = l->line;
    e->column = l->column;
    return e;
out:
    if (p->failed) {
        gh__expr_free(l);
        return NULL;
    }
    return l;
}

static struct gh_expr *parse_not(struct eparser *p)
{
    if (p->failed)
        return NULL;
    if (p->tok.kind != T_NOT)
        return parse_cmp(p);
    size_t off = p->tok.off;
    if (++p->nest > GH_EXPR_MAX_NEST) {
        ep_error(p, off, "the check nests too deeply (at most %d levels)", GH_EXPR_MAX_NEST);
        return NULL;
    }
    ep_next(p);
    struct gh_expr *x = parse_not(p);
    p->nest--;
    if (!x)
        return NULL;
    if (reject_name(p, x)) {
        gh__expr_free(x);
        return NULL;
    }
    return mk(p, GH_EX_NOT, off, x, NULL);
}

static struct gh_expr *parse_and(struct eparser *p)
{
    static const enum tok_kind toks[] = {T_AND};
    static const enum gh_expr_kind kinds[] = {GH_EX_AND};
    return parse_binary_level(p, parse_not, toks, kinds, 1);
}

static struct gh_expr *parse_or(struct eparser *p)
{
    static const enum tok_kind toks[] = {T_OR};
    static const enum gh_expr_kind kinds[] = {GH_EX_OR};
    return parse_binary_level(p, parse_and, toks, kinds, 1);
}

struct gh_expr *gh__expr_parse(const char *text, const struct gh_global *globals,
                               int nglobals, gh__expr_pos_fn *pos, void *pos_ctx,
                               size_t *err_offset, char *err, size_t errlen)
{
    return gh__expr_parse_in(text, globals, nglobals, NULL, pos, pos_ctx, err_offset, err,
                             errlen);
}

struct gh_expr *gh__expr_parse_in(const char *text, const struct gh_global *globals,
                                  int nglobals, const struct gh_role *role,
                                  gh__expr_pos_fn *pos, void *pos_ctx, size_t *err_offset,
                                  char *err, size_t errlen)
{
    return gh__expr_parse_params(text, globals, nglobals, role, NULL, 0, pos, pos_ctx,
                                 err_offset, err, errlen);
}

struct gh_expr *gh__expr_parse_params(const char *text, const struct gh_global *globals,
                                      int nglobals, const struct gh_role *role,
                                      const struct gh_param *params, int nparams,
                                      gh__expr_pos_fn *pos, void *pos_ctx,
                                      size_t *err_offset, char *err, size_t errlen)
{
    struct eparser p = {
        .text = text, .globals = globals, .nglobals = nglobals, .role = role,
        .params = params, .nparams = nparams,
        .posfn = pos, .pos_ctx = pos_ctx, .err = err, .errlen = errlen,
    };
    if (errlen)
        err[0] = 0;
    ep_next(&p);
    struct gh_expr *e = NULL;
    if (!p.failed && p.tok.kind == T_END) {
        ep_error(&p, p.tok.off, "empty check: expected an expression such as "
                 "len(L) == count(list.append)");
    } else {
        e = parse_or(&p);
        if (e && !p.failed)
            reject_name(&p, e);
        if (e && !p.failed && p.tok.kind != T_END) {
            char b[64];
            ep_error(&p, p.tok.off, "expected an operator or the end of the check, found %s",
                     tok_desc(&p, &p.tok, b, sizeof b));
        }
    }
    if (p.failed) {
        gh__expr_free(e);
        if (err_offset)
            *err_offset = p.err_off;
        return NULL;
    }
    return e;
}

void gh__expr_free(struct gh_expr *e)
{
    if (!e)
        return;
    gh__expr_free(e->l);
    gh__expr_free(e->r);
    free(e);
}

/* ---- evaluation -------------------------------------------------------- */

static const char *op_symbol(enum gh_expr_kind k)
{
    switch (k) {
    case GH_EX_NEG: return "unary -";
    case GH_EX_ADD: return "+";
    case GH_EX_SUB: return "-";
    case GH_EX_MUL: return "*";
    case GH_EX_DIV: return "/";
    case GH_EX_MOD: return "%";
    default:        return "?";
    }
}

int gh__expr_error(const struct gh_expr *e, char *err, size_t errlen, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (errlen)
        snprintf(err, errlen, "%s (in the expression at %d:%d)", what, e->line, e->column);
    return -1;
}

static int ev(const struct gh_expr *e, const struct gh_eval_env *env, int64_t *out,
              char *err, size_t errlen)
{
    int64_t a = 0, b = 0;
    switch (e->kind) {
    case GH_EX_INT:
        *out = e->ival;
        return 0;
    case GH_EX_LEN:
        if (env && env->object)
            return env->object(env->ctx, e, out, err, errlen);
        if (!env || !env->len || e->local)
            return gh__expr_error(e, err, errlen, "len() is not available here");
        *out = env->len(env->ctx, e->slot);
        return 0;
    case GH_EX_NAME:
        return gh__expr_error(e, err, errlen, "an object is not a number");
    case GH_EX_ID: case GH_EX_REFCNT: case GH_EX_SIZEOF: case GH_EX_VALUE:
    case GH_EX_INTERNED: case GH_EX_ALIVE: case GH_EX_FINALIZED: case GH_EX_CALLBACKS:
    case GH_EX_IS: case GH_EX_ISNOT: case GH_EX_OBJ_EQ: case GH_EX_OBJ_NE:
    case GH_EX_GC: case GH_EX_GC_TRACKED:
        if (!env || !env->object)
            return gh__expr_error(e, err, errlen, "objects cannot be read here");
        return env->object(env->ctx, e, out, err, errlen);
    case GH_EX_ADDS:
        if (env && env->adds) {
            uint64_t v = env->adds(env->ctx, e->slot);
            if (v > (uint64_t)INT64_MAX)
                return gh__expr_error(e, err, errlen, "integer overflow: adds() = %" PRIu64, v);
            *out = (int64_t)v;
            return 0;
        }
        if (!env || !env->object)
            return gh__expr_error(e, err, errlen, "adds() is not available here");
        return env->object(env->ctx, e, out, err, errlen);
    case GH_EX_COUNT:
    case GH_EX_FAILED: {
        const char *fname = e->kind == GH_EX_COUNT ? "count" : "failed";
        uint64_t v;
        if (e->slot >= 0) {
            /* count(OP, NAME), failed(OP, NAME) */
            if (!env || !env->count_on)
                return gh__expr_error(e, err, errlen, "%s(OP, NAME) is not available here",
                                      fname);
            v = env->count_on(env->ctx, e->op, e->slot, e->kind == GH_EX_FAILED);
        } else {
            uint64_t (*fn)(void *, enum gh_op_kind) =
                !env ? NULL : e->kind == GH_EX_COUNT ? env->count : env->failed;
            if (!fn)
                return gh__expr_error(e, err, errlen, "%s() is not available here", fname);
            v = fn(env->ctx, e->op);
        }
        if (v > (uint64_t)INT64_MAX)
            return gh__expr_error(e, err, errlen, "integer overflow: %s(%s%s) = %" PRIu64,
                                  fname, gh_op_names[e->op], e->slot >= 0 ? ", NAME" : "", v);
        *out = (int64_t)v;
        return 0;
    }
    case GH_EX_NEG:
        if (ev(e->l, env, &a, err, errlen))
            return -1;
        if (a == INT64_MIN)
            return gh__expr_error(e, err, errlen, "integer overflow in unary -");
        *out = -a;
        return 0;
    case GH_EX_NOT:
        if (ev(e->l, env, &a, err, errlen))
            return -1;
        *out = a == 0;
        return 0;
    case GH_EX_AND:
    case GH_EX_OR:
        if (ev(e->l, env, &a, err, errlen))
            return -1;
        if (e->kind == GH_EX_AND ? a == 0 : a != 0) {
            *out = e->kind == GH_EX_OR;
            return 0;
        }
        if (ev(e->r, env, &b, err, errlen))
            return -1;
        *out = b != 0;
        return 0;
    default:
        break;
    }
    if (ev(e->l, env, &a, err, errlen) || ev(e->r, env, &b, err, errlen))
        return -1;
    switch (e->kind) {
    case GH_EX_ADD:
        if (__builtin_add_overflow(a, b, out))
            goto overflow;
        return 0;
    case GH_EX_SUB:
        if (__builtin_sub_overflow(a, b, out))
            goto overflow;
        return 0;
    case GH_EX_MUL:
        if (__builtin_mul_overflow(a, b, out))
            goto overflow;
        return 0;
    case GH_EX_DIV:
    case GH_EX_MOD:
        if (b == 0)
            return gh__expr_error(e->r, err, errlen, "division by zero: the right side of `%s` is 0",
                            op_symbol(e->kind));
        if (b == -1) {
            /* INT64_MIN / -1 overflows; x % -1 is 0 (and UB in C for INT64_MIN). */
            if (e->kind == GH_EX_MOD) {
                *out = 0;
                return 0;
            }
            if (a == INT64_MIN)
                goto overflow;
            *out = -a;
            return 0;
        }
        if (e->kind == GH_EX_DIV) {
            int64_t q = a / b;
            if (a % b != 0 && ((a < 0) != (b < 0)))
                q--;                        /* round toward -inf, as Python's // */
            *out = q;
        } else {
            int64_t r = a % b;
            if (r != 0 && ((r < 0) != (b < 0)))
                r += b;                     /* the sign of the divisor, as Python's % */
            *out = r;
        }
        return 0;
    case GH_EX_EQ: *out = a == b; return 0;
    case GH_EX_NE: *out = a != b; return 0;
    case GH_EX_LT: *out = a < b; return 0;
    case GH_EX_LE: *out = a <= b; return 0;
    case GH_EX_GT: *out = a > b; return 0;
    case GH_EX_GE: *out = a >= b; return 0;
    default:
        return gh__expr_error(e, err, errlen, "bad expression node %d", (int)e->kind);
    }
overflow:
    return gh__expr_error(e, err, errlen, "integer overflow in %" PRId64 " %s %" PRId64, a,
                    op_symbol(e->kind), b);
}

bool gh_expr_is_bool(const struct gh_expr *e)
{
    switch (e->kind) {
    case GH_EX_EQ: case GH_EX_NE: case GH_EX_LT: case GH_EX_LE: case GH_EX_GT: case GH_EX_GE:
    case GH_EX_NOT: case GH_EX_AND: case GH_EX_OR: case GH_EX_INTERNED: case GH_EX_ALIVE:
    case GH_EX_IS: case GH_EX_ISNOT: case GH_EX_OBJ_EQ: case GH_EX_OBJ_NE:
    case GH_EX_GC_TRACKED:
        return true;
    case GH_EX_GC:
        return e->ival == GH_GCR_ISENABLED;
    default:
        return false;
    }
}

int gh_expr_eval(const struct gh_expr *e, const struct gh_eval_env *env, int64_t *out,
                 char *err, size_t errlen)
{
    int64_t v = 0;
    if (errlen)
        err[0] = 0;
    if (!e) {
        if (errlen)
            snprintf(err, errlen, "no expression");
        return -1;
    }
    if (ev(e, env, &v, err, errlen))
        return -1;
    *out = v;
    return 0;
}
