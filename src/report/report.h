/* report.h - turns a finished run (struct gh_result) into results: the JSON
 * object of a run, a CSV row, and the human summary that `gilheap run`
 * prints. Every key, column and unit is documented in docs/results.md; keep
 * that file in step with report_json.c and report_csv.c.
 *
 * Rules the whole layer follows:
 *  - a key with no data is absent, never a made-up zero (no GIL -> no
 *    locks.gil.switches; an op that never ran -> no per_op/latency entry);
 *  - the CSV row is derived from the JSON object (gh_report_csv_row), so the
 *    two cannot disagree, and `compare` can build rows from the JSON files
 *    its children wrote;
 *  - files are written whole or not at all (gh_report_write_file).
 *
 * Layer: report (includes base, alloc and scenario headers only).
 */
#ifndef GH_REPORT_REPORT_H
#define GH_REPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "base/compiler.h"   // GH_MUST_CHECK
#include "scenario/run.h"    // struct gh_result

/* ---- build and machine ------------------------------------------------- */

struct gh_machine {
    char cpu_model[128];  /* /proc/cpuinfo "model name"; "" when not found */
    long cores;           /* sysconf(_SC_NPROCESSORS_ONLN); <= 0 unknown */
    char kernel[128];     /* uname -r; "" when unknown */
};

/* Reads the machine once and caches it (not thread-safe on the first call;
 * call it from the main thread). */
const struct gh_machine *gh_report_machine(void);

/* {"version", "commit", "build_type", "sanitize", "compiler"}; NULL on OOM. */
json_t *gh_report_build_json(void);
/* {"cpu_model", "cores", "kernel", "compiler"}; NULL on OOM. */
json_t *gh_report_machine_json(void);

/* The environment of this process (env.c): call once at the start, before
 * any thread, with main's arguments (kept, not copied). */
void gh_report_env_capture(int argc, char **argv);
/* CPUs in the affinity mask at the start (0 before the capture). */
int gh_report_env_ncpus(void);
/* {"timestamp", "hostname", "command_line", "affinity", "governor",
 * "load_at_start", "oversubscribed" (when threads > 0)}; NULL before the
 * capture or on OOM. */
json_t *gh_report_env_json(int threads);

/* Fairness among the threads of one role (a role's threads run the same
 * ops, so their counts should be close): min and max ops per thread. */
struct gh_fairness {
    int role;          /* index in the scenario's roles */
    int threads;       /* threads of that role (>= 2) */
    uint64_t min_ops, max_ops;
};
/* Fills out[] with the roles that have 2 or more threads (at most max);
 * returns how many. */
int gh_report_fairness(const struct gh_result *r, struct gh_fairness *out, int max);

/* The "schema" of every result JSON (run and compare): raised on any
 * incompatible change (docs/results.md). */
#define GH_REPORT_SCHEMA 1

/* ---- JSON -------------------------------------------------------------- */

/* Builds the result object of one run. Returns 0 and a new
 * reference in *out, or -ENOMEM. */
GH_MUST_CHECK int gh_report_json(const struct gh_result *r, json_t **out);

/* Flags for json_dumps that every result file uses (2-space indent, keys in
 * insertion order, 12 significant digits for reals). */
#define GH_REPORT_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))

/* ---- CSV --------------------------------------------------------------- */

/* The header line of gh_report_csv_row, without the newline. Static. */
const char *gh_report_csv_header(void);

/* Appends one CSV row (no newline) built from a run's JSON object (as made
 * by gh_report_json, or read back from a file). A key missing from `run`
 * gives an empty field. Returns 0, or -ENOMEM. */
GH_MUST_CHECK int gh_report_csv_row(const json_t *run, char **buf, size_t *len,
                                    size_t *cap);

/* Appends `s` as it is (a header, a newline). Returns 0 or -ENOMEM. */
GH_MUST_CHECK int gh_report_csv_raw(char **buf, size_t *len, size_t *cap, const char *s);

