/* float.fl.c - the float type for one flavour: CPython's PyFloatObject, a
 * header and a double, 24 bytes; immutable, never locked. CPython keeps a
 * free list of up to 100 floats; the model allocates each one. See
 * docs/objects.md. */
#include "containers/containers.h"

#include <math.h>
#include <string.h>

static void float_dealloc(gh_object *self) { gh_object_free(self, sizeof(struct gh_float)); }

/* hash(x) keeps Python's numeric invariant for the values the model's int
 * hashes (the value itself): an integral float hashes as the int of the
 * same value, so hash(1.0) == hash(1) and hash(-0.0) == hash(0.0) == 0.
 * Infinities hash to +-314159 and a NaN by identity (CPython 3.10+). Other
 * values hash their bit pattern with FNV-1a (CPython reduces the exact
 * value modulo 2^61 - 1 instead). Not cached, as in CPython. */
static uint64_t float_hash(gh_object *self)
{
    double v = gh_float_value(self);
    if (isnan(v)) {
        uintptr_t a = (uintptr_t)self; /* gh_hash's identity rule */
        return (uint64_t)((a >> 4) | (a << (8 * sizeof a - 4)));
    }
    if (isinf(v))
        return v > 0 ? UINT64_C(314159) : (uint64_t)INT64_C(-314159);
    if (v == trunc(v) && v >= -0x1p63 && v < 0x1p63)
        return (uint64_t)(int64_t)v;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return gh_hash_fnv1a(&bits, sizeof bits);
}

/* Python's ==: by value, so 0.0 == -0.0 and a NaN equals nothing (gh_equal
 * still finds the same NaN object by identity, as containers do). */
static bool float_equal(gh_object *a, gh_object *b)
{
    return gh_float_value(a) == gh_float_value(b);
}

const struct gh_type GH_FL(gh_float_type) = {
    .tp_name = "float",
    .kind = GH_KIND_FLOAT,
    .flags = 0,
    .lock_class = GH_LOCK_instance, /* immutable: never locked */
    .tp_basicsize = sizeof(struct gh_float),
    .tp_dealloc = float_dealloc,
    .tp_hash = float_hash,
    .tp_equal = float_equal,
};

gh_object *GH_FL(gh_float_new)(double v)
{
    gh_object *o = gh_object_alloc(&gh_float_type, sizeof(struct gh_float));
    ((struct gh_float *)(void *)o)->ob_fval = v;
    return o;
}
