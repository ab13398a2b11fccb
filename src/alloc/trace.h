/* trace.h - allocation tracing: the model of Python's tracemalloc.
 *
 * While tracing is on, every gh_alloc records (pointer -> requested size,
 * site) in one table shared by all threads, and every gh_free of a traced
 * pointer removes its record. A site is the calling thread's (file, line)
 * (gh_trace_set_site, GH_TRACE_HERE()); none is "<unknown>":0.
 *
 *   Python                                  here
 *   tracemalloc.start() / stop()            gh_trace_start / gh_trace_stop
 *   tracemalloc.is_tracing()                gh_trace_is_tracing
 *   tracemalloc.clear_traces()              gh_trace_clear
 *   tracemalloc.get_traced_memory()         gh_trace_get_traced_memory
 *   tracemalloc.reset_peak()                gh_trace_reset_peak
 *   tracemalloc.get_tracemalloc_memory()    gh_trace_get_overhead
 *   tracemalloc.take_snapshot()             gh_trace_take_snapshot
 *   snapshot.statistics('lineno')           gh_trace_snapshot_stats
 *   snapshot.compare_to(old, 'lineno')      gh_trace_snapshot_compare
 *   str(Statistic), str(StatisticDiff)      gh_trace_stat_format,
 *                                           gh_trace_statdiff_format
 *
 * Protection: the tracing state, the table and the current/peak counters
 * are protected by the trace mutex. The flag is written only under it;
 * gh_alloc/gh_free read it relaxed as a hint and the slow paths read it
 * again under the mutex, so an allocation that saw "tracing" just before
 * gh_trace_stop records nothing. The trace mutex is taken after the
 * allocator returned the block (gh_alloc) and before the block goes back
 * (gh_free), never under an allocator lock: it is always the innermost
 * lock. The table's memory comes from malloc, never gh_alloc.
 *
 * Cost and differences from tracemalloc: docs/alloc.md, "Allocation
 * tracing (the tracemalloc model)".
 * Layer: alloc (includes base only; knows nothing of objects).
 */
#ifndef GH_ALLOC_TRACE_H
#define GH_ALLOC_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/atomic.h"   // the tracing flag
#include "base/compiler.h" // GH_INLINE, GH_NOINLINE
#include "base/tstate.h"   // trace_file, trace_line: the current site

/* The site of allocations made by threads without a site. */
#define GH_TRACE_UNKNOWN_FILE "<unknown>"

// ---------------------------------------------------------------------------
// Control

/* Starts tracing. A no-op when already tracing (the traces are kept).
 * Blocks allocated before are not traced; freeing them is ignored. */
void gh_trace_start(void);
/* Stops tracing and clears the traces and the counters (tracemalloc.stop
 * does too). A no-op when not tracing. */
void gh_trace_stop(void);
/* Whether tracing is on. Relaxed: the answer may be stale by the time the
 * caller looks at it if another thread starts or stops tracing. */
bool gh_trace_is_tracing(void);
/* Forgets every trace and sets current and peak to 0; tracing stays on or
 * off as it was. */
void gh_trace_clear(void);
/* Bytes (requested sizes) in the traced blocks now, and their maximum since
 * tracing started, the last clear or the last reset_peak. Both 0 when not
 * tracing. Either pointer may be NULL. */
void gh_trace_get_traced_memory(uint64_t *current, uint64_t *peak);
/* Sets the peak to the current traced memory. */
void gh_trace_reset_peak(void);
/* Bytes of malloc'ed memory the trace table uses now. */
uint64_t gh_trace_get_overhead(void);

// ---------------------------------------------------------------------------
// Sites

/* Sets the calling thread's current site: its later allocations are charged
 * to (file, line) until the next call. file NULL clears the site. Only the
 * pointer is kept: file must outlive every snapshot and trace that refers
 * to it (a string literal, or scenario text kept for the whole run). A
 * thread without a tstate has no site; the call does nothing. Two stores;
 * cheap enough to call once per op whether tracing or not. */
GH_INLINE void gh_trace_set_site(const char *file, int line)
{
    struct gh_tstate *ts = gh_tstate_get();
    if (ts) {
        ts->trace_file = file;
        ts->trace_line = line;
    }
}

