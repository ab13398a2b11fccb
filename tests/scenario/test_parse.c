/* test_parse.c - the scenario parser, the check language, thread
 * assignment and durations (src/scenario/{parse,expr,ops}.c).
 *
 * Error tests assert the exact FILE:LINE:COLUMN and a key phrase of the
 * message; their inputs are in tests/scenario/data/ or written inline.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/scenario.h"

#define DATA GH_SOURCE_DIR "/tests/scenario/data/"
#define SCEN GH_SOURCE_DIR "/scenarios/"

/* ---- helpers ----------------------------------------------------------- */

static void assert_diag(const char *msg, const char *file, int line, int col,
                        const char *phrase)
{
    char prefix[1200];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", file, line, col);
    cr_assert(strncmp(msg, prefix, strlen(prefix)) == 0, "got:  %s\nwant: %s...", msg, prefix);
    cr_assert(strstr(msg, phrase) != NULL, "`%s` not in: %s", phrase, msg);
    cr_assert(strchr(msg, '\n') == NULL, "not one line: %s", msg);
}

/* Loads tests/scenario/data/NAME and expects an error at LINE:COL. */
static void file_error(const char *name, int line, int col, const char *phrase)
{
    char path[1024];
    snprintf(path, sizeof path, DATA "%s", name);
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_load(path, &d);
    bool parsed = s != NULL;
    gh_scenario_free(s);
    cr_assert(!parsed, "%s parsed, but should not", name);
    assert_diag(d.msg, path, line, col, phrase);
}

static void text_error(const char *text, int line, int col, const char *phrase)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, strlen(text), "t.yaml", &d);
    bool parsed = s != NULL;
    gh_scenario_free(s);
    cr_assert(!parsed, "parsed, but should not:\n%s", text);
    assert_diag(d.msg, "t.yaml", line, col, phrase);
}

static struct gh_scenario *text_ok(const char *text)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, strlen(text), "t.yaml", &d);
    cr_assert_not_null(s, "did not parse: %s", d.msg);
    return s;
}

static struct gh_scenario *load_ok(const char *path)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_load(path, &d);
    cr_assert_not_null(s, "%s did not parse: %s", path, d.msg);
    return s;
}

/* A minimal valid scenario with `extra` appended (a check, a role...). */
#define HEAD "name: t\nduration: 1s\nsetup:\n  L: list\n  D: dict\n  N: int\n"

/* ---- the shipped scenarios -------------------------------------------- */

Test(scenario_parse, shipped_shared_list, .timeout = 10)
{
    struct gh_scenario *s = load_ok(SCEN "shared-list.yaml");
    cr_assert_str_eq(s->name, "shared-list");
    cr_assert_eq(s->duration_ns, 2000000000u);
    cr_assert_eq(s->ops_per_thread, 0);
    cr_assert_eq(s->threads, 2);
    cr_assert_eq(s->nglobals, 1);
    cr_assert_eq(s->globals[0].type, GH_NEW_LIST);
    cr_assert_eq(s->nroles, 1);
    struct gh_role *r = &s->roles[0];
    cr_assert_str_eq(r->name, "worker");
    cr_assert_eq(r->nthreads, 2);
    cr_assert(!r->script);
    cr_assert_eq(r->nops, 3);
    cr_assert_eq(r->total_weight, 100);
    cr_assert_eq(r->ops[0].kind, GH_OP_LIST_APPEND);
    cr_assert_eq(r->ops[0].value.kind, GH_VAL_OBJECT);
    cr_assert_eq(r->ops[0].weight, 45);
    cr_assert_eq(r->ops[1].kind, GH_OP_LIST_POP);
    cr_assert_eq(r->ops[2].kind, GH_OP_LIST_GET);
    cr_assert(r->ops[2].index.random);
    cr_assert_eq(r->ops[2].index.range, 0);
    cr_assert_eq(s->nchecks, 2);
    cr_assert_str_eq(s->checks[0].text, "len(L) == count(list.append) - count(list.pop)");
    cr_assert_eq(s->expect_hazards, GH_EXPECT_HAZARDS_NONE);
    gh_scenario_free(s);
}

Test(scenario_parse, shipped_private_lists, .timeout = 10)
{
    struct gh_scenario *s = load_ok(SCEN "private-lists.yaml");
    cr_assert_str_eq(s->name, "private-lists");
    cr_assert_eq(s->nroles, 1);
    struct gh_role *r = &s->roles[0];
    cr_assert_eq(r->ninit, 1);
    cr_assert_eq(r->init[0].kind, GH_OP_NEW);
    cr_assert_eq(r->init[0].type, GH_NEW_LIST);
    cr_assert_eq(r->nlocals, 1);
    cr_assert_str_eq(r->locals[0], "mine");
    cr_assert(r->init[0].on.local);
    cr_assert_eq(r->init[0].on.slot, 0);
    for (int i = 0; i < r->nops; i++) {
        cr_assert(r->ops[i].on.local);
        cr_assert_eq(r->ops[i].on.slot, 0);
    }
    gh_scenario_free(s);
}

Test(scenario_parse, shipped_dict_read_mostly, .timeout = 10)
{
    struct gh_scenario *s = load_ok(SCEN "dict-read-mostly.yaml");
    cr_assert_eq(s->nglobals, 1);
    cr_assert_eq(s->globals[0].type, GH_NEW_DICT);
    cr_assert_eq(s->globals[0].items, 1000);
    cr_assert_eq(s->globals[0].value.kind, GH_VAL_INT);
    cr_assert_eq(s->nroles, 2);
    cr_assert_eq(s->roles[0].nthreads, 1);
    cr_assert_eq(s->roles[1].threads, 0);
    cr_assert_eq(s->roles[1].nthreads, 1);
    cr_assert_eq(s->roles[0].ops[0].kind, GH_OP_DICT_SET);
    cr_assert(s->roles[0].ops[0].key.random);
    cr_assert_eq(s->roles[0].ops[0].key.range, 1000);
    cr_assert_eq(s->roles[1].ops[0].kind, GH_OP_DICT_GET);
    cr_assert_geq(s->nchecks, 1);
    gh_scenario_free(s);
}

/* ---- a file with every feature ---------------------------------------- */

Test(scenario_parse, full_file_and_defaults, .timeout = 10)
{
    struct gh_scenario *s = load_ok(DATA "ok-full.yaml");
    cr_assert_str_eq(s->about, "every key, with defaults checked");
    cr_assert_eq(s->threads, 5);
    cr_assert_eq(s->ops_per_thread, 1000);
    cr_assert_eq(s->duration_ns, 0);
    cr_assert(s->has_seed);
    cr_assert_eq(s->seed, INT64_MAX);
    cr_assert_eq(s->expect_hazards, GH_EXPECT_HAZARDS_SOME);

    cr_assert_eq(s->nglobals, 6);
    cr_assert_eq(s->globals[0].type, GH_NEW_OBJECT);
    cr_assert_eq(s->globals[1].type, GH_NEW_INT);
    cr_assert_eq(s->globals[1].int_value, -7);
    cr_assert_eq(s->globals[2].items, 3);
    cr_assert_eq(s->globals[2].value.kind, GH_VAL_SMALL_INT);
    cr_assert_eq(s->globals[3].value.range, 50);
    cr_assert_eq(s->globals[4].value.kind, GH_VAL_GLOBAL);
    cr_assert_eq(s->globals[4].value.slot, 0);
    cr_assert_eq(s->globals[5].items, 0);
    cr_assert_eq(s->globals[5].line, 12);
    cr_assert_eq(s->globals[5].column, 3);

    struct gh_role *m = &s->roles[0], *r = &s->roles[1];
    cr_assert(m->script);
    cr_assert_eq(m->nthreads, 2);
    cr_assert_eq(r->nthreads, 3);
    cr_assert_eq(m->nlocals, 2);     /* mine (init), tmp (script) */
    /* list.append on `mine` with the value `tmp`, a local bound later. */
    struct gh_op *op = &m->ops[0];
    cr_assert_eq(op->value.kind, GH_VAL_LOCAL);
    cr_assert_str_eq(m->locals[op->value.slot], "tmp");
    cr_assert_eq(op->line, 19);
    cr_assert_eq(op->column, 9);
    op = &m->ops[2];                 /* dict.set on tmp, key 3, value L */
    cr_assert(op->on.local);
    cr_assert(!op->key.random);
    cr_assert_eq(op->key.value, 3);
    cr_assert_eq(op->value.kind, GH_VAL_GLOBAL);
    cr_assert_eq(op->value.slot, 2);
    op = &m->ops[3];                 /* list.set index 0, value int range 10 */
    cr_assert(!op->index.random);
    cr_assert_eq(op->index.value, 0);
    cr_assert_eq(op->value.kind, GH_VAL_INT);
    cr_assert_eq(op->value.range, 10);
    op = &m->ops[4];                 /* list.move on E from mine */
    cr_assert(!op->on.local);
    cr_assert_eq(op->on.slot, 4);
    cr_assert(op->from.local);
    op = &m->ops[6];                 /* compute: defaults */
    cr_assert_eq(op->iters, 1000);
    cr_assert_eq(op->on.slot, -1);
    cr_assert_eq(m->ops[7].io_ns, 0);

    cr_assert_eq(r->total_weight, 7 + 1 + 1 + 1 + 2);
    op = &r->ops[0];                 /* dict.get: key defaults to random in [0, 1000) */
    cr_assert(op->key.random);
    cr_assert_eq(op->key.range, 1000);
    cr_assert_eq(r->ops[1].key.range, 5);
    cr_assert(r->ops[2].index.random);
    cr_assert_eq(r->ops[3].iters, 5);
    cr_assert_eq(r->ops[4].io_ns, 250000);
    cr_assert_eq(r->ops[4].weight, 2);

    cr_assert_eq(s->nchecks, 2);
    cr_assert_eq(s->checks[1].expr->kind, GH_EX_GE);
    gh_scenario_free(s);
}

Test(scenario_parse, top_level_script_with_init, .timeout = 10)
{
    struct gh_scenario *s = text_ok("name: t\nops: 10\nthreads: 3\ninit:\n"
                                    "  - {op: new, as: x}\nscript:\n  - {op: drop, on: x}\n"
                                    "  - {op: io}\n");
    cr_assert_eq(s->nroles, 1);
    cr_assert_str_eq(s->roles[0].name, "worker");
    cr_assert_eq(s->roles[0].nthreads, 3);
    cr_assert(s->roles[0].script);
    cr_assert_eq(s->roles[0].ninit, 1);
    cr_assert_eq(s->roles[0].init[0].type, GH_NEW_OBJECT);
    cr_assert_eq(s->roles[0].ops[1].io_ns, 100000);
    cr_assert(!s->has_seed);
    cr_assert_eq(s->seed, 1);
    cr_assert_str_eq(s->about, "");
    gh_scenario_free(s);
}

Test(scenario_parse, default_thread_counts, .timeout = 10)
{
    struct gh_scenario *s = text_ok(HEAD "mix:\n  - {op: io}\n");
    cr_assert_eq(s->threads, 2);
    gh_scenario_free(s);
    s = text_ok(HEAD "roles:\n  - {name: a, threads: 3, mix: [{op: io}]}\n"
                "  - {name: b, mix: [{op: io}]}\n");
    cr_assert_eq(s->threads, 4);
    cr_assert_eq(s->roles[1].nthreads, 1);
    gh_scenario_free(s);
    s = text_ok(HEAD "roles:\n  - {name: a, threads: 3, mix: [{op: io}]}\n"
                "  - {name: b, threads: 2, mix: [{op: io}]}\n");
    cr_assert_eq(s->threads, 5);
    gh_scenario_free(s);
}

