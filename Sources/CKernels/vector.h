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

/// Declares exp_SUFFIX, exp as VectorMath.exp: x = n·ln2 + r, degree-6 polynomial, 2^n from the exponent bits.
/// After DEFINE_VECTOR_TYPES(SUFFIX, …).
#define DEFINE_VECTOR_EXP(SUFFIX, ATTR)                                                                             \
    static inline ATTR vf_##SUFFIX exp_##SUFFIX(vf_##SUFFIX x) {                                                    \
        x = __builtin_elementwise_max(__builtin_elementwise_min(x, splat_##SUFFIX(88.7f)), splat_##SUFFIX(-87.3f));  \
        const vf_##SUFFIX magic = splat_##SUFFIX(12582912.0f); /* 1.5·2^23: adding it rounds to an integer */      \
        vf_##SUFFIX t = x * 1.442695040888963f + magic;                                                              \
        vf_##SUFFIX n = t - magic;                                                                                   \
        vf_##SUFFIX r = x - n * 0.693359375f;                                                                        \
        r = r - n * -2.12194440e-4f;                                                                                 \
        vf_##SUFFIX p = splat_##SUFFIX(1.9875691500e-4f);                                                            \
        p = p * r + 1.3981999507e-3f;                                                                                \
        p = p * r + 8.3334519073e-3f;                                                                                \
        p = p * r + 4.1665795894e-2f;                                                                                \
        p = p * r + 1.6666665459e-1f;                                                                                \
        p = p * r + 5.0000001201e-1f;                                                                                \
        vf_##SUFFIX y = p * (r * r) + r + 1.0f;                                                                      \
        vi_##SUFFIX bits = ((vi_##SUFFIX)t - (vi_##SUFFIX)magic + 127) << 23;                                        \
        return y * (vf_##SUFFIX)bits;                                                                                \
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