/* Sets the calling thread's site to this C source line. */
#define GH_TRACE_HERE() gh_trace_set_site(__FILE__, __LINE__)

// ---------------------------------------------------------------------------
// Snapshots and statistics

/* Traces grouped by site. Sites are equal when their lines are equal and
 * their file strings compare equal (strcmp), whatever the pointers. */
struct gh_trace_stat {
    const char *file;
    int line;
    uint64_t size;  /* bytes in the traced blocks of this site */
    uint64_t count; /* traced blocks of this site */
};

/* One site in the difference between two snapshots. A site only in the
 * older snapshot has size = count = 0 and negative diffs. */
struct gh_trace_statdiff {
    const char *file;
    int line;
    uint64_t size;      /* in the newer snapshot */
    int64_t size_diff;  /* newer - older */
    uint64_t count;     /* in the newer snapshot */
    int64_t count_diff; /* newer - older */
};

/* An immutable copy of the traces at one instant, aggregated by site. */
struct gh_trace_snapshot;

/* Copies the traces (under the trace mutex; they are grouped by site after
 * the mutex is released). Returns NULL when not tracing, as
 * tracemalloc.take_snapshot raises. Free with gh_trace_snapshot_free. */
struct gh_trace_snapshot *gh_trace_take_snapshot(void);
/* NULL is allowed. */
void gh_trace_snapshot_free(struct gh_trace_snapshot *snap);
/* Totals of the snapshot: bytes and blocks traced at that instant. Either
 * pointer may be NULL. */
void gh_trace_snapshot_totals(const struct gh_trace_snapshot *snap, uint64_t *size,
                              uint64_t *count);

/* One entry per site, sorted by size descending, then file (strcmp) and line
 * ascending. *out is a malloc'ed array the caller frees with free() (NULL
 * when *n is 0). */
void gh_trace_snapshot_stats(const struct gh_trace_snapshot *snap,
                             struct gh_trace_stat **out, size_t *n);
/* newer minus older, one entry per site present in either (sites present in
 * both with no change included, as compare_to does), sorted by
 * |size_diff| descending, then size descending, |count_diff| descending,
 * count descending, then file and line ascending. *out as above. */
void gh_trace_snapshot_compare(const struct gh_trace_snapshot *newer,
                               const struct gh_trace_snapshot *older,
                               struct gh_trace_statdiff **out, size_t *n);

/* Formats as tracemalloc prints a Statistic:
 *     "file:line: size=1.2 KiB, count=10, average=123 B"
 * (", average=..." only when count > 0). Returns what snprintf returns. */
int gh_trace_stat_format(const struct gh_trace_stat *st, char *buf, size_t len);
/* Formats as tracemalloc prints a StatisticDiff:
 *     "file:line: size=1.2 KiB (+1.2 KiB), count=10 (+10), average=123 B" */
int gh_trace_statdiff_format(const struct gh_trace_statdiff *d, char *buf, size_t len);
/* tracemalloc's _format_size: "123 B", "1.2 KiB", "12.3 MiB", "1234 KiB";
 * with sign, a leading + or -. Returns what snprintf returns. */
int gh_trace_format_size(double size, bool sign, char *buf, size_t len);

// ---------------------------------------------------------------------------
// For alloc.c only: the hooks in gh_alloc / gh_free.

/* on: non-zero while tracing. Written only under the trace mutex; read
 * relaxed by gh_alloc/gh_free (a hint: the slow paths read it again under
 * the mutex, which orders everything else). Alone on its cache line, so
 * the lines written while tracing are never the one every allocation
 * reads. */
struct gh__trace_flag {
    uint8_t on;
    uint8_t pad_[GH_CACHELINE - 1];
} GH_ALIGNED_CACHELINE;
extern struct gh__trace_flag gh__trace_flag;

GH_INLINE bool gh__trace_enabled_relaxed(void)
{
    return gh_atomic_load_relaxed_u8(&gh__trace_flag.on) != 0;
}

/* Records p (n requested bytes) at the calling thread's site. */
GH_NOINLINE void gh__trace_record_slow(void *p, size_t n);
/* Removes p's trace, if any. Called before p goes back to the allocator, so
 * that a thread that gets the same address next cannot lose its trace. */
GH_NOINLINE void gh__trace_forget_slow(void *p);

#endif