Test(scenario_parse, content_hash_is_fnv1a, .timeout = 10)
{
    const char *text = HEAD "mix:\n  - {op: io}\n";
    struct gh_scenario *s = text_ok(text);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    cr_assert_eq(s->content_hash, h);
    cr_assert_str_eq(s->file, "t.yaml");
    gh_scenario_free(s);
    /* The well-known value for "a". */
    struct gh_diag d;
    s = gh_scenario_parse("a", 1, "a.yaml", &d);
    cr_assert_null(s);
    gh_scenario_free(NULL);
}

Test(scenario_parse, ops_names_roundtrip, .timeout = 10)
{
    for (int i = 0; i < GH_OP_COUNT; i++)
        cr_assert_eq(gh_op_from_name(gh_op_names[i]), (enum gh_op_kind)i);
    cr_assert_eq(gh_op_from_name("list.push"), GH_OP_COUNT);
    cr_assert_eq(gh_op_from_name(NULL), GH_OP_COUNT);
    cr_assert_str_eq(gh_op_names[GH_OP_LIST_MOVE], "list.move");
}

/* ---- errors from files ------------------------------------------------- */

/* The rows of GH_OPS (scenario/ops.h) agree with themselves: a flag or a
 * hint that speaks of a key has the key. */
static const char *const exec_names[] = {
#define GH_X_(e, name, keys, on, flags, hint, parse, exec, doc) #exec,
    GH_OPS(GH_X_)
#undef GH_X_
};

Test(scenario_parse, ops_table_rows_are_consistent, .timeout = 10)
{
    for (int i = 0; i < GH_OP_COUNT; i++) {
        const struct gh_op_rule *r = &gh_op_rules[i];
        const char *n = gh_op_names[i];
        cr_assert_str_eq(r->name, n);
        cr_assert(r->keys & GH_KBIT_OP, "%s: no `op` key", n);
        cr_assert(!(r->keys & GH_KBIT_WEIGHT), "%s: `weight` is a mix's, not a row's", n);
        cr_assert(!(r->keys & GH_KBIT_WITH), "%s: `with` is every op's, not a row's", n);
        bool on = r->keys & GH_KBIT_ON;
        if (r->flags & GH_OPF_LOADS_ON)
            cr_assert(on, "%s loads an `on` it cannot have", n);
        if (r->hint)
            cr_assert(on, "%s has a hint for an `on` it cannot have", n);
        if (r->on != GH_NEED_NONE && !(r->flags & GH_OPF_ON_OPTIONAL))
            cr_assert(on, "%s needs an `on` it cannot have", n);
        if (on)
            cr_assert(r->on != GH_NEED_NONE, "%s takes `on` but says nothing of it", n);
        if (r->flags & (GH_OPF_NEEDS_VALUE | GH_OPF_OWN_VALUE))
            cr_assert(r->keys & GH_KBIT_VALUE, "%s needs a `value` it cannot have", n);
        if (r->flags & GH_OPF_NEEDS_AS)
            cr_assert(r->keys & GH_KBIT_AS, "%s needs an `as` it cannot have", n);
        /* OUTLINE is the object model's executors, and only theirs. */
        bool model = strncmp(exec_names[i], "gh_exec_", 8) == 0;
        cr_assert_eq(model, !!(r->flags & GH_OPF_OUTLINE),
                     "%s: executor %s, but OUTLINE is %s", n, exec_names[i],
                     model ? "not set" : "set");
    }
}

/* The parser takes an op's keys from its row: every op refuses the first
 * key its row does not have, before anything else is checked. */
Test(scenario_errors, every_op_refuses_a_key_outside_its_row, .timeout = 10)
{
    for (int i = 0; i < GH_OP_COUNT; i++) {
        int k = GH_K_ON;
        while (k == GH_K_WEIGHT || k == GH_K_WITH || (gh_op_rules[i].keys & (1u << k)))
            k++;
        cr_assert_lt(k, GH_K_COUNT);
        char text[512], phrase[128];
        snprintf(text, sizeof text,
                 "name: t\nduration: 1s\nsetup:\n  L: {type: list}\nroles:\n  - name: a\n"
                 "    mix:\n      - {op: %s, %s: 1}\n", gh_op_names[i], gh_op_key_names[k]);
        snprintf(phrase, sizeof phrase, "`%s` does not apply to %s", gh_op_key_names[k],
                 gh_op_names[i]);
        text_error(text, 8, 16 + (int)strlen(gh_op_names[i]), phrase);
    }
}

Test(scenario_errors, yaml_unterminated_quote, .timeout = 10)
{
    file_error("syntax-unterminated-quote.yaml", 3, 1, "while scanning a quoted scalar at 1:7");
}

Test(scenario_errors, yaml_bad_indentation, .timeout = 10)
{
    file_error("bad-indent.yaml", 5, 2, "did not find expected key");
}

Test(scenario_errors, yaml_tab_indentation, .timeout = 10)
{
    file_error("tab-indent.yaml", 4, 1, "invalid YAML");
}

Test(scenario_errors, binary_garbage, .timeout = 10)
{
    file_error("binary.yaml", 1, 1, "control characters are not allowed");
}

Test(scenario_errors, top_level_not_a_mapping, .timeout = 10)
{
    file_error("top-not-mapping.yaml", 1, 1, "expected a mapping");
}

Test(scenario_errors, unknown_top_level_key, .timeout = 10)
{
    file_error("unknown-top-key.yaml", 7, 1,
               "unknown key `checkz` in the top level (did you mean `checks`?); expected one "
               "of: name, about, threads, duration, ops, seed, setup, roles");
}

Test(scenario_errors, unknown_op, .timeout = 10)
{
    file_error("unknown-op.yaml", 6, 10, "unknown op `list.apend` (did you mean `list.append`?)");
    file_error("unknown-op.yaml", 6, 10, "expected one of: new, drop, list.append");
}

Test(scenario_errors, unknown_key_in_op, .timeout = 10)
{
    file_error("unknown-op-key.yaml", 9, 5,
               "unknown key `wieght` in a list.append op (did you mean `weight`?)");
}

Test(scenario_errors, key_of_another_op, .timeout = 10)
{
    file_error("key-not-for-op.yaml", 6, 45, "`from` does not apply to list.append");
}

Test(scenario_errors, threads_not_an_integer, .timeout = 10)
{
    file_error("threads-not-int.yaml", 2, 10, "threads: expected an integer from 1 to 1024, "
               "found `five`");
}

Test(scenario_errors, negative_weight, .timeout = 10)
{
    file_error("weight-negative.yaml", 6, 35, "weight: expected an integer from 1");
}

Test(scenario_errors, weight_in_script, .timeout = 10)
{
    file_error("weight-in-script.yaml", 6, 27, "`weight` applies only to ops in a `mix`");
}

Test(scenario_errors, missing_name, .timeout = 10)
{
    file_error("missing-name.yaml", 2, 1, "missing `name`");
}

Test(scenario_errors, duration_and_ops, .timeout = 10)
{
    file_error("duration-and-ops.yaml", 3, 1, "either `duration` or `ops`, not both");
}

Test(scenario_errors, neither_duration_nor_ops, .timeout = 10)
{
    file_error("neither-duration-nor-ops.yaml", 1, 1, "missing `duration` or `ops`");
}

Test(scenario_errors, bad_duration, .timeout = 10)
{
    file_error("bad-duration.yaml", 2, 11, "duration: expected a number and a unit");
}

Test(scenario_errors, huge_number, .timeout = 10)
{
    file_error("huge-number.yaml", 2, 6, "ops: expected an integer >= 1");
}

Test(scenario_errors, undefined_name_in_on, .timeout = 10)
{
    file_error("undefined-name.yaml", 6, 24, "on: undefined name `M` (did you mean `L`?)");
}

Test(scenario_errors, op_on_wrong_type, .timeout = 10)
{
    file_error("wrong-type-target.yaml", 7, 27,
               "list.append needs a list in `on`, but `D` is a dict (set up at 5:3)");
}

Test(scenario_errors, move_without_from, .timeout = 10)
{
    file_error("move-without-from.yaml", 7, 5, "missing `from` in a list.move op");
}

Test(scenario_errors, drop_on_a_global, .timeout = 10)
{
    file_error("drop-global.yaml", 6, 20, "drop needs a local");
}

Test(scenario_errors, local_shadows_global, .timeout = 10)
{
    file_error("local-shadows-global.yaml", 8, 35, "would shadow the global `L`");
}

Test(scenario_errors, check_does_not_parse, .timeout = 10)
{
    file_error("check-incomplete.yaml", 8, 14,
               "bad check: expected an operand (a number, `(`, `-`, `not`, len(NAME), "
               "count(OP) or failed(OP)), found the end of the check");
}

Test(scenario_errors, check_unknown_function, .timeout = 10)
{
    file_error("check-unknown-function.yaml", 8, 5,
               "unknown function `size`; expected len, count, failed");
}

Test(scenario_errors, check_unknown_op, .timeout = 10)
{
    /* A double-quoted scalar: the column is inside the quotes. */
    file_error("check-unknown-op.yaml", 8, 12, "count(list.push): unknown op `list.push`");
}

Test(scenario_errors, two_roles_without_threads, .timeout = 10)
{
    file_error("two-rest-roles.yaml", 9, 5, "roles `a` and `b` both leave out `threads`");
}

Test(scenario_errors, too_few_threads_for_roles, .timeout = 10)
{
    file_error("too-few-threads.yaml", 2, 10, "the roles need at least 3");
}

Test(scenario_errors, empty_mix, .timeout = 10)
{
    file_error("empty-mix.yaml", 7, 10, "empty mix: expected at least one op");
}

Test(scenario_errors, duplicate_key, .timeout = 10)
{
    file_error("duplicate-key.yaml", 6, 3, "duplicate key `L` in setup (first given at 4:3)");
    file_error("duplicate-top-key.yaml", 3, 1,
               "duplicate key `name` in the top level (first given at 1:1)");
}

Test(scenario_errors, empty_file, .timeout = 10)
{
    file_error("empty.yaml", 1, 1, "the file is empty");
    file_error("comment-only.yaml", 1, 1, "the file is empty");
}

Test(scenario_errors, missing_file, .timeout = 10)
{
    file_error("no-such-file.yaml", 1, 1, "cannot open the scenario file: No such file or "
               "directory");
}

Test(scenario_errors, directory_instead_of_file, .timeout = 10)
{
    struct gh_diag d;
    cr_assert_null(gh_scenario_load(DATA, &d));
    assert_diag(d.msg, DATA, 1, 1, "Is a directory");
}

/* ---- errors from inline text ------------------------------------------- */

