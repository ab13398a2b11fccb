/* lock.fl.c - threading.Lock for one flavour (containers/lock.h). */
#include "containers/containers.h"

#include <string.h>

static void lock_dealloc(gh_object *self) { gh_object_free(self, sizeof(struct gh_lock)); }

const struct gh_type GH_FL(gh_lock_type) = {
    .tp_name = "_thread.lock",
    .kind = GH_KIND_LOCK,
    .flags = 0,
    .lock_class = GH_LOCK_user, /* its ob_mutex is never taken; its own mutex is */
    .tp_basicsize = sizeof(struct gh_lock),
    .tp_dealloc = lock_dealloc,
};

gh_object *GH_FL(gh_lock_new)(void)
{
    gh_object *o = gh_object_alloc(&gh_lock_type, sizeof(struct gh_lock));
    struct gh_lock *l = (struct gh_lock *)(void *)o;
    l->mutex.bits = 0;
    memset(l->pad_, 0, sizeof l->pad_);
    l->owner = 0;
    return o;
}

/* The wait: CPython's _PyMutex_LockTimed(.., _PY_LOCK_DETACH) past its
 * fast path. With a GIL (3.13's default build spins 0 times) the GIL is
 * dropped before the thread waits and taken again once it holds the lock,
 * as PyEval_SaveThread / PyEval_RestoreThread around the park. Without
 * one, gh_mutex_lock_slow spins attached, then detaches while it sleeps
 * (class `user` is a detaching class, base/mutex.c) and attaches when
 * woken (waiting while the world is stopped), as 3.13t's park does. The
 * wait is counted in class `user` (contended, wait_ns), the GIL's retake
 * in class `gil`. */
void GH_FL(gh_lock_acquire_slow)(struct gh_tstate *ts, struct gh_lock *l)
{
#if defined(GH_FL_SYNC_GIL)
    gh_sync_block_begin(ts);
    gh_mutex_lock_slow(&l->mutex, &ts->locks[GH_LOCK_user]);
    gh_sync_block_end(ts);
#else
    gh_mutex_lock_slow(&l->mutex, &ts->locks[GH_LOCK_user]);
#endif
}
