/* die.h - unrecoverable OS failures and internal assertions.
 *
 * Three classes of error, never mixed (docs/architecture.md):
 *  - bugs: gh_assert (always on; it guards invariants whose violation would
 *    make every later number meaningless) and gh_assert_debug (GH_DEBUG);
 *  - an OS call that cannot fail in a correct program (pthread, futex):
 *    gh_die(err), which names the place and aborts (exit status 134);
 *    running out of memory (ENOMEM, or an assertion on an allocation's
 *    NULL with errno ENOMEM) or threads (pthread_create's EAGAIN) is not a
 *    bug: one "out of memory" / "out of threads" line and exit status 3;
 *  - bad input: returned as an error value and reported by the caller with
 *    exit status 2 (see scenario/ and cli/).
 *
 * Layer: base.
 */
#ifndef GH_BASE_DIE_H
#define GH_BASE_DIE_H

#include "base/compiler.h"

GH_COLD __attribute__((noreturn)) void gh__die(const char *file, int line,
                                                const char *func, int err,
                                                const char *what);
GH_COLD __attribute__((noreturn)) void gh__assert_fail(const char *file, int line,
                                                        const char *func,
                                                        const char *expr);

#define gh_die(err, what) gh__die(__FILE__, __LINE__, __func__, (err), (what))

#define gh_assert(e)                                                           \
    (GH_LIKELY(e) ? (void)0 : gh__assert_fail(__FILE__, __LINE__, __func__, #e))

#if defined(GH_DEBUG) && GH_DEBUG >= 1
#define gh_assert_debug(e) gh_assert(e)
#else
#define gh_assert_debug(e) ((void)0)
#endif

/* Checks the return value of a pthread_* call (0 or an errno value). */
#define gh_check_pthread(call)                                                 \
    do {                                                                       \
        int gh_rc_ = (call);                                                   \
        if (GH_UNLIKELY(gh_rc_ != 0))                                          \
            gh_die(gh_rc_, #call);                                             \
    } while (0)

#endif