Test(scenario_errors, inline_op_errors, .timeout = 10)
{
    text_error(HEAD "mix:\n  - {op: list.append, on: L}\n", 8, 5, "missing `value`");
    text_error(HEAD "mix:\n  - {op: list.pop}\n", 8, 5, "missing `on` in a list.pop op");
    text_error(HEAD "mix:\n  - {on: L}\n", 8, 5, "missing `op`");
    text_error(HEAD "mix:\n  - list.pop\n", 8, 5, "expected an op, a mapping");
    text_error(HEAD "mix:\n  - {op: list.append, on: L, value: Q}\n", 8, 37,
               "value: undefined name `Q`");
    text_error(HEAD "mix:\n  - {op: list.append, on: L, value: object, range: 5}\n", 8, 45,
               "`range` applies only to `value: int`");
    text_error(HEAD "mix:\n  - {op: dict.get, on: D, key: 4, keys: 9}\n", 8, 35,
               "`keys` applies only to `key: random`");
    text_error(HEAD "mix:\n  - {op: dict.get, on: D, key: many}\n", 8, 32,
               "key: expected an integer, `random`, {str: TEXT} or {iter: K}, found `many`");
    text_error(HEAD "mix:\n  - {op: list.get, on: L, index: -1}\n", 8, 34,
               "index: expected an integer >= 0");
    text_error(HEAD "mix:\n  - {op: list.move, on: L, from: L}\n", 8, 34,
               "`from` and `on` name the same list");
    text_error(HEAD "mix:\n  - {op: io, on: L}\n", 8, 14, "`on` does not apply to io");
    text_error(HEAD "mix:\n  - {op: compute, iters: 0}\n", 8, 26, "iters: expected an integer");
    text_error(HEAD "mix:\n  - {op: new, as: L}\n", 8, 19, "would shadow the global");
    text_error(HEAD "mix:\n  - {op: new, as: int}\n", 8, 19, "reserved word");
    text_error(HEAD "mix:\n  - {op: new, type: tupel, as: t}\n", 8, 21,
               "type: expected a type (object, int, list, dict");
    text_error(HEAD "mix:\n  - {op: new, type: list, as: t}\n  - {op: new, type: dict, as: t}\n",
               9, 21, "the local `t` is bound to a list by the `new` at 8:5");
    text_error(HEAD "mix:\n  - {op: dict.get, on: N}\n", 8, 24,
               "dict.get needs a dict in `on`, but `N` is an int");
    text_error(HEAD "mix:\n  - {op: [list.pop], on: L}\n", 8, 10, "op: expected an op name");
}

Test(scenario_errors, inline_locals_are_per_role, .timeout = 10)
{
    text_error(HEAD "roles:\n  - name: a\n    threads: 1\n    init: [{op: new, type: list, as: x}]\n"
               "    mix: [{op: list.pop, on: x}]\n"
               "  - name: b\n    mix: [{op: list.pop, on: x}]\n",
               13, 30, "undefined name `x`");
}

Test(scenario_errors, inline_structure_errors, .timeout = 10)
{
    text_error(HEAD "roles:\n  - name: a\n    mix: [{op: io}]\nmix: [{op: io}]\n", 10, 1,
               "with `roles` put it inside a role");
    text_error(HEAD "checks: []\n", 1, 1, "missing `roles`");
    text_error(HEAD "roles: []\n", 7, 8, "roles: expected at least one role");
    text_error(HEAD "roles:\n  - name: a\n    mix: [{op: io}]\n    script: [{op: io}]\n", 10, 5,
               "give either `mix` or `script`, not both");
    text_error(HEAD "roles:\n  - name: a\n", 8, 5, "expected a `mix`");
    text_error(HEAD "roles:\n  - {threads: 1, mix: [{op: io}]}\n", 8, 5, "missing `name`");
    text_error(HEAD "roles:\n  - {name: a, mix: [{op: io}]}\n  - {name: a, threads: 1, mix: "
               "[{op: io}]}\n", 9, 12, "duplicate role name `a`");
    text_error(HEAD "roles:\n  - {name: 'a b', mix: [{op: io}]}\n", 8, 12, "role name");
    text_error(HEAD "threads: 3\nroles:\n  - {name: a, threads: 1, mix: [{op: io}]}\n", 7, 10,
               "the roles fix the count at 1");
    text_error(HEAD "threads: 0\nmix: [{op: io}]\n", 7, 10, "threads: expected an integer");
    text_error(HEAD "mix: [{op: io}]\nexpect:\n  hazards: maybe\n", 9, 12, "hazards: expected none or some");
    text_error(HEAD "expect: {hazard: none}\nmix: [{op: io}]\n", 7, 10,
               "unknown key `hazard` in expect (did you mean `hazards`?)");
    text_error("name: t\nduration: 1s\nsetup:\n  and: list\nmix: [{op: io}]\n", 4, 3,
               "reserved word");
    text_error("name: t\nduration: 1s\nsetup:\n  1x: list\nmix: [{op: io}]\n", 4, 3,
               "expected a global name");
    text_error("name: t\nduration: 1s\nsetup:\n  L: tupel\nmix: [{op: io}]\n", 4, 6,
               "expected a type (object, int, list, dict");
    text_error("name: t\nduration: 1s\nsetup:\n  L: {type: list, value: M}\n  M: list\n"
               "mix: [{op: io}]\n", 4, 26, "the global `M` is set up later");
    text_error("name: t\nduration: 1s\nsetup:\n  L: {type: object, items: 3}\nmix: [{op: io}]\n",
               4, 21, "`items` does not apply to type object");
    text_error("name: t\nduration: 1s\nsetup:\n  L: {items: 3}\nmix: [{op: io}]\n", 4, 6,
               "missing `type`");
    text_error("name: 'two words'\nduration: 1s\nmix: [{op: io}]\n", 1, 7, "name: expected");
    text_error("name: t\nduration: 1s\nseed: -1\nmix: [{op: io}]\n", 3, 7,
               "seed: expected an integer from 0");
    text_error("name: t\nduration: 1s\nthreads: \"3\"\nmix: [{op: io}]\n", 3, 10,
               "threads: expected an integer");
    text_error("name: t\nduration: 1s\nmix: [{op: io}]\n---\nname: u\n", 4, 1,
               "expected one YAML document");
    text_error("name: t\nduration: 1s\nmix: [{op: io}]\ncheck: *nope\n", 4, 8,
               "undefined alias");
}

Test(scenario_errors, deep_nesting_is_refused, .timeout = 10)
{
    size_t depth = 100000;
    char *text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = 0;
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, 2 * depth, "deep.yaml", &d);
    free(text);
    cr_assert_null(s);
    assert_diag(d.msg, "deep.yaml", 1, 33, "nests more than 32 levels");
}

Test(scenario_errors, nul_bytes_and_odd_input, .timeout = 10)
{
    struct gh_diag d;
    const char bin[] = "name: t\0\0\xff\xfe";
    cr_assert_null(gh_scenario_parse(bin, sizeof bin - 1, "bin.yaml", &d));
    assert_diag(d.msg, "bin.yaml", 1, 8, "invalid YAML input");
    cr_assert_null(gh_scenario_parse(NULL, 0, NULL, &d));
    assert_diag(d.msg, "<input>", 1, 1, "the file is empty");
    /* A newline in a name stays out of the one-line message. */
    text_error("name: \"a\\nb\"\nduration: 1s\nmix: [{op: io}]\n", 1, 7, "name: expected");
    text_error("name: t\nduration: 1s\nmix: [{op: io}]\nchecks: [\"1 ==\\0 1\"]\n", 4, 10,
               "NUL");
}

/* ---- check errors and positions ----------------------------------------- */

Test(scenario_checks, check_errors_point_inside_the_check, .timeout = 10)
{
    const char *h = HEAD "mix: [{op: io}]\nchecks:\n";
    char buf[512];
#define CHECK_ERR(line_text, col, phrase)                                      \
    do {                                                                       \
        snprintf(buf, sizeof buf, "%s%s\n", h, line_text);                     \
        text_error(buf, 9, col, phrase);                                       \
    } while (0)
    CHECK_ERR("  - len(L) ==", 14, "expected an operand");
    CHECK_ERR("  - len(L) = 3", 12, "`=` is not an operator; use `==`");
    CHECK_ERR("  - len(Q) == 0", 9, "`Q` is not a global");
    CHECK_ERR("  - len(N) == 0", 9, "len() needs a sized object");
    CHECK_ERR("  - 1 < 2 < 3", 11, "comparisons do not chain");
    CHECK_ERR("  - L == 0", 5, "`L` is an object, not a number");
    CHECK_ERR("  - (1 + 2", 11, "expected `)` to close the `(` at 9:5");
    CHECK_ERR("  - 1 + 2)", 10, "expected an operator or the end of the check");
    CHECK_ERR("  - 1 && 2", 7, "use `and`");
    CHECK_ERR("  - count list.pop", 11, "expected `(` after count");
    CHECK_ERR("  - count(3)", 11, "expected an op name inside count()");
    /* Before: both named "the end of the check" instead of the number. */
    CHECK_ERR("  - 99999999999999999999 > 0", 5, "the integer `99999999999999999999` is too large");
    CHECK_ERR("  - 12abc > 0", 5, "expected a decimal integer, found `12abc`");
    CHECK_ERR("  - len(L) == 1.5", 15, "expected a decimal integer, found `1.5`");
    CHECK_ERR("  - \"\"", 6, "empty check");
    CHECK_ERR("  - 'len(L) '' 1'", 13, "unexpected character `'`");
    CHECK_ERR("  - \"1 +\\t\\u00e9 2\"", 11, "unexpected byte 0xc3");
    CHECK_ERR("  - [1]", 5, "checks: expected an expression");
#undef CHECK_ERR
    /* A multi-line (folded) check: the scalar's start and the character. */
    snprintf(buf, sizeof buf, "%s  - >-\n    len(L) ==\n    foo\n", h);
    text_error(buf, 9, 5, "bad check (at character 11 of it): unexpected name `foo`");
}

Test(scenario_checks, check_limits, .timeout = 10)
{
    char buf[8192];
    int o = snprintf(buf, sizeof buf, HEAD "mix: [{op: io}]\nchecks:\n  - ");
    for (int i = 0; i < 100; i++)
        buf[o++] = '(';
    buf[o++] = '1';
    for (int i = 0; i < 100; i++)
        buf[o++] = ')';
    buf[o++] = '\n';
    buf[o] = 0;
    text_error(buf, 9, 5 + 64, "nests too deeply");
    o = snprintf(buf, sizeof buf, HEAD "mix: [{op: io}]\nchecks:\n  - 1");
    for (int i = 0; i < 300; i++)
        o += snprintf(buf + o, sizeof buf - (size_t)o, "+1");
    snprintf(buf + o, sizeof buf - (size_t)o, "\n");
    text_error(buf, 9, 5, "too long");
}

/* ---- count(OP, NAME), failed(OP, NAME) ---------------------------------- */

