/* atomic.h - the only file that names a memory order.
 *
 * Every shared access in gilheap goes through one of these wrappers; the
 * order is part of the name, never a parameter (the mimalloc and CPython
 * convention), so a reader sees the ordering at the call site. They are the
 * GCC/Clang __atomic builtins on plain integer and pointer objects: that
 * lets one field be read plainly by a strategy that is single-threaded by
 * construction (rc=plain under the GIL) and atomically by another, which is
 * exactly what a strategy testbed needs, and ThreadSanitizer understands
 * them.
 *
 * Pointer fields of a known type (gh_object **, struct gh_dictkeys *) use
 * the typed forms, gh_atomic_load_acquire_tp(&l->ob_item) and the like:
 * macros over the type-generic builtins, so T is checked and no cast to
 * void ** is written. The _ptr functions remain for void * objects.
 *
 * Callers that use an _acquire, _release or a fence must say in a comment
 * what it pairs with.
 *
 * Layer: base.
 */
#ifndef GH_BASE_ATOMIC_H
#define GH_BASE_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

#define GH_ATOMIC_DEFINE_(T, S)                                                \
    GH_INLINE T gh_atomic_load_relaxed_##S(const T *p)                         \
    { return __atomic_load_n(p, __ATOMIC_RELAXED); }                           \
    GH_INLINE T gh_atomic_load_acquire_##S(const T *p)                         \
    { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }                           \
    GH_INLINE T gh_atomic_load_seqcst_##S(const T *p)                          \
    { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }                           \
    GH_INLINE void gh_atomic_store_relaxed_##S(T *p, T v)                      \
    { __atomic_store_n(p, v, __ATOMIC_RELAXED); }                              \
    GH_INLINE void gh_atomic_store_release_##S(T *p, T v)                      \
    { __atomic_store_n(p, v, __ATOMIC_RELEASE); }                              \
    GH_INLINE void gh_atomic_store_seqcst_##S(T *p, T v)                       \
    { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }                              \
    GH_INLINE T gh_atomic_exchange_acqrel_##S(T *p, T v)                       \
    { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }                    \
    GH_INLINE T gh_atomic_exchange_release_##S(T *p, T v)                      \
    { return __atomic_exchange_n(p, v, __ATOMIC_RELEASE); }                    \
    GH_INLINE T gh_atomic_exchange_acquire_##S(T *p, T v)                      \
    { return __atomic_exchange_n(p, v, __ATOMIC_ACQUIRE); }                    \
    GH_INLINE T gh_atomic_exchange_seqcst_##S(T *p, T v)                       \
    { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }                    \
    /* On failure *expected receives the current value (relaxed). */           \
    GH_INLINE bool gh_atomic_cas_acquire_##S(T *p, T *expected, T desired)     \
    { return __atomic_compare_exchange_n(p, expected, desired, false,          \
                                         __ATOMIC_ACQUIRE, __ATOMIC_RELAXED); }\
    GH_INLINE bool gh_atomic_cas_release_##S(T *p, T *expected, T desired)     \
    { return __atomic_compare_exchange_n(p, expected, desired, false,          \
                                         __ATOMIC_RELEASE, __ATOMIC_RELAXED); }\
    GH_INLINE bool gh_atomic_cas_acqrel_##S(T *p, T *expected, T desired)      \
    { return __atomic_compare_exchange_n(p, expected, desired, false,          \
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE); }\
    GH_INLINE bool gh_atomic_cas_relaxed_##S(T *p, T *expected, T desired)     \
    { return __atomic_compare_exchange_n(p, expected, desired, false,          \
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED); }

GH_ATOMIC_DEFINE_(uint8_t, u8)
GH_ATOMIC_DEFINE_(uint16_t, u16)
GH_ATOMIC_DEFINE_(uint32_t, u32)
GH_ATOMIC_DEFINE_(int32_t, i32)
GH_ATOMIC_DEFINE_(uint64_t, u64)
GH_ATOMIC_DEFINE_(int64_t, i64)
GH_ATOMIC_DEFINE_(int, int)
GH_ATOMIC_DEFINE_(uintptr_t, uptr)
/* Through a typedef, so that `const T *` means a pointer to a const
 * pointer (void *const *), not a pointer to a pointer to const void. */
typedef void *gh_atomic_ptr_t_;
GH_ATOMIC_DEFINE_(gh_atomic_ptr_t_, ptr)

