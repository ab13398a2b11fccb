/* compiler.h - portability and code-placement macros used by every layer.
 *
 * Layer: base (includes nothing from the project).
 */
#ifndef GH_BASE_COMPILER_H
#define GH_BASE_COMPILER_H

#define GH_LIKELY(x)   __builtin_expect(!!(x), 1)
#define GH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GH_INLINE      static inline __attribute__((always_inline))
/* Slow paths: out of line, with a name perf can show. */
#define GH_NOINLINE    __attribute__((noinline))
#define GH_COLD        __attribute__((cold))
#define GH_UNUSED      __attribute__((unused))
#define GH_MUST_CHECK  __attribute__((warn_unused_result))
#define GH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define GH_CACHELINE   64
#define GH_ALIGNED_CACHELINE __attribute__((aligned(GH_CACHELINE)))

/* A compiler-only barrier: keeps benchmark loops honest, orders nothing
 * between threads. */
#define GH_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

#define GH_CAT_(a, b) a##b
#define GH_CAT(a, b)  GH_CAT_(a, b)
#define GH_STR_(x) #x
#define GH_STR(x)  GH_STR_(x)

#define GH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The flavour whose list.get and dict.get read without the container's
 * lock (base/qsbr.h, containers/containers.h): sync=objlock with
 * rc=biased, the ft preset's, as free-threaded CPython. */
#if defined(GH_FL_SYNC_OBJLOCK) && defined(GH_FL_RC_BIASED)
#define GH_FL_LOCKFREE_READS 1
#endif

#if defined(__SANITIZE_THREAD__)
#define GH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GH_TSAN 1
#endif
#endif
#ifndef GH_TSAN
#define GH_TSAN 0
#endif

#endif

/* Strategy flavours. Hot code (files named *.fl.c) is compiled once per
 * (sync, rc) pair with -DGH_FL_SUFFIX=<sync>_<rc> plus -DGH_FL_SYNC_<SYNC>=1
 * -DGH_FL_RC_<RC>=1, the way liburcu builds its flavours from one source.
 * GH_FL(name) gives each copy of a symbol its flavour's name, e.g.
 * gh_list_type__gil_plain; GH_FL_NAME names one from outside. */
#ifndef GH_BASE_COMPILER_FL_H
#define GH_BASE_COMPILER_FL_H
#define GH_FL_NAME(name, suffix) GH_CAT(GH_CAT(name, __), suffix)
#ifdef GH_FL_SUFFIX
#define GH_FL(name) GH_FL_NAME(name, GH_FL_SUFFIX)
#endif
/* The flavours without a global lock: threads run at once, the collector
 * stops the world. */
#if defined(GH_FL_SYNC_OBJLOCK) || defined(GH_FL_SYNC_NONE)
#define GH_FL_NO_GIL 1
#endif
#endif
