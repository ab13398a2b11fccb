/* bytes.fl.c - bytes (immutable) and bytearray (mutable) for one flavour.
 *
 * bytes is CPython's PyBytesObject: the header, size and cached hash
 * followed by the bytes and a NUL, in one allocation; never locked.
 * bytearray keeps its bytes in a separate buffer (gh_alloc) that grows as
 * CPython's PyByteArray_Resize does (Objects/bytearrayobject.c, unchanged
 * since 3.4); every operation runs in a critical section on the bytearray
 * (lock class `bytearray`). See docs/objects.md.
 */
#include "containers/containers.h"

#include <string.h>

/* ---- bytes ----------------------------------------------------------------- */

/* The bytes of an object of n bytes: what __sizeof__ reports and what is
 * allocated (the NUL included, as CPython's). */
static size_t bytes_size(int64_t n) { return sizeof(struct gh_bytes) + (size_t)n + 1; }

static void bytes_dealloc(gh_object *self)
{
    gh_object_free(self, bytes_size(GH_AS_BYTES(self)->ob_size));
}

static uint64_t bytes_hash(gh_object *self)
{
    struct gh_bytes *b = GH_AS_BYTES(self);
    return gh_cached_hash(&b->ob_shash, b->ob_sval, (size_t)b->ob_size);
}

static bool bytes_equal(gh_object *a, gh_object *b)
{
    struct gh_bytes *x = GH_AS_BYTES(a), *y = GH_AS_BYTES(b);
    return x->ob_size == y->ob_size && memcmp(x->ob_sval, y->ob_sval, (size_t)x->ob_size) == 0;
}

static size_t bytes_sizeof(gh_object *self) { return bytes_size(GH_AS_BYTES(self)->ob_size); }

const struct gh_type GH_FL(gh_bytes_type) = {
    .tp_name = "bytes",
    .kind = GH_KIND_BYTES,
    .flags = 0,
    .lock_class = GH_LOCK_instance, /* immutable: never locked */
    .tp_basicsize = sizeof(struct gh_bytes) + 1,
    .tp_dealloc = bytes_dealloc,
    .tp_hash = bytes_hash,
    .tp_equal = bytes_equal,
    .tp_sizeof = bytes_sizeof,
};

static struct gh_bytes *bytes_alloc(int64_t n)
{
    gh_object *o = gh_object_alloc(&gh_bytes_type, bytes_size(n));
    struct gh_bytes *b = GH_AS_BYTES(o);
    b->ob_size = n;
    b->ob_shash = GH_HASH_UNSET;
    b->ob_sval[n] = '\0';
    return b;
}

gh_object *GH_FL(gh_bytes_new)(const void *p, size_t n)
{
    struct gh_bytes *b = bytes_alloc((int64_t)n);
    if (n)
        memcpy(b->ob_sval, p, n);
    return &b->ob;
}

gh_object *GH_FL(gh_bytes_concat)(gh_object *a, gh_object *b)
{
    int64_t na = gh_bytes_len(a), nb = gh_bytes_len(b);
    gh_assert(na <= INT64_MAX / 2 - nb); /* CPython: OverflowError */
    struct gh_bytes *r = bytes_alloc(na + nb);
    memcpy(r->ob_sval, gh_bytes_data(a), (size_t)na);
    memcpy(r->ob_sval + na, gh_bytes_data(b), (size_t)nb);
    return &r->ob;
}

/* ---- bytearray ------------------------------------------------------------- */

static void bytearray_dealloc(gh_object *self)
{
    struct gh_bytearray *ba = GH_AS_BYTEARRAY(self);
    /* Nobody else can reach a dead bytearray: no lock. */
    if (ba->ob_bytes)
        gh_checked_free(ba->ob_bytes, (size_t)ba->ob_alloc);
    gh_object_free(self, sizeof(struct gh_bytearray));
}

/* Contents compared in a two-object section (the same object twice is one
 * lock). gh_equal tests identity first, so a == b never gets here. */
static bool bytearray_equal(gh_object *a, gh_object *b)
{
    bool eq;
    struct gh_tstate *ts = gh_tstate_get();
    GH_BEGIN_CS2(ts, a, b)
    struct gh_bytearray *x = GH_AS_BYTEARRAY(a), *y = GH_AS_BYTEARRAY(b);
    eq = x->ob_size == y->ob_size &&
         (x->ob_size == 0 || memcmp(x->ob_bytes, y->ob_bytes, (size_t)x->ob_size) == 0);
    GH_END_CS2(ts)
    return eq;
}

/* CPython's bytearray.__sizeof__: the struct plus the allocated buffer.
 * Without a lock, as sys.getsizeof: one relaxed load of ob_alloc. */
static size_t bytearray_sizeof(gh_object *self)
{
    return sizeof(struct gh_bytearray) +
           (size_t)gh_atomic_load_relaxed_i64(&GH_AS_BYTEARRAY(self)->ob_alloc);
}

const struct gh_type GH_FL(gh_bytearray_type) = {
    .tp_name = "bytearray",
    .kind = GH_KIND_BYTEARRAY,
    .flags = 0,
    .lock_class = GH_LOCK_bytearray,
    .tp_basicsize = sizeof(struct gh_bytearray),
    .tp_dealloc = bytearray_dealloc,
    /* Unhashable in Python (TypeError); the model has no exceptions, so
     * NULL here means identity and the scenario layer refuses bytearray
     * keys. */
    .tp_hash = NULL,
    .tp_equal = bytearray_equal,
    .tp_sizeof = bytearray_sizeof,
};