Test(scenario_checks, count_on_errors, .timeout = 10)
{
    const char *h = HEAD "mix: [{op: io}]\nchecks:\n";
    char buf[512];
#define CHECK_ERR(line_text, col, phrase)                                      \
    do {                                                                       \
        snprintf(buf, sizeof buf, "%s%s\n", h, line_text);                     \
        text_error(buf, 9, col, phrase);                                       \
    } while (0)
    /* The second argument: a global, of what the op's `on` takes. */
    CHECK_ERR("  - count(dict.iter, Q) > 0", 22,
              "count(dict.iter, Q): `Q` is not a global from `setup`");
    CHECK_ERR("  - count(dict.iter, L) > 0", 22,
              "count(dict.iter, L): dict.iter needs a dict in `on`, but `L` is a list "
              "(set up at 4:3)");
    CHECK_ERR("  - failed(global.add, D) == 0", 24,
              "global.add needs an int global (set up as `{type: int, value: 0}`) in `on`, "
              "but `D` is a dict (set up at 5:3)");
    CHECK_ERR("  - count(io, D) > 0", 15, "count(io, D): io has no `on`");
    CHECK_ERR("  - failed(drop, D) > 0", 18,
              "failed(drop, D): the `on` of drop is a local of its role, never a global");
    CHECK_ERR("  - count(dict.iter, 3) > 0", 22,
              "expected the name of a global after count(dict.iter, found `3`");
    CHECK_ERR("  - count(dict.iter, ) > 0", 22,
              "expected the name of a global after count(dict.iter, found `)`");
    /* The number of arguments. */
    CHECK_ERR("  - count(dict.iter, D, L) > 0", 23,
              "count takes one or two arguments, count(OP) or count(OP, NAME)");
    CHECK_ERR("  - count(dict.iter, D > 0", 24, "expected `)` after count(dict.iter, D, found `>`");
    CHECK_ERR("  - len(D, L) > 0", 10, "len takes one argument: expected `)` after len(D");
    CHECK_ERR("  - adds(N, D) > 0", 11, "adds takes one argument");
    CHECK_ERR("  - count(, D) > 0", 11, "expected an op name inside count(), found `,`");
    CHECK_ERR("  - 1, 2", 6, "expected an operator or the end of the check, found `,`");
#undef CHECK_ERR
    /* In a role, a local is not a target: the ops are counted by global. */
    text_error(HEAD "init: [{op: new, type: dict, as: x}]\nmix:\n"
               "  - {op: show, expr: \"count(dict.set, x)\"}\n",
               9, 39, "count(dict.set, x): `x` is a local of this role, not a global from `setup`");
}

/* The pairs count(OP, X) reads, each once, checks first; the ops of a mix
 * or script on X are marked with their pair (init and after ops, and ops
 * on a local, never), and `special` says `with`, tally or both. */
Test(scenario_checks, count_on_marks_the_ops_it_counts, .timeout = 10)
{
    struct gh_scenario *s = text_ok(
        "name: t\nduration: 1s\nsetup:\n  A: dict\n  B: dict\n  K: {type: lock}\n"
        "init:\n"
        "  - {op: dict.set, on: A, value: int}\n"
        "  - {op: new, type: dict, as: mine}\n"
        "mix:\n"
        "  - {op: dict.set, on: A, value: int}\n"
        "  - {op: dict.set, on: B, value: int, with: K}\n"
        "  - {op: dict.del, on: A}\n"
        "  - {op: dict.set, on: mine, value: int}\n"
        "  - {op: dict.iter, on: B}\n"
        "  - {op: dict.iter, on: A, with: K}\n"
        "after:\n"
        "  - {op: show, expr: \"count(dict.iter, B) + count(dict.set, A)\"}\n"
        "checks:\n"
        "  - count(dict.set, A) + failed(dict.set, B) >= 0\n"
        "  - failed(dict.set, A) == 0\n");
    cr_assert_eq(s->ntallies, 3);
    cr_assert_eq(s->tallies[0].op, GH_OP_DICT_SET);
    cr_assert_eq(s->tallies[0].slot, 0);
    cr_assert_eq(s->tallies[1].op, GH_OP_DICT_SET);
    cr_assert_eq(s->tallies[1].slot, 1);
    cr_assert_eq(s->tallies[2].op, GH_OP_DICT_ITER);
    cr_assert_eq(s->tallies[2].slot, 1);
    cr_assert_eq(gh_scenario_tally(s, GH_OP_DICT_ITER, 1), 2);
    cr_assert_eq(gh_scenario_tally(s, GH_OP_DICT_DEL, 0), -1);
    cr_assert_eq(gh_scenario_tally(s, GH_OP_DICT_ITER, 0), -1);
    const struct gh_role *r = &s->roles[0];
    static const int tally[] = {0, 1, -1, -1, 2, -1};
    static const int special[] = {
        GH_OP_SPECIAL_TALLY, GH_OP_SPECIAL_WITH | GH_OP_SPECIAL_TALLY, 0, 0,
        GH_OP_SPECIAL_TALLY, GH_OP_SPECIAL_WITH,
    };
    cr_assert_eq(r->nops, 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(r->ops[i].tally, tally[i], "op %d: tally %d", i, r->ops[i].tally);
        cr_assert_eq(r->ops[i].special, special[i], "op %d: special %d", i, r->ops[i].special);
    }
    for (int i = 0; i < r->ninit; i++)
        cr_assert(r->init[i].tally == -1 && r->init[i].special == 0, "init op %d", i);
    cr_assert(r->after[0].tally == -1 && r->after[0].special == 0);
    gh_scenario_free(s);

    /* Without count(OP, X) nothing is marked. */
    s = text_ok(HEAD "mix:\n  - {op: dict.set, on: D, value: int}\nchecks:\n"
                "  - count(dict.set) > 0\n");
    cr_assert_eq(s->ntallies, 0);
    cr_assert(s->roles[0].ops[0].tally == -1 && s->roles[0].ops[0].special == 0);
    gh_scenario_free(s);
}

/* ---- evaluation ------------------------------------------------------- */

static int64_t fake_len(void *ctx, int slot)
{
    (void)ctx;
    return 10 + slot;
}

static uint64_t fake_count(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    return op == GH_OP_COMPUTE ? UINT64_MAX : 100 + (uint64_t)op;
}

static uint64_t fake_failed(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    return (uint64_t)op;
}

/* count(OP, X): 1000 * (the global's slot + 1) + the op; failed(OP, X):
 * 1000 * (slot + 1) + 1. */
static uint64_t fake_count_on(void *ctx, enum gh_op_kind op, int slot, bool failed)
{
    (void)ctx;
    return 1000 * (uint64_t)(slot + 1) + (failed ? 1 : (uint64_t)op);
}

static const struct gh_global test_globals[] = {
    {.name = "L", .type = GH_NEW_LIST},
    {.name = "D", .type = GH_NEW_DICT},
    {.name = "N", .type = GH_NEW_INT},
};

static const struct gh_eval_env test_env = {.len = fake_len, .count = fake_count,
                                            .failed = fake_failed, .count_on = fake_count_on};

/* Parses and evaluates; returns 0 with *v, or -1 with err. */
static int eval(const char *text, int64_t *v, char *err, size_t errlen)
{
    size_t off;
    struct gh_expr *e = gh__expr_parse(text, test_globals, 3, NULL, NULL, &off, err, errlen);
    cr_assert_not_null(e, "`%s` did not parse: %s (offset %zu)", text, err, off);
    int rc = gh_expr_eval(e, &test_env, v, err, errlen);
    gh__expr_free(e);
    return rc;
}

static void eval_is(const char *text, int64_t want)
{
    char err[256];
    int64_t v = 0;
    cr_assert_eq(eval(text, &v, err, sizeof err), 0, "`%s`: %s", text, err);
    cr_assert_eq(v, want, "`%s` = %" PRId64 ", want %" PRId64, text, v, want);
}

static void eval_fails(const char *text, const char *phrase)
{
    char err[256];
    int64_t v = 0;
    cr_assert_eq(eval(text, &v, err, sizeof err), -1, "`%s` evaluated to %" PRId64, text, v);
    cr_assert(strstr(err, phrase) != NULL, "`%s` not in: %s", phrase, err);
}

Test(scenario_expr, precedence, .timeout = 10)
{
    eval_is("1 + 2 * 3", 7);
    eval_is("(1 + 2) * 3", 9);
    eval_is("10 - 4 - 3", 3);
    eval_is("2 * 3 % 4", 2);
    eval_is("-2 * 3", -6);
    eval_is("- - 5", 5);
    eval_is("1 + 2 == 3", 1);
    eval_is("1 + 2 != 3", 0);
    eval_is("not 1 == 2", 1);
    eval_is("not 0 and 0", 0);
    eval_is("1 or 0 and 0", 1);
    eval_is("(1 or 0) and 0", 0);
    eval_is("3 > 2 and 2 >= 2 and 1 < 2 and 2 <= 2", 1);
    eval_is("5 and 7", 1);
}

Test(scenario_expr, division_rounds_like_python, .timeout = 10)
{
    eval_is("7 / 2", 3);
    eval_is("-7 / 2", -4);
    eval_is("7 / -2", -4);
    eval_is("7 % 3", 1);
    eval_is("-7 % 3", 2);
    eval_is("7 % -3", -2);
    eval_is("-9223372036854775807 - 1 % -1", -9223372036854775807);
}

