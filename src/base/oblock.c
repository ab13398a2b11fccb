/* oblock.c - the lock= kind of the run and the side table of stripes
 * (oblock.h). */
#include "base/oblock.h"

#include <string.h>

#include "base/clock.h"
#include "base/die.h"
#include "base/timeline.h"

enum gh_oblock_kind gh_oblock_kind = GH_OBLOCK_PYMUTEX;

struct gh_oblock_stripe gh_oblock_stripes[GH_OBLOCK_STRIPES];

void gh_oblock_select(enum gh_oblock_kind k)
{
    gh_assert(k < GH_OBLOCK_COUNT);
    gh_oblock_kind = k;
    /* Every stripe starts unlocked in the chosen kind's representation
     * (no thread uses the table between runs). */
    for (int i = 0; i < GH_OBLOCK_STRIPES; i++) {
        struct gh_oblock_stripe *s = &gh_oblock_stripes[i];
        memset(s, 0, sizeof *s);
        if (k == GH_OBLOCK_PTHREAD)
            gh_check_pthread(pthread_mutex_init(&s->u.pm, NULL));
    }
}

void gh_oblock_pthread_lock_slow(pthread_mutex_t *pm, struct gh_lockstat *st)
{
    uint64_t t0 = gh_lock_wait_begin(st, pm);
    gh_check_pthread(pthread_mutex_lock(pm));
    gh_lock_waited(st, pm, t0);
}

void gh_oblock_pthread_unlock_fail(int err) { gh_check_pthread(err); }