gh_object *GH_FL(gh_bytearray_new)(const void *p, size_t n)
{
    gh_object *o = gh_object_alloc(&gh_bytearray_type, sizeof(struct gh_bytearray));
    struct gh_bytearray *ba = GH_AS_BYTEARRAY(o);
    ba->ob_size = 0;
    ba->ob_alloc = 0;
    ba->ob_bytes = ba->ob_start = NULL;
    ba->ob_exports = 0;
    ba->pad_ = 0;
    /* Not yet published: no lock. CPython's constructor resizes from
     * empty, which allocates exactly n + 1 (nothing for n == 0). */
    if (n) {
        gh_bytearray_resize_slow(ba, (int64_t)n);
        memcpy(ba->ob_bytes, p, n);
    }
    return o;
}

/* PyByteArray_Resize, with its growth rule:
 *   fits (newsize + 1 <= alloc): keep the buffer, unless newsize < alloc/2,
 *       then shrink to exactly newsize + 1;
 *   grows by at most 1/8 (newsize <= alloc * 1.125): over-allocate like
 *       list_resize, alloc = newsize + newsize/8 + (newsize < 9 ? 3 : 6);
 *   grows more: exactly newsize + 1.
 * Appending one byte at a time from empty gives alloc 2, 5, 5, 5, 8, 8, 8,
 * 12, ... (measured on CPython 3.12.1). The model has no realloc: a new
 * buffer, a copy, and a free. */
void GH_FL(gh_bytearray_resize_slow)(struct gh_bytearray *ba, int64_t newsize)
{
    int64_t alloc = ba->ob_alloc;
    gh_assert(newsize >= 0);
    if (newsize == ba->ob_size)
        return;
    if (newsize + 1 <= alloc) {
        if (newsize >= alloc / 2) {
            /* Minor downsize or growth within the buffer: quick exit. */
            ba->ob_bytes[newsize] = '\0';
            gh_atomic_store_relaxed_i64(&ba->ob_size, newsize);
            return;
        }
        alloc = newsize + 1;
    } else if (newsize <= alloc + alloc / 8) {
        alloc = newsize + (newsize >> 3) + (newsize < 9 ? 3 : 6);
    } else {
        alloc = newsize + 1;
    }
    char *buf = gh_alloc((size_t)alloc);
    int64_t keep = newsize < ba->ob_size ? newsize : ba->ob_size;
    if (keep)
        memcpy(buf, ba->ob_bytes, (size_t)keep);
    if (ba->ob_bytes)
        gh_checked_free(ba->ob_bytes, (size_t)ba->ob_alloc);
    ba->ob_bytes = ba->ob_start = buf;
    buf[newsize] = '\0';
    gh_atomic_store_relaxed_i64(&ba->ob_alloc, alloc);
    gh_atomic_store_relaxed_i64(&ba->ob_size, newsize);
}

/* CPython's bytearray_iconcat: resize to size + n, then copy. p must not
 * point into ba's buffer (a self-extend reads after the resize). */
static void bytearray_extend_lock_held(struct gh_bytearray *ba, const char *p, int64_t n)
{
    if (n == 0)
        return;
    int64_t size = ba->ob_size;
    gh_assert(size <= INT64_MAX - 1 - n); /* CPython: MemoryError */
    gh_bytearray_resize_slow(ba, size + n);
    memcpy(ba->ob_bytes + size, p, (size_t)n);
}

bool GH_FL(gh_bytearray_extend)(struct gh_tstate *ts, gh_object *ba, gh_object *other)
{
    switch (other->ob_type->kind) {
    case GH_KIND_BYTES:
        GH_BEGIN_CS(ts, ba)
        bytearray_extend_lock_held(GH_AS_BYTEARRAY(ba), gh_bytes_data(other), gh_bytes_len(other));
        GH_END_CS(ts)
        return true;
    case GH_KIND_BYTEARRAY:
        GH_BEGIN_CS2(ts, ba, other)
        struct gh_bytearray *dst = GH_AS_BYTEARRAY(ba), *src = GH_AS_BYTEARRAY(other);
        int64_t n = src->ob_size, size = dst->ob_size;
        if (n) {
            gh_bytearray_resize_slow(dst, size + n);
            /* After the resize: src may be dst, whose first n bytes now sit
             * at the start of the new buffer; [0, n) and [size, size + n)
             * do not overlap. */
            memcpy(dst->ob_bytes + size, src->ob_bytes, (size_t)n);
        }
        GH_END_CS2(ts)
        return true;
    default:
        return false; /* TypeError: can't concat */
    }
}

int64_t GH_FL(gh_bytearray_read)(struct gh_tstate *ts, gh_object *ba, char *out, size_t cap)
{
    int64_t n;
    GH_BEGIN_CS(ts, ba)
    struct gh_bytearray *b = GH_AS_BYTEARRAY(ba);
    n = b->ob_size;
    size_t k = (size_t)n < cap ? (size_t)n : cap;
    if (k)
        memcpy(out, b->ob_bytes, k);
    GH_END_CS(ts)
    return n;
}