Test(scenario_expr, functions_read_the_env, .timeout = 10)
{
    eval_is("len(L)", 10);
    eval_is("len(D)", 11);
    eval_is("count(list.append)", 100 + GH_OP_LIST_APPEND);
    eval_is("failed(dict.get)", GH_OP_DICT_GET);
    eval_is("len(L) == count(new) - 90", 1);
    eval_is("count(dict.set, D)", 2000 + GH_OP_DICT_SET);
    eval_is("failed( dict.iter ,D )", 2001);
    eval_is("count(list.append, L) - count(list.append)", 1000 - 100);
    /* Without count_on (the env of a run that has none). */
    const struct gh_eval_env bare = {.count = fake_count, .failed = fake_failed};
    char err[256];
    int64_t v;
    size_t off;
    struct gh_expr *e = gh__expr_parse("failed(dict.iter, D) == 0", test_globals, 3, NULL,
                                       NULL, &off, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    cr_assert_eq(gh_expr_eval(e, &bare, &v, err, sizeof err), -1);
    cr_assert(strstr(err, "failed(OP, NAME) is not available here"), "%s", err);
    gh__expr_free(e);
}

Test(scenario_expr, evaluation_errors, .timeout = 10)
{
    eval_fails("1 / 0", "division by zero");
    eval_fails("1 % (len(L) - 10)", "division by zero");
    eval_fails("9223372036854775807 + 1", "integer overflow");
    eval_fails("-9223372036854775807 - 2", "integer overflow");
    eval_fails("4611686018427387904 * 2", "integer overflow");
    eval_fails("(-9223372036854775807 - 1) / -1", "integer overflow");
    eval_fails("-(-9223372036854775807 - 1)", "integer overflow");
    eval_fails("count(compute) > 0", "integer overflow");
    /* Short-circuit: the right side is not evaluated. */
    eval_is("0 and 1 / 0", 0);
    eval_is("1 or 1 / 0", 1);
}

Test(scenario_expr, eval_error_names_the_position, .timeout = 10)
{
    struct gh_scenario *s = text_ok(HEAD "mix: [{op: io}]\nchecks:\n  - len(L) / 0 > 1\n");
    char err[256];
    int64_t v;
    cr_assert_eq(gh_expr_eval(s->checks[0].expr, &test_env, &v, err, sizeof err), -1);
    cr_assert(strstr(err, "division by zero") && strstr(err, "9:14"), "%s", err);
    cr_assert_eq(s->checks[0].expr->line, 9);
    cr_assert_eq(s->checks[0].expr->column, 5);
    gh_scenario_free(s);
}

/* ---- thread assignment ------------------------------------------------ */

Test(scenario_threads, assign, .timeout = 10)
{
    struct gh_scenario *s = text_ok(HEAD "roles:\n  - {name: w, threads: 2, mix: [{op: io}]}\n"
                                    "  - {name: r, mix: [{op: io}]}\n");
    struct gh_diag d;
    cr_assert_eq(gh_scenario_assign_threads(s, 3, &d), 0);
    cr_assert_eq(s->roles[0].nthreads, 2);
    cr_assert_eq(s->roles[1].nthreads, 1);
    cr_assert_eq(gh_scenario_assign_threads(s, 8, &d), 0);
    cr_assert_eq(s->roles[1].nthreads, 6);
    cr_assert_eq(gh_scenario_assign_threads(s, 2, &d), -1);
    cr_assert_str_eq(d.msg, "--threads 2: the roles need at least 3 threads (w 2, and 1 or "
                     "more for `r`)");
    cr_assert_eq(gh_scenario_assign_threads(s, 0, &d), -1);
    cr_assert(strstr(d.msg, "--threads 0"));
    gh_scenario_free(s);

    s = text_ok(HEAD "roles:\n  - {name: w, threads: 1, mix: [{op: io}]}\n"
                "  - {name: r, threads: 2, mix: [{op: io}]}\n");
    cr_assert_eq(gh_scenario_assign_threads(s, 3, &d), 0);
    cr_assert_eq(s->roles[0].nthreads, 1);
    cr_assert_eq(s->roles[1].nthreads, 2);
    cr_assert_eq(gh_scenario_assign_threads(s, 4, &d), -1);
    cr_assert(strstr(d.msg, "--threads 4: the roles fix the thread count at 3 (w 1, r 2)"),
              "%s", d.msg);
    gh_scenario_free(s);

    s = text_ok(HEAD "mix: [{op: io}]\n");
    cr_assert_eq(gh_scenario_assign_threads(s, 1, &d), 0);
    cr_assert_eq(s->roles[0].nthreads, 1);
    cr_assert_eq(gh_scenario_assign_threads(s, 64, &d), 0);
    cr_assert_eq(s->roles[0].nthreads, 64);
    gh_scenario_free(s);
}

/* A seed the results could not hold (JSON integers are signed 64-bit), as
 * --seed refuses it. */
Test(scenario_parse, seed_range, .timeout = 10)
{
    text_error("name: t\nduration: 1s\nseed: 9223372036854775808\nmix:\n  - {op: list.len, on: L}\n"
               "setup:\n  L: list\n", 3, 7, "seed: expected an integer from 0 to 9223372036854775807");
}

/* Before: the buffer doubled from 16 MiB to 32 MiB before the size was
 * checked, so a 20 MiB file was read and parsed. */
Test(scenario_parse, file_size_cap_is_16_mib, .timeout = 30)
{
    char path[] = "/tmp/gh-test-parse-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("name: big\nduration: 1s\nmix:\n  - {op: list.len, on: L}\nsetup:\n  L: list\n", f);
    static char pad[1 << 16];
    memset(pad, '#', sizeof pad);
    pad[sizeof pad - 1] = '\n';
    for (int i = 0; i < 320; i++) /* 20 MiB of comment lines */
        fwrite(pad, 1, sizeof pad, f);
    fclose(f);
    struct gh_diag d;
    struct gh_scenario *sc = gh_scenario_load(path, &d);
    unlink(path);
    cr_assert_null(sc, "a 20 MiB file was accepted");
    cr_assert(strstr(d.msg, "larger than 16 MiB"), "%s", d.msg);
}

/* Before: the caps counted written ops only, so one mix re-used through an
 * alias by many roles expanded into millions of ops (a 858 KB file took
 * more than 100 s and 3.8 GB before it was refused). */
Test(scenario_parse, aliases_count_against_the_op_cap, .timeout = 30)
{
    size_t cap = 1 << 20, len = 0;
    char *t = malloc(cap);
    len += (size_t)snprintf(t + len, cap - len, "name: bomb\nduration: 1s\nsetup:\n  L: list\n"
                            "roles:\n  - name: r0\n    threads: 1\n    mix: &m\n");
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(t + len, cap - len, "      - {op: list.len, on: L}\n");
    for (int i = 1; i < 200; i++)
        len += (size_t)snprintf(t + len, cap - len, "  - {name: r%d, threads: 1, mix: *m}\n", i);
    struct gh_diag d;
    struct gh_scenario *sc = gh_scenario_parse(t, len, "t.yaml", &d);
    free(t);
    bool parsed = sc != NULL;
    gh_scenario_free(sc);
    cr_assert(!parsed, "200 roles x 1000 aliased ops were accepted");
    cr_assert(strstr(d.msg, "too many ops in all roles together"), "%s", d.msg);
    cr_assert(strstr(d.msg, "t.yaml:"), "%s", d.msg);
}

/* Before: a file without `duration` or `ops` was reported as that, at 1:1,
 * whatever else was wrong in it; now the real error comes first. */
Test(scenario_parse, missing_length_is_reported_last, .timeout = 10)
{
    text_error("name: t\nsetup:\n  L: list\nmix:\n  - {op: list.lenn, on: L}\n", 5, 10,
               "list.lenn");
    text_error("name: t\nsetup:\n  L: list\nmix:\n  - {op: list.len, on: L}\n", 1, 1,
               "missing `duration` or `ops`");
}

/* The command line's --duration or --ops completes a file without either. */
Test(scenario_parse, length_from_the_command_line, .timeout = 10)
{
    char path[] = "/tmp/gh-test-parse-nolen-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "name: t\nsetup:\n  L: list\nmix:\n  - {op: list.len, on: L}\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct gh_diag d;
    struct gh_scenario *sc = gh_scenario_load_cli(path, NULL, 0, true, &d);
    cr_assert_not_null(sc, "%s", d.msg);
    cr_assert_eq(sc->duration_ns, 0);
    cr_assert_eq(sc->ops_per_thread, 0);
    gh_scenario_free(sc);
    cr_assert_null(gh_scenario_load_cli(path, NULL, 0, false, &d));
    cr_assert(strstr(d.msg, "or give --duration or --ops"), "%s", d.msg);
    unlink(path);
}

/* ---- durations --------------------------------------------------------- */

static uint64_t dur(const char *text)
{
    uint64_t ns = 0;
    cr_assert_eq(gh_parse_duration(text, &ns), 0, "`%s` was refused", text);
    return ns;
}

Test(scenario_duration, accepts, .timeout = 10)
{
    cr_assert_eq(dur("2s"), 2000000000u);
    cr_assert_eq(dur("500ms"), 500000000u);
    cr_assert_eq(dur("100us"), 100000u);
    cr_assert_eq(dur("10ns"), 10u);
    cr_assert_eq(dur("1.5s"), 1500000000u);
    cr_assert_eq(dur("0.25ms"), 250000u);
    cr_assert_eq(dur("1.000000001s"), 1000000001u);
    cr_assert_eq(dur("0.5us"), 500u);
    cr_assert_eq(dur("1000000000s"), GH_DURATION_MAX_NS);
}

Test(scenario_duration, refuses, .timeout = 10)
{
    static const char *const bad[] = {
        "", "2", "s", "2 s", "2S", "1.s", ".5s", "0s", "0.1ns", "-1s", "+1s", "2m", "2sec",
        "1e3ms", "99999999999s", "18446744073709551616ns", "1.5.s", "2s ",
        /* Beyond what start + duration can hold: it wrapped to no time. */
        "18446744073709551615ns", "1000000000.000000001s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns = 7;
        cr_assert_eq(gh_parse_duration(bad[i], &ns), -1, "`%s` was accepted", bad[i]);
        cr_assert_eq(ns, 7);
    }
    cr_assert_eq(gh_parse_duration(NULL, NULL), -1);
}

/* ---- the object model's syntax ------------------------------------------ */

Test(scenario_model, shipped_teaching_scenarios_parse, .timeout = 10)
{
    static const char *const names[] = {"aliasing", "identity-vs-equality", "interning",
                                        "mutable-default", "caches", "weak-references"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[1024];
        snprintf(path, sizeof path, SCEN "%s.yaml", names[i]);
        struct gh_scenario *s = load_ok(path);
        cr_assert_str_eq(s->name, names[i]);
        cr_assert(s->about && *s->about, "%s has an about", names[i]);
        gh_scenario_free(s);
    }
}

Test(scenario_model, new_syntax_parses, .timeout = 10)
{
    struct gh_scenario *s = text_ok(
        "name: t\nops: once\nsetup:\n  G: list\n"
        "  C: {type: class, del: resurrect, into: G, legacy: true}\n"
        "  F: {type: function, def: append-one}\n  I: C\n"
        "  T: {type: tuple, items: [1, none, G]}\n"
        "script:\n"
        "  - {op: new, type: str, value: \"aaa\", const: true, as: s}\n"
        "  - {op: new, type: float, value: 1.5, as: f}\n"
        "  - {op: new, type: C, as: x}\n"
        "  - {op: bind, as: y, value: x}\n"
        "  - {op: weakref.new, on: x, as: r, callback: count}\n"
        "  - {op: call, on: F, value: G, as: res}\n"
        "  - {op: is, a: x, b: y, label: same}\n"
        "  - {op: show, expr: \"getrefcount(x) + len(s)\"}\n"
        "  - {op: assert, expr: \"x is y and alive(r) and finalized(C) == 0\"}\n"
        "  - {op: dict.del, on: D, key: {iter: -100}}\n"
        "  - {op: new, type: dict, as: D}\n"
        "checks:\n  - count(is) == 1 and len(T) == 3 and len(G) >= 0\n");
    cr_assert(s->once);
    cr_assert_eq(s->globals[1].type, GH_NEW_CLASS);
    cr_assert_eq(s->globals[1].del, GH_DEL_RESURRECT);
    cr_assert(s->globals[1].legacy);
    cr_assert_eq(s->globals[1].into, 0);
    cr_assert_eq(s->globals[3].type, GH_NEW_INSTANCE);
    cr_assert_eq(s->globals[3].cls, 1);
    cr_assert_eq(s->globals[4].nelems, 3);
    cr_assert_eq(s->globals[4].elems[0].kind, GH_VAL_INT_LIT);
    struct gh_role *r = &s->roles[0];
    cr_assert_eq(r->ops[0].spec->type, GH_NEW_STR);
    cr_assert(r->ops[0].spec->is_const);
    cr_assert_str_eq(r->ops[0].spec->text, "aaa");
    cr_assert_eq(r->ops[9].key.iter, true);
    cr_assert_eq(r->ops[9].key.value, -100);
    cr_assert_eq(r->ops[4].kind, GH_OP_WEAKREF_NEW);
    cr_assert(r->ops[4].callback);
    cr_assert_str_eq(r->ops[6].name, "same");
    gh_scenario_free(s);
}

#define MODEL_HEAD "name: t\nops: once\nsetup:\n  L: list\n  C: {type: class, del: count}\n"

Test(scenario_model, bad_new_syntax, .timeout = 10)
{
    /* 1: a key the type does not take */
    text_error(MODEL_HEAD "script:\n  - {op: new, type: int, value: 3, const: true, as: a}\n", 7, 36, "`const` does not apply to type int");
    /* 2: a float that is not a number */
    text_error(MODEL_HEAD "script:\n  - {op: new, type: float, value: abc, as: a}\n", 7, 35,
               "expected a number such as 1.5");
    /* 3: a class outside setup */
    text_error(MODEL_HEAD "script:\n  - {op: new, type: class, as: a}\n", 7, 21,
               "expected a type (");
    /* 4: del: resurrect without into */
    text_error("name: t\nops: once\nsetup:\n  C: {type: class, del: resurrect}\n"
               "script: [{op: io}]\n", 4, 25, "needs `into: NAME`");
    /* 5: a function without def, and a bad def */
    text_error("name: t\nops: once\nsetup:\n  F: function\nscript: [{op: io}]\n", 4, 6,
               "a function needs `def`");
    text_error("name: t\nops: once\nsetup:\n  F: {type: function, def: twice}\n"
               "script: [{op: io}]\n", 4, 28, "def: expected append-one");
    /* 6: a small int out of the cache */
    text_error(MODEL_HEAD "script:\n  - {op: new, type: small-int, value: 300, as: a}\n", 7,
               39, "expected an integer from -5 to 256");
    /* 7: unknown callback */
    text_error(MODEL_HEAD "script:\n  - {op: new, as: x}\n  - {op: weakref.new, on: x, as: r, "
               "callback: print}\n", 8, 47, "callback: expected count");
    /* 8: is without b */
    text_error(MODEL_HEAD "script:\n  - {op: is, a: L}\n", 7, 5, "missing `b` in a is op");
    /* 9: an op on the wrong type */
    text_error(MODEL_HEAD "script:\n  - {op: set.add, on: L, value: 1}\n", 7, 23,
               "set.add needs a set in `on`, but `L` is a list");
    /* 10: str.concat on a global */
    text_error("name: t\nops: once\nsetup:\n  S: {type: str, value: ab}\n"
               "script:\n  - {op: str.concat, on: S, value: c}\n", 6, 26,
               "needs a local bound by an op with `as:`");
    /* 11: an attribute name that is not an identifier */
    text_error(MODEL_HEAD "script:\n  - {op: new, as: o}\n  - {op: attr.set, on: o, name: 1x, "
               "value: 1}\n", 8, 33, "name: expected an attribute name");
    /* 12: show without expr, and a bad expression in show */
    text_error(MODEL_HEAD "script:\n  - {op: show}\n", 7, 5, "missing `expr` in a show op");
    text_error(MODEL_HEAD "script:\n  - {op: show, expr: \"getrefcount(zz)\"}\n", 7, 35,
               "bad expression: getrefcount(zz): `zz` is not a local");
    /* 13: ops: once with a mix */
    text_error("name: t\nops: once\nmix: [{op: io}]\n", 2, 6, "ops: once runs each role's script");
    /* 14: {iter: K} with another key */
    text_error(MODEL_HEAD "script:\n  - {op: dict.del, on: D, key: {iterr: 1}}\n"
               "  - {op: new, type: dict, as: D}\n", 7, 33, "unknown key `iterr`");
    /* 15: trace.compare without from, and from naming an object */
    text_error(MODEL_HEAD "script:\n  - {op: trace.compare}\n", 7, 5, "missing `from`");
    text_error(MODEL_HEAD "script:\n  - {op: trace.compare, from: L}\n", 7, 31,
               "needs a trace snapshot");
    /* 16: is / == of a name with a number; `is` needs names */
    text_error(MODEL_HEAD "script:\n  - {op: new, as: x}\n  - {op: show, expr: \"x is 3\"}\n", 8,
               25, "`is` compares two objects");
    text_error(MODEL_HEAD "script:\n  - {op: new, as: x}\n  - {op: show, expr: \"x + 1\"}\n", 8,
               23, "`x` is an object, not a number");
    /* 17: finalized() of something that is not a class */
    text_error(MODEL_HEAD "script: [{op: io}]\nchecks:\n  - finalized(L) == 0\n", 8, 15,
               "`L` is not a class");
    /* 18: locals are gone in checks */
    text_error(MODEL_HEAD "script:\n  - {op: new, as: x}\nchecks:\n  - id(x) > 0\n", 9, 8,
               "`x` is not a global from `setup` (after the run only globals exist)");
    /* 19: `into` must be a list set up earlier */
    text_error("name: t\nops: once\nsetup:\n  C: {type: class, del: resurrect, into: G}\n"
               "  G: list\nscript: [{op: io}]\n", 4, 42, "into: expected a global list set up "
               "earlier");
}

/* Regression (review): a trace snapshot bound by trace.snapshot is not an
 * object; naming it as an operand or a value read as None. */
Test(scenario_parse, snapshot_is_not_an_object, .timeout = 10)
{
#define SNAP "name: s\nthreads: 1\nops: once\nscript:\n  - {op: trace.start}\n" \
             "  - {op: trace.snapshot, as: s1}\n"
    text_error(SNAP "  - {op: show, expr: \"s1 is s1\"}\n", 7, 23, "is a trace snapshot, not an object");
    text_error(SNAP "  - {op: show, expr: \"id(s1)\"}\n", 7, 26, "is a trace snapshot, not an object");
    text_error(SNAP "  - {op: new, type: list, as: l}\n  - {op: list.append, on: l, value: s1}\n", 8, 37,
               "is a trace snapshot, not an object");
    gh_scenario_free(text_ok(SNAP "  - {op: trace.stats, on: s1, top: 1}\n"));
#undef SNAP
}

/* ---- the collector: ops, the gc section, expressions; parameters ------- */

#define GCHEAD "name: t\nops: once\nsetup:\n  L: list\n  Node: {type: class, del: count}\n" \
               "script:\n"

Test(scenario_gc, ops_parse, .timeout = 10)
{
    struct gh_scenario *s = text_ok(GCHEAD
        "  - {op: gc.collect}\n"
        "  - {op: gc.collect, generation: 0, as: n}\n"
        "  - {op: gc.disable}\n  - {op: gc.enable}\n"
        "  - {op: gc.set_threshold, thresholds: [700, 5, 6]}\n"
        "  - {op: gc.set_threshold, thresholds: 100}\n"
        "  - {op: gc.freeze}\n  - {op: gc.unfreeze}\n"
        "  - {op: cycle.new}\n"
        "  - {op: cycle.new, cls: Node, size: 3, as: ring}\n"
        "  - {op: attr.get, on: ring, name: next, as: second}\n"
        "  - {op: gc.dot, on: ring, path: refs.dot, depth: 5}\n"
        "  - {op: gc.dot, on: L, path: '-'}\n"
        "  - {op: show, expr: \"value(n)\"}\n");
    const struct gh_role *r = &s->roles[0];
    cr_assert_eq(r->nops, 14);
    cr_assert_eq(r->ops[0].kind, GH_OP_GC_COLLECT);
    cr_assert_eq(r->ops[0].generation, 2, "the default: a full collection");
    cr_assert_eq(r->ops[0].as, -1);
    cr_assert_eq(r->ops[1].generation, 0);
    cr_assert_geq(r->ops[1].as, 0);
    cr_assert_eq(r->local_types[r->ops[1].as], GH_NEW_INT);
    cr_assert_eq(r->ops[2].kind, GH_OP_GC_DISABLE);
    cr_assert_eq(r->ops[3].kind, GH_OP_GC_ENABLE);
    cr_assert_eq(r->ops[4].nthresholds, 3);
    cr_assert_eq(r->ops[4].thresholds[0], 700);
    cr_assert_eq(r->ops[4].thresholds[2], 6);
    cr_assert_eq(r->ops[5].nthresholds, 1);
    cr_assert_eq(r->ops[5].thresholds[0], 100);
    cr_assert_eq(r->ops[6].kind, GH_OP_GC_FREEZE);
    cr_assert(s->gc_freezes, "a gc.freeze op: the runner unfreezes before the teardown");
    cr_assert_eq(r->ops[8].kind, GH_OP_CYCLE_NEW);
    cr_assert_eq(r->ops[8].size, 2);
    cr_assert_eq(r->ops[8].cls, -1, "the plain class");
    cr_assert_eq(r->ops[9].size, 3);
    cr_assert_eq(r->ops[9].cls, 1);
    cr_assert_eq(r->local_types[r->ops[9].as], GH_NEW_INSTANCE);
    cr_assert_eq(r->ops[11].kind, GH_OP_GC_DOT);
    cr_assert_str_eq(r->ops[11].name, "refs.dot");
    cr_assert_eq(r->ops[11].depth, 5);
    cr_assert_str_eq(r->ops[12].name, "-");
    cr_assert_eq(r->ops[12].depth, 3);
    cr_assert_not(s->reads_gc_garbage);
    cr_assert_eq(gh_op_from_name("cycle.new"), GH_OP_CYCLE_NEW);
    gh_scenario_free(s);
}

Test(scenario_gc, op_errors, .timeout = 10)
{
    /* GCHEAD's script starts on line 7; each op is at column 5. */
    text_error(GCHEAD "  - {op: gc.collect, generation: 3}\n", 7, 34,
               "generation: expected an integer from 0 to 2, found `3`");
    text_error(GCHEAD "  - {op: gc.collect, on: L}\n", 7, 22,
               "`on` does not apply to gc.collect; the keys here are: op, as, generation");
    text_error(GCHEAD "  - {op: gc.colect}\n", 7, 10, "(did you mean `gc.collect`?)");
    text_error(GCHEAD "  - {op: gc.set_threshold}\n", 7, 5, "missing `thresholds` in a "
               "gc.set_threshold op");
    text_error(GCHEAD "  - {op: gc.set_threshold, thresholds: [1, 2, 3, 4]}\n", 7, 40,
               "thresholds: expected 1 to 3 thresholds");
    text_error(GCHEAD "  - {op: gc.set_threshold, thresholds: [1, -2]}\n", 7, 44,
               "thresholds: expected an integer from 0 to 1000000000, found `-2`");
    text_error(GCHEAD "  - {op: gc.set_threshold, thresholds: lots}\n", 7, 40,
               "thresholds: expected an integer (t0) or a list");
    text_error(GCHEAD "  - {op: cycle.new, size: 0}\n", 7, 27,
               "size: expected an integer from 1 to 1000000, found `0`");
    text_error(GCHEAD "  - {op: cycle.new, cls: L}\n", 7, 26,
               "cls: `L` is a list (set up at 4:3); expected a class from setup");
    text_error(GCHEAD "  - {op: cycle.new, cls: Nod}\n", 7, 26,
               "cls: undefined name `Nod` (did you mean `Node`?)");
    text_error(GCHEAD "  - {op: gc.dot, path: a.dot}\n", 7, 5, "missing `on` in a gc.dot op");
    text_error(GCHEAD "  - {op: gc.dot, on: L}\n", 7, 5, "missing `path` in a gc.dot op");
    text_error(GCHEAD "  - {op: gc.dot, on: L, path: ''}\n", 7, 31, "path: expected a file name");
    text_error(GCHEAD "  - {op: gc.dot, on: L, path: x, depth: 101}\n", 7, 41,
               "depth: expected an integer from 0 to 100");
    text_error(GCHEAD "  - {op: gc.dot, on: M, path: x}\n", 7, 22, "on: undefined name `M`");
    /* A local bound by cycle.new keeps an instance's type. */
    text_error(GCHEAD "  - {op: cycle.new, as: c}\n  - {op: list.append, on: c, value: 1}\n",
               8, 27, "list.append needs a list in `on`, but `c` is an object");
}

Test(scenario_gc, gc_section, .timeout = 10)
{
    struct gh_scenario *s = text_ok(GCHEAD "  - {op: show, expr: \"len(gc.garbage)\"}\n"
                                    "gc:\n  thresholds: [100, 2]\n  enabled: false\n"
                                    "  debug: saveall\n  freeze: true\n");
    cr_assert_eq(s->gc.nthresholds, 2);
    cr_assert_eq(s->gc.thresholds[0], 100);
    cr_assert_eq(s->gc.thresholds[1], 2);
    cr_assert_eq(s->gc.enabled, 0);
    cr_assert(s->gc.saveall);
    cr_assert(s->gc.freeze);
    cr_assert(s->gc_freezes);
    cr_assert(s->reads_gc_garbage, "the runner makes gc.garbage before the threads");
    gh_scenario_free(s);
    s = text_ok(GCHEAD "  - {op: gc.collect}\ngc:\n");
    cr_assert_eq(s->gc.enabled, -1, "not given");
    cr_assert_eq(s->gc.nthresholds, 0);
    cr_assert_not(s->gc.saveall || s->gc.freeze || s->gc_freezes);
    gh_scenario_free(s);

    const char *h = GCHEAD "  - {op: gc.collect}\ngc:\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s  enable: false\n", h);
    text_error(buf, 9, 3, "unknown key `enable` in gc (did you mean `enabled`?); expected one "
               "of: thresholds, enabled, debug, freeze");
    snprintf(buf, sizeof buf, "%s  debug: leak\n", h);
    text_error(buf, 9, 10, "gc: debug: expected saveall");
    snprintf(buf, sizeof buf, "%s  enabled: sometimes\n", h);
    text_error(buf, 9, 12, "gc: enabled: expected true or false");
    snprintf(buf, sizeof buf, "%s  thresholds: [1, 2, 3, 4]\n", h);
    text_error(buf, 9, 15, "gc: thresholds: expected 1 to 3 thresholds");
    text_error(GCHEAD "  - {op: gc.collect}\ngc: [1]\n", 8, 5, "gc: expected a mapping");
}

