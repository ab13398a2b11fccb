/* alloc_kinds.h - what the alloc-layer tests share: the allocator settings
 * a test body is parameterized over, and allocation wrappers for threads
 * that must stand in for the GIL.
 *
 * Bodies that allocate run over every allocator: arena without its lock
 * (the threads of threaded tests then share `test_gil`, as a GIL would
 * serialise them), arena with its lock, thread, malloc and mimalloc. Tests
 * that pick one kind index all_kinds, so new kinds go at the end. */
#ifndef GH_TESTS_ALLOC_KINDS_H
#define GH_TESTS_ALLOC_KINDS_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>

#include "alloc/alloc.h"
#include "base/tstate.h"

struct kind_param {
    enum gh_alloc_kind kind;
    bool locked;
    const char *name;
};

GH_UNUSED static struct kind_param all_kinds[] = {
    {GH_ALLOC_ARENA, false, "arena"},
    {GH_ALLOC_ARENA, true, "arena-locked"},
    {GH_ALLOC_THREAD, false, "thread"},
    {GH_ALLOC_MALLOC, false, "malloc"},
    {GH_ALLOC_MIMALLOC, false, "mimalloc"},
};

/* Whether the kind serves small blocks from our own pools and arenas
 * (arena, thread) rather than a library's heap (malloc, mimalloc). */
GH_UNUSED static bool kind_has_pools(const struct kind_param *k)
{
    return k->kind == GH_ALLOC_ARENA || k->kind == GH_ALLOC_THREAD;
}

/* The parameter list of ParameterizedTest(struct kind_param *k, suite, test). */
#define KIND_PARAMS(suite, test)                                               \
    ParameterizedTestParameters(suite, test)                                   \
    {                                                                          \
        return cr_make_param_array(struct kind_param, all_kinds,               \
                                   sizeof all_kinds / sizeof all_kinds[0]);    \
    }

/* The kind of the running test (set by kind_start). */
static const struct kind_param *cur_kind;

static pthread_mutex_t test_gil = PTHREAD_MUTEX_INITIALIZER;

static bool needs_gil(void) { return cur_kind->kind == GH_ALLOC_ARENA && !cur_kind->locked; }

GH_UNUSED static void *t_alloc(size_t n)
{
    if (needs_gil())
        pthread_mutex_lock(&test_gil);
    void *p = gh_alloc(n);
    if (needs_gil())
        pthread_mutex_unlock(&test_gil);
    return p;
}

GH_UNUSED static void t_free(void *p, size_t n)
{
    if (needs_gil())
        pthread_mutex_lock(&test_gil);
    gh_free(p, n);
    if (needs_gil())
        pthread_mutex_unlock(&test_gil);
}

/* Binds ts, sets the allocator up for k and attaches the calling thread. */
GH_UNUSED static void kind_start(const struct kind_param *k, struct gh_tstate *ts)
{
    cur_kind = k;
    gh_tstate_bind(ts, 0, "test");
    cr_assert_eq(gh_alloc_init(k->kind, k->locked), 0, "init %s", k->name);
    gh_alloc_thread_attach();
}

GH_UNUSED static void kind_finish(void)
{
    gh_alloc_thread_detach();
    gh_alloc_fini();
    gh_tstate_unbind();
}

#endif
