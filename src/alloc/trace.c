/* trace.c - allocation tracing (the tracemalloc model): the trace table,
 * the recording slow paths called by gh_alloc/gh_free, snapshots,
 * statistics and their formatting.
 *
 * The table maps a block's address to (requested size, site). It is an
 * open-addressing hash table with linear probing and backward-shift
 * deletion (no tombstones), keyed by the address (0 = empty slot: gh_alloc
 * never returns NULL), grown by doubling at 70% load. Its memory is
 * malloc'ed, so tracing never traces itself.
 *
 * Who may touch what: everything below marked "under trace_mutex" is read
 * and written only by the holder of trace_mutex. gh__trace_flag.on is
 * written only under trace_mutex (relaxed stores) and read relaxed without
 * it by gh_alloc/gh_free; the slow paths read it again under the mutex,
 * which is the only ordering anything here relies on (no acquire/release
 * pairs: the mutex's lock/unlock order the table and the counters). So:
 *
 *   thread A (gh_alloc)                    thread B (gh_trace_stop)
 *   load_relaxed(on) == 1                  lock
 *                                          on = 0; free the table
 *                                          unlock
 *   gh__trace_record_slow: lock
 *   on == 0 under the lock: record nothing
 *
 * A stale 0 read by the fast path only loses the trace of a block allocated
 * while tracing was being switched on (as if allocated just before start),
 * or skips the forget of a block whose trace a stop has already cleared: a
 * free happens after its allocation, so when the allocation was recorded,
 * the free's load sees that start's 1 or a later value (coherence).
 *
 * See trace.h and docs/alloc.md.
 */
#include "alloc/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/die.h" // gh_die, gh_check_pthread

struct gh__trace_flag gh__trace_flag;

struct trace_entry {
    uintptr_t ptr;    /* the block; 0 = empty slot */
    size_t size;      /* requested bytes */
    const char *file; /* the site */
    int line;
};

#define TABLE_MIN_SLOTS 1024u

static pthread_mutex_t trace_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Under trace_mutex. slots is NULL (and mask, shift, used 0) until the
 * first record after a start or clear. */
static struct {
    struct trace_entry *slots;
    size_t mask;      /* capacity - 1; the capacity is a power of two */
    unsigned shift;   /* 64 - log2(capacity): the hash takes the top bits */
    size_t used;      /* traces */
    uint64_t current; /* sum of the traces' sizes */
    uint64_t peak;    /* maximum of current since start, clear, reset_peak */
} tab;

// ---------------------------------------------------------------------------
// The table (every function here runs under trace_mutex)

GH_INLINE size_t slot_home(uintptr_t p)
{
    /* Fibonacci hashing of the address: blocks are 16-aligned and often
     * consecutive, so multiply to spread them and keep the top bits. */
    return (size_t)(((uint64_t)p * UINT64_C(0x9E3779B97F4A7C15)) >> tab.shift);
}

static void table_free_lock_held(void)
{
    free(tab.slots);
    memset(&tab, 0, sizeof tab);
}

static GH_NOINLINE void table_grow_lock_held(void)
{
    size_t old_cap = tab.slots ? tab.mask + 1 : 0;
    struct trace_entry *old = tab.slots;
    size_t cap = old_cap ? old_cap * 2 : TABLE_MIN_SLOTS;
    struct trace_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        gh_die(ENOMEM, "trace table");
    unsigned bits = (unsigned)__builtin_ctzll((unsigned long long)cap);
    tab.slots = slots;
    tab.mask = cap - 1;
    tab.shift = 64u - bits;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].ptr == 0)
            continue;
        size_t j = slot_home(old[i].ptr);
        while (slots[j].ptr != 0)
            j = (j + 1) & tab.mask;
        slots[j] = old[i];
    }
    free(old);
}