Test(scenario_gc, expressions_parse, .timeout = 10)
{
    struct gh_scenario *s = text_ok(GCHEAD "  - {op: cycle.new, as: x}\n"
        "  - {op: assert, expr: \"gc.is_tracked(x) and gc.isenabled() and gc.isenabled\"}\n"
        "checks:\n"
        "  - gc.collections + gc.collected + gc.uncollectable + gc.examined > 0\n"
        "  - gc.gen0.collections + gc.gen1.collected + gc.gen2.uncollectable >= 0\n"
        "  - gc.count + gc.gen1.count + gc.threshold + gc.gen2.threshold > 0\n"
        "  - gc.finalized + gc.resurrected + gc.unreachable + gc.untracked_tuples >= 0\n"
        "  - gc.untracked_dicts + gc.weakrefs_cleared + gc.weakref_callbacks >= 0\n"
        "  - gc.freeze_count() == 0 and len(gc.garbage) == 0\n"
        "  - not gc.is_tracked(L) or gc.isenabled\n");
    const struct gh_expr *e = s->roles[0].ops[1].expr;
    cr_assert_eq(e->kind, GH_EX_AND);
    cr_assert_eq(e->l->kind, GH_EX_AND);
    cr_assert_eq(e->l->l->kind, GH_EX_GC_TRACKED);
    cr_assert(gh_expr_is_bool(e->l->l));
    cr_assert_eq(e->l->r->kind, GH_EX_GC);
    cr_assert_eq(e->l->r->ival, GH_GCR_ISENABLED);
    cr_assert(gh_expr_is_bool(e->l->r));
    /* gc.gen1.collected: a per-generation reading */
    const struct gh_expr *g = s->checks[1].expr->l->l->r;
    cr_assert_eq(g->kind, GH_EX_GC);
    cr_assert_eq(g->ival, GH_GCR_COLLECTED);
    cr_assert_eq(g->slot, 1);
    cr_assert_eq(s->checks[0].expr->l->l->l->l->slot, -1, "gc.collections: every generation");
    cr_assert_not(gh_expr_is_bool(s->checks[0].expr->l->l->l->l));
    cr_assert(s->reads_gc_garbage);
    gh_scenario_free(s);
}

