/* fuzz_expr.c - libFuzzer target: the check-expression language
 * (src/scenario/expr.c).
 *
 * Input: one byte of mode, then the expression's text. Bit 0 of the mode
 * byte parses it as a role's `show`/`assert` (names resolve against the
 * role's locals first, one of them a trace snapshot) instead of as a
 * top-level check (globals only). The globals are a fixed small set, one
 * of each kind a check can name differently (a list, a dict, an int, a
 * class, a str), and the parameters $N and $BIG.
 *
 * An expression that parses is evaluated twice: against a fake run whose
 * object functions answer from a table of edge values (0, -1, INT64_MAX,
 * INT64_MIN...) and sometimes fail, and against an environment without
 * them (only len, count and failed without a target, as a check evaluated
 * outside a run).
 * Division by zero and overflow must come back as errors, never as
 * undefined behaviour. Also checked: a failed parse or evaluation always
 * leaves a message; the parse error's offset lies inside the text; every
 * node has a 1-based position; a truth value is 0 or 1.
 *
 * Build and run: scripts/fuzz.sh (the `fuzz` preset, GH_FUZZ=ON, clang);
 * docs/scenarios.md, "Fuzzing the parser". Corpus: fuzz/corpus/expr/;
 * dictionary: fuzz/expr.dict. Without GH_FUZZ this file is linked with
 * fuzz/replay.c, which runs it over the committed corpus as a test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

#define FUZZ_REQUIRE(cond)                                                                    \
    do {                                                                                      \
        if (!(cond))                                                                          \
            __builtin_trap();                                                                 \
    } while (0)

static const struct gh_global globals[] = {
    {.name = "L", .type = GH_NEW_LIST},
    {.name = "D", .type = GH_NEW_DICT},
    {.name = "N", .type = GH_NEW_INT},
    {.name = "C", .type = GH_NEW_CLASS},
    {.name = "S", .type = GH_NEW_STR},
};
#define NGLOBALS ((int)(sizeof globals / sizeof globals[0]))

static char *role_locals[] = {"x", "w", "snap", "L"};
static enum gh_newtype role_types[] = {GH_NEW_LIST, GH_NEW_WEAKREF, GH_NEW_SNAPSHOT,
                                       GH_NEW_ANY};
static const struct gh_role role = {
    .name = "r", .locals = role_locals, .nlocals = 4, .local_types = role_types,
};

static const struct gh_param params[] = {
    {.name = "N", .value = 3},
    {.name = "BIG", .value = INT64_MAX},
};

static const int64_t edge[] = {0, 1, -1, 7, INT64_MAX, INT64_MIN, 1000000};
#define NEDGE ((int)(sizeof edge / sizeof edge[0]))

static bool is_truth(enum gh_expr_kind k)
{
    return k == GH_EX_INTERNED || k == GH_EX_ALIVE || k == GH_EX_IS || k == GH_EX_ISNOT ||
           k == GH_EX_OBJ_EQ || k == GH_EX_OBJ_NE || k == GH_EX_GC_TRACKED;
}

/* The object functions of a fake run: an edge value picked by the node's
 * kind and operand, a failure for one combination in five, truth values
 * for the predicates (as the real ones give). */
static int fake_object(void *ctx, const struct gh_expr *e, int64_t *out, char *err,
                       size_t errlen)
{
    (void)ctx;
    /* The object functions get the kinds the evaluator promises. */
    FUZZ_REQUIRE(e->kind == GH_EX_LEN || (e->kind >= GH_EX_NAME && e->kind <= GH_EX_GC_TRACKED));
    int64_t pick = (int64_t)e->kind * 7 + e->slot + (e->local ? 3 : 0) + e->ival;
    unsigned u = (unsigned)(pick < 0 ? -(pick + 1) : pick);
    if (u % 5 == 4)
        return gh__expr_error(e, err, errlen, "fake object %u failed", u);
    *out = is_truth(e->kind) || (e->kind == GH_EX_GC && e->ival == GH_GCR_ISENABLED)
               ? (int64_t)(u & 1)
               : edge[u % NEDGE];
    return 0;
}

static int64_t fake_len(void *ctx, int slot)
{
    (void)ctx;
    FUZZ_REQUIRE(slot >= 0 && slot < NGLOBALS);
    return edge[slot % NEDGE];
}

static uint64_t fake_count(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    FUZZ_REQUIRE((int)op >= 0 && op < GH_OP_COUNT);
    return op % 5 == 0 ? UINT64_MAX : op % 5 == 1 ? (uint64_t)INT64_MAX : (uint64_t)op;
}

static uint64_t fake_failed(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    FUZZ_REQUIRE((int)op >= 0 && op < GH_OP_COUNT);
    return (uint64_t)op % 3;
}

static uint64_t fake_count_on(void *ctx, enum gh_op_kind op, int slot, bool failed)
{
    (void)ctx;
    FUZZ_REQUIRE((int)op >= 0 && op < GH_OP_COUNT);
    FUZZ_REQUIRE(slot >= 0 && slot < NGLOBALS);
    return failed ? (uint64_t)slot : op % 2 ? UINT64_MAX : (uint64_t)op + (uint64_t)slot;
}

/* Every node has a position; a walk bounded by the parser's node limit. */
static int check_tree(const struct gh_expr *e)
{
    if (!e)
        return 0;
    FUZZ_REQUIRE(e->line >= 1 && e->column >= 1);
    return 1 + check_tree(e->l) + check_tree(e->r);
}

static void eval_with(const struct gh_expr *e, const struct gh_eval_env *env)
{
    char err[256];
    int64_t v = 0;
    if (gh_expr_eval(e, env, &v, err, sizeof err) != 0) {
        FUZZ_REQUIRE(err[0] != 0 && strnlen(err, sizeof err) < sizeof err);
        return;
    }
    if (gh_expr_is_bool(e))
        FUZZ_REQUIRE(v == 0 || v == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool in_role = data[0] & 1;
    /* The parser reads a NUL-terminated text (a YAML scalar). */
    size_t len = size - 1;
    char *text = malloc(len + 1);
    if (!text)
        abort();
    memcpy(text, data + 1, len);
    text[len] = 0;

    size_t off = SIZE_MAX;
    char err[512];
    struct gh_expr *e = gh__expr_parse_params(text, globals, NGLOBALS, in_role ? &role : NULL,
                                              params, 2, NULL, NULL, &off, err, sizeof err);
    if (!e) {
        FUZZ_REQUIRE(err[0] != 0);
        FUZZ_REQUIRE(off <= strlen(text));
    } else {
        FUZZ_REQUIRE(check_tree(e) <= 256);
        const struct gh_eval_env run = {.count = fake_count, .failed = fake_failed,
                                        .count_on = fake_count_on, .object = fake_object};
        const struct gh_eval_env bare = {.len = fake_len, .count = fake_count,
                                         .failed = fake_failed};
        eval_with(e, &run);
        eval_with(e, &bare);
        gh__expr_free(e);
    }
    free(text);
    return 0;
}