/* Index of p's slot, or SIZE_MAX. */
static size_t table_find_lock_held(uintptr_t p)
{
    if (!tab.slots)
        return SIZE_MAX;
    for (size_t i = slot_home(p);; i = (i + 1) & tab.mask) {
        if (tab.slots[i].ptr == p)
            return i;
        if (tab.slots[i].ptr == 0)
            return SIZE_MAX;
    }
}

static void table_insert_lock_held(uintptr_t p, size_t n, const char *file, int line)
{
    if (!tab.slots || (tab.used + 1) * 10 > (tab.mask + 1) * 7)
        table_grow_lock_held();
    size_t i = slot_home(p);
    while (tab.slots[i].ptr != 0 && tab.slots[i].ptr != p)
        i = (i + 1) & tab.mask;
    if (tab.slots[i].ptr == p)
        tab.current -= tab.slots[i].size; /* a stale trace: replace it */
    else
        tab.used++;
    tab.slots[i] = (struct trace_entry){p, n, file, line};
    tab.current += n;
    if (tab.current > tab.peak)
        tab.peak = tab.current;
}

/* Backward-shift deletion: empty slot i, then move back every later entry
 * of the run whose home is not cyclically in (i, j], so that no probe
 * sequence crosses a hole. */
static void table_remove_at_lock_held(size_t i)
{
    struct trace_entry *s = tab.slots;
    tab.current -= s[i].size;
    tab.used--;
    for (size_t j = i;;) {
        j = (j + 1) & tab.mask;
        if (s[j].ptr == 0)
            break;
        size_t dist_home = (j - slot_home(s[j].ptr)) & tab.mask;
        size_t dist_hole = (j - i) & tab.mask;
        if (dist_home >= dist_hole) {
            s[i] = s[j];
            i = j;
        }
    }
    s[i].ptr = 0;
}

// ---------------------------------------------------------------------------
// The hooks (alloc.c)

GH_NOINLINE void gh__trace_record_slow(void *p, size_t n)
{
    /* The site is the owner's: read without a lock. */
    struct gh_tstate *ts = gh_tstate_get();
    const char *file = GH_TRACE_UNKNOWN_FILE;
    int line = 0;
    if (ts && ts->trace_file) {
        file = ts->trace_file;
        line = ts->trace_line;
    }
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    /* Again under the lock: a stop since the fast path's load freed the
     * table (see the top of the file). */
    if (gh_atomic_load_relaxed_u8(&gh__trace_flag.on))
        table_insert_lock_held((uintptr_t)p, n, file, line);
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

GH_NOINLINE void gh__trace_forget_slow(void *p)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    /* Not traced (allocated before start, or cleared since): ignored. */
    size_t i = table_find_lock_held((uintptr_t)p);
    if (i != SIZE_MAX)
        table_remove_at_lock_held(i);
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

// ---------------------------------------------------------------------------
// Control

void gh_trace_start(void)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    if (!gh_atomic_load_relaxed_u8(&gh__trace_flag.on)) {
        table_free_lock_held(); /* already empty: stop and clear free it */
        gh_atomic_store_relaxed_u8(&gh__trace_flag.on, 1);
    }
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

void gh_trace_stop(void)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    gh_atomic_store_relaxed_u8(&gh__trace_flag.on, 0);
    table_free_lock_held();
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

bool gh_trace_is_tracing(void) { return gh__trace_enabled_relaxed(); }

void gh_trace_clear(void)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    table_free_lock_held();
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

void gh_trace_get_traced_memory(uint64_t *current, uint64_t *peak)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    uint64_t c = tab.current, p = tab.peak;
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
    if (current)
        *current = c;
    if (peak)
        *peak = p;
}

void gh_trace_reset_peak(void)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    tab.peak = tab.current;
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
}

uint64_t gh_trace_get_overhead(void)
{
    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    uint64_t b = tab.slots ? (uint64_t)(tab.mask + 1) * sizeof(struct trace_entry) : 0;
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
    return b;
}

// ---------------------------------------------------------------------------
// Snapshots