Test(scenario_gc, expression_errors, .timeout = 10)
{
    const char *h = HEAD "mix: [{op: io}]\nchecks:\n";
    char buf[512];
#define GC_ERR(line_text, col, phrase)                                         \
    do {                                                                       \
        snprintf(buf, sizeof buf, "%s%s\n", h, line_text);                     \
        text_error(buf, 9, col, phrase);                                       \
    } while (0)
    GC_ERR("  - gc.colections > 0", 5,
           "unknown reading `gc.colections` of the collector; expected gc.collections, ");
    GC_ERR("  - gc.gen3.count > 0", 5, "the generations are gc.gen0, gc.gen1 and gc.gen2");
    GC_ERR("  - gc.gen0.finalized > 0", 5, "only collections, collected, uncollectable, count "
           "and threshold are read per generation; write gc.finalized");
    GC_ERR("  - gc.garbage == 0", 5, "gc.garbage is a list: read its length with "
           "len(gc.garbage)");
    GC_ERR("  - getrefcount(gc.garbage) > 0", 17, "gc.garbage is read only by len(gc.garbage)");
    GC_ERR("  - gc.isenabled(L)", 18, "gc.isenabled takes no argument");
    GC_ERR("  - gc.is_tracked(Q)", 19, "gc.is_tracked(Q): `Q` is not a global");
    GC_ERR("  - gc.is_tracked > 0", 19, "expected `(` after gc.is_tracked");
    GC_ERR("  - size(L) > 0", 5, "or gc.is_tracked");
    GC_ERR("  - $N > 0", 5, "unknown parameter `$N`: the scenario has no `params`");
    GC_ERR("  - $ > 0", 5, "`$` starts a parameter's name");
#undef GC_ERR
}

/* ---- parameters ------------------------------------------------------- */

static const char params_text[] =
    "name: p\n"
    "params:\n  N: 100\n  T: 2\n  OPS: 7\n"
    "threads: $T\n"
    "ops: $OPS\n"
    "setup:\n  H: {type: list, items: $N, value: list}\n"
    "mix:\n  - {op: list.append, on: H, value: $N, weight: $T}\n"
    "  - {op: gc.collect, generation: $T}\n"
    "checks:\n  - len(H) >= $N and $OPS == 7\n";

Test(scenario_params, values_and_overrides, .timeout = 10)
{
    struct gh_scenario *s = text_ok(params_text);
    cr_assert_eq(s->nparams, 3);
    cr_assert_str_eq(s->params[0].name, "N");
    cr_assert_eq(s->params[0].value, 100);
    cr_assert_not(s->params[0].overridden);
    cr_assert_eq(s->params[0].line, 3);
    cr_assert_eq(s->threads, 2);
    cr_assert_eq(s->ops_per_thread, 7);
    cr_assert_eq(s->globals[0].items, 100);
    cr_assert_eq(s->roles[0].ops[0].value.kind, GH_VAL_INT_LIT);
    cr_assert_eq(s->roles[0].ops[0].value.range, 100);
    cr_assert_eq(s->roles[0].ops[0].weight, 2);
    cr_assert_eq(s->roles[0].ops[1].generation, 2);
    cr_assert_eq(s->checks[0].expr->l->r->kind, GH_EX_INT, "$N is its value");
    cr_assert_eq(s->checks[0].expr->l->r->ival, 100);
    gh_scenario_free(s);

    struct gh_diag d;
    const char *const over[] = {"N=5", "T=1"};
    s = gh_scenario_parse_params(params_text, strlen(params_text), "p.yaml", over, 2, &d);
    cr_assert_not_null(s, "%s", d.msg);
    cr_assert_eq(s->params[0].value, 5);
    cr_assert(s->params[0].overridden);
    cr_assert_eq(s->params[1].value, 1);
    cr_assert_not(s->params[2].overridden);
    cr_assert_eq(s->globals[0].items, 5);
    cr_assert_eq(s->threads, 1);
    cr_assert_eq(s->roles[0].ops[1].generation, 1);
    cr_assert_eq(s->checks[0].expr->l->r->ival, 5, "checks see the override");
    gh_scenario_free(s);
}

static void params_error(const char *const *over, int n, int line, int col, const char *phrase)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse_params(params_text, strlen(params_text), "p.yaml",
                                                     over, n, &d);
    bool parsed = s != NULL;
    gh_scenario_free(s);
    cr_assert_not(parsed, "parsed, but should not");
    assert_diag(d.msg, "p.yaml", line, col, phrase);
}

Test(scenario_params, errors, .timeout = 10)
{
    /* Overrides: reported at the `params` key. */
    params_error((const char *const[]){"M=5"}, 1, 2, 1,
                 "--param M=5: the scenario has no parameter `M`; its params are: N, T, OPS");
    params_error((const char *const[]){"N=lots"}, 1, 2, 1, "`lots` is not an integer");
    /* A value out of range names the parameter and where it came from. */
    params_error((const char *const[]){"OPS=0"}, 1, 7, 6,
                 "ops: expected an integer >= 1, found `$OPS` = 0 (from --param)");
    params_error((const char *const[]){"T=0"}, 1, 11, 49,
                 "weight: expected an integer from 1 to 1000000, found `$T` = 0 (from --param)");
    params_error((const char *const[]){"T=3"}, 1, 12, 34,
                 "generation: expected an integer from 0 to 2, found `$T` = 3 (from --param)");
    params_error((const char *const[]){"N=-1"}, 1, 9, 26,
                 "items: expected an integer from 0 to 10000000, found `$N` = -1");

    text_error("name: p\nparams: {N: 1}\nops: $COUNT\nmix: [{op: io}]\n", 3, 6,
               "ops: unknown parameter `$COUNT`; the scenario's params are: $N");
    text_error("name: p\nparams: {NN: 1}\nops: $N\nmix: [{op: io}]\n", 3, 6,
               "(did you mean `$NN`?)");
    text_error("name: p\nops: $N\nmix: [{op: io}]\n", 2, 6,
               "ops: `$N` names a parameter, but the scenario has no `params`");
    text_error("name: p\nparams: {N: 1, N: 2}\nops: 1\nmix: [{op: io}]\n", 2, 16,
               "duplicate key `N` in params (first given at 2:10)");
    text_error("name: p\nparams: {N: $M}\nops: 1\nmix: [{op: io}]\n", 2, 13,
               "a parameter's value is an integer");
    text_error("name: p\nparams: {N: many}\nops: 1\nmix: [{op: io}]\n", 2, 13,
               "params: N: expected an integer, found `many`");
    text_error("name: p\nparams: {2x: 1}\nops: 1\nmix: [{op: io}]\n", 2, 10,
               "params: expected a parameter name");
    text_error("name: p\nparams: [N]\nops: 1\nmix: [{op: io}]\n", 2, 9,
               "params: expected a mapping of names to integers");
    struct gh_diag d;
    const char *const over[] = {"N=1"};
    const char *plain = "name: p\nops: 1\nmix: [{op: io}]\n";
    cr_assert_null(gh_scenario_parse_params(plain, strlen(plain), "q.yaml", over, 1, &d));
    assert_diag(d.msg, "q.yaml", 1, 1, "--param N=1: the scenario has no `params`");
}