/* Appends `field` to the row, quoted as RFC 4180 asks when it contains a
 * comma, a double quote, CR or LF (quotes doubled). `comma` puts a comma
 * before it. Returns 0 or -ENOMEM. */
GH_MUST_CHECK int gh_report_csv_field(char **buf, size_t *len, size_t *cap,
                                      const char *field, int comma);

/* ---- text -------------------------------------------------------------- */

/* The human summary of one run (what `gilheap run` prints on stdout). */
void gh_report_text(FILE *out, const struct gh_result *r);
/* The stall watchdog's diagnosis (r->stall), every thread a line. */
void gh_report_stall(FILE *out, const struct gh_result *r);

/* One --report-every line for interval k (report_text.c): its end, the
 * ops per second of all threads and of each, the heap's live bytes. */
void gh_report_interval(FILE *out, const struct gh_result *r, int k);

/* "1.23M", "456.7k", "12" (3 significant digits from 1000 on). */
void gh_report_fmt_rate(char *buf, size_t len, double per_sec);
/* "850ns", "12.3us", "4.56ms", "1.20s". */
void gh_report_fmt_ns(char *buf, size_t len, uint64_t ns);
/* "512B", "1.5KiB", "3.2MiB". */
void gh_report_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* ---- files ------------------------------------------------------------- */

/* Writes `len` bytes to `path` whole or not at all (report_file.c): "-" is
 * standard output; a link is followed to its target; a FIFO or character
 * device is written directly; otherwise into a temporary file created with
 * O_EXCL under an unpredictable name in the target's directory, fsync'ed
 * and renamed over the target. Returns 0, or -errno with
 * "cannot write 'PATH': REASON" in err (the temporary file is removed). */
GH_MUST_CHECK int gh_report_write_file(const char *path, const void *data, size_t len,
                                       char *err, size_t errlen);

/* Dumps `j` (GH_REPORT_JSON_FLAGS, trailing newline) with
 * gh_report_write_file. */
GH_MUST_CHECK int gh_report_write_json(const char *path, const json_t *j,
                                       char *err, size_t errlen);

/* ---- timeline ---------------------------------------------------------- */

/* Writes the run's timeline (r->timelines, --trace) to `path` as a Chrome
 * trace-event JSON file (report_trace.c; docs/results.md, "Trace").
 * Returns 0, or -1 with a message in err. */
GH_MUST_CHECK int gh_report_trace(const struct gh_result *r, const char *path, char *err,
                                  size_t errlen);

/* Prints the timeline as text (report_timeline.c): a line per thread, a
 * character per 1/width of the run. Returns 0, or -1 when the run has no
 * timeline or width < 10. */
int gh_report_timeline(FILE *out, const struct gh_result *r, int width);

/* The strip's cells (what gh_report_timeline prints, and --timeline-plot
 * draws): `rows` rows (a worker's each, the main thread's last) of `width`
 * characters, each covering col_ns of [t0, t1). dropped: a ring lost its
 * oldest events. Returns 0, or -1 (no timeline, width < 10, no memory). */
struct gh_timeline_grid {
    uint64_t t0, t1;
    double col_ns;
    int rows, width;
    char *cells; /* [rows * width] */
    bool dropped;
};
int gh_report_timeline_grid(const struct gh_result *r, int width, struct gh_timeline_grid *g);
void gh_report_timeline_grid_free(struct gh_timeline_grid *g);
/* "worker-N" or "main": row's thread. */
void gh_report_timeline_row_name(char *buf, size_t len, const struct gh_result *r, int row);

/* Checks, before a run, that `path` could be written as
 * gh_report_write_file would write it (creates and removes a temporary file
 * beside a regular target; a FIFO or device must be writable), and refuses
 * a directory. Returns 0, or -errno with a message in err. */
GH_MUST_CHECK int gh_report_check_writable(const char *path, char *err, size_t errlen);

#endif