/* The sites, sorted by site (file by strcmp, then line): the order the
 * comparison merges in. */
struct gh_trace_snapshot {
    struct gh_trace_stat *sites;
    size_t nsites;
    uint64_t size, count; /* totals */
};

struct raw_trace {
    const char *file;
    int line;
    size_t size;
};

static int site_cmp(const char *fa, int la, const char *fb, int lb)
{
    if (fa != fb) {
        int c = strcmp(fa, fb);
        if (c)
            return c;
    }
    return (la > lb) - (la < lb);
}

static int raw_cmp_site(const void *a, const void *b)
{
    const struct raw_trace *x = a, *y = b;
    return site_cmp(x->file, x->line, y->file, y->line);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        gh_die(ENOMEM, "trace snapshot");
    return p;
}

struct gh_trace_snapshot *gh_trace_take_snapshot(void)
{
    struct raw_trace *raw = NULL;
    size_t n = 0;

    gh_check_pthread(pthread_mutex_lock(&trace_mutex));
    if (!gh_atomic_load_relaxed_u8(&gh__trace_flag.on)) {
        gh_check_pthread(pthread_mutex_unlock(&trace_mutex));
        return NULL;
    }
    if (tab.used) {
        /* malloc, not gh_alloc: no allocator or trace lock is re-entered. */
        raw = xmalloc(tab.used * sizeof *raw);
        for (size_t i = 0; i <= tab.mask; i++) {
            const struct trace_entry *e = &tab.slots[i];
            if (e->ptr != 0)
                raw[n++] = (struct raw_trace){e->file, e->line, e->size};
        }
        gh_assert(n == tab.used);
    }
    gh_check_pthread(pthread_mutex_unlock(&trace_mutex));

    /* Group by site outside the lock. */
    struct gh_trace_snapshot *snap = xmalloc(sizeof *snap);
    memset(snap, 0, sizeof *snap);
    if (n == 0) {
        free(raw);
        return snap;
    }
    qsort(raw, n, sizeof *raw, raw_cmp_site);
    size_t nsites = 1;
    for (size_t i = 1; i < n; i++)
        nsites += raw_cmp_site(&raw[i - 1], &raw[i]) != 0;
    snap->sites = xmalloc(nsites * sizeof *snap->sites);
    struct gh_trace_stat *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || raw_cmp_site(&raw[i - 1], &raw[i]) != 0) {
            cur = &snap->sites[snap->nsites++];
            *cur = (struct gh_trace_stat){raw[i].file, raw[i].line, 0, 0};
        }
        cur->size += raw[i].size;
        cur->count++;
        snap->size += raw[i].size;
    }
    snap->count = n;
    free(raw);
    return snap;
}

void gh_trace_snapshot_free(struct gh_trace_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->sites);
    free(snap);
}

void gh_trace_snapshot_totals(const struct gh_trace_snapshot *snap, uint64_t *size,
                              uint64_t *count)
{
    if (size)
        *size = snap->size;
    if (count)
        *count = snap->count;
}

static int stat_cmp_size(const void *a, const void *b)
{
    const struct gh_trace_stat *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return site_cmp(x->file, x->line, y->file, y->line);
}

void gh_trace_snapshot_stats(const struct gh_trace_snapshot *snap,
                             struct gh_trace_stat **out, size_t *n)
{
    *n = snap->nsites;
    *out = NULL;
    if (snap->nsites == 0)
        return;
    *out = xmalloc(snap->nsites * sizeof **out);
    memcpy(*out, snap->sites, snap->nsites * sizeof **out);
    qsort(*out, snap->nsites, sizeof **out, stat_cmp_size);
}

GH_INLINE uint64_t abs_i64(int64_t v) { return v < 0 ? -(uint64_t)v : (uint64_t)v; }

