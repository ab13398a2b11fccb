/* gc_bench_atomic.c - gc_bench_gil.c's benchmark for the `atomic` preset
 * (sync=objlock rc=atomic alloc=thread gc=stw layout=full).
 *
 * A program can hold only one flavour of the containers headers (they are
 * guarded and name their symbols with GH_FL), so each preset is its own
 * executable: this one defines the objlock_atomic flavour's macros and
 * compiles gc_bench_gil.c's body with them. See gc_bench_gil.c for usage.
 */
#define GC_BENCH_PRESET "atomic"
#define GH_FLAVORED 1
#define GH_FL_SYNC_OBJLOCK 1
#define GH_FL_RC_ATOMIC 1
#define GH_FL_SUFFIX objlock_atomic

#include "gc_bench_gil.c"