Test(scenario_params, assignment_syntax, .timeout = 10)
{
    char name[64], err[256];
    int64_t v;
    cr_assert_eq(gh_param_assignment("N=100000", name, sizeof name, &v, err, sizeof err), 0);
    cr_assert_str_eq(name, "N");
    cr_assert_eq(v, 100000);
    cr_assert_eq(gh_param_assignment("_x1=-9223372036854775808", name, sizeof name, &v, err,
                                     sizeof err), 0, "%s", err);
    cr_assert_eq(v, INT64_MIN);
    static const char *const bad[][2] = {
        {"N", "expected NAME=VALUE"}, {"=5", "expected NAME=VALUE"}, {"N=", "expected NAME"},
        {"1N=5", "is not a parameter name"}, {"N=5x", "is not an integer"},
        {"N=9223372036854775808", "is not an integer"}, {"N=-", "is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(gh_param_assignment(bad[i][0], name, sizeof name, &v, err, sizeof err), -1,
                     "%s", bad[i][0]);
        cr_assert(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
    }
}

Test(scenario_gc, shipped_gc_scenarios_parse, .timeout = 10)
{
    static const char *const names[] = {"cycles", "gc-under-load", "gc-pause-vs-heap",
                                        "cycles-with-finalizers"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, SCEN "%s.yaml", names[i]);
        struct gh_scenario *s = load_ok(path);
        cr_assert_str_eq(s->name, names[i]);
        cr_assert(s->about && *s->about, "%s has an about", names[i]);
        cr_assert_gt(s->nchecks, 0, "%s has checks", names[i]);
        gh_scenario_free(s);
    }
    struct gh_diag d;
    const char *const over[] = {"N=1000"};
    struct gh_scenario *s = gh_scenario_load_params(SCEN "gc-pause-vs-heap.yaml", over, 1, &d);
    cr_assert_not_null(s, "%s", d.msg);
    cr_assert_eq(s->globals[0].items, 1000);
    cr_assert_eq(s->gc.enabled, 0);
    gh_scenario_free(s);
}

/* global.add: a counter is a global int, updated one way, read by nothing
 * but global.add and the checks. */
Test(scenario_parse, global_add_errors, .timeout = 10)
{
    text_error("name: t\nsetup:\n  C: {type: int, value: 0}\nduration: 1s\nmix:\n"
               "  - {op: global.add, on: C, via: sometimes}\n",
               6, 34, "via: expected inline");
    text_error("name: t\nsetup:\n  L: list\nduration: 1s\nmix:\n  - {op: global.add, on: L}\n",
               6, 26, "needs an int global");
    text_error("name: t\nsetup:\n  C: {type: int, value: 0}\nduration: 1s\nmix:\n"
               "  - {op: global.add, on: C, value: x}\n",
               6, 36, "value: expected the integer to add");
    text_error("name: t\nsetup:\n  C: {type: int, value: 0}\nduration: 1s\nmix:\n"
               "  - {op: global.add, on: C}\n  - {op: global.add, on: C, via: call}\n",
               7, 34, "a counter is updated one way");
    text_error("name: t\nsetup:\n  C: {type: int, value: 0}\n  L: list\nduration: 1s\nmix:\n"
               "  - {op: list.append, on: L, value: C}\n  - {op: global.add, on: C}\n",
               7, 5, "reads `C`, a counter that global.add rebinds (at 8:5)");
    text_error("name: t\nduration: 1s\nroles:\n  - name: w\n    init:\n"
               "      - {op: new, type: int, value: 0, as: c}\n    mix:\n"
               "      - {op: global.add, on: c}\n",
               8, 30, "needs a global");
    struct gh_scenario *s = text_ok("name: t\nsetup:\n  C: {type: int, value: 0}\nduration: 1s\n"
                                    "mix:\n  - {op: global.add, on: C, via: call, value: -3}\n");
    cr_assert_eq(s->roles[0].ops[0].kind, GH_OP_GLOBAL_ADD);
    cr_assert(s->roles[0].ops[0].via_call);
    cr_assert_eq(s->roles[0].ops[0].value.range, -3);
    cr_assert_eq(s->globals[0].counter, 2);
    gh_scenario_free(s);
}

/* tuple.get and `key: {str: TEXT}`: their errors, and one constant per
 * text. */
Test(scenario_errors, tuple_get_and_str_keys, .timeout = 10)
{
    text_error("name: t\nops: 1\nsetup:\n  L: list\nscript:\n"
               "  - {op: tuple.get, on: L}\n",
               6, 25, "tuple.get needs a tuple in `on`, but `L` is a list");
    text_error("name: t\nops: 1\nsetup:\n  T: {type: tuple, items: [1]}\nscript:\n"
               "  - {op: tuple.get, on: T, key: 3}\n",
               6, 28, "`key` does not apply to tuple.get");
    text_error("name: t\nops: 1\nsetup:\n  D: dict\nscript:\n"
               "  - {op: dict.get, on: D, key: {str: [a]}}\n",
               6, 38, "expected a text");
    text_error("name: t\nops: 1\nsetup:\n  D: dict\nscript:\n"
               "  - {op: dict.get, on: D, key: {str: a, iter: 1}}\n",
               6, 41, "unknown key `iter`");
    text_error("name: t\nops: 1\nsetup:\n  D: dict\nscript:\n"
               "  - {op: dict.get, on: D, key: {str: a}, keys: 5}\n",
               6, 42, "`keys` applies only to `key: random`");
    text_error("name: t\nops: 1\nsetup:\n  D: dict\nscript:\n"
               "  - {op: dict.get, on: D, key: [1]}\n",
               6, 32, "expected an integer, `random`, {str: TEXT} or {iter: K}");
    struct gh_scenario *s = text_ok("name: t\nops: 1\nsetup:\n  D: dict\n"
                                    "  T: {type: tuple, items: [1, 2]}\nscript:\n"
                                    "  - {op: dict.set, on: D, key: {str: a}, value: 1}\n"
                                    "  - {op: dict.get, on: D, key: {str: b}}\n"
                                    "  - {op: dict.del, on: D, key: {str: a}}\n"
                                    "  - {op: dict.get, on: D, key: 4}\n"
                                    "  - {op: tuple.get, on: T, index: 1, as: x}\n");
    cr_assert_eq(s->nconsts, 2);
    cr_assert_str_eq(s->consts[0], "a");
    cr_assert_eq(s->roles[0].ops[0].key_const, 0);
    cr_assert_eq(s->roles[0].ops[1].key_const, 1);
    cr_assert_eq(s->roles[0].ops[2].key_const, 0);
    cr_assert_eq(s->roles[0].ops[3].key_const, -1);
    cr_assert_eq(s->roles[0].ops[3].key.value, 4);
    cr_assert(s->roles[0].ops[4].loads_on);
    cr_assert_eq(s->roles[0].ops[4].index.value, 1);
    gh_scenario_free(s);
}

Test(scenario_errors, class_slots, .timeout = 10)
{
    text_error("name: t\nops: 1\nsetup:\n  S: {type: class, slots: a}\nscript:\n"
               "  - {op: new, type: S, as: o}\n",
               4, 27, "slots: expected a list of attribute names");
    text_error("name: t\nops: 1\nsetup:\n  S: {type: class, slots: [a, 1x]}\nscript:\n"
               "  - {op: new, type: S, as: o}\n",
               4, 31, "slots: expected an attribute name");
    text_error("name: t\nops: 1\nsetup:\n  S: {type: class, slots: [a, a]}\nscript:\n"
               "  - {op: new, type: S, as: o}\n",
               4, 31, "slots: `a` is listed twice");
    text_error("name: t\nops: 1\nsetup:\n  S: {type: list, slots: [a]}\nscript:\n"
               "  - {op: new, type: list, as: o}\n",
               4, 19, "`slots` does not apply to type list");
    struct gh_scenario *s = text_ok("name: t\nops: 1\nsetup:\n  S: {type: class, slots: [a, b]}\n"
                                    "  C: class\nscript:\n  - {op: new, type: S, as: o}\n");
    cr_assert_eq(s->globals[0].nslots, 2);
    cr_assert_str_eq(s->globals[0].slots[1], "b");
    cr_assert_eq(s->globals[1].nslots, -1);
    gh_scenario_free(s);
}

/* ---- locks (threading.Lock) ---------------------------------------------- */

#define LOCK_HEAD "name: t\nduration: 1s\nsetup:\n  C: {type: int, value: 0}\n" \
                  "  L: {type: lock}\n  Q: list\n"

/* Misuse of a lock that the file shows is refused where it is written. */
Test(scenario_errors, lock_misuse, .timeout = 10)
{
    /* line 8 is the first op */
    text_error(LOCK_HEAD "mix:\n  - {op: global.add, on: C, with: M}\n", 8, 35,
               "with: undefined name `M`");
    text_error(LOCK_HEAD "mix:\n  - {op: global.add, on: C, with: Q}\n", 8, 35,
               "global.add needs a lock (set up as `{type: lock}`) in `with`, but `Q` is a list "
               "(set up at 6:3)");
    text_error(LOCK_HEAD "mix:\n  - {op: lock.acquire, on: C}\n", 8, 28,
               "lock.acquire needs a lock (set up as `{type: lock}`) in `on`, but `C` is an int");
    text_error(LOCK_HEAD "mix:\n  - {op: lock.release, on: L, with: L}\n", 8, 31,
               "`with` does not apply to lock.release");
    text_error(LOCK_HEAD "init:\n  - {op: lock.acquire, on: L}\nscript:\n"
               "  - {op: lock.release, on: L}\n", 8, 5, "lock.acquire cannot be in `init`");
    text_error(LOCK_HEAD "script:\n  - {op: lock.acquire, on: L}\nafter:\n"
               "  - {op: lock.release, on: L}\n", 10, 5, "lock.release cannot be in `after`");
    text_error(LOCK_HEAD "script:\n  - {op: new, type: lock, as: m}\n", 8, 21,
               "a lock is shared by the threads");
    text_error(LOCK_HEAD "script:\n  - {op: bind, value: L, as: m}\n"
               "  - {op: global.add, on: C, with: m}\n", 9, 35,
               "with: `m` is a local of the role");
    text_error("name: t\nduration: 1s\nsetup:\n  lock: int\nmix:\n  - {op: io}\n", 4, 3,
               "`lock` is a reserved word");
    text_error(LOCK_HEAD "mix:\n  - {op: global.add, on: C, with: L}\nchecks:\n"
               "  - adds(L) == 0\n", 10, 10, "adds(L): `L` is not an int global");
}

/* `with` is accepted on ops of every kind, in every list. */
Test(scenario_parse, with_on_any_op, .timeout = 10)
{
    struct gh_scenario *s = text_ok(LOCK_HEAD "init:\n  - {op: list.append, on: Q, value: 1, "
                                    "with: L}\nmix:\n  - {op: global.add, on: C, via: call, "
                                    "with: L, weight: 3}\n  - {op: io, us: 1, with: L}\n"
                                    "  - {op: lock.acquire, on: L}\n  - {op: lock.release, on: L}\n"
                                    "checks:\n  - value(C) == adds(C)\n");
    const struct gh_role *r = &s->roles[0];
    cr_assert_eq(r->init[0].with, 1);
    cr_assert_eq(r->ops[0].with, 1);
    cr_assert_eq(r->ops[0].weight, 3);
    cr_assert_eq(r->ops[1].with, 1);
    cr_assert_eq(r->ops[2].with, -1);
    cr_assert_eq(r->ops[2].kind, GH_OP_LOCK_ACQUIRE);
    cr_assert_eq(r->init[0].special, GH_OP_SPECIAL_WITH);
    cr_assert_eq(r->ops[1].special, GH_OP_SPECIAL_WITH);
    cr_assert_eq(r->ops[2].special, 0);
    cr_assert_eq(s->globals[1].type, GH_NEW_LOCK);
    gh_scenario_free(s);
}
