// Vector-extension helpers shared by the kernels that compile one body for several widths (groupnorm.c,
// depthwise.c): WIDTH floats per vector, unaligned loads through memcpy (one vmovups once inlined).
#ifndef CKERNELS_VECTOR_H
#define CKERNELS_VECTOR_H
#include <string.h>

/// Declares vf_SUFFIX (WIDTH floats), vi_SUFFIX (WIDTH ints), splat_SUFFIX(x) and load_SUFFIX(p), compiled with
/// the function attributes ATTR (e.g. __attribute__((target("avx512f,fma")))).
#define DEFINE_VECTOR_TYPES(SUFFIX, WIDTH, ATTR)                                                                    \
    typedef float vf_##SUFFIX __attribute__((vector_size(4 * WIDTH)));                                              \
    typedef int vi_##SUFFIX __attribute__((vector_size(4 * WIDTH)));                                                \
    static inline ATTR vf_##SUFFIX splat_##SUFFIX(float x) { return (vf_##SUFFIX){0} + x; }                         \
    static inline ATTR vf_##SUFFIX load_##SUFFIX(const float *p) {                                                  \
        vf_##SUFFIX v;                                                                                               \
        memcpy(&v, p, sizeof v);                                                                                     \
        return v;                                                                                                    \
    }

/// The widths every kernel is built at: `DEFINE(portable, 4, )`, and on x86-64 AVX2 + FMA (8) and AVX-512 (16).
#if defined(__x86_64__)
#define FOR_EACH_VECTOR_WIDTH(DEFINE)                                                                               \
    DEFINE(portable, 4, )                                                                                            \
    DEFINE(avx2, 8, __attribute__((target("avx2,fma"))))                                                             \
    DEFINE(avx512, 16, __attribute__((target("avx512f,fma"))))
#else
#define FOR_EACH_VECTOR_WIDTH(DEFINE) DEFINE(portable, 4, )
#endif
#endif