/* The typed pointer forms. P is the address of a pointer object (T **, or
 * T *const * for a load), V and the result a T *; each argument is
 * evaluated once. A load's result is checked where it is assigned. GCC's
 * __atomic_store_n and __atomic_exchange_n convert V to *P's type without a
 * diagnostic, so a store checks V with an unevaluated assignment to *P (an
 * incompatible pointer is an error under -Werror, as for a plain store).
 * The builtins also accept an integer object: GH_ATOMIC_TP_CHECK_ refuses
 * any *P that does not classify as a pointer. */
#define GH_ATOMIC_TP_CHECK_(P)                                                 \
    ((void)sizeof(struct {                                                     \
        _Static_assert(__builtin_classify_type(*(P)) ==                        \
                       __builtin_classify_type((void *)0),                     \
                       "gh_atomic_*_tp: the target is not a pointer");         \
        char c_; }))
#define GH_ATOMIC_TP_CHECK_STORE_(P, V)                                        \
    (GH_ATOMIC_TP_CHECK_(P), (void)sizeof(*(P) = (V)))

#define gh_atomic_load_relaxed_tp(P)                                           \
    (GH_ATOMIC_TP_CHECK_(P), __atomic_load_n((P), __ATOMIC_RELAXED))
#define gh_atomic_load_acquire_tp(P)                                           \
    (GH_ATOMIC_TP_CHECK_(P), __atomic_load_n((P), __ATOMIC_ACQUIRE))
#define gh_atomic_store_relaxed_tp(P, V)                                       \
    (GH_ATOMIC_TP_CHECK_STORE_(P, V), __atomic_store_n((P), (V), __ATOMIC_RELAXED))
#define gh_atomic_store_release_tp(P, V)                                       \
    (GH_ATOMIC_TP_CHECK_STORE_(P, V), __atomic_store_n((P), (V), __ATOMIC_RELEASE))
#define gh_atomic_exchange_seqcst_tp(P, V)                                     \
    (GH_ATOMIC_TP_CHECK_STORE_(P, V), __atomic_exchange_n((P), (V), __ATOMIC_SEQ_CST))

#define GH_ATOMIC_ARITH_(T, S)                                                 \
    GH_INLINE T gh_atomic_add_relaxed_##S(T *p, T v)                           \
    { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }                     \
    GH_INLINE T gh_atomic_add_acqrel_##S(T *p, T v)                            \
    { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }                     \
    GH_INLINE T gh_atomic_add_seqcst_##S(T *p, T v)                            \
    { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }                     \
    GH_INLINE T gh_atomic_sub_relaxed_##S(T *p, T v)                           \
    { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }                     \
    GH_INLINE T gh_atomic_sub_release_##S(T *p, T v)                           \
    { return __atomic_fetch_sub(p, v, __ATOMIC_RELEASE); }                     \
    GH_INLINE T gh_atomic_sub_acqrel_##S(T *p, T v)                            \
    { return __atomic_fetch_sub(p, v, __ATOMIC_ACQ_REL); }                     \
    GH_INLINE T gh_atomic_or_relaxed_##S(T *p, T v)                            \
    { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }                      \
    GH_INLINE T gh_atomic_or_release_##S(T *p, T v)                            \
    { return __atomic_fetch_or(p, v, __ATOMIC_RELEASE); }                      \
    GH_INLINE T gh_atomic_or_seqcst_##S(T *p, T v)                             \
    { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                      \
    GH_INLINE T gh_atomic_and_relaxed_##S(T *p, T v)                           \
    { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }                     \
    GH_INLINE T gh_atomic_and_seqcst_##S(T *p, T v)                            \
    { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }

GH_ATOMIC_ARITH_(uint8_t, u8)
GH_ATOMIC_ARITH_(uint16_t, u16)
GH_ATOMIC_ARITH_(uint32_t, u32)
GH_ATOMIC_ARITH_(uint64_t, u64)
GH_ATOMIC_ARITH_(int64_t, i64)
GH_ATOMIC_ARITH_(int, int)
GH_ATOMIC_ARITH_(uintptr_t, uptr)

GH_INLINE void gh_atomic_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
GH_INLINE void gh_atomic_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }
GH_INLINE void gh_atomic_fence_seqcst(void)  { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* CPU relaxation hint inside a spin loop. */
GH_INLINE void gh_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
