/* fuzz_scenario.c - libFuzzer target: the scenario parser.
 *
 * Input: the bytes of a scenario file. They go to gh_scenario_parse, or,
 * when the file begins with comment lines `# --param NAME=VALUE` (at most
 * four; still valid YAML), to gh_scenario_parse_params with those
 * overrides, as `gilheap run --param` passes them. A scenario that parses
 * then has its thread counts assigned and its checks evaluated against a
 * fake run (every count, failure and length a fixed function of the op or
 * global), and is freed. Errors are the expected outcome of most inputs;
 * what must never happen is a crash, a leak (ASan's leak check is on), a
 * hang, undefined behaviour, or an error message that is not one line
 * naming the file.
 *
 * Build and run: scripts/fuzz.sh (the `fuzz` preset, GH_FUZZ=ON, clang);
 * docs/scenarios.md, "Fuzzing the parser". Corpus: fuzz/corpus/scenario/;
 * dictionary: fuzz/scenario.dict. Without GH_FUZZ this file is linked
 * with fuzz/replay.c, which runs it over the committed corpus as a test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

#define FUZZ_FILE "fuzz.yaml"
#define FUZZ_MAX_PARAMS 4

/* An invariant of the parser's contract broken: stop here, so libFuzzer
 * reports the input as a crash. */
#define FUZZ_REQUIRE(cond)                                                                    \
    do {                                                                                      \
        if (!(cond))                                                                          \
            __builtin_trap();                                                                 \
    } while (0)

static int64_t fake_len(void *ctx, int slot)
{
    (void)ctx;
    return slot % 3 == 0 ? INT64_MAX - slot : slot;
}

static uint64_t fake_count(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    return op % 4 == 0 ? UINT64_MAX - (uint64_t)op : (uint64_t)op * 1000;
}

static uint64_t fake_failed(void *ctx, enum gh_op_kind op)
{
    (void)ctx;
    return (uint64_t)op % 3;
}

static uint64_t fake_count_on(void *ctx, enum gh_op_kind op, int slot, bool failed)
{
    (void)ctx;
    return failed ? (uint64_t)slot : op % 4 == 0 ? UINT64_MAX : (uint64_t)op + (uint64_t)slot;
}

/* The ops' marks agree with the pairs count(OP, X) reads: an op of a mix
 * or script carries the index of its (kind, `on`) pair when there is one,
 * and `special` says it has a tally or a `with`; init and after ops carry
 * none. */
static void check_tallies(const struct gh_scenario *s)
{
    for (int t = 0; t < s->ntallies; t++) {
        FUZZ_REQUIRE(s->tallies[t].slot >= 0 && s->tallies[t].slot < s->nglobals);
        FUZZ_REQUIRE(gh_scenario_tally(s, s->tallies[t].op, s->tallies[t].slot) == t);
    }
    for (int r = 0; r < s->nroles; r++) {
        const struct gh_role *role = &s->roles[r];
        const struct gh_op *lists[3] = {role->ops, role->init, role->after};
        int counts[3] = {role->nops, role->ninit, role->nafter};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < counts[l]; i++) {
                const struct gh_op *op = &lists[l][i];
                int want = l == 0 && !op->on.local && op->on.slot >= 0
                               ? gh_scenario_tally(s, op->kind, op->on.slot) : -1;
                FUZZ_REQUIRE(op->tally == want);
                FUZZ_REQUIRE(op->special == ((op->with >= 0 ? GH_OP_SPECIAL_WITH : 0) |
                                             (want >= 0 ? GH_OP_SPECIAL_TALLY : 0)));
            }
    }
}

/* A diagnostic starts with what it is about (the file, or the argument)
 * and is one line. */
static void check_diag(const struct gh_diag *d, const char *prefix)
{
    size_t n = strnlen(d->msg, sizeof d->msg);
    FUZZ_REQUIRE(n > 0 && n < sizeof d->msg);
    FUZZ_REQUIRE(strncmp(d->msg, prefix, strlen(prefix)) == 0);
    FUZZ_REQUIRE(memchr(d->msg, '\n', n) == NULL);
}

/* Collects the leading `# --param NAME=VALUE` lines of text into params
 * (copies, NUL-terminated); returns how many. */
static int leading_params(const char *text, size_t len, char *params[FUZZ_MAX_PARAMS])
{
    static const char tag[] = "# --param ";
    const size_t tlen = sizeof tag - 1;
    int n = 0;
    size_t i = 0;
    while (n < FUZZ_MAX_PARAMS && len - i > tlen && memcmp(text + i, tag, tlen) == 0) {
        const char *start = text + i + tlen;
        const char *nl = memchr(start, '\n', len - i - tlen);
        size_t plen = nl ? (size_t)(nl - start) : len - i - tlen;
        params[n] = strndup(start, plen);
        if (!params[n])
            abort();
        n++;
        if (!nl)
            break;
        i = (size_t)(nl - text) + 1;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser reads exactly size bytes; a copy of its own lets ASan
     * catch a read past the end. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    char *params[FUZZ_MAX_PARAMS];
    int nparams = leading_params(text, size, params);

    struct gh_diag diag;
    struct gh_scenario *s =
        nparams ? gh_scenario_parse_params(text, size, FUZZ_FILE, (const char *const *)params,
                                           nparams, &diag)
                : gh_scenario_parse(text, size, FUZZ_FILE, &diag);
    if (!s) {
        check_diag(&diag, FUZZ_FILE ":");
    } else {
        FUZZ_REQUIRE(s->nroles >= 1);
        check_tallies(s);
        int total = s->threads;
        if (gh_scenario_assign_threads(s, total, &diag) != 0)
            check_diag(&diag, "--threads ");
        const struct gh_eval_env env = {.len = fake_len, .count = fake_count,
                                        .failed = fake_failed, .count_on = fake_count_on};
        for (int i = 0; i < s->nchecks; i++) {
            FUZZ_REQUIRE(s->checks[i].expr && s->checks[i].text);
            char err[256];
            int64_t v = 0;
            if (gh_expr_eval(s->checks[i].expr, &env, &v, err, sizeof err) != 0)
                FUZZ_REQUIRE(err[0] != 0);
        }
        gh_scenario_free(s);
    }
    for (int i = 0; i < nparams; i++)
        free(params[i]);
    free(text);
    return 0;
}