static int diff_cmp(const void *a, const void *b)
{
    const struct gh_trace_statdiff *x = a, *y = b;
    uint64_t xs = abs_i64(x->size_diff), ys = abs_i64(y->size_diff);
    if (xs != ys)
        return xs > ys ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    uint64_t xc = abs_i64(x->count_diff), yc = abs_i64(y->count_diff);
    if (xc != yc)
        return xc > yc ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return site_cmp(x->file, x->line, y->file, y->line);
}

void gh_trace_snapshot_compare(const struct gh_trace_snapshot *newer,
                               const struct gh_trace_snapshot *older,
                               struct gh_trace_statdiff **out, size_t *n)
{
    size_t cap = newer->nsites + older->nsites;
    *out = NULL;
    *n = 0;
    if (cap == 0)
        return;
    struct gh_trace_statdiff *d = xmalloc(cap * sizeof *d);
    size_t i = 0, j = 0, k = 0;
    /* Merge the two site-sorted lists. */
    while (i < newer->nsites || j < older->nsites) {
        const struct gh_trace_stat *a = i < newer->nsites ? &newer->sites[i] : NULL;
        const struct gh_trace_stat *b = j < older->nsites ? &older->sites[j] : NULL;
        int c = !a ? 1 : !b ? -1 : site_cmp(a->file, a->line, b->file, b->line);
        if (c < 0) { /* new site */
            d[k++] = (struct gh_trace_statdiff){a->file, a->line, a->size, (int64_t)a->size,
                                                a->count, (int64_t)a->count};
            i++;
        } else if (c > 0) { /* site gone */
            d[k++] = (struct gh_trace_statdiff){b->file, b->line, 0, -(int64_t)b->size, 0,
                                                -(int64_t)b->count};
            j++;
        } else {
            d[k++] = (struct gh_trace_statdiff){
                a->file, a->line, a->size, (int64_t)a->size - (int64_t)b->size,
                a->count, (int64_t)a->count - (int64_t)b->count};
            i++;
            j++;
        }
    }
    qsort(d, k, sizeof *d, diff_cmp);
    *out = d;
    *n = k;
}

// ---------------------------------------------------------------------------
// Formatting (Lib/tracemalloc.py: _format_size, Statistic.__str__,
// StatisticDiff.__str__)

int gh_trace_format_size(double size, bool sign, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    for (size_t u = 0;; u++) {
        double mag = size < 0 ? -size : size;
        bool last = u == GH_ARRAY_LEN(units) - 1;
        if (mag < 100 && u != 0) /* 3 digits: xx.x UNIT */
            return snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
        if (mag < 10 * 1024 || last) /* 4 or 5 digits: xxxx UNIT */
            return snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", size, units[u]);
        size /= 1024;
    }
}

/* ", average=..." when count > 0, else "". */
static void format_average(uint64_t size, uint64_t count, char *buf, size_t len)
{
    buf[0] = '\0';
    if (count) {
        char avg[32];
        gh_trace_format_size((double)size / (double)count, false, avg, sizeof avg);
        snprintf(buf, len, ", average=%s", avg);
    }
}

int gh_trace_stat_format(const struct gh_trace_stat *st, char *buf, size_t len)
{
    char size[32], avg[48];
    gh_trace_format_size((double)st->size, false, size, sizeof size);
    format_average(st->size, st->count, avg, sizeof avg);
    return snprintf(buf, len, "%s:%d: size=%s, count=%llu%s", st->file, st->line, size,
                    (unsigned long long)st->count, avg);
}

int gh_trace_statdiff_format(const struct gh_trace_statdiff *d, char *buf, size_t len)
{
    char size[32], diff[32], avg[48];
    gh_trace_format_size((double)d->size, false, size, sizeof size);
    gh_trace_format_size((double)d->size_diff, true, diff, sizeof diff);
    format_average(d->size, d->count, avg, sizeof avg);
    return snprintf(buf, len, "%s:%d: size=%s (%s), count=%llu (%+lld)%s", d->file, d->line,
                    size, diff, (unsigned long long)d->count, (long long)d->count_diff, avg);
}
