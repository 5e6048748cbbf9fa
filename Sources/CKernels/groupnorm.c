// GroupNorm's two halves for the Swift engine: a group's mean and variance, and the per-channel affine with the
// optional fused SiLU. The Swift versions (Moments, Activation.affine) compile for baseline x86-64, so their 8-wide
// SIMD types run as pairs of SSE instructions; here one body, written with vector extensions, is compiled three
// times — 16 lanes with AVX-512, 8 with AVX2 + FMA, 4 portable — and the widest the CPU has is chosen at run time.
#include "ckernels.h"
#include "vector.h"

// Floats summed in float lanes before the block's total moves into a double: each lane adds ≤ 1024/16 = 64 values,
// so the float rounding stays ~1e-6 relative per block while the double carries the long groups (64×64×32).
enum { BLOCK = 1024 };

#define DEFINE_KERNELS(SUFFIX, WIDTH, ATTR)                                                                          \
    DEFINE_VECTOR_TYPES(SUFFIX, WIDTH, ATTR)                                                                         \
                                                                                                                     \
    DEFINE_VECTOR_EXP(SUFFIX, ATTR)                                                                                  \
                                                                                                                     \
    static inline ATTR vf_##SUFFIX affine_vec_##SUFFIX(vf_##SUFFIX v, float scale, float shift, int silu) {         \
        v = v * scale + shift;                                                                                       \
        return silu ? v / (1.0f + exp_##SUFFIX(-v)) : v;                                                             \
    }                                                                                                                \
                                                                                                                     \
    static ATTR void affine_##SUFFIX(float *p, long n, float scale, float shift, int silu) {                        \
        long i = 0;                                                                                                  \
        for (; i + WIDTH <= n; i += WIDTH) {                                                                         \
            vf_##SUFFIX v = affine_vec_##SUFFIX(load_##SUFFIX(p + i), scale, shift, silu);                          \
            memcpy(p + i, &v, sizeof v);                                                                             \
        }                                                                                                            \
        if (i < n) { /* the tail through a zero-padded vector: the same arithmetic as the body */                   \
            float tail[WIDTH] = {0};                                                                                 \
            memcpy(tail, p + i, (size_t)(n - i) * sizeof(float));                                                    \
            vf_##SUFFIX v = affine_vec_##SUFFIX(load_##SUFFIX(tail), scale, shift, silu);                           \
            memcpy(p + i, &v, (size_t)(n - i) * sizeof(float));                                                      \
        }                                                                                                            \
    }                                                                                                                \
                                                                                                                     \
    /* Σ (p[i] - center)^power for power 1 or 2, float lanes per block, blocks summed in double. */                 \
    static ATTR double sum_##SUFFIX(const float *p, long n, float center, int power) {                              \
        double total = 0;                                                                                            \
        long i = 0;                                                                                                  \
        while (i < n) {                                                                                              \
            long end = i + BLOCK < n ? i + BLOCK : n;                                                                \
            vf_##SUFFIX acc = {0};                                                                                   \
            for (; i + WIDTH <= end; i += WIDTH) {                                                                   \
                vf_##SUFFIX d = load_##SUFFIX(p + i) - center;                                                       \
                acc += power == 2 ? d * d : d;                                                                       \
            }                                                                                                        \
            double block = 0;                                                                                        \
            for (int k = 0; k < WIDTH; k++) block += acc[k];                                                         \
            for (; i < end; i++) {                                                                                   \
                double d = (double)p[i] - center;                                                                    \
                block += power == 2 ? d * d : d;                                                                     \
            }                                                                                                        \
            total += block;                                                                                          \
        }                                                                                                            \
        return total;                                                                                                \
    }                                                                                                                \
                                                                                                                     \
    static ATTR void moments_##SUFFIX(const float *p, long n, double *mean, double *variance) {                     \
        /* Two passes: the variance of values around their mean, never E[x²] - E[x]² (which cancels). */            \
        double m = n > 0 ? sum_##SUFFIX(p, n, 0, 1) / (double)n : 0;                                                 \
        double s = n > 0 ? sum_##SUFFIX(p, n, (float)m, 2) / (double)n : 0;                                         \
        /* Centred at float(m): correct the second moment for the rounding of the centre. */                       \
        double dm = m - (double)(float)m;                                                                            \
        *mean = m;                                                                                                   \
        *variance = s - dm * dm > 0 ? s - dm * dm : 0;                                                               \
    }

FOR_EACH_VECTOR_WIDTH(DEFINE_KERNELS)

static int clamp_level(int level) {
    int top = ckernels_simd_level();
    return level > top ? top : level < 0 ? 0 : level;
}

void ckernels_moments_level(int level, const float *p, long n, double *mean, double *variance) {
    switch (clamp_level(level)) {
#if defined(__x86_64__)
    case 2: moments_avx512(p, n, mean, variance); return;
    case 1: moments_avx2(p, n, mean, variance); return;
#endif
    default: moments_portable(p, n, mean, variance); return;
    }
}

void ckernels_affine_level(int level, float *p, long n, float scale, float shift, int silu) {
    switch (clamp_level(level)) {
#if defined(__x86_64__)
    case 2: affine_avx512(p, n, scale, shift, silu); return;
    case 1: affine_avx2(p, n, scale, shift, silu); return;
#endif
    default: affine_portable(p, n, scale, shift, silu); return;
    }
}

void ckernels_moments(const float *p, long n, double *mean, double *variance) {
    ckernels_moments_level(2, p, n, mean, variance);
}

void ckernels_affine(float *p, long n, float scale, float shift, int silu) {
    ckernels_affine_level(2, p, n, scale, shift, silu);
}
