// Attention's row softmax (AttentionKernel.softmaxRow in Swift, kept as the portable path and the tests'
// reference). The Swift version runs its exp on SIMD8 vectors that baseline x86-64 compiles as SSE pairs, and its
// max, sum and scale as scalar loops; with 4,096 keys per row those passes were a quarter of sd-turbo's render.
// Here one body is compiled for AVX-512, AVX2 and portable widths. With a bf16 output the weights are written
// rounded to bf16 directly (nearest even, as cdnnl_f32_to_bf16) for the ·V product, instead of fp32 weights and a
// second conversion pass.
#include "ckernels.h"
#include "vector.h"

#include <math.h>
#include <stdint.h>

#define DEFINE_SOFTMAX(SUFFIX, WIDTH, ATTR)                                                                          \
    DEFINE_VECTOR_TYPES(SUFFIX, WIDTH, ATTR)                                                                         \
    DEFINE_VECTOR_EXP(SUFFIX, ATTR)                                                                                  \
    typedef unsigned vu_##SUFFIX __attribute__((vector_size(4 * WIDTH)));                                            \
    typedef unsigned short vh_##SUFFIX __attribute__((vector_size(2 * WIDTH)));                                      \
                                                                                                                     \
    /* The first `lanes` of v as bf16 (nearest even; NaN stays a quiet NaN). */                                      \
    static inline ATTR void store_bf16_##SUFFIX(vf_##SUFFIX v, uint16_t *out, long lanes) {                          \
        vu_##SUFFIX b;                                                                                               \
        memcpy(&b, &v, sizeof b);                                                                                    \
        vu_##SUFFIX rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16, quiet = (b >> 16) | 0x40u;                    \
        vu_##SUFFIX nan = (vu_##SUFFIX)((b & 0x7fffffffu) > 0x7f800000u);                                             \
        vh_##SUFFIX h = __builtin_convertvector((rounded & ~nan) | (quiet & nan), vh_##SUFFIX);                       \
        memcpy(out, &h, (size_t)lanes * sizeof(uint16_t));                                                           \
    }                                                                                                                \
                                                                                                                     \
    /* The first `lanes` floats at p in a vector, the rest `fill`. */                                                \
    static inline ATTR vf_##SUFFIX partial_##SUFFIX(const float *p, long lanes, float fill) {                       \
        if (lanes >= WIDTH) return load_##SUFFIX(p);                                                                 \
        float tmp[WIDTH];                                                                                            \
        for (int k = 0; k < WIDTH; k++) tmp[k] = k < lanes ? p[k] : fill;                                            \
        return load_##SUFFIX(tmp);                                                                                   \
    }                                                                                                                \
                                                                                                                     \
    static ATTR void softmax_##SUFFIX(float *p, long count, long valid, uint16_t *out) {                            \
        vf_##SUFFIX vmax = splat_##SUFFIX(-INFINITY);                                                                \
        for (long i = 0; i < valid; i += WIDTH)                                                                      \
            vmax = __builtin_elementwise_max(vmax, partial_##SUFFIX(p + i, valid - i, -INFINITY));                   \
        float m = -INFINITY;                                                                                         \
        for (int k = 0; k < WIDTH; k++) m = vmax[k] > m ? vmax[k] : m;                                               \
        /* exp(x − max) in place, summed in lanes (a shape-only order) and then across them. */                      \
        vf_##SUFFIX acc = splat_##SUFFIX(0);                                                                         \
        for (long i = 0; i < valid; i += WIDTH) {                                                                    \
            long lanes = valid - i < WIDTH ? valid - i : WIDTH;                                                      \
            vf_##SUFFIX e = exp_##SUFFIX(partial_##SUFFIX(p + i, lanes, m) - m);                                     \
            for (long k = lanes; k < WIDTH; k++) e[k] = 0;                                                           \
            memcpy(p + i, &e, (size_t)lanes * sizeof(float));                                                        \
            acc += e;                                                                                                \
        }                                                                                                            \
        float sum = 0;                                                                                               \
        for (int k = 0; k < WIDTH; k++) sum += acc[k];                                                               \
        const float inv = 1 / sum;                                                                                   \
        for (long i = 0; i < count; i += WIDTH) {                                                                    \
            long lanes = count - i < WIDTH ? count - i : WIDTH;                                                      \
            long live = valid - i < 0 ? 0 : valid - i < lanes ? valid - i : lanes;                                   \
            vf_##SUFFIX w = partial_##SUFFIX(p + i, live, 0) * inv; /* masked keys weigh 0 */                        \
            if (out) store_bf16_##SUFFIX(w, out + i, lanes);                                                         \
            else memcpy(p + i, &w, (size_t)lanes * sizeof(float));                                                   \
        }                                                                                                            \
    }

FOR_EACH_VECTOR_WIDTH(DEFINE_SOFTMAX)

int ckernels_softmax_row(float *p, long count, long valid, uint16_t *out) {
    switch (ckernels_simd_level()) {
#if defined(__x86_64__)
    case 2: softmax_avx512(p, count, valid, out); return 0;
    case 1: softmax_avx2(p, count, valid, out); return 0;
#endif
    default: return 1;
    }
}
