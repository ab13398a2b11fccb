/* die.c - see die.h. */
#include "base/die.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Running out of memory or threads is not a bug: the message says which
 * resource, and the status is 3 (internal error or resource exhaustion),
 * not an abort's 134. */
static GH_COLD __attribute__((noreturn)) void exhausted(const char *which, const char *file,
                                                         int line, const char *what)
{
    fprintf(stderr, "gilheap: error: out of %s (%s:%d: %s); try fewer threads, a smaller "
            "scenario, or a higher limit (ulimit -v, -u)\n", which, file, line, what);
    _exit(3);
}

void gh__die(const char *file, int line, const char *func, int err, const char *what)
{
    if (err == ENOMEM)
        exhausted("memory", file, line, what);
    if (err == EAGAIN && strstr(what, "pthread_create"))
        exhausted("threads", file, line, what);
    fprintf(stderr, "gilheap: fatal: %s:%d: %s: %s: %s\n", file, line, func, what,
            strerror(err));
    abort();
}

void gh__assert_fail(const char *file, int line, const char *func, const char *expr)
{
    /* An assertion on an allocation's result (p != NULL) right after the
     * allocator set ENOMEM. */
    if (errno == ENOMEM && strstr(expr, "NULL"))
        exhausted("memory", file, line, expr);
    fprintf(stderr, "gilheap: internal error: %s:%d: %s: assertion failed: %s\n",
            file, line, func, expr);
    abort();
}
