/* die.c - see die.h. */
#include "base/die.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gh__die(const char *file, int line, const char *func, int err, const char *what)
{
    fprintf(stderr, "gilheap: fatal: %s:%d: %s: %s: %s\n", file, line, func, what,
            strerror(err));
    abort();
}

void gh__assert_fail(const char *file, int line, const char *func, const char *expr)
{
    fprintf(stderr, "gilheap: internal error: %s:%d: %s: assertion failed: %s\n",
            file, line, func, expr);
    abort();
}
